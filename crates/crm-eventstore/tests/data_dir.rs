//! What a data directory guarantees beyond the records themselves:
//!
//! - the durable mark (the last position known synced) lives in `log/durable`, beside the
//!   segments, so that deleting or rebuilding `index/` never forgets it;
//! - without a mark, recovery cuts only an unfinished last write and refuses any other damage;
//! - bytes recovery cuts are copied to a quarantine file first;
//! - one store at a time per data directory (`LOCK`).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::{Path, PathBuf};

use common::{event, stream};
use crm_eventstore::segment::{FRAME_CONTINUES, SEGMENT_HEADER_LEN};
use crm_eventstore::{index_dir, log_dir, EventStore, ExpectedRevision, StoreConfig, StoreError};

fn segment_path(dir: &Path, n: u32) -> PathBuf {
    log_dir(dir).join(format!("segment-{n:08}.log"))
}

fn mark_path(dir: &Path) -> PathBuf {
    log_dir(dir).join("durable")
}

/// Byte offsets of each frame in a segment file (up to the first zero length).
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

/// A closed store holding `n` events, appended in batches of up to 100.
async fn write_log(dir: &Path, n: u64) {
    let store = EventStore::open(dir, StoreConfig::default()).unwrap();
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..n.min(i + 100)).map(|k| event(k, "E")).collect();
        i += batch.len() as u64;
        store
            .append(&stream("customer-m"), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    store.close().await.unwrap();
}

fn remove_index(dir: &Path) {
    std::fs::remove_dir_all(index_dir(dir)).unwrap();
}

fn remove_mark(dir: &Path) {
    match std::fs::remove_file(mark_path(dir)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("removing the mark: {e}"),
    }
}

fn quarantine_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(log_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".quarantine-"))
        .collect();
    out.sort();
    out
}

/// Cuts segment 0 just before the record at `position`, as a restore of an older copy of the
/// file would.
fn cut_before(dir: &Path, position: usize) {
    let path = segment_path(dir, 0);
    let bytes = std::fs::read(&path).unwrap();
    let at = frame_offsets(&bytes)[position - 1];
    std::fs::write(&path, &bytes[..at]).unwrap();
}

// ---- 1. the durable mark has a file of its own -------------------------------------------

#[tokio::test]
async fn the_durable_mark_outlives_a_deleted_index() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 200).await;
    remove_index(dir.path());
    // 50 acknowledged records lost: the mark still knows they were on disk.
    cut_before(dir.path(), 151);
    match EventStore::open(dir.path(), StoreConfig::default()) {
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains("ends at position 150") && text.contains("position 200"),
                "{text}"
            );
        }
        Ok(s) => panic!("a shortened log accepted: {:?}", s.recovery_report()),
    }
    assert!(mark_path(dir.path()).exists());
}

#[tokio::test]
async fn a_damaged_durable_mark_is_an_error_naming_its_file() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 20).await;
    let path = mark_path(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    for i in 0..bytes.len() {
        bytes[i] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();
        match EventStore::open(dir.path(), StoreConfig::default()) {
            Err(e @ StoreError::DurableMarkCorrupt { .. }) => {
                let text = e.to_string();
                assert!(text.contains(&path.display().to_string()), "{text}");
            }
            Err(e) => panic!("flip at byte {i}: unexpected error {e}"),
            Ok(s) => panic!("flip at byte {i} accepted: {:?}", s.recovery_report()),
        }
        bytes[i] ^= 0x04;
    }
    // Cut short, or empty.
    for len in [0, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..len]).unwrap();
        match EventStore::open(dir.path(), StoreConfig::default()) {
            Err(StoreError::DurableMarkCorrupt { path: named, .. }) => assert_eq!(named, path),
            Err(e) => panic!("{len} bytes: unexpected error {e}"),
            Ok(s) => panic!("{len} bytes accepted: {:?}", s.recovery_report()),
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(store.head().0, 20);
}

#[tokio::test]
async fn a_mark_left_in_sled_by_the_previous_version_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What the previous version left: the mark under `mdurable` in sled, no mark file.
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let batch: Vec<_> = (0..100).map(|k| event(k, "E")).collect();
        store
            .append(&stream("customer-m"), ExpectedRevision::Any, batch)
            .await
            .unwrap();
        let tree = store.sled().open_tree("log-index").unwrap();
        tree.insert(b"mdurable", &100u64.to_be_bytes()).unwrap();
        store.close().await.unwrap();
    }
    remove_mark(dir.path());
    {
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let tree = store.sled().open_tree("log-index").unwrap();
        assert_eq!(
            tree.get(b"mdurable").unwrap(),
            None,
            "read once, then the file is the only mark"
        );
        store.close().await.unwrap();
    }
    assert!(mark_path(dir.path()).exists(), "the mark was written out");
    remove_index(dir.path());
    cut_before(dir.path(), 61);
    let e = EventStore::open(dir.path(), StoreConfig::default()).unwrap_err();
    assert!(e.to_string().contains("ends at position 60"), "{e}");
}

// ---- 2. without a mark, only an unfinished last write is cut ----------------------------

#[tokio::test]
async fn without_a_mark_a_flipped_bit_in_a_middle_record_is_refused_and_nothing_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 2000).await;
    remove_mark(dir.path());
    remove_index(dir.path());
    let path = segment_path(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let offsets = frame_offsets(&bytes);
    assert_eq!(offsets.len(), 2000);
    let at = offsets[999]; // position 1000
    bytes[at + 30] ^= 0x08;
    std::fs::write(&path, &bytes).unwrap();

    match EventStore::open(dir.path(), StoreConfig::default()) {
        Err(
            e @ StoreError::CorruptSegment {
                segment, offset, ..
            },
        ) => {
            assert_eq!((segment, offset), (0, at as u64), "{e}");
            let text = e.to_string();
            assert!(
                text.contains("segment 0") && text.contains(&format!("byte {at}")),
                "the error names segment and offset: {text}"
            );
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(s) => panic!(
            "damage in the middle of the log accepted: {:?}",
            s.recovery_report()
        ),
    }
    assert!(
        std::fs::read(&path).unwrap() == bytes,
        "the segment is byte-for-byte unchanged"
    );
    assert_eq!(quarantine_files(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn without_a_mark_every_flipped_bit_is_refused_or_cut_into_quarantine() {
    // Three records as three appends, then as one: only the last append may be cut, whole.
    for appends in [&[1u64, 1, 1][..], &[3]] {
        let pristine = tempfile::tempdir().unwrap();
        write_appends(pristine.path(), appends).await;
        let bytes = std::fs::read(segment_path(pristine.path(), 0)).unwrap();
        let offsets = frame_offsets(&bytes);
        let last_append = offsets[3 - *appends.last().unwrap() as usize];
        for at in 0..bytes.len() {
            let what = format!("appends {appends:?}, flip at {at}");
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(log_dir(dir.path())).unwrap();
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << (at % 8);
            std::fs::write(segment_path(dir.path(), 0), &damaged).unwrap();
            match EventStore::open(dir.path(), StoreConfig::default()) {
                Err(StoreError::CorruptSegment { .. } | StoreError::Corrupt { .. }) => {
                    assert!(
                        std::fs::read(segment_path(dir.path(), 0)).unwrap() == damaged,
                        "{what}: refused, and nothing changed"
                    );
                }
                Err(e) => panic!("{what}: unexpected error {e}"),
                Ok(store) => {
                    // Only the last append may go, and only into quarantine.
                    let torn = store.recovery_report().torn_tail.clone();
                    let torn = torn.unwrap_or_else(|| panic!("{what} went unnoticed"));
                    assert_eq!(torn.offset, last_append as u64, "{what}");
                    assert!(at >= offsets[2], "{what} cut a record before the last");
                    let kept = std::fs::read(torn.quarantined_to.unwrap()).unwrap();
                    assert!(kept == damaged[last_append..], "{what}");
                    assert!(store.verify().unwrap().is_ok(), "{what}");
                }
            }
        }
    }
}

/// A closed store holding appends of the given numbers of events.
async fn write_appends(dir: &Path, appends: &[u64]) {
    let store = EventStore::open(dir, StoreConfig::default()).unwrap();
    let mut k = 0;
    for &n in appends {
        let batch: Vec<_> = (k..k + n).map(|k| event(k, "E")).collect();
        k += n;
        store
            .append(&stream("customer-m"), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    store.close().await.unwrap();
}

// ---- 3. what is cut is quarantined first -------------------------------------------------

#[tokio::test]
async fn an_unfinished_last_write_is_cut_into_a_quarantine_file() {
    for keep_mark in [true, false] {
        for zeros in [0usize, 5000] {
            let what = format!("mark kept {keep_mark}, {zeros} zeros after");
            let dir = tempfile::tempdir().unwrap();
            write_log(dir.path(), 50).await;
            if !keep_mark {
                remove_mark(dir.path());
                remove_index(dir.path());
            }
            let path = segment_path(dir.path(), 0);
            let bytes = std::fs::read(&path).unwrap();
            let last = *frame_offsets(&bytes).last().unwrap();
            // The first 60 bytes of a frame (a copy of the last one), then reserved space.
            let mut torn = bytes[last..last + 60].to_vec();
            torn.extend(std::iter::repeat_n(0u8, zeros));
            let mut damaged = bytes.clone();
            damaged.extend_from_slice(&torn);
            std::fs::write(&path, &damaged).unwrap();

            let store = EventStore::open(dir.path(), StoreConfig::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let report = store.recovery_report().clone();
            let torn_tail = report.torn_tail.expect("a torn tail");
            assert_eq!(torn_tail.offset, bytes.len() as u64, "{what}");
            assert_eq!(torn_tail.bytes_truncated, torn.len() as u64, "{what}");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), bytes.len() as u64);
            assert_eq!(store.head().0, 50, "{what}");
            assert!(store.verify().unwrap().is_ok(), "{what}");
            store.close().await.unwrap();
            drop(store);

            let quarantined = quarantine_files(dir.path());
            assert_eq!(
                quarantined,
                vec![log_dir(dir.path())
                    .join(format!("segment-00000000.log.quarantine-{}", bytes.len()))],
                "{what}"
            );
            assert_eq!(
                torn_tail.quarantined_to.as_ref(),
                Some(&quarantined[0]),
                "{what}"
            );
            assert!(
                std::fs::read(&quarantined[0]).unwrap() == torn,
                "{what}: the quarantine file holds exactly the cut bytes"
            );
        }
    }
}

#[tokio::test]
async fn a_second_cut_at_the_same_offset_keeps_the_first_quarantine_file() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 10).await;
    let path = segment_path(dir.path(), 0);
    let bytes = std::fs::read(&path).unwrap();
    let last = *frame_offsets(&bytes).last().unwrap();
    let mut expected = Vec::new();
    for round in 0..3usize {
        let torn = bytes[last..last + 20 + round].to_vec();
        std::fs::write(&path, [bytes.as_slice(), &torn].concat()).unwrap();
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let torn_tail = store.recovery_report().torn_tail.clone().unwrap();
        expected.push((torn_tail.quarantined_to.unwrap(), torn));
        store.close().await.unwrap();
    }
    assert_eq!(quarantine_files(dir.path()).len(), 3);
    for (file, torn) in expected {
        assert!(std::fs::read(&file).unwrap() == torn, "{}", file.display());
    }
}

// ---- 4. one store per data directory -----------------------------------------------------

#[tokio::test]
async fn a_second_open_of_a_data_directory_is_refused_until_the_first_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let first = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    // Each open takes its own file descriptor, so two in one process conflict too.
    match EventStore::open(dir.path(), StoreConfig::default()) {
        Err(
            ref e @ StoreError::DataDirLocked {
                ref path,
                holder_pid,
            },
        ) => {
            assert_eq!(path, &dir.path().join("LOCK"));
            assert_eq!(holder_pid, Some(std::process::id()));
            let text = e.to_string();
            assert!(
                text.contains(&format!("process {}", std::process::id())),
                "the error names the holder: {text}"
            );
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a second store opened the same data directory"),
    }
    // The refused open changed nothing: the first store still works.
    first
        .append(
            &stream("customer-l"),
            ExpectedRevision::Any,
            vec![event(1, "E")],
        )
        .await
        .unwrap();
    first.close().await.unwrap();
    drop(first);
    let again = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(again.head().0, 1);
    again.close().await.unwrap();
}

#[test]
fn a_data_directory_held_by_another_process_names_its_pid() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-eventstore-load"))
        .arg(dir.path())
        .arg("1")
        .arg("lock")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The child has opened the store once it acknowledges an append.
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("ack "), "{first}");
    let result = EventStore::open(dir.path(), StoreConfig::default());
    let refused = match &result {
        Err(StoreError::DataDirLocked { holder_pid, .. }) => *holder_pid,
        _ => None,
    };
    let text = match &result {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lines);
    assert_eq!(refused, Some(child.id()), "{text}");
    assert!(
        text.contains(&format!("process {}", child.id())),
        "the error names the child: {text:?}"
    );
    drop(result);
    // The kernel released the lock with the killed process; the file it left does not block.
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    drop(store);
}

#[tokio::test]
async fn a_page_cache_below_sled_s_least_is_refused_and_the_least_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 300).await;
    let log_before = std::fs::read(segment_path(dir.path(), 0)).unwrap();
    let zero = StoreConfig {
        cache_bytes: crm_eventstore::CACHE_BYTES_MIN - 1,
        ..StoreConfig::default()
    };
    match EventStore::open(dir.path(), zero) {
        Err(StoreError::InvalidConfig(reason)) => {
            assert!(reason.contains("cache_bytes"), "{reason}")
        }
        other => panic!("a cache of 0 bytes: {:?}", other.map(|_| ())),
    }
    // Nothing was touched, and the lock was let go.
    assert_eq!(
        std::fs::read(segment_path(dir.path(), 0)).unwrap(),
        log_before
    );
    let tiny = read_everything(dir.path(), crm_eventstore::CACHE_BYTES_MIN).await;
    assert_eq!(tiny.0.len(), 300);
    assert_eq!(
        tiny,
        read_everything(dir.path(), crm_eventstore::CACHE_BYTES_DEFAULT).await
    );
}

/// Every record from `$all`, and each record's stream read backwards, with this page cache.
async fn read_everything(
    dir: &Path,
    cache_bytes: u64,
) -> (Vec<crm_eventstore::RecordedEvent>, Vec<usize>) {
    use crm_eventstore::{AllStart, Direction, StreamStart};
    let store = EventStore::open(
        dir,
        StoreConfig {
            cache_bytes,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 1000)
        .unwrap();
    let mut streams = Vec::new();
    for e in &all {
        let name = crm_eventstore::StreamName::parse(e.stream.clone()).unwrap();
        let stream = store
            .read_stream(&name, StreamStart::Start, Direction::Backwards, 1000)
            .unwrap();
        streams.push(stream.len());
    }
    store.close().await.unwrap();
    (all, streams)
}
