#!/usr/bin/env bash
# Property-based fuzzing of a running API against its own OpenAPI document, with Schemathesis.
#
#   scripts/fuzz-api.sh BASE_URL            e.g. scripts/fuzz-api.sh http://127.0.0.1:8123
#
# The server must already be running at BASE_URL. The script
#   1. creates (or reuses) a Python venv at target/fuzz-venv (or $HEALTHCARE_TOOLS_DIR/fuzz-venv)
#      with a pinned Schemathesis,
#   2. registers a fresh user (random e-mail) and takes its access token,
#   3. runs `st run BASE_URL/api/openapi.json` with that token as a bearer header, a fixed
#      seed and a bounded number of examples per operation, every phase (stateful included)
#      and every check, with the commented exclusion list in the config below (rules no
#      schema can state).
# It exits non-zero when the server is unreachable, registration fails, or Schemathesis reports
# any failure or error; Schemathesis prints its own summary last. Reports (JUnit XML and an
# NDJSON event log, and the crash files `st replay` reads) go to target/fuzz-report/.
#
# Knobs (environment): FUZZ_SEED (default 20240611), FUZZ_MAX_EXAMPLES (30), FUZZ_WORKERS (1),
# FUZZ_TIMEOUT (hard cap on the Schemathesis run in seconds, 600), PYTHON (python3),
# FUZZ_ADMIN_CLI (the admin CLI, e.g. "env DATABASE_URL=... healthcare-admin": the fuzz user is
# made staff with a second factor enrolled at the console, and its token is exchanged for a
# two-factor one with a recovery code, so the staff-only routes are fuzzed too; without it
# they answer 403 and the run fails on that warning).
# One worker by default: with more, Python 3.11 (this machine's python3) breaks inside
# Hypothesis ("AST constructor recursion depth mismatch", a CPython bug in concurrent ast.parse)
# and Schemathesis reports it as a runtime error; one worker is also what keeps a seed's run
# repeatable.
# Only aim it at a server of your own on this machine: it creates, changes and deletes data.

set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
CHECKS=all
PASSWORD=vivid-otter-41-harbour

if [[ $# -ne 1 || -z $1 || $1 == -h || $1 == --help ]]; then
    echo "usage: scripts/fuzz-api.sh BASE_URL   (e.g. http://127.0.0.1:8123; the server must be running)" >&2
    exit 2
fi
base=${1%/}
case $base in
    http://* | https://*) ;;
    *) echo "fuzz-api: BASE_URL must start with http:// or https://, got: $1" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${HEALTHCARE_TOOLS_DIR:-$root/target}/fuzz-venv
report_dir=$root/target/fuzz-report
seed=${FUZZ_SEED:-20240611}
max_examples=${FUZZ_MAX_EXAMPLES:-30}
workers=${FUZZ_WORKERS:-1}
run_timeout=${FUZZ_TIMEOUT:-600}
python=${PYTHON:-python3}

for tool in curl timeout "$python"; do
    command -v "$tool" >/dev/null || { echo "fuzz-api: $tool is not installed" >&2; exit 1; }
done

# 1. Schemathesis, pinned, in its own venv (reused when it already has the right version).
if [[ ! -x $venv/bin/st ]] || [[ $("$venv/bin/st" --version 2>/dev/null) != *" $SCHEMATHESIS_VERSION" ]]; then
    echo "fuzz-api: installing schemathesis==$SCHEMATHESIS_VERSION into ${venv#"$root"/}" >&2
    [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
echo "fuzz-api: $("$venv/bin/st" --version)" >&2

# The document must be there before anything else.
if ! curl -fsS -o /dev/null --max-time 10 "$base/api/openapi.json"; then
    echo "fuzz-api: cannot fetch $base/api/openapi.json; is the server running?" >&2
    exit 1
fi

# 2. A fresh user and its access token.
email="fuzz-$(date +%s)-$RANDOM$RANDOM@example.com"
body=$(printf '{"name":"Fuzz Tester","email":"%s","password":"%s"}' "$email" "$PASSWORD")
response=$(mktemp)
trap 'rm -f "$response"' EXIT
status=$(curl -sS --max-time 30 -o "$response" -w '%{http_code}' \
    -H 'Content-Type: application/json' -H 'Accept: application/json' \
    --data "$body" "$base/api/auth/register/") || status=000
if [[ $status != 201 && $status != 200 ]]; then
    echo "fuzz-api: registering $email answered HTTP $status:" >&2
    head -c 2000 "$response" >&2 || true
    echo >&2
    exit 1
fi
read -r token user_id < <("$venv/bin/python" -c '
import json, sys
try:
    session = json.load(open(sys.argv[1]))
    print(session["tokens"]["access"], session["user"]["id"])
except (ValueError, KeyError, TypeError) as error:
    sys.exit("no tokens.access or user.id in the register response: %r" % (error,))
' "$response") || true
[[ -n ${token:-} && -n ${user_id:-} ]] || { echo "fuzz-api: $(head -c 2000 "$response")" >&2; exit 1; }
echo "fuzz-api: registered $email (user $user_id)" >&2
if [[ -n ${FUZZ_ADMIN_CLI:-} ]]; then
    read -ra admin_cli <<<"$FUZZ_ADMIN_CLI"
    "${admin_cli[@]}" users grant-staff "$user_id" >&2
    recovery_code=$("${admin_cli[@]}" users enrol-second-factor "$user_id" |
        sed -n 's/^recovery code: //p' | head -n 1)
    [[ -n $recovery_code ]] || { echo "fuzz-api: no recovery code from the console enrolment" >&2; exit 1; }
    status=$(curl -sS --max-time 30 -o "$response" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
        --data "{\"code\": \"$recovery_code\"}" "$base/api/auth/second-factor/") || status=000
    if [[ $status != 200 ]]; then
        echo "fuzz-api: the second-factor step answered HTTP $status: $(head -c 2000 "$response")" >&2
        exit 1
    fi
    token=$("$venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["access"])' "$response")
    echo "fuzz-api: staff with a second factor" >&2
fi

# 3. The run. The report folder is emptied first and holds this run only: JUnit XML, NDJSON
# events, and Schemathesis's crash cache (what `st replay ID` reads). The config file pins that
# cache there instead of ./.schemathesis, and starting it empty keeps runs repeatable from the
# seed alone, as does --generation-database none; timeout is a safety net, not the bound.
rm -rf "$report_dir"
mkdir -p "$report_dir"
config=$report_dir/schemathesis.toml
# Warnings that mean the checks silently did less than they claim also fail the run: a $ref the
# document does not define (that part of the schema goes unchecked), a token the API refuses
# everywhere, a base URL the document disagrees with.
cat >"$config" <<EOF
[cache]
enabled = true
directory = "$report_dir/cache"

[warnings]
fail-on = ["unresolvable_reference", "missing_auth", "base_url_mismatch"]

# The exclusion list: rules that no schema can state. Each widens the statuses one check
# accepts, for the named operations only; every other check still runs on them.

# A conditional write with an If-Match that names another version answers 412, and it does so
# before the body is read (RFC 9110, 13.2.1), whatever the body holds. Which version is current
# is the server's state, not something a schema can say.
[[operations]]
include-operation-id = ["replace_patient", "patch_patient"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 412, 429, "5xx"]
checks.negative_data_rejection.expected-statuses = [400, 401, 403, 404, 405, 406, 409, 412, 415, 422, 428, 429, "5xx"]

# The same for doctors, whose `user` must also name an existing account (a data rule, below).
[[operations]]
include-operation-id = ["replace_doctor", "patch_doctor"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 412, 429, "5xx"]
checks.negative_data_rejection.expected-statuses = [400, 401, 403, 404, 405, 406, 409, 412, 415, 422, 428, 429, "5xx"]

# Rules on the data rather than its shape: a password's strength (common, numeric, too similar
# to the name or e-mail, at most 72 *bytes*), the confirmation matching it, an e-mail already
# registered, the old password being right, a second-factor code being current, a mapping's
# patient and doctor existing, being visible, available and not already paired, an invitation
# token being live and made for the caller's address, a clinic keeping an admin and its
# personal owner, a personal clinic taking no other member, a clinic to switch to having the
# caller as a member, and a doctor's linked `user` existing.
[[operations]]
include-operation-id = ["register", "change_password", "confirm_second_factor", "assign_doctor", "accept_invitation", "change_member_role", "remove_member", "invite_to_clinic", "switch_clinic", "create_doctor"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 400, 401, 403, 404, 409, 429, "5xx"]
EOF
echo "fuzz-api: seed $seed, at most $max_examples examples per operation, $workers worker(s), checks $CHECKS" >&2

# One Schemathesis run over the operations the filter arguments select.
fuzz() {
    local rc
    set +e
    timeout --foreground --kill-after=10 "$run_timeout" \
        "$venv/bin/st" --config-file "$config" run "$base/api/openapi.json" \
        --url "$base" \
        --header "Authorization: Bearer $token" \
        --checks "$CHECKS" \
        --seed "$seed" \
        --max-examples "$max_examples" \
        --workers "$workers" \
        --generation-database none \
        --request-timeout 15 \
        --output-sanitize true \
        --report junit,ndjson \
        --report-dir "$report_dir" \
        "$@"
    rc=$?
    set -e
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        echo "fuzz-api: FAILED: Schemathesis did not finish within ${run_timeout}s" >&2
        exit 1
    elif [[ $rc -ne 0 ]]; then
        echo "fuzz-api: FAILED (schemathesis exit code $rc); reports in ${report_dir#"$root"/}/" >&2
        echo "fuzz-api: replay one: $venv/bin/st --config-file $config replay ID --header 'Authorization: Bearer TOKEN'" >&2
        exit "$rc"
    fi
}

# Switching clinics answers a new token pair of the fuzz user itself, and Schemathesis feeds
# values from responses into later requests: a logout with that refresh token then refuses the
# user's access tokens (as a sign-out must), the fuzz token among them, and every later request
# answers 401. So switching is fuzzed in a run of its own, after everything else (no stateful
# phase there: no link leads from one operation to itself).
fuzz --exclude-operation-id switch_clinic
fuzz --include-operation-id switch_clinic --phases examples,coverage,fuzzing
echo "fuzz-api: OK; reports in ${report_dir#"$root"/}/" >&2
