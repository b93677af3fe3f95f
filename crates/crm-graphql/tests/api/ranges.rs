//! No input can panic a handler (security issue item 3): every date, instant and number
//! argument is range-checked into a VALIDATION error naming the argument, over HTTP and in
//! subscriptions, and arbitrary values never bring a 500, a dropped connection or an unhealthy
//! server.

use std::time::Duration;

use crm_domain::auth::{Role, Scope};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};

use crate::common::{codes, Server, GRAPHQL_RESPONSE_JSON};
use crate::ws::{connect, init, recv, send};

const REGISTER: &str = r#"mutation($id: ID!) {
  registerCustomer(customerId: $id, kind: INDIVIDUAL,
    profile: { name: "赵六", document: { residentId: "11010519491231002X" }, phone: "13812345678",
               birthday: "1949-12-31", sourceChannel: COUNTER }) { position }
}"#;

/// The query fields that take a date, an instant or a number, each with its own variables.
const QUERIES: &[&str] = &[
    "query($at: DateTime, $p: Long) { todos(at: $at, atPosition: $p) { kind due } }",
    "query($d: String, $p: Long) { segments(filter: { asOf: $d }, atPosition: $p) { customers asOf } }",
    "query($d: String, $n: Int, $p: Long) { customers(filter: { asOf: $d }, first: $n, atPosition: $p) { totalCount edges { node { name } } } }",
    "query($d: String, $n: Int) { customers(filter: { asOf: $d }, last: $n) { totalCount } }",
    "query($id: ID!, $n: Int, $p: Long) { customer(id: $id, atPosition: $p) { name asOf timeline(first: $n) { kind } } }",
    "query($id: ID!, $at: DateTime, $n: Int, $l: Long) { customerHistory(id: $id, asOf: $at, first: $n, after: $l) { revision timeline { eventType } timelineHasMore } }",
    "query($id: ID!, $m: String!, $ytd: Boolean!, $at: DateTime, $p: Long) { staffPerformance(staffId: $id, period: { month: $m, yearToDate: $ytd }, asOf: $at, atPosition: $p) { period } }",
    "query($m: String!, $n: Int, $p: Long) { leaderboard(scope: { company: true }, period: { month: $m }, first: $n, atPosition: $p) { period } }",
    "query($id: ID!, $d: String, $at: DateTime, $p: Long) { branchDashboard(branchId: $id, period: { day: $d }, asOf: $at, atPosition: $p) { customers } }",
    "query($id: ID!, $m: String, $at: DateTime) { branchDashboard(branchId: $id, period: { month: $m }, asOf: $at) { customers } }",
    "query($m: String, $p: Long) { branchRanking(period: { month: $m }, atPosition: $p) { rank } }",
    "query($d: String) { branchRanking(period: { day: $d }) { rank } }",
    "query($at: DateTime) { serviceQuality(at: $at) { slaBreaches openNow } }",
    "query($n: Int) { events(first: $n) { edges { cursor } } }",
    "query($n: Int) { events(last: $n) { edges { cursor } } }",
    "query($n: Int) { tickets(first: $n) { edges { cursor } } }",
    "query($n: Int) { articles(first: $n) { edges { cursor } } }",
    "query($n: Int) { opportunities(first: $n) { edges { cursor } } }",
    "query($p: Long) { rules(atPosition: $p) { version } }",
];

/// Query fields only auditors read, sent with an auditor's token.
const AUDITOR_QUERIES: &[&str] = &[
    "query($at: DateTime, $n: Int) { accessLog(from: $at, to: $at, first: $n) { edges { cursor } pageInfo { hasNextPage } } }",
    r#"query($at: DateTime, $n: Int) { accessLog(from: $at, first: $n, after: "1") { edges { cursor } } }"#,
];

/// Sends `query` and checks the answer is a GraphQL answer: no 500, no INTERNAL, no dropped
/// connection.
async fn sane(server: &Server, token: &str, query: &str, variables: &Json) -> Result<Json, String> {
    let response = server
        .client
        .post(server.url("/graphql"))
        .header("accept", GRAPHQL_RESPONSE_JSON)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map_err(|e| format!("the server dropped the connection: {e}\n{query}\n{variables}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("the answer was cut off: {e}\n{query}\n{variables}"))?;
    let body: Json = serde_json::from_str(&text)
        .map_err(|_| format!("not JSON ({status}): {text}\n{query}\n{variables}"))?;
    if status == StatusCode::INTERNAL_SERVER_ERROR || codes(&body).iter().any(|c| c == "INTERNAL") {
        return Err(format!("{status} {body}\n{query}\n{variables}"));
    }
    if status != StatusCode::OK && status != StatusCode::BAD_REQUEST {
        return Err(format!("unexpected {status} {body}\n{query}\n{variables}"));
    }
    Ok(body)
}

async fn healthy(server: &Server) {
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("the server is gone");
    assert_eq!(health.status(), StatusCode::OK);
}

fn first_error(body: &Json) -> (String, String) {
    (
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_dates_are_validation_errors_naming_the_argument() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let id = uuid::Uuid::now_v7().to_string();
    server.query(&hq, REGISTER, json!({ "id": id })).await;

    let cases = [
        (r#"{ todos(at: "9999-12-31T23:59:59Z") { kind } }"#, "at"),
        (
            r#"{ todos(at: "0000-01-01T00:00:00+23:59") { kind } }"#,
            "at",
        ),
        (
            r#"{ segments(filter: { asOf: "-9999-01-01" }) { customers } }"#,
            "asOf",
        ),
        (
            r#"{ customers(filter: { asOf: "-9999-01-01" }) { totalCount } }"#,
            "asOf",
        ),
        (
            r#"{ customers(filter: { asOf: "9999-12-31" }) { edges { node { name churnRisk } } } }"#,
            "asOf",
        ),
        (
            r#"{ serviceQuality(at: "9999-12-31T23:59:59Z") { openNow } }"#,
            "at",
        ),
        (
            r#"{ leaderboard(scope: { company: true }, period: { month: "9999-12", yearToDate: true }) { period } }"#,
            "period.month",
        ),
        (
            r#"{ branchRanking(period: { day: "9999-12-31" }) { rank } }"#,
            "period.day",
        ),
        (
            r#"{ rules(atPosition: 18446744073709551615) { version } }"#,
            "atPosition",
        ),
    ];
    for (query, argument) in cases {
        let body = sane(&server, &hq, query, &json!({})).await.unwrap();
        let (code, message) = first_error(&body);
        assert_eq!(code, "VALIDATION", "{query}: {body}");
        assert!(
            message.contains(&format!("invalid {argument}:")),
            "{query}: the error names `{argument}`: {body}"
        );
    }
    let history = sane(
        &server,
        &hq,
        r#"query($id: ID!) { customerHistory(id: $id, asOf: "9999-12-31T23:59:59Z", after: 18446744073709551615) { revision } }"#,
        &json!({ "id": id }),
    )
    .await
    .unwrap();
    assert_eq!(first_error(&history).0, "VALIDATION", "{history}");

    // In range, the same fields answer.
    let fine = server
        .query(
            &hq,
            r#"{ todos(at: "2200-12-31T23:59:59Z") { kind } segments(filter: { asOf: "1900-01-01" }) { customers } }"#,
            json!({}),
        )
        .await;
    assert!(fine.get("errors").is_none(), "{fine}");
    healthy(&server).await;
}

fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (1900i32..=2200, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        (-99_999i32..=99_999, 0u8..=13, 0u8..=32)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        prop_oneof![
            Just("-9999-01-01".to_string()),
            Just("9999-12-31".to_string()),
            Just("0000-01-01".to_string()),
            Just("+10000-01-01".to_string()),
            Just("1899-12-31".to_string()),
            Just("2201-01-01".to_string()),
        ],
        "\\PC{0,12}",
    ]
}

fn month_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (1900i32..=2200, 1u8..=12).prop_map(|(y, m)| format!("{y:04}-{m:02}")),
        (-99_999i32..=99_999, 0u8..=13).prop_map(|(y, m)| format!("{y:04}-{m:02}")),
        prop_oneof![
            Just("9999-12".to_string()),
            Just("-9999-01".to_string()),
            Just("0000-01".to_string()),
        ],
        "\\PC{0,8}",
    ]
}

fn instant_text() -> impl Strategy<Value = String> {
    let offset = prop_oneof![
        Just("Z".to_string()),
        Just("+23:59".to_string()),
        Just("-23:59".to_string()),
        Just("+08:00".to_string()),
    ];
    prop_oneof![
        (0i32..=9999, 1u8..=12, 1u8..=28, 0u8..=23, 0u8..=59, offset).prop_map(
            |(y, mo, d, h, mi, off)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:59{off}")
        ),
        prop_oneof![
            Just("9999-12-31T23:59:59Z".to_string()),
            Just("9999-12-31T23:59:59.999999999-23:59".to_string()),
            Just("0000-01-01T00:00:00+23:59".to_string()),
            Just("1900-01-01T00:00:00+23:59".to_string()),
            Just("2200-12-31T23:59:59-23:59".to_string()),
        ],
        "\\PC{0,12}",
    ]
}

fn int() -> impl Strategy<Value = Json> {
    prop_oneof![
        (-5i64..600).prop_map(Json::from),
        any::<i32>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        Just(Json::from(i32::MAX)),
        Just(Json::from(i32::MIN)),
        Just(Json::Null),
    ]
}

fn long() -> impl Strategy<Value = Json> {
    prop_oneof![
        (0u64..50).prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        Just(Json::from(u64::MAX)),
        Just(Json::from(-1)),
        Just(Json::Null),
    ]
}

/// A literal of the wrong kind for an input type (an enum value where an input object is
/// expected) is refused before any resolver runs; the framework reports it at execution, not
/// in validation, and it used to answer INTERNAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_literal_of_the_wrong_kind_is_a_validation_error() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    for query in [
        "{ customers(filter: FUND) { totalCount } }",
        "{ segments(filter: 7) { customers } }",
        r#"{ leaderboard(scope: "company", period: { yearToDate: true }) { period } }"#,
    ] {
        let body = sane(&server, &hq, query, &json!({})).await.unwrap();
        let (code, message) = first_error(&body);
        assert!(
            code == "VALIDATION" || code == "GRAPHQL_VALIDATION_FAILED",
            "{query}: {body}"
        );
        assert!(
            message.contains("input type") || message.contains("argument"),
            "{body}"
        );
    }
    healthy(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_arguments_never_break_the_server() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let id = uuid::Uuid::now_v7().to_string();
    server.query(&hq, REGISTER, json!({ "id": id })).await;

    // Every document is valid with ordinary values, so the fuzzing reaches the resolvers.
    let ordinary = json!({
        "id": id, "d": "2024-01-02", "m": "2024-01", "at": "2024-01-02T09:30:00Z", "n": 5,
        "p": 1, "l": 0, "ytd": false,
    });
    let auditor = server.auditor();
    let with_tokens: Vec<(&str, &str)> = QUERIES
        .iter()
        .map(|q| (*q, hq.as_str()))
        .chain(AUDITOR_QUERIES.iter().map(|q| (*q, auditor.as_str())))
        .collect();
    for (query, token) in &with_tokens {
        let body = sane(&server, token, query, &ordinary).await.unwrap();
        assert!(
            !codes(&body).iter().any(|c| c.starts_with("GRAPHQL")),
            "{query}: {body}"
        );
    }

    let strategy = (
        date_text(),
        month_text(),
        instant_text(),
        int(),
        long(),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner
            .run(&strategy, |(d, m, at, n, p, ytd)| {
                handle.block_on(async {
                    let variables = json!({
                        "id": id, "d": d, "m": m, "at": at, "n": n, "p": p, "l": p, "ytd": ytd,
                    });
                    for (query, token) in &with_tokens {
                        sane(&server, token, query, &variables)
                            .await
                            .map_err(TestCaseError::fail)?;
                    }
                    Ok(())
                })
            })
            .map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    healthy(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_with_an_out_of_range_instant_is_refused_and_the_connection_lives() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &hq).await;
    send(
        &mut ws,
        json!({"id": "t", "type": "subscribe", "payload": {
            "query": r#"subscription { todosChanged(at: "9999-12-31T23:59:59Z") { kind } }"#
        }}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    let (code, text) = first_error(&message["payload"]);
    assert_eq!(code, "VALIDATION", "{message}");
    assert!(text.contains("invalid at:"), "{message}");
    assert_eq!(recv(&mut ws).await, json!({"id": "t", "type": "complete"}));

    // The connection is alive and serves a valid subscription.
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut ws).await, json!({"type": "pong"}));
    send(
        &mut ws,
        json!({"id": "ok", "type": "subscribe", "payload": {
            "query": r#"subscription { todosChanged(at: "2030-01-01T00:00:00Z") { kind } }"#
        }}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    assert!(
        message["payload"]["data"]["todosChanged"].is_array(),
        "{message}"
    );
    healthy(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_subscription_arguments_never_kill_the_connection() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &hq).await;
    let ws = tokio::sync::Mutex::new(ws);
    let n = std::cell::Cell::new(0u32);
    let strategy = (instant_text(), month_text(), date_text(), long());
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(at, m, d, after)| {
            handle.block_on(async {
                let mut ws = ws.lock().await;
                // The live views answer at once (an error or a first value); the log feed
                // waits for appends.
                let subscriptions = [
                    (
                        "subscription($at: DateTime) { todosChanged(at: $at) { kind } }",
                        json!({ "at": at }),
                        true,
                    ),
                    (
                        "subscription($b: ID!, $m: String) { branchDashboardChanged(branchId: $b, period: { month: $m }) { customers } }",
                        json!({ "b": uuid::Uuid::now_v7().to_string(), "m": m }),
                        true,
                    ),
                    (
                        "subscription($b: ID!, $d: String) { branchDashboardChanged(branchId: $b, period: { day: $d }) { customers } }",
                        json!({ "b": uuid::Uuid::now_v7().to_string(), "d": d }),
                        true,
                    ),
                    (
                        "subscription($a: Long) { eventsAppended(after: $a) { position } }",
                        json!({ "a": after }),
                        false,
                    ),
                ];
                for (query, variables, answers_at_once) in subscriptions {
                    n.set(n.get() + 1);
                    let id = format!("s{}", n.get());
                    send(
                        &mut ws,
                        json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}),
                    )
                    .await;
                    let wait = Duration::from_millis(if answers_at_once { 5000 } else { 200 });
                    match tokio::time::timeout(wait, recv(&mut ws)).await {
                        Ok(message) => {
                            prop_assert!(
                                message.get("close").is_none() && message.get("error").is_none(),
                                "the connection died: {message} after {query} {variables}"
                            );
                            prop_assert!(
                                !codes(&message["payload"]).iter().any(|c| c == "INTERNAL"),
                                "{message} after {query} {variables}"
                            );
                        }
                        Err(_) => prop_assert!(
                            !answers_at_once,
                            "no answer: the subscription died silently after {query} {variables}"
                        ),
                    }
                    send(&mut ws, json!({"id": id, "type": "complete"})).await;
                    send(&mut ws, json!({"type": "ping"})).await;
                    // Skip what the subscription sent before it was completed.
                    loop {
                        let message = recv(&mut ws).await;
                        prop_assert!(
                            message.get("close").is_none() && message.get("error").is_none(),
                            "the connection died: {message} after {query} {variables}"
                        );
                        if message["type"] == "pong" {
                            break;
                        }
                    }
                }
                Ok(())
            })
        })
        .map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    healthy(&server).await;
}
