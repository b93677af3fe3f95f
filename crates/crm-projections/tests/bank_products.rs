//! Issue 17 items 3 and 5: bank figures by deposit and loan product, a product's own funds
//! transfer price (`[bank_contribution] ftp_loan_product_bp`), and the contribution of the
//! customers an outlet serves, on the dashboards and as a ranking measure
//! (`read_models/bank_dashboards.rs`, `derive/bank.rs`, `rules/bank.rs`).
//!
//! Given outlets 0 and 1 (region R), c0 served at outlet 0 (staff 0) and c2 at outlet 1 (staff
//! 2), the default rules plus `ftp_loan_product_bp = { "农户小额信用贷款" = 450 }`, every account
//! opened in January (days 1–3) and balances recorded on 10 February (day 40), then d0's of 1
//! March (day 60), so February is over for the read side (the contribution of a period not
//! over yet counts to the latest business date):
//!
//! | account | holder | outlet | product | rate | balance | FTP | spread |
//! |---|---|---|---|---|---|---|---|
//! | d0 | c0 | 0 | 活期储蓄 (demand) | 0.50% | 365,000 | 1.50% `ftp_demand_bp` | 1.00% |
//! | d1 | c0 | 1 | 活期储蓄 (demand) | 0.50% | 36,500 | 1.50% `ftp_demand_bp` | 1.00% |
//! | d2 | c2 | 1 | 整存整取一年 (time) | 1.60% | 730,000 (700,000 corrected) | 2.60% `ftp_time_bp` | 1.00% |
//! | l0 | c0 | 0 | 农户小额信用贷款 (12 months) | 5.50% | 365,000 | 4.50% its own | 1.00% |
//! | l2 | c2 | 1 | 个体经营贷款 (12 months) | 5.00% | 365,000 | 3.00% `ftp_loan_short_bp` | 2.00% |
//!
//! February has 29 days, and each account's February average is its one recorded balance, so
//! a spread of 1% on 365,000 is 365,000 × 1% × 29 / 365 = 290.
//!
//! - c0: d0 290 + d1 29 + l0 290 − l0 ECL (pass, 0.50%) 145 − cost to serve 120 × 29 / 365
//!   = 9.5342 → **454.4658** (without l0's own price, FTP 3.00%: its spread would be 725).
//! - c2: d2 580 + l2 580 − ECL 145 − 9.5342 → **1,005.4658**.
//!
//! So at the end of February:
//!
//! | | deposits by product | loans by product | contribution |
//! |---|---|---|---|
//! | outlet 0 | 活期储蓄 365,000 | 农户小额信用贷款 365,000 | 454.4658 (c0's, though d1 is at outlet 1) |
//! | outlet 1 | 活期储蓄 36,500, 整存整取一年 730,000 | 个体经营贷款 365,000 | 1,005.4658 (c2's) |
//! | region, company | 活期储蓄 401,500, 整存整取一年 730,000 | both 365,000 | 1,459.9316 |
//!
//! In January nothing is recorded: every account counts as zero and each customer costs
//! 120 × 31 / 365 = 10.1918, so both outlets tie at −10.1918.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::collections::BTreeMap;

use crm_domain::deposit::{self, Currency, DepositAccount, DepositDay, DepositTerm};
use crm_domain::ids::{BranchId, CustomerId, DepositAccountId, LoanId};
use crm_domain::loan::{self, GuaranteeType, LoanContract, LoanDay};
use crm_domain::values::ShortText;
use crm_domain::{AnyEvent, Money, Rate};
use crm_eventstore::EventStore;
use crm_projections::rules::{FtpSource, DEFAULT_RULES};
use crm_projections::views::{
    self, BankDashboard, BankFigures, BankScope, BranchPeriod, OutletMeasure, OutletRank,
};
use crm_projections::{Projections, RuleBook};
use support::*;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

type Timed = (AnyEvent, OffsetDateTime);

const JAN: BranchPeriod = BranchPeriod::Month {
    year: 2024,
    month: 1,
};
const FEB: BranchPeriod = BranchPeriod::Month {
    year: 2024,
    month: 2,
};
const DEMAND: &str = "活期储蓄";
const TIME: &str = "整存整取一年";
const FARM_LOAN: &str = "农户小额信用贷款";
const BUSINESS_LOAN: &str = "个体经营贷款";

fn day(n: u16) -> Date {
    BASE + Duration::days(i64::from(n))
}
fn yuan(n: i64) -> Money {
    Money::from_yuan(n).unwrap()
}
fn minor(n: i64) -> Money {
    Money::from_minor(n)
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn dep(n: u8) -> DepositAccountId {
    DepositAccountId::from(Uuid::from_u128(0xDE00 + u128::from(n)))
}
fn lid(n: u8) -> LoanId {
    LoanId::from(Uuid::from_u128(0x1000 + u128::from(n)))
}
fn pct(hundredths: i64) -> Rate {
    Rate::from_units(hundredths * 10_000)
}

fn rules() -> RuleBook {
    let from = "ftp_loan_long_bp = 350\n";
    assert!(DEFAULT_RULES.contains(from));
    let to = format!("{from}ftp_loan_product_bp = {{ \"{FARM_LOAN}\" = 450 }}\n");
    RuleBook::parse(&DEFAULT_RULES.replace(from, &to)).unwrap()
}

fn open_deposit(
    n: u8,
    holder: CustomerId,
    outlet: BranchId,
    product: &str,
    term: DepositTerm,
    rate: Rate,
) -> Timed {
    let t = at(1);
    let account = DepositAccount {
        customer_id: holder,
        branch: outlet,
        product: text(product),
        term,
        currency: Currency::Cny,
        rate,
        opened_on: day(1),
    };
    let e = deposit::Event::DepositAccountOpened {
        account_id: dep(n),
        account,
        at: t,
    };
    (e.into(), t)
}

fn balance(n: u8, holder: CustomerId, d: u16, amount: i64) -> Timed {
    let t = at(d) + Duration::hours(10);
    let e = deposit::Event::DepositBalanceRecorded {
        account_id: dep(n),
        customer_id: holder,
        day: DepositDay {
            date: day(d),
            balance: yuan(amount),
        },
        at: t,
    };
    (e.into(), t)
}

fn correct(n: u8, holder: CustomerId, d: u16, from: i64, to: i64) -> Timed {
    let t = at(d) + Duration::hours(11);
    let e = deposit::Event::DepositBalanceCorrected {
        account_id: dep(n),
        customer_id: holder,
        previous: DepositDay {
            date: day(d),
            balance: yuan(from),
        },
        day: DepositDay {
            date: day(d),
            balance: yuan(to),
        },
        at: t,
    };
    (e.into(), t)
}

fn contract(n: u8, holder: CustomerId, outlet: BranchId, product: &str, rate: Rate) -> Timed {
    let t = at(2);
    let contract = LoanContract {
        customer_id: holder,
        branch: outlet,
        product: text(product),
        amount: yuan(365_000),
        rate,
        start: day(2),
        maturity: day(2 + 365),
        guarantee: GuaranteeType::Credit,
        purpose: text("生产经营"),
    };
    let e = loan::Event::LoanContracted {
        loan_id: lid(n),
        contract,
        at: t,
    };
    (e.into(), t)
}

fn position(n: u8, holder: CustomerId, d: u16, amount: i64) -> Timed {
    let t = at(d) + Duration::hours(10);
    let e = loan::Event::LoanPositionRecorded {
        loan_id: lid(n),
        customer_id: holder,
        day: LoanDay {
            date: day(d),
            balance: yuan(amount),
            days_overdue: 0,
        },
        at: t,
    };
    (e.into(), t)
}

fn history() -> Vec<Timed> {
    let mut h = setup();
    let mut sim = Sim::default();
    for (c, staff) in [(0, 0), (2, 2)] {
        h.extend(sim.events(&Step::Register(c, 0)));
        h.extend(sim.events(&Step::Assign(c, staff)));
    }
    let (c0, c2) = (cid(0), cid(2));
    let time = DepositTerm::Time {
        term_months: 12,
        maturity: day(367),
    };
    h.push(open_deposit(
        0,
        c0,
        bid(0),
        DEMAND,
        DepositTerm::Demand,
        pct(50),
    ));
    h.push(open_deposit(
        1,
        c0,
        bid(1),
        DEMAND,
        DepositTerm::Demand,
        pct(50),
    ));
    h.push(open_deposit(2, c2, bid(1), TIME, time, pct(160)));
    h.push(contract(0, c0, bid(0), FARM_LOAN, pct(550)));
    h.push(contract(2, c2, bid(1), BUSINESS_LOAN, pct(500)));
    h.push(balance(0, c0, 40, 365_000));
    h.push(balance(1, c0, 40, 36_500));
    h.push(balance(2, c2, 40, 700_000));
    h.push(position(0, c0, 40, 365_000));
    h.push(position(2, c2, 40, 365_000));
    h.push(correct(2, c2, 40, 700_000, 730_000));
    h.push(balance(0, c0, 60, 365_000));
    h
}

/// The history folded live (caught up and flushed half-way) and, over another store, folded
/// in one go.
async fn live_and_rebuilt() -> (Vec<tempfile::TempDir>, Projections, Projections) {
    let events = history();
    let half = events.len() - 4;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = EventStore::open(a.path(), config()).unwrap();
    let live = Projections::open(&store, rules()).unwrap();
    let mut n = 0;
    for (e, t) in &events[..half] {
        append(&store, &mut n, e, *t).await;
    }
    live.catch_up().unwrap();
    live.flush().unwrap();
    for (e, t) in &events[half..] {
        append(&store, &mut n, e, *t).await;
    }
    live.catch_up().unwrap();

    let other = EventStore::open(b.path(), config()).unwrap();
    let mut n = 0;
    for (e, t) in &events {
        append(&other, &mut n, e, *t).await;
    }
    let rebuilt = Projections::open(&other, rules()).unwrap();
    rebuilt.catch_up().unwrap();
    (vec![a, b], live, rebuilt)
}

fn dashboard(p: &Projections, scope: BankScope, period: BranchPeriod) -> BankDashboard {
    p.with_model(|m, r| views::bank_dashboard(m, Some(r), scope, period))
        .unwrap()
}

fn figures(p: &Projections, outlet: u8, period: BranchPeriod) -> BankFigures {
    dashboard(p, BankScope::Outlet(bid(outlet)), period).figures
}

fn products(pairs: &[(&str, i64)]) -> BTreeMap<String, Money> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), yuan(*v)))
        .collect()
}

fn ranking(p: &Projections, period: BranchPeriod) -> Vec<OutletRank> {
    p.with_model(|m, r| {
        views::outlet_ranking(
            m,
            Some(r),
            BankScope::Company,
            OutletMeasure::Contribution,
            period,
        )
    })
}

#[test]
fn outlets_hold_their_period_end_balances_by_product() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        let f = figures(&p, 0, FEB);
        assert_eq!(f.deposits_by_product, products(&[(DEMAND, 365_000)]));
        assert_eq!(f.loans_by_product, products(&[(FARM_LOAN, 365_000)]));
        let f = figures(&p, 1, FEB);
        // The correction replaced 700,000 by 730,000.
        assert_eq!(
            f.deposits_by_product,
            products(&[(DEMAND, 36_500), (TIME, 730_000)])
        );
        assert_eq!(f.loans_by_product, products(&[(BUSINESS_LOAN, 365_000)]));
        // The products add up to the split by kind.
        assert_eq!(f.deposits_by_kind, [yuan(36_500), yuan(730_000)]);
        let company = dashboard(&p, BankScope::Company, FEB).figures;
        assert_eq!(
            company.deposits_by_product,
            products(&[(DEMAND, 401_500), (TIME, 730_000)])
        );
        assert_eq!(
            company.loans_by_product,
            products(&[(FARM_LOAN, 365_000), (BUSINESS_LOAN, 365_000)])
        );
        let region = dashboard(&p, BankScope::Region(rid()), FEB).figures;
        assert_eq!(region.deposits_by_product, company.deposits_by_product);
        // Nothing recorded in January: no stock, so no product.
        assert!(figures(&p, 1, JAN).deposits_by_product.is_empty());
    });
}

#[test]
fn a_product_s_own_ftp_applies_and_the_explanation_names_it() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        let e = p
            .with_model(|m, r| {
                crm_projections::derive::bank_contribution(m, r, cid(0), day(31), day(59))
            })
            .unwrap();
        let l0 = e.loans.iter().find(|l| l.loan == lid(0)).unwrap();
        assert_eq!(l0.ftp_bp, 450);
        assert_eq!(l0.ftp_source, FtpSource::LoanProduct(FARM_LOAN.into()));
        assert_eq!(l0.spread, yuan(290));
        assert_eq!(l0.expected_credit_loss, yuan(145));
        assert!(e
            .deposits
            .iter()
            .all(|d| d.ftp_source == FtpSource::Demand && d.ftp_bp == 150));
        assert_eq!(e.deposit_spread, yuan(319));
        assert_eq!(e.cost_to_serve, minor(95_342));
        assert_eq!(e.contribution, minor(4_544_658));
        let e = p
            .with_model(|m, r| {
                crm_projections::derive::bank_contribution(m, r, cid(2), day(31), day(59))
            })
            .unwrap();
        let l2 = e.loans.iter().find(|l| l.loan == lid(2)).unwrap();
        assert_eq!((l2.ftp_bp, &l2.ftp_source), (300, &FtpSource::LoanShort));
        assert_eq!(e.deposits[0].ftp_source, FtpSource::Time);
        assert_eq!(e.contribution, minor(10_054_658));
    });
}

#[test]
fn an_outlet_s_contribution_is_its_served_customers_and_ranks_outlets() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        assert_eq!(figures(&p, 0, FEB).contribution, Some(minor(4_544_658)));
        assert_eq!(figures(&p, 1, FEB).contribution, Some(minor(10_054_658)));
        let company = dashboard(&p, BankScope::Company, FEB).figures;
        assert_eq!(company.contribution, Some(minor(14_599_316)));
        assert_eq!(figures(&p, 0, JAN).contribution, Some(minor(-101_918)));
        // March is not over: its contribution counts 1 March only. c0: d0 365,000 × 1% / 365
        // = 10, d1 (latest balance 36,500) 1, l0 (latest 365,000) 10 − 5 ECL, less 120 / 365
        // = 0.3288: 15.6712.
        let march = BranchPeriod::Month {
            year: 2024,
            month: 3,
        };
        assert_eq!(figures(&p, 0, march).contribution, Some(minor(156_712)));

        let r = ranking(&p, FEB);
        let got: Vec<_> = r
            .iter()
            .map(|x| (x.line.outlet, x.rank, x.previous_rank, x.rank_change))
            .collect();
        // January: both −10.1918, tied first.
        assert_eq!(
            got,
            vec![
                (bid(1), 1, Some(1), Some(0)),
                (bid(0), 2, Some(1), Some(-1)),
            ]
        );
    });
}

#[test]
fn without_bank_contribution_rules_there_is_no_outlet_contribution() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        let start = DEFAULT_RULES.find("[bank_contribution]").unwrap();
        let end = DEFAULT_RULES.find("[reminders]").unwrap();
        let without = format!("{}{}", &DEFAULT_RULES[..start], &DEFAULT_RULES[end..]);
        let plain = RuleBook::parse(&without).unwrap();
        let d =
            p.with_model(|m, _| views::bank_dashboard(m, Some(&plain), BankScope::Company, FEB));
        let d = d.unwrap();
        assert_eq!(d.figures.contribution, None);
        assert!(d.outlets.iter().all(|o| o.figures.contribution.is_none()));
        // The product figures do not depend on the rules.
        assert_eq!(
            d.figures.deposits_by_product,
            products(&[(DEMAND, 401_500), (TIME, 730_000)])
        );
        // Not asked for (no rules given): left out, every other figure the same.
        let with = dashboard(&p, BankScope::Company, FEB);
        let left_out = p.with_model(|m, _| views::bank_dashboard(m, None, BankScope::Company, FEB));
        let mut left_out = left_out.unwrap();
        assert_eq!(left_out.figures.contribution, None);
        left_out.figures.contribution = with.figures.contribution;
        assert_eq!(left_out.figures, with.figures);
    });
}

#[test]
fn live_and_rebuilt_agree_on_products_and_contribution() {
    runtime().block_on(async {
        let (_dirs, live, rebuilt) = live_and_rebuilt().await;
        let scopes = [
            BankScope::Company,
            BankScope::Region(rid()),
            BankScope::Outlet(bid(0)),
            BankScope::Outlet(bid(1)),
        ];
        for period in [JAN, FEB, BranchPeriod::Day(day(40))] {
            for scope in scopes {
                assert_eq!(
                    dashboard(&live, scope, period),
                    dashboard(&rebuilt, scope, period),
                    "{scope:?} {period:?}"
                );
            }
            assert_eq!(ranking(&live, period), ranking(&rebuilt, period));
        }
    });
}
