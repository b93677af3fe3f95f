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
//!
//! Banks: the core banking system's facts (deposit and loan accounts, daily balances and
//! positions, cards, e-banking sign-ups, wealth products, fee income, external 征信 / 工商 / 税务
//! facts) are recorded by whoever records the securities back office's facts: headquarters and
//! operators (the import role). A loan's five-category classification (五级分类) is a credit-risk
//! judgement: headquarters (the county cooperative's credit and risk departments) and the
//! management of the loan's outlet (its branch manager, or the region manager above it) move
//! it; the customer managers who granted and serve the loan are appraised on its quality and
//! do not. No new role was needed: the seeds name the credit departments at the cooperative,
//! which headquarters stands for.

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
    /// Flag a customer at risk of leaving (流失预警) or clear the flag: the customer's own
    /// broker or manager may, since they are often the first to know, and so may the branch's
    /// management. A flag is never churn. (Appended last: rights are encoded by index.)
    FlagChurnRisk,
    /// Record the core banking system's facts (accounts, balances, positions, cards, sign-ups,
    /// fee income, external data): the import role. (Appended last: rights are encoded by
    /// index.)
    RecordBankFacts,
    /// Move a loan between the five classes (五级分类): credit and risk, or the loan's outlet
    /// management. (Appended last: rights are encoded by index.)
    ClassifyLoan,
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
    /// Flag the customer at risk of leaving, or clear the flag.
    FlagAtRisk(CustomerTarget),
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
    /// Record a fact from the core banking system or an external data source.
    RecordBankFacts,
    /// Reclassify a loan granted by the outlet `branch`.
    ClassifyLoan {
        branch: BranchId,
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
            Action::FlagAtRisk(_) => Right::FlagChurnRisk,
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
            Action::RecordBankFacts => Right::RecordBankFacts,
            Action::ClassifyLoan { .. } => Right::ClassifyLoan,
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
        // A warning, not a churn: those who serve the customer raise it, and their management.
        Action::FlagAtRisk(t) => match role {
            Headquarters => true,
            RegionManager | BranchManager => t.branch.as_ref().is_some_and(branch),
            CustomerManager | Broker => in_book(actor, t, org),
            ServiceAgent | Auditor | Operator => false,
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
        Action::ImportBackOffice | Action::RecordBankFacts => {
            matches!(role, Headquarters | Operator)
        }
        // Loan quality is the outlet's appraisal: its management or credit and risk at
        // headquarters judge it, never the customer manager who granted the loan.
        Action::ClassifyLoan { branch: b } => match role {
            Headquarters => true,
            RegionManager | BranchManager => branch(b),
            CustomerManager | Broker | ServiceAgent | Auditor | Operator => false,
        },
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
#[path = "auth_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "auth_bank_tests.rs"]
mod bank_tests;
