#!/usr/bin/env bash
# The Windows installer under Wine, in a fresh prefix: installed silently (/S) per machine, the
# installed otklik.exe answers --version and serves (its data in %APPDATA%\otklik, the default),
# the uninstaller (/S) removes the program, its shortcuts and its uninstall entry, and the data
# directory with the rating in it survives; installed again, the engine serves that rating.
# Usage: tests/windows/installer.sh path/to/Otklik_<version>_x64-setup.exe path/to/bcryptprimitives.dll
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
die() {
  echo "installer test FAILED: $*" >&2
  exit 1
}
[ $# -eq 2 ] || {
  echo "usage: $0 setup.exe bcryptprimitives.dll" >&2
  exit 2
}
setup=$(realpath "$1")
dll=$(realpath "$2")
source "$here/prefix.sh"
# Windows 8 and later have bcryptprimitives.dll in System32; Wine 8 has not (see TESTING.md).
cp "$dll" "$WINEPREFIX/drive_c/windows/system32/"
server_stays

drive_c="$WINEPREFIX/drive_c"
installed="$drive_c/Program Files/Otklik/otklik.exe"
data="$drive_c/users/$(id -un)/AppData/Roaming/otklik"
install() {
  "$wine" "$setup" /S >"$tmp/install.log" 2>&1 || die "the installer exited $?: $(cat "$tmp/install.log")"
  [ -f "$installed" ] || die "no otklik.exe in Program Files after /S: $(find "$drive_c/Program Files" -maxdepth 2)"
}
install
[ -f "$drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Otklik/Otklik.lnk" ] ||
  die "no Start menu shortcut for all users"
"$wine" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Otklik' /v UninstallString >"$tmp/uninst.txt" 2>&1 ||
  die "no uninstall entry: $(cat "$tmp/uninst.txt")"
ok "installed silently into Program Files, with a Start menu shortcut and an uninstall entry"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
out=$("$wine" "$installed" --version 2>&1) || die "installed otklik.exe --version exited $?: $out"
[ "$out" = "otklik $version" ] || die "installed otklik.exe --version printed '$out'"
ok "installed otklik.exe --version: $out"

serve() {
  local log=$tmp/serve-$RANDOM.log
  # From its own folder, as the Start menu starts it; the data directory is the default one.
  (cd "$(dirname "$installed")" && exec "$wine" "$installed" serve --listen 127.0.0.1:0) >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  local i
  for i in $(seq 1 300); do
    base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || die "installed otklik.exe serve exited: $(cat "$log")"
    sleep 0.1
  done
  [ -n "$base" ] || die "installed otklik.exe serve printed no address: $(cat "$log")"
  token=$(cat "$data/api-token" 2>/dev/null) || die "no API token in $data"
}
stop() {
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
}
api() {
  local method=$1 path=$2
  shift 2
  curl -sS -f -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@" "$base$path"
}

serve
[ "$(curl -sS "$base/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = ok ] ||
  die "the installed engine's /healthz is not ok"
api POST /api/v1/desks -d '{"name": "Окно 1"}' >/dev/null || die "cannot add a desk"
api POST /api/v1/ratings -d '{"desk_id": 1, "score": 3}' >/dev/null || die "cannot rate"
stop
[ -f "$data/otklik.db" ] || die "the installed engine kept no database in %APPDATA%\\otklik"
ok "the installed otklik.exe serves, its data in %APPDATA%\\otklik"

uninstall() {
  "$wine" "$drive_c/Program Files/Otklik/uninstall.exe" /S >"$tmp/uninstall.log" 2>&1 ||
    die "the uninstaller exited $?: $(cat "$tmp/uninstall.log")"
  # It runs on from a copy in %TEMP%, deleting its own uninstall.exe last.
  local i
  for i in $(seq 1 600); do
    [ -e "$drive_c/Program Files/Otklik/uninstall.exe" ] || return 0
    sleep 0.1
  done
  die "the uninstaller did not finish in 60 s"
}
uninstall
[ ! -e "$installed" ] || die "otklik.exe is still there after the uninstall"
[ ! -e "$drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Otklik" ] || die "the Start menu folder is still there"
if "$wine" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Otklik' >/dev/null 2>&1; then
  die "the uninstall entry is still there"
fi
[ -f "$data/otklik.db" ] || die "the uninstall removed the data directory"
ok "uninstalled silently: program, shortcut and entry gone, the data directory kept"

install
serve
n=$(api GET "/api/v1/ratings?limit=10" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
stop
[ "$n" = 1 ] || die "installed again, the engine serves $n ratings, not the 1 from before"
ok "installed again, the engine serves the rating kept through the uninstall"

# A hub PC: the engine as a service from the installed otklik.exe, its data in %ProgramData%.
service_data="$drive_c/ProgramData/Otklik"
port=$(free_port)
base="http://127.0.0.1:$port"
out=$("$wine" "$installed" service install --listen "127.0.0.1:$port" 2>&1) || die "service install exited $?: $out"
serving() {
  local i
  for i in $(seq 1 300); do
    curl -sf "$base/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
serving || die "the service does not serve $base: $out"
token=$(cat "$service_data/api-token") || die "no API token in %ProgramData%\\Otklik"
api POST /api/v1/desks -d '{"name": "Окно 2"}' >/dev/null || die "cannot add a desk to the service"
ok "otklik.exe service install: the installed engine serves as a service, its data in %ProgramData%\\Otklik"

# The upgrade: the same installer again, while the service runs and holds otklik.exe.
install
serving || die "the service is not serving after the upgrade"
names=$(api GET /api/v1/desks | python3 -c 'import json,sys; print([d["name"] for d in json.load(sys.stdin)])')
[ "$names" = "['Окно 2']" ] || die "after the upgrade the service has the desks $names"
# Windows keeps a running .exe from being replaced (Wine does not): the log shows the stop and
# the second start, which is what lets the real installer write otklik.exe.
starts=$(cat "$service_data"/logs/* | grep -c "running as a Windows service" || true)
grep -q "stopping: asked by the service manager" "$service_data"/logs/* && [ "$starts" = 2 ] ||
  die "the upgrade did not stop and start the service (started $starts times): $(tail -5 "$service_data"/logs/*)"
ok "installed over a running service: stopped for the files to be written, started again with its data"

uninstall
! curl -sf "$base/healthz" >/dev/null 2>&1 || die "the service still serves after the uninstall"
if grep -q STATE <<<"$("$wine" sc query Otklik 2>/dev/null)"; then die "the service is still registered"; fi
[ -f "$service_data/otklik.db" ] || die "the uninstall removed the service's data"
[ ! -e "$installed" ] || die "otklik.exe is still there after the uninstall"
ok "the uninstaller stops and removes the service first; its data in %ProgramData%\\Otklik kept"
echo "installer tests: $passed passed"
