//! The command layer's one error type: the domain refused, or the outcome could not be
//! recorded.

use crm_codec::DecodeError;
use crm_domain::DomainError;
use crm_eventstore::codec::CodecError;
use crm_eventstore::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The domain refused the command (validation, forbidden, not found, conflict, rule
    /// violation, already merged, …). Nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),

    /// Other writers kept changing the stream; the command was retried this many times.
    #[error(
        "stream '{stream}' kept changing under the command; gave up after {attempts} attempts"
    )]
    Contention { stream: String, attempts: u32 },

    /// The same command id was used before for a different command.
    #[error("command id {command_id} was already used for a command on '{stream}'")]
    CommandIdReused {
        command_id: uuid::Uuid,
        stream: String,
    },

    #[error(transparent)]
    Store(#[from] StoreError),

    /// A command of a batch could not run to the end (its task panicked or was cancelled).
    #[error("a batched command did not finish: {0}")]
    Task(String),

    #[error("a stored event could not be read: {0}")]
    Decode(#[from] DecodeError),

    #[error("an event could not be encoded: {0}")]
    Codec(#[from] CodecError),
}
