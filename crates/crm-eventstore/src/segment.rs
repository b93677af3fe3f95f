//! Segment files: the log of record.
//!
//! A segment is a 32-byte header followed by frames, each one record:
//!
//! ```text
//! [len u32 LE][crc32 u32 LE][body: len & 0x00ff_ffff bytes][hash: 32 bytes]
//! len bit 31 (FRAME_CONTINUES): more records of the same append follow this one
//! crc32 = crc32(len bytes ++ body ++ hash)        -- detects torn and flipped bytes
//! hash  = blake3(previous record's hash ++ body)  -- detects edits, even with a fixed-up crc
//! ```
//!
//! The body is the codec encoding of [`RecordBody`]. Segments are reached through
//! [`SegmentStorage`] so tests can put a fault-injecting file system underneath.
//!
//! **Append boundaries.** Every record of a multi-event append but its last has bit 31 of the
//! length word set ([`FRAME_CONTINUES`]); the last record of an append, and the only record
//! of a single-event append, has it clear. A body is at most [`FRAME_BODY_LEN_MAX`] (2^24)
//! bytes, so bits 24 to 31 of the length word were always zero: a segment written before the
//! flag existed reads as one append per record, and single-event appends are written byte for
//! byte as before (no format version was bumped). The flag is covered by the checksum but
//! not by the hash chain, so that an export (which carries no append boundaries) still
//! reproduces every hash when imported. A version of the store before the flag refuses a
//! frame with the bit set ("frame length out of range"): the log cannot be opened by an older
//! binary once a multi-event append was written.
//!
//! Recovery keeps only whole appends: records of an append whose last record is missing are
//! cut like a torn tail (see `recovery`). A segment never splits an append: the writer
//! starts a new segment before an append that would take the tail past the target size,
//! unless the tail holds no record yet; an append larger than the target then makes its
//! segment exceed it.

use std::borrow::Cow;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{self, CodecError};
use crate::mark::DURABLE_MARK_FILE;
use crate::types::{EventMetadata, Position, RecordedEvent};

pub const SEGMENT_MAGIC: [u8; 8] = *b"CRMSEGv1";
pub const SEGMENT_HEADER_LEN: u64 = 32;
pub const FRAME_OVERHEAD: u64 = 4 + 4 + 32;
/// Largest body a frame may declare; anything larger is damage, not data.
pub const FRAME_BODY_LEN_MAX: u32 = 16 * 1024 * 1024;
/// The bit of a frame's length word that says more records of the same append follow.
pub const FRAME_CONTINUES: u32 = 1 << 31;
/// The hash the first record chains from.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// One segment file, shared by the single writer and any number of readers.
pub trait SegmentFile: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    fn write_all_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// fdatasync: returns once everything written so far survives a power loss.
    fn sync_data(&self) -> io::Result<()>;
    fn len(&self) -> io::Result<u64>;
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file at least `len` bytes long, the new bytes reading as zeros, with their
    /// blocks reserved: a write into reserved space changes no file metadata, so its
    /// fdatasync need not wait for a journal commit (a third more syncs per second here).
    /// Like a write, not durable before the next `sync_data`.
    fn allocate(&self, len: u64) -> io::Result<()>;
    /// Bytes free for this file's owner on its file system, where that is known.
    fn free_space(&self) -> io::Result<Option<u64>> {
        Ok(None)
    }
}

/// Where segment files live.
pub trait SegmentStorage: Send + Sync + Debug {
    /// Numbers of the segments present, in any order.
    fn list(&self) -> io::Result<Vec<u32>>;
    fn open(&self, segment: u32) -> io::Result<Arc<dyn SegmentFile>>;
    /// Creates an empty segment; returns only once its directory entry is durable.
    fn create(&self, segment: u32) -> io::Result<Arc<dyn SegmentFile>>;
    /// The durable mark's bytes (see the `mark` module); `None` when there is no mark.
    fn read_durable_mark(&self) -> io::Result<Option<Vec<u8>>>;
    /// Replaces the durable mark atomically: after a power loss at any moment it reads as the
    /// old bytes or the new ones, never a mix; the new ones once this returns.
    fn write_durable_mark(&self, bytes: &[u8]) -> io::Result<()>;
    /// Where the durable mark is kept, for messages.
    fn durable_mark_location(&self) -> PathBuf;
    /// Keeps bytes recovery is about to cut from `segment` at `offset`: writes them to a new
    /// file beside the segment (never over an older one) and returns only once file and name
    /// are durable. Returns where they are.
    fn quarantine(&self, segment: u32, offset: u64, bytes: &[u8]) -> io::Result<PathBuf>;
}

/// Segments as plain files in one directory.
#[derive(Debug)]
pub struct DirectoryStorage {
    dir: PathBuf,
}

impl DirectoryStorage {
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        crate::dir::create_dir_durable(&dir)?;
        Ok(DirectoryStorage { dir })
    }

    fn path(&self, segment: u32) -> PathBuf {
        self.dir.join(format!("segment-{segment:08}.log"))
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
}

impl SegmentStorage for DirectoryStorage {
    fn list(&self) -> io::Result<Vec<u32>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_prefix("segment-")
                .and_then(|r| r.strip_suffix(".log"))
            {
                if let Ok(n) = n.parse::<u32>() {
                    out.push(n);
                }
            }
        }
        Ok(out)
    }

    fn open(&self, segment: u32) -> io::Result<Arc<dyn SegmentFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(segment))?;
        Ok(Arc::new(OsFile(file)))
    }

    fn create(&self, segment: u32) -> io::Result<Arc<dyn SegmentFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.path(segment))?;
        // The new name must survive a power loss too, or a synced record could sit in a file
        // that no directory lists after reboot.
        self.sync_dir()?;
        Ok(Arc::new(OsFile(file)))
    }

    fn read_durable_mark(&self) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.durable_mark_location()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_durable_mark(&self, bytes: &[u8]) -> io::Result<()> {
        let path = self.durable_mark_location();
        let temporary = self.dir.join(format!("{DURABLE_MARK_FILE}.tmp"));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        drop(file);
        std::fs::rename(&temporary, &path)?;
        self.sync_dir()
    }

    fn durable_mark_location(&self) -> PathBuf {
        self.dir.join(DURABLE_MARK_FILE)
    }

    fn quarantine(&self, segment: u32, offset: u64, bytes: &[u8]) -> io::Result<PathBuf> {
        let base = format!("segment-{segment:08}.log.quarantine-{offset}");
        // The same offset can be cut again after a later crash: keep both.
        for attempt in 0..QUARANTINE_NAMES_MAX {
            let path = match attempt {
                0 => self.dir.join(&base),
                n => self.dir.join(format!("{base}.{n}")),
            };
            let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            file.write_all(bytes)?;
            file.sync_all()?;
            self.sync_dir()?;
            return Ok(path);
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{QUARANTINE_NAMES_MAX} quarantine files named {base} already exist in {}",
                self.dir.display()
            ),
        ))
    }
}

/// Quarantine files of one segment and offset, before recovery gives up (and cuts nothing).
const QUARANTINE_NAMES_MAX: u32 = 1000;

#[derive(Debug)]
struct OsFile(File);

impl SegmentFile for OsFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.0.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn write_all_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_all_at(data, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    #[cfg(target_os = "linux")]
    fn allocate(&self, len: u64) -> io::Result<()> {
        use rustix::fs::{fallocate, FallocateFlags};
        use rustix::io::Errno;
        loop {
            match fallocate(&self.0, FallocateFlags::empty(), 0, len) {
                Ok(()) => return Ok(()),
                Err(Errno::INTR) => {}
                // File systems without fallocate (some network and FUSE ones) still give
                // zeros past the old end; only the speed-up is lost.
                Err(Errno::OPNOTSUPP) => return self.extend_to(len),
                Err(e) => return Err(e.into()),
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn allocate(&self, len: u64) -> io::Result<()> {
        self.extend_to(len)
    }

    #[cfg(target_os = "linux")]
    fn free_space(&self) -> io::Result<Option<u64>> {
        let stat = rustix::fs::fstatvfs(&self.0)?;
        Ok(Some(stat.f_bavail.saturating_mul(stat.f_frsize)))
    }
}

impl OsFile {
    fn extend_to(&self, len: u64) -> io::Result<()> {
        if self.0.metadata()?.len() < len {
            self.0.set_len(len)?;
        }
        Ok(())
    }
}

/// The fixed header at the start of every segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub segment: u32,
    /// The position of the first record this segment holds (or will hold).
    pub first_position: Position,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN as usize] {
        let mut out = [0u8; SEGMENT_HEADER_LEN as usize];
        out[0..8].copy_from_slice(&SEGMENT_MAGIC);
        out[8..12].copy_from_slice(&self.segment.to_le_bytes());
        out[12..20].copy_from_slice(&self.first_position.0.to_le_bytes());
        let crc = crc32fast::hash(&out[0..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, String> {
        if bytes.len() < SEGMENT_HEADER_LEN as usize {
            return Err(format!(
                "header is {} bytes, expected {SEGMENT_HEADER_LEN}",
                bytes.len()
            ));
        }
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err("bad magic: not a crm segment".into());
        }
        let crc = u32::from_le_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]);
        if crc32fast::hash(&bytes[0..28]) != crc {
            return Err("header checksum mismatch".into());
        }
        let segment = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[12..20]);
        Ok(SegmentHeader {
            segment,
            first_position: Position(u64::from_le_bytes(first)),
        })
    }
}

/// What one record stores, in the order it is encoded. Strings and bytes borrow from the
/// frame when decoding so a scan allocates only what it hands out.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecordBody<'a> {
    pub position: u64,
    pub revision: u64,
    pub event_id: Uuid,
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    #[serde(borrow)]
    pub event_type: Cow<'a, str>,
    pub schema_version: u16,
    #[serde(borrow)]
    pub actor: Cow<'a, str>,
    pub occurred_at_ns: i128,
    pub recorded_at_ns: i128,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub command_id: Option<Uuid>,
    #[serde(borrow, with = "serde_bytes")]
    pub payload: Cow<'a, [u8]>,
}

impl RecordBody<'_> {
    pub(crate) fn into_recorded(self, hash: [u8; 32]) -> Result<RecordedEvent, String> {
        let time = |ns: i128, what: &str| {
            OffsetDateTime::from_unix_timestamp_nanos(ns)
                .map_err(|e| format!("{what} {ns} ns is out of range: {e}"))
        };
        Ok(RecordedEvent {
            position: Position(self.position),
            stream: self.stream.into_owned(),
            revision: self.revision,
            event_id: self.event_id,
            event_type: self.event_type.into_owned(),
            schema_version: self.schema_version,
            metadata: EventMetadata {
                actor: self.actor.into_owned(),
                occurred_at: time(self.occurred_at_ns, "occurred-at")?,
                correlation_id: self.correlation_id,
                causation_id: self.causation_id,
                command_id: self.command_id,
            },
            recorded_at: time(self.recorded_at_ns, "recorded-at")?,
            payload: self.payload.into_owned(),
            hash,
        })
    }
}

/// blake3(previous hash ++ body).
pub fn chain_hash(previous: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(previous);
    hasher.update(body);
    *hasher.finalize().as_bytes()
}

/// Appends one frame for `body` to `out` and returns the record's chain hash. `continues`:
/// more records of the same append follow this one.
pub(crate) fn encode_frame(
    previous: &[u8; 32],
    body: &[u8],
    continues: bool,
    out: &mut Vec<u8>,
) -> [u8; 32] {
    let hash = chain_hash(previous, body);
    // Bodies are bounded far below FRAME_BODY_LEN_MAX by the append limits checked before
    // encoding; one that were not would read back as damage, never as another length.
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let len = if continues {
        len | FRAME_CONTINUES
    } else {
        len
    }
    .to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(body);
    crc.update(&hash);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&hash);
    hash
}

/// A frame found in a buffer: its body and stored hash.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub body: &'a [u8],
    pub hash: [u8; 32],
    /// Bytes the frame occupies.
    pub len: u64,
    /// More records of the same append follow (see the module documentation).
    pub continues: bool,
}

/// A frame's length word: the body length it declares and whether its append continues.
pub(crate) fn split_len_word(word: u32) -> (u32, bool) {
    (word & !FRAME_CONTINUES, word & FRAME_CONTINUES != 0)
}

/// Why bytes at an offset are not a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The buffer ends before the frame does; read more (or, at the end of the file, the
    /// frame was cut short).
    Incomplete { needed: u64 },
    /// The bytes are there but wrong.
    Damaged(String),
}

/// Parses the frame at the start of `buf`, checking its length and checksum.
pub(crate) fn parse_frame(buf: &[u8]) -> Result<Frame<'_>, FrameError> {
    if buf.len() < 8 {
        return Err(FrameError::Incomplete { needed: 8 });
    }
    let len_bytes = [buf[0], buf[1], buf[2], buf[3]];
    let (len, continues) = split_len_word(u32::from_le_bytes(len_bytes));
    if len == 0 || len > FRAME_BODY_LEN_MAX {
        return Err(FrameError::Damaged(format!(
            "frame length {len} is out of range"
        )));
    }
    let total = FRAME_OVERHEAD + u64::from(len);
    if (buf.len() as u64) < total {
        return Err(FrameError::Incomplete { needed: total });
    }
    let stored_crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let body_end = 8 + len as usize;
    let body = &buf[8..body_end];
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&buf[body_end..body_end + 32]);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len_bytes);
    crc.update(body);
    crc.update(&hash);
    if crc.finalize() != stored_crc {
        return Err(FrameError::Damaged("checksum mismatch".into()));
    }
    Ok(Frame {
        body,
        hash,
        len: total,
        continues,
    })
}

pub(crate) fn decode_body(body: &[u8]) -> Result<RecordBody<'_>, CodecError> {
    codec::decode_borrowed(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;

    #[test]
    fn a_header_round_trips_and_rejects_damage() {
        let header = SegmentHeader {
            segment: 7,
            first_position: Position(1234),
        };
        let bytes = header.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header));
        for i in 0..bytes.len() {
            let mut bad = bytes;
            bad[i] ^= 0x10;
            assert!(
                SegmentHeader::decode(&bad).is_err(),
                "flip at {i} went unnoticed"
            );
        }
    }

    #[test]
    fn every_single_bit_flip_in_a_frame_is_detected() {
        for continues in [false, true] {
            let mut frame = Vec::new();
            encode_frame(&GENESIS_HASH, b"some body bytes", continues, &mut frame);
            every_damage_to_a_frame_is_detected(&frame);
            let parsed = parse_frame(&frame).unwrap();
            assert_eq!(parsed.continues, continues);
            assert_eq!(parsed.body, b"some body bytes");
        }
    }

    #[test]
    fn a_frame_without_the_flag_is_the_format_before_it() {
        // The frame of a single-event append is byte for byte what the format before append
        // boundaries wrote: [len][crc32(len ++ body ++ hash)][body][hash].
        let body = b"an old record";
        let hash = chain_hash(&GENESIS_HASH, body);
        let len = (body.len() as u32).to_le_bytes();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&len);
        crc.update(body);
        crc.update(&hash);
        let old = [&len[..], &crc.finalize().to_le_bytes(), body, &hash].concat();
        let mut new = Vec::new();
        encode_frame(&GENESIS_HASH, body, false, &mut new);
        assert_eq!(new, old);
        assert!(!parse_frame(&old).unwrap().continues);
    }

    fn every_damage_to_a_frame_is_detected(frame: &[u8]) {
        assert!(parse_frame(frame).is_ok());
        for i in 0..frame.len() {
            for bit in 0..8 {
                let mut bad = frame.to_vec();
                bad[i] ^= 1 << bit;
                assert!(
                    parse_frame(&bad).is_err(),
                    "flip of bit {bit} at byte {i} went unnoticed"
                );
            }
        }
        for cut in 0..frame.len() {
            assert!(matches!(
                parse_frame(&frame[..cut]),
                Err(FrameError::Incomplete { .. })
            ));
        }
    }
}
