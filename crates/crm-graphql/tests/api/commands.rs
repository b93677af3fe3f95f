//! Mutations over real HTTP: commands recorded, refusals with their stable codes, idempotency
//! by command id.

use crm_domain::auth::{Role, Scope};
use serde_json::{json, Value as Json};

use crate::common::{codes, resident_id, Server};

const REGISTER: &str = r#"mutation($id: ID!, $doc: String!, $commandId: ID) {
  registerCustomer(commandId: $commandId, customerId: $id, kind: INDIVIDUAL,
    profile: { name: "张三", document: { residentId: $doc }, phone: "13812345678",
               sourceChannel: COUNTER }) {
    position alreadyHandled events { stream eventType position revision }
  }
}"#;

/// A valid resident ID number for sequence `n` (GB 11643 check digit).
fn hq(server: &Server) -> String {
    server.token(Role::Headquarters, Scope::Company)
}

fn customer(n: u128) -> String {
    uuid::Uuid::from_u128(0xC000 + n).to_string()
}

async fn register(server: &Server, token: &str, n: u32) -> Json {
    server
        .query(
            token,
            REGISTER,
            json!({ "id": customer(u128::from(n)), "doc": resident_id(n) }),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_records_its_events_and_returns_the_position() {
    let server = Server::start().await;
    let body = register(&server, &hq(&server), 1).await;
    let result = &body["data"]["registerCustomer"];
    assert_eq!(
        result["events"][0]["eventType"], "CustomerRegistered",
        "{body}"
    );
    assert_eq!(result["alreadyHandled"], false);
    let position = result["position"].as_u64().unwrap();
    assert!(position >= 1);
    let log = server
        .query(
            &server.auditor(),
            "{ events(first: 10) { edges { node { eventType stream } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        log["data"]["events"]["edges"][0]["node"]["eventType"],
        "CustomerRegistered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_command_id_is_answered_with_the_first_result() {
    let server = Server::start().await;
    let token = hq(&server);
    let vars = json!({ "id": customer(2), "doc": resident_id(2), "commandId": uuid::Uuid::now_v7().to_string() });
    let first = server.query(&token, REGISTER, vars.clone()).await;
    let again = server.query(&token, REGISTER, vars).await;
    assert_eq!(
        again["data"]["registerCustomer"]["alreadyHandled"], true,
        "{again}"
    );
    assert_eq!(
        first["data"]["registerCustomer"]["events"],
        again["data"]["registerCustomer"]["events"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_their_codes() {
    let server = Server::start().await;
    let token = hq(&server);
    register(&server, &token, 3).await;

    // A bad check digit: VALIDATION.
    let mut bad = resident_id(4);
    bad.pop();
    bad.push(if resident_id(4).ends_with('1') {
        '2'
    } else {
        '1'
    });
    let body = server
        .query(&token, REGISTER, json!({ "id": customer(4), "doc": bad }))
        .await;
    assert_eq!(codes(&body), ["VALIDATION"], "{body}");

    // The same document again: CONFLICT, naming the existing customer.
    let body = server
        .query(
            &token,
            REGISTER,
            json!({ "id": customer(5), "doc": resident_id(3) }),
        )
        .await;
    assert_eq!(codes(&body), ["CONFLICT"], "{body}");

    // A customer manager outside the customer's book: FORBIDDEN.
    let body = server
        .query(
            &server.customer_manager(),
            "mutation($id: ID!) { markKeyCustomer(customerId: $id, isKey: true) { position } }",
            json!({ "id": customer(3) }),
        )
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");

    // Selling above the assessed risk level: SUITABILITY_VIOLATION.
    let suitability = "mutation($id: ID!) { recordSuitability(customerId: $id, level: C3, assessedOn: \"2024-01-01\", expiresOn: \"2099-01-01\") { position } }";
    let body = server
        .query(&token, suitability, json!({ "id": customer(3) }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    // The catalogue rates the product R4 (headquarters launched it).
    let launched = server
        .query(
            &token,
            r#"mutation($p: ID!) { launchProduct(productId: $p, name: "股票期权", kind: MARGIN_TRADING, risk: R4) { position } }"#,
            json!({ "p": customer(99) }),
        )
        .await;
    assert!(launched.get("errors").is_none(), "{launched}");
    let sale = |risk: &str| {
        format!("mutation($id: ID!, $p: ID!) {{ recordProductSale(customerId: $id, productId: $p, productRisk: {risk}, amount: \"10000.00\") {{ position }} }}")
    };
    let body = server
        .query(
            &token,
            &sale("R4"),
            json!({ "id": customer(3), "p": customer(99) }),
        )
        .await;
    assert_eq!(codes(&body), ["SUITABILITY_VIOLATION"], "{body}");
    // Claiming R1 for it: the catalogue decides, the request is refused.
    let body = server
        .query(
            &token,
            &sale("R1"),
            json!({ "id": customer(3), "p": customer(99) }),
        )
        .await;
    assert_eq!(codes(&body), ["VALIDATION"], "{body}");
    // Recording a suitability level is not the customer's manager's to do.
    let body = server
        .query(
            &server.customer_manager(),
            suitability,
            json!({ "id": customer(3) }),
        )
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");

    // An unknown customer: NOT_FOUND.
    let body = server
        .query(
            &token,
            "mutation($id: ID!) { markKeyCustomer(customerId: $id, isKey: true) { position } }",
            json!({ "id": customer(77) }),
        )
        .await;
    assert_eq!(codes(&body), ["NOT_FOUND"], "{body}");
}

const OPEN_TICKET: &str = r#"mutation($commandId: ID, $subject: String!) {
  openTicket(commandId: $commandId, kind: COMPLAINT, priority: HIGH, channel: PHONE,
    subject: $subject, description: "开盘时无法下单") {
    position alreadyHandled events { stream eventType position revision }
  }
}"#;

async fn tickets(server: &Server, token: &str, at: u64) -> Json {
    // Query fields resolve concurrently: wait for the read models in a query of its own.
    let caught_up = server
        .query(
            token,
            "query($at: Long) { customers(first: 0, atPosition: $at) { totalCount } }",
            json!({ "at": at }),
        )
        .await;
    assert!(caught_up.get("errors").is_none(), "{caught_up}");
    let list = server
        .query(
            token,
            "{ tickets { totalCount edges { node { ticketId subject } } } }",
            json!({}),
        )
        .await;
    assert!(list.get("errors").is_none(), "{list}");
    list["data"]["tickets"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_ticket_sent_three_times_with_one_command_id_opens_one_ticket() {
    let server = Server::start().await;
    let token = hq(&server);
    let command_id = uuid::Uuid::now_v7().to_string();
    let vars = json!({ "commandId": command_id, "subject": "交易系统卡顿" });
    let mut answers = Vec::new();
    for _ in 0..3 {
        let r = server.query(&token, OPEN_TICKET, vars.clone()).await;
        assert!(r.get("errors").is_none(), "{r}");
        answers.push(r["data"]["openTicket"].clone());
    }
    let handled: Vec<_> = answers
        .iter()
        .map(|a| a["alreadyHandled"].clone())
        .collect();
    assert_eq!(handled, [false, true, true]);
    assert!(
        answers.iter().all(|a| a["events"] == answers[0]["events"]),
        "every retry answers with the first result: {answers:?}"
    );
    let stream = answers[0]["events"][0]["stream"].as_str().unwrap();
    let at = answers[0]["position"].as_u64().unwrap();
    let list = tickets(&server, &token, at).await;
    assert_eq!(list["totalCount"], 1, "{list}");
    let ticket_id = list["edges"][0]["node"]["ticketId"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(ticket_id).ok(),
        uuid::Uuid::parse_str(stream.trim_start_matches("ticket-")).ok(),
        "the ticket is the one the first attempt opened"
    );

    // The same command id for another ticket: a conflict, and still one ticket.
    let other = json!({ "commandId": command_id, "subject": "另一件事" });
    let r = server.query(&token, OPEN_TICKET, other).await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    assert_eq!(server.store.head().0, at, "nothing more was written");
    assert_eq!(tickets(&server, &token, at).await["totalCount"], 1);
}

/// #14: a command id is one command's on any stream: reused for the same mutation on another
/// existing customer it is CONFLICT and writes nothing, and the first is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_id_used_on_one_customer_is_a_conflict_on_another() {
    let server = Server::start().await;
    let token = hq(&server);
    register(&server, &token, 50).await;
    register(&server, &token, 51).await;
    let mark = "mutation($id: ID!, $commandId: ID) { markKeyCustomer(commandId: $commandId, customerId: $id, isKey: true) { alreadyHandled position } }";
    let command_id = uuid::Uuid::now_v7().to_string();
    let first = server
        .query(
            &token,
            mark,
            json!({ "id": customer(50), "commandId": command_id }),
        )
        .await;
    assert_eq!(
        first["data"]["markKeyCustomer"]["alreadyHandled"], false,
        "{first}"
    );
    let head = server.store.head();
    let reused = server
        .query(
            &token,
            mark,
            json!({ "id": customer(51), "commandId": command_id }),
        )
        .await;
    assert_eq!(codes(&reused), ["CONFLICT"], "{reused}");
    assert_eq!(server.store.head(), head, "nothing was written");
    let again = server
        .query(
            &token,
            mark,
            json!({ "id": customer(50), "commandId": command_id }),
        )
        .await;
    assert_eq!(
        again["data"]["markKeyCustomer"]["alreadyHandled"], true,
        "{again}"
    );
}

/// #15: churn weighs 30% of a broker's appraisal, so the broker does not record it: their own
/// customer's `markCustomerChurned` is FORBIDDEN (naming the right), while the branch's manager
/// records it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_cannot_record_their_own_customers_churn() {
    use crm_domain::ids::{BranchId, StaffId};
    let server = Server::start().await;
    let token = hq(&server);
    register(&server, &token, 40).await;
    let branch = BranchId::from_uuid(uuid::Uuid::from_u128(0xB40));
    let broker = StaffId::from_uuid(uuid::Uuid::now_v7());
    let assign = format!(
        r#"mutation {{ assignCustomer(customerId: "{}", to: {{ branchId: "{branch}", managerId: "{broker}" }}) {{ position }} }}"#,
        customer(40)
    );
    let assigned = server.query(&token, &assign, json!({})).await;
    assert!(assigned.get("errors").is_none(), "{assigned}");
    let broker_token = server.token_for(broker, Role::Broker, Scope::Book { branch, team: None });
    let churn = "mutation($id: ID!) { markCustomerChurned(customerId: $id, reason: COMPETITOR) { position } }";
    // Their own customer: they may update it…
    let key = server
        .query(
            &broker_token,
            "mutation($id: ID!) { markKeyCustomer(customerId: $id, isKey: true) { position } }",
            json!({ "id": customer(40) }),
        )
        .await;
    assert!(key.get("errors").is_none(), "{key}");
    // …but not record its churn.
    let body = server
        .query(&broker_token, churn, json!({ "id": customer(40) }))
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    assert!(body.to_string().contains("RecordChurn"), "{body}");
    // The branch's manager records it.
    let manager = server.token(Role::BranchManager, Scope::Branch { branch });
    let body = server
        .query(&manager, churn, json!({ "id": customer(40) }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// #15 item 1: the broker who serves a customer flags them at risk (流失预警); a broker of
/// another branch may not; the customer's churn risk is at least MEDIUM naming who and why,
/// the flag is shown, and the broker's appraised churn does not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_broker_flags_a_customer_at_risk_without_it_counting_as_churn() {
    use crm_domain::ids::{BranchId, StaffId};
    let server = Server::start().await;
    let token = hq(&server);
    register(&server, &token, 41).await;
    let branch = BranchId::from_uuid(uuid::Uuid::from_u128(0xB41));
    let broker = StaffId::from_uuid(uuid::Uuid::now_v7());
    let assign = format!(
        r#"mutation {{ assignCustomer(customerId: "{}", to: {{ branchId: "{branch}", managerId: "{broker}" }}) {{ position }} }}"#,
        customer(41)
    );
    let assigned = server.query(&token, &assign, json!({})).await;
    assert!(assigned.get("errors").is_none(), "{assigned}");
    let book =
        |staff, branch| server.token_for(staff, Role::Broker, Scope::Book { branch, team: None });
    let broker_token = book(broker, branch);
    let churned = r#"query($s: ID!, $m: String!) { staffPerformance(staffId: $s, period: { month: $m }) { churned } }"#;
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let month = format!("{}-{:02}", today.year(), u8::from(today.month()));
    let perf = json!({ "s": broker.to_string(), "m": month });
    let before = server.query(&broker_token, churned, perf.clone()).await;
    assert!(before.get("errors").is_none(), "{before}");
    let flag = r#"mutation($id: ID!, $note: String) { flagCustomerAtRisk(customerId: $id, reason: COMPETITOR, note: $note) { position } }"#;
    // A broker of another branch may not flag the customer.
    let other = book(
        StaffId::from_uuid(uuid::Uuid::now_v7()),
        BranchId::from_uuid(uuid::Uuid::from_u128(0xB42)),
    );
    let body = server
        .query(&other, flag, json!({ "id": customer(41), "note": "x" }))
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    // A note over 200 characters is refused.
    let long = "长".repeat(201);
    let body = server
        .query(
            &broker_token,
            flag,
            json!({ "id": customer(41), "note": long }),
        )
        .await;
    assert_eq!(codes(&body), ["VALIDATION"], "{body}");
    // The serving broker flags it; a second flag is a conflict.
    let vars = json!({ "id": customer(41), "note": "问了别家的佣金" });
    let body = server.query(&broker_token, flag, vars.clone()).await;
    assert!(body.get("errors").is_none(), "{body}");
    let flagged_at = body["data"]["flagCustomerAtRisk"]["position"].clone();
    let body = server.query(&broker_token, flag, vars).await;
    assert_eq!(codes(&body), ["CONFLICT"], "{body}");
    // Reads name the position of the write they follow (read-your-writes).
    let read = r#"query($id: ID!, $at: Long) { customer(id: $id, atPosition: $at) { churnRisk
        churnRiskReason churnReason lifecycle atRiskFlag { by { id } reason note } } }"#;
    let body = server
        .query(
            &broker_token,
            read,
            json!({ "id": customer(41), "at": flagged_at }),
        )
        .await;
    let c = &body["data"]["customer"];
    assert_eq!(c["churnRisk"], "MEDIUM", "{body}");
    let reason = c["churnRiskReason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("flagged at risk by staff {broker}"))
            && reason.contains("competitor: 问了别家的佣金"),
        "{reason}"
    );
    assert_eq!(c["churnReason"], Json::Null, "{body}");
    assert_eq!(c["lifecycle"], "ACTIVE", "{body}");
    assert_eq!(c["atRiskFlag"]["by"]["id"], broker.to_string(), "{body}");
    assert_eq!(c["atRiskFlag"]["reason"], "COMPETITOR", "{body}");
    let after = server.query(&broker_token, churned, perf).await;
    // Before the flag the broker may have no figures this month yet (null): none churned.
    let churned_count = |r: &Json| {
        r["data"]["staffPerformance"]["churned"]
            .as_u64()
            .unwrap_or(0)
    };
    assert_eq!(
        churned_count(&after),
        churned_count(&before),
        "a flag is not churn: {before} {after}"
    );
    assert_eq!(after["data"]["staffPerformance"]["churned"], 0, "{after}");
    // Cleared: the flag is gone.
    let clear = r#"mutation($id: ID!) { clearCustomerAtRiskFlag(customerId: $id) { position } }"#;
    let body = server
        .query(&broker_token, clear, json!({ "id": customer(41) }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let cleared_at = body["data"]["clearCustomerAtRiskFlag"]["position"].clone();
    let body = server
        .query(
            &broker_token,
            read,
            json!({ "id": customer(41), "at": cleared_at }),
        )
        .await;
    assert_eq!(body["data"]["customer"]["atRiskFlag"], Json::Null, "{body}");
}
