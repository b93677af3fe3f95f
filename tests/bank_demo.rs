//! The bank demo through the real binary: `crm demo --profile bank` loads a rural credit
//! cooperative that `crm verify` accepts, with deposits, loans, services and fees and no
//! securities business; `crm serve --demo --profile bank` loads the same kind of data; an
//! unknown profile is refused.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const UNTIL: &str = "2025-06-30";

fn crm(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(data_dir: &Path, args: &[&str]) -> String {
    let out = crm(data_dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The event types in the exported log.
fn event_types(dir: &Path) -> BTreeSet<String> {
    let file = dir.join("export.jsonl");
    ok(dir, &["export", file.to_str().unwrap()]);
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("eventType")?.as_str().map(str::to_owned))
        .collect()
}

fn assert_bank(types: &BTreeSet<String>) {
    for wanted in [
        "BankSegmentRecorded",
        "DepositAccountOpened",
        "DepositBalanceRecorded",
        "LoanContracted",
        "LoanPositionRecorded",
        "CardIssued",
        "EChannelSignedUp",
        "FeeIncomeRecorded",
    ] {
        assert!(types.contains(wanted), "no {wanted} in {types:?}");
    }
    assert!(!types.contains("DailyTradeSummaryRecorded"), "{types:?}");
}

#[test]
fn crm_demo_profile_bank_loads_a_cooperative_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let report = ok(
        dir.path(),
        &[
            "demo",
            "--profile",
            "bank",
            "--customers",
            "80",
            "--days",
            "35",
            "--until",
            UNTIL,
        ],
    );
    assert!(report.contains("(0 refused)"), "{report}");
    assert!(report.contains("35 calendar days"), "{report}");
    let verified = ok(dir.path(), &["verify"]);
    assert!(verified.contains("head hash"), "{verified}");
    assert!(!verified.contains("FINDING"), "{verified}");
    let types = event_types(dir.path());
    assert_bank(&types);
    assert!(types.contains("LoanClosed"), "{types:?}");

    let other = tempfile::tempdir().unwrap();
    let refused = crm(other.path(), &["demo", "--profile", "insurance"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("brokerage or bank"), "{stderr}");
}

#[test]
fn serve_demo_profile_bank_loads_the_bank_demo() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--demo", "--profile", "bank", "--until", UNTIL])
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .env("CRM_DEMO_CUSTOMERS", "40")
        .env("CRM_DEMO_DAYS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut loaded = None;
    for line in BufReader::new(serve.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("demo loaded:") {
            loaded = Some(line);
            break;
        }
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
    let loaded = loaded.expect("serve --demo --profile bank printed no demo report");
    assert!(loaded.contains("40 customers"), "{loaded}");
    assert!(loaded.contains("5 calendar days"), "{loaded}");
    assert!(loaded.contains("(0 refused)"), "{loaded}");
    assert_bank(&event_types(dir.path()));
}
