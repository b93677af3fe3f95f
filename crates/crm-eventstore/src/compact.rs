//! Compaction of the index directory (`crm compact`, with the server stopped).
//!
//! sled 0.34 writes every change as a new fragment of its log-structured file and reclaims a
//! file segment only once at most half of it is live, so `index/` holds several times what its
//! trees contain: the event index is written one table at a time into leaves all over the
//! tree, and the read models' flushes rewrite their records (docs/PERFORMANCE.md, "Index
//! size"). Nothing in sled is the only copy of anything, so the remedy is a copy: every tree,
//! entry by entry in key order, into a new sled database beside it, with the event-id runs,
//! then an exchange of directories.
//!
//! The exchange survives a crash at any point. `index.compact/` is complete (flushed, files
//! and directories synced) before `index/` is renamed to `index.old/`, and `index.compact/` to
//! `index/`. Whoever opens the directory next finishes or undoes an interrupted exchange
//! ([`finish_interrupted`]): a leftover `index.compact/` is removed, an `index.old/` beside an
//! `index/` is removed, and an `index.old/` without an `index/` (a crash between the renames)
//! is renamed back.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::dir::create_dir_durable;
use crate::error::{Result, StoreError};
use crate::lock::DataDirLock;
use crate::store::index_dir;

/// The new index being written.
const COMPACT_DIR: &str = "index.compact";
/// The old index between the two renames.
const OLD_DIR: &str = "index.old";
/// Entries per sled batch while copying: big enough that sled writes whole leaves, small
/// enough that a batch of read-model records (up to a few KiB each) stays a few MiB.
const BATCH_ENTRIES: usize = 2048;
/// sled's page cache for the two databases while copying.
const COPY_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// Bytes in `index/` before and after (files, recursively).
    pub before_bytes: u64,
    pub after_bytes: u64,
    /// sled trees copied, and their entries.
    pub trees: usize,
    pub entries: u64,
}

/// Rewrites `data_dir`'s index into a new sled database and exchanges the two. Takes the data
/// directory's lock (refused while a server or another tool holds it). The log is not read
/// or changed; the index's contents are copied unchanged, so the next open finds the same
/// checkpoint and re-indexes nothing.
pub fn compact_index(data_dir: &Path) -> Result<CompactReport> {
    let _lock = DataDirLock::acquire(data_dir)?;
    finish_interrupted(data_dir)?;
    let index = index_dir(data_dir);
    if !index.is_dir() {
        return Err(StoreError::io(format!("compacting {}", index.display()))(
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} holds no index directory", data_dir.display()),
            ),
        ));
    }
    let fresh = data_dir.join(COMPACT_DIR);
    let before_bytes = dir_bytes(&index);
    let (trees, entries) = copy_sled(&index, &fresh)?;
    copy_files(
        &index.join(crate::index::ID_RUNS_DIR),
        &fresh.join(crate::index::ID_RUNS_DIR),
    )?;
    sync_dir(&fresh)?;
    let old = data_dir.join(OLD_DIR);
    rename(&index, &old)?;
    rename(&fresh, &index)?;
    sync_dir(data_dir)?;
    remove(&old)?;
    Ok(CompactReport {
        before_bytes,
        after_bytes: dir_bytes(&index),
        trees,
        entries,
    })
}

/// Finishes or undoes an exchange a crash interrupted (see the module's documentation).
/// Called with the data directory's lock held, before the index is opened.
pub(crate) fn finish_interrupted(data_dir: &Path) -> Result<()> {
    let index = index_dir(data_dir);
    let old = data_dir.join(OLD_DIR);
    if old.is_dir() {
        if index.is_dir() {
            remove(&old)?;
        } else {
            tracing::warn!(dir = %old.display(), "a compaction stopped between its renames; the old index is put back");
            rename(&old, &index)?;
            sync_dir(data_dir)?;
        }
    }
    let fresh = data_dir.join(COMPACT_DIR);
    if fresh.exists() {
        tracing::warn!(dir = %fresh.display(), "removing an unfinished compaction");
        remove(&fresh)?;
    }
    Ok(())
}

/// Every tree of the sled database at `from`, in key order, into a new one at `to`.
fn copy_sled(from: &Path, to: &Path) -> Result<(usize, u64)> {
    let open = |path: &Path| {
        sled::Config::new()
            .path(path)
            .cache_capacity(COPY_CACHE_BYTES)
            .open()
    };
    let source = open(from)?;
    create_dir_durable(to).map_err(StoreError::io(format!("creating {}", to.display())))?;
    let target = open(to)?;
    let mut entries = 0u64;
    let names = source.tree_names();
    for name in &names {
        let from_tree = source.open_tree(name)?;
        let to_tree = target.open_tree(name)?;
        let mut batch = sled::Batch::default();
        let mut held = 0;
        for item in from_tree.iter() {
            let (k, v) = item?;
            batch.insert(k, v);
            held += 1;
            entries += 1;
            if held == BATCH_ENTRIES {
                to_tree.apply_batch(std::mem::take(&mut batch))?;
                held = 0;
            }
        }
        to_tree.apply_batch(batch)?;
    }
    target.flush()?;
    Ok((names.len(), entries))
}

/// The files of `from` (the event-id runs: flat, written once) into `to`, each synced.
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    create_dir_durable(to).map_err(StoreError::io(format!("creating {}", to.display())))?;
    let entries =
        std::fs::read_dir(from).map_err(StoreError::io(format!("reading {}", from.display())))?;
    for entry in entries {
        let entry = entry.map_err(StoreError::io(format!("reading {}", from.display())))?;
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target)
            .map_err(StoreError::io(format!("copying to {}", target.display())))?;
        File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::io(format!("syncing {}", target.display())))?;
    }
    sync_dir(to)
}

fn sync_dir(dir: &Path) -> Result<()> {
    crate::dir::sync_dir(dir).map_err(StoreError::io(format!("syncing {}", dir.display())))
}

fn rename(from: &Path, to: &PathBuf) -> Result<()> {
    std::fs::rename(from, to).map_err(StoreError::io(format!(
        "renaming {} to {}",
        from.display(),
        to.display()
    )))
}

fn remove(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(StoreError::io(format!("removing {}", dir.display())))
}

/// Bytes of the files under `dir`, recursively (0 for what cannot be read).
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(std::result::Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}
