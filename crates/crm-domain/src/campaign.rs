//! The marketing campaign aggregate (营销活动), stream `campaign-<id>`: planned with a target
//! segment description, aimed at a saved segment (`crate::segment`), launched, customer
//! responses recorded, its actual cost recorded, closed (or cancelled before launch).
//!
//! Which customers a saved segment selects is the read side's answer; the launch freezes that
//! answer into the log (`CampaignTargetsFrozen`), so the target list a campaign is measured on
//! never moves after launch, and a response from a customer outside it is refused
//! ([`DomainError::NotATarget`]). A campaign launched without a saved segment (as before
//! segments existed) has no frozen list and takes a response from any customer.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;
use crate::ids::{BranchId, CampaignId, CustomerId, ProductId, SegmentId};
use crate::money::Money;
use crate::values::{Channel, LongText, OrgName, ShortText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Planned,
    Launched,
    Closed,
    Cancelled,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Launched => "launched",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Response {
    Contacted,
    Interested,
    NotInterested,
    /// Bought or opened what the campaign offered.
    Converted,
}

/// The most customers a launch may freeze, whatever the configuration says: 100,000 ids keep
/// the `CampaignTargetsFrozen` event (16 bytes and a little framing per id) well under the
/// event store's 4 MiB payload limit.
pub const TARGETS_MAX: usize = 100_000;

/// The target list a launch freezes: what the read side found the campaign's saved segment
/// selecting at launch, and the bound the caller's configuration sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// The segment the list was evaluated for (must be the one the campaign aims at).
    pub segment_id: SegmentId,
    pub customers: Vec<CustomerId>,
    /// The configured maximum (`[limits] campaign_targets_max`), itself capped by
    /// [`TARGETS_MAX`].
    pub max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<CampaignId>,
    pub status: Option<Status>,
    /// The branch running it (None: company-wide).
    pub branch: Option<BranchId>,
    /// The saved segment it aims at, if any.
    pub segment: Option<SegmentId>,
    /// The target list frozen at launch (None: launched without a saved segment).
    pub targets: Option<BTreeSet<CustomerId>>,
    /// Latest response per customer (bounded by the campaign's audience).
    pub responses: BTreeMap<CustomerId, Response>,
    /// The channel of each customer's latest response, where one was given.
    pub response_channels: BTreeMap<CustomerId, Channel>,
    /// The actual cost recorded per channel (None: not attributable to one channel).
    pub costs: BTreeMap<Option<Channel>, Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Plan {
        campaign_id: CampaignId,
        name: OrgName,
        /// None: company-wide.
        branch: Option<BranchId>,
        target_segment: LongText,
        product_id: Option<ProductId>,
        starts_on: Date,
        ends_on: Date,
        budget: Money,
        now: OffsetDateTime,
    },
    /// Aims the (planned) campaign at a saved segment; its launch then freezes the segment's
    /// target list.
    Aim {
        segment_id: SegmentId,
        /// The segment's branch as the read side knows it (None: a company-wide segment).
        segment_branch: Option<BranchId>,
        now: OffsetDateTime,
    },
    /// Launches; `targets` is the saved segment's list evaluated by the read side, required
    /// when (and only when) the campaign aims at a segment.
    Launch {
        targets: Option<Targets>,
        now: OffsetDateTime,
    },
    RecordResponse {
        customer_id: CustomerId,
        response: Response,
        /// The channel the response came through (电话, 走访, 微信…), if known.
        channel: Option<Channel>,
        now: OffsetDateTime,
    },
    /// Records the campaign's actual cost so far on one channel (None: not attributable to a
    /// channel); a later record for the same channel replaces it.
    RecordCost {
        channel: Option<Channel>,
        cost: Money,
        now: OffsetDateTime,
    },
    Close {
        summary: LongText,
        now: OffsetDateTime,
    },
    Cancel {
        reason: ShortText,
        now: OffsetDateTime,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Plan { .. } => "plan",
            Command::Aim { .. } => "aim",
            Command::Launch { .. } => "launch",
            Command::RecordResponse { .. } => "record response",
            Command::RecordCost { .. } => "record cost",
            Command::Close { .. } => "close",
            Command::Cancel { .. } => "cancel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    CampaignPlanned {
        campaign_id: CampaignId,
        name: OrgName,
        branch: Option<BranchId>,
        target_segment: LongText,
        product_id: Option<ProductId>,
        starts_on: Date,
        ends_on: Date,
        budget: Money,
        at: OffsetDateTime,
    },
    CampaignLaunched {
        campaign_id: CampaignId,
        at: OffsetDateTime,
    },
    CampaignResponseRecorded {
        campaign_id: CampaignId,
        customer_id: CustomerId,
        response: Response,
        at: OffsetDateTime,
    },
    CampaignClosed {
        campaign_id: CampaignId,
        summary: LongText,
        at: OffsetDateTime,
    },
    CampaignCancelled {
        campaign_id: CampaignId,
        reason: ShortText,
        at: OffsetDateTime,
    },
    /// Aimed at a saved segment (while planned).
    CampaignAimed {
        campaign_id: CampaignId,
        segment_id: SegmentId,
        at: OffsetDateTime,
    },
    /// A customer's (latest) response with the channel it came through (a response recorded
    /// without a channel is `CampaignResponseRecorded`).
    CampaignResponseRecordedVia {
        campaign_id: CampaignId,
        customer_id: CustomerId,
        response: Response,
        channel: Channel,
        at: OffsetDateTime,
    },
    /// The actual cost on one channel (None: not attributable), replacing an earlier record of
    /// the same channel.
    CampaignCostRecorded {
        campaign_id: CampaignId,
        channel: Option<Channel>,
        cost: Money,
        at: OffsetDateTime,
    },
    /// The target list frozen at launch: the customers the segment selected then, sorted,
    /// each once. Appended with `CampaignLaunched`, in the same decision.
    CampaignTargetsFrozen {
        campaign_id: CampaignId,
        segment_id: SegmentId,
        customers: Vec<CustomerId>,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Campaign, category: "campaign", id: campaign_id, events: [
    CampaignPlanned, CampaignLaunched, CampaignResponseRecorded, CampaignClosed, CampaignCancelled,
    CampaignAimed, CampaignTargetsFrozen, CampaignResponseRecordedVia, CampaignCostRecorded,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (Some(campaign_id), Some(status)) = (state.id, state.status) else {
        return match command {
            Command::Plan {
                campaign_id,
                name,
                branch,
                target_segment,
                product_id,
                starts_on,
                ends_on,
                budget,
                now,
            } => {
                if ends_on < starts_on {
                    return Err(DomainError::validation(
                        "ends_on",
                        "must not be before starts_on",
                    ));
                }
                if budget.is_negative() {
                    return Err(DomainError::validation("budget", "must not be negative"));
                }
                Ok(vec![Event::CampaignPlanned {
                    campaign_id,
                    name,
                    branch,
                    target_segment,
                    product_id,
                    starts_on,
                    ends_on,
                    budget,
                    at: now,
                }])
            }
            _ => Err(DomainError::NotFound { entity: "campaign" }),
        };
    };
    let name = command.name();
    let require = |wanted: Status| {
        if status == wanted {
            Ok(())
        } else {
            Err(DomainError::InvalidTransition {
                from: status.name(),
                command: name,
            })
        }
    };
    match command {
        Command::Plan { .. } => Err(DomainError::AlreadyExists { entity: "campaign" }),
        Command::Aim {
            segment_id,
            segment_branch,
            now,
        } => {
            require(Status::Planned)?;
            if segment_branch.is_some() && segment_branch != state.branch {
                return Err(DomainError::validation(
                    "segmentId",
                    "the segment was saved for another branch than the campaign's; aim at a \
                     segment of the campaign's branch or a company-wide one",
                ));
            }
            if state.segment == Some(segment_id) {
                return Ok(vec![]);
            }
            Ok(vec![Event::CampaignAimed {
                campaign_id,
                segment_id,
                at: now,
            }])
        }
        Command::Launch { targets, now } => {
            require(Status::Planned)?;
            launch(campaign_id, state.segment, targets, now)
        }
        Command::RecordResponse {
            customer_id,
            response,
            channel,
            now,
        } => {
            require(Status::Launched)?;
            if state
                .targets
                .as_ref()
                .is_some_and(|t| !t.contains(&customer_id))
            {
                return Err(DomainError::NotATarget {
                    customer: customer_id,
                });
            }
            let same_channel =
                channel.is_none() || state.response_channels.get(&customer_id) == channel.as_ref();
            if state.responses.get(&customer_id) == Some(&response) && same_channel {
                return Ok(vec![]);
            }
            Ok(vec![match channel {
                None => Event::CampaignResponseRecorded {
                    campaign_id,
                    customer_id,
                    response,
                    at: now,
                },
                Some(channel) => Event::CampaignResponseRecordedVia {
                    campaign_id,
                    customer_id,
                    response,
                    channel,
                    at: now,
                },
            }])
        }
        Command::RecordCost { channel, cost, now } => {
            if !matches!(status, Status::Launched | Status::Closed) {
                return Err(DomainError::InvalidTransition {
                    from: status.name(),
                    command: name,
                });
            }
            if cost.is_negative() {
                return Err(DomainError::validation("cost", "must not be negative"));
            }
            if state.costs.get(&channel) == Some(&cost) {
                return Ok(vec![]);
            }
            Ok(vec![Event::CampaignCostRecorded {
                campaign_id,
                channel,
                cost,
                at: now,
            }])
        }
        Command::Close { summary, now } => {
            require(Status::Launched)?;
            Ok(vec![Event::CampaignClosed {
                campaign_id,
                summary,
                at: now,
            }])
        }
        Command::Cancel { reason, now } => {
            require(Status::Planned)?;
            Ok(vec![Event::CampaignCancelled {
                campaign_id,
                reason,
                at: now,
            }])
        }
    }
}

/// The launch: with a saved segment, its frozen list (bounded, not empty, evaluated for the
/// segment the campaign aims at); without one, the launch alone.
fn launch(
    campaign_id: CampaignId,
    segment: Option<SegmentId>,
    targets: Option<Targets>,
    now: OffsetDateTime,
) -> Result<Vec<Event>, DomainError> {
    let launched = Event::CampaignLaunched {
        campaign_id,
        at: now,
    };
    let (segment, targets) = match (segment, targets) {
        (None, None) => return Ok(vec![launched]),
        (None, Some(_)) => {
            return Err(DomainError::validation(
                "targets",
                "the campaign aims at no saved segment, so its launch freezes no target list",
            ))
        }
        (Some(_), None) => {
            return Err(DomainError::validation(
                "targets",
                "the campaign aims at a saved segment: its launch must freeze the segment's \
                 target list",
            ))
        }
        (Some(segment), Some(targets)) => (segment, targets),
    };
    if targets.segment_id != segment {
        return Err(DomainError::conflict(format!(
            "the target list was evaluated for segment {}, but the campaign aims at {}",
            targets.segment_id, segment
        )));
    }
    let customers: BTreeSet<CustomerId> = targets.customers.into_iter().collect();
    let max = targets.max.min(TARGETS_MAX);
    if customers.len() > max {
        return Err(DomainError::TooManyTargets {
            count: customers.len(),
            max,
        });
    }
    if customers.is_empty() {
        return Err(DomainError::validation(
            "segmentId",
            "the saved segment selects no customer in the campaign's scope",
        ));
    }
    Ok(vec![
        launched,
        Event::CampaignTargetsFrozen {
            campaign_id,
            segment_id: segment,
            customers: customers.into_iter().collect(),
            at: now,
        },
    ])
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::CampaignPlanned {
            campaign_id,
            branch,
            ..
        } => {
            state.id = Some(*campaign_id);
            state.status = Some(Status::Planned);
            state.branch = *branch;
        }
        Event::CampaignAimed { segment_id, .. } => state.segment = Some(*segment_id),
        Event::CampaignTargetsFrozen { customers, .. } => {
            state.targets = Some(customers.iter().copied().collect());
        }
        Event::CampaignLaunched { .. } => state.status = Some(Status::Launched),
        Event::CampaignResponseRecorded {
            customer_id,
            response,
            ..
        } => {
            state.responses.insert(*customer_id, *response);
        }
        Event::CampaignResponseRecordedVia {
            customer_id,
            response,
            channel,
            ..
        } => {
            state.responses.insert(*customer_id, *response);
            state.response_channels.insert(*customer_id, *channel);
        }
        Event::CampaignCostRecorded { channel, cost, .. } => {
            state.costs.insert(*channel, *cost);
        }
        Event::CampaignClosed { .. } => state.status = Some(Status::Closed),
        Event::CampaignCancelled { .. } => state.status = Some(Status::Cancelled),
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

    fn id() -> CampaignId {
        CampaignId::from_uuid(Uuid::from_u128(1))
    }
    fn cid() -> CustomerId {
        CustomerId::from_uuid(Uuid::from_u128(2))
    }
    fn segment() -> LongText {
        LongText::parse("gold-tier customers holding no bond funds").expect("valid")
    }
    fn plan(ends_on: Date) -> Command {
        Command::Plan {
            campaign_id: id(),
            name: OrgName::parse("春季债基推广").expect("valid"),
            branch: None,
            target_segment: segment(),
            product_id: None,
            starts_on: date!(2024 - 03 - 01),
            ends_on,
            budget: Money::ZERO,
            now: NOW,
        }
    }
    fn planned() -> Event {
        Event::CampaignPlanned {
            campaign_id: id(),
            name: OrgName::parse("春季债基推广").expect("valid"),
            branch: None,
            target_segment: segment(),
            product_id: None,
            starts_on: date!(2024 - 03 - 01),
            ends_on: date!(2024 - 03 - 31),
            budget: Money::ZERO,
            at: NOW,
        }
    }
    fn launched() -> Event {
        Event::CampaignLaunched {
            campaign_id: id(),
            at: NOW,
        }
    }

    #[test]
    fn it_plans_a_campaign_with_a_target_segment() {
        given::<Campaign>([])
            .when(plan(date!(2024 - 03 - 31)))
            .then([planned()]);
    }

    #[test]
    fn it_rejects_a_campaign_that_ends_before_it_starts() {
        given::<Campaign>([])
            .when(plan(date!(2024 - 02 - 01)))
            .then_err(DomainError::validation(
                "ends_on",
                "must not be before starts_on",
            ));
    }

    #[test]
    fn it_launches_a_planned_campaign() {
        given::<Campaign>([planned()])
            .when(Command::Launch {
                targets: None,
                now: NOW,
            })
            .then([launched()]);
    }

    #[test]
    fn it_records_responses_once_launched_and_ignores_repeats() {
        let response = Event::CampaignResponseRecorded {
            campaign_id: id(),
            customer_id: cid(),
            response: Response::Interested,
            at: NOW,
        };
        given::<Campaign>([planned(), launched()])
            .when(Command::RecordResponse {
                customer_id: cid(),
                response: Response::Interested,
                channel: None,
                now: NOW,
            })
            .then([response.clone()]);
        given::<Campaign>([planned(), launched(), response])
            .when(Command::RecordResponse {
                customer_id: cid(),
                response: Response::Interested,
                channel: None,
                now: NOW,
            })
            .then([]);
    }

    #[test]
    fn it_rejects_responses_before_launch() {
        given::<Campaign>([planned()])
            .when(Command::RecordResponse {
                customer_id: cid(),
                response: Response::Converted,
                channel: None,
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "planned",
                command: "record response",
            });
    }

    #[test]
    fn it_closes_a_launched_campaign() {
        given::<Campaign>([planned(), launched()])
            .when(Command::Close {
                summary: LongText::parse("").expect("valid"),
                now: NOW,
            })
            .then([Event::CampaignClosed {
                campaign_id: id(),
                summary: LongText::parse("").expect("valid"),
                at: NOW,
            }]);
    }

    #[test]
    fn it_cancels_a_planned_campaign_but_not_a_launched_one() {
        let reason = ShortText::parse("budget cut").expect("valid");
        given::<Campaign>([planned()])
            .when(Command::Cancel {
                reason: reason.clone(),
                now: NOW,
            })
            .then([Event::CampaignCancelled {
                campaign_id: id(),
                reason: reason.clone(),
                at: NOW,
            }]);
        given::<Campaign>([planned(), launched()])
            .when(Command::Cancel { reason, now: NOW })
            .then_err(DomainError::InvalidTransition {
                from: "launched",
                command: "cancel",
            });
    }
    fn seg() -> SegmentId {
        SegmentId::from_uuid(Uuid::from_u128(3))
    }
    fn other() -> CustomerId {
        CustomerId::from_uuid(Uuid::from_u128(4))
    }
    fn aimed() -> Event {
        Event::CampaignAimed {
            campaign_id: id(),
            segment_id: seg(),
            at: NOW,
        }
    }
    fn frozen() -> Event {
        Event::CampaignTargetsFrozen {
            campaign_id: id(),
            segment_id: seg(),
            customers: vec![cid()],
            at: NOW,
        }
    }
    fn targets(customers: Vec<CustomerId>, max: usize) -> Option<Targets> {
        Some(Targets {
            segment_id: seg(),
            customers,
            max,
        })
    }

    #[test]
    fn it_aims_a_planned_campaign_at_a_saved_segment_once() {
        given::<Campaign>([planned()])
            .when(Command::Aim {
                segment_id: seg(),
                segment_branch: None,
                now: NOW,
            })
            .then([aimed()]);
        given::<Campaign>([planned(), aimed()])
            .when(Command::Aim {
                segment_id: seg(),
                segment_branch: None,
                now: NOW,
            })
            .then([]);
        given::<Campaign>([planned(), launched()])
            .when(Command::Aim {
                segment_id: seg(),
                segment_branch: None,
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "launched",
                command: "aim",
            });
    }

    #[test]
    fn it_refuses_a_segment_of_another_branch() {
        let branch = BranchId::from_uuid(Uuid::from_u128(5));
        given::<Campaign>([planned()])
            .when(Command::Aim {
                segment_id: seg(),
                segment_branch: Some(branch),
                now: NOW,
            })
            .then_err(DomainError::validation(
                "segmentId",
                "the segment was saved for another branch than the campaign's; aim at a \
                 segment of the campaign's branch or a company-wide one",
            ));
    }

    #[test]
    fn it_freezes_the_target_list_at_launch_sorted_and_once_each() {
        let state = given::<Campaign>([planned(), aimed()])
            .when(Command::Launch {
                targets: targets(vec![other(), cid(), other()], 10),
                now: NOW,
            })
            .then([
                launched(),
                Event::CampaignTargetsFrozen {
                    campaign_id: id(),
                    segment_id: seg(),
                    customers: vec![cid(), other()],
                    at: NOW,
                },
            ]);
        assert_eq!(state.targets.map(|t| t.len()), Some(2));
    }

    #[test]
    fn it_refuses_a_target_list_over_the_bound() {
        given::<Campaign>([planned(), aimed()])
            .when(Command::Launch {
                targets: targets(vec![cid(), other()], 1),
                now: NOW,
            })
            .then_err(DomainError::TooManyTargets { count: 2, max: 1 });
    }

    #[test]
    fn the_configured_bound_is_capped_by_the_hard_maximum() {
        let many: Vec<CustomerId> = (0..=TARGETS_MAX as u128)
            .map(|n| CustomerId::from_uuid(Uuid::from_u128(1_000 + n)))
            .collect();
        given::<Campaign>([planned(), aimed()])
            .when(Command::Launch {
                targets: targets(many, usize::MAX),
                now: NOW,
            })
            .then_err(DomainError::TooManyTargets {
                count: TARGETS_MAX + 1,
                max: TARGETS_MAX,
            });
    }

    #[test]
    fn it_refuses_an_empty_target_list() {
        given::<Campaign>([planned(), aimed()])
            .when(Command::Launch {
                targets: targets(vec![], 10),
                now: NOW,
            })
            .then_err(DomainError::validation(
                "segmentId",
                "the saved segment selects no customer in the campaign's scope",
            ));
    }

    #[test]
    fn an_aimed_campaign_launches_only_with_its_segments_list() {
        given::<Campaign>([planned(), aimed()])
            .when(Command::Launch {
                targets: None,
                now: NOW,
            })
            .then_err(DomainError::validation(
                "targets",
                "the campaign aims at a saved segment: its launch must freeze the segment's \
                 target list",
            ));
        given::<Campaign>([planned()])
            .when(Command::Launch {
                targets: targets(vec![cid()], 10),
                now: NOW,
            })
            .then_err(DomainError::validation(
                "targets",
                "the campaign aims at no saved segment, so its launch freezes no target list",
            ));
        let elsewhere = SegmentId::from_uuid(Uuid::from_u128(99));
        given::<Campaign>([planned(), aimed()])
            .when(Command::Launch {
                targets: Some(Targets {
                    segment_id: elsewhere,
                    customers: vec![cid()],
                    max: 10,
                }),
                now: NOW,
            })
            .then_err(DomainError::conflict(format!(
                "the target list was evaluated for segment {elsewhere}, but the campaign aims at {}",
                seg()
            )));
    }

    #[test]
    fn it_refuses_a_response_from_a_customer_off_the_frozen_list() {
        given::<Campaign>([planned(), aimed(), launched(), frozen()])
            .when(Command::RecordResponse {
                customer_id: other(),
                response: Response::Interested,
                channel: None,
                now: NOW,
            })
            .then_err(DomainError::NotATarget { customer: other() });
        given::<Campaign>([planned(), aimed(), launched(), frozen()])
            .when(Command::RecordResponse {
                customer_id: cid(),
                response: Response::Interested,
                channel: None,
                now: NOW,
            })
            .then([Event::CampaignResponseRecorded {
                campaign_id: id(),
                customer_id: cid(),
                response: Response::Interested,
                at: NOW,
            }]);
    }

    #[test]
    fn it_records_a_response_with_its_channel_and_ignores_the_same_again() {
        let via = Event::CampaignResponseRecordedVia {
            campaign_id: id(),
            customer_id: cid(),
            response: Response::Converted,
            channel: Channel::Phone,
            at: NOW,
        };
        let command = || Command::RecordResponse {
            customer_id: cid(),
            response: Response::Converted,
            channel: Some(Channel::Phone),
            now: NOW,
        };
        given::<Campaign>([planned(), launched()])
            .when(command())
            .then([via.clone()]);
        given::<Campaign>([planned(), launched(), via.clone()])
            .when(command())
            .then([]);
        given::<Campaign>([planned(), launched(), via])
            .when(Command::RecordResponse {
                customer_id: cid(),
                response: Response::Converted,
                channel: Some(Channel::Visit),
                now: NOW,
            })
            .then([Event::CampaignResponseRecordedVia {
                campaign_id: id(),
                customer_id: cid(),
                response: Response::Converted,
                channel: Channel::Visit,
                at: NOW,
            }]);
    }

    #[test]
    fn it_records_the_cost_per_channel_once_launched_or_closed() {
        let cost = Money::from_minor(5_000_000);
        let recorded = Event::CampaignCostRecorded {
            campaign_id: id(),
            channel: Some(Channel::Phone),
            cost,
            at: NOW,
        };
        let command = |cost| Command::RecordCost {
            channel: Some(Channel::Phone),
            cost,
            now: NOW,
        };
        given::<Campaign>([planned(), launched()])
            .when(command(cost))
            .then([recorded.clone()]);
        given::<Campaign>([planned(), launched(), recorded.clone()])
            .when(command(cost))
            .then([]);
        let closed = Event::CampaignClosed {
            campaign_id: id(),
            summary: LongText::parse("").expect("valid"),
            at: NOW,
        };
        given::<Campaign>([planned(), launched(), recorded, closed])
            .when(command(Money::ZERO))
            .then([Event::CampaignCostRecorded {
                campaign_id: id(),
                channel: Some(Channel::Phone),
                cost: Money::ZERO,
                at: NOW,
            }]);
    }

    #[test]
    fn it_refuses_a_negative_cost_and_a_cost_before_launch() {
        given::<Campaign>([planned(), launched()])
            .when(Command::RecordCost {
                channel: None,
                cost: Money::from_minor(-1),
                now: NOW,
            })
            .then_err(DomainError::validation("cost", "must not be negative"));
        given::<Campaign>([planned()])
            .when(Command::RecordCost {
                channel: None,
                cost: Money::ZERO,
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "planned",
                command: "record cost",
            });
    }
}
