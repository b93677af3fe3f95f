//! The portable export: JSON Lines out, and back into an empty store with the same positions
//! and hash chain, or a refusal naming the record that cannot be reproduced.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use common::{event, stream};
use crm_eventstore::{
    AllStart, Direction, EventStore, ExpectedRevision, ExportedRecord, StoreConfig, StoreError,
};

async fn sample_store(dir: &std::path::Path) -> EventStore {
    let store = EventStore::open(
        dir,
        StoreConfig {
            segment_size_max_bytes: 8192,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    for n in 0..300u64 {
        let name = format!(
            "{}-{}",
            if n % 3 == 0 { "ticket" } else { "customer" },
            n % 11
        );
        let batch = if n % 10 == 0 {
            vec![event(n * 10, "A"), event(n * 10 + 1, "B")]
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

#[tokio::test]
async fn an_export_imported_into_an_empty_store_reproduces_positions_and_the_hash_chain() {
    let a = tempfile::tempdir().unwrap();
    let source = sample_store(a.path()).await;
    let mut jsonl = Vec::new();
    assert_eq!(source.export_jsonl(&mut jsonl).unwrap(), 330);

    let b = tempfile::tempdir().unwrap();
    let target = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    assert_eq!(target.import_jsonl(&jsonl[..]).await.unwrap(), 330);
    let left = source
        .read_all(AllStart::Start, Direction::Forwards, 1000)
        .unwrap();
    let right = target
        .read_all(AllStart::Start, Direction::Forwards, 1000)
        .unwrap();
    assert_eq!(left, right, "every field, recorded-at and hash included");
    let (vs, vt) = (source.verify().unwrap(), target.verify().unwrap());
    assert!(vt.is_ok(), "{:?}", vt.findings);
    assert_eq!(vs.head_hash, vt.head_hash);
    // And the import exports to the same bytes.
    let mut again = Vec::new();
    target.export_jsonl(&mut again).unwrap();
    assert_eq!(jsonl, again);
}

#[tokio::test]
async fn an_altered_export_is_refused_at_the_altered_record() {
    let a = tempfile::tempdir().unwrap();
    let source = sample_store(a.path()).await;
    let mut jsonl = Vec::new();
    source.export_jsonl(&mut jsonl).unwrap();
    let mut lines: Vec<ExportedRecord> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[99].actor = "staff-forger".into();
    let text: String = lines
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();

    let b = tempfile::tempdir().unwrap();
    let target = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    match target.import_jsonl(text.as_bytes()).await {
        Err(StoreError::ImportMismatch { position, .. }) => assert_eq!(position.0, 100),
        other => panic!("{other:?}"),
    }
    assert!(target.head().0 < 100, "nothing from the altered record on");
    assert!(target.verify().unwrap().is_ok());
}

#[tokio::test]
async fn an_import_into_a_store_that_is_not_empty_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let source = sample_store(a.path()).await;
    let mut jsonl = Vec::new();
    source.export_jsonl(&mut jsonl).unwrap();
    assert!(matches!(
        source.import_jsonl(&jsonl[..]).await,
        Err(StoreError::InvalidAppend { .. })
    ));
    let b = tempfile::tempdir().unwrap();
    let target = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    assert!(matches!(
        target.import_jsonl(&b"not json\n"[..]).await,
        Err(StoreError::InvalidAppend { .. })
    ));
    assert_eq!(target.head().0, 0);
}
