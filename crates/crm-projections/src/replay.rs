//! Replay for auditors (回放): the read models as of a past instant, folded from the log alone
//! — every event recorded at or before the instant, under the rules that were in force then
//! (the version activated last before the instant, its content taken from its proposal in
//! the log; the configured rules if none had been activated yet).

use crm_domain::ids::CustomerId;
use crm_domain::{account, campaign, customer, interaction, opportunity, ticket, AnyEvent};
use crm_eventstore::{AllStart, Direction, EventStore, Filter, Position, RecordedEvent};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::checkpoints;
use crate::error::ProjectionError;
use crate::model::{self, Model};
use crate::read_models::history::{History, Keep};
use crate::read_models::rule_versions::{owns_version, version_of};
use crate::rules::{content_hash, RuleBook};
use crm_codec::decode;

/// One event of a timeline, as an auditor reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub position: u64,
    pub stream: String,
    pub event_type: String,
    /// Business time.
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
    pub actor: String,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
}

impl TimelineEvent {
    fn of(r: &RecordedEvent) -> TimelineEvent {
        TimelineEvent {
            position: r.position.0,
            stream: r.stream.clone(),
            event_type: r.event_type.clone(),
            occurred_at: r.metadata.occurred_at,
            recorded_at: r.recorded_at,
            actor: r.metadata.actor.clone(),
            correlation_id: r.metadata.correlation_id,
            causation_id: r.metadata.causation_id,
        }
    }
}

/// The read models as the log knew them at `position`.
#[derive(Debug, Clone)]
pub struct ModelAsOf {
    pub position: u64,
    pub rules: RuleBook,
    pub model: Model,
    /// Events concerning the customer asked about, if any.
    pub timeline: Vec<TimelineEvent>,
}

/// Whether an event concerns a customer (their stream, their accounts' summaries, contacts,
/// tickets, opportunities, campaign responses).
pub fn concerns(event: &AnyEvent, id: CustomerId) -> bool {
    match event {
        AnyEvent::Customer(e) => match e {
            customer::Event::CustomerMergeAbsorbed {
                customer_id,
                merged,
                ..
            } => *customer_id == id || *merged == id,
            customer::Event::CustomerMergedInto {
                customer_id,
                survivor,
                ..
            } => *customer_id == id || *survivor == id,
            other => crm_domain::DomainEvent::stream_id(other) == id.to_string(),
        },
        AnyEvent::Account(
            account::Event::DailyTradeSummaryRecorded { summary, .. }
            | account::Event::DailyTradeSummaryCorrected { summary, .. },
        ) => summary.customer_id == id,
        AnyEvent::Interaction(e) => match e {
            interaction::Event::ContactRecorded { customer_id, .. }
            | interaction::Event::CareContactRecorded { customer_id, .. }
            | interaction::Event::VisitPlanned { customer_id, .. }
            | interaction::Event::VisitCompleted { customer_id, .. }
            | interaction::Event::VisitCancelled { customer_id, .. } => *customer_id == id,
        },
        AnyEvent::Ticket(ticket::Event::TicketOpened { customer_id, .. }) => {
            *customer_id == Some(id)
        }
        AnyEvent::Opportunity(
            opportunity::Event::LeadCreated { customer_id, .. }
            | opportunity::Event::OpportunityWon { customer_id, .. },
        ) => *customer_id == id,
        AnyEvent::Campaign(
            campaign::Event::CampaignResponseRecorded { customer_id, .. }
            | campaign::Event::CampaignResponseRecordedVia { customer_id, .. },
        ) => *customer_id == id,
        _ => false,
    }
}

/// The last position recorded at or before `instant` (0 if none).
pub fn position_at(store: &EventStore, instant: OffsetDateTime) -> Result<u64, ProjectionError> {
    // Positions are assigned in commit order and recorded-at is taken at commit, so the
    // recorded times are ordered: binary search over positions.
    let (mut lo, mut hi) = (0u64, store.head().0);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let e = store.read_position(Position(mid))?;
        if e.recorded_at <= instant {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// The rules in force at `position`: the last activation at or before it, with the content
/// of that version's proposal; `fallback` if nothing was activated yet.
pub fn rules_at(
    store: &EventStore,
    position: u64,
    fallback: &RuleBook,
) -> Result<RuleBook, ProjectionError> {
    let mut proposals = std::collections::BTreeMap::new();
    let mut active = None;
    let mut from = AllStart::Start;
    'read: loop {
        let page = store.read_filtered(
            &Filter::Category("rules".into()),
            from,
            Direction::Forwards,
            1000,
        )?;
        let Some(last) = page.last().map(|e| e.position) else {
            break;
        };
        for r in &page {
            if r.position.0 > position {
                break 'read;
            }
            let AnyEvent::Rules(e) = decode(r)? else {
                continue;
            };
            let version = version_of(&e);
            let first = proposals.get(&version).map(|(set, _, _)| *set);
            // The same rule as the read model's: a number belongs to its first proposer.
            if !owns_version(first, &e) {
                continue;
            }
            match e {
                crm_domain::rules::Event::RuleSetProposed {
                    rule_set_id,
                    content,
                    content_hash: hash,
                    ..
                } => {
                    proposals.insert(version, (rule_set_id, content, hash));
                }
                crm_domain::rules::Event::RuleSetActivated { .. } => active = Some(version),
                _ => {}
            }
        }
        if page.len() < 1000 {
            break;
        }
        from = AllStart::Position(last.next());
    }
    let Some(version) = active else {
        return Ok(fallback.clone());
    };
    let (_, content, hash) = proposals.get(&version).ok_or_else(|| {
        ProjectionError::Rules(format!(
            "rules version {version} was activated but never proposed"
        ))
    })?;
    if content_hash(content) != *hash {
        return Err(ProjectionError::Rules(format!(
            "rules version {version}: the proposal's content does not match its hash"
        )));
    }
    let book = RuleBook::parse(content)?;
    if book.version != version {
        return Err(ProjectionError::Rules(format!(
            "rules proposed as version {version} declare version {}",
            book.version
        )));
    }
    Ok(book)
}

/// Folds the log up to `position` into a fresh model under the rules in force then;
/// collects the timeline of `customer` on the way.
pub fn model_at(
    store: &EventStore,
    position: u64,
    fallback: &RuleBook,
    customer: Option<CustomerId>,
) -> Result<ModelAsOf, ProjectionError> {
    let never = std::sync::atomic::AtomicBool::new(false);
    model_at_leaving(
        store,
        position,
        fallback,
        customer,
        checkpoints::GAP,
        &never,
    )
}

/// [`model_at`], leaving an as-of checkpoint at `position` when a dashboard's replay folded
/// at least `gap` events (tests use a small one), and stopping with
/// [`ProjectionError::Cancelled`] between two batches once `cancel` is set (the request that
/// asked for it timed out or went away: its work stops with it).
pub fn model_at_leaving(
    store: &EventStore,
    position: u64,
    fallback: &RuleBook,
    customer: Option<CustomerId>,
    gap: u64,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<ModelAsOf, ProjectionError> {
    let rules = rules_at(store, position, fallback)?;
    model_under(store, position, rules, customer, gap, cancel)
}

/// [`model_at_leaving`] under `rules`, whichever were in force at `position`: what an
/// appraisal adjustment derives an earlier period under (the rules it was sealed with).
pub fn model_under(
    store: &EventStore,
    position: u64,
    rules: RuleBook,
    customer: Option<CustomerId>,
    gap: u64,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<ModelAsOf, ProjectionError> {
    // A dashboard's replay starts from the nearest as-of checkpoint under the same rules; one
    // customer's archive keeps their history, which checkpoints do not hold, so it folds from
    // the start.
    let (start, mut model) = match customer {
        None => checkpoints::nearest(store, &rules.hash, position)?.unwrap_or_default(),
        Some(_) => (0, Model::default()),
    };
    // Only the archive of `customer` shows history; a dashboard's replay keeps none.
    model.history = History::keeping(customer.map_or(Keep::Nothing, Keep::Only));
    // The rules folded under, so `settle` keeps the churn figures for them even when the
    // checkpoint is the position asked for and nothing is applied.
    model.churned_days = rules.churn.churned_days;
    let mut timeline = Vec::new();
    let mut sub = store.subscribe(Position(start), Filter::All);
    let mut done = start;
    while done < position {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ProjectionError::Cancelled);
        }
        let want = usize::try_from(position - done)
            .unwrap_or(usize::MAX)
            .min(4096);
        let batch = sub.try_next_batch(want)?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            let event = decode(r)?;
            model::apply(&mut model, r, &event, &rules);
            if customer.is_some_and(|c| concerns(&event, c)) {
                timeline.push(TimelineEvent::of(r));
            }
            done = r.position.0;
        }
    }
    model.settle();
    // A store opened read-only (`crm status`, `verify`, `export`) is left as it is.
    let writable = !store.recovery_report().read_only;
    if writable && customer.is_none() && done >= start.saturating_add(gap) {
        // Worth keeping for the next replay; failing to keep it costs only time.
        if let Err(e) = checkpoints::save(store, &rules.hash, done, &mut model) {
            tracing::warn!(position = done, error = %e, "as-of checkpoint not stored");
        }
    }
    Ok(ModelAsOf {
        position: done,
        rules,
        model,
        timeline,
    })
}
