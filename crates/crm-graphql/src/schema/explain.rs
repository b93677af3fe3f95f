//! Explanations of derived values: the rule-set version and hash, each term of the formula
//! with its input and weight, and the log positions of the events that fed the inputs — what
//! a customer manager shows a customer and what an auditor recomputes.

use async_graphql::{Enum, SimpleObject};
use crm_projections::derive::{
    ChurnExplain, ContributionExplain, DepositOutflow, Inputs, RiskExplain,
};
use crm_projections::rules::KpiWeightSet;
use crm_projections::views::KpiExplain;

use super::customers::{label, money};
use super::readside::{centi, int, ChurnRisk, RiskPreference, Tier};
use super::scalars::Long;

fn longs(v: Vec<u64>) -> Vec<Long> {
    v.into_iter().map(Long).collect()
}

/// One term of a formula as evaluated.
#[derive(SimpleObject, Debug)]
pub struct FormulaTerm {
    pub name: String,
    /// The input in its unit (money in yuan; counts; days).
    pub input: String,
    pub unit: String,
    /// The input at which the term earns its full weight.
    pub cap: String,
    pub weight: i32,
    /// Points this term adds.
    pub points: f64,
}

/// The trailing-twelve-month inputs a score or preference was computed from.
#[derive(SimpleObject, Debug)]
pub struct ScoreInputs {
    pub commission: String,
    pub average_assets: String,
    pub net_inflow: String,
    pub turnover: String,
    pub high_risk_turnover: String,
    pub products_held: i32,
    pub tenure_days: i32,
    pub daily_summaries: i32,
    pub first_position: Long,
    pub last_position: Long,
}

impl From<&Inputs> for ScoreInputs {
    fn from(i: &Inputs) -> Self {
        ScoreInputs {
            commission: money(i.commission),
            average_assets: money(i.average_assets),
            net_inflow: money(i.net_inflow),
            turnover: money(i.turnover),
            high_risk_turnover: money(i.high_risk_turnover),
            products_held: int(i.products_held),
            tenure_days: int(i.tenure_days),
            daily_summaries: int(i.summaries),
            first_position: Long(i.first_position),
            last_position: Long(i.last_position),
        }
    }
}

fn is_money(unit: &str) -> bool {
    unit == "money"
}

/// 贡献度 and 客户等级, term by term.
#[derive(SimpleObject, Debug)]
pub struct ContributionExplanation {
    pub rules_version: i32,
    pub rules_hash: String,
    /// The date evaluated at.
    pub on: String,
    pub inputs: ScoreInputs,
    pub terms: Vec<FormulaTerm>,
    pub score: f64,
    pub tier: Tier,
    /// Minimum points of silver, gold and diamond.
    pub tier_thresholds: Vec<i32>,
    /// Positions of the daily trade summaries inside the score's window.
    pub source_positions: Vec<Long>,
}

impl ContributionExplanation {
    pub(crate) fn of(e: &ContributionExplain, positions: Vec<u64>) -> Self {
        ContributionExplanation {
            rules_version: int(e.rules_version),
            rules_hash: e.rules_hash.clone(),
            on: e.on.to_string(),
            inputs: ScoreInputs::from(&e.inputs),
            terms: e
                .terms
                .iter()
                .map(|t| {
                    let shown = |v: i64| {
                        if is_money(&t.unit) {
                            money(crm_domain::Money::from_minor(v))
                        } else {
                            v.to_string()
                        }
                    };
                    FormulaTerm {
                        name: t.name.clone(),
                        input: shown(t.input),
                        unit: t.unit.clone(),
                        cap: shown(t.cap),
                        weight: int(t.weight),
                        points: centi(t.points_centi),
                    }
                })
                .collect(),
            score: centi(e.score_centi),
            tier: e.tier.into(),
            tier_thresholds: e.tier_thresholds.iter().map(|t| int(*t)).collect(),
            source_positions: longs(positions),
        }
    }
}

/// One trading signal of the risk-preference inference.
#[derive(SimpleObject, Debug)]
pub struct RiskSignal {
    pub name: String,
    /// Percent or days; absent when there was nothing to measure.
    pub value: Option<i32>,
    pub aggressive_threshold: i32,
    pub conservative_threshold: i32,
    /// +1 aggressive, 0 neutral, −1 conservative.
    pub vote: i32,
}

/// 风险偏好 from trading behaviour.
#[derive(SimpleObject, Debug)]
pub struct RiskExplanation {
    pub rules_version: i32,
    pub rules_hash: String,
    pub on: String,
    pub inputs: ScoreInputs,
    pub signals: Vec<RiskSignal>,
    pub sum: i32,
    pub aggressive_at: i32,
    pub conservative_at: i32,
    pub preference: RiskPreference,
    pub source_positions: Vec<Long>,
}

impl RiskExplanation {
    pub(crate) fn of(e: &RiskExplain, positions: Vec<u64>) -> Self {
        RiskExplanation {
            rules_version: int(e.rules_version),
            rules_hash: e.rules_hash.clone(),
            on: e.on.to_string(),
            inputs: ScoreInputs::from(&e.inputs),
            signals: e
                .signals
                .iter()
                .map(|s| RiskSignal {
                    name: s.name.clone(),
                    value: s.value.map(int),
                    aggressive_threshold: int(s.aggressive_threshold),
                    conservative_threshold: int(s.conservative_threshold),
                    vote: s.vote,
                })
                .collect(),
            sum: e.sum,
            aggressive_at: e.aggressive_at,
            conservative_at: e.conservative_at,
            preference: e.preference.into(),
            source_positions: longs(positions),
        }
    }
}

/// Which rule decided a churn risk.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_projections::derive::ChurnBasis")]
pub enum ChurnBasis {
    /// Low risk: no rule applies.
    None,
    /// Churn recorded.
    Churned,
    /// The securities accounts' net outflow (`outflow_pct` of assets in `outflow_days`).
    NetOutflow,
    /// A bank customer's total deposits fell by more than `outflow_pct` in `outflow_days` and
    /// by at least `deposit_outflow_min` (资产流失).
    DepositOutflow,
    /// No trade, contact or (with bank business) account activity for `dormant_days`.
    Dormancy,
    /// Only a standing at-risk flag (流失预警).
    AtRiskFlag,
}

/// How a bank customer's total deposits moved over the churn window.
#[derive(SimpleObject, Debug)]
pub struct DepositOutflowView {
    /// The day the window starts from (the last day before it, or its first day) and the
    /// total deposits then, yuan.
    pub from: String,
    pub before: String,
    /// The latest day up to the evaluation date and the total then.
    pub to: String,
    pub now: String,
    /// `before - now` (negative when deposits grew).
    pub fall: String,
    /// The fall as a share of `before`, percent; null without a fall.
    pub fall_percent: Option<i32>,
}

impl DepositOutflowView {
    fn of(d: &DepositOutflow) -> Self {
        DepositOutflowView {
            from: d.from.to_string(),
            before: money(d.before),
            to: d.to.to_string(),
            now: money(d.now),
            fall: money(d.fall),
            fall_percent: d.fall_pct.map(int),
        }
    }
}

/// 流失风险 with its reason, the basis that decided it and the rule's thresholds.
#[derive(SimpleObject, Debug)]
pub struct ChurnExplanation {
    pub rules_version: i32,
    pub rules_hash: String,
    pub as_of: String,
    pub risk: ChurnRisk,
    /// Which rule decided the risk.
    pub basis: ChurnBasis,
    pub reason: String,
    /// What the customer could take away, yuan: their assets plus, with bank business, their
    /// latest total deposits.
    pub value_at_risk: String,
    /// The latest trade or contact, or (with bank business) account activity.
    pub last_activity: Option<String>,
    pub days_inactive: i32,
    /// Dormant after this many days without a trade, contact or account activity.
    pub dormant_days: i32,
    pub outflow: String,
    /// Net outflow as a share of assets at the start of the window, percent.
    pub outflow_percent: Option<i32>,
    pub outflow_threshold_percent: i32,
    pub outflow_days: i32,
    /// The total deposits' move over the window; null without deposit figures in reach.
    pub deposits: Option<DepositOutflowView>,
    /// A deposit fall must be at least this much (yuan) to be high risk.
    pub deposit_outflow_min: String,
    /// Positions of the daily figures in the outflow window (securities days, then deposit
    /// days).
    pub source_positions: Vec<Long>,
}

impl ChurnExplanation {
    pub(crate) fn of(e: &ChurnExplain, positions: Vec<u64>) -> Self {
        ChurnExplanation {
            rules_version: int(e.rules_version),
            rules_hash: e.rules_hash.clone(),
            as_of: e.as_of.to_string(),
            risk: e.risk.into(),
            basis: e.basis.into(),
            reason: e.reason.clone(),
            value_at_risk: money(e.value_at_risk),
            last_activity: e.last_activity.map(|d| d.to_string()),
            days_inactive: int(e.days_inactive),
            dormant_days: int(e.dormant_days),
            outflow: money(e.outflow),
            outflow_percent: e.outflow_pct.map(int),
            outflow_threshold_percent: int(e.outflow_threshold_pct),
            outflow_days: int(e.outflow_days),
            deposits: e.deposits.as_ref().map(DepositOutflowView::of),
            deposit_outflow_min: money(e.deposit_outflow_min),
            source_positions: longs(positions),
        }
    }
}

/// One KPI term: the rate, the comparison group's best, the weight and the points.
#[derive(SimpleObject, Debug)]
pub struct KpiTermView {
    pub name: String,
    /// Basis points of `base` for rates (0 without a base: the count alone scores); yuan per
    /// customer for profitability.
    pub value: String,
    /// The rate normaliser: the group's best (for churn, its worst).
    pub group_best: String,
    /// Customers counted (new, churned, upgraded); null for profitability.
    pub count: Option<i32>,
    /// The count normaliser: the group's best (for churn, its worst); null for profitability.
    pub group_best_count: Option<i32>,
    /// What the rate is of: customers served at the start of the period; null for
    /// profitability.
    pub base: Option<i32>,
    pub weight: i32,
    pub points: f64,
    /// For the churn term, retention beside the rate: 10,000 − `value`, basis points of
    /// `base`; null without a base and for the other terms.
    pub retention: Option<String>,
}

/// The weight set a KPI was scored with (对不同岗位的人员制定不同的绩效考核机制).
#[derive(SimpleObject, Debug)]
pub struct KpiWeightsView {
    /// The post appraised: CUSTOMER_MANAGER, BROKER, TEAM_LEAD (whoever leads a team, and a
    /// team's figure) or BRANCH (branch managers and the branch ranking); null for other roles.
    pub role: Option<String>,
    /// The rules table the weights come from: `kpi.<role>` when the post has a set of its
    /// own, `kpi` (the company's) otherwise. People are compared with the others scored from
    /// the same table.
    pub table: String,
    pub new_customers: i32,
    pub churn: i32,
    pub upgrades: i32,
    pub profitability: i32,
    /// The count's share of the new-customer, churn and upgrade terms, percent.
    pub count_share_percent: i32,
}

impl From<&KpiWeightSet> for KpiWeightsView {
    fn from(s: &KpiWeightSet) -> Self {
        let w = &s.weights;
        KpiWeightsView {
            role: s.role.map(label),
            table: s.table_name(),
            new_customers: int(w.new_customer_rate),
            churn: int(w.churn_rate),
            upgrades: int(w.upgrade_rate),
            profitability: int(w.average_profitability),
            count_share_percent: int(w.count_share_pct),
        }
    }
}

/// The KPI composite under the weights of the post appraised.
#[derive(SimpleObject, Debug)]
pub struct KpiExplanation {
    pub rules_version: i32,
    pub rules_hash: String,
    pub weights: KpiWeightsView,
    pub terms: Vec<KpiTermView>,
    pub composite: f64,
}

impl From<&KpiExplain> for KpiExplanation {
    fn from(k: &KpiExplain) -> Self {
        KpiExplanation {
            rules_version: int(k.rules_version),
            rules_hash: k.rules_hash.clone(),
            weights: KpiWeightsView::from(&k.weights),
            terms: k
                .terms
                .iter()
                .map(|t| {
                    let shown = |v: i64| {
                        if t.name.contains("profit") {
                            money(crm_domain::Money::from_minor(v))
                        } else {
                            v.to_string()
                        }
                    };
                    KpiTermView {
                        name: t.name.clone(),
                        value: shown(t.value),
                        group_best: shown(t.group_best),
                        count: t.count.map(int),
                        group_best_count: t.group_best_count.map(int),
                        base: t.base.map(int),
                        weight: int(t.weight),
                        points: centi(t.points_centi),
                        retention: t.retention.map(|r| r.to_string()),
                    }
                })
                .collect(),
            composite: centi(k.composite_centi),
        }
    }
}
