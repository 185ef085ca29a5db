//! The seed's checkpoint, `.checkpoints/oc-integrations-engineer.checkpoint.json`: the
//! state other tools (and the next session) read to know where each integration stands.
//!
//! Other tools write the same file, so every update is a locked read-modify-write that
//! keeps fields it does not know, replaces the file atomically (temp file + rename, the
//! previous version kept as `.bak`), and refuses to touch a file it cannot parse.
//!
//! ```
//! use oc_integrate::checkpoint;
//! use serde_json::json;
//!
//! let dir = std::env::temp_dir().join(format!("oc-doc-{}", std::process::id()));
//! let path = dir.join("state.checkpoint.json");
//! checkpoint::update(&path, |state| {
//!     state["skill_state"]["integrations"]["stripe"] = json!({"status": "planned"});
//! })?;
//! let state = checkpoint::read(&path)?;
//! assert_eq!(state["skill_state"]["integrations"]["stripe"]["status"], "planned");
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), checkpoint::CheckpointError>(())
//! ```

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::redact::redact;
use crate::results::{SandboxResult, ServiceRun};
use crate::spec::{Auth, RECEIVER, SENDER, Spec};
use crate::text::rfc3339;

/// Where the seed keeps the checkpoint, relative to the project directory.
pub const DEFAULT_PATH: &str = ".checkpoints/oc-integrations-engineer.checkpoint.json";

/// The skill name written into a new checkpoint.
const SKILL: &str = "oc-integrations-engineer";

/// Why the checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file exists but is not a checkpoint; it was left as it was.
    #[error(
        "{path}{at}: the checkpoint is corrupt: expected {expected}, found {found}; it was left untouched{}: fix or remove it, then run again",
        backup.as_ref().map(|b| format!(" (a copy is at {})", b.display())).unwrap_or_default()
    )]
    Corrupt {
        /// The checkpoint file.
        path: PathBuf,
        /// `:line:col` of a JSON syntax error, or ` (at <json path>)`.
        at: String,
        /// What a checkpoint must hold there.
        expected: String,
        /// What the file holds instead.
        found: String,
        /// The copy kept of the corrupt file (by an update; reading keeps none).
        backup: Option<PathBuf>,
    },
    /// Reading, locking or writing failed.
    #[error("{path}: cannot {action} the checkpoint: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.to_path_buf();
    move |source| CheckpointError::Io { path, action, source }
}

/// The JSON type of `v`, for error messages.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field the harness relies on: its name, what it must hold, and the check.
type FieldRule<'a> = (&'a str, &'a str, &'a dyn Fn(&Value) -> bool);

/// Parse `text` as a checkpoint, or say what is wrong.
fn parse(path: &Path, text: &str) -> Result<Value, CheckpointError> {
    let corrupt = |at: String, expected: &str, found: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        at,
        expected: expected.into(),
        found,
        backup: None,
    };
    if text.trim().is_empty() {
        return Err(corrupt(String::new(), "a JSON object", "an empty file".into()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| corrupt(format!(":{}:{}", e.line(), e.column()), "JSON", e.to_string()))?;
    let shape = [("", "an object"), ("/skill_state", "an object"), ("/skill_state/integrations", "an object")];
    for (pointer, expected) in shape {
        match value.pointer(pointer) {
            None | Some(Value::Object(_)) => {}
            Some(other) => return Err(corrupt(format!(" (at {})", display_pointer(pointer)), expected, type_of(other).into())),
        }
    }
    let is_count = |v: &Value| v.as_u64().is_some();
    let is_text = |v: &Value| v.is_string();
    let text_or_null = |v: &Value| v.is_string() || v.is_null();
    let owned: [FieldRule; 2] =
        [("current_build", "a service name or null", &text_or_null), ("build_iteration", "a count (0, 1, 2, …)", &is_count)];
    for (field, expected, ok) in owned {
        if let Some(v) = value.pointer(&format!("/skill_state/{field}")).filter(|v| !v.is_null() && !ok(v)) {
            return Err(corrupt(format!(" (at skill_state.{field})"), expected, describe(v)));
        }
    }
    // the fields of an integration the harness reads or writes, with the types it needs
    // (null is always allowed: a planner records a service before it is tested)
    let fields: [FieldRule; 11] = [
        ("status", "a string", &is_text),
        ("auth", "a string", &is_text),
        ("endpoints", "a count", &is_count),
        ("test_rounds", "a count", &is_count),
        ("last_test", "\"PASS\" or \"FAIL\"", &|v: &Value| v == "PASS" || v == "FAIL"),
        ("last_health", "a timestamp string or null", &text_or_null),
        ("last_round", "a path string", &is_text),
        ("failed_rounds_in_a_row", "a count", &is_count),
        ("endpoint_results", "an object", &Value::is_object),
        ("failures", "a list of failures", &Value::is_array),
        ("files", "a list of paths", &Value::is_array),
    ];
    if let Some(Value::Object(all)) = value.pointer("/skill_state/integrations") {
        for (name, svc) in all {
            let Some(svc) = svc.as_object() else {
                return Err(corrupt(format!(" (at skill_state.integrations.{name})"), "an object", type_of(svc).into()));
            };
            for (field, expected, ok) in &fields {
                if let Some(v) = svc.get(*field).filter(|v| !v.is_null() && !ok(v)) {
                    return Err(corrupt(format!(" (at skill_state.integrations.{name}.{field})"), expected, describe(v)));
                }
            }
        }
    }
    Ok(value)
}

/// A value as an error shows it: its type and, when short, itself.
fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.len() <= 40 { format!("{} {text}", type_of(v)) } else { type_of(v).to_string() }
}

fn display_pointer(p: &str) -> String {
    if p.is_empty() { "the top level".into() } else { p.trim_start_matches('/').replace('/', ".") }
}

/// The checkpoint at `path`: an empty object when there is none yet.
pub fn read(path: &Path) -> Result<Value, CheckpointError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Map::new())),
        Err(e) => Err(io(path, "read")(e)),
    }
}

/// Apply `change` to the checkpoint at `path` under an exclusive lock (a `.lock` file
/// beside it, so concurrent runs, in this process or others, serialise), then replace
/// the file atomically. `change` sees the whole file, unknown fields included; the
/// objects `skill_state` and `skill_state.integrations` exist when it runs. Returns the
/// state written.
pub fn update(path: &Path, change: impl FnOnce(&mut Value)) -> Result<Value, CheckpointError> {
    update_within(path, None, change)
}

/// [`update`], waiting at most `wait` for the lock (`None`: as long as it takes); a lock
/// held longer is an `Io` error of kind `WouldBlock`, and nothing is written.
fn update_within(path: &Path, wait: Option<std::time::Duration>, change: impl FnOnce(&mut Value)) -> Result<Value, CheckpointError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir, "create the directory of"))?;
    let lock_path = path.with_extension("json.lock");
    let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io(&lock_path, "open the lock of"))?;
    match wait {
        None => lock.lock().map_err(io(&lock_path, "lock"))?,
        Some(wait) => {
            let deadline = std::time::Instant::now() + wait;
            loop {
                match lock.try_lock() {
                    Ok(()) => break,
                    Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        let busy = std::io::Error::new(
                            std::io::ErrorKind::WouldBlock,
                            format!("another process held the lock for {} s", wait.as_secs()),
                        );
                        return Err(io(&lock_path, "lock")(busy));
                    }
                    Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path, "lock")(e)),
                }
            }
        }
    }

    let mut state = read(path).map_err(|e| match e {
        // keep a copy of what is there before reporting it, in case another tool clobbers it
        CheckpointError::Corrupt { path, at, expected, found, .. } => {
            let copy = path.with_extension("json.corrupt");
            let backup = std::fs::copy(&path, &copy).ok().map(|_| copy);
            CheckpointError::Corrupt { path, at, expected, found, backup }
        }
        other => other,
    })?;
    if let Some(root) = state.as_object_mut() {
        root.entry("skill").or_insert_with(|| json!(SKILL));
        let skill_state = root.entry("skill_state").or_insert_with(|| json!({}));
        if let Some(s) = skill_state.as_object_mut() {
            s.entry("integrations").or_insert_with(|| json!({}));
            s.entry("current_build").or_insert(Value::Null);
            s.entry("build_iteration").or_insert(json!(0));
        }
    }
    change(&mut state);
    state["updated_at"] = json!(rfc3339(SystemTime::now()));

    let text = serde_json::to_string_pretty(&state).unwrap_or_default() + "\n";
    if path.exists() {
        std::fs::copy(path, path.with_extension("json.bak")).map_err(io(path, "back up"))?;
    }
    crate::file::write_atomic(path, &text).map_err(io(path, "write"))?;
    drop(lock);
    Ok(state)
}

/// `service`'s entry in `state`; one with the seed's fields unset when the checkpoint does
/// not know it yet.
fn known<'a>(state: &'a mut Value, service: &str) -> &'a mut Value {
    let entry = &mut state["skill_state"]["integrations"][service];
    if entry.is_null() {
        *entry = json!({"status": null, "auth": null, "endpoints": null, "test_rounds": 0, "last_test": null, "last_health": null});
    }
    entry
}

/// What the checkpoint calls an auth method (the seed's `oauth`, `api_key`, …).
pub fn auth_name(auth: &Auth) -> &'static str {
    match auth {
        Auth::None => "none",
        Auth::ApiKey { .. } => "api_key",
        Auth::Oauth2 { .. } => "oauth",
    }
}

/// Record the rounds written for `services` (a service without one is left out) in the
/// checkpoint: per service the seed's `status`, `auth`, `endpoints`, `test_rounds`,
/// `last_test` (and `last_round`, `last_test_at`, `failed_rounds_in_a_row`,
/// `endpoint_results`, where an endpoint fails when a mock case or a sandbox trial of it
/// failed, `sandbox`: `PASS`, `FAIL` or `not run` (with `sandbox_skipped`: why), `score`: `passed/cases`, and `failures`:
/// the Builder's to-do list, each a [`Failure`]); `last_health` and every other
/// field are kept. A round numbered below the one already recorded (concurrent runs
/// finishing out of order) changes nothing, so the newest round wins whatever the write
/// order. `current_build` names the first service whose round failed, with
/// `build_iteration` its failed rounds in a row; it is cleared when the service it named
/// passes.
pub fn record(path: &Path, services: &[ServiceRun]) -> Result<Value, CheckpointError> {
    let now = rfc3339(SystemTime::now());
    update(path, |state| {
        let mut failing = None;
        for s in services {
            let Some(round) = &s.round else { continue };
            let (spec, results) = (s.spec.as_ref(), &s.cases);
            let live: Vec<&SandboxResult> = s.live().collect();
            let entry = known(state, &spec.id);
            let recorded = entry.get("test_rounds").and_then(Value::as_u64).unwrap_or(0);
            if u64::from(round.number) < recorded {
                continue;
            }
            let status = if round.passed {
                "tested"
            } else if round.escalated() {
                "escalated"
            } else {
                "failing"
            };
            // endpoints as the spec lists them, then the webhook receiver and sender
            let mut ids: Vec<&str> = spec.endpoints.iter().map(|e| e.id.as_str()).collect();
            ids.extend([RECEIVER, SENDER].into_iter().filter(|id| results.iter().any(|r| r.case.subject_id == *id)));
            let per_endpoint: Map<String, Value> = ids
                .into_iter()
                .map(|id| {
                    let ok = results.iter().filter(|r| r.case.subject_id == id).all(|r| r.outcome.passed)
                        && live.iter().filter(|r| r.case.subject_id == id).all(|r| r.passed || r.ignored.is_some());
                    (id.to_string(), json!(if ok { "PASS" } else { "FAIL" }))
                })
                .collect();
            let ran: Vec<&&SandboxResult> = live.iter().filter(|r| r.ran()).collect();
            let sandbox = match ran.is_empty() {
                true => "not run",
                false if ran.iter().all(|r| r.passed) => "PASS",
                false => "FAIL",
            };
            // why they did not run: a credential unset, the sandbox unreachable, or left out
            let skipped = match live.is_empty() {
                true => Some("the spec declares no sandbox".to_string()),
                false => live.iter().find_map(|r| r.ignored.as_deref()).filter(|_| ran.is_empty()).map(redact),
            };
            let failures: Vec<Failure> = results
                .iter()
                .filter(|r| !r.outcome.passed)
                .map(|r| Failure::new(r.case.name(), spec.locate(&r.case.subject.path()), &r.outcome.actual, r.reproduce()))
                .chain(
                    live.iter()
                        .filter(|r| r.ran() && !r.passed)
                        .map(|r| Failure::new(r.case.name(), spec.locate(&r.case.path()), &r.actual, r.reproduce())),
                )
                .collect();
            let passed = results.iter().filter(|r| r.outcome.passed).count();
            let fields = [
                ("status", json!(status)),
                ("auth", json!(auth_name(&spec.overview.auth))),
                ("endpoints", json!(spec.endpoints.len())),
                ("test_rounds", json!(round.number)),
                ("last_test", json!(if round.passed { "PASS" } else { "FAIL" })),
                ("last_test_at", json!(now)),
                ("last_round", json!(round.path.display().to_string())),
                ("failed_rounds_in_a_row", json!(round.failed_in_a_row)),
                ("endpoint_results", Value::Object(per_endpoint)),
                ("sandbox", json!(sandbox)),
                ("sandbox_skipped", json!(skipped)),
                ("score", json!(format!("{passed}/{}", results.len()))),
                ("failures", serde_json::to_value(&failures).unwrap_or_default()),
            ];
            for (k, v) in fields {
                entry[k] = v;
            }
            if !round.passed && failing.is_none() {
                failing = Some((spec.id.clone(), round.failed_in_a_row));
            }
            if round.passed && state["skill_state"].get("current_build").and_then(Value::as_str) == Some(spec.id.as_str()) {
                state["skill_state"]["current_build"] = Value::Null;
                state["skill_state"]["build_iteration"] = json!(0);
            }
        }
        if let Some((id, n)) = failing {
            state["skill_state"]["current_build"] = json!(id);
            state["skill_state"]["build_iteration"] = json!(n);
        }
    })
}

/// A failure of the last round as the checkpoint keeps it: the Builder's to-do list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Failure {
    /// The trial (`payments::create_customer::timeout`).
    pub case: String,
    /// Where the spec says what the client must do (`file:line:col`).
    pub at: String,
    /// What the client did (redacted).
    pub did: String,
    /// The command that runs the trial alone.
    pub reproduce: String,
}

impl Failure {
    fn new(case: String, at: String, did: &str, reproduce: String) -> Failure {
        Failure { case, at, did: redact(did), reproduce }
    }
}

/// The failures of `service`'s last round recorded in `state` (none when it passed, or when
/// the checkpoint predates the list).
pub fn failures(state: &Value, service: &str) -> Vec<Failure> {
    state["skill_state"]["integrations"][service]["failures"]
        .as_array()
        .map(|all| all.iter().filter_map(|f| serde_json::from_value(f.clone()).ok()).collect())
        .unwrap_or_default()
}

/// `spec`'s entry in `state`, made with the seed's fields unset when there is none, with the
/// spec's `auth` and `endpoints` written.
fn entry_of<'a>(state: &'a mut Value, spec: &Spec) -> &'a mut Value {
    let entry = known(state, &spec.id);
    entry["auth"] = json!(auth_name(&spec.overview.auth));
    entry["endpoints"] = json!(spec.endpoints.len());
    entry
}

/// Record that `spec` was planned (the seed's "integration spec created"): `status:
/// "planned"` (a new spec starts the integration's build over), `planned_at`, the spec's
/// `test_plan` and how many TODOs it left (`todos`), with its `auth` and `endpoints`.
pub fn record_plan(path: &Path, spec: &Spec, todos: usize) -> Result<Value, CheckpointError> {
    let now = rfc3339(SystemTime::now());
    update(path, |state| {
        let entry = entry_of(state, spec);
        entry["status"] = json!("planned");
        entry["planned_at"] = json!(now);
        entry["test_plan"] = serde_json::to_value(&spec.test_plan).unwrap_or_default();
        entry["todos"] = json!(todos);
    })
}

/// Record the Tester's answer to `spec`'s contract (the seed's "contract negotiated"):
/// `contract` is `agreed` when there are no `findings`, else `sent back` with them
/// (`contract_findings`, each at its spec line); `criteria` are its testable criteria;
/// `contract_at` when. The status is left as it is.
pub fn record_contract(path: &Path, spec: &Spec, criteria: &[String], findings: &[String]) -> Result<Value, CheckpointError> {
    let now = rfc3339(SystemTime::now());
    update(path, |state| {
        let entry = entry_of(state, spec);
        entry["contract"] = json!(if findings.is_empty() { "agreed" } else { "sent back" });
        entry["contract_criteria"] = json!(criteria);
        entry["contract_findings"] = json!(findings.iter().map(|f| redact(f)).collect::<Vec<_>>());
        entry["contract_at"] = json!(now);
    })
}

/// Record the Builder's step for `spec`'s service (the seed's "builder completes"): `files`
/// it created or kept, `built_at`, and `status: "built"` unless a round has judged the
/// integration since (`tested`, `failing`, `escalated` stay); `current_build` names the
/// service, `build_iteration` its failed rounds in a row so far (as [`record`] keeps it).
pub fn record_build(path: &Path, spec: &Spec, files: &[String]) -> Result<Value, CheckpointError> {
    let now = rfc3339(SystemTime::now());
    update(path, |state| {
        let entry = entry_of(state, spec);
        if entry.get("last_test").is_none_or(Value::is_null) {
            entry["status"] = json!("built");
        }
        let failed = entry.get("failed_rounds_in_a_row").and_then(Value::as_u64).unwrap_or(0);
        entry["files"] = json!(files);
        entry["built_at"] = json!(now);
        state["skill_state"]["current_build"] = json!(spec.id);
        state["skill_state"]["build_iteration"] = json!(failed);
    })
}

/// How a quick build's smoke test went (`oc-integrate connect`).
pub struct Smoke<'a> {
    /// `PASS` or `FAIL`.
    pub verdict: &'a str,
    /// Conformance cases passed, and run (`3/3`).
    pub score: String,
    /// The sandbox trials: `PASS`, `FAIL` or `not run`.
    pub sandbox: &'a str,
    /// Why they did not run, when they did not.
    pub sandbox_skipped: Option<&'a str>,
    /// What failed: the quick build's to-do list.
    pub failures: Vec<Failure>,
}

/// Record a quick build (the seed's Quick Build Mode: no contract, no round): `files`,
/// `built_at`, `mode: "quick"`, the smoke test's `smoke` verdict, `smoke_score`, `sandbox`
/// (and `sandbox_skipped`), `failures`, `smoke_at`; `status` is `connected` when it passed, else
/// `failing`. `current_build` is cleared when it named the service and the smoke test passed.
pub fn record_connect(path: &Path, spec: &Spec, files: &[String], smoke: &Smoke<'_>) -> Result<Value, CheckpointError> {
    let now = rfc3339(SystemTime::now());
    let passed = smoke.verdict == "PASS";
    update(path, |state| {
        let entry = entry_of(state, spec);
        entry["status"] = json!(if passed { "connected" } else { "failing" });
        entry["mode"] = json!("quick");
        entry["files"] = json!(files);
        entry["built_at"] = json!(now);
        entry["smoke"] = json!(smoke.verdict);
        entry["smoke_score"] = json!(smoke.score);
        entry["sandbox"] = json!(smoke.sandbox);
        entry["sandbox_skipped"] = json!(smoke.sandbox_skipped.map(redact));
        entry["failures"] = serde_json::to_value(&smoke.failures).unwrap_or_default();
        entry["smoke_at"] = json!(now);
        if passed && state["skill_state"].get("current_build").and_then(Value::as_str) == Some(spec.id.as_str()) {
            state["skill_state"]["current_build"] = Value::Null;
            state["skill_state"]["build_iteration"] = json!(0);
        }
    })
}

/// One integration's health as the checkpoint keeps it: its service id, `healthy`,
/// `degraded` or `down`, and the issues found.
pub struct HealthEntry<'a> {
    /// The service id.
    pub service: &'a str,
    /// `healthy`, `degraded` or `down`.
    pub state: &'a str,
    /// The Issues lines, in order.
    pub issues: &'a [String],
}

/// Record a health check finished at `at` (RFC 3339) in the checkpoint: per integration the
/// seed's `last_health`, with `health` and `health_issues` beside it; every other field kept.
/// An integration the checkpoint does not list yet is added with the seed's fields unset. A
/// health check never waits long: a lock held for more than two seconds is an error.
pub fn record_health(path: &Path, at: &str, entries: &[HealthEntry<'_>]) -> Result<Value, CheckpointError> {
    update_within(path, Some(std::time::Duration::from_secs(2)), |state| {
        for e in entries {
            let entry = known(state, e.service);
            entry["last_health"] = json!(at);
            entry["health"] = json!(e.state);
            entry["health_issues"] = json!(e.issues);
        }
    })
}

/// One integration's secrets as an audit judged them.
pub struct SecretsEntry<'a> {
    /// The service id.
    pub service: &'a str,
    /// `clean`, `notes` or `findings`.
    pub verdict: &'a str,
    /// Each declared secret's rotation schedule, as the spec writes it, by the secret's name.
    pub rotation: Vec<(&'a str, &'a str)>,
    /// The Issues lines (masked previews, never values).
    pub issues: Vec<String>,
}

/// Record a secret audit finished at `at` (RFC 3339; the seed's "secret audit": findings,
/// rotation schedule): per integration `last_secrets_audit`, `secrets` (its verdict),
/// `secrets_issues` and `rotation`; and `skill_state.secrets_audit` with the whole audit's
/// `verdict` and the `leaks` found in the repository. Every other field is kept.
pub fn record_secrets(path: &Path, at: &str, verdict: &str, leaks: usize, entries: &[SecretsEntry<'_>]) -> Result<Value, CheckpointError> {
    update_within(path, Some(std::time::Duration::from_secs(2)), |state| {
        for e in entries {
            let entry = known(state, e.service);
            entry["last_secrets_audit"] = json!(at);
            entry["secrets"] = json!(e.verdict);
            entry["secrets_issues"] = json!(e.issues.iter().map(|i| redact(i)).collect::<Vec<_>>());
            entry["rotation"] = Value::Object(e.rotation.iter().map(|(name, r)| (name.to_string(), json!(r))).collect());
        }
        state["skill_state"]["secrets_audit"] = json!({"at": at, "verdict": verdict, "leaks": leaks});
    })
}
