#!/usr/bin/env bash
# Desktop smoke test: the real `otklik` window under Xvfb, driven over WebDriver (tauri-driver in
# front of WebKitWebDriver) by smoke.mjs. Checks that the main window shows the screens from the
# engine's loopback URL, and that with `kiosk_display` on a second window shows /display on the
# chosen monitor. Screenshots go to tests/desktop/output/.
# Usage: tests/desktop/run.sh path/to/otklik
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
die() {
  echo "desktop test FAILED: $*" >&2
  exit 1
}
[ $# -eq 1 ] || {
  echo "usage: $0 path/to/otklik" >&2
  exit 2
}
[ -x "$1" ] || die "$1 is not an executable (build it with: cargo build -p otklik --locked)"
app=$(realpath "$1")

# Tools: Debian packages through the shared installer, tauri-driver through cargo.
for tool in WebKitWebDriver Xvfb dbus-daemon openbox wmctrl curl; do
  command -v "$tool" >/dev/null || {
    "$root/scripts/system-deps.sh"
    break
  }
done
export PATH="$HOME/.cargo/bin:$PATH"
command -v tauri-driver >/dev/null || cargo install tauri-driver --locked

out="$here/output"
mkdir -p "$out"
rm -f "$out"/*.png
tmp=$(mktemp -d)
# Process groups to end at exit (each started with setsid; the app is tauri-driver's grandchild).
groups=()
cleanup() {
  local g
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  for g in "${groups[@]}"; do wait "$g" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# started WHAT FILE LOG: waits up to 10 s for WHAT to write FILE, else fails showing LOG.
started() {
  for _ in $(seq 100); do
    [ -s "$2" ] && return
    sleep 0.1
  done
  die "$1 did not start: $(cat "$3")"
}

# stop GROUP: ends a process group started here and waits for its leader.
stop() {
  kill -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# A D-Bus session bus of our own, as dbus-run-session gives, but ended by this script's trap even
# when it is killed: the single-instance plugin would otherwise hand the test's start over to an
# Otklik already running on this desktop and exit.
setsid dbus-daemon --session --nofork --print-address=3 3>"$tmp/bus" >"$tmp/bus.log" 2>&1 &
groups+=($!)
started dbus-daemon "$tmp/bus" "$tmp/bus.log"
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/bus")
export DBUS_SESSION_BUS_ADDRESS

# One 1280x800 monitor and a window manager (full screen and closing a window need one).
screen=1280x800
setsid Xvfb -displayfd 3 -screen 0 "${screen}x24" -nolisten tcp 3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
groups+=($!)
started Xvfb "$tmp/display" "$tmp/xvfb.log"
export DISPLAY=":$(head -n1 "$tmp/display")"
setsid openbox --sm-disable >"$tmp/wm.log" 2>&1 &
groups+=($!)
# The app's window state, WebKit's cache and data: all in the temporary directory.
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/share" XDG_CACHE_HOME="$tmp/cache"

# drive SCENARIO DATA_DIR: tauri-driver starts the app on DATA_DIR and a free port; smoke.mjs checks it.
drive() {
  local scenario=$1 data=$2 port wd_port native_port driver
  port=$(free_port) wd_port=$(free_port) native_port=$(free_port)
  OTKLIK_DATA_DIR=$data OTKLIK_LISTEN=127.0.0.1:$port NO_COLOR=1 \
    setsid tauri-driver --port "$wd_port" --native-port "$native_port" >"$tmp/$scenario.log" 2>&1 &
  driver=$!
  groups+=("$driver")
  if ! WEBDRIVER=http://127.0.0.1:$wd_port OTKLIK_APP=$app ENGINE_URL=http://127.0.0.1:$port \
    OUT_DIR=$out SCREEN=$screen STATE_FILE=$XDG_CONFIG_HOME/app.otklik.desktop/.window-state.json \
    node "$here/smoke.mjs" "$scenario"; then
    echo "--- tauri-driver, WebKitWebDriver and app log ($scenario):" >&2
    tail -n 40 "$tmp/$scenario.log" >&2
    die "$scenario scenario"
  fi
  stop "$driver"
}

echo "desktop: $app on display $DISPLAY"
drive main "$tmp/main"

# Kiosk: switch the display on through the API of `otklik serve` on the same data directory. It asks
# for monitor 2 and Xvfb has one: the display must fall back to monitor 1 and say so.
kiosk_data=$tmp/kiosk
port=$(free_port)
setsid "$app" serve --data-dir "$kiosk_data" --listen "127.0.0.1:$port" >"$tmp/serve.log" 2>&1 &
serve=$!
groups+=("$serve")
for _ in $(seq 100); do
  grep -q "listening on" "$tmp/serve.log" && break
  kill -0 "$serve" 2>/dev/null || die "otklik serve exited: $(cat "$tmp/serve.log")"
  sleep 0.1
done
grep -q "listening on" "$tmp/serve.log" || die "otklik serve did not start: $(cat "$tmp/serve.log")"
token=$("$app" token --data-dir "$kiosk_data")
curl -fsS -X PATCH "http://127.0.0.1:$port/api/v1/settings" \
  -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
  -d '{"kiosk_display": true, "kiosk_monitor": 2}' >/dev/null ||
  die "could not switch the kiosk display on through PATCH /api/v1/settings"
stop "$serve"
drive kiosk "$kiosk_data"
warning=$(grep "kiosk display" "$tmp/kiosk.log") || die "the app did not warn that monitor 2 is missing"
[[ "$warning" == *"wanted=2 used=1"* ]] || die "unexpected kiosk monitor warning: $warning"
echo "ok - kiosk: fell back to the last monitor and warned: ${warning#*WARN }"

echo "desktop: 2 passed, 0 failed"
