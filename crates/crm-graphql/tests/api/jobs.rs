//! Read-model jobs: a rules preview started by a mutation returns at once and is followed to
//! its report through `job(id)` and the `jobProgress` subscription; cancelling, unknown ids,
//! unknown rule versions and callers without the right get typed errors.

use std::time::Duration;

use crm_domain::auth::{Role, Scope};
use serde_json::{json, Value as Json};

use crate::common::*;
use crate::ws::{connect, init, recv, send};

const START: &str = r#"mutation { startRulesPreview(tiers: { diamond: 40, gold: 20, silver: 5 }, limit: 5) {
    id kind state startedBy rulesVersion } }"#;
const JOB: &str = r#"query($id: ID!) { job(id: $id) {
    id state done target eventsPerSecond etaSeconds error
    preview { toRulesVersion customersChangingTier tierChanges { customerId } } generation } }"#;

async fn until_finished(server: &Server, token: &str, id: &Json) -> Json {
    for _ in 0..600 {
        let body = server.query(token, JOB, json!({ "id": id })).await;
        let job = body["data"]["job"].clone();
        assert!(job.is_object(), "{body}");
        if job["state"] != "RUNNING" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job did not finish within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_preview_runs_as_a_job_followed_to_its_report() {
    let server = Server::start_demo(120, 20).await;
    let op = server.token(Role::Operator, Scope::Company);
    let started = server.query(&op, START, json!({})).await;
    let job = &started["data"]["startRulesPreview"];
    assert_eq!(job["kind"], "RULES_PREVIEW", "{started}");
    assert!(
        job["state"] == "RUNNING" || job["state"] == "SUCCEEDED",
        "{started}"
    );
    assert_eq!(job["rulesVersion"], 2);
    let id = job["id"].clone();

    let done = until_finished(&server, &op, &id).await;
    assert_eq!(done["state"], "SUCCEEDED", "{done}");
    assert_eq!(done["done"], done["target"], "{done}");
    assert_eq!(done["preview"]["toRulesVersion"], 2, "{done}");
    assert!(done["preview"]["tierChanges"].as_array().unwrap().len() <= 5);
    assert!(done["generation"].is_null());

    let listed = server.query(&op, "{ jobs { id state } }", json!({})).await;
    assert_eq!(listed["data"]["jobs"][0]["id"], id, "{listed}");

    // The subscription of a finished job sends its last state and completes.
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &op).await;
    send(
        &mut ws,
        json!({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { jobProgress(id: $id) { state done target } }",
            "variables": {"id": id}
        }}),
    )
    .await;
    let next = recv(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["payload"]["data"]["jobProgress"]["state"], "SUCCEEDED");
    assert_eq!(recv(&mut ws).await["type"], "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_progress_is_streamed_until_a_rebuild_switches() {
    let server = Server::start_demo(120, 20).await;
    let op = server.token(Role::Operator, Scope::Company);
    let started = server
        .query(
            &op,
            "mutation { startRebuild { id state kind } }",
            json!({}),
        )
        .await;
    let id = started["data"]["startRebuild"]["id"].clone();
    assert!(id.is_string(), "{started}");
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &op).await;
    send(
        &mut ws,
        json!({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { jobProgress(id: $id) { state done generation } }",
            "variables": {"id": id}
        }}),
    )
    .await;
    let mut done = Vec::new();
    loop {
        let message = recv(&mut ws).await;
        if message["type"] == "complete" {
            break;
        }
        assert_eq!(message["type"], "next", "{message}");
        let job = &message["payload"]["data"]["jobProgress"];
        done.push(job["done"].as_u64().unwrap());
        if job["state"] != "RUNNING" {
            assert_eq!(job["state"], "SUCCEEDED", "{message}");
            assert!(job["generation"].as_u64().unwrap() >= 2, "{message}");
        }
    }
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    let status = server
        .query(&op, "{ projectionStatus { role generation } }", json!({}))
        .await;
    assert!(status["data"].is_object(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_requests_get_typed_errors() {
    let server = Server::start().await;
    let op = server.token(Role::Operator, Scope::Company);
    let unknown = server
        .query(
            &op,
            JOB,
            json!({ "id": "6b1f8f2e-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(codes(&unknown), ["NOT_FOUND"], "{unknown}");
    let malformed = server.query(&op, JOB, json!({ "id": "nope" })).await;
    assert_eq!(codes(&malformed), ["VALIDATION"], "{malformed}");
    let cancel_unknown = server
        .query(
            &op,
            r#"mutation { cancelJob(id: "6b1f8f2e-0000-4000-8000-000000000000") { state } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&cancel_unknown), ["NOT_FOUND"], "{cancel_unknown}");
    let no_version = server
        .query(
            &op,
            "mutation { startRulesPreview(version: 99) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&no_version), ["NOT_FOUND"], "{no_version}");
    let bad_limit = server
        .query(
            &op,
            "mutation { startRulesPreview(tiers: { diamond: 40, gold: 20, silver: 5 }, limit: -1) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&bad_limit), ["VALIDATION"], "{bad_limit}");
    let broker = server.auditor();
    for q in [START, "mutation { startRebuild { id } }", "{ jobs { id } }"] {
        let refused = server.query(&broker, q, json!({})).await;
        assert_eq!(codes(&refused), ["FORBIDDEN"], "{q}: {refused}");
    }
    // Over WebSocket an unknown job is an error before the stream starts.
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &op).await;
    send(
        &mut ws,
        json!({"id": "p", "type": "subscribe", "payload": {
            "query": r#"subscription { jobProgress(id: "6b1f8f2e-0000-4000-8000-000000000000") { state } }"#
        }}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{message}"
    );
    assert!(message["payload"]["data"].is_null(), "{message}");
}
