//! Scenarios: the cases a spec makes applicable to each endpoint, how the mock provider
//! behaves in each, and how the client's observable behaviour is judged.
//!
//! Each family lives in its own module and returns a [`Prepared`] scenario: the routes
//! of the mock provider, how many calls to make, and a judge that turns what the server
//! saw plus what the client returned into an [`Outcome`].

mod auth;
mod conformance;
mod connection;
mod drift;
mod idempotency;
mod retry;
mod timeout;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::binding::{CallResult, Credentials, ErrorKind, Retry};
use crate::redact;
use crate::server::{Reply, Route, Step};
use crate::spec::{Action, Auth, Endpoint, Method, Spec};
use crate::timeline::{Arrival, Target, Timeline, secs};

/// Every kind of generated case, in the order trials are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Kind {
    Conformance,
    AuthExpired,
    AuthRefreshFails,
    AuthRejected,
    RateLimitRetryAfter,
    RateLimitRetryAfterDate,
    RateLimitStorm,
    ServerErrorRecovers,
    ServerErrorPersists,
    ServerErrorMaintenance,
    ClientErrorNotRetried,
    TimeoutHeadersLate,
    TimeoutBodyStalls,
    TimeoutBodyTrickles,
    TimeoutNoAnswer,
    TimeoutSlowWithinBudget,
    DuplicatePost,
    DriftExtraField,
    DriftMissingField,
    DriftTypeChanged,
    DriftNullValue,
    DriftRenamedField,
    DriftEmptyBody,
    DriftTruncatedJson,
    DriftNotJson,
    DriftWrongContentType,
    ConnectionRefused,
    ConnectionResetBeforeResponse,
    ConnectionResetDuringResponse,
    ConnectionTruncatedBody,
}

impl Kind {
    /// All kinds, in listing order.
    pub const ALL: [Kind; 30] = [
        Kind::Conformance,
        Kind::AuthExpired,
        Kind::AuthRefreshFails,
        Kind::AuthRejected,
        Kind::RateLimitRetryAfter,
        Kind::RateLimitRetryAfterDate,
        Kind::RateLimitStorm,
        Kind::ServerErrorRecovers,
        Kind::ServerErrorPersists,
        Kind::ServerErrorMaintenance,
        Kind::ClientErrorNotRetried,
        Kind::TimeoutHeadersLate,
        Kind::TimeoutBodyStalls,
        Kind::TimeoutBodyTrickles,
        Kind::TimeoutNoAnswer,
        Kind::TimeoutSlowWithinBudget,
        Kind::DuplicatePost,
        Kind::DriftExtraField,
        Kind::DriftMissingField,
        Kind::DriftTypeChanged,
        Kind::DriftNullValue,
        Kind::DriftRenamedField,
        Kind::DriftEmptyBody,
        Kind::DriftTruncatedJson,
        Kind::DriftNotJson,
        Kind::DriftWrongContentType,
        Kind::ConnectionRefused,
        Kind::ConnectionResetBeforeResponse,
        Kind::ConnectionResetDuringResponse,
        Kind::ConnectionTruncatedBody,
    ];

    /// The name used in trial names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Conformance => "conformance",
            Kind::AuthExpired => "auth_expired",
            Kind::AuthRefreshFails => "auth_refresh_fails",
            Kind::AuthRejected => "auth_rejected",
            Kind::RateLimitRetryAfter => "rate_limit_retry_after",
            Kind::RateLimitRetryAfterDate => "rate_limit_retry_after_date",
            Kind::RateLimitStorm => "rate_limit_storm",
            Kind::ServerErrorRecovers => "server_error_recovers",
            Kind::ServerErrorPersists => "server_error_persists",
            Kind::ServerErrorMaintenance => "server_error_maintenance",
            Kind::ClientErrorNotRetried => "client_error_not_retried",
            Kind::TimeoutHeadersLate => "timeout_headers_late",
            Kind::TimeoutBodyStalls => "timeout_body_stalls",
            Kind::TimeoutBodyTrickles => "timeout_body_trickles",
            Kind::TimeoutNoAnswer => "timeout_no_answer",
            Kind::TimeoutSlowWithinBudget => "timeout_slow_within_budget",
            Kind::DuplicatePost => "duplicate_post",
            Kind::DriftExtraField => "drift_extra_field",
            Kind::DriftMissingField => "drift_missing_field",
            Kind::DriftTypeChanged => "drift_type_changed",
            Kind::DriftNullValue => "drift_null_value",
            Kind::DriftRenamedField => "drift_renamed_field",
            Kind::DriftEmptyBody => "drift_empty_body",
            Kind::DriftTruncatedJson => "drift_truncated_json",
            Kind::DriftNotJson => "drift_not_json",
            Kind::DriftWrongContentType => "drift_wrong_content_type",
            Kind::ConnectionRefused => "connection_refused",
            Kind::ConnectionResetBeforeResponse => "connection_reset_before_response",
            Kind::ConnectionResetDuringResponse => "connection_reset_during_response",
            Kind::ConnectionTruncatedBody => "connection_truncated_body",
        }
    }

    /// The kind with this trial-name segment.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the spec makes this kind applicable to `endpoint`.
    pub fn applies(self, spec: &Spec, endpoint: &Endpoint) -> bool {
        let oauth = matches!(spec.overview.auth, Auth::Oauth2 { .. }) && endpoint.auth;
        match self {
            Kind::Conformance => true,
            Kind::AuthExpired | Kind::AuthRefreshFails => oauth && spec.action_for(401) == Some(Action::RefreshAndRetryOnce),
            Kind::AuthRejected => endpoint.auth && spec.overview.auth != Auth::None && spec.action_for(401) == Some(Action::Fail),
            Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate => spec.action_for(429) == Some(Action::RespectRetryAfter),
            Kind::RateLimitStorm => spec.action_for(429) == Some(Action::RespectRetryAfter) && spec.retry.max_attempts > 1,
            Kind::ServerErrorRecovers => spec.action_for(500) == Some(Action::RetryWithBackoff) && spec.retry.max_attempts > 1,
            Kind::ServerErrorPersists => spec.action_for(500) == Some(Action::RetryWithBackoff),
            Kind::ServerErrorMaintenance => spec.action_for(503) == Some(Action::RetryWithLongerDelays) && spec.retry.max_attempts > 1,
            Kind::ClientErrorNotRetried => !retry::client_error_statuses(spec).is_empty(),
            Kind::TimeoutHeadersLate
            | Kind::TimeoutBodyStalls
            | Kind::TimeoutBodyTrickles
            | Kind::TimeoutNoAnswer
            | Kind::TimeoutSlowWithinBudget => true,
            Kind::DuplicatePost => endpoint.method == Method::POST,
            Kind::DriftMissingField | Kind::DriftTypeChanged | Kind::DriftNullValue | Kind::DriftRenamedField => {
                !drift::fields_to_mutate(endpoint).is_empty()
            }
            Kind::DriftExtraField => {
                endpoint.response.example.is_object() || endpoint.response.example.get(0).is_some_and(|v| v.is_object())
            }
            Kind::DriftEmptyBody | Kind::DriftTruncatedJson | Kind::DriftNotJson | Kind::DriftWrongContentType => true,
            Kind::ConnectionRefused
            | Kind::ConnectionResetBeforeResponse
            | Kind::ConnectionResetDuringResponse
            | Kind::ConnectionTruncatedBody => true,
        }
    }

    /// The row label used in reports' Error Handling table.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Conformance => "Happy path (conformance)",
            Kind::AuthExpired => "Expired token (401)",
            Kind::AuthRefreshFails => "Refresh rejected (401 + invalid_grant)",
            Kind::AuthRejected => "Credential rejected (401)",
            Kind::RateLimitRetryAfter => "Rate limit (429, Retry-After seconds)",
            Kind::RateLimitRetryAfterDate => "Rate limit (429, Retry-After date)",
            Kind::RateLimitStorm => "Rate limit storm (429 forever)",
            Kind::ServerErrorRecovers => "Server error (500, 502 then 200)",
            Kind::ServerErrorPersists => "Server error (500 forever)",
            Kind::ServerErrorMaintenance => "Maintenance (503)",
            Kind::ClientErrorNotRetried => "Client error (4xx)",
            Kind::TimeoutHeadersLate => "Timeout (headers late)",
            Kind::TimeoutBodyStalls => "Timeout (body stalls)",
            Kind::TimeoutBodyTrickles => "Timeout (body trickles)",
            Kind::TimeoutNoAnswer => "Timeout (never answered)",
            Kind::TimeoutSlowWithinBudget => "Slow but within budget",
            Kind::DuplicatePost => "Duplicate POST (idempotency)",
            Kind::DriftExtraField => "Drift: extra field",
            Kind::DriftMissingField => "Drift: missing field",
            Kind::DriftTypeChanged => "Drift: type changed",
            Kind::DriftNullValue => "Drift: null value",
            Kind::DriftRenamedField => "Drift: renamed field",
            Kind::DriftEmptyBody => "Drift: empty body",
            Kind::DriftTruncatedJson => "Drift: truncated JSON",
            Kind::DriftNotJson => "Drift: not JSON",
            Kind::DriftWrongContentType => "Drift: wrong content type",
            Kind::ConnectionRefused => "Connection refused",
            Kind::ConnectionResetBeforeResponse => "Connection reset before response",
            Kind::ConnectionResetDuringResponse => "Connection reset during response",
            Kind::ConnectionTruncatedBody => "Truncated body",
        }
    }

    /// The wait a correct client must spend on one case, as a lower bound: what the spec's
    /// policy forces between attempts and inside slow attempts. Jitter, connection setup and
    /// the client's own work are not counted.
    pub fn mandated_wait(self, endpoint: &Endpoint, p: &Policy) -> Duration {
        let n = p.retry.max_attempts;
        let idempotent = endpoint.is_idempotent();
        let backoffs = |retries: u32| (0..retries).map(|k| p.retry.backoff(k)).sum::<Duration>();
        let if_idempotent = |d: Duration| if idempotent { d } else { Duration::ZERO };
        // retries before the 5xx recover: 500, 502, then 200, fewer when the policy allows fewer
        let recovers = backoffs(n.min(3).saturating_sub(1));
        match self {
            // the date form is rounded up to a whole second past Retry-After: this is a lower bound
            Kind::RateLimitRetryAfter | Kind::RateLimitRetryAfterDate => p.retry_after,
            Kind::RateLimitStorm => p.retry_after * n.saturating_sub(1),
            Kind::ServerErrorRecovers => if_idempotent(recovers),
            Kind::ServerErrorPersists => if_idempotent(backoffs(n.saturating_sub(1))),
            Kind::ServerErrorMaintenance => if_idempotent(recovers.mul_f64(p.retry.longer_delay_factor)),
            Kind::TimeoutHeadersLate | Kind::TimeoutBodyStalls | Kind::TimeoutBodyTrickles | Kind::TimeoutNoAnswer => {
                if idempotent {
                    p.budget * n + backoffs(n.saturating_sub(1))
                } else {
                    p.budget
                }
            }
            Kind::TimeoutSlowWithinBudget => p.budget.mul_f64(0.4),
            Kind::ConnectionResetBeforeResponse | Kind::ConnectionResetDuringResponse | Kind::ConnectionTruncatedBody => {
                if_idempotent(p.retry.backoff(0))
            }
            // nothing was sent, so even a non-idempotent call retries a refused connection
            Kind::ConnectionRefused => backoffs(n.saturating_sub(1)),
            // two calls, each retried once after a 500 or a reset
            Kind::DuplicatePost if endpoint.idempotency_header.is_some() && idempotent => p.retry.backoff(0) * 2,
            Kind::DuplicatePost
            | Kind::Conformance
            | Kind::AuthExpired
            | Kind::AuthRefreshFails
            | Kind::AuthRejected
            | Kind::ClientErrorNotRetried
            | Kind::DriftExtraField
            | Kind::DriftMissingField
            | Kind::DriftTypeChanged
            | Kind::DriftNullValue
            | Kind::DriftRenamedField
            | Kind::DriftEmptyBody
            | Kind::DriftTruncatedJson
            | Kind::DriftNotJson
            | Kind::DriftWrongContentType => Duration::ZERO,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One generated case: a scenario kind applied to one endpoint of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Service id.
    pub service: String,
    /// Index of the endpoint in the spec.
    pub endpoint: usize,
    /// Endpoint id.
    pub endpoint_id: String,
    /// Scenario kind.
    pub kind: Kind,
}

impl Case {
    /// The trial name: `service::endpoint::kind`.
    pub fn name(&self) -> String {
        format!("{}::{}::{}", self.service, self.endpoint_id, self.kind)
    }
}

/// Every applicable case of a spec, in a deterministic order (endpoints as written, kinds as listed).
pub fn plan(spec: &Spec) -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, e) in spec.endpoints.iter().enumerate() {
        for kind in Kind::ALL {
            if kind.applies(spec, e) {
                cases.push(Case { service: spec.id.clone(), endpoint: i, endpoint_id: e.id.clone(), kind });
            }
        }
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

/// How much earlier than a mandated wait a server may see the next request (timer granularity).
pub const EARLY_SLACK: Duration = Duration::from_millis(3);

impl Policy {
    /// The policy of `spec`, with the time scale `OC_TIME_SCALE` sets for this run, if any.
    pub fn of(spec: &Spec) -> Policy {
        let env = std::env::var("OC_TIME_SCALE").ok().and_then(|s| s.parse::<f64>().ok()).filter(|s| *s > 0.0 && *s <= 1.0);
        let s = env.unwrap_or(spec.test_profile.time_scale);
        let scaled = |ms: u64| Duration::from_secs_f64(ms as f64 * s / 1000.0);
        let longer = spec.rule_for(503).and_then(|r| r.delay_factor).unwrap_or(4.0);
        Policy {
            retry: Retry {
                max_attempts: spec.retry.max_attempts,
                base_delay: scaled(spec.retry.base_delay_ms),
                multiplier: spec.retry.multiplier,
                max_delay: scaled(spec.retry.max_delay_ms),
                jitter: scaled(spec.retry.jitter_ms),
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
            Returned::Value(Ok(v)) => {
                let mut s = v.to_string();
                if s.len() > 300 {
                    let cut = (0..=300).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                    s.truncate(cut);
                    s.push('…');
                }
                format!("Ok({s})")
            }
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
    /// Run before each call (e.g. expire the current token).
    pub before_call: Option<Box<dyn Fn(usize) + Send + Sync>>,
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
        Prepared { routes, calls: 1, before_call: None, expected, headers: s.headers(), judge }
    }

    /// Make `n` calls instead of one.
    pub fn calls(mut self, n: usize) -> Prepared {
        self.calls = n;
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
        Kind::AuthExpired | Kind::AuthRefreshFails => auth::prepare(kind, setup),
        Kind::AuthRejected => auth::rejected(setup),
        Kind::RateLimitRetryAfter
        | Kind::RateLimitRetryAfterDate
        | Kind::RateLimitStorm
        | Kind::ServerErrorRecovers
        | Kind::ServerErrorPersists
        | Kind::ServerErrorMaintenance
        | Kind::ClientErrorNotRetried => retry::prepare(kind, setup),
        Kind::TimeoutHeadersLate
        | Kind::TimeoutBodyStalls
        | Kind::TimeoutBodyTrickles
        | Kind::TimeoutNoAnswer
        | Kind::TimeoutSlowWithinBudget => timeout::prepare(kind, setup),
        Kind::DuplicatePost => idempotency::prepare(setup),
        Kind::DriftExtraField
        | Kind::DriftMissingField
        | Kind::DriftTypeChanged
        | Kind::DriftNullValue
        | Kind::DriftRenamedField
        | Kind::DriftEmptyBody
        | Kind::DriftTruncatedJson
        | Kind::DriftNotJson
        | Kind::DriftWrongContentType => drift::prepare(kind, setup),
        Kind::ConnectionRefused
        | Kind::ConnectionResetBeforeResponse
        | Kind::ConnectionResetDuringResponse
        | Kind::ConnectionTruncatedBody => connection::prepare(kind, setup),
    }
}

// ---- shared checks -------------------------------------------------------------------

/// The wait before each retry, as the server can prove it: from the moment it began
/// answering one attempt (the earliest the client could have seen the failure) to the
/// arrival of the next. A lower bound of the client's own pause, whatever the load.
pub fn gaps(arrivals: &[Arrival]) -> Vec<Duration> {
    arrivals.windows(2).map(|w| w[1].at.saturating_sub(w[0].outcome_at())).collect()
}

/// `3 attempt(s), gaps 0.100 s, 0.200 s; returned Ok` — the usual Actual column.
pub fn attempts_summary(a: &[Arrival], r: &Returned) -> String {
    let returned = if r.value().is_some() { "Ok".to_string() } else { r.describe() };
    format!("{} attempt(s), gaps {}; returned {returned}", a.len(), list_secs(&gaps(a)))
}

/// `0.051 s, 0.102 s`.
pub fn list_secs(ds: &[Duration]) -> String {
    if ds.is_empty() {
        return "none".into();
    }
    ds.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ")
}

/// Check that the client returned an error of one of `kinds` (and `status`, when given).
pub fn expect_error(r: &Returned, kinds: &[ErrorKind], status: Option<u16>, problems: &mut Vec<String>) {
    let want = kinds.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(" or ");
    let want_status = status.map(|s| format!(" with status {s}")).unwrap_or_default();
    match r.error() {
        Some((k, st)) if kinds.contains(&k) && (status.is_none() || st == status) => {}
        Some((k, st)) if kinds.contains(&k) => problems.push(format!(
            "expected an error of kind {want}{want_status}, found a {k:?} error with status {}",
            st.map(|s| s.to_string()).unwrap_or("none".into())
        )),
        _ => problems.push(format!("expected an error of kind {want}{want_status}, found {}", r.describe())),
    }
}

/// Check that the client returned a value.
pub fn expect_ok(r: &Returned, problems: &mut Vec<String>) {
    if r.value().is_none() {
        problems.push(format!("expected the call to succeed, found {}", r.describe()));
    }
}

/// Check the number of attempts of a call.
pub fn expect_attempts(n: usize, want: usize, what: &str, problems: &mut Vec<String>) {
    if n != want {
        problems.push(format!("expected exactly {want} attempt{} ({what}), found {n}", if want == 1 { "" } else { "s" }));
    }
}

/// The reason a non-idempotent call gets exactly one attempt.
pub const NOT_RETRIED: &str = "a non-idempotent call is not retried";

/// Slack above a mandated wait before a wait counts as too long: generous, since load
/// can only lengthen what the server sees.
pub fn late_slack(wait: Duration) -> Duration {
    wait.max(Duration::from_millis(500))
}

/// Check a call's attempts against its retry policy: `want` attempts (for `policy`, or
/// one because the call is not idempotent) and, when it may repeat, each wait at least
/// its minimum (`why` names the rule) and at most that plus `jitter` plus [`late_slack`].
pub fn expect_retries(
    a: &[Arrival],
    want: usize,
    idempotent: bool,
    policy: &str,
    (mins, jitter): (&[Duration], Duration),
    why: &str,
    p: &mut Vec<String>,
) {
    expect_attempts(a.len(), want, if idempotent { policy } else { NOT_RETRIED }, p);
    if idempotent {
        let g = gaps(a);
        expect_gaps_at_least(&g, mins, why, p);
        for (i, (g, m)) in g.iter().zip(mins).enumerate() {
            let most = *m + jitter + late_slack(*m);
            if *g > most {
                p.push(format!("expected retry {} within {} ({why}, bounded by the policy), found {}", i + 1, secs(most), secs(*g)));
            }
        }
    }
}

/// Check each gap against its lower bound.
pub fn expect_gaps_at_least(gaps: &[Duration], mins: &[Duration], why: &str, problems: &mut Vec<String>) {
    for (i, (g, m)) in gaps.iter().zip(mins).enumerate() {
        if *g + EARLY_SLACK < *m {
            problems.push(format!("expected retry {} to wait at least {} ({why}), found {}", i + 1, secs(*m), secs(*g)));
        }
    }
}
