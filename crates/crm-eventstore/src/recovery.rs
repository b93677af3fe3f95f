//! Opening the log: find its tail, truncate a torn last record, bring the indexes up to date.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::index::{Index, IndexBatch, IndexEntry, Locator};
use crate::log::frame_error_text;
use crate::mark;
use crate::segment::{
    chain_hash, decode_body, parse_frame, FrameError, SegmentFile, SegmentHeader, SegmentStorage,
    GENESIS_HASH, SEGMENT_HEADER_LEN,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub segment: u32,
    pub offset: u64,
    pub bytes_truncated: u64,
    pub reason: String,
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
pub(crate) fn recover(
    storage: &dyn SegmentStorage,
    index: &Index,
    legacy_durable: Option<Position>,
) -> Result<Recovered> {
    let durable = match (mark::read(storage)?, legacy_durable) {
        (Some(mark), _) => Some(mark),
        (None, Some(legacy)) => {
            tracing::info!(%legacy, "moving the durable mark out of the index into its own file");
            mark::write(storage, legacy)?;
            Some(legacy)
        }
        (None, None) => None,
    };
    if legacy_durable.is_some() {
        // The file holds the mark now (or a newer one did already).
        index.remove_legacy_durable_mark()?;
    }
    recover_to(storage, index, durable.unwrap_or(Position(0)))
}

/// Recovers a log whose records up to `durable` were acknowledged as synced.
fn recover_to(storage: &dyn SegmentStorage, index: &Index, durable: Position) -> Result<Recovered> {
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
        segments.push(create_segment(storage, 0, Position::FIRST)?);
    }
    let mut report = RecoveryReport::default();

    // Where to start scanning: just after the last record the index knows, if it is really
    // there; from the very beginning otherwise.
    let mut start: Option<(u32, u64, [u8; 32], Position)> = None;
    let mut recorded = i128::MIN;
    if let Some((position, loc)) = index.checkpoint()? {
        match check_checkpoint(&segments, position, loc)? {
            Some((end, hash, recorded_at)) => {
                start = Some((loc.segment, end, hash, position.next()));
                recorded = recorded_at;
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
                    if is_last && len <= SEGMENT_HEADER_LEN {
                        // Cut short while being created: nothing in it was ever acknowledged.
                        write_header(file.as_ref(), segment, expected)?;
                        report.torn_tail = Some(TornTail {
                            segment,
                            offset: 0,
                            bytes_truncated: 0,
                            reason: format!("segment header rewritten: {reason}"),
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
        let mut at = 0usize;
        while at < data.len() {
            let damage = match parse_frame(&data[at..]) {
                Ok(frame) => match decode_body(frame.body) {
                    Ok(body) if body.position == expected.0 => {
                        if chain_hash(&hash, frame.body) != frame.hash {
                            return Err(StoreError::Corrupt {
                                position: expected,
                                reason: "hash chain broken: the record was altered".into(),
                            });
                        }
                        batch.add(&IndexEntry {
                            position: expected,
                            locator: Locator {
                                segment,
                                offset: offset + at as u64,
                            },
                            stream: &body.stream,
                            category: category_of(&body.stream),
                            revision: body.revision,
                            event_id: body.event_id,
                            event_type: &body.event_type,
                        });
                        report.records_reindexed += 1;
                        if batch.len() >= REINDEX_BATCH {
                            index.apply_durable(std::mem::take(&mut batch))?;
                            // Here, not later in the background: a long log would otherwise
                            // leave thousands of runs (and open files) to ask.
                            while index.merge_id_runs(&AtomicBool::new(false))? {}
                        }
                        hash = frame.hash;
                        recorded = recorded.max(body.recorded_at_ns);
                        expected = expected.next();
                        at += frame.len as usize;
                        None
                    }
                    Ok(body) => Some(format!(
                        "holds position {}, expected {expected}",
                        body.position
                    )),
                    Err(e) => Some(e.to_string()),
                },
                Err(e @ FrameError::Incomplete { .. }) => Some(frame_error_text(&e)),
                Err(e @ FrameError::Damaged(_)) => Some(frame_error_text(&e)),
            };
            if let Some(reason) = damage {
                let frame_offset = offset + at as u64;
                if is_last && data[at..].iter().all(|b| *b == 0) {
                    // Space the writer reserved ahead and never reached: the end of the log.
                    break;
                }
                if !is_last {
                    return Err(StoreError::CorruptSegment {
                        segment,
                        offset: frame_offset,
                        reason,
                    });
                }
                if expected <= durable {
                    // Synced before the crash, so not a write the crash interrupted.
                    return Err(StoreError::Corrupt {
                        position: expected,
                        reason: format!(
                            "{reason} (segment {segment}, byte {frame_offset}); the record was \
                             on disk up to position {durable}, so this is damage, not a torn tail"
                        ),
                    });
                }
                // Damage after the last record the index knows, in the last segment: the
                // record was being written when the process or machine died, so it was
                // never acknowledged. Cut it off and say so.
                let cut = len - frame_offset;
                tracing::warn!(segment, offset = frame_offset, bytes = cut, %reason, "truncating a torn tail");
                file.set_len(frame_offset)
                    .map_err(StoreError::io(format!("truncating segment {segment}")))?;

                file.sync_data()
                    .map_err(StoreError::io(format!("segment {segment} sync")))?;
                report.torn_tail = Some(TornTail {
                    segment,
                    offset: frame_offset,
                    bytes_truncated: cut,
                    reason,
                });
                break;
            }
        }
        tail_end = offset + at as u64;
    }
    index.apply_durable(batch)?;
    let last = Position(expected.0 - 1);
    if last < durable {
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
        let mut again = recover_to(storage, index, durable)?;
        again.report.index_rebuilt = true;
        return Ok(again);
    }
    index.flush()?;
    report.last_position = last.0;
    // What a crash left in the page cache is on disk from here on, which the durable mark
    // the writer starts from relies on.
    segments[last_segment as usize]
        .sync_data()
        .map_err(StoreError::io(format!("segment {last_segment} sync")))?;
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

/// Reads the record the index checkpoint names. `Some((end, hash, recorded-at))` when intact;
/// `None` when the log does not reach that far (the index ran ahead of a log that lost
/// unsynced writes); an error when the record is there but damaged.
fn check_checkpoint(
    segments: &[Arc<dyn SegmentFile>],
    position: Position,
    loc: Locator,
) -> Result<Option<(u64, [u8; 32], i128)>> {
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
    match parse_frame(&data) {
        Err(FrameError::Incomplete { .. }) => Ok(None),
        Err(e) => Err(StoreError::Corrupt {
            position,
            reason: frame_error_text(&e),
        }),
        Ok(frame) => {
            let body = decode_body(frame.body).map_err(|e| StoreError::Corrupt {
                position,
                reason: e.to_string(),
            })?;
            if body.position != position.0 {
                return Err(StoreError::Corrupt {
                    position,
                    reason: format!("the index places it where position {} is", body.position),
                });
            }
            Ok(Some((
                loc.offset + frame.len,
                frame.hash,
                body.recorded_at_ns,
            )))
        }
    }
}
