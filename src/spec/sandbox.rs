//! The spec's `sandbox` section: where the provider's sandbox is, which hosts may receive
//! the project's requests (writes included), which `secrets` rows hold the credentials,
//! and what each endpoint needs before it can be called there (objects to create first,
//! path parameters taken from them). The harness generates the sandbox trials from it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Method;

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

/// The credentials of the sandbox, each the name of a `secrets` row that has `env:`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxCredentials {
    /// The secret whose environment variable holds the API key (`overview.auth.kind: api_key`).
    pub api_key: String,
}

/// What one endpoint needs in the sandbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
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
            self.hosts.iter().map(|h| h.to_ascii_lowercase()).collect()
        }
    }
}
