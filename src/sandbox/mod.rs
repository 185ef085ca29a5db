//! Sandbox trials: the project's own client against a provider's sandbox (connectivity,
//! auth, token refresh, each endpoint, idempotency, rate limit) and the nightly drift checks,
//! beside the mock trials. `trial` plans and runs them, `proxy` is the recording proxy
//! between client and sandbox (declared hosts only, an optional token gate), `throttle`
//! keeps a service's sandbox traffic at its declared rate limit.

pub mod live;
pub mod proxy;
pub mod throttle;
pub mod trial;

pub use trial::shape_errors;
