//! Scalars and global ids shared by every area of the schema.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A 64-bit unsigned integer (positions, revisions, counts). GraphQL's `Int` is 32-bit and a
/// log outgrows it; `Long` is written as a JSON number, exact up to 2^53.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Long(pub u64);

#[Scalar(name = "Long")]
impl ScalarType for Long {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_u64()
                .map(Long)
                .ok_or_else(|| InputValueError::custom("Long must be a non-negative integer")),
            Value::String(s) => s
                .parse::<u64>()
                .map(Long)
                .map_err(|_| InputValueError::custom("Long must be a non-negative integer")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// An instant as RFC 3339 text with offset (`2024-01-02T09:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub OffsetDateTime);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
                .map(DateTime)
                .map_err(|e| InputValueError::custom(format!("not an RFC 3339 time: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        // Every OffsetDateTime the store produces has a four-digit year, which is all RFC 3339
        // formatting can refuse; fall back to the debug form rather than fail a whole response.
        Value::String(
            self.0
                .format(&Rfc3339)
                .unwrap_or_else(|_| format!("{:?}", self.0)),
        )
    }
}

/// A Relay global id: `base64url("Type:local")`, opaque to clients.
pub fn global_id(kind: &str, local: impl std::fmt::Display) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{local}")))
}

/// The type name and local part of a global id, if it is one.
pub fn parse_global_id(id: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, local) = text.split_once(':')?;
    Some((kind.to_string(), local.to_string()))
}

/// Lowercase hex of a hash.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_garbage_is_refused() {
        let id = global_id("Event", 42);
        assert_eq!(
            parse_global_id(&id),
            Some(("Event".to_string(), "42".to_string()))
        );
        for bad in ["", "!!!", "RXZlbnQ", "%%%%"] {
            assert_eq!(parse_global_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
    }
}
