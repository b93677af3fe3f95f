//! Every request's token checked against the staff directory (#13 item 17), through the real
//! server with the check on: unknown staff, staff who left, staff whose role or scope changed
//! and revoked tokens get 401 with a reason code, without waiting for expiry; a fresh
//! installation accepts tokens until someone has joined; a WebSocket closes with 4403 at its
//! next operation once its token no longer stands.

use std::time::Duration;

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::Server;
use crate::ws::{close_frame, connect, init, send};

const PROBE: &str = "{ logStatus { headPosition } }";

/// The status and `extensions.reason` a token gets for a plain query.
async fn answer(server: &Server, token: &str) -> (StatusCode, Option<String>) {
    let (status, _, body) = server.post(Some(token), json!({ "query": PROBE })).await;
    let reason = body["errors"][0]["extensions"]["reason"]
        .as_str()
        .map(str::to_string);
    (status, reason)
}

/// Polls until the read side has applied the directory change (milliseconds).
async fn eventually(server: &Server, token: &str, want: (StatusCode, Option<&str>)) {
    let mut last = (StatusCode::OK, None);
    for _ in 0..100 {
        last = answer(server, token).await;
        if last.0 == want.0 && last.1.as_deref() == want.1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("wanted {want:?}, got {last:?}");
}

async fn mutate(server: &Server, token: &str, query: &str, vars: Json) {
    let body = server.query(token, query, vars).await;
    assert!(body.get("errors").is_none(), "{body}");
}

const JOIN: &str = r#"mutation($s: ID!, $role: RoleInput!, $scope: ScopeInput!) {
  joinStaff(staffId: $s, name: "员工", role: $role, scope: $scope) { position } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stand_only_while_the_staff_directory_backs_them() {
    let server = Server::start_with(|c| c.directory_check = true).await;
    // A fresh installation: nobody has joined, so a validly signed token is accepted and the
    // first headquarters staff member joins themselves.
    let hq_id = StaffId::from_uuid(Uuid::now_v7());
    let hq = server.token_for(hq_id, Role::Headquarters, Scope::Company);
    assert_eq!(answer(&server, &hq).await, (StatusCode::OK, None));
    mutate(
        &server,
        &hq,
        JOIN,
        json!({ "s": hq_id.to_string(), "role": "HEADQUARTERS", "scope": { "company": true } }),
    )
    .await;
    // From then on, a subject the directory does not hold is refused.
    let stranger = server.token(Role::Headquarters, Scope::Company);
    eventually(
        &server,
        &stranger,
        (StatusCode::UNAUTHORIZED, Some("STAFF_UNKNOWN")),
    )
    .await;
    assert_eq!(answer(&server, &hq).await, (StatusCode::OK, None));

    // A customer manager who joins works with a token for exactly their role and scope.
    let branch = BranchId::from_uuid(Uuid::from_u128(0xD1));
    let other_branch = BranchId::from_uuid(Uuid::from_u128(0xD2));
    let cm_id = StaffId::from_uuid(Uuid::now_v7());
    let book = Scope::Book { branch, team: None };
    mutate(
        &server,
        &hq,
        JOIN,
        json!({ "s": cm_id.to_string(), "role": "CUSTOMER_MANAGER",
                "scope": { "book": { "branchId": branch.to_string() } } }),
    )
    .await;
    let cm = server.token_for(cm_id, Role::CustomerManager, book);
    eventually(&server, &cm, (StatusCode::OK, None)).await;
    // A token naming another scope than the directory's is refused.
    let elsewhere = server.token_for(
        cm_id,
        Role::CustomerManager,
        Scope::Book {
            branch: other_branch,
            team: None,
        },
    );
    assert_eq!(
        answer(&server, &elsewhere).await,
        (StatusCode::UNAUTHORIZED, Some("ROLE_CHANGED".into()))
    );

    // A socket opened with the manager's token.
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &cm).await;

    // Revoked (a lost phone): the token is refused from now on, long before it expires; the
    // socket closes at its next operation.
    mutate(
        &server,
        &hq,
        r#"mutation($s: ID!) { revokeStaffTokens(staffId: $s, reason: "手机丢失") { position } }"#,
        json!({ "s": cm_id.to_string() }),
    )
    .await;
    eventually(
        &server,
        &cm,
        (StatusCode::UNAUTHORIZED, Some("TOKEN_REVOKED")),
    )
    .await;
    send(
        &mut ws,
        json!({"id": "q", "type": "subscribe", "payload": {"query": PROBE}}),
    )
    .await;
    assert_eq!(close_frame(&mut ws).await, (4403, "TOKEN_REVOKED".into()));
    // A token issued after the revocation (in a later second) stands.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = server.token_for(cm_id, Role::CustomerManager, book);
    assert_eq!(answer(&server, &fresh).await, (StatusCode::OK, None));

    // Left: every token of theirs is refused.
    mutate(
        &server,
        &hq,
        r#"mutation($s: ID!) { leaveStaff(staffId: $s, reason: "离职") { position } }"#,
        json!({ "s": cm_id.to_string() }),
    )
    .await;
    eventually(
        &server,
        &fresh,
        (StatusCode::UNAUTHORIZED, Some("STAFF_LEFT")),
    )
    .await;
    // A staff member may revoke their own tokens ("sign out everywhere").
    mutate(
        &server,
        &hq,
        r#"mutation($s: ID!) { revokeStaffTokens(staffId: $s, reason: "退出所有设备") { position } }"#,
        json!({ "s": hq_id.to_string() }),
    )
    .await;
    eventually(
        &server,
        &hq,
        (StatusCode::UNAUTHORIZED, Some("TOKEN_REVOKED")),
    )
    .await;
}
