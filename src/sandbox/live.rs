//! Where a service's sandbox is and with which credentials it is reached, read from the
//! environment (the spec's `*_env` overrides, the `secrets` rows' variables), checked against
//! the declared hosts before anything is sent. The sandbox trials and `oc-integrate health`
//! both start from it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::proxy::OAuthClient;
use crate::spec::{Auth, Sandbox, SandboxCredentials, Spec, host_of};

/// Where and with which credentials a service's sandbox trials run, read from the environment.
pub(crate) struct Live {
    pub base: reqwest::Url,
    pub hosts: Vec<String>,
    pub credential: Credential,
}

/// The sandbox credential.
#[derive(Clone)]
pub(crate) enum Credential {
    /// An API key.
    ApiKey(String),
    /// An OAuth 2.0 client, its sandbox token endpoint and maybe a user's refresh token.
    Oauth(Oauth),
}

/// The OAuth 2.0 side of a sandbox.
#[derive(Clone)]
pub(crate) struct Oauth {
    pub token_url: reqwest::Url,
    pub client: OAuthClient,
    pub refresh_token: Option<String>,
    /// The environment variables of the client secret and the refresh token, for hints.
    pub secret_env: String,
    pub refresh_env: String,
}

impl Oauth {
    /// `path` on the token endpoint's origin.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.token_url.origin().ascii_serialization())
    }
}

/// Why the trials cannot run: `fatal` for a configuration that must never run (a URL
/// override aimed at production or an undeclared host), else a reason to ignore them.
pub(crate) struct Unready {
    pub reason: String,
    pub fatal: bool,
}

/// `url` from the environment variable `env` when set, else `declared`; checked to be an
/// absolute http(s) URL on one of `hosts` and not on `production`'s host.
pub(crate) fn located(
    env: Option<&String>,
    field: &str,
    declared: &str,
    hosts: &[String],
    production: &[String],
) -> Result<reqwest::Url, Unready> {
    let from_env = env.and_then(|n| std::env::var(n).ok().filter(|v| !v.is_empty()).map(|v| (n.clone(), v)));
    let (source, url) = from_env.unwrap_or_else(|| (format!("sandbox.{field}"), declared.to_string()));
    let fatal = |reason: String| Unready { reason, fatal: true };
    let url = reqwest::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| fatal(format!("{source}: expected an absolute http(s) URL, found {:?}", crate::text::clip(&url))))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fatal(format!(
            "{source}: expected a URL without credentials in it, found one with a user name or password (the secrets rows hold credentials): refused before any request left"
        )));
    }
    let host = url.host_str().map(str::to_ascii_lowercase).unwrap_or_default();
    if production.contains(&host) {
        return Err(fatal(format!("{source} points at production's host ({host}): refused before any request left")));
    }
    if !hosts.contains(&host) {
        return Err(fatal(format!(
            "{source} points at host {host}, which sandbox.hosts does not list ({}): refused before any request left",
            hosts.join(", ")
        )));
    }
    Ok(url)
}

/// Which deployment of a provider is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The spec's `sandbox` section (its `*_env` overrides, its hosts).
    Sandbox,
    /// `overview.base_url` and the OAuth 2.0 token endpoint, production's hosts only.
    Production,
}

impl Target {
    /// `sandbox` or `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Sandbox => "sandbox",
            Target::Production => "production",
        }
    }
}

/// Where requests go: a base URL, the hosts allowed, the OAuth 2.0 token endpoint.
pub(crate) struct Place {
    pub base: reqwest::Url,
    pub hosts: Vec<String>,
    pub token_url: Option<reqwest::Url>,
}

/// The sandbox of `spec` (section `s`): its base URL and token endpoint (from their `*_env`
/// overrides when set), on the declared hosts and never production's, and the credentials
/// the section names, from their variables.
pub(crate) fn live(spec: &Spec, s: &Sandbox) -> Result<Live, Unready> {
    let Place { base, hosts, token_url } = sandbox(spec, s)?;
    let credential = credential(spec, &s.credentials, token_url)?;
    Ok(Live { base, hosts, credential })
}

/// `target`'s place for `spec`; the sandbox needs a `sandbox` section.
pub(crate) fn place(spec: &Spec, target: Target) -> Result<Place, Unready> {
    match (target, &spec.sandbox) {
        (Target::Production, _) => production(spec),
        (Target::Sandbox, Some(s)) => sandbox(spec, s),
        (Target::Sandbox, None) => {
            Err(Unready { reason: "no sandbox section (use --production for production, or declare sandbox:)".into(), fatal: false })
        }
    }
}

/// The sandbox's place: `url` and `token_url` (or their `*_env` overrides), on its hosts.
pub(crate) fn sandbox(spec: &Spec, s: &Sandbox) -> Result<Place, Unready> {
    let hosts = s.allowed_hosts();
    let production = production_hosts(spec);
    let base = located(s.url_env.as_ref(), "url", &s.url, &hosts, &production)?;
    let token_url = match &spec.overview.auth {
        Auth::Oauth2 { .. } => {
            let declared = s.token_url.clone().unwrap_or_default();
            Some(located(s.token_url_env.as_ref(), "token_url", &declared, &hosts, &production)?)
        }
        _ => None,
    };
    Ok(Place { base, hosts, token_url })
}

/// Production's place as the spec declares it (`overview.base_url`, the OAuth 2.0 token
/// endpoint), its hosts the only ones allowed.
pub(crate) fn production(spec: &Spec) -> Result<Place, Unready> {
    let parse = |field: &str, url: &str| {
        reqwest::Url::parse(url)
            .map_err(|e| Unready { reason: format!("{field}: expected an absolute URL, found {url:?} ({e})"), fatal: true })
    };
    let base = parse("overview.base_url", &spec.overview.base_url)?;
    let token_url = match &spec.overview.auth {
        Auth::Oauth2 { token_url, .. } => Some(parse("overview.auth.token_url", token_url)?),
        _ => None,
    };
    Ok(Place { base, hosts: production_hosts(spec), token_url })
}

/// Production's hosts: the API's, and for OAuth 2.0 its authorization server's.
fn production_hosts(spec: &Spec) -> Vec<String> {
    let mut production: Vec<String> = host_of(&spec.overview.base_url).into_iter().collect();
    if let Auth::Oauth2 { token_url, .. } = &spec.overview.auth {
        production.extend(host_of(token_url));
    }
    production
}

/// The credential `named` names, read from the secrets rows' variables (an OAuth 2.0 client
/// at `token_url`); not ready while a variable is unset.
pub(crate) fn credential(spec: &Spec, named: &SandboxCredentials, token_url: Option<reqwest::Url>) -> Result<Credential, Unready> {
    let mut values = BTreeMap::new();
    let mut envs = BTreeMap::new();
    let mut missing = Vec::new();
    for (field, name) in named.named() {
        let env = spec.secrets.iter().find(|x| x.name == name).and_then(|x| x.env.clone()).unwrap_or_default();
        envs.insert(field, env.clone());
        match std::env::var(&env).ok().filter(|v| !v.is_empty()) {
            Some(v) => {
                values.insert(field, v);
            }
            None => missing.push(env),
        }
    }
    if !missing.is_empty() {
        return Err(Unready { reason: format!("set {} to run", crate::spec::and_list(&missing)), fatal: false });
    }
    Ok(match (&spec.overview.auth, token_url) {
        (Auth::Oauth2 { client_auth, .. }, Some(token_url)) => {
            let mut value = |k| values.remove(k).unwrap_or_default();
            let client = OAuthClient { id: value("client_id"), secret: value("client_secret"), auth: *client_auth };
            let env = |k| envs.get(k).cloned().unwrap_or_default();
            Credential::Oauth(Oauth {
                token_url,
                client,
                refresh_token: values.remove("refresh_token"),
                secret_env: env("client_secret"),
                refresh_env: env("refresh_token"),
            })
        }
        _ => Credential::ApiKey(values.remove("api_key").unwrap_or_default()),
    })
}

/// Whether something listens at `url`'s host and port within `within`; else why not
/// (the system's reason, e.g. `Connection refused (os error 111)`).
pub(crate) async fn reachable(url: &reqwest::Url, within: Duration) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    match tokio::time::timeout(within, tokio::net::TcpStream::connect((host.as_str(), port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {}", crate::timeline::secs(within))),
    }
}
