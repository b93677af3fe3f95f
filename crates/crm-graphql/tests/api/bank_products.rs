//! Bank figures by product and contribution per outlet through the real server (issue 17
//! items 3 and 5): `BankFiguresView.depositsByProduct`, `loansByProduct` and `contribution`,
//! `outletRanking(by: CONTRIBUTION)`, a product's own FTP named in `Customer.bankContribution`
//! (`ftpRule`), and their scoping (as for the rest of the bank dashboard).
//!
//! Given the default rules plus `ftp_loan_product_bp = { "农户小额信用贷款" = 250 }`, region 1
//! (outlets 1 and 2) and region 2 (outlet 3, no business), c1 served at outlet 1 and c2 at
//! outlet 2, everything opened 1 February 2024, balances recorded on 1 March only and March
//! over (the log's business date is 1 April):
//!
//! | account | outlet | product | rate | balance | FTP | March: × 31 / 365 |
//! |---|---|---|---|---|---|---|
//! | c1 demand | 1 | 活期储蓄 | 0.50% | 365,000 | 1.50% `ftp_demand_bp` | 310 |
//! | c1 time | 1 | 整存整取一年 | 1.60% | 36,500 | 2.60% `ftp_time_bp` | 31 |
//! | c1 loan, 12 months | 1 | 农户小额信用贷款 | 4.00% | 365,000 | 2.50% its own | 465, ECL 0.50% 155 |
//! | c2 time | 2 | 整存整取一年 | 1.60% | 730,000 | 2.60% | 620 |
//! | c2 loan, 12 months | 2 | 个体经营贷款 | 5.00% | 365,000 | 3.00% `ftp_loan_short_bp` | 620, ECL 155 |
//!
//! Cost to serve 120 × 31 / 365 = 10.1918 each. Outlet 1 (c1): 310 + 31 + 465 − 155 − 10.1918
//! = **640.8082**; outlet 2 (c2): 620 + 620 − 155 − 10.1918 = **1,074.8082**; region 1 and the
//! company **1,715.6164**.

use crm_app::{App, AppCommand};
use crm_domain::auth::Actor;
use crm_domain::customer::{self, Assignment, CustomerKind, Profile};
use crm_domain::deposit::{self, Currency, DepositDay, DepositKind};
use crm_domain::ids::{CustomerId, DepositAccountId, LoanId};
use crm_domain::loan::{self, GuaranteeType, LoanContract, LoanDay};
use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber, ShortText};
use crm_domain::{Money, Rate};
use crm_projections::rules::DEFAULT_RULES;
use crm_projections::RuleBook;
use serde_json::json;
use time::macros::{date, datetime};
use time::OffsetDateTime;

use crate::bank_org::*;
use crate::common::*;

const NOW: OffsetDateTime = datetime!(2024-04-01 10:00 +8);
const FARM_LOAN: &str = "农户小额信用贷款";

fn customer(n: u128) -> CustomerId {
    CustomerId::from(id(0xC_0000 + n))
}
fn account(n: u128) -> DepositAccountId {
    DepositAccountId::from(id(0xD_0000 + n))
}
fn loan_of(n: u128) -> LoanId {
    LoanId::from(id(0x1_0000 + n))
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn yuan(n: i64) -> Money {
    Money::from_yuan(n).unwrap()
}
/// A rate in hundredths of a percent (50 = 0.50%).
fn pct(hundredths: i64) -> Rate {
    Rate::from_units(hundredths * 10_000)
}

fn rules() -> RuleBook {
    let from = "ftp_loan_long_bp = 350\n";
    assert!(DEFAULT_RULES.contains(from));
    let to = format!("{from}ftp_loan_product_bp = {{ \"{FARM_LOAN}\" = 250 }}\n");
    RuleBook::parse(&DEFAULT_RULES.replace(from, &to)).unwrap()
}

async fn organisation(app: &App) {
    open_outlets(app, NOW).await;
    for (c, document) in [(1, "36112719700101002"), (2, "36112719700101010")] {
        let customer = customer(c);
        let command = customer::Command::Register {
            customer_id: customer,
            kind: CustomerKind::Individual,
            profile: Profile {
                name: OrgName::parse(&format!("客户{c}")).unwrap(),
                document: IdDocument::ResidentId {
                    number: ResidentIdNumber::with_check_character(document).unwrap(),
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
                branch: outlet(c),
                manager: None,
                team: None,
            },
            by: staff(1),
            now: NOW,
        };
        run(app, NOW, AppCommand::Customer { customer, command }).await;
    }
}

/// Opens deposit account `n` and records its balance of 1 March.
async fn deposit(app: &App, n: u128, holder: u128, at: u128, product: &str, time: bool) {
    let (kind, rate, term_months, maturity) = if time {
        (
            DepositKind::Time,
            pct(160),
            Some(12),
            Some(date!(2025 - 02 - 01)),
        )
    } else {
        (DepositKind::Demand, pct(50), None, None)
    };
    let balance = match n {
        1 => 365_000,
        2 => 36_500,
        _ => 730_000,
    };
    let commands = [
        deposit::Command::Open {
            account_id: account(n),
            customer_id: customer(holder),
            branch: outlet(at),
            product: text(product),
            kind,
            currency: Currency::Cny,
            term_months,
            maturity,
            rate,
            opened_on: date!(2024 - 02 - 01),
            now: NOW,
        },
        deposit::Command::RecordDailyBalance {
            account_id: account(n),
            day: DepositDay {
                date: date!(2024 - 03 - 01),
                balance: yuan(balance),
            },
            correction: false,
            now: NOW,
        },
    ];
    for command in commands {
        let account = account(n);
        run(app, NOW, AppCommand::Deposit { account, command }).await;
    }
}

/// Signs loan `n` (365,000 for 12 months) and records its balance of 1 March.
async fn lend(app: &App, n: u128, product: &str, rate: Rate) -> u64 {
    let contract = LoanContract {
        customer_id: customer(n),
        branch: outlet(n),
        product: text(product),
        amount: yuan(365_000),
        rate,
        start: date!(2024 - 02 - 01),
        maturity: date!(2025 - 02 - 01),
        guarantee: GuaranteeType::Credit,
        purpose: text("生产经营"),
    };
    let commands = [
        loan::Command::SignContract {
            loan_id: loan_of(n),
            contract,
            now: NOW,
        },
        loan::Command::RecordDailyPosition {
            loan_id: loan_of(n),
            day: LoanDay {
                date: date!(2024 - 03 - 01),
                balance: yuan(365_000),
                days_overdue: 0,
            },
            correction: false,
            now: NOW,
        },
    ];
    let mut at = 0;
    for command in commands {
        let loan = loan_of(n);
        at = run(app, NOW, AppCommand::Loan { loan, command }).await;
    }
    at
}

async fn setup() -> (Server, u64) {
    let server = Server::start_state(test_config(), |b, _| b.rules(rules())).await;
    let app = App::new(server.store.clone()).unwrap();
    organisation(&app).await;
    deposit(&app, 1, 1, 1, "活期储蓄", false).await;
    deposit(&app, 2, 1, 1, "整存整取一年", true).await;
    deposit(&app, 3, 2, 2, "整存整取一年", true).await;
    lend(&app, 1, FARM_LOAN, pct(400)).await;
    let at = lend(&app, 2, "个体经营贷款", pct(500)).await;
    (server, at)
}

const DASHBOARD: &str = r#"query($scope: BankScopeInput!, $p: Long) {
  bankDashboard(scope: $scope, period: { month: "2024-03" }, atPosition: $p) {
    figures { deposits depositsByProduct { key amount } loansByProduct { key amount }
      contribution }
    outlets { name figures { depositsByProduct { key amount } contribution } } } }"#;

const RANKING: &str = r#"query($scope: OutletRankingScopeInput, $p: Long) {
  outletRanking(by: CONTRIBUTION, scope: $scope, period: { month: "2024-03" }, atPosition: $p) {
    name rank value figures { contribution } } }"#;

fn token(server: &Server, a: Actor) -> String {
    server.token_for(a.staff_id, a.role, a.scope)
}

fn amounts(pairs: &[(&str, &str)]) -> serde_json::Value {
    pairs
        .iter()
        .map(|(k, v)| json!({ "key": k, "amount": v }))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_dashboards_split_deposits_and_loans_by_product_and_sum_the_served_contribution() {
    let (server, at) = setup().await;
    let hq = token(&server, hq());
    let vars = json!({ "scope": { "company": true }, "p": at });
    let body = server.query(&hq, DASHBOARD, vars).await;
    let d = &body["data"]["bankDashboard"];
    let f = &d["figures"];
    assert_eq!(f["deposits"], "1131500.0000", "{body}");
    // Products in code order (Unicode order of the codes).
    assert_eq!(
        f["depositsByProduct"],
        amounts(&[("整存整取一年", "766500.0000"), ("活期储蓄", "365000.0000")]),
        "{body}"
    );
    assert_eq!(
        f["loansByProduct"],
        amounts(&[("个体经营贷款", "365000.0000"), (FARM_LOAN, "365000.0000")]),
        "{body}"
    );
    assert_eq!(f["contribution"], "1715.6164", "{body}");
    let outlets = d["outlets"].as_array().unwrap();
    assert_eq!(outlets.len(), 2, "{body}");
    assert_eq!(outlets[0]["name"], "信用社1");
    assert_eq!(
        outlets[0]["figures"]["depositsByProduct"],
        amounts(&[("整存整取一年", "36500.0000"), ("活期储蓄", "365000.0000")])
    );
    assert_eq!(outlets[0]["figures"]["contribution"], "640.8082");
    assert_eq!(outlets[1]["figures"]["contribution"], "1074.8082");

    let body = server.query(&hq, RANKING, json!({ "p": at })).await;
    let rows = body["data"]["outletRanking"].as_array().unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r["name"].clone(), r["rank"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("信用社2"), json!(1), json!("1074.8082")),
            (json!("信用社1"), json!(2), json!("640.8082")),
        ],
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_s_contribution_names_the_ftp_that_applied() {
    let (server, at) = setup().await;
    let query = r#"query($id: ID!, $p: Long) {
      customer(id: $id, atPosition: $p) { bankContribution(month: "2024-03") { contribution
        deposits { product ftpBp ftpRule } loans { product ftpBp ftpRule spread } } } }"#;
    let id = customer(1).to_string();
    let body = server
        .query(&token(&server, hq()), query, json!({ "id": id, "p": at }))
        .await;
    let c = &body["data"]["customer"]["bankContribution"];
    assert_eq!(c["contribution"], "640.8082", "{body}");
    assert_eq!(
        c["loans"],
        json!([{ "product": FARM_LOAN, "ftpBp": 250,
                 "ftpRule": format!("ftp_loan_product_bp.\"{FARM_LOAN}\""), "spread": "465.0000" }]),
        "{body}"
    );
    let rules: Vec<_> = c["deposits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ftpRule"].clone())
        .collect();
    assert_eq!(
        rules,
        vec![json!("ftp_demand_bp"), json!("ftp_time_bp")],
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_figures_and_contribution_are_scoped_like_the_dashboard() {
    let (server, at) = setup().await;
    let dashboard = |a: Actor, scope: serde_json::Value| {
        let server = &server;
        let token = token(server, a);
        let vars = json!({ "scope": scope, "p": at });
        async move { server.query(&token, DASHBOARD, vars).await }
    };
    let region = |r| json!({ "regionId": region_of(r).to_string() });
    let one = |b| json!({ "outletId": outlet(b).to_string() });
    // An outlet manager sees their outlet's products and contribution.
    let body = dashboard(outlet_manager(1), one(1)).await;
    assert_eq!(
        body["data"]["bankDashboard"]["figures"]["contribution"], "640.8082",
        "{body}"
    );
    let refused = [
        (outlet_manager(1), one(2)),
        (outlet_manager(1), region(1)),
        (region_manager(2), region(1)),
        (region_manager(2), one(2)),
        (customer_manager(2), one(2)),
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
        let text = body.to_string();
        assert!(
            !text.contains("1074.8082") && !text.contains("整存整取一年"),
            "{body}"
        );
    }
    // A ranking by contribution: a region manager sees their own region's only.
    let ranking = |a: Actor, scope: serde_json::Value| {
        let server = &server;
        let token = token(server, a);
        let vars = json!({ "scope": scope, "p": at });
        async move { server.query(&token, RANKING, vars).await }
    };
    let own = ranking(region_manager(2), json!(null)).await;
    assert_eq!(own["data"]["outletRanking"], json!([]), "{own}");
    let other = ranking(region_manager(2), region(1)).await;
    assert_eq!(codes(&other), vec!["FORBIDDEN".to_string()], "{other}");
    assert!(!other.to_string().contains("640.8082"), "{other}");
    let company = ranking(outlet_manager(1), json!({ "company": true })).await;
    assert_eq!(codes(&company), vec!["FORBIDDEN".to_string()], "{company}");
}
