//! Sandbox trials: the project's own client against the provider's sandbox, next to the
//! mock trials (`<service>::sandbox::connectivity`, `::auth`, `::<endpoint>`,
//! `::idempotency::<endpoint>`, `::rate_limit`, and for OAuth 2.0 `::token_refresh`), in
//! the seed's order.
//!
//! Credentials come from the environment variables of the `secrets` rows the spec's
//! `sandbox.credentials` names. Without them (or with the sandbox unreachable) a trial is
//! ignored with the reason, or fails when `OC_REQUIRE_SANDBOX=1`; `OC_SANDBOX=0` leaves them
//! all out, ignored, saying so (a round of `oc-integrate test` without `--sandbox`). Every request goes
//! through an [`Upstream`] that sends only to the sandbox's hosts and at most at the
//! declared rate; the client reaches it through the recording [`Proxy`]. For OAuth 2.0 the
//! harness obtains the token at the sandbox's token endpoint once per process (a `Session`
//! the trials share, since a rotating refresh token is spent by its first use), and the
//! client's token URL is a second proxy in front of that endpoint.
//!
//! Drift trials (`<service>::drift::<endpoint>`) call each endpoint the same way and
//! compare the answer's shape with its baseline ([`crate::drift`]); they run only when
//! `OC_DRIFT=1` (a nightly job), and `OC_DRIFT_ACCEPT=1` records the answers as baselines.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::live::{Credential, Oauth, live, reachable};
use super::proxy::{By, Exchange, OAuthClient, Proxy, Upstream};
use super::throttle::Throttle;
use crate::binding::{Binding, Call, Context, Credentials};
use crate::case::{Check, DRIFT_ENV, REQUIRE_ENV, SANDBOX_ENV, SandboxCase, Subject};
use crate::drift::json_type;
use crate::results::SandboxResult;
use crate::scenario::{Policy, Returned};
use crate::spec::{Auth, Endpoint, Sandbox, Spec, references};
use crate::text::clip;
use crate::{redact, trial};

/// The environment variable that makes the drift trials record the live shapes as baselines.
pub const ACCEPT_ENV: &str = "OC_DRIFT_ACCEPT";

/// The sandbox trials `spec` makes: none without a `sandbox` section.
pub fn plan(spec: &Spec) -> Vec<SandboxCase> {
    if spec.sandbox.is_none() {
        return Vec::new();
    }
    let case = |check, id: &str| SandboxCase { service: spec.id.clone(), check, subject_id: id.to_string() };
    let mut out = vec![case(Check::Connectivity, ""), case(Check::Auth, "")];
    out.extend(spec.endpoints.iter().enumerate().map(|(i, e)| case(Check::Endpoint(i), &e.id)));
    out.extend(
        spec.endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.idempotency_header.is_some() && !e.method.is_idempotent())
            .map(|(i, e)| case(Check::Idempotency(i), &e.id)),
    );
    if spec.overview.rate_limit.is_some() {
        out.push(case(Check::RateLimit, ""));
    }
    let drifts = |e: &Endpoint| spec.sandbox.as_ref().and_then(|s| s.endpoints.get(&e.id)).is_none_or(|x| x.drift);
    out.extend(spec.endpoints.iter().enumerate().filter(|(_, e)| drifts(e)).map(|(i, e)| case(Check::Drift(i), &e.id)));
    // last: it revokes the shared token, and a flawed client may spend the whole grant
    if let Some(s) = &spec.sandbox
        && s.credentials.refresh_token.is_some()
        && s.revocation_path.is_some()
    {
        out.push(case(Check::TokenRefresh, ""));
    }
    out
}

impl SandboxResult {
    fn new(case: &SandboxCase, expected: impl Into<String>) -> SandboxResult {
        SandboxResult {
            case: case.clone(),
            ignored: None,
            passed: false,
            expected: expected.into(),
            actual: String::new(),
            problems: Vec::new(),
            latencies: Vec::new(),
            shape: None,
            drift: None,
            message: String::new(),
            recording: None,
            seconds: 0.0,
        }
    }

    /// The result of a trial that could not run: ignored with `reason`, or (`fail`) failed with it.
    fn unready(case: &SandboxCase, reason: &str, fail: bool) -> SandboxResult {
        let mut r = SandboxResult::new(case, "a configured, reachable sandbox");
        let reason = redact::redact(reason);
        if fail {
            r.problems = vec![reason.clone()];
            r.actual = reason.clone();
            r.message = reason;
        } else {
            r.actual = format!("not run — {reason}");
            r.ignored = Some(reason);
        }
        r
    }

    /// Missing credentials or sandbox: ignored, or failed under `OC_REQUIRE_SANDBOX=1`.
    fn missing(case: &SandboxCase, reason: &str, require: bool) -> SandboxResult {
        if require {
            SandboxResult::unready(case, &format!("{REQUIRE_ENV}=1 requires the sandbox trials to run: {reason}"), true)
        } else {
            SandboxResult::unready(case, reason, false)
        }
    }
}

/// The OAuth 2.0 tokens a service's sandbox trials share within the process. A rotating
/// refresh token is spent by its first use, so one grant serves every trial, each trial
/// holds the lock while its client runs, and adopts the tokens its client obtained.
#[derive(Clone)]
struct Session {
    access: String,
    refresh: Option<String>,
    /// How the session began, for the auth trial: the grant, the answer's status, the
    /// announced expiry, whether the refresh token was rotated (refresh grants only).
    grant: &'static str,
    expires_in: Option<u64>,
    rotated: Option<bool>,
}

/// The access token and (when one came) the refresh token a successful token answer issued.
fn issued(x: &Exchange) -> Option<(String, Option<String>)> {
    let body = x.json().filter(|_| x.status == Some(200))?;
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    Some((field("access_token")?, field("refresh_token")))
}

/// How a session spent by a failed token-refresh trial explains itself; the trials after it
/// are ignored with that reason rather than failed, so the failure is reported once.
const SPENT: &str = "the shared OAuth token was spent by ";

/// A session not begun yet (`None`), begun, or refused or spent (why).
type Slot = Option<Result<Session, String>>;
type Guard = tokio::sync::OwnedMutexGuard<Slot>;

fn slot(key: String) -> Arc<tokio::sync::Mutex<Slot>> {
    type All = Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<Slot>>>>;
    static ALL: LazyLock<All> = LazyLock::new(Default::default);
    ALL.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default().clone()
}

/// The session's tokens (none for API-key auth), or why there are none.
fn tokens(guard: &Option<Guard>) -> Result<Option<Session>, String> {
    match guard.as_deref() {
        Some(Some(Err(why))) => Err(why.clone()),
        Some(Some(Ok(s))) => Ok(Some(s.clone())),
        _ => Ok(None),
    }
}

/// Everything a check needs while it runs.
struct Run<'a> {
    spec: &'a Spec,
    sandbox: &'a Sandbox,
    up: Arc<Upstream>,
    credential: Credential,
    binding: &'a Binding,
}

impl Run<'_> {
    /// The credential header as the spec's auth declares it (`access`: the OAuth 2.0 token).
    fn credential(&self, access: Option<&str>) -> Vec<(String, String)> {
        match (&self.spec.overview.auth, &self.credential, access) {
            (Auth::ApiKey { header, prefix }, Credential::ApiKey(key), _) => vec![(header.clone(), format!("{prefix}{key}"))],
            (Auth::Oauth2 { .. }, _, Some(token)) => vec![("Authorization".into(), format!("Bearer {token}"))],
            _ => Vec::new(),
        }
    }

    /// The OAuth 2.0 session (begun with a grant on first use), locked until the guard drops;
    /// `None` for API-key auth.
    async fn session(&self) -> Option<Guard> {
        let Credential::Oauth(o) = &self.credential else { return None };
        let key = format!("{}\n{}\n{}\n{}", self.spec.id, o.token_url, o.client.id, o.refresh_token.as_deref().unwrap_or_default());
        let mut guard = slot(key).lock_owned().await;
        if guard.is_none() {
            *guard = Some(self.grant(o).await);
        }
        Some(guard)
    }

    /// A `refresh_token` grant with the configured refresh token, else `client_credentials`.
    async fn grant(&self, o: &Oauth) -> Result<Session, String> {
        let (grant, x) = match &o.refresh_token {
            Some(r) => {
                ("refresh_token", self.token_call(o, o.token_url.as_str(), &[("grant_type", "refresh_token"), ("refresh_token", r)]).await)
            }
            None => ("client_credentials", self.token_call(o, o.token_url.as_str(), &[("grant_type", "client_credentials")]).await),
        };
        let body = x.json().unwrap_or(Value::Null);
        match issued(&x) {
            Some((access, refresh)) => {
                let rotated = o.refresh_token.as_ref().map(|old| refresh.as_ref().is_some_and(|new| new != old));
                Ok(Session {
                    access,
                    refresh: refresh.or(o.refresh_token.clone()),
                    grant,
                    expires_in: body.get("expires_in").and_then(Value::as_u64),
                    rotated,
                })
            }
            None => {
                let spent = match body.get("error").and_then(Value::as_str) {
                    Some("invalid_grant") if grant == "refresh_token" => format!(
                        " (a rotating refresh token is spent by its first use: was {} used by an earlier run, or by another process of this one? \
                         set a fresh one; the trials share it within one process, so run them with `cargo test`, not a process per trial)",
                        o.refresh_env
                    ),
                    Some("invalid_client") => format!(" (the client was not accepted: check the client id and {})", o.secret_env),
                    _ => String::new(),
                };
                Err(format!(
                    "expected an access token from the {grant} grant at {}, found {}: {}{spent}",
                    o.token_url,
                    x.describe(),
                    clip(&String::from_utf8_lossy(&x.body))
                ))
            }
        }
    }

    /// A form POST to the token endpoint family, authenticated as the client.
    async fn token_call(&self, o: &Oauth, url: &str, pairs: &[(&str, &str)]) -> Exchange {
        let (headers, body) = o.client.form(pairs);
        self.up.send(By::Harness, "POST", url, headers, body).await
    }

    /// Make the tokens the client obtained (its last successful token answer in `made`) the session's.
    fn adopt(&self, guard: &mut Option<Guard>, made: &[Exchange]) {
        let (Credential::Oauth(o), Some(guard)) = (&self.credential, guard.as_mut()) else { return };
        let Some(Ok(session)) = &mut **guard else { return };
        if let Some((access, refresh)) = made.iter().rev().filter(|x| x.url == o.token_url.as_str()).find_map(issued) {
            session.access = access;
            session.refresh = refresh.or(session.refresh.take());
        }
    }

    /// A request of the harness's own to `path` under the base URL.
    async fn harness(&self, method: &str, path: &str, credential: &[(String, String)], body: Option<&Value>) -> Exchange {
        let mut headers = credential.to_vec();
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.up.send(By::Harness, method, &self.up.url(path), headers, bytes).await
    }

    /// `endpoint`'s input: its request example, after its setup requests (sent with
    /// `credential`) with their answers filled into its params.
    async fn input(&self, endpoint: &Endpoint, credential: &[(String, String)]) -> Result<Value, String> {
        let wanted = self.sandbox.endpoints.get(&endpoint.id).cloned().unwrap_or_default();
        let mut answers: BTreeMap<String, Value> = BTreeMap::new();
        for step in &wanted.setup {
            let path = fill(&Value::String(step.path.clone()), &answers);
            let path = path.as_str().unwrap_or_default().to_string();
            let body = step.body.as_ref().map(|b| fill(b, &answers));
            let x = self.harness(step.method.as_str(), &path, credential, body.as_ref()).await;
            match (x.status, x.json()) {
                (Some(200..=299), Some(v)) => {
                    answers.insert(step.name.clone(), v);
                }
                _ => {
                    return Err(format!(
                        "setup request {:?} ({} {path}) did not succeed: {}, body {}",
                        step.name,
                        step.method,
                        x.describe(),
                        clip(&String::from_utf8_lossy(&x.body))
                    ));
                }
            }
        }
        let mut input = endpoint.request.example.clone().unwrap_or(Value::Object(Default::default()));
        if !wanted.params.is_empty()
            && let Some(obj) = input.as_object_mut()
        {
            let params = obj.entry("params").or_insert(Value::Object(Default::default()));
            for (k, v) in &wanted.params {
                if let Some(p) = params.as_object_mut() {
                    p.insert(k.clone(), fill(v, &answers));
                }
            }
        }
        Ok(input)
    }

    /// The project's client for endpoint `i`, built from a Context whose base URL (and, for
    /// OAuth 2.0, token URL) are recording proxies in front of the sandbox; `session` gives
    /// its tokens. The proxies live as long as the returned handles.
    async fn client(&self, i: usize, session: Option<&Session>) -> Result<(crate::binding::Instance, Vec<Proxy>), String> {
        let start = |e: std::io::Error| format!("harness could not start the recording proxy: {e}");
        let added = self.sandbox.endpoints.get(&self.spec.endpoints[i].id).map(|x| x.headers.clone()).unwrap_or_default();
        let proxy = Proxy::start_adding(self.up.clone(), added.into_iter().collect()).await.map_err(start)?;
        // a real sandbox gets the client's declared policy, not the mock suite's scaled one
        let policy = Policy::scaled(self.spec, Subject::Endpoint(i), 1.0);
        let mut ctx = Context {
            base_url: format!("{}{}", proxy.origin(), crate::spec::url_path(self.up.base().as_str())),
            token_url: None,
            webhook_url: None,
            proxy_url: Some(proxy.origin().to_string()),
            credentials: Credentials::default(),
            timeout: policy.budget,
            retry: policy.retry.clone(),
            time_scale: policy.time_scale,
            spec: Arc::new(self.spec.clone()),
        };
        let mut proxies = vec![proxy];
        match &self.credential {
            Credential::ApiKey(key) => ctx.credentials.api_key = Some(key.clone()),
            Credential::Oauth(o) => {
                let tokens = Proxy::start_for(self.up.clone(), &o.token_url).await.map_err(start)?;
                ctx.token_url = Some(format!("{}{}", tokens.origin(), o.token_url.path()));
                proxies.push(tokens);
                ctx.credentials = Credentials {
                    client_id: Some(o.client.id.clone()),
                    client_secret: Some(o.client.secret.clone()),
                    access_token: session.map(|s| s.access.clone()),
                    refresh_token: session.and_then(|s| s.refresh.clone()),
                    ..Default::default()
                };
            }
        }
        let instance = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.binding.instantiate(&ctx)))
            .map_err(|p| format!("the client factory panicked: {}", redact::panic_message(&*p)))?;
        Ok((instance, proxies))
    }

    /// Call endpoint `i` through the client once; what it returned and the exchanges it made
    /// (its token requests included), or why it could not run.
    async fn call(&self, i: usize, endpoint: &Endpoint) -> Result<(Returned, Vec<Exchange>), String> {
        let mut guard = self.session().await;
        let session = tokens(&guard)?;
        let input = self.input(endpoint, &self.credential(session.as_ref().map(|s| s.access.as_str()))).await?;
        let (instance, _proxies) = self.client(i, session.as_ref()).await?;
        let (returned, made) = self.call_once(&instance, i, endpoint, input).await;
        self.adopt(&mut guard, &made);
        Ok((returned, made))
    }

    /// One call of an existing client; what it returned and the client's exchanges.
    async fn call_once(&self, instance: &crate::binding::Instance, i: usize, e: &Endpoint, input: Value) -> (Returned, Vec<Exchange>) {
        let before = self.up.exchanges().len();
        let patience = Policy::scaled(self.spec, Subject::Endpoint(i), 1.0).patience();
        let returned = trial::call_client(instance, Call::new(e.id.clone(), input), patience, std::future::pending()).await;
        let made: Vec<Exchange> = self.up.exchanges().into_iter().skip(before).filter(|x| x.by == By::Client).collect();
        (returned, made)
    }
}

/// `v` with every `${name.field}` replaced from `answers` (a whole-string reference keeps the value's type).
fn fill(v: &Value, answers: &BTreeMap<String, Value>) -> Value {
    let lookup = |name: &str, pointer: &str| answers.get(name).and_then(|a| a.pointer(pointer)).cloned();
    match v {
        Value::String(s) => {
            let refs = references(s);
            if let [(name, pointer)] = refs.as_slice()
                && s.starts_with("${")
                && s.ends_with('}')
                && s.matches("${").count() == 1
            {
                return lookup(name, pointer).unwrap_or(Value::Null);
            }
            let mut out = s.clone();
            for (name, pointer) in refs {
                let field = pointer.trim_start_matches('/').replace('/', ".");
                let key = if field.is_empty() { format!("${{{name}}}") } else { format!("${{{name}.{field}}}") };
                let text = match lookup(&name, &pointer) {
                    Some(Value::String(t)) => t,
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                out = out.replace(&key, &text);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, answers)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), fill(x, answers))).collect()),
        other => other.clone(),
    }
}

/// Where `body` breaks `schema`: one line per error naming the JSON path, what the
/// schema expects there and what was found.
///
/// ```
/// use serde_json::json;
/// let schema = json!({"type": "object", "required": ["id"], "properties": {"created": {"type": "integer"}}});
/// let errors = oc_integrate::sandbox::shape_errors(&schema, &json!({"created": "yesterday"}));
/// assert_eq!(errors, [
///     "/created: expected type integer, found string \"yesterday\"",
///     "(root): expected required property \"id\", found an object without it",
/// ]);
/// ```
pub fn shape_errors(schema: &Value, body: &Value) -> Vec<String> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => return vec![format!("the response schema: expected a valid JSON Schema, found an error: {e}")],
    };
    let mut out: Vec<String> = validator
        .iter_errors(body)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() { "(root)".to_string() } else { path };
            let found = e.instance();
            let found_text = format!("{} {}", json_type(found), clip(&found.to_string()));
            match e.kind() {
                jsonschema::error::ValidationErrorKind::Type { kind } => {
                    let want = match kind {
                        jsonschema::error::TypeKind::Single(t) => t.to_string(),
                        jsonschema::error::TypeKind::Multiple(ts) => ts.into_iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
                    };
                    format!("{path}: expected type {want}, found {found_text}")
                }
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    format!("{path}: expected required property {property}, found an object without it")
                }
                _ => format!("{path}: expected what {} demands, found {found_text} ({e})", e.schema_path()),
            }
        })
        .collect();
    // deterministic order: deepest paths first, as a reader fixes leaves before parents
    out.sort_by(|a, b| b.split(':').next().cmp(&a.split(':').next()));
    out
}

/// Run one sandbox trial.
pub async fn run(case: &SandboxCase, spec: Arc<Spec>, binding: &Binding) -> SandboxResult {
    let started = std::time::Instant::now();
    let mut r = run_check(case, spec, binding).await;
    r.seconds = started.elapsed().as_secs_f64();
    r
}

async fn run_check(case: &SandboxCase, spec: Arc<Spec>, binding: &Binding) -> SandboxResult {
    let require = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
    let on = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
    if std::env::var(SANDBOX_ENV).is_ok_and(|v| v == "0") {
        let why = format!("the sandbox trials are off for this run ({SANDBOX_ENV}=0: `oc-integrate test --sandbox` runs them)");
        return SandboxResult::unready(case, &why, false);
    }
    if matches!(case.check, Check::Drift(_)) && !on(DRIFT_ENV) {
        return SandboxResult::unready(case, &format!("drift checks run when {DRIFT_ENV}=1 (nightly)"), false);
    }
    let Some(sandbox) = spec.sandbox.as_ref() else {
        return SandboxResult::unready(case, "the spec declares no sandbox", true);
    };
    let live = match live(&spec, sandbox) {
        Ok(l) => l,
        Err(u) if u.fatal => return SandboxResult::unready(case, &u.reason, true),
        Err(u) => return SandboxResult::missing(case, &u.reason, require),
    };
    let secrets = redact::Registration::default();
    match &live.credential {
        Credential::ApiKey(key) => secrets.add(key),
        Credential::Oauth(o) => {
            secrets.add(&o.client.secret);
            if let Some(r) = &o.refresh_token {
                secrets.add(r);
            }
        }
    }
    let within = Duration::from_secs(3);
    if let Err(why) = reachable(&live.base, within).await {
        return SandboxResult::missing(case, &format!("the sandbox at {} is unreachable ({why})", live.base), require);
    }
    if let Credential::Oauth(o) = &live.credential
        && let Err(why) = reachable(&o.token_url, within).await
    {
        return SandboxResult::missing(
            case,
            &format!("the sandbox's authorization server at {} is unreachable ({why})", o.token_url),
            require,
        );
    }
    let timeout = Duration::from_millis(spec.timeouts.request_ms.max(1000));
    let mut up = Upstream::new(live.base.clone(), live.hosts.clone(), Throttle::of(&spec.id, spec.overview.rate_limit), timeout);
    if let (Credential::Oauth(o), Some(path)) = (&live.credential, &sandbox.token_gate) {
        up = up.with_gate(o.url(path), o.client.clone());
    }
    let up = Arc::new(up);
    let run = Run { spec: &spec, sandbox, up: up.clone(), credential: live.credential.clone(), binding };
    if let Some(guard) = run.session().await
        && let Some(Err(why)) = guard.as_ref()
        && why.starts_with(SPENT)
    {
        return SandboxResult::unready(case, why, false);
    }
    let mut r = match case.check {
        Check::Connectivity => connectivity(case, &run).await,
        Check::Auth => auth(case, &run).await,
        Check::TokenRefresh => token_refresh(case, &run).await,
        Check::Endpoint(i) => endpoint(case, &run, i).await,
        Check::Idempotency(i) => idempotency(case, &run, i).await,
        Check::RateLimit => rate_limit(case, &run).await,
        Check::Drift(i) => drift(case, &run, i, on(ACCEPT_ENV)).await,
    };
    // the token was spent while this trial waited for it: reported by the trial that spent it
    if let Some(why) = r.problems.iter().find(|p| p.starts_with(SPENT)) {
        return SandboxResult::unready(case, why, false);
    }
    let exchanges = up.exchanges();
    r.latencies = exchanges.iter().filter(|x| x.status.is_some() && x.gated.is_none()).map(|x| x.latency).collect();
    r.problems = r.problems.iter().map(|p| redact::redact(p)).collect();
    r.actual = redact::redact(&r.actual);
    r.passed = r.problems.is_empty();
    r.recording = write_recording(case, &exchanges);
    if !r.passed {
        let mut m = format!("expected: {}\nfound:    {}\n\nproblems:\n", r.expected, r.actual);
        for p in &r.problems {
            m.push_str(&format!("  - {}\n", p.replace('\n', "\n    ")));
        }
        m.push_str("\nrequests (as the recording proxy saw them):\n");
        for x in &exchanges {
            m.push_str(&format!("  {}\n", x.describe()));
        }
        if let Some(log) = &r.recording {
            m.push_str(&format!("recording: {}\n", log.display()));
        }
        m.push_str(&format!("\nspec:      {}\n", spec.locate(&case.path())));
        m.push_str(&format!("reproduce: {}\n", r.reproduce()));
        r.message = redact::redact(&m);
    }
    r
}

/// Write the trial's exchanges, redacted, to `<target>/oc-integrate/recordings/<trial>.json`.
fn write_recording(case: &SandboxCase, exchanges: &[Exchange]) -> Option<PathBuf> {
    let dir = crate::file::target_dir().join("oc-integrate/recordings");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{}.json", case.name().replace("::", ".")));
    let entries: Vec<Value> = exchanges.iter().map(Exchange::record).collect();
    let text = serde_json::to_string_pretty(&entries).ok()?;
    crate::file::write_atomic(&path, &redact::redact(&text)).ok()?;
    Some(path)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn connectivity(case: &SandboxCase, run: &Run<'_>) -> SandboxResult {
    let mut r = SandboxResult::new(case, format!("an HTTP answer from {}", run.up.base()));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let x = run.up.send(By::Probe, "GET", &run.up.url(""), Vec::new(), Vec::new()).await;
        match x.status {
            Some(s) => seen.push((s, x.latency)),
            None => {
                r.problems.push(format!("expected an HTTP answer, found {}", String::from_utf8_lossy(&x.body)));
                break;
            }
        }
    }
    let mut latencies: Vec<Duration> = seen.iter().map(|(_, l)| *l).collect();
    latencies.sort();
    r.actual = match latencies.get(latencies.len() / 2) {
        Some(p50) => format!("reachable: HTTP {} in {} (median of {})", seen[0].0, ms(*p50), latencies.len()),
        None => "unreachable".into(),
    };
    r
}

async fn auth(case: &SandboxCase, run: &Run<'_>) -> SandboxResult {
    let path = &run.sandbox.auth_check;
    let guard = run.session().await;
    let oauth = match &run.credential {
        Credential::Oauth(o) => Some(o),
        Credential::ApiKey(_) => None,
    };
    let what = if oauth.is_some() { "token" } else { "key" };
    let mut r = SandboxResult::new(case, format!("GET {path} with the {what} → 2xx, without it → 401/403"));
    let mut facts = Vec::new();
    if let Some(o) = oauth {
        let rotates = matches!(run.spec.overview.auth, Auth::Oauth2 { rotates_refresh_token: true, .. });
        let grant = if o.refresh_token.is_some() { "refresh_token" } else { "client_credentials" };
        r.expected = format!(
            "a token from the {grant} grant at the sandbox's token endpoint (expiry{} seen), a wrong client secret refused (400/401), {}",
            if rotates && o.refresh_token.is_some() { " and rotation" } else { "" },
            r.expected
        );
        match tokens(&guard) {
            Err(why) => r.problems.push(why),
            Ok(None) => {}
            Ok(Some(s)) => {
                facts.push(format!("token obtained ({} grant)", s.grant));
                facts.push(match s.expires_in {
                    Some(n) => format!("expires in {n} s"),
                    None => "no expires_in: the expiry is not announced".into(),
                });
                match s.rotated {
                    Some(true) => facts.push("refresh token rotated".into()),
                    Some(false) if rotates => r.problems.push(
                        "expected a new refresh token from the refresh grant (overview.auth.rotates_refresh_token: true), found none or the same one".into(),
                    ),
                    Some(false) => facts.push("refresh token not rotated".into()),
                    None => {}
                }
            }
        }
        let wrong = Oauth { client: OAuthClient { secret: "oc-integrate-not-the-client-secret".into(), ..o.client.clone() }, ..o.clone() };
        let refused = run.token_call(&wrong, o.token_url.as_str(), &[("grant_type", "client_credentials")]).await;
        match refused.status {
            Some(400 | 401) => facts.push(format!("a wrong client secret refused (HTTP {})", refused.status.unwrap_or_default())),
            _ => r.problems.push(format!(
                "expected a wrong client secret to be refused (400/401) at the token endpoint, found {}: {}",
                refused.describe(),
                clip(&String::from_utf8_lossy(&refused.body))
            )),
        }
    }
    let access = tokens(&guard).ok().flatten().map(|s| s.access);
    let with = run.harness("GET", path, &run.credential(access.as_deref()), None).await;
    let without = run.harness("GET", path, &[], None).await;
    if !matches!(with.status, Some(200..=299)) {
        r.problems.push(format!(
            "expected the {what} to be accepted (2xx) on GET {path}, found {}: {}",
            with.describe(),
            clip(&String::from_utf8_lossy(&with.body))
        ));
    }
    if matches!(without.status, Some(200..=299)) {
        r.problems.push(format!(
            "expected GET {path} without a credential to be refused (401/403), found {}: the sandbox cannot show a {what} is checked",
            without.describe()
        ));
    }
    if oauth.is_none() {
        facts.push("API keys do not expire".into());
    }
    r.actual = format!(
        "{what} {} (HTTP {}), no {what} → HTTP {}{}{}",
        if matches!(with.status, Some(200..=299)) { "accepted" } else { "not accepted" },
        with.status.map(|s| s.to_string()).unwrap_or("none".into()),
        without.status.map(|s| s.to_string()).unwrap_or("none".into()),
        if facts.is_empty() { "" } else { "; " },
        facts.join(", ")
    );
    r
}

/// Revoke the client's access token, call an endpoint through the same client: it must meet
/// the 401, refresh with the refresh token it was last given and retry. Twice when refresh
/// tokens rotate: a client that kept the spent one is refused (`invalid_grant`).
async fn token_refresh(case: &SandboxCase, run: &Run<'_>) -> SandboxResult {
    let rotates = matches!(run.spec.overview.auth, Auth::Oauth2 { rotates_refresh_token: true, .. });
    let rounds = if rotates { 2 } else { 1 };
    let i = run.spec.endpoints.iter().position(|e| e.method == crate::spec::Method::GET).unwrap_or(0);
    let e = &run.spec.endpoints[i];
    let mut r = SandboxResult::new(
        case,
        format!(
            "after each of {rounds} revocations of its access token: {} → 401, one refresh_token grant with the refresh token last issued, the call retried → HTTP {}",
            e.label(),
            e.response.status
        ),
    );
    let (Credential::Oauth(o), Some(revocation)) = (&run.credential, &run.sandbox.revocation_path) else {
        r.problems.push("expected OAuth 2.0 credentials and sandbox.revocation_path, found one of them missing".into());
        return r;
    };
    let mut guard = run.session().await;
    let session = match tokens(&guard) {
        Ok(Some(s)) => s,
        Ok(None) => {
            r.problems.push("expected an OAuth 2.0 token session, found none".into());
            return r;
        }
        Err(why) => {
            r.actual = "no token".into();
            r.problems.push(why);
            return r;
        }
    };
    let prepared = match run.input(e, &run.credential(Some(&session.access))).await {
        Ok(input) => run.client(i, Some(&session)).await.map(|c| (input, c)),
        Err(why) => Err(why),
    };
    let (input, (instance, _proxies)) = match prepared {
        Ok(x) => x,
        Err(why) => {
            r.actual = why.clone();
            r.problems.push(why);
            return r;
        }
    };
    let (mut access, mut refresh) = (session.access.clone(), session.refresh.clone());
    let mut rounds_seen = Vec::new();
    let mut all = Vec::new();
    for round in 1..=rounds {
        let revoked = run.token_call(o, &o.url(revocation), &[("token", &access), ("token_type_hint", "access_token")]).await;
        if revoked.status != Some(200) {
            r.problems.push(format!("expected the revocation endpoint to answer 200, found {}", revoked.describe()));
            break;
        }
        let (returned, made) = run.call_once(&instance, i, e, input.clone()).await;
        let (grants, api): (Vec<&Exchange>, Vec<&Exchange>) = made.iter().partition(|x| x.url == o.token_url.as_str());
        let round_problems = judge_refresh(e, o, &returned, &grants, &api, refresh.as_deref(), round);
        if let Some((new_access, new_refresh)) = grants.iter().rev().find_map(|x| issued(x)) {
            access = new_access;
            refresh = new_refresh.or(refresh);
        }
        rounds_seen.push(format!(
            "round {round}: {} then {} token request(s) then {}",
            api.first().map(|x| x.status.map(|s| s.to_string()).unwrap_or("no answer".into())).unwrap_or("no request".into()),
            grants.len(),
            api.last().filter(|_| api.len() > 1).and_then(|x| x.status).map(|s| s.to_string()).unwrap_or("no retry".into())
        ));
        all.extend(made);
        let failed = !round_problems.is_empty();
        r.problems.extend(round_problems);
        if failed {
            break;
        }
    }
    run.adopt(&mut guard, &all);
    if !r.problems.is_empty() {
        // the flawed client may have left the shared token revoked (or the grant spent):
        // refresh it for the trials still to run, or tell them why they cannot
        let restored = match tokens(&guard) {
            Ok(Some(Session { refresh: Some(refresh), .. })) => {
                let x = run.token_call(o, o.token_url.as_str(), &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
                issued(&x).map(|(access, new)| (access, new.unwrap_or(refresh)))
            }
            _ => None,
        };
        if let Some(slot) = guard.as_deref_mut() {
            match (restored, slot.as_mut()) {
                (Some((access, refresh)), Some(Ok(session))) => {
                    session.access = access;
                    session.refresh = Some(refresh);
                }
                _ => *slot = Some(Err(format!("{SPENT}{}, which failed: its client left the grant revoked (see that trial)", case.name()))),
            }
        }
    }
    r.actual = rounds_seen.join("; ");
    r
}

/// One round of the token-refresh trial: the revoked token refused, one refresh with the
/// refresh token last issued, the call retried and returned.
fn judge_refresh(
    e: &Endpoint,
    o: &Oauth,
    returned: &Returned,
    grants: &[&Exchange],
    api: &[&Exchange],
    refresh: Option<&str>,
    round: usize,
) -> Vec<String> {
    let mut problems = refusals(api.iter().chain(grants).copied());
    match api.first().and_then(|x| x.status) {
        Some(401) => {}
        Some(s) => {
            problems.push(format!(
                "expected the revoked access token to be refused with 401, found HTTP {s}: the sandbox API accepts revoked tokens, so a refresh cannot be shown (declare sandbox.token_gate for an API that does not check tokens)"
            ));
            return problems;
        }
        None => {
            problems.push(format!(
                "expected the client to call {} through the harness's proxy, found no request: {}",
                e.label(),
                returned.describe()
            ));
            return problems;
        }
    }
    if grants.is_empty() {
        let elsewhere = api.len() > 1 && api.last().and_then(|x| x.status).is_some_and(|s| (200..300).contains(&s));
        problems.push(if elsewhere {
            format!(
                "expected the client to refresh at Context::token_url() ({}), found no request there, yet its retry carried a new token: it refreshed at another URL",
                o.token_url.path()
            )
        } else {
            format!(
                "expected the client to refresh its token (grant_type=refresh_token at the token URL) after the 401, found no token request; the client returned {}",
                returned.describe()
            )
        });
        return problems;
    }
    if grants.len() > 1 {
        problems.push(format!("expected one refresh after the 401, found {} token requests", grants.len()));
    }
    let mut refresh = refresh.map(str::to_string);
    for g in grants {
        let form = g.form();
        problems.extend(o.client.auth.problem(g.request_header("authorization"), g.sent()));
        let sent = form.iter().find(|(k, _)| k == "refresh_token").map(|(_, v)| v.as_str());
        let grant = form.iter().find(|(k, _)| k == "grant_type").map(|(_, v)| v.as_str());
        if grant != Some("refresh_token") {
            problems.push(format!("expected grant_type=refresh_token, found {}", grant.unwrap_or("none")));
        } else if sent != refresh.as_deref() {
            let answer = g.json().and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string)).unwrap_or_default();
            problems.push(format!(
                "expected the refresh token issued {}, found {}: the authorization server answered {} {answer}",
                if round > 1 { "by the previous refresh (refresh tokens rotate: the earlier one is spent)" } else { "to the client" },
                if sent.is_some() { "another one" } else { "none" },
                g.status.map(|s| s.to_string()).unwrap_or("nothing".into())
            ));
        } else if g.status != Some(200) {
            problems.push(format!("expected the refresh to succeed, found {}: {}", g.describe(), clip(&String::from_utf8_lossy(&g.body))));
        }
        // the next grant must send what this one issued
        if let Some((_, Some(next))) = issued(g) {
            refresh = Some(next);
        }
    }
    let retried = api.len() > 1 && api.last().and_then(|x| x.status) == Some(e.response.status);
    if !retried {
        problems.push(format!(
            "expected the call retried with the new token → HTTP {}, found {}",
            e.response.status,
            if api.len() > 1 { api.last().map(|x| x.describe()).unwrap_or_default() } else { "no retry".into() }
        ));
    }
    if problems.is_empty() && returned.value().is_none() {
        problems.push(format!("expected the client to return the parsed response, found {}", returned.describe()));
    }
    problems
}

/// What the proxy refused of the client's requests, one problem each.
fn refusals<'a>(made: impl IntoIterator<Item = &'a Exchange>) -> Vec<String> {
    made.into_iter()
        .filter(|x| x.refused.is_some())
        .map(|x| format!("the client sent {} {}: {}", x.method, x.url, x.refused.clone().unwrap_or_default()))
        .collect()
}

/// Problems with the client's exchanges: refusals, no request, a non-success answer, a body off its schema.
fn judge_call(e: &Endpoint, returned: &Returned, made: &[Exchange]) -> (Vec<String>, String, String) {
    let mut problems = refusals(made);
    let Some(last) = made.iter().rev().find(|x| x.status.is_some()) else {
        if problems.is_empty() {
            problems.push(format!(
                "expected the client to call {} through the harness's proxy (Context::base_url), found no request: {}",
                e.label(),
                returned.describe()
            ));
        }
        return (problems, "no request reached the sandbox".into(), "no response".into());
    };
    let status = last.status.unwrap_or_default();
    let shape = if status != e.response.status {
        problems.push(format!(
            "expected HTTP {} from the sandbox, found {status}: {}",
            e.response.status,
            clip(&String::from_utf8_lossy(&last.body))
        ));
        format!("HTTP {status}")
    } else {
        match (last.json(), &e.response.schema) {
            (None, _) => {
                problems.push(format!("expected a JSON body, found {}", clip(&String::from_utf8_lossy(&last.body))));
                "not JSON".into()
            }
            (Some(_), None) => "JSON (no schema declared)".into(),
            (Some(body), Some(schema)) => {
                let errors = shape_errors(schema, &body);
                let text = if errors.is_empty() { "Matches schema".to_string() } else { format!("Fails: {}", errors.join("; ")) };
                problems.extend(errors.into_iter().map(|err| format!("expected the response to satisfy the schema, found at {err}")));
                text
            }
        }
    };
    if returned.value().is_none() {
        problems.push(format!("expected the client to return the parsed response, found {}", returned.describe()));
    }
    let actual = format!("{} → HTTP {status} in {}; shape: {shape}", e.label(), ms(last.latency));
    (problems, actual, shape)
}

async fn endpoint(case: &SandboxCase, run: &Run<'_>, i: usize) -> SandboxResult {
    let e = &run.spec.endpoints[i];
    let mut r =
        SandboxResult::new(case, format!("{} through the client → HTTP {}, body valid against its schema", e.label(), e.response.status));
    match run.call(i, e).await {
        Err(why) => {
            r.actual = why.clone();
            r.problems.push(why);
        }
        Ok((returned, made)) => {
            let (problems, actual, shape) = judge_call(e, &returned, &made);
            r.problems = problems;
            r.actual = actual;
            r.shape = Some(redact::redact(&shape));
        }
    }
    r
}

async fn idempotency(case: &SandboxCase, run: &Run<'_>, i: usize) -> SandboxResult {
    let e = &run.spec.endpoints[i];
    let header = e.idempotency_header.clone().unwrap_or_default();
    let mut r =
        SandboxResult::new(case, format!("the client's {} request sent twice with the same {header} → the same resource", e.label()));
    let (returned, made) = match run.call(i, e).await {
        Ok(x) => x,
        Err(why) => {
            r.actual = why.clone();
            r.problems.push(why);
            return r;
        }
    };
    let (problems, _, _) = judge_call(e, &returned, &made);
    if !problems.is_empty() {
        r.actual = "the first call did not succeed".into();
        r.problems = problems;
        return r;
    }
    let Some(first) = made.iter().rev().find(|x| x.status.is_some()) else { return r };
    if first.request_header(&header).is_none() {
        r.actual = format!("no {header} header on the client's request");
        r.problems.push(format!("expected the client to send {header} on {}, found none", e.label()));
        return r;
    }
    let again = run.up.replay(first).await;
    let id = |x: &Exchange| x.json().and_then(|v| v.get("id").cloned()).unwrap_or(Value::Null);
    let (a, b) = (id(first), id(&again));
    if again.status != first.status || a != b || a.is_null() {
        let finding = format!(
            "the sandbox does not honour {header}: the same key twice gave {a} (HTTP {}) and {b} (HTTP {})",
            first.status.unwrap_or_default(),
            again.status.map(|s| s.to_string()).unwrap_or("none".into())
        );
        if run.sandbox.honours_idempotency {
            r.problems.push(format!("expected the same resource (sandbox.honours_idempotency: true), found that {finding}"));
            r.actual = finding;
        } else {
            r.actual = format!("finding about the sandbox, not the client: {finding} (sandbox.honours_idempotency: false)");
        }
    } else {
        r.actual = format!("the same key twice gave the same resource {a}");
    }
    r
}

async fn rate_limit(case: &SandboxCase, run: &Run<'_>) -> SandboxResult {
    let limit = run.spec.overview.rate_limit;
    let n = limit.map(|l| l.requests.min(5)).unwrap_or(0);
    let path = &run.sandbox.auth_check;
    let declared = limit.map(|l| l.to_string()).unwrap_or_default();
    let mut r = SandboxResult::new(case, format!("{n} GET {path} at most at the declared {declared} → no 429"));
    let guard = run.session().await;
    let credential = match tokens(&guard) {
        Ok(s) => run.credential(s.as_ref().map(|s| s.access.as_str())),
        Err(why) => {
            r.problems.push(why);
            return r;
        }
    };
    let started = tokio::time::Instant::now();
    let mut statuses = Vec::new();
    let mut headers = Vec::new();
    for _ in 0..n {
        let x = run.harness("GET", path, &credential, None).await;
        statuses.push(x.status);
        headers.extend(
            x.response_headers.iter().filter(|(k, _)| k.to_ascii_lowercase().contains("ratelimit")).map(|(k, v)| format!("{k}: {v}")),
        );
        if matches!(x.status, Some(401 | 403)) {
            r.problems.push(format!(
                "expected the probe's requests to be accepted, found {} at request {}: the probe shows nothing about the rate limit",
                x.describe(),
                statuses.len()
            ));
            break;
        }
        if x.status == Some(429) {
            r.problems.push(format!(
                "expected no 429 below the declared {declared}, found one at request {}: the declared limit is wrong for the sandbox",
                statuses.len()
            ));
            break;
        }
    }
    headers.dedup();
    let took = started.elapsed();
    let seen = if headers.is_empty() { "no rate-limit headers".to_string() } else { headers.join(", ") };
    r.actual = format!("{} requests in {} (spaced by the harness for {declared}); {seen}", statuses.len(), ms(took));
    r
}

/// The endpoint's live answer through the client, its shape compared with the baseline
/// (and checked against the spec's schema); `accept` records it as the baseline instead.
async fn drift(case: &SandboxCase, run: &Run<'_>, i: usize, accept: bool) -> SandboxResult {
    use crate::drift::{self, Change, Finding, Severity, Shape};
    let e = &run.spec.endpoints[i];
    let path = drift::baseline_path(run.spec, &e.id);
    let mut r =
        SandboxResult::new(case, format!("{} → the same shape as its baseline ({}); additive changes reported", e.label(), path.display()));
    let made = match run.call(i, e).await {
        Err(why) => {
            r.actual = why.clone();
            r.problems.push(why);
            return r;
        }
        Ok((_, made)) => made,
    };
    let Some(last) = made.iter().rev().find(|x| x.status.is_some()) else {
        r.actual = "no request reached the sandbox".into();
        r.problems.push(format!("expected the client to call {} through the harness's proxy, found no request", e.label()));
        return r;
    };
    let body = last.json().unwrap_or(Value::Null);
    let live = Shape::of(last.status.unwrap_or_default(), &last.response_headers, &body);
    if accept {
        // what was pending is settled by the shape accepted now
        let _ = std::fs::remove_file(drift::pending_path(&path));
        match drift::accept(&path, &live) {
            Ok(()) => r.actual = format!("baseline accepted: {} ({} fields)", path.display(), live.fields.len()),
            Err(err) => r.problems.push(err.to_string()),
        }
        r.drift = Some(Finding { endpoint: e.id.clone(), changes: Vec::new(), diff: String::new(), accepted: true });
        return r;
    }
    let baseline = match drift::read_baseline(&path) {
        Ok(Some(b)) => b,
        Ok(None) => {
            r.actual = "no baseline".into();
            r.problems.push(format!(
                "expected a baseline at {}, found none: record one with {DRIFT_ENV}=1 {ACCEPT_ENV}=1 and commit it",
                path.display()
            ));
            return r;
        }
        Err(err) => {
            r.actual = "unreadable baseline".into();
            r.problems.push(err.to_string());
            return r;
        }
    };
    let mut changes = baseline.diff(&live);
    if let Some(schema) = &e.response.schema {
        changes.extend(shape_errors(schema, &body).into_iter().map(|err| Change {
            at: "schema".into(),
            what: err,
            severity: Severity::Breaking,
        }));
    }
    let diff = if changes.is_empty() { String::new() } else { drift::unified_diff(&baseline, &live) };
    // a differing shape waits beside its baseline for `oc-integrate drift --accept`
    let pending = drift::pending_path(&path);
    if changes.is_empty() {
        let _ = std::fs::remove_file(&pending);
    } else if let Err(err) = crate::file::write_atomic(&pending, &(serde_json::to_string_pretty(&live).unwrap_or_default() + "\n")) {
        r.problems.push(format!("{}: cannot write the pending shape: {err}", pending.display()));
    }
    r.actual = if changes.is_empty() { "no drift".into() } else { changes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ") };
    for c in changes.iter().filter(|c| c.severity == Severity::Breaking) {
        r.problems.push(format!("expected {} as in the baseline, found {c}", c.at));
    }
    if !r.problems.is_empty() {
        r.problems.push(format!("the shapes, baseline first:\n{diff}\naccept a deliberate change with `oc-integrate drift --accept`"));
    }
    r.drift = Some(Finding { endpoint: e.id.clone(), changes, diff, accepted: false });
    r
}
