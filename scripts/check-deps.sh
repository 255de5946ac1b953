#!/usr/bin/env bash
# The dependency rule, checked on the normal (shipped) dependency graph:
#   domain and ports know nothing of serde, Diesel, actix, tokio, bcrypt or JWT;
#   http never sees Diesel; mockall never reaches the shipped binaries;
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
forbid healthcare_ports "$core" "framework or I/O dependency"
forbid healthcare_http 'diesel|diesel_migrations|r2d2|mockall' "Diesel or mocks"
forbid healthcare_persistence 'actix-web|actix-http|mockall' "actix or mocks"
forbid healthcare_app 'mockall' "mockall in the shipped binaries"

if python3 scripts/check-module-cycles.py; then
  echo "ok:   no module import cycle in any crate"
else
  echo "FAIL: module import cycles (above)"
  failures=$((failures + 1))
fi

[ "$failures" -eq 0 ] || { echo "dependency rule broken ($failures)"; exit 1; }
echo "dependency rule holds"
