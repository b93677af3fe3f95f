//! The marketing campaign aggregate (营销活动), stream `campaign-<id>`: planned with a target
//! segment description, launched, customer responses recorded, closed (or cancelled before
//! launch). The segment is a description for people; which customers it selects is a
//! projection's job, so the campaign never holds a customer list it could get out of date.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;
use crate::ids::{BranchId, CampaignId, CustomerId, ProductId};
use crate::money::Money;
use crate::values::{LongText, OrgName, ShortText};

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

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<CampaignId>,
    pub status: Option<Status>,
    /// Latest response per customer (bounded by the campaign's audience).
    pub responses: BTreeMap<CustomerId, Response>,
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
    Launch {
        now: OffsetDateTime,
    },
    RecordResponse {
        customer_id: CustomerId,
        response: Response,
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
            Command::Launch { .. } => "launch",
            Command::RecordResponse { .. } => "record response",
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
}

crate::aggregate!(Campaign, category: "campaign", id: campaign_id, events: [
    CampaignPlanned, CampaignLaunched, CampaignResponseRecorded, CampaignClosed, CampaignCancelled,
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
        Command::Launch { now } => {
            require(Status::Planned)?;
            Ok(vec![Event::CampaignLaunched {
                campaign_id,
                at: now,
            }])
        }
        Command::RecordResponse {
            customer_id,
            response,
            now,
        } => {
            require(Status::Launched)?;
            if state.responses.get(&customer_id) == Some(&response) {
                return Ok(vec![]);
            }
            Ok(vec![Event::CampaignResponseRecorded {
                campaign_id,
                customer_id,
                response,
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

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::CampaignPlanned { campaign_id, .. } => {
            state.id = Some(*campaign_id);
            state.status = Some(Status::Planned);
        }
        Event::CampaignLaunched { .. } => state.status = Some(Status::Launched),
        Event::CampaignResponseRecorded {
            customer_id,
            response,
            ..
        } => {
            state.responses.insert(*customer_id, *response);
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
            .when(Command::Launch { now: NOW })
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
                now: NOW,
            })
            .then([response.clone()]);
        given::<Campaign>([planned(), launched(), response])
            .when(Command::RecordResponse {
                customer_id: cid(),
                response: Response::Interested,
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
}
