//! Given/when/then tests of the customer aggregate (`super`), and the fixtures other modules'
//! tests share.
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::testing::given;
use crate::values::ResidentIdNumber;
use crate::Aggregate;

pub(crate) const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

pub(crate) fn cid(n: u128) -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(n))
}
pub(crate) fn sid(n: u128) -> StaffId {
    StaffId::from_uuid(Uuid::from_u128(n))
}
pub(crate) fn bid(n: u128) -> BranchId {
    BranchId::from_uuid(Uuid::from_u128(n))
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).expect("test literal is valid")
}

pub(crate) fn profile() -> Profile {
    Profile {
        name: OrgName::parse("张三").expect("test literal is valid"),
        document: IdDocument::ResidentId {
            number: ResidentIdNumber::parse("11010519491231002X").expect("valid sample"),
        },
        phone: Phone::parse("13812345678").ok(),
        address: None,
        region: None,
        birthday: Some(date!(1949 - 12 - 31)),
        occupation: None,
        source_channel: Channel::Counter,
    }
}

pub(crate) fn registered() -> Event {
    Event::CustomerRegistered {
        customer_id: cid(1),
        kind: CustomerKind::Individual,
        profile: profile(),
        lifecycle: Lifecycle::Active,
        at: NOW,
    }
}

fn register_cmd() -> Command {
    Command::Register {
        customer_id: cid(1),
        kind: CustomerKind::Individual,
        profile: profile(),
        as_prospect: false,
        existing_customer_with_same_document: None,
        now: NOW,
    }
}

fn assessed(level: RiskTolerance) -> Event {
    Event::SuitabilityAssessed {
        customer_id: cid(1),
        assessment: SuitabilityAssessment {
            level,
            assessed_on: date!(2024 - 01 - 01),
            expires_on: date!(2026 - 01 - 01),
        },
        at: NOW,
    }
}

fn assignment(branch: u128, manager: Option<u128>) -> Assignment {
    Assignment {
        branch: bid(branch),
        manager: manager.map(sid),
        team: None,
    }
}

fn assigned() -> Event {
    Event::CustomerAssigned {
        customer_id: cid(1),
        to: assignment(10, Some(100)),
        by: sid(1),
        at: NOW,
    }
}

fn transfer_requested() -> Event {
    Event::TransferRequested {
        customer_id: cid(1),
        from: assignment(10, Some(100)),
        to: assignment(20, Some(200)),
        reason: text("customer moved to Shenzhen"),
        by: sid(1),
        at: NOW,
    }
}

fn branch_manager(branch: u128) -> Actor {
    Actor {
        staff_id: sid(900 + branch),
        role: Role::BranchManager,
        scope: Scope::Branch {
            branch: bid(branch),
        },
    }
}

#[test]
fn it_registers_a_new_customer() {
    given::<Customer>([])
        .when(register_cmd())
        .then([registered()]);
}

#[test]
fn it_registers_a_prospect() {
    let mut cmd = register_cmd();
    if let Command::Register { as_prospect, .. } = &mut cmd {
        *as_prospect = true;
    }
    let state = given::<Customer>([])
        .when(cmd)
        .then([Event::CustomerRegistered {
            customer_id: cid(1),
            kind: CustomerKind::Individual,
            profile: profile(),
            lifecycle: Lifecycle::Prospect,
            at: NOW,
        }]);
    assert_eq!(state.lifecycle, Some(Lifecycle::Prospect));
}

#[test]
fn it_rejects_registering_a_customer_whose_document_another_customer_holds() {
    let mut cmd = register_cmd();
    if let Command::Register {
        existing_customer_with_same_document,
        ..
    } = &mut cmd
    {
        *existing_customer_with_same_document = Some(cid(7));
    }
    given::<Customer>([])
        .when(cmd)
        .then_err(DomainError::DuplicateIdentity { existing: cid(7) });
}

#[test]
fn it_rejects_registering_the_same_customer_twice() {
    given::<Customer>([registered()])
        .when(register_cmd())
        .then_err(DomainError::AlreadyExists { entity: "customer" });
}

#[test]
fn it_rejects_an_individual_with_a_business_licence() {
    let mut cmd = register_cmd();
    if let Command::Register { profile, .. } = &mut cmd {
        profile.document = IdDocument::BusinessLicence {
            code: crate::values::UnifiedSocialCreditCode::parse("91350100M000100Y43")
                .expect("valid sample"),
        };
        profile.birthday = None;
    }
    given::<Customer>([])
        .when(cmd)
        .then_err(DomainError::validation(
            "document",
            "an individual needs a resident ID or a passport",
        ));
}

#[test]
fn it_rejects_a_birthday_that_contradicts_the_resident_id() {
    let mut cmd = register_cmd();
    if let Command::Register { profile, .. } = &mut cmd {
        profile.birthday = Some(date!(1950 - 01 - 01));
    }
    given::<Customer>([])
        .when(cmd)
        .then_err(DomainError::validation(
            "birthday",
            "does not match the resident ID number",
        ));
}

#[test]
fn it_rejects_commands_for_an_unknown_customer() {
    given::<Customer>([])
        .when(Command::Activate { now: NOW })
        .then_err(DomainError::NotFound { entity: "customer" });
}

#[test]
fn it_updates_the_profile_and_ignores_an_identical_update() {
    let mut p = profile();
    p.phone = Phone::parse("13900000000").ok();
    given::<Customer>([registered()])
        .when(Command::UpdateProfile {
            profile: p.clone(),
            existing_customer_with_same_document: None,
            now: NOW,
        })
        .then([Event::ProfileUpdated {
            customer_id: cid(1),
            profile: p,
            at: NOW,
        }]);
    given::<Customer>([registered()])
        .when(Command::UpdateProfile {
            profile: profile(),
            existing_customer_with_same_document: Some(cid(1)),
            now: NOW,
        })
        .then([]);
}

#[test]
fn it_marks_a_key_customer() {
    given::<Customer>([registered()])
        .when(Command::MarkKeyCustomer {
            is_key: true,
            now: NOW,
        })
        .then([Event::KeyCustomerMarked {
            customer_id: cid(1),
            is_key: true,
            at: NOW,
        }]);
}

#[test]
fn it_rejects_marking_an_individual_as_a_group_customer() {
    given::<Customer>([registered()])
        .when(Command::MarkGroupCustomer {
            is_group: true,
            now: NOW,
        })
        .then_err(DomainError::validation(
            "is_group",
            "only institutions form groups",
        ));
}

#[test]
fn it_links_group_members_of_an_institution() {
    let inst = Event::CustomerRegistered {
        customer_id: cid(1),
        kind: CustomerKind::Institutional,
        profile: Profile {
            name: OrgName::parse("福建某某集团有限公司").expect("valid"),
            document: IdDocument::BusinessLicence {
                code: crate::values::UnifiedSocialCreditCode::parse("91350100M000100Y43")
                    .expect("valid sample"),
            },
            birthday: None,
            ..profile()
        },
        lifecycle: Lifecycle::Active,
        at: NOW,
    };
    let group = Event::GroupCustomerMarked {
        customer_id: cid(1),
        is_group: true,
        at: NOW,
    };
    let state = given::<Customer>([inst.clone(), group.clone()])
        .when(Command::LinkGroupMember {
            member: cid(2),
            now: NOW,
        })
        .then([Event::GroupMemberLinked {
            customer_id: cid(1),
            member: cid(2),
            at: NOW,
        }]);
    assert!(state.group_members.contains(&cid(2)));
    given::<Customer>([inst, group])
        .when(Command::LinkGroupMember {
            member: cid(1),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "member",
            "a customer cannot be its own group member",
        ));
}

#[test]
fn it_walks_the_lifecycle_from_active_to_dormant_to_churned_and_back() {
    let dormant = Event::CustomerBecameDormant {
        customer_id: cid(1),
        at: NOW,
    };
    given::<Customer>([registered()])
        .when(Command::MarkDormant { now: NOW })
        .then([dormant.clone()]);
    let churned = Event::CustomerChurned {
        customer_id: cid(1),
        reason: ChurnReason::Fees,
        note: Some(text("lower commission elsewhere")),
        at: NOW,
    };
    given::<Customer>([registered(), dormant.clone()])
        .when(Command::MarkChurned {
            reason: ChurnReason::Fees,
            note: Some(text("lower commission elsewhere")),
            now: NOW,
        })
        .then([churned.clone()]);
    let attempt = Event::WinBackAttempted {
        customer_id: cid(1),
        by: sid(100),
        channel: Channel::Phone,
        note: None,
        at: NOW,
    };
    let state = given::<Customer>([registered(), dormant.clone(), churned.clone()])
        .when(Command::RecordWinBackAttempt {
            by: sid(100),
            channel: Channel::Phone,
            note: None,
            now: NOW,
        })
        .then([attempt.clone()]);
    assert_eq!(state.churn_reason, Some(ChurnReason::Fees));
    let state = given::<Customer>([registered(), dormant, churned, attempt])
        .when(Command::Reactivate { now: NOW })
        .then([Event::CustomerReactivated {
            customer_id: cid(1),
            at: NOW,
        }]);
    assert_eq!(state.lifecycle, Some(Lifecycle::Active));
    assert_eq!(state.win_back_attempts.len(), 1);
}

#[test]
fn it_activates_a_prospect() {
    let prospect = Event::CustomerRegistered {
        customer_id: cid(1),
        kind: CustomerKind::Individual,
        profile: profile(),
        lifecycle: Lifecycle::Prospect,
        at: NOW,
    };
    given::<Customer>([prospect])
        .when(Command::Activate { now: NOW })
        .then([Event::CustomerActivated {
            customer_id: cid(1),
            at: NOW,
        }]);
}

#[test]
fn it_rejects_a_win_back_attempt_on_an_active_customer() {
    given::<Customer>([registered()])
        .when(Command::RecordWinBackAttempt {
            by: sid(1),
            channel: Channel::Phone,
            note: None,
            now: NOW,
        })
        .then_err(DomainError::InvalidTransition {
            from: "active",
            command: "record win-back attempt",
        });
}

#[test]
fn it_rejects_reactivating_an_active_customer() {
    given::<Customer>([registered()])
        .when(Command::Reactivate { now: NOW })
        .then_err(DomainError::InvalidTransition {
            from: "active",
            command: "reactivate",
        });
}

fn account_opened() -> Event {
    Event::AccountOpened {
        customer_id: cid(1),
        account_id: AccountId::from_uuid(Uuid::from_u128(50)),
        kind: AccountKind::Securities {
            market: Market::Shanghai,
        },
        number: text("A123456789"),
        at: NOW,
    }
}

#[test]
fn it_opens_and_closes_accounts() {
    let account_id = AccountId::from_uuid(Uuid::from_u128(50));
    given::<Customer>([registered()])
        .when(Command::OpenAccount {
            account_id,
            kind: AccountKind::Securities {
                market: Market::Shanghai,
            },
            number: text("A123456789"),
            now: NOW,
        })
        .then([account_opened()]);
    let state = given::<Customer>([registered(), account_opened()])
        .when(Command::CloseAccount {
            account_id,
            now: NOW,
        })
        .then([Event::AccountClosed {
            customer_id: cid(1),
            account_id,
            at: NOW,
        }]);
    assert!(!state.accounts[&account_id].is_open());
}

#[test]
fn it_rejects_opening_the_same_account_twice() {
    given::<Customer>([registered(), account_opened()])
        .when(Command::OpenAccount {
            account_id: AccountId::from_uuid(Uuid::from_u128(50)),
            kind: AccountKind::Fund,
            number: text("1"),
            now: NOW,
        })
        .then_err(DomainError::AlreadyExists { entity: "account" });
}

#[test]
fn it_rejects_closing_a_customer_with_open_accounts_and_closes_one_without() {
    let reason = text("customer request");
    given::<Customer>([registered(), account_opened()])
        .when(Command::Close {
            reason: reason.clone(),
            now: NOW,
        })
        .then_err(DomainError::conflict(format!(
            "account {} is still open; close all accounts first",
            AccountId::from_uuid(Uuid::from_u128(50))
        )));
    given::<Customer>([registered()])
        .when(Command::Close {
            reason: reason.clone(),
            now: NOW,
        })
        .then([Event::CustomerClosed {
            customer_id: cid(1),
            reason,
            at: NOW,
        }]);
}

#[test]
fn it_rejects_every_command_on_a_closed_customer() {
    let closed = Event::CustomerClosed {
        customer_id: cid(1),
        reason: text("x"),
        at: NOW,
    };
    given::<Customer>([registered(), closed])
        .when(Command::MarkKeyCustomer {
            is_key: true,
            now: NOW,
        })
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "mark key customer",
        });
}

#[test]
fn it_records_a_suitability_assessment() {
    given::<Customer>([registered()])
        .when(Command::RecordSuitability {
            level: RiskTolerance::C3,
            assessed_on: date!(2024 - 01 - 01),
            expires_on: date!(2026 - 01 - 01),
            now: NOW,
        })
        .then([assessed(RiskTolerance::C3)]);
}

#[test]
fn it_rejects_an_assessment_that_expires_before_it_starts() {
    given::<Customer>([registered()])
        .when(Command::RecordSuitability {
            level: RiskTolerance::C3,
            assessed_on: date!(2024 - 01 - 01),
            expires_on: date!(2024 - 01 - 01),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "expires_on",
            "must be after the assessment date",
        ));
}

fn sell(risk: ProductRisk, now: OffsetDateTime) -> Command {
    Command::RecordProductSale {
        product_id: ProductId::from_uuid(Uuid::from_u128(70)),
        product_risk: risk,
        amount: Money::from_minor(100_000_000),
        by: sid(100),
        now,
    }
}

#[test]
fn it_rejects_selling_an_r4_product_to_a_c3_customer() {
    given::<Customer>([registered(), assessed(RiskTolerance::C3)])
        .when(sell(ProductRisk::R4, NOW))
        .then_err(DomainError::SuitabilityViolation {
            customer_level: RiskTolerance::C3,
            product_level: ProductRisk::R4,
        });
}

#[test]
fn it_sells_an_r3_product_to_a_c3_customer() {
    given::<Customer>([registered(), assessed(RiskTolerance::C3)])
        .when(sell(ProductRisk::R3, NOW))
        .then([Event::ProductSold {
            customer_id: cid(1),
            product_id: ProductId::from_uuid(Uuid::from_u128(70)),
            product_risk: ProductRisk::R3,
            customer_level: RiskTolerance::C3,
            amount: Money::from_minor(100_000_000),
            by: sid(100),
            at: NOW,
        }]);
}

#[test]
fn it_rejects_a_sale_when_the_assessment_has_expired() {
    given::<Customer>([registered(), assessed(RiskTolerance::C5)])
        .when(sell(ProductRisk::R1, datetime!(2026-01-01 09:00 +8)))
        .then_err(DomainError::SuitabilityExpired {
            customer: cid(1),
            expired_on: date!(2026 - 01 - 01),
        });
}

#[test]
fn it_rejects_a_recommendation_without_an_assessment() {
    given::<Customer>([registered()])
        .when(Command::RecommendProduct {
            product_id: ProductId::from_uuid(Uuid::from_u128(70)),
            product_risk: ProductRisk::R1,
            by: sid(100),
            now: NOW,
        })
        .then_err(DomainError::SuitabilityMissing { customer: cid(1) });
}

#[test]
fn it_records_a_suitable_recommendation() {
    given::<Customer>([registered(), assessed(RiskTolerance::C2)])
        .when(Command::RecommendProduct {
            product_id: ProductId::from_uuid(Uuid::from_u128(70)),
            product_risk: ProductRisk::R2,
            by: sid(100),
            now: NOW,
        })
        .then([Event::ProductRecommended {
            customer_id: cid(1),
            product_id: ProductId::from_uuid(Uuid::from_u128(70)),
            product_risk: ProductRisk::R2,
            customer_level: RiskTolerance::C2,
            by: sid(100),
            at: NOW,
        }]);
}

#[test]
fn it_assigns_an_unassigned_customer() {
    let state = given::<Customer>([registered()])
        .when(Command::Assign {
            to: assignment(10, Some(100)),
            by: sid(1),
            now: NOW,
        })
        .then([assigned()]);
    assert_eq!(state.assignment_history.len(), 1);
}

#[test]
fn it_rejects_assigning_an_assigned_customer() {
    given::<Customer>([registered(), assigned()])
        .when(Command::Assign {
            to: assignment(10, Some(101)),
            by: sid(1),
            now: NOW,
        })
        .then_err(DomainError::conflict(
            "customer is already assigned; reassign instead",
        ));
}

#[test]
fn it_reassigns_within_a_branch_with_a_reason() {
    let state = given::<Customer>([registered(), assigned()])
        .when(Command::Reassign {
            to: assignment(10, Some(101)),
            reason: text("manager left"),
            by: sid(1),
            now: NOW,
        })
        .then([Event::CustomerReassigned {
            customer_id: cid(1),
            from: assignment(10, Some(100)),
            to: assignment(10, Some(101)),
            reason: text("manager left"),
            by: sid(1),
            approved_by: None,
            at: NOW,
        }]);
    assert_eq!(state.assignment_history.len(), 2);
}

#[test]
fn it_rejects_a_direct_reassignment_across_branches() {
    given::<Customer>([registered(), assigned()])
        .when(Command::Reassign {
            to: assignment(20, None),
            reason: text("moved"),
            by: sid(1),
            now: NOW,
        })
        .then_err(DomainError::conflict(
            "moving a customer to another branch needs a transfer request",
        ));
}

#[test]
fn it_requests_a_transfer_to_another_branch() {
    given::<Customer>([registered(), assigned()])
        .when(Command::RequestTransfer {
            to: assignment(20, Some(200)),
            reason: text("customer moved to Shenzhen"),
            by: sid(1),
            now: NOW,
        })
        .then([transfer_requested()]);
}

#[test]
fn it_rejects_a_second_pending_transfer() {
    given::<Customer>([registered(), assigned(), transfer_requested()])
        .when(Command::RequestTransfer {
            to: assignment(30, None),
            reason: text("x"),
            by: sid(1),
            now: NOW,
        })
        .then_err(DomainError::conflict(
            "a transfer request is already pending",
        ));
}

#[test]
fn it_moves_the_customer_when_the_receiving_branch_manager_approves() {
    let approver = branch_manager(20);
    let state = given::<Customer>([registered(), assigned(), transfer_requested()])
        .when(Command::ApproveTransfer { approver, now: NOW })
        .then([
            Event::TransferApproved {
                customer_id: cid(1),
                to: assignment(20, Some(200)),
                by: approver.staff_id,
                at: NOW,
            },
            Event::CustomerReassigned {
                customer_id: cid(1),
                from: assignment(10, Some(100)),
                to: assignment(20, Some(200)),
                reason: text("customer moved to Shenzhen"),
                by: sid(1),
                approved_by: Some(approver.staff_id),
                at: NOW,
            },
        ]);
    assert_eq!(state.assignment, Some(assignment(20, Some(200))));
    assert_eq!(state.pending_transfer, None);
    assert_eq!(state.assignment_history.len(), 2);
}

#[test]
fn it_rejects_an_approval_by_the_sending_branch_manager() {
    given::<Customer>([registered(), assigned(), transfer_requested()])
        .when(Command::ApproveTransfer {
            approver: branch_manager(10),
            now: NOW,
        })
        .then_err(DomainError::Forbidden {
            missing_right: Right::ApproveTransfer,
        });
}

#[test]
fn it_rejects_an_approval_by_a_customer_manager_of_the_receiving_branch() {
    let cm = Actor {
        staff_id: sid(200),
        role: Role::CustomerManager,
        scope: Scope::Book {
            branch: bid(20),
            team: None,
        },
    };
    given::<Customer>([registered(), assigned(), transfer_requested()])
        .when(Command::ApproveTransfer {
            approver: cm,
            now: NOW,
        })
        .then_err(DomainError::Forbidden {
            missing_right: Right::ApproveTransfer,
        });
}

#[test]
fn it_records_a_rejected_transfer_and_keeps_the_assignment() {
    let approver = branch_manager(20);
    let state = given::<Customer>([registered(), assigned(), transfer_requested()])
        .when(Command::RejectTransfer {
            approver,
            reason: text("no capacity"),
            now: NOW,
        })
        .then([Event::TransferRejected {
            customer_id: cid(1),
            to: assignment(20, Some(200)),
            reason: text("no capacity"),
            by: approver.staff_id,
            at: NOW,
        }]);
    assert_eq!(state.assignment, Some(assignment(10, Some(100))));
    assert_eq!(state.pending_transfer, None);
}

#[test]
fn it_rejects_approving_when_nothing_is_pending() {
    given::<Customer>([registered(), assigned()])
        .when(Command::ApproveTransfer {
            approver: branch_manager(20),
            now: NOW,
        })
        .then_err(DomainError::NotFound {
            entity: "transfer request",
        });
}

#[test]
fn it_merges_a_duplicate_into_the_survivor_and_then_rejects_everything() {
    let merged = Event::CustomerMergedInto {
        customer_id: cid(1),
        survivor: cid(2),
        at: NOW,
    };
    given::<Customer>([registered()])
        .when(Command::MergeInto {
            survivor: cid(2),
            now: NOW,
        })
        .then([merged.clone()]);
    given::<Customer>([registered(), merged.clone()])
        .when(Command::MarkKeyCustomer {
            is_key: true,
            now: NOW,
        })
        .then_err(DomainError::AlreadyMerged { into: cid(2) });
    given::<Customer>([registered(), merged])
        .when(Command::MergeInto {
            survivor: cid(3),
            now: NOW,
        })
        .then_err(DomainError::AlreadyMerged { into: cid(2) });
}

#[test]
fn it_rejects_merging_a_customer_into_itself() {
    given::<Customer>([registered()])
        .when(Command::MergeInto {
            survivor: cid(1),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "survivor",
            "a customer cannot be merged into itself",
        ));
}

#[test]
fn it_absorbs_the_merged_customers_accounts_once() {
    let account = Account {
        kind: AccountKind::Fund,
        number: text("F1"),
        opened_at: NOW,
        closed_at: None,
    };
    let account_id = AccountId::from_uuid(Uuid::from_u128(60));
    let absorbed = Event::CustomerMergeAbsorbed {
        customer_id: cid(1),
        merged: cid(3),
        accounts: vec![(account_id, account.clone())],
        at: NOW,
    };
    let state = given::<Customer>([registered()])
        .when(Command::AbsorbMerged {
            merged: cid(3),
            accounts: vec![(account_id, account.clone())],
            now: NOW,
        })
        .then([absorbed.clone()]);
    assert!(state.accounts.contains_key(&account_id));
    given::<Customer>([registered(), absorbed])
        .when(Command::AbsorbMerged {
            merged: cid(3),
            accounts: vec![(account_id, account)],
            now: NOW,
        })
        .then([]);
}

#[test]
fn it_plans_a_merge_as_one_command_per_stream_moving_open_accounts() {
    let survivor = Customer::replay(&[registered()]);
    let dup = Event::CustomerRegistered {
        customer_id: cid(2),
        kind: CustomerKind::Individual,
        profile: profile(),
        lifecycle: Lifecycle::Active,
        at: NOW,
    };
    let dup_account = Event::AccountOpened {
        customer_id: cid(2),
        account_id: AccountId::from_uuid(Uuid::from_u128(50)),
        kind: AccountKind::Fund,
        number: text("F1"),
        at: NOW,
    };
    let merged = Customer::replay(&[dup, dup_account]);
    let (absorb, merge) = plan_merge(&survivor, &merged, NOW).expect("both exist");
    assert_eq!(
        merge,
        Command::MergeInto {
            survivor: cid(1),
            now: NOW
        }
    );
    let Command::AbsorbMerged {
        merged: m,
        accounts,
        ..
    } = &absorb
    else {
        panic!("expected AbsorbMerged, got {absorb:?}");
    };
    assert_eq!((*m, accounts.len()), (cid(2), 1));
    let survivor = given::<Customer>([registered()]).when(absorb).then_ok();
    assert_eq!(survivor.accounts.len(), 1);
    assert_eq!(
        plan_merge(&survivor, &survivor, NOW),
        Err(DomainError::validation(
            "merged",
            "a customer cannot absorb itself"
        ))
    );
}

#[test]
fn customer_events_name_their_stream_in_simple_uuid_form() {
    use crate::DomainEvent;
    let e = registered();
    assert_eq!(e.event_type(), "CustomerRegistered");
    assert_eq!(e.schema_version(), 1);
    assert_eq!(e.stream_name(), "customer-00000000000000000000000000000001");
    assert_eq!(e.stream_name(), crate::stream_name("customer", &cid(1)));
}

fn flag_cmd() -> Command {
    Command::FlagAtRisk {
        reason: ChurnReason::Competitor,
        note: Some(text("asked about another broker's fees")),
        by: sid(100),
        now: NOW,
    }
}

fn flagged() -> Event {
    Event::CustomerFlaggedAtRisk {
        customer_id: cid(1),
        reason: ChurnReason::Competitor,
        note: Some(text("asked about another broker's fees")),
        by: sid(100),
        at: NOW,
    }
}

#[test]
fn a_customer_is_flagged_at_risk_without_churning_and_the_flag_is_cleared() {
    let state = given::<Customer>([registered()])
        .when(flag_cmd())
        .then([flagged()]);
    assert_eq!(state.lifecycle, Some(Lifecycle::Active));
    assert_eq!(state.churn_reason, None);
    assert_eq!(
        state.at_risk.as_ref().map(|f| (f.by, f.reason)),
        Some((sid(100), ChurnReason::Competitor))
    );
    let state = given::<Customer>([registered(), flagged()])
        .when(Command::ClearAtRiskFlag {
            by: sid(7),
            now: NOW,
        })
        .then([Event::CustomerAtRiskFlagCleared {
            customer_id: cid(1),
            by: sid(7),
            at: NOW,
        }]);
    assert_eq!(state.at_risk, None);
    // Clearing an unflagged customer records nothing.
    given::<Customer>([registered()])
        .when(Command::ClearAtRiskFlag {
            by: sid(7),
            now: NOW,
        })
        .then([]);
}

#[test]
fn a_flag_on_a_flagged_customer_is_a_conflict() {
    let result = Customer::decide(&given_state([registered(), flagged()]), flag_cmd());
    assert!(
        matches!(result, Err(DomainError::Conflict { .. })),
        "{result:?}"
    );
}

#[test]
fn a_churned_closed_or_merged_customer_cannot_be_flagged() {
    let churned = Event::CustomerChurned {
        customer_id: cid(1),
        reason: ChurnReason::Fees,
        note: None,
        at: NOW,
    };
    given::<Customer>([registered(), churned])
        .when(flag_cmd())
        .then_err(DomainError::InvalidTransition {
            from: "churned",
            command: "flag at risk",
        });
    let closed = Event::CustomerClosed {
        customer_id: cid(1),
        reason: text("moved abroad"),
        at: NOW,
    };
    given::<Customer>([registered(), closed])
        .when(flag_cmd())
        .then_err(DomainError::InvalidTransition {
            from: "closed",
            command: "flag at risk",
        });
    let merged = Event::CustomerMergedInto {
        customer_id: cid(1),
        survivor: cid(2),
        at: NOW,
    };
    given::<Customer>([registered(), merged])
        .when(flag_cmd())
        .then_err(DomainError::AlreadyMerged { into: cid(2) });
}

#[test]
fn churn_recorded_by_management_clears_the_flag() {
    let state = given::<Customer>([registered(), flagged()])
        .when(Command::MarkChurned {
            reason: ChurnReason::Competitor,
            note: None,
            now: NOW,
        })
        .then_ok();
    assert_eq!(state.at_risk, None);
    assert_eq!(state.churn_reason, Some(ChurnReason::Competitor));
}

/// A note longer than [`ShortText`]'s bound cannot reach the command.
#[test]
fn a_flag_note_is_bounded() {
    assert!(ShortText::parse(&"长".repeat(201)).is_err());
    assert!(ShortText::parse(&"长".repeat(200)).is_ok());
}

fn given_state(events: impl IntoIterator<Item = Event>) -> State {
    events
        .into_iter()
        .fold(State::default(), |s, e| Customer::evolve(s, &e))
}
