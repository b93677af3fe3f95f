//! Moving a log into PostgreSQL as it was: records written at their positions, with their
//! recorded-at times and chain hashes, each re-computed and compared before it is written.
//! `crm import-log --store postgres://…` and `crm serve --store postgres://… --demo` use it;
//! the way back is a follower ([`crate::PgFollower`]) or `crm export --store postgres://…`.

use std::collections::HashMap;

use crm_eventstore::{
    content_digest_of_recorded, record_hash, Position, RecordedEvent, StoreError, StreamName,
};
use tokio_postgres::IsolationLevel;

use crate::append::stream_heads;
use crate::read::backend;
use crate::schema::APPEND_LOCK_KEY;
use crate::store::{insert, last_record, raise, PgEventStore, NOTIFY_CHANNEL};

impl PgEventStore {
    /// Writes `records` — committed records of another log, consecutive, starting right after
    /// this log's head — at their positions, in one transaction under the append lock;
    /// returns how many. Refused, writing nothing, with [`StoreError::ImportMismatch`] naming
    /// the first record that does not follow (position, stream revision) or whose stored hash
    /// the chain does not give; an event id already stored is refused by the table's unique
    /// key. Pages of a long log are imported one call each: what earlier calls wrote stays.
    pub async fn import_records(&self, records: Vec<RecordedEvent>) -> Result<u64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn().await?;
        let client = conn.client()?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(backend("starting an import"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK_KEY])
            .await
            .map_err(backend("taking the append lock"))?;
        let (last_position, mut chain, last_recorded) = last_record(&tx).await?;
        let mut next = last_position + 1;
        let mut recorded = last_recorded;
        // Every stream's head in one query: a page of a real log touches thousands.
        let streams: Vec<&str> = records.iter().map(|r| r.stream.as_str()).collect();
        let mut heads: HashMap<String, u64> = stream_heads(&tx, &streams).await?;
        for r in &records {
            let mismatch = |reason: String| StoreError::ImportMismatch {
                position: r.position,
                reason,
            };
            if r.position.0 != next {
                return Err(mismatch(format!("it would be written at position {next}")));
            }
            StreamName::parse(r.stream.clone())?;
            let revision = heads.get(r.stream.as_str()).map_or(0, |h| h + 1);
            if r.revision != revision {
                return Err(mismatch(format!(
                    "its revision is {}, its stream's next is {revision}",
                    r.revision
                )));
            }
            let at = r.recorded_at.unix_timestamp_nanos();
            if at < recorded {
                return Err(mismatch(
                    "it was recorded before the record before it".into(),
                ));
            }
            let hash = record_hash(&chain, r)?;
            if hash != r.hash {
                return Err(mismatch(
                    "its stored hash is not what the chain gives (the record or one before it \
                     was altered)"
                        .into(),
                ));
            }
            heads.insert(r.stream.clone(), r.revision);
            chain = hash;
            recorded = at;
            next += 1;
        }
        let digests = records
            .iter()
            .map(content_digest_of_recorded)
            .collect::<Result<Vec<_>, _>>()?;
        insert(&tx, &records, &digests).await?;
        let last = Position(next - 1);
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&NOTIFY_CHANNEL, &last.0.to_string()],
        )
        .await
        .map_err(backend("notifying the import"))?;
        tx.commit().await.map_err(backend("committing an import"))?;
        self.inner.head.send_if_modified(|h| raise(h, last.0));
        Ok(records.len() as u64)
    }
}
