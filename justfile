# Common jobs; each is the same command README.md gives.

# Run the server on the embedded store (see README).
run:
    cargo run --release -- serve --demo

# The whole test suite (what CI runs after fmt and clippy).
test:
    npm ci --prefix crates/crm-graphql/tests/audit && cargo test --workspace

# Benchmarks whose figures go into docs/PERFORMANCE.md.
bench:
    cargo bench -p crm-eventstore --bench eventstore
    bash benches/postgres.sh 5
    cargo bench -p crm-app --bench commands

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

ci:
    bash .ci/run

# Crash soak of the real server, not in CI: ROUNDS rounds of kill -9 under concurrent
# mutations, each restart checking every mutation is present exactly once and `crm verify`
# (the settings of the 1,000-round run in docs/OPERATIONS.md).
soak rounds="1000":
    cargo build --release --bin crm
    python3 benches/soak.py "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/crm" {{rounds}} --clients 4 --pace 0.02 --load-max 1.5

# Resident memory of `crm serve` on demo data sets of 25 and 250 days (docs/PERFORMANCE.md).
memory customers="10000":
    cargo build --release --bin crm
    bash benches/memory.sh "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/crm" /var/tmp/crm-memory {{customers}} 25 250
