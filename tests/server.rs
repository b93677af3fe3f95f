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
    let (child, url, rx) = start(dir.path(), &[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

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
    stop(child, rx);
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

/// Starts `crm serve` with `flags`, returns the child, its URL and a receiver of every stdout
/// line after the first (read on a thread so the server never blocks on a full pipe).
fn start(
    dir: &std::path::Path,
    flags: &[&str],
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(flags)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().last().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, url, rx)
}

fn stop(mut child: std::process::Child, rx: std::sync::mpsc::Receiver<String>) -> String {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(child.wait().unwrap().success());
    rx.try_iter().collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_serve_prints_no_tokens_and_serves_no_console_introspection_or_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url, rx) = start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let graphiql = client.get(format!("{url}/graphiql")).send().await.unwrap();
    assert_eq!(graphiql.status().as_u16(), 404);
    let hq = token(dir.path(), "hq");
    let post = |query: &'static str| {
        let (client, url, hq) = (client.clone(), url.clone(), hq.clone());
        async move {
            client
                .post(format!("{url}/graphql"))
                .bearer_auth(&hq)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let schema = post("{ __schema { queryType { name } } }").await;
    assert!(schema["errors"].is_array(), "{schema}");
    let typo = post("{ mee { role } }").await;
    assert!(!typo.to_string().contains("Did you mean"), "{typo}");
    let printed = stop(child, rx);
    assert!(!printed.contains("Development tokens"), "{printed}");
    assert!(!printed.contains("eyJ"), "a JWT in the output: {printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_tokens_are_printed_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (child, _url, rx) = start(dir.path(), &["--dev-tokens"]);
    // The tokens follow the address lines; wait for them.
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.contains("eyJ") && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            seen.push_str(&line);
            seen.push('\n');
        }
    }
    assert!(seen.contains("Development tokens"), "{seen}");
    stop(child, rx);
}

#[cfg(unix)]
#[test]
fn the_jwt_secret_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    token(dir.path(), "hq");
    let path = dir.path().join("jwt-secret");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    assert!(!dir.path().join("jwt-secret.tmp").exists());
    // A secret left readable by others (an older version, a careless copy) is narrowed.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    token(dir.path(), "hq");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}
