//! A campaign's return (营销活动效果评估, issue #16 item 3): targets, responses, conversions,
//! revenue attributed, cost and ROI, for the campaign and per response channel. The
//! definitions are documented in docs/ARCHITECTURE.md ("Targeted campaigns").

use std::collections::BTreeMap;

use crm_domain::campaign::Response;
use crm_domain::ids::{BranchId, CampaignId, CustomerId};
use crm_domain::values::Channel;
use crm_domain::Money;
use serde::{Deserialize, Serialize};

use crate::model::{madd, Model};
use crate::read_models::sales::CampaignRecord;

/// The figures of a campaign or of one of its channels.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoiFigures {
    pub targets: usize,
    /// Targets who answered: interested, not interested or converted (contacted alone is not
    /// an answer).
    pub responses: usize,
    pub conversions: usize,
    /// conversions ÷ targets, basis points (0 without targets).
    pub conversion_rate_bp: i64,
    /// Commission of converted customers from their conversion to the campaign's end.
    pub revenue: Money,
    pub cost: Money,
    /// (revenue − cost) ÷ cost, basis points; None when the cost is zero.
    pub roi_bp: Option<i64>,
}

/// One response channel's figures (`channel` None: responses recorded without a channel, and
/// the cost not attributable to one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRoi {
    pub channel: Option<Channel>,
    pub figures: RoiFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRoi {
    pub campaign: CampaignId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub status: String,
    pub figures: RoiFigures,
    pub by_channel: Vec<ChannelRoi>,
}

/// `num ÷ den` in basis points, rounded toward zero, saturating; None when `den` is zero.
fn ratio_bp(num: i64, den: i64) -> Option<i64> {
    if den == 0 {
        return None;
    }
    let v = i128::from(num) * 10_000 / i128::from(den);
    Some(i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The figures over `customers` (their latest responses) with `targets` and `cost`.
fn figures<'a>(
    c: &CampaignRecord,
    customers: impl Iterator<Item = (&'a CustomerId, &'a Response)>,
    targets: Option<usize>,
    cost: Money,
) -> RoiFigures {
    let (mut reached, mut responses, mut conversions, mut revenue) = (0, 0, 0, Money::ZERO);
    for (id, r) in customers {
        reached += 1;
        if *r != Response::Contacted {
            responses += 1;
        }
        if *r == Response::Converted {
            conversions += 1;
        }
        if let Some(m) = c.revenue.get(id) {
            revenue = madd(revenue, *m);
        }
    }
    let targets = targets.unwrap_or(reached);
    RoiFigures {
        targets,
        responses,
        conversions,
        conversion_rate_bp: ratio_bp(count(conversions), count(targets)).unwrap_or(0),
        revenue,
        cost,
        roi_bp: ratio_bp(revenue.minor().saturating_sub(cost.minor()), cost.minor()),
    }
}

/// A campaign's ROI, whole and per response channel; None for an unknown campaign. Its
/// targets are the frozen list (or, for a campaign launched without one, the customers with a
/// response); a channel's targets are the customers whose latest response came through it.
pub fn campaign_roi(m: &Model, id: CampaignId) -> Option<CampaignRoi> {
    let c = m.meta.campaigns.get(&id)?;
    let total_cost = c.costs.iter().fold(Money::ZERO, |a, (_, m)| madd(a, *m));
    let frozen = m.campaign_targets.get(&id).map(Vec::len).filter(|n| *n > 0);
    let whole = figures(c, c.responses.iter(), frozen, total_cost);
    let mut groups: BTreeMap<Option<Channel>, Vec<(&CustomerId, &Response)>> = BTreeMap::new();
    for (customer, r) in &c.responses {
        groups
            .entry(c.response_channels.get(customer).copied())
            .or_default()
            .push((customer, r));
    }
    for (channel, _) in &c.costs {
        groups.entry(*channel).or_default();
    }
    let by_channel = groups
        .into_iter()
        .map(|(channel, members)| {
            let cost = c
                .costs
                .iter()
                .find(|(ch, _)| *ch == channel)
                .map_or(Money::ZERO, |(_, m)| *m);
            ChannelRoi {
                channel,
                figures: figures(c, members.into_iter(), None, cost),
            }
        })
        .collect();
    Some(CampaignRoi {
        campaign: c.id,
        name: c.name.clone(),
        branch: c.branch,
        status: c.status.clone(),
        figures: whole,
        by_channel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_is_revenue_less_cost_over_cost_and_none_without_cost() {
        assert_eq!(ratio_bp(15_000 - 10_000, 10_000), Some(5_000));
        assert_eq!(ratio_bp(5_000 - 10_000, 10_000), Some(-5_000));
        assert_eq!(ratio_bp(5, 0), None);
        assert_eq!(ratio_bp(i64::MAX, 1), Some(i64::MAX));
    }
}
