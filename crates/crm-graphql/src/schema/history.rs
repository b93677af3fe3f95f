//! `customerHistory`: what was known about a customer at any past instant, rebuilt from the log
//! alone — the customer's stream folded up to the events recorded by then — with the event
//! timeline (type, business time, recorded time, actor, correlation) up to that instant.
//!
//! Scoping is checked here, where the data is read: the caller must be allowed to read the
//! customer as assigned now (a customer manager only their own book), or read the log and
//! customer data (headquarters, auditors: `Action::ReadCustomerHistory`). An operator, who
//! reads the log but no customer data, is answered as for an unknown customer. Identity numbers and phone numbers are masked unless the caller's role may
//! see them in full.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use crm_domain::access::{self, PiiField};
use crm_domain::auth::{authorize, Action, Actor, CustomerTarget, OrgTree};
use crm_domain::customer::{self, Lifecycle};
use crm_domain::ids::CustomerId;
use crm_domain::read_policy;
use crm_domain::values::IdDocument;
use crm_domain::AnyEvent;
use crm_eventstore::{Direction, RecordedEvent, StreamName, StreamStart};
use time::OffsetDateTime;

use super::scalars::{global_id, DateTime, Long};
use super::{caller, store};
use crate::error::{gql, ApiError};

/// Events read per page of a customer's stream.
const PAGE: usize = 1000;
/// Timeline entries per page at most.
const TIMELINE_MAX: usize = 500;

/// Keeps the first `head` and last `tail` characters.
pub fn mask(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - head - tail;
    chars[..head]
        .iter()
        .chain(std::iter::repeat_n(&'*', hidden))
        .chain(&chars[chars.len() - tail..])
        .collect()
}

/// An account number as the default view shows it: the last 4 characters kept (at most half
/// of them), the rest starred, like a phone number's middle.
pub fn mask_account(number: &str) -> String {
    let tail = (number.chars().count() / 2).min(4);
    mask(number, 0, tail)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LifecycleStatus {
    Prospect,
    Active,
    Dormant,
    Churned,
    Closed,
    Merged,
}

impl From<Lifecycle> for LifecycleStatus {
    fn from(l: Lifecycle) -> Self {
        match l {
            Lifecycle::Prospect => LifecycleStatus::Prospect,
            Lifecycle::Active => LifecycleStatus::Active,
            Lifecycle::Dormant => LifecycleStatus::Dormant,
            Lifecycle::Churned => LifecycleStatus::Churned,
            Lifecycle::Closed => LifecycleStatus::Closed,
            Lifecycle::Merged => LifecycleStatus::Merged,
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct AssignmentView {
    pub branch_id: ID,
    pub manager_id: Option<ID>,
    pub team_id: Option<ID>,
}

#[derive(SimpleObject, Debug)]
pub struct AssignmentRecordView {
    pub assignment: AssignmentView,
    pub reason: Option<String>,
    pub by: ID,
    pub approved_by: Option<ID>,
    pub at: DateTime,
}

#[derive(SimpleObject, Debug)]
pub struct SuitabilityView {
    /// C1–C5.
    pub level: String,
    pub assessed_on: String,
    pub expires_on: String,
}

#[derive(SimpleObject, Debug)]
pub struct AccountView {
    pub id: ID,
    pub kind: String,
    /// Masked (the last 4 kept). In full through `Customer.sensitive`, which records the view;
    /// `customerHistory` shows it in full where it shows identity numbers in full (and records
    /// that view).
    pub number: String,
    pub opened_at: DateTime,
    pub closed_at: Option<DateTime>,
}

/// A customer's archive as the customer stream knew it.
#[derive(SimpleObject)]
pub struct CustomerSnapshot {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub lifecycle: Option<LifecycleStatus>,
    /// Masked (first 6 and last 4 kept) unless the caller may see it.
    pub id_document: Option<String>,
    pub id_document_type: Option<String>,
    /// Masked (first 3 and last 4 kept) unless the caller may see it.
    pub phone: Option<String>,
    pub key_customer: bool,
    pub group_customer: bool,
    pub registered_at: Option<DateTime>,
    pub assignment: Option<AssignmentView>,
    pub assignment_history: Vec<AssignmentRecordView>,
    pub accounts: Vec<AccountView>,
    pub suitability: Option<SuitabilityView>,
    /// The reason recorded with the customer's churn; null unless they churned.
    pub churn_reason: Option<crate::schema::customers::ChurnReason>,
    /// The customer this one was merged into; null to a caller who may not read that
    /// customer (unless they may read the log, which records the merge anyway).
    pub merged_into: Option<ID>,
}

#[derive(SimpleObject)]
pub struct TimelineEntry {
    pub id: ID,
    pub position: Long,
    pub revision: Long,
    pub event_type: String,
    pub schema_version: i32,
    /// Business time: when it happened.
    pub occurred_at: DateTime,
    /// When the log recorded it.
    pub recorded_at: DateTime,
    pub actor: String,
    pub correlation_id: Option<ID>,
    pub causation_id: Option<ID>,
    pub command_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct CustomerHistory {
    pub id: ID,
    pub customer_id: ID,
    pub as_of: DateTime,
    /// The stream revision the snapshot includes (none before the customer existed).
    pub revision: Option<Long>,
    /// The log position of the last event included.
    pub position: Option<Long>,
    pub snapshot: Option<CustomerSnapshot>,
    /// Events up to `asOf`, oldest first, from `after` (a revision), at most `first`.
    pub timeline: Vec<TimelineEntry>,
    /// Whether more timeline entries follow the returned ones.
    pub timeline_has_more: bool,
}

fn uuid_id(id: impl std::fmt::Display) -> ID {
    ID(id.to_string())
}

fn document(doc: &IdDocument, full: bool) -> (String, String) {
    let (kind, number) = match doc {
        IdDocument::ResidentId { number } => ("RESIDENT_ID", number.as_str().to_string()),
        IdDocument::Passport { number, .. } => ("PASSPORT", number.as_str().to_string()),
        IdDocument::BusinessLicence { code } => ("BUSINESS_LICENCE", code.as_str().to_string()),
    };
    let shown = if full || kind == "BUSINESS_LICENCE" {
        number
    } else {
        mask(&number, 6, 4)
    };
    (kind.to_string(), shown)
}

fn assignment_view(a: &customer::Assignment) -> AssignmentView {
    AssignmentView {
        branch_id: uuid_id(a.branch),
        manager_id: a.manager.map(uuid_id),
        team_id: a.team.map(uuid_id),
    }
}

fn snapshot(s: &customer::State, full_pii: bool) -> CustomerSnapshot {
    let doc = s.profile.as_ref().map(|p| document(&p.document, full_pii));
    CustomerSnapshot {
        name: s.profile.as_ref().map(|p| p.name.as_str().to_string()),
        kind: s.kind.map(|k| format!("{k:?}").to_uppercase()),
        lifecycle: s.lifecycle.map(Into::into),
        id_document_type: doc.as_ref().map(|d| d.0.clone()),
        id_document: doc.map(|d| d.1),
        phone: s.profile.as_ref().and_then(|p| p.phone.as_ref()).map(|p| {
            if full_pii {
                p.as_str().to_string()
            } else {
                mask(p.as_str(), 3, 4)
            }
        }),
        key_customer: s.key_customer,
        group_customer: s.group_customer,
        registered_at: s.registered_at.map(DateTime),
        assignment: s.assignment.as_ref().map(assignment_view),
        assignment_history: s
            .assignment_history
            .iter()
            .map(|r| AssignmentRecordView {
                assignment: assignment_view(&r.assignment),
                reason: r.reason.as_ref().map(|t| t.as_str().to_string()),
                by: uuid_id(r.by),
                approved_by: r.approved_by.map(uuid_id),
                at: DateTime(r.at),
            })
            .collect(),
        accounts: s
            .accounts
            .iter()
            .map(|(id, a)| AccountView {
                id: uuid_id(id),
                kind: format!("{:?}", a.kind),
                number: if full_pii {
                    a.number.as_str().to_string()
                } else {
                    mask_account(a.number.as_str())
                },
                opened_at: DateTime(a.opened_at),
                closed_at: a.closed_at.map(DateTime),
            })
            .collect(),
        suitability: s.suitability.as_ref().map(|a| SuitabilityView {
            level: format!("{:?}", a.level),
            assessed_on: a.assessed_on.to_string(),
            expires_on: a.expires_on.to_string(),
        }),
        churn_reason: s.churn_reason.map(Into::into),
        merged_into: s.merged_into.map(uuid_id),
    }
}

fn entry(e: &RecordedEvent) -> TimelineEntry {
    TimelineEntry {
        id: global_id("Event", e.position.0),
        position: Long(e.position.0),
        revision: Long(e.revision),
        event_type: e.event_type.clone(),
        schema_version: i32::from(e.schema_version),
        occurred_at: DateTime(e.metadata.occurred_at),
        recorded_at: DateTime(e.recorded_at),
        actor: e.metadata.actor.clone(),
        correlation_id: e.metadata.correlation_id.map(uuid_id),
        causation_id: e.metadata.causation_id.map(uuid_id),
        command_id: e.metadata.command_id.map(uuid_id),
    }
}

/// The customer's events recorded by `as_of`, in stream order.
fn events_until(
    ctx: &Context<'_>,
    stream: &StreamName,
    as_of: OffsetDateTime,
) -> Result<Vec<RecordedEvent>, ApiError> {
    let store = store(ctx)?;
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let page = store.read_stream(
            stream,
            StreamStart::Revision(from),
            Direction::Forwards,
            PAGE,
        )?;
        let full = page.len() == PAGE;
        for e in page {
            // Revisions are in recording order, so the first one past `as_of` ends the history.
            if e.recorded_at > as_of {
                return Ok(out);
            }
            from = e.revision + 1;
            out.push(e);
        }
        if !full {
            return Ok(out);
        }
    }
}

#[derive(Default, Debug)]
pub struct HistoryQuery;

#[Object]
impl HistoryQuery {
    /// A customer as known at `asOf` (default: now), rebuilt from the log, with the events up
    /// to then. `after` is a stream revision: the timeline continues after it. A full view
    /// is recorded in the caller's access log, so this query is refused over GET.
    async fn customer_history(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<DateTime>,
        first: Option<i32>,
        after: Option<Long>,
    ) -> async_graphql::Result<CustomerHistory> {
        async {
            let actor = *caller(ctx)?;
            let raw = id.as_str().trim();
            let local = super::parse_global_id(raw)
                .map(|(_, l)| l)
                .unwrap_or_else(|| raw.to_string());
            let customer_id = CustomerId::from(uuid::Uuid::parse_str(&local).map_err(|_| {
                ApiError::validation("id", format!("'{raw}' is not a customer id"))
            })?);
            let first = match first {
                None => 50,
                Some(n) if n >= 0 => (n as usize).min(TIMELINE_MAX),
                Some(_) => return Err(ApiError::validation("first", "must not be negative")),
            };
            let stream = StreamName::parse(crm_domain::stream_name("customer", &customer_id))?;
            let as_of =
                DateTime::checked_opt(as_of, "asOf")?.unwrap_or_else(OffsetDateTime::now_utc);
            // Authorization is against the customer as assigned now, so the whole stream is
            // read once; the history is its prefix recorded by `as_of`.
            let all = events_until(ctx, &stream, OffsetDateTime::now_utc())?;
            let current = fold(&all)?;
            if current.id.is_none() {
                return Err(ApiError::NotFound("customer".into()));
            }
            let events: Vec<RecordedEvent> = all
                .into_iter()
                .take_while(|e| e.recorded_at <= as_of)
                .collect();
            let target = customer_target(&current);
            // Region managers need to know which branches their region holds.
            let org = match ctx.data_opt::<super::ReadModels>() {
                Some(models) => models.read(|m, _| super::readside::org_tree(&actor, m)),
                None => OrgTree::default(),
            };
            // Whoever may read the customer, or the log's readers who read customer data
            // (headquarters, auditors): never an operator (issue #13, item 8).
            if authorize(&actor, &Action::ReadCustomerHistory(target), &org).is_err() {
                // As if there were no such customer: the answer is no oracle of who is one.
                return Err(ApiError::NotFound("customer".into()));
            }
            let may_audit = authorize(&actor, &Action::ReadHistory, &org).is_ok();

            let state = fold(&events)?;
            let full_pii = read_policy::sees_pii_of(&actor, &target, &org);
            if full_pii {
                record_full_view(ctx, &actor, customer_id, &state).await?;
            }
            let start =
                usize::try_from(after.map_or(0, |a| a.0.saturating_add(1))).unwrap_or(usize::MAX);
            let page: Vec<_> = events.iter().skip(start).take(first).map(entry).collect();
            Ok(CustomerHistory {
                id: global_id(
                    "CustomerHistory",
                    format!("{customer_id}@{}", as_of.unix_timestamp_nanos()),
                ),
                customer_id: uuid_id(customer_id),
                as_of: DateTime(as_of),
                revision: events.last().map(|e| Long(e.revision)),
                position: events.last().map(|e| Long(e.position.0)),
                snapshot: match state.id {
                    Some(_) => {
                        let mut shown = snapshot(&state, full_pii);
                        // The survivor of a merge is named only to those who may read it (or
                        // read the log, where the merge is recorded anyway).
                        if let Some(survivor) = state.merged_into {
                            if !may_audit && !may_read_customer(ctx, &actor, &org, survivor)? {
                                shown.merged_into = None;
                            }
                        }
                        Some(shown)
                    }
                    None => None,
                },
                timeline_has_more: start + page.len() < events.len(),
                timeline: page,
            })
        }
        .await
        .map_err(gql)
    }
}

/// The customer as the policy needs them: as assigned in `state`.
fn customer_target(state: &customer::State) -> CustomerTarget {
    state
        .assignment
        .as_ref()
        .map(|a| CustomerTarget {
            branch: Some(a.branch),
            manager: a.manager,
            team: a.team,
        })
        .unwrap_or_default()
}

/// Whether `actor` may read customer `id` as assigned now (read from its stream).
fn may_read_customer(
    ctx: &Context<'_>,
    actor: &Actor,
    org: &OrgTree,
    id: CustomerId,
) -> Result<bool, ApiError> {
    let stream = StreamName::parse(crm_domain::stream_name("customer", &id))?;
    let state = fold(&events_until(ctx, &stream, OffsetDateTime::now_utc())?)?;
    Ok(read_policy::may_read_customer(
        actor,
        &customer_target(&state),
        org,
    ))
}

/// Every full view of identity or phone numbers goes into the viewer's access log before the
/// data is returned; if it cannot be recorded, the data is not shown.
async fn record_full_view(
    ctx: &Context<'_>,
    actor: &Actor,
    customer_id: CustomerId,
    state: &customer::State,
) -> Result<(), ApiError> {
    let Some(profile) = &state.profile else {
        return Ok(());
    };
    let mut fields = vec![PiiField::IdDocument];
    if profile.phone.is_some() {
        fields.push(PiiField::Phone);
    }
    super::readside::record_access(ctx, actor, |now| access::Command::RecordPiiView {
        staff_id: actor.staff_id,
        customer_id,
        fields,
        purpose: "customerHistory".into(),
        now,
    })
    .await?;
    Ok(())
}

fn fold(events: &[RecordedEvent]) -> Result<customer::State, ApiError> {
    let mut state = customer::State::default();
    for recorded in events {
        match crm_codec::decode(recorded) {
            Ok(AnyEvent::Customer(e)) => state = customer::evolve(state, &e),
            Ok(_) => {}
            Err(e) => return Err(ApiError::Internal(e.to_string())),
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask("11010519491231002X", 6, 4), "110105********002X");
        assert_eq!(mask("13812345678", 3, 4), "138****5678");
        assert_eq!(mask("123", 3, 4), "***");
    }

    #[test]
    fn account_numbers_keep_at_most_the_last_four_and_half() {
        use super::mask_account;
        assert_eq!(mask_account("F0012345678"), "*******5678");
        assert_eq!(mask_account("A000000123"), "******0123");
        assert_eq!(mask_account("123456"), "***456");
        assert_eq!(mask_account("1"), "*");
        assert_eq!(mask_account(""), "");
    }
}
