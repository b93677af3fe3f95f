//! The durable mark: a position every record up to which was on disk (fdatasync'ed) when the
//! mark was stored, a fraction of a second behind the log. Recovery may cut a torn tail only
//! after it: damage at or before it is damage to acknowledged records, and a log that ends
//! before it lost them.
//!
//! It is a file of its own beside the segments (`log/durable` in a data directory), not a key
//! in sled: rebuilding, clearing, discarding or deleting the index must never forget it. The
//! file is replaced atomically (temporary file, fdatasync, rename, directory fsync; see
//! [`SegmentStorage::write_durable_mark`]) and carries a checksum:
//!
//! ```text
//! [magic "CRMMARK1"][position u64 LE][crc32 u32 LE of the 16 bytes before]
//! ```
//!
//! Versions before this file kept the mark in sled under `mdurable`; recovery reads that key
//! once when there is no file, writes the file, and removes the key.
//!
//! **A failed sync.** When an fdatasync of the log fails (or a write to it: the writer's, at a
//! seal, at close, or the background syncer's in batched durability), the store stops taking
//! writes and replaces the mark with a *sync-failed* mark, of the same layout with the magic
//! `CRMMARKF`: the log is on disk up to `position`, and nothing after it may be trusted. After
//! a failed fdatasync Linux may mark the pages clean without having written them, so the
//! records after the mark can still be read back from the page cache, and a later fdatasync
//! "succeeds" without writing them. Recovery cuts every record after `position` off the log
//! (into a quarantine file, as it cuts a torn tail) before it trusts anything past the mark,
//! and only then stores a plain mark again. With durability `Fsync` those records were never
//! acknowledged; with `Batched` they are the ones a power loss could also have taken. A
//! version of the store from before this mark refuses to open a log that carries it (bad
//! magic), rather than serving records whose sync failed.

use crate::error::{Result, StoreError};
use crate::segment::SegmentStorage;
use crate::types::Position;

/// The mark file's name in the log directory.
pub const DURABLE_MARK_FILE: &str = "durable";
const MAGIC: [u8; 8] = *b"CRMMARK1";
/// The magic of a sync-failed mark (see the module documentation).
const MAGIC_SYNC_FAILED: [u8; 8] = *b"CRMMARKF";
const MARK_LEN: usize = 20;

/// What the mark file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    /// Every record up to here was on disk.
    pub position: Position,
    /// A sync of the log failed after `position`: the records after it are not to be trusted,
    /// whatever the segment files hold.
    pub sync_failed: bool,
}

impl Mark {
    pub(crate) fn durable(position: Position) -> Mark {
        Mark {
            position,
            sync_failed: false,
        }
    }
}

pub(crate) fn encode(mark: Mark) -> [u8; MARK_LEN] {
    let mut out = [0u8; MARK_LEN];
    let position = mark.position;
    out[..8].copy_from_slice(if mark.sync_failed {
        &MAGIC_SYNC_FAILED
    } else {
        &MAGIC
    });
    out[8..16].copy_from_slice(&position.0.to_le_bytes());
    let crc = crc32fast::hash(&out[..16]);
    out[16..].copy_from_slice(&crc.to_le_bytes());
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Mark, String> {
    if bytes.len() != MARK_LEN {
        return Err(format!("{} bytes, expected {MARK_LEN}", bytes.len()));
    }
    let sync_failed = if bytes[..8] == MAGIC {
        false
    } else if bytes[..8] == MAGIC_SYNC_FAILED {
        true
    } else {
        return Err("bad magic: not a durable mark".into());
    };
    let stored = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    if crc32fast::hash(&bytes[..16]) != stored {
        return Err("checksum mismatch".into());
    }
    let mut position = [0u8; 8];
    position.copy_from_slice(&bytes[8..16]);
    Ok(Mark {
        position: Position(u64::from_le_bytes(position)),
        sync_failed,
    })
}

/// The stored mark; `None` when there is no mark file. A damaged file is an error naming it.
pub(crate) fn read(storage: &dyn SegmentStorage) -> Result<Option<Mark>> {
    let bytes = storage
        .read_durable_mark()
        .map_err(StoreError::io_lazy(|| {
            format!(
                "reading the durable mark {}",
                storage.durable_mark_location().display()
            )
        }))?;
    match bytes {
        None => Ok(None),
        Some(bytes) => decode(&bytes)
            .map(Some)
            .map_err(|reason| StoreError::DurableMarkCorrupt {
                path: storage.durable_mark_location(),
                reason,
            }),
    }
}

/// Replaces the stored mark; durable on return.
pub(crate) fn write(storage: &dyn SegmentStorage, mark: Mark) -> Result<()> {
    storage
        .write_durable_mark(&encode(mark))
        .map_err(StoreError::io_lazy(|| {
            format!(
                "writing the durable mark {}",
                storage.durable_mark_location().display()
            )
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_round_trips_and_every_damage_is_detected() {
        for sync_failed in [false, true] {
            let mark = Mark {
                position: Position(123_456_789),
                sync_failed,
            };
            let bytes = encode(mark);
            assert_eq!(decode(&bytes), Ok(mark));
            for i in 0..bytes.len() {
                for bit in 0..8 {
                    let mut bad = bytes;
                    bad[i] ^= 1 << bit;
                    assert!(decode(&bad).is_err(), "flip of bit {bit} at byte {i}");
                }
            }
            for len in 0..bytes.len() {
                assert!(decode(&bytes[..len]).is_err());
            }
            assert!(decode(&[bytes.as_slice(), &[0]].concat()).is_err());
        }
    }
}
