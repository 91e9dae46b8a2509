#!/usr/bin/env bash
# Sets up what is missing and runs every check and test: formatting, lints, the front end's type
# check, Rust unit and integration tests (real SQLite files, real HTTP, kill -9), the OpenAPI
# document (validated, and schemathesis against the API), browser tests (Debian's Chromium
# driven by Playwright), the desktop window (tauri-driver under Xvfb), the Windows build and its
# installer under Wine (scripts/windows.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_system
ensure_ui
cd "$ROOT"

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== layers (a crate uses only the crates below it)"
python3 scripts/layers.py
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
# The serial and microphone tests need socat, PulseAudio, espeak-ng, sox and opus-tools, which
# ensure_system installed: a missing one is a failure here, not a quiet skip.
OTKLIK_REQUIRE_SOCAT=1 OTKLIK_REQUIRE_AUDIO=1 cargo test --workspace --locked
cargo build -p otklik --locked
echo "== UI types (ui/src/gen/ against the OpenAPI document otklik serves; its fields in real responses)"
"$ROOT/scripts/ui-types.sh" --check "$ROOT/target/debug/otklik"
echo "== OpenAPI (the document validated, then schemathesis against otklik serve: no 5xx)"
"$ROOT/tests/openapi/run.sh" "$ROOT/target/debug/otklik"
echo "== browser tests"
"$ROOT/tests/browser/run.sh" "$ROOT/target/debug/otklik"
echo "== desktop test (the Tauri window through tauri-driver under Xvfb)"
"$ROOT/tests/desktop/run.sh" "$ROOT/target/debug/otklik"
echo "== package test (the .deb from the Tauri CLI: installed, run headless, its tray driven)"
"$ROOT/tests/package/run.sh"
echo "== Windows (otklik.exe and its installer built for x86_64-pc-windows-gnu, tested under Wine)"
"$ROOT/scripts/windows.sh"
echo "== all tests passed"
