//! What any backend of the log offers: the [`EventLog`] trait, implemented by the segment
//! store ([`EventStore`]) and by the PostgreSQL store (crate `crm-eventstore-pg`), and the
//! rules both share so that they cannot drift apart: the record hash of the chain
//! ([`record_hash`]), the content digest behind idempotent appends ([`content_digest`]) and
//! what a batch whose event ids are already stored means ([`check_stored`]).
//!
//! The conformance suite (module `conformance`, cargo feature `conformance`) runs the same
//! tests against every implementation.

use std::future::Future;

use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::segment::{chain_hash, RecordBody};
use crate::store::EventStore;
use crate::subscription::Subscription;
use crate::types::{
    AllStart, AppendResult, Direction, ExpectedRevision, Filter, NewEvent, Position, RecordedEvent,
    StreamName, StreamStart,
};
use crate::verify::VerifyReport;

/// An event log: appends with expected revisions, idempotent by event id, gap-free global
/// positions in commit order, reads both ways, catch-up subscriptions and a hash chain.
///
/// Every operation is async so that a backend behind a network connection can implement it;
/// the futures are `Send` so generic code can spawn them.
pub trait EventLog: Clone + Send + Sync + 'static {
    /// What [`EventLog::subscribe`] returns.
    type Subscription: EventSubscription;

    /// Appends `events` to `stream` if it is at `expected`; all or nothing. A batch whose
    /// event ids are all stored with the same content returns the first result
    /// (`already_stored`) and writes nothing.
    fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult>> + Send;

    /// The revision of the stream's last event, if it has any.
    fn stream_revision(
        &self,
        stream: &StreamName,
    ) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// One stream from `start` (inclusive) in `direction`, at most `limit` events.
    fn read_stream(
        &self,
        stream: &StreamName,
        start: StreamStart,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// `$all` from `start` (inclusive) in `direction`, at most `limit` events.
    fn read_all(
        &self,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// Events matching `filter` (a category, an event type, or all) from `start`.
    fn read_filtered(
        &self,
        filter: &Filter,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// The event at one committed position; [`StoreError::InvalidRead`] past the head.
    fn read_position(
        &self,
        position: Position,
    ) -> impl Future<Output = Result<RecordedEvent>> + Send;

    /// The committed event with this id, if any.
    fn find_event(
        &self,
        event_id: Uuid,
    ) -> impl Future<Output = Result<Option<RecordedEvent>>> + Send;

    /// The last committed position; 0 when the log is empty.
    fn head(&self) -> impl Future<Output = Result<Position>> + Send;

    /// Notified when the head moves (the value is a committed position, not necessarily the
    /// newest: read [`EventLog::head`] after a change).
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// Every event matching `filter` after `after` (exclusive), committed ones first, then
    /// live ones, with no gap and no duplicate.
    fn subscribe(&self, after: Position, filter: Filter) -> Self::Subscription;

    /// Walks the whole log and checks the hash chain, the order of positions and revisions.
    fn verify(&self) -> impl Future<Output = Result<VerifyReport>> + Send;
}

/// A catch-up subscription of some [`EventLog`].
pub trait EventSubscription: Send {
    /// The next matching event, waiting for one to be committed if need be; `None` once the
    /// log is closed and everything committed was delivered.
    fn next(&mut self) -> impl Future<Output = Result<Option<RecordedEvent>>> + Send;
}

impl EventSubscription for Subscription {
    fn next(&mut self) -> impl Future<Output = Result<Option<RecordedEvent>>> + Send {
        Subscription::next(self)
    }
}

impl EventLog for EventStore {
    type Subscription = Subscription;

    fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult>> + Send {
        EventStore::append(self, stream, expected, events)
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>> {
        EventStore::stream_revision(self, stream)
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        start: StreamStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        EventStore::read_stream(self, stream, start, direction, limit)
    }

    async fn read_all(
        &self,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        EventStore::read_all(self, start, direction, limit)
    }

    async fn read_filtered(
        &self,
        filter: &Filter,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        EventStore::read_filtered(self, filter, start, direction, limit)
    }

    async fn read_position(&self, position: Position) -> Result<RecordedEvent> {
        EventStore::read_position(self, position)
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>> {
        EventStore::find_event(self, event_id)
    }

    async fn head(&self) -> Result<Position> {
        Ok(EventStore::head(self))
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        EventStore::watch_head(self)
    }

    fn subscribe(&self, after: Position, filter: Filter) -> Subscription {
        EventStore::subscribe(self, after, filter)
    }

    async fn verify(&self) -> Result<VerifyReport> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.verify())
            .await
            .map_err(|e| StoreError::Index(format!("joining the verify task: {e}")))?
    }
}

/// The chain hash of `event` after a record whose hash is `previous` (the genesis hash, all
/// zeros, before the first): blake3 over `previous` and the record's encoded body, exactly as
/// the segment store computes it when it writes the record. `event` must be as stored (not
/// upcast).
pub fn record_hash(previous: &[u8; 32], event: &RecordedEvent) -> Result<[u8; 32]> {
    let m = &event.metadata;
    let body = RecordBody {
        position: event.position.0,
        revision: event.revision,
        event_id: event.event_id,
        stream: event.stream.as_str().into(),
        event_type: event.event_type.as_str().into(),
        schema_version: event.schema_version,
        actor: m.actor.as_str().into(),
        occurred_at_ns: m.occurred_at.unix_timestamp_nanos(),
        recorded_at_ns: event.recorded_at.unix_timestamp_nanos(),
        correlation_id: m.correlation_id,
        causation_id: m.causation_id,
        command_id: m.command_id,
        payload: event.payload.as_slice().into(),
    };
    let bytes = crate::codec::encode(&body)?;
    Ok(chain_hash(previous, &bytes))
}

/// The digest of what an event says (stream, type, version, metadata, payload; not its id or
/// place): two appends of one event id are the same event only if their digests agree.
pub fn content_digest(stream: &StreamName, event: &NewEvent) -> Result<[u8; 32]> {
    let m = &event.metadata;
    digest_fields(
        stream.as_str(),
        &event.event_type,
        event.schema_version,
        &m.actor,
        m.occurred_at.unix_timestamp_nanos(),
        [m.correlation_id, m.causation_id, m.command_id],
        &event.payload,
    )
}

/// The same digest of a stored event (as stored, not upcast).
pub fn content_digest_of_recorded(event: &RecordedEvent) -> Result<[u8; 32]> {
    let m = &event.metadata;
    digest_fields(
        &event.stream,
        &event.event_type,
        event.schema_version,
        &m.actor,
        m.occurred_at.unix_timestamp_nanos(),
        [m.correlation_id, m.causation_id, m.command_id],
        &event.payload,
    )
}

fn digest_fields(
    stream: &str,
    event_type: &str,
    schema_version: u16,
    actor: &str,
    occurred_at_ns: i128,
    ids: [Option<Uuid>; 3],
    payload: &[u8],
) -> Result<[u8; 32]> {
    let bytes = crate::codec::encode(&(
        stream,
        event_type,
        schema_version,
        actor,
        occurred_at_ns,
        ids,
        serde_bytes::Bytes::new(payload),
    ))?;
    Ok(*blake3::hash(&bytes).as_bytes())
}

/// What is stored under one event id of a batch: its position, stream revision and content
/// digest.
pub type StoredEvent = (Position, u64, [u8; 32]);

/// The idempotency rule of an append, given for each event of the batch its content digest
/// and what is stored under its id: `Ok(None)` when none is stored (write the batch),
/// `Ok(Some(result))` when all are stored with the same content (the first append's result,
/// write nothing), [`StoreError::EventIdConflict`] when one id is stored with other content,
/// [`StoreError::PartiallyStored`] when the batch mixes stored and new ids.
pub fn check_stored(
    stream: &StreamName,
    events: &[NewEvent],
    digests: &[[u8; 32]],
    found: &[Option<StoredEvent>],
) -> Result<Option<AppendResult>> {
    let mut stored: Vec<(Position, u64)> = Vec::new();
    let mut first_new: Option<Uuid> = None;
    let mut first_stored: Option<Uuid> = None;
    for ((e, digest), found) in events.iter().zip(digests).zip(found) {
        match found {
            Some((position, _, d)) if d != digest => {
                return Err(StoreError::EventIdConflict {
                    event_id: e.event_id,
                    position: *position,
                });
            }
            Some((position, revision, _)) => {
                stored.push((*position, *revision));
                first_stored.get_or_insert(e.event_id);
            }
            None => {
                first_new.get_or_insert(e.event_id);
            }
        }
    }
    if let (Some(stored_event_id), Some(_)) = (first_stored, first_new) {
        return Err(StoreError::PartiallyStored {
            stream: stream.to_string(),
            stored_event_id,
        });
    }
    if stored.is_empty() {
        return Ok(None);
    }
    let first = stored.iter().map(|s| s.0).min().unwrap_or_default();
    let (last_position, stream_revision) = stored
        .iter()
        .max_by_key(|s| s.0)
        .copied()
        .unwrap_or_default();
    Ok(Some(AppendResult {
        first_position: first,
        last_position,
        stream_revision,
        already_stored: true,
    }))
}

/// The checks every backend makes before an append touches anything: at least one event, at
/// most [`crate::APPEND_EVENTS_MAX`], each valid, no event id twice.
pub fn validate_append(stream: &StreamName, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Err(StoreError::InvalidAppend {
            stream: stream.to_string(),
            reason: "an append needs at least one event".into(),
        });
    }
    if events.len() > crate::APPEND_EVENTS_MAX {
        return Err(StoreError::InvalidAppend {
            stream: stream.to_string(),
            reason: format!(
                "{} events exceed the limit of {}",
                events.len(),
                crate::APPEND_EVENTS_MAX
            ),
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    for e in events {
        e.validate()?;
        if !seen.insert(e.event_id) {
            return Err(StoreError::InvalidAppend {
                stream: stream.to_string(),
                reason: format!("event id {} appears twice in the batch", e.event_id),
            });
        }
    }
    Ok(())
}

/// Refuses a read limit above [`crate::READ_LIMIT_MAX`].
pub fn check_read_limit(limit: usize) -> Result<()> {
    if limit > crate::READ_LIMIT_MAX {
        return Err(StoreError::InvalidRead(format!(
            "limit {limit} exceeds the maximum of {}",
            crate::READ_LIMIT_MAX
        )));
    }
    Ok(())
}
