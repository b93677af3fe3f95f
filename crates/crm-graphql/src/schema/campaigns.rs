//! Targeted campaigns (issue #16 item 3): saved segments (`saveSegment`, `savedSegments`,
//! `segmentPreview`), a campaign aimed at one (`aimCampaign`), its launch freezing the
//! segment's target list (`launchCampaign`), each caller's call list (`campaignCallList`),
//! and the campaign's return (`recordCampaignCost`, `campaignRoi`).
//!
//! The launch reads the read side (crm-app cannot read projections): it waits until the read
//! models reflect everything committed, evaluates the campaign's segment in the campaign's
//! scope, and hands the list with the configured bound (`[limits] campaign_targets_max`) to
//! the domain, which decides. Who sees which segment and whose call list holds which target
//! is `read_policy`'s decision.

use async_graphql::{Context, Object, SimpleObject, ID};
use crm_app::AppCommand;
use crm_domain::auth::Actor;
use crm_domain::ids::{BranchId, CampaignId, CustomerId, SegmentId};
use crm_domain::values::OrgName;
use crm_domain::{campaign, read_policy, segment};
use crm_projections::views::{self, SegmentRecord};

use super::commands::{
    money as money_arg, now, run, run_creating, text, uuid, ChannelInput, CommandResult, NewIds,
};
use super::customer_list::{page_size, CustomerFilterInput, LifecycleFilter};
use super::customers::{label, money, CustomerKindValue};
use super::readside::{
    int, may_read, org_tree, parse_uuid, reach, read_models, target, uuid_id, ChurnRisk, Reflects,
    RiskPreference, Tier,
};
use super::scalars::{DateTime, Long};
use super::{caller, settings, store};
use crate::error::{gql, ApiError};

/// The criteria of a saved segment, as the customer list's filter spells them.
#[derive(SimpleObject, Debug)]
pub struct SegmentFilterView {
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
    pub text: Option<String>,
}

/// A saved segment (客户分群): a named filter over the customer list.
#[derive(SimpleObject, Debug)]
pub struct SavedSegmentView {
    pub id: ID,
    pub name: String,
    /// The branch whose campaigns use it; null: company-wide.
    pub branch_id: Option<ID>,
    pub filter: SegmentFilterView,
    pub saved_at: DateTime,
}

impl SavedSegmentView {
    fn of(s: &SegmentRecord) -> SavedSegmentView {
        let f = views::segment_filter(&s.filter);
        SavedSegmentView {
            id: uuid_id(s.id),
            name: s.name.clone(),
            branch_id: s.branch.map(uuid_id),
            filter: SegmentFilterView {
                branch_id: f.branch.map(uuid_id),
                region_id: f.region.map(uuid_id),
                manager_id: f.manager.map(uuid_id),
                team_id: f.team.map(uuid_id),
                tier: f.tier.map(Into::into),
                risk_preference: f.risk_preference.map(Into::into),
                churn_risk: f.churn_risk.map(Into::into),
                lifecycle: f.lifecycle.map(Into::into),
                kind: f.kind.map(Into::into),
                key_customer: f.key_customer,
                min_assets: f.min_assets.map(|m| m.to_string()),
                text: f.text,
            },
            saved_at: DateTime(s.saved_at),
        }
    }
}

/// How many customers a saved segment selects among those the caller may read, now.
#[derive(SimpleObject, Debug)]
pub struct SegmentPreview {
    pub segment: SavedSegmentView,
    pub customers: i32,
    pub reflects: Reflects,
}

/// One target on a call list, with the response recorded so far.
#[derive(SimpleObject, Debug)]
pub struct CallListEntryView {
    pub customer_id: ID,
    pub name: String,
    pub branch_id: Option<ID>,
    pub manager_id: Option<ID>,
    /// CONTACTED, INTERESTED, NOT_INTERESTED or CONVERTED; null: not reached yet.
    pub response: Option<String>,
}

/// The caller's part of a campaign's frozen target list, in customer-id order, one page.
#[derive(SimpleObject, Debug)]
pub struct CampaignCallList {
    pub campaign_id: ID,
    pub name: String,
    /// PLANNED, LAUNCHED, CLOSED or CANCELLED.
    pub status: String,
    pub entries: Vec<CallListEntryView>,
    /// Targets on the caller's list, all pages.
    pub total_count: i32,
    /// Of those, how many have a response.
    pub responded: i32,
    pub has_next_page: bool,
    /// Pass as `after` for the next page.
    pub end_cursor: Option<ID>,
    pub position: Long,
}

/// A campaign's or a channel's return (definitions: docs/ARCHITECTURE.md, "Targeted campaigns").
#[derive(SimpleObject, Debug)]
pub struct RoiFiguresView {
    pub targets: i32,
    /// Targets who answered (interested, not interested, converted).
    pub responses: i32,
    pub conversions: i32,
    /// conversions ÷ targets, basis points.
    pub conversion_rate_bp: i32,
    /// Commission of converted customers from their conversion to the campaign's end, yuan.
    pub revenue: String,
    pub cost: String,
    /// (revenue − cost) ÷ cost, basis points; null when the cost is zero.
    pub roi_bp: Option<i32>,
}

/// One response channel's return; `channel` null: responses recorded without a channel and
/// the cost not attributable to one.
#[derive(SimpleObject, Debug)]
pub struct ChannelRoiView {
    pub channel: Option<ChannelInput>,
    pub figures: RoiFiguresView,
}

/// 营销活动效果评估: a campaign's return, whole and per response channel.
#[derive(SimpleObject, Debug)]
pub struct CampaignRoiView {
    pub campaign_id: ID,
    pub name: String,
    pub branch_id: Option<ID>,
    /// PLANNED, LAUNCHED, CLOSED or CANCELLED.
    pub status: String,
    pub figures: RoiFiguresView,
    pub by_channel: Vec<ChannelRoiView>,
    pub reflects: Reflects,
}

fn roi_figures(f: &views::RoiFigures) -> RoiFiguresView {
    RoiFiguresView {
        targets: int(f.targets),
        responses: int(f.responses),
        conversions: int(f.conversions),
        conversion_rate_bp: int(f.conversion_rate_bp),
        revenue: money(f.revenue),
        cost: money(f.cost),
        roi_bp: f
            .roi_bp
            .map(|r| i32::try_from(r).unwrap_or(if r < 0 { i32::MIN } else { i32::MAX })),
    }
}

fn saved_tier(t: crm_projections::Tier) -> segment::Tier {
    match t {
        crm_projections::Tier::Standard => segment::Tier::Standard,
        crm_projections::Tier::Silver => segment::Tier::Silver,
        crm_projections::Tier::Gold => segment::Tier::Gold,
        crm_projections::Tier::Diamond => segment::Tier::Diamond,
    }
}

fn saved_preference(r: crm_projections::RiskPreference) -> segment::RiskPreference {
    match r {
        crm_projections::RiskPreference::Conservative => segment::RiskPreference::Conservative,
        crm_projections::RiskPreference::Balanced => segment::RiskPreference::Balanced,
        crm_projections::RiskPreference::Aggressive => segment::RiskPreference::Aggressive,
        crm_projections::RiskPreference::Unknown => segment::RiskPreference::Unknown,
    }
}

fn saved_churn(r: crm_projections::ChurnRisk) -> segment::ChurnRisk {
    match r {
        crm_projections::ChurnRisk::Low => segment::ChurnRisk::Low,
        crm_projections::ChurnRisk::Medium => segment::ChurnRisk::Medium,
        crm_projections::ChurnRisk::High => segment::ChurnRisk::High,
        crm_projections::ChurnRisk::Churned => segment::ChurnRisk::Churned,
    }
}

/// The customer list's filter as a saved segment's: the same criteria, without `asOf` (a
/// saved segment is evaluated on the day it is used). The domain validates the rest.
fn saved_filter(input: &CustomerFilterInput) -> Result<segment::Filter, ApiError> {
    if input.as_of.is_some() {
        return Err(ApiError::validation(
            "filter.asOf",
            "a saved segment is evaluated on the day it is used; it takes no date",
        ));
    }
    let f = input.parse()?;
    Ok(segment::Filter {
        branch: f.branch,
        region: f.region,
        manager: f.manager,
        team: f.team,
        tier: f.tier.map(saved_tier),
        risk_preference: f.risk_preference.map(saved_preference),
        churn_risk: f.churn_risk.map(saved_churn),
        lifecycle: f.lifecycle,
        kind: f.kind,
        key_customer: f.key_customer,
        min_assets: f.min_assets,
        text: input.text.clone(),
    })
}

/// Waits until the read models have applied everything committed so far.
async fn caught_up(ctx: &Context<'_>) -> Result<(), ApiError> {
    let head = store(ctx)?.head().0;
    reach(ctx, Some(Long(head))).await
}

fn campaign_id(field: &str, id: &ID) -> Result<CampaignId, ApiError> {
    Ok(CampaignId::from(parse_uuid(field, id)?))
}

#[derive(Default, Debug)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// 客户分群: save a named filter over the customer list (the `customers` filter without
    /// `asOf`) for a branch's campaigns or (no branch) the company's; with `segmentId` of a
    /// saved one, redefine it (its branch stays). Saved by whoever manages the branch's
    /// campaigns.
    async fn save_segment(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        segment_id: Option<ID>,
        name: String,
        branch_id: Option<ID>,
        filter: CustomerFilterInput,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = match &segment_id {
                Some(id) => SegmentId::from(uuid("segmentId", id)?),
                None => SegmentId::from(new.of::<segment::Segment>()),
            };
            Ok(AppCommand::Segment {
                segment: id,
                command: segment::Command::Save {
                    segment_id: id,
                    name: text("name", &name, OrgName::parse)?,
                    branch: branch_id
                        .as_ref()
                        .map(|b| uuid("branchId", b).map(BranchId::from))
                        .transpose()?,
                    filter: saved_filter(&filter)?,
                    now: now(),
                },
            })
        })
        .await
    }

    /// Aim a planned campaign at a saved segment (one of the campaign's branch, or a
    /// company-wide one): its launch then freezes the customers the segment selects.
    async fn aim_campaign(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: ID,
        segment_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        let segment = async {
            let id = SegmentId::from(parse_uuid("segmentId", &segment_id)?);
            caught_up(ctx).await?;
            read_models(ctx)?
                .read(|m, _| views::saved_segment(m, id).map(|s| (id, s.branch)))
                .ok_or_else(|| ApiError::NotFound("segment".into()))
        }
        .await
        .map_err(gql)?;
        run(ctx, command_id, |_: &Actor| {
            Ok(AppCommand::Campaign {
                campaign: self::campaign_id("campaignId", &campaign_id)?,
                command: campaign::Command::Aim {
                    segment_id: segment.0,
                    segment_branch: segment.1,
                    now: now(),
                },
            })
        })
        .await
    }

    /// Record a launched or closed campaign's actual cost (yuan) on a response channel (none:
    /// the cost not attributable to a channel); a later record of the same channel replaces
    /// it. The campaign's cost is the sum over its channels.
    async fn record_campaign_cost(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: ID,
        channel: Option<ChannelInput>,
        cost: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            Ok(AppCommand::Campaign {
                campaign: self::campaign_id("campaignId", &campaign_id)?,
                command: campaign::Command::RecordCost {
                    channel: channel.map(Into::into),
                    cost: money_arg("cost", &cost)?,
                    now: now(),
                },
            })
        })
        .await
    }

    /// Launch a planned campaign. A campaign aimed at a saved segment freezes the customers
    /// the segment selects now within the campaign's scope (its branch's customers, or every
    /// customer for a company-wide campaign): at most `campaign_targets_max` of the
    /// configuration (20,000 by default; more is refused, VALIDATION on `segmentId`), at
    /// least one.
    async fn launch_campaign(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        campaign_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        let prepared = async {
            let id = self::campaign_id("campaignId", &campaign_id)?;
            caught_up(ctx).await?;
            let max = settings(ctx)?.campaign_targets_max;
            let targets = read_models(ctx)?.read(|m, r| views::campaign_targets_now(m, r, id));
            Ok::<_, ApiError>((id, targets, max))
        }
        .await
        .map_err(gql)?;
        let (id, targets, max) = prepared;
        run(ctx, command_id, move |_: &Actor| {
            Ok(AppCommand::Campaign {
                campaign: id,
                command: campaign::Command::Launch {
                    targets: targets.map(|(segment_id, customers)| campaign::Targets {
                        segment_id,
                        customers,
                        max,
                    }),
                    now: now(),
                },
            })
        })
        .await
    }
}

#[derive(Default, Debug)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// The saved segments the caller sees (`read_policy::may_see_segment`): a branch's for
    /// the readers of its figures, the company's for company readers.
    async fn saved_segments(
        &self,
        ctx: &Context<'_>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Vec<SavedSegmentView>> {
        async {
            let actor = *caller(ctx)?;
            reach(ctx, at_position).await?;
            Ok(read_models(ctx)?.read(|m, _| {
                let org = org_tree(&actor, m);
                views::saved_segments(m)
                    .filter(|s| read_policy::may_see_segment(&actor, s.branch, &org))
                    .map(SavedSegmentView::of)
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }

    /// How many customers the saved segment selects now among those the caller may read.
    /// NOT_FOUND for a segment that does not exist and for one the caller does not see.
    async fn segment_preview(
        &self,
        ctx: &Context<'_>,
        id: ID,
        at_position: Option<Long>,
    ) -> async_graphql::Result<SegmentPreview> {
        async {
            let actor = *caller(ctx)?;
            let id = SegmentId::from(parse_uuid("id", &id)?);
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let reflects = Reflects::of(models);
            models
                .read(|m, r| {
                    let org = org_tree(&actor, m);
                    let s = views::saved_segment(m, id)
                        .filter(|s| read_policy::may_see_segment(&actor, s.branch, &org))?;
                    let members =
                        views::segment_members(m, r, &s.filter, |c| may_read(&actor, c, &org));
                    Some(SegmentPreview {
                        segment: SavedSegmentView::of(s),
                        customers: int(members.len()),
                        reflects,
                    })
                })
                .ok_or_else(|| ApiError::NotFound("segment".into()))
        }
        .await
        .map_err(gql)
    }

    /// 营销活动效果评估: the campaign's targets, responses, conversions, conversion rate,
    /// revenue attributed, cost and ROI, whole and per response channel, for whoever reads
    /// the campaign's figures (`read_policy::may_read_figures`). NOT_FOUND for an unknown
    /// campaign and for one the caller may not read.
    async fn campaign_roi(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        at_position: Option<Long>,
    ) -> async_graphql::Result<CampaignRoiView> {
        async {
            let actor = *caller(ctx)?;
            let id = self::campaign_id("campaignId", &campaign_id)?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let reflects = Reflects::of(models);
            models
                .read(|m, _| {
                    let org = org_tree(&actor, m);
                    let roi = views::campaign_roi(m, id)
                        .filter(|r| read_policy::may_read_figures(&actor, r.branch, &org))?;
                    Some(CampaignRoiView {
                        campaign_id: uuid_id(roi.campaign),
                        name: roi.name.clone(),
                        branch_id: roi.branch.map(uuid_id),
                        status: roi.status.to_uppercase(),
                        figures: roi_figures(&roi.figures),
                        by_channel: roi
                            .by_channel
                            .iter()
                            .map(|c| ChannelRoiView {
                                channel: c.channel.map(Into::into),
                                figures: roi_figures(&c.figures),
                            })
                            .collect(),
                        reflects,
                    })
                })
                .ok_or_else(|| ApiError::NotFound("campaign".into()))
        }
        .await
        .map_err(gql)
    }

    /// 营销任务: the campaign's frozen targets the caller serves (`read_policy::on_call_list`:
    /// a customer manager their book, a branch's managers and agents the branch), each with
    /// the response recorded so far; `first` (default 50) after the customer id `after`.
    /// NOT_FOUND for an unknown campaign; a caller who serves none of its targets gets an
    /// empty list.
    async fn campaign_call_list(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        first: Option<i32>,
        after: Option<ID>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<CampaignCallList> {
        async {
            let actor = *caller(ctx)?;
            let id = self::campaign_id("campaignId", &campaign_id)?;
            let first = page_size(ctx, "first", first)?.unwrap_or(50);
            let after = after
                .as_ref()
                .map(|a| parse_uuid("after", a).map(CustomerId::from))
                .transpose()?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let position = Long(models.projections().position());
            models
                .read(|m, _| {
                    let org = org_tree(&actor, m);
                    let c = views::campaign(m, id)?;
                    let list = views::campaign_call_list(m, id, |r| {
                        read_policy::on_call_list(&actor, &target(r), &org)
                    })?;
                    if list.is_empty() && !read_policy::may_read_figures(&actor, c.branch, &org) {
                        // Nothing of it is the caller's: no oracle of which campaigns exist.
                        return None;
                    }
                    let responded = list.iter().filter(|e| e.response.is_some()).count();
                    let start = after.map_or(0, |a| list.partition_point(|e| e.customer <= a));
                    let page: Vec<_> = list.iter().skip(start).take(first).collect();
                    Some(CampaignCallList {
                        campaign_id: uuid_id(id),
                        name: c.name.clone(),
                        status: c.status.to_uppercase(),
                        has_next_page: start + page.len() < list.len(),
                        end_cursor: page.last().map(|e| uuid_id(e.customer)),
                        entries: page
                            .into_iter()
                            .map(|e| CallListEntryView {
                                customer_id: uuid_id(e.customer),
                                name: e.name.clone(),
                                branch_id: e.branch.map(uuid_id),
                                manager_id: e.manager.map(uuid_id),
                                response: e.response.map(label),
                            })
                            .collect(),
                        total_count: int(list.len()),
                        responded: int(responded),
                        position,
                    })
                })
                .ok_or_else(|| ApiError::NotFound("campaign".into()))
        }
        .await
        .map_err(gql)
    }
}
