//! The conformance suite (`crm_eventstore::conformance`, shared with the PostgreSQL backend)
//! against the segment store, each check on a fresh store in a temporary directory.

use crm_eventstore::conformance;
use crm_eventstore::{EventStore, StoreConfig};

/// A fresh store; small segments so that reads cross segment boundaries.
fn fresh() -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = StoreConfig {
        segment_size_max_bytes: 4096,
        ..StoreConfig::default()
    };
    let store = EventStore::open(dir.path(), config).expect("open");
    (dir, store)
}

#[tokio::test]
async fn expected_revisions() {
    let (_dir, store) = fresh();
    conformance::expected_revisions(store).await;
}

#[tokio::test]
async fn idempotent_appends() {
    let (_dir, store) = fresh();
    conformance::idempotent_appends(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders() {
    let (_dir, store) = fresh();
    // One store per data directory: the handles are clones sharing its writer.
    conformance::concurrent_appenders(vec![store.clone(), store.clone(), store]).await;
}

#[tokio::test]
async fn reads_both_ways() {
    let (_dir, store) = fresh();
    conformance::reads_both_ways(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions() {
    let (_dir, store) = fresh();
    conformance::subscriptions(store).await;
}

#[tokio::test]
async fn hash_chain() {
    let (_dir, store) = fresh();
    conformance::hash_chain(store).await;
}
