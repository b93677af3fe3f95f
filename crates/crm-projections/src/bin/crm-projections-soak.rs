//! A process for the kill test: opens a store, runs the read models live, and appends
//! customers and daily summaries as fast as durable appends go, printing the head now and
//! then, until it is killed (`kill -9`). The test then reopens the store and checks that the
//! read models resume from their last flushed checkpoint to the same result as a rebuild.
//!
//! Usage: `crm-projections-soak <data-dir> [seed] [redo|redo-crash]`: with `redo`, every flush
//! goes through a redo file ([`crm_projections::writes`]), as a rebuild's large ones do; with
//! `redo-crash` as well, and the process aborts halfway through its third flush.

use std::process::ExitCode;

use crm_domain::account::{
    self, AssetClass, DailyTradeSummary, HoldingLine, SecurityType, TradeChannel, TurnoverLine,
};
use crm_domain::customer::{self, Assignment, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::{AccountId, BranchId, CustomerId, StaffId};
use crm_domain::values::{Channel, IdDocument, Market, OrgName, ResidentIdNumber, ShortText};
use crm_domain::{DomainEvent, Money};
use crm_eventstore::{EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig};
use crm_projections::{ProjectionError, Projections, RuleBook};
use time::macros::{date, datetime};
use time::Duration;
use uuid::Uuid;

fn encode<E: DomainEvent + serde::Serialize>(e: &E, id: u128) -> Result<NewEvent, String> {
    let metadata = EventMetadata {
        actor: "system:soak".into(),
        occurred_at: datetime!(2024-01-02 16:00 +8),
        correlation_id: None,
        causation_id: None,
        command_id: None,
    };
    crm_codec::encode(e, Uuid::from_u128(id), metadata).map_err(|e| e.to_string())
}

fn customer_events(c: u64) -> Result<Vec<customer::Event>, String> {
    let at = datetime!(2024-01-01 09:00 +8);
    let number = ResidentIdNumber::with_check_character(&format!(
        "1101051985{:02}15{:03}",
        1 + c % 12,
        c % 1000
    ))
    .map_err(|e| e.to_string())?;
    Ok(vec![
        customer::Event::CustomerRegistered {
            customer_id: CustomerId::from(Uuid::from_u128(0xC000_0000 + u128::from(c))),
            kind: CustomerKind::Individual,
            profile: Profile {
                name: OrgName::parse(&format!("客户{c}")).map_err(|e| e.to_string())?,
                document: IdDocument::ResidentId { number },
                phone: None,
                address: None,
                region: None,
                birthday: None,
                occupation: None,
                source_channel: Channel::App,
            },
            lifecycle: Lifecycle::Active,
            at,
        },
        customer::Event::CustomerAssigned {
            customer_id: CustomerId::from(Uuid::from_u128(0xC000_0000 + u128::from(c))),
            to: Assignment {
                branch: BranchId::from(Uuid::from_u128(0xB000 + u128::from(c % 3))),
                manager: Some(StaffId::from(Uuid::from_u128(0x5000 + u128::from(c % 7)))),
                team: None,
            },
            by: StaffId::from(Uuid::from_u128(0x5000)),
            at,
        },
        customer::Event::AccountOpened {
            customer_id: CustomerId::from(Uuid::from_u128(0xC000_0000 + u128::from(c))),
            account_id: AccountId::from(Uuid::from_u128(0xA000_0000 + u128::from(c))),
            kind: crm_domain::customer::AccountKind::Fund,
            number: ShortText::parse(&format!("F{c}")).map_err(|e| e.to_string())?,
            at,
        },
    ])
}

fn summary(c: u64, day: u64) -> Result<account::Event, String> {
    let k = i64::try_from(c % 50 + 1).unwrap_or(1);
    let d = i64::try_from(day % 9).unwrap_or(0);
    let yuan = |v: i64| Money::from_yuan(v).ok_or_else(|| "amount overflows".to_string());
    let trade_date = date!(2024 - 01 - 01) + Duration::days(i64::try_from(day).unwrap_or(0));
    Ok(account::Event::DailyTradeSummaryRecorded {
        account_id: AccountId::from(Uuid::from_u128(0xA000_0000 + u128::from(c))),
        summary: DailyTradeSummary {
            trade_date,
            customer_id: CustomerId::from(Uuid::from_u128(0xC000_0000 + u128::from(c))),
            turnover: vec![TurnoverLine {
                market: Market::Shanghai,
                security_type: SecurityType::Stock,
                channel: TradeChannel::Mobile,
                amount: yuan(1_000 * k * (d + 1))?,
            }],
            commission: yuan(k * (d + 1))?,
            deposits: yuan(if d == 2 { 10_000 * k } else { 0 })?,
            withdrawals: yuan(if d == 5 { 3_000 * k } else { 0 })?,
            end_of_day_assets: yuan(100_000 * k + d)?,
            holdings: vec![HoldingLine {
                asset_class: AssetClass::Stocks,
                market_value: yuan(100_000 * k + d)?,
            }],
            realised_pnl: yuan(d - 4)?,
            unrealised_pnl: yuan(1_000 * (d - 4))?,
        },
        at: datetime!(2024-01-01 16:00 +8) + Duration::days(i64::try_from(day).unwrap_or(0)),
    })
}

async fn run(dir: &str, seed: u64) -> Result<(), String> {
    let store = EventStore::open(dir, StoreConfig::default()).map_err(|e| e.to_string())?;
    let rules = RuleBook::default_rules().map_err(|e: ProjectionError| e.to_string())?;
    let projections = Projections::start(&store, rules).map_err(|e| e.to_string())?;
    let customers = 200u64;
    let mut id = u128::from(seed) << 64;
    for c in 0..customers {
        let evs = customer_events(c)?;
        let stream = crm_codec::stream_of(&evs[0]).map_err(|e| e.to_string())?;
        let mut batch = Vec::new();
        for e in &evs {
            id += 1;
            batch.push(encode(e, id)?);
        }
        store
            .append(&stream, ExpectedRevision::Any, batch)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut day = 0u64;
    loop {
        for c in 0..customers {
            let e = summary(c, day)?;
            id += 1;
            let stream = crm_codec::stream_of(&e).map_err(|e| e.to_string())?;
            store
                .append(&stream, ExpectedRevision::Any, vec![encode(&e, id)?])
                .await
                .map_err(|e| e.to_string())?;
        }
        day += 1;
        println!(
            "head {} projected {}",
            store.head().0,
            projections.position()
        );
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: crm-projections-soak <data-dir> [seed] [redo|redo-crash]");
        return ExitCode::from(2);
    };
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    match args.next().as_deref() {
        Some("redo") => crm_projections::writes::set_batch_max(0, 0),
        Some("redo-crash") => {
            crm_projections::writes::set_batch_max(0, 0);
            crm_projections::writes::crash_in_redo_flush(3);
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&dir, seed)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
