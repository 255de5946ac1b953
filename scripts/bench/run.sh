#!/usr/bin/env bash
# Benchmarks against the database floor (docs/BENCHMARKS.md says how to read the results).
#   usage: scripts/bench/run.sh [--quick] [--scale N]
# Builds the release server and the SQLite floor driver, seeds a PostgreSQL database and an
# SQLite file, drives the server with wrk (64 connections) through scenarios S1–S6, FHIR's F2
# (Patient read) and F3 (a 20-entry Patient search), plus S2 with AUDIT_READS=false, runs the
# same SQL directly on each database (pgbench / sqlite_floor),
# and writes the results table: into docs/BENCHMARKS.md (full mode, every scenario on both
# databases) or only under target/bench/ (--quick: a few seconds per scenario on a small data
# set, for CI, numbers not checked; or a subset chosen with BENCH_SCENARIOS/BENCH_DATABASES).
# --scale N multiplies the patients, doctors and mappings by N (the users stay 50; S3 still
# reads the first pages of scale 1), to show that a page does not get slower as tables grow;
# its table goes under target/bench/ only.
#
# Environment:
#   BENCH_POSTGRES_ADMIN_URL  PostgreSQL admin URL to create the benchmark database in (it is
#                             dropped afterwards; the server's CPU is counted when its data
#                             directory is readable here); without it a throwaway server is
#                             started with scripts/test-postgres.sh
#   BENCH_DURATION            seconds per scenario (default 20; --quick: 2)
#   BENCH_DATABASES           "postgres sqlite" (default), or one of them
#   BENCH_SCENARIOS           the API scenarios to run (default "S1 S2 S3 F2 F3 S5 S6 S4"; their
#                             floors follow, and S2-noaudit with S2), e.g. "S2" for an A/B run
#   CARGO_TARGET_DIR          honoured (default target/)
#   HEALTHCARE_BIN_DIR        folder holding healthcare-api and examples/sqlite_floor already
#                             built (CI's smoke run passes its test build's); without it they are
#                             built in release mode, as numbers worth reading need
#   DATABASE_POOL_SIZE, ...   any server setting in the environment reaches the server
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/bench

mode=full
scale=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --scale)
      scale=${2:-}
      [[ "$scale" =~ ^[1-9][0-9]*$ ]] || { echo "--scale takes a positive integer" >&2; exit 2; }
      shift ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (usage: scripts/bench/run.sh [--quick] [--scale N])" >&2; exit 2 ;;
  esac
  shift
done

if [ "$mode" = quick ]; then
  duration=${BENCH_DURATION:-2}
  n_users=5 n_patients=250 n_doctors=40 n_active=500 n_removed=125
  warmup=0
else
  duration=${BENCH_DURATION:-20}
  n_users=50 n_patients=$((10000 * scale)) n_doctors=$((500 * scale))
  n_active=$((20000 * scale)) n_removed=$((5000 * scale))
  warmup=3
fi
# S3's pages: those of one user at scale 1, so a larger scale reads the same pages of a larger
# table.
max_pages=$(( (n_patients / scale / n_users + 19) / 20 ))
databases=${BENCH_DATABASES:-postgres sqlite}
scenarios=${BENCH_SCENARIOS:-S1 S2 S3 F2 F3 S5 S6 S4}
wanted() { printf ' %s ' "$scenarios" | grep -q " $1 "; }
ready_runs=10
password="vivid-otter-41-harbour"
email() { printf 'bench-user-%03d@example.org' "$1"; }

target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/bench/$mode"
[ "$scale" -gt 1 ] && out="$out-scale$scale"
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
results="$out/results.jsonl"
: >"$results"
work=$(mktemp -d /tmp/healthcare-bench.XXXXXX)
pg_dir="" pg_data="" database="" admin_url="" server_pid="" flood_pid=""

cleanup() {
  [ -n "$flood_pid" ] && kill "$flood_pid" 2>/dev/null
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [ -n "$database" ] && [ -z "$pg_dir" ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1
  fi
  [ -n "$pg_dir" ] && scripts/test-postgres.sh stop "$pg_dir"
  rm -rf "$work"
  return 0
}
trap cleanup EXIT

say() { printf '\n--- %s\n' "$*"; }

say "tools"
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null
fi
for tool in wrk psql pgbench curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
wrk --version 2>&1 | head -1 || true

if [ -n "${HEALTHCARE_BIN_DIR:-}" ]; then
  bin_dir=$HEALTHCARE_BIN_DIR
else
  say "release build"
  cargo build --release --locked -p healthcare_app
  cargo build --release --locked --example sqlite_floor -p healthcare_persistence
  bin_dir=$target_dir/release
fi
binary="$bin_dir/healthcare-api"
floor_sqlite="$bin_dir/examples/sqlite_floor"

export SECRET_KEY=bench-secret-key-of-at-least-32-bytes-0123456789
export BCRYPT_COST=12 THROTTLE_AUTH_PER_ADDRESS_PER_MINUTE=0 RUST_LOG=warn

start_server() { # DATABASE_URL [VAR=value ...]
  local url=$1 port
  shift
  port=$(python3 $here/bench.py free-port)
  env "$@" DATABASE_URL="$url" PORT="$port" "$binary" >>"$out/server.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    curl -fsS "$base/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not become ready:" >&2
  tail -20 "$out/server.log" >&2
  exit 1
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# CPU ticks of the PostgreSQL server (postmaster and its processes), or 0 when its data directory
# is not readable here (a remote BENCH_POSTGRES_ADMIN_URL, or another user's server): on 2 cores
# its CPU is the API's competition. Fields 16-17 of the postmaster are its reaped children's
# (backends and autovacuum workers that ended during the scenario).
postgres_ticks() {
  [ -n "$pg_data" ] && [ -r "$pg_data/postmaster.pid" ] || { echo 0; return; }
  local postmaster
  postmaster=$(head -1 "$pg_data/postmaster.pid")
  {
    awk '{ print $14 + $15 + $16 + $17 }' /proc/"$postmaster"/stat 2>/dev/null
    # shellcheck disable=SC2046 # one path per process
    cat $(pgrep -P "$postmaster" | sed 's|.*|/proc/&/stat|') /dev/null 2>/dev/null |
      awk '{ print $14 + $15 }'
  } | awk '{ sum += $1 } END { print sum + 0 }'
}

query() { # DB URL SQL -> first column of the result
  if [ "$1" = postgres ]; then
    psql "$2" -qAtc "$3"
  else
    python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(row[0])' "$2" "$3"
  fi
}

say "databases"
sqlite_file="$work/bench.db"
if printf '%s' "$databases" | grep -qw postgres; then
  if [ -n "${BENCH_POSTGRES_ADMIN_URL:-}" ]; then
    admin_url=$BENCH_POSTGRES_ADMIN_URL
    pg_data=$(psql "$admin_url" -qAtc "SHOW data_directory" 2>/dev/null || true)
  else
    pg_dir=$(mktemp -d /tmp/healthcare-bench-pg.XXXXXX)
    eval "$(scripts/test-postgres.sh start "$pg_dir")"
    admin_url=$TEST_DATABASE_URL
    pg_data=$pg_dir/data
  fi
  database="bench_$(date +%s)_$$"
  psql "$admin_url" -qc "CREATE DATABASE $database"
  pg_url="${admin_url%/*}/$database"
  echo "PostgreSQL database $database"
fi

url_of() { if [ "$1" = postgres ]; then echo "$pg_url"; else echo "sqlite://$sqlite_file"; fi; }
conn_of() { if [ "$1" = postgres ]; then echo "$pg_url"; else echo "$sqlite_file"; fi; }

for db in $databases; do
  say "seeding $db: $n_users users (API, bcrypt cost 12), $n_patients patients, $n_doctors doctors, $n_active + $n_removed mappings"
  seeded=$(date +%s.%N)
  start_server "$(url_of "$db")"
  python3 $here/bench.py register "$base" "$n_users" "$password"
  stop_server
  if [ "$db" = postgres ]; then target=(--psql "$pg_url"); else target=(--sqlite "$sqlite_file"); fi
  python3 $here/bench.py seed "${target[@]}" --patients "$n_patients" --doctors "$n_doctors" \
    --active "$n_active" --removed "$n_removed"
  # The first start folds the seeded names, as after an upgrade; statistics come after it.
  start_server "$(url_of "$db")"
  stop_server
  python3 $here/bench.py analyze "${target[@]}"
  echo "seeded in $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$seeded" "$(date +%s.%N)") s"
done

run_wrk() { # DB NAME SCENARIO TOKEN
  local db=$1 name=$2 scenario=$3 token=$4 ticks_before ticks_after login_file=""
  local db_ticks_before=0 db_ticks_after=0
  echo 5 >"/proc/$server_pid/clear_refs" # resets VmHWM to the current RSS
  ticks_before=$(cpu_ticks "$server_pid")
  [ "$db" = postgres ] && db_ticks_before=$(postgres_ticks)
  if [ "$name" = S6 ]; then
    login_file="$out/$db-S6-logins.txt"
    SCENARIO=LOGIN USERS="$all_emails" PASSWORD="$password" \
      wrk -c4 -t1 -d"${duration}s" --latency -s $here/scenario.lua "$base" >"$login_file" &
    flood_pid=$!
  fi
  SCENARIO=$scenario TOKEN=$token ID_LO=$id_lo ID_HI=$id_hi PAGES=$pages \
    wrk -c64 -t2 -d"${duration}s" --latency -s $here/scenario.lua "$base" >"$out/$db-$name.txt"
  if [ -n "$flood_pid" ]; then wait "$flood_pid"; flood_pid=""; fi
  ticks_after=$(cpu_ticks "$server_pid")
  [ "$db" = postgres ] && db_ticks_after=$(postgres_ticks)
  python3 $here/bench.py record "$results" --db "$db" --scenario "$name" --kind api \
    --wrk "$out/$db-$name.txt" ${login_file:+--login-wrk "$login_file"} \
    --cpu-ticks "$((ticks_after - ticks_before))" \
    --db-cpu-ticks "$((db_ticks_after - db_ticks_before))" --clk-tck "$(getconf CLK_TCK)" \
    --hwm-kib "$(status_kib "$server_pid" VmHWM)"
}

run_floor() { # DB SCENARIO USER_ID: SCENARIO is S1..S5, or S<n>_best (PostgreSQL, where floor/pg_S<n>_best.sql exists)
  local db=$1 scenario=$2 uid=$3 clinic
  clinic=$(query "$db" "$(conn_of "$db")" "SELECT id FROM clinics WHERE personal_owner_id = $uid")
  if [ "$db" = postgres ]; then
    # The server's connections plan each prepared statement once; the floor's do too.
    PGOPTIONS="-c plan_cache_mode=force_generic_plan" \
      pgbench -n -c64 -j2 -T "$duration" -M prepared -f "$here/floor/pg_$scenario.sql" \
        -D uid="$uid" -D clinic="$clinic" -D lo="$id_lo" -D hi="$id_hi" -D pages="$pages" \
        -l --log-prefix="$work/pgbench_$scenario" "$pg_url" >"$out/$db-floor-$scenario.txt" 2>&1
    python3 $here/bench.py record "$results" --db "$db" --scenario "$scenario" --kind floor \
      --pgbench "$out/$db-floor-$scenario.txt" --pgbench-log "$work/pgbench_$scenario"
    rm -f "$work/pgbench_$scenario".*
  else
    "$floor_sqlite" "$sqlite_file" "$scenario" 64 "$duration" "$uid" "$clinic" "$id_lo" "$id_hi" "$pages" \
      >"$out/$db-floor-$scenario.txt"
    python3 $here/bench.py record "$results" --db "$db" --scenario "$scenario" --kind floor \
      --floor-json "$out/$db-floor-$scenario.txt"
  fi
}

all_emails=$(for i in $(seq 1 "$n_users"); do printf '%s ' "$(email "$i")"; done)
for db in $databases; do
  url=$(url_of "$db")
  conn=$(conn_of "$db")
  # S2, S3, S5 read user 1's patients; S4 writes as user 2, so S3's pages keep their size.
  uid=$(query "$db" "$conn" "SELECT id FROM users WHERE email_lower = '$(email 1)'")
  uid2=$(query "$db" "$conn" "SELECT id FROM users WHERE email_lower = '$(email 2)'")
  id_lo=$(query "$db" "$conn" "SELECT min(id) FROM patients WHERE owner_id = $uid")
  id_hi=$(query "$db" "$conn" "SELECT max(id) FROM patients WHERE owner_id = $uid")
  pages=$(( ($(query "$db" "$conn" "SELECT count(*) FROM patients WHERE owner_id = $uid") + 19) / 20 ))
  [ "$pages" -gt "$max_pages" ] && pages=$max_pages

  say "$db: API scenarios, ${duration}s each, wrk -c64 -t2"
  start_server "$url"
  sleep 1
  python3 $here/bench.py record "$results" --db "$db" --kind idle \
    --rss-kib "$(status_kib "$server_pid" VmRSS)"
  token=$(python3 $here/bench.py login "$base" "$(email 1)" "$password")
  token2=$(python3 $here/bench.py login "$base" "$(email 2)" "$password")
  if [ "$warmup" -gt 0 ]; then
    SCENARIO=S2 TOKEN=$token ID_LO=$id_lo ID_HI=$id_hi \
      wrk -c64 -t2 -d"${warmup}s" -s $here/scenario.lua "$base" >/dev/null
  fi
  for scenario in $scenarios; do
    case $scenario in
      S6) run_wrk "$db" S6 S2 "$token" ;;
      S4) run_wrk "$db" S4 S4 "$token2" ;;
      *) run_wrk "$db" "$scenario" "$scenario" "$token" ;;
    esac
    tail -1 "$results"
  done
  stop_server

  if wanted S2; then
    say "$db: S2 with AUDIT_READS=false"
    start_server "$url" AUDIT_READS=false
    token=$(python3 $here/bench.py login "$base" "$(email 1)" "$password")
    [ "$warmup" -gt 0 ] && SCENARIO=S2 TOKEN=$token ID_LO=$id_lo ID_HI=$id_hi \
      wrk -c64 -t2 -d"${warmup}s" -s $here/scenario.lua "$base" >/dev/null
    run_wrk "$db" S2-noaudit S2 "$token"
    tail -1 "$results"
    stop_server
  fi

  say "$db: floor, the same SQL without HTTP, ${duration}s each, 64 clients"
  for scenario in S1 S2 S3 S5 S4; do
    wanted "$scenario" || continue
    writer=$uid
    [ "$scenario" = S4 ] && writer=$uid2
    run_floor "$db" "$scenario" "$writer"
    tail -1 "$results"
    # Where fewer statements give the same answer than the server sends, that is the floor too.
    if [ "$db" = postgres ] && [ -f "$here/floor/pg_${scenario}_best.sql" ]; then
      run_floor "$db" "${scenario}_best" "$writer"
      tail -1 "$results"
    fi
  done

  if [ "$db" = sqlite ]; then
    say "sqlite: process start to /health/ready (median of $ready_runs, migrations applied)"
    python3 $here/bench.py ready-time "$binary" "$url" "$ready_runs" >"$out/ready.json"
    python3 $here/bench.py record "$results" --db sqlite --kind ready --ready-json "$out/ready.json"
    cat "$out/ready.json"
  fi
done

say "results"
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
command="scripts/bench/run.sh"
[ "$mode" = quick ] && command="$command --quick"
[ "$scale" -gt 1 ] && command="$command --scale $scale"
[ -n "${DATABASE_POOL_SIZE:-}" ] && command="DATABASE_POOL_SIZE=$DATABASE_POOL_SIZE $command"
[ -n "${BENCH_DURATION:-}" ] && command="BENCH_DURATION=$BENCH_DURATION $command"
meta=(
  "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  "machine=$(nproc) cores (${cpu_model:-unknown CPU}), ${mem_gib} GiB memory"
  "commit=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"
  "duration=$duration"
  "dataset=$n_users users, $n_patients patients ($((n_patients / n_users)) per user), $n_doctors doctors, $n_active active and $n_removed removed mappings"
  "command=$command"
  "ready_runs=$ready_runs"
)
if [ "$mode" = full ] && [ "$scale" = 1 ] && [ -z "${BENCH_SCENARIOS:-}${BENCH_DATABASES:-}" ]; then
  python3 $here/bench.py report "$results" "$out/table.md" --docs docs/BENCHMARKS.md --meta "${meta[@]}"
  echo "table written to docs/BENCHMARKS.md (raw outputs in $out)"
else
  python3 $here/bench.py report "$results" "$out/table.md" --meta "${meta[@]}"
  echo "partial or quick run: table in $out/table.md only (docs/BENCHMARKS.md left as it is)"
fi
