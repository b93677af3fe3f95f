//! Shared test helpers: a fresh store and app, and the log as comparable tuples.
#![allow(dead_code)] // each test binary uses a different subset

use crm_app::App;
use crm_eventstore::{AllStart, Direction, EventStore, Position, StoreConfig, READ_LIMIT_MAX};
use uuid::Uuid;

pub struct World {
    pub dir: tempfile::TempDir,
    pub app: App,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let app = App::new(store).unwrap();
        World { dir, app }
    }

    pub fn head(&self) -> u64 {
        self.app.store().head().0
    }
}

/// What determinism and idempotency are about: each event's stream, revision, id, type,
/// business time, command id and payload (not its position nor its recorded-at, which depend
/// on interleaving and on the clock).
pub type LoggedEvent = (String, u64, Uuid, String, String, Option<Uuid>, Vec<u8>);

/// The whole log, sorted by stream and revision.
pub fn events(app: &App) -> Vec<LoggedEvent> {
    let mut out = Vec::new();
    let mut from = Position(1);
    loop {
        let page = app
            .store()
            .read_all(
                AllStart::Position(from),
                Direction::Forwards,
                READ_LIMIT_MAX,
            )
            .unwrap();
        let Some(last) = page.last() else { break };
        from = Position(last.position.0 + 1);
        for e in page {
            out.push((
                e.stream,
                e.revision,
                e.event_id,
                e.event_type,
                e.metadata.occurred_at.to_string(),
                e.metadata.command_id,
                e.payload,
            ));
        }
    }
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}
