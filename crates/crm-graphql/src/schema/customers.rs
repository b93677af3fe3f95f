//! `customer(id)` and `customers(filter, first, after)`: the customer list read model, scoped
//! where it is read — a customer the caller may not read is neither returned nor counted.
//! `atPosition` makes a query wait until the read model has applied that log position (read
//! your own write), or fail with TIMEOUT.

use std::time::Duration;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use crm_domain::auth::{authorize, Action, Actor, CustomerTarget, OrgTree};
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, StaffId, TeamId};
use crm_projections::{CustomerFilter, CustomerSummary, CustomersProjection, Projected};

use super::history::LifecycleStatus;
use super::scalars::{global_id, DateTime, Long};
use super::{caller, settings};
use crate::error::{gql, ApiError};
use crate::ops::{ProjectionProbe, ProjectionProgress};

/// How long a query waits for the read model to reach `atPosition`.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

/// The running customer read model, as the edge's readiness probe sees it.
#[derive(Debug, Clone)]
pub struct CustomerReadModel(pub Projected<CustomersProjection>);

impl ProjectionProbe for CustomerReadModel {
    fn progress(&self) -> Vec<ProjectionProgress> {
        vec![ProjectionProgress {
            name: "customer_list".into(),
            checkpoint: crm_eventstore::Position(self.0.position()),
        }]
    }
}

fn model<'a>(ctx: &Context<'a>) -> Result<&'a Projected<CustomersProjection>, ApiError> {
    ctx.data_opt::<CustomerReadModel>()
        .map(|m| &m.0)
        .ok_or_else(|| ApiError::Internal("the schema was built without the read models".into()))
}

async fn reach(ctx: &Context<'_>, at_position: Option<Long>) -> Result<(), ApiError> {
    if let Some(Long(position)) = at_position {
        model(ctx)?
            .wait_for(position, READ_YOUR_WRITES_WAIT)
            .await
            .map_err(|e| match e {
                crm_projections::ProjectionError::Timeout { waited_ms, .. } => {
                    ApiError::Timeout { ms: waited_ms }
                }
                other => ApiError::Internal(other.to_string()),
            })?;
    }
    Ok(())
}

fn visible(actor: &Actor, c: &CustomerSummary) -> bool {
    let target = c
        .assignment
        .as_ref()
        .map(|a| CustomerTarget {
            branch: Some(a.branch),
            manager: a.manager,
            team: a.team,
        })
        .unwrap_or_default();
    authorize(actor, &Action::ReadCustomer(target), &OrgTree::default()).is_ok()
}

fn parse_uuid(field: &str, id: &ID) -> Result<uuid::Uuid, ApiError> {
    let raw = id.as_str().trim();
    let local = super::parse_global_id(raw)
        .map(|(_, l)| l)
        .unwrap_or_else(|| raw.to_string());
    uuid::Uuid::parse_str(&local)
        .map_err(|_| ApiError::validation(field, format!("'{raw}' is not an id")))
}

/// A customer in the list: who, where in the lifecycle, who serves them, what they hold.
#[derive(SimpleObject)]
pub struct Customer {
    pub id: ID,
    pub customer_id: ID,
    pub name: String,
    pub lifecycle: LifecycleStatus,
    pub key_customer: bool,
    pub branch_id: Option<ID>,
    pub manager_id: Option<ID>,
    pub team_id: Option<ID>,
    pub open_accounts: i32,
    /// C1–C5 and the first day it no longer holds.
    pub suitability_level: Option<String>,
    pub suitability_expires_on: Option<String>,
    /// 日终总资产 in yuan (4 decimals), over all accounts at their latest trade date.
    pub assets: String,
    pub assets_date: Option<String>,
    pub last_contact: Option<DateTime>,
    pub registered_at: DateTime,
    pub merged_into: Option<ID>,
    /// The log position of the last event that changed this customer.
    pub position: Long,
}

impl From<&CustomerSummary> for Customer {
    fn from(c: &CustomerSummary) -> Self {
        let a = c.assignment.as_ref();
        Customer {
            id: global_id("Customer", c.id),
            customer_id: ID(c.id.to_string()),
            name: c.name.clone(),
            lifecycle: c.lifecycle.into(),
            key_customer: c.key_customer,
            branch_id: a.map(|a| ID(a.branch.to_string())),
            manager_id: a.and_then(|a| a.manager).map(|m| ID(m.to_string())),
            team_id: a.and_then(|a| a.team).map(|t| ID(t.to_string())),
            open_accounts: i32::try_from(c.open_accounts.len()).unwrap_or(i32::MAX),
            suitability_level: c.suitability.map(|s| format!("{:?}", s.level)),
            suitability_expires_on: c.suitability.map(|s| s.expires_on.to_string()),
            assets: c.assets.to_string(),
            assets_date: c.assets_date.map(|d| d.to_string()),
            last_contact: c.last_contact.map(DateTime),
            registered_at: DateTime(c.registered_at),
            merged_into: c.merged_into.map(|m| ID(m.to_string())),
            position: Long(c.position),
        }
    }
}

#[derive(SimpleObject)]
pub struct CustomerEdge {
    pub cursor: String,
    pub node: Customer,
}

#[derive(SimpleObject)]
pub struct CustomerPageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct CustomerConnection {
    pub edges: Vec<CustomerEdge>,
    pub page_info: CustomerPageInfo,
    /// Customers matching the filter that the caller may read.
    pub total_count: i32,
    /// The log position the answer reflects.
    pub position: Long,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LifecycleFilter {
    Prospect,
    Active,
    Dormant,
    Churned,
    Closed,
    Merged,
}

impl From<LifecycleFilter> for Lifecycle {
    fn from(l: LifecycleFilter) -> Self {
        match l {
            LifecycleFilter::Prospect => Lifecycle::Prospect,
            LifecycleFilter::Active => Lifecycle::Active,
            LifecycleFilter::Dormant => Lifecycle::Dormant,
            LifecycleFilter::Churned => Lifecycle::Churned,
            LifecycleFilter::Closed => Lifecycle::Closed,
            LifecycleFilter::Merged => Lifecycle::Merged,
        }
    }
}

#[derive(InputObject, Default)]
pub struct CustomerFilterInput {
    pub branch_id: Option<ID>,
    pub manager_id: Option<ID>,
    pub team_id: Option<ID>,
    pub lifecycle: Option<LifecycleFilter>,
    pub key_customer: Option<bool>,
    /// Part of the name, or the start of the customer id.
    pub text: Option<String>,
}

impl CustomerFilterInput {
    fn parse(&self) -> Result<CustomerFilter, ApiError> {
        Ok(CustomerFilter {
            branch: self
                .branch_id
                .as_ref()
                .map(|b| parse_uuid("branchId", b).map(BranchId::from))
                .transpose()?,
            manager: self
                .manager_id
                .as_ref()
                .map(|m| parse_uuid("managerId", m).map(StaffId::from))
                .transpose()?,
            team: self
                .team_id
                .as_ref()
                .map(|t| parse_uuid("teamId", t).map(TeamId::from))
                .transpose()?,
            lifecycle: self.lifecycle.map(Into::into),
            key_customer: self.key_customer,
            text: self.text.clone().filter(|t| !t.is_empty()),
        })
    }
}

/// A projection's progress, for operators.
#[derive(SimpleObject)]
pub struct ProjectionState {
    pub name: String,
    pub position: Long,
    pub head: Long,
    pub lag_events: Long,
    pub events_per_sec: f64,
    pub flushed: Long,
    pub last_error: Option<String>,
}

#[derive(Default, Debug)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// One customer, if the caller may read them.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        id: ID,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Option<Customer>> {
        async {
            let actor = *caller(ctx)?;
            let id = CustomerId::from(parse_uuid("id", &id)?);
            reach(ctx, at_position).await?;
            let found = model(ctx)?.read(|s| s.by_id.get(&id).cloned());
            match found {
                None => Ok(None),
                Some(c) if visible(&actor, &c) => Ok(Some(Customer::from(&c))),
                Some(_) => Err(ApiError::from(crm_domain::DomainError::Forbidden {
                    missing_right: crm_domain::auth::Right::ReadCustomer,
                })),
            }
        }
        .await
        .map_err(gql)
    }

    /// Customers matching `filter` that the caller may read, in id order; `after` is a cursor
    /// from a previous page.
    async fn customers(
        &self,
        ctx: &Context<'_>,
        filter: Option<CustomerFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<CustomerConnection> {
        async {
            let actor = *caller(ctx)?;
            let max = settings(ctx)?.page_size_max as usize;
            let first = match first {
                None => max.min(50),
                Some(n) if n >= 0 && (n as usize) <= max => n as usize,
                Some(_) => {
                    return Err(ApiError::validation(
                        "first",
                        format!("must be between 0 and {max}"),
                    ))
                }
            };
            let after = after
                .map(|c| {
                    uuid::Uuid::parse_str(&c)
                        .map(CustomerId::from)
                        .map_err(|_| {
                            ApiError::validation("after", "is not a cursor from this list")
                        })
                })
                .transpose()?;
            let filter = filter.unwrap_or_default().parse()?;
            reach(ctx, at_position).await?;
            let projected = model(ctx)?;
            let position = projected.position();
            // One more than asked tells whether another page follows.
            let (mut page, total) =
                projected.read(|s| s.list(&filter, |c| visible(&actor, c), after, first + 1));
            let has_next_page = page.len() > first;
            page.truncate(first);
            let edges: Vec<CustomerEdge> = page
                .iter()
                .map(|c| CustomerEdge {
                    cursor: c.id.to_string(),
                    node: Customer::from(c),
                })
                .collect();
            Ok(CustomerConnection {
                page_info: CustomerPageInfo {
                    has_next_page,
                    has_previous_page: after.is_some(),
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                },
                edges,
                total_count: i32::try_from(total).unwrap_or(i32::MAX),
                position: Long(position),
            })
        }
        .await
        .map_err(gql)
    }

    /// Where each read model is, for operators, HQ and auditors.
    async fn projection_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ProjectionState>> {
        async {
            let actor = caller(ctx)?;
            if authorize(actor, &Action::ReadHistory, &OrgTree::default()).is_err()
                && authorize(actor, &Action::RunRebuild, &OrgTree::default()).is_err()
            {
                return Err(ApiError::from(crm_domain::DomainError::Forbidden {
                    missing_right: crm_domain::auth::Right::RunRebuild,
                }));
            }
            let s = model(ctx)?.status();
            Ok(vec![ProjectionState {
                name: s.name.to_string(),
                position: Long(s.position),
                head: Long(s.head),
                lag_events: Long(s.lag_events),
                events_per_sec: s.events_per_sec,
                flushed: Long(s.flushed),
                last_error: s.last_error,
            }])
        }
        .await
        .map_err(gql)
    }
}
