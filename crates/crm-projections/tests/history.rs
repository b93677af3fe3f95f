//! A customer's history (timeline, assignments) lives in the generation's tree, one key per
//! entry: a flush writes what changed, and what it writes does not grow with the history.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_eventstore::EventStore;
use crm_projections::{Projections, RuleBook};
use support::*;

/// Bytes written by the flush after one more contact, once `n` contacts of one customer are on
/// record and flushed; also returns how many timeline entries the customer then has.
fn flush_bytes_after(n: u32) -> (u64, usize) {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        let mut sim = Sim::default();
        let mut k = 0;
        for (e, t) in setup() {
            append(&store, &mut k, &e, t).await;
        }
        let contact = Step::Contact(0, 0, 1, 100, false);
        for s in [Step::Register(0, 0), Step::Assign(0, 0)] {
            for (e, t) in sim.events(&s) {
                append(&store, &mut k, &e, t).await;
            }
        }
        for _ in 0..n {
            for (e, t) in sim.events(&contact) {
                append(&store, &mut k, &e, t).await;
            }
        }
        p.catch_up().unwrap();
        p.flush().unwrap();
        for (e, t) in sim.events(&contact) {
            append(&store, &mut k, &e, t).await;
        }
        p.catch_up().unwrap();
        p.flush().unwrap();
        let bytes = p.status()[0].last_flush_bytes;
        let entries = p.customer_timeline(cid(0), usize::MAX).unwrap().len();
        store.close().await.unwrap();
        (bytes, entries)
    })
}

/// The proof: a flush after N contacts on one customer writes the same bytes for
/// N = 1,000 and N = 10,000. (N = 10 differs by the width of a few counters only: the
/// encoding is variable-length, and 11 contacts is a one-byte count where 10,001 takes three.)
#[test]
fn a_flush_writes_the_same_bytes_whatever_the_length_of_the_history() {
    let (small, small_entries) = flush_bytes_after(10);
    let (mid, mid_entries) = flush_bytes_after(1_000);
    let (big, big_entries) = flush_bytes_after(10_000);
    assert_eq!(
        (small_entries, mid_entries, big_entries),
        (11, 1_001, 10_001)
    );
    eprintln!("flush after 10 / 1,000 / 10,000 contacts: {small} / {mid} / {big} bytes");
    assert!(small > 0);
    assert_eq!(mid, big, "1,000 against 10,000 contacts");
    assert!(
        big.abs_diff(small) <= 32,
        "10 against 10,000 contacts: {small} against {big} bytes"
    );
}

fn summary(day: u16, turnover: u32, commission: u16) -> Step {
    Step::Summary {
        c: 0,
        a: 0,
        day,
        turnover,
        kind: 0,
        commission,
        deposit: 0,
        withdraw: 0,
        assets: 500_000,
        pnl: 0,
    }
}

/// The archive's windows are the days they are named for, read from the customer's daily
/// flows on disk: a trade 357 days back is in the 365-day window, one 365 days back is not;
/// a correction replaces what it corrects. The same before and after a flush and a restart,
/// and as of now from the log alone; and the resident record keeps only the churn
/// rule's outflow window of days, however long the history.
#[test]
fn windows_are_exact_days_from_the_history_on_disk() {
    use crm_domain::Money;
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut store = EventStore::open(dir.path(), config()).unwrap();
        let rules = RuleBook::default_rules().unwrap();
        let mut p = Projections::open(&store, rules.clone()).unwrap();
        let mut sim = Sim::default();
        let mut k = 0;
        for (e, t) in setup() {
            append(&store, &mut k, &e, t).await;
        }
        let mut steps = vec![
            Step::Register(0, 0),
            Step::Assign(0, 0),
            Step::OpenAccount(0, 0),
        ];
        // Every day of a year with a small trade, so the resident days would fill up.
        steps.extend((100..290).map(|d| summary(d, 1, 0)));
        steps.extend([
            summary(374, 16_000, 160),
            summary(9, 1_000, 10),
            summary(300, 8_000, 80),
            summary(10, 2_000, 20),
            summary(17, 4_000, 40),
            // A correction of day 17.
            summary(17, 7_000, 70),
        ]);
        for s in &steps {
            for (e, t) in sim.events(s) {
                append(&store, &mut k, &e, t).await;
            }
        }
        p.catch_up().unwrap();
        let yuan = |y: i64| Money::from_yuan(y).unwrap();
        let expect = |a: &crm_projections::model::Customer360| {
            let w = a.detail.clone().unwrap().windows.unwrap();
            assert_eq!(a.as_of, support::BASE + time::Duration::days(374));
            assert_eq!(w.turnover_30d, yuan(16_000));
            // Days 285 to 289 of the small trades are in the 90 days too.
            assert_eq!(w.turnover_90d, yuan(24_000 + 5));
            assert_eq!(w.turnover_365d, yuan(16_000 + 8_000 + 2_000 + 7_000 + 190));
            assert_eq!(w.commission_30d, yuan(160));
            assert_eq!(w.commission_90d, yuan(240));
            assert_eq!(w.commission_365d, yuan(160 + 80 + 20 + 70));
            let outflow_days = rules.churn.outflow_days as usize;
            assert!(
                a.record.days.len() <= outflow_days + 1,
                "{} resident days",
                a.record.days.len()
            );
        };
        expect(&p.customer_360(cid(0), None).unwrap());
        p.flush().unwrap();
        expect(&p.customer_360(cid(0), None).unwrap());
        drop(p);
        store.close().await.unwrap();
        drop(store);
        store = EventStore::open(dir.path(), config()).unwrap();
        p = Projections::open(&store, rules.clone()).unwrap();
        p.catch_up().unwrap();
        expect(&p.customer_360(cid(0), None).unwrap());
        let as_of = p
            .customer_as_of(cid(0), time::OffsetDateTime::now_utc())
            .unwrap();
        expect(&as_of.archive.unwrap());
        store.close().await.unwrap();
    })
}
