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
