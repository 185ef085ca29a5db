//! Scenarios: the cases a spec makes applicable to each endpoint, how the mock provider
//! behaves in each, and how the client's observable behaviour is judged.
//!
//! Each family lives in its own module and returns a [`Prepared`] scenario: the routes
//! of the mock provider, how many calls to make, and a judge that turns what the server
//! saw plus what the client returned into an [`Outcome`](crate::results::Outcome).

mod auth;
mod check;
mod concurrency;
mod conformance;
mod connection;
mod drift;
mod idempotency;
pub mod invariant;
mod kind;
pub mod matrix;
mod pagination;
pub(crate) mod receiver;
mod retry;
mod timeout;
mod tolerance;

use std::sync::Arc;
use std::time::Duration;

use crate::binding::{CallResult, Credentials, ErrorKind, Retry};
use crate::case::{Case, Kind, Subject};
use crate::redact;
use crate::server::{Reply, Route, Step};
use crate::spec::{Action, Endpoint, RECEIVER, SENDER, Spec};
use crate::timeline::{Arrival, Target, Timeline, secs};

pub use check::*;

impl Case {
    /// The scheduling lag (see [`crate::lag`]) a verdict of this case stands up to, at least
    /// 10 ms; and whether a pass can be won by lag (`true` when the judge checks waits from
    /// below: a starved machine stretches every wait, so a client with no backoff looks
    /// patient). Such a pass stands when the lag was shorter than the shortest wait judged
    /// (a client that does not wait at all needs at least that much lag to pass); other
    /// verdicts, which lag can only make worse, are noted as starved past half the budget's
    /// tolerance.
    pub fn lag_tolerance(&self, spec: &Spec) -> (Duration, bool) {
        let p = Policy::of(spec, self.subject);
        let floor = |d: Duration| d.max(Duration::from_millis(10));
        match self.kind {
            Kind::RateLimitRetryAfter
            | Kind::RateLimitRetryAfterDate
            | Kind::RateLimitStorm
            | Kind::RateLimitReset
            | Kind::RateLimitConcurrent => (floor(p.retry_after), true),
            Kind::Status { action: Action::RespectRetryAfter, .. } => (floor(p.retry_after), true),
            Kind::Status { action: Action::RetryWithBackoff | Action::RetryWithLongerDelays, .. } | Kind::RateLimitNoRetryAfter => {
                (floor(p.retry.backoff(0)), true)
            }
            Kind::ServerErrorRecovers
            | Kind::ServerErrorPersists
            | Kind::ServerErrorMaintenance
            | Kind::ConnectionRefused
            | Kind::ConnectionResetBeforeResponse
            | Kind::ConnectionResetDuringResponse
            | Kind::ConnectionTruncatedBody
            | Kind::DuplicatePostReplayed
            | Kind::PaginationPageFails
            | Kind::PaginationPagePersists => (floor(p.retry.backoff(0)), true),
            Kind::TimeoutSlowWithinBudget => (floor(p.budget / 10), true),
            _ => (floor(p.budget_tolerance() / 2), false),
        }
    }

    /// The wait the spec's policy forces on a correct client in this case (see [`Kind::mandated_wait`]).
    pub fn mandated_wait(&self, spec: &Spec) -> Duration {
        match self.subject.endpoint(spec) {
            Some(e) => self.kind.mandated_wait(&e, &Policy::of(spec, self.subject)),
            None => Duration::ZERO,
        }
    }
}

/// Every applicable case of a spec, in a deterministic order (endpoints as written, then the
/// webhook receiver and sender; kinds as listed).
pub fn plan(spec: &Spec) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |subject: Subject, id: &str, kinds: &mut dyn Iterator<Item = Kind>| {
        cases.extend(kinds.map(|kind| Case { service: spec.id.clone(), subject, subject_id: id.to_string(), kind }));
    };
    let status_kinds = matrix::status_kinds(spec);
    let kinds_of = |e: &Endpoint| {
        let mut kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.applies(spec, e)).chain(status_kinds.iter().copied()).collect();
        // the matrix's own cases sit after the named 4xx case, as `Kind` lists them
        kinds.sort();
        kinds
    };
    for (i, (e, kinds)) in spec.endpoints.iter().zip(crate::cores::map(&spec.endpoints, kinds_of)).enumerate() {
        add(Subject::Endpoint(i), &e.id, &mut kinds.into_iter());
    }
    if let Some(r) = &spec.webhooks.receiver {
        add(Subject::Receiver, RECEIVER, &mut Kind::ALL.into_iter().filter(|k| k.applies_to_receiver(r)));
    }
    if let Some(s) = &spec.webhooks.sender {
        let e = s.endpoint();
        add(Subject::Sender, SENDER, &mut Kind::ALL.into_iter().filter(|k| k.applies_to_sender() && k.applies(spec, &e)));
    }
    cases
}

/// The spec's durations as the client sees them in a trial (scaled by the test profile).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Retry settings, scaled.
    pub retry: Retry,
    /// Budget for one attempt, scaled.
    pub budget: Duration,
    /// The wait advertised in Retry-After (never scaled: the client must honour it as sent).
    pub retry_after: Duration,
    /// Factor applied to the spec.
    pub time_scale: f64,
}

impl Policy {
    /// The policy of `spec` for `subject` (a webhook sender may declare its own retries),
    /// with the time scale `OC_TIME_SCALE` sets for this run, if any.
    pub fn of(spec: &Spec, subject: Subject) -> Policy {
        Policy::scaled(spec, subject, time_scale_override().ok().flatten().unwrap_or(spec.test_profile.time_scale))
    }

    /// The policy of `spec` for `subject` with its durations scaled by `s` (1.0: as declared,
    /// which is how the sandbox trials run the client).
    pub fn scaled(spec: &Spec, subject: Subject, s: f64) -> Policy {
        let retry = match (subject, &spec.webhooks.sender) {
            (Subject::Sender, Some(s)) => s.retry.as_ref().unwrap_or(&spec.retry),
            _ => &spec.retry,
        };
        let scaled = |ms: u64| Duration::from_secs_f64(ms as f64 * s / 1000.0);
        let longer = spec.rule_for(503).and_then(|r| r.delay_factor).unwrap_or(4.0);
        Policy {
            retry: Retry {
                max_attempts: retry.max_attempts,
                base_delay: scaled(retry.base_delay_ms),
                multiplier: retry.multiplier,
                max_delay: scaled(retry.max_delay_ms),
                jitter: scaled(retry.jitter_ms),
                longer_delay_factor: longer,
            },
            budget: scaled(spec.timeouts.request_ms),
            retry_after: Duration::from_secs(spec.test_profile.retry_after_s),
            time_scale: s,
        }
    }

    /// How late a client may hang up on a slow attempt and still count as within budget.
    pub fn budget_tolerance(&self) -> Duration {
        (self.budget / 2).max(Duration::from_millis(250))
    }

    /// How long the harness waits for one call before declaring the client stuck: far
    /// more than a correct client needs under the declared policy.
    pub fn patience(&self) -> Duration {
        let n = self.retry.max_attempts;
        let per_attempt = self.budget + self.budget_tolerance();
        let longest_wait = (self.retry.max_delay.mul_f64(self.retry.longer_delay_factor) + self.retry.jitter)
            .max(self.retry_after + Duration::from_secs(1));
        per_attempt * n + longest_wait * n.saturating_sub(1) + Duration::from_secs(2)
    }
}

/// The time scale `OC_TIME_SCALE` sets for this run: `Ok(None)` when unset, `Err` with
/// the raw value when it is not a factor in (0, 1].
pub fn time_scale_override() -> Result<Option<f64>, String> {
    match std::env::var("OC_TIME_SCALE") {
        Err(_) => Ok(None),
        Ok(v) => v.parse::<f64>().ok().filter(|f| (crate::spec::MIN_TIME_SCALE..=1.0).contains(f)).map(Some).ok_or(v),
    }
}

/// What the client did with one call.
#[derive(Debug, Clone)]
pub enum Returned {
    /// It returned this.
    Value(CallResult),
    /// It panicked with this message.
    Panicked(String),
    /// It had not returned after this long, and was stopped.
    Stuck(Duration),
    /// It was stopped early because it had already broken a hard limit (too many attempts).
    Stopped,
}

impl Returned {
    /// The error kind and status, when the client returned an error.
    pub fn error(&self) -> Option<(ErrorKind, Option<u16>)> {
        match self {
            Returned::Value(Err(e)) => Some((e.kind, e.status)),
            _ => None,
        }
    }

    /// The value, when the client returned one.
    pub fn value(&self) -> Option<&serde_json::Value> {
        match self {
            Returned::Value(Ok(v)) => Some(v),
            _ => None,
        }
    }

    /// A one-line description for humans, secrets redacted.
    pub fn describe(&self) -> String {
        let text = match self {
            // `clip` masks secrets before it cuts: a secret cut in half would no longer match
            Returned::Value(Ok(v)) => format!("Ok({})", crate::text::clip(&v.to_string())),
            Returned::Value(Err(e)) => format!("Err({e})"),
            Returned::Panicked(m) => format!("panicked: {m}"),
            Returned::Stuck(d) => format!("had not returned after {} (stopped)", secs(*d)),
            Returned::Stopped => "stopped early: it had already made more requests than its policy allows".into(),
        };
        redact::redact(&text)
    }
}

/// What a trial observed.
pub struct Observed<'a> {
    /// What the client returned, per call.
    pub returned: &'a [Returned],
    /// What the servers saw.
    pub timeline: &'a Timeline,
}

impl Observed<'_> {
    /// API attempts of call `i`.
    pub fn attempts(&self, call: usize) -> Vec<Arrival> {
        self.timeline.attempts(call, Target::Api)
    }
}

/// A judge: what was observed → problems found and a summary of the actual behaviour.
pub type Judge = Box<dyn FnOnce(&Observed) -> Verdict + Send>;

/// What a judge found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The observed behaviour in a sentence.
    pub actual: String,
    /// Violated expectations; empty when the client passed.
    pub problems: Vec<String>,
    /// Extra evidence (diffs).
    pub evidence: String,
}

/// A scenario ready to run.
pub struct Prepared {
    /// The mock provider's routes; none means nothing listens (connection refused).
    pub routes: Vec<Route>,
    /// How many calls the harness makes.
    pub calls: usize,
    /// What each call hands the client instead of the spec's request example.
    pub input: Option<serde_json::Value>,
    /// Run before each call (e.g. expire the current token).
    pub before_call: Option<Box<dyn Fn(usize) + Send + Sync>>,
    /// Whether the calls are made all at once through the one client (else one after another).
    pub concurrent: bool,
    /// The scenario's demand, in a sentence.
    pub expected: String,
    /// The request headers worth showing in the timeline.
    pub headers: Vec<String>,
    /// Turns the observation into a verdict.
    pub judge: Judge,
}

impl Prepared {
    /// One call against `routes`, showing the endpoint's credential and idempotency headers.
    pub fn new(s: &Setup, routes: Vec<Route>, expected: String, judge: Judge) -> Prepared {
        Prepared { routes, calls: 1, input: None, before_call: None, concurrent: false, expected, headers: s.headers(), judge }
    }

    /// A case that cannot run against this subject: no route, no call that matters, and a
    /// judge that says `problem`.
    pub fn cannot_run(s: &Setup, expected: String, problem: String) -> Prepared {
        Prepared::new(
            s,
            Vec::new(),
            expected,
            Box::new(move |_| Verdict { actual: String::new(), problems: vec![problem], evidence: String::new() }),
        )
    }

    /// Make `n` calls instead of one.
    pub fn calls(mut self, n: usize) -> Prepared {
        self.calls = n;
        self
    }

    /// Make the `n` calls all at once through the one client.
    pub fn concurrent_calls(mut self, n: usize) -> Prepared {
        self.calls = n;
        self.concurrent = true;
        self
    }

    /// Hand the client `input` instead of the spec's request example.
    pub fn input(mut self, input: serde_json::Value) -> Prepared {
        self.input = Some(input);
        self
    }

    /// Run `hook` before each call.
    pub fn before_each_call(mut self, hook: Box<dyn Fn(usize) + Send + Sync>) -> Prepared {
        self.before_call = Some(hook);
        self
    }

    /// Show these request headers in the timeline.
    pub fn headers(mut self, headers: Vec<String>) -> Prepared {
        self.headers = headers;
        self
    }

    /// Whether a route may need the raw TCP server.
    pub fn needs_raw(&self) -> bool {
        self.routes.iter().any(|r| r.raw)
    }
}

/// Everything a scenario family needs to prepare a case.
pub struct Setup<'a> {
    /// The spec.
    pub spec: &'a Spec,
    /// The endpoint under test.
    pub endpoint: &'a Endpoint,
    /// The path the endpoint's path is relative to (the base URL's, or none for a webhook delivery).
    pub base_path: String,
    /// Whether the call is a webhook sender's delivery: what the sender returns on success
    /// is its own business, so only that it succeeded is judged.
    pub delivery: bool,
    /// The scaled policy.
    pub policy: Policy,
    /// The trial's timeline.
    pub timeline: &'a Timeline,
    /// Path of the token endpoint (OAuth specs).
    pub token_path: Option<String>,
    /// The credentials issued to the client for this trial.
    pub credentials: Credentials,
    /// Where the trial's secrets are registered for redaction (tokens minted mid-trial too).
    pub secrets: Arc<redact::Registration>,
}

impl Setup<'_> {
    /// The success reply for this endpoint.
    pub fn ok(&self) -> Reply {
        Reply::json(self.endpoint.response.status, &self.endpoint.response.example)
    }

    /// A route answering every API request with `steps[call][attempt]` (the last step repeats).
    pub fn script(&self, calls: Vec<Vec<Step>>, limit: usize) -> Route {
        let raw = calls.iter().flatten().any(Step::needs_raw);
        Route {
            raw,
            target: Target::Api,
            path: None,
            behaviour: Arc::new(move |a: &Arrival, attempt| {
                let steps = &calls[a.call.min(calls.len() - 1)];
                steps[attempt.min(steps.len() - 1)].clone()
            }),
            limit,
        }
    }

    /// What the provider answers with an error `status`: the matrix row's example; for a 502
    /// or 504 without one, the HTML page a gateway in front of the provider sends; else a
    /// generic JSON error.
    pub fn error_reply(&self, status: u16) -> Reply {
        match self.spec.rule_for(status).and_then(|r| r.example.clone()) {
            Some(v) => Reply::json(status, &v),
            None if matches!(status, 502 | 504) => {
                let reason = if status == 502 { "Bad Gateway" } else { "Gateway Time-out" };
                let page = format!(
                    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center></body></html>\n"
                );
                Reply::raw(status, "text/html", page.into_bytes())
            }
            None => Reply::json(
                status,
                &serde_json::json!({"error": {"type": "oc_injected", "status": status, "message": format!("injected {status} by oc-integrate")}}),
            ),
        }
    }

    /// The credential header the endpoint should carry.
    pub fn auth_header(&self) -> Option<&str> {
        if self.endpoint.auth { self.spec.overview.auth.header() } else { None }
    }

    /// Headers worth showing in timelines for this endpoint.
    pub fn headers(&self) -> Vec<String> {
        let mut h = Vec::new();
        if let Some(a) = self.auth_header() {
            h.push(a.to_ascii_lowercase());
        }
        if let Some(i) = &self.endpoint.idempotency_header {
            h.push(i.to_ascii_lowercase());
        }
        h
    }
}

/// Prepare `kind` for the endpoint in `setup`.
pub fn prepare(kind: Kind, setup: &Setup) -> Prepared {
    match kind {
        Kind::Conformance => conformance::prepare(setup),
        Kind::HostileRequestValues => conformance::hostile(setup),
        Kind::AuthExpired | Kind::AuthRefreshFails => auth::prepare(kind, setup),
        Kind::AuthRejected => auth::rejected(setup),
        Kind::AuthExpiredConcurrent => concurrency::refresh(setup),
        Kind::RateLimitConcurrent => concurrency::rate_limited(setup),
        Kind::RateLimitRetryAfter
        | Kind::RateLimitRetryAfterDate
        | Kind::RateLimitStorm
        | Kind::ServerErrorRecovers
        | Kind::ServerErrorPersists
        | Kind::ServerErrorMaintenance
        | Kind::RateLimitNoRetryAfter
        | Kind::RateLimitReset
        | Kind::ClientErrorNotRetried
        | Kind::Status { .. } => retry::prepare(kind, setup),
        Kind::TimeoutHeadersLate
        | Kind::TimeoutBodyStalls
        | Kind::TimeoutBodyTrickles
        | Kind::TimeoutLateHeadersThenStall
        | Kind::TimeoutNoAnswer
        | Kind::TimeoutSlowWithinBudget => timeout::prepare(kind, setup),
        Kind::DuplicatePost => idempotency::prepare(setup),
        Kind::DuplicatePostReplayed => idempotency::replayed(setup),
        Kind::PaginationAllPages | Kind::PaginationLoop | Kind::PaginationPageFails | Kind::PaginationPagePersists => {
            pagination::prepare(kind, setup)
        }
        Kind::DriftExtraField
        | Kind::DriftMissingField
        | Kind::DriftTypeChanged
        | Kind::DriftNullValue
        | Kind::DriftRenamedField
        | Kind::DriftEmptyBody
        | Kind::DriftTruncatedJson
        | Kind::DriftNotJson
        | Kind::DriftWrongContentType => drift::prepare(kind, setup),
        k if k.is_tolerance() => tolerance::prepare(k, setup),
        Kind::ConnectionRefused
        | Kind::ConnectionResetBeforeResponse
        | Kind::ConnectionResetDuringResponse
        | Kind::ConnectionTruncatedBody => connection::prepare(kind, setup),
        // receiver cases run against the project's handler (see `receiver`), not a client
        receiver_kind => Prepared::cannot_run(
            setup,
            format!("{receiver_kind} runs against a webhook handler"),
            format!("{receiver_kind} is a webhook receiver case and cannot run against a client"),
        ),
    }
}
