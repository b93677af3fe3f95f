//! `crm`: the operator's command line and (as the product grows) the server.

mod backup;
mod demo;
mod replay;
mod server;

use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use crm_eventstore::{EventStore, StoreConfig, VerifyReport};

#[derive(Debug, Parser)]
#[command(
    name = "crm",
    version,
    about = "Event-sourced CRM for securities brokerages and banks"
)]
struct Cli {
    /// Where the log (segments) and the sled indexes live.
    #[arg(long, global = true, env = "CRM_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the GraphQL API (HTTP and WebSocket) over the data directory.
    ///
    /// Example: crm serve --data-dir /var/lib/crm --listen 0.0.0.0:8080
    Serve {
        #[arg(long, env = "CRM_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// On an empty data directory, first load the demo data set (10,000 customers, a year
        /// of daily data); on a second start the data is reused.
        #[arg(long)]
        demo: bool,
    },
    /// Load a deterministic demo data set through the command path (bulk-load durability).
    ///
    /// Example: crm demo --data-dir /tmp/crm-demo --customers 2000 --days 60 --seed 7
    Demo {
        #[arg(long, default_value_t = 10_000)]
        customers: u32,
        /// Trading days of daily trade summaries.
        #[arg(long, default_value_t = 250)]
        days: u32,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
    },
    /// Print a development bearer token that `crm serve` on the same data directory accepts
    /// (or with the same CRM_JWT_SECRET).
    ///
    /// Example: crm token --role branch-manager --scope 0192f0c4-0000-7000-8000-000000000001
    Token {
        /// hq, region, branch-manager, customer-manager, broker, service-agent, auditor, operator
        #[arg(long)]
        role: String,
        /// The region or branch id; for customer managers and brokers `BRANCH[/TEAM]`.
        #[arg(long)]
        scope: Option<String>,
        /// The staff id the token stands for; a new one if omitted.
        #[arg(long)]
        staff: Option<String>,
        #[arg(long, default_value_t = 12)]
        hours: u64,
    },
    /// A customer as the log knew it at an instant, with the events up to then (auditors).
    ///
    /// Example: crm replay --customer 0192f0c4-… --as-of 2024-03-01T10:00:00+08:00 --json
    Replay {
        #[arg(long)]
        customer: String,
        /// RFC 3339; default now.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the read models from the whole log (the server must be stopped). Shows a
    /// progress bar on a terminal; the old state stays until the new one replaces it at once.
    ///
    /// Example: crm rebuild --data-dir /var/lib/crm
    Rebuild,
    /// Print the GraphQL schema (SDL).
    ///
    /// Example: crm schema > schema.graphql
    Schema,
    /// Walk the whole log: checksums, the hash chain, ordering and index agreement.
    /// Exits non-zero on any finding.
    ///
    /// Example: crm verify --data-dir /var/lib/crm
    Verify,
    /// Print the log's head position and what opening it repaired.
    ///
    /// Example: crm status --data-dir /var/lib/crm
    Status,
    /// Write the whole log as JSON Lines (every envelope field and hash, in log order).
    ///
    /// Example: crm export --data-dir /var/lib/crm log.jsonl
    Export { file: PathBuf },
    /// Load an export into an empty store, reproducing positions and the hash chain.
    ///
    /// Example: crm import-log --data-dir /var/lib/crm-new log.jsonl
    ImportLog { file: PathBuf },
    /// Copy the log into an empty directory and verify the copy. Works while a server runs.
    ///
    /// Example: crm backup --data-dir /var/lib/crm /backups/crm-2024-03-01
    Backup { dir: PathBuf },
    /// Restore a backup into a data directory that holds no log yet, and verify it.
    ///
    /// Example: crm restore --data-dir /var/lib/crm /backups/crm-2024-03-01
    Restore { dir: PathBuf },
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open(cli: &Cli) -> anyhow::Result<EventStore> {
    EventStore::open(&cli.data_dir, StoreConfig::default())
        .with_context(|| format!("opening the store in {}", cli.data_dir.display()))
}

/// The store opened for a bulk load: acknowledged after the write, synced every 200 ms, and
/// synced in full by `close`. A crash may lose the last 200 ms; a demo load is simply re-run.
fn open_bulk(cli: &Cli) -> anyhow::Result<EventStore> {
    let config = StoreConfig {
        durability: crm_eventstore::Durability::Batched {
            interval: std::time::Duration::from_millis(200),
        },
        ..StoreConfig::default()
    };
    EventStore::open(&cli.data_dir, config)
        .with_context(|| format!("opening the store in {}", cli.data_dir.display()))
}

async fn load_demo(store: &EventStore, config: demo::DemoConfig) -> anyhow::Result<()> {
    println!(
        "loading the demo data set: {} customers, {} trading days, seed {}",
        config.customers, config.days, config.seed
    );
    let app = crm_app::App::new(store.clone()).context("starting the command side")?;
    let report = demo::demo(&app, config, |line| println!("  {line}")).await?;
    println!(
        "demo loaded: {} events from {} commands ({} refused) in {:.1} s ({:.0} events/min)",
        report.events,
        report.commands,
        report.refused,
        report.seconds,
        report.events as f64 / report.seconds.max(1e-9) * 60.0
    );
    Ok(())
}

/// Prints a verification report; true when it found nothing.
fn print_verify(report: &VerifyReport) -> bool {
    println!(
        "{} records in {} segments, head position {}, head hash {}",
        report.records,
        report.segments,
        report.last_position,
        hex(&report.head_hash)
    );
    for f in &report.findings {
        println!(
            "FINDING {:?} at position {} (segment {}, byte {}): {}",
            f.kind, f.position, f.segment, f.offset, f.detail
        );
    }
    if report.findings_not_listed > 0 {
        println!("... and {} more findings", report.findings_not_listed);
    }
    report.is_ok()
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve { listen, demo } => {
            if *demo {
                let store = open_bulk(&cli)?;
                if store.head().0 == 0 {
                    load_demo(
                        &store,
                        demo::DemoConfig {
                            customers: 10_000,
                            days: 250,
                            seed: 2024,
                        },
                    )
                    .await?;
                } else {
                    println!(
                        "the data directory already holds {} events; reusing them",
                        store.head()
                    );
                }
                store.close().await.context("closing the store")?;
                drop(store);
            }
            server::serve(&cli.data_dir, *listen).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            customers,
            days,
            seed,
        } => {
            let store = open_bulk(&cli)?;
            if store.head().0 != 0 {
                anyhow::bail!(
                    "{} already holds {} events; load the demo into an empty data directory",
                    cli.data_dir.display(),
                    store.head()
                );
            }
            load_demo(
                &store,
                demo::DemoConfig {
                    customers: *customers,
                    days: *days,
                    seed: *seed,
                },
            )
            .await?;
            store.close().await.context("closing the store")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            role,
            scope,
            staff,
            hours,
        } => {
            let actor = server::dev_actor(role, scope.as_deref(), staff.as_deref())?;
            println!("{}", server::token(&cli.data_dir, &actor, *hours)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            customer,
            as_of,
            json,
        } => {
            let store = open(&cli)?;
            replay::replay(&store, customer, as_of.as_deref(), *json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild => {
            let store = open(&cli)?;
            let head = store.head().0;
            let bar = indicatif::ProgressBar::new(head);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} events, {per_sec}, eta {eta}",
                )
                .context("progress template")?,
            );
            bar.set_message("customer_list");
            let started = std::time::Instant::now();
            let done = crm_projections::Projected::<crm_projections::CustomersProjection>::rebuild(
                &store,
                |done, _| {
                    bar.set_position(done);
                },
            )
            .context("rebuilding customer_list")?;
            bar.finish_and_clear();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "rebuilt customer_list: {done} events in {secs:.1} s ({:.0} events/s)",
                done as f64 / secs.max(1e-9)
            );
            store.close().await.context("closing the store")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            print!("{}", crm_graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify => {
            let store = open(&cli)?;
            let report = store.verify().context("walking the log")?;
            Ok(if print_verify(&report) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Status => {
            let store = open(&cli)?;
            let report = store.recovery_report();
            println!("head position: {}", store.head());
            let list =
                crm_projections::Projected::<crm_projections::CustomersProjection>::load(&store)
                    .context("reading the customer list's checkpoint")?;
            println!(
                "projection customer_list: position {} (lag {} events)",
                list.position(),
                store.head().0.saturating_sub(list.position())
            );
            for (name, dir) in [
                ("log", crm_eventstore::log_dir(&cli.data_dir)),
                ("index", crm_eventstore::index_dir(&cli.data_dir)),
            ] {
                println!("{name} size: {} bytes", dir_size(&dir));
            }
            println!("index rebuilt on open: {}", report.index_rebuilt);
            println!("records re-indexed on open: {}", report.records_reindexed);
            if let Some(torn) = &report.torn_tail {
                println!(
                    "torn tail cut: segment {} at byte {} ({} bytes): {}",
                    torn.segment, torn.offset, torn.bytes_truncated, torn.reason
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { file } => {
            let store = open(&cli)?;
            let out = std::fs::File::create(file)
                .with_context(|| format!("creating {}", file.display()))?;
            let n = store
                .export_jsonl(BufWriter::new(out))
                .context("exporting")?;
            println!("exported {n} records to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportLog { file } => {
            let store = open(&cli)?;
            let input =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let n = store
                .import_jsonl(BufReader::new(input))
                .await
                .context("importing")?;
            store.close().await.context("closing the store")?;
            println!("imported {n} records; head position {}", store.head());
            let report = store.verify().context("verifying")?;
            Ok(if print_verify(&report) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Backup { dir } => {
            let report = backup::backup(&cli.data_dir, dir)?;
            print_copy("backed up", &report, dir);
            Ok(if report.verify.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Restore { dir } => {
            let report = backup::restore(dir, &cli.data_dir)?;
            print_copy("restored", &report, &cli.data_dir);
            Ok(if report.verify.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_copy(what: &str, report: &backup::CopyReport, to: &std::path::Path) {
    println!(
        "{what} {} segments ({} bytes) into {}",
        report.segments,
        report.bytes,
        to.display()
    );
    if report.torn_tail_cut {
        println!("a record being written during the copy was cut off (it was not yet in the log)");
    }
    print_verify(&report.verify);
}
