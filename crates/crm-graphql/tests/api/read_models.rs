//! The read models through the API, over a small demo data set loaded through the command
//! side: the customer archive and its explanations, two-way paging, scoping of every view,
//! the bounded cost of a page, dashboards and rankings, the rules cycle with four eyes, and
//! live dashboard updates over graphql-transport-ws.

use std::collections::BTreeSet;

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, RegionId, StaffId};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, Server};
use crate::ws::{connect, init, recv, send};

const CUSTOMERS: u32 = 150;
const DAYS: u32 = 30;

fn uuid(v: &Json) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap()).unwrap()
}

fn ok(body: &Json) {
    assert!(body.get("errors").is_none(), "{body}");
}

/// The month (YYYY-MM) of the log's latest business date.
async fn month(server: &Server, hq: &str) -> String {
    let r = server
        .query(
            hq,
            "{ customers(first: 1) { edges { node { asOf } } } }",
            json!({}),
        )
        .await;
    ok(&r);
    r["data"]["customers"]["edges"][0]["node"]["asOf"]
        .as_str()
        .unwrap()[..7]
        .to_string()
}

async fn metric(server: &Server, name: &str) -> u64 {
    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

const ARCHIVE: &str = r#"query($id: ID!) {
  customer(id: $id) {
    id customerId name kind lifecycle assets contributionScore tier riskPreference churnRisk
    churnReason asOf registeredAt
    branch { id name } manager { id name }
    profile { idDocumentType idDocument phone sourceChannel }
    accounts { id kind number }
    assignmentHistory { assignment { branchId managerId } at }
    timeline(first: 5) { kind channel at position }
    holdings { key amount }
    windows { turnover30Days turnover365Days commission30Days commission365Days }
    contributionExplanation { rulesVersion rulesHash score tier terms { name input weight points } sourcePositions }
    riskPreferenceExplanation { preference signals { name vote } }
    churn { risk reason dormantDays }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_pages_views_and_scoping_over_the_demo_data() {
    let server = Server::start_demo(CUSTOMERS, DAYS).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;

    // The richest customer's archive, read once the read models have the whole log.
    let top = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 3, orderBy: ASSETS_DESC, filter: { kind: INDIVIDUAL }, atPosition: $at) {
                 totalCount reflects { position rulesVersion rulesHash }
                 edges { node { customerId assets } } } }"#,
            json!({ "at": head }),
        )
        .await;
    ok(&top);
    let list = &top["data"]["customers"];
    assert!(list["reflects"]["position"].as_u64().unwrap() >= head);
    assert_eq!(list["reflects"]["rulesVersion"], 1);
    let edges = list["edges"].as_array().unwrap();
    let assets: Vec<f64> = edges
        .iter()
        .map(|e| e["node"]["assets"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(assets.windows(2).all(|w| w[0] >= w[1]), "{assets:?}");
    let id = edges[0]["node"]["customerId"].clone();

    let archive = server.query(&hq, ARCHIVE, json!({ "id": id })).await;
    ok(&archive);
    let c = &archive["data"]["customer"];
    assert!(!c["accounts"].as_array().unwrap().is_empty(), "{c}");
    assert_eq!(c["kind"], "INDIVIDUAL");
    assert_eq!(c["profile"]["idDocumentType"], "RESIDENT_ID");
    assert!(!c["assignmentHistory"].as_array().unwrap().is_empty());
    assert!(
        c["profile"]["idDocument"].as_str().unwrap().contains('*'),
        "{c}"
    );
    let explanation = &c["contributionExplanation"];
    assert_eq!(explanation["tier"], c["tier"]);
    let points: f64 = explanation["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["points"].as_f64().unwrap())
        .sum();
    assert!(
        (points - explanation["score"].as_f64().unwrap()).abs() < 0.05,
        "{explanation}"
    );
    let sources = explanation["sourcePositions"].as_array().unwrap();
    assert!(
        !sources.is_empty(),
        "a customer with assets has daily summaries: {explanation}"
    );
    assert!(sources.iter().all(|p| p.as_u64().unwrap() <= head));
    assert_eq!(c["churn"]["risk"], c["churnRisk"]);

    // Full identity numbers: only through `sensitive`, and each view lands in the access log.
    let branch = uuid(&c["branch"]["id"]);
    let bm_id = StaffId::from_uuid(Uuid::now_v7());
    let bm = server.token_for(
        bm_id,
        Role::BranchManager,
        Scope::Branch {
            branch: BranchId::from_uuid(branch),
        },
    );
    let full = server
        .query(
            &bm,
            r#"query($id: ID!) { customer(id: $id) { sensitive(purpose: "回访核实身份") { idDocument recordedAtPosition } } }"#,
            json!({ "id": id }),
        )
        .await;
    ok(&full);
    let full = &full["data"]["customer"]["sensitive"];
    assert!(!full["idDocument"].as_str().unwrap().contains('*'));
    let recorded = full["recordedAtPosition"].as_u64().unwrap();
    let access = server
        .query(
            &server.auditor(),
            r#"{ events(filter: { category: "access" }, last: 1) { edges { node { position stream eventType } } } }"#,
            json!({}),
        )
        .await;
    ok(&access);
    let event = &access["data"]["events"]["edges"][0]["node"];
    assert_eq!(event["eventType"], "PiiViewed", "{access}");
    assert_eq!(event["position"].as_u64(), Some(recorded), "{access}");
    assert!(
        event["stream"]
            .as_str()
            .unwrap()
            .contains(&bm_id.to_string()),
        "{access}"
    );
    let agent = server.token(Role::ServiceAgent, Scope::Company);
    let refused = server
        .query(
            &agent,
            r#"query($id: ID!) { customer(id: $id) { sensitive(purpose: "x") { idDocument } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");

    // Paging forwards and backwards visits the same customers in mirrored order.
    const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String) {
      customers(orderBy: SCORE_DESC, first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { customerId contributionScore } } } }"#;
    let mut forwards = Vec::new();
    let mut after = Json::Null;
    loop {
        let r = server
            .query(&hq, PAGE, json!({ "first": 40, "after": after }))
            .await;
        ok(&r);
        let page = &r["data"]["customers"];
        for e in page["edges"].as_array().unwrap() {
            forwards.push(e["node"]["customerId"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut backwards = Vec::new();
    let mut before = Json::Null;
    loop {
        let r = server
            .query(&hq, PAGE, json!({ "last": 40, "before": before }))
            .await;
        ok(&r);
        let page = &r["data"]["customers"];
        let ids: Vec<String> = page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["customerId"].as_str().unwrap().to_string())
            .collect();
        backwards.splice(0..0, ids);
        if page["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        before = page["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(forwards, backwards);
    let total = forwards.len();
    assert!(total >= CUSTOMERS as usize - 10, "{total}");
    let unique: BTreeSet<_> = forwards.iter().collect();
    assert_eq!(unique.len(), total);
    let wrong_order = server
        .query(
            &hq,
            r#"query($c: String) { customers(orderBy: NAME, after: $c) { totalCount } }"#,
            json!({ "c": after }),
        )
        .await;
    assert_eq!(codes(&wrong_order), ["VALIDATION"], "{wrong_order}");

    // A page of 100 customers with managers and accounts: one read of the models.
    let before_reads = metric(&server, "read_model_reads").await;
    let page = server
        .query(
            &hq,
            "{ customers(first: 100) { edges { node { name manager { id name } branch { name } accounts { number } } } } }",
            json!({}),
        )
        .await;
    ok(&page);
    assert_eq!(
        page["data"]["customers"]["edges"].as_array().unwrap().len(),
        100
    );
    let after_reads = metric(&server, "read_model_reads").await;
    assert_eq!(
        after_reads - before_reads,
        1,
        "a page costs one read, not one per row"
    );

    // A customer manager sees exactly their book: in lists, counts, by id and in views.
    let manager = uuid(&c["manager"]["id"]);
    let book = server
        .query(
            &hq,
            r#"query($m: ID!) { customers(filter: { managerId: $m }, first: 500) { totalCount edges { node { customerId } } } }"#,
            json!({ "m": manager.to_string() }),
        )
        .await;
    ok(&book);
    let cm = server.token_for(
        StaffId::from_uuid(manager),
        Role::CustomerManager,
        Scope::Book {
            branch: BranchId::from_uuid(branch),
            team: None,
        },
    );
    let own = server
        .query(
            &cm,
            "{ customers(first: 500) { totalCount edges { node { manager { id } } } } segments { customers } }",
            json!({}),
        )
        .await;
    ok(&own);
    assert_eq!(
        own["data"]["customers"]["totalCount"],
        book["data"]["customers"]["totalCount"]
    );
    assert_eq!(
        own["data"]["segments"]["customers"],
        book["data"]["customers"]["totalCount"]
    );
    for e in own["data"]["customers"]["edges"].as_array().unwrap() {
        assert_eq!(uuid(&e["node"]["manager"]["id"]), manager);
    }
    let mine: BTreeSet<String> = book["data"]["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["customerId"].as_str().unwrap().to_string())
        .collect();
    let stranger = forwards.iter().find(|id| !mine.contains(*id)).unwrap();
    let other = server
        .query(
            &cm,
            "query($id: ID!) { customer(id: $id) { name } }",
            json!({ "id": stranger }),
        )
        .await;
    assert_eq!(codes(&other), ["NOT_FOUND"], "{other}");
    // Refetching by global id is scoped the same way.
    let global = server
        .query(
            &hq,
            "query($id: ID!) { customer(id: $id) { id } }",
            json!({ "id": stranger }),
        )
        .await;
    let global_id = global["data"]["customer"]["id"].clone();
    const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on Customer { name tier accounts { number } } } }";
    let by_node = server.query(&hq, NODE, json!({ "id": global_id })).await;
    ok(&by_node);
    assert_eq!(by_node["data"]["node"]["id"], global_id);
    assert!(by_node["data"]["node"]["accounts"].is_array(), "{by_node}");
    let not_by_node = server.query(&cm, NODE, json!({ "id": global_id })).await;
    // Through `node` a customer the caller may not read is null, as an unknown one.
    assert!(not_by_node.get("errors").is_none(), "{not_by_node}");
    assert!(not_by_node["data"]["node"].is_null(), "{not_by_node}");
    let month = month(&server, &hq).await;
    let dash = server
        .query(
            &cm,
            r#"query($b: ID!, $m: String!) { branchDashboard(branchId: $b, period: { month: $m }) { customers } }"#,
            json!({ "b": branch.to_string(), "m": month }),
        )
        .await;
    assert_eq!(codes(&dash), ["FORBIDDEN"], "{dash}");
    let own_perf = server
        .query(
            &cm,
            r#"query($s: ID!, $m: String!) { staffPerformance(staffId: $s, period: { month: $m }) { name customersServed kpiComposite kpi { rulesVersion terms { name weight points } } rankInBranch } }"#,
            json!({ "s": manager.to_string(), "m": month }),
        )
        .await;
    ok(&own_perf);
    let perf = &own_perf["data"]["staffPerformance"];
    assert!(perf["customersServed"].as_i64().unwrap() > 0, "{perf}");
    let weights: Vec<i64> = perf["kpi"]["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["weight"].as_i64().unwrap())
        .collect();
    assert_eq!(weights, [20, 30, 30, 20], "the seed's default KPI weights");

    // Dashboards, rankings and company views for HQ.
    let views = server
        .query(
            &hq,
            r#"query($b: ID!, $m: String!) {
              branchDashboard(branchId: $b, period: { month: $m }) {
                name customers assets netInflow commission turnover rankAmongBranches branchesRanked
                customersByTier { key count } assetsByClass { key amount }
                turnoverBySecurityType { key amount } topManagers { name kpiComposite }
                reflects { position rulesVersion } }
              branchRanking(period: { month: $m }) { rank name kpiComposite previousRank rankChange }
              leaderboard(scope: { company: true }, period: { month: $m, yearToDate: true }, first: 5) { name rankInCompany kpiComposite }
              segments { customers byTier { tier count } byChurnRisk { churnRisk count } }
              channelEffectiveness { channel contacts }
              campaignEffectiveness { name targeted }
              serviceQuality { openNow byKind { kind opened } }
              branches { branchId regionId name dashboard { customers } }
              tickets(first: 5) { totalCount edges { node { subject status } } }
              products { name risk }
              projectionStatus { role position lagEvents rulesVersion }
              rules { version hash versions { version } }
              reflects { position rulesVersion rulesHash }
            }"#,
            json!({ "b": branch.to_string(), "m": month }),
        )
        .await;
    ok(&views);
    let d = &views["data"];
    let by_tier: i64 = d["branchDashboard"]["customersByTier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(by_tier, d["branchDashboard"]["customers"].as_i64().unwrap());
    let ranking = d["branchRanking"].as_array().unwrap();
    assert_eq!(
        ranking.len() as i64,
        d["branchDashboard"]["branchesRanked"].as_i64().unwrap()
    );
    let ranks: Vec<i64> = ranking
        .iter()
        .map(|r| r["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, (1..=ranks.len() as i64).collect::<Vec<_>>());
    // Rank change against the month before: previousRank − rank, null without a previous rank.
    for r in ranking {
        match r["previousRank"].as_i64() {
            Some(p) => {
                assert!((1..=ranks.len() as i64).contains(&p), "{r}");
                assert_eq!(
                    r["rankChange"].as_i64(),
                    Some(p - r["rank"].as_i64().unwrap()),
                    "{r}"
                );
            }
            None => assert!(r["rankChange"].is_null(), "{r}"),
        }
    }
    let board: Vec<f64> = d["leaderboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kpiComposite"].as_f64().unwrap())
        .collect();
    assert!(
        !board.is_empty() && board.windows(2).all(|w| w[0] >= w[1]),
        "{board:?}"
    );
    let seg_total: i64 = d["segments"]["byTier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(seg_total, d["segments"]["customers"].as_i64().unwrap());
    assert_eq!(seg_total as usize, total);
    assert!(d["channelEffectiveness"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["contacts"].as_i64().unwrap() > 0));
    assert_eq!(d["projectionStatus"][0]["role"], "CURRENT");
    assert_eq!(d["reflects"]["rulesVersion"], 1);
    assert_eq!(d["reflects"]["rulesHash"], d["rules"]["hash"]);
    assert!(d["reflects"]["position"].as_u64().unwrap() >= head);

    // A region manager reads the branches of their region and no others.
    let branches = d["branches"].as_array().unwrap();
    let everyone: i64 = branches
        .iter()
        .map(|b| b["dashboard"]["customers"].as_i64().unwrap())
        .sum();
    assert!(
        everyone > 0 && everyone as usize <= total + 10,
        "{everyone} vs {total}"
    );
    let region = uuid(&branches[0]["regionId"]);
    let in_region: BTreeSet<String> = branches
        .iter()
        .filter(|b| uuid(&b["regionId"]) == region)
        .map(|b| b["branchId"].as_str().unwrap().to_string())
        .collect();
    let rm = server.token(
        Role::RegionManager,
        Scope::Region {
            region: RegionId::from_uuid(region),
        },
    );
    let seen = server
        .query(
            &rm,
            "{ branches { branchId } customers(first: 500) { edges { node { branch { id } } } } }",
            json!({}),
        )
        .await;
    ok(&seen);
    let seen_branches: BTreeSet<String> = seen["data"]["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branchId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen_branches, in_region);
    for e in seen["data"]["customers"]["edges"].as_array().unwrap() {
        assert!(in_region.contains(e["node"]["branch"]["id"].as_str().unwrap()));
    }
    if let Some(outside) = branches.iter().find(|b| uuid(&b["regionId"]) != region) {
        let refused = server
            .query(
                &rm,
                r#"query($b: ID!, $m: String!) { branchDashboard(branchId: $b, period: { month: $m }) { customers } }"#,
                json!({ "b": outside["branchId"], "m": month }),
            )
            .await;
        assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_changes_preview_then_switch_only_after_four_eyes_and_roll_back() {
    let server = Server::start_demo(CUSTOMERS, DAYS).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let first_op = server.operator().await;
    let second_op = server.operator().await;
    let head = server.store.head().0;
    let tiers = |body: &Json| -> Vec<(String, i64)> {
        body["data"]["segments"]["byTier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["tier"].as_str().unwrap().to_string(),
                    t["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    const SEGMENTS: &str =
        "query($at: Long) { segments(atPosition: $at) { customers byTier { tier count } } }";
    let before = server.query(&hq, SEGMENTS, json!({ "at": head })).await;
    ok(&before);

    // Version 2 lowers every tier threshold: many customers move up.
    let content = include_str!("../../../../schema/rules.default.toml")
        .replacen("version = 1", "version = 2", 1)
        .replacen("diamond = 80", "diamond = 40", 1)
        .replacen("gold = 55", "gold = 20", 1)
        .replacen("silver = 30", "silver = 5", 1);
    let preview = server
        .query(
            &first_op,
            r#"mutation($c: String!) { previewRules(content: $c, limit: 5) {
                 fromRulesVersion toRulesVersion customersChangingTier
                 tierMoves { from to count } tierChanges { customerId from to }
                 tierMovesByBranch { groupId moves { count } } } }"#,
            json!({ "c": content }),
        )
        .await;
    ok(&preview);
    let p = &preview["data"]["previewRules"];
    assert_eq!(
        (p["fromRulesVersion"].as_i64(), p["toRulesVersion"].as_i64()),
        (Some(1), Some(2))
    );
    let changing = p["customersChangingTier"].as_i64().unwrap();
    assert!(changing > 0, "{p}");
    assert!(p["tierChanges"].as_array().unwrap().len() <= 5);

    // The same question without writing a file: the rules in force with other thresholds.
    let variant = server
        .query(
            &first_op,
            r#"mutation { previewRules(tiers: { diamond: 40, gold: 20, silver: 5 }) { toRulesVersion customersChangingTier } }"#,
            json!({}),
        )
        .await;
    ok(&variant);
    assert_eq!(variant["data"]["previewRules"]["toRulesVersion"], 2);
    assert_eq!(
        variant["data"]["previewRules"]["customersChangingTier"].as_i64(),
        Some(changing)
    );
    let bad = server
        .query(
            &first_op,
            r#"mutation { previewRules(tiers: { diamond: 400, gold: 20, silver: 5 }) { toRulesVersion } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&bad), ["VALIDATION"], "{bad}");

    // Not activated in the log: the preview cannot be switched in.
    let refused = server
        .query(
            &first_op,
            "mutation { switchReadModels { generation } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&refused), ["CONFLICT"], "{refused}");
    // Nor may anyone but an operator preview or switch.
    let forbidden = server
        .query(
            &hq,
            "mutation { rollbackReadModels { generation } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&forbidden), ["FORBIDDEN"], "{forbidden}");

    // Propose (first operator); the proposer cannot approve; a second operator can.
    let rule_set = Uuid::now_v7().to_string();
    let proposed = server
        .query(
            &first_op,
            r#"mutation($r: ID!, $c: String!) { proposeRules(ruleSetId: $r, version: 2, content: $c) { position } }"#,
            json!({ "r": rule_set, "c": content }),
        )
        .await;
    ok(&proposed);
    const APPROVE: &str =
        r#"mutation($r: ID!) { approveRules(ruleSetId: $r, version: 2) { position } }"#;
    let own = server
        .query(&first_op, APPROVE, json!({ "r": rule_set }))
        .await;
    assert_eq!(codes(&own), ["FORBIDDEN"], "four eyes: {own}");
    ok(&server
        .query(&second_op, APPROVE, json!({ "r": rule_set }))
        .await);
    let activated = server
        .query(
            &second_op,
            r#"mutation($r: ID!) { activateRules(ruleSetId: $r, version: 2) { position } }"#,
            json!({ "r": rule_set }),
        )
        .await;
    ok(&activated);
    let at = activated["data"]["activateRules"]["position"].clone();
    let rules = server
        .query(&first_op, "query($at: Long) { rules(atPosition: $at) { version pendingVersion versions { version status } } customers(first: 0, atPosition: $at) { totalCount } }", json!({ "at": at }))
        .await;
    ok(&rules);
    assert_eq!(rules["data"]["rules"]["version"], 1);
    assert_eq!(rules["data"]["rules"]["pendingVersion"], 2, "{rules}");

    // Preview the activated version, then switch: the tiers moved as the preview said.
    let preview = server
        .query(
            &first_op,
            "mutation { previewRules(version: 2) { customersChangingTier tierMoves { from to count } } }",
            json!({}),
        )
        .await;
    ok(&preview);
    let moves = preview["data"]["previewRules"]["tierMoves"]
        .as_array()
        .unwrap()
        .clone();
    let switched = server
        .query(
            &first_op,
            "mutation { switchReadModels { generation rulesVersion } }",
            json!({}),
        )
        .await;
    ok(&switched);
    assert_eq!(switched["data"]["switchReadModels"]["rulesVersion"], 2);
    let after = server.query(&hq, SEGMENTS, json!({})).await;
    ok(&after);
    let mut expected: std::collections::BTreeMap<String, i64> =
        tiers(&before).into_iter().collect();
    for m in &moves {
        let n = m["count"].as_i64().unwrap();
        *expected
            .entry(m["from"].as_str().unwrap().to_string())
            .or_default() -= n;
        *expected
            .entry(m["to"].as_str().unwrap().to_string())
            .or_default() += n;
    }
    expected.retain(|_, n| *n != 0);
    let got: std::collections::BTreeMap<String, i64> =
        tiers(&after).into_iter().filter(|(_, n)| *n != 0).collect();
    assert_eq!(
        got, expected,
        "the switch changed exactly what the preview reported"
    );

    // Roll back: the old rules and tiers again.
    let rolled = server
        .query(
            &first_op,
            "mutation { rollbackReadModels { rulesVersion } }",
            json!({}),
        )
        .await;
    ok(&rolled);
    assert_eq!(rolled["data"]["rollbackReadModels"]["rulesVersion"], 1);
    let back = server.query(&hq, SEGMENTS, json!({})).await;
    assert_eq!(tiers(&back), tiers(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_dashboard_subscription_sends_the_dashboard_and_its_changes() {
    let server = Server::start_demo(40, 5).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let r = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 1, orderBy: ASSETS_DESC, atPosition: $at) { edges { node { customerId asOf branch { id } manager { id } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    ok(&r);
    let node = &r["data"]["customers"]["edges"][0]["node"];
    let branch = node["branch"]["id"].as_str().unwrap().to_string();
    // Contacts are recorded now, so watch today's (business day, UTC+8) dashboard.
    let day = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();

    // A customer manager may not watch a branch.
    let cm = server.token(
        Role::CustomerManager,
        Scope::Book {
            branch: BranchId::from_uuid(Uuid::parse_str(&branch).unwrap()),
            team: None,
        },
    );
    const SUBSCRIBE: &str = r#"subscription($b: ID!, $d: String!) { branchDashboardChanged(branchId: $b, period: { day: $d }) { customers contacts } }"#;
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &cm).await;
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"b": branch, "d": day}}})).await;
    let refused = recv(&mut ws).await;
    // Refused when the subscription starts: one result carrying the error, then the end.
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["data"], Json::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &hq).await;
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"b": branch, "d": day}}})).await;
    let first = recv(&mut ws).await;
    assert_eq!(first["type"], "next", "{first}");
    let contacts = first["payload"]["data"]["branchDashboardChanged"]["contacts"]
        .as_i64()
        .unwrap();

    // A contact with a customer of the branch changes today's dashboard.
    let contact = server
        .query(
            &hq,
            r#"mutation($c: ID!) { recordContact(customerId: $c, channel: PHONE, direction: OUTBOUND, topic: "回访", outcome: REACHED, notes: "季度回访") { position } }"#,
            json!({ "c": node["customerId"] }),
        )
        .await;
    ok(&contact);
    let next = recv(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(
        next["payload"]["data"]["branchDashboardChanged"]["contacts"]
            .as_i64()
            .unwrap(),
        contacts + 1,
        "{next}"
    );
}

async fn publish(
    app: &crm_app::App,
    by: crm_domain::auth::Actor,
    kind: crm_domain::article::ArticleKind,
    audience: Option<BranchId>,
    title: &str,
) -> u64 {
    use crm_domain::values::{LongText, ShortText};
    let now = time::OffsetDateTime::now_utc();
    let article = crm_domain::ids::ArticleId::from(Uuid::now_v7());
    let outcome = app
        .execute(crm_app::CommandEnvelope {
            command_id: Uuid::now_v7(),
            actor: by,
            correlation_id: None,
            causation_id: None,
            occurred_at: now,
            command: crm_app::AppCommand::Article {
                article,
                command: crm_domain::article::Command::Publish {
                    article_id: article,
                    kind,
                    audience,
                    title: ShortText::parse(title).unwrap(),
                    body: LongText::parse("正文").unwrap(),
                    by: by.staff_id,
                    now,
                },
            },
        })
        .await
        .unwrap();
    outcome.position
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_reach_their_audience_and_opportunities_their_owners() {
    use crm_domain::article::ArticleKind;
    let server = Server::start_demo(60, 10).await;
    let hq_actor = crm_domain::auth::Actor {
        staff_id: StaffId::from_uuid(Uuid::now_v7()),
        role: Role::Headquarters,
        scope: Scope::Company,
    };
    let hq = server.token_for(hq_actor.staff_id, hq_actor.role, hq_actor.scope);
    // Query fields resolve concurrently: wait for the read models in a query of its own.
    let caught_up = server
        .query(
            &hq,
            "query($at: Long) { customers(first: 0, atPosition: $at) { totalCount } }",
            json!({ "at": server.store.head().0 }),
        )
        .await;
    ok(&caught_up);
    let r = server
        .query(&hq, "{ branches { branchId } }", json!({}))
        .await;
    let branches: Vec<Uuid> = r["data"]["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| uuid(&b["branchId"]))
        .collect();
    assert!(branches.len() >= 2, "{r}");
    let (mine, other) = (
        BranchId::from_uuid(branches[0]),
        BranchId::from_uuid(branches[1]),
    );

    // Given an announcement for the company, one for each of two branches, and a knowledge
    // article for the company.
    let app = crm_app::App::new(server.store.clone()).unwrap();
    publish(
        &app,
        hq_actor,
        ArticleKind::Announcement,
        None,
        "全公司公告",
    )
    .await;
    publish(
        &app,
        hq_actor,
        ArticleKind::Announcement,
        Some(mine),
        "本营业部公告",
    )
    .await;
    publish(
        &app,
        hq_actor,
        ArticleKind::Announcement,
        Some(other),
        "其他营业部公告",
    )
    .await;
    let last = publish(&app, hq_actor, ArticleKind::Knowledge, None, "融资融券知识").await;

    // When a customer manager of the first branch lists announcements,
    let cm = server.token(
        Role::CustomerManager,
        Scope::Book {
            branch: mine,
            team: None,
        },
    );
    const ARTICLES: &str = r#"query($kind: ArticleKindValue, $at: Long, $first: Int, $after: String) {
        articles(kind: $kind, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
          edges { node { title kind audienceBranchId } } }
        customers(first: 0, atPosition: $at) { totalCount } }"#;
    ok(&server
        .query(&cm, ARTICLES, json!({ "first": 0, "at": last }))
        .await);
    let seen = server
        .query(&cm, ARTICLES, json!({ "kind": "ANNOUNCEMENT" }))
        .await;
    ok(&seen);
    // then they see the company's and their branch's, newest first, not the other branch's.
    let titles: Vec<&str> = seen["data"]["articles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["本营业部公告", "全公司公告"], "{seen}");
    // HQ sees all four, and pages through them.
    let first = server.query(&hq, ARTICLES, json!({ "first": 3 })).await;
    ok(&first);
    assert_eq!(first["data"]["articles"]["totalCount"], 4);
    assert_eq!(first["data"]["articles"]["pageInfo"]["hasNextPage"], true);
    let rest = server
        .query(
            &hq,
            ARTICLES,
            json!({ "first": 3, "after": first["data"]["articles"]["pageInfo"]["endCursor"] }),
        )
        .await;
    ok(&rest);
    assert_eq!(
        rest["data"]["articles"]["edges"][0]["node"]["title"],
        "全公司公告"
    );

    // Opportunities: HQ sees every one; a manager sees those they own or whose customer
    // they may read, and no other.
    let all = server
        .query(
            &hq,
            "{ opportunities(first: 500) { totalCount edges { node { ownerId customerId stage } } } }",
            json!({}),
        )
        .await;
    ok(&all);
    let edges = all["data"]["opportunities"]["edges"].as_array().unwrap();
    assert!(!edges.is_empty(), "the demo creates leads: {all}");
    let owner = uuid(&edges[0]["node"]["ownerId"]);
    let own_book = server
        .query(
            &hq,
            r#"query($m: ID!) { customers(filter: { managerId: $m }, first: 500) { edges { node { customerId branch { id } } } } }"#,
            json!({ "m": owner.to_string() }),
        )
        .await;
    ok(&own_book);
    let book: BTreeSet<String> = own_book["data"]["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["customerId"].as_str().unwrap().to_string())
        .collect();
    let branch = own_book["data"]["customers"]["edges"][0]["node"]["branch"]["id"]
        .as_str()
        .map(|b| BranchId::from_uuid(Uuid::parse_str(b).unwrap()))
        .unwrap_or(mine);
    let owner_token = server.token_for(
        StaffId::from_uuid(owner),
        Role::CustomerManager,
        Scope::Book { branch, team: None },
    );
    let theirs = server
        .query(
            &owner_token,
            "{ opportunities(first: 500) { totalCount edges { node { ownerId customerId } } } }",
            json!({}),
        )
        .await;
    ok(&theirs);
    let theirs = theirs["data"]["opportunities"]["edges"].as_array().unwrap();
    assert!(!theirs.is_empty());
    for e in theirs {
        assert!(
            uuid(&e["node"]["ownerId"]) == owner
                || book.contains(e["node"]["customerId"].as_str().unwrap()),
            "{e}"
        );
    }
    assert!(theirs.len() <= edges.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_to_do_subscription_sends_the_list_and_its_changes() {
    let server = Server::start_demo(40, 5).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let r = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 1, atPosition: $at) { edges { node { customerId manager { id } branch { id } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    ok(&r);
    let node = &r["data"]["customers"]["edges"][0]["node"];
    let manager = StaffId::from_uuid(uuid(&node["manager"]["id"]));
    let branch = BranchId::from_uuid(uuid(&node["branch"]["id"]));
    let cm = server.token_for(
        manager,
        Role::CustomerManager,
        Scope::Book { branch, team: None },
    );
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &cm).await;
    send(
        &mut ws,
        json!({"id": "t", "type": "subscribe", "payload": {"query": "subscription { todosChanged { kind customerId due text } }"}}),
    )
    .await;
    let first = recv(&mut ws).await;
    assert_eq!(first["type"], "next", "{first}");
    let before = first["payload"]["data"]["todosChanged"]
        .as_array()
        .unwrap()
        .len();

    // The manager records a contact with a follow-up due today: a new to-do.
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();
    let contact = server
        .query(
            &cm,
            r#"mutation($c: ID!, $d: String!) { recordContact(customerId: $c, channel: PHONE, direction: OUTBOUND, topic: "回访", outcome: FOLLOW_UP_NEEDED, notes: "约定明日再联系", followUpOn: $d) { position } }"#,
            json!({ "c": node["customerId"], "d": today }),
        )
        .await;
    ok(&contact);
    let next = recv(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    let todos = next["payload"]["data"]["todosChanged"].as_array().unwrap();
    assert!(
        todos
            .iter()
            .any(|t| t["kind"] == "FOLLOW_UP_DUE" && t["customerId"] == node["customerId"]),
        "{next} (before: {before})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_signed_by_operators_the_directory_knows_in_one_rule_set() {
    let server = Server::start().await;
    let (first, second) = (server.operator().await, server.operator().await);
    // A well-formed operator token for someone who never joined.
    let ghost = server.token(Role::Operator, Scope::Company);
    let content = include_str!("../../../../schema/rules.default.toml").replacen(
        "version = 1",
        "version = 2",
        1,
    );
    const PROPOSE: &str = r#"mutation($r: ID!, $v: Int!, $c: String!) { proposeRules(ruleSetId: $r, version: $v, content: $c) { position } }"#;
    const APPROVE: &str =
        r#"mutation($r: ID!) { approveRules(ruleSetId: $r, version: 2) { position } }"#;
    let (set, other_set) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let propose = |token: &str, set: &str, version: i32, content: &str| {
        let (token, body) = (
            token.to_string(),
            json!({ "r": set, "v": version, "c": content }),
        );
        let server = &server;
        async move { server.query(&token, PROPOSE, body).await }
    };
    let refused = propose(&ghost, &set, 2, &content).await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    let invalid = propose(&first, &set, 2, "version = \"two\"").await;
    assert_eq!(codes(&invalid), ["VALIDATION"], "{invalid}");
    let mismatched = propose(&first, &set, 3, &content).await;
    assert_eq!(codes(&mismatched), ["VALIDATION"], "{mismatched}");
    ok(&propose(&first, &set, 2, &content).await);
    // Version 2 again under another rule set id: it would give the number a second content.
    let forged = content.replacen("gold = 55", "gold = 35", 1);
    let conflict = propose(&first, &other_set, 2, &forged).await;
    assert_eq!(codes(&conflict), ["CONFLICT"], "{conflict}");
    for (who, token) in [("a stranger", &ghost), ("the proposer", &first)] {
        let r = server.query(token, APPROVE, json!({ "r": set })).await;
        assert_eq!(codes(&r), ["FORBIDDEN"], "{who}: {r}");
    }
    ok(&server.query(&second, APPROVE, json!({ "r": set })).await);
}

/// `rules.versions.ruleSetId` is the id the rules mutations take: the one the version was
/// proposed under, and, passed as read, the one `approveRules`, `activateRules` and
/// `rejectRules` act on (so a page listing versions can act on them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_version_names_the_rule_set_the_rules_mutations_take() {
    let server = Server::start().await;
    let (first, second) = (server.operator().await, server.operator().await);
    let rule_set = Uuid::now_v7();
    const PROPOSE: &str = r#"mutation($r: ID!, $v: Int!, $c: String!) { proposeRules(ruleSetId: $r, version: $v, content: $c) { position } }"#;
    const VERSIONS: &str =
        "query($at: Long) { rules(atPosition: $at) { versions { ruleSetId version status } } }";
    let content = |version: u32| {
        include_str!("../../../../schema/rules.default.toml").replacen(
            "version = 1",
            &format!("version = {version}"),
            1,
        )
    };
    let mut proposed = Json::Null;
    for version in [2, 3] {
        let r = server
            .query(
                &first,
                PROPOSE,
                json!({ "r": rule_set.to_string(), "v": version, "c": content(version) }),
            )
            .await;
        ok(&r);
        proposed = r["data"]["proposeRules"]["position"].clone();
    }
    // `at`: the position of the last mutation, for the next read.
    let read = |at: Json| {
        let server = &server;
        let first = first.clone();
        async move {
            let r = server.query(&first, VERSIONS, json!({ "at": at })).await;
            ok(&r);
            r["data"]["rules"]["versions"].as_array().unwrap().clone()
        }
    };
    // Read at the second proposal's position: the read models may not have applied it yet.
    let versions = read(proposed).await;
    assert_eq!(versions.len(), 2, "{versions:?}");
    for v in &versions {
        assert_eq!(uuid(&v["ruleSetId"]), rule_set, "{v}");
        assert_eq!(v["status"], "PROPOSED", "{v}");
    }
    // Each mutation given the id as read acts on that version.
    let act = |mutation: &'static str, v: &Json| {
        let (server, second) = (&server, second.clone());
        let body = json!({ "r": v["ruleSetId"], "v": v["version"] });
        async move {
            let r = server.query(&second, mutation, body).await;
            ok(&r);
            r["data"].as_object().unwrap().values().next().unwrap()["position"].clone()
        }
    };
    const APPROVE: &str =
        r#"mutation($r: ID!, $v: Int!) { approveRules(ruleSetId: $r, version: $v) { position } }"#;
    const ACTIVATE: &str =
        r#"mutation($r: ID!, $v: Int!) { activateRules(ruleSetId: $r, version: $v) { position } }"#;
    const REJECT: &str = r#"mutation($r: ID!, $v: Int!) { rejectRules(ruleSetId: $r, version: $v, reason: "门槛未变") { position } }"#;
    act(APPROVE, &versions[0]).await;
    act(ACTIVATE, &versions[0]).await;
    let at = act(REJECT, &versions[1]).await;
    let statuses: Vec<(Json, Json, Json)> = read(at)
        .await
        .iter()
        .map(|v| {
            (
                v["version"].clone(),
                v["status"].clone(),
                v["ruleSetId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (json!(2), json!("ACTIVE"), versions[0]["ruleSetId"].clone()),
            (
                json!(3),
                json!("REJECTED"),
                versions[1]["ruleSetId"].clone()
            ),
        ]
    );
    // Another rule set's id is not this one: the mutations refuse it.
    let other = json!({ "r": Uuid::now_v7().to_string(), "v": 3 });
    let refused = server.query(&second, APPROVE, other).await;
    assert_eq!(codes(&refused), ["NOT_FOUND"], "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_log_replays_run_under_a_bound_past_which_they_are_refused() {
    let server =
        Server::start_demo_with(CUSTOMERS, DAYS, |c| c.limits.replays_concurrent_max = 1).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let first = server
        .query(
            &hq,
            "query($at: Long) { customers(first: 1, atPosition: $at) { edges { node { branch { id } } } } }",
            json!({ "at": head }),
        )
        .await;
    ok(&first);
    let branch = first["data"]["customers"]["edges"][0]["node"]["branch"]["id"].clone();
    assert!(branch.is_string(), "{first}");
    let month = month(&server, &hq).await;
    const AS_OF: &str = r#"query($b: ID!, $m: String!) { branchDashboard(branchId: $b, period: { month: $m }, asOf: "2100-01-01T00:00:00Z") { customers } }"#;
    // Eight at once against a bound of one: each replay folds the whole log, so they overlap;
    // those past the bound are refused at once with the limit named, the others answer.
    let answers = futures_util::future::join_all(
        (0..8).map(|_| server.query(&hq, AS_OF, json!({ "b": branch, "m": month }))),
    )
    .await;
    let refused = answers
        .iter()
        .filter(|a| codes(a) == ["LIMIT_EXCEEDED"])
        .inspect(|a| assert_eq!(crate::common::limit(a), "replays", "{a}"))
        .count();
    let answered = answers
        .iter()
        .filter(|a| a.get("errors").is_none() && a["data"]["branchDashboard"].is_object())
        .count();
    assert!(refused >= 1, "{answers:?}");
    assert!(answered >= 1, "{answers:?}");
    assert_eq!(refused + answered, answers.len(), "{answers:?}");
    // Once they have ended the bound is free again.
    ok(&server
        .query(&hq, AS_OF, json!({ "b": branch, "m": month }))
        .await);
}

/// A customer's tickets and leads are read from their history on disk, newest first and
/// bounded by `first`; a list asked `asOf` a day gives each customer's windows ending that day
/// whether or not an archive field is selected with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_s_tickets_are_newest_first_and_bounded_and_windows_follow_as_of() {
    let server = Server::start_demo(CUSTOMERS, DAYS).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let first = server
        .query(
            &hq,
            "query($at: Long) { customers(first: 1, atPosition: $at) { edges { node { customerId } } } }",
            json!({ "at": server.store.head().0 }),
        )
        .await;
    ok(&first);
    let id = first["data"]["customers"]["edges"][0]["node"]["customerId"].clone();
    let mut at = 0;
    for n in 0..3 {
        let r = server
            .query(
                &hq,
                r#"mutation($c: ID!, $s: String!) { openTicket(customerId: $c, kind: COMPLAINT, priority: HIGH, channel: PHONE, subject: $s, description: "开盘时无法下单") { position } }"#,
                json!({ "c": id, "s": format!("ticket {n}") }),
            )
            .await;
        ok(&r);
        at = r["data"]["openTicket"]["position"].as_u64().unwrap();
    }
    let caught_up = server
        .query(
            &hq,
            "query($at: Long) { customers(first: 0, atPosition: $at) { totalCount } }",
            json!({ "at": at }),
        )
        .await;
    ok(&caught_up);
    let q = r#"query($id: ID!, $first: Int) { customer(id: $id) {
        tickets(first: $first) { subject } opportunities(first: $first) { id } } }"#;
    let every = server
        .query(&hq, q, json!({ "id": id, "first": 500 }))
        .await;
    ok(&every);
    let subjects: Vec<&str> = every["data"]["customer"]["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    // The demo may have opened some of its own before: ours are the newest three.
    assert_eq!(
        subjects[..3],
        ["ticket 2", "ticket 1", "ticket 0"],
        "{subjects:?}"
    );
    let one = server.query(&hq, q, json!({ "id": id, "first": 1 })).await;
    ok(&one);
    assert_eq!(
        one["data"]["customer"]["tickets"],
        json!([{ "subject": "ticket 2" }])
    );
    let too_many = server
        .query(&hq, q, json!({ "id": id, "first": 100_000 }))
        .await;
    assert_eq!(codes(&too_many), vec!["VALIDATION"; 2], "{too_many}");

    // Windows of a list asked as of a day: with an archive field, and alone. The day is the
    // richest customer's last trade (the tickets above moved the business date to today).
    let day = server
        .query(
            &hq,
            "{ customers(first: 1, orderBy: ASSETS_DESC) { edges { node { lastTrade } } } }",
            json!({}),
        )
        .await;
    ok(&day);
    let latest = time::Date::parse(
        day["data"]["customers"]["edges"][0]["node"]["lastTrade"]
            .as_str()
            .unwrap(),
        &time::format_description::well_known::Iso8601::DATE,
    )
    .unwrap();
    let as_of = (latest - time::Duration::days(10)).to_string();
    let windows = |with_profile: bool| {
        let fields = if with_profile {
            "asOf profile { phone } "
        } else {
            ""
        };
        format!(
            r#"query($on: String) {{ customers(first: 20, orderBy: ASSETS_DESC, filter: {{ asOf: $on }}) {{
                edges {{ node {{ customerId {fields}windows {{ turnover30Days commission365Days }} }} }} }} }}"#
        )
    };
    let strip = |r: &Json| -> Vec<(Json, Json)> {
        r["data"]["customers"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["node"]["customerId"].clone(),
                    e["node"]["windows"].clone(),
                )
            })
            .collect()
    };
    let with = server
        .query(&hq, &windows(true), json!({ "on": as_of }))
        .await;
    ok(&with);
    assert_eq!(
        with["data"]["customers"]["edges"][0]["node"]["asOf"],
        json!(as_of)
    );
    let alone = server
        .query(&hq, &windows(false), json!({ "on": as_of }))
        .await;
    ok(&alone);
    assert_eq!(strip(&alone), strip(&with));
    let today = server
        .query(&hq, &windows(false), json!({ "on": latest.to_string() }))
        .await;
    ok(&today);
    assert_ne!(strip(&today), strip(&alone), "ten days move some window");
}
