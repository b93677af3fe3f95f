//! Aggregate states kept between commands, so a command on a long stream reads only the events
//! written since the state was kept.

use std::any::Any;

/// Aggregate states by stream, as of a revision. Loading then reads only newer events. A
/// cached state is never wrong, only possibly old: it is always followed by a read of the
/// stream from the next revision.
pub(crate) struct StateCache {
    states: std::sync::Mutex<std::collections::HashMap<String, CachedState>>,
    /// Streams whose state is kept; the cache is emptied when it would grow past this.
    max: usize,
}

impl Default for StateCache {
    fn default() -> Self {
        StateCache::new(STATE_CACHE_STREAMS_DEFAULT)
    }
}

/// A type-erased aggregate state and the stream revision it reflects.
type CachedState = (Box<dyn Any + Send + Sync>, u64);

/// Streams whose state the command side keeps unless told otherwise (`App::with_state_cache`).
pub const STATE_CACHE_STREAMS_DEFAULT: usize = 100_000;

impl std::fmt::Debug for StateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.states.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("StateCache").field("streams", &n).finish()
    }
}

impl StateCache {
    pub(crate) fn new(max: usize) -> StateCache {
        StateCache {
            states: std::sync::Mutex::default(),
            max: max.max(1),
        }
    }

    pub(crate) fn take<S: 'static>(&self, stream: &str) -> Option<(S, Option<u64>)> {
        // A panic elsewhere cannot leave a half-written entry: entries are replaced whole.
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let (state, revision) = states.remove(stream)?;
        state.downcast::<S>().ok().map(|s| (*s, Some(revision)))
    }

    pub(crate) fn put<S: Send + Sync + 'static>(&self, stream: &str, state: S, revision: u64) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        if states.len() >= self.max && !states.contains_key(stream) {
            states.clear();
        }
        match states.get(stream) {
            // Never replace a newer state with an older one (two commands may race here).
            Some((_, cached)) if *cached > revision => {}
            _ => {
                states.insert(stream.to_string(), (Box::new(state), revision));
            }
        }
    }
}
