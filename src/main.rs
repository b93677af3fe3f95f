//! `crm`: the operator's command line and the server.

mod anchor;
mod backup;
mod config;
mod import;
mod nodes;
mod progress;
mod readside;
mod replay;
mod report;
mod rules;
mod secret;
mod server;
mod token;

use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use crm_eventstore::{EventStore, StoreConfig, VerifyReport};

#[derive(Debug, Parser)]
#[command(
    name = "crm",
    version,
    about = "Event-sourced CRM for securities brokerages and banks",
    after_help = "Every command takes --data-dir DIR (or CRM_DATA_DIR; default ./data).\n\
                  `crm <command> --help` explains each command with an example."
)]
struct Cli {
    /// Where the log (segments) and the sled indexes live [env: CRM_DATA_DIR] [default: data]
    /// (for `serve` also `data_dir` in the --config file, below the flag and the environment).
    #[arg(long, global = true, env = "CRM_DATA_DIR", hide_env = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// The data directory when no flag, environment variable or config file names one.
const DATA_DIR_DEFAULT: &str = "data";

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the GraphQL API (HTTP and WebSocket) over the data directory.
    ///
    /// Settings come from flags, then environment variables (CRM_DATA_DIR, CRM_LISTEN,
    /// CRM_DURABILITY, CRM_JWT_SECRET, CRM_JWT_SECRET_PREVIOUS, CRM_JWT_PREVIOUS_UNTIL, CRM_RULES,
    /// CRM_LOG_JSON), then the --config file, then
    /// defaults; see docs/OPERATIONS.md for every key of the file.
    ///
    /// Example: crm serve --data-dir /var/lib/crm --listen 0.0.0.0:8080 --config /etc/crm/crm.toml
    ///
    /// Example (first run): crm serve --demo
    Serve(config::ServeArgs),
    /// Load the deterministic demo data set through the command path into an empty data
    /// directory: a brokerage (regions, branches, staff, customers, accounts, D trading days
    /// of daily data, contacts, tickets, sales, campaigns, churn) or, with --profile bank, a
    /// county rural credit cooperative (outlets, farm households, small businesses, D calendar
    /// days of deposit balances and loan positions, overdue loans, fees, contacts). The file demo-loading in
    /// the data directory marks a load that has not finished; `serve --demo` refuses such a
    /// directory.
    ///
    /// Example: crm demo --data-dir /tmp/crm-demo --customers 2000 --days 60 --seed 7 --until 2025-06-30
    ///
    /// Example: crm demo --profile bank --data-dir /tmp/crm-bank --customers 2000 --days 60
    Demo {
        #[arg(long, default_value_t = crm_load::DemoConfig::default().customers)]
        customers: u32,
        /// Days of daily data: trading days for the brokerage (weekends are skipped: 250 is
        /// about a year), calendar days for the bank.
        #[arg(long, default_value_t = crm_load::DemoConfig::default().days)]
        days: u32,
        /// The same seed and --until give the same events (ids, payloads, business times).
        #[arg(long, default_value_t = crm_load::DemoConfig::default().seed)]
        seed: u64,
        /// The last business day (YYYY-MM-DD): the daily data ends on the last weekday on or
        /// before it, and nothing is recorded after it. Not after today [default: today in
        /// China Standard Time, UTC+8].
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_until)]
        until: Option<time::Date>,
        /// Which business: brokerage (securities) or bank (a rural credit cooperative).
        #[arg(long, value_name = "brokerage|bank", default_value_t = crm_load::DemoProfile::Brokerage)]
        profile: crm_load::DemoProfile,
    },
    /// Import a CSV file from a back-office system (formats in schema/import/KIND.md):
    /// organisation, customers, accounts, daily_summaries, market_totals or interactions; from
    /// a bank's core system deposit_accounts, deposit_balances, loan_accounts, loan_positions,
    /// loan_classifications, fee_income, external_facts, cards, e_banking_sign_ups or
    /// wealth_transactions.
    ///
    /// Every row goes through the command path. Rejected rows are printed to stderr with file,
    /// line, column and reason (and written to --reject-file); the other rows are imported.
    /// Importing the same file again changes nothing; an interrupted import is finished by
    /// importing the file again. Exit code: 0 all rows taken, 1 some rows rejected, 2 the file
    /// was refused (not CSV, wrong header, wrong encoding, unreadable) and nothing was written,
    /// 3 the import stopped underneath (store failure; re-run to resume).
    ///
    /// Example: crm import customers customers-2024-03-01.csv --reject-file rejects.csv
    Import(import::ImportArgs),
    /// Print a development bearer token that `crm serve` on the same data directory accepts
    /// (or with the same CRM_JWT_SECRET); `crm token revoke` revokes a staff member's tokens.
    ///
    /// Example: crm token --role branch-manager --scope 0192f0c4-0000-7000-8000-000000000001
    ///
    /// Example: crm token revoke --staff 0192f0c4-… --reason "手机丢失"
    Token(token::TokenArgs),
    /// The data directory's JWT secret: `crm secret rotate` (server stopped) makes the current
    /// secret the previous one, accepted until a grace period ends, and signs with a new one.
    ///
    /// Example: crm secret rotate --data-dir /var/lib/crm --grace-hours 12
    Secret {
        #[command(subcommand)]
        command: secret::SecretCommand,
    },
    /// Replay history: a customer's archive and timeline, a staff member's performance for a
    /// month, or a branch dashboard for a day or month, as the log knew them at an instant
    /// (under the rules in force then). Reads only the log.
    ///
    /// Example: crm replay --customer 0192f0c4-… --as-of 2024-03-01T10:00:00+08:00 --json
    ///
    /// Example: crm replay --staff 0192f0c4-… --month 2024-06 --as-of 2024-07-01T00:00:00Z
    ///
    /// Example: crm replay --branch 0192f0c4-… --date 2024-06-28
    ///
    /// Example: crm replay --period 2024-06   (a sealed appraisal period, derived again)
    Replay(replay::ReplayArgs),
    /// Rebuild the read models from the whole log into a new generation and switch to it
    /// atomically (the previous one is kept for --rollback), under the rules the log activated
    /// or under --rules FILE. With --dry-run, build the new generation and report what it would
    /// change (tier moves per branch and manager, customers changing tier, ranking moves,
    /// churn flags) without switching. Run with the server stopped.
    ///
    /// Example: crm rebuild --rules rules-v2.toml --dry-run
    ///
    /// Example: crm rebuild            (then, to undo: crm rebuild --rollback)
    Rebuild(readside::RebuildArgs),
    /// Rule sets (规则) in the log: propose a rules file, approve or reject it (four eyes: not
    /// by its proposer), activate an approved version, list versions.
    ///
    /// Example: crm rules propose rules-v2.toml --by 0192f0c4-…
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    /// Print the GraphQL schema (SDL).
    ///
    /// Example: crm schema > schema.graphql
    Schema,
    /// Walk the whole log: checksums, the hash chain, ordering and index agreement.
    /// Exits non-zero on any finding, and on a torn tail (reported, not cut: nothing in the
    /// log directory is changed).
    ///
    /// Example: crm verify --data-dir /var/lib/crm --anchor 1024:9f86d0…
    Verify {
        /// POSITION:HASH as `crm anchor` printed it (repeatable): the log must hold a record
        /// at that position with that hash, or the verification fails.
        #[arg(long)]
        anchor: Vec<String>,
    },
    /// Print the log head's anchor, POSITION:HASH, to keep outside the store (a notary, a
    /// ticket): `crm verify --anchor` later proves the log up to it was not rewritten or cut.
    ///
    /// Example: crm anchor --data-dir /var/lib/crm
    Anchor,
    /// Print the log's head, each read-model generation (position, lag, rate, rules version
    /// and hash, whether the server will fold it again), the store's sizes and what opening the
    /// store for writing would repair. Changes nothing in the data directory.
    ///
    /// Example: crm status --data-dir /var/lib/crm
    Status {
        /// The rules used if no read-model generation exists yet [env: CRM_RULES].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Also count what each sled tree holds (entries and bytes of keys and values, a
        /// generation's tree by kind of key): reads the whole index, seconds per GB.
        #[arg(long)]
        trees: bool,
    },
    /// Write a report (报表) from the read models as CSV or XLSX: customers (with the customer
    /// list's filters), leaderboard, branch-ranking, campaigns, campaign-roi, service-quality or
    /// channels.
    /// Reads the data directory alone: with a server running on it, let the server write
    /// reports on a schedule instead ([[reports]] in its configuration, docs/OPERATIONS.md).
    /// The file is written beside --out, synced and renamed, so it is never half-written.
    ///
    /// Example: crm report customers --tier gold --format xlsx --out gold-customers.xlsx
    ///
    /// Example: crm report branch-ranking --period 2026-11 --format csv --encoding gbk --out ranking.csv
    Report(Box<report::ReportArgs>),
    /// Write the whole log as JSON Lines (every envelope field and hash, in log order).
    /// Changes nothing in the data directory (a torn tail is not exported, and not cut).
    /// With --store postgres://…, the log of record in that database instead.
    ///
    /// Example: crm export --data-dir /var/lib/crm log.jsonl
    ///
    /// Example: crm export --store postgres://crm@db/crm log.jsonl
    Export {
        file: PathBuf,
        /// A PostgreSQL log of record to export instead of the data directory's log.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Load an export into an empty store, reproducing positions and the hash chain. With
    /// --store postgres://…, into that database's empty log (moving a log to PostgreSQL).
    ///
    /// Example: crm import-log --data-dir /var/lib/crm-new log.jsonl
    ///
    /// Example: crm import-log --store postgres://crm@db/crm log.jsonl
    ImportLog {
        file: PathBuf,
        /// A PostgreSQL database whose (empty) log receives the export.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Rewrite the index directory (the event index and the read models' generations) into a
    /// new sled database and exchange the two: sled keeps several times what its trees hold
    /// after years of writes. Run with the server stopped; the contents are copied unchanged,
    /// so nothing is re-indexed or folded again. A crash part-way leaves the old index, or the
    /// new one, never neither.
    ///
    /// Example: crm compact --data-dir /var/lib/crm
    Compact,
    /// Copy the log into an empty directory and verify the copy. Works while a server runs.
    ///
    /// Example: crm backup --data-dir /var/lib/crm /backups/crm-2024-03-01
    Backup { dir: PathBuf },
    /// Restore a backup into a data directory that holds no log yet, and verify it.
    ///
    /// Example: crm restore --data-dir /var/lib/crm /backups/crm-2024-03-01
    Restore { dir: PathBuf },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Logs go to stderr, as text or (for log collectors) as JSON lines; RUST_LOG overrides the
/// level (`info` for the server, `warn` for the one-shot commands, whose output is their report).
fn init_tracing(json: bool, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// mimalloc rather than the system allocator: a refold at 100,000 customers spent a quarter of
/// its time in glibc's `_int_malloc` walking a fragmented heap (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` reads its configuration (which says whether logs are JSON) before logging starts.
    let serve = match &cli.command {
        Command::Serve(args) => match config::ServeConfig::resolve(args, cli.data_dir.as_deref()) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    init_tracing(
        serve.as_ref().is_some_and(|c| c.log_json),
        if serve.is_some() { "info" } else { "warn" },
    );
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
    let result = match serve {
        Some(config) => runtime.block_on(server::run(config)),
        None => runtime.block_on(run(cli)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn open(data_dir: &Path) -> anyhow::Result<EventStore> {
    EventStore::open(data_dir, StoreConfig::default())
        .with_context(|| format!("opening the store in {}", data_dir.display()))
}

/// The store opened to read it (`verify`, `export`): nothing in `log/` is changed (a torn tail
/// is reported, not cut); see [`EventStore::open_read_only`].
pub(crate) fn open_read_only(data_dir: &Path) -> anyhow::Result<EventStore> {
    EventStore::open_read_only(data_dir)
        .with_context(|| format!("opening the store in {} read only", data_dir.display()))
}

/// Prints what a writable open would repair in the log directory and a read-only one left
/// alone; true when there is nothing.
fn print_not_repaired(report: &crm_eventstore::RecoveryReport) -> bool {
    if let Some(torn) = &report.torn_tail {
        println!(
            "TORN TAIL at position {} (segment {}, byte {}, {} bytes): {}; left in place (opening \
             for writing, e.g. `crm serve`, cuts it into a quarantine file)",
            torn.position, torn.segment, torn.offset, torn.bytes_truncated, torn.reason
        );
    }
    for what in &report.not_repaired {
        println!("NOT REPAIRED (read only): {what}");
    }
    report.torn_tail.is_none() && report.not_repaired.is_empty()
}

/// The store opened for a bulk load: acknowledged after the write, synced every 200 ms, and
/// synced in full by `close`. A crash may lose the last 200 ms; a demo load is simply re-run.
pub(crate) fn open_bulk(data_dir: &Path) -> anyhow::Result<EventStore> {
    let config = StoreConfig {
        durability: crm_eventstore::Durability::Batched {
            interval: std::time::Duration::from_millis(200),
        },
        ..StoreConfig::default()
    };
    EventStore::open(data_dir, config)
        .with_context(|| format!("opening the store in {}", data_dir.display()))
}

/// `--until`: a date like 2025-06-30 (whether it is in the future is the loader's check).
pub(crate) fn parse_until(s: &str) -> Result<time::Date, String> {
    time::Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("'{s}' is not a date like 2025-06-30"))
}

/// The file in the data directory that says a demo load began there and has not finished.
///
/// Whether a demo directory is complete must come from something durable that the load writes
/// last. The log cannot say it on its own: the demo appends no closing event, and its last
/// command depends on its size and `--until`. A "complete" file written at the end would make
/// every directory loaded before it existed, and every directory filled by `crm import`, look
/// unfinished to `serve --demo`. So the load marks its start instead, and its end is the
/// marker's removal: the file is made durable (file and directory synced) before the first
/// demo event is appended, and removed, the removal made durable by syncing the directory,
/// only after the store is closed, that is after the last demo event is durable. A non-empty
/// log with this file beside it is an interrupted load.
const DEMO_LOADING_FILE: &str = "demo-loading";

/// Whether a demo load into `data_dir` began and did not finish (see [`DEMO_LOADING_FILE`]).
pub(crate) fn demo_interrupted(data_dir: &Path) -> anyhow::Result<bool> {
    let path = data_dir.join(DEMO_LOADING_FILE);
    path.try_exists()
        .with_context(|| format!("looking for {}", path.display()))
}

/// Makes `dir`'s entries (a file created or removed in it) durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    crm_eventstore::sync_dir(dir).with_context(|| format!("syncing {}", dir.display()))
}

/// The directory whose entry names `file`: its parent, or the current directory for a bare
/// name (whose parent is the empty path, which cannot be opened).
fn containing_dir(file: &Path) -> &Path {
    file.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes [`DEMO_LOADING_FILE`] durably.
fn mark_demo_loading(data_dir: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let path = data_dir.join(DEMO_LOADING_FILE);
    std::fs::File::create(&path)
        .and_then(|mut f| {
            f.write_all(
                b"A demo load began in this directory and has not finished: its log holds part \
                  of the demo. Remove the directory and load the demo again.\n",
            )?;
            f.sync_all()
        })
        .with_context(|| format!("writing {}", path.display()))?;
    sync_dir(data_dir)
}

/// Removes [`DEMO_LOADING_FILE`] durably.
fn clear_demo_loading(data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join(DEMO_LOADING_FILE);
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    sync_dir(data_dir)
}

/// The refusal of a data directory whose demo load was interrupted.
pub(crate) fn interrupted_demo_error(
    data_dir: &Path,
    head: crm_eventstore::Position,
) -> anyhow::Error {
    anyhow::anyhow!(
        "the data directory {dir} holds a demo load that was interrupted ({head} events, and \
         {marker} is still there): remove the directory and start again, or run `crm demo` \
         on an empty data directory",
        dir = data_dir.display(),
        marker = DEMO_LOADING_FILE,
    )
}

/// Loads the demo data set into the empty `store` (open on `data_dir`) through the command
/// path, with a progress bar on a terminal and a line every tenth of the days otherwise, then
/// closes the store. [`DEMO_LOADING_FILE`] is there from before the first event until the
/// last is durable.
pub(crate) async fn load_demo(
    data_dir: &Path,
    store: &EventStore,
    config: crm_load::DemoConfig,
) -> anyhow::Result<crm_load::DemoReport> {
    mark_demo_loading(data_dir)?;
    println!(
        "loading the {} demo data set: {} customers, {} {} days up to {}, seed {}",
        config.profile,
        config.customers,
        config.days,
        match config.profile {
            crm_load::DemoProfile::Brokerage => "trading",
            crm_load::DemoProfile::Bank => "calendar",
        },
        config.until,
        config.seed
    );
    let app = crm_app::App::new(store.clone())
        .context("starting the command side")?
        .with_state_cache(config.state_cache_streams());
    let mut bar = progress::Progress::new(
        u64::from(config.days),
        "{msg} [{bar:40}] day {pos}/{len}, {prefix} events/s, eta {eta}",
    );
    let step = (config.days / 10).max(1);
    let report = crm_load::demo(&app, config, |p| {
        bar.update(u64::from(p.days_done), |bar| {
            bar.set_message(p.phase);
            bar.set_prefix(format!("{:.0}", p.events_per_sec));
        });
        if !bar.is_drawn() && (p.days_done == 0 || p.days_done % step == 0) {
            eprintln!(
                "  {}: day {}/{}, {} events ({:.0} events/s)",
                p.phase, p.days_done, p.days_total, p.events, p.events_per_sec
            );
        }
    })
    .await
    .context("loading the demo data set")?;
    bar.finish();
    store.close().await.context("closing the store")?;
    clear_demo_loading(data_dir)?;
    println!("demo loaded: {report}");
    if report.refused > 0 {
        eprintln!(
            "{} demo commands were refused (a generator bug); the first: {:?}",
            report.refused, report.refusals
        );
    }
    Ok(report)
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
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DATA_DIR_DEFAULT));
    let data_dir = data_dir.as_path();
    match &cli.command {
        // Handled in `main` (its configuration is resolved before logging starts).
        Command::Serve(_) => Ok(ExitCode::FAILURE),
        Command::Demo {
            customers,
            days,
            seed,
            until,
            profile,
        } => {
            let config = crm_load::DemoConfig::new(
                *customers,
                *days,
                *seed,
                until.unwrap_or_else(crm_load::demo::today),
            )
            .with_profile(*profile);
            // A date in the future (or out of range) is refused before the directory is made.
            config.check(crm_load::demo::today())?;
            let store = open_bulk(data_dir)?;
            if store.head().0 != 0 {
                if demo_interrupted(data_dir)? {
                    return Err(interrupted_demo_error(data_dir, store.head()));
                }
                anyhow::bail!(
                    "{} already holds {} events; load the demo into an empty data directory",
                    data_dir.display(),
                    store.head()
                );
            }
            let report = load_demo(data_dir, &store, config).await?;
            Ok(if report.refused == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Import(args) => import::run(data_dir, args).await,
        Command::Token(args) => match &args.command {
            Some(token::TokenCommand::Revoke { staff, reason, by }) => {
                token::revoke(data_dir, staff, reason, by.as_deref()).await
            }
            None => {
                let role = args.role.as_deref().context("--role is required")?;
                let actor = server::dev_actor(role, args.scope.as_deref(), args.staff.as_deref())?;
                let secret = secret::jwt_secret(data_dir, std::env::var("CRM_JWT_SECRET").ok())?;
                println!("{}", server::token(&secret, &actor, args.hours)?);
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Secret { command } => secret::run(data_dir, command),
        Command::Replay(args) => {
            let store = open(data_dir)?;
            replay::replay(&store, args)?;
            store.close().await.context("closing the store")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild(args) => readside::rebuild(data_dir, args).await,
        Command::Rules { command } => rules::run(data_dir, command).await,
        Command::Schema => {
            print!("{}", crm_graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { anchor } => {
            // Parsed before anything is opened: a mistyped anchor is a usage error.
            let anchors = anchor
                .iter()
                .map(|a| a.parse::<anchor::Anchor>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--anchor: {e}"))?;
            let store = open_read_only(data_dir)?;
            let report = store.verify().context("walking the log")?;
            let mut ok = print_verify(&report);
            ok &= print_not_repaired(store.recovery_report());
            for a in &anchors {
                match anchor::check(&store, a)? {
                    Ok(()) => println!("anchor {a}: held"),
                    Err(why) => {
                        println!("ANCHOR NOT HELD {a}: {why}");
                        ok = false;
                    }
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Anchor => {
            let store = open(data_dir)?;
            match anchor::head(&store)? {
                Some(a) => println!("{a}"),
                None => anyhow::bail!("the log is empty: nothing to anchor"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { rules, trees } => {
            readside::status(data_dir, rules.as_deref(), *trees).await
        }
        Command::Report(args) => report::run(data_dir, args).await,
        Command::Export {
            file,
            store: Some(url),
        } => nodes::export(url, file).await,
        Command::ImportLog {
            file,
            store: Some(url),
        } => nodes::import(url, file).await,
        Command::Export { file, store: None } => {
            let store = open_read_only(data_dir)?;
            if let Some(torn) = &store.recovery_report().torn_tail {
                eprintln!(
                    "warning: a torn tail from position {} (segment {}, byte {}) is not exported \
                     and left in place; `crm verify` reports it",
                    torn.position, torn.segment, torn.offset
                );
            }
            let out = std::fs::File::create(file)
                .with_context(|| format!("creating {}", file.display()))?;
            let mut writer = BufWriter::new(out);
            let n = store.export_jsonl(&mut writer).context("exporting")?;
            // An export is a copy of the truth: on disk before it says it is done.
            let out = writer
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing {}", file.display()))?;
            out.sync_all()
                .with_context(|| format!("syncing {}", file.display()))?;
            // And its name, in the directory holding it (the current one for a bare name).
            sync_dir(containing_dir(file))?;
            println!("exported {n} records to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportLog { file, store: None } => {
            // The whole file first, against its trailer: a cut or mismatched export imports
            // nothing (the store is not even opened).
            let input =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let trailer = crm_eventstore::check_export(BufReader::new(input))
                .with_context(|| format!("{}: nothing was imported", file.display()))?;
            let store = open(data_dir)?;
            let input =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let n = store
                .import_jsonl(BufReader::new(input))
                .await
                .context("importing")?;
            store.close().await.context("closing the store")?;
            if n != trailer.event_count {
                anyhow::bail!(
                    "imported {n} records, but the trailer of {} counts {} (the file changed \
                     while it was imported?)",
                    file.display(),
                    trailer.event_count
                );
            }
            println!("imported {n} records; head position {}", store.head());
            let report = store.verify().context("verifying")?;
            Ok(if print_verify(&report) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Compact => {
            let report = crm_eventstore::compact_index(data_dir)
                .with_context(|| format!("compacting the index in {}", data_dir.display()))?;
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            println!(
                "index compacted: {:.1} MiB -> {:.1} MiB ({} trees, {} entries copied)",
                mib(report.before_bytes),
                mib(report.after_bytes),
                report.trees,
                report.entries
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dir } => {
            let report = backup::backup(data_dir, dir)?;
            print_copy("backed up", &report, dir);
            Ok(if report.verify.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Restore { dir } => {
            let report = backup::restore(dir, data_dir)?;
            print_copy("restored", &report, data_dir);
            Ok(if report.verify.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_copy(what: &str, report: &backup::CopyReport, to: &Path) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;

    // Whether an fsync made a name durable cannot be observed without a power cut; these check
    // which directory is synced, and that it can be opened to sync it.
    #[test]
    fn the_directory_synced_for_a_file_is_its_parent_or_the_current_one() {
        assert_eq!(containing_dir(Path::new("out.jsonl")), Path::new("."));
        assert_eq!(containing_dir(Path::new("a/b/out.jsonl")), Path::new("a/b"));
        assert_eq!(containing_dir(Path::new("/out.jsonl")), Path::new("/"));
        sync_dir(containing_dir(Path::new("out.jsonl"))).unwrap();
    }

    #[test]
    fn the_demo_marker_is_there_from_the_start_of_a_load_until_its_end() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!demo_interrupted(dir.path()).unwrap());
        mark_demo_loading(dir.path()).unwrap();
        assert!(demo_interrupted(dir.path()).unwrap());
        clear_demo_loading(dir.path()).unwrap();
        assert!(!demo_interrupted(dir.path()).unwrap());
        let refusal = format!(
            "{:#}",
            interrupted_demo_error(dir.path(), crm_eventstore::Position(3))
        );
        assert!(
            refusal.contains(&dir.path().display().to_string()),
            "{refusal}"
        );
        assert!(refusal.contains("interrupted"), "{refusal}");
    }
}
