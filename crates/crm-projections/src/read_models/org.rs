//! The organisation tree (regions, branches, teams, staff, products) and the lookups the
//! command side and the API need (identity, a customer's branch and manager).

use crate::model::{business_date, Model};
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
use time::Date;

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
            at,
        } => {
            let s = m
                .staff
                .entry_or_insert_with(*staff_id, || StaffRecord::new(*staff_id));
            s.name = name.as_str().to_string();
            s.role = Some(*role);
            s.scope = Some(*scope);
            s.joined_on = Some(business_date(*at));
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
        E::StaffLeft { staff_id, at, .. } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.left = true;
                s.left_on = Some(business_date(*at));
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

/// Every region the read side knows, with its name and whether it is closed.
pub fn regions(m: &Model) -> impl Iterator<Item = (RegionId, &RegionInfo)> {
    m.meta.regions.iter().map(|(id, r)| (*id, r))
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

/// Which staff the directory lists: every field that is set must match; staff who left are
/// listed only with `include_left`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryFilter {
    pub role: Option<Role>,
    pub branch: Option<BranchId>,
    pub team: Option<TeamId>,
    pub include_left: bool,
}

/// One staff member in the directory: who, what and where, and since when. Nothing personal
/// beyond the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// The branch and its name (branch and book scopes).
    pub branch: Option<(BranchId, String)>,
    /// The region and its name: the branch's region, or a region scope's own.
    pub region: Option<(RegionId, String)>,
    pub team: Option<(TeamId, String)>,
    /// The business day they joined.
    pub since: Option<Date>,
    /// The business day they left, if they did.
    pub left: Option<Date>,
}

/// The directory's order: by branch name (staff without a branch, head office and regions,
/// first), then name, then id. A cursor is the key of the last entry seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DirectoryKey {
    pub branch: Option<String>,
    pub name: String,
    pub id: StaffId,
}

impl DirectoryEntry {
    pub fn key(&self) -> DirectoryKey {
        DirectoryKey {
            branch: self.branch.as_ref().map(|(_, name)| name.clone()),
            name: self.name.clone(),
            id: self.id,
        }
    }
}

/// One page of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryPage {
    pub entries: Vec<DirectoryEntry>,
    /// Entries after this page.
    pub has_next: bool,
    /// Entries matching the filter that `visible` lets through, over all pages.
    pub total: usize,
}

fn directory_entry(m: &Model, s: &StaffRecord) -> Option<DirectoryEntry> {
    let role = s.role?;
    let scope = s.scope?;
    let branch = s.branch();
    let region = match scope {
        Scope::Region { region } => Some(region),
        _ => branch
            .and_then(|b| m.meta.branches.get(&b))
            .map(|b| b.region),
    };
    let team = s.team();
    Some(DirectoryEntry {
        id: s.id,
        name: s.name.clone(),
        role,
        scope,
        branch: branch.map(|b| {
            let name = m.meta.branches.get(&b).map(|x| x.name.clone());
            (b, name.unwrap_or_default())
        }),
        region: region.map(|r| {
            let name = m.meta.regions.get(&r).map(|x| x.name.clone());
            (r, name.unwrap_or_default())
        }),
        team: team.map(|t| {
            let name = m.meta.teams.get(&t).map(|x| x.name.clone());
            (t, name.unwrap_or_default())
        }),
        since: s.joined_on,
        left: s.left_on,
    })
}

/// A staff member's directory entry (None: never joined).
pub fn directory_entry_of(m: &Model, id: StaffId) -> Option<DirectoryEntry> {
    m.staff.get(&id).and_then(|s| directory_entry(m, s))
}

/// The staff directory: the entries matching `filter` that `visible` lets through (the API's
/// scoping), in [`DirectoryKey`] order, at most `first` after the key `after`.
pub fn staff_directory(
    m: &Model,
    filter: &DirectoryFilter,
    visible: impl Fn(&DirectoryEntry) -> bool,
    after: Option<&DirectoryKey>,
    first: usize,
) -> DirectoryPage {
    let mut hits: Vec<(DirectoryKey, DirectoryEntry)> = m
        .staff
        .values()
        .filter(|s| filter.include_left || !s.left)
        .filter(|s| filter.role.is_none() || s.role == filter.role)
        .filter(|s| filter.branch.is_none() || s.branch() == filter.branch)
        .filter(|s| filter.team.is_none() || s.team() == filter.team)
        .filter_map(|s| directory_entry(m, s))
        .filter(|e| visible(e))
        .map(|e| (e.key(), e))
        .collect();
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let total = hits.len();
    let start = after.map_or(0, |k| hits.partition_point(|(key, _)| key <= k));
    let rest = hits.len().saturating_sub(start);
    DirectoryPage {
        entries: hits
            .into_iter()
            .skip(start)
            .take(first)
            .map(|(_, e)| e)
            .collect(),
        has_next: rest > first,
        total,
    }
}

/// A team with its lead and its current members (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRoster {
    pub id: TeamId,
    pub name: String,
    pub branch: (BranchId, String),
    pub lead: Option<DirectoryEntry>,
    pub members: Vec<DirectoryEntry>,
}

/// The teams that are not dissolved, of one branch or all, by branch name then team name,
/// each with its lead and the members who have not left.
pub fn team_rosters(m: &Model, branch: Option<BranchId>) -> Vec<TeamRoster> {
    let mut members: std::collections::BTreeMap<TeamId, Vec<DirectoryEntry>> =
        std::collections::BTreeMap::new();
    for s in m.staff.values().filter(|s| !s.left) {
        if let (Some(t), Some(e)) = (s.team(), directory_entry(m, s)) {
            members.entry(t).or_default().push(e);
        }
    }
    let mut out: Vec<TeamRoster> = m
        .meta
        .teams
        .iter()
        .filter(|(_, t)| !t.dissolved && branch.is_none_or(|b| b == t.branch))
        .map(|(id, t)| {
            let mut list = members.remove(id).unwrap_or_default();
            list.sort_unstable_by_key(DirectoryEntry::key);
            let branch_name = m.meta.branches.get(&t.branch).map(|b| b.name.clone());
            TeamRoster {
                id: *id,
                name: t.name.clone(),
                branch: (t.branch, branch_name.unwrap_or_default()),
                lead: t.lead.and_then(|l| directory_entry_of(m, l)),
                members: list,
            }
        })
        .collect();
    out.sort_unstable_by(|a, b| (&a.branch.1, &a.name, a.id).cmp(&(&b.branch.1, &b.name, b.id)));
    out
}
