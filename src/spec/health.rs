//! The spec's `health` section: what `oc-integrate health` probes for this integration (an
//! endpoint or path, the status it must answer, the latency above which it is degraded,
//! whether the credential is checked, the deployed webhook receiver) and with which timeout.
//! Every field has a default, so a spec without the section is still probed (the sandbox's
//! `auth_check` path, 200, 500 ms).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{SandboxCredentials, is_yes, yes};

/// How `oc-integrate health` probes this integration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// The endpoint to probe, by id; it must be a GET without path parameters (or with
    /// example values for them). Exclusive with `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// A GET path under the base URL to probe, e.g. `/health` (default: the sandbox's
    /// `auth_check`). Exclusive with `endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `GET` (the default) or `HEAD`: probes never write.
    #[serde(default, skip_serializing_if = "ProbeMethod::is_get")]
    pub method: ProbeMethod,
    /// The status a healthy integration answers (default: the endpoint's declared status, else 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Above this round trip the integration is degraded (⚠️ high latency).
    #[serde(default = "latency_warn_ms", skip_serializing_if = "is_latency_warn_ms")]
    pub latency_warn_ms: u64,
    /// Each probe's own timeout, connection to last byte.
    #[serde(default = "timeout_ms", skip_serializing_if = "is_timeout_ms")]
    pub timeout_ms: u64,
    /// Whether the credential is checked (the API key by the probe's answer; an OAuth 2.0
    /// token by introspection where the authorization server offers it, else by a grant that
    /// spends nothing).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub token: bool,
    /// OAuth 2.0: the token introspection endpoint (RFC 7662), a path on the token endpoint's
    /// origin (default: the sandbox's `token_gate` when probing the sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_path: Option<String>,
    /// The project's deployed webhook receiver, probed with a GET: any answer below 500 but
    /// 404 means it is up (an unsigned GET is refused by a healthy receiver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// An environment variable that, when set, replaces `webhook_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_env: Option<String>,
    /// Which `secrets` rows hold the credentials when probing production (default: the
    /// sandbox section's `credentials`, which name the same rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<SandboxCredentials>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            endpoint: None,
            path: None,
            method: ProbeMethod::Get,
            status: None,
            latency_warn_ms: latency_warn_ms(),
            timeout_ms: timeout_ms(),
            token: true,
            introspection_path: None,
            webhook_url: None,
            webhook_url_env: None,
            credentials: None,
        }
    }
}

/// How a probe asks: never a write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProbeMethod {
    /// `GET`.
    #[default]
    #[serde(rename = "GET")]
    Get,
    /// `HEAD`.
    #[serde(rename = "HEAD")]
    Head,
}

impl ProbeMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMethod::Get => "GET",
            ProbeMethod::Head => "HEAD",
        }
    }

    fn is_get(&self) -> bool {
        *self == ProbeMethod::Get
    }
}

fn latency_warn_ms() -> u64 {
    500
}

fn is_latency_warn_ms(v: &u64) -> bool {
    *v == latency_warn_ms()
}

fn timeout_ms() -> u64 {
    5000
}

fn is_timeout_ms(v: &u64) -> bool {
    *v == timeout_ms()
}
