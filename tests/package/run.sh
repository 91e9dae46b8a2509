#!/usr/bin/env bash
# Package test: builds the .deb with the Tauri CLI (npm @tauri-apps/cli), checks its metadata and
# files, unpacks it into a throw-away root (dpkg -x, no root needed) and, when run as root on a
# machine where no `otklik` package is installed, installs it for real with dpkg -i (removed again
# with dpkg -r). Each installed binary runs headless on a free port: /healthz must answer `ok`
# with the schema version of this source tree, and `otklik --version` must match the package.
# Then tray.sh drives the installed desktop app through its tray (see tray.py).
#
# The .deb is built in the debug profile by default: it reuses the debug build the other tests
# made (the CLI only adds tauri's `custom-protocol` feature, ~30 s). `--release` builds the
# release profile instead, as for shipping (all of it, with LTO: much longer).
# Usage: tests/package/run.sh [--release]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
die() {
  echo "package test FAILED: $*" >&2
  exit 1
}
profile=debug
case "${1:-}" in
  "") ;;
  --release) profile=release ;;
  *)
    echo "usage: $0 [--release]" >&2
    exit 2
    ;;
esac

for tool in dpkg-deb node npm curl cargo; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/system-deps.sh installs it)"
done

tmp=$(mktemp -d)
pids=()
installed=""
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$installed" ]; then
    dpkg -r otklik >"$tmp/dpkg-r.log" 2>&1 || echo "warning: dpkg -r otklik failed: $(cat "$tmp/dpkg-r.log")" >&2
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}

# The Tauri CLI from src-tauri's lock file (`npm install`, not `ci`: see scripts/lib.sh).
tauri_dir="$root/src-tauri"
if [ ! -d "$tauri_dir/node_modules" ] || [ "$tauri_dir/package-lock.json" -nt "$tauri_dir/node_modules/.package-lock.json" ]; then
  npm --prefix "$tauri_dir" install --no-audit --no-fund
fi
cli="$tauri_dir/node_modules/.bin/tauri"
[ -x "$cli" ] || die "the Tauri CLI is not at $cli after npm install"

version=$(node -p 'require(process.argv[1]).version' "$tauri_dir/tauri.conf.json")
arch=$(dpkg --print-architecture)
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')
deb="$target_dir/$profile/bundle/deb/Otklik_${version}_${arch}.deb"
# The schema this source tree migrates to: the highest migration's number.
schema=$(find "$root/migrations" -name '[0-9]*.sql' -printf '%f\n' | sort | tail -n1 | sed 's/_.*//; s/^0*//')

echo "package: building $(basename "$deb") ($profile profile)"
rm -f "$deb"
flags=(--bundles deb --ci)
[ "$profile" = debug ] && flags+=(--debug)
started=$SECONDS
if ! (cd "$tauri_dir" && "$cli" build "${flags[@]}" -- --locked) >"$tmp/build.log" 2>&1; then
  tail -n 40 "$tmp/build.log" >&2
  die "tauri build ${flags[*]} failed (log above)"
fi
[ -f "$deb" ] || die "tauri build succeeded but $deb is not there: $(grep -A3 'Finished' "$tmp/build.log")"
ok "built $(basename "$deb") in $((SECONDS - started)) s: $(grep -o '[0-9.]* MiB' "$tmp/build.log" | tail -n1 || du -h "$deb" | cut -f1)"

# --- The package's metadata and files.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = otklik ] || die "Package is '$(field Package)', expected otklik"
[ "$(field Version)" = "$version" ] || die "Version is '$(field Version)', expected $version (tauri.conf.json)"
[ "$(field Architecture)" = "$arch" ] || die "Architecture is '$(field Architecture)', expected $arch"
ok "control: Package otklik, Version $version, Architecture $arch"
depends=$(field Depends)
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1 libasound2 libopus0; do
  [[ ", $depends," == *", $dep"[\ ,]* ]] || die "Depends lacks $dep: $depends"
done
ok "Depends: $depends"

# "MODE /PATH" per entry (dpkg-deb lists paths as ./usr/... or usr/...).
dpkg-deb -c "$deb" | awk '{print $1, $6}' | sed -E 's# (\./|/)?# /#' >"$tmp/contents"
has() {
  grep -qxF -- "$1 $2" "$tmp/contents" || die "the package has no $2 with mode $1; it has: $(awk '{print $2}' "$tmp/contents" | grep -v '/$' | tr '\n' ' ')"
}
has -rwxr-xr-x /usr/bin/otklik
has -rw-r--r-- /usr/share/applications/Otklik.desktop
for size in 32x32 128x128 256x256 512x512; do
  has -rw-r--r-- "/usr/share/icons/hicolor/$size/apps/otklik.png"
done
ok "files: /usr/bin/otklik, /usr/share/applications/Otklik.desktop, icons 32 to 512 px"

# --- A throw-away root: the package's files with no installation.
dpkg -x "$deb" "$tmp/root" || die "dpkg -x could not unpack $deb"
desktop="$tmp/root/usr/share/applications/Otklik.desktop"
for line in "Type=Application" "Name=Otklik" "Name[ru]=Отклик" "Exec=otklik" "Icon=otklik" "Terminal=false"; do
  grep -qxF "$line" "$desktop" || die "Otklik.desktop lacks the line '$line': $(cat "$desktop")"
done
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$desktop" || die "desktop-file-validate rejects Otklik.desktop"
fi
ok "Otklik.desktop: Exec=otklik, Icon=otklik, named in Russian too"
missing=$(ldd "$tmp/root/usr/bin/otklik" | grep 'not found' || true)
[ -z "$missing" ] || die "the packaged binary needs libraries this machine lacks: $missing"

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# headless NAME BINARY: runs BINARY serve on a fresh data directory and a free port, checks
# --version and /healthz, and stops it.
headless() {
  local name=$1 bin=$2 port data log pid health
  [ -x "$bin" ] || die "$name: $bin is not an executable"
  local v
  v=$("$bin" --version) || die "$name: $bin --version failed"
  [ "$v" = "otklik $version" ] || die "$name: --version says '$v', expected 'otklik $version'"
  port=$(free_port) data="$tmp/data-$name" log="$tmp/serve-$name.log"
  "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 150); do
    grep -q "listening on" "$log" && break
    kill -0 "$pid" 2>/dev/null || die "$name: otklik serve exited: $(cat "$log")"
    sleep 0.1
  done
  grep -q "listening on" "$log" || die "$name: otklik serve did not start in 15 s: $(cat "$log")"
  health=$(curl -fsS --noproxy "*" --max-time 10 "http://127.0.0.1:$port/healthz") ||
    die "$name: GET /healthz failed: $(curl -sS --noproxy "*" --max-time 10 "http://127.0.0.1:$port/healthz" 2>&1)"
  node -e '
    const [h, version, schema] = [JSON.parse(process.argv[1]), process.argv[2], Number(process.argv[3])];
    const bad = [];
    if (h.status !== "ok") bad.push(`status is ${h.status}`);
    if (h.version !== version) bad.push(`version is ${h.version}, expected ${version}`);
    if (h.database?.schema_version !== schema) bad.push(`schema_version is ${h.database?.schema_version}, expected ${schema}`);
    if (bad.length) { console.error(bad.join("; ") + "\n" + process.argv[1]); process.exit(1); }
  ' "$health" "$version" "$schema" || die "$name: /healthz is not what it should be (above)"
  kill -TERM "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null || die "$name: otklik serve did not stop within 10 s of SIGTERM"
  ok "$name: $bin --version is '$v'; serve answered /healthz ok, version $version, schema $schema; stopped on SIGTERM"
}

headless "throw-away root" "$tmp/root/usr/bin/otklik"

# --- A real installation, where that is possible without harm.
tray_app="$tmp/root/usr/bin/otklik"
if [ "$(id -u)" -ne 0 ]; then
  echo "skip - dpkg -i: not root (the throw-away root above covers the package's files)"
elif dpkg-query -W -f='${Status}' otklik 2>/dev/null | grep -q "install ok installed"; then
  echo "skip - dpkg -i: an otklik package is installed on this machine already; it is left alone"
else
  installed=yes
  if ! dpkg -i "$deb" >"$tmp/dpkg-i.log" 2>&1; then
    cat "$tmp/dpkg-i.log" >&2
    die "dpkg -i $(basename "$deb") failed (above)"
  fi
  [ "$(dpkg-query -W -f='${Version}' otklik)" = "$version" ] || die "dpkg does not list otklik $version as installed"
  [ "$(command -v otklik)" = /usr/bin/otklik ] || die "otklik on PATH is '$(command -v otklik || true)', expected /usr/bin/otklik"
  ok "dpkg -i: otklik $version installed; /usr/bin/otklik is on PATH"
  headless "dpkg -i" /usr/bin/otklik
  tray_app=/usr/bin/otklik
fi

# --- The installed desktop app's tray, autostart entry and single instance.
OTKLIK_APP=$tray_app "$here/tray.sh" || die "the tray test (tray.sh) with $tray_app"
ok "tray, autostart and single instance of $tray_app (tray.sh)"

if [ -n "$installed" ]; then
  dpkg -r otklik >"$tmp/dpkg-r.log" 2>&1 || die "dpkg -r otklik failed: $(cat "$tmp/dpkg-r.log")"
  installed=""
  [ ! -e /usr/bin/otklik ] || die "dpkg -r left /usr/bin/otklik behind"
  ok "dpkg -r: removed, /usr/bin/otklik is gone"
fi

echo "package: $passed passed, 0 failed"
