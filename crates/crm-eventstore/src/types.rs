//! The store's vocabulary: positions, revisions, stream names, events going in and coming out.

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;

/// A committed event's place in `$all`. Gap-free and strictly increasing from 1; assigned by
/// the single writer, never by sled (whose `generate_id` leaves gaps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position(pub u64);

impl Position {
    /// The position of the first event ever written.
    pub const FIRST: Position = Position(1);

    pub fn next(self) -> Position {
        Position(self.0.saturating_add(1))
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the writer of a batch believes about the stream's current revision
/// (the revision of its last event; a stream's first event has revision 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last event must have exactly this revision.
    Exact(u64),
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::Any => f.write_str("any"),
            ExpectedRevision::NoStream => f.write_str("no stream"),
            ExpectedRevision::StreamExists => f.write_str("stream exists"),
            ExpectedRevision::Exact(n) => write!(f, "revision {n}"),
        }
    }
}

/// The revision a stream actually had when an expectation was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurrentRevision {
    NoStream,
    Current(u64),
}

impl CurrentRevision {
    /// From the revision of the stream's last event, if it has any.
    pub fn from_head(head: Option<u64>) -> Self {
        head.map_or(CurrentRevision::NoStream, CurrentRevision::Current)
    }

    /// Whether a stream at this revision meets `expected` (the rule every backend applies).
    pub fn satisfies(self, expected: ExpectedRevision) -> bool {
        match (expected, self) {
            (ExpectedRevision::Any, _) => true,
            (ExpectedRevision::NoStream, CurrentRevision::NoStream) => true,
            (ExpectedRevision::StreamExists, CurrentRevision::Current(_)) => true,
            (ExpectedRevision::Exact(n), CurrentRevision::Current(c)) => n == c,
            _ => false,
        }
    }
}

impl fmt::Display for CurrentRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CurrentRevision::NoStream => f.write_str("no stream"),
            CurrentRevision::Current(n) => write!(f, "revision {n}"),
        }
    }
}

/// Longest stream name accepted, in bytes.
pub const STREAM_NAME_LEN_MAX: usize = 200;
/// Longest event type accepted, in bytes.
pub const EVENT_TYPE_LEN_MAX: usize = 128;
/// Longest actor accepted, in bytes.
pub const ACTOR_LEN_MAX: usize = 200;
/// Largest payload accepted, in bytes.
pub const PAYLOAD_LEN_MAX: usize = 4 * 1024 * 1024;
/// Most events in one append.
pub const APPEND_EVENTS_MAX: usize = 10_000;
/// Most events one read may ask for.
pub const READ_LIMIT_MAX: usize = 100_000;

/// A stream name of the form `category-id` (`customer-4f…`). The category is the part before
/// the first `-`. Names starting with `$` are reserved for the store's own virtual streams.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamName(String);

impl StreamName {
    pub fn parse(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        let invalid = |reason: &str| StoreError::InvalidStreamName {
            name: truncate_for_error(&name),
            reason: reason.to_string(),
        };
        if name.is_empty() || name.len() > STREAM_NAME_LEN_MAX {
            return Err(invalid("must be 1 to 200 bytes long"));
        }
        if name.starts_with('$') {
            return Err(invalid("names starting with '$' are reserved"));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        match name.split_once('-') {
            Some((category, id)) if !category.is_empty() && !id.is_empty() => Ok(StreamName(name)),
            _ => Err(invalid("must be 'category-id' with both parts non-empty")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `-`.
    pub fn category(&self) -> &str {
        category_of(&self.0)
    }
}

pub(crate) fn category_of(stream: &str) -> &str {
    stream.split_once('-').map_or(stream, |(c, _)| c)
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StreamName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

pub(crate) fn truncate_for_error(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Who did it, when it happened in business time, and why (the envelope around a payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMetadata {
    /// The authenticated actor (`staff-…`, `system:import`, …).
    pub actor: String,
    /// Business time: when the fact happened, as the business sees it.
    pub occurred_at: OffsetDateTime,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    /// The command that produced this event, for idempotent command handling.
    pub command_id: Option<Uuid>,
}

/// An event to append. Its `event_id` makes retries idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub metadata: EventMetadata,
    pub payload: Vec<u8>,
}

impl NewEvent {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let invalid = |reason: String| StoreError::InvalidEvent {
            event_id: self.event_id,
            reason,
        };
        let t = &self.event_type;
        if t.is_empty() || t.len() > EVENT_TYPE_LEN_MAX {
            return Err(invalid(format!(
                "event type must be 1 to {EVENT_TYPE_LEN_MAX} bytes"
            )));
        }
        if !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(invalid(format!(
                "event type '{}' may hold only ASCII letters, digits, '.', '_' and '-'",
                truncate_for_error(t)
            )));
        }
        if self.metadata.actor.is_empty() || self.metadata.actor.len() > ACTOR_LEN_MAX {
            return Err(invalid(format!("actor must be 1 to {ACTOR_LEN_MAX} bytes")));
        }
        if self.payload.len() > PAYLOAD_LEN_MAX {
            return Err(invalid(format!(
                "payload of {} bytes exceeds the limit of {PAYLOAD_LEN_MAX}",
                self.payload.len()
            )));
        }
        Ok(())
    }
}

/// A committed event as read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub position: Position,
    pub stream: String,
    /// Its place in its stream, from 0.
    pub revision: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub metadata: EventMetadata,
    /// When the store committed it.
    pub recorded_at: OffsetDateTime,
    pub payload: Vec<u8>,
    /// blake3 over the previous record's hash and this record's bytes.
    pub hash: [u8; 32],
}

impl RecordedEvent {
    pub fn category(&self) -> &str {
        category_of(&self.stream)
    }
}

/// What an append committed (or, for a retried append, had committed the first time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub first_position: Position,
    pub last_position: Position,
    /// The stream's revision after the append: pass it as `Exact` to append next.
    pub stream_revision: u64,
    /// True when every event was already stored and nothing was written.
    pub already_stored: bool,
}

/// Which way a read walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Forwards,
    Backwards,
}

/// Where a stream read starts; inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamStart {
    Start,
    End,
    Revision(u64),
}

/// Where an `$all` (or category, or event-type) read starts; inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllStart {
    Start,
    End,
    Position(Position),
}

/// Which events a subscription or filtered read delivers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Filter {
    #[default]
    All,
    /// Streams whose category (before the first `-`) is this (`$ce-customer`).
    Category(String),
    /// Events of this type.
    EventType(String),
}

impl Filter {
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        match self {
            Filter::All => true,
            Filter::Category(c) => event.category() == c,
            Filter::EventType(t) => &event.event_type == t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_need_a_category_and_an_id() {
        for good in ["customer-1", "customer-4f0a-77", "branch-上海"] {
            assert!(StreamName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "customer",
            "-1",
            "customer-",
            "$all",
            "a-\u{0}b",
            &"x-".repeat(101),
        ] {
            assert!(
                matches!(
                    StreamName::parse(bad),
                    Err(StoreError::InvalidStreamName { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            StreamName::parse("customer-4f-77")
                .map(|s| s.category().to_owned())
                .ok(),
            Some("customer".into())
        );
    }

    #[test]
    fn expectations_are_checked_against_the_current_revision() {
        use CurrentRevision as C;
        use ExpectedRevision as E;
        let cases = [
            (E::Any, C::NoStream, true),
            (E::Any, C::Current(3), true),
            (E::NoStream, C::NoStream, true),
            (E::NoStream, C::Current(0), false),
            (E::StreamExists, C::NoStream, false),
            (E::StreamExists, C::Current(0), true),
            (E::Exact(2), C::Current(2), true),
            (E::Exact(2), C::Current(3), false),
            (E::Exact(0), C::NoStream, false),
        ];
        for (expected, current, ok) in cases {
            assert_eq!(
                current.satisfies(expected),
                ok,
                "{expected:?} vs {current:?}"
            );
        }
    }
}
