//! Who may record a bank's facts and who may reclassify a loan.
use uuid::Uuid;

use super::*;

fn actor(role: Role, scope: Scope) -> Actor {
    Actor {
        staff_id: StaffId::from_uuid(Uuid::from_u128(100)),
        role,
        scope,
    }
}

fn branch(n: u128) -> BranchId {
    BranchId::from_uuid(Uuid::from_u128(n))
}

/// Outlets 10 and 11 in region 1 (a county cooperative), outlet 20 in region 2.
fn org() -> OrgTree {
    let mut org = OrgTree::default();
    let r1 = RegionId::from_uuid(Uuid::from_u128(1));
    org.branch_regions.insert(branch(10), r1);
    org.branch_regions.insert(branch(11), r1);
    org.branch_regions
        .insert(branch(20), RegionId::from_uuid(Uuid::from_u128(2)));
    org
}

fn every_role() -> Vec<Actor> {
    let book = Scope::Book {
        branch: branch(10),
        team: None,
    };
    vec![
        actor(Role::Headquarters, Scope::Company),
        actor(
            Role::RegionManager,
            Scope::Region {
                region: RegionId::from_uuid(Uuid::from_u128(1)),
            },
        ),
        actor(Role::BranchManager, Scope::Branch { branch: branch(10) }),
        actor(Role::CustomerManager, book),
        actor(Role::Broker, book),
        actor(Role::ServiceAgent, Scope::Branch { branch: branch(10) }),
        actor(Role::Auditor, Scope::Company),
        actor(Role::Operator, Scope::Company),
    ]
}

#[test]
fn bank_facts_are_recorded_by_whoever_imports_the_back_office() {
    let org = org();
    for a in every_role() {
        let bank = authorize(&a, &Action::RecordBankFacts, &org);
        let securities = authorize(&a, &Action::ImportBackOffice, &org);
        assert_eq!(bank.is_ok(), securities.is_ok(), "{:?}", a.role);
        assert_eq!(
            bank.is_ok(),
            matches!(a.role, Role::Headquarters | Role::Operator),
            "{:?}",
            a.role
        );
    }
    let cm = actor(
        Role::CustomerManager,
        Scope::Book {
            branch: branch(10),
            team: None,
        },
    );
    assert_eq!(
        authorize(&cm, &Action::RecordBankFacts, &org),
        Err(DomainError::Forbidden {
            missing_right: Right::RecordBankFacts
        })
    );
}

#[test]
fn a_loan_is_reclassified_by_credit_at_headquarters_or_its_outlets_management() {
    let org = org();
    let own = Action::ClassifyLoan { branch: branch(10) };
    let allowed: Vec<Role> = every_role()
        .into_iter()
        .filter(|a| authorize(a, &own, &org).is_ok())
        .map(|a| a.role)
        .collect();
    assert_eq!(
        allowed,
        vec![Role::Headquarters, Role::RegionManager, Role::BranchManager]
    );
    // Another outlet's manager may not; a region manager reaches only their region's outlets.
    let bm = actor(Role::BranchManager, Scope::Branch { branch: branch(11) });
    assert_eq!(
        authorize(&bm, &own, &org),
        Err(DomainError::Forbidden {
            missing_right: Right::ClassifyLoan
        })
    );
    let rm = actor(
        Role::RegionManager,
        Scope::Region {
            region: RegionId::from_uuid(Uuid::from_u128(1)),
        },
    );
    assert!(authorize(&rm, &Action::ClassifyLoan { branch: branch(20) }, &org).is_err());
}
