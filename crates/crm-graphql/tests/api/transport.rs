//! GraphQL over HTTP: media types, status codes and request shapes, beyond what the audit
//! suite checks (it does not send tokens wrongly, batches, or subscriptions).

use reqwest::StatusCode;
use serde_json::{json, Value as Json};

use crate::common::{codes, limit, Server, GRAPHQL_RESPONSE_JSON};

async fn raw(
    server: &Server,
    method: reqwest::Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Json) {
    let mut request = server
        .client
        .request(method, server.url(path_and_query))
        .bearer_auth(server.auditor());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Json::String(text)),
    )
}

fn content_type(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

const TYPENAME: &str = r#"{"query":"{ __typename }"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_response_media_type_follows_accept() {
    let server = Server::start().await;
    let post = reqwest::Method::POST;
    let json_body = [("content-type", "application/json")];
    let cases: [(Option<&str>, StatusCode, &str); 6] = [
        (
            Some(GRAPHQL_RESPONSE_JSON),
            StatusCode::OK,
            GRAPHQL_RESPONSE_JSON,
        ),
        (Some("application/json"), StatusCode::OK, "application/json"),
        (Some("*/*"), StatusCode::OK, "application/json"),
        (None, StatusCode::OK, "application/json"),
        (
            Some("application/json;q=0.5, application/graphql-response+json"),
            StatusCode::OK,
            GRAPHQL_RESPONSE_JSON,
        ),
        (
            Some("text/html"),
            StatusCode::NOT_ACCEPTABLE,
            "application/json",
        ),
    ];
    for (accept, status, media) in cases {
        let mut headers = json_body.to_vec();
        if let Some(accept) = accept {
            headers.push(("accept", accept));
        }
        let (got, response_headers, body) =
            raw(&server, post.clone(), "/graphql", &headers, Some(TYPENAME)).await;
        assert_eq!(got, status, "{accept:?}: {body}");
        assert!(
            content_type(&response_headers).starts_with(media),
            "{accept:?}: {}",
            content_type(&response_headers)
        );
        if status == StatusCode::OK {
            assert_eq!(body["data"]["__typename"], "Query");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_post_bodies_are_refused_with_415() {
    // text/plain and form posts are "simple" requests a browser sends cross-site without a
    // preflight: executing them would be a CSRF hole.
    let server = Server::start().await;
    for content_type_header in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=latin1"),
        None,
    ] {
        let mut headers = vec![("accept", GRAPHQL_RESPONSE_JSON)];
        if let Some(ct) = content_type_header {
            headers.push(("content-type", ct));
        }
        let (status, _, body) = raw(
            &server,
            reqwest::Method::POST,
            "/graphql",
            &headers,
            Some(TYPENAME),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type_header:?}"
        );
        assert_eq!(codes(&body), ["BAD_REQUEST"]);
        assert!(body.get("data").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_serves_queries_and_refuses_mutations_with_405() {
    let server = Server::start().await;
    let accept = [("accept", GRAPHQL_RESPONSE_JSON)];
    let (status, _, body) = raw(
        &server,
        reqwest::Method::GET,
        "/graphql?query=%7B%20me%20%7B%20role%20%7D%20%7D",
        &accept,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["role"], "AUDITOR");

    let (status, headers, body) = raw(
        &server,
        reqwest::Method::GET,
        "/graphql?query=mutation%20%7B%20__typename%20%7D",
        &accept,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(headers.get("allow").unwrap(), "POST");
    assert!(body.get("data").is_none());

    // A named mutation picked out of a document with a query is still a mutation.
    let (status, _, _) = raw(
        &server,
        reqwest::Method::GET,
        "/graphql?query=query%20A%20%7B%20__typename%20%7D%20mutation%20B%20%7B%20__typename%20%7D&operationName=B",
        &accept,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let (status, _, body) = raw(
        &server,
        reqwest::Method::GET,
        "/graphql?query=%7B__typename%7D&variables=not-json",
        &accept,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&body), ["BAD_REQUEST"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_are_400_without_data_and_200_under_legacy_json() {
    let server = Server::start().await;
    let cases = [
        (json!({"query": "{"}), "GRAPHQL_PARSE_FAILED"),
        (
            json!({"query": "{ noSuchField }"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({"query": "query Q($id: ID!) { __typename }", "variables": {"id": null}}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({"query": "query A { __typename } query B { __typename }"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({"query": "{ __typename }", "operationName": "Nope"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({"query": "subscription { eventsAppended { id } }"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (request, code) in cases {
        for (accept, status) in [
            (GRAPHQL_RESPONSE_JSON, StatusCode::BAD_REQUEST),
            ("application/json", StatusCode::OK),
        ] {
            let (got, _, body) = raw(
                &server,
                reqwest::Method::POST,
                "/graphql",
                &[("accept", accept), ("content-type", "application/json")],
                Some(&request.to_string()),
            )
            .await;
            assert_eq!(got, status, "{request} {accept}: {body}");
            assert_eq!(codes(&body), [code], "{request}: {body}");
            assert!(body.get("data").is_none(), "{request}: {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_400_under_either_media_type() {
    let server = Server::start().await;
    for body in [
        "{ \"not json",
        "",
        "42",
        r#"{"qeury": "{ __typename }"}"#,
        r#"{"query": 1}"#,
        r#"{"query": "{ __typename }", "variables": []}"#,
        r#"{"query": "{ __typename }", "operationName": {}}"#,
    ] {
        for accept in [GRAPHQL_RESPONSE_JSON, "application/json"] {
            let (status, _, response) = raw(
                &server,
                reqwest::Method::POST,
                "/graphql",
                &[("accept", accept), ("content-type", "application/json")],
                Some(body),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?} {accept}");
            assert_eq!(codes(&response), ["BAD_REQUEST"], "{body:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_refused_by_default_and_capped_when_enabled() {
    let server = Server::start().await;
    let token = server.auditor();
    let batch = json!([{"query": "{ __typename }"}, {"query": "{ me { role } }"}]);
    let (status, _, body) = server.post(Some(&token), batch.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&body), ["LIMIT_EXCEEDED"]);
    assert_eq!(limit(&body), "batch");

    let server = Server::start_with(|c| c.limits.batch_size_max = 2).await;
    let token = server.auditor();
    let (status, _, body) = server.post(Some(&token), batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["data"]["__typename"], "Query");
    assert_eq!(body[1]["data"]["me"]["role"], "AUDITOR");
    let three = json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}, {"query": "{ __typename }"}]);
    let (status, _, body) = server.post(Some(&token), three).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(limit(&body), "batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let server = Server::start().await;
    let response = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // A caller's own id is kept, so logs can be joined across services.
    let response = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "caller-chosen-id")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "caller-chosen-id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_and_paths_are_refused() {
    let server = Server::start().await;
    let response = server
        .client
        .put(server.url("/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let response = server.client.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// GET must be safe (issue #13 item 9): a query that records an access to personal data —
/// `customerHistory`, `Customer.sensitive` — is refused over GET, however it is written, and
/// nothing is recorded; over POST it runs and records the view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_that_record_an_access_are_refused_over_get() {
    use crm_domain::auth::{Role, Scope};

    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let id = uuid::Uuid::now_v7().to_string();
    let registered = server
        .query(
            &hq,
            r#"mutation($id: ID!) { registerCustomer(customerId: $id, kind: INDIVIDUAL,
                 profile: { name: "王五", document: { residentId: "11010519491231002X" },
                            phone: "13812345678", sourceChannel: COUNTER }) { position } }"#,
            json!({ "id": id }),
        )
        .await;
    assert!(registered.get("errors").is_none(), "{registered}");
    let get = |query: &'static str| {
        let request = server
            .client
            .get(server.url("/graphql"))
            .header("accept", GRAPHQL_RESPONSE_JSON)
            .bearer_auth(&hq)
            .query(&[
                ("query", query.to_string()),
                ("variables", json!({ "id": id }).to_string()),
            ]);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Json = response.json().await.unwrap();
            (status, allow, body)
        }
    };
    let access_views = || async {
        let log = server
            .query(
                &server.auditor(),
                r#"{ events(first: 50, filter: { category: "access" }) { edges { node { eventType } } } }"#,
                json!({}),
            )
            .await;
        log["data"]["events"]["edges"].as_array().unwrap().len()
    };

    let refused = [
        (
            "query($id: ID!) { customerHistory(id: $id) { snapshot { idDocument } } }",
            "customerHistory",
        ),
        (
            "query($id: ID!) { customer(id: $id) { ...F } } fragment F on Customer { full: sensitive(purpose: \"回访\") { idDocument } }",
            "sensitive",
        ),
        (
            "query($id: ID!) { customer(id: $id) { ... on Customer { sensitive(purpose: \"回访\") { phone } } } }",
            "sensitive",
        ),
    ];
    for (query, field) in refused {
        let (status, allow, body) = get(query).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{query}: {body}");
        assert_eq!(allow.as_deref(), Some("POST"));
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(codes(&body), ["BAD_REQUEST"], "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(field) && message.contains("POST"),
            "the error says which field and what to do: {message}"
        );
    }
    assert_eq!(access_views().await, 0, "nothing was recorded over GET");

    // A query that only reads (masked data) still works over GET.
    let (status, _, body) =
        get("query($id: ID!) { customer(id: $id) { profile { idDocument } } }").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Over POST the same query runs and records the view.
    let history = server
        .query(
            &hq,
            "query($id: ID!) { customerHistory(id: $id) { snapshot { idDocument } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        history["data"]["customerHistory"]["snapshot"]["idDocument"], "11010519491231002X",
        "{history}"
    );
    assert_eq!(access_views().await, 1);
}
