//! To-dos (待办): follow-ups, planned visits, birthdays, pending transfers and other reminders
//! for one staff member at an instant. The records to look at come from the to-do index
//! ([`crate::read_models::todo_index`]); the rules here decide what each one gives.

use crm_domain::auth::Role;
use crm_domain::customer::Lifecycle;
use std::collections::BTreeSet;

use crm_domain::ids::{BranchId, CustomerId, StaffId, TicketId};
use crm_domain::interaction::CareOccasion;
use crm_domain::risk::RiskTolerance;
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::derive::{self, ChurnRisk, RiskPreference};
use crate::model::{business_date, madd, mscale, Model, BUSINESS_OFFSET};
use crate::read_models::archive::CustomerRecord;
use crate::read_models::banking::{DepositRecord, LoanRecord};
use crate::read_models::care::greetings_owed;
use crate::read_models::service::{TicketRecord, TicketStatus};
use crate::read_models::service_plan::service_plan;
use crate::rules::RuleBook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TodoKind {
    FollowUpDue,
    VisitDue,
    SlaBreached,
    SlaAboutToBreach,
    TicketAssigned,
    Birthday,
    LargeOutflow,
    SuitabilityExpiring,
    TransferApproval,
    RuleSetApproval,
    /// A customer of one's book at medium or high churn risk (流失预警), ranked by the assets
    /// at risk.
    ChurnRisk,
    /// A customer of one's book with a valid suitability assessment whose inferred risk
    /// preference conflicts with the questionnaire level (`[reminders] preference_conflict_*`):
    /// reassess suitability.
    PreferenceConflict,
    /// A customer's time deposit maturing within `[reminders] deposit_maturity_days_ahead`:
    /// retain the funds (the serving manager).
    TimeDepositMaturing,
    /// A loan instalment due within `[reminders] loan_repayment_days_ahead` (the serving
    /// manager).
    LoanRepaymentDue,
    /// A loan whose latest position is overdue (the serving manager).
    LoanOverdue,
    /// A loan moved down a classification within `[reminders] loan_downgrade_days` (the
    /// serving manager and the outlet's branch manager).
    LoanDowngraded,
    /// A contact the customer's tier standard (`[service.<tier>]`) asks for is due within
    /// `[reminders] service_days_ahead` or overdue (the serving manager).
    ServiceContactDue,
    /// A visit the tier standard asks for is due within `service_days_ahead` or overdue.
    ServiceVisitDue,
    /// 客户关怀: a holiday or market-event greeting the customer's tier asks for
    /// (`[service.<tier>] care`, `[care]`), from `[reminders] birthday_days_ahead` days before
    /// the occasion until its window closes, while none has been made (the serving manager).
    CareGreetingDue,
}

/// 待办事宜: one reminder or open workflow step for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    pub kind: TodoKind,
    pub customer: Option<CustomerId>,
    pub ticket: Option<TicketId>,
    pub due: Date,
    pub text: String,
    /// The event the reminder comes from.
    pub position: u64,
    /// For a churn-risk reminder: the customer's assets, what leaves if they do.
    pub value_at_risk: Option<Money>,
}

fn next_birthday(birthday: Date, from: Date) -> Option<Date> {
    for year in [from.year(), from.year() + 1] {
        // 29 February outside leap years is the first of March, as care greetings count it.
        let d = crate::read_models::care::birthday_in(birthday, year)?;
        if d >= from {
            return Some(d);
        }
    }
    None
}

/// The questionnaire level's name in the 适当性 classification.
fn level_name(level: RiskTolerance) -> &'static str {
    match level {
        RiskTolerance::C1 => "保守型",
        RiskTolerance::C2 => "谨慎型",
        RiskTolerance::C3 => "稳健型",
        RiskTolerance::C4 => "积极型",
        RiskTolerance::C5 => "激进型",
    }
}

fn preference_name(p: RiskPreference) -> &'static str {
    match p {
        RiskPreference::Aggressive => "aggressive",
        RiskPreference::Balanced => "balanced",
        RiskPreference::Conservative => "conservative",
        RiskPreference::Unknown => "unknown",
    }
}

/// Who asks for their to-dos, and when.
struct Asker<'a> {
    m: &'a Model,
    rules: &'a RuleBook,
    staff: StaffId,
    now: OffsetDateTime,
    today: Date,
    my_role: Option<Role>,
    my_branch: Option<BranchId>,
}

/// The to-do list of `staff` at instant `now`, due items first (ties by kind, value at risk,
/// position, customer, ticket and text, so the order is total).
///
/// Visits only the records the to-do index (`read_models::todo_index`) files under the staff
/// member (and, for a branch manager, under their branch): the cost is that of their own book,
/// open tickets and their branch's pending items, however large the organisation.
pub fn todos(m: &Model, rules: &RuleBook, staff: StaffId, now: OffsetDateTime) -> Vec<Todo> {
    let me = m.staff.get(&staff);
    let a = Asker {
        m,
        rules,
        staff,
        now,
        today: now.to_offset(BUSINESS_OFFSET).date(),
        my_role: me.and_then(|s| s.role),
        my_branch: me.and_then(|s| s.branch()),
    };
    let mut out = Vec::new();
    // What is filed under a branch is for its branch manager.
    let managed_branch = a
        .my_branch
        .filter(|_| a.my_role == Some(Role::BranchManager));
    for id in m.todo_index.customers_for(staff, managed_branch) {
        if let Some(c) = m.customers.get(&id) {
            customer_todos(&a, c, &mut out);
        }
    }
    for id in m.todo_index.tickets_of(staff) {
        if let Some(t) = m.tickets.get(&id) {
            ticket_todo(&a, t, &mut out);
        }
    }
    bank_todos(&a, managed_branch, &mut out);
    if a.my_role == Some(Role::Operator) {
        for v in m.todo_index.proposed() {
            let Some(v) = m.meta.rule_versions.get(&v) else {
                continue;
            };
            if v.status == "proposed" && v.proposed_by != staff {
                out.push(Todo {
                    kind: TodoKind::RuleSetApproval,
                    customer: None,
                    ticket: None,
                    due: a.today,
                    text: format!("approve or reject rules version {}", v.version),
                    position: v.proposed_position,
                    value_at_risk: None,
                });
            }
        }
    }
    sort_todos(&mut out);
    out
}

/// Due items first; then by kind, the larger value at risk, position, customer, ticket and
/// text.
pub fn sort_todos(out: &mut [Todo]) {
    out.sort_by(|a, b| {
        a.due
            .cmp(&b.due)
            .then(a.kind.cmp(&b.kind))
            .then(b.value_at_risk.cmp(&a.value_at_risk))
            .then(a.position.cmp(&b.position))
            .then(a.customer.cmp(&b.customer))
            .then(a.ticket.cmp(&b.ticket))
            .then_with(|| a.text.cmp(&b.text))
    });
}

/// The reminders customer `c` gives the asker: a follow-up they owe or a visit they planned,
/// churn risk (their customer, or one flagged in the branch they manage), a transfer to
/// approve, and the reminders of their own book ([`book_todos`]).
fn customer_todos(a: &Asker<'_>, c: &CustomerRecord, out: &mut Vec<Todo>) {
    if matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed) {
        return;
    }
    let (r, staff, today) = (&a.rules.reminders, a.staff, a.today);
    let mine = c.manager() == Some(staff);
    if let Some(f) = c.follow_up {
        if (f.staff == staff || mine)
            && f.due <= today + Duration::days(i64::from(r.follow_up_days_ahead))
        {
            out.push(Todo {
                kind: TodoKind::FollowUpDue,
                customer: Some(c.id),
                ticket: None,
                due: f.due,
                text: format!("follow up with {}", c.profile.name.as_str()),
                position: f.position,
                value_at_risk: None,
            });
        }
    }
    for v in c.planned_visits.iter().filter(|v| v.staff == staff) {
        let due = business_date(v.planned_for);
        if due <= today + Duration::days(1) {
            out.push(Todo {
                kind: TodoKind::VisitDue,
                customer: Some(c.id),
                ticket: None,
                due,
                text: format!("visit {}", c.profile.name.as_str()),
                position: v.position,
                value_at_risk: None,
            });
        }
    }
    // A flagged customer (流失预警) reaches their branch's manager too: the flag is how the
    // serving staff tell management, who alone record a churn.
    let flagged_for_me = c.at_risk_flag.is_some()
        && a.my_role == Some(Role::BranchManager)
        && a.my_branch.is_some()
        && a.my_branch == c.branch();
    if (mine || flagged_for_me) && matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant) {
        let churn = derive::churn_in(a.m, c, a.rules, today);
        if matches!(churn.risk, ChurnRisk::Medium | ChurnRisk::High) {
            out.push(Todo {
                kind: TodoKind::ChurnRisk,
                customer: Some(c.id),
                ticket: None,
                due: today,
                text: format!(
                    "{} is at {} churn risk ({}): {} CNY at risk",
                    c.profile.name.as_str(),
                    if churn.risk == ChurnRisk::High {
                        "high"
                    } else {
                        "medium"
                    },
                    churn.reason,
                    churn.value_at_risk
                ),
                position: churn.positions.last().copied().unwrap_or(c.position),
                value_at_risk: Some(churn.value_at_risk),
            });
        }
    }
    if mine {
        book_todos(a, c, out);
    }
    if let Some(t) = &c.pending_transfer {
        if a.my_role == Some(Role::BranchManager) && a.my_branch == Some(t.to.branch) {
            out.push(Todo {
                kind: TodoKind::TransferApproval,
                customer: Some(c.id),
                ticket: None,
                due: business_date(t.at),
                text: format!(
                    "approve or reject the transfer of {}",
                    c.profile.name.as_str()
                ),
                position: t.position,
                value_at_risk: None,
            });
        }
    }
}

/// The reminders of a customer the asker manages: birthday, suitability expiring or in
/// conflict with the trading, a large outflow.
fn book_todos(a: &Asker<'_>, c: &CustomerRecord, out: &mut Vec<Todo>) {
    let (r, today) = (&a.rules.reminders, a.today);
    if let Some(b) = c.profile.birthday {
        if let Some(next) = next_birthday(b, today) {
            if next <= today + Duration::days(i64::from(r.birthday_days_ahead)) {
                out.push(Todo {
                    kind: TodoKind::Birthday,
                    customer: Some(c.id),
                    ticket: None,
                    due: next,
                    text: format!("birthday of {}", c.profile.name.as_str()),
                    position: c.registered_position,
                    value_at_risk: None,
                });
            }
        }
    }
    if let Some(s) = c.suitability {
        let warn_from = s.expires_on - Duration::days(i64::from(r.suitability_expiry_days));
        if today >= warn_from {
            out.push(Todo {
                kind: TodoKind::SuitabilityExpiring,
                customer: Some(c.id),
                ticket: None,
                due: s.expires_on,
                text: format!(
                    "suitability assessment of {} {} on {}: reassess before selling",
                    c.profile.name.as_str(),
                    if today >= s.expires_on {
                        "expired"
                    } else {
                        "expires"
                    },
                    s.expires_on
                ),
                position: c.suitability_position,
                value_at_risk: None,
            });
        }
        // A valid assessment the trading contradicts (an expired one is the reminder
        // above's business).
        let preference = c.derived.risk_preference;
        if s.is_valid_on(today) && r.preference_conflicts.conflicts(preference, s.level) {
            out.push(Todo {
                kind: TodoKind::PreferenceConflict,
                customer: Some(c.id),
                ticket: None,
                due: today,
                text: format!(
                    "{}: questionnaire {:?} ({}), trading reads {}: reassess suitability",
                    c.profile.name.as_str(),
                    s.level,
                    level_name(s.level),
                    preference_name(preference)
                ),
                // The later of the two facts that disagree.
                position: c.suitability_position.max(c.derived.position),
                value_at_risk: None,
            });
        }
    }
    service_todos(a, c, out);
    care_todos(a, c, out);
    // A large outflow on the latest day with figures up to today.
    if let Some(d) = c.days.iter().rev().find(|d| d.date <= today) {
        let net_out = madd(d.withdrawals, mscale(d.deposits, -1));
        let base = madd(d.assets, net_out);
        let pct_hit = base > Money::ZERO
            && i128::from(net_out.minor()) * 100
                >= i128::from(base.minor()) * i128::from(r.large_outflow_pct);
        if net_out > Money::ZERO
            && (net_out >= r.large_outflow || pct_hit)
            && (today - d.date).whole_days() <= 7
        {
            out.push(Todo {
                kind: TodoKind::LargeOutflow,
                customer: Some(c.id),
                ticket: None,
                due: d.date,
                text: format!(
                    "{} withdrew a net {} CNY on {}",
                    c.profile.name.as_str(),
                    net_out,
                    d.date
                ),
                position: d.position,
                value_at_risk: None,
            });
        }
    }
}

/// 客户关怀: the holiday and market-event greetings the customer's tier asks for and that are
/// still owed ([`greetings_owed`]), reminded as far ahead as birthdays.
fn care_todos(a: &Asker<'_>, c: &CustomerRecord, out: &mut Vec<Todo>) {
    if !matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant) {
        return;
    }
    let Some(standard) = a.rules.service.for_tier(c.derived.tier) else {
        return;
    };
    let ahead = a.rules.reminders.birthday_days_ahead;
    for (occasion, day) in greetings_owed(c, standard, &a.rules.care, a.today, ahead) {
        let what = match occasion {
            CareOccasion::MarketEvent => "market event",
            _ => "holiday",
        };
        out.push(Todo {
            kind: TodoKind::CareGreetingDue,
            customer: Some(c.id),
            ticket: None,
            due: day,
            text: format!("{what} greeting of {day} for {}", c.profile.name.as_str()),
            position: c.registered_position,
            value_at_risk: None,
        });
    }
}

/// 分层服务: the contact and visit the customer's service plan has due within
/// `[reminders] service_days_ahead` (or overdue), for the serving manager.
fn service_todos(a: &Asker<'_>, c: &CustomerRecord, out: &mut Vec<Todo>) {
    let today = a.today;
    let Some(plan) = service_plan(c, a.rules, today) else {
        return;
    };
    let horizon = today + Duration::days(i64::from(a.rules.reminders.service_days_ahead));
    let name = c.profile.name.as_str();
    let late = |days: u32| match days {
        0 => String::new(),
        n => format!(", {n} days overdue"),
    };
    if plan.next_contact_due <= horizon {
        out.push(Todo {
            kind: TodoKind::ServiceContactDue,
            customer: Some(c.id),
            ticket: None,
            due: plan.next_contact_due,
            text: format!(
                "contact {name} ({} standard: every {} days{})",
                plan.tier.name(),
                plan.contact_every_days,
                late(plan.contact_overdue_days)
            ),
            position: plan.position,
            value_at_risk: None,
        });
    }
    if let (Some(due), Some(every)) = (plan.next_visit_due, plan.visit_every_days) {
        if due <= horizon {
            out.push(Todo {
                kind: TodoKind::ServiceVisitDue,
                customer: Some(c.id),
                ticket: None,
                due,
                text: format!(
                    "visit {name} ({} standard: every {every} days{})",
                    plan.tier.name(),
                    late(plan.visit_overdue_days)
                ),
                position: plan.position,
                value_at_risk: None,
            });
        }
    }
}

/// An open ticket assigned to the asker, by how near its SLA deadline is.
fn ticket_todo(a: &Asker<'_>, t: &TicketRecord, out: &mut Vec<Todo>) {
    if t.assignee != Some(a.staff)
        || matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed)
    {
        return;
    }
    let warn = t.sla_deadline - Duration::hours(i64::from(a.rules.reminders.sla_warning_hours));
    let (kind, text) = if a.now > t.sla_deadline {
        (
            TodoKind::SlaBreached,
            format!("ticket '{}' is past its SLA", t.subject),
        )
    } else if a.now >= warn {
        (
            TodoKind::SlaAboutToBreach,
            format!("ticket '{}' is about to breach its SLA", t.subject),
        )
    } else {
        (TodoKind::TicketAssigned, format!("ticket '{}'", t.subject))
    };
    out.push(Todo {
        kind,
        customer: t.customer,
        ticket: Some(t.id),
        due: business_date(t.sla_deadline),
        text,
        position: t.position,
        value_at_risk: None,
    });
}

/// The bank reminders of the asker: time deposits maturing, instalments due, loans overdue
/// and moved down a classification, for the customer's serving manager (and, for a
/// downgrade, the branch manager of the loan's outlet). Open accounts and loans only. The
/// serving manager's come from the accounts and loans of the customers filed under them; the
/// branch manager's downgrades from those the index files under the branch by day.
fn bank_todos(a: &Asker<'_>, managed_branch: Option<BranchId>, out: &mut Vec<Todo>) {
    let m = a.m;
    let mut loans = BTreeSet::new();
    for id in m.todo_index.customers_of(a.staff) {
        let served = m
            .customers
            .get(&id)
            .is_some_and(|c| c.manager() == Some(a.staff));
        let Some(bank) = m.bank_customers.get(&id).filter(|_| served) else {
            continue;
        };
        for d in bank.deposits.iter().filter_map(|d| m.deposits.get(d)) {
            deposit_todo(a, d, out);
        }
        loans.extend(bank.loans.iter().copied());
    }
    if let Some(b) = managed_branch {
        let days = Duration::days(i64::from(a.rules.reminders.loan_downgrade_days));
        let from = a.today.checked_sub(days).unwrap_or(Date::MIN);
        loans.extend(m.todo_index.downgraded(b, from, a.today));
    }
    for l in loans.iter().filter_map(|l| m.loans.get(l)) {
        loan_todos(a, l, out);
    }
}

/// The name of customer `id` if the asker serves them (their manager, and the customer
/// neither merged nor closed).
fn serving(a: &Asker<'_>, id: CustomerId) -> Option<String> {
    a.m.customers
        .get(&id)
        .filter(|c| !matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed))
        .filter(|c| c.manager() == Some(a.staff))
        .map(|c| c.profile.name.as_str().to_string())
}

fn deposit_todo(a: &Asker<'_>, d: &DepositRecord, out: &mut Vec<Todo>) {
    let today = a.today;
    let Some(maturity) = d.maturity().filter(|_| d.closed_on.is_none()) else {
        return;
    };
    let ahead = today + Duration::days(i64::from(a.rules.reminders.deposit_maturity_days_ahead));
    if maturity < today || maturity > ahead {
        return;
    }
    if let Some(name) = serving(a, d.customer) {
        out.push(Todo {
            kind: TodoKind::TimeDepositMaturing,
            customer: Some(d.customer),
            ticket: None,
            due: maturity,
            text: format!(
                "{name}'s time deposit {} of {} CNY matures on {maturity}: retain the funds",
                d.product, d.balance
            ),
            position: d.opened_position,
            value_at_risk: Some(d.balance),
        });
    }
}

fn loan_todos(a: &Asker<'_>, l: &LoanRecord, out: &mut Vec<Todo>) {
    if l.closed.is_some() {
        return;
    }
    let (r, today) = (&a.rules.reminders, a.today);
    let days = |n: u32| today + Duration::days(i64::from(n));
    let name = serving(a, l.customer);
    let branch_manager = a.my_role == Some(Role::BranchManager) && a.my_branch == Some(l.branch);
    let mut push = |kind, due, text: String, position| {
        out.push(Todo {
            kind,
            customer: Some(l.customer),
            ticket: None,
            due,
            text,
            position,
            value_at_risk: None,
        })
    };
    if let Some(name) = &name {
        let next = l
            .schedule
            .iter()
            .filter(|i| i.due >= today)
            .min_by_key(|i| i.due);
        if let Some(i) = next.filter(|i| i.due <= days(r.loan_repayment_days_ahead)) {
            push(
                TodoKind::LoanRepaymentDue,
                i.due,
                format!(
                    "{name}: loan {} instalment of {} CNY principal and {} CNY interest due on {}",
                    l.product, i.principal, i.interest, i.due
                ),
                l.schedule_position,
            );
        }
        if let (true, Some(on)) = (l.days_overdue > 0, l.balance_date) {
            push(
                TodoKind::LoanOverdue,
                on,
                format!(
                    "{name}: loan {} is {} days overdue with {} CNY outstanding ({on})",
                    l.product, l.days_overdue, l.balance
                ),
                l.position_position,
            );
        }
    }
    if let Some(g) = l.downgrade {
        let recent =
            g.on <= today && today <= g.on + Duration::days(i64::from(r.loan_downgrade_days));
        if recent && (name.is_some() || branch_manager) {
            let who =
                a.m.customers
                    .get(&l.customer)
                    .map(|c| c.profile.name.as_str().to_string())
                    .unwrap_or_default();
            push(
                TodoKind::LoanDowngraded,
                g.on,
                format!(
                    "{who}: loan {} moved down from {} to {} on {}",
                    l.product,
                    g.from.name(),
                    g.to.name(),
                    g.on
                ),
                g.position,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn birthdays_roll_over_the_year_and_29_february_falls_on_1_march() {
        assert_eq!(
            next_birthday(date!(1990 - 12 - 30), date!(2025 - 12 - 28)),
            Some(date!(2025 - 12 - 30))
        );
        assert_eq!(
            next_birthday(date!(1990 - 01 - 02), date!(2025 - 12 - 28)),
            Some(date!(2026 - 01 - 02))
        );
        assert_eq!(
            next_birthday(date!(1992 - 02 - 29), date!(2025 - 02 - 20)),
            Some(date!(2025 - 03 - 01))
        );
        assert_eq!(
            next_birthday(date!(1992 - 02 - 29), date!(2024 - 02 - 20)),
            Some(date!(2024 - 02 - 29))
        );
    }
}
