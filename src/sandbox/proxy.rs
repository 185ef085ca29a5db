//! The recording proxy the harness runs between the project's client and a sandbox.
//!
//! It listens on loopback. The client's base URL points at it (origin-form requests are
//! forwarded to the sandbox's origin), and a client that routes its traffic through it as
//! an HTTP proxy (`Context::proxy_url`) has every absolute-form request checked too: a
//! request to a host the spec does not declare as sandbox is answered `403` by the proxy
//! and never leaves, and so is every `CONNECT` tunnel (its method cannot be seen). Every
//! forwarded request waits for the service's [`Throttle`] slot. Each exchange is recorded
//! (method, URL, status, sandbox latency, the proxy's own overhead, response body); what
//! is shown or written of it is redacted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::throttle::Throttle;
use crate::redact;
use crate::server::{Reply, read_request};
use crate::spec::ClientAuth;

/// Who sent a request: the project's client (through the proxy) or the harness itself
/// (setup requests, probes, the idempotency replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The project's client.
    Client,
    /// The harness.
    Harness,
    /// The harness's reachability probe, which no token gate answers.
    Probe,
}

/// One request and its answer, as recorded.
#[derive(Clone)]
pub struct Exchange {
    /// Who sent it.
    pub by: By,
    /// The method.
    pub method: String,
    /// The URL it was sent to (or would have been, when refused).
    pub url: String,
    /// The sandbox's status; `None` when refused or when the sandbox could not be reached.
    pub status: Option<u16>,
    /// The sandbox's round trip (zero when nothing was sent).
    pub latency: Duration,
    /// Time the request spent in the proxy besides the sandbox's round trip and the
    /// throttle's wait: from the accepted connection to the last byte of the answer written
    /// back (for the harness's own requests: building and reading them).
    pub overhead: Duration,
    /// The wait for the throttle's slot.
    waited: Duration,
    /// The response headers.
    pub response_headers: Vec<(String, String)>,
    /// The response body (or why there is none).
    pub body: Vec<u8>,
    /// Why the request was refused before it left, when it was.
    pub refused: Option<String>,
    /// Set when the proxy's token gate answered (401) instead of the sandbox: why.
    pub gated: Option<String>,
    /// The request headers as sent (credentials included: never shown unredacted).
    headers: Vec<(String, String)>,
    /// The request body as sent.
    sent: Vec<u8>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Exchange {
    /// A request not sent yet.
    fn new(by: By, method: &str, url: &str, headers: Vec<(String, String)>, sent: Vec<u8>) -> Exchange {
        Exchange {
            by,
            method: method.to_string(),
            url: url.to_string(),
            status: None,
            latency: Duration::ZERO,
            overhead: Duration::ZERO,
            waited: Duration::ZERO,
            response_headers: Vec::new(),
            body: Vec::new(),
            refused: None,
            gated: None,
            headers,
            sent,
        }
    }

    /// The request body as sent.
    pub fn sent(&self) -> &[u8] {
        &self.sent
    }

    /// The request body as sent, read as a form (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.sent).into_owned().collect()
    }

    /// The response body as JSON, when it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The value of request header `name` as sent.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of response header `name`.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `client  POST http://…/v1/customers -> 200 (3.1 ms)`, redacted.
    pub fn describe(&self) -> String {
        let who = match self.by {
            By::Client => "client ",
            By::Harness => "harness",
            By::Probe => "probe  ",
        };
        let outcome = match (&self.refused, self.status) {
            (Some(why), _) => format!("REFUSED: {why}"),
            (None, Some(s)) if self.gated.is_some() => {
                format!("{s} from the proxy's token gate: {}", self.gated.clone().unwrap_or_default())
            }
            (None, Some(s)) => format!("{s} ({:.1} ms)", self.latency.as_secs_f64() * 1000.0),
            (None, None) => format!("no answer: {}", String::from_utf8_lossy(&self.body)),
        };
        redact::redact(&format!("{who} {} {} -> {outcome}", self.method, self.url))
    }

    /// The exchange as a recording entry: headers and body redacted.
    pub fn record(&self) -> Value {
        let headers: serde_json::Map<String, Value> =
            self.headers.iter().map(|(k, v)| (k.clone(), Value::String(redact::header_value(k, v)))).collect();
        let body = redact::redact(&String::from_utf8_lossy(&self.body));
        json!({
            "by": match self.by {
                By::Client => "client",
                By::Harness => "harness",
                By::Probe => "probe",
            },
            "method": self.method,
            "url": redact::redact(&self.url),
            "request_headers": headers,
            "status": self.status,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
            "proxy_overhead_ms": self.overhead.as_secs_f64() * 1000.0,
            "refused": self.refused.as_deref().map(redact::redact),
            "token_gate": self.gated.as_deref().map(redact::redact),
            "response_body": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)),
        })
    }
}

/// Where requests may go and how fast: the sandbox's base URL, the allowed hosts, the
/// service's throttle. It sends the harness's own requests too, and records every exchange.
pub struct Upstream {
    base: reqwest::Url,
    hosts: Vec<String>,
    throttle: Arc<Throttle>,
    http: reqwest::Client,
    log: Mutex<Vec<Exchange>>,
    gate: Option<(String, OAuthClient)>,
}

/// An OAuth 2.0 client's credentials as the harness presents them at the token endpoint
/// family (token, revocation, introspection). Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct OAuthClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// How the client authenticates.
    pub auth: ClientAuth,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("id", &self.id).field("auth", &self.auth).finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// The headers and form body of a request with `pairs`, authenticated as this client.
    ///
    /// ```
    /// use oc_integrate::sandbox::proxy::OAuthClient;
    /// use oc_integrate::spec::ClientAuth;
    ///
    /// let client = OAuthClient { id: "app".into(), secret: "s3cret".into(), auth: ClientAuth::ClientSecretPost };
    /// let (_, body) = client.form(&[("grant_type", "client_credentials")]);
    /// assert_eq!(body, b"grant_type=client_credentials&client_id=app&client_secret=s3cret");
    /// ```
    pub fn form(&self, pairs: &[(&str, &str)]) -> (Vec<(String, String)>, Vec<u8>) {
        use base64::Engine;
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.extend_pairs(pairs);
        let mut headers = vec![
            ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        match self.auth {
            ClientAuth::ClientSecretPost => {
                body.append_pair("client_id", &self.id).append_pair("client_secret", &self.secret);
            }
            ClientAuth::ClientSecretBasic => {
                // RFC 6749 §2.3.1: both form-encoded before they are joined
                let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(&self.id), enc(&self.secret)));
                // it carries the secret: a server that echoes it must not show it
                redact::register(&pair);
                headers.push(("Authorization".into(), format!("Basic {pair}")));
            }
        }
        (headers, body.finish().into_bytes())
    }
}

/// The most of an answer's body kept (the rest is not read).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Hop-by-hop and framing headers a proxy does not forward.
const NOT_FORWARDED: [&str; 8] =
    ["host", "connection", "content-length", "transfer-encoding", "keep-alive", "proxy-connection", "proxy-authorization", "te"];

impl Upstream {
    /// Requests to `base` (the sandbox's base URL) and to `hosts`, throttled by `throttle`.
    pub fn new(base: reqwest::Url, hosts: Vec<String>, throttle: Arc<Throttle>, timeout: Duration) -> Upstream {
        let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).timeout(timeout).build();
        Upstream { base, hosts, throttle, http: http.unwrap_or_default(), log: Mutex::default(), gate: None }
    }

    /// Gate requests to the sandbox API (the client's and the harness's own) on the token
    /// introspection endpoint at `url` (RFC 7662), asked as `client`: a request whose bearer
    /// token is missing or inactive is answered 401 by the gate and never reaches the sandbox.
    pub fn with_gate(mut self, url: String, client: OAuthClient) -> Upstream {
        self.gate = Some((url, client));
        self
    }

    /// Whether the token gate lets `x` through; when it does not, `x` becomes the gate's 401.
    async fn gate(&self, x: &mut Exchange) -> bool {
        let Some((url, client)) = &self.gate else { return true };
        let token = x.request_header("authorization").and_then(|v| v.strip_prefix("Bearer ").or(v.strip_prefix("bearer "))).map(str::trim);
        let why = match token.filter(|t| !t.is_empty()) {
            None if x.request_header("authorization").is_some() => "an Authorization header without the Bearer scheme".to_string(),
            None => "no bearer token".to_string(),
            Some(token) => {
                let (headers, body) = client.form(&[("token", token), ("token_type_hint", "access_token")]);
                // boxed: sending goes through the gate again (for the API's origin only)
                let asked = Box::pin(self.send(By::Harness, "POST", url, headers, body)).await;
                match (asked.status, asked.json().and_then(|v| v.get("active").and_then(Value::as_bool))) {
                    (Some(200), Some(true)) => return true,
                    (Some(200), Some(false)) => "the authorization server reports the token inactive".to_string(),
                    _ => format!("the introspection endpoint did not say the token is active ({})", asked.describe()),
                }
            }
        };
        x.status = Some(401);
        x.response_headers =
            vec![("content-type".into(), "application/json".into()), ("www-authenticate".into(), r#"Bearer error="invalid_token""#.into())];
        x.body = json!({"error": "invalid_token", "error_description": format!("oc-integrate token gate: {why}")}).to_string().into_bytes();
        x.gated = Some(why);
        false
    }

    /// The sandbox's base URL.
    pub fn base(&self) -> &reqwest::Url {
        &self.base
    }

    /// `path` (which may carry a query) under the base URL's path on the sandbox's origin.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    /// Every exchange so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether a request to `url` may leave (its host is one of the allowed).
    pub fn allows(&self, url: &str) -> bool {
        self.refusal("GET", url).is_none()
    }

    /// Why a request to `url` must not leave, if it must not.
    fn refusal(&self, method: &str, url: &str) -> Option<String> {
        let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        match host {
            Some(h) if self.hosts.contains(&h) => None,
            found => {
                let what = if matches!(method, "GET" | "HEAD" | "OPTIONS") { "a request" } else { "a write" };
                Some(format!(
                    "{what} ({method}) to host {}, which the spec does not declare as sandbox (allowed: {}); refused before it left",
                    found.unwrap_or_else(|| "(none)".into()),
                    self.hosts.join(", ")
                ))
            }
        }
    }

    /// Send one request (unless refused), waiting for the throttle's slot; record it.
    pub async fn send(&self, by: By, method: &str, url: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Exchange {
        let started = Instant::now();
        let mut x = self.exchange(Exchange::new(by, method, url, headers, body)).await;
        x.overhead = started.elapsed().saturating_sub(x.latency + x.waited);
        self.record(x.clone());
        x
    }

    /// Set the proxy overhead of the exchange at `index`, once its answer has been written.
    fn amend_overhead(&self, index: usize, overhead: Duration) {
        if let Some(x) = self.log.lock().unwrap_or_else(|p| p.into_inner()).get_mut(index) {
            x.overhead = overhead;
        }
    }

    /// Append `x` to the recording; its index there.
    fn record(&self, x: Exchange) -> usize {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.push(x);
        log.len() - 1
    }

    /// Send `x`'s request unless it must not leave; fill in the answer.
    async fn exchange(&self, mut x: Exchange) -> Exchange {
        let (method, url) = (x.method.clone(), x.url.clone());
        let (method, url) = (method.as_str(), url.as_str());
        x.refused = x.refused.or_else(|| self.refusal(method, url));
        let method_ok = reqwest::Method::from_bytes(method.as_bytes());
        let api = reqwest::Url::parse(url).is_ok_and(|u| u.origin() == self.base.origin());
        if x.refused.is_none() && api {
            // the declared rate limit is the API's (the token endpoint family is not
            // throttled), and it counts the requests the gate answers too
            let waiting = Instant::now();
            self.throttle.wait().await;
            x.waited = waiting.elapsed();
            let started = Instant::now();
            if x.by != By::Probe && !self.gate(&mut x).await {
                x.latency = started.elapsed();
                return x;
            }
        }
        if x.refused.is_none() {
            match method_ok {
                Err(e) => x.refused = Some(format!("expected an HTTP method, found {method:?}: {e}")),
                Ok(m) => {
                    let mut req = self.http.request(m, url).body(x.sent.clone());
                    for (k, v) in x.headers.iter().filter(|(k, _)| !NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str())) {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    let sending = Instant::now();
                    let answer = match req.send().await {
                        Ok(mut r) => {
                            let status = r.status().as_u16();
                            let headers: Vec<(String, String)> = r
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                                .collect();
                            // at most MAX_BODY of it: a hostile sandbox may stream forever
                            let mut body = Vec::new();
                            let read = loop {
                                match r.chunk().await {
                                    Ok(Some(c)) if body.len() + c.len() <= MAX_BODY => body.extend_from_slice(&c),
                                    Ok(_) => break Ok(()),
                                    Err(e) => break Err(e),
                                }
                            };
                            read.map(|()| (status, headers, body))
                        }
                        Err(e) => Err(e),
                    };
                    x.latency = sending.elapsed();
                    match answer {
                        Ok((status, headers, bytes)) => {
                            register_tokens(&bytes);
                            x.status = Some(status);
                            x.response_headers = headers;
                            x.body = bytes;
                        }
                        Err(e) => x.body = format!("the sandbox could not be reached: {e}").into_bytes(),
                    }
                }
            }
        }
        x
    }

    /// Send `x`'s request again, exactly as it was sent (same headers, same body), as the harness.
    pub async fn replay(&self, x: &Exchange) -> Exchange {
        self.send(By::Harness, &x.method, &x.url, x.headers.clone(), x.sent.clone()).await
    }
}

/// Register the tokens an OAuth 2.0 answer carries as secrets, so no output shows them.
fn register_tokens(body: &[u8]) {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
        for key in ["access_token", "refresh_token", "id_token"] {
            if let Some(t) = o.get(key).and_then(Value::as_str) {
                redact::register(t);
            }
        }
    }
}

/// The proxy, running until dropped.
pub struct Proxy {
    origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Start a proxy on a free loopback port in front of `upstream`'s sandbox API.
    pub async fn start(upstream: Arc<Upstream>) -> std::io::Result<Proxy> {
        Proxy::start_adding(upstream, Vec::new()).await
    }

    /// [`Proxy::start`], adding `headers` to every request it forwards (replacing the
    /// client's own of the same name): what only the sandbox needs.
    pub async fn start_adding(upstream: Arc<Upstream>, headers: Vec<(String, String)>) -> std::io::Result<Proxy> {
        let target = upstream.base.origin().ascii_serialization();
        Proxy::listen(upstream, Target { own: String::new(), origin: target, headers }).await
    }

    /// Start a proxy in front of another origin of the sandbox's, such as its OAuth 2.0
    /// authorization server (`target`, e.g. `http://127.0.0.1:4011`), recording into the same
    /// `upstream` (same hosts and log; only requests to the API are throttled and gated).
    pub async fn start_for(upstream: Arc<Upstream>, target: &reqwest::Url) -> std::io::Result<Proxy> {
        let to = Target { own: String::new(), origin: target.origin().ascii_serialization(), headers: Vec::new() };
        Proxy::listen(upstream, to).await
    }

    async fn listen(upstream: Arc<Upstream>, mut to: Target) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        to.own = origin.clone();
        let to = Arc::new(to);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Instant::now(), upstream.clone(), to.clone()));
            }
        });
        Ok(Proxy { origin, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Where a proxy forwards: its own origin, the sandbox origin behind it, the headers it adds.
struct Target {
    own: String,
    origin: String,
    headers: Vec<(String, String)>,
}

/// Answer one request: forward it (origin-form, or absolute-form to an allowed host) or refuse it.
async fn serve(mut stream: TcpStream, accepted: Instant, up: Arc<Upstream>, to: Arc<Target>) {
    let Some((method, target, mut headers, body)) = read_request(&mut stream).await else { return };
    for (k, v) in &to.headers {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    let own = &to.own;
    let url = if let Some(path) = target.strip_prefix(own).filter(|p| p.starts_with('/')).or(target.starts_with('/').then_some(&target[..]))
    {
        // aimed at the proxy itself: the path is the sandbox's
        format!("{}{path}", to.origin)
    } else if method == "CONNECT" {
        format!("https://{target}/")
    } else {
        target.clone()
    };
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let refused = if method == "CONNECT" {
        Some(format!("a CONNECT tunnel to {target}: the method inside it cannot be checked; refused before anything left"))
    } else if chunked {
        Some(format!(
            "a {method} with a chunked body: expected a Content-Length body (the recording proxy reads only those), found Transfer-Encoding: chunked; refused before it left"
        ))
    } else {
        None
    };
    let mut x = Exchange::new(By::Client, &method, &url, headers, body);
    x.refused = refused;
    let x = up.exchange(x).await;
    // recorded before the answer goes back, so the client's caller finds it once the client returns
    let index = up.record(x.clone());
    let reply = match (&x.refused, x.status) {
        (Some(why), _) => Reply::json(403, &json!({"error": {"type": "oc_integrate_refused", "message": why}})),
        (None, Some(status)) => Reply::raw(status, x.response_header("content-type").unwrap_or("application/octet-stream"), x.body.clone()),
        (None, None) => {
            Reply::json(502, &json!({"error": {"type": "oc_integrate_unreachable", "message": String::from_utf8_lossy(&x.body)}}))
        }
    };
    let _ = stream.write_all(&reply.head()).await;
    let _ = stream.write_all(&reply.body).await;
    let _ = stream.shutdown().await;
    up.amend_overhead(index, accepted.elapsed().saturating_sub(x.latency + x.waited));
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// Send `raw` to a proxy in front of a sandbox on 127.0.0.1; the status it answers and what it recorded.
    async fn through_proxy(raw: &str) -> (String, Vec<Exchange>) {
        let base = reqwest::Url::parse("http://127.0.0.1:9/v1").unwrap();
        let up = Arc::new(Upstream::new(base, vec!["127.0.0.1".into()], Arc::new(Throttle::new(None)), Duration::from_secs(1)));
        let proxy = Proxy::start(up.clone()).await.unwrap();
        let mut s = TcpStream::connect(proxy.origin().trim_start_matches("http://")).await.unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        (answer.lines().next().unwrap_or_default().to_string(), up.exchanges())
    }

    #[tokio::test]
    async fn tunnels_chunked_bodies_and_undeclared_hosts_are_refused_before_they_leave() {
        for (raw, why) in [
            ("CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\n\r\n", "a CONNECT tunnel to api.stripe.com:443"),
            (
                "POST /v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "a POST with a chunked body: expected a Content-Length body",
            ),
            (
                "DELETE http://api.payments.example/v1/customers/cus_1 HTTP/1.1\r\nHost: api.payments.example\r\n\r\n",
                "a write (DELETE) to host api.payments.example, which the spec does not declare as sandbox (allowed: 127.0.0.1)",
            ),
        ] {
            let (status, log) = through_proxy(raw).await;
            assert_eq!(status, "HTTP/1.1 403 Forbidden", "{raw:?}");
            assert_eq!(log.len(), 1);
            let refused = log[0].refused.clone().unwrap_or_default();
            assert!(refused.starts_with(why), "{refused}");
            assert_eq!((log[0].status, log[0].latency), (None, Duration::ZERO), "nothing was sent");
        }
    }
}
