//! What the append benchmarks share (`benches/eventstore.rs` for the segment store,
//! `benches/pg_appends.rs` for PostgreSQL): the clients' ids, the event, the percentiles, and
//! the run itself, over any [`EventLog`], so that both backends are measured the same way.
#![allow(dead_code)] // each benchmark uses its part

use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_eventstore::{EventLog, EventMetadata, ExpectedRevision, NewEvent, StreamName};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Version-7 ids (time-ordered, like the ones clients send) from a per-writer generator.
/// `Uuid::now_v7` asks the kernel for randomness on every call: with three ids per event,
/// that was an eighth of the machine's CPU at 128 writers, spent in the benchmark's clients.
pub struct Ids(pub u64);

impl Ids {
    pub fn next(&mut self) -> Uuid {
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
pub fn seed(writer: u64) -> u64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    now ^ writer.wrapping_mul(0xd1b5_4a32_d192_ed03)
}

pub fn new_event(ids: &mut Ids, payload: &[u8]) -> NewEvent {
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

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `writers` clients, each appending one ~200-byte event at a time to its own stream, for
/// `seconds`: appends/s and the p50, p99 and p99.9 latency.
pub async fn appends<L: EventLog>(
    log: L,
    writers: usize,
    seconds: u64,
) -> (f64, Duration, Duration, Duration) {
    // A realistic payload: an interaction record of about 120 bytes; with the envelope the
    // record is about 200 bytes on disk.
    let payload: Arc<[u8]> = vec![b'x'; 120].into();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let log = log.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let stream = StreamName::parse(format!("customer-{w}")).expect("valid");
            let mut ids = Ids(seed(w as u64));
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                log.append(
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
    (
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 0.999),
    )
}

/// The writer counts of `CRM_BENCH_WRITERS` (default 1, 16, 128).
pub fn writer_counts() -> Vec<usize> {
    std::env::var("CRM_BENCH_WRITERS")
        .unwrap_or_else(|_| "1,16,128".into())
        .split(',')
        .filter_map(|w| w.trim().parse::<usize>().ok())
        .collect()
}

/// One row of the appends table.
pub fn row(
    workload: &str,
    writers: usize,
    (rate, p50, p99, p999): (f64, Duration, Duration, Duration),
) {
    println!(
        "| {workload} | {writers} | {rate:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        p999.as_secs_f64() * 1e3
    );
}
