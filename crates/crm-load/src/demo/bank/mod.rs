//! The bank demo (`DemoProfile::Bank`): a county rural credit cooperative (农村信用合作联社),
//! sent through the same command path and machinery as the brokerage demo (`Rng`, `Sender`,
//! `Ids`, lanes), and as deterministic: every id, command id, amount and time follows from the
//! seed and `until`.
//!
//! - The organisation (`org`): head-office staff (HQ, an operator who sends the core banking
//!   system's files, an auditor), the county as the one region, its outlets (the 营业部 a
//!   `BankOutlet`, the township 信用社 `CreditCooperative`s), each with a branch manager and
//!   customer managers in a farm-household and a small-business team (双层经营).
//! - The customers (`customers`), registered when the CRM went live, in the month before the
//!   daily data: farm households (农户, with members, land, village and main business),
//!   sole proprietors (个体工商户), small businesses (小微企业, institutions with registration,
//!   industry and size) and salaried individuals; some marked 跨行; a credit report summary
//!   (征信) for every borrower.
//! - Their products (`products`), as the core system holds them at go-live: demand accounts for
//!   most customers, time deposits (3 to 36 months) for some, maturing inside the window and
//!   after it; loans for some households and businesses (contract, disbursement, a monthly
//!   schedule of equal principal), a few maturing inside the window and a few already behind
//!   on an instalment; cards, e-banking sign-ups and wealth products.
//! - Then every calendar day of the window (`daily`; the core system reports every account
//!   every day, weekends included): each open deposit's balance (small flows, salaries on the
//!   15th, harvest receipts in July–August and October–November, spring spending on seed and
//!   fertiliser), time deposits closed on maturity with the funds moved to the demand account,
//!   each loan's position (balance falling on its due dates, days overdue growing on the loans
//!   behind), loans reclassified 正常→关注 at 30 days overdue and 关注→次级 at 90 by their
//!   outlet's branch manager, loans repaid and closed at maturity, fee income per customer on
//!   the last day of each month, and contacts by the customer managers.
//!
//! `DemoConfig::days` counts calendar days here, ending on `until`; nothing is recorded after
//! `until`.

use super::*;
use crm_domain::bank_services::{self, Card, CardKind, EChannel};
use crm_domain::customer::{
    BankSegment, Business, CreditReportSummary, ExternalFact, ExternalFactRecord, FarmHousehold,
    LandArea, SizeClass,
};
use crm_domain::deposit::{self, Currency, DepositDay, DepositKind};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{CardId, DepositAccountId, LoanId};
use crm_domain::loan::LoanDay;
use crm_domain::loan::{self, GuaranteeType, Instalment, LoanClass, LoanClosure, LoanContract};

mod customers;
mod daily;
mod org;
mod products;

use org::BankOrg;

/// The county: its resident-ID area code (余干县, 上饶市, 江西省).
const COUNTY_AREA: &str = "361127";

/// A bank customer's segment as the generator tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Farm,
    SoleProprietor,
    SmallBusiness,
    Salaried,
}

/// A generated customer.
#[derive(Debug)]
struct BankCustomer {
    id: CustomerId,
    n: u64,
    outlet: usize,
    manager: Actor,
    segment: Segment,
    registered: OffsetDateTime,
    /// Signed up for SMS alerts (a monthly fee).
    sms: bool,
    /// Holds a card (a yearly fee, charged in its issue month).
    card_month: Option<Month>,
    /// The demand account, if any (index into the deposits).
    demand: Option<usize>,
    /// Funds moved in from a matured time deposit, credited to the demand account next day.
    pending_credit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Demand,
    Time { maturity: Date },
}

/// A deposit account as the generator tracks it.
#[derive(Debug)]
struct DepositAcct {
    id: DepositAccountId,
    customer: usize,
    term: Term,
    opened_on: Date,
    /// End-of-day balance in minor units.
    balance: i64,
    closed: bool,
}

/// A loan as the generator tracks it.
#[derive(Debug)]
struct LoanAcct {
    id: LoanId,
    customer: usize,
    amount: i64,
    start: Date,
    maturity: Date,
    schedule: Vec<Instalment>,
    /// The first instalment the borrower missed: nothing is repaid from it on.
    missed: Option<Date>,
    class: LoanClass,
    closed: bool,
}

/// Everything the phases generate and the daily phase moves on.
struct Book {
    customers: Vec<BankCustomer>,
    deposits: Vec<DepositAcct>,
    loans: Vec<LoanAcct>,
}

/// Loads the bank demo into `app`; see the module documentation.
pub(super) async fn demo(
    app: &App,
    config: DemoConfig,
    mut progress: impl FnMut(DemoProgress),
) -> Result<DemoReport, LoadError> {
    let days_total = config.days;
    let seed = config.seed;
    let first_day = config.check(today())?;
    let ids = Ids(seed);
    let mut rng = Rng(seed);
    let mut out = Sender::new(app, seed, ids, at(config.until, 24 * 60), |p| {
        progress(DemoProgress { days_total, ..p })
    });
    out.report.profile = DemoProfile::Bank;
    // The CRM goes live a month before the daily data starts; the organisation first.
    let live = at(first_day - Duration::days(35), 9 * 60);
    let org = org::organisation(&mut out, &mut rng, ids, live)?;
    out.flush("organisation", 0).await?;

    // Sent a slice at a time, so what is queued does not grow with the customers. The
    // generator draws in the same order whatever the slices: all registrations, then all
    // products.
    let total = u64::from(config.customers);
    let mut registered = customers::Registered::default();
    let mut from = 0;
    while from < total {
        let to = total.min(from + CUSTOMERS_PER_FLUSH);
        customers::customers(
            &mut out,
            &mut rng,
            ids,
            &org,
            from..to,
            first_day,
            &mut registered,
        )?;
        out.flush("customers", 0).await?;
        from = to;
    }
    let mut book = Book {
        customers: registered.customers,
        deposits: Vec::new(),
        loans: Vec::new(),
    };
    out.report.customers = book.customers.len() as u64;

    let window = (first_day, config.until);
    let per_flush = CUSTOMERS_PER_FLUSH as usize;
    let mut from = 0;
    while from < book.customers.len() {
        let to = book.customers.len().min(from + per_flush);
        products::products(&mut out, &mut rng, ids, &org, &mut book, from..to, window)?;
        out.flush("products", 0).await?;
        from = to;
    }
    let days = daily::daily(&mut out, &mut rng, ids, &org, &mut book, window).await?;
    out.report.trading_days = days;
    out.report.seconds = out.started.elapsed().as_secs_f64();
    Ok(std::mem::take(&mut out.report))
}

fn text(s: &str) -> Result<ShortText, LoadError> {
    value("text", ShortText::parse(s))
}

/// `day` plus `months` calendar months, the day of month kept (up to the 28th).
fn add_months(day: Date, months: i32) -> Result<Date, LoadError> {
    let index = day.year() * 12 + i32::from(u8::from(day.month())) - 1 + months;
    let month = Month::try_from((index.rem_euclid(12) + 1) as u8)
        .map_err(|e| LoadError::Demo(format!("month: {e}")))?;
    Date::from_calendar_date(index.div_euclid(12), month, day.day().min(28))
        .map_err(|e| LoadError::Demo(format!("date: {e}")))
}

fn yuan(y: i64) -> i64 {
    y.saturating_mul(Money::SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_are_added_on_the_calendar() {
        assert_eq!(
            add_months(date!(2026 - 01 - 31), 1).unwrap(),
            date!(2026 - 02 - 28)
        );
        assert_eq!(
            add_months(date!(2026 - 11 - 15), 3).unwrap(),
            date!(2027 - 02 - 15)
        );
        assert_eq!(
            add_months(date!(2026 - 03 - 10), -3).unwrap(),
            date!(2025 - 12 - 10)
        );
    }
}
