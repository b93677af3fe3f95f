//! Given/when/then tests of the loan aggregate (`super`).
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::testing::given;

const NOW: OffsetDateTime = datetime!(2024-03-01 18:00 +8);

fn lid() -> LoanId {
    LoanId::from_uuid(Uuid::from_u128(80))
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(1))
}

fn officer() -> StaffId {
    StaffId::from_uuid(Uuid::from_u128(5))
}

fn text(s: &str) -> ShortText {
    ShortText::parse(s).expect("valid")
}

fn yuan(y: i64) -> Money {
    Money::from_minor(y * Money::SCALE)
}

fn contract() -> LoanContract {
    LoanContract {
        customer_id: customer(),
        branch: BranchId::from_uuid(Uuid::from_u128(10)),
        product: text("农户小额信用贷款"),
        amount: yuan(100_000),
        rate: Rate::from_units(5_500_000),
        start: date!(2024 - 01 - 15),
        maturity: date!(2025 - 01 - 15),
        guarantee: GuaranteeType::Credit,
        purpose: text("购买化肥种子"),
    }
}

fn contracted() -> Event {
    Event::LoanContracted {
        loan_id: lid(),
        contract: contract(),
        at: NOW,
    }
}

fn closed() -> Event {
    Event::LoanClosed {
        loan_id: lid(),
        customer_id: customer(),
        on: date!(2024 - 12 - 31),
        how: LoanClosure::Repaid,
        at: NOW,
    }
}

fn sign(contract: LoanContract) -> Command {
    Command::SignContract {
        loan_id: lid(),
        contract,
        now: NOW,
    }
}

#[test]
fn it_records_a_contract_classified_pass() {
    let state = given::<Loan>([])
        .when(sign(contract()))
        .then([contracted()]);
    assert_eq!(state.class, Some(LoanClass::Pass));
}

#[test]
fn it_rejects_a_second_contract() {
    given::<Loan>([contracted()])
        .when(sign(contract()))
        .then_err(DomainError::AlreadyExists { entity: "loan" });
}

#[test]
fn it_rejects_a_contract_of_no_amount() {
    let mut c = contract();
    c.amount = Money::ZERO;
    given::<Loan>([])
        .when(sign(c))
        .then_err(DomainError::validation("amount", "must be positive"));
}

#[test]
fn it_rejects_a_negative_rate() {
    let mut c = contract();
    c.rate = Rate::from_units(-1);
    given::<Loan>([])
        .when(sign(c))
        .then_err(DomainError::validation("rate", "must not be negative"));
}

#[test]
fn it_rejects_a_maturity_not_after_the_start() {
    let mut c = contract();
    c.maturity = c.start;
    given::<Loan>([])
        .when(sign(c))
        .then_err(DomainError::validation(
            "maturity",
            "must be after the start",
        ));
}

fn disburse(amount: Money, on: Date) -> Command {
    Command::Disburse {
        amount,
        on,
        now: NOW,
    }
}

#[test]
fn it_disburses_up_to_the_contract_amount() {
    let state = given::<Loan>([contracted()])
        .when(disburse(yuan(60_000), date!(2024 - 01 - 16)))
        .then([Event::LoanDisbursed {
            loan_id: lid(),
            customer_id: customer(),
            amount: yuan(60_000),
            on: date!(2024 - 01 - 16),
            at: NOW,
        }]);
    assert_eq!(state.disbursed, yuan(60_000));
}

#[test]
fn it_rejects_a_disbursement_over_the_contract_amount() {
    let first = Event::LoanDisbursed {
        loan_id: lid(),
        customer_id: customer(),
        amount: yuan(60_000),
        on: date!(2024 - 01 - 16),
        at: NOW,
    };
    given::<Loan>([contracted(), first])
        .when(disburse(yuan(40_001), date!(2024 - 02 - 01)))
        .then_err(DomainError::conflict(
            "disbursing 40001.0000 would bring the loan to 100001.0000, over its contract \
             amount 100000.0000",
        ));
}

#[test]
fn it_rejects_a_negative_disbursement() {
    given::<Loan>([contracted()])
        .when(disburse(yuan(-1), date!(2024 - 01 - 16)))
        .then_err(DomainError::validation("amount", "must be positive"));
}

#[test]
fn it_rejects_a_disbursement_outside_the_term() {
    given::<Loan>([contracted()])
        .when(disburse(yuan(1), date!(2025 - 01 - 16)))
        .then_err(DomainError::validation(
            "on",
            "must be within the contract's term",
        ));
}

#[test]
fn it_rejects_a_disbursement_of_a_loan_never_contracted() {
    given::<Loan>([])
        .when(disburse(yuan(1), date!(2024 - 01 - 16)))
        .then_err(DomainError::NotFound { entity: "loan" });
}

#[test]
fn it_rejects_a_disbursement_of_a_closed_loan() {
    given::<Loan>([contracted(), closed()])
        .when(disburse(yuan(1), date!(2024 - 01 - 16)))
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "disburse",
        });
}

fn instalment(due: Date, principal: i64, interest: i64) -> Instalment {
    Instalment {
        due,
        principal: yuan(principal),
        interest: yuan(interest),
    }
}

fn schedule() -> Vec<Instalment> {
    vec![
        instalment(date!(2024 - 07 - 15), 50_000, 2_750),
        instalment(date!(2025 - 01 - 15), 50_000, 2_750),
    ]
}

fn set_schedule(instalments: Vec<Instalment>) -> Command {
    Command::SetRepaymentSchedule {
        instalments,
        now: NOW,
    }
}

fn schedule_set() -> Event {
    Event::RepaymentScheduleSet {
        loan_id: lid(),
        customer_id: customer(),
        instalments: schedule(),
        at: NOW,
    }
}

#[test]
fn it_sets_a_repayment_schedule() {
    let state = given::<Loan>([contracted()])
        .when(set_schedule(schedule()))
        .then([schedule_set()]);
    assert_eq!(state.schedule.len(), 2);
}

#[test]
fn it_ignores_the_same_schedule_sent_again() {
    given::<Loan>([contracted(), schedule_set()])
        .when(set_schedule(schedule()))
        .then([]);
}

#[test]
fn it_rejects_a_schedule_with_dates_out_of_order() {
    let mut s = schedule();
    s.reverse();
    given::<Loan>([contracted()])
        .when(set_schedule(s))
        .then_err(DomainError::validation(
            "instalments",
            "due dates must be in increasing order, one instalment a date",
        ));
}

#[test]
fn it_rejects_an_empty_schedule() {
    given::<Loan>([contracted()])
        .when(set_schedule(vec![]))
        .then_err(DomainError::validation(
            "instalments",
            "a schedule needs at least one instalment",
        ));
}

#[test]
fn it_rejects_a_schedule_with_a_negative_amount() {
    let mut s = schedule();
    s[1].interest = yuan(-1);
    given::<Loan>([contracted()])
        .when(set_schedule(s))
        .then_err(DomainError::validation(
            "instalments",
            "amounts must not be negative",
        ));
}

#[test]
fn it_rejects_an_instalment_with_nothing_due() {
    let mut s = schedule();
    s[0] = instalment(date!(2024 - 07 - 15), 0, 0);
    given::<Loan>([contracted()])
        .when(set_schedule(s))
        .then_err(DomainError::validation(
            "instalments",
            "nothing is due on 2024-07-15",
        ));
}

#[test]
fn it_rejects_an_instalment_after_maturity() {
    let mut s = schedule();
    s[1].due = date!(2025 - 01 - 16);
    given::<Loan>([contracted()])
        .when(set_schedule(s))
        .then_err(DomainError::validation(
            "instalments",
            "2025-01-16 is outside the contract's term",
        ));
}

#[test]
fn it_rejects_a_schedule_of_more_principal_than_the_contract() {
    let mut s = schedule();
    s[1].principal = yuan(50_001);
    given::<Loan>([contracted()])
        .when(set_schedule(s))
        .then_err(DomainError::validation(
            "instalments",
            "principal 100001.0000 is over the contract amount 100000.0000",
        ));
}

fn day(date: Date, balance: i64, days_overdue: u32) -> LoanDay {
    LoanDay {
        date,
        balance: yuan(balance),
        days_overdue,
    }
}

fn position(day: LoanDay, correction: bool) -> Command {
    Command::RecordDailyPosition {
        loan_id: lid(),
        day,
        correction,
        now: NOW,
    }
}

fn position_recorded(day: LoanDay) -> Event {
    Event::LoanPositionRecorded {
        loan_id: lid(),
        customer_id: customer(),
        day,
        at: NOW,
    }
}

#[test]
fn it_records_a_daily_position() {
    let d = day(date!(2024 - 03 - 01), 60_000, 0);
    let state = given::<Loan>([contracted()])
        .when(position(d, false))
        .then([position_recorded(d)]);
    assert_eq!(state.days[&d.date], d);
}

#[test]
fn it_ignores_the_same_loan_day_imported_twice() {
    let d = day(date!(2024 - 03 - 01), 60_000, 0);
    given::<Loan>([contracted(), position_recorded(d)])
        .when(position(d, false))
        .then([]);
}

#[test]
fn it_rejects_a_different_position_for_a_recorded_day_without_the_correction_flag() {
    let d = day(date!(2024 - 03 - 01), 60_000, 0);
    given::<Loan>([contracted(), position_recorded(d)])
        .when(position(day(date!(2024 - 03 - 01), 60_000, 3), false))
        .then_err(DomainError::conflict(
            "a different position for 2024-03-01 is already recorded; send it as a correction",
        ));
}

#[test]
fn it_supersedes_a_recorded_day_with_an_explicit_correction() {
    let d = day(date!(2024 - 03 - 01), 60_000, 0);
    let fixed = day(date!(2024 - 03 - 01), 60_000, 3);
    let state = given::<Loan>([contracted(), position_recorded(d)])
        .when(position(fixed, true))
        .then([Event::LoanPositionCorrected {
            loan_id: lid(),
            customer_id: customer(),
            previous: d,
            day: fixed,
            at: NOW,
        }]);
    assert_eq!(state.days[&d.date].days_overdue, 3);
}

#[test]
fn it_rejects_a_correction_for_a_day_never_recorded() {
    given::<Loan>([contracted()])
        .when(position(day(date!(2024 - 03 - 01), 1, 0), true))
        .then_err(DomainError::conflict(
            "no position for 2024-03-01 to correct",
        ));
}

#[test]
fn it_rejects_a_negative_balance() {
    given::<Loan>([contracted()])
        .when(position(day(date!(2024 - 03 - 01), -1, 0), false))
        .then_err(DomainError::validation("balance", "must not be negative"));
}

#[test]
fn it_rejects_a_position_before_the_start() {
    given::<Loan>([contracted()])
        .when(position(day(date!(2024 - 01 - 14), 1, 0), false))
        .then_err(DomainError::validation(
            "date",
            "is before the loan's start",
        ));
}

#[test]
fn it_rejects_a_position_after_the_closing_day() {
    given::<Loan>([contracted(), closed()])
        .when(position(day(date!(2025 - 01 - 01), 0, 0), false))
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "record a position after the closing day",
        });
}

#[test]
fn it_accepts_a_late_position_up_to_the_closing_day() {
    let d = day(date!(2024 - 12 - 31), 0, 0);
    given::<Loan>([contracted(), closed()])
        .when(position(d, false))
        .then([position_recorded(d)]);
}

#[test]
fn it_rejects_a_position_sent_to_another_loans_stream() {
    given::<Loan>([contracted()])
        .when(Command::RecordDailyPosition {
            loan_id: LoanId::from_uuid(Uuid::from_u128(81)),
            day: day(date!(2024 - 03 - 01), 1, 0),
            correction: false,
            now: NOW,
        })
        .then_err(DomainError::validation(
            "loan_id",
            "does not match this loan's stream",
        ));
}

#[test]
fn it_rejects_a_position_of_a_loan_never_contracted() {
    given::<Loan>([])
        .when(position(day(date!(2024 - 03 - 01), 1, 0), false))
        .then_err(DomainError::NotFound { entity: "loan" });
}

fn reclassify(from: LoanClass, to: LoanClass) -> Command {
    Command::Reclassify {
        from,
        to,
        reason: text("逾期超过90天"),
        by: officer(),
        now: NOW,
    }
}

#[test]
fn it_moves_a_loan_down_a_class_with_who_and_why() {
    let state = given::<Loan>([contracted()])
        .when(reclassify(LoanClass::Pass, LoanClass::Substandard))
        .then([Event::LoanReclassified {
            loan_id: lid(),
            customer_id: customer(),
            from: LoanClass::Pass,
            to: LoanClass::Substandard,
            reason: text("逾期超过90天"),
            by: officer(),
            at: NOW,
        }]);
    assert_eq!(state.class, Some(LoanClass::Substandard));
    assert!(LoanClass::Substandard.is_non_performing());
    assert!(!LoanClass::SpecialMention.is_non_performing());
}

#[test]
fn it_rejects_a_move_to_the_class_the_loan_has() {
    given::<Loan>([contracted()])
        .when(reclassify(LoanClass::Pass, LoanClass::Pass))
        .then_err(DomainError::validation(
            "to",
            "the loan is already classified pass",
        ));
}

#[test]
fn it_rejects_a_move_from_a_class_the_loan_no_longer_has() {
    given::<Loan>([contracted()])
        .when(reclassify(
            LoanClass::SpecialMention,
            LoanClass::Substandard,
        ))
        .then_err(DomainError::conflict(
            "the loan is classified pass, not special mention",
        ));
}

#[test]
fn it_rejects_reclassifying_a_closed_loan() {
    given::<Loan>([contracted(), closed()])
        .when(reclassify(LoanClass::Pass, LoanClass::Loss))
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "reclassify",
        });
}

#[test]
fn it_closes_a_repaid_loan() {
    let state = given::<Loan>([contracted()])
        .when(Command::Close {
            on: date!(2024 - 12 - 31),
            how: LoanClosure::Repaid,
            now: NOW,
        })
        .then([closed()]);
    assert_eq!(
        state.closed,
        Some((date!(2024 - 12 - 31), LoanClosure::Repaid))
    );
}

#[test]
fn it_rejects_closing_a_closed_loan() {
    given::<Loan>([contracted(), closed()])
        .when(Command::Close {
            on: date!(2025 - 01 - 02),
            how: LoanClosure::WrittenOff,
            now: NOW,
        })
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "close",
        });
}

#[test]
fn it_rejects_closing_before_the_start() {
    given::<Loan>([contracted()])
        .when(Command::Close {
            on: date!(2024 - 01 - 14),
            how: LoanClosure::Repaid,
            now: NOW,
        })
        .then_err(DomainError::validation(
            "on",
            "must not be before the loan's start",
        ));
}

#[test]
fn it_rejects_closing_before_a_day_with_a_recorded_position() {
    let d = day(date!(2025 - 01 - 01), 0, 0);
    given::<Loan>([contracted(), position_recorded(d)])
        .when(Command::Close {
            on: date!(2024 - 12 - 31),
            how: LoanClosure::Repaid,
            now: NOW,
        })
        .then_err(DomainError::conflict(
            "a position is recorded for 2025-01-01, after the closing day",
        ));
}
