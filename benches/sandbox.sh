#!/usr/bin/env bash
# The payments example's sandbox trials against localstripe, RUNS times (default 5): the
# suite's wall time (libtest's "finished in") beside the sum of its requests' sandbox
# latencies, and the recording proxy's overhead per client request (time in the proxy
# besides the sandbox's round trip and the throttle's wait), from the trials' recordings.
# Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
localstripe=$(sandboxes/localstripe/start)  # an assignment, so a failed start stops the script
eval "$localstripe"
trap 'kill "$LOCALSTRIPE_PID" 2>/dev/null || true' EXIT
export PAYMENTS_API_KEY=sk_test_oc_integrate_bench OC_REQUIRE_SANDBOX=1
cargo test --quiet --test examples --no-run 2>/dev/null
recordings="${CARGO_TARGET_DIR:-target}/oc-integrate/recordings"
for i in $(seq 1 "$runs"); do
  wall=$(cargo test --quiet --test examples -- sandbox 2>&1 | sed -n 's/.*finished in \([0-9.]*\)s.*/\1/p')
  python3 - "$recordings" "$wall" "$i" <<'PY'
import glob, json, statistics, sys
rows = [x for f in glob.glob(sys.argv[1] + "/payments.sandbox.*.json") for x in json.load(open(f)) if x["status"] is not None]
latency = sum(x["latency_ms"] for x in rows)
over = sorted(x["proxy_overhead_ms"] for x in rows if x["by"] == "client")
print(f"run {sys.argv[3]}: wall {float(sys.argv[2]) * 1000:.0f} ms; {len(rows)} requests, sum of sandbox latencies {latency:.0f} ms; "
      f"proxy overhead per client request: median {statistics.median(over):.2f} ms, max {over[-1]:.2f} ms (n={len(over)})")
PY
done
