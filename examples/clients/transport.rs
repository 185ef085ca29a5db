//! The HTTP layer both example clients share: one attempt loop with the retry policy
//! the specs declare (the seed's `withRetry`), typed decoding at the edge, and the
//! switches that turn on one flaw at a time.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use oc_integrate::spec::pagination::at;
use oc_integrate::spec::{Pagination, ResetHeader, ResetUnit};
use oc_integrate::{ClientError, Context, ErrorKind};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::flaw::Flaw;

/// What a request needs beyond its URL.
#[derive(Clone)]
pub struct Request<'a> {
    pub method: Method,
    pub url: String,
    pub body: Option<&'a Value>,
    /// How the body is written.
    pub encoding: Encoding<'a>,
    /// `(header, key)` when the call carries an idempotency key.
    pub idempotency: Option<(&'a str, String)>,
    /// Whether repeating the call after an ambiguous failure is safe.
    pub idempotent: bool,
    /// `(header, value)` credential.
    pub auth: Option<(String, String)>,
}

/// How a request body is written: JSON, a form (`application/x-www-form-urlencoded`),
/// `multipart/form-data` (a part per form field), or as it is under its own media type
/// (`text/plain`, `application/octet-stream`: a string's text, anything else its JSON).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Encoding<'a> {
    Json,
    Form,
    Multipart,
    Raw(&'a str),
}

/// A successful response: content type, body, and the `Link` header's `rel="next"` URL.
pub struct Response {
    pub content_type: String,
    pub body: Vec<u8>,
    pub next_link: Option<String>,
}

/// `body`'s fields as a form's: nested under bracketed keys, as Stripe reads them
/// (`metadata[plan]=pro`, `items[0][price]=p_1`); a null is sent empty (Stripe's "unset").
fn form_fields(body: &Value) -> Vec<(String, String)> {
    fn add(out: &mut Vec<(String, String)>, name: &str, v: &Value) {
        let nested = |k: &str| if name.is_empty() { k.to_string() } else { format!("{name}[{k}]") };
        let value = match v {
            Value::Object(fields) => return fields.iter().for_each(|(k, x)| add(out, &nested(k), x)),
            Value::Array(items) => return items.iter().enumerate().for_each(|(i, x)| add(out, &nested(&i.to_string()), x)),
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            scalar => scalar.to_string(),
        };
        out.push((name.to_string(), value));
    }
    let mut out = Vec::new();
    add(&mut out, "", body);
    out
}

/// The URL of the `rel="next"` entry of a `Link` header (RFC 8288).
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    value.split(',').find_map(|entry| {
        let (url, params) = entry.trim().split_once(';')?;
        let next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// `url` with its query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != name) {
        q.append_pair(&k, &v);
    }
    q.append_pair(name, value);
    format!("{base}?{}", q.finish())
}

/// The transport: a reqwest client plus the declared policy and the flaws switched on.
pub struct Transport {
    http: reqwest::Client,
    ctx: Context,
    flaws: HashSet<Flaw>,
    headers: Vec<(&'static str, &'static str)>,
    /// The header that says when a rate limit resets, and how it counts time, if the provider sends one.
    reset: Option<ResetHeader>,
    /// Whether a call is waiting out a rate limit now (read only with `OneCallWaitsForAll`).
    waiting: std::sync::atomic::AtomicBool,
}

fn error(kind: ErrorKind, message: impl Into<String>) -> ClientError {
    ClientError::new(kind, message)
}

enum Failure {
    /// Safe to retry for any call: nothing reached the provider.
    BeforeSend(ClientError),
    /// The provider may have processed the request.
    Ambiguous(ClientError),
}

impl Transport {
    pub fn new(ctx: &Context, flaws: &[Flaw]) -> Transport {
        let flaws: HashSet<Flaw> = flaws.iter().copied().collect();
        let mut b = reqwest::Client::builder().connect_timeout(ctx.timeout());
        if flaws.contains(&Flaw::PerReadTimeoutOnly) {
            b = b.read_timeout(ctx.timeout());
        }
        // in sandbox trials, every request goes through the harness's guard
        if let Some(proxy) = ctx.proxy_url().and_then(|p| reqwest::Proxy::all(p).ok()) {
            b = b.proxy(proxy);
        }
        Transport {
            http: b.build().expect("reqwest client builds"),
            ctx: ctx.clone(),
            flaws,
            headers: Vec::new(),
            reset: None,
            waiting: Default::default(),
        }
    }

    /// Headers every request carries (a provider's media type, its API version).
    pub fn with_headers(mut self, headers: &[(&'static str, &'static str)]) -> Transport {
        self.headers = headers.to_vec();
        self
    }

    /// The provider says when a rate limit resets in this header (GitHub's `x-ratelimit-reset`,
    /// in epoch seconds), and answers an exhausted limit with 403 as well as 429.
    pub fn with_rate_limit_reset(mut self, reset: ResetHeader) -> Transport {
        self.reset = Some(reset);
        self
    }

    /// `text` as one path segment: RFC 3986's unreserved characters as they are, every
    /// other byte `%XX`, so a `/`, `?` or `#` in a value stays part of it.
    pub fn segment(&self, text: &str) -> String {
        if self.has(Flaw::PathNotEncoded) {
            return text.to_string();
        }
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    }

    /// `pairs` as a query string, form-encoded.
    pub fn query(&self, pairs: &[(&str, String)]) -> String {
        if self.has(Flaw::QueryNotEncoded) {
            return pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        }
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }

    pub fn has(&self, f: Flaw) -> bool {
        self.flaws.contains(&f)
    }

    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    fn budget(&self) -> Option<Duration> {
        if self.has(Flaw::NoTimeout) || self.has(Flaw::PerReadTimeoutOnly) {
            None
        } else if self.has(Flaw::TimeoutTooShort) {
            Some(self.ctx.timeout() / 4)
        } else {
            Some(self.ctx.timeout())
        }
    }

    fn classify(e: reqwest::Error) -> Failure {
        if e.is_timeout() {
            Failure::Ambiguous(error(ErrorKind::Timeout, format!("timed out: {e}")))
        } else if e.is_connect() {
            Failure::BeforeSend(error(ErrorKind::Connection, format!("could not connect: {e}")))
        } else {
            Failure::Ambiguous(error(ErrorKind::Connection, format!("connection failed: {e}")))
        }
    }

    /// One attempt: send, then read the whole body, within the budget.
    async fn attempt(
        &self,
        req: &Request<'_>,
        key: &Option<(&str, String)>,
        retry: bool,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>), Failure> {
        let mut rb = self.http.request(req.method.clone(), &req.url);
        for (h, v) in &self.headers {
            rb = rb.header(*h, *v);
        }
        if let Some((h, v)) = req.auth.as_ref().filter(|_| !(retry && self.has(Flaw::DropsCredentialOnRetry))) {
            rb = rb.header(h.as_str(), v.as_str());
        }
        if let Some((h, k)) = key {
            rb = rb.header(*h, k.as_str());
        }
        if let Some(body) = req.body.filter(|_| !(retry && self.has(Flaw::DropsBodyOnRetry))) {
            rb = if self.has(Flaw::NoContentType) {
                rb.body(body.to_string())
            } else if let (true, Some(fields)) = (self.has(Flaw::FormatsJsonByHand), body.as_object()) {
                // a template with the values pasted in, unescaped
                let pairs: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{}", v.as_str().map(|t| format!("\"{t}\"")).unwrap_or_else(|| v.to_string())))
                    .collect();
                rb.header("content-type", "application/json").body(format!("{{{}}}", pairs.join(",")))
            } else {
                match req.encoding {
                    Encoding::Json => rb.json(body),
                    Encoding::Form => {
                        let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(form_fields(body)).finish();
                        rb.header("content-type", "application/x-www-form-urlencoded").body(form)
                    }
                    Encoding::Multipart => {
                        let boundary = format!("oc-{}", uuid::Uuid::new_v4().simple());
                        let mut parts = String::new();
                        for (name, value) in form_fields(body) {
                            let name = name.replace('"', "%22");
                            parts.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
                        }
                        parts.push_str(&format!("--{boundary}--\r\n"));
                        rb.header("content-type", format!("multipart/form-data; boundary={boundary}")).body(parts)
                    }
                    Encoding::Raw(media) => {
                        rb.header("content-type", media).body(body.as_str().map_or_else(|| body.to_string(), str::to_string))
                    }
                }
            };
        }
        let budget = self.budget();
        // the flawed clients bound a phase each (the headers; with TimeoutPerPhase the body too)
        let per_phase = self.has(Flaw::TimeoutOnHeadersOnly) || self.has(Flaw::TimeoutPerPhase);
        let exchange = async {
            let send = rb.send();
            let resp = if per_phase {
                tokio::time::timeout(self.ctx.timeout(), send)
                    .await
                    .map_err(|_| Failure::Ambiguous(error(ErrorKind::Timeout, "no response headers within budget")))?
            } else {
                send.await
            }
            .map_err(Self::classify)?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = if self.has(Flaw::TimeoutPerPhase) {
                tokio::time::timeout(self.ctx.timeout(), resp.bytes())
                    .await
                    .map_err(|_| Failure::Ambiguous(error(ErrorKind::Timeout, "no complete body within budget")))?
            } else {
                resp.bytes().await
            }
            .map_err(Self::classify)?;
            Ok((status, headers, body.to_vec()))
        };
        match (budget, per_phase) {
            (Some(b), false) => tokio::time::timeout(b, exchange)
                .await
                .unwrap_or_else(|_| Err(Failure::Ambiguous(error(ErrorKind::Timeout, format!("no complete response within {b:?}"))))),
            _ => exchange.await,
        }
    }

    fn backoff(&self, retry: u32, status: Option<StatusCode>) -> Duration {
        let r = self.ctx.retry();
        if self.has(Flaw::NoBackoff) {
            return Duration::ZERO;
        }
        let base = if self.has(Flaw::ConstantBackoff) {
            r.base_delay
        } else if self.has(Flaw::OverlongBackoff) {
            r.base_delay.mul_f64(10.0 * r.multiplier.powi(retry as i32))
        } else {
            r.backoff(retry)
        };
        let longer = status == Some(StatusCode::SERVICE_UNAVAILABLE) && !self.has(Flaw::Treats503Like500);
        let d = if longer { base.mul_f64(r.longer_delay_factor) } else { base };
        let jitter = r.jitter.mul_f64(rand_fraction());
        d + jitter
    }

    fn retry_after(&self, headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        if self.has(Flaw::IgnoresRetryAfter) {
            return None;
        }
        let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if self.has(Flaw::MisreadsRetryAfterDate) {
            return None;
        }
        let at = httpdate::parse_http_date(v).ok()?;
        Some(at.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// How long until the rate limit resets, from the provider's reset header.
    fn reset_in(&self, headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        if self.has(Flaw::IgnoresRateLimitReset) {
            return None;
        }
        let reset = self.reset.as_ref()?;
        let value: u64 = headers.get(reset.header.as_str())?.to_str().ok()?.trim().parse().ok()?;
        let at = match reset.unit {
            ResetUnit::EpochSeconds => SystemTime::UNIX_EPOCH + Duration::from_secs(value),
            ResetUnit::EpochMilliseconds => SystemTime::UNIX_EPOCH + Duration::from_millis(value),
            ResetUnit::DeltaSeconds => return Some(Duration::from_secs(value)),
        };
        Some(at.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// Whether a 403 is the provider's rate limit rather than a refusal (GitHub: no requests
    /// left, or a secondary limit's Retry-After).
    fn forbidden_is_rate_limit(&self, headers: &reqwest::header::HeaderMap) -> bool {
        let remaining = headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()).map(str::trim);
        self.reset.is_some()
            && !self.has(Flaw::Treats403RateLimitAsForbidden)
            && (remaining == Some("0") || headers.contains_key(reqwest::header::RETRY_AFTER))
    }

    /// The wait a rate-limited answer asks for: Retry-After, else the reset header, else the
    /// client's own backoff.
    fn rate_limit_wait(&self, retry: u32, headers: &reqwest::header::HeaderMap) -> Duration {
        match self.retry_after(headers).or_else(|| self.reset_in(headers)) {
            Some(d) => d,
            None if self.has(Flaw::NoWaitWithoutRetryAfter) => Duration::ZERO,
            None => self.backoff(retry, None),
        }
    }

    /// Wait out a rate limit: each call its own wait (the flawed client lets one call wait
    /// for all, and the others go at once).
    async fn wait_out(&self, wait: Duration) {
        use std::sync::atomic::Ordering;
        if self.has(Flaw::OneCallWaitsForAll) {
            if self.waiting.swap(true, Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(wait).await;
            self.waiting.store(false, Ordering::SeqCst);
        } else {
            tokio::time::sleep(wait).await;
        }
    }

    /// Every item of a paginated list, page after page as `pagination` says, from the first
    /// page at `url`. `fetch(url, idempotent)` sends one page request with the client's
    /// credential and retry policy (an ambiguous failure retried only when `idempotent`). A
    /// page that points back at one already read is an `InvalidResponse`, not a loop.
    pub async fn paginate<Fut: Future<Output = Result<Response, ClientError>>>(
        &self,
        pagination: &Pagination,
        url: String,
        fetch: impl Fn(String, bool) -> Fut,
    ) -> Result<Vec<Value>, ClientError> {
        if !self.has(Flaw::RestartsListOnError) {
            return self.pages(pagination, url, &fetch, true).await;
        }
        // the flawed client leaves a failed page to a retry of the whole listing
        let max = self.ctx.retry().max_attempts;
        let mut retry = 0;
        loop {
            match self.pages(pagination, url.clone(), &fetch, false).await {
                Err(e)
                    if retry + 1 < max
                        && (matches!(e.kind, ErrorKind::Timeout | ErrorKind::Connection) || e.status.is_some_and(|s| s >= 500)) =>
                {
                    let status = e.status.and_then(|s| StatusCode::from_u16(s).ok());
                    tokio::time::sleep(self.backoff(retry, status)).await;
                    retry += 1;
                }
                r => return r,
            }
        }
    }

    async fn pages<Fut: Future<Output = Result<Response, ClientError>>>(
        &self,
        pagination: &Pagination,
        mut url: String,
        fetch: &impl Fn(String, bool) -> Fut,
        idempotent: bool,
    ) -> Result<Vec<Value>, ClientError> {
        let invalid = |m: String| error(ErrorKind::InvalidResponse, m);
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        let mut number = 1u64;
        loop {
            if !seen.insert(url.clone()) && !self.has(Flaw::NoLoopGuard) {
                return Err(invalid(format!("pagination loop: the provider pointed back at a page already read ({url})")));
            }
            let resp = match fetch(url.clone(), idempotent).await {
                Ok(r) => r,
                // the flawed client keeps what it has when a later page fails
                Err(_) if self.has(Flaw::PartialListOnError) && !all.is_empty() => return Ok(all),
                Err(e) => return Err(e),
            };
            let link = resp.next_link.clone();
            let page = self.json(resp)?;
            let items =
                pagination.items_of(&page).ok_or_else(|| invalid(format!("expected the page's items at {:?}", pagination.items())))?;
            all.extend(items.iter().cloned());
            if self.has(Flaw::FirstPageOnly) {
                return Ok(all);
            }
            let more = |path: &str| match at(&page, path) {
                Some(Value::Bool(b)) => Ok(*b),
                other => {
                    Err(invalid(format!("expected a boolean at {path}, found {}", other.map(Value::to_string).unwrap_or("nothing".into()))))
                }
            };
            let next = match pagination {
                Pagination::Link { .. } => link,
                Pagination::Cursor { param, next: Some(path), .. } => match at(&page, path) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(c)) if c.is_empty() => None,
                    // the flawed client pastes the opaque cursor in as it came
                    Some(Value::String(c)) if self.has(Flaw::CursorNotEncoded) => {
                        Some(format!("{}{}{param}={c}", url, if url.contains('?') { '&' } else { '?' }))
                    }
                    Some(Value::String(c)) => Some(with_param(&url, param, c)),
                    Some(other) => return Err(invalid(format!("expected a string cursor at {path}, found {other}"))),
                },
                Pagination::Cursor { param, has_more: Some(path), .. } => match more(path)? {
                    false => None,
                    true => {
                        let id = items
                            .last()
                            .and_then(|i| i.get("id"))
                            .ok_or_else(|| invalid("expected the last item's id as the cursor".into()))?;
                        Some(with_param(&url, param, &id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string())))
                    }
                },
                Pagination::Cursor { .. } => None,
                Pagination::Page { param, has_more, .. } => match more(has_more)? {
                    false => None,
                    true => {
                        number += 1;
                        Some(with_param(&url, param, &number.to_string()))
                    }
                },
            };
            match next {
                Some(n) => url = n,
                None => return Ok(all),
            }
        }
    }

    /// Send with the declared retry policy. 401 is returned as an Auth error for the
    /// caller to handle (refresh or fail).
    pub async fn send(&self, req: &Request<'_>) -> Result<Response, ClientError> {
        let max = self.ctx.retry().max_attempts;
        let mut retry = 0u32;
        let mut kept_key = req.idempotency.clone();
        loop {
            let attempt = retry + 1;
            let last = attempt >= max;
            let key = match &req.idempotency {
                Some((h, _)) if self.has(Flaw::NewIdempotencyKeyPerRetry) => Some((*h, uuid::Uuid::new_v4().to_string())),
                _ => kept_key.clone(),
            };
            let may_repeat = req.idempotent || self.has(Flaw::RetriesNonIdempotent);
            let (status, headers, body) = match self.attempt(req, &key, retry > 0).await {
                Ok(r) => r,
                Err(Failure::BeforeSend(e)) => {
                    if self.has(Flaw::LoopsOnConnectRefused) || !last {
                        tokio::time::sleep(self.backoff(retry, None)).await;
                        retry += 1;
                        continue;
                    }
                    return Err(e);
                }
                Err(Failure::Ambiguous(e)) => {
                    let retryable = may_repeat && !last && (e.kind == ErrorKind::Timeout || !self.has(Flaw::NoRetryOnConnectionErrors));
                    if let Some((h, _)) = kept_key.as_ref().filter(|_| self.has(Flaw::NewIdempotencyKeyAfterTransportFailure)) {
                        // the request "failed", so it is treated as a new one
                        kept_key = Some((h, uuid::Uuid::new_v4().to_string()));
                    }
                    if retryable {
                        tokio::time::sleep(self.backoff(retry, None)).await;
                        retry += 1;
                        continue;
                    }
                    return Err(e);
                }
            };
            let text = || String::from_utf8_lossy(&body).chars().take(200).collect::<String>();
            if status.is_success() {
                let content_type = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                return Ok(Response { content_type, body, next_link: next_link(&headers) });
            }
            if self.has(Flaw::ParsesErrorBodyAsJson) {
                // it reads the provider's error message on every failure
                let detail: Value = serde_json::from_slice(&body).expect("the provider's errors are JSON");
                drop(detail);
            }
            let capped = last && !self.has(Flaw::RetriesForever);
            match status.as_u16() {
                401 if self.has(Flaw::AuthErrorAsStatus) => {
                    return Err(error(ErrorKind::Status, format!("HTTP 401: {}", text())).with_status(401));
                }
                401 => return Err(error(ErrorKind::Auth, format!("unauthorized: {}", text())).with_status(401)),
                429 if !capped => self.wait_out(self.rate_limit_wait(retry, &headers)).await,
                403 if !capped && self.forbidden_is_rate_limit(&headers) => self.wait_out(self.rate_limit_wait(retry, &headers)).await,
                s @ (429 | 403) if s == 429 || self.forbidden_is_rate_limit(&headers) => {
                    return Err(error(ErrorKind::RateLimited, format!("rate limited after {attempt} attempts")).with_status(s));
                }
                s if s >= 500 && may_repeat && !capped && (matches!(s, 500 | 503) || !self.has(Flaw::RetriesOnly500And503)) => {
                    tokio::time::sleep(self.backoff(retry, Some(status))).await
                }
                s if (400..500).contains(&s) && self.has(Flaw::RetriesClientErrors) && !last => {
                    tokio::time::sleep(self.backoff(retry, Some(status))).await
                }
                s => return Err(error(ErrorKind::Status, format!("HTTP {s}: {}", text())).with_status(s)),
            }
            retry += 1;
        }
    }

    /// Decode a JSON response into `T` at the edge: content type checked, shape enforced.
    pub fn decode<T: DeserializeOwned + Serialize + Default>(&self, resp: Response) -> Result<T, ClientError> {
        let mut v = self.json(resp)?;
        let template = serde_json::to_value(T::default()).expect("defaults serialise");
        if let (Value::Object(m), Value::Object(t)) = (&mut v, &template) {
            self.bend(m, t)?;
        }
        serde_json::from_value(v).map_err(|e| error(ErrorKind::InvalidResponse, format!("unexpected response shape: {e}")))
    }

    /// Decode items (an array) into a `Vec<T>`, each element as [`Transport::decode`] would.
    pub fn decode_items<T: DeserializeOwned + Serialize + Default>(&self, mut v: Value) -> Result<Vec<T>, ClientError> {
        if self.has(Flaw::IndexesFirstItem) && v.as_array().is_some_and(Vec::is_empty) {
            panic!("the list always has a first item");
        }
        let template = serde_json::to_value(T::default()).expect("defaults serialise");
        if let (Value::Array(items), Value::Object(t)) = (&mut v, &template) {
            for item in items {
                if let Value::Object(m) = item {
                    self.bend(m, t)?;
                }
            }
        }
        serde_json::from_value(v).map_err(|e| error(ErrorKind::InvalidResponse, format!("unexpected response shape: {e}")))
    }

    /// The body as JSON, its content type checked.
    fn json(&self, mut resp: Response) -> Result<Value, ClientError> {
        let invalid = |m: String| error(ErrorKind::InvalidResponse, m);
        if self.has(Flaw::ExactContentType) && resp.content_type != "application/json" && resp.content_type.starts_with("application/json")
        {
            return Err(invalid(format!("expected application/json, got {:?}", resp.content_type)));
        }
        if self.has(Flaw::Latin1Body) {
            resp.body = resp.body.iter().map(|b| *b as char).collect::<String>().into_bytes();
        }
        // the flawed decoder unwraps the parse before looking at anything else
        let unwrapped: Option<Value> =
            self.has(Flaw::PanicsOnInvalidJson).then(|| serde_json::from_slice(&resp.body).expect("provider always sends JSON"));
        if !self.has(Flaw::IgnoresContentType) && !resp.content_type.starts_with("application/json") {
            return Err(invalid(format!("expected application/json, got {:?}", resp.content_type)));
        }
        let mut v = match unwrapped {
            Some(v) => v,
            None => serde_json::from_slice(&resp.body).map_err(|e| invalid(format!("body is not valid JSON: {e}")))?,
        };
        if self.has(Flaw::NumbersAsFloats) {
            floats(&mut v);
        }
        Ok(v)
    }

    /// The flawed decoders' shortcuts, applied field by field against the type's defaults.
    fn bend(&self, m: &mut Map<String, Value>, template: &Map<String, Value>) -> Result<(), ClientError> {
        if self.has(Flaw::IndexesFirstItem) && m.values().any(|v| v.as_array().is_some_and(Vec::is_empty)) {
            panic!("every list has a first item");
        }
        if self.has(Flaw::StrictUnknownFields)
            && let Some(k) = m.keys().find(|k| !template.contains_key(*k))
        {
            return Err(error(ErrorKind::InvalidResponse, format!("unknown field {k}")));
        }
        for (k, default) in template {
            let same_type = |v: &Value| default.is_null() || std::mem::discriminant(v) == std::mem::discriminant(default);
            // it unwraps the fields it models as always there (not its `Option`s)
            if self.has(Flaw::PanicsOnMissingField) && !default.is_null() {
                let v = m.get(k).filter(|v| same_type(v)).unwrap_or_else(|| panic!("field {k} is always there"));
                let _ = v;
            }
            match m.get(k) {
                None if self.has(Flaw::DefaultsMissingField) => {
                    m.insert(k.clone(), default.clone());
                }
                Some(Value::Null) if self.has(Flaw::NullAsDefault) && !default.is_null() => {
                    m.insert(k.clone(), default.clone());
                }
                Some(v) if self.has(Flaw::CoercesTypes) && !v.is_null() && !same_type(v) => {
                    let coerced = match (default, v) {
                        (Value::String(_), other) => Value::String(other.to_string().trim_matches('"').to_string()),
                        (Value::Number(_), Value::String(s)) => s.parse::<i64>().map(Value::from).unwrap_or(default.clone()),
                        _ => default.clone(),
                    };
                    m.insert(k.clone(), coerced);
                }
                _ => {}
            }
            // its optional fields are plain ones in its types
            if self.has(Flaw::RequiresOptionalFields) && default.is_null() && m.get(k).is_none_or(Value::is_null) {
                return Err(error(ErrorKind::InvalidResponse, format!("missing field {k}")));
            }
            if let (true, Some(Value::Object(inner)), Value::Object(defaults)) = (self.has(Flaw::StrictNestedFields), m.get(k), default)
                && let Some(unknown) = inner.keys().find(|f| !defaults.contains_key(*f))
            {
                return Err(error(ErrorKind::InvalidResponse, format!("unknown field {k}.{unknown}")));
            }
            // the nested types were written with `#[serde(default)]` on every field
            if let (true, Some(Value::Object(inner)), Value::Object(defaults)) =
                (self.has(Flaw::DefaultsNestedFields), m.get_mut(k), default)
            {
                for (field, d) in defaults {
                    inner.entry(field.clone()).or_insert_with(|| d.clone());
                }
            }
        }
        Ok(())
    }
}

/// Every number of `v` as a float (what a client that models numbers as `f64` keeps).
fn floats(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_i64() || n.is_u64()) {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(floats),
        Value::Object(m) => m.values_mut().for_each(floats),
        _ => {}
    }
}

/// A fraction in [0, 1) for jitter, without pulling in a RNG crate.
fn rand_fraction() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0
}
