//! Rule changes and replay: a dry run reports exactly what the real switch then changes, a
//! rollback restores the old results, and the read models as of an instant equal those of a
//! store that only ever received the events up to that instant (under the rules then in
//! force).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::ids::CustomerId;
use crm_eventstore::EventStore;
use crm_projections::views::{BranchPeriod, LeaderboardScope, Period, SegmentFilter};
use crm_projections::{replay, Projections, RuleBook};
use proptest::prelude::*;
use support::*;

fn snapshot(p: &Projections) -> Vec<String> {
    let mut out: Vec<String> = (0..CUSTOMERS)
        .map(|c| format!("{:?}", p.customer_360(cid(c), None)))
        .collect();
    out.push(format!(
        "{:?}",
        p.leaderboard(
            LeaderboardScope::Company,
            Period::YearToDate {
                year: 2024,
                month: 12
            }
        )
    ));
    out.push(format!(
        "{:?}",
        p.branch_dashboard(
            bid(0),
            BranchPeriod::Month {
                year: 2024,
                month: 12
            }
        )
    ));
    out.push(format!("{:?}", p.segments(&SegmentFilter::default())));
    out
}

async fn history(store: &EventStore, steps: &[Step]) {
    let mut sim = Sim::default();
    let mut n = 0;
    for (e, t) in setup() {
        append(store, &mut n, &e, t).await;
    }
    for s in steps {
        for (e, t) in sim.events(s) {
            append(store, &mut n, &e, t).await;
        }
    }
}

fn busy() -> Vec<Step> {
    let mut steps = Vec::new();
    for c in 0..CUSTOMERS {
        steps.push(Step::Register(c, c));
        steps.push(Step::Assign(c, c % STAFF));
        steps.push(Step::OpenAccount(c, 0));
    }
    for day in (0..400u16).step_by(5) {
        for c in 0..CUSTOMERS {
            let k = u32::from(c) + 1;
            steps.push(Step::Summary {
                c,
                a: 0,
                day,
                turnover: 10_000 * k,
                kind: c % 8,
                commission: 5 * (c as u16 + 1) * (day % 7 + 1),
                deposit: 1_000 * k,
                withdraw: if c == 2 && day > 380 { 500_000 } else { 0 },
                assets: 80_000 * k,
                pnl: 0,
            });
        }
    }
    steps
}

#[test]
fn a_dry_run_reports_what_the_switch_changes_and_rollback_restores() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        history(&store, &busy()).await;
        let old_rules = RuleBook::default_rules().unwrap();
        let p = Projections::open(&store, old_rules.clone()).unwrap();
        p.catch_up().unwrap();
        p.flush().unwrap();
        let before = snapshot(&p);
        assert_eq!(p.rules_version().0, 1);

        // Lower tier thresholds, another KPI weighting and a shorter dormancy.
        let new_content = rules_file(2, 3).replace("churn_rate = 30", "churn_rate = 10");
        let new_rules = RuleBook::parse(&new_content).unwrap();
        let mut seen = Vec::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let report = p
            .dry_run(new_rules.clone(), 1000, move |pr| {
                let _ = tx.send(pr);
            })
            .await
            .unwrap();
        seen.extend(rx.try_iter());
        assert!(!seen.is_empty(), "progress is reported");
        assert!(seen
            .iter()
            .all(|x| x.done <= x.target && x.events_per_sec > 0.0));
        assert!(report.customers_changing_tier > 0, "{report:?}");
        assert_eq!(report.from_rules_version, 1);
        assert_eq!(report.to_rules_version, 2);
        let moved: usize = report.tier_moves.iter().map(|m| m.count).sum();
        assert_eq!(moved, report.customers_changing_tier);
        let by_branch: usize = report
            .tier_moves_by_branch
            .iter()
            .flat_map(|g| &g.moves)
            .map(|m| m.count)
            .sum();
        assert_eq!(by_branch, moved);
        // The dry run changed nothing that is served.
        assert_eq!(snapshot(&p), before);
        assert_eq!(p.status().len(), 2, "current and shadow");

        let switched_to = p.switch().await.unwrap();
        assert_eq!(p.rules_version(), (2, new_rules.hash.clone()));
        let status = p.status();
        assert_eq!(status[0].generation, switched_to);
        assert_eq!(
            status[1].rules_version, 1,
            "the previous generation is kept"
        );
        let after_switch = p.compare_with_previous(1000).unwrap().unwrap();
        assert_eq!(
            after_switch, report,
            "the dry run predicted the switch exactly"
        );
        assert_ne!(snapshot(&p), before);

        // A restart keeps the switch.
        p.flush().unwrap();
        drop(p);
        let p = Projections::open(&store, old_rules.clone()).unwrap();
        assert_eq!(p.rules_version().0, 2);

        p.rollback().await.unwrap();
        assert_eq!(p.rules_version().0, 1);
        assert_eq!(snapshot(&p), before, "rollback restores the old results");
        p.drop_previous().await.unwrap();
        assert_eq!(p.status().len(), 1);
        store.close().await.unwrap();
    });
}

#[test]
fn a_rebuild_under_the_activated_rules_uses_the_content_from_the_log() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut steps = busy();
        steps.push(Step::Rules(2, 399));
        history(&store, &steps).await;
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        assert_eq!(p.rules_pending(), Some(2));
        let versions = p.rule_versions();
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].status, "active");
        assert_eq!(versions[0].approved_by, Some(operator(1)));
        assert_eq!(p.rules_for_version(2).unwrap().content, rules_file(2, 2));
        assert!(p.rules_for_version(7).is_err());
        p.rebuild_to_active(|_| {}).await.unwrap();
        assert_eq!(p.rules_version().0, 2);
        assert_eq!(
            p.rules_version().1,
            crm_projections::rules::content_hash(&rules_file(2, 2))
        );
        assert_eq!(p.rules_pending(), None);
        store.close().await.unwrap();
    });
}

/// A version number belongs to the rule set that proposed it first: a proposal of the same
/// number in another rule set (written past the command side, which refuses it) never
/// replaces the content of the approved and active version, in the read model or in the
/// rules a rebuild or replay takes from the log.
#[test]
fn a_second_rule_set_cannot_replace_an_approved_versions_content() {
    use crm_domain::ids::RuleSetId;
    use crm_domain::rules::Event as R;
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut steps = busy();
        steps.push(Step::Rules(2, 399));
        history(&store, &steps).await;
        let forged = rules_file(2, 4);
        let other = RuleSetId::from(uuid::Uuid::from_u128(0x6_6666));
        let t = at(400);
        let mut n = 10_000;
        for e in [
            R::RuleSetProposed {
                rule_set_id: other,
                version: 2,
                content_hash: crm_projections::rules::content_hash(&forged),
                content: forged.clone(),
                by: operator(1),
                at: t,
            },
            R::RuleSetApproved {
                rule_set_id: other,
                version: 2,
                by: operator(2),
                at: t,
            },
            R::RuleSetActivated {
                rule_set_id: other,
                version: 2,
                previous: Some(2),
                by: operator(2),
                at: t,
            },
        ] {
            append(&store, &mut n, &e.into(), t).await;
        }
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let versions = p.rule_versions();
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].content, rules_file(2, 2));
        assert_eq!(p.rules_for_version(2).unwrap().content, rules_file(2, 2));
        let active =
            replay::rules_at(&store, store.head().0, &RuleBook::default_rules().unwrap()).unwrap();
        assert_eq!(active.content, rules_file(2, 2));
        // Only the activated content may be switched to.
        let forged_book = RuleBook::parse(&forged).unwrap();
        assert!(p.check_activated(2, &forged_book.hash).is_err());
        assert!(p.check_activated(2, &active.hash).is_ok());
        store.close().await.unwrap();
    });
}

/// The read models as of T against a store that only received the events up to T.
async fn as_of_equals_prefix(steps: Vec<Step>, cut: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let mut sim = Sim::default();
    let mut n = 0;
    let mut events: Vec<_> = setup();
    for s in &steps {
        events.extend(sim.events(s));
    }
    let cut = cut.min(events.len());
    for (e, t) in &events[..cut] {
        append(&store, &mut n, e, *t).await;
    }
    // Recorded-at has sub-millisecond resolution: T falls strictly between the two halves.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let instant = time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    for (e, t) in &events[cut..] {
        append(&store, &mut n, e, *t).await;
    }
    let default = RuleBook::default_rules().unwrap();
    let p = Projections::open(&store, default.clone()).unwrap();
    p.catch_up().unwrap();

    let fresh = tempfile::tempdir().unwrap();
    let prefix = copy_log(&store, fresh.path(), Some(cut)).await;
    assert_eq!(prefix.head().0, cut as u64);
    let in_force = replay::rules_at(&prefix, prefix.head().0, &default).unwrap();
    let only = Projections::open(&prefix, in_force).unwrap();
    only.catch_up().unwrap();
    let day = Some(only.with_model(|m, _| crm_projections::views::today(m, None)));
    for c in 0..CUSTOMERS {
        let id: CustomerId = cid(c);
        let then = p.customer_as_of(id, instant).unwrap();
        assert_eq!(then.position, cut as u64);
        assert_eq!(then.archive, only.customer_360(id, day));
        assert_eq!(
            (then.rules_version, then.rules_hash.clone()),
            only.rules_version()
        );
        // The timeline holds only what was recorded by then, in order.
        assert!(then
            .timeline
            .iter()
            .all(|e| e.position <= cut as u64 && e.recorded_at <= instant));
        assert!(then
            .timeline
            .windows(2)
            .all(|w| w[0].position < w[1].position));
        if then.archive.is_some() {
            assert!(!then.timeline.is_empty());
        }
    }
    let period = Period::YearToDate {
        year: 2024,
        month: 12,
    };
    let never = std::sync::atomic::AtomicBool::new(false);
    assert_eq!(
        p.staff_performance_as_of(sid(1), period, instant, &never)
            .unwrap(),
        only.staff_performance(sid(1), period)
    );
    let month = BranchPeriod::Month {
        year: 2024,
        month: 6,
    };
    assert_eq!(
        p.branch_dashboard_as_of(bid(0), month, instant, &never)
            .unwrap(),
        only.branch_dashboard(bid(0), month)
    );
    prefix.close().await.unwrap();
    store.close().await.unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn the_state_as_of_an_instant_equals_a_store_that_stopped_there(
        steps in prop::collection::vec(step_with_rules(), 1..100),
        cut in 0usize..200,
    ) {
        runtime().block_on(as_of_equals_prefix(steps, cut));
    }
}

/// With followers running: the shadow is built while the current generation keeps serving
/// and following, the switched-in generation follows new appends, the retired one rests on
/// disk (not in memory, not following), and a rollback catches it up to the head before it
/// serves.
#[test]
fn generations_switch_while_the_log_keeps_moving() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let steps = busy();
        let (first, second) = steps.split_at(steps.len() / 2);
        history(&store, first).await;
        let p = Projections::start(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.wait_for(store.head().0, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        let writer = {
            let store = store.clone();
            let second = second.to_vec();
            tokio::spawn(async move {
                let mut sim = Sim::default();
                // Replay the first half through the simulator so the second half stays valid.
                for s in busy().iter().take(busy().len() / 2) {
                    let _ = sim.events(s);
                }
                let mut n = 1_000_000;
                for s in &second {
                    for (e, t) in sim.events(s) {
                        append(&store, &mut n, &e, t).await;
                    }
                }
            })
        };
        let report = p
            .dry_run(RuleBook::parse(&rules_file(2, 4)).unwrap(), 10, |_| {})
            .await
            .unwrap();
        assert!(report.customers_changing_tier > 0);
        p.switch().await.unwrap();
        writer.await.unwrap();
        let head = store.head().0;
        p.wait_for(head, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        let status = p.status();
        assert_eq!(status.len(), 2);
        assert!(status[0].following && status[0].last_error.is_none());
        assert_eq!(status[0].rules_version, 2);
        assert_eq!(status[0].position, head);
        assert!(
            !status[1].following,
            "the previous generation rests on disk"
        );
        assert_eq!(status[1].rules_version, 1);
        assert!(status[1].position > 0 && status[1].position <= head);
        p.rollback().await.unwrap();
        assert_eq!(p.rules_version().0, 1);
        assert_eq!(p.position(), head, "caught up before it serves");
        let status = p.status();
        assert!(
            status[0].following,
            "the rolled-back-to generation follows the log"
        );
        assert_eq!(status[1].rules_version, 2);
        assert!(!status[1].following);
        p.shutdown().await.unwrap();
        store.close().await.unwrap();
    });
}

/// A shadow abandoned by a restart leaves no tree behind; a failed rebuild neither.
#[test]
fn abandoned_shadows_are_cleaned_up_on_open() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        history(&store, &busy()[..200]).await;
        let trees = |store: &EventStore| {
            store
                .sled()
                .tree_names()
                .iter()
                .filter(|n| n.starts_with(b"proj-all-g"))
                .count()
        };
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        p.dry_run(RuleBook::parse(&rules_file(2, 2)).unwrap(), 5, |_| {})
            .await
            .unwrap();
        assert_eq!(trees(&store), 2);
        drop(p);
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        assert_eq!(trees(&store), 1);
        assert_eq!(p.status().len(), 1);
        assert!(p.switch().await.is_err(), "nothing to switch to");
        assert!(p.rollback().await.is_err(), "nothing to roll back to");
        store.close().await.unwrap();
    });
}
