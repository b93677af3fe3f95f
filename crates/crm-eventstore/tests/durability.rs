//! What survives power loss, tampering and damage.
//!
//! - Power loss: a simulated disk (like Jepsen's LazyFS) keeps every write in a volatile layer
//!   until `fdatasync`, and a "power cut" throws that layer away. Every acknowledged append must
//!   survive; the same harness must catch a store that acknowledges before syncing.
//! - Tampering: a record's bytes are edited and its checksum fixed up, as an attacker would;
//!   `verify` names that record through the hash chain.
//! - Damage sweep: one bit flipped at every byte of a small segment, and the segment cut at
//!   every length: open or `verify` reports each, and a torn tail is cut off.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{event, stream};
use crm_eventstore::segment::{SegmentFile, SegmentStorage, FRAME_CONTINUES, SEGMENT_HEADER_LEN};
use crm_eventstore::{
    AllStart, Direction, Durability, EventStore, ExpectedRevision, FindingKind, Position,
    StoreConfig, StoreError,
};

// ---- a disk that forgets unsynced writes ------------------------------------------------

#[derive(Debug, Default)]
struct SimFile {
    /// What reads see: the page cache.
    visible: Mutex<Vec<u8>>,
    /// What survives a power cut.
    durable: Mutex<Vec<u8>>,
    /// Writes since the last sync, in order: a power cut may keep a prefix of them.
    unsynced: Mutex<Vec<(u64, Vec<u8>)>>,
    power_cut: Arc<AtomicBool>,
    syncs: Arc<SyncBudget>,
    space: Arc<SpaceBudget>,
}

/// How many more steps that take space (a write, a reservation, a growing length, a new
/// file) succeed before the disk is full and every later one fails with ENOSPC; `None`: all
/// of them. Shared by the disk's files.
#[derive(Debug, Default)]
struct SpaceBudget(Mutex<Option<u64>>);

impl SpaceBudget {
    fn take(&self) -> io::Result<()> {
        let mut left = self.0.lock().unwrap();
        match *left {
            None => Ok(()),
            Some(0) => Err(no_space()),
            Some(n) => {
                *left = Some(n - 1);
                Ok(())
            }
        }
    }

    /// Fails when the disk is full, without using up a step: for the durable mark, which the
    /// flusher writes at its own pace.
    fn check(&self) -> io::Result<()> {
        match *self.0.lock().unwrap() {
            Some(0) => Err(no_space()),
            _ => Ok(()),
        }
    }
}

fn no_space() -> io::Error {
    io::Error::from_raw_os_error(28) // ENOSPC
}

/// How many more fdatasyncs succeed (the disk's, shared by its files); `None`: all of them.
#[derive(Debug, Default)]
struct SyncBudget(Mutex<Option<u64>>);

impl SyncBudget {
    fn take(&self) -> io::Result<()> {
        let mut left = self.0.lock().unwrap();
        match *left {
            None => Ok(()),
            Some(0) => Err(io::Error::other("the disk fails every fdatasync")),
            Some(n) => {
                *left = Some(n - 1);
                Ok(())
            }
        }
    }
}

fn dead() -> io::Error {
    io::Error::other("power is off")
}

impl SegmentFile for SimFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let v = self.visible.lock().unwrap();
        let start = (offset as usize).min(v.len());
        let n = buf.len().min(v.len() - start);
        buf[..n].copy_from_slice(&v[start..start + n]);
        Ok(n)
    }
    fn write_all_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        if let Err(e) = self.space.take() {
            // A disk that fills up mid-write keeps what fit.
            self.write_unchecked(offset, &data[..data.len() / 2]);
            return Err(e);
        }
        self.write_unchecked(offset, data);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        self.syncs.take()?;
        let v = self.visible.lock().unwrap().clone();
        *self.durable.lock().unwrap() = v;
        self.unsynced.lock().unwrap().clear();
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.visible.lock().unwrap().len() as u64)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        let mut v = self.visible.lock().unwrap();
        if len as usize > v.len() {
            self.space.take()?;
        }
        v.resize(len as usize, 0);
        Ok(())
    }
    fn allocate(&self, len: u64) -> io::Result<()> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        let mut v = self.visible.lock().unwrap();
        if v.len() < len as usize {
            self.space.take()?;
            v.resize(len as usize, 0);
        }
        Ok(())
    }
}

impl SimFile {
    fn write_unchecked(&self, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut v = self.visible.lock().unwrap();
        let end = offset as usize + data.len();
        if v.len() < end {
            v.resize(end, 0);
        }
        v[offset as usize..end].copy_from_slice(data);
        self.unsynced.lock().unwrap().push((offset, data.to_vec()));
    }
}

impl SimFile {
    /// What a power cut leaves: the synced bytes, and the first `keep` bytes of the writes
    /// since (in the order they were made), as a disk that wrote part of its queue would.
    fn after_power_cut(&self, keep: usize) -> Vec<u8> {
        let mut bytes = self.durable.lock().unwrap().clone();
        let mut left = keep;
        for (offset, data) in self.unsynced.lock().unwrap().iter() {
            if left == 0 {
                break;
            }
            let data = &data[..data.len().min(left)];
            left -= data.len();
            let (start, end) = (*offset as usize, *offset as usize + data.len());
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[start..end].copy_from_slice(data);
        }
        bytes
    }

    fn unsynced_bytes(&self) -> usize {
        self.unsynced
            .lock()
            .unwrap()
            .iter()
            .map(|(_, d)| d.len())
            .sum()
    }
}

#[derive(Debug, Default)]
struct SimDisk {
    files: Mutex<BTreeMap<u32, Arc<SimFile>>>,
    /// The durable mark; replaced atomically and durably, as the real storage does.
    mark: Mutex<Option<Vec<u8>>>,
    /// Bytes recovery cut, by segment and offset; durable once written.
    quarantined: Mutex<Vec<(u32, u64, Vec<u8>)>>,
    power_cut: Arc<AtomicBool>,
    syncs: Arc<SyncBudget>,
    space: Arc<SpaceBudget>,
}

impl SimDisk {
    /// From now on, `n` more steps that take space succeed, and every later one fails with
    /// ENOSPC (see `SpaceBudget`).
    fn fill_after(&self, n: u64) {
        *self.space.0.lock().unwrap() = Some(n);
    }

    /// Space was freed: every step succeeds again.
    fn free_space(&self) {
        *self.space.0.lock().unwrap() = None;
    }

    fn cut_power(&self) {
        self.power_cut.store(true, Ordering::SeqCst);
    }

    /// From now on, `n` more fdatasyncs succeed and every later one fails (writes still
    /// reach the page cache).
    fn fail_syncs_after(&self, n: u64) {
        *self.syncs.0.lock().unwrap() = Some(n);
    }

    /// The disk as it comes back after the power cut: only what was synced.
    fn reboot(&self) -> SimDisk {
        self.reboot_keeping(0)
    }

    /// The disk after a power cut that kept the first `keep` bytes of each file's unsynced
    /// writes.
    fn reboot_keeping(&self, keep: usize) -> SimDisk {
        let next = SimDisk::default();
        *next.mark.lock().unwrap() = self.mark.lock().unwrap().clone();
        *next.quarantined.lock().unwrap() = self.quarantined.lock().unwrap().clone();
        for (n, f) in self.files.lock().unwrap().iter() {
            let durable = f.after_power_cut(keep);
            next.files.lock().unwrap().insert(
                *n,
                Arc::new(SimFile {
                    visible: Mutex::new(durable.clone()),
                    durable: Mutex::new(durable),
                    power_cut: next.power_cut.clone(),
                    syncs: next.syncs.clone(),
                    space: next.space.clone(),
                    ..SimFile::default()
                }),
            );
        }
        next
    }
}

impl SimDisk {
    /// The disk as a restarted process finds it, without a power cut: the page cache still
    /// holds every write, synced or not (also those whose fdatasync failed), and fdatasync
    /// works again (and, like Linux after a failed writeback, reports success for pages it
    /// never wrote).
    fn restart(&self) -> SimDisk {
        let next = SimDisk::default();
        *next.mark.lock().unwrap() = self.mark.lock().unwrap().clone();
        *next.quarantined.lock().unwrap() = self.quarantined.lock().unwrap().clone();
        for (n, f) in self.files.lock().unwrap().iter() {
            next.files.lock().unwrap().insert(
                *n,
                Arc::new(SimFile {
                    visible: Mutex::new(f.visible.lock().unwrap().clone()),
                    durable: Mutex::new(f.durable.lock().unwrap().clone()),
                    unsynced: Mutex::new(f.unsynced.lock().unwrap().clone()),
                    power_cut: next.power_cut.clone(),
                    syncs: next.syncs.clone(),
                    space: next.space.clone(),
                }),
            );
        }
        next
    }
}

impl SegmentStorage for SimDisk {
    fn list(&self) -> io::Result<Vec<u32>> {
        Ok(self.files.lock().unwrap().keys().copied().collect())
    }
    fn open(&self, segment: u32) -> io::Result<Arc<dyn SegmentFile>> {
        let f = self
            .files
            .lock()
            .unwrap()
            .get(&segment)
            .cloned()
            .ok_or(io::ErrorKind::NotFound)?;
        Ok(f)
    }
    fn create(&self, segment: u32) -> io::Result<Arc<dyn SegmentFile>> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        let mut files = self.files.lock().unwrap();
        // As the real storage, which creates a new file only.
        if files.contains_key(&segment) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        self.space.take()?;
        // Creation is durable at once: the real storage fsyncs the directory.
        let f = Arc::new(SimFile {
            power_cut: self.power_cut.clone(),
            syncs: self.syncs.clone(),
            space: self.space.clone(),
            ..SimFile::default()
        });
        files.insert(segment, f.clone());
        Ok(f)
    }
    fn read_durable_mark(&self) -> io::Result<Option<Vec<u8>>> {
        Ok(self.mark.lock().unwrap().clone())
    }
    fn write_durable_mark(&self, bytes: &[u8]) -> io::Result<()> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        self.space.check()?;
        *self.mark.lock().unwrap() = Some(bytes.to_vec());
        Ok(())
    }
    fn durable_mark_location(&self) -> PathBuf {
        PathBuf::from("sim/durable")
    }
    fn quarantine(&self, segment: u32, offset: u64, bytes: &[u8]) -> io::Result<PathBuf> {
        if self.power_cut.load(Ordering::SeqCst) {
            return Err(dead());
        }
        self.space.take()?;
        let mut quarantined = self.quarantined.lock().unwrap();
        quarantined.push((segment, offset, bytes.to_vec()));
        Ok(PathBuf::from(format!(
            "sim/quarantine-{}",
            quarantined.len()
        )))
    }
}

fn open_sim(
    disk: Arc<SimDisk>,
    index: &Path,
    durability: Durability,
) -> crm_eventstore::Result<EventStore> {
    let config = StoreConfig {
        durability,
        segment_size_max_bytes: 16 * 1024,
        ..StoreConfig::default()
    };
    EventStore::open_with(disk, index, config, None)
}

/// Runs writers against a simulated disk, cuts the power after `cut_after` acknowledgements,
/// reboots, and returns (acknowledged, acknowledged but lost).
async fn power_cut_round(durability: Durability, cut_after: usize, seed: u64) -> (usize, usize) {
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), durability).unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let (store, acked, disk) = (store.clone(), acked.clone(), disk.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..10_000u64 {
                let e = event(seed * 1_000_000 + w * 10_000 + i, "E");
                let id = e.event_id;
                match store
                    .append(
                        &stream(&format!("customer-{w}")),
                        ExpectedRevision::Any,
                        vec![e],
                    )
                    .await
                {
                    Ok(r) => {
                        let mut a = acked.lock().unwrap();
                        a.push((r.first_position, id));
                        if a.len() == cut_after {
                            disk.cut_power();
                        }
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(store);
    let rebooted = Arc::new(disk.reboot());
    let store =
        open_sim(rebooted, index.path(), Durability::Fsync).expect("reopen after power cut");
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 100_000)
        .unwrap();
    let acked = acked.lock().unwrap().clone();
    let lost = acked
        .iter()
        .filter(|(p, id)| all.get(p.0 as usize - 1).map(|e| e.event_id) != Some(*id))
        .count();
    assert!(
        store.verify().unwrap().is_ok(),
        "the log after reboot verifies"
    );
    (acked.len(), lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_append_is_lost_to_a_power_cut() {
    for (round, cut_after) in [1usize, 7, 50, 133, 400, 777].into_iter().enumerate() {
        let (acked, lost) = power_cut_round(Durability::Fsync, cut_after, round as u64).await;
        assert!(acked >= cut_after);
        assert_eq!(
            lost, 0,
            "cut after {cut_after}: {lost} of {acked} acknowledged events lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_power_cut_harness_catches_acknowledging_before_fdatasync() {
    // Batched durability acknowledges before syncing: the harness must see the loss.
    let batched = Durability::Batched {
        interval: Duration::from_secs(3600),
    };
    let (acked, lost) = power_cut_round(batched, 300, 99).await;
    assert!(
        lost > 0,
        "{acked} acknowledged and none lost: the harness proves nothing"
    );
}

#[tokio::test]
async fn space_reserved_ahead_of_the_tail_reads_as_the_end_of_the_log_after_a_crash() {
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    for i in 0..5 {
        store
            .append(
                &stream("customer-z"),
                ExpectedRevision::Any,
                vec![event(i, "E")],
            )
            .await
            .unwrap();
    }
    let tail_len = |disk: &SimDisk| {
        let files = disk.files.lock().unwrap();
        let (_, last) = files.iter().next_back().unwrap();
        let bytes = last.durable.lock().unwrap().clone();
        let used = frame_offsets_until_zero(&bytes);
        (bytes.len(), used)
    };
    let (len, used) = tail_len(&disk);
    assert!(
        len > used,
        "the writer reserves space ahead ({len} bytes, {used} used)"
    );
    disk.cut_power();
    drop(store);

    let rebooted = Arc::new(disk.reboot());
    let store = open_sim(rebooted.clone(), index.path(), Durability::Fsync).unwrap();
    assert_eq!(
        store.recovery_report().torn_tail,
        None,
        "zeros past the last record are not damage"
    );
    let r = store
        .append(
            &stream("customer-z"),
            ExpectedRevision::Exact(4),
            vec![event(5, "E")],
        )
        .await
        .unwrap();
    assert_eq!(
        r.first_position,
        Position(6),
        "the next record follows the last one"
    );
    assert!(store.verify().unwrap().is_ok());
    store.close().await.unwrap();
    let (len, used) = tail_len(&rebooted);
    assert_eq!(
        len, used,
        "a clean close leaves the segment exactly as long as its records"
    );
}

impl SimDisk {
    /// Changes what segment `n` holds, as damage on the platter would.
    fn edit(&self, n: u32, f: impl FnOnce(&mut Vec<u8>)) {
        let files = self.files.lock().unwrap();
        let file = &files[&n];
        let mut bytes = file.durable.lock().unwrap().clone();
        f(&mut bytes);
        *file.durable.lock().unwrap() = bytes.clone();
        *file.visible.lock().unwrap() = bytes;
    }
}

/// Appends 40 events one by one, waits until the durable mark must have been stored, and
/// cuts the power (the in-memory index table is never flushed: its records are all past the
/// index checkpoint).
async fn crashed_log_of_40() -> (Arc<SimDisk>, tempfile::TempDir) {
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    for i in 0..40 {
        store
            .append(
                &stream("customer-d"),
                ExpectedRevision::Any,
                vec![event(i, "E")],
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    disk.cut_power();
    drop(store);
    (Arc::new(disk.reboot()), index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_to_synced_records_after_a_crash_is_refused_not_cut_off_as_a_torn_tail() {
    let (disk, index) = crashed_log_of_40().await;
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    assert_eq!(store.recovery_report().torn_tail, None);
    assert_eq!(store.recovery_report().last_position, 40);
    drop(store);

    // A flipped bit in record 20, which was acknowledged: cutting the log there would
    // silently drop 21 acknowledged records.
    let (disk, index) = crashed_log_of_40().await;
    let at = frame_offsets_until_zero_list(&disk, 0)[19];
    disk.edit(0, |b| b[at + 20] ^= 0x10);
    match open_sim(disk.clone(), index.path(), Durability::Fsync) {
        Err(StoreError::Corrupt { position, reason }) => {
            assert_eq!(position, Position(20), "{reason}");
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(s) => panic!("damage accepted: {:?}", s.recovery_report()),
    }
    let len = disk.files.lock().unwrap()[&0].durable.lock().unwrap().len();
    assert!(len > at, "nothing was cut off");

    // The segment cut short at a record boundary: acknowledged records are gone.
    let (disk, index) = crashed_log_of_40().await;
    let at = frame_offsets_until_zero_list(&disk, 0)[30];
    disk.edit(0, |b| b.truncate(at));
    match open_sim(disk, index.path(), Durability::Fsync) {
        Err(StoreError::Corrupt { position, reason }) => {
            assert_eq!(position, Position(31), "{reason}");
            assert!(reason.contains("ends at position 30"), "{reason}");
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(s) => panic!("a shortened log accepted: {:?}", s.recovery_report()),
    }
}

fn frame_offsets_until_zero_list(disk: &SimDisk, n: u32) -> Vec<usize> {
    let files = disk.files.lock().unwrap();
    let bytes = files[&n].durable.lock().unwrap().clone();
    let end = frame_offsets_until_zero(&bytes);
    frame_offsets(&bytes[..end])
}

/// Where the records of a segment end: the first frame offset whose length is zero.
fn frame_offsets_until_zero(bytes: &[u8]) -> usize {
    let mut at = SEGMENT_HEADER_LEN as usize;
    while at + 8 <= bytes.len() {
        let len =
            (u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) & !FRAME_CONTINUES) as usize;
        if len == 0 {
            break;
        }
        at += 8 + len + 32;
    }
    at
}

#[tokio::test]
async fn a_failed_fdatasync_stops_writes_until_reopen() {
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    store
        .append(
            &stream("customer-a"),
            ExpectedRevision::Any,
            vec![event(1, "E")],
        )
        .await
        .unwrap();
    disk.cut_power();
    let err = store
        .append(
            &stream("customer-a"),
            ExpectedRevision::Any,
            vec![event(2, "E")],
        )
        .await;
    assert!(matches!(err, Err(StoreError::Poisoned(_))), "{err:?}");
    assert!(store.is_poisoned());
    let err = store
        .append(
            &stream("customer-a"),
            ExpectedRevision::Any,
            vec![event(3, "E")],
        )
        .await;
    assert!(matches!(err, Err(StoreError::Poisoned(_))), "{err:?}");
    assert_eq!(store.head(), Position(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_whose_fdatasync_failed_are_not_in_the_log_after_a_restart() {
    // A is synced and acknowledged; B is written, its fdatasync fails and it is refused. The
    // process restarts without a power cut: the page cache still holds B, and fdatasync
    // "succeeds" again. B was never acknowledged and is not known to be on disk: it must not
    // come back.
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    let a = event(1, "E");
    store
        .append(
            &stream("customer-f"),
            ExpectedRevision::NoStream,
            vec![a.clone()],
        )
        .await
        .unwrap();
    disk.fail_syncs_after(0);
    let b = append_events(7, 3);
    let refused = store
        .append(&stream("customer-f"), ExpectedRevision::Exact(0), b.clone())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Poisoned(_))),
        "{refused:?}"
    );
    drop(store);
    let written = disk.files.lock().unwrap()[&0].unsynced_bytes();
    assert!(written > 3 * 100, "B was written: {written} bytes");

    let restarted = Arc::new(disk.restart());
    let visible = restarted.files.lock().unwrap()[&0]
        .visible
        .lock()
        .unwrap()
        .clone();
    let at = frame_offsets_until_zero(&visible);
    assert!(
        frame_offsets(&visible[..at]).len() == 4,
        "the page cache still holds A and B's three records"
    );
    let store = open_sim(restarted.clone(), index.path(), Durability::Fsync).unwrap();
    assert_eq!(store.head(), Position(1), "{:?}", store.recovery_report());
    assert_eq!(store.recovery_report().last_position, 1);
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 100)
        .unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![a.event_id], "only A is served");
    for e in &b {
        assert!(store.find_event(e.event_id).unwrap().is_none());
    }
    assert!(store.verify().unwrap().is_ok());
    // B's bytes were cut into the quarantine, as a torn tail's are.
    let torn = store
        .recovery_report()
        .torn_tail
        .clone()
        .expect("the cut is reported");
    assert!(torn.quarantined_to.is_some(), "{torn:?}");
    let quarantined = restarted.quarantined.lock().unwrap().clone();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].1, torn.offset);
    assert!(quarantined[0].2.len() >= written.min(3 * 100));
    // New appends take B's positions.
    let c = store
        .append(
            &stream("customer-f"),
            ExpectedRevision::Exact(0),
            vec![event(2, "E")],
        )
        .await
        .unwrap();
    assert_eq!(c.first_position, Position(2));
    store.close().await.unwrap();
    drop(store);

    // And a power cut now keeps A and C, which were synced after the restart.
    let store = open_sim(
        Arc::new(restarted.reboot()),
        index.path(),
        Durability::Fsync,
    )
    .unwrap();
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 100)
        .unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![a.event_id, event(2, "E").event_id]);
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_fdatasync_stops_a_batched_store_like_a_failed_append_sync() {
    // The error a failed fdatasync in the writer gives, for comparison.
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    disk.fail_syncs_after(0);
    let by_writer = store
        .append(
            &stream("customer-s"),
            ExpectedRevision::Any,
            vec![event(1, "E")],
        )
        .await
        .unwrap_err();
    drop(store);

    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let batched = Durability::Batched {
        interval: Duration::from_millis(20),
    };
    let store = open_sim(disk.clone(), index.path(), batched).unwrap();
    store
        .append(
            &stream("customer-s"),
            ExpectedRevision::Any,
            vec![event(1, "E")],
        )
        .await
        .unwrap();
    // The syncer syncs it, and the flusher stores the mark.
    tokio::time::sleep(Duration::from_millis(300)).await;
    disk.fail_syncs_after(0);
    // Acknowledged (batched), but its background fdatasync fails. On a loaded machine the
    // syncer may have failed a sync already (it also syncs the mark), and then the store
    // refuses this append: either way the background failure stops the store.
    match store
        .append(
            &stream("customer-s"),
            ExpectedRevision::Any,
            vec![event(2, "E")],
        )
        .await
    {
        Ok(_) | Err(StoreError::Poisoned(_)) => {}
        Err(other) => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        store.is_poisoned(),
        "the failed background sync stops the store"
    );
    let refused = store
        .append(
            &stream("customer-s"),
            ExpectedRevision::Any,
            vec![event(3, "E")],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), by_writer.to_string());
    assert!(matches!(refused, StoreError::Poisoned(_)), "{refused:?}");
    drop(store);

    // After a restart (the page cache still holds record 2), the log ends at the last record
    // known synced: record 2 was never known to be on disk.
    let restarted = Arc::new(disk.restart());
    let store = open_sim(restarted, index.path(), Durability::Fsync).unwrap();
    assert_eq!(store.head(), Position(1), "{:?}", store.recovery_report());
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_stopped_store_fails_with_the_reason_it_stopped() {
    for durability in [
        Durability::Fsync,
        Durability::Batched {
            interval: Duration::from_millis(20),
        },
    ] {
        let index = tempfile::tempdir().unwrap();
        let disk = Arc::new(SimDisk::default());
        let store = open_sim(disk.clone(), index.path(), durability).unwrap();
        store
            .append(
                &stream("customer-c"),
                ExpectedRevision::Any,
                vec![event(1, "E")],
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        disk.fail_syncs_after(0);
        let _ = store
            .append(
                &stream("customer-c"),
                ExpectedRevision::Any,
                vec![event(2, "E")],
            )
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(store.is_poisoned(), "{durability:?}");
        let closed = store.close().await;
        assert!(
            matches!(closed, Err(StoreError::Poisoned(_))),
            "{durability:?}: {closed:?}"
        );
        // Asked again, it still does not say all is well.
        let again = store.close().await;
        assert!(
            matches!(again, Err(StoreError::Poisoned(_))),
            "{durability:?}: {again:?}"
        );
    }
    // A store that did not stop closes cleanly.
    let index = tempfile::tempdir().unwrap();
    let store = open_sim(
        Arc::new(SimDisk::default()),
        index.path(),
        Durability::Fsync,
    )
    .unwrap();
    store
        .append(
            &stream("customer-c"),
            ExpectedRevision::Any,
            vec![event(1, "E")],
        )
        .await
        .unwrap();
    store.close().await.unwrap();
    store.close().await.unwrap();
}

// ---- tampering and damage on real files --------------------------------------------------

fn segment_path(dir: &Path, n: u32) -> std::path::PathBuf {
    crm_eventstore::log_dir(dir).join(format!("segment-{n:08}.log"))
}

/// Byte offsets of each frame in a segment file.
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_LEN as usize;
    while at + 8 <= bytes.len() {
        out.push(at);
        let len =
            (u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) & !FRAME_CONTINUES) as usize;
        at += 8 + len + 32;
    }
    out
}

async fn write_small_log(dir: &Path, n: u64) {
    let store = EventStore::open(dir, StoreConfig::default()).unwrap();
    for i in 0..n {
        store
            .append(
                &stream("customer-t"),
                ExpectedRevision::Any,
                vec![event(i, "E")],
            )
            .await
            .unwrap();
    }
    store.close().await.unwrap();
}

#[tokio::test]
async fn an_edited_record_with_a_fixed_up_checksum_is_named_by_the_hash_chain() {
    let dir = tempfile::tempdir().unwrap();
    write_small_log(dir.path(), 50).await;
    let path = segment_path(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = frame_offsets(&bytes)[29]; // position 30
    let len =
        (u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) & !FRAME_CONTINUES) as usize;
    let body = at + 8..at + 8 + len;
    // Change the payload's number as a forger would: "n":29 becomes "n":92.
    let needle = b"\"n\":29";
    let hit = bytes[body.clone()]
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("payload in body");
    bytes[body.start + hit + 4] = b'9';
    bytes[body.start + hit + 5] = b'2';
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[at..at + 4]);
    crc.update(&bytes[at + 8..at + 8 + len + 32]);
    bytes[at + 4..at + 8].copy_from_slice(&crc.finalize().to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();

    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let report = store.verify().unwrap();
    let first = report.first_finding().expect("tampering is found");
    assert_eq!(
        (first.kind, first.position),
        (FindingKind::HashChain, Position(30)),
        "{report:?}"
    );
    assert_eq!(
        report.findings.len(),
        1,
        "only the edited record is named: {report:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Opens a damaged copy and says how the damage was reported, or panics if it was not.
fn damage_is_reported(dir: &Path, what: &str) {
    match EventStore::open(dir, StoreConfig::default()) {
        Err(StoreError::Corrupt { .. } | StoreError::CorruptSegment { .. }) => {}
        Err(e) => panic!("{what}: open failed with an unexpected error: {e}"),
        Ok(store) => {
            let report = store.recovery_report().clone();
            let verify = store.verify().unwrap();
            let repaired = report.torn_tail.is_some() || report.index_rebuilt;
            assert!(
                repaired || !verify.is_ok(),
                "{what}: went unnoticed ({report:?})"
            );
            if repaired {
                // After cutting a torn tail the rest of the log must be whole.
                assert!(
                    verify.is_ok(),
                    "{what}: repaired log does not verify: {:?}",
                    verify.findings
                );
            }
        }
    }
}

#[tokio::test]
async fn every_flipped_bit_and_every_truncation_of_a_segment_is_reported() {
    let pristine = tempfile::tempdir().unwrap();
    write_small_log(pristine.path(), 3).await;
    let bytes = std::fs::read(segment_path(pristine.path(), 0)).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for offset in 0..bytes.len() {
        let dir = scratch.path().join(format!("flip-{offset}"));
        copy_dir(pristine.path(), &dir);
        let mut damaged = bytes.clone();
        damaged[offset] ^= 1 << (offset % 8);
        std::fs::write(segment_path(&dir, 0), &damaged).unwrap();
        damage_is_reported(&dir, &format!("bit flip at byte {offset}"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    for cut in 0..bytes.len() {
        let dir = scratch.path().join(format!("cut-{cut}"));
        copy_dir(pristine.path(), &dir);
        std::fs::write(segment_path(&dir, 0), &bytes[..cut]).unwrap();
        damage_is_reported(&dir, &format!("truncation to {cut} bytes"));
        // A torn tail is cut back to the last whole record.
        if let Ok(store) = EventStore::open(&dir, StoreConfig::default()) {
            let len = std::fs::metadata(segment_path(&dir, 0)).unwrap().len() as usize;
            assert!(
                len == SEGMENT_HEADER_LEN as usize
                    || frame_offsets(&bytes).contains(&len)
                    || len == bytes.len(),
                "cut {cut}: left {len} bytes"
            );
            assert!(store.verify().unwrap().is_ok());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

// ---- an append is all or nothing, across power cuts and segment rolls ------------------

/// The events of append `a`: `n` of them, ids `a * 100 ..`.
fn append_events(a: u64, n: u64) -> Vec<crm_eventstore::NewEvent> {
    (0..n).map(|i| event(a * 100 + i, "E")).collect()
}

/// Checks that each append in `appends` (number, event count) is in the log wholly or not at
/// all, in order, with nothing else; returns the numbers of those present.
fn whole_appends(store: &EventStore, appends: &[(u64, u64)], what: &str) -> Vec<u64> {
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 100_000)
        .unwrap();
    let mut at = 0usize;
    let mut present = Vec::new();
    for &(a, n) in appends {
        let expected: Vec<_> = append_events(a, n).iter().map(|e| e.event_id).collect();
        let found: Vec<_> = all[at..]
            .iter()
            .take(n as usize)
            .map(|e| e.event_id)
            .collect();
        if found == expected {
            present.push(a);
            at += n as usize;
        } else {
            assert!(
                found.first() != expected.first(),
                "{what}: append {a} is in the log in part: {} of its {n} events",
                found
                    .iter()
                    .zip(&expected)
                    .take_while(|(f, e)| f == e)
                    .count()
            );
        }
    }
    assert_eq!(at, all.len(), "{what}: records that belong to no append");
    assert!(store.verify().unwrap().is_ok(), "{what}: the log verifies");
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_keeps_a_multi_event_append_whole_or_not_at_all() {
    // Appends 1 and 2 are acknowledged; append 3 ("transfer approved", "customer moved", ...)
    // is written but its fdatasync fails, and the power cut keeps any prefix of its bytes.
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store = open_sim(disk.clone(), index.path(), Durability::Fsync).unwrap();
    let appends = [(1u64, 2u64), (2, 3), (3, 4)];
    for &(a, n) in &appends[..2] {
        store
            .append(
                &stream(&format!("transfer-{a}")),
                ExpectedRevision::NoStream,
                append_events(a, n),
            )
            .await
            .unwrap();
    }
    // The durable mark reaches append 2.
    tokio::time::sleep(Duration::from_millis(300)).await;
    disk.fail_syncs_after(0);
    let lost = store
        .append(
            &stream("transfer-3"),
            ExpectedRevision::NoStream,
            append_events(3, 4),
        )
        .await;
    assert!(lost.is_err(), "not acknowledged: {lost:?}");
    disk.cut_power();
    drop(store);
    let written = disk.files.lock().unwrap()[&0].unsynced_bytes();
    assert!(written > 4 * 100, "append 3 was written: {written} bytes");

    for keep_mark in [true, false] {
        for keep in 0..=written {
            let what = format!("{keep} of {written} bytes kept, mark kept {keep_mark}");
            let rebooted = Arc::new(disk.reboot_keeping(keep));
            if !keep_mark {
                *rebooted.mark.lock().unwrap() = None;
            }
            let index = tempfile::tempdir().unwrap();
            let store = open_sim(rebooted.clone(), index.path(), Durability::Fsync)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let present = whole_appends(&store, &appends, &what);
            assert!(
                present == [1, 2] || present == [1, 2, 3],
                "{what}: {present:?}"
            );
            let report = store.recovery_report().clone();
            if present == [1, 2] && keep > 0 {
                let torn = report
                    .torn_tail
                    .unwrap_or_else(|| panic!("{what}: the cut is reported"));
                let quarantined = rebooted.quarantined.lock().unwrap().clone();
                assert_eq!(quarantined.len(), 1, "{what}");
                assert_eq!(quarantined[0].1, torn.offset, "{what}");
            }
            // The log goes on from there.
            let next = store
                .append(
                    &stream("transfer-4"),
                    ExpectedRevision::NoStream,
                    append_events(4, 2),
                )
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(next.first_position.0, report.last_position + 1, "{what}");
            drop(store);
        }
    }
}

/// A store on `disk` whose tail segment has fewer than `room` bytes left before the target
/// size: single events are appended until then. Returns the store and the appends made (one
/// event each, numbered from 1).
async fn store_near_a_roll(
    disk: Arc<SimDisk>,
    index: &Path,
    room: usize,
) -> (EventStore, Vec<(u64, u64)>) {
    let store = open_sim(disk.clone(), index, Durability::Fsync).unwrap();
    let mut appends = Vec::new();
    for a in 1.. {
        let used = {
            let files = disk.files.lock().unwrap();
            let bytes = files[&0].visible.lock().unwrap().clone();
            frame_offsets_until_zero(&bytes)
        };
        if 16 * 1024 - used < room {
            break;
        }
        store
            .append(
                &stream("customer-r"),
                ExpectedRevision::Any,
                append_events(a, 1),
            )
            .await
            .unwrap();
        appends.push((a, 1));
    }
    (store, appends)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_event_append_that_does_not_fit_starts_a_new_segment() {
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let (store, mut appends) = store_near_a_roll(disk.clone(), index.path(), 600).await;
    let singles = appends.len();
    store
        .append(
            &stream("transfer-r"),
            ExpectedRevision::NoStream,
            append_events(1000, 6),
        )
        .await
        .unwrap();
    appends.push((1000, 6));
    store.close().await.unwrap();
    drop(store);
    assert_eq!(
        frame_offsets_until_zero_list(&disk, 0).len(),
        singles,
        "segment 0 holds the single events, and none of the append after them"
    );
    assert_eq!(frame_offsets_until_zero_list(&disk, 1).len(), 6);
    let store = open_sim(disk.reboot().into(), index.path(), Durability::Fsync).unwrap();
    assert_eq!(
        whole_appends(&store, &appends, "reopened").len(),
        appends.len()
    );

    // A power cut at every step of the roll: after each fdatasync, keeping none or all of the
    // writes since.
    for syncs in 0..4 {
        for keep in [0, usize::MAX] {
            let what = format!("{syncs} fdatasyncs succeed, {keep} unsynced bytes kept");
            let index = tempfile::tempdir().unwrap();
            let disk = Arc::new(SimDisk::default());
            let (store, mut appends) = store_near_a_roll(disk.clone(), index.path(), 600).await;
            disk.fail_syncs_after(syncs);
            let _ = store
                .append(
                    &stream("transfer-r"),
                    ExpectedRevision::NoStream,
                    append_events(1000, 6),
                )
                .await;
            appends.push((1000, 6));
            disk.cut_power();
            drop(store);
            let rebooted = Arc::new(disk.reboot_keeping(keep));
            let store = open_sim(rebooted, index.path(), Durability::Fsync)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let present = whole_appends(&store, &appends, &what);
            assert!(
                present.len() >= appends.len() - 1,
                "{what}: acknowledged appends lost"
            );
        }
    }
}

// ---- an index ahead of the log ----------------------------------------------------------

/// Batched durability, and index tables of 8 records, so that sled's checkpoint follows the
/// log closely.
fn batched_small_tables() -> StoreConfig {
    StoreConfig {
        durability: Durability::Batched {
            interval: Duration::from_millis(20),
        },
        segment_size_max_bytes: 16 * 1024,
        index_table_records: 8,
        ..StoreConfig::default()
    }
}

async fn append_singles(store: &EventStore, numbers: std::ops::Range<u64>) {
    for n in numbers {
        store
            .append(
                &stream("customer-b"),
                ExpectedRevision::Any,
                vec![event(n, "E")],
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_checkpoint_past_the_durable_mark_that_the_log_lost_is_rebuilt() {
    // Records 1-20 are synced (with the space reserved after them, which reads as zeros) and
    // the mark says so; records 21-60 are acknowledged (batched), indexed in sled, and then
    // lost, wholly or in part, to a power cut.
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store =
        EventStore::open_with(disk.clone(), index.path(), batched_small_tables(), None).unwrap();
    append_singles(&store, 0..20).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Nothing is unsynced: the power cut only stops the store, which keeps its reserved space.
    disk.cut_power();
    drop(store);
    let disk = Arc::new(disk.reboot());
    // A failed background fdatasync would stop the store (see
    // `a_failed_background_fdatasync_stops_a_batched_store_like_a_failed_append_sync`): here
    // the syncer never runs before the power cut.
    let never_synced = StoreConfig {
        durability: Durability::Batched {
            interval: Duration::from_secs(3600),
        },
        ..batched_small_tables()
    };
    let store = EventStore::open_with(disk.clone(), index.path(), never_synced, None).unwrap();
    assert_eq!(store.head(), Position(20));
    append_singles(&store, 20..60).await;
    // The flusher puts the full tables into sled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    disk.cut_power();
    drop(store);
    let written = disk.files.lock().unwrap()[&0].unsynced_bytes();

    for keep in [0, written / 3, written / 2 + 7] {
        let what = format!("{keep} of {written} unsynced bytes kept");
        let copy = tempfile::tempdir().unwrap();
        copy_dir(index.path(), copy.path());
        let rebooted = Arc::new(disk.reboot_keeping(keep));
        let store = open_sim(rebooted, copy.path(), Durability::Fsync)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let report = store.recovery_report().clone();
        assert!(report.index_rebuilt, "{what}: {report:?}");
        assert!(
            (20..60).contains(&report.last_position),
            "{what}: {report:?}"
        );
        if keep == 0 {
            assert_eq!(report.last_position, 20, "{what}");
        }
        let all = store
            .read_all(AllStart::Start, Direction::Forwards, 1000)
            .unwrap();
        let ids: Vec<_> = all.iter().map(|e| e.event_id).collect();
        let expected: Vec<_> = (0..report.last_position)
            .map(|n| event(n, "E").event_id)
            .collect();
        assert_eq!(ids, expected, "{what}");
        assert!(store.verify().unwrap().is_ok(), "{what}");
        // The lost events can be appended again.
        store
            .append(
                &stream("customer-b"),
                ExpectedRevision::Any,
                vec![event(report.last_position, "E")],
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_at_an_index_checkpoint_within_the_durable_mark_is_still_refused() {
    let index = tempfile::tempdir().unwrap();
    let disk = Arc::new(SimDisk::default());
    let store =
        EventStore::open_with(disk.clone(), index.path(), batched_small_tables(), None).unwrap();
    append_singles(&store, 0..40).await;
    // Synced, the mark stored at 40 and sled's checkpoint at 40.
    tokio::time::sleep(Duration::from_millis(700)).await;
    disk.cut_power();
    drop(store);
    let disk = Arc::new(disk.reboot());
    let last = *frame_offsets_until_zero_list(&disk, 0).last().unwrap();
    for damage in ["zeros", "flip"] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(index.path(), copy.path());
        let damaged = Arc::new(disk.reboot());
        damaged.edit(0, |b| match damage {
            "zeros" => b[last..].fill(0),
            _ => b[last + 20] ^= 0x08,
        });
        match open_sim(damaged, copy.path(), Durability::Fsync) {
            Err(StoreError::Corrupt { position, reason }) => {
                assert_eq!(position, Position(40), "{damage}: {reason}");
                // Found where the index checkpoint names the record, not by a scan.
                assert!(reason.contains("where the index places it"), "{reason}");
            }
            Err(e) => panic!("{damage}: unexpected error {e}"),
            Ok(s) => panic!("{damage}: accepted: {:?}", s.recovery_report()),
        }
    }
}

// ---- a full disk refuses appends, and takes them again once space returns ---------------

/// The events of append `a` in `stream`, as `(number, event count)` pairs record them.
fn all_event_ids(store: &EventStore) -> Vec<uuid::Uuid> {
    store
        .read_all(AllStart::Start, Direction::Forwards, 10_000)
        .unwrap()
        .iter()
        .map(|e| e.event_id)
        .collect()
}

/// Opens a copy of `disk` as a restarted process (page cache kept) and as after a power cut
/// (only what was synced), each with an index rebuilt from the log, and checks that each
/// holds exactly `expected`, in order, and verifies.
async fn reopens_clean(disk: &SimDisk, expected: &[uuid::Uuid], what: &str) {
    for (how, copy) in [("restart", disk.restart()), ("power cut", disk.reboot())] {
        let index = tempfile::tempdir().unwrap();
        let store = open_sim(Arc::new(copy), index.path(), Durability::Fsync)
            .unwrap_or_else(|e| panic!("{what}: reopen after a {how}: {e}"));
        assert_eq!(all_event_ids(&store), expected, "{what}, after a {how}");
        let report = store.verify().unwrap();
        assert!(report.is_ok(), "{what}, after a {how}: {report:?}");
        store.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_at_every_step_of_an_append_refuses_it_and_space_returning_takes_it() {
    // Two appends near the end of segment 0: one that fits, and one that rolls over (seals
    // segment 0, creates segment 1, writes its header, reserves space, writes). The disk
    // fills up after n steps, for every n until both get through.
    let mut refusals = 0;
    for n in 0.. {
        let index = tempfile::tempdir().unwrap();
        let disk = Arc::new(SimDisk::default());
        let (store, before) = store_near_a_roll(disk.clone(), index.path(), 1500).await;
        let mut acked: Vec<uuid::Uuid> = before
            .iter()
            .flat_map(|(a, k)| append_events(*a, *k))
            .map(|e| e.event_id)
            .collect();
        let head = store.head();
        disk.fill_after(n);
        let small = append_events(900, 1);
        let big = append_events(901, 12); // about 2.5 KiB: does not fit the tail
        let mut refused = Vec::new();
        for (name, events) in [("customer-s", small), ("customer-b", big)] {
            match store
                .append(&stream(name), ExpectedRevision::Any, events.clone())
                .await
            {
                Ok(r) => {
                    assert!(refused.is_empty(), "n={n}: order kept");
                    assert_eq!(r.first_position, Position(acked.len() as u64 + 1));
                    acked.extend(events.iter().map(|e| e.event_id));
                }
                Err(e) => {
                    assert!(
                        matches!(e, StoreError::StorageFull { .. }) && e.is_storage_full(),
                        "n={n}: {e:?}"
                    );
                    assert!(e.to_string().contains("nothing was written"), "{e}");
                    refused.push((name, events));
                }
            }
        }
        if refused.is_empty() {
            assert!(n >= 5, "the appends take at least 5 steps that take space");
            break;
        }
        refusals += 1;
        // Refused, not stopped: nothing acknowledged is lost, nothing refused is readable.
        assert!(
            !store.is_poisoned(),
            "n={n}: a full disk does not stop the store"
        );
        assert_eq!(all_event_ids(&store), acked, "n={n}");
        assert!(store.head() >= head);
        assert!(store.verify().unwrap().is_ok(), "n={n}");
        // Still full: refused again, still not stopped.
        let (name, events) = refused[0].clone();
        let again = store
            .append(&stream(name), ExpectedRevision::Any, events)
            .await;
        assert!(
            matches!(again, Err(StoreError::StorageFull { .. })),
            "n={n}: {again:?}"
        );
        // A reopen now, while the disk is full, finds exactly what was acknowledged.
        reopens_clean(&disk, &acked, &format!("n={n}, full")).await;

        // Space returns: the refused appends go through, the chain intact, no reopen.
        disk.free_space();
        for (name, events) in refused {
            let r = store
                .append(&stream(name), ExpectedRevision::Any, events.clone())
                .await
                .unwrap_or_else(|e| panic!("n={n}: after space returned: {e}"));
            assert!(!r.already_stored);
            assert_eq!(r.first_position, Position(acked.len() as u64 + 1), "n={n}");
            acked.extend(events.iter().map(|e| e.event_id));
        }
        assert_eq!(all_event_ids(&store), acked, "n={n}");
        assert!(store.verify().unwrap().is_ok(), "n={n}");
        store.close().await.unwrap();
        drop(store);
        reopens_clean(&disk, &acked, &format!("n={n}, after")).await;
    }
    assert!(refusals >= 5, "{refusals} steps refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_during_a_group_commit_keeps_exactly_the_appends_it_acknowledged() {
    // Concurrent appends, gathered into batches that roll over segments: when the disk fills
    // up part-way through a batch, each append is either acknowledged and in the log, or
    // refused as storage full and not in it; the store goes on once space returns.
    for n in 0..24u64 {
        let index = tempfile::tempdir().unwrap();
        let disk = Arc::new(SimDisk::default());
        let (store, before) = store_near_a_roll(disk.clone(), index.path(), 3000).await;
        let before: Vec<uuid::Uuid> = before
            .iter()
            .flat_map(|(a, k)| append_events(*a, *k))
            .map(|e| e.event_id)
            .collect();
        disk.fill_after(n);
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let events = append_events(1000 + t, 4 + t % 3);
                let name = format!("customer-c{}", t % 3);
                let r = store
                    .append(&stream(&name), ExpectedRevision::Any, events.clone())
                    .await;
                (events, r)
            }));
        }
        let mut acked = std::collections::HashSet::new();
        let mut refused = Vec::new();
        for task in tasks {
            let (events, r) = task.await.unwrap();
            match r {
                Ok(_) => acked.extend(events.iter().map(|e| e.event_id)),
                Err(StoreError::StorageFull { .. }) => refused.push(events),
                Err(e) => panic!("n={n}: {e:?}"),
            }
        }
        assert!(!store.is_poisoned(), "n={n}");
        let ids = all_event_ids(&store);
        assert_eq!(ids[..before.len()], before[..], "n={n}");
        let new: std::collections::HashSet<_> = ids[before.len()..].iter().copied().collect();
        assert_eq!(
            new, acked,
            "n={n}: the log holds exactly the acknowledged appends"
        );
        assert!(store.verify().unwrap().is_ok(), "n={n}");
        reopens_clean(&disk, &ids, &format!("n={n}, full")).await;
        disk.free_space();
        for events in refused {
            store
                .append(&stream("customer-late"), ExpectedRevision::Any, events)
                .await
                .unwrap_or_else(|e| panic!("n={n}: after space returned: {e}"));
        }
        let ids = all_event_ids(&store);
        assert_eq!(
            ids.len(),
            before.len() + (0..8).map(|t| 4 + t % 3).sum::<usize>()
        );
        assert!(store.verify().unwrap().is_ok(), "n={n}");
        store.close().await.unwrap();
        drop(store);
        reopens_clean(&disk, &ids, &format!("n={n}, after")).await;
    }
}
