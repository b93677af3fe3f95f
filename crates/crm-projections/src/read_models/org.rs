//! The organisation tree (regions, branches, teams, staff, products) and the lookups the
//! command side and the API need (identity, a customer's branch and manager).

use crate::model::Model;
use crate::read_models::archive::CustomerRecord;
use crate::read_models::performance::StaffRecord;
use crm_domain::auth::{OrgTree, Role, Scope, TokenStanding};
use crm_domain::branch::BranchKind;
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, ProductId, RegionId, StaffId, TeamId};
use crm_domain::product::ProductKind;
use crm_domain::risk::ProductRisk;
use crm_domain::{branch, product, region, staff};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInfo {
    pub name: String,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchInfo {
    pub name: String,
    pub region: RegionId,
    pub kind: BranchKind,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInfo {
    pub branch: BranchId,
    pub name: String,
    pub lead: Option<StaffId>,
    pub dissolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    pub name: String,
    pub kind: ProductKind,
    pub risk: ProductRisk,
    pub withdrawn: bool,
}

pub(crate) fn apply_region(m: &mut Model, e: &region::Event) {
    use region::Event as E;
    match e {
        E::RegionEstablished {
            region_id, name, ..
        } => {
            m.meta.regions.insert(
                *region_id,
                RegionInfo {
                    name: name.as_str().to_string(),
                    closed: false,
                },
            );
        }
        E::RegionRenamed {
            region_id, name, ..
        } => {
            if let Some(r) = m.meta.regions.get_mut(region_id) {
                r.name = name.as_str().to_string();
            }
        }
        E::RegionClosed { region_id, .. } => {
            if let Some(r) = m.meta.regions.get_mut(region_id) {
                r.closed = true;
            }
        }
    }
}

pub(crate) fn apply_branch(m: &mut Model, e: &branch::Event) {
    use branch::Event as E;
    match e {
        E::BranchOpened {
            branch_id,
            region_id,
            name,
            kind,
            ..
        } => {
            m.meta.branches.insert(
                *branch_id,
                BranchInfo {
                    name: name.as_str().to_string(),
                    region: *region_id,
                    kind: *kind,
                    closed: false,
                },
            );
        }
        E::BranchRenamed {
            branch_id, name, ..
        } => {
            if let Some(b) = m.meta.branches.get_mut(branch_id) {
                b.name = name.as_str().to_string();
            }
        }
        E::BranchMovedToRegion { branch_id, to, .. } => {
            if let Some(b) = m.meta.branches.get_mut(branch_id) {
                b.region = *to;
            }
        }
        E::ServicePointAdded { .. } | E::ServicePointClosed { .. } => {}
        E::TeamFormed {
            branch_id,
            team_id,
            name,
            lead,
            ..
        } => {
            m.meta.teams.insert(
                *team_id,
                TeamInfo {
                    branch: *branch_id,
                    name: name.as_str().to_string(),
                    lead: *lead,
                    dissolved: false,
                },
            );
        }
        E::TeamLeadChanged { team_id, lead, .. } => {
            if let Some(t) = m.meta.teams.get_mut(team_id) {
                t.lead = *lead;
            }
        }
        E::TeamDissolved { team_id, .. } => {
            if let Some(t) = m.meta.teams.get_mut(team_id) {
                t.dissolved = true;
            }
        }
        E::BranchClosed { branch_id, .. } => {
            if let Some(b) = m.meta.branches.get_mut(branch_id) {
                b.closed = true;
            }
        }
    }
}

pub(crate) fn apply_staff(m: &mut Model, e: &staff::Event) {
    use staff::Event as E;
    match e {
        E::StaffJoined {
            staff_id,
            name,
            role,
            scope,
            ..
        } => {
            let s = m
                .staff
                .entry_or_insert_with(*staff_id, || StaffRecord::new(*staff_id));
            s.name = name.as_str().to_string();
            s.role = Some(*role);
            s.scope = Some(*scope);
        }
        E::StaffMoved { staff_id, to, .. } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.scope = Some(*to);
            }
        }
        E::StaffRoleChanged {
            staff_id,
            role,
            scope,
            ..
        } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.role = Some(*role);
                s.scope = Some(*scope);
            }
        }
        E::StaffLeft { staff_id, .. } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.left = true;
            }
        }
        E::StaffTokensRevoked {
            staff_id,
            issued_before,
            ..
        } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.tokens_valid_from = s.tokens_valid_from.max(Some(*issued_before));
            }
        }
    }
}

/// What the API checks a token against at every request: the staff member as the directory
/// records them now (None: never joined).
pub fn staff_token_standing(m: &Model, staff: StaffId) -> Option<TokenStanding> {
    let s = m.staff.get(&staff)?;
    Some(TokenStanding {
        role: s.role?,
        scope: s.scope?,
        left: s.left,
        tokens_valid_from: s.tokens_valid_from,
    })
}

/// Whether nobody has joined yet (a fresh installation: tokens are not checked against the
/// directory until someone has).
pub fn directory_is_empty(m: &Model) -> bool {
    !m.staff.values().any(|s| s.role.is_some())
}

pub(crate) fn apply_product(m: &mut Model, e: &product::Event) {
    use product::Event as E;
    match e {
        E::ProductLaunched {
            product_id,
            name,
            kind,
            risk,
            ..
        } => {
            m.meta.products.insert(
                *product_id,
                ProductInfo {
                    name: name.as_str().to_string(),
                    kind: *kind,
                    risk: *risk,
                    withdrawn: false,
                },
            );
        }
        E::ProductRiskLevelChanged { product_id, to, .. } => {
            if let Some(x) = m.meta.products.get_mut(product_id) {
                x.risk = *to;
            }
        }
        E::ProductWithdrawn { product_id, .. } => {
            if let Some(x) = m.meta.products.get_mut(product_id) {
                x.withdrawn = true;
            }
        }
    }
}

/// Who serves a customer, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerOrg {
    pub customer: CustomerId,
    pub branch: Option<BranchId>,
    pub region: Option<RegionId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub merged_into: Option<CustomerId>,
}

pub fn customer_org(m: &Model, id: CustomerId) -> Option<CustomerOrg> {
    let c = m.customers.get(&id)?;
    Some(CustomerOrg {
        customer: id,
        branch: c.branch(),
        region: c
            .branch()
            .and_then(|b| m.meta.branches.get(&b))
            .map(|b| b.region),
        manager: c.manager(),
        team: c.assignment.and_then(|a| a.team),
        merged_into: c.merged_into,
    })
}

/// Identity resolution: the (surviving) customer holding an ID document, by its identity key
/// (`IdDocument::identity_key`).
pub fn customer_by_document(m: &Model, identity_key: &str) -> Option<CustomerId> {
    let mut hits: Vec<&CustomerRecord> = m
        .customers
        .values()
        .filter(|c| c.profile.document.identity_key() == identity_key)
        .collect();
    hits.sort_unstable_by_key(|c| (c.lifecycle == Lifecycle::Merged, c.id));
    hits.first().map(|c| c.id)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffNode {
    pub id: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub branch: Option<BranchId>,
    pub team: Option<TeamId>,
    pub left: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchNode {
    pub id: BranchId,
    pub name: String,
    pub region: RegionId,
    pub closed: bool,
}

/// The organisation: regions, branches, teams and staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    pub regions: Vec<(RegionId, String)>,
    pub branches: Vec<BranchNode>,
    pub teams: Vec<(TeamId, BranchId, String)>,
    pub staff: Vec<StaffNode>,
}

impl OrgView {
    /// The org tree as `crm_domain::auth` needs it.
    pub fn auth_tree(&self) -> OrgTree {
        OrgTree {
            branch_regions: self.branches.iter().map(|b| (b.id, b.region)).collect(),
            ..OrgTree::default()
        }
    }
}

pub fn org(m: &Model) -> OrgView {
    let mut staff: Vec<StaffNode> = m
        .staff
        .values()
        .filter(|s| s.role.is_some())
        .map(|s| StaffNode {
            id: s.id,
            name: s.name.clone(),
            role: s.role,
            scope: s.scope,
            branch: s.branch(),
            team: s.team(),
            left: s.left,
        })
        .collect();
    staff.sort_unstable_by_key(|s| s.id);
    OrgView {
        regions: m
            .meta
            .regions
            .iter()
            .map(|(id, r)| (*id, r.name.clone()))
            .collect(),
        branches: m
            .meta
            .branches
            .iter()
            .map(|(id, b)| BranchNode {
                id: *id,
                name: b.name.clone(),
                region: b.region,
                closed: b.closed,
            })
            .collect(),
        teams: m
            .meta
            .teams
            .iter()
            .filter(|(_, t)| !t.dissolved)
            .map(|(id, t)| (*id, t.branch, t.name.clone()))
            .collect(),
        staff,
    }
}

/// A branch, by id.
pub fn branch(m: &Model, id: BranchId) -> Option<&BranchInfo> {
    m.meta.branches.get(&id)
}

/// Every branch, in id order.
pub fn branches(m: &Model) -> impl Iterator<Item = (BranchId, &BranchInfo)> {
    m.meta.branches.iter().map(|(id, b)| (*id, b))
}

/// The branches of a region that are not closed.
pub fn open_branches_in_region(m: &Model, region: RegionId) -> usize {
    m.meta
        .branches
        .values()
        .filter(|b| b.region == region && !b.closed)
        .count()
}

/// A team, by id.
pub fn team(m: &Model, id: TeamId) -> Option<&TeamInfo> {
    m.meta.teams.get(&id)
}

/// Every team, in id order.
pub fn teams(m: &Model) -> impl Iterator<Item = (TeamId, &TeamInfo)> {
    m.meta.teams.iter().map(|(id, t)| (*id, t))
}

/// A staff member, by id.
pub fn staff(m: &Model, id: StaffId) -> Option<&StaffRecord> {
    m.staff.get(&id)
}

/// The product catalogue, in id order.
pub fn products(m: &Model) -> impl Iterator<Item = (ProductId, &ProductInfo)> {
    m.meta.products.iter().map(|(id, p)| (*id, p))
}
