//! The spec's `sandbox` section: where the provider's sandbox is, which hosts may receive
//! the project's requests (writes included), which `secrets` rows hold the credentials,
//! and what each endpoint needs before it can be called there (objects to create first,
//! path parameters taken from them). The harness generates the sandbox trials from it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Method, is_yes, yes};

/// The provider's sandbox, for the sandbox trials (`<service>::sandbox::…`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// The sandbox's base URL, the counterpart of `overview.base_url` (its path is kept).
    /// Must be on a host other than production's.
    pub url: String,
    /// An environment variable that, when set, replaces `url` (a local sandbox started on a
    /// port chosen at run time). Its host must still be one of `hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The hosts requests may go to, writes included (default: `url`'s host). Production's
    /// host is never allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Which `secrets` rows (by name; each needs `env:`) hold the sandbox credentials.
    pub credentials: SandboxCredentials,
    /// OAuth 2.0: the sandbox's token endpoint, the counterpart of `overview.auth.token_url`.
    /// Its host must be one of `hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// An environment variable that, when set, replaces `token_url` (an authorization
    /// server started on a port chosen at run time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url_env: Option<String>,
    /// OAuth 2.0: the token revocation endpoint (RFC 7009), a path on the token endpoint's
    /// origin. With it and a refresh token the `token_refresh` trial runs: the harness
    /// revokes the client's access token and the client must refresh through the real token
    /// endpoint (twice when refresh tokens rotate, so the rotated one must have been kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_path: Option<String>,
    /// OAuth 2.0: a token introspection endpoint (RFC 7662), a path on the token endpoint's
    /// origin, for a sandbox API that does not check tokens itself (an OpenAPI mock such as
    /// Prism). The recording proxy then asks it about the client's bearer token before
    /// forwarding, and answers 401 itself for a missing or inactive one, as the provider's
    /// API would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_gate: Option<String>,
    /// A GET path (relative to the base URL) that answers 2xx to an accepted credential;
    /// the auth trial calls it with and without the credential, the rate-limit probe repeats it.
    pub auth_check: String,
    /// Whether the sandbox must honour idempotency keys. When `false` a sandbox that does
    /// not is reported as a finding and the idempotency trial passes; when `true` it fails.
    #[serde(default)]
    pub honours_idempotency: bool,
    /// What an endpoint needs before it can be called in the sandbox, by endpoint id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, SandboxEndpoint>,
}

/// The credentials of the sandbox, each the name of a `secrets` row that has `env:`:
/// `api_key` for `overview.auth.kind: api_key`; `client_id`, `client_secret` and
/// optionally `refresh_token` for `oauth2`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxCredentials {
    /// The secret whose environment variable holds the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// OAuth 2.0: the secret holding the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OAuth 2.0: the secret holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// OAuth 2.0: the secret holding a refresh token of a sandbox user (from a one-time
    /// login). The harness's token then comes from a `refresh_token` grant; without one,
    /// from `client_credentials`. A rotating refresh token is spent by its first use, so
    /// the trials of one run share the tokens within their process (run them with
    /// `cargo test`, one process, rather than a process per trial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl SandboxCredentials {
    /// Every named credential with its field name, in a fixed order.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        [
            ("api_key", &self.api_key),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("refresh_token", &self.refresh_token),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// What one endpoint needs in the sandbox.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxEndpoint {
    /// Requests the harness itself sends to the sandbox first, in order (objects the
    /// call needs, such as a confirmed payment to capture). Their answers can be quoted
    /// as `${name.field}` in later setup bodies and in `params`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<SetupRequest>,
    /// Path parameters replacing those of `request.example.params`, e.g. `{id: "${customer.id}"}`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schemars(with = "BTreeMap<String, Value>")]
    pub params: serde_json::Map<String, Value>,
    /// Headers the recording proxy adds to the client's requests for this endpoint, for
    /// what only the sandbox needs (e.g. Prism's `Prefer: dynamic=true`, or a sandbox's
    /// test-mode switch). Shown in the recordings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Whether the drift trial runs for this endpoint (default true). `false` for a sandbox
    /// that generates this answer afresh each time, whose shape cannot be a baseline.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub drift: bool,
}

/// A request the harness sends to the sandbox before an endpoint's call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The name its answer is quoted by (`${name.field}`).
    pub name: String,
    /// HTTP method.
    pub method: Method,
    /// Path relative to the sandbox's base URL.
    pub path: String,
    /// JSON body, if any; string values may quote earlier answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The `${name.field.sub}` references in `text`: `(name, JSON pointer)` pairs such as
/// `("customer", "/id")`.
///
/// ```
/// let refs = oc_integrate::spec::references("${intent.id}/x/${card.card.last4}");
/// assert_eq!(refs, [("intent".to_string(), "/id".to_string()), ("card".to_string(), "/card/last4".to_string())]);
/// ```
pub fn references(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        let (name, field) = inner.split_once('.').unwrap_or((inner, ""));
        let pointer: String = field.split('.').filter(|s| !s.is_empty()).map(|s| format!("/{s}")).collect();
        out.push((name.to_string(), pointer));
        rest = &after[end + 1..];
    }
    out
}

/// `items` as prose: `a`, `a and b`, `a, b and c` (for messages that name several things).
pub(crate) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.as_ref().to_string(),
        Some((last, rest)) => format!("{} and {}", rest.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", "), last.as_ref()),
    }
}

/// The host of `url`, lowercased, when it has one.
pub fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase)
}

impl Sandbox {
    /// The hosts that may receive requests: `hosts`, or `url`'s host when none are listed.
    pub fn allowed_hosts(&self) -> Vec<String> {
        if self.hosts.is_empty() {
            host_of(&self.url).into_iter().collect()
        } else {
            // an IPv6 address as a URL writes it: in brackets
            self.hosts
                .iter()
                .map(|h| if h.contains(':') && !h.starts_with('[') { format!("[{h}]") } else { h.to_ascii_lowercase() })
                .collect()
        }
    }
}

impl Default for SandboxEndpoint {
    fn default() -> Self {
        SandboxEndpoint { setup: Vec::new(), params: Default::default(), headers: BTreeMap::new(), drift: true }
    }
}
