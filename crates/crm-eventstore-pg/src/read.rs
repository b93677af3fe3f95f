//! Reads: a stream, `$all`, a category, an event type, both ways; rows to events.

use crm_eventstore::{
    check_read_limit, AllStart, Direction, EventMetadata, Filter, Position, RecordedEvent,
    StoreError, StreamName, StreamStart,
};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::schema::COLUMNS;
use crate::store::PgEventStore;

/// Maps a driver error to the store's error, saying what was being done.
pub(crate) fn backend(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Backend {
        context: context.to_string(),
        source: Box::new(e),
    }
}

pub(crate) fn corrupt(position: Position, reason: &str) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: reason.to_string(),
    }
}

/// A non-negative `bigint` column as `u64`.
pub(crate) fn to_u64(
    value: Result<i64, tokio_postgres::Error>,
    what: &'static str,
) -> Result<u64, StoreError> {
    let value = value.map_err(backend(what))?;
    u64::try_from(value).map_err(|_| StoreError::Backend {
        context: format!("reading a {what}"),
        source: format!("{value} is negative").into(),
    })
}

/// A position or revision as a `bigint` (they never reach 2^63).
pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Backend {
        context: "writing a position or revision".into(),
        source: format!("{value} does not fit a bigint").into(),
    })
}

/// A bound of a read as a `bigint`: anything past the largest is the largest.
fn bound(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Nanoseconds since the epoch as (seconds, nanoseconds 0..1e9).
pub(crate) fn split_ns(ns: i128) -> Result<(i64, i32), StoreError> {
    let s = i64::try_from(ns.div_euclid(1_000_000_000)).map_err(|_| StoreError::Backend {
        context: "writing a time".into(),
        source: format!("{ns} ns is out of range").into(),
    })?;
    // rem_euclid of 1e9 is below 1e9, which fits an i32.
    let n = i32::try_from(ns.rem_euclid(1_000_000_000)).unwrap_or(0);
    Ok((s, n))
}

fn time_of(position: Position, s: i64, ns: i32, what: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(s) * 1_000_000_000 + i128::from(ns))
        .map_err(|e| corrupt(position, &format!("its {what} time is out of range: {e}")))
}

/// One row of [`COLUMNS`] as an event; a value out of range is [`StoreError::Corrupt`].
pub(crate) fn event_from_row(row: &Row) -> Result<RecordedEvent, StoreError> {
    let get = backend("reading an event row");
    let position: i64 = row.try_get(0).map_err(get)?;
    let position = Position(u64::try_from(position).unwrap_or(0));
    let field = |e| StoreError::Backend {
        context: format!("reading the event at position {position}"),
        source: Box::new(e),
    };
    let revision: i64 = row.try_get(2).map_err(field)?;
    let schema_version: i32 = row.try_get(5).map_err(field)?;
    let hash: Vec<u8> = row.try_get(15).map_err(field)?;
    Ok(RecordedEvent {
        position,
        stream: row.try_get(1).map_err(field)?,
        revision: u64::try_from(revision)
            .map_err(|_| corrupt(position, "its revision is negative"))?,
        event_id: row.try_get::<_, Uuid>(3).map_err(field)?,
        event_type: row.try_get(4).map_err(field)?,
        schema_version: u16::try_from(schema_version)
            .map_err(|_| corrupt(position, "its schema version is out of range"))?,
        metadata: EventMetadata {
            actor: row.try_get(6).map_err(field)?,
            occurred_at: time_of(
                position,
                row.try_get(7).map_err(field)?,
                row.try_get(8).map_err(field)?,
                "occurred-at",
            )?,
            correlation_id: row.try_get(11).map_err(field)?,
            causation_id: row.try_get(12).map_err(field)?,
            command_id: row.try_get(13).map_err(field)?,
        },
        recorded_at: time_of(
            position,
            row.try_get(9).map_err(field)?,
            row.try_get(10).map_err(field)?,
            "recorded-at",
        )?,
        payload: row.try_get(14).map_err(field)?,
        hash: hash
            .try_into()
            .map_err(|_| corrupt(position, "its hash is not 32 bytes"))?,
    })
}

impl PgEventStore {
    async fn query_events(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        context: &'static str,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .client()?
            .query(sql, params)
            .await
            .map_err(backend(context))?;
        rows.iter().map(event_from_row).collect()
    }

    /// The last committed position; 0 when the log is empty.
    pub async fn head(&self) -> Result<Position, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .client()?
            .query_one("SELECT coalesce(max(position), 0) FROM events", &[])
            .await
            .map_err(backend("reading the head"))?;
        Ok(Position(to_u64(row.try_get(0), "position")?))
    }

    /// The revision of the stream's last event, if it has any.
    pub async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .client()?
            .query_one(
                "SELECT max(revision) FROM events WHERE stream = $1",
                &[&stream.as_str()],
            )
            .await
            .map_err(backend("reading a stream's revision"))?;
        let revision: Option<i64> = row.try_get(0).map_err(backend("reading a revision"))?;
        revision.map(|r| to_u64(Ok(r), "revision")).transpose()
    }

    /// One stream from `start` (inclusive) in `direction`, at most `limit` events.
    pub async fn read_stream(
        &self,
        stream: &StreamName,
        start: StreamStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_read_limit(limit)?;
        let from = match (start, direction) {
            (StreamStart::Start, _) => 0,
            (StreamStart::Revision(r), _) => bound(r),
            (StreamStart::End, Direction::Backwards) => i64::MAX,
            (StreamStart::End, Direction::Forwards) => return Ok(Vec::new()),
        };
        let (op, order) = match direction {
            Direction::Forwards => (">=", "ASC"),
            Direction::Backwards => ("<=", "DESC"),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE stream = $1 AND revision {op} $2 \
             ORDER BY revision {order} LIMIT $3"
        );
        let limit = bound(limit as u64);
        self.query_events(&sql, &[&stream.as_str(), &from, &limit], "reading a stream")
            .await
    }

    /// `$all`, a category or an event type from `start` (inclusive) in `direction`, at most
    /// `limit` events.
    pub async fn read_filtered(
        &self,
        filter: &Filter,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_read_limit(limit)?;
        let from = match (start, direction) {
            (AllStart::Start, Direction::Forwards) => 1,
            (AllStart::Start, Direction::Backwards) => return Ok(Vec::new()),
            (AllStart::End, Direction::Forwards) => return Ok(Vec::new()),
            (AllStart::End, Direction::Backwards) => i64::MAX,
            (AllStart::Position(p), _) => bound(p.0),
        };
        let (op, order) = match direction {
            Direction::Forwards => (">=", "ASC"),
            Direction::Backwards => ("<=", "DESC"),
        };
        let limit = bound(limit as u64);
        let (column, name) = match filter {
            Filter::All => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM events WHERE position {op} $1 \
                     ORDER BY position {order} LIMIT $2"
                );
                return self
                    .query_events(&sql, &[&from, &limit], "reading $all")
                    .await;
            }
            Filter::Category(c) => ("category", c.as_str()),
            Filter::EventType(t) => ("event_type", t.as_str()),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE {column} = $1 AND position {op} $2 \
             ORDER BY position {order} LIMIT $3"
        );
        self.query_events(
            &sql,
            &[&name, &from, &limit],
            "reading a category or event type",
        )
        .await
    }

    /// The event at one committed position.
    pub async fn read_position(&self, position: Position) -> Result<RecordedEvent, StoreError> {
        if position.0 > 0 {
            let sql = format!("SELECT {COLUMNS} FROM events WHERE position = $1");
            let found = self
                .query_events(&sql, &[&bound(position.0)], "reading a position")
                .await?;
            if let Some(event) = found.into_iter().next() {
                return Ok(event);
            }
        }
        Err(StoreError::InvalidRead(format!(
            "position {position} is not committed (head is {})",
            self.head().await?
        )))
    }

    /// The committed event with this id, if any.
    pub async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE event_id = $1");
        let found = self
            .query_events(&sql, &[&event_id], "finding an event")
            .await?;
        Ok(found.into_iter().next())
    }
}
