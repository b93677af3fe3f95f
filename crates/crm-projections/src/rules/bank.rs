//! `[bank_contribution]` — 客户贡献度 of a bank customer (江西农信 ACRM 综合收益): funds transfer
//! prices (FTP, 内部资金转移价格) for deposits and loans, the cost to serve a customer per year by
//! customer kind and bank segment, and the expected credit loss rate of each loan class
//! (五级分类). Format and a worked example in `schema/rules.md`.
//!
//! Every key is checked: an unknown one is refused by name, as in `[churn]`; rates are whole
//! basis points of a year (0 to 10,000), money is a decimal string in yuan. A deposit or loan
//! product may have its own FTP (`ftp_deposit_product_bp`, `ftp_loan_product_bp`), overriding the
//! price of its kind or term; the product names are the core system's codes, data the
//! organisation defines, so any name is accepted (one that no account carries prices nothing).

use std::collections::BTreeMap;

use crm_domain::customer::{BankSegment, CustomerKind};
use crm_domain::deposit::DepositTerm;
use crm_domain::loan::LoanClass;
use crm_domain::values::ShortText;
use crm_domain::Money;
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;

/// The keys `[bank_contribution]` takes.
pub const BANK_CONTRIBUTION_KEYS: [&str; 9] = [
    "ftp_demand_bp",
    "ftp_time_bp",
    "ftp_loan_short_bp",
    "ftp_loan_long_bp",
    "ftp_deposit_product_bp",
    "ftp_loan_product_bp",
    "cost_to_serve",
    "ecl_bp",
    "tiers",
];

/// The keys of `cost_to_serve`: the two customer kinds (required) and the three bank segments
/// (optional, each defaulting to its kind's cost).
pub const COST_TO_SERVE_KEYS: [&str; 5] = [
    "individual",
    "institutional",
    "farm_household",
    "sole_proprietor",
    "small_business",
];

/// The keys of `ecl_bp`, one per class, best first.
pub const ECL_KEYS: [&str; 5] = ["pass", "special_mention", "substandard", "doubtful", "loss"];

/// The keys of `tiers`.
pub const BANK_TIER_KEYS: [&str; 3] = ["silver", "gold", "diamond"];

/// A loan of at most this many months is short-term (短期贷款) for its FTP.
pub const SHORT_LOAN_MONTHS: i32 = 12;

/// Basis points are of 10,000; a rate above 100% a year is refused.
pub const BP_MAX: u32 = 10_000;

/// Cost to serve a customer for a year, by customer kind and bank segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostToServe {
    pub individual: Money,
    pub institutional: Money,
    pub farm_household: Money,
    pub sole_proprietor: Money,
    pub small_business: Money,
}

/// A rural bank's segment of a customer (农户 / 个体工商户 / 小微企业), without its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SegmentKind {
    FarmHousehold,
    SoleProprietor,
    SmallBusiness,
}

impl SegmentKind {
    pub fn of(segment: &BankSegment) -> SegmentKind {
        match segment {
            BankSegment::FarmHousehold(_) => SegmentKind::FarmHousehold,
            BankSegment::SoleProprietor(_) => SegmentKind::SoleProprietor,
            BankSegment::SmallBusiness(_) => SegmentKind::SmallBusiness,
        }
    }
}

/// The bank segment's name as a `cost_to_serve` key, or the customer kind's when there is none.
pub fn cost_key(kind: CustomerKind, segment: Option<SegmentKind>) -> &'static str {
    match (segment, kind) {
        (Some(SegmentKind::FarmHousehold), _) => "farm_household",
        (Some(SegmentKind::SoleProprietor), _) => "sole_proprietor",
        (Some(SegmentKind::SmallBusiness), _) => "small_business",
        (None, CustomerKind::Individual) => "individual",
        (None, CustomerKind::Institutional) => "institutional",
    }
}

impl CostToServe {
    /// The yearly cost of a customer filed under `key` (one of [`COST_TO_SERVE_KEYS`]).
    pub fn of_key(&self, key: &str) -> Money {
        match key {
            "institutional" => self.institutional,
            "farm_household" => self.farm_household,
            "sole_proprietor" => self.sole_proprietor,
            "small_business" => self.small_business,
            _ => self.individual,
        }
    }
}

/// Minimum yearly contribution of each tier for a bank customer (annualised from the period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTierRules {
    pub silver: Money,
    pub gold: Money,
    pub diamond: Money,
}

/// Which `[bank_contribution]` price an account's FTP is: the rule key that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FtpSource {
    /// `ftp_demand_bp`.
    Demand,
    /// `ftp_time_bp`.
    Time,
    /// `ftp_loan_short_bp`.
    LoanShort,
    /// `ftp_loan_long_bp`.
    LoanLong,
    /// `ftp_deposit_product_bp` of this product.
    DepositProduct(String),
    /// `ftp_loan_product_bp` of this product.
    LoanProduct(String),
}

impl FtpSource {
    /// The rule key, as the rules file writes it (`ftp_loan_product_bp."农户小额信用贷款"`).
    pub fn rule_key(&self) -> String {
        match self {
            FtpSource::Demand => "ftp_demand_bp".to_string(),
            FtpSource::Time => "ftp_time_bp".to_string(),
            FtpSource::LoanShort => "ftp_loan_short_bp".to_string(),
            FtpSource::LoanLong => "ftp_loan_long_bp".to_string(),
            FtpSource::DepositProduct(p) => format!("ftp_deposit_product_bp.{p:?}"),
            FtpSource::LoanProduct(p) => format!("ftp_loan_product_bp.{p:?}"),
        }
    }
}

/// `[bank_contribution]` as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankContributionRules {
    pub ftp_demand_bp: u32,
    pub ftp_time_bp: u32,
    /// Loans of at most [`SHORT_LOAN_MONTHS`] months from start to maturity.
    pub ftp_loan_short_bp: u32,
    pub ftp_loan_long_bp: u32,
    /// FTP of a deposit product (the account's product code), over its kind's.
    #[serde(default)]
    pub ftp_deposit_product_bp: BTreeMap<String, u32>,
    /// FTP of a loan product, over its term's.
    #[serde(default)]
    pub ftp_loan_product_bp: BTreeMap<String, u32>,
    pub cost_to_serve: CostToServe,
    /// Expected credit loss a year, by class (`LoanClass as usize`).
    pub ecl_bp: [u32; 5],
    /// When given, a bank customer's tier follows the contribution.
    pub tiers: Option<BankTierRules>,
}

impl BankContributionRules {
    pub fn ftp_deposit_bp(&self, term: DepositTerm) -> u32 {
        match term {
            DepositTerm::Demand => self.ftp_demand_bp,
            DepositTerm::Time { .. } => self.ftp_time_bp,
        }
    }

    /// A deposit account's FTP: its product's when `ftp_deposit_product_bp` names it, else its
    /// kind's; with the key that gave it.
    pub fn ftp_deposit(&self, product: &str, term: DepositTerm) -> (u32, FtpSource) {
        if let Some(bp) = self.ftp_deposit_product_bp.get(product) {
            return (*bp, FtpSource::DepositProduct(product.to_string()));
        }
        let source = match term {
            DepositTerm::Demand => FtpSource::Demand,
            DepositTerm::Time { .. } => FtpSource::Time,
        };
        (self.ftp_deposit_bp(term), source)
    }

    /// A loan's FTP: its product's when `ftp_loan_product_bp` names it, else its term's; with
    /// the key that gave it and whether the loan is short-term (by its contract either way).
    pub fn ftp_loan(
        &self,
        product: &str,
        start: time::Date,
        maturity: time::Date,
    ) -> (u32, FtpSource, bool) {
        let (bp, short) = self.ftp_loan_bp(start, maturity);
        if let Some(p) = self.ftp_loan_product_bp.get(product) {
            return (*p, FtpSource::LoanProduct(product.to_string()), short);
        }
        let source = if short {
            FtpSource::LoanShort
        } else {
            FtpSource::LoanLong
        };
        (bp, source, short)
    }

    /// The loan's FTP by its contractual term, and whether it counts as short-term.
    pub fn ftp_loan_bp(&self, start: time::Date, maturity: time::Date) -> (u32, bool) {
        let months = (maturity.year() - start.year()) * 12
            + (i32::from(u8::from(maturity.month())) - i32::from(u8::from(start.month())))
            + i32::from(maturity.day() > start.day());
        if months <= SHORT_LOAN_MONTHS {
            (self.ftp_loan_short_bp, true)
        } else {
            (self.ftp_loan_long_bp, false)
        }
    }

    pub fn ecl_bp_of(&self, class: LoanClass) -> u32 {
        self.ecl_bp.get(class as usize).copied().unwrap_or(BP_MAX)
    }
}

fn invalid(reason: impl Into<String>) -> ProjectionError {
    ProjectionError::Rules(reason.into())
}

fn refuse_unknown(table: &toml::Table, name: &str, keys: &[&str]) -> Result<(), ProjectionError> {
    if let Some(key) = table.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(invalid(format!(
            "{name}.{key}: unknown key (the keys are {})",
            keys.join(", ")
        )));
    }
    Ok(())
}

fn bp(table: &toml::Table, name: &str, key: &str) -> Result<Option<u32>, ProjectionError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::Integer(v)) => u32::try_from(*v)
            .ok()
            .filter(|v| *v <= BP_MAX)
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "{name}.{key} must be basis points from 0 to {BP_MAX}, got {v}"
                ))
            }),
        Some(other) => Err(invalid(format!(
            "{name}.{key} must be whole basis points (150 = 1.50%), got {other}"
        ))),
    }
}

fn required_bp(table: &toml::Table, name: &str, key: &str) -> Result<u32, ProjectionError> {
    bp(table, name, key)?.ok_or_else(|| invalid(format!("{name}.{key} is missing")))
}

fn yuan(table: &toml::Table, name: &str, key: &str) -> Result<Option<Money>, ProjectionError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(text)) => {
            let m = Money::parse(text).map_err(|e| invalid(format!("{name}.{key}: {e}")))?;
            if m < Money::ZERO {
                return Err(invalid(format!(
                    "{name}.{key} must not be below zero, got {m}"
                )));
            }
            Ok(Some(m))
        }
        Some(other) => Err(invalid(format!(
            "{name}.{key} must be an amount in yuan as a string (\"200\"), got {other}"
        ))),
    }
}

fn sub_table<'a>(
    table: &'a toml::Table,
    name: &str,
    key: &str,
) -> Result<Option<&'a toml::Table>, ProjectionError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::Table(t)) => Ok(Some(t)),
        Some(other) => Err(invalid(format!(
            "{name}.{key} must be a table, got {other}"
        ))),
    }
}

/// A per-product FTP table: each key a product code as the core system writes it (1 to 200
/// characters, no surrounding spaces), each value whole basis points.
fn product_prices(
    table: &toml::Table,
    key: &str,
) -> Result<BTreeMap<String, u32>, ProjectionError> {
    let name = format!("bank_contribution.{key}");
    let Some(t) = sub_table(table, "bank_contribution", key)? else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for product in t.keys() {
        if !ShortText::parse(product).is_ok_and(|p| p.as_str() == product) {
            return Err(invalid(format!(
                "{name}.{product:?}: a product code is 1 to 200 characters without surrounding spaces"
            )));
        }
        let bp = required_bp(t, &name, product)?;
        out.insert(product.clone(), bp);
    }
    Ok(out)
}

fn cost_to_serve(t: &toml::Table) -> Result<CostToServe, ProjectionError> {
    let name = "bank_contribution.cost_to_serve";
    refuse_unknown(t, name, &COST_TO_SERVE_KEYS)?;
    let need = |key: &str| -> Result<Money, ProjectionError> {
        yuan(t, name, key)?.ok_or_else(|| invalid(format!("{name}.{key} is missing")))
    };
    let individual = need("individual")?;
    let institutional = need("institutional")?;
    Ok(CostToServe {
        individual,
        institutional,
        farm_household: yuan(t, name, "farm_household")?.unwrap_or(individual),
        sole_proprietor: yuan(t, name, "sole_proprietor")?.unwrap_or(individual),
        small_business: yuan(t, name, "small_business")?.unwrap_or(institutional),
    })
}

fn ecl(t: &toml::Table) -> Result<[u32; 5], ProjectionError> {
    let name = "bank_contribution.ecl_bp";
    refuse_unknown(t, name, &ECL_KEYS)?;
    let mut out = [0u32; 5];
    for (slot, key) in out.iter_mut().zip(ECL_KEYS) {
        *slot = required_bp(t, name, key)?;
    }
    if out.windows(2).any(|w| w[0] > w[1]) {
        return Err(invalid(format!(
            "{name}: a worse class cannot expect a smaller loss (pass ≤ special_mention ≤ substandard ≤ doubtful ≤ loss), got {out:?}"
        )));
    }
    Ok(out)
}

fn tiers(t: &toml::Table) -> Result<BankTierRules, ProjectionError> {
    let name = "bank_contribution.tiers";
    refuse_unknown(t, name, &BANK_TIER_KEYS)?;
    let need = |key: &str| -> Result<Money, ProjectionError> {
        yuan(t, name, key)?.ok_or_else(|| invalid(format!("{name}.{key} is missing")))
    };
    let r = BankTierRules {
        silver: need("silver")?,
        gold: need("gold")?,
        diamond: need("diamond")?,
    };
    if !(r.diamond >= r.gold && r.gold >= r.silver) {
        return Err(invalid(format!("{name}: need diamond ≥ gold ≥ silver")));
    }
    Ok(r)
}

/// `[bank_contribution]`, if the file has it.
pub fn bank_contribution_rules(
    value: Option<toml::Value>,
) -> Result<Option<BankContributionRules>, ProjectionError> {
    let name = "bank_contribution";
    let table = match value {
        None => return Ok(None),
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            return Err(invalid(format!("{name} must be a table, got {other}")));
        }
    };
    refuse_unknown(&table, name, &BANK_CONTRIBUTION_KEYS)?;
    let cost = sub_table(&table, name, "cost_to_serve")?
        .ok_or_else(|| invalid(format!("{name}.cost_to_serve is missing")))?;
    let ecl_table = sub_table(&table, name, "ecl_bp")?
        .ok_or_else(|| invalid(format!("{name}.ecl_bp is missing")))?;
    Ok(Some(BankContributionRules {
        ftp_demand_bp: required_bp(&table, name, "ftp_demand_bp")?,
        ftp_time_bp: required_bp(&table, name, "ftp_time_bp")?,
        ftp_loan_short_bp: required_bp(&table, name, "ftp_loan_short_bp")?,
        ftp_loan_long_bp: required_bp(&table, name, "ftp_loan_long_bp")?,
        ftp_deposit_product_bp: product_prices(&table, "ftp_deposit_product_bp")?,
        ftp_loan_product_bp: product_prices(&table, "ftp_loan_product_bp")?,
        cost_to_serve: cost_to_serve(cost)?,
        ecl_bp: ecl(ecl_table)?,
        tiers: sub_table(&table, name, "tiers")?.map(tiers).transpose()?,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::rules::{RuleBook, DEFAULT_RULES};
    use time::macros::date;

    fn reason(content: &str) -> String {
        match RuleBook::parse(content) {
            Err(ProjectionError::Rules(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    fn replaced(from: &str, to: &str) -> String {
        assert!(DEFAULT_RULES.contains(from), "{from}");
        DEFAULT_RULES.replace(from, to)
    }

    #[test]
    fn the_default_rules_carry_bank_contribution() {
        let r = RuleBook::default_rules().unwrap();
        let b = r.bank_contribution.unwrap();
        assert_eq!((b.ftp_demand_bp, b.ftp_time_bp), (150, 260));
        assert_eq!((b.ftp_loan_short_bp, b.ftp_loan_long_bp), (300, 350));
        assert_eq!(b.ecl_bp, [50, 200, 2500, 5000, 10000]);
        assert_eq!(b.cost_to_serve.individual, Money::from_yuan(120).unwrap());
        assert_eq!(
            b.cost_to_serve.farm_household,
            Money::from_yuan(180).unwrap()
        );
        assert_eq!(b.ecl_bp_of(LoanClass::SpecialMention), 200);
        assert!(b.tiers.is_some());
    }

    #[test]
    fn a_file_without_the_section_has_no_bank_contribution() {
        let start = DEFAULT_RULES.find("[bank_contribution]").unwrap();
        let end = DEFAULT_RULES.find("[reminders]").unwrap();
        let without = format!("{}{}", &DEFAULT_RULES[..start], &DEFAULT_RULES[end..]);
        assert_eq!(RuleBook::parse(&without).unwrap().bank_contribution, None);
    }

    #[test]
    fn segments_default_to_their_kind_and_loans_split_at_twelve_months() {
        let r = RuleBook::parse(&replaced("farm_household = \"180\", ", "")).unwrap();
        let b = r.bank_contribution.unwrap();
        assert_eq!(b.cost_to_serve.farm_household, b.cost_to_serve.individual);
        assert_eq!(
            b.cost_to_serve.of_key("farm_household"),
            b.cost_to_serve.individual
        );
        assert_eq!(
            b.ftp_loan_bp(date!(2026 - 01 - 15), date!(2027 - 01 - 15)),
            (300, true)
        );
        assert_eq!(
            b.ftp_loan_bp(date!(2026 - 01 - 15), date!(2027 - 01 - 16)),
            (350, false)
        );
        assert_eq!(cost_key(CustomerKind::Institutional, None), "institutional");
    }

    #[test]
    fn bad_keys_and_values_are_refused_by_name() {
        let r = reason(&replaced(
            "ftp_demand_bp = 150",
            "ftp_demand_bp = 150\nftp_savings_bp = 1",
        ));
        assert!(
            r.contains("bank_contribution.ftp_savings_bp") && r.contains("unknown key"),
            "{r}"
        );
        let r = reason(&replaced("ftp_time_bp = 260", "ftp_time_bp = 10001"));
        assert!(r.contains("bank_contribution.ftp_time_bp"), "{r}");
        let r = reason(&replaced("ftp_time_bp = 260", "ftp_time_bp = -1"));
        assert!(r.contains("bank_contribution.ftp_time_bp"), "{r}");
        let r = reason(&replaced("ftp_time_bp = 260", "ftp_time_bp = \"2.6%\""));
        assert!(r.contains("bank_contribution.ftp_time_bp"), "{r}");
        let r = reason(&replaced("ftp_loan_long_bp = 350\n", ""));
        assert!(
            r.contains("bank_contribution.ftp_loan_long_bp is missing"),
            "{r}"
        );
        let r = reason(&replaced(
            "individual = \"120\"",
            "individual = \"120\", retail = \"1\"",
        ));
        assert!(r.contains("bank_contribution.cost_to_serve.retail"), "{r}");
        let r = reason(&replaced("individual = \"120\"", "individual = \"-5\""));
        assert!(
            r.contains("bank_contribution.cost_to_serve.individual"),
            "{r}"
        );
        let r = reason(&replaced("individual = \"120\"", "individual = 120"));
        assert!(
            r.contains("bank_contribution.cost_to_serve.individual"),
            "{r}"
        );
        let r = reason(&replaced("special_mention = 200", "special_mention = 20"));
        assert!(r.contains("bank_contribution.ecl_bp"), "{r}");
        let r = reason(&replaced("loss = 10000", "lost = 10000"));
        assert!(r.contains("bank_contribution.ecl_bp.lost"), "{r}");
        let r = reason(&replaced("diamond = \"20000\"", "diamond = \"10\""));
        assert!(r.contains("bank_contribution.tiers"), "{r}");
        let r = reason(&replaced("diamond = \"20000\"", "platinum = \"20000\""));
        assert!(r.contains("bank_contribution.tiers.platinum"), "{r}");
    }

    #[test]
    fn a_product_s_own_ftp_overrides_its_kind_s_and_names_the_key() {
        let r = RuleBook::parse(&replaced(
            "ftp_loan_long_bp = 350\n",
            "ftp_loan_long_bp = 350\nftp_deposit_product_bp = { \"整存整取三年\" = 330 }\nftp_loan_product_bp = { \"农户小额信用贷款\" = 280, \"LP-2\" = 0 }\n",
        ))
        .unwrap();
        let b = r.bank_contribution.unwrap();
        let time = DepositTerm::Time {
            term_months: 36,
            maturity: date!(2029 - 01 - 15),
        };
        let (bp, source) = b.ftp_deposit("整存整取三年", time);
        assert_eq!(bp, 330);
        assert_eq!(source.rule_key(), "ftp_deposit_product_bp.\"整存整取三年\"");
        assert_eq!(
            b.ftp_deposit("活期储蓄", DepositTerm::Demand),
            (150, FtpSource::Demand)
        );
        assert_eq!(b.ftp_deposit("定期一年", time), (260, FtpSource::Time));
        let (start, end) = (date!(2026 - 01 - 15), date!(2026 - 07 - 15));
        assert_eq!(
            b.ftp_loan("农户小额信用贷款", start, end),
            (280, FtpSource::LoanProduct("农户小额信用贷款".into()), true)
        );
        assert_eq!(
            b.ftp_loan("LP-2", start, date!(2029 - 01 - 15)),
            (0, FtpSource::LoanProduct("LP-2".into()), false)
        );
        assert_eq!(
            b.ftp_loan("other", start, date!(2029 - 01 - 15)),
            (350, FtpSource::LoanLong, false)
        );
        assert_eq!(FtpSource::LoanShort.rule_key(), "ftp_loan_short_bp");
        // Without the tables, no product has a price of its own.
        let d = RuleBook::default_rules()
            .unwrap()
            .bank_contribution
            .unwrap();
        assert!(d.ftp_deposit_product_bp.is_empty() && d.ftp_loan_product_bp.is_empty());
    }

    #[test]
    fn bad_product_prices_are_refused_naming_the_product() {
        let with = |table: &str| {
            reason(&replaced(
                "ftp_loan_long_bp = 350\n",
                &format!("ftp_loan_long_bp = 350\n{table}\n"),
            ))
        };
        let r = with("ftp_loan_product_bp = { \"农户贷款\" = 10001 }");
        assert!(
            r.contains("bank_contribution.ftp_loan_product_bp.农户贷款") && r.contains("10001"),
            "{r}"
        );
        let r = with("ftp_deposit_product_bp = { \"定期\" = \"2.6%\" }");
        assert!(
            r.contains("bank_contribution.ftp_deposit_product_bp.定期"),
            "{r}"
        );
        let r = with("ftp_deposit_product_bp = { \"定期\" = -5 }");
        assert!(
            r.contains("bank_contribution.ftp_deposit_product_bp.定期"),
            "{r}"
        );
        let r = with("ftp_deposit_product_bp = { \" 定期\" = 100 }");
        assert!(
            r.contains("bank_contribution.ftp_deposit_product_bp.\" 定期\"")
                && r.contains("product code"),
            "{r}"
        );
        let r = with("ftp_deposit_product_bp = { \"\" = 100 }");
        assert!(r.contains("product code"), "{r}");
        let r = with("ftp_deposit_product_bp = 100");
        assert!(
            r.contains("bank_contribution.ftp_deposit_product_bp must be a table"),
            "{r}"
        );
    }
}
