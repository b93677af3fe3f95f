//! Given/when/then tests of the deposit account aggregate (`super`).
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::testing::given;

const NOW: OffsetDateTime = datetime!(2024-03-01 18:00 +8);

fn aid() -> DepositAccountId {
    DepositAccountId::from_uuid(Uuid::from_u128(70))
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(1))
}

fn outlet() -> BranchId {
    BranchId::from_uuid(Uuid::from_u128(10))
}

fn product() -> ShortText {
    ShortText::parse("整存整取三年").expect("valid")
}

/// 2.25% a year.
const RATE: Rate = Rate::from_units(2_250_000);

fn open_time() -> Command {
    Command::Open {
        account_id: aid(),
        customer_id: customer(),
        branch: outlet(),
        product: product(),
        kind: DepositKind::Time,
        currency: Currency::Cny,
        term_months: Some(36),
        maturity: Some(date!(2027 - 01 - 10)),
        rate: RATE,
        opened_on: date!(2024 - 01 - 10),
        now: NOW,
    }
}

fn opened() -> Event {
    Event::DepositAccountOpened {
        account_id: aid(),
        account: DepositAccount {
            customer_id: customer(),
            branch: outlet(),
            product: product(),
            term: DepositTerm::Time {
                term_months: 36,
                maturity: date!(2027 - 01 - 10),
            },
            currency: Currency::Cny,
            rate: RATE,
            opened_on: date!(2024 - 01 - 10),
        },
        at: NOW,
    }
}

fn day(date: Date, yuan: i64) -> DepositDay {
    DepositDay {
        date,
        balance: Money::from_minor(yuan * Money::SCALE),
    }
}

fn balance(day: DepositDay, correction: bool) -> Command {
    Command::RecordDailyBalance {
        account_id: aid(),
        day,
        correction,
        now: NOW,
    }
}

fn recorded(day: DepositDay) -> Event {
    Event::DepositBalanceRecorded {
        account_id: aid(),
        customer_id: customer(),
        day,
        at: NOW,
    }
}

fn closed(on: Date) -> Event {
    Event::DepositAccountClosed {
        account_id: aid(),
        customer_id: customer(),
        closed_on: on,
        at: NOW,
    }
}

#[test]
fn it_opens_a_time_deposit_with_its_term_and_maturity() {
    let state = given::<Deposit>([]).when(open_time()).then([opened()]);
    assert_eq!(state.account_id, Some(aid()));
}

#[test]
fn it_opens_a_demand_deposit_without_a_term() {
    let state = given::<Deposit>([])
        .when(Command::Open {
            account_id: aid(),
            customer_id: customer(),
            branch: outlet(),
            product: product(),
            kind: DepositKind::Demand,
            currency: Currency::Cny,
            term_months: None,
            maturity: None,
            rate: Rate::from_units(350_000),
            opened_on: date!(2024 - 01 - 10),
            now: NOW,
        })
        .then_ok();
    assert_eq!(state.account.map(|a| a.term), Some(DepositTerm::Demand));
}

fn open_with(
    kind: DepositKind,
    term_months: Option<u16>,
    maturity: Option<Date>,
    rate: Rate,
) -> Command {
    Command::Open {
        account_id: aid(),
        customer_id: customer(),
        branch: outlet(),
        product: product(),
        kind,
        currency: Currency::Cny,
        term_months,
        maturity,
        rate,
        opened_on: date!(2024 - 01 - 10),
        now: NOW,
    }
}

#[test]
fn it_rejects_a_time_deposit_without_maturity() {
    given::<Deposit>([])
        .when(open_with(DepositKind::Time, Some(12), None, RATE))
        .then_err(DomainError::validation(
            "maturity",
            "a time deposit needs a maturity date",
        ));
}

#[test]
fn it_rejects_a_time_deposit_without_a_term() {
    given::<Deposit>([])
        .when(open_with(
            DepositKind::Time,
            Some(0),
            Some(date!(2025 - 01 - 10)),
            RATE,
        ))
        .then_err(DomainError::validation(
            "term_months",
            "a time deposit needs a term of at least one month",
        ));
}

#[test]
fn it_rejects_a_maturity_on_or_before_the_opening_day() {
    given::<Deposit>([])
        .when(open_with(
            DepositKind::Time,
            Some(12),
            Some(date!(2024 - 01 - 10)),
            RATE,
        ))
        .then_err(DomainError::validation(
            "maturity",
            "must be after the opening day",
        ));
}

#[test]
fn it_rejects_a_demand_deposit_with_a_maturity() {
    given::<Deposit>([])
        .when(open_with(
            DepositKind::Demand,
            None,
            Some(date!(2025 - 01 - 10)),
            RATE,
        ))
        .then_err(DomainError::validation(
            "maturity",
            "a demand deposit has no term or maturity",
        ));
}

#[test]
fn it_rejects_a_negative_rate() {
    given::<Deposit>([])
        .when(open_with(
            DepositKind::Time,
            Some(12),
            Some(date!(2025 - 01 - 10)),
            Rate::from_units(-1),
        ))
        .then_err(DomainError::validation("rate", "must not be negative"));
}

#[test]
fn it_rejects_opening_an_account_twice() {
    given::<Deposit>([opened()])
        .when(open_time())
        .then_err(DomainError::AlreadyExists {
            entity: "deposit account",
        });
}

#[test]
fn it_records_a_daily_balance() {
    let d = day(date!(2024 - 03 - 01), 50_000);
    let state = given::<Deposit>([opened()])
        .when(balance(d, false))
        .then([recorded(d)]);
    assert_eq!(state.days[&date!(2024 - 03 - 01)], d.balance);
}

#[test]
fn it_ignores_the_same_account_day_imported_twice() {
    let d = day(date!(2024 - 03 - 01), 50_000);
    given::<Deposit>([opened(), recorded(d)])
        .when(balance(d, false))
        .then([]);
}

#[test]
fn it_rejects_a_different_balance_for_a_recorded_day_without_the_correction_flag() {
    let d = day(date!(2024 - 03 - 01), 50_000);
    given::<Deposit>([opened(), recorded(d)])
        .when(balance(day(date!(2024 - 03 - 01), 49_000), false))
        .then_err(DomainError::conflict(
            "a different balance for 2024-03-01 is already recorded; send it as a correction",
        ));
}

#[test]
fn it_supersedes_a_recorded_day_with_an_explicit_correction() {
    let d = day(date!(2024 - 03 - 01), 50_000);
    let fixed = day(date!(2024 - 03 - 01), 49_000);
    let state = given::<Deposit>([opened(), recorded(d)])
        .when(balance(fixed, true))
        .then([Event::DepositBalanceCorrected {
            account_id: aid(),
            customer_id: customer(),
            previous: d,
            day: fixed,
            at: NOW,
        }]);
    assert_eq!(state.days[&date!(2024 - 03 - 01)], fixed.balance);
}

#[test]
fn it_rejects_a_correction_for_a_day_never_recorded() {
    given::<Deposit>([opened()])
        .when(balance(day(date!(2024 - 03 - 01), 1), true))
        .then_err(DomainError::conflict(
            "no balance for 2024-03-01 to correct",
        ));
}

#[test]
fn it_rejects_a_negative_balance() {
    given::<Deposit>([opened()])
        .when(balance(day(date!(2024 - 03 - 01), -1), false))
        .then_err(DomainError::validation("balance", "must not be negative"));
}

#[test]
fn it_rejects_a_balance_before_the_account_was_opened() {
    given::<Deposit>([opened()])
        .when(balance(day(date!(2024 - 01 - 09), 1), false))
        .then_err(DomainError::validation(
            "date",
            "is before the account was opened",
        ));
}

#[test]
fn it_rejects_a_balance_of_an_account_never_opened() {
    given::<Deposit>([])
        .when(balance(day(date!(2024 - 03 - 01), 1), false))
        .then_err(DomainError::NotFound {
            entity: "deposit account",
        });
}

#[test]
fn it_rejects_a_balance_sent_to_another_accounts_stream() {
    given::<Deposit>([opened()])
        .when(Command::RecordDailyBalance {
            account_id: DepositAccountId::from_uuid(Uuid::from_u128(71)),
            day: day(date!(2024 - 03 - 01), 1),
            correction: false,
            now: NOW,
        })
        .then_err(DomainError::validation(
            "account_id",
            "does not match this account's stream",
        ));
}

#[test]
fn it_closes_an_account() {
    let state = given::<Deposit>([opened()])
        .when(Command::Close {
            closed_on: date!(2024 - 06 - 30),
            now: NOW,
        })
        .then([closed(date!(2024 - 06 - 30))]);
    assert_eq!(state.closed_on, Some(date!(2024 - 06 - 30)));
}

#[test]
fn it_rejects_closing_a_closed_account() {
    given::<Deposit>([opened(), closed(date!(2024 - 06 - 30))])
        .when(Command::Close {
            closed_on: date!(2024 - 07 - 01),
            now: NOW,
        })
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "close",
        });
}

#[test]
fn it_rejects_closing_before_the_opening_day() {
    given::<Deposit>([opened()])
        .when(Command::Close {
            closed_on: date!(2024 - 01 - 09),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "closed_on",
            "must not be before the opening day",
        ));
}

#[test]
fn it_rejects_closing_an_account_never_opened() {
    given::<Deposit>([])
        .when(Command::Close {
            closed_on: date!(2024 - 06 - 30),
            now: NOW,
        })
        .then_err(DomainError::NotFound {
            entity: "deposit account",
        });
}

#[test]
fn it_rejects_a_balance_on_a_closed_account_after_its_closing_day() {
    given::<Deposit>([opened(), closed(date!(2024 - 06 - 30))])
        .when(balance(day(date!(2024 - 07 - 01), 0), false))
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "record a balance after the closing day",
        });
}

#[test]
fn it_accepts_a_late_balance_of_a_closed_account_up_to_its_closing_day() {
    let d = day(date!(2024 - 06 - 30), 0);
    given::<Deposit>([opened(), closed(date!(2024 - 06 - 30))])
        .when(balance(d, false))
        .then([recorded(d)]);
}

#[test]
fn it_rejects_closing_before_a_day_with_a_recorded_balance() {
    let d = day(date!(2024 - 07 - 01), 0);
    given::<Deposit>([opened(), recorded(d)])
        .when(Command::Close {
            closed_on: date!(2024 - 06 - 30),
            now: NOW,
        })
        .then_err(DomainError::conflict(
            "a balance is recorded for 2024-07-01, after the closing day",
        ));
}
