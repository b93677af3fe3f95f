//! The back-office CSV import (后台业务系统数据导入): organisation, customers, accounts, daily
//! trade summaries, market totals and interactions, and from a bank's core banking system
//! (核心系统) deposit accounts and balances, loans, their positions and classifications, fee
//! income, external data, cards, e-banking sign-ups and wealth-product transactions; one CSV
//! format each (see `schema/import/<kind>.md`).
//!
//! A file is checked as a whole before the first command is sent: its encoding (UTF-8 with or
//! without BOM, or GBK, detected or named), that it is CSV, and that its header has the
//! format's columns. A file that fails any of these is refused with the problem named, and
//! nothing is written. Then every row is parsed; a row that does not parse, or whose command
//! the domain refuses, is a reject with file, line, column and reason, and the other rows go
//! on.
//!
//! Idempotent and resumable: each command id is derived from the kind, the row's business key
//! and the row's content, and the ids of new entities from their business keys (see
//! [`crate::ids`]). Importing a file again sends the same command ids, which crm-app answers
//! with their first result, so nothing changes; an import cut short (a row limit, a crash,
//! the future dropped) is finished by importing the same file again.
//!
//! Actors, each the least powerful role `crm_domain::auth` allows for the commands:
//! organisation, customers and accounts need headquarters (`Role::Headquarters`, company
//! scope: registering customers, opening accounts and assigning them in every branch, and
//! managing every region's organisation, is granted to no narrower role); daily summaries and
//! market totals need `Right::ImportBackOffice`, held by the operator (`Role::Operator`);
//! interactions need `Right::RecordInteraction` for any customer, held by a service agent
//! with company scope (`Role::ServiceAgent`). The bank's kinds (a customer's cards, e-banking
//! sign-ups and wealth transactions among them) need `Right::RecordBankFacts`, held by the
//! operator, except loan classifications: `Right::ClassifyLoan` for a loan of any
//! outlet is headquarters'.

mod bank_formats;
mod bank_service_formats;
mod formats;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crm_app::{App, CommandEnvelope};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::StaffId;
use csv::StringRecord;

use crate::error::{HeaderProblems, LoadError};
use crate::ids;
use crate::lanes::{self, Item, Step};

/// Rows (lanes) in flight at once: enough to fill the store's group commits, few enough that
/// a file of one big aggregate does not hold hundreds of idle tasks.
pub const IMPORT_IN_FLIGHT_MAX: usize = 64;
/// Rejects listed in the report; all of them go to the reject file and the count is exact.
pub const REJECTS_LISTED_MAX: usize = 10_000;
/// Largest file imported: a file is read and parsed whole before its first command (that is
/// what lets a bad header or encoding refuse it with nothing written), so its size bounds the
/// memory an import takes (roughly ten times the file). Larger exports are split by date or
/// account range; every part imports independently.
pub const FILE_BYTES_MAX: u64 = 1 << 30;
/// Least time between two progress calls.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    /// Regions, branches, teams and staff (组织机构与员工).
    Organisation,
    /// Customers with their identity documents, optionally assigned (客户资料).
    Customers,
    /// Fund, securities and credit accounts opened for customers (账户).
    Accounts,
    /// One row per account and trade date (日终交易汇总).
    DailySummaries,
    /// Market-wide turnover per trade date and market (全市场成交额).
    MarketTotals,
    /// Contacts with customers (接触记录).
    Interactions,
    /// Deposit accounts opened (and closed) in the core banking system (存款账户).
    DepositAccounts,
    /// One row per deposit account and day: its end-of-day balance (存款日终余额).
    DepositBalances,
    /// Loan contracts with their disbursement, schedule and closing (贷款账户).
    LoanAccounts,
    /// One row per loan and day: balance and days overdue (贷款日终头寸).
    LoanPositions,
    /// Moves of loans between the five classes (五级分类调整).
    LoanClassifications,
    /// One row per customer, day and fee type (中间业务收入).
    FeeIncome,
    /// Credit reports, business registry and tax records of customers (征信/工商/税务).
    ExternalFacts,
    /// Bank cards issued (and cancelled) to customers (银行卡).
    Cards,
    /// E-banking and mobile-banking sign-ups (and their cancellations) (电子银行签约).
    EBankingSignUps,
    /// Subscriptions and redemptions of wealth-management products (理财产品交易).
    WealthTransactions,
}

impl ImportKind {
    /// Every kind, in an order that imports (the dependencies of each come before it).
    pub const ALL: [ImportKind; 16] = [
        ImportKind::Organisation,
        ImportKind::Customers,
        ImportKind::Accounts,
        ImportKind::DailySummaries,
        ImportKind::MarketTotals,
        ImportKind::Interactions,
        ImportKind::DepositAccounts,
        ImportKind::DepositBalances,
        ImportKind::LoanAccounts,
        ImportKind::LoanPositions,
        ImportKind::LoanClassifications,
        ImportKind::FeeIncome,
        ImportKind::ExternalFacts,
        ImportKind::Cards,
        ImportKind::EBankingSignUps,
        ImportKind::WealthTransactions,
    ];

    /// The name used on the command line and in `schema/import/<name>.md`.
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Organisation => "organisation",
            ImportKind::Customers => "customers",
            ImportKind::Accounts => "accounts",
            ImportKind::DailySummaries => "daily_summaries",
            ImportKind::MarketTotals => "market_totals",
            ImportKind::Interactions => "interactions",
            ImportKind::DepositAccounts => "deposit_accounts",
            ImportKind::DepositBalances => "deposit_balances",
            ImportKind::LoanAccounts => "loan_accounts",
            ImportKind::LoanPositions => "loan_positions",
            ImportKind::LoanClassifications => "loan_classifications",
            ImportKind::FeeIncome => "fee_income",
            ImportKind::ExternalFacts => "external_facts",
            ImportKind::Cards => "cards",
            ImportKind::EBankingSignUps => "e_banking_sign_ups",
            ImportKind::WealthTransactions => "wealth_transactions",
        }
    }

    /// The kind named `name` (as [`ImportKind::name`] spells it; `-` may stand for `_`).
    pub fn parse(name: &str) -> Option<ImportKind> {
        let name = name.trim().replace('-', "_");
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The format's columns: those the header must have, and those it may have.
    pub fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        let spec = formats::spec(self);
        (spec.required, spec.optional)
    }

    /// Whether rows of this kind are a day's figures, which `--correction` may supersede
    /// ([`ImportOptions::correction`]). For the other kinds the option changes nothing: their
    /// rows are sent with the same command ids as without it, so a file imported once with it
    /// and once without records nothing twice (a wealth subscription, a loan's disbursement).
    pub fn takes_corrections(self) -> bool {
        matches!(
            self,
            ImportKind::DailySummaries
                | ImportKind::MarketTotals
                | ImportKind::DepositBalances
                | ImportKind::LoanPositions
                | ImportKind::FeeIncome
        )
    }

    /// The role imports of this kind act as (see the module documentation).
    pub fn actor_role(self) -> Role {
        match self {
            ImportKind::Organisation
            | ImportKind::Customers
            | ImportKind::Accounts
            | ImportKind::LoanClassifications => Role::Headquarters,
            ImportKind::DailySummaries
            | ImportKind::MarketTotals
            | ImportKind::DepositAccounts
            | ImportKind::DepositBalances
            | ImportKind::LoanAccounts
            | ImportKind::LoanPositions
            | ImportKind::FeeIncome
            | ImportKind::ExternalFacts
            | ImportKind::Cards
            | ImportKind::EBankingSignUps
            | ImportKind::WealthTransactions => Role::Operator,
            ImportKind::Interactions => Role::ServiceAgent,
        }
    }

    /// The actor imports of this kind use: `staff` if given (the person running the import),
    /// otherwise a fixed system identity per role, so re-runs record the same actor.
    pub fn actor(self, staff: Option<StaffId>) -> Actor {
        let role = self.actor_role();
        Actor {
            staff_id: staff.unwrap_or_else(|| {
                StaffId::from(ids::derive(&[
                    b"import-actor",
                    format!("{role:?}").as_bytes(),
                ]))
            }),
            role,
            scope: Scope::Company,
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8 if the bytes are valid UTF-8 (a BOM is skipped), otherwise GBK if they are
    /// valid GBK (the report says so), otherwise refused.
    #[default]
    Auto,
    Utf8,
    /// GBK (as encoding_rs decodes it: the GB18030 superset, which Windows exports use).
    Gbk,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub encoding: TextEncoding,
    /// Send daily rows (summaries, market totals, deposit balances, loan positions, fee
    /// income) as corrections: a recorded day with different figures is superseded (a
    /// correction event) instead of refused.
    pub correction: bool,
    /// Read at most this many data rows, then stop (the rest is left for a later run of the
    /// same file, which resumes).
    pub row_limit: Option<u64>,
    /// Write every rejected row here as CSV: `reject_line, reject_column, reject_reason`,
    /// then the row's original fields.
    pub reject_file: Option<PathBuf>,
    /// The staff member running the import; None for the kind's system identity.
    pub actor_staff: Option<StaffId>,
    /// Rows in flight at once (see [`IMPORT_IN_FLIGHT_MAX`]).
    pub in_flight_max: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            encoding: TextEncoding::Auto,
            correction: false,
            row_limit: None,
            reject_file: None,
            actor_staff: None,
            in_flight_max: IMPORT_IN_FLIGHT_MAX,
        }
    }
}

/// Handed to the progress callback as rows finish.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportProgress {
    pub rows_done: u64,
    /// Known once the file is parsed (always, since it is parsed before the first command).
    pub rows_total: Option<u64>,
    pub rows_per_sec: f64,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub file: PathBuf,
    /// 1-based line where the row starts (the header is line 1).
    pub line: u64,
    /// The column to blame, when one is.
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RejectedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(column) = &self.column {
            write!(f, "column {column}: ")?;
        }
        f.write_str(&self.reason)
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub file: PathBuf,
    /// The encoding the file was read in (`Utf8` or `Gbk`).
    pub encoding: TextEncoding,
    /// Set when the encoding was detected rather than named, and was not UTF-8.
    pub encoding_note: Option<String>,
    /// Data rows read (up to the row limit).
    pub rows_read: u64,
    /// Rows whose commands recorded something.
    pub imported: u64,
    /// Rows already recorded (a re-import, a repeated row): nothing changed.
    pub unchanged: u64,
    pub rejected: u64,
    /// Events written by this run.
    pub events: u64,
    /// True when the row limit stopped the import before the end of the file.
    pub rows_left: bool,
    /// The rejected rows in line order (at most [`REJECTS_LISTED_MAX`]).
    pub rejects: Vec<RejectedRow>,
    pub seconds: f64,
}

/// One phase's lanes in order of first appearance, and each lane's index by its key.
type PhaseLanes = (Vec<Vec<Item<usize>>>, HashMap<String, usize>);

impl fmt::Display for ImportReport {
    /// One line for a terminal or a log: what was read and what became of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {:?}): {} rows read, {} imported, {} unchanged, {} rejected; {} events in \
             {:.1} s",
            self.file.display(),
            self.kind,
            self.encoding,
            self.rows_read,
            self.imported,
            self.unchanged,
            self.rejected,
            self.events,
            self.seconds
        )?;
        if self.rows_left {
            f.write_str("; stopped at the row limit, more rows follow")?;
        }
        Ok(())
    }
}

/// A parsed row waiting for its commands' outcomes.
struct RowMeta {
    line: u64,
    record: StringRecord,
    labels: Vec<&'static str>,
}

/// Imports `path` as a file of `kind` through `app`; see the module documentation.
///
/// `progress` is called as rows finish (at most every 100 ms, and once at the end). Dropping
/// the returned future interrupts the import safely: every command either was recorded or not,
/// and importing the same file again finishes the job.
pub async fn import(
    app: &App,
    kind: ImportKind,
    path: &Path,
    options: ImportOptions,
    mut progress: impl FnMut(ImportProgress),
) -> Result<ImportReport, LoadError> {
    let started = Instant::now();
    let file = path.to_path_buf();
    let io = |source| LoadError::Io {
        path: file.clone(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > FILE_BYTES_MAX {
        return Err(LoadError::TooLarge {
            path: file,
            bytes: size,
            max: FILE_BYTES_MAX,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    if let Some(offset) = bytes.iter().position(|b| *b == 0) {
        let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
        return Err(LoadError::NotCsv {
            path: file,
            reason: if utf16 {
                "it is UTF-16 text (save it as CSV in UTF-8 or GBK)".into()
            } else {
                format!("it holds binary data (a NUL byte at offset {offset})")
            },
        });
    }
    let (text, encoding, encoding_note) =
        decode(&bytes, options.encoding).map_err(|reason| LoadError::Encoding {
            path: file.clone(),
            reason,
        })?;
    if text.trim().is_empty() {
        return Err(LoadError::NotCsv {
            path: file,
            reason: "it is empty (not even a header)".into(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| LoadError::NotCsv {
            path: file.clone(),
            reason: e.to_string(),
        })?
        .clone();
    let columns = check_header(kind, &header).map_err(|problems| LoadError::Header {
        path: file.clone(),
        kind: kind.name(),
        problems: Box::new(problems),
    })?;

    let actor = kind.actor(options.actor_staff);
    let correction = options.correction && kind.takes_corrections();
    let correlation_id = ids::derive(&[b"import-file", kind.name().as_bytes(), &bytes]);
    let mut report = ImportReport {
        kind,
        file: file.clone(),
        encoding,
        encoding_note,
        rows_read: 0,
        imported: 0,
        unchanged: 0,
        rejected: 0,
        events: 0,
        rows_left: false,
        rejects: Vec::new(),
        seconds: 0.0,
    };
    let mut rejects: Vec<(u64, StringRecord, Option<String>, String)> = Vec::new();
    let mut metas: Vec<RowMeta> = Vec::new();
    // Phase → lanes in order of first appearance, with each lane's key.
    let mut phases: BTreeMap<u8, PhaseLanes> = BTreeMap::new();

    let mut record = StringRecord::new();
    loop {
        if options
            .row_limit
            .is_some_and(|limit| report.rows_read >= limit)
        {
            report.rows_left = matches!(reader.read_record(&mut record), Ok(true) | Err(_));
            break;
        }
        let read = reader.read_record(&mut record);
        let line = record.position().map_or(0, |p| p.line());
        match read {
            Ok(false) => break,
            Err(e) => {
                report.rows_read += 1;
                let line = e.position().map_or(line, |p| p.line());
                rejects.push((line, record.clone(), None, format!("not valid CSV: {e}")));
                continue;
            }
            Ok(true) => {}
        }
        report.rows_read += 1;
        if record.len() != header.len() {
            rejects.push((
                line,
                record.clone(),
                None,
                format!(
                    "has {} fields, the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let row = formats::Row {
            record: &record,
            columns: &columns,
        };
        let planned = match formats::plan(kind, &row, correction, actor.staff_id) {
            Ok(p) => p,
            Err(bad) => {
                rejects.push((
                    line,
                    record.clone(),
                    bad.column.map(str::to_owned),
                    bad.reason,
                ));
                continue;
            }
        };
        let command_id = |label: &str, columns: Option<&[&'static str]>| {
            let content = content_hash(&row, kind, columns);
            ids::derive(&[
                b"import",
                kind.name().as_bytes(),
                planned.key.as_bytes(),
                label.as_bytes(),
                if correction { b"correction" } else { b"" },
                content.as_bytes(),
            ])
        };
        let envelope = |label: &str, columns, at, command| CommandEnvelope {
            command_id: command_id(label, columns),
            actor,
            correlation_id: Some(correlation_id),
            causation_id: None,
            occurred_at: at,
            command,
        };
        let mut labels = Vec::with_capacity(planned.steps.len());
        let steps = planned
            .steps
            .into_iter()
            .map(|s| {
                labels.push(s.label);
                Step {
                    envelope: envelope(s.label, s.columns, s.at, s.command),
                    if_exists: s
                        .if_exists
                        .map(|c| envelope(&format!("{}/if-exists", s.label), s.columns, s.at, c)),
                }
            })
            .collect();
        let tag = metas.len();
        metas.push(RowMeta {
            line,
            record: record.clone(),
            labels,
        });
        let (lanes, index) = phases.entry(planned.phase).or_default();
        let lane = *index.entry(planned.lane).or_insert_with(|| {
            lanes.push(Vec::new());
            lanes.len() - 1
        });
        if let Some(lane) = lanes.get_mut(lane) {
            lane.push(Item { tag, steps });
        }
    }

    let total = report.rows_read;
    let mut done = rejects.len() as u64;
    let running = Instant::now();
    let mut last_progress = running;
    let rate = |done: u64| done as f64 / running.elapsed().as_secs_f64().max(1e-3);
    progress(ImportProgress {
        rows_done: done,
        rows_total: Some(total),
        rows_per_sec: 0.0,
    });
    for (_, (lanes, _)) in phases {
        lanes::run(app, lanes, options.in_flight_max, |tag, outcome| {
            done += 1;
            report.events += outcome.events;
            match (outcome.failure, metas.get_mut(tag)) {
                (None, _) if outcome.events > 0 => report.imported += 1,
                (None, _) => report.unchanged += 1,
                (Some((step, error)), Some(meta)) => {
                    let reason = match meta.labels.get(step) {
                        Some(label) if meta.labels.len() > 1 => format!("{label}: {error}"),
                        _ => error.to_string(),
                    };
                    rejects.push((meta.line, std::mem::take(&mut meta.record), None, reason));
                }
                (Some((_, error)), None) => {
                    rejects.push((0, StringRecord::new(), None, error.to_string()));
                }
            }
            if last_progress.elapsed() >= PROGRESS_INTERVAL {
                last_progress = Instant::now();
                progress(ImportProgress {
                    rows_done: done,
                    rows_total: Some(total),
                    rows_per_sec: rate(done),
                });
            }
        })
        .await?;
    }
    progress(ImportProgress {
        rows_done: done,
        rows_total: Some(total),
        rows_per_sec: rate(done),
    });

    rejects.sort_by_key(|r| r.0);
    report.rejected = rejects.len() as u64;
    if let Some(reject_path) = &options.reject_file {
        write_rejects(reject_path, &header, &rejects)?;
    }
    report.rejects = rejects
        .into_iter()
        .take(REJECTS_LISTED_MAX)
        .map(|(line, _, column, reason)| RejectedRow {
            file: file.clone(),
            line,
            column,
            reason,
        })
        .collect();
    report.seconds = started.elapsed().as_secs_f64();
    tracing::info!(%report, "import finished");
    Ok(report)
}

/// A hash of the row's cells (`columns`, or all of the format's) in the format's column order
/// (absent columns empty, cells trimmed), so a row moved to another place in the file, or a
/// file with its columns in another order, sends the same command ids.
fn content_hash(
    row: &formats::Row<'_>,
    kind: ImportKind,
    columns: Option<&[&'static str]>,
) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    let all: Vec<&'static str> = formats::spec(kind).columns().collect();
    for column in columns.unwrap_or(&all) {
        let cell = row.get(column);
        hasher.update(&(cell.len() as u64).to_le_bytes());
        hasher.update(cell.as_bytes());
    }
    hasher.finalize()
}

/// The message of a header error: what is missing, unexpected or duplicated, and what the
/// format's columns are.
fn header_detail(
    kind: ImportKind,
    missing: &[String],
    unexpected: &[String],
    duplicated: &[String],
) -> String {
    let mut parts = Vec::new();
    for (what, names) in [
        ("missing", missing),
        ("unexpected", unexpected),
        ("duplicated", duplicated),
    ] {
        if !names.is_empty() {
            parts.push(format!("{what} columns: {}", names.join(", ")));
        }
    }
    let (required, optional) = kind.columns();
    parts.push(format!(
        "a {kind} file has the columns {} and optionally {}",
        required.join(", "),
        if optional.is_empty() {
            "none".to_owned()
        } else {
            optional.join(", ")
        }
    ));
    parts.join("; ")
}

/// Maps the format's columns to their index in the header, or names what is wrong with it.
fn check_header(
    kind: ImportKind,
    header: &StringRecord,
) -> Result<HashMap<&'static str, usize>, HeaderProblems> {
    let spec = formats::spec(kind);
    let mut columns = HashMap::new();
    let mut missing = Vec::new();
    let mut unexpected = Vec::new();
    let mut duplicated: Vec<String> = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}').to_lowercase();
        match spec.columns().find(|c| *c == name) {
            Some(c) => {
                if columns.insert(c, i).is_some() && !duplicated.iter().any(|d| d == c) {
                    duplicated.push(c.to_owned());
                }
            }
            None => unexpected.push(if name.is_empty() {
                format!("(empty, column {})", i + 1)
            } else {
                name
            }),
        }
    }
    for c in spec.required {
        if !columns.contains_key(c) {
            missing.push((*c).to_owned());
        }
    }
    if missing.is_empty() && unexpected.is_empty() && duplicated.is_empty() {
        Ok(columns)
    } else {
        Err(HeaderProblems {
            detail: header_detail(kind, &missing, &unexpected, &duplicated),
            missing,
            unexpected,
            duplicated,
        })
    }
}

/// The line (1-based) holding byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes
        .get(..offset)
        .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
        + 1
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes the file: the text, the encoding used, and a note when GBK was detected.
fn decode(
    bytes: &[u8],
    requested: TextEncoding,
) -> Result<(String, TextEncoding, Option<String>), String> {
    let utf8 = |bytes: &[u8]| -> Result<String, String> {
        let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        std::str::from_utf8(body).map(str::to_owned).map_err(|e| {
            let offset = e.valid_up_to() + (bytes.len() - body.len());
            format!(
                "not valid UTF-8: byte 0x{:02X} at line {} (offset {offset})",
                bytes.get(offset).copied().unwrap_or(0),
                line_of(bytes, offset)
            )
        })
    };
    let gbk = |bytes: &[u8]| -> Result<String, String> {
        if bytes.starts_with(UTF8_BOM) {
            return Err("not GBK: the file starts with a UTF-8 byte-order mark".into());
        }
        match encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(text) => Ok(text.into_owned()),
            None => {
                // Find the first undecodable sequence to name its line.
                let (text, _) = encoding_rs::GBK.decode_without_bom_handling(bytes);
                let line = text
                    .find('\u{FFFD}')
                    .map_or(1, |i| text[..i].matches('\n').count() + 1);
                Err(format!("not valid GBK: undecodable bytes at line {line}"))
            }
        }
    };
    match requested {
        TextEncoding::Utf8 => utf8(bytes).map(|t| (t, TextEncoding::Utf8, None)),
        TextEncoding::Gbk => gbk(bytes).map(|t| (t, TextEncoding::Gbk, None)),
        TextEncoding::Auto => match utf8(bytes) {
            Ok(text) => Ok((text, TextEncoding::Utf8, None)),
            Err(not_utf8) => match gbk(bytes) {
                Ok(text) => Ok((
                    text,
                    TextEncoding::Gbk,
                    Some(format!("the file is {not_utf8}; it was read as GBK")),
                )),
                Err(not_gbk) => Err(format!("the file is {not_utf8}, and {not_gbk}")),
            },
        },
    }
}

fn write_rejects(
    path: &Path,
    header: &StringRecord,
    rejects: &[(u64, StringRecord, Option<String>, String)],
) -> Result<(), LoadError> {
    let fail = |e: &dyn fmt::Display| LoadError::RejectFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| fail(&e))?;
    let mut head = vec!["reject_line", "reject_column", "reject_reason"];
    head.extend(header.iter());
    writer.write_record(&head).map_err(|e| fail(&e))?;
    for (line, record, column, reason) in rejects {
        let line = line.to_string();
        let mut fields = vec![line.as_str(), column.as_deref().unwrap_or(""), reason];
        fields.extend(record.iter());
        writer.write_record(&fields).map_err(|e| fail(&e))?;
    }
    writer.flush().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_reads_utf8_with_and_without_bom_and_falls_back_to_gbk() {
        let (t, e, note) = decode(b"\xEF\xBB\xBFa,b\n", TextEncoding::Auto).unwrap_or_default();
        assert_eq!((t.as_str(), e, note), ("a,b\n", TextEncoding::Utf8, None));
        let (gbk_bytes, _, _) = encoding_rs::GBK.encode("名称\n张三\n");
        let (t, e, note) = decode(&gbk_bytes, TextEncoding::Auto).unwrap_or_default();
        assert_eq!((t.as_str(), e), ("名称\n张三\n", TextEncoding::Gbk));
        assert!(note.is_some_and(|n| n.contains("read as GBK")));
        let err = decode(&gbk_bytes, TextEncoding::Utf8)
            .err()
            .unwrap_or_default();
        assert_eq!(err, "not valid UTF-8: byte 0xC3 at line 1 (offset 0)");
        // 0xFF is neither UTF-8 nor the start of a GBK sequence.
        let err = decode(b"a\nb\xFF\n", TextEncoding::Auto)
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("line 2") && err.contains("not valid GBK"),
            "{err}"
        );
    }
}
