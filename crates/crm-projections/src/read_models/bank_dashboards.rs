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
//! - Deposits and loans by product are the period-end stock split by the account's product
//!   code (产品代码, as the core system sends it: `DepositAccount.product`,
//!   `LoanContract.product`), from the same day as the split by kind and by class. The map is
//!   keyed by product, which the organisation defines, never by customer or day.
//! - Contribution (客户贡献度, `[bank_contribution]`) of an outlet is the sum of the period's
//!   contribution (`derive::bank_contribution`, one month or part of one) of the bank customers
//!   it serves: those assigned to it (the customer's branch), whichever outlet holds their
//!   accounts, as the bank KPI sums a manager's book; a period not over yet counts to the
//!   latest business date, as `Customer.bankContribution` does. None when the rules have no
//!   `[bank_contribution]`. It is computed when asked — the caller passes the rules to compute
//!   it under, or None to leave it out (the API does when the field is not selected) — one
//!   pass over the bank customers per period (two for a ranking: this period and the
//!   previous); see [`outlet_contributions`] for the cost measured on the bank demo.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crm_domain::ids::{BranchId, RegionId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::derive::bank_contribution;
use crate::model::{madd, Model};
use crate::read_models::banking::{
    outlet_banking, OutletDay, DEPOSIT_KINDS, LOAN_CLASSES, LOAN_CLASSES_ALL,
};
use crate::read_models::dashboards::BranchPeriod;
use crate::read_models::performance::bp;
use crate::rules::RuleBook;

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
    /// Deposit balances at the period's end (the day of `deposits_on`) by product code.
    #[serde(default)]
    pub deposits_by_product: BTreeMap<String, Money>,
    /// Loan balances at the period's end (the day of `loans_on`) by product code.
    #[serde(default)]
    pub loans_by_product: BTreeMap<String, Money>,
    /// The period's contribution of the customers the outlet serves; None when the rules
    /// have no `[bank_contribution]` or it was not asked for.
    #[serde(default)]
    pub contribution: Option<Money>,
}

/// Adds `from`'s figures per product into `into`.
fn add_products(into: &mut BTreeMap<String, Money>, from: &BTreeMap<String, Money>) {
    for (product, v) in from {
        match into.get_mut(product) {
            Some(x) => *x = madd(*x, *v),
            None => {
                into.insert(product.clone(), *v);
            }
        }
    }
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
        add_products(&mut self.deposits_by_product, &o.deposits_by_product);
        add_products(&mut self.loans_by_product, &o.loans_by_product);
        self.contribution = match (self.contribution, o.contribution) {
            (None, None) => None,
            (a, b) => Some(madd(a.unwrap_or(Money::ZERO), b.unwrap_or(Money::ZERO))),
        };
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
/// deposits before the period and the bank customers, which count every day up to `to`, and
/// the stock by product of the days the stock is of. The contribution is left None (it is the
/// served customers', [`outlet_contributions`]).
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
    // The days the stock is of (the latest with positions up to `to`, as `outlet_banking`'s).
    let (mut deposit_day, mut loan_day): (Option<&OutletDay>, Option<&OutletDay>) = (None, None);
    for d in days {
        let Some(od) = m.outlet_days.get(&(branch, *d)) else {
            continue;
        };
        if od.deposit_positions > 0 {
            deposit_day = Some(od);
        }
        if od.loan_positions > 0 {
            loan_day = Some(od);
        }
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
    if let Some(od) = deposit_day {
        f.deposits_by_product = od.deposits_by_product.clone();
    }
    if let Some(od) = loan_day {
        f.loans_by_product = od.loans_by_product.clone();
    }
    f.settle();
    Some(f)
}

/// The period's contribution (`derive::bank_contribution` for `from..=to`, clamped to `from`'s
/// month and to the latest business date when that falls in the period) of the bank customers
/// each of `outlets` serves (the customer's assigned branch),
/// summed per outlet; an outlet serving none has none in the map. None when the rules have no
/// `[bank_contribution]`.
///
/// One pass over the bank customers, computing the contribution of those served by one of
/// `outlets`. Measured on the bank demo (`crm demo --profile bank --customers 1000`, 250 days,
/// 373,080 events, 945 bank customers; debug build, shared 2-core machine, 20 requests each):
/// the company's `bankDashboard` for a month took 22.5 ms with `contribution` selected against
/// 13.5 ms without, so about 10 µs per bank customer per pass; `outletRanking(by:
/// CONTRIBUTION)` 37.8 ms against 10.2 ms by deposits (two passes). Linear in bank customers:
/// some 100–150 ms a pass at the default 10,000 customers in a debug build.
pub fn outlet_contributions(
    m: &Model,
    rules: &RuleBook,
    outlets: &[BranchId],
    from: Date,
    to: Date,
) -> Option<BTreeMap<BranchId, Money>> {
    rules.bank_contribution.as_ref()?;
    let to = match m.meta.log_date {
        Some(today) if today >= from => to.min(today),
        _ => to,
    };
    let wanted: BTreeSet<BranchId> = outlets.iter().copied().collect();
    let mut out: BTreeMap<BranchId, Money> = BTreeMap::new();
    for (id, _) in m.bank_customers.iter() {
        let Some(branch) = m.customers.get(id).and_then(|c| c.branch()) else {
            continue;
        };
        if !wanted.contains(&branch) {
            continue;
        }
        if let Some(e) = bank_contribution(m, rules, *id, from, to) {
            let v = out.entry(branch).or_insert(Money::ZERO);
            *v = madd(*v, e.contribution);
        }
    }
    Some(out)
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

fn lines(
    m: &Model,
    rules: Option<&RuleBook>,
    scope: BankScope,
    from: Date,
    to: Date,
) -> Vec<OutletLine> {
    let outlets = outlets_of(m, scope);
    let contributions = rules.and_then(|r| outlet_contributions(m, r, &outlets, from, to));
    outlets
        .into_iter()
        .filter_map(|b| {
            let mut figures = outlet_figures(m, b, from, to)?;
            figures.contribution = contributions
                .as_ref()
                .map(|c| c.get(&b).copied().unwrap_or(Money::ZERO));
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
/// does not know (a known one with no figures yet has zeros). The served customers'
/// contribution under `contribution`'s rules; None leaves it out.
pub fn bank_dashboard(
    m: &Model,
    contribution: Option<&RuleBook>,
    scope: BankScope,
    period: BranchPeriod,
) -> Option<BankDashboard> {
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
    let mut outlets = lines(m, contribution, scope, from, to);
    outlets.sort_by(|a, b| (&a.name, a.outlet).cmp(&(&b.name, b.outlet)));
    let mut figures = BankFigures {
        contribution: contribution
            .and_then(|r| r.bank_contribution.as_ref())
            .map(|_| Money::ZERO),
        ..BankFigures::default()
    };
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
    /// The period's contribution of the customers the outlet serves, most first (all tie when
    /// the rules have no `[bank_contribution]` or none are given).
    Contribution,
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
            OutletMeasure::Contribution => (f.contribution.map_or(0, |c| c.minor()), 0),
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
/// the same scope's outlets. The served customers' contribution is computed under
/// `contribution`'s rules (None leaves it out; the previous period's only when it is the
/// measure).
pub fn outlet_ranking(
    m: &Model,
    contribution: Option<&RuleBook>,
    scope: BankScope,
    measure: OutletMeasure,
    period: BranchPeriod,
) -> Vec<OutletRank> {
    let (from, to) = period.range();
    let (prev_from, prev_to) = period.previous().range();
    let before_rules = contribution.filter(|_| measure == OutletMeasure::Contribution);
    let before: BTreeMap<BranchId, usize> =
        ranked(measure, lines(m, before_rules, scope, prev_from, prev_to))
            .into_iter()
            .map(|(rank, line)| (line.outlet, rank))
            .collect();
    ranked(measure, lines(m, contribution, scope, from, to))
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
