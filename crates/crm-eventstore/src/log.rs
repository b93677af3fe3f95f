//! Reading records out of the segment files.

use std::sync::{Arc, RwLock};

use crate::error::{Result, StoreError};
use crate::index::Locator;
use crate::segment::{decode_body, parse_frame, FrameError, SegmentFile, SEGMENT_HEADER_LEN};
use crate::types::{Position, RecordedEvent};

/// Bytes a sequential scan reads per system call.
const SCAN_CHUNK_BYTES: usize = 256 * 1024;
/// First guess at a record's frame size for random reads; most records are far smaller.
const RANDOM_READ_BYTES: usize = 1024;

/// The open segments, shared by the writer (which adds new ones) and readers.
#[derive(Debug, Default)]
pub(crate) struct Log {
    segments: RwLock<Vec<Arc<dyn SegmentFile>>>,
}

impl Log {
    pub fn new(segments: Vec<Arc<dyn SegmentFile>>) -> Log {
        Log {
            segments: RwLock::new(segments),
        }
    }

    pub fn segment(&self, n: u32) -> Option<Arc<dyn SegmentFile>> {
        // A panic while holding this lock cannot leave the Vec half-updated (push is the only
        // mutation), so a poisoned lock is still safe to read.
        let segments = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segments.get(n as usize).cloned()
    }

    pub fn push(&self, file: Arc<dyn SegmentFile>) {
        self.segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(file);
    }

    pub fn segment_count(&self) -> u32 {
        let n = self
            .segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Reads and checks the record that the index places at `loc`, expected at `position`.
    pub fn read_at(&self, position: Position, loc: Locator) -> Result<RecordedEvent> {
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        let file = self
            .segment(loc.segment)
            .ok_or_else(|| corrupt(format!("segment {} does not exist", loc.segment)))?;
        let mut buf = vec![0u8; RANDOM_READ_BYTES];
        let n = file
            .read_at(loc.offset, &mut buf)
            .map_err(StoreError::io_lazy(|| format!("segment {}", loc.segment)))?;
        buf.truncate(n);
        let frame = match parse_frame(&buf) {
            Err(FrameError::Incomplete { needed }) if needed as usize > buf.len() => {
                let mut big = vec![0u8; needed as usize];
                let n = file
                    .read_at(loc.offset, &mut big)
                    .map_err(StoreError::io_lazy(|| format!("segment {}", loc.segment)))?;
                big.truncate(n);
                buf = big;
                parse_frame(&buf)
            }
            other => other,
        };
        let frame = frame.map_err(|e| corrupt(frame_error_text(&e)))?;
        let body = decode_body(frame.body).map_err(|e| corrupt(e.to_string()))?;
        if body.position != position.0 {
            return Err(corrupt(format!(
                "the record there holds position {}",
                body.position
            )));
        }
        body.into_recorded(frame.hash).map_err(corrupt)
    }

    /// Reads `count` consecutive records, handing each to `f`. The scan starts at `loc`, where
    /// the record at `run_first` is, and passes over the `skip` records before the first one
    /// wanted (the position index stores runs, not every record).
    pub fn read_sequential(
        &self,
        run_first: Position,
        loc: Locator,
        skip: u64,
        count: u64,
        mut f: impl FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        let first = run_first;
        let mut segment = loc.segment;
        let mut offset = loc.offset;
        let mut expected = first;
        let mut skipped = 0u64;
        let mut done = 0u64;
        let mut buf: Vec<u8> = Vec::with_capacity(SCAN_CHUNK_BYTES);
        let mut buf_offset = offset; // file offset of buf[0]
        let mut at_eof = false; // buf holds everything up to the end of the segment
        let mut file = self.segment(segment).ok_or_else(|| StoreError::Corrupt {
            position: first,
            reason: format!("segment {segment} does not exist"),
        })?;
        while done < count {
            let start = (offset - buf_offset) as usize;
            match parse_frame(&buf[start.min(buf.len())..]) {
                Ok(frame) if skipped < skip => {
                    offset += frame.len;
                    expected = expected.next();
                    skipped += 1;
                }
                Ok(frame) => {
                    let body = decode_body(frame.body).map_err(|e| StoreError::Corrupt {
                        position: expected,
                        reason: e.to_string(),
                    })?;
                    if body.position != expected.0 {
                        return Err(StoreError::Corrupt {
                            position: expected,
                            reason: format!("found position {} in its place", body.position),
                        });
                    }
                    let event =
                        body.into_recorded(frame.hash)
                            .map_err(|reason| StoreError::Corrupt {
                                position: expected,
                                reason,
                            })?;
                    offset += frame.len;
                    expected = expected.next();
                    done += 1;
                    f(event)?;
                }
                Err(FrameError::Incomplete { needed }) => {
                    if at_eof {
                        if start < buf.len() {
                            return Err(StoreError::Corrupt {
                                position: expected,
                                reason: "segment ends inside the record".into(),
                            });
                        }
                        // End of this segment: the next record starts the next segment.
                        segment += 1;
                        file = self.segment(segment).ok_or_else(|| StoreError::Corrupt {
                            position: expected,
                            reason: format!("log ends before it; segment {segment} does not exist"),
                        })?;
                        offset = SEGMENT_HEADER_LEN;
                        buf.clear();
                        buf_offset = offset;
                        at_eof = false;
                        continue;
                    }
                    // Refill from `offset`, large enough for the frame that did not fit.
                    let want = SCAN_CHUNK_BYTES.max(needed as usize);
                    buf.resize(want, 0);
                    let n = file
                        .read_at(offset, &mut buf)
                        .map_err(StoreError::io_lazy(|| format!("segment {segment}")))?;
                    buf.truncate(n);
                    buf_offset = offset;
                    at_eof = n < want;
                }
                Err(FrameError::Damaged(reason)) => {
                    return Err(StoreError::Corrupt {
                        position: expected,
                        reason,
                    });
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn frame_error_text(e: &FrameError) -> String {
    match e {
        FrameError::Incomplete { needed } => format!("frame cut short ({needed} bytes needed)"),
        FrameError::Damaged(reason) => reason.clone(),
    }
}
