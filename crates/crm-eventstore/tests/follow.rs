//! A follower: a segment store that copies another log record for record (same positions,
//! revisions, recorded-at and hashes), refuses appends of its own, and refuses a copy that
//! would not reproduce the other log.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use common::{event, stream};
use crm_eventstore::{
    AllStart, Appender, Direction, EventStore, ExpectedRevision, RecordedEvent, StoreConfig,
    StoreError,
};

async fn source_with(dir: &std::path::Path, appends: u64) -> EventStore {
    let store = EventStore::open(
        dir,
        StoreConfig {
            segment_size_max_bytes: 8192,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    for n in 0..appends {
        let name = format!("customer-{}", n % 7);
        let batch = if n % 5 == 0 {
            vec![
                event(n * 10, "A"),
                event(n * 10 + 1, "B"),
                event(n * 10 + 2, "C"),
            ]
        } else {
            vec![event(n * 10, "A")]
        };
        store
            .append(&stream(&name), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    store
}

/// An empty follower in `dir`.
fn follower_in(dir: &tempfile::TempDir) -> EventStore {
    let follower = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    follower.follow_only();
    follower
}

fn all(store: &EventStore) -> Vec<RecordedEvent> {
    store
        .read_all(AllStart::Start, Direction::Forwards, 100_000)
        .unwrap()
}

#[tokio::test]
async fn a_follower_copied_in_pages_holds_the_same_records_and_verifies_with_the_same_head_hash() {
    let a = tempfile::tempdir().unwrap();
    let source = source_with(a.path(), 200).await;
    let b = tempfile::tempdir().unwrap();
    let follower = follower_in(&b);

    // Pages that cut through multi-event appends, as a reader of the log of record sees them.
    let records = all(&source);
    for page in records.chunks(13) {
        let copied = follower.replicate(page.to_vec()).await.unwrap();
        assert_eq!(copied, page.len() as u64);
    }
    assert_eq!(
        all(&follower),
        records,
        "every field, recorded-at and hash included"
    );
    let (vs, vf) = (source.verify().unwrap(), follower.verify().unwrap());
    assert!(vf.is_ok(), "{:?}", vf.findings);
    assert_eq!(vs.head_hash, vf.head_hash);
    assert_eq!(follower.head(), source.head());
}

#[tokio::test]
async fn a_follower_refuses_appends_of_its_own_and_names_the_stream() {
    let b = tempfile::tempdir().unwrap();
    let follower = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    assert!(!follower.is_follower());
    follower.follow_only();
    assert!(follower.is_follower());
    let refused = follower
        .append(
            &stream("customer-1"),
            ExpectedRevision::Any,
            vec![event(1, "A")],
        )
        .await;
    match refused {
        Err(StoreError::Follower { stream }) => assert_eq!(stream, "customer-1"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Through the command side's trait too.
    let appender: &dyn Appender = &follower;
    let refused = appender
        .append(
            &stream("customer-1"),
            ExpectedRevision::Any,
            vec![event(1, "A")],
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Follower { .. })));
    assert_eq!(follower.head().0, 0, "nothing was written");
}

#[tokio::test]
async fn a_gap_is_refused_after_what_precedes_it_is_written() {
    let a = tempfile::tempdir().unwrap();
    let source = source_with(a.path(), 20).await;
    let records = all(&source);
    let b = tempfile::tempdir().unwrap();
    let follower = follower_in(&b);

    let mut with_gap = records[..5].to_vec();
    with_gap.extend_from_slice(&records[6..10]);
    match follower.replicate(with_gap).await {
        Err(StoreError::ImportMismatch { position, .. }) => assert_eq!(position.0, 7),
        other => panic!("expected the gap to be refused, got {other:?}"),
    }
    assert_eq!(follower.head().0, 5, "the records before the gap stay");
    // The copy goes on from where it stopped.
    follower.replicate(records[5..].to_vec()).await.unwrap();
    assert_eq!(all(&follower), records);
}

#[tokio::test]
async fn a_record_altered_in_the_log_of_record_is_refused_and_nothing_from_it_on_is_written() {
    let a = tempfile::tempdir().unwrap();
    let source = source_with(a.path(), 20).await;
    let mut records = all(&source);
    let b = tempfile::tempdir().unwrap();
    let follower = follower_in(&b);

    // Someone edits a payload in the log of record and leaves the stored hash as it was.
    records[8].payload.push(0xff);
    match follower.replicate(records.clone()).await {
        Err(StoreError::ImportMismatch { position, .. }) => assert_eq!(position.0, 9),
        other => panic!("expected the altered record to be refused, got {other:?}"),
    }
    assert!(follower.head().0 < 9, "the altered record is not served");
    assert!(follower.verify().unwrap().is_ok());

    // A record whose revision does not follow its stream's is refused too.
    let c = tempfile::tempdir().unwrap();
    let other = EventStore::open(c.path(), StoreConfig::default()).unwrap();
    let mut records = all(&source);
    records[0].revision = 3;
    assert!(other.replicate(records).await.is_err());
    assert_eq!(other.head().0, 0);
}

#[tokio::test]
async fn waiting_for_the_head_ends_when_the_copy_reaches_it_or_when_time_is_up() {
    let a = tempfile::tempdir().unwrap();
    let source = source_with(a.path(), 10).await;
    let records = all(&source);
    let b = tempfile::tempdir().unwrap();
    let follower = follower_in(&b);
    let target = source.head();
    assert!(
        !follower
            .wait_for_head(target, Duration::from_millis(50))
            .await
    );
    let waiting = {
        let follower = follower.clone();
        tokio::spawn(async move {
            follower
                .wait_for_head(target, Duration::from_secs(10))
                .await
        })
    };
    follower.replicate(records).await.unwrap();
    assert!(waiting.await.unwrap());
}

#[tokio::test]
async fn a_data_directory_marked_as_a_copy_opens_as_a_follower_every_time() {
    let b = tempfile::tempdir().unwrap();
    {
        let store = EventStore::open(b.path(), StoreConfig::default()).unwrap();
        assert!(crm_eventstore::follows(b.path()).unwrap().is_none());
        crm_eventstore::mark_follows(b.path(), "PostgreSQL database 'crm'").unwrap();
        store.close().await.unwrap();
    }
    let reopened = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    assert!(reopened.is_follower());
    assert_eq!(
        crm_eventstore::follows(b.path()).unwrap().as_deref(),
        Some("PostgreSQL database 'crm'")
    );
    let refused = reopened
        .append(
            &stream("customer-1"),
            ExpectedRevision::Any,
            vec![event(1, "A")],
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Follower { .. })));
}
