//! The model-based property test of any [`EventLog`]: random sequences of appends (with
//! expected revisions, retries of the same ids, forged retries, restarts) and reads, checked
//! against a simple in-memory model. Each backend's tests drive [`run`] with proptest over
//! [`op`] (the segment store's `tests/model.rs`, PostgreSQL's `tests/model.rs`).

use std::collections::HashMap;
use std::future::Future;

use proptest::prelude::*;

use super::{event, stream};
use crate::backend::EventLog;
use crate::types::{
    AllStart, CurrentRevision, Direction, ExpectedRevision, Filter, NewEvent, Position, StreamStart,
};
use crate::StoreError;

/// One step of a model run.
#[derive(Debug, Clone)]
pub enum Op {
    /// Append `count` fresh events to stream `s` with an expectation derived from `exp`.
    Append {
        s: u8,
        count: u8,
        exp: u8,
        off: u8,
    },
    /// Re-send the batch of an earlier successful append.
    Retry {
        which: u16,
    },
    /// Re-send an earlier batch with one payload changed.
    Forge {
        which: u16,
    },
    ReadStream {
        s: u8,
        from: u8,
        backwards: bool,
        limit: u8,
    },
    ReadAll {
        from: u16,
        backwards: bool,
        limit: u8,
    },
    ReadCategory {
        c: u8,
        from: u16,
        backwards: bool,
        limit: u8,
    },
    Reopen,
}

/// A random step (weights: appends most, then retries and reads, then forgeries and reopens).
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..6, 1u8..4, 0u8..4, 0u8..3).prop_map(|(s, count, exp, off)| Op::Append { s, count, exp, off }),
        2 => any::<u16>().prop_map(|which| Op::Retry { which }),
        1 => any::<u16>().prop_map(|which| Op::Forge { which }),
        2 => (0u8..6, 0u8..8, any::<bool>(), 1u8..10).prop_map(|(s, from, backwards, limit)| Op::ReadStream { s, from, backwards, limit }),
        2 => (0u16..60, any::<bool>(), 1u8..20).prop_map(|(from, backwards, limit)| Op::ReadAll { from, backwards, limit }),
        2 => (0u8..2, 0u16..60, any::<bool>(), 1u8..30).prop_map(|(c, from, backwards, limit)| Op::ReadCategory { c, from, backwards, limit }),
        1 => Just(Op::Reopen),
    ]
}

fn stream_name(s: u8) -> String {
    // Two categories, so category reads have something to separate.
    if s % 2 == 0 {
        format!("customer-{s}")
    } else {
        format!("ticket-{s}")
    }
}

/// An accepted batch: stream, events, (first position, last position, stream revision).
type Accepted = (String, Vec<NewEvent>, (u64, u64, u64));

#[derive(Default)]
struct Model {
    /// (stream, event id) per position, position = index + 1.
    all: Vec<(String, uuid::Uuid)>,
    heads: HashMap<String, u64>,
    /// Batches that were accepted, with their original result.
    accepted: Vec<Accepted>,
}

/// Runs `ops` against `log` and the model side by side; `reopen` closes the log and opens
/// it again on the same data (a restart).
pub async fn run<E, F, Fut>(log: E, ops: Vec<Op>, mut reopen: F)
where
    E: EventLog,
    F: FnMut(E) -> Fut,
    Fut: Future<Output = E>,
{
    let mut store = log;
    {
        let mut model = Model::default();
        let mut next_id = 0u64;
        for op in ops {
            match op {
                Op::Append { s, count, exp, off } => {
                    let name = stream_name(s);
                    let head = model.heads.get(&name).copied();
                    let expected = match exp {
                        0 => ExpectedRevision::Any,
                        1 => ExpectedRevision::NoStream,
                        2 => ExpectedRevision::StreamExists,
                        // The current revision, one ahead, or one stale.
                        _ => {
                            let h = head.unwrap_or(0);
                            ExpectedRevision::Exact(match off {
                                0 => h,
                                1 => h + 1,
                                _ => h.saturating_sub(1),
                            })
                        }
                    };
                    let events: Vec<_> = (0..count)
                        .map(|_| {
                            next_id += 1;
                            event(next_id, "E")
                        })
                        .collect();
                    let current = head.map_or(CurrentRevision::NoStream, CurrentRevision::Current);
                    let ok = match (expected, head) {
                        (ExpectedRevision::Any, _) => true,
                        (ExpectedRevision::NoStream, h) => h.is_none(),
                        (ExpectedRevision::StreamExists, h) => h.is_some(),
                        (ExpectedRevision::Exact(n), h) => h == Some(n),
                    };
                    let result = store.append(&stream(&name), expected, events.clone()).await;
                    if ok {
                        let r = result.expect("model says the append succeeds");
                        let first = model.all.len() as u64 + 1;
                        for e in &events {
                            model.all.push((name.clone(), e.event_id));
                        }
                        let rev = head.map_or(0, |h| h + 1) + events.len() as u64 - 1;
                        model.heads.insert(name.clone(), rev);
                        assert_eq!(
                            (r.first_position.0, r.last_position.0, r.stream_revision),
                            (first, model.all.len() as u64, rev)
                        );
                        model
                            .accepted
                            .push((name, events, (first, model.all.len() as u64, rev)));
                    } else {
                        match result {
                            Err(StoreError::WrongExpectedRevision {
                                stream,
                                expected: e,
                                actual,
                            }) => {
                                assert_eq!((stream, e, actual), (name, expected, current));
                            }
                            other => panic!("model says conflict, store says {other:?}"),
                        }
                    }
                }
                Op::Retry { which } => {
                    if model.accepted.is_empty() {
                        continue;
                    }
                    let (name, events, original) =
                        model.accepted[which as usize % model.accepted.len()].clone();
                    let r = store
                        .append(&stream(&name), ExpectedRevision::NoStream, events)
                        .await
                        .unwrap();
                    assert!(r.already_stored);
                    assert_eq!(
                        (r.first_position.0, r.last_position.0, r.stream_revision),
                        original
                    );
                }
                Op::Forge { which } => {
                    if model.accepted.is_empty() {
                        continue;
                    }
                    let (name, mut events, _) =
                        model.accepted[which as usize % model.accepted.len()].clone();
                    events[0].payload.push(b'!');
                    let r = store
                        .append(&stream(&name), ExpectedRevision::Any, events)
                        .await;
                    assert!(
                        matches!(r, Err(StoreError::EventIdConflict { .. })),
                        "{r:?}"
                    );
                }
                Op::ReadStream {
                    s,
                    from,
                    backwards,
                    limit,
                } => {
                    let name = stream_name(s);
                    let ids: Vec<_> = model
                        .all
                        .iter()
                        .enumerate()
                        .filter(|(_, (n, _))| *n == name)
                        .map(|(i, (_, id))| (i as u64 + 1, *id))
                        .collect();
                    let from = u64::from(from);
                    let expected: Vec<_> = if backwards {
                        ids.iter()
                            .enumerate()
                            .rev()
                            .filter(|(r, _)| *r as u64 <= from)
                            .take(limit as usize)
                            .map(|(_, x)| *x)
                            .collect()
                    } else {
                        ids.iter()
                            .enumerate()
                            .filter(|(r, _)| *r as u64 >= from)
                            .take(limit as usize)
                            .map(|(_, x)| *x)
                            .collect()
                    };
                    let dir = if backwards {
                        Direction::Backwards
                    } else {
                        Direction::Forwards
                    };
                    let got = store
                        .read_stream(
                            &stream(&name),
                            StreamStart::Revision(from),
                            dir,
                            limit as usize,
                        )
                        .await
                        .unwrap();
                    assert_eq!(
                        got.iter()
                            .map(|e| (e.position.0, e.event_id))
                            .collect::<Vec<_>>(),
                        expected
                    );
                }
                Op::ReadAll {
                    from,
                    backwards,
                    limit,
                } => {
                    let n = model.all.len() as u64;
                    let from = u64::from(from);
                    let positions: Vec<u64> = if backwards {
                        (1..=from.min(n)).rev().take(limit as usize).collect()
                    } else {
                        (from.max(1)..=n).take(limit as usize).collect()
                    };
                    let dir = if backwards {
                        Direction::Backwards
                    } else {
                        Direction::Forwards
                    };
                    let got = store
                        .read_all(AllStart::Position(Position(from)), dir, limit as usize)
                        .await
                        .unwrap();
                    let want: Vec<_> = positions
                        .iter()
                        .map(|p| (*p, model.all[*p as usize - 1].1))
                        .collect();
                    assert_eq!(
                        got.iter()
                            .map(|e| (e.position.0, e.event_id))
                            .collect::<Vec<_>>(),
                        want
                    );
                }
                Op::ReadCategory {
                    c,
                    from,
                    backwards,
                    limit,
                } => {
                    let cat = if c == 0 { "customer" } else { "ticket" };
                    let from = u64::from(from);
                    let matching = model
                        .all
                        .iter()
                        .enumerate()
                        .filter(|(_, (n, _))| n.starts_with(cat))
                        .map(|(i, _)| i as u64 + 1);
                    let want: Vec<u64> = if backwards {
                        let mut v: Vec<u64> = matching.filter(|&p| p <= from).collect();
                        v.reverse();
                        v.truncate(limit as usize);
                        v
                    } else {
                        matching
                            .filter(|&p| p >= from)
                            .take(limit as usize)
                            .collect()
                    };
                    let got = store
                        .read_filtered(
                            &Filter::Category(cat.into()),
                            AllStart::Position(Position(from)),
                            if backwards {
                                Direction::Backwards
                            } else {
                                Direction::Forwards
                            },
                            limit as usize,
                        )
                        .await
                        .unwrap();
                    assert_eq!(got.iter().map(|e| e.position.0).collect::<Vec<_>>(), want);
                }
                Op::Reopen => {
                    store = reopen(store).await;
                }
            }
        }
        assert_eq!(store.head().await.unwrap().0, model.all.len() as u64);
        let report = store.verify().await.unwrap();
        assert!(report.is_ok(), "{:?}", report.findings);
    }
}
