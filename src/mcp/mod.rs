//! The MCP server (`oc-integrate mcp`): the verbs as tools, the integrations' documents and
//! round reports as resources, the Planner, Builder and Tester briefs as prompts, for an
//! agent that connects over stdio or streamable HTTP on loopback. Everything it answers
//! passes [`deliver`] (secrets redacted); every path it is given passes
//! [`project::Project::resolve`] (confined to the directory it was started in).
//!
//! `tools` runs each verb as the CLI does (`child`), `resources` lists and reads the
//! documents, `prompts` holds the briefs.

mod child;
mod project;
mod prompts;
mod resources;
mod tools;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use oc_integrate::{redact, spec};
use rmcp::model::{
    Implementation, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt as _, prompt_handler, tool_handler};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use project::Project;

/// What the server says about itself at initialization: how an agent should use it.
const INSTRUCTIONS: &str = "oc-integrate: a test harness for third-party API integrations. \
The loop: `plan` a service's spec from its API description (the Planner; a person approves the spec before anything is built), \
`build` is the build loop's next step (the contract lint, the typed client and its binding scaffolded from the spec, then \
one round; a FAIL returns the Builder's to-do list), `test` runs one round for a service (the Tester: it reads the spec and \
contract.md, never the Builder's code) and writes integrations/<service>/test-round-M.md; after 3 failed rounds in a row the \
integration is escalated to a person. `connect` is the quick build of an API-key service with 1 to 3 endpoints (a smoke test, \
no contract or round). Read `report` for a round's failures and what each \
expected; `list` and `checkpoint` show where every integration stands; `health`, `secrets`, `retry`, `drift` operate them. \
Resources are each spec.yaml, integration-spec.md, contract.md and round report; the prompts are the three roles' briefs. \
Paths are relative to the project directory the server runs in.";

/// The server: one project directory and its integrations directory (the tools and prompts
/// are `tools`' and `prompts`' routers).
#[derive(Clone)]
pub struct Server {
    project: Project,
    /// The integrations directory, relative to the project (the tools' default `dir`).
    dir: String,
}

impl Server {
    /// A server for `project` whose integrations are under `dir` (relative to it). The values of
    /// the secrets the specs there name are registered for redaction.
    pub fn new(project: Project, dir: &str) -> Result<Server, project::PathError> {
        let integrations = project.resolve("--dir", dir)?;
        register_secrets(&integrations);
        let dir = project.relative(&integrations);
        Ok(Server { project, dir })
    }

    /// The integrations directory as given, or the server's; the secrets its specs name (as
    /// they are now: a spec planned since the start counts) are registered for redaction.
    fn dir_or_default(&self, given: Option<&str>) -> Result<String, String> {
        let dir = self.path("dir", given.unwrap_or(&self.dir))?;
        register_secrets(&self.project.root().join(&dir));
        Ok(dir)
    }

    /// A service id a client gave: one directory name under the integrations directory, never
    /// a path (`retry` writes to `<dir>/<service>/spec.yaml`).
    fn service(&self, given: String) -> Result<String, String> {
        let plain = !given.is_empty() && given != "." && given != ".." && !given.contains(['/', '\\']);
        if plain {
            Ok(given)
        } else {
            Err(format!("service: expected a service id (a directory name under the integrations directory), found {given:?}"))
        }
    }

    /// A path a client gave, confined to the project, as the relative path the CLI is given.
    fn path(&self, param: &'static str, given: &str) -> Result<String, String> {
        let resolved = self.project.resolve(param, given).map_err(|e| e.to_string())?;
        let relative = self.project.relative(&resolved);
        Ok(if relative.is_empty() { ".".into() } else { relative })
    }
}

#[tool_handler]
#[prompt_handler]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().enable_prompts().build())
            .with_server_info(Implementation::new("oc-integrate", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult { resources: resources::list(&self.project, &self.dir), ..Default::default() })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(&self.project, &self.dir, &request.uri).map(Into::into)
    }
}

/// Register the values of the variables the specs under `dir` name in their `secrets`.
fn register_secrets(dir: &Path) {
    for s in spec::load_dir(dir).into_iter().flatten().flatten() {
        redact::register_env(s.secrets.iter().filter_map(|x| x.env.as_deref()));
    }
}

/// `value` with every registered secret redacted, as it crosses the protocol. Done on the
/// serialized form, so no field of any answer is missed.
pub fn deliver<T: Serialize + DeserializeOwned>(value: T) -> Result<T, String> {
    let text = serde_json::to_string(&value).map_err(|e| format!("cannot serialize the answer: {e}"))?;
    serde_json::from_str(&redact::redact(&text)).map_err(|e| format!("cannot redact the answer: {e}"))
}

/// Why the server could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The project directory or the integrations directory is unusable.
    #[error("{path}: {message}")]
    Project { path: PathBuf, message: String },
    /// `--http` named an address that is not loopback.
    #[error("--http: expected a loopback address (127.0.0.1:PORT or [::1]:PORT), found {0}")]
    NotLoopback(SocketAddr),
    /// The bearer token's variable is unset or empty.
    #[error("--token-env {0}: expected the bearer token clients must send in that environment variable, found it unset or empty")]
    NoToken(String),
    /// The transport failed.
    #[error("{0}")]
    Transport(String),
}

/// The server for the project at `root`, integrations under `dir`.
fn server(root: &Path, dir: &str) -> Result<Server, ServeError> {
    let project = Project::new(root).map_err(|e| ServeError::Project { path: root.to_path_buf(), message: e.to_string() })?;
    Server::new(project, dir).map_err(|e| ServeError::Project { path: root.to_path_buf(), message: e.to_string() })
}

/// Serve MCP over stdin/stdout until the client closes it.
pub async fn serve_stdio(root: &Path, dir: &str) -> Result<(), ServeError> {
    let running = server(root, dir)?.serve(rmcp::transport::stdio()).await.map_err(|e| ServeError::Transport(e.to_string()))?;
    running.waiting().await.map_err(|e| ServeError::Transport(e.to_string()))?;
    Ok(())
}

/// Serve MCP's streamable HTTP transport at `http://ADDR/mcp` (loopback only); every request
/// must carry `Authorization: Bearer <token>`. `ready` is told the bound address.
pub async fn serve_http(root: &Path, dir: &str, addr: SocketAddr, token: String, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager};
    if !addr.ip().is_loopback() {
        return Err(ServeError::NotLoopback(addr));
    }
    let made = server(root, dir)?;
    let service =
        StreamableHttpService::new(move || Ok(made.clone()), LocalSessionManager::default().into(), StreamableHttpServerConfig::default());
    let token: std::sync::Arc<str> = token.into();
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(move |request, next| bearer(token.clone(), request, next)));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| ServeError::Transport(format!("{addr}: {e}")))?;
    ready(listener.local_addr().map_err(|e| ServeError::Transport(e.to_string()))?);
    axum::serve(listener, app).await.map_err(|e| ServeError::Transport(e.to_string()))
}

/// Pass the request on when it carries the bearer token (compared in constant time), else 401.
async fn bearer(token: std::sync::Arc<str>, request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use subtle::ConstantTimeEq as _;
    let given =
        request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.as_bytes()))) {
        return next.run(request).await;
    }
    let mut refused = axum::response::Response::new(axum::body::Body::from(
        "expected Authorization: Bearer <the token in the server's --token-env variable>\n",
    ));
    *refused.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    refused.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
    refused
}
