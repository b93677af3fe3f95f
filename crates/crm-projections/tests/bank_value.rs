//! Issue 17 item 3: a bank customer's contribution (客户贡献度) from the rules'
//! `[bank_contribution]` (schema/rules.md), worked by hand and the same live and rebuilt.
//!
//! Given c0 (an individual, served by s2 at outlet 1), all opened on day 1 (2024-01-02):
//!
//! | what | facts |
//! |---|---|
//! | demand deposit, 0.35% | 100,000 on 2024-04-10, 120,000 on 04-20 sent as 150,000 then corrected to 140,000 |
//! | time deposit (12 months), 1.75% | 200,000 on 04-10 and 04-20 |
//! | loan, 12 months, 4.35% | 50,000 on 04-10, 40,000 on 04-20; moved pass → special mention (关注) on 04-15 |
//! | fees | 30 on 04-10, 20 on 04-20 |
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::deposit::{self, Currency, DepositAccount, DepositDay, DepositTerm};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{DepositAccountId, LoanId};
use crm_domain::loan::{self, GuaranteeType, LoanClass, LoanContract, LoanDay};
use crm_domain::values::ShortText;
use crm_domain::{AnyEvent, Money, Rate};
use crm_eventstore::EventStore;
use crm_projections::derive::{BalanceBasis, BankContributionExplain, Tier};
use crm_projections::views::{ExplainSubject, Explanation};
use crm_projections::{Projections, RuleBook};
use support::*;
use time::macros::date;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

type Timed = (AnyEvent, OffsetDateTime);

fn yuan(n: i64) -> Money {
    Money::from_yuan(n).unwrap()
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
/// The instant of a business date (10:00 Beijing).
fn when(d: Date) -> OffsetDateTime {
    at(u16::try_from((d - BASE).whole_days()).unwrap())
}

fn opened(n: u8, term: DepositTerm, rate_units: i64) -> Timed {
    let t = at(1);
    let account = DepositAccount {
        customer_id: cid(0),
        branch: bid(1),
        product: text(if n == 0 {
            "活期储蓄"
        } else {
            "整存整取"
        }),
        term,
        currency: Currency::Cny,
        rate: Rate::from_units(rate_units),
        opened_on: BASE + Duration::days(1),
    };
    let e = deposit::Event::DepositAccountOpened {
        account_id: dep(n),
        account,
        at: t,
    };
    (e.into(), t)
}

fn balance(n: u8, d: Date, amount: i64, corrects: Option<i64>) -> Timed {
    let t = when(d) + Duration::hours(10);
    let today = DepositDay {
        date: d,
        balance: yuan(amount),
    };
    let e = match corrects {
        None => deposit::Event::DepositBalanceRecorded {
            account_id: dep(n),
            customer_id: cid(0),
            day: today,
            at: t,
        },
        Some(prev) => deposit::Event::DepositBalanceCorrected {
            account_id: dep(n),
            customer_id: cid(0),
            previous: DepositDay {
                balance: yuan(prev),
                ..today
            },
            day: today,
            at: t + Duration::minutes(5),
        },
    };
    (e.into(), t + Duration::minutes(5))
}

fn loan_position(d: Date, amount: i64) -> Timed {
    let t = when(d) + Duration::hours(10);
    let e = loan::Event::LoanPositionRecorded {
        loan_id: lid(0),
        customer_id: cid(0),
        day: LoanDay {
            date: d,
            balance: yuan(amount),
            days_overdue: 0,
        },
        at: t,
    };
    (e.into(), t)
}

fn fee(d: Date, amount: i64) -> Timed {
    let t = when(d) + Duration::hours(11);
    let e = fee_income::Event::FeeIncomeRecorded {
        customer_id: cid(0),
        day: FeeDay {
            date: d,
            fee_type: FeeType::Settlement,
            amount: yuan(amount),
        },
        at: t,
    };
    (e.into(), t)
}

fn history() -> Vec<Timed> {
    let mut h = setup();
    let mut sim = Sim::default();
    h.extend(sim.events(&Step::Register(0, 0)));
    h.extend(sim.events(&Step::Assign(0, 2)));
    h.push(opened(0, DepositTerm::Demand, 350_000));
    h.push(opened(
        1,
        DepositTerm::Time {
            term_months: 12,
            maturity: date!(2025 - 01 - 02),
        },
        1_750_000,
    ));
    let t = at(1);
    let contract = LoanContract {
        customer_id: cid(0),
        branch: bid(1),
        product: text("农户小额信用贷款"),
        amount: yuan(50_000),
        rate: Rate::from_units(4_350_000),
        start: date!(2024 - 01 - 02),
        maturity: date!(2025 - 01 - 02),
        guarantee: GuaranteeType::Credit,
        purpose: text("生产经营"),
    };
    h.push((
        loan::Event::LoanContracted {
            loan_id: lid(0),
            contract,
            at: t,
        }
        .into(),
        t,
    ));
    let (d10, d20) = (date!(2024 - 04 - 10), date!(2024 - 04 - 20));
    h.push(balance(0, d10, 100_000, None));
    h.push(balance(1, d10, 200_000, None));
    h.push(loan_position(d10, 50_000));
    h.push(fee(d10, 30));
    let t = when(date!(2024 - 04 - 15));
    h.push((
        loan::Event::LoanReclassified {
            loan_id: lid(0),
            customer_id: cid(0),
            from: LoanClass::Pass,
            to: LoanClass::SpecialMention,
            reason: text("经营收入下降"),
            by: branch_manager(),
            at: t,
        }
        .into(),
        t,
    ));
    h.push(balance(0, d20, 150_000, None));
    h.push(balance(1, d20, 200_000, None));
    h.push(loan_position(d20, 40_000));
    h.push(balance(0, d20, 140_000, Some(150_000)));
    h.push(fee(d20, 20));
    // The first balance of May: the tier now follows April's contribution.
    h.push(balance(0, date!(2024 - 05 - 02), 140_000, None));
    h
}

fn april(p: &Projections) -> BankContributionExplain {
    p.with_model(|m, r| {
        crm_projections::derive::bank_contribution(
            m,
            r,
            cid(0),
            date!(2024 - 04 - 01),
            date!(2024 - 04 - 30),
        )
        .unwrap()
    })
}

/// c0's stored tier and the date it was evaluated at.
fn tier(p: &Projections) -> Option<(Tier, Option<Date>)> {
    p.with_model(|m, _| {
        crm_projections::read_models::archive::customer_records(m)
            .find(|c| c.id == cid(0))
            .map(|c| (c.derived.tier, c.derived.evaluated_on))
    })
}

fn minor(n: i64) -> Money {
    Money::from_minor(n)
}

#[test]
fn april_contribution_is_worked_term_by_term_and_the_same_live_and_rebuilt() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let rules = RuleBook::default_rules().unwrap();
        let history = history();
        let half = history.len() - 8;
        let mut n = 0;
        // Live: caught up before April's second half, flushed, reopened, then the rest.
        let mut live = Projections::open(&store, rules.clone()).unwrap();
        for (i, (e, t)) in history.iter().enumerate() {
            append(&store, &mut n, e, *t).await;
            if i == half {
                live.catch_up().unwrap();
                live.flush().unwrap();
                drop(live);
                live = Projections::open(&store, rules.clone()).unwrap();
            }
            if i == history.len() - 2 {
                // April done, May not begun: the tier follows March's contribution (no
                // balances, the cost to serve alone): standard.
                live.catch_up().unwrap();
                assert_eq!(tier(&live).map(|t| t.0), Some(Tier::Standard));
            }
        }
        live.catch_up().unwrap();
        let fresh = tempfile::tempdir().unwrap();
        let copy = copy_log(&store, fresh.path(), None).await;
        let rebuilt = Projections::open(&copy, rules).unwrap();
        rebuilt.catch_up().unwrap();
        let same = live.with_model(|a, _| {
            rebuilt.with_model(|b, _| crm_projections::model::same_content(a, b))
        });
        assert!(same, "the live model equals the rebuilt one");

        let e = april(&live);
        assert_eq!(e, april(&rebuilt));
        assert_eq!(e.days, 30);
        // Demand: mean of 100,000 and 140,000 (the correction replaced 150,000) = 120,000;
        // 120,000 × (1.50% − 0.35%) × 30 / 365 = 113.42465… → 113.4247.
        let d = &e.deposits[0];
        assert_eq!(d.basis, BalanceBasis::MonthAverage);
        assert_eq!((d.average_balance, d.days_recorded), (yuan(120_000), 2));
        assert_eq!((d.ftp_bp, d.days), (150, 30));
        assert_eq!(d.spread, minor(1_134_247));
        // Time: 200,000 × (2.60% − 1.75%) × 30 / 365 = 139.72602… → 139.7260.
        let t = &e.deposits[1];
        assert_eq!((t.average_balance, t.ftp_bp), (yuan(200_000), 260));
        assert_eq!(t.spread, minor(1_397_260));
        assert_eq!(e.deposit_spread, minor(2_531_507));
        // Loan: 12 months, short-term FTP 3.00%; mean 45,000;
        // 45,000 × (4.35% − 3.00%) × 30 / 365 = 49.93150… → 49.9315;
        // ECL of 关注: 45,000 × 2.00% × 30 / 365 = 73.97260… → 73.9726.
        let l = &e.loans[0];
        assert_eq!(l.class, LoanClass::SpecialMention);
        assert!(l.short_term);
        assert_eq!(
            (l.average_balance, l.ftp_bp, l.ecl_bp),
            (yuan(45_000), 300, 200)
        );
        assert_eq!(l.spread, minor(499_315));
        assert_eq!(l.expected_credit_loss, minor(739_726));
        // Fees 30 + 20; cost to serve an individual 120 a year × 30 / 365 = 9.8630.
        assert_eq!(e.fee_income, yuan(50));
        assert_eq!(e.cost_key, "individual");
        assert_eq!(e.cost_to_serve, minor(98_630));
        // 113.4247 + 139.7260 + 49.9315 + 50 − 9.8630 − 73.9726 = 269.2466;
        // a year: 269.2466 × 365 / 30 = 3,275.8336 → silver (1,000 ≤ … < 5,000).
        assert_eq!(e.contribution, minor(2_692_466));
        assert_eq!(e.annualised, minor(32_758_336));
        assert_eq!(e.tier, Some(Tier::Silver));

        // May: nothing recorded in the month, so the latest balances count, and the lines say so.
        let may = live.with_model(|m, r| {
            crm_projections::derive::bank_contribution(
                m,
                r,
                cid(0),
                date!(2024 - 05 - 01),
                date!(2024 - 05 - 31),
            )
            .unwrap()
        });
        assert_eq!(may.deposits[1].basis, BalanceBasis::LatestBalance);
        assert_eq!(may.deposits[1].average_balance, yuan(200_000));
        assert_eq!(may.deposits[1].balance_date, Some(date!(2024 - 04 - 20)));
        assert_eq!(may.deposits[0].basis, BalanceBasis::MonthAverage);
        assert_eq!(may.fee_income, Money::ZERO);
        // Before any balance: nothing to count.
        let jan = live.with_model(|m, r| {
            crm_projections::derive::bank_contribution(
                m,
                r,
                cid(0),
                date!(2024 - 01 - 01),
                date!(2024 - 01 - 31),
            )
            .unwrap()
        });
        assert_eq!(jan.deposits[0].basis, BalanceBasis::NoBalance);
        assert_eq!(jan.deposits[0].days, 30, "open from 01-02");

        // c0 holds no securities account, so the stored tier follows April's contribution
        // (silver) once May's first balance arrives; it was standard on March's (none).
        assert_eq!(
            tier(&live),
            Some((Tier::Silver, Some(date!(2024 - 05 - 02))))
        );
        assert_eq!(tier(&live), tier(&rebuilt));

        // The explanation resource serves the same figures, with the accounts' positions.
        let Some((Explanation::BankContribution(x), positions)) = live
            .explain(ExplainSubject::BankContribution {
                customer: cid(0),
                from: date!(2024 - 04 - 01),
                to: date!(2024 - 04 - 30),
            })
            .unwrap()
        else {
            panic!("no bank contribution explanation for c0")
        };
        assert_eq!(*x, e);
        assert_eq!(positions.len(), 3);
        // A customer without bank business has none; nor has anyone under rules without
        // the section.
        assert!(live
            .explain(ExplainSubject::BankContribution {
                customer: cid(1),
                from: date!(2024 - 04 - 01),
                to: date!(2024 - 04 - 30),
            })
            .unwrap()
            .is_none());
        copy.close().await.unwrap();
        store.close().await.unwrap();
    });
}

/// The bank KPI measures of s2's book (c0) and of outlet 1 in April: growth from nothing at
/// the end of March to 140,000 + 200,000, the 关注 loan not non-performing but moved down once,
/// no new or lost bank customer (everything opened in January), April's contribution.
#[test]
fn a_managers_book_and_the_outlet_carry_the_bank_kpi_measures() {
    use crm_projections::views::{BranchPeriod, Period};
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut n = 0;
        for (e, t) in history() {
            append(&store, &mut n, &e, t).await;
        }
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let april = Period::Month {
            year: 2024,
            month: 4,
        };
        let perf = p
            .with_model(|m, r| crm_projections::views::staff_performance(m, r, sid(2), april))
            .unwrap();
        let b = perf.bank.unwrap();
        assert_eq!(
            (b.from, b.to),
            (date!(2024 - 04 - 01), date!(2024 - 04 - 30))
        );
        assert_eq!(b.bank_customers, 1);
        assert_eq!(b.deposits_at_start, Money::ZERO);
        assert_eq!(b.deposits_at_end, yuan(340_000));
        assert_eq!(b.deposit_growth, yuan(340_000));
        assert_eq!(
            (b.loans, b.non_performing, b.npl_ratio_bp),
            (yuan(40_000), Money::ZERO, 0)
        );
        assert_eq!(b.loan_downgrades, 1);
        assert_eq!((b.new_bank_customers, b.lost_bank_customers), (0, 0));
        assert_eq!(b.contribution, minor(2_692_466));
        // May to date (1–2 May): nothing more deposited, so no growth; January: all new.
        let may = Period::Month {
            year: 2024,
            month: 5,
        };
        let b = p
            .with_model(|m, r| crm_projections::views::staff_bank_measures(m, r, sid(2), may))
            .unwrap();
        assert_eq!(
            (b.to, b.deposit_growth, b.loan_downgrades),
            (date!(2024 - 05 - 02), Money::ZERO, 0)
        );
        let jan = Period::Month {
            year: 2024,
            month: 1,
        };
        let b = p
            .with_model(|m, r| crm_projections::views::staff_bank_measures(m, r, sid(2), jan))
            .unwrap();
        assert_eq!(b.new_bank_customers, 1);
        // Someone serving no bank customer has no bank measures.
        assert!(p
            .with_model(|m, r| crm_projections::views::staff_bank_measures(m, r, sid(0), april))
            .is_none());
        // The outlet's dashboard counts the downgrade in April, not in May.
        let outlet = |month| {
            p.branch_dashboard(bid(1), BranchPeriod::Month { year: 2024, month })
                .unwrap()
                .banking
                .loan_downgrades
        };
        assert_eq!((outlet(4), outlet(5)), (1, 0));
        store.close().await.unwrap();
    });
}
