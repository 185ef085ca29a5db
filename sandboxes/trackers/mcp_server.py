"""A PM-tracker MCP server over stdio, built with the official MCP Python SDK, in front of
the fake trackers (fake.py): the tool names and arguments of the servers the seed names —
GitHub's (issue_read, add_issue_comment, issue_write, list_issues), Linear's (get_issue,
list_comments, save_comment, save_issue, list_issues) and Atlassian's (jira_get_issue,
jira_add_comment, jira_get_transitions, jira_transition_issue, jira_search,
jira_create_issue) — each calling the tracker's API with the credential it is given, and
failing a call with the API's status in the message, as those servers do.

Usage: python3 mcp_server.py github|linear|jira
Environment: TRACKER_URL (the fake's base URL); GITHUB_TOKEN, or JIRA_EMAIL + JIRA_API_TOKEN,
or LINEAR_API_KEY.
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.request

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

PROVIDER = sys.argv[1] if len(sys.argv) > 1 else ""
BASE = os.environ.get("TRACKER_URL", "").rstrip("/")
server = MCPServer(f"fake-{PROVIDER}-tracker")


def call(method, path, body=None, auth=None):
    """One request to the tracker; its JSON, or a ToolError carrying the status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", auth)
    req.add_header("User-Agent", "fake-tracker-mcp")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            text = resp.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        raise ToolError(f"{method} {path}: {e.code} {e.reason}: {e.read().decode()[:300]}")
    except OSError as e:
        raise ToolError(f"{method} {path}: 503 network error: {e}")


def out(value):
    return json.dumps(value)


if PROVIDER == "github":
    AUTH = "Bearer " + os.environ.get("GITHUB_TOKEN", "")

    def gh(method, path, body=None):
        return call(method, "/github" + path, body, AUTH)

    @server.tool(structured_output=False)
    def issue_read(method: str, owner: str, repo: str, issue_number: int, page: int = 1, perPage: int = 100) -> str:
        """Read an issue (method "get") or its comments (method "get_comments")."""
        if method == "get":
            return out(gh("GET", f"/repos/{owner}/{repo}/issues/{issue_number}"))
        if method == "get_comments":
            return out(gh("GET", f"/repos/{owner}/{repo}/issues/{issue_number}/comments?per_page={perPage}&page={page}"))
        raise ToolError(f"422 unknown method {method}")

    @server.tool(structured_output=False)
    def add_issue_comment(owner: str, repo: str, issue_number: int, body: str) -> str:
        """Add a comment to an issue."""
        return out(gh("POST", f"/repos/{owner}/{repo}/issues/{issue_number}/comments", {"body": body}))

    @server.tool(structured_output=False)
    def issue_write(method: str, owner: str, repo: str, issue_number: int = 0, title: str = "", body: str = "", labels: list[str] | None = None, state: str = "") -> str:
        """Create an issue (method "create") or update one's state (method "update")."""
        if method == "create":
            return out(gh("POST", f"/repos/{owner}/{repo}/issues", {"title": title, "body": body, "labels": labels or []}))
        if method == "update":
            return out(gh("PATCH", f"/repos/{owner}/{repo}/issues/{issue_number}", {"state": state}))
        raise ToolError(f"422 unknown method {method}")

    @server.tool(structured_output=False)
    def list_issues(owner: str, repo: str, labels: list[str] | None = None, state: str = "all", page: int = 1, perPage: int = 100) -> str:
        """List a repository's issues with all of `labels`."""
        return out(gh("GET", f"/repos/{owner}/{repo}/issues?state={state}&labels={','.join(labels or [])}&per_page={perPage}&page={page}"))

elif PROVIDER == "jira":
    AUTH = "Basic " + base64.b64encode(f"{os.environ.get('JIRA_EMAIL', '')}:{os.environ.get('JIRA_API_TOKEN', '')}".encode()).decode()

    def jira(method, path, body=None):
        return call(method, "/jira/rest/api/3" + path, body, AUTH)

    def doc(text):
        return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": l}]} for l in text.splitlines() if l.strip()]}

    def text_of(d):
        if d is None or isinstance(d, str):
            return d or ""
        lines = []
        for block in d.get("content", []):
            lines.append("".join(n.get("text", "") for n in block.get("content", [])))
        return "\n".join(lines)

    @server.tool(structured_output=False)
    def jira_get_issue(issue_key: str, comment_limit: int = 100) -> str:
        """An issue: summary, description, status and its comments (as text)."""
        i = jira("GET", f"/issue/{issue_key}?fields=summary,description,status")
        c = jira("GET", f"/issue/{issue_key}/comment?startAt=0&maxResults={comment_limit}")
        comments = [{"id": x["id"], "body": text_of(x["body"]), "created": x["created"]} for x in c["comments"]]
        f = i["fields"]
        return out({"key": issue_key, "summary": f["summary"], "description": text_of(f["description"]), "status": {"name": f["status"]["name"]}, "comments": comments})

    @server.tool(structured_output=False)
    def jira_add_comment(issue_key: str, comment: str) -> str:
        """Add a comment (text) to an issue."""
        c = jira("POST", f"/issue/{issue_key}/comment", {"body": doc(comment)})
        return out({"id": c["id"], "body": text_of(c["body"]), "created": c["created"]})

    @server.tool(structured_output=False)
    def jira_get_transitions(issue_key: str) -> str:
        """The transitions an issue can take now."""
        t = jira("GET", f"/issue/{issue_key}/transitions")["transitions"]
        return out([{"id": x["id"], "name": x["name"], "to_status": x["to"]["name"]} for x in t])

    @server.tool(structured_output=False)
    def jira_transition_issue(issue_key: str, transition_id: str) -> str:
        """Move an issue through a transition."""
        jira("POST", f"/issue/{issue_key}/transitions", {"transition": {"id": transition_id}})
        return out({"success": True})

    @server.tool(structured_output=False)
    def jira_search(jql: str, limit: int = 50) -> str:
        """Issues by JQL, with their descriptions as text."""
        r = jira("POST", "/search/jql", {"jql": jql, "fields": ["description"], "maxResults": limit})
        return out({"issues": [{"key": i["key"], "description": text_of(i["fields"]["description"])} for i in r["issues"]]})

    @server.tool(structured_output=False)
    def jira_create_issue(project_key: str, summary: str, issue_type: str, description: str = "", additional_fields: dict | None = None) -> str:
        """Create an issue."""
        fields = {"project": {"key": project_key}, "summary": summary, "issuetype": {"name": issue_type}, "description": doc(description), **(additional_fields or {})}
        return out({"issue": jira("POST", "/issue", {"fields": fields})})

elif PROVIDER == "linear":
    AUTH = os.environ.get("LINEAR_API_KEY", "")

    def gql(op, query, variables):
        r = call("POST", "/linear/graphql", {"query": query, "operationName": op, "variables": variables}, AUTH)
        if r.get("errors"):
            e = r["errors"][0]
            code = e.get("extensions", {}).get("code", "")
            status = {"ENTITY_NOT_FOUND": 404, "FORBIDDEN": 403, "AUTHENTICATION_ERROR": 401, "RATELIMITED": 429}.get(code, 422)
            raise ToolError(f"{status} {code}: {e.get('message')}")
        return r["data"]

    @server.tool(structured_output=False)
    def get_issue(id: str) -> str:
        """An issue by its identifier."""
        d = gql("Issue", "query Issue($id: String!) { issue(id: $id) { id identifier title description state { name } } }", {"id": id})
        return out({**d["issue"], "status": d["issue"]["state"]["name"]})

    @server.tool(structured_output=False)
    def list_comments(issueId: str) -> str:
        """An issue's comments, oldest first."""
        q = "query Comments($id: String!, $after: String) { issue(id: $id) { comments(first: 100, after: $after) { nodes { id body createdAt } pageInfo { hasNextPage endCursor } } } }"
        return out(gql("Comments", q, {"id": issueId, "after": None})["issue"]["comments"]["nodes"])

    @server.tool(structured_output=False)
    def save_comment(issueId: str, body: str) -> str:
        """Add a comment to an issue."""
        uuid = gql("Issue", "query Issue($id: String!) { issue(id: $id) { id } }", {"id": issueId})["issue"]["id"]
        q = "mutation CommentCreate($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id body createdAt } } }"
        return out(gql("CommentCreate", q, {"input": {"issueId": uuid, "body": body}})["commentCreate"]["comment"])

    @server.tool(structured_output=False)
    def save_issue(id: str = "", state: str = "", team: str = "", title: str = "", description: str = "", labels: list[str] | None = None) -> str:
        """Update an issue's state by name (with `id`), or create one in `team` (without)."""
        if id:
            q = "query States($id: String!) { issue(id: $id) { id state { name } team { states { nodes { id name } } } } }"
            issue = gql("States", q, {"id": id})["issue"]
            states = issue["team"]["states"]["nodes"]
            match = [s["id"] for s in states if s["name"].lower() == state.lower()]
            if not match:
                raise ToolError(f"422 no state named {state!r}")
            q = "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }"
            return out(gql("IssueUpdate", q, {"id": issue["id"], "input": {"stateId": match[0]}})["issueUpdate"])
        q = "query Team($key: String!, $labels: [String!]) { teams(filter: { key: { eq: $key } }) { nodes { id } } issueLabels(filter: { name: { in: $labels } }) { nodes { id name } } }"
        t = gql("Team", q, {"key": team, "labels": labels or []})
        if not t["teams"]["nodes"]:
            raise ToolError(f"404 no team {team}")
        q = "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { identifier } } }"
        inp = {"teamId": t["teams"]["nodes"][0]["id"], "title": title, "description": description, "labelIds": [l["id"] for l in t["issueLabels"]["nodes"]]}
        return out(gql("IssueCreate", q, {"input": inp})["issueCreate"]["issue"])

    @server.tool(structured_output=False)
    def list_issues(team: str, query: str = "") -> str:
        """A team's issues whose description contains `query`."""
        q = "query Find($filter: IssueFilter) { issues(filter: $filter, first: 50) { nodes { identifier description } } }"
        return out(gql("Find", q, {"filter": {"team": {"key": {"eq": team}}, "description": {"contains": query}}})["issues"]["nodes"])

else:
    sys.exit("usage: mcp_server.py github|linear|jira")


if __name__ == "__main__":
    server.run("stdio")
