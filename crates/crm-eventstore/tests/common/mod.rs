//! Helpers shared by the store's integration tests.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
#![allow(dead_code)]

use crm_eventstore::{EventMetadata, NewEvent, StreamName};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn stream(name: &str) -> StreamName {
    StreamName::parse(name).expect("test stream names are valid")
}

/// A deterministic event: the same `n` always gives the same id and content.
pub fn event(n: u64, event_type: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::from_u64_pair(0x0193_0000_0000_7000, n),
        event_type: event_type.to_string(),
        schema_version: 1,
        metadata: EventMetadata {
            actor: "staff-test".into(),
            occurred_at: OffsetDateTime::from_unix_timestamp(1_700_000_000 + n as i64)
                .expect("in range"),
            correlation_id: Some(Uuid::from_u64_pair(1, n)),
            causation_id: None,
            command_id: Some(Uuid::from_u64_pair(2, n)),
        },
        payload: format!(
            "{{\"n\":{n},\"pad\":\"{}\"}}",
            "x".repeat((n % 50) as usize)
        )
        .into_bytes(),
    }
}
