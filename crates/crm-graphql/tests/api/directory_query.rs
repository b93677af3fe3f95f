//! `staffDirectory` and `teams` (#16 item 6) through the real server, scoped like every read:
//! headquarters and region managers see everyone they cover, a branch manager only their
//! branch, a broker their own branch's current staff without dates; `includeLeft` lists who
//! left with the day they left.
//!
//! Given region 华东 with 营业部A (员工1 branch manager, 员工2 customer manager leading team
//! 财富一组, 员工3 broker, 员工4 broker who left) and 营业部B (员工5 branch manager, 员工6
//! customer manager).

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, RegionId, StaffId};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, Server};

struct Org {
    region: RegionId,
    a: BranchId,
    b: BranchId,
    staff: Vec<StaffId>,
    team: Uuid,
    position: u64,
}

async fn mutate(server: &Server, token: &str, query: &str, vars: Json) -> u64 {
    let body = server.query(token, query, vars).await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = body["data"].as_object().unwrap();
    data.values().next().unwrap()["position"].as_u64().unwrap()
}

const JOIN: &str = r#"mutation($s: ID!, $name: String!, $role: RoleInput!, $scope: ScopeInput!) {
  joinStaff(staffId: $s, name: $name, role: $role, scope: $scope) { position } }"#;

async fn organisation(server: &Server, hq: &str) -> Org {
    let region = RegionId::from_uuid(Uuid::now_v7());
    let (a, b) = (
        BranchId::from_uuid(Uuid::now_v7()),
        BranchId::from_uuid(Uuid::now_v7()),
    );
    mutate(
        server,
        hq,
        r#"mutation($r: ID!) { establishRegion(regionId: $r, name: "华东") { position } }"#,
        json!({ "r": region.to_string() }),
    )
    .await;
    for (id, name) in [(a, "营业部A"), (b, "营业部B")] {
        mutate(
            server,
            hq,
            r#"mutation($b: ID!, $r: ID!, $n: String!) {
              openBranch(branchId: $b, regionId: $r, name: $n, kind: BROKERAGE_BRANCH) { position } }"#,
            json!({ "b": id.to_string(), "r": region.to_string(), "n": name }),
        )
        .await;
    }
    let staff: Vec<StaffId> = (0..6).map(|_| StaffId::from_uuid(Uuid::now_v7())).collect();
    let book = |b: BranchId| json!({ "book": { "branchId": b.to_string() } });
    let joins = [
        ("BRANCH_MANAGER", json!({ "branchId": a.to_string() })),
        ("CUSTOMER_MANAGER", book(a)),
        ("BROKER", book(a)),
        ("BROKER", book(a)),
        ("BRANCH_MANAGER", json!({ "branchId": b.to_string() })),
        ("CUSTOMER_MANAGER", book(b)),
    ];
    for (i, (role, scope)) in joins.into_iter().enumerate() {
        mutate(
            server,
            hq,
            JOIN,
            json!({ "s": staff[i].to_string(), "name": format!("员工{}", i + 1),
                    "role": role, "scope": scope }),
        )
        .await;
    }
    let team = Uuid::now_v7();
    mutate(
        server,
        hq,
        r#"mutation($b: ID!, $t: ID!, $lead: ID!) {
          formTeam(branchId: $b, teamId: $t, name: "财富一组", lead: $lead) { position } }"#,
        json!({ "b": a.to_string(), "t": team.to_string(), "lead": staff[1].to_string() }),
    )
    .await;
    mutate(
        server,
        hq,
        r#"mutation($s: ID!, $to: ScopeInput!) { moveStaff(staffId: $s, to: $to) { position } }"#,
        json!({ "s": staff[1].to_string(),
                "to": { "book": { "branchId": a.to_string(), "teamId": team.to_string() } } }),
    )
    .await;
    let position = mutate(
        server,
        hq,
        r#"mutation($s: ID!) { leaveStaff(staffId: $s, reason: "离职") { position } }"#,
        json!({ "s": staff[3].to_string() }),
    )
    .await;
    Org {
        region,
        a,
        b,
        staff,
        team,
        position,
    }
}

const DIRECTORY: &str = r#"query($f: StaffDirectoryFilterInput, $first: Int, $after: String, $p: Long) {
  staffDirectory(filter: $f, first: $first, after: $after, atPosition: $p) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { staffId name role since left branch { id name } region { name } team { id name } } }
  } }"#;

async fn directory(server: &Server, token: &str, org: &Org, vars: Json) -> Json {
    let mut vars = vars;
    vars["p"] = json!(org.position);
    server.query(token, DIRECTORY, vars).await
}

fn names(body: &Json) -> Vec<String> {
    body["data"]["staffDirectory"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headquarters_and_region_managers_see_everyone_in_pages() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let org = organisation(&server, &hq).await;

    let all = directory(&server, &hq, &org, json!({})).await;
    assert_eq!(names(&all), ["员工1", "员工2", "员工3", "员工5", "员工6"]);
    assert_eq!(all["data"]["staffDirectory"]["totalCount"], 5);
    let cm = &all["data"]["staffDirectory"]["edges"][1]["node"];
    assert_eq!(cm["role"], "CUSTOMER_MANAGER");
    assert_eq!(cm["branch"]["name"], "营业部A");
    assert_eq!(cm["branch"]["id"], org.a.to_string());
    assert_eq!(cm["region"]["name"], "华东");
    assert_eq!(cm["team"]["name"], "财富一组");
    assert_eq!(cm["team"]["id"], org.team.simple().to_string());
    assert!(cm["since"].as_str().is_some_and(|d| d.len() == 10), "{cm}");
    assert!(cm["left"].is_null());

    // Two at a time: the second page starts after the first's end cursor.
    let one = directory(&server, &hq, &org, json!({ "first": 2 })).await;
    assert_eq!(names(&one), ["员工1", "员工2"]);
    let info = &one["data"]["staffDirectory"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true);
    let two = directory(
        &server,
        &hq,
        &org,
        json!({ "first": 2, "after": info["endCursor"] }),
    )
    .await;
    assert_eq!(names(&two), ["员工3", "员工5"]);

    // Who left, when asked for, with the day they left; filters by role and team.
    let with_left = directory(&server, &hq, &org, json!({ "f": { "includeLeft": true } })).await;
    assert_eq!(
        names(&with_left),
        ["员工1", "员工2", "员工3", "员工4", "员工5", "员工6"]
    );
    let gone = &with_left["data"]["staffDirectory"]["edges"][3]["node"];
    assert_eq!(gone["staffId"], org.staff[3].to_string());
    assert!(
        gone["left"].as_str().is_some_and(|d| d.len() == 10),
        "{gone}"
    );
    let brokers = directory(
        &server,
        &hq,
        &org,
        json!({ "f": { "role": "BROKER", "includeLeft": true } }),
    )
    .await;
    assert_eq!(names(&brokers), ["员工3", "员工4"]);
    let team = directory(
        &server,
        &hq,
        &org,
        json!({ "f": { "teamId": org.team.to_string() } }),
    )
    .await;
    assert_eq!(names(&team), ["员工2"]);

    // A region manager covers both branches of the region.
    let rm = server.token(Role::RegionManager, Scope::Region { region: org.region });
    let region = directory(&server, &rm, &org, json!({})).await;
    assert_eq!(
        names(&region),
        ["员工1", "员工2", "员工3", "员工5", "员工6"]
    );

    // Team rosters: the lead and members.
    let teams = server
        .query(
            &hq,
            r#"query($b: ID) { teams(branchId: $b) { teamId name branch { name }
                 lead { name } members { name } } }"#,
            json!({ "b": org.a.to_string() }),
        )
        .await;
    let t = &teams["data"]["teams"][0];
    assert_eq!(t["name"], "财富一组", "{teams}");
    assert_eq!(t["branch"]["name"], "营业部A");
    assert_eq!(t["lead"]["name"], "员工2");
    assert_eq!(t["members"], json!([{ "name": "员工2" }]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_manager_and_a_broker_see_their_own_branch_only() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let org = organisation(&server, &hq).await;

    // The branch manager of A: A's staff, not B's, even when asking for B.
    let bm = server.token_for(
        org.staff[0],
        Role::BranchManager,
        Scope::Branch { branch: org.a },
    );
    let own = directory(&server, &bm, &org, json!({ "f": { "includeLeft": true } })).await;
    assert_eq!(names(&own), ["员工1", "员工2", "员工3", "员工4"]);
    let other = directory(
        &server,
        &bm,
        &org,
        json!({ "f": { "branchId": org.b.to_string() } }),
    )
    .await;
    assert_eq!(names(&other), Vec::<String>::new());
    assert_eq!(other["data"]["staffDirectory"]["totalCount"], 0);

    // A broker of A: A's current staff, names and roles without dates; who left is not theirs.
    let broker = server.token_for(
        org.staff[2],
        Role::Broker,
        Scope::Book {
            branch: org.a,
            team: None,
        },
    );
    let seen = directory(&server, &broker, &org, json!({})).await;
    assert_eq!(names(&seen), ["员工1", "员工2", "员工3"]);
    let first = &seen["data"]["staffDirectory"]["edges"][0]["node"];
    assert_eq!(first["role"], "BRANCH_MANAGER");
    assert!(first["since"].is_null(), "{first}");
    let refused = directory(
        &server,
        &broker,
        &org,
        json!({ "f": { "includeLeft": true } }),
    )
    .await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");

    // Teams: B's manager sees none of A's; A's broker sees A's team.
    let teams = r#"{ teams { name members { name since } } }"#;
    let bm_b = server.token_for(
        org.staff[4],
        Role::BranchManager,
        Scope::Branch { branch: org.b },
    );
    let none = server.query(&bm_b, teams, json!({})).await;
    assert_eq!(none["data"]["teams"], json!([]), "{none}");
    let mine = server.query(&broker, teams, json!({})).await;
    assert_eq!(
        mine["data"]["teams"],
        json!([{ "name": "财富一组", "members": [{ "name": "员工2", "since": null }] }])
    );
}
