//! Queries served from the event log alone: the events of `$all` as a Relay connection, the
//! log's head, hash-chain verification, and a live subscription to appended events.
//!
//! All of it is the whole firm's history, unfiltered by branch or book, so each resolver checks
//! `ReadHistory` (HQ, auditors, operators) before it reads anything.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription, ID};
use crm_eventstore::{
    AllStart, Direction, EventStore, Filter, Finding, FindingKind, Position, RecordedEvent,
    StreamName, StreamStart, VerifyReport, EVENT_TYPE_LEN_MAX, STREAM_NAME_LEN_MAX,
};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::scalars::{global_id, hex, DateTime, Long};
use super::{caller, require_history, settings, store};
use crate::error::{gql, ApiError, Limit};

/// Page size when neither `first` nor `last` is given. The complexity estimate uses it too.
pub const PAGE_SIZE_DEFAULT: u32 = 50;

/// Cost of one `verifyLog`: it reads the whole log, so it should crowd out other work in a query.
const VERIFY_COMPLEXITY: usize = 500;

/// One committed event with its envelope. The payload is not decoded here (that needs the domain
/// codec of `crm-projections`); its size and the record's hash are.
#[derive(Debug, Clone)]
pub struct EventNode(pub RecordedEvent);

#[Object(name = "Event")]
impl EventNode {
    pub async fn id(&self) -> ID {
        global_id("Event", self.0.position)
    }

    /// Place in `$all`, gap-free from 1.
    async fn position(&self) -> Long {
        Long(self.0.position.0)
    }

    async fn stream(&self) -> &str {
        &self.0.stream
    }

    /// Place in its stream, from 0.
    async fn revision(&self) -> Long {
        Long(self.0.revision)
    }

    async fn event_id(&self) -> Uuid {
        self.0.event_id
    }

    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    async fn schema_version(&self) -> i32 {
        i32::from(self.0.schema_version)
    }

    /// Who caused it (`staff-…`, `system:import`, …).
    async fn actor(&self) -> &str {
        &self.0.metadata.actor
    }

    /// Business time: when the fact happened.
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.0.metadata.occurred_at)
    }

    /// When the store committed it.
    async fn recorded_at(&self) -> DateTime {
        DateTime(self.0.recorded_at)
    }

    async fn correlation_id(&self) -> Option<Uuid> {
        self.0.metadata.correlation_id
    }

    async fn causation_id(&self) -> Option<Uuid> {
        self.0.metadata.causation_id
    }

    async fn command_id(&self) -> Option<Uuid> {
        self.0.metadata.command_id
    }

    /// Size of the encoded payload, in bytes (at most 4 MiB).
    async fn payload_size(&self) -> i32 {
        i32::try_from(self.0.payload.len()).unwrap_or(i32::MAX)
    }

    /// The record's link in the hash chain: blake3 over the previous hash and this record, hex.
    async fn hash(&self) -> String {
        hex(&self.0.hash)
    }
}

#[derive(SimpleObject, Debug)]
#[graphql(name = "EventEdge")]
pub struct EventEdge {
    /// The event's position, as text.
    cursor: String,
    node: EventNode,
}

#[derive(SimpleObject, Debug, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject, Debug)]
pub struct EventConnection {
    edges: Vec<EventEdge>,
    page_info: PageInfo,
    /// All events matching the filter; given only when cheap (no filter: the head position).
    total_count: Option<Long>,
}

/// Which events to list. At most one field may be set.
#[derive(InputObject, Debug, Default, Clone)]
pub struct EventFilter {
    /// Streams of this category (the part of the stream name before the first `-`).
    category: Option<String>,
    event_type: Option<String>,
    /// Exactly this stream (`customer-…`).
    stream: Option<String>,
}

/// What a page is read from (also the access log's: its category, or one staff member's stream).
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Log(Filter),
    Stream(StreamName),
}

impl Source {
    fn parse(filter: Option<EventFilter>) -> Result<Source, ApiError> {
        let f = filter.unwrap_or_default();
        let set = [&f.category, &f.event_type, &f.stream]
            .iter()
            .filter(|x| x.is_some())
            .count();
        if set > 1 {
            return Err(ApiError::validation(
                "filter",
                "give at most one of category, eventType and stream",
            ));
        }
        if let Some(category) = f.category {
            if category.is_empty() || category.len() > STREAM_NAME_LEN_MAX || category.contains('-')
            {
                return Err(ApiError::validation(
                    "filter.category",
                    "must be 1 to 200 bytes without '-'",
                ));
            }
            return Ok(Source::Log(Filter::Category(category)));
        }
        if let Some(event_type) = f.event_type {
            if event_type.is_empty() || event_type.len() > EVENT_TYPE_LEN_MAX {
                return Err(ApiError::validation(
                    "filter.eventType",
                    "must be 1 to 128 bytes",
                ));
            }
            return Ok(Source::Log(Filter::EventType(event_type)));
        }
        if let Some(stream) = f.stream {
            return StreamName::parse(stream)
                .map(Source::Stream)
                .map_err(|e| ApiError::validation("filter.stream", e.to_string()));
        }
        Ok(Source::Log(Filter::All))
    }

    /// Up to `limit` events from `from` (inclusive) in `direction`.
    pub(crate) fn read(
        &self,
        store: &EventStore,
        from: Option<Position>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, ApiError> {
        match self {
            Source::Log(filter) => {
                let start = match (from, direction) {
                    (Some(p), _) => AllStart::Position(p),
                    (None, Direction::Forwards) => AllStart::Start,
                    (None, Direction::Backwards) => AllStart::End,
                };
                Ok(store.read_filtered(filter, start, direction, limit)?)
            }
            Source::Stream(stream) => {
                let start = match from {
                    None if direction == Direction::Forwards => StreamStart::Start,
                    None => StreamStart::End,
                    Some(p) => match self.revision_near(store, p, direction)? {
                        Some(r) => StreamStart::Revision(r),
                        None => return Ok(Vec::new()),
                    },
                };
                Ok(store.read_stream(stream, start, direction, limit)?)
            }
        }
    }

    /// The stream revision to start at so that the read begins at the first event at or beyond
    /// position `p` in `direction`. A stream's positions grow with its revisions, so the event's
    /// own revision is found by reading the stream's index for the nearest one.
    fn revision_near(
        &self,
        store: &EventStore,
        p: Position,
        direction: Direction,
    ) -> Result<Option<u64>, ApiError> {
        let Source::Stream(stream) = self else {
            return Ok(None);
        };
        let Some(head_revision) = store.stream_revision(stream)? else {
            return Ok(None);
        };
        // Binary search over revisions by their positions: log2(stream length) point reads.
        let (mut lo, mut hi) = (0u64, head_revision + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at =
                store.read_stream(stream, StreamStart::Revision(mid), Direction::Forwards, 1)?;
            let Some(event) = at.first() else { break };
            if event.position < p {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // `lo` is now the first revision at or after `p`.
        Ok(match direction {
            Direction::Forwards => (lo <= head_revision).then_some(lo),
            Direction::Backwards => {
                let at_p = store
                    .read_stream(stream, StreamStart::Revision(lo), Direction::Forwards, 1)?
                    .first()
                    .is_some_and(|e| e.position == p);
                if at_p {
                    Some(lo)
                } else {
                    lo.checked_sub(1)
                }
            }
        })
    }
}

/// The arguments of a connection, checked.
#[derive(Debug, Clone, Copy)]
struct PageArgs {
    forwards: bool,
    count: usize,
    after: Option<Position>,
    before: Option<Position>,
}

fn cursor_arg(name: &str, value: Option<String>) -> Result<Option<Position>, ApiError> {
    value
        .map(|v| {
            v.parse::<u64>()
                .map(Position)
                .map_err(|_| ApiError::validation(name, "not a cursor of this connection"))
        })
        .transpose()
}

impl PageArgs {
    fn parse(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        page_size_max: u32,
    ) -> Result<PageArgs, ApiError> {
        let (forwards, count) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::validation(
                    "first",
                    "give first or last, not both",
                ))
            }
            (Some(n), None) => (true, n),
            (None, Some(n)) => (false, n),
            // Without a count, page forwards unless only `before` is given.
            (None, None) => (
                !(before.is_some() && after.is_none()),
                PAGE_SIZE_DEFAULT.min(page_size_max) as i32,
            ),
        };
        if count < 0 {
            return Err(ApiError::validation(
                if forwards { "first" } else { "last" },
                "must not be negative",
            ));
        }
        // i32 -> u32 cannot fail for a non-negative value.
        let count = count.unsigned_abs();
        if count > page_size_max {
            return Err(ApiError::limit(
                Limit::PageSize,
                format!("a page holds at most {page_size_max} edges; asked for {count}"),
            ));
        }
        Ok(PageArgs {
            forwards,
            count: count as usize,
            after: cursor_arg("after", after)?,
            before: cursor_arg("before", before)?,
        })
    }
}

/// One page of a connection, read on a blocking thread by the caller.
fn read_page(
    store: &EventStore,
    source: &Source,
    args: PageArgs,
) -> Result<EventConnection, ApiError> {
    let within = |e: &RecordedEvent| {
        args.after.is_none_or(|a| e.position > a) && args.before.is_none_or(|b| e.position < b)
    };
    // One extra event tells whether there is another page in the direction of travel.
    let want = args.count.saturating_add(1);
    let (events, more_ahead) = if args.forwards {
        let from = args.after.map(Position::next);
        let mut events = source.read(store, from, Direction::Forwards, want)?;
        events.retain(within);
        let more = events.len() > args.count;
        events.truncate(args.count);
        (events, more)
    } else {
        let from = match args.before {
            Some(b) if b.0 <= 1 => None,
            Some(b) => Some(Position(b.0 - 1)),
            None => Some(store.head()),
        };
        let mut events = match from {
            Some(p) if p.0 > 0 => source.read(store, Some(p), Direction::Backwards, want)?,
            _ => Vec::new(),
        };
        events.retain(within);
        let more = events.len() > args.count;
        events.truncate(args.count);
        events.reverse();
        (events, more)
    };
    // Whether anything lies beyond the cursor the client came from: one point read.
    let beyond = |cursor: Option<Position>, direction: Direction| -> Result<bool, ApiError> {
        match cursor {
            None => Ok(false),
            Some(p) if p.0 == 0 => Ok(false),
            Some(p) => Ok(!source.read(store, Some(p), direction, 1)?.is_empty()),
        }
    };
    let (has_next_page, has_previous_page) = if args.forwards {
        (more_ahead, beyond(args.after, Direction::Backwards)?)
    } else {
        (beyond(args.before, Direction::Forwards)?, more_ahead)
    };
    let edges: Vec<EventEdge> = events
        .into_iter()
        .map(|e| EventEdge {
            cursor: e.position.0.to_string(),
            node: EventNode(e),
        })
        .collect();
    let page_info = PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: edges.first().map(|e| e.cursor.clone()),
        end_cursor: edges.last().map(|e| e.cursor.clone()),
    };
    let total_count = match source {
        // Positions are gap-free from 1, so the head is the number of events.
        Source::Log(Filter::All) => Some(Long(store.head().0)),
        _ => None,
    };
    Ok(EventConnection {
        edges,
        page_info,
        total_count,
    })
}

/// The log's head.
#[derive(Debug, Clone, Copy)]
pub struct LogStatus;

#[Object]
impl LogStatus {
    pub async fn id(&self) -> ID {
        global_id("LogStatus", "$all")
    }

    /// The last committed position; 0 when the log is empty.
    async fn head_position(&self, ctx: &Context<'_>) -> async_graphql::Result<Long> {
        Ok(Long(store(ctx).map_err(gql)?.head().0))
    }

    /// False once a failed write or sync stopped the store (it must be reopened).
    async fn writable(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(!store(ctx).map_err(gql)?.is_poisoned())
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_eventstore::FindingKind", name = "FindingKind")]
pub enum FindingKindView {
    /// A segment header is missing, damaged or out of sequence.
    Header,
    /// A frame's checksum or length is wrong: bytes changed or were cut.
    Checksum,
    /// The record's hash does not follow from the previous hash and its bytes.
    HashChain,
    /// Positions or stream revisions out of order or with gaps.
    Ordering,
    /// The record's bytes do not decode.
    Decode,
    /// An index entry disagrees with the log.
    Index,
}

/// One thing verification found wrong.
#[derive(Debug, Clone)]
pub struct FindingView(Finding);

#[Object(name = "VerifyFinding")]
impl FindingView {
    /// The position the finding is about (the position expected there, for damage).
    async fn position(&self) -> Long {
        Long(self.0.position.0)
    }

    async fn kind(&self) -> FindingKindView {
        let kind: FindingKind = self.0.kind;
        kind.into()
    }

    async fn segment(&self) -> Long {
        Long(u64::from(self.0.segment))
    }

    async fn offset(&self) -> Long {
        Long(self.0.offset)
    }

    async fn detail(&self) -> &str {
        &self.0.detail
    }
}

/// The result of walking the whole log: checksums, hash chain, ordering, index agreement.
#[derive(Debug, Clone)]
pub struct VerifyReportNode(pub VerifyReport);

#[Object(name = "LogVerification")]
impl VerifyReportNode {
    /// Names the verified prefix of the log: its last position and head hash.
    pub async fn id(&self) -> ID {
        global_id(
            "LogVerification",
            format!("{}:{}", self.0.last_position, hex(&self.0.head_hash)),
        )
    }

    /// True when nothing was found.
    async fn ok(&self) -> bool {
        self.0.is_ok()
    }

    async fn records(&self) -> Long {
        Long(self.0.records)
    }

    async fn segments(&self) -> Long {
        Long(u64::from(self.0.segments))
    }

    async fn last_position(&self) -> Long {
        Long(self.0.last_position.0)
    }

    /// The hash of the last record, hex. Kept elsewhere, a later verification ending in the same
    /// hash proves nothing before it was rewritten.
    async fn head_hash(&self) -> String {
        hex(&self.0.head_hash)
    }

    /// The first findings, in log order (at most 100).
    async fn findings(&self) -> Vec<FindingView> {
        self.0.findings.iter().cloned().map(FindingView).collect()
    }

    /// Findings past the listed ones, counted only.
    async fn findings_not_listed(&self) -> Long {
        Long(self.0.findings_not_listed)
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("joining a blocking read: {e}")))?
}

#[derive(Default, Debug)]
pub struct EventLogQuery;

#[Object]
impl EventLogQuery {
    /// The events of `$all` (or of one category, event type or stream), oldest first, as a
    /// Relay connection whose cursors are positions. HQ, auditors and operators only.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<EventConnection> {
        async {
            require_history(caller(ctx)?)?;
            let source = Source::parse(filter)?;
            let args = PageArgs::parse(first, after, last, before, settings(ctx)?.page_size_max)?;
            let store = store(ctx)?.clone();
            blocking(move || read_page(&store, &source, args)).await
        }
        .await
        .map_err(gql)
    }

    /// The log's head. HQ, auditors and operators only.
    async fn log_status(&self, ctx: &Context<'_>) -> async_graphql::Result<LogStatus> {
        require_history(caller(ctx).map_err(gql)?).map_err(gql)?;
        Ok(LogStatus)
    }

    /// Walks the whole log and checks every record's checksum and hash-chain link, the order of
    /// positions and revisions, and the indexes. Proportional to the log's size.
    #[graphql(complexity = "VERIFY_COMPLEXITY + child_complexity")]
    async fn verify_log(&self, ctx: &Context<'_>) -> async_graphql::Result<VerifyReportNode> {
        async {
            require_history(caller(ctx)?)?;
            let store = store(ctx)?.clone();
            // The permit moves into the blocking task, so a verification abandoned by a timed-out
            // request still holds it until the walk really ends.
            let permit = settings(ctx)?
                .verify_gate
                .clone()
                .try_acquire_owned()
                .map_err(|_| {
                    ApiError::Conflict(
                        "a log verification is already running; retry when it ends".into(),
                    )
                })?;
            blocking(move || {
                let report = store.verify();
                drop(permit);
                Ok(VerifyReportNode(report?))
            })
            .await
        }
        .await
        .map_err(gql)
    }
}

/// A connection costs its children once per edge it may return.
fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let n = first
        .or(last)
        .unwrap_or(PAGE_SIZE_DEFAULT as i32)
        .max(1)
        .unsigned_abs() as usize;
    n.saturating_mul(child_complexity).saturating_add(1)
}

#[derive(Default, Debug)]
pub struct EventLogSubscription;

#[Subscription]
impl EventLogSubscription {
    /// Events as they are appended (after `after`, or from now), optionally of one category or
    /// stream. HQ, auditors and operators only.
    async fn events_appended(
        &self,
        ctx: &Context<'_>,
        category: Option<String>,
        stream: Option<String>,
        after: Option<Long>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<EventNode>>> {
        require_history(caller(ctx).map_err(gql)?).map_err(gql)?;
        let source = Source::parse(Some(EventFilter {
            category,
            event_type: None,
            stream,
        }))
        .map_err(gql)?;
        let store = store(ctx).map_err(gql)?.clone();
        let (filter, only_stream) = match source {
            Source::Log(filter) => (filter, None),
            // The store subscribes by category; the stream is picked out of it.
            Source::Stream(s) => (Filter::Category(s.category().to_string()), Some(s)),
        };
        let head = store.head();
        // A position a client saw is never beyond the head.
        if let Some(Long(a)) = after.filter(|a| a.0 > head.0) {
            return Err(gql(ApiError::validation(
                "after",
                format!("{a} is beyond the log's head ({})", head.0),
            )));
        }
        let start = after.map_or(head, |a| Position(a.0));
        let subscription = store.subscribe(start, filter);
        let events = futures_util::stream::unfold(Some(subscription), |state| async move {
            let mut subscription = state?;
            match subscription.next().await {
                Ok(Some(event)) => Some((Ok(EventNode(event)), Some(subscription))),
                Ok(None) => None,
                // Deliver the error, then end: a subscription that failed once cannot vouch
                // for having no gap.
                Err(e) => Some((Err(gql(ApiError::from(e))), None)),
            }
        });
        Ok(events.filter(move |item| {
            let keep = match (item, &only_stream) {
                (Ok(event), Some(s)) => event.0.stream == s.as_str(),
                _ => true,
            };
            std::future::ready(keep)
        }))
    }
}
