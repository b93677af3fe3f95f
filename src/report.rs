//! `crm report KIND [filters] --format csv|xlsx --out FILE`, and the reports `crm serve`
//! writes on a schedule (`[[reports]]` in its configuration). A report is written to a
//! temporary file beside its name, synced, then renamed: a file under the final name is
//! always whole.

use std::fmt::Debug;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use crm_domain::customer::{CustomerKind, Lifecycle};
use crm_domain::ids::{BranchId, RegionId, StaffId, TeamId};
use crm_domain::Money;
use crm_eventstore::EventStore;
use crm_projections::reports::schedule::{self, When};
use crm_projections::reports::{
    self, CsvEncoding, CsvSink, ReportKind, ReportPeriod, ReportRequest, XlsxSink,
};
use crm_projections::views::SegmentFilter;
use crm_projections::{ChurnRisk, Projections, RiskPreference, Tier};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// A report's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The filters of a report, as flags (`crm report`) or as `[reports.filters]` keys: the
/// customer list's (the GraphQL `customers` filter); a branch, team or region also narrows
/// the leaderboard, a branch the campaigns and service quality.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterArgs {
    /// Branch id.
    #[arg(long)]
    pub branch: Option<String>,
    /// Region id.
    #[arg(long)]
    pub region: Option<String>,
    /// Customer manager (staff) id.
    #[arg(long)]
    pub manager: Option<String>,
    /// Team id.
    #[arg(long)]
    pub team: Option<String>,
    /// standard, silver, gold or diamond.
    #[arg(long)]
    pub tier: Option<String>,
    /// conservative, balanced, aggressive or unknown.
    #[arg(long)]
    pub risk_preference: Option<String>,
    /// low, medium, high or churned.
    #[arg(long)]
    pub churn_risk: Option<String>,
    /// prospect, active, dormant, churned, closed or merged.
    #[arg(long)]
    pub lifecycle: Option<String>,
    /// individual or institutional.
    #[arg(long)]
    pub customer_kind: Option<String>,
    /// Only key customers (true) or only the others (false).
    #[arg(long)]
    pub key_customer: Option<bool>,
    /// Assets of at least this many yuan.
    #[arg(long)]
    pub min_assets: Option<String>,
    /// Part of the name, or the start of the customer id.
    #[arg(long)]
    pub text: Option<String>,
    /// The date churn risk is evaluated at (YYYY-MM-DD) [default: the log's latest].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
}

fn id(field: &str, v: &Option<String>) -> anyhow::Result<Option<Uuid>> {
    v.as_deref()
        .map(|s| Uuid::parse_str(s.trim()).with_context(|| format!("{field} '{s}' is not an id")))
        .transpose()
}

/// The value of `all` whose name, ignoring case, '-' and '_', is `s`.
fn one_of<T: Debug + Copy>(
    field: &str,
    s: &Option<String>,
    all: &[T],
) -> anyhow::Result<Option<T>> {
    let norm = |x: &str| x.to_ascii_lowercase().replace(['-', '_'], "");
    let Some(s) = s else { return Ok(None) };
    all.iter()
        .find(|v| norm(&format!("{v:?}")) == norm(s.trim()))
        .copied()
        .map(Some)
        .with_context(|| {
            let names: Vec<String> = all.iter().map(|v| norm(&format!("{v:?}"))).collect();
            format!("{field} '{s}' is not one of {}", names.join(", "))
        })
}

impl FilterArgs {
    /// The customer-list filter these name.
    pub fn segment_filter(&self) -> anyhow::Result<SegmentFilter> {
        use Lifecycle as L;
        Ok(SegmentFilter {
            branch: id("branch", &self.branch)?.map(BranchId::from),
            region: id("region", &self.region)?.map(RegionId::from),
            manager: id("manager", &self.manager)?.map(StaffId::from),
            team: id("team", &self.team)?.map(TeamId::from),
            tier: one_of("tier", &self.tier, &Tier::ALL)?,
            risk_preference: one_of(
                "risk preference",
                &self.risk_preference,
                &[
                    RiskPreference::Conservative,
                    RiskPreference::Balanced,
                    RiskPreference::Aggressive,
                    RiskPreference::Unknown,
                ],
            )?,
            churn_risk: one_of(
                "churn risk",
                &self.churn_risk,
                &[
                    ChurnRisk::Low,
                    ChurnRisk::Medium,
                    ChurnRisk::High,
                    ChurnRisk::Churned,
                ],
            )?,
            lifecycle: one_of(
                "lifecycle",
                &self.lifecycle,
                &[
                    L::Prospect,
                    L::Active,
                    L::Dormant,
                    L::Churned,
                    L::Closed,
                    L::Merged,
                ],
            )?,
            kind: one_of(
                "customer kind",
                &self.customer_kind,
                &[CustomerKind::Individual, CustomerKind::Institutional],
            )?,
            key_customer: self.key_customer,
            min_assets: self
                .min_assets
                .as_deref()
                .map(|s| Money::parse(s).map_err(|e| anyhow::anyhow!("min assets '{s}': {e}")))
                .transpose()?,
            text: self.text.clone().filter(|t| !t.trim().is_empty()),
            as_of: self
                .as_of
                .as_deref()
                .map(crate::parse_until)
                .transpose()
                .map_err(|e| anyhow::anyhow!("as of: {e}"))?,
        })
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// customers, leaderboard, branch-ranking, campaigns, campaign-roi, service-quality or
    /// channels.
    pub kind: String,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// The leaderboard's or branch ranking's period: 2026-11 (a month), 2026-11-30 (a day,
    /// the ranking only), 2026-Q4 or 2026-11-ytd (the leaderboard only) [default: the month
    /// of the read models' latest business date].
    #[arg(long)]
    pub period: Option<String>,
    #[arg(long, value_enum)]
    pub format: Format,
    /// The CSV's encoding: utf8 (with a byte-order mark, the default) or gbk.
    #[arg(long, default_value = "utf8")]
    pub encoding: String,
    /// The file to write (replaced whole, never left half-written).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The rules used if no read-model generation exists yet [env: CRM_RULES].
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

/// Writes the report `request` into `out`: a temporary file in the same directory, synced,
/// renamed over `out`, the directory synced. Returns the rows written.
pub fn write_file(
    p: &Projections,
    request: &ReportRequest,
    format: Format,
    encoding: CsvEncoding,
    out: &Path,
) -> anyhow::Result<u64> {
    let dir = crate::containing_dir(out);
    let name = out
        .file_name()
        .with_context(|| format!("{} names no file", out.display()))?;
    let temp = dir.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = write_temp(p, request, format, encoding, dir, &temp);
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    let rows = written?;
    std::fs::rename(&temp, out)
        .with_context(|| format!("renaming {} to {}", temp.display(), out.display()))?;
    crate::sync_dir(dir)?;
    Ok(rows)
}

fn write_temp(
    p: &Projections,
    request: &ReportRequest,
    format: Format,
    encoding: CsvEncoding,
    dir: &Path,
    temp: &Path,
) -> anyhow::Result<u64> {
    let file =
        std::fs::File::create(temp).with_context(|| format!("creating {}", temp.display()))?;
    let (rows, out) = match format {
        Format::Csv => {
            let mut sink = CsvSink::new(BufWriter::new(file), encoding)?;
            let rows = reports::write(p, request, &mut sink)?;
            (rows, sink.finish()?)
        }
        Format::Xlsx => {
            let mut sink = XlsxSink::new(dir)?;
            let rows = reports::write(p, request, &mut sink)?;
            (rows, sink.finish(BufWriter::new(file))?)
        }
    };
    let mut file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", temp.display()))?;
    file.flush()?;
    file.sync_all()
        .with_context(|| format!("syncing {}", temp.display()))?;
    Ok(rows)
}

/// The refusal when a server holds the data directory.
fn held_by_server(data_dir: &Path, e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<crm_eventstore::StoreError>() {
        Some(crm_eventstore::StoreError::DataDirLocked { holder_pid, .. }) => anyhow::anyhow!(
            "the data directory {} is in use by a running server ({}holds its lock): `crm \
             report` reads the read models alone. Stop the server, or let it write the report \
             on a schedule: [[reports]] in its configuration (docs/OPERATIONS.md, \"Reports\")",
            data_dir.display(),
            holder_pid.map_or(String::new(), |pid| format!("process {pid} ")),
        ),
        _ => e,
    }
}

/// `crm report`.
pub async fn run(data_dir: &Path, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    // Everything is checked before the data directory is opened.
    let kind: ReportKind = args.kind.parse()?;
    let encoding: CsvEncoding = args.encoding.parse()?;
    if encoding == CsvEncoding::Gbk && args.format != Format::Csv {
        anyhow::bail!("--encoding is for CSV; an XLSX file is always Unicode");
    }
    let period: Option<ReportPeriod> = args.period.as_deref().map(str::parse).transpose()?;
    if period.is_some() && !kind.has_period() {
        anyhow::bail!("--period is for the leaderboard and the branch ranking, not {kind}");
    }
    let request = ReportRequest {
        kind,
        filter: args.filters.segment_filter()?,
        period,
        at: OffsetDateTime::now_utc(),
    };
    reports::check_filters(kind, &request.filter)?;
    let configured = crate::readside::configured_rules(args.rules.as_deref())?;
    let store = crate::open_read_only(data_dir).map_err(|e| held_by_server(data_dir, e))?;
    let result = read_and_write(&store, configured, &request, args);
    store.close().await.context("closing the store")?;
    let rows = result?;
    println!("{rows} rows written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn read_and_write(
    store: &EventStore,
    configured: crm_projections::RuleBook,
    request: &ReportRequest,
    args: &ReportArgs,
) -> anyhow::Result<u64> {
    let projections = Projections::open(store, configured).context("opening the read models")?;
    projections
        .catch_up()
        .context("bringing the read models up to the log")?;
    // What was folded is kept: the next report (or server start) folds only what is new.
    projections.flush().context("flushing the read models")?;
    let encoding: CsvEncoding = args.encoding.parse()?;
    write_file(&projections, request, args.format, encoding, &args.out)
}

/// One `[[reports]]` entry of the server's configuration, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReport {
    kind: String,
    /// The start of the file names (default: the kind), to tell apart reports of one kind.
    name: Option<String>,
    format: Format,
    encoding: Option<String>,
    directory: PathBuf,
    schedule: String,
    day: Option<u8>,
    at: String,
    utc_offset: Option<String>,
    #[serde(default)]
    filters: FilterArgs,
}

/// A scheduled report, checked.
#[derive(Debug, Clone)]
pub struct ScheduledReport {
    pub kind: ReportKind,
    /// The start of its file names.
    pub name: String,
    pub format: Format,
    pub encoding: CsvEncoding,
    pub directory: PathBuf,
    pub when: When,
    pub filter: SegmentFilter,
}

impl FileReport {
    pub fn check(&self) -> anyhow::Result<ScheduledReport> {
        let encoding: CsvEncoding = self.encoding.as_deref().unwrap_or("utf8").parse()?;
        if encoding == CsvEncoding::Gbk && self.format != Format::Csv {
            anyhow::bail!("encoding = \"gbk\" is for CSV reports");
        }
        let kind: ReportKind = self.kind.parse()?;
        let name = self.name.clone().unwrap_or_else(|| kind.name().to_owned());
        if name.trim().is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
            anyhow::bail!("name = '{name}' is not a file name (no '/', not starting with '.')");
        }
        Ok(ScheduledReport {
            kind,
            name,
            format: self.format,
            encoding,
            directory: self.directory.clone(),
            when: When::parse(
                &self.schedule,
                self.day,
                &self.at,
                self.utc_offset.as_deref(),
            )?,
            filter: {
                let filter = self.filters.segment_filter()?;
                reports::check_filters(kind, &filter)?;
                filter
            },
        })
    }
}

/// Checks every `[[reports]]` entry, and that no two write the same files.
pub fn check_all(reports: &[FileReport]) -> anyhow::Result<Vec<ScheduledReport>> {
    let mut checked: Vec<ScheduledReport> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let r = r
            .check()
            .with_context(|| format!("[[reports]] number {} in the config file", i + 1))?;
        if let Some(j) = checked
            .iter()
            .position(|c| (&c.directory, &c.name, c.format) == (&r.directory, &r.name, r.format))
        {
            anyhow::bail!(
                "[[reports]] number {} in the config file writes the files of number {} ({}-… \
                 in {}): give one a name",
                i + 1,
                j + 1,
                r.name,
                r.directory.display()
            );
        }
        checked.push(r);
    }
    Ok(checked)
}

impl ScheduledReport {
    /// The file a run at `run` writes: kind and the period it covers.
    pub fn path(&self, run: OffsetDateTime) -> PathBuf {
        let covered = schedule::covered(&self.when, run);
        self.directory.join(schedule::file_name(
            &self.name,
            covered,
            self.format.extension(),
        ))
    }

    /// The request of a run at `run`.
    fn request(&self, run: OffsetDateTime) -> ReportRequest {
        ReportRequest {
            kind: self.kind,
            filter: self.filter.clone(),
            period: schedule::report_period(self.kind, schedule::covered(&self.when, run)),
            at: run,
        }
    }
}

/// How often the scheduler looks again at most (a failed write is retried then).
const TICK: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a run waits for the read models to reach the log's head.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Writes one scheduled report for the run at `run`, once the read models have reached
/// the log's head; returns the file and the rows.
async fn write_scheduled(
    store: &EventStore,
    p: &Projections,
    report: &ScheduledReport,
    run: OffsetDateTime,
) -> anyhow::Result<(PathBuf, u64)> {
    p.wait_for(store.head().0, CATCH_UP_WAIT)
        .await
        .context("waiting for the read models to reach the log")?;
    std::fs::create_dir_all(&report.directory)
        .with_context(|| format!("creating {}", report.directory.display()))?;
    let path = report.path(run);
    let (p, report, out) = (p.clone(), report.clone(), path.clone());
    let rows = tokio::task::spawn_blocking(move || {
        write_file(
            &p,
            &report.request(run),
            report.format,
            report.encoding,
            &out,
        )
    })
    .await
    .context("the report's writer stopped")??;
    Ok((path, rows))
}

/// For each report, its latest run time at or before `now` if that run's file is there (it
/// was written before a restart), else `None` (that run is due).
fn written_before(reports: &[ScheduledReport], now: OffsetDateTime) -> Vec<Option<OffsetDateTime>> {
    reports
        .iter()
        .map(|r| {
            let latest = schedule::latest_run(&r.when, now);
            r.path(latest).exists().then_some(latest)
        })
        .collect()
}

/// The scheduler `crm serve` runs: each report is written when due (the latest run time at
/// or before now whose file is not there at start, or not written since), a failure logged
/// and retried at the next tick. Never returns.
pub async fn scheduler(store: EventStore, p: Projections, reports: Vec<ScheduledReport>) {
    let mut last = written_before(&reports, OffsetDateTime::now_utc());
    loop {
        let now = OffsetDateTime::now_utc();
        let mut wake = now + TICK;
        for (report, last) in reports.iter().zip(last.iter_mut()) {
            let plan = schedule::plan(&report.when, *last, now);
            if let Some(run) = plan.run {
                match write_scheduled(&store, &p, report, run).await {
                    Ok((path, rows)) => {
                        tracing::info!(kind = %report.kind, file = %path.display(), rows, "scheduled report written");
                        *last = Some(run);
                    }
                    Err(e) => tracing::warn!(
                        kind = %report.kind,
                        error = format!("{e:#}"),
                        "scheduled report not written; retried at the next tick"
                    ),
                }
            }
            wake = wake.min(plan.next);
        }
        tokio::time::sleep(schedule::wait(OffsetDateTime::now_utc(), wake)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;
    use time::macros::datetime;

    #[test]
    fn filters_take_the_api_s_names_in_any_case_and_refuse_others() {
        let args = FilterArgs {
            tier: Some("Gold".into()),
            risk_preference: Some("conservative".into()),
            churn_risk: Some("HIGH".into()),
            lifecycle: Some("dormant".into()),
            customer_kind: Some("institutional".into()),
            min_assets: Some("10000.5".into()),
            as_of: Some("2026-11-30".into()),
            branch: Some("0192f0c4-0000-7000-8000-000000000001".into()),
            ..FilterArgs::default()
        };
        let f = args.segment_filter().unwrap();
        assert_eq!(f.tier, Some(Tier::Gold));
        assert_eq!(f.risk_preference, Some(RiskPreference::Conservative));
        assert_eq!(f.churn_risk, Some(ChurnRisk::High));
        assert_eq!(f.lifecycle, Some(Lifecycle::Dormant));
        assert_eq!(f.kind, Some(CustomerKind::Institutional));
        assert_eq!(f.min_assets, Some(Money::from_minor(100_005_000)));
        assert_eq!(f.as_of, Some(time::macros::date!(2026 - 11 - 30)));
        assert!(f.branch.is_some());
        for bad in [
            FilterArgs {
                tier: Some("platinum".into()),
                ..FilterArgs::default()
            },
            FilterArgs {
                branch: Some("branch-1".into()),
                ..FilterArgs::default()
            },
            FilterArgs {
                min_assets: Some("lots".into()),
                ..FilterArgs::default()
            },
        ] {
            assert!(bad.segment_filter().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_run_whose_file_is_there_was_written_and_one_whose_file_is_not_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let report = FileReport {
            kind: "customers".into(),
            name: None,
            format: Format::Csv,
            encoding: None,
            directory: dir.path().to_path_buf(),
            schedule: "monthly".into(),
            day: Some(1),
            at: "06:00".into(),
            utc_offset: Some("+08:00".into()),
            filters: FilterArgs::default(),
        }
        .check()
        .unwrap();
        let now = datetime!(2026-12-03 10:00 +8);
        let run = datetime!(2026-12-01 06:00 +8);
        let reports = vec![report.clone()];
        assert_eq!(written_before(&reports, now), vec![None]);
        std::fs::write(dir.path().join("customers-2026-11.csv"), "x").unwrap();
        assert_eq!(report.path(run), dir.path().join("customers-2026-11.csv"));
        assert_eq!(written_before(&reports, now), vec![Some(run)]);
        // November's file does not stand for December's run.
        assert_eq!(
            written_before(&reports, datetime!(2027-01-02 10:00 +8)),
            vec![None]
        );
    }
}
