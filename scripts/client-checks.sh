#!/usr/bin/env bash
# What an integrator does with the OpenAPI document, against a running server:
#   1. lints the served document with Redocly's recommended rules (errors fail; warnings are
#      listed),
#   2. generates a TypeScript client with @hey-api/openapi-ts and type-checks a call of every
#      operation (tools/clients/src/check.ts, `tsc --noEmit`),
#   3. generates a Python client with openapi-python-client and drives a workflow through every
#      operation with it, checking the typed models (tools/clients/workflow.py).
#
#   usage: scripts/client-checks.sh BASE_URL [--python-only]
# Environment:
#   ADMIN_CLI             the admin console for this server's database (e.g. "env
#                         DATABASE_URL=... healthcare-admin"), to make the workflow's auditor staff
#   HEALTHCARE_TOOLS_DIR  where the Python venv lives (default target/)
# Versions are pinned here and in tools/clients/package-lock.json; they are the last releases
# that run on Node.js 20.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?BASE_URL of a running server}
python_only=${2:-}
: "${ADMIN_CLI:?the admin console for the database of the server}"
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
work=$(mktemp -d /tmp/healthcare-client-checks.XXXXXX)
trap 'rm -rf "$work"' EXIT

curl -fsS --max-time 10 -o "$work/openapi.json" "$base/api/openapi.json"

if [ "$python_only" != "--python-only" ]; then
  npm ci --silent --no-audit --no-fund --prefix tools/clients
  echo "--- Redocly lint (recommended rules)"
  (cd tools/clients && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    npx --no-install redocly lint --config redocly.yaml --format stylish "$work/openapi.json" 2>&1 |
    grep -v -e '^ *║' -e '^ *╔' -e '^ *╚' -e '^$')

  echo "--- TypeScript client (@hey-api/openapi-ts), tsc --noEmit"
  rm -rf tools/clients/src/client
  generated=$(cd tools/clients &&
    npx --no-install openapi-ts -i "$work/openapi.json" -o src/client -c @hey-api/client-fetch 2>&1)
  if grep -qi "warn" <<<"$generated"; then
    echo "$generated"
    echo "@hey-api/openapi-ts warned about the document" >&2
    exit 1
  fi
  (cd tools/clients && npx --no-install tsc --noEmit -p .)
  echo "tsc: every operation's call type-checks"
fi

echo "--- Python client (openapi-python-client $OPENAPI_PYTHON_CLIENT_VERSION), workflow"
venv=${HEALTHCARE_TOOLS_DIR:-target}/clients-venv
if [[ ! -x $venv/bin/openapi-python-client ]] ||
  [[ $("$venv/bin/openapi-python-client" --version 2>/dev/null) != *" $OPENAPI_PYTHON_CLIENT_VERSION" ]]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION"
fi
generated=$("$venv/bin/openapi-python-client" generate --path "$work/openapi.json" \
  --output-path "$work/healthcare_client" --meta none --config tools/clients/python-client.yaml 2>&1)
echo "$generated"
if grep -qi "warning" <<<"$generated"; then
  echo "openapi-python-client warned about the document" >&2
  exit 1
fi
PYTHONPATH=$work "$venv/bin/python" tools/clients/workflow.py "$base"
