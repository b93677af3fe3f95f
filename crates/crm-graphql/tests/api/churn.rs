//! The KPI's churn term through the real server (#15 item 1, schema/rules.md `[kpi]`): churn
//! derived from the rules (default `[churn] churned_days = 180`), counted once per customer,
//! with each customer's cause, the churn rate and retention beside it; scoped like every read.
//!
//! A customer manager serves, from 1 January 2024, c1–c3 (all active):
//!
//! | customer | facts | June 2024 |
//! |---|---|---|
//! | c1 | trades on 2 January, then nothing | dormant since 30 June (2 Jan + 180 days): counts |
//! | c2 | trades on 2 May; churn recorded on 10 June, closed on 12 June | recorded on 10 June: counts once |
//! | c3 | trades on 2 January and 20 June | not churned |
//!
//! June: 2 of the 3 customers at the start lost, churn rate 66.66%, retention 33.34%.

use crm_app::{App, AppCommand, CommandEnvelope};
use crm_domain::account::{self, DailyTradeSummary, SecurityType, TradeChannel, TurnoverLine};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::customer::{self, AccountKind, Assignment, ChurnReason, CustomerKind, Profile};
use crm_domain::ids::{AccountId, BranchId, CustomerId, RegionId, StaffId};
use crm_domain::values::{
    Channel, IdDocument, Market, OrgName, PersonName, ResidentIdNumber, ShortText,
};
use crm_domain::{branch, region, Money};
use serde_json::json;
use time::macros::date;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::common::*;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
fn outlet(n: u128) -> BranchId {
    BranchId::from(id(0xCB_0000 + n))
}
fn customer_id(n: u128) -> CustomerId {
    CustomerId::from(id(0xCC_0000 + n))
}
fn account_id(n: u128) -> AccountId {
    AccountId::from(id(0xCA_0000 + n))
}
fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}
fn hq() -> Actor {
    Actor {
        staff_id: StaffId::from(id(0xC5_0001)),
        role: Role::Headquarters,
        scope: Scope::Company,
    }
}
fn customer_manager(b: u128) -> Actor {
    Actor {
        staff_id: StaffId::from(id(0xC5_1000 + b)),
        role: Role::CustomerManager,
        scope: Scope::Book {
            branch: outlet(b),
            team: None,
        },
    }
}

/// Noon in Beijing on `day`.
fn on(day: Date) -> OffsetDateTime {
    day.with_hms(12, 0, 0)
        .unwrap()
        .assume_offset(time::macros::offset!(+8))
}

async fn run(app: &App, actor: Actor, at: OffsetDateTime, command: AppCommand) -> u64 {
    app.execute(CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor,
        correlation_id: None,
        causation_id: None,
        occurred_at: at,
        command,
    })
    .await
    .unwrap()
    .position
}

async fn customer_command(app: &App, c: u128, at: OffsetDateTime, command: customer::Command) {
    let customer = customer_id(c);
    run(app, hq(), at, AppCommand::Customer { customer, command }).await;
}

async fn trade(app: &App, c: u128, day: Date) -> u64 {
    let summary = DailyTradeSummary {
        trade_date: day,
        customer_id: customer_id(c),
        turnover: vec![TurnoverLine {
            market: Market::Shanghai,
            security_type: SecurityType::Stock,
            channel: TradeChannel::Mobile,
            amount: Money::from_yuan(10_000).unwrap(),
        }],
        commission: Money::ZERO,
        deposits: Money::ZERO,
        withdrawals: Money::ZERO,
        end_of_day_assets: Money::from_yuan(100_000).unwrap(),
        holdings: Vec::new(),
        realised_pnl: Money::ZERO,
        unrealised_pnl: Money::ZERO,
    };
    let at = on(day);
    let command = account::Command::RecordDailySummary {
        account_id: account_id(c),
        summary,
        correction: false,
        now: at,
    };
    let account = account_id(c);
    run(app, hq(), at, AppCommand::Account { account, command }).await
}

/// The organisation, the book and its facts; the position of the last fact.
async fn book(app: &App) -> u64 {
    let start = on(date!(2024 - 01 - 01));
    let region_id = RegionId::from(id(0xCE_0001));
    let command = region::Command::Establish {
        region_id,
        name: OrgName::parse("华东区").unwrap(),
        now: start,
    };
    let region = region_id;
    run(app, hq(), start, AppCommand::Region { region, command }).await;
    for b in [1, 2] {
        let command = branch::Command::Open {
            branch_id: outlet(b),
            region_id,
            name: OrgName::parse(&format!("营业部{b}")).unwrap(),
            kind: branch::BranchKind::BrokerageBranch,
            now: start,
        };
        let branch = outlet(b);
        run(app, hq(), start, AppCommand::Branch { branch, command }).await;
        let a = customer_manager(b);
        let command = crm_domain::staff::Command::Join {
            staff_id: a.staff_id,
            name: PersonName::parse(&format!("经理{b}")).unwrap(),
            role: a.role,
            scope: a.scope,
            now: start,
        };
        let staff = a.staff_id;
        run(app, hq(), start, AppCommand::Staff { staff, command }).await;
    }
    for c in 1..=3u128 {
        let profile = Profile {
            name: OrgName::parse(&format!("客户{c}")).unwrap(),
            document: IdDocument::ResidentId {
                number: ResidentIdNumber::with_check_character(&format!("11010519700101{c:03}"))
                    .unwrap(),
            },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::Counter,
        };
        let register = customer::Command::Register {
            customer_id: customer_id(c),
            kind: CustomerKind::Individual,
            profile,
            as_prospect: false,
            existing_customer_with_same_document: None,
            now: start,
        };
        customer_command(app, c, start, register).await;
        let assign = customer::Command::Assign {
            to: Assignment {
                branch: outlet(1),
                manager: Some(customer_manager(1).staff_id),
                team: None,
            },
            by: hq().staff_id,
            now: start,
        };
        customer_command(app, c, start, assign).await;
        let open = customer::Command::OpenAccount {
            account_id: account_id(c),
            kind: AccountKind::Fund,
            number: text(&format!("F{c}")),
            now: start,
        };
        customer_command(app, c, start, open).await;
    }
    trade(app, 1, date!(2024 - 01 - 02)).await;
    trade(app, 3, date!(2024 - 01 - 02)).await;
    trade(app, 2, date!(2024 - 05 - 02)).await;
    let at = on(date!(2024 - 06 - 10));
    let churned = customer::Command::MarkChurned {
        reason: ChurnReason::Competitor,
        note: None,
        now: at,
    };
    customer_command(app, 2, at, churned).await;
    let at = on(date!(2024 - 06 - 12));
    let close_account = customer::Command::CloseAccount {
        account_id: account_id(2),
        now: at,
    };
    customer_command(app, 2, at, close_account).await;
    let close = customer::Command::Close {
        reason: text("销户"),
        now: at,
    };
    customer_command(app, 2, at, close).await;
    trade(app, 3, date!(2024 - 06 - 20)).await
}

const CHURN: &str = r#"query($s: ID!, $p: Long) { staffPerformance(staffId: $s, period: { month: "2024-06" }, atPosition: $p) {
  customersAtStart churned churnRatePercent retentionPercent
  churnedCustomers { customerId cause since explanation }
  kpi { terms { name count base value retention } } } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_is_derived_from_the_rules_named_by_cause_and_scoped() {
    let server = Server::start().await;
    let app = App::new(server.store.clone()).unwrap();
    let at = book(&app).await;
    let vars = json!({ "s": customer_manager(1).staff_id.to_string(), "p": at });
    let own = server
        .query(
            &server.token_for(
                customer_manager(1).staff_id,
                Role::CustomerManager,
                customer_manager(1).scope,
            ),
            CHURN,
            vars.clone(),
        )
        .await;
    let p = &own["data"]["staffPerformance"];
    assert_eq!(p["customersAtStart"], 3, "{own}");
    assert_eq!(p["churned"], 2, "{own}");
    assert_eq!(p["churnRatePercent"], 66.66, "{own}");
    assert_eq!(p["retentionPercent"], 33.34, "{own}");
    let id = |c: u128| customer_id(c).to_string();
    assert_eq!(
        p["churnedCustomers"],
        json!([
            { "customerId": id(1), "cause": "DORMANT", "since": "2024-06-30",
              "explanation": "dormant since 2024-06-30" },
            { "customerId": id(2), "cause": "RECORDED", "since": "2024-06-10",
              "explanation": "recorded on 2024-06-10" },
        ]),
        "{own}"
    );
    assert_eq!(
        p["kpi"]["terms"][1],
        json!({ "name": "churn_rate", "count": 2, "base": 3, "value": "6666",
                "retention": "3334" }),
        "{own}"
    );
    // Headquarters reads the same figures.
    let hq_view = server
        .query(
            &server.token_for(hq().staff_id, Role::Headquarters, Scope::Company),
            CHURN,
            vars.clone(),
        )
        .await;
    assert_eq!(hq_view["data"]["staffPerformance"], *p, "{hq_view}");
    // Another branch's customer manager sees nothing of it.
    let other = customer_manager(2);
    let body = server
        .query(
            &server.token_for(other.staff_id, other.role, other.scope),
            CHURN,
            vars,
        )
        .await;
    assert!(body["data"]["staffPerformance"].is_null(), "{body}");
    assert!(!codes(&body).is_empty(), "{body}");
    assert!(!body.to_string().contains(&id(1)), "{body}");
}
