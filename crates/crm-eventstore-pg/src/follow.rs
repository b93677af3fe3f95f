//! A node of a PostgreSQL-backed deployment: the log of record in the database, a local
//! segment store that follows it ([`PgFollower`]), and appends that go to the database and
//! come back through the copy ([`PgAppender`]).
//!
//! Why a local copy instead of folding read models straight from the database: the read
//! side reads the log synchronously, in long sequential runs (a rebuild reads every event,
//! an as-of query a customer's stream, verify the whole chain), and the segment store serves
//! that from local files at a few hundred thousand events a second. Over a connection the
//! same reads would cost a round trip per page and hold database connections for minutes.
//! The copy costs disk (the log once more per node) and a few milliseconds of lag, and it
//! re-checks every record's chain hash on the way in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_eventstore::{
    AllStart, AppendResult, Appender, BoxFuture, Direction, EventLog, EventStore, ExpectedRevision,
    Filter, NewEvent, Position, Section, StoreError, StreamName,
};
use tokio::sync::{Notify, OwnedMutexGuard};
use tokio_postgres::Client;

use crate::read::backend;
use crate::store::PgEventStore;

/// Records copied per read of the database.
pub const COPY_PAGE: usize = 5_000;

/// How long an append waits for its events to arrive in the local copy, and
/// [`Appender::settle`] for the copy to reach the database's head.
pub const COPY_WAIT: Duration = Duration::from_secs(10);

/// Keeps a local segment store a copy of a PostgreSQL log. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgFollower {
    pg: PgEventStore,
    local: EventStore,
    /// Woken by this node's appends, so their copy does not wait for the notification.
    nudge: Arc<Notify>,
    /// Why copying stopped, once it has for good (a record that cannot be reproduced).
    stopped: Arc<Mutex<Option<String>>>,
    /// The connection whose transaction holds this node's [`Appender::enter`] section.
    section: Arc<tokio::sync::Mutex<Option<Client>>>,
    /// Whether the copy was checked against the database ([`PgFollower::catch_up`]).
    joined: Arc<AtomicBool>,
}

impl PgFollower {
    /// `local` becomes a follower ([`EventStore::follow_only`]): it refuses appends of its
    /// own from now on.
    pub fn new(pg: PgEventStore, local: EventStore) -> PgFollower {
        local.follow_only();
        PgFollower {
            pg,
            local,
            nudge: Arc::new(Notify::new()),
            stopped: Arc::new(Mutex::new(None)),
            section: Arc::new(tokio::sync::Mutex::new(None)),
            joined: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The log of record.
    pub fn log_of_record(&self) -> &PgEventStore {
        &self.pg
    }

    /// The local copy.
    pub fn local(&self) -> &EventStore {
        &self.local
    }

    /// Copies everything the database holds past the local head; returns how many records.
    /// A local copy that is *ahead* of the database (its database was replaced, or restored
    /// from an older backup) is refused: the node would serve events the log no longer has.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        // Once per follower: what the copy holds is the database's (later calls only extend
        // it, and each copied record's hash is checked on the way in).
        if !self.joined.load(Ordering::SeqCst) {
            self.check_joins().await?;
            self.joined.store(true, Ordering::SeqCst);
        }
        let mut copied = 0u64;
        loop {
            let from = self.local.head().0 + 1;
            let page = self
                .pg
                .read_filtered(
                    &Filter::All,
                    AllStart::Position(Position(from)),
                    Direction::Forwards,
                    COPY_PAGE,
                )
                .await?;
            if page.is_empty() {
                return Ok(copied);
            }
            copied += self.local.replicate(page).await?;
        }
    }

    /// The local copy's last record must be in the database, hash for hash: a copy that is
    /// ahead of the database, or that holds another log, does not follow this database.
    async fn check_joins(&self) -> Result<(), StoreError> {
        let last = self.local.head();
        if last.0 == 0 {
            return Ok(());
        }
        let mismatch = |reason: String| StoreError::ImportMismatch {
            position: last,
            reason: format!("{reason}: this data directory does not follow this database"),
        };
        let head = self.pg.head().await?;
        if head < last {
            return Err(mismatch(format!(
                "the local copy holds up to position {last}, the log of record only up to {head}"
            )));
        }
        let local = self.local.read_position(last)?;
        let theirs = self.pg.read_position(last).await?;
        if local.hash != theirs.hash {
            return Err(mismatch(
                "the local copy's record there differs from the log of record's".into(),
            ));
        }
        Ok(())
    }

    /// Copies in the background until the local store closes, woken by the database's
    /// notifications, by this node's appends, or every `poll`. A connection error is logged
    /// and retried; a record that cannot be reproduced stops the copy for good (see
    /// [`PgFollower::stopped`]): the node then serves what it has and its appends time out.
    pub fn spawn(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut head = me.pg.watch_head();
            let mut joined = false;
            loop {
                match me.catch_up().await {
                    Ok(_) => joined = true,
                    Err(StoreError::Closed) if me.local.is_closed() => return,
                    Err(e @ StoreError::ImportMismatch { .. }) => {
                        tracing::error!(error = %e, "the local copy of the log stopped");
                        *me.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, joined, "copying the log of record; retrying");
                        tokio::time::sleep(poll).await;
                        continue;
                    }
                }
                if me.local.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = head.changed() => {}
                    () = me.nudge.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
        })
    }

    /// How many events the copy lacks of the log of record's head as this node last heard
    /// of it (notifications and its own appends; no query).
    pub fn behind(&self) -> u64 {
        let theirs = *self.pg.watch_head().borrow();
        theirs.saturating_sub(self.local.head().0)
    }

    /// Why the copy stopped for good, if it has.
    pub fn stopped(&self) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Where this node's command side appends.
    pub fn appender(&self) -> PgAppender {
        PgAppender {
            follower: self.clone(),
        }
    }

    async fn wait_for_copy(&self, position: Position) -> Result<(), StoreError> {
        let behind = |waited: Duration, why: String| StoreError::FollowerBehind {
            wanted: position,
            reached: self.local.head(),
            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            why,
        };
        if self.local.head() >= position {
            return Ok(());
        }
        // A copy that stopped for good will not get there: say so at once.
        if let Some(why) = self.stopped() {
            return Err(behind(Duration::ZERO, why));
        }
        self.nudge.notify_one();
        if self.local.wait_for_head(position, COPY_WAIT).await {
            return Ok(());
        }
        let why = self.stopped().unwrap_or_else(|| "still copying".into());
        Err(behind(COPY_WAIT, why))
    }
}

/// Appends to the database, then waits for the local copy to hold them.
#[derive(Debug, Clone)]
pub struct PgAppender {
    follower: PgFollower,
}

impl Appender for PgAppender {
    fn append<'a>(
        &'a self,
        stream: &'a StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<AppendResult, StoreError>> {
        Box::pin(async move {
            let result = self.follower.pg.append(stream, expected, events).await?;
            // Committed in the log of record. Read-your-writes on this node needs the copy;
            // if it does not come, the write still stands, so the answer is still success.
            if let Err(e) = self.follower.wait_for_copy(result.last_position).await {
                tracing::warn!(error = %e, "an append is committed but not yet copied locally");
            }
            Ok(result)
        })
    }

    fn settle(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let head = self.follower.pg.head().await?;
            self.follower.wait_for_copy(head).await
        })
    }

    fn describe(&self) -> String {
        "PostgreSQL (copied locally)".into()
    }

    /// A transaction-scoped advisory lock (key [`section_key`]) on a connection of this
    /// node's own, held until the [`Section`] is dropped (which rolls the empty transaction
    /// back). A node that dies mid-section loses its connection, and the lock with it.
    fn enter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Section, StoreError>> {
        Box::pin(async move {
            let mut conn = self.follower.section.clone().lock_owned().await;
            if conn.as_ref().is_none_or(Client::is_closed) {
                *conn = Some(self.follower.pg.dedicated_client().await?);
            }
            let key = section_key(name);
            let locked = match conn.as_ref() {
                Some(client) => {
                    let begun = client
                        .batch_execute("BEGIN")
                        .await
                        .map_err(backend("starting a section"));
                    match begun {
                        Ok(()) => client
                            .execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                            .await
                            .map(|_| ())
                            .map_err(backend("waiting for a section")),
                        Err(e) => Err(e),
                    }
                }
                None => Err(StoreError::Closed),
            };
            // From here on the guard ends the transaction, whatever happens next.
            let guard = SectionGuard(Some(conn));
            locked?;
            // Everything committed before the section was entered, in the local copy.
            self.settle().await?;
            Ok(Section::held(Box::new(guard)))
        })
    }
}

/// The advisory lock key of a section: FNV-1a (64 bits) of its name, fixed so that nodes
/// of different builds agree, with the top bit cleared so that it never meets the append
/// lock's key.
pub fn section_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes((hash & !(1 << 63)).to_ne_bytes()) ^ 0x5ec7
}

/// Ends a section: rolls its transaction back (releasing the lock) before the node's next
/// section can begin on the same connection.
struct SectionGuard(Option<OwnedMutexGuard<Option<Client>>>);

impl Drop for SectionGuard {
    fn drop(&mut self) {
        let Some(mut conn) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let ended = match conn.as_ref() {
                        Some(client) => client.batch_execute("ROLLBACK").await.is_ok(),
                        None => true,
                    };
                    if !ended {
                        // A connection in an unknown state is closed, its lock with it.
                        *conn = None;
                    }
                });
            }
            // No runtime to end the transaction on: close the connection instead.
            Err(_) => *conn = None,
        }
    }
}
