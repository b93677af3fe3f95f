//! 流失风险: churn risk at an evaluation date, with the basis that decided it.
//!
//! A brokerage customer is high risk on a large net outflow of their accounts and medium risk
//! when dormant (no trade, no contact). A customer with bank business is also high risk when
//! their total deposits fell (资产流失) by more than `[churn] outflow_pct` over the rule's window
//! *and* by at least `[churn] deposit_outflow_min`, and their account activity (a deposit
//! balance that moved, a loan repaid or disbursed, fee income) keeps them from being dormant.

use serde::{Deserialize, Serialize};
use time::Date;

use crm_domain::customer::{ChurnReason, Lifecycle};
use crm_domain::Money;

use super::ChurnRisk;
use crate::model::{madd, mscale, CustomerRecord, Model};
use crate::read_models::banking::{self, BankCustomer};
use crate::rules::RuleBook;

/// What decided a churn risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChurnBasis {
    /// Low risk: no rule applies.
    None,
    /// Churn recorded (lifecycle).
    Churned,
    /// The securities accounts' net outflow (`outflow_pct` of assets in `outflow_days`).
    NetOutflow,
    /// A bank customer's total deposits fell (`outflow_pct` and `deposit_outflow_min`).
    DepositOutflow,
    /// No trade, contact or (bank) account activity for `dormant_days`.
    Dormancy,
    /// Only a standing at-risk flag (流失预警) lifts the risk.
    AtRiskFlag,
}

/// How a bank customer's total deposits moved over the churn window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositOutflow {
    /// The day the window starts from (the last day before it, or its first day) and its total.
    pub from: Date,
    pub before: Money,
    /// The latest day up to the evaluation date and its total.
    pub to: Date,
    pub now: Money,
    /// `before - now` (negative when deposits grew).
    pub fall: Money,
    /// The fall as a share of `before`, percent; `None` without a fall or a base.
    pub fall_pct: Option<i64>,
}

/// Churn risk at an evaluation date, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnExplain {
    pub rules_version: u32,
    pub rules_hash: String,
    pub as_of: Date,
    pub risk: ChurnRisk,
    /// Which rule decided the risk.
    pub basis: ChurnBasis,
    pub reason: String,
    /// What the customer could take away: their assets, plus their latest total deposits
    /// when they have bank business.
    pub value_at_risk: Money,
    /// The latest trade or contact, or (bank business) account activity.
    pub last_activity: Option<Date>,
    /// Days since the last activity (or since registration, without any).
    pub days_inactive: i64,
    pub dormant_days: u32,
    pub outflow: Money,
    /// Net outflow as a share of assets at the start of the window, in percent.
    pub outflow_pct: Option<i64>,
    pub outflow_threshold_pct: u32,
    pub outflow_days: u32,
    /// The deposits' move over the window, for a customer with deposit figures in it.
    pub deposits: Option<DepositOutflow>,
    /// `[churn] deposit_outflow_min`.
    pub deposit_outflow_min: Money,
    /// Positions of the daily figures in the outflow window (the securities days, then the
    /// deposit days).
    pub positions: Vec<u64>,
}

/// A standing at-risk flag (流失预警) lifts the risk of a customer not churned to at least
/// medium, and the reason names who flagged and why.
fn with_flag(
    c: &CustomerRecord,
    decided: (ChurnRisk, ChurnBasis, String),
) -> (ChurnRisk, ChurnBasis, String) {
    let (risk, basis, reason) = decided;
    let Some(flag) = c
        .at_risk_flag
        .as_ref()
        .filter(|_| risk != ChurnRisk::Churned)
    else {
        return (risk, basis, reason);
    };
    let why = match &flag.note {
        Some(n) => format!("{}: {n}", churn_reason_name(flag.reason)),
        None => churn_reason_name(flag.reason).to_string(),
    };
    let flagged = format!(
        "flagged at risk by staff {} on {} ({why})",
        flag.by,
        crate::model::business_date(flag.at)
    );
    if reason.is_empty() {
        (risk.max(ChurnRisk::Medium), ChurnBasis::AtRiskFlag, flagged)
    } else {
        (
            risk.max(ChurnRisk::Medium),
            basis,
            format!("{reason}; {flagged}"),
        )
    }
}

/// The recorded or flagged churn reason in words.
pub fn churn_reason_name(r: ChurnReason) -> &'static str {
    match r {
        ChurnReason::Competitor => "competitor",
        ChurnReason::Fees => "fees",
        ChurnReason::ServiceQuality => "service quality",
        ChurnReason::InvestmentLosses => "investment losses",
        ChurnReason::Relocation => "relocation",
        ChurnReason::LeftTheMarket => "left the market",
        ChurnReason::Other => "other",
    }
}

/// Money in yuan with thousands separators, the fraction only when there is one
/// (`180,000`, `5,000.5`).
pub fn group_yuan(m: Money) -> String {
    let v = m.minor();
    let abs = v.unsigned_abs();
    let scale = Money::SCALE.unsigned_abs();
    let digits = (abs / scale).to_string();
    let mut whole = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            whole.push(',');
        }
        whole.push(ch);
    }
    let frac = abs % scale;
    let sign = if v < 0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let f = format!("{frac:04}");
        format!("{sign}{whole}.{}", f.trim_end_matches('0'))
    }
}

fn percent(part: Money, base: Money) -> Option<i64> {
    (base > Money::ZERO && part > Money::ZERO).then(|| {
        i64::try_from(i128::from(part.minor()) * 100 / i128::from(base.minor())).unwrap_or(i64::MAX)
    })
}

/// The securities accounts' net outflow in the window starting `window_start`: the outflow,
/// its share of the assets before the window, the positions of the days.
fn net_outflow(
    c: &CustomerRecord,
    window_start: Date,
    as_of: Date,
) -> (Money, Option<i64>, Vec<u64>) {
    let mut outflow = Money::ZERO;
    let mut positions = Vec::new();
    let mut assets_before = None;
    for d in &c.days {
        if d.date < window_start {
            assets_before = Some(d.assets);
            continue;
        }
        if d.date > as_of {
            break;
        }
        outflow = madd(outflow, madd(d.withdrawals, mscale(d.deposits, -1)));
        positions.push(d.position);
        if assets_before.is_none() {
            // No day before the window: the first day's assets plus what left since.
            assets_before = Some(madd(d.assets, madd(d.withdrawals, mscale(d.deposits, -1))));
        }
    }
    let base = assets_before.unwrap_or(c.assets);
    (outflow, percent(outflow, base), positions)
}

/// How a bank customer's total deposits moved from the window's start to `as_of`: from the
/// last day before the window (or, without one, the window's first day) to the latest day up
/// to `as_of`. `None` without a day in reach.
pub fn deposit_outflow(
    bc: &BankCustomer,
    window_start: Date,
    as_of: Date,
) -> Option<(DepositOutflow, Vec<u64>)> {
    let upto = bc.deposit_days.partition_point(|d| d.date <= as_of);
    let days = bc.deposit_days.get(..upto)?;
    let now = days.last()?;
    let first_in = days.partition_point(|d| d.date < window_start);
    let from = first_in
        .checked_sub(1)
        .and_then(|i| days.get(i))
        .or_else(|| days.get(first_in))?;
    let fall = madd(from.total, mscale(now.total, -1));
    let positions = days
        .get(first_in..)
        .unwrap_or_default()
        .iter()
        .map(|d| d.position)
        .collect();
    Some((
        DepositOutflow {
            from: from.date,
            before: from.total,
            to: now.date,
            now: now.total,
            fall,
            fall_pct: percent(fall, from.total),
        },
        positions,
    ))
}

/// [`churn`] of customer `c` of model `m`, with their bank business if they have any.
pub fn churn_in(m: &Model, c: &CustomerRecord, rules: &RuleBook, as_of: Date) -> ChurnExplain {
    churn(c, banking::bank_customer(m, c.id), rules, as_of)
}

/// Churn risk of customer `c` (with `bank`, their bank business) at `as_of`.
pub fn churn(
    c: &CustomerRecord,
    bank: Option<&BankCustomer>,
    rules: &RuleBook,
    as_of: Date,
) -> ChurnExplain {
    let r = &rules.churn;
    let window_start = as_of - time::Duration::days(i64::from(r.outflow_days) - 1);
    let (outflow, outflow_pct, mut positions) = net_outflow(c, window_start, as_of);
    let deposits = bank.and_then(|bc| deposit_outflow(bc, window_start, as_of));
    if let Some((_, p)) = &deposits {
        positions.extend_from_slice(p);
    }
    let deposits = deposits.map(|(d, _)| d);
    let last_activity = c.last_activity().max(bank.and_then(|bc| bc.last_activity));
    let since = last_activity.unwrap_or_else(|| crate::model::business_date(c.registered_at));
    let days_inactive = (as_of - since).whole_days();
    let deposit_high = deposits.is_some_and(|d| {
        d.fall_pct.is_some_and(|p| p > i64::from(r.outflow_pct)) && d.fall >= r.deposit_outflow_min
    });
    let decided = if c.lifecycle == Lifecycle::Churned {
        (
            ChurnRisk::Churned,
            ChurnBasis::Churned,
            // The recorded reason is a field of its own (`churn_reason`); this says where the
            // risk comes from.
            match c.churn_reason.as_ref().and_then(|(_, note)| note.as_ref()) {
                Some(n) => format!("churn recorded ({n})"),
                None => "churn recorded".into(),
            },
        )
    } else if outflow_pct.is_some_and(|p| p > i64::from(r.outflow_pct)) {
        (
            ChurnRisk::High,
            ChurnBasis::NetOutflow,
            format!(
                "net outflow of {outflow} CNY in {} days is {}% of assets (rule: above {}%)",
                r.outflow_days,
                outflow_pct.unwrap_or(0),
                r.outflow_pct
            ),
        )
    } else if let Some(d) = deposits.filter(|_| deposit_high) {
        (
            ChurnRisk::High,
            ChurnBasis::DepositOutflow,
            format!(
                "deposits fell {}% ({} -> {}) in {} days (rule: {}%, at least {})",
                d.fall_pct.unwrap_or(0),
                group_yuan(d.before),
                group_yuan(d.now),
                r.outflow_days,
                r.outflow_pct,
                group_yuan(r.deposit_outflow_min)
            ),
        )
    } else if matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant)
        && days_inactive >= i64::from(r.dormant_days)
    {
        let what = if bank.is_some() {
            "no trade, contact or account activity"
        } else {
            "no trade or contact"
        };
        (
            ChurnRisk::Medium,
            ChurnBasis::Dormancy,
            format!(
                "{what} for {days_inactive} days (rule: {} days)",
                r.dormant_days
            ),
        )
    } else {
        (ChurnRisk::Low, ChurnBasis::None, String::new())
    };
    let (risk, basis, reason) = with_flag(c, decided);
    ChurnExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        as_of,
        risk,
        basis,
        reason,
        value_at_risk: madd(c.assets, deposits.map_or(Money::ZERO, |d| d.now)),
        last_activity,
        days_inactive,
        dormant_days: r.dormant_days,
        outflow,
        outflow_pct,
        outflow_threshold_pct: r.outflow_pct,
        outflow_days: r.outflow_days,
        deposits,
        deposit_outflow_min: r.deposit_outflow_min,
        positions,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::derive::tests::customer;
    use crate::model::DayFigures;
    use crm_domain::customer::ChurnReason;
    use time::macros::{date, datetime};

    fn churn(c: &CustomerRecord, rules: &RuleBook, as_of: Date) -> ChurnExplain {
        super::churn(c, None, rules, as_of)
    }

    #[test]
    fn an_at_risk_flag_lifts_the_risk_to_medium_and_names_who_and_why() {
        let rules = RuleBook::default_rules().unwrap();
        let mut c = customer();
        let on = date!(2024 - 02 - 01);
        assert_eq!(churn(&c, &rules, on).risk, ChurnRisk::Low);
        let by = crm_domain::ids::StaffId::from(uuid::Uuid::from_u128(100));
        c.at_risk_flag = Some(crate::read_models::archive::AtRiskFlagRecord {
            by,
            reason: ChurnReason::Competitor,
            note: Some("asked about fees elsewhere".into()),
            at: datetime!(2024-01-20 09:00 +8),
            position: 7,
        });
        let flagged = churn(&c, &rules, on);
        assert_eq!(flagged.risk, ChurnRisk::Medium);
        assert_eq!(
            flagged.reason,
            format!(
                "flagged at risk by staff {by} on 2024-01-20 (competitor: asked about fees \
                 elsewhere)"
            )
        );
        // Dormant and flagged: still medium, both reasons named.
        let both = churn(&c, &rules, date!(2024 - 06 - 01));
        assert_eq!(both.risk, ChurnRisk::Medium);
        assert!(
            both.reason.starts_with("no trade or contact"),
            "{}",
            both.reason
        );
        assert!(both.reason.contains("flagged at risk"), "{}", both.reason);
        // A recorded churn outranks the flag.
        c.lifecycle = Lifecycle::Churned;
        assert_eq!(churn(&c, &rules, on).risk, ChurnRisk::Churned);
        assert_eq!(churn(&c, &rules, on).reason, "churn recorded");
    }

    #[test]
    fn churn_risk_names_its_reason() {
        let rules = RuleBook::default_rules().unwrap();
        let mut c = customer();
        let low = churn(&c, &rules, date!(2024 - 02 - 01));
        assert_eq!(low.risk, ChurnRisk::Low);
        let dormant = churn(&c, &rules, date!(2024 - 06 - 01));
        assert_eq!(dormant.risk, ChurnRisk::Medium);
        assert!(dormant.reason.contains("no trade or contact"));
        c.last_contact = Some(date!(2024 - 05 - 20));
        assert_eq!(
            churn(&c, &rules, date!(2024 - 06 - 01)).risk,
            ChurnRisk::Low
        );
        c.days = vec![
            DayFigures {
                date: date!(2024 - 05 - 01),
                turnover: Money::ZERO,
                commission: Money::ZERO,
                deposits: Money::ZERO,
                withdrawals: Money::ZERO,
                assets: Money::from_yuan(1_000_000).unwrap(),
                position: 5,
            },
            DayFigures {
                date: date!(2024 - 05 - 25),
                turnover: Money::ZERO,
                commission: Money::ZERO,
                deposits: Money::ZERO,
                withdrawals: Money::from_yuan(600_000).unwrap(),
                assets: Money::from_yuan(400_000).unwrap(),
                position: 6,
            },
        ];
        let out = churn(&c, &rules, date!(2024 - 06 - 01));
        assert_eq!(out.risk, ChurnRisk::High);
        assert_eq!(out.outflow_pct, Some(60));
        assert_eq!(out.positions, vec![6]);
        c.lifecycle = Lifecycle::Churned;
        c.churn_reason = Some((ChurnReason::Fees, None));
        let churned = churn(&c, &rules, date!(2024 - 06 - 01));
        assert_eq!(churned.risk, ChurnRisk::Churned);
        // The recorded reason is a field of its own: the risk's explanation says where the
        // risk comes from, not an internal enum name.
        assert_eq!(churned.reason, "churn recorded");
        c.churn_reason = Some((ChurnReason::Fees, Some("费率太高".into())));
        let churned = churn(&c, &rules, date!(2024 - 06 - 01));
        assert_eq!(churned.reason, "churn recorded (费率太高)");
    }

    fn yuan(y: i64) -> Money {
        Money::from_yuan(y).unwrap()
    }

    /// A bank customer whose total deposits were `figures` (yuan) on the given days, folded
    /// as the read model folds them (one account each day), under a 30-day window.
    fn bank(figures: &[(Date, i64)]) -> BankCustomer {
        let mut bc = BankCustomer::default();
        for (i, (d, y)) in figures.iter().enumerate() {
            bc.add_deposit_day(*d, yuan(*y), None, 100 + i as u64, 30);
        }
        bc
    }

    /// Active today, so dormancy does not decide.
    fn active(mut bc: BankCustomer, on: Date) -> BankCustomer {
        bc.active_on(on);
        bc
    }

    const AS_OF: Date = date!(2024 - 06 - 30);

    #[test]
    fn deposits_falling_by_more_than_the_share_and_the_minimum_are_high_risk() {
        let rules = RuleBook::default_rules().unwrap();
        let c = customer();
        let bc = active(
            bank(&[
                (date!(2024 - 05 - 31), 180_000),
                (date!(2024 - 06 - 10), 150_000),
                (date!(2024 - 06 - 29), 68_000),
            ]),
            AS_OF,
        );
        let e = super::churn(&c, Some(&bc), &rules, AS_OF);
        assert_eq!(e.risk, ChurnRisk::High);
        assert_eq!(e.basis, ChurnBasis::DepositOutflow);
        assert_eq!(
            e.reason,
            "deposits fell 62% (180,000 -> 68,000) in 30 days (rule: 50%, at least 5,000)"
        );
        let d = e.deposits.unwrap();
        assert_eq!(
            (d.from, d.to),
            (date!(2024 - 05 - 31), date!(2024 - 06 - 29))
        );
        assert_eq!(d.fall, yuan(112_000));
        assert_eq!(d.fall_pct, Some(62));
        // What could leave: the securities assets (none) and the deposits left.
        assert_eq!(e.value_at_risk, yuan(68_000));
        assert_eq!(e.positions, vec![101, 102], "the days in the window");
    }

    #[test]
    fn a_fall_at_or_below_the_share_is_not_high_risk() {
        let rules = RuleBook::default_rules().unwrap();
        let c = customer();
        for (now, pct) in [(100_000, 44), (90_000, 50)] {
            let bc = active(
                bank(&[(date!(2024 - 06 - 01), 180_000), (AS_OF, now)]),
                AS_OF,
            );
            let e = super::churn(&c, Some(&bc), &rules, AS_OF);
            assert_eq!(e.deposits.unwrap().fall_pct, Some(pct));
            assert_eq!(e.risk, ChurnRisk::Low, "{pct}% is not above 50%");
            assert_eq!(e.basis, ChurnBasis::None);
        }
        // Deposits that grew have no fall at all.
        let bc = active(
            bank(&[(date!(2024 - 06 - 01), 10_000), (AS_OF, 90_000)]),
            AS_OF,
        );
        let e = super::churn(&c, Some(&bc), &rules, AS_OF);
        assert_eq!(e.deposits.unwrap().fall, yuan(-80_000));
        assert_eq!(e.deposits.unwrap().fall_pct, None);
        assert_eq!(e.risk, ChurnRisk::Low);
    }

    #[test]
    fn a_fall_below_the_minimum_amount_does_not_alarm() {
        let rules = RuleBook::default_rules().unwrap();
        let c = customer();
        // 90% of a small account, but only 4,500 yuan.
        let small = active(bank(&[(date!(2024 - 06 - 01), 5_000), (AS_OF, 500)]), AS_OF);
        let e = super::churn(&c, Some(&small), &rules, AS_OF);
        assert_eq!(e.deposits.unwrap().fall_pct, Some(90));
        assert_eq!(e.risk, ChurnRisk::Low);
        // Exactly the minimum is enough.
        let edge = active(
            bank(&[(date!(2024 - 06 - 01), 9_000), (AS_OF, 4_000)]),
            AS_OF,
        );
        let e = super::churn(&c, Some(&edge), &rules, AS_OF);
        assert_eq!(e.risk, ChurnRisk::High);
        assert!(
            e.reason.starts_with("deposits fell 55% (9,000 -> 4,000)"),
            "{}",
            e.reason
        );
        // A lower minimum in the rules lets the small account alarm.
        let lower = RuleBook::parse(&crate::rules::DEFAULT_RULES.replace(
            "deposit_outflow_min = \"5000\"",
            "deposit_outflow_min = \"1000.5\"",
        ))
        .unwrap();
        let e = super::churn(&c, Some(&small), &lower, AS_OF);
        assert_eq!(e.risk, ChurnRisk::High);
        assert!(
            e.reason.ends_with("(rule: 50%, at least 1,000.5)"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn a_correction_of_a_day_replaces_its_figure_exactly() {
        let rules = RuleBook::default_rules().unwrap();
        let c = customer();
        // Two accounts: 100,000 and 80,000 on 1 June; on 29 June 60,000 and 8,000, the second
        // figure a typo for 80,000 that is corrected later.
        let mut bc = BankCustomer::default();
        bc.add_deposit_day(date!(2024 - 06 - 01), yuan(100_000), None, 1, 30);
        bc.add_deposit_day(date!(2024 - 06 - 01), yuan(80_000), None, 2, 30);
        bc.add_deposit_day(date!(2024 - 06 - 29), yuan(60_000), None, 3, 30);
        bc.add_deposit_day(date!(2024 - 06 - 29), yuan(8_000), None, 4, 30);
        bc.active_on(AS_OF);
        let before = super::churn(&c, Some(&bc), &rules, AS_OF);
        assert_eq!(before.risk, ChurnRisk::High);
        assert_eq!(before.deposits.unwrap().now, yuan(68_000));
        bc.add_deposit_day(
            date!(2024 - 06 - 29),
            yuan(80_000),
            Some(yuan(8_000)),
            5,
            30,
        );
        let day = bc.deposit_days.last().copied().unwrap();
        assert_eq!(
            (day.total, day.accounts, day.position),
            (yuan(140_000), 2, 5)
        );
        let after = super::churn(&c, Some(&bc), &rules, AS_OF);
        assert_eq!(after.deposits.unwrap().fall_pct, Some(22));
        assert_eq!(after.risk, ChurnRisk::Low);
    }

    #[test]
    fn the_window_starts_from_the_last_day_before_it_and_keeps_nothing_older() {
        let rules = RuleBook::default_rules().unwrap();
        let c = customer();
        // 30 June back 30 days is 1 June: 31 May is the day the window starts from.
        let inside = active(
            bank(&[
                (date!(2024 - 05 - 20), 500_000),
                (date!(2024 - 05 - 31), 180_000),
                (AS_OF, 68_000),
            ]),
            AS_OF,
        );
        assert_eq!(
            inside.deposit_days.len(),
            2,
            "20 May is older than the window's start"
        );
        let e = super::churn(&c, Some(&inside), &rules, AS_OF);
        assert_eq!(e.deposits.unwrap().from, date!(2024 - 05 - 31));
        assert_eq!(e.risk, ChurnRisk::High);
        // A fall before the window does not count: from 31 May on nothing left.
        let outside = active(
            bank(&[
                (date!(2024 - 05 - 30), 180_000),
                (date!(2024 - 05 - 31), 68_000),
                (AS_OF, 68_000),
            ]),
            AS_OF,
        );
        let e = super::churn(&c, Some(&outside), &rules, AS_OF);
        assert_eq!(e.deposits.unwrap().fall, Money::ZERO);
        assert_eq!(e.risk, ChurnRisk::Low);
        // A day later the window starts on 2 June: 31 May is still the latest figure known
        // before it (the core system sent nothing in between).
        let e = super::churn(&c, Some(&inside), &rules, date!(2024 - 07 - 01));
        assert_eq!(e.deposits.unwrap().from, date!(2024 - 05 - 31));
        assert_eq!(e.risk, ChurnRisk::High);
        // Evaluated before the latest day, the days after it are out of reach.
        let e = super::churn(&c, Some(&inside), &rules, date!(2024 - 06 - 29));
        assert_eq!(e.deposits.unwrap().to, date!(2024 - 05 - 31));
        assert_eq!(e.risk, ChurnRisk::Low);
        // Without a day before the window, its first day is the start.
        let first = active(
            bank(&[(date!(2024 - 06 - 05), 180_000), (AS_OF, 68_000)]),
            AS_OF,
        );
        let e = super::churn(&c, Some(&first), &rules, AS_OF);
        assert_eq!(e.deposits.unwrap().from, date!(2024 - 06 - 05));
        assert_eq!(e.risk, ChurnRisk::High);
        // Memory is bounded by the window: a year of days keeps the window and one day.
        let mut year = BankCustomer::default();
        let mut d = date!(2023 - 07 - 01);
        for i in 0..366u64 {
            year.add_deposit_day(d, yuan(1_000), None, i, 30);
            d = d.next_day().unwrap();
        }
        assert_eq!(year.deposit_days.len(), 31);
    }

    #[test]
    fn account_activity_keeps_a_bank_customer_from_being_dormant() {
        let rules = RuleBook::default_rules().unwrap();
        let c = customer();
        let quiet = bank(&[(date!(2024 - 06 - 01), 10_000), (AS_OF, 10_000)]);
        let e = super::churn(&c, Some(&quiet), &rules, AS_OF);
        assert_eq!(e.risk, ChurnRisk::Medium);
        assert_eq!(e.basis, ChurnBasis::Dormancy);
        assert!(
            e.reason
                .starts_with("no trade, contact or account activity for 181 days"),
            "{}",
            e.reason
        );
        let mut moving = quiet.clone();
        moving.active_on(date!(2024 - 06 - 15));
        let e = super::churn(&c, Some(&moving), &rules, AS_OF);
        assert_eq!(e.last_activity, Some(date!(2024 - 06 - 15)));
        assert_eq!((e.risk, e.days_inactive), (ChurnRisk::Low, 15));
        // A brokerage customer's wording is unchanged.
        let e = churn(&c, &rules, AS_OF);
        assert!(
            e.reason.starts_with("no trade or contact for"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(group_yuan(yuan(180_000)), "180,000");
        assert_eq!(group_yuan(yuan(999)), "999");
        assert_eq!(group_yuan(yuan(1_234_567)), "1,234,567");
        assert_eq!(group_yuan(Money::parse("5000.5").unwrap()), "5,000.5");
        assert_eq!(group_yuan(yuan(-12_000)), "-12,000");
        assert_eq!(
            group_yuan(Money::from_minor(i64::MIN)),
            "-922,337,203,685,477.5808"
        );
    }
}
