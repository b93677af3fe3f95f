//! The deposit account aggregate (存款账户), stream `deposit-<id>`: a demand (活期) or time
//! (定期) deposit opened at an outlet, its end-of-day balance per day from the core banking
//! system (核心系统), and its closing.
//!
//! Each account has a stream of its own, like a securities account's trade summaries
//! ([`crate::account`]), because the balances arrive every day for every account: ~365 events a
//! year per account on the customer stream would make loading a customer slower year by year.
//! Opening and closing live here too, so the stream alone says whether a balance fits (an
//! account opened, not closed before the day): the core system is the source of all three.
//!
//! Import semantics (shared with the trade summaries, [`crate::daily`]): the same account-day
//! with the same balance is idempotent; a different balance for a recorded day is a conflict
//! unless sent as an explicit correction, which emits `DepositBalanceCorrected`. A closed
//! account takes late balances up to its closing day and none after it, and it cannot be
//! closed before a day it has a balance for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::daily::{record_day, DayOutcome};
use crate::error::DomainError;
use crate::ids::{BranchId, CustomerId, DepositAccountId};
use crate::money::{Money, Rate};
use crate::values::ShortText;

/// 币种. Rural deposits are in yuan; other currencies are appended when needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Currency {
    Cny,
}

/// 活期 / 定期, as the command names it; the event records the checked [`DepositTerm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DepositKind {
    Demand,
    Time,
}

/// A deposit's term once checked: a time deposit always has its term and maturity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DepositTerm {
    /// 活期
    Demand,
    /// 定期: `term_months` (存期) and the maturity date (到期日).
    Time { term_months: u16, maturity: Date },
}

/// An account as opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositAccount {
    pub customer_id: CustomerId,
    /// The outlet (网点) holding the account.
    pub branch: BranchId,
    /// The core system's product code (产品代码), e.g. 整存整取三年.
    pub product: ShortText,
    pub term: DepositTerm,
    pub currency: Currency,
    /// The annual interest rate (执行利率), a fraction.
    pub rate: Rate,
    pub opened_on: Date,
}

/// One account's end-of-day figures for one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositDay {
    pub date: Date,
    /// 日终余额, never negative.
    pub balance: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub account_id: Option<DepositAccountId>,
    pub account: Option<DepositAccount>,
    pub closed_on: Option<Date>,
    /// The current (corrections applied) balance of each recorded day.
    pub days: BTreeMap<Date, Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Open {
        account_id: DepositAccountId,
        customer_id: CustomerId,
        branch: BranchId,
        product: ShortText,
        kind: DepositKind,
        currency: Currency,
        /// Required for a time deposit, absent for a demand deposit.
        term_months: Option<u16>,
        /// Required for a time deposit, absent for a demand deposit.
        maturity: Option<Date>,
        rate: Rate,
        opened_on: Date,
        now: OffsetDateTime,
    },
    Close {
        closed_on: Date,
        now: OffsetDateTime,
    },
    RecordDailyBalance {
        account_id: DepositAccountId,
        day: DepositDay,
        /// Set when the core system re-sends a day on purpose with a corrected balance.
        correction: bool,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    DepositAccountOpened {
        account_id: DepositAccountId,
        account: DepositAccount,
        at: OffsetDateTime,
    },
    DepositAccountClosed {
        account_id: DepositAccountId,
        customer_id: CustomerId,
        closed_on: Date,
        at: OffsetDateTime,
    },
    DepositBalanceRecorded {
        account_id: DepositAccountId,
        /// The holder, copied from the opening so projections need not join.
        customer_id: CustomerId,
        day: DepositDay,
        at: OffsetDateTime,
    },
    /// Supersedes the balance recorded earlier for `day.date`; projections subtract
    /// `previous` and add `day`.
    DepositBalanceCorrected {
        account_id: DepositAccountId,
        customer_id: CustomerId,
        previous: DepositDay,
        day: DepositDay,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Deposit, category: "deposit", id: account_id, events: [
    DepositAccountOpened, DepositAccountClosed, DepositBalanceRecorded, DepositBalanceCorrected,
]);

/// Checks an opening's terms: a time deposit needs a term and a maturity after the opening
/// day, a demand deposit has neither; rates are not negative.
fn term_of(
    kind: DepositKind,
    term_months: Option<u16>,
    maturity: Option<Date>,
    opened_on: Date,
) -> Result<DepositTerm, DomainError> {
    match kind {
        DepositKind::Demand => {
            if term_months.is_some() || maturity.is_some() {
                return Err(DomainError::validation(
                    "maturity",
                    "a demand deposit has no term or maturity",
                ));
            }
            Ok(DepositTerm::Demand)
        }
        DepositKind::Time => {
            let maturity = maturity.ok_or(DomainError::validation(
                "maturity",
                "a time deposit needs a maturity date",
            ))?;
            let term_months = term_months
                .filter(|m| *m > 0)
                .ok_or(DomainError::validation(
                    "term_months",
                    "a time deposit needs a term of at least one month",
                ))?;
            if maturity <= opened_on {
                return Err(DomainError::validation(
                    "maturity",
                    "must be after the opening day",
                ));
            }
            Ok(DepositTerm::Time {
                term_months,
                maturity,
            })
        }
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::Open {
            account_id,
            customer_id,
            branch,
            product,
            kind,
            currency,
            term_months,
            maturity,
            rate,
            opened_on,
            now,
        } => {
            if state.account.is_some() {
                return Err(DomainError::AlreadyExists {
                    entity: "deposit account",
                });
            }
            if rate.units() < 0 {
                return Err(DomainError::validation("rate", "must not be negative"));
            }
            let term = term_of(kind, term_months, maturity, opened_on)?;
            Ok(vec![Event::DepositAccountOpened {
                account_id,
                account: DepositAccount {
                    customer_id,
                    branch,
                    product,
                    term,
                    currency,
                    rate,
                    opened_on,
                },
                at: now,
            }])
        }
        Command::Close { closed_on, now } => {
            let (account_id, account) = opened(state)?;
            if state.closed_on.is_some() {
                return Err(DomainError::InvalidTransition {
                    from: "closed",
                    command: "close",
                });
            }
            if closed_on < account.opened_on {
                return Err(DomainError::validation(
                    "closed_on",
                    "must not be before the opening day",
                ));
            }
            if let Some((last, _)) = state.days.last_key_value().filter(|(d, _)| **d > closed_on) {
                return Err(DomainError::conflict(format!(
                    "a balance is recorded for {last}, after the closing day"
                )));
            }
            Ok(vec![Event::DepositAccountClosed {
                account_id,
                customer_id: account.customer_id,
                closed_on,
                at: now,
            }])
        }
        Command::RecordDailyBalance {
            account_id,
            day,
            correction,
            now,
        } => record_balance(state, account_id, day, correction, now),
    }
}

fn opened(state: &State) -> Result<(DepositAccountId, &DepositAccount), DomainError> {
    match (state.account_id, &state.account) {
        (Some(id), Some(account)) => Ok((id, account)),
        _ => Err(DomainError::NotFound {
            entity: "deposit account",
        }),
    }
}

fn record_balance(
    state: &State,
    account_id: DepositAccountId,
    day: DepositDay,
    correction: bool,
    now: OffsetDateTime,
) -> Result<Vec<Event>, DomainError> {
    let (own_id, account) = opened(state)?;
    if own_id != account_id {
        return Err(DomainError::validation(
            "account_id",
            "does not match this account's stream",
        ));
    }
    if day.balance.is_negative() {
        return Err(DomainError::validation("balance", "must not be negative"));
    }
    if day.date < account.opened_on {
        return Err(DomainError::validation(
            "date",
            "is before the account was opened",
        ));
    }
    if state.closed_on.is_some_and(|closed| day.date > closed) {
        return Err(DomainError::InvalidTransition {
            from: "closed",
            command: "record a balance after the closing day",
        });
    }
    let customer_id = account.customer_id;
    let days = &state.days;
    Ok(
        match record_day(days, &day.date, day.balance, correction, "balance")? {
            DayOutcome::Unchanged => vec![],
            DayOutcome::Recorded(_) => vec![Event::DepositBalanceRecorded {
                account_id,
                customer_id,
                day,
                at: now,
            }],
            DayOutcome::Corrected { previous, .. } => vec![Event::DepositBalanceCorrected {
                account_id,
                customer_id,
                previous: DepositDay {
                    date: day.date,
                    balance: previous,
                },
                day,
                at: now,
            }],
        },
    )
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::DepositAccountOpened {
            account_id,
            account,
            ..
        } => {
            state.account_id = Some(*account_id);
            state.account = Some(account.clone());
        }
        Event::DepositAccountClosed { closed_on, .. } => state.closed_on = Some(*closed_on),
        Event::DepositBalanceRecorded { day, .. } | Event::DepositBalanceCorrected { day, .. } => {
            state.days.insert(day.date, day.balance);
        }
    }
    state
}

#[cfg(test)]
#[path = "deposit_tests.rs"]
mod tests;
