//! The demo data set through the real command path: deterministic for a seed, different for
//! another, refused by nothing, and covering the business it is meant to show.
//!
//! What is claimed, exactly: the same seed gives the same events — per stream the same
//! revisions, event ids, types, payloads, business times and command ids. Global positions
//! (how streams interleave), and so the hash chain and recorded-at, are not claimed: commands
//! for different aggregates run concurrently.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{events, LoggedEvent};
use crm_app::App;
use crm_eventstore::{Durability, EventStore, StoreConfig};
use crm_load::{demo, DemoConfig, DemoReport, LoadError};
use time::macros::date;

/// A fixed last day, so the tests see the same data on any day they run.
const UNTIL: time::Date = date!(2025 - 06 - 30);

async fn load(config: DemoConfig) -> (tempfile::TempDir, DemoReport, Vec<LoggedEvent>) {
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
    let app = App::new(store).unwrap();
    let mut phases = Vec::new();
    let report = demo(&app, config, |p| {
        phases.push((p.phase, p.days_done, p.days_total))
    })
    .await
    .unwrap();
    assert_eq!(phases.first(), Some(&("organisation", 0, config.days)));
    assert_eq!(
        phases.last(),
        Some(&("daily data", config.days, config.days))
    );
    let log = events(&app);
    assert_eq!(app.store().head().0, log.len() as u64);
    (dir, report, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_events_and_another_seed_other_ones() {
    let config = DemoConfig::new(400, 30, 7, UNTIL);
    let (_a, report_a, a) = load(config).await;
    let (_b, report_b, b) = load(config).await;
    assert_eq!(report_a.refused, 0, "{:?}", report_a.refusals);
    assert_eq!(report_a.events, a.len() as u64);
    assert_eq!(
        (report_a.commands, report_a.events, report_a.merged),
        (report_b.commands, report_b.events, report_b.merged)
    );
    assert_eq!(a, b);

    let (_c, _, c) = load(DemoConfig::new(400, 30, 8, UNTIL)).await;
    let ids = |log: &[LoggedEvent]| log.iter().map(|e| e.2).collect::<BTreeSet<_>>();
    assert!(ids(&a).is_disjoint(&ids(&c)));
    assert_ne!(
        a.iter().map(|e| &e.6).collect::<Vec<_>>(),
        c.iter().map(|e| &e.6).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_covers_the_business_and_its_daily_data_is_one_summary_per_account_day() {
    let config = DemoConfig::new(500, 40, 11, UNTIL);
    let (_dir, report, log) = load(config).await;
    assert_eq!(report.refused, 0, "{:?}", report.refusals);
    assert_eq!(report.trading_days, 40);
    assert!(report.merged > 0);
    let count = |t: &str| log.iter().filter(|e| e.3 == t).count() as u64;
    // Every customer's fund account gets one summary each trading day, from the start or
    // from the day a prospect is activated (prospects have no funded account); markets three
    // a day.
    let mut per_account: std::collections::BTreeMap<&str, u64> = Default::default();
    for e in log.iter().filter(|e| e.3 == "DailyTradeSummaryRecorded") {
        *per_account.entry(e.0.as_str()).or_default() += 1;
    }
    assert!(per_account.values().all(|n| *n <= 40), "{per_account:?}");
    let short = per_account.values().filter(|n| **n < 40).count() as u64;
    let never = 500 - per_account.len() as u64;
    let activated = count("CustomerActivated");
    assert!(activated > 0, "no prospect was activated");
    // Each account short of 40 days is a prospect's, activated in the window (one activated on
    // the first day has all 40); a prospect never activated has none.
    assert!(
        short <= activated && activated <= short + 1,
        "{per_account:?}"
    );
    assert!(
        never + short <= 500 / 10,
        "{never} + {short} prospects of 500"
    );
    assert_eq!(count("MarketTotalsRecorded"), 3 * 40);
    assert_eq!(count("CustomerRegistered"), 500 + report.merged);
    assert_eq!(count("CustomerMergedInto"), report.merged);
    let types: BTreeSet<&str> = log.iter().map(|e| e.3.as_str()).collect();
    for expected in [
        "RegionEstablished",
        "BranchOpened",
        "TeamFormed",
        "StaffJoined",
        "ProductLaunched",
        "CustomerAssigned",
        "AccountOpened",
        "SuitabilityAssessed",
        "KeyCustomerMarked",
        "ContactRecorded",
        "CareContactRecorded",
        "VisitPlanned",
        "VisitCompleted",
        "TicketOpened",
        "TicketResolved",
        "TicketClosed",
        "LeadCreated",
        "OpportunityWon",
        "OpportunityLost",
        "ProductRecommended",
        "ProductSold",
        "CampaignPlanned",
        "CampaignLaunched",
        "CampaignResponseRecorded",
        "CampaignClosed",
        "CustomerBecameDormant",
        "CustomerChurned",
        "WinBackAttempted",
        "CustomerReactivated",
        "CustomerActivated",
    ] {
        assert!(types.contains(expected), "no {expected} in {types:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_until_gives_the_same_data_set_on_other_dates_and_nothing_after_it() {
    // 2025-06-29 is a Sunday: the daily data ends on Friday the 27th.
    let (_a, report, a) = load(DemoConfig::new(200, 12, 7, date!(2025 - 06 - 29))).await;
    assert_eq!(report.refused, 0, "{:?}", report.refusals);
    let (_b, _, b) = load(DemoConfig::new(200, 12, 7, date!(2025 - 03 - 31))).await;
    // Other dates, so other payloads; nothing is business-dated after `until` (UTC+8).
    assert_ne!(
        a.iter().map(|e| &e.6).collect::<Vec<_>>(),
        b.iter().map(|e| &e.6).collect::<Vec<_>>()
    );
    // Business times are stored in UTC ("2025-06-29 3:00:00.0 +00:00:00"): as (date, hour).
    let latest = |log: &[LoggedEvent]| {
        log.iter()
            .map(|e| {
                let mut parts = e.4.split(' ');
                let day = parts.next().unwrap().to_string();
                let hour: u8 = parts
                    .next()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(parts.next(), Some("+00:00:00"), "{}", e.4);
                (day, hour)
            })
            .max()
            .unwrap()
    };
    // The end of `until` in UTC+8 is 16:00 UTC that day.
    let (day, hour) = latest(&a);
    assert!(
        day.as_str() < "2025-06-29" || (day == "2025-06-29" && hour < 16),
        "{day} {hour}"
    );
    let (day, hour) = latest(&b);
    assert!(
        day.as_str() < "2025-03-31" || (day == "2025-03-31" && hour < 16),
        "{day} {hour}"
    );
    assert_eq!(
        DemoConfig::new(200, 12, 7, date!(2025 - 06 - 29))
            .first_day()
            .unwrap(),
        date!(2025 - 06 - 12)
    );
    assert_eq!(
        DemoConfig::new(200, 250, 7, date!(2025 - 06 - 27))
            .first_day()
            .unwrap(),
        date!(2024 - 07 - 15)
    );
}

#[tokio::test]
async fn a_first_day_outside_ordinary_years_is_refused_before_anything_is_written() {
    // Goal: no input panics the generator; date arithmetic far out of range is refused.
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(EventStore::open(dir.path(), StoreConfig::default()).unwrap()).unwrap();
    // 10,000 trading days up to mid-1999 start in 1961.
    let config = DemoConfig::new(10, 10_000, 1, date!(1999 - 06 - 30));
    let err = demo(&app, config, |_| {}).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "demo data could not be generated: the first day 1961-03-02 must lie between the \
         years 1990 and 2100"
    );
    // As many days as there are: refused as well, without walking them.
    let config = DemoConfig::new(10, u32::MAX, 1, date!(1999 - 06 - 30));
    let err = demo(&app, config, |_| {}).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("must lie between the years 1990 and 2100"),
        "{err}"
    );
    assert_eq!(app.store().head().0, 0);
}

#[tokio::test]
async fn an_until_in_the_future_is_refused_naming_it_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(EventStore::open(dir.path(), StoreConfig::default()).unwrap()).unwrap();
    let today = crm_load::demo::today();
    // Two days ahead: still in the future if the date turns while the test runs.
    let until = today + time::Duration::days(2);
    let err = demo(&app, DemoConfig::new(10, 5, 1, until), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, LoadError::DemoUntilInFuture { until: u, .. } if u == until),
        "{err:?}"
    );
    assert!(err.to_string().contains(&until.to_string()), "{err}");
    assert_eq!(app.store().head().0, 0);
    // Far in the future too: the same error, not an arithmetic one.
    let err = demo(&app, DemoConfig::new(10, 5, 1, time::Date::MAX), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, LoadError::DemoUntilInFuture { .. }),
        "{err:?}"
    );
    assert_eq!(app.store().head().0, 0);
}
