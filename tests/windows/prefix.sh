# Sourced by the tests here (after they define `die`): a fresh Wine prefix in a temp
# directory, removed with everything the test started when it exits; `ok` counts checks.

wine=/usr/lib/wine/wine64
[ -x "$wine" ] || die "$wine is missing (apt-get install wine)"

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  WINEPREFIX="$tmp/prefix" /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}

export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all
# No Mono or Gecko install prompts: nothing here needs .NET or Internet Explorer's engine.
export WINEDLLOVERRIDES="mscoree=;mshtml="
start=$(date +%s)
"$wine" wineboot -u >"$tmp/wineboot.log" 2>&1 || die "wineboot -u: $(tail -5 "$tmp/wineboot.log")"
/usr/lib/wine/wineserver -w
echo "fresh Wine prefix in $(($(date +%s) - start)) s"

# A free loopback port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The Wine server stays up until the test ends. Wine otherwise stops it a few seconds after the
# last program exits, and its services with it (Windows does not), and a program started as it
# shuts down may fail. In a session of its own: started in the test's, it brought the test down
# when a service started. The service manager starts now, with no output of the test's to hold
# open: started by a later command, it and every service would keep that command's $(...) waiting.
server_stays() {
  setsid /usr/lib/wine/wineserver -p
  "$wine" sc query >/dev/null 2>&1 </dev/null || true
}
