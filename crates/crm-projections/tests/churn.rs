//! The KPI's churn term derived by the read side from the rules (#15 item 1, the churn
//! bullet): closures, recorded churn and dormancy past `[churn] churned_days`, as the stock
//! comparison of the period's start and end, once per customer. The worked example of
//! schema/rules.md `[kpi]`.
//!
//! Given the rules `dormant_days = 30`, `churned_days = 60` and customer manager s0 serving,
//! from 1 January 2024 (day 0), c0–c5 (all active, each trading on days 1 and 50):
//!
//! | customer | facts (day: 2024-01-01 + day) | churned on | June? |
//! |---|---|---|---|
//! | c0 | trades on day 100 (10 Apr), then nothing | dormant since 9 Jun (day 160) | counts |
//! | c1 | trades on day 60 (1 Mar), then nothing | dormant since 30 Apr (day 120) | no: churned before June (counts in April) |
//! | c2 | trades on days 100 and 158 (7 Jun), before the threshold | never | no |
//! | c3 | trades on days 100 and 140; churn recorded on day 162 (11 Jun), closed on day 165 | recorded on 11 Jun | counts once |
//! | c4 | trades on days 100 and 175 | never | no |
//! | c5 | trades on day 60; a reached call on day 110; an unanswered one on day 175 | dormant since 19 Jun (day 170) | counts |
//!
//! s1 serves c6, who traded on day 30 only: dormant since 31 March (day 90), churn in March.
//!
//! When June is appraised, then s0 lost 3 (c0, c3, c5) of the 6 customers served on 31 May:
//! churn rate 50%, retention 50%; s1 none.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::account::{self, DailyTradeSummary, SecurityType, TradeChannel, TurnoverLine};
use crm_domain::customer::{self, Assignment, ChurnReason, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::InteractionId;
use crm_domain::interaction::{self, Direction, Outcome};
use crm_domain::values::{
    Channel, IdDocument, LongText, Market, OrgName, ResidentIdNumber, ShortText,
};
use crm_domain::{AnyEvent, Money};
use crm_eventstore::EventStore;
use crm_projections::read_models::churn_kpi::LossCause;
use crm_projections::views::{BranchPeriod, Period, StaffPerformance};
use crm_projections::{Projections, RuleBook};
use support::*;
use time::macros::date;
use time::{Duration, OffsetDateTime};

type Timed = (AnyEvent, OffsetDateTime);

fn register(c: u8, day: u16) -> Timed {
    let number = ResidentIdNumber::with_check_character(&format!(
        "11010519{:02}0{}15{:03}",
        60 + c,
        1 + c % 9,
        c
    ))
    .unwrap();
    let t = at(day);
    (
        customer::Event::CustomerRegistered {
            customer_id: cid(c),
            kind: CustomerKind::Individual,
            profile: Profile {
                name: OrgName::parse(&format!("客户{c}")).unwrap(),
                birthday: number.birth_date(),
                document: IdDocument::ResidentId { number },
                phone: None,
                address: None,
                region: Some(rid()),
                occupation: None,
                source_channel: Channel::Counter,
            },
            lifecycle: Lifecycle::Active,
            at: t,
        }
        .into(),
        t,
    )
}

fn assign(c: u8, staff: u8, day: u16) -> Timed {
    let t = at(day);
    (
        customer::Event::CustomerAssigned {
            customer_id: cid(c),
            to: Assignment {
                branch: bid(branch_of_staff(staff)),
                manager: Some(sid(staff)),
                team: None,
            },
            by: branch_manager(),
            at: t,
        }
        .into(),
        t,
    )
}

fn open_account(c: u8, day: u16) -> Timed {
    let t = at(day);
    (
        customer::Event::AccountOpened {
            customer_id: cid(c),
            account_id: aid(c, 0),
            kind: customer::AccountKind::Fund,
            number: ShortText::parse(&format!("F{c}")).unwrap(),
            at: t,
        }
        .into(),
        t,
    )
}

/// A day on which the customer traded (10,000 yuan of stock).
fn trade(c: u8, day: u16) -> Timed {
    let t = at(day) + Duration::hours(8);
    let summary = DailyTradeSummary {
        trade_date: BASE + Duration::days(i64::from(day)),
        customer_id: cid(c),
        turnover: vec![TurnoverLine {
            market: Market::Shanghai,
            security_type: SecurityType::Stock,
            channel: TradeChannel::Mobile,
            amount: Money::from_yuan(10_000).unwrap(),
        }],
        commission: Money::ZERO,
        deposits: Money::ZERO,
        withdrawals: Money::ZERO,
        end_of_day_assets: Money::from_yuan(100_000).unwrap(),
        holdings: Vec::new(),
        realised_pnl: Money::ZERO,
        unrealised_pnl: Money::ZERO,
    };
    (
        account::Event::DailyTradeSummaryRecorded {
            account_id: aid(c, 0),
            summary,
            at: t,
        }
        .into(),
        t,
    )
}

fn call(n: u128, c: u8, day: u16, outcome: Outcome) -> Timed {
    let t = at(day);
    (
        interaction::Event::ContactRecorded {
            interaction_id: InteractionId::from(uuid::Uuid::from_u128(0x2_0000 + n)),
            customer_id: cid(c),
            staff_id: sid(0),
            channel: Channel::Phone,
            direction: Direction::Outbound,
            topic: ShortText::parse("回访").unwrap(),
            outcome,
            notes: LongText::parse("").unwrap(),
            follow_up_on: None,
            at: t,
        }
        .into(),
        t,
    )
}

fn customer_event(day: u16, e: customer::Event) -> Timed {
    (e.into(), at(day))
}

/// The book of the module's table; `late` puts c2's trades in reverse date order (an import
/// that loads the later day first).
fn history(late: bool) -> Vec<Timed> {
    let mut h = setup();
    for c in 0..7 {
        h.push(register(c, 0));
        h.push(assign(c, if c == 6 { 1 } else { 0 }, 0));
        h.push(open_account(c, 0));
    }
    for c in 0..6 {
        h.push(trade(c, 1));
        h.push(trade(c, 50));
    }
    h.push(trade(6, 30));
    h.push(trade(1, 60));
    h.push(trade(5, 60));
    h.push(trade(0, 100));
    if late {
        h.push(trade(2, 158));
        h.push(trade(2, 100));
    } else {
        h.push(trade(2, 100));
        h.push(trade(2, 158));
    }
    h.push(trade(4, 100));
    h.push(call(1, 5, 110, Outcome::Reached));
    h.push(trade(3, 100));
    h.push(trade(3, 140));
    h.push(customer_event(
        162,
        customer::Event::CustomerChurned {
            customer_id: cid(3),
            reason: ChurnReason::Competitor,
            note: None,
            at: at(162),
        },
    ));
    h.push(customer_event(
        165,
        customer::Event::CustomerClosed {
            customer_id: cid(3),
            reason: ShortText::parse("销户").unwrap(),
            at: at(165),
        },
    ));
    h.push(trade(4, 175));
    h.push(call(2, 5, 175, Outcome::NotReached));
    h
}

fn rules() -> RuleBook {
    let file = crm_projections::rules::DEFAULT_RULES
        .replace("dormant_days = 90", "dormant_days = 30\nchurned_days = 60");
    let rules = RuleBook::parse(&file).unwrap();
    assert_eq!(rules.churn.churned_days, 60);
    rules
}

async fn logged(history: Vec<Timed>) -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let mut n = 0;
    for (e, t) in history {
        append(&store, &mut n, &e, t).await;
    }
    (dir, store)
}

fn month(month: u8) -> Period {
    Period::Month { year: 2024, month }
}

/// (customer number, cause, since) of each churned customer.
fn causes(sp: &StaffPerformance) -> Vec<(u8, LossCause, time::Date)> {
    sp.churned_customers
        .iter()
        .map(|c| {
            let n = (0..7).find(|n| cid(*n) == c.customer).unwrap();
            (n, c.cause, c.since)
        })
        .collect()
}

#[test]
fn churn_is_derived_from_the_rules_and_counted_once_per_customer() {
    runtime().block_on(async {
        // Given the book of the module's table,
        let (_dir, store) = logged(history(false)).await;
        let p = Projections::open(&store, rules()).unwrap();
        p.catch_up().unwrap();

        // when June is appraised,
        let s0 = p.staff_performance(sid(0), month(6)).unwrap();
        let s1 = p.staff_performance(sid(1), month(6)).unwrap();

        // then s0 lost c0 and c5 by dormancy and c3 once (recorded, then closed); c1 had
        // churned before June and c2 traded again before the threshold.
        assert_eq!(s0.customers_at_start, 6);
        assert_eq!(s0.churned, 3);
        assert_eq!(
            causes(&s0),
            vec![
                (0, LossCause::Dormant, date!(2024 - 06 - 09)),
                (3, LossCause::Recorded, date!(2024 - 06 - 11)),
                (5, LossCause::Dormant, date!(2024 - 06 - 19)),
            ]
        );
        // Rate 3 / 6 = 50%, retention 50%.
        assert_eq!(s0.kpi.terms[1].value, 5000);
        assert_eq!(s0.kpi.terms[1].count, Some(3));
        assert_eq!(s0.retention_bp, Some(5000));
        assert_eq!((s1.churned, s1.retention_bp), (0, Some(10_000)));

        // c1 counts in April, c6 (s1's) in March; May loses no one.
        let apr = p.staff_performance(sid(0), month(4)).unwrap();
        assert_eq!(
            causes(&apr),
            vec![(1, LossCause::Dormant, date!(2024 - 04 - 30))]
        );
        let mar = p.staff_performance(sid(1), month(3)).unwrap();
        assert_eq!(
            causes(&mar),
            vec![(6, LossCause::Dormant, date!(2024 - 03 - 31))]
        );
        assert_eq!(p.staff_performance(sid(0), month(5)).unwrap().churned, 0);
        // The second quarter is the stock comparison of 31 March and 30 June: c0, c1, c3, c5.
        let q2 = p
            .staff_performance(
                sid(0),
                Period::Quarter {
                    year: 2024,
                    quarter: 2,
                },
            )
            .unwrap();
        assert_eq!(q2.churned, 4);
        // The branch (s0's and s1's, branch 0) counts its customers as its people do.
        let june = p
            .branch_dashboard(
                bid(0),
                BranchPeriod::Month {
                    year: 2024,
                    month: 6,
                },
            )
            .unwrap();
        assert_eq!(june.flows.churned, 3);
        drop(p);
        store.close().await.unwrap();
    });
}

#[test]
fn live_churn_equals_a_rebuild_whatever_order_the_days_came_in() {
    runtime().block_on(async {
        // Live: half the log, a flush, the rest; reopened from its stored state.
        let events = history(false);
        let half = events.len() / 2;
        let a = tempfile::tempdir().unwrap();
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
        live.flush().unwrap();
        drop(live);
        let live = Projections::open(&store, rules()).unwrap();
        live.catch_up().unwrap();
        // Rebuilt from a log where c2's later day came first.
        let (_b, other) = logged(history(true)).await;
        let rebuilt = Projections::open(&other, rules()).unwrap();
        rebuilt.catch_up().unwrap();
        for m in 1..=7 {
            for s in [0, 1] {
                let (x, y) = (
                    live.staff_performance(sid(s), month(m)).unwrap(),
                    rebuilt.staff_performance(sid(s), month(m)).unwrap(),
                );
                assert_eq!(
                    (x.churned, &x.churned_customers, x.retention_bp, &x.kpi),
                    (y.churned, &y.churned_customers, y.retention_bp, &y.kpi),
                    "staff {s}, month {m}"
                );
            }
        }
        assert_eq!(live.staff_performance(sid(0), month(6)).unwrap().churned, 3);
        drop((live, rebuilt));
        store.close().await.unwrap();
        other.close().await.unwrap();
    });
}

fn reassign(c: u8, from: u8, to: u8, day: u16) -> Timed {
    let assignment = |s: u8| Assignment {
        branch: bid(branch_of_staff(s)),
        manager: Some(sid(s)),
        team: None,
    };
    customer_event(
        day,
        customer::Event::CustomerReassigned {
            customer_id: cid(c),
            from: assignment(from),
            to: assignment(to),
            reason: ShortText::parse("调岗").unwrap(),
            by: branch_manager(),
            approved_by: None,
            at: at(day),
        },
    )
}

#[test]
fn a_loss_by_dormancy_stays_with_whoever_served_the_customer_when_it_began() {
    runtime().block_on(async {
        // Given c0 and c1 served by s0, each trading on 2 January (day 1) only, so both are
        // churned by dormancy from 2 March (day 61); c1 passes to s1 on day 30, before that,
        // c0 on day 100, after it;
        let mut h = setup();
        for c in 0..2 {
            h.push(register(c, 0));
            h.push(assign(c, 0, 0));
            h.push(open_account(c, 0));
            h.push(trade(c, 1));
        }
        h.push(reassign(1, 0, 1, 30));
        h.push(reassign(0, 0, 1, 100));
        let (_dir, store) = logged(h).await;
        let p = Projections::open(&store, rules()).unwrap();
        p.catch_up().unwrap();
        // when March and April are appraised,
        let causes_of = |s: u8, m: u8| causes(&p.staff_performance(sid(s), month(m)).unwrap());
        // then c0's loss is s0's (it began while s0 served them), c1's is s1's, and nobody
        // loses either again in April.
        let since = date!(2024 - 03 - 02);
        assert_eq!(causes_of(0, 3), vec![(0, LossCause::Dormant, since)]);
        assert_eq!(causes_of(1, 3), vec![(1, LossCause::Dormant, since)]);
        assert!(causes_of(0, 4).is_empty() && causes_of(1, 4).is_empty());
        drop(p);
        store.close().await.unwrap();
    });
}

/// A fact of the random histories below.
#[derive(Debug, Clone)]
enum Fact {
    Trade(u8, u16),
    Call(u8, u16, bool),
    Reassign(u8, u8, u16),
    Churned(u8, u16),
    Closed(u8, u16),
    Reactivated(u8, u16),
}

fn fact() -> impl proptest::strategy::Strategy<Value = Fact> {
    use proptest::prelude::*;
    let c = 0u8..6;
    let day = 0u16..300;
    prop_oneof![
        4 => (c.clone(), day.clone()).prop_map(|(c, d)| Fact::Trade(c, d)),
        2 => (c.clone(), day.clone(), any::<bool>()).prop_map(|(c, d, r)| Fact::Call(c, d, r)),
        2 => (c.clone(), 0u8..4, day.clone()).prop_map(|(c, s, d)| Fact::Reassign(c, s, d)),
        1 => (c.clone(), day.clone()).prop_map(|(c, d)| Fact::Churned(c, d)),
        1 => (c.clone(), day.clone()).prop_map(|(c, d)| Fact::Closed(c, d)),
        1 => (c, day).prop_map(|(c, d)| Fact::Reactivated(c, d)),
    ]
}

/// Six customers registered on `registered` days with staff `s`, then `facts` in the given
/// (not date) order, as concurrent imports record them.
fn random_history(registered: &[(u16, u8)], facts: &[Fact]) -> Vec<Timed> {
    let mut h = setup();
    for (c, (day, s)) in (0u8..).zip(registered) {
        h.push(register(c, *day));
        h.push(assign(c, *s, *day));
        h.push(open_account(c, *day));
    }
    for (n, f) in (0u128..).zip(facts) {
        h.push(match *f {
            Fact::Trade(c, d) => trade(c, d),
            Fact::Call(c, d, reached) => call(
                100 + n,
                c,
                d,
                if reached {
                    Outcome::Reached
                } else {
                    Outcome::NotReached
                },
            ),
            Fact::Reassign(c, to, d) => reassign(c, registered[usize::from(c)].1, to, d),
            Fact::Churned(c, d) => customer_event(
                d,
                customer::Event::CustomerChurned {
                    customer_id: cid(c),
                    reason: ChurnReason::Competitor,
                    note: None,
                    at: at(d),
                },
            ),
            Fact::Closed(c, d) => customer_event(
                d,
                customer::Event::CustomerClosed {
                    customer_id: cid(c),
                    reason: ShortText::parse("销户").unwrap(),
                    at: at(d),
                },
            ),
            Fact::Reactivated(c, d) => customer_event(
                d,
                customer::Event::CustomerReactivated {
                    customer_id: cid(c),
                    at: at(d),
                },
            ),
        });
    }
    h
}

/// The lost customers the fold counts (`read_models::churn_figures`) agree with a pass over
/// every customer, for every branch on every day and in every month and for every staff
/// member in every month: after half the log, after all of it, and reopened from the stored
/// state.
fn figures_agree(p: &Projections, when: &str) {
    let to = BASE + Duration::days(420);
    let result = p.with_model(|m, r| {
        crm_projections::views::churn_figures_agree(m, r.churn.churned_days, BASE, to)
    });
    assert_eq!(result, Ok(()), "{when}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn the_churn_the_fold_counts_equals_a_pass_over_the_customers(
        registered in proptest::collection::vec((0u16..60, 0u8..4), 6),
        facts in proptest::collection::vec(fact(), 0..40),
    ) {
        runtime().block_on(async {
            let events = random_history(&registered, &facts);
            let half = events.len() / 2;
            let dir = tempfile::tempdir().unwrap();
            let store = EventStore::open(dir.path(), config()).unwrap();
            let live = Projections::open(&store, rules()).unwrap();
            let mut n = 0;
            for (e, t) in &events[..half] {
                append(&store, &mut n, e, *t).await;
            }
            live.catch_up().unwrap();
            figures_agree(&live, "after half the log");
            live.flush().unwrap();
            for (e, t) in &events[half..] {
                append(&store, &mut n, e, *t).await;
            }
            live.catch_up().unwrap();
            figures_agree(&live, "after the whole log");
            live.flush().unwrap();
            drop(live);
            let reopened = Projections::open(&store, rules()).unwrap();
            reopened.catch_up().unwrap();
            figures_agree(&reopened, "reopened");
            drop(reopened);
            store.close().await.unwrap();
        });
    }
}
