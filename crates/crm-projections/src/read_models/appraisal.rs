//! Sealed appraisal periods (考核期结算): the results a period is sealed with, derived from the
//! staff performance read model (`performance`), and their hash. The seal itself is the
//! `appraisal` aggregate's (crm-domain); this module makes the derivation one function, so that
//! a proposal and anyone re-deriving a sealed period later run the same code over the same log
//! prefix and compare bytes.

use crm_domain::appraisal::{AppraisalPeriod, Derivation, SealedResult};

use crate::error::ProjectionError;
use crate::model::Model;
use crate::read_models::performance::{company_performance, Period};
use crate::rules::RuleBook;

/// The performance period of an appraisal period.
pub fn period_of(p: AppraisalPeriod) -> Period {
    match p {
        AppraisalPeriod::Month { year, month } => Period::Month { year, month },
        AppraisalPeriod::Quarter { year, quarter } => Period::Quarter { year, quarter },
    }
}

/// Everyone appraised in `period` under `rules`, as the model holds them: in rank order, with
/// the figures and points the seal records.
pub fn seal_results(m: &Model, rules: &RuleBook, period: AppraisalPeriod) -> Vec<SealedResult> {
    company_performance(m, rules, period_of(period))
        .into_iter()
        .map(|p| {
            let mut points = [0i64; 4];
            for (slot, term) in points.iter_mut().zip(&p.kpi.terms) {
                *slot = term.points_centi;
            }
            SealedResult {
                staff: p.staff,
                branch: p.branch,
                customers_at_start: p.customers_at_start,
                customers_served: p.customers_served,
                new_customers: p.new_customers,
                churned: p.churned,
                upgraded: p.upgraded,
                downgraded: p.downgraded,
                commission: p.commission,
                points_centi: points,
                composite_centi: p.kpi.composite_centi,
                rank_in_company: u32::try_from(p.rank_in_company).unwrap_or(u32::MAX),
            }
        })
        .collect()
}

/// blake3 of the results' canonical (bincode) encoding, 64 lowercase hex digits.
pub fn results_hash(results: &[SealedResult]) -> Result<String, ProjectionError> {
    let bytes = crm_eventstore::codec::encode(&results.to_vec())?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// The columns of a sealed period's CSV export, in order.
pub const CSV_HEADER: [&str; 20] = [
    "period",
    "rank_in_company",
    "staff_id",
    "branch_id",
    "customers_at_start",
    "customers_served",
    "new_customers",
    "churned",
    "upgraded",
    "downgraded",
    "commission_yuan",
    "points_new_customers",
    "points_churn",
    "points_upgrades",
    "points_profitability",
    "composite",
    "derived_at_position",
    "rules_version",
    "rules_hash",
    "results_hash",
];

fn points(centi: i64) -> String {
    let sign = if centi < 0 { "-" } else { "" };
    let a = centi.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A sealed period's results as CSV (UTF-8, a header row, one row per appraised person in rank
/// order, every row naming the derivation: position, rules and the results' hash), for pay
/// and for the record. The same derivation gives the same bytes.
pub fn results_csv(period: AppraisalPeriod, d: &Derivation) -> Result<Vec<u8>, ProjectionError> {
    let err = |e: csv::Error| ProjectionError::Report(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).map_err(err)?;
    for r in &d.results {
        let row = [
            period.to_string(),
            r.rank_in_company.to_string(),
            r.staff.to_string(),
            r.branch.map(|b| b.to_string()).unwrap_or_default(),
            r.customers_at_start.to_string(),
            r.customers_served.to_string(),
            r.new_customers.to_string(),
            r.churned.to_string(),
            r.upgraded.to_string(),
            r.downgraded.to_string(),
            r.commission.to_string(),
            points(r.points_centi[0]),
            points(r.points_centi[1]),
            points(r.points_centi[2]),
            points(r.points_centi[3]),
            points(r.composite_centi),
            d.position.to_string(),
            d.rules_version.to_string(),
            d.rules_hash.clone(),
            d.results_hash.clone(),
        ];
        w.write_record(&row).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| ProjectionError::Report(e.to_string()))
}

/// blake3 of bytes, 64 lowercase hex digits (the content hash printed with an export).
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
