//! Bank business on the read side (issue 17): `Customer.banking` scoped and masked like the
//! securities accounts, the bank to-dos, and the branch dashboard's `banking` section, over
//! facts recorded through the command side (`crm-app`) as the core system's import would.

use crm_app::{App, AppCommand, CommandEnvelope};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::bank_services::{self, Card, CardKind};
use crm_domain::customer::{self, Assignment, CustomerKind, Profile};
use crm_domain::deposit::{self, Currency, DepositDay, DepositKind};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{BranchId, CardId, CustomerId, DepositAccountId, LoanId, RegionId, StaffId};
use crm_domain::loan::{self, GuaranteeType, Instalment, LoanClass, LoanContract, LoanDay};
use crm_domain::values::{Channel, IdDocument, OrgName, PersonName, ResidentIdNumber, ShortText};
use crm_domain::{branch, region, Money, Rate};
use serde_json::json;
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::common::*;

const NOW: OffsetDateTime = datetime!(2024-03-01 20:00 +8);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
fn outlet(n: u128) -> BranchId {
    BranchId::from(id(0xB_0000 + n))
}
fn staff(n: u128) -> StaffId {
    StaffId::from(id(0x5_0000 + n))
}
fn customer_id() -> CustomerId {
    CustomerId::from(id(0xC_0001))
}
fn loan_id() -> LoanId {
    LoanId::from(id(0x1_0001))
}
fn account() -> DepositAccountId {
    DepositAccountId::from(id(0xD_0001))
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn yuan(y: i64) -> Money {
    Money::from_yuan(y).unwrap()
}
fn hq() -> Actor {
    Actor {
        staff_id: staff(1),
        role: Role::Headquarters,
        scope: Scope::Company,
    }
}
fn outlet_manager(b: u128) -> Actor {
    Actor {
        staff_id: staff(100 + b),
        role: Role::BranchManager,
        scope: Scope::Branch { branch: outlet(b) },
    }
}
fn customer_manager(b: u128) -> Actor {
    Actor {
        staff_id: staff(1000 + b),
        role: Role::CustomerManager,
        scope: Scope::Book {
            branch: outlet(b),
            team: None,
        },
    }
}

async fn run(app: &App, actor: Actor, command: AppCommand) -> u64 {
    let outcome = app
        .execute(CommandEnvelope {
            command_id: Uuid::now_v7(),
            actor,
            correlation_id: None,
            causation_id: None,
            occurred_at: NOW,
            command,
        })
        .await
        .unwrap();
    outcome.position
}

async fn organisation(app: &App) {
    let region = RegionId::from(id(0xA_0001));
    let command = region::Command::Establish {
        region_id: region,
        name: OrgName::parse("余干县农村信用合作联社").unwrap(),
        now: NOW,
    };
    run(app, hq(), AppCommand::Region { region, command }).await;
    for b in [1, 2] {
        let command = branch::Command::Open {
            branch_id: outlet(b),
            region_id: region,
            name: OrgName::parse(&format!("信用社{b}")).unwrap(),
            kind: branch::BranchKind::CreditCooperative,
            now: NOW,
        };
        let branch = outlet(b);
        run(app, hq(), AppCommand::Branch { branch, command }).await;
    }
    // The staff directory: the to-dos take a staff member's post from it.
    for a in [outlet_manager(1), outlet_manager(2), customer_manager(1)] {
        let command = crm_domain::staff::Command::Join {
            staff_id: a.staff_id,
            name: PersonName::parse(&format!("员工{}", a.staff_id)).unwrap(),
            role: a.role,
            scope: a.scope,
            now: NOW,
        };
        let staff = a.staff_id;
        run(app, hq(), AppCommand::Staff { staff, command }).await;
    }
    let profile = Profile {
        name: OrgName::parse("李四").unwrap(),
        document: IdDocument::ResidentId {
            number: ResidentIdNumber::with_check_character("36112719700101001").unwrap(),
        },
        phone: None,
        address: None,
        region: None,
        birthday: None,
        occupation: None,
        source_channel: Channel::Counter,
    };
    let customer = customer_id();
    let command = customer::Command::Register {
        customer_id: customer,
        kind: CustomerKind::Individual,
        profile,
        as_prospect: false,
        existing_customer_with_same_document: None,
        now: NOW,
    };
    run(app, hq(), AppCommand::Customer { customer, command }).await;
    let command = customer::Command::Assign {
        to: Assignment {
            branch: outlet(1),
            manager: Some(customer_manager(1).staff_id),
            team: None,
        },
        by: staff(1),
        now: NOW,
    };
    run(app, hq(), AppCommand::Customer { customer, command }).await;
}

/// A time deposit of 50,000 maturing on 20 March, a loan of 100,000 with 80,000 outstanding
/// and 12 days overdue on 1 March (instalment due 5 March), moved from pass to special
/// mention, a debit card, and 35 of fee income in March.
async fn bank_business(app: &App) -> u64 {
    let (customer, acc, l) = (customer_id(), account(), loan_id());
    let open = deposit::Command::Open {
        account_id: acc,
        customer_id: customer,
        branch: outlet(1),
        product: text("整存整取一年"),
        kind: DepositKind::Time,
        currency: Currency::Cny,
        term_months: Some(12),
        maturity: Some(date!(2024 - 03 - 20)),
        rate: Rate::from_units(1_650_000),
        opened_on: date!(2023 - 03 - 20),
        now: NOW,
    };
    let balance = deposit::Command::RecordDailyBalance {
        account_id: acc,
        day: DepositDay {
            date: date!(2024 - 03 - 01),
            balance: yuan(50_000),
        },
        correction: false,
        now: NOW,
    };
    for command in [open, balance] {
        run(
            app,
            hq(),
            AppCommand::Deposit {
                account: acc,
                command,
            },
        )
        .await;
    }
    let contract = LoanContract {
        customer_id: customer,
        branch: outlet(1),
        product: text("农户小额信用贷款"),
        amount: yuan(100_000),
        rate: Rate::from_units(4_350_000),
        start: date!(2024 - 02 - 01),
        maturity: date!(2025 - 02 - 01),
        guarantee: GuaranteeType::Credit,
        purpose: text("购买化肥"),
    };
    let commands = [
        loan::Command::SignContract {
            loan_id: l,
            contract,
            now: NOW,
        },
        loan::Command::SetRepaymentSchedule {
            instalments: vec![Instalment {
                due: date!(2024 - 03 - 05),
                principal: yuan(20_000),
                interest: yuan(360),
            }],
            now: NOW,
        },
        loan::Command::RecordDailyPosition {
            loan_id: l,
            day: LoanDay {
                date: date!(2024 - 03 - 01),
                balance: yuan(80_000),
                days_overdue: 12,
            },
            correction: false,
            now: NOW,
        },
    ];
    for command in commands {
        run(app, hq(), AppCommand::Loan { loan: l, command }).await;
    }
    let command = loan::Command::Reclassify {
        from: LoanClass::Pass,
        to: LoanClass::SpecialMention,
        reason: text("逾期12天"),
        by: outlet_manager(1).staff_id,
        now: NOW,
    };
    run(
        app,
        outlet_manager(1),
        AppCommand::Loan { loan: l, command },
    )
    .await;
    let command = bank_services::Command::IssueCard {
        customer_id: customer,
        card_id: CardId::from(id(0xCA_0001)),
        card: Card {
            kind: CardKind::Debit,
            number: text("6228480012345678"),
            issued_on: date!(2023 - 03 - 20),
        },
        now: NOW,
    };
    run(app, hq(), AppCommand::BankServices { customer, command }).await;
    let command = fee_income::Command::RecordFeeIncome {
        customer_id: customer,
        day: FeeDay {
            date: date!(2024 - 03 - 01),
            fee_type: FeeType::Settlement,
            amount: yuan(35),
        },
        correction: false,
        now: NOW,
    };
    run(app, hq(), AppCommand::FeeIncome { customer, command }).await
}

const CUSTOMER: &str = r#"query($id: ID!, $p: Long) { customer(id: $id, atPosition: $p) {
  banking { asOf demandDeposits timeDeposits loanBalance worstClassification maxDaysOverdue
    feeIncomeMonth feeIncomeYear
    depositAccounts { kind product maturity balance balanceDate }
    loans { classification balance daysOverdue guarantee nextInstalment { due principal } }
    cards { kind number } eChannels wealthProducts { key amount } } } }"#;

const DASHBOARD: &str = r#"query($b: ID!) { branchDashboard(branchId: $b, period: { month: "2024-03" }) {
  banking { depositsOn demandDeposits timeDeposits loansOn loanBalance
    loansByClassification { key amount } nonPerforming nplRatioPercent feeIncome
    newDepositAccounts newLoans disbursed } } }"#;

/// The caller's to-dos on 2 March, as (kind, due).
async fn todos(server: &Server, a: Actor) -> Vec<(String, String)> {
    let r = server
        .query(
            &token(server, a),
            r#"{ todos(at: "2024-03-02T09:00:00+08:00") { kind due } }"#,
            json!({}),
        )
        .await;
    r["data"]["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let field = |k: &str| t[k].as_str().unwrap().to_string();
            (field("kind"), field("due"))
        })
        .collect()
}

fn token(server: &Server, a: Actor) -> String {
    server.token_for(a.staff_id, a.role, a.scope)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_banking_dashboard_and_to_dos_are_scoped_and_masked() {
    let server = Server::start().await;
    let app = App::new(server.store.clone()).unwrap();
    organisation(&app).await;
    let at = bank_business(&app).await;
    let vars = json!({ "id": customer_id().to_string(), "p": at });

    // The serving customer manager sees the bank side of the 360, the card number masked.
    let mine = server
        .query(&token(&server, customer_manager(1)), CUSTOMER, vars.clone())
        .await;
    let b = &mine["data"]["customer"]["banking"];
    assert_eq!(b["asOf"], "2024-03-01", "{mine}");
    assert_eq!(b["timeDeposits"], "50000.0000", "{mine}");
    assert_eq!(b["demandDeposits"], "0.0000");
    assert_eq!(b["loanBalance"], "80000.0000");
    assert_eq!(b["worstClassification"], "SPECIAL_MENTION");
    assert_eq!(b["maxDaysOverdue"], 12);
    assert_eq!(
        (&b["feeIncomeMonth"], &b["feeIncomeYear"]),
        (&json!("35.0000"), &json!("35.0000"))
    );
    assert_eq!(
        b["depositAccounts"],
        json!([{ "kind": "TIME", "product": "整存整取一年", "maturity": "2024-03-20",
                 "balance": "50000.0000", "balanceDate": "2024-03-01" }])
    );
    assert_eq!(
        b["loans"],
        json!([{ "classification": "SPECIAL_MENTION", "balance": "80000.0000", "daysOverdue": 12,
                 "guarantee": "CREDIT",
                 "nextInstalment": { "due": "2024-03-05", "principal": "20000.0000" } }])
    );
    assert_eq!(
        b["cards"],
        json!([{ "kind": "DEBIT", "number": "************5678" }])
    );
    assert!(!mine.to_string().contains("6228480012345678"));

    // Another outlet's customer manager is told nothing of the customer.
    let other = server
        .query(&token(&server, customer_manager(2)), CUSTOMER, vars)
        .await;
    assert!(other["data"]["customer"].is_null(), "{other}");
    assert_eq!(codes(&other), vec!["NOT_FOUND".to_string()], "{other}");

    // The outlet's dashboard: stock of 1 March, flows of March (the deposit opened in 2023).
    let dash = server
        .query(
            &token(&server, outlet_manager(1)),
            DASHBOARD,
            json!({ "b": outlet(1).to_string() }),
        )
        .await;
    let d = &dash["data"]["branchDashboard"]["banking"];
    assert_eq!(d["depositsOn"], "2024-03-01", "{dash}");
    assert_eq!(d["timeDeposits"], "50000.0000");
    assert_eq!(d["loanBalance"], "80000.0000");
    assert_eq!(
        d["loansByClassification"][1],
        json!({ "key": "SPECIAL_MENTION", "amount": "80000.0000" })
    );
    assert_eq!(d["nonPerforming"], "0.0000");
    assert_eq!(d["nplRatioPercent"], 0.0);
    assert_eq!(d["feeIncome"], "35.0000");
    assert_eq!(
        (&d["newDepositAccounts"], &d["newLoans"]),
        (&json!(0), &json!(0))
    );
    // Another outlet's manager may not read it.
    let refused = server
        .query(
            &token(&server, outlet_manager(2)),
            DASHBOARD,
            json!({ "b": outlet(1).to_string() }),
        )
        .await;
    assert!(refused["data"]["branchDashboard"].is_null(), "{refused}");
    assert_eq!(codes(&refused), vec!["FORBIDDEN".to_string()], "{refused}");

    // To-dos on 2 March: the serving manager's four, the outlet manager's downgrade.
    let pair = |k: &str, d: &str| (k.to_string(), d.to_string());
    assert_eq!(
        todos(&server, customer_manager(1)).await,
        vec![
            pair("LOAN_OVERDUE", "2024-03-01"),
            pair("LOAN_DOWNGRADED", "2024-03-01"),
            pair("LOAN_REPAYMENT_DUE", "2024-03-05"),
            pair("TIME_DEPOSIT_MATURING", "2024-03-20"),
        ]
    );
    assert_eq!(
        todos(&server, outlet_manager(1)).await,
        vec![pair("LOAN_DOWNGRADED", "2024-03-01")]
    );
    assert_eq!(todos(&server, outlet_manager(2)).await, vec![]);
}

/// A demand account whose balance falls from 180,000 (31 January) through 150,000 (15
/// February) to 68,000 (1 March): deposits leaving (资产流失).
async fn deposits_leaving(app: &App) -> u64 {
    let acc = account();
    let open = deposit::Command::Open {
        account_id: acc,
        customer_id: customer_id(),
        branch: outlet(1),
        product: text("活期储蓄"),
        kind: DepositKind::Demand,
        currency: Currency::Cny,
        term_months: None,
        maturity: None,
        rate: Rate::from_units(200_000),
        opened_on: date!(2023 - 06 - 01),
        now: NOW,
    };
    run(
        app,
        hq(),
        AppCommand::Deposit {
            account: acc,
            command: open,
        },
    )
    .await;
    let mut at = 0;
    for (date, y) in [
        (date!(2024 - 01 - 31), 180_000),
        (date!(2024 - 02 - 15), 150_000),
        (date!(2024 - 03 - 01), 68_000),
    ] {
        let command = deposit::Command::RecordDailyBalance {
            account_id: acc,
            day: DepositDay {
                date,
                balance: yuan(y),
            },
            correction: false,
            now: NOW,
        };
        at = run(
            app,
            hq(),
            AppCommand::Deposit {
                account: acc,
                command,
            },
        )
        .await;
    }
    at
}

const CHURN: &str = r#"query($id: ID!, $p: Long) { customer(id: $id, atPosition: $p) {
  churn { risk basis reason valueAtRisk lastActivity depositOutflowMin outflowThresholdPercent
    deposits { from before to now fall fallPercent } } } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_leaving_are_a_high_churn_risk_explained_by_their_basis_and_scoped() {
    let server = Server::start().await;
    let app = App::new(server.store.clone()).unwrap();
    organisation(&app).await;
    let at = deposits_leaving(&app).await;
    let vars = json!({ "id": customer_id().to_string(), "p": at });

    let mine = server
        .query(&token(&server, customer_manager(1)), CHURN, vars.clone())
        .await;
    let c = &mine["data"]["customer"]["churn"];
    assert_eq!(c["risk"], "HIGH", "{mine}");
    assert_eq!(c["basis"], "DEPOSIT_OUTFLOW", "{mine}");
    assert_eq!(
        c["reason"],
        "deposits fell 62% (180,000 -> 68,000) in 30 days (rule: 50%, at least 5,000)"
    );
    assert_eq!(c["valueAtRisk"], "68000.0000");
    assert_eq!(
        c["lastActivity"], "2024-03-01",
        "the balance moved that day"
    );
    assert_eq!(c["depositOutflowMin"], "5000.0000");
    assert_eq!(c["outflowThresholdPercent"], 50);
    assert_eq!(
        c["deposits"],
        json!({ "from": "2024-01-31", "before": "180000.0000", "to": "2024-03-01",
                "now": "68000.0000", "fall": "112000.0000", "fallPercent": 62 })
    );
    // The serving manager's to-do says so, with the deposits at risk.
    let r = server
        .query(
            &token(&server, customer_manager(1)),
            r#"{ todos(at: "2024-03-02T09:00:00+08:00") { kind text valueAtRisk } }"#,
            json!({}),
        )
        .await;
    let churn_todos: Vec<_> = r["data"]["todos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "CHURN_RISK")
        .collect();
    assert_eq!(churn_todos.len(), 1, "{r}");
    assert_eq!(churn_todos[0]["valueAtRisk"], "68000.0000", "{r}");
    assert!(
        churn_todos[0]["text"]
            .as_str()
            .unwrap()
            .contains("high churn risk (deposits fell 62%"),
        "{r}"
    );

    // Another outlet's customer manager is told nothing, not even that the customer exists.
    let other = server
        .query(&token(&server, customer_manager(2)), CHURN, vars)
        .await;
    assert!(other["data"]["customer"].is_null(), "{other}");
    assert!(!other.to_string().contains("deposits fell"), "{other}");
    assert_eq!(codes(&other), vec!["NOT_FOUND".to_string()], "{other}");
    assert_eq!(todos(&server, customer_manager(2)).await, vec![]);
}

const CONTRIBUTION: &str = r#"query($id: ID!, $p: Long, $m: String) { customer(id: $id, atPosition: $p) {
  bankContribution(month: $m) { rulesVersion from to days terms { name amount }
    depositSpread loanSpread feeIncome costKind costToServeYear costToServe expectedCreditLoss
    contribution annualised tier tierThresholds { silver gold diamond }
    deposits { kind balanceBasis averageBalance daysRecorded balanceDate days ratePaid ftpBp spread }
    loans { classification balanceBasis averageBalance days rateCharged shortTerm ftpBp spread
      eclBp expectedCreditLoss } } } }"#;

/// Issue 17 item 3 through the server: the customer's contribution for the month to date (1
/// March, one day) worked by hand, a past month with no balances, a month ahead refused, and
/// nothing for a caller out of scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_customers_contribution_is_served_term_by_term_and_scoped() {
    let server = Server::start().await;
    let app = App::new(server.store.clone()).unwrap();
    organisation(&app).await;
    let at = bank_business(&app).await;
    let ask = |a: Actor, month: Option<&str>| {
        let vars = json!({ "id": customer_id().to_string(), "p": at, "m": month });
        let token = token(&server, a);
        let server = &server;
        async move { server.query(&token, CONTRIBUTION, vars).await }
    };

    let mine = ask(customer_manager(1), None).await;
    let c = &mine["data"]["customer"]["bankContribution"];
    assert_eq!(
        (&c["from"], &c["to"], &c["days"]),
        (&json!("2024-03-01"), &json!("2024-03-01"), &json!(1)),
        "{mine}"
    );
    // Time deposit: 50,000 × (2.60% − 1.65%) / 365 = 1.30137 → 1.3014.
    assert_eq!(
        c["deposits"],
        json!([{ "kind": "TIME", "balanceBasis": "MONTH_AVERAGE", "averageBalance": "50000.0000",
                 "daysRecorded": 1, "balanceDate": "2024-03-01", "days": 1,
                 "ratePaid": "0.01650000", "ftpBp": 260, "spread": "1.3014" }])
    );
    // Loan (12 months, short-term FTP 3.00%): 80,000 × (4.35% − 3.00%) / 365 = 2.9589;
    // 关注 loses 2.00% a year: 80,000 × 2.00% / 365 = 4.3836.
    assert_eq!(
        c["loans"],
        json!([{ "classification": "SPECIAL_MENTION", "balanceBasis": "MONTH_AVERAGE",
                 "averageBalance": "80000.0000", "days": 1, "rateCharged": "0.04350000",
                 "shortTerm": true, "ftpBp": 300, "spread": "2.9589", "eclBp": 200,
                 "expectedCreditLoss": "4.3836" }])
    );
    // 1.3014 + 2.9589 + 35 fees − 120 / 365 (0.3288) − 4.3836 = 34.5479; × 365 = 12,609.98
    // a year: gold.
    assert_eq!(
        c["terms"],
        json!([{ "name": "DEPOSIT_SPREAD", "amount": "1.3014" },
               { "name": "LOAN_SPREAD", "amount": "2.9589" },
               { "name": "FEE_INCOME", "amount": "35.0000" },
               { "name": "COST_TO_SERVE", "amount": "-0.3288" },
               { "name": "EXPECTED_CREDIT_LOSS", "amount": "-4.3836" }])
    );
    assert_eq!(c["costKind"], "INDIVIDUAL");
    assert_eq!(c["contribution"], "34.5479");
    assert_eq!(c["annualised"], "12609.9835");
    assert_eq!(c["tier"], "GOLD");
    assert_eq!(c["tierThresholds"]["gold"], "5000.0000");

    // February: open all month but nothing recorded before 1 March, so only the cost to serve.
    let feb = ask(customer_manager(1), Some("2024-02")).await;
    let f = &feb["data"]["customer"]["bankContribution"];
    assert_eq!(
        (&f["to"], &f["days"]),
        (&json!("2024-02-29"), &json!(29)),
        "{feb}"
    );
    assert_eq!(f["deposits"][0]["balanceBasis"], "NO_BALANCE");
    assert_eq!(f["loans"][0]["balanceBasis"], "NO_BALANCE");
    assert_eq!(f["contribution"], "-9.5342", "{feb}");
    assert_eq!(f["tier"], "STANDARD");

    // A month after the latest business date is refused, naming the argument.
    let ahead = ask(customer_manager(1), Some("2024-04")).await;
    assert_eq!(codes(&ahead), vec!["VALIDATION".to_string()], "{ahead}");
    assert!(ahead.to_string().contains("month"), "{ahead}");

    // Another outlet's customer manager learns nothing of the customer.
    let other = ask(customer_manager(2), None).await;
    assert!(other["data"]["customer"].is_null(), "{other}");
    assert_eq!(codes(&other), vec!["NOT_FOUND".to_string()], "{other}");
    assert!(!other.to_string().contains("34.5479"));
}

const STAFF_BANK: &str = r#"query($s: ID!, $p: Long) { staffPerformance(staffId: $s, period: { month: "2024-03" }, atPosition: $p) {
  bank { from to bankCustomers depositsAtStart depositsAtEnd depositGrowth loanBalance
    nonPerforming nplRatioPercent loanDowngrades newBankCustomers lostBankCustomers contribution } } }"#;

/// The bank KPI measures of a customer manager's book and the outlet's downgrades, through
/// the server; another outlet's manager may not read the book's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_bank_measures_are_served_with_the_appraisal_and_scoped() {
    let server = Server::start().await;
    let app = App::new(server.store.clone()).unwrap();
    organisation(&app).await;
    let at = bank_business(&app).await;
    let vars = json!({ "s": customer_manager(1).staff_id.to_string(), "p": at });
    let mine = server
        .query(
            &token(&server, customer_manager(1)),
            STAFF_BANK,
            vars.clone(),
        )
        .await;
    // March to date (1 March): the time deposit's 50,000 is new since February (nothing was
    // recorded before); the 关注 loan is not non-performing but was moved down on 1 March;
    // the contribution is the customer's of `bankContribution` above.
    assert_eq!(
        mine["data"]["staffPerformance"]["bank"],
        json!({ "from": "2024-03-01", "to": "2024-03-01", "bankCustomers": 1,
                "depositsAtStart": "0.0000", "depositsAtEnd": "50000.0000",
                "depositGrowth": "50000.0000", "loanBalance": "80000.0000",
                "nonPerforming": "0.0000", "nplRatioPercent": 0.0, "loanDowngrades": 1,
                "newBankCustomers": 0, "lostBankCustomers": 0, "contribution": "34.5479" }),
        "{mine}"
    );
    let dash = server
        .query(
            &token(&server, outlet_manager(1)),
            r#"query($b: ID!, $p: Long) { branchDashboard(branchId: $b, period: { month: "2024-03" }, atPosition: $p) {
                 banking { loanDowngrades } } }"#,
            json!({ "b": outlet(1).to_string(), "p": at }),
        )
        .await;
    assert_eq!(
        dash["data"]["branchDashboard"]["banking"]["loanDowngrades"], 1,
        "{dash}"
    );
    let other = server
        .query(&token(&server, customer_manager(2)), STAFF_BANK, vars)
        .await;
    assert!(other["data"]["staffPerformance"].is_null(), "{other}");
    assert!(!codes(&other).is_empty(), "{other}");
    assert!(!other.to_string().contains("34.5479"));
}
