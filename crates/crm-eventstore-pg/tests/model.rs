//! The model-based property test of the segment store (`crm_eventstore::conformance::model`),
//! unchanged, against PostgreSQL: each case on a new database, a restart being a new store
//! on the same database.
#![allow(clippy::expect_used)] // a test that cannot open its store has failed

mod common;

use crm_eventstore::conformance::model::{op, run, Op};
use crm_eventstore_pg::{PgConfig, PgEventStore};
use proptest::prelude::*;

fn run_on_postgres(ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let Some(config) = common::fresh_database().await else {
            return;
        };
        let open = |config| async move {
            PgEventStore::open(PgConfig::new(config))
                .await
                .expect("open")
        };
        let store = open(config.clone()).await;
        run(store, ops, |store: PgEventStore| {
            drop(store);
            open(config.clone())
        })
        .await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn the_store_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run_on_postgres(ops);
    }
}
