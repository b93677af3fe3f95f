//! Catch-up subscriptions: reads deliver, the head watch (LISTEN/NOTIFY) wakes.
//!
//! Catch-up and live are one loop over positions, as in the segment store: read what matches
//! from `next` on, and when nothing is left, wait for the head to move (or the poll interval
//! to pass). Positions become visible in order (see the crate documentation), so reading from
//! `next` neither skips a position nor delivers one twice.

use std::collections::VecDeque;

use crm_eventstore::{
    AllStart, Direction, EventSubscription, Filter, Position, RecordedEvent, StoreError,
};
use tokio::sync::watch;

use crate::store::PgEventStore;

/// Events read per query.
const SUBSCRIPTION_BATCH: usize = 512;

/// A catch-up subscription on a [`PgEventStore`]. It ends only with an error (a read that
/// failed); the store has no `close`, and the subscription keeps its store (and so the
/// LISTEN connection) alive while it exists.
#[derive(Debug)]
pub struct PgSubscription {
    store: PgEventStore,
    filter: Filter,
    /// The next position to look at.
    next: Position,
    head: watch::Receiver<u64>,
    buffer: VecDeque<RecordedEvent>,
}

impl PgSubscription {
    pub(crate) fn new(store: PgEventStore, after: Position, filter: Filter) -> PgSubscription {
        let head = store.inner.head.subscribe();
        PgSubscription {
            store,
            filter,
            next: after.next(),
            head,
            buffer: VecDeque::new(),
        }
    }

    /// The next matching event, waiting for one to be committed if need be. Cancel-safe: a
    /// call dropped while it waits or reads loses nothing.
    pub async fn next(&mut self) -> Result<Option<RecordedEvent>, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Ok(Some(event));
            }
            // Mark the head as seen before reading: a commit after the read wakes the wait.
            self.head.borrow_and_update();
            let batch = self
                .store
                .read_filtered(
                    &self.filter,
                    AllStart::Position(self.next),
                    Direction::Forwards,
                    SUBSCRIPTION_BATCH,
                )
                .await?;
            if let Some(last) = batch.last() {
                self.next = last.position.next();
                self.buffer.extend(batch);
                continue;
            }
            let poll = self.store.poll_interval();
            tokio::select! {
                changed = self.head.changed() => {
                    if changed.is_err() {
                        // No watch any more: poll.
                        tokio::time::sleep(poll).await;
                    }
                }
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}

impl EventSubscription for PgSubscription {
    fn next(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<RecordedEvent>, StoreError>> + Send {
        PgSubscription::next(self)
    }
}
