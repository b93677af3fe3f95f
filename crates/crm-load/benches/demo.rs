//! Demo load throughput: events per minute through the whole command path (authorize,
//! decide, append) into a store in bulk-load durability, as `crm demo` and `crm serve --demo`
//! load it.
//!
//! Sizes: `CRM_DEMO_BENCH` = `customers x days` list, comma-separated; default `2000x60`
//! (the quick figure) and `10000x250` (what `crm serve --demo` loads on first run).
//! Run: `cargo bench -p crm-load` (or `CRM_DEMO_BENCH=2000x60 cargo bench -p crm-load`).
#![allow(clippy::unwrap_used)] // a benchmark that cannot unwrap has failed

use std::time::Duration;

use crm_app::App;
use crm_eventstore::{Durability, EventStore, StoreConfig};
use crm_load::{demo, DemoConfig};

fn sizes() -> Vec<(u32, u32)> {
    let spec = std::env::var("CRM_DEMO_BENCH").unwrap_or_else(|_| "2000x60,10000x250".into());
    spec.split(',')
        .filter_map(|s| {
            let (c, d) = s.trim().split_once('x')?;
            Some((c.parse().ok()?, d.parse().ok()?))
        })
        .collect()
}

fn main() {
    // The benchmark harness passes `--bench`; a plain `cargo test` run passes nothing and
    // must not spend minutes here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (customers, days) in sizes() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            dir.path(),
            StoreConfig {
                durability: Durability::Batched {
                    interval: Duration::from_millis(200),
                },
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let app = App::new(store.clone()).unwrap();
        // Time and events at the end of each set-up phase, to tell set-up from daily data.
        let started = std::time::Instant::now();
        let mut phases = Vec::new();
        let report = runtime
            .block_on(demo(
                &app,
                DemoConfig::new(customers, days, 7, time::macros::date!(2025 - 06 - 30)),
                |p| {
                    if p.days_done == 0 {
                        phases.push((p.phase, started.elapsed().as_secs_f64(), p.events));
                    }
                },
            ))
            .unwrap();
        let mut last = (0.0, 0);
        for (phase, seconds, events) in phases {
            println!(
                "  {phase}: {} events in {:.1} s",
                events - last.1,
                seconds - last.0
            );
            last = (seconds, events);
        }
        println!(
            "  daily data: {} events in {:.1} s",
            report.events - last.1,
            report.seconds - last.0
        );
        runtime.block_on(store.close()).unwrap();
        println!(
            "demo {customers} customers x {days} days: {} events from {} commands ({} refused) \
             in {:.1} s = {:.0} events/min",
            report.events,
            report.commands,
            report.refused,
            report.seconds,
            report.events_per_minute()
        );
    }
}
