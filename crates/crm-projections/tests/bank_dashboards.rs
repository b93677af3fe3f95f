//! Issue 17 item 5: bank dashboards of an outlet, a region and the company, and the outlet
//! ranking with rank change (`read_models/bank_dashboards.rs`).
//!
//! Given outlets 0 and 1 in region R (the support's) and outlet 2 in region S (days after BASE,
//! 2024-01-01; January is days 0–30, February 31–59):
//!
//! | outlet | facts |
//! |---|---|
//! | 0 | c0 demand deposit opened day 1: 1,000 on day 10, 3,000 on day 40; c1 loan day 2: 10,000 on day 10, 8,000 on day 40, moved pass → substandard on day 41; c0 fee 70 on day 40 |
//! | 1 | c2 time deposit opened day 1: 5,000 on days 10 and 40; c3 demand deposit opened day 35: 3,000 on day 40, closed day 45 |
//! | 2 | c4 demand deposit opened day 1: 500 on day 10, 3,000 on day 40; c4 loan day 3: 2,000 on day 40 |
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::deposit::{self, Currency, DepositAccount, DepositDay, DepositTerm};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{BranchId, CustomerId, DepositAccountId, LoanId, RegionId};
use crm_domain::loan::{self, GuaranteeType, LoanClass, LoanContract, LoanDay};
use crm_domain::values::{OrgName, ShortText};
use crm_domain::{branch, region, AnyEvent, Money, Rate};
use crm_eventstore::EventStore;
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

fn day(n: u16) -> Date {
    BASE + Duration::days(i64::from(n))
}
fn yuan(n: i64) -> Money {
    Money::from_yuan(n).unwrap()
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn region_s() -> RegionId {
    RegionId::from(Uuid::from_u128(0x5E61))
}
fn dep(n: u8) -> DepositAccountId {
    DepositAccountId::from(Uuid::from_u128(0xDE00 + u128::from(n)))
}
fn lid(n: u8) -> LoanId {
    LoanId::from(Uuid::from_u128(0x1000 + u128::from(n)))
}
/// Deposit account `n` is customer `n`'s.
fn holder(n: u8) -> CustomerId {
    cid(n)
}

fn outlet_two() -> Vec<Timed> {
    let t = at(0) - Duration::days(5);
    vec![
        (
            region::Event::RegionEstablished {
                region_id: region_s(),
                name: OrgName::parse("余干县联社").unwrap(),
                at: t,
            }
            .into(),
            t,
        ),
        (
            branch::Event::BranchOpened {
                branch_id: bid(2),
                region_id: region_s(),
                name: OrgName::parse("信用社2").unwrap(),
                kind: branch::BranchKind::CreditCooperative,
                at: t,
            }
            .into(),
            t,
        ),
    ]
}

fn open_deposit(n: u8, outlet: BranchId, term: DepositTerm, on: u16) -> Timed {
    let t = at(on);
    let account = DepositAccount {
        customer_id: holder(n),
        branch: outlet,
        product: text("储蓄"),
        term,
        currency: Currency::Cny,
        rate: Rate::from_units(1_500_000),
        opened_on: day(on),
    };
    let e = deposit::Event::DepositAccountOpened {
        account_id: dep(n),
        account,
        at: t,
    };
    (e.into(), t)
}

fn balance(n: u8, d: u16, amount: i64) -> Timed {
    let t = at(d) + Duration::hours(10);
    let e = deposit::Event::DepositBalanceRecorded {
        account_id: dep(n),
        customer_id: holder(n),
        day: DepositDay {
            date: day(d),
            balance: yuan(amount),
        },
        at: t,
    };
    (e.into(), t)
}

fn close_deposit(n: u8, d: u16) -> Timed {
    let t = at(d) + Duration::hours(11);
    let e = deposit::Event::DepositAccountClosed {
        account_id: dep(n),
        customer_id: holder(n),
        closed_on: day(d),
        at: t,
    };
    (e.into(), t)
}

fn contract(n: u8, customer: u8, outlet: BranchId, start: u16) -> Timed {
    let t = at(start);
    let contract = LoanContract {
        customer_id: cid(customer),
        branch: outlet,
        product: text("农户小额信用贷款"),
        amount: yuan(10_000),
        rate: Rate::from_units(4_350_000),
        start: day(start),
        maturity: day(start + 365),
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

fn position(n: u8, customer: u8, d: u16, amount: i64) -> Timed {
    let t = at(d) + Duration::hours(10);
    let e = loan::Event::LoanPositionRecorded {
        loan_id: lid(n),
        customer_id: cid(customer),
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
    h.extend(outlet_two());
    // c0 is served at outlet 0 (staff 0's branch): the fee counts there.
    let mut sim = Sim::default();
    h.extend(sim.events(&Step::Register(0, 0)));
    h.extend(sim.events(&Step::Assign(0, 0)));
    h.push(open_deposit(0, bid(0), DepositTerm::Demand, 1));
    let time = DepositTerm::Time {
        term_months: 12,
        maturity: day(366),
    };
    h.push(open_deposit(2, bid(1), time, 1));
    h.push(open_deposit(4, bid(2), DepositTerm::Demand, 1));
    h.push(contract(1, 1, bid(0), 2));
    h.push(contract(4, 4, bid(2), 3));
    h.push(balance(0, 10, 1_000));
    h.push(balance(2, 10, 5_000));
    h.push(balance(4, 10, 500));
    h.push(position(1, 1, 10, 10_000));
    h.push(open_deposit(3, bid(1), DepositTerm::Demand, 35));
    h.push(balance(0, 40, 3_000));
    h.push(balance(2, 40, 5_000));
    h.push(balance(3, 40, 3_000));
    h.push(balance(4, 40, 3_000));
    h.push(position(1, 1, 40, 8_000));
    h.push(position(4, 4, 40, 2_000));
    let t = at(40) + Duration::hours(12);
    h.push((
        fee_income::Event::FeeIncomeRecorded {
            customer_id: cid(0),
            day: FeeDay {
                date: day(40),
                fee_type: FeeType::Settlement,
                amount: yuan(70),
            },
            at: t,
        }
        .into(),
        t,
    ));
    let t = at(41);
    h.push((
        loan::Event::LoanReclassified {
            loan_id: lid(1),
            customer_id: cid(1),
            from: LoanClass::Pass,
            to: LoanClass::Substandard,
            reason: text("逾期"),
            by: branch_manager(),
            at: t,
        }
        .into(),
        t,
    ));
    h.push(close_deposit(3, 45));
    h
}

/// The history folded live (caught up and flushed half-way) and, over another
/// store, folded in one go.
async fn live_and_rebuilt() -> (Vec<tempfile::TempDir>, Projections, Projections) {
    let events = history();
    let half = events.len() / 2;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = EventStore::open(a.path(), config()).unwrap();
    let rules = RuleBook::default_rules().unwrap();
    let live = Projections::open(&store, rules.clone()).unwrap();
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
    let rebuilt = Projections::open(&other, rules).unwrap();
    rebuilt.catch_up().unwrap();
    (vec![a, b], live, rebuilt)
}

fn dashboard(p: &Projections, scope: BankScope, period: BranchPeriod) -> Option<BankDashboard> {
    p.with_model(|m, r| views::bank_dashboard(m, Some(r), scope, period))
}

fn ranking(
    p: &Projections,
    scope: BankScope,
    by: OutletMeasure,
    period: BranchPeriod,
) -> Vec<OutletRank> {
    p.with_model(|m, r| views::outlet_ranking(m, Some(r), scope, by, period))
}

/// (outlet number, rank, previous rank, rank change) of a ranking.
fn ranks(r: &[OutletRank]) -> Vec<(u8, usize, Option<usize>, Option<i64>)> {
    r.iter()
        .map(|x| {
            let n = (0..3).find(|n| bid(*n) == x.line.outlet).unwrap();
            (n, x.rank, x.previous_rank, x.rank_change)
        })
        .collect()
}

fn figures(p: &Projections, outlet: u8, period: BranchPeriod) -> BankFigures {
    dashboard(p, BankScope::Outlet(bid(outlet)), period)
        .unwrap()
        .figures
}

#[test]
fn an_outlet_s_dashboard_has_stock_at_the_end_flows_over_the_period_and_bank_customers() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        let f = figures(&p, 0, FEB);
        assert_eq!(f.deposits_on, Some(day(40)));
        assert_eq!(f.deposits_by_kind, [yuan(3_000), Money::ZERO]);
        assert_eq!(f.deposits, yuan(3_000));
        // January's end: 1,000, so February grew by 2,000.
        assert_eq!(f.deposits_at_start, yuan(1_000));
        assert_eq!(f.deposit_growth, yuan(2_000));
        // The reclassification moved the latest position to substandard: all of it bad.
        assert_eq!(f.loans_by_class[2], yuan(8_000));
        assert_eq!((f.loans, f.non_performing), (yuan(8_000), yuan(8_000)));
        assert_eq!(f.npl_ratio_bp, 10_000);
        assert_eq!(f.fee_income, yuan(70));
        // c0 (a deposit) and c1 (a loan) bank here, both since January.
        assert_eq!(f.bank_customers, 2);
        assert_eq!((f.new_bank_customers, f.lost_bank_customers), (0, 0));
        let jan = figures(&p, 0, JAN);
        assert_eq!((jan.new_bank_customers, jan.bank_customers), (2, 2));
        assert_eq!((jan.new_deposit_accounts, jan.new_loans), (1, 1));
        assert_eq!(jan.npl_ratio_bp, 0);
        // The same stock and flows as the branch dashboard's banking section.
        let banking = p.branch_dashboard(bid(0), FEB).unwrap().banking;
        assert_eq!(banking.demand_deposits, f.deposits_by_kind[0]);
        assert_eq!(banking.loans_by_class, f.loans_by_class);
        assert_eq!(banking.fee_income, f.fee_income);
        assert_eq!(banking.npl_ratio_bp, f.npl_ratio_bp);

        // Outlet 1: c3 came in February and left in it; no loans, an NPL ratio of 0.
        let f1 = figures(&p, 1, FEB);
        assert_eq!(f1.deposits_by_kind, [yuan(3_000), yuan(5_000)]);
        assert_eq!((f1.new_bank_customers, f1.lost_bank_customers), (1, 1));
        assert_eq!(f1.bank_customers, 1);
        assert_eq!((f1.loans, f1.npl_ratio_bp), (Money::ZERO, 0));
        // Outlet 2: c4 holds a deposit and a loan there, one bank customer.
        assert_eq!(figures(&p, 2, FEB).bank_customers, 1);
        // A day: the stock of day 10, nothing grew in it.
        let d10 = figures(&p, 2, BranchPeriod::Day(day(10)));
        assert_eq!((d10.deposits, d10.deposit_growth), (yuan(500), yuan(500)));
        // Before any figures: zeros (the rules have `[bank_contribution]`: a contribution of
        // zero, not none); an unknown outlet or region: none.
        let dec = BranchPeriod::Month {
            year: 2023,
            month: 12,
        };
        let zeros = BankFigures {
            contribution: Some(Money::ZERO),
            ..BankFigures::default()
        };
        assert_eq!(figures(&p, 0, dec), zeros);
        assert!(dashboard(&p, BankScope::Outlet(bid(9)), FEB).is_none());
        let nowhere = RegionId::from(Uuid::from_u128(0xBAD));
        assert!(dashboard(&p, BankScope::Region(nowhere), FEB).is_none());
    });
}

#[test]
fn a_region_s_and_the_company_s_figures_are_the_sums_of_their_outlets() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        for period in [JAN, FEB, BranchPeriod::Day(day(40))] {
            let company = dashboard(&p, BankScope::Company, period).unwrap();
            let region_r = dashboard(&p, BankScope::Region(rid()), period).unwrap();
            let region_s = dashboard(&p, BankScope::Region(region_s()), period).unwrap();
            let outlets: Vec<BankFigures> = (0..3).map(|n| figures(&p, n, period)).collect();
            let sum = |fs: &[&BankFigures]| {
                let money = |f: fn(&BankFigures) -> Money| {
                    Money::from_minor(fs.iter().map(|x| f(x).minor()).sum())
                };
                let count = |f: fn(&BankFigures) -> i64| fs.iter().map(|x| f(x)).sum::<i64>();
                (
                    money(|f| f.deposits),
                    money(|f| f.deposit_growth),
                    money(|f| f.loans),
                    money(|f| f.non_performing),
                    money(|f| f.fee_income),
                    count(|f| f.bank_customers),
                    count(|f| f.new_bank_customers),
                    count(|f| f.lost_bank_customers),
                )
            };
            let of = |f: &BankFigures| sum(&[f]);
            assert_eq!(
                of(&company.figures),
                sum(&[&outlets[0], &outlets[1], &outlets[2]])
            );
            assert_eq!(of(&region_r.figures), sum(&[&outlets[0], &outlets[1]]));
            assert_eq!(of(&region_s.figures), of(&outlets[2]));
            assert_eq!(region_r.outlets.len(), 2);
            assert_eq!(company.outlets.len(), 3);
            for line in &company.outlets {
                let n = (0..3).find(|n| bid(*n) == line.outlet).unwrap();
                assert_eq!(line.figures, outlets[usize::from(n)]);
            }
        }
        // The ratio is the scope's own: 8,000 bad of 10,000 in February, 80%.
        let company = dashboard(&p, BankScope::Company, FEB).unwrap().figures;
        assert_eq!((company.loans, company.npl_ratio_bp), (yuan(10_000), 8_000));
        assert_eq!(company.loans_by_class[0], yuan(2_000));
        assert_eq!(company.deposits_on, Some(day(40)));
        let region = dashboard(&p, BankScope::Region(region_s()), FEB).unwrap();
        assert_eq!(region.name, "余干县联社");
        assert_eq!(region.figures.npl_ratio_bp, 0);
    });
}

#[test]
fn outlets_rank_by_each_measure_with_ties_sharing_a_rank_and_the_change_since_last_period() {
    runtime().block_on(async {
        let (_dirs, p, _) = live_and_rebuilt().await;
        let company = BankScope::Company;
        // Deposits: January 5,000 / 1,000 / 500 (December had no figures: no previous rank);
        // February 8,000 / 3,000 / 3,000 (a tie).
        assert_eq!(
            ranks(&ranking(&p, company, OutletMeasure::Deposits, JAN)),
            vec![(1, 1, None, None), (0, 2, None, None), (2, 3, None, None)]
        );
        assert_eq!(
            ranks(&ranking(&p, company, OutletMeasure::Deposits, FEB)),
            // Tied outlets are listed by name: 信用社2 before 营业部0.
            vec![
                (1, 1, Some(1), Some(0)),
                (2, 2, Some(3), Some(1)),
                (0, 2, Some(2), Some(0))
            ]
        );
        // Growth in February: 3,000 (outlet 1), 2,500 (outlet 2), 2,000 (outlet 0); in January
        // 5,000, 1,000 (outlet 0), 500 (outlet 2).
        assert_eq!(
            ranks(&ranking(&p, company, OutletMeasure::DepositGrowth, FEB)),
            vec![
                (1, 1, Some(1), Some(0)),
                (2, 2, Some(3), Some(1)),
                (0, 3, Some(2), Some(-1))
            ]
        );
        // NPL ratio, lowest first: outlet 2 (0% of 2,000), outlet 0 (100%), then outlet 1
        // without loans. In January outlet 0 (0% of 10,000) led; outlets 1 and 2 had no loan
        // positions yet and tied after it.
        assert_eq!(
            ranks(&ranking(&p, company, OutletMeasure::NplRatio, FEB)),
            vec![
                (2, 1, Some(2), Some(1)),
                (0, 2, Some(1), Some(-1)),
                (1, 3, Some(2), Some(-1))
            ]
        );
        // Loans, fee income, bank customers.
        let loans = ranking(&p, company, OutletMeasure::Loans, FEB);
        assert_eq!(
            ranks(&loans),
            vec![
                (0, 1, Some(1), Some(0)),
                (2, 2, Some(2), Some(0)),
                (1, 3, Some(2), Some(-1))
            ]
        );
        let fees = ranking(&p, company, OutletMeasure::FeeIncome, FEB);
        assert_eq!(fees[0].line.outlet, bid(0));
        assert_eq!((fees[1].rank, fees[2].rank), (2, 2));
        let customers = ranking(&p, company, OutletMeasure::BankCustomers, FEB);
        assert_eq!(
            ranks(&customers),
            vec![
                (0, 1, Some(1), Some(0)),
                (2, 2, Some(2), Some(0)),
                (1, 2, Some(2), Some(0))
            ]
        );
        // A region ranks its own outlets only.
        let region = ranking(&p, BankScope::Region(rid()), OutletMeasure::Deposits, FEB);
        assert_eq!(
            ranks(&region),
            vec![(1, 1, Some(1), Some(0)), (0, 2, Some(2), Some(0))]
        );
        // December: nobody had figures, so January's ranks have no previous rank.
        let dec_jan = ranking(
            &p,
            company,
            OutletMeasure::Deposits,
            BranchPeriod::Day(day(1)),
        );
        assert!(dec_jan
            .iter()
            .all(|r| r.previous_rank.is_none() && r.rank_change.is_none()));
        assert_eq!(dec_jan.len(), 3);
    });
}

#[test]
fn live_figures_and_rankings_equal_a_rebuild() {
    runtime().block_on(async {
        let (_dirs, live, rebuilt) = live_and_rebuilt().await;
        let scopes = [
            BankScope::Company,
            BankScope::Region(rid()),
            BankScope::Region(region_s()),
            BankScope::Outlet(bid(1)),
        ];
        for period in [JAN, FEB, BranchPeriod::Day(day(45))] {
            for scope in scopes {
                assert_eq!(
                    dashboard(&live, scope, period),
                    dashboard(&rebuilt, scope, period)
                );
            }
            for by in [
                OutletMeasure::Deposits,
                OutletMeasure::DepositGrowth,
                OutletMeasure::Loans,
                OutletMeasure::NplRatio,
                OutletMeasure::FeeIncome,
                OutletMeasure::BankCustomers,
            ] {
                assert_eq!(
                    ranking(&live, BankScope::Company, by, period),
                    ranking(&rebuilt, BankScope::Company, by, period)
                );
            }
        }
        assert!(live.with_model(
            |a, _| rebuilt.with_model(|b, _| crm_projections::model::same_content(a, b))
        ));
    });
}
