//! The one place that knows how bytes on disk are encoded.
//!
//! Every encoded value starts with a format byte. Today that is [`FORMAT_BINCODE2`]
//! (bincode 2.0.1 in serde mode, varint integers). A later move to another encoding is a
//! new format byte read side by side with the old one, not a rewrite of the log.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// bincode 2.0.1, serde mode, standard configuration (little endian, varint integers).
pub const FORMAT_BINCODE2: u8 = 1;

/// No single encoded value may claim more than this; a corrupt length prefix inside a record
/// then fails cleanly instead of asking the allocator for gigabytes.
pub const DECODE_LIMIT_BYTES: usize = 64 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT_BYTES>()
}

/// Why bytes could not be turned into a value or back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("empty input: no format byte")]
    Empty,
    #[error("unknown format byte {0}")]
    UnknownFormat(u8),
    #[error("encode failed: {0}")]
    Encode(String),
    #[error("decode failed: {0}")]
    Decode(String),
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
}

/// Encodes `value` with the current format byte in front.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(128);
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Appends the encoding of `value` (format byte first) to `out`.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    out.push(FORMAT_BINCODE2);
    bincode::serde::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes a value written by [`encode`]; the whole input must be consumed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let body = body_of(bytes)?;
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    check_consumed(body.len(), used)?;
    Ok(value)
}

/// Like [`decode`], but the value may borrow from `bytes` (zero-copy strings and byte slices).
pub fn decode_borrowed<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, CodecError> {
    let body = body_of(bytes)?;
    let (value, used) = bincode::serde::borrow_decode_from_slice(body, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    check_consumed(body.len(), used)?;
    Ok(value)
}

fn body_of(bytes: &[u8]) -> Result<&[u8], CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&FORMAT_BINCODE2, body)) => Ok(body),
        Some((&other, _)) => Err(CodecError::UnknownFormat(other)),
    }
}

fn check_consumed(len: usize, used: usize) -> Result<(), CodecError> {
    if used == len {
        Ok(())
    } else {
        Err(CodecError::TrailingBytes(len.saturating_sub(used)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        amount: i64,
        tags: Vec<u16>,
    }

    #[test]
    fn a_value_round_trips_with_the_format_byte_first() {
        let value = Sample {
            name: "客户".into(),
            amount: -42,
            tags: vec![1, 2, 300],
        };
        let bytes = encode(&value).expect("a plain struct always encodes");
        assert_eq!(bytes[0], FORMAT_BINCODE2);
        assert_eq!(decode::<Sample>(&bytes), Ok(value));
    }

    #[test]
    fn unknown_formats_empty_input_and_trailing_bytes_are_errors() {
        assert_eq!(decode::<u32>(&[]), Err(CodecError::Empty));
        assert_eq!(decode::<u32>(&[9, 1]), Err(CodecError::UnknownFormat(9)));
        assert_eq!(
            decode::<u8>(&[FORMAT_BINCODE2, 1, 2]),
            Err(CodecError::TrailingBytes(1))
        );
    }

    #[test]
    fn a_huge_length_prefix_fails_instead_of_allocating() {
        // A varint length of u64::MAX for a string.
        let bytes = [FORMAT_BINCODE2, 255, 255, 255, 255, 255, 255, 255, 255, 255];
        assert!(matches!(
            decode::<String>(&bytes),
            Err(CodecError::Decode(_))
        ));
    }
}
