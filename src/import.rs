//! `crm import KIND FILE`: a back-office CSV file through `crm_load::import`, with progress,
//! every rejected row on stderr (and in the reject file), and an exit code that says what
//! happened (see [`ImportArgs`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use crm_domain::ids::StaffId;
use crm_load::{ImportKind, ImportOptions, LoadError, TextEncoding};

use crate::progress::Progress;

/// Exit codes of `crm import`.
pub const EXIT_ALL_TAKEN: u8 = 0;
pub const EXIT_ROWS_REJECTED: u8 = 1;
pub const EXIT_FILE_REFUSED: u8 = 2;
pub const EXIT_STOPPED: u8 = 3;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EncodingArg {
    /// UTF-8 (with or without BOM), else GBK if the bytes are valid GBK.
    Auto,
    Utf8,
    Gbk,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// organisation, customers, accounts, daily_summaries, market_totals, interactions, or a
    /// bank's deposit_accounts, deposit_balances, loan_accounts, loan_positions,
    /// loan_classifications, fee_income, external_facts, cards, e_banking_sign_ups,
    /// wealth_transactions (see schema/import/).
    pub kind: String,
    /// The CSV file (UTF-8 or GBK), with the header of its kind.
    pub file: PathBuf,
    /// Also write every rejected row here as CSV: reject_line, reject_column, reject_reason,
    /// then the row's original fields.
    #[arg(long, value_name = "F")]
    pub reject_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = EncodingArg::Auto)]
    pub encoding: EncodingArg,
    /// Daily rows (summaries, market totals, deposit balances, loan positions, fee income): a
    /// day already recorded with other figures is corrected (superseded) instead of rejected.
    #[arg(long)]
    pub correction: bool,
    /// Import at most N rows now; importing the same file again later resumes.
    #[arg(long, value_name = "N")]
    pub row_limit: Option<u64>,
    /// The staff id of the person running the import (recorded as the actor); a fixed system
    /// identity per kind if omitted.
    #[arg(long, value_name = "STAFF_UUID")]
    pub by: Option<String>,
}

pub async fn run(data_dir: &Path, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let Some(kind) = ImportKind::parse(&args.kind) else {
        let kinds: Vec<&str> = ImportKind::ALL.iter().map(|k| k.name()).collect();
        eprintln!(
            "error: '{}' is not a kind of import; use one of {}",
            args.kind,
            kinds.join(", ")
        );
        return Ok(ExitCode::from(EXIT_FILE_REFUSED));
    };
    let actor_staff = args
        .by
        .as_deref()
        .map(|s| uuid::Uuid::parse_str(s.trim()).map(StaffId::from))
        .transpose()
        .context("--by is not a staff uuid")?;
    let options = ImportOptions {
        encoding: match args.encoding {
            EncodingArg::Auto => TextEncoding::Auto,
            EncodingArg::Utf8 => TextEncoding::Utf8,
            EncodingArg::Gbk => TextEncoding::Gbk,
        },
        correction: args.correction,
        row_limit: args.row_limit,
        reject_file: args.reject_file.clone(),
        actor_staff,
        ..ImportOptions::default()
    };
    let store = crate::open(data_dir)?;
    let app = crm_app::App::new(store.clone()).context("starting the command side")?;
    let mut bar = Progress::new(
        0,
        "{msg} [{bar:40}] {pos}/{len} rows, {prefix} rows/s, eta {eta}",
    );
    bar.update(0, |b| b.set_message(kind.name()));
    let result = crm_load::import(&app, kind, &args.file, options, |p| {
        if let Some(total) = p.rows_total {
            bar.update(p.rows_done, |b| {
                b.set_length(total);
                b.set_prefix(format!("{:.0}", p.rows_per_sec));
            });
        }
        if bar.line_due() || p.rows_total == Some(p.rows_done) && !bar.is_drawn() {
            eprintln!(
                "progress: {} rows of {} done ({:.0} rows/s)",
                p.rows_done,
                p.rows_total.map_or("?".to_owned(), |t| t.to_string()),
                p.rows_per_sec
            );
        }
    })
    .await;
    bar.finish();
    let closed = store.close().await.context("closing the store");
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(match e {
                LoadError::Io { .. }
                | LoadError::TooLarge { .. }
                | LoadError::Encoding { .. }
                | LoadError::NotCsv { .. }
                | LoadError::Header { .. } => EXIT_FILE_REFUSED,
                _ => EXIT_STOPPED,
            }));
        }
    };
    closed?;
    if let Some(note) = &report.encoding_note {
        eprintln!("note: {note}");
    }
    for reject in &report.rejects {
        eprintln!("rejected: {reject}");
    }
    let unlisted = report.rejected.saturating_sub(report.rejects.len() as u64);
    if unlisted > 0 {
        eprintln!(
            "... and {unlisted} more rejected rows{}",
            match &args.reject_file {
                Some(f) => format!(" (all are in {})", f.display()),
                None => " (use --reject-file to keep them all)".to_owned(),
            }
        );
    }
    println!("imported {report}");
    if let Some(f) = &args.reject_file {
        println!(
            "{} rejected rows written to {}",
            report.rejected,
            f.display()
        );
    }
    Ok(ExitCode::from(if report.rejected == 0 {
        EXIT_ALL_TAKEN
    } else {
        EXIT_ROWS_REJECTED
    }))
}
