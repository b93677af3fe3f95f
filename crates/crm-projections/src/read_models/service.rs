//! Tickets and service quality (服务质量): the ticket fold and service-level figures.

use crate::model::{Model, CHANNELS};
use crate::read_models::history::HistoryEntry;
use crate::read_models::ticket_figures::Contribution;
use crm_domain::ids::{BranchId, CustomerId, StaffId, TicketId};
use crm_domain::ticket;
use crm_domain::ticket::{Priority, TicketKind};
use crm_domain::values::Channel;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    Open,
    Assigned,
    Resolved,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub id: TicketId,
    pub customer: Option<CustomerId>,
    pub branch: Option<BranchId>,
    pub kind: TicketKind,
    pub priority: Priority,
    pub channel: Channel,
    pub subject: String,
    pub opened_at: OffsetDateTime,
    pub sla_deadline: OffsetDateTime,
    pub assignee: Option<StaffId>,
    pub status: TicketStatus,
    pub escalation_level: u8,
    pub resolved_at: Option<OffsetDateTime>,
    pub within_sla: Option<bool>,
    pub satisfaction: Option<u8>,
    pub position: u64,
}

/// Folds a ticket event; the ticket figures (`read_models::ticket_figures`) take the
/// ticket's contribution out before the change and put the new one in after.
pub(crate) fn apply_ticket(m: &mut Model, p: u64, e: &ticket::Event) {
    let id = ticket_of(e);
    if let Some(before) = m.tickets.get(&id).map(Contribution::of) {
        m.ticket_figures.file(&before, -1);
    }
    change_ticket(m, p, e);
    if let Some(after) = m.tickets.get(&id).map(Contribution::of) {
        m.ticket_figures.file(&after, 1);
    }
}

fn ticket_of(e: &ticket::Event) -> TicketId {
    use ticket::Event as E;
    match e {
        E::TicketOpened { ticket_id, .. }
        | E::TicketAssigned { ticket_id, .. }
        | E::TicketEscalated { ticket_id, .. }
        | E::TicketResolved { ticket_id, .. }
        | E::TicketClosed { ticket_id, .. }
        | E::TicketReopened { ticket_id, .. } => *ticket_id,
    }
}

fn change_ticket(m: &mut Model, p: u64, e: &ticket::Event) {
    use ticket::Event as E;
    match e {
        E::TicketOpened {
            ticket_id,
            customer_id,
            branch,
            kind,
            priority,
            channel,
            subject,
            sla_deadline,
            at,
            ..
        } => {
            let branch = branch.or_else(|| {
                customer_id
                    .and_then(|c| m.customers.get(&c))
                    .and_then(|c| c.branch())
            });
            m.tickets.insert(
                *ticket_id,
                TicketRecord {
                    id: *ticket_id,
                    customer: *customer_id,
                    branch,
                    kind: *kind,
                    priority: *priority,
                    channel: *channel,
                    subject: subject.as_str().to_string(),
                    opened_at: *at,
                    sla_deadline: *sla_deadline,
                    assignee: None,
                    status: TicketStatus::Open,
                    escalation_level: 0,
                    resolved_at: None,
                    within_sla: None,
                    satisfaction: None,
                    position: p,
                },
            );
            m.meta.channels[(*channel as usize).min(CHANNELS - 1)].tickets += 1;
            if let Some(c) = customer_id.filter(|c| m.customers.contains(c)) {
                m.history.push(c, p, HistoryEntry::Ticket(*ticket_id));
            }
        }
        E::TicketAssigned {
            ticket_id,
            assignee,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.assignee = Some(*assignee);
                if t.status == TicketStatus::Open {
                    t.status = TicketStatus::Assigned;
                }
                t.position = p;
            }
        }
        E::TicketEscalated {
            ticket_id,
            level,
            priority,
            sla_deadline,
            to,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.escalation_level = *level;
                t.priority = *priority;
                t.sla_deadline = *sla_deadline;
                if let Some(s) = to {
                    t.assignee = Some(*s);
                    t.status = TicketStatus::Assigned;
                }
                t.position = p;
            }
        }
        E::TicketResolved {
            ticket_id,
            within_sla,
            at,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.status = TicketStatus::Resolved;
                t.resolved_at = Some(*at);
                t.within_sla = Some(*within_sla);
                t.position = p;
            }
        }
        E::TicketClosed {
            ticket_id,
            satisfaction,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.status = TicketStatus::Closed;
                t.satisfaction = Some(satisfaction.score());
                t.position = p;
            }
        }
        E::TicketReopened {
            ticket_id,
            sla_deadline,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.status = if t.assignee.is_some() {
                    TicketStatus::Assigned
                } else {
                    TicketStatus::Open
                };
                t.sla_deadline = *sla_deadline;
                t.resolved_at = None;
                t.within_sla = None;
                t.position = p;
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketKindStats {
    pub kind: TicketKind,
    pub opened: i64,
    pub open_now: i64,
    pub resolved: i64,
    /// Resolved late, or still open past the deadline at the evaluation instant.
    pub sla_breaches: i64,
    pub mean_resolution_minutes: Option<i64>,
    /// Mean satisfaction × 100 (1.00–5.00).
    pub satisfaction_centi: Option<i64>,
    pub satisfaction_responses: i64,
}

/// 服务质量.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceQuality {
    pub branch: Option<BranchId>,
    pub at: OffsetDateTime,
    pub by_kind: Vec<TicketKindStats>,
    pub sla_breaches: i64,
    pub open_now: i64,
}

/// 服务质量 of `branch` (every branch with `None`), all time, at `at`: read from the ticket
/// figures the fold keeps, so its cost is that of the organisation and the open tickets, not
/// of every ticket ever opened.
pub fn service_quality(m: &Model, branch: Option<BranchId>, at: OffsetDateTime) -> ServiceQuality {
    let kinds = [
        TicketKind::Complaint,
        TicketKind::Suggestion,
        TicketKind::Inquiry,
        TicketKind::Request,
    ];
    let mut by_kind = Vec::new();
    let (mut breaches, mut open) = (0, 0);
    for kind in kinds {
        let (sums, open_late) = m.ticket_figures.kind(branch, kind, at);
        let s = TicketKindStats {
            kind,
            opened: sums.opened,
            open_now: sums.opened - sums.resolved,
            resolved: sums.resolved,
            sla_breaches: sums.resolved_late + open_late,
            mean_resolution_minutes: (sums.resolved > 0)
                .then(|| sums.resolution_minutes / sums.resolved),
            satisfaction_centi: (sums.satisfaction_responses > 0)
                .then(|| sums.satisfaction_sum * 100 / sums.satisfaction_responses),
            satisfaction_responses: sums.satisfaction_responses,
        };
        breaches += s.sla_breaches;
        open += s.open_now;
        by_kind.push(s);
    }
    ServiceQuality {
        branch,
        at,
        by_kind,
        sla_breaches: breaches,
        open_now: open,
    }
}

/// Every ticket, in no particular order.
pub fn tickets(m: &Model) -> impl Iterator<Item = &TicketRecord> {
    m.tickets.values()
}
