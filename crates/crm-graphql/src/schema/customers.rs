//! `customer(id)` (the 360° archive) and `customers(filter, orderBy, first, after, last,
//! before)`, scoped where they are read: a customer the caller may not read is neither
//! returned nor counted. `atPosition` makes a query wait until the read models have applied
//! that log position (read your own write), or fail with TIMEOUT.
//!
//! A page is answered under one read of the model: rows, branch and manager names, and — only
//! when the selection asks for archive fields — each row's archive, so a page of 100
//! customers with their managers costs one read, not 101.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, SimpleObject, ID};
use crm_domain::access::{self, PiiField};
use crm_domain::auth::Right;
use crm_domain::ids::CustomerId;
use crm_domain::Money;
use crm_projections::model::Model;
use crm_projections::views::{self, Customer360, CustomerRow};
use crm_projections::{ExplainSubject, Explanation};
use time::OffsetDateTime;

use super::atrisk::AtRiskFlag;
use super::banking::CustomerBankingView;
use super::caller;
use super::customer_list::page_size;
pub(crate) use super::eventlog::PageInfo;
use super::explain::{ChurnExplanation, ContributionExplanation, RiskExplanation};
use super::groups::{group_of, CustomerGroupView};
use super::history::{
    mask, mask_account, AccountView, AssignmentRecordView, AssignmentView, LifecycleStatus,
};
use super::readside::{
    centi, forbidden, projection_error, read_models, uuid_id, ChurnRisk, RiskPreference, Tier,
};
use super::scalars::{global_id, DateTime, Long};
use crate::error::{gql, ApiError};

/// Money as text in yuan with four decimals: exact, unlike a float.
pub(crate) fn money(m: Money) -> String {
    m.to_string()
}

/// `WealthProduct` → `WEALTH_PRODUCT`: the label of a minor category.
pub(crate) fn label(x: impl std::fmt::Debug) -> String {
    let raw = format!("{x:?}");
    let mut out = String::with_capacity(raw.len() + 4);
    for (i, ch) in raw.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

pub(crate) const ASSET_CLASS_NAMES: [&str; 6] = [
    "CASH",
    "STOCKS",
    "FUNDS",
    "BONDS",
    "WEALTH_PRODUCTS",
    "OTHER",
];

/// Why a customer churned, as recorded with the churn (流失原因).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::customer::ChurnReason")]
pub enum ChurnReason {
    Competitor,
    Fees,
    ServiceQuality,
    InvestmentLosses,
    Relocation,
    LeftTheMarket,
    Other,
}

/// A labelled amount in a breakdown.
#[derive(SimpleObject, Debug, Clone)]
pub struct Amount {
    pub key: String,
    pub amount: String,
}

/// A labelled count in a breakdown.
#[derive(SimpleObject, Debug, Clone)]
pub struct Count {
    pub key: String,
    pub count: i32,
}

pub(crate) fn amounts(names: &[&str], values: &[Money]) -> Vec<Amount> {
    names
        .iter()
        .zip(values)
        .map(|(k, v)| Amount {
            key: (*k).to_string(),
            amount: money(*v),
        })
        .collect()
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::customer::CustomerKind")]
pub enum CustomerKindValue {
    Individual,
    Institutional,
}

/// A reference to a branch or a person with the name the read model knows.
#[derive(SimpleObject, Debug, Clone)]
pub struct Named {
    pub id: ID,
    pub name: Option<String>,
}

/// Identity and contact data. Identity and phone numbers are always masked here (and account
/// numbers in `Customer.accounts`); callers whose role serves the customer read them in full
/// through `Customer.sensitive`, which records the view.
#[derive(SimpleObject, Debug)]
pub struct CustomerProfile {
    pub id_document_type: String,
    /// First 6 and last 4 characters kept (business licences in full). For a resident ID that
    /// is the area code and the sequence and check characters: the 8 birth-date digits are
    /// always hidden.
    pub id_document: String,
    /// First 3 and last 4 digits kept.
    pub phone: Option<String>,
    /// Always null: with the masked identity number, the birth date would give its hidden
    /// digits back. Use `ageBand`, or `sensitive(purpose) { birthday }` for the date.
    #[graphql(
        deprecation = "the birth date completes the masked identity number; use ageBand, or sensitive(purpose) { birthday }"
    )]
    pub birthday: Option<String>,
    /// The customer's age today in a band: `<18`, `18-29`, `30-39`, `40-49`, `50-59`,
    /// `60-69` or `70+`; null when the birthday is not known.
    pub age_band: Option<String>,
    pub occupation: Option<String>,
    pub region_id: Option<ID>,
    pub source_channel: String,
}

/// An account number in full.
#[derive(SimpleObject, Debug)]
pub struct SensitiveAccount {
    pub id: ID,
    pub number: String,
}

/// Identity, phone and account numbers in full; each read is in the caller's access log.
#[derive(SimpleObject, Debug)]
pub struct SensitiveProfile {
    pub id_document: String,
    pub phone: Option<String>,
    /// The birth date (YYYY-MM-DD).
    pub birthday: Option<String>,
    /// Every account's number, open or closed.
    pub accounts: Vec<SensitiveAccount>,
    /// The log position of the access record.
    pub recorded_at_position: Long,
}

#[derive(SimpleObject, Debug)]
pub struct SuitabilityState {
    /// C1–C5.
    pub level: String,
    pub assessed_on: String,
    /// The first day it no longer holds.
    pub expires_on: String,
    /// Valid on the archive's date.
    pub valid: bool,
}

#[derive(SimpleObject, Debug)]
pub struct PendingTransferView {
    pub from: AssignmentView,
    pub to: AssignmentView,
    pub reason: String,
    pub requested_by: ID,
    pub requested_at: DateTime,
    pub position: Long,
}

/// One entry of the interaction timeline (接触记录).
#[derive(SimpleObject, Debug)]
pub struct InteractionEntry {
    pub interaction_id: Option<ID>,
    /// CONTACT, CARE, VISIT or WIN_BACK.
    pub kind: String,
    pub channel: String,
    pub staff_id: ID,
    pub topic: String,
    pub outcome: Option<String>,
    pub at: DateTime,
    pub position: Long,
}

#[derive(SimpleObject, Debug)]
pub struct TicketView {
    pub id: ID,
    pub ticket_id: ID,
    pub customer_id: Option<ID>,
    pub branch_id: Option<ID>,
    pub kind: String,
    pub priority: String,
    pub channel: String,
    pub subject: String,
    pub status: String,
    pub assignee_id: Option<ID>,
    pub opened_at: DateTime,
    pub sla_deadline: DateTime,
    pub resolved_at: Option<DateTime>,
    pub within_sla: Option<bool>,
    pub escalation_level: i32,
    pub satisfaction: Option<i32>,
    pub position: Long,
}

impl From<&crm_projections::model::TicketRecord> for TicketView {
    fn from(t: &crm_projections::model::TicketRecord) -> Self {
        TicketView {
            id: global_id("Ticket", t.id),
            ticket_id: uuid_id(t.id),
            customer_id: t.customer.map(uuid_id),
            branch_id: t.branch.map(uuid_id),
            kind: label(t.kind),
            priority: label(t.priority),
            channel: label(t.channel),
            subject: t.subject.clone(),
            status: label(t.status),
            assignee_id: t.assignee.map(uuid_id),
            opened_at: DateTime(t.opened_at),
            sla_deadline: DateTime(t.sla_deadline),
            resolved_at: t.resolved_at.map(DateTime),
            within_sla: t.within_sla,
            escalation_level: i32::from(t.escalation_level),
            satisfaction: t.satisfaction.map(i32::from),
            position: Long(t.position),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct OpportunityView {
    pub id: ID,
    pub opportunity_id: ID,
    pub customer_id: ID,
    pub product_id: Option<ID>,
    pub title: String,
    pub stage: String,
    pub owner_id: ID,
    pub source_channel: String,
    pub expected_amount: String,
    pub amount: Option<String>,
    pub created_at: DateTime,
    pub closed_at: Option<DateTime>,
    pub position: Long,
}

impl From<&crm_projections::model::OpportunityRecord> for OpportunityView {
    fn from(o: &crm_projections::model::OpportunityRecord) -> Self {
        OpportunityView {
            id: global_id("Opportunity", o.id),
            opportunity_id: uuid_id(o.id),
            customer_id: uuid_id(o.customer),
            product_id: o.product.map(uuid_id),
            title: o.title.clone(),
            stage: label(o.stage),
            owner_id: uuid_id(o.owner),
            source_channel: label(o.source),
            expected_amount: money(o.expected_amount),
            amount: o.amount.map(money),
            created_at: DateTime(o.created_at),
            closed_at: o.closed_at.map(DateTime),
            position: Long(o.position),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct CampaignResponseView {
    pub campaign_id: ID,
    pub name: String,
    /// CONTACTED, INTERESTED, NOT_INTERESTED or CONVERTED.
    pub response: String,
}

#[derive(SimpleObject, Debug)]
pub struct ProductHeld {
    pub product_id: ID,
    /// R1–R5.
    pub risk: String,
    pub amount: String,
    pub first_sold: DateTime,
    pub position: Long,
}

/// Turnover and commission over trailing windows ending on the archive's date.
#[derive(SimpleObject, Debug)]
pub struct WindowFigures {
    pub turnover_30_days: String,
    pub turnover_90_days: String,
    pub turnover_365_days: String,
    pub commission_30_days: String,
    pub commission_90_days: String,
    pub commission_365_days: String,
}

/// A customer: the list row, and the archive (客户档案 / 360度视图) behind it.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct Customer {
    /// The global id (`node(id:)`); see the `id` resolver.
    #[graphql(skip)]
    pub gid: ID,
    pub customer_id: ID,
    pub name: String,
    pub kind: CustomerKindValue,
    pub lifecycle: LifecycleStatus,
    pub branch: Option<Named>,
    pub manager: Option<Named>,
    pub team_id: Option<ID>,
    /// 日终总资产 in yuan, over all accounts at their latest trade date.
    pub assets: String,
    /// 贡献度 in points under the current rules.
    pub contribution_score: f64,
    pub tier: Tier,
    pub risk_preference: RiskPreference,
    pub churn_risk: ChurnRisk,
    /// Why the churn risk is what it is: the rule and the figures ("no trade or contact for
    /// 95 days (rule: 90 days)"); null at low risk.
    pub churn_risk_reason: Option<String>,
    /// The reason recorded with the customer's churn (流失原因); null unless they churned.
    pub churn_reason: Option<ChurnReason>,
    /// The standing warning that the customer may leave (流失预警), raised by their
    /// broker/manager or management (`flagCustomerAtRisk`); null when none. Never a churn:
    /// it lifts `churnRisk` to at least MEDIUM, and no appraisal counts it.
    pub at_risk_flag: Option<AtRiskFlag>,
    /// The log position of the last event that changed this customer.
    pub position: Long,
    #[graphql(skip)]
    pub(crate) archive: Option<Arc<Customer360>>,
    /// The business date a list was asked for (`asOf`); `None` = the read models' own.
    #[graphql(skip)]
    pub(crate) as_of: Option<time::Date>,
}

impl Customer {
    pub(crate) fn of(
        m: &Model,
        row: CustomerRow,
        archive: Option<Customer360>,
        as_of: Option<time::Date>,
    ) -> Customer {
        let branch = row.branch.map(|b| Named {
            id: uuid_id(b),
            name: views::branch(m, b).map(|x| x.name.clone()),
        });
        let manager = row.manager.map(|s| Named {
            id: uuid_id(s),
            name: views::staff(m, s).map(|x| x.name.clone()),
        });
        Customer {
            gid: global_id("Customer", row.id),
            customer_id: uuid_id(row.id),
            name: row.name,
            kind: row.kind.into(),
            lifecycle: row.lifecycle.into(),
            branch,
            manager,
            team_id: row.team.map(uuid_id),
            assets: money(row.assets),
            contribution_score: centi(row.contribution_score_centi),
            tier: row.tier.into(),
            risk_preference: row.risk_preference.into(),
            churn_risk: row.churn_risk.into(),
            churn_risk_reason: row.churn_risk_reason,
            churn_reason: row.churn_reason.map(Into::into),
            at_risk_flag: row.at_risk_flag.map(|f| AtRiskFlag::of(m, f)),
            position: Long(row.position),
            archive: archive.map(Arc::new),
            as_of,
        }
    }

    fn local_id(&self) -> Result<CustomerId, ApiError> {
        uuid::Uuid::parse_str(self.customer_id.as_str())
            .map(CustomerId::from)
            .map_err(|_| ApiError::Internal("a customer row without a uuid".into()))
    }

    /// The archive: prefetched with the page, or read now (a node fetched on its own).
    fn archive(&self, ctx: &Context<'_>) -> Result<Arc<Customer360>, ApiError> {
        if let Some(a) = &self.archive {
            return Ok(a.clone());
        }
        let id = self.local_id()?;
        let as_of = self.as_of;
        read_models(ctx)?
            .read(|m, r| views::customer_360_resident(m, r, id, as_of))
            .map(Arc::new)
            .ok_or_else(|| ApiError::NotFound("customer".into()))
    }
}

fn explain(
    ctx: &Context<'_>,
    subject: ExplainSubject,
) -> Result<Option<(Explanation, Vec<u64>)>, ApiError> {
    read_models(ctx)?
        .projections()
        .explain(subject)
        .map_err(projection_error)
}

#[ComplexObject]
impl Customer {
    /// The global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        self.gid.clone()
    }

    /// The date the archive's windows and churn risk are evaluated at (the log's latest
    /// business date).
    async fn as_of(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.archive(ctx).map_err(gql)?.as_of.to_string())
    }

    async fn key_customer(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.archive(ctx).map_err(gql)?.record.key_customer)
    }

    async fn group_customer(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.archive(ctx).map_err(gql)?.record.group_customer)
    }

    async fn registered_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime> {
        Ok(DateTime(
            self.archive(ctx).map_err(gql)?.record.registered_at,
        ))
    }

    async fn last_contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.record.last_contact.map(|d| d.to_string()))
    }

    async fn last_trade(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.record.last_trade.map(|d| d.to_string()))
    }

    /// Masked identity and contact data.
    async fn profile(&self, ctx: &Context<'_>) -> async_graphql::Result<CustomerProfile> {
        let a = self.archive(ctx).map_err(gql)?;
        let p = &a.record.profile;
        let (kind, number) = document(&p.document);
        let shown = if kind == "BUSINESS_LICENCE" {
            number
        } else {
            mask(&number, 6, 4)
        };
        Ok(CustomerProfile {
            id_document_type: kind.into(),
            id_document: shown,
            phone: p.phone.as_ref().map(|x| mask(x.as_str(), 3, 4)),
            birthday: None,
            age_band: p
                .birthday
                .map(|b| age_band(b, OffsetDateTime::now_utc().date())),
            occupation: p.occupation.as_ref().map(|o| o.as_str().to_string()),
            region_id: p.region.map(uuid_id),
            source_channel: label(p.source_channel),
        })
    }

    /// Identity, phone and account numbers in full, for the roles that serve the customer. The
    /// view is recorded in the caller's access log (who, when, which customer, `purpose`)
    /// before the data is returned; if it cannot be recorded, nothing is shown. Refused over
    /// GET.
    async fn sensitive(
        &self,
        ctx: &Context<'_>,
        purpose: String,
    ) -> async_graphql::Result<SensitiveProfile> {
        async {
            let actor = *caller(ctx)?;
            if !crm_domain::read_policy::sees_pii(&actor) {
                return Err(forbidden(Right::ReadCustomer));
            }
            if purpose.trim().is_empty() {
                return Err(ApiError::validation("purpose", "must say why"));
            }
            let a = self.archive(ctx)?;
            let p = &a.record.profile;
            let mut fields = vec![PiiField::IdDocument];
            if p.phone.is_some() {
                fields.push(PiiField::Phone);
            }
            let outcome =
                super::readside::record_access(ctx, &actor, |now| access::Command::RecordPiiView {
                    staff_id: actor.staff_id,
                    customer_id: a.record.id,
                    fields,
                    purpose: purpose.trim().chars().take(200).collect(),
                    now,
                })
                .await?;
            Ok(SensitiveProfile {
                id_document: document(&p.document).1,
                phone: p.phone.as_ref().map(|x| x.as_str().to_string()),
                birthday: p.birthday.map(|d| d.to_string()),
                accounts: a
                    .record
                    .accounts
                    .iter()
                    .map(|x| SensitiveAccount {
                        id: uuid_id(x.account_id),
                        number: x.number.clone(),
                    })
                    .collect(),
                recorded_at_position: Long(outcome.position),
            })
        }
        .await
        .map_err(gql)
    }

    /// Deposits, loans, cards, e-banking, wealth products and fee income (issue 17), as of
    /// the archive's date; null when the customer has no bank business.
    async fn banking(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<CustomerBankingView>> {
        let id = self.local_id().map_err(gql)?;
        let as_of = self.as_of;
        Ok(read_models(ctx).map_err(gql)?.read(|m, _| {
            let on = views::today(m, as_of);
            views::customer_banking(m, id, on).map(|b| CustomerBankingView::of(&b, on))
        }))
    }

    /// 客户贡献度 of a bank customer (issue 17 item 3, `[bank_contribution]` in the rules):
    /// deposit and loan spreads against the funds transfer price, fee income, less cost to
    /// serve and expected credit loss, each account with its inputs. `month` (YYYY-MM): that
    /// month, to the as-of date if it is the current one; default the month to date. Null when
    /// the customer has no bank business or the rules no `[bank_contribution]`.
    async fn bank_contribution(
        &self,
        ctx: &Context<'_>,
        month: Option<String>,
    ) -> async_graphql::Result<Option<super::bank_value::BankContributionView>> {
        let id = self.local_id().map_err(gql)?;
        super::bank_value::bank_contribution_of(ctx, id, self.as_of, month.as_deref()).map_err(gql)
    }

    /// For a group customer (集团客户): its members the caller may read, how many others there
    /// are, and the group's totals over what is shown; null for any other customer.
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CustomerGroupView>> {
        let id = self.local_id().map_err(gql)?;
        group_of(ctx, id, self.as_of).map_err(gql)
    }

    async fn accounts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AccountView>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.record
            .accounts
            .iter()
            .map(|x| AccountView {
                id: uuid_id(x.account_id),
                kind: account_kind(x.kind),
                number: mask_account(&x.number),
                opened_at: DateTime(x.opened_at),
                closed_at: x.closed_at.map(DateTime),
            })
            .collect())
    }

    /// Every assignment, oldest first.
    async fn assignment_history(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AssignmentRecordView>> {
        let id = self.local_id().map_err(gql)?;
        let history = read_models(ctx)
            .map_err(gql)?
            .projections()
            .assignment_history(id)
            .map_err(|e| gql(projection_error(e)))?;
        Ok(history
            .iter()
            .map(|e| AssignmentRecordView {
                assignment: assignment(&e.assignment),
                reason: e.reason.clone(),
                by: uuid_id(e.by),
                approved_by: e.approved_by.map(uuid_id),
                at: DateTime(e.at),
            })
            .collect())
    }

    async fn pending_transfer(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<PendingTransferView>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.record
            .pending_transfer
            .as_ref()
            .map(|t| PendingTransferView {
                from: assignment(&t.from),
                to: assignment(&t.to),
                reason: t.reason.clone(),
                requested_by: uuid_id(t.by),
                requested_at: DateTime(t.at),
                position: Long(t.position),
            }))
    }

    async fn suitability(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SuitabilityState>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.record.suitability.map(|s| SuitabilityState {
            level: format!("{:?}", s.level),
            assessed_on: s.assessed_on.to_string(),
            expires_on: s.expires_on.to_string(),
            valid: a.suitability_valid,
        }))
    }

    /// Interactions, newest first, at most `first` (default 50).
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<InteractionEntry>> {
        let id = self.local_id().map_err(gql)?;
        let first = page_size(ctx, "first", first).map_err(gql)?.unwrap_or(50);
        let timeline = read_models(ctx)
            .map_err(gql)?
            .projections()
            .customer_timeline(id, first)
            .map_err(|e| gql(projection_error(e)))?;
        Ok(timeline
            .iter()
            .map(|t| InteractionEntry {
                interaction_id: t.interaction_id.map(uuid_id),
                kind: t.kind.to_uppercase(),
                channel: label(t.channel),
                staff_id: uuid_id(t.staff),
                topic: t.topic.clone(),
                outcome: t.outcome.map(label),
                at: DateTime(t.at),
                position: Long(t.position),
            })
            .collect())
    }

    /// Tickets opened for the customer, newest first, at most `first` (default 50).
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<TicketView>> {
        let id = self.local_id().map_err(gql)?;
        let first = page_size(ctx, "first", first).map_err(gql)?.unwrap_or(50);
        let tickets = read_models(ctx)
            .map_err(gql)?
            .projections()
            .customer_tickets(id, first)
            .map_err(|e| gql(projection_error(e)))?;
        Ok(tickets.iter().map(TicketView::from).collect())
    }

    /// Leads created for the customer, newest first, at most `first` (default 50).
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<OpportunityView>> {
        let id = self.local_id().map_err(gql)?;
        let first = page_size(ctx, "first", first).map_err(gql)?.unwrap_or(50);
        let opportunities = read_models(ctx)
            .map_err(gql)?
            .projections()
            .customer_opportunities(id, first)
            .map_err(|e| gql(projection_error(e)))?;
        Ok(opportunities.iter().map(OpportunityView::from).collect())
    }

    async fn campaigns(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CampaignResponseView>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.campaigns
            .iter()
            .map(|(id, name, r)| CampaignResponseView {
                campaign_id: uuid_id(id),
                name: name.clone(),
                response: label(r),
            })
            .collect())
    }

    async fn products(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProductHeld>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(a.record
            .products
            .iter()
            .map(|p| ProductHeld {
                product_id: uuid_id(p.product_id),
                risk: format!("{:?}", p.risk),
                amount: money(p.amount),
                first_sold: DateTime(p.first_sold),
                position: Long(p.position),
            })
            .collect())
    }

    /// Latest holdings by asset class.
    async fn holdings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Amount>> {
        let a = self.archive(ctx).map_err(gql)?;
        Ok(amounts(&ASSET_CLASS_NAMES, &a.record.holdings))
    }

    async fn unrealised_pnl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(money(self.archive(ctx).map_err(gql)?.record.unrealised_pnl))
    }

    /// Turnover and commission over the 30, 90 and 365 days ending on `asOf`, that day
    /// included.
    async fn windows(&self, ctx: &Context<'_>) -> async_graphql::Result<WindowFigures> {
        let id = self.local_id().map_err(gql)?;
        let w = read_models(ctx)
            .map_err(gql)?
            .projections()
            .customer_windows(id, self.as_of)
            .map_err(|e| gql(projection_error(e)))?;
        Ok(WindowFigures {
            turnover_30_days: money(w.turnover_30d),
            turnover_90_days: money(w.turnover_90d),
            turnover_365_days: money(w.turnover_365d),
            commission_30_days: money(w.commission_30d),
            commission_90_days: money(w.commission_90d),
            commission_365_days: money(w.commission_365d),
        })
    }

    /// Why the contribution score and tier are what they are: rule version, each term with
    /// its input and weight, and the positions of the daily summaries that fed the inputs.
    async fn contribution_explanation(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ContributionExplanation>> {
        let customer = self.local_id().map_err(gql)?;
        match explain(ctx, ExplainSubject::Contribution { customer, on: None }).map_err(gql)? {
            Some((Explanation::Contribution(e), positions)) => {
                Ok(Some(ContributionExplanation::of(&e, positions)))
            }
            _ => Ok(None),
        }
    }

    /// Why the risk preference is what it is: each trading signal, its value, thresholds
    /// and vote.
    async fn risk_preference_explanation(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RiskExplanation>> {
        let customer = self.local_id().map_err(gql)?;
        match explain(ctx, ExplainSubject::RiskPreference { customer, on: None }).map_err(gql)? {
            Some((Explanation::RiskPreference(e), positions)) => {
                Ok(Some(RiskExplanation::of(&e, positions)))
            }
            _ => Ok(None),
        }
    }

    /// 分层服务: the service plan under the customer's tier standard (`[service.<tier>]`)
    /// as of `asOf`: the next contact and visit due and how late they are; null for a
    /// customer not served to a standard (not active or dormant).
    async fn service_plan(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::service::ServicePlanView>> {
        let a = self.archive(ctx).map_err(gql)?;
        let plan = read_models(ctx)
            .map_err(gql)?
            .read(|_, r| views::service_plan(&a.record, r, a.as_of));
        Ok(plan.as_ref().map(Into::into))
    }

    /// Churn risk with its reason, the rule's thresholds and the events behind it.
    async fn churn(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ChurnExplanation>> {
        let customer = self.local_id().map_err(gql)?;
        match explain(
            ctx,
            ExplainSubject::ChurnRisk {
                customer,
                as_of: None,
            },
        )
        .map_err(gql)?
        {
            Some((Explanation::ChurnRisk(e), positions)) => {
                Ok(Some(ChurnExplanation::of(&e, positions)))
            }
            _ => Ok(None),
        }
    }
}

/// FUND, CREDIT, or SECURITIES_ with the market (SECURITIES_SHANGHAI).
fn account_kind(k: crm_domain::customer::AccountKind) -> String {
    use crm_domain::customer::AccountKind;
    match k {
        AccountKind::Fund => "FUND".into(),
        AccountKind::Credit => "CREDIT".into(),
        AccountKind::Securities { market } => format!("SECURITIES_{}", label(market)),
    }
}

fn assignment(a: &crm_domain::customer::Assignment) -> AssignmentView {
    AssignmentView {
        branch_id: uuid_id(a.branch),
        manager_id: a.manager.map(uuid_id),
        team_id: a.team.map(uuid_id),
    }
}

/// Age bands of the masked profile. Ten years wide (70 and over in one), so that with the
/// masked resident ID (area code, sequence and check character shown) some 330 birth dates
/// remain possible rather than the ~33 a birth year would leave.
const AGE_BANDS: [(i32, &str); 7] = [
    (0, "<18"),
    (18, "18-29"),
    (30, "30-39"),
    (40, "40-49"),
    (50, "50-59"),
    (60, "60-69"),
    (70, "70+"),
];

/// The band of the age on `today` of someone born on `birthday`.
pub(crate) fn age_band(birthday: time::Date, today: time::Date) -> String {
    let before_birthday_this_year =
        (u8::from(today.month()), today.day()) < (u8::from(birthday.month()), birthday.day());
    let age = today.year() - birthday.year() - i32::from(before_birthday_this_year);
    AGE_BANDS
        .iter()
        .rev()
        .find(|(from, _)| age >= *from)
        .map_or("<18", |(_, band)| band)
        .to_string()
}

fn document(doc: &crm_domain::values::IdDocument) -> (&'static str, String) {
    use crm_domain::values::IdDocument;
    match doc {
        IdDocument::ResidentId { number } => ("RESIDENT_ID", number.as_str().to_string()),
        IdDocument::Passport { number, .. } => ("PASSPORT", number.as_str().to_string()),
        IdDocument::BusinessLicence { code } => ("BUSINESS_LICENCE", code.as_str().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::age_band;
    use time::macros::date;

    #[test]
    fn age_bands_turn_on_the_birthday() {
        let born = date!(1986 - 06 - 15);
        assert_eq!(age_band(born, date!(2016 - 06 - 14)), "18-29");
        assert_eq!(age_band(born, date!(2016 - 06 - 15)), "30-39");
        assert_eq!(
            age_band(date!(1949 - 12 - 31), date!(2026 - 01 - 01)),
            "70+"
        );
        assert_eq!(
            age_band(date!(2020 - 01 - 01), date!(2026 - 01 - 01)),
            "<18"
        );
        assert_eq!(
            age_band(date!(2030 - 01 - 01), date!(2026 - 01 - 01)),
            "<18"
        );
    }
}
