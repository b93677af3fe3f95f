//! Who may read what (issue #13, "One policy"): the read side's questions, decided here from
//! domain-level inputs, as [`crate::auth::authorize`] decides the write side's. The API turns a
//! read-model record into the plain input a question needs (a [`CustomerTarget`], a branch, a
//! [`TicketTarget`], a [`Ranking`]) and asks; it decides nothing about scope itself.
//!
//! | question | who |
//! |---|---|
//! | a customer ([`may_read_customer`]) | `Action::ReadCustomer`: headquarters; region and branch managers, agents and auditors in their scope; a book's holder (and its team's lead) |
//! | a branch's figures ([`may_read_branch`]) | whoever reads the branch's customers branch-wide; never a customer manager or broker, whose view is their book |
//! | a region's figures ([`may_read_region`]) | company readers; staff scoped to the region who read its branches' figures (its manager, its auditors and agents) |
//! | company-wide figures ([`is_company_reader`]) | headquarters, auditors and service agents at company scope |
//! | identity and phone numbers in full ([`sees_pii`]) | the roles that serve the customer: headquarters, branch managers, customer managers, brokers |
//! | the staff directory ([`may_see_staff`]) | company readers all; managers their part; a book's holder their own branch, names only ([`directory_limited`]) |
//! | a ticket ([`may_see_ticket`]) | its assignee; whoever reads its customer or its branch |
//! | an opportunity ([`may_see_opportunity`]) | its owner; whoever reads its customer |
//! | an article ([`may_see_article`]) | everyone for the company's; a branch's: who works in or oversees it |
//! | a staff member's performance ([`may_read_staff_performance`]) | themselves; whoever reads their branch |
//! | service compliance ([`may_read_service_compliance`]) | a book's: its holder, their team's lead, whoever reads their branch; a branch's: whoever reads its figures |
//! | a ranking ([`may_read_ranking`]) | by its scope: the company's company readers, a region's its manager, a branch's or team's those who read or work in it |
//! | a campaign's call list ([`on_call_list`]) | the targets the caller serves: whose contact (and campaign response) they may record — a book's holder and its team's lead, managers and service agents of the customer's branch, headquarters; never auditors or operators |
//! | saved segments ([`may_see_segment`]) | a branch's: whoever reads the branch's figures; the company's: company readers |
//! | sealed appraisal results ([`may_read_sealed_appraisals`]) | headquarters and company auditors |
//! | rule sets and projection status ([`may_oversee_operations`]) | headquarters, company auditors, operators |
//! | the access log ([`access_log_sees_all`]) | auditors (`Action::ReadAccessLog`); company auditors every entry |
//!
//! Everything is pure: the org tree is passed in ([`org_tree_needs`] says which part of it a
//! caller's decisions read, so the API need not load the rest).

use crate::auth::{authorize, Action, Actor, CustomerTarget, OrgTree, Role, Scope};
use crate::ids::{BranchId, RegionId, StaffId, TeamId};

/// Whether `actor` may read the customer `t` as assigned now (an unassigned or unknown
/// customer is the default target, read company-wide only).
pub fn may_read_customer(actor: &Actor, t: &CustomerTarget, org: &OrgTree) -> bool {
    authorize(actor, &Action::ReadCustomer(*t), org).is_ok()
}

/// Company-wide views (rankings, channel and campaign effectiveness, staff without a branch)
/// are for roles whose reading is not limited to a region, a branch or a book.
pub fn is_company_reader(actor: &Actor) -> bool {
    actor.scope == Scope::Company
        && matches!(
            actor.role,
            Role::Headquarters | Role::Auditor | Role::ServiceAgent
        )
}

/// The branch of a customer manager's or broker's own book.
pub fn book_branch(actor: &Actor) -> Option<BranchId> {
    match (actor.role, actor.scope) {
        (Role::CustomerManager | Role::Broker, Scope::Book { branch, .. }) => Some(branch),
        _ => None,
    }
}

/// Whether the actor may read a branch's figures (dashboards, live figures, service quality):
/// anyone who may read a customer of it branch-wide. A customer manager's or broker's view of
/// a branch is their own book, not the branch.
pub fn may_read_branch(actor: &Actor, branch: BranchId, org: &OrgTree) -> bool {
    match actor.role {
        Role::CustomerManager | Role::Broker => false,
        _ => may_read_customer(
            actor,
            &CustomerTarget {
                branch: Some(branch),
                manager: None,
                team: None,
            },
            org,
        ),
    }
}

/// Whether the actor may read a region's figures (a county's bank dashboard, summed over its
/// outlets): company readers, and whoever is scoped to the region and reads its branches'
/// figures there (its manager, a region auditor or agent). A branch's staff read their branch,
/// not the region it is in.
pub fn may_read_region(actor: &Actor, region: RegionId) -> bool {
    is_company_reader(actor)
        || (actor.scope == Scope::Region { region }
            && matches!(
                actor.role,
                Role::Headquarters | Role::RegionManager | Role::Auditor | Role::ServiceAgent
            ))
}

/// Figures of a branch (`Some`) or of the whole company (`None`): a campaign's, the service
/// quality, a staff member's without a branch.
pub fn may_read_figures(actor: &Actor, branch: Option<BranchId>, org: &OrgTree) -> bool {
    match branch {
        Some(b) => may_read_branch(actor, b, org),
        None => is_company_reader(actor),
    }
}

/// Whether the branch is listed to the actor (`branches`, a branch's ranking): whoever reads
/// its figures, and whoever keeps a book in it.
pub fn may_list_branch(actor: &Actor, branch: BranchId, org: &OrgTree) -> bool {
    may_read_branch(actor, branch, org)
        || matches!(actor.scope, Scope::Book { branch: own, .. } if own == branch)
}

/// Whether the actor may see a staff member in the directory: `branch` is the staff member's
/// branch, `staff_scope` their scope (None branch: head office and region staff, seen by
/// company readers and, for their own region's staff, by that region's manager).
pub fn may_see_staff(
    actor: &Actor,
    org: &OrgTree,
    branch: Option<BranchId>,
    staff_scope: Scope,
) -> bool {
    if is_company_reader(actor) {
        return true;
    }
    match branch {
        Some(b) => may_read_branch(actor, b, org) || book_branch(actor) == Some(b),
        None => matches!(
            (actor.role, actor.scope, staff_scope),
            (Role::RegionManager, Scope::Region { region: mine }, Scope::Region { region })
                if mine == region
        ),
    }
}

/// Whether the directory shows the actor names, roles and organisation only (no dates, no one
/// who left): customer managers and brokers.
pub fn directory_limited(actor: &Actor) -> bool {
    book_branch(actor).is_some()
}

/// What deciding on a ticket needs: its assignee, its customer as assigned now (None: no
/// customer, or one the read side does not know), and its branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TicketTarget {
    pub assignee: Option<StaffId>,
    pub customer: Option<CustomerTarget>,
    pub branch: Option<BranchId>,
}

/// Tickets the actor handles or may see: those assigned to them, their customers' for a book,
/// a branch's for those covering it, the ones tied to no branch for company-scoped readers of
/// customer data.
pub fn may_see_ticket(actor: &Actor, t: &TicketTarget, org: &OrgTree) -> bool {
    if t.assignee == Some(actor.staff_id) {
        return true;
    }
    if t.customer
        .is_some_and(|c| may_read_customer(actor, &c, org))
    {
        return true;
    }
    match t.branch {
        Some(b) => may_read_branch(actor, b, org),
        None => actor.scope == Scope::Company && actor.role != Role::Operator,
    }
}

/// A sales opportunity is seen by its owner and by whoever reads its customer (`customer`:
/// as assigned now; None: a customer the read side does not know).
pub fn may_see_opportunity(
    actor: &Actor,
    owner: StaffId,
    customer: Option<&CustomerTarget>,
    org: &OrgTree,
) -> bool {
    owner == actor.staff_id || customer.is_some_and(|c| may_read_customer(actor, c, org))
}

/// An article for the whole company (`audience` None) reaches everyone; one for a branch
/// reaches those who work in or oversee it.
pub fn may_see_article(actor: &Actor, audience: Option<BranchId>, org: &OrgTree) -> bool {
    match audience {
        None => true,
        Some(b) => {
            matches!(actor.scope, Scope::Book { branch, .. } | Scope::Branch { branch } if branch == b)
                || actor.scope == Scope::Company
                || may_read_branch(actor, b, org)
        }
    }
}

/// Whether the actor may see `staff`'s performance: their own, or whoever reads the figures of
/// the staff member's branch (`staff_branch`; None: the company's).
pub fn may_read_staff_performance(
    actor: &Actor,
    staff: StaffId,
    staff_branch: Option<BranchId>,
    org: &OrgTree,
) -> bool {
    actor.staff_id == staff || may_read_figures(actor, staff_branch, org)
}

/// Whose service compliance (分层服务 考核: contacts and visits due against done) is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceScope {
    /// A staff member's book: their branch and team (None: none).
    Staff {
        staff: StaffId,
        branch: Option<BranchId>,
        team: Option<TeamId>,
    },
    Branch(BranchId),
}

/// Whether the actor may read a service compliance: a staff member's is read by themselves,
/// the lead of their team and whoever reads their branch's figures (the company's readers for
/// a staff member without a branch); a branch's by whoever reads its figures, never from a
/// book.
pub fn may_read_service_compliance(actor: &Actor, scope: ServiceScope, org: &OrgTree) -> bool {
    match scope {
        ServiceScope::Staff {
            staff,
            branch,
            team,
        } => {
            let leads_team = team
                .and_then(|t| org.team_leads.get(&t))
                .is_some_and(|lead| *lead == actor.staff_id);
            actor.staff_id == staff || leads_team || may_read_figures(actor, branch, org)
        }
        ServiceScope::Branch(b) => may_read_branch(actor, b, org),
    }
}

/// The scope of a ranking (leaderboard) as the policy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    Company,
    Region(RegionId),
    Branch(BranchId),
    /// A team, with its branch (None: a team the read side does not know).
    Team {
        team: TeamId,
        branch: Option<BranchId>,
    },
}

/// Whether the actor may read a ranking: the company's company readers; a region's its
/// manager and company readers; a branch's whoever may list the branch; a team's whoever
/// reads its branch, and the team's own members.
pub fn may_read_ranking(actor: &Actor, ranking: Ranking, org: &OrgTree) -> bool {
    match ranking {
        Ranking::Company => is_company_reader(actor),
        Ranking::Region(r) => match (actor.role, actor.scope) {
            (Role::RegionManager, Scope::Region { region }) => region == r,
            _ => is_company_reader(actor),
        },
        Ranking::Branch(b) => may_list_branch(actor, b, org),
        Ranking::Team { team, branch } => {
            branch.is_some_and(|b| may_read_branch(actor, b, org))
                || matches!(actor.scope, Scope::Book { team: Some(own), .. } if own == team)
        }
    }
}

/// Whether a campaign target is on the actor's call list: the targets the actor serves, i.e.
/// whose contact — and so whose campaign response — they may record
/// (`Action::RecordInteraction`). A customer manager's list is their book; a branch manager's
/// or agent's their branch; auditors and operators call nobody.
pub fn on_call_list(actor: &Actor, t: &CustomerTarget, org: &OrgTree) -> bool {
    authorize(actor, &Action::RecordInteraction(*t), org).is_ok()
}

/// Whether the actor sees a saved segment of `branch` (None: the company's) and may preview it:
/// whoever reads the figures of the campaigns that aim at it ([`may_read_figures`]). A preview
/// counts only the customers the actor may read.
pub fn may_see_segment(actor: &Actor, branch: Option<BranchId>, org: &OrgTree) -> bool {
    may_read_figures(actor, branch, org)
}

/// Who reads sealed appraisal results: headquarters and company auditors (they name
/// everyone's pay).
pub fn may_read_sealed_appraisals(actor: &Actor) -> bool {
    match actor.role {
        Role::Headquarters => true,
        Role::Auditor => actor.scope == Scope::Company,
        _ => false,
    }
}

/// Roles that may see identity and phone numbers in full: those who serve the customer
/// (every full view is recorded in the access log). Auditors, agents, region managers and
/// operators see them masked.
pub fn sees_pii(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::Headquarters | Role::BranchManager | Role::CustomerManager | Role::Broker
    )
}

/// Whether the actor is shown the customer `t`'s identity and phone numbers in full: a role
/// that sees them ([`sees_pii`]) reading a customer they may read.
pub fn sees_pii_of(actor: &Actor, t: &CustomerTarget, org: &OrgTree) -> bool {
    sees_pii(actor) && may_read_customer(actor, t, org)
}

/// Whether the actor reads every entry of the access log without asking about each entry's
/// customer: a company auditor. (A region or branch auditor asks
/// `Action::ReadAccessLog { about: Some(..) }` per entry.)
pub fn access_log_sees_all(actor: &Actor) -> bool {
    actor.scope == Scope::Company
        && authorize(
            actor,
            &Action::ReadAccessLog { about: None },
            &OrgTree::default(),
        )
        .is_ok()
}

/// Who reads rule sets and the projections' status (operations): whoever reads the whole log
/// (`Action::ReadHistory`: headquarters, company auditors, operators) or runs rebuilds
/// (`Action::RunRebuild`: operators).
pub fn may_oversee_operations(actor: &Actor) -> bool {
    let org = OrgTree::default();
    authorize(actor, &Action::ReadHistory, &org).is_ok()
        || authorize(actor, &Action::RunRebuild, &org).is_ok()
}

/// Which parts of the org tree the actor's read decisions look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgNeeds {
    /// Which region each branch belongs to: anyone scoped to a region.
    pub branch_regions: bool,
    /// Who leads which team: customer managers and brokers (a team lead sees the team's
    /// customers).
    pub team_leads: bool,
}

/// The part of the org tree `actor`'s decisions need; the rest may be left empty.
pub fn org_tree_needs(actor: &Actor) -> OrgNeeds {
    if matches!(actor.scope, Scope::Region { .. }) {
        return OrgNeeds {
            branch_regions: true,
            team_leads: false,
        };
    }
    OrgNeeds {
        branch_regions: false,
        team_leads: matches!(actor.role, Role::CustomerManager | Role::Broker),
    }
}

#[cfg(test)]
#[path = "read_policy_tests.rs"]
mod tests;
