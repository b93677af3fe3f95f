//! The read side: every read model is a fold of the event log, checkpointed in sled and
//! rebuildable from scratch under a rule set.
//!
//! Boundary: reads the log through `crm-eventstore`, events through `crm-domain` and
//! `crm-codec`; knows nothing of commands, HTTP or GraphQL.
//!
//! # Map
//! - [`rules`]: the rules file (TOML, `schema/rules.md`): version, blake3 content hash,
//!   contribution formula, tiers, KPI weights, risk-preference, churn and reminder rules.
//! - [`model`]: the fold's core: [`model::Model`] (every read model's state at one position) and
//!   the pure fold [`model::apply`], with the branch/manager counters (`model::counters`).
//! - [`read_models`]: one module per read model, each with its state, its part of the fold and
//!   its queries: `archive` (customer 360), `accounts` (daily figures), `segments` (lists,
//!   segments, paging), `performance` (staff and KPI), `dashboards` (branches, ranking),
//!   `service` (tickets), `sales` (opportunities, campaigns), `channels` (contacts),
//!   `content` (articles), `org` (org tree, lookups), `rule_versions`, `todos`, `explain`.
//! - [`derive`]: contribution score, tier, risk preference and churn risk, each explainable.
//! - [`views`]: the query façade: every read model's queries under one path.
//! - [`dryrun`]: the difference two rule sets make.
//! - [`generation`]: one generation's engine: in memory, flushed with its checkpoint in one
//!   sled batch, following `$all` through a catch-up subscription.
//! - [`projections`]: the [`Projections`] handle the API and the app use.
//! - [`jobs`]: long operations (rules preview, rebuild) as jobs with progress, cancel, a bound
//!   on how many run at once, and results kept for a while.
//! - [`replay`]: the read models as of a past instant, from the log alone.
//! - [`reports`]: reports people take away (报表): a read model's list as CSV or XLSX, and
//!   when a scheduled one is due.
//!
//! # Public API (all on [`Projections`], `Clone + Send + Sync`)
//! ```text
//! Projections::start(&EventStore, RuleBook) -> Result<Projections>      // follows the log on tokio
//! Projections::open(&EventStore, RuleBook) -> Result<Projections>       // no follower: catch_up()/flush()
//! Projections::inspect(&EventStore, &RuleBook) -> Result<Inspection>    // read only: what open would load
//! catch_up() / flush() / shutdown().await
//! status() -> Vec<ProjectionStatus>          // per generation: position, lag (events, ms), events/s,
//!                                            // generation, rules version + hash, last error
//! positions() -> Vec<(&str, u64)>            // each read model's position
//! wait_for(position, timeout).await          // read your writes
//! rules_version() -> (u32, String); rules() -> Arc<RuleBook>; rules_pending() -> Option<u32>
//! rule_versions() -> Vec<RuleVersionRecord>; rules_for_version(u32) -> Result<RuleBook>
//! customer_360(CustomerId, Option<Date>) -> Option<Customer360>
//! customers(&SegmentFilter, cursor: Option<CustomerId>, limit) -> Page<CustomerRow>
//! customers_visible(&SegmentFilter, visible: Fn(&CustomerRecord) -> bool, cursor, limit)
//! segments(&SegmentFilter) -> SegmentCounts
//! staff_performance(StaffId, Period) -> Option<StaffPerformance>
//! leaderboard(LeaderboardScope, Period) -> Vec<StaffPerformance>
//! branch_dashboard(BranchId, BranchPeriod::Day(date) | Month{..}) -> Option<BranchDashboard>
//! branch_ranking(BranchPeriod) -> Vec<BranchRank>
//! campaign_effectiveness() / channel_effectiveness() / service_quality(Option<BranchId>, at)
//! todos(StaffId, now) -> Vec<Todo>
//! explain(ExplainSubject) -> Result<Option<(Explanation, Vec<u64> /* feeding positions */)>>
//! customer_by_document(identity_key) / customer_org(CustomerId) / org() -> OrgView
//! dry_run(RuleBook, limit, progress).await -> DryRunReport   // builds a shadow generation
//! switch().await / rebuild(RuleBook, progress).await / rebuild_to_active(progress).await
//! rollback().await / drop_previous().await / compare_with_previous(limit)
//! customer_as_of(CustomerId, instant) -> CustomerAsOf        // archive + timeline
//! staff_performance_as_of(..) / branch_dashboard_as_of(..) / model_as_of(instant, customer)
//! ```
//! "Now" is never read inside a fold: windows and dormancy use the log's latest business
//! date or a date the caller passes; reminders take the instant as a parameter.

pub mod checkpoints;
pub mod derive;
pub mod dryrun;
mod error;
pub mod generation;
pub mod jobs;
pub mod keyed;
pub mod model;
pub mod projections;
pub mod read_models;
pub mod replay;
pub mod reports;
pub mod rules;
pub mod views;
pub mod writes;

pub use derive::{ChurnRisk, RiskPreference, Tier};
pub use dryrun::DryRunReport;
pub use error::ProjectionError;
pub use generation::{
    ProjectionStatus as ReadModelsStatus, RebuildProgress, Refold, Role as GenerationRole,
    StoppedAt, StoredTree,
};
pub use jobs::{Job, JobKind, JobLimits, JobOutcome, JobState};
pub use projections::{CustomerAsOf, GenerationInspection, Inspection, Projections, READ_MODELS};
pub use rules::RuleBook;
pub use views::{
    BranchPeriod, ExplainSubject, Explanation, LeaderboardScope, Period, SegmentFilter,
};
