//! The bank business's commands through `crm-app` on a real store: the import role records
//! the core system's facts idempotently (by command id and by content), a loan is reclassified
//! only by its outlet's management, and every event written reads back through the codec.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use crm_app::{App, AppCommand, AppError, CommandEnvelope, CommandOutcome};
use crm_domain::auth::{Actor, Right, Role, Scope};
use crm_domain::bank_services::{self, Card, CardKind, EChannel};
use crm_domain::customer::{
    self, Assignment, BankSegment, CreditReportSummary, CustomerKind, ExternalFact,
    ExternalFactRecord, FarmHousehold, LandArea, Profile,
};
use crm_domain::deposit::{self, Currency, DepositDay, DepositKind};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{BranchId, CardId, CustomerId, DepositAccountId, LoanId, RegionId, StaffId};
use crm_domain::loan::{self, GuaranteeType, LoanClass, LoanContract};
use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber, ShortText};
use crm_domain::{branch, region, DomainError, DomainEvent, Money, Rate};
use crm_eventstore::{AllStart, Direction, EventStore, StoreConfig};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2024-03-01 20:00 +8);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
fn staff(n: u128) -> StaffId {
    StaffId::from(id(0x5_0000 + n))
}
fn outlet(n: u128) -> BranchId {
    BranchId::from(id(0xB_0000 + n))
}
fn customer_id(n: u128) -> CustomerId {
    CustomerId::from(id(0xC_0000 + n))
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn yuan(y: i64) -> Money {
    Money::from_minor(y * Money::SCALE)
}

fn hq() -> Actor {
    Actor {
        staff_id: staff(1),
        role: Role::Headquarters,
        scope: Scope::Company,
    }
}
/// The import role that sends the core banking system's files.
fn operator() -> Actor {
    Actor {
        staff_id: staff(2),
        role: Role::Operator,
        scope: Scope::Company,
    }
}
fn outlet_manager(b: u128) -> Actor {
    Actor {
        staff_id: staff(100 + b),
        role: Role::BranchManager,
        scope: Scope::Branch { branch: outlet(b) },
    }
}
/// Customer manager 1 of outlet 1, who serves customer 1.
fn customer_manager() -> Actor {
    Actor {
        staff_id: staff(1001),
        role: Role::CustomerManager,
        scope: Scope::Book {
            branch: outlet(1),
            team: None,
        },
    }
}

fn envelope(actor: Actor, command: AppCommand) -> CommandEnvelope {
    CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor,
        correlation_id: None,
        causation_id: None,
        occurred_at: NOW,
        command,
    }
}

struct World {
    _dir: tempfile::TempDir,
    app: App,
}

impl World {
    /// A county cooperative (region 1) with outlets 1 and 2, and customer 1 (a farmer)
    /// served by customer manager 1 of outlet 1.
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let w = World {
            _dir: dir,
            app: App::new(store).unwrap(),
        };
        let region = RegionId::from(id(0xA_0001));
        w.ok(
            hq(),
            AppCommand::Region {
                region,
                command: region::Command::Establish {
                    region_id: region,
                    name: OrgName::parse("余干县农村信用合作联社").unwrap(),
                    now: NOW,
                },
            },
        )
        .await;
        for b in [1, 2] {
            w.ok(
                hq(),
                AppCommand::Branch {
                    branch: outlet(b),
                    command: branch::Command::Open {
                        branch_id: outlet(b),
                        region_id: region,
                        name: OrgName::parse(&format!("信用社{b}")).unwrap(),
                        kind: branch::BranchKind::CreditCooperative,
                        now: NOW,
                    },
                },
            )
            .await;
        }
        let profile = Profile {
            name: OrgName::parse("李四").unwrap(),
            document: IdDocument::ResidentId {
                number: ResidentIdNumber::with_check_character("36112719700101001").unwrap(),
            },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::Counter,
        };
        w.ok(
            hq(),
            AppCommand::Customer {
                customer: customer_id(1),
                command: customer::Command::Register {
                    customer_id: customer_id(1),
                    kind: CustomerKind::Individual,
                    profile,
                    as_prospect: false,
                    existing_customer_with_same_document: None,
                    now: NOW,
                },
            },
        )
        .await;
        w.ok(
            hq(),
            AppCommand::Customer {
                customer: customer_id(1),
                command: customer::Command::Assign {
                    to: Assignment {
                        branch: outlet(1),
                        manager: Some(customer_manager().staff_id),
                        team: None,
                    },
                    by: staff(1),
                    now: NOW,
                },
            },
        )
        .await;
        w
    }

    async fn run(&self, actor: Actor, command: AppCommand) -> Result<CommandOutcome, AppError> {
        self.app.execute(envelope(actor, command)).await
    }

    async fn ok(&self, actor: Actor, command: AppCommand) -> CommandOutcome {
        match self.run(actor, command).await {
            Ok(o) => o,
            Err(e) => panic!("command refused: {e}"),
        }
    }
}

fn forbidden(result: Result<CommandOutcome, AppError>) -> Right {
    match result {
        Err(AppError::Domain(DomainError::Forbidden { missing_right })) => missing_right,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

fn account() -> DepositAccountId {
    DepositAccountId::from(id(0xD_0001))
}

fn open_deposit(customer: CustomerId) -> AppCommand {
    open_deposit_at(customer, outlet(1))
}

fn open_deposit_at(customer: CustomerId, branch: BranchId) -> AppCommand {
    AppCommand::Deposit {
        account: account(),
        command: deposit::Command::Open {
            account_id: account(),
            customer_id: customer,
            branch,
            product: text("整存整取一年"),
            kind: DepositKind::Time,
            currency: Currency::Cny,
            term_months: Some(12),
            maturity: Some(date!(2025 - 01 - 10)),
            rate: Rate::from_units(1_650_000),
            opened_on: date!(2024 - 01 - 10),
            now: NOW,
        },
    }
}

fn balance(date: Date, yuan_balance: i64, correction: bool) -> AppCommand {
    AppCommand::Deposit {
        account: account(),
        command: deposit::Command::RecordDailyBalance {
            account_id: account(),
            day: DepositDay {
                date,
                balance: yuan(yuan_balance),
            },
            correction,
            now: NOW,
        },
    }
}

#[tokio::test]
async fn the_import_role_records_deposit_balances_once_and_corrects_them_explicitly() {
    let w = World::new().await;
    w.ok(operator(), open_deposit(customer_id(1))).await;
    let env = envelope(operator(), balance(date!(2024 - 03 - 01), 30_000, false));
    let first = w.app.execute(env.clone()).await.unwrap();
    assert_eq!(first.events[0].event_type, "DepositBalanceRecorded");
    // The same command id again: the first result, nothing written.
    let head = w.app.store().head();
    let again = w.app.execute(env).await.unwrap();
    assert!(again.already_handled);
    assert_eq!(again.events, first.events);
    // The same day re-imported under another command id: idempotent by content.
    let reimport = w
        .ok(operator(), balance(date!(2024 - 03 - 01), 30_000, false))
        .await;
    assert!(reimport.events.is_empty());
    assert_eq!(w.app.store().head(), head);
    // Another balance for the day needs the correction flag.
    let conflict = w
        .run(operator(), balance(date!(2024 - 03 - 01), 29_000, false))
        .await;
    assert!(matches!(
        conflict,
        Err(AppError::Domain(DomainError::Conflict { .. }))
    ));
    let corrected = w
        .ok(operator(), balance(date!(2024 - 03 - 01), 29_000, true))
        .await;
    assert_eq!(corrected.events[0].event_type, "DepositBalanceCorrected");
    let stream = crm_app::stream_of::<deposit::Deposit>(&account()).unwrap();
    let (state, revision) = w.app.load::<deposit::Deposit>(&stream).unwrap();
    assert_eq!(state.days[&date!(2024 - 03 - 01)], yuan(29_000));
    assert_eq!(revision, Some(2));
}

#[tokio::test]
async fn bank_facts_are_the_import_roles_and_need_a_known_customer_and_outlet() {
    let w = World::new().await;
    assert_eq!(
        forbidden(
            w.run(customer_manager(), open_deposit(customer_id(1)))
                .await
        ),
        Right::RecordBankFacts
    );
    match w.run(operator(), open_deposit(customer_id(9))).await {
        Err(AppError::Domain(DomainError::NotFound { entity: "customer" })) => {}
        other => panic!("expected the unknown customer refused, got {other:?}"),
    }
    match w
        .run(operator(), open_deposit_at(customer_id(1), outlet(9)))
        .await
    {
        Err(AppError::Domain(DomainError::NotFound { entity: "branch" })) => {}
        other => panic!("expected the unknown outlet refused, got {other:?}"),
    }
    // Headquarters may record them as it records the securities back office's.
    w.ok(hq(), open_deposit(customer_id(1))).await;
}

fn loan_id() -> LoanId {
    LoanId::from(id(0x1_0001))
}

fn reclassify(by: StaffId, from: LoanClass, to: LoanClass) -> AppCommand {
    AppCommand::Loan {
        loan: loan_id(),
        command: loan::Command::Reclassify {
            from,
            to,
            reason: text("逾期95天"),
            by,
            now: NOW,
        },
    }
}

#[tokio::test]
async fn a_loan_is_reclassified_only_by_its_outlets_management_in_their_own_name() {
    let w = World::new().await;
    w.ok(
        operator(),
        AppCommand::Loan {
            loan: loan_id(),
            command: loan::Command::SignContract {
                loan_id: loan_id(),
                contract: LoanContract {
                    customer_id: customer_id(1),
                    branch: outlet(1),
                    product: text("农户小额信用贷款"),
                    amount: yuan(50_000),
                    rate: Rate::from_units(5_200_000),
                    start: date!(2024 - 01 - 15),
                    maturity: date!(2025 - 01 - 15),
                    guarantee: GuaranteeType::Credit,
                    purpose: text("购买农资"),
                },
                now: NOW,
            },
        },
    )
    .await;
    let (pass, sub) = (LoanClass::Pass, LoanClass::Substandard);
    let cm = customer_manager();
    assert_eq!(
        forbidden(w.run(cm, reclassify(cm.staff_id, pass, sub)).await),
        Right::ClassifyLoan
    );
    let op = operator();
    assert_eq!(
        forbidden(w.run(op, reclassify(op.staff_id, pass, sub)).await),
        Right::ClassifyLoan
    );
    let other = outlet_manager(2);
    assert_eq!(
        forbidden(w.run(other, reclassify(other.staff_id, pass, sub)).await),
        Right::ClassifyLoan
    );
    let own = outlet_manager(1);
    match w.run(own, reclassify(staff(1), pass, sub)).await {
        Err(AppError::Domain(DomainError::Validation { field: "by", .. })) => {}
        other => panic!("expected a command in someone else's name refused, got {other:?}"),
    }
    let moved = w.ok(own, reclassify(own.staff_id, pass, sub)).await;
    assert_eq!(moved.events[0].event_type, "LoanReclassified");
    let stream = crm_app::stream_of::<loan::Loan>(&loan_id()).unwrap();
    let (state, _) = w.app.load::<loan::Loan>(&stream).unwrap();
    assert_eq!(state.class, Some(sub));
}

#[tokio::test]
async fn services_fees_and_rural_attributes_are_recorded_and_read_back_through_the_codec() {
    let w = World::new().await;
    let c = customer_id(1);
    w.ok(
        operator(),
        AppCommand::BankServices {
            customer: c,
            command: bank_services::Command::IssueCard {
                customer_id: c,
                card_id: CardId::from(id(0x2_0001)),
                card: Card {
                    kind: CardKind::SocialSecurity,
                    number: text("6231****0001"),
                    issued_on: date!(2023 - 05 - 01),
                },
                now: NOW,
            },
        },
    )
    .await;
    let sign_up = |customer| AppCommand::BankServices {
        customer: c,
        command: bank_services::Command::SignUp {
            customer_id: customer,
            channel: EChannel::MobileBanking,
            on: date!(2024 - 02 - 01),
            now: NOW,
        },
    };
    match w.run(operator(), sign_up(customer_id(2))).await {
        Err(AppError::Domain(DomainError::Validation {
            field: "customerId",
            ..
        })) => {}
        other => panic!("expected a fact for another customer refused, got {other:?}"),
    }
    w.ok(operator(), sign_up(c)).await;
    w.ok(
        operator(),
        AppCommand::FeeIncome {
            customer: c,
            command: fee_income::Command::RecordFeeIncome {
                customer_id: c,
                day: FeeDay {
                    date: date!(2024 - 03 - 01),
                    fee_type: FeeType::ElectronicBanking,
                    amount: Money::from_minor(20_000),
                },
                correction: false,
                now: NOW,
            },
        },
    )
    .await;
    // The serving customer manager records the household; the import role the credit report.
    let household = BankSegment::FarmHousehold(FarmHousehold {
        members: 5,
        land_area: LandArea::from_hundredths_mu(830),
        village: text("瑞洪镇康山村"),
        main_business: text("水产养殖"),
    });
    w.ok(
        customer_manager(),
        AppCommand::Customer {
            customer: c,
            command: customer::Command::RecordBankSegment {
                segment: household,
                now: NOW,
            },
        },
    )
    .await;
    let report = AppCommand::Customer {
        customer: c,
        command: customer::Command::RecordExternalFact {
            record: ExternalFactRecord {
                fact: ExternalFact::CreditReport(CreditReportSummary {
                    loans_outstanding: 1,
                    balance_outstanding: yuan(20_000),
                    accounts_overdue: 0,
                    max_days_overdue: 0,
                    guarantees_given: Money::ZERO,
                    queries_last_six_months: 2,
                }),
                source: text("人民银行征信中心"),
                as_of: date!(2024 - 02 - 25),
            },
            now: NOW,
        },
    };
    assert_eq!(
        forbidden(w.run(customer_manager(), report.clone()).await),
        Right::RecordBankFacts
    );
    w.ok(operator(), report).await;
    // Every event in the log decodes through the codec as the type it was stored as.
    let all = w
        .app
        .store()
        .read_all(AllStart::Start, Direction::Forwards, 1_000)
        .unwrap();
    let mut bank_types = Vec::new();
    for recorded in &all {
        let event = crm_codec::decode(recorded).unwrap();
        assert_eq!(event.event_type(), recorded.event_type);
        assert_eq!(event.schema_version(), 1);
        if matches!(recorded.category(), "banking" | "fees")
            || recorded.event_type.starts_with("BankSegment")
            || recorded.event_type.starts_with("ExternalFact")
        {
            bank_types.push(recorded.event_type.clone());
        }
    }
    assert_eq!(
        bank_types,
        [
            "CardIssued",
            "EChannelSignedUp",
            "FeeIncomeRecorded",
            "BankSegmentRecorded",
            "ExternalFactRecorded"
        ]
    );
}
