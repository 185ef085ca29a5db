//! Helpers shared by the test targets that run the harness in a scratch project.

use std::path::{Path, PathBuf};

/// A fresh directory under cargo's temp dir for tests.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copy the example integration `service` to `to` (its spec and schema files, not the
/// round and drift reports earlier runs left there).
pub fn copy_example(service: &str, to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else if !["test-round-", "drift-"].iter().any(|p| e.file_name().to_string_lossy().starts_with(p)) {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&Path::new("examples/integrations").join(service), to);
}

/// Every file under `dir`.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Run `cmd`, failing the test with its output when it fails.
pub fn run(cmd: &mut std::process::Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(out.status.success(), "{what} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Run git in `dir` with a fixed identity and no user or system configuration.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Write `text` to `dir/path` (directories made), add it and commit; the commit's id.
pub fn commit(dir: &Path, path: &str, text: &str, message: &str) -> String {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    git(dir, &["add", "-f", path]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Install the npm packages pinned by `dir`'s committed lockfile, unless they are there.
pub fn npm_ci(dir: &Path) {
    if !dir.join("node_modules/.package-lock.json").exists() {
        run(
            std::process::Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir),
            &format!("npm ci in {}", dir.display()),
        );
    }
}

/// Install the PyPI packages `dir/requirements.txt` pins into `dir/.python` with
/// `pip install --target` (plus `flags`), unless they are there; returns that directory,
/// absolute. It installs into a temporary name renamed when complete, so an interrupted
/// install is redone rather than half-used.
pub fn pip_target(dir: &Path, flags: &[&str]) -> PathBuf {
    let py = dir.join(".python");
    if !py.exists() {
        let tmp = std::fs::canonicalize(dir).unwrap().join(format!(".python-{}", std::process::id()));
        let mut pip = std::process::Command::new("python3");
        pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(flags).arg("--target").arg(&tmp);
        run(pip.args(["-r", "requirements.txt"]).current_dir(dir), &format!("pip install in {}", dir.display()));
        let _ = std::fs::rename(&tmp, &py);
    }
    std::fs::canonicalize(&py).unwrap()
}

/// Aborts a spawned task when dropped (e.g. a test server kept alive by a `Handler`).
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The offline localstripe, installed once per test process from its pinned lockfile and
/// started on a free port (stopped when the handle drops).
pub fn localstripe() -> Result<oc_integrate::standin::LocalSandbox, oc_integrate::standin::SandboxError> {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    INSTALLED.get_or_init(|| pip_target(&root.join("sandboxes/localstripe"), &["--no-deps"]));
    oc_integrate::standin::LocalSandbox::localstripe(root)
}

/// The tracker's client secret in test runs; a canary: it must never appear in any output.
pub const TRACKER_CLIENT_SECRET: &str = "CANARY_tracker_client_secret_77c1";

/// Prism serving GitHub's description, one for the whole test binary (it takes seconds to load).
pub fn github() -> &'static oc_integrate::standin::LocalSandbox {
    static GITHUB: std::sync::OnceLock<oc_integrate::standin::LocalSandbox> = std::sync::OnceLock::new();
    GITHUB.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        npm_ci(&root.join("sandboxes/openapi"));
        npm_ci(&root.join("sandboxes/prism"));
        oc_integrate::standin::LocalSandbox::prism_github(root).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A fresh authorization server with the tracker's client, and a sandbox user's refresh
/// token from a one-time login; the environment a run of the tracker's sandbox trials needs.
pub fn tracker_sandbox() -> (oc_integrate::standin::LocalSandbox, Vec<(&'static str, String)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    npm_ci(&root.join("sandboxes/oidc"));
    let client = oc_integrate::standin::OidcClient::new("oc-integrate-tracker", TRACKER_CLIENT_SECRET, "http://127.0.0.1/callback")
        .with(oc_integrate::spec::ClientAuth::ClientSecretPost, &["issues:read", "issues:write"]);
    let oidc = oc_integrate::standin::LocalSandbox::oidc(root, &client).unwrap_or_else(|e| panic!("{e}"));
    let tokens = oidc.authorize(root, &client, "openid offline_access issues:read issues:write").unwrap_or_else(|e| panic!("{e}"));
    let refresh = tokens["refresh_token"].as_str().unwrap_or_else(|| panic!("expected a refresh token, found {tokens}")).to_string();
    let env = vec![
        ("TRACKER_SANDBOX_URL", github().base_url().to_string()),
        ("TRACKER_TOKEN_URL", oidc.url("/token")),
        ("TRACKER_CLIENT_ID", client.id.clone()),
        ("TRACKER_CLIENT_SECRET", TRACKER_CLIENT_SECRET.to_string()),
        ("TRACKER_REFRESH_TOKEN", refresh),
    ];
    (oidc, env)
}

/// `program args…` on a pseudo-terminal of 24 rows and 100 columns (util-linux `script`,
/// Debian's bsdutils), as someone at a terminal runs it: `TERM=xterm`, `CI` unset. What it
/// wrote to the terminal (stdout and stderr, in order) is the output's stdout.
pub fn on_terminal(program: &Path, args: &[&str]) -> std::process::Command {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line: Vec<String> = std::iter::once(quote(&program.to_string_lossy())).chain(args.iter().map(|a| quote(a))).collect();
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("stty rows 24 cols 100 && exec {}", line.join(" ")), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .env("TERM", "xterm")
        .env_remove("CI");
    cmd
}

/// A session of the official MCP Python SDK's client (`sandboxes/mcp-client/client.py`,
/// installed on demand from its pinned lockfile) with `oc-integrate` started by `server_args`
/// in `project` (`["mcp", …]` over stdio, or `["http", URL, TOKEN_ENV]` to connect to one
/// running). The client runs `steps` and answers one result per step; also returned, the
/// client's and the server's standard error.
pub fn mcp_session(project: &Path, server_args: &[&str], envs: &[(&str, &str)], steps: &serde_json::Value) -> (serde_json::Value, String) {
    use std::io::Write as _;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdk = pip_target(&root.join("sandboxes/mcp-client"), &["--no-deps"]);
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(root.join("sandboxes/mcp-client/client.py"));
    if server_args.first() == Some(&"http") {
        cmd.args(server_args);
    } else {
        cmd.args(["stdio", env!("CARGO_BIN_EXE_oc-integrate")]).args(server_args);
    }
    let mut child = cmd
        .env("PYTHONPATH", sdk)
        .envs(envs.iter().copied())
        .current_dir(project)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 client.py: cannot start: {e}"));
    child.stdin.take().unwrap().write_all(steps.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the MCP client failed:\n{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("the client's results: {e}\n{stderr}")), stderr)
}
/// The fake PM trackers (`sandboxes/trackers/fake.py`).
#[cfg(unix)]
pub mod trackers;
