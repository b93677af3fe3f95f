//! The portable export: JSON Lines out, and back into an empty store with the same positions
//! and hash chain, or a refusal naming the record that cannot be reproduced.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use common::{event, stream};
use crm_eventstore::{
    check_export, AllStart, Direction, EventStore, ExpectedRevision, ExportTrailer, ExportedRecord,
    StoreConfig, StoreError, EXPORT_FORMAT,
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
        .filter(|l| !l.starts_with("{\"trailer\""))
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

/// The export's lines, the trailer last.
fn export_lines(store: &EventStore) -> Vec<String> {
    let mut jsonl = Vec::new();
    store.export_jsonl(&mut jsonl).unwrap();
    String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn joined(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn refused(text: &str) -> String {
    match check_export(text.as_bytes()) {
        Err(e @ StoreError::InvalidExport { .. }) => e.to_string(),
        other => panic!("accepted: {other:?}"),
    }
}

#[tokio::test]
async fn an_export_ends_with_a_trailer_naming_its_head_and_count() {
    let a = tempfile::tempdir().unwrap();
    let source = sample_store(a.path()).await;
    let lines = export_lines(&source);
    assert_eq!(lines.len(), 331, "330 records and the trailer");
    let trailer = check_export(joined(&lines).as_bytes()).unwrap();
    let head_hash: String = source
        .verify()
        .unwrap()
        .head_hash
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        trailer,
        ExportTrailer {
            format: EXPORT_FORMAT,
            head_position: 330,
            head_hash,
            event_count: 330,
        }
    );
    assert!(
        lines[330].starts_with("{\"trailer\":{\"format\":1,"),
        "{}",
        lines[330]
    );

    // An empty log: a trailer alone, with the genesis hash.
    let b = tempfile::tempdir().unwrap();
    let empty = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    let lines = export_lines(&empty);
    assert_eq!(lines.len(), 1);
    let trailer = check_export(joined(&lines).as_bytes()).unwrap();
    assert_eq!(trailer.event_count, 0);
    assert_eq!(trailer.head_hash, "0".repeat(64));
}

#[tokio::test]
async fn an_export_cut_short_or_disagreeing_with_its_trailer_is_refused_by_name() {
    let a = tempfile::tempdir().unwrap();
    let source = sample_store(a.path()).await;
    let lines = export_lines(&source);
    let whole = joined(&lines);

    // Cut at a line: no trailer.
    let e = refused(&joined(&lines[..200]));
    assert!(e.contains("no trailer") && e.contains("200 records"), "{e}");
    // Cut inside the trailer, and inside a record.
    let e = refused(&whole[..whole.len() - 20]);
    assert!(e.contains("not a valid trailer"), "{e}");
    let cut = whole[..whole.len() / 2].to_string();
    let e = refused(&cut);
    assert!(e.contains("not an exported record"), "{e}");
    // The last record lost, the trailer kept.
    let mut missing_last = lines[..329].to_vec();
    missing_last.push(lines[330].clone());
    let e = refused(&joined(&missing_last));
    assert!(
        e.contains("it counts 330 records, the file holds 329")
            && e.contains("head position is 330, the last record's 329"),
        "{e}"
    );
    // A record lost in the middle.
    let mut gap = lines.clone();
    gap.remove(100);
    let e = refused(&joined(&gap));
    assert!(e.contains("position 102 where position 101 belongs"), "{e}");
    // Something after the trailer.
    let mut after = lines.clone();
    after.push(lines[5].clone());
    let e = refused(&joined(&after));
    assert!(e.contains("follows the trailer"), "{e}");
    // A trailer of another format.
    let mut other = lines.clone();
    other[330] = other[330].replace("\"format\":1", "\"format\":2");
    let e = refused(&joined(&other));
    assert!(e.contains("format 2"), "{e}");
    // The head hash altered.
    let mut forged = lines.clone();
    let trailer: serde_json::Value = serde_json::from_str(&forged[330]).unwrap();
    let hash = trailer["trailer"]["headHash"].as_str().unwrap().to_string();
    forged[330] = forged[330].replace(&hash, &"ab".repeat(32));
    let e = refused(&joined(&forged));
    assert!(e.contains("head hash"), "{e}");

    // The import checks the trailer it reads too.
    let b = tempfile::tempdir().unwrap();
    let target = EventStore::open(b.path(), StoreConfig::default()).unwrap();
    assert!(matches!(
        target.import_jsonl(joined(&missing_last).as_bytes()).await,
        Err(StoreError::InvalidExport { .. })
    ));
}
