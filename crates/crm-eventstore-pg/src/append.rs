//! Appends, grouped: one writer task per store takes every append waiting when it is free
//! and commits them in one transaction under the append lock.
//!
//! Why: positions are gap-free because an append holds the log's advisory lock until its
//! commit is visible (see the crate documentation), and with `synchronous_commit` on a
//! commit waits for its WAL flush. One append per transaction therefore costs a flush each,
//! one at a time for the whole database: about 430 appends/s on this project's machine at
//! one writer, and fewer with more (they queue on the lock). Grouping what is waiting into
//! one transaction pays the lock and the flush once per group, as the segment store's
//! writer does with its fdatasync. Each append in a group is still checked on its own
//! (idempotency, expected revision) against the log and the appends before it in the group,
//! and refused on its own; the group's records are written together, or none of them.

use std::collections::HashMap;

use crm_eventstore::{
    check_stored, record_hash, AppendResult, CurrentRevision, ExpectedRevision, NewEvent, Position,
    RecordedEvent, StoreError, StoredEvent, StreamName, APPEND_EVENTS_MAX,
};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{Client, Config, IsolationLevel};
use uuid::Uuid;

use crate::read::{backend, corrupt, to_u64};
use crate::schema::APPEND_LOCK_KEY;
use crate::store::{connect_client, insert, last_record, raise, Tx, NOTIFY_CHANNEL};

/// Appends in one group at most (their events are also bounded by [`APPEND_EVENTS_MAX`]).
pub const GROUP_APPENDS_MAX: usize = 512;

/// Appends waiting for the writer at most; an append past it waits to be queued.
pub(crate) const QUEUE: usize = 4096;

/// One append handed to the writer, checked and digested by the caller.
pub(crate) struct Pending {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
    pub digests: Vec<[u8; 32]>,
    pub reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// The writer task: runs until every sender (the store's handle) is gone.
pub(crate) async fn writer(
    config: Config,
    head: std::sync::Arc<watch::Sender<u64>>,
    mut queue: mpsc::Receiver<Pending>,
) {
    let mut client: Option<Client> = None;
    while let Some(first) = queue.recv().await {
        let mut events = first.events.len();
        let mut group = vec![first];
        while group.len() < GROUP_APPENDS_MAX && events < APPEND_EVENTS_MAX {
            match queue.try_recv() {
                Ok(p) => {
                    events += p.events.len();
                    group.push(p);
                }
                Err(_) => break,
            }
        }
        if client.as_ref().is_none_or(Client::is_closed) {
            match connect_client(&config).await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    let message = e.to_string();
                    for p in group {
                        let _ = p
                            .reply
                            .send(Err(failed("connecting to PostgreSQL", &message)));
                    }
                    continue;
                }
            }
        }
        if let Some(c) = client.as_mut() {
            write_group(c, &head, group).await;
        }
    }
}

/// An error for each append of a group that failed together.
fn failed(context: &str, message: &str) -> StoreError {
    StoreError::Backend {
        context: context.to_string(),
        source: message.to_string().into(),
    }
}

/// What becomes of one append of the group once the group is committed.
type Outcome = (
    oneshot::Sender<Result<AppendResult, StoreError>>,
    AppendResult,
);

async fn write_group(client: &mut Client, head: &watch::Sender<u64>, group: Vec<Pending>) {
    let tx = match client
        .build_transaction()
        // Read committed whatever the database's default: each statement after the lock
        // must see the appends committed before it was granted.
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await
    {
        Ok(tx) => tx,
        Err(e) => {
            let message = e.to_string();
            for p in group {
                let _ = p.reply.send(Err(failed("starting an append", &message)));
            }
            return;
        }
    };
    // The checks answer refusals at once; what is left is written together.
    let (outcomes, records, digests) = match stage(&tx, group).await {
        Ok(staged) => staged,
        Err((replies, e)) => {
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(failed("appending", &message)));
            }
            return;
        }
    };
    let last = records.last().map(|r| r.position);
    let committed = async {
        if let Some(last) = last {
            insert(&tx, &records, &digests).await?;
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&NOTIFY_CHANNEL, &last.0.to_string()],
            )
            .await
            .map_err(backend("notifying the append"))?;
        }
        tx.commit().await.map_err(backend(
            "committing an append (it may have been committed: retry it with the same event ids)",
        ))
    }
    .await;
    match committed {
        Ok(()) => {
            if let Some(last) = last {
                head.send_if_modified(|h| raise(h, last.0));
            }
            for (reply, result) in outcomes {
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for (reply, _) in outcomes {
                let _ = reply.send(Err(failed("appending", &message)));
            }
        }
    }
}

/// The records the group writes and each written (or already stored) append's result;
/// refused appends are answered here. On a failed query, every append not yet answered.
#[allow(clippy::type_complexity)]
async fn stage(
    tx: &Tx<'_>,
    group: Vec<Pending>,
) -> Result<
    (Vec<Outcome>, Vec<RecordedEvent>, Vec<[u8; 32]>),
    (
        Vec<oneshot::Sender<Result<AppendResult, StoreError>>>,
        StoreError,
    ),
> {
    let replies_of = |group: Vec<Pending>| group.into_iter().map(|p| p.reply).collect::<Vec<_>>();
    if let Err(e) = tx
        .execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK_KEY])
        .await
        .map_err(backend("taking the append lock"))
    {
        return Err((replies_of(group), e));
    }
    let looked_up = async {
        let ids: Vec<Uuid> = group
            .iter()
            .flat_map(|p| p.events.iter().map(|e| e.event_id))
            .collect();
        let streams: Vec<&str> = group.iter().map(|p| p.stream.as_str()).collect();
        Ok::<_, StoreError>((
            stored_events(tx, &ids).await?,
            stream_heads(tx, &streams).await?,
            last_record(tx).await?,
        ))
    }
    .await;
    let (stored, mut heads, (last_position, mut chain, last_recorded)) = match looked_up {
        Ok(found) => found,
        Err(e) => return Err((replies_of(group), e)),
    };
    // Never earlier than the record before, as in the segment store.
    let recorded_ns = OffsetDateTime::now_utc()
        .unix_timestamp_nanos()
        .max(last_recorded);
    let recorded_at = match OffsetDateTime::from_unix_timestamp_nanos(recorded_ns) {
        Ok(t) => t,
        Err(e) => {
            let e = corrupt(Position(last_position), &format!("recorded time: {e}"));
            return Err((replies_of(group), e));
        }
    };
    let mut written: HashMap<Uuid, StoredEvent> = HashMap::new();
    let mut next = last_position + 1;
    let mut outcomes = Vec::with_capacity(group.len());
    let mut records = Vec::new();
    let mut digests = Vec::new();
    for p in group {
        let found: Vec<Option<StoredEvent>> = p
            .events
            .iter()
            .map(|e| {
                written
                    .get(&e.event_id)
                    .or_else(|| stored.get(&e.event_id))
                    .copied()
            })
            .collect();
        match check_stored(&p.stream, &p.events, &p.digests, &found) {
            Err(e) => {
                let _ = p.reply.send(Err(e));
                continue;
            }
            // Stored before (or earlier in this group): answered once the group commits.
            Ok(Some(result)) => {
                outcomes.push((p.reply, result));
                continue;
            }
            Ok(None) => {}
        }
        let head = heads.get(p.stream.as_str()).copied();
        let current = CurrentRevision::from_head(head);
        if !current.satisfies(p.expected) {
            let _ = p.reply.send(Err(StoreError::WrongExpectedRevision {
                stream: p.stream.to_string(),
                expected: p.expected,
                actual: current,
            }));
            continue;
        }
        let first_position = Position(next);
        let first_revision = head.map_or(0, |h| h + 1);
        let count = p.events.len() as u64;
        let mut hashed = Ok(());
        for (i, (e, digest)) in p.events.into_iter().zip(p.digests).enumerate() {
            let mut record = RecordedEvent {
                position: Position(next),
                stream: p.stream.to_string(),
                revision: first_revision + i as u64,
                event_id: e.event_id,
                event_type: e.event_type,
                schema_version: e.schema_version,
                metadata: e.metadata,
                recorded_at,
                payload: e.payload,
                hash: [0; 32],
            };
            match record_hash(&chain, &record) {
                Ok(h) => record.hash = h,
                Err(e) => {
                    hashed = Err(e);
                    break;
                }
            }
            chain = record.hash;
            written.insert(record.event_id, (record.position, record.revision, digest));
            records.push(record);
            digests.push(digest);
            next += 1;
        }
        if let Err(e) = hashed {
            // Cannot happen for a validated event; refused as a whole group would be wrong.
            let mut replies: Vec<_> = outcomes.into_iter().map(|(r, _)| r).collect();
            replies.push(p.reply);
            return Err((replies, e));
        }
        let last_revision = first_revision + count - 1;
        heads.insert(p.stream.to_string(), last_revision);
        outcomes.push((
            p.reply,
            AppendResult {
                first_position,
                last_position: Position(next - 1),
                stream_revision: last_revision,
                already_stored: false,
            },
        ));
    }
    Ok((outcomes, records, digests))
}

/// What is stored under each of `ids`.
async fn stored_events(
    tx: &Tx<'_>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredEvent>, StoreError> {
    let rows = tx
        .query(
            "SELECT event_id, position, revision, digest FROM events WHERE event_id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(backend("looking up the batch's event ids"))?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.try_get(0).map_err(backend("reading an event id"))?;
        let position = Position(to_u64(row.try_get(1), "position")?);
        let revision = to_u64(row.try_get(2), "revision")?;
        let digest: Vec<u8> = row.try_get(3).map_err(backend("reading a digest"))?;
        let digest: [u8; 32] = digest
            .try_into()
            .map_err(|_| corrupt(position, "its digest is not 32 bytes"))?;
        stored.insert(id, (position, revision, digest));
    }
    Ok(stored)
}

/// The revision of each stream's last event, for the streams that have one.
pub(crate) async fn stream_heads(
    tx: &Tx<'_>,
    streams: &[&str],
) -> Result<HashMap<String, u64>, StoreError> {
    let rows = tx
        .query(
            // One index probe per stream (the last revision, read backwards), not every row
            // of each stream, as `WHERE stream = ANY(..) GROUP BY` would read.
            "SELECT s, (SELECT max(revision) FROM events WHERE stream = s) \
             FROM unnest($1::text[]) AS s",
            &[&streams],
        )
        .await
        .map_err(backend("reading the streams' revisions"))?;
    let mut heads = HashMap::with_capacity(rows.len());
    for row in rows {
        let stream: String = row.try_get(0).map_err(backend("reading a stream"))?;
        let revision: Option<i64> = row.try_get(1).map_err(backend("reading a revision"))?;
        if let Some(r) = revision {
            heads.insert(stream, to_u64(Ok(r), "revision")?);
        }
    }
    Ok(heads)
}
