//! What is particular to the PostgreSQL backend: notifications between stores on one
//! database, and `verify` finding rows changed behind the store's back.

mod common;

use std::time::Duration;

use crm_eventstore::conformance::{event, stream};
use crm_eventstore::{EventLog, ExpectedRevision, Filter, FindingKind, Position};
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
