//! The projection engine: a read model is a deterministic fold of `$all`, kept in memory and
//! flushed to sled with its checkpoint in one batch, so after a crash it resumes from the last
//! flush and applies every later event exactly once.
//!
//! A projection that cannot apply an event (it does not decode) stops there, with the position
//! and the reason in its status; it never skips.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crm_domain::AnyEvent;
use crm_eventstore::{codec, EventStore, Filter, Position, RecordedEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use crate::codec::decode;
use crate::error::ProjectionError;

/// A read model: its state and how one event changes it. `apply` must be deterministic and
/// use no clock: the same events always give the same state, live or rebuilt.
pub trait Projection: Send + Sync + 'static {
    const NAME: &'static str;
    type State: Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static;
    fn apply(state: &mut Self::State, event: &RecordedEvent, decoded: &AnyEvent);
}

/// Flush after this many events, or this long after the first unflushed one. The whole state is
/// written at each flush, so flushing often during a rebuild costs more than it saves: a crash
/// re-applies at most this many events (about a second).
const FLUSH_EVENTS: u64 = 250_000;
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Events taken from the log per step.
const STEP: usize = 1024;

const KEY_STATE: &[u8] = b"state";
const KEY_CHECKPOINT: &[u8] = b"checkpoint";

/// What a projection reports about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    /// The last position applied.
    pub position: u64,
    /// The log's head when the status was taken.
    pub head: u64,
    pub lag_events: u64,
    /// Events applied per second over the last step.
    pub events_per_sec: f64,
    /// The position of the last flush to sled.
    pub flushed: u64,
    pub last_error: Option<String>,
}

struct Shared<P: Projection> {
    state: RwLock<P::State>,
    position: watch::Sender<u64>,
    flushed: AtomicU64,
    rate_milli: AtomicU64,
    error: Mutex<Option<String>>,
}

/// A running projection. Cheap to clone.
pub struct Projected<P: Projection> {
    shared: Arc<Shared<P>>,
    store: EventStore,
    tree: sled::Tree,
}

impl<P: Projection> Clone for Projected<P> {
    fn clone(&self) -> Self {
        Projected {
            shared: self.shared.clone(),
            store: self.store.clone(),
            tree: self.tree.clone(),
        }
    }
}

impl<P: Projection> std::fmt::Debug for Projected<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projected")
            .field("name", &P::NAME)
            .field("position", &self.position())
            .finish()
    }
}

impl<P: Projection> Projected<P> {
    /// Loads the last flushed state and checkpoint (or starts empty) without following the log.
    pub fn load(store: &EventStore) -> Result<Projected<P>, ProjectionError> {
        let tree = store.sled().open_tree(format!("proj-{}", P::NAME))?;
        Projected::<P>::from_tree(store, tree)
    }

    fn from_tree(store: &EventStore, tree: sled::Tree) -> Result<Projected<P>, ProjectionError> {
        let checkpoint = match tree.get(KEY_CHECKPOINT)? {
            Some(v) if v.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&v);
                u64::from_be_bytes(b)
            }
            _ => 0,
        };
        let state = match (checkpoint, tree.get(KEY_STATE)?) {
            (0, _) | (_, None) => P::State::default(),
            (_, Some(bytes)) => codec::decode(&bytes)?,
        };
        // A checkpoint past the log's end means the log lost events (a restore from an older
        // backup): start over rather than show what the log no longer holds.
        let (state, checkpoint) = if checkpoint > store.head().0 {
            tracing::warn!(
                projection = P::NAME,
                checkpoint,
                head = store.head().0,
                "checkpoint beyond the log; rebuilding"
            );
            (P::State::default(), 0)
        } else {
            (state, checkpoint)
        };
        Ok(Projected {
            shared: Arc::new(Shared {
                state: RwLock::new(state),
                position: watch::channel(checkpoint).0,
                flushed: AtomicU64::new(checkpoint),
                rate_milli: AtomicU64::new(0),
                error: Mutex::new(None),
            }),
            store: store.clone(),
            tree,
        })
    }

    /// An empty projection at position 0 in a scratch tree of its own, so that folding (and
    /// flushing) it never touches the live one: for measuring a rebuild, or a shadow build.
    pub fn load_empty(store: &EventStore) -> Result<Projected<P>, ProjectionError> {
        let tree = store
            .sled()
            .open_tree(format!("proj-{}-scratch", P::NAME))?;
        tree.clear()?;
        Projected::<P>::from_tree(store, tree)
    }

    /// Rebuilds the live projection from scratch: folds the whole log into a scratch tree,
    /// reporting progress as (events done, head), then replaces the live state and checkpoint
    /// in one sled batch, so readers see the old state or the new one, never a mix.
    pub fn rebuild(
        store: &EventStore,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, ProjectionError> {
        let shadow = Projected::<P>::load_empty(store)?;
        let mut sub = store.subscribe(Position(0), Filter::All);
        let mut done = 0;
        loop {
            let batch = sub.try_next_batch(STEP * 16)?;
            if batch.is_empty() {
                break;
            }
            done += batch.len() as u64;
            shadow.apply_batch(&batch)?;
            progress(done, store.head().0);
        }
        let live = store.sled().open_tree(format!("proj-{}", P::NAME))?;
        let bytes = shadow.read(codec::encode)?;
        let mut swap = sled::Batch::default();
        swap.insert(KEY_STATE, bytes);
        swap.insert(KEY_CHECKPOINT, &shadow.position().to_be_bytes());
        live.apply_batch(swap)?;
        shadow.tree.clear()?;
        Ok(done)
    }

    /// Loads and follows the log on a tokio task until the store closes.
    pub fn start(store: &EventStore) -> Result<Projected<P>, ProjectionError> {
        let projected = Projected::<P>::load(store)?;
        let runner = projected.clone();
        tokio::spawn(async move {
            if let Err(e) = runner.follow().await {
                tracing::error!(projection = P::NAME, error = %e, "projection stopped");
            }
        });
        Ok(projected)
    }

    /// Applies everything committed now, without waiting for more. Nothing is flushed: call
    /// [`Projected::flush`] to make it durable.
    pub fn catch_up(&self) -> Result<u64, ProjectionError> {
        let mut sub = self.store.subscribe(Position(self.position()), Filter::All);
        let mut applied = 0;
        loop {
            let batch = sub.try_next_batch(STEP)?;
            if batch.is_empty() {
                break;
            }
            applied += batch.len() as u64;
            self.apply_batch(&batch)?;
        }
        Ok(applied)
    }

    async fn follow(&self) -> Result<(), ProjectionError> {
        let mut sub = self.store.subscribe(Position(self.position()), Filter::All);
        let mut since_flush = 0u64;
        let mut first_unflushed: Option<Instant> = None;
        loop {
            let mut batch = sub.try_next_batch(STEP)?;
            if batch.is_empty() {
                // Caught up: make what we have durable, then wait for the log to move.
                if since_flush > 0 {
                    self.flush()?;
                    since_flush = 0;
                    first_unflushed = None;
                }
                match sub.next().await? {
                    Some(event) => batch.push(event),
                    None => return self.flush(),
                }
            }
            let started = Instant::now();
            self.apply_batch(&batch)?;
            let secs = started.elapsed().as_secs_f64().max(1e-6);
            self.shared.rate_milli.store(
                (batch.len() as f64 / secs * 1000.0) as u64,
                Ordering::Relaxed,
            );
            since_flush += batch.len() as u64;
            let first = *first_unflushed.get_or_insert_with(Instant::now);
            // Far behind (a rebuild), the whole-state flush by time would dominate; flush by
            // count only until close to the head.
            let far_behind = self.store.head().0.saturating_sub(self.position()) > FLUSH_EVENTS;
            if since_flush >= FLUSH_EVENTS || (!far_behind && first.elapsed() >= FLUSH_INTERVAL) {
                self.flush()?;
                since_flush = 0;
                first_unflushed = None;
            }
        }
    }

    fn apply_batch(&self, batch: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut state = self.shared.state.write().unwrap_or_else(|e| e.into_inner());
        let mut last = None;
        for recorded in batch {
            match decode(recorded) {
                Ok(event) => {
                    P::apply(&mut state, recorded, &event);
                    last = Some(recorded.position.0);
                }
                Err(e) => {
                    drop(state);
                    if let Some(p) = last {
                        self.shared.position.send_replace(p);
                    }
                    let reason = e.to_string();
                    *self.shared.error.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(reason.clone());
                    return Err(ProjectionError::Stopped {
                        name: P::NAME,
                        position: recorded.position.0,
                        reason,
                    });
                }
            }
        }
        drop(state);
        if let Some(p) = last {
            self.shared.position.send_replace(p);
        }
        Ok(())
    }

    /// Writes the state and its checkpoint in one sled batch.
    pub fn flush(&self) -> Result<(), ProjectionError> {
        let (bytes, position) = {
            let state = self.shared.state.read().unwrap_or_else(|e| e.into_inner());
            (codec::encode(&*state)?, self.position())
        };
        let mut batch = sled::Batch::default();
        batch.insert(KEY_STATE, bytes);
        batch.insert(KEY_CHECKPOINT, &position.to_be_bytes());
        self.tree.apply_batch(batch)?;
        self.shared.flushed.store(position, Ordering::SeqCst);
        Ok(())
    }

    /// The last position applied.
    pub fn position(&self) -> u64 {
        *self.shared.position.borrow()
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&P::State) -> R) -> R {
        // apply_batch never panics while holding the lock, so a poisoned lock still holds a
        // whole state.
        let state = self.shared.state.read().unwrap_or_else(|e| e.into_inner());
        f(&state)
    }

    /// Waits until the projection has applied `position` (read your writes), at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let started = Instant::now();
        let mut rx = self.shared.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ProjectionError::Timeout {
                position,
                reached: self.position(),
                waited_ms: started.elapsed().as_millis(),
            }),
        }
    }

    pub fn status(&self) -> ProjectionStatus {
        let head = self.store.head().0;
        let position = self.position();
        ProjectionStatus {
            name: P::NAME,
            position,
            head,
            lag_events: head.saturating_sub(position),
            events_per_sec: self.shared.rate_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            flushed: self.shared.flushed.load(Ordering::SeqCst),
            last_error: self
                .shared
                .error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
