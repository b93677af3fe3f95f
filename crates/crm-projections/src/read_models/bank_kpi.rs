//! Bank KPI measures of a customer manager's book (issue 17 item 3): for a period, deposit
//! growth (period end against the end of the day before it), loan quality (the NPL ratio of the
//! book's loans at the period's end and the loans moved down a classification in it), new and
//! lost bank customers, and the book's contribution (`derive::bank`). Served beside the
//! securities appraisal on `staffPerformance` (`StaffPerformance::bank`).
//!
//! Computed when asked, from what `read_models::banking` keeps: each account's balances per
//! month ([`BalanceMonth`](crate::read_models::banking::BalanceMonth): the month-end stock is
//! the latest day recorded in the month) and each loan's class and latest downgrade. So:
//! - the book is the customers the staff member serves now (open customers, not closed or
//!   merged), as a team's figure is its members as the read model holds them now;
//! - a loan counts as non-performing by its class now, and a loan moved down twice in the
//!   period counts once (the latest move is kept);
//! - months older than the read model keeps (13) count as zero balances.

use crm_domain::ids::{CustomerId, StaffId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::derive::bank_contribution;
use crate::model::{madd, Model};
use crate::read_models::banking::balance_at;
use crate::read_models::performance::{bp, Period};
use crate::rules::RuleBook;

/// A book's bank measures for the days `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankMeasures {
    pub from: Date,
    pub to: Date,
    /// Customers of the book with bank business.
    pub bank_customers: i64,
    /// Deposits at the end of the day before the period and at its end, and the difference.
    pub deposits_at_start: Money,
    pub deposits_at_end: Money,
    pub deposit_growth: Money,
    /// Loan balances at the period's end, and those of non-performing class (次级/可疑/损失).
    pub loans: Money,
    pub non_performing: Money,
    pub npl_ratio_bp: i64,
    /// Loans moved down a classification in the period.
    pub loan_downgrades: i64,
    /// Customers whose first deposit account or loan opened in the period, and customers
    /// whose last one closed in it.
    pub new_bank_customers: i64,
    pub lost_bank_customers: i64,
    /// The book's contribution over the period (each month's, summed).
    pub contribution: Money,
}

fn month_date(index: u32, last: bool) -> Option<Date> {
    let year = i32::try_from(index / 12).ok()?;
    let month = Month::try_from(u8::try_from(index % 12 + 1).ok()?).ok()?;
    let day = if last { month.length(year) } else { 1 };
    Date::from_calendar_date(year, month, day).ok()
}

/// The days of a period, its end no later than `today`.
pub fn bank_period_days(period: Period, today: Date) -> Option<(Date, Date)> {
    let (first, last) = period.months();
    let from = month_date(first, false)?;
    let to = month_date(last, true)?.min(today);
    (from <= to).then_some((from, to))
}

/// One customer's part: adds to `out`.
fn add_customer(m: &Model, rules: &RuleBook, id: CustomerId, out: &mut BankMeasures) {
    let Some(bc) = m.bank_customers.get(&id) else {
        return;
    };
    let (from, to) = (out.from, out.to);
    let before = from.previous_day().unwrap_or(from);
    out.bank_customers += 1;
    let mut opened: Option<Date> = None;
    let mut closed: Option<Date> = None;
    let mut open_now = false;
    for d in bc.deposits.iter().filter_map(|d| m.deposits.get(d)) {
        out.deposits_at_start = madd(
            out.deposits_at_start,
            balance_at(&d.months, d.opened_on, d.closed_on, before),
        );
        out.deposits_at_end = madd(
            out.deposits_at_end,
            balance_at(&d.months, d.opened_on, d.closed_on, to),
        );
        opened = opened.min(Some(d.opened_on)).or(Some(d.opened_on));
        match d.closed_on {
            Some(c) => closed = closed.max(Some(c)),
            None => open_now = true,
        }
    }
    for l in bc.loans.iter().filter_map(|l| m.loans.get(l)) {
        let shut = l.closed.map(|(c, _)| c);
        let balance = balance_at(&l.months, l.start, shut, to);
        out.loans = madd(out.loans, balance);
        if l.class.is_non_performing() {
            out.non_performing = madd(out.non_performing, balance);
        }
        if l.downgrade.is_some_and(|g| g.on >= from && g.on <= to) {
            out.loan_downgrades += 1;
        }
        opened = opened.min(Some(l.start)).or(Some(l.start));
        match shut {
            Some(c) => closed = closed.max(Some(c)),
            None => open_now = true,
        }
    }
    if opened.is_some_and(|d| d >= from && d <= to) {
        out.new_bank_customers += 1;
    }
    if !open_now && closed.is_some_and(|d| d >= from && d <= to) {
        out.lost_bank_customers += 1;
    }
    let mut month_start = from;
    while month_start <= to {
        let month_end = month_date(crate::model::month_index(month_start), true)
            .unwrap_or(to)
            .min(to);
        if let Some(e) = bank_contribution(m, rules, id, month_start, month_end) {
            out.contribution = madd(out.contribution, e.contribution);
        }
        match month_end.next_day() {
            Some(next) => month_start = next,
            None => break,
        }
    }
}

/// The bank measures of `customers` for `from..=to`.
pub fn book_bank_measures(
    m: &Model,
    rules: &RuleBook,
    customers: impl IntoIterator<Item = CustomerId>,
    from: Date,
    to: Date,
) -> BankMeasures {
    let mut out = BankMeasures {
        from,
        to,
        bank_customers: 0,
        deposits_at_start: Money::ZERO,
        deposits_at_end: Money::ZERO,
        deposit_growth: Money::ZERO,
        loans: Money::ZERO,
        non_performing: Money::ZERO,
        npl_ratio_bp: 0,
        loan_downgrades: 0,
        new_bank_customers: 0,
        lost_bank_customers: 0,
        contribution: Money::ZERO,
    };
    for id in customers {
        add_customer(m, rules, id, &mut out);
    }
    out.deposit_growth = Money::from_minor(
        out.deposits_at_end
            .minor()
            .saturating_sub(out.deposits_at_start.minor()),
    );
    out.npl_ratio_bp = bp(out.non_performing.minor(), out.loans.minor());
    out
}

/// The bank measures of the customers `staff` serves now, for `period` (to the log's latest
/// business date at most); None when none of them has bank business or the period has not
/// begun.
pub fn staff_bank_measures(
    m: &Model,
    rules: &RuleBook,
    staff: StaffId,
    period: Period,
) -> Option<BankMeasures> {
    let (from, to) = bank_period_days(period, crate::model::today(m, None))?;
    let mut book: Vec<CustomerId> = m
        .todo_index
        .customers_of(staff)
        .filter(|c| {
            m.customers
                .get(c)
                .is_some_and(|r| r.manager() == Some(staff))
        })
        .collect();
    book.sort_unstable();
    book.dedup();
    let out = book_bank_measures(m, rules, book, from, to);
    (out.bank_customers > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_period_runs_from_its_first_day_to_its_last_or_today() {
        let today = date!(2024 - 04 - 15);
        let month = |month| Period::Month { year: 2024, month };
        assert_eq!(
            bank_period_days(month(2), today),
            Some((date!(2024 - 02 - 01), date!(2024 - 02 - 29)))
        );
        assert_eq!(
            bank_period_days(month(4), today),
            Some((date!(2024 - 04 - 01), today))
        );
        assert_eq!(bank_period_days(month(5), today), None);
        assert_eq!(
            bank_period_days(
                Period::Quarter {
                    year: 2024,
                    quarter: 1
                },
                today
            ),
            Some((date!(2024 - 01 - 01), date!(2024 - 03 - 31)))
        );
    }
}
