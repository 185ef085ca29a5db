//! Linear over GraphQL: `commentCreate`/`commentDelete` (mutations take the issue's UUID,
//! read from its identifier), `issueUpdate` with the state of the
//! ticket's team that `pm.yaml` names, `issueCreate` in the team with the default labels and
//! the bug type as a label, tickets found by marker with a description filter. Linear answers
//! most failures as GraphQL errors (HTTP 200 or 400): their codes are mapped to the seed's
//! classes, and a `RATELIMITED` one is retried as a 429 is.

use reqwest::Method;
use serde_json::{Value, json};

use super::config::PmConfig;
use super::ticket::Ticket;
use super::tracker::{Api, Comment, Failure, Http, Issue, Kind, retrying};
use crate::binding::Retry;

/// Pages of comments read at most.
const MAX_PAGES: usize = 20;

const ISSUE: &str = "query Issue($id: String!) { issue(id: $id) { id identifier title description state { name } } }";
const COMMENTS: &str = "query Comments($id: String!, $after: String) { issue(id: $id) { comments(first: 100, after: $after) { nodes { id body createdAt } pageInfo { hasNextPage endCursor } } } }";
const COMMENT_CREATE: &str =
    "mutation CommentCreate($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id body createdAt } } }";
const COMMENT_DELETE: &str = "mutation CommentDelete($id: String!) { commentDelete(id: $id) { success } }";
const STATES: &str = "query States($id: String!) { issue(id: $id) { id state { name } team { states { nodes { id name } } } } }";
const ISSUE_UPDATE: &str =
    "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }";
const FIND: &str = "query Find($filter: IssueFilter) { issues(filter: $filter, first: 50) { nodes { identifier description } } }";
const TEAM: &str = "query Team($key: String!, $labels: [String!]) { teams(filter: { key: { eq: $key } }) { nodes { id } } issueLabels(filter: { name: { in: $labels } }) { nodes { id name } } }";
const ISSUE_CREATE: &str =
    "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { identifier } } }";

/// The Linear backend.
#[derive(Debug)]
pub struct Linear {
    http: Http,
    team: String,
    labels: Vec<String>,
}

impl Linear {
    /// A client for `config`'s team.
    pub fn new(config: &PmConfig, api: &Api, retry: Retry) -> Result<Linear, String> {
        let mut labels = config.labels_default.clone();
        labels.extend(config.issue_types.get("bug").cloned());
        Ok(Linear { http: Http::new(api, retry, &[])?, team: config.team_or_project.clone(), labels })
    }

    /// Run `query` (named by its operation) with `variables`; its `data`, or the failure its
    /// errors say. Linear answers a refused query with 400 or 200 and the reason in `errors`
    /// (a rate limit as `RATELIMITED`): transient ones are retried like an HTTP 429.
    async fn call(&self, query: &str, variables: Value) -> Result<Value, Failure> {
        let name = query.split(['(', ' ']).nth(1).unwrap_or_default();
        let body = json!({"query": query, "operationName": name, "variables": variables});
        retrying(&self.http.retry, || async {
            match self.http.send_once(Method::POST, "", Some(&body)).await {
                Ok(v) => match graphql_failure(name, &v) {
                    Some(f) => Err((f, None)),
                    None => Ok(v["data"].clone()),
                },
                Err((f, wait, answer)) => Err((graphql_failure(name, &answer).filter(|_| f.status == Some(400)).unwrap_or(f), wait)),
            }
        })
        .await
    }

    fn key(ticket: &Ticket) -> Result<&str, Failure> {
        match ticket {
            Ticket::Key(k) => Ok(k),
            other => Err(Failure::new(Kind::Invalid, None, format!("{other}: expected a Linear key such as PLAT-12"))),
        }
    }

    /// `data.issue`, or NotFound when it is null.
    fn found<'a>(data: &'a Value, key: &str) -> Result<&'a Value, Failure> {
        match &data["issue"] {
            Value::Null => Err(Failure::new(Kind::NotFound, None, format!("{key}: Linear has no such issue"))),
            v => Ok(v),
        }
    }

    pub(super) fn set_retry(&mut self, retry: Retry) {
        self.http.retry = retry;
    }

    pub(super) async fn issue(&self, ticket: &Ticket) -> Result<Issue, Failure> {
        let key = Self::key(ticket)?;
        let data = self.call(ISSUE, json!({"id": key})).await?;
        let i = Self::found(&data, key)?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Ok(Issue {
            id: key.into(),
            title: text(&i["title"]),
            description: text(&i["description"]),
            status: text(&i["state"]["name"]),
            comments: self.comments(ticket).await?,
        })
    }

    pub(super) async fn comments(&self, ticket: &Ticket) -> Result<Vec<Comment>, Failure> {
        let key = Self::key(ticket)?;
        let (mut all, mut after) = (Vec::new(), Value::Null);
        for _ in 0..MAX_PAGES {
            let data = self.call(COMMENTS, json!({"id": key, "after": after})).await?;
            let page = &Self::found(&data, key)?["comments"];
            all.extend(page["nodes"].as_array().into_iter().flatten().map(comment));
            after = page["pageInfo"]["endCursor"].clone();
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
        }
        all.sort_by_key(Comment::order);
        Ok(all)
    }

    pub(super) async fn add_comment(&self, ticket: &Ticket, body: &str) -> Result<Comment, Failure> {
        let key = Self::key(ticket)?;
        // a mutation takes the issue's UUID, which the identifier is read into
        let data = self.call(ISSUE, json!({"id": key})).await?;
        let uuid = Self::found(&data, key)?["id"].clone();
        let data = self.call(COMMENT_CREATE, json!({"input": {"issueId": uuid, "body": body}})).await?;
        Ok(comment(&data["commentCreate"]["comment"]))
    }

    pub(super) async fn delete_comment(&self, _ticket: &Ticket, id: &str) -> Result<(), Failure> {
        self.call(COMMENT_DELETE, json!({"id": id})).await.map(drop)
    }

    pub(super) async fn transition(&self, ticket: &Ticket, state: &str) -> Result<(), Failure> {
        let key = Self::key(ticket)?;
        let data = self.call(STATES, json!({"id": key})).await?;
        let issue = Self::found(&data, key)?;
        if issue["state"]["name"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(state)) {
            return Ok(());
        }
        let states = issue["team"]["states"]["nodes"].as_array().cloned().unwrap_or_default();
        let Some(id) =
            states.iter().find(|s| s["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(state))).and_then(|s| s["id"].as_str())
        else {
            let offered: Vec<&str> = states.iter().filter_map(|s| s["name"].as_str()).collect();
            return Err(Failure::new(
                Kind::Invalid,
                None,
                format!("{key}: expected a state {state:?} in its team (pm.yaml's states), found only {offered:?}"),
            ));
        };
        self.call(ISSUE_UPDATE, json!({"id": issue["id"], "input": {"stateId": id}})).await.map(drop)
    }

    pub(super) async fn find_issue(&self, marker: &str) -> Result<Option<String>, Failure> {
        let filter = json!({"team": {"key": {"eq": self.team}}, "description": {"contains": marker}});
        let data = self.call(FIND, json!({"filter": filter})).await?;
        let nodes = data["issues"]["nodes"].as_array().cloned().unwrap_or_default();
        Ok(nodes
            .iter()
            .find(|n| n["description"].as_str().is_some_and(|d| d.contains(marker)))
            .and_then(|n| n["identifier"].as_str())
            .map(str::to_string))
    }

    pub(super) async fn create_issue(&self, title: &str, body: &str) -> Result<String, Failure> {
        let data = self.call(TEAM, json!({"key": self.team, "labels": self.labels})).await?;
        let Some(team) = data["teams"]["nodes"][0]["id"].as_str() else {
            return Err(Failure::new(Kind::NotFound, None, format!("pm.yaml: team {}: Linear has no such team", self.team)));
        };
        let labels: Vec<&str> = data["issueLabels"]["nodes"].as_array().into_iter().flatten().filter_map(|l| l["id"].as_str()).collect();
        let input = json!({"teamId": team, "title": title, "description": body, "labelIds": labels});
        let data = self.call(ISSUE_CREATE, json!({"input": input})).await?;
        Ok(data["issueCreate"]["issue"]["identifier"].as_str().unwrap_or_default().to_string())
    }
}

/// The failure a GraphQL answer's `errors` say, by their code.
fn graphql_failure(operation: &str, v: &Value) -> Option<Failure> {
    let e = v["errors"].as_array()?.first()?;
    let ext = &e["extensions"];
    let code = ext["code"].as_str().or_else(|| ext["type"].as_str()).unwrap_or_default().to_ascii_uppercase();
    let message = e["message"].as_str().unwrap_or_default();
    let kind = match code.as_str() {
        "RATELIMITED" | "INTERNAL_SERVER_ERROR" => Kind::Transient,
        "FORBIDDEN" => Kind::Forbidden,
        "AUTHENTICATION_ERROR" | "UNAUTHENTICATED" => Kind::Unauthorized,
        "ENTITY_NOT_FOUND" | "NOT_FOUND" => Kind::NotFound,
        _ if message.to_ascii_lowercase().contains("not found") => Kind::NotFound,
        _ => Kind::Invalid,
    };
    Some(Failure::new(kind, None, format!("Linear {operation}: {code}: {}", crate::text::clip(message))))
}

fn comment(v: &Value) -> Comment {
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Comment { id: text("id"), body: text("body"), created: text("createdAt") }
}
