#!/usr/bin/env bash
# The workspace's unit tests as Windows programs: runs the cargo test command it is given
# (scripts/windows.sh) in a fresh Wine prefix, each test .exe run by unit-runner.sh.
# Usage: tests/windows/unit.sh cargo test --target x86_64-pc-windows-gnu ...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
  echo "Windows unit tests FAILED: $*" >&2
  exit 1
}
[ $# -gt 0 ] || {
  echo "usage: $0 cargo test ..." >&2
  exit 2
}
source "$here/prefix.sh"
# One server for all the test programs: with each one's server shutting down as the next
# started, the last one exited 1 with nothing said.
server_stays
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$here/unit-runner.sh" "$@"
