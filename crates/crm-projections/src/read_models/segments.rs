//! Customer lists and segments: filters, rows, counts, and ordered two-way paging.

use std::collections::BTreeMap;

use crm_domain::customer::{ChurnReason, CustomerKind, Lifecycle};
use crm_domain::ids::{BranchId, CustomerId, RegionId, StaffId, TeamId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::derive::{self, ChurnRisk, RiskPreference, Tier};
use crate::model::today;
use crate::model::{madd, Model};
use crate::read_models::archive::{AtRiskFlagRecord, CustomerRecord};
use crate::read_models::name_match::pinyin_matches;
use crate::rules::RuleBook;

/// Which customers a list or segment holds. Every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFilter {
    pub branch: Option<BranchId>,
    pub region: Option<RegionId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub tier: Option<Tier>,
    pub risk_preference: Option<RiskPreference>,
    pub churn_risk: Option<ChurnRisk>,
    pub lifecycle: Option<Lifecycle>,
    pub kind: Option<CustomerKind>,
    pub key_customer: Option<bool>,
    pub min_assets: Option<Money>,
    /// Part of the name, the name in pinyin (initials or full), or the start of the id.
    pub text: Option<String>,
    /// The date churn risk is evaluated at; `None` = the log's latest business date.
    pub as_of: Option<Date>,
}

/// One customer in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub name: String,
    pub kind: CustomerKind,
    pub lifecycle: Lifecycle,
    pub branch: Option<BranchId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub assets: Money,
    pub contribution_score_centi: i64,
    pub tier: Tier,
    pub risk_preference: RiskPreference,
    pub churn_risk: ChurnRisk,
    /// Why the churn risk is what it is (the rule and the figures); None at low risk.
    pub churn_risk_reason: Option<String>,
    /// The reason recorded with the customer's churn; None unless they churned.
    pub churn_reason: Option<ChurnReason>,
    /// The standing at-risk warning (流失预警), if any; never churn.
    pub at_risk_flag: Option<AtRiskFlagRecord>,
    pub position: u64,
}

/// A page of a list: items after the cursor, the cursor of the last item when more follow,
/// and the total that match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<CustomerId>,
    pub total: usize,
}

fn row(m: &Model, rules: &RuleBook, c: &CustomerRecord, on: Date) -> CustomerRow {
    let churn = derive::churn_in(m, c, rules, on);
    CustomerRow {
        id: c.id,
        name: c.profile.name.as_str().to_string(),
        kind: c.kind,
        lifecycle: c.lifecycle,
        branch: c.branch(),
        manager: c.manager(),
        team: c.assignment.and_then(|a| a.team),
        assets: c.assets,
        contribution_score_centi: c.derived.score_centi,
        tier: c.derived.tier,
        risk_preference: c.derived.risk_preference,
        churn_risk: churn.risk,
        churn_risk_reason: (!churn.reason.is_empty()).then_some(churn.reason),
        churn_reason: (c.lifecycle == Lifecycle::Churned)
            .then(|| c.churn_reason.as_ref().map(|(r, _)| *r))
            .flatten(),
        at_risk_flag: c.at_risk_flag.clone(),
        position: c.position,
    }
}

fn matches(m: &Model, rules: &RuleBook, f: &SegmentFilter, c: &CustomerRecord, on: Date) -> bool {
    let a = c.assignment;
    f.branch.is_none_or(|b| a.is_some_and(|a| a.branch == b))
        && f.region.is_none_or(|r| {
            a.and_then(|a| m.meta.branches.get(&a.branch))
                .is_some_and(|b| b.region == r)
        })
        && f.manager
            .is_none_or(|s| a.is_some_and(|a| a.manager == Some(s)))
        && f.team.is_none_or(|t| a.is_some_and(|a| a.team == Some(t)))
        && f.tier.is_none_or(|t| c.derived.tier == t)
        && f.risk_preference
            .is_none_or(|r| c.derived.risk_preference == r)
        && f.lifecycle.is_none_or(|l| c.lifecycle == l)
        && f.kind.is_none_or(|k| c.kind == k)
        && f.key_customer.is_none_or(|k| c.key_customer == k)
        && f.min_assets.is_none_or(|x| c.assets >= x)
        && f.text.as_deref().is_none_or(|t| text_matches(t, c))
        && f.churn_risk
            .is_none_or(|r| derive::churn_in(m, c, rules, on).risk == r)
}

/// The text filter: part of the name, the name in pinyin (initials `zs` or full `zhangsan`
/// for 张三, [`pinyin_matches`]), or the start of the customer id.
fn text_matches(text: &str, c: &CustomerRecord) -> bool {
    let name = c.profile.name.as_str();
    name.contains(text) || pinyin_matches(text, name) || c.id.to_string().starts_with(text)
}

/// Customers matching `filter` and `visible` (the caller's scope), in id order, after
/// `cursor`, at most `limit`.
pub fn customers(
    m: &Model,
    rules: &RuleBook,
    filter: &SegmentFilter,
    visible: impl Fn(&CustomerRecord) -> bool,
    cursor: Option<CustomerId>,
    limit: usize,
) -> Page<CustomerRow> {
    let on = today(m, filter.as_of);
    let mut hits: Vec<&CustomerRecord> = m
        .customers
        .values()
        .filter(|c| c.lifecycle != Lifecycle::Merged || filter.lifecycle == Some(Lifecycle::Merged))
        .filter(|c| visible(c) && matches(m, rules, filter, c, on))
        .collect();
    hits.sort_unstable_by_key(|c| c.id);
    let total = hits.len();
    let start = cursor.map_or(0, |cur| hits.partition_point(|c| c.id <= cur));
    let page: Vec<CustomerRow> = hits
        .iter()
        .skip(start)
        .take(limit)
        .map(|c| row(m, rules, c, on))
        .collect();
    let next_cursor = if start + page.len() < total {
        page.last().map(|r| r.id)
    } else {
        None
    };
    Page {
        items: page,
        next_cursor,
        total,
    }
}

/// One customer's list row, churn evaluated at `as_of` (default the log's latest date).
pub fn customer_row(
    m: &Model,
    rules: &RuleBook,
    id: CustomerId,
    as_of: Option<Date>,
) -> Option<CustomerRow> {
    m.customers
        .get(&id)
        .map(|c| row(m, rules, c, today(m, as_of)))
}

/// Counts of a segment by tier, risk preference and churn risk.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SegmentCounts {
    pub as_of: Option<Date>,
    pub customers: usize,
    pub by_tier: BTreeMap<Tier, usize>,
    pub by_risk_preference: BTreeMap<RiskPreference, usize>,
    pub by_churn_risk: BTreeMap<ChurnRisk, usize>,
    pub assets: Money,
}

pub fn segments(m: &Model, rules: &RuleBook, filter: &SegmentFilter) -> SegmentCounts {
    let on = today(m, filter.as_of);
    let mut s = SegmentCounts {
        as_of: Some(on),
        ..SegmentCounts::default()
    };
    for c in m.customers.values() {
        if c.lifecycle == Lifecycle::Merged || !matches(m, rules, filter, c, on) {
            continue;
        }
        s.customers += 1;
        *s.by_tier.entry(c.derived.tier).or_default() += 1;
        *s.by_risk_preference
            .entry(c.derived.risk_preference)
            .or_default() += 1;
        *s.by_churn_risk
            .entry(derive::churn_in(m, c, rules, on).risk)
            .or_default() += 1;
        s.assets = madd(s.assets, c.assets);
    }
    s
}

/// The order of a customer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CustomerOrder {
    #[default]
    Id,
    /// Largest assets first.
    AssetsDesc,
    /// Highest contribution score first.
    ScoreDesc,
    Name,
}

/// Where a row sits in an ordering: its sort key, then its id (ids break ties, so every row
/// has exactly one place).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerCursor {
    pub key: SortKey,
    pub id: CustomerId,
}

impl CustomerOrder {
    pub fn cursor(self, c: &CustomerRecord) -> CustomerCursor {
        let key = match self {
            CustomerOrder::Id => SortKey::Number(0),
            // Negated so that ascending cursor order is descending value order.
            CustomerOrder::AssetsDesc => SortKey::Number(c.assets.minor().saturating_neg()),
            CustomerOrder::ScoreDesc => SortKey::Number(c.derived.score_centi.saturating_neg()),
            CustomerOrder::Name => SortKey::Text(c.profile.name.as_str().to_string()),
        };
        CustomerCursor { key, id: c.id }
    }
}

/// A Relay window: rows after `after` and before `before`, then the first `first` or the
/// last `last` of those.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub after: Option<CustomerCursor>,
    pub before: Option<CustomerCursor>,
    pub first: Option<usize>,
    pub last: Option<usize>,
}

/// A window of a list with what lies on either side of it, counted exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub rows: Vec<(CustomerCursor, CustomerRow)>,
    pub has_previous: bool,
    pub has_next: bool,
    pub total: usize,
}

/// Customers matching `filter` and `visible`, in `order`, cut to `window`.
pub fn customer_slice(
    m: &Model,
    rules: &RuleBook,
    filter: &SegmentFilter,
    visible: impl Fn(&CustomerRecord) -> bool,
    order: CustomerOrder,
    window: &Window,
) -> Slice {
    let hits = customer_hits(m, rules, filter, visible, order);
    slice_of(m, rules, &hits, window, filter.as_of)
}

/// Every customer matching `filter` and `visible`, in `order`: what a list pages through.
/// Callers may keep it while the model does not change, and cut windows from it with
/// [`slice_of`].
pub fn customer_hits(
    m: &Model,
    rules: &RuleBook,
    filter: &SegmentFilter,
    visible: impl Fn(&CustomerRecord) -> bool,
    order: CustomerOrder,
) -> Vec<(CustomerCursor, CustomerId)> {
    let on = today(m, filter.as_of);
    let mut hits: Vec<(CustomerCursor, CustomerId)> = m
        .customers
        .values()
        .filter(|c| c.lifecycle != Lifecycle::Merged || filter.lifecycle == Some(Lifecycle::Merged))
        .filter(|c| visible(c) && matches(m, rules, filter, c, on))
        .map(|c| (order.cursor(c), c.id))
        .collect();
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    hits
}

/// A window of `hits` (from [`customer_hits`] on the same model) with its rows.
pub fn slice_of(
    m: &Model,
    rules: &RuleBook,
    hits: &[(CustomerCursor, CustomerId)],
    window: &Window,
    as_of: Option<Date>,
) -> Slice {
    let on = today(m, as_of);
    let total = hits.len();
    let mut start = window
        .after
        .as_ref()
        .map_or(0, |a| hits.partition_point(|(k, _)| k <= a));
    let mut end = window
        .before
        .as_ref()
        .map_or(total, |b| hits.partition_point(|(k, _)| k < b))
        .max(start);
    if let Some(n) = window.first {
        end = end.min(start.saturating_add(n));
    }
    if let Some(n) = window.last {
        start = start.max(end.saturating_sub(n));
    }
    Slice {
        rows: hits[start..end]
            .iter()
            .filter_map(|(k, id)| {
                m.customers
                    .get(id)
                    .map(|c| (k.clone(), row(m, rules, c, on)))
            })
            .collect(),
        has_previous: start > 0,
        has_next: end < total,
        total,
    }
}
