//! The README's first run, as a newcomer does it: `crm serve --demo` on an empty data
//! directory, then the five GraphQL queries the README walks through, each taken from
//! README.md itself, each expected to return data. The demo is smaller than the default
//! (`CRM_DEMO_CUSTOMERS`, `CRM_DEMO_DAYS`) so the test suite stays fast; the command is the same.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The ```graphql blocks of the README's first-run walk-through, in order.
fn readme_queries() -> Vec<String> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("try these five queries")
        .expect("the README walks through five queries");
    let mut queries = Vec::new();
    let mut rest = &readme[start..];
    while let Some(open) = rest.find("```graphql") {
        let body = &rest[open + "```graphql".len()..];
        let close = body.find("```").unwrap();
        queries.push(
            body[..close]
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n"),
        );
        rest = &body[close + 3..];
        if queries.len() == 6 {
            break;
        }
    }
    queries
}

struct Server {
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_first_run_serves_the_five_queries_over_demo_data() {
    let queries = readme_queries();
    assert_eq!(queries.len(), 6, "{queries:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("CRM_DEMO_CUSTOMERS", "300")
        .env("CRM_DEMO_DAYS", "60")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server { child };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The address, then a development token per role (as the README says: paste one): the
    // tokens stand for the demo's own staff, which the server checks every request against.
    let mut url = String::new();
    let mut printed: std::collections::HashMap<String, String> = Default::default();
    let mut role: Option<String> = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    while printed.len() < 3 {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the server did not start and print its tokens within 10 minutes");
        if line.contains("serving on") {
            url = line.split_whitespace().last().unwrap_or("").to_string();
        } else if let Some(r) = role.take() {
            printed.insert(r, line.trim().to_string());
        } else if let Some(r) = ["hq", "auditor", "operator"]
            .into_iter()
            .find(|r| line.trim_start().starts_with(&format!("{r} ")))
        {
            role = Some(r.to_string());
        }
    }
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let client = reqwest::Client::new();
    let post = |token: String, query: String| {
        let client = client.clone();
        let url = format!("{url}/graphql");
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let body: Value = response.json().await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body
        }
    };
    let hq = printed["hq"].clone();
    let auditor = printed["auditor"].clone();
    let operator = printed["operator"].clone();
    assert!(hq.starts_with("eyJ"), "{hq}");

    // 1. Branch dashboards: every branch has customers.
    let dashboards = post(hq.clone(), queries[0].clone()).await;
    let branches = dashboards["data"]["branches"].as_array().unwrap();
    assert!(!branches.is_empty(), "{dashboards}");
    assert!(branches
        .iter()
        .all(|b| b["dashboard"]["customers"].as_i64().unwrap_or(0) > 0));

    // 2. A customer 360 with the explanation of its tier.
    let archive = post(hq.clone(), queries[1].clone()).await;
    let customer = &archive["data"]["customers"]["edges"][0]["node"];
    assert!(customer["name"].is_string(), "{archive}");
    assert!(
        !customer["accounts"].as_array().unwrap().is_empty(),
        "{archive}"
    );
    assert!(!customer["contributionExplanation"]["terms"]
        .as_array()
        .unwrap()
        .is_empty());
    let id = customer["customerId"].as_str().unwrap();

    // 3. The leaderboard.
    let board = post(hq.clone(), queries[2].clone()).await;
    assert!(
        !board["data"]["leaderboard"].as_array().unwrap().is_empty(),
        "{board}"
    );

    // 4. The auditor's replay of the customer of query 2: the whole timeline first, then as
    // of an instant inside it.
    let query = queries[3].replace("\"ID\"", &format!("\"{id}\""));
    assert!(query.contains(id) && query.contains("INSTANT"), "{query}");
    let whole = post(
        auditor.clone(),
        query.replace("INSTANT", "2100-01-01T00:00:00Z"),
    )
    .await;
    let timeline = whole["data"]["customerHistory"]["timeline"]
        .as_array()
        .unwrap();
    assert!(timeline.len() >= 2, "{whole}");
    let instant = timeline[0]["recordedAt"].as_str().unwrap();
    let replay = post(auditor, query.replace("INSTANT", instant)).await;
    let history = &replay["data"]["customerHistory"];
    assert!(history["snapshot"]["lifecycle"].is_string(), "{replay}");
    let seen = history["timeline"].as_array().unwrap();
    assert!(!seen.is_empty() && seen.len() <= timeline.len(), "{replay}");
    assert_eq!(seen[0], timeline[0], "{replay}");

    // 5. The rules dry run: a job, started, then followed to its report.
    let started = post(operator.clone(), queries[4].clone()).await;
    let job = started["data"]["startRulesPreview"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{started}"))
        .to_string();
    let query = queries[5].replace("\"JOB\"", &format!("\"{job}\""));
    assert!(query.contains(&job), "{query}");
    let mut report = Value::Null;
    for _ in 0..1200 {
        let answer = post(operator.clone(), query.clone()).await;
        let state = answer["data"]["job"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(state == "RUNNING" || state == "SUCCEEDED", "{answer}");
        if state == "SUCCEEDED" {
            report = answer["data"]["job"]["preview"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(report["customersChangingTier"].is_i64(), "{report}");
    assert!(report["tierMoves"].is_array(), "{report}");
    drop(server);
}
