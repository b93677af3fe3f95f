//! A full file system, for real: a size-limited tmpfs is filled until appends are refused as
//! `StorageFull`, then a filler file is deleted and appends are taken again, by the same open
//! store. The log and its sled index share the file system, as in a data directory.
//!
//! Mounting needs root (CI runs as root). Run as another user, each test says why it skips.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::stream;
use crm_eventstore::{
    AllStart, Direction, EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig,
    StoreError,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// A tmpfs of a given size, unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    /// `None` (after saying why) only when not root; as root, a failed mount fails the test.
    fn mount(bytes: u64) -> Option<SmallFs> {
        if !is_root() {
            eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
            .arg("crm-disk-full")
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs as root failed: {status}"
        );
        Some(SmallFs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // sled closes its files from background threads shortly after the store is dropped;
        // a lazy unmount detaches the file system even while one still holds a file.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Event `n` with a payload of about `bytes`.
fn sized_event(n: u64, bytes: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::from_u64_pair(0x0193_0000_0000_7000, n),
        event_type: "Filled".into(),
        schema_version: 1,
        metadata: EventMetadata {
            actor: "staff-test".into(),
            occurred_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            correlation_id: None,
            causation_id: None,
            command_id: Some(Uuid::from_u64_pair(2, n)),
        },
        payload: format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(bytes)).into_bytes(),
    }
}

/// Writes a file of `bytes` bytes (tmpfs takes its space as it is written).
fn filler(path: &Path, bytes: usize) -> PathBuf {
    std::fs::write(path, vec![7u8; bytes]).unwrap();
    path.to_path_buf()
}

fn all_ids(store: &EventStore) -> Vec<Uuid> {
    store
        .read_all(AllStart::Start, Direction::Forwards, 100_000)
        .unwrap()
        .iter()
        .map(|e| e.event_id)
        .collect()
}

/// Appends single events (`payload` bytes each, numbered from `first`) until the disk is
/// full: until `REFUSALS_IN_A_ROW` appends in a row are refused (space freed by the store
/// itself, as a half-written file it removes, can let one more through). Returns the ids
/// acknowledged and the last refusal; any other error fails the test.
async fn fill(store: &EventStore, first: u64, payload: usize) -> (Vec<Uuid>, StoreError) {
    const REFUSALS_IN_A_ROW: u32 = 20;
    let mut acked = Vec::new();
    let mut refusals = 0;
    for n in first.. {
        let e = sized_event(n, payload);
        let id = e.event_id;
        match store
            .append(
                &stream(&format!("customer-{}", n % 7)),
                ExpectedRevision::Any,
                vec![e],
            )
            .await
        {
            Ok(_) => {
                acked.push(id);
                refusals = 0;
            }
            Err(e @ StoreError::StorageFull { .. }) => {
                refusals += 1;
                if refusals == REFUSALS_IN_A_ROW {
                    return (acked, e);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("after {} appends: {e:?}", acked.len()),
        }
        assert!(n < first + 1_000_000, "the disk never filled up");
    }
    unreachable!()
}

async fn a_full_file_system_round(config: StoreConfig, payload: usize) {
    let Some(fs) = SmallFs::mount(12 * 1024 * 1024) else {
        return;
    };
    let data = fs.path().join("data");
    let free_later = filler(&fs.path().join("filler"), 3 * 1024 * 1024);
    let store = EventStore::open(&data, config.clone()).unwrap();

    let (mut acked, refused) = fill(&store, 0, payload).await;
    assert!(
        refused.to_string().contains("nothing was written"),
        "{refused}"
    );
    assert!(
        acked.len() > 100,
        "only {} appends before full",
        acked.len()
    );
    assert!(!store.is_poisoned(), "a full disk does not stop the store");
    assert_eq!(
        all_ids(&store),
        acked,
        "every acknowledged append is readable"
    );

    // Space returns: the same store takes appends again, the hash chain intact.
    std::fs::remove_file(free_later).unwrap();
    for n in 0..50u64 {
        let e = sized_event(6_000_000 + n, payload);
        let id = e.event_id;
        store
            .append(&stream("customer-late"), ExpectedRevision::Any, vec![e])
            .await
            .unwrap_or_else(|e| panic!("append {n} after space was freed: {e}"));
        acked.push(id);
    }
    assert!(!store.is_poisoned());
    assert_eq!(all_ids(&store), acked);
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    store.close().await.unwrap();
    drop(store);

    // A reopen finds exactly what was acknowledged, and keeps its index.
    let store = EventStore::open(&data, config).unwrap();
    assert!(
        !store.recovery_report().index_rebuilt,
        "the index is kept: {:?}",
        store.recovery_report()
    );
    assert!(store.recovery_report().torn_tail.is_none());
    assert_eq!(all_ids(&store), acked);
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_file_system_refuses_appends_and_takes_them_again_once_space_is_freed() {
    // No space kept back for the index: the log itself meets ENOSPC, in fallocate or in a
    // write, and cuts back what it wrote of the refused append.
    let config = StoreConfig {
        segment_size_max_bytes: 1024 * 1024,
        space_reserved_bytes: 0,
        ..StoreConfig::default()
    };
    a_full_file_system_round(config, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_file_system_leaves_the_index_its_reserve_and_never_discards_it() {
    // Small index tables: the flusher writes event-id runs and sled all the while the disk
    // fills. The log stops short of the space reserved for them, so sled (which, after a
    // failed write, fails every call until reopened) never meets ENOSPC: appends are
    // refused as storage full, reads and the index keep working, and appends are taken
    // again once space is freed, by the same store.
    let config = StoreConfig {
        segment_size_max_bytes: 1024 * 1024,
        index_table_records: 64,
        space_reserved_bytes: 2 * 1024 * 1024,
        ..StoreConfig::default()
    };
    a_full_file_system_round(config, 1000).await;
}

/// Takes every free byte of the file system holding `path`.
fn take_all_space(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    while std::io::Write::write_all(&mut file, &[1u8; 4096]).is_ok() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleds_own_enospc_stops_the_store_and_a_reopen_keeps_the_index() {
    // No reserve, tiny index tables, and another writer taking every free byte while the
    // store indexes: sled's own background write may meet ENOSPC. sled 0.34 then fails every
    // call until reopened, so the store stops (UNAVAILABLE: an append may or may not have
    // happened) once it next writes sled; otherwise it recovers by itself once space is
    // freed. Either way every refusal is typed, and the reopen keeps the index.
    let Some(fs) = SmallFs::mount(6 * 1024 * 1024) else {
        return;
    };
    let data = fs.path().join("data");
    let config = StoreConfig {
        segment_size_max_bytes: 1024 * 1024,
        index_table_records: 8,
        space_reserved_bytes: 0,
        ..StoreConfig::default()
    };
    let store = EventStore::open(&data, config.clone()).unwrap();
    let mut acked = Vec::new();
    let mut stopped = None;
    let mut n = 0u64;
    let filler = fs.path().join("filler");
    'cycles: for _ in 0..6 {
        // Indexing under way (sled holds fresh, unflushed writes), then the disk is full.
        for _ in 0..40 {
            n += 1;
            let e = sized_event(n, 200);
            let id = e.event_id;
            match store
                .append(&stream("customer-x"), ExpectedRevision::Any, vec![e])
                .await
            {
                Ok(_) => acked.push(id),
                Err(StoreError::StorageFull { .. }) => {}
                Err(e) => {
                    stopped = Some(e);
                    break 'cycles;
                }
            }
        }
        take_all_space(&filler);
        // sled flushes every 500 ms.
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        std::fs::remove_file(&filler).unwrap();
        // Space is back: appends are taken again, or sled stopped the store.
        for _ in 0..100 {
            n += 1;
            let e = sized_event(n, 200);
            let id = e.event_id;
            match store
                .append(&stream("customer-x"), ExpectedRevision::Any, vec![e])
                .await
            {
                Ok(_) => {
                    acked.push(id);
                    continue 'cycles;
                }
                Err(StoreError::StorageFull { .. }) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    stopped = Some(e);
                    break 'cycles;
                }
            }
        }
        panic!("appends still refused long after space was freed");
    }
    match &stopped {
        Some(StoreError::Poisoned(reason)) => {
            assert!(reason.contains("sled"), "{reason}");
            assert!(store.is_poisoned());
            let _ = store.close().await; // fails with the reason it stopped
        }
        Some(other) => panic!("{other:?}"),
        None => {
            eprintln!("sled did not meet ENOSPC this time; the store recovered by itself");
            store.close().await.unwrap();
        }
    }
    drop(store);

    let store = EventStore::open(&data, config).unwrap();
    let report = store.recovery_report().clone();
    assert!(!report.index_rebuilt, "the index is kept: {report:?}");
    assert!(report.torn_tail.is_none(), "{report:?}");
    assert_eq!(all_ids(&store), acked);
    let verified = store.verify().unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    // And it takes appends.
    store
        .append(
            &stream("customer-x"),
            ExpectedRevision::Any,
            vec![sized_event(9_000_000, 200)],
        )
        .await
        .unwrap();
    store.close().await.unwrap();
}
