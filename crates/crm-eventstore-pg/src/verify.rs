//! `verify`: walk the whole table in position order and check that positions have no gap,
//! that each stream's revisions run 0, 1, 2, …, and that every stored hash follows from the
//! one before and the record's content (`crm_eventstore::record_hash`, the segment store's
//! rule). Findings carry segment 0 and offset 0: the table has no segments.

use std::collections::HashMap;

use crm_eventstore::segment::GENESIS_HASH;
use crm_eventstore::{
    record_hash, AllStart, Direction, Filter, Finding, FindingKind, Position, StoreError,
    VerifyReport,
};

use crate::store::PgEventStore;

/// Rows read per query.
const VERIFY_BATCH: usize = 10_000;
/// Findings past this many are counted, not listed (as in the segment store).
const FINDINGS_MAX: usize = 100;

fn find(report: &mut VerifyReport, kind: FindingKind, position: Position, detail: String) {
    if report.findings.len() < FINDINGS_MAX {
        report.findings.push(Finding {
            kind,
            position,
            segment: 0,
            offset: 0,
            detail,
        });
    } else {
        report.findings_not_listed += 1;
    }
}

impl PgEventStore {
    /// Walks every record (proportional to the log's size; reads in batches).
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport {
            records: 0,
            segments: 0,
            last_position: Position(0),
            head_hash: GENESIS_HASH,
            findings: Vec::new(),
            findings_not_listed: 0,
        };
        let mut expected = Position::FIRST;
        let mut hash = GENESIS_HASH;
        let mut stream_next: HashMap<String, u64> = HashMap::new();
        loop {
            let batch = self
                .read_filtered(
                    &Filter::All,
                    AllStart::Position(expected),
                    Direction::Forwards,
                    VERIFY_BATCH,
                )
                .await?;
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                if e.position != expected {
                    find(
                        &mut report,
                        FindingKind::Ordering,
                        expected,
                        format!("the next record holds position {}", e.position),
                    );
                }
                if record_hash(&hash, e)? != e.hash {
                    find(
                        &mut report,
                        FindingKind::HashChain,
                        e.position,
                        "hash does not follow from the previous record: content altered".into(),
                    );
                }
                hash = e.hash;
                let next = stream_next.entry(e.stream.clone()).or_insert(0);
                if e.revision != *next {
                    find(
                        &mut report,
                        FindingKind::Ordering,
                        e.position,
                        format!(
                            "stream '{}' revision {} where {} was due",
                            e.stream, e.revision, next
                        ),
                    );
                }
                *next = e.revision.saturating_add(1);
                report.records += 1;
                report.last_position = e.position;
                expected = e.position.next();
            }
            if batch.len() < VERIFY_BATCH {
                break;
            }
        }
        report.head_hash = hash;
        Ok(report)
    }
}
