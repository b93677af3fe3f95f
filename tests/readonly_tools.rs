//! `crm status`, `crm verify` and `crm export` only look: a read-model generation the server
//! would fold again (another format, a checkpoint past the head, state that does not decode)
//! is reported, never cleared; the index's trees are the same, key for key, afterwards.
//! `crm compact`, which does write, rewrites the index with the same trees, key for key.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use crm_eventstore::{
    EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig, StreamName,
};
use crm_projections::generation::MODEL_FORMAT;
use time::OffsetDateTime;
use uuid::Uuid;

fn crm(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CRM_RULES")
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

type Trees = BTreeMap<Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>>;

/// A log of `n` events and, in tree `proj-all-g1`, `entries`; closed again.
fn prepare(dir: &Path, n: u64, entries: &[(&[u8], Vec<u8>)]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EventStore::open(dir, StoreConfig::default()).unwrap();
        for i in 0..n {
            let stream = StreamName::parse(format!("customer-{}", i % 3)).unwrap();
            let e = NewEvent {
                event_id: Uuid::from_u64_pair(11, i),
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
        let tree = store.sled().open_tree("proj-all-g1").unwrap();
        for (k, v) in entries {
            tree.insert(k, v.as_slice()).unwrap();
        }
        tree.flush().unwrap();
        store.close().await.unwrap();
    });
}

/// Every key and value of every read-model tree (`proj-*`) in the index.
fn read_model_trees(dir: &Path) -> Trees {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EventStore::open(dir, StoreConfig::default()).unwrap();
        let db = store.sled();
        let mut out = Trees::new();
        for name in db.tree_names() {
            if !name.starts_with(b"proj-") {
                continue;
            }
            let tree = db.open_tree(&name).unwrap();
            let entries = tree
                .iter()
                .map(|item| {
                    let (k, v) = item.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            out.insert(name.to_vec(), entries);
        }
        store.close().await.unwrap();
        out
    })
}

/// Runs `crm status` on a generation the server would fold again and checks that it says
/// `expected` and leaves the read-model trees as they were.
fn status_reports_and_keeps(entries: &[(&[u8], Vec<u8>)], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), 3, entries);
    let before = read_model_trees(dir.path());
    assert!(
        before
            .get(b"proj-all-g1".as_slice())
            .is_some_and(|e| !e.is_empty()),
        "{before:?}"
    );
    let out = crm(dir.path(), &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert_eq!(
        read_model_trees(dir.path()),
        before,
        "crm status changed the read models' trees:\n{t}"
    );
    assert!(t.contains(expected), "{t}");
    // The line other tools read is still there.
    assert!(
        t.contains("read models generation 1 (Current): position 0 (lag 3 events"),
        "{t}"
    );
}

const KEY_FORMAT: &[u8] = &[0xF1];
const KEY_CHECKPOINT: &[u8] = &[0xFF];

#[test]
fn status_reports_a_generation_of_another_format_and_leaves_it_alone() {
    let old = MODEL_FORMAT - 1;
    status_reports_and_keeps(
        &[
            (KEY_CHECKPOINT, 2u64.to_be_bytes().to_vec()),
            (KEY_FORMAT, old.to_be_bytes().to_vec()),
            (&[1, 0xAB], b"state folded by another version".to_vec()),
        ],
        &format!(
            "stored checkpoint 2: stored under format {old}, current {MODEL_FORMAT}: the server \
             will fold it again on start"
        ),
    );
}

#[test]
fn status_reports_a_checkpoint_beyond_the_head_and_leaves_it_alone() {
    status_reports_and_keeps(
        &[
            (KEY_CHECKPOINT, 10u64.to_be_bytes().to_vec()),
            (KEY_FORMAT, MODEL_FORMAT.to_be_bytes().to_vec()),
        ],
        "stored checkpoint 10: checkpoint 10 beyond the log head 3: the server will fold it \
         again on start",
    );
}

#[test]
fn status_reports_state_that_does_not_decode_and_leaves_it_alone() {
    status_reports_and_keeps(
        &[
            (KEY_CHECKPOINT, 2u64.to_be_bytes().to_vec()),
            (KEY_FORMAT, MODEL_FORMAT.to_be_bytes().to_vec()),
            (&[1], vec![0xFF; 3]),
        ],
        "stored state unreadable (",
    );
}

#[test]
fn status_of_a_store_without_read_models_creates_none() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), 2, &[]);
    // `prepare` opened the tree; an empty tree is still a tree: start from none at all.
    let before = read_model_trees(dir.path());
    let out = crm(dir.path(), &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert_eq!(read_model_trees(dir.path()), before, "{t}");
    assert!(
        t.contains("read models: none recorded yet")
            && t.contains("read models generation 1 (Current): position 0 (lag 2 events"),
        "{t}"
    );
}

/// Every file under `dir` with its bytes (the lock file aside: any open writes its pid there).
fn files(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn verify_export_and_status_report_a_torn_tail_and_leave_the_log_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), 5, &[]);
    let log = crm_eventstore::log_dir(dir.path());
    let segment = log.join("segment-00000000.log");
    // A write cut short by a crash: the first 30 bytes of a record, after the last one.
    let mut bytes = std::fs::read(&segment).unwrap();
    let head_bytes = bytes.len() as u64;
    let torn = bytes[32..62].to_vec();
    bytes.extend_from_slice(&torn);
    std::fs::write(&segment, &bytes).unwrap();
    let before = files(&log);

    let out = crm(dir.path(), &["verify"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "TORN TAIL at position 6 (segment 0, byte {head_bytes}, 30 bytes)"
        )),
        "{t}"
    );
    assert!(t.contains("5 records"), "{t}");
    assert_eq!(
        files(&log),
        before,
        "crm verify changed the log directory:\n{t}"
    );

    let file = dir.path().join("log.jsonl");
    let out = crm(dir.path(), &["export", file.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("exported 5 records") && t.contains("torn tail from position 6"),
        "{t}"
    );
    assert_eq!(
        files(&log),
        before,
        "crm export changed the log directory:\n{t}"
    );

    let out = crm(dir.path(), &["status"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("torn tail not cut (read only): from position 6, segment 0"),
        "{t}"
    );
    assert_eq!(
        files(&log),
        before,
        "crm status changed the log directory:\n{t}"
    );

    // A writable open (here `crm anchor`) still repairs it: cut, the bytes kept in a
    // quarantine file.
    let out = crm(dir.path(), &["anchor"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), head_bytes);
    assert!(files(&log)
        .keys()
        .any(|p| p.to_string_lossy().contains("quarantine")));
    let out = crm(dir.path(), &["verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn verify_export_and_status_of_a_directory_without_a_log_create_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("absent");
    for args in [
        vec!["verify"],
        vec!["status"],
        vec!["export", parent.path().join("out.jsonl").to_str().unwrap()],
    ] {
        let out = crm(&dir, &args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("holds no log directory"),
            "{}",
            text(&out)
        );
        assert!(!dir.exists(), "{args:?} created {}", dir.display());
    }
}

#[test]
fn compact_rewrites_the_index_with_every_tree_key_for_key_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<(&[u8], Vec<u8>)> = vec![(b"a", vec![1; 300]), (b"b", vec![2; 40])];
    prepare(dir.path(), 500, &entries);
    let before = read_model_trees(dir.path());
    let out = crm(dir.path(), &["compact"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("index compacted:"), "{}", text(&out));
    assert_eq!(read_model_trees(dir.path()), before);
    let verify = crm(dir.path(), &["verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(!dir.path().join("index.old").exists());
}
