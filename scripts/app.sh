#!/usr/bin/env bash
# Sets up what is missing, builds, and opens Otklik. Arguments go to otklik:
#   scripts/app.sh                                      the desktop app
#   scripts/app.sh serve --listen 0.0.0.0:8787          headless, screens open to the LAN
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_system
ensure_ui
cd "$ROOT"
cargo build --release -p otklik
exec "$ROOT/target/release/otklik" "$@"
