//! Given/when/then tests of a rural bank's customer attributes (`customer_bank.rs`): the bank
//! segment, the 跨行 flag and imported external facts.
use time::macros::{date, datetime};

use super::tests::{cid, profile, registered, NOW};
use super::*;
use crate::testing::given;
use crate::values::UnifiedSocialCreditCode;

fn text(s: &str) -> ShortText {
    ShortText::parse(s).expect("test literal is valid")
}

fn household() -> BankSegment {
    BankSegment::FarmHousehold(FarmHousehold {
        members: 4,
        land_area: LandArea::from_hundredths_mu(1_250),
        village: text("上饶市余干县瑞洪镇康山村"),
        main_business: text("水稻种植"),
    })
}

fn business() -> Business {
    Business {
        registration_number: text("92361127MA35XXXX1A"),
        industry: text("农副食品加工业"),
        size: SizeClass::Micro,
    }
}

fn institution() -> Event {
    Event::CustomerRegistered {
        customer_id: cid(1),
        kind: CustomerKind::Institutional,
        profile: Profile {
            name: OrgName::parse("余干县某某米业有限公司").expect("valid"),
            document: IdDocument::BusinessLicence {
                code: UnifiedSocialCreditCode::parse("91350100M000100Y43").expect("valid sample"),
            },
            birthday: None,
            ..profile()
        },
        lifecycle: Lifecycle::Active,
        at: NOW,
    }
}

fn record_segment(segment: BankSegment) -> Command {
    Command::RecordBankSegment { segment, now: NOW }
}

fn segment_recorded(segment: BankSegment) -> Event {
    Event::BankSegmentRecorded {
        customer_id: cid(1),
        segment,
        at: NOW,
    }
}

#[test]
fn it_records_a_farm_household_with_land_village_and_main_business() {
    let state = given::<Customer>([registered()])
        .when(record_segment(household()))
        .then([segment_recorded(household())]);
    assert_eq!(state.bank_segment, Some(household()));
}

#[test]
fn it_ignores_the_same_segment_recorded_again() {
    given::<Customer>([registered(), segment_recorded(household())])
        .when(record_segment(household()))
        .then([]);
}

#[test]
fn it_records_a_sole_proprietor_as_an_individual() {
    given::<Customer>([registered()])
        .when(record_segment(BankSegment::SoleProprietor(business())))
        .then([segment_recorded(BankSegment::SoleProprietor(business()))]);
}

#[test]
fn it_records_a_small_business_as_an_institution() {
    given::<Customer>([institution()])
        .when(record_segment(BankSegment::SmallBusiness(business())))
        .then([segment_recorded(BankSegment::SmallBusiness(business()))]);
}

#[test]
fn it_rejects_a_small_business_segment_for_an_individual() {
    given::<Customer>([registered()])
        .when(record_segment(BankSegment::SmallBusiness(business())))
        .then_err(DomainError::validation(
            "segment",
            "farm households and sole proprietors are individuals, small businesses \
             institutions",
        ));
}

#[test]
fn it_rejects_a_farm_household_segment_for_an_institution() {
    given::<Customer>([institution()])
        .when(record_segment(household()))
        .then_err(DomainError::validation(
            "segment",
            "farm households and sole proprietors are individuals, small businesses \
             institutions",
        ));
}

#[test]
fn it_rejects_a_household_of_no_members() {
    let BankSegment::FarmHousehold(mut h) = household() else {
        panic!("the fixture is a household");
    };
    h.members = 0;
    given::<Customer>([registered()])
        .when(record_segment(BankSegment::FarmHousehold(h)))
        .then_err(DomainError::validation(
            "members",
            "a household has at least one member",
        ));
}

#[test]
fn it_rejects_a_segment_for_an_unknown_customer() {
    given::<Customer>([])
        .when(record_segment(household()))
        .then_err(DomainError::NotFound { entity: "customer" });
}

#[test]
fn it_marks_and_unmarks_a_multi_bank_customer_once_each() {
    let marked = Event::MultiBankCustomerMarked {
        customer_id: cid(1),
        is_multi_bank: true,
        at: NOW,
    };
    let state = given::<Customer>([registered()])
        .when(Command::MarkMultiBank {
            is_multi_bank: true,
            now: NOW,
        })
        .then([marked.clone()]);
    assert!(state.multi_bank);
    given::<Customer>([registered(), marked.clone()])
        .when(Command::MarkMultiBank {
            is_multi_bank: true,
            now: NOW,
        })
        .then([]);
    let state = given::<Customer>([registered(), marked])
        .when(Command::MarkMultiBank {
            is_multi_bank: false,
            now: NOW,
        })
        .then_ok();
    assert!(!state.multi_bank);
}

fn credit_report(max_days_overdue: u32) -> ExternalFactRecord {
    ExternalFactRecord {
        fact: ExternalFact::CreditReport(CreditReportSummary {
            loans_outstanding: 2,
            balance_outstanding: Money::from_minor(800_000_000),
            accounts_overdue: 0,
            max_days_overdue,
            guarantees_given: Money::ZERO,
            queries_last_six_months: 1,
        }),
        source: text("人民银行征信中心"),
        as_of: date!(2024 - 02 - 20),
    }
}

fn fact_recorded(record: ExternalFactRecord) -> Event {
    Event::ExternalFactRecorded {
        customer_id: cid(1),
        record,
        at: NOW,
    }
}

fn record_fact(record: ExternalFactRecord) -> Command {
    Command::RecordExternalFact { record, now: NOW }
}

#[test]
fn it_records_a_credit_report_summary_with_its_source_and_date() {
    let state = given::<Customer>([registered()])
        .when(record_fact(credit_report(0)))
        .then([fact_recorded(credit_report(0))]);
    assert_eq!(state.external_facts, vec![credit_report(0)]);
}

#[test]
fn it_records_registry_and_tax_facts_beside_a_credit_report() {
    let registry = ExternalFactRecord {
        fact: ExternalFact::BusinessRegistry(RegistryRecord {
            registration_number: text("92361127MA35XXXX1A"),
            status: RegistrationStatus::InOperation,
            registered_capital: Money::from_minor(500_000_000),
            established_on: date!(2016 - 04 - 01),
        }),
        source: text("国家企业信用信息公示系统"),
        as_of: date!(2024 - 02 - 20),
    };
    let tax = ExternalFactRecord {
        fact: ExternalFact::Tax(TaxRecord {
            year: 2023,
            tax_paid: Money::from_minor(120_000_000),
            rating: TaxCreditRating::B,
        }),
        source: text("余干县税务局"),
        as_of: date!(2024 - 02 - 20),
    };
    given::<Customer>([registered(), fact_recorded(credit_report(0))])
        .when(record_fact(registry.clone()))
        .then([fact_recorded(registry.clone())]);
    given::<Customer>([registered(), fact_recorded(credit_report(0))])
        .when(record_fact(tax.clone()))
        .then([fact_recorded(tax)]);
}

#[test]
fn it_ignores_the_same_external_fact_imported_twice() {
    given::<Customer>([registered(), fact_recorded(credit_report(0))])
        .when(record_fact(credit_report(0)))
        .then([]);
}

#[test]
fn it_records_a_later_report_of_the_same_kind() {
    let mut later = credit_report(30);
    later.as_of = date!(2024 - 02 - 28);
    given::<Customer>([registered(), fact_recorded(credit_report(0))])
        .when(record_fact(later.clone()))
        .then([fact_recorded(later)]);
}

#[test]
fn it_rejects_a_different_fact_of_the_same_kind_and_date() {
    given::<Customer>([registered(), fact_recorded(credit_report(0))])
        .when(record_fact(credit_report(30)))
        .then_err(DomainError::conflict(
            "a different credit report as of 2024-02-20 is already recorded",
        ));
}

#[test]
fn it_rejects_an_external_fact_dated_in_the_future() {
    let mut r = credit_report(0);
    r.as_of = date!(2024 - 03 - 02);
    given::<Customer>([registered()])
        .when(record_fact(r))
        .then_err(DomainError::validation(
            "as_of",
            "must not be in the future",
        ));
}

#[test]
fn it_rejects_a_negative_amount_in_an_external_fact() {
    let r = ExternalFactRecord {
        fact: ExternalFact::Tax(TaxRecord {
            year: 2023,
            tax_paid: Money::from_minor(-1),
            rating: TaxCreditRating::A,
        }),
        source: text("税务局"),
        as_of: date!(2024 - 02 - 20),
    };
    given::<Customer>([registered()])
        .when(record_fact(r))
        .then_err(DomainError::validation("tax_paid", "must not be negative"));
}

#[test]
fn it_rejects_bank_facts_for_a_closed_customer() {
    let closed = Event::CustomerClosed {
        customer_id: cid(1),
        reason: text("销户"),
        at: datetime!(2024-02-01 10:00 +8),
    };
    given::<Customer>([registered(), closed])
        .when(record_fact(credit_report(0)))
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "record external fact",
        });
}
