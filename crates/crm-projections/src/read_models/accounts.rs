//! Accounts and their daily trade summaries: the fold that turns each summary (and each
//! correction) into the customer's daily and monthly figures.

use crm_domain::account::{self, DailyTradeSummary};
use crm_domain::ids::CustomerId;
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::model::{madd, month_index, mscale, Model, ASSET_CLASSES, MONTHS_KEPT};
use crate::read_models::archive::{CustomerRecord, DayFigures, MonthFigures};
use crate::read_models::history::{DayFlow, HistoryEntry};
use crate::rules::RuleBook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub owner: CustomerId,
    pub latest_date: Option<Date>,
    pub assets: Money,
    pub holdings: [Money; ASSET_CLASSES],
    pub unrealised_pnl: Money,
}

fn high_risk_turnover(s: &DailyTradeSummary, rules: &RuleBook) -> Money {
    s.turnover
        .iter()
        .filter(|l| rules.is_high_risk(l.security_type))
        .fold(Money::ZERO, |a, l| madd(a, l.amount))
}

fn turnover(s: &DailyTradeSummary) -> Money {
    s.turnover
        .iter()
        .fold(Money::ZERO, |a, l| madd(a, l.amount))
}

/// What one summary adds to (sign 1) or takes back from (sign -1) its day's flows, for the
/// customer's history on disk (`read_models::history`).
fn day_flow(s: &DailyTradeSummary, sign: i64, position: u64) -> DayFlow {
    DayFlow {
        date: s.trade_date,
        turnover: mscale(turnover(s), sign),
        commission: mscale(s.commission, sign),
        deposits: mscale(s.deposits, sign),
        withdrawals: mscale(s.withdrawals, sign),
        position,
        part: u8::from(sign > 0),
    }
}

/// Adds (sign 1) or takes back (sign -1, a corrected summary's previous figures) one
/// summary's flows to the customer's resident daily and monthly figures.
///
/// The resident daily figures are only what the churn rule reads: the days of its outflow
/// window (`[churn] outflow_days`) back from the customer's newest day, and the one day before
/// them (the assets the window starts from). Every day's flows are on disk as well, where the
/// archive's 30-, 90- and 365-day windows read them; so what stays resident does not grow
/// with the history.
fn add_figures(c: &mut CustomerRecord, s: &DailyTradeSummary, sign: i64, p: u64, rules: &RuleBook) {
    let turnover = turnover(s);
    let date = s.trade_date;
    let newest = c.last_summary_date.max(Some(date)).unwrap_or(date);
    let oldest_kept = newest - time::Duration::days(i64::from(rules.churn.outflow_days) - 1);
    // A day before the window is kept only while it is the latest such day (trimmed below).
    let boundary = c
        .days
        .iter()
        .rev()
        .find(|d| d.date < oldest_kept)
        .map(|d| d.date);
    let kept = date >= oldest_kept || boundary.is_none_or(|b| date >= b);
    if kept {
        let i = match c.days.binary_search_by_key(&date, |d| d.date) {
            Ok(i) => i,
            Err(i) => {
                c.days.insert(
                    i,
                    DayFigures {
                        date,
                        turnover: Money::ZERO,
                        commission: Money::ZERO,
                        deposits: Money::ZERO,
                        withdrawals: Money::ZERO,
                        assets: Money::ZERO,
                        position: p,
                    },
                );
                i
            }
        };
        if let Some(d) = c.days.get_mut(i) {
            d.turnover = madd(d.turnover, mscale(turnover, sign));
            d.commission = madd(d.commission, mscale(s.commission, sign));
            d.deposits = madd(d.deposits, mscale(s.deposits, sign));
            d.withdrawals = madd(d.withdrawals, mscale(s.withdrawals, sign));
            d.assets = madd(d.assets, mscale(s.end_of_day_assets, sign));
            d.position = p;
        }
    }
    // Keep the window and the last day before it.
    let cut = c.days.partition_point(|d| d.date < oldest_kept);
    if cut > 1 {
        c.days.drain(..cut - 1);
    }
    // Monthly figures for the trailing-twelve-month windows.
    let month = month_index(date);
    let newest_month = month_index(newest);
    if month + MONTHS_KEPT > newest_month {
        let i = match c.months.binary_search_by_key(&month, |m| m.month) {
            Ok(i) => i,
            Err(i) => {
                c.months.insert(
                    i,
                    MonthFigures {
                        month,
                        first_position: p,
                        ..MonthFigures::default()
                    },
                );
                i
            }
        };
        if let Some(mf) = c.months.get_mut(i) {
            mf.turnover = madd(mf.turnover, mscale(turnover, sign));
            mf.high_risk_turnover = madd(
                mf.high_risk_turnover,
                mscale(high_risk_turnover(s, rules), sign),
            );
            mf.commission = madd(mf.commission, mscale(s.commission, sign));
            mf.deposits = madd(mf.deposits, mscale(s.deposits, sign));
            mf.withdrawals = madd(mf.withdrawals, mscale(s.withdrawals, sign));
            mf.realised_pnl = madd(mf.realised_pnl, mscale(s.realised_pnl, sign));
            mf.assets_sum = madd(mf.assets_sum, mscale(s.end_of_day_assets, sign));
            if sign > 0 {
                // The days of the month with figures, as a bit each: exact whatever the
                // order the summaries arrive in, with no resident list of days.
                mf.day_mask |= 1u32 << (u32::from(date.day()) - 1);
                mf.asset_days = mf.day_mask.count_ones();
            }
            let loss_floor =
                s.end_of_day_assets.minor() / 100 * i64::from(rules.risk.drawdown_loss_pct);
            if s.end_of_day_assets > Money::ZERO && -s.unrealised_pnl.minor() >= loss_floor {
                let sg = i32::try_from(sign).unwrap_or(0);
                mf.drawdown_days += sg;
                if s.deposits > s.withdrawals {
                    mf.drawdown_adding += sg;
                } else if s.withdrawals > s.deposits {
                    mf.drawdown_fleeing += sg;
                }
            }
            if sign > 0 {
                mf.summaries += 1;
            }
            mf.last_position = p;
        }
    }
    let keep_from = newest_month.saturating_sub(MONTHS_KEPT - 1);
    let cut = c.months.partition_point(|m| m.month < keep_from);
    if cut > 0 {
        c.months.drain(..cut);
    }
    if sign > 0 {
        c.last_summary_date = Some(newest);
        if turnover > Money::ZERO {
            c.last_trade = c.last_trade.max(Some(date));
            let registered = crate::model::business_date(c.registered_at);
            let now = c.assignment;
            c.churn_track
                .activity(registered, date, rules.churn.churned_days, now);
        }
    }
}

pub(crate) fn apply_account(m: &mut Model, p: u64, e: &account::Event, rules: &RuleBook) {
    let (account_id, previous, summary) = match e {
        account::Event::DailyTradeSummaryRecorded {
            account_id,
            summary,
            ..
        } => (account_id, None, summary),
        account::Event::DailyTradeSummaryCorrected {
            account_id,
            previous,
            summary,
            ..
        } => (account_id, Some(previous), summary),
    };
    let acc = *m
        .accounts
        .entry_or_insert_with(*account_id, || AccountRecord {
            owner: summary.customer_id,
            latest_date: None,
            assets: Money::ZERO,
            holdings: [Money::ZERO; ASSET_CLASSES],
            unrealised_pnl: Money::ZERO,
        });
    let owner = acc.owner;
    let Some(assignment) = m.customers.get(&owner).map(|c| c.assignment) else {
        return;
    };
    let date = summary.trade_date;
    let mut holdings = [Money::ZERO; ASSET_CLASSES];
    for h in &summary.holdings {
        let slot = &mut holdings[(h.asset_class as usize).min(ASSET_CLASSES - 1)];
        *slot = madd(*slot, h.market_value);
    }
    let latest = acc.latest_date.is_none_or(|d| date >= d);
    if latest {
        if let Some(a) = m.accounts.get_mut(account_id) {
            a.latest_date = Some(date);
            a.assets = summary.end_of_day_assets;
            a.holdings = holdings;
            a.unrealised_pnl = summary.unrealised_pnl;
        }
    }
    for flow in previous
        .map(|prev| day_flow(prev, -1, p))
        .into_iter()
        .chain([day_flow(summary, 1, p)])
        .filter(|f| !f.is_zero())
    {
        m.history.push(owner, p, HistoryEntry::DayFlow(flow));
    }
    m.with_customer(owner, p, date, |c| {
        if let Some(prev) = previous {
            add_figures(c, prev, -1, p, rules);
        }
        add_figures(c, summary, 1, p, rules);
        if latest {
            c.assets = madd(
                c.assets,
                madd(summary.end_of_day_assets, mscale(acc.assets, -1)),
            );
            c.unrealised_pnl = madd(
                c.unrealised_pnl,
                madd(summary.unrealised_pnl, mscale(acc.unrealised_pnl, -1)),
            );
            for ((h, new), old) in c.holdings.iter_mut().zip(holdings).zip(acc.holdings) {
                *h = madd(*h, madd(new, mscale(old, -1)));
            }
            c.assets_date = c.assets_date.max(Some(date));
        }
    });
    if let Some(prev) = previous {
        m.flow(assignment, prev.trade_date, |f| f.add_summary(prev, -1));
    }
    m.flow(assignment, date, |f| f.add_summary(summary, 1));
    // Campaign conversions attract the converted customer's net inflow and commission until
    // the campaign ends.
    let conversions = m
        .customers
        .get(&owner)
        .map(|c| c.conversions.clone())
        .unwrap_or_default();
    for conv in conversions {
        if let Some(camp) = m.meta.campaigns.get_mut(&conv.campaign_id) {
            for (s, sign) in previous.map(|x| (x, -1)).into_iter().chain([(summary, 1)]) {
                if s.trade_date >= conv.from && s.trade_date <= conv.until {
                    let net = madd(s.deposits, mscale(s.withdrawals, -1));
                    camp.assets_attracted = madd(camp.assets_attracted, mscale(net, sign));
                    // Revenue attributed (the ROI): the converted customer's commission over
                    // the same window.
                    let revenue = camp.revenue.entry(owner).or_insert(Money::ZERO);
                    *revenue = madd(*revenue, mscale(s.commission, sign));
                }
            }
        }
    }
    m.evaluate(owner, p, rules);
}
