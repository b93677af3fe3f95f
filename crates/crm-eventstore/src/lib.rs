//! The event log of record: an append-only sequence of checksummed, hash-chained records in
//! segment files, indexed in sled, in the manner of EventStoreDB.
//!
//! Boundary: this crate knows bytes, streams and positions, never the domain. Payloads are
//! opaque; events are encoded by [`codec`] with a leading format byte. Everything in sled here
//! can be rebuilt from the segments; the segments are the only copy of the truth.
//!
//! - [`EventStore::append`]: to one stream, with an [`ExpectedRevision`], all or nothing,
//!   idempotent by event id, acknowledged after fdatasync (group commit by one writer thread).
//! - Reads: a stream, `$all`, a category, an event type; forwards or backwards; bounded.
//! - [`EventStore::subscribe`]: catch-up then live, no gap, no duplicate, bounded memory.
//! - [`EventStore::verify`]: checksums, the blake3 hash chain, ordering and index agreement.
//!
//! [`EventLog`] is what any backend offers (this segment store, and PostgreSQL in
//! `crm-eventstore-pg`); the cargo feature `conformance` adds the suite both run.
//! [`EventStore::replicate`] keeps a segment store as a node's local *follower* of a log of
//! record elsewhere, and [`Appender`] is where the command side appends (module `follow`).

mod backend;
pub mod codec;
mod compact;
#[cfg(feature = "conformance")]
pub mod conformance;
mod dir;
mod error;
mod export;
mod flusher;
mod follow;
mod ids;
mod index;
mod lock;
mod log;
mod mark;
mod postings;
mod recent;
mod recovery;
pub mod segment;
mod store;
mod subscription;
mod turn;
mod types;
mod upcast;
mod verify;
mod writer;

pub use backend::{
    check_read_limit, check_stored, content_digest, content_digest_of_recorded, record_hash,
    validate_append, EventLog, EventSubscription, StoredEvent,
};
pub use compact::{compact_index, dir_bytes, CompactReport};
pub use dir::{create_dir_durable, sync_dir};
pub use error::{Result, StoreError};
pub use export::{
    check_export, ExportReader, ExportTrailer, ExportWriter, ExportedRecord, EXPORT_FORMAT,
};
pub use follow::{follows, mark_follows, Appender, BoxFuture, Section, FOLLOWS_FILE};
pub use mark::DURABLE_MARK_FILE;
pub use recovery::{RecoveryReport, TornTail};
pub use store::{
    index_dir, log_dir, EventStore, StoreConfig, CACHE_BYTES_DEFAULT, CACHE_BYTES_MIN,
};
pub use subscription::Subscription;
pub use turn::{wait_for_turn, AppendOrder, Turn};
pub use types::*;
pub use upcast::{Upcaster, Upcasters};
pub use verify::{Finding, FindingKind, VerifyReport};
pub use writer::Durability;
