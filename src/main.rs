//! `crm`: the operator's command line and (as the product grows) the server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use crm_eventstore::{EventStore, StoreConfig};

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
    /// Walk the whole log: checksums, the hash chain, ordering and index agreement.
    /// Exits non-zero on any finding.
    ///
    /// Example: crm verify --data-dir /var/lib/crm
    Verify,
    /// Print the log's head position, head hash and what opening it repaired.
    ///
    /// Example: crm status --data-dir /var/lib/crm
    Status,
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
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let store = EventStore::open(&cli.data_dir, StoreConfig::default())
        .with_context(|| format!("opening the store in {}", cli.data_dir.display()))?;
    match cli.command {
        Command::Verify => {
            let report = store.verify().context("walking the log")?;
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
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Status => {
            let report = store.recovery_report();
            println!("head position: {}", store.head());
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
    }
}
