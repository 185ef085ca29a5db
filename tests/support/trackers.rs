//! The fake trackers (`sandboxes/trackers/fake.py`) as the PM tests drive them: started on
//! loopback, scripted (faults, gates), read back (state, request log with arrival times).

use oc_integrate::pm::config::{PmConfig, Provider, parse};
use oc_integrate::pm::{Api, Settings};
use oc_integrate::standin::{Launch, LocalSandbox};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The credentials the fake accepts (its defaults).
pub const GITHUB_TOKEN: &str = "ghp_fake_oc_integrate";
pub const JIRA_EMAIL: &str = "ci@example.com";
pub const JIRA_TOKEN: &str = "jira_fake_oc_integrate";
pub const LINEAR_KEY: &str = "lin_api_fake_oc_integrate";

/// A running fake.
pub struct Fake {
    pub process: LocalSandbox,
}

impl Fake {
    /// Start one.
    pub fn start() -> Fake {
        Fake::start_with(&[])
    }

    /// Start one with environment variables (`FAKE_GITHUB_TOKEN`, …: the credentials it accepts).
    pub fn start_with(env: &[(&str, &str)]) -> Fake {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandboxes/trackers");
        let mut launch = Launch::new("trackers", "python3", &dir).args(["fake.py", "{port}"]);
        for (k, v) in env {
            launch = launch.env(k, v);
        }
        let process = launch
            .env("PYTHONUNBUFFERED", "1")
            .ready_when("/_fake/health", 200)
            .start()
            .unwrap_or_else(|e| panic!("the fake trackers did not start: {e}"));
        Fake { process }
    }

    /// One request to the fake's scripting endpoints (plain HTTP/1.1 over a blocking socket,
    /// so it works inside and outside a runtime).
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.request(method, path, body, "")
    }

    /// One request with `headers` (each line ending in CRLF); its JSON answer.
    fn request(&self, method: &str, path: &str, body: Option<Value>, headers: &str) -> Value {
        use std::io::{Read as _, Write as _};
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.process.port())).unwrap();
        let head =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\nContent-Length: {}\r\n\r\n", body.len());
        s.write_all(format!("{head}{body}").as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (_, json) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{path}: no answer"));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{path}: {e}: {json}"))
    }

    /// What the trackers hold.
    pub fn state(&self) -> Value {
        self.admin("GET", "/_fake/state", None)
    }

    /// Every request so far: provider, method, path, arrival `t` (seconds), status.
    pub fn log(&self) -> Vec<Value> {
        self.admin("GET", "/_fake/log", None).as_array().cloned().unwrap_or_default()
    }

    /// Answer the next matching requests with a fault (`{"provider", "method", "path_contains", "status", "count", "retry_after"}`).
    pub fn fault(&self, rule: Value) {
        self.admin("POST", "/_fake/faults", Some(rule));
    }

    /// Open an issue in acme/shop through the GitHub API with `token`, comment on it; its number.
    pub fn github_issue(&self, token: &str, title: &str, body: &str, comment: &str) -> u64 {
        let auth = format!("Authorization: Bearer {token}\r\nUser-Agent: test\r\n");
        let issue = self.request("POST", "/github/repos/acme/shop/issues", Some(serde_json::json!({"title": title, "body": body})), &auth);
        let n = issue["number"].as_u64().unwrap_or_else(|| panic!("{issue}"));
        self.request("POST", &format!("/github/repos/acme/shop/issues/{n}/comments"), Some(serde_json::json!({"body": comment})), &auth);
        n
    }

    /// Stop injecting faults.
    pub fn heal(&self) {
        self.admin("DELETE", "/_fake/faults", None);
    }

    /// Hold the first `count` matching requests until all of them arrived.
    pub fn gate(&self, rule: Value) {
        self.admin("POST", "/_fake/gate", Some(rule));
    }

    /// The API of `provider` on this fake, with the credential it accepts.
    pub fn api(&self, provider: Provider) -> Api {
        use base64::Engine as _;
        match provider {
            Provider::GithubIssues => Api { base_url: self.process.url("/github"), authorization: format!("Bearer {GITHUB_TOKEN}") },
            Provider::Jira => Api {
                base_url: self.process.url("/jira"),
                authorization: format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{JIRA_EMAIL}:{JIRA_TOKEN}"))),
            },
            Provider::Linear => Api { base_url: self.process.url("/linear/graphql"), authorization: LINEAR_KEY.into() },
        }
    }

    /// The ticket (`acme/shop#1`, `PLAT-1`) as the tracker holds it.
    pub fn issue(&self, provider: Provider, ticket: &str) -> Value {
        let state = self.state();
        match provider {
            Provider::GithubIssues => {
                let (repo, n) = ticket.split_once('#').unwrap();
                state["github"][repo][n].clone()
            }
            Provider::Jira => state["jira"][ticket].clone(),
            Provider::Linear => state["linear"][ticket].clone(),
        }
    }

    /// The ticket's state (its status, for Jira).
    pub fn ticket_state(&self, provider: Provider, ticket: &str) -> Value {
        let issue = self.issue(provider, ticket);
        issue[if provider == Provider::Jira { "status" } else { "state" }].clone()
    }

    /// The bodies of the comments on `ticket` (`acme/shop#1`, `PLAT-1`).
    pub fn comments(&self, provider: Provider, ticket: &str) -> Vec<String> {
        self.issue(provider, ticket)["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| match &c["body"] {
                Value::String(s) => s.clone(),
                doc => oc_integrate::pm::jira::text_of(doc),
            })
            .collect()
    }
}

/// A `pm.yaml` for `provider` on the fake's covered project, states and bug type set.
pub fn config(provider: Provider) -> PmConfig {
    let project = if provider == Provider::GithubIssues { "acme/shop" } else { "PLAT" };
    let (done, progress) = if provider == Provider::GithubIssues { ("closed", "open") } else { ("Done", "In Progress") };
    let text = format!(
        "provider: {}\nteam_or_project: {project}\nissue_types:\n  bug: Bug\nstates:\n  in_progress: {progress}\n  done: {done}\nlabels_default: [opchain, agent-driven]\n",
        provider.name()
    );
    parse(Path::new("pm.yaml"), &text).unwrap()
}

/// Write `config` under `root` and return write-back settings for it and the fake.
pub fn settings(fake: &Fake, root: &Path, config: &PmConfig, ticket: Option<&str>) -> Settings {
    let file = root.join(".opchain/pm.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, config.to_yaml()).unwrap();
    Settings {
        project: root.to_path_buf(),
        config: file,
        ticket: ticket.map(str::to_string),
        api: Some(fake.api(config.provider)),
        checkpoint: Some(checkpoint(root)),
        mcp: root.join(".mcp.json"),
    }
}

/// The checkpoint under `root`.
pub fn checkpoint(root: &Path) -> PathBuf {
    root.join(oc_integrate::checkpoint::DEFAULT_PATH)
}

/// The request log of one provider, as `(method, path, t, status)`.
pub fn requests(log: &[Value], provider: &str) -> Vec<(String, String, f64, u64)> {
    log.iter()
        .filter(|r| r["provider"] == provider)
        .map(|r| {
            (
                r["method"].as_str().unwrap().into(),
                r["path"].as_str().unwrap().into(),
                r["t"].as_f64().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The MCP server in front of the fake (`sandboxes/trackers/mcp_server.py`, the official MCP
/// Python SDK from the pinned requirements, installed once into `sandboxes/trackers/.python`),
/// written into `root/.mcp.json` as the server `name` for `provider`; `config` gets
/// `mcp_server: name`. Returns the settings that drive it (no API given: the MCP server is it).
pub fn mcp_settings(fake: &Fake, root: &Path, config: &mut PmConfig, ticket: Option<&str>) -> Settings {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandboxes/trackers");
    let python = INSTALLED.get_or_init(|| super::pip_target(&dir, &["--no-deps"]));
    let (name, credentials) = match config.provider {
        Provider::GithubIssues => ("github", serde_json::json!({"GITHUB_TOKEN": GITHUB_TOKEN})),
        Provider::Jira => ("jira", serde_json::json!({"JIRA_EMAIL": JIRA_EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN})),
        Provider::Linear => ("linear", serde_json::json!({"LINEAR_API_KEY": LINEAR_KEY})),
    };
    let mut env = credentials;
    env["PYTHONPATH"] = python.display().to_string().into();
    env["TRACKER_URL"] = fake.process.base_url().into();
    let mcp = serde_json::json!({"mcpServers": {name: {"command": "python3", "args": [dir.join("mcp_server.py"), name], "env": env}}});
    std::fs::write(root.join(".mcp.json"), mcp.to_string()).unwrap();
    config.mcp_server = Some(name.into());
    Settings { api: None, ..settings(fake, root, config, ticket) }
}
