#!/usr/bin/env bash
# Makes the README's sample Telegram messages in docs/notify/: the ignored test
# samples::write_notify_samples runs the engine against the fake Bot API and writes what it
# received (alert photo and caption, report chart and text), then tests/browser/render-samples.mjs
# draws them as a group chat (alert.png, report.png) with Debian's Chromium. About 2–3 minutes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_system
ensure_ui   # the engine embeds ui/dist

# The chat's emoji and the phone's font; without them the pictures show empty boxes.
fonts=(fonts-noto-color-emoji fonts-roboto-unhinted)
missing=()
for p in "${fonts[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing fonts: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cd "$ROOT"
mkdir -p docs/notify
cargo test -p otklik --test api --locked -- --ignored --exact samples::write_notify_samples --nocapture

browser="$ROOT/tests/browser"
if [ ! -d "$browser/node_modules" ] || [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
  npm --prefix "$browser" install --no-audit --no-fund  # not `ci`: see scripts/lib.sh
fi
cd "$browser" && CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node render-samples.mjs
ls -l "$ROOT/docs/notify"
