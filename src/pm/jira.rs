//! Jira Cloud over REST v3: comments as Atlassian documents (one paragraph per line, so the
//! marker is a paragraph of its own), transitions chosen by the target state's name from
//! `pm.yaml`, issues found by marker through JQL over the project and bug type, created
//! with the project, bug type and default labels.

use reqwest::Method;
use serde_json::{Value, json};

use super::config::PmConfig;
use super::ticket::Ticket;
use super::tracker::{Api, Comment, Failure, Http, Issue, Kind};
use crate::binding::Retry;

/// Comments per page.
const PAGE: usize = 100;
/// Pages read at most when listing.
const MAX_PAGES: usize = 20;

/// The Jira backend.
#[derive(Debug)]
pub struct Jira {
    http: Http,
    project: String,
    bug: Option<String>,
    labels: Vec<String>,
}

impl Jira {
    /// A client for `config`'s project.
    pub fn new(config: &PmConfig, api: &Api, retry: Retry) -> Result<Jira, String> {
        Ok(Jira {
            http: Http::new(api, retry, &[("accept", "application/json")])?,
            project: config.team_or_project.clone(),
            bug: config.issue_types.get("bug").cloned(),
            labels: config.labels_default.clone(),
        })
    }

    fn key(ticket: &Ticket) -> Result<&str, Failure> {
        match ticket {
            Ticket::Key(k) => Ok(k),
            other => Err(Failure::new(Kind::Invalid, None, format!("{other}: expected a Jira key such as PLAT-12"))),
        }
    }

    pub(super) fn set_retry(&mut self, retry: Retry) {
        self.http.retry = retry;
    }

    pub(super) async fn issue(&self, ticket: &Ticket) -> Result<Issue, Failure> {
        let key = Self::key(ticket)?;
        let v = self.http.send(Method::GET, &format!("/rest/api/3/issue/{key}?fields=summary,description,status"), None).await?;
        let f = &v["fields"];
        Ok(Issue {
            id: key.to_string(),
            title: f["summary"].as_str().unwrap_or_default().into(),
            description: text_of(&f["description"]),
            status: f["status"]["name"].as_str().unwrap_or_default().into(),
            comments: self.comments(ticket).await?,
        })
    }

    pub(super) async fn comments(&self, ticket: &Ticket) -> Result<Vec<Comment>, Failure> {
        let key = Self::key(ticket)?;
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let path = format!("/rest/api/3/issue/{key}/comment?startAt={}&maxResults={PAGE}&orderBy=created", page * PAGE);
            let v = self.http.send(Method::GET, &path, None).await?;
            let items = v["comments"].as_array().cloned().unwrap_or_default();
            all.extend(items.iter().map(comment));
            let total = v["total"].as_u64().unwrap_or(0) as usize;
            if items.is_empty() || all.len() >= total {
                break;
            }
        }
        Ok(all)
    }

    pub(super) async fn add_comment(&self, ticket: &Ticket, body: &str) -> Result<Comment, Failure> {
        let key = Self::key(ticket)?;
        let v = self.http.send(Method::POST, &format!("/rest/api/3/issue/{key}/comment"), Some(&json!({"body": document(body)}))).await?;
        Ok(comment(&v))
    }

    pub(super) async fn delete_comment(&self, ticket: &Ticket, id: &str) -> Result<(), Failure> {
        let key = Self::key(ticket)?;
        self.http.send(Method::DELETE, &format!("/rest/api/3/issue/{key}/comment/{id}"), None).await.map(drop)
    }

    pub(super) async fn transition(&self, ticket: &Ticket, state: &str) -> Result<(), Failure> {
        let key = Self::key(ticket)?;
        let now = self.http.send(Method::GET, &format!("/rest/api/3/issue/{key}?fields=status"), None).await?;
        if now["fields"]["status"]["name"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(state)) {
            return Ok(());
        }
        let v = self.http.send(Method::GET, &format!("/rest/api/3/issue/{key}/transitions"), None).await?;
        let all = v["transitions"].as_array().cloned().unwrap_or_default();
        let named = |t: &&Value| [&t["to"]["name"], &t["name"]].iter().any(|n| n.as_str().is_some_and(|n| n.eq_ignore_ascii_case(state)));
        let Some(id) = all.iter().find(named).and_then(|t| t["id"].as_str()) else {
            let offered: Vec<&str> = all.iter().filter_map(|t| t["to"]["name"].as_str()).collect();
            return Err(Failure::new(
                Kind::Invalid,
                None,
                format!("{key}: expected a transition to {state:?} (pm.yaml's states), found only {offered:?}"),
            ));
        };
        self.http
            .send(Method::POST, &format!("/rest/api/3/issue/{key}/transitions"), Some(&json!({"transition": {"id": id}})))
            .await
            .map(drop)
    }

    /// The JQL of the project's tickets of the bug type.
    fn jql(&self) -> String {
        let mut jql = format!("project = \"{}\"", self.project);
        if let Some(b) = &self.bug {
            jql += &format!(" AND issuetype = \"{}\"", b.replace('"', "\\\""));
        }
        jql + " ORDER BY created DESC"
    }

    pub(super) async fn find_issue(&self, marker: &str) -> Result<Option<String>, Failure> {
        let mut token = Value::Null;
        for _ in 0..MAX_PAGES {
            let mut body = json!({"jql": self.jql(), "fields": ["description"], "maxResults": PAGE});
            if !token.is_null() {
                body["nextPageToken"] = token.clone();
            }
            let v = self.http.send(Method::POST, "/rest/api/3/search/jql", Some(&body)).await?;
            let issues = v["issues"].as_array().cloned().unwrap_or_default();
            if let Some(key) = issues.iter().find(|i| text_of(&i["fields"]["description"]).contains(marker)).and_then(|i| i["key"].as_str())
            {
                return Ok(Some(key.to_string()));
            }
            token = v["nextPageToken"].clone();
            if token.is_null() || issues.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    pub(super) async fn create_issue(&self, title: &str, body: &str) -> Result<String, Failure> {
        let Some(bug) = &self.bug else {
            return Err(Failure::new(
                Kind::Invalid,
                None,
                "pm.yaml: expected issue_types.bug (the type of an escalation's ticket), found none",
            ));
        };
        let fields = json!({
            "project": {"key": self.project},
            "summary": title,
            "issuetype": {"name": bug},
            "labels": self.labels,
            "description": document(body),
        });
        let v = self.http.send(Method::POST, "/rest/api/3/issue", Some(&json!({"fields": fields}))).await?;
        Ok(v["key"].as_str().unwrap_or_default().to_string())
    }
}

/// `text` as an Atlassian document: a paragraph per non-empty line.
pub fn document(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| json!({"type": "paragraph", "content": [{"type": "text", "text": l}]}))
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// The text of an Atlassian document (a line per block), or of a plain string.
pub fn text_of(doc: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v["text"].as_str() {
            out.push_str(t);
        }
        for c in v["content"].as_array().into_iter().flatten() {
            walk(c, out);
        }
        if matches!(v["type"].as_str(), Some("paragraph" | "heading" | "codeBlock" | "listItem")) {
            out.push('\n');
        }
    }
    if let Some(s) = doc.as_str() {
        return s.to_string();
    }
    let mut out = String::new();
    walk(doc, &mut out);
    out
}

fn comment(v: &Value) -> Comment {
    Comment {
        id: v["id"].as_str().map(str::to_string).unwrap_or_else(|| v["id"].to_string()),
        body: text_of(&v["body"]),
        created: v["created"].as_str().unwrap_or_default().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_reads_back_line_by_line() {
        let text = "<!-- opchain:oc-integrations-engineer:test-round:x-round-1 -->\n**round 1**\n\n- `a::b`: late";
        assert_eq!(text_of(&document(text)), text.lines().filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect::<String>());
    }
}
