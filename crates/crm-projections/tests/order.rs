//! A read model's answer depends only on the facts, not on the order in which facts about
//! different streams were recorded. Concurrent import lanes record daily summaries of many
//! accounts (and contacts, and market totals) interleaved differently on every run; every
//! stock and flow figure of branches and managers, for every day and month, must come out the
//! same. (Per stream the order is the stream's own and is kept.)
//!
//! Figures derived under the rules at an evaluation date (tier, contribution score, upgrades,
//! customers in profit) are re-evaluated as facts arrive and are not compared here; see
//! docs/ARCHITECTURE.md, "Stock figures by day".
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::collections::{BTreeMap, VecDeque};

use crm_domain::{AnyEvent, DomainEvent};
use crm_eventstore::EventStore;
use crm_projections::views::{BranchPeriod, Period};
use crm_projections::{Projections, RuleBook};
use proptest::prelude::*;
use support::*;
use time::OffsetDateTime;

/// Daily flows only: the steps that concurrent import lanes interleave.
fn flow_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..CUSTOMERS, 0u8..2, 0u16..200, 0u32..5_000_000, 0u8..8, 0u16..5000, 0u32..600_000, 0u32..600_000, 0u32..3_000_000, -300_000i32..300_000)
            .prop_map(|(c, a, day, turnover, kind, commission, deposit, withdraw, assets, pnl)| Step::Summary { c, a, day, turnover, kind, commission, deposit, withdraw, assets, pnl }),
        2 => (0..CUSTOMERS, 0..STAFF, 0u8..10, 0u16..200, any::<bool>()).prop_map(|(c, s, ch, d, f)| Step::Contact(c, s, ch, d, f)),
        1 => (0u16..200, 1u32..1_000_000_000).prop_map(|(d, t)| Step::Market(d, t)),
    ]
}

/// Customers, their assignments and accounts, in the order an import's first lanes write them.
fn book() -> Vec<Step> {
    let mut steps = Vec::new();
    for c in 0..CUSTOMERS {
        steps.push(Step::Register(c, c));
        steps.push(Step::Assign(c, c % STAFF));
        steps.push(Step::OpenAccount(c, 0));
        steps.push(Step::OpenAccount(c, 1));
    }
    steps
}

type Timed = (AnyEvent, OffsetDateTime);

/// The events of the book, then of the flows: the flows as one queue per stream.
fn events(flows: &[Step]) -> (Vec<Timed>, Vec<VecDeque<Timed>>) {
    let mut sim = Sim::default();
    let mut first = setup();
    for s in book() {
        first.extend(sim.events(&s));
    }
    let mut streams: BTreeMap<String, VecDeque<Timed>> = BTreeMap::new();
    for s in flows {
        for e in sim.events(s) {
            streams.entry(e.0.stream_name()).or_default().push_back(e);
        }
    }
    (first, streams.into_values().collect())
}

/// One interleaving of the streams: `picks` choose which stream's next event comes next.
fn interleave(mut streams: Vec<VecDeque<Timed>>, picks: &[usize]) -> Vec<Timed> {
    let mut out = Vec::new();
    let mut k = 0;
    loop {
        streams.retain(|q| !q.is_empty());
        if streams.is_empty() {
            return out;
        }
        let i = picks.get(k).copied().unwrap_or(0) % streams.len();
        k += 1;
        if let Some(e) = streams[i].pop_front() {
            out.push(e);
        }
    }
}

/// Every fact-based figure of every branch day and staff month over the history's range.
fn figures(p: &Projections) -> Vec<String> {
    let mut out = Vec::new();
    for day in 0..200u16 {
        let date = BASE + time::Duration::days(i64::from(day));
        for b in 0..2u8 {
            if let Some(d) = p.branch_dashboard(bid(b), BranchPeriod::Day(date)) {
                let mut flows = d.flows.clone();
                (flows.upgraded, flows.downgraded) = (0, 0);
                out.push(format!(
                    "branch {b} {date}: customers {} lifecycle {:?} kind {:?} channel {:?} \
                     region {:?} assets {} by class {:?} flows {:?}",
                    d.totals.customers,
                    d.customers_by_lifecycle,
                    d.customers_by_kind,
                    d.customers_by_source_channel,
                    d.customers_by_region,
                    d.assets,
                    d.assets_by_class,
                    flows
                ));
            }
        }
    }
    for month in 1..=12u8 {
        let period = Period::Month { year: 2024, month };
        for b in 0..2u8 {
            if let Some(d) = p.branch_dashboard(bid(b), BranchPeriod::Month { year: 2024, month }) {
                out.push(format!(
                    "branch {b} month {month}: customers {} assets {} by class {:?}",
                    d.totals.customers, d.assets, d.assets_by_class
                ));
            }
        }
        for s in 0..STAFF {
            if let Some(sp) = p.staff_performance(sid(s), period) {
                out.push(format!(
                    "staff {s} month {month}: served {} new {} churned {} assets {} inflow {} \
                     commission {} turnover {} contacts {}",
                    sp.customers_served,
                    sp.new_customers,
                    sp.churned,
                    sp.assets,
                    sp.net_inflow,
                    sp.commission,
                    sp.turnover,
                    sp.contacts
                ));
            }
        }
    }
    // Each customer's windows (from the daily flows on disk) and resident daily and monthly
    // figures, without the log positions (which differ between interleavings).
    for c in 0..CUSTOMERS {
        if let Some(a) = p.customer_360(cid(c), None) {
            let days: Vec<_> = a
                .record
                .days
                .iter()
                .map(|d| {
                    (
                        d.date,
                        d.turnover,
                        d.commission,
                        d.deposits,
                        d.withdrawals,
                        d.assets,
                    )
                })
                .collect();
            let months: Vec<_> = a
                .record
                .months
                .iter()
                .map(|m| {
                    (
                        m.month,
                        m.turnover,
                        m.commission,
                        m.deposits,
                        m.withdrawals,
                        m.assets_sum,
                        m.asset_days,
                        m.day_mask,
                        m.summaries,
                    )
                })
                .collect();
            out.push(format!(
                "customer {c}: windows {:?} days {days:?} months {months:?} assets {}",
                a.detail.as_ref().map(|d| &d.windows),
                a.record.assets
            ));
        }
    }
    out
}

async fn fold(first: &[Timed], rest: &[Timed]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let mut n = 0;
    for (e, t) in first.iter().chain(rest) {
        append(&store, &mut n, e, *t).await;
    }
    let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
    p.catch_up().unwrap();
    let out = figures(&p);
    drop(p);
    store.close().await.unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 40, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_streams_gives_the_same_branch_and_staff_figures(
        flows in prop::collection::vec(flow_step(), 1..120),
        a in prop::collection::vec(any::<usize>(), 0..400),
        b in prop::collection::vec(any::<usize>(), 0..400),
    ) {
        let (first, streams) = events(&flows);
        let one = interleave(streams.clone(), &a);
        let other = interleave(streams, &b);
        let (x, y) = runtime().block_on(async { (fold(&first, &one).await, fold(&first, &other).await) });
        prop_assert_eq!(x, y);
    }
}

/// The case in small: a later-recorded fact about an earlier date reaches the days
/// after it, and a day created after a later one does not take that later day's stock.
#[test]
fn a_back_dated_summary_reaches_every_later_day() {
    let flows = vec![
        Step::Summary {
            c: 0,
            a: 0,
            day: 40,
            turnover: 0,
            kind: 0,
            commission: 0,
            deposit: 0,
            withdraw: 0,
            assets: 1_000_000,
            pnl: 0,
        },
        Step::Summary {
            c: 4,
            a: 0,
            day: 10,
            turnover: 0,
            kind: 0,
            commission: 0,
            deposit: 0,
            withdraw: 0,
            assets: 300_000,
            pnl: 0,
        },
    ];
    let (first, streams) = events(&flows);
    // Day 40 recorded first, then day 10 (as a lane behind another would).
    let (forward, backward) = runtime().block_on(async {
        (
            fold(&first, &interleave(streams.clone(), &[1, 0])).await,
            fold(&first, &interleave(streams, &[0, 0])).await,
        )
    });
    assert_eq!(forward, backward);
}
