//! `crm replay`: a customer as the log knew it at an instant, and the events up to then, from
//! the log alone (no read model involved), for auditors.

use anyhow::{bail, Context};
use crm_domain::customer;
use crm_domain::ids::CustomerId;
use crm_domain::AnyEvent;
use crm_eventstore::{Direction, EventStore, RecordedEvent, StreamName, StreamStart};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const PAGE: usize = 1000;

pub fn replay(
    store: &EventStore,
    customer: &str,
    as_of: Option<&str>,
    as_json: bool,
) -> anyhow::Result<()> {
    let id = uuid::Uuid::parse_str(customer.trim())
        .with_context(|| format!("'{customer}' is not a customer id"))?;
    let customer_id = CustomerId::from(id);
    let as_of = match as_of {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).with_context(|| {
            format!("--as-of '{t}' is not an RFC 3339 time such as 2024-03-01T10:00:00+08:00")
        })?,
        None => OffsetDateTime::now_utc(),
    };
    let stream = StreamName::parse(crm_domain::stream_name("customer", &customer_id))?;
    let mut events: Vec<RecordedEvent> = Vec::new();
    let mut from = 0;
    'read: loop {
        let page = store.read_stream(
            &stream,
            StreamStart::Revision(from),
            Direction::Forwards,
            PAGE,
        )?;
        let full = page.len() == PAGE;
        for e in page {
            if e.recorded_at > as_of {
                break 'read;
            }
            from = e.revision + 1;
            events.push(e);
        }
        if !full {
            break;
        }
    }
    let mut state = customer::State::default();
    for recorded in &events {
        match crm_projections::codec::decode(recorded)? {
            AnyEvent::Customer(e) => state = customer::evolve(state, &e),
            other => bail!(
                "position {} on a customer stream holds {}",
                recorded.position,
                crm_domain::DomainEvent::event_type(&other)
            ),
        }
    }
    if state.id.is_none() {
        bail!(
            "no customer {customer_id} was recorded by {}",
            as_of.format(&Rfc3339)?
        );
    }
    let timeline: Vec<_> = events
        .iter()
        .map(|e| {
            Ok(json!({
                "position": e.position.0,
                "revision": e.revision,
                "eventType": e.event_type,
                "occurredAt": e.metadata.occurred_at.format(&Rfc3339)?,
                "recordedAt": e.recorded_at.format(&Rfc3339)?,
                "actor": e.metadata.actor,
                "correlationId": e.metadata.correlation_id,
                "commandId": e.metadata.command_id,
            }))
        })
        .collect::<anyhow::Result<_>>()?;
    if as_json {
        let out = json!({ "customerId": customer_id.to_string(), "asOf": as_of.format(&Rfc3339)?, "state": state, "timeline": timeline });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("customer {customer_id} as of {}", as_of.format(&Rfc3339)?);
    if let Some(p) = &state.profile {
        println!("  name:       {}", p.name.as_str());
    }
    println!(
        "  lifecycle:  {}",
        state.lifecycle.map_or("-", |l| l.name())
    );
    if let Some(a) = &state.assignment {
        println!(
            "  assigned:   branch {} manager {:?} team {:?}",
            a.branch,
            a.manager.map(|m| m.to_string()),
            a.team.map(|t| t.to_string())
        );
    }
    if let Some(s) = &state.suitability {
        println!("  suitability: {:?} until {}", s.level, s.expires_on);
    }
    println!("  accounts:   {}", state.accounts.len());
    println!("timeline ({} events):", events.len());
    for e in &events {
        println!(
            "  #{:<8} {}  {:<28} by {}",
            e.position,
            e.recorded_at.format(&Rfc3339)?,
            e.event_type,
            e.metadata.actor
        );
    }
    Ok(())
}
