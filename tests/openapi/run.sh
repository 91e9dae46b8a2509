#!/usr/bin/env bash
# The OpenAPI document against its validator, then the API against it: schemathesis drives a
# real `otklik serve` on a loopback port over a fresh data directory, and no request may get a
# 5xx (the `not_a_server_error` check). Usage: tests/openapi/run.sh path/to/otklik
# OTKLIK_FUZZ_EXAMPLES (default 25) sets the test cases per operation; schemathesis prints the
# seed of its run, and `--seed` in SCHEMATHESIS_ARGS replays it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(realpath "${1:?path to the otklik binary}")"

# Pinned, in a venv of their own under target/ (as target/pyenv is for aiosmtpd).
venv="$root/target/pyenv-openapi"
packages=(openapi-spec-validator==0.9.0 schemathesis==4.32.5)
if ! "$venv/bin/python" -c 'import openapi_spec_validator, schemathesis' 2>/dev/null \
  || [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version 4.32.5" ]; then
  python3 -m venv "$venv" || { echo "python3 -m venv failed (Debian: python3-venv)" >&2; exit 1; }
  "$venv/bin/python" -m pip install --quiet "${packages[@]}"
fi

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/data" "$work/elsewhere"

token="$("$bin" token --data-dir "$work/data" 2>/dev/null)"
# Created before the server starts: the loop below may read it before the shell has opened it.
: >"$work/serve.out"
OTKLIK_LOG=warn "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
# It prints `Otklik listening on http://ADDR` once it serves.
base=""
for _ in $(seq 300); do
  base="$(sed -n 's|^Otklik listening on \(http://[^ ]*\)$|\1|p' "$work/serve.out")"
  [ -n "$base" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.err" >&2; echo "otklik serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "otklik serve printed no address" >&2; exit 1; }

echo "-- openapi-spec-validator"
curl -fsS "$base/api/v1/openapi.json" -o "$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

echo "-- schemathesis against $base"
# The hooks keep what the fuzzed settings point the engine at (Bot API, SMTP, webhook, camera,
# serial port, backup folder) on loopback and in $work/elsewhere.
# `timeout`: a run that hangs fails here instead of holding CI. In $work, so that the
# .hypothesis and .schemathesis caches do not land in the tree.
(cd "$work" && OTKLIK_FUZZ_DIR="$work/elsewhere" SCHEMATHESIS_HOOKS="$here/hooks.py" \
  timeout 600 "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run \
  "$base/api/v1/openapi.json" --url "$base" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error \
  --max-examples "${OTKLIK_FUZZ_EXAMPLES:-25}" \
  --request-timeout 10 --workers 2 --no-color \
  ${SCHEMATHESIS_ARGS:-})

# The engine is still up and answering after all that.
curl -fsS "$base/healthz" >/dev/null || { echo "the engine stopped answering" >&2; exit 1; }
echo "-- openapi: the document is valid and no request got a 5xx"
