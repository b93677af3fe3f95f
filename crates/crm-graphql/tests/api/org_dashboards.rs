//! Region and head-office dashboards (#16 item 4) through the real server, over the demo: the
//! company's figures are its branches' sums, a region's its own branches', the monthly series
//! ends with the dashboard's own month; `regions` lists what each caller reads; headquarters
//! read the company, a region's manager
//! their region and nothing wider, a customer manager neither; bad input names its field.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, RegionId};
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
/// for headquarters, the company's dashboard and the contact's branch's scope now, then again
/// when a contact moves them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_dashboard_subscription_sends_the_dashboard_and_its_changes() {
    use crate::ws::{connect, init, recv, send};
    let server = Server::start_demo(40, 5).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let r = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 1, atPosition: $at) { edges { node { customerId branch { id } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    let customer = r["data"]["customers"]["edges"][0]["node"]["customerId"].clone();
    let branch = r["data"]["customers"]["edges"][0]["node"]["branch"]["id"].clone();
    assert!(branch.is_string(), "{r}");
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
    // The same subscription takes a branch's scope, read by the branch's readers.
    const BRANCH: &str = r#"subscription($d: String!, $b: ID!) { orgDashboardChanged(scope: { branchId: $b }, period: { day: $d }) { scope branchId figures { period contacts } } }"#;
    let vars = json!({"d": day, "b": branch});
    let mut refused_ws = connect(&server, true, None).await;
    init(&mut refused_ws, &server.customer_manager()).await;
    send(
        &mut refused_ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": BRANCH, "variables": vars}}),
    )
    .await;
    let refused = recv(&mut refused_ws).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let mut branch_ws = connect(&server, true, None).await;
    init(&mut branch_ws, &hq).await;
    send(
        &mut branch_ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": BRANCH, "variables": vars}}),
    )
    .await;
    let first = recv(&mut branch_ws).await;
    let b = &first["payload"]["data"]["orgDashboardChanged"];
    assert_eq!(b["scope"], "BRANCH", "{first}");
    assert_eq!(b["branchId"], branch, "{first}");
    let branch_contacts = int(&b["figures"]["contacts"]);
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
    let next = recv(&mut branch_ws).await;
    let b = &next["payload"]["data"]["orgDashboardChanged"];
    assert_eq!(
        int(&b["figures"]["contacts"]),
        branch_contacts + 1,
        "{next}"
    );
}

const BRANCH_SCOPE: &str = r#"query($b: ID!, $p: BranchPeriodInput, $m: Int, $at: Long) {
    orgDashboard(scope: { branchId: $b }, period: $p, atPosition: $at) {
    scope regionId branchId name
    figures { period branches customers assets netInflow commission newCustomers churned marketShareBp }
    ranking { branchId rank }
    series(months: $m) { period customers assets netInflow commission newCustomers churned marketShareBp } } }"#;
const BRANCH_DASHBOARD: &str = r#"query($b: ID!, $p: BranchPeriodInput, $at: Long) {
    branchDashboard(branchId: $b, period: $p, atPosition: $at) {
    branchId name period customers assets netInflow commission newCustomers churned marketShareBp
    rankAmongBranches } }"#;
/// What a branch scope's figures and its dashboard share.
const SHARED: [&str; 8] = [
    "period",
    "customers",
    "assets",
    "netInflow",
    "commission",
    "newCustomers",
    "churned",
    "marketShareBp",
];

/// A branch's scope (#19): its figures are its `branchDashboard`'s for the same period, the
/// default one and each month of its series, which ends with them; it is read by exactly those
/// who read the branch's dashboard (the same policy), and an unknown branch is null.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_scope_is_its_branch_dashboard_with_a_monthly_series() {
    let server = Server::start_demo(200, 40).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let at = server.store.head().0;
    // Caught up with everything the demo recorded first: a query's fields resolve together,
    // so `branches` must not share the query that waits.
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
            "{ branches { branchId regionId dashboard { period } } }",
            json!({}),
        )
        .await;
    let branches = branches["data"]["branches"].as_array().unwrap().clone();
    let with_figures: Vec<&Json> = branches
        .iter()
        .filter(|b| !b["dashboard"].is_null())
        .collect();
    assert!(with_figures.len() > 1, "{branches:?}");
    let (ours, theirs) = (&with_figures[0], &with_figures[1]);
    let branch = ours["branchId"].as_str().unwrap().to_string();

    let scoped = server
        .query(&hq, BRANCH_SCOPE, json!({ "b": branch, "m": 3, "at": at }))
        .await;
    let d = &scoped["data"]["orgDashboard"];
    let own = server
        .query(&hq, BRANCH_DASHBOARD, json!({ "b": branch, "at": at }))
        .await;
    let own = &own["data"]["branchDashboard"];
    assert_eq!(d["scope"], "BRANCH", "{scoped}");
    assert_eq!(d["branchId"], branch.as_str());
    assert!(d["regionId"].is_null(), "{scoped}");
    assert_eq!(d["name"], own["name"]);
    assert_eq!(int(&d["figures"]["branches"]), 1);
    assert!(int(&d["figures"]["customers"]) > 0, "{scoped}");
    for key in SHARED {
        assert_eq!(d["figures"][key], own[key], "{key}: {scoped} {own}");
    }
    assert_eq!(
        d["ranking"],
        json!([{ "branchId": branch, "rank": own["rankAmongBranches"] }])
    );
    // Each month of the series is the branch's dashboard of that month; the last is the
    // dashboard's own.
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.len(), 3, "{scoped}");
    for point in series {
        let month = server
            .query(
                &hq,
                BRANCH_DASHBOARD,
                json!({ "b": branch, "p": { "month": point["period"] } }),
            )
            .await;
        let month = &month["data"]["branchDashboard"];
        for key in SHARED {
            assert_eq!(point[key], month[key], "{key}: {point} {month}");
        }
    }
    for key in SHARED {
        assert_eq!(series[2][key], d["figures"][key], "{key}");
    }

    // Who reads it: a branch's manager their own branch, not another; whoever the policy lets
    // read (or refuses) the branch's dashboard, the same for its scope.
    let branch_id = BranchId::from_uuid(Uuid::parse_str(&branch).unwrap());
    let region_id =
        RegionId::from_uuid(Uuid::parse_str(ours["regionId"].as_str().unwrap()).unwrap());
    let bm = server.token(Role::BranchManager, Scope::Branch { branch: branch_id });
    let mine = server
        .query(&bm, BRANCH_SCOPE, json!({ "b": branch }))
        .await;
    assert_eq!(
        mine["data"]["orgDashboard"]["figures"], d["figures"],
        "{mine}"
    );
    let other = theirs["branchId"].as_str().unwrap();
    let refused = server.query(&bm, BRANCH_SCOPE, json!({ "b": other })).await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    let callers = [
        bm,
        server.token(
            Role::CustomerManager,
            Scope::Book {
                branch: branch_id,
                team: None,
            },
        ),
        server.token(Role::Auditor, Scope::Branch { branch: branch_id }),
        server.token(Role::RegionManager, Scope::Region { region: region_id }),
        server.token(
            Role::RegionManager,
            Scope::Region {
                region: RegionId::from_uuid(Uuid::now_v7()),
            },
        ),
        server.customer_manager(),
    ];
    for token in &callers {
        for b in [branch.as_str(), other] {
            let scope = server.query(token, BRANCH_SCOPE, json!({ "b": b })).await;
            let dashboard = server
                .query(token, BRANCH_DASHBOARD, json!({ "b": b }))
                .await;
            assert_eq!(codes(&scope), codes(&dashboard), "{scope} {dashboard}");
            assert_eq!(
                scope["data"]["orgDashboard"].is_null(),
                dashboard["data"]["branchDashboard"].is_null(),
                "{scope} {dashboard}"
            );
        }
    }
    let cm = server
        .query(&callers[1], BRANCH_SCOPE, json!({ "b": branch }))
        .await;
    assert_eq!(
        codes(&cm),
        ["FORBIDDEN"],
        "a customer manager's view is their book: {cm}"
    );

    // An unknown branch is null; a malformed id names the field.
    let unknown = server
        .query(
            &hq,
            BRANCH_SCOPE,
            json!({ "b": Uuid::now_v7().to_string() }),
        )
        .await;
    assert!(unknown.get("errors").is_none(), "{unknown}");
    assert!(unknown["data"]["orgDashboard"].is_null(), "{unknown}");
    let bad = server
        .query(&hq, BRANCH_SCOPE, json!({ "b": "no-id" }))
        .await;
    assert_eq!(codes(&bad), ["VALIDATION"], "{bad}");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("scope.branchId"),
        "{bad}"
    );
}
