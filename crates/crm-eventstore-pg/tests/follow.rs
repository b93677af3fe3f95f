//! Nodes on one database: a log moved into PostgreSQL with its positions and hashes, local
//! copies that follow it, appends through any node that come back through the copy, and a
//! copy that refuses a log altered behind its back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;
use std::time::Duration;

use crm_eventstore::conformance::{event, stream};
use crm_eventstore::{
    AllStart, Appender, Direction, EventStore, ExpectedRevision, RecordedEvent, StoreConfig,
    StoreError,
};
use crm_eventstore_pg::{PgConfig, PgEventStore, PgFollower};

async fn segment_log(dir: &std::path::Path, appends: u64) -> EventStore {
    let store = EventStore::open(dir, StoreConfig::default()).unwrap();
    for n in 0..appends {
        let batch = if n % 4 == 0 {
            vec![event(n * 10, "A"), event(n * 10 + 1, "B")]
        } else {
            vec![event(n * 10, "A")]
        };
        store
            .append(
                &stream(&format!("customer-{}", n % 5)),
                ExpectedRevision::Any,
                batch,
            )
            .await
            .unwrap();
    }
    store
}

fn all_local(store: &EventStore) -> Vec<RecordedEvent> {
    store
        .read_all(AllStart::Start, Direction::Forwards, 100_000)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_moved_into_postgres_and_copied_back_keeps_every_position_and_hash() {
    let Some(pg) = common::fresh_store().await else {
        return;
    };
    let a = tempfile::tempdir().unwrap();
    let source = segment_log(a.path(), 120).await;
    let records = all_local(&source);
    for page in records.chunks(17) {
        assert_eq!(
            pg.import_records(page.to_vec()).await.unwrap(),
            page.len() as u64
        );
    }
    let (vs, vp) = (source.verify().unwrap(), pg.verify().await.unwrap());
    assert!(vp.is_ok(), "{:?}", vp.findings);
    assert_eq!(vs.head_hash, vp.head_hash);

    let b = tempfile::tempdir().unwrap();
    let copy = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    let follower = PgFollower::new(pg.clone(), copy.clone());
    assert_eq!(follower.catch_up().await.unwrap(), records.len() as u64);
    assert_eq!(
        all_local(&copy),
        records,
        "every field, recorded-at and hash included"
    );
    assert_eq!(copy.verify().unwrap().head_hash, vs.head_hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_does_not_follow_the_log_writes_nothing() {
    let Some(pg) = common::fresh_store().await else {
        return;
    };
    let a = tempfile::tempdir().unwrap();
    let records = all_local(&segment_log(a.path(), 10).await);
    let mut altered = records.clone();
    altered[4].payload.push(1);
    match pg.import_records(altered).await {
        Err(StoreError::ImportMismatch { position, .. }) => assert_eq!(position.0, 5),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        pg.head().await.unwrap().0,
        0,
        "one transaction: nothing written"
    );
    // Not starting right after the head.
    match pg.import_records(records[3..].to_vec()).await {
        Err(StoreError::ImportMismatch { position, .. }) => assert_eq!(position.0, 4),
        other => panic!("expected a refusal, got {other:?}"),
    }
    pg.import_records(records.clone()).await.unwrap();
    assert_eq!(pg.head().await.unwrap(), records.last().unwrap().position);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_through_two_nodes_reach_both_copies_and_a_conflict_is_decided_again() {
    let Some(config) = common::fresh_database().await else {
        return;
    };
    let open = || async {
        PgEventStore::open(PgConfig::new(config.clone()))
            .await
            .unwrap()
    };
    let (pa, pb) = (open().await, open().await);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let copy_a = EventStore::open(da.path(), StoreConfig::default()).unwrap();
    let copy_b = EventStore::open(db.path(), StoreConfig::default()).unwrap();
    let (fa, fb) = (
        PgFollower::new(pa, copy_a.clone()),
        PgFollower::new(pb, copy_b.clone()),
    );
    let (ta, tb) = (
        fa.spawn(Duration::from_millis(200)),
        fb.spawn(Duration::from_millis(200)),
    );
    let (appa, appb): (Arc<dyn Appender>, Arc<dyn Appender>) =
        (Arc::new(fa.appender()), Arc::new(fb.appender()));

    // Concurrent appends through both nodes, each to its own streams.
    let mut tasks = Vec::new();
    for (node, appender) in [(0u64, appa.clone()), (1, appb.clone())] {
        tasks.push(tokio::spawn(async move {
            for n in 0..40u64 {
                let id = node * 1_000 + n;
                let s = stream(&format!("customer-{node}x{}", n % 3));
                let r = appender
                    .append(&s, ExpectedRevision::Any, vec![event(id, "A")])
                    .await
                    .unwrap();
                assert!(!r.already_stored);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // An append returns once the appending node's copy holds it: node A reads its own write.
    let s = stream("customer-shared");
    let r = appa
        .append(&s, ExpectedRevision::NoStream, vec![event(5_000, "A")])
        .await
        .unwrap();
    assert!(copy_a.head() >= r.last_position);
    // Node B decided from a copy that may not hold A's write; the log of record refuses the
    // stale expectation, and after settle B's copy holds it.
    let stale = appb
        .append(&s, ExpectedRevision::NoStream, vec![event(5_001, "A")])
        .await;
    assert!(matches!(
        stale,
        Err(StoreError::WrongExpectedRevision { .. })
    ));
    appb.settle().await.unwrap();
    assert_eq!(copy_b.stream_revision(&s).unwrap(), Some(0));

    assert_eq!(copy_a.head().0, 81);
    assert!(
        copy_b
            .wait_for_head(copy_a.head(), Duration::from_secs(10))
            .await
    );
    assert_eq!(all_local(&copy_a), all_local(&copy_b));
    // A node's copy takes no appends of its own.
    assert!(matches!(
        copy_a
            .append(&s, ExpectedRevision::Any, vec![event(9_000, "A")])
            .await,
        Err(StoreError::Follower { .. })
    ));
    ta.abort();
    tb.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_stops_at_a_row_altered_in_the_database_and_says_why() {
    let Some(config) = common::fresh_database().await else {
        return;
    };
    let pg = PgEventStore::open(PgConfig::new(config.clone()))
        .await
        .unwrap();
    for n in 0..6u64 {
        pg.append(
            &stream("customer-1"),
            ExpectedRevision::Any,
            vec![event(n, "A")],
        )
        .await
        .unwrap();
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .execute(
            "UPDATE events SET payload = payload || '\\x00'::bytea WHERE position = 4",
            &[],
        )
        .await
        .unwrap();
    let d = tempfile::tempdir().unwrap();
    let copy = EventStore::open(d.path(), StoreConfig::default()).unwrap();
    let follower = PgFollower::new(pg, copy.clone());
    let task = follower.spawn(Duration::from_millis(100));
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the copy stops for good")
        .unwrap();
    let why = follower.stopped().expect("it says why");
    assert!(why.contains("position 4"), "{why}");
    // The copy writes a stream's consecutive records as one append, all or nothing.
    assert!(
        copy.head().0 < 4,
        "nothing from the altered row on is served"
    );
    // And the node's appends then say the copy is behind instead of hanging.
    let appended = follower
        .appender()
        .append(
            &stream("customer-2"),
            ExpectedRevision::Any,
            vec![event(99, "A")],
        )
        .await;
    assert!(
        appended.is_ok(),
        "committed in the log of record: {appended:?}"
    );
    match follower.appender().settle().await {
        Err(StoreError::FollowerBehind { why, .. }) => assert!(why.contains("position 4")),
        other => panic!("expected the copy to be behind, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_that_followed_another_database_is_refused() {
    let (Some(one), Some(two)) = (common::fresh_store().await, common::fresh_store().await) else {
        return;
    };
    for (pg, n) in [(&one, 0u64), (&two, 100)] {
        for i in 0..3 {
            pg.append(
                &stream("customer-1"),
                ExpectedRevision::Any,
                vec![event(n + i, "A")],
            )
            .await
            .unwrap();
        }
    }
    let d = tempfile::tempdir().unwrap();
    let copy = EventStore::open(d.path(), StoreConfig::default()).unwrap();
    PgFollower::new(one, copy.clone()).catch_up().await.unwrap();
    two.append(
        &stream("customer-1"),
        ExpectedRevision::Any,
        vec![event(200, "A")],
    )
    .await
    .unwrap();
    match PgFollower::new(two, copy.clone()).catch_up().await {
        Err(StoreError::ImportMismatch { position, .. }) => assert_eq!(position.0, 3),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(copy.head().0, 3);
}
