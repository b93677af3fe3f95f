//! As-of checkpoints: a replay that starts from a stored checkpoint gives exactly what a replay
//! of the whole prefix gives, under the rules in force at the target; a checkpoint folded
//! under other rules is not used. Histories with and without bank business.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_eventstore::EventStore;
use crm_projections::model::same_content;
use crm_projections::{checkpoints, replay, RuleBook};
use proptest::prelude::*;
use std::sync::atomic::AtomicBool;
use support::*;

async fn from_a_checkpoint_equals_from_the_start(steps: Vec<Step>, first: usize, second: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let rules = RuleBook::default_rules().unwrap();
    let never = AtomicBool::new(false);
    let mut sim = Sim::default();
    let mut k = 0;
    for (e, t) in setup() {
        append(&store, &mut k, &e, t).await;
    }
    for s in &steps {
        for (e, t) in sim.events(s) {
            append(&store, &mut k, &e, t).await;
        }
    }
    let head = store.head().0;
    let setup_len = setup().len() as u64;
    let at = |cut: usize| setup_len + (cut as u64 % (head - setup_len + 1));
    let (p1, p2) = (at(first).min(at(second)), at(first).max(at(second)));
    // The first replay leaves a checkpoint at p1; the second starts from it when the rules at
    // p2 are those at p1.
    let one = replay::model_at_leaving(&store, p1, &rules, None, 1, &never).unwrap();
    assert_eq!(one.position, p1);
    assert!(checkpoints::count(&store) >= 1);
    let two = replay::model_at_leaving(&store, p2, &rules, None, 1, &never).unwrap();

    let fresh = tempfile::tempdir().unwrap();
    let copy = copy_log(&store, fresh.path(), None).await;
    for (p, got) in [(p1, &one), (p2, &two)] {
        let whole = replay::model_at_leaving(&copy, p, &rules, None, u64::MAX, &never).unwrap();
        assert_eq!(whole.position, got.position);
        assert_eq!(whole.rules.hash, got.rules.hash);
        assert!(
            same_content(&whole.model, &got.model),
            "as of {p}: from a checkpoint differs from the whole prefix"
        );
    }
    assert_eq!(checkpoints::count(&copy), 0);
    // Replaying again at p2 answers from its own checkpoint, identically.
    let again = replay::model_at_leaving(&store, p2, &rules, None, 1, &never).unwrap();
    assert!(same_content(&again.model, &two.model));
    assert!(checkpoints::count(&store) <= checkpoints::KEEP);
    store.close().await.unwrap();
    copy.close().await.unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn a_replay_from_a_checkpoint_equals_a_replay_from_the_start(
        steps in prop::collection::vec(step_with_rules(), 1..120),
        first in any::<usize>(),
        second in any::<usize>(),
    ) {
        runtime().block_on(from_a_checkpoint_equals_from_the_start(steps, first, second));
    }

    /// The same over histories with bank business (deposits and their balances, loans with
    /// positions and reclassifications, fees, cards, e-banking; issue 17): the bank read
    /// models as of an instant are the same from a checkpoint as from the start.
    #[test]
    fn a_replay_with_bank_business_from_a_checkpoint_equals_a_replay_from_the_start(
        steps in prop::collection::vec(bank_step(), 1..160),
        first in any::<usize>(),
        second in any::<usize>(),
    ) {
        runtime().block_on(from_a_checkpoint_equals_from_the_start(steps, first, second));
    }
}

/// A replay whose request went away stops between two batches: nothing is folded past the
/// cancel, no checkpoint is left, and the answer is Cancelled.
#[test]
fn a_cancelled_replay_stops_and_leaves_nothing() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut k = 0;
        for (e, t) in setup() {
            append(&store, &mut k, &e, t).await;
        }
        let rules = RuleBook::default_rules().unwrap();
        let cancelled = AtomicBool::new(true);
        let head = store.head().0;
        let r = replay::model_at_leaving(&store, head, &rules, None, 1, &cancelled);
        assert!(
            matches!(r, Err(crm_projections::ProjectionError::Cancelled)),
            "{r:?}"
        );
        assert_eq!(checkpoints::count(&store), 0);
        store.close().await.unwrap();
    })
}
