//! `crm replay --period` through the real binary over a small demo (#15): a period sealed with
//! its results and team figures is derived again and confirmed, and `--csv` writes its
//! results then its team figures with the file's blake3 hash; a period whose sealed team
//! figure the log does not give fails (exit 1).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::path::Path;
use std::process::{Command, Output};

use crm_domain::appraisal::{AppraisalPeriod, Event as E, TeamFigures};
use crm_domain::ids::StaffId;
use crm_eventstore::{EventMetadata, EventStore, ExpectedRevision};
use crm_projections::RuleBook;
use time::OffsetDateTime;
use uuid::Uuid;

fn crm(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CRM_RULES")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Appends the seal of `period` (results and team figures) as the app records it.
async fn seal(store: &EventStore, period: AppraisalPeriod, teams: impl FnOnce(&mut TeamFigures)) {
    let rules = RuleBook::default_rules().unwrap();
    let closing =
        crm_projections::projections::derive_closing(store, &rules, period, store.head().0)
            .unwrap();
    let mut figures = closing.teams;
    teams(&mut figures);
    let (proposer, approver) = (StaffId::from(Uuid::now_v7()), StaffId::from(Uuid::now_v7()));
    let now = OffsetDateTime::now_utc();
    let events = [
        E::AppraisalPeriodSealed {
            period,
            derivation: closing.derivation,
            proposed_by: proposer,
            approved_by: approver,
            at: now,
        },
        E::AppraisalTeamsSealed {
            period,
            teams: figures,
            proposed_by: proposer,
            approved_by: approver,
            at: now,
        },
    ];
    for e in events {
        let metadata = EventMetadata {
            actor: format!("staff-{approver}"),
            occurred_at: now,
            correlation_id: None,
            causation_id: None,
            command_id: None,
        };
        let new = crm_codec::encode(&e, Uuid::now_v7(), metadata).unwrap();
        let stream = crm_codec::stream_of(&e).unwrap();
        store
            .append(&stream, ExpectedRevision::Any, vec![new])
            .await
            .unwrap();
    }
}

#[test]
fn a_sealed_period_is_confirmed_with_its_team_figures_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let demo = crm(
        dir.path(),
        &[
            "demo",
            "--customers",
            "60",
            "--days",
            "10",
            "--seed",
            "5",
            "--until",
            "2025-06-30",
        ],
    );
    assert!(demo.status.success(), "{}", text(&demo));
    let (june, may) = (
        AppraisalPeriod::Month {
            year: 2025,
            month: 6,
        },
        AppraisalPeriod::Month {
            year: 2025,
            month: 5,
        },
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EventStore::open(dir.path(), crm_eventstore::StoreConfig::default()).unwrap();
        seal(&store, june, |t| {
            assert!(!t.teams.is_empty(), "the demo's teams have leads");
        })
        .await;
        // May sealed with a team figure the log does not give.
        seal(&store, may, |t| {
            t.teams[0].new_customers += 1;
        })
        .await;
        store.close().await.unwrap();
    });

    let csv = dir.path().join("2025-06.csv");
    let out = crm(
        dir.path(),
        &[
            "replay",
            "--period",
            "2025-06",
            "--json",
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(report["identical"], true, "{report}");
    assert_eq!(report["teamsSealed"], true, "{report}");
    assert_eq!(report["sealedTeamsHash"], report["derivedTeamsHash"]);
    let bytes = std::fs::read(&csv).unwrap();
    let hash = crm_projections::read_models::appraisal::content_hash(&bytes);
    assert!(stdout.contains(&format!("blake3 {hash}")), "{stdout}");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, crm_projections::read_models::appraisal::CSV_HEADER);
    let record = header.iter().position(|h| h == "record").unwrap();
    let kinds: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[record].to_string())
        .collect();
    let teams = kinds.iter().filter(|k| *k == "team").count();
    assert!(teams > 0, "{kinds:?}");
    assert!(kinds.starts_with(&["result".to_string()]), "{kinds:?}");

    let out = crm(dir.path(), &["replay", "--period", "2025-05"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("team figures or adjustments derived again from the log differ"),
        "{}",
        text(&out)
    );
}
