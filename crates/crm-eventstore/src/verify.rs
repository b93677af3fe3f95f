//! `verify`: walk the whole log and check every record's checksum, hash chain link, position
//! order and decoding, and that the indexes agree with the log.

use std::collections::HashMap;

use crate::error::{Result, StoreError};
use crate::index::Locator;
use crate::segment::{
    chain_hash, decode_body, parse_frame, FrameError, SegmentHeader, GENESIS_HASH,
    SEGMENT_HEADER_LEN,
};
use crate::store::EventStore;
use crate::types::Position;

/// Findings past this many are counted, not listed.
const FINDINGS_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// A segment header is missing, damaged or out of sequence.
    Header,
    /// A frame's checksum or length is wrong: bytes changed or were cut.
    Checksum,
    /// The record's hash does not follow from the previous hash and its bytes: it was altered
    /// (and its checksum recomputed), or a record before it was.
    HashChain,
    /// Positions or stream revisions out of order or with gaps.
    Ordering,
    /// The record's bytes do not decode.
    Decode,
    /// An index entry disagrees with the log.
    Index,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The position the finding is about (the position expected there, for damage).
    pub position: Position,
    pub segment: u32,
    pub offset: u64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub segments: u32,
    pub last_position: Position,
    /// The hash of the last record: keep it somewhere else, and a later verify that ends in
    /// the same hash proves nothing before it was rewritten.
    pub head_hash: [u8; 32],
    pub findings: Vec<Finding>,
    pub findings_not_listed: u64,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// The first position whose hash, content or ordering does not match.
    pub fn first_finding(&self) -> Option<&Finding> {
        self.findings.first()
    }
}

struct Walk<'a> {
    store: &'a EventStore,
    report: VerifyReport,
}

impl Walk<'_> {
    fn find(&mut self, kind: FindingKind, position: Position, loc: Locator, detail: String) {
        if self.report.findings.len() < FINDINGS_MAX {
            self.report.findings.push(Finding {
                kind,
                position,
                segment: loc.segment,
                offset: loc.offset,
                detail,
            });
        } else {
            self.report.findings_not_listed += 1;
        }
    }
}

impl EventStore {
    /// Walks every committed record. Blocking and proportional to the log's size: run it on
    /// a blocking thread.
    pub fn verify(&self) -> Result<VerifyReport> {
        let head = self.head();
        let log = &self.inner.log;
        let index = &self.inner.index;
        let segments = log.segment_count();
        let mut walk = Walk {
            store: self,
            report: VerifyReport {
                records: 0,
                segments,
                last_position: Position(0),
                head_hash: GENESIS_HASH,
                findings: Vec::new(),
                findings_not_listed: 0,
            },
        };
        let mut expected = Position::FIRST;
        let mut hash = GENESIS_HASH;
        let mut stream_next: HashMap<String, u64> = HashMap::new();
        'segments: for segment in 0..segments {
            if expected > head {
                break;
            }
            let Some(file) = log.segment(segment) else {
                break;
            };
            let io = StoreError::io(format!("segment {segment}"));
            let len = file.len().map_err(io)?;
            let mut data = vec![0u8; len as usize];
            let n = file
                .read_at(0, &mut data)
                .map_err(StoreError::io(format!("segment {segment}")))?;
            data.truncate(n);
            let at0 = Locator { segment, offset: 0 };
            match SegmentHeader::decode(&data) {
                Ok(h) if h.segment == segment && h.first_position == expected => {}
                Ok(h) => walk.find(
                    FindingKind::Header,
                    expected,
                    at0,
                    format!(
                        "header names segment {} from position {}",
                        h.segment, h.first_position
                    ),
                ),
                Err(reason) => walk.find(FindingKind::Header, expected, at0, reason),
            }
            let mut offset = SEGMENT_HEADER_LEN as usize;
            while offset < data.len() && expected <= head {
                let loc = Locator {
                    segment,
                    offset: offset as u64,
                };
                let frame = match parse_frame(&data[offset..]) {
                    Ok(frame) => frame,
                    Err(e) => {
                        let detail = match e {
                            FrameError::Incomplete { needed } => {
                                format!("segment ends inside the record ({needed} bytes needed)")
                            }
                            FrameError::Damaged(reason) => reason,
                        };
                        // Without a trustworthy length the next frame cannot be found.
                        walk.find(FindingKind::Checksum, expected, loc, detail);
                        break 'segments;
                    }
                };
                offset += frame.len as usize;
                if chain_hash(&hash, frame.body) != frame.hash {
                    walk.find(
                        FindingKind::HashChain,
                        expected,
                        loc,
                        "hash does not follow from the previous record: content altered".into(),
                    );
                }
                hash = frame.hash;
                match decode_body(frame.body) {
                    Err(e) => walk.find(FindingKind::Decode, expected, loc, e.to_string()),
                    Ok(body) => {
                        if body.position != expected.0 {
                            walk.find(
                                FindingKind::Ordering,
                                expected,
                                loc,
                                format!("record holds position {}", body.position),
                            );
                        }
                        let next = stream_next.entry(body.stream.to_string()).or_insert(0);
                        if body.revision != *next {
                            walk.find(
                                FindingKind::Ordering,
                                expected,
                                loc,
                                format!(
                                    "stream '{}' revision {} where {} was due",
                                    body.stream, body.revision, next
                                ),
                            );
                        }
                        *next = body.revision + 1;
                        walk.check_index(
                            expected,
                            loc,
                            &body.stream,
                            body.revision,
                            body.event_id,
                        )?;
                    }
                }
                walk.report.records += 1;
                walk.report.last_position = expected;
                expected = expected.next();
            }
        }
        walk.report.head_hash = hash;
        if walk.report.last_position < head && walk.report.findings.is_empty() {
            walk.find(
                FindingKind::Ordering,
                walk.report.last_position.next(),
                Locator {
                    segment: segments.saturating_sub(1),
                    offset: 0,
                },
                format!(
                    "the log ends at {} but {} was committed",
                    walk.report.last_position, head
                ),
            );
        }
        for (stream, next) in &stream_next {
            let indexed = index.head(stream)?;
            if indexed != next.checked_sub(1) {
                walk.find(
                    FindingKind::Index,
                    walk.report.last_position,
                    Locator {
                        segment: 0,
                        offset: 0,
                    },
                    format!(
                        "stream '{stream}' head is {indexed:?} in the index, {} in the log",
                        next - 1
                    ),
                );
            }
        }
        Ok(walk.report)
    }
}

impl Walk<'_> {
    fn check_index(
        &mut self,
        position: Position,
        loc: Locator,
        stream: &str,
        revision: u64,
        event_id: uuid::Uuid,
    ) -> Result<()> {
        let index = &self.store.inner.index;
        match index.locate(position)? {
            Some((first, at)) if first != position || at == loc => {}
            _ => self.find(
                FindingKind::Index,
                position,
                loc,
                "position index disagrees".into(),
            ),
        }
        let by_stream = index.stream_entries(stream, revision, crate::Direction::Forwards, 1)?;
        if !matches!(by_stream.first(), Some(&(r, p, _)) if r == revision && p == position) {
            self.find(
                FindingKind::Index,
                position,
                loc,
                format!("stream index of '{stream}' disagrees"),
            );
        }
        if index.event_position(event_id)? != Some(position) {
            self.find(
                FindingKind::Index,
                position,
                loc,
                format!("event id {event_id} index disagrees"),
            );
        }
        Ok(())
    }
}
