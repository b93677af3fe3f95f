//! The conformance suite (`crm_eventstore::conformance`, the same functions the segment
//! store runs) against PostgreSQL, each check on a new, empty database.

mod common;

use crm_eventstore::conformance;
use crm_eventstore_pg::{PgConfig, PgEventStore};

macro_rules! on_fresh_store {
    ($check:path) => {{
        let Some(store) = common::fresh_store().await else {
            return;
        };
        $check(store).await;
    }};
}

#[tokio::test]
async fn expected_revisions() {
    on_fresh_store!(conformance::expected_revisions);
}

#[tokio::test]
async fn idempotent_appends() {
    on_fresh_store!(conformance::idempotent_appends);
}

/// Three stores on one database, as three nodes would be: their appends are serialised by
/// the database's advisory lock, not by anything in this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders() {
    let Some(config) = common::fresh_database().await else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(
            PgEventStore::open(PgConfig::new(config.clone()))
                .await
                .expect("open"),
        );
    }
    conformance::concurrent_appenders(stores).await;
}

#[tokio::test]
async fn reads_both_ways() {
    on_fresh_store!(conformance::reads_both_ways);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions() {
    on_fresh_store!(conformance::subscriptions);
}

#[tokio::test]
async fn hash_chain() {
    on_fresh_store!(conformance::hash_chain);
}
