//! `oc-integrate oauth` against a real authorization server (oidc-provider, started by the
//! test): `login` runs the authorization-code flow with PKCE and a loopback redirect while a
//! headless browser (`sandboxes/oidc/browser.mjs`) logs in and consents, and hands the tokens
//! over as `export` lines; the device flow (RFC 8628) likewise, the code entered by the person
//! on another device (`device.mjs`); a redirect carrying another state is refused; `client_credentials`
//! gets the service's token; `--out` writes a 0600 file outside the repository and refuses one
//! inside it; `check` reads the tokens back by introspection (active, expiry, scopes), shows
//! them only with `--reveal`, and fails on a revoked one.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use oc_integrate::spec::ClientAuth;
use oc_integrate::standin::{LocalSandbox, OidcClient};

const SECRET: &str = support::TRACKER_CLIENT_SECRET;
const SCOPE: &str = "openid offline_access issues:read issues:write";

/// A free loopback port for the redirect URI the client registers.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An authorization server whose client registered `http://127.0.0.1:PORT/callback`, and a
/// git repository holding the tracker example; the environment `oauth` needs.
fn setup(name: &str, port: u16) -> (LocalSandbox, PathBuf, Vec<(&'static str, String)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    support::npm_ci(&root.join("sandboxes/oidc"));
    let client = OidcClient::new("oc-integrate-tracker", SECRET, format!("http://127.0.0.1:{port}/callback"))
        .with(ClientAuth::ClientSecretPost, &["issues:read", "issues:write"]);
    let oidc = LocalSandbox::oidc(root, &client).unwrap_or_else(|e| panic!("{e}"));
    let project = support::scratch(name);
    support::copy_example("tracker", &project.join("integrations/tracker"));
    std::fs::create_dir(project.join(".git")).unwrap();
    let env = vec![
        ("TRACKER_TOKEN_URL", oidc.url("/token")),
        ("TRACKER_CLIENT_ID", client.id.clone()),
        ("TRACKER_CLIENT_SECRET", SECRET.to_string()),
    ];
    (oidc, project, env)
}

fn oc(project: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oc-integrate"));
    cmd.args(args).current_dir(project);
    for v in [
        "TRACKER_SANDBOX_URL",
        "TRACKER_TOKEN_URL",
        "TRACKER_CLIENT_ID",
        "TRACKER_CLIENT_SECRET",
        "TRACKER_REFRESH_TOKEN",
        "TRACKER_ACCESS_TOKEN",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Start `oauth login` (code flow) on `port`, wait for the authorize URL on its stderr, let
/// `visit` play the browser with it, and return the command's output (stderr in full).
fn login(project: &Path, env: &[(&str, String)], port: u16, extra: &[&str], visit: impl FnOnce(&str)) -> Output {
    let p = port.to_string();
    let mut args = vec!["oauth", "login", "tracker", "--port", &p, "--scope", SCOPE, "--wait", "60"];
    args.extend(extra);
    interact(project, env, &args, "authorize: ", visit)
}

/// Start `oc-integrate ARGS`, wait for the line starting with `marker` on its stderr, let
/// `visit` play the person with the rest of that line, and return the command's output.
fn interact(project: &Path, env: &[(&str, String)], args: &[&str], marker: &str, visit: impl FnOnce(&str)) -> Output {
    let mut child = oc(project, args, env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = lines.next().unwrap_or_else(|| panic!("expected {marker:?} on stderr, found:\n{}", seen.join("\n"))).unwrap();
        seen.push(line.clone());
        if let Some(url) = line.strip_prefix(marker) {
            break url.to_string();
        }
    };
    visit(&url);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = [seen, rest].concat().join("\n").into_bytes();
    out
}

/// The headless browser: log in, consent, deliver the redirect; the listener's status and page.
fn browse(url: &str) -> String {
    node("browser.mjs", url)
}

/// Run `sandboxes/oidc/SCRIPT URL`; what it printed.
fn node(script: &str, url: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandboxes/oidc");
    let o = Command::new("node").arg(script).arg(url).current_dir(dir).output().unwrap();
    assert!(o.status.success(), "{script}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The values of `export VAR='value'` lines.
fn exported(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The user's flow end to end; the tokens reach only stdout's export lines; `check` reads
/// them back as active, with their scopes, and shows them only with --reveal.
#[test]
fn login_gets_a_users_tokens_through_a_loopback_redirect() {
    let port = free_port();
    let (_oidc, project, env) = setup("oauth-login", port);
    let out = login(&project, &env, port, &[], |url| {
        assert!(url.contains("code_challenge_method=S256") && url.contains("code_challenge="), "PKCE: {url}");
        assert!(url.contains(&format!("redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback")), "{url}");
        let page = browse(url);
        assert!(page.starts_with("200 ") && page.contains("received the authorization"), "{page}");
    });
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let vars = exported(&stdout);
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["TRACKER_ACCESS_TOKEN", "TRACKER_REFRESH_TOKEN"], "{stdout}");
    assert!(stderr.contains("rotates on every refresh"), "{stderr}");
    for (_, v) in &vars {
        assert!(v.len() > 20, "a token: {v}");
        assert!(!stderr.contains(v.as_str()), "a token leaked to stderr:\n{stderr}");
    }
    let mut with_tokens = env.clone();
    with_tokens.extend(
        vars.iter().map(|(k, v)| (if k.contains("REFRESH") { "TRACKER_REFRESH_TOKEN" } else { "TRACKER_ACCESS_TOKEN" }, v.clone())),
    );
    let checked = oc(&project, &["oauth", "check", "tracker"], &with_tokens).output().unwrap();
    let (shown, err) = text(&checked);
    assert!(checked.status.success(), "{shown}\n{err}");
    assert_eq!(shown.matches(" active, expires in ").count(), 2, "both tokens active:\n{shown}");
    assert!(shown.contains("scopes: openid offline_access issues:read issues:write"), "{shown}");
    for (_, v) in &vars {
        assert!(!shown.contains(v.as_str()), "check shows a token without --reveal:\n{shown}");
    }
    let revealed = text(&oc(&project, &["oauth", "check", "tracker", "--reveal"], &with_tokens).output().unwrap()).0;
    assert!(vars.iter().all(|(_, v)| revealed.contains(v.as_str())), "--reveal shows them:\n{revealed}");
}

/// The device flow (RFC 8628): the command prints where to enter which code and polls; the
/// person confirms the code, logs in and consents on another device (`device.mjs`); the
/// user's tokens arrive as export lines.
#[test]
fn login_with_the_device_flow() {
    let (_oidc, project, env) = setup("oauth-device", free_port());
    let args = ["oauth", "login", "tracker", "--grant", "device", "--scope", SCOPE, "--wait", "60"];
    let out = interact(&project, &env, &args, "device: ", |url| {
        let page = node("device.mjs", url);
        assert!(page.contains("Sign-in Success"), "{page}");
    });
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("and enter the code "), "{stderr}");
    let names: Vec<String> = exported(&stdout).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["TRACKER_ACCESS_TOKEN", "TRACKER_REFRESH_TOKEN"], "{stdout}");
}

/// Redirects this command did not ask for (another state, none, a stray request) are
/// answered and ignored, and idle connections held open beside them delay nothing: the real
/// browser still completes the login.
#[test]
fn stray_and_forged_redirects_are_ignored() {
    let port = free_port();
    let (_oidc, project, env) = setup("oauth-state", port);
    let out = login(&project, &env, port, &[], |url| {
        let idle: Vec<std::net::TcpStream> = (0..8).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for forged in ["/callback?code=stolen&state=forged", "/callback", "/favicon.ico"] {
            let get = reqwest::get(format!("http://127.0.0.1:{port}{forged}"));
            let page = runtime.block_on(async { get.await.unwrap().text().await.unwrap() });
            assert!(page.contains("did not ask for") || page.contains("Not the redirect"), "{forged}: {page}");
        }
        let page = browse(url);
        assert!(page.starts_with("200 "), "{page}");
        drop(idle);
    });
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(exported(&stdout).len(), 2, "{stdout}");
}

/// `--grant client-credentials`: the service's own access token, no browser; `--out` inside
/// the repository is refused, outside it a 0600 file holds the export lines and stdout nothing.
#[test]
fn client_credentials_and_a_token_file_outside_the_repository() {
    let (_oidc, project, env) = setup("oauth-cc", free_port());
    let inside = project.join("tokens.env");
    let refused = oc(
        &project,
        &["oauth", "login", "tracker", "--grant", "client-credentials", "--scope", "issues:read", "--out", "tokens.env"],
        &env,
    )
    .output()
    .unwrap();
    let (_, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("expected a path outside the repository"), "{err}");
    assert!(!inside.exists(), "nothing is written inside the repository");

    let file = support::scratch("oauth-cc-home").join("tracker.env");
    let out = oc(&project, &["oauth", "login", "tracker", "--grant", "client-credentials", "--scope", "issues:read", "--out"], &env)
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.is_empty(), "the tokens go to the file only:\n{stdout}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let vars = exported(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(vars.len(), 1, "an access token, no refresh token: {vars:?}");
    let nothing = oc(&project, &["oauth", "check", "tracker"], &env).output().unwrap();
    assert_eq!(nothing.status.code(), Some(2), "no token set: nothing checked is an error: {}", text(&nothing).1);
    let mut with_token = env.clone();
    with_token.push(("TRACKER_ACCESS_TOKEN", vars[0].1.clone()));
    let shown = text(&oc(&project, &["oauth", "check", "tracker", "--json"], &with_token).output().unwrap()).0;
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["tokens"][1]["introspection"]["active"], true, "{shown}");
    assert_eq!(v["tokens"][0]["set"], false, "no refresh token set: {shown}");
}

/// A revoked refresh token (RFC 7009) is shown NOT active and `check` exits 1.
#[test]
fn check_fails_on_a_revoked_token() {
    let port = free_port();
    let (oidc, project, env) = setup("oauth-revoked", port);
    let out = login(&project, &env, port, &[], |url| {
        browse(url);
    });
    let vars = exported(&text(&out).0);
    let refresh = vars.iter().find(|(k, _)| k == "TRACKER_REFRESH_TOKEN").map(|(_, v)| v.clone()).unwrap();
    let body = format!("token={refresh}&token_type_hint=refresh_token&client_id=oc-integrate-tracker&client_secret={SECRET}");
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let r = reqwest::Client::new()
            .post(oidc.url("/token/revocation"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    });
    assert_eq!(status, 200);
    let mut with_token = env.clone();
    with_token.push(("TRACKER_REFRESH_TOKEN", refresh));
    let checked = oc(&project, &["oauth", "check", "tracker"], &with_token).output().unwrap();
    let (shown, _) = text(&checked);
    assert_eq!(checked.status.code(), Some(1), "{shown}");
    assert!(shown.contains("NOT active (revoked or expired)"), "{shown}");
}
