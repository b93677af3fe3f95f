//! The tail segment's file IO for the writer: writing a batch's staged frames, sealing a
//! full segment and rolling over to the next, reserving space ahead of the tail (and cutting
//! it back on a full disk), and creating a segment with its header.

use std::sync::Arc;

use crate::error::{is_storage_full, Result, StoreError};
use crate::index::Locator;
use crate::recent::RecentRecord;
use crate::segment::{SegmentFile, SegmentHeader, SegmentStorage, SEGMENT_HEADER_LEN};
use crate::types::Position;

use super::{StagedAppend, WriteFailure, Writer};

impl Writer {
    /// Writes the staged frames (rolling over to a new segment before an append that would
    /// overflow the tail: a segment never splits an append); returns their index entries.
    ///
    /// A full disk (or quota) while writing, reserving space or creating a segment is undone:
    /// the tail segment is cut back to its last whole append and synced, the chain head stays
    /// where it was, and the failure says which appends (those already sealed into a synced
    /// segment) are in the log. Any other failure, and any failed sync, stops the store
    /// (see `Shared::log_failed`): after a failed fdatasync the page cache can no longer be
    /// trusted (fsyncgate), so only a reopen, which re-reads the log from disk, may accept
    /// writes again.
    pub(super) fn write(
        &mut self,
        buf: &[u8],
        staged: &[StagedAppend],
    ) -> std::result::Result<Vec<RecentRecord>, WriteFailure> {
        let mut locators: Vec<Vec<Locator>> = Vec::with_capacity(staged.len());
        let mut chunk_start = 0usize; // start in buf of the bytes not yet written
        let mut chunk_first = 0usize; // the first staged append of those bytes
        let mut end = self.tail.end;
        for (i, s) in staged.iter().enumerate() {
            let (Some(first), Some(last)) = (s.records.first(), s.records.last()) else {
                locators.push(Vec::new());
                continue;
            };
            let append_len = (last.frame_start + last.frame_len - first.frame_start) as u64;
            // An append that does not fit starts a new segment; one larger than a segment
            // fills a segment of its own, past the target size.
            if end > SEGMENT_HEADER_LEN && end + append_len > self.segment_size_max {
                // Seal the current segment: write what belongs to it, cut off the reserved
                // zeros and sync it, so that a sealed segment is always complete, exact and
                // durable, and ends with the last record of an append.
                let chunk = &buf[chunk_start..first.frame_start];
                if let Err(error) = self.seal(chunk, end) {
                    return Err(self.failed(staged, &locators, chunk_first, error));
                }
                // A sealed segment is on disk: a failure from here on cuts nothing in it.
                self.shared
                    .mark_durable(Position(first.position.0.saturating_sub(1)));
                if let Err(error) = self.roll_over(first.position) {
                    return Err(self.failed(staged, &locators, i, error));
                }
                chunk_start = first.frame_start;
                chunk_first = i;
                end = SEGMENT_HEADER_LEN;
            }
            let mut locs = Vec::with_capacity(s.records.len());
            for r in &s.records {
                locs.push(Locator {
                    segment: self.tail.segment,
                    offset: end,
                });
                end += r.frame_len as u64;
            }
            locators.push(locs);
        }
        if let Err(error) = self.write_tail(self.tail.end, &buf[chunk_start..]) {
            return Err(self.failed(staged, &locators, chunk_first, error));
        }
        self.tail.end = end;
        Ok(index_entries(staged, locators))
    }

    /// Writes the chunk that ends the tail segment at `end`, cuts off the reserved zeros and
    /// syncs it.
    pub(super) fn seal(&mut self, chunk: &[u8], end: u64) -> Result<()> {
        self.write_tail(self.tail.end, chunk)?;
        let segment = self.tail.segment;
        self.tail
            .file
            .set_len(end)
            .map_err(StoreError::io(format!("sealing segment {segment}")))?;
        self.tail.allocated = end;
        self.tail
            .file
            .sync_data()
            .map_err(StoreError::io(format!("segment {segment} sync")))?;
        self.tail.end = end;
        Ok(())
    }

    /// What a write that stopped at staged append `durable` leaves: the appends before it
    /// are in sealed, synced segments. On a full disk the bytes written past the tail's last
    /// whole append are cut off again (and the cut synced, so that no refused record can come
    /// back after a crash); if that fails too, the store stops.
    pub(super) fn failed(
        &mut self,
        staged: &[StagedAppend],
        locators: &[Vec<Locator>],
        durable: usize,
        error: StoreError,
    ) -> WriteFailure {
        let error = match error {
            StoreError::StorageFull { .. } => match self.roll_back_tail() {
                Ok(()) => error,
                Err(cut) => StoreError::Io {
                    context: format!("cutting off an append refused for want of space ({error})"),
                    source: match cut {
                        StoreError::Io { source, .. } | StoreError::StorageFull { source, .. } => {
                            source
                        }
                        other => std::io::Error::other(other.to_string()),
                    },
                },
            },
            other => other,
        };
        WriteFailure {
            durable,
            records: index_entries(&staged[..durable], locators[..durable].to_vec()),
            error,
        }
    }

    /// Cuts the tail segment back to the end of its last whole append and syncs the cut.
    pub(super) fn roll_back_tail(&mut self) -> Result<()> {
        let segment = self.tail.segment;
        self.tail
            .file
            .set_len(self.tail.end)
            .map_err(StoreError::io(format!("cutting segment {segment} back")))?;
        self.tail.allocated = self.tail.end;
        self.tail
            .file
            .sync_data()
            .map_err(StoreError::io(format!("segment {segment} sync")))
    }

    /// Writes into the tail segment, reserving space ahead first when the bytes would pass
    /// the end of the file. When the disk has less free than the reservation, only what the
    /// write needs is reserved.
    pub(super) fn write_tail(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = at + bytes.len() as u64;
        let segment = self.tail.segment;
        if end > self.tail.allocated {
            let ahead = (end + ALLOCATE_AHEAD_BYTES).min(self.segment_size_max);
            let mut target = end.max(ahead);
            let reserving = || format!("reserving space in segment {segment}");
            // What the file system has free beyond the index's reserve (no reserve: the file
            // system's own ENOSPC decides).
            let free = match self.space_reserved {
                0 => None,
                reserved => self
                    .tail
                    .file
                    .free_space()
                    .map_err(StoreError::io(format!(
                        "free space beside segment {segment}"
                    )))?
                    .map(|free| free.saturating_sub(reserved)),
            };
            if let Some(free) = free {
                if end - self.tail.allocated > free {
                    return Err(StoreError::StorageFull {
                        context: format!(
                            "{} (the log leaves {} bytes free for the index)",
                            reserving(),
                            self.space_reserved
                        ),
                        source: std::io::Error::new(
                            std::io::ErrorKind::StorageFull,
                            "the file system is down to the space reserved for the index",
                        ),
                    });
                }
                target = target.min(self.tail.allocated + free).max(end);
            }
            match self.tail.file.allocate(target) {
                Ok(()) => self.tail.allocated = target,
                Err(e) if is_storage_full(&e) && target > end => {
                    self.tail
                        .file
                        .allocate(end)
                        .map_err(StoreError::io_or_full(reserving()))?;
                    self.tail.allocated = end;
                }
                Err(e) => return Err(StoreError::io_or_full(reserving())(e)),
            }
        }
        self.tail
            .file
            .write_all_at(at, bytes)
            .map_err(|e| StoreError::io_or_full(format!("segment {segment}"))(e))
    }

    pub(super) fn roll_over(&mut self, first_position: Position) -> Result<()> {
        let segment = self.tail.segment + 1;
        let file = match self.spare.take() {
            Some((n, file)) if n == segment => file,
            _ => self
                .storage
                .create(segment)
                .map_err(StoreError::io_or_full(format!(
                    "creating segment {segment}"
                )))?,
        };
        if let Err(e) = write_header(file.as_ref(), segment, first_position) {
            if e.is_storage_full() {
                // Created, but without a header: used by the next roll-over (a reopen finds
                // it headerless and writes the header, as after a crash during creation).
                let _ = file.set_len(0);
                self.spare = Some((segment, file));
            }
            return Err(e);
        }
        self.log.push(file.clone());
        self.tail.segment = segment;
        self.tail.file = file;
        self.tail.end = SEGMENT_HEADER_LEN;
        self.tail.allocated = SEGMENT_HEADER_LEN;
        Ok(())
    }
}

/// The index entries of staged appends written at `locators`.
fn index_entries(staged: &[StagedAppend], locators: Vec<Vec<Locator>>) -> Vec<RecentRecord> {
    let mut records = Vec::with_capacity(staged.iter().map(|s| s.records.len()).sum());
    for (s, locs) in staged.iter().zip(locators) {
        let stream: Arc<str> = s.stream.as_str().into();
        for ((r, locator), event_type) in s.records.iter().zip(locs).zip(&s.event_types) {
            records.push(RecentRecord {
                position: r.position,
                locator,
                stream: stream.clone(),
                revision: r.revision,
                event_id: r.event_id,
                event_type: event_type.as_str().into(),
                digest: r.digest,
            });
        }
    }
    records
}

/// How far ahead of the tail a segment's space is reserved: one metadata-changing fdatasync
/// per this many bytes instead of one per group commit.
const ALLOCATE_AHEAD_BYTES: u64 = 8 * 1024 * 1024;

/// Creates segment `segment` with its header written and synced.
pub(crate) fn create_segment(
    storage: &dyn SegmentStorage,
    segment: u32,
    first_position: Position,
) -> Result<Arc<dyn SegmentFile>> {
    let file = storage
        .create(segment)
        .map_err(StoreError::io_or_full(format!(
            "creating segment {segment}"
        )))?;
    write_header(file.as_ref(), segment, first_position)?;
    Ok(file)
}

pub(crate) fn write_header(
    file: &dyn SegmentFile,
    segment: u32,
    first_position: Position,
) -> Result<()> {
    let header = SegmentHeader {
        segment,
        first_position,
    }
    .encode();
    file.write_all_at(0, &header)
        .map_err(StoreError::io_or_full(format!("segment {segment} header")))?;
    file.sync_data()
        .map_err(StoreError::io(format!("segment {segment} header sync")))
}
