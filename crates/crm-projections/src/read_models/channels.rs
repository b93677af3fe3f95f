//! Contacts and channels (渠道): the interaction fold (timeline entries, follow-ups, visits,
//! channel counters) and channel effectiveness.

use crate::model::{Model, CHANNELS};
use crate::read_models::archive::{FollowUp, PlannedVisit, TimelineEntry};
use crate::read_models::dashboards::CHANNELS_ALL;
use crate::read_models::history::HistoryEntry;
use crate::read_models::performance::bp;
use crm_domain::ids::StaffId;
use crm_domain::interaction::Outcome;
use crm_domain::values::Channel;
use crm_domain::{interaction, Money};
use serde::{Deserialize, Serialize};
use time::Date;

/// Contacts and conversions of one channel (渠道效果).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelStats {
    pub contacts: i64,
    pub reached: i64,
    pub interested: i64,
    pub leads: i64,
    pub won: i64,
    pub won_amount: Money,
    pub tickets: i64,
}

pub(crate) fn apply_interaction(m: &mut Model, p: u64, day: Date, e: &interaction::Event) {
    use interaction::Event as E;
    let cd = m.churned_days;
    match e {
        E::ContactRecorded {
            interaction_id,
            customer_id,
            staff_id,
            channel,
            topic,
            outcome,
            follow_up_on,
            at,
            ..
        } => {
            let assignment = m.customers.get(customer_id).and_then(|c| c.assignment);
            if m.with_customer(*customer_id, p, day, |c| {
                // Dormancy and churn risk count contacts that reached the customer: an
                // unanswered call shows no engagement, whoever logs it.
                if !matches!(outcome, Outcome::NotReached) {
                    c.last_contact = c.last_contact.max(Some(day));
                    c.churn_track.activity(
                        crate::model::business_date(c.registered_at),
                        day,
                        cd,
                        c.assignment,
                    );
                    // 分层服务: a reached contact counts for the plan if its channel does.
                    c.service.record(*channel, day, p);
                }
                // Timeliness: a reaching contact meets the open follow-up; an unanswered one
                // does not put it off.
                c.follow_ups
                    .contact(day, !matches!(outcome, Outcome::NotReached), *follow_up_on);
                // The latest contact settles any earlier follow-up and may set a new one.
                c.follow_up = follow_up_on.map(|due| FollowUp {
                    due,
                    staff: *staff_id,
                    interaction_id: *interaction_id,
                    position: p,
                });
            }) {
                let entry = TimelineEntry {
                    interaction_id: Some(*interaction_id),
                    kind: "contact".into(),
                    channel: *channel,
                    staff: *staff_id,
                    topic: topic.as_str().to_string(),
                    outcome: Some(*outcome),
                    at: *at,
                    position: p,
                };
                m.history
                    .push(*customer_id, p, HistoryEntry::Timeline(entry));
                let ch = &mut m.meta.channels[(*channel as usize).min(CHANNELS - 1)];
                ch.contacts += 1;
                if !matches!(outcome, Outcome::NotReached) {
                    ch.reached += 1;
                }
                if matches!(outcome, Outcome::Interested) {
                    ch.interested += 1;
                }
                m.flow(assignment, day, |f| f.contacts += 1);
            }
        }
        E::CareContactRecorded {
            interaction_id,
            customer_id,
            staff_id,
            occasion,
            channel,
            at,
            ..
        } => {
            // A care greeting (birthday, holiday) goes one way: it is on the timeline and counts
            // for the care standard (`read_models::care`), not as the customer's engagement for
            // dormancy, a service contact or a follow-up.
            if m.with_customer(*customer_id, p, day, |c| c.care.record(*occasion, day)) {
                let entry = TimelineEntry {
                    interaction_id: Some(*interaction_id),
                    kind: "care".into(),
                    channel: *channel,
                    staff: *staff_id,
                    topic: format!("{occasion:?}"),
                    outcome: None,
                    at: *at,
                    position: p,
                };
                m.history
                    .push(*customer_id, p, HistoryEntry::Timeline(entry));
                m.meta.channels[(*channel as usize).min(CHANNELS - 1)].contacts += 1;
            }
        }
        E::VisitPlanned {
            interaction_id,
            customer_id,
            staff_id,
            planned_for,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.planned_visits.push(PlannedVisit {
                    interaction_id: *interaction_id,
                    staff: *staff_id,
                    planned_for: *planned_for,
                    position: p,
                })
            });
        }
        E::VisitCompleted {
            interaction_id,
            customer_id,
            outcome,
            follow_up_on,
            at,
            ..
        } => {
            let mut staff = None;
            let mut entry = None;
            if m.with_customer(*customer_id, p, day, |c| {
                staff = c
                    .planned_visits
                    .iter()
                    .find(|v| v.interaction_id == *interaction_id)
                    .map(|v| v.staff);
                c.planned_visits
                    .retain(|v| v.interaction_id != *interaction_id);
                let by = staff
                    .or(c.manager())
                    .unwrap_or(StaffId::from_uuid(uuid::Uuid::nil()));
                entry = Some(TimelineEntry {
                    interaction_id: Some(*interaction_id),
                    kind: "visit".into(),
                    channel: Channel::Visit,
                    staff: by,
                    topic: String::new(),
                    outcome: Some(*outcome),
                    at: *at,
                    position: p,
                });
                c.last_contact = c.last_contact.max(Some(day));
                c.churn_track.activity(
                    crate::model::business_date(c.registered_at),
                    day,
                    cd,
                    c.assignment,
                );
                if !matches!(outcome, Outcome::NotReached) {
                    c.service.record(Channel::Visit, day, p);
                }
                c.follow_ups
                    .contact(day, !matches!(outcome, Outcome::NotReached), *follow_up_on);
                c.follow_up = follow_up_on.map(|due| FollowUp {
                    due,
                    staff: by,
                    interaction_id: *interaction_id,
                    position: p,
                });
            }) {
                if let Some(e) = entry {
                    m.history.push(*customer_id, p, HistoryEntry::Timeline(e));
                }
                m.meta.channels[Channel::Visit as usize].contacts += 1;
            }
        }
        E::VisitCancelled {
            interaction_id,
            customer_id,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.planned_visits
                    .retain(|v| v.interaction_id != *interaction_id)
            });
        }
    }
}

/// 渠道效果.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelEffect {
    pub channel: Channel,
    pub contacts: i64,
    pub reached: i64,
    pub interested: i64,
    pub leads: i64,
    pub won: i64,
    pub won_amount: Money,
    pub tickets: i64,
    /// Won opportunities per lead from this channel, basis points.
    pub conversion_bp: i64,
}

pub fn channel_effectiveness(m: &Model) -> Vec<ChannelEffect> {
    CHANNELS_ALL
        .iter()
        .map(|ch| {
            let s = m.meta.channels[*ch as usize];
            ChannelEffect {
                channel: *ch,
                contacts: s.contacts,
                reached: s.reached,
                interested: s.interested,
                leads: s.leads,
                won: s.won,
                won_amount: s.won_amount,
                tickets: s.tickets,
                conversion_bp: bp(s.won, s.leads),
            }
        })
        .collect()
}
