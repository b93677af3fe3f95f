//! Targeted campaigns (issue #16 item 3) through the real server: given the demo data set and
//! a launch bound of one target, a branch manager saves segments, previews them, aims
//! campaigns at them and launches; the launch freezes the targets (or is refused over the
//! bound); responses from non-targets are refused; each caller's call list holds the targets
//! they serve, and a caller outside the branch sees nothing; the campaign's ROI follows its
//! responses and recorded cost.

use serde_json::{json, Value as Json};
use uuid::Uuid;

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};

use crate::common::{codes, Server};

fn ok<'a>(body: &'a Json, field: &str) -> &'a Json {
    assert!(body.get("errors").is_none(), "{body}");
    &body["data"][field]
}

fn event_types(body: &Json, mutation: &str) -> Vec<String> {
    ok(body, mutation)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_string())
        .collect()
}

/// The id of the entity whose stream `category-<id>` the mutation's first event went to.
fn created(body: &Json, mutation: &str, category: &str) -> String {
    ok(body, mutation)["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches(&format!("{category}-"))
        .to_string()
}

fn message(body: &Json) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

struct Customer {
    id: String,
    branch: String,
    manager: Option<String>,
}

async fn customers(server: &Server, hq: &str) -> Vec<Customer> {
    let head = server.store.head().0;
    let r = server
        .query(
            hq,
            r#"query($at: Long) { customers(first: 200, atPosition: $at) { edges { node { customerId branch { id } manager { id } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    ok(&r, "customers")["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let n = &e["node"];
            Some(Customer {
                id: n["customerId"].as_str()?.to_string(),
                branch: n["branch"]["id"].as_str()?.to_string(),
                manager: n["manager"]["id"].as_str().map(str::to_string),
            })
        })
        .collect()
}

fn branch_id(s: &str) -> BranchId {
    BranchId::from_uuid(Uuid::parse_str(s).unwrap())
}

const SAVE: &str = r#"mutation($n: String!, $b: ID, $f: CustomerFilterInput!) { saveSegment(name: $n, branchId: $b, filter: $f) { events { stream eventType } } }"#;
const PLAN: &str = r#"mutation($b: ID) { planCampaign(name: "定向理财推介", branchId: $b, targetSegment: "见客户分群", startsOn: "2030-03-01", endsOn: "2030-03-31", budget: "50000") { events { stream } } }"#;
const AIM: &str = r#"mutation($k: ID!, $s: ID!) { aimCampaign(campaignId: $k, segmentId: $s) { events { eventType } } }"#;
const LAUNCH: &str =
    r#"mutation($k: ID!) { launchCampaign(campaignId: $k) { events { eventType } } }"#;
const RESPOND: &str = r#"mutation($k: ID!, $c: ID!) { recordCampaignResponse(campaignId: $k, customerId: $c, response: INTERESTED) { events { eventType } } }"#;
const PREVIEW: &str = r#"query($s: ID!, $at: Long) { segmentPreview(id: $s, atPosition: $at) { customers segment { name branchId filter { branchId tier minAssets } } } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_aim_campaigns_whose_launch_freezes_the_targets_and_call_lists_are_scoped() {
    let server = Server::start_demo_with(40, 5, |c| c.limits.campaign_targets_max = 1).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let all = customers(&server, &hq).await;
    // The branch with the most customers, one of its managed customers, and another branch.
    let mut per_branch: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in &all {
        *per_branch.entry(c.branch.as_str()).or_default() += 1;
    }
    let (a, in_a) = per_branch
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(b, n)| (b.to_string(), *n))
        .unwrap();
    assert!(in_a >= 2, "the demo's largest branch has several customers");
    let target = all
        .iter()
        .find(|c| c.branch == a && c.manager.is_some())
        .expect("a managed customer in the branch");
    let outsider = all
        .iter()
        .find(|c| c.branch != a)
        .expect("a customer of another branch");
    let bm = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: branch_id(&a),
        },
    );
    let bm_other = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: branch_id(&outsider.branch),
        },
    );
    let manager = target.manager.clone().unwrap();
    let cm = server.token_for(
        StaffId::from_uuid(Uuid::parse_str(&manager).unwrap()),
        Role::CustomerManager,
        Scope::Book {
            branch: branch_id(&a),
            team: None,
        },
    );
    let other_cm = server.token(
        Role::CustomerManager,
        Scope::Book {
            branch: branch_id(&a),
            team: None,
        },
    );

    // Saving: a filter is validated on save, naming the bad field.
    let r = server
        .query(
            &bm,
            SAVE,
            json!({ "n": "负资产", "b": a, "f": { "minAssets": "-1" } }),
        )
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    assert!(message(&r).contains("filter.minAssets"), "{r}");
    let r = server
        .query(
            &bm,
            SAVE,
            json!({ "n": "按日", "b": a, "f": { "asOf": "2025-01-01" } }),
        )
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    assert!(message(&r).contains("filter.asOf"), "{r}");
    // Another branch's manager may not save a segment for this branch.
    let r = server
        .query(
            &bm_other,
            SAVE,
            json!({ "n": "越权", "b": a, "f": { "branchId": a } }),
        )
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");

    let r = server
        .query(
            &bm,
            SAVE,
            json!({ "n": "本营业部全部客户", "b": a, "f": { "branchId": a } }),
        )
        .await;
    assert_eq!(event_types(&r, "saveSegment"), ["SegmentSaved"]);
    let whole_branch = created(&r, "saveSegment", "segment");
    let simple = Uuid::parse_str(&target.id).unwrap().simple().to_string();
    let r = server
        .query(
            &bm,
            SAVE,
            json!({ "n": "单个客户", "b": a, "f": { "text": simple } }),
        )
        .await;
    let one = created(&r, "saveSegment", "segment");

    // Listing and preview: the branch's readers see its segments; others see nothing.
    let list = |token: String| {
        let server = &server;
        async move {
            let r = server
                .query(
                    &token,
                    "query($at: Long) { savedSegments(atPosition: $at) { id name } }",
                    json!({ "at": server.store.head().0 }),
                )
                .await;
            ok(&r, "savedSegments")
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let seen = list(bm.clone()).await;
    assert!(
        seen.contains(&whole_branch) && seen.contains(&one),
        "{seen:?}"
    );
    assert!(list(bm_other.clone()).await.is_empty());
    assert!(list(cm.clone()).await.is_empty());
    let r = server
        .query(
            &bm,
            PREVIEW,
            json!({ "s": whole_branch, "at": server.store.head().0 }),
        )
        .await;
    let preview = ok(&r, "segmentPreview");
    assert_eq!(preview["customers"], json!(in_a), "{r}");
    assert_eq!(preview["segment"]["filter"]["branchId"], json!(a));
    let r = server
        .query(
            &bm,
            PREVIEW,
            json!({ "s": one, "at": server.store.head().0 }),
        )
        .await;
    assert_eq!(ok(&r, "segmentPreview")["customers"], json!(1));
    let r = server
        .query(
            &bm_other,
            PREVIEW,
            json!({ "s": whole_branch, "at": server.store.head().0 }),
        )
        .await;
    assert_eq!(codes(&r), ["NOT_FOUND"], "{r}");

    // A campaign aimed at the one-customer segment launches, freezing its one target.
    let r = server.query(&bm, PLAN, json!({ "b": a })).await;
    let campaign = created(&r, "planCampaign", "campaign");
    let r = server
        .query(&bm, AIM, json!({ "k": campaign, "s": one }))
        .await;
    assert_eq!(event_types(&r, "aimCampaign"), ["CampaignAimed"]);
    let r = server.query(&bm, LAUNCH, json!({ "k": campaign })).await;
    assert_eq!(
        event_types(&r, "launchCampaign"),
        ["CampaignLaunched", "CampaignTargetsFrozen"]
    );

    // Over the bound: the whole branch is more than one customer; the launch is refused.
    let r = server.query(&bm, PLAN, json!({ "b": a })).await;
    let too_big = created(&r, "planCampaign", "campaign");
    let r = server
        .query(&bm, AIM, json!({ "k": too_big, "s": whole_branch }))
        .await;
    assert_eq!(event_types(&r, "aimCampaign"), ["CampaignAimed"]);
    let r = server.query(&bm, LAUNCH, json!({ "k": too_big })).await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    assert!(message(&r).contains("at most 1"), "{r}");

    // Responses: from a non-target refused; the target's own manager records one.
    let r = server
        .query(&hq, RESPOND, json!({ "k": campaign, "c": outsider.id }))
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    assert!(
        message(&r).contains("not on the campaign's target list"),
        "{r}"
    );
    // Only whoever serves the customer records their response: not another manager's book.
    let r = server
        .query(&other_cm, RESPOND, json!({ "k": campaign, "c": target.id }))
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let r = server
        .query(&cm, RESPOND, json!({ "k": campaign, "c": target.id }))
        .await;
    assert_eq!(
        event_types(&r, "recordCampaignResponse"),
        ["CampaignResponseRecorded"]
    );

    // Call lists: the target's manager and the branch manager have it with its response;
    // another manager of the branch and another branch's manager see nothing; a company
    // auditor reads the campaign but calls nobody.
    let head = server.store.head().0;
    let call_list = |token: String| {
        let server = &server;
        let campaign = campaign.clone();
        async move {
            server
                .query(
                    &token,
                    r#"query($k: ID!, $at: Long) { campaignCallList(campaignId: $k, atPosition: $at) { name status totalCount responded hasNextPage entries { customerId managerId response } } }"#,
                    json!({ "k": campaign, "at": head }),
                )
                .await
        }
    };
    for token in [cm.clone(), bm.clone()] {
        let r = call_list(token).await;
        let l = ok(&r, "campaignCallList");
        assert_eq!(l["status"], json!("LAUNCHED"));
        assert_eq!(l["totalCount"], json!(1), "{r}");
        assert_eq!(l["responded"], json!(1));
        assert_eq!(l["hasNextPage"], json!(false));
        assert_eq!(l["entries"][0]["customerId"], json!(target.id));
        assert_eq!(l["entries"][0]["managerId"], json!(manager));
        assert_eq!(l["entries"][0]["response"], json!("INTERESTED"));
    }
    for token in [other_cm, bm_other.clone()] {
        let r = call_list(token).await;
        assert_eq!(codes(&r), ["NOT_FOUND"], "{r}");
    }
    let r = call_list(server.auditor()).await;
    assert_eq!(ok(&r, "campaignCallList")["totalCount"], json!(0), "{r}");

    // ROI: a conversion by phone, the phone cost recorded; revenue accrues from commission
    // after the conversion (none yet), so the return is −100%; no cost, no ROI.
    let r = server
        .query(
            &hq,
            r#"mutation($k: ID!, $c: ID!) { recordCampaignResponse(campaignId: $k, customerId: $c, response: CONVERTED, channel: PHONE) { events { eventType } } }"#,
            json!({ "k": campaign, "c": target.id }),
        )
        .await;
    assert_eq!(
        event_types(&r, "recordCampaignResponse"),
        ["CampaignResponseRecordedVia"]
    );
    const COST: &str = r#"mutation($k: ID!, $x: String!) { recordCampaignCost(campaignId: $k, channel: PHONE, cost: $x) { events { eventType } } }"#;
    let r = server
        .query(&bm, COST, json!({ "k": campaign, "x": "-5" }))
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    assert!(message(&r).contains("cost"), "{r}");
    let r = server
        .query(&bm, COST, json!({ "k": campaign, "x": "1000" }))
        .await;
    assert_eq!(
        event_types(&r, "recordCampaignCost"),
        ["CampaignCostRecorded"]
    );
    let r = server
        .query(&bm, COST, json!({ "k": too_big, "x": "1000" }))
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "not launched: {r}");
    let head = server.store.head().0;
    const ROI: &str = r#"query($k: ID!, $at: Long) { campaignRoi(campaignId: $k, atPosition: $at) { status figures { targets responses conversions conversionRateBp revenue cost roiBp } byChannel { channel figures { targets conversions cost roiBp } } } }"#;
    let r = server
        .query(&bm, ROI, json!({ "k": campaign, "at": head }))
        .await;
    let roi = ok(&r, "campaignRoi");
    assert_eq!(roi["figures"]["targets"], json!(1), "{r}");
    assert_eq!(roi["figures"]["responses"], json!(1));
    assert_eq!(roi["figures"]["conversions"], json!(1));
    assert_eq!(roi["figures"]["conversionRateBp"], json!(10_000));
    assert_eq!(roi["figures"]["revenue"], json!("0.0000"));
    assert_eq!(roi["figures"]["cost"], json!("1000.0000"));
    assert_eq!(roi["figures"]["roiBp"], json!(-10_000));
    assert_eq!(
        roi["byChannel"],
        json!([{ "channel": "PHONE", "figures": { "targets": 1, "conversions": 1, "cost": "1000.0000", "roiBp": -10_000 } }]),
        "{r}"
    );
    let r = server
        .query(&bm, ROI, json!({ "k": too_big, "at": head }))
        .await;
    assert_eq!(
        ok(&r, "campaignRoi")["figures"]["roiBp"],
        json!(null),
        "{r}"
    );
    for token in [cm, bm_other.clone()] {
        let r = server
            .query(&token, ROI, json!({ "k": campaign, "at": head }))
            .await;
        assert_eq!(codes(&r), ["NOT_FOUND"], "{r}");
    }
}
