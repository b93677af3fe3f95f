//! The demo data set (`crm_load::demo`): loaded through the real binary, deterministic for a
//! seed and `--until` (the same log: events, positions, recorded-at, hash chain, head hash),
//! different for another seed, a log that verifies, read models that rebuild, and as-of
//! replays of a branch and a staff member; its dates end on `--until`, where its churn risk
//! reads like a live book's.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::path::Path;
use std::process::Command;

use crm_projections::ChurnRisk;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::{date, offset};
use time::{Date, OffsetDateTime};

/// The demo's last business day in these tests (a Monday), so they see the same data on any
/// day they run; the dates they ask about follow from it.
const UNTIL: Date = date!(2025 - 06 - 30);
const UNTIL_ARG: &str = "2025-06-30";

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
    let args = [
        "demo",
        "--customers",
        "60",
        "--days",
        "5",
        "--seed",
        "7",
        "--until",
        UNTIL_ARG,
    ];
    let report = crm(a.path(), &args);
    assert!(report.contains("(0 refused)"), "{report}");
    crm(b.path(), &args);
    crm(
        c.path(),
        &[
            "demo",
            "--customers",
            "60",
            "--days",
            "5",
            "--seed",
            "8",
            "--until",
            UNTIL_ARG,
        ],
    );
    let (ea, eb, ec) = (events(a.path()), events(b.path()), events(c.path()));
    assert!(ea.len() > 60 * 5, "{} events", ea.len());
    // Commands run concurrently, yet the log is the same record for record, hash for hash.
    assert_eq!(ea.len(), eb.len());
    for (x, y) in ea.iter().zip(&eb) {
        assert_eq!(x, y);
    }
    assert_eq!(head_hash(a.path()), head_hash(b.path()));
    // Recorded at business time, not at the time of the run: the organisation half a year
    // before the five trading days up to --until, the last day's figures on it, nothing after.
    let recorded: Vec<OffsetDateTime> = ea
        .iter()
        .map(|v| OffsetDateTime::parse(v["recordedAt"].as_str().unwrap(), &Rfc3339).unwrap())
        .collect();
    let day = |t: &OffsetDateTime| t.to_offset(offset!(+8)).date();
    let (first, last) = (
        recorded.iter().map(day).min().unwrap(),
        recorded.iter().map(day).max().unwrap(),
    );
    assert_eq!(last, UNTIL, "{}", ea[ea.len() - 1]);
    // Five trading days up to Monday 2025-06-30 start on Tuesday the 24th.
    let first_day = date!(2025 - 06 - 24);
    assert_eq!(first, first_day - time::Duration::days(180), "{}", ea[0]);
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
    // The month of the daily data and one of its trading days, from --until.
    let month = format!("{}-{:02}", UNTIL.year(), u8::from(UNTIL.month()));
    let trading_day = (first_day + time::Duration::days(1)).to_string();
    let dashboard = crm(
        a.path(),
        &["replay", "--branch", &branch, "--month", &month, "--json"],
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
        &["replay", "--branch", &branch, "--date", &trading_day],
    );
    assert!(day.contains("customers "), "{day}");
    let served = streams("staff-").iter().find_map(|staff| {
        let out = Command::new(env!("CARGO_BIN_EXE_crm"))
            .arg("--data-dir")
            .arg(a.path())
            .args(["replay", "--staff", staff, "--month", &month, "--json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["performance"]["customers_served"].as_i64()? > 0).then_some(v)
    });
    assert!(
        served.is_some(),
        "no customer manager with customers in {month}"
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

#[test]
fn a_demo_up_to_a_day_reads_like_a_book_on_that_day() {
    // A Sunday: the last trading day is Friday 2025-06-27.
    let until = date!(2025 - 06 - 29);
    let dir = tempfile::tempdir().unwrap();
    let loaded = crm(
        dir.path(),
        &[
            "demo",
            "--customers",
            "300",
            "--days",
            "60",
            "--seed",
            "7",
            "--until",
            "2025-06-29",
        ],
    );
    assert!(loaded.contains("(0 refused)"), "{loaded}");
    let store =
        crm_eventstore::EventStore::open(dir.path(), crm_eventstore::StoreConfig::default())
            .unwrap();
    let projections = crm_projections::Projections::open(
        &store,
        crm_projections::RuleBook::default_rules().unwrap(),
    )
    .unwrap();
    projections.catch_up().unwrap();
    let (latest_trade, log_date, ids) = projections.with_model(|m, _| {
        use crm_projections::views;
        (
            views::customer_records(m)
                .filter_map(|c| c.days.last())
                .map(|d| d.date)
                .max(),
            Some(views::today(m, None)).filter(|d| *d != time::Date::MIN),
            views::customer_records(m).map(|c| c.id).collect::<Vec<_>>(),
        )
    });
    // The latest daily summary is the last weekday on or before --until; nothing later.
    assert_eq!(latest_trade, Some(date!(2025 - 06 - 27)));
    assert!(log_date.is_some_and(|d| d <= until), "{log_date:?}");

    // Churn risk as the book shows it on --until. Customers trade on 2–42% of trading days
    // (and are contacted besides), so nearly all were active within the rules' 90 dormant
    // days; MEDIUM/HIGH are the few the generator sent dormant or with large outflows.
    // Measured (seed 7, 300 customers, 60 days): 3 MEDIUM, 1 HIGH, 3 churned, 293 LOW. A
    // demo whose dates ended long before the day it is read at showed 90% MEDIUM ("no trade
    // or contact for 722 days"). The bound leaves room for generator changes: under a tenth.
    let segments = projections.segments(&crm_projections::SegmentFilter {
        as_of: Some(until),
        ..Default::default()
    });
    let count = |r: ChurnRisk| segments.by_churn_risk.get(&r).copied().unwrap_or(0);
    let at_risk = count(ChurnRisk::Medium) + count(ChurnRisk::High);
    assert_eq!(segments.customers, 300, "{segments:?}");
    assert!(at_risk * 10 < segments.customers, "{segments:?}");
    assert!(
        count(ChurnRisk::Low) * 2 > segments.customers,
        "{segments:?}"
    );
    // Each customer's archive agrees, evaluated at the log's latest business date (merged
    // duplicates included).
    let at_risk_360 = ids
        .iter()
        .filter_map(|id| projections.customer_360(*id, None))
        .filter(|c| matches!(c.churn.risk, ChurnRisk::Medium | ChurnRisk::High))
        .count();
    assert!(
        at_risk_360 * 10 < ids.len(),
        "{at_risk_360} of {}",
        ids.len()
    );
}

#[test]
fn an_until_in_the_future_is_refused_by_demo_and_serve_before_the_directory_is_made() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    // Two days ahead in UTC+8: still in the future if the date turns while the test runs.
    let until = (OffsetDateTime::now_utc().to_offset(offset!(+8)).date() + time::Duration::days(2))
        .to_string();
    for args in [
        vec!["demo", "--customers", "5", "--days", "2", "--until", &until],
        vec![
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--until",
            &until,
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_crm"))
            .arg("--data-dir")
            .arg(&dir)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "the demo's last business day {until} is in the future"
            )),
            "{args:?}: {stderr}"
        );
        assert!(!dir.exists(), "{args:?}");
    }
}

/// Runs `crm` with `args` on `data_dir` (stdout and stderr read on threads), waiting at most
/// `limit`; None if it was still running then (it is killed).
fn run_within(
    data_dir: &Path,
    args: &[&str],
    limit: std::time::Duration,
) -> Option<(std::process::ExitStatus, String, String)> {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    status.map(|s| (s, stdout, stderr))
}

/// A `crm demo` killed part-way leaves part of the demo in the log: `serve --demo` refuses it
/// (exit 1) naming the directory and what to do, instead of serving half a book; so does
/// `crm demo`. Before the demo marked its loads, `serve --demo` served it.
#[test]
fn serve_demo_refuses_a_directory_whose_demo_load_was_interrupted() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    // Large enough to take minutes: it is killed after its first phases are in the log.
    let mut load = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "demo",
            "--customers",
            "5000",
            "--days",
            "250",
            "--until",
            UNTIL_ARG,
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Progress lines on stderr ("  customers: day 0/250, 12345 events (…)"): appended events
    // are written to the segment files before they are acknowledged, so a kill keeps them.
    let mut seen = Vec::new();
    let mut lines = BufReader::new(load.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let events = line
            .split(", ")
            .find_map(|part| part.split_once(" events ("))
            .and_then(|(n, _)| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        seen.push(line);
        if events > 0 {
            break;
        }
    }
    // Killed while its stderr is still read, so that it dies of the kill alone.
    load.kill().unwrap();
    let killed = load.wait().unwrap();
    drop(lines);
    assert!(
        !killed.success(),
        "the demo finished before it was killed: {seen:?}"
    );

    let (status, stdout, stderr) = run_within(
        dir.path(),
        &["serve", "--demo", "--listen", "127.0.0.1:0"],
        std::time::Duration::from_secs(120),
    )
    .unwrap_or_else(|| panic!("serve --demo served a half-loaded demo directory"));
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    let dir_name = dir.path().display().to_string();
    assert!(
        stderr.contains(&format!(
            "the data directory {dir_name} holds a demo load that was interrupted"
        )),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("remove the directory"), "{stderr}");
    assert!(!stdout.contains("serving on"), "{stdout}");

    let (status, _, stderr) = run_within(
        dir.path(),
        &[
            "demo",
            "--customers",
            "5",
            "--days",
            "2",
            "--until",
            UNTIL_ARG,
        ],
        std::time::Duration::from_secs(120),
    )
    .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

/// A demo that finished leaves no marker, and `serve --demo` serves it as it is.
#[test]
fn serve_demo_serves_a_complete_demo_directory_as_it_is() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    crm(
        dir.path(),
        &[
            "demo",
            "--customers",
            "20",
            "--days",
            "3",
            "--until",
            UNTIL_ARG,
        ],
    );
    assert!(!dir.path().join("demo-loading").exists());
    let mut server = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let serving = line.contains("serving on");
        lines.push(line);
        if serving {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        lines.iter().any(|l| l.contains("events; reusing them")),
        "{lines:?}"
    );
    assert!(
        lines.last().is_some_and(|l| l.contains("serving on")),
        "{lines:?}"
    );
}
