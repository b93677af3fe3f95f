//! Catch-up subscriptions.
//!
//! A subscription never holds more than one batch in memory and never sits in the writer's
//! path: it reads committed events from the log (the page cache, while it keeps up) and, once
//! it has read everything committed, waits for the head to move. Catch-up and live are one
//! loop over positions, so there is no switch-over at which an event could be missed or
//! delivered twice, and a slow subscriber simply reads further behind the head.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use tokio::sync::watch;

use crate::error::Result;
use crate::store::EventStore;
use crate::types::{Direction, Filter, Position, RecordedEvent};

/// Events read per trip to the log.
const SUBSCRIPTION_BATCH: usize = 512;

#[derive(Debug)]
pub struct Subscription {
    store: EventStore,
    filter: Filter,
    /// The next position to look at.
    next: Position,
    head: watch::Receiver<u64>,
    buffer: VecDeque<RecordedEvent>,
}

impl Subscription {
    pub(crate) fn new(store: EventStore, after: Position, filter: Filter) -> Subscription {
        let head = store.watch_head();
        Subscription {
            store,
            filter,
            next: after.next(),
            head,
            buffer: VecDeque::new(),
        }
    }

    /// The next matching event, waiting for one to be committed if need be. `None` once the
    /// store is closed and every committed event has been delivered.
    pub async fn next(&mut self) -> Result<Option<RecordedEvent>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Ok(Some(event));
            }
            let head = self.store.head();
            if self.next <= head {
                self.fill(head)?;
                continue;
            }
            if self.store.inner.closed.load(Ordering::SeqCst) {
                return Ok(None);
            }
            // Mark the current head as seen, then look once more: a commit between the check
            // above and this line must not be slept through.
            self.head.borrow_and_update();
            if self.store.head() >= self.next {
                continue;
            }
            if self.head.changed().await.is_err() {
                return Ok(None);
            }
        }
    }

    /// Everything matching that is committed right now, without waiting (at most `max`).
    pub fn try_next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        while out.len() < max {
            if let Some(event) = self.buffer.pop_front() {
                out.push(event);
                continue;
            }
            let head = self.store.head();
            if self.next > head {
                break;
            }
            self.fill(head)?;
        }
        Ok(out)
    }

    fn fill(&mut self, head: Position) -> Result<()> {
        let (kind, name) = match &self.filter {
            Filter::All => {
                let mut last = None;
                let buffer = &mut self.buffer;
                self.store
                    .scan_forwards(self.next, head, SUBSCRIPTION_BATCH, |e| {
                        last = Some(e.position);
                        buffer.push_back(e);
                        Ok(())
                    })?;
                self.next = last.map_or(head.next(), Position::next);
                return Ok(());
            }
            Filter::Category(c) => (b'c', c.clone()),
            Filter::EventType(t) => (b't', t.clone()),
        };
        let entries = self.store.inner.index.secondary_entries(
            kind,
            &name,
            self.next,
            head,
            Direction::Forwards,
            SUBSCRIPTION_BATCH,
        )?;
        let full = entries.len() == SUBSCRIPTION_BATCH;
        let mut last = None;
        for (position, loc) in entries {
            let event = self.store.inner.log.read_at(position, loc)?;
            self.buffer.push_back(self.store.upcast(event)?);
            last = Some(position);
        }
        // A short batch means nothing else matches up to the head.
        self.next = match (full, last) {
            (true, Some(p)) => p.next(),
            _ => head.next(),
        };
        Ok(())
    }
}
