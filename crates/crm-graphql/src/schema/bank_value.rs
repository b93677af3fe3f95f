//! Value for a bank on the API (issue 17 item 3): `Customer.bankContribution(month)`, a bank
//! customer's contribution (客户贡献度) for a month or the month to date, term by term with
//! every input (`[bank_contribution]` in schema/rules.md). Reached only through a customer the
//! caller may read (`read_policy::may_read_customer`, as `Customer.banking`).

use async_graphql::{Enum, SimpleObject, ID};
use crm_domain::deposit::DepositTerm;
use crm_domain::ids::CustomerId;
use crm_projections::derive::{BankContributionExplain, DepositLine, LoanLine};
use crm_projections::rules::BankTierRules;
use crm_projections::views::{self, BankMeasures};
use time::{Date, Month};

use super::customers::{label, money};
use super::performance::month_arg;
use super::readside::{int, read_models, uuid_id, Tier};
use super::scalars::Long;
use crate::error::ApiError;

/// How an account's balance for the period was found.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_projections::derive::BalanceBasis")]
pub enum BalanceBasisView {
    /// The mean of the end-of-day balances recorded in the month (`daysRecorded`).
    MonthAverage,
    /// None recorded in the month: the latest balance recorded before (`balanceDate`).
    LatestBalance,
    /// No balance recorded up to the period's end: counted as zero.
    NoBalance,
}

/// One term of the contribution: `DEPOSIT_SPREAD`, `LOAN_SPREAD`, `FEE_INCOME` add;
/// `COST_TO_SERVE`, `EXPECTED_CREDIT_LOSS` are shown negative.
#[derive(SimpleObject, Debug)]
pub struct BankContributionTerm {
    pub name: String,
    /// Yuan, signed as it counts.
    pub amount: String,
}

/// A deposit account's spread: average balance × (FTP − rate paid) × days / 365.
#[derive(SimpleObject, Debug)]
pub struct BankDepositTermView {
    pub account_id: ID,
    pub product: String,
    /// `DEMAND` or `TIME`.
    pub kind: String,
    pub balance_basis: BalanceBasisView,
    pub average_balance: String,
    pub days_recorded: i32,
    pub balance_date: Option<String>,
    /// Days of the period the account was open.
    pub days: i32,
    pub rate_paid: String,
    pub ftp_bp: i32,
    /// The `[bank_contribution]` key the FTP is: `ftp_deposit_product_bp."<product>"` when the
    /// product has its own price, else `ftp_demand_bp` or `ftp_time_bp`.
    pub ftp_rule: String,
    pub spread: String,
    pub position: Long,
}

/// A loan's spread, average balance × (rate − FTP) × days / 365, and its expected credit
/// loss, average balance × the class's rate × days / 365.
#[derive(SimpleObject, Debug)]
pub struct BankLoanTermView {
    pub loan_id: ID,
    pub product: String,
    /// `PASS` … `LOSS`: the class the ECL rate is of.
    pub classification: String,
    pub balance_basis: BalanceBasisView,
    pub average_balance: String,
    pub days_recorded: i32,
    pub balance_date: Option<String>,
    pub days: i32,
    pub rate_charged: String,
    /// Short-term (at most 12 months) or medium/long-term FTP.
    pub short_term: bool,
    pub ftp_bp: i32,
    /// The `[bank_contribution]` key the FTP is: `ftp_loan_product_bp."<product>"` when the
    /// product has its own price, else `ftp_loan_short_bp` or `ftp_loan_long_bp`.
    pub ftp_rule: String,
    pub spread: String,
    pub ecl_bp: i32,
    pub expected_credit_loss: String,
    pub position: Long,
}

/// Minimum yearly contribution of each tier, yuan.
#[derive(SimpleObject, Debug)]
pub struct BankTierThresholds {
    pub silver: String,
    pub gold: String,
    pub diamond: String,
}

/// A bank customer's contribution for a period, term by term.
#[derive(SimpleObject, Debug)]
pub struct BankContributionView {
    pub rules_version: i32,
    pub rules_hash: String,
    pub from: String,
    pub to: String,
    pub days: i32,
    pub terms: Vec<BankContributionTerm>,
    pub deposit_spread: String,
    pub loan_spread: String,
    /// Fee income recorded in the period's month.
    pub fee_income: String,
    /// The `cost_to_serve` key the customer is costed under (`INDIVIDUAL`, `FARM_HOUSEHOLD`, …),
    /// its yearly cost and the period's share.
    pub cost_kind: String,
    pub cost_to_serve_year: String,
    pub cost_to_serve: String,
    pub expected_credit_loss: String,
    pub contribution: String,
    /// Scaled to a year (× 365 / days): what the tier is read from.
    pub annualised: String,
    /// The tier the contribution earns, when the rules give bank tiers.
    pub tier: Option<Tier>,
    pub tier_thresholds: Option<BankTierThresholds>,
    pub deposits: Vec<BankDepositTermView>,
    pub loans: Vec<BankLoanTermView>,
}

fn deposit(d: &DepositLine) -> BankDepositTermView {
    BankDepositTermView {
        account_id: uuid_id(d.account),
        product: d.product.clone(),
        kind: match d.term {
            DepositTerm::Demand => "DEMAND",
            DepositTerm::Time { .. } => "TIME",
        }
        .into(),
        balance_basis: d.basis.into(),
        average_balance: money(d.average_balance),
        days_recorded: int(d.days_recorded),
        balance_date: d.balance_date.map(|x| x.to_string()),
        days: int(d.days),
        rate_paid: d.rate_paid.to_string(),
        ftp_bp: int(d.ftp_bp),
        ftp_rule: d.ftp_source.rule_key(),
        spread: money(d.spread),
        position: Long(d.position),
    }
}

fn loan(l: &LoanLine) -> BankLoanTermView {
    BankLoanTermView {
        loan_id: uuid_id(l.loan),
        product: l.product.clone(),
        classification: label(l.class),
        balance_basis: l.basis.into(),
        average_balance: money(l.average_balance),
        days_recorded: int(l.days_recorded),
        balance_date: l.balance_date.map(|x| x.to_string()),
        days: int(l.days),
        rate_charged: l.rate_charged.to_string(),
        short_term: l.short_term,
        ftp_bp: int(l.ftp_bp),
        ftp_rule: l.ftp_source.rule_key(),
        spread: money(l.spread),
        ecl_bp: int(l.ecl_bp),
        expected_credit_loss: money(l.expected_credit_loss),
        position: Long(l.position),
    }
}

fn negated(m: crm_domain::Money) -> String {
    money(crm_domain::Money::from_minor(m.minor().saturating_neg()))
}

fn thresholds(t: &BankTierRules) -> BankTierThresholds {
    BankTierThresholds {
        silver: money(t.silver),
        gold: money(t.gold),
        diamond: money(t.diamond),
    }
}

impl From<&BankContributionExplain> for BankContributionView {
    fn from(e: &BankContributionExplain) -> Self {
        let term = |name: &str, amount: String| BankContributionTerm {
            name: name.into(),
            amount,
        };
        BankContributionView {
            rules_version: int(e.rules_version),
            rules_hash: e.rules_hash.clone(),
            from: e.from.to_string(),
            to: e.to.to_string(),
            days: int(e.days),
            terms: vec![
                term("DEPOSIT_SPREAD", money(e.deposit_spread)),
                term("LOAN_SPREAD", money(e.loan_spread)),
                term("FEE_INCOME", money(e.fee_income)),
                term("COST_TO_SERVE", negated(e.cost_to_serve)),
                term("EXPECTED_CREDIT_LOSS", negated(e.expected_credit_loss)),
            ],
            deposit_spread: money(e.deposit_spread),
            loan_spread: money(e.loan_spread),
            fee_income: money(e.fee_income),
            cost_kind: e.cost_key.to_ascii_uppercase(),
            cost_to_serve_year: money(e.cost_to_serve_year),
            cost_to_serve: money(e.cost_to_serve),
            expected_credit_loss: money(e.expected_credit_loss),
            contribution: money(e.contribution),
            annualised: money(e.annualised),
            tier: e.tier.map(Into::into),
            tier_thresholds: e.tier_thresholds.as_ref().map(thresholds),
            deposits: e.deposits.iter().map(deposit).collect(),
            loans: e.loans.iter().map(loan).collect(),
        }
    }
}

/// 客户经理 bank measures (issue 17 item 3): the book the staff member serves now, over the
/// period (to the log's latest business date at most).
#[derive(SimpleObject, Debug)]
pub struct StaffBankMeasuresView {
    pub from: String,
    pub to: String,
    /// Customers of the book with bank business.
    pub bank_customers: i32,
    /// Deposits at the end of the day before the period, at its end, and the growth.
    pub deposits_at_start: String,
    pub deposits_at_end: String,
    pub deposit_growth: String,
    /// Loan balances at the period's end and those of non-performing class (次级/可疑/损失),
    /// by each loan's class now.
    pub loan_balance: String,
    pub non_performing: String,
    pub npl_ratio_percent: f64,
    /// Loans moved down a classification in the period (each loan's latest move).
    pub loan_downgrades: i32,
    /// Customers whose first deposit account or loan opened in the period; whose last one
    /// closed in it.
    pub new_bank_customers: i32,
    pub lost_bank_customers: i32,
    /// The book's contribution (客户贡献度, `[bank_contribution]`) over the period.
    pub contribution: String,
}

impl From<&BankMeasures> for StaffBankMeasuresView {
    fn from(b: &BankMeasures) -> Self {
        StaffBankMeasuresView {
            from: b.from.to_string(),
            to: b.to.to_string(),
            bank_customers: int(b.bank_customers),
            deposits_at_start: money(b.deposits_at_start),
            deposits_at_end: money(b.deposits_at_end),
            deposit_growth: money(b.deposit_growth),
            loan_balance: money(b.loans),
            non_performing: money(b.non_performing),
            npl_ratio_percent: super::readside::centi(b.npl_ratio_bp),
            loan_downgrades: int(b.loan_downgrades),
            new_bank_customers: int(b.new_bank_customers),
            lost_bank_customers: int(b.lost_bank_customers),
            contribution: money(b.contribution),
        }
    }
}

/// The days of `month` (YYYY-MM) up to `today`, or of the month of `today` to date when none
/// is given. A month after `today`'s is refused.
fn period(month: Option<&str>, today: Date) -> Result<(Date, Date), ApiError> {
    let (year, mo) = match month {
        Some(s) => month_arg("month", s)?,
        None => (today.year(), u8::from(today.month())),
    };
    let m = Month::try_from(mo).map_err(|_| ApiError::validation("month", "not a month"))?;
    let from = Date::from_calendar_date(year, m, 1)
        .map_err(|_| ApiError::validation("month", "not a calendar month"))?;
    let last = Date::from_calendar_date(year, m, m.length(year))
        .map_err(|_| ApiError::validation("month", "not a calendar month"))?;
    if from > today {
        return Err(ApiError::validation(
            "month",
            format!("{year:04}-{mo:02} is after the latest business date {today}"),
        ));
    }
    Ok((from, last.min(today)))
}

/// `Customer.bankContribution`: None when the customer has no bank business or the rules no
/// `[bank_contribution]`.
pub(crate) fn bank_contribution_of(
    ctx: &async_graphql::Context<'_>,
    id: CustomerId,
    as_of: Option<Date>,
    month: Option<&str>,
) -> Result<Option<BankContributionView>, ApiError> {
    read_models(ctx)?.read(|m, r| {
        let today = views::today(m, as_of);
        let (from, to) = period(month, today)?;
        Ok(
            crm_projections::derive::bank_contribution(m, r, id, from, to)
                .as_ref()
                .map(Into::into),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn the_period_is_the_month_to_date_a_past_month_whole_and_never_ahead() {
        let today = date!(2024 - 04 - 15);
        assert_eq!(period(None, today).unwrap(), (date!(2024 - 04 - 01), today));
        assert_eq!(
            period(Some("2024-02"), today).unwrap(),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
        assert!(period(Some("2024-05"), today).is_err());
        assert!(period(Some("2024-13"), today).is_err());
        assert!(period(Some("April"), today).is_err());
    }
}
