//! #15 item 4, last sentence: a to-do for the serving manager when the risk preference inferred
//! from trading conflicts with the customer's valid questionnaire level (schema/rules.md,
//! `[reminders]`, `preference_conflict_*`).
//!
//! Given, for customer manager s0 (all assessed on day 5 for a year unless said otherwise):
//!
//! | customer | questionnaire | trading (day 30) | inferred | to-do |
//! |---|---|---|---|---|
//! | c0 | C2 | 3,000,000 of stocks on 100,000 of assets | aggressive | conflict |
//! | c1 | C4 | the same | aggressive | none |
//! | c2 | C2, expired on day 10 | the same | aggressive | only "expiring/expired" |
//! | c3 | C2 | none | unknown | none |
//! | c4 | C5 | 50,000 of bonds on 1,000,000 of assets | conservative | conflict |
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::account::{self, DailyTradeSummary, SecurityType, TradeChannel, TurnoverLine};
use crm_domain::customer::{self, Assignment, CustomerKind, Lifecycle, Profile};
use crm_domain::risk::{RiskTolerance, SuitabilityAssessment};
use crm_domain::values::{Channel, IdDocument, Market, OrgName, ResidentIdNumber, ShortText};
use crm_domain::{AnyEvent, Money};
use crm_eventstore::EventStore;
use crm_projections::views::{SegmentFilter, Todo, TodoKind};
use crm_projections::{Projections, RiskPreference, RuleBook};
use support::*;
use time::{Duration, OffsetDateTime};

type Timed = (AnyEvent, OffsetDateTime);

fn register(c: u8) -> Timed {
    let number = ResidentIdNumber::with_check_character(&format!(
        "11010519{:02}0{}15{:03}",
        60 + c,
        1 + c % 9,
        c
    ))
    .unwrap();
    let t = at(1);
    (
        customer::Event::CustomerRegistered {
            customer_id: cid(c),
            kind: CustomerKind::Individual,
            profile: Profile {
                name: OrgName::parse(&format!("客户{c}")).unwrap(),
                // No birthday in the window: the only reminders are the ones under test.
                birthday: None,
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

fn assign(c: u8) -> Timed {
    let t = at(2);
    (
        customer::Event::CustomerAssigned {
            customer_id: cid(c),
            to: Assignment {
                branch: bid(branch_of_staff(0)),
                manager: Some(sid(0)),
                team: None,
            },
            by: branch_manager(),
            at: t,
        }
        .into(),
        t,
    )
}

fn open_account(c: u8) -> Timed {
    let t = at(2);
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

/// A questionnaire at `level`, valid from day `from` until (not including) day `until`.
fn assessed(c: u8, level: RiskTolerance, from: u16, until: u16) -> Timed {
    let t = at(from);
    (
        customer::Event::SuitabilityAssessed {
            customer_id: cid(c),
            assessment: SuitabilityAssessment {
                level,
                assessed_on: BASE + Duration::days(i64::from(from)),
                expires_on: BASE + Duration::days(i64::from(until)),
            },
            at: t,
        }
        .into(),
        t,
    )
}

/// One trading day on day 30: `turnover` yuan of `security` with `assets` yuan at the close.
fn traded(c: u8, security: SecurityType, turnover: i64, assets: i64) -> Timed {
    let day = 30;
    let t = at(day) + Duration::hours(8);
    let summary = DailyTradeSummary {
        trade_date: BASE + Duration::days(i64::from(day)),
        customer_id: cid(c),
        turnover: vec![TurnoverLine {
            market: Market::Shanghai,
            security_type: security,
            channel: TradeChannel::Mobile,
            amount: Money::from_yuan(turnover).unwrap(),
        }],
        commission: Money::ZERO,
        deposits: Money::ZERO,
        withdrawals: Money::ZERO,
        end_of_day_assets: Money::from_yuan(assets).unwrap(),
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

fn history() -> Vec<Timed> {
    let mut h = setup();
    for c in 0..5 {
        h.push(register(c));
        h.push(assign(c));
        h.push(open_account(c));
    }
    h.push(assessed(0, RiskTolerance::C2, 5, 370));
    h.push(assessed(1, RiskTolerance::C4, 5, 370));
    h.push(assessed(2, RiskTolerance::C2, 3, 10));
    h.push(assessed(3, RiskTolerance::C2, 5, 370));
    h.push(assessed(4, RiskTolerance::C5, 5, 370));
    for c in 0..3 {
        h.push(traded(c, SecurityType::Stock, 3_000_000, 100_000));
    }
    h.push(traded(4, SecurityType::Bond, 50_000, 1_000_000));
    h
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

fn conflicts(todos: &[Todo]) -> Vec<Todo> {
    todos
        .iter()
        .filter(|t| t.kind == TodoKind::PreferenceConflict)
        .cloned()
        .collect()
}

#[test]
fn a_valid_questionnaire_the_trading_contradicts_is_a_to_do_for_the_manager() {
    runtime().block_on(async {
        let (_dir, store) = logged(history()).await;
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();

        // The givens: what the read side infers from the trading.
        let filter = SegmentFilter {
            manager: Some(sid(0)),
            ..SegmentFilter::default()
        };
        let rows = p.customers(&filter, None, 10).items;
        let inferred = |c: u8| {
            rows.iter()
                .find(|r| r.id == cid(c))
                .unwrap()
                .risk_preference
        };
        assert_eq!(
            [0, 1, 2, 3, 4].map(inferred),
            [
                RiskPreference::Aggressive,
                RiskPreference::Aggressive,
                RiskPreference::Aggressive,
                RiskPreference::Unknown,
                RiskPreference::Conservative,
            ]
        );

        // When the manager looks on day 40.
        let todos = p.todos(sid(0), at(40));
        let found = conflicts(&todos);

        // Then: c0 (C2, aggressive) and c4 (C5, conservative); not c1 (C4), not c2 (expired),
        // not c3 (unknown).
        let customers: Vec<_> = found.iter().map(|t| t.customer.unwrap()).collect();
        assert_eq!(customers, vec![cid(0), cid(4)]);
        let c0 = &found[0];
        assert_eq!(
            c0.text,
            "客户0: questionnaire C2 (谨慎型), trading reads aggressive: reassess suitability"
        );
        assert_eq!(c0.due, BASE + Duration::days(40));
        assert_eq!(c0.value_at_risk, None);
        assert!(found[1].text.contains("questionnaire C5 (激进型)"));
        assert!(found[1].text.contains("trading reads conservative"));
        // The expired assessment is the expiring/expired reminder's business.
        let expired = todos
            .iter()
            .find(|t| t.kind == TodoKind::SuitabilityExpiring && t.customer == Some(cid(2)))
            .unwrap();
        // The source position is the later of the questionnaire and the evaluated trading:
        // here the trading day, recorded after every assessment (c2's is the last of those).
        assert!(c0.position > expired.position, "{c0:?} {expired:?}");

        // Another manager has none of them.
        assert!(conflicts(&p.todos(sid(2), at(40))).is_empty());
        drop(p);
        store.close().await.unwrap();
    });
}

#[test]
fn the_levels_that_conflict_are_the_rules_files() {
    // Aggressive trading conflicts with nothing, balanced unchanged, conservative with C4–C5:
    // c0 and c2 give none, c4 still does.
    let file = crm_projections::rules::DEFAULT_RULES.replace(
        "suitability_expiry_days = 30",
        "suitability_expiry_days = 30\npreference_conflict_aggressive = []\n\
         preference_conflict_conservative = [\"C4\", \"C5\"]",
    );
    let rules = RuleBook::parse(&file).unwrap();
    runtime().block_on(async {
        let (_dir, store) = logged(history()).await;
        let p = Projections::open(&store, rules).unwrap();
        p.catch_up().unwrap();
        let customers: Vec<_> = conflicts(&p.todos(sid(0), at(40)))
            .iter()
            .map(|t| t.customer.unwrap())
            .collect();
        assert_eq!(customers, vec![cid(4)]);
        drop(p);
        store.close().await.unwrap();
    });
}
