//! 流失预警: the broker or customer manager who serves a customer, or the branch's management,
//! flags the customer at risk of leaving (#15 item 1). A warning, not a churn: only management
//! records churn (`markCustomerChurned`), and no appraisal counts a flag. The flag lifts the
//! customer's `churnRisk` to at least MEDIUM and reaches the branch manager's to-dos.

use async_graphql::{Context, Object, SimpleObject, ID};
use crm_domain::auth::Actor;
use crm_domain::customer;
use crm_domain::values::ShortText;
use crm_projections::model::Model;
use crm_projections::read_models::archive::AtRiskFlagRecord;
use crm_projections::views;

use super::commands::{customer_command, now, run, text, ChurnReasonInput, CommandResult};
use super::customers::{ChurnReason, Named};
use super::readside::uuid_id;
use super::scalars::{DateTime, Long};

/// A standing at-risk warning: who raised it, why, when, and the log position.
#[derive(SimpleObject, Debug, Clone)]
pub struct AtRiskFlag {
    pub by: Named,
    pub reason: ChurnReason,
    pub note: Option<String>,
    pub at: DateTime,
    pub position: Long,
}

impl AtRiskFlag {
    pub(crate) fn of(m: &Model, f: AtRiskFlagRecord) -> AtRiskFlag {
        AtRiskFlag {
            by: Named {
                id: uuid_id(f.by),
                name: views::staff(m, f.by).map(|x| x.name.clone()),
            },
            reason: f.reason.into(),
            note: f.note,
            at: DateTime(f.at),
            position: Long(f.position),
        }
    }
}

#[derive(Default, Debug)]
pub struct AtRiskMutation;

#[Object]
impl AtRiskMutation {
    /// Flags an active or dormant customer at risk of leaving (流失预警), with a reason and an
    /// optional note (at most 200 characters). Right `FlagChurnRisk`: the customer's own broker
    /// or manager, their branch's or region's management, headquarters. A flagged customer
    /// cannot be flagged again (CONFLICT; clear the flag to change the reason); a churned,
    /// closed or merged one not at all.
    async fn flag_customer_at_risk(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        reason: ChurnReasonInput,
        note: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let note = note
                .as_deref()
                .map(|n| text("note", n, ShortText::parse))
                .transpose()?;
            customer_command(
                &customer_id,
                customer::Command::FlagAtRisk {
                    reason: reason.into(),
                    note,
                    by: actor.staff_id,
                    now: now(),
                },
            )
        })
        .await
    }

    /// Withdraws the at-risk flag (same right). A customer without one is left as is.
    async fn clear_customer_at_risk_flag(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            customer_command(
                &customer_id,
                customer::Command::ClearAtRiskFlag {
                    by: actor.staff_id,
                    now: now(),
                },
            )
        })
        .await
    }
}
