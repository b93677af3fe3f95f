//! Answers that must not tell a caller about customers outside their scope (issue #13, items 6
//! and 10): a registration conflict does not name another branch's customer, and `customer`,
//! `node` and `customerHistory` answer alike for an unknown id and an id outside the caller's
//! scope; a merged customer's answers do not name a survivor the caller may not read.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{answer, codes, resident_id, Server};

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

const CUSTOMER: &str = "query($id: ID!) { customer(id: $id) { name lifecycle } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on Customer { name } } }";
const HISTORY: &str =
    "query($id: ID!) { customerHistory(id: $id) { snapshot { name lifecycle mergedInto } } }";

fn customer_gid(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("Customer:{}", id.replace('-', "")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_out_of_scope_customers_answer_alike_and_merges_do_not_name_the_survivor() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let branch_a = BranchId::from_uuid(Uuid::from_u128(0xa2));
    let branch_b = BranchId::from_uuid(Uuid::from_u128(0xb2));
    let branch_c = BranchId::from_uuid(Uuid::from_u128(0xc2));
    let elsewhere = register_in(&server, &hq, branch_b, &resident_id(71)).await;
    let survivor = register_in(&server, &hq, branch_b, &resident_id(72)).await;
    let merged = register_in(&server, &hq, branch_a, &resident_id(73)).await;
    let merge = server
        .query(
            &hq,
            "mutation($s: ID!, $m: ID!) { mergeCustomers(survivorId: $s, mergedId: $m) { position } }",
            json!({ "s": survivor, "m": merged }),
        )
        .await;
    assert!(merge.get("errors").is_none(), "{merge}");
    let at = merge["data"]["mergeCustomers"]["position"]
        .as_u64()
        .unwrap();
    // The read models have the merge before anything is compared.
    let seen = server
        .query(
            &hq,
            "query($id: ID!, $at: Long) { customer(id: $id, atPosition: $at) { gid: id lifecycle } }",
            json!({ "id": merged, "at": at }),
        )
        .await;
    assert_eq!(seen["data"]["customer"]["lifecycle"], "MERGED", "{seen}");
    assert_eq!(
        seen["data"]["customer"]["gid"].as_str().unwrap(),
        customer_gid(&merged),
        "the global id's form"
    );

    let unknown = Uuid::now_v7().to_string();
    let caller_a = server.token(Role::BranchManager, Scope::Branch { branch: branch_a });
    let caller_c = server.token(Role::BranchManager, Scope::Branch { branch: branch_c });
    for (who, token) in [("branch A", &caller_a), ("branch C", &caller_c)] {
        for query in [CUSTOMER, HISTORY] {
            let none = answer(&server, token, query, &unknown).await;
            let other = answer(&server, token, query, &elsewhere).await;
            assert_eq!(none, other, "{who}: {query}");
            assert!(!codes(&none.1).is_empty(), "{who}: an error, {}", none.1);
        }
        let none = answer(&server, token, NODE, &customer_gid(&unknown)).await;
        let other = answer(&server, token, NODE, &customer_gid(&elsewhere)).await;
        assert_eq!(none, other, "{who}: node");
    }
    // The customer outside branch C's scope answers as if unknown, merged or not.
    let none = answer(&server, &caller_c, CUSTOMER, &unknown).await;
    let out = answer(&server, &caller_c, CUSTOMER, &merged).await;
    assert_eq!(none.0, out.0);
    assert_eq!(none.1, out.1);

    // Branch A may read its merged customer, but not the survivor in branch B: nothing it is
    // told names the survivor.
    for query in [CUSTOMER, HISTORY] {
        let (_, body) = answer(&server, &caller_a, query, &merged).await;
        assert!(!mentions(&body, &survivor), "{query}: {body}");
        assert!(!mentions(&body, &branch_b.to_string()), "{query}: {body}");
    }
    let (_, history) = answer(&server, &caller_a, HISTORY, &merged).await;
    assert_eq!(
        history["data"]["customerHistory"]["snapshot"]["lifecycle"], "MERGED",
        "{history}"
    );
    const MARK: &str =
        "mutation($id: ID!) { markKeyCustomer(customerId: $id, isKey: true) { position } }";
    let refused = server.query(&caller_a, MARK, json!({ "id": merged })).await;
    assert_eq!(codes(&refused), ["CONFLICT"], "{refused}");
    assert!(!mentions(&refused, &survivor), "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("merged"),
        "{refused}"
    );
    // Headquarters may read the survivor, and is told where the customer went.
    let told = server.query(&hq, MARK, json!({ "id": merged })).await;
    assert_eq!(codes(&told), ["CONFLICT"], "{told}");
    assert!(mentions(&told, &survivor), "{told}");
    let (_, history) = answer(&server, &hq, HISTORY, &merged).await;
    assert!(mentions(&history, &survivor), "{history}");
}
