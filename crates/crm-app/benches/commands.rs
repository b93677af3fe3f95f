//! Commands handled per second end to end (load the stream, authorize, decide, durable append)
//! with 1 and 64 concurrent callers, each marking its own customer as key / not key in turn.
//!
//! `cargo bench -p crm-app --bench commands` (CRM_BENCH_SECONDS sets the run length).

use std::time::{Duration, Instant};

use crm_app::{App, AppCommand, CommandEnvelope};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::customer::{self, CustomerKind, Profile};
use crm_domain::ids::{CustomerId, StaffId};
use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber};
use crm_eventstore::{EventStore, StoreConfig};
use time::OffsetDateTime;
use uuid::Uuid;

fn resident_id(n: u32) -> Option<ResidentIdNumber> {
    ResidentIdNumber::with_check_character(&format!(
        "110105{:08}{:03}",
        19_700_101 + n / 1000,
        n % 1000
    ))
    .ok()
}

fn envelope(command: AppCommand) -> CommandEnvelope {
    CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor: Actor {
            staff_id: StaffId::from(Uuid::from_u128(1)),
            role: Role::Headquarters,
            scope: Scope::Company,
        },
        correlation_id: None,
        causation_id: None,
        occurred_at: OffsetDateTime::now_utc(),
        command,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * p) as usize)
        .copied()
        .unwrap_or_default()
}

async fn run(callers: u32, seconds: u64) {
    let dir = std::path::PathBuf::from("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let dir = tempfile::tempdir_in(dir).expect("temp dir");
    let store = EventStore::open(dir.path(), StoreConfig::default()).expect("open");
    let app = App::new(store).expect("app");
    for c in 0..callers {
        let id = CustomerId::from(Uuid::from_u128(u128::from(c) + 1));
        let Some(number) = resident_id(c) else {
            panic!("bench id numbers are valid")
        };
        let profile = Profile {
            name: OrgName::parse("客户").expect("valid"),
            document: IdDocument::ResidentId { number },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::App,
        };
        app.execute(envelope(AppCommand::Customer {
            customer: id,
            command: customer::Command::Register {
                customer_id: id,
                kind: CustomerKind::Individual,
                profile,
                as_prospect: false,
                existing_customer_with_same_document: None,
                now: OffsetDateTime::now_utc(),
            },
        }))
        .await
        .expect("register");
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let id = CustomerId::from(Uuid::from_u128(u128::from(c) + 1));
            let mut latencies = Vec::new();
            let mut key = true;
            while Instant::now() < deadline {
                let t = Instant::now();
                app.execute(envelope(AppCommand::Customer {
                    customer: id,
                    command: customer::Command::MarkKeyCustomer {
                        is_key: key,
                        now: OffsetDateTime::now_utc(),
                    },
                }))
                .await
                .expect("command");
                latencies.push(t.elapsed());
                key = !key;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "| {callers} | {:.0} | {:.2} ms | {:.2} ms |",
        all.len() as f64 / secs,
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    let seconds = std::env::var("CRM_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("| callers | commands/s | p50 | p99 |");
    println!("|---|---|---|---|");
    rt.block_on(async {
        run(1, seconds).await;
        run(64, seconds).await;
    });
}
