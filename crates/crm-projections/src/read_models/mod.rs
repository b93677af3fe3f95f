//! One module per read model, each holding its state, its part of the fold and its queries.
//! The fold itself (one pass over the log, each event decoded once) is [`crate::model::apply`];
//! it hands each event to the modules here.

pub mod accounts;
pub mod appraisal;
pub mod archive;
pub mod assignment;
pub mod bank_dashboards;
pub mod bank_kpi;
pub mod banking;
pub mod campaign_roi;
pub mod care;
pub mod channels;
pub mod churn_figures;
pub mod churn_kpi;
pub mod content;
pub mod dashboards;
pub mod explain;
pub mod follow_ups;
pub mod history;
pub mod lookup;
pub mod name_match;
pub mod org;
pub mod org_dashboards;
pub mod performance;
pub mod rule_versions;
pub mod sales;
pub mod saved_segments;
pub mod segments;
pub mod service;
pub mod service_plan;
pub mod ticket_figures;
pub mod todo_index;
pub mod todos;

/// Every read model's public items in one place, for [`crate::model`] (state) and
/// [`crate::views`] (queries) to re-export.
pub mod all {
    pub use super::accounts::*;
    pub use super::archive::*;
    pub use super::assignment::*;
    pub use super::bank_dashboards::*;
    pub use super::bank_kpi::*;
    pub use super::banking::*;
    pub use super::campaign_roi::*;
    pub use super::care::*;
    pub use super::channels::*;
    pub use super::churn_figures::{churn_figures_agree, churn_figures_are_fresh, ChurnFigures};
    pub use super::churn_kpi::*;
    pub use super::content::*;
    pub use super::dashboards::*;
    pub use super::explain::*;
    pub use super::follow_ups::*;
    pub use super::history::{History, HistoryEntry, HistoryKind, Keep};
    pub use super::lookup::LookupValue;
    pub use super::org::*;
    pub use super::org_dashboards::*;
    pub use super::performance::*;
    pub use super::rule_versions::*;
    pub use super::sales::*;
    pub use super::saved_segments::*;
    pub use super::segments::*;
    pub use super::service::*;
    pub use super::service_plan::*;
    pub use super::ticket_figures::{ticket_figures_are_fresh, TicketFigures};
    pub use super::todo_index::{todo_index, todo_index_is_fresh, TodoIndex};
    pub use super::todos::*;
}
