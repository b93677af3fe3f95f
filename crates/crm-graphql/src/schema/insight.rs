//! Segments, campaign, channel and service-quality views, tickets, products and the caller's
//! to-do list (待办事宜).

use async_graphql::{Context, Object, SimpleObject, ID};
use crm_domain::auth::{Actor, Right};
use crm_domain::ids::{BranchId, TicketId};
use crm_domain::read_policy;
use crm_projections::model::{Model, TicketRecord, TicketStatus};
use crm_projections::views::{self, Todo};
use time::OffsetDateTime;

use super::caller;
use super::customer_list::{page_size, CustomerFilterInput};
use super::customers::{label, money, OpportunityView, PageInfo, TicketView};
use super::readside::{
    forbidden, int, may_read, org_tree, parse_uuid, reach, read_models, require_company_reader,
    target, uuid_id, ChurnRisk, Reflects, RiskPreference, Tier,
};
use super::scalars::{DateTime, Long};
use crate::error::{gql, ApiError};

#[derive(SimpleObject, Debug)]
pub struct TierCount {
    pub tier: Tier,
    pub count: i32,
}

#[derive(SimpleObject, Debug)]
pub struct RiskPreferenceCount {
    pub risk_preference: RiskPreference,
    pub count: i32,
}

#[derive(SimpleObject, Debug)]
pub struct ChurnRiskCount {
    pub churn_risk: ChurnRisk,
    pub count: i32,
}

/// Counts of a segment of the caller's customers by tier, risk preference and churn risk.
#[derive(SimpleObject, Debug)]
pub struct Segment {
    pub as_of: Option<String>,
    pub customers: i32,
    pub assets: String,
    pub by_tier: Vec<TierCount>,
    pub by_risk_preference: Vec<RiskPreferenceCount>,
    pub by_churn_risk: Vec<ChurnRiskCount>,
    pub reflects: Reflects,
}

/// 营销活动效果.
#[derive(SimpleObject, Debug)]
pub struct CampaignEffectView {
    pub campaign_id: ID,
    pub name: String,
    pub branch_id: Option<ID>,
    pub status: String,
    pub budget: String,
    pub targeted: i32,
    pub responded: i32,
    pub converted: i32,
    pub response_rate_bp: i32,
    pub conversion_rate_bp: i32,
    pub assets_attracted: String,
}

/// 渠道效果.
#[derive(SimpleObject, Debug)]
pub struct ChannelEffectView {
    pub channel: String,
    pub contacts: i32,
    pub reached: i32,
    pub interested: i32,
    pub leads: i32,
    pub won: i32,
    pub won_amount: String,
    pub tickets: i32,
    /// Won opportunities per lead from this channel, basis points.
    pub conversion_bp: i32,
}

#[derive(SimpleObject, Debug)]
pub struct TicketKindQuality {
    pub kind: String,
    pub opened: i32,
    pub open_now: i32,
    pub resolved: i32,
    pub sla_breaches: i32,
    pub mean_resolution_minutes: Option<i32>,
    /// Mean satisfaction, 1.00–5.00.
    pub satisfaction: Option<f64>,
    pub satisfaction_responses: i32,
}

/// 服务质量.
#[derive(SimpleObject, Debug)]
pub struct ServiceQualityView {
    pub branch_id: Option<ID>,
    pub at: DateTime,
    pub by_kind: Vec<TicketKindQuality>,
    pub sla_breaches: i32,
    pub open_now: i32,
}

/// One reminder or open workflow step.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct TodoView {
    /// FOLLOW_UP_DUE, VISIT_DUE, SLA_BREACHED, SLA_ABOUT_TO_BREACH, TICKET_ASSIGNED, BIRTHDAY,
    /// LARGE_OUTFLOW, SUITABILITY_EXPIRING, TRANSFER_APPROVAL, RULE_SET_APPROVAL,
    /// CHURN_RISK (a customer of one's book at medium or high churn risk; those due the same
    /// day come largest assets first) or PREFERENCE_CONFLICT (a customer of one's book whose
    /// valid questionnaire level the risk preference inferred from their trading contradicts:
    /// reassess suitability); for a bank, TIME_DEPOSIT_MATURING (retain the funds),
    /// LOAN_REPAYMENT_DUE, LOAN_OVERDUE or LOAN_DOWNGRADED (also to the outlet's branch
    /// manager); 分层服务: SERVICE_CONTACT_DUE or SERVICE_VISIT_DUE (a contact or visit the
    /// customer's tier standard asks for, due within `[reminders] service_days_ahead` or
    /// overdue); 客户关怀: CARE_GREETING_DUE (a holiday or market-event greeting the tier asks
    /// for, from `[reminders] birthday_days_ahead` before the occasion until its `[care]`
    /// window closes, while none was made).
    pub kind: String,
    pub customer_id: Option<ID>,
    pub ticket_id: Option<ID>,
    pub due: String,
    pub text: String,
    /// The event the reminder comes from.
    pub position: Long,
    /// For CHURN_RISK: the customer's assets in yuan plus, with bank business, their latest
    /// total deposits, what leaves if they do; for TIME_DEPOSIT_MATURING the deposit's
    /// balance; null otherwise.
    pub value_at_risk: Option<String>,
}

impl From<&Todo> for TodoView {
    fn from(t: &Todo) -> Self {
        TodoView {
            kind: label(t.kind),
            customer_id: t.customer.map(uuid_id),
            ticket_id: t.ticket.map(uuid_id),
            due: t.due.to_string(),
            text: t.text.clone(),
            position: Long(t.position),
            value_at_risk: t.value_at_risk.map(money),
        }
    }
}

/// A count per key as GraphQL objects.
fn counted<K: Copy, T>(
    counts: &std::collections::BTreeMap<K, usize>,
    make: impl Fn(K, i32) -> T,
) -> Vec<T> {
    counts.iter().map(|(k, n)| make(*k, int(*n))).collect()
}

/// The caller's to-do list at an instant.
pub(crate) fn todos_of(
    m: &Model,
    r: &crm_projections::RuleBook,
    actor: &Actor,
    at: OffsetDateTime,
) -> Vec<TodoView> {
    views::todos(m, r, actor.staff_id, at)
        .iter()
        .map(TodoView::from)
        .collect()
}

#[derive(SimpleObject, Debug)]
pub struct ProductView {
    pub product_id: ID,
    pub name: String,
    pub kind: String,
    /// R1–R5.
    pub risk: String,
    pub withdrawn: bool,
}

#[derive(SimpleObject)]
pub struct TicketEdge {
    pub cursor: String,
    pub node: TicketView,
}

#[derive(SimpleObject)]
pub struct TicketConnection {
    pub edges: Vec<TicketEdge>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

/// Tickets the caller handles or may see (`read_policy::may_see_ticket`), the ticket's
/// customer as assigned now.
fn may_see_ticket(actor: &Actor, m: &Model, t: &TicketRecord) -> bool {
    let ticket = read_policy::TicketTarget {
        assignee: t.assignee,
        customer: t.customer.and_then(|c| views::customer(m, c)).map(target),
        branch: t.branch,
    };
    read_policy::may_see_ticket(actor, &ticket, &org_tree(actor, m))
}

/// A knowledge article (知识库), announcement (公告) or news item.
#[derive(SimpleObject, Debug)]
pub struct ArticleView {
    pub id: ID,
    pub article_id: ID,
    /// KNOWLEDGE, ANNOUNCEMENT or NEWS.
    pub kind: String,
    /// The branch it is for; absent: the whole company.
    pub audience_branch_id: Option<ID>,
    pub title: String,
    pub body: String,
    pub revision: i32,
    pub published_by: ID,
    pub published_at: DateTime,
    pub updated_at: DateTime,
    pub withdrawn: bool,
    pub position: Long,
}

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::article::ArticleKind")]
pub enum ArticleKindValue {
    Knowledge,
    Announcement,
    News,
}

#[derive(SimpleObject)]
pub struct ArticleEdge {
    pub cursor: String,
    pub node: ArticleView,
}

#[derive(SimpleObject)]
pub struct ArticleConnection {
    pub edges: Vec<ArticleEdge>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

#[derive(SimpleObject)]
pub struct OpportunityEdge {
    pub cursor: String,
    pub node: OpportunityView,
}

#[derive(SimpleObject)]
pub struct OpportunityConnection {
    pub edges: Vec<OpportunityEdge>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

/// An `after` cursor of a list in id order: the id itself.
fn id_cursor(after: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    after
        .map(|a| {
            uuid::Uuid::parse_str(a.trim())
                .map_err(|_| ApiError::validation("after", "is not a cursor of this list"))
        })
        .transpose()
}

/// An article for the whole company reaches everyone; one for a branch reaches those who work
/// in or oversee it (`read_policy::may_see_article`).
fn may_see_article(actor: &Actor, m: &Model, audience: Option<BranchId>) -> bool {
    read_policy::may_see_article(actor, audience, &org_tree(actor, m))
}

/// Ids after `after` in descending order (uuid v7 ids: newest first), at most `first`.
fn page_desc<T, I: Ord + Copy + std::fmt::Display>(
    mut hits: Vec<(I, T)>,
    after: Option<I>,
    first: usize,
) -> (Vec<(String, T)>, bool, bool, usize) {
    hits.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
    let total = hits.len();
    let start = after.map_or(0, |a| hits.partition_point(|(id, _)| *id >= a));
    let end = (start + first).min(total);
    let has_previous = start > 0;
    let page = hits
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .map(|(id, t)| (id.to_string(), t))
        .collect();
    (page, has_previous, end < total, total)
}

fn page_info<T>(edges: &[(String, T)], has_previous_page: bool, has_next_page: bool) -> PageInfo {
    PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: edges.first().map(|e| e.0.clone()),
        end_cursor: edges.last().map(|e| e.0.clone()),
    }
}

#[derive(Default, Debug)]
pub struct InsightQuery;

#[Object]
impl InsightQuery {
    /// Counts of the caller's customers matching `filter` by tier, risk preference and churn
    /// risk.
    async fn segments(
        &self,
        ctx: &Context<'_>,
        filter: Option<CustomerFilterInput>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Segment> {
        async {
            let actor = *caller(ctx)?;
            let filter = filter.unwrap_or_default().parse()?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let reflects = Reflects::of(models);
            let s = models.read(|m, r| {
                let org = org_tree(&actor, m);
                // Narrow to what the caller may read first; the segment counts only that.
                let visible: Vec<_> = views::customer_records(m)
                    .filter(|c| may_read(&actor, c, &org))
                    .map(|c| c.id)
                    .collect();
                let all = visible.len() == views::customer_count(m);
                if all {
                    views::segments(m, r, &filter)
                } else {
                    segments_of(m, r, &filter, &visible)
                }
            });
            Ok(Segment {
                as_of: s.as_of.map(|d| d.to_string()),
                customers: int(s.customers),
                assets: money(s.assets),
                by_tier: counted(&s.by_tier, |k, count| TierCount {
                    tier: k.into(),
                    count,
                }),
                by_risk_preference: counted(&s.by_risk_preference, |k, count| {
                    RiskPreferenceCount {
                        risk_preference: k.into(),
                        count,
                    }
                }),
                by_churn_risk: counted(&s.by_churn_risk, |k, count| ChurnRiskCount {
                    churn_risk: k.into(),
                    count,
                }),
                reflects,
            })
        }
        .await
        .map_err(gql)
    }

    /// Campaign effectiveness: targeted, responded, converted, assets attracted.
    async fn campaign_effectiveness(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CampaignEffectView>> {
        async {
            let actor = *caller(ctx)?;
            Ok(read_models(ctx)?.read(|m, _| {
                let org = org_tree(&actor, m);
                views::campaign_effectiveness(m)
                    .iter()
                    .filter(|c| read_policy::may_read_figures(&actor, c.branch, &org))
                    .map(|c| CampaignEffectView {
                        campaign_id: uuid_id(c.campaign),
                        name: c.name.clone(),
                        branch_id: c.branch.map(uuid_id),
                        status: c.status.to_uppercase(),
                        budget: money(c.budget),
                        targeted: int(c.targeted),
                        responded: int(c.responded),
                        converted: int(c.converted),
                        response_rate_bp: int(c.response_rate_bp),
                        conversion_rate_bp: int(c.conversion_rate_bp),
                        assets_attracted: money(c.assets_attracted),
                    })
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }

    /// Contacts and conversions per channel, company-wide.
    async fn channel_effectiveness(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ChannelEffectView>> {
        async {
            require_company_reader(caller(ctx)?)?;
            Ok(read_models(ctx)?.read(|m, _| {
                views::channel_effectiveness(m)
                    .iter()
                    .map(|c| ChannelEffectView {
                        channel: label(c.channel),
                        contacts: int(c.contacts),
                        reached: int(c.reached),
                        interested: int(c.interested),
                        leads: int(c.leads),
                        won: int(c.won),
                        won_amount: money(c.won_amount),
                        tickets: int(c.tickets),
                        conversion_bp: int(c.conversion_bp),
                    })
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }

    /// Tickets by type, SLA breaches, mean resolution time and satisfaction, for a branch or
    /// (company readers) the company, at `at` (default now).
    async fn service_quality(
        &self,
        ctx: &Context<'_>,
        branch_id: Option<ID>,
        at: Option<DateTime>,
    ) -> async_graphql::Result<ServiceQualityView> {
        async {
            let actor = *caller(ctx)?;
            let branch = branch_id
                .as_ref()
                .map(|b| parse_uuid("branchId", b).map(BranchId::from))
                .transpose()?;
            let at = DateTime::checked_opt(at, "at")?.unwrap_or_else(OffsetDateTime::now_utc);
            read_models(ctx)?.read(|m, _| {
                if !read_policy::may_read_figures(&actor, branch, &org_tree(&actor, m)) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let q = views::service_quality(m, branch, at);
                Ok(ServiceQualityView {
                    branch_id: q.branch.map(uuid_id),
                    at: DateTime(q.at),
                    by_kind: q
                        .by_kind
                        .iter()
                        .map(|k| TicketKindQuality {
                            kind: label(k.kind),
                            opened: int(k.opened),
                            open_now: int(k.open_now),
                            resolved: int(k.resolved),
                            sla_breaches: int(k.sla_breaches),
                            mean_resolution_minutes: k.mean_resolution_minutes.map(int),
                            satisfaction: k.satisfaction_centi.map(|s| s as f64 / 100.0),
                            satisfaction_responses: int(k.satisfaction_responses),
                        })
                        .collect(),
                    sla_breaches: int(q.sla_breaches),
                    open_now: int(q.open_now),
                })
            })
        }
        .await
        .map_err(gql)
    }

    /// The caller's to-do list at `at` (default now): reminders from the rules and open
    /// workflow steps, due first.
    async fn todos(
        &self,
        ctx: &Context<'_>,
        at: Option<DateTime>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Vec<TodoView>> {
        async {
            let actor = *caller(ctx)?;
            let at = DateTime::checked_opt(at, "at")?.unwrap_or_else(OffsetDateTime::now_utc);
            reach(ctx, at_position).await?;
            Ok(read_models(ctx)?.read(|m, r| todos_of(m, r, &actor, at)))
        }
        .await
        .map_err(gql)
    }

    /// Tickets the caller may see, in id order; `open` narrows to tickets not yet resolved.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        branch_id: Option<ID>,
        open: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<TicketConnection> {
        async {
            let actor = *caller(ctx)?;
            let branch = branch_id
                .as_ref()
                .map(|b| parse_uuid("branchId", b).map(BranchId::from))
                .transpose()?;
            let first = page_size(ctx, "first", first)?.unwrap_or(50);
            let after = id_cursor(after.as_deref())?.map(TicketId::from);
            Ok(read_models(ctx)?.read(|m, _| {
                let mut hits: Vec<&TicketRecord> = views::tickets(m)
                    .filter(|t| branch.is_none_or(|b| t.branch == Some(b)))
                    .filter(|t| {
                        open.is_none_or(|o| {
                            o == matches!(t.status, TicketStatus::Open | TicketStatus::Assigned)
                        })
                    })
                    .filter(|t| may_see_ticket(&actor, m, t))
                    .collect();
                hits.sort_unstable_by_key(|t| t.id);
                let total = hits.len();
                let start = after.map_or(0, |a| hits.partition_point(|t| t.id <= a));
                let end = (start + first).min(total);
                let edges: Vec<TicketEdge> = hits[start.min(end)..end]
                    .iter()
                    .map(|t| TicketEdge {
                        cursor: t.id.to_string(),
                        node: TicketView::from(*t),
                    })
                    .collect();
                TicketConnection {
                    page_info: PageInfo {
                        has_next_page: end < total,
                        has_previous_page: start > 0,
                        start_cursor: edges.first().map(|e| e.cursor.clone()),
                        end_cursor: edges.last().map(|e| e.cursor.clone()),
                    },
                    edges,
                    total_count: int(total),
                }
            }))
        }
        .await
        .map_err(gql)
    }

    /// Knowledge articles, announcements and news the caller's organisation receives, newest
    /// first; withdrawn ones only when asked.
    async fn articles(
        &self,
        ctx: &Context<'_>,
        kind: Option<ArticleKindValue>,
        #[graphql(default)] include_withdrawn: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ArticleConnection> {
        async {
            let actor = *caller(ctx)?;
            let first = page_size(ctx, "first", first)?.unwrap_or(20);
            let after = id_cursor(after.as_deref())?.map(crm_domain::ids::ArticleId::from);
            let kind = kind.map(crm_domain::article::ArticleKind::from);
            Ok(read_models(ctx)?.read(|m, _| {
                let hits: Vec<_> = views::articles(m)
                    .filter(|a| kind.is_none_or(|k| a.kind == k))
                    .filter(|a| include_withdrawn || !a.withdrawn)
                    .filter(|a| may_see_article(&actor, m, a.audience))
                    .map(|a| (a.id, a))
                    .collect();
                let (page, has_previous, has_next, total) = page_desc(hits, after, first);
                let info = page_info(&page, has_previous, has_next);
                ArticleConnection {
                    edges: page
                        .into_iter()
                        .map(|(cursor, a)| ArticleEdge {
                            cursor,
                            node: ArticleView {
                                id: super::scalars::global_id("Article", a.id),
                                article_id: uuid_id(a.id),
                                kind: label(a.kind),
                                audience_branch_id: a.audience.map(uuid_id),
                                title: a.title.clone(),
                                body: a.body.clone(),
                                revision: int(a.revision),
                                published_by: uuid_id(a.published_by),
                                published_at: DateTime(a.published_at),
                                updated_at: DateTime(a.updated_at),
                                withdrawn: a.withdrawn,
                                position: Long(a.position),
                            },
                        })
                        .collect(),
                    page_info: info,
                    total_count: int(total),
                }
            }))
        }
        .await
        .map_err(gql)
    }

    /// Sales opportunities (商机) the caller owns or whose customer they may read, newest
    /// first; `open` narrows to those neither won nor lost.
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        open: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OpportunityConnection> {
        async {
            let actor = *caller(ctx)?;
            let first = page_size(ctx, "first", first)?.unwrap_or(50);
            let after = id_cursor(after.as_deref())?.map(crm_domain::ids::OpportunityId::from);
            Ok(read_models(ctx)?.read(|m, _| {
                let org = org_tree(&actor, m);
                let hits: Vec<_> = views::opportunities(m)
                    .filter(|o| {
                        open.is_none_or(|want| {
                            want == !matches!(
                                o.stage,
                                crm_projections::model::OpportunityStage::Won
                                    | crm_projections::model::OpportunityStage::Lost
                            )
                        })
                    })
                    .filter(|o| {
                        let customer = views::customer(m, o.customer).map(target);
                        read_policy::may_see_opportunity(&actor, o.owner, customer.as_ref(), &org)
                    })
                    .map(|o| (o.id, o))
                    .collect();
                let (page, has_previous, has_next, total) = page_desc(hits, after, first);
                let info = page_info(&page, has_previous, has_next);
                OpportunityConnection {
                    edges: page
                        .into_iter()
                        .map(|(cursor, o)| OpportunityEdge {
                            cursor,
                            node: OpportunityView::from(o),
                        })
                        .collect(),
                    page_info: info,
                    total_count: int(total),
                }
            }))
        }
        .await
        .map_err(gql)
    }

    /// The product catalogue.
    async fn products(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProductView>> {
        async {
            caller(ctx)?;
            Ok(read_models(ctx)?.read(|m, _| {
                views::products(m)
                    .map(|(id, p)| ProductView {
                        product_id: uuid_id(id),
                        name: p.name.clone(),
                        kind: label(p.kind),
                        risk: format!("{:?}", p.risk),
                        withdrawn: p.withdrawn,
                    })
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }
}

/// Segment counts over a subset of customers (the caller's scope), with the same rules as
/// the company-wide view.
fn segments_of(
    m: &Model,
    r: &crm_projections::RuleBook,
    filter: &crm_projections::SegmentFilter,
    visible: &[crm_domain::ids::CustomerId],
) -> views::SegmentCounts {
    let allowed: std::collections::HashSet<_> = visible.iter().copied().collect();
    let mut s = views::SegmentCounts::default();
    // The page query applies the filter and the rules; reuse it to count exactly what a list
    // would show.
    let slice = views::customer_slice(
        m,
        r,
        filter,
        |c| allowed.contains(&c.id),
        views::CustomerOrder::Id,
        &views::Window::default(),
    );
    s.as_of = Some(views::today(m, filter.as_of));
    for (_, row) in slice.rows {
        s.customers += 1;
        *s.by_tier.entry(row.tier).or_default() += 1;
        *s.by_risk_preference.entry(row.risk_preference).or_default() += 1;
        *s.by_churn_risk.entry(row.churn_risk).or_default() += 1;
        s.assets =
            crm_domain::Money::from_minor(s.assets.minor().saturating_add(row.assets.minor()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::label;
    use crm_projections::views::TodoKind;

    #[test]
    fn to_do_kinds_read_as_the_documented_names() {
        assert_eq!(label(TodoKind::ChurnRisk), "CHURN_RISK");
        assert_eq!(label(TodoKind::PreferenceConflict), "PREFERENCE_CONFLICT");
        assert_eq!(label(TodoKind::CareGreetingDue), "CARE_GREETING_DUE");
    }
}
