//! How a project binds its own client to the harness.
//!
//! The harness never sees a client's internals. It builds the client from a
//! [`Context`] (where to connect, which credentials, which timeout and retry settings)
//! and asks it to make one [`Call`] per endpoint id. The client answers with its parsed
//! response (as JSON) or its error, classified as a [`ClientError`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::spec::Spec;

/// What a bound call returns: the client's parsed response as JSON, or its error.
pub type CallResult = Result<Value, ClientError>;

/// The kind of failure a client reports. Scenarios check the kind, so map your
/// client's errors faithfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Credentials rejected and could not be refreshed.
    Auth,
    /// Still rate limited (429) after the declared retries.
    RateLimited,
    /// The timeout budget ran out.
    Timeout,
    /// The provider answered with an error status (4xx/5xx) that is not one of the above.
    Status,
    /// The response could not be used: not JSON, wrong shape, wrong content type.
    InvalidResponse,
    /// The connection failed: refused, reset, closed early.
    Connection,
    /// The binding has no mapping for the endpoint.
    Unbound,
    /// Anything else.
    Other,
}

/// A client's error, as the harness judges it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct ClientError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The HTTP status behind it, when there was one.
    pub status: Option<u16>,
    /// The client's own message.
    pub message: String,
}

impl ClientError {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ClientError {
        ClientError { kind, status: None, message: message.into() }
    }

    /// The same error, carrying the HTTP status it came from.
    pub fn with_status(mut self, status: u16) -> ClientError {
        self.status = Some(status);
        self
    }

    /// The error a binding returns for an endpoint id it does not map.
    pub fn unbound(endpoint: &str) -> ClientError {
        ClientError::new(ErrorKind::Unbound, format!("no mapping for endpoint {endpoint:?} in the binding"))
    }
}

/// Turn a client's typed result into a [`CallResult`].
///
/// ```
/// use oc_integrate::{ClientError, ErrorKind, outcome};
/// #[derive(serde::Serialize)]
/// struct Customer { id: String }
/// let ok: Result<Customer, ClientError> = Ok(Customer { id: "cus_1".into() });
/// assert_eq!(outcome(ok).unwrap()["id"], "cus_1");
/// let err: Result<Customer, ClientError> = Err(ClientError::new(ErrorKind::Timeout, "slow"));
/// assert_eq!(outcome(err).unwrap_err().kind, ErrorKind::Timeout);
/// ```
pub fn outcome<T: Serialize, E: Into<ClientError>>(result: Result<T, E>) -> CallResult {
    match result {
        Ok(v) => serde_json::to_value(v).map_err(|e| ClientError::new(ErrorKind::Other, format!("response not serialisable: {e}"))),
        Err(e) => Err(e.into()),
    }
}

/// Credentials the harness issues for a trial. They are fake, unique per trial, and
/// redacted from all output.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// API key (api_key auth).
    pub api_key: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// Current access token (already expired in auth scenarios).
    pub access_token: Option<String>,
    /// Refresh token.
    pub refresh_token: Option<String>,
    /// Webhook signing secret (webhook sender and receiver cases), in the scheme's own
    /// form (`whsec_…` base64 for Standard Webhooks / Svix).
    pub webhook_secret: Option<String>,
}

/// The retry settings the client should use, already scaled by the test profile.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub base_delay: Duration,
    /// Growth per retry.
    pub multiplier: f64,
    /// Cap on one wait.
    pub max_delay: Duration,
    /// Random extra wait, at most this much.
    pub jitter: Duration,
    /// For statuses the matrix says get longer delays (503): the factor on the base backoff.
    pub longer_delay_factor: f64,
}

impl Retry {
    /// The backoff before retry number `retry` (0 for the first retry), without jitter.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let r = oc_integrate::Retry { max_attempts: 3, base_delay: Duration::from_millis(100), multiplier: 2.0,
    ///     max_delay: Duration::from_millis(300), jitter: Duration::ZERO, longer_delay_factor: 4.0 };
    /// assert_eq!(r.backoff(0), Duration::from_millis(100));
    /// assert_eq!(r.backoff(1), Duration::from_millis(200));
    /// assert_eq!(r.backoff(5), Duration::from_millis(300));
    /// ```
    pub fn backoff(&self, retry: u32) -> Duration {
        let d = self.base_delay.as_secs_f64() * self.multiplier.powi(retry as i32);
        Duration::from_secs_f64(d.min(self.max_delay.as_secs_f64()))
    }
}

/// Everything a client factory needs to build a client for one trial.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) base_url: String,
    pub(crate) token_url: Option<String>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) proxy_url: Option<String>,
    pub(crate) credentials: Credentials,
    pub(crate) timeout: Duration,
    pub(crate) retry: Retry,
    pub(crate) time_scale: f64,
    pub(crate) spec: Arc<Spec>,
}

impl Context {
    /// Base URL to call, e.g. `http://127.0.0.1:41234/v1` (the spec's base path kept).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// Token endpoint for OAuth 2.0 specs.
    pub fn token_url(&self) -> Option<&str> {
        self.token_url.as_deref()
    }
    /// Where a webhook sender delivers in this trial (the subscriber the harness runs at
    /// `webhooks.sender.path`); `None` outside sender cases.
    pub fn webhook_url(&self) -> Option<&str> {
        self.webhook_url.as_deref()
    }
    /// In sandbox trials, the harness's recording proxy as an HTTP proxy URL: route every
    /// request through it (`reqwest::Proxy::all`) and a request to a host the spec does not
    /// declare as sandbox is refused before it leaves. `None` in mock trials.
    pub fn proxy_url(&self) -> Option<&str> {
        self.proxy_url.as_deref()
    }
    /// Credentials for this trial (in sandbox trials: the values of the spec's sandbox secrets).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    /// Budget for one attempt, scaled by the test profile.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// Retry settings, scaled by the test profile.
    pub fn retry(&self) -> &Retry {
        &self.retry
    }
    /// The factor applied to the spec's durations (1.0 outside a test profile).
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }
    /// The spec being tested.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }
}

/// One call the harness asks the client to make.
#[derive(Debug, Clone)]
pub struct Call {
    pub(crate) endpoint: String,
    pub(crate) input: Value,
}

impl Call {
    /// Build a call (the harness does this; exposed for tests of bindings).
    pub fn new(endpoint: impl Into<String>, input: Value) -> Call {
        Call { endpoint: endpoint.into(), input }
    }
    /// The endpoint id from the spec.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    /// The spec's request example: `{params, query, body}`.
    pub fn input(&self) -> &Value {
        &self.input
    }
    /// A path parameter as text.
    pub fn param(&self, name: &str) -> Option<String> {
        let v = self.input.get("params")?.get(name)?;
        Some(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
    }
    /// The query parameters, if any.
    pub fn query(&self) -> Option<&Value> {
        self.input.get("query")
    }
    /// The request body, deserialised into the client's input type.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let body = self.input.get("body").cloned().unwrap_or(Value::Null);
        serde_json::from_value(body)
            .map_err(|e| ClientError::new(ErrorKind::Other, format!("request example does not fit the client's input type: {e}")))
    }

    /// One field of the request body, deserialised: for builder-style SDKs that take their
    /// arguments one by one. The error names the field and what was found.
    ///
    /// ```
    /// use oc_integrate::Call;
    /// let call = Call::new("create_customer", serde_json::json!({"body": {"email": "ada@example.com", "age": "x"}}));
    /// assert_eq!(call.field::<String>("email").unwrap(), "ada@example.com");
    /// assert_eq!(call.field::<String>("name").unwrap_err().message, "request example: expected body field `name` (alloc::string::String), found none");
    /// assert!(call.field::<u32>("age").unwrap_err().message.starts_with("request example: expected body field `age` (u32), found \"x\": "));
    /// ```
    pub fn field<T: DeserializeOwned>(&self, name: &str) -> Result<T, ClientError> {
        typed("body field", name, self.input.get("body").and_then(|b| b.get(name)))
    }

    /// One query value, deserialised (`"per_page"` as a `u32`). The error names the
    /// parameter and what was found.
    ///
    /// ```
    /// use oc_integrate::Call;
    /// let call = Call::new("list_issues", serde_json::json!({"query": {"state": "open", "per_page": 30}}));
    /// assert_eq!(call.query_value::<u32>("per_page").unwrap(), 30);
    /// assert_eq!(call.query_value::<String>("state").unwrap(), "open");
    /// assert!(call.query_value::<String>("labels").is_err());
    /// ```
    pub fn query_value<T: DeserializeOwned>(&self, name: &str) -> Result<T, ClientError> {
        typed("query parameter", name, self.input.get("query").and_then(|q| q.get(name)))
    }
}

/// `value` (the request example's `what` called `name`) as a `T`, or an error that says which
/// and what was found.
fn typed<T: DeserializeOwned>(what: &str, name: &str, value: Option<&Value>) -> Result<T, ClientError> {
    let want = std::any::type_name::<T>();
    let err =
        |found: String| ClientError::new(ErrorKind::Other, format!("request example: expected {what} `{name}` ({want}), found {found}"));
    let v = value.ok_or_else(|| err("none".into()))?;
    serde_json::from_value(v.clone()).map_err(|e| err(format!("{}: {e}", crate::text::clip(&v.to_string()))))
}

/// The future of one bound call.
pub type BoxFuture = Pin<Box<dyn Future<Output = CallResult> + Send>>;
/// A client built for one trial: make a call, get its future.
pub type Instance = Arc<dyn Fn(Call) -> BoxFuture + Send + Sync>;

/// The time a webhook handler must read "now" from: the system clock, moved forward by
/// the harness in the cases that need days to pass (an idempotency TTL running out).
/// Bind your handler's timestamp check and its idempotency store's expiry to it.
///
/// ```
/// let clock = oc_integrate::Clock::default();
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
/// assert!((clock.unix() - now).abs() <= 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_s: Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    /// Now, as the handler must see it.
    pub fn now(&self) -> std::time::SystemTime {
        let ahead = self.ahead_s.load(std::sync::atomic::Ordering::SeqCst);
        std::time::SystemTime::now() + Duration::from_secs(ahead.max(0) as u64)
    }

    /// Now in Unix seconds.
    pub fn unix(&self) -> i64 {
        self.now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
    }

    /// Move the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        self.ahead_s.fetch_add(by.as_secs() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Everything a webhook handler factory needs for one receiver case.
#[derive(Debug, Clone)]
pub struct ReceiverContext {
    pub(crate) secret: String,
    pub(crate) clock: Clock,
    pub(crate) processing_delay: Duration,
    pub(crate) receiver: crate::spec::Receiver,
    pub(crate) spec: Arc<Spec>,
}

impl ReceiverContext {
    /// The signing secret the harness signs this case's deliveries with (fresh per case, redacted from output).
    pub fn secret(&self) -> &str {
        &self.secret
    }
    /// The clock the handler must read time from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    /// How long processing one event takes in this case: zero, except in the slow-processing
    /// case, where the handler's stand-in for its real work must take this long (sleep it)
    /// and the handler must still answer within the provider's timeout.
    pub fn processing_delay(&self) -> Duration {
        self.processing_delay
    }
    /// The webhook declaration (scheme, path, TTL, tolerance, body limit, events).
    pub fn receiver(&self) -> &crate::spec::Receiver {
        &self.receiver
    }
    /// The spec being tested.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }
}

/// A project's webhook handler, running for one receiver case: where it listens, and how
/// many events it has processed (the side effect the cases judge).
pub struct Handler {
    pub(crate) url: String,
    pub(crate) processed: Arc<dyn Fn() -> usize + Send + Sync>,
    _keep: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

impl Handler {
    /// A handler listening at `url` (scheme, host and port: the harness appends the spec's
    /// `webhooks.receiver.path`), with `processed` counting the events it has processed.
    pub fn new(url: impl Into<String>, processed: impl Fn() -> usize + Send + Sync + 'static) -> Handler {
        Handler { url: url.into(), processed: Arc::new(processed), _keep: Vec::new() }
    }

    /// Where the handler listens (lets one binding wrap another's handler).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Keep `guard` alive until the case ends (e.g. the sender that shuts the server down when dropped).
    pub fn keep(mut self, guard: impl std::any::Any + Send + Sync) -> Handler {
        self._keep.push(Box::new(guard));
        self
    }
}

/// The future of a handler factory.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Handler, String>> + Send>>;

/// A project's client, bound to a service: a factory and a mapping from endpoint ids to calls.
///
/// ```
/// use oc_integrate::{Binding, ClientError, outcome};
/// struct MyClient { base: String }
/// let binding = Binding::new(
///     |ctx| MyClient { base: ctx.base_url().to_string() },
///     |client, call| async move {
///         match call.endpoint() {
///             "get_thing" => outcome(Ok::<_, ClientError>(serde_json::json!({"base": client.base.clone()}))),
///             other => Err(ClientError::unbound(other)),
///         }
///     },
/// );
/// # let _ = binding;
/// ```
#[derive(Clone)]
pub struct Binding {
    factory: Arc<dyn Fn(&Context) -> Instance + Send + Sync>,
    receiver: Option<Arc<dyn Fn(ReceiverContext) -> HandlerFuture + Send + Sync>>,
}

impl Binding {
    /// Bind a client: `make` builds it from the trial's context, `call` maps an endpoint id to a call of it.
    pub fn new<C, M, F, Fut>(make: M, call: F) -> Binding
    where
        C: Send + Sync + 'static,
        M: Fn(&Context) -> C + Send + Sync + 'static,
        F: Fn(Arc<C>, Call) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CallResult> + Send + 'static,
    {
        let call = Arc::new(call);
        Binding {
            factory: Arc::new(move |ctx| {
                let client = Arc::new(make(ctx));
                let call = call.clone();
                Arc::new(move |c| Box::pin(call(client.clone(), c)) as BoxFuture)
            }),
            receiver: None,
        }
    }

    /// Bind the project's webhook handler too: `start` runs a fresh one for each receiver
    /// case (on a loopback port, with the case's secret, clock and processing delay) and
    /// returns where it listens and how to count what it processed.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use oc_integrate::{Binding, ClientError, Handler};
    /// let binding = Binding::new(|_| (), |_, call| async move { Err(ClientError::unbound(call.endpoint())) })
    ///     .with_receiver(|ctx| async move {
    ///         let processed = Arc::new(AtomicUsize::new(0));
    ///         let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    ///         let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    ///         // serve your handler (axum, hyper, …) on `listener`, verifying with ctx.secret()
    ///         // and ctx.clock(), counting processed events in `processed`
    ///         # drop((listener, ctx));
    ///         let count = processed.clone();
    ///         Ok(Handler::new(url, move || count.load(Ordering::SeqCst)))
    ///     });
    /// # let _ = binding;
    /// ```
    pub fn with_receiver<S, Fut>(mut self, start: S) -> Binding
    where
        S: Fn(ReceiverContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Handler, String>> + Send + 'static,
    {
        self.receiver = Some(Arc::new(move |ctx| Box::pin(start(ctx)) as HandlerFuture));
        self
    }

    /// Start the bound webhook handler for one case, if one is bound.
    pub(crate) fn start_receiver(&self, ctx: ReceiverContext) -> Option<HandlerFuture> {
        self.receiver.as_ref().map(|start| start(ctx))
    }

    /// Build the client for `ctx`. Lets one binding wrap another (to log calls, or to
    /// add faults of your own) by calling the inner instance from the outer mapping.
    pub fn instantiate(&self, ctx: &Context) -> Instance {
        (self.factory)(ctx)
    }
}
