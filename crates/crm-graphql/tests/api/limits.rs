//! Every request limit refuses with a coded error before any resolver runs.

use std::time::Duration;

use crm_eventstore::{EventMetadata, ExpectedRevision, NewEvent, StreamName};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::common::{codes, limit, Server};

async fn refused(server: &Server, query: &str) -> (StatusCode, Json) {
    let (status, _, body) = server
        .post(Some(&server.auditor()), json!({ "query": query }))
        .await;
    (status, body)
}

async fn assert_limit(server: &Server, query: &str, which: &str) {
    let (status, body) = refused(server, query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    assert_eq!(limit(&body), which, "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

async fn assert_ok(server: &Server, query: &str) {
    let (status, body) = refused(server, query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_is_limited() {
    let server = Server::start_with(|c| c.limits.depth_max = 3).await;
    assert_ok(&server, "{ events { pageInfo { hasNextPage } } }").await;
    assert_limit(&server, "{ events { edges { node { id } } } }", "depth").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complexity_is_limited_and_pages_count() {
    let server = Server::start().await;
    assert_ok(&server, "{ events(first: 100) { edges { node { id } } } }").await;
    assert_limit(
        &server,
        "{ events(first: 500) { edges { cursor node { id stream position hash } } } }",
        "complexity",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_are_limited() {
    let server = Server::start().await;
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: __typename")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    assert_ok(&server, &aliases(30)).await;
    assert_limit(&server, &aliases(31), "aliases").await;
    // Aliases inside fragments count too.
    let fragment = format!(
        "query {{ ...F }} fragment F on Query {}",
        aliases(31).replacen('{', "{ ", 1)
    );
    assert_limit(&server, &fragment, "aliases").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directives_per_field_are_limited() {
    // CVE-2024-47614: thousands of directives on one field exhaust the validator.
    let server = Server::start().await;
    let directives = |n: usize| format!("{{ __typename {} }}", "@include(if: true) ".repeat(n));
    assert_limit(&server, &directives(5), "directives").await;
    assert_limit(&server, &directives(3_000), "directives").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_is_limited_before_the_parser_runs() {
    let server = Server::start().await;
    let nested = |n: usize| format!("{}__typename{}", "{ a ".repeat(n), "}".repeat(n));
    assert_limit(&server, &nested(33), "recursiveDepth").await;
    // Deep enough to overflow a recursive-descent parser's stack, and within the body limit.
    assert_limit(&server, &"{".repeat(60_000), "recursiveDepth").await;
    let lists = format!(
        "{{ node(id: {}\"x\"{}) {{ id }} }}",
        "[".repeat(40),
        "]".repeat(40)
    );
    assert_limit(&server, &lists, "recursiveDepth").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_size_is_limited() {
    let server = Server::start().await;
    let padding = " ".repeat(70 * 1024);
    let body = format!(r#"{{"query": "{{ __typename }}{padding}"}}"#);
    let response = server
        .client
        .post(server.url("/graphql"))
        .bearer_auth(server.auditor())
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: Json = response.json().await.unwrap();
    assert_eq!(limit(&json), "bodySize");

    // Without a Content-Length (chunked), the limit holds while reading.
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        server.auditor()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(8 * 1024) {
        let framed = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before it has read everything; that is the point.
        if socket.write_all(framed.as_bytes()).await.is_err()
            || socket.write_all(chunk).await.is_err()
            || socket.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("bodySize"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_time_is_limited() {
    let server =
        Server::start_with(|c| c.limits.execution_timeout = Duration::from_millis(1)).await;
    // Enough log for verification to take far longer than a millisecond.
    for _ in 0..2 {
        let events = (0..10_000)
            .map(|_| NewEvent {
                event_id: Uuid::now_v7(),
                event_type: "Filler".into(),
                schema_version: 1,
                metadata: EventMetadata {
                    actor: "staff-test".into(),
                    occurred_at: OffsetDateTime::now_utc(),
                    correlation_id: None,
                    causation_id: None,
                    command_id: None,
                },
                payload: vec![7; 1024],
            })
            .collect();
        server
            .store
            .append(
                &StreamName::parse("filler-1").unwrap(),
                ExpectedRevision::Any,
                events,
            )
            .await
            .unwrap();
    }
    let (status, body) = refused(&server, "{ verifyLog { ok } }").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(codes(&body), ["TIMEOUT"]);
    assert!(body.get("data").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_and_suggestions_are_switchable() {
    let open = Server::start().await;
    let (status, body) = refused(&open, "{ __schema { queryType { name } } }").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let (_, body) = refused(&open, "{ logStatu { headPosition } }").await;
    assert!(body.to_string().contains("Did you mean"), "{body}");

    let closed = Server::start_with(|c| {
        c.introspection = false;
        c.suggestions = false;
    })
    .await;
    for query in [
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"Event\") { name } }",
        "query { ...F } fragment F on Query { __schema { types { name } } }",
    ] {
        let (status, body) = refused(&closed, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    }
    // __typename is not introspection of the schema and keeps working.
    assert_ok(&closed, "{ __typename }").await;
    let (status, body) = refused(&closed, "{ logStatu { headPosition } }").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(!body.to_string().contains("Did you mean"), "{body}");
}

/// `query { ...F<levels> }` where `F<k>` spreads `F<k-1>` twice and `F0` is `{ __typename }`:
/// `2^levels` fields as executed (issue #13, item 1: 22 levels are 904 bytes).
fn doubling(levels: usize) -> String {
    let mut doc = format!("query {{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
    for k in 1..=levels {
        doc.push_str(&format!(
            " fragment F{k} on Query {{ ...F{p} ...F{p} }}",
            p = k - 1
        ));
    }
    doc
}

fn assert_cost_refusal(status: StatusCode, body: &Json) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(codes(body), ["LIMIT_EXCEEDED"], "{body}");
    assert_eq!(limit(body), "selectionCost", "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragment_fan_out_is_refused_before_it_runs() {
    let server = Server::start().await;
    // The least privileged token: a customer manager's, for their own book.
    let token = server.customer_manager();
    let fan_out = doubling(22);
    let (status, _, body) = server.post(Some(&token), json!({ "query": fan_out })).await;
    assert_cost_refusal(status, &body);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&(1u64 << 22).to_string()),
        "{body}"
    );

    // Over GET alike.
    let url =
        reqwest::Url::parse_with_params(&server.url("/graphql"), &[("query", fan_out.as_str())])
            .unwrap();
    let response = server
        .client
        .get(url)
        .bearer_auth(&token)
        .header("accept", crate::common::GRAPHQL_RESPONSE_JSON)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Json = response.json().await.unwrap();
    assert_cost_refusal(status, &body);

    // And as a WebSocket subscribe: an `error` message, and the connection lives on.
    let mut ws = crate::ws::connect(&server, true, None).await;
    crate::ws::init(&mut ws, &token).await;
    crate::ws::send(
        &mut ws,
        json!({"id": "fan", "type": "subscribe", "payload": {"query": fan_out}}),
    )
    .await;
    let message = crate::ws::recv(&mut ws).await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "fan", "{message}");
    assert_eq!(
        message["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{message}"
    );
    assert_eq!(
        message["payload"][0]["extensions"]["limit"], "selectionCost",
        "{message}"
    );
    crate::ws::send(
        &mut ws,
        json!({"id": "ok", "type": "subscribe", "payload": {"query": "{ __typename }"}}),
    )
    .await;
    let message = crate::ws::recv(&mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["payload"]["data"]["__typename"], "Query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selection_cost_is_limited_as_executed() {
    let server = Server::start_with(|c| c.limits.selection_cost_max = 200).await;
    // Repeated un-aliased fields count each time they run.
    let repeated = |n: usize| format!("{{ {} }}", "__typename ".repeat(n));
    assert_ok(&server, &repeated(200)).await;
    assert_limit(&server, &repeated(201), "selectionCost").await;
    // So do fragments, wherever they are spread: 2^7 + 2^6 + 8 = 200.
    let spread = |extra: usize| {
        doubling(7).replace(
            "query { ...F7 }",
            &format!("query {{ ...F7 ...F6 {} }}", "__typename ".repeat(extra)),
        )
    };
    assert_ok(&server, &spread(8)).await;
    assert_limit(&server, &spread(9), "selectionCost").await;
    // A page multiplies its sub-selection: a log read (100) + n × (edges + cursor).
    let page = |n: usize| format!("{{ events(first: {n}) {{ edges {{ cursor }} }} }}");
    assert_ok(&server, &page(50)).await;
    assert_limit(&server, &page(51), "selectionCost").await;
    // A paged field asked for without first/last counts its largest page (500).
    assert_limit(&server, "{ events { edges { cursor } } }", "selectionCost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_pages_and_replays_cost_their_work() {
    let server = Server::start_with(|c| c.limits.selection_cost_max = 15_000).await;
    // Nested fields under a page count once per row, lists up to their bound: 5 rows cost
    // 490, 500 rows 29 200.
    let page = |n: usize| {
        format!(
            "query {{ customers(first: {n}) {{ edges {{ node {{ customerId name \
             accounts {{ number }} manager {{ id }} }} }} }} }}"
        )
    };
    assert_ok(&server, &page(5)).await;
    assert_limit(&server, &page(500), "selectionCost").await;
    // A replay weighs 10 000: one fits under 15 000, two do not.
    let replays = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"r{i}: branchDashboard(branchId: "00000000-0000-0000-0000-000000000001", asOf: "2100-01-01T00:00:00Z") {{ customers }}"#
                )
            })
            .collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let (_, body) = refused(&server, &replays(1)).await;
    assert!(
        !codes(&body).contains(&"LIMIT_EXCEEDED".to_string()),
        "{body}"
    );
    assert_limit(&server, &replays(2), "selectionCost").await;
}

/// Under the default limit, a 500-row page of customers with their archive's detail (each row
/// a timeline, windows and explanations read from disk) is refused before anything runs; the
/// same page of resident fields runs, and so does a short page of detail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_archive_detail_is_refused_where_the_same_page_of_resident_fields_runs() {
    let server = Server::start().await;
    let page = |n: usize, fields: &str| {
        format!("{{ customers(first: {n}) {{ edges {{ node {{ {fields} }} }} }} }}")
    };
    let resident = "name tier assets churnRisk lastContact";
    let detail = "name timeline(first: 5) { kind at } windows { turnover30Days } \
                  churn { risk } contributionExplanation { score }";
    assert_ok(&server, &page(500, resident)).await;
    assert_ok(&server, &page(50, detail)).await;
    assert_limit(&server, &page(500, detail), "selectionCost").await;
    // The message names the weights, so a caller can see what to trim.
    let (_, body) = refused(&server, &page(500, detail)).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("from disk"), "{message}");
}
