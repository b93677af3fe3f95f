//! The bank demo (`DemoProfile::Bank`) through the real command path: refused by nothing,
//! every bank stream kind in it, overdue loans reclassified by their outlet's manager,
//! time deposits maturing inside the window and after it, a balance for every account every
//! calendar day; and the same seed gives the same log (the same head hash), another seed
//! another one.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crm_app::App;
use crm_domain::branch::{self, BranchKind};
use crm_domain::deposit::{self, DepositTerm};
use crm_domain::loan::{self, LoanClass};
use crm_domain::AnyEvent;
use crm_eventstore::{AllStart, Direction, Durability, EventStore, Position, StoreConfig};
use crm_load::{demo, DemoConfig, DemoProfile, DemoReport};
use time::macros::date;
use time::Date;

const UNTIL: Date = date!(2025 - 06 - 30);
const DAYS: u32 = 45;
const FIRST: Date = date!(2025 - 05 - 17);

struct Loaded {
    _dir: tempfile::TempDir,
    report: DemoReport,
    head_hash: [u8; 32],
    /// Every event: actor, type, decoded.
    log: Vec<(String, String, AnyEvent)>,
}

async fn load(seed: u64) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(
        dir.path(),
        StoreConfig {
            durability: Durability::Batched {
                interval: Duration::from_millis(200),
            },
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let app = App::new(store).unwrap();
    let config = DemoConfig::new(300, DAYS, seed, UNTIL).with_profile(DemoProfile::Bank);
    assert_eq!(config.first_day().unwrap(), FIRST);
    let mut phases = Vec::new();
    let report = demo(&app, config, |p| phases.push((p.phase, p.days_done)))
        .await
        .unwrap();
    assert_eq!(phases.first(), Some(&("organisation", 0)));
    assert_eq!(phases.last(), Some(&("daily data", DAYS)));
    let mut log = Vec::new();
    let mut from = Position(1);
    loop {
        let page = app
            .store()
            .read_all(AllStart::Position(from), Direction::Forwards, 10_000)
            .unwrap();
        let Some(last) = page.last() else { break };
        from = Position(last.position.0 + 1);
        for e in page {
            let event = crm_codec::decode(&e).unwrap();
            log.push((e.metadata.actor.clone(), e.event_type.clone(), event));
        }
    }
    let head_hash = app
        .store()
        .read_all(AllStart::End, Direction::Backwards, 1)
        .unwrap()
        .first()
        .unwrap()
        .hash;
    assert_eq!(report.events, log.len() as u64);
    Loaded {
        _dir: dir,
        report,
        head_hash,
        log,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bank_demo_is_refused_nothing_and_holds_every_bank_stream_kind() {
    let a = load(7).await;
    assert_eq!(a.report.refused, 0, "{:?}", a.report.refusals);
    assert_eq!(a.report.trading_days, DAYS);
    let types: BTreeSet<&str> = a.log.iter().map(|(_, t, _)| t.as_str()).collect();
    for wanted in [
        "BranchOpened",
        "BankSegmentRecorded",
        "MultiBankCustomerMarked",
        "ExternalFactRecorded",
        "DepositAccountOpened",
        "DepositBalanceRecorded",
        "DepositAccountClosed",
        "LoanContracted",
        "LoanDisbursed",
        "RepaymentScheduleSet",
        "LoanPositionRecorded",
        "LoanReclassified",
        "LoanClosed",
        "CardIssued",
        "EChannelSignedUp",
        "WealthProductSubscribed",
        "FeeIncomeRecorded",
        "ContactRecorded",
    ] {
        assert!(types.contains(wanted), "no {wanted} in the bank demo");
    }
    let kinds: BTreeSet<String> = a
        .log
        .iter()
        .filter_map(|(_, _, e)| match e {
            AnyEvent::Branch(branch::Event::BranchOpened { kind, .. }) => Some(format!("{kind:?}")),
            _ => None,
        })
        .collect();
    let expected: BTreeSet<String> = [BranchKind::BankOutlet, BranchKind::CreditCooperative]
        .iter()
        .map(|k| format!("{k:?}"))
        .collect();
    assert_eq!(kinds, expected);
    // No securities business in a bank.
    assert!(!types.contains("DailyTradeSummaryRecorded"));
    assert!(!types.contains("AccountOpened"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bank_demo_has_overdue_loans_reclassified_and_maturing_time_deposits() {
    let a = load(7).await;
    // Loans behind: positions with days overdue, moved 正常→关注 at 30 days and 关注→次级 at
    // 90, each by a branch manager in their own name.
    let overdue_loans: BTreeSet<_> = a
        .log
        .iter()
        .filter_map(|(_, _, e)| match e {
            AnyEvent::Loan(loan::Event::LoanPositionRecorded { loan_id, day, .. })
                if day.days_overdue > 0 =>
            {
                Some(*loan_id)
            }
            _ => None,
        })
        .collect();
    assert!(!overdue_loans.is_empty());
    let mut moves = BTreeMap::new();
    for (actor, _, e) in &a.log {
        if let AnyEvent::Loan(loan::Event::LoanReclassified {
            loan_id,
            from,
            to,
            by,
            ..
        }) = e
        {
            assert_eq!(actor, &format!("staff-{by}"));
            assert!(overdue_loans.contains(loan_id));
            *moves.entry((*from, *to)).or_insert(0) += 1;
        }
    }
    assert!(moves.contains_key(&(LoanClass::Pass, LoanClass::SpecialMention)));
    assert!(moves.contains_key(&(LoanClass::SpecialMention, LoanClass::Substandard)));
    assert_eq!(moves.len(), 2, "{moves:?}");

    // Time deposits maturing inside the window (closed on maturity) and after it (the
    // maturity reminders to come).
    let mut maturities = BTreeMap::new();
    let mut closed = BTreeSet::new();
    let mut balances: BTreeMap<_, BTreeSet<Date>> = BTreeMap::new();
    for (_, _, e) in &a.log {
        match e {
            AnyEvent::Deposit(deposit::Event::DepositAccountOpened {
                account_id,
                account,
                ..
            }) => {
                if let DepositTerm::Time { maturity, .. } = account.term {
                    maturities.insert(*account_id, maturity);
                }
                balances.entry(*account_id).or_default();
            }
            AnyEvent::Deposit(deposit::Event::DepositAccountClosed { account_id, .. }) => {
                closed.insert(*account_id);
            }
            AnyEvent::Deposit(deposit::Event::DepositBalanceRecorded {
                account_id, day, ..
            }) => {
                assert!((FIRST..=UNTIL).contains(&day.date), "{}", day.date);
                balances.entry(*account_id).or_default().insert(day.date);
            }
            _ => {}
        }
    }
    let inside = maturities
        .iter()
        .filter(|(_, m)| (FIRST..=UNTIL).contains(*m))
        .count();
    let after = maturities.values().filter(|m| **m > UNTIL).count();
    assert!(inside > 0 && after > 0, "{inside} inside, {after} after");
    assert!(maturities
        .iter()
        .filter(|(_, m)| (FIRST..=UNTIL).contains(*m))
        .all(|(id, _)| closed.contains(id)));
    // Every account not closed has a balance every calendar day of the window.
    let open: Vec<_> = balances
        .iter()
        .filter(|(id, _)| !closed.contains(*id))
        .collect();
    assert!(!open.is_empty());
    for (id, days) in open {
        assert_eq!(days.len(), DAYS as usize, "account {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_head_hash_and_another_seed_another() {
    let a = load(7).await;
    let b = load(7).await;
    assert_eq!(a.head_hash, b.head_hash);
    assert_eq!(a.report.events, b.report.events);
    let c = load(8).await;
    assert_ne!(a.head_hash, c.head_hash);
}
