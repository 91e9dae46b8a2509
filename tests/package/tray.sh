#!/usr/bin/env bash
# Tray test: the desktop app ($OTKLIK_APP, e.g. the installed /usr/bin/otklik) under Xvfb with
# openbox and a private D-Bus session, where tray.py plays the desktop's tray (a
# StatusNotifierWatcher) and drives the app through its tray menu. See tray.py for the checks.
# Usage: OTKLIK_APP=/usr/bin/otklik tests/package/tray.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
  echo "tray test FAILED: $*" >&2
  exit 1
}
[ -x "${OTKLIK_APP:-}" ] || die "set OTKLIK_APP to the otklik binary to test"
for tool in Xvfb dbus-daemon openbox wmctrl; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/system-deps.sh installs it)"
done
# Debian's Python with its D-Bus and GLib bindings (not a virtualenv's Python).
python=/usr/bin/python3
if ! "$python" -c 'import dbus, gi' 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing python3-dbus python3-gi for the tray test"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-dbus python3-gi >/dev/null ||
      die "could not install python3-dbus and python3-gi"
  else
    die "the tray test needs Debian's python3-dbus and python3-gi: sudo apt-get install python3-dbus python3-gi"
  fi
fi

tmp=$(mktemp -d)
groups=()
cleanup() {
  local g
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  for g in "${groups[@]}"; do wait "$g" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# started WHAT FILE LOG: waits up to 10 s for WHAT to write FILE, else fails showing LOG.
started() {
  for _ in $(seq 100); do
    [ -s "$2" ] && return
    sleep 0.1
  done
  die "$1 did not start: $(cat "$3")"
}

# A session bus of our own: the app's tray and single-instance names live there, and no tray of
# the desktop this may run on is involved.
setsid dbus-daemon --session --nofork --print-address=3 3>"$tmp/bus" >"$tmp/bus.log" 2>&1 &
groups+=($!)
started dbus-daemon "$tmp/bus" "$tmp/bus.log"
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/bus")
export DBUS_SESSION_BUS_ADDRESS

setsid Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
groups+=($!)
started Xvfb "$tmp/display" "$tmp/xvfb.log"
export DISPLAY=":$(head -n1 "$tmp/display")"
setsid openbox --sm-disable >"$tmp/wm.log" 2>&1 &
groups+=($!)

"$python" "$here/tray.py"
