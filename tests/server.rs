//! `crm serve` as a newcomer runs it: start the real binary on a loopback port, take a token
//! from `crm token` on the same data directory, send a mutation and queries over HTTP, stop it
//! with SIGTERM and see it drain and exit cleanly.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn token(data_dir: &std::path::Path, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["token", "--role", role])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_queries_and_mutations_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().last().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    // Keep reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let client = reqwest::Client::new();
    let post = |token: String, body: Value| {
        let client = client.clone();
        let url = format!("{url}/graphql");
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let hq = token(dir.path(), "hq");
    let (status, me) = post(hq.clone(), json!({"query": "{ me { role } }"})).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["me"]["role"], "HEADQUARTERS", "{me}");

    let register = json!({"query": r#"mutation { registerCustomer(kind: INDIVIDUAL, profile: {
        name: "李四", document: { residentId: "11010519491231002X" }, sourceChannel: APP }) {
        position events { eventType } } }"#});
    let (_, registered) = post(hq, register).await;
    assert_eq!(
        registered["data"]["registerCustomer"]["events"][0]["eventType"], "CustomerRegistered",
        "{registered}"
    );

    let (_, events) = post(
        token(dir.path(), "auditor"),
        json!({"query": "{ events(first: 5) { totalCount edges { node { eventType actor } } } }"}),
    )
    .await;
    assert_eq!(
        events["data"]["events"]["edges"][0]["node"]["eventType"], "CustomerRegistered",
        "{events}"
    );

    let unauthenticated = client
        .post(format!("{url}/graphql"))
        .json(&json!({"query": "{ me { role } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);

    // SIGTERM: drain and exit 0; the store reopens cleanly afterwards.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let verify = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("verify")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
