#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Otklik needs to build and test, only if some are missing.
set -euo pipefail

packages=(
  build-essential pkg-config curl ca-certificates
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libasound2-dev libclang-dev libssl-dev
  xvfb xauth xdotool socat chromium sqlite3 nodejs npm
  webkit2gtk-driver dbus openbox wmctrl
  libopus-dev opus-tools espeak-ng sox pulseaudio pulseaudio-utils libasound2-plugins
  poppler-utils python3-venv openssl python3-dbus python3-gi
  postgresql
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere (nvm, NodeSource): then Debian's nodejs/npm are not needed.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
