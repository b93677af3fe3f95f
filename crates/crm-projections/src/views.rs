//! Queries over a [`Model`]: pure functions that return plain data for the API — the customer
//! archive (360), customer lists and segments, staff performance and leaderboards, branch
//! dashboards and rankings, campaign, channel and service-quality views, to-do lists, and the
//! lookups the command layer needs (identity, a customer's branch/manager, the org tree).
//!
//! Anything that depends on "now" (windows, dormancy, reminders) takes the evaluation instant
//! as a parameter; `None` means the log's own latest business date, never the wall clock.

pub use crate::model::{events_applied, today};
pub use crate::read_models::all::*;
