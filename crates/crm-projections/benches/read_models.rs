//! All read models: full rebuild rate over a generated log, and live lag under a sustained
//! append load.
//!
//! `cargo bench -p crm-projections --bench read_models`
//! Environment: `CRM_BENCH_CUSTOMERS` (default 20,000) × `CRM_BENCH_DAYS` (default 250) daily
//! summaries, about 5 million events; `CRM_BENCH_DIR` keeps the generated log between runs
//! (default `/tmp/crm-projections-bench-<customers>x<days>`); `CRM_BENCH_RATE` appends/s for
//! the live phase (default 5,000) for `CRM_BENCH_SECS` seconds (default 10).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark that cannot unwrap has failed

use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_domain::account::{
    self, AssetClass, DailyTradeSummary, HoldingLine, SecurityType, TradeChannel, TurnoverLine,
};
use crm_domain::auth::{Role, Scope};
use crm_domain::customer::{self, Assignment, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::*;
use crm_domain::values::{
    Channel, IdDocument, Market, OrgName, PersonName, ResidentIdNumber, ShortText,
};
use crm_domain::{branch, region, staff, DomainEvent, Money};
use crm_eventstore::{
    Durability, EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig, StreamName,
};
use crm_projections::{Projections, RuleBook};
use time::macros::{date, datetime};
use time::{Duration as TimeDuration, OffsetDateTime};
use uuid::Uuid;

const BRANCHES: u64 = 20;
const MANAGERS_PER_BRANCH: u64 = 10;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn encode<E: DomainEvent + serde::Serialize>(e: &E, id: u128, at: OffsetDateTime) -> NewEvent {
    let metadata = EventMetadata {
        actor: "system:bench".into(),
        occurred_at: at,
        correlation_id: None,
        causation_id: None,
        command_id: None,
    };
    crm_codec::encode(e, Uuid::from_u128(id), metadata).unwrap()
}

fn stream<E: DomainEvent>(e: &E) -> StreamName {
    crm_codec::stream_of(e).unwrap()
}

fn bid(b: u64) -> BranchId {
    BranchId::from(Uuid::from_u128(0xB000 + u128::from(b)))
}
fn sid(s: u64) -> StaffId {
    StaffId::from(Uuid::from_u128(0x5000 + u128::from(s)))
}
fn cid(c: u64) -> CustomerId {
    CustomerId::from(Uuid::from_u128(0xC_0000_0000 + u128::from(c)))
}
fn aid(c: u64) -> AccountId {
    AccountId::from(Uuid::from_u128(0xA_0000_0000 + u128::from(c)))
}

fn summary(c: u64, day: u64) -> DailyTradeSummary {
    let k = (c % 97 + 1) as i64;
    let d = (day % 11) as i64;
    let mut turnover = vec![
        TurnoverLine {
            market: Market::Shanghai,
            security_type: SecurityType::Stock,
            channel: TradeChannel::Mobile,
            amount: Money::from_yuan(1_000 * k * (d + 1)).unwrap(),
        },
        TurnoverLine {
            market: Market::Shenzhen,
            security_type: SecurityType::Fund,
            channel: TradeChannel::Internet,
            amount: Money::from_yuan(300 * k).unwrap(),
        },
    ];
    turnover.sort();
    DailyTradeSummary {
        trade_date: date!(2024 - 01 - 01) + TimeDuration::days(day as i64),
        customer_id: cid(c),
        turnover,
        commission: Money::from_yuan(k * (d + 1)).unwrap(),
        deposits: Money::from_yuan(if d == 3 { 5_000 * k } else { 0 }).unwrap(),
        withdrawals: Money::from_yuan(if d == 7 { 2_000 * k } else { 0 }).unwrap(),
        end_of_day_assets: Money::from_yuan(50_000 * k + 100 * d).unwrap(),
        holdings: vec![
            HoldingLine {
                asset_class: AssetClass::Cash,
                market_value: Money::from_yuan(10_000 * k).unwrap(),
            },
            HoldingLine {
                asset_class: AssetClass::Stocks,
                market_value: Money::from_yuan(40_000 * k + 100 * d).unwrap(),
            },
        ],
        realised_pnl: Money::from_yuan(d - 5).unwrap(),
        unrealised_pnl: Money::from_yuan(100 * (d - 5) * k).unwrap(),
    }
}

async fn generate(store: &EventStore, customers: u64, days: u64) {
    let t0 = datetime!(2023-12-20 09:00 +8);
    let mut id: u128 = 1;
    let mut next = || {
        id += 1;
        id
    };
    let r = RegionId::from(Uuid::from_u128(0xE000));
    let e = region::Event::RegionEstablished {
        region_id: r,
        name: OrgName::parse("华东").unwrap(),
        at: t0,
    };
    store
        .append(
            &stream(&e),
            ExpectedRevision::Any,
            vec![encode(&e, next(), t0)],
        )
        .await
        .unwrap();
    for b in 0..BRANCHES {
        let e = branch::Event::BranchOpened {
            branch_id: bid(b),
            region_id: r,
            name: OrgName::parse(&format!("营业部{b}")).unwrap(),
            kind: crm_domain::branch::BranchKind::BrokerageBranch,
            at: t0,
        };
        store
            .append(
                &stream(&e),
                ExpectedRevision::Any,
                vec![encode(&e, next(), t0)],
            )
            .await
            .unwrap();
        for m in 0..MANAGERS_PER_BRANCH {
            let s = b * MANAGERS_PER_BRANCH + m;
            let e = staff::Event::StaffJoined {
                staff_id: sid(s),
                name: PersonName::parse(&format!("经理{s}")).unwrap(),
                role: Role::CustomerManager,
                scope: Scope::Book {
                    branch: bid(b),
                    team: None,
                },
                at: t0,
            };
            store
                .append(
                    &stream(&e),
                    ExpectedRevision::Any,
                    vec![encode(&e, next(), t0)],
                )
                .await
                .unwrap();
        }
    }
    let managers = BRANCHES * MANAGERS_PER_BRANCH;
    for c in 0..customers {
        let s = c % managers;
        let number = ResidentIdNumber::with_check_character(&format!(
            "110105198{}0{}15{:03}",
            c % 10,
            1 + c % 9,
            c % 1000
        ))
        .unwrap();
        let evs = [
            customer::Event::CustomerRegistered {
                customer_id: cid(c),
                kind: CustomerKind::Individual,
                profile: Profile {
                    name: OrgName::parse(&format!("客户{c}")).unwrap(),
                    document: IdDocument::ResidentId { number },
                    phone: None,
                    address: None,
                    region: Some(r),
                    birthday: None,
                    occupation: None,
                    source_channel: Channel::App,
                },
                lifecycle: Lifecycle::Active,
                at: t0,
            },
            customer::Event::CustomerAssigned {
                customer_id: cid(c),
                to: Assignment {
                    branch: bid(s / MANAGERS_PER_BRANCH),
                    manager: Some(sid(s)),
                    team: None,
                },
                by: sid(s),
                at: t0,
            },
            customer::Event::AccountOpened {
                customer_id: cid(c),
                account_id: aid(c),
                kind: crm_domain::customer::AccountKind::Fund,
                number: ShortText::parse(&format!("F{c}")).unwrap(),
                at: t0,
            },
        ];
        let batch: Vec<NewEvent> = evs.iter().map(|e| encode(e, next(), t0)).collect();
        store
            .append(&stream(&evs[0]), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    // One append per account with all its days, several in flight.
    let mut inflight = tokio::task::JoinSet::new();
    for c in 0..customers {
        let store = store.clone();
        let base = 0x1_0000_0000u128 + u128::from(c) * 1000;
        inflight.spawn(async move {
            let evs: Vec<NewEvent> = (0..days)
                .map(|d| {
                    let s = summary(c, d);
                    let at = OffsetDateTime::new_in_offset(
                        s.trade_date,
                        time::macros::time!(16:00),
                        time::macros::offset!(+8),
                    );
                    let e = account::Event::DailyTradeSummaryRecorded {
                        account_id: aid(c),
                        summary: s,
                        at,
                    };
                    encode(&e, base + u128::from(d), at)
                })
                .collect();
            let name = StreamName::parse(format!("account-{}", aid(c))).unwrap();
            store
                .append(&name, ExpectedRevision::Any, evs)
                .await
                .unwrap();
        });
        if inflight.len() >= 8 {
            inflight.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = inflight.join_next().await {
        r.unwrap();
    }
}

fn rss_mib() -> u64 {
    // Linux: the second field of /proc/self/statm is resident pages (4 KiB).
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4 / 1024)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let customers = env("CRM_BENCH_CUSTOMERS", 20_000);
    let days = env("CRM_BENCH_DAYS", 250);
    let rate = env("CRM_BENCH_RATE", 5_000);
    let secs = env("CRM_BENCH_SECS", 10);
    let dir = std::env::var("CRM_BENCH_DIR")
        .unwrap_or_else(|_| format!("/tmp/crm-projections-bench-{customers}x{days}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let config = StoreConfig { durability: Durability::Batched { interval: Duration::from_millis(200) }, ..StoreConfig::default() };
        let store = EventStore::open(&dir, config).expect("open");
        if store.head().0 == 0 {
            let started = Instant::now();
            generate(&store, customers, days).await;
            println!("generated {} events in {:.1} s into {dir}", store.head().0, started.elapsed().as_secs_f64());
        }
        let head = store.head().0;
        let rules = RuleBook::default_rules().unwrap();
        let p = Projections::open(&store, rules.clone()).unwrap();
        println!("| case | events | seconds | events/s |");
        println!("|---|---|---|---|");
        for label in ["run 1", "run 2"] {
            let started = Instant::now();
            let last = Arc::new(std::sync::Mutex::new(None));
            let seen = last.clone();
            p.dry_run(rules.clone(), 0, move |pr| {
                *seen.lock().unwrap() = Some(pr);
            })
            .await
            .unwrap();
            let total = started.elapsed().as_secs_f64();
            let fold_rate = last.lock().unwrap().map_or(0.0, |pr| pr.events_per_sec);
            println!("| rebuild of all read models ({label}; fold only) | {head} | {:.1} | {fold_rate:.0} |", head as f64 / fold_rate.max(1.0));
            println!("| rebuild of all read models ({label}; fold + flush + compare) | {head} | {total:.1} | {:.0} |", head as f64 / total);
        }
        println!("resident memory after two shadow builds: {} MiB", rss_mib());
        p.switch().await.unwrap();
        p.drop_previous().await.unwrap();
        drop(p);
        store.close().await.unwrap();
        drop(store);

        // Live: the durable store (fdatasync per group commit), the engine following it, and
        // appends at a steady rate from 16 writers; lag = from the append's acknowledgement
        // to the read models having applied it.
        let store = EventStore::open(&dir, StoreConfig::default()).expect("open");
        let p = Projections::start(&store, rules).unwrap();
        p.wait_for(store.head().0, Duration::from_secs(600)).await.unwrap();
        let writers = 16u64;
        // Event ids unique to this run (a repeated id would be an idempotent no-op append).
        let run = u128::from(store.head().0) << 40;
        let per_writer = Duration::from_secs_f64(writers as f64 / rate as f64);
        let until = Instant::now() + Duration::from_secs(secs);
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..writers {
            let store = store.clone();
            let p = p.clone();
            tasks.spawn(async move {
                let mut lags = Vec::new();
                let mut tick = tokio::time::interval(per_writer);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut n = 0u64;
                while Instant::now() < until {
                    tick.tick().await;
                    n += 1;
                    let c = (w * 7919 + n * 104_729) % customers;
                    let day = days + n;
                    let s = summary(c, day);
                    let at = OffsetDateTime::new_in_offset(s.trade_date, time::macros::time!(16:00), time::macros::offset!(+8));
                    let e = account::Event::DailyTradeSummaryRecorded { account_id: aid(c), summary: s, at };
                    let id = (1u128 << 100) + run + u128::from(w) * 1_000_000 + u128::from(n);
                    let name = StreamName::parse(format!("account-{}", aid(c))).unwrap();
                    let r = store.append(&name, ExpectedRevision::Any, vec![encode(&e, id, at)]).await.unwrap();
                    let acked = Instant::now();
                    p.wait_for(r.last_position.0, Duration::from_secs(10)).await.unwrap();
                    lags.push(acked.elapsed().as_secs_f64() * 1000.0);
                }
                lags
            });
        }
        let mut lags = Vec::new();
        while let Some(r) = tasks.join_next().await {
            lags.extend(r.unwrap());
        }
        lags.sort_by(|a, b| a.total_cmp(b));
        println!();
        println!("| live, {rate} appends/s target, {secs} s | appends/s | lag p50 | lag p99 | lag max |");
        println!("|---|---|---|---|---|");
        println!(
            "| {writers} writers, durable appends | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
            lags.len() as f64 / secs as f64,
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(0.0)
        );
        println!("{:?}", p.status());
        p.shutdown().await.unwrap();
        store.close().await.unwrap();
    });
}
