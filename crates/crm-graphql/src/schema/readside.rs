//! What every read-model resolver shares: the [`Projections`] handle in the schema data,
//! read-your-writes waits, the org tree for scoping, id parsing and the enums of derived
//! values.
//!
//! Scoping is decided by the domain's read policy (`crm_domain::read_policy`, which asks the
//! same `authorize` the command side uses) on the record being read: the helpers here turn a
//! record into the policy's input; region managers get the org tree from the read model.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Context, Enum, SimpleObject, ID};
use crm_domain::auth::{Actor, CustomerTarget, OrgTree, Right};
use crm_domain::ids::BranchId;
use crm_domain::read_policy;
use crm_domain::DomainError;
use crm_projections::model::{CustomerRecord, Model};
use crm_projections::views::{self, BranchDashboard, BranchPeriod, CustomerCursor};
use crm_projections::{ProjectionError, Projections, RuleBook};

use super::scalars::Long;
use crate::error::ApiError;
use crate::ops::{ProjectionProbe, ProjectionProgress};

/// How long a query waits for the read models to reach `atPosition`.
pub(crate) const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

/// Entries a memo keeps at most; past that it starts over (a crude bound, but the working set
/// of dashboards and list orders is small: branches × periods, scopes × filters).
const MEMO_ENTRIES_MAX: usize = 4096;
/// Rows all memoised lists hold at most (about 50 bytes each).
const MEMO_LIST_ROWS_MAX: usize = 2_000_000;

/// Results computed from one state of the model, reused until the model changes. The state is
/// named by (events folded, rules hash): the fold is deterministic, so the same count of
/// folded events under the same rules is the same state, in whichever generation.
#[derive(Debug, Default)]
struct Memo {
    version: Option<(u64, String)>,
    dashboards: HashMap<(BranchId, BranchPeriod), Option<Arc<BranchDashboard>>>,
    lists: HashMap<String, Arc<Vec<(CustomerCursor, crm_domain::ids::CustomerId)>>>,
    list_rows: usize,
}

impl Memo {
    /// Empties the memo when the model has moved on since it was filled.
    fn at(&mut self, m: &Model, r: &RuleBook) -> &mut Memo {
        let current = self
            .version
            .as_ref()
            .is_some_and(|(events, hash)| *events == views::events_applied(m) && *hash == r.hash);
        if !current
            || self.dashboards.len() + self.lists.len() >= MEMO_ENTRIES_MAX
            || self.list_rows >= MEMO_LIST_ROWS_MAX
        {
            self.version = Some((views::events_applied(m), r.hash.clone()));
            self.dashboards.clear();
            self.lists.clear();
            self.list_rows = 0;
        }
        self
    }
}

/// The running read models, as resolvers and the readiness probe see them. `reads` counts the
/// times a resolver took the model's read lock, so tests can show a page costs a bounded
/// number of reads however many rows it has.
#[derive(Debug, Clone)]
pub struct ReadModels {
    projections: Projections,
    reads: Arc<AtomicU64>,
    memo: Arc<Mutex<Memo>>,
}

impl ReadModels {
    pub fn new(projections: Projections) -> ReadModels {
        ReadModels {
            projections,
            reads: Arc::new(AtomicU64::new(0)),
            memo: Arc::new(Mutex::new(Memo::default())),
        }
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        // Nothing panics while holding it; a poisoned memo still holds whole entries.
        self.memo.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A branch dashboard, computed once per state of the model (a dashboard ranks every
    /// branch and every manager, so it is the costliest read; 64 clients asking for the
    /// same branch share one computation).
    pub(crate) fn branch_dashboard(
        &self,
        m: &Model,
        r: &RuleBook,
        branch: BranchId,
        period: BranchPeriod,
    ) -> Option<Arc<BranchDashboard>> {
        if let Some(hit) = self.memo().at(m, r).dashboards.get(&(branch, period)) {
            return hit.clone();
        }
        let computed = views::branch_dashboard(m, r, branch, period).map(Arc::new);
        self.memo()
            .at(m, r)
            .dashboards
            .insert((branch, period), computed.clone());
        computed
    }

    /// The sorted hits of a list, computed once per state of the model and `key` (the
    /// filter, order and caller's scope that decided them).
    pub(crate) fn list_hits(
        &self,
        m: &Model,
        r: &RuleBook,
        key: String,
        compute: impl FnOnce() -> Vec<(CustomerCursor, crm_domain::ids::CustomerId)>,
    ) -> Arc<Vec<(CustomerCursor, crm_domain::ids::CustomerId)>> {
        if let Some(hit) = self.memo().at(m, r).lists.get(&key) {
            return hit.clone();
        }
        let computed = Arc::new(compute());
        let mut memo = self.memo();
        let memo = memo.at(m, r);
        memo.list_rows += computed.len();
        memo.lists.insert(key, computed.clone());
        computed
    }

    pub fn projections(&self) -> &Projections {
        &self.projections
    }

    /// Read-model reads taken by resolvers since start.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Runs `f` under one read of the current generation.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Model, &RuleBook) -> R) -> R {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.projections.with_model(f)
    }
}

impl ProjectionProbe for ReadModels {
    fn progress(&self) -> Vec<ProjectionProgress> {
        self.projections
            .positions()
            .into_iter()
            .map(|(name, position)| ProjectionProgress {
                name: name.into(),
                checkpoint: crm_eventstore::Position(position),
            })
            .collect()
    }

    fn model_reads(&self) -> Option<u64> {
        Some(self.reads())
    }
}

impl crate::auth::StaffDirectory for ReadModels {
    fn check(
        &self,
        actor: &Actor,
        issued_at: i64,
    ) -> Result<(), crm_domain::auth::StandingProblem> {
        self.read(|m, _| {
            crm_domain::auth::check_token(
                actor,
                issued_at,
                views::staff_token_standing(m, actor.staff_id).as_ref(),
                || views::directory_is_empty(m),
            )
        })
    }
}

/// Appends an entry to the caller's own access log (the command built for the instant it is
/// given) before anything is shown: if it cannot be recorded, nothing is.
pub(crate) async fn record_access(
    ctx: &Context<'_>,
    actor: &Actor,
    command: impl FnOnce(time::OffsetDateTime) -> crm_domain::access::Command,
) -> Result<crm_app::CommandOutcome, ApiError> {
    let app = ctx.data_opt::<crm_app::App>().ok_or_else(|| {
        ApiError::Internal("the schema was built without the command side".into())
    })?;
    let now = time::OffsetDateTime::now_utc();
    app.execute(crm_app::CommandEnvelope {
        command_id: uuid::Uuid::now_v7(),
        actor: *actor,
        correlation_id: None,
        causation_id: None,
        occurred_at: now,
        command: crm_app::AppCommand::Access {
            staff: actor.staff_id,
            command: command(now),
        },
    })
    .await
    .map_err(ApiError::from)
}

pub(crate) fn read_models<'a>(ctx: &Context<'a>) -> Result<&'a ReadModels, ApiError> {
    ctx.data_opt::<ReadModels>()
        .ok_or_else(|| ApiError::Internal("the schema was built without the read models".into()))
}

pub(crate) fn projection_error(e: ProjectionError) -> ApiError {
    match e {
        ProjectionError::Timeout { waited_ms, .. } => ApiError::Timeout { ms: waited_ms },
        ProjectionError::NotFound(what) => ApiError::NotFound(what),
        ProjectionError::Rules(reason) => ApiError::validation("rules", reason),
        e @ ProjectionError::JobsBusy { .. } => {
            ApiError::limit(crate::error::Limit::Jobs, e.to_string())
        }
        ProjectionError::Cancelled => ApiError::Conflict("cancelled".into()),
        e @ ProjectionError::NotActivated { .. } => ApiError::Conflict(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Waits until the read models have applied `at_position` (read your writes).
pub(crate) async fn reach(ctx: &Context<'_>, at_position: Option<Long>) -> Result<(), ApiError> {
    if let Some(Long(position)) = at_position {
        // A position a write returned is never beyond the head; waiting for one that is would
        // only hold the request until the timeout.
        if let Some(store) = ctx.data_opt::<crm_eventstore::EventStore>() {
            let head = store.head().0;
            if position > head {
                return Err(ApiError::validation(
                    "atPosition",
                    format!("{position} is beyond the log's head ({head})"),
                ));
            }
        }
        read_models(ctx)?
            .projections()
            .wait_for(position, READ_YOUR_WRITES_WAIT)
            .await
            .map_err(projection_error)?;
    }
    Ok(())
}

/// The part of the org tree an actor's decisions need (`read_policy::org_tree_needs`): which
/// region each branch belongs to, who leads which team.
pub(crate) fn org_tree(actor: &Actor, m: &Model) -> OrgTree {
    let needs = read_policy::org_tree_needs(actor);
    OrgTree {
        branch_regions: if needs.branch_regions {
            views::branches(m).map(|(id, b)| (id, b.region)).collect()
        } else {
            Default::default()
        },
        team_leads: if needs.team_leads {
            views::teams(m)
                .filter(|(_, t)| !t.dissolved)
                .filter_map(|(id, t)| t.lead.map(|lead| (id, lead)))
                .collect()
        } else {
            Default::default()
        },
    }
}

pub(crate) fn target(c: &CustomerRecord) -> CustomerTarget {
    c.assignment
        .map(|a| CustomerTarget {
            branch: Some(a.branch),
            manager: a.manager,
            team: a.team,
        })
        .unwrap_or_default()
}

pub(crate) fn may_read(actor: &Actor, c: &CustomerRecord, org: &OrgTree) -> bool {
    read_policy::may_read_customer(actor, &target(c), org)
}

pub(crate) fn forbidden(right: Right) -> ApiError {
    ApiError::from(DomainError::Forbidden {
        missing_right: right,
    })
}

/// Whether the caller may read a branch's figures (`read_policy::may_read_branch`).
pub(crate) fn may_read_branch(actor: &Actor, branch: BranchId, org: &OrgTree) -> bool {
    read_policy::may_read_branch(actor, branch, org)
}

/// Company-wide views (rankings, channel and campaign effectiveness) are for company readers
/// (`read_policy::is_company_reader`).
pub(crate) fn require_company_reader(actor: &Actor) -> Result<(), ApiError> {
    if read_policy::is_company_reader(actor) {
        Ok(())
    } else {
        Err(forbidden(Right::ReadCustomer))
    }
}

pub(crate) fn parse_uuid(field: &str, id: &ID) -> Result<uuid::Uuid, ApiError> {
    let raw = id.as_str().trim();
    let local = super::parse_global_id(raw)
        .map(|(_, l)| l)
        .unwrap_or_else(|| raw.to_string());
    uuid::Uuid::parse_str(&local)
        .map_err(|_| ApiError::validation(field, format!("'{raw}' is not an id")))
}

pub(crate) fn uuid_id(id: impl std::fmt::Display) -> ID {
    ID(id.to_string())
}

pub(crate) fn date_arg(field: &str, s: &str) -> Result<time::Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s.trim(), format)
        .map_err(|_| ApiError::validation(field, format!("'{s}' is not a date (YYYY-MM-DD)")))?;
    super::scalars::date_in_range(field, date)
}

/// Fixed-point hundredths as a number for clients.
pub(crate) fn centi(v: i64) -> f64 {
    v as f64 / 100.0
}

/// Counts and sizes into GraphQL's 32-bit Int without wrapping.
pub(crate) fn int(v: impl TryInto<i32>) -> i32 {
    v.try_into().unwrap_or(i32::MAX)
}

/// What a read-model answer reflects: the log position and the rules it was computed under.
#[derive(SimpleObject, Debug, Clone)]
pub struct Reflects {
    pub position: Long,
    pub rules_version: i32,
    pub rules_hash: String,
}

impl Reflects {
    pub(crate) fn of(models: &ReadModels) -> Reflects {
        let (version, hash) = models.projections().rules_version();
        Reflects {
            position: Long(models.projections().position()),
            rules_version: int(version),
            rules_hash: hash,
        }
    }
}

/// 客户等级.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_projections::Tier")]
pub enum Tier {
    Standard,
    Silver,
    Gold,
    Diamond,
}

/// 风险偏好 inferred from trading.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_projections::RiskPreference")]
pub enum RiskPreference {
    Conservative,
    Balanced,
    Aggressive,
    /// No trading in the trailing twelve months: nothing to infer a preference from.
    Unknown,
}

/// 流失风险.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_projections::ChurnRisk")]
pub enum ChurnRisk {
    Low,
    /// Dormant: no trade, contact or (with bank business) account activity for the rules'
    /// number of days.
    Medium,
    /// A large net outflow, or a bank customer's deposits falling, within the rules' window.
    High,
    Churned,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_jobs_are_a_jobs_limit_and_a_cancel_a_conflict() {
        let busy = projection_error(ProjectionError::JobsBusy { running: 1, max: 1 });
        assert_eq!(busy.code().as_str(), "LIMIT_EXCEEDED");
        let json = serde_json::to_value(busy.to_server_error()).unwrap_or_default();
        assert_eq!(json["extensions"]["limit"], "jobs");
        assert_eq!(
            projection_error(ProjectionError::Cancelled).code().as_str(),
            "CONFLICT"
        );
    }
}
