//! The event log on PostgreSQL: [`PgEventStore`] implements `crm_eventstore::EventLog` with
//! the segment store's semantics, so that the log can live in a database its operators
//! already run and replicate. The segment store stays the default; both pass one conformance
//! suite (`crm_eventstore::conformance`).
//!
//! Boundary: this crate knows SQL, connections and the `events` table, never the domain;
//! the rules it shares with the segment store (the record hash of the chain, the content
//! digest of idempotent appends, validation, limits) are `crm_eventstore`'s functions, called
//! here, not copied.
//!
//! # The table
//!
//! One table, `events` (see [`schema::DDL`]): the global position (`bigint` primary key), the
//! stream, its category, the stream revision (unique per stream), the event id (unique), the
//! type, schema version, metadata, the payload (`bytea`), when it was recorded (exact
//! nanoseconds as two integers, and a `timestamptz` for people), the content digest and the
//! record's chain hash: blake3 over the previous record's hash and the record's body,
//! computed by `crm_eventstore::record_hash` exactly as the segment store computes it, so a
//! log moved between the backends keeps its hashes.
//!
//! # Gap-free positions in commit order
//!
//! Readers (subscriptions, read models) follow `$all` by position and must never see position
//! n+1 before n is visible, or they skip n for ever. A sequence does not give that: numbers
//! are taken in one order and committed in another, and rolled-back ones leave holes. So
//! appends are written by one writer task per store, which commits every append waiting
//! when it is free as one group (module `append`), in one transaction that first takes a
//! transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`, one fixed key for the whole log), then reads the last position
//! and hash and writes its records at the positions after it. The lock is released only after
//! the commit is visible (PostgreSQL ends the transaction in the proc array before it
//! releases its locks), so the next append, whose statements take a fresh snapshot after it
//! got the lock, sees it. (The transaction is read committed whatever the database's
//! default: under repeatable read its snapshot would predate the lock.) Positions are
//! therefore assigned in commit order, with no gap and no reuse, and each record's chain
//! hash follows the one committed before it; the primary key on `position` turns any breach
//! of this into a failed append, never a silent duplicate. The cost is that appends to the
//! whole log are serial (one commit at a time per database); reads never take the lock. The
//! alternative, a single writer process assigning positions, would need an election between
//! nodes; the lock needs nothing beyond the database.
//!
//! # Subscriptions
//!
//! An append sends `NOTIFY crm_events, '<last position>'` in its transaction (delivered on
//! commit). Each store keeps one connection that LISTENs and moves a head watch; a
//! subscription reads from the table (`position >= next`, in order) and, when it has read
//! everything, waits for the watch or a poll interval (in case a notification is lost with a
//! connection). Since positions become visible in order, reading from `next` neither skips
//! nor repeats: no gap, no duplicate, and a slow subscriber only reads further behind.
//!
//! # Nodes
//!
//! `crm serve --store postgres://…` keeps the log of record here and a local segment store
//! in its data directory as a copy ([`PgFollower`], module `follow`): the read side reads
//! the copy, the command side appends here ([`PgAppender`]). A log moves in either direction
//! with positions and hashes intact: [`PgEventStore::import_records`] in, a follower out.
//!
//! Not here: upcasting on read (the segment store's `Upcaster` hook) — a node's read side
//! reads its local copy, which upcasts.

mod append;
mod follow;
mod import;
mod read;
pub mod schema;
mod store;
mod subscription;
#[cfg(feature = "testing")]
pub mod testing;
mod verify;

pub use append::GROUP_APPENDS_MAX;
pub use follow::{section_key, PgAppender, PgFollower, COPY_PAGE, COPY_WAIT};
pub use store::{PgConfig, PgEventStore, NOTIFY_CHANNEL};
pub use subscription::PgSubscription;
