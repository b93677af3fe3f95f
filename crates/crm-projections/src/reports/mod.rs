//! Reports people can take away (报表): a read model's list as a table of typed cells, written
//! as CSV (UTF-8 with a byte-order mark, or GBK) or XLSX.
//!
//! - [`table`]: [`Column`], [`Cell`], the [`RowSink`] rows go to, and [`Table`] (in memory).
//! - [`kinds`]: one function per [`ReportKind`] over the [`Projections`] façade.
//! - [`csv_out`] and [`xlsx_out`]: the writers, both streaming (XLSX in `rust_xlsxwriter`'s
//!   constant-memory mode: rows go to a temporary file, not into the workbook in memory).
//! - [`schedule`]: when a scheduled report is due (pure functions).
//!
//! [`write`] runs one [`ReportRequest`] into a sink.

pub mod csv_out;
pub mod kinds;
pub mod schedule;
pub mod table;
pub mod xlsx_out;

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime};

use crate::views::SegmentFilter;
use crate::Projections;

pub use csv_out::{CsvEncoding, CsvSink};
pub use table::{Cell, Column, ColumnKind, RowSink, Table};
pub use xlsx_out::XlsxSink;

/// What writing a report can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "row {row}, column '{column}': the character '{character}' (U+{code:04X}) cannot be \
         written in GBK; write the report as UTF-8 (the default) instead"
    )]
    Unencodable {
        /// The line of the file, the header being line 1.
        row: u64,
        column: String,
        character: char,
        code: u32,
    },
    #[error("a row of {cells} cells under {columns} columns")]
    Shape { columns: usize, cells: usize },
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl ReportError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ReportError {
        let context = context.into();
        move |source| ReportError::Io { context, source }
    }
}

/// The reports there are, by the name the command line and the configuration use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// 客户清单, with the customer-list filters.
    Customers,
    /// 业绩排行 (a period, a scope).
    Leaderboard,
    /// 营业部排名 (a day or month).
    BranchRanking,
    /// 营销活动效果.
    Campaigns,
    /// 营销活动投资回报: revenue attributed, cost and ROI per campaign and response channel.
    CampaignRoi,
    /// 服务质量.
    ServiceQuality,
    /// 渠道效果.
    Channels,
}

impl ReportKind {
    pub const ALL: [ReportKind; 7] = [
        ReportKind::Customers,
        ReportKind::Leaderboard,
        ReportKind::BranchRanking,
        ReportKind::Campaigns,
        ReportKind::CampaignRoi,
        ReportKind::ServiceQuality,
        ReportKind::Channels,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Customers => "customers",
            ReportKind::Leaderboard => "leaderboard",
            ReportKind::BranchRanking => "branch-ranking",
            ReportKind::Campaigns => "campaigns",
            ReportKind::CampaignRoi => "campaign-roi",
            ReportKind::ServiceQuality => "service-quality",
            ReportKind::Channels => "channels",
        }
    }

    /// Whether the report is of a period (a leaderboard, a ranking).
    pub fn has_period(self) -> bool {
        matches!(self, ReportKind::Leaderboard | ReportKind::BranchRanking)
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReportKind {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, ReportError> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = ReportKind::ALL.iter().map(|k| k.name()).collect();
                ReportError::Invalid(format!("unknown report '{s}': one of {}", names.join(", ")))
            })
    }
}

/// A report's period: `2026-11-30` (a day), `2026-11` (a month), `2026-Q4` (a quarter),
/// `2026-11-ytd` (January to November).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPeriod {
    Day(Date),
    Month { year: i32, month: u8 },
    Quarter { year: i32, quarter: u8 },
    YearToDate { year: i32, month: u8 },
}

impl ReportPeriod {
    /// The month holding `d`.
    pub fn month_of(d: Date) -> ReportPeriod {
        ReportPeriod::Month {
            year: d.year(),
            month: u8::from(d.month()),
        }
    }
}

impl fmt::Display for ReportPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportPeriod::Day(d) => write!(
                f,
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            ),
            ReportPeriod::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            ReportPeriod::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            ReportPeriod::YearToDate { year, month } => write!(f, "{year:04}-{month:02}-ytd"),
        }
    }
}

impl FromStr for ReportPeriod {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, ReportError> {
        let bad = || {
            ReportError::Invalid(format!(
                "'{s}' is not a period: 2026-11-30 (a day), 2026-11 (a month), 2026-Q4 (a \
                 quarter) or 2026-11-ytd (the year to the end of November)"
            ))
        };
        let t = s.trim();
        let parts: Vec<&str> = t.split('-').collect();
        let year: i32 = parts
            .first()
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse().ok())
            .ok_or_else(bad)?;
        let month = |m: &str| -> Result<u8, ReportError> {
            m.parse::<u8>()
                .ok()
                .filter(|m| (1..=12).contains(m))
                .ok_or_else(bad)
        };
        match parts.as_slice() {
            [_, q] if q.starts_with(['Q', 'q']) => {
                let quarter = q[1..]
                    .parse::<u8>()
                    .ok()
                    .filter(|q| (1..=4).contains(q))
                    .ok_or_else(bad)?;
                Ok(ReportPeriod::Quarter { year, quarter })
            }
            [_, m] => Ok(ReportPeriod::Month {
                year,
                month: month(m)?,
            }),
            [_, m, ytd] if ytd.eq_ignore_ascii_case("ytd") => Ok(ReportPeriod::YearToDate {
                year,
                month: month(m)?,
            }),
            [_, m, d] => {
                let mo = Month::try_from(month(m)?).map_err(|_| bad())?;
                let day = d.parse::<u8>().map_err(|_| bad())?;
                Date::from_calendar_date(year, mo, day)
                    .map(ReportPeriod::Day)
                    .map_err(|_| bad())
            }
            _ => Err(bad()),
        }
    }
}

/// One report to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub kind: ReportKind,
    /// The customer list's filter; for the other kinds its branch (campaigns, service
    /// quality) or its team, branch or region (the leaderboard's scope) narrow the report.
    pub filter: SegmentFilter,
    /// A leaderboard's or ranking's period; `None`: the month of the read models' latest
    /// business date.
    pub period: Option<ReportPeriod>,
    /// The instant service quality is evaluated at (open tickets past their deadline).
    pub at: OffsetDateTime,
}

impl ReportRequest {
    /// The period the report covers, if its kind has one: the request's, or the month of the
    /// read models' latest business date.
    pub fn period_in(&self, p: &Projections) -> Option<ReportPeriod> {
        self.kind.has_period().then(|| {
            self.period.unwrap_or_else(|| {
                ReportPeriod::month_of(p.with_model(|m, _| crate::views::today(m, None)))
            })
        })
    }
}

/// The filters `kind` is narrowed by (all of them for the customer list).
fn filters_taken(kind: ReportKind) -> &'static [&'static str] {
    match kind {
        ReportKind::Customers => &[],
        ReportKind::Leaderboard => &["team", "branch", "region"],
        ReportKind::Campaigns | ReportKind::CampaignRoi | ReportKind::ServiceQuality => &["branch"],
        ReportKind::BranchRanking | ReportKind::Channels => &["none"],
    }
}

/// A filter the report's kind would ignore is refused: a report must not look narrowed when
/// it is not.
pub fn check_filters(kind: ReportKind, f: &SegmentFilter) -> Result<(), ReportError> {
    let taken = filters_taken(kind);
    if taken.is_empty() {
        return Ok(());
    }
    let set = [
        ("branch", f.branch.is_some()),
        ("region", f.region.is_some()),
        ("manager", f.manager.is_some()),
        ("team", f.team.is_some()),
        ("tier", f.tier.is_some()),
        ("risk_preference", f.risk_preference.is_some()),
        ("churn_risk", f.churn_risk.is_some()),
        ("lifecycle", f.lifecycle.is_some()),
        ("customer_kind", f.kind.is_some()),
        ("key_customer", f.key_customer.is_some()),
        ("min_assets", f.min_assets.is_some()),
        ("text", f.text.is_some()),
        ("as_of", f.as_of.is_some()),
    ];
    let ignored: Vec<&str> = set
        .iter()
        .filter(|(name, on)| *on && !taken.contains(name))
        .map(|(name, _)| *name)
        .collect();
    if ignored.is_empty() {
        Ok(())
    } else {
        Err(ReportError::Invalid(format!(
            "the {kind} report is not narrowed by {} (its filters: {})",
            ignored.join(", "),
            taken.join(", ")
        )))
    }
}

/// Writes the report `request` asks for into `out`; returns the rows written (the header
/// not counted).
pub fn write(
    p: &Projections,
    request: &ReportRequest,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    let f = &request.filter;
    check_filters(request.kind, f)?;
    match request.kind {
        ReportKind::Customers => kinds::customers(p, f, out),
        ReportKind::Leaderboard | ReportKind::BranchRanking => {
            let period = request
                .period_in(p)
                .ok_or_else(|| ReportError::Invalid("a report without a period".into()))?;
            let label = period.to_string();
            if request.kind == ReportKind::Leaderboard {
                let period = kinds::staff_period(period)?;
                kinds::leaderboard(p, kinds::scope_of(f), period, &label, out)
            } else {
                kinds::branch_ranking(p, kinds::branch_period(period)?, &label, out)
            }
        }
        ReportKind::Campaigns => kinds::campaigns(p, f.branch, out),
        ReportKind::CampaignRoi => kinds::campaign_roi(p, f.branch, out),
        ReportKind::ServiceQuality => kinds::service_quality(p, f.branch, request.at, out),
        ReportKind::Channels => kinds::channels(p, out),
    }
}

/// Writes a report into a [`Table`] in memory.
pub fn table(p: &Projections, request: &ReportRequest) -> Result<Table, ReportError> {
    let mut t = Table::default();
    write(p, request, &mut t)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_print_back() {
        for s in [
            "2026-11-30",
            "2026-11",
            "2026-Q4",
            "2026-11-ytd",
            "2024-02-29",
        ] {
            let p: ReportPeriod = s
                .parse()
                .map_err(|e| format!("{s}: {e}"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.to_string(), s);
        }
        assert_eq!(
            "2026-3".parse::<ReportPeriod>().ok(),
            Some(ReportPeriod::Month {
                year: 2026,
                month: 3
            })
        );
        for bad in [
            "2026",
            "2026-13",
            "2026-Q5",
            "2025-02-29",
            "26-11",
            "2026-11-xx",
            "",
        ] {
            assert!(bad.parse::<ReportPeriod>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_filter_a_kind_would_ignore_is_refused() {
        let f = SegmentFilter {
            tier: Some(crate::Tier::Gold),
            ..SegmentFilter::default()
        };
        assert!(check_filters(ReportKind::Customers, &f).is_ok());
        let err = check_filters(ReportKind::Leaderboard, &f)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("not narrowed by tier")));
        let branch = SegmentFilter {
            branch: Some(crm_domain::ids::BranchId::from(uuid::Uuid::nil())),
            ..SegmentFilter::default()
        };
        for k in [
            ReportKind::Leaderboard,
            ReportKind::Campaigns,
            ReportKind::CampaignRoi,
            ReportKind::ServiceQuality,
        ] {
            assert!(check_filters(k, &branch).is_ok(), "{k}");
        }
        for k in [ReportKind::BranchRanking, ReportKind::Channels] {
            assert!(check_filters(k, &branch).is_err(), "{k}");
            assert!(check_filters(k, &SegmentFilter::default()).is_ok(), "{k}");
        }
    }

    #[test]
    fn kinds_parse_by_name() {
        for k in ReportKind::ALL {
            assert_eq!(k.name().parse::<ReportKind>().ok(), Some(k));
        }
        let err = "dashboards"
            .parse::<ReportKind>()
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("branch-ranking")));
    }
}
