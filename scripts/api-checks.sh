#!/usr/bin/env bash
# The checks that need a running server: the OpenAPI document validates as 3.1, Schemathesis
# (every check, stateful phase included) finds nothing on SQLite and on PostgreSQL, the served
# document lints clean and generated clients work with it on both (scripts/client-checks.sh),
# the docs pages render offline in headless Chromium, and a browser walk through the staff
# admin site passes.
#   usage: scripts/api-checks.sh POSTGRES_ADMIN_URL
# Environment:
#   HEALTHCARE_BIN_DIR    folder holding healthcare-api and healthcare-admin to test (CI passes
#                         the ones its test build made); without it a release build is made
#   HEALTHCARE_TOOLS_DIR  where the Python tools' venvs live (default target/)
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

tools_dir=${HEALTHCARE_TOOLS_DIR:-target}
echo "--- OpenAPI 3.1 validation (openapi-spec-validator)"
venv=$tools_dir/ci-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.9.0"
"$venv/bin/openapi-spec-validator" docs/openapi.json

if [ -n "${HEALTHCARE_BIN_DIR:-}" ]; then
  bin_dir=$HEALTHCARE_BIN_DIR
else
  echo "--- release binary"
  cargo build --release --locked -p healthcare_app
  bin_dir=${CARGO_TARGET_DIR:-target}/release
fi
binary=$bin_dir/healthcare-api
admin_cli=$bin_dir/healthcare-admin

start_server() { # DATABASE_URL
  local port
  # The fuzz user is made staff with a second factor, so the staff-only audit route is fuzzed too.
  export FUZZ_ADMIN_CLI="env DATABASE_URL=$1 $admin_cli"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The fuzzer and the client workflow call the auth routes far faster than a person; the
  # per-address limit (tested black-box on its own) would leave those routes barely exercised.
  DATABASE_URL=$1 PORT=$port BCRYPT_COST=4 SECRET_KEY=api-checks-secret-key-of-at-least-32-bytes \
    THROTTLE_AUTH_PER_ADDRESS_PER_MINUTE=0 RUST_LOG=warn "$binary" >"$work/server-$port.log" 2>&1 &
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

api_json() { # METHOD PATH BODY [TOKEN] -> the response body; fails unless HTTP 2xx
  local status auth=()
  [ -n "${4:-}" ] && auth=(-H "Authorization: Bearer $4")
  status=$(curl -sS --max-time 30 -o "$work/response.json" -w '%{http_code}' -X "$1" \
    -H 'Content-Type: application/json' -H 'Accept: application/json' "${auth[@]}" \
    --data "$3" "$base$2") || status=000
  if [[ $status != 2?? ]]; then
    echo "$1 $2 answered HTTP $status: $(head -c 2000 "$work/response.json")" >&2
    return 1
  fi
  cat "$work/response.json"
}

json_field() { # PATH.TO.FIELD, reading JSON on standard input
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$1"
}

# The admin browser test's accounts and patient, exported for tools/browser/check-admin.mjs: a
# staff user made with the admin CLI (no second factor yet: the test enrols one), a regular user
# registered through the API, and a patient that user creates.
admin_preconditions() { # DATABASE_URL
  export ADMIN_STAFF_EMAIL=staff@example.com ADMIN_STAFF_NAME="Staff Member"
  export ADMIN_STAFF_PASSWORD=quiet-heron-73-lantern
  export ADMIN_USER_EMAIL=clerk@example.com ADMIN_USER_PASSWORD=amber-falcon-58-quarry
  export ADMIN_PATIENT_NAME="Zelda Quenby-Browsercheck"
  local created token
  created=$(env DATABASE_URL="$1" HEALTHCARE_ADMIN_PASSWORD="$ADMIN_STAFF_PASSWORD" \
    "$admin_cli" createsuperuser --email "$ADMIN_STAFF_EMAIL" --name "$ADMIN_STAFF_NAME")
  echo "$created"
  ADMIN_STAFF_ID=${created##* with id }
  export ADMIN_STAFF_ID
  api_json POST /api/auth/register/ \
    "{\"name\":\"Clara Clerk\",\"email\":\"$ADMIN_USER_EMAIL\",\"password\":\"$ADMIN_USER_PASSWORD\"}" >/dev/null
  token=$(api_json POST /api/auth/login/ \
    "{\"email\":\"$ADMIN_USER_EMAIL\",\"password\":\"$ADMIN_USER_PASSWORD\"}" | json_field tokens.access)
  ADMIN_PATIENT_ID=$(api_json POST /api/patients/ \
    "{\"name\":\"$ADMIN_PATIENT_NAME\",\"age\":47,\"gender\":\"F\",\"phone\":\"555-0147\",\"email\":\"zelda@example.com\",\"address\":\"1 Old Road\",\"medical_history\":\"None recorded.\"}" \
    "$token" | json_field id)
  export ADMIN_PATIENT_ID
  echo "admin test: staff $ADMIN_STAFF_EMAIL, user $ADMIN_USER_EMAIL, patient $ADMIN_PATIENT_ID ($ADMIN_PATIENT_NAME)"
}

echo "--- Schemathesis on SQLite"
start_server "sqlite://$work/fuzz.db"
scripts/fuzz-api.sh "$base"

echo "--- generated clients on SQLite"
ADMIN_CLI="env DATABASE_URL=sqlite://$work/fuzz.db $admin_cli" scripts/client-checks.sh "$base"

echo "--- docs pages in headless Chromium (network limited to the server)"
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
npm ci --silent --prefix tools/browser
node tools/browser/check-docs.mjs "$base" target/docs-screenshots

echo "--- admin site in headless Chromium (same server)"
admin_preconditions "sqlite://$work/fuzz.db"
node tools/browser/check-admin.mjs "$base" target/admin-screenshots
stop_server

echo "--- Schemathesis on PostgreSQL"
database="fuzz_$(date +%s)"
psql "$admin_url" -qc "CREATE DATABASE $database"
start_server "${admin_url%/*}/$database"
scripts/fuzz-api.sh "$base"
echo "--- generated Python client on PostgreSQL"
ADMIN_CLI="env DATABASE_URL=${admin_url%/*}/$database $admin_cli" scripts/client-checks.sh "$base" --python-only
stop_server
