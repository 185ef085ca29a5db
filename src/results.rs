//! What a run produced: per service, the result of every case that ran (mock cases and
//! sandbox trials), the round written for it, and the trials that could not start. Trials
//! produce this model; the outputs (round reports, the checkpoint, JUnit, the step summary,
//! annotations, drift reports) only read it, so a change to how a trial runs or judges
//! stops here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::case::{Case, Check, REQUIRE_ENV, SandboxCase, reproduce};
use crate::drift::Finding;
use crate::spec::Spec;
use crate::spec::yaml::Location;

/// Failed rounds in a row after which the integration is escalated (the seed's "max iterations").
pub const MAX_FAILED_ROUNDS: u32 = 3;

/// The judgement of one trial.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Whether the client behaved as the spec says.
    pub passed: bool,
    /// What the spec demands, in a sentence (the report's Expected column).
    pub expected: String,
    /// What was observed, in a sentence (the report's Actual column).
    pub actual: String,
    /// Each violated expectation.
    pub problems: Vec<String>,
    /// Extra evidence for a failure (e.g. a diff), secrets redacted.
    pub evidence: String,
}

/// What one mock case found.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case that ran.
    pub case: Case,
    /// The judgement.
    pub outcome: Outcome,
    /// Failure text (empty on success), secrets redacted.
    pub message: String,
    /// How long the trial ran (the run that decided it).
    pub seconds: f64,
    /// The waits that run's answers forced on a correct client: the case's
    /// [`Case::mandated_wait`], or, where an answer names an instant in whole seconds (a reset
    /// epoch, a Retry-After date), the time from that answer to the instant (see
    /// [`crate::timeline::Timeline::mandate`]). Zero for a case that could not start.
    pub mandated_wait: Duration,
    /// The worst scheduling lag the harness saw during the run that decided it.
    pub lag: Duration,
    /// How many times it ran: 1, or more when its first verdict was decided again alone.
    pub runs: u32,
    /// Set when it failed at first (beside other trials, or starved) and passed when re-run alone.
    pub flaky: Option<Flaky>,
    /// What the mock provider saw, for the reports' timeline pictures (empty for a case that
    /// could not start and for receiver cases, where the harness plays the provider).
    pub trace: Trace,
}

/// A case's requests on the mock provider's clock, as the pictures of a failing case draw
/// them: each attempt sent, answered or hung up on, the least wait the client had to respect
/// before each retry, and the budget of one attempt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Every request the servers saw, in arrival order.
    pub attempts: Vec<Attempt>,
    /// The least wait before each retry of a call (Retry-After, or the policy's backoff),
    /// first retry first; empty when the case mandates none.
    pub waits: Vec<Duration>,
    /// What the waits are: `Retry-After` or `backoff`.
    pub wait_rule: String,
    /// The time one attempt may take (the spec's request timeout, scaled).
    pub budget: Duration,
    /// What each call returned, in a line (redacted).
    pub returned: Vec<String>,
    /// The request timeline as text, with the headers the scenario shows (redacted).
    pub text: String,
}

/// One request as the mock provider saw it, offsets from the start of the trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// Which call of the scenario it belongs to (0-based).
    pub call: usize,
    /// Whether it went to the OAuth token endpoint rather than the endpoint under test.
    pub token: bool,
    /// When it arrived (fully read).
    pub at: Duration,
    /// When the server began its final act on it (the last bytes, a reset, a close); `None`
    /// when it answered at arrival (a scripted reply) or never did.
    pub answered: Option<Duration>,
    /// When the client closed the connection, if the server saw it.
    pub hung_up: Option<Duration>,
    /// What the server did (`429 Retry-After: 1`, `reset`, `stalled`), redacted.
    pub reply: String,
}

impl Attempt {
    /// When the attempt ended for the client: it hung up, or it was answered.
    pub fn end(&self) -> Duration {
        self.hung_up.or(self.answered).unwrap_or(self.at).max(self.at)
    }

    /// Whether the client hung up before the server had answered.
    pub fn hung_up_early(&self) -> bool {
        self.hung_up.is_some_and(|h| self.answered.is_none_or(|a| h < a))
    }
}

/// A failure the quiet re-run overturned: kept, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flaky {
    /// Its first problem (redacted).
    pub problem: String,
    /// Its whole failure text (redacted).
    pub message: String,
}

impl CaseResult {
    /// The command that runs this case alone.
    pub fn reproduce(&self) -> String {
        reproduce(&self.case.name())
    }
}

/// What a sandbox trial found.
#[derive(Debug, Clone)]
pub struct SandboxResult {
    /// The trial.
    pub case: SandboxCase,
    /// Why it did not run, when it did not (no credentials, sandbox unreachable).
    pub ignored: Option<String>,
    /// Whether it passed (false when ignored).
    pub passed: bool,
    /// What was checked, in a line.
    pub expected: String,
    /// What was found, in a line (redacted).
    pub actual: String,
    /// Every problem (redacted).
    pub problems: Vec<String>,
    /// The sandbox latency of every request the trial made (client's and harness's).
    pub latencies: Vec<Duration>,
    /// For endpoint checks: the response's shape against its schema (`Matches schema`, `Fails: …`).
    pub shape: Option<String>,
    /// For drift checks: what drifted.
    pub drift: Option<Finding>,
    /// The failure text (empty unless failed), redacted.
    pub message: String,
    /// Where the trial's exchanges were recorded (redacted), when they were.
    pub recording: Option<PathBuf>,
    /// How long the trial ran.
    pub seconds: f64,
}

impl SandboxResult {
    /// The command that runs this sandbox trial alone, requiring the sandbox.
    pub fn reproduce(&self) -> String {
        format!("{REQUIRE_ENV}=1 {}", reproduce(&self.case.name()))
    }

    /// Whether it ran (it was not ignored for missing credentials or sandbox).
    pub fn ran(&self) -> bool {
        self.ignored.is_none()
    }
}

/// A trial that failed before it could run: a broken spec, a service bound on one side
/// only, a contract the tester sends back.
#[derive(Debug, Clone)]
pub struct SetupFailure {
    /// The trial name (`<service>::spec`, `::binding`, `::contract`).
    pub name: String,
    /// The service.
    pub service: String,
    /// What is wrong (redacted).
    pub text: String,
    /// The spec file it concerns, when there is one.
    pub file: Option<PathBuf>,
    /// Where in it.
    pub at: Option<Location>,
}

/// A round report that was written.
#[derive(Debug, Clone)]
pub struct Round {
    /// Where it was written.
    pub path: PathBuf,
    /// Its number.
    pub number: u32,
    /// Whether every case passed.
    pub passed: bool,
    /// Failed rounds in a row, this one included (0 after a PASS).
    pub failed_in_a_row: u32,
}

impl Round {
    /// Whether the integration is escalated to a person.
    pub fn escalated(&self) -> bool {
        self.failed_in_a_row >= MAX_FAILED_ROUNDS
    }
}

/// One service's part of a run.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    /// Its spec.
    pub spec: Arc<Spec>,
    /// Every mock case the spec plans, in plan order.
    pub plan: Vec<Case>,
    /// Every sandbox trial the spec plans.
    pub sandbox_plan: Vec<SandboxCase>,
    /// The mock cases that ran, in plan order.
    pub cases: Vec<CaseResult>,
    /// The sandbox and drift trials that ran (ignored ones included), in plan order.
    pub sandbox: Vec<SandboxResult>,
    /// The round written for this run, when it was complete and rounds are written.
    pub round: Option<Round>,
}

impl ServiceRun {
    /// A service with `plan` and `sandbox_plan` before any of it ran.
    pub fn new(spec: Arc<Spec>, plan: Vec<Case>, sandbox_plan: Vec<SandboxCase>) -> ServiceRun {
        ServiceRun { spec, plan, sandbox_plan, cases: Vec::new(), sandbox: Vec::new(), round: None }
    }

    /// Whether every planned mock case ran: only such a run is a round.
    pub fn is_complete(&self) -> bool {
        self.plan.len() == self.cases.len() && self.plan.iter().all(|c| self.cases.iter().any(|r| r.case == *c))
    }

    /// The sandbox trials that belong to a round: all but the nightly drift checks.
    pub fn live(&self) -> impl Iterator<Item = &SandboxResult> {
        self.sandbox.iter().filter(|r| !matches!(r.case.check, Check::Drift(_)))
    }

    /// Whether the round passes: every mock case, and every sandbox trial that ran.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|r| r.outcome.passed) && self.live().all(|r| r.passed || !r.ran())
    }

    /// What the drift checks that ran found.
    pub fn drift(&self) -> Vec<Finding> {
        self.sandbox.iter().filter_map(|r| r.drift.clone()).collect()
    }
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// When it started.
    pub started: SystemTime,
    /// How long it took (trials run concurrently: less than the sum of theirs).
    pub elapsed: Duration,
    /// Every bound service whose spec loaded, by id.
    pub services: Vec<ServiceRun>,
    /// The trials that failed before they could run.
    pub setup: Vec<SetupFailure>,
}
