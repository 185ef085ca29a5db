//! OAuth 2.0 for the person or script that runs `oc-integrate oauth`: getting a user's tokens
//! with the authorization-code flow, PKCE (RFC 7636) and a loopback redirect (RFC 8252), or
//! a service's with `client_credentials`; and reading what a token is (active, expiry,
//! scopes) by introspection (RFC 7662). The authorization server's endpoints come from its
//! metadata (RFC 8414, or OpenID Connect discovery) on the token endpoint's origin. Every
//! request goes through an [`Upstream`], so only the declared hosts are reached and every
//! token seen is registered with [`crate::redact`].

use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::redact;
use crate::sandbox::live::{self, Credential, Target, Unready};
use crate::sandbox::proxy::{By, Exchange, OAuthClient, Upstream};
use crate::sandbox::throttle::Throttle;
use crate::spec::{Auth, Spec};
use crate::text::clip;

/// What went wrong, each saying what was expected and what was found.
#[derive(Debug, thiserror::Error)]
pub enum OauthError {
    /// The authorization server's answer was not what the protocol says.
    #[error("{what}: expected {expected}, found {found}")]
    Protocol {
        /// The step.
        what: String,
        /// What the protocol says.
        expected: String,
        /// What came, redacted.
        found: String,
    },
    /// The authorization server refused the grant (RFC 6749 §5.2: 400 or 401 with `error`).
    #[error("{what}: refused ({error})")]
    Refused {
        /// The step.
        what: String,
        /// The server's `error` (and description).
        error: String,
    },
    /// The authorization server does not offer what the flow needs.
    #[error("{0}")]
    Unsupported(String),
    /// The loopback listener failed.
    #[error("the loopback redirect listener on {at}: {source}")]
    Listener {
        /// Its address.
        at: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The spec or the environment does not say how to reach the authorization server.
    #[error("{0}")]
    Config(String),
    /// No redirect came in time.
    #[error("no redirect reached {redirect_uri} within {} s: was the authorize URL opened and the access granted?", .within.as_secs())]
    NoRedirect {
        /// Where the browser should have come back to.
        redirect_uri: String,
        /// How long the command waited.
        within: Duration,
    },
}

/// The authorization server's endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    /// The token endpoint.
    pub token: String,
    /// Where a user authorizes (authorization-code flow).
    pub authorization: Option<String>,
    /// Where a device flow starts (RFC 8628).
    pub device: Option<String>,
    /// Token introspection (RFC 7662).
    pub introspection: Option<String>,
    /// Token revocation (RFC 7009).
    pub revocation: Option<String>,
    /// What went wrong reading the metadata, or which of its endpoints were ignored (on a
    /// host the spec does not allow).
    pub problems: Vec<String>,
}

impl Endpoints {
    /// Why `what` (an endpoint's metadata name) is missing: the problems, or that the
    /// metadata does not name it.
    pub fn missing(&self, what: &str) -> String {
        match self.problems.is_empty() {
            true => format!("the authorization server at {} publishes no {what}", self.token),
            false => format!("no usable {what} at {}: {}", self.token, self.problems.join("; ")),
        }
    }
}

/// Tokens a grant issued.
#[derive(Clone)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token, when one came.
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires, when said.
    pub expires_in: Option<u64>,
    /// The scopes granted, when said.
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in", &self.expires_in).field("scope", &self.scope).finish_non_exhaustive()
    }
}

/// What the authorization server says about a token (RFC 7662).
#[derive(Debug, Clone, Serialize)]
pub struct Introspection {
    /// Whether it is active (neither expired nor revoked).
    pub active: bool,
    /// Seconds until it expires, when said.
    pub expires_in_s: Option<u64>,
    /// Its scopes, when said.
    pub scope: Option<String>,
    /// The client it was issued to, when said.
    pub client_id: Option<String>,
    /// `access_token` or `refresh_token`, when said.
    pub token_type: Option<String>,
}

/// A PKCE pair (RFC 7636, S256): the verifier kept, the challenge sent.
pub struct Pkce {
    /// Sent with the code exchange.
    pub verifier: String,
    /// Sent with the authorization request.
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair from 32 random bytes.
    ///
    /// ```
    /// let p = oc_integrate::oauth::Pkce::new();
    /// assert_eq!(p.verifier.len(), 43);
    /// assert_ne!(p.verifier, p.challenge);
    /// ```
    pub fn new() -> Pkce {
        let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].iter().flat_map(|u| *u.as_bytes()).collect();
        let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// An integration's OAuth 2.0 client and its authorization server, in the sandbox or in
/// production: the client id and secret from the variables of the secrets rows the spec's
/// credentials name (`health.credentials`, else `sandbox.credentials`), the endpoints
/// discovered, requests only to the target's hosts.
pub struct Server {
    /// The client, as it authenticates at the token endpoint.
    pub client: OAuthClient,
    /// Sends the requests (declared hosts only) and records them.
    pub up: Upstream,
    /// The server's endpoints.
    pub endpoints: Endpoints,
    /// The variable of the secrets row that holds the refresh token, when the spec names one.
    pub refresh_env: Option<String>,
    /// Which deployment.
    pub target: Target,
}

impl Server {
    /// Reach `spec`'s authorization server in `target`.
    pub async fn connect(spec: &Spec, target: Target) -> Result<Server, OauthError> {
        if !matches!(spec.overview.auth, Auth::Oauth2 { .. }) {
            return Err(OauthError::Config(format!("{}: overview.auth.kind: expected oauth2, found another kind", spec.file.display())));
        }
        let named =
            spec.health.as_ref().and_then(|h| h.credentials.clone()).or_else(|| spec.sandbox.as_ref().map(|s| s.credentials.clone()));
        let Some(mut named) = named else {
            return Err(OauthError::Config(format!(
                "{}: expected sandbox.credentials (or health.credentials) naming the client id and secret rows, found neither",
                spec.file.display()
            )));
        };
        // the refresh token is what a login obtains, not what it needs
        let refresh_env =
            named.refresh_token.take().and_then(|name| spec.secrets.iter().find(|s| s.name == name).and_then(|s| s.env.clone()));
        let unready = |u: Unready| OauthError::Config(redact::redact(&u.reason));
        let place = live::place(spec, target).map_err(unready)?;
        let Some(token_url) = place.token_url.clone() else {
            return Err(OauthError::Config("expected a token endpoint, found none".into()));
        };
        let Credential::Oauth(o) = live::credential(spec, &named, Some(token_url.clone())).map_err(unready)? else {
            return Err(OauthError::Config("expected an OAuth 2.0 client, found an API key".into()));
        };
        redact::register(&o.client.secret);
        let up = Upstream::new(token_url.clone(), place.hosts, Throttle::of(&spec.id, None), Duration::from_secs(30));
        let endpoints = discover(&up, &token_url).await;
        Ok(Server { client: o.client, up, endpoints, refresh_env, target })
    }
}

/// The endpoints of the authorization server whose token endpoint is `token_url`: from its
/// metadata (`/.well-known/oauth-authorization-server`, then `/.well-known/openid-configuration`
/// on the token endpoint's origin), or only the token endpoint when it publishes none.
pub async fn discover(up: &Upstream, token_url: &reqwest::Url) -> Endpoints {
    let origin = token_url.origin().ascii_serialization();
    let mut found = Endpoints {
        token: token_url.to_string(),
        authorization: None,
        device: None,
        introspection: None,
        revocation: None,
        problems: Vec::new(),
    };
    let mut answers = Vec::new();
    for well_known in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let x = up
            .send(By::Harness, "GET", &format!("{origin}{well_known}"), vec![("Accept".into(), "application/json".into())], Vec::new())
            .await;
        let Some(meta) = x.json().filter(|_| x.status == Some(200)) else {
            answers.push(format!("{well_known}: {}", answer(&x)));
            continue;
        };
        // only endpoints on the hosts the spec allows: the metadata comes from the network
        let mut field = |k: &str| {
            let url = meta.get(k).and_then(Value::as_str)?;
            match reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https")) {
                Some(u) if up.allows(u.as_str()) => Some(u.to_string()),
                _ => {
                    found
                        .problems
                        .push(format!("its {k} ({}) is not on a host the spec allows: ignored", clip(&crate::text::printable(url))));
                    None
                }
            }
        };
        let (authorization, device) = (field("authorization_endpoint"), field("device_authorization_endpoint"));
        let (introspection, revocation) = (field("introspection_endpoint"), field("revocation_endpoint"));
        (found.authorization, found.device, found.introspection, found.revocation) = (authorization, device, introspection, revocation);
        return found;
    }
    found.problems.push(format!("its metadata could not be read ({})", answers.join("; ")));
    found
}

/// The authorization request a user's browser opens (RFC 6749 §4.1.1 with PKCE).
pub fn authorize_url(authorization: &str, client_id: &str, redirect_uri: &str, scope: &str, state: &str, pkce: &Pkce) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    if scope.split(' ').any(|s| s == "offline_access") {
        // OpenID Connect issues a refresh token for offline_access only after consent
        q.append_pair("prompt", "consent");
    }
    let sep = if authorization.contains('?') { '&' } else { '?' };
    format!("{authorization}{sep}{}", q.finish())
}

/// A loopback listener for the redirect (RFC 8252 §7.3): `http://127.0.0.1:PORT/callback`.
pub struct Loopback {
    listener: tokio::net::TcpListener,
    /// The redirect URI to register and send.
    pub redirect_uri: String,
}

impl Loopback {
    /// Listen on 127.0.0.1:`port` (0: a free port).
    pub async fn bind(port: u16) -> Result<Loopback, OauthError> {
        let at = format!("127.0.0.1:{port}");
        let listener = tokio::net::TcpListener::bind(&at).await.map_err(|source| OauthError::Listener { at: at.clone(), source })?;
        let port = listener.local_addr().map_err(|source| OauthError::Listener { at, source })?.port();
        Ok(Loopback { listener, redirect_uri: format!("http://127.0.0.1:{port}/callback") })
    }

    /// Wait up to `within` for the browser's redirect carrying `state`; the code, or the
    /// error the authorization server sent back with that state. Any other request (a
    /// favicon, a stray or forged redirect with another state or none) is answered and waited
    /// past, and connections are read side by side, so an idle or hostile one delays nothing.
    pub async fn code(&self, state: &str, within: Duration) -> Result<String, OauthError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(tokio::net::TcpStream, String)>(16);
        let mut readers = tokio::task::JoinSet::new();
        let deadline = tokio::time::sleep(within);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return Err(OauthError::NoRedirect { redirect_uri: self.redirect_uri.clone(), within }),
                accepted = self.listener.accept() => {
                    let (mut stream, _) = accepted.map_err(|source| OauthError::Listener { at: self.redirect_uri.clone(), source })?;
                    let tx = tx.clone();
                    readers.spawn(async move {
                        if let Some(head) = request_head(&mut stream).await {
                            let _ = tx.send((stream, head)).await;
                        }
                    });
                }
                Some((mut stream, head)) = rx.recv() => {
                    let target = head.lines().next().and_then(|l| l.split(' ').nth(1)).unwrap_or_default();
                    let Some(query) = target.strip_prefix("/callback").map(|q| q.trim_start_matches('?')) else {
                        let _ = page(&mut stream, 404, "Not the redirect this listener waits for.").await;
                        continue;
                    };
                    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    if get("state").as_deref() != Some(state) {
                        let _ = page(&mut stream, 400, "oc-integrate: a redirect this command did not ask for (another state, or none): ignored.").await;
                        continue;
                    }
                    let outcome = match (get("code"), get("error")) {
                        (_, Some(error)) => Err(OauthError::Protocol {
                            what: "the authorization".into(),
                            expected: "a code".into(),
                            found: crate::text::printable(&clip(&format!(
                                "error={error}{}",
                                get("error_description").map(|d| format!(" ({d})")).unwrap_or_default()
                            ))),
                        }),
                        (Some(code), None) => Ok(code),
                        (None, None) => Err(OauthError::Protocol { what: "the redirect".into(), expected: "a code".into(), found: "none".into() }),
                    };
                    let text = match &outcome {
                        Ok(_) => "oc-integrate received the authorization: you can close this window (the terminal says whether the token exchange succeeded).".to_string(),
                        Err(e) => format!("oc-integrate: not authorized: {e}"),
                    };
                    let _ = page(&mut stream, if outcome.is_ok() { 200 } else { 400 }, &text).await;
                    return outcome;
                }
            }
        }
    }
}

/// The head of an HTTP request on `stream` (at most 16 KiB, within 5 s), or `None`.
async fn request_head(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = 0;
    while got < buf.len() && !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf[got..])).await {
            Ok(Ok(n)) if n > 0 => got += n,
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&buf[..got]).into_owned())
}

/// Answer the browser with a small page.
async fn page(stream: &mut tokio::net::TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let body = format!("<!doctype html><meta charset=utf-8><title>oc-integrate</title><p>{}</p>\n", text.replace('<', "&lt;"));
    let reason = if status == 200 { "OK" } else { "Bad Request" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// A token request (form POST, the client authenticated as the spec says); the tokens issued.
pub async fn grant(up: &Upstream, client: &OAuthClient, token_url: &str, pairs: &[(&str, &str)]) -> Result<Tokens, OauthError> {
    let grant = pairs.iter().find(|(k, _)| *k == "grant_type").map(|(_, v)| *v).unwrap_or("?");
    let x = post(up, client, token_url, pairs).await;
    let body = x.json().unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    match (x.status, field("access_token")) {
        (Some(200), Some(access_token)) => Ok(Tokens {
            access_token,
            refresh_token: field("refresh_token"),
            expires_in: body.get("expires_in").and_then(Value::as_u64),
            scope: field("scope"),
        }),
        (Some(400 | 401), _) if field("error").is_some() => Err(OauthError::Refused {
            what: format!("the {grant} grant at {token_url}"),
            error: clip(&redact::redact(&format!(
                "{}{}",
                field("error").unwrap_or_default(),
                field("error_description").map(|d| format!(": {d}")).unwrap_or_default()
            ))),
        }),
        _ => Err(OauthError::Protocol {
            what: format!("the {grant} grant at {token_url}"),
            expected: "200 with an access_token".into(),
            found: answer(&x),
        }),
    }
}

/// A device authorization (RFC 8628 §3.2): what the person enters where, and how often to ask.
pub struct DeviceCode {
    device_code: String,
    /// The code the person enters.
    pub user_code: String,
    /// Where they enter it.
    pub verification_uri: String,
    /// The same with the code filled in, when the server offers it.
    pub verification_uri_complete: Option<String>,
    /// Seconds between polls.
    pub interval: u64,
    /// Seconds the codes live.
    pub expires_in: u64,
}

/// The grant type of the device flow's token requests.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Start a device flow at `url` for `scope`.
pub async fn device_start(up: &Upstream, client: &OAuthClient, url: &str, scope: &str) -> Result<DeviceCode, OauthError> {
    // the client authenticates as the spec says (its id is in the form or the Basic header)
    let pairs: Vec<(&str, &str)> = if scope.is_empty() { Vec::new() } else { vec![("scope", scope)] };
    let x = post(up, client, url, &pairs).await;
    let body = x.json().unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    match (x.status, field("device_code"), field("user_code"), field("verification_uri")) {
        (Some(200), Some(device_code), Some(user_code), Some(verification_uri)) => {
            // the person is sent there: only an http(s) page on a host the spec allows
            let page = |u: &str| reqwest::Url::parse(u).ok().filter(|p| matches!(p.scheme(), "http" | "https") && up.allows(p.as_str()));
            if page(&verification_uri).is_none() {
                return Err(OauthError::Protocol {
                    what: format!("the device authorization at {url}"),
                    expected: "a verification_uri on a host the spec allows".into(),
                    found: clip(&crate::text::printable(&verification_uri)),
                });
            }
            Ok(DeviceCode {
                device_code,
                user_code: crate::text::printable(&user_code),
                verification_uri,
                verification_uri_complete: field("verification_uri_complete").filter(|u| page(u).is_some()),
                interval: body.get("interval").and_then(Value::as_u64).unwrap_or(5),
                expires_in: body.get("expires_in").and_then(Value::as_u64).unwrap_or(600),
            })
        }
        _ => Err(OauthError::Protocol {
            what: format!("the device authorization at {url}"),
            expected: "200 with device_code, user_code and verification_uri".into(),
            found: answer(&x),
        }),
    }
}

/// Poll the token endpoint until the person has authorized `code` (waiting `interval`
/// between polls, longer after `slow_down`), or it is refused or expires.
pub async fn device_poll(up: &Upstream, client: &OAuthClient, token_url: &str, code: &DeviceCode) -> Result<Tokens, OauthError> {
    let mut interval = code.interval.max(1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(code.expires_in);
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if tokio::time::Instant::now() > deadline {
            return Err(OauthError::Refused {
                what: "the device flow".into(),
                error: "expired_token: the user code expired before it was entered".into(),
            });
        }
        match grant(up, client, token_url, &[("grant_type", DEVICE_GRANT), ("device_code", code.device_code.as_str())]).await {
            Err(OauthError::Refused { error, .. }) if error.starts_with("authorization_pending") => {}
            Err(OauthError::Refused { error, .. }) if error.starts_with("slow_down") => interval += 5,
            other => return other,
        }
    }
}

/// Ask the introspection endpoint about `token` (with `hint`: `access_token` or `refresh_token`).
pub async fn introspect(up: &Upstream, client: &OAuthClient, url: &str, token: &str, hint: &str) -> Result<Introspection, OauthError> {
    let x = post(up, client, url, &[("token", token), ("token_type_hint", hint)]).await;
    let body = x.json().unwrap_or(Value::Null);
    let Some(active) = body.get("active").and_then(Value::as_bool).filter(|_| x.status == Some(200)) else {
        return Err(OauthError::Protocol {
            what: format!("introspection at {url}"),
            expected: "200 with {\"active\": true|false}".into(),
            found: answer(&x),
        });
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let exp = body.get("exp").and_then(Value::as_u64);
    Ok(Introspection {
        // an answer that says active with an expiry already past is not believed
        active: active && exp.is_none_or(|exp| exp > now),
        expires_in_s: exp.map(|exp| exp.saturating_sub(now)),
        scope: field("scope"),
        client_id: field("client_id"),
        token_type: field("token_type"),
    })
}

/// A form POST to the token endpoint family, authenticated as `client`.
async fn post(up: &Upstream, client: &OAuthClient, url: &str, pairs: &[(&str, &str)]) -> Exchange {
    let (headers, body) = client.form(pairs);
    up.send(By::Harness, "POST", url, headers, body).await
}

/// How an answer is shown in an error: status and body, clipped and redacted.
fn answer(x: &Exchange) -> String {
    match (&x.refused, x.status) {
        (Some(why), _) => why.clone(),
        (None, Some(s)) => format!("{s}: {}", clip(&redact::redact(&String::from_utf8_lossy(&x.body)))),
        (None, None) => redact::redact(&String::from_utf8_lossy(&x.body)),
    }
}
