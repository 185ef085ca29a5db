//! The generated `client.rs`: the spec's production settings, its auth scheme and error
//! matrix as constants for the transport, and one async method per endpoint (its path
//! segments percent-encoded, its query and body typed, its answer decoded into its type,
//! every page followed where the endpoint pages).

use serde_json::Value;

use crate::spec::{Action, Auth, ClientAuth, Endpoint, Pagination, ResetUnit, RetryPolicy, Spec, StatusMatch};

use super::names::{doc_line, literal, pascal, snake};
use super::types::{Types, Use};
use super::{BuildError, Signature};

/// The source of `client.rs` for `spec`, the types it needs made in `types`, and each
/// endpoint's method as the binding calls it.
pub(super) fn render(spec: &Spec, types: &mut Types) -> Result<(String, Vec<Signature>), BuildError> {
    let mut methods: Vec<Signature> = Vec::new();
    let mut bodies = String::new();
    for (i, e) in spec.endpoints.iter().enumerate() {
        let m = method(spec, e, types)?;
        if let Some(other) = methods.iter().find(|o| o.name == m.name) {
            return Err(BuildError::Spec {
                at: spec.locate(&format!("endpoints[{i}].id")),
                message: format!(
                    "expected endpoint ids that differ as Rust names, found {:?} and {:?} (both `{}`)",
                    other.endpoint, e.id, m.name
                ),
            });
        }
        bodies += &m.source;
        methods.push(m);
    }
    let matrix = matrix(spec);
    let used = |name: &str| bodies.contains(&format!("{name}::")) || matrix.contains(&format!("{name}::"));
    let mut imports = vec!["AuthScheme", "Config", "Credentials", "Request", "RetryPolicy", "Rule", "Transport"];
    imports.extend(["Action", "Body", "Paging", "ResetUnit", "Status"].into_iter().filter(|n| used(n)));
    imports.sort_unstable();
    let types_import = if used("types") { "use super::types;\n" } else { "" };
    let text = format!(
        r#"//! The {name} client: one async method per endpoint of the spec, each with the declared
//! auth, retry policy, timeout, idempotency key and pagination (the transport's).

use std::time::Duration;

use reqwest::Method;

use super::error::Error;
use super::transport::{{{imports}}};
{types_import}
/// The spec's production base URL.
pub const BASE_URL: &str = {base};

/// How the spec says the credential is sent.
const AUTH: AuthScheme = {auth};

/// The spec's error matrix, row by row.
pub(super) const MATRIX: &[Rule] = &[
{matrix}];

impl Config {{
    /// The spec's production settings: its base URL, timeout ({timeout} ms) and retry policy.
    pub fn production(credentials: Credentials) -> Config {{
        {config}
    }}
}}

/// The {name} client. Cheap to share: calls made at once through one client share its
/// connections and its token refresh.
pub struct Client {{
    transport: Transport,
}}

impl Client {{
    /// A client for `config` (see [`Config::production`]).
    pub fn new(config: Config) -> Result<Client, Error> {{
        Ok(Client {{ transport: Transport::new(config, AUTH, MATRIX)? }})
    }}
{bodies}}}
"#,
        name = spec.name,
        base = literal(&spec.overview.base_url),
        auth = auth(&spec.overview.auth),
        imports = imports.join(", "),
        timeout = spec.timeouts.request_ms,
        config = config(spec, "BASE_URL.to_string()", "credentials", &spec.retry),
    );
    Ok((text, methods))
}

/// A `Config` literal: `base_url` and `credentials` as expressions, the spec's timeout and `retry`.
pub(super) fn config(spec: &Spec, base_url: &str, credentials: &str, retry: &RetryPolicy) -> String {
    // a variable of the field's name is written as the field alone (clippy: redundant_field_names)
    let credentials = if credentials == "credentials" { credentials.to_string() } else { format!("credentials: {credentials}") };
    format!(
        "Config {{ base_url: {base_url}, {credentials}, timeout: Duration::from_millis({}), retry: RetryPolicy {{ max_attempts: {}, base_delay: Duration::from_millis({}), multiplier: {:?}, max_delay: Duration::from_millis({}), jitter: Duration::from_millis({}) }}, proxy: None }}",
        spec.timeouts.request_ms, retry.max_attempts, retry.base_delay_ms, retry.multiplier, retry.max_delay_ms, retry.jitter_ms
    )
}

fn auth(auth: &Auth) -> String {
    match auth {
        Auth::None => "AuthScheme::None".into(),
        Auth::ApiKey { header, prefix } => format!("AuthScheme::ApiKey {{ header: {}, prefix: {} }}", literal(header), literal(prefix)),
        Auth::Oauth2 { client_auth, .. } => format!("AuthScheme::OAuth2 {{ post: {} }}", *client_auth == ClientAuth::ClientSecretPost),
    }
}

fn matrix(spec: &Spec) -> String {
    let mut rows = String::new();
    for rule in &spec.error_handling {
        let status = match rule.status {
            StatusMatch::Code(c) => format!("Status::Code({c})"),
            StatusMatch::Class(c) => format!("Status::Class({c})"),
        };
        let when: Vec<String> = rule.when.iter().map(|(k, v)| format!("({}, {})", literal(k), literal(v))).collect();
        let action = match rule.action {
            Action::RefreshAndRetryOnce => "Action::RefreshAndRetryOnce".to_string(),
            Action::RespectRetryAfter => match &rule.reset {
                Some(r) => {
                    let unit = match r.unit {
                        ResetUnit::EpochSeconds => "EpochSeconds",
                        ResetUnit::EpochMilliseconds => "EpochMilliseconds",
                        ResetUnit::DeltaSeconds => "DeltaSeconds",
                    };
                    format!("Action::RespectRetryAfter(Some(({}, ResetUnit::{unit})))", literal(&r.header))
                }
                None => "Action::RespectRetryAfter(None)".into(),
            },
            Action::RetryWithBackoff => "Action::RetryWithBackoff(1.0)".into(),
            Action::RetryWithLongerDelays => format!("Action::RetryWithBackoff({:?})", rule.delay_factor.unwrap_or(4.0)),
            Action::Fail => "Action::Fail".into(),
        };
        rows += &format!(
            "    // {status_text}: {meaning}\n    Rule {{ status: {status}, when: &[{when}], action: {action} }},\n",
            status_text = rule.status,
            meaning = doc_line(&rule.meaning),
            when = when.join(", ")
        );
    }
    rows
}

/// One endpoint's method.
fn method(spec: &Spec, e: &Endpoint, types: &mut Types) -> Result<Signature, BuildError> {
    let name = snake(&e.id);
    let input = e.request.example.clone().unwrap_or(Value::Null);
    let mut args: Vec<String> = Vec::new();
    let mut params: Vec<String> = Vec::new();
    let mut segments: Vec<String> = Vec::new();
    for segment in e.path.split('/').skip(1) {
        segments.push(segment_expr(segment, &mut params, &mut args));
    }
    let query = match input.get("query") {
        Some(Value::Object(q)) if !q.is_empty() => {
            let ty = types.query(q, &format!("{}Query", pascal(&e.id)));
            args.push(format!("query: &types::{ty}"));
            true
        }
        _ => false,
    };
    let body_schema = e.request.schema.as_ref();
    let body = input.get("body").is_some() || body_schema.is_some();
    if body {
        let ty = match body_schema {
            Some(s) => qualified(&types.type_of(s.value(), s.root(), &format!("{}Request", pascal(&e.id)), Use::Request)),
            None => "serde_json::Value".into(),
        };
        args.push(format!("body: &{ty}"));
    }
    let form = e.request.content_type.starts_with("application/x-www-form-urlencoded");
    if body && !form && !e.request.content_type.starts_with("application/json") {
        let i = spec.endpoints.iter().position(|o| o.id == e.id).unwrap_or_default();
        return Err(BuildError::Spec {
            at: spec.locate(&format!("endpoints[{i}].request.content_type")),
            message: format!(
                "expected a JSON or form body (the generator writes no other yet), found {}: write this endpoint's method by hand",
                e.request.content_type
            ),
        });
    }
    let empty = e.response.status == 204;
    let returns = match (&e.response.schema, empty) {
        (_, true) => "()".to_string(),
        (Some(s), false) => qualified(&types.type_of(s.value(), s.root(), &format!("{}Response", pascal(&e.id)), Use::Response)),
        (None, false) => "serde_json::Value".into(),
    };
    let url = if query {
        format!("self.transport.with_query(self.transport.url(&[{}])?, query)?", segments.join(", "))
    } else {
        format!("self.transport.url(&[{}])?", segments.join(", "))
    };
    let body_expr = match (body, form) {
        (false, _) => "None".to_string(),
        (true, false) => "Some(Body::json(body)?)".into(),
        (true, true) => "Some(Body::form(body)?)".into(),
    };
    let call = match (&e.pagination, empty) {
        (_, true) => "self.transport.call_empty(request).await".to_string(),
        (Some(p), false) => format!("self.transport.paginate(request, {}).await", paging(p)),
        (None, false) => "self.transport.call(request).await".into(),
    };
    let mut notes = Vec::new();
    if let Some(h) = &e.idempotency_header {
        notes.push(format!("One `{h}` per call, kept across its retries."));
    }
    if !e.is_idempotent() {
        notes.push("Not idempotent: never repeated after a failure the provider may have processed.".into());
    }
    if e.pagination.is_some() {
        notes.push("Follows every page and returns all the items.".into());
    }
    let notes: String = notes.iter().map(|n| format!("    ///\n    /// {n}\n")).collect();
    let source = format!(
        r#"
    /// {purpose}: `{label}`.
{notes}    pub async fn {name}(&self{args}) -> Result<{returns}, Error> {{
        let request = Request {{
            method: Method::{method},
            url: {url},
            body: {body_expr},
            headers: Vec::new(),
            idempotency_header: {idem},
            idempotent: {idempotent},
            auth: {auth},
            strict_content_type: {strict},
        }};
        {call}
    }}
"#,
        purpose = doc_line(&e.purpose),
        label = e.label(),
        args = args.iter().map(|a| format!(", {a}")).collect::<String>(),
        method = e.method.as_str(),
        idem = e.idempotency_header.as_deref().map_or("None".to_string(), |h| format!("Some({})", literal(h))),
        idempotent = e.is_idempotent(),
        auth = e.auth && spec.overview.auth != Auth::None,
        strict = e.response.strict_content_type,
    );
    Ok(Signature { endpoint: e.id.clone(), name, params, query, body, source })
}

/// A type as `client.rs` names it: a made struct through `types::`.
fn qualified(ty: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in ty.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        let builtin = ["Option", "Vec", "Box", "String", "i64", "f64", "bool"].contains(&word.as_str()) || word.contains("::");
        if !word.is_empty() && !builtin {
            out += "types::";
        }
        out += &std::mem::take(&mut word);
        out.push(c);
    }
    out.pop();
    out
}

/// One path segment as an expression: a literal, a parameter, or both (`{id}.json`).
fn segment_expr(segment: &str, params: &mut Vec<String>, args: &mut Vec<String>) -> String {
    let mut take = |param: &str| {
        let ident = snake(param);
        if !params.iter().any(|p| p == param) {
            params.push(param.to_string());
            args.push(format!("{ident}: &str"));
        }
        ident
    };
    if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')).filter(|p| !p.contains(['{', '}'])) {
        return take(param);
    }
    let (mut format, mut rest, mut any) = (String::new(), segment, false);
    while let Some((start, end)) = rest.find('{').zip(rest.find('}')).filter(|(s, e)| s < e) {
        format += &rest[..start].replace('{', "{{").replace('}', "}}");
        format += &format!("{{{}}}", take(&rest[start + 1..end]));
        rest = &rest[end + 1..];
        any = true;
    }
    if !any {
        return literal(segment);
    }
    format += &rest.replace('{', "{{").replace('}', "}}");
    format!("&format!({})", literal(&format))
}

fn paging(p: &Pagination) -> String {
    let opt = |v: &Option<String>| v.as_deref().map_or("None".to_string(), |s| format!("Some({})", literal(s)));
    match p {
        Pagination::Link { items } => format!("Paging::Link {{ items: {} }}", literal(items)),
        Pagination::Cursor { param, next, has_more, items } => format!(
            "Paging::Cursor {{ param: {}, next: {}, has_more: {}, items: {} }}",
            literal(param),
            opt(next),
            opt(has_more),
            literal(items)
        ),
        Pagination::Page { param, has_more, items } => {
            format!("Paging::Page {{ param: {}, has_more: {}, items: {} }}", literal(param), literal(has_more), literal(items))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_become_expressions() {
        let (mut params, mut args) = (Vec::new(), Vec::new());
        assert_eq!(segment_expr("customers", &mut params, &mut args), "\"customers\"");
        assert_eq!(segment_expr("{id}", &mut params, &mut args), "id");
        assert_eq!(segment_expr("{fileId}.json", &mut params, &mut args), "&format!(\"{file_id}.json\")");
        assert_eq!(params, ["id", "fileId"]);
        assert_eq!(args, ["id: &str", "file_id: &str"]);
    }

    #[test]
    fn made_types_are_named_through_types() {
        assert_eq!(qualified("Vec<Issue>"), "Vec<types::Issue>");
        assert_eq!(qualified("Option<Box<Issue>>"), "Option<Box<types::Issue>>");
        assert_eq!(qualified("serde_json::Map<String, serde_json::Value>"), "serde_json::Map<String, serde_json::Value>");
    }
}
