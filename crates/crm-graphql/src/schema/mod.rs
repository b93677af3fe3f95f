//! The GraphQL schema: root types merged from one object per area, and what every resolver
//! may rely on (the authenticated [`Caller`], the store, the settings).
//!
//! # Adding an area
//! Write `#[derive(Default)] pub struct CustomerQuery;` with `#[Object] impl CustomerQuery { … }`
//! in its own module, and add it to the tuple of [`QueryRoot`] (likewise [`SubscriptionRoot`]).
//! Mutations: add the area's object to the tuple of [`MutationRoot`]. Data an area needs (the app, the projections) goes in
//! through [`schema_builder`]`(…).data(x)` before `finish()`. Then run
//! `UPDATE_SCHEMA=1 cargo test -p crm-graphql` to rewrite `schema/schema.graphql`.
//!
//! # Scoping
//! Authorization is checked where data is read (in the resolver, against the caller's role and
//! scope with `crm_domain::auth::authorize`), never with field guards: a guard is attached to a
//! field, and a second path to the same data (an interface, `node`, a fragment on another type)
//! would bypass it.

mod accesslog;
mod appraisal;
mod atrisk;
mod backoffice;
mod bank_dashboards;
mod bank_value;
mod banking;
mod batch_assign;
mod campaigns;
mod commands;
mod customer_list;
mod customers;
mod directory;
mod eventlog;
mod explain;
mod groups;
mod history;
mod insight;
mod jobs;
mod live;
mod lookup;
mod operations;
mod org_dashboards;
mod performance;
mod readside;
mod scalars;
mod service;
mod system;
mod workflow;

use std::sync::Arc;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema, SchemaBuilder};
use crm_domain::auth::{authorize, Action, Actor, OrgTree};
use crm_eventstore::EventStore;
use tokio::sync::Semaphore;

pub use accesslog::AccessLogQuery;
pub use appraisal::{AppraisalMutation, AppraisalQuery};
pub use atrisk::AtRiskMutation;
pub use backoffice::BackOfficeMutation;
pub use bank_dashboards::BankDashboardQuery;
pub use batch_assign::{BatchAssignMutation, BatchAssignQuery};
pub use campaigns::{CampaignMutation, CampaignQuery};
pub use commands::CommandMutation;
pub use customer_list::CustomerQuery;
pub use directory::DirectoryQuery;
pub use eventlog::{EventLogQuery, EventLogSubscription};
pub use history::HistoryQuery;
pub use insight::InsightQuery;
pub use jobs::{JobsMutation, JobsQuery, JobsSubscription};
pub use live::LiveSubscription;
pub use lookup::LookupQuery;
pub use operations::{OperationsMutation, OperationsQuery};
pub use org_dashboards::OrgDashboardQuery;
pub use performance::PerformanceQuery;
pub use readside::ReadModels;
pub use scalars::{global_id, hex, parse_global_id, DateTime, Long};
pub use service::ServiceQuery;
pub use system::SystemQuery;
pub use workflow::WorkflowMutation;

use crate::config::Config;
use crate::error::ApiError;
use crate::prepare::PhaseExtension;

#[derive(MergedObject, Default, Debug)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    SystemQuery,
    EventLogQuery,
    HistoryQuery,
    CustomerQuery,
    LookupQuery,
    PerformanceQuery,
    BankDashboardQuery,
    InsightQuery,
    OperationsQuery,
    JobsQuery,
    AccessLogQuery,
    AppraisalQuery,
    DirectoryQuery,
    ServiceQuery,
    CampaignQuery,
    BatchAssignQuery,
    OrgDashboardQuery,
);

#[derive(MergedSubscription, Default, Debug)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(EventLogSubscription, LiveSubscription, JobsSubscription);

/// One mutation per command of the write side; they need a `crm_app::App` in the schema data.
#[derive(MergedObject, Default, Debug)]
pub struct MutationRoot(
    CommandMutation,
    WorkflowMutation,
    BackOfficeMutation,
    OperationsMutation,
    JobsMutation,
    AppraisalMutation,
    AtRiskMutation,
    CampaignMutation,
    BatchAssignMutation,
);

pub type CrmSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The authenticated actor of the current request; every request carries one.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Actor);

/// Settings resolvers need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub page_size_max: u32,
    /// Most customers a campaign's launch freezes (`Limits::campaign_targets_max`).
    pub campaign_targets_max: usize,
    /// One log verification at a time: each reads the whole log, and a few at once from
    /// impatient clients would starve everything else of disk.
    pub verify_gate: Arc<Semaphore>,
    /// Whole-log replays (as-of performance and dashboards) at once: each folds the log's
    /// prefix on a blocking thread, and an abandoned request's replay keeps its permit until
    /// the fold ends, so the bound holds for what really runs.
    pub replay_gate: Arc<Semaphore>,
}

impl Settings {
    /// A permit to run one whole-log replay, or LIMIT_EXCEEDED when the bound is reached.
    pub(crate) fn replay_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.replay_gate.clone().try_acquire_owned().map_err(|_| {
            ApiError::limit(
                crate::error::Limit::Replays,
                "as many as-of replays are running as the server allows; retry when one ends",
            )
        })
    }
}

/// Sets its flag when dropped: held by the request that started a whole-log replay, so when
/// the request ends early (its timeout, or the client gone) the replay stops between two
/// batches and its permit is given back, instead of folding on for nobody.
pub(crate) struct CancelOnDrop(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs a whole-log replay (`fold`, given the projections and its cancel flag) on a blocking
/// thread under the replay bound: a permit taken first (LIMIT_EXCEEDED past the bound), given
/// back when the fold has really stopped; the request holds a [`CancelOnDrop`], so a request
/// that ends early stops its fold.
pub(crate) async fn replay_as_of<T: Send + 'static>(
    ctx: &Context<'_>,
    fold: impl FnOnce(
            &crm_projections::Projections,
            &std::sync::atomic::AtomicBool,
        ) -> Result<T, crm_projections::ProjectionError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let p = readside::read_models(ctx)?.projections().clone();
    let permit = settings(ctx)?.replay_permit()?;
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _stop = CancelOnDrop(cancel.clone());
    tokio::task::spawn_blocking(move || {
        let found = fold(&p, &cancel);
        drop(permit);
        found
    })
    .await
    .map_err(|e| ApiError::Internal(format!("joining a replay: {e}")))?
    .map_err(readside::projection_error)
}

/// The caller, or UNAUTHENTICATED if a transport forgot to attach one.
pub fn caller<'a>(ctx: &Context<'a>) -> Result<&'a Actor, ApiError> {
    ctx.data_opt::<Caller>()
        .map(|c| &c.0)
        .ok_or_else(|| ApiError::Unauthenticated("no authenticated caller".into()))
}

/// Reading the log itself (every customer's history, unfiltered by scope) is for HQ, auditors
/// and operators: the roles the domain grants `ReadHistory`.
pub fn require_history(actor: &Actor) -> Result<(), ApiError> {
    authorize(actor, &Action::ReadHistory, &OrgTree::default()).map_err(ApiError::from)
}

pub(crate) fn store<'a>(ctx: &Context<'a>) -> Result<&'a EventStore, ApiError> {
    ctx.data_opt::<EventStore>()
        .ok_or_else(|| ApiError::Internal("the schema was built without a store".into()))
}

pub(crate) fn settings<'a>(ctx: &Context<'a>) -> Result<&'a Settings, ApiError> {
    ctx.data_opt::<Settings>()
        .ok_or_else(|| ApiError::Internal("the schema was built without settings".into()))
}

/// The schema with the configured limits and this crate's data, ready for other areas' data.
pub fn schema_builder(
    config: &Config,
    store: EventStore,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let limits = &config.limits;
    // Read the schema's shape for the selection cost now rather than on the first request.
    let _ = crate::prepare::SchemaShape::get();
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.depth_max)
    .limit_complexity(limits.complexity_max)
    .limit_recursive_depth(limits.recursive_depth_max)
    .limit_directives(limits.directives_per_field_max)
    .extension(PhaseExtension)
    .data(store)
    .data(Settings {
        page_size_max: limits.page_size_max,
        campaign_targets_max: limits.campaign_targets_max,
        verify_gate: Arc::new(Semaphore::new(1)),
        replay_gate: Arc::new(Semaphore::new(limits.replays_concurrent_max.max(1))),
    });
    if !config.introspection {
        builder = builder.disable_introspection();
    }
    if !config.suggestions {
        builder = builder.disable_suggestions();
    }
    builder
}

/// The SDL of the schema as the code defines it (what `schema/schema.graphql` must hold).
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}

/// The schema of this crate's areas alone, with the configured limits.
pub fn build_schema(config: &Config, store: EventStore) -> CrmSchema {
    schema_builder(config, store).finish()
}
