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

use crate::error::{Result, StoreError};
use crate::segment::SegmentStorage;
use crate::types::Position;

/// The mark file's name in the log directory.
pub const DURABLE_MARK_FILE: &str = "durable";
const MAGIC: [u8; 8] = *b"CRMMARK1";
const MARK_LEN: usize = 20;

pub(crate) fn encode(position: Position) -> [u8; MARK_LEN] {
    let mut out = [0u8; MARK_LEN];
    out[..8].copy_from_slice(&MAGIC);
    out[8..16].copy_from_slice(&position.0.to_le_bytes());
    let crc = crc32fast::hash(&out[..16]);
    out[16..].copy_from_slice(&crc.to_le_bytes());
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Position, String> {
    if bytes.len() != MARK_LEN {
        return Err(format!("{} bytes, expected {MARK_LEN}", bytes.len()));
    }
    if bytes[..8] != MAGIC {
        return Err("bad magic: not a durable mark".into());
    }
    let stored = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    if crc32fast::hash(&bytes[..16]) != stored {
        return Err("checksum mismatch".into());
    }
    let mut position = [0u8; 8];
    position.copy_from_slice(&bytes[8..16]);
    Ok(Position(u64::from_le_bytes(position)))
}

/// The stored mark; `None` when there is no mark file. A damaged file is an error naming it.
pub(crate) fn read(storage: &dyn SegmentStorage) -> Result<Option<Position>> {
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
pub(crate) fn write(storage: &dyn SegmentStorage, position: Position) -> Result<()> {
    storage
        .write_durable_mark(&encode(position))
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
        let bytes = encode(Position(123_456_789));
        assert_eq!(decode(&bytes), Ok(Position(123_456_789)));
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
