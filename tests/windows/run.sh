#!/usr/bin/env bash
# The Windows build under Wine, in a fresh prefix: `otklik.exe --version`; `otklik.exe serve` on
# a loopback port answering /healthz to the Linux side; the bot token and the SMTP password kept
# in the Windows Credential Manager (Wine's CredWriteW/CredReadW), read back after a restart,
# and in no file; the clinic's time zone taken from Windows; then a subset of the API suite
# (tests/api) against otklik.exe through OTKLIK_TEST_BIN (see common.rs).
# Usage: tests/windows/run.sh path/to/otklik.exe   (bcryptprimitives.dll beside it, see
# scripts/windows.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
die() {
  echo "Windows test FAILED: $*" >&2
  exit 1
}
[ $# -eq 1 ] || {
  echo "usage: $0 path/to/otklik.exe" >&2
  exit 2
}
exe=$(realpath "$1")
[ -f "$exe" ] || die "$exe is not there"
[ -f "$(dirname "$exe")/bcryptprimitives.dll" ] || die "bcryptprimitives.dll is not beside $exe (scripts/windows.sh builds it)"
source "$here/prefix.sh"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
out=$("$wine" "$exe" --version 2>&1) || die "otklik.exe --version exited $?: $out"
[ "$out" = "otklik $version" ] || die "otklik.exe --version printed '$out', not 'otklik $version'"
ok "otklik.exe --version: $out"

# Starts `otklik.exe serve` on a free loopback port over $1; sets $pid and $base.
serve() {
  local data=$1 log=$tmp/serve-$RANDOM.log
  shift
  env "$@" "$wine" "$exe" serve --listen 127.0.0.1:0 --data-dir "$data" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  local i
  for i in $(seq 1 300); do
    base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$base" ] && return 0
    kill -0 "$pid" 2>/dev/null || die "otklik.exe serve exited: $(cat "$log")"
    sleep 0.1
  done
  die "otklik.exe serve printed no address in 30 s: $(cat "$log")"
}
stop() {
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
}
api() {
  local method=$1 path=$2
  shift 2
  curl -sS -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@" "$base$path"
}
field() {
  python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1], {"v": v}))' "$1"
}

data="$tmp/data"
mkdir -p "$data"
serve "$data" TZ=Europe/Moscow
token=$("$wine" "$exe" token --data-dir "$data" 2>/dev/null | tr -d '\r')
[ ${#token} -ge 20 ] || die "otklik.exe token printed '$token'"
health=$(curl -sS "$base/healthz") || die "/healthz did not answer"
[ "$(echo "$health" | field 'v["status"]')" = ok ] || die "/healthz: $health"
ok "otklik.exe serve answers /healthz at $base: status ok"
# The zone a fresh installation takes: Windows.Globalization.Calendar (WinRT) names it in IANA
# terms on Windows 10/11; Wine 8 has no Calendar, so there the Windows zone (Wine picks one with
# the host's rules) is mapped to IANA by CLDR's table (settings.rs, `system_zone`). Wine names
# Moscow's rules by another zone of the same offset, so what is checked is the clock: the zone
# taken shows the time Moscow shows. The clinic's own zone, once set, holds across a restart.
tz=$(api GET /api/v1/settings | field 'v["timezone"]')
python3 - "$tz" <<'PY' || die "a fresh installation under TZ=Europe/Moscow took the zone '$tz'"
import datetime, sys, zoneinfo
now = datetime.datetime.now(datetime.timezone.utc)
got, want = (now.astimezone(zoneinfo.ZoneInfo(z)).utcoffset() for z in (sys.argv[1], "Europe/Moscow"))
sys.exit(0 if got == want else f"{sys.argv[1]} is UTC{got}, Moscow UTC{want}")
PY
api PATCH /api/v1/settings -d '{"timezone": "Europe/Moscow"}' >"$tmp/tz.json"
stop
serve "$data"
tz2=$(api GET /api/v1/settings | field 'v["timezone"]')
[ "$tz2" = Europe/Moscow ] || die "the clinic's zone set to Europe/Moscow came back as '$tz2': $(cat "$tmp/tz.json")"
ok "a fresh installation under TZ=Europe/Moscow took $tz (the same clock); Europe/Moscow set holds across a restart"

# Secrets: into the Credential Manager, never into a file.
bot="4242:WINE-bot-token-$RANDOM$RANDOM"
smtp="wine-smtp-password-$RANDOM$RANDOM"
api PUT /api/v1/notify/secrets -d "{\"telegram_token\": \"$bot\", \"smtp_password\": \"$smtp\"}" >"$tmp/put.json"
state=$(api GET /api/v1/notify)
[ "$(echo "$state" | field 'v["telegram_token_set"] and v["smtp_password_set"]')" = True ] ||
  die "the secrets were not kept: $(cat "$tmp/put.json") $state"
place=$(echo "$state" | field 'v["secrets_place"]')
case "$place" in
  "the Windows Credential Manager"*) ;;
  *) die "the secrets are kept in '$place', not the Credential Manager" ;;
esac
stop
serve "$data"
state=$(api GET /api/v1/notify)
[ "$(echo "$state" | field 'v["telegram_token_set"] and v["smtp_password_set"]')" = True ] ||
  die "after a restart the secrets are gone: $state"
stop
"$wine" reg query 'HKCU\Software\Wine\Credential Manager' >"$tmp/creds.txt" 2>&1 || true
# The registry reaches its files when the wineserver ends.
/usr/lib/wine/wineserver -w
grep -q "telegram_token" "$tmp/creds.txt" && grep -q "smtp_password" "$tmp/creds.txt" ||
  die "no Credential Manager entries for the secrets: $(cat "$tmp/creds.txt")"
[ ! -e "$data/secrets.json" ] || die "secrets.json was written on Windows"
python3 - "$bot" "$smtp" "$data" "$WINEPREFIX" <<'EOF' || die "a secret is in a file in plain text"
import os, sys
secrets = sys.argv[1:3]
needles = [n for s in secrets for n in (s.encode(), s.encode("utf-16-le"))]
bad = []
for top in sys.argv[3:]:
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as fh:
                data = fh.read()
            bad += [p for n in needles if n in data]
if bad:
    print("found in:", *sorted(set(bad)), file=sys.stderr)
    sys.exit(1)
EOF
ok "the bot token and SMTP password are in the Credential Manager (read back after a restart), in no file of the data directory or the Wine prefix"

# A serial button box on COM5. Wine maps COMn to a Unix device (HKLM\Software\Wine\Ports):
# here one end of a socat pseudo-terminal pair; the "box" writes the line protocol into the other
# end, and the engine, configured with the Windows name COM5, stores the press.
command -v socat >/dev/null || die "socat is missing (scripts/system-deps.sh installs it)"
socat pty,raw,echo=0,link="$tmp/box" pty,raw,echo=0,link="$tmp/host" 2>"$tmp/socat.log" &
pids+=($!)
for _ in $(seq 100); do [ -e "$tmp/box" ] && [ -e "$tmp/host" ] && break; sleep 0.05; done
[ -e "$tmp/host" ] || die "socat made no pty pair: $(cat "$tmp/socat.log")"
"$wine" reg add 'HKLM\Software\Wine\Ports' /v COM5 /d "$(readlink -f "$tmp/host")" /f >"$tmp/reg.log" 2>&1 ||
  die "cannot map COM5: $(cat "$tmp/reg.log")"
# Wine reads the port mapping when it starts.
/usr/lib/wine/wineserver -k 2>/dev/null || true
/usr/lib/wine/wineserver -w
serve "$data"
desk=$(api POST /api/v1/desks -d '{"name": "Окно 5"}' | field 'v["id"]')
api PUT "/api/v1/desks/$desk/input" -d '{"kind": "serial", "path": "COM5", "baud": 9600, "debounce_ms": 0}' >"$tmp/input.json"
state=""
for _ in $(seq 100); do
  state=$(curl -sS "$base/healthz" | field "[i['state'] for i in v['inputs'] if i['desk_id'] == $desk]")
  [ "$state" = "['connected']" ] && break
  sleep 0.1
done
[ "$state" = "['connected']" ] || die "the box on COM5 is not connected: $state $(cat "$tmp/input.json")"
printf '3\n' >"$tmp/box"
got=""
for _ in $(seq 100); do
  got=$(api GET /api/v1/ratings | field "[(r['score'], r['source']) for r in v['items'] if r['desk_id'] == $desk]")
  [ "$got" = "[(3, 'serial')]" ] && break
  sleep 0.1
done
[ "$got" = "[(3, 'serial')]" ] || die "the press on COM5 was not stored: $got"
stop
ok "a serial box on COM5 (Wine's port mapping to a socat pty): connected, its press stored as a rating"

# The API suite against otklik.exe: the tests that talk to the engine through HTTP, its files
# and its command line (not those reaching into an in-process engine). A folder they set is
# given as Z:\... (common.rs, engine_path).
tests=(
  sessions:: leaderboard:: sse:: crash:: cli:: demo::
  reports::the_exports_of_a_served_history_agree_with_its_report
  backup::the_newest_backups_are_kept_listed_and_downloadable
  backup::a_good_backup_is_restored_at_the_next_start_and_the_old_database_kept
  backup::bad_files_are_refused_and_nothing_changes
)
echo "== API tests against otklik.exe under Wine: ${tests[*]}"
cd "$root"
OTKLIK_TEST_BIN="$here/otklik-wine" OTKLIK_WINDOWS_EXE="$exe" OTKLIK_TEST_DRIVE=Z: \
  cargo test --workspace --test api --locked -- --test-threads 2 "${tests[@]}"
ok "the API tests above passed against otklik.exe"
echo "Windows tests: $passed passed"
