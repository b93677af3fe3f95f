//! The read-path hook that turns events stored under an old schema version into the current
//! one. The log itself is never rewritten: an upcaster runs on every read, so old and new
//! readers agree and `verify` still checks the bytes as they were written.

use std::collections::HashMap;
use std::fmt;

use crate::types::RecordedEvent;

/// Brings an event up to its current schema version; events already current pass through.
pub trait Upcaster: Send + Sync + fmt::Debug {
    fn upcast(&self, event: RecordedEvent) -> Result<RecordedEvent, String>;
}

type Step = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync>;

/// Upcasters registered one version step at a time: (event type, version v) → payload of
/// version v + 1. Reading a v1 event when v3 is current runs the v1 and v2 steps in turn.
#[derive(Default)]
pub struct Upcasters {
    steps: HashMap<(String, u16), Step>,
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.steps.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step that turns `event_type` payloads of `from_version` into
    /// `from_version + 1`.
    pub fn register(
        mut self,
        event_type: impl Into<String>,
        from_version: u16,
        step: impl Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .insert((event_type.into(), from_version), Box::new(step));
        self
    }
}

impl Upcaster for Upcasters {
    fn upcast(&self, mut event: RecordedEvent) -> Result<RecordedEvent, String> {
        // Each step raises the version by one, so this ends after at most u16::MAX steps.
        while let Some(step) = self
            .steps
            .get(&(event.event_type.clone(), event.schema_version))
        {
            event.payload = step(&event.payload)?;
            event.schema_version = event
                .schema_version
                .checked_add(1)
                .ok_or_else(|| "schema version overflow".to_string())?;
        }
        Ok(event)
    }
}
