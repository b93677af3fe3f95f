//! Saved segments (客户分群) and what campaigns aimed at them hold: each segment's filter, the
//! customers a segment selects (a preview, a launch's target list), and a campaign's call list.
//!
//! A saved segment's filter is the customer list's ([`SegmentFilter`]) stored as domain data
//! (`crm_domain::segment::Filter`); it is evaluated on the day it is used, never as of a date.

use crm_domain::campaign::Response;
use crm_domain::ids::{BranchId, CampaignId, CustomerId, SegmentId, StaffId};
use crm_domain::segment;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::derive::{ChurnRisk, RiskPreference, Tier};
use crate::model::Model;
use crate::read_models::archive::CustomerRecord;
use crate::read_models::sales::CampaignRecord;
use crate::read_models::segments::{customer_hits, CustomerOrder, SegmentFilter};
use crate::rules::RuleBook;

/// One saved segment as last saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRecord {
    pub id: SegmentId,
    pub name: String,
    /// The branch whose campaigns use it (None: company-wide).
    pub branch: Option<BranchId>,
    pub filter: segment::Filter,
    pub saved_at: OffsetDateTime,
}

pub(crate) fn apply_segment(m: &mut Model, e: &segment::Event) {
    match e {
        segment::Event::SegmentSaved {
            segment_id,
            name,
            branch,
            filter,
            at,
        } => {
            let branch = m
                .meta
                .segments
                .get(segment_id)
                .map_or(*branch, |s| s.branch);
            m.meta.segments.insert(
                *segment_id,
                SegmentRecord {
                    id: *segment_id,
                    name: name.as_str().to_string(),
                    branch,
                    filter: filter.clone(),
                    saved_at: *at,
                },
            );
        }
    }
}

/// The customer list's filter a saved segment's filter stands for.
pub fn segment_filter(f: &segment::Filter) -> SegmentFilter {
    SegmentFilter {
        branch: f.branch,
        region: f.region,
        manager: f.manager,
        team: f.team,
        tier: f.tier.map(|t| match t {
            segment::Tier::Standard => Tier::Standard,
            segment::Tier::Silver => Tier::Silver,
            segment::Tier::Gold => Tier::Gold,
            segment::Tier::Diamond => Tier::Diamond,
        }),
        risk_preference: f.risk_preference.map(|r| match r {
            segment::RiskPreference::Conservative => RiskPreference::Conservative,
            segment::RiskPreference::Balanced => RiskPreference::Balanced,
            segment::RiskPreference::Aggressive => RiskPreference::Aggressive,
            segment::RiskPreference::Unknown => RiskPreference::Unknown,
        }),
        churn_risk: f.churn_risk.map(|r| match r {
            segment::ChurnRisk::Low => ChurnRisk::Low,
            segment::ChurnRisk::Medium => ChurnRisk::Medium,
            segment::ChurnRisk::High => ChurnRisk::High,
            segment::ChurnRisk::Churned => ChurnRisk::Churned,
        }),
        lifecycle: f.lifecycle,
        kind: f.kind,
        key_customer: f.key_customer,
        min_assets: f.min_assets,
        text: f.text.clone(),
        as_of: None,
    }
}

/// Every saved segment, by id.
pub fn saved_segments(m: &Model) -> impl Iterator<Item = &SegmentRecord> {
    m.meta.segments.values()
}

pub fn saved_segment(m: &Model, id: SegmentId) -> Option<&SegmentRecord> {
    m.meta.segments.get(&id)
}

/// The customers `filter` selects among those `visible`, in id order (merged customers
/// aside, as in the customer list).
pub fn segment_members(
    m: &Model,
    rules: &RuleBook,
    filter: &segment::Filter,
    visible: impl Fn(&CustomerRecord) -> bool,
) -> Vec<CustomerId> {
    customer_hits(
        m,
        rules,
        &segment_filter(filter),
        visible,
        CustomerOrder::Id,
    )
    .into_iter()
    .map(|(_, id)| id)
    .collect()
}

/// One campaign as the read side knows it.
pub fn campaign(m: &Model, id: CampaignId) -> Option<&CampaignRecord> {
    m.meta.campaigns.get(&id)
}

/// Whether a customer is within a campaign's reach: a branch's campaign reaches the customers
/// the branch serves now, a company-wide one every customer.
pub fn in_campaign_scope(campaign_branch: Option<BranchId>, c: &CustomerRecord) -> bool {
    campaign_branch.is_none_or(|b| c.branch() == Some(b))
}

/// What a launch of `campaign` would freeze now: the customers its saved segment selects
/// within the campaign's scope. `None` when the campaign or its segment is unknown, or it aims
/// at no segment.
pub fn campaign_targets_now(
    m: &Model,
    rules: &RuleBook,
    campaign: CampaignId,
) -> Option<(SegmentId, Vec<CustomerId>)> {
    let c = m.meta.campaigns.get(&campaign)?;
    let segment = c.segment?;
    let s = m.meta.segments.get(&segment)?;
    let members = segment_members(m, rules, &s.filter, |r| in_campaign_scope(c.branch, r));
    Some((segment, members))
}

/// One target on a call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallListEntry {
    pub customer: CustomerId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub manager: Option<StaffId>,
    /// The customer's latest response, if any yet.
    pub response: Option<Response>,
}

/// The frozen targets of `campaign` that `serves` admits, each with their response so far, in
/// id order; `None` for an unknown campaign. A campaign launched without a saved segment has
/// no frozen list, so its call list is empty. A target no longer in the customer read model
/// (merged away) is left out.
pub fn campaign_call_list(
    m: &Model,
    campaign: CampaignId,
    serves: impl Fn(&CustomerRecord) -> bool,
) -> Option<Vec<CallListEntry>> {
    let c = m.meta.campaigns.get(&campaign)?;
    Some(
        m.campaign_targets
            .get(&campaign)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|id| m.customers.get(id))
            .filter(|r| serves(r))
            .map(|r| CallListEntry {
                customer: r.id,
                name: r.profile.name.as_str().to_string(),
                branch: r.branch(),
                manager: r.manager(),
                response: c.responses.get(&r.id).copied(),
            })
            .collect(),
    )
}
