#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the test suite and prints its admin URL on stdout.
#   usage: eval "$(scripts/test-postgres.sh start DIR)"   -> exports TEST_DATABASE_URL
#          scripts/test-postgres.sh stop DIR
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail

action=${1:?start or stop}
dir=${2:?data folder}

bindir=""
for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
  if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then bindir=$candidate; fi
done
if [ -z "$bindir" ]; then
  echo "PostgreSQL server binaries not found: installing the postgresql package" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  for candidate in /usr/lib/postgresql/*/bin; do bindir=$candidate; done
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_pg "$bindir/initdb" -A trust -U postgres -E UTF8 --no-sync -D "$dir/data" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
      start >/dev/null
    echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
