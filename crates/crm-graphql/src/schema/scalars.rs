//! Scalars and global ids shared by every area of the schema.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::error::ApiError;

/// The years a date or instant argument may fall in. Every read model's date arithmetic
/// (business-day offsets, windows of a year, month ends) stays far inside `time`'s range for
/// these, so no argument value can overflow it; anything outside is refused as VALIDATION
/// naming the argument.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;
const EARLIEST: OffsetDateTime = time::macros::datetime!(1900-01-01 0:00 UTC);
const LATEST: OffsetDateTime = time::macros::datetime!(2200-12-31 23:59:59.999_999_999 UTC);

/// `date` if its year is in [`YEARS`], else a VALIDATION error naming `field`.
pub(crate) fn date_in_range(field: &str, date: Date) -> Result<Date, ApiError> {
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(ApiError::validation(
            field,
            format!(
                "{date} is out of range: the year must be {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        ))
    }
}

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

impl DateTime {
    /// The instant if it lies in [`YEARS`] (compared in UTC, so that no offset conversion can
    /// leave `time`'s range), else a VALIDATION error naming the argument `field`.
    pub(crate) fn checked(self, field: &str) -> Result<OffsetDateTime, ApiError> {
        // Comparing instants never converts offsets, so it cannot overflow.
        if self.0 >= EARLIEST && self.0 <= LATEST {
            Ok(self.0)
        } else {
            Err(ApiError::validation(
                field,
                format!(
                    "out of range: the instant must be in the years {} to {} (UTC)",
                    YEARS.start(),
                    YEARS.end()
                ),
            ))
        }
    }

    /// [`DateTime::checked`] for an optional argument; `None` stays `None`.
    pub(crate) fn checked_opt(
        value: Option<DateTime>,
        field: &str,
    ) -> Result<Option<OffsetDateTime>, ApiError> {
        value.map(|t| t.checked(field)).transpose()
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
    fn instants_and_dates_outside_the_years_are_refused() {
        let at = |s: &str| DateTime(OffsetDateTime::parse(s, &Rfc3339).unwrap_or(EARLIEST));
        for bad in [
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00+23:59",
            "1900-01-01T00:00:00+00:01",
            "2201-01-01T00:00:00Z",
        ] {
            assert!(at(bad).checked("at").is_err(), "{bad}");
        }
        for good in [
            "1900-01-01T00:00:00Z",
            "2200-12-31T23:59:59Z",
            "2024-01-02T09:30:00+08:00",
        ] {
            assert!(at(good).checked("at").is_ok(), "{good}");
        }
        assert!(date_in_range("asOf", time::macros::date!(1899 - 12 - 31)).is_err());
        assert!(date_in_range("asOf", time::macros::date!(2200 - 12 - 31)).is_ok());
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
    }
}
