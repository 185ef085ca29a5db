#!/usr/bin/env bash
# An example's sandbox trials, RUNS times (default 5): `payments` against localstripe (the
# default) or `tracker` against Prism serving GitHub's description with oidc-provider. For
# each run: the suite's wall time (libtest's "finished in") beside the sum of its requests'
# sandbox latencies, and the recording proxy's overhead per client request (time in the
# proxy besides the sandbox's round trip and the throttle's wait), from the trials'
# recordings. Prints figures; asserts nothing.
#   benches/sandbox.sh [RUNS] [payments|tracker]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
service=${2:-payments}
case "$service" in
  payments)
    vars=$(sandboxes/localstripe/start)  # an assignment, so a failed start stops the script
    eval "$vars"
    trap 'kill "$LOCALSTRIPE_PID" 2>/dev/null || true' EXIT
    export PAYMENTS_API_KEY=sk_test_oc_integrate_bench
    ;;
  tracker)
    vars=$(sandboxes/tracker/start)
    eval "$vars"
    trap 'kill "$OIDC_PID" "$PRISM_PID" 2>/dev/null || true' EXIT
    ;;
  *) echo "expected payments or tracker, found $service" >&2; exit 2 ;;
esac
export OC_REQUIRE_SANDBOX=1
cargo test --quiet --test examples --no-run 2>/dev/null
recordings="${CARGO_TARGET_DIR:-target}/oc-integrate/recordings"
for i in $(seq 1 "$runs"); do
  # refresh tokens rotate: a fresh login per run
  if [ "$service" = tracker ] && [ "$i" -gt 1 ]; then eval "$(sandboxes/tracker/login)"; fi
  wall=$(cargo test --quiet --test examples -- "$service::sandbox" 2>&1 | sed -n 's/.*finished in \([0-9.]*\)s.*/\1/p')
  python3 - "$recordings" "$wall" "$i" "$service" <<'PY'
import glob, json, statistics, sys
rows = [x for f in glob.glob(f"{sys.argv[1]}/{sys.argv[4]}.sandbox.*.json") for x in json.load(open(f)) if x["status"] is not None]
latency = sum(x["latency_ms"] for x in rows)
over = sorted(x["proxy_overhead_ms"] for x in rows if x["by"] == "client")
gated = sum(1 for x in rows if x.get("token_gate"))
print(f"run {sys.argv[3]}: wall {float(sys.argv[2]) * 1000:.0f} ms; {len(rows)} requests ({gated} answered by the token gate), "
      f"sum of sandbox latencies {latency:.0f} ms; "
      f"proxy overhead per client request: median {statistics.median(over):.2f} ms, max {over[-1]:.2f} ms (n={len(over)})")
PY
done
