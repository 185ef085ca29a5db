//! The seed's "health monitoring (ongoing)": live probes of each integration for
//! `oc-integrate health`. A probe is one GET (or HEAD) of the spec's `health` target with the
//! integration's credential, a check of the credential itself (an API key by the probe's
//! answer; an OAuth 2.0 token by introspection, RFC 7662, which spends nothing, or by a
//! `client_credentials` grant), and a GET of the deployed webhook receiver when one is
//! declared. Every request goes through the sandbox trials' [`Upstream`]: declared hosts
//! only (the sandbox's, or production's with [`Target::Production`]), credentials from the
//! environment, nothing but GET/HEAD to the API. Each probe has its own timeout and every
//! integration is probed at once, within one budget, so a dead host never stalls the rest.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::oauth::{self, OauthError};
use crate::progress::Progress;
use crate::redact;
pub use crate::sandbox::live::Target;
use crate::sandbox::live::{self, Credential, Oauth, Unready};
use crate::sandbox::proxy::{By, Upstream};
use crate::sandbox::throttle::Throttle;
use crate::spec::{Auth, Health, Spec};
use crate::text::rfc3339;

/// How an integration is: the seed's ✅, ⚠️ and ❌.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Reachable, answering as declared, fast enough, its credential accepted.
    Healthy,
    /// Working, but slower than its threshold, or its credential could not be checked or
    /// is about to expire.
    Degraded,
    /// Unreachable, answering 5xx or not as declared, refused, or its credential invalid.
    Down,
}

impl State {
    /// The seed's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            State::Healthy => "✅",
            State::Degraded => "⚠️",
            State::Down => "❌",
        }
    }
}

/// One request a probe made, and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// `GET` or `HEAD`.
    pub method: String,
    /// Where it went.
    pub url: String,
    /// The status, when an answer came.
    pub status: Option<u16>,
    /// The round trip in milliseconds, when an answer came.
    pub latency_ms: Option<u64>,
    /// Why no answer came (refused before it left, no connection, no answer in time).
    pub error: Option<String>,
}

/// What the credential check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Token {
    /// An API key the API accepted.
    Accepted,
    /// An OAuth 2.0 token the authorization server reports active (or just issued).
    Valid {
        /// Which token: `refresh token` or `access token`.
        of: String,
        /// Seconds until it expires, when known.
        expires_in_s: Option<u64>,
    },
    /// Refused: revoked, expired, or not accepted.
    Invalid {
        /// What said so.
        why: String,
    },
    /// Not checked, and why (no credential set, no way to check without spending it).
    Unchecked {
        /// Why not.
        why: String,
    },
    /// The integration declares no auth, or `health.token: false`.
    None,
}

/// One integration's health.
#[derive(Debug, Clone, Serialize)]
pub struct Integration {
    /// The service id (its directory).
    pub service: String,
    /// The service's display name.
    pub name: String,
    /// ✅, ⚠️ or ❌.
    pub state: State,
    /// The API probe (none when it could not be made at all).
    pub api: Option<Probe>,
    /// The credential check.
    pub token: Token,
    /// The webhook receiver probe, when one is declared.
    pub webhook: Option<Probe>,
    /// What is wrong, each a sentence for the Issues list.
    pub issues: Vec<String>,
    /// The short remark after the latency on the seed's line (`token valid`, `high latency`).
    pub remark: String,
    /// When the probes finished.
    pub checked_at: String,
}

/// Probe every spec in `specs` at once, each integration within `budget`, each verdict
/// counted in `progress`.
pub async fn check_all(specs: &[Spec], target: Target, budget: Duration, progress: &Progress) -> Vec<Integration> {
    progress.start("health: integrations checked", specs.len());
    let each = specs.iter().map(|s| async move {
        let found = match tokio::time::timeout(budget, check(s, target)).await {
            Ok(found) => found,
            Err(_) => {
                let why = format!("no verdict within the {} budget", crate::timeline::secs(budget));
                Integration::down(s, why.clone(), vec![format!("{} {why} — investigate", s.name)])
            }
        };
        progress.step();
        found
    });
    let found = futures::future::join_all(each).await;
    progress.finish();
    found
}

/// Probe one integration.
pub async fn check(spec: &Spec, target: Target) -> Integration {
    let h = spec.health.clone().unwrap_or_default();
    let place = match live::place(spec, target) {
        Ok(p) => p,
        Err(Unready { reason, fatal: false }) => {
            return Integration::down(spec, format!("not probed — {reason}"), vec![format!("{} not probed: {reason}", spec.name)]);
        }
        Err(Unready { reason, .. }) => {
            let reason = redact::redact(&reason);
            return Integration::down(spec, format!("refused — {reason}"), vec![format!("{} refused: {reason}", spec.name)]);
        }
    };
    let Some(path) = probe_path(spec, &h) else {
        let why = "nothing to probe: declare health.endpoint or health.path";
        return Integration::down(spec, format!("not probed — {why}"), vec![format!("{} not probed: {why}", spec.name)]);
    };
    let named = h.credentials.clone().or_else(|| spec.sandbox.as_ref().map(|s| s.credentials.clone())).unwrap_or_default();
    let credential = match (&spec.overview.auth, h.token) {
        (Auth::None, _) | (_, false) => Ok(None),
        _ => live::credential(spec, &named, place.token_url.clone()).map(Some),
    };
    if let Ok(Some(c)) = &credential {
        match c {
            Credential::ApiKey(k) => redact::register(k),
            Credential::Oauth(o) => {
                [Some(&o.client.secret), o.refresh_token.as_ref()].into_iter().flatten().for_each(|v| redact::register(v))
            }
        }
    }
    let timeout = Duration::from_millis(h.timeout_ms);
    // in production the deployed receiver is the project's own host, declared in the spec
    let mut hosts = place.hosts.clone();
    if target == Target::Production {
        hosts.extend(h.webhook_url.as_deref().and_then(crate::spec::host_of));
    }
    let up = Upstream::new(place.base.clone(), hosts.clone(), Throttle::of(&spec.id, spec.overview.rate_limit), timeout * 2);
    let probing = Probing { spec, h: &h, up: &up, hosts, target, timeout };
    let (token, webhook) = futures::future::join(probing.token(&credential), probing.webhook()).await;
    let (token, access) = token;
    let header = match (&spec.overview.auth, credential.as_ref().ok().and_then(Option::as_ref), access) {
        (Auth::ApiKey { header, prefix }, Some(Credential::ApiKey(key)), _) => Some((header.clone(), format!("{prefix}{key}"))),
        (Auth::Oauth2 { .. }, _, Some(token)) => Some(("Authorization".to_string(), format!("Bearer {token}"))),
        _ => None,
    };
    let sent_credential = header.is_some();
    let api = probing.send(h.method.as_str(), &up.url(&path), header.into_iter().collect()).await;
    probing.judge(api, token, webhook, sent_credential)
}

/// The path `h` probes: its endpoint's (example parameters and query filled in), its path,
/// else the sandbox's `auth_check`.
fn probe_path(spec: &Spec, h: &Health) -> Option<String> {
    if let Some(e) = h.endpoint.as_ref().and_then(|id| spec.endpoints.iter().find(|e| &e.id == id)) {
        let query = e.request.example.as_ref().and_then(|x| x.get("query")).and_then(Value::as_object);
        let mut path = e.concrete_path();
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in q {
                form.append_pair(k, &v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
            path = format!("{path}?{}", form.finish());
        }
        return Some(path);
    }
    h.path.clone().or_else(|| spec.sandbox.as_ref().map(|s| s.auth_check.clone()))
}

/// One integration's probes in progress.
struct Probing<'a> {
    spec: &'a Spec,
    h: &'a Health,
    up: &'a Upstream,
    /// The hosts requests may go to.
    hosts: Vec<String>,
    target: Target,
    timeout: Duration,
}

impl Probing<'_> {
    /// Send one request (unless its host is not allowed), within the probe's timeout.
    async fn send(&self, method: &str, url: &str, headers: Vec<(String, String)>) -> Probe {
        let mut probe = Probe { method: method.to_string(), url: url.to_string(), status: None, latency_ms: None, error: None };
        let parsed = reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        let Some(u) = parsed else {
            probe.url = crate::text::printable(&crate::text::clip(url));
            probe.error = Some(format!("expected an absolute http(s) URL, found {:?}", probe.url));
            return probe;
        };
        if !u.username().is_empty() || u.password().is_some() {
            let mut shown = u.clone();
            let _ = (shown.set_username(""), shown.set_password(None));
            probe.url = shown.to_string();
            probe.error =
                Some("expected a URL without credentials in it, found a user name or password: refused before any request left".into());
            return probe;
        }
        let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
        if !self.hosts.contains(&host) {
            let target = if self.target == Target::Sandbox { "the sandbox" } else { "production" };
            probe.error = Some(format!(
                "host {host} is not one the spec allows for {target} ({}): refused before any request left",
                self.hosts.join(", ")
            ));
            return probe;
        }
        if let Err(why) = live::reachable(&u, self.timeout).await {
            probe.error = Some(why);
            return probe;
        }
        match tokio::time::timeout(self.timeout, self.up.send(By::Probe, method, url, headers, Vec::new())).await {
            Err(_) => probe.error = Some(format!("no answer within {} ms", self.timeout.as_millis())),
            Ok(x) if x.refused.is_some() => probe.error = x.refused.map(|r| redact::redact(&r)),
            Ok(x) => match x.status {
                Some(s) => {
                    probe.status = Some(s);
                    probe.latency_ms = Some(x.latency.as_millis() as u64);
                }
                None => probe.error = Some(redact::redact(&String::from_utf8_lossy(&x.body))),
            },
        }
        probe
    }

    /// The credential check, and an access token for the API probe when one was issued.
    async fn token(&self, credential: &Result<Option<Credential>, Unready>) -> (Token, Option<String>) {
        let o = match credential {
            Ok(None) => return (Token::None, None),
            Err(Unready { reason, .. }) => {
                let why = reason.strip_suffix(" to run").map(|r| format!("{r} to check it")).unwrap_or_else(|| reason.clone());
                return (Token::Unchecked { why: redact::redact(&why) }, None);
            }
            // judged by the API probe's answer
            Ok(Some(Credential::ApiKey(_))) => return (Token::Accepted, None),
            Ok(Some(Credential::Oauth(o))) => o,
        };
        let introspection = self.h.introspection_path.clone().or_else(|| match self.target {
            Target::Sandbox => self.spec.sandbox.as_ref().and_then(|s| s.token_gate.clone()),
            Target::Production => None,
        });
        let rotates = matches!(self.spec.overview.auth, Auth::Oauth2 { rotates_refresh_token: true, .. });
        match (&o.refresh_token, introspection) {
            (Some(refresh), Some(path)) => (self.introspect(o, &o.url(&path), refresh).await, None),
            (Some(_), None) if rotates => (
                Token::Unchecked {
                    why: "a refresh would spend the rotating refresh token; declare health.introspection_path to check it".into(),
                },
                None,
            ),
            (Some(refresh), None) => self.grant(o, &[("grant_type", "refresh_token"), ("refresh_token", refresh)], Some(refresh)).await,
            (None, _) => self.grant(o, &[("grant_type", "client_credentials")], None).await,
        }
    }

    /// Ask the authorization server whether the refresh token is active (RFC 7662).
    async fn introspect(&self, o: &Oauth, url: &str, token: &str) -> Token {
        match tokio::time::timeout(self.timeout, oauth::introspect(self.up, &o.client, url, token, "refresh_token")).await {
            Err(_) => Token::Unchecked { why: format!("no answer from {url} within {} ms", self.timeout.as_millis()) },
            Ok(Err(e)) => Token::Unchecked { why: e.to_string() },
            Ok(Ok(i)) if i.active => Token::Valid { of: "refresh token".into(), expires_in_s: i.expires_in_s },
            Ok(Ok(_)) => Token::Invalid { why: "the authorization server reports the refresh token inactive (revoked or expired)".into() },
        }
    }

    /// A grant that spends nothing the integration keeps; the access token it issued.
    /// `refresh`: the refresh token the grant presents, which the spec says does not rotate.
    async fn grant(&self, o: &Oauth, pairs: &[(&str, &str)], refresh: Option<&str>) -> (Token, Option<String>) {
        let url = o.token_url.as_str();
        match tokio::time::timeout(self.timeout, oauth::grant(self.up, &o.client, url, pairs)).await {
            Err(_) => (Token::Unchecked { why: format!("no answer from {url} within {} ms", self.timeout.as_millis()) }, None),
            Ok(Err(e @ OauthError::Refused { .. })) => (Token::Invalid { why: e.to_string() }, None),
            Ok(Err(e)) => (Token::Unchecked { why: e.to_string() }, None),
            Ok(Ok(t)) if refresh.is_some() && t.refresh_token.is_some() && t.refresh_token.as_deref() != refresh => (
                Token::Invalid {
                    why: "the authorization server rotated the refresh token, which overview.auth.rotates_refresh_token says it does not: the stored one is now spent (declare rotates_refresh_token: true and store a new one: oc-integrate oauth login)".into(),
                },
                None,
            ),
            Ok(Ok(t)) => (Token::Valid { of: "access token".into(), expires_in_s: t.expires_in }, Some(t.access_token)),
        }
    }

    /// The deployed webhook receiver's probe, when one is declared (its URL on an allowed host).
    async fn webhook(&self) -> Option<Probe> {
        let from_env = self.h.webhook_url_env.as_ref().and_then(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        let url = from_env.or(self.h.webhook_url.clone())?;
        Some(self.send("GET", &url, Vec::new()).await)
    }

    /// The verdict from what the probes found.
    fn judge(&self, api: Probe, mut token: Token, webhook: Option<Probe>, sent_credential: bool) -> Integration {
        let name = &self.spec.name;
        let warn = self.h.latency_warn_ms;
        let mut down: Vec<(String, String)> = Vec::new();
        let mut degraded: Vec<(String, String)> = Vec::new();
        let path = reqwest::Url::parse(&api.url).map(|u| u.path().to_string()).unwrap_or_else(|_| api.url.clone());
        let expected = self.h.status.or_else(|| self.endpoint_status()).unwrap_or(200);
        match (&api.error, api.status) {
            (Some(e), _) if e.contains("refused before it left") => {
                down.push((format!("refused — {e}"), format!("{name} probe refused: {e}")));
            }
            (Some(e), _) => down.push((format!("unreachable — {e}"), format!("{name} unreachable at {}: {e} — investigate", api.url))),
            (None, Some(s)) if s >= 500 => down.push((
                format!("unreachable — {} {path} {s}", api.method),
                format!("{name} {} {path} returning {s} — investigate", api.method),
            )),
            (None, Some(s @ (401 | 403))) if sent_credential => {
                token = Token::Invalid { why: format!("{} {path} answered {s} to the credential", api.method) };
            }
            // without a credential (an OAuth 2.0 token that cannot be had without spending it) a refusal is the answer expected
            (None, Some(s)) if s != expected && (sent_credential || !matches!(s, 401 | 403)) => down
                .push((format!("answered {s}"), format!("{name} {} {path} answered {s}, expected {expected} — investigate", api.method))),
            _ => {}
        }
        if token == Token::Accepted && api.status.is_none() {
            token = Token::Unchecked { why: "the API did not answer".into() };
        }
        if let Token::Invalid { why } = &token {
            down.push(("token invalid".into(), format!("{name} token invalid: {why} — authorize again")));
        }
        if let Some(w) = &webhook {
            match (&w.error, w.status) {
                (Some(e), _) if e.contains("refused before any request left") => {
                    down.push((format!("refused — webhook endpoint: {e}"), format!("{name} webhook probe refused: {e}")))
                }
                (Some(e), _) => down.push((
                    format!("unreachable — webhook endpoint: {e}"),
                    format!("{name} webhook endpoint unreachable: {e} — investigate"),
                )),
                (None, Some(s)) if s >= 500 || s == 404 => down
                    .push((format!("unreachable — webhook endpoint {s}"), format!("{name} webhook endpoint returning {s} — investigate"))),
                _ => {}
            }
        }
        for (what, p) in [("", Some(&api)), ("webhook endpoint ", webhook.as_ref())] {
            if let Some(ms) = p.and_then(|p| p.latency_ms).filter(|ms| *ms > warn) {
                degraded.push(("high latency".into(), format!("{name} {what}latency {ms}ms > {warn}ms threshold")));
            }
        }
        match &token {
            Token::Unchecked { why } if api.status.is_some() => {
                degraded.push(("token not checked".into(), format!("{name} token not checked: {why}")))
            }
            Token::Valid { of, expires_in_s: Some(s) } if of == "refresh token" && *s < 86_400 => degraded.push((
                format!("token expires in {}", crate::text::span(*s)),
                format!("{name} refresh token expires in {}: authorize again before then", crate::text::span(*s)),
            )),
            _ => {}
        }
        let (state, remark) = match (down.first(), degraded.first()) {
            (Some((r, _)), _) => (State::Down, r.clone()),
            (None, Some((r, _))) => (State::Degraded, r.clone()),
            (None, None) => (State::Healthy, token.remark()),
        };
        let issues = down.into_iter().chain(degraded).map(|(_, issue)| crate::text::printable(&redact::redact(&issue))).collect();
        Integration {
            service: self.spec.id.clone(),
            name: name.clone(),
            state,
            api: Some(api),
            token,
            webhook,
            issues,
            remark: crate::text::printable(&redact::redact(&remark)),
            checked_at: rfc3339(SystemTime::now()),
        }
    }

    /// The declared status of the endpoint probed, when the probe is an endpoint.
    fn endpoint_status(&self) -> Option<u16> {
        let id = self.h.endpoint.as_ref()?;
        self.spec.endpoints.iter().find(|e| &e.id == id).map(|e| e.response.status)
    }
}

impl Token {
    /// The seed's remark for a healthy integration (`token valid`).
    fn remark(&self) -> String {
        match self {
            Token::Accepted => "key accepted".into(),
            Token::Valid { expires_in_s: Some(s), .. } => format!("token valid, expires in {}", crate::text::span(*s)),
            Token::Valid { .. } => "token valid".into(),
            Token::Invalid { .. } => "token invalid".into(),
            Token::Unchecked { .. } => "token not checked".into(),
            Token::None => "no credential".into(),
        }
    }

    /// Whether the credential is known good (1), known bad (0), or neither (`None`).
    pub fn valid(&self) -> Option<bool> {
        match self {
            Token::Accepted | Token::Valid { .. } => Some(true),
            Token::Invalid { .. } => Some(false),
            Token::Unchecked { .. } | Token::None => None,
        }
    }
}

impl Integration {
    /// The row of a spec that does not load (`service`: its directory), with its error.
    pub fn unloadable(service: &str, error: &str) -> Integration {
        let error = crate::text::printable(&redact::redact(error));
        Integration {
            service: service.to_string(),
            name: service.to_string(),
            state: State::Down,
            api: None,
            token: Token::Unchecked { why: "not probed".into() },
            webhook: None,
            issues: vec![format!("{service} not probed: its spec does not load: {error}")],
            remark: "not probed — the spec does not load".into(),
            checked_at: rfc3339(SystemTime::now()),
        }
    }

    /// An integration that could not be probed at all.
    fn down(spec: &Spec, remark: String, issues: Vec<String>) -> Integration {
        Integration {
            service: spec.id.clone(),
            name: spec.name.clone(),
            state: State::Down,
            api: None,
            token: Token::Unchecked { why: "not probed".into() },
            webhook: None,
            issues,
            remark,
            checked_at: rfc3339(SystemTime::now()),
        }
    }

    /// Whether the API answered at all.
    pub fn reachable(&self) -> bool {
        self.api.as_ref().is_some_and(|p| p.status.is_some_and(|s| s < 500))
    }
}

/// The worst state of `all` (healthy when empty).
pub fn worst(all: &[Integration]) -> State {
    all.iter().map(|i| i.state).max().unwrap_or(State::Healthy)
}
