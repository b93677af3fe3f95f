//! Mutations: one per command of the write side, each a thin translation of typed input into
//! an `AppCommand` sent as the authenticated caller. The command layer authorizes, decides and
//! records; a refusal comes back with its stable `extensions.code`. Every mutation returns the
//! log position it committed at, to pass to a query that must read its own write.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use crm_app::{App, AppCommand, AppError, CommandEnvelope, CommandOutcome};
use crm_domain::auth::Actor;
use crm_domain::customer::{self, Assignment, CustomerKind, Profile};
use crm_domain::ids::{
    BranchId, CustomerId, InteractionId, OpportunityId, ProductId, RuleSetId, StaffId, TeamId,
    TicketId,
};
use crm_domain::values::{
    Address, Channel, IdDocument, LongText, OrgName, PassportNumber, Phone, ResidentIdNumber,
    ShortText, UnifiedSocialCreditCode,
};
use crm_domain::{interaction, opportunity, risk, rules, ticket, Aggregate, Money};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::caller;
use super::scalars::Long;
use crate::error::{gql, ApiError};

pub(super) fn app<'a>(ctx: &Context<'a>) -> Result<&'a App, ApiError> {
    ctx.data_opt::<App>()
        .ok_or_else(|| ApiError::Internal("the schema was built without the command side".into()))
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Domain(d) => ApiError::from(d),
            AppError::Store(s) => ApiError::from(s),
            AppError::Contention { .. } | AppError::CommandIdReused { .. } => {
                ApiError::Conflict(e.to_string())
            }
            AppError::Decode(_) | AppError::Codec(_) | AppError::Task(_) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

pub(super) fn uuid(field: &str, id: &ID) -> Result<Uuid, ApiError> {
    let raw = id.as_str().trim();
    let local = super::parse_global_id(raw)
        .map(|(_, l)| l)
        .unwrap_or_else(|| raw.to_string());
    Uuid::parse_str(&local)
        .map_err(|_| ApiError::validation(field, format!("'{raw}' is not an id")))
}

pub(super) fn text<T>(
    field: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, crm_domain::ValidationError>,
) -> Result<T, ApiError> {
    parse(value).map_err(|e| ApiError::validation(field, e.to_string()))
}

pub(super) fn money(field: &str, value: &str) -> Result<Money, ApiError> {
    Money::parse(value).map_err(|e| ApiError::validation(field, e.to_string()))
}

pub(super) fn date(field: &str, value: &str) -> Result<Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(value, format).map_err(|_| {
        ApiError::validation(field, format!("'{value}' is not a date (YYYY-MM-DD)"))
    })?;
    super::scalars::date_in_range(field, date)
}

/// What a mutation committed.
#[derive(SimpleObject)]
pub struct CommandResult {
    /// The log position of the last event written; pass it as `atPosition` to read this write.
    pub position: Long,
    pub events: Vec<CommittedEvent>,
    /// True when this `commandId` had been handled before: its first result is returned.
    pub already_handled: bool,
}

#[derive(SimpleObject)]
pub struct CommittedEvent {
    pub stream: String,
    pub event_type: String,
    pub position: Long,
    pub revision: Long,
}

impl From<CommandOutcome> for CommandResult {
    fn from(o: CommandOutcome) -> Self {
        CommandResult {
            position: Long(o.position),
            events: o
                .events
                .into_iter()
                .map(|e| CommittedEvent {
                    stream: e.stream,
                    event_type: e.event_type,
                    position: Long(e.position),
                    revision: Long(e.revision),
                })
                .collect(),
            already_handled: o.already_handled,
        }
    }
}

/// Builds the command as the caller and sends it; every error keeps its `extensions.code`.
pub(super) async fn run(
    ctx: &Context<'_>,
    command_id: Option<ID>,
    build: impl FnOnce(&Actor) -> Result<AppCommand, ApiError>,
) -> async_graphql::Result<CommandResult> {
    run_creating(ctx, command_id, |actor, _| build(actor)).await
}

/// The ids of the entities a command creates, minted from its command id: sending the
/// command again with the same `commandId` addresses what the first attempt created, and is
/// answered with its first result instead of creating a second entity.
pub(super) struct NewIds(Uuid);

impl NewIds {
    /// The id of the new `A` (a ticket, a lead, …) the command creates.
    pub(super) fn of<A: Aggregate>(&self) -> Uuid {
        crm_app::new_entity_id(self.0, A::CATEGORY)
    }

    /// The id of a new part of an entity (a team of a branch, an account of a customer).
    pub(super) fn part(&self, kind: &str) -> Uuid {
        crm_app::new_entity_id(self.0, kind)
    }
}

/// [`run`] for a command that creates an entity: `build` takes the new ids from [`NewIds`].
pub(super) async fn run_creating(
    ctx: &Context<'_>,
    command_id: Option<ID>,
    build: impl FnOnce(&Actor, &NewIds) -> Result<AppCommand, ApiError>,
) -> async_graphql::Result<CommandResult> {
    async {
        let actor: Actor = *caller(ctx)?;
        let command_id = match command_id {
            Some(id) => uuid("commandId", &id)?,
            None => Uuid::now_v7(),
        };
        let command = build(&actor, &NewIds(command_id))?;
        let envelope = CommandEnvelope {
            command_id,
            actor,
            correlation_id: None,
            causation_id: None,
            occurred_at: OffsetDateTime::now_utc(),
            command,
        };
        Ok::<_, ApiError>(app(ctx)?.execute(envelope).await?.into())
    }
    .await
    .map_err(gql)
}

macro_rules! remote_enum {
    ($name:ident = $remote:literal { $($variant:ident),+ $(,)? }) => {
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

remote_enum!(ChannelInput = "crm_domain::values::Channel" { Counter, Phone, CallCentre, App, Internet, Email, WeChat, BankCounter, SelfService, Visit });
remote_enum!(CustomerKindInput = "crm_domain::customer::CustomerKind" { Individual, Institutional });
remote_enum!(RiskToleranceInput = "crm_domain::risk::RiskTolerance" { C1, C2, C3, C4, C5 });
remote_enum!(ProductRiskInput = "crm_domain::risk::ProductRisk" { R1, R2, R3, R4, R5 });
remote_enum!(ChurnReasonInput = "crm_domain::customer::ChurnReason" { Competitor, Fees, ServiceQuality, InvestmentLosses, Relocation, LeftTheMarket, Other });
remote_enum!(TicketKindInput = "crm_domain::ticket::TicketKind" { Complaint, Suggestion, Inquiry, Request });
remote_enum!(PriorityInput = "crm_domain::ticket::Priority" { Low, Normal, High, Urgent });
remote_enum!(DirectionInput = "crm_domain::interaction::Direction" { Inbound, Outbound });
remote_enum!(LossReasonInput = "crm_domain::opportunity::LossReason" { Price, Competitor, NotSuitable, NoBudget, NoResponse, Other });

/// Which identity document: exactly one of the three numbers.
#[derive(InputObject)]
pub struct IdDocumentInput {
    /// 居民身份证 number (18 characters, GB 11643 check digit).
    pub resident_id: Option<String>,
    /// 护照: issuing country (ISO 3166 alpha-3) and number.
    pub passport_country: Option<String>,
    pub passport_number: Option<String>,
    /// 统一社会信用代码 of an institution.
    pub business_licence: Option<String>,
}

impl IdDocumentInput {
    pub(crate) fn parse(&self) -> Result<IdDocument, ApiError> {
        match (
            &self.resident_id,
            &self.passport_number,
            &self.business_licence,
        ) {
            (Some(n), None, None) => Ok(IdDocument::ResidentId {
                number: text("document.residentId", n, ResidentIdNumber::parse)?,
            }),
            (None, Some(n), None) => Ok(IdDocument::Passport {
                country: text(
                    "document.passportCountry",
                    self.passport_country.as_deref().unwrap_or(""),
                    ShortText::parse,
                )?,
                number: text("document.passportNumber", n, PassportNumber::parse)?,
            }),
            (None, None, Some(c)) => Ok(IdDocument::BusinessLicence {
                code: text(
                    "document.businessLicence",
                    c,
                    UnifiedSocialCreditCode::parse,
                )?,
            }),
            _ => Err(ApiError::validation(
                "document",
                "give exactly one of residentId, passportNumber, businessLicence",
            )),
        }
    }
}

#[derive(InputObject)]
pub struct ProfileInput {
    pub name: String,
    pub document: IdDocumentInput,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub region_id: Option<ID>,
    /// YYYY-MM-DD; for individuals it must match the resident ID number.
    pub birthday: Option<String>,
    pub occupation: Option<String>,
    pub source_channel: ChannelInput,
}

impl ProfileInput {
    fn parse(&self) -> Result<Profile, ApiError> {
        Ok(Profile {
            name: text("name", &self.name, OrgName::parse)?,
            document: self.document.parse()?,
            phone: self
                .phone
                .as_deref()
                .map(|p| text("phone", p, Phone::parse))
                .transpose()?,
            address: self
                .address
                .as_deref()
                .map(|a| text("address", a, Address::parse))
                .transpose()?,
            region: self
                .region_id
                .as_ref()
                .map(|r| uuid("regionId", r).map(Into::into))
                .transpose()?,
            birthday: self
                .birthday
                .as_deref()
                .map(|b| date("birthday", b))
                .transpose()?,
            occupation: self
                .occupation
                .as_deref()
                .map(|o| text("occupation", o, ShortText::parse))
                .transpose()?,
            source_channel: Channel::from(self.source_channel),
        })
    }
}

#[derive(InputObject)]
pub struct AssignmentInput {
    pub branch_id: ID,
    pub manager_id: Option<ID>,
    pub team_id: Option<ID>,
}

impl AssignmentInput {
    fn parse(&self) -> Result<Assignment, ApiError> {
        Ok(Assignment {
            branch: BranchId::from(uuid("branchId", &self.branch_id)?),
            manager: self
                .manager_id
                .as_ref()
                .map(|m| uuid("managerId", m).map(StaffId::from))
                .transpose()?,
            team: self
                .team_id
                .as_ref()
                .map(|t| uuid("teamId", t).map(TeamId::from))
                .transpose()?,
        })
    }
}

pub(super) fn customer_command(
    id: &ID,
    command: customer::Command,
) -> Result<AppCommand, ApiError> {
    Ok(AppCommand::Customer {
        customer: CustomerId::from(uuid("customerId", id)?),
        command,
    })
}

pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[derive(Default, Debug)]
pub struct CommandMutation;

#[Object]
impl CommandMutation {
    /// Register a customer or prospect (客户开户 / 潜在客户). A second customer with the same ID
    /// document is refused with CONFLICT naming the first.
    async fn register_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: Option<ID>,
        kind: CustomerKindInput,
        profile: ProfileInput,
        as_prospect: Option<bool>,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = match &customer_id {
                Some(id) => CustomerId::from(uuid("customerId", id)?),
                None => CustomerId::from(new.of::<customer::Customer>()),
            };
            let command = customer::Command::Register {
                customer_id: id,
                kind: CustomerKind::from(kind),
                profile: profile.parse()?,
                as_prospect: as_prospect.unwrap_or(false),
                existing_customer_with_same_document: None,
                now: now(),
            };
            Ok(AppCommand::Customer {
                customer: id,
                command,
            })
        })
        .await
    }

    async fn update_customer_profile(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        profile: ProfileInput,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = customer::Command::UpdateProfile {
                profile: profile.parse()?,
                existing_customer_with_same_document: None,
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    /// 重点客户 flag.
    async fn mark_key_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        is_key: bool,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            customer_command(
                &customer_id,
                customer::Command::MarkKeyCustomer { is_key, now: now() },
            )
        })
        .await
    }

    async fn activate_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            customer_command(&customer_id, customer::Command::Activate { now: now() })
        })
        .await
    }

    async fn mark_customer_dormant(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            customer_command(&customer_id, customer::Command::MarkDormant { now: now() })
        })
        .await
    }

    /// 流失: record why, for win-back (二次营销).
    async fn mark_customer_churned(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        reason: ChurnReasonInput,
        note: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let note = note
                .as_deref()
                .map(|n| text("note", n, ShortText::parse))
                .transpose()?;
            customer_command(
                &customer_id,
                customer::Command::MarkChurned {
                    reason: reason.into(),
                    note,
                    now: now(),
                },
            )
        })
        .await
    }

    async fn record_win_back_attempt(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        channel: ChannelInput,
        note: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let note = note
                .as_deref()
                .map(|n| text("note", n, ShortText::parse))
                .transpose()?;
            customer_command(
                &customer_id,
                customer::Command::RecordWinBackAttempt {
                    by,
                    channel: channel.into(),
                    note,
                    now: now(),
                },
            )
        })
        .await
    }

    async fn reactivate_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            customer_command(&customer_id, customer::Command::Reactivate { now: now() })
        })
        .await
    }

    async fn close_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let reason = text("reason", &reason, ShortText::parse)?;
            customer_command(
                &customer_id,
                customer::Command::Close { reason, now: now() },
            )
        })
        .await
    }

    /// 风险承受能力 questionnaire result.
    async fn record_suitability(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        level: RiskToleranceInput,
        assessed_on: String,
        expires_on: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = customer::Command::RecordSuitability {
                level: risk::RiskTolerance::from(level),
                assessed_on: date("assessedOn", &assessed_on)?,
                expires_on: date("expiresOn", &expires_on)?,
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    /// Refused with SUITABILITY_VIOLATION above the customer's level or without a valid
    /// assessment.
    async fn recommend_product(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        product_id: ID,
        product_risk: ProductRiskInput,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let command = customer::Command::RecommendProduct {
                product_id: ProductId::from(uuid("productId", &product_id)?),
                product_risk: product_risk.into(),
                by,
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    async fn record_product_sale(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        product_id: ID,
        product_risk: ProductRiskInput,
        amount: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let command = customer::Command::RecordProductSale {
                product_id: ProductId::from(uuid("productId", &product_id)?),
                product_risk: product_risk.into(),
                amount: money("amount", &amount)?,
                by,
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    /// 客户分配: first assignment of an unassigned customer.
    async fn assign_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        to: AssignmentInput,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            customer_command(
                &customer_id,
                customer::Command::Assign {
                    to: to.parse()?,
                    by,
                    now: now(),
                },
            )
        })
        .await
    }

    /// 客户调整 within the branch.
    async fn reassign_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        to: AssignmentInput,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let reason = text("reason", &reason, ShortText::parse)?;
            customer_command(
                &customer_id,
                customer::Command::Reassign {
                    to: to.parse()?,
                    reason,
                    by,
                    now: now(),
                },
            )
        })
        .await
    }

    /// Ask to move the customer to another branch; that branch's manager decides.
    async fn request_customer_transfer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        to: AssignmentInput,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let reason = text("reason", &reason, ShortText::parse)?;
            customer_command(
                &customer_id,
                customer::Command::RequestTransfer {
                    to: to.parse()?,
                    reason,
                    by,
                    now: now(),
                },
            )
        })
        .await
    }

    async fn approve_customer_transfer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let approver = *actor;
            customer_command(
                &customer_id,
                customer::Command::ApproveTransfer {
                    approver,
                    now: now(),
                },
            )
        })
        .await
    }

    async fn reject_customer_transfer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let approver = *actor;
            let reason = text("reason", &reason, ShortText::parse)?;
            customer_command(
                &customer_id,
                customer::Command::RejectTransfer {
                    approver,
                    reason,
                    now: now(),
                },
            )
        })
        .await
    }

    /// 客户合并: `merged` (the duplicate) into `survivor`; recorded on both.
    async fn merge_customers(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        survivor_id: ID,
        merged_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = AppCommand::MergeCustomers {
                survivor: CustomerId::from(uuid("survivorId", &survivor_id)?),
                merged: CustomerId::from(uuid("mergedId", &merged_id)?),
            };
            Ok(command)
        })
        .await
    }

    /// 接触记录: one contact through a channel.
    #[allow(clippy::too_many_arguments)]
    async fn record_contact(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        channel: ChannelInput,
        direction: DirectionInput,
        topic: String,
        outcome: ContactOutcomeInput,
        notes: String,
        follow_up_on: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |actor: &Actor, new: &NewIds| {
            let staff_id = actor.staff_id;
            let interaction_id = InteractionId::from(new.of::<interaction::Interaction>());
            let command = interaction::Command::RecordContact {
                interaction_id,
                customer_id: CustomerId::from(uuid("customerId", &customer_id)?),
                staff_id,
                channel: channel.into(),
                direction: direction.into(),
                topic: text("topic", &topic, ShortText::parse)?,
                outcome: outcome.into(),
                notes: text("notes", &notes, LongText::parse)?,
                follow_up_on: follow_up_on
                    .as_deref()
                    .map(|d| date("followUpOn", d))
                    .transpose()?,
                now: now(),
            };
            Ok(AppCommand::Interaction {
                interaction: interaction_id,
                command,
            })
        })
        .await
    }

    /// 投诉 / 建议 / 咨询: open a service ticket; its SLA follows from kind and priority.
    #[allow(clippy::too_many_arguments)]
    async fn open_ticket(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: Option<ID>,
        branch_id: Option<ID>,
        kind: TicketKindInput,
        priority: PriorityInput,
        channel: ChannelInput,
        subject: String,
        description: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let ticket_id = TicketId::from(new.of::<ticket::Ticket>());
            let command = ticket::Command::Open {
                ticket_id,
                customer_id: customer_id
                    .as_ref()
                    .map(|c| uuid("customerId", c).map(CustomerId::from))
                    .transpose()?,
                branch: branch_id
                    .as_ref()
                    .map(|b| uuid("branchId", b).map(BranchId::from))
                    .transpose()?,
                kind: kind.into(),
                priority: priority.into(),
                channel: channel.into(),
                subject: text("subject", &subject, ShortText::parse)?,
                description: text("description", &description, LongText::parse)?,
                now: now(),
            };
            Ok(AppCommand::Ticket {
                ticket: ticket_id,
                command,
            })
        })
        .await
    }

    async fn assign_ticket(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        ticket_id: ID,
        assignee_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let command = ticket::Command::Assign {
                assignee: StaffId::from(uuid("assigneeId", &assignee_id)?),
                by,
                now: now(),
            };
            Ok(AppCommand::Ticket {
                ticket: TicketId::from(uuid("ticketId", &ticket_id)?),
                command,
            })
        })
        .await
    }

    async fn resolve_ticket(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        ticket_id: ID,
        resolution: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let command = ticket::Command::Resolve {
                resolution: text("resolution", &resolution, LongText::parse)?,
                by,
                now: now(),
            };
            Ok(AppCommand::Ticket {
                ticket: TicketId::from(uuid("ticketId", &ticket_id)?),
                command,
            })
        })
        .await
    }

    /// 线索: a lead for a customer, owned by the caller.
    #[allow(clippy::too_many_arguments)]
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        product_id: Option<ID>,
        expected_amount: String,
        source: ChannelInput,
        title: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |actor: &Actor, new: &NewIds| {
            let owner = actor.staff_id;
            let opportunity_id = OpportunityId::from(new.of::<opportunity::Opportunity>());
            let command = opportunity::Command::CreateLead {
                opportunity_id,
                customer_id: CustomerId::from(uuid("customerId", &customer_id)?),
                product_id: product_id
                    .as_ref()
                    .map(|p| uuid("productId", p).map(ProductId::from))
                    .transpose()?,
                expected_amount: money("expectedAmount", &expected_amount)?,
                owner,
                source: source.into(),
                title: text("title", &title, ShortText::parse)?,
                now: now(),
            };
            Ok(AppCommand::Opportunity {
                opportunity: opportunity_id,
                command,
            })
        })
        .await
    }

    async fn win_opportunity(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        opportunity_id: ID,
        amount: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = opportunity::Command::Win {
                amount: money("amount", &amount)?,
                now: now(),
            };
            Ok(AppCommand::Opportunity {
                opportunity: OpportunityId::from(uuid("opportunityId", &opportunity_id)?),
                command,
            })
        })
        .await
    }

    async fn lose_opportunity(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        opportunity_id: ID,
        reason: LossReasonInput,
        note: Option<String>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let note = note
                .as_deref()
                .map(|n| text("note", n, ShortText::parse))
                .transpose()?;
            let command = opportunity::Command::Lose {
                reason: reason.into(),
                note,
                now: now(),
            };
            Ok(AppCommand::Opportunity {
                opportunity: OpportunityId::from(uuid("opportunityId", &opportunity_id)?),
                command,
            })
        })
        .await
    }

    /// Propose a rule set (TOML); a second operator approves it before it can be activated.
    async fn propose_rules(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        rule_set_id: ID,
        version: i32,
        content: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let version = u32::try_from(version)
                .map_err(|_| ApiError::validation("version", "must not be negative"))?;
            // Only a rules file the read side can use may be proposed: it parses, validates,
            // and declares the version it is proposed as.
            let book = crm_projections::RuleBook::parse(&content)
                .map_err(|e| ApiError::validation("content", e.to_string()))?;
            if book.version != version {
                return Err(ApiError::validation(
                    "content",
                    format!(
                        "the file declares version {}, proposed as version {version}",
                        book.version
                    ),
                ));
            }
            let content_hash = book.hash.clone();
            let command = rules::Command::Propose {
                rule_set_id: RuleSetId::from(uuid("ruleSetId", &rule_set_id)?),
                version,
                content_hash,
                content,
                by,
                now: now(),
            };
            Ok(AppCommand::Rules {
                rule_set: RuleSetId::from(uuid("ruleSetId", &rule_set_id)?),
                command,
            })
        })
        .await
    }

    /// Four eyes: the proposer cannot approve.
    async fn approve_rules(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        rule_set_id: ID,
        version: i32,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let version = u32::try_from(version)
                .map_err(|_| ApiError::validation("version", "must not be negative"))?;
            Ok(AppCommand::Rules {
                rule_set: RuleSetId::from(uuid("ruleSetId", &rule_set_id)?),
                command: rules::Command::Approve {
                    version,
                    by,
                    now: now(),
                },
            })
        })
        .await
    }

    async fn activate_rules(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        rule_set_id: ID,
        version: i32,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |actor: &Actor| {
            let by = actor.staff_id;
            let version = u32::try_from(version)
                .map_err(|_| ApiError::validation("version", "must not be negative"))?;
            Ok(AppCommand::Rules {
                rule_set: RuleSetId::from(uuid("ruleSetId", &rule_set_id)?),
                command: rules::Command::Activate {
                    version,
                    by,
                    now: now(),
                },
            })
        })
        .await
    }
}

remote_enum!(ContactOutcomeInput = "crm_domain::interaction::Outcome" { Reached, NotReached, Interested, NotInterested, Complained, Resolved, FollowUpNeeded });
