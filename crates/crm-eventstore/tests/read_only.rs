//! `EventStore::open_read_only`: the checks of recovery without its repairs. A torn tail is
//! reported (with the first position a writable open would cut), never cut or quarantined;
//! the log reads as ending before it; nothing can be appended; a writable open afterwards
//! repairs exactly what was reported.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{event, stream};
use crm_eventstore::segment::{FRAME_CONTINUES, SEGMENT_HEADER_LEN};
use crm_eventstore::{
    log_dir, AllStart, Direction, EventStore, ExpectedRevision, StoreConfig, StoreError,
};

fn segment_path(dir: &Path) -> PathBuf {
    log_dir(dir).join("segment-00000000.log")
}

/// Byte offsets of each frame in a segment file.
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_LEN as usize;
    while at + 8 <= bytes.len() {
        let len =
            (u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) & !FRAME_CONTINUES) as usize;
        if len == 0 {
            break;
        }
        out.push(at);
        at += 8 + len + 32;
    }
    out
}

/// Every file in the log directory with its bytes.
fn log_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(log_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

/// A closed store holding `singles` events appended one by one, then one append of `batch`.
async fn write_log(dir: &Path, singles: u64, batch: u64) {
    let store = EventStore::open(dir, StoreConfig::default()).unwrap();
    for k in 0..singles {
        store
            .append(
                &stream("customer-r"),
                ExpectedRevision::Any,
                vec![event(k, "E")],
            )
            .await
            .unwrap();
    }
    if batch > 0 {
        let events = (singles..singles + batch).map(|k| event(k, "E")).collect();
        store
            .append(&stream("customer-r"), ExpectedRevision::Any, events)
            .await
            .unwrap();
    }
    store.close().await.unwrap();
}

async fn positions(store: &EventStore) -> Vec<u64> {
    store
        .read_all(AllStart::Start, Direction::Forwards, 1000)
        .unwrap()
        .iter()
        .map(|e| e.position.0)
        .collect()
}

#[tokio::test]
async fn a_torn_last_write_is_reported_not_cut_and_a_writable_open_cuts_it() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 5, 0).await;
    let segment = segment_path(dir.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    let end = bytes.len() as u64;
    let first = frame_offsets(&bytes)[0];
    let torn = bytes[first..first + 30].to_vec();
    bytes.extend_from_slice(&torn);
    std::fs::write(&segment, &bytes).unwrap();
    let before = log_files(dir.path());

    let store = EventStore::open_read_only(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    assert!(report.read_only);
    let tail = report.torn_tail.clone().unwrap();
    assert_eq!((tail.position, tail.segment, tail.offset), (6, 0, end));
    assert_eq!(tail.bytes_truncated, 30);
    assert!(tail.quarantined_to.is_none());
    assert!(report.not_repaired.is_empty(), "{report:?}");
    assert_eq!(store.head().0, 5);
    assert_eq!(positions(&store).await, vec![1, 2, 3, 4, 5]);
    assert!(store.verify().unwrap().is_ok());
    let refused = store
        .append(
            &stream("customer-r"),
            ExpectedRevision::Any,
            vec![event(99, "E")],
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Closed)), "{refused:?}");
    store.close().await.unwrap();
    drop(store);
    assert_eq!(log_files(dir.path()), before);

    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let cut = store.recovery_report().torn_tail.clone().unwrap();
    assert!(!store.recovery_report().read_only);
    assert_eq!(
        (cut.position, cut.offset, cut.bytes_truncated),
        (6, end, 30)
    );
    assert!(cut.quarantined_to.is_some());
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), end);
    store.close().await.unwrap();
}

#[tokio::test]
async fn an_append_cut_short_is_reported_from_its_first_position() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 2, 3).await;
    // The last record of the three-record append is missing, and nothing vouches for it.
    std::fs::remove_file(log_dir(dir.path()).join(crm_eventstore::DURABLE_MARK_FILE)).unwrap();
    let segment = segment_path(dir.path());
    let bytes = std::fs::read(&segment).unwrap();
    let offsets = frame_offsets(&bytes);
    assert_eq!(offsets.len(), 5);
    std::fs::write(&segment, &bytes[..offsets[4]]).unwrap();
    let before = log_files(dir.path());

    let store = EventStore::open_read_only(dir.path()).unwrap();
    let tail = store.recovery_report().torn_tail.clone().unwrap();
    assert_eq!((tail.position, tail.offset), (3, offsets[2] as u64));
    assert_eq!(store.head().0, 2);
    assert_eq!(positions(&store).await, vec![1, 2]);
    drop(store);
    assert_eq!(log_files(dir.path()), before);

    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let cut = store.recovery_report().torn_tail.clone().unwrap();
    assert_eq!((cut.position, cut.offset), (3, offsets[2] as u64));
    assert_eq!(store.head().0, 2);
    store.close().await.unwrap();
}

#[test]
fn a_directory_without_a_log_is_an_error_and_is_not_created() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("none");
    let err = EventStore::open_read_only(&dir).unwrap_err();
    assert!(err.to_string().contains("holds no log directory"), "{err}");
    assert!(!dir.exists());
}

#[tokio::test]
async fn a_segment_cut_short_while_being_created_is_reported_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 5, 0).await;
    // The next segment's file exists, its header only partly written.
    let next = log_dir(dir.path()).join("segment-00000001.log");
    std::fs::write(&next, [0xAB; 10]).unwrap();
    let before = log_files(dir.path());

    let store = EventStore::open_read_only(dir.path()).unwrap();
    let tail = store.recovery_report().torn_tail.clone().unwrap();
    assert_eq!((tail.position, tail.segment, tail.offset), (6, 1, 0));
    assert!(tail.reason.contains("segment header"), "{tail:?}");
    assert_eq!(store.head().0, 5);
    assert_eq!(positions(&store).await, vec![1, 2, 3, 4, 5]);
    assert!(store.verify().unwrap().is_ok());
    drop(store);
    assert_eq!(log_files(dir.path()), before);

    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let fixed = store.recovery_report().torn_tail.clone().unwrap();
    assert_eq!((fixed.segment, fixed.offset), (1, 0));
    assert!(fixed.quarantined_to.is_some());
    assert_ne!(std::fs::read(&next).unwrap(), vec![0xAB; 10]);
    store.close().await.unwrap();
}
