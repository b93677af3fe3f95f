//! The conformance suite: one set of checks that every [`EventLog`] backend must pass, run
//! against the segment store (`tests/conformance.rs`) and against PostgreSQL
//! (`crm-eventstore-pg`'s `tests/conformance.rs`). Each check takes a fresh, empty log (the
//! concurrency check takes several handles on one log, e.g. one per connection or node) and
//! panics on the first difference: it is test code, compiled only with the cargo feature
//! `conformance`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed check

pub mod model;

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend::{record_hash, EventLog, EventSubscription};
use crate::segment::GENESIS_HASH;
use crate::types::{
    AllStart, CurrentRevision, Direction, EventMetadata, ExpectedRevision, Filter, NewEvent,
    Position, RecordedEvent, StreamName, StreamStart,
};
use crate::StoreError;

/// How long a check waits for a live event before it fails.
const WAIT: Duration = Duration::from_secs(30);

/// A valid stream name (panics on an invalid one: test names are constants).
pub fn stream(name: &str) -> StreamName {
    StreamName::parse(name).expect("test stream names are valid")
}

/// A deterministic event: the same `n` always gives the same id and content.
pub fn event(n: u64, event_type: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::from_u64_pair(0x0193_0000_0000_7000, n),
        event_type: event_type.to_string(),
        schema_version: 1,
        metadata: EventMetadata {
            actor: "staff-test".into(),
            occurred_at: OffsetDateTime::from_unix_timestamp(1_700_000_000 + n as i64)
                .expect("in range")
                .replace_nanosecond((n % 1_000_000_000) as u32)
                .expect("in range"),
            correlation_id: Some(Uuid::from_u64_pair(1, n)),
            causation_id: (n % 2 == 0).then(|| Uuid::from_u64_pair(3, n)),
            command_id: Some(Uuid::from_u64_pair(2, n)),
        },
        payload: format!(
            "{{\"n\":{n},\"pad\":\"{}\"}}",
            "x".repeat((n % 50) as usize)
        )
        .into_bytes(),
    }
}

fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position.0).collect()
}

/// Any / no stream / stream exists / exact: the rules, the error naming stream, expectation
/// and actual revision, and nothing written on a refusal.
pub async fn expected_revisions<E: EventLog>(log: E) {
    let a = stream("customer-a");
    let r = log
        .append(
            &a,
            ExpectedRevision::NoStream,
            vec![event(1, "Registered"), event(2, "Assigned")],
        )
        .await
        .unwrap();
    assert_eq!(
        (r.first_position, r.last_position, r.stream_revision),
        (Position(1), Position(2), 1)
    );
    let r = log
        .append(&a, ExpectedRevision::Exact(1), vec![event(3, "Contacted")])
        .await
        .unwrap();
    assert_eq!((r.first_position, r.stream_revision), (Position(3), 2));
    let r = log
        .append(
            &a,
            ExpectedRevision::StreamExists,
            vec![event(4, "Contacted")],
        )
        .await
        .unwrap();
    assert_eq!(r.stream_revision, 3);
    let r = log
        .append(&a, ExpectedRevision::Any, vec![event(5, "Contacted")])
        .await
        .unwrap();
    assert_eq!((r.first_position, r.stream_revision), (Position(5), 4));
    let b = stream("customer-b");
    let r = log
        .append(&b, ExpectedRevision::Any, vec![event(6, "Registered")])
        .await
        .unwrap();
    assert_eq!((r.first_position, r.stream_revision), (Position(6), 0));

    let refusals = [
        (&a, ExpectedRevision::NoStream, CurrentRevision::Current(4)),
        (&a, ExpectedRevision::Exact(3), CurrentRevision::Current(4)),
        (&a, ExpectedRevision::Exact(9), CurrentRevision::Current(4)),
        (&b, ExpectedRevision::Exact(1), CurrentRevision::Current(0)),
    ];
    for (name, expected, actual) in refusals {
        match log
            .append(name, expected, vec![event(10, "X"), event(11, "Y")])
            .await
        {
            Err(StoreError::WrongExpectedRevision {
                stream,
                expected: e,
                actual: got,
            }) => assert_eq!((stream.as_str(), e, got), (name.as_str(), expected, actual)),
            other => panic!("{name} {expected}: expected a conflict, got {other:?}"),
        }
    }
    for expected in [ExpectedRevision::StreamExists, ExpectedRevision::Exact(0)] {
        match log
            .append(&stream("customer-none"), expected, vec![event(12, "X")])
            .await
        {
            Err(StoreError::WrongExpectedRevision { actual, .. }) => {
                assert_eq!(actual, CurrentRevision::NoStream)
            }
            other => panic!("{expected} on no stream: {other:?}"),
        }
    }
    assert_eq!(
        log.head().await.unwrap(),
        Position(6),
        "refusals wrote nothing"
    );
    assert_eq!(log.stream_revision(&a).await.unwrap(), Some(4));
    assert_eq!(log.stream_revision(&b).await.unwrap(), Some(0));
    assert_eq!(
        log.stream_revision(&stream("customer-none")).await.unwrap(),
        None
    );
    assert!(log
        .find_event(event(12, "X").event_id)
        .await
        .unwrap()
        .is_none());
}

/// A retried batch returns the first result and writes nothing; the same id with other
/// content, or a batch mixing stored and new ids, is refused; bad input is refused.
pub async fn idempotent_appends<E: EventLog>(log: E) {
    let a = stream("customer-a");
    let batch = vec![event(1, "Registered"), event(2, "Assigned")];
    let first = log
        .append(&a, ExpectedRevision::NoStream, batch.clone())
        .await
        .unwrap();
    log.append(
        &stream("customer-b"),
        ExpectedRevision::Any,
        vec![event(3, "X")],
    )
    .await
    .unwrap();
    // The retry carries the same, now stale, expectation: it still gets the first answer.
    let again = log
        .append(&a, ExpectedRevision::NoStream, batch)
        .await
        .unwrap();
    assert_eq!(
        (
            again.first_position,
            again.last_position,
            again.stream_revision
        ),
        (
            first.first_position,
            first.last_position,
            first.stream_revision
        )
    );
    assert!(again.already_stored && !first.already_stored);
    assert_eq!(log.head().await.unwrap(), Position(3));

    let mut changed = event(1, "Registered");
    changed.payload = b"different".to_vec();
    match log.append(&a, ExpectedRevision::Any, vec![changed]).await {
        Err(StoreError::EventIdConflict { position, .. }) => assert_eq!(position, Position(1)),
        other => panic!("{other:?}"),
    }
    let other_stream = log
        .append(
            &stream("customer-c"),
            ExpectedRevision::Any,
            vec![event(1, "Registered")],
        )
        .await;
    assert!(
        matches!(other_stream, Err(StoreError::EventIdConflict { .. })),
        "{other_stream:?}"
    );
    let mixed = log
        .append(
            &a,
            ExpectedRevision::Any,
            vec![event(1, "Registered"), event(4, "X")],
        )
        .await;
    assert!(
        matches!(mixed, Err(StoreError::PartiallyStored { .. })),
        "{mixed:?}"
    );

    assert!(matches!(
        log.append(&a, ExpectedRevision::Any, vec![]).await,
        Err(StoreError::InvalidAppend { .. })
    ));
    assert!(matches!(
        log.append(
            &a,
            ExpectedRevision::Any,
            vec![event(5, "A"), event(5, "A")]
        )
        .await,
        Err(StoreError::InvalidAppend { .. })
    ));
    let mut bad_type = event(6, "A");
    bad_type.event_type = "has space".into();
    assert!(matches!(
        log.append(&a, ExpectedRevision::Any, vec![bad_type]).await,
        Err(StoreError::InvalidEvent { .. })
    ));
    assert!(matches!(
        log.read_all(AllStart::Start, Direction::Forwards, 1_000_000)
            .await,
        Err(StoreError::InvalidRead(_))
    ));
    assert!(matches!(
        log.read_position(Position(4)).await,
        Err(StoreError::InvalidRead(_))
    ));
    assert!(matches!(
        log.read_position(Position(0)).await,
        Err(StoreError::InvalidRead(_))
    ));
    assert_eq!(
        log.head().await.unwrap(),
        Position(3),
        "nothing else was written"
    );

    let found = log.find_event(event(2, "Assigned").event_id).await.unwrap();
    assert_eq!(
        found.map(|e| (e.position, e.revision)),
        Some((Position(2), 1))
    );
    let at = log.read_position(Position(3)).await.unwrap();
    assert_eq!(
        (at.stream.as_str(), at.event_id, at.payload.clone()),
        ("customer-b", event(3, "X").event_id, event(3, "X").payload)
    );
}

/// Writers on several handles (connections, nodes) at once: every append gets positions that
/// no other got, together exactly 1..=n; one writer's appends get increasing positions; on
/// one contended stream each exact revision is won exactly once.
pub async fn concurrent_appenders<E: EventLog>(logs: Vec<E>) {
    assert!(!logs.is_empty());
    const WRITERS: u64 = 12;
    const APPENDS: u64 = 15;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let log = logs[(w as usize) % logs.len()].clone();
        tasks.push(tokio::spawn(async move {
            let s = stream(&format!("customer-{w}"));
            let mut got = Vec::new();
            let mut expected = ExpectedRevision::NoStream;
            for i in 0..APPENDS {
                let n = (w * 1000 + i) * 4;
                // One or two events, so batches of different sizes interleave.
                let batch: Vec<NewEvent> = (0..1 + i % 2).map(|k| event(n + k, "E")).collect();
                let r = log.append(&s, expected, batch).await.unwrap();
                expected = ExpectedRevision::Exact(r.stream_revision);
                for p in r.first_position.0..=r.last_position.0 {
                    got.push(p);
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "one writer's positions increase"
        );
        all.extend(got);
    }
    all.sort_unstable();
    let n = all.len() as u64;
    assert_eq!(
        all,
        (1..=n).collect::<Vec<u64>>(),
        "positions are gap-free and unique"
    );
    let read = logs[0]
        .read_all(AllStart::Start, Direction::Forwards, 100_000)
        .await
        .unwrap();
    assert_eq!(positions(&read), (1..=n).collect::<Vec<u64>>());
    assert_eq!(logs[logs.len() - 1].head().await.unwrap(), Position(n));

    // One stream, many writers with exact expectations.
    let s = stream("customer-contended");
    logs[0]
        .append(&s, ExpectedRevision::NoStream, vec![event(900_000, "E")])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let log = logs[(w as usize) % logs.len()].clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            for attempt in 0..10u64 {
                let current = log.stream_revision(&s).await.unwrap().unwrap();
                let id = 1_000_000 + w * 100 + attempt;
                match log
                    .append(&s, ExpectedRevision::Exact(current), vec![event(id, "E")])
                    .await
                {
                    Ok(r) => wins.push(r.stream_revision),
                    Err(StoreError::WrongExpectedRevision { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            wins
        }));
    }
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.extend(t.await.unwrap());
    }
    revisions.sort_unstable();
    let wins = revisions.len() as u64;
    assert!(wins > 0);
    assert_eq!(
        revisions,
        (1..=wins).collect::<Vec<_>>(),
        "each revision won once"
    );
    let events = logs[0]
        .read_stream(&s, StreamStart::Start, Direction::Forwards, 10_000)
        .await
        .unwrap();
    assert_eq!(events.len() as u64, wins + 1);
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.revision == i as u64));
    let report = logs[0].verify().await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.records, n + wins + 1);
}

/// Reads of a stream, `$all`, a category and an event type, forwards and backwards, from
/// any start, within limits.
pub async fn reads_both_ways<E: EventLog>(log: E) {
    for n in 0..60u64 {
        let (s, t) = if n % 3 == 0 {
            ("ticket", "Opened")
        } else {
            ("customer", "Contacted")
        };
        log.append(
            &stream(&format!("{s}-{}", n % 4)),
            ExpectedRevision::Any,
            vec![event(n, t)],
        )
        .await
        .unwrap();
    }
    let all = log
        .read_all(AllStart::Start, Direction::Forwards, 1000)
        .await
        .unwrap();
    assert_eq!(positions(&all), (1..=60).collect::<Vec<u64>>());
    for (e, n) in all.iter().zip(0u64..) {
        let sent = event(n, &e.event_type);
        assert_eq!(
            (&e.event_id, &e.metadata, &e.payload, e.schema_version),
            (&sent.event_id, &sent.metadata, &sent.payload, 1),
            "event {n} reads back as written"
        );
    }
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
    let read = |start, direction, limit| log.read_all(start, direction, limit);
    let cases = [
        (
            AllStart::Position(Position(10)),
            Direction::Forwards,
            5,
            vec![10, 11, 12, 13, 14],
        ),
        (AllStart::End, Direction::Backwards, 3, vec![60, 59, 58]),
        (
            AllStart::Position(Position(2)),
            Direction::Backwards,
            10,
            vec![2, 1],
        ),
        (
            AllStart::Position(Position(59)),
            Direction::Forwards,
            10,
            vec![59, 60],
        ),
        (
            AllStart::Position(Position(61)),
            Direction::Forwards,
            10,
            vec![],
        ),
        (AllStart::End, Direction::Forwards, 10, vec![]),
        (AllStart::Start, Direction::Backwards, 10, vec![]),
        (AllStart::Start, Direction::Forwards, 0, vec![]),
    ];
    for (start, direction, limit, want) in cases {
        let got = read(start, direction, limit).await.unwrap();
        assert_eq!(
            positions(&got),
            want,
            "$all {start:?} {direction:?} {limit}"
        );
    }

    let s1 = stream("customer-1");
    let want: Vec<u64> = all
        .iter()
        .filter(|e| e.stream == "customer-1")
        .map(|e| e.position.0)
        .collect();
    let fwd = log
        .read_stream(&s1, StreamStart::Start, Direction::Forwards, 100)
        .await
        .unwrap();
    assert_eq!(positions(&fwd), want);
    assert!(fwd.iter().enumerate().all(|(i, e)| e.revision == i as u64));
    let last = want.len() as u64 - 1;
    let stream_cases = [
        (
            StreamStart::End,
            Direction::Backwards,
            2,
            vec![last, last - 1],
        ),
        (StreamStart::Revision(2), Direction::Forwards, 2, vec![2, 3]),
        (
            StreamStart::Revision(2),
            Direction::Backwards,
            5,
            vec![2, 1, 0],
        ),
        (StreamStart::End, Direction::Forwards, 5, vec![]),
        (
            StreamStart::Revision(last + 1),
            Direction::Forwards,
            5,
            vec![],
        ),
    ];
    for (start, direction, limit, want) in stream_cases {
        let got = log.read_stream(&s1, start, direction, limit).await.unwrap();
        let revisions: Vec<u64> = got.iter().map(|e| e.revision).collect();
        assert_eq!(revisions, want, "stream {start:?} {direction:?} {limit}");
    }
    assert!(log
        .read_stream(
            &stream("customer-none"),
            StreamStart::Start,
            Direction::Forwards,
            5
        )
        .await
        .unwrap()
        .is_empty());

    let tickets = log
        .read_filtered(
            &Filter::Category("ticket".into()),
            AllStart::Start,
            Direction::Forwards,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(tickets.len(), 20);
    assert!(tickets.iter().all(|e| e.category() == "ticket"));
    let opened_back = log
        .read_filtered(
            &Filter::EventType("Opened".into()),
            AllStart::End,
            Direction::Backwards,
            3,
        )
        .await
        .unwrap();
    assert_eq!(positions(&opened_back), vec![58, 55, 52]);
    let opened_back_from = log
        .read_filtered(
            &Filter::Category("ticket".into()),
            AllStart::Position(Position(9)),
            Direction::Backwards,
            10,
        )
        .await
        .unwrap();
    assert_eq!(positions(&opened_back_from), vec![7, 4, 1]);
    let contacted = log
        .read_filtered(
            &Filter::EventType("Contacted".into()),
            AllStart::Position(Position(50)),
            Direction::Forwards,
            1000,
        )
        .await
        .unwrap();
    // n in 49..=59 with n % 3 != 0: 49, 50, 52, 53, 55, 56, 58, 59 (positions n + 1).
    assert_eq!(positions(&contacted), vec![50, 51, 53, 54, 56, 57, 59, 60]);
    let everything = log
        .read_filtered(&Filter::All, AllStart::End, Direction::Backwards, 2)
        .await
        .unwrap();
    assert_eq!(positions(&everything), vec![60, 59]);
    let none = log
        .read_filtered(
            &Filter::Category("nothing".into()),
            AllStart::Start,
            Direction::Forwards,
            10,
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn next_of<S: EventSubscription>(sub: &mut S) -> RecordedEvent {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("an event arrives in time")
        .unwrap()
        .expect("the subscription is open")
}

/// A subscription catches up from a position, then goes live while a writer appends, with no
/// gap and no duplicate; filtered subscriptions deliver only their category or type, in
/// order; the head watch moves.
pub async fn subscriptions<E: EventLog>(log: E) {
    let append = |log: E, n: u64| async move {
        let (name, t) = if n % 4 == 0 {
            (format!("ticket-{n}"), "Opened")
        } else {
            (format!("customer-{}", n % 5), "Contacted")
        };
        log.append(&stream(&name), ExpectedRevision::Any, vec![event(n, t)])
            .await
            .unwrap();
    };
    for n in 0..200u64 {
        append(log.clone(), n).await;
    }
    let mut watch = log.watch_head();
    watch.borrow_and_update();
    let mut sub = log.subscribe(Position(50), Filter::All);
    let mut by_category = log.subscribe(Position(0), Filter::Category("ticket".into()));
    let mut by_type = log.subscribe(Position(20), Filter::EventType("Opened".into()));
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            for n in 200..400u64 {
                append(log.clone(), n).await;
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 350 {
        seen.push(next_of(&mut sub).await.position.0);
    }
    writer.await.unwrap();
    assert_eq!(
        seen,
        (51..=400).collect::<Vec<u64>>(),
        "no gap, no duplicate"
    );
    let ticket_positions: Vec<u64> = (0..400u64).filter(|n| n % 4 == 0).map(|n| n + 1).collect();
    let mut got = Vec::new();
    while got.len() < ticket_positions.len() {
        let e = next_of(&mut by_category).await;
        assert_eq!(e.category(), "ticket");
        got.push(e.position.0);
    }
    assert_eq!(got, ticket_positions);
    let after_20: Vec<u64> = ticket_positions.into_iter().filter(|&p| p > 20).collect();
    let mut got = Vec::new();
    while got.len() < after_20.len() {
        let e = next_of(&mut by_type).await;
        assert_eq!(e.event_type, "Opened");
        got.push(e.position.0);
    }
    assert_eq!(got, after_20);
    // Nothing more is delivered until something more is appended.
    let quiet = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(quiet.is_err(), "no event past the head: {quiet:?}");
    append(log.clone(), 400).await;
    assert_eq!(next_of(&mut sub).await.position, Position(401));
    assert_eq!(next_of(&mut by_category).await.position, Position(401));
    tokio::time::timeout(WAIT, watch.changed())
        .await
        .expect("the head watch moves")
        .unwrap();
    assert!(*watch.borrow() >= 201);
    assert_eq!(log.head().await.unwrap(), Position(401));
}

/// Every record's hash follows from the one before and its content by [`record_hash`] (the
/// segment store's own rule), `verify` finds nothing and ends in the last record's hash.
pub async fn hash_chain<E: EventLog>(log: E) {
    let empty = log.verify().await.unwrap();
    assert!(empty.is_ok());
    assert_eq!((empty.records, empty.head_hash), (0, GENESIS_HASH));
    for n in 0..40u64 {
        let batch = (0..1 + n % 3).map(|k| event(n * 10 + k, "E")).collect();
        log.append(
            &stream(&format!("account-{}", n % 6)),
            ExpectedRevision::Any,
            batch,
        )
        .await
        .unwrap();
    }
    let all = log
        .read_all(AllStart::Start, Direction::Forwards, 10_000)
        .await
        .unwrap();
    let mut previous = GENESIS_HASH;
    for e in &all {
        assert_eq!(
            record_hash(&previous, e).unwrap(),
            e.hash,
            "position {}",
            e.position
        );
        previous = e.hash;
    }
    let mut altered = all[5].clone();
    altered.payload.push(b'!');
    assert_ne!(record_hash(&all[4].hash, &altered).unwrap(), all[5].hash);
    let report = log.verify().await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.records, all.len() as u64);
    assert_eq!(report.last_position, Position(all.len() as u64));
    assert_eq!(report.head_hash, previous);
}
