//! Bank dashboards and the outlet ranking (issue 17 item 5): an outlet's (网点), a region's
//! (county cooperative, 县联社) or the company's bank figures for a day or a month, and the
//! outlets of a scope ranked by one measure with their rank change against the previous period.
//!
//! Everything is answered from the outlets' per-day records of `read_models::banking`
//! ([`OutletDay`](crate::read_models::banking::OutletDay)), never by folding the log: a
//! scope's figures are the sum of its outlets' figures, each outlet's one pass over its days up
//! to the period's end. Memory stays bounded by outlets × days.
//!
//! - Stock figures (deposits by kind, loans by class, bank customers) are of the period's end:
//!   each outlet's last day with positions up to then (possibly before the period). The NPL
//!   ratio of a scope is its non-performing loans over its loans (0 when it has none).
//! - Flow figures (fee income, new accounts and loans, disbursements, new and lost bank
//!   customers) are summed over the period's days.
//! - A bank customer of an outlet is a customer holding an open deposit account or loan there;
//!   one banking at two outlets counts at each, so a region's or the company's count is of
//!   customer–outlet relationships.
//! - A region holds the outlets the org tree places in it now.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crm_domain::ids::{BranchId, RegionId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::model::{madd, Model};
use crate::read_models::banking::{outlet_banking, DEPOSIT_KINDS, LOAN_CLASSES, LOAN_CLASSES_ALL};
use crate::read_models::dashboards::BranchPeriod;
use crate::read_models::performance::bp;

/// Whose bank figures: the whole company, one region (county) or one outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BankScope {
    Company,
    Region(RegionId),
    Outlet(BranchId),
}

/// Bank figures of an outlet or of a scope's outlets summed, for one period.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BankFigures {
    /// The latest day up to the period's end with deposit positions (over the outlets summed).
    pub deposits_on: Option<Date>,
    /// Deposit balances at the period's end by kind (demand, time).
    pub deposits_by_kind: [Money; DEPOSIT_KINDS],
    pub deposits: Money,
    /// Deposit balances at the end of the day before the period (the previous period's end).
    pub deposits_at_start: Money,
    /// `deposits` − `deposits_at_start`.
    pub deposit_growth: Money,
    pub loans_on: Option<Date>,
    /// Loan balances at the period's end by class, pass … loss.
    pub loans_by_class: [Money; LOAN_CLASSES],
    pub loans: Money,
    /// 不良贷款: substandard + doubtful + loss.
    pub non_performing: Money,
    /// Non-performing over all loans, basis points; 0 when there are no loans.
    pub npl_ratio_bp: i64,
    pub fee_income: Money,
    pub new_deposit_accounts: i64,
    pub new_loans: i64,
    pub disbursed: Money,
    /// Customers with an open deposit account or loan at the period's end.
    pub bank_customers: i64,
    pub new_bank_customers: i64,
    pub lost_bank_customers: i64,
    /// Loans moved down a classification (五级分类) in the period.
    #[serde(default)]
    pub loan_downgrades: i64,
}

impl BankFigures {
    /// Adds another outlet's figures (the derived totals are recomputed by [`Self::settle`]).
    fn add(&mut self, o: &BankFigures) {
        self.deposits_on = self.deposits_on.max(o.deposits_on);
        for (a, b) in self.deposits_by_kind.iter_mut().zip(o.deposits_by_kind) {
            *a = madd(*a, b);
        }
        self.deposits_at_start = madd(self.deposits_at_start, o.deposits_at_start);
        self.loans_on = self.loans_on.max(o.loans_on);
        for (a, b) in self.loans_by_class.iter_mut().zip(o.loans_by_class) {
            *a = madd(*a, b);
        }
        self.fee_income = madd(self.fee_income, o.fee_income);
        self.new_deposit_accounts += o.new_deposit_accounts;
        self.new_loans += o.new_loans;
        self.disbursed = madd(self.disbursed, o.disbursed);
        self.bank_customers += o.bank_customers;
        self.new_bank_customers += o.new_bank_customers;
        self.lost_bank_customers += o.lost_bank_customers;
        self.loan_downgrades += o.loan_downgrades;
        self.settle();
    }

    /// The totals, growth and NPL ratio from the parts.
    fn settle(&mut self) {
        self.deposits = self
            .deposits_by_kind
            .iter()
            .fold(Money::ZERO, |a, b| madd(a, *b));
        self.deposit_growth = Money::from_minor(
            self.deposits
                .minor()
                .saturating_sub(self.deposits_at_start.minor()),
        );
        self.loans = self
            .loans_by_class
            .iter()
            .fold(Money::ZERO, |a, b| madd(a, *b));
        self.non_performing = LOAN_CLASSES_ALL
            .iter()
            .zip(self.loans_by_class)
            .filter(|(c, _)| c.is_non_performing())
            .fold(Money::ZERO, |a, (_, v)| madd(a, v));
        self.npl_ratio_bp = bp(self.non_performing.minor(), self.loans.minor());
    }
}

/// One outlet's figures for `from..=to`; `None` when it has no figures up to `to`. The stock
/// and the period's flows are the branch dashboard's ([`outlet_banking`]); this adds the
/// deposits before the period and the bank customers, which count every day up to `to`.
pub fn outlet_figures(m: &Model, branch: BranchId, from: Date, to: Date) -> Option<BankFigures> {
    let rec = m.outlets.get(&branch)?;
    let end = rec.days.partition_point(|d| *d <= to);
    let days = rec.days.get(..end).filter(|d| !d.is_empty())?;
    let b = outlet_banking(m, branch, from, to);
    let mut f = BankFigures {
        deposits_on: b.deposits_on,
        deposits_by_kind: [b.demand_deposits, b.time_deposits],
        loans_on: b.loans_on,
        loans_by_class: b.loans_by_class,
        fee_income: b.fee_income,
        new_deposit_accounts: b.new_deposit_accounts,
        new_loans: b.new_loans,
        disbursed: b.disbursed,
        loan_downgrades: b.loan_downgrades,
        ..BankFigures::default()
    };
    for d in days {
        let Some(od) = m.outlet_days.get(&(branch, *d)) else {
            continue;
        };
        f.bank_customers += od.new_bank_customers - od.lost_bank_customers;
        if *d < from {
            if od.deposit_positions > 0 {
                f.deposits_at_start = od.deposits.iter().fold(Money::ZERO, |a, b| madd(a, *b));
            }
        } else {
            f.new_bank_customers += od.new_bank_customers;
            f.lost_bank_customers += od.lost_bank_customers;
        }
    }
    f.settle();
    Some(f)
}

/// One outlet's line of a dashboard or a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutletLine {
    pub outlet: BranchId,
    pub name: String,
    pub region: Option<RegionId>,
    pub figures: BankFigures,
}

/// 网点 / 县联社 / 全辖 dashboard: a scope's figures and each of its outlets'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankDashboard {
    pub scope: BankScope,
    /// The outlet's, the region's name; empty for the company.
    pub name: String,
    pub period: BranchPeriod,
    /// The sum of `outlets`' figures.
    pub figures: BankFigures,
    /// The scope's outlets with figures up to the period's end, by name then id.
    pub outlets: Vec<OutletLine>,
}

/// The outlets of a scope: the org tree's branches (a region's: those in it now) and, for the
/// company, any outlet with figures the org tree does not know; in id order.
fn outlets_of(m: &Model, scope: BankScope) -> Vec<BranchId> {
    let mut ids: Vec<BranchId> = match scope {
        BankScope::Outlet(b) => vec![b],
        BankScope::Region(r) => m
            .meta
            .branches
            .iter()
            .filter(|(_, b)| b.region == r)
            .map(|(id, _)| *id)
            .collect(),
        BankScope::Company => m
            .meta
            .branches
            .keys()
            .copied()
            .chain(m.outlets.iter().map(|(id, _)| *id))
            .collect(),
    };
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn lines(m: &Model, scope: BankScope, from: Date, to: Date) -> Vec<OutletLine> {
    outlets_of(m, scope)
        .into_iter()
        .filter_map(|b| {
            let figures = outlet_figures(m, b, from, to)?;
            let info = m.meta.branches.get(&b);
            Some(OutletLine {
                outlet: b,
                name: info.map(|x| x.name.clone()).unwrap_or_default(),
                region: info.map(|x| x.region),
                figures,
            })
        })
        .collect()
}

/// The bank dashboard of `scope` for `period`; `None` for an outlet or region the read side
/// does not know (a known one with no figures yet has zeros).
pub fn bank_dashboard(m: &Model, scope: BankScope, period: BranchPeriod) -> Option<BankDashboard> {
    let name = match scope {
        BankScope::Company => String::new(),
        BankScope::Region(r) => m.meta.regions.get(&r)?.name.clone(),
        BankScope::Outlet(b) => match m.meta.branches.get(&b) {
            Some(info) => info.name.clone(),
            None => {
                m.outlets.get(&b)?;
                String::new()
            }
        },
    };
    let (from, to) = period.range();
    let mut outlets = lines(m, scope, from, to);
    outlets.sort_by(|a, b| (&a.name, a.outlet).cmp(&(&b.name, b.outlet)));
    let mut figures = BankFigures::default();
    for o in &outlets {
        figures.add(&o.figures);
    }
    Some(BankDashboard {
        scope,
        name,
        period,
        figures,
        outlets,
    })
}

/// What outlets are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutletMeasure {
    /// Deposits at the period's end, most first.
    Deposits,
    /// Deposits at the period's end less those at the previous period's end, most first.
    DepositGrowth,
    /// Loans at the period's end, most first.
    Loans,
    /// NPL ratio at the period's end, lowest first; outlets without loans after every outlet
    /// with loans (there is no loan book to judge).
    NplRatio,
    /// Fee income over the period, most first.
    FeeIncome,
    /// Customers with an open deposit account or loan at the period's end, most first.
    BankCustomers,
}

impl OutletMeasure {
    /// The figure ranked, as a number where more is better, so outlets sort by it descending
    /// and equal keys tie.
    fn key(self, f: &BankFigures) -> (i64, i64) {
        match self {
            OutletMeasure::Deposits => (f.deposits.minor(), 0),
            OutletMeasure::DepositGrowth => (f.deposit_growth.minor(), 0),
            OutletMeasure::Loans => (f.loans.minor(), 0),
            OutletMeasure::NplRatio => (
                i64::from(f.loans > Money::ZERO),
                f.npl_ratio_bp.saturating_neg(),
            ),
            OutletMeasure::FeeIncome => (f.fee_income.minor(), 0),
            OutletMeasure::BankCustomers => (f.bank_customers, 0),
        }
    }
}

/// One outlet in the ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutletRank {
    /// 1 for the best; outlets with equal figures share a rank, the next rank skipping
    /// (1, 2, 2, 4).
    pub rank: usize,
    /// The outlet's rank in the previous period (None: it had no figures by that period's end).
    pub previous_rank: Option<usize>,
    /// `previous_rank − rank`: positive for a move up.
    pub rank_change: Option<i64>,
    pub line: OutletLine,
}

/// Sorts `lines` best first by `measure` (ties by name, then id) and gives each its rank.
fn ranked(measure: OutletMeasure, mut lines: Vec<OutletLine>) -> Vec<(usize, OutletLine)> {
    let order = |a: &OutletLine, b: &OutletLine| -> Ordering {
        measure
            .key(&b.figures)
            .cmp(&measure.key(&a.figures))
            .then_with(|| (&a.name, a.outlet).cmp(&(&b.name, b.outlet)))
    };
    lines.sort_by(order);
    let mut out: Vec<(usize, OutletLine)> = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let rank = match out.last() {
            Some((r, prev)) if measure.key(&prev.figures) == measure.key(&line.figures) => *r,
            _ => i + 1,
        };
        out.push((rank, line));
    }
    out
}

/// The outlets of `scope` (the company or a region) with figures up to the period's end,
/// ranked by `measure`, each with its rank in the previous period ([`BranchPeriod::previous`]) among
/// the same scope's outlets.
pub fn outlet_ranking(
    m: &Model,
    scope: BankScope,
    measure: OutletMeasure,
    period: BranchPeriod,
) -> Vec<OutletRank> {
    let (from, to) = period.range();
    let (prev_from, prev_to) = period.previous().range();
    let before: BTreeMap<BranchId, usize> = ranked(measure, lines(m, scope, prev_from, prev_to))
        .into_iter()
        .map(|(rank, line)| (line.outlet, rank))
        .collect();
    ranked(measure, lines(m, scope, from, to))
        .into_iter()
        .map(|(rank, line)| {
            let previous_rank = before.get(&line.outlet).copied();
            OutletRank {
                rank,
                previous_rank,
                rank_change: previous_rank.map(|p| {
                    i64::try_from(p)
                        .unwrap_or(i64::MAX)
                        .saturating_sub(i64::try_from(rank).unwrap_or(i64::MAX))
                }),
                line,
            }
        })
        .collect()
}
