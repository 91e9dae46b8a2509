# Sourced by run.sh and installer.sh (after they define `die`): a fresh Wine prefix in a temp
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
