//! Event store benchmark: durable appends/s and latency percentiles with 1, 16 and 128
//! concurrent writers of one ~200-byte event each, and the `$all` scan-and-decode rate cold
//! (a freshly opened store) and warm.
//!
//! `cargo bench -p crm-eventstore --bench eventstore` (set CRM_BENCH_SECONDS,
//! CRM_BENCH_WRITERS (e.g. `1,16,128`) and CRM_BENCH_SCAN_EVENTS to change the run length, the
//! writer counts and the scan size). Figures go to docs/PERFORMANCE.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_eventstore::{
    AllStart, Direction, EventMetadata, EventStore, ExpectedRevision, NewEvent, Position,
    StoreConfig, StreamName,
};
use time::OffsetDateTime;
use uuid::Uuid;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Version-7 ids (time-ordered, like the ones clients send) from a per-writer generator.
/// `Uuid::now_v7` asks the kernel for randomness on every call: with three ids per event,
/// that was an eighth of the machine's CPU at 128 writers, spent in the benchmark's clients.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> Uuid {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&z.to_le_bytes());
        random[8..].copy_from_slice(&(self.0 as u16).to_le_bytes());
        let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        uuid::Builder::from_unix_timestamp_millis(millis as u64, &random).into_uuid()
    }
}

/// A different sequence per writer and per run.
fn seed(writer: u64) -> u64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    now ^ writer.wrapping_mul(0xd1b5_4a32_d192_ed03)
}

fn new_event(ids: &mut Ids, payload: &[u8]) -> NewEvent {
    NewEvent {
        event_id: ids.next(),
        event_type: "InteractionRecorded".into(),
        schema_version: 1,
        metadata: EventMetadata {
            actor: "staff-0192f0c4".into(),
            occurred_at: OffsetDateTime::now_utc(),
            correlation_id: Some(ids.next()),
            causation_id: None,
            command_id: Some(ids.next()),
        },
        payload: payload.to_vec(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn appends(writers: usize, seconds: u64) -> (f64, Duration, Duration, Duration) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("temp dir");
    let store = EventStore::open(dir.path(), StoreConfig::default()).expect("open");
    // A realistic payload: an interaction record of about 120 bytes; with the envelope the
    // record is about 200 bytes on disk.
    let payload: Arc<[u8]> = vec![b'x'; 120].into();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let stream = StreamName::parse(format!("customer-{w}")).expect("valid");
            let mut ids = Ids(seed(w as u64));
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                store
                    .append(
                        &stream,
                        ExpectedRevision::Any,
                        vec![new_event(&mut ids, &payload)],
                    )
                    .await
                    .expect("append");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let rate = all.len() as f64 / elapsed;
    let out = (
        rate,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 0.999),
    );
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
        let writers_list = std::env::var("CRM_BENCH_WRITERS").unwrap_or_else(|_| "1,16,128".into());
        for writers in writers_list.split(',').filter_map(|w| w.trim().parse::<usize>().ok()) {
            let (rate, p50, p99, p999) = appends(writers, seconds).await;
            println!(
                "| durable append, 1 event (~200 B) | {writers} | {rate:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                p999.as_secs_f64() * 1e3
            );
        }
        println!();
        scan(scan_events).await;
    });
}
