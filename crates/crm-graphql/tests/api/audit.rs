//! The graphql-http audit suite (every MUST, SHOULD and MAY audit of GraphQL-over-HTTP) and a
//! graphql-ws client, run by node against the real server. Install with
//! `npm ci --prefix crates/crm-graphql/tests/audit`. Without `node_modules` the test is skipped
//! with a message, except in CI (`CI` set), where it fails.

use std::path::PathBuf;
use std::process::Command;

use crate::common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_audits_and_graphql_ws_client_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/audit");
    if !dir.join("node_modules/graphql-http").is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the audit: `npm ci --prefix crates/crm-graphql/tests/audit` first"
        );
        eprintln!(
            "SKIPPED graphql-http audit: run `npm ci --prefix crates/crm-graphql/tests/audit`"
        );
        return;
    }
    let server = Server::start().await;
    // The subscription in the script reads from position 0, so give it an event.
    server
        .append("customer-audit", "CustomerRegistered", 1)
        .await;
    let token = server.auditor();
    let url = server.url("/graphql");
    let ws_url = server.ws_url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("audit.mjs")
            .arg(url)
            .arg(ws_url)
            .arg(token)
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .expect("node must be installed to run the audit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("audits passed"), "{stdout}");
    assert!(
        stdout.contains("graphql-ws: query and subscription passed"),
        "{stdout}"
    );
}
