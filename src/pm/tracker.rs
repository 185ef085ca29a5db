//! One tracker, whichever it is: the operations write-back needs (read a ticket, list,
//! add and delete comments, move a ticket to a state, find and create a ticket by marker)
//! over GitHub REST, Jira Cloud REST v3, Linear GraphQL or an MCP server (`mcp`), and the seed's
//! failure classes every backend reports in. Each HTTP request is retried on 5xx, 429 and
//! network errors by the spec's retry policy (a `Retry-After` respected), never on others.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::config::{PmConfig, Provider};
use super::ticket::Ticket;
use super::{github::GitHub, jira::Jira, linear::Linear, mcp::Mcp};
use crate::binding::Retry;
use crate::redact::redact;
use crate::spec::RetryPolicy;

/// A `Retry-After` longer than this is not waited out: the action is deferred at once.
pub const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The seed's failure classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 404: the ticket does not exist (or is not visible); confirm the id. Not retriable.
    NotFound,
    /// 403: another team's or project's ticket; never widen scope. Not retriable.
    Forbidden,
    /// 401: the credential was refused. Not retriable.
    Unauthorized,
    /// 422 (or 400): the request was wrong, a bug to fix. Not retriable.
    Invalid,
    /// 5xx, 429 or a network error once the retry budget is spent: retriable later.
    Transient,
}

impl Kind {
    /// The class of an HTTP status, when it is a failure.
    pub fn of_status(status: u16) -> Option<Kind> {
        match status {
            404 | 410 => Some(Kind::NotFound),
            403 => Some(Kind::Forbidden),
            401 => Some(Kind::Unauthorized),
            400 | 409 | 413 | 422 => Some(Kind::Invalid),
            408 | 429 | 500..=599 => Some(Kind::Transient),
            s if s >= 300 => Some(Kind::Invalid),
            _ => None,
        }
    }

    /// Whether `--retry-pm` may try it again.
    pub fn retriable(self) -> bool {
        self == Kind::Transient
    }
}

/// A tracker call that failed, by class, with what was asked and what came back (redacted).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Its class.
    pub kind: Kind,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What was asked and what came back.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` with `message` (redacted).
    pub fn new(kind: Kind, status: Option<u16>, message: impl AsRef<str>) -> Failure {
        Failure { kind, status, message: redact(message.as_ref()) }
    }
}

/// A comment on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The tracker's id.
    pub id: String,
    /// Its text (markdown, or a Jira document's text).
    pub body: String,
    /// When it was created, as the tracker says it (RFC 3339).
    pub created: String,
}

impl Comment {
    /// The order of creation: time, then id (numeric ids by length first).
    pub fn order(&self) -> (String, usize, String) {
        (self.created.clone(), self.id.len(), self.id.clone())
    }
}

/// A ticket as read for planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its key or `owner/repo#n`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description, as text.
    pub description: String,
    /// Current state.
    pub status: String,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
}

/// How to reach a tracker's API: base URL and credential.
#[derive(Debug, Clone)]
pub struct Api {
    /// `https://api.github.com`, `https://acme.atlassian.net`, `https://api.linear.app/graphql`.
    pub base_url: String,
    /// The `Authorization` header's value.
    pub authorization: String,
}

impl Api {
    /// The API of `provider` as the environment gives it: GitHub `GITHUB_TOKEN` (or
    /// `GH_TOKEN`) at `GITHUB_API_URL` (default `https://api.github.com`); Jira `JIRA_EMAIL` and
    /// `JIRA_API_TOKEN` at `JIRA_BASE_URL`; Linear `LINEAR_API_KEY` at `LINEAR_API_URL` (default
    /// `https://api.linear.app/graphql`). `Err` names what is missing. Credentials are
    /// registered with the redactor.
    pub fn from_env(provider: Provider) -> Result<Api, String> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let need = |n: &str| var(n).ok_or_else(|| format!("{n} is not set"));
        let api = match provider {
            Provider::GithubIssues => Api {
                base_url: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
                authorization: format!("Bearer {}", var("GITHUB_TOKEN").or_else(|| var("GH_TOKEN")).ok_or("GITHUB_TOKEN is not set")?),
            },
            Provider::Jira => {
                use base64::Engine as _;
                let (email, token) = (need("JIRA_EMAIL")?, need("JIRA_API_TOKEN")?);
                crate::redact::register(&token);
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"));
                Api { base_url: need("JIRA_BASE_URL")?, authorization: format!("Basic {basic}") }
            }
            Provider::Linear => Api {
                base_url: var("LINEAR_API_URL").unwrap_or_else(|| "https://api.linear.app/graphql".into()),
                authorization: need("LINEAR_API_KEY")?,
            },
        };
        api.register();
        Ok(api)
    }

    /// Mask the credential in all output.
    pub fn register(&self) {
        crate::redact::register(&self.authorization);
        if let Some((_, secret)) = self.authorization.split_once(' ') {
            crate::redact::register(secret);
        }
    }
}

/// The retry settings for tracker calls: the spec's policy, or the seed's "max 3" default.
pub fn retry_of(policy: Option<&RetryPolicy>) -> Retry {
    let ms = Duration::from_millis;
    match policy {
        Some(p) => Retry {
            max_attempts: p.max_attempts.max(1),
            base_delay: ms(p.base_delay_ms),
            multiplier: p.multiplier,
            max_delay: ms(p.max_delay_ms),
            jitter: ms(p.jitter_ms),
            longer_delay_factor: 1.0,
        },
        None => {
            Retry { max_attempts: 3, base_delay: ms(500), multiplier: 2.0, max_delay: ms(4000), jitter: ms(100), longer_delay_factor: 1.0 }
        }
    }
}

/// An HTTP API: base URL, headers, retry policy.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    pub(super) retry: Retry,
}

impl Http {
    /// A client for `api` with `extra` headers beside `Authorization`.
    pub fn new(api: &Api, retry: Retry, extra: &[(&'static str, &'static str)]) -> Result<Http, String> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&api.authorization).map_err(|_| "the credential is not a valid header value".to_string())?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        for (k, v) in extra {
            headers.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("oc-integrate/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Http { client, base: api.base_url.trim_end_matches('/').to_string(), retry })
    }

    /// `method path` with `body`, retried on transient failures; the JSON answer (`Null`
    /// for an empty one) or the failure.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        retrying(&self.retry, || async { self.send_once(method.clone(), path, body).await.map_err(|(f, wait, _)| (f, wait)) }).await
    }

    /// One attempt of [`Http::send`]: the JSON answer, or the failure with the wait the
    /// tracker asked for and the answer's JSON body (`Null` when it has none), which a
    /// GraphQL API fills with the reason.
    pub async fn send_once(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, (Failure, Option<Duration>, Value)> {
        let url = format!("{}{path}", self.base);
        let what =
            format!("{method} {}", crate::spec::url_path(&url) + &url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default());
        let mut req = self.client.request(method, &url);
        if let Some(b) = body {
            req = req.json(b);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let wait = retry_after(resp.headers());
                let text = resp.text().await.unwrap_or_default();
                let json = serde_json::from_str(&text).unwrap_or(Value::Null);
                match Kind::of_status(status) {
                    None => Ok(json),
                    Some(kind) => {
                        Err((Failure::new(kind, Some(status), format!("{what}: {status} {}", crate::text::clip(text.trim()))), wait, json))
                    }
                }
            }
            Err(e) => Err((Failure::new(Kind::Transient, None, format!("{what}: {}", error_chain(&e))), None, Value::Null)),
        }
    }
}

/// Run `attempt` until it succeeds, fails for good, or `retry`'s attempts are spent: a
/// transient failure is tried again after the policy's backoff (with jitter), or after the
/// wait the tracker asked for when that is longer; a wait over [`LONGEST_WAIT`] is not
/// waited out.
pub async fn retrying<T, F, Fut>(retry: &Retry, mut attempt: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, (Failure, Option<Duration>)>>,
{
    let mut n = 0;
    loop {
        n += 1;
        let (failure, asked) = match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !failure.kind.retriable() || n >= retry.max_attempts {
            return Err(failure);
        }
        let backoff = retry.backoff(n - 1) + jitter(retry.jitter);
        let wait = match asked {
            Some(w) if w > LONGEST_WAIT => {
                return Err(Failure { message: format!("{} (asked to wait {} s)", failure.message, w.as_secs()), ..failure });
            }
            Some(w) => w.max(backoff),
            None => backoff,
        };
        tokio::time::sleep(wait).await;
    }
}

/// A reqwest error and its causes, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

/// A random wait of at most `max`.
fn jitter(max: Duration) -> Duration {
    let ms = max.as_millis() as u64;
    if ms == 0 { Duration::ZERO } else { Duration::from_millis((uuid::Uuid::new_v4().as_u128() % u128::from(ms + 1)) as u64) }
}

/// A `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// A tracker write-back talks to.
#[derive(Debug)]
pub enum Tracker {
    /// GitHub Issues over REST.
    GitHub(GitHub),
    /// Jira Cloud over REST v3.
    Jira(Jira),
    /// Linear over GraphQL.
    Linear(Linear),
    /// Any of them through an MCP server.
    Mcp(Mcp),
}

macro_rules! each {
    ($self:ident, $t:ident => $call:expr) => {
        match $self {
            Tracker::GitHub($t) => $call,
            Tracker::Jira($t) => $call,
            Tracker::Linear($t) => $call,
            Tracker::Mcp($t) => $call,
        }
    };
}

impl Tracker {
    /// The tracker's API directly (`api`), for `config`'s provider and project.
    pub fn direct(config: &PmConfig, api: &Api, retry: Retry) -> Result<Tracker, String> {
        Ok(match config.provider {
            Provider::GithubIssues => Tracker::GitHub(GitHub::new(config, api, retry)?),
            Provider::Jira => Tracker::Jira(Jira::new(config, api, retry)?),
            Provider::Linear => Tracker::Linear(Linear::new(config, api, retry)?),
        })
    }

    /// The ticket as the tracker takes it: `Err` when its shape is another provider's.
    pub fn accepts(&self, provider: Provider, ticket: &Ticket) -> Result<(), String> {
        match (provider, ticket) {
            (Provider::GithubIssues, Ticket::GitHub { .. }) | (Provider::Jira | Provider::Linear, Ticket::Key(_)) => Ok(()),
            (p, t) => Err(format!(
                "ticket {t}: expected {} (pm.yaml's provider is {}), found {}",
                if p == Provider::GithubIssues { "an issue as owner/repo#n" } else { "a key such as PLAT-12" },
                p.name(),
                if matches!(t, Ticket::GitHub { .. }) { "a GitHub issue" } else { "a Jira or Linear key" }
            )),
        }
    }

    /// Retry later calls by `retry` (the next service's spec's policy).
    pub fn set_retry(&mut self, retry: Retry) {
        each!(self, t => t.set_retry(retry))
    }

    /// The ticket with its comments.
    pub async fn issue(&self, ticket: &Ticket) -> Result<Issue, Failure> {
        each!(self, t => t.issue(ticket).await)
    }

    /// The ticket's comments, oldest first.
    pub async fn comments(&self, ticket: &Ticket) -> Result<Vec<Comment>, Failure> {
        each!(self, t => t.comments(ticket).await)
    }

    /// Add a comment; the comment made.
    pub async fn add_comment(&self, ticket: &Ticket, body: &str) -> Result<Comment, Failure> {
        each!(self, t => t.add_comment(ticket, body).await)
    }

    /// Delete one of the ticket's comments.
    pub async fn delete_comment(&self, ticket: &Ticket, id: &str) -> Result<(), Failure> {
        each!(self, t => t.delete_comment(ticket, id).await)
    }

    /// Move the ticket to the state the tracker calls `state`; nothing when it is there.
    pub async fn transition(&self, ticket: &Ticket, state: &str) -> Result<(), Failure> {
        each!(self, t => t.transition(ticket, state).await)
    }

    /// The project's ticket whose description carries `marker`, if any.
    pub async fn find_issue(&self, marker: &str) -> Result<Option<String>, Failure> {
        each!(self, t => t.find_issue(marker).await)
    }

    /// Create a ticket in the project (the configured bug type and labels); its id.
    pub async fn create_issue(&self, title: &str, body: &str) -> Result<String, Failure> {
        each!(self, t => t.create_issue(title, body).await)
    }
}
