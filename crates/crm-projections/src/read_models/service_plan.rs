//! Service plans (分层服务): what each customer's tier standard (`[service.<tier>]` in the
//! rules) asks of the serving manager — the next contact and visit due, and how late they
//! are — and the compliance of a staff member's book or a branch over a period (contacts and
//! visits due against those made on time, care greetings (`read_models::care`), follow-ups
//! (`read_models::follow_ups`), and tickets due against their SLA).
//!
//! A customer keeps, per channel, the last two days a contact through it reached them
//! ([`ServiceTrack`], O(1) whatever their history): which channels count is the rules'
//! business, decided when the plan is read, so a rules change needs no rebuild to move the
//! plans. A contact reaches the customer unless its outcome is "not reached" (an unanswered
//! call counts for nothing, as for dormancy); a completed visit, or a contact logged through
//! the visit channel, is a visit.

use std::collections::BTreeSet;

use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, StaffId};
use crm_domain::interaction::CareOccasion;
use crm_domain::values::Channel;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use crate::derive::Tier;
use crate::model::{business_date, Model, CHANNELS};
use crate::read_models::archive::CustomerRecord;
use crate::read_models::care::{tally_care, CareObligations};
use crate::read_models::follow_ups::tally_follow_ups;
use crate::read_models::performance::Period;
use crate::read_models::service::TicketRecord;
use crate::read_models::ticket_figures::SlaSlot;
use crate::rules::RuleBook;

/// The last two distinct days a channel reached the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reached {
    pub last: Option<Date>,
    pub previous: Option<Date>,
    /// The event that set `last`.
    pub position: u64,
}

impl Reached {
    /// Records a day (events may come out of date order: the two latest days are kept).
    fn record(&mut self, day: Date, position: u64) {
        match self.last {
            Some(l) if day == l => {}
            Some(l) if day < l => {
                if self.previous.is_none_or(|p| day > p) {
                    self.previous = Some(day);
                }
            }
            _ => {
                self.previous = self.last;
                self.last = Some(day);
                self.position = position;
            }
        }
    }
}

/// Per channel, when contacts through it last reached the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceTrack {
    pub reached: [Reached; CHANNELS],
}

impl ServiceTrack {
    /// A contact through `channel` reached the customer on `day` (a completed visit is one
    /// through [`Channel::Visit`]).
    pub(crate) fn record(&mut self, channel: Channel, day: Date, position: u64) {
        self.reached[(channel as usize).min(CHANNELS - 1)].record(day, position);
    }

    /// The last two distinct days any of `channels` reached the customer, and the position of
    /// the event behind the last.
    fn latest(&self, channels: &[Channel]) -> (Option<Date>, Option<Date>, u64) {
        let mut days = BTreeSet::new();
        let mut position = 0;
        let mut last = None;
        for ch in channels {
            let r = &self.reached[(*ch as usize).min(CHANNELS - 1)];
            days.extend(r.last);
            days.extend(r.previous);
            if r.last.is_some() && r.last >= last {
                if r.last > last {
                    position = r.position;
                } else {
                    position = position.max(r.position);
                }
                last = r.last;
            }
        }
        let mut top = days.into_iter().rev();
        let first = top.next();
        (first, top.next(), position)
    }
}

/// A customer's service plan as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePlan {
    pub customer: CustomerId,
    pub tier: Tier,
    pub contact_every_days: u32,
    pub visit_every_days: Option<u32>,
    /// The channels a contact counts through.
    pub channels: Vec<Channel>,
    /// The care occasions the customer is greeted on (`[service.<tier>] care`).
    pub care: Vec<CareOccasion>,
    /// The last day a contact through a counting channel reached the customer.
    pub last_contact: Option<Date>,
    /// `last_contact` (or the registration date) + `contact_every_days`.
    pub next_contact_due: Date,
    /// Days past `next_contact_due` at the plan's date (0 when not yet due).
    pub contact_overdue_days: u32,
    pub last_visit: Option<Date>,
    /// None without a visit standard.
    pub next_visit_due: Option<Date>,
    pub visit_overdue_days: u32,
    /// The event the plan was last moved by (the last counting contact or visit, or the
    /// registration).
    pub position: u64,
}

fn add_days(d: Date, n: u32) -> Date {
    d.checked_add(Duration::days(i64::from(n)))
        .unwrap_or(Date::MAX)
}

fn overdue(due: Date, on: Date) -> u32 {
    u32::try_from((on - due).whole_days().max(0)).unwrap_or(u32::MAX)
}

/// Whether the customer is served to a standard: active or dormant (prospects are not yet
/// customers; churned, closed and merged ones are served no more).
fn served(c: &CustomerRecord) -> bool {
    matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant)
}

/// The service plan of `c` as of `on` under the standard of their tier; None for a customer
/// not served (not active or dormant) or a tier without a standard.
pub fn service_plan(c: &CustomerRecord, rules: &RuleBook, on: Date) -> Option<ServicePlan> {
    if !served(c) {
        return None;
    }
    let tier = c.derived.tier;
    let s = rules.service.for_tier(tier)?;
    let start = business_date(c.registered_at);
    let (last_contact, _, contact_position) = c.service.latest(&s.channels);
    let visit = c.service.reached[Channel::Visit as usize];
    let next_contact_due = add_days(last_contact.unwrap_or(start), s.contact_every_days);
    let next_visit_due = s
        .visit_every_days
        .map(|n| add_days(visit.last.unwrap_or(start), n));
    let mut position = c.registered_position.max(contact_position);
    if s.visit_every_days.is_some() && visit.last.is_some() {
        position = position.max(visit.position);
    }
    Some(ServicePlan {
        customer: c.id,
        tier,
        contact_every_days: s.contact_every_days,
        visit_every_days: s.visit_every_days,
        channels: s.channels.clone(),
        care: s.care.clone(),
        last_contact,
        next_contact_due,
        contact_overdue_days: overdue(next_contact_due, on),
        last_visit: visit.last,
        next_visit_due,
        visit_overdue_days: next_visit_due.map_or(0, |d| overdue(d, on)),
        position,
    })
}

/// Contacts (or visits) due in a period and what became of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Obligations {
    /// Due in the period (or overdue into it), or met in it.
    pub due: i64,
    /// Met on or before their due date.
    pub on_time: i64,
    /// Met after their due date.
    pub late: i64,
    /// Not met, due before the compliance's date.
    pub overdue: i64,
}

impl Obligations {
    /// Basis points of `due` met on time; None when nothing was due.
    pub fn on_time_bp(&self) -> Option<i64> {
        (self.due > 0).then(|| self.on_time * 10_000 / self.due)
    }
}

/// Service compliance (服务考核) of a book or a branch over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCompliance {
    pub from: Date,
    pub to: Date,
    /// The date overdue is measured at: the period's end, or today if earlier.
    pub on: Date,
    /// Customers served to a standard (active or dormant, their tier with one).
    pub customers: i64,
    pub contacts: Obligations,
    pub visits: Obligations,
    /// Customers with a contact or a visit overdue at `on`.
    pub customers_overdue: i64,
    /// The care greetings (birthday, holidays, market events) the customers' tiers ask for,
    /// due in the period.
    pub care: CareObligations,
    /// The follow-ups contacts set, due (or met) in the period.
    pub follow_ups: Obligations,
    /// The tickets (工单) of the book or branch due in the period, against their SLA.
    pub tickets: TicketSla,
}

/// Tickets whose SLA deadline falls in a period (by business date), and what became of them
/// by the compliance's date: resolved within the SLA, breached (resolved late, or still open
/// with the deadline passed), or still open with time left. A ticket reopened after its
/// resolution counts by its current deadline and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TicketSla {
    pub due: i64,
    pub met: i64,
    /// Resolved after the deadline, or open past it at the compliance's date.
    pub breached: i64,
    /// Open, the deadline not yet passed at the compliance's date.
    pub pending: i64,
}

impl TicketSla {
    /// Basis points of the tickets decided (met or breached) that met the SLA; None when none
    /// was decided.
    pub fn met_bp(&self) -> Option<i64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| self.met * 10_000 / decided)
    }
}

/// Tallies `tickets` whose SLA deadline is in `from..=to`, as of the end of day `on`.
pub fn ticket_sla<'a>(
    tickets: impl Iterator<Item = &'a TicketRecord>,
    (from, to): (Date, Date),
    on: Date,
) -> TicketSla {
    let mut out = TicketSla::default();
    for t in tickets {
        let deadline = business_date(t.sla_deadline);
        if deadline < from || deadline > to {
            continue;
        }
        out.due += 1;
        match (t.resolved_at, t.within_sla) {
            (Some(_), Some(true)) => out.met += 1,
            (Some(_), _) => out.breached += 1,
            (None, _) if deadline < on => out.breached += 1,
            (None, _) => out.pending += 1,
        }
    }
    out
}

/// [`ticket_sla`] of `slot`'s tickets, read from the ticket figures the fold keeps: the cost is
/// that of the period's deadline days, not of every ticket.
pub(crate) fn figures_sla(
    m: &Model,
    slot: SlaSlot,
    (from, to): (Date, Date),
    on: Date,
) -> TicketSla {
    let mut out = TicketSla::default();
    for (deadline, day) in m.ticket_figures.due(slot, from, to) {
        out.due += day.met + day.late + day.open;
        out.met += day.met;
        out.breached += day.late;
        if deadline < on {
            out.breached += day.open;
        } else {
            out.pending += day.open;
        }
    }
    out
}

/// Tallies the obligations a customer's last two counting days (`last`, `previous`) tell
/// about the period `from..=to`: the one `last` met (due `every` days after `previous`, or
/// after `start`) if it was due or met in the period, and the one open since `last` if it
/// was due by the period's end. Returns whether the open one is overdue at `on`.
fn tally(
    t: &mut Obligations,
    last: Option<Date>,
    previous: Option<Date>,
    start: Date,
    every: u32,
    (from, to): (Date, Date),
    on: Date,
) -> bool {
    let in_period = |d: Date| from <= d && d <= to;
    if let Some(l) = last {
        let due = add_days(previous.unwrap_or(start), every);
        if in_period(l) || in_period(due) {
            t.due += 1;
            if l <= due {
                t.on_time += 1;
            } else {
                t.late += 1;
            }
        }
        if l > to {
            // What is open now opened after the period.
            return false;
        }
    }
    let open = add_days(last.unwrap_or(start), every);
    if open <= to {
        t.due += 1;
        if open < on {
            t.overdue += 1;
            return true;
        }
    }
    false
}

/// The first and last day of a period.
pub fn period_days(p: Period) -> (Date, Date) {
    let first = |y: i32, m: u8| {
        let month = Month::try_from(m.clamp(1, 12)).unwrap_or(Month::January);
        Date::from_calendar_date(y, month, 1).unwrap_or(Date::MIN)
    };
    let last = |y: i32, m: u8| {
        let month = Month::try_from(m.clamp(1, 12)).unwrap_or(Month::December);
        Date::from_calendar_date(y, month, month.length(y)).unwrap_or(Date::MAX)
    };
    match p {
        Period::Month { year, month } => (first(year, month), last(year, month)),
        Period::YearToDate { year, month } => (first(year, 1), last(year, month)),
        Period::Quarter { year, quarter } => {
            let q = quarter.clamp(1, 4);
            (first(year, q * 3 - 2), last(year, q * 3))
        }
    }
}

/// The compliance of the customers `ids` (those served to a standard among them) over
/// `period`, overdue measured at the period's end or `today`, whichever is earlier.
///
/// Read from each customer's current tier and last two counting contacts and visits: a
/// customer reached twice since the period's end shows only the obligation those two
/// contacts met. Care greetings are read from the greeting days each customer keeps, and
/// follow-ups from the one open and the last one met (`customers_overdue` stays contacts
/// and visits: what the plan and its to-dos show).
pub fn compliance<'a>(
    customers: impl Iterator<Item = &'a CustomerRecord>,
    rules: &RuleBook,
    period: Period,
    today: Date,
) -> ServiceCompliance {
    let (from, to) = period_days(period);
    let on = to.min(today);
    let mut out = ServiceCompliance {
        from,
        to,
        on,
        customers: 0,
        contacts: Obligations::default(),
        visits: Obligations::default(),
        customers_overdue: 0,
        care: CareObligations::default(),
        follow_ups: Obligations::default(),
        tickets: TicketSla::default(),
    };
    for c in customers.filter(|c| served(c)) {
        let Some(s) = rules.service.for_tier(c.derived.tier) else {
            continue;
        };
        out.customers += 1;
        let start = business_date(c.registered_at);
        let (last, previous, _) = c.service.latest(&s.channels);
        let mut late = tally(
            &mut out.contacts,
            last,
            previous,
            start,
            s.contact_every_days,
            (from, to),
            on,
        );
        if let Some(every) = s.visit_every_days {
            let v = c.service.reached[Channel::Visit as usize];
            late |= tally(
                &mut out.visits,
                v.last,
                v.previous,
                start,
                every,
                (from, to),
                on,
            );
        }
        if late {
            out.customers_overdue += 1;
        }
        tally_care(&mut out.care, c, s, &rules.care, (from, to), on);
        tally_follow_ups(&mut out.follow_ups, &c.follow_ups, (from, to), on);
    }
    out
}

/// A customer manager's or broker's book: the customers they serve now.
pub fn staff_compliance(
    m: &Model,
    rules: &RuleBook,
    staff: StaffId,
    period: Period,
    today: Date,
) -> ServiceCompliance {
    let book = m
        .todo_index
        .customers_of(staff)
        .filter_map(|id| m.customers.get(&id))
        .filter(|c| c.manager() == Some(staff));
    let mut out = compliance(book, rules, period, today);
    out.tickets = figures_sla(m, SlaSlot::Staff(staff), (out.from, out.to), out.on);
    out
}

/// A branch's customers as assigned now.
pub fn branch_compliance(
    m: &Model,
    rules: &RuleBook,
    branch: BranchId,
    period: Period,
    today: Date,
) -> ServiceCompliance {
    let customers = m.customers.values().filter(|c| c.branch() == Some(branch));
    let mut out = compliance(customers, rules, period, today);
    out.tickets = figures_sla(m, SlaSlot::Branch(branch), (out.from, out.to), out.on);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn a_channel_keeps_its_two_latest_distinct_days_in_any_order() {
        let mut r = Reached::default();
        r.record(date!(2024 - 03 - 10), 5);
        r.record(date!(2024 - 03 - 10), 6);
        assert_eq!(
            (r.last, r.previous, r.position),
            (Some(date!(2024 - 03 - 10)), None, 5)
        );
        r.record(date!(2024 - 03 - 01), 7);
        assert_eq!(r.previous, Some(date!(2024 - 03 - 01)));
        r.record(date!(2024 - 03 - 20), 8);
        assert_eq!(
            (r.last, r.previous, r.position),
            (Some(date!(2024 - 03 - 20)), Some(date!(2024 - 03 - 10)), 8)
        );
        r.record(date!(2024 - 02 - 01), 9);
        assert_eq!(r.previous, Some(date!(2024 - 03 - 10)));
    }

    #[test]
    fn the_latest_over_counting_channels_ignores_the_others() {
        let mut t = ServiceTrack::default();
        t.record(Channel::Phone, date!(2024 - 03 - 01), 1);
        t.record(Channel::Email, date!(2024 - 03 - 30), 2);
        t.record(Channel::WeChat, date!(2024 - 03 - 15), 3);
        t.record(Channel::Phone, date!(2024 - 03 - 10), 4);
        assert_eq!(
            t.latest(&[Channel::Phone, Channel::WeChat]),
            (Some(date!(2024 - 03 - 15)), Some(date!(2024 - 03 - 10)), 3)
        );
        assert_eq!(
            t.latest(&[Channel::Email, Channel::Phone]).0,
            Some(date!(2024 - 03 - 30))
        );
        assert_eq!(t.latest(&[Channel::Visit]), (None, None, 0));
    }

    fn tallied(last: Option<Date>, previous: Option<Date>, on: Date) -> (Obligations, bool) {
        let mut t = Obligations::default();
        let late = tally(
            &mut t,
            last,
            previous,
            date!(2024 - 01 - 01),
            30,
            (date!(2024 - 03 - 01), date!(2024 - 03 - 31)),
            on,
        );
        (t, late)
    }

    #[test]
    fn a_contact_in_the_period_is_on_time_or_late_against_the_one_before() {
        // Met on 10 March, due 30 days after 15 February (16 March): on time; the next is
        // due 9 April, after the period.
        let (t, late) = tallied(
            Some(date!(2024 - 03 - 10)),
            Some(date!(2024 - 02 - 15)),
            date!(2024 - 03 - 31),
        );
        assert_eq!(
            (t.due, t.on_time, t.late, t.overdue, late),
            (1, 1, 0, 0, false)
        );
        // Met on 20 March, due 30 days after 1 February (2 March): late.
        let (t, _) = tallied(
            Some(date!(2024 - 03 - 20)),
            Some(date!(2024 - 02 - 01)),
            date!(2024 - 03 - 31),
        );
        assert_eq!((t.due, t.on_time, t.late), (1, 0, 1));
    }

    #[test]
    fn an_open_contact_due_by_the_period_end_is_overdue_once_past() {
        // Last reached 10 February: due 11 March, not met by the end of March.
        let (t, late) = tallied(Some(date!(2024 - 02 - 10)), None, date!(2024 - 03 - 31));
        assert_eq!((t.due, t.overdue, late), (1, 1, true));
        // Measured on 5 March, it is due in the period but not yet overdue.
        let (t, late) = tallied(Some(date!(2024 - 02 - 10)), None, date!(2024 - 03 - 05));
        assert_eq!((t.due, t.overdue, late), (1, 0, false));
        // Never reached: due 30 days after registration (31 January), overdue ever since.
        let (t, late) = tallied(None, None, date!(2024 - 03 - 31));
        assert_eq!((t.due, t.overdue, late), (1, 1, true));
    }

    #[test]
    fn a_contact_after_the_period_meets_the_one_due_in_it_late() {
        // Due 11 March (30 days after 10 February), met 5 April: late, nothing open in March.
        let (t, late) = tallied(
            Some(date!(2024 - 04 - 05)),
            Some(date!(2024 - 02 - 10)),
            date!(2024 - 03 - 31),
        );
        assert_eq!(
            (t.due, t.on_time, t.late, t.overdue, late),
            (1, 0, 1, 0, false)
        );
    }

    #[test]
    fn periods_cover_whole_months() {
        assert_eq!(
            period_days(Period::Month {
                year: 2024,
                month: 2
            }),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
        assert_eq!(
            period_days(Period::YearToDate {
                year: 2024,
                month: 3
            }),
            (date!(2024 - 01 - 01), date!(2024 - 03 - 31))
        );
        assert_eq!(
            period_days(Period::Quarter {
                year: 2024,
                quarter: 4
            }),
            (date!(2024 - 10 - 01), date!(2024 - 12 - 31))
        );
    }

    #[test]
    fn compliance_counts_care_greetings_and_follow_ups_of_the_customers_served() {
        use crm_domain::interaction::CareOccasion;
        // Given a gold customer born 15 June, greeted on 13 June, whose 5 June contact set a
        // follow-up for 15 June met on the 16th; and a silver customer born 20 June, never
        // greeted, with a follow-up for 12 June nothing came for; a 10 June holiday.
        let mut gold = crate::derive::tests::customer();
        gold.derived.tier = Tier::Gold;
        gold.profile.birthday = Some(date!(1980 - 06 - 15));
        gold.care
            .record(CareOccasion::Birthday, date!(2024 - 06 - 13));
        gold.follow_ups
            .contact(date!(2024 - 06 - 05), true, Some(date!(2024 - 06 - 15)));
        gold.follow_ups.contact(date!(2024 - 06 - 16), true, None);
        let mut silver = crate::derive::tests::customer();
        silver.derived.tier = Tier::Silver;
        silver.profile.birthday = Some(date!(1980 - 06 - 20));
        silver
            .follow_ups
            .contact(date!(2024 - 06 - 01), true, Some(date!(2024 - 06 - 12)));
        let mut rules = RuleBook::default_rules().unwrap();
        rules.care.holidays.insert(date!(2024 - 06 - 10));
        // When June's compliance is read on 30 June.
        let june = Period::Month {
            year: 2024,
            month: 6,
        };
        let c = compliance(
            [&gold, &silver].into_iter(),
            &rules,
            june,
            date!(2024 - 06 - 30),
        );
        // Then the gold birthday is on time and the holiday overdue; the silver customer owes
        // no greeting; one follow-up late, one overdue.
        let o = |o: Obligations| (o.due, o.on_time, o.late, o.overdue);
        assert_eq!(o(c.care.birthday), (1, 1, 0, 0));
        assert_eq!(o(c.care.holiday), (1, 0, 0, 1));
        assert_eq!(o(c.care.total()), (2, 1, 0, 1));
        assert_eq!(o(c.follow_ups), (2, 0, 1, 1));
        // A closed customer is served no more: nothing of theirs counts.
        gold.lifecycle = Lifecycle::Closed;
        let c = compliance([&gold].into_iter(), &rules, june, date!(2024 - 06 - 30));
        assert_eq!((c.care.total().due, c.follow_ups.due), (0, 0));
    }

    fn ticket(deadline: Date, resolved: Option<(Date, bool)>) -> TicketRecord {
        use crate::read_models::service::TicketStatus;
        use crm_domain::ticket::{Priority, TicketKind};
        let at = |d: Date| {
            d.with_hms(10, 0, 0)
                .unwrap()
                .assume_offset(time::macros::offset!(+8))
        };
        TicketRecord {
            id: crm_domain::ids::TicketId::from_uuid(uuid::Uuid::from_u128(1)),
            customer: None,
            branch: None,
            kind: TicketKind::Complaint,
            priority: Priority::High,
            channel: Channel::Phone,
            subject: String::new(),
            opened_at: at(date!(2024 - 02 - 20)),
            sla_deadline: at(deadline),
            assignee: None,
            status: if resolved.is_some() {
                TicketStatus::Resolved
            } else {
                TicketStatus::Open
            },
            escalation_level: 0,
            resolved_at: resolved.map(|(d, _)| at(d)),
            within_sla: resolved.map(|(_, ok)| ok),
            satisfaction: None,
            position: 1,
        }
    }

    #[test]
    fn tickets_due_in_the_period_are_met_breached_or_pending_at_its_date() {
        let tickets = [
            // Due in March, resolved in time: met.
            ticket(date!(2024 - 03 - 05), Some((date!(2024 - 03 - 04), true))),
            // Due in March, resolved late: breached.
            ticket(date!(2024 - 03 - 06), Some((date!(2024 - 03 - 08), false))),
            // Due 10 March, open on the 20th: breached.
            ticket(date!(2024 - 03 - 10), None),
            // Due 25 March, open on the 20th: pending.
            ticket(date!(2024 - 03 - 25), None),
            // Due in February or April: not this period's.
            ticket(date!(2024 - 02 - 28), None),
            ticket(date!(2024 - 04 - 01), Some((date!(2024 - 03 - 30), true))),
        ];
        let march = (date!(2024 - 03 - 01), date!(2024 - 03 - 31));
        let t = ticket_sla(tickets.iter(), march, date!(2024 - 03 - 20));
        assert_eq!(
            t,
            TicketSla {
                due: 4,
                met: 1,
                breached: 2,
                pending: 1
            }
        );
        assert_eq!(t.met_bp(), Some(3_333));
        // At the month's end the open one past its deadline is breached too.
        let t = ticket_sla(tickets.iter(), march, date!(2024 - 03 - 31));
        assert_eq!((t.breached, t.pending), (3, 0));
        assert_eq!(TicketSla::default().met_bp(), None);
    }
}
