//! Sealed appraisal periods (考核期结算): the results a period is sealed with, derived from the
//! staff performance read model (`performance`), and their hash. The seal itself is the
//! `appraisal` aggregate's (crm-domain); this module makes the derivation one function, so that
//! a proposal and anyone re-deriving a sealed period later run the same code over the same log
//! prefix and compare bytes.

use std::collections::BTreeMap;

use crm_domain::appraisal::{Adjustment, AppraisalPeriod, Derivation, SealedResult};
use crm_domain::ids::StaffId;
use crm_domain::Money;

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

/// How many sealed periods, the most recently sealed first, a proposal derives again for
/// adjustments: back-dated facts arrive within weeks, not years, and each period with rules of
/// its own costs a fold of the log.
pub const ADJUSTED_PERIODS_MAX: usize = 12;

/// One person's figures in a period as an [`Adjustment`] from nothing (what they add).
fn as_figures(period: AppraisalPeriod, r: &SealedResult) -> Adjustment {
    Adjustment {
        period,
        staff: r.staff,
        branch: r.branch,
        customers_at_start: r.customers_at_start,
        customers_served: r.customers_served,
        new_customers: r.new_customers,
        churned: r.churned,
        upgraded: r.upgraded,
        downgraded: r.downgraded,
        commission: r.commission,
        points_centi: r.points_centi,
        composite_centi: r.composite_centi,
    }
}

/// `a` plus `sign` × `b`, figure by figure (`a`'s period, staff and branch kept).
fn combine(a: &Adjustment, b: &Adjustment, sign: i64) -> Adjustment {
    let add = |x: i64, y: i64| x.saturating_add(y.saturating_mul(sign));
    let mut points = a.points_centi;
    for (p, q) in points.iter_mut().zip(b.points_centi) {
        *p = add(*p, q);
    }
    Adjustment {
        period: a.period,
        staff: a.staff,
        branch: a.branch.or(b.branch),
        customers_at_start: add(a.customers_at_start, b.customers_at_start),
        customers_served: add(a.customers_served, b.customers_served),
        new_customers: add(a.new_customers, b.new_customers),
        churned: add(a.churned, b.churned),
        upgraded: add(a.upgraded, b.upgraded),
        downgraded: add(a.downgraded, b.downgraded),
        commission: Money::from_minor(add(a.commission.minor(), b.commission.minor())),
        points_centi: points,
        composite_centi: add(a.composite_centi, b.composite_centi),
    }
}

fn is_zero(a: &Adjustment) -> bool {
    a.customers_at_start == 0
        && a.customers_served == 0
        && a.new_customers == 0
        && a.churned == 0
        && a.upgraded == 0
        && a.downgraded == 0
        && a.commission == Money::ZERO
        && a.points_centi == [0; 4]
        && a.composite_centi == 0
}

/// A sealed period as pay has settled it so far: its sealed results plus every adjustment to
/// it sealed since, per person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    by_staff: BTreeMap<StaffId, Adjustment>,
}

impl Settled {
    /// The sealed results of `period`.
    pub fn sealed(period: AppraisalPeriod, results: &[SealedResult]) -> Settled {
        let mut s = Settled::default();
        for r in results {
            s.add(&as_figures(period, r));
        }
        s
    }

    /// Adds an adjustment (or a person's figures).
    pub fn add(&mut self, a: &Adjustment) {
        let sum = match self.by_staff.get(&a.staff) {
            Some(had) => combine(had, a, 1),
            None => a.clone(),
        };
        self.by_staff.insert(a.staff, sum);
    }

    /// What `now` (the period derived again) changes against what is settled: one adjustment
    /// per person whose figures moved, in staff order; nothing when no fact arrived.
    pub fn adjustments(&self, period: AppraisalPeriod, now: &[SealedResult]) -> Vec<Adjustment> {
        let now: BTreeMap<StaffId, Adjustment> = now
            .iter()
            .map(|r| (r.staff, as_figures(period, r)))
            .collect();
        let nothing = |staff: StaffId| Adjustment {
            period,
            staff,
            branch: None,
            customers_at_start: 0,
            customers_served: 0,
            new_customers: 0,
            churned: 0,
            upgraded: 0,
            downgraded: 0,
            commission: Money::ZERO,
            points_centi: [0; 4],
            composite_centi: 0,
        };
        let staff: std::collections::BTreeSet<StaffId> =
            now.keys().chain(self.by_staff.keys()).copied().collect();
        staff
            .into_iter()
            .map(|id| {
                let n = now.get(&id).cloned().unwrap_or_else(|| nothing(id));
                let settled = self
                    .by_staff
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| nothing(id));
                combine(&n, &settled, -1)
            })
            .filter(|a| !is_zero(a))
            .collect()
    }
}

/// blake3 of the adjustments' canonical (bincode) encoding, 64 lowercase hex digits.
pub fn adjustments_hash(adjustments: &[Adjustment]) -> Result<String, ProjectionError> {
    let bytes = crm_eventstore::codec::encode(&adjustments.to_vec())?;
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
