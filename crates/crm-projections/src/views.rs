//! Queries over a [`Model`]: pure functions that return plain data for the API — the customer
//! archive (360), customer lists and segments, staff performance and leaderboards, branch
//! dashboards and rankings, campaign, channel and service-quality views, to-do lists, and the
//! lookups the command layer needs (identity, a customer's branch/manager, the org tree).
//!
//! Anything that depends on "now" (windows, dormancy, reminders) takes the evaluation instant
//! as a parameter; `None` means the log's own latest business date, never the wall clock.

pub use crate::model::today;
pub use crate::read_models::accounts::*;
pub use crate::read_models::archive::*;
pub use crate::read_models::channels::*;
pub use crate::read_models::content::*;
pub use crate::read_models::dashboards::*;
pub use crate::read_models::explain::*;
pub use crate::read_models::org::*;
pub use crate::read_models::performance::*;
pub use crate::read_models::rule_versions::*;
pub use crate::read_models::sales::*;
pub use crate::read_models::segments::*;
pub use crate::read_models::service::*;
pub use crate::read_models::todos::*;
