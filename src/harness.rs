//! The entry point a project calls from its `harness = false` test target: load the
//! specs, bind each service to the project's client, and run one libtest-mimic trial per
//! generated case (so `--list`, filters, `--exact`, `--ignored` and nextest all work).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use libtest_mimic::{Arguments, Failed, Trial};

use crate::binding::Binding;
use crate::scenario::{self, Case, Policy};
use crate::spec::{self, Spec, SpecError};
use crate::trial::{self, TrialResult};
use crate::{redact, report};

/// Trials run at once when `--test-threads` is not given: trials wait on timers and
/// sockets, not on the CPU, so far more than the core count keeps the suite close to
/// the longest waits it must make.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// Why the harness cannot start at all.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The integrations directory cannot be read or holds no spec.
    #[error(transparent)]
    Specs(#[from] SpecError),
    /// An environment override is unusable.
    #[error("OC_TIME_SCALE: expected a factor in (0, 1], found {0:?}")]
    TimeScale(String),
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
}

/// Where trials leave their results for the round reports.
type Sink = Arc<std::sync::Mutex<Vec<TrialResult>>>;

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
        Harness { dir: dir.as_ref().to_path_buf(), bindings: BTreeMap::new(), concurrency: DEFAULT_CONCURRENCY, rounds: true }
    }

    /// Bind the service whose spec is `<dir>/<service>/spec.yaml` to a client.
    pub fn bind(mut self, service: &str, binding: Binding) -> Harness {
        self.bindings.insert(service.to_string(), binding);
        self
    }

    /// How many trials [`Harness::evaluate`] runs at once (default [`DEFAULT_CONCURRENCY`];
    /// `run` takes `--test-threads` instead).
    pub fn concurrency(mut self, n: usize) -> Harness {
        self.concurrency = n.max(1);
        self
    }

    fn entries(&self) -> Result<Vec<Entry>, HarnessError> {
        scenario::time_scale_override().map_err(HarnessError::TimeScale)?;
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for loaded in spec::load_dir(&self.dir)? {
            match loaded {
                Ok(s) => {
                    redact::register_env(s.secrets.iter().filter_map(|x| x.env.as_deref()));
                    seen.push(s.id.clone());
                    let b = self.bindings.get(&s.id).cloned();
                    out.push(Entry::Service(Arc::new(s), b));
                }
                Err(e) => {
                    let id = e.file.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    seen.push(id.clone());
                    out.push(Entry::Broken(id, e));
                }
            }
        }
        for name in self.bindings.keys().filter(|n| !seen.contains(n)) {
            out.push(Entry::Orphan(name.clone()));
        }
        Ok(out)
    }

    /// Every case the specs generate, by service, without running anything.
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
    /// broken spec and a failing `<service>::binding` trial per service bound on one side only.
    pub fn trials(&self) -> Result<Vec<Trial>, HarnessError> {
        Ok(self.trials_into(&Sink::default())?.0)
    }

    /// The trials, each pushing its result into `sink`, and the bound specs.
    fn trials_into(&self, sink: &Sink) -> Result<(Vec<Trial>, Vec<Arc<Spec>>), HarnessError> {
        let mut trials = Vec::new();
        let mut bound = Vec::new();
        for entry in self.entries()? {
            match entry {
                Entry::Broken(id, e) => {
                    let msg = e.to_string();
                    trials.push(Trial::test(format!("{id}::spec"), move || Err(Failed::from(msg))));
                }
                Entry::Orphan(id) => {
                    let msg = format!("service {id:?} is bound, but {} has no {id}/spec.yaml", self.dir.display());
                    trials.push(Trial::test(format!("{id}::binding"), move || Err(Failed::from(msg))));
                }
                Entry::Service(spec, None) => {
                    let msg = format!(
                        "{} defines service {:?}, but the harness has no binding for it: add .bind({:?}, Binding::new(..)) to the test target",
                        spec.file.display(),
                        spec.id,
                        spec.id
                    );
                    trials.push(Trial::test(format!("{}::binding", spec.id), move || Err(Failed::from(msg))));
                }
                Entry::Service(spec, Some(binding)) => {
                    for case in scenario::plan(&spec) {
                        let (spec, binding, sink) = (spec.clone(), binding.clone(), sink.clone());
                        let name = case.name();
                        trials.push(Trial::test(name, move || {
                            let r = runtime().block_on(trial::run(&case, spec, &binding));
                            let verdict = if r.outcome.passed { Ok(()) } else { Err(Failed::from(r.message.clone())) };
                            sink.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                            verdict
                        }));
                    }
                    bound.push(spec);
                }
            }
        }
        Ok((trials, bound))
    }

    /// Run as a test binary: parse libtest arguments, run the trials, and, when the run
    /// was complete (no name filter, `--skip`, `--ignored` or `--list`), write each service's
    /// round report. Exit 0 only if all passed; 101 when a trial failed; 3 when a service's
    /// failed rounds reached the escalation limit; 2 when the harness cannot start.
    pub fn run(self) -> ExitCode {
        trial::install_panic_hook();
        let mut args = Arguments::from_args();
        if args.test_threads.is_none() {
            args.test_threads = Some(DEFAULT_CONCURRENCY);
        }
        let sink = Sink::default();
        let (trials, specs) = match self.trials_into(&sink) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let conclusion = libtest_mimic::run(&args, trials);
        let filtered = args.list || args.filter.is_some() || !args.skip.is_empty() || args.ignored;
        if filtered || !self.rounds {
            return conclusion.exit_code();
        }
        let results = std::mem::take(&mut *sink.lock().unwrap_or_else(|p| p.into_inner()));
        let mut escalated = false;
        for spec in specs {
            let mine: Vec<TrialResult> = results.iter().filter(|r| r.case.service == spec.id).cloned().collect();
            if !report::is_complete(&spec, &mine) {
                continue;
            }
            match report::write(&spec, &mine) {
                Ok(round) => {
                    let verdict = if round.passed { "PASS" } else { "FAIL" };
                    println!("round report: {} ({verdict})", round.path.display());
                    if round.escalated() {
                        escalated = true;
                        println!("escalated: {} failed rounds in a row for {}", round.failed_in_a_row, spec.id);
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        if escalated { ExitCode::from(3) } else { conclusion.exit_code() }
    }

    /// Whether a complete `run` writes round reports (default: yes).
    pub fn write_rounds(mut self, yes: bool) -> Harness {
        self.rounds = yes;
        self
    }

    /// Run every case whose name passes `filter`, up to [`Harness::concurrency`] at once,
    /// longest mandated wait first, and return the results in plan order. A broken spec or a missing binding that the filter selects is an error.
    pub async fn evaluate(&self, filter: impl Fn(&str) -> bool) -> Result<Vec<TrialResult>, String> {
        trial::install_panic_hook();
        let mut queue = Vec::new();
        for entry in self.entries().map_err(|e| e.to_string())? {
            let (spec, binding) = match entry {
                Entry::Service(s, Some(b)) => (s, b),
                Entry::Service(s, None) if scenario::plan(&s).iter().any(|c| filter(&c.name())) => {
                    return Err(format!("service {:?} has no binding", s.id));
                }
                Entry::Broken(id, e) if filter(&format!("{id}::spec")) => return Err(e.to_string()),
                Entry::Orphan(id) if filter(&format!("{id}::binding")) => return Err(format!("service {id:?} is bound but has no spec")),
                _ => continue,
            };
            let policy = Policy::of(&spec);
            for case in scenario::plan(&spec).into_iter().filter(|c| filter(&c.name())) {
                let wait = case.kind.mandated_wait(&spec.endpoints[case.endpoint], &policy);
                queue.push((queue.len(), wait, case, spec.clone(), binding.clone()));
            }
        }
        // the longest cases start first, so the suite ends close to its longest mandated
        // wait; results come back in plan order
        let n = queue.len();
        queue.sort_by_key(|q| std::cmp::Reverse(q.1));
        let slots = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut set = tokio::task::JoinSet::new();
        for (i, _, case, spec, binding) in queue {
            let slots = slots.clone();
            set.spawn(async move {
                let _slot = slots.acquire_owned().await;
                (i, trial::run(&case, spec, &binding).await)
            });
        }
        let mut results: Vec<(usize, TrialResult)> = Vec::with_capacity(n);
        while let Some(r) = set.join_next().await {
            results.push(r.map_err(|e| format!("a trial task failed: {e}"))?);
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}
