//! What writing a read model's flush costs sled, by how it is written: one sled batch, one
//! insert at a time, or `Writes::apply` (a redo file, then one insert at a time). Each round
//! rewrites every key with a new value of 1 KB (as a rebuild's flushes rewrite the customers'
//! records), then the checkpoint; prints the process's resident memory after each round, and
//! at the end its peak, the time and sled's size on disk. One mode per process, so the peaks
//! do not mix:
//!
//!   cargo bench -p crm-projections --bench sled_batch -- batch  100000 8
//!   cargo bench -p crm-projections --bench sled_batch -- insert 100000 8
//!   cargo bench -p crm-projections --bench sled_batch -- writes 100000 8
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench that cannot unwrap has failed

use std::time::Instant;

use crm_projections::writes::Writes;

fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mode = args.first().map_or("writes", String::as_str).to_string();
    let keys: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rounds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let db = sled::Config::new()
        .path(&index)
        .cache_capacity(256 << 20)
        .open()
        .unwrap();
    let tree = db.open_tree("t").unwrap();
    let redo = crm_projections::writes::redo_path(&index, "t");
    let started = Instant::now();
    let mut peak = 0;
    for round in 0..rounds {
        let value = |k: u64| vec![(round as u8).wrapping_add(k as u8); 1000];
        let key = |k: u64| [&[1u8][..], &k.to_be_bytes()].concat();
        match mode.as_str() {
            "batch" => {
                let mut batch = sled::Batch::default();
                (0..keys).for_each(|k| batch.insert(key(k), value(k)));
                batch.insert(b"checkpoint".as_slice(), &round.to_be_bytes());
                tree.apply_batch(batch).unwrap();
            }
            "insert" => {
                for k in 0..keys {
                    tree.insert(key(k), value(k)).unwrap();
                }
                tree.insert(b"checkpoint", &round.to_be_bytes()).unwrap();
            }
            "writes" => {
                let mut writes = Writes::default();
                (0..keys).for_each(|k| writes.insert(key(k), value(k)));
                writes.insert(b"checkpoint".as_slice(), round.to_be_bytes());
                writes.apply(&tree, &redo, round + 1).unwrap();
            }
            other => panic!("mode {other}: batch, insert or writes"),
        }
        db.flush().unwrap();
        peak = peak.max(rss_mb());
        eprintln!(
            "{mode} round {round}: RSS {} MB, {:.1} s",
            rss_mb(),
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "{mode}: {keys} keys x {rounds} rounds: peak RSS {peak} MB, {:.1} s, sled on disk {} MB",
        started.elapsed().as_secs_f64(),
        db.size_on_disk().unwrap() >> 20
    );
}
