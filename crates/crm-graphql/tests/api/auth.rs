//! Authentication (401 without a valid bearer token) and scoping where data is read.

use std::time::Duration;

use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::{BranchId, StaffId, TeamId};
use crm_graphql::{Secret, TokenKeys};
use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::common::{codes, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_get_401_unauthenticated() {
    let server = Server::start().await;
    let actor = Actor {
        staff_id: StaffId::from_uuid(Uuid::now_v7()),
        role: Role::Auditor,
        scope: Scope::Company,
    };
    let expired = server
        .keys
        .mint(
            &actor,
            OffsetDateTime::now_utc() - time::Duration::hours(1),
            Duration::from_secs(60),
        )
        .unwrap();
    let foreign = TokenKeys::new(&Secret::new("some other secret, also 32 bytes long"))
        .mint(&actor, OffsetDateTime::now_utc(), Duration::from_secs(60))
        .unwrap();
    for token in [
        None,
        Some("garbage"),
        Some(expired.as_str()),
        Some(foreign.as_str()),
    ] {
        let (status, headers, body) = server
            .post(token, json!({"query": "{ me { role } }"}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(headers.get("www-authenticate").unwrap(), "Bearer");
        assert_eq!(codes(&body), ["UNAUTHENTICATED"]);
        assert!(body.get("data").is_none());
    }
    // GET too.
    let response = server
        .client
        .get(server.url("/graphql?query=%7B__typename%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Signs arbitrary claims with the server's secret, as a forger who has the secret would not
/// need to but a careless issuer might.
fn signed(claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::common::SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_without_iat_or_exp_too_long_or_from_the_future_get_401() {
    let server = Server::start().await;
    let sub = Uuid::now_v7().simple().to_string();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let hour = 3600;
    let claims = |extra: serde_json::Value| {
        let mut c = json!({ "sub": sub, "role": "Auditor", "scope": "Company" });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        signed(c)
    };
    // The same claims within the bounds are accepted: what is refused is the bound, not the
    // hand-made token.
    let good = claims(json!({ "iat": now, "exp": now + hour }));
    let (status, _, body) = server
        .post(Some(&good), json!({"query": "{ me { role } }"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (why, token) in [
        ("no exp", claims(json!({ "iat": now }))),
        ("no iat", claims(json!({ "exp": now + hour }))),
        (
            "a lifetime over 12 h",
            claims(json!({ "iat": now, "exp": now + 13 * hour })),
        ),
        (
            "a lifetime of a year, issued long ago",
            claims(json!({ "iat": now - 300 * 24 * hour, "exp": now + 65 * 24 * hour })),
        ),
        (
            "issued in the future",
            claims(json!({ "iat": now + hour, "exp": now + 2 * hour })),
        ),
        (
            "not valid before an hour from now",
            claims(json!({ "iat": now, "exp": now + 2 * hour, "nbf": now + hour })),
        ),
    ] {
        let (status, _, body) = server
            .post(Some(&token), json!({"query": "{ me { role } }"}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
        assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_is_the_actor_of_the_token() {
    let server = Server::start().await;
    let branch = Uuid::from_u128(10);
    let team = Uuid::from_u128(30);
    let staff = Uuid::now_v7();
    let actor = Actor {
        staff_id: StaffId::from_uuid(staff),
        role: Role::Broker,
        scope: Scope::Book {
            branch: BranchId::from_uuid(branch),
            team: Some(TeamId::from_uuid(team)),
        },
    };
    let token = crm_graphql::mint_dev_token(
        &Secret::new(crate::common::SECRET),
        &actor,
        Duration::from_secs(60),
    )
    .unwrap();
    let body = server
        .query(
            &token,
            "{ me { id staffId role scope { kind regionId branchId teamId } } }",
            json!({}),
        )
        .await;
    let me = &body["data"]["me"];
    assert_eq!(me["staffId"], staff.to_string());
    assert_eq!(me["role"], "BROKER");
    assert_eq!(me["scope"]["kind"], "BOOK");
    assert_eq!(me["scope"]["branchId"], branch.to_string());
    assert_eq!(me["scope"]["teamId"], team.to_string());
    assert!(me["scope"]["regionId"].is_null());
    // The global id refetches the same staff member, and nobody else's.
    let again = server
        .query(
            &token,
            "query($id: ID!) { node(id: $id) { id ... on Staff { role } } }",
            json!({"id": me["id"]}),
        )
        .await;
    assert_eq!(again["data"]["node"]["role"], "BROKER");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_hq_auditors_and_operators_read_the_log() {
    let server = Server::start().await;
    server.append("customer-1", "CustomerRegistered", 1).await;
    let queries = [
        "{ events { totalCount } }",
        "{ logStatus { headPosition } }",
        "{ verifyLog { ok } }",
    ];
    let refused = [
        server.customer_manager(),
        server.token(
            Role::BranchManager,
            Scope::Branch {
                branch: BranchId::from_uuid(Uuid::from_u128(1)),
            },
        ),
        server.token(Role::ServiceAgent, Scope::Company),
    ];
    for token in &refused {
        for query in queries {
            let body = server.query(token, query, json!({})).await;
            assert_eq!(codes(&body), ["FORBIDDEN"], "{query}: {body}");
            assert!(body["data"].is_null(), "{body}");
        }
    }
    let allowed = [
        server.auditor(),
        server.token(Role::Operator, Scope::Company),
        server.token(Role::Headquarters, Scope::Company),
    ];
    for token in &allowed {
        for query in queries {
            let body = server.query(token, query, json!({})).await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
        }
    }
    // The same data through `node` is checked the same way: no second door.
    let id = server
        .query(
            &allowed[0],
            "{ events(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await["data"]["events"]["edges"][0]["node"]["id"]
        .clone();
    let body = server
        .query(
            &refused[0],
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
}
