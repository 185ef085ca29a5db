//! oc-integrate: a test harness that does not trust the client.
//!
//! From one integration spec per third-party service it generates the failure cases a
//! client builder forgets (expired tokens, 429 storms, slow and broken connections,
//! duplicate POSTs, drifting response shapes) and runs them as `cargo test` trials
//! against the project's own client.

pub mod binding;
pub mod build;
pub mod case;
pub mod checkpoint;
pub mod ci;
pub mod cores;
pub mod drift;
pub mod file;
pub mod harness;
pub mod health;
pub mod lag;
pub mod oauth;
pub mod pace;
pub mod plan;
pub mod pm;
pub mod progress;
pub mod redact;
pub mod report;
pub mod results;
pub mod sandbox;
pub mod scenario;
pub mod secrets;
pub mod server;
pub mod spec;
#[cfg(unix)]
pub mod standin;
pub mod text;
pub mod timeline;
pub mod trial;
pub mod webhook;

pub use binding::{
    Binding, Call, CallResult, ClientError, Clock, Context, Credentials, ErrorKind, Handler, ReceiverContext, Retry, outcome,
};
pub use harness::{Harness, Outputs};
