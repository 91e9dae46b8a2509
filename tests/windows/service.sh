#!/usr/bin/env bash
# The engine as a Windows service under Wine's service manager: `otklik.exe service install`
# registers and starts it (automatic start, LocalSystem), it serves; `sc stop` / `sc start`
# stop it cleanly and start it again with nothing lost; a second install, `service run` from a
# console, a start that fails (the port taken) are each refused by name and leave no service
# behind; `uninstall` stops and removes it and keeps the data.
# Usage: tests/windows/service.sh path/to/otklik.exe   (bcryptprimitives.dll beside it)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
  echo "Windows service test FAILED: $*" >&2
  exit 1
}
[ $# -eq 1 ] || {
  echo "usage: $0 path/to/otklik.exe" >&2
  exit 2
}
exe=$(realpath "$1")
[ -f "$(dirname "$exe")/bcryptprimitives.dll" ] || die "bcryptprimitives.dll is not beside $exe"
source "$here/prefix.sh"
server_stays

port=$(free_port)
base="http://127.0.0.1:$port"
data=$tmp/service-data
sc() { "$wine" sc "$@" 2>&1 | tr -d '\r'; }
otklik() { "$wine" "$exe" "$@" 2>&1 | tr -d '\r'; }
serving() { curl -sf "$base/healthz" >/dev/null 2>&1; }
api() {
  local method=$1 path=$2
  shift 2
  curl -sS -f -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@" "$base$path"
}
until_state() {
  local i
  for i in $(seq 1 300); do
    grep -q "STATE.*$1" <<<"$(sc query Otklik)" && return 0
    sleep 0.1
  done
  die "the service is not $1: $(sc query Otklik)"
}

out=$(otklik service install --data-dir "$data" --listen "127.0.0.1:$port") || die "service install failed: $out"
grep -q "Installed and started the Windows service Otklik" <<<"$out" || die "service install said: $out"
serving || die "the installed service does not serve $base: $out"
grep -q "STATE.*RUNNING" <<<"$(sc query Otklik)" || die "sc query: $(sc query Otklik)"
# What `sc qc` shows on Windows (Wine's sc.exe has no qc): the service's registry key.
config=$("$wine" reg query 'HKLM\System\CurrentControlSet\Services\Otklik' 2>&1 | tr -d '\r')
grep -q "Start.*0x2$" <<<"$config" || die "the service does not start with Windows (Start is not 2, automatic): $config"
grep -q "ImagePath.*otklik.exe.* service run --name Otklik --data-dir" <<<"$config" || die "the service runs something else: $config"
grep -q "ObjectName.*LocalSystem" <<<"$config" || die "the service does not run as LocalSystem: $config"
grep -q "Description.*patient ratings" <<<"$config" || die "the service has no description: $config"
ok "service install: registered (automatic start, LocalSystem, \`otklik.exe service run\`) and started; it serves $base"

token=$(otklik token --data-dir "$data")
[ ${#token} -ge 20 ] || die "otklik.exe token printed '$token'"
desk=$(api POST /api/v1/desks -d '{"name": "Окно 1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
rating=$(api POST /api/v1/ratings -d "{\"desk_id\": $desk, \"score\": 1}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# The data directory's permissions (SYSTEM and Administrators only) are not checked here: Wine 8
# keeps no file ACLs (its icacls and cacls print nothing). docs/windows.md, the five-minute check.

out=$(otklik service install --data-dir "$tmp/other" --listen "127.0.0.1:$(free_port)") && die "a second install succeeded: $out"
grep -q "already installed" <<<"$out" || die "a second install said: $out"
[ ! -e "$tmp/other" ] || die "a refused install made its data directory"
out=$(otklik service run --data-dir "$data") && die "service run from a console succeeded: $out"
grep -q "started by Windows' service manager" <<<"$out" || die "service run from a console said: $out"
ok "a second install and \`service run\` from a console are refused by name, nothing made"

sc stop Otklik >/dev/null
until_state STOPPED
! serving || die "still serving after sc stop"
grep -q "stopping: asked by the service manager" "$data"/logs/*.log || die "the engine did not stop cleanly: $(tail -5 "$data"/logs/*.log)"
sc start Otklik >/dev/null
until_state RUNNING
for _ in $(seq 1 300); do serving && break; sleep 0.1; done
serving || die "not serving after sc start"
got=$(api GET /api/v1/ratings | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin)["items"]])')
[ "$got" = "[$rating]" ] || die "after a restart the ratings are $got, not [$rating]"
ok "sc stop stops the engine cleanly, sc start brings it back with the rating kept"

out=$(otklik service uninstall) || die "service uninstall failed: $out"
grep -q "Stopped and removed the Windows service Otklik" <<<"$out" || die "service uninstall said: $out"
grep -q "STATE" <<<"$(sc query Otklik)" && die "the service is still there: $(sc query Otklik)"
! serving || die "still serving after uninstall"
[ -f "$data/otklik.db" ] || die "uninstall removed the data"
out=$(otklik service uninstall) && die "a second uninstall succeeded: $out"
grep -q "there is no service named Otklik" <<<"$out" || die "a second uninstall said: $out"
ok "service uninstall stops and removes it, the data kept; again: \"there is no service named Otklik\""

# A start that fails: another program holds the port. Said with the log's reason; nothing stays.
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' "$port" &
pids+=($!)
for _ in $(seq 1 100); do python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null && break; sleep 0.05; done
out=$(otklik service install --data-dir "$data" --listen "127.0.0.1:$port") && die "install with the port taken succeeded: $out"
grep -q "did not start" <<<"$out" && grep -q "It is not installed" <<<"$out" || die "install with the port taken said: $out"
grep -q "its log says: .*$port" <<<"$out" || die "the failed start does not say why: $out"
grep -q "STATE" <<<"$(sc query Otklik)" && die "a failed install left the service: $(sc query Otklik)"
ok "a service that cannot start (port $port taken) is not installed, and the log's reason is said"
echo "Windows service tests: $passed passed"
