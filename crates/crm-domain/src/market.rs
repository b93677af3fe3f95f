//! Market-wide totals per trade date (全市场成交额), the denominator of a branch's market share
//! (市场占有率). Stream `market-YYYYMMDD`: one small stream per trade date holding one figure
//! per market, with the same import semantics as account summaries (identical re-import is a
//! no-op, different figures need an explicit correction).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;
use crate::money::Money;
use crate::values::Market;

/// One market's totals for a trade date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketTotals {
    /// Total traded value of the market (both sides counted once, as the exchange publishes).
    pub turnover: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub trade_date: Option<Date>,
    pub markets: BTreeMap<Market, MarketTotals>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RecordMarketTotals {
        trade_date: Date,
        market: Market,
        totals: MarketTotals,
        correction: bool,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    MarketTotalsRecorded {
        trade_date: Date,
        market: Market,
        totals: MarketTotals,
        at: OffsetDateTime,
    },
    MarketTotalsCorrected {
        trade_date: Date,
        market: Market,
        previous: MarketTotals,
        totals: MarketTotals,
        at: OffsetDateTime,
    },
}

crate::aggregate!(MarketDay, category: "market", id: trade_date, events: [
    MarketTotalsRecorded, MarketTotalsCorrected,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Command::RecordMarketTotals {
        trade_date,
        market,
        totals,
        correction,
        now,
    } = command;
    if state.trade_date.is_some_and(|d| d != trade_date) {
        return Err(DomainError::validation(
            "trade_date",
            "does not match this stream's trade date",
        ));
    }
    if totals.turnover.is_negative() {
        return Err(DomainError::validation("turnover", "must not be negative"));
    }
    match state.markets.get(&market) {
        Some(existing) if *existing == totals => Ok(vec![]),
        Some(previous) if correction => Ok(vec![Event::MarketTotalsCorrected {
            trade_date,
            market,
            previous: *previous,
            totals,
            at: now,
        }]),
        Some(_) => Err(DomainError::conflict(format!(
            "different totals for {market:?} on {trade_date} are already recorded; send a correction"
        ))),
        None if correction => Err(DomainError::conflict(format!("no totals for {market:?} on {trade_date} to correct"))),
        None => Ok(vec![Event::MarketTotalsRecorded { trade_date, market, totals, at: now }]),
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::MarketTotalsRecorded {
            trade_date,
            market,
            totals,
            ..
        }
        | Event::MarketTotalsCorrected {
            trade_date,
            market,
            totals,
            ..
        } => {
            state.trade_date = Some(*trade_date);
            state.markets.insert(*market, *totals);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::testing::given;
    use crate::DomainEvent;

    const NOW: OffsetDateTime = datetime!(2024-03-01 20:00 +8);
    const DAY: Date = date!(2024 - 03 - 01);

    fn totals(yuan: i64) -> MarketTotals {
        MarketTotals {
            turnover: Money::from_yuan(yuan).unwrap_or(Money::ZERO),
        }
    }

    fn cmd(yuan: i64, correction: bool) -> Command {
        Command::RecordMarketTotals {
            trade_date: DAY,
            market: Market::Shanghai,
            totals: totals(yuan),
            correction,
            now: NOW,
        }
    }

    fn recorded() -> Event {
        Event::MarketTotalsRecorded {
            trade_date: DAY,
            market: Market::Shanghai,
            totals: totals(400_000_000_000),
            at: NOW,
        }
    }

    #[test]
    fn it_records_market_totals_in_a_per_day_stream() {
        given::<MarketDay>([])
            .when(cmd(400_000_000_000, false))
            .then([recorded()]);
        assert_eq!(recorded().stream_name(), "market-20240301");
    }

    #[test]
    fn it_ignores_identical_market_totals() {
        given::<MarketDay>([recorded()])
            .when(cmd(400_000_000_000, false))
            .then([]);
    }

    #[test]
    fn it_rejects_different_market_totals_without_correction() {
        given::<MarketDay>([recorded()])
            .when(cmd(1, false))
            .then_err(DomainError::conflict(
            "different totals for Shanghai on 2024-03-01 are already recorded; send a correction",
        ));
    }

    #[test]
    fn it_corrects_market_totals() {
        given::<MarketDay>([recorded()])
            .when(cmd(1, true))
            .then([Event::MarketTotalsCorrected {
                trade_date: DAY,
                market: Market::Shanghai,
                previous: totals(400_000_000_000),
                totals: totals(1),
                at: NOW,
            }]);
    }
}
