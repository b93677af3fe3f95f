//! Who may do what. `authorize` is a pure function the app layer calls before `decide`, with
//! everything it needs about the target (the customer's branch, manager and team; the org tree)
//! passed in as plain data, so the rules are testable without a store.
//!
//! | role | may |
//! |---|---|
//! | HQ (总部) | everything except approving a transfer into a branch (that is the receiving branch manager's call) and running rebuilds |
//! | region manager | customers, staff, organisation, campaigns, content and tickets of the branches in their region |
//! | branch manager | the same for their branch; approves transfers into it |
//! | customer manager / broker | their own book: customers assigned to them, or to their team |
//! | service agent | read customers in scope, record interactions, handle tickets |
//! | auditor | read customers in scope and history, the access log of personal data (company auditors all of it, region and branch auditors the entries about their customers); nothing writable |
//! | operator | back-office imports, rule sets, rebuilds, the log's events; no customer data ([`reads_customer_data`]) |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{BranchId, RegionId, StaffId, TeamId};

/// A staff member's role (岗位).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// 总部
    Headquarters,
    /// 分公司 / 地区负责人
    RegionManager,
    /// 营业部负责人
    BranchManager,
    /// 客户经理
    CustomerManager,
    /// 经纪人
    Broker,
    /// 坐席 / 客服
    ServiceAgent,
    /// 审计
    Auditor,
    /// 运维 / 管理员
    Operator,
}

/// The part of the organisation an actor works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    Company,
    Region {
        region: RegionId,
    },
    Branch {
        branch: BranchId,
    },
    /// A customer manager's or broker's own book, inside a branch and optionally a team.
    Book {
        branch: BranchId,
        team: Option<TeamId>,
    },
}

/// Who sends a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub staff_id: StaffId,
    pub role: Role,
    pub scope: Scope,
}

impl Scope {
    /// Whether this scope makes sense for `role`: managers are scoped to what they manage,
    /// customer managers and brokers to a book, HQ to the company.
    pub fn fits(self, role: Role) -> bool {
        match role {
            Role::Headquarters => self == Scope::Company,
            Role::RegionManager => matches!(self, Scope::Region { .. }),
            Role::BranchManager => matches!(self, Scope::Branch { .. }),
            Role::CustomerManager | Role::Broker => matches!(self, Scope::Book { .. }),
            Role::ServiceAgent | Role::Auditor | Role::Operator => {
                !matches!(self, Scope::Book { .. })
            }
        }
    }
}

/// A right an action needs; named in [`DomainError::Forbidden`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Right {
    ReadCustomer,
    RegisterCustomer,
    WriteCustomer,
    AssignCustomer,
    ApproveTransfer,
    MergeCustomers,
    RecordInteraction,
    HandleTicket,
    ManageSales,
    ManageCampaigns,
    ManageProducts,
    PublishContent,
    ManageOrganisation,
    ManageStaff,
    ImportBackOffice,
    ProposeRules,
    ApproveRules,
    RunRebuild,
    ReadHistory,
    /// Record a customer's suitability assessment (适当性评估, C1–C5): a compliance act, not
    /// the customer's own broker's.
    AssessSuitability,
    /// Read the access log of personal data (who was shown whose identity or phone number,
    /// when, why): auditors only. (Appended last: rights are encoded by index.)
    ReadAccessLog,
    /// Record that a customer churned (流失): the churn term of the appraisal weighs 30%, so
    /// the branch's management records it, never the customer's own broker or manager.
    /// (Appended last: rights are encoded by index.)
    RecordChurn,
    /// Propose or approve the seal of an appraisal period (the results pay follows):
    /// headquarters, two different people. (Appended last: rights are encoded by index.)
    SealAppraisal,
}

/// What authorization needs to know about a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerTarget {
    pub branch: Option<BranchId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
}

/// The org tree as plain data: which region each branch belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgTree {
    pub branch_regions: BTreeMap<BranchId, RegionId>,
    /// Each team's lead (团队长): they see their team's customers as well as their own.
    pub team_leads: BTreeMap<TeamId, StaffId>,
}

/// What the actor wants to do, with the target information the decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    ReadCustomer(CustomerTarget),
    /// Look customers up by a number at the point of contact (what is shown is each found
    /// customer's `ReadCustomer`).
    LookupCustomer,
    /// Propose or approve sealing an appraisal period.
    SealAppraisal,
    RegisterCustomer {
        branch: BranchId,
    },
    /// Profile, lifecycle, accounts, suitability, recommendations and sales for one customer.
    UpdateCustomer(CustomerTarget),
    /// Record the customer's suitability assessment (C1–C5).
    AssessSuitability(CustomerTarget),
    /// Record that the customer churned.
    RecordChurn(CustomerTarget),
    /// Assign, reassign, or request a transfer to `to_branch`.
    AssignCustomer {
        customer: CustomerTarget,
        to_branch: BranchId,
    },
    ApproveTransfer {
        to_branch: BranchId,
    },
    MergeCustomers {
        survivor: CustomerTarget,
        merged: CustomerTarget,
    },
    RecordInteraction(CustomerTarget),
    /// A ticket of a customer of `branch` (None: not tied to a branch).
    HandleTicket {
        branch: Option<BranchId>,
    },
    ManageOpportunity {
        owner: StaffId,
        branch: Option<BranchId>,
    },
    /// A campaign run by `branch` (None: company-wide).
    ManageCampaign {
        branch: Option<BranchId>,
    },
    ManageProducts,
    PublishContent {
        branch: Option<BranchId>,
    },
    /// Regions, branches, service points and teams. `branch` None means a region-level change.
    ManageOrganisation {
        region: Option<RegionId>,
        branch: Option<BranchId>,
    },
    ManageStaff {
        branch: Option<BranchId>,
    },
    /// Revoke a staff member's tokens: their own, or anyone's whom the actor may manage.
    RevokeTokens {
        staff: StaffId,
        branch: Option<BranchId>,
    },
    ImportBackOffice,
    ProposeRules,
    ApproveRules,
    RunRebuild,
    ReadHistory,
    /// A customer's history rebuilt from the log (`customerHistory`): whoever may read the
    /// customer, and the roles that read the log and customer data (headquarters, auditors).
    ReadCustomerHistory(CustomerTarget),
    /// The access log of personal data. `about: None` asks whether the actor may read it at
    /// all; `Some(t)` whether they may see an entry about the customer `t` (as assigned now;
    /// an unknown or unassigned customer is the default target, seen company-wide only).
    ReadAccessLog {
        about: Option<CustomerTarget>,
    },
}

impl Action {
    pub fn right(&self) -> Right {
        match self {
            Action::ReadCustomer(_) | Action::LookupCustomer => Right::ReadCustomer,
            Action::RegisterCustomer { .. } => Right::RegisterCustomer,
            Action::UpdateCustomer(_) => Right::WriteCustomer,
            Action::AssessSuitability(_) => Right::AssessSuitability,
            Action::RecordChurn(_) => Right::RecordChurn,
            Action::SealAppraisal => Right::SealAppraisal,
            Action::AssignCustomer { .. } => Right::AssignCustomer,
            Action::ApproveTransfer { .. } => Right::ApproveTransfer,
            Action::MergeCustomers { .. } => Right::MergeCustomers,
            Action::RecordInteraction(_) => Right::RecordInteraction,
            Action::HandleTicket { .. } => Right::HandleTicket,
            Action::ManageOpportunity { .. } => Right::ManageSales,
            Action::ManageCampaign { .. } => Right::ManageCampaigns,
            Action::ManageProducts => Right::ManageProducts,
            Action::PublishContent { .. } => Right::PublishContent,
            Action::ManageOrganisation { .. } => Right::ManageOrganisation,
            Action::ManageStaff { .. } | Action::RevokeTokens { .. } => Right::ManageStaff,
            Action::ImportBackOffice => Right::ImportBackOffice,
            Action::ProposeRules => Right::ProposeRules,
            Action::ApproveRules => Right::ApproveRules,
            Action::RunRebuild => Right::RunRebuild,
            Action::ReadHistory | Action::ReadCustomerHistory(_) => Right::ReadHistory,
            Action::ReadAccessLog { .. } => Right::ReadAccessLog,
        }
    }
}

/// How far a role reaches, for grants: no one gives a role that reaches further than their own.
/// Auditors and operators are company-wide oversight roles that only headquarters appoints.
fn reach(role: Role) -> u8 {
    match role {
        Role::Headquarters | Role::Auditor | Role::Operator => 4,
        Role::RegionManager => 3,
        Role::BranchManager => 2,
        Role::CustomerManager | Role::Broker | Role::ServiceAgent => 1,
    }
}

/// Whether `outer` covers `inner`: the company covers everything, a region its branches and
/// their books, a branch its books.
pub fn scope_covers(outer: Scope, inner: Scope, org: &OrgTree) -> bool {
    let branch_in =
        |region: RegionId, branch: BranchId| org.branch_regions.get(&branch) == Some(&region);
    match (outer, inner) {
        (Scope::Company, _) => true,
        (Scope::Region { region }, Scope::Region { region: r }) => region == r,
        (Scope::Region { region }, Scope::Branch { branch } | Scope::Book { branch, .. }) => {
            branch_in(region, branch)
        }
        (Scope::Branch { branch }, Scope::Branch { branch: b } | Scope::Book { branch: b, .. }) => {
            branch == b
        }
        (Scope::Book { branch, team }, Scope::Book { branch: b, team: t }) => {
            branch == b && (team.is_none() || team == t)
        }
        _ => false,
    }
}

/// Whether `actor` may give someone `role` in `scope` (hiring, a role change, a move): besides
/// the right to manage staff there, no one grants a role that reaches further than their own,
/// or a scope outside their own. Headquarters alone appoints headquarters, auditors and
/// operators.
pub fn check_grant(
    actor: &Actor,
    role: Role,
    scope: Scope,
    org: &OrgTree,
) -> Result<(), DomainError> {
    if reach(role) > reach(actor.role) {
        return Err(DomainError::BeyondOwnAuthority {
            what: format!(
                "{role:?} reaches further than the granting {:?}",
                actor.role
            ),
        });
    }
    if !scope_covers(actor.scope, scope, org) {
        return Err(DomainError::BeyondOwnAuthority {
            what: format!(
                "{scope:?} is outside the granting staff member's {:?}",
                actor.scope
            ),
        });
    }
    Ok(())
}

/// A staff member as the staff directory (the log) records them now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub scope: Scope,
    pub left: bool,
}

/// Why an actor's credentials are not backed by the staff directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingProblem {
    /// No staff member of that id joined.
    Unknown,
    Left,
    /// The directory holds another role or scope than the credentials say.
    RoleOrScopeChanged,
    /// The staff member's tokens issued until a later instant were revoked.
    Revoked,
}

impl StandingProblem {
    /// The stable reason code clients see (`extensions.reason` of a 401).
    pub fn code(self) -> &'static str {
        match self {
            StandingProblem::Unknown => "STAFF_UNKNOWN",
            StandingProblem::Left => "STAFF_LEFT",
            StandingProblem::RoleOrScopeChanged => "ROLE_CHANGED",
            StandingProblem::Revoked => "TOKEN_REVOKED",
        }
    }
}

impl std::fmt::Display for StandingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StandingProblem::Unknown => "is not in the staff directory",
            StandingProblem::Left => "has left",
            StandingProblem::RoleOrScopeChanged => {
                "no longer holds the role and scope the credentials name"
            }
            StandingProblem::Revoked => "had the credentials revoked",
        })
    }
}

/// Whether the directory backs `actor`: a staff member who joined, has not left, and holds the
/// same role and scope now. Decisions that must not outlive a role change or a departure
/// (signing rules: proposing, approving, rejecting, activating) check this as well as
/// [`authorize`].
pub fn check_standing(actor: &Actor, standing: Option<&Standing>) -> Result<(), DomainError> {
    let problem = match standing {
        None => StandingProblem::Unknown,
        Some(s) if s.left => StandingProblem::Left,
        Some(s) if s.role != actor.role || s.scope != actor.scope => {
            StandingProblem::RoleOrScopeChanged
        }
        Some(_) => return Ok(()),
    };
    Err(DomainError::Standing {
        staff: actor.staff_id,
        problem,
    })
}

/// A staff member as the directory records them now, for checking a token at every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStanding {
    pub role: Role,
    pub scope: Scope,
    pub left: bool,
    /// Tokens issued before this instant were revoked.
    pub tokens_valid_from: Option<time::OffsetDateTime>,
}

/// Whether a token issued at `issued_at` (whole seconds, as tokens carry it) for `actor` still
/// stands against the staff directory: the subject joined, has not left, holds the token's role
/// and scope, and had no revocation since the token was issued (a token issued in the second of
/// a revocation is refused too: seconds cannot tell which came first). `directory_empty` is
/// asked only for an unknown subject: until anyone has joined, any validly signed token is
/// accepted, so the first headquarters staff member can join (bootstrap).
pub fn check_token(
    actor: &Actor,
    issued_at: i64,
    standing: Option<&TokenStanding>,
    directory_empty: impl FnOnce() -> bool,
) -> Result<(), StandingProblem> {
    let Some(s) = standing else {
        return if directory_empty() {
            Ok(())
        } else {
            Err(StandingProblem::Unknown)
        };
    };
    if s.left {
        return Err(StandingProblem::Left);
    }
    if s.role != actor.role || s.scope != actor.scope {
        return Err(StandingProblem::RoleOrScopeChanged);
    }
    if s.tokens_valid_from
        .is_some_and(|from| issued_at <= from.unix_timestamp())
    {
        return Err(StandingProblem::Revoked);
    }
    Ok(())
}

/// Whether the actor's role reads customer data at all. Operators run the system (rule sets,
/// rebuilds, imports, the log's health) and read none: no customer, no customer's history,
/// no customer named in a rules preview (its counts only) — whatever other right
/// (`ReadHistory`, `RunRebuild`) they hold. Resolvers that show customers under a right other
/// than `ReadCustomer` ask this too.
pub fn reads_customer_data(actor: &Actor) -> bool {
    actor.role != Role::Operator
}

/// Whether `actor` may perform `action`; `Forbidden { missing_right }` otherwise.
pub fn authorize(actor: &Actor, action: &Action, org: &OrgTree) -> Result<(), DomainError> {
    if allowed(actor, action, org) {
        Ok(())
    } else {
        Err(DomainError::Forbidden {
            missing_right: action.right(),
        })
    }
}

/// A refusal as `actor` may be told it. A refusal that names another customer
/// ([`DomainError::other_customer`]: the holder of an identity document, a merge's survivor)
/// names them only to an actor who may read them (`other` is that customer's target); to
/// anyone else it says what happened without saying who or where, so that a refusal is no
/// oracle of who is a customer where. Every other refusal is told as it is.
pub fn disclose(
    actor: &Actor,
    refusal: DomainError,
    other: &CustomerTarget,
    org: &OrgTree,
) -> DomainError {
    if refusal.other_customer().is_none()
        || authorize(actor, &Action::ReadCustomer(*other), org).is_ok()
    {
        return refusal;
    }
    match refusal {
        DomainError::DuplicateIdentity { .. } => DomainError::DuplicateIdentityOutOfScope,
        DomainError::AlreadyMerged { .. } => DomainError::MergedOutOfScope,
        other => other,
    }
}

fn allowed(actor: &Actor, action: &Action, org: &OrgTree) -> bool {
    use Role::*;
    let role = actor.role;
    let manager = matches!(role, RegionManager | BranchManager);
    let branch = |b: &BranchId| covers_branch(actor, *b, org);
    let opt_branch = |b: &Option<BranchId>| match b {
        Some(b) => branch(b),
        None => actor.scope == Scope::Company,
    };
    match action {
        Action::ReadCustomer(t) => match role {
            Headquarters => true,
            RegionManager | BranchManager | ServiceAgent | Auditor => {
                actor.scope == Scope::Company || t.branch.as_ref().is_some_and(branch)
            }
            CustomerManager | Broker => in_book(actor, t, org),
            Operator => false,
        },
        // Whoever reads customers may ask who holds a number; the answer holds only the
        // customers they may read.
        Action::LookupCustomer => role != Operator,
        // The company's appraisal results are headquarters' to seal (four eyes: the domain
        // refuses an approval by the proposer).
        Action::SealAppraisal => role == Headquarters,
        Action::RegisterCustomer { branch: b } => match role {
            Headquarters => true,
            RegionManager | BranchManager => branch(b),
            CustomerManager | Broker => {
                matches!(actor.scope, Scope::Book { branch: own, .. } if own == *b)
            }
            ServiceAgent | Auditor | Operator => false,
        },
        Action::UpdateCustomer(t) => match role {
            Headquarters => true,
            RegionManager | BranchManager => t.branch.as_ref().is_some_and(branch),
            CustomerManager | Broker => in_book(actor, t, org),
            ServiceAgent | Auditor | Operator => false,
        },
        // The people who sell to a customer do not rate the risk the customer may bear: the
        // branch's management (its compliance) or headquarters do.
        Action::AssessSuitability(t) => match role {
            Headquarters => true,
            RegionManager | BranchManager => t.branch.as_ref().is_some_and(branch),
            CustomerManager | Broker | ServiceAgent | Auditor | Operator => false,
        },
        // Churn weighs 30% of the appraisal of the customer's own broker or manager: whoever is
        // appraised on it does not record it (they may record contacts and win-back attempts).
        Action::RecordChurn(t) => match role {
            Headquarters => true,
            RegionManager | BranchManager => t.branch.as_ref().is_some_and(branch),
            CustomerManager | Broker | ServiceAgent | Auditor | Operator => false,
        },
        Action::AssignCustomer {
            customer,
            to_branch,
        } => match role {
            Headquarters => true,
            // A manager assigns within their part of the organisation, or sends a customer of
            // theirs elsewhere (the receiving branch manager approves separately).
            RegionManager | BranchManager => match customer.branch {
                Some(current) => branch(&current),
                None => branch(to_branch),
            },
            _ => false,
        },
        Action::ApproveTransfer { to_branch } => {
            role == BranchManager && actor.scope == Scope::Branch { branch: *to_branch }
        }
        Action::MergeCustomers { survivor, merged } => match role {
            Headquarters => true,
            RegionManager | BranchManager => {
                survivor.branch.as_ref().is_some_and(branch)
                    && merged.branch.as_ref().is_some_and(branch)
            }
            _ => false,
        },
        Action::RecordInteraction(t) => match role {
            Headquarters => true,
            RegionManager | BranchManager | ServiceAgent => {
                actor.scope == Scope::Company || t.branch.as_ref().is_some_and(branch)
            }
            CustomerManager | Broker => in_book(actor, t, org),
            Auditor | Operator => false,
        },
        Action::HandleTicket { branch: b } => match role {
            Headquarters => true,
            RegionManager | BranchManager | ServiceAgent => opt_branch(b),
            _ => false,
        },
        Action::ManageOpportunity { owner, branch: b } => match role {
            Headquarters => true,
            RegionManager | BranchManager => b.as_ref().is_some_and(branch),
            CustomerManager | Broker => *owner == actor.staff_id,
            _ => false,
        },
        Action::ManageCampaign { branch: b } | Action::PublishContent { branch: b } => {
            role == Headquarters || (manager && b.as_ref().is_some_and(branch))
        }
        Action::ManageProducts => role == Headquarters,
        Action::ManageOrganisation { region, branch: b } => match role {
            Headquarters => true,
            RegionManager => match b {
                Some(b) => branch(b),
                None => {
                    matches!((region, actor.scope), (Some(r), Scope::Region { region: own }) if *r == own)
                }
            },
            BranchManager => b.as_ref().is_some_and(branch),
            _ => false,
        },
        Action::ManageStaff { branch: b } => match role {
            Headquarters => true,
            RegionManager | BranchManager => b.as_ref().is_some_and(branch),
            _ => false,
        },
        Action::RevokeTokens { staff, branch: b } => {
            *staff == actor.staff_id || allowed(actor, &Action::ManageStaff { branch: *b }, org)
        }
        Action::ImportBackOffice => matches!(role, Headquarters | Operator),
        Action::ProposeRules => role == Operator,
        Action::ApproveRules => matches!(role, Headquarters | Operator),
        Action::RunRebuild => role == Operator,
        // The log and replays span the company: a region or branch auditor reads the history of
        // the customers they may read (`ReadCustomerHistory`), not the whole log.
        Action::ReadHistory => {
            matches!(role, Headquarters | Auditor | Operator) && actor.scope == Scope::Company
        }
        Action::ReadCustomerHistory(t) => {
            allowed(actor, &Action::ReadCustomer(*t), org)
                || (allowed(actor, &Action::ReadHistory, org) && reads_customer_data(actor))
        }
        // Who saw whose personal data is the auditors' to read, no one else's: not even
        // headquarters, whose own views are in it. A company auditor reads every entry; a
        // region or branch auditor the entries about customers of their region or branch.
        Action::ReadAccessLog { about } => {
            role == Auditor
                && match about {
                    None => true,
                    Some(t) => {
                        actor.scope == Scope::Company || t.branch.as_ref().is_some_and(branch)
                    }
                }
        }
    }
}

fn covers_branch(actor: &Actor, branch: BranchId, org: &OrgTree) -> bool {
    match actor.scope {
        Scope::Company => true,
        Scope::Region { region } => org.branch_regions.get(&branch) == Some(&region),
        Scope::Branch { branch: own } => own == branch,
        // A book is narrower than a branch: branch-wide rights never follow from it.
        Scope::Book { .. } => false,
    }
}

/// A customer manager's or broker's book: customers assigned to them personally, or to their
/// team when the customer is assigned to a team.
/// A customer manager's or broker's book: the customers assigned to them; a team lead's also
/// the customers of their team. Teammates do not see each other's customers.
fn in_book(actor: &Actor, t: &CustomerTarget, org: &OrgTree) -> bool {
    if t.manager == Some(actor.staff_id) {
        return true;
    }
    match (actor.scope, t.team) {
        (
            Scope::Book {
                team: Some(own), ..
            },
            Some(team),
        ) => own == team && org.team_leads.get(&team) == Some(&actor.staff_id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
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
}
