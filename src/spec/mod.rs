//! The integration spec: one `integrations/<service>/spec.yaml` per third-party service.
//!
//! It mirrors the seed's Integration Spec Template (overview, endpoints, error handling
//! matrix, secrets, test plan) plus what a tester needs to generate cases: the client's
//! declared retry policy and timeout budget, example requests and responses, and
//! JSON Schemas of the responses. The types here are the source of truth for
//! `schemas/spec.schema.json` (see [`json_schema`]).

pub mod edit;
mod health;
mod load;
pub mod pagination;
mod sandbox;
mod schema;
mod webhooks;
pub mod yaml;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use health::{Health, ProbeMethod};
pub(crate) use load::reword;
pub(crate) use load::{Held, Written, load_file_with};
pub use load::{SpecError, is_http_url, load_dir, load_file};
pub use pagination::Pagination;
pub(crate) use sandbox::and_list;
pub use sandbox::{Sandbox, SandboxCredentials, SandboxEndpoint, SetupRequest, host_of, references};
pub use schema::{Schema, Side, Violation, escape, pointer, unescape};
pub use webhooks::{Event, Field, RECEIVER, Receiver, ReceiverIdempotency, SENDER, Sender, Webhooks, default_key, default_type};
pub use yaml::{Location, SourceMap};

/// One integration, as read from `integrations/<service>/spec.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Display name of the service, e.g. `Stripe`. The service id used in trial
    /// names is the name of the directory that holds the spec.
    pub name: String,
    /// The seed's Overview block.
    pub overview: Overview,
    /// Every endpoint the project calls. Keep the surface minimal.
    pub endpoints: Vec<Endpoint>,
    /// Free-form data-flow diagram (ASCII), carried into rendered documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_flow: Option<String>,
    /// The seed's Error Handling Matrix: what the client does per status.
    pub error_handling: Vec<ErrorRule>,
    /// The retry policy the client declares it implements.
    pub retry: RetryPolicy,
    /// The client's timeout budget.
    pub timeouts: Timeouts,
    /// Secrets the integration needs.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// The seed's Test Plan block.
    #[serde(default)]
    pub test_plan: TestPlan,
    /// How the generated mock suite runs (time scale, advertised waits).
    #[serde(default)]
    pub test_profile: TestProfile,
    /// The project's webhook handler and sender, if it has them.
    #[serde(default, skip_serializing_if = "Webhooks::is_empty")]
    pub webhooks: Webhooks,
    /// The provider's sandbox, for the sandbox trials; absent when the project has none to test against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Sandbox>,
    /// How `oc-integrate health` probes the integration (defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// The PM ticket the integration's work comes from (`PLAT-4471`, `owner/repo#12`, or a
    /// Linear, Atlassian or GitHub issue URL): each round's verdict is written back to it
    /// when `.opchain/pm.yaml` configures a tracker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Service id (the directory name); set by the loader.
    #[serde(skip)]
    pub id: String,
    /// Where the spec was read from; set by the loader.
    #[serde(skip)]
    pub file: PathBuf,
    /// Where each value of the spec starts; set by the loader.
    #[serde(skip)]
    pub source_map: SourceMap,
}

/// Which way traffic flows between the project and the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The service calls the project (webhooks).
    Inbound,
    /// The project calls the service.
    Outbound,
    /// Both.
    Both,
}

/// The seed's Overview block.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Overview {
    /// Inbound / outbound / both.
    pub direction: Direction,
    /// How the client authenticates.
    pub auth: Auth,
    /// Production base URL, e.g. `https://api.stripe.com/v1`. Its path is kept when
    /// the harness points the client at a mock server.
    pub base_url: String,
    /// Sandbox base URL, or absent when the provider has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_url: Option<String>,
    /// Documented service-wide rate limit, e.g. `100/min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Whether an SDK exists and whether the project uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// URL of the current API documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
}

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// No authentication.
    None,
    /// A static API key sent in a header.
    ApiKey {
        /// Header that carries the key.
        #[serde(default = "default_auth_header")]
        header: String,
        /// Text before the key in the header value, e.g. `"Bearer "`.
        #[serde(default)]
        prefix: String,
    },
    /// OAuth 2.0 with refreshable bearer tokens.
    Oauth2 {
        /// Token endpoint. Its path is kept when pointing the client at a mock.
        token_url: String,
        /// Scopes requested.
        #[serde(default)]
        scopes: Vec<String>,
        /// Whether the provider rotates refresh tokens on every refresh.
        #[serde(default)]
        rotates_refresh_token: bool,
        /// How a client authenticates at the token endpoint (RFC 6749 §2.3.1).
        #[serde(default, skip_serializing_if = "ClientAuth::is_basic")]
        client_auth: ClientAuth,
    },
}

/// How an OAuth 2.0 client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (every server must accept it).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (GitHub, Slack, many others).
    ClientSecretPost,
}

impl ClientAuth {
    fn is_basic(&self) -> bool {
        *self == ClientAuth::ClientSecretBasic
    }

    /// The problem with how a token request authenticated the client, given its
    /// `Authorization` header and its form body, if it did not do so as `self` says.
    ///
    /// ```
    /// use oc_integrate::spec::ClientAuth;
    ///
    /// assert_eq!(ClientAuth::ClientSecretPost.problem(None, b"grant_type=refresh_token&client_id=a&client_secret=s"), None);
    /// assert_eq!(
    ///     ClientAuth::ClientSecretPost.problem(Some("Basic YTpz"), b"grant_type=refresh_token").unwrap(),
    ///     "expected the client to authenticate at the token endpoint with client_secret_post (client_id and client_secret in the form, no Basic header; overview.auth.client_auth), found HTTP Basic"
    /// );
    /// ```
    pub fn problem(self, authorization: Option<&str>, body: &[u8]) -> Option<String> {
        let basic = authorization.is_some_and(|v| v.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("basic ")));
        let posted = form_urlencoded::parse(body).any(|(k, _)| k == "client_secret");
        let seen = match (basic, posted) {
            (true, false) => Some(ClientAuth::ClientSecretBasic),
            (false, true) => Some(ClientAuth::ClientSecretPost),
            _ => None,
        };
        if seen == Some(self) {
            return None;
        }
        let want = match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic (HTTP Basic, no secret in the form",
            ClientAuth::ClientSecretPost => "client_secret_post (client_id and client_secret in the form, no Basic header",
        };
        let found = match (basic, posted) {
            (true, true) => "both a Basic header and a secret in the form",
            (true, false) => "HTTP Basic",
            (false, true) => "the secret in the form",
            (false, false) => "no client authentication",
        };
        Some(format!("expected the client to authenticate at the token endpoint with {want}; overview.auth.client_auth), found {found}"))
    }
}

fn default_auth_header() -> String {
    "Authorization".into()
}

impl Auth {
    /// The header that carries the credential, if any.
    pub fn header(&self) -> Option<&str> {
        match self {
            Auth::None => None,
            Auth::ApiKey { header, .. } => Some(header),
            Auth::Oauth2 { .. } => Some("Authorization"),
        }
    }
}

/// HTTP methods a spec may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema)]
#[allow(missing_docs, clippy::upper_case_acronyms)]
pub enum Method {
    GET,
    POST,
    PUT,
    PATCH,
    DELETE,
}

impl Method {
    const ALL: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

    /// The method as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
        }
    }

    /// Whether repeating the request is safe without an idempotency key (RFC 9110 §9.2.2).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::POST | Method::PATCH)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Method::ALL
            .into_iter()
            .find(|m| v.as_str() == Some(m.as_str()))
            .ok_or_else(|| serde::de::Error::custom(format!("expected one of GET, POST, PUT, PATCH, DELETE, found {v}")))
    }
}

/// A documented rate limit such as `100/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length.
    pub per: Duration,
}

impl RateLimit {
    const UNITS: [(&'static str, u64); 6] = [("s", 1), ("sec", 1), ("min", 60), ("h", 3600), ("hour", 3600), ("day", 86400)];
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.per.as_secs();
        let unit = match secs {
            1 => "s",
            60 => "min",
            3600 => "hour",
            86400 => "day",
            _ => return write!(f, "{}/{}s", self.requests, secs),
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

impl Serialize for RateLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let parsed = v.as_str().and_then(|s| {
            let (n, unit) = s.split_once('/')?;
            let requests = n.trim().parse().ok()?;
            let secs = Self::UNITS.iter().find(|(u, _)| *u == unit.trim())?.1;
            Some(RateLimit { requests, per: Duration::from_secs(secs) })
        });
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!("expected a rate like \"100/min\" (units: s, sec, min, h, hour, day), found {v}"))
        })
    }
}

impl JsonSchema for RateLimit {
    fn schema_name() -> Cow<'static, str> {
        "RateLimit".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Requests per window, e.g. `100/min`.",
            "type": "string",
            "pattern": "^[0-9]+/(s|sec|min|h|hour|day)$"
        })
    }
}

/// One row of the seed's Endpoints table, plus what the tester needs to exercise it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Identifier used in trial names and in the binding (`create_customer`).
    pub id: String,
    /// HTTP method.
    pub method: Method,
    /// Path relative to the base URL; `{name}` segments are filled from `request.example.params`.
    pub path: String,
    /// What the project uses it for.
    pub purpose: String,
    /// Whether the call carries the service credential.
    #[serde(default = "yes")]
    pub auth: bool,
    /// Endpoint-specific rate limit, e.g. `50/min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Whether repeating the call is safe. Defaults to the method's semantics, or to
    /// `true` for a POST/PATCH that declares an `idempotency_header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// Header that carries the client's idempotency key, e.g. `Idempotency-Key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_header: Option<String>,
    /// The request the harness asks the client to make.
    #[serde(default)]
    pub request: RequestSpec,
    /// The successful response (for a paginated endpoint, its last page).
    pub response: ResponseSpec,
    /// How the endpoint pages its results, when it does: the client follows every page and
    /// returns all the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

impl Endpoint {
    /// Whether the call may be repeated after an ambiguous failure (5xx, timeout, dropped connection).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent.unwrap_or(self.method.is_idempotent() || self.idempotency_header.is_some())
    }

    /// `METHOD /path` as shown in reports.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path with `{param}` segments filled from the request example.
    pub fn concrete_path(&self) -> String {
        let mut out = self.path.clone();
        if let Some(Value::Object(params)) = self.request.example.as_ref().and_then(|e| e.get("params")) {
            for (k, v) in params {
                let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                out = out.replace(&format!("{{{k}}}"), &text);
            }
        }
        out
    }

    /// The JSON body of the request example, if any.
    pub fn request_body(&self) -> Option<&Value> {
        self.request.example.as_ref().and_then(|e| e.get("body"))
    }
}

/// The request side of an endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The input handed to the binding: `{params: {..}, query: {..}, body: ..}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// The example, kept in a JSON file relative to the spec instead (see
    /// `response.example_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SCHEMA_FILE))]
    pub example_file: Option<String>,
    /// Content type of the body, when there is one.
    #[serde(default = "json_content_type")]
    pub content_type: String,
    /// JSON Schema the request body must satisfy, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// JSON Schema the request body must satisfy, as a file relative to the spec (see
    /// `response.schema_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SCHEMA_FILE))]
    pub schema_file: Option<String>,
}

fn json_content_type() -> String {
    "application/json".into()
}

/// The success response of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["example"]}, {"required": ["example_file"]}]))]
pub struct ResponseSpec {
    /// Success status.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// A valid response body; the mock serves it. Required, unless `example_file` names it.
    #[serde(default)]
    pub example: Value,
    /// The example, kept in a JSON file relative to the spec (inside the spec's directory
    /// tree), optionally with a JSON pointer to it: `examples.json#/list_issues/response`.
    /// The planner writes large examples there, so a whole provider's spec.yaml stays a
    /// list of endpoints one can read. Loading reads it into `example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SCHEMA_FILE))]
    pub example_file: Option<String>,
    /// JSON Schema of the body, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// JSON Schema of the body, as a file relative to the spec (inside the spec's directory
    /// tree), optionally with a JSON pointer to a schema inside it:
    /// `schemas/components.json#/$defs/customer`. Endpoints that point into one file share it:
    /// it is read and compiled once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SCHEMA_FILE))]
    pub schema_file: Option<String>,
    /// Whether the client must reject a JSON body served with a non-JSON content type.
    #[serde(default = "yes")]
    pub strict_content_type: bool,
}

/// What a `schema_file` (or `example_file`) looks like: a relative path, then optionally `#`
/// and a JSON pointer.
const SCHEMA_FILE: &str = r"^[^/#][^#]*(#(/[^/]*)*)?$";

fn ok_status() -> u16 {
    200
}

/// One row of the Error Handling Matrix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// A status (`401`) or a class (`"5xx"`).
    pub status: StatusMatch,
    /// What the status means for this service.
    pub meaning: String,
    /// What the client does.
    pub action: Action,
    /// For `retry_with_longer_delays`: how much longer than the base backoff (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_factor: Option<f64>,
    /// The row applies only to responses that carry these headers (name → value, `"*"` for
    /// any value): GitHub's `{status: 403, when: {x-ratelimit-remaining: "0"}}` is a rate
    /// limit, not a refusal. A status can have several such rows besides its plain one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: BTreeMap<String, String>,
    /// For `respect_retry_after`: the header that says when the limit resets, for responses
    /// that carry it instead of Retry-After (GitHub's `x-ratelimit-reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<ResetHeader>,
    /// The body the provider sends with this status (its documented error shape); the mock
    /// provider answers with it. Absent: a generic JSON error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
}

impl ErrorRule {
    /// The header values a response needs for this row to apply (`"*"` filled with `any`).
    pub fn when_headers(&self, any: &str) -> Vec<(String, String)> {
        self.when.iter().map(|(k, v)| (k.clone(), if v == "*" { any.to_string() } else { v.clone() })).collect()
    }
}

/// A rate-limit reset header and how its value counts time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetHeader {
    /// The header's name, e.g. `x-ratelimit-reset`.
    pub header: String,
    /// How its value counts time.
    pub unit: ResetUnit,
}

/// How a reset header counts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResetUnit {
    /// The instant the limit resets, in seconds since the Unix epoch (GitHub, Twilio).
    EpochSeconds,
    /// The instant the limit resets, in milliseconds since the Unix epoch (Linear).
    EpochMilliseconds,
    /// Seconds from now until the limit resets (the IETF `RateLimit-Reset`).
    DeltaSeconds,
}

/// A status code or a class of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    /// One status.
    Code(u16),
    /// Every status in `n00..=n99`.
    Class(u16),
}

impl StatusMatch {
    /// Whether `status` falls under this row.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Code(c) => c == status,
            StatusMatch::Class(c) => status / 100 == c,
        }
    }
}

impl fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatch::Code(c) => write!(f, "{c}"),
            StatusMatch::Class(c) => write!(f, "{c}xx"),
        }
    }
}

impl Serialize for StatusMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusMatch::Code(c) => s.serialize_u16(*c),
            StatusMatch::Class(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for StatusMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let parsed = match &v {
            Value::Number(n) => n.as_u64().filter(|c| (100..600).contains(c)).map(|c| StatusMatch::Code(c as u16)),
            Value::String(s) => match s.as_bytes() {
                [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Some(StatusMatch::Class((d - b'0') as u16)),
                _ => s.parse::<u16>().ok().filter(|c| (100..600).contains(c)).map(StatusMatch::Code),
            },
            _ => None,
        };
        parsed.ok_or_else(|| serde::de::Error::custom(format!("expected a status (100-599) or a class like \"5xx\", found {v}")))
    }
}

impl JsonSchema for StatusMatch {
    fn schema_name() -> Cow<'static, str> {
        "StatusMatch".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A status code (401) or a class (\"5xx\").",
            "anyOf": [
                {"type": "integer", "minimum": 100, "maximum": 599},
                {"type": "string", "pattern": "^([1-5]xx|[1-5][0-9][0-9])$"}
            ]
        })
    }
}

/// What the client does when it gets a status (the Action column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refresh the token and retry once (401).
    RefreshAndRetryOnce,
    /// Wait as long as Retry-After says, then retry (429).
    RespectRetryAfter,
    /// Retry with exponential backoff up to `retry.max_attempts` (500).
    RetryWithBackoff,
    /// Retry with longer delays (503 maintenance).
    RetryWithLongerDelays,
    /// Do not retry; surface the error with its status.
    Fail,
}

impl Action {
    /// The action as the spec spells it (`retry_with_backoff`).
    pub fn name(self) -> &'static str {
        match self {
            Action::RefreshAndRetryOnce => "refresh_and_retry_once",
            Action::RespectRetryAfter => "respect_retry_after",
            Action::RetryWithBackoff => "retry_with_backoff",
            Action::RetryWithLongerDelays => "retry_with_longer_delays",
            Action::Fail => "fail",
        }
    }
}

/// The retry policy the client declares.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (the seed's "max 3").
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub base_delay_ms: u64,
    /// Growth of the wait per retry.
    #[serde(default = "two")]
    pub multiplier: f64,
    /// Cap on one wait.
    pub max_delay_ms: u64,
    /// Random extra wait added to each delay, at most this much.
    #[serde(default)]
    pub jitter_ms: u64,
}

fn two() -> f64 {
    2.0
}

/// The client's timeout budget.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Budget for one attempt, from sending the request to the last byte of the body.
    pub request_ms: u64,
}

/// One row of the Secrets Required table.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// What the secret is, e.g. `Client Secret`.
    pub name: String,
    /// Where it is stored, e.g. `wrangler secret`, `vault`.
    pub storage: String,
    /// Rotation schedule, e.g. `Yearly`, `Auto-refresh on 401`.
    pub rotation: String,
    /// Environment variable that holds it when tests run; its value is redacted from all output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// When it was last rotated, an RFC 3339 date (`2026-01-15`) or date-time; `oc-integrate
    /// secrets` judges its age against `rotation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<String>,
}

/// The smallest `test_profile.time_scale` (or `OC_TIME_SCALE`) a run can honour: a finer
/// scale asks for waits shorter than a timer keeps.
pub const MIN_TIME_SCALE: f64 = 0.001;

/// The seed's Test Plan block.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestPlan {
    /// Unit tests with mocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Sandbox tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// Edge cases the plan names.
    #[serde(default)]
    pub edge_cases: Vec<String>,
}

/// How the generated mock suite runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestProfile {
    /// Factor applied to the client's own delays and timeout through the context
    /// (e.g. 0.05 turns a 10 s budget into 0.5 s). Checks stay relative to the scaled policy.
    #[serde(default = "one")]
    pub time_scale: f64,
    /// The wait the mock advertises in `Retry-After`, in whole seconds.
    #[serde(default = "one_second")]
    pub retry_after_s: u64,
}

impl Default for TestProfile {
    fn default() -> Self {
        TestProfile { time_scale: 1.0, retry_after_s: 1 }
    }
}

fn one() -> f64 {
    1.0
}

fn one_second() -> u64 {
    1
}

impl Spec {
    /// The matrix row that covers `status` when the response carries none of the rows'
    /// `when` headers, the most specific first.
    pub fn rule_for(&self, status: u16) -> Option<&ErrorRule> {
        let plain = || self.error_handling.iter().filter(|r| r.when.is_empty());
        plain().find(|r| r.status == StatusMatch::Code(status)).or_else(|| plain().find(|r| r.status.matches(status)))
    }

    /// The action for `status`, if the matrix has a row for it.
    pub fn action_for(&self, status: u16) -> Option<Action> {
        self.rule_for(status).map(|r| r.action)
    }

    /// `file:line:col` of the value at `path`.
    pub fn locate(&self, path: &str) -> String {
        let at = self.source_map.locate(path);
        format!("{}:{}:{}", self.file.display(), at.line, at.col)
    }
}

/// The path of a URL without its trailing slash (`https://x/v1/` → `/v1`), kept when the
/// harness points a client at a mock provider.
pub fn url_path(url: &str) -> String {
    reqwest::Url::parse(url).map(|u| u.path().trim_end_matches('/').to_string()).unwrap_or_default()
}

/// The JSON Schema of `spec.yaml`, as published in `schemas/spec.schema.json`.
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(Spec);
    serde_json::to_value(schema).expect("a schemars schema is valid JSON")
}
