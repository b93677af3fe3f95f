//! Backups are copies of the segment files, the only copy of the truth, and of the durable mark
//! (the last position known synced); the sled indexes and projections are rebuilt from them on
//! open. Copying plain files needs no lock, so a backup can be taken while a server runs. The
//! mark is copied first, so every record it vouches for is in the segments copied after it; a
//! record that was being written during the copy lies past it and is cut off as a torn tail
//! (into a quarantine file) and reported, while damage to a record the mark vouches for refuses
//! the copy instead of being cut.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use crm_eventstore::{log_dir, EventStore, StoreConfig, VerifyReport, DURABLE_MARK_FILE};

use crate::anchor::{read_manifest, write_manifest, Anchor, Manifest, MANIFEST_FILE};

/// What a backup or restore copied and found.
#[derive(Debug)]
pub struct CopyReport {
    pub segments: usize,
    pub bytes: u64,
    pub verify: VerifyReport,
    pub torn_tail_cut: bool,
}

fn segment_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("segment-") && n.ends_with(".log"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn copy_segments(from: &Path, to: &Path) -> anyhow::Result<(usize, u64)> {
    if segment_files(from)?.is_empty() {
        bail!(
            "no segment files in {}: is this a crm data directory?",
            from.display()
        );
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    // The mark before the segments (and before listing them): it may only vouch for records
    // the copy holds.
    let mark = from.join(DURABLE_MARK_FILE);
    if mark.exists() {
        let target = to.join(DURABLE_MARK_FILE);
        std::fs::copy(&mark, &target)
            .with_context(|| format!("copying {} to {}", mark.display(), target.display()))?;
        std::fs::File::open(&target)?.sync_all()?;
    }
    let files = segment_files(from)?;
    let mut bytes = 0;
    for file in &files {
        let name = file.file_name().context("segment file name")?;
        let target = to.join(name);
        bytes += std::fs::copy(file, &target)
            .with_context(|| format!("copying {} to {}", file.display(), target.display()))?;
        std::fs::File::open(&target)?.sync_all()?;
    }
    std::fs::File::open(to)?.sync_all()?;
    Ok((files.len(), bytes))
}

/// Opens a copy, verifies it and, with `expected`, checks that it holds that anchor; returns
/// the report, whether a torn tail was cut and the copy's head anchor.
fn open_and_verify(
    data_dir: &Path,
    expected: Option<&Anchor>,
) -> anyhow::Result<(VerifyReport, bool, Option<Anchor>)> {
    let store = EventStore::open(data_dir, StoreConfig::default())
        .with_context(|| format!("opening the copy in {}", data_dir.display()))?;
    let torn = store.recovery_report().torn_tail.is_some();
    let verify = store.verify().context("verifying the copy")?;
    if let Some(a) = expected {
        if let Err(why) = crate::anchor::check(&store, a)? {
            bail!("the restored log does not hold the backup's manifest anchor: {why}");
        }
    }
    let head = crate::anchor::head(&store)?;
    Ok((verify, torn, head))
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// Copies the log of `data_dir` into `target` (which must be empty or absent) and verifies it.
pub fn backup(data_dir: &Path, target: &Path) -> anyhow::Result<CopyReport> {
    if !is_empty_dir(target) {
        bail!(
            "{} is not empty; back up into a new directory",
            target.display()
        );
    }
    let (segments, bytes) = copy_segments(&log_dir(data_dir), &log_dir(target))?;
    let (verify, torn_tail_cut, head) = open_and_verify(target, None)?;
    if verify.is_ok() {
        write_manifest(
            target,
            &Manifest {
                format: 1,
                head: head.map(|a| a.to_string()),
                records: verify.records,
            },
        )?;
    }
    Ok(CopyReport {
        segments,
        bytes,
        verify,
        torn_tail_cut,
    })
}

/// Restores the backup in `source` into `data_dir`, which must hold no log yet.
pub fn restore(source: &Path, data_dir: &Path) -> anyhow::Result<CopyReport> {
    let log = log_dir(data_dir);
    if !is_empty_dir(&log) {
        bail!(
            "{} already holds a log; restore into an empty data directory (stop the server and \
             move the old one aside first)",
            data_dir.display()
        );
    }
    // A backup made by this version carries the anchor of its head: the restored log must
    // hold it (a backup whose segments were cut or replaced after it was made does not).
    let expected = match read_manifest(source)? {
        Some(m) => m
            .head
            .map(|h| h.parse::<Anchor>())
            .transpose()
            .map_err(|e| anyhow::anyhow!("the backup's manifest: {e}"))?,
        None => {
            eprintln!(
                "warning: {} has no {MANIFEST_FILE} (a backup of an older version): \
                 restored without checking its head",
                source.display()
            );
            None
        }
    };
    let (segments, bytes) = copy_segments(&log_dir(source), &log)?;
    let (verify, torn_tail_cut, _) = open_and_verify(data_dir, expected.as_ref())?;
    Ok(CopyReport {
        segments,
        bytes,
        verify,
        torn_tail_cut,
    })
}
