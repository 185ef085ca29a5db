//! A spec being planned: the values decided so far, the TODOs for what is not, and the
//! comments naming where filled values came from. The document (`from_openapi`) and the
//! provider catalog (`catalog::fill`) both write into a draft; `finish` adds the seed's
//! error matrix for the auth that was settled on and writes the YAML.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{Planned, emit, examples};
use crate::spec::Schema;

/// What a TODO is about, so a later source (the catalog) can settle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gap {
    /// `overview.base_url`.
    BaseUrl,
    /// `overview.sandbox_url`.
    Sandbox,
    /// `overview.rate_limit`.
    RateLimit,
    /// `overview.auth` (and the secrets it needs).
    Auth,
    /// The idempotency header of the POST at this endpoint index.
    Idempotency(usize),
    /// `test_plan.sandbox`.
    SandboxPlan,
    /// Anything only a person can settle.
    Other,
}

/// One undecided thing: where its comment goes, what it is about, what to do.
#[derive(Debug, Clone)]
pub(super) struct Todo {
    pub(super) at: String,
    pub(super) gap: Gap,
    pub(super) text: String,
}

/// The spec as planned so far.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub(super) name: String,
    pub(super) overview: Map<String, Value>,
    pub(super) endpoints: Vec<Value>,
    pub(super) retry: Value,
    pub(super) secrets: Vec<Value>,
    pub(super) test_plan: Map<String, Value>,
    pub(super) todos: Vec<Todo>,
    /// Comments that say where a value came from: (key path, text).
    pub(super) notes: Vec<(String, String)>,
    /// Comment lines above the spec.
    pub(super) head: Vec<String>,
    pub(super) selected: usize,
    pub(super) available: usize,
    pub(super) files: Vec<(String, String)>,
    /// The shared schema file of `files` compiled (a part of it).
    pub(super) compiled: Option<Schema>,
    /// The provider's own error-matrix rows (from the catalog), before the seed's.
    pub(super) error_rows: Vec<Value>,
    /// Whether large examples go to a file beside the spec (`examples::FILE`).
    pub(super) examples_out_of_line: bool,
}

/// The seed's retry policy: 3 attempts, 1 s doubling up to 8 s.
pub(super) fn default_retry() -> Value {
    json!({"max_attempts": 3, "base_delay_ms": 1000, "multiplier": 2, "max_delay_ms": 8000, "jitter_ms": 100})
}

/// The secrets row of a static key (`SERVICE_API_KEY`).
pub(super) fn key_secrets(env: &str, name: &str) -> Vec<Value> {
    vec![json!({"name": name, "storage": "TODO: vault / KV / CI secret", "rotation": "TODO", "env": format!("{env}_API_KEY")})]
}

/// The secrets rows of an OAuth 2.0 client, with its refresh token when there is one.
pub(super) fn oauth_secrets(env: &str, refreshable: bool) -> Vec<Value> {
    let mut secrets = vec![
        json!({"name": "Client ID", "storage": "TODO: vault / KV / CI secret", "rotation": "Static", "env": format!("{env}_CLIENT_ID")}),
        json!({"name": "Client Secret", "storage": "TODO: vault / KV / CI secret", "rotation": "TODO", "env": format!("{env}_CLIENT_SECRET")}),
    ];
    if refreshable {
        secrets.push(json!({"name": "Refresh Token", "storage": "TODO: KV", "rotation": "TODO: rotated on refresh?"}));
    }
    secrets
}

/// The TODO of an `Authorization: Basic` key.
pub(super) const BASIC_AUTH_TODO: &str = "HTTP Basic auth: the key below must be the base64 of user:password";

/// The seed's Error Handling Matrix: 401 refresh and retry once for OAuth (else fail), 429
/// Retry-After, 503 longer delays, 5xx backoff, 4xx fail.
/// The seed's matrix, with `first` (a provider's own rows, e.g. its rate-limited 403) before
/// it; a generic row for a status `first` has a plain row for is left out.
fn error_matrix(oauth: bool, first: &[Value]) -> Value {
    let unauthorized = if oauth {
        json!({"status": 401, "meaning": "Access token expired", "action": "refresh_and_retry_once"})
    } else {
        json!({"status": 401, "meaning": "Credential rejected", "action": "fail"})
    };
    let generic = [
        unauthorized,
        json!({"status": 429, "meaning": "Rate limited", "action": "respect_retry_after"}),
        json!({"status": 503, "meaning": "Maintenance", "action": "retry_with_longer_delays", "delay_factor": 3}),
        json!({"status": "5xx", "meaning": "Server error", "action": "retry_with_backoff"}),
        json!({"status": "4xx", "meaning": "Bad request, forbidden, not found", "action": "fail"}),
    ];
    let plain = |r: &Value, status: &Value| r.get("status") == Some(status) && r.get("when").is_none();
    let kept = generic.into_iter().filter(|g| !first.iter().any(|f| plain(f, &g["status"])));
    Value::Array(first.iter().cloned().chain(kept).collect())
}

/// `map` with the keys of `order` first, in that order, then the rest as they were.
fn ordered(mut map: Map<String, Value>, order: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for k in order {
        if let Some(v) = map.shift_remove(*k) {
            out.insert((*k).to_string(), v);
        }
    }
    out.extend(map);
    out
}

const OVERVIEW_ORDER: [&str; 7] = ["direction", "auth", "base_url", "sandbox_url", "rate_limit", "sdk", "docs"];
const ENDPOINT_ORDER: [&str; 10] =
    ["id", "method", "path", "purpose", "auth", "rate_limit", "idempotent", "idempotency_header", "request", "response"];

impl Draft {
    /// A draft with the planner's defaults for what no source decides: the seed's retry
    /// policy unless given, a 10 s timeout and a unit test plan (both with TODOs).
    pub(super) fn new(name: String, overview: Map<String, Value>, endpoints: Vec<Value>, secrets: Vec<Value>, todos: Vec<Todo>) -> Draft {
        let mut d = Draft {
            name,
            overview,
            endpoints,
            retry: default_retry(),
            secrets,
            test_plan: json!({"unit": "Generated oc-integrate mock suite", "edge_cases": ["expired token", "rate limit", "malformed response", "timeout"]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            todos,
            notes: Vec::new(),
            head: vec!["# yaml-language-server: $schema=https://oc-integrate.dev/spec.schema.json".into()],
            selected: 0,
            available: 0,
            files: Vec::new(),
            compiled: None,
            error_rows: Vec::new(),
            examples_out_of_line: false,
        };
        d.todo(
            "timeouts.request_ms",
            Gap::Other,
            "no timeout documented: 10 s is the planner's default, set the budget your callers can afford",
        );
        d.todo("test_plan.unit", Gap::SandboxPlan, "no sandbox test plan: add test_plan.sandbox (which sandbox account, which data)");
        d
    }

    /// Record something undecided.
    pub(super) fn todo(&mut self, at: &str, gap: Gap, text: impl Into<String>) {
        self.todos.push(Todo { at: at.to_string(), gap, text: text.into() });
    }

    /// Whether something about `gap` is undecided.
    pub(super) fn has(&self, gap: Gap) -> bool {
        self.todos.iter().any(|t| t.gap == gap)
    }

    /// `gap` is settled: drop its TODOs.
    pub(super) fn settle(&mut self, gap: Gap) {
        self.todos.retain(|t| t.gap != gap);
    }

    /// The spec as YAML (TODOs and notes as comments above their keys), and the TODO list.
    pub(super) fn finish(self) -> Planned {
        let oauth = self.overview.get("auth").and_then(|a| a.get("kind")) == Some(&json!("oauth2"));
        let mut endpoints: Vec<Value> = self
            .endpoints
            .into_iter()
            .map(|e| if let Value::Object(m) = e { Value::Object(ordered(m, &ENDPOINT_ORDER)) } else { e })
            .collect();
        let example_file = if self.examples_out_of_line { examples::out_of_line(&mut endpoints) } else { None };
        let mut spec = Map::new();
        spec.insert("name".into(), json!(self.name));
        spec.insert("overview".into(), Value::Object(ordered(self.overview, &OVERVIEW_ORDER)));
        spec.insert("endpoints".into(), Value::Array(endpoints));
        spec.insert("error_handling".into(), error_matrix(oauth, &self.error_rows));
        spec.insert("retry".into(), self.retry);
        spec.insert("timeouts".into(), json!({"request_ms": 10000}));
        spec.insert("secrets".into(), Value::Array(self.secrets));
        spec.insert("test_plan".into(), Value::Object(ordered(self.test_plan, &["unit", "sandbox", "edge_cases"])));
        let mut comments: HashMap<String, Vec<String>> = HashMap::new();
        for (path, text) in &self.notes {
            comments.entry(path.clone()).or_default().push(text.clone());
        }
        for t in &self.todos {
            comments.entry(t.at.clone()).or_default().push(format!("TODO(oc-integrate plan): {}", t.text));
        }
        let review = "# Review every TODO below; spec.yaml is the source of truth from here on.";
        let head: String = self.head.iter().map(String::as_str).chain([review]).map(|l| format!("{l}\n")).collect();
        // the example file's text is written on one core while the spec's YAML is on another
        let (yaml, example_text) = std::thread::scope(|scope| {
            let text = scope.spawn(|| example_file.as_ref().map(examples::text));
            let yaml = head + &emit::document(&Value::Object(spec), &comments);
            (yaml, crate::cores::join(text))
        });
        let mut files = self.files;
        files.extend(example_text.map(|text| (examples::FILE.to_string(), text)));
        Planned {
            yaml,
            todos: self.todos.into_iter().map(|t| format!("{}: {}", t.at, t.text)).collect(),
            selected: self.selected,
            available: self.available,
            files,
            compiled: self.compiled,
            examples: example_file,
        }
    }
}
