//! The offline sandboxes (`oc_integrate::standin`), each started by the test itself from the
//! packages pinned in `sandboxes/` (installed on demand: `npm ci`, `pip install --target`),
//! and shown to be the real thing: localstripe keeps customers (and does not honour
//! `Idempotency-Key`), oidc-provider issues, rotates, revokes and introspects tokens, Prism
//! answers from GitHub's description and rejects requests that break it. Then the launcher
//! itself: a clear error on a server that never gets ready or exits, on a missing install,
//! and no process left behind after a drop, a panic, or the death of the test process.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oc_integrate::plan::{self, openapi::Document};
use oc_integrate::standin::{Launch, LocalSandbox, OidcClient, SandboxError};
use reqwest::StatusCode;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Start a sandbox, failing the test with the launcher's whole message (log tail included).
fn started(sandbox: Result<LocalSandbox, SandboxError>) -> LocalSandbox {
    sandbox.unwrap_or_else(|e| panic!("{e}"))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("expected JSON, found {e} in {text:?}")))
}

// ---------------------------------------------------------------- localstripe

fn localstripe() -> LocalSandbox {
    started(support::localstripe())
}

#[tokio::test]
async fn localstripe_keeps_customers_but_not_idempotency_keys() {
    let stripe = localstripe();
    let http = http();
    let create = || {
        http.post(stripe.url("/v1/customers"))
            .bearer_auth("sk_test_oc_integrate")
            .header("Idempotency-Key", "oc-integrate-same-key")
            .form(&[("email", "ada@example.com"), ("name", "Ada Lovelace")])
            .send()
    };
    let (status, first) = json(create().await.unwrap()).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = json(create().await.unwrap()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!((first["object"].as_str(), first["email"].as_str()), (Some("customer"), Some("ada@example.com")), "{first}");
    // Stripe would replay the first answer for the same key; localstripe creates a second
    // customer, so it cannot judge a client's idempotency handling (the mock scenarios do).
    assert_ne!(first["id"], second["id"], "localstripe now honours Idempotency-Key: say so in README.md's Offline sandboxes");

    for created in [&first, &second] {
        let id = created["id"].as_str().unwrap();
        let (status, fetched) =
            json(http.get(stripe.url(&format!("/v1/customers/{id}"))).bearer_auth("sk_test_oc_integrate").send().await.unwrap()).await;
        assert_eq!(status, 200, "{fetched}");
        assert_eq!(&fetched, created, "a customer fetched back must be the one created");
    }
    let (status, missing) =
        json(http.get(stripe.url("/v1/customers/cus_oc_integrate_unknown")).bearer_auth("sk_test_oc_integrate").send().await.unwrap())
            .await;
    assert_eq!(status, 404, "{missing}");
    assert_eq!(missing["error"]["type"], "invalid_request_error", "{missing}");
    let unauthenticated = http.get(stripe.url("/v1/customers")).send().await.unwrap().status();
    assert_eq!(unauthenticated, 401, "a request without an API key must be refused");
}

// ---------------------------------------------------------------- oidc-provider

fn oidc() -> (LocalSandbox, OidcClient) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| support::npm_ci(&root().join("sandboxes/oidc")));
    let client = OidcClient::new("oc-integrate", uuid::Uuid::new_v4().simple().to_string(), "http://127.0.0.1/callback");
    (started(LocalSandbox::oidc(root(), &client)), client)
}

/// POST a form to the token endpoint family (`/token`, `/token/introspection`, `/token/revocation`)
/// as `client` with `client_secret_basic`.
async fn token_call(oidc: &LocalSandbox, client: &OidcClient, secret: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = http().post(oidc.url(path)).basic_auth(&client.id, Some(secret)).form(form).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: expected JSON, found {e} in {text:?}"))
        },
    )
}

async fn introspect(oidc: &LocalSandbox, client: &OidcClient, token: &str) -> Value {
    let (status, body) = token_call(oidc, client, &client.secret, "/token/introspection", &[("token", token)]).await;
    assert_eq!(status, 200, "introspection: {body}");
    body
}

/// The authorization code flow through the provider's development login and consent pages
/// (`sandboxes/oidc/authorize.mjs`, PKCE): the token response, with a refresh token.
fn authorization_code(oidc: &LocalSandbox, client: &OidcClient) -> Value {
    oidc.authorize(root(), client, "openid offline_access").unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn oidc_client_credentials_and_wrong_secret() {
    let (oidc, client) = oidc();
    let (status, token) = token_call(&oidc, &client, &client.secret, "/token", &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer", "{token}");
    let access = token["access_token"].as_str().unwrap_or_else(|| panic!("expected an access_token, found {token}"));
    let seen = introspect(&oidc, &client, access).await;
    assert_eq!((seen["active"].as_bool(), seen["client_id"].as_str()), (Some(true), Some(client.id.as_str())), "{seen}");

    let (status, refused) = token_call(&oidc, &client, "not-the-secret", "/token", &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["error"], "invalid_client", "{refused}");
}

#[tokio::test]
async fn oidc_rotates_refresh_tokens_and_revokes_on_reuse() {
    let (oidc, client) = oidc();
    let tokens = authorization_code(&oidc, &client);
    let first = tokens["refresh_token"].as_str().unwrap_or_else(|| panic!("expected a refresh_token, found {tokens}")).to_string();
    let refresh = |token: String| {
        let (oidc, client) = (&oidc, &client);
        async move { token_call(oidc, client, &client.secret, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &token)]).await }
    };

    let (status, rotated) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first, "every refresh must rotate the refresh token");
    let (status, again) = refresh(second.clone()).await;
    assert_eq!(status, 200, "the new refresh token must work: {again}");
    let third = again["refresh_token"].as_str().unwrap().to_string();
    let access = again["access_token"].as_str().unwrap().to_string();
    assert_eq!(introspect(&oidc, &client, &access).await["active"], true);

    let (status, reused) = refresh(first).await;
    assert_eq!((status.as_u16(), reused["error"].as_str()), (400, Some("invalid_grant")), "a used refresh token must be refused: {reused}");
    // reuse of a rotated token revokes the whole grant: the latest tokens die with it
    let (status, after) = refresh(third).await;
    assert_eq!((status.as_u16(), after["error"].as_str()), (400, Some("invalid_grant")), "{after}");
    assert_eq!(introspect(&oidc, &client, &access).await["active"], false);
}

#[tokio::test]
async fn oidc_revoked_token_is_inactive() {
    let (oidc, client) = oidc();
    let (_, token) = token_call(&oidc, &client, &client.secret, "/token", &[("grant_type", "client_credentials")]).await;
    let access = token["access_token"].as_str().unwrap_or_else(|| panic!("expected an access_token, found {token}"));
    assert_eq!(introspect(&oidc, &client, access).await["active"], true);
    let (status, body) =
        token_call(&oidc, &client, &client.secret, "/token/revocation", &[("token", access), ("token_type_hint", "access_token")]).await;
    assert_eq!(status, 200, "revocation: {body}");
    let seen = introspect(&oidc, &client, access).await;
    assert_eq!(seen["active"], false, "a revoked token must be inactive: {seen}");
}

// ---------------------------------------------------------------- Prism + GitHub

fn prism_github() -> LocalSandbox {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        support::npm_ci(&root().join("sandboxes/openapi"));
        support::npm_ci(&root().join("sandboxes/prism"));
    });
    started(LocalSandbox::prism_github(root()))
}

#[tokio::test]
async fn prism_serves_github_issues_and_rejects_invalid_requests() {
    let github = prism_github();
    let http = http();
    let response = http.get(github.url("/repos/octocat/hello-world/issues")).header("Accept", "application/json").send().await.unwrap();
    let (status, issues) = json(response).await;
    assert_eq!(status, 200, "{issues}");
    let list = issues.as_array().unwrap_or_else(|| panic!("expected a JSON array of issues, found {issues}"));
    assert!(!list.is_empty(), "expected at least one example issue");

    // valid per the very description Prism serves
    let file = root().join("sandboxes/openapi/node_modules/@octokit/openapi/generated/api.github.com.json");
    let doc = Document::new(plan::read_document(&file).unwrap()).unwrap();
    let schema = doc.root.pointer("/paths/~1repos~1{owner}~1{repo}~1issues/get/responses/200/content/application~1json/schema").unwrap();
    let mut shared = plan::openapi::Shared::default();
    let converted = doc.json_schema(schema, &mut shared);
    let validator = jsonschema::validator_for(&plan::openapi::self_contained(shared.root(), &converted)).unwrap();
    let errors: Vec<String> = validator.iter_errors(&issues).take(5).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "expected the issues to be valid per the description, found: {errors:#?}");
    let mut broken = issues.clone();
    broken[0]["number"] = "one".into();
    assert!(!validator.is_valid(&broken), "the schema must be one that can fail: an issue number that is a string");

    let response = http.get(github.url("/repos/octocat/hello-world/issues?state=sideways")).send().await.unwrap();
    assert_eq!(response.status(), 422, "an invalid enum value must fail Prism's request validation");
    let violations = response.headers().get("sl-violations").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let violations: Value = serde_json::from_str(&violations)
        .unwrap_or_else(|e| panic!("expected Prism's sl-violations header as JSON, found {e}: {violations:?}"));
    assert_eq!(violations[0]["location"], serde_json::json!(["request", "query", "state"]), "{violations}");
    assert_eq!(violations[0]["code"], "enum", "{violations}");
}

// ---------------------------------------------------------------- the launcher

/// A process group of two: `sh` and a Python HTTP server it started in the background
/// (whose pid it prints to the log).
fn two_process_server() -> LocalSandbox {
    started(
        Launch::new("two-processes", "sh", root())
            .args(["-c", "python3 -m http.server {port} --bind 127.0.0.1 & echo \"server pid $!\"; wait"])
            .ready_when("/", 200)
            .start(),
    )
}

fn server_pid(log: &Path) -> u32 {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("server pid "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no server pid in the log:\n{text}"))
}

/// Whether `pid` is a live process (a zombie, dead but not yet reaped by init, is not).
/// Its sockets may outlive this by a moment: see [`stops_answering`].
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')))
}

/// Poll until `pid` is dead, for at most a minute; whether it died.
fn dies(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(60);
    while alive(pid) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

/// Poll until connecting to `port` is refused, for at most a minute (a killed process's
/// sockets close as its last thread exits, shortly after the kill); whether it was.
fn stops_answering(port: u16) -> bool {
    let until = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn readiness_timeout_names_url_expected_found_and_log_tail() {
    let err = Launch::new("never-listens", "sh", root())
        .args(["-c", "echo warming up on port {port}; exec sleep 600"])
        .ready_when("/health", 204)
        .deadline(Duration::from_secs(5))
        .start()
        .map(|s| s.pid())
        .unwrap_err();
    let SandboxError::NotReady { ref found, ref start, .. } = err else { panic!("expected NotReady, found {err:?}") };
    let (url, log) = (&start.url, &start.log);
    let port = url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/health");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "sandbox never-listens: expected GET http://127.0.0.1:{port}/health to answer HTTP 204 within 5.0 s, found no connection"
        )),
        "{text}"
    );
    assert!(found.starts_with("no connection"), "{found}");
    assert!(text.contains("command: sh -c echo warming up on port"), "{text}");
    assert!(text.contains(&format!("warming up on port {port}")), "the error must carry the log's tail: {text}");
    assert!(log.exists(), "the log must be kept after a failed start");
    std::fs::remove_file(log).unwrap();
}

#[test]
fn exit_before_ready_reports_status_and_log_tail() {
    let err = Launch::new("exits", "sh", root())
        .args(["-c", "echo 'config is broken' >&2; exit 3"])
        .env("SANDBOX_SECRET", "s3cret-never-shown")
        .start()
        .map(|s| s.pid())
        .unwrap_err();
    assert!(!err.to_string().contains("s3cret-never-shown") && !format!("{err:?}").contains("s3cret-never-shown"), "{err}");
    let SandboxError::Exited { status, ref start } = err else { panic!("expected Exited, found {err:?}") };
    let log = &start.log;
    assert_eq!(status.code(), Some(3));
    let text = err.to_string();
    assert!(text.contains("expected it to run until GET http://127.0.0.1:") && text.contains("config is broken"), "{text}");
    std::fs::remove_file(log).unwrap();
}

#[test]
fn missing_install_names_the_command() {
    let empty = support::scratch("sandbox-root");
    let client = OidcClient::new("app", "never-shown-secret", "http://127.0.0.1/cb");
    let err = LocalSandbox::oidc(&empty, &client).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SandboxError::NotInstalled { .. }), "{err:?}");
    assert!(
        text.contains("sandboxes/oidc/node_modules/oidc-provider/package.json")
            && text.ends_with("install it with `cd sandboxes/oidc && npm ci` (from the project root)"),
        "{text}"
    );
    assert!(!text.contains("never-shown-secret") && !format!("{err:?}").contains("never-shown-secret"));
    let err = LocalSandbox::localstripe(&empty).unwrap_err().to_string();
    assert!(err.contains("python3 -m pip install --no-deps --target .python -r requirements.txt"), "{err}");
    let err = LocalSandbox::prism_github(&empty).unwrap_err().to_string();
    assert!(err.contains("cd sandboxes/prism && npm ci"), "{err}");
}

#[test]
fn missing_program_names_the_command() {
    let err = Launch::new("nothing", "oc-integrate-no-such-program", root()).args(["{port}"]).start().map(|s| s.pid()).unwrap_err();
    assert!(matches!(err, SandboxError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("sandbox nothing: cannot start `oc-integrate-no-such-program ") && text.contains("No such file or directory"),
        "{text}"
    );
}

#[test]
fn drop_kills_the_process_group_and_deletes_the_log() {
    let server = two_process_server();
    let (shell, python, port, log) = (server.pid(), server_pid(server.log_path()), server.port(), server.log_path().to_path_buf());
    assert!(alive(shell) && alive(python));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(server);
    assert!(!alive(shell), "the sandbox's own process must be gone after drop");
    assert!(dies(python), "the process it started (same group) must be killed too");
    assert!(stops_answering(port), "nothing may answer on port {port} after drop");
    assert!(!log.exists(), "a clean drop deletes the log");
}

#[test]
fn panic_kills_the_process_group_and_keeps_the_log() {
    let mut seen = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let server = two_process_server();
        seen = Some((server.pid(), server_pid(server.log_path()), server.port(), server.log_path().to_path_buf()));
        panic!("a deliberate test failure while the sandbox runs");
    }));
    assert!(outcome.is_err());
    let (shell, python, port, log) = seen.unwrap();
    assert!(!alive(shell), "the sandbox's own process must be gone after the unwind");
    assert!(dies(python), "the process it started must be killed too");
    assert!(stops_answering(port), "nothing may answer on port {port} after the unwind");
    assert!(log.exists(), "the log of a failed test must be kept");
    std::fs::remove_file(log).unwrap();
}

/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends: a sandbox started
/// on a thread that ends (a test's, a `OnceLock` initialiser's) must live on while its handle
/// does. (A regression is seen within the second this watches; correct code always passes.)
#[test]
fn outlives_the_thread_that_started_it() {
    let server = std::thread::spawn(two_process_server).join().unwrap();
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        assert!(alive(server.pid()), "the sandbox died with the thread that started it");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.port())).is_ok());
}

/// Run by `killed_with_the_test_process` in a child test process: start a server, print its
/// pid, and abort (no unwinding, no Drop).
#[test]
#[ignore = "a helper process of killed_with_the_test_process, which runs it"]
fn start_then_abort() {
    if std::env::var_os("OC_SANDBOX_ABORT").is_some() {
        let server = started(Launch::new("orphan", "python3", root()).args(["-m", "http.server", "{port}", "--bind", "127.0.0.1"]).start());
        println!("sandbox pid {}\nsandbox log {}", server.pid(), server.log_path().display());
        std::process::abort();
    }
}

#[test]
fn killed_with_the_test_process() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["start_then_abort", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env("OC_SANDBOX_ABORT", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the helper must have aborted: {stdout}");
    let pid: u32 = stdout.lines().find_map(|l| l.split("sandbox pid ").nth(1)).and_then(|p| p.trim().parse().ok()).unwrap_or_else(|| {
        panic!("expected the helper to print its sandbox pid, found:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(dies(pid), "a sandbox must die with the process that started it (PR_SET_PDEATHSIG)");
    if let Some(log) = stdout.lines().find_map(|l| l.split("sandbox log ").nth(1)) {
        let _ = std::fs::remove_file(log);
    }
}
