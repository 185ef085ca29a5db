//! The tracker through an MCP server over stdio, the way the seed's skills reach it: the
//! server `pm.yaml`'s `mcp_server` names in `.mcp.json` (`mcpServers.<name>`: `command`,
//! `args`, `env`, with `${VAR}` taken from the environment) is started and driven with the
//! tool names of the provider's own server — GitHub's `issue_read` / `add_issue_comment` /
//! `issue_write` / `list_issues`, Linear's `get_issue` / `list_comments` / `save_comment` /
//! `save_issue` / `list_issues`, Atlassian's `jira_get_issue` / `jira_add_comment` /
//! `jira_get_transitions` / `jira_transition_issue` / `jira_search` / `jira_create_issue`.
//! A tool's error is classed by the HTTP status it quotes; a server that stops answering is
//! transient. None of these servers deletes a comment, so a duplicate from a race is reported,
//! not removed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use regex::Regex;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt as _, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Value, json};

use super::config::{PmConfig, Provider};
use super::ticket::Ticket;
use super::tracker::{Comment, Failure, Issue, Kind, retrying};
use crate::binding::Retry;

/// Where Claude Code and other MCP clients keep a project's servers.
pub const DEFAULT_PATH: &str = ".mcp.json";

/// The environment variable that names another file.
pub const PATH_ENV: &str = "OC_MCP_CONFIG";

/// One stdio server of `.mcp.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Its name in `mcpServers`.
    pub name: String,
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment (values expanded).
    pub env: BTreeMap<String, String>,
}

/// `${VAR}` in `text` replaced by the variable's value (empty when unset).
fn expand(text: &str) -> String {
    static VAR: OnceLock<Regex> = OnceLock::new();
    let var = VAR.get_or_init(|| Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").unwrap_or_else(|e| unreachable!("a fixed pattern: {e}")));
    var.replace_all(text, |c: &regex::Captures| std::env::var(&c[1]).unwrap_or_default()).into_owned()
}

/// The `.mcp.json` the environment names (`OC_MCP_CONFIG`), else the project's.
pub fn path_in(project: &Path) -> PathBuf {
    std::env::var_os(PATH_ENV).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| project.join(DEFAULT_PATH))
}

/// The stdio server `name` of the `.mcp.json` at `file`: `Ok(None)` when the file or the
/// server is not there; `Err` when the file is not JSON or the server is not a stdio one.
/// Values of its environment named like credentials (`…TOKEN`, `…KEY`, `…SECRET`,
/// `…PASSWORD`) are registered with the redactor.
pub fn server(file: &Path, name: &str) -> Result<Option<Server>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", file.display())),
    };
    let all: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}:{}:{}: expected JSON, found {e}", file.display(), e.line(), e.column()))?;
    let Some(entry) = all["mcpServers"].get(name) else { return Ok(None) };
    let Some(command) = entry["command"].as_str() else {
        return Err(format!(
            "{}: mcpServers.{name}: expected a stdio server (a command), found {}",
            file.display(),
            if entry.get("url").is_some() { "a remote server (url), which write-back does not drive" } else { "no command" }
        ));
    };
    let args = entry["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).map(expand).collect();
    let env: BTreeMap<String, String> =
        entry["env"].as_object().into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), expand(v.as_str()?)))).collect();
    for (k, v) in &env {
        if ["TOKEN", "KEY", "SECRET", "PASSWORD"].iter().any(|w| k.to_ascii_uppercase().contains(w)) {
            crate::redact::register(v);
        }
    }
    Ok(Some(Server { name: name.into(), command: expand(command), args, env }))
}

/// The tracker behind an MCP server.
pub struct Mcp {
    provider: Provider,
    server: String,
    client: RunningService<RoleClient, ()>,
    project: String,
    bug: Option<String>,
    labels: Vec<String>,
    retry: Retry,
}

impl fmt::Debug for Mcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mcp").field("provider", &self.provider).field("server", &self.server).finish_non_exhaustive()
    }
}

/// The first HTTP failure status a tool's error quotes.
fn status_in(text: &str) -> Option<u16> {
    static STATUS: OnceLock<Regex> = OnceLock::new();
    let re = STATUS.get_or_init(|| Regex::new(r"\b([45]\d\d)\b").unwrap_or_else(|e| unreachable!("a fixed pattern: {e}")));
    re.captures(text).and_then(|c| c[1].parse().ok())
}

/// The class of a tool's error text: by the status it quotes, else by its words.
fn kind_of(text: &str) -> Kind {
    if let Some(k) = status_in(text).and_then(Kind::of_status) {
        return k;
    }
    let t = text.to_ascii_lowercase();
    if t.contains("not found") {
        Kind::NotFound
    } else if t.contains("forbidden") || t.contains("permission") {
        Kind::Forbidden
    } else if t.contains("rate limit") || t.contains("timed out") || t.contains("unavailable") {
        Kind::Transient
    } else {
        Kind::Invalid
    }
}

impl Mcp {
    /// Start `server` and initialise the session.
    pub async fn connect(config: &PmConfig, server: &Server, retry: Retry) -> Result<Mcp, String> {
        let command = tokio::process::Command::new(&server.command).configure(|c| {
            c.args(&server.args).envs(&server.env);
        });
        // its stderr is not ours to print: it may carry what it was given
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("MCP server {}: cannot start {}: {e}", server.name, server.command))?;
        let client = ().serve(transport).await.map_err(|e| format!("MCP server {}: no session: {e}", server.name))?;
        let mut labels = config.labels_default.clone();
        if config.provider != Provider::Jira {
            labels.extend(config.issue_types.get("bug").cloned());
        }
        Ok(Mcp {
            provider: config.provider,
            server: server.name.clone(),
            client,
            project: config.team_or_project.clone(),
            bug: config.issue_types.get("bug").cloned(),
            labels,
            retry,
        })
    }

    pub(super) fn set_retry(&mut self, retry: Retry) {
        self.retry = retry;
    }

    /// Call tool `name` with `args` (retried when transient); its result as JSON.
    async fn tool(&self, name: &'static str, args: Value) -> Result<Value, Failure> {
        let arguments = args.as_object().cloned().unwrap_or_default();
        retrying(&self.retry, || async {
            let params = CallToolRequestParams::new(name).with_arguments(arguments.clone());
            let result = self
                .client
                .call_tool(params)
                .await
                .map_err(|e| (Failure::new(Kind::Transient, None, format!("MCP {}: {name}: {e}", self.server)), None))?;
            let text: String = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n");
            if result.is_error == Some(true) {
                let kind = kind_of(&text);
                return Err((
                    Failure::new(kind, status_in(&text), format!("MCP {}: {name}: {}", self.server, crate::text::clip(&text))),
                    None,
                ));
            }
            Ok(result.structured_content.clone().unwrap_or_else(|| serde_json::from_str(&text).unwrap_or(Value::String(text))))
        })
        .await
    }

    fn repo(ticket: &Ticket) -> Result<(String, String, u64), Failure> {
        match ticket {
            Ticket::GitHub { repo, number } => {
                let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
                Ok((owner.into(), name.into(), *number))
            }
            Ticket::Key(k) => Err(Failure::new(Kind::Invalid, None, format!("{k}: expected a GitHub issue (owner/repo#n)"))),
        }
    }

    fn key(ticket: &Ticket) -> Result<String, Failure> {
        match ticket {
            Ticket::Key(k) => Ok(k.clone()),
            other => Err(Failure::new(Kind::Invalid, None, format!("{other}: expected a key such as PLAT-12"))),
        }
    }

    pub(super) async fn issue(&self, ticket: &Ticket) -> Result<Issue, Failure> {
        let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let comments = self.comments(ticket).await?;
        match self.provider {
            Provider::GithubIssues => {
                let (owner, repo, n) = Self::repo(ticket)?;
                let v = self.tool("issue_read", json!({"method": "get", "owner": owner, "repo": repo, "issue_number": n})).await?;
                Ok(Issue {
                    id: ticket.to_string(),
                    title: text(&v, "title"),
                    description: text(&v, "body"),
                    status: text(&v, "state"),
                    comments,
                })
            }
            Provider::Jira => {
                let v = self.tool("jira_get_issue", json!({"issue_key": Self::key(ticket)?})).await?;
                let status = v["status"]["name"].as_str().unwrap_or_default().to_string();
                Ok(Issue { id: ticket.to_string(), title: text(&v, "summary"), description: text(&v, "description"), status, comments })
            }
            Provider::Linear => {
                let v = self.tool("get_issue", json!({"id": Self::key(ticket)?})).await?;
                Ok(Issue {
                    id: ticket.to_string(),
                    title: text(&v, "title"),
                    description: text(&v, "description"),
                    status: text(&v, "status"),
                    comments,
                })
            }
        }
    }

    pub(super) async fn comments(&self, ticket: &Ticket) -> Result<Vec<Comment>, Failure> {
        let list = match self.provider {
            Provider::GithubIssues => {
                let (owner, repo, n) = Self::repo(ticket)?;
                self.tool("issue_read", json!({"method": "get_comments", "owner": owner, "repo": repo, "issue_number": n})).await?
            }
            Provider::Jira => self.tool("jira_get_issue", json!({"issue_key": Self::key(ticket)?})).await?["comments"].clone(),
            Provider::Linear => self.tool("list_comments", json!({"issueId": Self::key(ticket)?})).await?,
        };
        let mut all: Vec<Comment> = list.as_array().into_iter().flatten().map(comment).collect();
        all.sort_by_key(Comment::order);
        Ok(all)
    }

    pub(super) async fn add_comment(&self, ticket: &Ticket, body: &str) -> Result<Comment, Failure> {
        let v = match self.provider {
            Provider::GithubIssues => {
                let (owner, repo, n) = Self::repo(ticket)?;
                self.tool("add_issue_comment", json!({"owner": owner, "repo": repo, "issue_number": n, "body": body})).await?
            }
            Provider::Jira => self.tool("jira_add_comment", json!({"issue_key": Self::key(ticket)?, "comment": body})).await?,
            Provider::Linear => self.tool("save_comment", json!({"issueId": Self::key(ticket)?, "body": body})).await?,
        };
        Ok(comment(&v))
    }

    pub(super) async fn delete_comment(&self, _ticket: &Ticket, id: &str) -> Result<(), Failure> {
        Err(Failure::new(Kind::Invalid, None, format!("MCP {}: no tool deletes a comment; the duplicate {id} stays", self.server)))
    }

    pub(super) async fn transition(&self, ticket: &Ticket, state: &str) -> Result<(), Failure> {
        match self.provider {
            Provider::GithubIssues => {
                let (owner, repo, n) = Self::repo(ticket)?;
                self.tool("issue_write", json!({"method": "update", "owner": owner, "repo": repo, "issue_number": n, "state": state}))
                    .await?;
            }
            Provider::Linear => {
                self.tool("save_issue", json!({"id": Self::key(ticket)?, "state": state})).await?;
            }
            Provider::Jira => {
                let key = Self::key(ticket)?;
                let now = self.tool("jira_get_issue", json!({"issue_key": key})).await?;
                if now["status"]["name"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(state)) {
                    return Ok(());
                }
                let all = self.tool("jira_get_transitions", json!({"issue_key": key})).await?;
                let named =
                    |t: &&Value| [&t["to_status"], &t["name"]].iter().any(|n| n.as_str().is_some_and(|n| n.eq_ignore_ascii_case(state)));
                let Some(id) = all.as_array().into_iter().flatten().find(named).and_then(|t| t["id"].as_str()) else {
                    return Err(Failure::new(
                        Kind::Invalid,
                        None,
                        format!("{key}: expected a transition to {state:?} (pm.yaml's states), found none"),
                    ));
                };
                self.tool("jira_transition_issue", json!({"issue_key": key, "transition_id": id})).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn find_issue(&self, marker: &str) -> Result<Option<String>, Failure> {
        let found = match self.provider {
            Provider::GithubIssues => {
                let (owner, repo) = self.project.split_once('/').unwrap_or((&self.project, ""));
                let v = self.tool("list_issues", json!({"owner": owner, "repo": repo, "labels": self.labels, "state": "all"})).await?;
                v.as_array()
                    .into_iter()
                    .flatten()
                    .find(|i| i["body"].as_str().is_some_and(|b| b.contains(marker)))
                    .and_then(|i| i["number"].as_u64())
                    .map(|n| format!("{}#{n}", self.project))
            }
            Provider::Jira => {
                let mut jql = format!("project = \"{}\"", self.project);
                if let Some(b) = &self.bug {
                    jql += &format!(" AND issuetype = \"{b}\"");
                }
                let v = self.tool("jira_search", json!({"jql": jql, "limit": 50})).await?;
                v["issues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|i| i["description"].as_str().is_some_and(|d| d.contains(marker)))
                    .and_then(|i| i["key"].as_str())
                    .map(str::to_string)
            }
            Provider::Linear => {
                let v = self.tool("list_issues", json!({"team": self.project, "query": marker})).await?;
                v.as_array()
                    .into_iter()
                    .flatten()
                    .find(|i| i["description"].as_str().is_some_and(|d| d.contains(marker)))
                    .and_then(|i| i["identifier"].as_str())
                    .map(str::to_string)
            }
        };
        Ok(found)
    }

    pub(super) async fn create_issue(&self, title: &str, body: &str) -> Result<String, Failure> {
        match self.provider {
            Provider::GithubIssues => {
                let (owner, repo) = self.project.split_once('/').unwrap_or((&self.project, ""));
                let v = self
                    .tool(
                        "issue_write",
                        json!({"method": "create", "owner": owner, "repo": repo, "title": title, "body": body, "labels": self.labels}),
                    )
                    .await?;
                Ok(format!("{}#{}", self.project, v["number"].as_u64().unwrap_or_default()))
            }
            Provider::Jira => {
                let Some(bug) = &self.bug else {
                    return Err(Failure::new(
                        Kind::Invalid,
                        None,
                        "pm.yaml: expected issue_types.bug (the type of an escalation's ticket), found none",
                    ));
                };
                let args = json!({"project_key": self.project, "summary": title, "issue_type": bug, "description": body, "additional_fields": {"labels": self.labels}});
                let v = self.tool("jira_create_issue", args).await?;
                Ok(v["issue"]["key"].as_str().or_else(|| v["key"].as_str()).unwrap_or_default().to_string())
            }
            Provider::Linear => {
                let v = self
                    .tool("save_issue", json!({"team": self.project, "title": title, "description": body, "labels": self.labels}))
                    .await?;
                Ok(v["identifier"].as_str().unwrap_or_default().to_string())
            }
        }
    }
}

fn comment(v: &Value) -> Comment {
    let text = |keys: &[&str]| keys.iter().find_map(|k| v[*k].as_str()).unwrap_or_default().to_string();
    let id = match &v["id"] {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or_default().to_string(),
    };
    Comment { id, body: text(&["body", "comment"]), created: text(&["created_at", "createdAt", "created"]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tools_error_is_classed_by_the_status_it_quotes_else_its_words() {
        assert_eq!(kind_of("failed to get issue: GET https://api.github.com/repos/a/b/issues/9: 404 Not Found []"), Kind::NotFound);
        assert_eq!(kind_of("POST /x: 503 Service Unavailable"), Kind::Transient);
        assert_eq!(kind_of("429 RATELIMITED"), Kind::Transient);
        assert_eq!(kind_of("403 FORBIDDEN: no access to this team"), Kind::Forbidden);
        assert_eq!(kind_of("422 Validation Failed"), Kind::Invalid);
        assert_eq!(kind_of("Issue does not exist (not found)"), Kind::NotFound);
        assert_eq!(kind_of("You do not have permission"), Kind::Forbidden);
        assert_eq!(kind_of("something else went wrong"), Kind::Invalid);
    }

    #[test]
    fn mcp_json_servers_expand_the_environment() {
        let dir = std::env::temp_dir().join(format!("oc-mcp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".mcp.json");
        std::fs::write(&file, r#"{"mcpServers": {"gh": {"command": "python3", "args": ["s.py", "${HOME}"], "env": {"T": "x${HOME}"}}, "remote": {"url": "https://mcp.example"}}}"#).unwrap();
        let home = std::env::var("HOME").unwrap_or_default();
        let s = server(&file, "gh").unwrap().unwrap();
        assert_eq!(
            (s.command.as_str(), s.args.clone(), s.env["T"].clone()),
            ("python3", vec!["s.py".to_string(), home.clone()], format!("x{home}"))
        );
        assert_eq!(server(&file, "none").unwrap(), None);
        assert!(server(&file, "remote").unwrap_err().contains("expected a stdio server (a command), found a remote server (url)"));
        std::fs::write(&file, "{").unwrap();
        assert!(server(&file, "gh").unwrap_err().contains(".mcp.json:1:1: expected JSON"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
