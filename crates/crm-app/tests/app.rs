//! Command handling through `crm-app` on a real store: authorization by role and scope,
//! identity resolution, retries under contention, merges, rules' signers. Idempotency by
//! command id is in `command_ids.rs`.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;
use common::*;

use crm_app::{AppCommand, AppError};
use crm_domain::auth::{Actor, Right, Role, Scope};
use crm_domain::customer::{self, Assignment, CustomerKind};
use crm_domain::ids::{ProductId, StaffId};
use crm_domain::risk::{ProductRisk, RiskTolerance};
use crm_domain::values::{Channel, OrgName, ShortText};
use crm_domain::{access, branch, opportunity, region, DomainError, Money};
use time::macros::date;
use uuid::Uuid;

#[tokio::test]
async fn a_registered_and_assigned_customer_is_in_the_log_with_its_history() {
    let w = World::new().await;
    let c = w.customer(1);
    assert_eq!(c.assignment.map(|a| a.branch), Some(branch_id(1)));
    assert_eq!(c.assignment_history.len(), 1);
}

#[tokio::test]
async fn registering_a_second_customer_with_the_same_id_document_names_the_first() {
    let w = World::new().await;
    let duplicate = w
        .run(
            hq(),
            AppCommand::Customer {
                customer: customer_id(99),
                command: customer::Command::Register {
                    customer_id: customer_id(99),
                    kind: CustomerKind::Individual,
                    profile: profile(1),
                    as_prospect: false,
                    existing_customer_with_same_document: None, // the app fills this in
                    now: NOW,
                },
            },
        )
        .await;
    match duplicate {
        Err(AppError::Domain(DomainError::DuplicateIdentity { existing })) => {
            assert_eq!(existing, customer_id(1))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_customer_manager_works_only_on_their_own_book() {
    let w = World::new().await;
    let own = w.run(
        customer_manager(1, 1),
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::MarkKeyCustomer {
                is_key: true,
                now: NOW,
            },
        },
    );
    assert!(own.await.is_ok());
    let other = w.run(
        customer_manager(2, 1),
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::MarkKeyCustomer {
                is_key: false,
                now: NOW,
            },
        },
    );
    assert_eq!(forbidden(other.await), Right::WriteCustomer);
}

#[tokio::test]
async fn an_auditor_can_write_nothing() {
    let w = World::new().await;
    let r = w.run(
        auditor(),
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::MarkKeyCustomer {
                is_key: true,
                now: NOW,
            },
        },
    );
    assert_eq!(forbidden(r.await), Right::WriteCustomer);
    assert_eq!(
        forbidden(w.register(auditor(), 5).await),
        Right::RegisterCustomer
    );
}

#[tokio::test]
async fn a_command_naming_someone_else_as_the_actor_is_refused() {
    let w = World::new().await;
    let r = w
        .run(
            branch_manager(1),
            AppCommand::Customer {
                customer: customer_id(1),
                command: customer::Command::Reassign {
                    to: Assignment {
                        branch: branch_id(1),
                        manager: Some(staff(1002)),
                        team: None,
                    },
                    reason: ShortText::parse("rebalancing").unwrap(),
                    by: staff(1), // HQ's id, not the sender's
                    now: NOW,
                },
            },
        )
        .await;
    assert!(
        matches!(
            r,
            Err(AppError::Domain(DomainError::Validation {
                field: "by",
                ..
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_cross_branch_transfer_is_approved_only_by_the_receiving_branch_manager() {
    let w = World::new().await;
    let bm1 = branch_manager(1);
    w.ok(
        bm1,
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::RequestTransfer {
                to: Assignment {
                    branch: branch_id(2),
                    manager: None,
                    team: None,
                },
                reason: ShortText::parse("customer moved to another city").unwrap(),
                by: bm1.staff_id,
                now: NOW,
            },
        },
    )
    .await;
    let wrong = w.run(
        bm1,
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::ApproveTransfer {
                approver: bm1,
                now: NOW,
            },
        },
    );
    assert_eq!(forbidden(wrong.await), Right::ApproveTransfer);
    let bm2 = branch_manager(2);
    w.ok(
        bm2,
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::ApproveTransfer {
                approver: bm2,
                now: NOW,
            },
        },
    )
    .await;
    assert_eq!(
        w.customer(1).assignment.map(|a| a.branch),
        Some(branch_id(2))
    );
}

#[tokio::test]
async fn selling_a_product_above_the_customers_risk_level_is_refused() {
    let w = World::new().await;
    let cm = customer_manager(1, 1);
    let assess = AppCommand::Customer {
        customer: customer_id(1),
        command: customer::Command::RecordSuitability {
            level: RiskTolerance::C3,
            assessed_on: date!(2024 - 01 - 01),
            expires_on: date!(2026 - 01 - 01),
            now: NOW,
        },
    };
    // The customer's own manager does not rate the risk the customer may bear.
    assert_eq!(
        forbidden(w.run(cm, assess.clone()).await),
        Right::AssessSuitability
    );
    w.ok(branch_manager(1), assess).await;
    // The catalogue rates the product R4.
    let product = ProductId::from(id(0xF));
    w.ok(
        hq(),
        AppCommand::Product {
            product,
            command: crm_domain::product::Command::Launch {
                product_id: product,
                name: OrgName::parse("股票期权").unwrap(),
                kind: crm_domain::product::ProductKind::MarginTrading,
                risk: ProductRisk::R4,
                now: NOW,
            },
        },
    )
    .await;
    let sale = |risk| AppCommand::Customer {
        customer: customer_id(1),
        command: customer::Command::RecordProductSale {
            product_id: product,
            product_risk: risk,
            amount: Money::parse("10000").unwrap(),
            by: cm.staff_id,
            now: NOW,
        },
    };
    let refused = w.run(cm, sale(ProductRisk::R4)).await;
    assert!(
        matches!(
            refused,
            Err(AppError::Domain(DomainError::SuitabilityViolation { .. }))
        ),
        "{refused:?}"
    );
    // Claiming a lower level for it does not get past the check.
    match w.run(cm, sale(ProductRisk::R1)).await {
        Err(AppError::Domain(DomainError::Validation { field, reason })) => {
            assert_eq!(field, "productRisk");
            assert!(reason.contains("R4"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A product the catalogue does not hold cannot be sold at all.
    let unknown = AppCommand::Customer {
        customer: customer_id(1),
        command: customer::Command::RecordProductSale {
            product_id: ProductId::from(id(0xE)),
            product_risk: ProductRisk::R1,
            amount: Money::parse("10000").unwrap(),
            by: cm.staff_id,
            now: NOW,
        },
    };
    assert!(matches!(
        w.run(cm, unknown).await,
        Err(AppError::Domain(DomainError::NotFound {
            entity: "product"
        }))
    ));
}

#[tokio::test]
async fn merging_records_both_streams_and_the_merged_customer_accepts_nothing_more() {
    let w = World::new().await;
    w.register(hq(), 2).await.unwrap();
    let outcome = w
        .ok(
            hq(),
            AppCommand::MergeCustomers {
                survivor: customer_id(1),
                merged: customer_id(2),
            },
        )
        .await;
    let streams: Vec<_> = outcome.events.iter().map(|e| e.stream.clone()).collect();
    assert!(streams
        .iter()
        .any(|s| s.ends_with(&customer_id(2).to_string())));
    assert!(streams
        .iter()
        .any(|s| s.ends_with(&customer_id(1).to_string())));
    assert_eq!(w.customer(2).merged_into, Some(customer_id(1)));
    let after = w.run(
        hq(),
        AppCommand::Customer {
            customer: customer_id(2),
            command: customer::Command::MarkKeyCustomer {
                is_key: true,
                now: NOW,
            },
        },
    );
    assert!(
        matches!(after.await, Err(AppError::Domain(DomainError::AlreadyMerged { into })) if into == customer_id(1))
    );
    // The merged customer's document now identifies the survivor.
    match w
        .run(
            hq(),
            AppCommand::Customer {
                customer: customer_id(3),
                command: customer::Command::Register {
                    customer_id: customer_id(3),
                    kind: CustomerKind::Individual,
                    profile: profile(2),
                    as_prospect: false,
                    existing_customer_with_same_document: None,
                    now: NOW,
                },
            },
        )
        .await
    {
        Err(AppError::Domain(DomainError::DuplicateIdentity { existing })) => {
            assert_eq!(existing, customer_id(1))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_actors_racing_to_reassign_one_customer_both_get_a_clean_answer_in_order() {
    let w = World::new().await;
    let bm = branch_manager(1);
    let mut tasks = Vec::new();
    for n in 0..2u128 {
        let app = w.app.clone();
        tasks.push(tokio::spawn(async move {
            app.execute(envelope(
                bm,
                AppCommand::Customer {
                    customer: customer_id(1),
                    command: customer::Command::Reassign {
                        to: Assignment {
                            branch: branch_id(1),
                            manager: Some(staff(2000 + n)),
                            team: None,
                        },
                        reason: ShortText::parse("rebalancing").unwrap(),
                        by: bm.staff_id,
                        now: NOW,
                    },
                },
            ))
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::Contention { .. }) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert!(ok >= 1);
    let c = w.customer(1);
    // Each winner decided on the state the other left: history is a clean sequence.
    assert_eq!(c.assignment_history.len(), 1 + ok);
    let revisions = revisions(
        &w.app,
        &crm_app::stream_of::<customer::Customer>(&customer_id(1)).unwrap(),
    );
    assert_eq!(revisions, (0..revisions.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_based_batch_assignment_deals_customers_round_robin_and_can_be_resent() {
    use crm_domain::assignment::{plan_round_robin, BatchRule, CandidateSummary};
    use crm_domain::ids::TeamId;
    let w = World::new().await;
    for n in 10..16 {
        w.register(hq(), n).await.unwrap();
    }
    // Assets come from the read side; here they are given.
    let candidates: Vec<CandidateSummary> = (10..16u128)
        .map(|n| CandidateSummary {
            customer_id: customer_id(n),
            assignment: None,
            assets: Money::from_minor(n as i64 * 1_000_000_000),
        })
        .collect();
    let rule = BatchRule {
        branch: branch_id(1),
        assets_above: Money::from_minor(11_500_000_000),
    };
    let members = [staff(3001), staff(3002)];
    let plan = plan_round_robin(&candidates, &rule, TeamId::from(id(0x7_0001)), &members).unwrap();
    assert_eq!(
        plan.len(),
        4,
        "customers 12..=15 hold more than the threshold"
    );
    let batch = Uuid::now_v7();
    let bm = branch_manager(1);
    let results = w
        .app
        .assign_batch(bm, batch, &plan, ShortText::parse("new team").unwrap(), NOW)
        .await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let managers: Vec<_> = (12..16u128)
        .map(|n| w.customer(n).assignment.and_then(|a| a.manager))
        .collect();
    assert_eq!(
        managers.iter().filter(|m| **m == Some(staff(3001))).count(),
        2
    );
    assert_eq!(
        managers.iter().filter(|m| **m == Some(staff(3002))).count(),
        2
    );
    assert_eq!(w.customer(10).assignment, None, "below the threshold");
    // Sending the same batch again writes nothing.
    let head = w.app.store().head();
    let again = w
        .app
        .assign_batch(bm, batch, &plan, ShortText::parse("new team").unwrap(), NOW)
        .await;
    assert!(again
        .iter()
        .all(|r| r.as_ref().is_ok_and(|o| o.already_handled)));
    assert_eq!(w.app.store().head(), head);
}

// ---------------------------------------------------------------- rules: real signers, one set

fn operator(n: u128) -> Actor {
    Actor {
        staff_id: staff(9000 + n),
        role: Role::Operator,
        scope: Scope::Company,
    }
}

fn rule_set(n: u128) -> crm_domain::ids::RuleSetId {
    crm_domain::ids::RuleSetId::from(id(0xE_0000 + n))
}

fn rules_command(set: u128, command: crm_domain::rules::Command) -> AppCommand {
    AppCommand::Rules {
        rule_set: rule_set(set),
        command,
    }
}

fn propose(set: u128, version: u32, by: StaffId) -> AppCommand {
    let content = format!("version = {version}\n");
    rules_command(
        set,
        crm_domain::rules::Command::Propose {
            rule_set_id: rule_set(set),
            version,
            content_hash: blake3::hash(content.as_bytes()).to_hex().to_string(),
            content,
            by,
            now: NOW,
        },
    )
}

fn approve(set: u128, version: u32, by: StaffId) -> AppCommand {
    rules_command(
        set,
        crm_domain::rules::Command::Approve {
            version,
            by,
            now: NOW,
        },
    )
}

impl World {
    async fn hire(&self, actor: Actor) {
        self.ok(
            hq(),
            AppCommand::Staff {
                staff: actor.staff_id,
                command: crm_domain::staff::Command::Join {
                    staff_id: actor.staff_id,
                    name: crm_domain::values::PersonName::parse("运维").unwrap(),
                    role: actor.role,
                    scope: actor.scope,
                    now: NOW,
                },
            },
        )
        .await;
    }
}

fn standing(
    result: Result<crm_app::CommandOutcome, AppError>,
) -> crm_domain::auth::StandingProblem {
    match result {
        Err(AppError::Domain(DomainError::Standing { problem, .. })) => problem,
        other => panic!("expected a standing refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn rules_are_signed_only_by_operators_the_staff_directory_knows_now() {
    use crm_domain::auth::StandingProblem;
    let w = World::new().await;
    // Given an operator token for someone who never joined: refused, nothing written.
    let ghost = operator(1);
    assert_eq!(
        standing(w.run(ghost, propose(1, 2, ghost.staff_id)).await),
        StandingProblem::Unknown
    );
    // Given two operators in the directory: one proposes, the other approves.
    let (first, second) = (operator(2), operator(3));
    w.hire(first).await;
    w.hire(second).await;
    w.ok(first, propose(1, 2, first.staff_id)).await;
    // A token minted for an operator who has since become an auditor cannot approve.
    w.ok(
        hq(),
        AppCommand::Staff {
            staff: second.staff_id,
            command: crm_domain::staff::Command::ChangeRole {
                role: Role::Auditor,
                scope: Scope::Company,
                now: NOW,
            },
        },
    )
    .await;
    assert_eq!(
        standing(w.run(second, approve(1, 2, second.staff_id)).await),
        StandingProblem::RoleOrScopeChanged
    );
    // Nor can one who left.
    let third = operator(4);
    w.hire(third).await;
    w.ok(
        hq(),
        AppCommand::Staff {
            staff: third.staff_id,
            command: crm_domain::staff::Command::Leave {
                reason: ShortText::parse("离职").unwrap(),
                now: NOW,
            },
        },
    )
    .await;
    assert_eq!(
        standing(w.run(third, approve(1, 2, third.staff_id)).await),
        StandingProblem::Left
    );
    // A current operator who did not propose approves.
    let fourth = operator(5);
    w.hire(fourth).await;
    w.ok(fourth, approve(1, 2, fourth.staff_id)).await;
}

#[tokio::test]
async fn versions_are_proposed_in_the_company_rule_set_only() {
    let w = World::new().await;
    let op = operator(1);
    w.hire(op).await;
    w.ok(op, propose(1, 2, op.staff_id)).await;
    // The same version number under a new rule set id would give the number a second content.
    match w.run(op, propose(2, 2, op.staff_id)).await {
        Err(AppError::Domain(DomainError::Conflict { reason })) => {
            assert!(reason.contains("company's rules"), "{reason}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // In the company's set the next version is fine.
    w.ok(op, propose(1, 3, op.staff_id)).await;
}

// ---------------------------------------------------------------- grants against the target

#[tokio::test]
async fn a_branch_manager_grants_nothing_beyond_their_branch_and_role() {
    let w = World::new().await;
    let bm = branch_manager(1);
    // Given a customer manager hired by the branch manager into their own branch.
    let cm = customer_manager(50, 1);
    w.ok(
        bm,
        AppCommand::Staff {
            staff: cm.staff_id,
            command: crm_domain::staff::Command::Join {
                staff_id: cm.staff_id,
                name: crm_domain::values::PersonName::parse("李四").unwrap(),
                role: cm.role,
                scope: cm.scope,
                now: NOW,
            },
        },
    )
    .await;
    // When the branch manager promotes them to headquarters, company-wide: refused.
    let promote = |role, scope| AppCommand::Staff {
        staff: cm.staff_id,
        command: crm_domain::staff::Command::ChangeRole {
            role,
            scope,
            now: NOW,
        },
    };
    for (role, scope) in [
        (Role::Headquarters, Scope::Company),
        (Role::Operator, Scope::Company),
        (
            Role::BranchManager,
            Scope::Branch {
                branch: branch_id(2),
            },
        ),
    ] {
        match w.run(bm, promote(role, scope)).await {
            Err(AppError::Domain(DomainError::BeyondOwnAuthority { .. })) => {}
            other => panic!("{role:?} {scope:?}: expected a refusal, got {other:?}"),
        }
    }
    // Headquarters may.
    w.ok(hq(), promote(Role::Headquarters, Scope::Company))
        .await;
}

#[tokio::test]
async fn a_branch_manager_cannot_move_their_branch_to_another_region() {
    let w = World::new().await;
    w.ok(
        hq(),
        AppCommand::Region {
            region: region_id(2),
            command: region::Command::Establish {
                region_id: region_id(2),
                name: OrgName::parse("华南").unwrap(),
                now: NOW,
            },
        },
    )
    .await;
    let move_to = |r| AppCommand::Branch {
        branch: branch_id(1),
        command: branch::Command::MoveToRegion {
            region_id: region_id(r),
            now: NOW,
        },
    };
    assert!(matches!(
        w.run(branch_manager(1), move_to(2)).await,
        Err(AppError::Domain(DomainError::Forbidden { .. }))
    ));
    w.ok(hq(), move_to(2)).await;
}

#[tokio::test]
async fn a_lead_needs_its_customer_in_the_callers_scope() {
    let w = World::new().await;
    let lead = |n: u128, owner: StaffId| AppCommand::Opportunity {
        opportunity: id(0x1EAD + n).into(),
        command: opportunity::Command::CreateLead {
            opportunity_id: id(0x1EAD + n).into(),
            customer_id: customer_id(1),
            product_id: None,
            expected_amount: Money::parse("10000").unwrap(),
            owner,
            source: Channel::Counter,
            title: ShortText::parse("理财需求").unwrap(),
            now: NOW,
        },
    };
    // Customer 1 is customer manager 1's, in branch 1: a manager of branch 2 may not.
    let other = customer_manager(2, 2);
    assert!(matches!(
        w.run(other, lead(1, other.staff_id)).await,
        Err(AppError::Domain(DomainError::Forbidden { .. }))
    ));
    let own = customer_manager(1, 1);
    w.ok(own, lead(2, own.staff_id)).await;
}

/// A summary for customer 1's account on `day`, with `commission` in minor units.
fn daily(day: time::Date, commission: i64) -> crm_domain::account::DailyTradeSummary {
    crm_domain::account::DailyTradeSummary {
        trade_date: day,
        customer_id: customer_id(1),
        turnover: vec![],
        commission: Money::from_minor(commission),
        deposits: Money::ZERO,
        withdrawals: Money::ZERO,
        end_of_day_assets: Money::from_minor(1_000_000),
        holdings: vec![],
        realised_pnl: Money::ZERO,
        unrealised_pnl: Money::ZERO,
    }
}

fn record_daily(summary: crm_domain::account::DailyTradeSummary, correction: bool) -> AppCommand {
    let account = crm_domain::ids::AccountId::from_uuid(id(900));
    AppCommand::Account {
        account,
        command: crm_domain::account::Command::RecordDailySummary {
            account_id: account,
            summary,
            correction,
            now: NOW,
        },
    }
}

#[tokio::test]
async fn an_account_day_past_the_kept_days_is_read_back_to_ignore_a_resend_and_to_correct_it() {
    use crm_domain::account::{Event, DAYS_KEPT};
    let w = World::new().await;
    let first = date!(2024 - 01 - 01);
    let days = DAYS_KEPT as i64 + 9;
    for n in 0..days {
        w.ok(
            hq(),
            record_daily(daily(first + time::Duration::days(n), 100), false),
        )
        .await;
    }
    // A command side with nothing cached loads the state from the log: the first day is no
    // longer kept in full.
    let app = crm_app::App::new(w.app.store().clone()).unwrap();
    let stream = crm_app::stream_of::<crm_domain::account::Account>(
        &crm_domain::ids::AccountId::from_uuid(id(900)),
    )
    .unwrap();
    let (state, _) = app.load::<crm_domain::account::Account>(&stream).unwrap();
    assert_eq!(state.days.len(), DAYS_KEPT);
    assert!(!state.days.contains_key(&first));
    // The same summary again: read back, found equal, nothing written.
    let resent = app
        .execute(envelope(hq(), record_daily(daily(first, 100), false)))
        .await
        .unwrap();
    assert!(resent.events.is_empty());
    // Other figures without the flag: refused as before.
    let refused = app
        .execute(envelope(hq(), record_daily(daily(first, 7), false)))
        .await;
    assert!(
        matches!(refused, Err(AppError::Domain(DomainError::Conflict { .. }))),
        "{refused:?}"
    );
    // A correction carries the figures it replaces, read back from the log.
    let corrected = app
        .execute(envelope(hq(), record_daily(daily(first, 7), true)))
        .await
        .unwrap();
    let last = app
        .store()
        .read_stream(
            &stream,
            crm_eventstore::StreamStart::End,
            crm_eventstore::Direction::Backwards,
            1,
        )
        .unwrap();
    let event: Event = crm_eventstore::codec::decode(&last[0].payload).unwrap();
    assert_eq!(corrected.events.len(), 1);
    match event {
        Event::DailyTradeSummaryCorrected {
            previous, summary, ..
        } => {
            assert_eq!(previous.commission, Money::from_minor(100));
            assert_eq!(summary.commission, Money::from_minor(7));
        }
        other => panic!("expected a correction, got {other:?}"),
    }
}

/// A staff member's access log is a journal (`Aggregate::JOURNAL`): 64 views recorded at once
/// by one person (a screen pop per call, many calls at a time) all land, none conflicts with
/// another, and the stream holds each once, revisions in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_views_recorded_at_once_by_one_person_all_land_in_their_access_log() {
    let w = World::new().await;
    let hq = hq();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let app = w.app.clone();
        tasks.push(tokio::spawn(async move {
            app.execute(envelope(
                hq,
                AppCommand::Access {
                    staff: hq.staff_id,
                    command: access::Command::RecordPiiView {
                        staff_id: hq.staff_id,
                        customer_id: customer_id(1),
                        fields: vec![access::PiiField::Phone],
                        purpose: "来电咨询".into(),
                        now: NOW,
                    },
                },
            ))
            .await
        }));
    }
    for t in tasks {
        let outcome = t.await.unwrap().expect("recorded");
        assert!(!outcome.already_handled);
    }
    let stream = crm_app::stream_of::<access::AccessLog>(&hq.staff_id).unwrap();
    assert_eq!(revisions(&w.app, &stream), (0..64).collect::<Vec<_>>());
}

/// The revisions a stream holds, in order (its first 100).
fn revisions(app: &crm_app::App, stream: &crm_eventstore::StreamName) -> Vec<u64> {
    app.store()
        .read_stream(
            stream,
            crm_eventstore::StreamStart::Start,
            crm_eventstore::Direction::Forwards,
            100,
        )
        .unwrap()
        .iter()
        .map(|e| e.revision)
        .collect()
}
