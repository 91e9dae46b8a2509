#!/usr/bin/env bash
# The Windows build, made and tested on Linux: otklik.exe (the engine with the desktop shell) for
# x86_64-pc-windows-gnu with Debian's rustc-web (the standard library built from rust-web-src with
# -Zbuild-std; the rustup toolchain stays the one for Linux), linted with clippy for that target,
# then run under Wine (tests/windows/run.sh, desktop.sh, service.sh) and packed into the NSIS
# installer (tests/windows/installer.sh).
#
# Profile: `dev` with debug assertions and debug info off. A release build (thin LTO) of the whole
# tree takes far longer on CI; without debug assertions the .exe is a GUI-subsystem program that
# embeds the screens, exactly as the shipped one (main.rs, engine/src/ui.rs), so the tests run
# the shipping code paths. `--release` builds the release profile instead, as for shipping.
# Usage: scripts/windows.sh [--release] [--build-only]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
began=$(date +%s)

release=""
build_only=""
for arg in "$@"; do
  case "$arg" in
    --release) release=1 ;;
    --build-only) build_only=1 ;;
    *)
      echo "usage: $0 [--release] [--build-only]" >&2
      exit 2
      ;;
  esac
done

target=x86_64-pc-windows-gnu
packages=(rustc-web cargo-web rust-web-src rust-web-clippy gcc-mingw-w64-x86-64 cmake nsis wine)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing for the Windows build: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" || {
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  }
fi
ensure_ui
cd "$ROOT"

# Debian's toolchain, side by side with rustup's: cargo and rustc by full path, in an environment
# of their own (the API tests in run.sh build with rustup's, in the usual target directory).
# libopus is built from the source audiopus_sys carries (cmake, mingw) and linked into the .exe.
win_target="$ROOT/target/windows"
win_env=(RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$win_target" LIBOPUS_STATIC=1)
if [ -n "$release" ]; then
  profile=release
  profile_flag=(--release)
else
  profile=debug
  profile_flag=()
fi
cargo=/usr/bin/cargo
config=(--config "$ROOT/scripts/windows-cargo.toml")
# Debian's mingw standard library asks for libssp (stack protector), which would make otklik.exe
# need libssp-0.dll beside it. Found first in this folder, `-lssp` is a linker script naming the
# static libssp.a instead, and what it calls after it (advapi32 for its canary, msvcrt).
static_libs="$win_target/static-libs"
mkdir -p "$static_libs"
echo "INPUT($(x86_64-w64-mingw32-gcc -print-file-name=libssp.a) -ladvapi32 -lmsvcrt)" >"$static_libs/libssp.a"
cargo_profile=${profile/debug/dev}
# For every workspace crate, whose unit tests are linked into .exe files of their own too.
members=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
for member in $members; do
  config+=(--config "profile.$cargo_profile.package.$member.rustflags=[\"-L\", \"native=$static_libs\"]")
done
# Tauri's `custom-protocol`, which `tauri build` adds for a shipped build.
features=(--features tauri/custom-protocol)

echo "== Windows build (otklik.exe, $profile)"
start=$(date +%s)
env "${win_env[@]}" "$cargo" build "${config[@]}" -j "${JOBS:-2}" --locked --target "$target" -p otklik "${features[@]}" "${profile_flag[@]}"
end=$(date +%s)
exe="$win_target/$target/$profile/otklik.exe"
echo "Windows build took $((end - start)) s"
echo "otklik.exe: $(stat -c %s "$exe") bytes ($profile)"

echo "== clippy for $target"
# /usr/bin first: cargo runs the `cargo-clippy` it finds on PATH, and rustup's knows no Windows
# std. The --config after `clippy`: cargo-clippy passes it on to the `cargo check` it runs.
env "${win_env[@]}" PATH="/usr/bin:$PATH" "$cargo" clippy "${config[@]}" -j "${JOBS:-2}" --locked --target "$target" --workspace "${features[@]}" "${profile_flag[@]}" -- -D warnings

[ -n "$build_only" ] && exit 0

# Wine 8 lacks bcryptprimitives.dll (see tests/windows/bcryptprimitives.c): the stand-in beside
# the .exe, for running it under Wine by hand too. Not part of the installer.
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$(dirname "$exe")/bcryptprimitives.dll" \
  "$ROOT/tests/windows/bcryptprimitives.c" "$ROOT/tests/windows/bcryptprimitives.def" -ladvapi32

# The workspace's unit tests as Windows programs (the cfg(windows) code among them): in the dev
# profile only, as a release build of every test binary would take as long again as the .exe.
if [ -z "$release" ]; then
  echo "== unit tests for $target under Wine"
  env "${win_env[@]}" "$ROOT/tests/windows/unit.sh" "$cargo" test "${config[@]}" -j "${JOBS:-2}" --locked \
    --no-fail-fast --target "$target" --workspace --lib --bins "${features[@]}"
fi

echo "== otklik.exe under Wine"
"$ROOT/tests/windows/run.sh" "$exe"
echo "== the desktop app under Wine (no WebView2)"
"$ROOT/tests/windows/desktop.sh" "$exe"
echo "== the engine as a Windows service"
"$ROOT/tests/windows/service.sh" "$exe"

echo "== the installer (NSIS)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
setup="$win_target/$target/$profile/bundle/nsis/Otklik_${version}_x64-setup.exe"
mkdir -p "$(dirname "$setup")"
# The symbols stay out of the shipped copy: half the size, and much less for LZMA to squeeze.
stripped="$(dirname "$setup")/otklik.exe"
x86_64-w64-mingw32-strip -o "$stripped" "$exe"
makensis -V2 -WX -DVERSION="$version" -DEXE="$stripped" -DWEBVIEW2_LOADER="$(dirname "$exe")/WebView2Loader.dll" \
  -DOUTFILE="$setup" "$ROOT/src-tauri/installer/otklik.nsi"
echo "$(basename "$setup"): $(stat -c %s "$setup") bytes ($profile)"
"$ROOT/tests/windows/installer.sh" "$setup" "$(dirname "$exe")/bcryptprimitives.dll"
echo "== Windows: all passed in $(($(date +%s) - began)) s ($(($(date +%s) - start)) s from the start of the build)"
