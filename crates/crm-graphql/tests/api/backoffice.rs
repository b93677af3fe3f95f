//! Mutations of the organisation, products, accounts, group customers and back-office feeds:
//! given a demo data set, when the mutation is sent, then its events are recorded, or it is
//! refused with its code.

use serde_json::{json, Value as Json};

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::BranchId;

use crate::common::{codes, Server};

fn recorded(body: &Json, mutation: &str) -> (Vec<String>, String) {
    assert!(body.get("errors").is_none(), "{body}");
    let events = body["data"][mutation]["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{mutation} recorded nothing: {body}");
    let types = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_string())
        .collect();
    let stream = events[0]["stream"].as_str().unwrap();
    let id = stream.split_once('-').map_or("", |(_, id)| id).to_string();
    (types, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_office_mutations_record_their_events_or_refuse_with_a_code() {
    let server = Server::start_demo(150, 3).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let operator = server.token(Role::Operator, Scope::Company);
    let head = server.store.head().0;
    let seed = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 2, filter: { kind: INSTITUTIONAL }, atPosition: $at) { edges { node { customerId branch { id } accounts { id } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    assert!(seed.get("errors").is_none(), "{seed}");
    // Institutions: only they form groups.
    let customers = seed["data"]["customers"]["edges"].as_array().unwrap();
    assert_eq!(customers.len(), 2, "{seed}");
    let (first, second) = (&customers[0]["node"], &customers[1]["node"]);
    let branch_of_first = first["branch"]["id"].as_str().unwrap();
    let cm = server.token(
        Role::CustomerManager,
        Scope::Book {
            branch: BranchId::from_uuid(uuid::Uuid::parse_str(branch_of_first).unwrap()),
            team: None,
        },
    );
    const EVENTS: &str = "{ events { stream eventType } }";
    let send = |token: String, mutation: &'static str, args: String| {
        let server = &server;
        async move {
            let q = format!("mutation {{ {mutation}({args}) {EVENTS} }}");
            server.query(&token, &q, json!({})).await
        }
    };

    // The organisation: a region, a branch in it, a team, service point, staff moves.
    let (types, region) = recorded(
        &send(
            hq.clone(),
            "establishRegion",
            r#"name: "西南分公司""#.into(),
        )
        .await,
        "establishRegion",
    );
    assert_eq!(types, ["RegionEstablished"]);
    let (types, branch) = recorded(
        &send(
            hq.clone(),
            "openBranch",
            format!(r#"regionId: "{region}", name: "成都天府大道营业部", kind: BROKERAGE_BRANCH"#),
        )
        .await,
        "openBranch",
    );
    assert_eq!(types, ["BranchOpened"]);
    for (mutation, args) in [
        (
            "renameBranch",
            format!(r#"branchId: "{branch}", name: "成都天府新区营业部""#),
        ),
        (
            "formTeam",
            format!(r#"branchId: "{branch}", name: "财富一组""#),
        ),
        (
            "addServicePoint",
            format!(r#"branchId: "{branch}", name: "高新区服务点""#),
        ),
    ] {
        let r = send(hq.clone(), mutation, args).await;
        assert_eq!(recorded(&r, mutation).0.len(), 1, "{r}");
    }
    let (types, staff) = recorded(
        &send(
            hq.clone(),
            "joinStaff",
            format!(r#"name: "王小明", role: CUSTOMER_MANAGER, scope: {{ book: {{ branchId: "{branch}" }} }}"#),
        )
        .await,
        "joinStaff",
    );
    assert_eq!(types, ["StaffJoined"]);
    for (mutation, args) in [
        (
            "moveStaff",
            format!(r#"staffId: "{staff}", to: {{ book: {{ branchId: "{branch_of_first}" }} }}"#),
        ),
        (
            "changeStaffRole",
            format!(
                r#"staffId: "{staff}", role: BRANCH_MANAGER, scope: {{ branchId: "{branch}" }}"#
            ),
        ),
        (
            "leaveStaff",
            format!(r#"staffId: "{staff}", reason: "个人原因""#),
        ),
    ] {
        let r = send(hq.clone(), mutation, args).await;
        assert_eq!(recorded(&r, mutation).0.len(), 1, "{r}");
    }
    // A region with an open branch cannot close; the empty branch can, then the region.
    let r = send(
        hq.clone(),
        "closeRegion",
        format!(r#"regionId: "{region}""#),
    )
    .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let r = send(
        hq.clone(),
        "closeBranch",
        format!(r#"branchId: "{branch}""#),
    )
    .await;
    assert_eq!(recorded(&r, "closeBranch").0, ["BranchClosed"]);
    let r = send(
        hq.clone(),
        "closeRegion",
        format!(r#"regionId: "{region}""#),
    )
    .await;
    assert_eq!(recorded(&r, "closeRegion").0, ["RegionClosed"]);
    // A branch with customers cannot close; a customer manager cannot touch the organisation.
    let r = send(
        hq.clone(),
        "closeBranch",
        format!(r#"branchId: "{branch_of_first}""#),
    )
    .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let r = send(cm.clone(), "establishRegion", r#"name: "x""#.into()).await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let r = send(hq.clone(), "establishRegion", r#"name: """#.into()).await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");

    // Products: launched, risk changed, withdrawn; HQ only.
    let (types, product) = recorded(
        &send(
            hq.clone(),
            "launchProduct",
            r#"name: "稳健增利1号", kind: WEALTH_MANAGEMENT, risk: R2"#.into(),
        )
        .await,
        "launchProduct",
    );
    assert_eq!(types, ["ProductLaunched"]);
    let r = send(
        hq.clone(),
        "changeProductRiskLevel",
        format!(r#"productId: "{product}", risk: R3, reason: "底层资产调整""#),
    )
    .await;
    assert_eq!(recorded(&r, "changeProductRiskLevel").0.len(), 1);
    let r = send(
        hq.clone(),
        "withdrawProduct",
        format!(r#"productId: "{product}", reason: "到期""#),
    )
    .await;
    assert_eq!(recorded(&r, "withdrawProduct").0.len(), 1);
    let r = send(
        cm.clone(),
        "launchProduct",
        r#"name: "x", kind: FUND, risk: R1"#.into(),
    )
    .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");

    // Accounts and group customers.
    let customer = first["customerId"].as_str().unwrap();
    let r = send(
        hq.clone(),
        "openAccount",
        format!(
            r#"customerId: "{customer}", kind: {{ securities: SHENZHEN }}, number: "0099887766""#
        ),
    )
    .await;
    let (types, _) = recorded(&r, "openAccount");
    assert_eq!(types, ["AccountOpened"]);
    let account = first["accounts"][0]["id"].as_str().unwrap();
    let r = send(
        hq.clone(),
        "closeAccount",
        format!(r#"customerId: "{customer}", accountId: "{account}""#),
    )
    .await;
    assert_eq!(recorded(&r, "closeAccount").0, ["AccountClosed"]);
    let member = second["customerId"].as_str().unwrap();
    let r = send(
        hq.clone(),
        "markGroupCustomer",
        format!(r#"customerId: "{customer}", isGroup: true"#),
    )
    .await;
    assert_eq!(recorded(&r, "markGroupCustomer").0.len(), 1);
    let r = send(
        hq.clone(),
        "linkGroupMember",
        format!(r#"customerId: "{customer}", member: "{member}""#),
    )
    .await;
    assert_eq!(recorded(&r, "linkGroupMember").0.len(), 1);
    let r = send(
        hq.clone(),
        "unlinkGroupMember",
        format!(r#"customerId: "{customer}", member: "{member}""#),
    )
    .await;
    assert_eq!(recorded(&r, "unlinkGroupMember").0.len(), 1);

    // Back-office feeds: operators record daily summaries and market totals; a customer
    // manager may not; a bad amount names its field.
    let second_account = second["accounts"][0]["id"].as_str().unwrap();
    let summary = |amount: &str| {
        format!(
            r#"summary: {{ accountId: "{second_account}", customerId: "{member}", tradeDate: "2030-01-07",
                turnover: [{{ market: SHANGHAI, securityType: STOCK, channel: MOBILE, amount: "{amount}" }}],
                commission: "12.5", deposits: "0", withdrawals: "0", endOfDayAssets: "100000",
                holdings: [{{ assetClass: STOCKS, marketValue: "80000" }}, {{ assetClass: CASH, marketValue: "20000" }}],
                realisedPnl: "0", unrealisedPnl: "-300" }}"#
        )
    };
    let r = send(
        operator.clone(),
        "recordDailyTradeSummary",
        summary("50000"),
    )
    .await;
    assert_eq!(
        recorded(&r, "recordDailyTradeSummary").0,
        ["DailyTradeSummaryRecorded"]
    );
    let r = send(cm.clone(), "recordDailyTradeSummary", summary("50000")).await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let r = send(operator.clone(), "recordDailyTradeSummary", summary("5万")).await;
    assert_eq!(codes(&r), ["VALIDATION"], "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("summary.turnover.amount"),
        "{r}"
    );
    let r = send(
        operator.clone(),
        "recordMarketTotals",
        r#"tradeDate: "2030-01-07", market: SHANGHAI, turnover: "512345678901.5""#.into(),
    )
    .await;
    assert_eq!(
        recorded(&r, "recordMarketTotals").0,
        ["MarketTotalsRecorded"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_manager_cannot_grant_beyond_their_own_role_and_branch() {
    let server = Server::start().await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let send = |token: &str, mutation: &str, args: String| {
        let (server, token) = (&server, token.to_string());
        let q = format!("mutation {{ {mutation}({args}) {{ events {{ stream eventType }} }} }}");
        async move { server.query(&token, &q, json!({})).await }
    };
    let (_, region) = recorded(
        &send(&hq, "establishRegion", r#"name: "西南分公司""#.into()).await,
        "establishRegion",
    );
    let (_, other_region) = recorded(
        &send(&hq, "establishRegion", r#"name: "华南分公司""#.into()).await,
        "establishRegion",
    );
    let (_, branch) = recorded(
        &send(
            &hq,
            "openBranch",
            format!(r#"regionId: "{region}", name: "成都营业部", kind: BROKERAGE_BRANCH"#),
        )
        .await,
        "openBranch",
    );
    let bm = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: BranchId::from_uuid(uuid::Uuid::parse_str(&branch).unwrap()),
        },
    );
    // Hiring a customer manager into their own branch is theirs to do.
    let (_, staff) = recorded(
        &send(
            &bm,
            "joinStaff",
            format!(r#"name: "王小明", role: CUSTOMER_MANAGER, scope: {{ book: {{ branchId: "{branch}" }} }}"#),
        )
        .await,
        "joinStaff",
    );
    // Promoting them to headquarters, or moving the branch to another region, is not.
    let promoted = send(
        &bm,
        "changeStaffRole",
        format!(r#"staffId: "{staff}", role: HEADQUARTERS, scope: {{ company: true }}"#),
    )
    .await;
    assert_eq!(codes(&promoted), ["FORBIDDEN"], "{promoted}");
    let moved = send(
        &bm,
        "moveBranchToRegion",
        format!(r#"branchId: "{branch}", regionId: "{other_region}""#),
    )
    .await;
    assert_eq!(codes(&moved), ["FORBIDDEN"], "{moved}");
}
