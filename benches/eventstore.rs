//! Event store benchmark: durable appends/s and latency percentiles with 1, 16 and 128
//! concurrent writers of one ~200-byte event each, and the `$all` scan-and-decode rate cold
//! (a freshly opened store) and warm.
//!
//! `cargo bench -p crm-eventstore --bench eventstore` (set CRM_BENCH_SECONDS,
//! CRM_BENCH_WRITERS (e.g. `1,16,128`) and CRM_BENCH_SCAN_EVENTS to change the run length, the
//! writer counts and the scan size). Figures go to docs/PERFORMANCE.md.

#[path = "common/appends.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{env_u64, new_event, seed, Ids};
use crm_eventstore::{
    AllStart, Direction, EventStore, ExpectedRevision, Position, StoreConfig, StreamName,
};

async fn appends(writers: usize, seconds: u64) -> (f64, Duration, Duration, Duration) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("temp dir");
    let store = EventStore::open(dir.path(), StoreConfig::default()).expect("open");
    let out = common::appends(store.clone(), writers, seconds).await;
    store.close().await.expect("close");
    out
}

fn bench_dir() -> std::path::PathBuf {
    // On the real disk, not a tmpfs: fdatasync must cost what it costs in production.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

async fn scan(events: u64) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("temp dir");
    {
        let store = EventStore::open(dir.path(), StoreConfig::default()).expect("open");
        let payload = vec![b'x'; 120];
        let mut ids = Ids(seed(u64::MAX));
        let mut written = 0;
        while written < events {
            let n = 1000.min(events - written);
            let stream =
                StreamName::parse(format!("customer-{}", written % 10_000)).expect("valid");
            let batch = (0..n).map(|_| new_event(&mut ids, &payload)).collect();
            store
                .append(&stream, ExpectedRevision::Any, batch)
                .await
                .expect("append");
            written += n;
        }
        store.close().await.expect("close");
    }
    let cache_dropped = std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    for label in ["cold", "warm"] {
        let store = EventStore::open(dir.path(), StoreConfig::default()).expect("open");
        let started = Instant::now();
        let mut next = Position(1);
        let mut count = 0u64;
        let mut bytes = 0u64;
        loop {
            let batch = store
                .read_all(AllStart::Position(next), Direction::Forwards, 10_000)
                .expect("read");
            if batch.is_empty() {
                break;
            }
            count += batch.len() as u64;
            bytes += batch.iter().map(|e| e.payload.len() as u64).sum::<u64>();
            next = batch.last().map(|e| e.position.next()).unwrap_or(next);
        }
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(count, events);
        println!(
            "| $all scan + decode, {label}{} | {events} events | {:.0} events/s | {:.0} MB/s of payload |",
            if label == "cold" && !cache_dropped { " (store reopened; OS page cache not dropped)" } else { "" },
            count as f64 / secs,
            bytes as f64 / secs / 1e6
        );
        store.close().await.expect("close");
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds = env_u64("CRM_BENCH_SECONDS", 5);
    let scan_events = env_u64("CRM_BENCH_SCAN_EVENTS", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("| workload | writers | appends/s | p50 | p99 | p99.9 |");
        println!("|---|---|---|---|---|---|");
        for writers in common::writer_counts() {
            let measured = appends(writers, seconds).await;
            common::row("durable append, 1 event (~200 B)", writers, measured);
        }
        println!();
        scan(scan_events).await;
    });
}
