#!/usr/bin/env bash
# The desktop app (otklik.exe with no command) under Wine, which has no WebView2 runtime, as a
# Windows PC without it: the engine serves, the screens open in the default browser (Wine's
# winebrowser, pointed at a script recording the pages asked for), a second start brings the
# first forward and exits (the single-instance plugin), `--autostart` opens nothing, and the
# `start_with_system` setting writes and removes the Run value in the registry.
# Usage: tests/windows/desktop.sh path/to/otklik.exe   (bcryptprimitives.dll beside it)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
  echo "Windows desktop test FAILED: $*" >&2
  exit 1
}
[ $# -eq 1 ] || {
  echo "usage: $0 path/to/otklik.exe" >&2
  exit 2
}
exe=$(realpath "$1")
[ -f "$(dirname "$exe")/bcryptprimitives.dll" ] || die "bcryptprimitives.dll is not beside $exe"
command -v Xvfb >/dev/null || die "Xvfb is missing (scripts/system-deps.sh installs xvfb)"
source "$here/prefix.sh"

# A display for the tray icon and the single-instance plugin's message window.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/display" ] && break; sleep 0.05; done
[ -s "$tmp/display" ] || die "Xvfb did not start: $(cat "$tmp/xvfb.log")"
export DISPLAY=":$(head -1 "$tmp/display")"

# The "browser": winebrowser runs the commands listed in this value with the page's address.
opened=$tmp/opened
printf '#!/bin/sh\necho "$1" >>"%s"\n' "$opened" >"$tmp/browser"
chmod +x "$tmp/browser"
touch "$opened"
"$wine" reg add 'HKCU\Software\Wine\WineBrowser' /v Browsers /t REG_SZ /d "$tmp/browser" /f >/dev/null 2>&1 ||
  die "cannot point winebrowser at the recorder"

port=$(free_port)
base="http://127.0.0.1:$port"
data=$tmp/data
export OTKLIK_DATA_DIR="$data" OTKLIK_LISTEN="127.0.0.1:$port"

# Starts the desktop app in the background with the given arguments; sets $pid and $log.
desktop() {
  log=$tmp/desktop-$RANDOM.log
  "$wine" "$exe" "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  local i
  for i in $(seq 1 300); do
    curl -sf "$base/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || die "otklik.exe $* exited: $(cat "$log")"
    sleep 0.1
  done
  die "otklik.exe $* did not serve $base in 30 s: $(cat "$log")"
}
# Waits until the recorder has $1 lines.
opened_count() {
  local i
  for i in $(seq 1 300); do
    [ "$(wc -l <"$opened")" -ge "$1" ] && return 0
    sleep 0.1
  done
  die "the browser was asked for $(wc -l <"$opened") pages, not $1: $(cat "$opened")"
}
# A second start: it must hand over to the running one and exit, serving nothing itself.
second() {
  local out
  out=$(timeout 60 "$wine" "$exe" "$@" 2>&1) || die "a second otklik.exe $* exited $?: $out"
  ! grep -q "Otklik is serving" <<<"$out" || die "a second otklik.exe $* started its own engine: $out"
}
api() {
  local method=$1 path=$2
  shift 2
  curl -sS -f -X "$method" -H "Authorization: Bearer $(cat "$data/api-token")" \
    -H 'Content-Type: application/json' "$@" "$base$path"
}
run_value() {
  "$wine" reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' /v Otklik 2>/dev/null | tr -d '\r' || true
}

desktop
opened_count 1
[ "$(head -1 "$opened")" = "$base/" ] || die "the browser was asked for '$(head -1 "$opened")', not $base/"
grep -q "no WebView2 runtime" "$log" || die "no word of the missing WebView2 in the log: $(cat "$log")"
! grep -q "no tray icon" "$log" || die "no tray icon: $(grep "no tray icon" "$log")"
ok "without WebView2 the desktop app serves $base, says why in its log and opens its screens in the default browser; the tray icon is made"

second
opened_count 2
[ "$(sed -n 2p "$opened")" = "$base/" ] || die "the second start opened '$(sed -n 2p "$opened")'"
ok "a second start hands over to the running app (its screens opened again) and exits"

api PATCH /api/v1/settings -d '{"start_with_system": true}' >/dev/null
value=""
for _ in $(seq 1 100); do
  value=$(run_value)
  grep -qi 'otklik\.exe.* --autostart' <<<"$value" && break
  sleep 0.1
done
grep -qi 'otklik\.exe.* --autostart' <<<"$value" || die "no Run value naming otklik.exe --autostart: '$value'"
# This user's only: not the machine's Run key, which an elevated start could write for everyone.
if "$wine" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Run' /v Otklik >/dev/null 2>&1; then
  die "start with Windows wrote the machine's Run key (every user's), not this user's"
fi
api PATCH /api/v1/settings -d '{"start_with_system": false}' >/dev/null
for _ in $(seq 1 100); do
  value=$(run_value)
  grep -qi 'otklik' <<<"$value" || break
  sleep 0.1
done
! grep -qi 'otklik' <<<"$value" || die "the Run value stayed after start_with_system was turned off: '$value'"
ok "start with Windows: HKCU\\...\\Run\\Otklik (not HKLM) written as \"otklik.exe\" --autostart, and removed when turned off"

# The system's start entry while Otklik runs: nothing to show.
second --autostart
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
# Started by the start entry: the engine serves and no page opens; a later plain start then opens
# exactly one (had --autostart opened one, there would be two).
desktop --autostart
second
opened_count 3
sleep 1
[ "$(wc -l <"$opened")" -eq 3 ] || die "started with --autostart, the app opened pages: $(cat "$opened")"
ok "started with --autostart (or a second time so) it serves and opens no screen"
echo "Windows desktop tests: $passed passed"
