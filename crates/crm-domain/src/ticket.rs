//! The service ticket aggregate, stream `ticket-<id>`: complaints (投诉), suggestions (建议),
//! inquiries (咨询) and service requests, with an SLA deadline, assignment, escalation,
//! resolution, closing with a satisfaction score, and reopening.
//!
//! # SLA table (hours from opening, or from reopening)
//!
//! | kind \ priority | urgent | high | normal | low |
//! |---|---|---|---|---|
//! | complaint  | 4  | 24  | 48  | 72  |
//! | inquiry    | 4  | 8   | 24  | 48  |
//! | request    | 8  | 24  | 72  | 120 |
//! | suggestion | 72 | 120 | 168 | 240 |
//!
//! Complaints are tight because regulators (CSRC / NFRA) expect brokers and banks to answer
//! complaints promptly; suggestions only need an acknowledgement. Calendar hours: business-day
//! calendars belong to the rules, not to this table. Escalation raises the priority one step
//! and pulls the deadline in to what the new priority allows, never later than before.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{DomainError, ValidationError};
use crate::ids::{BranchId, CustomerId, StaffId, TicketId};
use crate::values::{Channel, LongText, ShortText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TicketKind {
    Complaint,
    Suggestion,
    Inquiry,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    fn raised(self) -> Priority {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

/// The SLA in hours for a kind and priority (see the module table).
pub fn sla_hours(kind: TicketKind, priority: Priority) -> i64 {
    use Priority::*;
    use TicketKind::*;
    match (kind, priority) {
        (Complaint, Urgent) => 4,
        (Complaint, High) => 24,
        (Complaint, Normal) => 48,
        (Complaint, Low) => 72,
        (Inquiry, Urgent) => 4,
        (Inquiry, High) => 8,
        (Inquiry, Normal) => 24,
        (Inquiry, Low) => 48,
        (Request, Urgent) => 8,
        (Request, High) => 24,
        (Request, Normal) => 72,
        (Request, Low) => 120,
        (Suggestion, Urgent) => 72,
        (Suggestion, High) => 120,
        (Suggestion, Normal) => 168,
        (Suggestion, Low) => 240,
    }
}

/// `from + sla_hours`, or a validation error when the date arithmetic leaves time's range.
pub fn sla_deadline(
    kind: TicketKind,
    priority: Priority,
    from: OffsetDateTime,
) -> Result<OffsetDateTime, DomainError> {
    from.checked_add(Duration::hours(sla_hours(kind, priority)))
        .ok_or_else(|| DomainError::validation("now", "is out of the supported date range"))
}

/// 满意度 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Satisfaction(u8);

impl Satisfaction {
    pub fn parse(score: u8) -> Result<Self, ValidationError> {
        if (1..=5).contains(&score) {
            Ok(Self(score))
        } else {
            Err(ValidationError::new(
                "satisfaction",
                "must be between 1 and 5",
            ))
        }
    }

    pub fn score(self) -> u8 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Open,
    Assigned,
    Resolved,
    Closed,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Assigned => "assigned",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<TicketId>,
    pub customer_id: Option<CustomerId>,
    pub branch: Option<BranchId>,
    pub kind: Option<TicketKind>,
    pub priority: Option<Priority>,
    pub status: Option<Status>,
    pub assignee: Option<StaffId>,
    pub escalation_level: u8,
    pub sla_deadline: Option<OffsetDateTime>,
    pub opened_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    pub satisfaction: Option<Satisfaction>,
    pub reopen_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Open {
        ticket_id: TicketId,
        customer_id: Option<CustomerId>,
        branch: Option<BranchId>,
        kind: TicketKind,
        priority: Priority,
        channel: Channel,
        subject: ShortText,
        description: LongText,
        now: OffsetDateTime,
    },
    Assign {
        assignee: StaffId,
        by: StaffId,
        now: OffsetDateTime,
    },
    Escalate {
        to: Option<StaffId>,
        reason: ShortText,
        by: StaffId,
        now: OffsetDateTime,
    },
    Resolve {
        resolution: LongText,
        by: StaffId,
        now: OffsetDateTime,
    },
    Close {
        satisfaction: Satisfaction,
        now: OffsetDateTime,
    },
    Reopen {
        reason: ShortText,
        now: OffsetDateTime,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Open { .. } => "open",
            Command::Assign { .. } => "assign",
            Command::Escalate { .. } => "escalate",
            Command::Resolve { .. } => "resolve",
            Command::Close { .. } => "close",
            Command::Reopen { .. } => "reopen",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    TicketOpened {
        ticket_id: TicketId,
        customer_id: Option<CustomerId>,
        branch: Option<BranchId>,
        kind: TicketKind,
        priority: Priority,
        channel: Channel,
        subject: ShortText,
        description: LongText,
        sla_deadline: OffsetDateTime,
        at: OffsetDateTime,
    },
    TicketAssigned {
        ticket_id: TicketId,
        assignee: StaffId,
        by: StaffId,
        at: OffsetDateTime,
    },
    TicketEscalated {
        ticket_id: TicketId,
        level: u8,
        priority: Priority,
        sla_deadline: OffsetDateTime,
        to: Option<StaffId>,
        reason: ShortText,
        by: StaffId,
        at: OffsetDateTime,
    },
    TicketResolved {
        ticket_id: TicketId,
        resolution: LongText,
        within_sla: bool,
        by: StaffId,
        at: OffsetDateTime,
    },
    TicketClosed {
        ticket_id: TicketId,
        satisfaction: Satisfaction,
        at: OffsetDateTime,
    },
    TicketReopened {
        ticket_id: TicketId,
        reason: ShortText,
        sla_deadline: OffsetDateTime,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Ticket, category: "ticket", id: ticket_id, events: [
    TicketOpened, TicketAssigned, TicketEscalated, TicketResolved, TicketClosed, TicketReopened,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (ticket_id, status, kind, priority) =
        match (state.id, state.status, state.kind, state.priority) {
            (Some(id), Some(s), Some(k), Some(p)) => (id, s, k, p),
            _ => {
                return match command {
                    Command::Open {
                        ticket_id,
                        customer_id,
                        branch,
                        kind,
                        priority,
                        channel,
                        subject,
                        description,
                        now,
                    } => {
                        let sla_deadline = sla_deadline(kind, priority, now)?;
                        Ok(vec![Event::TicketOpened {
                            ticket_id,
                            customer_id,
                            branch,
                            kind,
                            priority,
                            channel,
                            subject,
                            description,
                            sla_deadline,
                            at: now,
                        }])
                    }
                    _ => Err(DomainError::NotFound { entity: "ticket" }),
                }
            }
        };
    let name = command.name();
    let require = |allowed: &[Status]| {
        if allowed.contains(&status) {
            Ok(())
        } else {
            Err(DomainError::InvalidTransition {
                from: status.name(),
                command: name,
            })
        }
    };
    use Status::*;
    match command {
        Command::Open { .. } => Err(DomainError::AlreadyExists { entity: "ticket" }),
        Command::Assign { assignee, by, now } => {
            require(&[Open, Assigned])?;
            if state.assignee == Some(assignee) {
                return Ok(vec![]);
            }
            Ok(vec![Event::TicketAssigned {
                ticket_id,
                assignee,
                by,
                at: now,
            }])
        }
        Command::Escalate {
            to,
            reason,
            by,
            now,
        } => {
            require(&[Open, Assigned])?;
            let priority = priority.raised();
            let allowed = sla_deadline(kind, priority, now)?;
            let sla_deadline = state.sla_deadline.map_or(allowed, |d| d.min(allowed));
            let level = state.escalation_level.saturating_add(1);
            Ok(vec![Event::TicketEscalated {
                ticket_id,
                level,
                priority,
                sla_deadline,
                to,
                reason,
                by,
                at: now,
            }])
        }
        Command::Resolve {
            resolution,
            by,
            now,
        } => {
            require(&[Open, Assigned])?;
            let within_sla = state.sla_deadline.is_none_or(|d| now <= d);
            Ok(vec![Event::TicketResolved {
                ticket_id,
                resolution,
                within_sla,
                by,
                at: now,
            }])
        }
        Command::Close { satisfaction, now } => {
            require(&[Resolved])?;
            Ok(vec![Event::TicketClosed {
                ticket_id,
                satisfaction,
                at: now,
            }])
        }
        Command::Reopen { reason, now } => {
            require(&[Resolved, Closed])?;
            let sla_deadline = sla_deadline(kind, priority, now)?;
            Ok(vec![Event::TicketReopened {
                ticket_id,
                reason,
                sla_deadline,
                at: now,
            }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::TicketOpened {
            ticket_id,
            customer_id,
            branch,
            kind,
            priority,
            sla_deadline,
            at,
            ..
        } => {
            state.id = Some(*ticket_id);
            state.customer_id = *customer_id;
            state.branch = *branch;
            state.kind = Some(*kind);
            state.priority = Some(*priority);
            state.status = Some(Status::Open);
            state.sla_deadline = Some(*sla_deadline);
            state.opened_at = Some(*at);
        }
        Event::TicketAssigned { assignee, .. } => {
            state.assignee = Some(*assignee);
            state.status = Some(Status::Assigned);
        }
        Event::TicketEscalated {
            level,
            priority,
            sla_deadline,
            to,
            ..
        } => {
            state.escalation_level = *level;
            state.priority = Some(*priority);
            state.sla_deadline = Some(*sla_deadline);
            if let Some(to) = to {
                state.assignee = Some(*to);
                state.status = Some(Status::Assigned);
            }
        }
        Event::TicketResolved { at, .. } => {
            state.status = Some(Status::Resolved);
            state.resolved_at = Some(*at);
        }
        Event::TicketClosed { satisfaction, .. } => {
            state.status = Some(Status::Closed);
            state.satisfaction = Some(*satisfaction);
        }
        Event::TicketReopened { sla_deadline, .. } => {
            state.status = Some(if state.assignee.is_some() {
                Status::Assigned
            } else {
                Status::Open
            });
            state.sla_deadline = Some(*sla_deadline);
            state.resolved_at = None;
            state.satisfaction = None;
            state.reopen_count = state.reopen_count.saturating_add(1);
        }
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

    fn tid() -> TicketId {
        TicketId::from_uuid(Uuid::from_u128(1))
    }
    fn sid(n: u128) -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(n))
    }
    fn text(s: &str) -> ShortText {
        ShortText::parse(s).expect("test literal is valid")
    }
    fn long(s: &str) -> LongText {
        LongText::parse(s).expect("test literal is valid")
    }

    fn opened() -> Event {
        Event::TicketOpened {
            ticket_id: tid(),
            customer_id: Some(CustomerId::from_uuid(Uuid::from_u128(9))),
            branch: None,
            kind: TicketKind::Complaint,
            priority: Priority::Normal,
            channel: Channel::CallCentre,
            subject: text("commission charged twice"),
            description: long(""),
            sla_deadline: datetime!(2024-03-03 10:00 +8),
            at: NOW,
        }
    }

    fn assigned() -> Event {
        Event::TicketAssigned {
            ticket_id: tid(),
            assignee: sid(5),
            by: sid(1),
            at: NOW,
        }
    }

    fn resolved() -> Event {
        Event::TicketResolved {
            ticket_id: tid(),
            resolution: long("refunded"),
            within_sla: true,
            by: sid(5),
            at: NOW,
        }
    }

    fn closed() -> Event {
        Event::TicketClosed {
            ticket_id: tid(),
            satisfaction: Satisfaction(4),
            at: NOW,
        }
    }

    #[test]
    fn it_opens_a_complaint_with_a_48_hour_sla_at_normal_priority() {
        given::<Ticket>([])
            .when(Command::Open {
                ticket_id: tid(),
                customer_id: Some(CustomerId::from_uuid(Uuid::from_u128(9))),
                branch: None,
                kind: TicketKind::Complaint,
                priority: Priority::Normal,
                channel: Channel::CallCentre,
                subject: text("commission charged twice"),
                description: long(""),
                now: NOW,
            })
            .then([opened()]);
    }

    #[test]
    fn sla_hours_follow_the_documented_table() {
        assert_eq!(sla_hours(TicketKind::Complaint, Priority::Urgent), 4);
        assert_eq!(sla_hours(TicketKind::Inquiry, Priority::High), 8);
        assert_eq!(sla_hours(TicketKind::Request, Priority::Low), 120);
        assert_eq!(sla_hours(TicketKind::Suggestion, Priority::Normal), 168);
    }

    #[test]
    fn it_assigns_an_open_ticket() {
        given::<Ticket>([opened()])
            .when(Command::Assign {
                assignee: sid(5),
                by: sid(1),
                now: NOW,
            })
            .then([assigned()]);
    }

    #[test]
    fn it_escalates_raising_priority_and_pulling_the_deadline_in() {
        let state = given::<Ticket>([opened(), assigned()])
            .when(Command::Escalate {
                to: Some(sid(6)),
                reason: text("customer angry"),
                by: sid(5),
                now: NOW,
            })
            .then([Event::TicketEscalated {
                ticket_id: tid(),
                level: 1,
                priority: Priority::High,
                sla_deadline: datetime!(2024-03-02 10:00 +8),
                to: Some(sid(6)),
                reason: text("customer angry"),
                by: sid(5),
                at: NOW,
            }]);
        assert_eq!(state.assignee, Some(sid(6)));
    }

    #[test]
    fn it_resolves_and_records_whether_the_sla_was_met() {
        given::<Ticket>([opened(), assigned()])
            .when(Command::Resolve {
                resolution: long("refunded"),
                by: sid(5),
                now: NOW,
            })
            .then([resolved()]);
        let late = datetime!(2024-03-04 10:00 +8);
        given::<Ticket>([opened()])
            .when(Command::Resolve {
                resolution: long("late"),
                by: sid(5),
                now: late,
            })
            .then([Event::TicketResolved {
                ticket_id: tid(),
                resolution: long("late"),
                within_sla: false,
                by: sid(5),
                at: late,
            }]);
    }

    #[test]
    fn it_closes_a_resolved_ticket_with_a_satisfaction_score() {
        let state = given::<Ticket>([opened(), resolved()])
            .when(Command::Close {
                satisfaction: Satisfaction(4),
                now: NOW,
            })
            .then([closed()]);
        assert_eq!(state.satisfaction.map(Satisfaction::score), Some(4));
    }

    #[test]
    fn it_rejects_closing_an_unresolved_ticket() {
        given::<Ticket>([opened()])
            .when(Command::Close {
                satisfaction: Satisfaction(5),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "open",
                command: "close",
            });
    }

    #[test]
    fn it_rejects_escalating_a_closed_ticket() {
        given::<Ticket>([opened(), resolved(), closed()])
            .when(Command::Escalate {
                to: None,
                reason: text("x"),
                by: sid(1),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "closed",
                command: "escalate",
            });
    }

    #[test]
    fn it_reopens_a_closed_ticket_with_a_fresh_sla() {
        let later = datetime!(2024-03-10 10:00 +8);
        let state = given::<Ticket>([opened(), assigned(), resolved(), closed()])
            .when(Command::Reopen {
                reason: text("not refunded after all"),
                now: later,
            })
            .then([Event::TicketReopened {
                ticket_id: tid(),
                reason: text("not refunded after all"),
                sla_deadline: datetime!(2024-03-12 10:00 +8),
                at: later,
            }]);
        assert_eq!(state.status, Some(Status::Assigned));
        assert_eq!(state.reopen_count, 1);
    }

    #[test]
    fn it_rejects_reopening_an_open_ticket() {
        given::<Ticket>([opened()])
            .when(Command::Reopen {
                reason: text("x"),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "open",
                command: "reopen",
            });
    }

    #[test]
    fn it_rejects_a_satisfaction_score_outside_one_to_five() {
        assert!(Satisfaction::parse(0).is_err());
        assert!(Satisfaction::parse(6).is_err());
        assert_eq!(Satisfaction::parse(3).map(Satisfaction::score), Ok(3));
    }

    #[test]
    fn it_rejects_commands_for_an_unknown_ticket() {
        given::<Ticket>([])
            .when(Command::Reopen {
                reason: text("x"),
                now: NOW,
            })
            .then_err(DomainError::NotFound { entity: "ticket" });
    }
}
