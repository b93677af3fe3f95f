//! Behaviour of the store through its public API, on real files.
//!
//! Each test opens a store in a fresh temporary directory.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::sync::Arc;

use common::{event, stream};
use crm_eventstore::{
    AllStart, CurrentRevision, Direction, EventStore, ExpectedRevision, Filter, Position,
    StoreConfig, StoreError, StreamStart, Upcasters,
};

fn open(dir: &std::path::Path) -> EventStore {
    EventStore::open(dir, StoreConfig::default()).expect("open")
}

fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_size_max_bytes: 4096,
        ..StoreConfig::default()
    }
}

#[tokio::test]
async fn appends_get_gap_free_positions_and_stream_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = stream("customer-a");
    let b = stream("customer-b");
    let r1 = store
        .append(
            &a,
            ExpectedRevision::NoStream,
            vec![event(1, "Registered"), event(2, "Assigned")],
        )
        .await
        .unwrap();
    assert_eq!(
        (r1.first_position, r1.last_position, r1.stream_revision),
        (Position(1), Position(2), 1)
    );
    let r2 = store
        .append(&b, ExpectedRevision::Any, vec![event(3, "Registered")])
        .await
        .unwrap();
    assert_eq!((r2.first_position, r2.stream_revision), (Position(3), 0));
    let r3 = store
        .append(&a, ExpectedRevision::Exact(1), vec![event(4, "Contacted")])
        .await
        .unwrap();
    assert_eq!((r3.first_position, r3.stream_revision), (Position(4), 2));
    assert_eq!(store.head(), Position(4));
    assert_eq!(store.stream_revision(&a).unwrap(), Some(2));
    assert_eq!(
        store.stream_revision(&stream("customer-none")).unwrap(),
        None
    );

    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 100)
        .unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, vec![1, 2, 3, 4]);
    assert_eq!(all[3].event_type, "Contacted");
    assert_eq!(all[3].revision, 2);
    assert_eq!(all[3].metadata, event(4, "Contacted").metadata);
    assert_eq!(all[3].payload, event(4, "Contacted").payload);
}

#[tokio::test]
async fn a_wrong_expected_revision_names_stream_expected_and_actual_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = stream("customer-a");
    store
        .append(&a, ExpectedRevision::NoStream, vec![event(1, "Registered")])
        .await
        .unwrap();
    let cases = [
        (ExpectedRevision::NoStream, CurrentRevision::Current(0)),
        (ExpectedRevision::Exact(5), CurrentRevision::Current(0)),
    ];
    for (expected, actual) in cases {
        match store
            .append(&a, expected, vec![event(2, "X"), event(3, "Y")])
            .await
        {
            Err(StoreError::WrongExpectedRevision {
                stream,
                expected: e,
                actual: got,
            }) => {
                assert_eq!((stream.as_str(), e, got), ("customer-a", expected, actual));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    let err = store
        .append(
            &stream("customer-new"),
            ExpectedRevision::StreamExists,
            vec![event(9, "X")],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("customer-new"), "{err}");
    assert!(err.to_string().contains("no stream"), "{err}");
    assert_eq!(store.head(), Position(1), "nothing was written");
}

#[tokio::test]
async fn retrying_the_same_events_returns_the_first_result_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = stream("customer-a");
    let batch = vec![event(1, "Registered"), event(2, "Assigned")];
    let first = store
        .append(&a, ExpectedRevision::NoStream, batch.clone())
        .await
        .unwrap();
    // The retry carries the same stale expectation; it must still get the original answer.
    let again = store
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
    assert_eq!(store.head(), Position(2));
}

#[tokio::test]
async fn the_same_event_id_with_other_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = stream("customer-a");
    store
        .append(&a, ExpectedRevision::Any, vec![event(1, "Registered")])
        .await
        .unwrap();
    let mut changed = event(1, "Registered");
    changed.payload = b"different".to_vec();
    match store.append(&a, ExpectedRevision::Any, vec![changed]).await {
        Err(StoreError::EventIdConflict { position, .. }) => assert_eq!(position, Position(1)),
        other => panic!("{other:?}"),
    }
    // Same id on another stream is other content too.
    let err = store
        .append(
            &stream("customer-b"),
            ExpectedRevision::Any,
            vec![event(1, "Registered")],
        )
        .await;
    assert!(
        matches!(err, Err(StoreError::EventIdConflict { .. })),
        "{err:?}"
    );
    // Mixing a stored id with new ones is refused as a whole.
    let err = store
        .append(
            &a,
            ExpectedRevision::Any,
            vec![event(1, "Registered"), event(2, "X")],
        )
        .await;
    assert!(
        matches!(err, Err(StoreError::PartiallyStored { .. })),
        "{err:?}"
    );
    assert_eq!(store.head(), Position(1));
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = stream("customer-a");
    assert!(matches!(
        store.append(&a, ExpectedRevision::Any, vec![]).await,
        Err(StoreError::InvalidAppend { .. })
    ));
    let dup = vec![event(1, "A"), event(1, "A")];
    assert!(matches!(
        store.append(&a, ExpectedRevision::Any, dup).await,
        Err(StoreError::InvalidAppend { .. })
    ));
    let mut bad_type = event(2, "A");
    bad_type.event_type = "has space".into();
    assert!(matches!(
        store
            .append(&a, ExpectedRevision::Any, vec![bad_type])
            .await,
        Err(StoreError::InvalidEvent { .. })
    ));
    let mut big = event(3, "A");
    big.payload = vec![0; crm_eventstore::PAYLOAD_LEN_MAX + 1];
    assert!(matches!(
        store.append(&a, ExpectedRevision::Any, vec![big]).await,
        Err(StoreError::InvalidEvent { .. })
    ));
    let mut no_actor = event(4, "A");
    no_actor.metadata.actor.clear();
    assert!(matches!(
        store
            .append(&a, ExpectedRevision::Any, vec![no_actor])
            .await,
        Err(StoreError::InvalidEvent { .. })
    ));
    assert!(matches!(
        store.read_all(AllStart::Start, Direction::Forwards, 1_000_000),
        Err(StoreError::InvalidRead(_))
    ));
    assert!(matches!(
        store.read_position(Position(7)),
        Err(StoreError::InvalidRead(_))
    ));
    assert_eq!(store.head(), Position(0));
}

#[tokio::test]
async fn reads_walk_streams_all_categories_and_types_both_ways_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments so reads cross segment boundaries.
    let store = EventStore::open(dir.path(), small_segments()).unwrap();
    for n in 0..60u64 {
        let (s, t) = if n % 3 == 0 {
            ("ticket", "Opened")
        } else {
            ("customer", "Contacted")
        };
        let name = stream(&format!("{s}-{}", n % 4));
        store
            .append(&name, ExpectedRevision::Any, vec![event(n, t)])
            .await
            .unwrap();
    }
    let all = store
        .read_all(AllStart::Start, Direction::Forwards, 1000)
        .unwrap();
    assert_eq!(all.len(), 60);
    assert!(all
        .windows(2)
        .all(|w| w[1].position.0 == w[0].position.0 + 1));

    let from10 = store
        .read_all(AllStart::Position(Position(10)), Direction::Forwards, 5)
        .unwrap();
    assert_eq!(
        from10.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        vec![10, 11, 12, 13, 14]
    );
    let back = store
        .read_all(AllStart::End, Direction::Backwards, 3)
        .unwrap();
    assert_eq!(
        back.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        vec![60, 59, 58]
    );
    let back_from = store
        .read_all(AllStart::Position(Position(2)), Direction::Backwards, 10)
        .unwrap();
    assert_eq!(
        back_from.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        vec![2, 1]
    );

    let s1 = stream("customer-1");
    let fwd = store
        .read_stream(&s1, StreamStart::Start, Direction::Forwards, 100)
        .unwrap();
    let expected: Vec<u64> = all
        .iter()
        .filter(|e| e.stream == "customer-1")
        .map(|e| e.position.0)
        .collect();
    assert_eq!(
        fwd.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        expected
    );
    assert!(fwd.iter().enumerate().all(|(i, e)| e.revision == i as u64));
    let bwd = store
        .read_stream(&s1, StreamStart::End, Direction::Backwards, 2)
        .unwrap();
    assert_eq!(
        bwd.iter().map(|e| e.revision).collect::<Vec<_>>(),
        vec![expected.len() as u64 - 1, expected.len() as u64 - 2]
    );
    let mid = store
        .read_stream(&s1, StreamStart::Revision(2), Direction::Forwards, 2)
        .unwrap();
    assert_eq!(
        mid.iter().map(|e| e.revision).collect::<Vec<_>>(),
        vec![2, 3]
    );

    let tickets = store
        .read_filtered(
            &Filter::Category("ticket".into()),
            AllStart::Start,
            Direction::Forwards,
            1000,
        )
        .unwrap();
    assert_eq!(tickets.len(), 20);
    assert!(tickets.iter().all(|e| e.category() == "ticket"));
    let opened_back = store
        .read_filtered(
            &Filter::EventType("Opened".into()),
            AllStart::End,
            Direction::Backwards,
            3,
        )
        .unwrap();
    assert_eq!(
        opened_back.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        vec![58, 55, 52]
    );
    let contacted = store
        .read_filtered(
            &Filter::EventType("Contacted".into()),
            AllStart::Position(Position(50)),
            Direction::Forwards,
            1000,
        )
        .unwrap();
    assert!(contacted
        .iter()
        .all(|e| e.position.0 >= 50 && e.event_type == "Contacted"));
    // n in 49..=59 with n % 3 != 0: 49, 50, 52, 53, 55, 56, 58, 59.
    assert_eq!(contacted.len(), 8);
}

#[tokio::test]
async fn the_store_reopens_where_it_left_off_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = EventStore::open(dir.path(), small_segments()).unwrap();
        for n in 0..100u64 {
            let expected = if n == 0 {
                ExpectedRevision::NoStream
            } else {
                ExpectedRevision::Exact(n - 1)
            };
            store
                .append(&stream("customer-x"), expected, vec![event(n, "E")])
                .await
                .unwrap();
        }
        store.close().await.unwrap();
        store
            .read_all(AllStart::Start, Direction::Forwards, 1000)
            .unwrap()
    };
    let store = EventStore::open(dir.path(), small_segments()).unwrap();
    assert_eq!(store.recovery_report().records_reindexed, 0);
    assert_eq!(
        store
            .read_all(AllStart::Start, Direction::Forwards, 1000)
            .unwrap(),
        before
    );
    let r = store
        .append(
            &stream("customer-x"),
            ExpectedRevision::Exact(99),
            vec![event(100, "E")],
        )
        .await
        .unwrap();
    assert_eq!(r.first_position, Position(101));
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn a_deleted_index_is_rebuilt_from_the_segments_with_identical_reads() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = |store: &EventStore| {
        (
            store
                .read_all(AllStart::Start, Direction::Forwards, 10_000)
                .unwrap(),
            store
                .read_stream(
                    &stream("customer-2"),
                    StreamStart::Start,
                    Direction::Forwards,
                    10_000,
                )
                .unwrap(),
            store
                .read_filtered(
                    &Filter::Category("ticket".into()),
                    AllStart::Start,
                    Direction::Forwards,
                    10_000,
                )
                .unwrap(),
            store
                .read_filtered(
                    &Filter::EventType("Opened".into()),
                    AllStart::End,
                    Direction::Backwards,
                    10_000,
                )
                .unwrap(),
            store.stream_revision(&stream("customer-2")).unwrap(),
        )
    };
    let before = {
        let store = EventStore::open(dir.path(), small_segments()).unwrap();
        for n in 0..300u64 {
            let name = if n % 5 == 0 {
                format!("ticket-{}", n % 7)
            } else {
                format!("customer-{}", n % 7)
            };
            let t = if n % 5 == 0 { "Opened" } else { "Contacted" };
            store
                .append(&stream(&name), ExpectedRevision::Any, vec![event(n, t)])
                .await
                .unwrap();
        }
        store.close().await.unwrap();
        snapshot(&store)
    };
    std::fs::remove_dir_all(crm_eventstore::index_dir(dir.path())).unwrap();
    let store = EventStore::open(dir.path(), small_segments()).unwrap();
    assert!(store.recovery_report().index_rebuilt);
    assert_eq!(store.recovery_report().records_reindexed, 300);
    assert_eq!(snapshot(&store), before);
    // Idempotency survives the rebuild: the event-id index came back with its digests.
    let again = store
        .append(
            &stream("customer-1"),
            ExpectedRevision::Any,
            vec![event(1, "Contacted")],
        )
        .await
        .unwrap();
    assert!(again.already_stored);
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn lost_or_damaged_event_id_runs_rebuild_the_index_and_retries_are_still_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let config = || StoreConfig {
        index_table_records: 10, // a run per 10 records, merged eight at a time
        ..small_segments()
    };
    {
        let store = EventStore::open(dir.path(), config()).unwrap();
        for n in 0..200u64 {
            store
                .append(
                    &stream(&format!("customer-{}", n % 7)),
                    ExpectedRevision::Any,
                    vec![event(n, "Contacted")],
                )
                .await
                .unwrap();
        }
        store.close().await.unwrap();
    }
    let runs = crm_eventstore::index_dir(dir.path()).join("event-ids");
    let files = || {
        let mut names: Vec<_> = std::fs::read_dir(&runs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
    };
    assert!(!files().is_empty(), "event ids live in runs beside sled");
    let retry_is_recognised = |store: EventStore| async move {
        for n in [0u64, 77, 199] {
            let again = store
                .append(
                    &stream(&format!("customer-{}", n % 7)),
                    ExpectedRevision::Any,
                    vec![event(n, "Contacted")],
                )
                .await
                .unwrap();
            assert!(again.already_stored, "event {n} was recognised as stored");
        }
        assert_eq!(store.head(), Position(200), "nothing was appended twice");
        assert!(store.verify().unwrap().is_ok());
        store.close().await.unwrap();
    };

    // One run removed behind the store's back: the gap is noticed and the index rebuilt.
    std::fs::remove_file(&files()[0]).unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    assert!(store.recovery_report().index_rebuilt);
    retry_is_recognised(store).await;

    // One run's footer damaged: the run is not trusted, the index is rebuilt.
    let victim = files()[0].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&victim, &bytes).unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    assert!(store.recovery_report().index_rebuilt);
    retry_is_recognised(store).await;
}

#[tokio::test]
async fn many_writers_on_one_stream_with_exact_revisions_win_exactly_once_per_revision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let s = stream("customer-contended");
    store
        .append(&s, ExpectedRevision::NoStream, vec![event(0, "E")])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..32u64 {
        let store = store.clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            for attempt in 0..20u64 {
                let current = store.stream_revision(&s).unwrap().unwrap();
                let id = 1_000 + w * 100 + attempt;
                match store
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
    let n = revisions.len() as u64;
    assert!(n > 0);
    assert_eq!(
        revisions,
        (1..=n).collect::<Vec<_>>(),
        "each revision won exactly once"
    );
    let events = store
        .read_stream(&s, StreamStart::Start, Direction::Forwards, 10_000)
        .unwrap();
    assert_eq!(events.len() as u64, n + 1);
}

#[tokio::test]
async fn many_writers_on_different_streams_all_succeed_with_gap_free_positions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut tasks = Vec::new();
    for w in 0..64u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let s = stream(&format!("customer-{w}"));
            let mut positions = Vec::new();
            for i in 0..25u64 {
                let expected = if i == 0 {
                    ExpectedRevision::NoStream
                } else {
                    ExpectedRevision::Exact(i - 1)
                };
                let r = store
                    .append(&s, expected, vec![event(w * 1000 + i, "E")])
                    .await
                    .unwrap();
                positions.push(r.first_position.0);
            }
            positions
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=64 * 25).collect::<Vec<u64>>());
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn a_subscription_catches_up_then_goes_live_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), small_segments()).unwrap();
    for n in 0..1500u64 {
        store
            .append(
                &stream(&format!("customer-{}", n % 3)),
                ExpectedRevision::Any,
                vec![event(n, "E")],
            )
            .await
            .unwrap();
    }
    let mut sub = store.subscribe(Position(100), Filter::All);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 1500..2500u64 {
                store
                    .append(
                        &stream(&format!("customer-{}", n % 3)),
                        ExpectedRevision::Any,
                        vec![event(n, "E")],
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 2400 {
        let e = tokio::time::timeout(std::time::Duration::from_secs(20), sub.next())
            .await
            .expect("live events arrive")
            .unwrap()
            .unwrap();
        seen.push(e.position.0);
    }
    writer.await.unwrap();
    assert_eq!(seen, (101..=2500).collect::<Vec<u64>>());
}

#[tokio::test]
async fn filtered_subscriptions_deliver_only_their_category_or_type_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut by_category = store.subscribe(Position(0), Filter::Category("ticket".into()));
    let mut by_type = store.subscribe(Position(0), Filter::EventType("Opened".into()));
    for n in 0..1200u64 {
        let (name, t) = if n % 4 == 0 {
            (format!("ticket-{n}"), "Opened")
        } else {
            (format!("customer-{}", n % 5), "Contacted")
        };
        store
            .append(&stream(&name), ExpectedRevision::Any, vec![event(n, t)])
            .await
            .unwrap();
    }
    let expected: Vec<u64> = (0..1200u64).filter(|n| n % 4 == 0).map(|n| n + 1).collect();
    for sub in [&mut by_category, &mut by_type] {
        let mut got = Vec::new();
        while got.len() < expected.len() {
            got.push(sub.next().await.unwrap().unwrap().position.0);
        }
        assert_eq!(got, expected);
        assert!(sub.try_next_batch(10).unwrap().is_empty());
    }
    store.close().await.unwrap();
    assert_eq!(
        by_category.next().await.unwrap(),
        None,
        "a closed store ends its subscriptions"
    );
}

#[tokio::test]
async fn a_slow_subscriber_does_not_hold_up_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut sub = store.subscribe(Position(0), Filter::All);
    // Nobody reads the subscription while 5,000 events are appended: the appends finish.
    for n in 0..50u64 {
        let batch = (0..100).map(|i| event(n * 100 + i, "E")).collect();
        store
            .append(&stream("customer-bulk"), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    assert_eq!(store.head(), Position(5000));
    let mut count = 0;
    while count < 5000 {
        sub.next().await.unwrap().unwrap();
        count += 1;
    }
}

#[tokio::test]
async fn old_schema_versions_are_upcast_on_every_read_path() {
    let dir = tempfile::tempdir().unwrap();
    let upcasters = Upcasters::new()
        .register("Registered", 1, |p| Ok([p, b"+v2"].concat()))
        .register("Registered", 2, |p| Ok([p, b"+v3"].concat()));
    let store = EventStore::open_with(
        Arc::new(
            crm_eventstore::segment::DirectoryStorage::open(crm_eventstore::log_dir(dir.path()))
                .unwrap(),
        ),
        &crm_eventstore::index_dir(dir.path()),
        StoreConfig::default(),
        Some(Arc::new(upcasters)),
    )
    .unwrap();
    let mut e = event(1, "Registered");
    e.payload = b"p".to_vec();
    store
        .append(&stream("customer-a"), ExpectedRevision::Any, vec![e])
        .await
        .unwrap();
    let check = |e: &crm_eventstore::RecordedEvent| {
        assert_eq!(
            (e.schema_version, e.payload.as_slice()),
            (3, &b"p+v2+v3"[..])
        );
    };
    check(
        &store
            .read_all(AllStart::Start, Direction::Forwards, 1)
            .unwrap()[0],
    );
    check(
        &store
            .read_stream(
                &stream("customer-a"),
                StreamStart::Start,
                Direction::Forwards,
                1,
            )
            .unwrap()[0],
    );
    check(&store.read_position(Position(1)).unwrap());
    check(
        &store
            .read_filtered(
                &Filter::Category("customer".into()),
                AllStart::Start,
                Direction::Forwards,
                1,
            )
            .unwrap()[0],
    );
    check(
        &store
            .subscribe(Position(0), Filter::All)
            .next()
            .await
            .unwrap()
            .unwrap(),
    );
    // The bytes on disk stay as written, so the chain still verifies.
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test]
async fn large_batches_read_back_from_any_position_in_any_direction() {
    // One append of 2,000 events: position runs and posting lists split every 256 records,
    // and a reindex from scratch must build the same.
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(
        dir.path(),
        StoreConfig {
            segment_size_max_bytes: 64 * 1024,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let batch: Vec<_> = (0..2000u64)
        .map(|n| event(n, if n % 2 == 0 { "Even" } else { "Odd" }))
        .collect();
    store
        .append(&stream("customer-big"), ExpectedRevision::NoStream, batch)
        .await
        .unwrap();
    store
        .append(
            &stream("ticket-1"),
            ExpectedRevision::NoStream,
            vec![event(5000, "Odd")],
        )
        .await
        .unwrap();
    let check = |store: &EventStore| {
        for from in [1u64, 255, 256, 257, 512, 777, 1999, 2000, 2001] {
            let got = store
                .read_all(AllStart::Position(Position(from)), Direction::Forwards, 3)
                .unwrap();
            let want: Vec<u64> = (from..=2001).take(3).collect();
            assert_eq!(
                got.iter().map(|e| e.position.0).collect::<Vec<_>>(),
                want,
                "forwards from {from}"
            );
            let got = store
                .read_all(AllStart::Position(Position(from)), Direction::Backwards, 3)
                .unwrap();
            let want: Vec<u64> = (1..=from).rev().take(3).collect();
            assert_eq!(
                got.iter().map(|e| e.position.0).collect::<Vec<_>>(),
                want,
                "backwards from {from}"
            );
            assert_eq!(
                store.read_position(Position(from)).unwrap().position.0,
                from
            );
            let odd = store
                .read_filtered(
                    &Filter::EventType("Odd".into()),
                    AllStart::Position(Position(from)),
                    Direction::Forwards,
                    2,
                )
                .unwrap();
            let want: Vec<u64> = (from..=2001)
                .filter(|p| p % 2 == 0 || *p == 2001)
                .take(2)
                .collect();
            assert_eq!(
                odd.iter().map(|e| e.position.0).collect::<Vec<_>>(),
                want,
                "odd from {from}"
            );
            let back = store
                .read_filtered(
                    &Filter::Category("customer".into()),
                    AllStart::Position(Position(from)),
                    Direction::Backwards,
                    2,
                )
                .unwrap();
            let want: Vec<u64> = (1..=from.min(2000)).rev().take(2).collect();
            assert_eq!(
                back.iter().map(|e| e.position.0).collect::<Vec<_>>(),
                want,
                "customer back from {from}"
            );
        }
        let s = store
            .read_stream(
                &stream("customer-big"),
                StreamStart::Revision(1500),
                Direction::Forwards,
                600,
            )
            .unwrap();
        assert_eq!(s.len(), 500);
        let revisions = |start: u64, direction: Direction, limit: usize| {
            store
                .read_stream(
                    &stream("customer-big"),
                    StreamStart::Revision(start),
                    direction,
                    limit,
                )
                .unwrap()
                .iter()
                .map(|e| e.revision)
                .collect::<Vec<_>>()
        };
        // Stream lists in sled split every 256 revisions too.
        assert_eq!(
            revisions(250, Direction::Forwards, 10),
            (250..260).collect::<Vec<_>>()
        );
        assert_eq!(
            revisions(700, Direction::Backwards, 300),
            (401..=700).rev().collect::<Vec<_>>()
        );
        assert_eq!(
            store.stream_revision(&stream("customer-big")).unwrap(),
            Some(1999)
        );
    };
    // Indexed in memory; then in sled as the flusher wrote it; then as a rebuild writes it.
    check(&store);
    assert!(store.verify().unwrap().is_ok());
    store.close().await.unwrap();
    drop(store);
    let config = StoreConfig {
        segment_size_max_bytes: 64 * 1024,
        ..StoreConfig::default()
    };
    let store = EventStore::open(dir.path(), config.clone()).unwrap();
    assert_eq!(store.recovery_report().records_reindexed, 0);
    check(&store);
    store.close().await.unwrap();
    drop(store);
    std::fs::remove_dir_all(crm_eventstore::index_dir(dir.path())).unwrap();
    let store = EventStore::open(
        dir.path(),
        StoreConfig {
            segment_size_max_bytes: 64 * 1024,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    check(&store);
    assert!(store.verify().unwrap().is_ok());
}
