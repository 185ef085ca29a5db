//! One trial: start the mock provider for a case, build the client from a fresh
//! context, make the scenario's calls, and judge what the server saw and what came back.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::binding::{Binding, Call, Context, Credentials, ErrorKind};
use crate::redact;
use crate::scenario::{self, Case, Observed, Outcome, Policy, Returned, Setup};
use crate::server::{MockProvider, refusing_origin};
use crate::spec::{Auth, Spec};
use crate::timeline::Timeline;

/// The result of one trial: the judgement and the message a person reads on failure.
#[derive(Debug, Clone)]
pub struct TrialResult {
    /// The case that ran.
    pub case: Case,
    /// The judgement.
    pub outcome: Outcome,
    /// Failure text (empty on success), secrets redacted.
    pub message: String,
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

/// Environment variables, besides `OC_TIME_SCALE`, that change what a run does and so
/// belong in a reproduce line (set by `Harness::reproduce_env`).
static REPRODUCE_ENV: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Name the environment variables a reproduce line must carry when they are set.
pub fn set_reproduce_env(names: &[String]) {
    *REPRODUCE_ENV.write().unwrap_or_else(|p| p.into_inner()) = names.to_vec();
}

/// `value` as one shell word.
fn shell_word(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "_-.,:/=+@%".contains(c)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// The command that re-runs one trial alone, with the environment that shaped this run.
pub fn reproduce(name: &str) -> String {
    let target = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            Some((t, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => t.to_string(),
            _ => s,
        })
        .unwrap_or_else(|| "integrations".into());
    let names = REPRODUCE_ENV.read().unwrap_or_else(|p| p.into_inner()).clone();
    let env: String = std::iter::once("OC_TIME_SCALE".to_string())
        .chain(names)
        .filter_map(|n| std::env::var(&n).ok().map(|v| format!("{n}={} ", shell_word(&v))))
        .collect();
    format!("{env}cargo test --test {target} -- {name} --exact")
}

/// Run one case against a bound client.
pub async fn run(case: &Case, spec: Arc<Spec>, binding: &Binding) -> TrialResult {
    let endpoint = &spec.endpoints[case.endpoint];
    let timeline = Timeline::default();
    let policy = Policy::of(&spec);
    let secrets = Arc::new(redact::Registration::default());
    let credentials = mint(&spec.overview.auth, &secrets);
    let token_url = match &spec.overview.auth {
        Auth::Oauth2 { token_url, .. } => Some(token_url.clone()),
        _ => None,
    };
    let setup = Setup {
        spec: &spec,
        endpoint,
        policy: policy.clone(),
        timeline: &timeline,
        token_path: token_url.as_deref().map(crate::spec::url_path),
        credentials: credentials.clone(),
        secrets: secrets.clone(),
    };
    let prepared = scenario::prepare(case.kind, &setup);
    let fail = |expected: &str, problem: String| TrialResult {
        case: case.clone(),
        outcome: Outcome {
            passed: false,
            expected: expected.to_string(),
            actual: problem.clone(),
            problems: vec![problem.clone()],
            evidence: String::new(),
        },
        message: redact::redact(&problem),
    };
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
    let ctx = Context {
        base_url: format!("{origin}{}", crate::spec::url_path(&spec.overview.base_url)),
        token_url: setup.token_path.as_ref().map(|p| format!("{origin}{p}")),
        credentials,
        timeout: policy.budget,
        retry: policy.retry.clone(),
        time_scale: policy.time_scale,
        spec: spec.clone(),
    };
    let instance = match std::panic::catch_unwind(AssertUnwindSafe(|| binding.instantiate(&ctx))) {
        Ok(i) => i,
        Err(p) => return fail(&prepared.expected, format!("the client factory panicked: {}", redact::panic_message(&*p))),
    };
    let input = endpoint.request.example.clone().unwrap_or(Value::Object(Default::default()));
    let patience = policy.patience();
    let mut returned = Vec::with_capacity(prepared.calls);
    for i in 0..prepared.calls {
        if let Some(hook) = &prepared.before_call {
            hook(i);
        }
        timeline.begin_call(i);
        let panic_at: Arc<Mutex<Option<String>>> = Arc::default();
        let mut task = tokio::spawn(PANIC_AT.scope(panic_at.clone(), instance(Call::new(case.endpoint_id.clone(), input.clone()))));
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
            _ = timeline.violation() => Returned::Stopped,
        };
        task.abort();
        returned.push(r);
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
    let mut verdict = (prepared.judge)(&Observed { returned: &returned, timeline: &timeline });
    if returned.iter().any(|r| matches!(r, Returned::Value(Err(e)) if e.kind == ErrorKind::Unbound)) {
        // the judge's findings would only be noise: say the one thing that is wrong
        verdict.problems = vec![format!(
            "expected the binding to map endpoint {:?}, found it unmapped (ClientError::unbound): add a match arm for it",
            case.endpoint_id
        )];
    }
    let passed = verdict.problems.is_empty();
    let headers: Vec<&str> = prepared.headers.iter().map(String::as_str).collect();
    let message = if passed {
        String::new()
    } else {
        let mut m = format!("expected: {}\nfound:    {}\n\nproblems:\n", prepared.expected, verdict.actual);
        for p in &verdict.problems {
            m.push_str(&format!("  - {}\n", p.replace('\n', "\n    ")));
        }
        m.push_str("\nclient returned:\n");
        for (i, r) in returned.iter().enumerate() {
            m.push_str(&format!("  call {}: {}\n", i + 1, r.describe()));
        }
        m.push_str("\nrequest timeline (as the mock provider saw it):\n");
        m.push_str(&timeline.render(&headers));
        if !verdict.evidence.is_empty() {
            m.push_str(&format!("\n{}\n", verdict.evidence));
        }
        m.push_str(&format!("\nspec:      {} (endpoint {})\n", spec.locate(&format!("endpoints[{}]", case.endpoint)), endpoint.label()));
        m.push_str(&format!("reproduce: {}\n", reproduce(&case.name())));
        redact::redact(&m)
    };
    TrialResult {
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
    }
}
