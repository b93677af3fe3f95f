//! Staff performance and the KPI: each staff member's book and monthly flows, the
//! composite under the weights of their post (`[kpi.<role>]` or the company's `[kpi]`),
//! compared with the others scored with the same weights, a team lead's team figures, and
//! leaderboards.

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::auth::{Role, Scope};
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, RegionId, StaffId, TeamId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::derive::Tier;
use crate::model::{month_index, Flows, Model, Totals};
use crate::read_models::churn_figures::staff_churn;
use crate::read_models::churn_kpi::ChurnedCustomer;
use crate::read_models::org::teams;
use crate::rules::{KpiRole, KpiWeightSet, RuleBook};

/// A staff member's figures of one month: flows and their book at its end.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StaffMonth {
    pub flows: Flows,
    /// The book at the end of the month.
    pub book: Totals,
    /// What the month's facts changed in the book: `book` is the previous month's plus this.
    #[serde(default)]
    pub change: Totals,
    /// Customers whose tier moved this month while this staff member served them, sorted by
    /// customer: one entry each (the tier before the month's first move and after its last),
    /// however often they crossed a threshold.
    pub tier_moves: Vec<TierMove>,
    /// Customers counted as new (新增) for this staff member this month, sorted.
    pub acquired: Vec<CustomerId>,
    /// The range of log positions that changed this month (for explanations).
    pub first_position: u64,
    pub last_position: u64,
}

/// A customer's tier move within a month: from the tier before its first move to the tier
/// after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMove {
    pub customer: CustomerId,
    pub from: Tier,
    pub to: Tier,
}

impl StaffMonth {
    /// Records that `customer`'s tier moved from `from` to `to`.
    pub(crate) fn tier_move(&mut self, customer: CustomerId, from: Tier, to: Tier) {
        note_tier_move(&mut self.tier_moves, customer, from, to);
    }
}

/// Records a tier move in a period's sorted list: the first move's `from` stays, the last
/// move's `to` wins.
pub(crate) fn note_tier_move(
    moves: &mut Vec<TierMove>,
    customer: CustomerId,
    from: Tier,
    to: Tier,
) {
    match moves.binary_search_by_key(&customer, |m| m.customer) {
        Ok(i) => moves[i].to = to,
        Err(i) => moves.insert(i, TierMove { customer, from, to }),
    }
}

/// Records an acquisition in a period's sorted list, once.
pub(crate) fn note_acquired(acquired: &mut Vec<CustomerId>, customer: CustomerId) {
    if let Err(i) = acquired.binary_search(&customer) {
        acquired.insert(i, customer);
    }
}

/// A staff member: who, where, and their book (客户经理的客户).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRecord {
    pub id: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub left: bool,
    /// The business day they joined and the one they left (the staff directory's dates).
    pub joined_on: Option<time::Date>,
    pub left_on: Option<time::Date>,
    /// Tokens issued before this instant were revoked.
    pub tokens_valid_from: Option<time::OffsetDateTime>,
    pub book: Totals,
    /// Sorted month indexes with figures.
    pub months: Vec<u32>,
}

impl StaffRecord {
    pub(crate) fn new(id: StaffId) -> StaffRecord {
        StaffRecord {
            id,
            name: String::new(),
            role: None,
            scope: None,
            left: false,
            joined_on: None,
            left_on: None,
            tokens_valid_from: None,
            book: Totals::default(),
            months: Vec::new(),
        }
    }

    pub fn branch(&self) -> Option<BranchId> {
        match self.scope {
            Some(Scope::Branch { branch }) | Some(Scope::Book { branch, .. }) => Some(branch),
            _ => None,
        }
    }

    pub fn team(&self) -> Option<TeamId> {
        match self.scope {
            Some(Scope::Book { team, .. }) => team,
            _ => None,
        }
    }
}

/// A reporting period (考核期).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Period {
    Month {
        year: i32,
        month: u8,
    },
    /// January to `month` of `year` (年初至今).
    YearToDate {
        year: i32,
        month: u8,
    },
    /// A calendar quarter (1–4).
    Quarter {
        year: i32,
        quarter: u8,
    },
}

impl Period {
    /// The period holding a date.
    pub fn month_of(d: Date) -> Period {
        Period::Month {
            year: d.year(),
            month: u8::from(d.month()),
        }
    }

    pub(crate) fn months(self) -> (u32, u32) {
        let idx = |y: i32, mo: u8| {
            u32::try_from(y.max(0)).unwrap_or(0) * 12 + u32::from(mo.clamp(1, 12)) - 1
        };
        match self {
            Period::Month { year, month } => (idx(year, month), idx(year, month)),
            Period::YearToDate { year, month } => (idx(year, 1), idx(year, month)),
            Period::Quarter { year, quarter } => {
                let q = quarter.clamp(1, 4);
                (idx(year, q * 3 - 2), idx(year, q * 3))
            }
        }
    }
}

/// One KPI term: the count and the rate, the best of each in the comparison group, the weight
/// and the points. New customers, churn and upgrades blend a count share and a rate share
/// (`[kpi] count_share_pct`); average profitability is a per-customer figure alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiTerm {
    pub name: String,
    /// Basis points of `base` for rates (0 when `base` is 0: no rate, the count alone
    /// scores); money minor units per customer for profitability.
    pub value: i64,
    /// The rate normaliser: the group's best (for churn, the group's worst).
    pub group_best: i64,
    /// Customers counted (new, churned, upgraded); None for profitability.
    pub count: Option<i64>,
    /// The count normaliser: the group's best (for churn, the group's worst).
    pub group_best_count: Option<i64>,
    /// What the rate is of: customers served at the start of the period.
    pub base: Option<i64>,
    pub weight: u32,
    pub points_centi: i64,
    /// For the churn term, retention beside the rate: 1 − the rate, basis points (None
    /// without a base, and for the other terms).
    #[serde(default)]
    pub retention: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiExplain {
    pub rules_version: u32,
    pub rules_hash: String,
    /// The weight set the terms were scored with: the appraisal role and its rules table.
    pub weights: KpiWeightSet,
    pub terms: Vec<KpiTerm>,
    pub composite_centi: i64,
}

/// A customer manager's or broker's performance in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffPerformance {
    pub staff: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub branch: Option<BranchId>,
    pub team: Option<TeamId>,
    pub period: Period,
    pub customers_served: i64,
    /// Customers served at the start of the period: what the rates are of.
    pub customers_at_start: i64,
    pub new_customers: i64,
    pub churned: i64,
    /// The customers counted in `churned`, each with its cause and day (`churn_kpi`).
    #[serde(default)]
    pub churned_customers: Vec<ChurnedCustomer>,
    /// Retention = 1 − churn rate, basis points of the book at the start (None without one).
    #[serde(default)]
    pub retention_bp: Option<i64>,
    pub upgraded: i64,
    pub downgraded: i64,
    pub assets: Money,
    pub net_inflow: Money,
    pub commission: Money,
    pub turnover: Money,
    pub contacts: i64,
    pub won_amount: Money,
    pub average_contribution_centi: i64,
    pub kpi: KpiExplain,
    pub rank_in_branch: usize,
    pub rank_in_company: usize,
    /// Where the figures came from: (month index, first and last log position that changed
    /// the month's figures) for each month of the period with figures.
    pub sources: Vec<(u32, u64, u64)>,
    /// For a team lead, the figure of each team they lead (团队考核), beside their own.
    pub teams: Vec<TeamResult>,
    /// The bank measures of their book (`read_models::bank_kpi`): on one person's performance
    /// (`staff_performance`) when their book has bank business; None in lists.
    #[serde(default)]
    pub bank: Option<crate::read_models::bank_kpi::BankMeasures>,
}

/// A team's appraisal in a period: the four measures over the union of its members' books,
/// scored with the team lead's weights against every team of the company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamResult {
    pub team: TeamId,
    pub name: String,
    pub lead: Option<StaffId>,
    /// The staff whose books make the team's: its members as the read model holds them now,
    /// and its lead.
    pub members: Vec<StaffId>,
    pub customers_at_start: i64,
    pub customers_served: i64,
    pub new_customers: i64,
    pub churned: i64,
    /// The customers counted in `churned` over the team's books, once each.
    #[serde(default)]
    pub churned_customers: Vec<ChurnedCustomer>,
    /// Retention = 1 − churn rate, basis points (None without customers at the start).
    #[serde(default)]
    pub retention_bp: Option<i64>,
    pub upgraded: i64,
    pub downgraded: i64,
    pub commission: Money,
    pub kpi: KpiExplain,
    /// Rank among the company's teams by composite.
    pub rank: usize,
    /// The members' figure sources, as in [`StaffPerformance::sources`], by member.
    pub sources: Vec<(StaffId, u32, u64, u64)>,
}

/// A customer's tier over a period as one book saw it: the month (or day, for a branch) and
/// tier before its first move, and the month and tier after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NetMove {
    first_month: u32,
    from: Tier,
    last_month: u32,
    to: Tier,
}

impl NetMove {
    /// Folds one sub-period's move (sub-periods in order, `index` increasing) into `moves`.
    pub(crate) fn extend(moves: &mut BTreeMap<CustomerId, NetMove>, mv: &TierMove, index: u32) {
        moves
            .entry(mv.customer)
            .and_modify(|e| {
                e.last_month = index;
                e.to = mv.to;
            })
            .or_insert(NetMove {
                first_month: index,
                from: mv.from,
                last_month: index,
                to: mv.to,
            });
    }

    /// Two books' views of one customer (a customer passed between members of a team) as one:
    /// the earlier view's start and the later one's end. In the same month the two are
    /// chained where one ends at the tier the other starts from.
    fn join(self, other: NetMove) -> NetMove {
        // In a tie, `a` feeds into `b` when `a` ends at the tier `b` starts from (and not the
        // other way round as well).
        let feeds = |a: &NetMove, b: &NetMove| a.to == b.from && b.to != a.from;
        let first = if self.first_month < other.first_month
            || (self.first_month == other.first_month && !feeds(&other, &self))
        {
            self
        } else {
            other
        };
        let last = if self.last_month > other.last_month
            || (self.last_month == other.last_month && !feeds(&self, &other))
        {
            self
        } else {
            other
        };
        NetMove {
            first_month: first.first_month,
            from: first.from,
            last_month: last.last_month,
            to: last.to,
        }
    }
}

struct Raw {
    staff: StaffId,
    /// The period's flows; `upgraded` and `downgraded` count distinct customers.
    flows: Flows,
    book: Totals,
    book_at_start: Totals,
    sources: Vec<(u32, u64, u64)>,
    /// Per customer whose tier moved while served: the net move over the period.
    moves: BTreeMap<CustomerId, NetMove>,
    /// Customers new in the period.
    acquired: BTreeSet<CustomerId>,
    /// Customers lost in the period (`churn_kpi`), customers new in it excluded.
    churned: Vec<ChurnedCustomer>,
}

/// Upgrades are customers, not threshold crossings: a customer whose tier at the period's end
/// is above their tier at its start, customers new in the period excluded (their first scoring
/// is their acquisition, not an upgrade). Returns (upgraded, downgraded).
pub(crate) fn net_moves(
    moves: &BTreeMap<CustomerId, NetMove>,
    acquired: impl Fn(&CustomerId) -> bool,
) -> (i64, i64) {
    let (mut up, mut down) = (0, 0);
    for (c, mv) in moves {
        if acquired(c) {
            continue;
        }
        match mv.to.cmp(&mv.from) {
            std::cmp::Ordering::Greater => up += 1,
            std::cmp::Ordering::Less => down += 1,
            std::cmp::Ordering::Equal => {}
        }
    }
    (up, down)
}

/// Retention: 1 − churned ÷ the book at the start, basis points; None without a book.
pub(crate) fn retention(churned: i64, base: i64) -> Option<i64> {
    (base > 0).then(|| (10_000 - bp(churned, base)).max(0))
}

/// Every staff member's lost customers in a period (`churn_kpi`) under the rules: a month's
/// counted by the fold (`churn_figures`), a quarter's or a year's in one pass.
pub(crate) type StaffChurn = BTreeMap<StaffId, Vec<ChurnedCustomer>>;

/// A period's churn for every book under the rules.
pub(crate) fn churn_of(m: &Model, rules: &RuleBook, period: Period) -> StaffChurn {
    let (from, to) = period.months();
    staff_churn(m, rules.churn.churned_days, from, to)
}

fn staff_raw(m: &Model, staff: StaffId, period: Period, churn: &StaffChurn) -> Option<Raw> {
    let rec = m.staff.get(&staff)?;
    let (from, to) = period.months();
    let mut flows = Flows::default();
    let mut book = None;
    let mut book_at_start = None;
    let mut sources = Vec::new();
    // Per customer: the tier before the period's first move and after its last.
    let mut moves: BTreeMap<CustomerId, NetMove> = BTreeMap::new();
    let mut acquired: BTreeSet<CustomerId> = BTreeSet::new();
    for month in rec.months.iter().copied().filter(|mo| *mo <= to) {
        if let Some(sm) = m.staff_months.get(&(staff, month)) {
            if month >= from {
                flows.add_flows(&sm.flows);
                sources.push((month, sm.first_position, sm.last_position));
                for mv in &sm.tier_moves {
                    NetMove::extend(&mut moves, mv, month);
                }
                acquired.extend(sm.acquired.iter().copied());
            } else {
                book_at_start = Some(&sm.book);
            }
            book = Some(&sm.book);
        }
    }
    (flows.upgraded, flows.downgraded) = net_moves(&moves, |c| acquired.contains(c));
    // Churn is the stock comparison of `churn_kpi`, not the month flows: customers not churned
    // at the start and churned at the end, lost while this person served them.
    let churned: Vec<ChurnedCustomer> = churn
        .get(&staff)
        .map(|list| {
            list.iter()
                .filter(|c| !acquired.contains(&c.customer))
                .copied()
                .collect()
        })
        .unwrap_or_default();
    flows.churned = i64::try_from(churned.len()).unwrap_or(i64::MAX);
    Some(Raw {
        staff,
        churned,
        flows,
        book: book.cloned().unwrap_or_default(),
        book_at_start: book_at_start.cloned().unwrap_or_default(),
        sources,
        moves,
        acquired,
    })
}

pub(crate) fn bp(n: i64, d: i64) -> i64 {
    if d <= 0 {
        0
    } else {
        i64::try_from(i128::from(n) * 10_000 / i128::from(d)).unwrap_or(i64::MAX)
    }
}

/// What a record's KPI is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KpiInput {
    /// New, churned and upgraded customers in the period.
    pub counts: [i64; 3],
    /// Customers served at the period's start: what the rates are of (0: no rates).
    pub base: i64,
    /// Average profitability: commission per customer served (money minor units).
    pub profitability: i64,
}

impl KpiInput {
    pub(crate) fn of(flows: &Flows, base: i64, served_now: i64) -> KpiInput {
        KpiInput {
            counts: [flows.new_customers, flows.churned, flows.upgraded],
            base: base.max(0),
            profitability: flows.commission.minor() / served_now.max(1),
        }
    }

    /// The rates in basis points of the base (0 without a base).
    fn rates(&self) -> [i64; 3] {
        self.counts.map(|c| bp(c, self.base))
    }
}

/// The comparison group's normalisers: the best count and rate of each term (for churn, the
/// worst), and the best profitability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KpiGroup {
    counts: [i64; 3],
    rates: [i64; 3],
    profitability: i64,
}

impl KpiGroup {
    pub(crate) fn of<'a>(inputs: impl IntoIterator<Item = &'a KpiInput>) -> KpiGroup {
        let mut g = KpiGroup::default();
        for i in inputs {
            for (best, count) in g.counts.iter_mut().zip(i.counts) {
                *best = (*best).max(count);
            }
            for (best, rate) in g.rates.iter_mut().zip(i.rates()) {
                *best = (*best).max(rate);
            }
            g.profitability = g.profitability.max(i.profitability);
        }
        g
    }
}

/// The share (basis points of the weight) a value earns against its normaliser; churn counts
/// the other way: the group's worst scores 0 and none scores the full weight.
fn share(value: i64, normaliser: i64, fewer_is_better: bool) -> i64 {
    let (v, n) = (value.max(0), normaliser.max(0));
    if fewer_is_better {
        if n == 0 {
            10_000
        } else {
            10_000 - bp(v, n).min(10_000)
        }
    } else {
        bp(v, n).min(10_000)
    }
}

/// Scores one record against its group under the weights of its appraisal role (`role`: its
/// `[kpi.<role>]` set, or the company's). New customers, churn and upgrades each blend the
/// count's share (`count_share_pct`) with the rate's share, so a small book's rate does not
/// beat a large book's numbers; without customers at the period's start there is no rate and
/// the count alone scores.
pub(crate) fn kpi(
    input: &KpiInput,
    group: &KpiGroup,
    rules: &RuleBook,
    role: Option<KpiRole>,
) -> KpiExplain {
    let set = rules.kpi_for(role);
    let w = &set.weights;
    let count_pct = i64::from(w.count_share_pct.min(100));
    let weights = [w.new_customer_rate, w.churn_rate, w.upgrade_rate];
    let names = ["new_customer_rate", "churn_rate", "upgrade_rate"];
    let rates = input.rates();
    let mut terms = Vec::new();
    for k in 0..3 {
        let churn = k == 1;
        let by_count = share(input.counts[k], group.counts[k], churn);
        let earned = if input.base > 0 {
            let by_rate = share(rates[k], group.rates[k], churn);
            (by_count * count_pct + by_rate * (100 - count_pct)) / 100
        } else {
            by_count
        };
        terms.push(KpiTerm {
            name: names[k].into(),
            value: rates[k],
            group_best: group.rates[k],
            count: Some(input.counts[k]),
            group_best_count: Some(group.counts[k]),
            base: Some(input.base),
            weight: weights[k],
            points_centi: i64::from(weights[k]) * earned / 100,
            retention: if churn {
                retention(input.counts[k], input.base)
            } else {
                None
            },
        });
    }
    let wt = w.average_profitability;
    terms.push(KpiTerm {
        name: "average_profitability".into(),
        value: input.profitability,
        group_best: group.profitability,
        count: None,
        group_best_count: None,
        base: None,
        weight: wt,
        points_centi: i64::from(wt) * share(input.profitability, group.profitability, false) / 100,
        retention: None,
    });
    KpiExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        weights: set,
        composite_centi: terms.iter().map(|t| t.points_centi).sum(),
        terms,
    }
}

/// Customers served: the active and dormant customers of a book. Prospects are not customers
/// yet, and churned or closed ones are lost (they stay in the status counts, but must not
/// flatter the rates).
pub(crate) fn served(t: &Totals) -> i64 {
    t.by_lifecycle[Lifecycle::Active as usize] + t.by_lifecycle[Lifecycle::Dormant as usize]
}

fn is_book_role(r: Option<Role>) -> bool {
    matches!(r, Some(Role::CustomerManager) | Some(Role::Broker))
}

/// The post a staff member is appraised as (`[kpi.<role>]`): team lead if they lead a team
/// that is not dissolved, otherwise their role's post; None for roles with no post of their
/// own (they take the company's weights).
pub fn appraisal_role(role: Option<Role>, leads_a_team: bool) -> Option<KpiRole> {
    if leads_a_team {
        return Some(KpiRole::TeamLead);
    }
    match role {
        Some(Role::CustomerManager) => Some(KpiRole::CustomerManager),
        Some(Role::Broker) => Some(KpiRole::Broker),
        Some(Role::BranchManager) => Some(KpiRole::Branch),
        _ => None,
    }
}

/// The teams (not dissolved) each staff member leads.
fn team_leads(m: &Model) -> BTreeMap<StaffId, Vec<TeamId>> {
    let mut out: BTreeMap<StaffId, Vec<TeamId>> = BTreeMap::new();
    for (id, t) in teams(m).filter(|(_, t)| !t.dissolved) {
        if let Some(lead) = t.lead {
            out.entry(lead).or_default().push(id);
        }
    }
    out
}

/// Scores each input against the others scored with the same weight set (a post with a
/// `[kpi.<role>]` table of its own is compared within that post; everyone else with the
/// company's weights together).
fn score_by_weight_set(
    rules: &RuleBook,
    scored: &[(KpiInput, Option<KpiRole>)],
) -> Vec<KpiExplain> {
    let mut inputs: BTreeMap<Option<KpiRole>, Vec<&KpiInput>> = BTreeMap::new();
    for (input, role) in scored {
        inputs
            .entry(rules.kpi_for(*role).table)
            .or_default()
            .push(input);
    }
    let groups: BTreeMap<Option<KpiRole>, KpiGroup> = inputs
        .into_iter()
        .map(|(table, members)| (table, KpiGroup::of(members)))
        .collect();
    scored
        .iter()
        .map(|(input, role)| {
            let group = groups
                .get(&rules.kpi_for(*role).table)
                .copied()
                .unwrap_or_default();
            kpi(input, &group, rules, *role)
        })
        .collect()
}

/// Every team's figure (not dissolved teams): the four measures over the union of its
/// members' books (`raws`: everyone appraised), scored with the team lead's weights against
/// the company's teams, in rank order.
fn team_results(m: &Model, rules: &RuleBook, raws: &[Raw]) -> Vec<TeamResult> {
    let mut members: BTreeMap<TeamId, BTreeSet<StaffId>> = BTreeMap::new();
    for r in raws {
        if let Some(t) = m.staff.get(&r.staff).and_then(|s| s.team()) {
            members.entry(t).or_default().insert(r.staff);
        }
    }
    let by_staff: BTreeMap<StaffId, &Raw> = raws.iter().map(|r| (r.staff, r)).collect();
    let mut out = Vec::new();
    let mut inputs = Vec::new();
    for (id, t) in teams(m).filter(|(_, t)| !t.dissolved) {
        let mut staff = members.remove(&id).unwrap_or_default();
        staff.extend(t.lead);
        let mut flows = Flows::default();
        let (mut at_start, mut served_now) = (0, 0);
        let mut moves: BTreeMap<CustomerId, NetMove> = BTreeMap::new();
        let mut acquired = BTreeSet::new();
        let mut lost: BTreeMap<CustomerId, ChurnedCustomer> = BTreeMap::new();
        let mut sources = Vec::new();
        for r in staff.iter().filter_map(|s| by_staff.get(s)) {
            flows.add_flows(&r.flows);
            at_start += served(&r.book_at_start);
            served_now += served(&r.book);
            for (c, mv) in &r.moves {
                moves
                    .entry(*c)
                    .and_modify(|e| *e = e.join(*mv))
                    .or_insert(*mv);
            }
            acquired.extend(r.acquired.iter().copied());
            lost.extend(r.churned.iter().map(|c| (c.customer, *c)));
            sources.extend(r.sources.iter().map(|(mo, f, l)| (r.staff, *mo, *f, *l)));
        }
        (flows.upgraded, flows.downgraded) = net_moves(&moves, |c| acquired.contains(c));
        let churned_customers: Vec<ChurnedCustomer> = lost
            .into_values()
            .filter(|c| !acquired.contains(&c.customer))
            .collect();
        flows.churned = i64::try_from(churned_customers.len()).unwrap_or(i64::MAX);
        let input = KpiInput::of(&flows, at_start, served_now);
        inputs.push(input);
        out.push(TeamResult {
            team: id,
            name: t.name.clone(),
            lead: t.lead,
            members: staff.into_iter().collect(),
            customers_at_start: input.base,
            customers_served: served_now,
            new_customers: flows.new_customers,
            churned: flows.churned,
            churned_customers,
            retention_bp: retention(flows.churned, input.base),
            upgraded: flows.upgraded,
            downgraded: flows.downgraded,
            commission: flows.commission,
            kpi: KpiExplain {
                rules_version: rules.version,
                rules_hash: rules.hash.clone(),
                weights: rules.kpi_for(Some(KpiRole::TeamLead)),
                terms: Vec::new(),
                composite_centi: 0,
            },
            rank: 0,
            sources,
        });
    }
    let group = KpiGroup::of(&inputs);
    for (t, input) in out.iter_mut().zip(&inputs) {
        t.kpi = kpi(input, &group, rules, Some(KpiRole::TeamLead));
    }
    out.sort_by(|a, b| {
        b.kpi
            .composite_centi
            .cmp(&a.kpi.composite_centi)
            .then(a.team.cmp(&b.team))
    });
    for (i, t) in out.iter_mut().enumerate() {
        t.rank = i + 1;
    }
    out
}

/// Everyone with a book in the company, evaluated and ranked for `period`: each scored with
/// their post's weights against the others scored with the same weights, and a team lead
/// with their teams' figures beside their own.
pub fn company_performance(m: &Model, rules: &RuleBook, period: Period) -> Vec<StaffPerformance> {
    let churn = churn_of(m, rules, period);
    let mut raws: Vec<Raw> = m
        .staff
        .values()
        .filter(|s| is_book_role(s.role) || !s.months.is_empty())
        .filter_map(|s| staff_raw(m, s.id, period, &churn))
        .collect();
    raws.sort_unstable_by_key(|r| r.staff);
    let leads = team_leads(m);
    let scored: Vec<(KpiInput, Option<KpiRole>)> = raws
        .iter()
        .map(|r| {
            let input = KpiInput::of(&r.flows, served(&r.book_at_start), served(&r.book));
            let role = m.staff.get(&r.staff).and_then(|s| s.role);
            (input, appraisal_role(role, leads.contains_key(&r.staff)))
        })
        .collect();
    let explained = score_by_weight_set(rules, &scored);
    let team_figures = if leads.is_empty() {
        Vec::new()
    } else {
        team_results(m, rules, &raws)
    };
    let mut out: Vec<StaffPerformance> = raws
        .iter()
        .zip(scored)
        .zip(explained)
        .map(|((r, (input, _)), kpi)| {
            let s = m.staff.get(&r.staff);
            let led = leads.get(&r.staff);
            StaffPerformance {
                staff: r.staff,
                name: s.map(|s| s.name.clone()).unwrap_or_default(),
                role: s.and_then(|s| s.role),
                branch: s.and_then(|s| s.branch()),
                team: s.and_then(|s| s.team()),
                period,
                customers_served: served(&r.book),
                customers_at_start: input.base,
                new_customers: r.flows.new_customers,
                churned: r.flows.churned,
                churned_customers: r.churned.clone(),
                retention_bp: retention(r.flows.churned, input.base),
                upgraded: r.flows.upgraded,
                downgraded: r.flows.downgraded,
                assets: r.book.assets,
                net_inflow: r.flows.net_inflow(),
                commission: r.flows.commission,
                turnover: r.flows.turnover,
                contacts: r.flows.contacts,
                won_amount: r.flows.won_amount,
                average_contribution_centi: r.book.score_sum_centi / r.book.customers.max(1),
                kpi,
                rank_in_branch: 0,
                rank_in_company: 0,
                sources: r.sources.clone(),
                teams: team_figures
                    .iter()
                    .filter(|t| led.is_some_and(|l| l.contains(&t.team)))
                    .cloned()
                    .collect(),
                bank: None,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.kpi
            .composite_centi
            .cmp(&a.kpi.composite_centi)
            .then(a.staff.cmp(&b.staff))
    });
    let mut per_branch: BTreeMap<Option<BranchId>, usize> = BTreeMap::new();
    for (i, p) in out.iter_mut().enumerate() {
        p.rank_in_company = i + 1;
        let n = per_branch.entry(p.branch).or_default();
        *n += 1;
        p.rank_in_branch = *n;
    }
    out
}

pub fn staff_performance(
    m: &Model,
    rules: &RuleBook,
    staff: StaffId,
    period: Period,
) -> Option<StaffPerformance> {
    let mut p = company_performance(m, rules, period)
        .into_iter()
        .find(|p| p.staff == staff)?;
    p.bank = crate::read_models::bank_kpi::staff_bank_measures(m, rules, staff, period);
    Some(p)
}

/// Whose leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderboardScope {
    Company,
    Region(RegionId),
    Branch(BranchId),
    Team(TeamId),
}

pub fn leaderboard(
    m: &Model,
    rules: &RuleBook,
    scope: LeaderboardScope,
    period: Period,
) -> Vec<StaffPerformance> {
    company_performance(m, rules, period)
        .into_iter()
        .filter(|p| match scope {
            LeaderboardScope::Company => true,
            LeaderboardScope::Region(r) => p
                .branch
                .and_then(|b| m.meta.branches.get(&b))
                .is_some_and(|b| b.region == r),
            LeaderboardScope::Branch(b) => p.branch == Some(b),
            LeaderboardScope::Team(t) => p.team == Some(t),
        })
        .collect()
}

/// The month index of a period's end, for callers that page by month.
pub fn period_end_month(p: Period) -> u32 {
    p.months().1
}

/// The month index of a date (re-exported for callers building periods).
pub fn month_of(d: Date) -> u32 {
    month_index(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::read_models::dashboards::BranchPeriod;
    use time::macros::date;

    #[test]
    fn kpi_terms_blend_count_and_rate_and_churn_counts_the_other_way() {
        let rules = RuleBook::default_rules().unwrap();
        // A 500-customer book with 100 new against a 3-customer book with 1 new: the count
        // share (100% against 1%) and the rate share (20% of the best 33.33%: 60%, against
        // 100%) blend half and half.
        let big = KpiInput {
            counts: [100, 0, 0],
            base: 500,
            profitability: 0,
        };
        let small = KpiInput {
            counts: [1, 0, 0],
            base: 3,
            profitability: 0,
        };
        let group = KpiGroup::of([&big, &small]);
        let (b, s) = (
            kpi(&big, &group, &rules, None),
            kpi(&small, &group, &rules, None),
        );
        // 20 × (100% + 60%) / 2 = 16.00 points; 20 × (1% + 100%) / 2 = 10.10 points.
        assert_eq!(b.terms[0].points_centi, 1600);
        assert_eq!(s.terms[0].points_centi, 1010);
        assert!(b.composite_centi > s.composite_centi);
        // No churn anywhere: everyone earns the churn weight (30 points).
        assert_eq!(b.terms[1].points_centi, 3000);
        // The worst churn scores nothing; without a book at the start the count alone scores.
        let churner = KpiInput {
            counts: [0, 4, 0],
            base: 0,
            profitability: 0,
        };
        let group = KpiGroup::of([&big, &churner]);
        assert_eq!(kpi(&churner, &group, &rules, None).terms[1].points_centi, 0);
        assert_eq!(kpi(&churner, &group, &rules, None).terms[1].base, Some(0));
    }

    #[test]
    fn a_customer_passed_between_team_members_is_one_move_from_start_to_end() {
        let mv = |first_month, from, last_month, to| NetMove {
            first_month,
            from,
            last_month,
            to,
        };
        let (s, g, d) = (Tier::Standard, Tier::Gold, Tier::Diamond);
        // Served by one member in January (standard → gold), by another in February (gold →
        // diamond): standard → diamond, whichever book comes first.
        let (a, b) = (mv(1, s, 1, g), mv(2, g, 2, d));
        assert_eq!(a.join(b), mv(1, s, 2, d));
        assert_eq!(b.join(a), mv(1, s, 2, d));
        // Both in February: chained where one ends at the tier the other starts from.
        let (a, b) = (mv(2, s, 2, g), mv(2, g, 2, d));
        assert_eq!(a.join(b), mv(2, s, 2, d));
        assert_eq!(b.join(a), mv(2, s, 2, d));
        // One book saw January to March, the other only February: the longer view's ends.
        let (a, b) = (mv(1, s, 3, d), mv(2, d, 2, g));
        assert_eq!(a.join(b), mv(1, s, 3, d));
        // Counted once, as a customer: up, down, none, and new customers not at all.
        let c = |n: u128| CustomerId::from(uuid::Uuid::from_u128(n));
        let moves = BTreeMap::from([
            (c(1), mv(1, s, 2, d)),
            (c(2), mv(1, d, 1, g)),
            (c(3), mv(1, s, 2, s)),
            (c(4), mv(1, s, 1, d)),
        ]);
        assert_eq!(net_moves(&moves, |x| *x == c(4)), (1, 1));
    }

    #[test]
    fn periods_cover_their_months() {
        assert_eq!(
            Period::Month {
                year: 2024,
                month: 3
            }
            .months(),
            (24290, 24290)
        );
        let (a, b) = Period::YearToDate {
            year: 2024,
            month: 3,
        }
        .months();
        assert_eq!((b - a), 2);
        assert_eq!(
            BranchPeriod::Month {
                year: 2024,
                month: 2
            }
            .range(),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
    }
}
