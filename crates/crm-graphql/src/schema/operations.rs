//! For operators: the rules in force and every version the log records, projection status,
//! and the rebuild cycle — preview a rule set (dry run into a shadow generation), rebuild,
//! switch, roll back.
//!
//! Four eyes: a shadow generation switches in only under the rules the log has activated,
//! and activation needs a second operator's approval (the `approveRules` mutation), so no
//! single operator can change what customers' tiers are.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use crm_domain::auth::{authorize, reads_customer_data, Action, Actor, OrgTree, Right};
use crm_projections::dryrun::{DryRunReport, TierMove};
use crm_projections::{GenerationRole, JobOutcome, JobState, ReadModelsStatus, RuleBook};

use super::caller;
use super::customers::label;
use super::jobs::{finished, start_preview};
use super::readside::{
    centi, forbidden, int, projection_error, reach, read_models, uuid_id, Reflects,
};
use super::scalars::Long;
use crate::error::{gql, ApiError};

/// Customers listed per kind of change in a preview, at most.
pub(crate) const PREVIEW_LIST_MAX: usize = 1000;

pub(crate) fn require(actor: &Actor, action: Action) -> Result<(), ApiError> {
    authorize(actor, &action, &OrgTree::default()).map_err(ApiError::from)
}

/// Operators, HQ and auditors may read rules and projection status
/// (`read_policy::may_oversee_operations`).
fn require_oversight(actor: &Actor) -> Result<(), ApiError> {
    if crm_domain::read_policy::may_oversee_operations(actor) {
        Ok(())
    } else {
        Err(forbidden(Right::RunRebuild))
    }
}

/// A read-model generation's progress, for operators.
#[derive(SimpleObject, Debug)]
pub struct ProjectionState {
    pub name: String,
    pub generation: Long,
    /// CURRENT, PREVIOUS or SHADOW.
    pub role: String,
    pub position: Long,
    pub head: Long,
    pub lag_events: Long,
    /// How long the oldest unapplied event has waited, ms.
    pub lag_ms: Long,
    pub events_per_sec: f64,
    pub flushed: Long,
    pub rules_version: i32,
    pub rules_hash: String,
    pub following: bool,
    /// The error the generation stopped on, and where.
    pub last_error: Option<String>,
    pub last_error_position: Option<Long>,
}

impl From<&ReadModelsStatus> for ProjectionState {
    fn from(s: &ReadModelsStatus) -> Self {
        ProjectionState {
            name: s.name.clone(),
            generation: Long(s.generation),
            role: label(s.role),
            position: Long(s.position),
            head: Long(s.head),
            lag_events: Long(s.lag_events),
            lag_ms: Long(s.lag_ms),
            events_per_sec: s.events_per_sec,
            flushed: Long(s.flushed),
            rules_version: int(s.rules_version),
            rules_hash: s.rules_hash.clone(),
            following: s.following,
            last_error: s.last_error.as_ref().map(|e| e.reason.clone()),
            last_error_position: s.last_error.as_ref().map(|e| Long(e.position)),
        }
    }
}

/// A rules version as the log records it.
#[derive(SimpleObject, Debug)]
pub struct RuleVersionView {
    /// The rule set the version belongs to: the `ruleSetId` that `approveRules`,
    /// `activateRules` and `rejectRules` take for this version.
    pub rule_set_id: ID,
    pub version: i32,
    pub content_hash: String,
    /// PROPOSED, APPROVED, REJECTED, ACTIVE or SUPERSEDED.
    pub status: String,
    pub proposed_by: ID,
    pub approved_by: Option<ID>,
    pub proposed_position: Long,
    pub activated_position: Option<Long>,
    /// The rules file (TOML).
    pub content: String,
}

/// The rules the read models are computed under, and what the log says about rules.
#[derive(SimpleObject, Debug)]
pub struct RulesState {
    /// The version the current generation was built under.
    pub version: i32,
    pub hash: String,
    /// The version the log has activated when the current generation does not use it yet
    /// (a rebuild is due).
    pub pending_version: Option<i32>,
    pub versions: Vec<RuleVersionView>,
}

#[derive(SimpleObject, Debug)]
pub struct TierMoveView {
    pub from: super::readside::Tier,
    pub to: super::readside::Tier,
    pub count: i32,
}

fn tier_moves(moves: &[TierMove]) -> Vec<TierMoveView> {
    moves
        .iter()
        .map(|m| TierMoveView {
            from: m.from.into(),
            to: m.to.into(),
            count: int(m.count),
        })
        .collect()
}

/// Tier moves within one branch or one customer manager's book.
#[derive(SimpleObject, Debug)]
pub struct GroupTierMovesView {
    /// The branch or manager; absent for unassigned customers.
    pub group_id: Option<ID>,
    pub moves: Vec<TierMoveView>,
}

#[derive(SimpleObject, Debug)]
pub struct CustomerTierChangeView {
    pub customer_id: ID,
    pub name: String,
    pub branch_id: Option<ID>,
    pub manager_id: Option<ID>,
    pub from: super::readside::Tier,
    pub to: super::readside::Tier,
    pub score_from: f64,
    pub score_to: f64,
}

#[derive(SimpleObject, Debug)]
pub struct RankMoveView {
    pub staff_id: ID,
    pub name: String,
    pub rank_from: i32,
    pub rank_to: i32,
    pub composite_from: f64,
    pub composite_to: f64,
}

#[derive(SimpleObject, Debug)]
pub struct ChurnMoveView {
    pub from: super::readside::ChurnRisk,
    pub to: super::readside::ChurnRisk,
    pub count: i32,
}

#[derive(SimpleObject, Debug)]
pub struct ChurnChangeView {
    pub customer_id: ID,
    pub from: super::readside::ChurnRisk,
    pub to: super::readside::ChurnRisk,
    pub reason: String,
}

#[derive(SimpleObject, Debug)]
pub struct RiskPreferenceMoveView {
    pub from: super::readside::RiskPreference,
    pub to: super::readside::RiskPreference,
    pub count: i32,
}

/// What a rule change does, computed before anything switches.
#[derive(SimpleObject, Debug)]
pub struct RulesPreview {
    pub from_rules_version: i32,
    pub from_rules_hash: String,
    pub to_rules_version: i32,
    pub to_rules_hash: String,
    /// The log position both generations had applied.
    pub position: Long,
    pub as_of: Option<String>,
    pub customers_compared: i32,
    pub tier_moves: Vec<TierMoveView>,
    pub tier_moves_by_branch: Vec<GroupTierMovesView>,
    pub tier_moves_by_manager: Vec<GroupTierMovesView>,
    pub customers_changing_tier: i32,
    /// The first customers whose tier changes, in id order — only to a role that reads
    /// customer data: empty for operators, who run previews (issue #13, item 8). The counts
    /// are in `tierMoves`, `tierMovesByBranch`, `tierMovesByManager`, `customersChangingTier`.
    #[graphql(
        deprecation = "names customers: empty for operators; use tierMoves, tierMovesByBranch and customersChangingTier"
    )]
    pub tier_changes: Vec<CustomerTierChangeView>,
    pub ranking_moves: Vec<RankMoveView>,
    pub churn_flag_changes: i32,
    pub churn_moves: Vec<ChurnMoveView>,
    /// The first customers whose churn risk changes — empty for operators, like `tierChanges`.
    #[graphql(
        deprecation = "names customers: empty for operators; use churnMoves and churnFlagChanges"
    )]
    pub churn_changes: Vec<ChurnChangeView>,
    pub risk_preference_moves: Vec<RiskPreferenceMoveView>,
}

impl RulesPreview {
    /// The report as `actor` may be shown it: customers are named (ids, names, scores) only to
    /// a role that reads customer data (`auth::reads_customer_data`); an operator gets the
    /// counts — per tier move, per branch, per manager — and the staff ranking moves.
    pub(crate) fn shown_to(r: &DryRunReport, actor: &Actor) -> RulesPreview {
        let mut preview = RulesPreview::from(r);
        if !reads_customer_data(actor) {
            preview.tier_changes.clear();
            preview.churn_changes.clear();
        }
        preview
    }
}

impl From<&DryRunReport> for RulesPreview {
    fn from(r: &DryRunReport) -> Self {
        RulesPreview {
            from_rules_version: int(r.from_rules_version),
            from_rules_hash: r.from_rules_hash.clone(),
            to_rules_version: int(r.to_rules_version),
            to_rules_hash: r.to_rules_hash.clone(),
            position: Long(r.position),
            as_of: r.as_of.map(|d| d.to_string()),
            customers_compared: int(r.customers_compared),
            tier_moves: tier_moves(&r.tier_moves),
            tier_moves_by_branch: r
                .tier_moves_by_branch
                .iter()
                .map(|g| GroupTierMovesView {
                    group_id: g.group.map(uuid_id),
                    moves: tier_moves(&g.moves),
                })
                .collect(),
            tier_moves_by_manager: r
                .tier_moves_by_manager
                .iter()
                .map(|g| GroupTierMovesView {
                    group_id: g.group.map(uuid_id),
                    moves: tier_moves(&g.moves),
                })
                .collect(),
            customers_changing_tier: int(r.customers_changing_tier),
            tier_changes: r
                .tier_changes
                .iter()
                .map(|c| CustomerTierChangeView {
                    customer_id: uuid_id(c.customer),
                    name: c.name.clone(),
                    branch_id: c.branch.map(uuid_id),
                    manager_id: c.manager.map(uuid_id),
                    from: c.from.into(),
                    to: c.to.into(),
                    score_from: centi(c.score_from_centi),
                    score_to: centi(c.score_to_centi),
                })
                .collect(),
            ranking_moves: r
                .ranking_moves
                .iter()
                .map(|m| RankMoveView {
                    staff_id: uuid_id(m.staff),
                    name: m.name.clone(),
                    rank_from: int(m.rank_from),
                    rank_to: int(m.rank_to),
                    composite_from: centi(m.composite_from_centi),
                    composite_to: centi(m.composite_to_centi),
                })
                .collect(),
            churn_flag_changes: int(r.churn_flag_changes),
            churn_moves: r
                .churn_moves
                .iter()
                .map(|(from, to, n)| ChurnMoveView {
                    from: (*from).into(),
                    to: (*to).into(),
                    count: int(*n),
                })
                .collect(),
            churn_changes: r
                .churn_changes
                .iter()
                .map(|c| ChurnChangeView {
                    customer_id: uuid_id(c.customer),
                    from: c.from.into(),
                    to: c.to.into(),
                    reason: c.reason.clone(),
                })
                .collect(),
            risk_preference_moves: r
                .risk_preference_moves
                .iter()
                .map(|(from, to, n)| RiskPreferenceMoveView {
                    from: (*from).into(),
                    to: (*to).into(),
                    count: int(*n),
                })
                .collect(),
        }
    }
}

/// Minimum contribution points of each tier.
#[derive(InputObject, Debug)]
pub struct TierThresholdsInput {
    pub diamond: i32,
    pub gold: i32,
    pub silver: i32,
}

/// The broker KPI weights (the seed's defaults: 20, 30, 30, 20).
#[derive(InputObject, Debug)]
pub struct KpiWeightsInput {
    pub new_customer_rate: i32,
    pub churn_rate: i32,
    pub upgrade_rate: i32,
    pub average_profitability: i32,
}

/// The rule set a preview asks for: a `version` proposed in the log, a draft `content`, or the
/// rules in force with other `tiers` and/or `kpiWeights` — exactly one of the three.
pub(crate) fn preview_rules_of(
    p: &crm_projections::Projections,
    version: Option<i32>,
    content: Option<String>,
    tiers: Option<&TierThresholdsInput>,
    kpi_weights: Option<&KpiWeightsInput>,
) -> Result<RuleBook, ApiError> {
    let variant_asked = tiers.is_some() || kpi_weights.is_some();
    match (version, content, variant_asked) {
        (Some(v), None, false) => {
            let v = u32::try_from(v)
                .map_err(|_| ApiError::validation("version", "must not be negative"))?;
            p.rules_for_version(v).map_err(projection_error)
        }
        (None, Some(c), false) => {
            RuleBook::parse(&c).map_err(|e| ApiError::validation("content", e.to_string()))
        }
        (None, None, true) => variant(&p.rules(), tiers, kpi_weights),
        _ => Err(ApiError::validation(
            "version",
            "give one of version, content, or tiers/kpiWeights",
        )),
    }
}

/// The rules in force with other tier thresholds and/or KPI weights, as a new version: the
/// question operators ask most ("what if gold started at 50?") without writing a whole file.
fn variant(
    current: &RuleBook,
    tiers: Option<&TierThresholdsInput>,
    kpi: Option<&KpiWeightsInput>,
) -> Result<RuleBook, ApiError> {
    let mut file: toml::Table = current
        .content
        .parse()
        .map_err(|e| ApiError::Internal(format!("the rules in force do not parse: {e}")))?;
    let points = |field: &str, v: i32| -> Result<toml::Value, ApiError> {
        if (0..=100).contains(&v) {
            Ok(toml::Value::Integer(i64::from(v)))
        } else {
            Err(ApiError::validation(field, "must be between 0 and 100"))
        }
    };
    let mut section = |name: &str, values: Vec<(&str, toml::Value)>| {
        let mut table = file
            .get(name)
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default();
        for (k, v) in values {
            table.insert(k.to_string(), v);
        }
        file.insert(name.to_string(), toml::Value::Table(table));
    };
    if let Some(t) = tiers {
        section(
            "tiers",
            vec![
                ("diamond", points("tiers.diamond", t.diamond)?),
                ("gold", points("tiers.gold", t.gold)?),
                ("silver", points("tiers.silver", t.silver)?),
            ],
        );
    }
    if let Some(k) = kpi {
        section(
            "kpi",
            vec![
                (
                    "new_customer_rate",
                    points("kpiWeights.newCustomerRate", k.new_customer_rate)?,
                ),
                ("churn_rate", points("kpiWeights.churnRate", k.churn_rate)?),
                (
                    "upgrade_rate",
                    points("kpiWeights.upgradeRate", k.upgrade_rate)?,
                ),
                (
                    "average_profitability",
                    points("kpiWeights.averageProfitability", k.average_profitability)?,
                ),
            ],
        );
    }
    file.insert(
        "version".into(),
        toml::Value::Integer(i64::from(current.version) + 1),
    );
    let content = toml::to_string(&file)
        .map_err(|e| ApiError::Internal(format!("writing the rules variant: {e}")))?;
    RuleBook::parse(&content).map_err(|e| ApiError::validation("tiers", e.to_string()))
}

/// The outcome of a switch, rebuild or rollback.
#[derive(SimpleObject, Debug)]
pub struct GenerationSwitch {
    /// The generation now serving.
    pub generation: Long,
    pub rules_version: i32,
    pub rules_hash: String,
    pub position: Long,
}

fn switched(ctx: &Context<'_>, generation: u64) -> Result<GenerationSwitch, ApiError> {
    let p = read_models(ctx)?.projections();
    let (version, hash) = p.rules_version();
    Ok(GenerationSwitch {
        generation: Long(generation),
        rules_version: int(version),
        rules_hash: hash,
        position: Long(p.position()),
    })
}

#[derive(Default, Debug)]
pub struct OperationsQuery;

#[Object]
impl OperationsQuery {
    /// The log position and rules version the read models answer at now; add it to any query
    /// to know what the answer reflects.
    async fn reflects(&self, ctx: &Context<'_>) -> async_graphql::Result<Reflects> {
        async {
            caller(ctx)?;
            Ok(Reflects::of(read_models(ctx)?))
        }
        .await
        .map_err(gql)
    }

    /// Each read-model generation (current, previous, shadow): position, lag, rate, rules,
    /// last error.
    async fn projection_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ProjectionState>> {
        async {
            require_oversight(caller(ctx)?)?;
            Ok(read_models(ctx)?
                .projections()
                .status()
                .iter()
                .map(ProjectionState::from)
                .collect())
        }
        .await
        .map_err(gql)
    }

    /// The rules in force and every version the log records. `atPosition` waits until the
    /// read models have applied that position (pass what a rules mutation returned).
    async fn rules(
        &self,
        ctx: &Context<'_>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<RulesState> {
        async {
            require_oversight(caller(ctx)?)?;
            reach(ctx, at_position).await?;
            let p = read_models(ctx)?.projections();
            let (version, hash) = p.rules_version();
            Ok(RulesState {
                version: int(version),
                hash,
                pending_version: p.rules_pending().map(int),
                versions: p
                    .rule_versions()
                    .into_iter()
                    .map(|v| RuleVersionView {
                        rule_set_id: uuid_id(v.rule_set_id),
                        version: int(v.version),
                        content_hash: v.content_hash,
                        status: v.status.to_uppercase(),
                        proposed_by: uuid_id(v.proposed_by),
                        approved_by: v.approved_by.map(uuid_id),
                        proposed_position: Long(v.proposed_position),
                        activated_position: v.activated_position.map(Long),
                        content: v.content,
                    })
                    .collect(),
            })
        }
        .await
        .map_err(gql)
    }
}

#[derive(Default, Debug)]
pub struct OperationsMutation;

#[Object]
impl OperationsMutation {
    /// Dry run, waiting for its result: the same job as `startRulesPreview` (it counts
    /// against the jobs bound and shows in `jobs`), with the request held until the fold ends.
    #[graphql(
        deprecation = "a fold holds the request for its whole length: use startRulesPreview, then job(id) or jobProgress(id)"
    )]
    async fn preview_rules(
        &self,
        ctx: &Context<'_>,
        version: Option<i32>,
        content: Option<String>,
        tiers: Option<TierThresholdsInput>,
        kpi_weights: Option<KpiWeightsInput>,
        limit: Option<i32>,
    ) -> async_graphql::Result<RulesPreview> {
        async {
            let actor = *caller(ctx)?;
            let job = start_preview(ctx, version, content, tiers, kpi_weights, limit).await?;
            let job = finished(read_models(ctx)?.projections(), job.id).await?;
            match (job.state, job.outcome) {
                (_, Some(JobOutcome::Preview(report))) => {
                    Ok(RulesPreview::shown_to(report.as_ref(), &actor))
                }
                (JobState::Failed(reason), _) => Err(ApiError::Internal(reason)),
                (state, _) => Err(ApiError::Conflict(format!("the preview ended {state:?}"))),
            }
        }
        .await
        .map_err(gql)
    }

    /// Makes the previewed shadow generation current in one atomic switch — only when it was
    /// built under the rules the log has activated (proposed, approved by a second operator,
    /// activated).
    async fn switch_read_models(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<GenerationSwitch> {
        async {
            require(caller(ctx)?, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections().clone();
            let shadow = p
                .status()
                .into_iter()
                .find(|s| s.role == GenerationRole::Shadow)
                .ok_or_else(|| ApiError::Conflict("no previewed generation to switch to".into()))?;
            p.check_activated(shadow.rules_version, &shadow.rules_hash)
                .map_err(projection_error)?;
            let generation = p.switch().await.map_err(projection_error)?;
            switched(ctx, generation)
        }
        .await
        .map_err(gql)
    }

    /// Rebuild, waiting for it: the same job as `startRebuild`, with the request held until
    /// the fold ends and the switch is made.
    #[graphql(
        deprecation = "a fold holds the request for its whole length: use startRebuild, then job(id) or jobProgress(id)"
    )]
    async fn rebuild_read_models(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<GenerationSwitch> {
        async {
            let actor = *caller(ctx)?;
            require(&actor, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections().clone();
            let job = p
                .start_rebuild(&actor.staff_id.to_string())
                .map_err(projection_error)?;
            let job = finished(&p, job.id).await?;
            match (job.state, job.outcome) {
                (_, Some(JobOutcome::Switched { generation })) => switched(ctx, generation),
                (JobState::Failed(reason), _) => Err(ApiError::Internal(reason)),
                (state, _) => Err(ApiError::Conflict(format!("the rebuild ended {state:?}"))),
            }
        }
        .await
        .map_err(gql)
    }

    /// Switches back to the generation before the last switch.
    async fn rollback_read_models(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<GenerationSwitch> {
        async {
            require(caller(ctx)?, Action::RunRebuild)?;
            let p = read_models(ctx)?.projections().clone();
            let generation = p.rollback().await.map_err(|e| match e {
                crm_projections::ProjectionError::Generation(reason) => ApiError::Conflict(reason),
                other => projection_error(other),
            })?;
            switched(ctx, generation)
        }
        .await
        .map_err(gql)
    }
}
