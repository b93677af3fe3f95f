//! The portable form of the log: JSON Lines, one record per line, every envelope field and the
//! record's hash, in log order. It is our way off sled's beta on-disk format and into another
//! backend: importing an export into an empty store reproduces the same positions and the
//! same hash chain, or refuses.
//!
//! The last line is a trailer, `{"trailer":{"format":1,"headPosition":..,"headHash":"..",
//! "eventCount":..}}`: what the export claims to hold. [`check_export`] reads a whole export
//! and refuses one without a trailer (cut short), with lines after it, or whose records
//! disagree with it (a record missing, added, or out of order), so that `crm import-log`
//! imports nothing from such a file.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::store::EventStore;
use crate::types::{
    EventMetadata, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};
use crate::writer::{Append, Preserved, Request};

/// The version of the export format, which the trailer names. 1: records, then the trailer.
pub const EXPORT_FORMAT: u32 = 1;

/// The last line of an export: its format, and the head it reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportTrailer {
    pub format: u32,
    /// The position of the last record; 0 for an empty log.
    pub head_position: u64,
    /// Its chain hash, lowercase hex (the genesis hash, all zeros, for an empty log).
    pub head_hash: String,
    /// Records in the export: as many as the head position, since positions have no gaps.
    pub event_count: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrailerLine {
    trailer: ExportTrailer,
}

/// Whether a line is the trailer rather than a record.
fn is_trailer(line: &str) -> bool {
    line.trim_start().starts_with("{\"trailer\"")
}

fn bad_export(reason: impl Into<String>) -> StoreError {
    StoreError::InvalidExport {
        reason: reason.into(),
    }
}

/// What the records read so far add up to, against a trailer.
#[derive(Debug, Default)]
struct Tally {
    count: u64,
    last_position: u64,
    last_hash: Option<String>,
}

impl Tally {
    fn record(&mut self, line: u64, r: &ExportedRecord) -> Result<()> {
        if r.position != self.last_position + 1 {
            return Err(bad_export(format!(
                "line {line} holds position {} where position {} belongs",
                r.position,
                self.last_position + 1
            )));
        }
        self.count += 1;
        self.last_position = r.position;
        self.last_hash = Some(r.hash.clone());
        Ok(())
    }

    fn check(&self, line: u64, t: &ExportTrailer) -> Result<()> {
        if t.format != EXPORT_FORMAT {
            return Err(bad_export(format!(
                "the trailer (line {line}) names format {}; this version reads format \
                 {EXPORT_FORMAT}",
                t.format
            )));
        }
        let head_hash = self
            .last_hash
            .clone()
            .unwrap_or_else(|| hex(&crate::segment::GENESIS_HASH));
        let mut wrong = Vec::new();
        if t.event_count != self.count {
            wrong.push(format!(
                "it counts {} records, the file holds {}",
                t.event_count, self.count
            ));
        }
        if t.head_position != self.last_position {
            wrong.push(format!(
                "its head position is {}, the last record's {}",
                t.head_position, self.last_position
            ));
        }
        if t.head_hash != head_hash {
            wrong.push(format!(
                "its head hash is {}, the last record's {head_hash}",
                t.head_hash
            ));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(bad_export(format!(
                "the trailer (line {line}) disagrees with the records: {}",
                wrong.join("; ")
            )))
        }
    }
}

/// Reads a whole export and checks it against its trailer, without importing anything:
/// every line a record or the trailer, positions 1, 2, 3, … without gap, the trailer last
/// and agreeing with them, each record's fields decodable (times, hex). Returns the trailer.
/// Whether each record's hash follows from the records before it is checked by the import,
/// which reproduces the chain.
pub fn check_export(input: impl BufRead) -> Result<ExportTrailer> {
    let mut reader = ExportReader::new(input);
    reader.checking = true;
    for record in reader.by_ref() {
        record?;
    }
    match reader.trailer.take() {
        Some((_, t)) => Ok(t),
        None => Err(bad_export(format!(
            "it has no trailer: it ends after {} records (last position {}), cut short or \
             written by a version before the trailer",
            reader.tally.count, reader.tally.last_position
        ))),
    }
}

/// Records read per page while exporting, and most records per append while importing.
const PAGE: usize = 4096;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportedRecord {
    pub position: u64,
    pub stream: String,
    pub revision: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub actor: String,
    /// RFC 3339, UTC, nanosecond precision.
    pub occurred_at: String,
    pub recorded_at: String,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub command_id: Option<Uuid>,
    /// The payload bytes as stored, lowercase hex.
    pub payload: String,
    /// blake3 chain hash of the record, lowercase hex.
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    t.format(&Rfc3339)
        .map_err(|e| StoreError::InvalidRead(format!("formatting a time: {e}")))
}

impl ExportedRecord {
    fn from_recorded(e: &RecordedEvent) -> Result<ExportedRecord> {
        Ok(ExportedRecord {
            position: e.position.0,
            stream: e.stream.clone(),
            revision: e.revision,
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            actor: e.metadata.actor.clone(),
            occurred_at: rfc3339(e.metadata.occurred_at)?,
            recorded_at: rfc3339(e.recorded_at)?,
            correlation_id: e.metadata.correlation_id,
            causation_id: e.metadata.causation_id,
            command_id: e.metadata.command_id,
            payload: hex(&e.payload),
            hash: hex(&e.hash),
        })
    }
}

impl ExportedRecord {
    /// The record as the log stored it; `line` names it in errors.
    fn to_recorded(&self, line: u64) -> Result<RecordedEvent> {
        let time = |s: &str, what: &str| {
            OffsetDateTime::parse(s, &Rfc3339).map_err(|e| bad_line(line, format!("{what}: {e}")))
        };
        let hash: [u8; 32] = unhex(&self.hash)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| bad_line(line, "hash is not 64 hex digits"))?;
        Ok(RecordedEvent {
            position: Position(self.position),
            stream: self.stream.clone(),
            revision: self.revision,
            event_id: self.event_id,
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            metadata: EventMetadata {
                actor: self.actor.clone(),
                occurred_at: time(&self.occurred_at, "occurredAt")?,
                correlation_id: self.correlation_id,
                causation_id: self.causation_id,
                command_id: self.command_id,
            },
            recorded_at: time(&self.recorded_at, "recordedAt")?,
            payload: unhex(&self.payload).ok_or_else(|| bad_line(line, "payload is not hex"))?,
            hash,
        })
    }
}

/// Why a line of an export could not be imported.
fn bad_line(line: u64, reason: impl Into<String>) -> StoreError {
    StoreError::InvalidAppend {
        stream: format!("(import line {line})"),
        reason: reason.into(),
    }
}

/// Writes records as an export: one JSON line each, then the trailer ([`ExportWriter::finish`]).
/// For any backend's records, in log order from position 1.
pub struct ExportWriter<W: Write> {
    out: W,
    count: u64,
    head: u64,
    head_hash: [u8; 32],
}

impl<W: Write> std::fmt::Debug for ExportWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportWriter")
            .field("count", &self.count)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ExportWriter<W> {
    pub fn new(out: W) -> ExportWriter<W> {
        ExportWriter {
            out,
            count: 0,
            head: 0,
            head_hash: crate::segment::GENESIS_HASH,
        }
    }

    /// One record, as stored (not upcast).
    pub fn record(&mut self, e: &RecordedEvent) -> Result<()> {
        let line = serde_json::to_string(&ExportedRecord::from_recorded(e)?)
            .map_err(|e| StoreError::InvalidRead(format!("encoding JSON: {e}")))?;
        writeln!(self.out, "{line}").map_err(StoreError::io("export output"))?;
        self.count += 1;
        self.head = e.position.0;
        self.head_hash = e.hash;
        Ok(())
    }

    /// Writes the trailer and flushes; the count of records.
    pub fn finish(mut self) -> Result<u64> {
        let trailer = TrailerLine {
            trailer: ExportTrailer {
                format: EXPORT_FORMAT,
                head_position: self.head,
                head_hash: hex(&self.head_hash),
                event_count: self.count,
            },
        };
        let line = serde_json::to_string(&trailer)
            .map_err(|e| StoreError::InvalidRead(format!("encoding JSON: {e}")))?;
        writeln!(self.out, "{line}").map_err(StoreError::io("export output"))?;
        self.out.flush().map_err(StoreError::io("export output"))?;
        Ok(self.count)
    }
}

/// An export's records, in order, as the log stored them; a line that is not a record, a
/// position out of order or a trailer that disagrees ends it with an error naming the line.
/// (A missing trailer does not: see [`check_export`].)
pub struct ExportReader<R: BufRead> {
    lines: std::io::Lines<R>,
    n: u64,
    tally: Tally,
    /// The trailer and its line, once read.
    trailer: Option<(u64, ExportTrailer)>,
    /// For [`check_export`]: a line that is not a record is a bad export
    /// ([`StoreError::InvalidExport`]), not a refused import.
    checking: bool,
    failed: bool,
}

impl<R: BufRead> std::fmt::Debug for ExportReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportReader")
            .field("line", &self.n)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> ExportReader<R> {
    pub fn new(input: R) -> ExportReader<R> {
        ExportReader {
            lines: input.lines(),
            n: 0,
            tally: Tally::default(),
            trailer: None,
            checking: false,
            failed: false,
        }
    }

    fn next_record(&mut self) -> Result<Option<RecordedEvent>> {
        loop {
            let Some(line) = self.lines.next() else {
                return Ok(None);
            };
            self.n += 1;
            let n = self.n;
            let line = line.map_err(StoreError::io_lazy(|| format!("export line {n}")))?;
            if line.trim().is_empty() {
                continue;
            }
            if let Some((at, _)) = &self.trailer {
                return Err(bad_export(format!(
                    "line {n} follows the trailer (line {at})"
                )));
            }
            if is_trailer(&line) {
                let t: TrailerLine = serde_json::from_str(&line)
                    .map_err(|e| bad_export(format!("line {n} is not a valid trailer: {e}")))?;
                self.tally.check(n, &t.trailer)?;
                self.trailer = Some((n, t.trailer));
                continue;
            }
            let checking = self.checking;
            let r: ExportedRecord = serde_json::from_str(&line).map_err(|e| match checking {
                true => bad_export(format!("line {n} is not an exported record: {e}")),
                false => bad_line(n, format!("not an exported record: {e}")),
            })?;
            let recorded = r.to_recorded(n).map_err(|e| match checking {
                true => bad_export(format!("line {n}: {e}")),
                false => e,
            })?;
            self.tally.record(n, &r)?;
            return Ok(Some(recorded));
        }
    }
}

impl<R: BufRead> Iterator for ExportReader<R> {
    type Item = Result<RecordedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_record();
        self.failed = next.is_err();
        next.transpose()
    }
}

impl EventStore {
    /// Writes every committed record to `out` as JSON Lines, in log order, then the trailer;
    /// returns the count of records.
    pub fn export_jsonl(&self, out: impl Write) -> Result<u64> {
        let head = self.head();
        let mut next = Position::FIRST;
        let mut writer = ExportWriter::new(out);
        while next <= head {
            let mut page = Vec::with_capacity(PAGE);
            self.scan_raw(next, head, PAGE, |e| {
                page.push(e);
                Ok(())
            })?;
            let Some(last) = page.last() else { break };
            next = last.position.next();
            for e in &page {
                writer.record(e)?;
            }
        }
        writer.finish()
    }

    /// Appends an export's records to this store, which must be empty, reproducing each
    /// record's position, recorded-at and hash; stops at the first line that cannot be
    /// reproduced (what was imported before it stays, and verifies). Returns the count.
    ///
    /// A trailer, if there is one, must agree with the records before it and end the input;
    /// a missing trailer is not refused here (a prefix of a log is a log): to refuse a cut
    /// export before importing anything, call [`check_export`] first, as `crm import-log`
    /// does.
    pub async fn import_jsonl(&self, input: impl BufRead) -> Result<u64> {
        if self.head().0 != 0 {
            return Err(StoreError::InvalidAppend {
                stream: "$all".into(),
                reason: format!(
                    "import needs an empty store; this one holds {} events",
                    self.head()
                ),
            });
        }
        let mut imported = 0u64;
        let mut page = Vec::with_capacity(PAGE);
        for record in ExportReader::new(input) {
            page.push(record?);
            if page.len() >= PAGE {
                imported += self.replicate(std::mem::take(&mut page)).await?;
            }
        }
        imported += self.replicate(page).await?;
        Ok(imported)
    }

    /// Hands an append that reproduces each record's position, recorded-at and hash (or is
    /// refused with [`StoreError::ImportMismatch`]) to the writer and returns where its
    /// answer will come, so that several can be handed over before the first is durable (the
    /// writer commits them together, with one fdatasync).
    pub(crate) async fn send_preserved(
        &self,
        stream: StreamName,
        first_revision: u64,
        events: Vec<NewEvent>,
        preserved: Vec<Preserved>,
    ) -> Result<oneshot::Receiver<Result<crate::AppendResult>>> {
        let expected = match first_revision {
            0 => ExpectedRevision::NoStream,
            r => ExpectedRevision::Exact(r - 1),
        };
        let precheck = self
            .inner
            .index
            .precheck(stream.as_str(), events.iter().map(|e| e.event_id))?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Append(Append {
            stream,
            expected,
            events,
            preserved: Some(preserved),
            recorded_at_ns: None,
            precheck,
            reply,
        }))
        .await?;
        Ok(answer)
    }
}
