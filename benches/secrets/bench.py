"""benches/secrets.sh's work: generate a git repository with secrets planted across its
history, run oc-integrate secrets, detect-secrets and secretlint on that history, and print
recall, false positives and wall time, with ratios.

How the history is given to each tool (none of the other two reads git history):
  oc-integrate    the repository itself: every commit of every ref, through gix
  detect-secrets  every distinct blob of the history written once as a file (at the first
  secretlint      commit and path that carried it), the same file list passed to both;
                  writing that export is timed apart and not charged to them.
A planted secret is found by a tool when a line it flags holds it (a PEM key: the flagged
BEGIN line and the three after it). A flagged line that holds no planted secret is a false
positive, counted once per distinct line text (the same line in many versions of a file is
one). Secrets are never printed: only counts, formats and timings.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
UPPER = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
DIGITS = "0123456789"
# a value holding one of these reads as a placeholder to some tools (ours included): a planted
# secret is drawn again until it holds none, so every planted one is a fair target
PLACEHOLDERS = ("xxxx", "example", "changeme", "your", "dummy", "fake", "sample", "0000", "1234", "abcd", "test", "redacted")
DECLARED_ENV = "SHOP_API_KEY"


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def s(self, n, alphabet):
        while True:
            v = "".join(self.r.choice(alphabet) for _ in range(n))
            if not any(p in v.lower() for p in PLACEHOLDERS):
                return v

    def secret(self, fmt):
        """(value, the line that holds it) for one format; a PEM key is two lines."""
        s = self.s
        b64url = lambda t: base64.urlsafe_b64encode(t.encode()).decode().rstrip("=")
        name = "cfg_%s" % s(4, "abcdefghijklmnopqrstuvwxyz")
        lit = lambda v: (v, '%s = "%s"' % (name, v))
        if fmt == "stripe-live":
            return lit("_".join(["sk", "live", s(24, BASE62)]))
        if fmt == "stripe-restricted":
            return lit("_".join(["rk", "live", s(24, BASE62)]))
        if fmt == "stripe-webhook":
            return lit("whsec_" + s(32, BASE62))
        if fmt in ("github-ghp", "github-gho", "github-ghs"):
            return lit(fmt[-3:] + "_" + s(36, BASE62))
        if fmt == "github-pat":
            return lit("_".join(["github", "pat", s(22, BASE62), s(59, BASE62)]))
        if fmt == "slack-bot":
            return lit("xoxb-%s-%s-%s" % (s(12, DIGITS), s(13, DIGITS), s(24, BASE62)))
        if fmt == "slack-user":
            return lit("xoxp-%s-%s-%s-%s" % (s(12, DIGITS), s(12, DIGITS), s(13, DIGITS), s(32, HEX)))
        if fmt == "slack-webhook":
            return lit("https://hooks.slack.com/services/T%s/B%s/%s" % (s(8, UPPER), s(10, UPPER), s(24, BASE62)))
        if fmt == "aws-akia":
            return lit("AKIA" + s(16, UPPER))
        if fmt == "aws-asia":
            return lit("ASIA" + s(16, UPPER))
        if fmt == "aws-secret":
            v = s(40, B64)
            return v, "aws_secret_access_key = %s" % v
        if fmt == "google":
            return lit("AIza" + s(35, B64URL))
        if fmt == "sendgrid":
            return lit("SG.%s.%s" % (s(22, B64URL), s(43, B64URL)))
        if fmt == "twilio-sk":
            return lit("SK" + s(32, HEX))
        if fmt == "twilio-ac-token":
            v = s(32, HEX)
            return v, 'client = Client("AC%s", "%s")' % (s(32, HEX), v)
        if fmt == "shopify-shpat":
            return lit("shpat_" + s(32, HEX))
        if fmt == "shopify-shpss":
            return lit("shpss_" + s(32, HEX))
        if fmt == "telegram":
            return lit("%s:AA%s" % (s(10, "123456789"), s(33, B64URL)))
        if fmt == "pem":
            # shaped like an RSA-2048 key (PKCS#1: "MIIE…", 25 lines of 64), as secretlint checks
            body = ["MIIEowIBAAKCAQEA" + s(48, B64)] + [s(64, B64) for _ in range(23)] + [s(24, B64)]
            return body[0], "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----" % "\n".join(body)
        if fmt == "jwt":
            v = "%s.%s.%s" % (
                b64url('{"alg":"HS256","typ":"JWT"}'),
                b64url('{"sub":"%s","iat":%d}' % (s(12, HEX), 1700000000 + self.r.randrange(10**6))),
                s(43, B64URL),
            )
            return lit(v)
        if fmt == "generic":
            v = s(32, BASE62)
            return v, "%s_SERVICE_TOKEN=%s" % (s(5, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), v)
        raise ValueError(fmt)

    def noise(self, kind):
        """A line of ordinary project text: code, config, docs, lockfile lines with hashes and ids."""
        s, r = self.s, self.r
        word = lambda: r.choice(["user", "order", "invoice", "cart", "item", "price", "session", "event", "retry", "limit", "page", "cursor"])
        if kind == "py":
            return r.choice([
                "def %s_%s(self, %s):" % (word(), word(), word()),
                "    return self.%s.get(%r, %d)" % (word(), word(), r.randrange(100)),
                "    token = self.client.fetch_token()",
                "    %s = os.environ[%r]" % (word(), "%s_API_KEY" % word().upper()),
                "    logger.info(%r, %s)" % ("handled %s %%s" % word(), word()),
                "    # TODO: handle the %s %s case" % (word(), word()),
                "    request_id = %r" % "-".join([s(8, HEX), s(4, HEX), s(4, HEX), s(4, HEX), s(12, HEX)]),
                "    digest = %r" % s(64, HEX),
            ])
        if kind == "js":
            return r.choice([
                "export const %s%s = async (%s) => api.get(`/%s/${%s}`);" % (word(), word().title(), word(), word(), word()),
                "  const token = process.env.%s_TOKEN;" % word().upper(),
                "  if (!%s) throw new Error('%s missing');" % (word(), word()),
                "  const etag = '%s';" % s(40, HEX),
                "  cache.set('%s', { ttl: %d });" % (word(), r.randrange(60, 3600)),
            ])
        if kind == "yaml":
            return r.choice([
                "%s_timeout_ms: %d" % (word(), r.randrange(100, 9000)),
                "%s_url: https://%s.internal.example/%s" % (word(), word(), word()),
                "api_key: ${%s_API_KEY}" % word().upper(),
                "commit: %s" % s(40, HEX),
                "image: registry.example/%s@sha256:%s" % (word(), s(64, HEX)),
            ])
        if kind == "lock":
            return '    "node_modules/%s-%s": {"version": "%d.%d.%d", "integrity": "sha512-%s=="},' % (
                word(), s(6, "abcdefghijklmnopqrstuvwxyz"), r.randrange(9), r.randrange(30), r.randrange(30), s(86, B64))
        if kind == "md":
            return r.choice([
                "The %s endpoint pages with a cursor; see %s." % (word(), word()),
                "Set `STRIPE_SECRET_KEY` to your key (it starts with `sk_live_`), never commit it.",
                "Example: `curl -H 'Authorization: Bearer $TOKEN' https://api.example/%s`" % word(),
                "Build %s (%s)" % (s(7, HEX), word()),
            ])
        if kind == "near":
            # look like secrets and are not: test keys, placeholders, documented samples, low entropy
            return r.choice([
                "STRIPE_TEST_KEY=" + "_".join(["sk", "test", s(24, BASE62)]),
                "publishable = %r" % "_".join(["pk", "live", s(24, BASE62)]),
                "placeholder = %r" % "_".join(["sk", "live", "x" * 24]),
                "API_TOKEN=changeme",
                "API_TOKEN=aaaaaaaaaaaaaaaaaaaaaaaa",
                "CLIENT_SECRET=${CLIENT_SECRET}",
                "aws_access_key_id = %r" % "".join(["AKIA", "IOSFODNN7", "EXAMPLE"]),
                "password: hunter2",
                "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
                "webhook_secret = os.environ['WEBHOOK_SECRET']",
            ])
        if kind == "fixture":
            # random values under secret-like names in test fixtures: every tool may flag them
            return r.choice([
                '  "next_page_token": "%s",' % s(40, B64URL),
                '  "access_token": "%s",' % s(32, BASE62),
            ])
        raise ValueError(kind)


FORMATS = [
    "stripe-live", "stripe-restricted", "stripe-webhook", "github-ghp", "github-gho", "github-ghs", "github-pat",
    "slack-bot", "slack-user", "slack-webhook", "aws-akia", "aws-asia", "aws-secret", "google", "sendgrid",
    "twilio-sk", "twilio-ac-token", "shopify-shpat", "shopify-shpss", "telegram", "pem", "jwt", "generic",
]
KIND_OF = {".py": "py", ".js": "js", ".yaml": "yaml", ".md": "md", ".json": "lock", ".txt": "near"}


def generate(repo, commits, per_format, seed):
    """Write the repository with git fast-import; return the planted set (value, format, how)."""
    g = Gen(seed)
    r = g.r
    files = {}
    for i in range(40):
        files["src/%s_%d.py" % (r.choice(["orders", "billing", "users", "sync"]), i)] = [g.noise("py") for _ in range(30)]
    for i in range(25):
        files["web/%s_%d.js" % (r.choice(["cart", "checkout", "admin"]), i)] = [g.noise("js") for _ in range(25)]
    for i in range(10):
        files["config/%s_%d.yaml" % (r.choice(["deploy", "service"]), i)] = [g.noise("yaml") for _ in range(15)]
    for i in range(10):
        files["docs/%s_%d.md" % (r.choice(["guide", "adr"]), i)] = [g.noise("md") for _ in range(20)]
    files["package-lock.json"] = [g.noise("lock") for _ in range(300)]
    files["docs/examples.txt"] = [g.noise("near") for _ in range(40)]
    for i in range(5):
        files["tests/fixtures/page_%d.json" % i] = ["{"] + [g.noise("fixture") for _ in range(2)] + ['  "data": []', "}"]
    files["integrations/shop/spec.yaml"] = SPEC.splitlines()
    planted = []
    # what happens at each commit of main: a list of (format, how) events; a removal due after
    # the last commit does not happen (the secret stays), never one due at the same commit
    events = {}
    for fmt in FORMATS:
        for _ in range(per_format):
            how = r.choices(["kept", "deleted-file", "edited-away", "dotenv", "branch"], [40, 25, 15, 10, 10])[0]
            events.setdefault(r.randrange(1, commits), []).append((fmt, how))
    declared_at = r.randrange(1, commits)
    removals = {}
    out = []
    mark = [0]

    def data(text):
        b = text.encode()
        out.append(b"data %d\n" % len(b))
        out.append(b + b"\n")

    def commit(ref, message, changes, parent=None):
        mark[0] += 1
        out.append(b"commit %s\nmark :%d\n" % (ref.encode(), mark[0]))
        out.append(b"committer Bench <bench@example.invalid> %d +0000\n" % (1600000000 + mark[0] * 60))
        data(message)
        if parent:
            out.append(b"from :%d\n" % parent)
        for path, content in changes:
            if content is None:
                out.append(b"D %s\n" % path.encode())
            else:
                out.append(b"M 100644 inline %s\n" % path.encode())
                data("\n".join(content) + "\n")
        return mark[0]

    head = commit("refs/heads/main", "start", sorted(files.items()))
    branches = 0
    for n in range(1, commits):
        changes = {}
        editable = sorted(p for p in files if os.path.splitext(p)[1] in KIND_OF and not p.startswith(("integrations/", "tests/", "tmp/")))
        for path in r.sample(editable, r.randint(1, 3)):
            lines = files[path]
            kind = KIND_OF[os.path.splitext(path)[1]]
            if r.random() < 0.5 or len(lines) < 5:
                lines.append(g.noise(kind))
            else:
                i = r.randrange(len(lines))
                if not getattr(lines[i], "planted", False):
                    lines[i] = g.noise(kind)
            changes[path] = lines
        if n % 53 == 0:
            path = "src/generated_%d.py" % n
            files[path] = [g.noise("py") for _ in range(20)]
            changes[path] = files[path]
        branch_changes = []
        for fmt, how in events.get(n, []):
            value, text = g.secret(fmt)
            planted.append({"value": value, "format": fmt, "how": how})
            if how == "kept" or how == "edited-away":
                path = r.choice(sorted(p for p in files if p.endswith((".py", ".yaml", ".js")) and not p.startswith("tmp/")))
                line = Planted(text)
                files[path].append(line)
                changes[path] = files[path]
                if how == "edited-away":
                    removals.setdefault(n + r.randint(1, 40), []).append((path, line, len(planted) - 1))
            elif how == "deleted-file":
                path = "tmp/debug_%d_%d.py" % (n, len(planted))
                files[path] = [g.noise("py"), Planted(text), g.noise("py")]
                changes[path] = files[path]
                removals.setdefault(n + r.randint(1, 40), []).append((path, None, len(planted) - 1))
            elif how == "dotenv":
                path = ".env" if ".env" not in files else "deploy/.env.%d" % n
                files[path] = ["DEBUG=1", Planted(text)]
                changes[path] = files[path]
                removals.setdefault(n + r.randint(1, 10), []).append((path, None, len(planted) - 1))
            else:
                branch_changes.append(("notes/%s_%d.md" % (fmt, len(planted)), ["# scratch", "", text]))
        if n == declared_at:
            # the declared variable's value, in no format any detector knows
            value = g.s(30, BASE62)
            planted.append({"value": value, "format": "declared", "how": "kept"})
            files["docs/setup_notes.md"] = ["# setup", "", "shop key for staging: %s" % value]
            changes["docs/setup_notes.md"] = files["docs/setup_notes.md"]
        for path, line, _ in removals.pop(n, []):
            if path not in files:
                continue
            if line is None:
                del files[path]
                changes[path] = None
            else:
                files[path] = [l for l in files[path] if l is not line]
                changes[path] = files[path]
        if not changes:
            continue
        head = commit("refs/heads/main", "change %d" % n, [(p, list(c) if c is not None else None) for p, c in sorted(changes.items())])
        if branch_changes:
            branches += 1
            commit("refs/heads/feature/%d" % branches, "wip", branch_changes, parent=head)
    for due in removals.values():
        for _, _, i in due:
            planted[i]["how"] = "kept"  # its removal fell after the last commit
    if os.path.exists(repo):
        shutil.rmtree(repo)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(out), cwd=repo, check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True)
    subprocess.run(["git", "gc", "-q", "--aggressive"], cwd=repo, check=True)
    return planted, branches


class Planted(str):
    """A planted line: random edits leave it alone."""
    planted = True


SPEC = """name: Shop
overview:
  direction: outbound
  auth: {kind: api_key, prefix: "Bearer "}
  base_url: https://api.shop.example/v1
endpoints:
  - id: get_thing
    method: GET
    path: /things
    purpose: Read things
    response:
      example: {id: t1}
error_handling:
  - {status: 5xx, meaning: Server error, action: retry_with_backoff}
retry: {max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1000}
timeouts: {request_ms: 1000}
secrets:
  - {name: API key, storage: vault, rotation: Yearly, env: SHOP_API_KEY}"""


def git_out(repo, *args, **kw):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, **kw).stdout


def export(repo, dest):
    """Every distinct blob of every commit of every ref, once, at dest/<first commit>/<path>."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    listing = git_out(repo, "log", "--all", "--reverse", "--topo-order", "--root", "--format=C %H", "--raw", "--no-abbrev", "--no-renames").decode()
    seen, todo, commit = set(), [], None
    for line in listing.splitlines():
        if line.startswith("C "):
            commit = line[2:]
        elif line.startswith(":"):
            meta, path = line.split("\t", 1)
            blob, status = meta.split()[3], meta.split()[4]
            if status != "D" and blob not in seen:
                seen.add(blob)
                todo.append((blob, commit, path))
    # the requests from a file, so git's answers never wait on ours (a pipe both ways deadlocks)
    requests = dest + ".requests"
    with open(requests, "w") as fh:
        fh.write("".join("%s\n" % b for b, _, _ in todo))
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=repo, stdin=open(requests, "rb"), stdout=subprocess.PIPE)
    files = []
    for blob, commit, path in todo:
        header = proc.stdout.readline().split()
        size = int(header[2])
        body = proc.stdout.read(size)
        proc.stdout.read(1)
        f = os.path.join(dest, commit[:12], path)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        with open(f, "wb") as fh:
            fh.write(body)
        files.append(f)
    proc.wait()
    os.remove(requests)
    return files, sum(os.path.getsize(f) for f in files)


def timed(cmd, **kw):
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, **kw)
    return time.monotonic() - start, p


def line_at(lines, n):
    return lines[n - 1] if 1 <= n <= len(lines) else ""


def window(lines, n):
    """The text a flagged 1-based line `n` stands for: the line, and for a PEM header the key under it."""
    if not 1 <= n <= len(lines):
        return ""
    line = lines[n - 1]
    if "PRIVATE KEY" in line:
        return "\n".join(lines[n - 1:n + 3])
    return line


class Tally:
    def __init__(self, planted):
        self.planted = planted
        self.found = set()
        self.false = set()

    def flag(self, text, line):
        hits = [i for i, p in enumerate(self.planted) if p["value"] in text]
        if hits:
            self.found.update(hits)
        else:
            self.false.add(line.strip())


def lines_of(path, cache={}):
    if path not in cache:
        with open(path, "rb") as fh:
            cache[path] = fh.read().decode("utf-8", "replace").split("\n")
    return cache[path]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--python", required=True, help="detect-secrets' install (pip --target)")
    ap.add_argument("--secretlint", required=True, help="the directory with node_modules/.bin/secretlint")
    ap.add_argument("--commits", type=int, default=3000)
    ap.add_argument("--per-format", type=int, default=3)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--show-false", type=int, default=0, metavar="N", help="print up to N false-positive lines of each tool")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    repo = os.path.join(a.work, "repo")
    t, (planted, branches) = time.monotonic(), generate(repo, a.commits, a.per_format, a.seed)
    made = time.monotonic() - t
    declared = [p for p in planted if p["format"] == "declared"]
    commits = int(git_out(repo, "rev-list", "--all", "--count"))
    t = time.monotonic()
    files, size = export(repo, os.path.join(a.work, "export"))
    exported = time.monotonic() - t
    print("secrets bench: %d commits (%d on unmerged branches), %d distinct blobs (%.1f MB), %d secrets planted in %d formats "
          "(kept %d, file deleted later %d, line edited away %d, .env committed then removed %d, unmerged branch %d) "
          "and 1 declared value; generated in %.1f s, every blob exported for the other tools in %.1f s (not charged to them)" % (
              commits, branches, len(files), size / 1e6, len(planted) - len(declared), len(FORMATS),
              *[sum(1 for p in planted if p["how"] == h and p["format"] != "declared") for h in ["kept", "deleted-file", "edited-away", "dotenv", "branch"]],
              made, exported))
    comparable = [p for p in planted if p["format"] != "declared"]
    results = {}

    # oc-integrate: the repository's history itself (and its working tree)
    env = dict(os.environ, **{DECLARED_ENV: declared[0]["value"]}, NO_COLOR="1", OC_CHECKPOINT=os.path.join(a.work, "checkpoint.json"))
    wall, p = timed([a.bin, "secrets", os.path.join(repo, "integrations"), "--json"], env=env)
    if p.returncode not in (0, 1):
        sys.exit("oc-integrate secrets failed (%d): %s" % (p.returncode, p.stderr.decode()[-2000:]))
    tally = Tally(planted)
    batch, refs = [], []
    for f in json.loads(p.stdout)["scan"]["findings"]:
        if f["in_worktree"]:
            lines = lines_of(os.path.join(repo, f["path"]))
            tally.flag(window(lines, f["line"]), line_at(lines, f["line"]))
        else:
            refs.append(f)
    if refs:
        blobs = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, check=True, capture_output=True,
                               input="".join("%s:%s\n" % (f["commit"], f["path"]) for f in refs).encode()).stdout
        at = 0
        for f in refs:
            nl = blobs.index(b"\n", at)
            size = int(blobs[at:nl].split()[2])
            lines = blobs[nl + 1:nl + 1 + size].decode("utf-8", "replace").split("\n")
            at = nl + 1 + size + 1
            tally.flag(window(lines, f["line"]), line_at(lines, f["line"]))
    results["oc-integrate"] = (wall, tally)

    # detect-secrets: every blob, all plugins and filters as shipped
    wall, p = timed([sys.executable, "-m", "detect_secrets", "scan", "--all-files", *files],
                    env=dict(os.environ, PYTHONPATH=a.python))
    if p.returncode != 0:
        sys.exit("detect-secrets failed (%d): %s" % (p.returncode, p.stderr.decode()[-2000:]))
    tally = Tally(planted)
    for path, found in json.loads(p.stdout)["results"].items():
        lines = lines_of(path if os.path.isabs(path) else os.path.join(os.getcwd(), path))
        for s in found:
            tally.flag(window(lines, s["line_number"]), line_at(lines, s["line_number"]))
    results["detect-secrets"] = (wall, tally)

    # secretlint: the same files, its recommended preset, every path taken literally
    rc = os.path.join(a.work, "secretlintrc.json")
    with open(rc, "w") as fh:
        json.dump({"rules": [{"id": "@secretlint/secretlint-rule-preset-recommend"}]}, fh)
    wall, p = timed([os.path.join(a.secretlint, "node_modules/.bin/secretlint"), "--secretlintrc", rc, "--format", "json",
                     "--no-glob", "--no-gitignore", "--no-color", *files], cwd=a.secretlint)
    if p.returncode not in (0, 1):
        sys.exit("secretlint failed (%d): %s" % (p.returncode, p.stderr.decode()[-2000:]))
    tally = Tally(planted)
    for entry in json.loads(p.stdout):
        lines = lines_of(entry["filePath"])
        for m in entry["messages"]:
            n = m["loc"]["start"]["line"]
            tally.flag(window(lines, n), line_at(lines, n))
    results["secretlint"] = (wall, tally)

    ours_wall, ours = results["oc-integrate"]
    n = len(comparable)
    idx = {id(p): i for i, p in enumerate(planted)}
    comp = {idx[id(p)] for p in comparable}
    print()
    print("%-15s %-16s %-16s %-10s %-24s" % ("tool", "recall", "false positives", "wall", "wall / oc-integrate's"))
    for tool, (wall, t) in results.items():
        got = len(t.found & comp)
        print("%-15s %-16s %-16d %-10s %-24s" % (tool, "%d/%d (%.1f%%)" % (got, n, 100 * got / n), len(t.false), "%.2f s" % wall, "%.1fx" % (wall / ours_wall)))
    print()
    for tool, (wall, t) in results.items():
        if tool == "oc-integrate":
            continue
        got = len(t.found & comp)
        ours_got = len(ours.found & comp)
        fp = "%.3fx" % (len(ours.false) / len(t.false)) if t.false else "n/a (it flagged none)"
        print("oc-integrate against %s: recall %.2fx, false positives %s, wall time %.3fx (%.1fx faster)" % (
            tool, ours_got / got if got else float("inf"), fp, ours_wall / wall, wall / ours_wall))
    print("declared value ($%s, in no known format): oc-integrate %s; the other tools have no notion of it" % (
        DECLARED_ENV, "found" if idx[id(declared[0])] in ours.found else "MISSED"))
    for tool, (_, t) in results.items():
        missed = {}
        for i in sorted(comp - t.found):
            missed[planted[i]["format"]] = missed.get(planted[i]["format"], 0) + 1
        print("%s missed: %s" % (tool, ", ".join("%s x%d" % kv for kv in sorted(missed.items())) or "none"))
    for tool, (_, t) in results.items():
        kinds = {}
        for line in t.false:
            k = ("lockfile integrity" if "integrity" in line else "hex digest/id" if any(c in line for c in ("digest", "etag", "commit:", "sha256", "request_id", "Build ")) else
                 "fixture token" if line.startswith('"') and "token" in line else "near-miss" if any(c in line for c in ("sk_test", "pk_live", "EXAMPLE", "changeme", "aaaa", "xxxx", "hunter2", "${", "environ")) else "other")
            kinds[k] = kinds.get(k, 0) + 1
        print("%s false positives by kind: %s" % (tool, ", ".join("%s %d" % kv for kv in sorted(kinds.items())) or "none"))
        for line in sorted(t.false)[:a.show_false]:
            print("    %s" % line[:160])


if __name__ == "__main__":
    main()
