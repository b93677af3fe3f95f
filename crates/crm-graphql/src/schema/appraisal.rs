//! Sealed appraisal periods (考核期结算): `proposeAppraisalSeal`, `approveAppraisalSeal`,
//! `appraisalPeriod`, `appraisalPeriods`. A proposal derives the period's results and team
//! figures from the log up to its head under the rules in force there (a whole-log fold, under
//! the replay bound) and records them with that position and their hashes; a second
//! headquarters staff member approves exactly those by their hashes; a sealed period never
//! changes. `crm replay --period` derives a sealed period again from the log and compares.

use async_graphql::{Context, Object, SimpleObject, ID};
use crm_app::AppCommand;
use crm_domain::appraisal::{
    self, Adjustment, Adjustments, AppraisalPeriod, Derivation, SealedResult, SealedTeamResult,
    TeamFigures,
};
use crm_domain::auth::{authorize, Action, Actor, OrgTree};
use crm_domain::read_policy;
use crm_domain::{Aggregate, AnyEvent};
use crm_eventstore::{AllStart, Direction, Filter, StreamName, StreamStart};
use time::OffsetDateTime;

use super::commands::{run, CommandResult};
use super::customers::money;
use super::readside::{int, projection_error, read_models, uuid_id};
use super::scalars::{DateTime, Long};
use super::{caller, settings, store};
use crate::error::{gql, ApiError};

/// Periods listed at most (a decade of months and quarters).
const PERIODS_MAX: usize = 200;

/// Events read for the list, the newest: a sealed period holds six (the proposal, its
/// adjustments and team figures, and the same three sealed), more when it was proposed again.
const PERIOD_EVENTS_MAX: usize = PERIODS_MAX * 6;

fn period_arg(s: &str) -> Result<AppraisalPeriod, ApiError> {
    AppraisalPeriod::parse(s).map_err(|e| ApiError::validation("period", e.to_string()))
}

/// Who reads sealed results: headquarters and company auditors (they name everyone's pay;
/// `read_policy::may_read_sealed_appraisals`).
fn may_read(actor: &Actor) -> Result<(), ApiError> {
    if read_policy::may_read_sealed_appraisals(actor) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "sealed appraisal results are read by headquarters and company auditors".into(),
        ))
    }
}

/// One appraised person's sealed result.
#[derive(SimpleObject, Debug)]
pub struct SealedResultView {
    pub staff_id: ID,
    pub branch_id: Option<ID>,
    pub customers_at_start: i32,
    pub customers_served: i32,
    pub new_customers: i32,
    pub churned: i32,
    pub upgraded: i32,
    pub downgraded: i32,
    pub commission: String,
    /// Points of the new-customer, churn, upgrade and profitability terms.
    pub points: Vec<f64>,
    pub composite: f64,
    pub rank_in_company: i32,
}

impl From<&SealedResult> for SealedResultView {
    fn from(r: &SealedResult) -> Self {
        SealedResultView {
            staff_id: uuid_id(r.staff),
            branch_id: r.branch.map(uuid_id),
            customers_at_start: int(r.customers_at_start),
            customers_served: int(r.customers_served),
            new_customers: int(r.new_customers),
            churned: int(r.churned),
            upgraded: int(r.upgraded),
            downgraded: int(r.downgraded),
            commission: money(r.commission),
            points: r.points_centi.iter().map(|p| *p as f64 / 100.0).collect(),
            composite: r.composite_centi as f64 / 100.0,
            rank_in_company: int(r.rank_in_company),
        }
    }
}

/// One team's sealed figure (团队考核): the four measures over its members' books, scored with
/// the team lead's weights against the company's teams; a team lead's pay follows it.
#[derive(SimpleObject, Debug)]
pub struct SealedTeamResultView {
    pub team_id: ID,
    /// The team's name when derived.
    pub name: String,
    pub lead_id: Option<ID>,
    /// The staff whose books make the figure: its members and its lead.
    pub member_ids: Vec<ID>,
    pub customers_at_start: i32,
    pub customers_served: i32,
    pub new_customers: i32,
    pub churned: i32,
    pub upgraded: i32,
    pub downgraded: i32,
    pub commission: String,
    /// Points of the new-customer, churn, upgrade and profitability terms.
    pub points: Vec<f64>,
    pub composite: f64,
    /// Rank among the company's teams.
    pub rank: i32,
}

impl From<&SealedTeamResult> for SealedTeamResultView {
    fn from(t: &SealedTeamResult) -> Self {
        SealedTeamResultView {
            team_id: uuid_id(t.team),
            name: t.name.clone(),
            lead_id: t.lead.map(uuid_id),
            member_ids: t.members.iter().copied().map(uuid_id).collect(),
            customers_at_start: int(t.customers_at_start),
            customers_served: int(t.customers_served),
            new_customers: int(t.new_customers),
            churned: int(t.churned),
            upgraded: int(t.upgraded),
            downgraded: int(t.downgraded),
            commission: money(t.commission),
            points: t.points_centi.iter().map(|p| *p as f64 / 100.0).collect(),
            composite: t.composite_centi as f64 / 100.0,
            rank: int(t.rank),
        }
    }
}

/// A correction to one person's sealed result in an earlier period (考核调整): what facts
/// recorded since that period was sealed change in it, derived again under the rules it was
/// sealed with. Every figure is a difference: now less as settled so far.
#[derive(SimpleObject, Debug)]
pub struct AdjustmentView {
    /// The earlier sealed period corrected, `YYYY-MM` or `YYYY-Qn`.
    pub period: String,
    pub staff_id: ID,
    pub branch_id: Option<ID>,
    pub customers_at_start: i32,
    pub customers_served: i32,
    pub new_customers: i32,
    pub churned: i32,
    pub upgraded: i32,
    pub downgraded: i32,
    pub commission: String,
    /// Points of the new-customer, churn, upgrade and profitability terms.
    pub points: Vec<f64>,
    pub composite: f64,
}

impl From<&Adjustment> for AdjustmentView {
    fn from(a: &Adjustment) -> Self {
        AdjustmentView {
            period: a.period.to_string(),
            staff_id: uuid_id(a.staff),
            branch_id: a.branch.map(uuid_id),
            customers_at_start: int(a.customers_at_start),
            customers_served: int(a.customers_served),
            new_customers: int(a.new_customers),
            churned: int(a.churned),
            upgraded: int(a.upgraded),
            downgraded: int(a.downgraded),
            commission: money(a.commission),
            points: a.points_centi.iter().map(|p| *p as f64 / 100.0).collect(),
            composite: a.composite_centi as f64 / 100.0,
        }
    }
}

/// An appraisal period's seal: proposed (awaiting a second person) or sealed.
#[derive(SimpleObject, Debug)]
pub struct AppraisalPeriodView {
    /// `YYYY-MM` or `YYYY-Qn`.
    pub period: String,
    /// PROPOSED or SEALED.
    pub status: String,
    /// The log position the results were derived at.
    pub position: Long,
    pub rules_version: i32,
    pub rules_hash: String,
    /// What an approval names.
    pub results_hash: String,
    pub proposed_by: ID,
    pub approved_by: Option<ID>,
    /// When the latest proposal or the seal was recorded.
    pub recorded_at: DateTime,
    pub results: Vec<SealedResultView>,
    /// Corrections to earlier sealed periods proposed or sealed with this period, derived at
    /// the same position (empty when no fact about them arrived after their seal).
    pub adjustments: Vec<AdjustmentView>,
    /// What an approval names besides `resultsHash` when there are adjustments; null when none.
    pub adjustments_hash: Option<String>,
    /// The team figures proposed or sealed with the results, in rank order (empty when no
    /// team lead is appraised, or when the period was proposed before team figures were
    /// sealed).
    pub teams: Vec<SealedTeamResultView>,
    /// What an approval names besides `resultsHash` when there are team figures; null when
    /// none.
    pub teams_hash: Option<String>,
}

impl AppraisalPeriodView {
    fn of(
        period: AppraisalPeriod,
        d: &Derivation,
        proposed_by: crm_domain::ids::StaffId,
        approved_by: Option<crm_domain::ids::StaffId>,
        at: OffsetDateTime,
    ) -> Self {
        AppraisalPeriodView {
            period: period.to_string(),
            status: if approved_by.is_some() {
                "SEALED"
            } else {
                "PROPOSED"
            }
            .into(),
            position: Long(d.position),
            rules_version: int(d.rules_version),
            rules_hash: d.rules_hash.clone(),
            results_hash: d.results_hash.clone(),
            proposed_by: uuid_id(proposed_by),
            approved_by: approved_by.map(uuid_id),
            recorded_at: DateTime(at),
            results: d.results.iter().map(SealedResultView::from).collect(),
            adjustments: Vec::new(),
            adjustments_hash: None,
            teams: Vec::new(),
            teams_hash: None,
        }
    }

    fn with_teams(mut self, t: &TeamFigures) -> Self {
        self.teams = t.teams.iter().map(SealedTeamResultView::from).collect();
        self.teams_hash = (!t.teams.is_empty()).then(|| t.teams_hash.clone());
        self
    }

    fn with_adjustments(mut self, a: &Adjustments) -> Self {
        self.adjustments = a.adjustments.iter().map(AdjustmentView::from).collect();
        self.adjustments_hash = Some(a.adjustments_hash.clone());
        self
    }

    /// The period's latest state from its events, oldest first.
    fn fold(events: &[appraisal::Event]) -> Option<Self> {
        let mut out: Option<Self> = None;
        for e in events {
            out = Some(match e {
                // Each follows the proposal or the seal it belongs to.
                appraisal::Event::AppraisalAdjustmentsProposed { adjustments, .. }
                | appraisal::Event::AppraisalAdjustmentsSealed { adjustments, .. } => {
                    match out.take() {
                        Some(view) => view.with_adjustments(adjustments),
                        None => continue,
                    }
                }
                appraisal::Event::AppraisalTeamsProposed { teams, .. }
                | appraisal::Event::AppraisalTeamsSealed { teams, .. } => match out.take() {
                    Some(view) => view.with_teams(teams),
                    None => continue,
                },
                appraisal::Event::AppraisalSealProposed {
                    period,
                    derivation,
                    by,
                    at,
                } => AppraisalPeriodView::of(*period, derivation, *by, None, *at),
                appraisal::Event::AppraisalPeriodSealed {
                    period,
                    derivation,
                    proposed_by,
                    approved_by,
                    at,
                } => AppraisalPeriodView::of(
                    *period,
                    derivation,
                    *proposed_by,
                    Some(*approved_by),
                    *at,
                ),
            });
        }
        out
    }
}

fn decode(r: &crm_eventstore::RecordedEvent) -> Result<Option<appraisal::Event>, ApiError> {
    match crm_codec::decode(r) {
        Ok(AnyEvent::Appraisal(e)) => Ok(Some(e)),
        Ok(_) => Ok(None),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

#[derive(Default, Debug)]
pub struct AppraisalQuery;

#[Object]
impl AppraisalQuery {
    /// One appraisal period's seal: the proposal awaiting approval (its `resultsHash` is what
    /// an approval names) or the sealed results; null when nothing was proposed.
    async fn appraisal_period(
        &self,
        ctx: &Context<'_>,
        period: String,
    ) -> async_graphql::Result<Option<AppraisalPeriodView>> {
        async {
            may_read(caller(ctx)?)?;
            let period = period_arg(&period)?;
            let stream = StreamName::parse(crm_domain::stream_name(
                appraisal::Appraisal::CATEGORY,
                &period,
            ))?;
            let events = store(ctx)?.read_stream(
                &stream,
                StreamStart::Start,
                Direction::Forwards,
                PERIODS_MAX,
            )?;
            let decoded = events
                .iter()
                .map(decode)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            Ok(AppraisalPeriodView::fold(&decoded))
        }
        .await
        .map_err(gql)
    }

    /// Every period proposed or sealed, newest recorded first (at most 200).
    async fn appraisal_periods(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AppraisalPeriodView>> {
        async {
            may_read(caller(ctx)?)?;
            // The newest events, read back from the end and put in log order again: read from
            // the start, a log past the limit lost its latest periods. A period whose first
            // events fall before the window is folded from the ones in it (each follows the
            // proposal or seal it belongs to, so a partial period shows its latest state or
            // nothing), and only the oldest periods can be cut so.
            let mut events = store(ctx)?.read_filtered(
                &Filter::Category(appraisal::Appraisal::CATEGORY.into()),
                AllStart::End,
                Direction::Backwards,
                PERIOD_EVENTS_MAX,
            )?;
            events.reverse();
            let mut by_period: std::collections::BTreeMap<AppraisalPeriod, Vec<appraisal::Event>> =
                std::collections::BTreeMap::new();
            for r in &events {
                if let Some(e) = decode(r)? {
                    let period = match &e {
                        appraisal::Event::AppraisalSealProposed { period, .. }
                        | appraisal::Event::AppraisalPeriodSealed { period, .. }
                        | appraisal::Event::AppraisalAdjustmentsProposed { period, .. }
                        | appraisal::Event::AppraisalAdjustmentsSealed { period, .. }
                        | appraisal::Event::AppraisalTeamsProposed { period, .. }
                        | appraisal::Event::AppraisalTeamsSealed { period, .. } => *period,
                    };
                    by_period.entry(period).or_default().push(e);
                }
            }
            let mut out: Vec<AppraisalPeriodView> = by_period
                .values()
                .filter_map(|events| AppraisalPeriodView::fold(events))
                .collect();
            out.sort_by_key(|v| std::cmp::Reverse(v.recorded_at.0));
            out.truncate(PERIODS_MAX);
            Ok(out)
        }
        .await
        .map_err(gql)
    }
}

#[derive(Default, Debug)]
pub struct AppraisalMutation;

#[Object]
impl AppraisalMutation {
    /// Proposes sealing `period` (`YYYY-MM` or `YYYY-Qn`; it must have ended): derives its
    /// results and team figures from the log up to its head under the rules in force there and
    /// records them, with the adjustments to earlier sealed periods that facts recorded after their seal
    /// make (each derived again at the same position under the rules it was sealed with).
    /// Headquarters; a second headquarters staff member seals them (`approveAppraisalSeal`).
    /// The derivation folds the whole log, under `[limits] replays_concurrent_max`.
    async fn propose_appraisal_seal(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        period: String,
    ) -> async_graphql::Result<CommandResult> {
        let derived = async {
            let actor = *caller(ctx)?;
            // Refused before the fold, not after.
            authorize(&actor, &Action::SealAppraisal, &OrgTree::default())?;
            let period = period_arg(&period)?;
            let head = store(ctx)?.head().0;
            let p = read_models(ctx)?.projections().clone();
            let permit = settings(ctx)?.replay_permit()?;
            let closing = tokio::task::spawn_blocking(move || {
                let d = p.derive_closing(period, head);
                drop(permit);
                d
            })
            .await
            .map_err(|e| ApiError::Internal(format!("joining a derivation: {e}")))?
            .map_err(projection_error)?;
            Ok::<_, ApiError>((period, closing))
        }
        .await
        .map_err(gql)?;
        let (period, closing) = derived;
        run(ctx, command_id, move |actor| {
            Ok(AppCommand::Appraisal {
                period,
                command: appraisal::Command::ProposeSeal {
                    period,
                    derivation: closing.derivation,
                    teams: closing.teams,
                    adjustments: closing.adjustments,
                    by: actor.staff_id,
                    now: OffsetDateTime::now_utc(),
                },
            })
        })
        .await
    }

    /// Seals `period` with the proposed results, named by `resultsHash` (from
    /// `appraisalPeriod`), and the adjustments and team figures proposed with them, named by
    /// `adjustmentsHash` and `teamsHash` when there are any: a second headquarters staff
    /// member, not the proposer.
    async fn approve_appraisal_seal(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        period: String,
        results_hash: String,
        adjustments_hash: Option<String>,
        teams_hash: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, move |actor| {
            let period = period_arg(&period)?;
            Ok(AppCommand::Appraisal {
                period,
                command: appraisal::Command::ApproveSeal {
                    period,
                    results_hash: results_hash.trim().to_string(),
                    adjustments_hash: adjustments_hash.map(|h| h.trim().to_string()),
                    teams_hash: teams_hash.map(|h| h.trim().to_string()),
                    by: actor.staff_id,
                    now: OffsetDateTime::now_utc(),
                },
            })
        })
        .await
    }
}
