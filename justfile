# Task runner (https://just.systems; install with `cargo install just --locked`).
# Every recipe is a plain command you can also run by hand.

# Serve on SQLite (data/healthcare.db), building in release mode.
run:
    cargo run --release

# Every Rust test (SQLite always; PostgreSQL when one can be started or TEST_DATABASE_URL is set).
test:
    cargo test --workspace

# The dependency rule: domain and core know no framework, no web crate knows Diesel, the JSON
# API knows nothing of the admin site, the binaries no mockall, and no module cycle.
check-deps:
    scripts/check-deps.sh

# Formatting and lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks against the database floor (docs/BENCHMARKS.md); `just bench --quick` for a smoke
# run, `just bench --scale 10` for ten times the data.
bench *args:
    scripts/bench/run.sh {{args}}

# Everything CI runs.
ci:
    bash .ci/run
