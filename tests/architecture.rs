//! Architecture invariants from docs/ARCHITECTURE.md, checked over `cargo metadata`: what each
//! crate must not know. A dependency that breaks a boundary fails here, not in review.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::{BTreeSet, HashMap};

fn dependency_closure(package: &str) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, Vec<(&str, bool)>> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    // Only normal (non-dev, non-build) dependencies cross the boundary.
                    let normal = d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null());
                    (d["pkg"].as_str().unwrap(), normal)
                })
                .collect();
            (n["id"].as_str().unwrap(), deps)
        })
        .collect();
    let root = names
        .iter()
        .find(|(_, n)| **n == package)
        .map(|(id, _)| *id)
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        for (dep, normal) in nodes.get(id).into_iter().flatten() {
            if *normal && seen.insert(names[dep].to_string()) {
                stack.push(dep);
            }
        }
    }
    seen
}

fn check(package: &str, forbidden: &[&str]) {
    let closure = dependency_closure(package);
    let found: Vec<_> = forbidden.iter().filter(|f| closure.contains(**f)).collect();
    assert!(found.is_empty(), "{package} must not depend on {found:?}");
}

#[test]
fn the_domain_knows_no_io_no_runtime_no_storage_and_no_api() {
    check(
        "crm-domain",
        &[
            "tokio",
            "sled",
            "mio",
            "axum",
            "async-graphql",
            "crm-eventstore",
            "bincode",
        ],
    );
}

#[test]
fn the_event_store_knows_no_domain_and_no_api() {
    check(
        "crm-eventstore",
        &[
            "crm-domain",
            "crm-projections",
            "crm-app",
            "axum",
            "async-graphql",
        ],
    );
}

#[test]
fn the_postgres_store_knows_no_domain_and_no_api() {
    check(
        "crm-eventstore-pg",
        &[
            "crm-domain",
            "crm-codec",
            "crm-projections",
            "crm-app",
            "axum",
            "async-graphql",
        ],
    );
}

#[test]
fn the_read_and_write_sides_know_no_http() {
    check(
        "crm-projections",
        &["crm-app", "axum", "async-graphql", "hyper"],
    );
    check("crm-app", &["axum", "async-graphql", "hyper"]);
}

#[test]
fn the_write_and_read_sides_are_siblings_over_the_log_and_the_codec() {
    check("crm-app", &["crm-projections", "crm-load", "crm-graphql"]);
    check("crm-projections", &["crm-app", "crm-load", "crm-graphql"]);
    check(
        "crm-codec",
        &["crm-app", "crm-projections", "crm-load", "crm-graphql"],
    );
}

/// The backend of the log is chosen at the top: the read side, the command side and the API
/// read a local segment store whatever the log of record is, so none of them knows PostgreSQL.
#[test]
fn only_the_binary_knows_which_database_holds_the_log_of_record() {
    for package in [
        "crm-app",
        "crm-projections",
        "crm-graphql",
        "crm-load",
        "crm-codec",
    ] {
        check(
            package,
            &["crm-eventstore-pg", "tokio-postgres", "postgres-protocol"],
        );
    }
}
