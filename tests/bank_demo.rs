//! The bank demo through the real binary: `crm demo --profile bank` loads a rural credit
//! cooperative that `crm verify` accepts, with deposits, loans, services and fees and no
//! securities business; `crm serve --demo --profile bank` loads the same kind of data and
//! answers the README's four bank queries with data; an unknown profile is refused.
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

/// The ```graphql blocks of the README's bank walk-through, in order.
fn readme_bank_queries() -> Vec<String> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("four queries show the bank side")
        .expect("the README walks through four bank queries");
    let end = start
        + readme[start..]
            .find("On an empty data directory")
            .expect("the bank walk-through ends before the demo's description");
    readme[start..end]
        .split("```graphql")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(|q| q.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_profile_bank_loads_the_bank_demo_and_answers_the_readme_queries() {
    let queries = readme_bank_queries();
    assert_eq!(queries.len(), 4, "{queries:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--demo", "--profile", "bank", "--until", UNTIL])
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .env("CRM_DEMO_CUSTOMERS", "40")
        .env("CRM_DEMO_DAYS", "10")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The demo report, the address, then a development token per role printed under its name.
    let mut loaded = None;
    let mut url = String::new();
    let mut tokens = std::collections::HashMap::new();
    let mut role: Option<String> = None;
    for line in BufReader::new(serve.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("demo loaded:") {
            loaded = Some(line);
        } else if line.contains("serving on") {
            url = line.split_whitespace().last().unwrap_or("").to_string();
        } else if line.starts_with("More:") {
            break;
        } else if let Some(r) = role.take() {
            tokens.insert(r, line.trim().to_string());
        } else if let Some(r) = ["hq", "branch-manager", "customer-manager"]
            .into_iter()
            .find(|r| line.trim_start().starts_with(&format!("{r} ")))
        {
            role = Some(r.to_string());
        }
    }
    let loaded = loaded.expect("serve --demo --profile bank printed no demo report");
    assert!(loaded.contains("40 customers"), "{loaded}");
    assert!(loaded.contains("10 calendar days"), "{loaded}");
    assert!(loaded.contains("(0 refused)"), "{loaded}");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    for r in ["hq", "branch-manager", "customer-manager"] {
        assert!(tokens.contains_key(r), "no {r} token printed: {tokens:?}");
    }
    let client = reqwest::Client::new();
    let post = |token: &str, query: &str| {
        let request = client
            .post(format!("{url}/graphql"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "query": query }));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body
        }
    };

    // 1. Customers' deposits and loans: some of the first five hold a deposit account.
    let body = post(&tokens["hq"], &queries[0]).await;
    let customers = body["data"]["customers"]["edges"].as_array().unwrap();
    assert!(!customers.is_empty(), "{body}");
    assert!(
        customers
            .iter()
            .any(|c| c["node"]["banking"]["depositAccounts"]
                .as_array()
                .is_some_and(|a| !a.is_empty())),
        "{body}"
    );
    // 2. Outlet dashboards: some outlet has deposits and a classified loan book.
    let body = post(&tokens["hq"], &queries[1]).await;
    let branches = body["data"]["branches"].as_array().unwrap();
    assert!(
        branches.iter().any(|b| {
            let banking = &b["dashboard"]["banking"];
            banking["depositsOn"].is_string()
                && banking["loansByClassification"]
                    .as_array()
                    .is_some_and(|l| !l.is_empty())
        }),
        "{body}"
    );
    // 3. Reminders answer for the staff the README names.
    for r in ["customer-manager", "branch-manager"] {
        let body = post(&tokens[r], &queries[2]).await;
        assert!(body["data"]["todos"].is_array(), "{r}: {body}");
    }
    // 4. The outlet ranking: outlets ranked from 1, the first with deposits; the company's
    //    dashboard holds deposits and a loan book.
    let body = post(&tokens["hq"], &queries[3]).await;
    let ranking = body["data"]["outletRanking"].as_array().unwrap();
    assert!(!ranking.is_empty(), "{body}");
    assert_eq!(ranking[0]["rank"], 1, "{body}");
    assert!(
        ranking
            .windows(2)
            .all(|w| w[0]["rank"].as_i64() <= w[1]["rank"].as_i64()),
        "{body}"
    );
    assert_ne!(ranking[0]["figures"]["deposits"], "0.0000", "{body}");
    let company = &body["data"]["bankDashboard"]["figures"];
    assert_ne!(company["deposits"], "0.0000", "{body}");
    assert_ne!(company["loanBalance"], "0.0000", "{body}");
    assert!(
        company["bankCustomers"].as_i64().is_some_and(|n| n > 0),
        "{body}"
    );
    // By product: the demo's deposit and loan products, and the served customers' contribution
    // under the default `[bank_contribution]`.
    for list in ["depositsByProduct", "loansByProduct"] {
        assert!(
            company[list].as_array().is_some_and(|l| !l.is_empty()),
            "{list}: {body}"
        );
    }
    assert!(company["contribution"].is_string(), "{body}");

    serve.kill().unwrap();
    serve.wait().unwrap();
    assert_bank(&event_types(dir.path()));
}
