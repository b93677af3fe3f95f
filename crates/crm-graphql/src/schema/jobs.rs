//! Read-model jobs for operators: a rules preview or a rebuild folds the whole log, so it runs
//! as a job. The mutation that starts one returns at once; `job(id)` and the `jobProgress`
//! subscription follow its progress (events done of the target, events/s, ETA) to its result;
//! `cancelJob` stops it and leaves nothing behind. At most a configured number run at once;
//! one more is refused with LIMIT_EXCEEDED (`extensions.limit: "jobs"`).

use std::time::Duration;

use async_graphql::{Context, Enum, Object, Subscription, ID};
use crm_domain::auth::Action;
use crm_projections::{Job, JobKind, JobOutcome, JobState, Projections};
use futures_util::Stream;

use super::caller;
use super::operations::{
    preview_rules_of, require, KpiWeightsInput, RulesPreview, TierThresholdsInput, PREVIEW_LIST_MAX,
};
use super::readside::{int, parse_uuid, projection_error, read_models, uuid_id};
use super::scalars::{DateTime, Long};
use crate::error::{gql, ApiError};

/// Progress reports sent per subscription at most this often.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobKindView {
    RulesPreview,
    Rebuild,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobStateView {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// A read-model job.
#[derive(Debug, Clone)]
pub struct ReadModelJob(pub Job);

#[Object(name = "ReadModelJob")]
impl ReadModelJob {
    async fn id(&self) -> ID {
        uuid_id(self.0.id)
    }

    async fn kind(&self) -> JobKindView {
        match self.0.kind {
            JobKind::RulesPreview => JobKindView::RulesPreview,
            JobKind::Rebuild => JobKindView::Rebuild,
        }
    }

    async fn state(&self) -> JobStateView {
        match self.0.state {
            JobState::Running => JobStateView::Running,
            JobState::Succeeded => JobStateView::Succeeded,
            JobState::Failed(_) => JobStateView::Failed,
            JobState::Cancelled => JobStateView::Cancelled,
        }
    }

    /// Why a failed job failed.
    async fn error(&self) -> Option<&str> {
        match &self.0.state {
            JobState::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    /// The staff id of who started it.
    async fn started_by(&self) -> &str {
        &self.0.started_by
    }

    async fn started_at(&self) -> DateTime {
        DateTime(self.0.started_at)
    }

    async fn finished_at(&self) -> Option<DateTime> {
        self.0.finished_at.map(DateTime)
    }

    /// The rules the job folds under.
    async fn rules_version(&self) -> i32 {
        int(self.0.rules_version)
    }

    async fn rules_hash(&self) -> &str {
        &self.0.rules_hash
    }

    /// Log position the fold has reached; 0 before its first batch.
    async fn done(&self) -> Long {
        Long(self.0.progress.map_or(0, |p| p.done))
    }

    /// The position the fold is heading for (the log's head, moving with it).
    async fn target(&self) -> Long {
        Long(self.0.progress.map_or(0, |p| p.target))
    }

    async fn events_per_second(&self) -> f64 {
        self.0.progress.map_or(0.0, |p| p.events_per_sec)
    }

    /// Estimated seconds to go at the current rate.
    async fn eta_seconds(&self) -> f64 {
        self.0.progress.map_or(0.0, |p| p.eta_secs)
    }

    /// A rules preview's result, once it succeeded: counts, and customers named only to a role
    /// that reads customer data (never to operators).
    async fn preview(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RulesPreview>> {
        let actor = *caller(ctx).map_err(gql)?;
        Ok(match &self.0.outcome {
            Some(JobOutcome::Preview(report)) => {
                Some(RulesPreview::shown_to(report.as_ref(), &actor))
            }
            _ => None,
        })
    }

    /// The generation a rebuild switched to, once it succeeded.
    async fn generation(&self) -> Option<Long> {
        match &self.0.outcome {
            Some(JobOutcome::Switched { generation }) => Some(Long(*generation)),
            _ => None,
        }
    }
}

fn job_of(p: &Projections, id: &ID) -> Result<Job, ApiError> {
    let id = parse_uuid("id", id)?;
    p.job(id)
        .ok_or_else(|| ApiError::NotFound(format!("job {id} (unknown, or its result has expired)")))
}

/// Waits until the job `id` has ended; its last state.
pub(crate) async fn finished(p: &Projections, id: uuid::Uuid) -> Result<Job, ApiError> {
    let mut changes = p.job_changes();
    loop {
        match p.job(id) {
            Some(job) if job.is_finished() => return Ok(job),
            Some(_) => {}
            None => return Err(ApiError::NotFound(format!("job {id}"))),
        }
        if changes.changed().await.is_err() {
            return Err(ApiError::Internal("the job table was dropped".into()));
        }
    }
}

#[derive(Default, Debug)]
pub struct JobsQuery;

#[Object]
impl JobsQuery {
    /// A read-model job by id, while it runs and for the configured time after it ends.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ReadModelJob> {
        async {
            require(caller(ctx)?, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections();
            job_of(p, &id).map(ReadModelJob)
        }
        .await
        .map_err(gql)
    }

    /// Every read-model job kept, newest first.
    async fn jobs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReadModelJob>> {
        async {
            require(caller(ctx)?, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections();
            Ok(p.job_list().into_iter().map(ReadModelJob).collect())
        }
        .await
        .map_err(gql)
    }
}

#[derive(Default, Debug)]
pub struct JobsMutation;

#[Object]
impl JobsMutation {
    /// Starts a dry run as a job and returns it at once: folds the whole log under a rule set
    /// into a shadow generation and compares it with the current one (the job's `preview`).
    /// The rule set is a `version` proposed in the log, a draft `content` (a whole rules file,
    /// TOML), or the rules in force with other `tiers` and/or `kpiWeights`. Nothing switches;
    /// the shadow stays for `switchReadModels`.
    async fn start_rules_preview(
        &self,
        ctx: &Context<'_>,
        version: Option<i32>,
        content: Option<String>,
        tiers: Option<TierThresholdsInput>,
        kpi_weights: Option<KpiWeightsInput>,
        limit: Option<i32>,
    ) -> async_graphql::Result<ReadModelJob> {
        start_preview(ctx, version, content, tiers, kpi_weights, limit)
            .await
            .map(ReadModelJob)
            .map_err(gql)
    }

    /// Starts a rebuild of every read model under the rules the log has activated (or the
    /// configured ones) as a job; when it has caught up it switches atomically, and the old
    /// generation is kept for rollback.
    async fn start_rebuild(&self, ctx: &Context<'_>) -> async_graphql::Result<ReadModelJob> {
        async {
            let actor = *caller(ctx)?;
            require(&actor, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections().clone();
            p.start_rebuild(&actor.staff_id.to_string())
                .map(ReadModelJob)
                .map_err(projection_error)
        }
        .await
        .map_err(gql)
    }

    /// Stops a running job after its current batch; it ends CANCELLED and leaves no shadow
    /// generation behind. Cancelling a finished job changes nothing.
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ReadModelJob> {
        async {
            require(caller(ctx)?, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections();
            let id = parse_uuid("id", &id)?;
            p.cancel_job(id).map(ReadModelJob).map_err(projection_error)
        }
        .await
        .map_err(gql)
    }
}

/// Starts a rules preview job for the caller: the one path of `startRulesPreview` and the
/// deprecated `previewRules`.
pub(crate) async fn start_preview(
    ctx: &Context<'_>,
    version: Option<i32>,
    content: Option<String>,
    tiers: Option<TierThresholdsInput>,
    kpi_weights: Option<KpiWeightsInput>,
    limit: Option<i32>,
) -> Result<Job, ApiError> {
    let actor = *caller(ctx)?;
    require(&actor, Action::RunRebuild)?;
    let p = read_models(ctx)?.projections();
    let rules = preview_rules_of(p, version, content, tiers.as_ref(), kpi_weights.as_ref())?;
    let limit = preview_limit(limit)?;
    p.start_rules_preview(rules, limit, &actor.staff_id.to_string())
        .map_err(projection_error)
}

/// The most customers per list a preview may be asked for.
pub(crate) fn preview_limit(limit: Option<i32>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(50);
    usize::try_from(limit)
        .ok()
        .filter(|l| *l <= PREVIEW_LIST_MAX)
        .ok_or_else(|| {
            ApiError::validation("limit", format!("must be between 0 and {PREVIEW_LIST_MAX}"))
        })
}

#[derive(Default, Debug)]
pub struct JobsSubscription;

#[Subscription]
impl JobsSubscription {
    /// A job now, then at each progress report (at most four a second), ending with its last
    /// state once it has finished.
    async fn job_progress(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ReadModelJob>>> {
        let actor = *caller(ctx).map_err(gql)?;
        require(&actor, Action::RunRebuild).map_err(gql)?;
        let p = read_models(ctx).map_err(gql)?.projections().clone();
        // Refused before the stream starts, so an unknown id is an error, not an empty stream.
        let first = job_of(&p, &id).map_err(gql)?;
        let job_id = first.id;
        let changes = p.job_changes();
        let start = (p, changes, Some(first), false);
        Ok(futures_util::stream::unfold(
            start,
            move |(p, mut changes, pending, done)| async move {
                if done {
                    return None;
                }
                if let Some(job) = pending {
                    let finished = job.is_finished();
                    return Some((Ok(ReadModelJob(job)), (p, changes, None, finished)));
                }
                tokio::time::sleep(PROGRESS_INTERVAL).await;
                if changes.changed().await.is_err() {
                    return None;
                }
                match p.job(job_id) {
                    Some(job) => {
                        let finished = job.is_finished();
                        Some((Ok(ReadModelJob(job)), (p, changes, None, finished)))
                    }
                    None => Some((
                        Err(gql(ApiError::NotFound(format!("job {job_id}")))),
                        (p, changes, None, true),
                    )),
                }
            },
        ))
    }
}
