//! Bank dashboards and the outlet ranking through the real server (issue 17 item 5):
//! `bankDashboard` for an outlet, a region (county) and the company, `outletRanking` with rank
//! change, and their scoping (an outlet manager sees their outlet, a region manager their
//! region, headquarters everything; out of scope is `FORBIDDEN` as for `branchDashboard`).
//!
//! Given region 1 (outlets 1 and 2) and region 2 (outlet 3), one customer with a demand deposit
//! at each outlet, opened 1 February 2024:
//!
//! | outlet | 29 February | 1 March |
//! |---|---|---|
//! | 1 | 1,000 | 4,000 |
//! | 2 | 2,000 | 3,000 |
//! | 3 | — | 500 |

use crm_app::{App, AppCommand};
use crm_domain::auth::Actor;
use crm_domain::customer::{self, Assignment, CustomerKind, Profile};
use crm_domain::deposit::{self, Currency, DepositDay, DepositKind};
use crm_domain::ids::{CustomerId, DepositAccountId};
use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber, ShortText};
use crm_domain::{Money, Rate};
use serde_json::json;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use crate::bank_org::*;
use crate::common::*;

const NOW: OffsetDateTime = datetime!(2024-03-01 20:00 +8);

fn customer_id() -> CustomerId {
    CustomerId::from(id(0xC_0001))
}
fn account(n: u128) -> DepositAccountId {
    DepositAccountId::from(id(0xD_0000 + n))
}

async fn organisation(app: &App) {
    open_outlets(app, NOW).await;
    let customer = customer_id();
    let command = customer::Command::Register {
        customer_id: customer,
        kind: CustomerKind::Individual,
        profile: Profile {
            name: OrgName::parse("王五").unwrap(),
            document: IdDocument::ResidentId {
                number: ResidentIdNumber::with_check_character("36112719700101002").unwrap(),
            },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::Counter,
        },
        as_prospect: false,
        existing_customer_with_same_document: None,
        now: NOW,
    };
    run(app, NOW, AppCommand::Customer { customer, command }).await;
    let command = customer::Command::Assign {
        to: Assignment {
            branch: outlet(1),
            manager: None,
            team: None,
        },
        by: staff(1),
        now: NOW,
    };
    run(app, NOW, AppCommand::Customer { customer, command }).await;
}

async fn deposits(app: &App) -> u64 {
    let mut at = 0;
    let balances: [(u128, &[(Date, i64)]); 3] = [
        (
            1,
            &[
                (date!(2024 - 02 - 29), 1_000),
                (date!(2024 - 03 - 01), 4_000),
            ],
        ),
        (
            2,
            &[
                (date!(2024 - 02 - 29), 2_000),
                (date!(2024 - 03 - 01), 3_000),
            ],
        ),
        (3, &[(date!(2024 - 03 - 01), 500)]),
    ];
    for (b, days) in balances {
        let open = deposit::Command::Open {
            account_id: account(b),
            customer_id: customer_id(),
            branch: outlet(b),
            product: ShortText::parse("活期储蓄").unwrap(),
            kind: DepositKind::Demand,
            currency: Currency::Cny,
            term_months: None,
            maturity: None,
            rate: Rate::from_units(1_500_000),
            opened_on: date!(2024 - 02 - 01),
            now: NOW,
        };
        let mut commands = vec![open];
        for (d, y) in days {
            commands.push(deposit::Command::RecordDailyBalance {
                account_id: account(b),
                day: DepositDay {
                    date: *d,
                    balance: Money::from_yuan(*y).unwrap(),
                },
                correction: false,
                now: NOW,
            });
        }
        for command in commands {
            let account = account(b);
            at = run(app, NOW, AppCommand::Deposit { account, command }).await;
        }
    }
    at
}

const DASHBOARD: &str = r#"query($scope: BankScopeInput!, $p: Long) {
  bankDashboard(scope: $scope, period: { month: "2024-03" }, atPosition: $p) {
    scope name period regionId outletId
    figures { depositsOn demandDeposits deposits depositsAtStart depositGrowth loanBalance
      nplRatioPercent feeIncome bankCustomers newBankCustomers lostBankCustomers newDepositAccounts }
    outlets { outletId name figures { deposits } } } }"#;

const RANKING: &str = r#"query($scope: OutletRankingScopeInput, $by: OutletMeasure!, $p: Long) {
  outletRanking(by: $by, scope: $scope, period: { month: "2024-03" }, atPosition: $p) {
    outletId name rank previousRank rankChange value figures { deposits } } }"#;

fn token(server: &Server, a: Actor) -> String {
    server.token_for(a.staff_id, a.role, a.scope)
}

async fn setup() -> (Server, u64) {
    let server = Server::start().await;
    let app = App::new(server.store.clone()).unwrap();
    organisation(&app).await;
    let at = deposits(&app).await;
    (server, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_dashboards_roll_outlets_up_to_regions_and_the_company() {
    let (server, at) = setup().await;
    let hq = token(&server, hq());
    let ask = |scope: serde_json::Value| {
        let (server, hq) = (&server, &hq);
        async move {
            let vars = json!({ "scope": scope, "p": at });
            server.query(hq, DASHBOARD, vars).await
        }
    };
    let company = ask(json!({ "company": true })).await;
    let d = &company["data"]["bankDashboard"];
    assert_eq!(d["scope"], "COMPANY", "{company}");
    assert_eq!(d["period"], "2024-03");
    let f = &d["figures"];
    assert_eq!(f["deposits"], "7500.0000", "{company}");
    assert_eq!(f["depositsAtStart"], "3000.0000");
    assert_eq!(f["depositGrowth"], "4500.0000");
    assert_eq!(f["depositsOn"], "2024-03-01");
    // No loans: the NPL ratio is 0, not NaN.
    assert_eq!(
        (&f["loanBalance"], &f["nplRatioPercent"]),
        (&json!("0.0000"), &json!(0.0))
    );
    // One customer at three outlets: three customer–outlet relationships, none new in March.
    assert_eq!(
        (&f["bankCustomers"], &f["newBankCustomers"]),
        (&json!(3), &json!(0))
    );
    let outlets = d["outlets"].as_array().unwrap();
    assert_eq!(outlets.len(), 3);
    assert_eq!(outlets[0]["name"], "信用社1");
    assert_eq!(outlets[0]["figures"]["deposits"], "4000.0000");

    let region = ask(json!({ "regionId": region_of(1).to_string() })).await;
    let d = &region["data"]["bankDashboard"];
    assert_eq!(
        (&d["scope"], &d["name"]),
        (&json!("REGION"), &json!("余干县联社")),
        "{region}"
    );
    assert_eq!(d["figures"]["deposits"], "7000.0000");
    assert_eq!(d["outlets"].as_array().unwrap().len(), 2);

    let one = ask(json!({ "outletId": outlet(3).to_string() })).await;
    let d = &one["data"]["bankDashboard"];
    assert_eq!(
        (&d["scope"], &d["name"]),
        (&json!("OUTLET"), &json!("信用社3")),
        "{one}"
    );
    assert_eq!(d["figures"]["deposits"], "500.0000");
    assert_eq!(d["figures"]["depositGrowth"], "500.0000");
    assert_eq!(d["figures"]["bankCustomers"], 1);

    // An unknown region is null; a malformed id names the argument.
    let unknown = ask(json!({ "regionId": region_of(9).to_string() })).await;
    assert!(unknown["data"]["bankDashboard"].is_null(), "{unknown}");
    assert!(unknown.get("errors").is_none(), "{unknown}");
    let bad = ask(json!({ "outletId": "no-such-id" })).await;
    assert_eq!(codes(&bad), vec!["VALIDATION".to_string()], "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outlets_are_ranked_with_their_rank_change_in_the_caller_s_scope() {
    let (server, at) = setup().await;
    let ranking = |a: Actor, scope: serde_json::Value, by: &str| {
        let server = &server;
        let token = token(server, a);
        let vars = json!({ "scope": scope, "by": by, "p": at });
        async move { server.query(&token, RANKING, vars).await }
    };
    // March 4,000 / 3,000 / 500; February 1,000 / 2,000 / 0 (outlet 3 opened its account).
    let body = ranking(hq(), json!({ "company": true }), "DEPOSITS").await;
    let rows = body["data"]["outletRanking"].as_array().unwrap().clone();
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["name"].clone(),
                r["rank"].clone(),
                r["previousRank"].clone(),
                r["rankChange"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("信用社1"), json!(1), json!(2), json!(1)),
            (json!("信用社2"), json!(2), json!(1), json!(-1)),
            (json!("信用社3"), json!(3), json!(3), json!(0)),
        ],
        "{body}"
    );
    assert_eq!(rows[0]["value"], "4000.0000");
    // Growth: 3,000 (outlet 1), 1,000 (outlet 2), 500 (outlet 3).
    let body = ranking(hq(), json!({ "company": true }), "DEPOSIT_GROWTH").await;
    assert_eq!(
        body["data"]["outletRanking"][1]["value"], "1000.0000",
        "{body}"
    );
    // No loans anywhere: every outlet ties on the NPL ratio, each with a defined 0.
    let body = ranking(hq(), json!({ "company": true }), "NPL_RATIO").await;
    let rows = body["data"]["outletRanking"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| r["rank"] == 1 && r["value"] == "0.00"),
        "{body}"
    );

    // A region manager's default scope is their region.
    let body = ranking(region_manager(1), json!(null), "DEPOSITS").await;
    let names: Vec<_> = body["data"]["outletRanking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("信用社1"), json!("信用社2")], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_out_of_scope_is_refused_as_for_branch_dashboards() {
    let (server, at) = setup().await;
    let dashboard = |a: Actor, scope: serde_json::Value| {
        let server = &server;
        let token = token(server, a);
        let vars = json!({ "scope": scope, "p": at });
        async move { server.query(&token, DASHBOARD, vars).await }
    };
    let company = || json!({ "company": true });
    let region = |r| json!({ "regionId": region_of(r).to_string() });
    let one = |b| json!({ "outletId": outlet(b).to_string() });
    let allowed = [
        (outlet_manager(1), one(1)),
        (region_manager(1), region(1)),
        (region_manager(1), one(2)),
        (hq(), region(2)),
    ];
    for (a, scope) in allowed {
        let body = dashboard(a, scope.clone()).await;
        assert!(
            body["data"]["bankDashboard"].is_object(),
            "{a:?} {scope}: {body}"
        );
    }
    let refused = [
        (outlet_manager(1), one(2)),
        (outlet_manager(1), region(1)),
        (outlet_manager(1), company()),
        (region_manager(1), region(2)),
        (region_manager(1), one(3)),
        (region_manager(1), company()),
        (customer_manager(1), one(1)),
    ];
    for (a, scope) in refused {
        let body = dashboard(a, scope.clone()).await;
        assert!(
            body["data"]["bankDashboard"].is_null(),
            "{a:?} {scope}: {body}"
        );
        assert_eq!(
            codes(&body),
            vec!["FORBIDDEN".to_string()],
            "{a:?} {scope}: {body}"
        );
        assert!(!body.to_string().contains("4000.0000"), "{body}");
    }
    // The same answer as the branch dashboard gives another outlet's manager.
    let branch = server
        .query(
            &token(&server, outlet_manager(1)),
            r#"query($b: ID!) { branchDashboard(branchId: $b) { name } }"#,
            json!({ "b": outlet(2).to_string() }),
        )
        .await;
    assert_eq!(codes(&branch), vec!["FORBIDDEN".to_string()], "{branch}");

    // Rankings: an outlet manager has none (their default scope is the company's); a region
    // manager not another region's.
    for (a, scope) in [
        (outlet_manager(1), json!(null)),
        (outlet_manager(1), region(1)),
        (region_manager(1), region(2)),
        (region_manager(2), company()),
    ] {
        let vars = json!({ "scope": scope, "by": "DEPOSITS", "p": at });
        let body = server.query(&token(&server, a), RANKING, vars).await;
        assert_eq!(codes(&body), vec!["FORBIDDEN".to_string()], "{a:?}: {body}");
        assert!(!body.to_string().contains("信用社"), "{body}");
    }
}
