//! Region and head-office dashboards (#16 item 4) through the real server, over the demo: the
//! company's figures are its branches' sums, a region's its own branches', the monthly series
//! ends with the dashboard's own month; `regions` lists what each caller reads; headquarters
//! read the company, a region's manager
//! their region and nothing wider, a customer manager neither; bad input names its field.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::RegionId;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, minor, Server};

const DASHBOARD: &str = r#"query($s: OrgScopeInput!, $m: Int, $at: Long) { orgDashboard(scope: $s, atPosition: $at) {
    scope regionId name
    figures { period branches customers assets commission newCustomers churned marketShareBp }
    customersByTier { key count } assetsByClass { key amount }
    ranking { branchId rank }
    series(months: $m) { period customers assets commission newCustomers churned } } }"#;

fn int(v: &Json) -> i64 {
    v.as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_and_a_region_sum_their_branches_with_a_monthly_series() {
    let server = Server::start_demo(200, 40).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    // Both sides of each comparison read everything the demo recorded: the first waits for
    // the read models to reach the log's head (`atPosition`).
    let head = server
        .query(&hq, "{ logStatus { headPosition } }", json!({}))
        .await;
    let at = head["data"]["logStatus"]["headPosition"].clone();
    let caught_up = server
        .query(
            &hq,
            "query($at: Long) { customers(first: 1, atPosition: $at) { totalCount } }",
            json!({ "at": at }),
        )
        .await;
    assert!(caught_up.get("errors").is_none(), "{caught_up}");
    let branches = server
        .query(
            &hq,
            "{ branches { branchId regionId dashboard { period customers assets commission newCustomers } } }",
            json!({}),
        )
        .await;
    let branches = branches["data"]["branches"].as_array().unwrap().clone();
    assert!(branches.len() > 1, "{branches:?}");

    let company = server
        .query(
            &hq,
            DASHBOARD,
            json!({ "s": { "company": true }, "at": at }),
        )
        .await;
    let d = &company["data"]["orgDashboard"];
    assert_eq!(d["scope"], "COMPANY", "{company}");
    let with_figures: Vec<&Json> = branches
        .iter()
        .filter(|b| !b["dashboard"].is_null())
        .collect();
    let sum =
        |f: &dyn Fn(&Json) -> i64| with_figures.iter().map(|b| f(&b["dashboard"])).sum::<i64>();
    let f = &d["figures"];
    assert_eq!(int(&f["branches"]), with_figures.len() as i64);
    assert_eq!(
        int(&f["customers"]),
        sum(&|x| int(&x["customers"])),
        "{company}"
    );
    assert!(int(&f["customers"]) > 0, "{company}");
    assert_eq!(minor(&f["assets"]), sum(&|x| minor(&x["assets"])));
    assert_eq!(minor(&f["commission"]), sum(&|x| minor(&x["commission"])));
    assert_eq!(int(&f["newCustomers"]), sum(&|x| int(&x["newCustomers"])));
    let by_tier: i64 = d["customersByTier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| int(&c["count"]))
        .sum();
    assert_eq!(by_tier, int(&f["customers"]));
    assert_eq!(d["ranking"].as_array().unwrap().len(), with_figures.len());
    // Twelve months, oldest first, ending with the dashboard's own.
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.len(), 12, "{company}");
    let last = &series[11];
    assert_eq!(last["period"], f["period"]);
    for key in [
        "customers",
        "assets",
        "commission",
        "newCustomers",
        "churned",
    ] {
        assert_eq!(last[key], f[key], "{key}");
    }
    assert!(series[0]["period"].as_str().unwrap() < last["period"].as_str().unwrap());

    // A region: its own branches only.
    let region = branches[0]["regionId"].as_str().unwrap().to_string();
    let ours: Vec<&Json> = with_figures
        .iter()
        .copied()
        .filter(|b| b["regionId"] == region.as_str())
        .collect();
    let regional = server
        .query(
            &hq,
            DASHBOARD,
            json!({ "s": { "regionId": region }, "m": 3 }),
        )
        .await;
    let r = &regional["data"]["orgDashboard"];
    assert_eq!(r["scope"], "REGION", "{regional}");
    assert_eq!(
        int(&r["figures"]["customers"]),
        ours.iter()
            .map(|b| int(&b["dashboard"]["customers"]))
            .sum::<i64>()
    );
    assert_eq!(r["series"].as_array().unwrap().len(), 3);

    // Who reads what: the region's manager their region, not the company; a customer
    // manager neither; an unknown region is null; a series of 0 or 37 months names `months`.
    let region_id = RegionId::from_uuid(Uuid::parse_str(&region).unwrap());
    let rm = server.token(Role::RegionManager, Scope::Region { region: region_id });
    let mine = server
        .query(&rm, DASHBOARD, json!({ "s": { "regionId": region } }))
        .await;
    assert_eq!(
        mine["data"]["orgDashboard"]["figures"], r["figures"],
        "{mine}"
    );
    // `regions` lists what each caller's dashboards take: all for headquarters, their own
    // for a region's manager, none for a customer manager.
    let listed = |token: String| {
        let server = &server;
        async move {
            let r = server
                .query(&token, "{ regions { regionId name } }", json!({}))
                .await;
            r["data"]["regions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["regionId"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let all = listed(hq.clone()).await;
    let regions_of_branches: std::collections::BTreeSet<String> = branches
        .iter()
        .map(|b| b["regionId"].as_str().unwrap().to_string())
        .collect();
    assert!(
        regions_of_branches.iter().all(|r| all.contains(r)),
        "{all:?}"
    );
    assert_eq!(listed(rm.clone()).await, vec![region.clone()]);
    assert!(listed(server.customer_manager()).await.is_empty());
    let wider = server
        .query(&rm, DASHBOARD, json!({ "s": { "company": true } }))
        .await;
    assert_eq!(codes(&wider), ["FORBIDDEN"], "{wider}");
    let other = Uuid::now_v7().to_string();
    let elsewhere = server
        .query(&rm, DASHBOARD, json!({ "s": { "regionId": other } }))
        .await;
    assert_eq!(codes(&elsewhere), ["FORBIDDEN"], "{elsewhere}");
    let unknown = server
        .query(&hq, DASHBOARD, json!({ "s": { "regionId": other } }))
        .await;
    assert!(unknown["data"]["orgDashboard"].is_null(), "{unknown}");
    let bm = server.customer_manager();
    let r = server
        .query(&bm, DASHBOARD, json!({ "s": { "company": true } }))
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    for months in [0, 37] {
        let r = server
            .query(
                &hq,
                DASHBOARD,
                json!({ "s": { "company": true }, "m": months }),
            )
            .await;
        assert_eq!(codes(&r), ["VALIDATION"], "{r}");
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("months"),
            "{r}"
        );
    }
}

/// `orgDashboardChanged`: refused before it starts for a caller who may not read the scope;
/// for headquarters, the company's dashboard now, then again when a contact moves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_dashboard_subscription_sends_the_dashboard_and_its_changes() {
    use crate::ws::{connect, init, recv, send};
    let server = Server::start_demo(40, 5).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let r = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 1, atPosition: $at) { edges { node { customerId } } } }"#,
            json!({ "at": head }),
        )
        .await;
    let customer = r["data"]["customers"]["edges"][0]["node"]["customerId"].clone();
    // Contacts are recorded now, so watch today's (business day, UTC+8) figures.
    let day = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();
    const SUBSCRIBE: &str = r#"subscription($d: String!) { orgDashboardChanged(scope: { company: true }, period: { day: $d }) { scope figures { period contacts } reflects { position } } }"#;

    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &server.customer_manager()).await;
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"d": day}}})).await;
    let refused = recv(&mut ws).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["data"], Json::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &hq).await;
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"d": day}}})).await;
    let first = recv(&mut ws).await;
    assert_eq!(first["type"], "next", "{first}");
    let d = &first["payload"]["data"]["orgDashboardChanged"];
    assert_eq!(d["scope"], "COMPANY", "{first}");
    assert_eq!(d["figures"]["period"], day.as_str());
    let contacts = int(&d["figures"]["contacts"]);
    let contact = server
        .query(
            &hq,
            r#"mutation($c: ID!) { recordContact(customerId: $c, channel: PHONE, direction: OUTBOUND, topic: "回访", outcome: REACHED, notes: "季度回访") { position } }"#,
            json!({ "c": customer }),
        )
        .await;
    assert!(contact.get("errors").is_none(), "{contact}");
    let at = int(&contact["data"]["recordContact"]["position"]);
    let next = recv(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    let d = &next["payload"]["data"]["orgDashboardChanged"];
    assert_eq!(int(&d["figures"]["contacts"]), contacts + 1, "{next}");
    assert!(int(&d["reflects"]["position"]) >= at, "{next}");
}
