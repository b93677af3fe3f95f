//! The store handle: connections, schema, appends, the head watch and the `EventLog` impl.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crm_eventstore::segment::GENESIS_HASH;
use crm_eventstore::{
    content_digest, validate_append, AllStart, AppendResult, Direction, EventLog, ExpectedRevision,
    Filter, NewEvent, Position, RecordedEvent, StoreError, StreamName, StreamStart, VerifyReport,
};
use tokio::sync::{mpsc, oneshot, watch, Mutex, MutexGuard};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};
use uuid::Uuid;

use crate::append::Pending;
use crate::read::{backend, corrupt, split_ns, to_i64, to_u64};
use crate::schema::{APPEND_LOCK_KEY, DDL};
use crate::subscription::PgSubscription;

/// The channel appends notify on commit; the payload is the append's last position.
pub const NOTIFY_CHANNEL: &str = "crm_events";

/// How a store connects.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Where the database is (`postgres://user@host:port/dbname`, or built by hand).
    pub connection: Config,
    /// Connections for appends and reads (one more LISTENs). Appends are serial in the
    /// database anyway; more connections serve concurrent reads.
    pub connections: usize,
    /// How long a subscription that has read everything waits at most before it looks again
    /// without a notification.
    pub poll_interval: Duration,
}

impl PgConfig {
    /// From a connection URL or key-value string, with default pool settings.
    pub fn parse(url: &str) -> Result<PgConfig, StoreError> {
        let connection = url
            .parse::<Config>()
            .map_err(backend("parsing the PostgreSQL URL"))?;
        Ok(PgConfig::new(connection))
    }

    pub fn new(connection: Config) -> PgConfig {
        PgConfig {
            connection,
            connections: 4,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// An event log in a PostgreSQL database. Cheap to clone; clones share the connections.
/// Several stores (processes, nodes) may use one database at once.
#[derive(Debug, Clone)]
pub struct PgEventStore {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    config: PgConfig,
    clients: Vec<Mutex<Option<Client>>>,
    turn: AtomicUsize,
    pub(crate) head: Arc<watch::Sender<u64>>,
    listener: tokio::task::JoinHandle<()>,
    /// The appends' writer ([`crate::append`]): it ends once this sender is dropped.
    appends: mpsc::Sender<Pending>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// One pooled connection, held for the duration of an operation.
pub(crate) struct Conn<'a>(MutexGuard<'a, Option<Client>>);

impl Conn<'_> {
    pub(crate) fn client(&mut self) -> Result<&mut Client, StoreError> {
        self.0.as_mut().ok_or(StoreError::Closed)
    }
}

async fn connect(
    config: &Config,
) -> Result<
    (
        Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    ),
    StoreError,
> {
    config
        .connect(NoTls)
        .await
        .map_err(backend("connecting to PostgreSQL"))
}

impl PgEventStore {
    /// Connects to the database at `url` and creates the schema if it is missing.
    pub async fn connect(url: &str) -> Result<PgEventStore, StoreError> {
        PgEventStore::open(PgConfig::parse(url)?).await
    }

    /// Connects with explicit settings and creates the schema if it is missing. Must run
    /// inside a tokio runtime (connections and the listener are tasks).
    pub async fn open(config: PgConfig) -> Result<PgEventStore, StoreError> {
        let mut first = connect_client(&config.connection).await?;
        create_schema(&mut first).await?;
        let head = Arc::new(watch::channel(0u64).0);
        let listener = tokio::spawn(listen(
            config.connection.clone(),
            head.clone(),
            config.poll_interval,
        ));
        let mut clients = vec![Mutex::new(Some(first))];
        for _ in 1..config.connections.max(1) {
            clients.push(Mutex::new(None));
        }
        let (appends, queue) = mpsc::channel(crate::append::QUEUE);
        tokio::spawn(crate::append::writer(
            config.connection.clone(),
            head.clone(),
            queue,
        ));
        let store = PgEventStore {
            inner: Arc::new(Inner {
                config,
                clients,
                turn: AtomicUsize::new(0),
                head,
                listener,
                appends,
            }),
        };
        let head = store.head().await?;
        store.inner.head.send_if_modified(|h| raise(h, head.0));
        Ok(store)
    }

    /// A connection of the pool (round robin), reconnected if it was lost.
    pub(crate) async fn conn(&self) -> Result<Conn<'_>, StoreError> {
        let n = self.inner.clients.len();
        let i = self.inner.turn.fetch_add(1, Ordering::Relaxed) % n;
        let mut guard = self.inner.clients[i].lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(connect_client(&self.inner.config.connection).await?);
        }
        Ok(Conn(guard))
    }

    /// A connection of its own (not from the pool), for a session that holds a lock.
    pub(crate) async fn dedicated_client(&self) -> Result<Client, StoreError> {
        connect_client(&self.inner.config.connection).await
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        self.inner.config.poll_interval
    }

    /// Appends `events` to `stream` if it is at `expected`: handed to the store's writer,
    /// which commits it with the appends waiting beside it in one transaction under the
    /// append lock (module `append`, and the crate documentation).
    pub async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_append(stream, &events)?;
        let digests = events
            .iter()
            .map(|e| content_digest(stream, e))
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, answer) = oneshot::channel();
        self.inner
            .appends
            .send(Pending {
                stream: stream.clone(),
                expected,
                events,
                digests,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

pub(crate) type Tx<'a> = tokio_postgres::Transaction<'a>;

/// The last record's position, hash and recorded-at (ns); 0, the genesis hash and the
/// earliest time for an empty log.
pub(crate) async fn last_record(tx: &Tx<'_>) -> Result<(u64, [u8; 32], i128), StoreError> {
    let last = tx
        .query_opt(
            "SELECT position, hash, recorded_s, recorded_ns FROM events \
             ORDER BY position DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(backend("reading the last record"))?;
    let Some(row) = last else {
        return Ok((0, GENESIS_HASH, i128::MIN));
    };
    let position = to_u64(row.try_get(0), "position")?;
    let hash: Vec<u8> = row.try_get(1).map_err(backend("reading a hash"))?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| corrupt(Position(position), "its hash is not 32 bytes"))?;
    let s: i64 = row.try_get(2).map_err(backend("reading a time"))?;
    let ns: i32 = row.try_get(3).map_err(backend("reading a time"))?;
    Ok((
        position,
        hash,
        i128::from(s) * 1_000_000_000 + i128::from(ns),
    ))
}

/// Raises the watched head to `to`; true if it moved.
pub(crate) fn raise(head: &mut u64, to: u64) -> bool {
    if to > *head {
        *head = to;
        true
    } else {
        false
    }
}

/// Writes the records (of any streams) in one statement (arrays, unnested).
pub(crate) async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    records: &[RecordedEvent],
    digests: &[[u8; 32]],
) -> Result<(), StoreError> {
    let n = records.len();
    let mut positions = Vec::with_capacity(n);
    let mut revisions = Vec::with_capacity(n);
    let mut occurred = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut recorded = (Vec::with_capacity(n), Vec::with_capacity(n));
    for r in records {
        positions.push(to_i64(r.position.0)?);
        revisions.push(to_i64(r.revision)?);
        let (s, ns) = split_ns(r.metadata.occurred_at.unix_timestamp_nanos())?;
        occurred.0.push(s);
        occurred.1.push(ns);
        let (s, ns) = split_ns(r.recorded_at.unix_timestamp_nanos())?;
        recorded.0.push(s);
        recorded.1.push(ns);
    }
    let streams: Vec<&str> = records.iter().map(|r| r.stream.as_str()).collect();
    let categories: Vec<&str> = records.iter().map(RecordedEvent::category).collect();
    let ids: Vec<Uuid> = records.iter().map(|r| r.event_id).collect();
    let types: Vec<&str> = records.iter().map(|r| r.event_type.as_str()).collect();
    let versions: Vec<i32> = records
        .iter()
        .map(|r| i32::from(r.schema_version))
        .collect();
    let actors: Vec<&str> = records.iter().map(|r| r.metadata.actor.as_str()).collect();
    let correlation: Vec<Option<Uuid>> =
        records.iter().map(|r| r.metadata.correlation_id).collect();
    let causation: Vec<Option<Uuid>> = records.iter().map(|r| r.metadata.causation_id).collect();
    let command: Vec<Option<Uuid>> = records.iter().map(|r| r.metadata.command_id).collect();
    let payloads: Vec<&[u8]> = records.iter().map(|r| r.payload.as_slice()).collect();
    let digests: Vec<&[u8]> = digests.iter().map(|d| d.as_slice()).collect();
    let hashes: Vec<&[u8]> = records.iter().map(|r| r.hash.as_slice()).collect();
    tx.execute(
        "INSERT INTO events (position, stream, category, revision, event_id, event_type, \
            schema_version, actor, occurred_s, occurred_ns, recorded_s, recorded_ns, \
            correlation_id, causation_id, command_id, payload, digest, hash) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::uuid[], \
            $6::text[], $7::integer[], $8::text[], $9::bigint[], $10::integer[], $11::bigint[], \
            $12::integer[], $13::uuid[], $14::uuid[], $15::uuid[], $16::bytea[], $17::bytea[], \
            $18::bytea[])",
        &[
            &positions,
            &streams,
            &categories,
            &revisions,
            &ids,
            &types,
            &versions,
            &actors,
            &occurred.0,
            &occurred.1,
            &recorded.0,
            &recorded.1,
            &correlation,
            &causation,
            &command,
            &payloads,
            &digests,
            &hashes,
        ],
    )
    .await
    .map_err(backend("writing the records"))?;
    Ok(())
}

/// A new connection whose connection task runs in the background.
pub(crate) async fn connect_client(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) = connect(config).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL connection of the event store ended");
        }
    });
    Ok(client)
}

/// Creates the schema, once even when several stores connect at the same moment.
async fn create_schema(client: &mut Client) -> Result<(), StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(backend("starting the schema transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK_KEY])
        .await
        .map_err(backend("taking the append lock for the schema"))?;
    tx.batch_execute(DDL)
        .await
        .map_err(backend("creating the events table"))?;
    tx.commit().await.map_err(backend("committing the schema"))
}

/// Keeps one connection LISTENing and moves the head watch on each notification; reconnects
/// after a lost connection. Runs until the store is dropped (which aborts it).
async fn listen(config: Config, head: Arc<watch::Sender<u64>>, retry: Duration) {
    loop {
        if let Err(e) = listen_once(&config, &head).await {
            tracing::warn!(error = %e, "the event store's LISTEN connection failed; retrying");
        }
        tokio::time::sleep(retry).await;
    }
}

async fn listen_once(config: &Config, head: &watch::Sender<u64>) -> Result<(), StoreError> {
    let (client, mut connection) = connect(config).await?;
    let driver = async {
        loop {
            let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
            match message {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if let Ok(p) = n.payload().parse::<u64>() {
                        head.send_if_modified(|h| raise(h, p));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(backend("the LISTEN connection")(e)),
                None => return Ok(()),
            }
        }
    };
    let subscribe = async {
        client
            .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
            .await
            .map_err(backend("LISTEN"))?;
        // Commits between the store's start and the LISTEN sent no notification we saw.
        let row = client
            .query_one("SELECT coalesce(max(position), 0) FROM events", &[])
            .await
            .map_err(backend("reading the head"))?;
        let p = to_u64(row.try_get(0), "position")?;
        head.send_if_modified(|h| raise(h, p));
        // Keep the client (and so the connection) open until the driver ends.
        std::future::pending::<()>().await;
        Ok::<(), StoreError>(())
    };
    tokio::select! {
        r = driver => r,
        r = subscribe => r,
    }
}

impl EventLog for PgEventStore {
    type Subscription = PgSubscription;

    fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send {
        PgEventStore::append(self, stream, expected, events)
    }

    fn stream_revision(
        &self,
        stream: &StreamName,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send {
        PgEventStore::stream_revision(self, stream)
    }

    fn read_stream(
        &self,
        stream: &StreamName,
        start: StreamStart,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        PgEventStore::read_stream(self, stream, start, direction, limit)
    }

    fn read_all(
        &self,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        PgEventStore::read_filtered(self, &Filter::All, start, direction, limit)
    }

    fn read_filtered(
        &self,
        filter: &Filter,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        PgEventStore::read_filtered(self, filter, start, direction, limit)
    }

    fn read_position(
        &self,
        position: Position,
    ) -> impl Future<Output = Result<RecordedEvent, StoreError>> + Send {
        PgEventStore::read_position(self, position)
    }

    fn find_event(
        &self,
        event_id: Uuid,
    ) -> impl Future<Output = Result<Option<RecordedEvent>, StoreError>> + Send {
        PgEventStore::find_event(self, event_id)
    }

    fn head(&self) -> impl Future<Output = Result<Position, StoreError>> + Send {
        PgEventStore::head(self)
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    fn subscribe(&self, after: Position, filter: Filter) -> PgSubscription {
        PgSubscription::new(self.clone(), after, filter)
    }

    fn verify(&self) -> impl Future<Output = Result<VerifyReport, StoreError>> + Send {
        PgEventStore::verify(self)
    }
}
