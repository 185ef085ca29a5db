#!/usr/bin/env bash
# The secret audit's leak scan against detect-secrets (PyPI) and secretlint (npm), side by side
# in one run on one generated repository: thousands of commits (unmerged branches among them),
# secrets of every format the detectors know planted across the history (kept, in files deleted
# later, in lines edited away, in a .env committed then removed, on unmerged branches) and one
# declared value, beside lockfiles, digests, ids, test fixtures and near-misses. Prints recall,
# false positives and wall time, with ratios; asserts nothing (benches/README.md).
#
# Neither detect-secrets nor secretlint reads git history: both are given every distinct blob of
# every commit of every ref, written once as a file (the same list for both; writing it is timed
# apart and not charged to them); oc-integrate reads the repository's history itself, through gix.
#   benches/secrets.sh           3,000 commits, 3 secrets of each format, release build
#   benches/secrets.sh --smoke   60 commits, 1 of each format, debug build (CI: the bench still runs)
# Further arguments go to benches/secrets/bench.py (--commits N, --seed N, --show-false N).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=benches/secrets
# the pinned tools: detect-secrets into benches/secrets/.python, secretlint from the lockfile
if [ ! -d "$tools/.python" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/.python-$$" -r "$tools/requirements.txt"
  mv "$tools/.python-$$" "$tools/.python"
fi
[ -f "$tools/node_modules/.package-lock.json" ] || (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
target=${CARGO_TARGET_DIR:-target}
if [ "${1:-}" = --smoke ]; then
  shift
  cargo build --quiet --bin oc-integrate
  bin=$target/debug/oc-integrate
  size=(--commits 60 --per-format 1)
else
  cargo build --release --quiet --bin oc-integrate
  bin=$target/release/oc-integrate
  size=(--commits 3000 --per-format 3)
fi
work=$(cd "$target" && pwd)/secrets-bench
mkdir -p "$work"
python3 "$tools/bench.py" --work "$work" --bin "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" \
  --python "$(cd "$tools" && pwd)/.python" --secretlint "$(cd "$tools" && pwd)" "${size[@]}" "$@"
