//! A client of GitHub's issues API: OAuth 2.0 user access tokens with refresh-token
//! rotation, one page of issues per call, a non-idempotent comment POST and an idempotent PATCH.

use std::sync::{Arc, Mutex};

use oc_integrate::spec::{Pagination, ResetHeader, ResetUnit};
use oc_integrate::{Binding, Call, ClientError, Context, ErrorKind, outcome};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flaw::Flaw;
use super::transport::{Encoding, Request, Response, Transport};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issue {
    pub id: i64,
    pub node_id: String,
    pub number: i64,
    pub title: String,
    pub state: String,
    pub html_url: String,
    pub updated_at: String,
    /// GitHub's `nullable-simple-user`: `None` for a deleted account.
    pub user: Option<User>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub login: String,
    pub id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub node_id: String,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    pub created_at: String,
    pub user: Option<User>,
}

// The defaults are the templates the flawed decoders bend a response against: a user is there.
impl Default for Issue {
    fn default() -> Self {
        Issue {
            id: 0,
            node_id: String::new(),
            number: 0,
            title: String::new(),
            state: String::new(),
            html_url: String::new(),
            updated_at: String::new(),
            user: Some(User::default()),
        }
    }
}

impl Default for Comment {
    fn default() -> Self {
        Comment {
            id: 0,
            node_id: String::new(),
            body: None,
            html_url: String::new(),
            created_at: String::new(),
            user: Some(User::default()),
        }
    }
}

struct Tokens {
    access: String,
    refresh: String,
}

pub struct TrackerClient {
    transport: Transport,
    base: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    tokens: Mutex<Tokens>,
    /// Held while a refresh is under way: concurrent calls that meet a 401 share it.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
}

impl TrackerClient {
    pub fn new(ctx: &Context, flaws: &[Flaw]) -> TrackerClient {
        let c = ctx.credentials();
        TrackerClient {
            // GitHub's media type is application/vnd.github+json; it accepts application/json too,
            // which is all its description (and so Prism) lists
            transport: Transport::new(ctx, flaws)
                .with_headers(&[("Accept", "application/json"), ("X-GitHub-Api-Version", "2022-11-28")])
                .with_rate_limit_reset(ResetHeader { header: "x-ratelimit-reset".into(), unit: ResetUnit::EpochSeconds }),
            base: ctx.base_url().to_string(),
            token_url: ctx.token_url().unwrap_or_default().to_string(),
            client_id: c.client_id.clone().unwrap_or_default(),
            client_secret: c.client_secret.clone().unwrap_or_default(),
            tokens: Mutex::new(Tokens {
                access: c.access_token.clone().unwrap_or_default(),
                refresh: c.refresh_token.clone().unwrap_or_default(),
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Refresh after `rejected` was refused, once for all the calls that were refused it: a
    /// call that waited for another's refresh finds the token already replaced.
    async fn refresh_once(&self, rejected: &str) -> Result<(), ClientError> {
        if self.transport.has(Flaw::RefreshPerCall) {
            return self.refresh().await;
        }
        let _single_flight = self.refreshing.lock().await;
        if self.tokens.lock().unwrap().access != rejected {
            return Ok(());
        }
        self.refresh().await
    }

    async fn refresh(&self) -> Result<(), ClientError> {
        let refresh = self.tokens.lock().unwrap().refresh.clone();
        let basic = self.transport.has(Flaw::RefreshesWithBasicAuth);
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        if !basic {
            form.extend([("client_id", self.client_id.as_str()), ("client_secret", self.client_secret.as_str())]);
        }
        let mut req = reqwest::Client::new().post(&self.token_url).form(&form);
        if basic {
            req = req.basic_auth(&self.client_id, Some(&self.client_secret));
        }
        let resp = req
            .timeout(self.transport.ctx().timeout())
            .send()
            .await
            .map_err(|e| ClientError::new(ErrorKind::Auth, format!("token refresh failed: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            return Err(ClientError::new(ErrorKind::Auth, format!("token refresh rejected with {status}")).with_status(401));
        }
        let t: TokenResponse =
            resp.json().await.map_err(|e| ClientError::new(ErrorKind::Auth, format!("token response unreadable: {e}")))?;
        let mut tokens = self.tokens.lock().unwrap();
        tokens.access = t.access_token;
        if let Some(r) = t.refresh_token
            && !self.transport.has(Flaw::ForgetsRotatedRefreshToken)
        {
            tokens.refresh = r;
        }
        Ok(())
    }

    /// Send to `path` (under the base URL) with the declared retry policy.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>, idempotent: bool) -> Result<Response, ClientError> {
        self.exchange(method, &format!("{}{path}", self.base), body, idempotent).await
    }

    /// Send to `url` with the current token and the declared retry policy; on 401 refresh once and retry once.
    async fn exchange(&self, method: Method, url: &str, body: Option<&Value>, idempotent: bool) -> Result<Response, ClientError> {
        let mut refreshed = false;
        loop {
            let access = self.tokens.lock().unwrap().access.clone();
            let req = Request {
                method: method.clone(),
                url: url.to_string(),
                body,
                encoding: Encoding::Json,
                idempotency: None,
                idempotent,
                auth: Some((
                    "Authorization".into(),
                    if self.transport.has(Flaw::AuthWithoutPrefix) { access.clone() } else { format!("Bearer {access}") },
                )),
            };
            match self.transport.send(&req).await {
                Err(e)
                    if e.kind == ErrorKind::Auth
                        && !self.transport.has(Flaw::NeverRefreshes)
                        && (!refreshed || self.transport.has(Flaw::RefreshLoop)) =>
                {
                    refreshed = true;
                    loop {
                        match self.refresh_once(&access).await {
                            Ok(()) => break,
                            Err(e) if !self.transport.has(Flaw::RefreshLoop) => return Err(e),
                            Err(_) => continue,
                        }
                    }
                }
                Err(e) => return Err(e),
                Ok(resp) => return Ok(resp),
            }
        }
    }

    /// Every issue of the repository, page after page (GitHub paginates with the Link header).
    pub async fn list_issues(&self, repo: &str, query: &Value) -> Result<Vec<Issue>, ClientError> {
        let state = query.get("state").and_then(Value::as_str).unwrap_or("open");
        let per_page = query.get("per_page").and_then(Value::as_i64).unwrap_or(30);
        let query = self.transport.query(&[("state", state.to_string()), ("per_page", per_page.to_string())]);
        let first = format!("{}{repo}/issues?{query}", self.base);
        let link = Pagination::Link { items: String::new() };
        let fetch = move |url: String, idempotent| async move { self.exchange(Method::GET, &url, None, idempotent).await };
        let items = self.transport.paginate(&link, first, fetch).await?;
        self.transport.decode_items(Value::Array(items))
    }

    pub async fn get_issue(&self, repo: &str, number: &str) -> Result<Issue, ClientError> {
        self.transport.decode(self.send(Method::GET, &format!("{repo}/issues/{number}"), None, true).await?)
    }

    pub async fn create_comment(&self, repo: &str, number: &str, body: &Value) -> Result<Comment, ClientError> {
        self.transport.decode(self.send(Method::POST, &format!("{repo}/issues/{number}/comments"), Some(body), false).await?)
    }

    pub async fn close_issue(&self, repo: &str, number: &str, body: &Value) -> Result<Issue, ClientError> {
        self.transport.decode(self.send(Method::PATCH, &format!("{repo}/issues/{number}"), Some(body), true).await?)
    }
}

/// The binding a project would write in `tests/integrations.rs`.
pub fn binding(flaws: &'static [Flaw]) -> Binding {
    Binding::new(
        move |ctx| TrackerClient::new(ctx, flaws),
        |client: Arc<TrackerClient>, call: Call| async move {
            let body = call.input().get("body").cloned().unwrap_or(Value::Null);
            let segment = |name: &str| client.transport.segment(&call.param(name).unwrap_or_default());
            let repo = format!("/repos/{}/{}", segment("owner"), segment("repo"));
            let number = segment("issue_number");
            match call.endpoint() {
                "list_issues" => outcome(client.list_issues(&repo, call.query().unwrap_or(&Value::Null)).await),
                "get_issue" => outcome(client.get_issue(&repo, &number).await),
                "create_comment" => outcome(client.create_comment(&repo, &number, &body).await),
                "close_issue" => outcome(client.close_issue(&repo, &number, &body).await),
                other => Err(ClientError::unbound(other)),
            }
        },
    )
    .with_receiver(move |ctx| super::webhooks::start(ctx, flaws))
}
