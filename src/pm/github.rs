//! GitHub Issues over REST: issue comments (list, create, delete), the issue's `state`
//! (`open`/`closed`, from `pm.yaml`'s `states`), and issues found by marker among the
//! repository's issues with the default labels, created with those labels and the bug type
//! as a label.

use reqwest::Method;
use serde_json::{Value, json};

use super::config::PmConfig;
use super::ticket::Ticket;
use super::tracker::{Api, Comment, Failure, Http, Issue, Kind};
use crate::binding::Retry;

/// Comments or issues per page (GitHub's most).
const PAGE: usize = 100;
/// Pages read at most when listing.
const MAX_PAGES: usize = 20;

/// The GitHub Issues backend.
#[derive(Debug)]
pub struct GitHub {
    http: Http,
    repo: String,
    labels: Vec<String>,
}

impl GitHub {
    /// A client for `config`'s repository.
    pub fn new(config: &PmConfig, api: &Api, retry: Retry) -> Result<GitHub, String> {
        let http = Http::new(api, retry, &[("accept", "application/vnd.github+json"), ("x-github-api-version", "2022-11-28")])?;
        let mut labels = config.labels_default.clone();
        labels.extend(config.issue_types.get("bug").cloned());
        Ok(GitHub { http, repo: config.team_or_project.clone(), labels })
    }

    fn issue_path(ticket: &Ticket) -> Result<String, Failure> {
        match ticket {
            Ticket::GitHub { repo, number } => Ok(format!("/repos/{repo}/issues/{number}")),
            Ticket::Key(k) => Err(Failure::new(Kind::Invalid, None, format!("{k}: expected a GitHub issue (owner/repo#n)"))),
        }
    }

    pub(super) fn set_retry(&mut self, retry: Retry) {
        self.http.retry = retry;
    }

    pub(super) async fn issue(&self, ticket: &Ticket) -> Result<Issue, Failure> {
        let v = self.http.send(Method::GET, &Self::issue_path(ticket)?, None).await?;
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok(Issue {
            id: ticket.to_string(),
            title: text("title"),
            description: text("body"),
            status: text("state"),
            comments: self.comments(ticket).await?,
        })
    }

    pub(super) async fn comments(&self, ticket: &Ticket) -> Result<Vec<Comment>, Failure> {
        let path = Self::issue_path(ticket)?;
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let v = self.http.send(Method::GET, &format!("{path}/comments?per_page={PAGE}&page={page}"), None).await?;
            let items = v.as_array().cloned().unwrap_or_default();
            all.extend(items.iter().map(comment));
            if items.len() < PAGE {
                break;
            }
        }
        Ok(all)
    }

    pub(super) async fn add_comment(&self, ticket: &Ticket, body: &str) -> Result<Comment, Failure> {
        let v = self.http.send(Method::POST, &format!("{}/comments", Self::issue_path(ticket)?), Some(&json!({"body": body}))).await?;
        Ok(comment(&v))
    }

    pub(super) async fn delete_comment(&self, ticket: &Ticket, id: &str) -> Result<(), Failure> {
        let Ticket::GitHub { repo, .. } = ticket else { return Err(Failure::new(Kind::Invalid, None, "expected a GitHub issue")) };
        self.http.send(Method::DELETE, &format!("/repos/{repo}/issues/comments/{id}"), None).await.map(drop)
    }

    pub(super) async fn transition(&self, ticket: &Ticket, state: &str) -> Result<(), Failure> {
        self.http.send(Method::PATCH, &Self::issue_path(ticket)?, Some(&json!({"state": state}))).await.map(drop)
    }

    pub(super) async fn find_issue(&self, marker: &str) -> Result<Option<String>, Failure> {
        let labels: String = form_urlencoded::byte_serialize(self.labels.join(",").as_bytes()).collect();
        for page in 1..=MAX_PAGES {
            let path = format!("/repos/{}/issues?state=all&labels={labels}&per_page={PAGE}&page={page}", self.repo);
            let v = self.http.send(Method::GET, &path, None).await?;
            let items = v.as_array().cloned().unwrap_or_default();
            let found = items
                .iter()
                .filter(|i| i.get("pull_request").is_none())
                .find(|i| i["body"].as_str().is_some_and(|b| b.contains(marker)))
                .and_then(|i| i["number"].as_u64());
            if let Some(n) = found {
                return Ok(Some(format!("{}#{n}", self.repo)));
            }
            if items.len() < PAGE {
                break;
            }
        }
        Ok(None)
    }

    pub(super) async fn create_issue(&self, title: &str, body: &str) -> Result<String, Failure> {
        let v = self
            .http
            .send(
                Method::POST,
                &format!("/repos/{}/issues", self.repo),
                Some(&json!({"title": title, "body": body, "labels": self.labels})),
            )
            .await?;
        Ok(format!("{}#{}", self.repo, v["number"].as_u64().unwrap_or_default()))
    }
}

fn comment(v: &Value) -> Comment {
    let id = match &v["id"] {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or_default().to_string(),
    };
    Comment { id, body: v["body"].as_str().unwrap_or_default().into(), created: v["created_at"].as_str().unwrap_or_default().into() }
}
