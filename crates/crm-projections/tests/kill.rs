//! A real process kill: `crm-projections-soak` appends and projects live until `kill -9`;
//! reopened, the read models resume from their last flushed checkpoint and end equal to a
//! rebuild from scratch — twice in a row.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crm_eventstore::{EventStore, StoreConfig};
use crm_projections::views::SegmentFilter;
use crm_projections::{Projections, RuleBook};

fn run_and_kill(dir: &std::path::Path, seed: u64, mode: Option<&str>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-projections-soak"))
        .arg(dir)
        .arg(seed.to_string())
        .args(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let started = Instant::now();
    let mut lines = BufReader::new(stdout).lines();
    // Long enough for several flushes (every 500 ms), short enough for a test.
    // A process set to crash ends by itself: wait for that (within reason).
    let until = match mode {
        Some("redo-crash") => Duration::from_secs(60),
        _ => Duration::from_millis(1800),
    };
    while started.elapsed() < until {
        match lines.next() {
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    // SIGKILL: no flush, no close (an error only if the process already ended by itself).
    let _ = child.kill();
    child.wait().unwrap();
}

#[test]
fn after_kill_9_the_read_models_resume_to_the_rebuilt_result() {
    kill_resume_rebuild(None);
}

/// The same with every flush written through a redo file, as a rebuild's large flushes are:
/// a kill between the file and the checkpoint is finished at the next open.
#[test]
fn after_kill_9_in_flushes_through_a_redo_file_the_read_models_resume_to_the_rebuilt_result() {
    kill_resume_rebuild(Some("redo"));
}

/// A process that dies halfway through inserting a redo flush's entries (half of them durable
/// in the tree, the checkpoint still the one before) leaves its redo file; the next open
/// inserts the rest before reading, so nothing is folded twice.
#[test]
fn a_crash_halfway_through_a_redo_flush_is_finished_at_the_next_open() {
    kill_resume_rebuild(Some("redo-crash"));
}

fn kill_resume_rebuild(mode: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let rt = support::runtime();
    for seed in [1, 2] {
        run_and_kill(dir.path(), seed, mode);
        if mode == Some("redo-crash") {
            let redo = dir.path().join("redo");
            let files = std::fs::read_dir(&redo).map_or(0, |d| d.count());
            assert_eq!(
                files,
                1,
                "the crash left its redo file in {}",
                redo.display()
            );
        }
        rt.block_on(async {
            let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
            let head = store.head().0;
            assert!(head > 600, "the soak process appended ({head})");
            let resumed = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
            let checkpoint = resumed.position();
            assert!(checkpoint <= head);
            if !store.recovery_report().index_rebuilt {
                assert!(checkpoint > 0, "a flushed checkpoint survived the kill");
            }
            eprintln!(
                "kill {seed}: head {head}, checkpoint {checkpoint}, index rebuilt {}",
                store.recovery_report().index_rebuilt
            );
            resumed.catch_up().unwrap();
            let fresh = tempfile::tempdir().unwrap();
            let copy = support::copy_log(&store, fresh.path(), None).await;
            let rebuilt = Projections::open(&copy, RuleBook::default_rules().unwrap()).unwrap();
            rebuilt.catch_up().unwrap();
            let all = SegmentFilter::default();
            assert_eq!(resumed.segments(&all), rebuilt.segments(&all));
            assert_eq!(
                format!("{:?}", resumed.customers(&all, None, 1000)),
                format!("{:?}", rebuilt.customers(&all, None, 1000))
            );
            let same = resumed.with_model(|a, _| {
                rebuilt.with_model(|b, _| crm_projections::model::same_content(a, b))
            });
            assert!(
                same,
                "the resumed model equals the rebuilt one in every read model"
            );
            assert_eq!(
                resumed.history_entries().unwrap(),
                rebuilt.history_entries().unwrap(),
                "the resumed history equals the rebuilt one, entry by entry"
            );
            resumed.flush().unwrap();
            copy.close().await.unwrap();
            store.close().await.unwrap();
        });
    }
}
