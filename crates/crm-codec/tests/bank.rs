//! The bank events through the codec: each is stored under its stable name at schema version
//! 1 on its aggregate's stream, and reads back as itself; a payload under another name is
//! refused, never misread.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use crm_codec::DecodeError;
use crm_domain::customer::{
    self, BankSegment, Business, CreditReportSummary, ExternalFact, ExternalFactRecord,
    FarmHousehold, LandArea, RegistrationStatus, RegistryRecord, SizeClass, TaxCreditRating,
    TaxRecord,
};
use crm_domain::ids::{BranchId, CardId, CustomerId, DepositAccountId, LoanId, StaffId};
use crm_domain::values::ShortText;
use crm_domain::{bank_services, deposit, fee_income, loan, AnyEvent, DomainEvent, Money, Rate};
use crm_eventstore::{EventMetadata, Position, RecordedEvent};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;

const AT: OffsetDateTime = datetime!(2024-03-01 20:00 +8);

fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}

fn customer() -> CustomerId {
    CustomerId::from(Uuid::from_u128(1))
}

fn deposit_events() -> Vec<AnyEvent> {
    let account_id = DepositAccountId::from(Uuid::from_u128(2));
    let day = deposit::DepositDay {
        date: date!(2024 - 03 - 01),
        balance: Money::from_minor(1),
    };
    vec![
        deposit::Event::DepositAccountOpened {
            account_id,
            account: deposit::DepositAccount {
                customer_id: customer(),
                branch: BranchId::from(Uuid::from_u128(3)),
                product: text("活期储蓄"),
                term: deposit::DepositTerm::Time {
                    term_months: 12,
                    maturity: date!(2025 - 01 - 01),
                },
                currency: deposit::Currency::Cny,
                rate: Rate::from_units(1_000_000),
                opened_on: date!(2024 - 01 - 01),
            },
            at: AT,
        },
        deposit::Event::DepositAccountClosed {
            account_id,
            customer_id: customer(),
            closed_on: date!(2024 - 12 - 31),
            at: AT,
        },
        deposit::Event::DepositBalanceRecorded {
            account_id,
            customer_id: customer(),
            day,
            at: AT,
        },
        deposit::Event::DepositBalanceCorrected {
            account_id,
            customer_id: customer(),
            previous: day,
            day,
            at: AT,
        },
    ]
    .into_iter()
    .map(AnyEvent::from)
    .collect()
}

fn loan_events() -> Vec<AnyEvent> {
    let loan_id = LoanId::from(Uuid::from_u128(4));
    let day = loan::LoanDay {
        date: date!(2024 - 03 - 01),
        balance: Money::from_minor(5),
        days_overdue: 3,
    };
    vec![
        loan::Event::LoanContracted {
            loan_id,
            contract: loan::LoanContract {
                customer_id: customer(),
                branch: BranchId::from(Uuid::from_u128(3)),
                product: text("农户小额信用贷款"),
                amount: Money::from_minor(10),
                rate: Rate::from_units(5_000_000),
                start: date!(2024 - 01 - 01),
                maturity: date!(2025 - 01 - 01),
                guarantee: loan::GuaranteeType::Pledge,
                purpose: text("农资"),
            },
            at: AT,
        },
        loan::Event::LoanDisbursed {
            loan_id,
            customer_id: customer(),
            amount: Money::from_minor(10),
            on: date!(2024 - 01 - 02),
            at: AT,
        },
        loan::Event::RepaymentScheduleSet {
            loan_id,
            customer_id: customer(),
            instalments: vec![loan::Instalment {
                due: date!(2024 - 12 - 01),
                principal: Money::from_minor(10),
                interest: Money::from_minor(1),
            }],
            at: AT,
        },
        loan::Event::LoanPositionRecorded {
            loan_id,
            customer_id: customer(),
            day,
            at: AT,
        },
        loan::Event::LoanPositionCorrected {
            loan_id,
            customer_id: customer(),
            previous: day,
            day,
            at: AT,
        },
        loan::Event::LoanReclassified {
            loan_id,
            customer_id: customer(),
            from: loan::LoanClass::Pass,
            to: loan::LoanClass::Doubtful,
            reason: text("逾期"),
            by: StaffId::from(Uuid::from_u128(5)),
            at: AT,
        },
        loan::Event::LoanClosed {
            loan_id,
            customer_id: customer(),
            on: date!(2024 - 12 - 31),
            how: loan::LoanClosure::WrittenOff,
            at: AT,
        },
    ]
    .into_iter()
    .map(AnyEvent::from)
    .collect()
}

fn service_and_fee_events() -> Vec<AnyEvent> {
    use bank_services::Event as S;
    let card_id = CardId::from(Uuid::from_u128(6));
    let channel = bank_services::EChannel::WeChatBanking;
    let fee = fee_income::FeeDay {
        date: date!(2024 - 03 - 01),
        fee_type: fee_income::FeeType::Agency,
        amount: Money::from_minor(7),
    };
    let services = vec![
        S::CardIssued {
            customer_id: customer(),
            card_id,
            card: bank_services::Card {
                kind: bank_services::CardKind::Debit,
                number: text("6231****0002"),
                issued_on: date!(2020 - 01 - 01),
            },
            at: AT,
        },
        S::CardCancelled {
            customer_id: customer(),
            card_id,
            on: date!(2024 - 01 - 01),
            at: AT,
        },
        S::EChannelSignedUp {
            customer_id: customer(),
            channel,
            on: date!(2024 - 01 - 01),
            at: AT,
        },
        S::EChannelCancelled {
            customer_id: customer(),
            channel,
            on: date!(2024 - 02 - 01),
            at: AT,
        },
        S::WealthProductSubscribed {
            customer_id: customer(),
            product: text("稳盈90天"),
            amount: Money::from_minor(100),
            on: date!(2024 - 01 - 01),
            matures_on: None,
            at: AT,
        },
        S::WealthProductRedeemed {
            customer_id: customer(),
            product: text("稳盈90天"),
            amount: Money::from_minor(100),
            on: date!(2024 - 02 - 01),
            at: AT,
        },
    ];
    let fees = vec![
        fee_income::Event::FeeIncomeRecorded {
            customer_id: customer(),
            day: fee,
            at: AT,
        },
        fee_income::Event::FeeIncomeCorrected {
            customer_id: customer(),
            previous: fee,
            day: fee,
            at: AT,
        },
    ];
    services
        .into_iter()
        .map(AnyEvent::from)
        .chain(fees.into_iter().map(AnyEvent::from))
        .collect()
}

fn customer_bank_events() -> Vec<AnyEvent> {
    let business = Business {
        registration_number: text("92361127MA35XXXX1A"),
        industry: text("零售业"),
        size: SizeClass::Small,
    };
    let facts = [
        ExternalFact::CreditReport(CreditReportSummary {
            loans_outstanding: 1,
            balance_outstanding: Money::from_minor(1),
            accounts_overdue: 1,
            max_days_overdue: 40,
            guarantees_given: Money::ZERO,
            queries_last_six_months: 3,
        }),
        ExternalFact::BusinessRegistry(RegistryRecord {
            registration_number: text("92361127MA35XXXX1A"),
            status: RegistrationStatus::Revoked,
            registered_capital: Money::from_minor(1),
            established_on: date!(2010 - 01 - 01),
        }),
        ExternalFact::Tax(TaxRecord {
            year: 2023,
            tax_paid: Money::from_minor(1),
            rating: TaxCreditRating::M,
        }),
    ];
    let mut events = vec![
        customer::Event::BankSegmentRecorded {
            customer_id: customer(),
            segment: BankSegment::FarmHousehold(FarmHousehold {
                members: 3,
                land_area: LandArea::from_hundredths_mu(250),
                village: text("康山村"),
                main_business: text("养殖"),
            }),
            at: AT,
        },
        customer::Event::BankSegmentRecorded {
            customer_id: customer(),
            segment: BankSegment::SmallBusiness(business),
            at: AT,
        },
        customer::Event::MultiBankCustomerMarked {
            customer_id: customer(),
            is_multi_bank: true,
            at: AT,
        },
    ];
    events.extend(
        facts
            .into_iter()
            .map(|fact| customer::Event::ExternalFactRecorded {
                customer_id: customer(),
                record: ExternalFactRecord {
                    fact,
                    source: text("来源"),
                    as_of: date!(2024 - 02 - 01),
                },
                at: AT,
            }),
    );
    events.into_iter().map(AnyEvent::from).collect()
}

/// Stores `event` as the app would, under `event_type` (its own unless a test lies).
fn stored(event: &AnyEvent, event_type: &str) -> RecordedEvent {
    let id = Uuid::from_u128(9);
    let metadata = EventMetadata {
        actor: "staff-test".into(),
        occurred_at: AT,
        correlation_id: None,
        causation_id: None,
        command_id: None,
    };
    let new = match event {
        AnyEvent::Deposit(e) => crm_codec::encode(e, id, metadata),
        AnyEvent::Loan(e) => crm_codec::encode(e, id, metadata),
        AnyEvent::BankServices(e) => crm_codec::encode(e, id, metadata),
        AnyEvent::FeeIncome(e) => crm_codec::encode(e, id, metadata),
        AnyEvent::Customer(e) => crm_codec::encode(e, id, metadata),
        other => panic!("not a bank event: {other:?}"),
    }
    .unwrap();
    RecordedEvent {
        position: Position(1),
        stream: crm_codec::stream_of(event).unwrap().to_string(),
        revision: 0,
        event_id: new.event_id,
        event_type: event_type.to_string(),
        schema_version: new.schema_version,
        metadata: new.metadata,
        recorded_at: AT,
        payload: new.payload,
        hash: [0; 32],
    }
}

#[test]
fn every_bank_event_reads_back_as_itself_under_its_stable_name_at_version_1() {
    let mut names = Vec::new();
    for event in deposit_events()
        .into_iter()
        .chain(loan_events())
        .chain(service_and_fee_events())
        .chain(customer_bank_events())
    {
        let recorded = stored(&event, event.event_type());
        assert_eq!(recorded.schema_version, 1);
        assert_eq!(crm_codec::decode(&recorded).unwrap(), event);
        if names.last() != Some(&(recorded.category().to_string(), event.event_type())) {
            names.push((recorded.category().to_string(), event.event_type()));
        }
    }
    let expected: Vec<(&str, &str)> = vec![
        ("deposit", "DepositAccountOpened"),
        ("deposit", "DepositAccountClosed"),
        ("deposit", "DepositBalanceRecorded"),
        ("deposit", "DepositBalanceCorrected"),
        ("loan", "LoanContracted"),
        ("loan", "LoanDisbursed"),
        ("loan", "RepaymentScheduleSet"),
        ("loan", "LoanPositionRecorded"),
        ("loan", "LoanPositionCorrected"),
        ("loan", "LoanReclassified"),
        ("loan", "LoanClosed"),
        ("banking", "CardIssued"),
        ("banking", "CardCancelled"),
        ("banking", "EChannelSignedUp"),
        ("banking", "EChannelCancelled"),
        ("banking", "WealthProductSubscribed"),
        ("banking", "WealthProductRedeemed"),
        ("fees", "FeeIncomeRecorded"),
        ("fees", "FeeIncomeCorrected"),
        ("customer", "BankSegmentRecorded"),
        ("customer", "MultiBankCustomerMarked"),
        ("customer", "ExternalFactRecorded"),
    ];
    let names: Vec<(&str, &str)> = names.iter().map(|(c, t)| (c.as_str(), *t)).collect();
    assert_eq!(names, expected);
}

#[test]
fn a_bank_payload_stored_under_another_name_is_refused() {
    let events = loan_events();
    let recorded = stored(&events[3], "LoanPositionCorrected");
    assert_eq!(
        crm_codec::decode(&recorded),
        Err(DecodeError::TypeMismatch {
            position: 1,
            stored: "LoanPositionCorrected".into(),
            decoded: "LoanPositionRecorded".into(),
        })
    );
}
