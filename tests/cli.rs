//! The `crm` binary end to end: verify (clean and tampered), export and import-log, backup
//! and restore. Each test runs the real binary against a fresh data directory.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::path::Path;
use std::process::{Command, Output};

use crm_eventstore::{
    EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig, StreamName,
};
use time::OffsetDateTime;
use uuid::Uuid;

fn crm(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run crm")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A store of `n` events, closed again so the binary can open it.
fn write_log(dir: &Path, n: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EventStore::open(dir, StoreConfig::default()).unwrap();
        for i in 0..n {
            let stream = StreamName::parse(format!("customer-{}", i % 7)).unwrap();
            let e = NewEvent {
                event_id: Uuid::from_u64_pair(9, i),
                event_type: "CustomerContacted".into(),
                schema_version: 1,
                metadata: EventMetadata {
                    actor: "staff-1".into(),
                    occurred_at: OffsetDateTime::UNIX_EPOCH,
                    correlation_id: None,
                    causation_id: None,
                    command_id: None,
                },
                payload: format!("contact number {i}").into_bytes(),
            };
            store
                .append(&stream, ExpectedRevision::Any, vec![e])
                .await
                .unwrap();
        }
        store.close().await.unwrap();
    });
}

#[test]
fn verify_passes_on_a_clean_log_and_names_the_position_of_a_tampered_record() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 20);
    let ok = crm(dir.path(), &["verify"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("20 records"), "{}", text(&ok));

    // Forge record 7's payload and fix up its checksum, as an attacker would.
    let path = crm_eventstore::log_dir(dir.path()).join("segment-00000000.log");
    let mut bytes = std::fs::read(&path).unwrap();
    let needle = b"contact number 6";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    bytes[at + needle.len() - 1] = b'9';
    let mut frame = 32usize;
    loop {
        let len = u32::from_le_bytes(bytes[frame..frame + 4].try_into().unwrap()) as usize;
        if frame + 8 + len + 32 > at {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&bytes[frame..frame + 4]);
            crc.update(&bytes[frame + 8..frame + 8 + len + 32]);
            bytes[frame + 4..frame + 8].copy_from_slice(&crc.finalize().to_le_bytes());
            break;
        }
        frame += 8 + len + 32;
    }
    std::fs::write(&path, &bytes).unwrap();
    let bad = crm(dir.path(), &["verify"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        text(&bad).contains("HashChain at position 7"),
        "{}",
        text(&bad)
    );
}

#[test]
fn an_export_loaded_with_import_log_reproduces_the_log() {
    let a = tempfile::tempdir().unwrap();
    write_log(a.path(), 50);
    let file = a.path().join("log.jsonl");
    let out = crm(a.path(), &["export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let b = tempfile::tempdir().unwrap();
    let import = crm(b.path(), &["import-log", file.to_str().unwrap()]);
    assert!(import.status.success(), "{}", text(&import));
    let head_hash = |o: &Output| {
        text(o)
            .split("head hash ")
            .nth(1)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let va = crm(a.path(), &["verify"]);
    let vb = crm(b.path(), &["verify"]);
    assert_eq!(head_hash(&va), head_hash(&vb));
    assert!(!head_hash(&va).is_empty());
}

#[test]
fn a_backup_restores_into_an_empty_directory_and_refuses_to_overwrite() {
    let data = tempfile::tempdir().unwrap();
    write_log(data.path(), 30);
    let backups = tempfile::tempdir().unwrap();
    let target = backups.path().join("b1");
    let b = crm(data.path(), &["backup", target.to_str().unwrap()]);
    assert!(b.status.success(), "{}", text(&b));
    assert!(text(&b).contains("30 records"), "{}", text(&b));

    let refused = crm(data.path(), &["backup", target.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("not empty"), "{}", text(&refused));

    let restored = tempfile::tempdir().unwrap();
    let r = crm(restored.path(), &["restore", target.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("30 records"), "{}", text(&r));
    let again = crm(restored.path(), &["restore", target.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already holds a log"),
        "{}",
        text(&again)
    );
}

#[test]
fn replay_shows_a_customer_as_the_log_knew_it_at_an_instant() {
    use crm_app::{App, AppCommand, CommandEnvelope};
    use crm_domain::auth::{Actor, Role, Scope};
    use crm_domain::customer::{self, CustomerKind, Profile};
    use crm_domain::ids::{CustomerId, StaffId};
    use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber};

    let dir = tempfile::tempdir().unwrap();
    let id = CustomerId::from(Uuid::now_v7());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let app = App::new(store.clone()).unwrap();
        let actor = Actor {
            staff_id: StaffId::from(Uuid::now_v7()),
            role: Role::Headquarters,
            scope: Scope::Company,
        };
        let send = |command| CommandEnvelope {
            command_id: Uuid::now_v7(),
            actor,
            correlation_id: None,
            causation_id: None,
            occurred_at: OffsetDateTime::now_utc(),
            command: AppCommand::Customer {
                customer: id,
                command,
            },
        };
        let profile = Profile {
            name: OrgName::parse("赵六").unwrap(),
            document: IdDocument::ResidentId {
                number: ResidentIdNumber::parse("11010519491231002X").unwrap(),
            },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::Counter,
        };
        app.execute(send(customer::Command::Register {
            customer_id: id,
            kind: CustomerKind::Individual,
            profile,
            as_prospect: false,
            existing_customer_with_same_document: None,
            now: OffsetDateTime::now_utc(),
        }))
        .await
        .unwrap();
        app.execute(send(customer::Command::MarkKeyCustomer {
            is_key: true,
            now: OffsetDateTime::now_utc(),
        }))
        .await
        .unwrap();
        store.close().await.unwrap();
    });
    let now = crm(
        dir.path(),
        &["replay", "--customer", &id.to_string(), "--json"],
    );
    assert!(now.status.success(), "{}", text(&now));
    let now: serde_json::Value = serde_json::from_slice(&now.stdout).unwrap();
    assert_eq!(now["state"]["key_customer"], true, "{now}");
    let registered_at = now["timeline"][0]["recordedAt"]
        .as_str()
        .unwrap()
        .to_string();
    let then = crm(
        dir.path(),
        &[
            "replay",
            "--customer",
            &id.to_string(),
            "--as-of",
            &registered_at,
            "--json",
        ],
    );
    let then: serde_json::Value = serde_json::from_slice(&then.stdout).unwrap();
    assert_eq!(then["state"]["key_customer"], false, "{then}");
    assert_eq!(then["timeline"].as_array().unwrap().len(), 1);
    let human = crm(dir.path(), &["replay", "--customer", &id.to_string()]);
    assert!(
        text(&human).contains("CustomerRegistered"),
        "{}",
        text(&human)
    );
    let missing = crm(
        dir.path(),
        &["replay", "--customer", &Uuid::now_v7().to_string()],
    );
    assert!(!missing.status.success());
}
