//! Issue #13 items 5 and 8: auditors read the access log of personal data (`accessLog`),
//! scoped like everything else and refused to everyone else; the operator role reads no
//! customer data — a customer, its history or its full identity answer an operator as an
//! unknown customer would, and a rules preview gives an operator counts, never customers.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use crm_eventstore::{AllStart, Direction, Filter};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{answer, codes, resident_id, Server};

const REGISTER: &str = r#"mutation($id: ID!, $doc: String!) {
  registerCustomer(customerId: $id, kind: INDIVIDUAL,
    profile: { name: "吴九", document: { residentId: $doc }, phone: "13812345678", sourceChannel: APP }) { position }
}"#;

const ASSIGN: &str = r#"mutation($id: ID!, $branch: ID!) {
  assignCustomer(customerId: $id, to: { branchId: $branch }) { position }
}"#;

/// A customer registered by headquarters and assigned to `branch`; its id and the position
/// of the assignment.
async fn customer_in(server: &Server, hq: &str, branch: BranchId, doc: &str) -> (String, u64) {
    let id = Uuid::now_v7().to_string();
    let r = server
        .query(hq, REGISTER, json!({ "id": id, "doc": doc }))
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let a = server
        .query(
            hq,
            ASSIGN,
            json!({ "id": id, "branch": branch.to_string() }),
        )
        .await;
    assert!(a.get("errors").is_none(), "{a}");
    let at = a["data"]["assignCustomer"]["position"].as_u64().unwrap();
    (id, at)
}

/// A full view of `id` through `Customer.sensitive(purpose)`, recorded in the access log.
async fn view(server: &Server, token: &str, id: &str, at: u64, purpose: &str) {
    let body = server
        .query(
            token,
            r#"query($id: ID!, $at: Long, $p: String!) { customer(id: $id, atPosition: $at) {
                 sensitive(purpose: $p) { idDocument recordedAtPosition } } }"#,
            json!({ "id": id, "at": at, "p": purpose }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

const LOG: &str = r#"query($c: ID, $s: ID, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  accessLog(customerId: $c, staffId: $s, from: $from, to: $to, first: $first, after: $after) {
    edges { cursor node { staffId customerId kind fields purpose at position attemptedFor holderDisclosed } }
    pageInfo { hasNextPage endCursor }
    totalCount } }"#;

async fn log(server: &Server, token: &str, vars: Json) -> Json {
    let body = server.query(token, LOG, vars).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["accessLog"].clone()
}

fn nodes(page: &Json) -> Vec<Json> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_read_the_access_log_filtered_scoped_and_paged_and_no_one_else() {
    let server = Server::start().await;
    let hq_staff = StaffId::from_uuid(Uuid::now_v7());
    let hq = server.token_for(hq_staff, Role::Headquarters, Scope::Company);
    let branch_a = BranchId::from_uuid(Uuid::from_u128(0xa5));
    let branch_b = BranchId::from_uuid(Uuid::from_u128(0xb5));
    let (docs, names) = ([resident_id(51), resident_id(52), resident_id(53)], "吴九");
    let (c1, _) = customer_in(&server, &hq, branch_a, &docs[0]).await;
    let (c2, _) = customer_in(&server, &hq, branch_a, &docs[1]).await;
    let (c3, at) = customer_in(&server, &hq, branch_b, &docs[2]).await;
    let bm_staff = StaffId::from_uuid(Uuid::now_v7());
    let bm_a = server.token_for(
        bm_staff,
        Role::BranchManager,
        Scope::Branch { branch: branch_a },
    );

    // Five full views: headquarters sees the three customers, branch A's manager c1 twice.
    view(&server, &hq, &c1, at, "回访核实身份").await;
    view(&server, &hq, &c2, at, "开户核实").await;
    view(&server, &hq, &c3, at, "投诉处理").await;
    view(&server, &bm_a, &c1, at, "适当性回访").await;
    view(&server, &bm_a, &c1, at, "电话回访").await;

    // A company auditor reads them all, oldest first: ids, fields and purposes, no values.
    let auditor = server.auditor();
    let all = log(&server, &auditor, json!({ "first": 10 })).await;
    let entries = nodes(&all);
    assert_eq!(entries.len(), 5, "{all}");
    assert_eq!(all["pageInfo"]["hasNextPage"], false, "{all}");
    let e = &entries[0];
    assert_eq!(e["staffId"], hq_staff.to_string(), "{all}");
    // Ids as the API writes them (simple form).
    let plain = |id: &str| id.replace('-', "");
    assert_eq!(e["customerId"], plain(&c1), "{all}");
    assert_eq!(e["kind"], "PII_VIEWED", "{all}");
    assert_eq!(e["fields"], json!(["ID_DOCUMENT", "PHONE"]), "{all}");
    assert_eq!(e["purpose"], "回访核实身份", "{all}");
    assert!(e["at"].as_str().is_some_and(|t| !t.is_empty()), "{all}");
    let purposes: Vec<&str> = entries
        .iter()
        .map(|e| e["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        [
            "回访核实身份",
            "开户核实",
            "投诉处理",
            "适当性回访",
            "电话回访"
        ]
    );
    let text = all.to_string();
    for doc in &docs {
        assert!(!text.contains(doc.as_str()), "a document number: {text}");
    }
    assert!(
        !text.contains(names) && !text.contains("13812345678"),
        "{text}"
    );

    // By customer, and by staff member (whose count is known: their stream's length).
    let of_c1 = log(&server, &auditor, json!({ "c": c1 })).await;
    assert_eq!(nodes(&of_c1).len(), 3, "{of_c1}");
    assert!(nodes(&of_c1).iter().all(|e| e["customerId"] == plain(&c1)));
    let of_bm = log(&server, &auditor, json!({ "s": bm_staff.to_string() })).await;
    assert_eq!(nodes(&of_bm).len(), 2, "{of_bm}");
    assert!(nodes(&of_bm)
        .iter()
        .all(|e| e["staffId"] == bm_staff.to_string()));
    assert_eq!(of_bm["totalCount"], 2, "{of_bm}");
    let both = log(
        &server,
        &auditor,
        json!({ "c": c2, "s": bm_staff.to_string() }),
    )
    .await;
    assert!(nodes(&both).is_empty(), "{both}");
    // By time: nothing before 2000 or after 2100.
    for vars in [
        json!({ "to": "2000-01-01T00:00:00Z" }),
        json!({ "from": "2100-01-01T00:00:00Z" }),
    ] {
        let page = log(&server, &auditor, vars).await;
        assert!(nodes(&page).is_empty(), "{page}");
    }

    // Paged two at a time: the same entries, in order, the last page says it is the last.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    for round in 0.. {
        assert!(round < 5, "paging does not end");
        let page = log(&server, &auditor, json!({ "first": 2, "after": after })).await;
        let got = nodes(&page);
        assert!(got.len() <= 2, "{page}");
        paged.extend(got);
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(paged, entries);

    // A branch auditor reads the entries about their branch's customers only.
    let auditor_b = server.token(Role::Auditor, Scope::Branch { branch: branch_b });
    let of_b = nodes(&log(&server, &auditor_b, json!({})).await);
    assert_eq!(of_b.len(), 1, "{of_b:?}");
    assert_eq!(of_b[0]["customerId"], plain(&c3));
    let of_c1_for_b = log(&server, &auditor_b, json!({ "c": c1 })).await;
    assert!(nodes(&of_c1_for_b).is_empty(), "{of_c1_for_b}");

    // Everyone else is refused, reading nothing: headquarters, managers, brokers, operators.
    let broker = server.token(
        Role::Broker,
        Scope::Book {
            branch: branch_a,
            team: None,
        },
    );
    for (who, token) in [
        ("headquarters", hq.clone()),
        ("branch manager", bm_a.clone()),
        ("customer manager", server.customer_manager()),
        ("broker", broker),
        (
            "service agent",
            server.token(Role::ServiceAgent, Scope::Company),
        ),
        ("operator", server.operator().await),
    ] {
        let refused = server.query(&token, LOG, json!({})).await;
        assert_eq!(codes(&refused), ["FORBIDDEN"], "{who}: {refused}");
        assert!(refused["data"].is_null(), "{who}: {refused}");
        assert!(
            !refused.to_string().contains(&plain(&c1)),
            "{who}: {refused}"
        );
    }
}

fn customer_gid(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("Customer:{}", id.replace('-', "")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_is_answered_about_a_customer_as_about_an_unknown_one() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let branch = BranchId::from_uuid(Uuid::from_u128(0xa8));
    let (id, at) = customer_in(&server, &hq, branch, &resident_id(81)).await;
    // The read models hold the customer before anything is compared.
    let seen = server
        .query(
            &hq,
            "query($id: ID!, $at: Long) { customer(id: $id, atPosition: $at) { name } }",
            json!({ "id": id, "at": at }),
        )
        .await;
    assert_eq!(seen["data"]["customer"]["name"], "吴九", "{seen}");
    let unknown = Uuid::now_v7().to_string();
    let operator = server.operator().await;

    for query in [
        "query($id: ID!) { customerHistory(id: $id) { snapshot { name phone idDocument accounts { number } suitability { level } assignment { branchId } } } }",
        "query($id: ID!) { customer(id: $id) { name lifecycle } }",
        r#"query($id: ID!) { customer(id: $id) { sensitive(purpose: "运维排障") { idDocument } } }"#,
    ] {
        let known = answer(&server, &operator, query, &id).await;
        let none = answer(&server, &operator, query, &unknown).await;
        assert_eq!(known, none, "{query}");
        assert_eq!(codes(&known.1), ["NOT_FOUND"], "{query}: {}", known.1);
        assert!(!known.1.to_string().contains("吴九"), "{}", known.1);
    }
    let node = "query($id: ID!) { node(id: $id) { id ... on Customer { name } } }";
    let known = answer(&server, &operator, node, &customer_gid(&id)).await;
    let none = answer(&server, &operator, node, &customer_gid(&unknown)).await;
    assert_eq!(known, none);
    assert!(known.1["data"]["node"].is_null(), "{}", known.1);
    let list = server
        .query(
            &operator,
            "{ customers(first: 10) { totalCount edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["customers"]["totalCount"], 0, "{list}");
    // Headquarters and auditors still read the customer's history.
    for token in [&hq, &server.auditor()] {
        let (_, body) = answer(
            &server,
            token,
            "query($id: ID!) { customerHistory(id: $id) { snapshot { name } } }",
            &id,
        )
        .await;
        assert_eq!(
            body["data"]["customerHistory"]["snapshot"]["name"], "吴九",
            "{body}"
        );
    }
}

const PREVIEW: &str = r#"mutation { startRulesPreview(tiers: { diamond: 40, gold: 20, silver: 5 }, limit: 50) { id } }"#;
const JOB: &str = r#"query($id: ID!) { job(id: $id) { state preview {
    customersCompared customersChangingTier tierMoves { from to count }
    tierMovesByBranch { groupId moves { count } }
    tierChanges { customerId name branchId managerId } churnChanges { customerId } } } }"#;

/// Every customer id the log holds, hyphenated.
fn customer_ids(server: &Server) -> BTreeSet<String> {
    server
        .store
        .read_filtered(
            &Filter::Category("customer".into()),
            AllStart::Start,
            Direction::Forwards,
            100_000,
        )
        .unwrap()
        .into_iter()
        .map(|e| e.stream.trim_start_matches("customer-").to_string())
        .collect()
}

fn names_a_customer(body: &Json, ids: &BTreeSet<String>) -> Option<String> {
    let text = body.to_string();
    ids.iter()
        .find(|id| text.contains(id.as_str()) || text.contains(&id.replace('-', "")))
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_preview_gives_the_operator_counts_and_no_customer() {
    let server = Server::start_demo(120, 20).await;
    let ids = customer_ids(&server);
    assert!(ids.len() >= 100, "{}", ids.len());
    let op = server.token(Role::Operator, Scope::Company);

    let started = server.query(&op, PREVIEW, json!({})).await;
    let id = started["data"]["startRulesPreview"]["id"].clone();
    assert!(id.is_string(), "{started}");
    let mut job = Json::Null;
    for _ in 0..600 {
        let body = server.query(&op, JOB, json!({ "id": id })).await;
        job = body["data"]["job"].clone();
        assert!(job.is_object(), "{body}");
        if job["state"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["state"], "SUCCEEDED", "{job}");
    let preview = &job["preview"];
    // The counts an operator needs to judge a rule change are there...
    let changing = preview["customersChangingTier"].as_i64().unwrap();
    assert!(changing > 0, "{preview}");
    let moved: i64 = preview["tierMoves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["count"].as_i64().unwrap())
        .sum();
    assert_eq!(moved, changing, "{preview}");
    assert!(
        !preview["tierMovesByBranch"].as_array().unwrap().is_empty(),
        "{preview}"
    );
    // ...and no customer: no list, no id anywhere in the answer.
    assert_eq!(preview["tierChanges"], json!([]), "{preview}");
    assert_eq!(preview["churnChanges"], json!([]), "{preview}");
    assert_eq!(names_a_customer(&job, &ids), None, "{job}");

    // The same through the deprecated mutation that waits for the result.
    let waited = server
        .query(
            &op,
            r#"mutation { previewRules(tiers: { diamond: 40, gold: 20, silver: 5 }, limit: 50) {
                 customersChangingTier tierChanges { customerId name } churnChanges { customerId } } }"#,
            json!({}),
        )
        .await;
    assert!(waited.get("errors").is_none(), "{waited}");
    let p = &waited["data"]["previewRules"];
    assert_eq!(
        p["customersChangingTier"].as_i64(),
        Some(changing),
        "{waited}"
    );
    assert_eq!(p["tierChanges"], json!([]), "{waited}");
    assert_eq!(names_a_customer(&waited, &ids), None, "{waited}");
}
