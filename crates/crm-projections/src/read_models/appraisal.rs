//! Sealed appraisal periods (考核期结算): the results a period is sealed with, derived from the
//! staff performance read model (`performance`), and their hash. The seal itself is the
//! `appraisal` aggregate's (crm-domain); this module makes the derivation one function, so that
//! a proposal and anyone re-deriving a sealed period later run the same code over the same log
//! prefix and compare bytes.

use crm_domain::appraisal::{AppraisalPeriod, SealedResult};

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
