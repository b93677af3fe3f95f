//! The PostgreSQL server the tests use, and a fresh database per test.
//!
//! `CRM_TEST_PG_URL` names a server (any database on it; the tests create their own
//! databases there, so use a throwaway server). Without it the harness starts one itself with
//! `scripts/pg-test-server.sh`, which stops it once this test process has exited. When
//! neither works the tests fail, saying why: they skip only with `CRM_TEST_PG=off` set.
//!
//! Behind the cargo feature `testing`: for this crate's tests and the binary's (several nodes).
// A harness that cannot reach its server has nothing to test: it panics, saying why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::{PgConfig, PgEventStore};
use tokio_postgres::{Config, NoTls};

/// The server's URL, or `None` when the tests were told to skip PostgreSQL.
pub fn server_url() -> Option<String> {
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

/// [`fresh_database`] as a URL a `crm serve --store` flag takes.
pub async fn fresh_database_url() -> Option<String> {
    let config = fresh_database().await?;
    let url = server_url()?;
    let name = config.get_dbname()?;
    Some(with_dbname(&url, name))
}

/// `url` naming database `name` instead of its own.
fn with_dbname(url: &str, name: &str) -> String {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"));
    match rest {
        Some(rest) => {
            let (before_query, query) = rest
                .split_once('?')
                .map_or((rest, None), |(a, q)| (a, Some(q)));
            let authority = before_query.split('/').next().unwrap_or(before_query);
            match query {
                Some(q) => format!("postgres://{authority}/{name}?{q}"),
                None => format!("postgres://{authority}/{name}"),
            }
        }
        None => format!("{url} dbname={name}"),
    }
}
