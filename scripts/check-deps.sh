#!/usr/bin/env bash
# The dependency rule, checked on the normal (shipped) dependency graph:
#   domain and core know nothing of serde, Diesel, actix, tokio, bcrypt or JWT;
#   the web adapters (JSON API, admin site, FHIR, their shared web crate) never see Diesel,
#   and none of the three sees another;
#   the JSON API never sees the admin site: no HTML or QR code crates, no cookies, and no
#   staff-only service named in its source; mockall never reaches the shipped binaries;
#   unsafe code is allowed in one module only (glibc's allocator calls);
#   and inside each crate no module imports a module that imports it back.
set -euo pipefail
cd "$(dirname "$0")/.."

failures=0
forbid() { # crate, pattern, reason
  local found
  found=$(cargo tree -e normal -p "$1" --prefix none --format '{p}' 2>/dev/null | awk '{print $1}' | sort -u | grep -Ex "$2" || true)
  if [ -n "$found" ]; then
    echo "FAIL: $1 depends on $(echo "$found" | tr '\n' ' ')($3)"
    failures=$((failures + 1))
  else
    echo "ok:   $1 has no $3"
  fi
}

core='serde|serde_derive|serde_json|diesel|diesel_migrations|actix-web|actix-rt|actix-http|tokio|bcrypt|jsonwebtoken|mockall'
forbid healthcare_domain "$core" "framework or I/O dependency"
forbid healthcare_core "$core" "framework or I/O dependency"
forbid healthcare_web 'diesel|diesel_migrations|r2d2|mockall|maud|qrcode|utoipa' "Diesel, mocks, HTML or OpenAPI"
forbid healthcare_json_api 'diesel|diesel_migrations|r2d2|mockall|maud|qrcode|healthcare_admin_site' "Diesel, mocks, HTML, QR codes or the admin site"
forbid healthcare_admin_site 'diesel|diesel_migrations|r2d2|mockall|healthcare_json_api|utoipa' "Diesel, mocks, the JSON API or OpenAPI"
forbid healthcare_fhir 'diesel|diesel_migrations|r2d2|mockall|maud|qrcode|healthcare_json_api|healthcare_admin_site|utoipa' "Diesel, mocks, HTML, the JSON API, the admin site or OpenAPI"

# Built alone, the JSON API has no cookie support (the admin site's session is its own).
if cargo tree -p healthcare_json_api -e features --prefix none 2>/dev/null | grep -q '^actix-web feature "cookies"'; then
  echo "FAIL: healthcare_json_api enables actix-web's cookies"
  failures=$((failures + 1))
else
  echo "ok:   healthcare_json_api has no cookies"
fi

# The staff-only use cases (user administration, the admin sign-in) are the admin site's, and
# only the console acts as the operator.
staff_only='StaffRecords|StaffSignIn|StaffCaller|staff_records|staff_sign_in|Caller::operator|Actor::'
if named=$(grep -rnE "$staff_only" crates/api/src crates/fhir/src); then
  echo "FAIL: the JSON API or FHIR adapter names staff-only services:"
  echo "$named"
  failures=$((failures + 1))
else
  echo "ok:   healthcare_json_api and healthcare_fhir name no staff-only service"
fi
forbid healthcare_persistence 'actix-web|actix-http|mockall' "actix or mocks"
forbid healthcare_app 'mockall' "mockall in the shipped binaries"

# unsafe code is denied everywhere (every crate takes the workspace's lints); only the
# allocator module may allow it (two glibc calls).
allowed=$(grep -rnE '\b(allow|expect|warn)[[:space:]]*\([^)]*\bunsafe_code\b' crates --include='*.rs' |
  grep -v '^crates/app/src/memory.rs:' || true)
own_lints=$(for manifest in crates/*/Cargo.toml; do
  awk '/^\[lints\]/ { section = 1; next } /^\[/ { section = 0 } section && /^workspace = true/ { found = 1 }
       END { if (!found) print FILENAME }' "$manifest"
done)
if [ -n "$allowed$own_lints" ]; then
  echo "FAIL: unsafe code allowed outside crates/app/src/memory.rs, or a crate without the workspace's lints:"
  printf '%s\n' "$allowed" "$own_lints"
  failures=$((failures + 1))
else
  echo "ok:   unsafe code only in crates/app/src/memory.rs; every crate takes the workspace's lints"
fi

if python3 scripts/check-module-cycles.py; then
  echo "ok:   no module import cycle in any crate"
else
  echo "FAIL: module import cycles (above)"
  failures=$((failures + 1))
fi

[ "$failures" -eq 0 ] || { echo "dependency rule broken ($failures)"; exit 1; }
echo "dependency rule holds"
