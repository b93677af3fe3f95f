//! Group customers (集团客户, #16 item 6): `Customer.group` lists the members the caller may
//! read, counts the others without naming them, and totals the group over what it shows.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::BranchId;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{minor, Server};

const GROUP: &str = r#"query($id: ID!, $p: Long) { customer(id: $id, atPosition: $p) {
  group { memberCount membersOutOfScope assets averageContributionScore
          members { customerId branch { id } } } } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_shows_its_members_in_scope_and_totals_what_it_shows() {
    let server = Server::start_demo(40, 5).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let list = server
        .query(
            &hq,
            r#"query($p: Long) { customers(first: 40, atPosition: $p) {
                 edges { node { customerId assets contributionScore branch { id } } } } }"#,
            json!({ "p": server.store.head().0 }),
        )
        .await;
    let rows: Vec<Json> = list["data"]["customers"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|e| e["node"].clone())
        .filter(|n| n["branch"]["id"].is_string())
        .collect();
    let branch = |n: &Json| n["branch"]["id"].as_str().unwrap().to_string();
    let group = rows[0].clone();
    let home = branch(&group);
    let near = rows[1..]
        .iter()
        .find(|n| branch(n) == home)
        .expect("a second customer in the group's branch")
        .clone();
    let far = rows
        .iter()
        .find(|n| branch(n) != home)
        .expect("a customer in another branch")
        .clone();
    let id = |n: &Json| n["customerId"].as_str().unwrap().to_string();
    let mut position = 0;
    for mutation in [
        format!(
            r#"markGroupCustomer(customerId: "{}", isGroup: true)"#,
            id(&group)
        ),
        format!(
            r#"linkGroupMember(customerId: "{}", member: "{}")"#,
            id(&group),
            id(&near)
        ),
        format!(
            r#"linkGroupMember(customerId: "{}", member: "{}")"#,
            id(&group),
            id(&far)
        ),
    ] {
        let r = server
            .query(
                &hq,
                &format!("mutation {{ {mutation} {{ position }} }}"),
                json!({}),
            )
            .await;
        assert!(r.get("errors").is_none(), "{r}");
        position = r["data"].as_object().unwrap().values().next().unwrap()["position"]
            .as_u64()
            .unwrap();
    }
    let ask = |token: String, who: String| {
        let server = &server;
        async move {
            server
                .query(&token, GROUP, json!({ "id": who, "p": position }))
                .await
        }
    };

    // Headquarters sees both members and the whole group's assets.
    let all = ask(hq.clone(), id(&group)).await;
    let g = &all["data"]["customer"]["group"];
    assert_eq!(
        (g["memberCount"].as_i64(), g["membersOutOfScope"].as_i64()),
        (Some(2), Some(0)),
        "{all}"
    );
    assert_eq!(
        minor(&g["assets"]),
        minor(&group["assets"]) + minor(&near["assets"]) + minor(&far["assets"]),
        "{all}"
    );
    let average = (group["contributionScore"].as_f64().unwrap()
        + near["contributionScore"].as_f64().unwrap()
        + far["contributionScore"].as_f64().unwrap())
        / 3.0;
    assert!(
        (g["averageContributionScore"].as_f64().unwrap() - average).abs() < 0.011,
        "{all}"
    );

    // The group's branch manager: the member of their branch, the other counted, not shown
    // or summed.
    let home_branch = BranchId::from_uuid(Uuid::parse_str(&home).unwrap());
    let manager = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: home_branch,
        },
    );
    let scoped = ask(manager.clone(), id(&group)).await;
    let g = &scoped["data"]["customer"]["group"];
    assert_eq!(
        (g["memberCount"].as_i64(), g["membersOutOfScope"].as_i64()),
        (Some(2), Some(1)),
        "{scoped}"
    );
    let shown: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["customerId"].as_str().unwrap())
        .collect();
    assert_eq!(shown, [id(&near).as_str()], "{scoped}");
    assert_eq!(
        minor(&g["assets"]),
        minor(&group["assets"]) + minor(&near["assets"])
    );

    // A customer who is not a group has no group.
    let plain = ask(hq.clone(), id(&near)).await;
    assert!(plain["data"]["customer"]["group"].is_null(), "{plain}");
}
