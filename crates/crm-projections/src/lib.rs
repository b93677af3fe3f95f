//! The read side: every read model is a fold of the event log, checkpointed in sled and
//! rebuildable from scratch under a rule set.
//!
//! Boundary: reads the log through `crm-eventstore` and events through `crm-domain`; knows
//! nothing of commands, HTTP or GraphQL.

pub mod codec;
pub mod customers;
pub mod engine;
mod error;

pub use customers::{CustomerFilter, CustomerSummary, Customers, CustomersProjection};
pub use engine::{Projected, Projection, ProjectionStatus};
pub use error::ProjectionError;
