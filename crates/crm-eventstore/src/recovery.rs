//! Opening the log: find its tail, truncate a torn last record, bring the indexes up to date.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::index::{Index, IndexBatch, IndexEntry, Locator};
use crate::log::frame_error_text;
use crate::mark::{self, Mark};
use crate::segment::{
    chain_hash, decode_body, parse_frame, split_len_word, FrameError, RecordBody, SegmentFile,
    SegmentHeader, SegmentStorage, FRAME_BODY_LEN_MAX, FRAME_OVERHEAD, GENESIS_HASH,
    SEGMENT_HEADER_LEN,
};
use crate::types::{category_of, Position};
use crate::writer::{create_segment, write_header, Tail};

/// Records re-indexed per sled batch (and event-id run) while recovering: the size of the
/// writer's index tables, so that a rebuilt index has the runs a live one would.
const REINDEX_BATCH: usize = 65_536;

/// What opening the store found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The index was missing, of another format, or ahead of the log, and was rebuilt.
    pub index_rebuilt: bool,
    /// Records found in the log but not (yet) in the index, now indexed.
    pub records_reindexed: u64,
    /// A torn last record: where it started and how many bytes were cut off.
    pub torn_tail: Option<TornTail>,
    /// The last committed position (0 for an empty log).
    pub last_position: u64,
    /// Opened read only ([`crate::EventStore::open_read_only`]): nothing in the log directory
    /// was changed. A `torn_tail` is then what a writable open would cut or rewrite (its bytes
    /// are still in the segment, past the head; `quarantined_to` is `None`).
    pub read_only: bool,
    /// Other repairs of the log directory a writable open would make and this read-only one
    /// did not (the durable mark to move out of the index, or to rewrite after a failed sync).
    pub not_repaired: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The first position cut off (the one expected where the damage starts).
    pub position: u64,
    pub segment: u32,
    pub offset: u64,
    pub bytes_truncated: u64,
    pub reason: String,
    /// Where the bytes cut off (or overwritten) were copied, durably, before the cut: a file
    /// beside the segment, `segment-NNNNNNNN.log.quarantine-<offset>`. `None` when no byte
    /// was removed.
    pub quarantined_to: Option<std::path::PathBuf>,
}

pub(crate) struct Recovered {
    pub segments: Vec<Arc<dyn SegmentFile>>,
    pub tail: Tail,
    pub report: RecoveryReport,
}

fn read_exact(file: &dyn SegmentFile, segment: u32, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let n = file
        .read_at(offset, &mut buf)
        .map_err(StoreError::io(format!("segment {segment}")))?;
    buf.truncate(n);
    Ok(buf)
}

/// Recovers the log in `storage`; `legacy_durable` is a durable mark a previous version left
/// in the index, taken over when there is no mark file.
///
/// `read_only` changes nothing in the log directory (no truncation, quarantine file, header
/// or mark written, no segment created; the index in sled is still brought up to date): what
/// would have been repaired is reported instead, and the log is taken to end where a writable
/// open would cut it.
pub(crate) fn recover(
    storage: &dyn SegmentStorage,
    index: &Index,
    legacy_durable: Option<Position>,
    read_only: bool,
) -> Result<Recovered> {
    let mut not_repaired = Vec::new();
    let mark = match (mark::read(storage)?, legacy_durable) {
        (Some(mark), _) => Some(mark),
        (None, Some(legacy)) if read_only => {
            not_repaired.push(format!(
                "the durable mark ({legacy}) is still in the index: a writable open moves it \
                 into its own file"
            ));
            Some(Mark::durable(legacy))
        }
        (None, Some(legacy)) => {
            tracing::info!(%legacy, "moving the durable mark out of the index into its own file");
            mark::write(storage, Mark::durable(legacy))?;
            Some(Mark::durable(legacy))
        }
        (None, None) => None,
    };
    if legacy_durable.is_some() && !read_only {
        // The file holds the mark now (or a newer one did already).
        index.remove_legacy_durable_mark()?;
    }
    let durable = mark.map(|m| m.position);
    // A sync of the log failed after this position: what follows is cut (see `mark`).
    let sync_failed_after = mark.filter(|m| m.sync_failed).map(|m| m.position);
    if let Some(after) = sync_failed_after {
        tracing::warn!(
            %after,
            "a sync of the log failed before the store stopped; cutting the records after \
             the last one known on disk"
        );
    }
    let mut recovered = recover_to(storage, index, durable, sync_failed_after, read_only)?;
    if let (Some(after), true) = (sync_failed_after, read_only) {
        not_repaired.push(format!(
            "a sync of the log failed after position {after}: a writable open cuts what \
             follows and rewrites the durable mark"
        ));
    } else if sync_failed_after.is_some() {
        // The records after the mark are cut and the tail synced: the mark is a plain one
        // again.
        mark::write(
            storage,
            Mark::durable(Position(recovered.report.last_position)),
        )?;
    }
    recovered.report.read_only = read_only;
    not_repaired.append(&mut recovered.report.not_repaired);
    recovered.report.not_repaired = not_repaired;
    Ok(recovered)
}

/// Recovers a log whose records up to `durable` were acknowledged as synced; with no mark
/// (`None`: a restored copy, or the mark removed) nothing is known to be unacknowledged, and
/// only an unfinished last write may be cut. With `sync_failed_after`, every record after
/// that position is cut off as a torn tail is, whatever its bytes.
fn recover_to(
    storage: &dyn SegmentStorage,
    index: &Index,
    durable: Option<Position>,
    sync_failed_after: Option<Position>,
    read_only: bool,
) -> Result<Recovered> {
    let mut numbers = storage.list().map_err(StoreError::io("listing segments"))?;
    numbers.sort_unstable();
    for (i, n) in numbers.iter().enumerate() {
        if *n as usize != i {
            return Err(StoreError::CorruptSegment {
                segment: i as u32,
                offset: 0,
                reason: format!("segment {i} is missing (found segment {n} instead)"),
            });
        }
    }
    let mut segments: Vec<Arc<dyn SegmentFile>> = Vec::with_capacity(numbers.len());
    for n in &numbers {
        segments.push(
            storage
                .open(*n)
                .map_err(StoreError::io(format!("opening segment {n}")))?,
        );
    }
    if segments.is_empty() {
        if read_only {
            return Err(StoreError::io("opening the log read only")(
                std::io::Error::new(std::io::ErrorKind::NotFound, "the log holds no segment"),
            ));
        }
        segments.push(create_segment(storage, 0, Position::FIRST)?);
    }
    let mut report = RecoveryReport::default();

    // Where to start scanning: just after the last record the index knows, if it is really
    // there; from the very beginning otherwise.
    let mut start: Option<(u32, u64, [u8; 32], Position)> = None;
    let mut recorded = i128::MIN;
    // Whether the record the scan starts after is not the last of its append.
    let mut open_before_scan = false;
    let mut checkpoint = index.checkpoint()?;
    if let (Some((position, _)), Some(after)) = (checkpoint, sync_failed_after) {
        if position > after {
            // It holds records that are cut below.
            tracing::warn!(%position, %after, "the index holds records after a failed sync; rebuilding it");
            index.clear()?;
            checkpoint = None;
        }
    }
    if let Some((position, loc)) = checkpoint {
        match check_checkpoint(&segments, position, loc, durable)? {
            Some(found) => {
                start = Some((loc.segment, found.end, found.hash, position.next()));
                recorded = found.recorded_at_ns;
                open_before_scan = found.continues;
            }
            None => {
                tracing::warn!(%position, "the index is ahead of the log; rebuilding it");
                index.clear()?;
                report.index_rebuilt = true;
            }
        }
    } else {
        report.index_rebuilt = true;
    }
    let (first_segment, mut offset, mut hash, mut expected) =
        start.unwrap_or((0, SEGMENT_HEADER_LEN, GENESIS_HASH, Position::FIRST));

    let last_segment = (segments.len() - 1) as u32;
    let mut batch = IndexBatch::default();
    let mut tail_end = offset;
    for segment in first_segment..=last_segment {
        let file = segments[segment as usize].clone();
        let is_last = segment == last_segment;
        if segment != first_segment || start.is_none() {
            offset = SEGMENT_HEADER_LEN;
            let header = read_exact(file.as_ref(), segment, 0, SEGMENT_HEADER_LEN as usize)?;
            match SegmentHeader::decode(&header) {
                Ok(h) if h.segment == segment && h.first_position == expected => {}
                Ok(h) => {
                    return Err(StoreError::CorruptSegment {
                        segment,
                        offset: 0,
                        reason: format!(
                            "header says segment {} starting at position {}, expected segment \
                             {segment} starting at position {expected}",
                            h.segment, h.first_position
                        ),
                    })
                }
                Err(reason) => {
                    let len = file
                        .len()
                        .map_err(StoreError::io(format!("segment {segment}")))?;
                    if is_last && len <= SEGMENT_HEADER_LEN && read_only {
                        // Reported, not repaired: the log ends before this segment.
                        let reason =
                            format!("segment header to rewrite ({len} bytes there): {reason}");
                        report.torn_tail = Some(TornTail {
                            position: expected.0,
                            segment,
                            offset: 0,
                            bytes_truncated: 0,
                            reason,
                            quarantined_to: None,
                        });
                        // Nothing of this segment is read: it holds no record.
                        tail_end = 0;
                        break;
                    } else if is_last && len <= SEGMENT_HEADER_LEN {
                        // Cut short while being created: nothing in it was ever acknowledged.
                        // What the header is rewritten over is kept all the same.
                        let quarantined_to = if len > 0 {
                            Some(quarantine(storage, file.as_ref(), segment, 0, len)?)
                        } else {
                            None
                        };
                        write_header(file.as_ref(), segment, expected)?;
                        report.torn_tail = Some(TornTail {
                            position: expected.0,
                            segment,
                            offset: 0,
                            bytes_truncated: 0,
                            reason: format!("segment header rewritten: {reason}"),
                            quarantined_to,
                        });
                    } else {
                        return Err(StoreError::CorruptSegment {
                            segment,
                            offset: 0,
                            reason,
                        });
                    }
                }
            }
        }
        let len = file
            .len()
            .map_err(StoreError::io(format!("segment {segment}")))?;
        let data = read_exact(
            file.as_ref(),
            segment,
            offset,
            len.saturating_sub(offset) as usize,
        )?;
        // The records of the append still open (whose last record has not been read yet):
        // indexed only once it is whole.
        let mut open: Vec<(Locator, RecordBody<'_>)> = Vec::new();
        // Where in `data` the open append starts; `None` while none is open, or when it
        // started before the scan (the index holds its first records).
        let mut open_at: Option<usize> = None;
        let mut open_carried = open_before_scan && segment == first_segment && start.is_some();
        // The state just after the last whole append.
        let mut whole = (hash, expected, recorded);
        let mut at = 0usize;
        let mut damage: Option<String> = None;
        while at < data.len() {
            let found = match parse_frame(&data[at..]) {
                Ok(frame) => match decode_body(frame.body) {
                    Ok(_) if sync_failed_after.is_some_and(|after| expected > after) => {
                        Err(format!(
                            "position {expected} was written after the last position known on \
                             disk when a sync of the log failed: never known to be on disk"
                        ))
                    }
                    Ok(body) if body.position == expected.0 => Ok((frame, body)),
                    Ok(body) => Err(format!(
                        "holds position {}, expected {expected}",
                        body.position
                    )),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(frame_error_text(&e)),
            };
            let (frame, body) = match found {
                Ok(found) => found,
                Err(reason) => {
                    damage = Some(reason);
                    break;
                }
            };
            if chain_hash(&hash, frame.body) != frame.hash {
                return Err(StoreError::Corrupt {
                    position: expected,
                    reason: "hash chain broken: the record was altered".into(),
                });
            }
            hash = frame.hash;
            recorded = recorded.max(body.recorded_at_ns);
            expected = expected.next();
            let locator = Locator {
                segment,
                offset: offset + at as u64,
            };
            if open.is_empty() && !open_carried {
                open_at = Some(at);
            }
            at += frame.len as usize;
            open.push((locator, body));
            if frame.continues {
                continue;
            }
            // The last record of its append: the append is whole.
            for (locator, body) in open.drain(..) {
                batch.add(&IndexEntry {
                    position: Position(body.position),
                    locator,
                    stream: &body.stream,
                    category: category_of(&body.stream),
                    revision: body.revision,
                    event_id: body.event_id,
                    event_type: &body.event_type,
                });
                report.records_reindexed += 1;
            }
            open_at = None;
            open_carried = false;
            whole = (hash, expected, recorded);
            if batch.len() >= REINDEX_BATCH {
                index.apply_durable(std::mem::take(&mut batch))?;
                // Here, not later in the background: a long log would otherwise
                // leave thousands of runs (and open files) to ask.
                while index.merge_id_runs(&AtomicBool::new(false))? {}
            }
        }
        let append_open = !open.is_empty() || open_carried;
        // Space the writer reserved ahead and never reached: the end of the log.
        let zeros = damage.is_some() && is_last && data[at..].iter().all(|b| *b == 0);
        let damage = damage.filter(|_| !zeros);
        let frame_offset = offset + at as u64;
        if !is_last {
            if let Some(reason) = damage {
                return Err(StoreError::CorruptSegment {
                    segment,
                    offset: frame_offset,
                    reason,
                });
            }
            if append_open {
                return Err(StoreError::CorruptSegment {
                    segment,
                    offset: frame_offset,
                    reason: format!(
                        "the segment ends inside an append: its last record (position {}) says \
                         more of its append follow, and a segment never splits an append",
                        expected.0 - 1
                    ),
                });
            }
        }
        if let Some(reason) = &damage {
            match durable {
                Some(durable) if expected <= durable => {
                    // Synced before the crash, so not a write the crash interrupted.
                    return Err(StoreError::Corrupt {
                        position: expected,
                        reason: format!(
                            "{reason} (segment {segment}, byte {frame_offset}); the record \
                             was on disk up to position {durable}, so this is damage, not a \
                             torn tail"
                        ),
                    });
                }
                Some(_) => {}
                None if is_unfinished_write(&data[at..]) => {}
                None => {
                    return Err(StoreError::CorruptSegment {
                        segment,
                        offset: frame_offset,
                        reason: format!(
                            "{reason} (position {expected}); more records or bytes follow, \
                             so this is damage, not an unfinished last write (there is no \
                             durable mark to say which records were acknowledged)"
                        ),
                    });
                }
            }
        }
        // Where the log is cut: at the first record of an append whose last record is
        // missing, or else at the damaged frame.
        let cut = match open_at {
            Some(open_at) if append_open => {
                let first = whole.1;
                if let Some(durable) = durable.filter(|d| first <= *d) {
                    // The mark only ever names the last record of an append, so records of
                    // this append were on disk, and its last record with them.
                    return Err(StoreError::Corrupt {
                        position: first,
                        reason: format!(
                            "the log ends at position {} inside the append starting at \
                             position {first} (segment {segment}, byte {}), but it was on disk \
                             up to position {durable}: segment files were cut short, replaced \
                             or damaged (after restoring older segment files on purpose, \
                             remove the index directory so that it is rebuilt from them)",
                            expected.0 - 1,
                            offset + open_at as u64
                        ),
                    });
                }
                let reason = match &damage {
                    Some(reason) => format!(
                        "an append cut short: its records from position {first} on are \
                         followed by a damaged one ({reason})"
                    ),
                    None => format!(
                        "an append cut short: its records from position {first} on are here, \
                         its last record is not"
                    ),
                };
                Some((open_at, reason))
            }
            _ if append_open => {
                // The open append started before the scan, among the records the index
                // holds: find its start from the beginning of the log.
                tracing::warn!(
                    "the last append is incomplete and began before the index checkpoint; \
                     rebuilding the index"
                );
                drop(open);
                index.clear()?;
                let mut again = recover_to(storage, index, durable, sync_failed_after, read_only)?;
                again.report.index_rebuilt = true;
                return Ok(again);
            }
            _ => damage.map(|reason| (at, reason)),
        };
        if let Some((cut_at, reason)) = cut {
            // Damage after the last record known synced, in the last segment: the records
            // were being written when the process or machine died, so they were never
            // acknowledged. Cut them off and say so.
            let cut_offset = offset + cut_at as u64;
            let cut_len = len - cut_offset;
            // The first position cut off: the first of the open append, or the damaged one.
            let cut_position = if append_open { whole.1 } else { expected };
            if read_only {
                report.torn_tail = Some(TornTail {
                    position: cut_position.0,
                    segment,
                    offset: cut_offset,
                    bytes_truncated: cut_len,
                    reason,
                    quarantined_to: None,
                });
                (hash, expected, recorded) = whole;
                tail_end = cut_offset;
                continue;
            }
            let quarantined_to = storage
                .quarantine(segment, cut_offset, &data[cut_at..])
                .map_err(StoreError::io(format!(
                    "quarantining the torn tail of segment {segment} at byte {cut_offset} \
                     (nothing was cut)"
                )))?;
            tracing::warn!(
                segment,
                offset = cut_offset,
                bytes = cut_len,
                %reason,
                quarantined_to = %quarantined_to.display(),
                "truncating a torn tail"
            );
            file.set_len(cut_offset)
                .map_err(StoreError::io(format!("truncating segment {segment}")))?;
            file.sync_data()
                .map_err(StoreError::io(format!("segment {segment} sync")))?;
            report.torn_tail = Some(TornTail {
                position: cut_position.0,
                segment,
                offset: cut_offset,
                bytes_truncated: cut_len,
                reason,
                quarantined_to: Some(quarantined_to),
            });
            (hash, expected, recorded) = whole;
            at = cut_at;
        }
        tail_end = offset + at as u64;
    }
    index.apply_durable(batch)?;
    let last = Position(expected.0 - 1);
    if let Some(durable) = durable.filter(|d| last < *d) {
        return Err(StoreError::Corrupt {
            position: expected,
            reason: format!(
                "the log ends at position {last}, but it was on disk up to position {durable}: \
                 segment files were cut short or replaced (after restoring older segment files \
                 on purpose, remove the index directory so that it is rebuilt from them)"
            ),
        });
    }
    if index.has_records_after(last)? {
        // A batch was indexed while its fdatasync ran and the machine lost power before the
        // sync finished. Which keys it wrote is no longer known; rebuild everything.
        tracing::warn!(%last, "the index holds records the log lost; rebuilding it");
        index.clear()?;
        let mut again = recover_to(storage, index, durable, sync_failed_after, read_only)?;
        again.report.index_rebuilt = true;
        return Ok(again);
    }
    index.flush()?;
    report.last_position = last.0;
    // What a crash left in the page cache is on disk from here on, which the durable mark
    // the writer starts from relies on. (Read only, no writer starts.)
    if !read_only {
        segments[last_segment as usize]
            .sync_data()
            .map_err(StoreError::io(format!("segment {last_segment} sync")))?;
    }
    let file = segments[last_segment as usize].clone();
    let allocated = file
        .len()
        .map_err(StoreError::io(format!("segment {last_segment}")))?;
    let tail = Tail {
        segment: last_segment,
        file,
        end: tail_end,
        allocated,
        next_position: expected,
        last_hash: hash,
        last_recorded_at_ns: recorded,
    };
    Ok(Recovered {
        segments,
        tail,
        report,
    })
}

/// Copies bytes `offset..offset + len` of a segment to a quarantine file.
fn quarantine(
    storage: &dyn SegmentStorage,
    file: &dyn SegmentFile,
    segment: u32,
    offset: u64,
    len: u64,
) -> Result<std::path::PathBuf> {
    let bytes = read_exact(
        file,
        segment,
        offset,
        usize::try_from(len).unwrap_or(usize::MAX),
    )?;
    storage
        .quarantine(segment, offset, &bytes)
        .map_err(StoreError::io(format!(
            "quarantining bytes of segment {segment} at byte {offset} (nothing was changed)"
        )))
}

/// Whether the bytes at the start of `rest` (the rest of the last segment, from a frame that
/// does not parse) can be the last write, unfinished: the frame is cut short by the end of the
/// file, or its bytes are wrong and nothing but zeros (space reserved ahead, never written)
/// follows it. A write is one sequence of frames at the end of the log, so no intact frame can
/// follow an unfinished one; one that does means damage (a length field that was hit, say,
/// and now claims the records after it).
fn is_unfinished_write(rest: &[u8]) -> bool {
    // Where the frame ends by its own length, when that length is plausible.
    let declared = rest
        .get(..4)
        .map(|b| split_len_word(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).0)
        .filter(|len| (1..=FRAME_BODY_LEN_MAX).contains(len))
        .map(|len| FRAME_OVERHEAD + u64::from(len));
    let frame_end = match declared {
        Some(end) => usize::try_from(end).unwrap_or(usize::MAX),
        // Without a length, only the frame's own header is its.
        None => 8,
    }
    .min(rest.len());
    if rest[frame_end..].iter().any(|b| *b != 0) {
        return false;
    }
    let written = &rest[..rest.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)];
    // Checksumming a candidate costs its length; past a budget linear in the bytes searched,
    // the answer is "damage", so that no input makes this quadratic.
    let mut budget = (written.len() as u64).saturating_mul(8).max(1 << 20);
    for at in 1..written.len() {
        let candidate = &written[at..];
        let Some(len) = candidate
            .get(..4)
            .map(|b| u64::from(split_len_word(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).0))
        else {
            break;
        };
        if len == 0 || FRAME_OVERHEAD + len > candidate.len() as u64 {
            continue;
        }
        budget = match budget.checked_sub(len) {
            Some(left) => left,
            None => return false,
        };
        if parse_frame(candidate).is_ok_and(|f| decode_body(f.body).is_ok()) {
            return false;
        }
    }
    true
}

/// The record the index checkpoint names, found intact.
struct CheckpointRecord {
    /// Where its frame ends in its segment.
    end: u64,
    hash: [u8; 32],
    recorded_at_ns: i128,
    /// More records of its append follow it.
    continues: bool,
}

/// Reads the record the index checkpoint names. `Some` when intact; `None` when the log does
/// not hold it: the log does not reach that far, or, past the durable mark, the bytes there
/// are not that record (the index ran ahead of a log that lost unsynced writes, and space
/// reserved ahead reads as zeros). An error when the record is damaged at or before the
/// durable mark: that record was on disk.
fn check_checkpoint(
    segments: &[Arc<dyn SegmentFile>],
    position: Position,
    loc: Locator,
    durable: Option<Position>,
) -> Result<Option<CheckpointRecord>> {
    let Some(file) = segments.get(loc.segment as usize) else {
        return Ok(None);
    };
    let len = file
        .len()
        .map_err(StoreError::io(format!("segment {}", loc.segment)))?;
    if loc.offset >= len {
        return Ok(None);
    }
    let data = read_exact(
        file.as_ref(),
        loc.segment,
        loc.offset,
        (len - loc.offset) as usize,
    )?;
    let missing = |reason: String| {
        if let Some(durable) = durable.filter(|d| position <= *d) {
            return Err(StoreError::Corrupt {
                position,
                reason: format!(
                    "{reason} (segment {}, byte {}, where the index places it); the log was \
                     on disk up to position {durable}, so this is damage",
                    loc.segment, loc.offset
                ),
            });
        }
        // Not known synced: lost to a power cut. The log decides from here (a scan from the
        // start cuts only what it may).
        tracing::warn!(%position, %reason, "the record the index checkpoint names is not in the log");
        Ok(None)
    };
    let frame = match parse_frame(&data) {
        Err(FrameError::Incomplete { .. }) => return Ok(None),
        Err(e) => return missing(frame_error_text(&e)),
        Ok(frame) => frame,
    };
    let body = match decode_body(frame.body) {
        Ok(body) => body,
        Err(e) => return missing(e.to_string()),
    };
    if body.position != position.0 {
        return missing(format!(
            "the index places it where position {} is",
            body.position
        ));
    }
    Ok(Some(CheckpointRecord {
        end: loc.offset + frame.len,
        hash: frame.hash,
        recorded_at_ns: body.recorded_at_ns,
        continues: frame.continues,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;
    use crate::codec;
    use crate::segment::encode_frame;

    /// Three consecutive frames; returns the bytes and where each frame starts.
    fn frames() -> (Vec<u8>, Vec<usize>) {
        let mut out = Vec::new();
        let mut starts = Vec::new();
        let mut hash = GENESIS_HASH;
        for position in 1..=3u64 {
            let body = RecordBody {
                position,
                revision: position - 1,
                event_id: uuid::Uuid::from_u64_pair(7, position),
                stream: "customer-1".into(),
                event_type: "E".into(),
                schema_version: 1,
                actor: "staff".into(),
                occurred_at_ns: 0,
                recorded_at_ns: 0,
                correlation_id: None,
                causation_id: None,
                command_id: None,
                payload: vec![b'x'; 40].into(),
            };
            starts.push(out.len());
            hash = encode_frame(&hash, &codec::encode(&body).unwrap(), false, &mut out);
        }
        (out, starts)
    }

    #[test]
    fn only_an_unfinished_last_write_counts_as_one() {
        let (bytes, starts) = frames();
        let last = starts[2];
        // Cut short by the end of the file, at every length.
        for cut in last + 1..bytes.len() {
            assert!(is_unfinished_write(&bytes[last..cut]), "cut at {cut}");
        }
        // Cut short, then reserved space.
        let mut torn = bytes[last..last + 30].to_vec();
        torn.extend([0u8; 4096]);
        assert!(is_unfinished_write(&torn));
        // Whole but with a wrong byte, then reserved space or nothing.
        let mut flipped = bytes[last..].to_vec();
        flipped[20] ^= 1;
        assert!(is_unfinished_write(&flipped));
        flipped.extend([0u8; 100]);
        assert!(is_unfinished_write(&flipped));

        // A damaged frame with more records after it.
        let mut middle = bytes[starts[1]..].to_vec();
        middle[20] ^= 1;
        assert!(!is_unfinished_write(&middle));
        // A length hit so that the frame claims the record after it (and ends in zeros, or
        // past the end of the file): that record is still found.
        for extra in [8u32, 4096] {
            let mut longer = bytes[starts[1]..].to_vec();
            let len = u32::from_le_bytes(longer[..4].try_into().unwrap());
            longer[..4]
                .copy_from_slice(&(len + (bytes.len() - starts[2]) as u32 + extra).to_le_bytes());
            longer.extend(vec![0u8; 100]);
            assert!(!is_unfinished_write(&longer), "length grown by {extra}");
        }
        // No plausible length, and non-zero bytes after its header.
        let mut no_length = bytes[starts[1]..].to_vec();
        no_length[3] = 0xff;
        assert!(!is_unfinished_write(&no_length));
        no_length.truncate(8);
        assert!(is_unfinished_write(&no_length));
    }
}
