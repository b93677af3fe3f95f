//! `accessLog`: the access log of personal data (category `access`, one stream per staff
//! member) for auditors — who was shown whose identity or phone number in full, when, for what
//! purpose, and who was refused a registration because another customer holds the document.
//!
//! Who reads it is decided in `crm-domain` (`Action::ReadAccessLog`): auditors only; a company
//! auditor every entry, a region or branch auditor the entries about customers of their region
//! or branch as assigned now (an unknown or unassigned customer is seen company-wide only).
//! Everyone else is refused with FORBIDDEN before anything is read.
//!
//! An entry names ids, fields and purposes, never the values shown, so reading the log records
//! no view of its own. A page is read from the `access` category's index (or one staff member's
//! stream) forwards from the position cursor, and no request examines more than
//! [`SCAN_MAX`] entries: when the filters leave a page short after that many, it ends there
//! with `hasNextPage` and an `endCursor` to continue from.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use crm_domain::access::{self, PiiField};
use crm_domain::auth::{authorize, Action, Actor, CustomerTarget, OrgTree};
use crm_domain::ids::{CustomerId, StaffId};
use crm_domain::AnyEvent;
use crm_eventstore::{Direction, EventStore, Filter, Position, RecordedEvent, StreamName};
use time::OffsetDateTime;

use super::eventlog::{blocking, PageInfo, Source, PAGE_SIZE_DEFAULT};
use super::readside::{org_tree, parse_uuid, target, uuid_id, ReadModels};
use super::scalars::{DateTime, Long};
use super::{caller, settings, store};
use crate::error::{gql, ApiError, Limit};

/// Entries one request examines at most, whatever its filters.
pub const SCAN_MAX: usize = 5_000;
/// Entries read from the store at once.
const BATCH: usize = 500;

/// What an entry records.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AccessKind {
    /// A full view of identity or phone numbers (`Customer.sensitive`, `customerHistory`).
    PiiViewed,
    /// A command refused because another customer holds the identity document it gave: the
    /// answer tells whether the document is registered.
    DuplicateIdentityAttempted,
    /// A lookup by identity document, phone or account number (`customerLookup`), found or
    /// not.
    CustomerLookedUp,
}

/// What a lookup was by (never the number itself).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::access::LookupKey")]
pub enum LookupKeyView {
    IdDocument,
    Phone,
    AccountNumber,
}

/// Which personal data an entry is about (never its value).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "PiiField")]
pub enum PiiFieldView {
    IdDocument,
    Phone,
}

impl From<PiiField> for PiiFieldView {
    fn from(f: PiiField) -> Self {
        match f {
            PiiField::IdDocument => PiiFieldView::IdDocument,
            PiiField::Phone => PiiFieldView::Phone,
        }
    }
}

/// One entry of the access log: ids, fields and the purpose, not the data shown.
#[derive(SimpleObject, Debug, Clone)]
pub struct AccessLogEntry {
    /// Who was shown the data (or refused).
    pub staff_id: ID,
    /// Whose data: the customer viewed, or the holder of the identity document; null for a
    /// lookup (see `customers`).
    pub customer_id: Option<ID>,
    /// Every customer the entry is about that the caller may see: the one viewed, the holder,
    /// or those a lookup found (empty when it found no one).
    pub customers: Vec<ID>,
    pub kind: AccessKind,
    /// A lookup: what it was by.
    pub lookup_by: Option<LookupKeyView>,
    pub fields: Vec<PiiFieldView>,
    /// The purpose the viewer gave, or the API operation / refused command.
    pub purpose: String,
    pub at: DateTime,
    /// The entry's position in the log (its cursor).
    pub position: Long,
    /// A refused duplicate: the customer the refused command was for; null when that customer
    /// is outside the caller's scope.
    pub attempted_for: Option<ID>,
    /// A refused duplicate: whether the refusal named the holder to the staff member.
    pub holder_disclosed: Option<bool>,
}

#[derive(SimpleObject, Debug)]
pub struct AccessLogEdge {
    /// The entry's log position, as text.
    pub cursor: String,
    pub node: AccessLogEntry,
}

#[derive(SimpleObject, Debug)]
pub struct AccessLogConnection {
    pub edges: Vec<AccessLogEdge>,
    /// `endCursor` continues the scan: after a page cut short by the scan bound it is the last
    /// position examined, not an edge's cursor.
    pub page_info: PageInfo,
    /// All entries matching the filter; given only when cheap (a company auditor asking for one
    /// staff member's entries with no other filter: that stream's length).
    pub total_count: Option<Long>,
}

/// An entry as decoded, before scoping.
struct Decoded {
    position: Position,
    staff: StaffId,
    /// Whom the entry is about (for a lookup, whom it found: possibly no one).
    customers: Vec<CustomerId>,
    lookup_by: Option<access::LookupKey>,
    attempted_for: Option<CustomerId>,
    kind: AccessKind,
    fields: Vec<PiiField>,
    purpose: String,
    at: OffsetDateTime,
    disclosed: Option<bool>,
}

fn decode(e: &RecordedEvent) -> Result<Option<Decoded>, ApiError> {
    let event = match crm_codec::decode(e) {
        Ok(AnyEvent::Access(event)) => event,
        Ok(_) => return Ok(None),
        Err(err) => return Err(ApiError::Internal(err.to_string())),
    };
    Ok(Some(match event {
        access::Event::PiiViewed {
            staff_id,
            customer_id,
            fields,
            purpose,
            at,
        } => Decoded {
            position: e.position,
            staff: staff_id,
            customers: vec![customer_id],
            lookup_by: None,
            attempted_for: None,
            kind: AccessKind::PiiViewed,
            fields,
            purpose,
            at,
            disclosed: None,
        },
        access::Event::DuplicateIdentityAttempted {
            staff_id,
            holder,
            attempted_for,
            disclosed,
            purpose,
            at,
        } => Decoded {
            position: e.position,
            staff: staff_id,
            customers: vec![holder],
            lookup_by: None,
            attempted_for: Some(attempted_for),
            kind: AccessKind::DuplicateIdentityAttempted,
            fields: vec![PiiField::IdDocument],
            purpose,
            at,
            disclosed: Some(disclosed),
        },
        access::Event::CustomerLookedUp {
            staff_id,
            by,
            found,
            purpose,
            at,
        } => Decoded {
            position: e.position,
            staff: staff_id,
            customers: found,
            lookup_by: Some(by),
            attempted_for: None,
            kind: AccessKind::CustomerLookedUp,
            fields: Vec::new(),
            purpose,
            at,
            disclosed: None,
        },
    }))
}

/// What the caller asked for, checked.
struct Query {
    actor: Actor,
    customer: Option<CustomerId>,
    staff: Option<StaffId>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    first: usize,
    after: Option<Position>,
}

impl Query {
    fn matches(&self, d: &Decoded) -> bool {
        self.staff.is_none_or(|s| d.staff == s)
            && self
                .customer
                .is_none_or(|c| d.customers.contains(&c) || d.attempted_for == Some(c))
            && self.from.is_none_or(|f| d.at >= f)
            && self.to.is_none_or(|t| d.at <= t)
    }
}

/// Decides, for a batch of entries, which customers the caller may see entries about: one read
/// of the read models per batch.
struct Scoping {
    company_wide: bool,
    models: Option<ReadModels>,
}

impl Scoping {
    fn may_see(&self, actor: &Actor, customers: &[CustomerId]) -> Vec<bool> {
        if self.company_wide {
            return vec![true; customers.len()];
        }
        let decide = |org: &OrgTree, t: CustomerTarget| {
            authorize(actor, &Action::ReadAccessLog { about: Some(t) }, org).is_ok()
        };
        match &self.models {
            Some(models) => models.read(|m, _| {
                let org = org_tree(actor, m);
                customers
                    .iter()
                    .map(|c| {
                        let t = crm_projections::views::customer(m, *c)
                            .map(target)
                            .unwrap_or_default();
                        decide(&org, t)
                    })
                    .collect()
            }),
            None => customers
                .iter()
                .map(|_| decide(&OrgTree::default(), CustomerTarget::default()))
                .collect(),
        }
    }
}

fn read_page(
    store: &EventStore,
    q: &Query,
    scoping: &Scoping,
) -> Result<AccessLogConnection, ApiError> {
    let source = match q.staff {
        Some(staff) => Source::Stream(StreamName::parse(crm_domain::stream_name(
            "access", &staff,
        ))?),
        None => Source::Log(Filter::Category("access".into())),
    };
    let mut entries: Vec<AccessLogEntry> = Vec::new();
    let mut scanned = 0usize;
    let mut last_scanned: Option<Position> = None;
    let mut from = q.after.map(Position::next);
    // Whether the page ended with more entries known (one past `first`) or possibly ahead.
    let mut more = false;
    'scan: loop {
        let want = BATCH.min(SCAN_MAX - scanned);
        if want == 0 {
            // The bound is reached with the page short: more may follow.
            more = true;
            break;
        }
        let batch = source.read(store, from, Direction::Forwards, want)?;
        let read = batch.len();
        let mut decoded = Vec::with_capacity(read);
        for e in &batch {
            if let Some(d) = decode(e)? {
                decoded.push(d);
            }
        }
        let wanted: Vec<&Decoded> = decoded.iter().filter(|d| q.matches(d)).collect();
        // Per entry: its customers (a lookup that found no one asks for the default target,
        // seen company-wide only: an id no customer has), then whom a refusal was for.
        let nobody = CustomerId::from_uuid(uuid::Uuid::nil());
        let about: Vec<CustomerId> = wanted
            .iter()
            .flat_map(|d| {
                let about: Vec<CustomerId> = if d.customers.is_empty() {
                    vec![nobody]
                } else {
                    d.customers.clone()
                };
                about.into_iter().chain(d.attempted_for)
            })
            .collect();
        let visible = scoping.may_see(&q.actor, &about);
        let mut visible = visible.into_iter();
        let mut wanted = wanted.into_iter().peekable();
        for e in &batch {
            let Some(d) = wanted.next_if(|d| d.position == e.position) else {
                scanned += 1;
                last_scanned = Some(e.position);
                continue;
            };
            let seen: Vec<bool> = (0..d.customers.len().max(1))
                .map(|_| visible.next().unwrap_or(false))
                .collect();
            let shown: Vec<CustomerId> = d
                .customers
                .iter()
                .zip(&seen)
                .filter(|(_, v)| **v)
                .map(|(c, _)| *c)
                .collect();
            let attempted_visible = d.attempted_for.map(|_| visible.next().unwrap_or(false));
            if seen.iter().any(|v| *v) {
                if entries.len() == q.first {
                    more = true;
                    break 'scan;
                }
                entries.push(AccessLogEntry {
                    staff_id: uuid_id(d.staff),
                    customer_id: match d.kind {
                        AccessKind::CustomerLookedUp => None,
                        _ => shown.first().copied().map(uuid_id),
                    },
                    customers: shown.into_iter().map(uuid_id).collect(),
                    kind: d.kind,
                    lookup_by: d.lookup_by.map(Into::into),
                    fields: d.fields.iter().map(|f| (*f).into()).collect(),
                    purpose: d.purpose.clone(),
                    at: DateTime(d.at),
                    position: Long(d.position.0),
                    attempted_for: d
                        .attempted_for
                        .filter(|_| attempted_visible == Some(true))
                        .map(uuid_id),
                    holder_disclosed: d.disclosed,
                });
            }
            scanned += 1;
            last_scanned = Some(e.position);
        }
        if read < want {
            break;
        }
        from = last_scanned.map(Position::next);
    }
    let edges: Vec<AccessLogEdge> = entries
        .into_iter()
        .map(|node| AccessLogEdge {
            cursor: node.position.0.to_string(),
            node,
        })
        .collect();
    // Where the next page starts: after the last edge when the page is full, after the last
    // entry examined when the scan bound cut it short.
    let end_cursor = match (more, edges.len() == q.first) {
        (true, false) => last_scanned.map(|p| p.0.to_string()),
        _ => edges.last().map(|e| e.cursor.clone()),
    };
    let unfiltered = q.customer.is_none() && q.from.is_none() && q.to.is_none();
    let total_count = match &source {
        Source::Stream(stream) if scoping.company_wide && unfiltered => Some(Long(
            store
                .stream_revision(stream)?
                .map_or(0, |r| r.saturating_add(1)),
        )),
        _ => None,
    };
    Ok(AccessLogConnection {
        page_info: PageInfo {
            has_next_page: more,
            has_previous_page: q.after.is_some_and(|a| a.0 > 0),
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor,
        },
        edges,
        total_count,
    })
}

#[derive(Default, Debug)]
pub struct AccessLogQuery;

#[Object]
impl AccessLogQuery {
    /// The access log of personal data, oldest first: who was shown whose identity or phone
    /// number in full (or was refused a duplicate identity document), when, and for what
    /// purpose — ids, fields and purposes, never the values. Auditors only (FORBIDDEN for
    /// everyone else); a region or branch auditor sees the entries about customers of their
    /// region or branch. Filters: one `customerId` (the customer viewed, the document's holder,
    /// or the customer a refused command was for), one `staffId`, `from`/`to` on the entry's
    /// time. `after` is a cursor (a log position). At most `first` entries, and at most 5,000
    /// entries examined per request: a page cut short by that bound says `hasNextPage` and
    /// its `endCursor` continues the scan.
    #[allow(clippy::too_many_arguments)]
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<ID>,
        staff_id: Option<ID>,
        from: Option<DateTime>,
        to: Option<DateTime>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AccessLogConnection> {
        async {
            let actor = *caller(ctx)?;
            authorize(
                &actor,
                &Action::ReadAccessLog { about: None },
                &OrgTree::default(),
            )?;
            let page_size_max = settings(ctx)?.page_size_max;
            let first = match first {
                None => PAGE_SIZE_DEFAULT.min(page_size_max) as usize,
                Some(n) if n < 0 => {
                    return Err(ApiError::validation("first", "must not be negative"))
                }
                Some(n) if n.unsigned_abs() > page_size_max => {
                    return Err(ApiError::limit(
                        Limit::PageSize,
                        format!("a page holds at most {page_size_max} edges; asked for {n}"),
                    ))
                }
                Some(n) => n.unsigned_abs() as usize,
            };
            let after = after
                .map(|a| {
                    a.trim().parse::<u64>().map(Position).map_err(|_| {
                        ApiError::validation("after", "not a cursor of this connection")
                    })
                })
                .transpose()?;
            let q = Query {
                actor,
                customer: customer_id
                    .map(|c| parse_uuid("customerId", &c).map(CustomerId::from_uuid))
                    .transpose()?,
                staff: staff_id
                    .map(|s| parse_uuid("staffId", &s).map(StaffId::from_uuid))
                    .transpose()?,
                from: DateTime::checked_opt(from, "from")?,
                to: DateTime::checked_opt(to, "to")?,
                first,
                after,
            };
            let scoping = Scoping {
                company_wide: crm_domain::read_policy::access_log_sees_all(&actor),
                models: ctx.data_opt::<ReadModels>().cloned(),
            };
            let store = store(ctx)?.clone();
            blocking(move || read_page(&store, &q, &scoping)).await
        }
        .await
        .map_err(gql)
    }
}

#[cfg(test)]
mod tests {
    use crm_domain::auth::{Role, Scope};
    use crm_eventstore::{EventMetadata, ExpectedRevision, StoreConfig};
    use uuid::Uuid;

    use super::*;

    fn viewed(staff: StaffId, customer: CustomerId) -> access::Event {
        access::Event::PiiViewed {
            staff_id: staff,
            customer_id: customer,
            fields: vec![PiiField::IdDocument],
            purpose: "test".into(),
            at: OffsetDateTime::now_utc(),
        }
    }

    async fn append(store: &EventStore, staff: StaffId, events: Vec<access::Event>) {
        let stream = StreamName::parse(crm_domain::stream_name("access", &staff)).unwrap();
        let encoded = events
            .iter()
            .map(|e| {
                let metadata = EventMetadata {
                    actor: staff.to_string(),
                    occurred_at: OffsetDateTime::now_utc(),
                    correlation_id: None,
                    causation_id: None,
                    command_id: None,
                };
                crm_codec::encode(e, Uuid::now_v7(), metadata).unwrap()
            })
            .collect();
        store
            .append(&stream, ExpectedRevision::Any, encoded)
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_examines_at_most_the_scan_bound_and_its_cursor_continues() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let staff = StaffId::from_uuid(Uuid::now_v7());
        let (often, once) = (
            CustomerId::from_uuid(Uuid::now_v7()),
            CustomerId::from_uuid(Uuid::now_v7()),
        );
        // Given more views of one customer than a request examines, then one of another.
        append(&store, staff, vec![viewed(staff, often); SCAN_MAX + 10]).await;
        append(&store, staff, vec![viewed(staff, once)]).await;
        let auditor = Actor {
            staff_id: StaffId::from_uuid(Uuid::now_v7()),
            role: Role::Auditor,
            scope: Scope::Company,
        };
        let scoping = Scoping {
            company_wide: true,
            models: None,
        };
        let query = |customer: Option<CustomerId>, first: usize, after: Option<Position>| Query {
            actor: auditor,
            customer,
            staff: None,
            from: None,
            to: None,
            first,
            after,
        };
        // When the rare customer's entries are asked for: the first page stops at the bound,
        // empty, saying more may follow, its end cursor the last entry examined.
        let page = read_page(&store, &query(Some(once), 10, None), &scoping).unwrap();
        assert!(page.edges.is_empty());
        assert!(page.page_info.has_next_page);
        let end = page.page_info.end_cursor.clone().unwrap();
        assert_eq!(end, SCAN_MAX.to_string());
        // Then the cursor continues the scan to the entry, and the log ends there.
        let after = Some(Position(end.parse().unwrap()));
        let page = read_page(&store, &query(Some(once), 10, after), &scoping).unwrap();
        assert_eq!(page.edges.len(), 1);
        assert_eq!(page.edges[0].node.customer_id, Some(uuid_id(once)));
        assert!(!page.page_info.has_next_page);
        // Unfiltered pages hold `first` entries and say more follow.
        let page = read_page(&store, &query(None, 3, None), &scoping).unwrap();
        assert_eq!(page.edges.len(), 3);
        assert!(page.page_info.has_next_page);
        assert_eq!(page.page_info.end_cursor.as_deref(), Some("3"));
        // A scoped auditor without read models sees no entry about any customer.
        let branch_auditor = Actor {
            scope: Scope::Branch {
                branch: crm_domain::ids::BranchId::from_uuid(Uuid::now_v7()),
            },
            ..auditor
        };
        let scoped = Scoping {
            company_wide: false,
            models: None,
        };
        let q = Query {
            actor: branch_auditor,
            ..query(None, 3, None)
        };
        let page = read_page(&store, &q, &scoped).unwrap();
        assert!(page.edges.is_empty());
    }
}
