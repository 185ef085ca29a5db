//! `.opchain/pm.yaml`, the seed's project configuration for PM write-back: which tracker,
//! which project or team, the issue types and state names to use (never hard-coded), the
//! default labels, and which configured MCP server drives it. Other opchain skills read the
//! same file, so its shape is the seed's exactly; errors point at `file:line:col`, read
//! through the spec loader's YAML source map.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::yaml;
use crate::spec::{SpecError, reword};

/// Where the seed keeps the file, relative to the project directory.
pub const DEFAULT_PATH: &str = ".opchain/pm.yaml";

/// The environment variable that names another file (tests, CI).
pub const PATH_ENV: &str = "OC_PM_CONFIG";

/// The tracker a project uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Linear (GraphQL API, or its MCP server).
    Linear,
    /// Jira Cloud (REST v3, or an Atlassian MCP server).
    Jira,
    /// GitHub Issues (REST, or GitHub's MCP server).
    GithubIssues,
}

impl Provider {
    /// The name `pm.yaml` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Linear => "linear",
            Provider::Jira => "jira",
            Provider::GithubIssues => "github-issues",
        }
    }
}

/// The seed's `.opchain/pm.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PmConfig {
    /// `linear`, `jira` or `github-issues`.
    pub provider: Provider,
    /// The Jira project key or Linear team key (`PLAT`), or the GitHub repository (`owner/repo`).
    pub team_or_project: String,
    /// The tracker's names for the kinds of ticket opchain skills create (`bug: Bug`); this
    /// harness creates a `bug` when a service escalates.
    #[serde(default)]
    pub issue_types: BTreeMap<String, String>,
    /// The tracker's state names (`in_progress`, `in_review`, `done`): a round that passes
    /// moves its ticket to `done`, one that fails to `in_progress`, when they are given.
    #[serde(default)]
    pub states: BTreeMap<String, String>,
    /// Labels put on every ticket created.
    #[serde(default)]
    pub labels_default: Vec<String>,
    /// Which configured MCP server (a name in `.mcp.json`'s `mcpServers`) to drive; without
    /// one, or when `.mcp.json` does not define it, the tracker's own API is called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server: Option<String>,
    /// Where the file was read from; set by [`load`].
    #[serde(skip)]
    #[schemars(skip)]
    pub file: PathBuf,
}

impl PmConfig {
    /// The seed's example for `provider` and `project`: its issue types, its states (GitHub's
    /// `open`/`closed` for GitHub Issues), its default labels, and `mcp_server` when given.
    pub fn seed_default(provider: Provider, project: &str, mcp_server: Option<String>) -> PmConfig {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let states = match provider {
            Provider::GithubIssues => map(&[("in_progress", "open"), ("done", "closed")]),
            _ => map(&[("in_progress", "In Progress"), ("in_review", "In Review"), ("done", "Done")]),
        };
        PmConfig {
            provider,
            team_or_project: project.trim().to_string(),
            issue_types: map(&[("feature", "Feature"), ("bug", "Bug"), ("deploy", "Deploy"), ("incident", "Incident")]),
            states,
            labels_default: vec!["opchain".into(), "agent-driven".into()],
            mcp_server,
            file: PathBuf::new(),
        }
    }

    /// The tracker's name for state `key` (`done`), when the file gives one.
    pub fn state(&self, key: &str) -> Option<&str> {
        self.states.get(key).map(String::as_str).filter(|s| !s.trim().is_empty())
    }

    /// The file as the seed writes it.
    pub fn to_yaml(&self) -> String {
        let list = |items: &[String]| items.iter().map(|l| quote(l)).collect::<Vec<_>>().join(", ");
        let map = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| format!("  {k}: {}\n", quote(v))).collect::<String>();
        let mut out = format!("provider: {}\nteam_or_project: {}\n", self.provider.name(), quote(&self.team_or_project));
        if !self.issue_types.is_empty() {
            out += &format!("issue_types:\n{}", map(&self.issue_types));
        }
        if !self.states.is_empty() {
            out += &format!("states:\n{}", map(&self.states));
        }
        out += &format!("labels_default: [{}]\n", list(&self.labels_default));
        if let Some(m) = &self.mcp_server {
            out += &format!("mcp_server: {}  # which configured MCP server to use\n", quote(m));
        }
        out
    }
}

/// A YAML string, quoted (JSON's quoting is valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A `pm.yaml` that cannot be used: located and worded as a spec's errors are
/// (`file:line:col: path: expected …, found …`).
pub type ConfigError = SpecError;

/// The file the environment names (`OC_PM_CONFIG`), else `.opchain/pm.yaml` under `project`.
pub fn path_in(project: &Path) -> PathBuf {
    std::env::var_os(PATH_ENV).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| project.join(DEFAULT_PATH))
}

/// Read `file`: `Ok(None)` when there is none (write-back is off), the configuration, or
/// where and why it cannot be used.
pub fn load(file: &Path) -> Result<Option<PmConfig>, ConfigError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(whole(file, format!("expected a readable UTF-8 file, found {e}"))),
    };
    parse(file, &text).map(Some)
}

fn whole(file: &Path, message: String) -> ConfigError {
    ConfigError { file: file.to_path_buf(), at: None, path: String::new(), message }
}

/// Parse the text of a `pm.yaml` read from `file`; a configuration's [`PmConfig::to_yaml`]
/// reads back as itself.
///
/// ```
/// use oc_integrate::pm::config::{parse, Provider};
/// let c = parse("pm.yaml".as_ref(), "provider: jira\nteam_or_project: PLAT\nstates: {done: Done}\n").unwrap();
/// assert_eq!((c.provider, c.state("done")), (Provider::Jira, Some("Done")));
/// let e = parse("pm.yaml".as_ref(), "provider: jira\nteam_or_projet: PLAT\n").unwrap_err();
/// assert!(e.to_string().starts_with("pm.yaml:2:1: team_or_projet: expected"), "{e}");
/// ```
pub fn parse(file: &Path, text: &str) -> Result<PmConfig, ConfigError> {
    let (value, map) = yaml::parse(text).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        at: Some(e.at),
        path: String::new(),
        message: format!("expected valid YAML, found a syntax error: {}", e.message),
    })?;
    let err = |path: &str, message: String, key: bool| ConfigError {
        file: file.to_path_buf(),
        at: Some(if key { map.locate_key(path) } else { map.locate(path) }),
        path: path.to_string(),
        message,
    };
    if !value.is_object() {
        let found = if value.is_null() { "an empty file" } else { "something else" };
        return Err(err("", format!("expected a mapping (provider, team_or_project, …), found {found}"), false));
    }
    let mut config: PmConfig = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = reword(&e.inner().to_string());
        let key = message.contains("found unknown field");
        // an unknown field is reported at its own key, not at the mapping
        let path = match (key, message.split("unknown field \"").nth(1).and_then(|r| r.split('"').next())) {
            (true, Some(field)) if path.is_empty() => field.to_string(),
            _ => path,
        };
        err(&path, message, key)
    })?;
    config.file = file.to_path_buf();
    validate(&config, &value).map_err(|(path, message)| err(&path, message, false))?;
    Ok(config)
}

/// What serde cannot check: the project's shape for its provider, names that are not blank.
fn validate(c: &PmConfig, value: &Value) -> Result<(), (String, String)> {
    let project = c.team_or_project.trim();
    let ok = match c.provider {
        Provider::GithubIssues => {
            let parts: Vec<&str> = project.split('/').collect();
            parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)))
        }
        Provider::Jira | Provider::Linear => {
            let mut chars = project.chars();
            chars.next().is_some_and(|ch| ch.is_ascii_uppercase())
                && project.len() >= 2
                && chars.all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
        }
    };
    if !ok {
        let expected = match c.provider {
            Provider::GithubIssues => "a repository as owner/repo",
            Provider::Jira => "a Jira project key such as PLAT",
            Provider::Linear => "a Linear team key such as PLAT",
        };
        return Err(("team_or_project".into(), format!("expected {expected} (provider {}), found {project:?}", c.provider.name())));
    }
    for (section, m) in [("issue_types", &c.issue_types), ("states", &c.states)] {
        if let Some((k, _)) = m.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err((format!("{section}.{k}"), "expected the tracker's name, found an empty string".into()));
        }
    }
    if c.provider == Provider::GithubIssues
        && let Some((k, v)) = c.states.iter().find(|(_, v)| !matches!(v.as_str(), "open" | "closed"))
    {
        return Err((format!("states.{k}"), format!("expected open or closed (the states of a GitHub issue), found {v:?}")));
    }
    if let Some(i) = c.labels_default.iter().position(|l| l.trim().is_empty()) {
        return Err((format!("labels_default[{i}]"), "expected a label, found an empty string".into()));
    }
    if value.get("mcp_server").is_some_and(|m| m.as_str().is_some_and(|s| s.trim().is_empty())) {
        return Err(("mcp_server".into(), "expected the name of a configured MCP server, found an empty string".into()));
    }
    Ok(())
}

/// The JSON Schema of `pm.yaml`, as published in `schemas/pm.schema.json`.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(PmConfig)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "provider: linear # or \"jira\" / \"github-issues\"
team_or_project: PLAT
issue_types:
  feature: Feature
  bug: Bug
  deploy: Deploy
  incident: Incident
states:
  in_progress: \"In Progress\"
  in_review: \"In Review\"
  done: \"Done\"
labels_default: [opchain, agent-driven]
mcp_server: linear # which configured MCP server to use
";

    fn error(text: &str) -> String {
        parse(Path::new("pm.yaml"), text).unwrap_err().to_string()
    }

    #[test]
    fn the_seeds_example_reads_as_written_and_round_trips() {
        let c = parse(Path::new("pm.yaml"), SEED).unwrap();
        assert_eq!(c.provider, Provider::Linear);
        assert_eq!(c.team_or_project, "PLAT");
        assert_eq!(c.issue_types["bug"], "Bug");
        assert_eq!(c.state("in_progress"), Some("In Progress"));
        assert_eq!(c.labels_default, ["opchain", "agent-driven"]);
        assert_eq!(c.mcp_server.as_deref(), Some("linear"));
        assert_eq!(parse(Path::new("pm.yaml"), &c.to_yaml()).unwrap(), c);
        for p in [Provider::Linear, Provider::Jira, Provider::GithubIssues] {
            let project = if p == Provider::GithubIssues { "acme/shop" } else { "PLAT" };
            let d = PmConfig::seed_default(p, project, Some("x".into()));
            let back = parse(Path::new("pm.yaml"), &d.to_yaml()).unwrap();
            assert_eq!(PmConfig { file: PathBuf::new(), ..back }, d);
        }
    }

    #[test]
    fn errors_say_where_what_was_expected_and_what_was_found() {
        assert_eq!(
            error("provider: trello\nteam_or_project: PLAT\n"),
            "pm.yaml:1:11: provider: expected one of linear, jira, github-issues, found \"trello\""
        );
        assert!(error("provider: jira\nteam_or_project: PLAT\nstate: {}\n").starts_with("pm.yaml:3:1: state: expected"), "found unknown");
        assert!(error("provider: jira\nteam_or_project: PLAT\nstate: {}\n").contains("did you mean \"states\""));
        assert_eq!(
            error("provider: github-issues\nteam_or_project: PLAT\n"),
            "pm.yaml:2:18: team_or_project: expected a repository as owner/repo (provider github-issues), found \"PLAT\""
        );
        assert_eq!(
            error("provider: jira\nteam_or_project: plat\n"),
            "pm.yaml:2:18: team_or_project: expected a Jira project key such as PLAT (provider jira), found \"plat\""
        );
        assert_eq!(
            error("provider: github-issues\nteam_or_project: acme/shop\nstates:\n  done: Done\n"),
            "pm.yaml:4:9: states.done: expected open or closed (the states of a GitHub issue), found \"Done\""
        );
        assert_eq!(
            error("provider: jira\nteam_or_project: PLAT\nlabels_default: [a, \"\"]\n"),
            "pm.yaml:3:21: labels_default[1]: expected a label, found an empty string"
        );
        assert_eq!(error("provider: jira\n"), "pm.yaml:1:1: expected field \"team_or_project\", found none");
        assert!(
            error("provider: [jira\n").starts_with("pm.yaml:2:1: expected valid YAML, found a syntax error"),
            "{}",
            error("provider: [jira\n")
        );
        assert_eq!(error(""), "pm.yaml:1:1: expected a mapping (provider, team_or_project, …), found an empty file");
    }

    #[test]
    fn a_missing_file_is_write_back_off() {
        assert!(load(Path::new("/nonexistent/.opchain/pm.yaml")).unwrap().is_none());
    }
}
