//! Posting lists as the index stores them: (position, locator) pairs, each the difference
//! from the pair before (the first from zero), in bincode's varint integers. Neighbours in a
//! category's or event type's list are a few positions and a few hundred bytes apart, so an
//! entry takes 5–11 bytes where a fixed-width one took 20 (bincode's varint spends one byte
//! up to 250, three up to 65,535, five up to 2³²).

use crate::error::{Result, StoreError};
use crate::index::{Locator, RUN_LEN_MAX};
use crate::types::Position;

/// An entry as stored: position, segment and offset, each the difference from the entry
/// before (wrapping, so that every sequence round-trips).
type PackedPosting = (u64, i64, i64);
/// The most a stored list may decode to: at most `RUN_LEN_MAX` entries of at most three
/// 10-byte varints, plus the length.
const POSTINGS_DECODE_LIMIT: usize = 16 + RUN_LEN_MAX * 30;

fn postings_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<POSTINGS_DECODE_LIMIT>()
}

/// A posting list as stored (see the module's documentation).
pub(crate) fn encode_postings(list: &[(Position, Locator)]) -> Result<Vec<u8>> {
    let mut before = (0u64, 0i64, 0i64);
    let packed: Vec<PackedPosting> = list
        .iter()
        .map(|(p, loc)| {
            let now = (p.0, i64::from(loc.segment), loc.offset as i64);
            let delta = (
                now.0.wrapping_sub(before.0),
                now.1.wrapping_sub(before.1),
                now.2.wrapping_sub(before.2),
            );
            before = now;
            delta
        })
        .collect();
    bincode::encode_to_vec(&packed, postings_config())
        .map_err(|e| StoreError::Index(format!("posting list not encoded: {e}")))
}

pub(crate) fn postings(v: &[u8]) -> Result<Vec<(Position, Locator)>> {
    let (packed, read): (Vec<PackedPosting>, usize) =
        bincode::decode_from_slice(v, postings_config())
            .map_err(|e| StoreError::Index(format!("posting list of {} bytes: {e}", v.len())))?;
    if read != v.len() {
        return Err(StoreError::Index(format!(
            "posting list of {} bytes has {} bytes after its entries",
            v.len(),
            v.len() - read
        )));
    }
    let mut now = (0u64, 0i64, 0i64);
    packed
        .into_iter()
        .map(|(p, segment, offset)| {
            now = (
                now.0.wrapping_add(p),
                now.1.wrapping_add(segment),
                now.2.wrapping_add(offset),
            );
            let segment = u32::try_from(now.1)
                .map_err(|_| StoreError::Index(format!("posting list names segment {}", now.1)))?;
            let offset = u64::try_from(now.2)
                .map_err(|_| StoreError::Index(format!("posting list names offset {}", now.2)))?;
            Ok((Position(now.0), Locator { segment, offset }))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(p: u64, segment: u32, offset: u64) -> (Position, Locator) {
        (Position(p), Locator { segment, offset })
    }

    #[test]
    fn a_dense_list_takes_a_few_bytes_an_entry() {
        let list: Vec<_> = (0..RUN_LEN_MAX as u64)
            .map(|i| entry(1_000_000 + 3 * i, 7, 250_000_000 + 900 * i))
            .collect();
        let bytes = encode_postings(&list).unwrap();
        // bincode's varint: a delta up to 250 is one byte, up to 65,535 three.
        assert!(bytes.len() <= 5 * list.len() + 16, "{} bytes", bytes.len());
        assert_eq!(postings(&bytes).unwrap(), list);
    }

    #[test]
    fn damaged_values_are_errors() {
        let list = vec![entry(5, 0, 10), entry(9, 1, 0)];
        let bytes = encode_postings(&list).unwrap();
        // Cut short, or with a byte after the entries.
        assert!(postings(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(postings(&longer).is_err());
        // A length past the limit is refused before anything is allocated.
        assert!(postings(&[0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        // A segment that is not a u32, an offset below zero.
        let packed: Vec<PackedPosting> = vec![(1, -1, 0)];
        let bad = bincode::encode_to_vec(&packed, postings_config()).unwrap();
        assert!(postings(&bad).is_err());
        let packed: Vec<PackedPosting> = vec![(1, 0, -5)];
        let bad = bincode::encode_to_vec(&packed, postings_config()).unwrap();
        assert!(postings(&bad).is_err());
    }

    proptest! {
        #[test]
        fn any_list_round_trips(
            list in proptest::collection::vec((any::<u64>(), any::<u32>(), 0..=i64::MAX as u64), 0..RUN_LEN_MAX)
        ) {
            let list: Vec<_> = list.into_iter().map(|(p, s, o)| entry(p, s, o)).collect();
            let bytes = encode_postings(&list).unwrap();
            prop_assert_eq!(postings(&bytes).unwrap(), list);
        }

        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = postings(&bytes);
        }
    }
}
