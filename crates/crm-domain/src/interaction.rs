//! Interactions (接触 / 联络记录), stream `interaction-<id>`: one contact with a customer
//! through a channel, a customer-care contact (客户关怀: birthday, holiday, market event), or a
//! visit (客户走访) planned, then done with notes or cancelled.
//!
//! Each interaction has its own small stream rather than living on the customer stream: a busy
//! customer accumulates thousands of contacts, and recording one must not contend with
//! assignment or profile changes of the same customer. Every event names the customer, so the
//! customer-360 projection gathers them by `customer_id`.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;
use crate::ids::{CustomerId, InteractionId, StaffId};
use crate::values::{Channel, LongText, ShortText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Reached,
    NotReached,
    Interested,
    NotInterested,
    /// The customer raised a complaint (a ticket should follow).
    Complained,
    Resolved,
    FollowUpNeeded,
}

/// 客户关怀 occasions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CareOccasion {
    Birthday,
    Holiday,
    /// Market turmoil, a holding's major news, etc.
    MarketEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Contact,
    Care,
    Visit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VisitStatus {
    Planned,
    Done,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<InteractionId>,
    pub customer_id: Option<CustomerId>,
    pub staff_id: Option<StaffId>,
    pub kind: Option<Kind>,
    pub visit_status: Option<VisitStatus>,
    pub follow_up_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RecordContact {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        staff_id: StaffId,
        channel: Channel,
        direction: Direction,
        topic: ShortText,
        outcome: Outcome,
        notes: LongText,
        follow_up_on: Option<Date>,
        now: OffsetDateTime,
    },
    RecordCareContact {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        staff_id: StaffId,
        occasion: CareOccasion,
        channel: Channel,
        notes: LongText,
        now: OffsetDateTime,
    },
    PlanVisit {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        staff_id: StaffId,
        planned_for: OffsetDateTime,
        purpose: ShortText,
        now: OffsetDateTime,
    },
    CompleteVisit {
        outcome: Outcome,
        notes: LongText,
        follow_up_on: Option<Date>,
        now: OffsetDateTime,
    },
    CancelVisit {
        reason: ShortText,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    ContactRecorded {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        staff_id: StaffId,
        channel: Channel,
        direction: Direction,
        topic: ShortText,
        outcome: Outcome,
        notes: LongText,
        follow_up_on: Option<Date>,
        at: OffsetDateTime,
    },
    CareContactRecorded {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        staff_id: StaffId,
        occasion: CareOccasion,
        channel: Channel,
        notes: LongText,
        at: OffsetDateTime,
    },
    VisitPlanned {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        staff_id: StaffId,
        planned_for: OffsetDateTime,
        purpose: ShortText,
        at: OffsetDateTime,
    },
    VisitCompleted {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        outcome: Outcome,
        notes: LongText,
        follow_up_on: Option<Date>,
        at: OffsetDateTime,
    },
    VisitCancelled {
        interaction_id: InteractionId,
        customer_id: CustomerId,
        reason: ShortText,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Interaction, category: "interaction", id: interaction_id, events: [
    ContactRecorded, CareContactRecorded, VisitPlanned, VisitCompleted, VisitCancelled,
]);

fn check_follow_up(follow_up_on: Option<Date>, now: OffsetDateTime) -> Result<(), DomainError> {
    match follow_up_on {
        Some(d) if d < now.date() => Err(DomainError::validation(
            "follow_up_on",
            "must not be in the past",
        )),
        _ => Ok(()),
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (Some(interaction_id), Some(customer_id)) = (state.id, state.customer_id) else {
        return match command {
            Command::RecordContact {
                interaction_id,
                customer_id,
                staff_id,
                channel,
                direction,
                topic,
                outcome,
                notes,
                follow_up_on,
                now,
            } => {
                check_follow_up(follow_up_on, now)?;
                Ok(vec![Event::ContactRecorded {
                    interaction_id,
                    customer_id,
                    staff_id,
                    channel,
                    direction,
                    topic,
                    outcome,
                    notes,
                    follow_up_on,
                    at: now,
                }])
            }
            Command::RecordCareContact {
                interaction_id,
                customer_id,
                staff_id,
                occasion,
                channel,
                notes,
                now,
            } => Ok(vec![Event::CareContactRecorded {
                interaction_id,
                customer_id,
                staff_id,
                occasion,
                channel,
                notes,
                at: now,
            }]),
            Command::PlanVisit {
                interaction_id,
                customer_id,
                staff_id,
                planned_for,
                purpose,
                now,
            } => Ok(vec![Event::VisitPlanned {
                interaction_id,
                customer_id,
                staff_id,
                planned_for,
                purpose,
                at: now,
            }]),
            Command::CompleteVisit { .. } | Command::CancelVisit { .. } => {
                Err(DomainError::NotFound { entity: "visit" })
            }
        };
    };
    let visit_status = match (state.kind, state.visit_status) {
        (Some(Kind::Visit), Some(s)) => Some(s),
        _ => None,
    };
    match command {
        Command::RecordContact { .. }
        | Command::RecordCareContact { .. }
        | Command::PlanVisit { .. } => Err(DomainError::AlreadyExists {
            entity: "interaction",
        }),
        Command::CompleteVisit {
            outcome,
            notes,
            follow_up_on,
            now,
        } => match visit_status {
            Some(VisitStatus::Planned) => {
                check_follow_up(follow_up_on, now)?;
                Ok(vec![Event::VisitCompleted {
                    interaction_id,
                    customer_id,
                    outcome,
                    notes,
                    follow_up_on,
                    at: now,
                }])
            }
            Some(VisitStatus::Done) => Err(DomainError::InvalidTransition {
                from: "done",
                command: "complete visit",
            }),
            Some(VisitStatus::Cancelled) => Err(DomainError::InvalidTransition {
                from: "cancelled",
                command: "complete visit",
            }),
            None => Err(DomainError::InvalidTransition {
                from: "not a visit",
                command: "complete visit",
            }),
        },
        Command::CancelVisit { reason, now } => match visit_status {
            Some(VisitStatus::Planned) => Ok(vec![Event::VisitCancelled {
                interaction_id,
                customer_id,
                reason,
                at: now,
            }]),
            Some(VisitStatus::Done) => Err(DomainError::InvalidTransition {
                from: "done",
                command: "cancel visit",
            }),
            Some(VisitStatus::Cancelled) => Ok(vec![]),
            None => Err(DomainError::InvalidTransition {
                from: "not a visit",
                command: "cancel visit",
            }),
        },
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::ContactRecorded {
            interaction_id,
            customer_id,
            staff_id,
            follow_up_on,
            ..
        } => {
            state.id = Some(*interaction_id);
            state.customer_id = Some(*customer_id);
            state.staff_id = Some(*staff_id);
            state.kind = Some(Kind::Contact);
            state.follow_up_on = *follow_up_on;
        }
        Event::CareContactRecorded {
            interaction_id,
            customer_id,
            staff_id,
            ..
        } => {
            state.id = Some(*interaction_id);
            state.customer_id = Some(*customer_id);
            state.staff_id = Some(*staff_id);
            state.kind = Some(Kind::Care);
        }
        Event::VisitPlanned {
            interaction_id,
            customer_id,
            staff_id,
            ..
        } => {
            state.id = Some(*interaction_id);
            state.customer_id = Some(*customer_id);
            state.staff_id = Some(*staff_id);
            state.kind = Some(Kind::Visit);
            state.visit_status = Some(VisitStatus::Planned);
        }
        Event::VisitCompleted { follow_up_on, .. } => {
            state.visit_status = Some(VisitStatus::Done);
            state.follow_up_on = *follow_up_on;
        }
        Event::VisitCancelled { .. } => state.visit_status = Some(VisitStatus::Cancelled),
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

    fn iid() -> InteractionId {
        InteractionId::from_uuid(Uuid::from_u128(1))
    }
    fn cid() -> CustomerId {
        CustomerId::from_uuid(Uuid::from_u128(2))
    }
    fn sid() -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(3))
    }
    fn text(s: &str) -> ShortText {
        ShortText::parse(s).expect("test literal is valid")
    }
    fn long(s: &str) -> LongText {
        LongText::parse(s).expect("test literal is valid")
    }
    fn contact(follow_up_on: Option<Date>) -> Command {
        Command::RecordContact {
            interaction_id: iid(),
            customer_id: cid(),
            staff_id: sid(),
            channel: Channel::Phone,
            direction: Direction::Outbound,
            topic: text("new bond fund"),
            outcome: Outcome::Interested,
            notes: long("call back next week"),
            follow_up_on,
            now: NOW,
        }
    }
    fn planned() -> Event {
        Event::VisitPlanned {
            interaction_id: iid(),
            customer_id: cid(),
            staff_id: sid(),
            planned_for: datetime!(2024-03-05 15:00 +8),
            purpose: text("annual review"),
            at: NOW,
        }
    }

    #[test]
    fn it_records_a_contact_with_a_follow_up_date() {
        let state = given::<Interaction>([])
            .when(contact(Some(date!(2024 - 03 - 08))))
            .then([Event::ContactRecorded {
                interaction_id: iid(),
                customer_id: cid(),
                staff_id: sid(),
                channel: Channel::Phone,
                direction: Direction::Outbound,
                topic: text("new bond fund"),
                outcome: Outcome::Interested,
                notes: long("call back next week"),
                follow_up_on: Some(date!(2024 - 03 - 08)),
                at: NOW,
            }]);
        assert_eq!(state.follow_up_on, Some(date!(2024 - 03 - 08)));
    }

    #[test]
    fn it_rejects_a_follow_up_date_in_the_past() {
        given::<Interaction>([])
            .when(contact(Some(date!(2024 - 02 - 01))))
            .then_err(DomainError::validation(
                "follow_up_on",
                "must not be in the past",
            ));
    }

    #[test]
    fn it_records_a_birthday_care_contact() {
        given::<Interaction>([])
            .when(Command::RecordCareContact {
                interaction_id: iid(),
                customer_id: cid(),
                staff_id: sid(),
                occasion: CareOccasion::Birthday,
                channel: Channel::WeChat,
                notes: long(""),
                now: NOW,
            })
            .then([Event::CareContactRecorded {
                interaction_id: iid(),
                customer_id: cid(),
                staff_id: sid(),
                occasion: CareOccasion::Birthday,
                channel: Channel::WeChat,
                notes: long(""),
                at: NOW,
            }]);
    }

    #[test]
    fn it_plans_a_visit() {
        given::<Interaction>([])
            .when(Command::PlanVisit {
                interaction_id: iid(),
                customer_id: cid(),
                staff_id: sid(),
                planned_for: datetime!(2024-03-05 15:00 +8),
                purpose: text("annual review"),
                now: NOW,
            })
            .then([planned()]);
    }

    #[test]
    fn it_completes_a_planned_visit_with_notes() {
        given::<Interaction>([planned()])
            .when(Command::CompleteVisit {
                outcome: Outcome::Reached,
                notes: long("discussed allocation"),
                follow_up_on: None,
                now: NOW,
            })
            .then([Event::VisitCompleted {
                interaction_id: iid(),
                customer_id: cid(),
                outcome: Outcome::Reached,
                notes: long("discussed allocation"),
                follow_up_on: None,
                at: NOW,
            }]);
    }

    #[test]
    fn it_cancels_a_planned_visit() {
        given::<Interaction>([planned()])
            .when(Command::CancelVisit {
                reason: text("customer travelling"),
                now: NOW,
            })
            .then([Event::VisitCancelled {
                interaction_id: iid(),
                customer_id: cid(),
                reason: text("customer travelling"),
                at: NOW,
            }]);
    }

    #[test]
    fn it_rejects_completing_a_cancelled_visit() {
        let cancelled = Event::VisitCancelled {
            interaction_id: iid(),
            customer_id: cid(),
            reason: text("x"),
            at: NOW,
        };
        given::<Interaction>([planned(), cancelled])
            .when(Command::CompleteVisit {
                outcome: Outcome::Reached,
                notes: long(""),
                follow_up_on: None,
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "cancelled",
                command: "complete visit",
            });
    }

    #[test]
    fn it_rejects_completing_a_plain_contact_as_a_visit() {
        let recorded = Event::CareContactRecorded {
            interaction_id: iid(),
            customer_id: cid(),
            staff_id: sid(),
            occasion: CareOccasion::Holiday,
            channel: Channel::Email,
            notes: long(""),
            at: NOW,
        };
        given::<Interaction>([recorded])
            .when(Command::CancelVisit {
                reason: text("x"),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "not a visit",
                command: "cancel visit",
            });
    }
}
