#!/usr/bin/env bash
# The network hub in one command on a Debian/Ubuntu server. Arguments go to `otklik hub serve`:
#   scripts/hub.sh --listen 0.0.0.0:8790 --time-zone Europe/Moscow
# Installs PostgreSQL if missing, starts its cluster, makes the `otklik` role and database once
# (the password in /etc/otklik/hub.env, root only), builds otklik without the desktop shell.
# OTKLIK_BIN names an already built binary instead.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
as_postgres() { if [ -z "$sudo" ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

if ! command -v pg_lsclusters >/dev/null; then
  echo "Installing PostgreSQL"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
fi
read -r version cluster port status _ < <(pg_lsclusters -h | head -n 1)
if [ -z "${version:-}" ]; then
  echo "PostgreSQL has no cluster: create one with pg_createcluster" >&2
  exit 1
fi
[ "$status" = online ] || $sudo pg_ctlcluster "$version" "$cluster" start

ENV_FILE=/etc/otklik/hub.env
if ! $sudo test -f "$ENV_FILE"; then
  password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  if [ "$(as_postgres psql -p "$port" -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'otklik'")" != 1 ]; then
    as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "CREATE ROLE otklik LOGIN PASSWORD '$password'"
  else
    as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "ALTER ROLE otklik PASSWORD '$password'"
  fi
  if [ "$(as_postgres psql -p "$port" -Atc "SELECT 1 FROM pg_database WHERE datname = 'otklik'")" != 1 ]; then
    as_postgres createdb -p "$port" -O otklik otklik
  fi
  $sudo mkdir -p /etc/otklik
  printf 'OTKLIK_HUB_DATABASE=postgresql://otklik:%s@127.0.0.1:%s/otklik\n' "$password" "$port" \
    | $sudo install -m 600 /dev/stdin "$ENV_FILE"
  echo "PostgreSQL role and database otklik made; the connection is in $ENV_FILE"
fi
set -a
# shellcheck disable=SC1090
source <($sudo cat "$ENV_FILE")
set +a

bin="${OTKLIK_BIN:-}"
if [ -z "$bin" ]; then
  cd "$ROOT"
  cargo build --release -p otklik --no-default-features
  bin="$ROOT/target/release/otklik"
fi
exec "$bin" hub serve "$@"
