//! The reference for the to-do index's test: the full scan `todos` was before the index
//! (issue 12), kept here only, word for word but for reaching the records through the public
//! accessors (`views::customer_records`, `tickets`, `deposit_records`, `loan_records`,
//! `rule_versions`) instead of the model's private maps.
#![allow(clippy::unwrap_used, dead_code)]

use crm_domain::auth::Role;
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, StaffId};
use crm_domain::risk::RiskTolerance;
use crm_domain::Money;
use crm_projections::derive::{self, ChurnRisk, RiskPreference};
use crm_projections::model::{business_date, Model, BUSINESS_OFFSET};
use crm_projections::views::{self, TicketStatus, Todo, TodoKind};
use crm_projections::RuleBook;
use time::{Date, Duration, Month, OffsetDateTime};

fn madd(a: Money, b: Money) -> Money {
    Money::from_minor(a.minor().saturating_add(b.minor()))
}

fn mscale(a: Money, sign: i64) -> Money {
    Money::from_minor(a.minor().saturating_mul(sign))
}

fn next_birthday(birthday: Date, from: Date) -> Option<Date> {
    for year in [from.year(), from.year() + 1] {
        let d = Date::from_calendar_date(year, birthday.month(), birthday.day())
            // 29 February outside leap years: the first of March.
            .or_else(|_| Date::from_calendar_date(year, Month::March, 1))
            .ok()?;
        if d >= from {
            return Some(d);
        }
    }
    None
}

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

/// The to-do list of `staff` at instant `now` by a scan of every record: the function the
/// to-do index replaced, as it was (records reached through the public accessors).
pub fn todos(m: &Model, rules: &RuleBook, staff: StaffId, now: OffsetDateTime) -> Vec<Todo> {
    let r = &rules.reminders;
    let today = now.to_offset(BUSINESS_OFFSET).date();
    let mut out = Vec::new();
    let me = views::staff(m, staff);
    let my_role = me.and_then(|s| s.role);
    let my_branch = me.and_then(|s| s.branch());
    for c in views::customer_records(m) {
        if matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed) {
            continue;
        }
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
            && my_role == Some(Role::BranchManager)
            && my_branch.is_some()
            && my_branch == c.branch();
        if (mine || flagged_for_me) && matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant)
        {
            let churn = derive::churn_in(m, c, rules, today);
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
            service_todos(c, rules, today, &mut out);
            care_todos(c, rules, today, &mut out);
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
        if let Some(t) = &c.pending_transfer {
            if my_role == Some(Role::BranchManager) && my_branch == Some(t.to.branch) {
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
    for t in views::tickets(m) {
        if t.assignee != Some(staff)
            || matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed)
        {
            continue;
        }
        let warn = t.sla_deadline - Duration::hours(i64::from(r.sla_warning_hours));
        let (kind, text) = if now > t.sla_deadline {
            (
                TodoKind::SlaBreached,
                format!("ticket '{}' is past its SLA", t.subject),
            )
        } else if now >= warn {
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
    bank_todos(m, rules, staff, today, my_role, my_branch, &mut out);
    if my_role == Some(Role::Operator) {
        for v in views::rule_versions(m) {
            if v.status == "proposed" && v.proposed_by != staff {
                out.push(Todo {
                    kind: TodoKind::RuleSetApproval,
                    customer: None,
                    ticket: None,
                    due: today,
                    text: format!("approve or reject rules version {}", v.version),
                    position: v.proposed_position,
                    value_at_risk: None,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.due
            .cmp(&b.due)
            .then(a.kind.cmp(&b.kind))
            .then(b.value_at_risk.cmp(&a.value_at_risk))
            .then(a.position.cmp(&b.position))
            .then(a.customer.cmp(&b.customer))
    });
    out
}

/// The bank reminders of `staff` on `today`: time deposits maturing, instalments due, loans
/// overdue and moved down a classification, for the customer's serving manager (and, for a
/// downgrade, the branch manager of the loan's outlet). Open accounts and loans only.
/// 分层服务 (added with the service plans, issue 16): the contact and visit a customer's
/// tier standard has due within `service_days_ahead`, for the serving manager.
fn service_todos(c: &views::CustomerRecord, rules: &RuleBook, today: Date, out: &mut Vec<Todo>) {
    let Some(plan) = views::service_plan(c, rules, today) else {
        return;
    };
    let horizon = today + Duration::days(i64::from(rules.reminders.service_days_ahead));
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

/// 客户关怀 (added with the care standard, issue 16): the holiday and market-event greetings
/// the customer's tier asks for and still owed, for the serving manager.
fn care_todos(c: &views::CustomerRecord, rules: &RuleBook, today: Date, out: &mut Vec<Todo>) {
    if !matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant) {
        return;
    }
    let Some(standard) = rules.service.for_tier(c.derived.tier) else {
        return;
    };
    let ahead = rules.reminders.birthday_days_ahead;
    for (occasion, day) in views::greetings_owed(c, standard, &rules.care, today, ahead) {
        let what = match occasion {
            crm_domain::interaction::CareOccasion::MarketEvent => "market event",
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

fn bank_todos(
    m: &Model,
    rules: &RuleBook,
    staff: StaffId,
    today: Date,
    my_role: Option<Role>,
    my_branch: Option<BranchId>,
    out: &mut Vec<Todo>,
) {
    let r = &rules.reminders;
    let serving = |c: CustomerId| {
        views::customer(m, c)
            .filter(|c| !matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed))
            .filter(|c| c.manager() == Some(staff))
            .map(|c| c.profile.name.as_str().to_string())
    };
    let days = |n: u32| today + Duration::days(i64::from(n));
    for d in views::deposit_records(m).filter(|d| d.closed_on.is_none()) {
        let Some(maturity) = d.maturity() else {
            continue;
        };
        if maturity < today || maturity > days(r.deposit_maturity_days_ahead) {
            continue;
        }
        if let Some(name) = serving(d.customer) {
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
    for l in views::loan_records(m).filter(|l| l.closed.is_none()) {
        let name = serving(l.customer);
        let branch_manager = my_role == Some(Role::BranchManager) && my_branch == Some(l.branch);
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
                let who = views::customer(m, l.customer)
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
}
