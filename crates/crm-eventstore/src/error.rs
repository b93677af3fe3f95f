//! The store's one error type. Every variant names what is wrong and where.

use uuid::Uuid;

use crate::codec::CodecError;
use crate::types::{CurrentRevision, ExpectedRevision, Position};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("wrong expected revision on stream '{stream}': expected {expected}, actual {actual}")]
    WrongExpectedRevision {
        stream: String,
        expected: ExpectedRevision,
        actual: CurrentRevision,
    },

    #[error("invalid stream name '{name}': {reason}")]
    InvalidStreamName { name: String, reason: String },

    #[error("invalid event {event_id}: {reason}")]
    InvalidEvent { event_id: Uuid, reason: String },

    #[error("invalid append to '{stream}': {reason}")]
    InvalidAppend { stream: String, reason: String },

    #[error("invalid read: {0}")]
    InvalidRead(String),

    #[error("event {event_id} is already stored at position {position} with different content")]
    EventIdConflict { event_id: Uuid, position: Position },

    #[error(
        "append to '{stream}' mixes events already stored (event {stored_event_id}) with new ones; \
         retry exactly the original batch"
    )]
    PartiallyStored {
        stream: String,
        stored_event_id: Uuid,
    },

    #[error("record at position {position} is corrupt: {reason}")]
    Corrupt { position: Position, reason: String },

    #[error("segment {segment} is corrupt at byte {offset}: {reason}")]
    CorruptSegment {
        segment: u32,
        offset: u64,
        reason: String,
    },

    #[error(
        "the durable mark {} is damaged: {reason}; remove the file to open the log without \
         it (recovery then cuts only an unfinished last write)",
        path.display()
    )]
    DurableMarkCorrupt {
        path: std::path::PathBuf,
        reason: String,
    },

    #[error(
        "the data directory {} is in use by {} (it holds {}); one store at a time may open \
         it: stop that one first",
        path.parent().unwrap_or(path).display(),
        crate::lock::holder_text(holder_pid),
        path.display()
    )]
    DataDirLocked {
        /// The lock file.
        path: std::path::PathBuf,
        holder_pid: Option<u32>,
    },

    /// An export cut short, or whose records disagree with its trailer.
    #[error("the export is not whole: {reason}")]
    InvalidExport { reason: String },

    #[error(
        "this store follows another log (the log of record) and takes no appends of its own: \
         append to '{stream}' through the log of record"
    )]
    Follower { stream: String },

    #[error(
        "the local copy of the log reached position {reached}, not {wanted}, within {waited_ms} \
         ms ({why})"
    )]
    FollowerBehind {
        wanted: Position,
        reached: Position,
        waited_ms: u64,
        why: String,
    },

    #[error("imported record at position {position} cannot be reproduced: {reason}")]
    ImportMismatch { position: Position, reason: String },

    #[error("upcasting {event_type} v{schema_version} at position {position} failed: {reason}")]
    Upcast {
        position: Position,
        event_type: String,
        schema_version: u16,
        reason: String,
    },

    #[error("codec: {0}")]
    Codec(#[from] CodecError),

    #[error("I/O on {context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },

    #[error("index (sled): {0}")]
    Index(String),

    /// The disk (or a quota) is full. Nothing of the refused append is in the log: what was
    /// written of it was cut off again, and the store keeps taking appends, which succeed
    /// once space is freed. Retrying later is safe; no reopen is needed.
    #[error(
        "no space left for {context}: {source}; nothing was written: retry once space is \
         freed"
    )]
    StorageFull {
        context: String,
        source: std::io::Error,
    },

    #[error(
        "the store stopped accepting writes after a failed write or sync ({0}); \
         reopen it to recover from the log"
    )]
    Poisoned(String),

    #[error("the store is closed")]
    Closed,

    /// A setting the store cannot open with; nothing was opened.
    #[error("store configuration: {0}")]
    InvalidConfig(String),

    /// A backend other than the segment store (PostgreSQL) failed: the connection, a
    /// statement, or data it returned that is not a valid record. Whether the operation took
    /// effect is unknown unless `context` says otherwise; an append may be retried with the
    /// same event ids (appends are idempotent).
    #[error("{context}: {source}")]
    Backend {
        context: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }

    /// The same, but a full disk or quota becomes [`StoreError::StorageFull`]: for the steps of
    /// an append that the writer undoes when they fail (writing, reserving space, creating a
    /// segment), never for a sync.
    pub(crate) fn io_or_full(
        context: impl Into<String>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| {
            if is_storage_full(&source) {
                StoreError::StorageFull { context, source }
            } else {
                StoreError::Io { context, source }
            }
        }
    }

    /// An I/O error caused by a full disk or quota as [`StoreError::StorageFull`]; anything
    /// else unchanged.
    pub(crate) fn full_if_no_space(self) -> StoreError {
        match self {
            StoreError::Io { context, source } if is_storage_full(&source) => {
                StoreError::StorageFull { context, source }
            }
            other => other,
        }
    }

    /// True for [`StoreError::StorageFull`]: the operation did not happen and may be retried
    /// once space is freed.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, StoreError::StorageFull { .. })
    }

    /// The same with the context built only on failure: for calls made per record, where
    /// formatting the context every time cost more than the call.
    pub(crate) fn io_lazy(
        context: impl FnOnce() -> String,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        move |source| StoreError::Io {
            context: context(),
            source,
        }
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        // Not StorageFull even for ENOSPC: sled 0.34 keeps failing after a failed write of
        // its own until it is reopened, so freeing space alone does not bring it back.
        StoreError::Index(e.to_string())
    }
}

/// ENOSPC or EDQUOT.
pub(crate) fn is_storage_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
