//! `compact_index`: the index rewritten into a new sled database and exchanged, with the same
//! contents (nothing re-indexed), smaller after churn, refused while the directory is open,
//! and an exchange a crash interrupted finished or undone by the next open.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::Path;

use common::{event, stream};
use crm_eventstore::{
    compact_index, index_dir, AllStart, Direction, EventStore, ExpectedRevision, RecordedEvent,
    StoreConfig, StoreError, StreamName, StreamStart,
};

fn config() -> StoreConfig {
    StoreConfig {
        // Many small tables, so that most of the index is in sled, not re-indexed at open.
        index_table_records: 64,
        ..StoreConfig::default()
    }
}

/// 3,000 events over 30 streams, and a tree of 500 records each rewritten 20 times, as the
/// read models' flushes rewrite theirs.
async fn write(dir: &Path) {
    let store = EventStore::open(dir, config()).unwrap();
    for k in 0..30u64 {
        let batch: Vec<_> = (k * 100..(k + 1) * 100).map(|n| event(n, "E")).collect();
        store
            .append(
                &stream(&format!("customer-{}", k % 30)),
                ExpectedRevision::Any,
                batch,
            )
            .await
            .unwrap();
    }
    let models = store.sled().open_tree("models").unwrap();
    for round in 0..20u8 {
        for key in 0..500u32 {
            models.insert(key.to_be_bytes(), vec![round; 1024]).unwrap();
        }
    }
    store.close().await.unwrap();
}

/// What the store answers: `$all`, every stream backwards, the models tree, and how much the
/// open re-indexed.
#[derive(Debug, PartialEq)]
struct Seen {
    all: Vec<RecordedEvent>,
    streams: Vec<Vec<RecordedEvent>>,
    models: Vec<(Vec<u8>, Vec<u8>)>,
    rebuilt: bool,
    reindexed: u64,
}

async fn seen(dir: &Path) -> Seen {
    let store = EventStore::open(dir, config()).unwrap();
    let report = store.recovery_report().clone();
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 10_000)
        .unwrap();
    let streams = (0..30)
        .map(|k| {
            let name = StreamName::parse(format!("customer-{k}")).unwrap();
            store
                .read_stream(&name, StreamStart::End, Direction::Backwards, 10_000)
                .unwrap()
        })
        .collect();
    let models = store
        .sled()
        .open_tree("models")
        .unwrap()
        .iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect();
    store.close().await.unwrap();
    Seen {
        all,
        streams,
        models,
        rebuilt: report.index_rebuilt,
        reindexed: report.records_reindexed,
    }
}

#[tokio::test]
async fn a_compacted_index_answers_the_same_re_indexes_nothing_and_is_smaller() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path()).await;
    let before = seen(dir.path()).await;
    assert_eq!(before.all.len(), 3000);
    assert!(!before.rebuilt);

    let report = compact_index(dir.path()).unwrap();
    assert!(report.entries > 500, "{report:?}");
    assert!(
        report.after_bytes < report.before_bytes,
        "compaction did not shrink the index: {report:?}"
    );
    assert_eq!(seen(dir.path()).await, before);
    for left in ["index.old", "index.compact"] {
        assert!(!dir.path().join(left).exists(), "{left} left behind");
    }
}

#[tokio::test]
async fn compaction_is_refused_while_the_directory_is_open() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path()).await;
    let store = EventStore::open(dir.path(), config()).unwrap();
    assert!(matches!(
        compact_index(dir.path()),
        Err(StoreError::DataDirLocked { .. })
    ));
    store.close().await.unwrap();
    drop(store);
    assert!(compact_index(dir.path()).is_ok());
}

#[tokio::test]
async fn an_exchange_cut_by_a_crash_is_finished_or_undone_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path()).await;
    let before = seen(dir.path()).await;

    // A crash between the renames: no index/, the old one as index.old/, a complete or
    // partial new one as index.compact/. The old one is put back, the new one removed.
    std::fs::rename(index_dir(dir.path()), dir.path().join("index.old")).unwrap();
    std::fs::create_dir(dir.path().join("index.compact")).unwrap();
    std::fs::write(dir.path().join("index.compact/db"), b"half a copy").unwrap();
    assert_eq!(seen(dir.path()).await, before);
    assert!(!dir.path().join("index.old").exists());
    assert!(!dir.path().join("index.compact").exists());

    // A crash after the renames, before the old index was removed: it is removed.
    std::fs::create_dir(dir.path().join("index.old")).unwrap();
    std::fs::write(dir.path().join("index.old/db"), b"the old index").unwrap();
    assert_eq!(seen(dir.path()).await, before);
    assert!(!dir.path().join("index.old").exists());
}

#[test]
fn a_directory_without_an_index_is_an_error_and_gets_none() {
    let dir = tempfile::tempdir().unwrap();
    let err = compact_index(dir.path()).unwrap_err();
    assert!(err.to_string().contains("no index directory"), "{err}");
    assert!(!index_dir(dir.path()).exists());
}
