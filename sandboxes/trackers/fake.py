"""Stateful fakes of the three PM trackers' APIs, for oc-integrate's PM write-back tests.

One process serves GitHub Issues REST under /github, Jira Cloud REST v3 under /jira and
Linear GraphQL at /linear/graphql, each enforcing what the real one does for the calls
write-back makes: its auth header (401 otherwise), 404 for an unknown ticket, 403 for a
ticket of a project the credential does not cover, 422 (GitHub) / 400 (Jira, Linear) for a
bad body (and, for Linear, a mutation given an identifier where it takes the issue's UUID). Faults are scripted through /_fake/faults (a status, optionally with Retry-After,
for the next N matching requests — by provider, method, path, GraphQL operation —, after skipping some; quoting the request's credential back with "echo", or as a GraphQL error with "graphql_code"), concurrent requests can be held until a number of them
arrived (/_fake/gate), and every request is logged with its server-side arrival time (and a GraphQL operation's name)
(/_fake/log). /_fake/state shows the comments, tickets and states.

Usage: python3 fake.py PORT   (credentials from FAKE_GITHUB_TOKEN, FAKE_JIRA_EMAIL,
FAKE_JIRA_TOKEN, FAKE_LINEAR_KEY; the defaults below otherwise)
"""

import base64
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

GITHUB_TOKEN = os.environ.get("FAKE_GITHUB_TOKEN", "ghp_fake_oc_integrate")
JIRA_EMAIL = os.environ.get("FAKE_JIRA_EMAIL", "ci@example.com")
JIRA_TOKEN = os.environ.get("FAKE_JIRA_TOKEN", "jira_fake_oc_integrate")
LINEAR_KEY = os.environ.get("FAKE_LINEAR_KEY", "lin_api_fake_oc_integrate")

START = time.monotonic()
LOCK = threading.Lock()
GATE = threading.Condition(LOCK)
GATE_TIMEOUT_S = 15


def fresh():
    """The trackers as they start: three tickets in the covered project, one in another."""
    return {
        "next_id": 1000,
        "log": [],
        "faults": [],
        "gates": [],
        # GitHub: the token covers acme/shop; other/secret exists but is not covered
        "github": {
            "acme/shop": {n: {"title": f"Shop issue {n}", "body": f"Body of {n}", "state": "open", "labels": [], "comments": []} for n in (1, 2, 3)},
            "other/secret": {1: {"title": "Secret", "body": "", "state": "open", "labels": [], "comments": []}},
        },
        # Jira: the credential covers PLAT; OPS exists but is not covered
        "jira": {
            f"{p}-{n}": {"summary": f"{p} ticket {n}", "description": None, "status": "To Do", "type": "Task", "labels": [], "comments": []}
            for p, ns in (("PLAT", (1, 2, 3)), ("OPS", (1,)))
            for n in ns
        },
        # Linear: the key's user is in team PLAT only; an issue has a UUID beside its identifier
        "linear": {
            f"{t}-{n}": {"id": f"5e1f0000-0000-4000-8000-{t.lower()}{n:08d}", "title": f"{t} issue {n}", "description": "", "state": "Todo", "labels": [], "comments": []}
            for t, ns in (("PLAT", (1, 2, 3)), ("OPS", (1,)))
            for n in ns
        },
        "created": {"github": 3, "jira": {"PLAT": 3, "OPS": 1}, "linear": {"PLAT": 3, "OPS": 1}},
    }


STATE = fresh()
JIRA_STATUSES = {"11": "To Do", "21": "In Progress", "31": "In Review", "41": "Done"}
JIRA_TYPES = {"Bug", "Task", "Story"}
LINEAR_STATES = {"st-todo": "Todo", "st-progress": "In Progress", "st-review": "In Review", "st-done": "Done"}
LINEAR_TEAMS = {"team-plat": "PLAT", "team-ops": "OPS"}
LINEAR_LABELS = {"lbl-opchain": "opchain", "lbl-agent": "agent-driven", "lbl-bug": "Bug"}


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def new_id():
    STATE["next_id"] += 1
    return STATE["next_id"]


class Reply(Exception):
    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def handle_any(self):
        arrived = time.monotonic() - START
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        provider = url.path.split("/")[1] if url.path.count("/") >= 1 else ""
        try:
            op = json.loads(raw).get("operationName") if raw else None
        except (ValueError, AttributeError):
            op = None
        status, body, headers = 500, None, {}
        try:
            if provider == "_fake":
                status, body = self.admin(url.path, raw)
            else:
                self.hold(provider, url.path)
                with LOCK:
                    fault = self.fault(provider, url.path, op)
                    if fault:
                        # "echo": a careless server that quotes the request's credential in its error
                        body = {**({"echo_authorization": self.headers.get("Authorization")} if fault.get("echo") else {}), "message": "injected fault"}
                        if fault.get("graphql_code"):
                            # Linear's way: a GraphQL error with its code (RATELIMITED comes with HTTP 400)
                            body = {"errors": [{"message": "injected fault", "extensions": {"code": fault["graphql_code"]}}]}
                        raise Reply(fault["status"], body, {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {})
                    try:
                        payload = json.loads(raw) if raw else None
                    except ValueError:
                        raise Reply(400, {"message": "Problems parsing JSON"})
                    route = {"github": self.github, "jira": self.jira, "linear": self.linear}.get(provider)
                    if route is None:
                        raise Reply(404, {"message": "Not Found"})
                    status, body = route(url, payload)
        except Reply as r:
            status, body, headers = r.status, r.body, r.headers
        if provider != "_fake":
            with LOCK:
                STATE["log"].append({"provider": provider, "method": self.command, "path": self.path, "op": op, "agent": self.headers.get("User-Agent"), "t": arrived, "status": status})
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- scripting -------------------------------------------------------------------

    def admin(self, path, raw):
        global STATE
        with LOCK:
            if path == "/_fake/health":
                return 200, {"ok": True}
            if path == "/_fake/reset":
                STATE = fresh()
                return 200, {"ok": True}
            if path == "/_fake/log":
                return 200, STATE["log"]
            if path == "/_fake/state":
                return 200, {k: STATE[k] for k in ("github", "jira", "linear")}
            if path == "/_fake/faults":
                if self.command == "DELETE":
                    STATE["faults"] = []
                else:
                    STATE["faults"].append(json.loads(raw))
                return 200, STATE["faults"]
            if path == "/_fake/gate":
                gate = json.loads(raw)
                gate["waiting"] = 0
                STATE["gates"].append(gate)
                return 200, {"ok": True}
        raise Reply(404, {"message": "no such fake endpoint"})

    def matches(self, rule, provider, path, op=None):
        return (
            rule.get("provider", provider) in (provider, "*")
            and rule.get("method", self.command) == self.command
            and rule.get("path_contains", "") in path
            and rule.get("op", op) == op
        )

    def fault(self, provider, path, op):
        for f in STATE["faults"]:
            if f.get("count", 1) != 0 and self.matches(f, provider, path, op):
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    continue
                if f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                return f
        return None

    def hold(self, provider, path):
        """Hold a request a gate matches until `count` of them arrived, or GATE_TIMEOUT_S passed
        (well past what a loaded machine delays the second by, under the clients' 20 s)."""
        with GATE:
            gate = next((g for g in STATE["gates"] if g["count"] > g["waiting"] and self.matches(g, provider, path)), None)
            if gate is None:
                return
            gate["waiting"] += 1
            GATE.notify_all()
            GATE.wait_for(lambda: gate["waiting"] >= gate["count"], timeout=GATE_TIMEOUT_S)

    # --- GitHub ------------------------------------------------------------------------

    def github(self, url, body):
        auth = self.headers.get("Authorization", "")
        if auth not in (f"Bearer {GITHUB_TOKEN}", f"token {GITHUB_TOKEN}"):
            raise Reply(401, {"message": "Bad credentials"})
        if not self.headers.get("User-Agent"):
            raise Reply(403, {"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"})
        path = url.path[len("/github"):]
        repos = STATE["github"]

        def repo_of(owner, name):
            repo = f"{owner}/{name}"
            if repo not in repos:
                raise Reply(404, {"message": "Not Found"})
            if repo != "acme/shop":
                raise Reply(403, {"message": "Resource not accessible by personal access token"})
            return repos[repo]

        def issue_of(issues, n):
            if int(n) not in issues:
                raise Reply(404, {"message": "Not Found"})
            return issues[int(n)]

        def out_comment(c):
            return {"id": c["id"], "body": c["body"], "created_at": c["created"]}

        q = parse_qs(url.query)
        page, per_page = int(q.get("page", ["1"])[0]), min(int(q.get("per_page", ["30"])[0]), 100)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", path)
        if m:
            issue = issue_of(repo_of(m[1], m[2]), m[3])
            if self.command == "GET":
                return 200, [out_comment(c) for c in issue["comments"][(page - 1) * per_page: page * per_page]]
            if self.command == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"]:
                    raise Reply(422, {"message": "Validation Failed", "errors": [{"field": "body", "code": "missing_field"}]})
                c = {"id": new_id(), "body": body["body"], "created": now_iso()}
                issue["comments"].append(c)
                return 201, out_comment(c)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)", path)
        if m and self.command == "DELETE":
            for issue in repo_of(m[1], m[2]).values():
                for c in issue["comments"]:
                    if c["id"] == int(m[3]):
                        issue["comments"].remove(c)
                        return 204, None
            raise Reply(404, {"message": "Not Found"})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)", path)
        if m:
            issue = issue_of(repo_of(m[1], m[2]), m[3])
            if self.command == "PATCH":
                if not isinstance(body, dict) or body.get("state") not in (None, "open", "closed"):
                    raise Reply(422, {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]})
                issue["state"] = body.get("state", issue["state"])
            return 200, {"number": int(m[3]), "title": issue["title"], "body": issue["body"], "state": issue["state"]}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues", path)
        if m:
            issues = repo_of(m[1], m[2])
            if self.command == "GET":
                want = [l for l in q.get("labels", [""])[0].split(",") if l]
                found = [
                    {"number": n, "title": i["title"], "body": i["body"], "state": i["state"], "labels": [{"name": l} for l in i["labels"]]}
                    for n, i in sorted(issues.items(), reverse=True)
                    if all(l in i["labels"] for l in want)
                ]
                return 200, found[(page - 1) * per_page: page * per_page]
            if self.command == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"]:
                    raise Reply(422, {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing_field"}]})
                STATE["created"]["github"] += 1
                n = STATE["created"]["github"]
                issues[n] = {"title": body["title"], "body": body.get("body") or "", "state": "open", "labels": list(body.get("labels") or []), "comments": []}
                return 201, {"number": n}
        raise Reply(404, {"message": "Not Found"})

    # --- Jira --------------------------------------------------------------------------

    def jira(self, url, body):
        expected = "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            raise Reply(401, {"errorMessages": ["Client must be authenticated to access this resource."]})
        path = url.path[len("/jira"):]
        issues = STATE["jira"]

        def issue_of(key):
            if key not in issues:
                raise Reply(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]})
            if not key.startswith("PLAT-"):
                raise Reply(403, {"errorMessages": ["You do not have permission to perform this action in project " + key.split("-")[0]]})
            return issues[key]

        def is_doc(d):
            return isinstance(d, dict) and d.get("type") == "doc" and d.get("version") == 1 and isinstance(d.get("content"), list)

        def out_comment(c):
            return {"id": str(c["id"]), "body": c["body"], "created": c["created"]}

        q = parse_qs(url.query)
        m = re.fullmatch(r"/rest/api/3/issue/([A-Z][A-Z0-9_]+-\d+)/comment", path)
        if m:
            issue = issue_of(m[1])
            if self.command == "GET":
                start, count = int(q.get("startAt", ["0"])[0]), int(q.get("maxResults", ["50"])[0])
                page = issue["comments"][start: start + count]
                return 200, {"startAt": start, "maxResults": count, "total": len(issue["comments"]), "comments": [out_comment(c) for c in page]}
            if self.command == "POST":
                if not isinstance(body, dict) or not is_doc(body.get("body")):
                    raise Reply(400, {"errorMessages": [], "errors": {"comment": "Comment body is not valid!"}})
                c = {"id": new_id(), "body": body["body"], "created": now_iso()}
                issue["comments"].append(c)
                return 201, out_comment(c)
        m = re.fullmatch(r"/rest/api/3/issue/([A-Z][A-Z0-9_]+-\d+)/comment/(\d+)", path)
        if m and self.command == "DELETE":
            issue = issue_of(m[1])
            for c in issue["comments"]:
                if c["id"] == int(m[2]):
                    issue["comments"].remove(c)
                    return 204, None
            raise Reply(404, {"errorMessages": ["Can not find a comment for the id: " + m[2]]})
        m = re.fullmatch(r"/rest/api/3/issue/([A-Z][A-Z0-9_]+-\d+)/transitions", path)
        if m:
            issue = issue_of(m[1])
            if self.command == "GET":
                return 200, {"transitions": [{"id": i, "name": f"Move to {s}", "to": {"name": s}} for i, s in JIRA_STATUSES.items() if s != issue["status"]]}
            if self.command == "POST":
                tid = (body or {}).get("transition", {}).get("id") if isinstance(body, dict) else None
                if tid not in JIRA_STATUSES or JIRA_STATUSES[tid] == issue["status"]:
                    raise Reply(400, {"errorMessages": ["Transition id '%s' is not valid for this issue." % tid]})
                issue["status"] = JIRA_STATUSES[tid]
                return 204, None
        m = re.fullmatch(r"/rest/api/3/issue/([A-Z][A-Z0-9_]+-\d+)", path)
        if m and self.command == "GET":
            issue = issue_of(m[1])
            fields = {"summary": issue["summary"], "description": issue["description"], "status": {"name": issue["status"]}}
            return 200, {"key": m[1], "fields": fields}
        if path == "/rest/api/3/issue" and self.command == "POST":
            f = body.get("fields") if isinstance(body, dict) else None
            if not isinstance(f, dict):
                raise Reply(400, {"errorMessages": ["fields are required"]})
            project = (f.get("project") or {}).get("key")
            if project not in STATE["created"]["jira"]:
                raise Reply(400, {"errors": {"project": "valid project is required"}})
            if project != "PLAT":
                raise Reply(403, {"errorMessages": ["You do not have permission to create issues in this project."]})
            errors = {}
            if not f.get("summary"):
                errors["summary"] = "You must specify a summary of the issue."
            if (f.get("issuetype") or {}).get("name") not in JIRA_TYPES:
                errors["issuetype"] = "Specify a valid issue type"
            if f.get("description") is not None and not is_doc(f["description"]):
                errors["description"] = "Operation value must be an Atlassian Document"
            if errors:
                raise Reply(400, {"errorMessages": [], "errors": errors})
            STATE["created"]["jira"][project] += 1
            key = f"{project}-{STATE['created']['jira'][project]}"
            issues[key] = {"summary": f["summary"], "description": f.get("description"), "status": "To Do", "type": f["issuetype"]["name"], "labels": list(f.get("labels") or []), "comments": []}
            return 201, {"id": str(new_id()), "key": key}
        if path == "/rest/api/3/search/jql" and self.command == "POST":
            jql = (body or {}).get("jql", "") if isinstance(body, dict) else ""
            project = re.search(r'project\s*=\s*"?([A-Z][A-Z0-9_]+)"?', jql)
            kind = re.search(r'issuetype\s*=\s*"([^"]+)"', jql)
            if not project:
                raise Reply(400, {"errorMessages": ["Unbounded JQL queries are not allowed here."]})
            if project[1] != "PLAT":
                raise Reply(400, {"errorMessages": [f"The value '{project[1]}' does not exist for the field 'project'."]})
            found = [
                {"key": k, "fields": {"description": i["description"]}}
                for k, i in sorted(issues.items(), key=lambda kv: -int(kv[0].split("-")[1]))
                if k.startswith(project[1] + "-") and (not kind or i["type"] == kind[1])
            ]
            return 200, {"issues": found[: int(body.get("maxResults", 50))]}
        raise Reply(404, {"errorMessages": ["not found"]})

    # --- Linear ------------------------------------------------------------------------

    def linear(self, url, body):
        if url.path != "/linear/graphql" or self.command != "POST":
            raise Reply(404, {"message": "Not Found"})
        if self.headers.get("Authorization") != LINEAR_KEY:
            raise Reply(401, {"errors": [{"message": "Authentication required, not authenticated", "extensions": {"code": "AUTHENTICATION_ERROR"}}]})
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise Reply(400, {"errors": [{"message": "Must provide query string.", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]})
        op, v = body.get("operationName") or "", body.get("variables") or {}
        issues = STATE["linear"]

        def invalid(message):
            return Reply(400, {"errors": [{"message": message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]})

        def need(*names):
            if not re.match(r"(query|mutation) %s\(" % re.escape(op), body["query"]):
                raise invalid(f"Unknown operation named \"{op}\".")
            for n in names:
                if n not in v or v[n] is None:
                    raise invalid(f'Variable "${n}" of required type was not provided.')

        def error(code, message):
            return 200, {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}

        def issue_of(ref, uuid_only=False):
            """An issue by identifier or UUID (mutations take only the UUID)."""
            key = ref if ref in issues and not uuid_only else next((k for k, i in issues.items() if i["id"] == ref), None)
            if key is None:
                if uuid_only and ref in issues:
                    return None, error("INVALID_INPUT", "Argument Validation Error: id must be a UUID")
                return None, error("ENTITY_NOT_FOUND", "Entity not found: Issue")
            if not key.startswith("PLAT-"):
                return None, error("FORBIDDEN", "You don't have access to this team")
            return issues[key], None

        def out_comment(c):
            return {"id": c["id"], "body": c["body"], "createdAt": c["created"]}

        if op in ("Issue", "Comments", "States"):
            need("id")
            issue, err = issue_of(v["id"])
            if err:
                return err
            if op == "Issue":
                key = next(k for k, i in issues.items() if i is issue)
                return 200, {"data": {"issue": {"id": issue["id"], "identifier": key, "title": issue["title"], "description": issue["description"], "state": {"name": issue["state"]}}}}
            if op == "Comments":
                start = int(v.get("after") or 0)
                page = issue["comments"][start: start + 100]
                info = {"hasNextPage": start + 100 < len(issue["comments"]), "endCursor": str(start + 100)}
                return 200, {"data": {"issue": {"comments": {"nodes": [out_comment(c) for c in page], "pageInfo": info}}}}
            states = [{"id": i, "name": n} for i, n in LINEAR_STATES.items()]
            return 200, {"data": {"issue": {"id": issue["id"], "state": {"name": issue["state"]}, "team": {"states": {"nodes": states}}}}}
        if op == "CommentCreate":
            need("input")
            inp = v["input"]
            if not isinstance(inp.get("body"), str) or not inp["body"] or not inp.get("issueId"):
                return error("INVALID_INPUT", "Argument Validation Error: body should not be empty")
            issue, err = issue_of(inp["issueId"], uuid_only=True)
            if err:
                return err
            c = {"id": f"cmt-{new_id()}", "body": inp["body"], "created": now_iso()}
            issue["comments"].append(c)
            return 200, {"data": {"commentCreate": {"success": True, "comment": out_comment(c)}}}
        if op == "CommentDelete":
            need("id")
            for issue in issues.values():
                for c in issue["comments"]:
                    if c["id"] == v["id"]:
                        issue["comments"].remove(c)
                        return 200, {"data": {"commentDelete": {"success": True}}}
            return error("ENTITY_NOT_FOUND", "Entity not found: Comment")
        if op == "IssueUpdate":
            need("id", "input")
            issue, err = issue_of(v["id"], uuid_only=True)
            if err:
                return err
            state = v["input"].get("stateId")
            if state not in LINEAR_STATES:
                return error("INVALID_INPUT", "Argument Validation Error: stateId must be a valid state")
            issue["state"] = LINEAR_STATES[state]
            return 200, {"data": {"issueUpdate": {"success": True}}}
        if op == "Find":
            need("filter")
            f = v["filter"]
            team = f.get("team", {}).get("key", {}).get("eq")
            contains = f.get("description", {}).get("contains", "")
            nodes = [{"identifier": k, "description": i["description"]} for k, i in issues.items() if k.startswith(f"{team}-") and contains in (i["description"] or "")]
            return 200, {"data": {"issues": {"nodes": nodes}}}
        if op == "Team":
            need("key")
            teams = [{"id": i} for i, k in LINEAR_TEAMS.items() if k == v["key"]]
            labels = [{"id": i, "name": n} for i, n in LINEAR_LABELS.items() if n in (v.get("labels") or [])]
            return 200, {"data": {"teams": {"nodes": teams}, "issueLabels": {"nodes": labels}}}
        if op == "IssueCreate":
            need("input")
            inp = v["input"]
            team = LINEAR_TEAMS.get(inp.get("teamId"))
            if team is None or not inp.get("title"):
                return error("INVALID_INPUT", "Argument Validation Error: teamId and title are required")
            if team != "PLAT":
                return error("FORBIDDEN", "You don't have access to this team")
            STATE["created"]["linear"][team] += 1
            key = f"{team}-{STATE['created']['linear'][team]}"
            labels = [LINEAR_LABELS[l] for l in inp.get("labelIds") or [] if l in LINEAR_LABELS]
            issues[key] = {"id": f"5e1f0000-0000-4000-8000-{new_id():012d}", "title": inp["title"], "description": inp.get("description") or "", "state": "Todo", "labels": labels, "comments": []}
            return 200, {"data": {"issueCreate": {"success": True, "issue": {"identifier": key}}}}
        raise invalid(f'Unknown operation named "{op}".')


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"trackers fake on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
