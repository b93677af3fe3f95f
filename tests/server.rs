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
    start_with(dir, flags, &[])
}

fn start_with(
    dir: &std::path::Path,
    flags: &[&str],
    envs: &[(&str, &str)],
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
        .envs(envs.iter().copied())
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

/// `crm` with `args` on `data_dir` and `envs`.
fn crm(data_dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn minted(data_dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = crm(data_dir, &[&["token"], args].concat(), envs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// [`start`] with environment variables.
fn start_env(
    dir: &std::path::Path,
    envs: &[(&str, &str)],
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    start_with(dir, &[], envs)
}

/// The status and `extensions.reason` of a GraphQL request with `token`.
async fn graphql(url: &str, token: &str, query: &str, variables: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json::<Value>().await.unwrap(),
    )
}

async fn answer(url: &str, token: &str) -> (u16, Option<String>) {
    let (status, body) = graphql(url, token, "{ logStatus { headPosition } }", json!({})).await;
    let reason = body["errors"][0]["extensions"]["reason"]
        .as_str()
        .map(str::to_string);
    (status, reason)
}

/// Polls until the read side has caught up with the staff directory.
async fn eventually(url: &str, token: &str, want: (u16, Option<&str>)) {
    let mut last = (0, None);
    for _ in 0..250 {
        last = answer(url, token).await;
        if last.0 == want.0 && last.1.as_deref() == want.1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("wanted {want:?}, got {last:?}");
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const JOIN: &str = r#"mutation($s: ID!, $role: RoleInput!) {
  joinStaff(staffId: $s, name: "员工", role: $role, scope: { company: true }) { position } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_token_revoke_refuses_the_tokens_issued_before_it_and_not_while_a_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let hq_id = uuid::Uuid::now_v7().to_string();
    let auditor_id = uuid::Uuid::now_v7().to_string();
    let hq = minted(dir.path(), &["--role", "hq", "--staff", &hq_id], &[]);
    let auditor = minted(
        dir.path(),
        &["--role", "auditor", "--staff", &auditor_id],
        &[],
    );
    let (child, url, rx) = start(dir.path(), &[]);
    for (id, role) in [(&hq_id, "HEADQUARTERS"), (&auditor_id, "AUDITOR")] {
        let (status, body) = graphql(&url, &hq, JOIN, json!({ "s": id, "role": role })).await;
        assert!(status == 200 && body.get("errors").is_none(), "{body}");
    }
    eventually(&url, &auditor, (200, None)).await;

    // The server holds the data directory: the CLI says so and writes nothing.
    let refused = crm(
        dir.path(),
        &["token", "revoke", "--staff", &auditor_id],
        &[],
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("in use"), "{}", stderr(&refused));
    stop(child, rx);

    // A staff member the log does not hold is a refusal, not a crash.
    let unknown = uuid::Uuid::now_v7().to_string();
    let out = crm(dir.path(), &["token", "revoke", "--staff", &unknown], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    // With --by, the recorded role of that staff member is authorized: an auditor may not
    // revoke headquarters' tokens.
    let out = crm(
        dir.path(),
        &["token", "revoke", "--staff", &hq_id, "--by", &auditor_id],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("forbidden"), "{}", stderr(&out));

    // Revocations are to the second: the auditor's token is from an earlier one anyway.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = crm(
        dir.path(),
        &[
            "token",
            "revoke",
            "--staff",
            &auditor_id,
            "--reason",
            "手机丢失",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("revoked"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let (child, url, rx) = start(dir.path(), &[]);
    eventually(&url, &auditor, (401, Some("TOKEN_REVOKED"))).await;
    assert_eq!(answer(&url, &hq).await, (200, None));
    // A token issued after the revocation (in a later second) stands.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = minted(
        dir.path(),
        &["--role", "auditor", "--staff", &auditor_id],
        &[],
    );
    assert_eq!(answer(&url, &fresh).await, (200, None));
    stop(child, rx);
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_secret_verifies_tokens_until_its_instant_and_not_after() {
    let dir = tempfile::tempdir().unwrap();
    let old = "the old secret, forty bytes long 0000000";
    let new = "the new secret, forty bytes long 1111111";
    let before = minted(dir.path(), &["--role", "hq"], &[("CRM_JWT_SECRET", old)]);
    let now = time::OffsetDateTime::now_utc();
    let within = rfc3339(now + time::Duration::hours(1));
    let (child, url, rx) = start_env(
        dir.path(),
        &[
            ("CRM_JWT_SECRET", new),
            ("CRM_JWT_SECRET_PREVIOUS", old),
            ("CRM_JWT_PREVIOUS_UNTIL", &within),
        ],
    );
    assert_eq!(answer(&url, &before).await, (200, None));
    let current = minted(dir.path(), &["--role", "hq"], &[("CRM_JWT_SECRET", new)]);
    assert_eq!(answer(&url, &current).await, (200, None));
    let foreign = minted(
        dir.path(),
        &["--role", "hq"],
        &[("CRM_JWT_SECRET", "some other secret, forty bytes long 2222")],
    );
    assert_eq!(answer(&url, &foreign).await.0, 401);
    stop(child, rx);

    // The grace period is over: the previous secret's tokens are refused.
    let past = rfc3339(time::OffsetDateTime::now_utc() - time::Duration::seconds(1));
    let (child, url, rx) = start_env(
        dir.path(),
        &[
            ("CRM_JWT_SECRET", new),
            ("CRM_JWT_SECRET_PREVIOUS", old),
            ("CRM_JWT_PREVIOUS_UNTIL", &past),
        ],
    );
    assert_eq!(answer(&url, &before).await.0, 401);
    assert_eq!(answer(&url, &current).await, (200, None));
    stop(child, rx);

    // A previous secret shorter than the minimum, or one without its instant, stops the start.
    let short = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs([
            ("CRM_JWT_SECRET", new),
            ("CRM_JWT_SECRET_PREVIOUS", "too short"),
            ("CRM_JWT_PREVIOUS_UNTIL", within.as_str()),
        ])
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(
        stderr(&short).contains("jwt_secret_previous must be at least 32 bytes"),
        "{}",
        stderr(&short)
    );
    let no_instant = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs([("CRM_JWT_SECRET", new), ("CRM_JWT_SECRET_PREVIOUS", old)])
        .output()
        .unwrap();
    assert!(!no_instant.status.success());
    assert!(
        stderr(&no_instant).contains("CRM_JWT_PREVIOUS_UNTIL"),
        "{}",
        stderr(&no_instant)
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_secret_rotate_keeps_tokens_minted_before_it_within_the_grace_period() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let first = minted(dir.path(), &["--role", "hq"], &[]);
    let first_secret = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    let (child, url, rx) = start(dir.path(), &[]);
    assert_eq!(answer(&url, &first).await, (200, None));
    // Not under a running server.
    let refused = crm(dir.path(), &["secret", "rotate"], &[]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("in use"), "{}", stderr(&refused));
    stop(child, rx);

    let out = crm(dir.path(), &["secret", "rotate", "--grace-hours", "1"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in ["jwt-secret", "jwt-secret.previous"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
        assert!(!dir.path().join(format!("{file}.tmp")).exists());
    }
    let previous = std::fs::read_to_string(dir.path().join("jwt-secret.previous")).unwrap();
    assert_eq!(previous.lines().next(), Some(first_secret.trim()));
    assert!(previous.contains("until "), "{previous}");
    let second_secret = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    assert_ne!(second_secret, first_secret);

    let (child, url, rx) = start(dir.path(), &[]);
    assert_eq!(answer(&url, &first).await, (200, None));
    let second = minted(dir.path(), &["--role", "hq"], &[]);
    assert_eq!(answer(&url, &second).await, (200, None));
    stop(child, rx);

    // A rotation with no grace period (a leaked secret): the tokens of the secret it replaces
    // are refused at once, and the one before that is gone.
    let out = crm(dir.path(), &["secret", "rotate", "--grace-hours", "0"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (child, url, rx) = start(dir.path(), &[]);
    assert_eq!(answer(&url, &second).await.0, 401);
    assert_eq!(answer(&url, &first).await.0, 401);
    let third = minted(dir.path(), &["--role", "hq"], &[]);
    assert_eq!(answer(&url, &third).await, (200, None));
    stop(child, rx);
}
