//! Who works where: `staffDirectory(filter, first, after)` (staff by role, branch, team, since)
//! and `teams(branchId)` (team rosters with lead and members), from the read side's staff
//! records (`crm_projections::views::staff_directory`, `team_rosters`).
//!
//! Scoping (docs/SECURITY.md, "Staff directory"; decided in `crm_domain::read_policy`,
//! `may_see_staff` and `directory_limited`): company readers (headquarters, auditors,
//! service agents at company scope) see everyone; a region manager the staff of their
//! region's branches and of their region; a branch-scoped role the staff of its branch; a
//! customer manager or broker the current staff of their own branch with names, roles and
//! organisation only (no dates, and `includeLeft` is FORBIDDEN). A list is filtered to what
//! the caller may see, like `customers`: a branch the caller does not cover is an empty list.
//! Nothing personal beyond a staff member's name is exposed.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crm_domain::auth::{Right, Scope};
use crm_domain::ids::{BranchId, StaffId, TeamId};
use crm_domain::read_policy;
use crm_projections::views::{self, DirectoryEntry, DirectoryFilter, DirectoryKey, TeamRoster};

use super::backoffice::RoleInput;
use super::caller;
use super::customer_list::page_size;
use super::customers::PageInfo;
use super::readside::{
    forbidden, int, org_tree, parse_uuid, reach, read_models, uuid_id, Reflects,
};
use super::scalars::Long;
use super::settings;
use super::system::RoleKind;
use crate::error::{gql, ApiError};

/// An id and a name of the organisation (a branch, a region, a team).
#[derive(SimpleObject, Debug, Clone)]
pub struct OrgUnit {
    pub id: ID,
    pub name: String,
}

fn unit(x: &(impl std::fmt::Display, String)) -> OrgUnit {
    OrgUnit {
        id: uuid_id(&x.0),
        name: x.1.clone(),
    }
}

/// A staff member as the directory lists them.
#[derive(SimpleObject, Debug, Clone)]
pub struct StaffEntry {
    pub staff_id: ID,
    pub name: String,
    pub role: RoleKind,
    pub branch: Option<OrgUnit>,
    pub region: Option<OrgUnit>,
    pub team: Option<OrgUnit>,
    /// The day they joined (YYYY-MM-DD); null for customer managers and brokers reading.
    pub since: Option<String>,
    /// The day they left, if they did; null for customer managers and brokers reading.
    pub left: Option<String>,
}

impl StaffEntry {
    /// `limited`: a customer manager or broker reads (names, roles and organisation only).
    fn of(e: &DirectoryEntry, limited: bool) -> StaffEntry {
        let day = |d: Option<time::Date>| d.filter(|_| !limited).map(|d| d.to_string());
        StaffEntry {
            staff_id: uuid_id(e.id),
            name: e.name.clone(),
            role: e.role.into(),
            branch: e.branch.as_ref().map(unit),
            region: e.region.as_ref().map(unit),
            team: e.team.as_ref().map(unit),
            since: day(e.since),
            left: day(e.left),
        }
    }
}

#[derive(SimpleObject)]
pub struct StaffEntryEdge {
    pub cursor: String,
    pub node: StaffEntry,
}

#[derive(SimpleObject)]
pub struct StaffDirectoryConnection {
    pub edges: Vec<StaffEntryEdge>,
    pub page_info: PageInfo,
    /// Staff matching the filter that the caller may see.
    pub total_count: i32,
    /// The log position the answer reflects.
    pub position: Long,
    pub reflects: Reflects,
}

#[derive(InputObject, Default)]
pub struct StaffDirectoryFilterInput {
    pub role: Option<RoleInput>,
    pub branch_id: Option<ID>,
    pub team_id: Option<ID>,
    /// Staff who left too (default false); not for customer managers and brokers.
    #[graphql(default)]
    pub include_left: bool,
}

impl StaffDirectoryFilterInput {
    fn parse(&self) -> Result<DirectoryFilter, ApiError> {
        Ok(DirectoryFilter {
            role: self.role.map(Into::into),
            branch: self
                .branch_id
                .as_ref()
                .map(|x| parse_uuid("filter.branchId", x).map(BranchId::from))
                .transpose()?,
            team: self
                .team_id
                .as_ref()
                .map(|x| parse_uuid("filter.teamId", x).map(TeamId::from))
                .transpose()?,
            include_left: self.include_left,
        })
    }
}

fn encode_cursor(k: &DirectoryKey) -> String {
    let branch = k.branch.as_ref().map_or("-".to_string(), |b| {
        format!("b{}", URL_SAFE_NO_PAD.encode(b))
    });
    let name = URL_SAFE_NO_PAD.encode(&k.name);
    URL_SAFE_NO_PAD.encode(format!("staff|{branch}|{name}|{}", k.id))
}

fn decode_cursor(s: &str) -> Result<DirectoryKey, ApiError> {
    let bad = || ApiError::validation("after", "is not a cursor of the staff directory");
    let text = |b64: &str| {
        URL_SAFE_NO_PAD
            .decode(b64)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(bad)
    };
    let raw = text(s.trim())?;
    let parts: Vec<&str> = raw.split('|').collect();
    let ["staff", branch, name, id] = parts.as_slice() else {
        return Err(bad());
    };
    let branch = match *branch {
        "-" => None,
        b => Some(text(b.strip_prefix('b').ok_or_else(bad)?)?),
    };
    Ok(DirectoryKey {
        branch,
        name: text(name)?,
        id: StaffId::from(uuid::Uuid::parse_str(id).map_err(|_| bad())?),
    })
}

/// A team with its lead and its current members.
#[derive(SimpleObject)]
pub struct TeamRosterView {
    pub team_id: ID,
    pub name: String,
    pub branch: OrgUnit,
    pub lead: Option<StaffEntry>,
    pub members: Vec<StaffEntry>,
}

impl TeamRosterView {
    fn of(t: &TeamRoster, limited: bool) -> TeamRosterView {
        TeamRosterView {
            team_id: uuid_id(t.id),
            name: t.name.clone(),
            branch: unit(&t.branch),
            lead: t.lead.as_ref().map(|l| StaffEntry::of(l, limited)),
            members: t
                .members
                .iter()
                .map(|m| StaffEntry::of(m, limited))
                .collect(),
        }
    }
}

#[derive(Default, Debug)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// The staff the caller may see (see docs/SECURITY.md), by branch name (head office and
    /// region staff first), then name; forwards paging with `first` and `after`.
    async fn staff_directory(
        &self,
        ctx: &Context<'_>,
        filter: Option<StaffDirectoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<StaffDirectoryConnection> {
        async {
            let actor = *caller(ctx)?;
            let filter = filter.unwrap_or_default().parse()?;
            let limited = read_policy::directory_limited(&actor);
            if limited && filter.include_left {
                return Err(forbidden(Right::ReadCustomer));
            }
            let first = match page_size(ctx, "first", first)? {
                Some(n) => n,
                None => (settings(ctx)?.page_size_max as usize).min(50),
            };
            let after = after.as_deref().map(decode_cursor).transpose()?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let reflects = Reflects::of(models);
            let page = models.read(|m, _| {
                let org = org_tree(&actor, m);
                let visible = |e: &DirectoryEntry| {
                    read_policy::may_see_staff(
                        &actor,
                        &org,
                        e.branch.as_ref().map(|b| b.0),
                        e.scope,
                    )
                };
                views::staff_directory(m, &filter, visible, after.as_ref(), first)
            });
            let edges: Vec<StaffEntryEdge> = page
                .entries
                .iter()
                .map(|e| StaffEntryEdge {
                    cursor: encode_cursor(&e.key()),
                    node: StaffEntry::of(e, limited),
                })
                .collect();
            Ok(StaffDirectoryConnection {
                page_info: PageInfo {
                    has_next_page: page.has_next,
                    has_previous_page: after.is_some(),
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                },
                edges,
                total_count: int(page.total),
                position: reflects.position,
                reflects,
            })
        }
        .await
        .map_err(gql)
    }

    /// The teams (not dissolved) of the branches the caller may see, or of one branch, by
    /// branch name then team name, each with its lead and current members.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        branch_id: Option<ID>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Vec<TeamRosterView>> {
        async {
            let actor = *caller(ctx)?;
            let branch = branch_id
                .as_ref()
                .map(|x| parse_uuid("branchId", x).map(BranchId::from))
                .transpose()?;
            let limited = read_policy::directory_limited(&actor);
            reach(ctx, at_position).await?;
            Ok(read_models(ctx)?.read(|m, _| {
                let org = org_tree(&actor, m);
                views::team_rosters(m, branch)
                    .iter()
                    .filter(|t| {
                        read_policy::may_see_staff(&actor, &org, Some(t.branch.0), Scope::Company)
                    })
                    .map(|t| TeamRosterView::of(t, limited))
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }
}
