//! Long read-model operations as jobs: a preview's progress only moves forward and ends in
//! its report; a cancelled job leaves no shadow generation behind; the bound on running jobs
//! holds; results expire; a server stopped mid-job reopens clean.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_eventstore::EventStore;
use crm_projections::{
    GenerationRole, JobKind, JobLimits, JobOutcome, JobState, ProjectionError, Projections,
    RuleBook,
};
use support::*;

/// A store with a year of daily summaries for every customer (a few thousand events).
async fn busy_store(dir: &std::path::Path) -> EventStore {
    let store = EventStore::open(dir, config()).unwrap();
    let mut sim = Sim::default();
    let mut n = 0;
    let mut steps = Vec::new();
    for c in 0..CUSTOMERS {
        steps.push(Step::Register(c, c));
        steps.push(Step::Assign(c, c % STAFF));
        steps.push(Step::OpenAccount(c, 0));
    }
    for day in 0..300u16 {
        for c in 0..CUSTOMERS {
            steps.push(Step::Summary {
                c,
                a: 0,
                day,
                turnover: 10_000 * u32::from(c + 1),
                kind: 0,
                commission: 30,
                deposit: 0,
                withdraw: 0,
                assets: 1_000_000 + u32::from(day) * 1000,
                pnl: 0,
            });
        }
    }
    let mut events = setup();
    for s in &steps {
        events.extend(sim.events(s));
    }
    for (e, t) in events {
        append(&store, &mut n, &e, t).await;
    }
    store
}

fn other_rules() -> RuleBook {
    RuleBook::parse(&rules_file(2, 3)).unwrap()
}

fn sled_generation_trees(store: &EventStore) -> usize {
    store
        .sled()
        .tree_names()
        .iter()
        .filter(|n| n.starts_with(b"proj-all-g"))
        .count()
}

#[test]
fn a_preview_job_reports_monotonic_progress_and_ends_with_its_report() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = busy_store(dir.path()).await;
        let p = Projections::start(&store, RuleBook::default_rules().unwrap()).unwrap();
        let mut changes = p.job_changes();
        let job = p
            .start_rules_preview(other_rules(), 10, "staff-op")
            .unwrap();
        assert_eq!(job.state, JobState::Running);
        assert_eq!(job.kind, JobKind::RulesPreview);
        let mut seen = Vec::new();
        let last = loop {
            changes.changed().await.unwrap();
            let now = p.job(job.id).unwrap();
            if let Some(progress) = now.progress {
                seen.push(progress.done);
            }
            if now.is_finished() {
                break now;
            }
        };
        assert_eq!(last.state, JobState::Succeeded, "{last:?}");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last().copied(), Some(store.head().0));
        let Some(JobOutcome::Preview(report)) = &last.outcome else {
            panic!("no report: {last:?}");
        };
        assert_eq!(report.to_rules_version, 2);
        assert_eq!(p.job_list().len(), 1);
        p.shutdown().await.unwrap();
        store.close().await.unwrap();
    });
}

#[test]
fn a_cancelled_job_leaves_no_shadow_behind_and_the_current_generation_serves() {
    // One worker thread: the job's task cannot start before the cancel below is sent, so the
    // fold stops before its first batch whatever this machine's speed.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = busy_store(dir.path()).await;
        let p = Projections::start(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.wait_for(store.head().0, std::time::Duration::from_secs(30))
            .await
            .unwrap();
        let trees = sled_generation_trees(&store);
        type Start = fn(&Projections) -> Result<crm_projections::Job, ProjectionError>;
        let starts: [Start; 2] = [
            |p| p.start_rules_preview(other_rules(), 10, "staff-op"),
            |p| p.start_rebuild("staff-op"),
        ];
        for start in starts {
            let job = start(&p).unwrap();
            p.cancel_job(job.id).unwrap();
            let mut changes = p.job_changes();
            while !p.job(job.id).unwrap().is_finished() {
                changes.changed().await.unwrap();
            }
            assert_eq!(p.job(job.id).unwrap().state, JobState::Cancelled);
            assert!(p.status().iter().all(|s| s.role != GenerationRole::Shadow));
            assert_eq!(sled_generation_trees(&store), trees);
            assert_eq!(p.position(), store.head().0);
        }
        // Cancelling a finished job changes nothing; an unknown one is an error.
        let done = p.job_list()[0].clone();
        assert_eq!(p.cancel_job(done.id).unwrap().state, JobState::Cancelled);
        assert!(matches!(
            p.cancel_job(uuid::Uuid::nil()),
            Err(ProjectionError::NotFound(_))
        ));
        p.shutdown().await.unwrap();
        store.close().await.unwrap();
    });
}

#[test]
fn the_bound_on_running_jobs_holds_and_results_expire() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = busy_store(dir.path()).await;
        let p = Projections::start(&store, RuleBook::default_rules().unwrap()).unwrap();
        assert!(p
            .set_job_limits(JobLimits {
                running_max: 0,
                keep_results: std::time::Duration::ZERO,
            })
            .is_err());
        p.set_job_limits(JobLimits {
            running_max: 1,
            keep_results: std::time::Duration::ZERO,
        })
        .unwrap();
        let first = p
            .start_rules_preview(other_rules(), 10, "staff-op")
            .unwrap();
        // The first has not even started (one thread): the second is refused, not queued.
        match p.start_rebuild("staff-op") {
            Err(ProjectionError::JobsBusy { running: 1, max: 1 }) => {}
            other => panic!("expected JobsBusy, got {other:?}"),
        }
        let mut changes = p.job_changes();
        while p.job(first.id).is_some_and(|j| !j.is_finished()) {
            changes.changed().await.unwrap();
        }
        // Kept for zero seconds: gone once finished, and the bound is free again.
        assert!(p.job(first.id).is_none());
        let second = p.start_rebuild("staff-op").unwrap();
        p.cancel_job(second.id).unwrap();
        p.shutdown().await.unwrap();
        store.close().await.unwrap();
    });
}

#[test]
fn a_server_stopped_mid_job_reopens_clean() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = busy_store(dir.path()).await;
        let p = Projections::start(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.wait_for(store.head().0, std::time::Duration::from_secs(30))
            .await
            .unwrap();
        let trees = sled_generation_trees(&store);
        let _job = p
            .start_rules_preview(other_rules(), 10, "staff-op")
            .unwrap();
        // Stop while the job may be anywhere: before, during or after its fold.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        drop(p);
        store.close().await.unwrap();
        drop(store);
        let store = EventStore::open(dir.path(), config()).unwrap();
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        assert!(p.job_list().is_empty());
        assert!(p.status().iter().all(|s| s.role != GenerationRole::Shadow));
        assert_eq!(sled_generation_trees(&store), trees);
        p.catch_up().unwrap();
        assert_eq!(p.position(), store.head().0);
        drop(p);
        store.close().await.unwrap();
    });
}
