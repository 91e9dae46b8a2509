#!/usr/bin/env bash
# How long the debug build of `otklik` takes after a one-line change in the ranking code (the
# body of `wilson_lower`), the edit-build loop of an engineer on this 2-core machine. Prints the
# seconds and which crates were compiled again; the file is restored and rebuilt afterwards.
# Usage: scripts/rebuild-time.sh [file holding wilson_lower]
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-crates/store/src/leaderboard.rs}
grep -q 'pub fn wilson_lower(top: u64, n: u64) -> f64 {' "$file" || {
  echo "no wilson_lower in $file" >&2
  exit 2
}
cargo build -p otklik --locked -q
saved=$(mktemp)
cp "$file" "$saved"
trap 'cp "$saved" "$file"; rm -f "$saved"' EXIT
sed -i 's/pub fn wilson_lower(top: u64, n: u64) -> f64 {/&\n    std::hint::black_box(());/' "$file"
start=$(date +%s.%N)
log=$(cargo build -p otklik --locked 2>&1)
end=$(date +%s.%N)
crates=$(grep -o 'Compiling [a-z_-]*' <<<"$log" | cut -d' ' -f2 | tr '\n' ' ')
printf 'rebuild after a change in %s: %.1f s, compiled again: %s\n' "$file" "$(awk "BEGIN{print $end - $start}")" "$crates"
cp "$saved" "$file"
cargo build -p otklik --locked -q
