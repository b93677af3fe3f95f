//! The domain event codec: domain events to stored bytes and back, through the store's one
//! codec. The write side (`crm-app`) and the read side (`crm-projections`) both depend on it and
//! not on each other.
//!
//! A payload is the aggregate's event enum encoded by `crm_eventstore::codec` (format byte,
//! bincode 2). bincode writes an enum's variant by index, so variants are only ever appended,
//! never reordered or removed; the envelope's event type is checked against the decoded
//! variant so that a violation of that rule is an error, not a silent misreading.

use crm_domain::{AnyEvent, DomainEvent, PayloadDecoder};
use crm_eventstore::codec::{self, CodecError};
use crm_eventstore::{EventMetadata, NewEvent, RecordedEvent, StoreError, StreamName};
use serde::Serialize;
use uuid::Uuid;

/// Why a stored event could not be read as a domain event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("event at position {position}: stream category '{category}' belongs to no aggregate")]
    UnknownCategory { position: u64, category: String },
    #[error("event at position {position} ({event_type} v{schema_version}): {source}")]
    Payload {
        position: u64,
        event_type: String,
        schema_version: u16,
        source: CodecError,
    },
    #[error(
        "event at position {position} is stored as '{stored}' but decodes as '{decoded}': \
         an event enum's variants were reordered"
    )]
    TypeMismatch {
        position: u64,
        stored: String,
        decoded: String,
    },
    #[error("event at position {position} is schema version {schema_version} of {event_type}; this build reads version {supported}")]
    UnsupportedVersion {
        position: u64,
        event_type: String,
        schema_version: u16,
        supported: u16,
    },
}

struct Bincode;

impl PayloadDecoder for Bincode {
    type Error = CodecError;
    fn decode<T: serde::de::DeserializeOwned>(&self, payload: &[u8]) -> Result<T, CodecError> {
        codec::decode(payload)
    }
}

/// Reads a recorded event as the domain event it stores.
pub fn decode(recorded: &RecordedEvent) -> Result<AnyEvent, DecodeError> {
    let position = recorded.position.0;
    let event = AnyEvent::decode(recorded.category(), &recorded.payload, &Bincode)
        .ok_or_else(|| DecodeError::UnknownCategory {
            position,
            category: recorded.category().to_string(),
        })?
        .map_err(|source| DecodeError::Payload {
            position,
            event_type: recorded.event_type.clone(),
            schema_version: recorded.schema_version,
            source,
        })?;
    if event.event_type() != recorded.event_type {
        return Err(DecodeError::TypeMismatch {
            position,
            stored: recorded.event_type.clone(),
            decoded: event.event_type().to_string(),
        });
    }
    if event.schema_version() != recorded.schema_version {
        return Err(DecodeError::UnsupportedVersion {
            position,
            event_type: recorded.event_type.clone(),
            schema_version: recorded.schema_version,
            supported: event.schema_version(),
        });
    }
    Ok(event)
}

/// Encodes a domain event for appending to its stream.
pub fn encode<E: DomainEvent + Serialize>(
    event: &E,
    event_id: Uuid,
    metadata: EventMetadata,
) -> Result<NewEvent, CodecError> {
    Ok(NewEvent {
        event_id,
        event_type: event.event_type().to_string(),
        schema_version: event.schema_version(),
        metadata,
        payload: codec::encode(event)?,
    })
}

/// The stream a domain event belongs on.
pub fn stream_of<E: DomainEvent>(event: &E) -> Result<StreamName, StoreError> {
    StreamName::parse(event.stream_name())
}
