//! Property test: random sequences of appends (with expected revisions, retries of the same
//! ids, conflicting writers, reopens) and reads, checked against a simple in-memory model
//! (`crm_eventstore::conformance::model`, which the PostgreSQL store runs too).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use crm_eventstore::conformance::model::{op, run, Op};
use crm_eventstore::{EventStore, StoreConfig};
use proptest::prelude::*;

fn run_on_segments(ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            segment_size_max_bytes: 4096,
            // Small in-memory index tables: reads then merge memory and sled, often while a
            // table is being flushed, and reopens re-index what was not flushed.
            index_table_records: 3,
            ..StoreConfig::default()
        };
        let store = EventStore::open(dir.path(), config.clone()).unwrap();
        let path = dir.path().to_path_buf();
        run(store, ops, |store: EventStore| {
            let (path, config) = (path.clone(), config.clone());
            async move {
                store.close().await.unwrap();
                drop(store);
                EventStore::open(&path, config).unwrap()
            }
        })
        .await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn the_store_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run_on_segments(ops);
    }
}
