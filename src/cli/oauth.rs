//! `oc-integrate oauth`: the seed's "implement OAuth 2.0 flow", for the person at the
//! terminal. `login` gets tokens (a user's, through the authorization-code flow with PKCE
//! and a loopback redirect; or the service's, with `client_credentials`) and hands them over
//! as `export` lines, or in a 0600 file outside the repository; never into it. `check` shows
//! what the tokens in the environment are: active, expiry, scopes, rotation, redacted unless
//! `--reveal`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use oc_integrate::oauth::{self, Loopback, Pkce, Server, Tokens};
use oc_integrate::sandbox::live::Target as Place;
use oc_integrate::spec::{self, Auth, Spec};
use serde_json::json;

use super::table::{Paint, fail, json, say};

/// Get OAuth 2.0 tokens for SERVICE (login) or show what the ones you have are (check).
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    Login(Login),
    Check(Check),
}

/// Where the authorization server is and who the client is.
#[derive(clap::Args)]
struct Target {
    /// The service (its directory name).
    service: String,
    /// Directory of integrations.
    #[arg(long, default_value = "integrations")]
    dir: PathBuf,
    /// Use production's authorization server (overview.auth.token_url) instead of the sandbox's.
    #[arg(long)]
    production: bool,
}

/// Get tokens: a user's (authorization code + PKCE, redirected to a loopback listener; open
/// the printed URL in a browser; or --grant device: enter a code on another device) or the
/// service's (--grant client-credentials). Prints `export` lines on stdout for `eval`, or
/// writes them to --out (mode 0600, outside the repository).
#[derive(clap::Args)]
struct Login {
    #[command(flatten)]
    target: Target,
    /// code (a user's tokens through a browser, the default), device (a user's tokens, the
    /// code entered on another device: RFC 8628) or client-credentials (server to server).
    #[arg(long, value_enum, default_value_t = Grant::Code)]
    grant: Grant,
    /// The scopes to ask for, space-separated (default: overview.auth.scopes).
    #[arg(long)]
    scope: Option<String>,
    /// The loopback port of the redirect URI (default: a free one; some servers need the one registered).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Do not try to open a browser; only print the URL.
    #[arg(long)]
    no_browser: bool,
    /// How long to wait for the browser's redirect, in seconds.
    #[arg(long, default_value_t = 300)]
    wait: u64,
    /// Write the export lines to FILE (mode 0600) instead of stdout; refused inside the repository.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Grant {
    Code,
    Device,
    ClientCredentials,
}

/// Show what the tokens in the environment are (the refresh token's variable from the spec's
/// secrets, and <SERVICE>_ACCESS_TOKEN): active, expiry, scopes, rotation. Exit 1 when one is
/// not active.
#[derive(clap::Args)]
struct Check {
    #[command(flatten)]
    target: Target,
    /// Show the tokens themselves instead of their last four characters.
    #[arg(long)]
    reveal: bool,
    /// Print JSON, for scripts.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let outcome = match args.action {
        Action::Login(a) => runtime.block_on(login(a)),
        Action::Check(a) => runtime.block_on(check(a, paint)),
    };
    outcome.unwrap_or_else(fail)
}

impl Target {
    /// The spec and its authorization server.
    async fn server(&self) -> Result<(Spec, Server), String> {
        let file = self.dir.join(&self.service).join("spec.yaml");
        if !file.is_file() {
            return Err(format!("{}: expected the service's spec.yaml, found none", file.display()));
        }
        let spec = spec::load_file(&file).map_err(|e| e.to_string())?;
        let target = if self.production { Place::Production } else { Place::Sandbox };
        let server = Server::connect(&spec, target).await.map_err(|e| e.to_string())?;
        Ok((spec, server))
    }
}

async fn login(a: Login) -> Result<ExitCode, String> {
    let out = match &a.out {
        Some(path) => Some(outside_repository(path, &a.target.dir)?),
        None => None,
    };
    let (spec, s) = a.target.server().await?;
    let declared = match &spec.overview.auth {
        Auth::Oauth2 { scopes, .. } => scopes.join(" "),
        _ => String::new(),
    };
    let scope = a.scope.clone().unwrap_or(declared);
    let tokens = match a.grant {
        Grant::ClientCredentials => {
            let mut pairs = vec![("grant_type", "client_credentials")];
            if !scope.is_empty() {
                pairs.push(("scope", scope.as_str()));
            }
            oauth::grant(&s.up, &s.client, &s.endpoints.token, &pairs).await.map_err(|e| e.to_string())?
        }
        Grant::Code => code_flow(&spec, &s, &a, &scope).await?,
        Grant::Device => device_flow(&spec, &s, &a, &scope).await?,
    };
    let exports = exports(&spec, &s, &tokens);
    eprintln!("{}", summary(&spec, &s, &tokens));
    match out {
        Some(path) => {
            oc_integrate::file::write_private(&path, &exports).map_err(|e| format!("{}: cannot write the tokens: {e}", path.display()))?;
            eprintln!("wrote {} (mode 0600): `source` it, or copy the values into your secret store", path.display());
        }
        None => print!("{exports}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The authorization-code flow: a loopback listener, the URL for the browser, the code, the exchange.
async fn code_flow(spec: &Spec, s: &Server, a: &Login, scope: &str) -> Result<Tokens, String> {
    let Some(authorization) = &s.endpoints.authorization else {
        return Err(format!("{} (RFC 8414 / OpenID discovery): the code flow needs one", s.endpoints.missing("authorization_endpoint")));
    };
    let listener = Loopback::bind(a.port).await.map_err(|e| e.to_string())?;
    let pkce = Pkce::new();
    let state = uuid::Uuid::new_v4().simple().to_string();
    let url = oauth::authorize_url(authorization, &s.client.id, &listener.redirect_uri, scope, &state, &pkce);
    eprintln!("Open this URL in a browser to authorize {} ({}):", spec.name, s.target.as_str());
    eprintln!("authorize: {url}");
    eprintln!("Waiting for the redirect to {} …", listener.redirect_uri);
    open_browser(a, &url);
    let code = listener.code(&state, Duration::from_secs(a.wait)).await.map_err(|e| e.to_string())?;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", listener.redirect_uri.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    oauth::grant(&s.up, &s.client, &s.endpoints.token, &pairs).await.map_err(|e| e.to_string())
}

/// The device flow: the code to enter and where, then polling until it is entered.
async fn device_flow(spec: &Spec, s: &Server, a: &Login, scope: &str) -> Result<Tokens, String> {
    let Some(url) = &s.endpoints.device else {
        return Err(format!("{} (RFC 8628): use --grant code", s.endpoints.missing("device_authorization_endpoint")));
    };
    let code = oauth::device_start(&s.up, &s.client, url, scope).await.map_err(|e| e.to_string())?;
    eprintln!("To authorize {} ({}), open {} and enter the code {}", spec.name, s.target.as_str(), code.verification_uri, code.user_code);
    if let Some(complete) = &code.verification_uri_complete {
        eprintln!("device: {complete}");
        open_browser(a, complete);
    }
    eprintln!("Waiting for the code to be entered (it expires in {}) …", oc_integrate::text::span(code.expires_in));
    let polled = tokio::time::timeout(Duration::from_secs(a.wait), oauth::device_poll(&s.up, &s.client, &s.endpoints.token, &code)).await;
    polled.map_err(|_| format!("the code was not entered within {} s (--wait)", a.wait))?.map_err(|e| e.to_string())
}

/// Open `url` in the desktop's browser, on a terminal and unless --no-browser (best effort:
/// the URL is printed either way).
fn open_browser(a: &Login, url: &str) {
    if !a.no_browser && std::io::stderr().is_terminal() {
        let quiet = std::process::Stdio::null;
        let _ = std::process::Command::new("xdg-open").arg(url).stdout(quiet()).stderr(quiet()).spawn();
    }
}

/// `<SERVICE>_ACCESS_TOKEN`: where `check` looks for an access token.
fn access_env(spec: &Spec) -> String {
    format!("{}_ACCESS_TOKEN", spec.id.to_ascii_uppercase())
}

/// The export lines for `eval` or `source`: the refresh token into the spec's variable, the access token beside it.
fn exports(spec: &Spec, s: &Server, t: &Tokens) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\'', "'\\''"));
    let mut out = format!("export {}={}\n", access_env(spec), quote(&t.access_token));
    if let Some(r) = &t.refresh_token {
        let var = s.refresh_env.clone().unwrap_or_else(|| format!("{}_REFRESH_TOKEN", spec.id.to_ascii_uppercase()));
        out.push_str(&format!("export {var}={}\n", quote(r)));
    }
    out
}

/// What was obtained, without the tokens.
fn summary(spec: &Spec, s: &Server, t: &Tokens) -> String {
    let expiry = t.expires_in.map(|e| format!(", expires in {}", oc_integrate::text::span(e))).unwrap_or_default();
    let refresh = match (&t.refresh_token, &spec.overview.auth) {
        (None, _) => "no refresh token".to_string(),
        (Some(_), Auth::Oauth2 { rotates_refresh_token: true, .. }) => "a refresh token (rotates on every refresh: keep the newest)".into(),
        (Some(_), _) => "a refresh token".into(),
    };
    format!(
        "Authorized {} ({}): an access token{expiry}, {refresh}; scopes: {}",
        spec.name,
        s.target.as_str(),
        t.scope.as_deref().unwrap_or("(not said)")
    )
}

/// `path`, refused when it lies inside the repository that holds `dir` (tokens never go into one).
fn outside_repository(path: &Path, dir: &Path) -> Result<PathBuf, String> {
    let absolute = |p: &Path| std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()));
    let dir = absolute(dir)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent =
        std::fs::canonicalize(parent).map_err(|e| format!("--out {}: expected an existing directory, found: {e}", parent.display()))?;
    if path.is_dir() {
        return Err(format!("--out {}: expected a file to write, found a directory", path.display()));
    }
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let repository = dir.ancestors().find(|a| a.join(".git").exists()).unwrap_or(&dir);
    if parent.starts_with(repository) {
        return Err(format!(
            "--out {}: expected a path outside the repository ({}), found one inside it: tokens are never written into a repository (try ~/.config/oc-integrate/)",
            path.display(),
            repository.display()
        ));
    }
    Ok(parent.join(path.file_name().unwrap_or_default()))
}

async fn check(a: Check, paint: &Paint) -> Result<ExitCode, String> {
    let (spec, s) = a.target.server().await?;
    let rotates = matches!(spec.overview.auth, Auth::Oauth2 { rotates_refresh_token: true, .. });
    let refresh_env = s.refresh_env.clone().unwrap_or_else(|| format!("{}_REFRESH_TOKEN", spec.id.to_ascii_uppercase()));
    let refresh_env_shown = refresh_env.clone();
    let mut rows = Vec::new();
    let (mut inactive, mut unchecked) = (false, false);
    for (what, var, hint) in [("refresh token", refresh_env, "refresh_token"), ("access token", access_env(&spec), "access_token")] {
        let Some(value) = std::env::var(&var).ok().filter(|v| !v.is_empty()) else {
            rows.push(json!({"token": what, "env": var, "set": false}));
            continue;
        };
        oc_integrate::redact::register(&value);
        let shown = if a.reveal {
            value.clone()
        } else {
            format!("…{}", value.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<String>())
        };
        let mut row = json!({"token": what, "env": var, "set": true, "value": shown});
        let asked = match &s.endpoints.introspection {
            Some(url) => {
                match tokio::time::timeout(Duration::from_secs(10), oauth::introspect(&s.up, &s.client, url, &value, hint)).await {
                    Ok(asked) => asked.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("no answer from {url} within 10 s")),
                }
            }
            None => Err(s.endpoints.missing("introspection_endpoint")),
        };
        match asked {
            Ok(i) => {
                inactive |= !i.active;
                row["introspection"] = json!(i);
            }
            Err(e) => {
                unchecked = true;
                row["error"] = json!(e);
            }
        }
        rows.push(row);
    }
    let rotation = if rotates {
        "the refresh token rotates on every refresh (overview.auth.rotates_refresh_token): a spent one is refused, keep the newest"
    } else {
        "the refresh token is not declared to rotate (overview.auth.rotates_refresh_token: false)"
    };
    // 1: a token is not active; 2: none could be checked, or one could not be
    let set = rows.iter().any(|r| r["set"] == true);
    let code = match (inactive, unchecked || !set) {
        (true, _) => ExitCode::FAILURE,
        (false, true) => ExitCode::from(2),
        (false, false) => ExitCode::SUCCESS,
    };
    if !set {
        eprintln!("error: nothing to check: set {refresh_env_shown} or {}", access_env(&spec));
    }
    if a.json {
        json(&json!({"service": spec.id, "place": s.target.as_str(), "endpoints": s.endpoints, "tokens": rows, "rotation": rotation}));
        return Ok(code);
    }
    say!("{}", paint.bold(&format!("{} — OAuth 2.0 tokens ({}, {})", spec.name, s.target.as_str(), s.endpoints.token)));
    for r in &rows {
        let (what, var) = (r["token"].as_str().unwrap_or_default(), r["env"].as_str().unwrap_or_default());
        let state = match (&r["introspection"], r["set"].as_bool(), r["error"].as_str()) {
            (_, Some(false), _) => "not set".to_string(),
            (_, _, Some(e)) => format!("not checked: {e}"),
            (i, _, _) => {
                let active = if i["active"] == true { "active" } else { "NOT active (revoked or expired)" };
                let exp = i["expires_in_s"].as_u64().map(|e| format!(", expires in {}", oc_integrate::text::span(e))).unwrap_or_default();
                let scope = i["scope"].as_str().map(|sc| format!(", scopes: {sc}")).unwrap_or_default();
                format!("{active}{exp}{scope}")
            }
        };
        let value = r["value"].as_str().unwrap_or_default();
        say!("{}", oc_integrate::text::printable(&format!("  {what:<14} {var:<24} {value:<8} {state}")));
    }
    say!("  rotation: {rotation}");
    Ok(code)
}
