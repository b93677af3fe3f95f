//! Every read model, processed live with restarts (after a flush, or without one, as after a
//! crash) at random points of a random valid history, equals a rebuild from scratch; a crash
//! between flushes resumes to the same result; the engine's bookkeeping (status, wait_for,
//! lookups) behaves. The live side runs with the smallest page cache sled takes (256 bytes),
//! the rebuild with the default: whatever the cache holds, the answers are the same.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::time::Duration;

use crm_domain::ids::CustomerId;
use crm_eventstore::{EventStore, StoreConfig};
use crm_projections::views::{self, BranchPeriod, LeaderboardScope, Period, SegmentFilter};
use crm_projections::{ChurnRisk, ExplainSubject, Projections, RuleBook, Tier};
use proptest::prelude::*;
use support::*;

/// Every view of every read model, at fixed evaluation instants.
#[derive(Debug, PartialEq)]
struct Views {
    archive: Vec<String>,
    performance: Vec<String>,
    dashboard: Vec<String>,
    segments: Vec<String>,
    campaigns_channels_service: Vec<String>,
    todos: Vec<String>,
    lookups: Vec<String>,
    explain: Vec<String>,
}

fn views_of(p: &Projections) -> Views {
    let ids: Vec<CustomerId> = (0..CUSTOMERS).map(cid).collect();
    let months: Vec<Period> = (1..=12u8)
        .map(|m| Period::Month {
            year: 2024,
            month: m,
        })
        .chain((1..=3u8).map(|m| Period::Month {
            year: 2025,
            month: m,
        }))
        .chain([
            Period::YearToDate {
                year: 2024,
                month: 12,
            },
            Period::YearToDate {
                year: 2025,
                month: 2,
            },
        ])
        .collect();
    let days = [
        BASE,
        BASE + time::Duration::days(45),
        BASE + time::Duration::days(200),
        BASE + time::Duration::days(419),
    ];
    let mut archive = Vec::new();
    for id in &ids {
        for as_of in [None, Some(BASE + time::Duration::days(100))] {
            archive.push(format!("{:?}", p.customer_360(*id, as_of)));
            archive.push(format!("{:?}", p.customer_banking(*id, as_of)));
        }
        // The history lives in the generation's tree, one key per entry, partly unflushed.
        archive.push(format!("{:?}", p.customer_timeline(*id, usize::MAX)));
        archive.push(format!("{:?}", p.customer_timeline(*id, 3)));
        archive.push(format!("{:?}", p.assignment_history(*id)));
    }
    let mut performance = Vec::new();
    for period in &months {
        performance.push(format!(
            "{:?}",
            p.leaderboard(LeaderboardScope::Company, *period)
        ));
        performance.push(format!(
            "{:?}",
            p.leaderboard(LeaderboardScope::Branch(bid(1)), *period)
        ));
        performance.push(format!("{:?}", p.staff_performance(sid(0), *period)));
    }
    let mut dashboard = Vec::new();
    for b in 0..2 {
        for d in days {
            dashboard.push(format!(
                "{:?}",
                p.branch_dashboard(bid(b), BranchPeriod::Day(d))
            ));
        }
        for m in 1..=12u8 {
            dashboard.push(format!(
                "{:?}",
                p.branch_dashboard(
                    bid(b),
                    BranchPeriod::Month {
                        year: 2024,
                        month: m
                    }
                )
            ));
        }
    }
    dashboard.push(format!(
        "{:?}",
        p.branch_ranking(BranchPeriod::Month {
            year: 2024,
            month: 6
        })
    ));
    // Region and head-office dashboards, and their series, are their branches' sums.
    p.with_model(|m, r| {
        for scope in [views::OrgScope::Company, views::OrgScope::Region(rid())] {
            for period in days
                .iter()
                .map(|d| BranchPeriod::Day(*d))
                .chain((1..=12u8).map(|month| BranchPeriod::Month { year: 2024, month }))
            {
                let org = views::org_dashboard(m, r, scope, period);
                org_is_the_sum_of_its_branches(m, r, org.as_ref(), period);
                dashboard.push(format!("{org:?}"));
            }
            dashboard.push(format!(
                "{:?}",
                views::org_series(m, r, scope, (2025, 2), 15)
            ));
        }
        // A branch's scope is its own dashboard, for each period and each month of its series.
        for b in 0..2 {
            let scope = views::OrgScope::Branch(bid(b));
            for period in days
                .iter()
                .map(|d| BranchPeriod::Day(*d))
                .chain((1..=12u8).map(|month| BranchPeriod::Month { year: 2024, month }))
            {
                let org = views::org_dashboard(m, r, scope, period);
                let own = views::branch_dashboard(m, r, bid(b), period);
                branch_scope_is_the_branch(org.as_ref(), own.as_ref(), period);
                dashboard.push(format!("{org:?}"));
            }
            let series = views::org_series(m, r, scope, (2025, 2), 15);
            for (period, figures) in &series {
                let own = views::branch_dashboard(m, r, bid(b), *period);
                branch_figures_are(figures, own.as_ref(), *period);
            }
            dashboard.push(format!("{series:?}"));
        }
    });
    let mut segments = Vec::new();
    let filters = [
        SegmentFilter::default(),
        SegmentFilter {
            tier: Some(Tier::Standard),
            ..SegmentFilter::default()
        },
        SegmentFilter {
            churn_risk: Some(ChurnRisk::Medium),
            ..SegmentFilter::default()
        },
        SegmentFilter {
            branch: Some(bid(0)),
            as_of: Some(BASE + time::Duration::days(300)),
            ..SegmentFilter::default()
        },
    ];
    for f in &filters {
        segments.push(format!("{:?}", p.segments(f)));
        // Page through with a small limit: the pages must join up to the whole list.
        let mut cursor = None;
        loop {
            let page = p.customers(f, cursor, 3);
            segments.push(format!("{page:?}"));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let mut campaigns_channels_service = vec![
        format!("{:?}", p.campaign_effectiveness()),
        format!("{:?}", p.saved_segments()),
        format!("{:?}", p.campaign_targets_now(kid())),
        format!("{:?}", p.campaign_call_list(kid())),
        format!("{:?}", p.campaign_roi(kid())),
        format!("{:?}", p.channel_effectiveness()),
        format!("{:?}", p.service_quality(None, at(200))),
        format!("{:?}", p.service_quality(Some(bid(0)), at(419))),
    ];
    // 分层服务 compliance: contacts, visits, care greetings (the rules greet every tier on
    // every occasion, see `live_and_rebuilt`), follow-ups and tickets.
    p.with_model(|m, r| {
        let periods = [
            Period::Month {
                year: 2024,
                month: 3,
            },
            Period::Month {
                year: 2024,
                month: 10,
            },
            Period::YearToDate {
                year: 2024,
                month: 12,
            },
        ];
        for period in periods {
            for today in [
                BASE + time::Duration::days(200),
                BASE + time::Duration::days(419),
            ] {
                for s in 0..STAFF {
                    let c = views::staff_compliance(m, r, sid(s), period, today);
                    campaigns_channels_service.push(format!("{c:?}"));
                }
                for b in 0..2 {
                    let c = views::branch_compliance(m, r, bid(b), period, today);
                    campaigns_channels_service.push(format!("{c:?}"));
                }
            }
        }
    });
    let mut todos = Vec::new();
    for s in (0..STAFF).map(sid).chain([branch_manager(), operator(1)]) {
        for now in [at(30), at(200), at(419)] {
            todos.push(format!("{:?}", p.todos(s, now)));
        }
    }
    let mut lookups = vec![format!("{:?}", p.org())];
    for id in &ids {
        lookups.push(format!("{:?}", p.customer_org(*id)));
    }
    let mut explain = Vec::new();
    for id in &ids {
        for subject in [
            ExplainSubject::Contribution {
                customer: *id,
                on: None,
            },
            ExplainSubject::RiskPreference {
                customer: *id,
                on: None,
            },
            ExplainSubject::ChurnRisk {
                customer: *id,
                as_of: None,
            },
        ] {
            explain.push(format!("{:?}", p.explain(subject).unwrap()));
        }
    }
    explain.push(format!(
        "{:?}",
        p.explain(ExplainSubject::Kpi {
            staff: sid(1),
            period: Period::YearToDate {
                year: 2024,
                month: 12
            }
        })
        .unwrap()
    ));
    Views {
        archive,
        performance,
        dashboard,
        segments,
        campaigns_channels_service,
        todos,
        lookups,
        explain,
    }
}

/// The default rules, every tier greeted on every occasion, on holidays and market events
/// through the test's year (the steps' days run from 2024-01-01 for 420 days), some within a
/// week of the to-dos' instants (days 30, 200 and 419) so that greetings are owed there.
fn care_rules() -> String {
    let mut text = format!(
        "{}\n[care]\nholidays = [\"2024-02-05\", \"2024-05-01\", \"2024-07-20\", \"2024-10-01\", \
         \"2024-10-03\", \"2025-02-25\"]\nmarket_events = [\"2024-03-15\", \"2024-07-18\", \
         \"2024-09-24\"]\nwindow_days = 5\n",
        crm_projections::rules::DEFAULT_RULES
    );
    for tier in ["diamond", "gold", "silver", "standard"] {
        text.push_str(&format!(
            "\n[service.{tier}]\ncare = [\"birthday\", \"holiday\", \"market_event\"]\n"
        ));
    }
    text
}

/// Runs a history live (with catch-ups, flushes and restarts where the steps say), then
/// returns the live views and those of a from-scratch rebuild over a copy of the log.
/// The region's (all the test's branches are in one) and the company's figures are the sums
/// of the branch dashboards' figures.
fn org_is_the_sum_of_its_branches(
    m: &crm_projections::model::Model,
    r: &RuleBook,
    org: Option<&views::OrgDashboard>,
    period: BranchPeriod,
) {
    let org = org.expect("the company and the test's region are known");
    let branches: Vec<views::BranchDashboard> = (0..2)
        .filter_map(|b| views::branch_dashboard(m, r, bid(b), period))
        .collect();
    let f = &org.figures;
    assert_eq!(f.branches, branches.len(), "{period:?}");
    let sum = |x: fn(&views::BranchDashboard) -> i64| branches.iter().map(x).sum::<i64>();
    assert_eq!(
        f.totals.customers,
        sum(|d| d.totals.customers),
        "{period:?}"
    );
    assert_eq!(
        f.totals.assets.minor(),
        sum(|d| d.assets.minor()),
        "{period:?}"
    );
    assert_eq!(
        f.flows.commission.minor(),
        sum(|d| d.flows.commission.minor())
    );
    assert_eq!(f.flows.net_inflow().minor(), sum(|d| d.net_inflow.minor()));
    assert_eq!(f.flows.new_customers, sum(|d| d.flows.new_customers));
    assert_eq!(f.flows.churned, sum(|d| d.flows.churned), "{period:?}");
    assert_eq!(f.flows.upgraded, sum(|d| d.flows.upgraded));
    for (tier, n) in crm_projections::Tier::ALL.iter().zip(f.totals.by_tier) {
        let of_branches: i64 = branches
            .iter()
            .map(|d| d.customers_by_tier.get(tier).copied().unwrap_or(0))
            .sum();
        assert_eq!(n, of_branches, "{tier:?} in {period:?}");
    }
    let ranked: Vec<_> = org.ranking.iter().map(|x| x.branch).collect();
    let company: Vec<_> = views::branch_ranking(m, r, period)
        .iter()
        .map(|x| x.branch)
        .collect();
    assert_eq!(ranked, company, "one region holds every branch");
}

/// A branch's scope: known (the branch is), named and ranked as the branch, with its
/// dashboard's figures.
fn branch_scope_is_the_branch(
    org: Option<&views::OrgDashboard>,
    own: Option<&views::BranchDashboard>,
    period: BranchPeriod,
) {
    let org = org.expect("the test's branches are known");
    if let Some(d) = own {
        assert_eq!(org.name, d.name, "{period:?}");
        let ranked: Vec<_> = org.ranking.iter().map(|x| (x.branch, x.rank)).collect();
        assert_eq!(
            ranked,
            vec![(d.branch, d.rank_among_branches)],
            "{period:?}"
        );
    }
    branch_figures_are(&org.figures, own, period);
}

/// One branch's scope figures are its dashboard's; none (no branch day yet) when it has none.
fn branch_figures_are(
    f: &views::OrgFigures,
    own: Option<&views::BranchDashboard>,
    period: BranchPeriod,
) {
    let Some(d) = own else {
        assert_eq!(f.branches, 0, "{period:?}");
        assert_eq!(f.totals.customers, 0, "{period:?}");
        return;
    };
    assert_eq!(f.branches, 1, "{period:?}");
    assert_eq!(f.totals, d.totals, "{period:?}");
    assert_eq!(f.totals.assets, d.assets, "{period:?}");
    assert_eq!(f.flows, d.flows, "{period:?}");
    assert_eq!(f.flows.net_inflow(), d.net_inflow, "{period:?}");
    assert_eq!(f.market_share_bp, d.market_share_bp, "{period:?}");
}

async fn live_and_rebuilt(steps: &[Step]) -> (Views, Views) {
    let dir = tempfile::tempdir().unwrap();
    let tiny_cache = || StoreConfig {
        cache_bytes: crm_eventstore::CACHE_BYTES_MIN,
        ..config()
    };
    let mut store = EventStore::open(dir.path(), tiny_cache()).unwrap();
    let rules = RuleBook::parse(&care_rules()).unwrap();
    let mut live = Projections::open(&store, rules.clone()).unwrap();
    let mut sim = Sim::default();
    let mut n = 0;
    for (e, t) in setup() {
        append(&store, &mut n, &e, t).await;
    }
    for s in steps {
        match s {
            Step::CatchUp => {
                live.catch_up().unwrap();
            }
            Step::Flush => {
                live.catch_up().unwrap();
                live.flush().unwrap();
            }
            Step::Restart(flush) => {
                live.catch_up().unwrap();
                if *flush {
                    live.flush().unwrap();
                }
                drop(live);
                store.close().await.unwrap();
                drop(store);
                store = EventStore::open(dir.path(), tiny_cache()).unwrap();
                live = Projections::open(&store, rules.clone()).unwrap();
            }
            other => {
                for (e, t) in sim.events(other) {
                    append(&store, &mut n, &e, t).await;
                }
            }
        }
    }
    live.catch_up().unwrap();
    assert_eq!(live.position(), store.head().0);
    let live_views = views_of(&live);

    let fresh = tempfile::tempdir().unwrap();
    let copy = copy_log(&store, fresh.path(), None).await;
    let rebuilt = Projections::open(&copy, rules).unwrap();
    rebuilt.catch_up().unwrap();
    assert_eq!(rebuilt.position(), copy.head().0);
    let rebuilt_views = views_of(&rebuilt);
    copy.close().await.unwrap();
    store.close().await.unwrap();
    (live_views, rebuilt_views)
}

fn check(steps: &[Step], part: impl Fn(&Views) -> &Vec<String>) -> Result<(), TestCaseError> {
    let (live, rebuilt) = runtime().block_on(live_and_rebuilt(steps));
    prop_assert_eq!(part(&live), part(&rebuilt));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn customer_archive_live_equals_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        check(&steps, |v| &v.archive)?;
    }

    #[test]
    fn staff_performance_live_equals_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        check(&steps, |v| &v.performance)?;
    }

    #[test]
    fn branch_dashboard_live_equals_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        check(&steps, |v| &v.dashboard)?;
    }

    #[test]
    fn segments_live_equal_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        check(&steps, |v| &v.segments)?;
    }

    #[test]
    fn campaign_channel_and_service_views_live_equal_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        check(&steps, |v| &v.campaigns_channels_service)?;
    }

    #[test]
    fn todos_live_equal_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        check(&steps, |v| &v.todos)?;
    }

    /// Bank facts (`support/bank.rs`) among the rest, every customer registered first so
    /// most of them land: the bank side of the archive, the dashboards' bank sections and the
    /// bank to-dos.
    #[test]
    fn bank_read_models_live_equal_rebuild(steps in prop::collection::vec(bank_step(), 1..200)) {
        let mut all: Vec<Step> = (0..CUSTOMERS)
            .flat_map(|c| [Step::Register(c, c), Step::Assign(c, c % STAFF)])
            .collect();
        all.extend(steps);
        let (live, rebuilt) = runtime().block_on(live_and_rebuilt(&all));
        prop_assert_eq!(&live.archive, &rebuilt.archive);
        prop_assert_eq!(&live.dashboard, &rebuilt.dashboard);
        prop_assert_eq!(&live.todos, &rebuilt.todos);
    }

    #[test]
    fn lookups_and_explanations_live_equal_rebuild(steps in prop::collection::vec(step(), 1..200)) {
        let (live, rebuilt) = runtime().block_on(live_and_rebuilt(&steps));
        prop_assert_eq!(&live.lookups, &rebuilt.lookups);
        prop_assert_eq!(&live.explain, &rebuilt.explain);
    }
}

/// A fixed, busy history: every customer registered, assigned, trading for a year.
pub fn busy_history() -> Vec<Step> {
    let mut steps = Vec::new();
    for c in 0..CUSTOMERS {
        steps.push(Step::Register(c, c));
        steps.push(Step::Assign(c, c % STAFF));
        steps.push(Step::OpenAccount(c, 0));
        steps.push(Step::Suitability(c, 10));
    }
    for day in (0..400u16).step_by(7) {
        for c in 0..CUSTOMERS {
            let k = u32::from(c) + 1;
            steps.push(Step::Summary {
                c,
                a: 0,
                day,
                turnover: 20_000 * k * (u32::from(day % 5) + 1),
                kind: c % 8,
                commission: 30 * (c as u16 + 1),
                deposit: if day % 3 == 0 { 10_000 * k } else { 0 },
                withdraw: if c == 3 && day > 350 { 900_000 } else { 0 },
                assets: 200_000 * k,
                pnl: if c % 2 == 0 { -30_000 } else { 20_000 },
            });
        }
        if day % 28 == 0 {
            steps.push(Step::Contact(
                u8::try_from(day / 28).unwrap() % CUSTOMERS,
                0,
                3,
                day,
                true,
            ));
            steps.push(Step::Sell(
                u8::try_from(day / 28).unwrap() % CUSTOMERS,
                u8::try_from(day % 3).unwrap(),
                day,
            ));
        }
    }
    steps.push(Step::Churn(5, 380));
    steps.push(Step::Ticket(1, 398, 0));
    steps.push(Step::TicketProgress(0, 398));
    steps.push(Step::Lead(2, 3, 390, true));
    steps.push(Step::Respond(2, 3, 100));
    steps.push(Step::Transfer(4, 399));
    steps.push(Step::Market(399, 500_000_000));
    steps
}

/// Crash consistency: state and checkpoint are written together, so dropping the engine
/// between flushes (a kill) loses only unflushed work, which resuming re-applies once.
#[test]
fn a_crash_between_flushes_resumes_to_the_rebuilt_result() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let rules = RuleBook::default_rules().unwrap();
        let mut sim = Sim::default();
        let mut n = 0;
        for (e, t) in setup() {
            append(&store, &mut n, &e, t).await;
        }
        let steps = busy_history();
        let (first, second) = steps.split_at(steps.len() / 2);
        for s in first {
            for (e, t) in sim.events(s) {
                append(&store, &mut n, &e, t).await;
            }
        }
        let live = Projections::open(&store, rules.clone()).unwrap();
        live.catch_up().unwrap();
        let flushed = live.flush().unwrap();
        assert_eq!(flushed, store.head().0);
        for s in second {
            for (e, t) in sim.events(s) {
                append(&store, &mut n, &e, t).await;
            }
        }
        live.catch_up().unwrap();
        assert!(live.position() > flushed);
        // The kill: no flush.
        drop(live);
        store.close().await.unwrap();
        drop(store);

        let store = EventStore::open(dir.path(), config()).unwrap();
        let resumed = Projections::open(&store, rules.clone()).unwrap();
        assert_eq!(
            resumed.position(),
            flushed,
            "resumes from the last flushed checkpoint"
        );
        let status = resumed.status();
        assert_eq!(status[0].flushed, flushed);
        assert_eq!(status[0].lag_events, store.head().0 - flushed);
        resumed.catch_up().unwrap();
        let fresh = tempfile::tempdir().unwrap();
        let copy = copy_log(&store, fresh.path(), None).await;
        let rebuilt = Projections::open(&copy, rules).unwrap();
        rebuilt.catch_up().unwrap();
        assert_eq!(views_of(&resumed), views_of(&rebuilt));
        // The busy history exercises the rules: not everyone stays standard.
        let tiers = resumed.segments(&SegmentFilter::default());
        assert!(
            tiers.by_tier.keys().any(|t| *t != Tier::Standard),
            "{tiers:?}"
        );
        copy.close().await.unwrap();
        store.close().await.unwrap();
    });
}

/// Read models stored by another version of the fold (an upgrade that changed what the fold
/// keeps) are folded again from the log on open, not served as if this code had made them.
#[test]
fn read_models_of_another_fold_version_are_folded_again() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let rules = RuleBook::default_rules().unwrap();
        let mut sim = Sim::default();
        let mut n = 0;
        for (e, t) in setup() {
            append(&store, &mut n, &e, t).await;
        }
        for s in busy_history().iter().take(40) {
            for (e, t) in sim.events(s) {
                append(&store, &mut n, &e, t).await;
            }
        }
        let first = Projections::open(&store, rules.clone()).unwrap();
        first.catch_up().unwrap();
        assert_eq!(first.flush().unwrap(), store.head().0);
        let before = views_of(&first);
        drop(first);
        // Another build's format marker in every generation tree.
        for name in store.sled().tree_names() {
            if name.starts_with(b"proj-all-g") {
                let tree = store.sled().open_tree(&name).unwrap();
                tree.insert([0xF1u8], &1u32.to_be_bytes()).unwrap();
            }
        }
        let reopened = Projections::open(&store, rules).unwrap();
        assert_eq!(reopened.position(), 0, "folded again from the start");
        reopened.catch_up().unwrap();
        assert_eq!(views_of(&reopened), before);
        store.close().await.unwrap();
    });
}

/// The live follower (a tokio task) flushes by itself and serves read-your-writes.
#[test]
fn the_follower_serves_read_your_writes_and_flushes_on_shutdown() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let p = Projections::start(&store, RuleBook::default_rules().unwrap()).unwrap();
        let mut sim = Sim::default();
        let mut n = 0;
        for (e, t) in setup() {
            append(&store, &mut n, &e, t).await;
        }
        for s in busy_history().iter().take(200) {
            for (e, t) in sim.events(s) {
                append(&store, &mut n, &e, t).await;
            }
        }
        let head = store.head().0;
        p.wait_for(head, Duration::from_secs(10)).await.unwrap();
        assert!(p.customer_360(cid(0), None).is_some());
        assert!(p.positions().iter().all(|(_, pos)| *pos == head));
        let err = p
            .wait_for(head + 1, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            crm_projections::ProjectionError::Timeout { .. }
        ));
        p.shutdown().await.unwrap();
        let status = p.status();
        assert_eq!(status[0].flushed, head);
        assert_eq!(status[0].lag_events, 0);
        assert!(status[0].last_error.is_none());
        // Lookups the command layer uses.
        let org = p.org();
        assert_eq!(org.branches.len(), 2);
        assert_eq!(org.auth_tree().branch_regions.len(), 2);
        let c0 = p.customer_360(cid(0), None).unwrap();
        let key = c0.record.profile.document.identity_key();
        assert_eq!(p.customer_by_document(&key), Some(cid(0)));
        assert_eq!(p.customer_org(cid(0)).unwrap().manager, Some(sid(0)));
        store.close().await.unwrap();
    });
}

/// An event that does not decode stops the read models there, visibly; nothing is skipped.
#[test]
fn an_undecodable_event_stops_the_read_models_at_its_position() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut n = 0;
        for (e, t) in setup() {
            append(&store, &mut n, &e, t).await;
        }
        let good = store.head().0;
        let bad = crm_eventstore::NewEvent {
            event_id: uuid::Uuid::from_u128(1),
            event_type: "CustomerRegistered".into(),
            schema_version: 1,
            metadata: crm_eventstore::EventMetadata {
                actor: "staff-test".into(),
                occurred_at: at(0),
                correlation_id: None,
                causation_id: None,
                command_id: None,
            },
            payload: vec![1, 2, 3],
        };
        let stream = crm_eventstore::StreamName::parse("customer-0000").unwrap();
        store
            .append(&stream, crm_eventstore::ExpectedRevision::Any, vec![bad])
            .await
            .unwrap();
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        assert!(p.catch_up().is_err());
        assert_eq!(p.position(), good);
        let status = p.status();
        let stopped = status[0].last_error.clone().unwrap();
        assert_eq!(stopped.position, good + 1);
        assert!(p.catch_up().is_err(), "it does not skip the event");
        assert!(p
            .wait_for(good + 1, Duration::from_millis(10))
            .await
            .is_err());
        // Views stay available at the last good position.
        assert_eq!(
            views::today(&p.with_model(|m, _| m.clone()), None),
            (at(0) - time::Duration::days(10)).date()
        );
        store.close().await.unwrap();
    });
}

/// Figures of a busy year checked by hand: customer 9 traded weekly (49 summaries in the
/// trailing twelve months), 300 CNY commission each, 2,000,000 CNY assets.
#[test]
fn a_busy_year_derives_hand_checked_figures() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut sim = Sim::default();
        let mut n = 0;
        for (e, t) in setup() {
            append(&store, &mut n, &e, t).await;
        }
        for s in busy_history() {
            for (e, t) in sim.events(&s) {
                append(&store, &mut n, &e, t).await;
            }
        }
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let (explanation, positions) = p
            .explain(ExplainSubject::Contribution {
                customer: cid(9),
                on: None,
            })
            .unwrap()
            .unwrap();
        let crm_projections::Explanation::Contribution(c) = explanation else {
            panic!("a contribution explanation");
        };
        assert_eq!(c.inputs.summaries, 49);
        assert_eq!(
            positions.len(),
            49,
            "each summary that fed the score is named"
        );
        assert_eq!(
            c.inputs.commission,
            crm_domain::Money::from_yuan(14_700).unwrap()
        );
        assert_eq!(
            c.inputs.average_assets,
            crm_domain::Money::from_yuan(2_000_000).unwrap()
        );
        // 14,700 / 20,000 of 35 points = 25.72; assets at the cap = 30; inflow above the cap
        // = 15; one product of five = 2; 399 of 3650 days = 1.09.
        let points: Vec<i64> = c.terms.iter().map(|t| t.points_centi).collect();
        assert_eq!(points, vec![2572, 3000, 1500, 200, 109]);
        assert_eq!(c.score_centi, 7381);
        assert_eq!(c.tier, Tier::Gold);
        let archive = p.customer_360(cid(9), None).unwrap();
        assert_eq!(archive.tier, Tier::Gold);
        assert_eq!(archive.contribution_score_centi, 7381);
        // Customer 3 withdrew 900,000 CNY a week at the end: a churn risk with its reason.
        let c3 = p.customer_360(cid(3), None).unwrap();
        assert_eq!(c3.churn.risk, ChurnRisk::High);
        assert!(
            c3.churn.reason.contains("net outflow"),
            "{}",
            c3.churn.reason
        );
        let c5 = p.customer_360(cid(5), None).unwrap();
        assert_eq!(c5.churn.risk, ChurnRisk::Churned);
        // The branch manager of branch 1 is asked to approve the transfer into it.
        let todos = p.todos(branch_manager(), at(399));
        assert!(todos
            .iter()
            .any(|t| t.kind == views::TodoKind::TransferApproval));
        let todos = p.todos(sid(3), at(399));
        assert!(todos
            .iter()
            .any(|t| t.kind == views::TodoKind::LargeOutflow));
        // KPI composite: four managers ranked 1..4 in the company, 1..2 in each branch.
        let board = p.leaderboard(
            LeaderboardScope::Company,
            Period::YearToDate {
                year: 2024,
                month: 12,
            },
        );
        assert_eq!(
            board.iter().map(|x| x.rank_in_company).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert!(board
            .windows(2)
            .all(|w| w[0].kpi.composite_centi >= w[1].kpi.composite_centi));
        let served: i64 = board.iter().map(|x| x.customers_served).sum();
        assert_eq!(served, 10);
        let dash = p
            .branch_dashboard(
                bid(0),
                BranchPeriod::Month {
                    year: 2024,
                    month: 12,
                },
            )
            .unwrap();
        assert_eq!(
            dash.customers_by_tier.values().sum::<i64>(),
            dash.totals.customers
        );
        assert_eq!(dash.totals.customers, 6);
        store.close().await.unwrap();
    });
}

/// Campaign ROI (issue #16 item 3): a converted customer's commission counts as revenue from
/// the day of their conversion to the campaign's end, no earlier and no later; the cost is the
/// sum of the channels' records; ROI = (revenue − cost) ÷ cost.
#[test]
fn a_campaign_attributes_commission_from_a_conversion_to_its_end() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut sim = Sim::default();
        let mut n = 0;
        for (e, t) in setup() {
            append(&store, &mut n, &e, t).await;
        }
        let summary = |day: u16, commission: u16| Step::Summary {
            c: 0,
            a: 0,
            day,
            turnover: 10_000,
            kind: 0,
            commission,
            deposit: 0,
            withdraw: 0,
            assets: 100_000,
            pnl: 0,
        };
        let steps = [
            Step::Register(0, 0),
            Step::Assign(0, 0),
            Step::OpenAccount(0, 0),
            // Converted on day 10 (an even day: through customer 0's channel, the counter).
            Step::Respond(0, 3, 10),
            summary(5, 1_000),
            summary(14, 100),
            summary(21, 50),
            // The campaign ended on day 200.
            summary(250, 70),
        ];
        for s in &steps {
            for (e, t) in sim.events(s) {
                append(&store, &mut n, &e, t).await;
            }
        }
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let roi = p.campaign_roi(kid()).unwrap();
        let yuan = |y| crm_domain::Money::from_yuan(y).unwrap();
        assert_eq!(roi.figures.revenue, yuan(150));
        assert_eq!(roi.figures.cost, yuan(5_000));
        // (150 − 5,000) ÷ 5,000 = −97%.
        assert_eq!(roi.figures.roi_bp, Some(-9_700));
        assert_eq!(roi.figures.targets, usize::from(CUSTOMERS / 2));
        assert_eq!(roi.figures.conversions, 1);
        assert_eq!(
            roi.figures.conversion_rate_bp,
            10_000 / i64::from(CUSTOMERS / 2)
        );
        let rows: Vec<_> = roi
            .by_channel
            .iter()
            .map(|c| {
                (
                    c.channel,
                    c.figures.targets,
                    c.figures.conversions,
                    c.figures.revenue,
                    c.figures.cost,
                    c.figures.roi_bp,
                )
            })
            .collect();
        use crm_domain::values::Channel;
        assert_eq!(
            rows,
            vec![
                (None, 0, 0, yuan(0), yuan(2_000), Some(-10_000)),
                (Some(Channel::Counter), 1, 1, yuan(150), yuan(0), None),
                (
                    Some(Channel::Phone),
                    0,
                    0,
                    yuan(0),
                    yuan(3_000),
                    Some(-10_000)
                ),
            ]
        );
        store.close().await.unwrap();
    });
}
