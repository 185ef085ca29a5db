//! Fault-injecting servers that stand in for the provider during a trial.
//!
//! Each trial gets its own server. Scripted HTTP replies are served by wiremock; faults
//! below HTTP (a reset connection, a body that stalls or trickles, a socket that is
//! accepted and never answered) need a raw TCP listener, which also sees when the client
//! hangs up. Both record every request into the trial's [`Timeline`] with its arrival time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::timeline::{Arrival, Target, Timeline};

/// A complete HTTP response, optionally sent late.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Wait before the status line is sent.
    pub delay: Duration,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::raw(status, "application/json", body.to_string().into_bytes())
    }

    /// A reply with any content type and body.
    pub fn raw(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        Reply { status, headers: vec![("Content-Type".into(), content_type.into())], body, delay: Duration::ZERO }
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Add each of `headers`.
    pub fn with_headers(self, headers: &[(String, String)]) -> Reply {
        headers.iter().fold(self, |r, (k, v)| r.header(k, v.clone()))
    }

    /// Send the status line only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// `429 Retry-After: 1` — the status and the headers a reader needs.
    pub fn describe(&self) -> String {
        let mut s = self.status.to_string();
        for (k, v) in &self.headers {
            if k.eq_ignore_ascii_case("retry-after") {
                s.push_str(&format!(" Retry-After: {v}"));
            }
        }
        if !self.delay.is_zero() {
            s.push_str(&format!(" (sent after {:.3}s)", self.delay.as_secs_f64()));
        }
        s
    }

    /// The status line and headers, with Content-Length and `Connection: close`.
    pub(crate) fn head(&self) -> Vec<u8> {
        let mut h = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", self.body.len()));
        h.into_bytes()
    }

    fn template(&self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status);
        let mut content_type = None;
        for (k, v) in &self.headers {
            if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.clone());
            } else {
                t = t.append_header(k.as_str(), v.as_str());
            }
        }
        t = match content_type {
            Some(ct) => t.set_body_raw(self.body.clone(), &ct),
            None => t.set_body_bytes(self.body.clone()),
        };
        t.set_delay(self.delay)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send a complete response (possibly late).
    Reply(Reply),
    /// Read the request, then reset the connection without answering.
    Reset,
    /// Send the head and the first `n` body bytes, then reset the connection.
    ResetMidBody(Reply, usize),
    /// Send the head (with the full Content-Length) and the first `n` body bytes, then close.
    Truncate(Reply, usize),
    /// Send the head and the first `n` body bytes, wait, then send the rest.
    StallBody(Reply, usize, Duration),
    /// Send the head, then the body one byte at a time with this interval.
    Trickle(Reply, Duration),
    /// Accept and read the request, never answer.
    Silent,
    /// Send the reply once the [`Gathering`] is complete (or has waited its longest): the
    /// answer concurrent calls all receive at the same moment.
    Together(Reply, Arc<Gathering>),
}

/// Requests held until `want` of them have arrived, so that concurrent calls all see the
/// provider's answer at once, whatever the load: a race the case is about is then always
/// run, never left to the scheduler. It stops waiting after `within`, and says so.
#[derive(Debug)]
pub struct Gathering {
    want: usize,
    within: Duration,
    count: tokio::sync::watch::Sender<usize>,
}

impl Gathering {
    /// Hold requests until `want` have arrived, at most `within`.
    pub fn new(want: usize, within: Duration) -> Arc<Gathering> {
        Arc::new(Gathering { want, within, count: tokio::sync::watch::Sender::new(0) })
    }

    /// How many requests it holds (or held) at most.
    pub fn want(&self) -> usize {
        self.want
    }

    /// How many requests have joined it.
    pub fn joined(&self) -> usize {
        *self.count.borrow()
    }

    /// How long it holds the first request at most.
    pub fn within(&self) -> Duration {
        self.within
    }

    async fn join(&self) {
        self.count.send_modify(|c| *c += 1);
        let mut seen = self.count.subscribe();
        let _ = tokio::time::timeout(self.within, seen.wait_for(|c| *c >= self.want)).await;
    }
}

impl Step {
    /// Whether only the raw TCP server can perform this step.
    pub fn needs_raw(&self) -> bool {
        !matches!(self, Step::Reply(_))
    }

    fn describe(&self) -> String {
        match self {
            Step::Reply(r) => r.describe(),
            Step::Reset => "connection reset, no response".into(),
            Step::ResetMidBody(r, n) => format!("{} head + {n} body bytes, then connection reset", r.status),
            Step::Truncate(r, n) => format!("{} head + {n} of {} body bytes, then connection closed", r.status, r.body.len()),
            Step::StallBody(r, n, d) => format!("{} head + {n} body bytes, body stalled {:.3}s", r.status, d.as_secs_f64()),
            Step::Trickle(r, d) => format!("{} head, body trickled 1 byte / {:.3}s", r.status, d.as_secs_f64()),
            Step::Silent => "accepted, never answered".into(),
            Step::Together(r, g) => format!("{} (held until {} requests were in)", r.describe(), g.want),
        }
    }
}

/// Decides the step for a request from what arrived and its attempt number in the call.
pub type Behaviour = Arc<dyn Fn(&Arrival, usize) -> Step + Send + Sync>;

/// A route of the mock: which requests it takes and how it answers them.
#[derive(Clone)]
pub struct Route {
    /// Recorded as this target.
    pub target: Target,
    /// Exact path it takes; `None` takes every request no other route takes.
    pub path: Option<String>,
    /// How it answers.
    pub behaviour: Behaviour,
    /// Requests per call beyond which the client has certainly failed, so the trial can stop waiting.
    pub limit: usize,
    /// Whether its behaviour may produce steps only the raw TCP server can perform.
    pub raw: bool,
}

/// A running mock provider.
pub struct MockProvider {
    /// `http://127.0.0.1:port`.
    pub origin: String,
    _wiremock: Option<MockServer>,
    raw: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        if let Some(h) = self.raw.take() {
            h.abort();
        }
    }
}

fn arrival(timeline: &Timeline, target: Target, method: &str, path: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Arrival {
    Arrival {
        at: timeline.now(),
        wall: std::time::SystemTime::now(),
        call: 0,
        target,
        method: method.to_string(),
        path,
        headers,
        body,
        reply: String::new(),
        refused: false,
        hung_up_after: None,
        answered: None,
    }
}

fn record_and_decide(timeline: &Timeline, route: &Route, mut a: Arrival) -> (usize, Step) {
    let (index, attempt) = timeline.record(&mut a);
    let step = (route.behaviour)(&a, attempt);
    let refused = matches!(&step, Step::Reply(r) | Step::Together(r, _) if (400..500).contains(&r.status));
    timeline.set_reply(index, step.describe(), refused);
    if attempt + 1 > route.limit {
        timeline.violated();
    }
    (index, step)
}

struct Recorder {
    timeline: Timeline,
    route: Route,
}

impl wiremock::Respond for Recorder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let path = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_string(),
        };
        let headers =
            req.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
        let a = arrival(&self.timeline, self.route.target, req.method.as_str(), path, headers, req.body.clone());
        match record_and_decide(&self.timeline, &self.route, a) {
            (_, Step::Reply(r)) => r.template(),
            // scenarios with raw steps run on the raw server; reaching here is a harness bug
            (_, other) => ResponseTemplate::new(599).set_body_string(format!("oc-integrate: {other:?} needs the raw server")),
        }
    }
}

impl MockProvider {
    /// Start a provider serving `routes`; on the raw TCP server when any route may need it.
    pub async fn start(timeline: &Timeline, routes: Vec<Route>) -> std::io::Result<MockProvider> {
        if routes.iter().any(|r| r.raw) {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            let addr = listener.local_addr()?;
            let timeline = timeline.clone();
            let routes = Arc::new(routes);
            let task = server_runtime().spawn(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                // connections live in the set, so dropping the provider ends them all
                let mut connections = tokio::task::JoinSet::new();
                while let Ok((stream, _)) = listener.accept().await {
                    connections.spawn(serve_raw(stream, timeline.clone(), routes.clone()));
                    while connections.try_join_next().is_some() {}
                }
            });
            return Ok(MockProvider { origin: format!("http://{addr}"), _wiremock: None, raw: Some(task) });
        }
        let server = MockServer::start().await;
        for route in routes {
            let priority = if route.path.is_some() { 1 } else { 10 };
            let mock = match &route.path {
                Some(p) => Mock::given(wiremock::matchers::path(p.as_str())),
                None => Mock::given(wiremock::matchers::any()),
            };
            mock.respond_with(Recorder { timeline: timeline.clone(), route }).with_priority(priority).mount(&server).await;
        }
        Ok(MockProvider { origin: server.uri(), _wiremock: Some(server), raw: None })
    }
}

/// The runtime raw servers run on: their own threads, so that arrival and hang-up times
/// are taken when the bytes come in, not when a runtime busy with clients gets round to it.
fn server_runtime() -> &'static tokio::runtime::Handle {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("oc-integrate-server")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("oc-integrate cannot start its server runtime: {e}"))
    })
    .handle()
}

/// An origin on which nothing listens, so connections to it are refused. The port stays
/// bound (but not listening) while the returned socket lives: a port merely closed could be
/// handed to another trial's listener, which would then receive this trial's requests.
pub fn refusing_origin() -> std::io::Result<(tokio::net::TcpSocket, String)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?;
    let addr: SocketAddr = socket.local_addr()?;
    Ok((socket, format!("http://{addr}")))
}

/// Read one HTTP/1.1 request (head and a Content-Length body): method, request target, lowercased headers, body.
pub(crate) async fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Some((method, path, headers, body))
}

#[allow(deprecated)] // SO_LINGER(0) is exactly how a reset is made; it does not block on drop with 0
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn serve_raw(mut stream: TcpStream, timeline: Timeline, routes: Arc<Vec<Route>>) {
    let Some((method, path, headers, body)) = read_request(&mut stream).await else { return };
    let bare = path.split('?').next().unwrap_or("").to_string();
    let Some(route) = routes.iter().find(|r| r.path.as_deref() == Some(bare.as_str())).or_else(|| routes.iter().find(|r| r.path.is_none()))
    else {
        return;
    };
    let a = arrival(&timeline, route.target, &method, path, headers, body);
    let arrived = a.at;
    let (index, step) = record_and_decide(&timeline, route, a);
    match step {
        Step::Reset => {
            timeline.answering(index);
            return reset(stream);
        }
        Step::ResetMidBody(r, n) => {
            let _ = stream.write_all(&r.head()).await;
            let _ = stream.write_all(&r.body[..n.min(r.body.len())]).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            timeline.answering(index);
            return reset(stream);
        }
        _ => {}
    }
    // From here on the client may hang up at any moment: watch for it while writing.
    let (mut rd, mut wr) = stream.into_split();
    let mut watcher = {
        let timeline = timeline.clone();
        tokio::spawn(async move {
            let mut sink = [0u8; 512];
            loop {
                match rd.read(&mut sink).await {
                    Ok(0) | Err(_) => {
                        timeline.hung_up(index, timeline.now().saturating_sub(arrived));
                        return;
                    }
                    Ok(_) => {}
                }
            }
        })
    };
    let write = async {
        match step {
            Step::Reply(r) => {
                tokio::time::sleep(r.delay).await;
                timeline.answering(index);
                wr.write_all(&r.head()).await?;
                wr.write_all(&r.body).await?;
            }
            Step::Truncate(r, n) => {
                timeline.answering(index);
                wr.write_all(&r.head()).await?;
                wr.write_all(&r.body[..n.min(r.body.len())]).await?;
            }
            Step::StallBody(r, n, d) => {
                let n = n.min(r.body.len());
                tokio::time::sleep(r.delay).await;
                wr.write_all(&r.head()).await?;
                wr.write_all(&r.body[..n]).await?;
                wr.flush().await?;
                tokio::time::sleep(d).await;
                timeline.answering(index);
                wr.write_all(&r.body[n..]).await?;
            }
            Step::Trickle(r, d) => {
                wr.write_all(&r.head()).await?;
                for b in &r.body {
                    wr.flush().await?;
                    tokio::time::sleep(d).await;
                    wr.write_all(std::slice::from_ref(b)).await?;
                }
            }
            Step::Silent => std::future::pending::<()>().await,
            Step::Together(r, g) => {
                g.join().await;
                tokio::time::sleep(r.delay).await;
                timeline.answering(index);
                wr.write_all(&r.head()).await?;
                wr.write_all(&r.body).await?;
            }
            Step::Reset | Step::ResetMidBody(..) => {}
        }
        wr.flush().await?;
        // `Connection: close` was sent: close our side, as a real server does
        wr.shutdown().await?;
        std::io::Result::Ok(())
    };
    tokio::select! {
        _ = write => {
            // let the client read what was sent and hang up; the watcher records when
            let _ = tokio::time::timeout(Duration::from_secs(30), &mut watcher).await;
        }
        _ = &mut watcher => {}
    }
    watcher.abort();
}
