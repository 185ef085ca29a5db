//! One trial: start the mock provider for a case, build the client from a fresh
//! context, make the scenario's calls, and judge what the server saw and what came back.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

use crate::binding::{Binding, Call, Clock, Context, Credentials, ErrorKind, Instance, ReceiverContext};
use crate::case::{Case, Kind, Subject, reproduce};
use crate::redact;
use crate::results::{Attempt, CaseResult, Flaky, Outcome, Trace};
use crate::scenario::{self, Observed, Policy, Returned, Setup, Verdict, receiver};
use crate::server::{MockProvider, refusing_origin};
use crate::spec::{Auth, Endpoint, Spec};
use crate::timeline::{Target, Timeline};
use crate::webhook::{self, Scheme, Verify};

/// What is wrong with the signatures of a sender's deliveries, as the subscriber checks
/// them on arrival: each problem once, with the attempts it concerns.
fn signatures(sender: &crate::spec::Sender, secret: &str, timeline: &Timeline) -> Vec<String> {
    let mut problems: Vec<(String, Vec<usize>)> = Vec::new();
    let id_header = sender.event_id_header();
    for (n, a) in timeline.arrivals().iter().filter(|a| a.target == Target::Api).enumerate() {
        let now = a.wall.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
        let mut found = Vec::new();
        // the event id is judged on its own below, in the header the spec declares
        let mut headers = a.headers.clone();
        if sender.scheme == Scheme::Generic && a.header("x-event-id").is_none() {
            headers.push(("x-event-id".into(), "(judged separately)".into()));
        }
        if let Err(e) = webhook::verify(sender.scheme, secret, &headers, &a.body, &Verify { now, ..Verify::default() }) {
            found.push(format!(
                "expected every delivery signed with the {} scheme and the issued secret over the raw body, found: {e}",
                sender.scheme
            ));
        }
        if a.header(&id_header).is_none_or(str::is_empty) {
            found.push(format!("expected every delivery to carry its event id in {id_header}, found none"));
        }
        for f in found {
            match problems.iter_mut().find(|(p, _)| *p == f) {
                Some((_, at)) => at.push(n + 1),
                None => problems.push((f, vec![n + 1])),
            }
        }
    }
    problems
        .into_iter()
        .map(|(p, at)| format!("{p} (request {})", at.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")))
        .collect()
}

/// Fresh fake credentials for a trial, registered for redaction.
fn mint(auth: &Auth, secrets: &redact::Registration) -> Credentials {
    let stem = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    let c = match auth {
        Auth::None => Credentials::default(),
        Auth::ApiKey { .. } => Credentials { api_key: Some(format!("oc_key_{stem}")), ..Default::default() },
        Auth::Oauth2 { .. } => Credentials {
            api_key: None,
            client_id: Some(format!("oc_client_{stem}")),
            client_secret: Some(format!("oc_secret_{stem}")),
            access_token: Some(format!("oc_at_{stem}_1")),
            refresh_token: Some(format!("oc_rt_{stem}_1")),
            webhook_secret: None,
        },
    };
    for s in [&c.api_key, &c.client_secret, &c.access_token, &c.refresh_token].into_iter().flatten() {
        secrets.add(s);
    }
    c
}

tokio::task_local! {
    /// Where the client running in this task panicked, filled in by the panic hook.
    static PANIC_AT: Arc<Mutex<Option<String>>>;
}

/// Install the harness's panic hook: it prints panic messages with secrets redacted (a
/// client may panic with a token in its message) and remembers where a client panicked,
/// so the trial's failure can say. Idempotent.
pub fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = redact::panic_message(info.payload());
            let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
            let _ = PANIC_AT.try_with(|slot| *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(at.clone()));
            eprintln!("panicked at {at}: {}", redact::redact(&msg));
        }));
    });
}

/// A fresh webhook signing secret in the form `scheme` expects, registered for redaction.
pub(crate) fn mint_webhook_secret(scheme: Scheme, secrets: &redact::Registration) -> String {
    let raw = uuid::Uuid::new_v4();
    let secret = match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => {
            use base64::Engine as _;
            format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()))
        }
        _ => format!("oc_whsec_{}", raw.simple()),
    };
    secrets.add(&secret);
    // the key itself is the part after `whsec_`, and it leaks on its own just as well
    if let Some(key) = secret.strip_prefix("whsec_") {
        secrets.add(key);
    }
    secret
}

/// Make one call of the client in its own task: what it returned, where it panicked, or
/// that it was stuck past `patience` or stopped when `stop` completed first.
pub(crate) async fn call_client(instance: &Instance, call: Call, patience: Duration, stop: impl Future<Output = ()>) -> Returned {
    let panic_at: Arc<Mutex<Option<String>>> = Arc::default();
    let mut task = tokio::spawn(PANIC_AT.scope(panic_at.clone(), instance(call)));
    let r = tokio::select! {
        joined = &mut task => match joined {
            Ok(v) => Returned::Value(v),
            Err(e) if e.is_panic() => {
                let at = panic_at.lock().unwrap_or_else(|p| p.into_inner()).take();
                let msg = redact::panic_message(&*e.into_panic());
                Returned::Panicked(match at {
                    Some(at) => format!("{msg} (at {at})"),
                    None => msg,
                })
            }
            Err(e) => Returned::Panicked(e.to_string()),
        },
        _ = tokio::time::sleep(patience) => Returned::Stuck(patience),
        _ = stop => Returned::Stopped,
    };
    task.abort();
    r
}

/// Run one case against a bound client (or, for receiver cases, the bound webhook handler).
pub async fn run(case: &Case, spec: Arc<Spec>, binding: &Binding) -> CaseResult {
    crate::lag::watch();
    let started = std::time::Instant::now();
    let mut r = run_case(case, spec, binding).await;
    r.seconds = started.elapsed().as_secs_f64();
    r.lag = crate::lag::worst_since(started);
    r
}

/// Quiet runs a verdict gets at most when each one is itself starved.
pub const QUIET_RUNS: u32 = 5;

/// Whether `r` must be decided by a run with no other trial beside it: after the concurrent
/// pass (`quiet_runs` 0), when it failed, or passed under more lag than a pass of its kind
/// stands up to; after a quiet run, when that run was itself starved past the tolerance of
/// the verdict it reached (up to [`QUIET_RUNS`]).
pub fn needs_quiet_run(r: &CaseResult, quiet_runs: u32, spec: &Spec) -> bool {
    let (tolerance, pass_won_by_lag) = r.case.lag_tolerance(spec);
    let starved = r.lag > tolerance && (!r.outcome.passed || pass_won_by_lag);
    match quiet_runs {
        0 => !r.outcome.passed || starved,
        n => n < QUIET_RUNS && starved,
    }
}

/// The verdict of a case that ran beside other trials (`first`) and then `quiet_runs` times
/// alone (`last` the latest): the quiet run decides. A failure it overturns is kept as
/// [`Flaky`] (and fails the case when `flaky_fails`); a verdict every quiet run reached
/// starved is not evidence either way, so it fails, saying so; a failure confirmed alone
/// says it was.
pub fn settle(first: CaseResult, last: CaseResult, quiet_runs: u32, spec: &Spec, flaky_fails: bool) -> CaseResult {
    if quiet_runs == 0 {
        return first;
    }
    let mut r = last;
    r.runs = quiet_runs + 1;
    let (tolerance, pass_won_by_lag) = r.case.lag_tolerance(spec);
    let starved = r.lag > tolerance && (!r.outcome.passed || pass_won_by_lag);
    let note = |r: &mut CaseResult, line: String| {
        r.message = redact::redact(&format!("{}\n{line}\n", r.message.trim_end()));
    };
    let lag = |d: Duration| format!("{} ms", d.as_millis());
    if starved && r.outcome.passed {
        let why = format!(
            "inconclusive: the harness itself was starved for {} during each of {quiet_runs} quiet re-runs (more than the {} this verdict stands up to), so its pass is not evidence; run it on a quieter machine",
            lag(r.lag),
            lag(tolerance)
        );
        r.outcome.passed = false;
        r.outcome.problems = vec![why.clone()];
        r.message = redact::redact(&format!("{why}\nreproduce: {}\n", r.reproduce()));
    } else if starved {
        let line = format!(
            "note: the harness itself was starved for {} during this trial (more than the {} this verdict stands up to): the machine may have caused this failure",
            lag(r.lag),
            lag(tolerance)
        );
        note(&mut r, line);
    } else if !r.outcome.passed && !first.outcome.passed {
        note(&mut r, "confirmed: it failed again when re-run alone".into());
    } else if !r.outcome.passed {
        note(&mut r, format!("it passed at first while the harness was starved for {}, and failed when re-run alone", lag(first.lag)));
    } else if !first.outcome.passed {
        let problem = first.outcome.problems.first().cloned().unwrap_or_else(|| first.outcome.actual.clone());
        r.flaky = Some(Flaky { problem: problem.clone(), message: first.message.clone() });
        if flaky_fails {
            r.outcome.passed = false;
            r.outcome.problems = vec![format!(
                "flaky: it failed at first ({problem}) and passed when re-run alone; flaky trials fail this run (--flaky-fails, OC_FLAKY=fail)"
            )];
            r.message = redact::redact(&format!("{}\n{}\n", r.outcome.problems[0], first.message.trim_end()));
        }
    }
    r
}

/// The context a mock trial gives the client of `subject` in `spec`, calling `base_url` with
/// `credentials`: the attempt budget and retry policy of the spec, scaled by its test profile
/// (and `OC_TIME_SCALE`). For driving a bound client outside the harness exactly as a trial
/// would (a hand-written test of one's own, a benchmark).
///
/// ```
/// # use std::sync::Arc;
/// use oc_integrate::{Credentials, case::Subject};
/// let spec = oc_integrate::spec::load_file("examples/integrations/payments/spec.yaml".as_ref()).unwrap();
/// let key = Credentials { api_key: Some("sk_test_1".into()), ..Credentials::default() };
/// let ctx = oc_integrate::trial::context(Arc::new(spec), Subject::Endpoint(0), "http://127.0.0.1:9/v1".into(), key);
/// // request_ms 10000 × time_scale 0.1
/// assert_eq!(ctx.timeout(), std::time::Duration::from_secs(1));
/// ```
pub fn context(spec: Arc<Spec>, subject: Subject, base_url: String, credentials: Credentials) -> Context {
    let policy = Policy::of(&spec, subject);
    Context {
        base_url,
        webhook_url: None,
        proxy_url: None,
        token_url: None,
        credentials,
        timeout: policy.budget,
        retry: policy.retry,
        time_scale: policy.time_scale,
        spec,
    }
}

async fn run_case(case: &Case, spec: Arc<Spec>, binding: &Binding) -> CaseResult {
    let Some(endpoint) = case.subject.endpoint(&spec) else {
        return run_receiver(case, spec, binding).await;
    };
    let endpoint = &endpoint;
    let timeline = Timeline::default();
    let policy = Policy::of(&spec, case.subject);
    let secrets = Arc::new(redact::Registration::default());
    let mut credentials = mint(&spec.overview.auth, &secrets);
    let sender = spec.webhooks.sender.as_ref().filter(|_| case.subject == Subject::Sender);
    if let Some(s) = sender {
        credentials.webhook_secret = Some(mint_webhook_secret(s.scheme, &secrets));
    }
    let base_path = if sender.is_some() { String::new() } else { crate::spec::url_path(&spec.overview.base_url) };
    let token_url = match &spec.overview.auth {
        Auth::Oauth2 { token_url, .. } => Some(token_url.clone()),
        _ => None,
    };
    let setup = Setup {
        spec: &spec,
        endpoint,
        base_path: base_path.clone(),
        delivery: sender.is_some(),
        policy: policy.clone(),
        timeline: &timeline,
        token_path: token_url.as_deref().map(crate::spec::url_path),
        credentials: credentials.clone(),
        secrets: secrets.clone(),
    };
    let prepared = scenario::prepare(case.kind, &setup);
    let fail = |expected: &str, problem: String| failed(case, expected.to_string(), problem);
    let raw = prepared.needs_raw();
    // what keeps the origin up (or reserved, when nothing may listen) until the trial ends
    let (_provider, _reserved, origin) = if prepared.routes.is_empty() {
        match refusing_origin() {
            Ok((socket, o)) => (None, Some(socket), o),
            Err(e) => return fail(&prepared.expected, format!("harness could not reserve a port: {e}")),
        }
    } else {
        match MockProvider::start(&timeline, prepared.routes).await {
            Ok(p) => {
                let o = p.origin.clone();
                (Some(p), None, o)
            }
            Err(e) => return fail(&prepared.expected, format!("harness could not start the mock provider: {e}")),
        }
    };
    let mut ctx = context(spec.clone(), case.subject, format!("{origin}{base_path}"), credentials.clone());
    ctx.webhook_url = sender.map(|s| format!("{origin}{}", s.path));
    ctx.token_url = setup.token_path.as_ref().map(|p| format!("{origin}{p}"));
    let instance = match std::panic::catch_unwind(AssertUnwindSafe(|| binding.instantiate(&ctx))) {
        Ok(i) => i,
        Err(p) => return fail(&prepared.expected, format!("the client factory panicked: {}", redact::panic_message(&*p))),
    };
    let input = prepared.input.clone().or_else(|| endpoint.request.example.clone()).unwrap_or(Value::Object(Default::default()));
    let patience = policy.patience();
    let call = || call_client(&instance, Call::new(case.subject_id.clone(), input.clone()), patience, timeline.violation());
    let mut returned = Vec::with_capacity(prepared.calls);
    if prepared.concurrent {
        // all at once through the one client: the provider sees them as one stream (call 1)
        if let Some(hook) = &prepared.before_call {
            hook(0);
        }
        timeline.begin_call(0);
        returned = futures::future::join_all((0..prepared.calls).map(|_| call())).await;
    } else {
        for i in 0..prepared.calls {
            if let Some(hook) = &prepared.before_call {
                hook(i);
            }
            timeline.begin_call(i);
            returned.push(call().await);
        }
    }
    if raw {
        // the raw server notices hang-ups asynchronously; give it a moment to record them
        for _ in 0..50 {
            if timeline.arrivals().iter().all(|a| a.hung_up_after.is_some()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let observed = Observed { returned: &returned, timeline: &timeline };
    let invariants = scenario::invariant::check(case.kind, &setup, &observed);
    let mut verdict = (prepared.judge)(&observed);
    verdict.problems.extend(invariants);
    if returned.iter().any(|r| matches!(r, Returned::Value(Err(e)) if e.kind == ErrorKind::Unbound)) {
        // the judge's findings would only be noise: say the one thing that is wrong
        verdict.problems = vec![format!(
            "expected the binding to map endpoint {:?}, found it unmapped (ClientError::unbound): add a match arm for it",
            case.subject_id
        )];
    }
    if let Some(s) = sender {
        verdict.problems.extend(signatures(s, credentials.webhook_secret.as_deref().unwrap_or_default(), &timeline));
    }
    let passed = verdict.problems.is_empty();
    let headers: Vec<&str> = prepared.headers.iter().map(String::as_str).collect();
    let message = if passed {
        String::new()
    } else {
        let mut observed = String::from("\nclient returned:\n");
        for (i, r) in returned.iter().enumerate() {
            observed.push_str(&format!("  call {}: {}\n", i + 1, r.describe()));
        }
        observed.push_str("\nrequest timeline (as the mock provider saw it):\n");
        observed.push_str(&timeline.render(&headers));
        failure_text(case, &spec, &prepared.expected, &verdict, &observed, &format!("endpoint {}", endpoint.label()))
    };
    let trace = trace(&timeline, case.kind, endpoint, &policy, &returned, &headers);
    CaseResult {
        case: case.clone(),
        outcome: Outcome {
            passed,
            expected: prepared.expected,
            actual: redact::redact(&verdict.actual),
            // redacted now, while this trial's secrets are still registered
            problems: verdict.problems.iter().map(|p| redact::redact(p)).collect(),
            evidence: redact::redact(&verdict.evidence),
        },
        message,
        seconds: 0.0,
        mandated_wait: timeline.mandated().unwrap_or_else(|| case.mandated_wait(&spec)),
        lag: Duration::ZERO,
        runs: 1,
        flaky: None,
        trace,
    }
}

/// What the mock provider saw of a case, for the reports' pictures: its requests on the
/// server's clock, the least wait before each retry the case mandates, the attempt budget.
fn trace(timeline: &Timeline, kind: Kind, endpoint: &Endpoint, policy: &Policy, returned: &[Returned], headers: &[&str]) -> Trace {
    let attempts: Vec<Attempt> = timeline
        .arrivals()
        .into_iter()
        .map(|a| Attempt {
            call: a.call,
            token: a.target == Target::Token,
            at: a.at,
            answered: a.answered,
            hung_up: a.hung_up_after.map(|h| a.at + h),
            reply: redact::redact(&a.reply),
        })
        .collect();
    let calls = attempts.iter().map(|a| a.call + 1).max().unwrap_or(0);
    let retries = (0..calls).map(|c| attempts.iter().filter(|a| a.call == c && !a.token).count().saturating_sub(1)).max().unwrap_or(0);
    let waits: Vec<(Duration, &str)> = (0..retries as u32).map_while(|k| kind.least_wait(k, endpoint, policy)).collect();
    Trace {
        attempts,
        wait_rule: waits.first().map(|(_, rule)| rule.to_string()).unwrap_or_default(),
        waits: waits.into_iter().map(|(d, _)| d).collect(),
        budget: policy.budget,
        returned: returned.iter().map(|r| redact::redact(&r.describe())).collect(),
        text: timeline.render(headers),
    }
}

/// The failure text: expectation, findings, what was observed, where the spec says it,
/// how to run the case alone.
fn failure_text(case: &Case, spec: &Spec, expected: &str, verdict: &Verdict, observed: &str, label: &str) -> String {
    let mut m = format!("expected: {expected}\nfound:    {}\n\nproblems:\n", verdict.actual.replace('\n', "\n          "));
    for p in &verdict.problems {
        m.push_str(&format!("  - {}\n", p.replace('\n', "\n    ")));
    }
    m.push_str(observed);
    if !verdict.evidence.is_empty() {
        m.push_str(&format!("\n{}\n", verdict.evidence));
    }
    m.push_str(&format!("\nspec:      {} ({label})\n", spec.locate(&case.subject.path())));
    m.push_str(&format!("reproduce: {}\n", reproduce(&case.name())));
    redact::redact(&m)
}

/// Run one receiver case: start the project's handler with a fresh secret and clock, play
/// the provider against it, judge its answers and the events it reports processed.
async fn run_receiver(case: &Case, spec: Arc<Spec>, binding: &Binding) -> CaseResult {
    let Some(r) = spec.webhooks.receiver.clone() else {
        return failed(case, String::new(), "the spec declares no webhooks.receiver".into());
    };
    let expected = receiver::expected(case.kind, &r);
    let label = case.subject.label(&spec);
    // a failure before any delivery: still located and reproducible
    let unable = |problem: String| {
        let problem = redact::redact(&problem);
        let verdict = Verdict { actual: problem.clone(), problems: vec![problem], evidence: String::new() };
        let message = failure_text(case, &spec, &expected, &verdict, "", &label);
        CaseResult { message, ..failed(case, expected.clone(), verdict.actual) }
    };
    let secrets = Arc::new(redact::Registration::default());
    let secret = mint_webhook_secret(r.scheme, &secrets);
    let policy = Policy::of(&spec, case.subject);
    let timeout = Duration::from_secs_f64(r.response_timeout_ms as f64 * policy.time_scale / 1000.0);
    let processing_delay = if case.kind == Kind::WebhookSlowProcessing { timeout * 2 } else { Duration::ZERO };
    let clock = Clock::default();
    let ctx = ReceiverContext { secret: secret.clone(), clock: clock.clone(), processing_delay, receiver: r.clone(), spec: spec.clone() };
    let Some(start) = binding.start_receiver(ctx) else {
        return unable(format!(
            "expected a webhook handler bound for {:?} (Binding::with_receiver), found none: bind the handler that serves {}",
            case.service, r.path
        ));
    };
    let handler = match tokio::time::timeout(Duration::from_secs(10), tokio::spawn(start)).await {
        Ok(Ok(Ok(h))) => h,
        Ok(Ok(Err(e))) => return unable(format!("the webhook handler did not start: {e}")),
        Ok(Err(e)) if e.is_panic() => {
            return unable(format!("the webhook handler factory panicked: {}", redact::panic_message(&*e.into_panic())));
        }
        Ok(Err(e)) => return unable(format!("the webhook handler factory failed: {e}")),
        Err(_) => return unable("the webhook handler had not started after 10 s".into()),
    };
    let settle = processing_delay + Duration::from_secs(2);
    let mut session = receiver::Session::new(&r, &handler, &clock, &secret, settle, timeout);
    let mut verdict = receiver::judge(case.kind, &mut session, timeout).await;
    if let Some(p) = session.counter_panic() {
        verdict.problems.push(format!("expected the binding's processed counter to answer, found it panicked: {p}"));
    }
    let log = session.log();
    drop(session);
    // the handler's kept guards run their own code when dropped
    if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(handler))) {
        verdict
            .problems
            .push(format!("expected the handler to stop cleanly, found its guard panicked when dropped: {}", redact::panic_message(&*p)));
    }
    let passed = verdict.problems.is_empty();
    let message = if passed {
        String::new()
    } else {
        let observed = format!("\ndeliveries (as the harness, playing the provider, sent them):\n{log}");
        failure_text(case, &spec, &expected, &verdict, &observed, &label)
    };
    CaseResult {
        case: case.clone(),
        outcome: Outcome {
            passed,
            expected,
            actual: redact::redact(&verdict.actual),
            problems: verdict.problems.iter().map(|p| redact::redact(p)).collect(),
            evidence: String::new(),
        },
        message,
        seconds: 0.0,
        // the handler's cases are about its answers: nothing makes it wait
        mandated_wait: Duration::ZERO,
        lag: Duration::ZERO,
        runs: 1,
        flaky: None,
        trace: Trace::default(),
    }
}

/// A trial that could not run, with why.
fn failed(case: &Case, expected: String, problem: String) -> CaseResult {
    let problem = redact::redact(&problem);
    CaseResult {
        case: case.clone(),
        outcome: Outcome { passed: false, expected, actual: problem.clone(), problems: vec![problem.clone()], evidence: String::new() },
        message: problem,
        seconds: 0.0,
        mandated_wait: Duration::ZERO,
        lag: Duration::ZERO,
        runs: 1,
        flaky: None,
        trace: Trace::default(),
    }
}
