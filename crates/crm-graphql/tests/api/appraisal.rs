//! Sealing an appraisal period (#15 item 2) through the real server: proposed by one
//! headquarters staff member the directory knows, sealed by another naming the results' hash;
//! the proposer cannot seal, a wrong hash is a conflict, a sealed period never changes, an open
//! period cannot be proposed, and only headquarters (and company auditors, to read) take part.

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
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
    results { staffId newCustomers churned upgraded composite rankInCompany } } }"#;

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
    let r = server
        .query(&approver, APPROVE, json!({ "p": p, "h": hash }))
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let shown = period(&server, &proposer, p).await;
    let v = &shown["data"]["appraisalPeriod"];
    assert_eq!(v["status"], "SEALED", "{shown}");
    assert_eq!(v["approvedBy"], second.to_string().replace('-', ""));
    assert_eq!(v["resultsHash"], hash.as_str());

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
