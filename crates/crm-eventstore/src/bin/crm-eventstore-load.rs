//! Appends synthetic events as fast as it can and prints one line per acknowledged event:
//! `ack <position> <stream> <revision> <event-id>`. The crash tests kill it with SIGKILL at
//! random moments and check every printed event survived; operators can use it to load a
//! scratch store.
//!
//! Usage: `crm-eventstore-load <data-dir> <writers> <tag> [events-per-writer]`

use std::io::Write;

use crm_eventstore::{
    EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig, StreamName,
};
use time::OffsetDateTime;
use uuid::Uuid;

fn usage() -> ! {
    eprintln!("usage: crm-eventstore-load <data-dir> <writers> <tag> [events-per-writer]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        usage();
    }
    let writers: u64 = args[2].parse().unwrap_or_else(|_| usage());
    let tag = args[3].clone();
    let per_writer: u64 = args
        .get(4)
        .map_or(Ok(u64::MAX), |s| s.parse())
        .unwrap_or_else(|_| usage());
    // Default durability; small in-memory index tables, so that kills also land while the
    // flusher is moving a table into sled.
    let config = StoreConfig {
        index_table_records: 64,
        ..StoreConfig::default()
    };
    let store = match EventStore::open(&args[1], config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("open failed: {e}");
            std::process::exit(1);
        }
    };
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let tag = tag.clone();
        tasks.push(tokio::spawn(async move {
            let Ok(stream) = StreamName::parse(format!("load-{tag}x{w}")) else {
                return;
            };
            for revision in 0..per_writer {
                let event = NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "LoadGenerated".into(),
                    schema_version: 1,
                    metadata: EventMetadata {
                        actor: "system:load".into(),
                        occurred_at: OffsetDateTime::now_utc(),
                        correlation_id: None,
                        causation_id: None,
                        command_id: None,
                    },
                    payload: vec![b'x'; 120],
                };
                let id = event.event_id;
                let expected = revision
                    .checked_sub(1)
                    .map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                match store.append(&stream, expected, vec![event]).await {
                    Ok(r) => {
                        let mut out = std::io::stdout().lock();
                        // The parent must see the line the moment the append is acknowledged.
                        let _ = writeln!(
                            out,
                            "ack {} {} {} {}",
                            r.first_position, stream, r.stream_revision, id
                        );
                        let _ = out.flush();
                    }
                    Err(e) => {
                        eprintln!("append failed: {e}");
                        return;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    if let Err(e) = store.close().await {
        eprintln!("close failed: {e}");
        std::process::exit(1);
    }
}
