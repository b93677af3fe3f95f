//! `customers` and `customer`: the read model behind the API, read-your-writes with
//! `atPosition`, scoping in lists, counts and single reads, and pagination.

use std::time::Duration;

use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::common::{codes, resident_id, Server};

const REGISTER: &str = r#"mutation($id: ID!, $doc: String!) {
  registerCustomer(customerId: $id, kind: INDIVIDUAL,
    profile: { name: "客户", document: { residentId: $doc }, sourceChannel: APP }) { position }
}"#;

const LIST: &str = r#"query($first: Int, $after: String, $at: Long) {
  customers(first: $first, after: $after, atPosition: $at) {
    totalCount position
    pageInfo { hasNextPage endCursor }
    edges { cursor node { customerId name branch { id } manager { id } lifecycle } }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_scoped_paged_and_read_your_writes() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let branch = BranchId::from_uuid(Uuid::from_u128(1));
    let manager = Actor {
        staff_id: StaffId::from_uuid(Uuid::now_v7()),
        role: Role::CustomerManager,
        scope: Scope::Book { branch, team: None },
    };
    let manager_token = server
        .keys
        .mint(
            &manager,
            OffsetDateTime::now_utc(),
            Duration::from_secs(600),
        )
        .unwrap();

    let ids: Vec<String> = (0..3).map(|_| Uuid::now_v7().to_string()).collect();
    for (n, id) in ids.iter().enumerate() {
        let r = server
            .query(
                &hq,
                REGISTER,
                json!({ "id": id, "doc": resident_id(n as u32 + 10) }),
            )
            .await;
        assert!(r.get("errors").is_none(), "{r}");
    }
    let assign = format!(
        r#"mutation {{ assignCustomer(customerId: "{}", to: {{ branchId: "{}", managerId: "{}" }}) {{ position }} }}"#,
        ids[0], branch, manager.staff_id
    );
    let assigned = server.query(&hq, &assign, json!({})).await;
    let at = assigned["data"]["assignCustomer"]["position"].clone();
    assert!(at.is_u64(), "{assigned}");

    // HQ sees everyone, as of its own last write.
    let all = server.query(&hq, LIST, json!({ "at": at })).await;
    assert_eq!(all["data"]["customers"]["totalCount"], 3, "{all}");
    assert_eq!(all["data"]["customers"]["position"], at);

    // Page through one at a time.
    let first = server.query(&hq, LIST, json!({ "first": 1 })).await;
    assert_eq!(first["data"]["customers"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["data"]["customers"]["pageInfo"]["endCursor"].clone();
    let second = server
        .query(&hq, LIST, json!({ "first": 5, "after": cursor }))
        .await;
    let rest = second["data"]["customers"]["edges"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert_ne!(rest[0]["cursor"], cursor);

    // The customer manager sees, and counts, only their own book.
    let own = server
        .query(&manager_token, LIST, json!({ "at": at }))
        .await;
    assert_eq!(own["data"]["customers"]["totalCount"], 1, "{own}");
    assert_eq!(
        own["data"]["customers"]["edges"][0]["node"]["customerId"],
        ids[0].replace('-', "").as_str()
    );
    let other = server
        .query(
            &manager_token,
            "query($id: ID!) { customer(id: $id) { name } }",
            json!({ "id": ids[1] }),
        )
        .await;
    // Outside the book: answered as a customer that does not exist.
    assert_eq!(codes(&other), ["NOT_FOUND"], "{other}");
    let mine = server
        .query(
            &manager_token,
            "query($id: ID!) { customer(id: $id) { name manager { id } } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert_eq!(
        mine["data"]["customer"]["manager"]["id"],
        manager.staff_id.to_string().as_str(),
        "{mine}"
    );

    // Operators and auditors see the read model's progress.
    let status = server
        .query(
            &server.auditor(),
            "{ projectionStatus { name role position head lastError } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status["data"]["projectionStatus"][0]["role"], "CURRENT",
        "{status}"
    );
}

/// A customer born 1949-12-31 (in the resident ID too) with a phone and a fund account
/// F0012345678; returns its id and the position to read at.
async fn customer_with_an_account(server: &Server, hq: &str) -> (String, serde_json::Value) {
    let id = Uuid::now_v7().to_string();
    let registered = server
        .query(
            hq,
            r#"mutation($id: ID!) { registerCustomer(customerId: $id, kind: INDIVIDUAL,
                 profile: { name: "王五", document: { residentId: "11010519491231002X" },
                            phone: "13812345678", birthday: "1949-12-31",
                            sourceChannel: COUNTER }) { position } }"#,
            json!({ "id": id }),
        )
        .await;
    assert!(registered.get("errors").is_none(), "{registered}");
    let opened = server
        .query(
            hq,
            r#"mutation($id: ID!) { openAccount(customerId: $id, kind: { fund: true }, number: "F0012345678") { position } }"#,
            json!({ "id": id }),
        )
        .await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let at = opened["data"]["openAccount"]["position"].clone();
    (id, at)
}

/// Issue #13 item 7: account numbers are masked in the default view like phone numbers (the
/// archive and the history's masked snapshot); in full only through `sensitive(purpose)`,
/// which records the view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_numbers_are_masked_in_the_default_view() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let (id, at) = customer_with_an_account(&server, &hq).await;

    let masked = server
        .query(
            &hq,
            r#"query($id: ID!, $at: Long) { customer(id: $id, atPosition: $at) {
                 profile { phone } accounts { number } } }"#,
            json!({ "id": id, "at": at }),
        )
        .await;
    let c = &masked["data"]["customer"];
    assert_eq!(c["profile"]["phone"], "138****5678", "{masked}");
    assert_eq!(c["accounts"][0]["number"], "*******5678", "{masked}");

    let history = server
        .query(
            &server.auditor(),
            "query($id: ID!) { customerHistory(id: $id) { snapshot { phone accounts { number } } } }",
            json!({ "id": id }),
        )
        .await;
    let snapshot = &history["data"]["customerHistory"]["snapshot"];
    assert_eq!(snapshot["phone"], "138****5678", "{history}");
    assert_eq!(
        snapshot["accounts"][0]["number"], "*******5678",
        "{history}"
    );

    let full = server
        .query(
            &hq,
            r#"query($id: ID!) { customer(id: $id) { sensitive(purpose: "开户核实") {
                 accounts { id number } recordedAtPosition } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert!(full.get("errors").is_none(), "{full}");
    let s = &full["data"]["customer"]["sensitive"];
    assert_eq!(s["accounts"][0]["number"], "F0012345678", "{full}");
    assert!(s["recordedAtPosition"].as_u64().is_some(), "{full}");
}

/// Issue #13 item 4: the masked profile cannot be combined into a full identity number: the ID
/// mask hides the 8 birth-date digits, and the birthday is given only as an age band (the
/// `birthday` field of the masked profile is always null). Full values only from `sensitive`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_masked_profile_cannot_rebuild_identity_numbers() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let (id, at) = customer_with_an_account(&server, &hq).await;

    let masked = server
        .query(
            &hq,
            r#"query($id: ID!, $at: Long) { customer(id: $id, atPosition: $at) {
                 profile { idDocument birthday } } }"#,
            json!({ "id": id, "at": at }),
        )
        .await;
    let profile = &masked["data"]["customer"]["profile"];
    let document = profile["idDocument"].as_str().unwrap();
    assert_eq!(document, "110105********002X", "{masked}");
    assert!(
        document[6..14].chars().all(|ch| ch == '*'),
        "the birth-date digits are hidden"
    );
    assert!(
        profile["birthday"].is_null(),
        "the masked profile never gives the birth date: {masked}"
    );
    let text = masked.to_string();
    for secret in ["1949", "19491231", "12-31", "1231"] {
        assert!(
            !text.contains(secret),
            "the masked view leaks {secret}: {text}"
        );
    }

    let band = server
        .query(
            &hq,
            "query($id: ID!) { customer(id: $id) { profile { ageBand } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        band["data"]["customer"]["profile"]["ageBand"], "70+",
        "{band}"
    );

    let full = server
        .query(
            &hq,
            r#"query($id: ID!) { customer(id: $id) { sensitive(purpose: "开户核实") {
                 idDocument birthday } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert!(full.get("errors").is_none(), "{full}");
    let s = &full["data"]["customer"]["sensitive"];
    assert_eq!(s["idDocument"], "11010519491231002X");
    assert_eq!(s["birthday"], "1949-12-31");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_see_their_own_customers_and_a_team_lead_the_teams() {
    use crm_domain::ids::{BranchId, StaffId, TeamId};
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let q = |query: String| {
        let (server, hq) = (&server, hq.clone());
        async move {
            let body = server.query(&hq, &query, json!({})).await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
            body
        }
    };
    let id = |n: u128| uuid::Uuid::from_u128(0x7EA_0000 + n).to_string();
    let (region, branch, team) = (id(1), id(2), id(3));
    let (lead, first, second) = (id(10), id(11), id(12));
    q(format!(
        r#"mutation {{ establishRegion(regionId: "{region}", name: "华东") {{ position }} }}"#
    ))
    .await;
    q(format!(r#"mutation {{ openBranch(branchId: "{branch}", regionId: "{region}", name: "上海营业部", kind: BROKERAGE_BRANCH) {{ position }} }}"#)).await;
    q(format!(r#"mutation {{ formTeam(branchId: "{branch}", teamId: "{team}", name: "财富一组", lead: "{lead}") {{ position }} }}"#)).await;
    let mut head = 0;
    for (n, manager) in [(1u32, &first), (2, &second)] {
        let customer = id(100 + u128::from(n));
        q(format!(r#"mutation {{ registerCustomer(customerId: "{customer}", kind: INDIVIDUAL, profile: {{ name: "客户", document: {{ residentId: "{}" }}, sourceChannel: APP }}) {{ position }} }}"#, resident_id(n))).await;
        let assigned = q(format!(r#"mutation {{ assignCustomer(customerId: "{customer}", to: {{ branchId: "{branch}", managerId: "{manager}", teamId: "{team}" }}) {{ position }} }}"#)).await;
        head = assigned["data"]["assignCustomer"]["position"]
            .as_u64()
            .unwrap();
    }
    let token = |staff: &str| {
        server.token_for(
            StaffId::from_uuid(uuid::Uuid::parse_str(staff).unwrap()),
            Role::Broker,
            Scope::Book {
                branch: BranchId::from_uuid(uuid::Uuid::parse_str(&branch).unwrap()),
                team: Some(TeamId::from_uuid(uuid::Uuid::parse_str(&team).unwrap())),
            },
        )
    };
    let seen = |staff: String| {
        let server = &server;
        let token = token(&staff);
        async move {
            let body = server
                .query(&token, LIST, json!({ "first": 50, "at": head }))
                .await;
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["customers"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let id = e["node"]["manager"]["id"].as_str().unwrap();
                    uuid::Uuid::parse_str(id).unwrap().to_string()
                })
                .collect::<Vec<_>>()
        }
    };
    // Teammates do not see each other's customers; the team's lead sees both.
    assert_eq!(seen(first.clone()).await, vec![first.clone()]);
    assert_eq!(seen(second.clone()).await, vec![second.clone()]);
    let mut both = seen(lead.clone()).await;
    both.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(both, expected);
}
