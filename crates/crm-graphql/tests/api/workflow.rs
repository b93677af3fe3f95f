//! Mutations of the workflows after the first step — tickets, care contacts and visits, the
//! sales pipeline, campaigns, articles, rejecting rules — given a demo data set, when the
//! mutation is sent, then its events are recorded, or it is refused with its code.

use serde_json::{json, Value as Json};
use uuid::Uuid;

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};

use crate::common::{codes, Server};

fn event_types(body: &Json, mutation: &str) -> Vec<String> {
    assert!(body.get("errors").is_none(), "{body}");
    body["data"][mutation]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_mutations_record_their_events_or_refuse_with_a_code() {
    let server = Server::start_demo(40, 5).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let seed = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 1, atPosition: $at) { edges { node { customerId manager { id } branch { id } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    let node = &seed["data"]["customers"]["edges"][0]["node"];
    let customer = node["customerId"].as_str().unwrap().to_string();
    let manager =
        StaffId::from_uuid(Uuid::parse_str(node["manager"]["id"].as_str().unwrap()).unwrap());
    let branch =
        BranchId::from_uuid(Uuid::parse_str(node["branch"]["id"].as_str().unwrap()).unwrap());
    let cm = server.token_for(
        manager,
        Role::CustomerManager,
        Scope::Book { branch, team: None },
    );
    let lists = server
        .query(&hq, "{ products { productId } }", json!({}))
        .await;
    assert!(lists.get("errors").is_none(), "{lists}");

    // Tickets: escalate an open one; a satisfaction of 9 names its field; reopening an open
    // ticket contradicts its state.
    let opened = server
        .query(
            &hq,
            r#"mutation($c: ID!) { openTicket(customerId: $c, kind: COMPLAINT, priority: HIGH, channel: PHONE, subject: "交易系统卡顿", description: "开盘时无法下单") { events { stream } } }"#,
            json!({ "c": customer }),
        )
        .await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let ticket = opened["data"]["openTicket"]["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("ticket-")
        .to_string();
    {
        let r = server
            .query(
                &hq,
                r#"mutation($t: ID!) { escalateTicket(ticketId: $t, reason: "客户再次来电") { events { eventType } } }"#,
                json!({ "t": ticket }),
            )
            .await;
        assert_eq!(event_types(&r, "escalateTicket"), ["TicketEscalated"]);
        let r = server
            .query(
                &hq,
                r#"mutation($t: ID!) { closeTicket(ticketId: $t, satisfaction: 9) { position } }"#,
                json!({ "t": ticket }),
            )
            .await;
        assert_eq!(codes(&r), ["VALIDATION"], "{r}");
        assert!(r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("satisfaction"));
        let r = server
            .query(
                &hq,
                r#"mutation($t: ID!) { reopenTicket(ticketId: $t, reason: "x") { position } }"#,
                json!({ "t": ticket }),
            )
            .await;
        assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    }

    // Care contact and a visit planned, completed, then not cancellable.
    let r = server
        .query(
            &cm,
            r#"mutation($c: ID!) { recordCareContact(customerId: $c, occasion: HOLIDAY, channel: WE_CHAT, notes: "春节问候") { events { eventType } } }"#,
            json!({ "c": customer }),
        )
        .await;
    assert_eq!(
        event_types(&r, "recordCareContact"),
        ["CareContactRecorded"]
    );
    let when = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = server
        .query(
            &cm,
            r#"mutation($c: ID!, $w: DateTime!) { planVisit(customerId: $c, plannedFor: $w, purpose: "资产配置回顾") { events { stream eventType } } }"#,
            json!({ "c": customer, "w": when }),
        )
        .await;
    assert_eq!(event_types(&r, "planVisit"), ["VisitPlanned"]);
    let visit = r["data"]["planVisit"]["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("interaction-")
        .to_string();
    let r = server
        .query(
            &cm,
            r#"mutation($v: ID!) { completeVisit(interactionId: $v, outcome: INTERESTED, notes: "有意向") { events { eventType } } }"#,
            json!({ "v": visit }),
        )
        .await;
    assert_eq!(event_types(&r, "completeVisit"), ["VisitCompleted"]);
    let r = server
        .query(
            &cm,
            r#"mutation($v: ID!) { cancelVisit(interactionId: $v, reason: "改期") { position } }"#,
            json!({ "v": visit }),
        )
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");

    // The sales pipeline: a lead of the manager's, qualified, proposed, handed over.
    let r = server
        .query(
            &cm,
            r#"mutation($c: ID!) { createLead(customerId: $c, expectedAmount: "500000", source: PHONE, title: "理财配置") { events { stream } } }"#,
            json!({ "c": customer }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let lead = r["data"]["createLead"]["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("opportunity-")
        .to_string();
    let r = server
        .query(
            &cm,
            r#"mutation($o: ID!) { qualifyOpportunity(opportunityId: $o) { events { eventType } } }"#,
            json!({ "o": lead }),
        )
        .await;
    assert_eq!(
        event_types(&r, "qualifyOpportunity"),
        ["OpportunityQualified"]
    );
    let product = lists["data"]["products"][0]["productId"]
        .as_str()
        .expect("the demo has products");
    {
        let r = server
            .query(
                &cm,
                r#"mutation($o: ID!, $p: ID!) { proposeToOpportunity(opportunityId: $o, productId: $p, expectedAmount: "300000") { events { eventType } } }"#,
                json!({ "o": lead, "p": product }),
            )
            .await;
        assert_eq!(event_types(&r, "proposeToOpportunity"), ["ProposalMade"]);
    }
    let other = server.token(Role::CustomerManager, Scope::Book { branch, team: None });
    let r = server
        .query(
            &other,
            r#"mutation($o: ID!, $s: ID!) { changeOpportunityOwner(opportunityId: $o, owner: $s) { position } }"#,
            json!({ "o": lead, "s": Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "another manager's lead: {r}");

    // A campaign: planned by HQ, launched, a response recorded, closed; cancelling a closed
    // campaign contradicts it; a customer manager may not plan one.
    let r = server
        .query(
            &hq,
            r#"mutation { planCampaign(name: "春季理财节", targetSegment: "金卡以上客户", startsOn: "2030-03-01", endsOn: "2030-03-31", budget: "200000") { events { stream eventType } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(event_types(&r, "planCampaign"), ["CampaignPlanned"]);
    let campaign = r["data"]["planCampaign"]["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("campaign-")
        .to_string();
    for (mutation, query, expected) in [
        (
            "launchCampaign",
            r#"mutation($k: ID!) { launchCampaign(campaignId: $k) { events { eventType } } }"#,
            "CampaignLaunched",
        ),
        (
            "recordCampaignResponse",
            r#"mutation($k: ID!, $c: ID!) { recordCampaignResponse(campaignId: $k, customerId: $c, response: INTERESTED) { events { eventType } } }"#,
            "CampaignResponseRecorded",
        ),
        (
            "closeCampaign",
            r#"mutation($k: ID!) { closeCampaign(campaignId: $k, summary: "完成") { events { eventType } } }"#,
            "CampaignClosed",
        ),
    ] {
        let variables = if query.contains("$c") {
            json!({ "k": campaign, "c": customer })
        } else {
            json!({ "k": campaign })
        };
        let r = server.query(&hq, query, variables).await;
        assert_eq!(event_types(&r, mutation), [expected], "{r}");
    }
    let r = server
        .query(
            &hq,
            r#"mutation($k: ID!) { cancelCampaign(campaignId: $k, reason: "x") { position } }"#,
            json!({ "k": campaign }),
        )
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let r = server
        .query(
            &cm,
            r#"mutation { planCampaign(name: "x", targetSegment: "y", startsOn: "2030-03-01", endsOn: "2030-03-31", budget: "1") { position } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");

    // Articles: published, revised, withdrawn; an empty title names its field; a customer
    // manager may not publish.
    let r = server
        .query(
            &hq,
            r#"mutation { publishArticle(kind: ANNOUNCEMENT, title: "系统升级通知", body: "周六停机维护") { events { stream eventType } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(event_types(&r, "publishArticle"), ["ArticlePublished"]);
    let article = r["data"]["publishArticle"]["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("article-")
        .to_string();
    let r = server
        .query(
            &hq,
            r#"mutation($a: ID!) { reviseArticle(articleId: $a, title: "系统升级通知（更新）", body: "改为周日") { events { eventType } } }"#,
            json!({ "a": article }),
        )
        .await;
    assert_eq!(event_types(&r, "reviseArticle"), ["ArticleRevised"]);
    let r = server
        .query(
            &hq,
            r#"mutation($a: ID!) { withdrawArticle(articleId: $a, reason: "已完成") { events { eventType } } }"#,
            json!({ "a": article }),
        )
        .await;
    assert_eq!(event_types(&r, "withdrawArticle"), ["ArticleWithdrawn"]);
    let r = server
        .query(
            &hq,
            r#"mutation { publishArticle(kind: NEWS, title: "", body: "x") { position } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    let r = server
        .query(
            &cm,
            r#"mutation { publishArticle(kind: NEWS, title: "x", body: "y") { position } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");

    // Rules: a second operator rejects a proposal.
    let (first_op, second_op) = (server.operator().await, server.operator().await);
    let rule_set = Uuid::now_v7().to_string();
    let content = include_str!("../../../../schema/rules.default.toml").replacen(
        "version = 1",
        "version = 2",
        1,
    );
    let r = server
        .query(
            &first_op,
            r#"mutation($r: ID!, $c: String!) { proposeRules(ruleSetId: $r, version: 2, content: $c) { position } }"#,
            json!({ "r": rule_set, "c": content }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = server
        .query(
            &second_op,
            r#"mutation($r: ID!) { rejectRules(ruleSetId: $r, version: 2, reason: "门槛过低") { events { eventType } } }"#,
            json!({ "r": rule_set }),
        )
        .await;
    assert_eq!(event_types(&r, "rejectRules"), ["RuleSetRejected"]);
}
