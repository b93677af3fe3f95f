//! The `events` connection over `$all`, categories, event types and streams; `logStatus`,
//! `verifyLog` and `node`.

use serde_json::{json, Value as Json};

use crate::common::{codes, limit, Server};

const PAGE: &str = r#"
query Page($filter: EventFilter, $first: Int, $after: String, $last: Int, $before: String) {
  events(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id position stream revision eventType schemaVersion actor
      occurredAt recordedAt correlationId causationId commandId payloadSize hash eventId } }
  }
}"#;

fn positions(body: &Json) -> Vec<u64> {
    body["data"]["events"]["edges"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e["node"]["position"].as_u64().unwrap())
        .collect()
}

fn page_info(body: &Json) -> (bool, bool) {
    let info = &body["data"]["events"]["pageInfo"];
    (
        info["hasPreviousPage"].as_bool().unwrap(),
        info["hasNextPage"].as_bool().unwrap(),
    )
}

/// Seven events: customer-a (1,2), ticket-x (3), customer-b (4), customer-a (5), ticket-x (6,7).
async fn seeded() -> Server {
    let server = Server::start().await;
    server.append("customer-a", "CustomerRegistered", 2).await;
    server.append("ticket-x", "TicketOpened", 1).await;
    server.append("customer-b", "CustomerRegistered", 1).await;
    server.append("customer-a", "CustomerUpdated", 1).await;
    server.append("ticket-x", "TicketNoted", 2).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_pages_forwards_through_all_events() {
    let server = seeded().await;
    let token = server.auditor();
    let first = server.query(&token, PAGE, json!({"first": 3})).await;
    assert_eq!(positions(&first), [1, 2, 3], "{first}");
    assert_eq!(page_info(&first), (false, true));
    assert_eq!(first["data"]["events"]["totalCount"], 7);
    let edge = &first["data"]["events"]["edges"][0];
    assert_eq!(edge["cursor"], "1");
    let node = &edge["node"];
    assert_eq!(node["stream"], "customer-a");
    assert_eq!(node["revision"], 0);
    assert_eq!(node["eventType"], "CustomerRegistered");
    assert_eq!(node["schemaVersion"], 1);
    assert_eq!(node["actor"], "staff-test");
    assert_eq!(node["payloadSize"], 16);
    assert_eq!(node["hash"].as_str().unwrap().len(), 64);
    assert!(node["occurredAt"].as_str().unwrap().contains('T'));
    assert!(node["correlationId"].is_string());
    assert!(node["causationId"].is_null());

    let end = first["data"]["events"]["pageInfo"]["endCursor"].clone();
    let second = server
        .query(&token, PAGE, json!({"first": 3, "after": end}))
        .await;
    assert_eq!(positions(&second), [4, 5, 6]);
    assert_eq!(page_info(&second), (true, true));
    let end = second["data"]["events"]["pageInfo"]["endCursor"].clone();
    let third = server
        .query(&token, PAGE, json!({"first": 3, "after": end}))
        .await;
    assert_eq!(positions(&third), [7]);
    assert_eq!(page_info(&third), (true, false));
    // `after` and `before` together bound the window.
    let window = server
        .query(
            &token,
            PAGE,
            json!({"first": 10, "after": "2", "before": "5"}),
        )
        .await;
    assert_eq!(positions(&window), [3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_pages_backwards_from_the_end() {
    let server = seeded().await;
    let token = server.auditor();
    let last = server.query(&token, PAGE, json!({"last": 3})).await;
    assert_eq!(positions(&last), [5, 6, 7], "{last}");
    assert_eq!(page_info(&last), (true, false));
    let start = last["data"]["events"]["pageInfo"]["startCursor"].clone();
    assert_eq!(start, "5");
    let before = server
        .query(&token, PAGE, json!({"last": 3, "before": start}))
        .await;
    assert_eq!(positions(&before), [2, 3, 4]);
    assert_eq!(page_info(&before), (true, true));
    let before = server
        .query(&token, PAGE, json!({"last": 3, "before": "2"}))
        .await;
    assert_eq!(positions(&before), [1]);
    assert_eq!(page_info(&before), (false, true));
    let nothing = server
        .query(&token, PAGE, json!({"last": 3, "before": "1"}))
        .await;
    assert_eq!(positions(&nothing), Vec::<u64>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_filters_by_category_event_type_and_stream_in_both_directions() {
    let server = seeded().await;
    let token = server.auditor();
    let cases = [
        (json!({"category": "customer"}), vec![1, 2, 4, 5]),
        (json!({"eventType": "TicketNoted"}), vec![6, 7]),
        (json!({"stream": "customer-a"}), vec![1, 2, 5]),
        (json!({"stream": "ticket-x"}), vec![3, 6, 7]),
        (json!({"category": "nothing"}), vec![]),
    ];
    for (filter, expected) in cases {
        let all = server
            .query(&token, PAGE, json!({"filter": filter, "first": 10}))
            .await;
        assert_eq!(positions(&all), expected, "{filter}: {all}");
        assert!(all["data"]["events"]["totalCount"].is_null());
        if expected.len() < 3 {
            continue;
        }
        // Forwards two at a time, then backwards from the end, two at a time.
        let page = server
            .query(&token, PAGE, json!({"filter": filter, "first": 2}))
            .await;
        assert_eq!(positions(&page), expected[..2], "{filter}");
        assert_eq!(page_info(&page), (false, true));
        let after = page["data"]["events"]["pageInfo"]["endCursor"].clone();
        let page = server
            .query(
                &token,
                PAGE,
                json!({"filter": filter, "first": 2, "after": after}),
            )
            .await;
        assert_eq!(
            positions(&page),
            expected[2..expected.len().min(4)],
            "{filter}"
        );
        assert!(page_info(&page).0);
        let back = server
            .query(&token, PAGE, json!({"filter": filter, "last": 2}))
            .await;
        assert_eq!(positions(&back), expected[expected.len() - 2..], "{filter}");
        assert_eq!(page_info(&back), (true, false));
        let before = back["data"]["events"]["pageInfo"]["startCursor"].clone();
        let back = server
            .query(
                &token,
                PAGE,
                json!({"filter": filter, "last": 10, "before": before}),
            )
            .await;
        assert_eq!(positions(&back), expected[..expected.len() - 2], "{filter}");
        assert_eq!(page_info(&back), (false, true));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_validation_errors() {
    let server = seeded().await;
    let token = server.auditor();
    let cases = [
        json!({"first": 1, "last": 1}),
        json!({"first": -1}),
        json!({"after": "not-a-position"}),
        json!({"filter": {"category": "a", "stream": "a-1"}}),
        json!({"filter": {"stream": "no_dash"}}),
        json!({"filter": {"category": "with-dash"}}),
        json!({"filter": {"eventType": ""}}),
    ];
    for variables in cases {
        let body = server.query(&token, PAGE, variables.clone()).await;
        assert_eq!(codes(&body), ["VALIDATION"], "{variables}: {body}");
    }
    // A small selection keeps the complexity under its limit, so the page size is what refuses.
    let body = server
        .query(&token, "{ events(first: 501) { totalCount } }", json!({}))
        .await;
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"], "{body}");
    assert_eq!(limit(&body), "pageSize");
    let body = server
        .query(&token, "{ node(id: \"bm90IGFuIGlk\") { id } }", json!({}))
        .await;
    assert_eq!(codes(&body), ["VALIDATION"], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_status_verify_log_and_node_read_the_log() {
    let server = seeded().await;
    let token = server.auditor();
    let body = server
        .query(
            &token,
            "{ logStatus { id headPosition writable } verifyLog { id ok records segments lastPosition headHash findingsNotListed findings { position kind segment offset detail } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["logStatus"]["headPosition"], 7, "{body}");
    assert_eq!(body["data"]["logStatus"]["writable"], true);
    let verify = &body["data"]["verifyLog"];
    assert_eq!(verify["ok"], true, "{body}");
    assert_eq!(verify["records"], 7);
    assert_eq!(verify["lastPosition"], 7);
    assert_eq!(verify["findings"], json!([]));
    // The head hash is the hash of the last event.
    let last = server.query(&token, PAGE, json!({"last": 1})).await;
    let node = &last["data"]["events"]["edges"][0]["node"];
    assert_eq!(verify["headHash"], node["hash"]);
    // Refetch by global id.
    let again = server
        .query(
            &token,
            "query($id: ID!) { node(id: $id) { id ... on Event { position stream } } }",
            json!({"id": node["id"]}),
        )
        .await;
    assert_eq!(again["data"]["node"]["position"], 7, "{again}");
    assert_eq!(again["data"]["node"]["id"], node["id"]);
    let status_id = body["data"]["logStatus"]["id"].clone();
    let again = server
        .query(
            &token,
            "query($id: ID!) { node(id: $id) { ... on LogStatus { headPosition } } }",
            json!({"id": status_id}),
        )
        .await;
    assert_eq!(again["data"]["node"]["headPosition"], 7);
}
