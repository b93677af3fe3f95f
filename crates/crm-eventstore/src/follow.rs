//! A segment store that follows another log, and where the command side appends.
//!
//! When the log of record lives elsewhere (PostgreSQL, crate `crm-eventstore-pg`), each
//! `crm serve` node keeps a segment store in its data directory as a *follower*: a copy of
//! the log of record, record for record, with the same positions, recorded-at times and chain
//! hashes ([`EventStore::replicate`]). Everything that reads the log on that node — read
//! models, the command side's directory, subscriptions, replay, verify — reads the follower,
//! through the same synchronous, local API it reads on a single node. Only appends go to the
//! log of record, through an [`Appender`].
//!
//! A follower refuses appends of its own ([`EventStore::follow_only`],
//! [`StoreError::Follower`]): a write that reached it and not the log of record would fork
//! the two logs. Copying re-computes every chain hash and refuses a record whose stored hash
//! differs, so a log of record altered behind the nodes' backs stops its followers instead of
//! being served.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use crate::error::{Result, StoreError};
use crate::store::EventStore;
use crate::types::{AppendResult, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName};
use crate::writer::Preserved;

/// A boxed future, for the object-safe [`Appender`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the command side appends, and how it waits for the local log to catch up with it.
///
/// On a single node the segment store is both ([`EventStore`] implements it). With a log of
/// record elsewhere, the appender writes there and [`Appender::settle`] waits for the local
/// follower. Object safe, so the command side holds one `Arc<dyn Appender>` whatever the
/// backend.
pub trait Appender: Send + Sync + std::fmt::Debug {
    /// Appends `events` to `stream` if it is at `expected` (see `EventLog::append`). Once it
    /// returns, the local log holds the events too (read-your-writes on this node).
    fn append<'a>(
        &'a self,
        stream: &'a StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<AppendResult>>;

    /// Waits until the local log holds everything the log of record had committed when
    /// this was called: after a conflict, so the next load sees the write that won.
    fn settle(&self) -> BoxFuture<'_, Result<()>>;

    /// What the command side appends to, for logs and status ("segment store", a server).
    fn describe(&self) -> String;

    /// Enters the section `name`, which at most one command holds at a time across every
    /// node appending to the log of record, and waits for the local log to hold everything
    /// committed before it was entered; the section ends when the [`Section`] is dropped.
    /// For decisions that must see every earlier write of every node, such as "no other
    /// customer holds this identity document". On a single node the caller's own lock is
    /// enough and this returns at once.
    fn enter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Section>>;
}

/// A held [`Appender::enter`] section; dropping it ends the section.
pub struct Section(Option<Box<dyn Send + Sync>>);

impl Section {
    /// A section that holds nothing (a single node).
    pub fn local() -> Section {
        Section(None)
    }

    /// A section held by `guard` until it is dropped.
    pub fn held(guard: Box<dyn Send + Sync>) -> Section {
        Section(Some(guard))
    }
}

impl std::fmt::Debug for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Section")
            .field(&if self.0.is_some() { "held" } else { "local" })
            .finish()
    }
}

impl Appender for EventStore {
    fn append<'a>(
        &'a self,
        stream: &'a StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<AppendResult>> {
        Box::pin(EventStore::append(self, stream, expected, events))
    }

    fn settle(&self) -> BoxFuture<'_, Result<()>> {
        // The local log is the log of record: nothing to wait for.
        Box::pin(std::future::ready(Ok(())))
    }

    fn describe(&self) -> String {
        "segment store".into()
    }

    fn enter<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Section>> {
        Box::pin(std::future::ready(Ok(Section::local())))
    }
}

/// The file in a data directory that says its log is a copy of another (its content names
/// the log of record, for people): [`EventStore::open`] then opens a follower.
pub const FOLLOWS_FILE: &str = "follows";

/// What `data_dir`'s [`FOLLOWS_FILE`] says, if the directory holds one.
pub fn follows(data_dir: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(data_dir.join(FOLLOWS_FILE)) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(format!(
            "reading {FOLLOWS_FILE} in {}",
            data_dir.display()
        ))(e)),
    }
}

/// Marks `data_dir` as holding a copy of the log `what` names, durably, so that every later
/// open of it (a restart, or a command line tool) refuses appends of its own.
pub fn mark_follows(data_dir: &Path, what: &str) -> Result<()> {
    let path = data_dir.join(FOLLOWS_FILE);
    let io = |e| StoreError::io(format!("writing {}", path.display()))(e);
    let mut file = std::fs::File::create(&path).map_err(io)?;
    std::io::Write::write_all(&mut file, format!("{what}\n").as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    crate::dir::sync_dir(data_dir)
        .map_err(|e| StoreError::io(format!("syncing {}", data_dir.display()))(e))
}

impl EventStore {
    /// Makes this store a follower of another log: from now on [`EventStore::append`] refuses
    /// with [`StoreError::Follower`], and only [`EventStore::replicate`] writes. For as long
    /// as the store is open; [`mark_follows`] makes it so for every later open.
    pub fn follow_only(&self) {
        self.inner.follower.store(true, Ordering::SeqCst);
    }

    /// Whether [`EventStore::follow_only`] was called.
    pub fn is_follower(&self) -> bool {
        self.inner.follower.load(Ordering::SeqCst)
    }

    /// Appends records committed in the log of record, in their order, reproducing each
    /// one's position, stream revision, recorded-at and chain hash; returns how many.
    ///
    /// `records` must start right after this store's head and be consecutive. Records of one
    /// stream in a row are written as one append (their positions are consecutive). A record
    /// that cannot be reproduced — a gap, a revision that does not follow, a hash the chain
    /// does not give — is refused with [`StoreError::ImportMismatch`] and nothing from it on
    /// is written; what was written before it stays and verifies.
    pub async fn replicate(&self, records: Vec<RecordedEvent>) -> Result<u64> {
        let Some(first) = records.first() else {
            return Ok(0);
        };
        let first_position = first.position;
        let mut expected_position = self.head().0 + 1;
        let mut gap = None;
        let mut runs: Vec<Vec<RecordedEvent>> = Vec::new();
        for record in records {
            if record.position.0 != expected_position {
                gap = Some(StoreError::ImportMismatch {
                    position: record.position,
                    reason: format!(
                        "the follower's next position is {expected_position}: records must be \
                         copied in order, without a gap"
                    ),
                });
                break;
            }
            expected_position += 1;
            let continues = runs.last().and_then(|r| r.last()).is_some_and(|last| {
                last.stream == record.stream && last.revision + 1 == record.revision
            });
            match runs.last_mut() {
                Some(run) if continues && run.len() < crate::APPEND_EVENTS_MAX => run.push(record),
                _ => runs.push(vec![record]),
            }
        }
        // Every run is handed to the writer before the first answer is awaited, so a page of
        // many streams is committed with one fdatasync, not one per stream.
        let mut answers = Vec::with_capacity(runs.len());
        for run in runs {
            let (stream, first_revision, events, preserved) = split_run(run)?;
            answers.push(
                self.send_preserved(stream, first_revision, events, preserved)
                    .await?,
            );
        }
        let mut first_error = None;
        for answer in answers {
            let answered = answer.await.map_err(|_| StoreError::Closed).and_then(|r| r);
            if let (Err(e), None) = (answered, &first_error) {
                first_error = Some(e);
            }
        }
        if let Some(e) = first_error.or(gap) {
            return Err(e);
        }
        let last_position = expected_position - 1;
        // An append whose event ids were all stored already writes nothing and still
        // succeeds; for a copy that means the two logs disagree about where those events are.
        if self.head().0 != last_position {
            return Err(StoreError::ImportMismatch {
                position: first_position,
                reason: format!(
                    "some of its event ids are already stored in the follower, whose head is \
                     {} (expected {last_position})",
                    self.head()
                ),
            });
        }
        Ok(last_position + 1 - first_position.0)
    }

    /// Waits until this store's head reaches `position`, at most `timeout`; whether it did.
    pub async fn wait_for_head(&self, position: Position, timeout: std::time::Duration) -> bool {
        let mut head = self.watch_head();
        let reached = tokio::time::timeout(timeout, head.wait_for(|h| *h >= position.0)).await;
        matches!(reached, Ok(Ok(_)))
    }
}

/// A run of consecutive records of one stream as one preserved append.
fn split_run(run: Vec<RecordedEvent>) -> Result<(StreamName, u64, Vec<NewEvent>, Vec<Preserved>)> {
    let Some(first) = run.first() else {
        return Err(StoreError::InvalidAppend {
            stream: "$all".into(),
            reason: "an empty run of records".into(),
        });
    };
    let stream = StreamName::parse(first.stream.clone())?;
    let first_revision = first.revision;
    let (events, preserved) = run
        .into_iter()
        .map(|r| {
            let kept = Preserved {
                position: r.position,
                recorded_at_ns: r.recorded_at.unix_timestamp_nanos(),
                hash: r.hash,
            };
            let event = NewEvent {
                event_id: r.event_id,
                event_type: r.event_type,
                schema_version: r.schema_version,
                metadata: r.metadata,
                payload: r.payload,
            };
            (event, kept)
        })
        .unzip();
    Ok((stream, first_revision, events, preserved))
}
