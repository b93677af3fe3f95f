//! The event-id index: sorted runs in files of our own, merged in tiers (a small LSM tree).
//!
//! Idempotency needs every stored event id findable by the id, a random key. In sled 0.34 a
//! random insert costs 10–20 µs of CPU (it copies the leaf it changes), so a key per event took
//! a core at 50–90k events/s; with it, 128 writers reached 79k appends/s here, without it 110k.
//! Instead, each flushed index table's ids are sorted and written as one file in one sequential
//! write: a run. A lookup asks each run newest first; a Bloom filter in memory (10 bits per id)
//! skips almost every run that does not hold the id, and the run's fence keys (the first id of
//! each block of 128) name the one block to read, whose checksum is checked. Runs of the same
//! tier are merged eight at a time, off the append path, so lookups stay within a few dozen
//! Bloom probes.
//!
//! A run covers a range of positions (`first`..=`last`), and the runs together cover the log
//! from position 1 to the index checkpoint without gap: a run is synced and renamed into
//! place before the checkpoint that counts its records is written, and a merge replaces its
//! inputs only after its output is synced. Whatever else a crash leaves (a half-written file,
//! inputs beside their merged output, runs past a checkpoint sled lost) is tidied or detected
//! on open; like everything in the index, the runs can be rebuilt from the log.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::types::Position;

const MAGIC: &[u8; 8] = b"crm-ids2";
const HEADER_LEN: u64 = 64;
/// An id and its position. Revision and content digest are read from the record itself on
/// the rare lookup that finds an id (a retry), which keeps runs at 24 bytes per event.
const ENTRY_LEN: usize = 24;
const BLOCK_ENTRIES: usize = 128;
const BLOOM_BITS_PER_ID: usize = 10;
const BLOOM_BLOCK_WORDS: usize = 8; // one 64-byte cache line per lookup
const BLOOM_PROBES: u32 = 6;
/// Runs of one tier merged into one of the next.
const FAN_IN: usize = 8;

/// One id's entry, as a run stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdEntry {
    pub id: Uuid,
    pub position: Position,
}

impl IdEntry {
    fn encode(&self, out: &mut [u8]) {
        out[..16].copy_from_slice(self.id.as_bytes());
        out[16..24].copy_from_slice(&self.position.0.to_be_bytes());
    }

    fn decode(b: &[u8]) -> IdEntry {
        let mut id = [0u8; 16];
        id.copy_from_slice(&b[..16]);
        IdEntry {
            id: Uuid::from_bytes(id),
            position: Position(u64_at(b, 16)),
        }
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

/// splitmix64's finaliser: ids are random or time-ordered, and either way spread well.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn id_hash(id: &Uuid) -> (u64, u64) {
    let (a, b) = id.as_u64_pair();
    let h = mix(a ^ b.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15);
    (h, mix(h ^ b))
}

/// A blocked Bloom filter: each id sets `BLOOM_PROBES` bits within one cache line.
#[derive(Debug)]
struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    fn with_capacity(ids: usize) -> Bloom {
        let blocks = (ids * BLOOM_BITS_PER_ID)
            .div_ceil(BLOOM_BLOCK_WORDS * 64)
            .max(1);
        Bloom {
            words: vec![0; blocks * BLOOM_BLOCK_WORDS],
        }
    }

    fn probes(&self, id: &Uuid) -> (usize, u64) {
        let (h, h2) = id_hash(id);
        let blocks = (self.words.len() / BLOOM_BLOCK_WORDS) as u64;
        let block = ((u128::from(h) * u128::from(blocks)) >> 64) as usize;
        (block * BLOOM_BLOCK_WORDS, h2)
    }

    fn insert(&mut self, id: &Uuid) {
        let (base, h2) = self.probes(id);
        for i in 0..BLOOM_PROBES {
            let bit = (h2 >> (i * 9)) & 511;
            self.words[base + (bit >> 6) as usize] |= 1 << (bit & 63);
        }
    }

    fn may_contain(&self, id: &Uuid) -> bool {
        let (base, h2) = self.probes(id);
        (0..BLOOM_PROBES).all(|i| {
            let bit = (h2 >> (i * 9)) & 511;
            self.words[base + (bit >> 6) as usize] & (1 << (bit & 63)) != 0
        })
    }
}

/// What a run keeps in memory: everything but its entries.
#[derive(Debug)]
struct Run {
    first: Position,
    last: Position,
    tier: u32,
    count: u64,
    path: PathBuf,
    file: File,
    bloom: Bloom,
    /// First id of each block.
    fences: Vec<[u8; 16]>,
    block_crcs: Vec<u32>,
}

impl Run {
    fn blocks(count: u64) -> usize {
        (count as usize).div_ceil(BLOCK_ENTRIES)
    }

    fn get(&self, id: &Uuid) -> Result<Option<Position>> {
        if !self.bloom.may_contain(id) {
            return Ok(None);
        }
        let key = id.as_bytes();
        let after = self.fences.partition_point(|f| f <= key);
        let Some(block) = after.checked_sub(1) else {
            return Ok(None);
        };
        let entries = self.read_block(block)?;
        let (mut lo, mut hi) = (0, entries.len() / ENTRY_LEN);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let entry = &entries[mid * ENTRY_LEN..(mid + 1) * ENTRY_LEN];
            match entry[..16].cmp(&key[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(IdEntry::decode(entry).position)),
            }
        }
        Ok(None)
    }

    fn read_block(&self, block: usize) -> Result<Vec<u8>> {
        let start = block * BLOCK_ENTRIES;
        let n = BLOCK_ENTRIES.min(self.count as usize - start);
        let mut buf = vec![0u8; n * ENTRY_LEN];
        self.file
            .read_exact_at(&mut buf, HEADER_LEN + (start * ENTRY_LEN) as u64)
            .map_err(StoreError::io_lazy(|| {
                format!("reading {}", self.path.display())
            }))?;
        if crc32fast::hash(&buf) != self.block_crcs[block] {
            return Err(StoreError::Index(format!(
                "event-id run {} is damaged in block {block}; remove the index directory to \
                 rebuild it from the log",
                self.path.display()
            )));
        }
        Ok(buf)
    }
}

/// Writes a run file from entries in id order.
struct RunWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    bloom: Bloom,
    fences: Vec<[u8; 16]>,
    block_crcs: Vec<u32>,
    block: crc32fast::Hasher,
    count: u64,
    last_id: Option<Uuid>,
}

impl RunWriter {
    fn create(tmp: PathBuf, capacity: usize) -> Result<RunWriter> {
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(StoreError::io(format!("creating {}", tmp.display())))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        out.write_all(&[0u8; HEADER_LEN as usize])
            .map_err(StoreError::io(format!("writing {}", tmp.display())))?;
        Ok(RunWriter {
            out,
            tmp,
            bloom: Bloom::with_capacity(capacity),
            fences: Vec::new(),
            block_crcs: Vec::new(),
            block: crc32fast::Hasher::new(),
            count: 0,
            last_id: None,
        })
    }

    /// Adds the next entry; ids must come in increasing order, a repeat is skipped.
    fn push(&mut self, e: &IdEntry) -> Result<()> {
        if self.last_id.is_some_and(|last| e.id <= last) {
            return Ok(());
        }
        self.last_id = Some(e.id);
        if self.count as usize % BLOCK_ENTRIES == 0 {
            if self.count > 0 {
                let done = std::mem::replace(&mut self.block, crc32fast::Hasher::new());
                self.block_crcs.push(done.finalize());
            }
            self.fences.push(*e.id.as_bytes());
        }
        let mut b = [0u8; ENTRY_LEN];
        e.encode(&mut b);
        self.block.update(&b);
        self.bloom.insert(&e.id);
        self.count += 1;
        self.out.write_all(&b).map_err(StoreError::io_lazy(|| {
            format!("writing {}", self.tmp.display())
        }))
    }

    /// Writes the footer and header, syncs, and renames the file into place.
    fn finish(mut self, dir: &Path, first: Position, last: Position, tier: u32) -> Result<Run> {
        let io = |what: &str| StoreError::io(format!("{what} {}", self.tmp.display()));
        if self.count > 0 {
            // Blocks are closed when the next one starts; the last is still open.
            let done = std::mem::replace(&mut self.block, crc32fast::Hasher::new());
            self.block_crcs.push(done.finalize());
        }
        let mut footer = Vec::with_capacity(self.fences.len() * 20 + self.bloom.words.len() * 8);
        for c in &self.block_crcs {
            footer.extend_from_slice(&c.to_be_bytes());
        }
        for f in &self.fences {
            footer.extend_from_slice(f);
        }
        for w in &self.bloom.words {
            footer.extend_from_slice(&w.to_be_bytes());
        }
        self.out.write_all(&footer).map_err(io("writing"))?;
        let mut header = [0u8; HEADER_LEN as usize];
        header[..8].copy_from_slice(MAGIC);
        header[8..16].copy_from_slice(&first.0.to_be_bytes());
        header[16..24].copy_from_slice(&last.0.to_be_bytes());
        header[24..32].copy_from_slice(&self.count.to_be_bytes());
        header[32..40].copy_from_slice(&(self.bloom.words.len() as u64).to_be_bytes());
        header[40..44].copy_from_slice(&tier.to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header[..44]);
        crc.update(&footer);
        header[44..48].copy_from_slice(&crc.finalize().to_be_bytes());
        let file = self.out.into_inner().map_err(|e| {
            StoreError::io(format!("writing {}", self.tmp.display()))(e.into_error())
        })?;
        file.write_all_at(&header, 0).map_err(io("writing"))?;
        file.sync_all().map_err(io("syncing"))?;
        let path = dir.join(run_name(first, last));
        std::fs::rename(&self.tmp, &path).map_err(io("renaming"))?;
        sync_dir(dir)?;
        Ok(Run {
            first,
            last,
            tier,
            count: self.count,
            path,
            file,
            bloom: self.bloom,
            fences: self.fences,
            block_crcs: self.block_crcs,
        })
    }
}

fn run_name(first: Position, last: Position) -> String {
    format!("{:020}-{:020}.run", first.0, last.0)
}

fn sync_dir(dir: &Path) -> Result<()> {
    crate::dir::sync_dir(dir).map_err(StoreError::io(format!("syncing {}", dir.display())))
}

/// Reads a run's header and footer; `None` when the file is not a whole run (a crash while it
/// was written, before its rename, cannot leave one; anything else is damage to rebuild).
fn load_run(path: &Path) -> Result<Option<Run>> {
    let io = StoreError::io(format!("reading {}", path.display()));
    let file = OpenOptions::new().read(true).open(path).map_err(io)?;
    let len = file
        .metadata()
        .map_err(StoreError::io(format!("reading {}", path.display())))?
        .len();
    let mut header = [0u8; HEADER_LEN as usize];
    if len < HEADER_LEN || file.read_exact_at(&mut header, 0).is_err() || &header[..8] != MAGIC {
        return Ok(None);
    }
    let first = Position(u64_at(&header, 8));
    let last = Position(u64_at(&header, 16));
    let count = u64_at(&header, 24);
    let words = u64_at(&header, 32);
    let tier = u32_at(&header, 40);
    let blocks = Run::blocks(count) as u64;
    let footer_len = blocks
        .checked_mul(20)
        .and_then(|f| words.checked_mul(8).and_then(|w| f.checked_add(w)));
    let entries_end = count
        .checked_mul(ENTRY_LEN as u64)
        .and_then(|e| e.checked_add(HEADER_LEN));
    let (Some(footer_len), Some(entries_end)) = (footer_len, entries_end) else {
        return Ok(None);
    };
    if entries_end.checked_add(footer_len) != Some(len)
        || words == 0
        || words as usize % BLOOM_BLOCK_WORDS != 0
    {
        return Ok(None);
    }
    let mut footer = vec![0u8; footer_len as usize];
    if file.read_exact_at(&mut footer, entries_end).is_err() {
        return Ok(None);
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header[..44]);
    crc.update(&footer);
    if crc.finalize() != u32_at(&header, 44) {
        return Ok(None);
    }
    let blocks = blocks as usize;
    let block_crcs = (0..blocks).map(|i| u32_at(&footer, i * 4)).collect();
    let fences = (0..blocks)
        .map(|i| {
            let mut f = [0u8; 16];
            f.copy_from_slice(&footer[blocks * 4 + i * 16..blocks * 4 + (i + 1) * 16]);
            f
        })
        .collect();
    let bloom = Bloom {
        words: footer[blocks * 20..]
            .chunks_exact(8)
            .map(|c| u64_at(c, 0))
            .collect(),
    };
    Ok(Some(Run {
        first,
        last,
        tier,
        count,
        path: path.to_path_buf(),
        file,
        bloom,
        fences,
        block_crcs,
    }))
}

/// The runs, oldest first. Lookups and the flusher share it; merges replace runs in place.
#[derive(Debug)]
pub(crate) struct IdRuns {
    dir: PathBuf,
    runs: RwLock<Vec<Arc<Run>>>,
}

impl IdRuns {
    /// Opens the runs in `dir` and tidies what a crash left: unfinished files, and merge
    /// inputs beside their output.
    pub fn open(dir: &Path) -> Result<IdRuns> {
        crate::dir::create_dir_durable(dir)
            .map_err(StoreError::io(format!("creating {}", dir.display())))?;
        let mut runs = Vec::new();
        let entries =
            std::fs::read_dir(dir).map_err(StoreError::io(format!("listing {}", dir.display())))?;
        for entry in entries {
            let path = entry
                .map_err(StoreError::io(format!("listing {}", dir.display())))?
                .path();
            let keep = match path.extension().and_then(|e| e.to_str()) {
                Some("run") => load_run(&path)?,
                _ => None,
            };
            match keep {
                Some(run) => runs.push(run),
                None => remove(&path)?,
            }
        }
        // A merge's output covers its inputs; inputs still present were about to be removed.
        runs.sort_by_key(|r| (r.first, std::cmp::Reverse(r.last)));
        let mut kept: Vec<Arc<Run>> = Vec::with_capacity(runs.len());
        for run in runs {
            match kept.last() {
                Some(outer) if run.last <= outer.last => remove(&run.path)?,
                _ => kept.push(Arc::new(run)),
            }
        }
        Ok(IdRuns {
            dir: dir.to_path_buf(),
            runs: RwLock::new(kept),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Arc<Run>>> {
        // Nothing under this lock can panic half-way through an update.
        self.runs.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Run>>> {
        self.runs.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the runs agree with the index checkpoint: runs wholly past it are removed (their
    /// records are re-indexed from the log). `false` when they cannot agree (a gap, or a run
    /// reaching across the checkpoint): then the whole index must be rebuilt.
    pub fn reconcile(&self, checkpoint: Option<Position>) -> Result<bool> {
        let through = checkpoint.unwrap_or(Position(0));
        let mut runs = self.write();
        let mut keep = Vec::with_capacity(runs.len());
        for run in runs.drain(..) {
            if run.first > through {
                remove(&run.path)?;
            } else {
                keep.push(run);
            }
        }
        *runs = keep;
        let mut next = Position::FIRST;
        for run in runs.iter() {
            if run.first != next || run.last > through {
                return Ok(false);
            }
            next = run.last.next();
        }
        Ok(next.0 == through.0 + 1)
    }

    /// Removes every run.
    pub fn clear(&self) -> Result<()> {
        let mut runs = self.write();
        for run in runs.drain(..) {
            remove(&run.path)?;
        }
        Ok(())
    }

    /// The last position the runs cover.
    pub fn last(&self) -> Option<Position> {
        self.read().last().map(|r| r.last)
    }

    /// Finds an id, newest run first.
    pub fn get(&self, id: Uuid) -> Result<Option<Position>> {
        // Held across the block reads: they take microseconds, and only a run being added or
        // a merge being installed waits for them.
        let runs = self.read();
        for run in runs.iter().rev() {
            if let Some(found) = run.get(&id)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Writes the ids of positions `first..=last` (which must follow the last run) as a new
    /// run, durable before this returns.
    pub fn add(&self, first: Position, last: Position, mut entries: Vec<IdEntry>) -> Result<()> {
        // In place, by the id as one integer: sorting (key, index) pairs and then visiting the
        // entries through the indexes made the write loop three times slower (cache misses).
        entries.sort_unstable_by_key(|e| e.id.as_u128());
        let tmp = self.dir.join(format!("{}.tmp", run_name(first, last)));
        let written = RunWriter::create(tmp.clone(), entries.len()).and_then(|mut w| {
            for e in &entries {
                w.push(e)?;
            }
            w.finish(&self.dir, first, last, 0)
        });
        match written {
            Ok(run) => {
                self.write().push(Arc::new(run));
                Ok(())
            }
            Err(e) => {
                // Nothing refers to it; on a full disk, its space is wanted back. (A run is
                // written whole again when the flush is retried.)
                let _ = std::fs::remove_file(&tmp);
                Err(e.full_if_no_space())
            }
        }
    }

    /// Merges the oldest `FAN_IN` runs of the lowest tier that has that many, if any; `Ok(false)`
    /// when none is due. Stops early, leaving everything as it was, when `stop` is set.
    /// `before` runs once a merge is due: whatever must be durable before runs are joined.
    pub fn merge_one(
        &self,
        stop: &AtomicBool,
        before: impl FnOnce() -> Result<()>,
    ) -> Result<bool> {
        let group: Vec<Arc<Run>> = {
            let runs = self.read();
            let mut tiers: Vec<u32> = runs.iter().map(|r| r.tier).collect();
            tiers.sort_unstable();
            tiers.dedup();
            let due = tiers.into_iter().find_map(|tier| {
                let at: Vec<usize> = runs
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.tier == tier)
                    .map(|(i, _)| i)
                    .take(FAN_IN)
                    .collect();
                // Runs of a tier sit side by side (older tiers are older); anything else is
                // left alone rather than merged out of order.
                (at.len() == FAN_IN && at[FAN_IN - 1] - at[0] == FAN_IN - 1).then_some(at[0])
            });
            match due {
                Some(start) => runs[start..start + FAN_IN].to_vec(),
                None => return Ok(false),
            }
        };
        before()?;
        let (first, last) = (group[0].first, group[FAN_IN - 1].last);
        let tmp = self.dir.join(format!("{}.tmp", run_name(first, last)));
        let merged = match self.write_merged(&group, &tmp, stop) {
            Ok(Some(run)) => Arc::new(run),
            Ok(None) => {
                remove(&tmp)?;
                return Ok(false);
            }
            Err(e) => {
                // Best effort: the next open removes what is left anyway.
                let _ = remove(&tmp);
                return Err(e);
            }
        };
        {
            let mut runs = self.write();
            let Some(start) = runs.iter().position(|r| Arc::ptr_eq(r, &group[0])) else {
                return Err(StoreError::Index("a merged run vanished".into()));
            };
            runs.splice(start..start + FAN_IN, [merged]);
        }
        for run in &group {
            remove(&run.path)?;
        }
        Ok(true)
    }

    /// Writes the merge of `group` (adjacent runs, oldest first); `None` when stopped.
    fn write_merged(
        &self,
        group: &[Arc<Run>],
        tmp: &Path,
        stop: &AtomicBool,
    ) -> Result<Option<Run>> {
        let capacity = group.iter().map(|r| r.count as usize).sum();
        let mut w = RunWriter::create(tmp.to_path_buf(), capacity)?;
        let mut cursors = group
            .iter()
            .map(|r| Cursor::new(r))
            .collect::<Result<Vec<_>>>()?;
        let mut step = 0u32;
        loop {
            step = step.wrapping_add(1);
            if step % 4096 == 0 && stop.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let next = cursors
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.head.map(|h| (h.id, i)))
                .min();
            let Some((_, i)) = next else { break };
            if let Some(e) = cursors[i].head {
                w.push(&e)?;
            }
            cursors[i].advance()?;
        }
        let tier = group[0].tier + 1;
        let (first, last) = (group[0].first, group[group.len() - 1].last);
        w.finish(&self.dir, first, last, tier).map(Some)
    }
}

/// Reads a run's entries in order, checking each block.
struct Cursor<'a> {
    run: &'a Run,
    reader: BufReader<File>,
    next: u64,
    block: crc32fast::Hasher,
    head: Option<IdEntry>,
}

impl<'a> Cursor<'a> {
    fn new(run: &'a Run) -> Result<Cursor<'a>> {
        let file = File::open(&run.path)
            .map_err(StoreError::io(format!("reading {}", run.path.display())))?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut skip = [0u8; HEADER_LEN as usize];
        reader
            .read_exact(&mut skip)
            .map_err(StoreError::io(format!("reading {}", run.path.display())))?;
        let mut c = Cursor {
            run,
            reader,
            next: 0,
            block: crc32fast::Hasher::new(),
            head: None,
        };
        c.advance()?;
        Ok(c)
    }

    fn advance(&mut self) -> Result<()> {
        if self.next == self.run.count {
            self.head = None;
            return Ok(());
        }
        let mut b = [0u8; ENTRY_LEN];
        self.reader
            .read_exact(&mut b)
            .map_err(StoreError::io_lazy(|| {
                format!("reading {}", self.run.path.display())
            }))?;
        self.block.update(&b);
        self.next += 1;
        if self.next as usize % BLOCK_ENTRIES == 0 || self.next == self.run.count {
            let block = (self.next as usize - 1) / BLOCK_ENTRIES;
            let crc = std::mem::replace(&mut self.block, crc32fast::Hasher::new()).finalize();
            if self.run.block_crcs.get(block) != Some(&crc) {
                return Err(StoreError::Index(format!(
                    "event-id run {} is damaged in block {block}; remove the index directory \
                     to rebuild it from the log",
                    self.run.path.display()
                )));
            }
        }
        self.head = Some(IdEntry::decode(&b));
        Ok(())
    }
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(format!("removing {}", path.display()))(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

    use super::*;

    fn id(n: u64) -> Uuid {
        // Spread like real ids: the mixer, not the counter, decides the order.
        Uuid::from_u64_pair(mix(n), mix(n ^ 0xdead_beef))
    }

    fn entry(n: u64) -> IdEntry {
        IdEntry {
            id: id(n),
            position: Position(n),
        }
    }

    /// Runs of `per_run` positions each, `runs` of them, from position 1.
    fn fill(ids: &IdRuns, runs: u64, per_run: u64) {
        fill_from(ids, 1, runs, per_run);
    }

    /// The same from position `first`.
    fn fill_from(ids: &IdRuns, first: u64, runs: u64, per_run: u64) {
        for r in 0..runs {
            let a = first + r * per_run;
            let b = a + per_run - 1;
            ids.add(Position(a), Position(b), (a..=b).map(entry).collect())
                .unwrap();
        }
    }

    fn all_found(ids: &IdRuns, through: u64) {
        for n in 1..=through {
            assert_eq!(ids.get(id(n)).unwrap(), Some(Position(n)), "id of {n}");
        }
        for n in through + 1..through + 500 {
            assert_eq!(ids.get(id(n)).unwrap(), None, "absent id of {n}");
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn runs_merge_in_tiers_and_every_id_stays_findable() {
        let dir = tempfile::tempdir().unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        fill(&ids, 64, 300);
        all_found(&ids, 64 * 300);
        let never = AtomicBool::new(false);
        let mut merges = 0;
        while ids.merge_one(&never, || Ok(())).unwrap() {
            merges += 1;
        }
        // 64 runs of tier 0 → 8 of tier 1 → 1 of tier 2.
        assert_eq!(merges, 9);
        assert_eq!(files(dir.path()).len(), 1, "{:?}", files(dir.path()));
        all_found(&ids, 64 * 300);
        assert!(ids.reconcile(Some(Position(64 * 300))).unwrap());

        let reopened = IdRuns::open(dir.path()).unwrap();
        all_found(&reopened, 64 * 300);
    }

    #[test]
    fn a_stopped_merge_leaves_the_runs_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        fill(&ids, 8, 5000);
        let before = files(dir.path());
        assert!(!ids.merge_one(&AtomicBool::new(true), || Ok(())).unwrap());
        assert_eq!(files(dir.path()), before, "no output, no input removed");
        all_found(&ids, 8 * 5000);
    }

    #[test]
    fn open_tidies_what_a_crash_left_and_reconcile_names_what_it_cannot_mend() {
        let dir = tempfile::tempdir().unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        fill(&ids, 8, 100);
        let inputs: Vec<(String, Vec<u8>)> = files(dir.path())
            .into_iter()
            .map(|n| {
                let bytes = std::fs::read(dir.path().join(&n)).unwrap();
                (n, bytes)
            })
            .collect();
        assert!(ids.merge_one(&AtomicBool::new(false), || Ok(())).unwrap());
        fill_from(&ids, 801, 2, 100); // two more runs after the merged one
        drop(ids);
        // A crash between renaming a merge's output and removing its inputs, and one while a
        // run was being written.
        for (name, bytes) in &inputs {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        std::fs::write(dir.path().join("x.run.tmp"), b"half a run").unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        assert_eq!(files(dir.path()).len(), 3, "{:?}", files(dir.path()));
        all_found(&ids, 1000);

        // sled lost the checkpoint of the last run: that run goes, its records are re-indexed.
        assert!(ids.reconcile(Some(Position(900))).unwrap());
        assert_eq!(ids.last(), Some(Position(900)));
        // A checkpoint inside a run, or past the runs, cannot be mended here.
        assert!(!ids.reconcile(Some(Position(850))).unwrap());
        let ids = IdRuns::open(dir.path()).unwrap();
        assert!(!ids.reconcile(Some(Position(950))).unwrap());
        // No checkpoint: nothing is indexed, so no run may stay.
        assert!(ids.reconcile(None).unwrap());
        assert!(files(dir.path()).is_empty());
    }

    #[test]
    fn damage_is_an_error_or_a_missing_run_never_a_wrong_answer() {
        let dir = tempfile::tempdir().unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        fill(&ids, 2, 1000);
        let name = files(dir.path())[0].clone();
        let path = dir.path().join(&name);
        drop(ids);

        // An entry's byte: the lookup that reads its block fails, naming the run.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN as usize + 5 * ENTRY_LEN + 20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        let errors = (1..=1000)
            .filter(|n| matches!(ids.get(id(*n)), Err(StoreError::Index(m)) if m.contains(&name)))
            .count();
        assert!(errors > 0, "the damaged block is reported");
        assert!((1..=1000).all(|n| !matches!(ids.get(id(n)), Ok(Some(p)) if p != Position(n))));
        drop(ids);

        // Its footer: the run is not loaded, and the gap makes the index rebuild.
        bytes[HEADER_LEN as usize + 5 * ENTRY_LEN + 20] ^= 1;
        let last = bytes.len() - 3;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let ids = IdRuns::open(dir.path()).unwrap();
        assert!(!ids.reconcile(Some(Position(2000))).unwrap());
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// A run of this many new positions; ids drawn from `seed`.
        Add(u16, u64),
        Merge,
        Reopen,
        /// A crash after a merge's rename, before its inputs were removed.
        RestoreInputs,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (1u16..200, any::<u64>()).prop_map(|(n, seed)| Op::Add(n, seed)),
            3 => Just(Op::Merge),
            1 => Just(Op::Reopen),
            1 => Just(Op::RestoreInputs),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
        /// Whatever the order of adds, merges, reopens and leftover merge inputs, every id
        /// added is found with what was stored for it, a sample of others is not, and the runs
        /// cover the positions added without gap.
        #[test]
        fn the_runs_behave_like_a_map(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let mut ids = IdRuns::open(dir.path()).unwrap();
            let mut model: std::collections::HashMap<Uuid, Position> = Default::default();
            let mut next = 1u64;
            let mut before_merge: Vec<(String, Vec<u8>)> = Vec::new();
            let never = AtomicBool::new(false);
            for op in ops {
                match op {
                    Op::Add(n, seed) => {
                        let first = next;
                        let last = next + u64::from(n) - 1;
                        let entries: Vec<IdEntry> = (first..=last)
                            .map(|p| IdEntry {
                                id: Uuid::from_u64_pair(mix(seed ^ p), mix(p)),
                                position: Position(p),
                            })
                            .collect();
                        for e in &entries {
                            model.insert(e.id, e.position);
                        }
                        ids.add(Position(first), Position(last), entries).unwrap();
                        next = last + 1;
                    }
                    Op::Merge => {
                        let snapshot: Vec<(String, Vec<u8>)> = files(dir.path())
                            .into_iter()
                            .map(|n| {
                                let b = std::fs::read(dir.path().join(&n)).unwrap();
                                (n, b)
                            })
                            .collect();
                        if ids.merge_one(&never, || Ok(())).unwrap() {
                            before_merge = snapshot;
                        }
                    }
                    Op::Reopen => {
                        drop(ids);
                        ids = IdRuns::open(dir.path()).unwrap();
                    }
                    Op::RestoreInputs => {
                        drop(ids);
                        for (name, bytes) in &before_merge {
                            let path = dir.path().join(name);
                            if !path.exists() {
                                std::fs::write(path, bytes).unwrap();
                            }
                        }
                        ids = IdRuns::open(dir.path()).unwrap();
                    }
                }
                for (id, position) in &model {
                    proptest::prop_assert_eq!(ids.get(*id).unwrap(), Some(*position));
                }
                for k in 0..50u64 {
                    let absent = Uuid::from_u64_pair(k, u64::MAX - k);
                    proptest::prop_assert_eq!(ids.get(absent).unwrap(), None);
                }
                proptest::prop_assert!(ids.reconcile(Some(Position(next - 1))).unwrap());
            }
        }
    }

    #[test]
    fn the_bloom_filter_skips_almost_every_run_without_the_id() {
        let mut bloom = Bloom::with_capacity(10_000);
        for n in 0..10_000 {
            bloom.insert(&id(n));
        }
        assert!((0..10_000).all(|n| bloom.may_contain(&id(n))));
        let false_positives = (10_000..110_000)
            .filter(|n| bloom.may_contain(&id(*n)))
            .count();
        assert!(
            false_positives < 3_000,
            "{false_positives} of 100,000 absent ids pass"
        );
    }
}
