//! Mutations for the workflows around a customer: service tickets after they are opened,
//! care contacts and visits, the sales pipeline after a lead, campaigns, knowledge articles
//! and announcements, and rejecting a rule set. Each is a thin translation into an
//! `AppCommand` sent as the caller, like those in `commands`.

use async_graphql::{Object, ID};
use crm_app::AppCommand;
use crm_domain::article::{self, ArticleKind};
use crm_domain::auth::Actor;
use crm_domain::ids::{
    ArticleId, BranchId, CampaignId, CustomerId, InteractionId, OpportunityId, ProductId,
    RuleSetId, StaffId, TicketId,
};
use crm_domain::values::{LongText, OrgName, ShortText};
use crm_domain::{campaign, interaction, opportunity, rules, ticket};

use super::commands::{
    date, money, now, run, run_creating, text, uuid, ChannelInput, CommandResult,
    ContactOutcomeInput, NewIds,
};
use super::scalars::DateTime;
use async_graphql::{Context, Enum};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::interaction::CareOccasion")]
pub enum CareOccasionInput {
    Birthday,
    Holiday,
    MarketEvent,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::campaign::Response")]
pub enum CampaignResponseInput {
    Contacted,
    Interested,
    NotInterested,
    Converted,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::article::ArticleKind")]
pub enum ArticleKindInput {
    Knowledge,
    Announcement,
    News,
}

fn ticket_command(id: &ID, command: ticket::Command) -> Result<AppCommand, crate::ApiError> {
    Ok(AppCommand::Ticket {
        ticket: TicketId::from(uuid("ticketId", id)?),
        command,
    })
}

fn visit_command(id: &ID, command: interaction::Command) -> Result<AppCommand, crate::ApiError> {
    Ok(AppCommand::Interaction {
        interaction: InteractionId::from(uuid("interactionId", id)?),
        command,
    })
}

fn opportunity_command(
    id: &ID,
    command: opportunity::Command,
) -> Result<AppCommand, crate::ApiError> {
    Ok(AppCommand::Opportunity {
        opportunity: OpportunityId::from(uuid("opportunityId", id)?),
        command,
    })
}

fn campaign_command(id: &ID, command: campaign::Command) -> Result<AppCommand, crate::ApiError> {
    Ok(AppCommand::Campaign {
        campaign: CampaignId::from(uuid("campaignId", id)?),
        command,
    })
}

fn article_command(id: &ID, command: article::Command) -> Result<AppCommand, crate::ApiError> {
    Ok(AppCommand::Article {
        article: ArticleId::from(uuid("articleId", id)?),
        command,
    })
}

#[derive(Default, Debug)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    /// 工单升级: escalate a ticket, optionally to a named colleague.
    async fn escalate_ticket(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        ticket_id: ID,
        to: Option<ID>,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let command = ticket::Command::Escalate {
                to: to
                    .as_ref()
                    .map(|t| uuid("to", t).map(StaffId::from))
                    .transpose()?,
                reason: text("reason", &reason, ShortText::parse)?,
                by: actor.staff_id,
                now: now(),
            };
            ticket_command(&ticket_id, command)
        })
        .await
    }

    /// 回访: close a resolved ticket with the customer's satisfaction (1–5).
    async fn close_ticket(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        ticket_id: ID,
        satisfaction: i32,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            // Out of u8's range is out of 1–5 too; parse names the field either way.
            let score = u8::try_from(satisfaction).unwrap_or(0);
            let satisfaction = ticket::Satisfaction::parse(score)
                .map_err(|e| crate::ApiError::validation("satisfaction", e.to_string()))?;
            let command = ticket::Command::Close {
                satisfaction,
                now: now(),
            };
            ticket_command(&ticket_id, command)
        })
        .await
    }

    /// Reopen a resolved or closed ticket.
    async fn reopen_ticket(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        ticket_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = ticket::Command::Reopen {
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            ticket_command(&ticket_id, command)
        })
        .await
    }

    /// 客户关怀: a care contact (birthday, holiday, market event).
    async fn record_care_contact(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        occasion: CareOccasionInput,
        channel: ChannelInput,
        notes: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |actor: &Actor, new: &NewIds| {
            let interaction_id = InteractionId::from(new.of::<interaction::Interaction>());
            Ok(AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::RecordCareContact {
                    interaction_id,
                    customer_id: CustomerId::from(uuid("customerId", &customer_id)?),
                    staff_id: actor.staff_id,
                    occasion: occasion.into(),
                    channel: channel.into(),
                    notes: text("notes", &notes, LongText::parse)?,
                    now: now(),
                },
            })
        })
        .await
    }

    /// 拜访计划: plan a visit to a customer; the visit's id is the returned stream's.
    async fn plan_visit(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        planned_for: DateTime,
        purpose: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |actor: &Actor, new: &NewIds| {
            let interaction_id = InteractionId::from(new.of::<interaction::Interaction>());
            Ok(AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::PlanVisit {
                    interaction_id,
                    customer_id: CustomerId::from(uuid("customerId", &customer_id)?),
                    staff_id: actor.staff_id,
                    planned_for: planned_for.checked("plannedFor")?,
                    purpose: text("purpose", &purpose, ShortText::parse)?,
                    now: now(),
                },
            })
        })
        .await
    }

    /// Record how a planned visit went.
    async fn complete_visit(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        interaction_id: ID,
        outcome: ContactOutcomeInput,
        notes: String,
        follow_up_on: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = interaction::Command::CompleteVisit {
                outcome: outcome.into(),
                notes: text("notes", &notes, LongText::parse)?,
                follow_up_on: follow_up_on
                    .as_deref()
                    .map(|d| date("followUpOn", d))
                    .transpose()?,
                now: now(),
            };
            visit_command(&interaction_id, command)
        })
        .await
    }

    /// Cancel a planned visit.
    async fn cancel_visit(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        interaction_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = interaction::Command::CancelVisit {
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            visit_command(&interaction_id, command)
        })
        .await
    }

    /// 商机确认: a lead becomes a qualified opportunity.
    async fn qualify_opportunity(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        opportunity_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            opportunity_command(
                &opportunity_id,
                opportunity::Command::Qualify { now: now() },
            )
        })
        .await
    }

    /// 方案推荐: propose a product and amount.
    async fn propose_to_opportunity(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        opportunity_id: ID,
        product_id: ID,
        expected_amount: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = opportunity::Command::Propose {
                product_id: ProductId::from(uuid("productId", &product_id)?),
                expected_amount: money("expectedAmount", &expected_amount)?,
                now: now(),
            };
            opportunity_command(&opportunity_id, command)
        })
        .await
    }

    /// Hand an opportunity to another owner.
    async fn change_opportunity_owner(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        opportunity_id: ID,
        owner: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = opportunity::Command::ChangeOwner {
                owner: StaffId::from(uuid("owner", &owner)?),
                now: now(),
            };
            opportunity_command(&opportunity_id, command)
        })
        .await
    }

    /// 营销活动策划: plan a campaign for a branch or (no branch) the company.
    #[allow(clippy::too_many_arguments)]
    async fn plan_campaign(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: Option<ID>,
        name: String,
        branch_id: Option<ID>,
        target_segment: String,
        product_id: Option<ID>,
        starts_on: String,
        ends_on: String,
        budget: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = match &campaign_id {
                Some(id) => CampaignId::from(uuid("campaignId", id)?),
                None => CampaignId::from(new.of::<campaign::Campaign>()),
            };
            Ok(AppCommand::Campaign {
                campaign: id,
                command: campaign::Command::Plan {
                    campaign_id: id,
                    name: text("name", &name, OrgName::parse)?,
                    branch: branch_id
                        .as_ref()
                        .map(|b| uuid("branchId", b).map(BranchId::from))
                        .transpose()?,
                    target_segment: text("targetSegment", &target_segment, LongText::parse)?,
                    product_id: product_id
                        .as_ref()
                        .map(|p| uuid("productId", p).map(ProductId::from))
                        .transpose()?,
                    starts_on: date("startsOn", &starts_on)?,
                    ends_on: date("endsOn", &ends_on)?,
                    budget: money("budget", &budget)?,
                    now: now(),
                },
            })
        })
        .await
    }

    /// A customer's response to a campaign (contacted, interested, not interested, converted),
    /// with the channel it came through when known (the ROI's per-channel figures). Recorded
    /// by whoever serves the customer; refused (VALIDATION on `customerId`) for a customer
    /// not on the campaign's frozen target list.
    async fn record_campaign_response(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: ID,
        customer_id: ID,
        response: CampaignResponseInput,
        channel: Option<ChannelInput>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = campaign::Command::RecordResponse {
                customer_id: CustomerId::from(uuid("customerId", &customer_id)?),
                response: response.into(),
                channel: channel.map(Into::into),
                now: now(),
            };
            campaign_command(&campaign_id, command)
        })
        .await
    }

    /// Close a campaign with its summary.
    async fn close_campaign(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: ID,
        summary: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = campaign::Command::Close {
                summary: text("summary", &summary, LongText::parse)?,
                now: now(),
            };
            campaign_command(&campaign_id, command)
        })
        .await
    }

    /// Cancel a campaign.
    async fn cancel_campaign(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = campaign::Command::Cancel {
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            campaign_command(&campaign_id, command)
        })
        .await
    }

    /// 知识库 / 公告: publish an article for the company or (with `audienceBranchId`) one
    /// branch's staff.
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        kind: ArticleKindInput,
        audience_branch_id: Option<ID>,
        title: String,
        body: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |actor: &Actor, new: &NewIds| {
            let article_id = ArticleId::from(new.of::<article::Article>());
            Ok(AppCommand::Article {
                article: article_id,
                command: article::Command::Publish {
                    article_id,
                    kind: ArticleKind::from(kind),
                    audience: audience_branch_id
                        .as_ref()
                        .map(|b| uuid("audienceBranchId", b).map(BranchId::from))
                        .transpose()?,
                    title: text("title", &title, ShortText::parse)?,
                    body: text("body", &body, LongText::parse)?,
                    by: actor.staff_id,
                    now: now(),
                },
            })
        })
        .await
    }

    /// Revise an article's title and body.
    async fn revise_article(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        article_id: ID,
        title: String,
        body: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let command = article::Command::Revise {
                title: text("title", &title, ShortText::parse)?,
                body: text("body", &body, LongText::parse)?,
                by: actor.staff_id,
                now: now(),
            };
            article_command(&article_id, command)
        })
        .await
    }

    /// Withdraw an article.
    async fn withdraw_article(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        article_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let command = article::Command::Withdraw {
                reason: text("reason", &reason, ShortText::parse)?,
                by: actor.staff_id,
                now: now(),
            };
            article_command(&article_id, command)
        })
        .await
    }

    /// Reject a proposed rule set (a second operator's "no").
    async fn reject_rules(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        rule_set_id: ID,
        version: i32,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let version = u32::try_from(version)
                .map_err(|_| crate::ApiError::validation("version", "must not be negative"))?;
            Ok(AppCommand::Rules {
                rule_set: RuleSetId::from(uuid("ruleSetId", &rule_set_id)?),
                command: rules::Command::Reject {
                    version,
                    reason: text("reason", &reason, ShortText::parse)?,
                    by: actor.staff_id,
                    now: now(),
                },
            })
        })
        .await
    }
}
