//! Churn as the KPI counts it (流失客户, issue 15): closures, recorded churn and dormancy past
//! `[churn] churned_days`, derived by the read side from the rules, never a broker's command.
//!
//! A customer is *churned on a day D* when, on D, a closure or a recorded churn stands (not
//! undone by a reactivation), or they have had no trade, no reaching contact, no activation and
//! no bank account activity for `churned_days` days up to D (counted from registration if none
//! ever happened). A manager's churn in a period is the stock comparison: the customers who
//! were not churned at the end of the day before the period and are at its last day, counted
//! once however many causes apply, for the manager who served them when they were lost.
//!
//! Knowing "churned on D" for a past D without keeping every activity day: each customer keeps
//! ([`ChurnTrack`], resident and bounded) their latest activity day, the standing closure or
//! recorded churn, and the *ended* losses: a dormancy spell (a gap between two activity days
//! longer than `churned_days`) or a recorded churn undone by a reactivation. A spell is kept
//! exactly whatever order facts arrive in: a later activity day closes the open gap, an
//! earlier one arriving late splits the spell it falls in (a gap shorter than the rule is no
//! spell, and adding a day only shortens gaps). Ended losses are kept while they ended within
//! [`ENDED_KEPT_DAYS`] of the latest activity, and at most [`ENDED_MAX`]: older periods than
//! that read a spell as never having happened (documented in `schema/rules.md`).

use std::collections::BTreeMap;

use crm_domain::customer::{Assignment, Lifecycle};
use crm_domain::ids::{BranchId, CustomerId, StaffId};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use crate::model::{business_date, Model};
use crate::read_models::archive::CustomerRecord;

/// Ended losses are kept while they ended within this many days of the latest activity
/// (two years and a bit: a year-to-date period of last year still reads them).
pub const ENDED_KEPT_DAYS: i64 = 800;
/// At most this many ended losses per customer.
pub const ENDED_MAX: usize = 16;

/// Why a customer counts as churned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LossCause {
    /// No trade, reaching contact or account activity for `[churn] churned_days`.
    Dormant,
    /// The customer's account was closed (销户) while they were served.
    Closed,
    /// Management recorded the churn (`markCustomerChurned`).
    Recorded,
}

/// A loss: its cause, the day it began and (once ended) the day it ended, and who served the
/// customer then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    pub cause: LossCause,
    pub since: Date,
    pub until: Option<Date>,
    pub by: Option<Assignment>,
}

impl Loss {
    fn covers(&self, d: Date) -> bool {
        self.since <= d && self.until.is_none_or(|u| d < u)
    }
}

/// What a customer's churn is read from (see the module's documentation). Bounded: one date,
/// two losses and at most [`ENDED_MAX`] ended ones.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChurnTrack {
    /// The latest activity day seen.
    pub last: Option<Date>,
    /// Who served the customer when their current dormancy crossed `churned_days`, fixed by a
    /// reassignment after the crossing (None: whoever serves them now).
    pub crossed_under: Option<Assignment>,
    /// A closure or recorded churn that stands.
    pub lost: Option<Loss>,
    /// Ended losses, by `since`.
    pub ended: Vec<Loss>,
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

impl ChurnTrack {
    fn last_or(&self, registered: Date) -> Date {
        self.last.map_or(registered, |l| l.max(registered))
    }

    /// An activity of the customer on `day` (served by `now`).
    pub(crate) fn activity(
        &mut self,
        registered: Date,
        day: Date,
        churned_days: u32,
        now: Option<Assignment>,
    ) {
        let cd = days(churned_days);
        let last = self.last_or(registered);
        if day > last {
            if day - last > cd {
                self.ended.push(Loss {
                    cause: LossCause::Dormant,
                    since: last + cd,
                    until: Some(day),
                    by: self.crossed_under.or(now),
                });
            }
            self.last = Some(day);
            self.crossed_under = None;
        } else if day < last && day > registered {
            // A day arriving late splits the dormancy spell it falls in.
            let inside = self.ended.iter().position(|l| {
                l.cause == LossCause::Dormant
                    && l.since - cd < day
                    && l.until.is_some_and(|u| day < u)
            });
            if let Some(i) = inside {
                let spell = self.ended.remove(i);
                let from = spell.since - cd;
                if day - from > cd {
                    self.ended.push(Loss {
                        until: Some(day),
                        ..spell
                    });
                }
                if let Some(to) = spell.until.filter(|to| *to - day > cd) {
                    self.ended.push(Loss {
                        since: day + cd,
                        until: Some(to),
                        ..spell
                    });
                }
            }
        }
        self.trim();
    }

    /// A prospect's activation on `day`: the customer's dormancy counts from here, not from
    /// registration (a prospect was in no book, so the time before is no spell).
    pub(crate) fn started(&mut self, day: Date) {
        if self.last.is_none_or(|l| l < day) {
            self.last = Some(day);
            self.crossed_under = None;
        }
    }

    /// A reassignment on `day`: a dormancy that crossed the rule before stays the previous
    /// manager's.
    pub(crate) fn reassigned(
        &mut self,
        registered: Date,
        day: Date,
        churned_days: u32,
        before: Option<Assignment>,
    ) {
        if self.crossed_under.is_none() && self.last_or(registered) + days(churned_days) <= day {
            self.crossed_under = before;
        }
    }

    /// A closure or a recorded churn on `day`; a loss that stands already stays.
    pub(crate) fn lose(&mut self, cause: LossCause, day: Date, by: Option<Assignment>) {
        if self.lost.is_none() {
            self.lost = Some(Loss {
                cause,
                since: day,
                until: None,
                by,
            });
        }
    }

    /// An activation or reactivation on `day`: a standing loss ends.
    pub(crate) fn regain(&mut self, day: Date) {
        if let Some(l) = self.lost.take() {
            self.ended.push(Loss {
                until: Some(day.max(l.since)),
                ..l
            });
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.ended.sort_by_key(|l| l.since);
        if let Some(last) = self.last {
            let keep_from = last - Duration::days(ENDED_KEPT_DAYS);
            self.ended
                .retain(|l| l.until.is_none_or(|u| u >= keep_from));
        }
        if self.ended.len() > ENDED_MAX {
            let cut = self.ended.len() - ENDED_MAX;
            self.ended.drain(..cut);
        }
    }
}

/// The loss that makes `c` churned on `d`, if any.
pub fn churned_on(c: &CustomerRecord, d: Date, churned_days: u32) -> Option<Loss> {
    if matches!(c.lifecycle, Lifecycle::Prospect | Lifecycle::Merged) {
        return None;
    }
    loss_on(c, business_date(c.registered_at), d, churned_days)
}

/// [`churned_on`] for a customer who can churn, registered on `registered` (what a pass over
/// many dates computes once per customer).
pub(crate) fn loss_on(
    c: &CustomerRecord,
    registered: Date,
    d: Date,
    churned_days: u32,
) -> Option<Loss> {
    if d < registered {
        return None;
    }
    let t = &c.churn_track;
    if let Some(l) = t.lost.filter(|l| l.covers(d)) {
        return Some(l);
    }
    if let Some(l) = t.ended.iter().find(|l| l.covers(d)) {
        return Some(*l);
    }
    let last = t.last_or(registered);
    let crossing = last + days(churned_days);
    (d >= crossing).then_some(Loss {
        cause: LossCause::Dormant,
        since: crossing,
        until: None,
        by: t.crossed_under.or(c.assignment),
    })
}

/// A customer counted as churned in a period, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnedCustomer {
    pub customer: CustomerId,
    pub cause: LossCause,
    /// Dormant since, closed on, recorded on.
    pub since: Date,
}

/// The first and the last day of a range of month indexes (`month_index`).
pub fn month_days(from: u32, to: u32) -> (Date, Date) {
    let first = |idx: u32| {
        let year = i32::try_from(idx / 12).unwrap_or(0);
        let month =
            Month::try_from(u8::try_from(idx % 12 + 1).unwrap_or(1)).unwrap_or(Month::January);
        Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN)
    };
    let start = first(from);
    let end = first(to.saturating_add(1)).previous_day().unwrap_or(start);
    (start, end)
}

/// Who lost which customers in a period: per staff member and per branch, the customers not
/// churned at the end of the day before `start` and churned on `end`, by who served them when
/// they were lost. Sorted by customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodChurn {
    pub by_staff: BTreeMap<StaffId, Vec<ChurnedCustomer>>,
    pub by_branch: BTreeMap<BranchId, Vec<ChurnedCustomer>>,
}

/// The churn of each `(start, end)` period over every customer (resident records only, no
/// read of history), in one pass: each
/// customer's state is read once per distinct boundary (the day before a start, an end), so
/// a year of months costs one pass, not twelve (a series, a ranking with its previous period).
pub fn period_churns(m: &Model, churned_days: u32, periods: &[(Date, Date)]) -> Vec<PeriodChurn> {
    if periods.is_empty() {
        return Vec::new();
    }
    let before = |start: Date| start.previous_day().unwrap_or(start);
    let mut dates: Vec<Date> = periods
        .iter()
        .flat_map(|(start, end)| [before(*start), *end])
        .collect();
    dates.sort_unstable();
    dates.dedup();
    let index = |d: Date| dates.binary_search(&d).unwrap_or(0);
    let bounds: Vec<(usize, usize)> = periods
        .iter()
        .map(|(start, end)| (index(before(*start)), index(*end)))
        .collect();
    let mut out = vec![PeriodChurn::default(); periods.len()];
    let mut state: Vec<Option<Loss>> = Vec::with_capacity(dates.len());
    for c in m.customers.values() {
        if matches!(c.lifecycle, Lifecycle::Prospect | Lifecycle::Merged) {
            continue;
        }
        let registered = business_date(c.registered_at);
        state.clear();
        state.extend(
            dates
                .iter()
                .map(|d| loss_on(c, registered, *d, churned_days)),
        );
        for (churn, (was, is)) in out.iter_mut().zip(&bounds) {
            if state.get(*was).is_some_and(Option::is_some) {
                continue;
            }
            let Some(loss) = state.get(*is).copied().flatten() else {
                continue;
            };
            let entry = ChurnedCustomer {
                customer: c.id,
                cause: loss.cause,
                since: loss.since,
            };
            if let Some(a) = loss.by {
                churn.by_branch.entry(a.branch).or_default().push(entry);
                if let Some(s) = a.manager {
                    churn.by_staff.entry(s).or_default().push(entry);
                }
            }
        }
    }
    for churn in &mut out {
        for list in churn
            .by_staff
            .values_mut()
            .chain(churn.by_branch.values_mut())
        {
            list.sort_by_key(|c| c.customer);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn a_late_day_splits_the_spell_it_falls_in_as_if_it_had_come_in_order() {
        let reg = date!(2024 - 01 - 01);
        let days = [
            date!(2024 - 01 - 10),
            date!(2024 - 12 - 01),
            date!(2024 - 06 - 01),
            date!(2024 - 03 - 01),
        ];
        let mut in_order = ChurnTrack::default();
        let mut sorted = days;
        sorted.sort();
        for d in sorted {
            in_order.activity(reg, d, 100, None);
        }
        let mut late = ChurnTrack::default();
        for d in days {
            late.activity(reg, d, 100, None);
        }
        assert_eq!(in_order, late);
        // Jan 10 → Mar 1 (51 days) and Mar 1 → Jun 1 (92) are no spells; Jun 1 → Dec 1 is.
        assert_eq!(late.ended.len(), 1);
        assert_eq!(late.ended[0].since, date!(2024 - 09 - 09));
        assert_eq!(late.ended[0].until, Some(date!(2024 - 12 - 01)));
    }

    /// Every order of the same activity days gives the same track (Heap's permutations of
    /// seven days whose gaps fall either side of a 30-day rule).
    #[test]
    fn every_arrival_order_of_the_same_days_gives_the_same_track() {
        let reg = date!(2024 - 01 - 01);
        let mut days: Vec<Date> = [5, 20, 60, 95, 100, 170, 200]
            .iter()
            .map(|n| reg + Duration::days(*n))
            .collect();
        let fold = |order: &[Date]| {
            let mut t = ChurnTrack::default();
            for d in order {
                t.activity(reg, *d, 30, None);
            }
            t
        };
        let expected = fold(&days);
        // Gaps over 30 days: 20 → 60, 60 → 95, 100 → 170; 170 → 200 is 30 (no spell).
        let spells: Vec<(Date, Option<Date>)> =
            expected.ended.iter().map(|l| (l.since, l.until)).collect();
        assert_eq!(
            spells,
            vec![
                (reg + Duration::days(50), Some(reg + Duration::days(60))),
                (reg + Duration::days(90), Some(reg + Duration::days(95))),
                (reg + Duration::days(130), Some(reg + Duration::days(170))),
            ]
        );
        let n = days.len();
        let mut c = vec![0usize; n];
        let mut i = 0;
        let mut orders = 1;
        while i < n {
            if c[i] < i {
                if i % 2 == 0 {
                    days.swap(0, i);
                } else {
                    days.swap(c[i], i);
                }
                assert_eq!(fold(&days), expected, "{days:?}");
                orders += 1;
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        assert_eq!(orders, 5040);
    }

    #[test]
    fn a_prospects_time_before_activation_is_no_spell_and_a_reactivation_ends_a_loss() {
        let reg = date!(2024 - 01 - 01);
        let mut t = ChurnTrack::default();
        t.started(date!(2024 - 09 - 01));
        t.activity(reg, date!(2024 - 09 - 02), 100, None);
        assert!(t.ended.is_empty());
        // A recorded churn on 1 October, reactivated on 1 November: one ended loss of that
        // span; a second record while one stands changes nothing.
        t.lose(LossCause::Recorded, date!(2024 - 10 - 01), None);
        t.lose(LossCause::Closed, date!(2024 - 10 - 05), None);
        t.regain(date!(2024 - 11 - 01));
        assert_eq!(t.lost, None);
        assert_eq!(
            t.ended,
            vec![Loss {
                cause: LossCause::Recorded,
                since: date!(2024 - 10 - 01),
                until: Some(date!(2024 - 11 - 01)),
                by: None,
            }]
        );
        assert!(t.ended[0].covers(date!(2024 - 10 - 31)));
        assert!(!t.ended[0].covers(date!(2024 - 11 - 01)));
    }

    #[test]
    fn months_have_their_first_and_last_days() {
        let idx = crate::model::month_index(date!(2024 - 02 - 10));
        assert_eq!(
            month_days(idx, idx),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
        let dec = crate::model::month_index(date!(2024 - 12 - 10));
        assert_eq!(
            month_days(dec - 2, dec),
            (date!(2024 - 10 - 01), date!(2024 - 12 - 31))
        );
    }
}
