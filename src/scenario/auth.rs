//! Authentication: for OAuth, token expiry means refresh exactly once and retry with the
//! new token, a rejected refresh surfaces as an auth error without looping, and rotated
//! refresh tokens are used on the next refresh; a credential the matrix says cannot be
//! refreshed (an API key) fails at once as an auth error.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Prepared, Setup, Verdict, attempts_summary, expect_attempts, expect_error, expect_ok};
use crate::binding::ErrorKind;
use crate::case::Kind;
use crate::redact;
use crate::server::{Reply, Route, Step};
use crate::spec::Auth;
use crate::timeline::{Arrival, Target};

struct Tokens {
    /// The access token the API accepts now, if any.
    valid: Option<String>,
    /// The refresh token the token endpoint accepts now.
    refresh: String,
    serial: u32,
    stem: String,
    secrets: Arc<redact::Registration>,
}

impl Tokens {
    fn mint(&mut self, rotate: bool) -> (String, String) {
        self.serial += 1;
        let access = format!("oc_at_{}_{}", self.stem, self.serial + 1);
        self.secrets.add(&access);
        if rotate {
            self.refresh = format!("oc_rt_{}_{}", self.stem, self.serial + 1);
            self.secrets.add(&self.refresh);
        }
        self.valid = Some(access.clone());
        (access, self.refresh.clone())
    }
}

/// The provider's side of OAuth in a trial: the access token its API accepts now, and a
/// token endpoint that refreshes it (rotating the refresh token when the spec says it
/// rotates, and refusing a spent one).
#[derive(Clone)]
pub(super) struct TokenServer {
    tokens: Arc<Mutex<Tokens>>,
    /// Whether each refresh rotates the refresh token.
    pub rotate: bool,
    /// How the client must authenticate at the token endpoint.
    pub client_auth: Option<crate::spec::ClientAuth>,
}

impl TokenServer {
    /// The token server for the trial in `s`, holding its issued refresh token.
    pub fn new(s: &Setup) -> TokenServer {
        let creds = &s.credentials;
        let tokens = Tokens {
            valid: None,
            refresh: creds.refresh_token.clone().unwrap_or_default(),
            serial: 0,
            stem: creds.access_token.as_deref().unwrap_or("x").trim_start_matches("oc_at_").split('_').next().unwrap_or("x").to_string(),
            secrets: s.secrets.clone(),
        };
        let (rotate, client_auth) = match &s.spec.overview.auth {
            Auth::Oauth2 { rotates_refresh_token, client_auth, .. } => (*rotates_refresh_token, Some(*client_auth)),
            _ => (false, None),
        };
        TokenServer { tokens: Arc::new(Mutex::new(tokens)), rotate, client_auth }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the API accepts the credential `a` carries.
    pub fn accepts(&self, a: &Arrival) -> bool {
        let valid = self.lock().valid.as_ref().map(|v| format!("Bearer {v}"));
        valid.is_some() && a.header("authorization") == valid.as_deref()
    }

    /// Expire the current access token: the API accepts none until the next refresh.
    pub fn expire(&self) {
        self.lock().valid = None;
    }

    /// The token endpoint: a refresh with the current refresh token is granted (unless
    /// `fails`), any other is `invalid_grant`; `limit` refreshes per call at most.
    pub fn route(&self, s: &Setup, fails: bool, limit: usize) -> Route {
        let server = self.clone();
        Route {
            target: Target::Token,
            path: s.token_path.clone(),
            behaviour: Arc::new(move |a: &Arrival, _| {
                let mut t = server.lock();
                if fails || refresh_token_of(a).as_deref() != Some(t.refresh.as_str()) {
                    return Step::Reply(Reply::json(
                        400,
                        &json!({"error": "invalid_grant", "error_description": "refresh token is invalid, expired or revoked"}),
                    ));
                }
                let (access, refresh) = t.mint(server.rotate);
                Step::Reply(Reply::json(
                    200,
                    &json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}),
                ))
            }),
            limit,
            raw: false,
        }
    }
}

/// The refresh token a token request carries (form or JSON body).
fn refresh_token_of(a: &Arrival) -> Option<String> {
    if let Some(Value::Object(m)) = a.json() {
        return m.get("refresh_token").and_then(|v| v.as_str()).map(str::to_string);
    }
    let body = String::from_utf8_lossy(&a.body).into_owned();
    body.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "refresh_token").map(|(_, v)| v.to_string())
}

/// The API's answer to an expired access token.
pub(super) fn expired() -> Reply {
    Reply::json(401, &json!({"error": "invalid_token", "error_description": "The access token expired"}))
        .header("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"The access token expired\"")
}

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let server = TokenServer::new(s);
    let (rotate, client_auth) = (server.rotate, server.client_auth);
    let ok = s.ok();
    let fails = kind == Kind::AuthRefreshFails;
    let api = {
        let server = server.clone();
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(
                move |a: &Arrival, _| if !fails && server.accepts(a) { Step::Reply(ok.clone()) } else { Step::Reply(expired()) },
            ),
            limit: if fails { 2 } else { 3 },
            raw: false,
        }
    };
    let token = server.route(s, fails, 1);
    let calls = if fails { 1 } else { 2 };
    let expected = if fails {
        "401, then the refresh is rejected (invalid_grant) → an Auth error; at most one refresh, no loop".to_string()
    } else {
        format!(
            "401 → exactly one refresh → retried once with the new token → success; the next expiry refreshes with the {} refresh token",
            if rotate { "rotated" } else { "same" }
        )
    };
    // every call starts with an expired access token
    let before_call: Box<dyn Fn(usize) + Send + Sync> = Box::new(move |_| server.expire());
    Prepared::new(
        s,
        vec![token, api],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut actual = Vec::new();
            for call in 0..calls {
                let api = o.attempts(call);
                let refreshes = o.timeline.attempts(call, Target::Token);
                let r = &o.returned[call];
                let statuses: Vec<String> = api.iter().map(|a| a.reply.split(' ').next().unwrap_or("").to_string()).collect();
                actual.push(format!(
                    "call {}: {} API attempt(s) [{}], {} refresh(es) [{}], returned {}",
                    call + 1,
                    api.len(),
                    statuses.join(", "),
                    refreshes.len(),
                    refreshes.iter().map(|a| a.reply.split(' ').next().unwrap_or("").to_string()).collect::<Vec<_>>().join(", "),
                    if r.value().is_some() { "Ok".into() } else { r.describe() }
                ));
                if fails {
                    expect_error(r, &[ErrorKind::Auth], None, &mut p);
                    if refreshes.len() > 1 {
                        p.push(format!("expected at most one refresh, found {} (a refresh loop)", refreshes.len()));
                    }
                    if api.len() > 2 {
                        p.push(format!("expected at most 2 API attempts after a rejected refresh, found {}", api.len()));
                    }
                    continue;
                }
                let tag = format!("call {}", call + 1);
                match refreshes.len() {
                    0 => p.push(format!("{tag}: expected one refresh at the token endpoint after the 401, found none")),
                    1 => {
                        if let Some(m) = client_auth {
                            p.extend(m.problem(refreshes[0].header("authorization"), &refreshes[0].body).map(|x| format!("{tag}: {x}")));
                        }
                        if !refreshes[0].reply.starts_with("200") {
                            p.push(format!(
                                "{tag}: expected the refresh to use the {} refresh token, found it rejected (invalid_grant)",
                                if call > 0 && rotate { "rotated" } else { "issued" }
                            ));
                        }
                    }
                    n => p.push(format!("{tag}: expected exactly one refresh, found {n}")),
                }
                let mut q = Vec::new();
                expect_attempts(api.len(), 2, "the 401, then one retry with the new token", &mut q);
                p.extend(q.into_iter().map(|m| format!("{tag}: {m}")));
                if api.len() >= 2 && api.last().is_some_and(|a| a.reply.starts_with("401")) {
                    p.push(format!("{tag}: expected the retry to carry the new access token, found it rejected"));
                }
                let mut q = Vec::new();
                expect_ok(r, &mut q);
                p.extend(q.into_iter().map(|m| format!("{tag}: {m}")));
            }
            Verdict { actual: actual.join("; "), problems: p, evidence: String::new() }
        }),
    )
    .calls(calls)
    .before_each_call(before_call)
    .headers(vec!["authorization".into()])
}

/// 401 on every attempt, where the matrix says 401 fails: one attempt, an `Auth` error with the status.
pub(super) fn rejected(s: &Setup) -> Prepared {
    let reply = Reply::json(401, &json!({"error": {"type": "invalid_request_error", "message": "Invalid API key provided"}}));
    Prepared::new(
        s,
        vec![s.script(vec![vec![Step::Reply(reply)]], 1)],
        "401 (credential rejected) → one attempt, an Auth error carrying status 401; no retry, the credential will not get better".into(),
        Box::new(|o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            expect_attempts(a.len(), 1, "a rejected credential is not retried", &mut p);
            expect_error(&o.returned[0], &[ErrorKind::Auth], Some(401), &mut p);
            Verdict { actual: attempts_summary(&a, &o.returned[0]), problems: p, evidence: String::new() }
        }),
    )
}
