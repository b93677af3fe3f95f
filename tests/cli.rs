//! The `crm` binary end to end: verify (clean and tampered), export and import-log, backup
//! and restore, replay, the back-office import (good, bad rows, twice, refused), rules
//! (propose, four-eyes refusal, approve, activate), rebuild (dry run, switch, rollback), and
//! the server's configuration file. Each test runs the real binary against a fresh data
//! directory.
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
fn import_log_refuses_an_export_without_its_trailer_and_imports_nothing() {
    let a = tempfile::tempdir().unwrap();
    write_log(a.path(), 50);
    let file = a.path().join("log.jsonl");
    let out = crm(a.path(), &["export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let whole = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = whole.lines().collect();
    assert_eq!(lines.len(), 51, "50 records and the trailer");
    assert!(lines[50].starts_with("{\"trailer\""), "{}", lines[50]);

    // Cut short at a line (the trailer lost), and the last record lost under the trailer.
    let cut = a.path().join("cut.jsonl");
    std::fs::write(&cut, lines[..40].join("\n") + "\n").unwrap();
    let dropped = a.path().join("dropped.jsonl");
    std::fs::write(
        &dropped,
        [&lines[..49], &lines[50..]].concat().join("\n") + "\n",
    )
    .unwrap();
    for (file, says) in [
        (&cut, "no trailer: it ends after 40 records"),
        (&dropped, "it counts 50 records, the file holds 49"),
    ] {
        let b = tempfile::tempdir().unwrap();
        let data = b.path().join("data");
        let refused = crm(&data, &["import-log", file.to_str().unwrap()]);
        assert!(!refused.status.success(), "{}", text(&refused));
        assert!(text(&refused).contains(says), "{}", text(&refused));
        assert!(
            text(&refused).contains("nothing was imported"),
            "{}",
            text(&refused)
        );
        assert!(!data.exists(), "the store was not even created");
    }
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
fn a_backup_carries_the_durable_mark_so_damage_to_its_last_record_is_refused_not_cut() {
    let data = tempfile::tempdir().unwrap();
    write_log(data.path(), 30);
    let backups = tempfile::tempdir().unwrap();
    let target = backups.path().join("b1");
    let b = crm(data.path(), &["backup", target.to_str().unwrap()]);
    assert!(b.status.success(), "{}", text(&b));
    let log = target.join("log");
    assert!(log.join(crm_eventstore::DURABLE_MARK_FILE).exists());
    // A flipped bit in the last record of the backup: without the mark that record would be
    // taken for a write cut short by the copy and cut off; it was acknowledged, so the
    // restore must refuse.
    let segment = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .max()
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();
    let restored = tempfile::tempdir().unwrap();
    let r = crm(restored.path(), &["restore", target.to_str().unwrap()]);
    assert!(!r.status.success(), "{}", text(&r));
}

#[test]
fn an_anchor_kept_outside_the_store_catches_a_cut_or_rewritten_log() {
    let a = tempfile::tempdir().unwrap();
    write_log(a.path(), 30);
    let printed = crm(a.path(), &["anchor"]);
    assert!(printed.status.success(), "{}", text(&printed));
    let anchor = String::from_utf8(printed.stdout.clone())
        .unwrap()
        .trim()
        .to_string();
    assert!(anchor.starts_with("30:"), "{anchor}");
    let held = crm(a.path(), &["verify", "--anchor", &anchor]);
    assert!(held.status.success(), "{}", text(&held));
    assert!(text(&held).contains("held"), "{}", text(&held));

    // A shorter log (the tail cut, index/ deleted) verifies on its own, not against the anchor.
    let cut = tempfile::tempdir().unwrap();
    write_log(cut.path(), 20);
    assert!(crm(cut.path(), &["verify"]).status.success());
    let refused = crm(cut.path(), &["verify", "--anchor", &anchor]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("ends at position 20"),
        "{}",
        text(&refused)
    );

    // The same records written again (another recorded-at): every hash differs.
    let rewritten = tempfile::tempdir().unwrap();
    write_log(rewritten.path(), 30);
    let refused = crm(rewritten.path(), &["verify", "--anchor", &anchor]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("rewritten"), "{}", text(&refused));

    let mistyped = crm(a.path(), &["verify", "--anchor", "30:xyz"]);
    assert!(!mistyped.status.success());
    assert!(text(&mistyped).contains("--anchor"), "{}", text(&mistyped));
}

#[test]
fn a_backup_carries_its_head_anchor_and_a_restore_checks_it() {
    let data = tempfile::tempdir().unwrap();
    write_log(data.path(), 30);
    let anchor = String::from_utf8(crm(data.path(), &["anchor"]).stdout)
        .unwrap()
        .trim()
        .to_string();
    let backups = tempfile::tempdir().unwrap();
    let target = backups.path().join("b1");
    assert!(crm(data.path(), &["backup", target.to_str().unwrap()])
        .status
        .success());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["head"], anchor.as_str());

    // The backup's segments swapped for a shorter log after it was made: refused.
    let shorter = tempfile::tempdir().unwrap();
    write_log(shorter.path(), 20);
    let log = target.join("log");
    std::fs::remove_dir_all(&log).unwrap();
    std::fs::create_dir_all(&log).unwrap();
    for entry in std::fs::read_dir(shorter.path().join("log")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "log") {
            std::fs::copy(&path, log.join(path.file_name().unwrap())).unwrap();
        }
    }
    let restored = tempfile::tempdir().unwrap();
    let r = crm(restored.path(), &["restore", target.to_str().unwrap()]);
    assert!(!r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("manifest anchor"), "{}", text(&r));
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
    assert_eq!(now["archive"]["record"]["key_customer"], true, "{now}");
    assert_eq!(now["timeline"].as_array().unwrap().len(), 2, "{now}");
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
    assert_eq!(then["archive"]["record"]["key_customer"], false, "{then}");
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

/// The log's head position as `crm status` prints it.
fn head(dir: &Path) -> u64 {
    let out = crm(dir, &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
        .lines()
        .find_map(|l| l.strip_prefix("head position: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn example(kind: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/import/examples")
        .join(format!("{kind}.csv"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn import_takes_good_files_reports_bad_rows_changes_nothing_twice_and_refuses_a_wrong_header() {
    let dir = tempfile::tempdir().unwrap();
    // A good file: every row taken, exit 0.
    let org = crm(
        dir.path(),
        &["import", "organisation", &example("organisation")],
    );
    assert_eq!(org.status.code(), Some(0), "{}", text(&org));
    assert!(
        text(&org).contains("10 rows read, 10 imported, 0 unchanged, 0 rejected; 10 events"),
        "{}",
        text(&org)
    );
    assert_eq!(head(dir.path()), 10);

    // Bad rows: each on stderr with file, line, column and reason, all in the reject file;
    // the good rows are imported; exit 1.
    let customers = dir.path().join("customers.csv");
    std::fs::write(
        &customers,
        "customer_kind,name,id_type,id_number,source_channel,registered_on,branch_code,manager_no\n\
         individual,张三,resident_id,310115198003120016,counter,2024-01-03,B001,E002\n\
         individual,王五,resident_id,310115198003120017,counter,2024-01-03,,\n\
         individual,赵六,resident_id,440304199001010038,pigeon,2024-01-03,,\n\
         individual,,resident_id,110102196511110043,app,2024-01-03,,\n\
         individual,钱七,resident_id,110102196511110043,app,2024-01-03\n\
         institutional,深圳福田贸易有限公司,business_licence,91440300987654321R,phone,2024-01-04,,\n",
    )
    .unwrap();
    let rejects = dir.path().join("rejects.csv");
    let args = [
        "import",
        "customers",
        customers.to_str().unwrap(),
        "--reject-file",
        rejects.to_str().unwrap(),
    ];
    let bad = crm(dir.path(), &args);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("6 rows read, 2 imported, 0 unchanged, 4 rejected"),
        "{out}"
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    let file = customers.display();
    let expected = [
        format!(
            "rejected: {file}:3: column id_number: '310115198003120017' the check character is \
             7, expected 6"
        ),
        format!(
            "rejected: {file}:4: column source_channel: 'pigeon' is not one of counter, phone, \
             call_centre, app, internet, email, wechat, bank_counter, self_service, visit"
        ),
        format!("rejected: {file}:5: column name: is empty"),
        format!("rejected: {file}:6: has 6 fields, the header has 8"),
    ];
    let listed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("rejected: "))
        .collect();
    assert_eq!(listed, expected, "{err}");
    let written = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        written.lines().collect::<Vec<_>>(),
        [
            "reject_line,reject_column,reject_reason,customer_kind,name,id_type,id_number,\
             source_channel,registered_on,branch_code,manager_no",
            "3,id_number,\"'310115198003120017' the check character is 7, expected 6\",\
             individual,王五,resident_id,310115198003120017,counter,2024-01-03,,",
            "4,source_channel,\"'pigeon' is not one of counter, phone, call_centre, app, \
             internet, email, wechat, bank_counter, self_service, visit\",individual,赵六,\
             resident_id,440304199001010038,pigeon,2024-01-03,,",
            "5,name,is empty,individual,,resident_id,110102196511110043,app,2024-01-03,,",
            "6,,\"has 6 fields, the header has 8\",individual,钱七,resident_id,\
             110102196511110043,app,2024-01-03",
        ]
    );
    // Registered 张三 (assigned: two events) and the company.
    let after_bad = head(dir.path());
    assert_eq!(after_bad, 10 + 3);

    // The same file again: the same rejects, nothing imported twice, the log unchanged.
    let again = crm(dir.path(), &args);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("6 rows read, 0 imported, 2 unchanged, 4 rejected; 0 events"),
        "{}",
        text(&again)
    );
    assert_eq!(head(dir.path()), after_bad);
    let org_again = crm(
        dir.path(),
        &["import", "organisation", &example("organisation")],
    );
    assert_eq!(org_again.status.code(), Some(0), "{}", text(&org_again));
    assert!(
        text(&org_again).contains("10 rows read, 0 imported, 10 unchanged, 0 rejected; 0 events"),
        "{}",
        text(&org_again)
    );
    assert_eq!(head(dir.path()), after_bad);

    // A wrong header: refused with the problem named, exit 2, nothing written.
    let wrong = dir.path().join("accounts.csv");
    std::fs::write(&wrong, "account,owner\nA1,张三\n").unwrap();
    let refused = crm(dir.path(), &["import", "accounts", wrong.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("wrong header for a accounts file")
            || text(&refused).contains("wrong header for an accounts file"),
        "{}",
        text(&refused)
    );
    assert!(
        text(&refused).contains("nothing was imported"),
        "{}",
        text(&refused)
    );
    assert_eq!(head(dir.path()), after_bad);
    // Not text in any supported encoding: refused too.
    let binary = dir.path().join("binary.csv");
    std::fs::write(&binary, b"record,code\n\xff\xfe\x00\x01").unwrap();
    let refused = crm(
        dir.path(),
        &["import", "organisation", binary.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    // An unknown kind is refused before anything is opened.
    let unknown = crm(dir.path(), &["import", "trades", binary.to_str().unwrap()]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("daily_summaries"),
        "{}",
        text(&unknown)
    );
}

/// The default rules with the tiers lowered and the dormancy shortened, as `version`.
fn changed_rules(dir: &Path, version: u32) -> String {
    let default = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/rules.default.toml"),
    )
    .unwrap();
    let changed = default
        .replace("version = 1", &format!("version = {version}"))
        .replace("gold = 55", "gold = 20")
        .replace("silver = 30", "silver = 10")
        .replace("dormant_days = 90", "dormant_days = 5");
    assert_ne!(changed, default);
    let path = dir.join(format!("rules-v{version}.toml"));
    std::fs::write(&path, changed).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `read models generation G (Current): …, rules version V …` → (G, V).
fn current_generation(dir: &Path) -> (u64, u32) {
    let out = crm(dir, &["status"]);
    let t = text(&out);
    let line = t
        .lines()
        .find(|l| l.contains("(Current)"))
        .unwrap_or_else(|| panic!("{t}"));
    let generation = line
        .strip_prefix("read models generation ")
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let version = line
        .split("rules version ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    (generation, version)
}

#[test]
fn rules_go_through_four_eyes_and_rebuild_dry_runs_switches_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = crm(
        d,
        &[
            "demo",
            "--customers",
            "80",
            "--days",
            "10",
            "--seed",
            "5",
            "--until",
            "2025-06-30",
        ],
    );
    assert!(demo.status.success(), "{}", text(&demo));
    let operators = d.join("operators.csv");
    std::fs::write(
        &operators,
        "record,code,name,region_code,branch_code,branch_kind,team_code,team_lead,role,effective_on\n\
         staff,OP01,王运维,,,,,,operator,2024-01-02\n\
         staff,OP02,李运维,,,,,,operator,2024-01-02\n",
    )
    .unwrap();
    let imported = crm(d, &["import", "organisation", operators.to_str().unwrap()]);
    assert_eq!(imported.status.code(), Some(0), "{}", text(&imported));
    let op1 = crm_load::ids::staff_id("OP01").to_string();
    let op2 = crm_load::ids::staff_id("OP02").to_string();
    let rules = changed_rules(d, 2);

    // A dry run under the file: a report, and nothing switched.
    let built = crm(d, &["rebuild"]);
    assert!(built.status.success(), "{}", text(&built));
    let (generation, version) = current_generation(d);
    assert_eq!(version, 1);
    let dry = crm(d, &["rebuild", "--rules", &rules, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let report = String::from_utf8_lossy(&dry.stdout).to_string();
    for part in [
        "dry run: rules version 1",
        "→ version 2",
        "tier moves by branch:",
        "tier moves by customer manager:",
        "first customers changing tier:",
        "broker ranking moves:",
        "churn-flag changes:",
    ] {
        assert!(report.contains(part), "{part}: {report}");
    }
    let changing: u64 = report
        .split("changing tier: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(changing > 0, "{report}");
    let json = crm(d, &["rebuild", "--rules", &rules, "--dry-run", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["to_rules_version"], 2, "{json}");
    assert_eq!(json["customers_changing_tier"], changing, "{json}");
    assert!(json["churn_flag_changes"].as_u64().unwrap() > 0, "{json}");
    assert_eq!(current_generation(d), (generation, 1));
    // Without approval a rules file may be dry-run only: a rebuild under it is refused and
    // switches nothing.
    let unapproved = crm(d, &["rebuild", "--rules", &rules]);
    assert!(!unapproved.status.success(), "{}", text(&unapproved));
    assert!(
        text(&unapproved).contains("not the rules the log has activated"),
        "{}",
        text(&unapproved)
    );
    assert_eq!(current_generation(d), (generation, 1));

    // Propose; the proposer's own approval is refused (four eyes); another operator approves.
    let proposed = crm(d, &["rules", "propose", &rules, "--by", &op1]);
    assert!(proposed.status.success(), "{}", text(&proposed));
    assert!(
        text(&proposed).contains("proposed rules version 2"),
        "{}",
        text(&proposed)
    );
    let own = crm(d, &["rules", "approve", "2", "--by", &op1]);
    assert_eq!(own.status.code(), Some(1), "{}", text(&own));
    assert!(
        text(&own).contains(&format!(
            "refused (four eyes): four eyes: {op1} proposed this and cannot also approve it"
        )),
        "{}",
        text(&own)
    );
    let stranger = crm(
        d,
        &["rules", "approve", "2", "--by", &Uuid::now_v7().to_string()],
    );
    assert!(!stranger.status.success());
    assert!(
        text(&stranger).contains("not in the organisation"),
        "{}",
        text(&stranger)
    );
    let listed = crm(d, &["rules", "list"]);
    assert!(text(&listed).contains("proposed"), "{}", text(&listed));
    let approved = crm(d, &["rules", "approve", "2", "--by", &op2]);
    assert!(approved.status.success(), "{}", text(&approved));
    let activated = crm(d, &["rules", "activate", "2", "--by", &op2]);
    assert!(activated.status.success(), "{}", text(&activated));
    let listed = text(&crm(d, &["rules", "list"]));
    let line = listed.lines().find(|l| l.starts_with("2 ")).unwrap();
    assert!(
        line.contains("active") && line.contains(&op1) && line.contains(&op2),
        "{listed}"
    );
    let status = text(&crm(d, &["status"]));
    assert!(status.contains("activated rules version 2"), "{status}");

    // Rebuild to the active rules: a new generation under version 2; rollback returns.
    let rebuilt = crm(d, &["rebuild"]);
    assert!(rebuilt.status.success(), "{}", text(&rebuilt));
    assert!(
        text(&rebuilt).contains("under rules version 2"),
        "{}",
        text(&rebuilt)
    );
    let (new_generation, version) = current_generation(d);
    assert_eq!(version, 2);
    assert!(new_generation > generation);
    let back = crm(d, &["rebuild", "--rollback"]);
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(current_generation(d), (generation, 1));
}

#[test]
fn serve_refuses_a_config_file_with_an_unknown_key_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crm.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\n[limits]\ndepth_max = 8\nbody_size = 100\n",
    )
    .unwrap();
    let out = crm(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("body_size"), "{}", text(&out));
    let bad_env = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("serve")
        .env("CRM_DURABILITY", "sometimes")
        .output()
        .unwrap();
    assert_eq!(bad_env.status.code(), Some(2), "{}", text(&bad_env));
    assert!(
        text(&bad_env).contains("CRM_DURABILITY"),
        "{}",
        text(&bad_env)
    );
}

#[test]
fn every_command_explains_itself_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        "serve",
        "demo",
        "import",
        "token",
        "secret",
        "replay",
        "rebuild",
        "rules",
        "schema",
        "verify",
        "status",
        "report",
        "export",
        "import-log",
        "backup",
        "restore",
        "anchor",
    ] {
        let out = crm(dir.path(), &[command, "--help"]);
        assert!(out.status.success(), "{command}: {}", text(&out));
        assert!(
            text(&out).contains("Example: crm "),
            "{command}: {}",
            text(&out)
        );
    }
    for (command, sub) in [("token", "revoke"), ("secret", "rotate")] {
        let out = crm(dir.path(), &[command, sub, "--help"]);
        assert!(
            text(&out).contains(&format!("Example: crm {command} {sub}")),
            "{command} {sub}: {}",
            text(&out)
        );
    }
    for sub in ["propose", "approve", "reject", "activate", "list"] {
        let out = crm(dir.path(), &["rules", sub, "--help"]);
        assert!(
            text(&out).contains("Example: crm rules"),
            "{sub}: {}",
            text(&out)
        );
    }
}
