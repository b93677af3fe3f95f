//! Health, readiness with a projection probe, metrics, the router without a socket,
//! and graceful shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use crm_eventstore::{EventStore, Position};
use crm_graphql::{app, AppState, ProjectionProbe, ProjectionProgress};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::common::{test_config, Server};
use crate::ws::{connect, init, recv};

struct Probe(Arc<AtomicU64>);

impl ProjectionProbe for Probe {
    fn progress(&self) -> Vec<ProjectionProgress> {
        vec![ProjectionProgress {
            name: "customers".into(),
            checkpoint: Position(self.0.load(Ordering::SeqCst)),
        }]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_answers_without_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), Default::default()).unwrap();
    let router = app(AppState::new(test_config(), store).unwrap());
    let response = router
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_projection_lag() {
    let checkpoint = Arc::new(AtomicU64::new(0));
    let mut config = test_config();
    config.readiness.projection_lag_events_max = 2;
    let probe = Probe(checkpoint.clone());
    let server = Server::start_state(config.clone(), |b, store| {
        // A stand-in probe replaces the real read models, which would stop at the raw test
        // events appended here.
        b.schema(crm_graphql::build_schema(&config, store.clone()))
            .probe(Arc::new(probe))
    })
    .await;
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    server.append("customer-1", "CustomerRegistered", 5).await;
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Json = ready.json().await.unwrap();
    assert_eq!(body["projections"][0]["lag"], 5, "{body}");
    assert!(body["problems"][0].as_str().unwrap().contains("customers"));

    checkpoint.store(4, Ordering::SeqCst);
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_errors_the_store_and_projection_lag() {
    let checkpoint = Arc::new(AtomicU64::new(1));
    let probe = Probe(checkpoint);
    let config = test_config();
    let server = Server::start_state(config.clone(), |b, store| {
        // A stand-in probe replaces the real read models, which would stop at the raw test
        // events appended here.
        b.schema(crm_graphql::build_schema(&config, store.clone()))
            .probe(Arc::new(probe))
    })
    .await;
    // A first scrape marks the head, so appends after it are counted.
    server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    server.append("customer-1", "CustomerRegistered", 3).await;
    server
        .query(&server.auditor(), "{ me { role } }", json!({}))
        .await;
    server
        .query(
            &server.customer_manager(),
            "{ logStatus { headPosition } }",
            json!({}),
        )
        .await;
    server.post(None, json!({"query": "{ me { role } }"})).await;
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for expected in [
        r#"graphql_requests_total{operation_type="query",status="200"} 2"#,
        r#"graphql_requests_total{operation_type="none",status="401"} 1"#,
        r#"graphql_request_duration_seconds_bucket{le="#,
        r#"graphql_errors_total{code="FORBIDDEN"} 1"#,
        r#"graphql_errors_total{code="UNAUTHENTICATED"} 1"#,
        "eventstore_head_position 3",
        "eventstore_events_appended_total 3",
        r#"projection_lag_events{projection="customers"} 2"#,
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_request_in_flight_and_closes_websockets() {
    let mut server = Server::start().await;
    let token = server.auditor();
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &token).await;

    // A request whose headers have arrived and whose body has not: in flight in the handler.
    let body = r#"{"query": "{ me { role } }"}"#;
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let handle = server.handle.take().unwrap();
    let shutdown = tokio::spawn(handle.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !shutdown.is_finished(),
        "shutdown must wait for the request in flight"
    );
    // WebSockets are told to go away.
    assert_eq!(recv(&mut ws).await, json!({"close": 1001}));
    // No new connections are accepted.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());

    socket.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""role":"AUDITOR""#), "{answer}");
    let drained = tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(drained);
}
