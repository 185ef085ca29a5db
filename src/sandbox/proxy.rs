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

/// Who sent a request: the project's client (through the proxy) or the harness itself
/// (setup requests, probes, the idempotency replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The project's client.
    Client,
    /// The harness.
    Harness,
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
            headers,
            sent,
        }
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
        let who = if self.by == By::Client { "client " } else { "harness" };
        let outcome = match (&self.refused, self.status) {
            (Some(why), _) => format!("REFUSED: {why}"),
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
            "by": if self.by == By::Client { "client" } else { "harness" },
            "method": self.method,
            "url": redact::redact(&self.url),
            "request_headers": headers,
            "status": self.status,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
            "proxy_overhead_ms": self.overhead.as_secs_f64() * 1000.0,
            "refused": self.refused.as_deref().map(redact::redact),
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
}

/// Hop-by-hop and framing headers a proxy does not forward.
const NOT_FORWARDED: [&str; 8] =
    ["host", "connection", "content-length", "transfer-encoding", "keep-alive", "proxy-connection", "proxy-authorization", "te"];

impl Upstream {
    /// Requests to `base` (the sandbox's base URL) and to `hosts`, throttled by `throttle`.
    pub fn new(base: reqwest::Url, hosts: Vec<String>, throttle: Arc<Throttle>, timeout: Duration) -> Upstream {
        let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).timeout(timeout).build();
        Upstream { base, hosts, throttle, http: http.unwrap_or_default(), log: Mutex::default() }
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
        if x.refused.is_none() {
            match method_ok {
                Err(e) => x.refused = Some(format!("expected an HTTP method, found {method:?}: {e}")),
                Ok(m) => {
                    let mut req = self.http.request(m, url).body(x.sent.clone());
                    for (k, v) in x.headers.iter().filter(|(k, _)| !NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str())) {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    let waiting = Instant::now();
                    self.throttle.wait().await;
                    let sending = Instant::now();
                    x.waited = sending - waiting;
                    let answer = match req.send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let headers: Vec<(String, String)> = r
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                                .collect();
                            r.bytes().await.map(|b| (status, headers, b.to_vec()))
                        }
                        Err(e) => Err(e),
                    };
                    x.latency = sending.elapsed();
                    match answer {
                        Ok((status, headers, bytes)) => {
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
    /// Start a proxy on a free loopback port in front of `upstream`.
    pub async fn start(upstream: Arc<Upstream>) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let own = origin.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Instant::now(), upstream.clone(), own.clone()));
            }
        });
        Ok(Proxy { origin, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Answer one request: forward it (origin-form, or absolute-form to an allowed host) or refuse it.
async fn serve(mut stream: TcpStream, accepted: Instant, up: Arc<Upstream>, own: String) {
    let Some((method, target, headers, body)) = read_request(&mut stream).await else { return };
    let url =
        if let Some(path) = target.strip_prefix(&own).filter(|p| p.starts_with('/')).or(target.starts_with('/').then_some(&target[..])) {
            // aimed at the proxy itself: the path is the sandbox's
            format!("{}{path}", up.base.origin().ascii_serialization())
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
