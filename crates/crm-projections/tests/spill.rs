//! A catch-up far behind spills its pending history before memory fills. A generation with
//! nothing stored yet (a first fold, a shadow being built) spills only history, no records and
//! no checkpoint, and writes its records once, at its first flush. Whatever the spills, the
//! stored result, reopened, equals a fold that never spilled, entry by entry; and history a
//! first fold spilled before a crash is not read again (its tree has no checkpoint, so it is
//! cleared at open).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_eventstore::EventStore;
use crm_projections::generation::set_spill_limits;
use crm_projections::{Projections, RuleBook};
use support::*;

fn steps() -> Vec<Step> {
    let mut steps = Vec::new();
    for c in 0..CUSTOMERS {
        steps.push(Step::Register(c, c));
        steps.push(Step::Assign(c, c % STAFF));
        steps.push(Step::OpenAccount(c, 0));
    }
    for day in (0..120u16).step_by(3) {
        for c in 0..CUSTOMERS {
            let k = u32::from(c) + 1;
            steps.push(Step::Summary {
                c,
                a: 0,
                day,
                turnover: 10_000 * k,
                kind: c % 8,
                commission: 5 * (c as u16 + 1),
                deposit: 1_000 * k,
                withdraw: if day % 9 == 0 { 300 * k } else { 0 },
                assets: 80_000 * k,
                pnl: 0,
            });
        }
    }
    steps
}

async fn fill(store: &EventStore) {
    let mut sim = Sim::default();
    let mut n = 0;
    for (e, t) in setup() {
        append(store, &mut n, &e, t).await;
    }
    for s in &steps() {
        for (e, t) in sim.events(s) {
            append(store, &mut n, &e, t).await;
        }
    }
}

#[test]
fn a_fold_that_spilled_its_history_stores_what_a_fold_that_never_did_stores() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        fill(&store).await;
        let head = store.head().0;
        let rules = RuleBook::default_rules().unwrap();

        // The reference: the spill limits far above the log, so nothing spills.
        set_spill_limits(usize::MAX, usize::MAX);
        let other = tempfile::tempdir().unwrap();
        let copy = copy_log(&store, other.path(), None).await;
        let never = Projections::open(&copy, rules.clone()).unwrap();
        never.catch_up().unwrap();
        never.flush().unwrap();

        // A first fold spilling every few entries, stopped halfway as a crash would stop it:
        // the spilled history is in the tree, no checkpoint is.
        set_spill_limits(7, 11);
        {
            let p = Projections::open(&store, rules.clone()).unwrap();
            p.catch_up_until(head / 2).unwrap();
            let stored =
                crm_projections::generation::inspect_tree(store.sled(), 1, head, false).unwrap();
            assert_eq!(stored.checkpoint, 0, "spills write no checkpoint");
            let tree = store
                .sled()
                .open_tree(crm_projections::generation::tree_name(1))
                .unwrap();
            let written = tree.scan_prefix([0x20u8]).count();
            assert!(
                written > 10,
                "history was written on the way ({written} keys)"
            );
        }
        // Reopened: the tree without a checkpoint is cleared, and the fold starts over,
        // spilling again, then flushes once at the end.
        let p = Projections::open(&store, rules.clone()).unwrap();
        assert_eq!(p.position(), 0, "folded again from the start");
        p.catch_up().unwrap();
        p.flush().unwrap();
        drop(p);
        set_spill_limits(usize::MAX, usize::MAX);
        let reopened = Projections::open(&store, rules).unwrap();
        assert_eq!(reopened.position(), head);
        let same = reopened
            .with_model(|a, _| never.with_model(|b, _| crm_projections::model::same_content(a, b)));
        assert!(same, "the stored models are equal");
        assert_eq!(
            reopened.history_entries().unwrap(),
            never.history_entries().unwrap(),
            "the stored histories are equal, entry by entry"
        );
        copy.close().await.unwrap();
        store.close().await.unwrap();
    });
}
