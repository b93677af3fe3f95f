//! The rules file (规则): versioned business parameters of the read models — contribution
//! formula with per-branch overrides, tier thresholds, KPI weights, risk-preference inference,
//! churn and reminder rules. A file is TOML (format in `schema/rules.md`), identified by its
//! `version` and the blake3 hash of its bytes, so two generations built under "the same
//! version" with different content can never be mistaken for each other.
//!
//! Everything is integral (money in fixed point, percentages in whole percent) so evaluating a
//! rule gives the same answer on every machine, live or rebuilt.

use std::collections::BTreeMap;

use crm_domain::account::SecurityType;
use crm_domain::ids::BranchId;
use crm_domain::risk::RiskTolerance;
use crm_domain::Money;
use serde::{Deserialize, Serialize};

use crate::derive::RiskPreference;
use crate::error::ProjectionError;

mod bank;
pub use bank::{
    cost_key, BankContributionRules, BankTierRules, CostToServe, FtpSource, SegmentKind,
    BANK_CONTRIBUTION_KEYS, SHORT_LOAN_MONTHS,
};
mod care;
pub use care::{CareRules, CARE_WINDOW_DAYS, CARE_WINDOW_DAYS_MAX};
mod service;
pub use service::{
    occasion_name, ServiceRules, ServiceStandard, SERVICE_DAYS_AHEAD, SERVICE_DAYS_MAX,
};

/// The default rule set shipped with the code (`schema/rules.default.toml`).
pub const DEFAULT_RULES: &str = include_str!("../../../schema/rules.default.toml");

/// A term of the contribution formula measured in money: `weight` points at `cap` or above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyTerm {
    pub weight: u32,
    pub cap: Money,
}

/// A term measured as a count (products, days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountTerm {
    pub weight: u32,
    pub cap: u64,
}

/// 贡献度 formula: five terms, each linear up to its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionRules {
    /// Commission over the trailing twelve months.
    pub commission: MoneyTerm,
    /// Mean end-of-day assets over the trailing twelve months.
    pub average_assets: MoneyTerm,
    /// Deposits minus withdrawals over the trailing twelve months (negative earns nothing).
    pub net_inflow: MoneyTerm,
    /// Distinct products sold to the customer.
    pub products_held: CountTerm,
    /// Days since registration.
    pub tenure_days: CountTerm,
}

/// Minimum score (points) of each tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRules {
    pub diamond: u32,
    pub gold: u32,
    pub silver: u32,
}

/// 绩效考核 weights of the KPI composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiWeights {
    pub new_customer_rate: u32,
    pub churn_rate: u32,
    pub upgrade_rate: u32,
    pub average_profitability: u32,
    /// How much of the new-customer, churn and upgrade terms the count earns (percent); the
    /// rest the rate. 50 unless the file says otherwise.
    #[serde(default = "half")]
    pub count_share_pct: u32,
}

fn half() -> u32 {
    50
}

/// The posts that may have a KPI weight set of their own (`[kpi.<key>]`): 对不同岗位的人员制定
/// 不同的绩效考核机制.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KpiRole {
    /// 客户经理 (`Role::CustomerManager`).
    CustomerManager,
    /// 经纪人 (`Role::Broker`).
    Broker,
    /// Whoever leads a team (团队负责人), whatever their role; also the team figure.
    TeamLead,
    /// 营业部: branch managers (`Role::BranchManager`) and the branch ranking.
    Branch,
}

impl KpiRole {
    pub const ALL: [KpiRole; 4] = [
        KpiRole::CustomerManager,
        KpiRole::Broker,
        KpiRole::TeamLead,
        KpiRole::Branch,
    ];

    /// The sub-table's key: `[kpi.<key>]`.
    pub fn key(self) -> &'static str {
        match self {
            KpiRole::CustomerManager => "customer_manager",
            KpiRole::Broker => "broker",
            KpiRole::TeamLead => "team_lead",
            KpiRole::Branch => "branch",
        }
    }
}

/// The weights someone was scored with: their appraisal role and whether the role has a set of
/// its own (`[kpi.<role>]`) or took the company's (`[kpi]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiWeightSet {
    pub role: Option<KpiRole>,
    /// The rules table the weights come from: `Some(role)` for `[kpi.<role>]`, None for `[kpi]`.
    pub table: Option<KpiRole>,
    pub weights: KpiWeights,
}

impl KpiWeightSet {
    /// The table's name as written in the rules file.
    pub fn table_name(&self) -> String {
        match self.table {
            Some(r) => format!("kpi.{}", r.key()),
            None => "kpi".into(),
        }
    }
}

/// 风险偏好 inferred from trading: four signals, each -1, 0 or +1, summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRules {
    pub high_risk_security_types: Vec<SecurityType>,
    /// Annual turnover / mean assets, in percent (600 = 6×).
    pub turnover_ratio_aggressive_pct: u32,
    pub turnover_ratio_conservative_pct: u32,
    pub high_risk_share_aggressive_pct: u32,
    pub high_risk_share_conservative_pct: u32,
    /// Estimated holding period (days) at or below which the signal is aggressive.
    pub holding_days_aggressive: u32,
    pub holding_days_conservative: u32,
    /// An account-day whose unrealised loss is at least this share of its assets is a
    /// drawdown day.
    pub drawdown_loss_pct: u32,
    /// In drawdown days, adding money this often (percent) is aggressive; withdrawing this
    /// often is conservative.
    pub drawdown_adding_share_pct: u32,
    /// Signal sum at or above which the customer is aggressive.
    pub aggressive_at: i32,
    /// Signal sum at or below which the customer is conservative.
    pub conservative_at: i32,
}

/// 流失预警.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnRules {
    /// Dormant (churn risk) after this many days without a trade or a contact.
    pub dormant_days: u32,
    /// Withdrawals net of deposits above this share of assets within `outflow_days` is a
    /// large outflow.
    pub outflow_pct: u32,
    /// At most [`DAILY_WINDOW_DAYS`]: the read model keeps that many days of daily figures.
    pub outflow_days: u32,
    /// A bank customer's total deposits falling by more than `outflow_pct` within
    /// `outflow_days` is high risk only if they fell by at least this much (so tiny accounts do
    /// not alarm); default [`DEPOSIT_OUTFLOW_MIN_YUAN`] yuan.
    pub deposit_outflow_min: Money,
    /// Churned by dormancy (流失, the KPI's churn term) after this many days without a trade
    /// or a reaching contact: more than `dormant_days`; default [`CHURNED_DAYS_DEFAULT`].
    pub churned_days: u32,
}

/// The default of `[churn] churned_days`, for rule files written before it.
pub const CHURNED_DAYS_DEFAULT: u32 = 180;

/// The default of `[churn] deposit_outflow_min`, yuan, for rule files written before it.
pub const DEPOSIT_OUTFLOW_MIN_YUAN: i64 = 5_000;

/// The keys `[churn]` takes; any other is refused by name.
pub const CHURN_KEYS: [&str; 5] = [
    "dormant_days",
    "outflow_pct",
    "outflow_days",
    "deposit_outflow_min",
    "churned_days",
];

/// The questionnaire levels (适当性评估 C1–C5) each inferred risk preference conflicts with: a
/// customer with a valid assessment at one of them whose trading reads that preference is a
/// to-do for their manager (reassess suitability). An unknown preference conflicts with nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceConflicts {
    pub aggressive: Vec<RiskTolerance>,
    pub balanced: Vec<RiskTolerance>,
    pub conservative: Vec<RiskTolerance>,
}

impl Default for PreferenceConflicts {
    /// Aggressive trading conflicts with C1–C2, conservative trading with C5, balanced with
    /// nothing.
    fn default() -> Self {
        PreferenceConflicts {
            aggressive: vec![RiskTolerance::C1, RiskTolerance::C2],
            balanced: Vec::new(),
            conservative: vec![RiskTolerance::C5],
        }
    }
}

impl PreferenceConflicts {
    /// Whether trading that reads `preference` conflicts with a questionnaire at `level`.
    pub fn conflicts(&self, preference: RiskPreference, level: RiskTolerance) -> bool {
        let levels = match preference {
            RiskPreference::Aggressive => &self.aggressive,
            RiskPreference::Balanced => &self.balanced,
            RiskPreference::Conservative => &self.conservative,
            RiskPreference::Unknown => return false,
        };
        levels.contains(&level)
    }
}

/// 待办提醒.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRules {
    pub follow_up_days_ahead: u32,
    pub sla_warning_hours: u32,
    pub birthday_days_ahead: u32,
    /// A day's net outflow at or above this amount, or above `large_outflow_pct` of assets.
    pub large_outflow: Money,
    pub large_outflow_pct: u32,
    pub suitability_expiry_days: u32,
    /// `preference_conflict_*`: the default ([`PreferenceConflicts::default`]) when absent.
    pub preference_conflicts: PreferenceConflicts,
    /// A time deposit maturing within this many days (retain the funds); default 30.
    pub deposit_maturity_days_ahead: u32,
    /// A loan instalment due within this many days; default 7.
    pub loan_repayment_days_ahead: u32,
    /// A loan moved down a classification is a to-do for this many days after; default 30.
    pub loan_downgrade_days: u32,
    /// A service contact or visit due (`[service.<tier>]`) is a to-do this many days ahead;
    /// default [`SERVICE_DAYS_AHEAD`].
    pub service_days_ahead: u32,
}

/// The bank reminders' defaults, for rule files written before them.
pub const DEPOSIT_MATURITY_DAYS_AHEAD: u32 = 30;
pub const LOAN_REPAYMENT_DAYS_AHEAD: u32 = 7;
pub const LOAN_DOWNGRADE_DAYS: u32 = 30;

/// Days of daily figures a customer keeps (30- and 90-day windows, outflow rule).
pub const DAILY_WINDOW_DAYS: u32 = 92;

/// A parsed, validated rule set with its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleBook {
    pub version: u32,
    /// blake3 of the file's bytes, 64 lowercase hex digits.
    pub hash: String,
    pub description: String,
    /// The file itself, so a generation can be rebuilt under exactly these rules.
    pub content: String,
    pub contribution: ContributionRules,
    pub branch_contribution: BTreeMap<BranchId, ContributionRules>,
    pub tiers: TierRules,
    pub kpi: KpiWeights,
    /// The posts with a weight set of their own (`[kpi.<role>]`: the company's weights with the
    /// keys the sub-table gives); a post not listed is scored with `kpi`.
    pub kpi_roles: BTreeMap<KpiRole, KpiWeights>,
    pub risk: RiskRules,
    pub churn: ChurnRules,
    pub reminders: ReminderRules,
    /// 分层服务: the service standard of each tier (`[service.<tier>]`).
    pub service: ServiceRules,
    /// 客户关怀: the holidays and market events greeted on and the window a greeting counts in
    /// (`[care]`); which tiers are greeted is `service`'s.
    #[serde(default)]
    pub care: CareRules,
    /// A bank customer's contribution (`[bank_contribution]`); None when the file has none.
    pub bank_contribution: Option<BankContributionRules>,
}

// ---- the file as written ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyTermFile {
    weight: u32,
    cap: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchOverrideFile {
    branch: String,
    commission: Option<MoneyTermFile>,
    average_assets: Option<MoneyTermFile>,
    net_inflow: Option<MoneyTermFile>,
    products_held: Option<CountTerm>,
    tenure_days: Option<CountTerm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContributionFile {
    commission: MoneyTermFile,
    average_assets: MoneyTermFile,
    net_inflow: MoneyTermFile,
    products_held: CountTerm,
    tenure_days: CountTerm,
    #[serde(default)]
    branch: Vec<BranchOverrideFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskFile {
    high_risk_security_types: Vec<String>,
    turnover_ratio_aggressive_pct: u32,
    turnover_ratio_conservative_pct: u32,
    high_risk_share_aggressive_pct: u32,
    high_risk_share_conservative_pct: u32,
    holding_days_aggressive: u32,
    holding_days_conservative: u32,
    drawdown_loss_pct: u32,
    drawdown_adding_share_pct: u32,
    aggressive_at: i32,
    conservative_at: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemindersFile {
    follow_up_days_ahead: u32,
    sla_warning_hours: u32,
    birthday_days_ahead: u32,
    large_outflow: String,
    large_outflow_pct: u32,
    suitability_expiry_days: u32,
    preference_conflict_aggressive: Option<Vec<RiskTolerance>>,
    preference_conflict_balanced: Option<Vec<RiskTolerance>>,
    preference_conflict_conservative: Option<Vec<RiskTolerance>>,
    deposit_maturity_days_ahead: Option<u32>,
    loan_repayment_days_ahead: Option<u32>,
    loan_downgrade_days: Option<u32>,
    service_days_ahead: Option<u32>,
}

/// `[kpi]` without its role sub-tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KpiFile {
    new_customer_rate: u32,
    churn_rate: u32,
    upgrade_rate: u32,
    average_profitability: u32,
    #[serde(default = "half")]
    count_share_pct: u32,
}

/// `[kpi.<role>]`: any of the company's keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KpiRoleFile {
    new_customer_rate: Option<u32>,
    churn_rate: Option<u32>,
    upgrade_rate: Option<u32>,
    average_profitability: Option<u32>,
    count_share_pct: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: u32,
    #[serde(default)]
    description: String,
    contribution: ContributionFile,
    tiers: TierRules,
    kpi: toml::Table,
    risk_preference: RiskFile,
    churn: toml::Table,
    reminders: RemindersFile,
    service: Option<toml::Table>,
    care: Option<toml::Table>,
    bank_contribution: Option<toml::Value>,
}

/// `[churn]` as written but `deposit_outflow_min` (unknown keys are refused by [`churn_rules`]
/// before this is read).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChurnFile {
    dormant_days: u32,
    outflow_pct: u32,
    outflow_days: u32,
    churned_days: Option<u32>,
}

/// `[churn]`: an unknown key is refused by name, the window must fit the days the read
/// models keep, and the deposit outflow minimum must be money not below zero.
fn churn_rules(table: toml::Table) -> Result<ChurnRules, ProjectionError> {
    if let Some(key) = table.keys().find(|k| !CHURN_KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "churn.{key}: unknown key (the keys are {})",
            CHURN_KEYS.join(", ")
        )));
    }
    let mut table = table;
    let min_text = match table.remove("deposit_outflow_min") {
        None => None,
        Some(toml::Value::String(text)) => Some(text),
        Some(other) => {
            return Err(invalid(format!(
                "churn.deposit_outflow_min must be an amount in yuan as a string (\"5000\"), got {other}"
            )))
        }
    };
    let f: ChurnFile = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| invalid(format!("churn: {}", e.message())))?;
    if f.dormant_days == 0 || f.outflow_days == 0 || f.outflow_days > DAILY_WINDOW_DAYS {
        return Err(invalid(format!(
            "churn: dormant_days must be ≥ 1 and outflow_days 1..={DAILY_WINDOW_DAYS}"
        )));
    }
    let deposit_outflow_min = match &min_text {
        Some(text) => money("churn.deposit_outflow_min", text)?,
        None => Money::from_minor(DEPOSIT_OUTFLOW_MIN_YUAN * Money::SCALE),
    };
    if deposit_outflow_min < Money::ZERO {
        return Err(invalid(format!(
            "churn.deposit_outflow_min must not be below zero, got {deposit_outflow_min}"
        )));
    }
    let churned_days = f.churned_days.unwrap_or(CHURNED_DAYS_DEFAULT);
    if churned_days <= f.dormant_days {
        return Err(invalid(format!(
            "churn.churned_days must be more than churn.dormant_days ({}), got {churned_days}",
            f.dormant_days
        )));
    }
    Ok(ChurnRules {
        dormant_days: f.dormant_days,
        outflow_pct: f.outflow_pct,
        outflow_days: f.outflow_days,
        deposit_outflow_min,
        churned_days,
    })
}

fn invalid(reason: impl Into<String>) -> ProjectionError {
    ProjectionError::Rules(reason.into())
}

fn money(field: &str, text: &str) -> Result<Money, ProjectionError> {
    Money::parse(text).map_err(|e| invalid(format!("{field}: {e}")))
}

fn money_term(field: &str, t: &MoneyTermFile) -> Result<MoneyTerm, ProjectionError> {
    let cap = money(&format!("{field}.cap"), &t.cap)?;
    if cap <= Money::ZERO {
        return Err(invalid(format!("{field}.cap must be above zero")));
    }
    check_weight(field, t.weight)?;
    Ok(MoneyTerm {
        weight: t.weight,
        cap,
    })
}

fn count_term(field: &str, t: CountTerm) -> Result<CountTerm, ProjectionError> {
    if t.cap == 0 {
        return Err(invalid(format!("{field}.cap must be above zero")));
    }
    check_weight(field, t.weight)?;
    Ok(t)
}

/// Weights are bounded so that a score (weight × 100 per term) never comes near overflow.
const WEIGHT_MAX: u32 = 1000;

fn check_weight(field: &str, w: u32) -> Result<(), ProjectionError> {
    if w > WEIGHT_MAX {
        return Err(invalid(format!(
            "{field}.weight must be at most {WEIGHT_MAX}"
        )));
    }
    Ok(())
}

fn check_kpi(table: &str, k: &KpiWeights) -> Result<(), ProjectionError> {
    for (name, w) in [
        ("new_customer_rate", k.new_customer_rate),
        ("churn_rate", k.churn_rate),
        ("upgrade_rate", k.upgrade_rate),
        ("average_profitability", k.average_profitability),
    ] {
        check_weight(&format!("{table}.{name}"), w)?;
    }
    if k.count_share_pct > 100 {
        return Err(invalid(format!(
            "{table}.count_share_pct must be a percentage (0 to 100), got {}",
            k.count_share_pct
        )));
    }
    Ok(())
}

/// `[kpi]` and its role sub-tables: the company's weights, and each listed post's (the
/// company's with the keys its table gives). A sub-table that names no post, or a key that is
/// no weight, is refused by name.
fn kpi_rules(
    mut table: toml::Table,
) -> Result<(KpiWeights, BTreeMap<KpiRole, KpiWeights>), ProjectionError> {
    let mut listed = Vec::new();
    for role in KpiRole::ALL {
        if let Some(v) = table.remove(role.key()) {
            listed.push((role, v));
        }
    }
    if let Some((key, _)) = table.iter().find(|(_, v)| v.is_table()) {
        let known: Vec<&str> = KpiRole::ALL.iter().map(|r| r.key()).collect();
        return Err(invalid(format!(
            "kpi.{key}: unknown role table (the roles are {})",
            known.join(", ")
        )));
    }
    let f: KpiFile = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| invalid(format!("kpi: {}", e.message())))?;
    let company = KpiWeights {
        new_customer_rate: f.new_customer_rate,
        churn_rate: f.churn_rate,
        upgrade_rate: f.upgrade_rate,
        average_profitability: f.average_profitability,
        count_share_pct: f.count_share_pct,
    };
    check_kpi("kpi", &company)?;
    let mut roles = BTreeMap::new();
    for (role, v) in listed {
        let name = format!("kpi.{}", role.key());
        if !v.is_table() {
            return Err(invalid(format!("{name} must be a table of weights")));
        }
        let o: KpiRoleFile = v
            .try_into()
            .map_err(|e: toml::de::Error| invalid(format!("{name}: {}", e.message())))?;
        let w = KpiWeights {
            new_customer_rate: o.new_customer_rate.unwrap_or(company.new_customer_rate),
            churn_rate: o.churn_rate.unwrap_or(company.churn_rate),
            upgrade_rate: o.upgrade_rate.unwrap_or(company.upgrade_rate),
            average_profitability: o
                .average_profitability
                .unwrap_or(company.average_profitability),
            count_share_pct: o.count_share_pct.unwrap_or(company.count_share_pct),
        };
        check_kpi(&name, &w)?;
        roles.insert(role, w);
    }
    Ok((company, roles))
}

fn security_type(name: &str) -> Result<SecurityType, ProjectionError> {
    Ok(match name {
        "Stock" => SecurityType::Stock,
        "Fund" => SecurityType::Fund,
        "Bond" => SecurityType::Bond,
        "Repo" => SecurityType::Repo,
        "Margin" => SecurityType::Margin,
        "Option" => SecurityType::Option,
        "WealthProduct" => SecurityType::WealthProduct,
        "Other" => SecurityType::Other,
        other => {
            return Err(invalid(format!(
                "risk_preference.high_risk_security_types: unknown security type '{other}'"
            )))
        }
    })
}

/// blake3 of the bytes, lowercase hex: the rule set's content hash.
pub fn content_hash(content: &str) -> String {
    blake3::hash(content.as_bytes()).to_hex().to_string()
}

impl RuleBook {
    /// Parses and validates a rules file.
    pub fn parse(content: &str) -> Result<RuleBook, ProjectionError> {
        let file: RulesFile = toml::from_str(content).map_err(|e| invalid(e.to_string()))?;
        let c = &file.contribution;
        let contribution = ContributionRules {
            commission: money_term("contribution.commission", &c.commission)?,
            average_assets: money_term("contribution.average_assets", &c.average_assets)?,
            net_inflow: money_term("contribution.net_inflow", &c.net_inflow)?,
            products_held: count_term("contribution.products_held", c.products_held)?,
            tenure_days: count_term("contribution.tenure_days", c.tenure_days)?,
        };
        let mut branch_contribution = BTreeMap::new();
        for o in &c.branch {
            let branch = BranchId::parse(&o.branch)
                .map_err(|e| invalid(format!("contribution.branch: {e}")))?;
            let mut r = contribution;
            if let Some(t) = &o.commission {
                r.commission = money_term("contribution.branch.commission", t)?;
            }
            if let Some(t) = &o.average_assets {
                r.average_assets = money_term("contribution.branch.average_assets", t)?;
            }
            if let Some(t) = &o.net_inflow {
                r.net_inflow = money_term("contribution.branch.net_inflow", t)?;
            }
            if let Some(t) = o.products_held {
                r.products_held = count_term("contribution.branch.products_held", t)?;
            }
            if let Some(t) = o.tenure_days {
                r.tenure_days = count_term("contribution.branch.tenure_days", t)?;
            }
            if branch_contribution.insert(branch, r).is_some() {
                return Err(invalid(format!(
                    "contribution.branch: branch {branch} is listed twice"
                )));
            }
        }
        let t = file.tiers;
        if !(t.diamond >= t.gold && t.gold >= t.silver) {
            return Err(invalid("tiers: need diamond ≥ gold ≥ silver"));
        }
        let (k, kpi_roles) = kpi_rules(file.kpi)?;
        let r = &file.risk_preference;
        let risk = RiskRules {
            high_risk_security_types: r
                .high_risk_security_types
                .iter()
                .map(|s| security_type(s))
                .collect::<Result<_, _>>()?,
            turnover_ratio_aggressive_pct: r.turnover_ratio_aggressive_pct,
            turnover_ratio_conservative_pct: r.turnover_ratio_conservative_pct,
            high_risk_share_aggressive_pct: r.high_risk_share_aggressive_pct,
            high_risk_share_conservative_pct: r.high_risk_share_conservative_pct,
            holding_days_aggressive: r.holding_days_aggressive,
            holding_days_conservative: r.holding_days_conservative,
            drawdown_loss_pct: r.drawdown_loss_pct,
            drawdown_adding_share_pct: r.drawdown_adding_share_pct,
            aggressive_at: r.aggressive_at,
            conservative_at: r.conservative_at,
        };
        if risk.aggressive_at <= risk.conservative_at {
            return Err(invalid(
                "risk_preference: aggressive_at must be above conservative_at",
            ));
        }
        if risk.turnover_ratio_aggressive_pct < risk.turnover_ratio_conservative_pct
            || risk.high_risk_share_aggressive_pct < risk.high_risk_share_conservative_pct
            || risk.holding_days_aggressive > risk.holding_days_conservative
        {
            return Err(invalid(
                "risk_preference: each aggressive threshold must lie beyond its conservative one",
            ));
        }
        let churn = churn_rules(file.churn)?;
        let m = &file.reminders;
        let defaults = PreferenceConflicts::default();
        let levels = |given: &Option<Vec<RiskTolerance>>, default: Vec<RiskTolerance>| {
            let mut v = given.clone().unwrap_or(default);
            v.sort();
            v.dedup();
            v
        };
        let preference_conflicts = PreferenceConflicts {
            aggressive: levels(&m.preference_conflict_aggressive, defaults.aggressive),
            balanced: levels(&m.preference_conflict_balanced, defaults.balanced),
            conservative: levels(&m.preference_conflict_conservative, defaults.conservative),
        };
        let reminders = ReminderRules {
            follow_up_days_ahead: m.follow_up_days_ahead,
            sla_warning_hours: m.sla_warning_hours,
            birthday_days_ahead: m.birthday_days_ahead.min(366),
            large_outflow: money("reminders.large_outflow", &m.large_outflow)?,
            large_outflow_pct: m.large_outflow_pct,
            suitability_expiry_days: m.suitability_expiry_days,
            preference_conflicts,
            deposit_maturity_days_ahead: m
                .deposit_maturity_days_ahead
                .unwrap_or(DEPOSIT_MATURITY_DAYS_AHEAD)
                .min(3660),
            loan_repayment_days_ahead: m
                .loan_repayment_days_ahead
                .unwrap_or(LOAN_REPAYMENT_DAYS_AHEAD)
                .min(3660),
            loan_downgrade_days: m
                .loan_downgrade_days
                .unwrap_or(LOAN_DOWNGRADE_DAYS)
                .min(3660),
            service_days_ahead: m
                .service_days_ahead
                .unwrap_or(SERVICE_DAYS_AHEAD)
                .min(SERVICE_DAYS_MAX),
        };
        let service = service::service_rules(file.service)?;
        let care = care::care_rules(file.care)?;
        let bank_contribution = bank::bank_contribution_rules(file.bank_contribution)?;
        Ok(RuleBook {
            version: file.version,
            hash: content_hash(content),
            description: file.description,
            content: content.to_string(),
            contribution,
            branch_contribution,
            tiers: t,
            kpi: k,
            kpi_roles,
            risk,
            churn,
            reminders,
            service,
            care,
            bank_contribution,
        })
    }

    /// Reads and parses a rules file (for the CLI and the server's start-up).
    pub fn from_file(path: &std::path::Path) -> Result<RuleBook, ProjectionError> {
        let content = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
        RuleBook::parse(&content)
    }

    /// The shipped default rules.
    pub fn default_rules() -> Result<RuleBook, ProjectionError> {
        RuleBook::parse(DEFAULT_RULES)
    }

    /// The contribution formula that applies to a customer of `branch`.
    pub fn contribution_for(&self, branch: Option<BranchId>) -> &ContributionRules {
        branch
            .and_then(|b| self.branch_contribution.get(&b))
            .unwrap_or(&self.contribution)
    }

    /// The weights a post is scored with: its own `[kpi.<role>]` set if the file has one,
    /// otherwise the company's `[kpi]`.
    pub fn kpi_for(&self, role: Option<KpiRole>) -> KpiWeightSet {
        match role.and_then(|r| self.kpi_roles.get(&r).map(|w| (r, w))) {
            Some((r, w)) => KpiWeightSet {
                role,
                table: Some(r),
                weights: *w,
            },
            None => KpiWeightSet {
                role,
                table: None,
                weights: self.kpi,
            },
        }
    }

    pub fn is_high_risk(&self, t: SecurityType) -> bool {
        self.risk.high_risk_security_types.contains(&t)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_rules_parse_and_carry_their_hash() {
        let r = RuleBook::default_rules().unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(r.hash, content_hash(DEFAULT_RULES));
        assert_eq!(r.kpi.churn_rate, 30);
        assert_eq!(
            r.contribution.commission.cap,
            Money::from_yuan(20_000).unwrap()
        );
    }

    #[test]
    fn overrides_typos_and_bad_thresholds_are_refused_or_applied() {
        let b = "0190f3a4c1e27d2a9b3e5f6a7b8c9d0e";
        let with_override = DEFAULT_RULES.replace(
            "[tiers]",
            &format!("[[contribution.branch]]\nbranch = \"{b}\"\ncommission = {{ weight = 50, cap = \"1000\" }}\n\n[tiers]"),
        );
        let r = RuleBook::parse(&with_override).unwrap();
        let branch = BranchId::parse(b).unwrap();
        assert_eq!(r.contribution_for(Some(branch)).commission.weight, 50);
        assert_eq!(r.contribution_for(None).commission.weight, 35);
        assert!(RuleBook::parse(&DEFAULT_RULES.replace("diamond = 80", "diamond = 10")).is_err());
        assert!(RuleBook::parse(&DEFAULT_RULES.replace("dormant_days", "dormant_dayz")).is_err());
        assert!(
            RuleBook::parse(&DEFAULT_RULES.replace("outflow_days = 30", "outflow_days = 400"))
                .is_err()
        );
    }

    #[test]
    fn preference_conflicts_default_when_absent_and_are_read_when_given() {
        use RiskTolerance::*;
        let r = RuleBook::default_rules().unwrap();
        let c = &r.reminders.preference_conflicts;
        assert_eq!(*c, PreferenceConflicts::default());
        assert!(c.conflicts(RiskPreference::Aggressive, C2));
        assert!(!c.conflicts(RiskPreference::Aggressive, C3));
        assert!(c.conflicts(RiskPreference::Conservative, C5));
        assert!(!c.conflicts(RiskPreference::Balanced, C1));
        for level in [C1, C2, C3, C4, C5] {
            assert!(!c.conflicts(RiskPreference::Unknown, level));
        }
        let given = DEFAULT_RULES.replace(
            "suitability_expiry_days = 30",
            "suitability_expiry_days = 30\npreference_conflict_aggressive = [\"C3\", \"C1\", \"C1\"]\npreference_conflict_balanced = [\"C5\"]",
        );
        let r = RuleBook::parse(&given).unwrap();
        let c = &r.reminders.preference_conflicts;
        assert_eq!(c.aggressive, vec![C1, C3]);
        assert_eq!(c.balanced, vec![C5]);
        assert_eq!(c.conservative, vec![C5]);
        let bad = DEFAULT_RULES.replace(
            "suitability_expiry_days = 30",
            "suitability_expiry_days = 30\npreference_conflict_conservative = [\"C6\"]",
        );
        match RuleBook::parse(&bad) {
            Err(ProjectionError::Rules(reason)) => assert!(reason.contains("C6"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    fn with_kpi(extra: &str) -> String {
        DEFAULT_RULES.replace("[risk_preference]", &format!("{extra}\n[risk_preference]"))
    }

    #[test]
    fn role_weight_sets_override_the_company_weights_and_unknown_roles_or_keys_are_named() {
        // Absent: every post takes the company's weights.
        let r = RuleBook::default_rules().unwrap();
        assert!(r.kpi_roles.is_empty());
        let set = r.kpi_for(Some(KpiRole::Broker));
        assert_eq!((set.table, set.weights), (None, r.kpi));
        assert_eq!(set.table_name(), "kpi");

        // A broker's set overrides two weights; the rest are the company's.
        let r = RuleBook::parse(&with_kpi(
            "[kpi.broker]\nnew_customer_rate = 40\nchurn_rate = 10\n",
        ))
        .unwrap();
        let set = r.kpi_for(Some(KpiRole::Broker));
        assert_eq!(set.table, Some(KpiRole::Broker));
        assert_eq!(set.table_name(), "kpi.broker");
        assert_eq!(
            (
                set.weights.new_customer_rate,
                set.weights.churn_rate,
                set.weights.upgrade_rate,
                set.weights.average_profitability,
                set.weights.count_share_pct
            ),
            (40, 10, 30, 20, 50)
        );
        assert_eq!(r.kpi_for(Some(KpiRole::CustomerManager)).table, None);
        assert_eq!(r.kpi_for(None).weights, r.kpi);

        let refused = |extra: &str| match RuleBook::parse(&with_kpi(extra)) {
            Err(ProjectionError::Rules(reason)) => reason,
            other => panic!("{extra}: {other:?}"),
        };
        // An unknown post's table is named.
        let reason = refused("[kpi.branch_managerz]\nchurn_rate = 10\n");
        assert!(reason.contains("kpi.branch_managerz"), "{reason}");
        assert!(reason.contains("unknown role"), "{reason}");
        // An unknown key in a post's table is named, and so is one in [kpi] itself.
        let reason = refused("[kpi.team_lead]\nchurn_rat = 10\n");
        assert!(
            reason.contains("kpi.team_lead") && reason.contains("churn_rat"),
            "{reason}"
        );
        let reason = match RuleBook::parse(&DEFAULT_RULES.replace(
            "average_profitability = 20",
            "average_profitability = 20\nbonus = 5",
        )) {
            Err(ProjectionError::Rules(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason.contains("bonus"), "{reason}");
        // Weights are bounded as the company's are; a post's table must be a table.
        let reason = refused("[kpi.customer_manager]\nupgrade_rate = 1001\n");
        assert!(
            reason.contains("kpi.customer_manager.upgrade_rate"),
            "{reason}"
        );
        let reason = refused("[kpi.branch]\ncount_share_pct = 101\n");
        assert!(reason.contains("kpi.branch.count_share_pct"), "{reason}");
        assert!(RuleBook::parse(&DEFAULT_RULES.replace(
            "average_profitability = 20",
            "average_profitability = 20\nbroker = 5"
        ))
        .is_err());
    }

    #[test]
    fn the_deposit_outflow_minimum_is_read_defaulted_and_checked() {
        let r = RuleBook::default_rules().unwrap();
        assert_eq!(
            r.churn.deposit_outflow_min,
            Money::from_yuan(5_000).unwrap()
        );
        let with = |line: &str| {
            RuleBook::parse(&DEFAULT_RULES.replace("deposit_outflow_min = \"5000\"", line))
        };
        // Absent (a file written before the key): 5,000 yuan.
        assert_eq!(
            with("").unwrap().churn.deposit_outflow_min,
            Money::from_yuan(5_000).unwrap()
        );
        assert_eq!(
            with("deposit_outflow_min = \"20000.50\"")
                .unwrap()
                .churn
                .deposit_outflow_min,
            Money::parse("20000.50").unwrap()
        );
        let reason = |line: &str| match with(line) {
            Err(ProjectionError::Rules(reason)) => reason,
            other => panic!("{line}: {other:?}"),
        };
        let r = reason("deposit_outflow_min = \"-1\"");
        assert!(r.contains("churn.deposit_outflow_min"), "{r}");
        let r = reason("deposit_outflow_min = \"lots\"");
        assert!(r.contains("churn.deposit_outflow_min"), "{r}");
        let r = reason("deposit_outflow_min = 5000");
        assert!(
            r.contains("churn") && r.contains("deposit_outflow_min"),
            "{r}"
        );
        // churned_days: 180 when absent, read when given, and more than dormant_days.
        let defaults = RuleBook::default_rules().unwrap();
        assert_eq!(defaults.churn.churned_days, CHURNED_DAYS_DEFAULT);
        let given = with("deposit_outflow_min = \"5000\"\nchurned_days = 120").unwrap();
        assert_eq!(given.churn.churned_days, 120);
        let r = reason("deposit_outflow_min = \"5000\"\nchurned_days = 90");
        assert!(r.contains("churn.churned_days"), "{r}");
        let r = reason("deposit_outflow_min = \"5000\"\nchurned_days = 10");
        assert!(r.contains("churn.churned_days"), "{r}");
        // An unknown key in [churn] is refused by name (it used to be ignored silently).
        let r = reason("deposit_outflow_min = \"5000\"\ndeposit_outflow_pct = 30");
        assert!(r.contains("churn.deposit_outflow_pct"), "{r}");
        assert!(r.contains("unknown key"), "{r}");
    }
}
