//! Command handling: the write side's IO shell around the pure domain.
//!
//! For each command: load the aggregate's stream and fold it (`evolve`), authorize the actor
//! for what the command does to that state, `decide`, and append the events at the revision
//! that was loaded. A concurrent writer makes the append fail cleanly; the command is then
//! decided again on the new state, a bounded number of times. Event ids are derived from the
//! command id, so a command sent twice writes once and answers twice with the same result; the
//! first event's id follows from the command id alone, so a command id reused for another
//! command on any stream is found and refused.
//!
//! Boundary: knows the domain, the store and the projections' codec; knows nothing of HTTP.

mod app;
mod bank;
mod batch;
mod campaigns;
mod command;
mod directory;
mod error;
mod load;
mod resend;
mod state_cache;

pub use app::{stream_of, App, RETRIES_MAX};
pub use batch::{item_command_id, BATCH_IN_FLIGHT_MAX};
pub use command::{AppCommand, CommandEnvelope, CommandOutcome, CommittedEvent};
pub use error::AppError;
pub use resend::{event_id, first_event_id, new_entity_id};
pub use state_cache::STATE_CACHE_STREAMS_DEFAULT;
