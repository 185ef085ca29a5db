#!/usr/bin/env bash
# Loading and listing a spec of ENDPOINTS endpoints (default 5,000): the payments example with
# ENDPOINTS - 3 more GET endpoints appended, each with its own inline response schema, so
# nothing is shared. Times `oc-integrate check` (load, validate, compile every schema) and
# `oc-integrate cases --names` (load and list every case) on it and on one a tenth its size,
# as wall and CPU time and peak memory, and the ratio of their CPU time per endpoint (1x:
# the cost grows with the endpoints, no faster). Asserts nothing.
#   benches/load.sh [ENDPOINTS]   release build
#   benches/load.sh --smoke       100 endpoints, debug build (CI: the bench still runs)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --smoke ]; then
  cargo build --quiet --bin oc-integrate
  bin=${CARGO_TARGET_DIR:-target}/debug/oc-integrate
  endpoints=100
else
  cargo build --release --quiet --bin oc-integrate
  bin=${CARGO_TARGET_DIR:-target}/release/oc-integrate
  endpoints=${1:-5000}
fi
[ "$endpoints" -ge 4 ] || { echo "expected at least 4 endpoints, found $endpoints" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# grow DIR's copy of the payments example to N endpoints
grow() {
  mkdir -p "$1"
  cp -r examples/integrations/payments "$1/payments"
  rm -f "$1"/payments/*.md
  python3 - "$1/payments/spec.yaml" "$2" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
text = open(path).read()
extra = []
for i in range(n - 3):
    extra.append(f"""  - id: get_thing_{i}
    method: GET
    path: /things_{i}/{{id}}
    purpose: Read thing {i}
    request:
      example:
        params: {{id: t1}}
    response:
      example: {{id: t1, size: 3, f{i}: x}}
      schema: {{type: object, required: [id, size], properties: {{id: {{type: string}}, size: {{type: integer}}, f{i}: {{type: string}}}}}}
""")
head, tail = text.split("endpoints:\n", 1)
open(path, "w").write(head + "endpoints:\n" + "".join(extra) + tail)
PY
}
small=$(( endpoints / 10 > 3 ? endpoints / 10 : 4 ))
grow "$work/small" "$small"
grow "$work/big" "$endpoints"
size=$(wc -c < "$work/big/payments/spec.yaml")
echo "spec: $endpoints endpoints, $((size / 1024)) KiB" >&2
for verb in check cases; do
  args=("$verb")
  [ "$verb" = cases ] && args+=(--names)
  read -r sw sc sm < <(python3 benches/measure.py "$bin" "${args[@]}" "$work/small")
  read -r bw bc bm < <(python3 benches/measure.py "$bin" "${args[@]}" "$work/big")
  python3 - "$verb" "$endpoints" "$small" "$sw" "$sc" "$sm" "$bw" "$bc" "$bm" <<'PY'
import sys
verb, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sw, sc, sm, bw, bc, bm = map(float, sys.argv[4:])
print(f"{verb}: {n} endpoints {bw:.2f} s wall, {bc:.2f} s CPU, peak {bm / 1024:.0f} MB; "
      f"{m} endpoints {sw:.3f} s wall, {sc:.3f} s CPU, peak {sm / 1024:.0f} MB; "
      f"CPU per endpoint {1000 * bc / n:.3f} ms, {(bc / n) / (sc / m):.2f}x the smaller spec's")
PY
done
