//! Answers that must not tell a caller about customers outside their scope (issue #13, item 6):
//! a registration conflict does not name another branch's customer.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, Server};

fn resident_id(n: u32) -> String {
    crm_domain::values::ResidentIdNumber::with_check_character(&format!(
        "11010519491231{:03}",
        n % 1000
    ))
    .unwrap()
    .as_str()
    .to_string()
}

const REGISTER: &str = r#"mutation($id: ID!, $doc: String!) {
  registerCustomer(customerId: $id, kind: INDIVIDUAL,
    profile: { name: "周八", document: { residentId: $doc }, sourceChannel: APP }) { position }
}"#;

const ASSIGN: &str = r#"mutation($id: ID!, $branch: ID!) {
  assignCustomer(customerId: $id, to: { branchId: $branch }) { position }
}"#;

/// Every way a customer id can appear in a message: hyphenated or simple.
fn mentions(body: &Json, id: &str) -> bool {
    let text = body.to_string();
    text.contains(id) || text.contains(&id.replace('-', ""))
}

async fn register(server: &Server, token: &str, id: &str, doc: &str) -> Json {
    server
        .query(token, REGISTER, json!({ "id": id, "doc": doc }))
        .await
}

async fn register_in(server: &Server, hq: &str, branch: BranchId, doc: &str) -> String {
    let id = Uuid::now_v7().to_string();
    let r = register(server, hq, &id, doc).await;
    assert!(r.get("errors").is_none(), "{r}");
    let a = server
        .query(
            hq,
            ASSIGN,
            json!({ "id": id, "branch": branch.to_string() }),
        )
        .await;
    assert!(a.get("errors").is_none(), "{a}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_conflict_names_the_holder_only_to_callers_who_may_read_them() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let branch_a = BranchId::from_uuid(Uuid::from_u128(0xa1));
    let branch_b = BranchId::from_uuid(Uuid::from_u128(0xb1));
    let doc = resident_id(61);
    let holder = register_in(&server, &hq, branch_b, &doc).await;

    // A branch manager of another branch registers someone with the same document.
    let stranger = StaffId::from_uuid(Uuid::now_v7());
    let stranger_token = server.token_for(
        stranger,
        Role::BranchManager,
        Scope::Branch { branch: branch_a },
    );
    let refused = register(&server, &stranger_token, &Uuid::now_v7().to_string(), &doc).await;
    assert_eq!(codes(&refused), ["CONFLICT"], "{refused}");
    assert!(!mentions(&refused, &holder), "names the holder: {refused}");
    assert!(
        !mentions(&refused, &branch_b.to_string()),
        "names the branch: {refused}"
    );
    assert!(!refused.to_string().contains("周八"), "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("already registered"), "{message}");
    assert!(message.contains("branch manager"), "{message}");

    // The holding branch's manager may read the holder: the conflict names them (to merge).
    let own = StaffId::from_uuid(Uuid::now_v7());
    let own_token = server.token_for(own, Role::BranchManager, Scope::Branch { branch: branch_b });
    let named = register(&server, &own_token, &Uuid::now_v7().to_string(), &doc).await;
    assert_eq!(codes(&named), ["CONFLICT"], "{named}");
    assert!(mentions(&named, &holder), "{named}");

    // Both attempts are in the access log, each in its staff member's stream.
    let access = server
        .query(
            &server.auditor(),
            r#"{ events(first: 20, filter: { category: "access" }) { edges { node { eventType stream } } } }"#,
            json!({}),
        )
        .await;
    let attempts: Vec<String> = access["data"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["eventType"] == "DuplicateIdentityAttempted")
        .map(|e| e["node"]["stream"].as_str().unwrap().to_string())
        .collect();
    let stream_of = |s: StaffId| format!("access-{s}");
    assert!(
        attempts.contains(&stream_of(stranger)) && attempts.contains(&stream_of(own)),
        "{access}"
    );
}
