//! `customerHistory`: the customer as known at an instant, rebuilt from the log; scoping and
//! masking where the data is read.

use crm_domain::auth::{Role, Scope};
use serde_json::json;

use crate::common::{codes, Server};

const REGISTER: &str = r#"mutation($id: ID!) {
  registerCustomer(customerId: $id, kind: INDIVIDUAL,
    profile: { name: "王五", document: { residentId: "11010519491231002X" }, phone: "13812345678",
               sourceChannel: COUNTER }) { position }
}"#;

const HISTORY: &str = r#"query($id: ID!, $asOf: DateTime) {
  customerHistory(id: $id, asOf: $asOf) {
    revision
    snapshot { name keyCustomer idDocument phone lifecycle }
    timeline { eventType recordedAt occurredAt actor }
    timelineHasMore
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_as_of_an_instant_shows_only_what_was_recorded_by_then() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let id = uuid::Uuid::now_v7().to_string();
    server.query(&hq, REGISTER, json!({ "id": id })).await;
    let marked = server
        .query(
            &hq,
            "mutation($id: ID!) { markKeyCustomer(customerId: $id, isKey: true) { position } }",
            json!({ "id": id }),
        )
        .await;
    assert!(marked.get("errors").is_none(), "{marked}");

    let now = server.query(&hq, HISTORY, json!({ "id": id })).await;
    let history = &now["data"]["customerHistory"];
    assert_eq!(history["snapshot"]["keyCustomer"], true, "{now}");
    assert_eq!(history["timeline"].as_array().unwrap().len(), 2);
    assert_eq!(
        history["snapshot"]["idDocument"], "11010519491231002X",
        "HQ sees it in full"
    );

    // HQ saw the document in full: that view is in HQ's access log for the auditor.
    let access = server
        .query(&server.auditor(), r#"{ events(first: 5, filter: { category: "access" }) { edges { node { eventType stream } } } }"#, json!({}))
        .await;
    assert_eq!(
        access["data"]["events"]["edges"][0]["node"]["eventType"], "PiiViewed",
        "{access}"
    );

    let registered_at = history["timeline"][0]["recordedAt"].clone();
    let then = server
        .query(&hq, HISTORY, json!({ "id": id, "asOf": registered_at }))
        .await;
    let history = &then["data"]["customerHistory"];
    assert_eq!(history["snapshot"]["keyCustomer"], false, "{then}");
    assert_eq!(history["revision"], 0);
    assert_eq!(history["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(history["timeline"][0]["eventType"], "CustomerRegistered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_scoped_and_masked_where_it_is_read() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let id = uuid::Uuid::now_v7().to_string();
    server.query(&hq, REGISTER, json!({ "id": id })).await;

    let auditor = server
        .query(&server.auditor(), HISTORY, json!({ "id": id }))
        .await;
    let snapshot = &auditor["data"]["customerHistory"]["snapshot"];
    assert_eq!(snapshot["idDocument"], "110105********002X", "{auditor}");
    assert_eq!(snapshot["phone"], "138****5678");

    let other_manager = server
        .query(&server.customer_manager(), HISTORY, json!({ "id": id }))
        .await;
    // Outside the caller's scope: answered as a customer that does not exist.
    assert_eq!(codes(&other_manager), ["NOT_FOUND"], "{other_manager}");

    let missing = server
        .query(
            &hq,
            HISTORY,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(codes(&missing), ["NOT_FOUND"], "{missing}");
}

/// #13 (the open note on item 5): a branch auditor reads the history of their branch's
/// customers, not of others, and not the whole log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_auditor_reads_their_branchs_histories_and_not_the_whole_log() {
    use crm_domain::ids::BranchId;
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let (a, b) = (
        BranchId::from_uuid(uuid::Uuid::from_u128(0xA5)),
        BranchId::from_uuid(uuid::Uuid::from_u128(0xB5)),
    );
    let (ours, theirs) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    for (id, n, branch) in [(&ours, 71, a), (&theirs, 72, b)] {
        let r = server
            .query(
                &hq,
                r#"mutation($id: ID!, $doc: String!) { registerCustomer(customerId: $id, kind: INDIVIDUAL,
                     profile: { name: "赵六", document: { residentId: $doc }, sourceChannel: COUNTER }) { position } }"#,
                json!({ "id": id, "doc": crate::common::resident_id(n) }),
            )
            .await;
        assert!(r.get("errors").is_none(), "{r}");
        let r = server
            .query(
                &hq,
                &format!(r#"mutation {{ assignCustomer(customerId: "{id}", to: {{ branchId: "{branch}" }}) {{ position }} }}"#),
                json!({}),
            )
            .await;
        assert!(r.get("errors").is_none(), "{r}");
    }
    let auditor = server.token(Role::Auditor, Scope::Branch { branch: a });
    let own = server.query(&auditor, HISTORY, json!({ "id": ours })).await;
    assert!(own.get("errors").is_none(), "{own}");
    assert_eq!(own["data"]["customerHistory"]["snapshot"]["name"], "赵六");
    let other = server
        .query(&auditor, HISTORY, json!({ "id": theirs }))
        .await;
    assert_eq!(codes(&other), ["NOT_FOUND"], "{other}");
    let log = server
        .query(
            &auditor,
            "{ events(first: 5) { edges { node { eventType } } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&log), ["FORBIDDEN"], "{log}");
    // A company auditor reads both, and the log.
    let company = server.auditor();
    let r = server
        .query(&company, HISTORY, json!({ "id": theirs }))
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = server
        .query(
            &company,
            "{ events(first: 5) { edges { node { eventType } } } }",
            json!({}),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
}
