//! Explanations of derived values: the rule-set version and hash, each term of the formula
//! with its input and weight, and the log positions of the events that fed the inputs — what
//! a customer manager shows a customer and what an auditor recomputes.

use async_graphql::SimpleObject;
use crm_projections::derive::{ChurnExplain, ContributionExplain, Inputs, RiskExplain};
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

/// 流失风险 with its reason and the rule's thresholds.
#[derive(SimpleObject, Debug)]
pub struct ChurnExplanation {
    pub rules_version: i32,
    pub rules_hash: String,
    pub as_of: String,
    pub risk: ChurnRisk,
    pub reason: String,
    pub last_activity: Option<String>,
    pub days_inactive: i32,
    /// Dormant after this many days without a trade or contact.
    pub dormant_days: i32,
    pub outflow: String,
    /// Net outflow as a share of assets at the start of the window, percent.
    pub outflow_percent: Option<i32>,
    pub outflow_threshold_percent: i32,
    pub outflow_days: i32,
    /// Positions of the daily figures in the outflow window.
    pub source_positions: Vec<Long>,
}

impl ChurnExplanation {
    pub(crate) fn of(e: &ChurnExplain, positions: Vec<u64>) -> Self {
        ChurnExplanation {
            rules_version: int(e.rules_version),
            rules_hash: e.rules_hash.clone(),
            as_of: e.as_of.to_string(),
            risk: e.risk.into(),
            reason: e.reason.clone(),
            last_activity: e.last_activity.map(|d| d.to_string()),
            days_inactive: int(e.days_inactive),
            dormant_days: int(e.dormant_days),
            outflow: money(e.outflow),
            outflow_percent: e.outflow_pct.map(int),
            outflow_threshold_percent: int(e.outflow_threshold_pct),
            outflow_days: int(e.outflow_days),
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
                    }
                })
                .collect(),
            composite: centi(k.composite_centi),
        }
    }
}
