//! A group customer (集团客户) with its members and the group's totals (#16 item 6), scoped:
//! the members listed and summed are those the caller may read; how many others there are is
//! told, never who they are or what they hold.

use async_graphql::{Context, SimpleObject};
use crm_domain::ids::CustomerId;
use crm_domain::Money;
use crm_projections::views;

use super::caller;
use super::customers::{money, Customer};
use super::readside::{centi, int, may_read, org_tree, read_models};
use crate::error::ApiError;

/// A group customer's members and totals.
#[derive(SimpleObject, Debug)]
pub struct CustomerGroupView {
    /// The members the caller may read, in the order they were linked.
    pub members: Vec<Customer>,
    /// Every member of the group, those out of the caller's scope included.
    pub member_count: i32,
    /// Members the caller may not read: counted here, not listed or summed.
    pub members_out_of_scope: i32,
    /// The group's assets in yuan: the group customer's own and those of the members listed.
    pub assets: String,
    /// The average contribution score of the group customer and the members listed.
    pub average_contribution_score: f64,
}

/// The group view of `id`, or `None` when `id` is not a group customer. The caller has been
/// allowed to read the group customer itself.
pub(crate) fn group_of(
    ctx: &Context<'_>,
    id: CustomerId,
    as_of: Option<time::Date>,
) -> Result<Option<CustomerGroupView>, ApiError> {
    let actor = *caller(ctx)?;
    Ok(read_models(ctx)?.read(|m, r| {
        let members = views::group_members(m, id)?;
        let own = views::customer_row(m, r, id, as_of)?;
        let org = org_tree(&actor, m);
        let member_count = members.len();
        let shown: Vec<_> = members
            .into_iter()
            .filter(|c| may_read(&actor, c, &org))
            .filter_map(|c| views::customer_row(m, r, c.id, as_of))
            .collect();
        let mut assets = own.assets;
        let mut score = i128::from(own.contribution_score_centi);
        for row in &shown {
            assets = Money::from_minor(assets.minor().saturating_add(row.assets.minor()));
            score += i128::from(row.contribution_score_centi);
        }
        let n = i128::try_from(shown.len() + 1).unwrap_or(i128::MAX);
        let average = i64::try_from(score / n).unwrap_or(i64::MAX);
        Some(CustomerGroupView {
            member_count: int(member_count),
            members_out_of_scope: int(member_count - shown.len()),
            assets: money(assets),
            average_contribution_score: centi(average),
            members: shown
                .into_iter()
                .map(|row| Customer::of(m, row, None, as_of))
                .collect(),
        })
    }))
}
