//! Derived values (贡献度, 客户等级, 风险偏好, 流失风险) computed from a customer's figures under
//! a [`RuleBook`], each able to explain itself: the rule-set version, every term of the
//! formula with its input and weight, and where its inputs came from.
//!
//! Pure functions of (customer record, rules, evaluation date): the fold calls them at the
//! customer's own latest trade date, queries at an instant the caller gives; neither reads a
//! clock. Scores are fixed point (hundredths of a point), never floats, so a rebuild
//! reproduces them bit for bit.

use serde::{Deserialize, Serialize};
use time::Date;

use crm_domain::Money;

use crate::model::{madd, month_index, mscale, CustomerRecord, Derived};
use crate::rules::RuleBook;

pub mod bank;
pub use bank::{
    bank_contribution, bank_tier, BalanceBasis, BankContributionExplain, DepositLine, LoanLine,
};
mod churn;
pub use churn::{
    churn, churn_in, churn_reason_name, group_yuan, ChurnBasis, ChurnExplain, DepositOutflow,
};

/// 客户等级, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Tier {
    #[default]
    Standard,
    Silver,
    Gold,
    Diamond,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Diamond];
    pub fn name(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Silver => "silver",
            Tier::Gold => "gold",
            Tier::Diamond => "diamond",
        }
    }
}

/// 风险偏好 inferred from trading.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum RiskPreference {
    Conservative,
    Balanced,
    Aggressive,
    /// No trading in the trailing twelve months: nothing to infer a preference from. (Not
    /// "conservative": a customer who never traded has shown no preference at all.)
    #[default]
    Unknown,
}

/// 流失风险, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChurnRisk {
    Low,
    /// Dormant: no trade, contact or (with bank business) account activity for the rule's
    /// number of days.
    Medium,
    /// A large net outflow, or a bank customer's deposits falling, within the rule's window.
    High,
    /// Already churned (lifecycle).
    Churned,
}

/// One term of a formula as evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub name: String,
    /// The input in its unit: money in 1/10000 CNY, counts, days.
    pub input: i64,
    pub unit: String,
    pub cap: i64,
    pub weight: u32,
    /// What the term adds, in hundredths of a point.
    pub points_centi: i64,
}

/// Trailing-twelve-month inputs of one customer at one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Inputs {
    pub first_month: u32,
    pub last_month: u32,
    pub commission: Money,
    pub average_assets: Money,
    pub net_inflow: Money,
    pub turnover: Money,
    pub high_risk_turnover: Money,
    pub products_held: u64,
    pub tenure_days: u64,
    pub drawdown_days: i32,
    pub drawdown_adding: i32,
    pub drawdown_fleeing: i32,
    /// The range of log positions of the daily summaries in the window.
    pub first_position: u64,
    pub last_position: u64,
    pub summaries: u32,
}

pub fn inputs(c: &CustomerRecord, on: Date) -> Inputs {
    let last = month_index(on);
    let first = last.saturating_sub(11);
    let mut i = Inputs {
        first_month: first,
        last_month: last,
        ..Inputs::default()
    };
    let mut assets_sum = Money::ZERO;
    let mut asset_days = 0i64;
    for m in c
        .months
        .iter()
        .filter(|m| m.month >= first && m.month <= last)
    {
        i.commission = madd(i.commission, m.commission);
        i.net_inflow = madd(i.net_inflow, madd(m.deposits, mscale(m.withdrawals, -1)));
        i.turnover = madd(i.turnover, m.turnover);
        i.high_risk_turnover = madd(i.high_risk_turnover, m.high_risk_turnover);
        assets_sum = madd(assets_sum, m.assets_sum);
        asset_days += i64::from(m.asset_days);
        i.drawdown_days += m.drawdown_days;
        i.drawdown_adding += m.drawdown_adding;
        i.drawdown_fleeing += m.drawdown_fleeing;
        i.summaries += m.summaries;
        if i.first_position == 0 || (m.first_position > 0 && m.first_position < i.first_position) {
            i.first_position = m.first_position;
        }
        i.last_position = i.last_position.max(m.last_position);
    }
    if asset_days > 0 {
        i.average_assets = Money::from_minor(assets_sum.minor() / asset_days);
    }
    i.products_held = c.products.len() as u64;
    let registered = crate::model::business_date(c.registered_at);
    i.tenure_days = u64::try_from((on - registered).whole_days()).unwrap_or(0);
    i
}

/// What one term earns, in hundredths of a point: linear up to the cap.
fn term_points(input: i64, cap: i64, weight: u32) -> i64 {
    let clamped = i128::from(input.clamp(0, cap.max(1)));
    let points = i128::from(weight) * 100 * clamped / i128::from(cap.max(1));
    i64::try_from(points).unwrap_or(i64::MAX)
}

fn term(name: &str, unit: &str, input: i64, cap: i64, weight: u32) -> Term {
    Term {
        name: name.to_string(),
        input,
        unit: unit.to_string(),
        cap,
        weight,
        points_centi: term_points(input, cap, weight),
    }
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The five terms' (input, cap, weight), in the formula's order.
fn contribution_terms(
    i: &Inputs,
    r: &crate::rules::ContributionRules,
) -> [(&'static str, &'static str, i64, i64, u32); 5] {
    [
        (
            "commission",
            "money",
            i.commission.minor(),
            r.commission.cap.minor(),
            r.commission.weight,
        ),
        (
            "average_assets",
            "money",
            i.average_assets.minor(),
            r.average_assets.cap.minor(),
            r.average_assets.weight,
        ),
        (
            "net_inflow",
            "money",
            i.net_inflow.minor(),
            r.net_inflow.cap.minor(),
            r.net_inflow.weight,
        ),
        (
            "products_held",
            "count",
            count(i.products_held),
            count(r.products_held.cap),
            r.products_held.weight,
        ),
        (
            "tenure",
            "days",
            count(i.tenure_days),
            count(r.tenure_days.cap),
            r.tenure_days.weight,
        ),
    ]
}

/// The contribution score of a customer, term by term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionExplain {
    pub rules_version: u32,
    pub rules_hash: String,
    pub on: Date,
    pub inputs: Inputs,
    pub terms: Vec<Term>,
    pub score_centi: i64,
    pub tier: Tier,
    /// Minimum scores (points) of silver, gold, diamond.
    pub tier_thresholds: [u32; 3],
}

pub fn contribution(c: &CustomerRecord, rules: &RuleBook, on: Date) -> ContributionExplain {
    let i = inputs(c, on);
    let r = rules.contribution_for(c.branch());
    let terms: Vec<Term> = contribution_terms(&i, r)
        .iter()
        .map(|(name, unit, input, cap, weight)| term(name, unit, *input, *cap, *weight))
        .collect();
    let score_centi = terms
        .iter()
        .fold(0i64, |a, t| a.saturating_add(t.points_centi));
    ContributionExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        on,
        inputs: i,
        terms,
        score_centi,
        tier: tier_of(score_centi, rules),
        tier_thresholds: [rules.tiers.silver, rules.tiers.gold, rules.tiers.diamond],
    }
}

pub fn tier_of(score_centi: i64, rules: &RuleBook) -> Tier {
    let t = &rules.tiers;
    let at = |points: u32| score_centi >= i64::from(points) * 100;
    if at(t.diamond) {
        Tier::Diamond
    } else if at(t.gold) {
        Tier::Gold
    } else if at(t.silver) {
        Tier::Silver
    } else {
        Tier::Standard
    }
}

/// One signal of the risk-preference inference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    /// The measured value (percent or days); `None` when there was nothing to measure.
    pub value: Option<i64>,
    pub aggressive_threshold: i64,
    pub conservative_threshold: i64,
    /// +1 aggressive, 0 neutral, -1 conservative.
    pub vote: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskExplain {
    pub rules_version: u32,
    pub rules_hash: String,
    pub on: Date,
    pub inputs: Inputs,
    pub signals: Vec<Signal>,
    pub sum: i32,
    pub aggressive_at: i32,
    pub conservative_at: i32,
    pub preference: RiskPreference,
}

fn vote_high(value: i64, aggressive: i64, conservative: i64) -> i32 {
    if value >= aggressive {
        1
    } else if value <= conservative {
        -1
    } else {
        0
    }
}

/// The four signals' measured values and votes.
fn risk_votes(i: &Inputs, rules: &RuleBook) -> [(Option<i64>, i32); 4] {
    let r = &rules.risk;
    let assets = i128::from(i.average_assets.minor());
    let turnover = i128::from(i.turnover.minor());
    let to_i64 = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    // Turnover ratio: annual turnover over mean assets, in percent.
    let ratio = (assets > 0).then(|| to_i64(turnover * 100 / assets));
    let ratio_vote = ratio.map_or(0, |v| {
        vote_high(
            v,
            i64::from(r.turnover_ratio_aggressive_pct),
            i64::from(r.turnover_ratio_conservative_pct),
        )
    });
    // Share of high-risk security types in turnover (no trading votes conservative, but the
    // preference of a customer who did not trade is unknown: see `preference`).
    let share =
        (turnover > 0).then(|| to_i64(i128::from(i.high_risk_turnover.minor()) * 100 / turnover));
    let share_vote = share.map_or(-1, |v| {
        vote_high(
            v,
            i64::from(r.high_risk_share_aggressive_pct),
            i64::from(r.high_risk_share_conservative_pct),
        )
    });
    // Holding period estimated as mean assets over half the turnover (a round trip buys and
    // sells): short is aggressive, so the vote is inverted.
    let holding = (turnover > 0 && assets > 0).then(|| to_i64(assets * 730 / turnover));
    let holding_vote = match holding {
        Some(d) if d <= i64::from(r.holding_days_aggressive) => 1,
        Some(d) if d >= i64::from(r.holding_days_conservative) => -1,
        Some(_) => 0,
        None if turnover == 0 => -1,
        None => 0,
    };
    // Behaviour in drawdowns: adding money is aggressive, withdrawing conservative.
    let dd = i64::from(i.drawdown_days.max(0));
    let adding = (dd > 0).then(|| i64::from(i.drawdown_adding.max(0)) * 100 / dd);
    let fleeing = i64::from(i.drawdown_fleeing.max(0)) * 100 / dd.max(1);
    let share_needed = i64::from(r.drawdown_adding_share_pct);
    let drawdown_vote = match adding {
        Some(a) if a >= share_needed => 1,
        Some(_) if fleeing >= share_needed => -1,
        _ => 0,
    };
    [
        (ratio, ratio_vote),
        (share, share_vote),
        (holding, holding_vote),
        (adding, drawdown_vote),
    ]
}

fn preference(i: &Inputs, sum: i32, rules: &RuleBook) -> RiskPreference {
    if i.turnover <= Money::ZERO {
        RiskPreference::Unknown
    } else if sum >= rules.risk.aggressive_at {
        RiskPreference::Aggressive
    } else if sum <= rules.risk.conservative_at {
        RiskPreference::Conservative
    } else {
        RiskPreference::Balanced
    }
}

pub fn risk(c: &CustomerRecord, rules: &RuleBook, on: Date) -> RiskExplain {
    let i = inputs(c, on);
    let r = &rules.risk;
    let thresholds = [
        (
            "turnover_ratio_pct",
            r.turnover_ratio_aggressive_pct,
            r.turnover_ratio_conservative_pct,
        ),
        (
            "high_risk_share_pct",
            r.high_risk_share_aggressive_pct,
            r.high_risk_share_conservative_pct,
        ),
        (
            "holding_days",
            r.holding_days_aggressive,
            r.holding_days_conservative,
        ),
        (
            "drawdown_adding_pct",
            r.drawdown_adding_share_pct,
            r.drawdown_adding_share_pct,
        ),
    ];
    let signals: Vec<Signal> = risk_votes(&i, rules)
        .iter()
        .zip(thresholds)
        .map(|((value, vote), (name, aggressive, conservative))| Signal {
            name: name.to_string(),
            value: *value,
            aggressive_threshold: i64::from(aggressive),
            conservative_threshold: i64::from(conservative),
            vote: *vote,
        })
        .collect();
    let sum: i32 = signals.iter().map(|s| s.vote).sum();
    let preference = preference(&i, sum, rules);
    RiskExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        on,
        inputs: i,
        signals,
        sum,
        aggressive_at: r.aggressive_at,
        conservative_at: r.conservative_at,
        preference,
    }
}

/// What the fold stores for a customer evaluated at `on`.
///
/// The fold's fast path: the same arithmetic as [`contribution`] and [`risk`] (they share
/// it), without building explanations.
pub fn evaluate(c: &CustomerRecord, rules: &RuleBook, on: Date, position: u64) -> Derived {
    let i = inputs(c, on);
    let score_centi = contribution_terms(&i, rules.contribution_for(c.branch()))
        .iter()
        .fold(0i64, |a, (_, _, input, cap, weight)| {
            a.saturating_add(term_points(*input, *cap, *weight))
        });
    let votes: i32 = risk_votes(&i, rules).iter().map(|(_, v)| v).sum();
    Derived {
        score_centi,
        tier: tier_of(score_centi, rules),
        risk_preference: preference(&i, votes, rules),
        evaluated_on: Some(on),
        position,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{CustomerRecord, MonthFigures};
    use crm_domain::customer::{CustomerKind, Lifecycle, Profile};
    use crm_domain::ids::CustomerId;
    use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber};
    use time::macros::{date, datetime};

    pub(crate) fn customer() -> CustomerRecord {
        let number = ResidentIdNumber::with_check_character("11010519850115001").unwrap();
        let profile = Profile {
            name: OrgName::parse("客户").unwrap(),
            document: IdDocument::ResidentId { number },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::App,
        };
        CustomerRecord::new(
            CustomerId::from(uuid::Uuid::from_u128(1)),
            CustomerKind::Individual,
            profile,
            Lifecycle::Active,
            datetime!(2024-01-01 09:00 +8),
            1,
        )
    }

    #[test]
    fn terms_are_linear_up_to_their_cap_and_never_negative() {
        assert_eq!(term_points(-5, 100, 30), 0);
        assert_eq!(term_points(50, 100, 30), 1500);
        assert_eq!(term_points(100, 100, 30), 3000);
        assert_eq!(term_points(1_000_000, 100, 30), 3000);
        assert_eq!(term_points(i64::MAX, i64::MAX, 1000), 100_000);
        assert_eq!(
            term_points(5, 0, 10),
            1000,
            "a zero cap cannot divide by zero"
        );
    }

    #[test]
    fn tiers_start_at_their_thresholds() {
        let rules = RuleBook::default_rules().unwrap();
        assert_eq!(tier_of(2999, &rules), Tier::Standard);
        assert_eq!(tier_of(3000, &rules), Tier::Silver);
        assert_eq!(tier_of(5500, &rules), Tier::Gold);
        assert_eq!(tier_of(8000, &rules), Tier::Diamond);
        assert!(Tier::Diamond > Tier::Gold && Tier::Gold > Tier::Silver);
    }

    #[test]
    fn the_fold_and_the_explanation_agree() {
        let rules = RuleBook::default_rules().unwrap();
        let mut c = customer();
        c.months.push(MonthFigures {
            month: crate::model::month_index(date!(2024 - 06 - 01)),
            commission: Money::from_yuan(9_000).unwrap(),
            turnover: Money::from_yuan(3_000_000).unwrap(),
            high_risk_turnover: Money::from_yuan(2_900_000).unwrap(),
            assets_sum: Money::from_yuan(4_000_000).unwrap(),
            asset_days: 2,
            deposits: Money::from_yuan(100_000).unwrap(),
            ..MonthFigures::default()
        });
        let on = date!(2024 - 06 - 30);
        let derived = evaluate(&c, &rules, on, 9);
        let explained = contribution(&c, &rules, on);
        assert_eq!(derived.score_centi, explained.score_centi);
        assert_eq!(derived.tier, explained.tier);
        let r = risk(&c, &rules, on);
        assert_eq!(derived.risk_preference, r.preference);
        // 3,000,000 turnover on 2,000,000 mean assets = 150%; 96% high-risk; 486 days.
        assert_eq!(r.signals[0].value, Some(150));
        assert_eq!(r.signals[1].value, Some(96));
        assert_eq!(r.signals[2].value, Some(486));
        assert_eq!(r.sum, 0);
        assert_eq!(r.preference, RiskPreference::Balanced);
        // Figures outside the trailing twelve months do not count.
        let later = contribution(&c, &rules, date!(2025 - 07 - 01));
        assert_eq!(later.inputs.commission, Money::ZERO);
    }
}
