//! The PostgreSQL server the tests use, and a fresh database per test.
//!
//! `CRM_TEST_PG_URL` names a server (any database on it; the tests create their own
//! databases there, so use a throwaway server). Without it the harness starts one itself with
//! `scripts/pg-test-server.sh`, which stops it once this test process has exited. When
//! neither works the tests fail, saying why: they skip only with `CRM_TEST_PG=off` set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // test code

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crm_eventstore_pg::{PgConfig, PgEventStore};
use tokio_postgres::{Config, NoTls};

/// The server's URL, or `None` when the tests were told to skip PostgreSQL.
fn server_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if std::env::var("CRM_TEST_PG").is_ok_and(|v| v == "off") {
            eprintln!("CRM_TEST_PG=off: the PostgreSQL tests do not run");
            return None;
        }
        if let Ok(url) = std::env::var("CRM_TEST_PG_URL") {
            return Some(url);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-server.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("--watch")
            .arg(std::process::id().to_string())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("CRM_TEST_PG_URL="))
            .map(str::to_owned);
        match (out.status.success(), url) {
            (true, Some(url)) => Some(url),
            _ => panic!(
                "the PostgreSQL tests need a server: CRM_TEST_PG_URL is not set and {} could \
                 not start one ({}): {}\nSet CRM_TEST_PG_URL, install PostgreSQL, or set \
                 CRM_TEST_PG=off to skip these tests",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    })
    .clone()
}

/// The connection settings of a new, empty database on the test server; `None` when told
/// to skip.
pub async fn fresh_database() -> Option<Config> {
    let url = server_url()?;
    let admin: Config = url
        .parse()
        .unwrap_or_else(|e| panic!("CRM_TEST_PG_URL {url:?}: {e}"));
    let (client, connection) = admin
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server {url}: {e}"));
    tokio::spawn(connection);
    let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("creating a test database on {url}: {e}"));
    let mut config = admin;
    config.dbname(&name);
    Some(config)
}

/// A store on a new, empty database.
pub async fn fresh_store() -> Option<PgEventStore> {
    let config = fresh_database().await?;
    Some(
        PgEventStore::open(PgConfig::new(config))
            .await
            .expect("open"),
    )
}
