//! `customers(filter, orderBy, first, after, last, before)`: the scoped, paged customer list,
//! and `customer(id)`. A customer the caller may not read is neither returned nor counted.
//!
//! A page is answered under one read of the model: rows, branch and manager names, and — only
//! when the selection asks for archive fields — each row's archive, so a page of 100
//! customers with their managers costs one read, not 101.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crm_domain::customer::CustomerKind;
use crm_domain::ids::{BranchId, CustomerId, RegionId, StaffId, TeamId};
use crm_domain::Money;
use crm_projections::model::CustomerRecord;
use crm_projections::views::{self, CustomerCursor, CustomerOrder, SegmentFilter, Window};

use super::caller;
use super::customers::{Customer, CustomerKindValue};
use super::eventlog::PageInfo;
use super::readside::{
    date_arg, int, may_read, org_tree, parse_uuid, reach, read_models, ChurnRisk, Reflects,
    RiskPreference, Tier,
};
use super::scalars::Long;
use super::settings;
use crate::error::{gql, ApiError};

/// Archive fields: a page prefetches archives only when one of these is selected.
const ARCHIVE_FIELDS: &[&str] = &[
    "profile",
    "accounts",
    "assignmentHistory",
    "pendingTransfer",
    "suitability",
    "campaigns",
    "products",
    "holdings",
    "churn",
    "asOf",
    "registeredAt",
    "lastContact",
    "lastTrade",
    "keyCustomer",
    "groupCustomer",
    "unrealisedPnl",
];

#[derive(SimpleObject)]
pub struct CustomerEdge {
    pub cursor: String,
    pub node: Customer,
}

#[derive(SimpleObject)]
pub struct CustomerConnection {
    pub edges: Vec<CustomerEdge>,
    pub page_info: PageInfo,
    /// Customers matching the filter that the caller may read.
    pub total_count: i32,
    /// The log position the answer reflects.
    pub position: Long,
    pub reflects: Reflects,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::customer::Lifecycle")]
pub enum LifecycleFilter {
    Prospect,
    Active,
    Dormant,
    Churned,
    Closed,
    Merged,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(remote = "crm_projections::views::CustomerOrder")]
pub enum CustomerOrderBy {
    /// By customer id: stable, the default.
    #[default]
    Id,
    AssetsDesc,
    ScoreDesc,
    Name,
}

#[derive(InputObject, Default)]
pub struct CustomerFilterInput {
    pub branch_id: Option<ID>,
    pub region_id: Option<ID>,
    pub manager_id: Option<ID>,
    pub team_id: Option<ID>,
    pub tier: Option<Tier>,
    pub risk_preference: Option<RiskPreference>,
    pub churn_risk: Option<ChurnRisk>,
    pub lifecycle: Option<LifecycleFilter>,
    pub kind: Option<CustomerKindValue>,
    pub key_customer: Option<bool>,
    /// Assets of at least this many yuan.
    pub min_assets: Option<String>,
    /// Part of the name, the name in pinyin (initials `zs` or full `zhangsan` for 张三, any
    /// reading of a character with several, `v` for ü), or the start of the customer id.
    pub text: Option<String>,
    /// The date churn risk is evaluated at (YYYY-MM-DD); default the log's latest.
    pub as_of: Option<String>,
}

impl CustomerFilterInput {
    pub(crate) fn parse(&self) -> Result<SegmentFilter, ApiError> {
        let id = |field: &str, v: &Option<ID>| v.as_ref().map(|x| parse_uuid(field, x)).transpose();
        Ok(SegmentFilter {
            branch: id("branchId", &self.branch_id)?.map(BranchId::from),
            region: id("regionId", &self.region_id)?.map(RegionId::from),
            manager: id("managerId", &self.manager_id)?.map(StaffId::from),
            team: id("teamId", &self.team_id)?.map(TeamId::from),
            tier: self.tier.map(Into::into),
            risk_preference: self.risk_preference.map(Into::into),
            churn_risk: self.churn_risk.map(Into::into),
            lifecycle: self.lifecycle.map(Into::into),
            kind: self.kind.map(Into::<CustomerKind>::into),
            key_customer: self.key_customer,
            min_assets: self
                .min_assets
                .as_deref()
                .map(|s| {
                    Money::parse(s.trim()).map_err(|_| {
                        ApiError::validation("minAssets", format!("'{s}' is not an amount"))
                    })
                })
                .transpose()?,
            text: self.text.clone().filter(|t| !t.trim().is_empty()),
            as_of: self
                .as_of
                .as_deref()
                .map(|d| date_arg("asOf", d))
                .transpose()?,
        })
    }
}

fn encode_cursor(order: CustomerOrder, c: &CustomerCursor) -> String {
    let key = match &c.key {
        views::SortKey::Number(n) => format!("n{n}"),
        views::SortKey::Text(t) => format!("t{}", URL_SAFE_NO_PAD.encode(t)),
    };
    URL_SAFE_NO_PAD.encode(format!("{order:?}|{key}|{}", c.id))
}

fn decode_cursor(field: &str, order: CustomerOrder, s: &str) -> Result<CustomerCursor, ApiError> {
    let bad = || ApiError::validation(field, "is not a cursor of this list and order");
    let raw = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.splitn(3, '|');
    let (Some(o), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if o != format!("{order:?}") {
        return Err(bad());
    }
    let key = if let Some(n) = key.strip_prefix('n') {
        views::SortKey::Number(n.parse().map_err(|_| bad())?)
    } else if let Some(t) = key.strip_prefix('t') {
        let bytes = URL_SAFE_NO_PAD.decode(t).map_err(|_| bad())?;
        views::SortKey::Text(String::from_utf8(bytes).map_err(|_| bad())?)
    } else {
        return Err(bad());
    };
    let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(CustomerCursor {
        key,
        id: CustomerId::from(id),
    })
}

/// Whether a selection of a customer asks for any archive field.
fn archive_selected(customer: async_graphql::Lookahead<'_>) -> bool {
    ARCHIVE_FIELDS.iter().any(|f| customer.field(f).exists())
}

pub(crate) fn page_size(
    ctx: &Context<'_>,
    field: &str,
    n: Option<i32>,
) -> Result<Option<usize>, ApiError> {
    let max = settings(ctx)?.page_size_max as usize;
    match n {
        None => Ok(None),
        Some(n) if n >= 0 && (n as usize) <= max => Ok(Some(n as usize)),
        Some(_) => Err(ApiError::validation(
            field,
            format!("must be between 0 and {max}"),
        )),
    }
}

/// One customer if the caller may read them, with the archive when the selection asks for it.
/// A customer the caller may not read is `None`, exactly as one that does not exist: the
/// answer is no oracle of who is a customer (issue #13, item 10).
pub(crate) fn customer_by_id(
    ctx: &Context<'_>,
    actor: &crm_domain::auth::Actor,
    id: CustomerId,
) -> Result<Option<Customer>, ApiError> {
    Ok(read_models(ctx)?.read(|m, r| {
        let c = views::customer(m, id)?;
        if !may_read(actor, c, &org_tree(actor, m)) {
            return None;
        }
        let row = views::customer_row(m, r, id, None)?;
        let look = ctx.look_ahead();
        // Through `node`, the archive fields sit under an inline fragment on Customer.
        let archive = archive_selected(look)
            .then(|| views::customer_360_resident(m, r, id, None))
            .flatten();
        Some(Customer::of(m, row, archive, None))
    }))
}

#[derive(Default, Debug)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// One customer's archive (360), if the caller may read them. NOT_FOUND, with the same
    /// message, for a customer that does not exist and for one the caller may not read.
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
            customer_by_id(ctx, &actor, id)?
                .map(Some)
                .ok_or_else(|| ApiError::NotFound("customer".into()))
        }
        .await
        .map_err(gql)
    }

    /// Customers matching `filter` that the caller may read, in `orderBy`; Relay paging
    /// forwards (`first`, `after`) or backwards (`last`, `before`).
    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        filter: Option<CustomerFilterInput>,
        order_by: Option<CustomerOrderBy>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<CustomerConnection> {
        async {
            let actor = *caller(ctx)?;
            let order: CustomerOrder = order_by.unwrap_or_default().into();
            let mut window = Window {
                first: page_size(ctx, "first", first)?,
                last: page_size(ctx, "last", last)?,
                after: after
                    .as_deref()
                    .map(|c| decode_cursor("after", order, c))
                    .transpose()?,
                before: before
                    .as_deref()
                    .map(|c| decode_cursor("before", order, c))
                    .transpose()?,
            };
            if window.first.is_none() && window.last.is_none() {
                window.first = Some((settings(ctx)?.page_size_max as usize).min(50));
            }
            let filter = filter.unwrap_or_default().parse()?;
            reach(ctx, at_position).await?;
            let archives = archive_selected(ctx.look_ahead().field("edges").field("node"));
            let models = read_models(ctx)?;
            let reflects = Reflects::of(models);
            let (edges, has_previous_page, has_next_page, total) = models.read(|m, r| {
                let org = org_tree(&actor, m);
                // Who the caller is decides what they see; a customer manager's book is theirs.
                let key = format!("{filter:?}|{order:?}|{actor:?}");
                let hits = models.list_hits(m, r, key, || {
                    views::customer_hits(
                        m,
                        r,
                        &filter,
                        |c: &CustomerRecord| may_read(&actor, c, &org),
                        order,
                    )
                });
                let slice = views::slice_of(m, r, &hits, &window, filter.as_of);
                let edges: Vec<CustomerEdge> = slice
                    .rows
                    .into_iter()
                    .map(|(cursor, row)| {
                        let archive = archives
                            .then(|| views::customer_360_resident(m, r, row.id, filter.as_of))
                            .flatten();
                        CustomerEdge {
                            cursor: encode_cursor(order, &cursor),
                            node: Customer::of(m, row, archive, filter.as_of),
                        }
                    })
                    .collect();
                (edges, slice.has_previous, slice.has_next, slice.total)
            });
            Ok(CustomerConnection {
                page_info: PageInfo {
                    has_next_page,
                    has_previous_page,
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                },
                edges,
                total_count: int(total),
                position: reflects.position,
                reflects,
            })
        }
        .await
        .map_err(gql)
    }
}
