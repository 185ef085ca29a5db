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
    /// Credentials for this trial.
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
}

/// The future of one bound call.
pub type BoxFuture = Pin<Box<dyn Future<Output = CallResult> + Send>>;
/// A client built for one trial: make a call, get its future.
pub type Instance = Arc<dyn Fn(Call) -> BoxFuture + Send + Sync>;

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
        }
    }

    /// Build the client for `ctx`. Lets one binding wrap another (to log calls, or to
    /// add faults of your own) by calling the inner instance from the outer mapping.
    pub fn instantiate(&self, ctx: &Context) -> Instance {
        (self.factory)(ctx)
    }
}
