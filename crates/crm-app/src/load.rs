//! Loading an aggregate's state: the cached state plus the events appended since, and the
//! one older event a bounded state no longer holds when a command needs it
//! (`Aggregate::recall_needed`).

use crm_codec::DecodeError;
use crm_domain::{Aggregate, DomainEvent};
use crm_eventstore::{codec, Direction, RecordedEvent, StreamName, StreamStart};

use crate::app::App;
use crate::error::AppError;

/// Events read per page when loading an aggregate.
pub(crate) const LOAD_PAGE: usize = 10_000;

impl App {
    /// Folds a stream into its aggregate's state; also returns the stream's revision.
    pub fn load<A: Aggregate>(
        &self,
        stream: &StreamName,
    ) -> Result<(A::State, Option<u64>), AppError>
    where
        A::State: Send + Sync + 'static,
    {
        // Start from the cached state, if any, and read only what was appended since. The
        // state is taken out of the cache, not cloned (an account's state holds every recorded
        // day); whoever loaded it puts it back.
        let (mut state, mut revision) = self
            .cache
            .take::<A::State>(stream.as_str())
            .unwrap_or_else(|| (A::State::default(), None));
        let mut from = revision.map_or(0, |r| r + 1);
        loop {
            let page = self.store.read_stream(
                stream,
                StreamStart::Revision(from),
                Direction::Forwards,
                LOAD_PAGE,
            )?;
            for recorded in &page {
                let event = decode_as::<A>(recorded)?;
                state = A::evolve(state, &event);
                revision = Some(recorded.revision);
            }
            match page.last() {
                Some(last) if page.len() == LOAD_PAGE => from = last.revision + 1,
                _ => return Ok((state, revision)),
            }
        }
    }

    /// `state` with the event put back that deciding `command` needs and the state no longer
    /// holds (`Aggregate::recall_needed`): one event read by revision.
    pub(crate) fn recall<A: Aggregate>(
        &self,
        stream: &StreamName,
        state: A::State,
        command: &A::Command,
    ) -> Result<A::State, AppError> {
        let Some(revision) = A::recall_needed(&state, command) else {
            return Ok(state);
        };
        let page = self.store.read_stream(
            stream,
            StreamStart::Revision(revision),
            Direction::Forwards,
            1,
        )?;
        match page.first().filter(|e| e.revision == revision) {
            Some(recorded) => Ok(A::recall(state, &decode_as::<A>(recorded)?)),
            // The state names an event its own stream does not hold: deciding without it
            // would be wrong, so the command is refused (decide says which fact is missing).
            None => Ok(state),
        }
    }
}

fn decode_as<A: Aggregate>(recorded: &RecordedEvent) -> Result<A::Event, AppError> {
    let event: A::Event =
        codec::decode(&recorded.payload).map_err(|source| DecodeError::Payload {
            position: recorded.position.0,
            event_type: recorded.event_type.clone(),
            schema_version: recorded.schema_version,
            source,
        })?;
    if event.event_type() != recorded.event_type {
        return Err(DecodeError::TypeMismatch {
            position: recorded.position.0,
            stored: recorded.event_type.clone(),
            decoded: event.event_type().to_string(),
        }
        .into());
    }
    Ok(event)
}
