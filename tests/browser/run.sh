#!/usr/bin/env bash
# Browser tests: Debian's Chromium driven by playwright-core against `otklik serve`.
# Usage: tests/browser/run.sh path/to/otklik
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export OTKLIK_BIN="$(realpath "${1:?path to the otklik binary}")"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  npm --prefix "$here" install --no-audit --no-fund  # not `ci`: see scripts/lib.sh
fi
mkdir -p "$here/output"
cd "$here" && node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
