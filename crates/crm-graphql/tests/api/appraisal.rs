//! Sealing an appraisal period (#15 item 2) through the real server: proposed by one
//! headquarters staff member the directory knows, sealed by another naming the results' hash
//! and the team figures' (a team lead's pay follows their team's figure);
//! the proposer cannot seal, a wrong hash is a conflict, a sealed period never changes, an open
//! period cannot be proposed, and only headquarters (and company auditors, to read) take part.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId, TeamId};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, Server};

/// A headquarters staff member the directory knows.
async fn headquarters(server: &Server, name: &str) -> (StaffId, String) {
    let staff = StaffId::from_uuid(Uuid::now_v7());
    let hired = server
        .query(
            &server.token(Role::Headquarters, Scope::Company),
            r#"mutation($s: ID!, $n: String!) { joinStaff(staffId: $s, name: $n, role: HEADQUARTERS, scope: { company: true }) { position } }"#,
            json!({ "s": staff.to_string(), "n": name }),
        )
        .await;
    assert!(hired.get("errors").is_none(), "{hired}");
    (
        staff,
        server.token_for(staff, Role::Headquarters, Scope::Company),
    )
}

const PROPOSE: &str = r#"mutation($p: String!) { proposeAppraisalSeal(period: $p) { position events { eventType } } }"#;
const APPROVE: &str = r#"mutation($p: String!, $h: String!) { approveAppraisalSeal(period: $p, resultsHash: $h) { position } }"#;
const PERIOD: &str = r#"query($p: String!) { appraisalPeriod(period: $p) {
    period status position rulesVersion resultsHash proposedBy approvedBy
    results { staffId newCustomers churned upgraded composite rankInCompany }
    adjustments { period staffId churned composite } adjustmentsHash
    teams { teamId name leadId memberIds customersAtStart composite rank } teamsHash } }"#;
const APPROVE_WITH: &str = r#"mutation($p: String!, $h: String!, $a: String) { approveAppraisalSeal(period: $p, resultsHash: $h, adjustmentsHash: $a) { position } }"#;
const APPROVE_TEAMS: &str = r#"mutation($p: String!, $h: String!, $t: String) { approveAppraisalSeal(period: $p, resultsHash: $h, teamsHash: $t) { position } }"#;

async fn period(server: &Server, token: &str, p: &str) -> Json {
    server.query(token, PERIOD, json!({ "p": p })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_is_sealed_by_two_headquarters_people_and_never_changes() {
    let server = Server::start().await;
    let (first, proposer) = headquarters(&server, "总部甲").await;
    let (second, approver) = headquarters(&server, "总部乙").await;
    // Someone to appraise: a customer manager in a branch.
    let branch = BranchId::from_uuid(Uuid::from_u128(0xA7));
    let cm = StaffId::from_uuid(Uuid::now_v7());
    let hired = server
        .query(
            &proposer,
            r#"mutation($s: ID!, $b: ID!) { joinStaff(staffId: $s, name: "客户经理", role: CUSTOMER_MANAGER, scope: { book: { branchId: $b } }) { position } }"#,
            json!({ "s": cm.to_string(), "b": branch.to_string() }),
        )
        .await;
    assert!(hired.get("errors").is_none(), "{hired}");
    // The customer manager leads a team: its figure is sealed with the results.
    let region = Uuid::from_u128(0xA6);
    let team = TeamId::from_uuid(Uuid::from_u128(0x7EA));
    for (q, vars) in [
        (
            r#"mutation($r: ID!) { establishRegion(regionId: $r, name: "华东") { position } }"#,
            json!({ "r": region.to_string() }),
        ),
        (
            r#"mutation($b: ID!, $r: ID!) { openBranch(branchId: $b, regionId: $r, name: "上海营业部", kind: BROKERAGE_BRANCH) { position } }"#,
            json!({ "b": branch.to_string(), "r": region.to_string() }),
        ),
        (
            r#"mutation($b: ID!, $t: ID!, $l: ID!) { formTeam(branchId: $b, teamId: $t, name: "财富一组", lead: $l) { position } }"#,
            json!({ "b": branch.to_string(), "t": team.to_string(), "l": cm.to_string() }),
        ),
    ] {
        let done = server.query(&proposer, q, vars).await;
        assert!(done.get("errors").is_none(), "{done}");
    }

    let p = "2024-02";
    let proposed = server.query(&proposer, PROPOSE, json!({ "p": p })).await;
    assert_eq!(
        proposed["data"]["proposeAppraisalSeal"]["events"][0]["eventType"], "AppraisalSealProposed",
        "{proposed}"
    );
    let shown = period(&server, &approver, p).await;
    let v = &shown["data"]["appraisalPeriod"];
    assert_eq!(v["status"], "PROPOSED", "{shown}");
    assert_eq!(v["proposedBy"], first.to_string().replace('-', ""));
    assert!(v["approvedBy"].is_null());
    let hash = v["resultsHash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    // Nothing sealed before: nothing to adjust.
    assert_eq!(v["adjustments"], json!([]), "{shown}");
    assert!(v["adjustmentsHash"].is_null(), "{shown}");
    // The team's figure, led by the customer manager, with its own hash.
    let teams_hash = v["teamsHash"].as_str().unwrap().to_string();
    assert_eq!(teams_hash.len(), 64);
    let id = |x: String| x.replace('-', "");
    assert_eq!(
        (
            &v["teams"][0]["teamId"],
            &v["teams"][0]["leadId"],
            &v["teams"][0]["memberIds"],
            &v["teams"][0]["rank"]
        ),
        (
            &json!(id(team.to_string())),
            &json!(id(cm.to_string())),
            &json!([id(cm.to_string())]),
            &json!(1)
        ),
        "{shown}"
    );
    // The customer manager is appraised (nothing happened in February 2024).
    let results = v["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["staffId"] == cm.to_string().replace('-', "")),
        "{shown}"
    );

    // Four eyes: the proposer does not seal.
    let r = server
        .query(&proposer, APPROVE, json!({ "p": p, "h": hash }))
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    // The approver approves what they saw: another hash is a conflict.
    let r = server
        .query(&approver, APPROVE, json!({ "p": p, "h": "0".repeat(64) }))
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    // Naming adjustments the proposal does not have is a conflict too.
    let r = server
        .query(
            &approver,
            APPROVE_WITH,
            json!({ "p": p, "h": hash, "a": "1".repeat(64) }),
        )
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    // So is not naming the team figures, or naming others.
    let r = server
        .query(&approver, APPROVE, json!({ "p": p, "h": hash }))
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let r = server
        .query(
            &approver,
            APPROVE_TEAMS,
            json!({ "p": p, "h": hash, "t": "2".repeat(64) }),
        )
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let r = server
        .query(
            &approver,
            APPROVE_TEAMS,
            json!({ "p": p, "h": hash, "t": teams_hash }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let shown = period(&server, &proposer, p).await;
    let v = &shown["data"]["appraisalPeriod"];
    assert_eq!(v["status"], "SEALED", "{shown}");
    assert_eq!(v["approvedBy"], second.to_string().replace('-', ""));
    assert_eq!(v["resultsHash"], hash.as_str());
    assert_eq!(v["teamsHash"], teams_hash.as_str(), "{shown}");

    // Sealed: never proposed again.
    let r = server.query(&proposer, PROPOSE, json!({ "p": p })).await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    // A period that has not ended, a malformed one.
    let r = server
        .query(&proposer, PROPOSE, json!({ "p": "2999-12" }))
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    let r = server
        .query(&proposer, PROPOSE, json!({ "p": "2024-13" }))
        .await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    // Only headquarters seals, and only staff the directory knows.
    let bm = server.token(Role::BranchManager, Scope::Branch { branch });
    let r = server.query(&bm, PROPOSE, json!({ "p": "2024-03" })).await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let stranger = server.token(Role::Headquarters, Scope::Company);
    let r = server
        .query(&stranger, PROPOSE, json!({ "p": "2024-03" }))
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    // Results name everyone's pay: headquarters and company auditors read them.
    let r = period(&server, &bm, p).await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let listed = server
        .query(
            &server.auditor(),
            "{ appraisalPeriods { period status } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["appraisalPeriods"],
        json!([{ "period": "2024-02", "status": "SEALED" }]),
        "{listed}"
    );
}

const WEIGHTS: &str =
    "weights { role table newCustomers churn upgrades profitability countSharePercent }";

/// Weights per post and the team figure (#15 item 1) through the real server, over the demo
/// (teams led by one of their customer managers) with `[kpi.broker]` and `[kpi.team_lead]`
/// sets: every appraisal names the weights it was scored with; a team lead's carries the
/// figure of the team they lead, over the members' books, beside their own; and who may read
/// it is who may read the lead's performance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_post_is_scored_with_its_weights_and_a_team_lead_sees_the_team_figure() {
    let file = crm_projections::rules::DEFAULT_RULES.replace(
        "[risk_preference]",
        "[kpi.broker]\nnew_customer_rate = 40\nchurn_rate = 20\n\n\
         [kpi.team_lead]\nnew_customer_rate = 10\nchurn_rate = 50\nupgrade_rate = 30\n\
         average_profitability = 10\ncount_share_pct = 70\n\n[risk_preference]",
    );
    let rules = crm_projections::RuleBook::parse(&file).unwrap();
    // The whole company's board with every team's figure in one request weighs more than the
    // default selection cost allows; this test is about the weights, not that limit.
    let server = Server::start_demo_rules(
        120,
        20,
        |c| c.limits.selection_cost_max = 200_000,
        Some(rules),
    )
    .await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let board = server
        .query(
            &hq,
            &format!(
                r#"query($at: Long) {{ leaderboard(scope: {{ company: true }}, first: 300, atPosition: $at) {{
                    staffId role branchId teamId customersAtStart newCustomers churned upgraded
                    customersServed kpi {{ {WEIGHTS} terms {{ weight }} }}
                    teams {{ teamId leadId memberIds customersAtStart newCustomers churned
                      customersServed rank kpiComposite kpi {{ {WEIGHTS} terms {{ weight }} composite }} }} }} }}"#
            ),
            json!({ "at": server.store.head().0 }),
        )
        .await;
    assert!(board.get("errors").is_none(), "{board}");
    let people = board["data"]["leaderboard"].as_array().unwrap().clone();
    // Everyone appraised is on the page (the team sums below need every member).
    assert!(people.len() < 300, "{}", people.len());
    let weights = |p: &Json| -> Vec<i64> {
        p["kpi"]["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["weight"].as_i64().unwrap())
            .collect()
    };
    let (mut leads, mut brokers, mut managers) = (Vec::new(), 0, 0);
    for p in &people {
        let w = &p["kpi"]["weights"];
        if !p["teams"].as_array().unwrap().is_empty() {
            // Whoever leads a team is appraised as a team lead, whatever their role.
            assert_eq!(
                (w["role"].as_str(), w["table"].as_str()),
                (Some("TEAM_LEAD"), Some("kpi.team_lead")),
                "{p}"
            );
            assert_eq!(weights(p), [10, 50, 30, 10], "{p}");
            assert_eq!(w["countSharePercent"], 70, "{p}");
            leads.push(p.clone());
        } else if p["role"] == "BROKER" {
            // The broker's set overrides two weights; the others are the company's.
            assert_eq!(w["table"], "kpi.broker", "{p}");
            assert_eq!(
                [
                    &w["newCustomers"],
                    &w["churn"],
                    &w["upgrades"],
                    &w["profitability"],
                    &w["countSharePercent"]
                ],
                [40, 20, 30, 20, 50],
                "{p}"
            );
            assert_eq!(weights(p), [40, 20, 30, 20], "{p}");
            brokers += 1;
        } else if p["role"] == "CUSTOMER_MANAGER" {
            // No table of their own: the company's weights.
            assert_eq!(
                (w["role"].as_str(), w["table"].as_str()),
                (Some("CUSTOMER_MANAGER"), Some("kpi")),
                "{p}"
            );
            assert_eq!(weights(p), [20, 30, 30, 20], "{p}");
            managers += 1;
        }
    }
    assert!(!leads.is_empty() && brokers > 0 && managers > 0, "{board}");

    // The team figure is the union of its members' books: their counts add up.
    let by_id = |id: &Json| people.iter().find(|p| p["staffId"] == *id).unwrap();
    let (mut ranks, mut served) = (Vec::new(), 0);
    for lead in &leads {
        for team in lead["teams"].as_array().unwrap() {
            assert_eq!(team["leadId"], lead["staffId"], "{team}");
            assert_eq!(team["kpi"]["weights"]["table"], "kpi.team_lead", "{team}");
            let members = team["memberIds"].as_array().unwrap();
            assert!(members.contains(&lead["staffId"]), "{team}");
            for key in [
                "customersAtStart",
                "newCustomers",
                "churned",
                "customersServed",
            ] {
                let sum: i64 = members
                    .iter()
                    .map(|m| by_id(m)[key].as_i64().unwrap())
                    .sum();
                assert_eq!(team[key].as_i64().unwrap(), sum, "{key}: {team}");
            }
            served += team["customersServed"].as_i64().unwrap();
            assert_eq!(team["kpiComposite"], team["kpi"]["composite"]);
            ranks.push(team["rank"].as_i64().unwrap());
        }
    }
    assert!(served > 0, "some team serves customers: {board}");
    ranks.sort_unstable();
    assert_eq!(
        ranks,
        (1..=ranks.len() as i64).collect::<Vec<_>>(),
        "teams are ranked"
    );

    // The lead reads their own appraisal with the team figure; a customer manager of another
    // branch may read neither.
    let lead = &leads[0];
    let lead_id = StaffId::parse(lead["staffId"].as_str().unwrap()).unwrap();
    let branch = BranchId::parse(lead["branchId"].as_str().unwrap()).unwrap();
    let team = lead["teamId"].as_str().map(|t| TeamId::parse(t).unwrap());
    let own = server
        .query(
            &server.token_for(lead_id, Role::CustomerManager, Scope::Book { branch, team }),
            &format!(
                r#"query($s: ID!) {{ staffPerformance(staffId: $s) {{ kpi {{ {WEIGHTS} }} teams {{ teamId kpi {{ composite }} }} }} }}"#
            ),
            json!({ "s": lead_id.to_string() }),
        )
        .await;
    assert!(own.get("errors").is_none(), "{own}");
    let seen = &own["data"]["staffPerformance"];
    assert_eq!(seen["kpi"]["weights"]["table"], "kpi.team_lead", "{own}");
    assert_eq!(
        seen["teams"][0]["teamId"], lead["teams"][0]["teamId"],
        "{own}"
    );
    let elsewhere = people
        .iter()
        .find(|p| p["branchId"] != lead["branchId"] && p["role"] == "CUSTOMER_MANAGER")
        .unwrap();
    let other = StaffId::parse(elsewhere["staffId"].as_str().unwrap()).unwrap();
    let other_branch = BranchId::parse(elsewhere["branchId"].as_str().unwrap()).unwrap();
    let refused = server
        .query(
            &server.token_for(
                other,
                Role::CustomerManager,
                Scope::Book {
                    branch: other_branch,
                    team: None,
                },
            ),
            r#"query($s: ID!) { staffPerformance(staffId: $s) { teams { teamId } } }"#,
            json!({ "s": lead_id.to_string() }),
        )
        .await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
}

/// `appraisalPeriods` lists the newest periods however long the log's appraisal history is:
/// it used to read the oldest 1,200 appraisal events and keep the newest 200 periods of those,
/// so past that the latest seals were missing from the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_periods_are_listed_however_many_the_log_holds() {
    use crm_domain::appraisal::{AppraisalPeriod, Derivation, Event as E};
    use crm_eventstore::{EventMetadata, ExpectedRevision};
    let server = Server::start().await;
    let now = time::OffsetDateTime::now_utc();
    let by = StaffId::from_uuid(Uuid::now_v7());
    // 1,300 months sealed, January 1900 onwards, one event each (more than the list reads).
    let months = 1_300u32;
    let month = |i: u32| AppraisalPeriod::Month {
        year: 1900 + i32::try_from(i / 12).unwrap(),
        month: u8::try_from(i % 12 + 1).unwrap(),
    };
    for i in 0..months {
        // Each sealed a second after the one before (the list is newest seal first).
        let at = now + time::Duration::seconds(i64::from(i));
        let e = E::AppraisalPeriodSealed {
            period: month(i),
            derivation: Derivation {
                position: 1,
                rules_version: 1,
                rules_hash: "0".repeat(64),
                results: Vec::new(),
                results_hash: "0".repeat(64),
            },
            proposed_by: by,
            approved_by: StaffId::from_uuid(Uuid::now_v7()),
            at,
        };
        let metadata = EventMetadata {
            actor: format!("staff-{by}"),
            occurred_at: at,
            correlation_id: None,
            causation_id: None,
            command_id: None,
        };
        let new = crm_codec::encode(&e, Uuid::now_v7(), metadata).unwrap();
        let stream = crm_codec::stream_of(&e).unwrap();
        server
            .store
            .append(&stream, ExpectedRevision::Any, vec![new])
            .await
            .unwrap();
    }
    let listed = server
        .query(
            &server.auditor(),
            "{ appraisalPeriods { period status } }",
            json!({}),
        )
        .await;
    let list = listed["data"]["appraisalPeriods"].as_array().unwrap();
    assert_eq!(list.len(), 200, "{listed}");
    // The newest first: April 2008 (the 1,300th month), then back 200 months.
    assert_eq!(list[0]["period"], "2008-04", "the newest listed");
    assert_eq!(list[199]["period"], "1991-09", "the oldest listed");
    assert!(list.iter().all(|p| p["status"] == "SEALED"), "{listed}");
}
