//! `customerLookup` (#16 item 1) through the real server: found by document, phone and account
//! number with the screen pop in one request; scoped (out of scope answers as unknown); every
//! lookup in the access log with its purpose, found or not; refused over GET; typed errors.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, resident_id, Server};

const REGISTER: &str = r#"mutation($id: ID!, $name: String!, $doc: String!, $phone: String) {
  registerCustomer(customerId: $id, kind: INDIVIDUAL,
    profile: { name: $name, document: { residentId: $doc }, phone: $phone,
               sourceChannel: COUNTER }) { position }
}"#;

/// Registers customer `id` named `name` (resident id number `n`) and assigns them to `branch`.
async fn register_in(
    server: &Server,
    hq: &str,
    (id, name, n, phone): (Uuid, &str, u32, Option<&str>),
    branch: BranchId,
) {
    let r = server
        .query(
            hq,
            REGISTER,
            json!({ "id": id.to_string(), "name": name, "doc": resident_id(n), "phone": phone }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = server
        .query(
            hq,
            &format!(
                r#"mutation {{ assignCustomer(customerId: "{id}", to: {{ branchId: "{branch}" }}) {{ position }} }}"#
            ),
            json!({}),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
}

const LOOKUP: &str = r#"query($by: CustomerLookupInput!, $purpose: String!) {
  customerLookup(by: $by, purpose: $purpose) {
    customerId name tier churnRisk
    profile { phone idDocument }
    tickets { ticketId }
    timeline(first: 3) { kind at }
  }
}"#;

async fn lookup(server: &Server, token: &str, by: Json, purpose: &str) -> Json {
    server
        .query(token, LOOKUP, json!({ "by": by, "purpose": purpose }))
        .await
}

fn found(body: &Json) -> Vec<String> {
    body["data"]["customerLookup"]
        .as_array()
        .unwrap_or_else(|| panic!("no answer: {body}"))
        .iter()
        .map(|c| c["customerId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_finds_its_customers_by_number_and_every_lookup_is_recorded() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let (branch_a, branch_b) = (
        BranchId::from_uuid(Uuid::from_u128(0xA1)),
        BranchId::from_uuid(Uuid::from_u128(0xB1)),
    );
    let (ours, theirs) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, n, phone, branch) in [
        (ours, 61, "13861000061", branch_a),
        (theirs, 62, "13862000062", branch_b),
    ] {
        register_in(&server, &hq, (id, "李四", n, Some(phone)), branch).await;
    }
    let opened = server
        .query(
            &hq,
            &format!(
                r#"mutation {{ openAccount(customerId: "{ours}", accountId: "{}", kind: {{ fund: true }}, number: "F7700061") {{ position }} }}"#,
                Uuid::now_v7()
            ),
            json!({}),
        )
        .await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let clerk = StaffId::from_uuid(Uuid::now_v7());
    let token = server.token_for(
        clerk,
        Role::BranchManager,
        Scope::Branch { branch: branch_a },
    );
    let plain = ours.simple().to_string();

    // By each number; the screen pop comes with it, the profile masked.
    let by_phone = lookup(
        &server,
        &token,
        json!({ "phone": "+86 138 6100 0061" }),
        "来电咨询",
    )
    .await;
    assert_eq!(found(&by_phone), std::slice::from_ref(&plain), "{by_phone}");
    let c = &by_phone["data"]["customerLookup"][0];
    assert_eq!(c["name"], "李四");
    assert_eq!(c["profile"]["phone"], "138****0061", "{c}");
    assert!(c["tickets"].is_array() && c["timeline"].is_array(), "{c}");
    let by_doc = lookup(
        &server,
        &token,
        json!({ "idDocument": { "residentId": resident_id(61) } }),
        "柜台业务",
    )
    .await;
    assert_eq!(found(&by_doc), std::slice::from_ref(&plain), "{by_doc}");
    let by_account = lookup(
        &server,
        &token,
        json!({ "accountNumber": "F7700061" }),
        "柜台业务",
    )
    .await;
    assert_eq!(
        found(&by_account),
        std::slice::from_ref(&plain),
        "{by_account}"
    );

    // Another branch's customer answers as a number nobody holds.
    let other = lookup(
        &server,
        &token,
        json!({ "phone": "13862000062" }),
        "来电咨询",
    )
    .await;
    assert!(found(&other).is_empty(), "{other}");
    let nobody = lookup(
        &server,
        &token,
        json!({ "phone": "13800000099" }),
        "来电咨询",
    )
    .await;
    assert!(found(&nobody).is_empty(), "{nobody}");
    assert_eq!(other["data"], nobody["data"]);

    // Typed refusals: no purpose, two keys, a malformed phone; an operator reads no customers.
    let r = lookup(&server, &token, json!({ "phone": "13861000061" }), "  ").await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    let r = lookup(
        &server,
        &token,
        json!({ "phone": "13861000061", "accountNumber": "F7700061" }),
        "x",
    )
    .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    let r = lookup(&server, &token, json!({ "phone": "abc" }), "x").await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    let operator = server.operator().await;
    let r = lookup(&server, &operator, json!({ "phone": "13861000061" }), "x").await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");

    // Over GET it is refused and nothing is recorded.
    let response = server
        .client
        .get(server.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .bearer_auth(&token)
        .query(&[
            ("query", LOOKUP.to_string()),
            (
                "variables",
                json!({ "by": { "phone": "13861000061" }, "purpose": "x" }).to_string(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    // The access log holds the five lookups that ran, found or not, with purposes and what
    // they were by: never the number.
    let log = server
        .query(
            &server.auditor(),
            r#"query($s: ID) { accessLog(staffId: $s, first: 20) {
                 edges { node { kind lookupBy customers customerId purpose } } } }"#,
            json!({ "s": clerk.to_string() }),
        )
        .await;
    let entries: Vec<&Json> = log["data"]["accessLog"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|e| &e["node"])
        .collect();
    let summary: Vec<(String, Vec<String>, String)> = entries
        .iter()
        .map(|e| {
            (
                e["lookupBy"].as_str().unwrap().to_string(),
                e["customers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
                e["purpose"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        summary,
        vec![
            (s("PHONE"), vec![plain.clone()], s("来电咨询")),
            (s("ID_DOCUMENT"), vec![plain.clone()], s("柜台业务")),
            (s("ACCOUNT_NUMBER"), vec![plain.clone()], s("柜台业务")),
            (s("PHONE"), vec![], s("来电咨询")),
            (s("PHONE"), vec![], s("来电咨询")),
        ],
        "{log}"
    );
    assert!(entries
        .iter()
        .all(|e| e["kind"] == "CUSTOMER_LOOKED_UP" && e["customerId"].is_null()));
    assert!(!log.to_string().contains("13861000061"));
}

/// Name search in pinyin (#16 item 1): the customer list's `text` finds 李四 by `ls`, `LS`,
/// `lisi` or `lis`, and 王五 by `ww`, within the caller's scope only; what the name does not
/// spell finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_finds_customers_by_the_pinyin_of_their_names_in_scope() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let (branch_a, branch_b) = (
        BranchId::from_uuid(Uuid::from_u128(0xA2)),
        BranchId::from_uuid(Uuid::from_u128(0xB2)),
    );
    let (li_a, wang_a, li_b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for (id, name, n, branch) in [
        (li_a, "李四", 71, branch_a),
        (wang_a, "王五", 72, branch_a),
        (li_b, "李四", 73, branch_b),
    ] {
        register_in(&server, &hq, (id, name, n, None), branch).await;
    }
    let clerk = server.token_for(
        StaffId::from_uuid(Uuid::now_v7()),
        Role::BranchManager,
        Scope::Branch { branch: branch_a },
    );
    let search = |text: &'static str| {
        let server = &server;
        let clerk = clerk.clone();
        async move {
            let body = server
                .query(
                    &clerk,
                    r#"query($t: String!, $p: Long) {
                      customers(filter: { text: $t }, first: 20, atPosition: $p) {
                        edges { node { customerId name } } } }"#,
                    json!({ "t": text, "p": server.store.head().0 }),
                )
                .await;
            let mut ids: Vec<String> = body["data"]["customers"]["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .map(|e| e["node"]["customerId"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let li = vec![li_a.simple().to_string()];
    for text in ["ls", "LS", "lisi", "li si", "lis"] {
        assert_eq!(search(text).await, li, "{text}");
    }
    assert_eq!(search("ww").await, vec![wang_a.simple().to_string()]);
    // What the names do not spell, and the other branch's 李四, are not found.
    assert!(search("zs").await.is_empty());
    assert!(search("lw").await.is_empty());
    // The plain name still works.
    assert_eq!(search("李").await, li);
}
