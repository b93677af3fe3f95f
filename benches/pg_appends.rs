//! The PostgreSQL event store under the event store benchmark's workload: durable appends/s
//! and latency with 1, 16 and 128 writers of one ~200-byte event each, each to its own
//! stream (`benches/common/appends.rs`, the same driver as `benches/eventstore.rs`), on a
//! fresh database per writer count; then a new node's copy of the log (`PgFollower`): the
//! records copied per second from the database into a local segment store.
//!
//! `CRM_BENCH_PG_URL=postgres://… cargo bench -p crm-eventstore-pg --bench pg_appends`
//! (`bash benches/pg_nodes.sh` starts a server with fsync on and runs it). The URL names a
//! server the benchmark may create databases on. CRM_BENCH_SECONDS, CRM_BENCH_WRITERS and
//! CRM_BENCH_COPY_EVENTS change the run length, the writer counts and the copied log's size.

#[path = "common/appends.rs"]
mod common;

use std::time::Instant;

use common::{env_u64, new_event, seed, Ids};
use crm_eventstore::{EventStore, ExpectedRevision, StoreConfig, StreamName};
use crm_eventstore_pg::{PgConfig, PgEventStore, PgFollower};
use tokio_postgres::{Config, NoTls};

/// A new database on the server `url` names.
async fn fresh(url: &str) -> PgEventStore {
    let admin: Config = url.parse().expect("CRM_BENCH_PG_URL is a PostgreSQL URL");
    let (client, connection) = admin.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    let name = format!("crm_bench_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let mut config = admin;
    config.dbname(&name);
    let pg_config = PgConfig {
        // One connection per writer up to the pool's size: appends are serial in the database
        // anyway (the append lock), but each waits on its own connection.
        connections: 16,
        ..PgConfig::new(config)
    };
    PgEventStore::open(pg_config).await.expect("open")
}

async fn copy(url: &str, events: u64) {
    let pg = fresh(url).await;
    let payload = vec![b'x'; 120];
    let mut ids = Ids(seed(u64::MAX));
    let mut written = 0;
    while written < events {
        let n = 1000.min(events - written);
        let stream = StreamName::parse(format!("customer-{}", written % 10_000)).expect("valid");
        let batch = (0..n).map(|_| new_event(&mut ids, &payload)).collect();
        pg.append(&stream, ExpectedRevision::Any, batch)
            .await
            .expect("append");
        written += n;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let local = EventStore::open(dir.path(), StoreConfig::default()).expect("open");
    let follower = PgFollower::new(pg, local.clone());
    let started = Instant::now();
    let copied = follower.catch_up().await.expect("copy");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(copied, events);
    println!(
        "| a new node's copy of the log (PostgreSQL → local segment store) | {events} events | {:.0} events/s |",
        copied as f64 / secs
    );
    local.close().await.expect("close");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Ok(url) = std::env::var("CRM_BENCH_PG_URL") else {
        eprintln!(
            "CRM_BENCH_PG_URL names no PostgreSQL server: run `bash benches/pg_nodes.sh`, which \
             starts one and sets it"
        );
        std::process::exit(2);
    };
    let seconds = env_u64("CRM_BENCH_SECONDS", 5);
    let copy_events = env_u64("CRM_BENCH_COPY_EVENTS", 200_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("| workload | writers | appends/s | p50 | p99 | p99.9 |");
        println!("|---|---|---|---|---|---|");
        for writers in common::writer_counts() {
            let pg = fresh(&url).await;
            let measured = common::appends(pg, writers, seconds).await;
            common::row(
                "PostgreSQL append (lock + chain), 1 event (~200 B)",
                writers,
                measured,
            );
        }
        println!();
        copy(&url, copy_events).await;
    });
}
