//! Several `crm serve` nodes on one PostgreSQL log of record (#18): writes through any node,
//! read-your-writes across nodes with `atPosition`, one identity per document across nodes,
//! and a node killed with SIGKILL while clients keep writing: the other keeps serving, every
//! acknowledged command is in the log exactly once, and the killed node rejoins.
//!
//! The PostgreSQL server: `CRM_TEST_PG_URL`, or one started by scripts/pg-test-server.sh
//! (`crm_eventstore_pg::testing`); `.ci/run` starts one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

const SECRET: &str = "nodes-test-secret-0123456789abcdef0123456789";

struct Node {
    child: Child,
    url: String,
}

/// A failed assertion must not leave servers behind.
impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `crm serve --store URL` on `dir`; returns once it prints its address.
fn start(dir: &Path, store: &str) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--store", store])
        .env("CRM_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the node prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("crm is serving on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    Node { child, url }
}

fn token(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir)
        .args(["token", "--role", "hq"])
        .env("CRM_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A GraphQL request; `Err` when the node cannot be reached (killed).
async fn graphql(url: &str, token: &str, query: &str, variables: Value) -> Result<Value, String> {
    let response = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(30))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.json::<Value>().await.map_err(|e| e.to_string())
}

const REGISTER: &str = r#"mutation($c: ID!, $id: ID!, $name: String!, $passport: String!) {
  registerCustomer(commandId: $c, customerId: $id, kind: INDIVIDUAL, profile: {
    name: $name, document: { passportCountry: "USA", passportNumber: $passport },
    sourceChannel: APP }) { position alreadyHandled } }"#;

const CUSTOMER: &str =
    r#"query($id: ID!, $at: Long) { customer(id: $id, atPosition: $at) { customerId name } }"#;

struct Registration {
    command: Uuid,
    customer: Uuid,
    passport: String,
}

impl Registration {
    fn new(n: u32) -> Registration {
        Registration {
            command: Uuid::new_v4(),
            customer: Uuid::new_v4(),
            passport: format!("E{n:08}"),
        }
    }

    fn variables(&self) -> Value {
        json!({ "c": self.command, "id": self.customer, "name": format!("客户{}", self.passport),
                "passport": self.passport })
    }
}

/// Sends the registration to `urls[0]`, and on a transport error (the node was killed) the
/// same command to the next: what a client with a retry policy and two nodes does. Returns
/// the acknowledged position.
async fn register_with_failover(urls: &[String], token: &str, r: &Registration) -> u64 {
    let mut last = String::new();
    for url in urls {
        match graphql(url, token, REGISTER, r.variables()).await {
            Ok(body) => {
                let position = body["data"]["registerCustomer"]["position"].as_u64();
                return position.unwrap_or_else(|| panic!("refused: {body}"));
            }
            Err(e) => last = e,
        }
    }
    panic!("no node took the registration: {last}");
}

/// Asserts that the node at `url` serves `r`'s customer as of position `at`.
async fn assert_serves(url: &str, token: &str, r: &Registration, at: u64) {
    let seen = graphql(url, token, CUSTOMER, json!({ "id": r.customer, "at": at }))
        .await
        .unwrap();
    assert_eq!(
        seen["data"]["customer"]["customerId"],
        r.customer.simple().to_string(),
        "{seen}"
    );
}

/// A client registering customers `numbers` one after another through `urls` (failing over
/// in that order), counting its acknowledgements in `progress`.
fn client(
    urls: Vec<String>,
    token: String,
    numbers: std::ops::RangeInclusive<u32>,
    progress: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> tokio::task::JoinHandle<Vec<(Registration, u64)>> {
    tokio::spawn(async move {
        let mut done = Vec::new();
        for n in numbers {
            let r = Registration::new(n);
            let p = register_with_failover(&urls, &token, &r).await;
            done.push((r, p));
            progress.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        done
    })
}

async fn count_registrations(store: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(store, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query_one(
            "SELECT count(*) FROM events WHERE event_type = 'CustomerRegistered'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_log_and_a_killed_node_loses_no_acknowledged_command() {
    let Some(store) = crm_eventstore_pg::testing::fresh_database_url().await else {
        return;
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = start(da.path(), &store);
    let b = start(db.path(), &store);
    let hq = token(da.path());

    // Read-your-writes across nodes: written through A, read on B at the write's position.
    let first = Registration::new(0);
    let at = register_with_failover(std::slice::from_ref(&a.url), &hq, &first).await;
    assert_serves(&b.url, &hq, &first, at).await;

    // Two clients write concurrently, one preferring each node; A is killed once client A
    // has 10 acknowledgements, so its other 20 registrations (and any in flight) fail over.
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let urls_a = vec![a.url.clone(), b.url.clone()];
    let urls_b = vec![b.url.clone(), a.url.clone()];
    let client_a = client(urls_a, hq.clone(), 1..=30, progress.clone());
    let client_b = client(urls_b, hq.clone(), 101..=130, std::sync::Arc::default());
    while progress.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    assert!(
        progress.load(std::sync::atomic::Ordering::SeqCst) < 30,
        "killed while client A was still writing"
    );
    let mut acknowledged = client_a.await.unwrap();
    acknowledged.extend(client_b.await.unwrap());
    assert_eq!(acknowledged.len(), 60);

    // Every acknowledged registration is served by the surviving node, and is in the log of
    // record exactly once (61 with the first), retried commands included.
    let last = acknowledged.iter().map(|(_, p)| *p).max().unwrap();
    for (r, _) in &acknowledged {
        assert_serves(&b.url, &hq, r, last).await;
    }
    assert_eq!(count_registrations(&store).await, 61);

    // The same passport sent to both nodes at once: one customer holds it, whichever wins.
    let a = start(da.path(), &store);
    let mut winners = 0;
    for n in 200..210 {
        let one = Registration::new(n);
        let mut other = Registration::new(n);
        other.customer = Uuid::new_v4();
        let (x, y) = tokio::join!(
            graphql(&a.url, &hq, REGISTER, one.variables()),
            graphql(&b.url, &hq, REGISTER, other.variables()),
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        let ok = |v: &Value| v["data"]["registerCustomer"]["position"].is_u64();
        assert!(
            ok(&x) != ok(&y),
            "exactly one registration of {}: {x} / {y}",
            one.passport
        );
        winners += 1;
    }
    assert_eq!(count_registrations(&store).await, 61 + winners);

    // The restarted node caught up with what B wrote while it was down.
    let (r, p) = acknowledged.last().unwrap();
    assert_serves(&a.url, &hq, r, *p).await;
    drop((a, b));

    // A node's data directory stays a copy: served on its own it is refused, naming why.
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(da.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CRM_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("copy of the log of record"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_with_a_log_of_its_own_is_not_pushed_into_an_empty_database() {
    let Some(store) = crm_eventstore_pg::testing::fresh_database_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A single-node data directory with one event.
    let node = start(dir.path(), "embedded");
    let hq = token(dir.path());
    register_with_failover(std::slice::from_ref(&node.url), &hq, &Registration::new(1)).await;
    drop(node);

    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &store])
        .env("CRM_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("crm import-log --store"), "{err}");
    assert_eq!(count_registrations(&store).await, 0, "nothing was written");
}

fn crm(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "crm {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The line `crm verify` / `crm import-log` print with the head position and hash.
fn head_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains("head hash"))
        .unwrap_or_else(|| panic!("no head hash in {out}"))
        .split("head position")
        .nth(1)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_log_moved_into_postgres_and_back_is_the_same_export_with_the_same_head_hash() {
    let Some(store) = crm_eventstore_pg::testing::fresh_database_url().await else {
        return;
    };
    let (a, b, files) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    crm(
        a.path(),
        &[
            "demo",
            "--customers",
            "40",
            "--days",
            "5",
            "--until",
            "2026-11-30",
        ],
    );
    let original = head_line(&crm(a.path(), &["verify"]));
    let there = files.path().join("there.jsonl");
    let back = files.path().join("back.jsonl");
    crm(a.path(), &["export", there.to_str().unwrap()]);

    // Into PostgreSQL: verified there with the same head.
    let imported = crm(
        b.path(),
        &["import-log", "--store", &store, there.to_str().unwrap()],
    );
    assert_eq!(head_line(&imported), original);
    // A second import into the same (no longer empty) database is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_crm"))
        .args(["import-log", "--store", &store, there.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty"));

    // And back: the same file, record for record and hash for hash.
    crm(
        b.path(),
        &["export", "--store", &store, back.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(&there).unwrap(),
        std::fs::read(&back).unwrap(),
        "the export from PostgreSQL is the export it was made from"
    );
    let restored = head_line(&crm(b.path(), &["import-log", back.to_str().unwrap()]));
    assert_eq!(restored, original);
    assert_eq!(head_line(&crm(b.path(), &["verify"])), original);
}
