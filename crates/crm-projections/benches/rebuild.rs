//! Rebuild rate of the read models: a fresh projection folds a whole log from the start.
//!
//! `crm demo --data-dir /tmp/crm-demo --customers 10000 --days 250 &&
//!  CRM_BENCH_DATA_DIR=/tmp/crm-demo cargo bench -p crm-projections --bench rebuild`
//! (the data directory is opened, not changed: the bench uses a projection tree of its own
//! only in memory and never flushes it).

use std::time::Instant;

use crm_eventstore::{EventStore, StoreConfig};
use crm_projections::{CustomersProjection, Projected};

fn main() {
    let Ok(dir) = std::env::var("CRM_BENCH_DATA_DIR") else {
        println!("set CRM_BENCH_DATA_DIR to a data directory (e.g. one made by `crm demo`)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = EventStore::open(&dir, StoreConfig::default()).expect("open");
        for label in ["cold", "warm"] {
            let started = Instant::now();
            // A projection named like the live one would resume from its checkpoint; clearing
            // nothing on disk, we fold from position 0 in memory.
            let p = Projected::<CustomersProjection>::load_empty(&store).expect("projection");
            let applied = p.catch_up().expect("catch up");
            let secs = started.elapsed().as_secs_f64();
            let customers = p.read(|s| s.by_id.len());
            println!(
                "| rebuild customer_list, {label} | {applied} events | {customers} customers | {:.0} events/s |",
                applied as f64 / secs
            );
        }
    });
}
