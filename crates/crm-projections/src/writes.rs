//! How a read-model tree is written: the entries a flush changed, applied whole or not at all,
//! without holding the flush in sled's memory.
//!
//! A small flush (the steady state: what changed in half a second) is one sled batch, atomic
//! by itself. A large one (a catch-up, a rebuild, the first fold of a data directory) is not:
//! sled keeps a batch's nodes in its page cache well past its cache capacity (measured: a batch
//! of 100,000 values of 1 KB raised the process to 742 MB, eight of them to 1.3 GB and 710 MB
//! on disk, where the same values inserted one at a time stayed at 126 MB and 196 MB, in half
//! the time; docs/PERFORMANCE.md). A large flush is therefore made atomic by a redo file: its
//! entries are written to a file beside the index and synced, then inserted into the tree one
//! at a time, the tree flushed, and the file removed. Opening a tree with a redo file whose
//! position is past the tree's checkpoint inserts its entries again (they are whole values,
//! so doing it twice is the same as once) before anything reads the tree; a redo file that is
//! not whole was never acted on (nothing touches the tree before it is synced) and is removed.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::ProjectionError;

/// A flush at most this many entries and bytes is one sled batch; a larger one goes through a
/// redo file.
pub const BATCH_ENTRIES_MAX: usize = 8_192;
pub const BATCH_BYTES_MAX: usize = 8 << 20;

static ENTRIES_MAX: AtomicUsize = AtomicUsize::new(BATCH_ENTRIES_MAX);
static BYTES_MAX: AtomicUsize = AtomicUsize::new(BATCH_BYTES_MAX);

/// The redo flushes left before the one a crash interrupts halfway ([`crash_in_redo_flush`]);
/// `usize::MAX`: none.
static CRASH_IN: AtomicUsize = AtomicUsize::new(usize::MAX);

/// For the kill test's process: the `n`th flush through a redo file from now inserts half its
/// entries, makes them durable, and aborts the process, as a power cut there would leave it.
pub fn crash_in_redo_flush(n: usize) {
    CRASH_IN.store(n.max(1) - 1, Ordering::Relaxed);
}

/// Changes the bounds of a one-batch flush for the whole process (the kill test's process sets
/// 0, 0 so that every flush goes through the redo file).
pub fn set_batch_max(entries: usize, bytes: usize) {
    ENTRIES_MAX.store(entries, Ordering::Relaxed);
    BYTES_MAX.store(bytes, Ordering::Relaxed);
}

const MAGIC: &[u8; 8] = b"CRMREDO1";

/// The entries one flush writes, in order: a value to insert, or `None` to remove the key.
#[derive(Debug, Default)]
pub struct Writes {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    bytes: usize,
}

impl Writes {
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        let (key, value) = (key.into(), value.into());
        self.bytes += key.len() + value.len();
        self.ops.push((key, Some(value)));
    }

    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        let key = key.into();
        self.bytes += key.len();
        self.ops.push((key, None));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn is_small(&self) -> bool {
        self.ops.len() <= ENTRIES_MAX.load(Ordering::Relaxed)
            && self.bytes <= BYTES_MAX.load(Ordering::Relaxed)
    }

    /// Applies the writes to `tree` all or nothing: one sled batch when small, else through
    /// the redo file at `redo` (see the module's documentation). `position` is the checkpoint
    /// the writes carry (a later open replays the redo file only while the tree's checkpoint
    /// is below it).
    pub fn apply(
        self,
        tree: &sled::Tree,
        redo: &Path,
        position: u64,
    ) -> Result<(), ProjectionError> {
        if self.is_small() {
            let mut batch = sled::Batch::default();
            for (k, v) in self.ops {
                match v {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            tree.apply_batch(batch)?;
            return Ok(());
        }
        write_redo(redo, position, &self.ops)?;
        let left = CRASH_IN.load(Ordering::Relaxed);
        if left != usize::MAX {
            CRASH_IN.store(left.saturating_sub(1), Ordering::Relaxed);
            if left == 0 && self.ops.len() >= 2 {
                insert_in_order(tree, &self.ops[..self.ops.len() / 2])?;
                tree.flush()?;
                std::process::abort();
            }
        }
        insert_in_order(tree, &self.ops)?;
        tree.flush()?;
        remove_redo(redo)
    }

    /// Applies the writes one insert at a time in their order, without a redo file: for a
    /// tree that is only used once a key written last is in it (sled recovers a prefix of
    /// its log, so that key recovered means every earlier insert is).
    pub fn apply_in_order(self, tree: &sled::Tree) -> Result<(), ProjectionError> {
        insert_in_order(tree, &self.ops)
    }
}

fn insert_in_order(
    tree: &sled::Tree,
    ops: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Result<(), ProjectionError> {
    for (k, v) in ops {
        match v {
            Some(v) => tree.insert(k.as_slice(), v.as_slice())?,
            None => tree.remove(k.as_slice())?,
        };
    }
    Ok(())
}

/// The redo file of the tree `tree_name` of the store whose index is at `index_path`: in a
/// directory beside the index (`redo/`), so that compacting the index keeps it.
pub fn redo_path(index_path: &Path, tree_name: &str) -> PathBuf {
    let parent = index_path.parent().unwrap_or_else(|| Path::new("."));
    parent.join("redo").join(tree_name)
}

fn io(what: &Path) -> impl FnOnce(std::io::Error) -> ProjectionError + '_ {
    move |e| ProjectionError::Generation(format!("redo file {}: {e}", what.display()))
}

fn sync_dir(dir: &Path) -> Result<(), ProjectionError> {
    crm_eventstore::sync_dir(dir).map_err(io(dir))
}

/// Header: magic, position, entries, payload length, blake3 of the payload; then the payload:
/// per entry a kind byte (1 insert, 0 remove), the key's length and key, the value's length
/// and value (lengths u32, big-endian). Written to a temporary name, synced, renamed.
fn write_redo(
    path: &Path,
    position: u64,
    ops: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Result<(), ProjectionError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    // Its own entry in the data directory made durable too: a synced file in a directory a
    // power loss forgets is lost with it.
    crm_eventstore::create_dir_durable(dir).map_err(io(dir))?;
    let mut hasher = blake3::Hasher::new();
    let mut payload_len = 0u64;
    for (k, v) in ops {
        let head = entry_head(k, v.as_deref())?;
        hasher.update(&head);
        hasher.update(k);
        payload_len += (head.len() + k.len()) as u64;
        if let Some(v) = v {
            hasher.update(&(v.len() as u32).to_be_bytes());
            hasher.update(v);
            payload_len += 4 + v.len() as u64;
        }
    }
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&position.to_be_bytes());
    header.extend_from_slice(&(ops.len() as u64).to_be_bytes());
    header.extend_from_slice(&payload_len.to_be_bytes());
    header.extend_from_slice(hasher.finalize().as_bytes());
    out.write_all(&header).map_err(io(&tmp))?;
    for (k, v) in ops {
        out.write_all(&entry_head(k, v.as_deref())?)
            .map_err(io(&tmp))?;
        out.write_all(k).map_err(io(&tmp))?;
        if let Some(v) = v {
            out.write_all(&(v.len() as u32).to_be_bytes())
                .map_err(io(&tmp))?;
            out.write_all(v).map_err(io(&tmp))?;
        }
    }
    let file = out.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir)
}

fn entry_head(k: &[u8], v: Option<&[u8]>) -> Result<Vec<u8>, ProjectionError> {
    let len = u32::try_from(k.len())
        .map_err(|_| ProjectionError::Generation(format!("a key of {} bytes", k.len())))?;
    if let Some(v) = v {
        u32::try_from(v.len())
            .map_err(|_| ProjectionError::Generation(format!("a value of {} bytes", v.len())))?;
    }
    let mut head = Vec::with_capacity(5);
    head.push(u8::from(v.is_some()));
    head.extend_from_slice(&len.to_be_bytes());
    Ok(head)
}

fn remove_redo(path: &Path) -> Result<(), ProjectionError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path)(e)),
    }
    sync_dir(path.parent().unwrap_or_else(|| Path::new(".")))
}

/// A redo file read back whole: its position and entries; `None` if it is torn (shorter than
/// its header says, or its payload does not hash to the header's digest).
type Redo = (u64, Vec<(Vec<u8>, Option<Vec<u8>>)>);

fn read_redo(path: &Path) -> Result<Option<Redo>, ProjectionError> {
    let file = File::open(path).map_err(io(path))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut header = [0u8; 8 + 8 + 8 + 8 + 32];
    if input.read_exact(&mut header).is_err() || &header[..8] != MAGIC {
        return Ok(None);
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&header[i..i + 8]);
        u64::from_be_bytes(w)
    };
    let (position, entries, payload_len) = (word(8), word(16), word(24));
    let mut payload = Vec::new();
    input
        .take(payload_len)
        .read_to_end(&mut payload)
        .map_err(io(path))?;
    if payload.len() as u64 != payload_len || blake3::hash(&payload).as_bytes() != &header[32..] {
        return Ok(None);
    }
    let mut ops = Vec::new();
    let mut rest = payload.as_slice();
    for _ in 0..entries {
        let Some((&kind, r)) = rest.split_first() else {
            return Ok(None);
        };
        let Some((k, r)) = take_sized(r) else {
            return Ok(None);
        };
        rest = r;
        let v = if kind == 1 {
            let Some((v, r)) = take_sized(rest) else {
                return Ok(None);
            };
            rest = r;
            Some(v.to_vec())
        } else {
            None
        };
        ops.push((k.to_vec(), v));
    }
    Ok(Some((position, ops)))
}

fn take_sized(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Finishes what a flush interrupted by a crash left at `redo` for `tree`, whose checkpoint
/// is `checkpoint`: a whole redo file past the checkpoint is inserted again and the tree
/// flushed; any redo file is then removed. Returns whether entries were inserted again.
pub fn recover(tree: &sled::Tree, redo: &Path, checkpoint: u64) -> Result<bool, ProjectionError> {
    if !redo.exists() {
        let _ = fs::remove_file(redo.with_extension("tmp"));
        return Ok(false);
    }
    let replayed = match read_redo(redo)? {
        Some((position, ops)) if position > checkpoint => {
            tracing::warn!(
                redo = %redo.display(),
                position,
                checkpoint,
                entries = ops.len(),
                "finishing a read-model flush a crash interrupted"
            );
            insert_in_order(tree, &ops)?;
            tree.flush()?;
            true
        }
        Some(_) => false,
        None => {
            tracing::warn!(redo = %redo.display(), "removing a torn redo file (its flush never started)");
            false
        }
    };
    remove_redo(redo)?;
    Ok(replayed)
}

/// Removes the redo file of a tree that is being cleared or dropped.
pub fn discard(redo: &Path) -> Result<(), ProjectionError> {
    let _ = fs::remove_file(redo.with_extension("tmp"));
    remove_redo(redo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, sled::Db, sled::Tree) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new()
            .path(dir.path().join("index"))
            .open()
            .unwrap();
        let tree = db.open_tree("t").unwrap();
        (dir, db, tree)
    }

    fn large(n: usize, value: u8) -> Writes {
        let mut w = Writes::default();
        for i in 0..n {
            w.insert(format!("k{i:06}").into_bytes(), vec![value; 16]);
        }
        w.remove(b"gone".as_slice());
        w
    }

    #[test]
    fn a_large_flush_goes_through_a_redo_file_that_is_gone_once_it_is_in() {
        let (dir, _db, tree) = tree();
        tree.insert(b"gone", b"x".as_slice()).unwrap();
        let redo = redo_path(&dir.path().join("index"), "t");
        let w = large(BATCH_ENTRIES_MAX + 1, 7);
        assert!(!w.is_small());
        w.apply(&tree, &redo, 9).unwrap();
        assert!(!redo.exists());
        assert_eq!(tree.len(), BATCH_ENTRIES_MAX + 1);
        assert_eq!(tree.get(b"k000000").unwrap().unwrap().as_ref(), &[7u8; 16]);
        assert!(tree.get(b"gone").unwrap().is_none());
    }

    #[test]
    fn a_redo_file_past_the_checkpoint_is_inserted_again_and_one_at_or_before_it_is_not() {
        let (dir, _db, tree) = tree();
        let redo = redo_path(&dir.path().join("index"), "t");
        let w = large(100, 3);
        // As a crash would leave it: the file written and synced, no entry in the tree yet.
        write_redo(&redo, 50, &w.ops).unwrap();
        tree.insert(b"gone", b"x".as_slice()).unwrap();
        assert!(recover(&tree, &redo, 40).unwrap());
        assert!(!redo.exists());
        assert_eq!(tree.get(b"k000099").unwrap().unwrap().as_ref(), &[3u8; 16]);
        assert!(tree.get(b"gone").unwrap().is_none());
        // A later flush moved the checkpoint past it and changed an entry: an old file that
        // outlived its removal must not bring the old value back.
        write_redo(&redo, 50, &w.ops).unwrap();
        tree.insert(b"k000099", b"new".as_slice()).unwrap();
        assert!(!recover(&tree, &redo, 60).unwrap());
        assert!(!redo.exists());
        assert_eq!(tree.get(b"k000099").unwrap().unwrap().as_ref(), b"new");
    }

    #[test]
    fn a_torn_redo_file_is_removed_without_touching_the_tree() {
        let (dir, _db, tree) = tree();
        let redo = redo_path(&dir.path().join("index"), "t");
        let w = large(100, 3);
        write_redo(&redo, 50, &w.ops).unwrap();
        let bytes = fs::read(&redo).unwrap();
        for cut in [4, 60, bytes.len() - 1] {
            fs::write(&redo, &bytes[..cut]).unwrap();
            assert!(!recover(&tree, &redo, 0).unwrap(), "cut at {cut}");
            assert!(!redo.exists());
            assert!(tree.is_empty());
        }
        // One flipped byte of the payload: the digest no longer matches.
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        fs::write(&redo, &flipped).unwrap();
        assert!(!recover(&tree, &redo, 0).unwrap());
        assert!(tree.is_empty());
    }

    #[test]
    fn a_small_flush_is_one_batch_and_leaves_no_file() {
        let (dir, _db, tree) = tree();
        let redo = redo_path(&dir.path().join("index"), "t");
        let w = large(10, 1);
        assert!(w.is_small());
        w.apply(&tree, &redo, 1).unwrap();
        assert!(!redo.parent().unwrap().exists());
        assert_eq!(tree.len(), 10);
    }
}
