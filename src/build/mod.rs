//! The Builder (`oc-integrate build`): from a spec, the source of a typed Rust client that
//! passes the spec's own generated suite, and the harness binding that runs it.
//!
//! [`scaffold`] is pure: it returns each file's path and text. Under the service's module
//! (`src/integrations/<svc>/`): `types.rs` (the spec's schemas as structs, `types`),
//! `client.rs` (one async method per endpoint, `client`), `transport.rs` and `error.rs` (the
//! policy and the errors, the same for every service: `template/`) and `mod.rs`; beside them
//! `tests/integrations/<svc>.rs` (the binding, `binding`). [`harness_main`] and
//! [`parent_module`] list every generated service; [`marker`] stamps a file as generated and
//! tells an untouched file from a hand-edited one.

mod binding;
mod client;
pub mod marker;
mod names;
mod receiver;
mod sender;
mod types;

use std::path::PathBuf;

use crate::spec::Spec;

pub use binding::harness_main;

/// Where the generated module goes and how the binding reaches it.
#[derive(Debug, Clone)]
pub struct Options {
    /// The module's path in the crate, e.g. `["integrations", "payments"]` for `src/integrations/payments`.
    pub module: Vec<String>,
    /// The crate's name as code names it (`my_app`).
    pub crate_name: String,
}

impl Options {
    /// The options for a module at `out` (a directory under `src/`) of the crate `crate_name`.
    ///
    /// ```
    /// use oc_integrate::build::Options;
    /// let o = Options::at("src/integrations/payments", "my-app").unwrap();
    /// assert_eq!((o.module.join("::"), o.crate_name.as_str()), ("integrations::payments".to_string(), "my_app"));
    /// assert!(Options::at("lib/payments", "my-app").is_err());
    /// ```
    pub fn at(out: &str, crate_name: &str) -> Result<Options, BuildError> {
        let path = std::path::Path::new(out);
        let rest =
            path.strip_prefix("src").map_err(|_| BuildError::Options(format!("--out: expected a directory under src/, found {out}")))?;
        let module: Vec<String> = rest.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if module.is_empty() || module.iter().any(|m| names::snake(m) != *m) {
            return Err(BuildError::Options(format!("--out: expected src/ and module names (snake case, not keywords), found {out}")));
        }
        Ok(Options { module, crate_name: crate_name.replace('-', "_") })
    }

    fn dir(&self) -> PathBuf {
        self.module.iter().fold(PathBuf::from("src"), |p, m| p.join(m))
    }
}

/// A file `scaffold` makes: where it goes (relative to the crate's root) and its text, not yet
/// formatted or stamped.
#[derive(Debug, Clone)]
pub struct File {
    /// Where it goes.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// Why a client could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The spec says something the generator cannot turn into Rust, at `file:line:col`.
    #[error("{at}: {message}")]
    Spec {
        /// Where in the spec.
        at: String,
        /// What and why.
        message: String,
    },
    /// The options do not fit.
    #[error("{0}")]
    Options(String),
}

/// One endpoint's generated method, as the binding calls it.
struct Signature {
    /// The endpoint id.
    endpoint: String,
    /// The method's name.
    name: String,
    /// Its path parameters, in order (their names in the spec).
    params: Vec<String>,
    /// Whether it takes a query.
    query: bool,
    /// Whether it takes a body.
    body: bool,
    /// Its source.
    source: String,
}

/// The generated module of `spec`'s service and its binding.
pub fn scaffold(spec: &Spec, options: &Options) -> Result<Vec<File>, BuildError> {
    let dir = options.dir();
    let mut types = types::Types::new();
    let (client, signatures) = client::render(spec, &mut types)?;
    let made = types.render();
    let types_text = if made.is_empty() {
        format!("//! The {} API's types: the spec declares no schema a struct is made from.\n", spec.name)
    } else {
        format!(
            "//! The {} API's types, made from the spec's JSON Schemas: required fields plain, optional or\n//! nullable ones `Option`, fields the schema does not name ignored in a response.\n\nuse serde::{{Deserialize, Serialize}};\n\n{made}",
            spec.name
        )
    };
    let sender = sender::render(spec)?;
    let receiver = receiver::render(spec)?;
    let signing = receiver::signing(spec);
    let service = options.module.last().cloned().unwrap_or_default();
    let file = |name: &str, text: String| File { path: dir.join(name), text };
    let mut files = vec![
        file("mod.rs", module_doc(spec, options, sender.is_some(), receiver.is_some())),
        file("client.rs", client),
        file("types.rs", types_text),
        file("transport.rs", include_str!("template/transport.rs.in").to_string()),
        file("error.rs", include_str!("template/error.rs.in").to_string()),
        File { path: PathBuf::from("tests/integrations").join(format!("{service}.rs")), text: binding::render(spec, options, &signatures) },
    ];
    files.extend(sender.map(|text| file("sender.rs", text)));
    files.extend(receiver.map(|text| file("receiver.rs", text)));
    files.extend(signing.map(|text| file("signing.rs", text)));
    Ok(files)
}

fn module_doc(spec: &Spec, options: &Options, sender: bool, receiver: bool) -> String {
    let module = format!("{}::{}", options.crate_name, options.module.join("::"));
    let env = |fallback: &str| spec.secrets.iter().find_map(|s| s.env.clone()).unwrap_or_else(|| fallback.to_string());
    let credentials = match &spec.overview.auth {
        crate::spec::Auth::None => "Credentials::None".to_string(),
        crate::spec::Auth::ApiKey { .. } => format!("Credentials::ApiKey(std::env::var({:?})?)", env("API_KEY")),
        crate::spec::Auth::Oauth2 { token_url, .. } => format!(
            "Credentials::OAuth2 {{\n//!     token_url: {token_url:?}.into(),\n//!     client_id: std::env::var(\"CLIENT_ID\")?,\n//!     client_secret: std::env::var(\"CLIENT_SECRET\")?,\n//!     access_token: String::new(),\n//!     refresh_token: std::env::var(\"REFRESH_TOKEN\")?,\n//! }}"
        ),
    };
    format!(
        r#"//! The {name} client, generated by `oc-integrate build {id}` from its spec: typed requests and
//! responses, one async method per endpoint, and the declared auth, retry policy, timeout,
//! idempotency keys and pagination. Change the spec and rebuild rather than edit these files.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {{
//! use {module}::{{Client, Config, Credentials}};
//! let client = Client::new(Config::production({credentials}))?;
//! # let _ = client;
//! # Ok(())
//! # }}
//! ```

pub mod client;
pub mod error;
{receiver_mod}{sender_mod}{signing_mod}pub mod transport;
pub mod types;

pub use client::{{BASE_URL, Client}};
pub use error::{{Error, ErrorKind}};
{receiver_use}{sender_use}pub use transport::{{Config, Credentials, RetryPolicy}};
"#,
        name = spec.name,
        id = spec.id,
        module = module,
        credentials = credentials,
        sender_mod = if sender { "pub mod sender;\n" } else { "" },
        sender_use = if sender { "pub use sender::Sender;\n" } else { "" },
        receiver_mod = if receiver { "pub mod receiver;\n" } else { "" },
        receiver_use = if receiver { "pub use receiver::Receiver;\n" } else { "" },
        signing_mod = if sender || receiver { "pub mod signing;\n" } else { "" },
    )
}

/// The source of the module that declares each generated service module (`src/integrations/mod.rs`).
pub fn parent_module(services: &[String]) -> String {
    let mods: String = services.iter().map(|s| format!("pub mod {s};\n")).collect();
    format!("//! The third-party integrations, one generated module each (`oc-integrate build <service>`).\n\n{mods}")
}

/// The dependencies the generated client and its binding need, as `Cargo.toml` lines
/// (a webhook sender signs with `WEBHOOK_LINES` besides).
pub const CARGO_LINES: &str = r#"[dependencies]
httpdate = "1"
reqwest = { version = "0.12", default-features = false, features = ["rustls-tls", "json"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["rt", "sync", "time"] }
uuid = { version = "1", features = ["v4"] }

[dev-dependencies]
oc-integrate = { git = "…" }   # or a path

[[test]]
name = "integrations"
harness = false
"#;

/// The dependencies a generated webhook sender or receiver adds, as `Cargo.toml` lines under `[dependencies]`.
pub const WEBHOOK_LINES: &str = r#"base64 = "0.23"
hex = "0.4"
hmac = "0.13"
sha2 = "0.11"
"#;

/// The dependency a generated webhook receiver adds besides, as a `Cargo.toml` line under `[dependencies]`.
pub const RECEIVER_LINES: &str = r#"axum = { version = "0.8", default-features = false, features = ["tokio", "http1"] }
"#;
