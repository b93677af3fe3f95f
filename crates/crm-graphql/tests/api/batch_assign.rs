//! Batch assignment by rule with a preview (#16 item 6) through the real server: the preview
//! deals a branch's unassigned customers above a threshold to a team's members, richest first;
//! a run names the plan's hash and is refused once the plan has changed; only those who may
//! assign the branch's customers preview or run; bad rules name their field.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::BranchId;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, resident_id, Server};

const PREVIEW: &str = r#"query($r: BatchRuleInput!) { batchAssignmentPreview(rule: $r) {
    customers planHash position rows { customerId assets fromManagerId toManagerId toTeamId } } }"#;
const RUN: &str = r#"mutation($b: ID, $r: BatchRuleInput!, $h: String!) {
    runBatchAssignment(batchId: $b, rule: $r, reason: "新团队", planHash: $h) {
    batchId planHash assigned alreadyHandled refused { customerId code } position } }"#;

fn id(n: u128) -> String {
    Uuid::from_u128(0xBA7C_0000 + n).to_string()
}

fn compact(s: &str) -> String {
    s.replace('-', "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_previewed_then_run_as_previewed_by_those_who_assign_the_branch() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let operator = server.operator().await;
    let q = |token: String, query: String| {
        let server = &server;
        async move {
            let body = server.query(&token, &query, json!({})).await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
            body
        }
    };
    let (region, branch, other, team, other_team) = (id(1), id(2), id(3), id(4), id(5));
    let (m1, m2) = (id(10), id(11));
    q(
        hq.clone(),
        format!(
            r#"mutation {{ establishRegion(regionId: "{region}", name: "华东") {{ position }} }}"#
        ),
    )
    .await;
    for (b, name) in [(&branch, "上海营业部"), (&other, "杭州营业部")] {
        q(hq.clone(), format!(r#"mutation {{ openBranch(branchId: "{b}", regionId: "{region}", name: "{name}", kind: BROKERAGE_BRANCH) {{ position }} }}"#)).await;
    }
    q(hq.clone(), format!(r#"mutation {{ formTeam(branchId: "{branch}", teamId: "{team}", name: "财富一组") {{ position }} }}"#)).await;
    q(hq.clone(), format!(r#"mutation {{ formTeam(branchId: "{other}", teamId: "{other_team}", name: "财富二组") {{ position }} }}"#)).await;
    for (s, name) in [(&m1, "经理甲"), (&m2, "经理乙")] {
        q(hq.clone(), format!(r#"mutation {{ joinStaff(staffId: "{s}", name: "{name}", role: CUSTOMER_MANAGER, scope: {{ book: {{ branchId: "{branch}", teamId: "{team}" }} }}) {{ position }} }}"#)).await;
    }
    // Five customers of the branch with no manager: assets 300k, 200k, 100k, 50k, and one
    // already managed (not dealt).
    for (n, assets) in [
        (1u32, 300_000),
        (2, 200_000),
        (3, 100_000),
        (4, 50_000),
        (5, 900_000),
    ] {
        let customer = id(100 + u128::from(n));
        let account = id(200 + u128::from(n));
        q(hq.clone(), format!(r#"mutation {{ registerCustomer(customerId: "{customer}", kind: INDIVIDUAL, profile: {{ name: "客户", document: {{ residentId: "{}" }}, sourceChannel: APP }}) {{ position }} }}"#, resident_id(n))).await;
        let to = if n == 5 {
            format!(r#"{{ branchId: "{branch}", managerId: "{m1}" }}"#)
        } else {
            format!(r#"{{ branchId: "{branch}" }}"#)
        };
        q(hq.clone(), format!(r#"mutation {{ assignCustomer(customerId: "{customer}", to: {to}) {{ position }} }}"#)).await;
        q(hq.clone(), format!(r#"mutation {{ openAccount(customerId: "{customer}", accountId: "{account}", kind: {{ securities: SHENZHEN }}, number: "00998877{n:02}") {{ position }} }}"#)).await;
        q(operator.clone(), format!(
            r#"mutation {{ recordDailyTradeSummary(summary: {{ accountId: "{account}", customerId: "{customer}", tradeDate: "2030-01-07",
                turnover: [], commission: "0", deposits: "0", withdrawals: "0", endOfDayAssets: "{assets}",
                holdings: [{{ assetClass: CASH, marketValue: "{assets}" }}], realisedPnl: "0", unrealisedPnl: "0" }}) {{ position }} }}"#
        )).await;
    }
    let rule = json!({ "branchId": branch, "teamId": team, "assetsAbove": "60000" });

    let shown = server.query(&hq, PREVIEW, json!({ "r": rule })).await;
    let plan = &shown["data"]["batchAssignmentPreview"];
    assert_eq!(plan["customers"], 3, "{shown}");
    let rows = plan["rows"].as_array().unwrap();
    let customers: Vec<&str> = rows
        .iter()
        .map(|r| r["customerId"].as_str().unwrap())
        .collect();
    assert_eq!(
        customers,
        [compact(&id(101)), compact(&id(102)), compact(&id(103))],
        "richest first"
    );
    let managers: Vec<&str> = rows
        .iter()
        .map(|r| r["toManagerId"].as_str().unwrap())
        .collect();
    assert_eq!(
        managers,
        [compact(&m1), compact(&m2), compact(&m1)],
        "dealt in turn"
    );
    assert!(rows
        .iter()
        .all(|r| r["fromManagerId"].is_null() && r["toTeamId"] == compact(&team)));
    assert_eq!(rows[0]["assets"], "300000.0000", "{shown}");
    let hash = plan["planHash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);

    // Who may assign the branch's customers previews and runs; others are refused.
    let own_bm = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: BranchId::from_uuid(Uuid::parse_str(&branch).unwrap()),
        },
    );
    let other_bm = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: BranchId::from_uuid(Uuid::parse_str(&other).unwrap()),
        },
    );
    let same = server.query(&own_bm, PREVIEW, json!({ "r": rule })).await;
    assert_eq!(
        same["data"]["batchAssignmentPreview"]["planHash"],
        hash.as_str(),
        "{same}"
    );
    for token in [
        other_bm.clone(),
        server.customer_manager(),
        server.auditor(),
    ] {
        let r = server.query(&token, PREVIEW, json!({ "r": rule })).await;
        assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
        let r = server
            .query(&token, RUN, json!({ "r": rule, "h": hash }))
            .await;
        assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    }
    // Bad rules name their field.
    for (bad, field) in [
        (
            json!({ "branchId": branch, "teamId": other_team, "assetsAbove": "60000" }),
            "rule.teamId",
        ),
        (
            json!({ "branchId": branch, "teamId": team, "assetsAbove": "-5" }),
            "rule.assetsAbove",
        ),
        (
            json!({ "branchId": branch, "teamId": team, "assetsAbove": "六万" }),
            "rule.assetsAbove",
        ),
        (
            json!({ "branchId": "x", "teamId": team, "assetsAbove": "1" }),
            "rule.branchId",
        ),
    ] {
        let r = server.query(&hq, PREVIEW, json!({ "r": bad })).await;
        assert_eq!(codes(&r), ["VALIDATION"], "{r}");
        assert!(
            r["errors"][0]["message"].as_str().unwrap().contains(field),
            "{r}"
        );
    }

    // A run names what it approves: another hash is a conflict and records nothing.
    let head = server
        .query(&hq, "{ logStatus { headPosition } }", json!({}))
        .await;
    let r = server
        .query(&hq, RUN, json!({ "r": rule, "h": "0".repeat(64) }))
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let after = server
        .query(&hq, "{ logStatus { headPosition } }", json!({}))
        .await;
    assert_eq!(head, after);
    let batch = Uuid::now_v7().to_string();
    let ran = server
        .query(&own_bm, RUN, json!({ "b": batch, "r": rule, "h": hash }))
        .await;
    let result = &ran["data"]["runBatchAssignment"];
    assert_eq!(result["assigned"], 3, "{ran}");
    assert_eq!(result["alreadyHandled"], 0);
    assert_eq!(result["refused"], json!([]));
    assert_eq!(result["planHash"], hash.as_str());
    // Done: nothing left to deal, and the same batch sent again finds the plan changed.
    let now = server.query(&hq, PREVIEW, json!({ "r": rule })).await;
    assert_eq!(
        now["data"]["batchAssignmentPreview"]["customers"], 0,
        "{now}"
    );
    let again = server
        .query(&own_bm, RUN, json!({ "b": batch, "r": rule, "h": hash }))
        .await;
    assert_eq!(codes(&again), ["CONFLICT"], "{again}");
    let listed = server
        .query(
            &hq,
            r#"query($id: ID!) { customer(id: $id) { manager { id } } }"#,
            json!({ "id": id(102) }),
        )
        .await;
    let manager: &Json = &listed["data"]["customer"]["manager"]["id"];
    assert_eq!(manager, &json!(compact(&m2)), "{listed}");
}
