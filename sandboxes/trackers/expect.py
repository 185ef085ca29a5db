"""CI's check of what PM write-back left on a fake tracker (fake.py): each round the run
printed ("round report: …/<service>/test-round-<n>.md (PASS|FAIL)", one per example service
for a whole run, one for `oc-integrate test`) has exactly one comment
with its marker on the ticket, and the ticket is in the state pm.yaml names for the last
verdict; with AGENT, every request the tracker saw came from that client (the MCP server's).

Usage: python3 expect.py TRACKERS_URL PROVIDER TICKET STATE [AGENT] < the run's output
"""

import json
import re
import sys
import urllib.request

url, provider, ticket, state = sys.argv[1:5]
rounds = re.findall(r"^round report: .*/([^/]+)/test-round-(\d+)\.md \((PASS|FAIL)\)$", sys.stdin.read(), re.M)
assert rounds, "expected the run's round report lines, found none"
st = json.load(urllib.request.urlopen(url + "/_fake/state"))
if provider == "github":
    repo, n = ticket.split("#")
    issue = st["github"][repo][n]
    now = issue["state"]
else:
    issue = st[provider][ticket]
    now = issue["status" if provider == "jira" else "state"]


def text(body):
    if isinstance(body, str):
        return body
    return "\n".join("".join(n.get("text", "") for n in b.get("content", [])) for b in body.get("content", []))


bodies = [text(c["body"]) for c in issue["comments"]]
for service, n, verdict in rounds:
    marker = f"<!-- opchain:oc-integrations-engineer:test-round:{service}-round-{n} -->"
    count = sum(marker in b for b in bodies)
    assert count == 1, f"{provider} {ticket}: expected one comment for {service} round {n}, found {count}"
    assert any(marker in b and f"round {n}: {verdict}" in b for b in bodies), f"{service} round {n}: the comment must say {verdict}"
assert now == state, f"{provider} {ticket}: expected the state {state!r}, found {now!r}"
if len(sys.argv) > 5:
    agents = {r["agent"] for r in json.load(urllib.request.urlopen(url + "/_fake/log")) if r["provider"] == provider}
    assert agents == {sys.argv[5]}, f"{provider}: expected every request from {sys.argv[5]}, found {agents}"
print(f"{provider} {ticket}: one comment for each of {', '.join(f'{s} round {n}' for s, n, _ in rounds)}; state {now}")
