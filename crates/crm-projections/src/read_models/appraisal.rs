//! Sealed appraisal periods (考核期结算): the results and team figures a period is sealed with,
//! derived from the staff performance read model (`performance`), their hashes and the sealed
//! period's CSV export. The seal itself is the
//! `appraisal` aggregate's (crm-domain); this module makes the derivation one function, so that
//! a proposal and anyone re-deriving a sealed period later run the same code over the same log
//! prefix and compare bytes.

use std::collections::BTreeMap;

use crm_domain::appraisal::{
    Adjustment, Adjustments, AppraisalPeriod, Derivation, SealedResult, SealedTeamResult,
    TeamFigures,
};
use crm_domain::ids::{StaffId, TeamId};
use crm_domain::Money;

use crate::error::ProjectionError;
use crate::model::Model;
use crate::read_models::performance::{company_performance, Period, StaffPerformance, TeamResult};
use crate::rules::RuleBook;

/// The performance period of an appraisal period.
pub fn period_of(p: AppraisalPeriod) -> Period {
    match p {
        AppraisalPeriod::Month { year, month } => Period::Month { year, month },
        AppraisalPeriod::Quarter { year, quarter } => Period::Quarter { year, quarter },
    }
}

/// The points of the four terms, in hundredths.
fn points_of(kpi: &crate::read_models::performance::KpiExplain) -> [i64; 4] {
    let mut points = [0i64; 4];
    for (slot, term) in points.iter_mut().zip(&kpi.terms) {
        *slot = term.points_centi;
    }
    points
}

fn sealed_result(p: &StaffPerformance) -> SealedResult {
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
        points_centi: points_of(&p.kpi),
        composite_centi: p.kpi.composite_centi,
        rank_in_company: u32::try_from(p.rank_in_company).unwrap_or(u32::MAX),
    }
}

fn sealed_team(t: &TeamResult) -> SealedTeamResult {
    SealedTeamResult {
        team: t.team,
        name: t.name.clone(),
        lead: t.lead,
        members: t.members.clone(),
        customers_at_start: t.customers_at_start,
        customers_served: t.customers_served,
        new_customers: t.new_customers,
        churned: t.churned,
        upgraded: t.upgraded,
        downgraded: t.downgraded,
        commission: t.commission,
        points_centi: points_of(&t.kpi),
        composite_centi: t.kpi.composite_centi,
        rank: u32::try_from(t.rank).unwrap_or(u32::MAX),
    }
}

/// Everyone appraised in `period` under `rules`, as the model holds them: in rank order, with
/// the figures and points the seal records.
pub fn seal_results(m: &Model, rules: &RuleBook, period: AppraisalPeriod) -> Vec<SealedResult> {
    seal_figures(m, rules, period).0
}

/// [`seal_results`] and the team figures sealed with them, from one evaluation of the
/// company: the figure of every team an appraised team lead is appraised with (the teams a
/// lead's pay follows; a team without a lead pays nobody on its figure), in rank order.
pub fn seal_figures(
    m: &Model,
    rules: &RuleBook,
    period: AppraisalPeriod,
) -> (Vec<SealedResult>, Vec<SealedTeamResult>) {
    let performance = company_performance(m, rules, period_of(period));
    let mut teams: BTreeMap<TeamId, SealedTeamResult> = BTreeMap::new();
    for t in performance.iter().flat_map(|p| &p.teams) {
        teams.entry(t.team).or_insert_with(|| sealed_team(t));
    }
    let mut teams: Vec<SealedTeamResult> = teams.into_values().collect();
    teams.sort_by_key(|t| (t.rank, t.team));
    (performance.iter().map(sealed_result).collect(), teams)
}

/// blake3 of the team figures' canonical (bincode) encoding, 64 lowercase hex digits.
pub fn teams_hash(teams: &[SealedTeamResult]) -> Result<String, ProjectionError> {
    let bytes = crm_eventstore::codec::encode(&teams.to_vec())?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
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

/// A sealed period as its stream records it: the seal's derivation and what was sealed with
/// it. `teams` is None for a period proposed before team figures were sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPeriod {
    pub period: AppraisalPeriod,
    /// The log position of the `AppraisalPeriodSealed` event.
    pub sealed_at: u64,
    pub derivation: Derivation,
    pub teams: Option<TeamFigures>,
    /// The corrections to earlier sealed periods settled with this one.
    pub adjustments: Option<Adjustments>,
    pub proposed_by: StaffId,
    pub approved_by: StaffId,
}

/// The columns of a sealed period's CSV export, in order. The first twenty keep the meaning
/// they had when the export held people's results alone; the rest were appended after them,
/// and `record` says what a row is (`result`, `team`, `adjustment`).
pub const CSV_HEADER: [&str; 29] = [
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
    "record",
    "team_id",
    "team_name",
    "team_lead_id",
    "team_members",
    "rank_among_teams",
    "adjusted_period",
    "teams_hash",
    "adjustments_hash",
];

fn points(centi: i64) -> String {
    let sign = if centi < 0 { "-" } else { "" };
    let a = centi.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// The figures every kind of row carries, in the CSV's column order (customers at the start
/// through the composite).
struct Figures<'a> {
    customers_at_start: i64,
    customers_served: i64,
    new_customers: i64,
    churned: i64,
    upgraded: i64,
    downgraded: i64,
    commission: &'a Money,
    points_centi: &'a [i64; 4],
    composite_centi: i64,
}

impl Figures<'_> {
    fn cells(&self) -> [String; 12] {
        [
            self.customers_at_start.to_string(),
            self.customers_served.to_string(),
            self.new_customers.to_string(),
            self.churned.to_string(),
            self.upgraded.to_string(),
            self.downgraded.to_string(),
            self.commission.to_string(),
            points(self.points_centi[0]),
            points(self.points_centi[1]),
            points(self.points_centi[2]),
            points(self.points_centi[3]),
            points(self.composite_centi),
        ]
    }
}

/// What one row is about: a person's result, a team's figure or an adjustment.
enum Row<'a> {
    Result(&'a SealedResult),
    Team(&'a SealedTeamResult),
    Adjustment(&'a Adjustment),
}

impl Row<'_> {
    /// The row's cells, in [`CSV_HEADER`]'s order.
    fn cells(&self, s: &SealedPeriod) -> Vec<String> {
        let d = &s.derivation;
        let (rank, staff, branch, figures) = match self {
            Row::Result(r) => (
                r.rank_in_company.to_string(),
                r.staff.to_string(),
                r.branch.map(|b| b.to_string()).unwrap_or_default(),
                Figures {
                    customers_at_start: r.customers_at_start,
                    customers_served: r.customers_served,
                    new_customers: r.new_customers,
                    churned: r.churned,
                    upgraded: r.upgraded,
                    downgraded: r.downgraded,
                    commission: &r.commission,
                    points_centi: &r.points_centi,
                    composite_centi: r.composite_centi,
                },
            ),
            Row::Team(t) => (
                String::new(),
                String::new(),
                String::new(),
                Figures {
                    customers_at_start: t.customers_at_start,
                    customers_served: t.customers_served,
                    new_customers: t.new_customers,
                    churned: t.churned,
                    upgraded: t.upgraded,
                    downgraded: t.downgraded,
                    commission: &t.commission,
                    points_centi: &t.points_centi,
                    composite_centi: t.composite_centi,
                },
            ),
            Row::Adjustment(a) => (
                String::new(),
                a.staff.to_string(),
                a.branch.map(|b| b.to_string()).unwrap_or_default(),
                Figures {
                    customers_at_start: a.customers_at_start,
                    customers_served: a.customers_served,
                    new_customers: a.new_customers,
                    churned: a.churned,
                    upgraded: a.upgraded,
                    downgraded: a.downgraded,
                    commission: &a.commission,
                    points_centi: &a.points_centi,
                    composite_centi: a.composite_centi,
                },
            ),
        };
        let (record, team, adjusted) = match self {
            Row::Result(_) => ("result", None, String::new()),
            Row::Team(t) => ("team", Some(*t), String::new()),
            Row::Adjustment(a) => ("adjustment", None, a.period.to_string()),
        };
        let mut row = vec![s.period.to_string(), rank, staff, branch];
        row.extend(figures.cells());
        row.extend([
            d.position.to_string(),
            d.rules_version.to_string(),
            d.rules_hash.clone(),
            d.results_hash.clone(),
            record.to_string(),
            team.map(|t| t.team.to_string()).unwrap_or_default(),
            team.map(|t| t.name.clone()).unwrap_or_default(),
            team.and_then(|t| t.lead)
                .map(|l| l.to_string())
                .unwrap_or_default(),
            team.map(|t| {
                let ids: Vec<String> = t.members.iter().map(|m| m.to_string()).collect();
                ids.join(";")
            })
            .unwrap_or_default(),
            team.map(|t| t.rank.to_string()).unwrap_or_default(),
            adjusted,
            s.teams
                .as_ref()
                .filter(|t| !t.teams.is_empty())
                .map(|t| t.teams_hash.clone())
                .unwrap_or_default(),
            s.adjustments
                .as_ref()
                .map(|a| a.adjustments_hash.clone())
                .unwrap_or_default(),
        ]);
        row
    }
}

/// A sealed period as CSV (UTF-8, a header row), for pay and for the record: one `result` row
/// per appraised person in rank order, then one `team` row per sealed team figure in rank
/// order, then one `adjustment` row per correction to an earlier period sealed with it (by
/// period corrected, then staff; its figures are differences). Every row names the
/// derivation: position, rules, and the results', teams' and adjustments' hashes. It is made
/// from the seal's events alone, so the same seal gives the same bytes, whatever the read
/// models hold.
pub fn results_csv(s: &SealedPeriod) -> Result<Vec<u8>, ProjectionError> {
    let err = |e: csv::Error| ProjectionError::Report(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).map_err(err)?;
    let results = s.derivation.results.iter().map(Row::Result);
    let teams = s.teams.iter().flat_map(|t| &t.teams).map(Row::Team);
    let adjustments = s
        .adjustments
        .iter()
        .flat_map(|a| &a.adjustments)
        .map(Row::Adjustment);
    for row in results.chain(teams).chain(adjustments) {
        w.write_record(row.cells(s)).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| ProjectionError::Report(e.to_string()))
}

/// blake3 of bytes, 64 lowercase hex digits (the content hash printed with an export).
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
