//! A command id sent again. A command that creates an entity takes the entity's id from its
//! command id ([`new_entity_id`]), so a resend lands on the same stream and is answered with
//! its first result. The same command id sent with a different request is a conflict, never a
//! second answer to the first request, whichever stream the first request went to: the first
//! event a command writes has an id that follows from the command id alone
//! ([`first_event_id`]), so the store holds one per command id and finds it by id.

use crm_domain::AnyEvent;
use crm_domain::{article, campaign, customer, interaction, opportunity, ticket, Aggregate};
use crm_eventstore::{Direction, EventStore, RecordedEvent, StreamName, StreamStart};
use uuid::Uuid;

use crate::app::{stream_of, App};
use crate::command::{AppCommand, CommandEnvelope, CommandOutcome, CommittedEvent};
use crate::error::AppError;
use crate::load::LOAD_PAGE;

/// Which append of a command this is. A command writes one append, except a merge, which
/// writes the merged customer's half ([`Part::First`]) and then the survivor's
/// ([`Part::Further`]) under the same command id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    First,
    Further,
}

/// The id of the first event of a command's first append. It follows from the command id
/// alone, not from the stream, so the store holds at most one such event per command id: the
/// same command id sent for a command on any other stream finds it, and two such commands
/// racing are settled by the store, which refuses an id already stored with other content.
pub fn first_event_id(command_id: Uuid) -> Uuid {
    let mut hasher = blake3::Hasher::new_derive_key("crm-app 2026 first event of a command");
    hasher.update(command_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The id of event `index` of a command's append on `stream`, by [`first_event_id`] for the
/// first event of its first append, by [`event_id`] otherwise.
pub(crate) fn append_event_id(
    command_id: Uuid,
    stream: &StreamName,
    index: u32,
    part: Part,
) -> Uuid {
    match (index, part) {
        (0, Part::First) => first_event_id(command_id),
        _ => event_id(command_id, stream, index),
    }
}

/// Event ids follow from the command id, so a retried command writes the same ids and the
/// store recognises the retry. Every event of a command but its first has this id; logs
/// written before [`first_event_id`] existed have it for the first event too.
pub fn event_id(command_id: Uuid, stream: &StreamName, index: u32) -> Uuid {
    let mut hasher = blake3::Hasher::new();
    hasher.update(command_id.as_bytes());
    hasher.update(stream.as_str().as_bytes());
    hasher.update(&index.to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl App {
    /// The first result of this command on `stream`, if the command id was handled before; a
    /// conflict if it was handled for a different command, on this stream or another.
    pub(crate) fn already_handled(
        &self,
        env: &CommandEnvelope,
        stream: &StreamName,
        part: Part,
    ) -> Result<Option<CommandOutcome>, AppError> {
        let store = self.store();
        let sender = format!("staff-{}", env.actor.staff_id);
        let found = match part {
            Part::First => match store.find_event(first_event_id(env.command_id))? {
                Some(first) if first.stream != stream.as_str() => {
                    // Handled for a command on another stream. Its own sender is told which;
                    // anyone else is told only that the id is taken.
                    let used_on = if first.metadata.actor == sender {
                        first.stream
                    } else {
                        stream.to_string()
                    };
                    return Err(AppError::CommandIdReused {
                        command_id: env.command_id,
                        stream: used_on,
                    });
                }
                Some(first) => Some(first),
                // A log written before first-event ids: the first event's id named the stream.
                None => store.find_event(event_id(env.command_id, stream, 0))?,
            },
            Part::Further => store.find_event(event_id(env.command_id, stream, 0))?,
        };
        let Some(first) = found else {
            return Ok(None);
        };
        // Only the sender of the first command gets its result back: anyone else resending
        // that command id (a guessed or leaked one) is refused before anything is returned.
        // (Authorizing against the state now would refuse a legitimate retry after the state
        // moved on; the first sender was authorized when it was decided.)
        if first.metadata.actor != sender || differs(&env.command, &first)? {
            return Err(AppError::CommandIdReused {
                command_id: env.command_id,
                stream: stream.to_string(),
            });
        }
        let later = store.read_stream(
            stream,
            StreamStart::Revision(first.revision),
            Direction::Forwards,
            LOAD_PAGE,
        )?;
        let events: Vec<CommittedEvent> = later
            .iter()
            .take_while(|e| e.metadata.command_id == Some(env.command_id))
            .map(committed)
            .collect();
        let position = events.last().map_or(first.position.0, |e| e.position);
        Ok(Some(CommandOutcome {
            position,
            events,
            already_handled: true,
        }))
    }
}

pub(crate) fn committed(e: &RecordedEvent) -> CommittedEvent {
    CommittedEvent {
        stream: e.stream.clone(),
        event_type: e.event_type.clone(),
        position: e.position.0,
        revision: e.revision,
    }
}

/// The id of the new entity of `kind` (its stream category, e.g. `"ticket"`, or a part's name,
/// e.g. `"team"`) that the command `command_id` creates. The same command id always gives the
/// same id, so a retried command addresses the entity its first attempt created.
pub fn new_entity_id(command_id: Uuid, kind: &str) -> Uuid {
    let mut hasher = blake3::Hasher::new_derive_key("crm-app 2024 new entity id");
    hasher.update(command_id.as_bytes());
    hasher.update(kind.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The entity kinds a command can create under an id minted from its command id.
const CREATED: [&str; 6] = [
    customer::Customer::CATEGORY,
    ticket::Ticket::CATEGORY,
    interaction::Interaction::CATEGORY,
    opportunity::Opportunity::CATEGORY,
    campaign::Campaign::CATEGORY,
    article::Article::CATEGORY,
];

/// The stream of the entity a command creates, if it creates one.
fn created_stream(command: &AppCommand) -> Result<Option<StreamName>, AppError> {
    use AppCommand as A;
    Ok(Some(match command {
        A::Customer {
            customer,
            command: customer::Command::Register { .. },
        } => stream_of::<customer::Customer>(customer)?,
        A::Ticket {
            ticket,
            command: ticket::Command::Open { .. },
        } => stream_of::<ticket::Ticket>(ticket)?,
        A::Interaction {
            interaction,
            command:
                interaction::Command::RecordContact { .. }
                | interaction::Command::RecordCareContact { .. }
                | interaction::Command::PlanVisit { .. },
        } => stream_of::<interaction::Interaction>(interaction)?,
        A::Opportunity {
            opportunity,
            command: opportunity::Command::CreateLead { .. },
        } => stream_of::<opportunity::Opportunity>(opportunity)?,
        A::Campaign {
            campaign,
            command: campaign::Command::Plan { .. },
        } => stream_of::<campaign::Campaign>(campaign)?,
        A::Article {
            article,
            command: article::Command::Publish { .. },
        } => stream_of::<article::Article>(article)?,
        _ => return Ok(None),
    }))
}

/// The stream of the entity of `kind` that `command_id` would create.
fn minted_stream(command_id: Uuid, kind: &str) -> Result<StreamName, AppError> {
    // Typed ids print as the simple form of their UUID; any of them names the stream alike.
    let id = customer_id_of(new_entity_id(command_id, kind));
    Ok(StreamName::parse(crm_domain::stream_name(kind, &id))?)
}

fn customer_id_of(id: Uuid) -> crm_domain::ids::CustomerId {
    crm_domain::ids::CustomerId::from(id)
}

/// A command that creates an entity under an id minted from its command id, when that command
/// id already created an entity of another kind: the other entity's stream. (A resend of the
/// same kind lands on the same stream and is compared there, by [`differs`].) This finds what
/// logs written before [`first_event_id`] hold; in later ones `App::already_handled` finds the
/// first event by its id, whichever stream it is on.
pub(crate) fn created_elsewhere(
    store: &EventStore,
    command_id: Uuid,
    command: &AppCommand,
) -> Result<Option<StreamName>, AppError> {
    let Some(stream) = created_stream(command)? else {
        return Ok(None);
    };
    let kind = stream.category();
    if stream != minted_stream(command_id, kind)? {
        // The caller chose the id; a resend names it again and is compared on its stream.
        return Ok(None);
    }
    for other in CREATED.iter().filter(|k| **k != kind) {
        let other = minted_stream(command_id, other)?;
        if store.find_event(event_id(command_id, &other, 0))?.is_some() {
            return Ok(Some(other));
        }
    }
    Ok(None)
}

/// Whether `command`, sent under a command id whose first event on this stream is `first`,
/// asks for something other than the command that wrote it. Only entity-creating commands are
/// compared field by field; times are not compared, since a resend is stamped when it is sent.
/// Any other command is taken to differ only if the command id created the entity.
pub(crate) fn differs(command: &AppCommand, first: &RecordedEvent) -> Result<bool, AppError> {
    use AnyEvent as E;
    use AppCommand as A;
    let recorded = crm_codec::decode(first)?;
    Ok(match (command, &recorded) {
        (
            A::Customer {
                customer: target,
                command:
                    customer::Command::Register {
                        customer_id,
                        kind,
                        profile,
                        as_prospect,
                        existing_customer_with_same_document: _,
                        now: _,
                    },
            },
            E::Customer(customer::Event::CustomerRegistered {
                customer_id: c,
                kind: k,
                profile: p,
                lifecycle,
                at: _,
            }),
        ) => {
            let prospect = *lifecycle == customer::Lifecycle::Prospect;
            (target, customer_id, kind, profile, *as_prospect) != (c, c, k, p, prospect)
        }
        (
            A::Ticket {
                ticket: target,
                command:
                    ticket::Command::Open {
                        ticket_id,
                        customer_id,
                        branch,
                        kind,
                        priority,
                        channel,
                        subject,
                        description,
                        now: _,
                    },
            },
            E::Ticket(ticket::Event::TicketOpened {
                ticket_id: t,
                customer_id: c,
                branch: b,
                kind: k,
                priority: p,
                channel: ch,
                subject: s,
                description: d,
                sla_deadline: _,
                at: _,
            }),
        ) => {
            (
                target,
                ticket_id,
                customer_id,
                branch,
                kind,
                priority,
                channel,
                subject,
                description,
            ) != (t, t, c, b, k, p, ch, s, d)
        }
        (
            A::Interaction {
                interaction: target,
                command:
                    interaction::Command::RecordContact {
                        interaction_id,
                        customer_id,
                        staff_id,
                        channel,
                        direction,
                        topic,
                        outcome,
                        notes,
                        follow_up_on,
                        now: _,
                    },
            },
            E::Interaction(interaction::Event::ContactRecorded {
                interaction_id: i,
                customer_id: c,
                staff_id: s,
                channel: ch,
                direction: d,
                topic: t,
                outcome: o,
                notes: n,
                follow_up_on: f,
                at: _,
            }),
        ) => {
            (
                target,
                interaction_id,
                customer_id,
                staff_id,
                channel,
                direction,
                topic,
                outcome,
                notes,
                follow_up_on,
            ) != (i, i, c, s, ch, d, t, o, n, f)
        }
        (
            A::Interaction {
                interaction: target,
                command:
                    interaction::Command::RecordCareContact {
                        interaction_id,
                        customer_id,
                        staff_id,
                        occasion,
                        channel,
                        notes,
                        now: _,
                    },
            },
            E::Interaction(interaction::Event::CareContactRecorded {
                interaction_id: i,
                customer_id: c,
                staff_id: s,
                occasion: o,
                channel: ch,
                notes: n,
                at: _,
            }),
        ) => {
            (
                target,
                interaction_id,
                customer_id,
                staff_id,
                occasion,
                channel,
                notes,
            ) != (i, i, c, s, o, ch, n)
        }
        (
            A::Interaction {
                interaction: target,
                command:
                    interaction::Command::PlanVisit {
                        interaction_id,
                        customer_id,
                        staff_id,
                        planned_for,
                        purpose,
                        now: _,
                    },
            },
            E::Interaction(interaction::Event::VisitPlanned {
                interaction_id: i,
                customer_id: c,
                staff_id: s,
                planned_for: f,
                purpose: p,
                at: _,
            }),
        ) => {
            (
                target,
                interaction_id,
                customer_id,
                staff_id,
                planned_for,
                purpose,
            ) != (i, i, c, s, f, p)
        }
        (
            A::Opportunity {
                opportunity: target,
                command:
                    opportunity::Command::CreateLead {
                        opportunity_id,
                        customer_id,
                        product_id,
                        expected_amount,
                        owner,
                        source,
                        title,
                        now: _,
                    },
            },
            E::Opportunity(opportunity::Event::LeadCreated {
                opportunity_id: o,
                customer_id: c,
                product_id: p,
                expected_amount: a,
                owner: w,
                source: s,
                title: t,
                at: _,
            }),
        ) => {
            (
                target,
                opportunity_id,
                customer_id,
                product_id,
                expected_amount,
                owner,
                source,
                title,
            ) != (o, o, c, p, a, w, s, t)
        }
        (
            A::Campaign {
                campaign: target,
                command:
                    campaign::Command::Plan {
                        campaign_id,
                        name,
                        branch,
                        target_segment,
                        product_id,
                        starts_on,
                        ends_on,
                        budget,
                        now: _,
                    },
            },
            E::Campaign(campaign::Event::CampaignPlanned {
                campaign_id: c,
                name: n,
                branch: b,
                target_segment: t,
                product_id: p,
                starts_on: s,
                ends_on: e,
                budget: m,
                at: _,
            }),
        ) => {
            (
                target,
                campaign_id,
                name,
                branch,
                target_segment,
                product_id,
                starts_on,
                ends_on,
                budget,
            ) != (c, c, n, b, t, p, s, e, m)
        }
        (
            A::Article {
                article: target,
                command:
                    article::Command::Publish {
                        article_id,
                        kind,
                        audience,
                        title,
                        body,
                        by,
                        now: _,
                    },
            },
            E::Article(article::Event::ArticlePublished {
                article_id: a,
                kind: k,
                audience: u,
                title: t,
                body: b,
                by: y,
                at: _,
            }),
        ) => (target, article_id, kind, audience, title, body, by) != (a, a, k, u, t, b, y),
        // A creating command whose command id wrote something else on this stream, or a
        // command id that created this entity sent again as another command.
        (command, recorded) => created_stream(command)?.is_some() || creates(recorded),
    })
}

/// Whether `event` is the first event of an entity created by one of the compared commands.
fn creates(event: &AnyEvent) -> bool {
    use AnyEvent as E;
    matches!(
        event,
        E::Customer(customer::Event::CustomerRegistered { .. })
            | E::Ticket(ticket::Event::TicketOpened { .. })
            | E::Interaction(
                interaction::Event::ContactRecorded { .. }
                    | interaction::Event::CareContactRecorded { .. }
                    | interaction::Event::VisitPlanned { .. }
            )
            | E::Opportunity(opportunity::Event::LeadCreated { .. })
            | E::Campaign(campaign::Event::CampaignPlanned { .. })
            | E::Article(article::Event::ArticlePublished { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entity_id_follows_from_the_command_id_and_the_kind() {
        let c = Uuid::from_u128(1);
        assert_eq!(new_entity_id(c, "ticket"), new_entity_id(c, "ticket"));
        assert_ne!(new_entity_id(c, "ticket"), new_entity_id(c, "article"));
        assert_ne!(
            new_entity_id(c, "ticket"),
            new_entity_id(Uuid::from_u128(2), "ticket")
        );
    }

    #[test]
    fn a_minted_stream_is_named_like_a_typed_ids_stream() {
        let c = Uuid::from_u128(3);
        let ticket = crm_domain::ids::TicketId::from(new_entity_id(c, "ticket"));
        assert_eq!(
            minted_stream(c, "ticket").map(|s| s.to_string()).ok(),
            Some(crm_domain::stream_name("ticket", &ticket))
        );
    }
}
