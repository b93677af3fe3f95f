//! The account aggregate, stream `account-<id>`: one daily trade summary per trade date, sent
//! by the back office (后台业务系统).
//!
//! Summaries live here rather than on the customer stream because they arrive every trading
//! day for every account: ~250 events a year per account would make loading a customer (for
//! every profile edit or assignment) slower year by year. An account stream only ever needs
//! loading to import or correct a summary.
//!
//! Import semantics: the same account-day with identical content is idempotent (no events);
//! different content for a recorded day is a conflict unless sent as an explicit correction,
//! which emits `DailyTradeSummaryCorrected` superseding the earlier figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;
use crate::ids::{AccountId, CustomerId};
use crate::money::Money;
use crate::values::Market;

/// 证券类别
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SecurityType {
    Stock,
    Fund,
    Bond,
    /// 回购
    Repo,
    /// 融资融券
    Margin,
    /// 期权
    Option,
    /// 理财产品
    WealthProduct,
    Other,
}

/// 委托渠道: how the order was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TradeChannel {
    Counter,
    Phone,
    Internet,
    Mobile,
    SelfService,
    /// Programmatic access for institutions.
    Api,
}

/// 资产类别 of end-of-day holdings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssetClass {
    Cash,
    Stocks,
    Funds,
    Bonds,
    WealthProducts,
    Other,
}

/// Turnover (成交额) of one market × security type × channel cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TurnoverLine {
    pub market: Market,
    pub security_type: SecurityType,
    pub channel: TradeChannel,
    pub amount: Money,
}

/// End-of-day market value of one asset class (持仓).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HoldingLine {
    pub asset_class: AssetClass,
    pub market_value: Money,
}

/// One account's figures for one trade date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyTradeSummary {
    pub trade_date: Date,
    /// The account holder as the back office knows them, so projections need not join.
    pub customer_id: CustomerId,
    /// Sorted, at most one line per (market, security type, channel).
    pub turnover: Vec<TurnoverLine>,
    /// 佣金
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    /// 日终总资产
    pub end_of_day_assets: Money,
    /// Sorted, at most one line per asset class.
    pub holdings: Vec<HoldingLine>,
    pub realised_pnl: Money,
    pub unrealised_pnl: Money,
}

impl DailyTradeSummary {
    /// 资金净流入: deposits minus withdrawals (`None` on overflow).
    pub fn net_inflow(&self) -> Option<Money> {
        self.deposits.checked_sub(self.withdrawals)
    }

    pub fn total_turnover(&self) -> Option<Money> {
        Money::checked_sum(self.turnover.iter().map(|l| &l.amount))
    }

    /// Sorts the lines so that the same figures in a different order compare equal, and
    /// checks what the back office must never send.
    fn normalised(mut self) -> Result<Self, DomainError> {
        self.turnover.sort();
        self.holdings.sort();
        let non_negative = [
            ("commission", self.commission),
            ("deposits", self.deposits),
            ("withdrawals", self.withdrawals),
            ("end_of_day_assets", self.end_of_day_assets),
        ];
        for (field, value) in non_negative {
            if value.is_negative() {
                return Err(DomainError::validation(field, "must not be negative"));
            }
        }
        if self.turnover.iter().any(|l| l.amount.is_negative()) {
            return Err(DomainError::validation("turnover", "must not be negative"));
        }
        if self.holdings.iter().any(|l| l.market_value.is_negative()) {
            return Err(DomainError::validation("holdings", "must not be negative"));
        }
        let dup_turnover = self.turnover.windows(2).any(|w| {
            (w[0].market, w[0].security_type, w[0].channel)
                == (w[1].market, w[1].security_type, w[1].channel)
        });
        if dup_turnover {
            return Err(DomainError::validation(
                "turnover",
                "has two lines for the same market, type and channel",
            ));
        }
        if self
            .holdings
            .windows(2)
            .any(|w| w[0].asset_class == w[1].asset_class)
        {
            return Err(DomainError::validation(
                "holdings",
                "has two lines for the same asset class",
            ));
        }
        if self.net_inflow().is_none() || self.total_turnover().is_none() {
            return Err(DomainError::validation("turnover", "totals overflow"));
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub account_id: Option<AccountId>,
    /// The current (latest, corrections applied) summary of each of the newest
    /// [`DAYS_KEPT`] recorded days, and of an older day recalled for a command.
    pub days: BTreeMap<Date, DailyTradeSummary>,
    /// Every recorded day: the revision of the event that holds its current summary. What the
    /// state keeps per day beyond [`DAYS_KEPT`] is this, not the summary, so a state cached by
    /// the command side stays small however long the account's history.
    pub recorded: BTreeMap<Date, u64>,
    /// Events folded so far: the revision the next event gets.
    pub events: u64,
}

/// Recorded days whose summaries the state keeps in full: the newest this many. A command
/// about an older day has its summary read back from the stream (`recall`).
pub const DAYS_KEPT: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RecordDailySummary {
        account_id: AccountId,
        summary: DailyTradeSummary,
        /// Set when the back office re-sends a day on purpose with corrected figures.
        correction: bool,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    DailyTradeSummaryRecorded {
        account_id: AccountId,
        summary: DailyTradeSummary,
        at: OffsetDateTime,
    },
    /// Supersedes the summary recorded earlier for `summary.trade_date`; projections subtract
    /// `previous` and add `summary`.
    DailyTradeSummaryCorrected {
        account_id: AccountId,
        previous: DailyTradeSummary,
        summary: DailyTradeSummary,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Account, category: "account", id: account_id, events: [
    DailyTradeSummaryRecorded, DailyTradeSummaryCorrected,
], recall: recall);

/// Older days' summaries, read back from the stream when a command is about one.
pub mod recall {
    use super::{Command, Event, State};

    /// The revision of the event holding the current summary of the command's day, when the
    /// day is recorded but its summary is no longer kept.
    pub fn needed(state: &State, command: &Command) -> Option<u64> {
        let Command::RecordDailySummary { summary, .. } = command;
        let date = summary.trade_date;
        if state.days.contains_key(&date) {
            return None;
        }
        state.recorded.get(&date).copied()
    }

    /// Keeps the summary `event` holds (until the next event trims the kept days again).
    pub fn recall(mut state: State, event: &Event) -> State {
        let (Event::DailyTradeSummaryRecorded { summary, .. }
        | Event::DailyTradeSummaryCorrected { summary, .. }) = event;
        if state.recorded.contains_key(&summary.trade_date) {
            state.days.insert(summary.trade_date, summary.clone());
        }
        state
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Command::RecordDailySummary {
        account_id,
        summary,
        correction,
        now,
    } = command;
    if state.account_id.is_some_and(|id| id != account_id) {
        return Err(DomainError::validation(
            "account_id",
            "does not match this account's stream",
        ));
    }
    let summary = summary.normalised()?;
    if state.recorded.contains_key(&summary.trade_date)
        && !state.days.contains_key(&summary.trade_date)
    {
        // The command side recalls the day's summary first (`recall::needed`).
        return Err(DomainError::conflict(format!(
            "the summary recorded for {} was not read back before deciding",
            summary.trade_date
        )));
    }
    match state.days.get(&summary.trade_date) {
        Some(existing) if *existing == summary => Ok(vec![]),
        Some(existing) if correction => Ok(vec![Event::DailyTradeSummaryCorrected {
            account_id,
            previous: existing.clone(),
            summary,
            at: now,
        }]),
        Some(_) => Err(DomainError::conflict(format!(
            "a different summary for {} is already recorded; send it as a correction",
            summary.trade_date
        ))),
        None if correction => Err(DomainError::conflict(format!(
            "no summary for {} to correct",
            summary.trade_date
        ))),
        None => Ok(vec![Event::DailyTradeSummaryRecorded {
            account_id,
            summary,
            at: now,
        }]),
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::DailyTradeSummaryRecorded {
            account_id,
            summary,
            ..
        }
        | Event::DailyTradeSummaryCorrected {
            account_id,
            summary,
            ..
        } => {
            state.account_id = Some(*account_id);
            state.days.insert(summary.trade_date, summary.clone());
            state.recorded.insert(summary.trade_date, state.events);
            state.events += 1;
            while state.days.len() > DAYS_KEPT {
                state.days.pop_first();
            }
        }
    }
    state
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::{date, datetime};
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;
    use crate::Aggregate;

    const NOW: OffsetDateTime = datetime!(2024-03-01 18:00 +8);

    pub(crate) fn aid() -> AccountId {
        AccountId::from_uuid(Uuid::from_u128(50))
    }

    pub(crate) fn summary() -> DailyTradeSummary {
        DailyTradeSummary {
            trade_date: date!(2024 - 03 - 01),
            customer_id: CustomerId::from_uuid(Uuid::from_u128(1)),
            turnover: vec![
                TurnoverLine {
                    market: Market::Shenzhen,
                    security_type: SecurityType::Stock,
                    channel: TradeChannel::Mobile,
                    amount: Money::from_minor(5_000_000_000),
                },
                TurnoverLine {
                    market: Market::Shanghai,
                    security_type: SecurityType::Fund,
                    channel: TradeChannel::Internet,
                    amount: Money::from_minor(1_000_000_000),
                },
            ],
            commission: Money::from_minor(1_500_000),
            deposits: Money::from_minor(100_000_000),
            withdrawals: Money::from_minor(30_000_000),
            end_of_day_assets: Money::from_minor(20_000_000_000),
            holdings: vec![
                HoldingLine {
                    asset_class: AssetClass::Stocks,
                    market_value: Money::from_minor(15_000_000_000),
                },
                HoldingLine {
                    asset_class: AssetClass::Cash,
                    market_value: Money::from_minor(5_000_000_000),
                },
            ],
            realised_pnl: Money::from_minor(-2_000_000),
            unrealised_pnl: Money::from_minor(7_000_000),
        }
    }

    fn record(summary: DailyTradeSummary, correction: bool) -> Command {
        Command::RecordDailySummary {
            account_id: aid(),
            summary,
            correction,
            now: NOW,
        }
    }

    fn recorded() -> Event {
        let summary = summary().normalised().expect("sample is valid");
        Event::DailyTradeSummaryRecorded {
            account_id: aid(),
            summary,
            at: NOW,
        }
    }

    #[test]
    fn it_records_a_daily_summary_with_sorted_lines() {
        let state = given::<Account>([])
            .when(record(summary(), false))
            .then([recorded()]);
        let day = &state.days[&date!(2024 - 03 - 01)];
        assert_eq!(day.turnover[0].market, Market::Shanghai);
        assert_eq!(day.net_inflow(), Some(Money::from_minor(70_000_000)));
    }

    #[test]
    fn it_ignores_the_same_account_day_imported_twice() {
        given::<Account>([recorded()])
            .when(record(summary(), false))
            .then([]);
    }

    #[test]
    fn it_ignores_a_reimport_whose_lines_come_in_another_order() {
        let mut s = summary();
        s.turnover.reverse();
        given::<Account>([recorded()])
            .when(record(s, false))
            .then([]);
    }

    #[test]
    fn it_rejects_different_figures_for_a_recorded_day_without_the_correction_flag() {
        let mut s = summary();
        s.commission = Money::from_minor(1);
        given::<Account>([recorded()])
            .when(record(s, false))
            .then_err(DomainError::conflict(
                "a different summary for 2024-03-01 is already recorded; send it as a correction",
            ));
    }

    #[test]
    fn it_supersedes_a_recorded_day_with_an_explicit_correction() {
        let mut s = summary();
        s.commission = Money::from_minor(1);
        let corrected = s.clone().normalised().expect("valid");
        let previous = summary().normalised().expect("valid");
        let state = given::<Account>([recorded()]).when(record(s, true)).then([
            Event::DailyTradeSummaryCorrected {
                account_id: aid(),
                previous,
                summary: corrected,
                at: NOW,
            },
        ]);
        assert_eq!(
            state.days[&date!(2024 - 03 - 01)].commission,
            Money::from_minor(1)
        );
    }

    #[test]
    fn it_rejects_a_correction_for_a_day_never_recorded() {
        given::<Account>([])
            .when(record(summary(), true))
            .then_err(DomainError::conflict(
                "no summary for 2024-03-01 to correct",
            ));
    }

    #[test]
    fn it_rejects_negative_commission() {
        let mut s = summary();
        s.commission = Money::from_minor(-1);
        given::<Account>([])
            .when(record(s, false))
            .then_err(DomainError::validation(
                "commission",
                "must not be negative",
            ));
    }

    #[test]
    fn it_rejects_two_holding_lines_for_one_asset_class() {
        let mut s = summary();
        s.holdings.push(HoldingLine {
            asset_class: AssetClass::Cash,
            market_value: Money::ZERO,
        });
        given::<Account>([])
            .when(record(s, false))
            .then_err(DomainError::validation(
                "holdings",
                "has two lines for the same asset class",
            ));
    }

    #[test]
    fn it_rejects_a_summary_sent_to_another_accounts_stream() {
        let other = AccountId::from_uuid(Uuid::from_u128(51));
        given::<Account>([recorded()])
            .when(Command::RecordDailySummary {
                account_id: other,
                summary: summary(),
                correction: false,
                now: NOW,
            })
            .then_err(DomainError::validation(
                "account_id",
                "does not match this account's stream",
            ));
    }

    /// Day `n` after the sample's day, recorded.
    fn recorded_on(n: i64) -> Event {
        let mut s = summary().normalised().expect("sample is valid");
        s.trade_date += time::Duration::days(n);
        Event::DailyTradeSummaryRecorded {
            account_id: aid(),
            summary: s,
            at: NOW,
        }
    }

    fn history(days: i64) -> Vec<Event> {
        (0..days).map(recorded_on).collect()
    }

    #[test]
    fn the_state_keeps_the_newest_days_in_full_and_every_day_by_revision() {
        let state = Account::replay(&history(100));
        assert_eq!(state.days.len(), DAYS_KEPT);
        assert_eq!(state.recorded.len(), 100);
        assert_eq!(state.events, 100);
        let first = date!(2024 - 03 - 01);
        assert_eq!(state.recorded[&first], 0);
        assert_eq!(state.recorded[&(first + time::Duration::days(99))], 99);
        assert!(!state.days.contains_key(&first));
        assert!(state.days.contains_key(&(first + time::Duration::days(99))));
    }

    #[test]
    fn an_old_day_is_recalled_by_the_revision_of_its_summary() {
        let state = Account::replay(&history(100));
        // The oldest day: not kept, so the command side reads revision 0 back first.
        assert_eq!(
            Account::recall_needed(&state, &record(summary(), false)),
            Some(0)
        );
        // A kept day needs nothing.
        let mut newest = summary();
        newest.trade_date += time::Duration::days(99);
        assert_eq!(Account::recall_needed(&state, &record(newest, false)), None);
        // A day never recorded needs nothing either.
        let mut unknown = summary();
        unknown.trade_date -= time::Duration::days(1);
        assert_eq!(
            Account::recall_needed(&state, &record(unknown, false)),
            None
        );
    }

    #[test]
    fn deciding_about_an_old_day_without_recalling_it_is_refused() {
        let state = Account::replay(&history(100));
        assert_eq!(
            decide(&state, record(summary(), false)),
            Err(DomainError::conflict(
                "the summary recorded for 2024-03-01 was not read back before deciding"
            ))
        );
    }

    #[test]
    fn an_old_day_recalled_is_ignored_when_resent_and_corrected_with_its_previous_figures() {
        let events = history(100);
        let state = Account::recall(Account::replay(&events), &events[0]);
        assert_eq!(decide(&state, record(summary(), false)), Ok(vec![]));
        let mut s = summary();
        s.commission = Money::from_minor(1);
        let corrected = s.clone().normalised().expect("valid");
        let previous = summary().normalised().expect("valid");
        let decided = decide(&state, record(s, true)).expect("a correction");
        assert_eq!(
            decided,
            vec![Event::DailyTradeSummaryCorrected {
                account_id: aid(),
                previous,
                summary: corrected,
                at: NOW,
            }]
        );
        // The correction is now the day's summary, at the next revision.
        let after = decided.iter().fold(state, evolve);
        assert_eq!(after.recorded[&date!(2024 - 03 - 01)], 100);
        assert_eq!(after.days.len(), DAYS_KEPT);
    }
}
