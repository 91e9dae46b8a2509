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

drive_c="$WINEPREFIX/drive_c"
installed="$drive_c/Program Files/Otklik/otklik.exe"
data="$drive_c/users/$(id -un)/AppData/Roaming/otklik"
install() {
  "$wine" "$setup" /S >"$tmp/install.log" 2>&1 || die "the installer exited $?: $(cat "$tmp/install.log")"
  /usr/lib/wine/wineserver -w
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

"$wine" "$drive_c/Program Files/Otklik/uninstall.exe" /S >"$tmp/uninstall.log" 2>&1 ||
  die "the uninstaller exited $?: $(cat "$tmp/uninstall.log")"
# The uninstaller runs on from a copy in %TEMP%: wait for it.
/usr/lib/wine/wineserver -w
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
echo "installer tests: $passed passed"
