//! Property tests of the bank aggregates, on the method of `proptests.rs`: random command
//! sequences over few ids and a few weeks of dates, so days collide, corrections meet recorded
//! and unrecorded days, and accounts close around recorded days. Properties: `decide` never
//! panics; folding the emitted events reproduces the state; every recorded day re-sent with the
//! same content is idempotent (no events); totals stay within their bounds.

use proptest::prelude::*;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::ids::{BranchId, CardId, CustomerId, DepositAccountId, LoanId, StaffId};
use crate::money::{Money, Rate};
use crate::proptests::{check_replay, date, money, now, short, uuid};
use crate::{bank_services, deposit, fee_income, loan, Aggregate};

/// Mostly one of twenty days, so that facts meet on the same day.
fn day() -> impl Strategy<Value = Date> {
    let base = Date::from_julian_day(2_460_000).unwrap_or(Date::MIN);
    prop_oneof![
        4 => (0i64..20).prop_map(move |d| base + time::Duration::days(d)),
        1 => date(),
    ]
}

/// Mostly small amounts, sometimes negative, sometimes anything.
fn amount() -> impl Strategy<Value = Money> {
    prop_oneof![
        4 => (-1i64..6).prop_map(|n| Money::from_minor(n * 10_000)),
        1 => money(),
    ]
}

fn rate() -> impl Strategy<Value = Rate> {
    prop_oneof![4 => (0i64..10_000_000).boxed(), 1 => any::<i64>().boxed()]
        .prop_map(Rate::from_units)
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(1))
}

/// Runs `commands` from the empty state and returns the state reached.
fn run<A: Aggregate>(commands: &[A::Command]) -> A::State
where
    A::Command: Clone,
{
    commands.iter().fold(A::State::default(), |state, command| {
        match A::decide(&state, command.clone()) {
            Ok(events) => events.iter().fold(state, A::evolve),
            Err(_) => state,
        }
    })
}

fn deposit_command() -> BoxedStrategy<deposit::Command> {
    let id = (0u128..2).prop_map(|n| DepositAccountId::from_uuid(Uuid::from_u128(n)));
    let open = (
        id.clone(),
        short(),
        any::<bool>(),
        proptest::option::of(0u16..40),
        proptest::option::of(day()),
        rate(),
        day(),
        now(),
    )
        .prop_map(
            |(account_id, product, time, term_months, maturity, rate, opened_on, now)| {
                deposit::Command::Open {
                    account_id,
                    customer_id: customer(),
                    branch: BranchId::from_uuid(Uuid::from_u128(3)),
                    product,
                    kind: if time {
                        deposit::DepositKind::Time
                    } else {
                        deposit::DepositKind::Demand
                    },
                    currency: deposit::Currency::Cny,
                    term_months,
                    maturity,
                    rate,
                    opened_on,
                    now,
                }
            },
        );
    let close =
        (day(), now()).prop_map(|(closed_on, now)| deposit::Command::Close { closed_on, now });
    let balance = (id, day(), amount(), any::<bool>(), now()).prop_map(
        |(account_id, date, balance, correction, now)| deposit::Command::RecordDailyBalance {
            account_id,
            day: deposit::DepositDay { date, balance },
            correction,
            now,
        },
    );
    prop_oneof![1 => open, 1 => close, 6 => balance].boxed()
}

fn loan_command() -> BoxedStrategy<loan::Command> {
    let id = (0u128..2).prop_map(|n| LoanId::from_uuid(Uuid::from_u128(n)));
    let class = (0u8..5).prop_map(|n| match n {
        0 => loan::LoanClass::Pass,
        1 => loan::LoanClass::SpecialMention,
        2 => loan::LoanClass::Substandard,
        3 => loan::LoanClass::Doubtful,
        _ => loan::LoanClass::Loss,
    });
    let sign = (id.clone(), amount(), rate(), day(), day(), short(), now()).prop_map(
        |(loan_id, amount, rate, start, maturity, purpose, now)| loan::Command::SignContract {
            loan_id,
            contract: loan::LoanContract {
                customer_id: customer(),
                branch: BranchId::from_uuid(Uuid::from_u128(3)),
                product: purpose.clone(),
                amount,
                rate,
                start,
                maturity,
                guarantee: loan::GuaranteeType::Mortgage,
                purpose,
            },
            now,
        },
    );
    let disburse = (amount(), day(), now()).prop_map(|(amount, on, now)| loan::Command::Disburse {
        amount,
        on,
        now,
    });
    let instalment =
        (day(), amount(), amount()).prop_map(|(due, principal, interest)| loan::Instalment {
            due,
            principal,
            interest,
        });
    let schedule = (prop::collection::vec(instalment, 0..4), now())
        .prop_map(|(instalments, now)| loan::Command::SetRepaymentSchedule { instalments, now });
    let position = (id, day(), amount(), 0u32..200, any::<bool>(), now()).prop_map(
        |(loan_id, date, balance, days_overdue, correction, now)| {
            loan::Command::RecordDailyPosition {
                loan_id,
                day: loan::LoanDay {
                    date,
                    balance,
                    days_overdue,
                },
                correction,
                now,
            }
        },
    );
    let reclassify = (class.clone(), class, short(), now()).prop_map(|(from, to, reason, now)| {
        loan::Command::Reclassify {
            from,
            to,
            reason,
            by: StaffId::from_uuid(Uuid::from_u128(5)),
            now,
        }
    });
    let close = (day(), any::<bool>(), now()).prop_map(|(on, repaid, now)| loan::Command::Close {
        on,
        how: if repaid {
            loan::LoanClosure::Repaid
        } else {
            loan::LoanClosure::WrittenOff
        },
        now,
    });
    prop_oneof![
        1 => sign, 2 => disburse, 1 => schedule, 5 => position, 2 => reclassify, 1 => close,
    ]
    .boxed()
}

fn services_command() -> BoxedStrategy<bank_services::Command> {
    use bank_services::Command as C;
    let product = (0u8..2).prop_map(|n| {
        crate::values::ShortText::parse(if n == 0 {
            "稳盈90天"
        } else {
            "稳盈180天"
        })
        .unwrap_or_else(|_| crate::proptests::fallback_short())
    });
    let card = (uuid(), any::<bool>(), day(), now()).prop_map(|(u, credit, issued_on, now)| {
        C::IssueCard {
            customer_id: customer(),
            card_id: CardId::from_uuid(u),
            card: bank_services::Card {
                kind: if credit {
                    bank_services::CardKind::Credit
                } else {
                    bank_services::CardKind::Debit
                },
                number: crate::proptests::fallback_short(),
                issued_on,
            },
            now,
        }
    });
    let cancel = (uuid(), day(), now()).prop_map(|(u, on, now)| C::CancelCard {
        customer_id: customer(),
        card_id: CardId::from_uuid(u),
        on,
        now,
    });
    let subscribe = (
        product.clone(),
        amount(),
        day(),
        proptest::option::of(day()),
        now(),
    )
        .prop_map(
            |(product, amount, on, matures_on, now)| C::SubscribeWealth {
                customer_id: customer(),
                product,
                amount,
                on,
                matures_on,
                now,
            },
        );
    let redeem =
        (product, amount(), day(), now()).prop_map(|(product, amount, on, now)| C::RedeemWealth {
            customer_id: customer(),
            product,
            amount,
            on,
            now,
        });
    let sign_up = (any::<bool>(), any::<bool>(), day(), now()).prop_map(|(mobile, up, on, now)| {
        let channel = if mobile {
            bank_services::EChannel::MobileBanking
        } else {
            bank_services::EChannel::InternetBanking
        };
        if up {
            C::SignUp {
                customer_id: customer(),
                channel,
                on,
                now,
            }
        } else {
            C::CancelSignUp {
                customer_id: customer(),
                channel,
                on,
                now,
            }
        }
    });
    prop_oneof![card, cancel, subscribe, redeem, sign_up].boxed()
}

fn fee_command() -> BoxedStrategy<fee_income::Command> {
    (day(), any::<bool>(), amount(), any::<bool>(), now())
        .prop_map(|(date, settlement, amount, correction, now)| {
            fee_income::Command::RecordFeeIncome {
                customer_id: customer(),
                day: fee_income::FeeDay {
                    date,
                    fee_type: if settlement {
                        fee_income::FeeType::Settlement
                    } else {
                        fee_income::FeeType::ElectronicBanking
                    },
                    amount,
                },
                correction,
                now,
            }
        })
        .boxed()
}

/// The moment at which a re-sent fact is decided; the decisions do not depend on it.
const AT: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn deposit_imports_replay_and_every_recorded_day_is_idempotent(
        commands in prop::collection::vec(deposit_command(), 0..40)
    ) {
        check_replay::<deposit::Deposit>(commands.clone())?;
        let state = run::<deposit::Deposit>(&commands);
        if let Some(account_id) = state.account_id {
            for (date, balance) in &state.days {
                let again = deposit::Command::RecordDailyBalance {
                    account_id,
                    day: deposit::DepositDay { date: *date, balance: *balance },
                    correction: false,
                    now: AT,
                };
                prop_assert_eq!(deposit::decide(&state, again), Ok(vec![]));
            }
        }
    }

    #[test]
    fn loan_facts_replay_stay_within_the_contract_and_every_recorded_day_is_idempotent(
        commands in prop::collection::vec(loan_command(), 0..40)
    ) {
        check_replay::<loan::Loan>(commands.clone())?;
        let state = run::<loan::Loan>(&commands);
        if let (Some(loan_id), Some(contract)) = (state.loan_id, &state.contract) {
            prop_assert!(state.disbursed <= contract.amount);
            for day in state.days.values() {
                let again = loan::Command::RecordDailyPosition {
                    loan_id,
                    day: *day,
                    correction: false,
                    now: AT,
                };
                prop_assert_eq!(loan::decide(&state, again), Ok(vec![]));
            }
        }
    }

    #[test]
    fn bank_services_replay_and_holdings_never_go_negative(
        commands in prop::collection::vec(services_command(), 0..40)
    ) {
        check_replay::<bank_services::BankServices>(commands.clone())?;
        let state = run::<bank_services::BankServices>(&commands);
        prop_assert!(state.wealth.values().all(|held| held.minor() > 0));
    }

    #[test]
    fn fee_income_replays_and_every_recorded_fee_is_idempotent(
        commands in prop::collection::vec(fee_command(), 0..40)
    ) {
        check_replay::<fee_income::FeeIncome>(commands.clone())?;
        let state = run::<fee_income::FeeIncome>(&commands);
        for (key, amount) in &state.days {
            let again = fee_income::Command::RecordFeeIncome {
                customer_id: customer(),
                day: fee_income::FeeDay { date: key.date, fee_type: key.fee_type, amount: *amount },
                correction: false,
                now: AT,
            };
            prop_assert_eq!(fee_income::decide(&state, again), Ok(vec![]));
        }
    }
}
