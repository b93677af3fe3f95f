//! Live read models over graphql-transport-ws: a branch dashboard, a region's or the head
//! office's dashboard, and the caller's to-do list,
//! sent once on subscribe and again whenever the read models move and the value changed.
//!
//! Each subscription waits on the read models' position (no polling of the log), recomputes
//! at most every [`MIN_INTERVAL`], and sends only real changes, so a busy log costs each
//! subscriber a few recomputations a second, not one per event. Scoping is checked on every
//! computation: a caller who may not read the branch gets FORBIDDEN and the stream ends.

use std::time::Duration;

use async_graphql::{Context, Subscription, ID};
use crm_domain::auth::{Actor, Right};
use crm_domain::ids::BranchId;
use crm_projections::views::{BranchDashboard, BranchPeriod};
use crm_projections::Projections;
use futures_util::Stream;
use time::OffsetDateTime;

use super::caller;
use super::insight::{todos_of, TodoView};
use super::org_dashboards::{org_dashboard_of, OrgDashboardView, OrgScopeInput};
use super::performance::{BranchDashboardView, BranchPeriodInput};
use super::readside::{
    forbidden, may_read_branch, org_tree, parse_uuid, read_models, ReadModels, Reflects,
};
use super::scalars::DateTime;
use crate::error::{gql, ApiError};

/// Recomputations per subscription at most this often.
const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// How long one wait for the next position lasts before it is renewed.
const WAIT: Duration = Duration::from_secs(30);

/// Waits until the read models pass `position`; false when they stopped for good.
async fn next_position(p: &Projections, position: u64) -> bool {
    loop {
        match p.wait_for(position + 1, WAIT).await {
            Ok(()) => return true,
            Err(crm_projections::ProjectionError::Timeout { .. }) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "a live subscription stopped with the read models");
                return false;
            }
        }
    }
}

/// A stream of `compute` results: the first at once, later ones when they differ.
fn changes<T, F>(models: ReadModels, compute: F) -> impl Stream<Item = async_graphql::Result<T>>
where
    T: PartialEq + Clone + Send + 'static,
    F: Fn(&ReadModels) -> Result<T, ApiError> + Send + 'static,
{
    struct State<T, F> {
        models: ReadModels,
        compute: F,
        last: Option<T>,
        position: u64,
        done: bool,
    }
    let position = models.projections().position();
    let start = State {
        models,
        compute,
        last: None,
        position,
        done: false,
    };
    futures_util::stream::unfold(start, |mut s| async move {
        if s.done {
            return None;
        }
        loop {
            if s.last.is_some() {
                if !next_position(s.models.projections(), s.position).await {
                    return None;
                }
                tokio::time::sleep(MIN_INTERVAL).await;
            }
            s.position = s.models.projections().position();
            match (s.compute)(&s.models) {
                Ok(value) => {
                    if s.last.as_ref() != Some(&value) {
                        s.last = Some(value.clone());
                        return Some((Ok(value), s));
                    }
                }
                Err(e) => {
                    s.done = true;
                    return Some((Err(gql(e)), s));
                }
            }
        }
    })
}

fn dashboard(
    models: &ReadModels,
    actor: &Actor,
    branch: BranchId,
    period: BranchPeriod,
) -> Result<Option<BranchDashboard>, ApiError> {
    models.read(|m, r| {
        if !may_read_branch(actor, branch, &org_tree(actor, m)) {
            return Err(forbidden(Right::ReadCustomer));
        }
        Ok(models
            .branch_dashboard(m, r, branch, period)
            .map(|d| (*d).clone()))
    })
}

/// A value with what it reflects; two are the same when the value and the rules are (a new
/// position alone is no change to send).
#[derive(Clone)]
struct Stamped<T>(T, Reflects);

impl<T: PartialEq> PartialEq for Stamped<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && self.1.rules_hash == other.1.rules_hash
    }
}

#[derive(Default, Debug)]
pub struct LiveSubscription;

#[Subscription]
impl LiveSubscription {
    /// A branch's dashboard for a day or a month: now, then each time it changes.
    async fn branch_dashboard_changed(
        &self,
        ctx: &Context<'_>,
        branch_id: ID,
        period: BranchPeriodInput,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Option<BranchDashboardView>>>>
    {
        let actor = *caller(ctx).map_err(gql)?;
        let branch = BranchId::from(parse_uuid("branchId", &branch_id).map_err(gql)?);
        let period = period.parse().map_err(gql)?;
        let models = read_models(ctx).map_err(gql)?.clone();
        // Refused before the stream starts, so the client gets an error, not an empty stream.
        dashboard(&models, &actor, branch, period).map_err(gql)?;
        let values = changes(models, move |m| {
            let d = dashboard(m, &actor, branch, period)?;
            // A rules switch changes the figures' meaning even when no number moved.
            Ok((d, Reflects::of(m).rules_hash))
        });
        Ok(futures_util::StreamExt::map(values, |r| {
            r.map(|(d, _)| d.as_ref().map(|d| BranchDashboardView::of(d, None)))
        }))
    }

    /// A region's, the company's or a branch's dashboard (`orgDashboard`, the same scopes
    /// and the same rule of who reads them) for a day or a month: now, then each time it
    /// changes.
    async fn org_dashboard_changed(
        &self,
        ctx: &Context<'_>,
        scope: OrgScopeInput,
        period: BranchPeriodInput,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Option<OrgDashboardView>>>>
    {
        let actor = *caller(ctx).map_err(gql)?;
        let scope = scope.parse().map_err(gql)?;
        let period = period.parse().map_err(gql)?;
        let models = read_models(ctx).map_err(gql)?.clone();
        // Refused before the stream starts, so the client gets an error, not an empty stream.
        org_dashboard_of(&models, &actor, scope, period).map_err(gql)?;
        let values = changes(models, move |m| {
            let d = org_dashboard_of(m, &actor, scope, period)?;
            Ok(Stamped(d, Reflects::of(m)))
        });
        Ok(futures_util::StreamExt::map(values, |r| {
            r.map(|Stamped(d, reflects)| d.as_ref().map(|d| OrgDashboardView::of(d, reflects)))
        }))
    }

    /// The caller's to-do list: now, then each time it changes. `at` fixes the instant the
    /// reminders are evaluated at (default: the wall clock at each computation).
    async fn todos_changed(
        &self,
        ctx: &Context<'_>,
        at: Option<DateTime>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Vec<TodoView>>>> {
        let actor = *caller(ctx).map_err(gql)?;
        // Checked before the stream starts, so the client gets an error, not a dead stream.
        let at = DateTime::checked_opt(at, "at").map_err(gql)?;
        let models = read_models(ctx).map_err(gql)?.clone();
        Ok(changes(models, move |m| {
            let at = at.unwrap_or_else(OffsetDateTime::now_utc);
            Ok(m.read(|model, r| todos_of(model, r, &actor, at)))
        }))
    }
}
