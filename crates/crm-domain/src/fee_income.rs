//! Intermediate-business fee income (中间业务收入) per customer, stream `fees-<customer_id>`:
//! what the bank earned from one customer on one day for one fee type, from the core banking
//! system.
//!
//! A stream of its own, apart from the customer's and from [`crate::bank_services`], because it
//! is a daily flow like the trade summaries: an active customer pays some fee most days (a
//! transfer, an SMS alert, an agency collection), up to a few hundred events a year that
//! nothing but an import of fees ever needs to load.
//!
//! Import semantics are the trade summaries' ([`crate::daily`]), keyed by (day, fee type): the
//! same amount again is idempotent, a different amount is a conflict unless sent as an explicit
//! correction (`FeeIncomeCorrected`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::daily::{record_day, DayOutcome};
use crate::error::DomainError;
use crate::ids::CustomerId;
use crate::money::Money;

/// 中间业务收入类别
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FeeType {
    /// 结算类 (transfers, remittances)
    Settlement,
    /// 银行卡类 (annual and card fees)
    BankCard,
    /// 代理类 (agency: insurance, funds, collections and payments 代收代付)
    Agency,
    /// 电子银行类 (e-banking, SMS alerts)
    ElectronicBanking,
    /// 理财类 (wealth-management fees)
    WealthManagement,
    /// 担保承诺类 (guarantees, letters of commitment)
    Guarantee,
    /// 咨询顾问类
    Advisory,
    Other,
}

/// One customer's fee income of one type on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeDay {
    pub date: Date,
    pub fee_type: FeeType,
    /// Never negative; a refund is a correction of the day.
    pub amount: Money,
}

/// The key a fee is idempotent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeeKey {
    pub date: Date,
    pub fee_type: FeeType,
}

impl fmt::Display for FeeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.date, self.fee_type)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub customer_id: Option<CustomerId>,
    /// The current (corrections applied) amount of each recorded day and fee type.
    pub days: BTreeMap<FeeKey, Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RecordFeeIncome {
        customer_id: CustomerId,
        day: FeeDay,
        /// Set when the core system re-sends a day on purpose with a corrected amount.
        correction: bool,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    FeeIncomeRecorded {
        customer_id: CustomerId,
        day: FeeDay,
        at: OffsetDateTime,
    },
    /// Supersedes the amount recorded earlier for the day and fee type; projections subtract
    /// `previous` and add `day`.
    FeeIncomeCorrected {
        customer_id: CustomerId,
        previous: FeeDay,
        day: FeeDay,
        at: OffsetDateTime,
    },
}

crate::aggregate!(FeeIncome, category: "fees", id: customer_id, events: [
    FeeIncomeRecorded, FeeIncomeCorrected,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Command::RecordFeeIncome {
        customer_id,
        day,
        correction,
        now,
    } = command;
    if state.customer_id.is_some_and(|id| id != customer_id) {
        return Err(DomainError::validation(
            "customer_id",
            "does not match this customer's stream",
        ));
    }
    if day.amount.is_negative() {
        return Err(DomainError::validation("amount", "must not be negative"));
    }
    let key = FeeKey {
        date: day.date,
        fee_type: day.fee_type,
    };
    Ok(
        match record_day(&state.days, &key, day.amount, correction, "fee income")? {
            DayOutcome::Unchanged => vec![],
            DayOutcome::Recorded(_) => vec![Event::FeeIncomeRecorded {
                customer_id,
                day,
                at: now,
            }],
            DayOutcome::Corrected { previous, .. } => vec![Event::FeeIncomeCorrected {
                customer_id,
                previous: FeeDay {
                    amount: previous,
                    ..day
                },
                day,
                at: now,
            }],
        },
    )
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::FeeIncomeRecorded {
            customer_id, day, ..
        }
        | Event::FeeIncomeCorrected {
            customer_id, day, ..
        } => {
            state.customer_id = Some(*customer_id);
            state.days.insert(
                FeeKey {
                    date: day.date,
                    fee_type: day.fee_type,
                },
                day.amount,
            );
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 18:00 +8);

    fn cid() -> CustomerId {
        CustomerId::from_uuid(Uuid::from_u128(1))
    }

    fn fee(amount: i64) -> FeeDay {
        FeeDay {
            date: date!(2024 - 03 - 01),
            fee_type: FeeType::Settlement,
            amount: Money::from_minor(amount),
        }
    }

    fn record(day: FeeDay, correction: bool) -> Command {
        Command::RecordFeeIncome {
            customer_id: cid(),
            day,
            correction,
            now: NOW,
        }
    }

    fn recorded(day: FeeDay) -> Event {
        Event::FeeIncomeRecorded {
            customer_id: cid(),
            day,
            at: NOW,
        }
    }

    #[test]
    fn it_records_a_days_fee_income_of_one_type() {
        let state = given::<FeeIncome>([])
            .when(record(fee(25_000), false))
            .then([recorded(fee(25_000))]);
        assert_eq!(state.days.len(), 1);
    }

    #[test]
    fn it_records_another_fee_type_of_the_same_day_apart() {
        let other = FeeDay {
            fee_type: FeeType::ElectronicBanking,
            ..fee(3_000)
        };
        given::<FeeIncome>([recorded(fee(25_000))])
            .when(record(other, false))
            .then([recorded(other)]);
    }

    #[test]
    fn it_ignores_the_same_fee_imported_twice() {
        given::<FeeIncome>([recorded(fee(25_000))])
            .when(record(fee(25_000), false))
            .then([]);
    }

    #[test]
    fn it_rejects_a_different_amount_without_the_correction_flag() {
        given::<FeeIncome>([recorded(fee(25_000))])
            .when(record(fee(20_000), false))
            .then_err(DomainError::conflict(
                "a different fee income for 2024-03-01 (Settlement) is already recorded; send \
                 it as a correction",
            ));
    }

    #[test]
    fn it_supersedes_a_recorded_fee_with_an_explicit_correction() {
        let state = given::<FeeIncome>([recorded(fee(25_000))])
            .when(record(fee(20_000), true))
            .then([Event::FeeIncomeCorrected {
                customer_id: cid(),
                previous: fee(25_000),
                day: fee(20_000),
                at: NOW,
            }]);
        assert_eq!(
            state.days.values().copied().collect::<Vec<_>>(),
            vec![Money::from_minor(20_000)]
        );
    }

    #[test]
    fn it_rejects_a_correction_of_a_fee_never_recorded() {
        given::<FeeIncome>([])
            .when(record(fee(1), true))
            .then_err(DomainError::conflict(
                "no fee income for 2024-03-01 (Settlement) to correct",
            ));
    }

    #[test]
    fn it_rejects_a_negative_amount() {
        given::<FeeIncome>([])
            .when(record(fee(-1), false))
            .then_err(DomainError::validation("amount", "must not be negative"));
    }

    #[test]
    fn it_rejects_a_fee_sent_to_another_customers_stream() {
        given::<FeeIncome>([recorded(fee(1))])
            .when(Command::RecordFeeIncome {
                customer_id: CustomerId::from_uuid(Uuid::from_u128(2)),
                day: fee(1),
                correction: false,
                now: NOW,
            })
            .then_err(DomainError::validation(
                "customer_id",
                "does not match this customer's stream",
            ));
    }
}
