//! The entry point a project calls from its `harness = false` test target: load the
//! specs, bind each service to the project's client, and run one libtest-mimic trial per
//! generated case (so `--list`, filters, `--exact`, `--ignored` and nextest all work).
//! [`round`] runs one service's round of a project from outside it (`oc-integrate test`).

pub mod round;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::binding::Binding;
use crate::case::{self, Case};
use crate::drift;
use crate::file::target_dir;
use crate::pace::Pace;
use crate::plan::lint;
use crate::progress::Progress;
use crate::results::{CaseResult, Run, SandboxResult, ServiceRun, SetupFailure};
use crate::spec::yaml::Location;
use crate::spec::{self, Spec, SpecError};
use crate::{checkpoint, ci, pm, redact, report, sandbox, scenario, text, trial};

/// The most trials run at once when `--test-threads` is not given: trials wait on timers
/// and sockets, not on the CPU, so far more than the core count keeps the suite close to
/// the longest waits it must make. How many actually run follows the machine's lag
/// ([`Pace`]).
pub const DEFAULT_CONCURRENCY: usize = 64;

/// Why the harness cannot start at all.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The integrations directory cannot be read or holds no spec.
    #[error(transparent)]
    Specs(#[from] SpecError),
    /// An environment override is unusable.
    #[error("OC_TIME_SCALE: expected a factor from 0.001 to 1, found {0:?}")]
    TimeScale(String),
    /// `OC_FLAKY` is neither `fail` nor `pass`.
    #[error("OC_FLAKY: expected `fail` (flaky trials fail the run) or `pass` (the default: they pass it, listed as flaky), found {0:?}")]
    Flaky(String),
    /// `OC_SANDBOX` is neither `0` nor `1`.
    #[error(
        "OC_SANDBOX: expected `0` (the sandbox trials are left out, ignored) or `1` (they run when their credentials are set), found {0:?}"
    )]
    Sandbox(String),
    /// `OC_SERVICE` names no service under the integrations directory.
    #[error("OC_SERVICE: expected one of the services under {} ({known}), found {found:?}", .dir.display())]
    Service { dir: PathBuf, known: String, found: String },
}

/// What the harness will run for one service.
enum Entry {
    /// A loaded spec and the binding for it (absent when the project did not bind it).
    Service(Arc<Spec>, Option<Binding>),
    /// A spec that failed to load.
    Broken(String, SpecError),
    /// A binding without a spec.
    Orphan(String),
}

/// The harness: integrations directory + bindings.
///
/// ```no_run
/// use oc_integrate::{Binding, ClientError, Harness};
/// fn main() -> std::process::ExitCode {
///     Harness::new("integrations")
///         .bind("payments", Binding::new(|ctx| ctx.base_url().to_string(), |_base, call| async move {
///             Err(ClientError::unbound(call.endpoint()))
///         }))
///         .run()
/// }
/// ```
pub struct Harness {
    dir: PathBuf,
    bindings: BTreeMap<String, Binding>,
    concurrency: usize,
    rounds: bool,
    outputs: Option<Outputs>,
    reproduce_env: Vec<String>,
    rerun: Rerun,
}

/// What the harness does with a verdict that is not evidence yet.
#[derive(Debug, Clone, Copy)]
struct Rerun {
    /// Decide it again with no other trial beside it.
    quiet: bool,
    /// A flaky case (failed at first, passed alone) fails the run.
    flaky_fails: bool,
}

/// Trials hold this shared while they run; a quiet re-run holds it alone, so it runs with
/// no other trial of this process beside it (the pool drains first, then waits for it).
static QUIET: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The environment variable that makes flaky trials fail the run (`OC_FLAKY=fail`).
pub const FLAKY_ENV: &str = "OC_FLAKY";

/// Whether `OC_FLAKY` makes flaky trials fail the run: `fail` yes; unset, empty or `pass`
/// no; anything else is `Err` with the value.
fn flaky_env() -> Result<bool, String> {
    match std::env::var(FLAKY_ENV).unwrap_or_default().as_str() {
        "fail" => Ok(true),
        "" | "pass" => Ok(false),
        other => Err(other.to_string()),
    }
}

/// Trials running now, and trials started so far: a trial that started with none running
/// and saw none start ran alone, and needs no quiet re-run unless it was starved.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A trial's first run, counted in [`RUNNING`] until [`FirstRun::alone`].
struct FirstRun {
    number: usize,
    none_running: bool,
}

impl FirstRun {
    fn begin() -> FirstRun {
        let none_running = RUNNING.fetch_add(1, Ordering::SeqCst) == 0;
        FirstRun { number: STARTED.fetch_add(1, Ordering::SeqCst) + 1, none_running }
    }

    /// Whether it ran with no other trial beside it.
    fn alone(self) -> bool {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        self.none_running && STARTED.load(Ordering::SeqCst) == self.number
    }
}

/// How long to let a starved machine settle before the next quiet run (`n` quiet runs so far).
fn settle_time(n: u32) -> Duration {
    Duration::from_millis(250) * n.saturating_sub(1)
}

/// What one trial that ran left: a mock case's result, a sandbox trial's, or a failure
/// before it could run.
enum Ran {
    Case(CaseResult),
    Sandbox(SandboxResult),
    Setup(SetupFailure),
}

/// Where trials leave what they found.
type Sink = Arc<std::sync::Mutex<Vec<Ran>>>;

fn push(sink: &Sink, ran: Ran) {
    sink.lock().unwrap_or_else(|p| p.into_inner()).push(ran);
}

/// Exit status of a run whose only findings are additive drift (fields added).
pub const DRIFT_ADDITIVE: u8 = 4;
/// Exit status of a run whose only failures are breaking drift.
pub const DRIFT_BREAKING: u8 = 5;

/// What a run writes besides the test output and the round reports.
///
/// ```
/// use oc_integrate::harness::Outputs;
/// let quiet = Outputs { checkpoint: None, junit: Some("target/junit.xml".into()), ..Outputs::default() };
/// assert!(!quiet.annotations);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// The checkpoint to record each round in (`None`: not written).
    pub checkpoint: Option<PathBuf>,
    /// Where to write the run's JUnit XML (`None`: not written).
    pub junit: Option<PathBuf>,
    /// A file to append the run's markdown summary to (GitHub's step summary).
    pub step_summary: Option<PathBuf>,
    /// Print `::error file=…,line=…::` workflow commands for failures.
    pub annotations: bool,
    /// Where to write the run's HTML report (`None`: not written).
    pub html: Option<PathBuf>,
    /// Write each round's verdict back to the PM ticket (`None`: not written).
    pub pm: Option<pm::Settings>,
}

impl Outputs {
    /// The outputs the environment asks for: the checkpoint at `OC_CHECKPOINT`, else
    /// [`checkpoint::DEFAULT_PATH`]; JUnit at `OC_JUNIT`, else
    /// `<target dir>/oc-integrate/<package>/<test target>/junit.xml` (one file per test
    /// target, so projects and targets sharing a target directory keep their own);
    /// the step summary at `GITHUB_STEP_SUMMARY` when set; annotations when
    /// `GITHUB_ACTIONS=true`; the HTML report at `OC_HTML`, else `report.html` beside the
    /// default JUnit. Under nextest (a process per trial) neither JUnit, the step summary nor
    /// the HTML report is written: each process would replace or repeat the last; use
    /// nextest's own JUnit output there.
    pub fn from_env() -> Outputs {
        let path = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let per_process = std::env::var_os("NEXTEST").is_some();
        Outputs {
            checkpoint: Some(path("OC_CHECKPOINT").unwrap_or_else(|| checkpoint::DEFAULT_PATH.into())),
            junit: if per_process { None } else { Some(path("OC_JUNIT").unwrap_or_else(default_junit)) },
            step_summary: if per_process { None } else { path("GITHUB_STEP_SUMMARY") },
            annotations: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            html: if per_process { None } else { Some(path("OC_HTML").unwrap_or_else(|| default_junit().with_file_name("report.html"))) },
            pm: Some(pm::Settings::from_env(&std::env::current_dir().unwrap_or_default(), None)),
        }
    }
}

/// `<target dir>/oc-integrate/<package>/<test target>/junit.xml`: cargo names the package in
/// `CARGO_PKG_NAME` when it runs the test binary.
fn default_junit() -> PathBuf {
    let mut dir = target_dir().join("oc-integrate");
    dir.extend(std::env::var("CARGO_PKG_NAME").ok().filter(|p| !p.is_empty()));
    dir.extend(crate::file::test_target());
    dir.join("junit.xml")
}

/// Split `FLAG VALUE` / `FLAG=VALUE` (`--junit PATH`, `--ticket ID`) out of the test
/// binary's arguments; `what` says what the value is, for the error when it is missing.
fn take_value(args: impl IntoIterator<Item = String>, flag: &str, what: &str) -> Result<(Vec<String>, Option<String>), String> {
    let mut rest = Vec::new();
    let mut found = None;
    let mut args = args.into_iter();
    let prefix = format!("{flag}=");
    while let Some(a) = args.next() {
        let value = if a == flag {
            args.next()
        } else if let Some(p) = a.strip_prefix(&prefix) {
            Some(p.to_string())
        } else {
            rest.push(a);
            continue;
        };
        match value.filter(|p| !p.is_empty() && !p.starts_with("--")) {
            Some(p) => found = Some(p),
            None => return Err(format!("{flag}: expected {what} after it, found none")),
        }
    }
    Ok((rest, found))
}

/// Split `--junit PATH` / `--junit=PATH` out of the test binary's arguments.
fn take_junit_flag(args: impl IntoIterator<Item = String>) -> Result<(Vec<String>, Option<PathBuf>), String> {
    take_value(args, "--junit", "a file path").map(|(rest, path)| (rest, path.map(PathBuf::from)))
}

/// Split a switch (`--flaky-fails`) out of the test binary's arguments; `Err` when it is
/// given a value (`--flaky-fails=yes`).
fn take_switch(args: Vec<String>, switch: &str) -> Result<(Vec<String>, bool), String> {
    if let Some(bad) = args.iter().find(|a| a.strip_prefix(switch).is_some_and(|v| v.starts_with('='))) {
        return Err(format!("{switch}: expected the switch alone (it takes no value), found {bad:?}"));
    }
    let found = args.iter().any(|a| a == switch);
    Ok((args.into_iter().filter(|a| a != switch).collect(), found))
}

/// What the test binary takes besides libtest's flags; printed above libtest's own `--help`.
const HELP: &str = "\
oc-integrate harness options (libtest's follow):
      --junit <PATH>  Write the run's JUnit XML to PATH (default: OC_JUNIT, else
                      <target dir>/oc-integrate/<package>/<test target>/junit.xml)
                      (the HTML report beside it: OC_HTML, else report.html)
      --flaky-fails   Fail the run when a trial is flaky (failed beside other trials,
                      passed when re-run alone); OC_FLAKY=fail does the same
      --ticket <ID>   The PM ticket to write each round's verdict back to (OC_TICKET does
                      the same; see .opchain/pm.yaml)
  --test-threads N is the most trials that run at once (default 64); under it, how many
  run follows the machine's scheduling lag.

";

/// Run `case` beside the other trials, when `pace` has a place for it: its result, and
/// whether it had the machine to itself.
async fn first_run(pace: &Arc<Pace>, case: &Case, spec: &Arc<Spec>, binding: &Binding) -> (CaseResult, bool) {
    let _slot = pace.slot().await;
    let _beside = QUIET.read().await;
    let run = FirstRun::begin();
    let r = trial::run(case, spec.clone(), binding).await;
    (r, run.alone())
}

/// The verdict of `case` after its `first` run: while that is not evidence (it failed, or
/// passed starved), run it again with no other trial beside it ([`trial::needs_quiet_run`],
/// [`trial::settle`]). A first run that had the machine to itself counts as a quiet one.
async fn confirmed(first: CaseResult, alone: bool, case: &Case, spec: &Arc<Spec>, binding: &Binding, rerun: Rerun) -> CaseResult {
    let (mut last, mut runs, already) = (first.clone(), 0, u32::from(alone));
    while rerun.quiet && trial::needs_quiet_run(&last, runs + already, spec) {
        let _alone = QUIET.write().await;
        tokio::time::sleep(settle_time(runs + already)).await;
        last = trial::run(case, spec.clone(), binding).await;
        runs += 1;
    }
    trial::settle(first, last, runs, spec, rerun.flaky_fails)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("oc-integrate")
            .build()
            .unwrap_or_else(|e| panic!("oc-integrate cannot start its async runtime: {e}"))
    })
}

impl Harness {
    /// A harness over `dir` (e.g. `integrations`), which holds `<service>/spec.yaml`.
    /// Relative paths are taken from the package root, where cargo runs tests.
    pub fn new(dir: impl AsRef<Path>) -> Harness {
        Harness {
            dir: dir.as_ref().to_path_buf(),
            bindings: BTreeMap::new(),
            concurrency: DEFAULT_CONCURRENCY,
            rounds: true,
            outputs: None,
            reproduce_env: Vec::new(),
            // nextest runs a process per trial and retries on its own (`retries` in .config/nextest.toml)
            rerun: Rerun {
                quiet: std::env::var_os("NEXTEST").is_none(),
                // a value other than fail or pass stops the run in `entries`
                flaky_fails: flaky_env() == Ok(true),
            },
        }
    }

    /// Whether a case that fails beside other trials (or passes under more scheduling lag than
    /// it stands up to) is run again alone before its verdict counts (default: yes, but under
    /// nextest, which runs a process per trial and has its own `retries`).
    pub fn quiet_reruns(mut self, yes: bool) -> Harness {
        self.rerun.quiet = yes;
        self
    }

    /// Whether a flaky case (failed beside other trials, passed alone) fails the run (default:
    /// no, unless `OC_FLAKY=fail`; the test binary also takes `--flaky-fails`).
    pub fn flaky_fails(mut self, yes: bool) -> Harness {
        self.rerun.flaky_fails = yes;
        self
    }

    /// Bind the service whose spec is `<dir>/<service>/spec.yaml` to a client.
    pub fn bind(mut self, service: &str, binding: Binding) -> Harness {
        self.bindings.insert(service.to_string(), binding);
        self
    }

    /// The most trials run at once (default [`DEFAULT_CONCURRENCY`]; `run` takes
    /// `--test-threads` over it). Under that, a [`Pace`] runs as many as the machine keeps up
    /// with: it starts at four per core, grows while the runtime's lag stays small and halves
    /// when it rises.
    pub fn concurrency(mut self, n: usize) -> Harness {
        self.concurrency = n.max(1);
        self
    }

    fn entries(&self) -> Result<Vec<Entry>, HarnessError> {
        scenario::time_scale_override().map_err(HarnessError::TimeScale)?;
        flaky_env().map_err(HarnessError::Flaky)?;
        match std::env::var(case::SANDBOX_ENV).unwrap_or_default().as_str() {
            "" | "0" | "1" => {}
            other => return Err(HarnessError::Sandbox(other.to_string())),
        }
        // OC_SERVICE runs one service's round (not a name filter: its round report is written)
        let only = std::env::var("OC_SERVICE").ok().filter(|v| !v.is_empty());
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for loaded in spec::load_dir(&self.dir)? {
            match loaded {
                Ok(s) if only.as_ref().is_some_and(|o| *o != s.id) => seen.push(s.id.clone()),
                Ok(s) => {
                    redact::register_env(s.secrets.iter().filter_map(|x| x.env.as_deref()));
                    seen.push(s.id.clone());
                    let b = self.bindings.get(&s.id).cloned();
                    out.push(Entry::Service(Arc::new(s), b));
                }
                Err(e) => {
                    let id = e.file.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    seen.push(id.clone());
                    if only.as_ref().is_none_or(|o| *o == id) {
                        out.push(Entry::Broken(id, e));
                    }
                }
            }
        }
        if let Some(found) = only.filter(|o| !seen.contains(o)) {
            return Err(HarnessError::Service { dir: self.dir.clone(), known: seen.join(", "), found });
        }
        for name in self.bindings.keys().filter(|n| !seen.contains(n)) {
            out.push(Entry::Orphan(name.clone()));
        }
        Ok(out)
    }

    /// Every mock case the specs generate, by service, without running anything (the sandbox
    /// trials are `sandbox::trial::plan`'s).
    pub fn plan(&self) -> Result<Vec<Case>, HarnessError> {
        Ok(self
            .entries()?
            .iter()
            .flat_map(|e| match e {
                Entry::Service(s, _) => scenario::plan(s),
                _ => Vec::new(),
            })
            .collect())
    }

    /// The libtest-mimic trials: one per case, plus a failing `<service>::spec` trial per
    /// broken spec, a failing `<service>::binding` trial per service bound on one side only,
    /// and a failing `<service>::contract` trial per spec the contract lint sends back.
    pub fn trials(&self) -> Result<Vec<Trial>, HarnessError> {
        let entries = self.entries()?;
        let pace = Pace::new(self.concurrency, least_tolerance(&entries));
        Ok(self.trials_into(entries, &Sink::default(), &pace, &Progress::default()).0)
    }

    /// The trials, each pushing its result into `sink` and running its first run when `pace`
    /// has a place (a sandbox or drift trial counted in `progress`), and the bound specs.
    fn trials_into(&self, entries: Vec<Entry>, sink: &Sink, pace: &Arc<Pace>, progress: &Progress) -> (Vec<Trial>, Vec<Arc<Spec>>) {
        let mut trials = Vec::new();
        let mut bound = Vec::new();
        for entry in entries {
            // a trial that fails at once, for a spec or binding that cannot run
            let mut setup_failure = |name: String, service: String, text: String, file: Option<PathBuf>, at: Option<Location>| {
                let sink = sink.clone();
                let failure = SetupFailure { name: name.clone(), service, text: text.clone(), file, at };
                trials.push(Trial::test(name, move || {
                    push(&sink, Ran::Setup(failure));
                    Err(Failed::from(text))
                }));
            };
            // the tester's pushback on the contract: a failing `<service>::contract` trial
            if let Entry::Service(spec, _) = &entry {
                let findings = lint::check(spec);
                if let Some(first) = findings.first() {
                    let text = redact::redact(&findings.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n"));
                    setup_failure(format!("{}::contract", spec.id), spec.id.clone(), text, Some(spec.file.clone()), Some(first.at));
                }
            }
            match entry {
                Entry::Broken(id, e) => {
                    setup_failure(format!("{id}::spec"), id, e.to_string(), Some(e.file.clone()), e.at);
                }
                Entry::Orphan(id) => {
                    let msg = format!("service {id:?} is bound, but {} has no {id}/spec.yaml", self.dir.display());
                    setup_failure(format!("{id}::binding"), id, msg, None, None);
                }
                Entry::Service(spec, None) => {
                    let msg = format!(
                        "{} defines service {:?}, but the harness has no binding for it: add .bind({:?}, Binding::new(..)) to the test target",
                        spec.file.display(),
                        spec.id,
                        spec.id
                    );
                    setup_failure(format!("{}::binding", spec.id), spec.id.clone(), msg, Some(spec.file.clone()), None);
                }
                Entry::Service(spec, Some(binding)) => {
                    for case in scenario::plan(&spec) {
                        let (spec, binding, sink, rerun, pace) = (spec.clone(), binding.clone(), sink.clone(), self.rerun, pace.clone());
                        trials.push(Trial::test(case.name(), move || {
                            let r = runtime().block_on(async {
                                let (first, alone) = first_run(&pace, &case, &spec, &binding).await;
                                confirmed(first, alone, &case, &spec, &binding, rerun).await
                            });
                            if let Some(f) = r.flaky.as_ref().filter(|_| r.outcome.passed) {
                                println!("flaky: {} failed at first ({}) and passed when re-run alone", r.case.name(), f.problem);
                            }
                            let verdict = if r.outcome.passed { Ok(()) } else { Err(Failed::from(r.message.clone())) };
                            push(&sink, Ran::Case(r));
                            verdict
                        }));
                    }
                    for case in sandbox::trial::plan(&spec) {
                        let (spec, binding, sink, progress) = (spec.clone(), binding.clone(), sink.clone(), progress.clone());
                        trials.push(Trial::ignorable_test(case.name(), move || {
                            let r = runtime().block_on(sandbox::trial::run(&case, spec, &binding));
                            progress.step();
                            let verdict = match (&r.ignored, r.passed) {
                                (Some(why), _) => Ok(Completion::ignored_with(why)),
                                (None, true) => Ok(Completion::Completed),
                                (None, false) => Err(Failed::from(r.message.clone())),
                            };
                            push(&sink, Ran::Sandbox(r));
                            verdict
                        }));
                    }
                    bound.push(spec);
                }
            }
        }
        (trials, bound)
    }

    /// Run as a test binary: parse libtest arguments (plus `--junit PATH`), run the trials,
    /// and write what [`Outputs`] asks for. Exit status: 0 when every trial passed, 101
    /// when one failed, 3 when a service's failed rounds reached the escalation limit, 2
    /// when the harness cannot start or cannot write an output; when drift checks ran,
    /// [`DRIFT_ADDITIVE`] or [`DRIFT_BREAKING`] when drift is all they found.
    pub fn run(mut self) -> ExitCode {
        if std::env::args().any(|a| a == "--help" || a == "-h") {
            // libtest's help follows, and exits
            print!("{HELP}");
        }
        let split = take_junit_flag(std::env::args())
            .and_then(|(args, junit)| Ok((take_value(args, "--ticket", "a ticket id")?, junit)))
            .and_then(|((args, ticket), junit)| Ok((take_switch(args, "--flaky-fails")?, junit, ticket)));
        let ((args, flaky_fails), junit, ticket) = match split {
            Ok(split) => split,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        self.rerun.flaky_fails |= flaky_fails;
        let mut outputs = self.outputs.take().unwrap_or_else(Outputs::from_env);
        if junit.is_some() {
            outputs.junit = junit;
        }
        if let (Some(pm), Some(t)) = (outputs.pm.as_mut(), ticket) {
            pm.ticket = Some(t);
        }
        self.outputs = Some(outputs);
        self.run_with(Arguments::from_iter(args))
    }

    /// [`Harness::run`] with arguments already parsed. When the run was complete (no name
    /// filter, `--skip`, `--ignored` or `--list`) each service's round report is written and
    /// recorded in the checkpoint; JUnit XML and the step summary are written for every run
    /// but `--list` (a partial one says so); annotations are printed for every failure.
    pub fn run_with(self, mut args: Arguments) -> ExitCode {
        trial::install_panic_hook();
        if args.test_threads.is_none() {
            args.test_threads = Some(self.concurrency);
        }
        let outputs = self.outputs.clone().unwrap_or_else(Outputs::from_env);
        case::set_reproduce_env(&self.reproduce_env);
        let filtered = args.filter.is_some() || !args.skip.is_empty() || args.ignored;
        // a checkpoint this run could not record in stops it before any trial runs
        if let (Some(path), true) = (&outputs.checkpoint, self.rounds && !filtered && !args.list)
            && let Err(e) = checkpoint::read(path)
        {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        let (started, clock) = (std::time::SystemTime::now(), std::time::Instant::now());
        let sink = Sink::default();
        let entries = match self.entries() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        if !args.list {
            warn_about_budgets(&entries);
        }
        // libtest runs up to --test-threads trials; the pace decides how many of them run now
        let pace = Pace::new(args.test_threads.unwrap_or(self.concurrency), least_tolerance(&entries));
        // on a terminal, the sandbox and drift trials' progress below libtest's lines (stderr)
        let progress = Progress::on_stderr();
        let (trials, specs) = self.trials_into(entries, &sink, &pace, &progress);
        if !args.list {
            let names: Vec<String> = specs.iter().flat_map(|s| sandbox::trial::plan(s)).map(|c| c.name()).collect();
            let selected = trials.iter().filter(|t| names.iter().any(|n| n == t.name()) && !args.is_filtered_out(t)).count();
            progress.start("sandbox and drift trials", selected);
        }
        let conclusion = libtest_mimic::run(&args, trials);
        progress.finish();
        if args.list {
            return conclusion.exit_code();
        }
        let ran = std::mem::take(&mut *sink.lock().unwrap_or_else(|p| p.into_inner()));
        let mut run = collect(ran, &specs, started, clock.elapsed());
        let mut escalated = false;
        let mut broken_output = false;
        for s in run.services.iter_mut().filter(|s| self.rounds && !filtered && s.is_complete()) {
            match report::write(s) {
                Ok(round) => {
                    let verdict = if round.passed { "PASS" } else { "FAIL" };
                    println!("round report: {} ({verdict})", round.path.display());
                    if round.escalated() {
                        escalated = true;
                        println!("escalated: {} failed rounds in a row for {}", round.failed_in_a_row, s.spec.id);
                    }
                    s.round = Some(round);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    broken_output = true;
                }
            }
        }
        if let (Some(path), true) = (&outputs.checkpoint, run.services.iter().any(|s| s.round.is_some())) {
            match checkpoint::record(path, &run.services) {
                Ok(_) => println!("checkpoint: {}", path.display()),
                Err(e) => {
                    eprintln!("error: {e}");
                    broken_output = true;
                }
            }
        }
        // write-back to the PM ticket: notes only, whatever happens (never the exit status)
        if let Some(pm) = &outputs.pm {
            let settings = pm::Settings { checkpoint: pm.checkpoint.clone().or_else(|| outputs.checkpoint.clone()), ..pm.clone() };
            for note in pm::after_run(&run, &settings) {
                println!("{note}");
            }
        }
        let records = ci::records(&run);
        if let Some(path) = &outputs.junit {
            match crate::file::write_atomic(path, &ci::junit(&records, run.started, run.elapsed.as_secs_f64())) {
                Ok(()) => println!("junit: {}", path.display()),
                Err(e) => {
                    eprintln!("error: {}: cannot write the JUnit report: {e}", path.display());
                    broken_output = true;
                }
            }
        }
        if let Some(path) = &outputs.html {
            match report::html::write(path, &run) {
                Ok(()) => println!("html report: {}", path.display()),
                Err(e) => {
                    eprintln!("error: {e}");
                    broken_output = true;
                }
            }
        }
        if let Some(path) = &outputs.step_summary
            && let Err(e) = ci::append(path, &ci::step_summary(&run, &records))
        {
            eprintln!("error: {}: cannot append the step summary: {e}", path.display());
            broken_output = true;
        }
        if outputs.annotations {
            for line in ci::annotations(&records, &ci::escalations(&run)) {
                println!("{line}");
            }
        }
        let drifted = match write_drift_reports(&run) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                broken_output = true;
                None
            }
        };
        // a failure other than a breaking drift keeps 101; drift alone says how bad it is
        let only_drift_failed = records.iter().filter(|r| r.failure.is_some()).all(|r| r.name.contains("::drift::"));
        if broken_output {
            ExitCode::from(2)
        } else if escalated {
            ExitCode::from(3)
        } else {
            match (drifted, only_drift_failed) {
                (Some(drift::Severity::Breaking), true) => ExitCode::from(DRIFT_BREAKING),
                (Some(drift::Severity::Additive), true) if conclusion.num_failed == 0 => ExitCode::from(DRIFT_ADDITIVE),
                _ => conclusion.exit_code(),
            }
        }
    }

    /// Where a run writes its checkpoint, JUnit XML, step summary and annotations (default:
    /// [`Outputs::from_env`]).
    pub fn outputs(mut self, outputs: Outputs) -> Harness {
        self.outputs = Some(outputs);
        self
    }

    /// Environment variables that change what the bound clients do (say, a feature switch
    /// of the project's own): when set, every reproduce line carries them, so the command a
    /// failure prints re-creates it. `OC_TIME_SCALE` is always carried.
    pub fn reproduce_env<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Harness {
        self.reproduce_env = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a complete `run` writes round reports (default: yes).
    pub fn write_rounds(mut self, yes: bool) -> Harness {
        self.rounds = yes;
        self
    }

    /// Run every case whose name passes `filter`, as many at once as [`Harness::concurrency`] and the [`Pace`] allow,
    /// longest mandated wait first, then decide the verdicts that are not evidence yet (see
    /// [`Harness::quiet_reruns`]) one at a time with no other trial running, and return the
    /// results in plan order. A broken spec, a missing binding or a contract-lint finding that the filter selects is an error.
    /// Only the mock cases: sandbox trials run through [`Harness::run`] (or `sandbox::trial::run`).
    pub async fn evaluate(&self, filter: impl Fn(&str) -> bool) -> Result<Vec<CaseResult>, String> {
        trial::install_panic_hook();
        case::set_reproduce_env(&self.reproduce_env);
        let mut queue = Vec::new();
        let entries = self.entries().map_err(|e| e.to_string())?;
        warn_about_budgets(&entries);
        for entry in entries {
            if let Entry::Service(s, _) = &entry
                && filter(&format!("{}::contract", s.id))
                && let Some(first) = lint::check(s).first()
            {
                return Err(redact::redact(&first.to_string()));
            }
            let (spec, binding) = match entry {
                Entry::Service(s, Some(b)) => (s, b),
                Entry::Service(s, None) if scenario::plan(&s).iter().any(|c| filter(&c.name())) => {
                    return Err(format!("service {:?} has no binding", s.id));
                }
                Entry::Broken(id, e) if filter(&format!("{id}::spec")) => return Err(e.to_string()),
                Entry::Orphan(id) if filter(&format!("{id}::binding")) => return Err(format!("service {id:?} is bound but has no spec")),
                _ => continue,
            };
            for case in scenario::plan(&spec).into_iter().filter(|c| filter(&c.name())) {
                let wait = case.mandated_wait(&spec);
                queue.push((queue.len(), wait, case, spec.clone(), binding.clone()));
            }
        }
        // the longest cases start first, so the suite ends close to its longest mandated
        // wait; results come back in plan order
        let n = queue.len();
        queue.sort_by_key(|q| std::cmp::Reverse(q.1));
        let tolerance = queue.iter().map(|(_, _, case, spec, _)| case.lag_tolerance(spec).0).min().unwrap_or(Duration::MAX);
        let pace = Pace::new(self.concurrency, tolerance);
        let mut set = tokio::task::JoinSet::new();
        for (i, _, case, spec, binding) in queue {
            let pace = pace.clone();
            set.spawn(async move {
                let (r, alone) = first_run(&pace, &case, &spec, &binding).await;
                (i, r, alone, case, spec, binding)
            });
        }
        let mut ran = Vec::with_capacity(n);
        while let Some(r) = set.join_next().await {
            ran.push(r.map_err(|e| format!("a trial task failed: {e}"))?);
        }
        // the verdicts that are not evidence yet, decided one at a time after the pass
        let mut results: Vec<(usize, CaseResult)> = Vec::with_capacity(n);
        for (i, first, alone, case, spec, binding) in ran {
            results.push((i, confirmed(first, alone, &case, &spec, &binding, self.rerun).await));
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}

/// The shortest attempt budget any machine gets, and how many loopback round trips a budget
/// must hold: below that, timing cases fail for the machine, not the client.
const BUDGET_FLOOR: Duration = Duration::from_millis(50);
const ROUND_TRIPS_PER_BUDGET: u32 = 10;

/// A warning when `spec`'s scaled attempt budget is below what this machine can meet, given
/// its loopback `round_trip`, located at `timeouts.request_ms`.
fn budget_warning(spec: &Spec, round_trip: Duration) -> Option<String> {
    let p = scenario::Policy::of(spec, case::Subject::Endpoint(0));
    let floor = (round_trip * ROUND_TRIPS_PER_BUDGET).max(BUDGET_FLOOR);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    (p.budget < floor).then(|| {
        format!(
            "{}: warning: expected an attempt budget this machine can meet (at least {}: {ROUND_TRIPS_PER_BUDGET} loopback round trips of {}, never under {}), found {} (timeouts.request_ms {} × time scale {}): timing cases would fail for the machine, not the client; raise timeouts.request_ms or test_profile.time_scale",
            spec.locate("timeouts.request_ms"),
            ms(floor),
            ms(round_trip),
            ms(BUDGET_FLOOR),
            ms(p.budget),
            spec.timeouts.request_ms,
            p.time_scale
        )
    })
}

/// The least lag any mock case of `entries` stands up to ([`Case::lag_tolerance`]).
fn least_tolerance(entries: &[Entry]) -> Duration {
    let services = entries.iter().filter_map(|e| match e {
        Entry::Service(spec, Some(_)) => Some(spec),
        _ => None,
    });
    services.flat_map(|spec| scenario::plan(spec).into_iter().map(|c| c.lag_tolerance(spec).0)).min().unwrap_or(Duration::MAX)
}

/// Print a [`budget_warning`] for every loaded spec among `entries`.
fn warn_about_budgets(entries: &[Entry]) {
    let round_trip = crate::lag::loopback_round_trip();
    for e in entries {
        if let Entry::Service(spec, _) = e
            && let Some(w) = budget_warning(spec, round_trip)
        {
            eprintln!("{w}");
        }
    }
}

/// Write `drift-<date>.md` for every service of `run` whose drift trials ran; the worst drift found.
fn write_drift_reports(run: &Run) -> Result<Option<drift::Severity>, String> {
    let date = text::rfc3339(std::time::SystemTime::now())[..10].to_string();
    let mut worst = None;
    for s in &run.services {
        let findings = s.drift();
        if findings.is_empty() {
            continue;
        }
        let changes: Vec<drift::Change> = findings.iter().flat_map(|f| f.changes.clone()).collect();
        worst = worst.max(drift::worst(&changes));
        let path = drift::write(&s.spec, &date, &findings).map_err(|e| format!("cannot write the drift report of {}: {e}", s.spec.id))?;
        let verdict = match drift::worst(&changes) {
            None => "no drift",
            Some(drift::Severity::Additive) => "additive drift",
            Some(drift::Severity::Breaking) => "BREAKING drift",
        };
        println!("drift report: {} ({verdict})", path.display());
    }
    Ok(worst)
}

/// The run's model from what its trials left: each bound service with its results in plan
/// order, and the trials that could not start.
fn collect(ran: Vec<Ran>, specs: &[Arc<Spec>], started: std::time::SystemTime, elapsed: Duration) -> Run {
    let mut services: Vec<ServiceRun> =
        specs.iter().map(|s| ServiceRun::new(s.clone(), scenario::plan(s), sandbox::trial::plan(s))).collect();
    let mut setup = Vec::new();
    for r in ran {
        let id = match &r {
            Ran::Setup(_) => None,
            Ran::Case(r) => Some(r.case.service.clone()),
            Ran::Sandbox(r) => Some(r.case.service.clone()),
        };
        let service = id.and_then(|id| services.iter_mut().find(|s| s.spec.id == id));
        match (r, service) {
            (Ran::Setup(f), _) => setup.push(f),
            (Ran::Case(r), Some(s)) => s.cases.push(r),
            (Ran::Sandbox(r), Some(s)) => s.sandbox.push(r),
            (_, None) => {}
        }
    }
    for s in &mut services {
        s.cases.sort_by_key(|r| (r.case.subject, r.case.kind));
        s.sandbox.sort_by_key(|r| r.case.check);
    }
    setup.sort_by(|a: &SetupFailure, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
    Run { started, elapsed, services, setup }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(args: &[&str]) -> Result<(Vec<String>, Option<PathBuf>), String> {
        take_junit_flag(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn a_budget_the_machine_cannot_meet_is_a_located_warning() {
        let mut spec = spec::load_file(Path::new("examples/integrations/payments/spec.yaml")).unwrap();
        // 10 s × 0.1: a 1 s budget
        assert_eq!(budget_warning(&spec, Duration::from_micros(300)), None);
        let slow = budget_warning(&spec, Duration::from_millis(150)).unwrap();
        assert!(slow.starts_with("examples/integrations/payments/spec.yaml:93:"), "{slow}");
        assert!(slow.contains("at least 1500.0 ms: 10 loopback round trips of 150.0 ms, never under 50.0 ms), found 1000.0 ms (timeouts.request_ms 10000 × time scale 0.1)"), "{slow}");
        spec.timeouts.request_ms = 300;
        let tight = budget_warning(&spec, Duration::from_micros(300)).unwrap();
        assert!(tight.contains("at least 50.0 ms") && tight.contains("found 30.0 ms"), "{tight}");
    }

    #[test]
    fn junit_goes_to_a_file_per_package_and_test_target() {
        // cargo runs this unit-test binary (target `oc_integrate`) of package `oc-integrate`
        let path = default_junit();
        assert!(path.ends_with("oc-integrate/oc-integrate/oc_integrate/junit.xml"), "{}", path.display());
        assert!(path.starts_with(target_dir()), "{}", path.display());
    }

    #[test]
    fn the_flaky_switch_takes_no_value() {
        let args = |a: &[&str]| a.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(take_switch(args(&["bin", "--flaky-fails", "x"]), "--flaky-fails"), Ok((args(&["bin", "x"]), true)));
        assert_eq!(take_switch(args(&["bin", "x"]), "--flaky-fails"), Ok((args(&["bin", "x"]), false)));
        assert_eq!(
            take_switch(args(&["bin", "--flaky-fails=yes"]), "--flaky-fails"),
            Err(r#"--flaky-fails: expected the switch alone (it takes no value), found "--flaky-fails=yes""#.into())
        );
    }

    #[test]
    fn the_junit_flag_is_taken_out_of_libtest_arguments() {
        let (rest, path) = split(&["bin", "--junit", "out.xml", "payments", "--exact"]).unwrap();
        assert_eq!((rest, path), (vec!["bin".into(), "payments".into(), "--exact".into()], Some(PathBuf::from("out.xml"))));
        assert_eq!(split(&["bin", "--junit=j.xml"]).unwrap().1, Some(PathBuf::from("j.xml")));
        for bad in [&["bin", "--junit"][..], &["bin", "--junit="], &["bin", "--junit", "--exact"]] {
            assert_eq!(split(bad).unwrap_err(), "--junit: expected a file path after it, found none");
        }
    }

    #[test]
    fn the_ticket_flag_is_taken_out_of_libtest_arguments() {
        let args = |a: &[&str]| a.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let (rest, ticket) = take_value(args(&["bin", "--ticket", "PLAT-12", "--exact"]), "--ticket", "a ticket id").unwrap();
        assert_eq!((rest, ticket.as_deref()), (args(&["bin", "--exact"]), Some("PLAT-12")));
        assert_eq!(
            take_value(args(&["bin", "--ticket=acme/shop#3"]), "--ticket", "a ticket id").unwrap().1.as_deref(),
            Some("acme/shop#3")
        );
        assert_eq!(
            take_value(args(&["bin", "--ticket"]), "--ticket", "a ticket id").unwrap_err(),
            "--ticket: expected a ticket id after it, found none"
        );
    }
}
