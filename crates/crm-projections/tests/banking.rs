//! Issue 17 items 3–5 on the read side: a customer's bank business in the 360 view, the outlet
//! figures of the branch dashboard, and the bank to-dos (schema/rules.md, `[reminders]`).
//!
//! Given, at outlet (branch) 1, customers c0 and c1 served by manager s2 (days after BASE):
//!
//! | what | facts |
//! |---|---|
//! | c0 demand deposit | opened day 1; 1,000 on day 10, 1,200 on day 11 corrected to 1,500 |
//! | c0 time deposit | opened day 1, maturing day 40; 5,000 on days 10 and 11 |
//! | c0 loan | day 2, 10,000 disbursed; instalments due days 15 and 45; 10,000 on day 10, 9,000 and 3 days overdue on day 11; moved pass → substandard on day 12 |
//! | c1 loan | day 3; 30,000 on day 11 |
//! | c0 fees | 2023-12-20: 100; day 10: 50 settlement; day 11: 30 agency corrected to 20 |
//! | c0 services | a debit card, mobile banking, 2,000 of a wealth product |
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::bank_services::{self, Card, CardKind, EChannel};
use crm_domain::deposit::{self, Currency, DepositAccount, DepositDay, DepositTerm};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{CardId, DepositAccountId, LoanId};
use crm_domain::loan::{self, GuaranteeType, Instalment, LoanClass, LoanContract, LoanDay};
use crm_domain::values::ShortText;
use crm_domain::{AnyEvent, Money, Rate};
use crm_eventstore::EventStore;
use crm_projections::views::{BranchPeriod, TodoKind};
use crm_projections::{Projections, RuleBook};
use support::*;
use time::macros::date;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

type Timed = (AnyEvent, OffsetDateTime);

fn day(n: i64) -> Date {
    BASE + Duration::days(n)
}
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

fn opened(n: u8, term: DepositTerm) -> Timed {
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
        rate: Rate::from_units(1_500_000),
        opened_on: day(1),
    };
    let e = deposit::Event::DepositAccountOpened {
        account_id: dep(n),
        account,
        at: t,
    };
    (e.into(), t)
}

fn balance(n: u8, d: i64, yuan_: i64, corrects: Option<i64>) -> Timed {
    let t = at(u16::try_from(d).unwrap()) + Duration::hours(10);
    let today = DepositDay {
        date: day(d),
        balance: yuan(yuan_),
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
            at: t,
        },
    };
    (e.into(), t)
}

fn contracted(n: u8, c: u8, start: i64, amount: i64) -> Timed {
    let t = at(u16::try_from(start).unwrap());
    let contract = LoanContract {
        customer_id: cid(c),
        branch: bid(1),
        product: text(if n == 0 {
            "农户小额信用贷款"
        } else {
            "小微经营贷"
        }),
        amount: yuan(amount),
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

fn position(n: u8, c: u8, d: i64, yuan_: i64, overdue: u32) -> Timed {
    let t = at(u16::try_from(d).unwrap()) + Duration::hours(10);
    let e = loan::Event::LoanPositionRecorded {
        loan_id: lid(n),
        customer_id: cid(c),
        day: LoanDay {
            date: day(d),
            balance: yuan(yuan_),
            days_overdue: overdue,
        },
        at: t,
    };
    (e.into(), t)
}

fn fee(date: Date, fee_type: FeeType, amount: i64, corrects: Option<i64>) -> Timed {
    let t = at(11) + Duration::hours(11);
    let today = FeeDay {
        date,
        fee_type,
        amount: yuan(amount),
    };
    let e = match corrects {
        None => fee_income::Event::FeeIncomeRecorded {
            customer_id: cid(0),
            day: today,
            at: t,
        },
        Some(prev) => fee_income::Event::FeeIncomeCorrected {
            customer_id: cid(0),
            previous: FeeDay {
                amount: yuan(prev),
                ..today
            },
            day: today,
            at: t,
        },
    };
    (e.into(), t)
}

fn services() -> Vec<Timed> {
    let t = at(5);
    vec![
        (
            bank_services::Event::CardIssued {
                customer_id: cid(0),
                card_id: CardId::from(Uuid::from_u128(0xCA4D)),
                card: Card {
                    kind: CardKind::Debit,
                    number: text("6228****1234"),
                    issued_on: day(5),
                },
                at: t,
            }
            .into(),
            t,
        ),
        (
            bank_services::Event::EChannelSignedUp {
                customer_id: cid(0),
                channel: EChannel::MobileBanking,
                on: day(5),
                at: t,
            }
            .into(),
            t,
        ),
        (
            bank_services::Event::WealthProductSubscribed {
                customer_id: cid(0),
                product: text("丰收理财90天"),
                amount: yuan(2_000),
                on: day(5),
                matures_on: Some(day(95)),
                at: t,
            }
            .into(),
            t,
        ),
    ]
}

fn history() -> Vec<Timed> {
    let mut h = setup();
    let mut sim = Sim::default();
    for c in 0..2 {
        h.extend(sim.events(&Step::Register(c, 0)));
        h.extend(sim.events(&Step::Assign(c, 2)));
    }
    h.push(opened(0, DepositTerm::Demand));
    h.push(opened(
        1,
        DepositTerm::Time {
            term_months: 1,
            maturity: day(40),
        },
    ));
    h.push(contracted(0, 0, 2, 10_000));
    let t = at(2);
    h.push((
        loan::Event::LoanDisbursed {
            loan_id: lid(0),
            customer_id: cid(0),
            amount: yuan(10_000),
            on: day(2),
            at: t,
        }
        .into(),
        t,
    ));
    h.push((
        loan::Event::RepaymentScheduleSet {
            loan_id: lid(0),
            customer_id: cid(0),
            instalments: [15, 45]
                .map(|d| Instalment {
                    due: day(d),
                    principal: yuan(5_000),
                    interest: yuan(36),
                })
                .to_vec(),
            at: t,
        }
        .into(),
        t,
    ));
    h.push(contracted(1, 1, 3, 30_000));
    h.extend(services());
    h.push(balance(0, 10, 1_000, None));
    h.push(balance(1, 10, 5_000, None));
    h.push(position(0, 0, 10, 10_000, 0));
    h.push(fee(date!(2023 - 12 - 20), FeeType::Settlement, 100, None));
    h.push(fee(day(10), FeeType::Settlement, 50, None));
    h.push(balance(0, 11, 1_200, None));
    h.push(balance(1, 11, 5_000, None));
    h.push(position(0, 0, 11, 9_000, 3));
    h.push(position(1, 1, 11, 30_000, 0));
    h.push(fee(day(11), FeeType::Agency, 30, None));
    h.push(balance(0, 11, 1_500, Some(1_200)));
    h.push(fee(day(11), FeeType::Agency, 20, Some(30)));
    let t = at(12);
    h.push((
        loan::Event::LoanReclassified {
            loan_id: lid(0),
            customer_id: cid(0),
            from: LoanClass::Pass,
            to: LoanClass::Substandard,
            reason: text("逾期且经营困难"),
            by: branch_manager(),
            at: t,
        }
        .into(),
        t,
    ));
    h
}

async fn caught_up() -> (tempfile::TempDir, EventStore, Projections) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let mut n = 0;
    for (e, t) in history() {
        append(&store, &mut n, &e, t).await;
    }
    let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
    p.catch_up().unwrap();
    (dir, store, p)
}

#[test]
fn the_360_shows_latest_balances_worst_class_services_and_fee_income_of_month_and_year() {
    runtime().block_on(async {
        let (_dir, _store, p) = caught_up().await;
        let b = p.customer_banking(cid(0), Some(day(12))).unwrap();
        let s = &b.summary;
        // The corrected balance replaces the day's figure.
        assert_eq!(s.demand_deposits, yuan(1_500));
        assert_eq!(s.time_deposits, yuan(5_000));
        assert_eq!(s.loans, yuan(9_000));
        assert_eq!(s.worst_class, Some(LoanClass::Substandard));
        assert_eq!(s.max_days_overdue, 3);
        assert_eq!((s.cards, s.e_channels, s.wealth_products), (1, 1, 1));
        assert_eq!(s.wealth, yuan(2_000));
        // 50 + 20 (corrected from 30); December's 100 is last year's.
        assert_eq!(s.fee_income_month, yuan(70));
        assert_eq!(s.fee_income_year, yuan(70));
        let dec = p
            .customer_banking(cid(0), Some(date!(2023 - 12 - 31)))
            .unwrap();
        assert_eq!(dec.summary.fee_income_year, yuan(100));
        assert_eq!(b.deposits.len(), 2);
        assert_eq!(b.loans.len(), 1);
        assert_eq!(b.loans[0].balance_date, Some(day(11)));
        assert_eq!(b.loans[0].days_overdue, 3);
        assert!(p.customer_banking(cid(5), None).is_none());
    });
}

#[test]
fn the_outlet_dashboard_has_deposits_by_kind_loans_by_class_npl_and_the_periods_flows() {
    runtime().block_on(async {
        let (_dir, _store, p) = caught_up().await;
        let month = p
            .branch_dashboard(
                bid(1),
                BranchPeriod::Month {
                    year: 2024,
                    month: 1,
                },
            )
            .unwrap()
            .banking;
        assert_eq!(month.deposits_on, Some(day(11)));
        assert_eq!(
            (month.demand_deposits, month.time_deposits),
            (yuan(1_500), yuan(5_000))
        );
        assert_eq!(month.loans_on, Some(day(11)));
        // The reclassification moved c0's latest position to substandard.
        assert_eq!(
            month.loans_by_class,
            [
                yuan(30_000),
                Money::ZERO,
                yuan(9_000),
                Money::ZERO,
                Money::ZERO
            ]
        );
        assert_eq!(month.loans, yuan(39_000));
        assert_eq!(month.non_performing, yuan(9_000));
        assert_eq!(month.npl_ratio_bp, 2_307);
        assert_eq!(month.fee_income, yuan(70));
        assert_eq!((month.new_deposit_accounts, month.new_loans), (2, 2));
        assert_eq!(month.disbursed, yuan(10_000));
        let day10 = p
            .branch_dashboard(bid(1), BranchPeriod::Day(day(10)))
            .unwrap()
            .banking;
        assert_eq!(
            (day10.demand_deposits, day10.time_deposits),
            (yuan(1_000), yuan(5_000))
        );
        assert_eq!(day10.loans_by_class[0], yuan(10_000));
        assert_eq!(day10.npl_ratio_bp, 0);
        assert_eq!((day10.fee_income, day10.new_loans), (yuan(50), 0));
        // December: the fee before the accounts, no stock yet.
        let dec = p
            .branch_dashboard(
                bid(1),
                BranchPeriod::Month {
                    year: 2023,
                    month: 12,
                },
            )
            .unwrap()
            .banking;
        assert_eq!((dec.deposits_on, dec.loans_on), (None, None));
        assert_eq!(dec.fee_income, yuan(100));
        // The other outlet has none of it.
        let other = p
            .branch_dashboard(bid(0), BranchPeriod::Day(day(11)))
            .map(|d| d.banking)
            .unwrap_or_default();
        assert_eq!(other, Default::default());
    });
}

#[test]
fn bank_to_dos_reach_the_serving_manager_and_downgrades_the_outlets_branch_manager() {
    runtime().block_on(async {
        let (_dir, _store, p) = caught_up().await;
        let bank = |staff, d: u16| {
            p.todos(staff, at(d))
                .into_iter()
                .filter(|t| {
                    matches!(
                        t.kind,
                        TodoKind::TimeDepositMaturing
                            | TodoKind::LoanRepaymentDue
                            | TodoKind::LoanOverdue
                            | TodoKind::LoanDowngraded
                    )
                })
                .map(|t| (t.kind, t.customer, t.due))
                .collect::<Vec<_>>()
        };
        // Day 12: maturity on day 40 is within 30 days, the instalment of day 15 within 7.
        assert_eq!(
            bank(sid(2), 12),
            vec![
                (TodoKind::LoanOverdue, Some(cid(0)), day(11)),
                (TodoKind::LoanDowngraded, Some(cid(0)), day(12)),
                (TodoKind::LoanRepaymentDue, Some(cid(0)), day(15)),
                (TodoKind::TimeDepositMaturing, Some(cid(0)), day(40)),
            ]
        );
        assert_eq!(
            bank(branch_manager(), 12),
            vec![(TodoKind::LoanDowngraded, Some(cid(0)), day(12))]
        );
        assert_eq!(bank(sid(0), 12), vec![]);
        // Day 5: nothing overdue or downgraded yet in the model's figures? The model is the
        // whole log; the windows alone decide: the maturity is 35 days off, the instalment 10.
        let early: Vec<_> = bank(sid(2), 5).into_iter().map(|t| t.0).collect();
        assert_eq!(early, vec![TodoKind::LoanOverdue]);
        // Day 50: the second instalment (day 45) is past, the maturity too, the downgrade old.
        let late: Vec<_> = bank(sid(2), 50).into_iter().map(|t| t.0).collect();
        assert_eq!(late, vec![TodoKind::LoanOverdue]);
    });
}

/// c0's deposits over the churn window (issue 17 item 4): a demand account at 100,000 until
/// day 50 then falling to 20,000 on day 80 (first sent as 2,000, then corrected), a time
/// deposit at 80,000 until day 60 then 48,000 (part withdrawn early): 180,000 → 68,000.
fn outflow_history() -> Vec<Timed> {
    let mut h = setup();
    let mut sim = Sim::default();
    h.extend(sim.events(&Step::Register(0, 0)));
    h.extend(sim.events(&Step::Assign(0, 2)));
    h.push(opened(0, DepositTerm::Demand));
    h.push(opened(
        1,
        DepositTerm::Time {
            term_months: 24,
            maturity: day(700),
        },
    ));
    for d in 20..=80 {
        let demand = if d <= 50 {
            100_000
        } else {
            100_000 - (d - 50) * 80_000 / 30
        };
        let sent = if d == 80 { 2_000 } else { demand };
        h.push(balance(0, d, sent, None));
        h.push(balance(1, d, if d <= 60 { 80_000 } else { 48_000 }, None));
    }
    h.push(balance(0, 80, 20_000, Some(2_000)));
    h
}

#[test]
fn a_customers_deposits_in_the_churn_window_are_the_same_live_and_rebuilt() {
    use crm_projections::derive::{ChurnBasis, ChurnRisk};
    use crm_projections::views::{ExplainSubject, Explanation};
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let rules = RuleBook::default_rules().unwrap();
        let history = outflow_history();
        let half = history.len() / 2;
        let mut n = 0;
        // Live: caught up halfway, flushed, opened again from what it stored, then the rest
        // (the correction last).
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
                live.catch_up().unwrap();
                let before = churn_of(&live);
                assert_eq!(before.risk, ChurnRisk::High);
                assert_eq!(before.deposits.unwrap().now, yuan(50_000));
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
        let (l, r) = (churn_of(&live), churn_of(&rebuilt));
        assert_eq!(l, r);
        assert_eq!(l.risk, ChurnRisk::High);
        assert_eq!(l.basis, ChurnBasis::DepositOutflow);
        // The correction replaced day 80's figure: 20,000 + 48,000, not 2,000 + 48,000.
        assert_eq!(
            l.reason,
            "deposits fell 62% (180,000 -> 68,000) in 30 days (rule: 50%, at least 5,000)"
        );
        assert_eq!(l.value_at_risk, yuan(68_000));
        // The demand balance moved every day: not dormant, though c0 never traded.
        assert_eq!(l.last_activity, Some(day(80)));
        // Bounded: the 30 days of the window and the one before, not the 61 days sent.
        let kept = live.with_model(|m, _| {
            crm_projections::read_models::banking::bank_customer(m, cid(0)).map(|bc| {
                (
                    bc.deposit_days.len(),
                    bc.deposit_days.first().map(|d| d.date),
                )
            })
        });
        assert_eq!(kept, Some((31, Some(day(50)))));
        // The explanation the API serves is the same one, with the deposit days' positions.
        let Some((Explanation::ChurnRisk(e), positions)) = live
            .explain(ExplainSubject::ChurnRisk {
                customer: cid(0),
                as_of: None,
            })
            .unwrap()
        else {
            panic!("no churn explanation for c0")
        };
        assert_eq!(e, l);
        assert_eq!(positions.len(), 30, "one position per day in the window");
        copy.close().await.unwrap();
        store.close().await.unwrap();
    });
}

fn churn_of(p: &Projections) -> crm_projections::derive::ChurnExplain {
    p.with_model(|m, rules| {
        let c = crm_projections::read_models::archive::customer_records(m)
            .find(|c| c.id == cid(0))
            .unwrap();
        let on = crm_projections::views::today(m, None);
        crm_projections::derive::churn_in(m, c, rules, on)
    })
}
