//! Batch assignment (客户批量分配) by rule, with a preview: `batchAssignmentPreview` plans "the
//! customers of branch X with neither manager nor team and assets above Y, dealt round-robin
//! to team Z's members, richest first" from the read models (the pure planner in
//! `crm_domain::assignment`) and shows who moves where with the plan's hash;
//! `runBatchAssignment` plans again, runs only if the plan is still the one named by its hash
//! (the caller approves what they saw), and sends one assignment per row. Who may do either is
//! who may assign the branch's customers (`crm_domain::auth`, `Action::AssignCustomer`); every
//! row is authorized and decided again by the command layer when it runs.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use crm_domain::assignment::{plan_round_robin, BatchRule, PlannedAssignment};
use crm_domain::auth::{authorize, Action, Actor, CustomerTarget};
use crm_domain::ids::{BranchId, CustomerId, TeamId};
use crm_domain::values::ShortText;
use crm_domain::Money;
use crm_projections::views;
use time::OffsetDateTime;
use uuid::Uuid;

use super::commands::{app, money as money_arg, text, uuid};
use super::customers::money;
use super::readside::{int, org_tree, reach, read_models, uuid_id};
use super::scalars::Long;
use super::{caller, store};
use crate::error::{gql, ApiError};

/// Which customers a batch takes and whom it deals them to.
#[derive(InputObject, Debug)]
pub struct BatchRuleInput {
    pub branch_id: ID,
    /// The team whose members the customers are dealt to, in turn.
    pub team_id: ID,
    /// Customers with latest assets strictly above this many yuan (e.g. "500000").
    pub assets_above: String,
}

/// One customer a batch moves.
#[derive(SimpleObject, Debug)]
pub struct PlannedAssignmentView {
    pub customer_id: ID,
    /// Latest end-of-day assets, yuan.
    pub assets: String,
    /// The manager and team before (null: none).
    pub from_manager_id: Option<ID>,
    pub from_team_id: Option<ID>,
    pub to_manager_id: Option<ID>,
    pub to_team_id: Option<ID>,
}

/// A batch as it would run now.
#[derive(SimpleObject, Debug)]
pub struct BatchAssignmentPlan {
    /// Richest first.
    pub rows: Vec<PlannedAssignmentView>,
    pub customers: i32,
    /// What `runBatchAssignment` names to run exactly this plan.
    pub plan_hash: String,
    /// The log position the plan was read at.
    pub position: Long,
}

/// A customer of the batch the command layer refused, and why.
#[derive(SimpleObject, Debug)]
pub struct BatchRefusal {
    pub customer_id: ID,
    /// The error's `extensions.code` (CONFLICT, FORBIDDEN, …).
    pub code: String,
    pub message: String,
}

/// What a batch did.
#[derive(SimpleObject, Debug)]
pub struct BatchAssignmentResult {
    pub batch_id: ID,
    pub plan_hash: String,
    /// Rows recorded by this request.
    pub assigned: i32,
    /// Rows this batch id had recorded already (a batch sent again).
    pub already_handled: i32,
    pub refused: Vec<BatchRefusal>,
    /// The log position after the batch: pass it to a query to read its effect.
    pub position: Long,
}

/// A plan read from the read models, with each planned customer's assets.
struct Planned {
    rows: Vec<PlannedAssignment>,
    assets: std::collections::HashMap<CustomerId, Money>,
    position: u64,
}

/// The rule, checked, and the plan from the read models as they are now (after the caller's
/// own writes), refused unless the caller may assign the branch's customers.
async fn plan(ctx: &Context<'_>, rule: &BatchRuleInput) -> Result<Planned, ApiError> {
    let actor: Actor = *caller(ctx)?;
    let branch = BranchId::from(uuid("rule.branchId", &rule.branch_id)?);
    let team = TeamId::from(uuid("rule.teamId", &rule.team_id)?);
    let assets_above = money_arg("rule.assetsAbove", &rule.assets_above)?;
    if assets_above.is_negative() {
        return Err(ApiError::validation(
            "rule.assetsAbove",
            "must not be negative",
        ));
    }
    let head = store(ctx)?.head().0;
    reach(ctx, Some(Long(head))).await?;
    let batch = BatchRule {
        branch,
        assets_above,
    };
    let (allowed, members, candidates) = read_models(ctx)?.read(|m, _| {
        let org = org_tree(&actor, m);
        let target = CustomerTarget {
            branch: Some(branch),
            manager: None,
            team: None,
        };
        let action = Action::AssignCustomer {
            customer: target,
            to_branch: branch,
        };
        let allowed = authorize(&actor, &action, &org);
        if allowed.is_err() {
            // Nothing about the branch is read for a caller who may not assign in it.
            return (allowed, None, Vec::new());
        }
        (
            allowed,
            views::team_members(m, branch, team),
            views::batch_candidates(m, branch),
        )
    });
    allowed?;
    let members = members.ok_or_else(|| {
        ApiError::validation(
            "rule.teamId",
            format!(
                "{} is not a team of branch {}",
                rule.team_id.as_str(),
                branch
            ),
        )
    })?;
    let rows = plan_round_robin(&candidates, &batch, team, &members)?;
    let assets = candidates
        .iter()
        .map(|c| (c.customer_id, c.assets))
        .collect();
    Ok(Planned {
        rows,
        assets,
        position: head,
    })
}

fn row(p: &PlannedAssignment, assets: Money) -> PlannedAssignmentView {
    PlannedAssignmentView {
        customer_id: uuid_id(p.customer_id),
        assets: money(assets),
        from_manager_id: p.from.and_then(|a| a.manager).map(uuid_id),
        from_team_id: p.from.and_then(|a| a.team).map(uuid_id),
        to_manager_id: p.to.manager.map(uuid_id),
        to_team_id: p.to.team.map(uuid_id),
    }
}

#[derive(Default, Debug)]
pub struct BatchAssignQuery;

#[Object]
impl BatchAssignQuery {
    /// Who a rule-based batch assignment would move where, now: the customers of the branch
    /// with neither manager nor team and assets above the threshold, richest first, dealt in
    /// turn to the team's members. Those who may assign the branch's customers (headquarters,
    /// the branch's or region's manager).
    async fn batch_assignment_preview(
        &self,
        ctx: &Context<'_>,
        rule: BatchRuleInput,
    ) -> async_graphql::Result<BatchAssignmentPlan> {
        async {
            let p = plan(ctx, &rule).await?;
            let assets = |id| p.assets.get(&id).copied().unwrap_or(Money::ZERO);
            Ok(BatchAssignmentPlan {
                rows: p
                    .rows
                    .iter()
                    .map(|r| row(r, assets(r.customer_id)))
                    .collect(),
                customers: int(p.rows.len()),
                plan_hash: views::plan_hash(&p.rows),
                position: Long(p.position),
            })
        }
        .await
        .map_err(gql)
    }
}

#[derive(Default, Debug)]
pub struct BatchAssignMutation;

#[Object]
impl BatchAssignMutation {
    /// Runs a rule-based batch assignment if it is still the plan named by `planHash` (from
    /// `batchAssignmentPreview`; otherwise CONFLICT: preview again). One assignment per row,
    /// each authorized and decided on its own: a refusal is listed and does not stop the
    /// others. Each row's command id follows from `batchId` and the customer, so no row is
    /// ever recorded twice; a batch sent again after it ran finds the plan changed (CONFLICT).
    async fn run_batch_assignment(
        &self,
        ctx: &Context<'_>,
        batch_id: Option<ID>,
        rule: BatchRuleInput,
        reason: String,
        plan_hash: String,
    ) -> async_graphql::Result<BatchAssignmentResult> {
        async {
            let actor: Actor = *caller(ctx)?;
            let reason = text("reason", &reason, ShortText::parse)?;
            let batch_id = match &batch_id {
                Some(id) => uuid("batchId", id)?,
                None => Uuid::now_v7(),
            };
            let plan = plan(ctx, &rule).await?.rows;
            let hash = views::plan_hash(&plan);
            if hash != plan_hash.trim() {
                return Err(ApiError::Conflict(format!(
                    "the plan is now {hash} ({} customers), not {}: preview it again",
                    plan.len(),
                    plan_hash.trim()
                )));
            }
            let results = app(ctx)?
                .assign_batch(actor, batch_id, &plan, reason, OffsetDateTime::now_utc())
                .await;
            let (mut assigned, mut already, mut refused) = (0, 0, Vec::new());
            for (p, r) in plan.iter().zip(results) {
                match r {
                    Ok(o) if o.already_handled => already += 1,
                    Ok(_) => assigned += 1,
                    Err(e) => {
                        let e = ApiError::from(e);
                        refused.push(BatchRefusal {
                            customer_id: uuid_id(p.customer_id),
                            code: e.code().as_str().to_string(),
                            message: e.to_string(),
                        });
                    }
                }
            }
            Ok(BatchAssignmentResult {
                batch_id: uuid_id(batch_id),
                plan_hash: hash,
                assigned: int(assigned),
                already_handled: int(already),
                refused,
                position: Long(store(ctx)?.head().0),
            })
        }
        .await
        .map_err(gql)
    }
}
