//! 客户贡献度 of a bank customer for a period (`[bank_contribution]`, schema/rules.md), term by
//! term:
//!
//! ```text
//! contribution = Σ deposits  average balance × (FTP − rate paid) × days / 365
//!              + Σ loans     average balance × (rate charged − FTP) × days / 365
//!              + fee income of the period's month
//!              − cost to serve × period days / 365
//!              − Σ loans     average balance × ECL rate of its class × days / 365
//! ```
//!
//! An account's FTP is its product's own price when the rules give one
//! (`ftp_deposit_product_bp`, `ftp_loan_product_bp`), else its kind's (deposits) or its term's
//! (loans); each line names which ([`FtpSource`]).
//!
//! An account's average balance is the mean of the end-of-day balances recorded for it in the
//! period's month (`BalanceMonth`); an account with none recorded that month is counted at its
//! latest balance recorded before the month, and its line says so. `days` is the number
//! of days of the period the account was open. Money is fixed point; each amount is rounded
//! half away from zero to 1/10000 yuan, so live and rebuilt models agree to the last digit.

use serde::{Deserialize, Serialize};
use time::Date;

use crm_domain::deposit::DepositTerm;
use crm_domain::ids::{CustomerId, DepositAccountId, LoanId};
use crm_domain::loan::LoanClass;
use crm_domain::{Money, Rate};

use super::Tier;
use crate::model::{madd, month_index, CustomerRecord, Model};
use crate::read_models::banking::BalanceMonth;
use crate::rules::{cost_key, BankContributionRules, BankTierRules, FtpSource, RuleBook};

/// How an account's balance for the period was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BalanceBasis {
    /// The mean of the end-of-day balances recorded in the period's month (`days_recorded`).
    MonthAverage,
    /// No balance recorded in the month: the latest one recorded before it (of
    /// `balance_date`: the last day recorded in the latest earlier month kept).
    LatestBalance,
    /// No balance recorded up to the period's end that the read model keeps: counted as zero.
    NoBalance,
}

/// One deposit account's spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositLine {
    pub account: DepositAccountId,
    pub product: String,
    pub term: DepositTerm,
    pub basis: BalanceBasis,
    pub average_balance: Money,
    pub days_recorded: u32,
    pub balance_date: Option<Date>,
    /// Days of the period the account was open.
    pub days: u32,
    pub rate_paid: Rate,
    pub ftp_bp: u32,
    /// Which price `ftp_bp` is: the product's own (`ftp_deposit_product_bp`) or the kind's.
    pub ftp_source: FtpSource,
    /// average × (FTP − rate paid) × days / 365.
    pub spread: Money,
    pub position: u64,
}

/// One loan's spread and expected credit loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanLine {
    pub loan: LoanId,
    pub product: String,
    pub class: LoanClass,
    pub basis: BalanceBasis,
    pub average_balance: Money,
    pub days_recorded: u32,
    pub balance_date: Option<Date>,
    pub days: u32,
    pub rate_charged: Rate,
    /// Whether the loan is short-term (at most `SHORT_LOAN_MONTHS`) for its FTP.
    pub short_term: bool,
    pub ftp_bp: u32,
    /// Which price `ftp_bp` is: the product's own (`ftp_loan_product_bp`) or the term's.
    pub ftp_source: FtpSource,
    /// average × (rate charged − FTP) × days / 365.
    pub spread: Money,
    pub ecl_bp: u32,
    /// average × ECL rate × days / 365.
    pub expected_credit_loss: Money,
    pub position: u64,
}

/// A bank customer's contribution for the days `from..=to`, with every input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankContributionExplain {
    pub rules_version: u32,
    pub rules_hash: String,
    pub customer: CustomerId,
    pub from: Date,
    pub to: Date,
    pub days: u32,
    pub deposits: Vec<DepositLine>,
    pub loans: Vec<LoanLine>,
    pub deposit_spread: Money,
    pub loan_spread: Money,
    /// Fee income recorded in the period's month.
    pub fee_income: Money,
    /// The `cost_to_serve` key the customer is costed under, its yearly cost and the period's
    /// share.
    pub cost_key: String,
    pub cost_to_serve_year: Money,
    pub cost_to_serve: Money,
    pub expected_credit_loss: Money,
    pub contribution: Money,
    /// The contribution scaled to a year (× 365 / days): what the tier is read from.
    pub annualised: Money,
    /// The tier the contribution earns when `[bank_contribution] tiers` is given.
    pub tier: Option<Tier>,
    pub tier_thresholds: Option<BankTierRules>,
}

const YEAR_DAYS: i128 = 365;

/// `amount × units / scale × days / 365`, rounded half away from zero.
fn accrue(amount: Money, units: i128, scale: i128, days: u32) -> Money {
    let num = i128::from(amount.minor()) * units * i128::from(days);
    let den = scale * YEAR_DAYS;
    let q = num / den;
    let r = num % den;
    let q = if r.abs() * 2 >= den {
        q + num.signum()
    } else {
        q
    };
    Money::from_minor(i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN }))
}

/// Basis points in `Rate` units (1bp = 0.0001).
fn bp_units(bp: u32) -> i128 {
    i128::from(bp) * i128::from(Rate::SCALE) / 10_000
}

/// Days of `from..=to` within `open..=close`.
fn open_days(from: Date, to: Date, open: Date, close: Option<Date>) -> u32 {
    let start = from.max(open);
    let end = close.map_or(to, |c| c.min(to));
    u32::try_from((end - start).whole_days() + 1).unwrap_or(0)
}

/// The balance of a period: the month's mean; else the month-end balance of the latest earlier
/// month kept with a day recorded; else the account's latest balance if recorded by `to`.
/// With the date of the balance used (the latest day recorded in the month for a mean).
fn balance_of(
    months: &[BalanceMonth],
    month: u32,
    balance: Money,
    balance_date: Option<Date>,
    to: Date,
) -> (BalanceBasis, Money, u32, Option<Date>) {
    if let Some(m) = months.iter().find(|m| m.month == month && m.days > 0) {
        return (BalanceBasis::MonthAverage, m.average(), m.days, m.last_date);
    }
    if let Some(m) = months.iter().rev().find(|m| m.month < month && m.days > 0) {
        return (BalanceBasis::LatestBalance, m.last, 0, m.last_date);
    }
    match balance_date {
        Some(d) if d <= to => (BalanceBasis::LatestBalance, balance, 0, Some(d)),
        _ => (BalanceBasis::NoBalance, Money::ZERO, 0, None),
    }
}

pub fn bank_tier(annualised: Money, t: &BankTierRules) -> Tier {
    if annualised >= t.diamond {
        Tier::Diamond
    } else if annualised >= t.gold {
        Tier::Gold
    } else if annualised >= t.silver {
        Tier::Silver
    } else {
        Tier::Standard
    }
}

fn deposit_lines(
    m: &Model,
    r: &BankContributionRules,
    ids: &[DepositAccountId],
    from: Date,
    to: Date,
) -> Vec<DepositLine> {
    let month = month_index(from);
    ids.iter()
        .filter_map(|id| m.deposits.get(id))
        .filter(|d| d.opened_on <= to && d.closed_on.is_none_or(|c| c >= from))
        .map(|d| {
            let (basis, average, recorded, balance_date) =
                balance_of(&d.months, month, d.balance, d.balance_date, to);
            let days = open_days(from, to, d.opened_on, d.closed_on);
            let (ftp_bp, ftp_source) = r.ftp_deposit(&d.product, d.term);
            let spread_units = bp_units(ftp_bp) - i128::from(d.rate.units());
            DepositLine {
                account: d.id,
                product: d.product.clone(),
                term: d.term,
                basis,
                average_balance: average,
                days_recorded: recorded,
                balance_date,
                days,
                rate_paid: d.rate,
                ftp_bp,
                ftp_source,
                spread: accrue(average, spread_units, i128::from(Rate::SCALE), days),
                position: d.position,
            }
        })
        .collect()
}

fn loan_lines(
    m: &Model,
    r: &BankContributionRules,
    ids: &[LoanId],
    from: Date,
    to: Date,
) -> Vec<LoanLine> {
    let month = month_index(from);
    ids.iter()
        .filter_map(|id| m.loans.get(id))
        .filter(|l| l.start <= to && l.closed.is_none_or(|(c, _)| c >= from))
        .map(|l| {
            let (basis, average, recorded, balance_date) =
                balance_of(&l.months, month, l.balance, l.balance_date, to);
            let days = open_days(from, to, l.start, l.closed.map(|(c, _)| c));
            let (ftp_bp, ftp_source, short_term) = r.ftp_loan(&l.product, l.start, l.maturity);
            let spread_units = i128::from(l.rate.units()) - bp_units(ftp_bp);
            let ecl_bp = r.ecl_bp_of(l.class);
            LoanLine {
                loan: l.id,
                product: l.product.clone(),
                class: l.class,
                basis,
                average_balance: average,
                days_recorded: recorded,
                balance_date,
                days,
                rate_charged: l.rate,
                short_term,
                ftp_bp,
                ftp_source,
                spread: accrue(average, spread_units, i128::from(Rate::SCALE), days),
                ecl_bp,
                expected_credit_loss: accrue(average, i128::from(ecl_bp), 10_000, days),
                position: l.position,
            }
        })
        .collect()
}

/// Customer `id`'s contribution for `from..=to` (one month or part of one: `to` is clamped to
/// `from`'s month). None when the rules have no `[bank_contribution]`, the customer is unknown
/// or has no bank business.
pub fn bank_contribution(
    m: &Model,
    rules: &RuleBook,
    id: CustomerId,
    from: Date,
    to: Date,
) -> Option<BankContributionExplain> {
    let r = rules.bank_contribution.as_ref()?;
    let c = m.customers.get(&id)?;
    let bc = m.bank_customers.get(&id)?;
    let month_end =
        Date::from_calendar_date(from.year(), from.month(), from.month().length(from.year()))
            .unwrap_or(from);
    let to = to.min(month_end).max(from);
    let days = u32::try_from((to - from).whole_days() + 1).unwrap_or(1);
    let deposits = deposit_lines(m, r, &bc.deposits, from, to);
    let loans = loan_lines(m, r, &bc.loans, from, to);
    let sum = |v: &mut dyn Iterator<Item = Money>| v.fold(Money::ZERO, madd);
    let deposit_spread = sum(&mut deposits.iter().map(|d| d.spread));
    let loan_spread = sum(&mut loans.iter().map(|l| l.spread));
    let expected_credit_loss = sum(&mut loans.iter().map(|l| l.expected_credit_loss));
    let fee_income = bc
        .fees
        .get(&month_index(from))
        .copied()
        .unwrap_or(Money::ZERO);
    let key = cost_key(c.kind, c.bank_segment);
    let cost_year = r.cost_to_serve.of_key(key);
    let cost_to_serve = accrue(cost_year, 1, 1, days);
    let contribution = Money::from_minor(
        deposit_spread
            .minor()
            .saturating_add(loan_spread.minor())
            .saturating_add(fee_income.minor())
            .saturating_sub(cost_to_serve.minor())
            .saturating_sub(expected_credit_loss.minor()),
    );
    let annualised = {
        let v = i128::from(contribution.minor()) * YEAR_DAYS / i128::from(days.max(1));
        Money::from_minor(i64::try_from(v).unwrap_or(if v > 0 { i64::MAX } else { i64::MIN }))
    };
    Some(BankContributionExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        customer: id,
        from,
        to,
        days,
        deposits,
        loans,
        deposit_spread,
        loan_spread,
        fee_income,
        cost_key: key.to_string(),
        cost_to_serve_year: cost_year,
        cost_to_serve,
        expected_credit_loss,
        contribution,
        annualised,
        tier: r.tiers.as_ref().map(|t| bank_tier(annualised, t)),
        tier_thresholds: r.tiers,
    })
}

/// The tier a customer who banks only (no securities account) earns from their contribution,
/// and the date it is evaluated at, when the rules give bank tiers (`[bank_contribution]
/// tiers`): the contribution of the last complete month before the month of their latest
/// recorded balance, annualised. A month, not the month to date, so a tier moves at most once a
/// month (and again only if that month's figures are corrected). None for anyone else.
pub fn bank_tier_of(m: &Model, rules: &RuleBook, c: &CustomerRecord) -> Option<(Tier, Date)> {
    let tiers = rules.bank_contribution.as_ref()?.tiers?;
    if !c.accounts.is_empty() {
        return None;
    }
    let bc = m.bank_customers.get(&c.id)?;
    let latest = bc
        .deposits
        .iter()
        .filter_map(|d| m.deposits.get(d)?.balance_date)
        .chain(bc.loans.iter().filter_map(|l| m.loans.get(l)?.balance_date))
        .max()?;
    let last = latest.replace_day(1).ok()?.previous_day()?;
    let first = last.replace_day(1).ok()?;
    let e = bank_contribution(m, rules, c.id, first, last)?;
    Some((bank_tier(e.annualised, &tiers), latest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accrual_rounds_half_away_from_zero() {
        // 100,000.0000 yuan at 1.10% for 30 days: 90.41095… yuan.
        let a = accrue(Money::from_minor(1_000_000_000), 1_100_000, 100_000_000, 30);
        assert_eq!(a, Money::from_minor(904_110));
        let b = accrue(
            Money::from_minor(1_000_000_000),
            -1_100_000,
            100_000_000,
            30,
        );
        assert_eq!(b, Money::from_minor(-904_110));
        assert_eq!(accrue(Money::ZERO, 5, 1, 30), Money::ZERO);
        // No overflow on the largest balance.
        let _ = accrue(Money::from_minor(i64::MAX), i128::from(Rate::SCALE), 1, 366);
    }
}
