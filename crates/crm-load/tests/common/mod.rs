//! Shared test helpers: a fresh store and app, the log as comparable tuples, and running an
//! import with its report in comparable form.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use crm_app::App;
use crm_eventstore::{AllStart, Direction, EventStore, Position, StoreConfig, READ_LIMIT_MAX};
use crm_load::{import, ImportKind, ImportOptions, ImportReport};
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

/// schema/import: the formats and their examples.
pub fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/import")
}

/// The documented example file of `kind`.
pub fn example(kind: ImportKind) -> PathBuf {
    schema()
        .join("examples")
        .join(format!("{}.csv", kind.name()))
}

/// Imports `path` as `kind`; a file-level error fails the test.
pub async fn run(app: &App, kind: ImportKind, path: &Path, options: ImportOptions) -> ImportReport {
    import(app, kind, path, options, |_| {}).await.unwrap()
}

/// (rows read, imported, unchanged, rejected).
pub fn counts(r: &ImportReport) -> (u64, u64, u64, u64) {
    (r.rows_read, r.imported, r.unchanged, r.rejected)
}

/// (line, column, reason) of each reject, for exact comparison.
pub fn rejects(r: &ImportReport) -> Vec<(u64, Option<&str>, &str)> {
    r.rejects
        .iter()
        .map(|x| (x.line, x.column.as_deref(), x.reason.as_str()))
        .collect()
}

/// Writes `text` to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The types of the events written since `before` was read, sorted.
pub fn types_since(app: &App, before: &[LoggedEvent]) -> Vec<String> {
    let mut types: Vec<String> = events(app)
        .into_iter()
        .filter(|e| !before.contains(e))
        .map(|e| e.3)
        .collect();
    types.sort();
    types
}

/// `text` encoded in GBK, as a Chinese core system exports it (every character mappable).
pub fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}
