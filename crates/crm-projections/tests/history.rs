//! A customer's history (timeline, assignments) lives in the generation's tree, one key per
//! entry: a flush writes what changed, and what it writes does not grow with the history.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_eventstore::EventStore;
use crm_projections::{Projections, RuleBook};
use support::*;

/// Bytes written by the flush after one more contact, once `n` contacts of one customer are on
/// record and flushed; also returns how many timeline entries the customer then has.
fn flush_bytes_after(n: u32) -> (u64, usize) {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        let mut sim = Sim::default();
        let mut k = 0;
        for (e, t) in setup() {
            append(&store, &mut k, &e, t).await;
        }
        let contact = Step::Contact(0, 0, 1, 100, false);
        for s in [Step::Register(0, 0), Step::Assign(0, 0)] {
            for (e, t) in sim.events(&s) {
                append(&store, &mut k, &e, t).await;
            }
        }
        for _ in 0..n {
            for (e, t) in sim.events(&contact) {
                append(&store, &mut k, &e, t).await;
            }
        }
        p.catch_up().unwrap();
        p.flush().unwrap();
        for (e, t) in sim.events(&contact) {
            append(&store, &mut k, &e, t).await;
        }
        p.catch_up().unwrap();
        p.flush().unwrap();
        let bytes = p.status()[0].last_flush_bytes;
        let entries = p.customer_timeline(cid(0), usize::MAX).unwrap().len();
        store.close().await.unwrap();
        (bytes, entries)
    })
}

/// The proof: a flush after N contacts on one customer writes the same bytes for
/// N = 1,000 and N = 10,000. (N = 10 differs by the width of a few counters only: the
/// encoding is variable-length, and 11 contacts is a one-byte count where 10,001 takes three.)
#[test]
fn a_flush_writes_the_same_bytes_whatever_the_length_of_the_history() {
    let (small, small_entries) = flush_bytes_after(10);
    let (mid, mid_entries) = flush_bytes_after(1_000);
    let (big, big_entries) = flush_bytes_after(10_000);
    assert_eq!(
        (small_entries, mid_entries, big_entries),
        (11, 1_001, 10_001)
    );
    eprintln!("flush after 10 / 1,000 / 10,000 contacts: {small} / {mid} / {big} bytes");
    assert!(small > 0);
    assert_eq!(mid, big, "1,000 against 10,000 contacts");
    assert!(
        big.abs_diff(small) <= 32,
        "10 against 10,000 contacts: {small} against {big} bytes"
    );
}
