//! The read side's one error type.

use crm_eventstore::codec::CodecError;
use crm_eventstore::StoreError;

use crm_codec::DecodeError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("projection state could not be stored or loaded: {0}")]
    State(#[from] CodecError),
    #[error("projection storage (sled): {0}")]
    Sled(String),
    #[error("projection '{name}' stopped at position {position}: {reason}")]
    Stopped {
        name: &'static str,
        position: u64,
        reason: String,
    },
    #[error("rules: {0}")]
    Rules(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("generation: {0}")]
    Generation(String),
    #[error("writing a report: {0}")]
    Report(String),
    #[error(
        "rules version {version} ({hash}) are not the rules the log has activated (version \
         {active_version}, {active_hash}): propose, approve (a second operator) and activate \
         them first; only a dry run needs no approval"
    )]
    NotActivated {
        version: u32,
        hash: String,
        active_version: u32,
        active_hash: String,
    },
    #[error("cancelled")]
    Cancelled,
    #[error("{running} jobs are running, the most allowed at once ({max}); wait for one to finish or cancel one")]
    JobsBusy { running: usize, max: usize },
    #[error("timed out after {waited_ms} ms waiting for the projections to reach position {position} (they are at {reached})")]
    Timeout {
        position: u64,
        reached: u64,
        waited_ms: u128,
    },
}

impl From<sled::Error> for ProjectionError {
    fn from(e: sled::Error) -> Self {
        ProjectionError::Sled(e.to_string())
    }
}
