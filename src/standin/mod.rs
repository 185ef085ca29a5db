//! Real provider stand-ins started on loopback (the project's own tests and CI start them;
//! the sandbox trials, in `sandbox`, talk to them like to any provider sandbox): a Stripe-compatible server (`localstripe`),
//! an OAuth 2.0 / OpenID Connect authorization server (`oidc-provider`) and an OpenAPI mock
//! and validation server (Stoplight Prism) serving GitHub's OpenAPI description.
//!
//! Why: the mock scenarios prove what a client does against faults the harness scripts;
//! these prove the harness (and, in sandbox trials, a client) against software that really
//! implements a provider's protocol: token rotation, revocation, validation of requests
//! against the provider's own description. They run offline, from the packages pinned in
//! `sandboxes/<name>/` (npm lockfiles, a fully pinned `requirements.txt`).
//!
//! This module installs nothing: installing is the tests' and CI's job. It checks that the
//! install is there (and names the command to run when it is not), picks a free port, starts
//! the process in its own process group with its output in
//! `<target>/oc-integrate/sandboxes/<name>-<port>.log`, polls an HTTP URL until the server
//! answers as expected (bounded; the error carries the log's tail), and kills the whole group
//! when the handle is dropped, during a panic too. On Linux the process is also killed when
//! the process that started it dies (`PR_SET_PDEATHSIG`). The log is deleted on a clean drop
//! and kept when the drop happens during a panic (a failing test) or the start failed.
//!
//! ```no_run
//! use oc_integrate::standin::LocalSandbox;
//!
//! let stripe = LocalSandbox::localstripe(std::path::Path::new("."))?;
//! println!("a Stripe-compatible API at {}", stripe.url("/v1/customers"));
//! # Ok::<(), oc_integrate::standin::SandboxError>(())
//! ```

mod process;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use process::{FailedStart, Launch, LocalSandbox, SandboxError};

use crate::spec::ClientAuth;

/// The confidential client [`LocalSandbox::oidc`] registers. Its `Debug` never shows the
/// secret, and the secret reaches the server through its environment, never its arguments.
///
/// ```
/// use oc_integrate::standin::OidcClient;
///
/// let client = OidcClient::new("oc-integrate", "s3cret", "http://127.0.0.1/callback");
/// assert!(!format!("{client:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct OidcClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// The one registered `redirect_uri` of the authorization code flow.
    pub redirect_uri: String,
    /// How it authenticates at the token endpoint (`client_secret_basic` unless set).
    pub auth: ClientAuth,
    /// Scopes it may ask for beyond `openid`, `offline_access` and `api:read`.
    pub scopes: Vec<String>,
}

impl OidcClient {
    /// A client with this id, secret and redirect URI.
    ///
    /// ```
    /// let client = oc_integrate::standin::OidcClient::new("app", "secret", "http://127.0.0.1/cb");
    /// assert_eq!(client.id, "app");
    /// ```
    pub fn new(id: impl Into<String>, secret: impl Into<String>, redirect_uri: impl Into<String>) -> OidcClient {
        OidcClient {
            id: id.into(),
            secret: secret.into(),
            redirect_uri: redirect_uri.into(),
            auth: ClientAuth::ClientSecretBasic,
            scopes: Vec::new(),
        }
    }

    /// The same client, authenticating with `auth` and allowed `scopes` besides the defaults.
    ///
    /// ```
    /// use oc_integrate::standin::OidcClient;
    /// use oc_integrate::spec::ClientAuth;
    ///
    /// let client = OidcClient::new("app", "secret", "http://127.0.0.1/cb").with(ClientAuth::ClientSecretPost, &["issues:read"]);
    /// assert_eq!((client.auth, client.scopes.len()), (ClientAuth::ClientSecretPost, 1));
    /// ```
    pub fn with(mut self, auth: ClientAuth, scopes: &[&str]) -> OidcClient {
        self.auth = auth;
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri)
            .field("auth", &self.auth)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// The name `server.mjs` and `authorize.mjs` take for `auth`.
fn client_auth_name(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::ClientSecretBasic => "client_secret_basic",
        ClientAuth::ClientSecretPost => "client_secret_post",
    }
}

/// `root` made absolute: the sandboxes run in their own directories.
fn absolute(root: &Path) -> Result<PathBuf, SandboxError> {
    std::path::absolute(root).map_err(|source| SandboxError::Io {
        name: "sandbox".into(),
        action: format!("resolve {}", root.display()),
        source,
    })
}

/// The GitHub description Prism serves: the smallest file `@octokit/openapi` ships for
/// api.github.com (about 13 MB; the `.deref` variant is 73 MB).
const GITHUB_DESCRIPTION: &str = "sandboxes/openapi/node_modules/@octokit/openapi/generated/api.github.com.json";

impl LocalSandbox {
    /// Start `localstripe` (Stripe's API, stateful, in memory) from `root/sandboxes/localstripe`,
    /// ready when `GET /v1/customers` with a test key answers 200. Any `sk_test_…` key is accepted.
    ///
    /// Needs `python3` and the pinned packages in `sandboxes/localstripe/.python`.
    ///
    /// ```no_run
    /// let stripe = oc_integrate::standin::LocalSandbox::localstripe(std::path::Path::new("."))?;
    /// assert!(stripe.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn localstripe(root: &Path) -> Result<LocalSandbox, SandboxError> {
        let root = absolute(root)?;
        let dir = root.join("sandboxes/localstripe");
        let python = dir.join(".python");
        Launch::new("localstripe", "python3", &dir)
            .requires(
                python.join("localstripe/__init__.py"),
                "cd sandboxes/localstripe && python3 -m pip install --no-deps --target .python -r requirements.txt",
            )
            .args(["serve.py", "{port}"])
            .env("PYTHONPATH", python)
            .env("PYTHONUNBUFFERED", "1")
            .ready_when("/v1/customers", 200)
            .ready_header("Authorization", "Bearer sk_test_oc_integrate_readiness")
            .deadline(Duration::from_secs(60))
            .start()
    }

    /// Start `oidc-provider` from `root/sandboxes/oidc` (`server.mjs`) with `client`
    /// registered, ready when its discovery document answers 200. The issuer is the base URL.
    ///
    /// The client may use `client_credentials`, and `authorization_code` (PKCE S256 required;
    /// the provider's development login and consent forms accept any login) followed by
    /// `refresh_token`; every refresh rotates the refresh token. `/token/revocation` and
    /// `/token/introspection` are enabled.
    ///
    /// ```no_run
    /// use oc_integrate::standin::{LocalSandbox, OidcClient};
    ///
    /// let client = OidcClient::new("app", "s3cret", "http://127.0.0.1/callback");
    /// let oidc = LocalSandbox::oidc(std::path::Path::new("."), &client)?;
    /// println!("token endpoint: {}", oidc.url("/token"));
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn oidc(root: &Path, client: &OidcClient) -> Result<LocalSandbox, SandboxError> {
        let root = absolute(root)?;
        let dir = root.join("sandboxes/oidc");
        Launch::new("oidc", "node", &dir)
            .requires(dir.join("node_modules/oidc-provider/package.json"), "cd sandboxes/oidc && npm ci")
            .args(["server.mjs", "{port}", "http://127.0.0.1:{port}"])
            .env("OIDC_CLIENT_ID", &client.id)
            .env("OIDC_CLIENT_SECRET", &client.secret)
            .env("OIDC_REDIRECT_URI", &client.redirect_uri)
            .env("OIDC_CLIENT_AUTH", client_auth_name(client.auth))
            .env("OIDC_SCOPES", client.scopes.join(" "))
            .ready_when("/.well-known/openid-configuration", 200)
            .deadline(Duration::from_secs(60))
            .start()
    }

    /// The authorization code flow against this oidc-provider as `client` would have a user
    /// go through it (`sandboxes/oidc/authorize.mjs`: the development login and consent
    /// forms, PKCE), asking for `scope`: the token response, with a refresh token. This is
    /// the one-time login that gives a sandbox user's refresh token.
    ///
    /// ```no_run
    /// use oc_integrate::standin::{LocalSandbox, OidcClient};
    ///
    /// let client = OidcClient::new("app", "s3cret", "http://127.0.0.1/callback");
    /// let oidc = LocalSandbox::oidc(std::path::Path::new("."), &client)?;
    /// let tokens = oidc.authorize(std::path::Path::new("."), &client, "openid offline_access")?;
    /// assert!(tokens["refresh_token"].is_string());
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn authorize(&self, root: &Path, client: &OidcClient, scope: &str) -> Result<serde_json::Value, SandboxError> {
        let dir = absolute(root)?.join("sandboxes/oidc");
        let io = |source| SandboxError::Io { name: "oidc".into(), action: "run authorize.mjs".into(), source };
        let out = std::process::Command::new("node")
            .arg("authorize.mjs")
            .arg(self.base_url())
            .current_dir(&dir)
            .env("OIDC_CLIENT_ID", &client.id)
            .env("OIDC_CLIENT_SECRET", &client.secret)
            .env("OIDC_REDIRECT_URI", &client.redirect_uri)
            .env("OIDC_CLIENT_AUTH", client_auth_name(client.auth))
            .env("OIDC_SCOPE", scope)
            .output()
            .map_err(io)?;
        let text = String::from_utf8_lossy(&out.stdout);
        match serde_json::from_str(&text) {
            Ok(v) if out.status.success() => Ok(v),
            _ => Err(io(std::io::Error::other(format!(
                "expected the token response as JSON, found exit {} and: {}{}",
                out.status,
                crate::redact::redact(&text),
                crate::redact::redact(&String::from_utf8_lossy(&out.stderr))
            )))),
        }
    }

    /// Start Stoplight Prism (`root/sandboxes/prism`) mocking GitHub's REST API from the
    /// official description that `sandboxes/openapi/` installs (`@octokit/openapi`), ready
    /// when `GET /` (GitHub's API root) answers 200. Prism validates each request against
    /// the description (an invalid one gets 422 and an `sl-violations` header) and answers
    /// from its examples and schemas. Loading the 13 MB description takes a while (about
    /// 12 s and 300 MB resident on an idle machine), hence the long deadline.
    ///
    /// ```no_run
    /// let github = oc_integrate::standin::LocalSandbox::prism_github(std::path::Path::new("."))?;
    /// println!("GET {}", github.url("/repos/octocat/hello-world/issues"));
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn prism_github(root: &Path) -> Result<LocalSandbox, SandboxError> {
        let root = absolute(root)?;
        let dir = root.join("sandboxes/prism");
        let cli = dir.join("node_modules/@stoplight/prism-cli/dist/index.js");
        let description: PathBuf = root.join(GITHUB_DESCRIPTION);
        Launch::new("prism-github", "node", &dir)
            .requires(&cli, "cd sandboxes/prism && npm ci")
            .requires(&description, "cd sandboxes/openapi && npm ci")
            .arg(cli)
            .args(["mock", "--host", "127.0.0.1", "--port", "{port}"])
            .arg(description)
            .ready_when("/", 200)
            .deadline(Duration::from_secs(240))
            .start()
    }
}
