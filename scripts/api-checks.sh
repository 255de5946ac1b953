#!/usr/bin/env bash
# The checks that need a running release server: the OpenAPI document validates as 3.1,
# Schemathesis finds nothing on SQLite and on PostgreSQL, and the docs pages render offline in
# headless Chromium.
#   usage: scripts/api-checks.sh POSTGRES_ADMIN_URL
set -euo pipefail
cd "$(dirname "$0")/.."
admin_url=${1:?PostgreSQL admin URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)}
work=$(mktemp -d /tmp/healthcare-api-checks.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "--- OpenAPI 3.1 validation (openapi-spec-validator)"
venv=target/ci-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.9.0"
"$venv/bin/openapi-spec-validator" docs/openapi.json

echo "--- release binary"
cargo build --release --locked -p healthcare_app
binary=target/release/healthcare-api

start_server() { # DATABASE_URL
  local port
  # The fuzz user is made staff so that the staff-only audit route is fuzzed too.
  export FUZZ_GRANT_STAFF="env DATABASE_URL=$1 target/release/healthcare-admin users grant-staff"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  DATABASE_URL=$1 PORT=$port BCRYPT_COST=4 SECRET_KEY=api-checks-secret-key-of-at-least-32-bytes \
    RUST_LOG=warn "$binary" >"$work/server-$port.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$base/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not become ready:"; cat "$work/server-$port.log"; exit 1
}

stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

echo "--- Schemathesis on SQLite"
start_server "sqlite://$work/fuzz.db"
scripts/fuzz-api.sh "$base"

echo "--- docs pages in headless Chromium (network limited to the server)"
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
npm ci --silent --prefix tools/browser
node tools/browser/check-docs.mjs "$base" target/docs-screenshots
stop_server

echo "--- Schemathesis on PostgreSQL"
database="fuzz_$(date +%s)"
psql "$admin_url" -qc "CREATE DATABASE $database"
start_server "${admin_url%/*}/$database"
scripts/fuzz-api.sh "$base"
stop_server
