//! What is particular to the PostgreSQL backend: notifications between stores on one
//! database, and `verify` finding rows changed behind the store's back.

mod common;

use std::time::Duration;

use crm_eventstore::conformance::{event, stream};
use crm_eventstore::{
    AllStart, Direction, EventLog, ExpectedRevision, Filter, FindingKind, Position, StoreError,
};
use crm_eventstore_pg::{PgConfig, PgEventStore};
use tokio_postgres::NoTls;

/// A subscription on one store is woken by a NOTIFY from an append on another store (another
/// node), long before its poll interval would have made it look.
#[tokio::test]
async fn an_append_on_one_node_wakes_a_subscription_on_another() {
    let Some(config) = common::fresh_database().await else {
        return;
    };
    let slow_poll = |config| PgConfig {
        poll_interval: Duration::from_secs(120),
        ..PgConfig::new(config)
    };
    let a = PgEventStore::open(slow_poll(config.clone()))
        .await
        .expect("open a");
    let b = PgEventStore::open(slow_poll(config)).await.expect("open b");
    let mut sub = b.subscribe(Position(0), Filter::All);
    let mut head = b.watch_head();
    // The subscription is already waiting (it read the empty log) when each append commits.
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..3 {
            let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .expect("woken by the notification, not the 120 s poll")
                .expect("read")
                .expect("open");
            got.push(e.position.0);
        }
        got
    });
    for n in 0..3u64 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.append(
            &stream("customer-1"),
            ExpectedRevision::Any,
            vec![event(n, "E")],
        )
        .await
        .expect("append on a");
    }
    assert_eq!(reader.await.expect("reader"), vec![1, 2, 3]);
    tokio::time::timeout(Duration::from_secs(10), head.wait_for(|h| *h >= 3))
        .await
        .expect("b's head watch follows a's appends")
        .expect("watch open");
}

/// `verify` walks the table: a payload changed in place breaks the chain at its row, a row
/// deleted leaves a gap in positions and in its stream's revisions.
#[tokio::test]
async fn verify_finds_rows_altered_or_deleted_behind_the_stores_back() {
    let Some(config) = common::fresh_database().await else {
        return;
    };
    let store = PgEventStore::open(PgConfig::new(config.clone()))
        .await
        .expect("open");
    for n in 0..10u64 {
        store
            .append(
                &stream(&format!("customer-{}", n % 2)),
                ExpectedRevision::Any,
                vec![event(n, "E")],
            )
            .await
            .expect("append");
    }
    let clean = store.verify().await.expect("verify");
    assert!(clean.is_ok(), "{:?}", clean.findings);
    assert_eq!((clean.records, clean.last_position), (10, Position(10)));

    let (client, connection) = config.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
        .execute(
            "UPDATE events SET payload = 'altered' WHERE position = 4",
            &[],
        )
        .await
        .expect("update");
    let report = store.verify().await.expect("verify");
    let kinds: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.position))
        .collect();
    assert_eq!(kinds, vec![(FindingKind::HashChain, Position(4))]);

    client
        .execute("DELETE FROM events WHERE position = 7", &[])
        .await
        .expect("delete");
    let report = store.verify().await.expect("verify");
    let kinds: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.position))
        .collect();
    assert!(
        kinds.contains(&(FindingKind::Ordering, Position(7))),
        "{:?}",
        report.findings
    );
    assert!(
        kinds.contains(&(FindingKind::HashChain, Position(8))),
        "{:?}",
        report.findings
    );
    assert_eq!(report.records, 9);
}

/// A database whose default isolation is repeatable read: appends still see the commit made
/// before their lock was granted (they run read committed), so three stores appending at
/// once still get gap-free, unique positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_stay_gap_free_when_the_database_defaults_to_repeatable_read() {
    let Some(config) = common::fresh_database().await else {
        return;
    };
    let (client, connection) = config.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    let name = config.get_dbname().expect("a database name");
    client
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
        ))
        .await
        .expect("alter database");
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(
            PgEventStore::open(PgConfig::new(config.clone()))
                .await
                .expect("open"),
        );
    }
    crm_eventstore::conformance::concurrent_appenders(stores).await;
}

/// Appends waiting together are committed in one group (module `append`), each still checked
/// on its own against the log and the appends before it in the group: of many racing
/// `NoStream` appends to one stream exactly one wins; a retry of an event id answers with the
/// first append's result; other content under a stored id is refused; positions stay
/// gap-free and each stream's revisions consecutive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_committed_in_one_group_are_each_checked_against_the_ones_before_them() {
    let Some(pg) = common::fresh_store().await else {
        return;
    };
    let mut tasks = Vec::new();
    for n in 0..64u64 {
        let pg = pg.clone();
        tasks.push(tokio::spawn(async move {
            let (name, expected, event) = match n % 4 {
                // 16 racers for one new stream.
                0 => (
                    "customer-race",
                    ExpectedRevision::NoStream,
                    event(1_000 + n, "A"),
                ),
                // The same event, sent 16 times.
                1 => ("customer-retry", ExpectedRevision::Any, event(7, "A")),
                // 16 appends to streams of their own.
                2 => ("customer-own", ExpectedRevision::Any, event(2_000 + n, "A")),
                // An id the retries use, with other content.
                _ => ("customer-clash", ExpectedRevision::Any, {
                    let mut e = event(7, "A");
                    e.payload = b"other".to_vec();
                    e
                }),
            };
            let result = pg.append(&stream(name), expected, vec![event]).await;
            (n % 4, result)
        }));
    }
    // Event 7 goes out 16 times with one content and 16 times with another: whichever is
    // committed first holds the id, its 15 twins answer with its result, the other 16 clash.
    let (mut won, mut lost, mut seven, mut twins, mut clashes) = (0, 0, None, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            (0, Ok(_)) => won += 1,
            (0, Err(StoreError::WrongExpectedRevision { .. })) => lost += 1,
            (2, Ok(r)) => assert!(!r.already_stored),
            (1 | 3, Ok(r)) => {
                twins += 1;
                let first = *seven.get_or_insert((r.first_position, r.stream_revision));
                assert_eq!((r.first_position, r.stream_revision), first);
            }
            (1 | 3, Err(StoreError::EventIdConflict { .. })) => clashes += 1,
            (kind, other) => panic!("append kind {kind}: unexpected {other:?}"),
        }
    }
    assert_eq!((won, lost), (1, 15), "one NoStream append wins the race");
    assert_eq!((twins, clashes), (16, 16));
    let all = pg
        .read_all(AllStart::Start, Direction::Forwards, 1_000)
        .await
        .unwrap();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position.0, i as u64 + 1, "gap-free");
    }
    assert_eq!(
        all.len(),
        1 + 1 + 16,
        "the race's winner, event 7 once, 16 own appends"
    );
    assert!(pg.verify().await.unwrap().is_ok());
}
