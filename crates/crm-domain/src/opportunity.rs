//! The sales opportunity aggregate (线索 → 商机 → 销售), stream `opportunity-<id>`:
//! lead → qualified → proposal → won or lost (with a reason), linked to a product and an
//! expected amount. Prospects are customers in the `Prospect` lifecycle, so a lead always
//! names a customer id.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::{CustomerId, OpportunityId, ProductId, StaffId};
use crate::money::Money;
use crate::values::{Channel, ShortText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Lead,
    Qualified,
    Proposal,
    Won,
    Lost,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Lead => "lead",
            Stage::Qualified => "qualified",
            Stage::Proposal => "proposal",
            Stage::Won => "won",
            Stage::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossReason {
    Price,
    Competitor,
    NotSuitable,
    NoBudget,
    NoResponse,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<OpportunityId>,
    pub customer_id: Option<CustomerId>,
    pub product_id: Option<ProductId>,
    pub owner: Option<StaffId>,
    pub stage: Option<Stage>,
    pub expected_amount: Money,
    pub won_amount: Option<Money>,
    pub loss_reason: Option<LossReason>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CreateLead {
        opportunity_id: OpportunityId,
        customer_id: CustomerId,
        product_id: Option<ProductId>,
        expected_amount: Money,
        owner: StaffId,
        source: Channel,
        title: ShortText,
        now: OffsetDateTime,
    },
    Qualify {
        now: OffsetDateTime,
    },
    Propose {
        product_id: ProductId,
        expected_amount: Money,
        now: OffsetDateTime,
    },
    Win {
        amount: Money,
        now: OffsetDateTime,
    },
    Lose {
        reason: LossReason,
        note: Option<ShortText>,
        now: OffsetDateTime,
    },
    ChangeOwner {
        owner: StaffId,
        now: OffsetDateTime,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::CreateLead { .. } => "create lead",
            Command::Qualify { .. } => "qualify",
            Command::Propose { .. } => "propose",
            Command::Win { .. } => "win",
            Command::Lose { .. } => "lose",
            Command::ChangeOwner { .. } => "change owner",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    LeadCreated {
        opportunity_id: OpportunityId,
        customer_id: CustomerId,
        product_id: Option<ProductId>,
        expected_amount: Money,
        owner: StaffId,
        source: Channel,
        title: ShortText,
        at: OffsetDateTime,
    },
    OpportunityQualified {
        opportunity_id: OpportunityId,
        at: OffsetDateTime,
    },
    ProposalMade {
        opportunity_id: OpportunityId,
        product_id: ProductId,
        expected_amount: Money,
        at: OffsetDateTime,
    },
    OpportunityWon {
        opportunity_id: OpportunityId,
        customer_id: CustomerId,
        amount: Money,
        at: OffsetDateTime,
    },
    OpportunityLost {
        opportunity_id: OpportunityId,
        reason: LossReason,
        note: Option<ShortText>,
        at: OffsetDateTime,
    },
    OpportunityOwnerChanged {
        opportunity_id: OpportunityId,
        from: StaffId,
        to: StaffId,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Opportunity, category: "opportunity", id: opportunity_id, events: [
    LeadCreated, OpportunityQualified, ProposalMade, OpportunityWon, OpportunityLost,
    OpportunityOwnerChanged,
]);

fn non_negative(field: &'static str, amount: Money) -> Result<(), DomainError> {
    if amount.is_negative() {
        Err(DomainError::validation(field, "must not be negative"))
    } else {
        Ok(())
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (Some(opportunity_id), Some(stage), Some(customer_id), Some(owner)) =
        (state.id, state.stage, state.customer_id, state.owner)
    else {
        return match command {
            Command::CreateLead {
                opportunity_id,
                customer_id,
                product_id,
                expected_amount,
                owner,
                source,
                title,
                now,
            } => {
                non_negative("expected_amount", expected_amount)?;
                Ok(vec![Event::LeadCreated {
                    opportunity_id,
                    customer_id,
                    product_id,
                    expected_amount,
                    owner,
                    source,
                    title,
                    at: now,
                }])
            }
            _ => Err(DomainError::NotFound {
                entity: "opportunity",
            }),
        };
    };
    let name = command.name();
    let require = |allowed: &[Stage]| {
        if allowed.contains(&stage) {
            Ok(())
        } else {
            Err(DomainError::InvalidTransition {
                from: stage.name(),
                command: name,
            })
        }
    };
    use Stage::*;
    match command {
        Command::CreateLead { .. } => Err(DomainError::AlreadyExists {
            entity: "opportunity",
        }),
        Command::Qualify { now } => {
            require(&[Lead])?;
            Ok(vec![Event::OpportunityQualified {
                opportunity_id,
                at: now,
            }])
        }
        Command::Propose {
            product_id,
            expected_amount,
            now,
        } => {
            require(&[Qualified, Proposal])?;
            non_negative("expected_amount", expected_amount)?;
            Ok(vec![Event::ProposalMade {
                opportunity_id,
                product_id,
                expected_amount,
                at: now,
            }])
        }
        Command::Win { amount, now } => {
            require(&[Qualified, Proposal])?;
            if amount.minor() <= 0 {
                return Err(DomainError::validation("amount", "must be positive"));
            }
            Ok(vec![Event::OpportunityWon {
                opportunity_id,
                customer_id,
                amount,
                at: now,
            }])
        }
        Command::Lose { reason, note, now } => {
            require(&[Lead, Qualified, Proposal])?;
            Ok(vec![Event::OpportunityLost {
                opportunity_id,
                reason,
                note,
                at: now,
            }])
        }
        Command::ChangeOwner { owner: to, now } => {
            require(&[Lead, Qualified, Proposal])?;
            if to == owner {
                return Ok(vec![]);
            }
            Ok(vec![Event::OpportunityOwnerChanged {
                opportunity_id,
                from: owner,
                to,
                at: now,
            }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::LeadCreated {
            opportunity_id,
            customer_id,
            product_id,
            expected_amount,
            owner,
            ..
        } => {
            state.id = Some(*opportunity_id);
            state.customer_id = Some(*customer_id);
            state.product_id = *product_id;
            state.expected_amount = *expected_amount;
            state.owner = Some(*owner);
            state.stage = Some(Stage::Lead);
        }
        Event::OpportunityQualified { .. } => state.stage = Some(Stage::Qualified),
        Event::ProposalMade {
            product_id,
            expected_amount,
            ..
        } => {
            state.stage = Some(Stage::Proposal);
            state.product_id = Some(*product_id);
            state.expected_amount = *expected_amount;
        }
        Event::OpportunityWon { amount, .. } => {
            state.stage = Some(Stage::Won);
            state.won_amount = Some(*amount);
        }
        Event::OpportunityLost { reason, .. } => {
            state.stage = Some(Stage::Lost);
            state.loss_reason = Some(*reason);
        }
        Event::OpportunityOwnerChanged { to, .. } => state.owner = Some(*to),
    }
    state
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

    fn oid() -> OpportunityId {
        OpportunityId::from_uuid(Uuid::from_u128(1))
    }
    fn cid() -> CustomerId {
        CustomerId::from_uuid(Uuid::from_u128(2))
    }
    fn pid() -> ProductId {
        ProductId::from_uuid(Uuid::from_u128(3))
    }
    fn sid(n: u128) -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(n))
    }
    fn title() -> ShortText {
        ShortText::parse("wealth product for retiree").expect("valid")
    }
    fn created() -> Event {
        Event::LeadCreated {
            opportunity_id: oid(),
            customer_id: cid(),
            product_id: None,
            expected_amount: Money::from_minor(500_000_000),
            owner: sid(10),
            source: Channel::Counter,
            title: title(),
            at: NOW,
        }
    }
    fn qualified() -> Event {
        Event::OpportunityQualified {
            opportunity_id: oid(),
            at: NOW,
        }
    }
    fn proposed() -> Event {
        Event::ProposalMade {
            opportunity_id: oid(),
            product_id: pid(),
            expected_amount: Money::from_minor(600_000_000),
            at: NOW,
        }
    }

    #[test]
    fn it_creates_a_lead() {
        given::<Opportunity>([])
            .when(Command::CreateLead {
                opportunity_id: oid(),
                customer_id: cid(),
                product_id: None,
                expected_amount: Money::from_minor(500_000_000),
                owner: sid(10),
                source: Channel::Counter,
                title: title(),
                now: NOW,
            })
            .then([created()]);
    }

    #[test]
    fn it_rejects_a_negative_expected_amount() {
        given::<Opportunity>([])
            .when(Command::CreateLead {
                opportunity_id: oid(),
                customer_id: cid(),
                product_id: None,
                expected_amount: Money::from_minor(-1),
                owner: sid(10),
                source: Channel::Counter,
                title: title(),
                now: NOW,
            })
            .then_err(DomainError::validation(
                "expected_amount",
                "must not be negative",
            ));
    }

    #[test]
    fn it_qualifies_a_lead() {
        given::<Opportunity>([created()])
            .when(Command::Qualify { now: NOW })
            .then([qualified()]);
    }

    #[test]
    fn it_makes_a_proposal_for_a_qualified_opportunity() {
        given::<Opportunity>([created(), qualified()])
            .when(Command::Propose {
                product_id: pid(),
                expected_amount: Money::from_minor(600_000_000),
                now: NOW,
            })
            .then([proposed()]);
    }

    #[test]
    fn it_rejects_a_proposal_for_an_unqualified_lead() {
        given::<Opportunity>([created()])
            .when(Command::Propose {
                product_id: pid(),
                expected_amount: Money::ZERO,
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "lead",
                command: "propose",
            });
    }

    #[test]
    fn it_wins_an_opportunity() {
        given::<Opportunity>([created(), qualified(), proposed()])
            .when(Command::Win {
                amount: Money::from_minor(550_000_000),
                now: NOW,
            })
            .then([Event::OpportunityWon {
                opportunity_id: oid(),
                customer_id: cid(),
                amount: Money::from_minor(550_000_000),
                at: NOW,
            }]);
    }

    #[test]
    fn it_loses_an_opportunity_with_a_reason() {
        let state = given::<Opportunity>([created()])
            .when(Command::Lose {
                reason: LossReason::Competitor,
                note: None,
                now: NOW,
            })
            .then([Event::OpportunityLost {
                opportunity_id: oid(),
                reason: LossReason::Competitor,
                note: None,
                at: NOW,
            }]);
        assert_eq!(state.stage, Some(Stage::Lost));
    }

    #[test]
    fn it_rejects_winning_a_lost_opportunity() {
        let lost = Event::OpportunityLost {
            opportunity_id: oid(),
            reason: LossReason::Price,
            note: None,
            at: NOW,
        };
        given::<Opportunity>([created(), lost])
            .when(Command::Win {
                amount: Money::from_minor(1),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "lost",
                command: "win",
            });
    }

    #[test]
    fn it_hands_an_opportunity_to_another_owner() {
        given::<Opportunity>([created()])
            .when(Command::ChangeOwner {
                owner: sid(11),
                now: NOW,
            })
            .then([Event::OpportunityOwnerChanged {
                opportunity_id: oid(),
                from: sid(10),
                to: sid(11),
                at: NOW,
            }]);
    }
}
