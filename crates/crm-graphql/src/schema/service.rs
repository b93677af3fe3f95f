//! 分层服务 (tiered service standards): a customer's service plan (`Customer.servicePlan`) and
//! the service compliance of a staff member's book or a branch over a period
//! (`staffServiceCompliance`, `branchServiceCompliance`), the service-process appraisal's
//! figures. Who may read a compliance is `read_policy::may_read_service_compliance`'s
//! decision.

use async_graphql::{Context, Object, SimpleObject, ID};
use crm_domain::auth::{Right, Scope};
use crm_domain::ids::{BranchId, StaffId};
use crm_domain::read_policy::{self, ServiceScope};
use crm_projections::views::{
    self, CareObligations, Obligations, ServiceCompliance, ServicePlan, TicketSla,
};

use super::caller;
use super::customers::label;
use super::performance::{period_or_latest, period_text, PeriodInput};
use super::readside::{forbidden, org_tree, parse_uuid, reach, read_models, uuid_id, Tier};
use super::scalars::Long;
use crate::error::gql;

/// A customer's service plan under their tier's standard (`[service.<tier>]` in the rules), as
/// of the read models' date.
#[derive(SimpleObject, Debug)]
pub struct ServicePlanView {
    /// The tier whose standard applies.
    pub tier: Tier,
    /// A contact that reaches the customer is due this many days after the last one.
    pub contact_every_days: i32,
    /// A visit is due this many days after the last one; null: no visit standard.
    pub visit_every_days: Option<i32>,
    /// The channels a contact counts through (PHONE, WE_CHAT, VISIT, ...).
    pub channels: Vec<String>,
    /// The care occasions the customer is greeted on (BIRTHDAY, HOLIDAY, MARKET_EVENT).
    pub care_occasions: Vec<String>,
    /// The last day a contact through a counting channel reached the customer (YYYY-MM-DD).
    pub last_contact: Option<String>,
    pub next_contact_due: String,
    /// Days past `nextContactDue` (0 when not yet due).
    pub contact_overdue_days: i32,
    pub last_visit: Option<String>,
    /// Null without a visit standard.
    pub next_visit_due: Option<String>,
    pub visit_overdue_days: i32,
    /// The log position of the event the plan was last moved by.
    pub position: Long,
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&ServicePlan> for ServicePlanView {
    fn from(p: &ServicePlan) -> Self {
        ServicePlanView {
            tier: p.tier.into(),
            contact_every_days: int(p.contact_every_days),
            visit_every_days: p.visit_every_days.map(int),
            channels: p.channels.iter().map(label).collect(),
            care_occasions: p.care.iter().map(label).collect(),
            last_contact: p.last_contact.map(|d| d.to_string()),
            next_contact_due: p.next_contact_due.to_string(),
            contact_overdue_days: int(p.contact_overdue_days),
            last_visit: p.last_visit.map(|d| d.to_string()),
            next_visit_due: p.next_visit_due.map(|d| d.to_string()),
            visit_overdue_days: int(p.visit_overdue_days),
            position: Long(p.position),
        }
    }
}

/// Contacts (or visits) due in a period and what became of them.
#[derive(SimpleObject, Debug)]
pub struct ObligationsView {
    /// Due in the period (or overdue into it), or met in it.
    pub due: Long,
    /// Met on or before their due date.
    pub on_time: Long,
    /// Met after their due date.
    pub late: Long,
    /// Not met and past due at `on`.
    pub overdue: Long,
    /// `onTime` / `due` in percent with two decimals; null when nothing was due.
    pub on_time_rate: Option<f64>,
}

impl From<&Obligations> for ObligationsView {
    fn from(o: &Obligations) -> Self {
        ObligationsView {
            due: Long(o.due.max(0).unsigned_abs()),
            on_time: Long(o.on_time.max(0).unsigned_abs()),
            late: Long(o.late.max(0).unsigned_abs()),
            overdue: Long(o.overdue.max(0).unsigned_abs()),
            on_time_rate: o.on_time_bp().map(|bp| bp as f64 / 100.0),
        }
    }
}

/// Care greetings (客户关怀) due in a period under the customers' tier standards
/// (`[service.<tier>] care`): each occasion, and all together. Due on the occasion (the
/// customer's birthday, each `[care]` holiday or market event); on time when a care contact of
/// that occasion came within `[care] window_days` of it; late when it came after, before the
/// occasion's next window; overdue when none came and the window closed before `on`.
#[derive(SimpleObject, Debug)]
pub struct CareComplianceView {
    pub birthday: ObligationsView,
    pub holiday: ObligationsView,
    pub market_event: ObligationsView,
    /// The three occasions added up.
    pub total: ObligationsView,
}

impl From<&CareObligations> for CareComplianceView {
    fn from(c: &CareObligations) -> Self {
        CareComplianceView {
            birthday: (&c.birthday).into(),
            holiday: (&c.holiday).into(),
            market_event: (&c.market_event).into(),
            total: (&c.total()).into(),
        }
    }
}

/// Tickets (工单) whose SLA deadline falls in the period, against their SLA.
#[derive(SimpleObject, Debug)]
pub struct TicketSlaView {
    /// Deadline in the period (by business date).
    pub due: Long,
    /// Resolved within the SLA.
    pub met: Long,
    /// Resolved after the deadline, or still open past it at `on`.
    pub breached: Long,
    /// Open, the deadline not yet passed at `on`.
    pub pending: Long,
    /// `met` / (`met` + `breached`) in percent with two decimals; null when none is decided.
    pub met_rate: Option<f64>,
}

impl From<&TicketSla> for TicketSlaView {
    fn from(t: &TicketSla) -> Self {
        let n = |v: i64| Long(v.max(0).unsigned_abs());
        TicketSlaView {
            due: n(t.due),
            met: n(t.met),
            breached: n(t.breached),
            pending: n(t.pending),
            met_rate: t.met_bp().map(|bp| bp as f64 / 100.0),
        }
    }
}

/// Service compliance (服务过程考核) of a book or a branch over a period.
#[derive(SimpleObject, Debug)]
pub struct ServiceComplianceView {
    /// The staff member or branch.
    pub id: ID,
    /// YYYY-MM, or YYYY-01..YYYY-MM for a year to date.
    pub period: String,
    pub from: String,
    pub to: String,
    /// The day overdue is measured at: the period's end, or the read models' date if earlier.
    pub on: String,
    /// Customers served to a standard (active or dormant) in the book or branch now.
    pub customers: Long,
    pub contacts: ObligationsView,
    pub visits: ObligationsView,
    /// Customers with a contact or a visit overdue at `on`.
    pub customers_overdue: Long,
    /// The care greetings the customers' tiers ask for, due in the period.
    pub care: CareComplianceView,
    /// The follow-ups contacts set (a contact's `followUpOn`): met on time when a later
    /// contact that reached the customer came on or before the date, late when after it,
    /// overdue when none came and the date is before `on`. An unanswered contact meets none.
    pub follow_ups: ObligationsView,
    /// The tickets assigned to the staff member (or of the branch) due in the period.
    pub tickets: TicketSlaView,
}

fn view(id: ID, period: String, c: &ServiceCompliance) -> ServiceComplianceView {
    ServiceComplianceView {
        id,
        period,
        from: c.from.to_string(),
        to: c.to.to_string(),
        on: c.on.to_string(),
        customers: Long(c.customers.max(0).unsigned_abs()),
        contacts: (&c.contacts).into(),
        visits: (&c.visits).into(),
        customers_overdue: Long(c.customers_overdue.max(0).unsigned_abs()),
        care: (&c.care).into(),
        follow_ups: (&c.follow_ups).into(),
        tickets: (&c.tickets).into(),
    }
}

#[derive(Default, Debug)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// The service compliance of the customers `staffId` serves now over `period` (default:
    /// the latest month): contacts, visits and care greetings due under each customer's tier
    /// standard against those made on time, follow-ups met on time, and what is overdue. Read
    /// by the staff member, their team's lead and whoever reads their branch's figures;
    /// FORBIDDEN otherwise.
    async fn staff_service_compliance(
        &self,
        ctx: &Context<'_>,
        staff_id: ID,
        period: Option<PeriodInput>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<ServiceComplianceView> {
        async {
            let actor = *caller(ctx)?;
            let staff = StaffId::from(parse_uuid("staffId", &staff_id)?);
            reach(ctx, at_position).await?;
            read_models(ctx)?.read(|m, r| {
                let record = views::staff(m, staff);
                let (branch, team) = match record.and_then(|s| s.scope) {
                    Some(Scope::Book { branch, team }) => (Some(branch), team),
                    _ => (record.and_then(|s| s.branch()), None),
                };
                let scope = ServiceScope::Staff {
                    staff,
                    branch,
                    team,
                };
                if !read_policy::may_read_service_compliance(&actor, scope, &org_tree(&actor, m)) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let period = period_or_latest(period.as_ref(), m)?;
                let c = views::staff_compliance(m, r, staff, period, views::today(m, None));
                Ok(view(uuid_id(staff), period_text(period), &c))
            })
        }
        .await
        .map_err(gql)
    }

    /// The service compliance of the customers assigned to `branchId` now over `period`
    /// (default: the latest month). Read by whoever reads the branch's figures; FORBIDDEN
    /// otherwise (a customer manager's or broker's view is their own book).
    async fn branch_service_compliance(
        &self,
        ctx: &Context<'_>,
        branch_id: ID,
        period: Option<PeriodInput>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<ServiceComplianceView> {
        async {
            let actor = *caller(ctx)?;
            let branch = BranchId::from(parse_uuid("branchId", &branch_id)?);
            reach(ctx, at_position).await?;
            read_models(ctx)?.read(|m, r| {
                let scope = ServiceScope::Branch(branch);
                if !read_policy::may_read_service_compliance(&actor, scope, &org_tree(&actor, m)) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let period = period_or_latest(period.as_ref(), m)?;
                let c = views::branch_compliance(m, r, branch, period, views::today(m, None));
                Ok(view(uuid_id(branch), period_text(period), &c))
            })
        }
        .await
        .map_err(gql)
    }
}
