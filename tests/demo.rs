//! The demo data set (`crm_load::demo`): loaded through the real binary, deterministic for a
//! seed (the same log: events, positions, recorded-at, hash chain, head hash), different for
//! another seed, a log that verifies, read models that rebuild, and as-of replays of a branch
//! and a staff member.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn crm(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The exported log, every field of every record (the trailer left out).
fn events(dir: &Path) -> Vec<Value> {
    let file = dir.join("export.jsonl");
    crm(dir, &["export", file.to_str().unwrap()]);
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("trailer").is_none())
        .collect()
}

fn head_hash(dir: &Path) -> String {
    let verified = crm(dir, &["verify"]);
    verified
        .lines()
        .find(|l| l.contains("head hash"))
        .unwrap_or_else(|| panic!("no head hash in {verified}"))
        .to_string()
}

#[test]
fn the_same_seed_gives_the_same_events_and_another_seed_other_ones() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let args = ["demo", "--customers", "60", "--days", "5", "--seed", "7"];
    let report = crm(a.path(), &args);
    assert!(report.contains("(0 refused)"), "{report}");
    crm(b.path(), &args);
    crm(
        c.path(),
        &["demo", "--customers", "60", "--days", "5", "--seed", "8"],
    );
    let (ea, eb, ec) = (events(a.path()), events(b.path()), events(c.path()));
    assert!(ea.len() > 60 * 5, "{} events", ea.len());
    // Commands run concurrently, yet the log is the same record for record, hash for hash.
    assert_eq!(ea.len(), eb.len());
    for (x, y) in ea.iter().zip(&eb) {
        assert_eq!(x, y);
    }
    assert_eq!(head_hash(a.path()), head_hash(b.path()));
    // Recorded at business time (2024), not at the time of the run.
    assert!(
        ea.iter()
            .all(|v| v["recordedAt"].as_str().unwrap().starts_with("2024-")
                || v["recordedAt"].as_str().unwrap().starts_with("2023-")),
        "{}",
        ea[0]
    );
    assert_ne!(
        ea.iter().map(|v| v["eventId"].clone()).collect::<Vec<_>>(),
        ec.iter().map(|v| v["eventId"].clone()).collect::<Vec<_>>()
    );
    assert!(crm(a.path(), &["verify"]).contains("head hash"));
    // The read models rebuild from the log, and status then shows them at the head.
    let rebuilt = crm(a.path(), &["rebuild"]);
    assert!(
        rebuilt.contains("rebuilt the read models: generation 2 under rules version 1")
            && rebuilt.contains(&format!("{} events in", ea.len())),
        "{rebuilt}"
    );
    let status = crm(a.path(), &["status"]);
    assert!(
        status.contains(&format!(
            "read models generation 2 (Current): position {} (lag 0 events",
            ea.len()
        )),
        "{status}"
    );
    // As-of replays of a branch dashboard and a staff member's month, from the log alone.
    let streams = |category: &str| {
        let mut ids: Vec<String> = ea
            .iter()
            .filter_map(|v| v["stream"].as_str())
            .filter_map(|s| s.strip_prefix(category))
            .map(str::to_owned)
            .collect();
        ids.dedup();
        ids
    };
    let branch = streams("branch-").into_iter().next().unwrap();
    let dashboard = crm(
        a.path(),
        &[
            "replay", "--branch", &branch, "--month", "2024-01", "--json",
        ],
    );
    let dashboard: Value = serde_json::from_str(&dashboard).unwrap();
    assert_eq!(
        dashboard["dashboard"]["branch"]
            .as_str()
            .unwrap()
            .replace('-', ""),
        branch,
        "{dashboard}"
    );
    assert!(
        dashboard["dashboard"]["totals"]["customers"]
            .as_i64()
            .unwrap()
            > 0
    );
    let day = crm(
        a.path(),
        &["replay", "--branch", &branch, "--date", "2024-01-03"],
    );
    assert!(day.contains("customers "), "{day}");
    let served = streams("staff-").iter().find_map(|staff| {
        let out = Command::new(env!("CARGO_BIN_EXE_crm"))
            .arg("--data-dir")
            .arg(a.path())
            .args(["replay", "--staff", staff, "--month", "2024-01", "--json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["performance"]["customers_served"].as_i64()? > 0).then_some(v)
    });
    assert!(
        served.is_some(),
        "no customer manager with customers in January"
    );
    // A demo refuses a directory that already holds data.
    let again = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(a.path())
        .args(args)
        .output()
        .unwrap();
    assert!(!again.status.success());
}
