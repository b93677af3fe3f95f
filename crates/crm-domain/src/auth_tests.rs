//! Tests of the authorization policy (`super`): rights by role and scope, grants, standing,
//! tokens, churn, lookups, seals.
use uuid::Uuid;

use super::*;

#[test]
fn no_one_grants_a_role_or_scope_beyond_their_own() {
    let f = fixture();
    let bm = Actor {
        staff_id: StaffId::from_uuid(id(300)),
        role: Role::BranchManager,
        scope: Scope::Branch { branch: f.branch_a },
    };
    let book = Scope::Book {
        branch: f.branch_a,
        team: None,
    };
    // Given a branch manager: a customer manager in their branch is theirs to appoint.
    assert_eq!(
        check_grant(&bm, Role::CustomerManager, book, &f.org),
        Ok(())
    );
    assert_eq!(
        check_grant(
            &bm,
            Role::BranchManager,
            Scope::Branch { branch: f.branch_a },
            &f.org
        ),
        Ok(())
    );
    // Not headquarters, an auditor, an operator, a region manager, nor another branch.
    for (role, scope) in [
        (Role::Headquarters, Scope::Company),
        (Role::Auditor, Scope::Company),
        (Role::Operator, Scope::Company),
        (Role::RegionManager, Scope::Region { region: f.region }),
        (
            Role::CustomerManager,
            Scope::Book {
                branch: f.branch_b,
                team: None,
            },
        ),
    ] {
        assert!(
            matches!(
                check_grant(&bm, role, scope, &f.org),
                Err(DomainError::BeyondOwnAuthority { .. })
            ),
            "{role:?} {scope:?}"
        );
    }
    // A region manager covers the branches of their region only.
    let rm = Actor {
        staff_id: StaffId::from_uuid(id(301)),
        role: Role::RegionManager,
        scope: Scope::Region { region: f.region },
    };
    assert!(scope_covers(
        rm.scope,
        Scope::Branch { branch: f.branch_b },
        &f.org
    ));
    assert!(!scope_covers(
        rm.scope,
        Scope::Branch {
            branch: f.other_region_branch
        },
        &f.org
    ));
    assert_eq!(
        check_grant(
            &rm,
            Role::BranchManager,
            Scope::Branch { branch: f.branch_b },
            &f.org
        ),
        Ok(())
    );
    // Headquarters appoints anyone anywhere.
    let hq = Actor {
        staff_id: StaffId::from_uuid(id(302)),
        role: Role::Headquarters,
        scope: Scope::Company,
    };
    assert_eq!(
        check_grant(&hq, Role::Operator, Scope::Company, &f.org),
        Ok(())
    );
}

#[test]
fn the_directory_backs_an_actor_only_while_they_hold_the_role_and_scope() {
    let actor = Actor {
        staff_id: StaffId::from_uuid(Uuid::from_u128(5)),
        role: Role::Operator,
        scope: Scope::Company,
    };
    let holds = Standing {
        role: Role::Operator,
        scope: Scope::Company,
        left: false,
    };
    // Given the directory holds them as the token says: backed.
    assert_eq!(check_standing(&actor, Some(&holds)), Ok(()));
    // Unknown, left, or moved to another role or scope: refused, saying which.
    for (standing, problem) in [
        (None, StandingProblem::Unknown),
        (
            Some(Standing {
                left: true,
                ..holds
            }),
            StandingProblem::Left,
        ),
        (
            Some(Standing {
                role: Role::Auditor,
                ..holds
            }),
            StandingProblem::RoleOrScopeChanged,
        ),
        (
            Some(Standing {
                scope: Scope::Region {
                    region: RegionId::from_uuid(Uuid::from_u128(9)),
                },
                ..holds
            }),
            StandingProblem::RoleOrScopeChanged,
        ),
    ] {
        assert_eq!(
            check_standing(&actor, standing.as_ref()),
            Err(DomainError::Standing {
                staff: actor.staff_id,
                problem
            })
        );
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

struct Fixture {
    org: OrgTree,
    region: RegionId,
    branch_a: BranchId,
    branch_b: BranchId,
    other_region_branch: BranchId,
    team: TeamId,
}

fn fixture() -> Fixture {
    let region = RegionId::from_uuid(id(1));
    let branch_a = BranchId::from_uuid(id(10));
    let branch_b = BranchId::from_uuid(id(11));
    let other_region_branch = BranchId::from_uuid(id(20));
    let mut org = OrgTree::default();
    org.branch_regions.insert(branch_a, region);
    org.branch_regions.insert(branch_b, region);
    org.branch_regions
        .insert(other_region_branch, RegionId::from_uuid(id(2)));
    Fixture {
        org,
        region,
        branch_a,
        branch_b,
        other_region_branch,
        team: TeamId::from_uuid(id(30)),
    }
}

fn actor(n: u128, role: Role, scope: Scope) -> Actor {
    Actor {
        staff_id: StaffId::from_uuid(id(n)),
        role,
        scope,
    }
}

#[test]
fn a_token_stands_while_the_directory_backs_it_and_no_revocation_followed_it() {
    let f = fixture();
    let cm = actor(
        7,
        Role::CustomerManager,
        Scope::Book {
            branch: f.branch_a,
            team: None,
        },
    );
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).unwrap();
    let holds = TokenStanding {
        role: cm.role,
        scope: cm.scope,
        left: false,
        tokens_valid_from: None,
    };
    let full = || false;
    assert_eq!(check_token(&cm, 1_000, Some(&holds), full), Ok(()));
    // Unknown: refused once anyone has joined, accepted while nobody has (bootstrap).
    assert_eq!(
        check_token(&cm, 1_000, None, full),
        Err(StandingProblem::Unknown)
    );
    assert_eq!(check_token(&cm, 1_000, None, || true), Ok(()));
    let left = TokenStanding {
        left: true,
        ..holds
    };
    assert_eq!(
        check_token(&cm, 1_000, Some(&left), full),
        Err(StandingProblem::Left)
    );
    let moved = TokenStanding {
        scope: Scope::Book {
            branch: f.branch_b,
            team: None,
        },
        ..holds
    };
    assert_eq!(
        check_token(&cm, 1_000, Some(&moved), full),
        Err(StandingProblem::RoleOrScopeChanged)
    );
    // Revoked at 1,000.5: tokens issued up to second 1,000 are refused, later ones stand.
    let revoked = TokenStanding {
        tokens_valid_from: Some(at(1_000) + time::Duration::milliseconds(500)),
        ..holds
    };
    for issued in [999, 1_000] {
        assert_eq!(
            check_token(&cm, issued, Some(&revoked), full),
            Err(StandingProblem::Revoked)
        );
    }
    assert_eq!(check_token(&cm, 1_001, Some(&revoked), full), Ok(()));
    assert_eq!(StandingProblem::Revoked.code(), "TOKEN_REVOKED");
}

#[test]
fn a_staff_member_revokes_their_own_tokens_and_managers_those_of_their_staff() {
    let f = fixture();
    let cm = actor(
        7,
        Role::CustomerManager,
        Scope::Book {
            branch: f.branch_a,
            team: None,
        },
    );
    let own = Action::RevokeTokens {
        staff: cm.staff_id,
        branch: Some(f.branch_a),
    };
    let other = Action::RevokeTokens {
        staff: StaffId::from_uuid(id(8)),
        branch: Some(f.branch_a),
    };
    assert_eq!(authorize(&cm, &own, &f.org), Ok(()));
    assert!(authorize(&cm, &other, &f.org).is_err());
    let bm = actor(9, Role::BranchManager, Scope::Branch { branch: f.branch_a });
    assert_eq!(authorize(&bm, &other, &f.org), Ok(()));
    let elsewhere = actor(
        10,
        Role::BranchManager,
        Scope::Branch { branch: f.branch_b },
    );
    assert!(authorize(&elsewhere, &other, &f.org).is_err());
}

#[test]
fn only_company_wide_roles_read_the_whole_log_and_scoped_auditors_their_customers_history() {
    let f = fixture();
    let in_a = CustomerTarget {
        branch: Some(f.branch_a),
        ..CustomerTarget::default()
    };
    let in_b = CustomerTarget {
        branch: Some(f.branch_b),
        ..CustomerTarget::default()
    };
    let company = actor(530, Role::Auditor, Scope::Company);
    assert_eq!(authorize(&company, &Action::ReadHistory, &f.org), Ok(()));
    assert_eq!(
        authorize(&company, &Action::ReadCustomerHistory(in_b), &f.org),
        Ok(())
    );
    let branch = actor(531, Role::Auditor, Scope::Branch { branch: f.branch_a });
    assert_eq!(
        authorize(&branch, &Action::ReadHistory, &f.org),
        Err(DomainError::Forbidden {
            missing_right: Right::ReadHistory
        })
    );
    assert_eq!(
        authorize(&branch, &Action::ReadCustomerHistory(in_a), &f.org),
        Ok(())
    );
    assert!(authorize(&branch, &Action::ReadCustomerHistory(in_b), &f.org).is_err());
    let region = actor(532, Role::Auditor, Scope::Region { region: f.region });
    assert!(authorize(&region, &Action::ReadHistory, &f.org).is_err());
    assert_eq!(
        authorize(&region, &Action::ReadCustomerHistory(in_b), &f.org),
        Ok(())
    );
}

#[test]
fn whoever_reads_customers_may_look_them_up_operators_may_not() {
    let f = fixture();
    for (role, scope) in [
        (Role::ServiceAgent, Scope::Branch { branch: f.branch_a }),
        (Role::Auditor, Scope::Company),
        (
            Role::Broker,
            Scope::Book {
                branch: f.branch_a,
                team: None,
            },
        ),
    ] {
        assert_eq!(
            authorize(&actor(1, role, scope), &Action::LookupCustomer, &f.org),
            Ok(())
        );
    }
    assert_eq!(
        authorize(
            &actor(2, Role::Operator, Scope::Company),
            &Action::LookupCustomer,
            &f.org
        ),
        Err(DomainError::Forbidden {
            missing_right: Right::ReadCustomer
        })
    );
}

#[test]
fn churn_is_recorded_by_the_branch_management_never_by_the_appraised_broker() {
    let f = fixture();
    let broker = actor(
        100,
        Role::Broker,
        Scope::Book {
            branch: f.branch_a,
            team: None,
        },
    );
    let own = CustomerTarget {
        branch: Some(f.branch_a),
        manager: Some(broker.staff_id),
        team: None,
    };
    // Given the broker's own customer: they may update it, but not record its churn.
    assert_eq!(
        authorize(&broker, &Action::UpdateCustomer(own), &f.org),
        Ok(())
    );
    assert_eq!(
        authorize(&broker, &Action::RecordChurn(own), &f.org),
        Err(DomainError::Forbidden {
            missing_right: Right::RecordChurn
        })
    );
    let cm = Actor {
        role: Role::CustomerManager,
        ..broker
    };
    assert!(authorize(&cm, &Action::RecordChurn(own), &f.org).is_err());
    // The branch's manager may; another branch's manager may not; headquarters may.
    let bm = |b| actor(101, Role::BranchManager, Scope::Branch { branch: b });
    assert_eq!(
        authorize(&bm(f.branch_a), &Action::RecordChurn(own), &f.org),
        Ok(())
    );
    assert!(authorize(&bm(f.branch_b), &Action::RecordChurn(own), &f.org).is_err());
    let hq = actor(102, Role::Headquarters, Scope::Company);
    assert_eq!(authorize(&hq, &Action::RecordChurn(own), &f.org), Ok(()));
}

#[test]
fn the_serving_broker_and_the_branch_management_flag_a_customer_at_risk() {
    let f = fixture();
    let book = |n, b| {
        actor(
            n,
            Role::Broker,
            Scope::Book {
                branch: b,
                team: None,
            },
        )
    };
    let broker = book(100, f.branch_a);
    let own = CustomerTarget {
        branch: Some(f.branch_a),
        manager: Some(broker.staff_id),
        team: None,
    };
    // The broker who serves the customer may flag it, though not record its churn.
    assert_eq!(authorize(&broker, &Action::FlagAtRisk(own), &f.org), Ok(()));
    assert!(authorize(&broker, &Action::RecordChurn(own), &f.org).is_err());
    // A broker of another branch may not, nor may a service agent.
    assert_eq!(
        authorize(&book(103, f.branch_b), &Action::FlagAtRisk(own), &f.org),
        Err(DomainError::Forbidden {
            missing_right: Right::FlagChurnRisk
        })
    );
    let agent = actor(
        104,
        Role::ServiceAgent,
        Scope::Branch { branch: f.branch_a },
    );
    assert!(authorize(&agent, &Action::FlagAtRisk(own), &f.org).is_err());
    let bm = |b| actor(101, Role::BranchManager, Scope::Branch { branch: b });
    assert_eq!(
        authorize(&bm(f.branch_a), &Action::FlagAtRisk(own), &f.org),
        Ok(())
    );
    assert!(authorize(&bm(f.branch_b), &Action::FlagAtRisk(own), &f.org).is_err());
    let hq = actor(102, Role::Headquarters, Scope::Company);
    assert_eq!(authorize(&hq, &Action::FlagAtRisk(own), &f.org), Ok(()));
}

#[test]
fn a_refusal_names_another_customer_only_to_those_who_may_read_them() {
    use crate::ids::CustomerId;
    let f = fixture();
    let holder = CustomerId::from_uuid(id(500));
    let in_b = CustomerTarget {
        branch: Some(f.branch_b),
        ..CustomerTarget::default()
    };
    let manager_of = |b| actor(101, Role::BranchManager, Scope::Branch { branch: b });
    let duplicate = DomainError::DuplicateIdentity { existing: holder };
    let merged = DomainError::AlreadyMerged { into: holder };
    // The holding branch's manager is told who: it helps merging duplicates.
    assert_eq!(
        disclose(&manager_of(f.branch_b), duplicate.clone(), &in_b, &f.org),
        duplicate
    );
    assert_eq!(
        disclose(&manager_of(f.branch_b), merged.clone(), &in_b, &f.org),
        merged
    );
    // Another branch's manager only that the document is taken, or the customer merged.
    assert_eq!(
        disclose(&manager_of(f.branch_a), duplicate, &in_b, &f.org),
        DomainError::DuplicateIdentityOutOfScope
    );
    assert_eq!(
        disclose(&manager_of(f.branch_a), merged, &in_b, &f.org),
        DomainError::MergedOutOfScope
    );
    // Refusals naming no other customer are told as they are.
    let other = DomainError::NotFound { entity: "customer" };
    assert_eq!(
        disclose(&manager_of(f.branch_a), other.clone(), &in_b, &f.org),
        other
    );
}

#[test]
fn a_customer_manager_reaches_their_own_customers_and_a_team_lead_their_teams() {
    let f = fixture();
    let member = |n| {
        actor(
            n,
            Role::CustomerManager,
            Scope::Book {
                branch: f.branch_a,
                team: Some(f.team),
            },
        )
    };
    let (cm, lead) = (member(100), member(102));
    let mut org = f.org.clone();
    org.team_leads.insert(f.team, lead.staff_id);
    let own = CustomerTarget {
        branch: Some(f.branch_a),
        manager: Some(cm.staff_id),
        team: Some(f.team),
    };
    // A teammate's customer, and one of the team without a manager.
    let teammates = CustomerTarget {
        branch: Some(f.branch_a),
        manager: Some(StaffId::from_uuid(id(101))),
        team: Some(f.team),
    };
    let teams = CustomerTarget {
        manager: None,
        ..teammates
    };
    let refused = Err(DomainError::Forbidden {
        missing_right: Right::WriteCustomer,
    });
    // Given a team member: their own customers only.
    assert_eq!(authorize(&cm, &Action::UpdateCustomer(own), &org), Ok(()));
    for other in [teammates, teams] {
        assert_eq!(
            authorize(&cm, &Action::UpdateCustomer(other), &org),
            refused.clone()
        );
        assert!(authorize(&cm, &Action::ReadCustomer(other), &org).is_err());
    }
    // Given the team's lead: the team's customers too.
    for other in [teammates, teams] {
        assert_eq!(
            authorize(&lead, &Action::UpdateCustomer(other), &org),
            Ok(())
        );
        assert_eq!(authorize(&lead, &Action::ReadCustomer(other), &org), Ok(()));
    }
    // A lead of another team reaches none of them.
    let mut other_org = f.org.clone();
    other_org
        .team_leads
        .insert(TeamId::from_uuid(id(31)), lead.staff_id);
    assert_eq!(
        authorize(&lead, &Action::UpdateCustomer(teammates), &other_org),
        refused
    );
}

#[test]
fn it_lets_a_region_manager_reach_every_branch_of_their_region_and_no_other() {
    let f = fixture();
    let rm = actor(200, Role::RegionManager, Scope::Region { region: f.region });
    let target = |b| CustomerTarget {
        branch: Some(b),
        manager: None,
        team: None,
    };
    assert!(authorize(&rm, &Action::ReadCustomer(target(f.branch_a)), &f.org).is_ok());
    assert!(authorize(&rm, &Action::ReadCustomer(target(f.branch_b)), &f.org).is_ok());
    assert!(authorize(
        &rm,
        &Action::ReadCustomer(target(f.other_region_branch)),
        &f.org
    )
    .is_err());
}

#[test]
fn it_lets_only_the_receiving_branch_manager_approve_a_transfer() {
    let f = fixture();
    let bm_b = actor(
        300,
        Role::BranchManager,
        Scope::Branch { branch: f.branch_b },
    );
    let bm_a = actor(
        301,
        Role::BranchManager,
        Scope::Branch { branch: f.branch_a },
    );
    let hq = actor(302, Role::Headquarters, Scope::Company);
    let action = Action::ApproveTransfer {
        to_branch: f.branch_b,
    };
    assert!(authorize(&bm_b, &action, &f.org).is_ok());
    assert!(authorize(&bm_a, &action, &f.org).is_err());
    assert!(authorize(&hq, &action, &f.org).is_err());
}

#[test]
fn it_gives_an_auditor_nothing_writable() {
    let f = fixture();
    let auditor = actor(400, Role::Auditor, Scope::Company);
    let t = CustomerTarget {
        branch: Some(f.branch_a),
        ..CustomerTarget::default()
    };
    assert!(authorize(&auditor, &Action::ReadCustomer(t), &f.org).is_ok());
    assert!(authorize(&auditor, &Action::ReadHistory, &f.org).is_ok());
    for action in [
        Action::UpdateCustomer(t),
        Action::RegisterCustomer { branch: f.branch_a },
        Action::RecordInteraction(t),
        Action::HandleTicket { branch: None },
        Action::ProposeRules,
        Action::ApproveRules,
        Action::RunRebuild,
        Action::ImportBackOffice,
        Action::ManageProducts,
    ] {
        let right = action.right();
        assert_eq!(
            authorize(&auditor, &action, &f.org),
            Err(DomainError::Forbidden {
                missing_right: right
            })
        );
    }
}

#[test]
fn it_keeps_operators_to_rules_rebuilds_and_imports() {
    let f = fixture();
    let op = actor(500, Role::Operator, Scope::Company);
    assert!(authorize(&op, &Action::ProposeRules, &f.org).is_ok());
    assert!(authorize(&op, &Action::RunRebuild, &f.org).is_ok());
    assert!(authorize(&op, &Action::ImportBackOffice, &f.org).is_ok());
    let t = CustomerTarget {
        branch: Some(f.branch_a),
        ..CustomerTarget::default()
    };
    assert!(authorize(&op, &Action::ReadCustomer(t), &f.org).is_err());
}

#[test]
fn the_operator_reads_no_customer_data() {
    let f = fixture();
    let t = CustomerTarget {
        branch: Some(f.branch_a),
        ..CustomerTarget::default()
    };
    // Given an operator, company-wide: they read the log's events and run rebuilds...
    let op = actor(510, Role::Operator, Scope::Company);
    assert!(authorize(&op, &Action::ReadHistory, &f.org).is_ok());
    assert!(authorize(&op, &Action::RunRebuild, &f.org).is_ok());
    // ...when they ask for a customer, or a customer's history: refused, like anyone
    // without the customer in scope.
    assert!(!reads_customer_data(&op));
    assert!(authorize(&op, &Action::ReadCustomer(t), &f.org).is_err());
    assert_eq!(
        authorize(&op, &Action::ReadCustomerHistory(t), &f.org),
        Err(DomainError::Forbidden {
            missing_right: Right::ReadHistory
        })
    );
    // Then the roles that read the log and customers still read any customer's history,
    // and a branch manager that of their branch's customers only.
    for reader in [
        actor(511, Role::Headquarters, Scope::Company),
        actor(512, Role::Auditor, Scope::Company),
    ] {
        assert!(reads_customer_data(&reader));
        assert_eq!(
            authorize(&reader, &Action::ReadCustomerHistory(t), &f.org),
            Ok(())
        );
    }
    let bm_a = actor(
        513,
        Role::BranchManager,
        Scope::Branch { branch: f.branch_a },
    );
    let bm_b = actor(
        514,
        Role::BranchManager,
        Scope::Branch { branch: f.branch_b },
    );
    assert_eq!(
        authorize(&bm_a, &Action::ReadCustomerHistory(t), &f.org),
        Ok(())
    );
    assert!(authorize(&bm_b, &Action::ReadCustomerHistory(t), &f.org).is_err());
}

#[test]
fn only_auditors_read_the_access_log_and_scoped_ones_about_their_customers() {
    let f = fixture();
    let about = |b: Option<BranchId>| Action::ReadAccessLog {
        about: Some(CustomerTarget {
            branch: b,
            ..CustomerTarget::default()
        }),
    };
    let open = Action::ReadAccessLog { about: None };
    // Given a company auditor: the log, and every entry, even about an unknown customer.
    let company = actor(520, Role::Auditor, Scope::Company);
    for action in [
        open.clone(),
        about(Some(f.branch_a)),
        about(Some(f.other_region_branch)),
        about(None),
    ] {
        assert_eq!(authorize(&company, &action, &f.org), Ok(()), "{action:?}");
    }
    // Given a region auditor: the entries about customers of their region's branches.
    let region = actor(521, Role::Auditor, Scope::Region { region: f.region });
    assert_eq!(authorize(&region, &open, &f.org), Ok(()));
    assert_eq!(authorize(&region, &about(Some(f.branch_b)), &f.org), Ok(()));
    assert!(authorize(&region, &about(Some(f.other_region_branch)), &f.org).is_err());
    assert!(authorize(&region, &about(None), &f.org).is_err());
    // Given a branch auditor: their branch's customers only.
    let branch = actor(522, Role::Auditor, Scope::Branch { branch: f.branch_a });
    assert_eq!(authorize(&branch, &about(Some(f.branch_a)), &f.org), Ok(()));
    assert!(authorize(&branch, &about(Some(f.branch_b)), &f.org).is_err());
    // When anyone else asks, headquarters included: refused, naming the right.
    for other in [
        actor(523, Role::Headquarters, Scope::Company),
        actor(524, Role::Operator, Scope::Company),
        actor(
            525,
            Role::BranchManager,
            Scope::Branch { branch: f.branch_a },
        ),
        actor(526, Role::ServiceAgent, Scope::Company),
        actor(
            527,
            Role::Broker,
            Scope::Book {
                branch: f.branch_a,
                team: None,
            },
        ),
    ] {
        for action in [open.clone(), about(Some(f.branch_a))] {
            assert_eq!(
                authorize(&other, &action, &f.org),
                Err(DomainError::Forbidden {
                    missing_right: Right::ReadAccessLog
                }),
                "{other:?}"
            );
        }
    }
}

#[test]
fn it_lets_service_agents_handle_tickets_and_interactions_in_scope() {
    let f = fixture();
    let agent = actor(
        600,
        Role::ServiceAgent,
        Scope::Branch { branch: f.branch_a },
    );
    let t = CustomerTarget {
        branch: Some(f.branch_a),
        ..CustomerTarget::default()
    };
    assert!(authorize(
        &agent,
        &Action::HandleTicket {
            branch: Some(f.branch_a)
        },
        &f.org
    )
    .is_ok());
    assert!(authorize(
        &agent,
        &Action::HandleTicket {
            branch: Some(f.branch_b)
        },
        &f.org
    )
    .is_err());
    assert!(authorize(&agent, &Action::RecordInteraction(t), &f.org).is_ok());
    assert!(authorize(&agent, &Action::UpdateCustomer(t), &f.org).is_err());
}
