# Shared by app.sh and test.sh: everything a fresh Debian/Ubuntu machine needs, installed only if missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

ensure_system() {
  "$ROOT/scripts/system-deps.sh"
  if ! command -v cargo >/dev/null; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing the Rust toolchain (rustup)"
    $sudo apt-get install -y -q rustup && rustup default stable || {
      echo "Rust is missing and rustup is not packaged here: install it from rustup.rs, then run this again." >&2
      exit 1
    }
  fi
}

# Front-end packages from the lock file, and the bundle the engine embeds.
ensure_ui() {
  # Vite 7 needs Node 20.19+; Debian 12's own nodejs is 18.
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    echo "Node.js $(node --version) is too old: the front end needs 20.19 or newer (nodejs.org, NodeSource or nvm)." >&2
    exit 1
  fi
  if [ ! -d "$ROOT/ui/node_modules" ] || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
    # `npm install` honours the lock file; `npm ci` is avoided because npm 11 writes locks without
    # other platforms' optional packages (rollup's) and then refuses them as "out of sync".
    npm --prefix "$ROOT/ui" install --no-audit --no-fund
  fi
  npm --prefix "$ROOT/ui" run build
}
