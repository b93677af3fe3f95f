//! Sales: opportunities (商机) and campaigns (营销活动), their fold and campaign effect.

use std::collections::BTreeMap;

use crate::model::{business_date, madd, month_index, Model, CHANNELS};
use crate::read_models::archive::CampaignConversion;
use crate::read_models::history::HistoryEntry;
use crate::read_models::performance::bp;
use crm_domain::campaign::Response;
use crm_domain::ids::{
    BranchId, CampaignId, CustomerId, OpportunityId, ProductId, SegmentId, StaffId,
};
use crm_domain::values::Channel;
use crm_domain::{campaign, opportunity, Money};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpportunityStage {
    Lead,
    Qualified,
    Proposal,
    Won,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityRecord {
    pub id: OpportunityId,
    pub customer: CustomerId,
    pub product: Option<ProductId>,
    pub expected_amount: Money,
    pub owner: StaffId,
    pub source: Channel,
    pub title: String,
    pub stage: OpportunityStage,
    pub amount: Option<Money>,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub product: Option<ProductId>,
    pub starts_on: Date,
    pub ends_on: Date,
    pub budget: Money,
    /// planned, launched, closed, cancelled
    pub status: String,
    pub responses: BTreeMap<CustomerId, Response>,
    /// Net inflow of converted customers from their conversion to the campaign's end.
    pub assets_attracted: Money,
    /// The saved segment it aims at, if any.
    pub segment: Option<SegmentId>,
    /// The channel of each customer's latest response that named one.
    pub response_channels: BTreeMap<CustomerId, Channel>,
    /// The actual cost recorded per channel (None: not attributable to one), each channel once.
    pub costs: Vec<(Option<Channel>, Money)>,
    /// Revenue attributed per converted customer: their commission from their conversion to
    /// the campaign's end.
    pub revenue: BTreeMap<CustomerId, Money>,
}

pub(crate) fn apply_opportunity(m: &mut Model, p: u64, day: Date, e: &opportunity::Event) {
    use opportunity::Event as E;
    match e {
        E::LeadCreated {
            opportunity_id,
            customer_id,
            product_id,
            expected_amount,
            owner,
            source,
            title,
            at,
        } => {
            m.opportunities.insert(
                *opportunity_id,
                OpportunityRecord {
                    id: *opportunity_id,
                    customer: *customer_id,
                    product: *product_id,
                    expected_amount: *expected_amount,
                    owner: *owner,
                    source: *source,
                    title: title.as_str().to_string(),
                    stage: OpportunityStage::Lead,
                    amount: None,
                    created_at: *at,
                    closed_at: None,
                    position: p,
                },
            );
            m.meta.channels[(*source as usize).min(CHANNELS - 1)].leads += 1;
            if m.customers.contains(customer_id) {
                m.history
                    .push(*customer_id, p, HistoryEntry::Opportunity(*opportunity_id));
            }
        }
        E::OpportunityQualified { opportunity_id, .. } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Qualified;
                o.position = p;
            }
        }
        E::ProposalMade {
            opportunity_id,
            product_id,
            expected_amount,
            ..
        } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Proposal;
                o.product = Some(*product_id);
                o.expected_amount = *expected_amount;
                o.position = p;
            }
        }
        E::OpportunityWon {
            opportunity_id,
            amount,
            at,
            ..
        } => {
            let mut won = None;
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Won;
                o.amount = Some(*amount);
                o.closed_at = Some(*at);
                o.position = p;
                won = Some((o.source, o.owner));
            }
            if let Some((source, owner)) = won {
                let ch = &mut m.meta.channels[(source as usize).min(CHANNELS - 1)];
                ch.won += 1;
                ch.won_amount = madd(ch.won_amount, *amount);
                let sm = m.staff_month(owner, month_index(day));
                sm.flows.won_amount = madd(sm.flows.won_amount, *amount);
            }
        }
        E::OpportunityLost {
            opportunity_id, at, ..
        } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Lost;
                o.closed_at = Some(*at);
                o.position = p;
            }
        }
        E::OpportunityOwnerChanged {
            opportunity_id, to, ..
        } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.owner = *to;
                o.position = p;
            }
        }
    }
}

pub(crate) fn apply_campaign(m: &mut Model, e: &campaign::Event) {
    use campaign::Event as E;
    match e {
        E::CampaignPlanned {
            campaign_id,
            name,
            branch,
            product_id,
            starts_on,
            ends_on,
            budget,
            ..
        } => {
            m.meta.campaigns.insert(
                *campaign_id,
                CampaignRecord {
                    id: *campaign_id,
                    name: name.as_str().to_string(),
                    branch: *branch,
                    product: *product_id,
                    starts_on: *starts_on,
                    ends_on: *ends_on,
                    budget: *budget,
                    status: "planned".into(),
                    responses: BTreeMap::new(),
                    assets_attracted: Money::ZERO,
                    segment: None,
                    response_channels: BTreeMap::new(),
                    costs: Vec::new(),
                    revenue: BTreeMap::new(),
                },
            );
        }
        E::CampaignLaunched { campaign_id, .. } => set_campaign_status(m, campaign_id, "launched"),
        E::CampaignAimed {
            campaign_id,
            segment_id,
            ..
        } => {
            if let Some(c) = m.meta.campaigns.get_mut(campaign_id) {
                c.segment = Some(*segment_id);
            }
        }
        E::CampaignTargetsFrozen {
            campaign_id,
            customers,
            ..
        } => {
            // Kept apart from the campaign record (see `Model::campaign_targets`).
            if m.meta.campaigns.contains_key(campaign_id) {
                let mut targets = customers.clone();
                targets.sort_unstable();
                targets.dedup();
                m.campaign_targets.insert(*campaign_id, targets);
            }
        }
        E::CampaignClosed { campaign_id, .. } => set_campaign_status(m, campaign_id, "closed"),
        E::CampaignCancelled { campaign_id, .. } => {
            set_campaign_status(m, campaign_id, "cancelled")
        }
        E::CampaignCostRecorded {
            campaign_id,
            channel,
            cost,
            ..
        } => {
            if let Some(c) = m.meta.campaigns.get_mut(campaign_id) {
                match c.costs.iter_mut().find(|(ch, _)| ch == channel) {
                    Some(entry) => entry.1 = *cost,
                    None => c.costs.push((*channel, *cost)),
                }
            }
        }
        E::CampaignResponseRecorded {
            campaign_id,
            customer_id,
            response,
            at,
        } => apply_response(m, campaign_id, customer_id, *response, None, *at),
        E::CampaignResponseRecordedVia {
            campaign_id,
            customer_id,
            response,
            channel,
            at,
        } => apply_response(m, campaign_id, customer_id, *response, Some(*channel), *at),
    }
}

/// A customer's latest response (with its channel, when named): the campaign's and the
/// customer's record, and a first conversion starts the window revenue is attributed over.
fn apply_response(
    m: &mut Model,
    campaign_id: &CampaignId,
    customer_id: &CustomerId,
    response: Response,
    channel: Option<Channel>,
    at: OffsetDateTime,
) {
    let Some(camp) = m.meta.campaigns.get_mut(campaign_id) else {
        return;
    };
    if let Some(channel) = channel {
        camp.response_channels.insert(*customer_id, channel);
    }
    let before = camp.responses.insert(*customer_id, response);
    let until = camp.ends_on;
    if let Some(c) = m.customers.get_mut(customer_id) {
        match c.campaigns.iter_mut().find(|(id, _)| id == campaign_id) {
            Some(entry) => entry.1 = response,
            None => c.campaigns.push((*campaign_id, response)),
        }
        if response == Response::Converted && before != Some(Response::Converted) {
            c.conversions.push(CampaignConversion {
                campaign_id: *campaign_id,
                from: business_date(at),
                until,
            });
        }
    }
}

fn set_campaign_status(m: &mut Model, id: &CampaignId, status: &str) {
    if let Some(c) = m.meta.campaigns.get_mut(id) {
        c.status = status.to_string();
    }
}

/// 营销活动效果.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEffect {
    pub campaign: CampaignId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub status: String,
    pub budget: Money,
    pub targeted: usize,
    pub responded: usize,
    pub converted: usize,
    pub response_rate_bp: i64,
    pub conversion_rate_bp: i64,
    pub assets_attracted: Money,
}

pub fn campaign_effectiveness(m: &Model) -> Vec<CampaignEffect> {
    m.meta
        .campaigns
        .values()
        .map(|c| {
            let targeted = c.responses.len();
            let responded = c
                .responses
                .values()
                .filter(|r| **r != Response::Contacted)
                .count();
            let converted = c
                .responses
                .values()
                .filter(|r| **r == Response::Converted)
                .count();
            let t = i64::try_from(targeted).unwrap_or(i64::MAX);
            CampaignEffect {
                campaign: c.id,
                name: c.name.clone(),
                branch: c.branch,
                status: c.status.clone(),
                budget: c.budget,
                targeted,
                responded,
                converted,
                response_rate_bp: bp(i64::try_from(responded).unwrap_or(0), t),
                conversion_rate_bp: bp(i64::try_from(converted).unwrap_or(0), t),
                assets_attracted: c.assets_attracted,
            }
        })
        .collect()
}

/// Every opportunity, in no particular order.
pub fn opportunities(m: &Model) -> impl Iterator<Item = &OpportunityRecord> {
    m.opportunities.values()
}
