//! Test support: random valid event histories (a small simulator keeps them valid: summaries
//! only for opened accounts, corrections of recorded days, tickets in order), appended through
//! the codec as the app would, and helpers to rebuild a log in a fresh store.
#![allow(clippy::unwrap_used, dead_code)] // a test that cannot unwrap has failed

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::account::{
    self, AssetClass, DailyTradeSummary, HoldingLine, SecurityType, TradeChannel, TurnoverLine,
};
use crm_domain::auth::{Role, Scope};
use crm_domain::campaign::{self, Response};
use crm_domain::customer::{self, Assignment, ChurnReason, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::*;
use crm_domain::interaction::{self, Direction, Outcome};
use crm_domain::market::{self, MarketTotals};
use crm_domain::risk::{ProductRisk, RiskTolerance, SuitabilityAssessment};
use crm_domain::ticket::{self, Priority, Satisfaction, TicketKind};
use crm_domain::values::{
    Channel, IdDocument, LongText, Market, OrgName, PersonName, ResidentIdNumber, ShortText,
};
use crm_domain::{branch, opportunity, product, region, rules, staff, AnyEvent, Money};
use crm_eventstore::{Durability, EventMetadata, EventStore, ExpectedRevision, StoreConfig};
use proptest::prelude::*;
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

mod bank;
#[allow(unused_imports)] // not every test binary generates bank histories
pub use bank::{bank_step, BankStep};

pub const CUSTOMERS: u8 = 10;
pub const STAFF: u8 = 4;

pub fn cid(n: u8) -> CustomerId {
    CustomerId::from(Uuid::from_u128(0xC000 + u128::from(n)))
}
pub fn aid(c: u8, a: u8) -> AccountId {
    AccountId::from(Uuid::from_u128(0xA000 + u128::from(c) * 16 + u128::from(a)))
}
pub fn sid(n: u8) -> StaffId {
    StaffId::from(Uuid::from_u128(0x5000 + u128::from(n)))
}
pub fn bid(n: u8) -> BranchId {
    BranchId::from(Uuid::from_u128(0xB000 + u128::from(n)))
}
pub fn rid() -> RegionId {
    RegionId::from(Uuid::from_u128(0xE000))
}
pub fn pid(n: u8) -> ProductId {
    ProductId::from(Uuid::from_u128(0xD000 + u128::from(n)))
}
pub fn kid() -> CampaignId {
    CampaignId::from(Uuid::from_u128(0xCA00))
}
pub fn segid() -> crm_domain::ids::SegmentId {
    crm_domain::ids::SegmentId::from_uuid(Uuid::from_u128(0x5e6))
}
pub fn branch_manager() -> StaffId {
    sid(100)
}
pub fn operator(n: u8) -> StaffId {
    sid(200 + n)
}
/// Staff 0 and 1 serve branch 0, staff 2 and 3 branch 1.
pub fn branch_of_staff(s: u8) -> u8 {
    s / 2
}

pub const BASE: Date = date!(2024 - 01 - 01);

pub fn at(day: u16) -> OffsetDateTime {
    datetime!(2024-01-01 10:00 +8) + Duration::days(i64::from(day))
}

#[derive(Debug, Clone)]
pub enum Step {
    Register(u8, u8),
    Assign(u8, u8),
    OpenAccount(u8, u8),
    Summary {
        c: u8,
        a: u8,
        day: u16,
        turnover: u32,
        kind: u8,
        commission: u16,
        deposit: u32,
        withdraw: u32,
        assets: u32,
        pnl: i32,
    },
    Contact(u8, u8, u8, u16, bool),
    Care(u8, u16),
    Churn(u8, u16),
    Reactivate(u8, u16),
    Dormant(u8, u16),
    Sell(u8, u8, u16),
    Suitability(u8, u16),
    Ticket(u8, u16, u8),
    TicketProgress(u8, u16),
    Lead(u8, u8, u16, bool),
    Respond(u8, u8, u16),
    Transfer(u8, u16),
    Market(u16, u32),
    /// A PII view recorded in the access log (an input of no read model).
    Viewed(u8, u16),
    /// Propose and activate a rules file with the given tier scale.
    Rules(u8, u16),
    CatchUp,
    Flush,
    /// Drop the engine (after a flush or, as a crash, without) and reopen store and engine.
    Restart(bool),
    /// A bank fact (`bank.rs`).
    Bank(BankStep),
}

pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..CUSTOMERS, 0u8..10).prop_map(|(c, ch)| Step::Register(c, ch)),
        3 => (0..CUSTOMERS, 0..STAFF).prop_map(|(c, s)| Step::Assign(c, s)),
        3 => (0..CUSTOMERS, 0u8..2).prop_map(|(c, a)| Step::OpenAccount(c, a)),
        10 => (0..CUSTOMERS, 0u8..2, 0u16..420, 0u32..5_000_000, 0u8..8, 0u16..5000, 0u32..600_000, 0u32..600_000, 0u32..3_000_000, -300_000i32..300_000)
            .prop_map(|(c, a, day, turnover, kind, commission, deposit, withdraw, assets, pnl)| Step::Summary { c, a, day, turnover, kind, commission, deposit, withdraw, assets, pnl }),
        3 => (0..CUSTOMERS, 0..STAFF, 0u8..10, 0u16..420, any::<bool>()).prop_map(|(c, s, ch, d, f)| Step::Contact(c, s, ch, d, f)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Care(c, d)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Churn(c, d)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Reactivate(c, d)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Dormant(c, d)),
        2 => (0..CUSTOMERS, 0u8..3, 0u16..420).prop_map(|(c, p, d)| Step::Sell(c, p, d)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Suitability(c, d)),
        2 => (0..CUSTOMERS, 0u16..420, 0u8..4).prop_map(|(c, d, k)| Step::Ticket(c, d, k)),
        3 => (0u8..20, 0u16..420).prop_map(|(t, d)| Step::TicketProgress(t, d)),
        2 => (0..CUSTOMERS, 0u8..10, 0u16..420, any::<bool>()).prop_map(|(c, ch, d, w)| Step::Lead(c, ch, d, w)),
        2 => (0..CUSTOMERS, 0u8..4, 0u16..420).prop_map(|(c, r, d)| Step::Respond(c, r, d)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Transfer(c, d)),
        1 => (0u16..420, 1u32..1_000_000_000).prop_map(|(d, t)| Step::Market(d, t)),
        1 => (0..CUSTOMERS, 0u16..420).prop_map(|(c, d)| Step::Viewed(c, d)),
        2 => Just(Step::CatchUp),
        1 => Just(Step::Flush),
        1 => any::<bool>().prop_map(Step::Restart),
    ]
}

/// A history that also proposes and activates rules now and then.
pub fn step_with_rules() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => step(),
        1 => (1u8..4, 0u16..420).prop_map(|(s, d)| Step::Rules(s, d)),
    ]
}

fn channel(n: u8) -> Channel {
    [
        Channel::Counter,
        Channel::Phone,
        Channel::CallCentre,
        Channel::App,
        Channel::Internet,
        Channel::Email,
        Channel::WeChat,
        Channel::BankCounter,
        Channel::SelfService,
        Channel::Visit,
    ][usize::from(n % 10)]
}

fn text(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}

fn long(s: &str) -> LongText {
    LongText::parse(s).unwrap()
}

/// A rules file: the default with tier thresholds scaled by `scale` and its own version.
pub fn rules_file(version: u32, scale: u8) -> String {
    let base = crm_projections::rules::DEFAULT_RULES;
    base.replace("version = 1", &format!("version = {version}"))
        .replace(
            "diamond = 80",
            &format!("diamond = {}", 80 / u32::from(scale.max(1))),
        )
        .replace(
            "gold = 55",
            &format!("gold = {}", 55 / u32::from(scale.max(1))),
        )
        .replace(
            "silver = 30",
            &format!("silver = {}", 30 / u32::from(scale.max(1))),
        )
        .replace(
            "dormant_days = 90",
            &format!("dormant_days = {}", 90 / u32::from(scale.max(1))),
        )
}

/// Keeps generated events valid.
#[derive(Default)]
pub struct Sim {
    registered: BTreeSet<u8>,
    assigned: BTreeMap<u8, u8>,
    lifecycle: BTreeMap<u8, Lifecycle>,
    accounts: BTreeSet<(u8, u8)>,
    recorded: BTreeMap<(u8, u8, u16), DailyTradeSummary>,
    tickets: Vec<(TicketId, u8)>,
    opportunities: u32,
    interactions: u32,
    responses: BTreeMap<u8, Response>,
    pending_transfer: BTreeSet<u8>,
    rules_version: u32,
    markets: BTreeMap<u16, Money>,
    bank: bank::BankSim,
}

/// The fixed organisation every history starts with.
pub fn setup() -> Vec<(AnyEvent, OffsetDateTime)> {
    let t0 = at(0) - Duration::days(10);
    let mut out: Vec<(AnyEvent, OffsetDateTime)> = vec![(
        region::Event::RegionEstablished {
            region_id: rid(),
            name: OrgName::parse("华东").unwrap(),
            at: t0,
        }
        .into(),
        t0,
    )];
    for b in 0..2u8 {
        out.push((
            branch::Event::BranchOpened {
                branch_id: bid(b),
                region_id: rid(),
                name: OrgName::parse(&format!("营业部{b}")).unwrap(),
                kind: crm_domain::branch::BranchKind::BrokerageBranch,
                at: t0,
            }
            .into(),
            t0,
        ));
    }
    for s in 0..STAFF {
        out.push((
            staff::Event::StaffJoined {
                staff_id: sid(s),
                name: PersonName::parse(&format!("经理{s}")).unwrap(),
                role: if s % 2 == 0 {
                    Role::CustomerManager
                } else {
                    Role::Broker
                },
                scope: Scope::Book {
                    branch: bid(branch_of_staff(s)),
                    team: None,
                },
                at: t0,
            }
            .into(),
            t0,
        ));
    }
    out.push((
        staff::Event::StaffJoined {
            staff_id: branch_manager(),
            name: PersonName::parse("负责人").unwrap(),
            role: Role::BranchManager,
            scope: Scope::Branch { branch: bid(1) },
            at: t0,
        }
        .into(),
        t0,
    ));
    for o in 0..2 {
        out.push((
            staff::Event::StaffJoined {
                staff_id: operator(o),
                name: PersonName::parse(&format!("运维{o}")).unwrap(),
                role: Role::Operator,
                scope: Scope::Company,
                at: t0,
            }
            .into(),
            t0,
        ));
    }
    for p in 0..3u8 {
        out.push((
            product::Event::ProductLaunched {
                product_id: pid(p),
                name: OrgName::parse(&format!("产品{p}")).unwrap(),
                kind: crm_domain::product::ProductKind::Fund,
                risk: ProductRisk::R1,
                at: t0,
            }
            .into(),
            t0,
        ));
    }
    out.push((
        campaign::Event::CampaignPlanned {
            campaign_id: kid(),
            name: OrgName::parse("春季理财").unwrap(),
            branch: None,
            target_segment: long("gold and above"),
            product_id: Some(pid(0)),
            starts_on: BASE,
            ends_on: BASE + Duration::days(200),
            budget: Money::from_yuan(10_000).unwrap(),
            at: t0,
        }
        .into(),
        t0,
    ));
    // A saved segment the campaign aims at, and the target list its launch froze (every other
    // customer): the call list and the segment records are folded live and rebuilt alike.
    out.push((
        crm_domain::segment::Event::SegmentSaved {
            segment_id: segid(),
            name: OrgName::parse("金卡客户").unwrap(),
            branch: None,
            filter: crm_domain::segment::Filter {
                tier: Some(crm_domain::segment::Tier::Gold),
                ..Default::default()
            },
            at: t0,
        }
        .into(),
        t0,
    ));
    out.push((
        campaign::Event::CampaignAimed {
            campaign_id: kid(),
            segment_id: segid(),
            at: t0,
        }
        .into(),
        t0,
    ));
    out.push((
        campaign::Event::CampaignLaunched {
            campaign_id: kid(),
            at: t0,
        }
        .into(),
        t0,
    ));
    for (channel, yuan) in [(Some(Channel::Phone), 3_000), (None, 2_000)] {
        out.push((
            campaign::Event::CampaignCostRecorded {
                campaign_id: kid(),
                channel,
                cost: Money::from_yuan(yuan).unwrap(),
                at: t0,
            }
            .into(),
            t0,
        ));
    }
    out.push((
        campaign::Event::CampaignTargetsFrozen {
            campaign_id: kid(),
            segment_id: segid(),
            customers: (0..CUSTOMERS).step_by(2).map(cid).collect(),
            at: t0,
        }
        .into(),
        t0,
    ));
    out
}

impl Sim {
    /// The events of one step (possibly none), with their business time.
    pub fn events(&mut self, s: &Step) -> Vec<(AnyEvent, OffsetDateTime)> {
        use customer::Event as E;
        let mut out: Vec<(AnyEvent, OffsetDateTime)> = Vec::new();
        if let Step::Bank(b) = s {
            return self.bank_events(b);
        }
        match *s {
            Step::Register(c, ch) if !self.registered.contains(&c) => {
                let t = at(0) + Duration::hours(i64::from(c));
                let number = ResidentIdNumber::with_check_character(&format!(
                    "11010519{:02}0{}15{:03}",
                    60 + c,
                    1 + c % 9,
                    c
                ))
                .unwrap();
                let birthday = number.birth_date();
                out.push((
                    E::CustomerRegistered {
                        customer_id: cid(c),
                        kind: CustomerKind::Individual,
                        profile: Profile {
                            name: OrgName::parse(&format!("客户{c}")).unwrap(),
                            document: IdDocument::ResidentId { number },
                            phone: None,
                            address: None,
                            region: Some(rid()),
                            birthday,
                            occupation: None,
                            source_channel: channel(ch),
                        },
                        lifecycle: Lifecycle::Active,
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.registered.insert(c);
                self.lifecycle.insert(c, Lifecycle::Active);
            }
            Step::Assign(c, st) if self.registered.contains(&c) => {
                let t = at(1);
                let to = Assignment {
                    branch: bid(branch_of_staff(st)),
                    manager: Some(sid(st)),
                    team: None,
                };
                let e = match self.assigned.get(&c) {
                    None => E::CustomerAssigned {
                        customer_id: cid(c),
                        to,
                        by: sid(st),
                        at: t,
                    },
                    Some(prev) => E::CustomerReassigned {
                        customer_id: cid(c),
                        from: Assignment {
                            branch: bid(branch_of_staff(*prev)),
                            manager: Some(sid(*prev)),
                            team: None,
                        },
                        to,
                        reason: text("rebalance"),
                        by: sid(st),
                        approved_by: None,
                        at: t,
                    },
                };
                self.assigned.insert(c, st);
                out.push((e.into(), t));
            }
            Step::OpenAccount(c, a)
                if self.registered.contains(&c) && !self.accounts.contains(&(c, a)) =>
            {
                let t = at(1);
                out.push((
                    E::AccountOpened {
                        customer_id: cid(c),
                        account_id: aid(c, a),
                        kind: crm_domain::customer::AccountKind::Fund,
                        number: text(&format!("F{c}{a}")),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.accounts.insert((c, a));
            }
            Step::Summary {
                c,
                a,
                day,
                turnover,
                kind,
                commission,
                deposit,
                withdraw,
                assets,
                pnl,
            } if self.accounts.contains(&(c, a)) => {
                let types = [
                    SecurityType::Stock,
                    SecurityType::Fund,
                    SecurityType::Bond,
                    SecurityType::Repo,
                    SecurityType::Margin,
                    SecurityType::Option,
                    SecurityType::WealthProduct,
                    SecurityType::Other,
                ];
                let mut lines = vec![TurnoverLine {
                    market: Market::Shanghai,
                    security_type: types[usize::from(kind % 8)],
                    channel: TradeChannel::Mobile,
                    amount: Money::from_yuan(i64::from(turnover)).unwrap(),
                }];
                if turnover % 3 == 0 {
                    lines.push(TurnoverLine {
                        market: Market::Shenzhen,
                        security_type: SecurityType::Fund,
                        channel: TradeChannel::Internet,
                        amount: Money::from_yuan(i64::from(turnover / 3)).unwrap(),
                    });
                }
                lines.sort();
                let summary = DailyTradeSummary {
                    trade_date: BASE + Duration::days(i64::from(day)),
                    customer_id: cid(c),
                    turnover: lines,
                    commission: Money::from_yuan(i64::from(commission)).unwrap(),
                    deposits: Money::from_yuan(i64::from(deposit)).unwrap(),
                    withdrawals: Money::from_yuan(i64::from(withdraw)).unwrap(),
                    end_of_day_assets: Money::from_yuan(i64::from(assets)).unwrap(),
                    holdings: vec![
                        HoldingLine {
                            asset_class: AssetClass::Cash,
                            market_value: Money::from_yuan(i64::from(assets / 3)).unwrap(),
                        },
                        HoldingLine {
                            asset_class: AssetClass::Stocks,
                            market_value: Money::from_yuan(i64::from(assets - assets / 3)).unwrap(),
                        },
                    ],
                    realised_pnl: Money::from_yuan(i64::from(pnl / 10)).unwrap(),
                    unrealised_pnl: Money::from_yuan(i64::from(pnl)).unwrap(),
                };
                let t = at(day) + Duration::hours(8);
                let e = match self.recorded.get(&(c, a, day)) {
                    Some(prev) if *prev == summary => return out,
                    Some(prev) => account::Event::DailyTradeSummaryCorrected {
                        account_id: aid(c, a),
                        previous: prev.clone(),
                        summary: summary.clone(),
                        at: t,
                    },
                    None => account::Event::DailyTradeSummaryRecorded {
                        account_id: aid(c, a),
                        summary: summary.clone(),
                        at: t,
                    },
                };
                self.recorded.insert((c, a, day), summary);
                out.push((e.into(), t));
            }
            Step::Contact(c, st, ch, day, follow) if self.registered.contains(&c) => {
                self.interactions += 1;
                let t = at(day);
                out.push((
                    interaction::Event::ContactRecorded {
                        interaction_id: InteractionId::from(Uuid::from_u128(
                            0x1_0000 + u128::from(self.interactions),
                        )),
                        customer_id: cid(c),
                        staff_id: sid(st),
                        channel: channel(ch),
                        direction: Direction::Outbound,
                        topic: text("回访"),
                        outcome: [
                            Outcome::Reached,
                            Outcome::NotReached,
                            Outcome::Interested,
                            Outcome::FollowUpNeeded,
                        ][usize::from(ch % 4)],
                        notes: long(""),
                        follow_up_on: follow.then(|| t.date() + Duration::days(3)),
                        at: t,
                    }
                    .into(),
                    t,
                ));
            }
            Step::Care(c, day) if self.registered.contains(&c) => {
                self.interactions += 1;
                let t = at(day);
                out.push((
                    interaction::Event::CareContactRecorded {
                        interaction_id: InteractionId::from(Uuid::from_u128(
                            0x1_0000 + u128::from(self.interactions),
                        )),
                        customer_id: cid(c),
                        staff_id: sid(0),
                        occasion: {
                            use crm_domain::interaction::CareOccasion::*;
                            [Birthday, Holiday, MarketEvent][usize::from(day % 3)]
                        },
                        channel: Channel::WeChat,
                        notes: long(""),
                        at: t,
                    }
                    .into(),
                    t,
                ));
            }
            Step::Churn(c, day)
                if matches!(
                    self.lifecycle.get(&c),
                    Some(Lifecycle::Active | Lifecycle::Dormant)
                ) =>
            {
                let t = at(day);
                out.push((
                    E::CustomerChurned {
                        customer_id: cid(c),
                        reason: ChurnReason::Fees,
                        note: None,
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.lifecycle.insert(c, Lifecycle::Churned);
            }
            Step::Reactivate(c, day)
                if matches!(
                    self.lifecycle.get(&c),
                    Some(Lifecycle::Churned | Lifecycle::Dormant)
                ) =>
            {
                let t = at(day);
                out.push((
                    E::CustomerReactivated {
                        customer_id: cid(c),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.lifecycle.insert(c, Lifecycle::Active);
            }
            Step::Dormant(c, day) if self.lifecycle.get(&c) == Some(&Lifecycle::Active) => {
                let t = at(day);
                out.push((
                    E::CustomerBecameDormant {
                        customer_id: cid(c),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.lifecycle.insert(c, Lifecycle::Dormant);
            }
            Step::Sell(c, p, day) if self.lifecycle.get(&c) == Some(&Lifecycle::Active) => {
                let t = at(day);
                out.push((
                    E::ProductSold {
                        customer_id: cid(c),
                        product_id: pid(p),
                        product_risk: ProductRisk::R1,
                        customer_level: RiskTolerance::C3,
                        amount: Money::from_yuan(10_000).unwrap(),
                        by: sid(0),
                        at: t,
                    }
                    .into(),
                    t,
                ));
            }
            Step::Suitability(c, day) if self.registered.contains(&c) => {
                let t = at(day);
                let on = t.date();
                out.push((
                    E::SuitabilityAssessed {
                        customer_id: cid(c),
                        assessment: SuitabilityAssessment {
                            level: RiskTolerance::C3,
                            assessed_on: on,
                            expires_on: on + Duration::days(60),
                        },
                        at: t,
                    }
                    .into(),
                    t,
                ));
            }
            Step::Ticket(c, day, k) if self.registered.contains(&c) => {
                let id = TicketId::from(Uuid::from_u128(0x7_0000 + self.tickets.len() as u128));
                let t = at(day);
                out.push((
                    ticket::Event::TicketOpened {
                        ticket_id: id,
                        customer_id: Some(cid(c)),
                        branch: None,
                        kind: [
                            TicketKind::Complaint,
                            TicketKind::Suggestion,
                            TicketKind::Inquiry,
                            TicketKind::Request,
                        ][usize::from(k % 4)],
                        priority: Priority::Normal,
                        channel: Channel::Phone,
                        subject: text("问题"),
                        description: long(""),
                        sla_deadline: t + Duration::hours(24),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.tickets.push((id, 0));
            }
            Step::TicketProgress(n, day) if !self.tickets.is_empty() => {
                let i = usize::from(n) % self.tickets.len();
                let (id, stage) = self.tickets[i];
                let t = at(day);
                let e = match stage {
                    0 => ticket::Event::TicketAssigned {
                        ticket_id: id,
                        assignee: sid(n % STAFF),
                        by: sid(0),
                        at: t,
                    },
                    1 => ticket::Event::TicketResolved {
                        ticket_id: id,
                        resolution: long("ok"),
                        within_sla: n % 2 == 0,
                        by: sid(0),
                        at: t,
                    },
                    2 => ticket::Event::TicketClosed {
                        ticket_id: id,
                        satisfaction: Satisfaction::parse(1 + n % 5).unwrap(),
                        at: t,
                    },
                    _ => return out,
                };
                self.tickets[i].1 += 1;
                out.push((e.into(), t));
            }
            Step::Lead(c, ch, day, win) if self.registered.contains(&c) => {
                self.opportunities += 1;
                let id =
                    OpportunityId::from(Uuid::from_u128(0x8_0000 + u128::from(self.opportunities)));
                let t = at(day);
                out.push((
                    opportunity::Event::LeadCreated {
                        opportunity_id: id,
                        customer_id: cid(c),
                        product_id: Some(pid(0)),
                        expected_amount: Money::from_yuan(50_000).unwrap(),
                        owner: sid(c % STAFF),
                        source: channel(ch),
                        title: text("基金"),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                if win {
                    out.push((
                        opportunity::Event::OpportunityWon {
                            opportunity_id: id,
                            customer_id: cid(c),
                            amount: Money::from_yuan(40_000).unwrap(),
                            at: t,
                        }
                        .into(),
                        t,
                    ));
                }
            }
            Step::Respond(c, r, day) if self.registered.contains(&c) => {
                let response = [
                    Response::Contacted,
                    Response::Interested,
                    Response::NotInterested,
                    Response::Converted,
                ][usize::from(r % 4)];
                let t = at(day);
                self.responses.insert(c, response);
                // Every other day's response names its channel (the ROI's per-channel rows).
                let event = if day % 2 == 0 {
                    campaign::Event::CampaignResponseRecordedVia {
                        campaign_id: kid(),
                        customer_id: cid(c),
                        response,
                        channel: channel(c),
                        at: t,
                    }
                } else {
                    campaign::Event::CampaignResponseRecorded {
                        campaign_id: kid(),
                        customer_id: cid(c),
                        response,
                        at: t,
                    }
                };
                out.push((event.into(), t));
            }
            Step::Transfer(c, day)
                if self.assigned.contains_key(&c) && !self.pending_transfer.contains(&c) =>
            {
                let prev = self.assigned[&c];
                let t = at(day);
                out.push((
                    E::TransferRequested {
                        customer_id: cid(c),
                        from: Assignment {
                            branch: bid(branch_of_staff(prev)),
                            manager: Some(sid(prev)),
                            team: None,
                        },
                        to: Assignment {
                            branch: bid(1),
                            manager: Some(sid(3)),
                            team: None,
                        },
                        reason: text("moved"),
                        by: sid(prev),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                self.pending_transfer.insert(c);
            }
            Step::Market(day, turnover) => {
                let trade_date = BASE + Duration::days(i64::from(day));
                let totals = MarketTotals {
                    turnover: Money::from_yuan(i64::from(turnover)).unwrap(),
                };
                let t = at(day) + Duration::hours(9);
                let e = match self.markets.get(&day) {
                    Some(prev) if *prev == totals.turnover => return out,
                    Some(prev) => market::Event::MarketTotalsCorrected {
                        trade_date,
                        market: Market::Shanghai,
                        previous: MarketTotals { turnover: *prev },
                        totals,
                        at: t,
                    },
                    None => market::Event::MarketTotalsRecorded {
                        trade_date,
                        market: Market::Shanghai,
                        totals,
                        at: t,
                    },
                };
                self.markets.insert(day, totals.turnover);
                out.push((e.into(), t));
            }
            Step::Viewed(c, day) => {
                let t = at(day) + Duration::days(30);
                out.push((
                    crm_domain::access::Event::PiiViewed {
                        staff_id: sid(0),
                        customer_id: cid(c),
                        fields: vec![crm_domain::access::PiiField::IdDocument],
                        purpose: "customer".into(),
                        at: t,
                    }
                    .into(),
                    t,
                ));
            }
            Step::Rules(scale, day) => {
                self.rules_version += 1;
                let version = self.rules_version + 1;
                let content = rules_file(version, scale);
                let id = RuleSetId::from(Uuid::from_u128(0x9_0000));
                let t = at(day);
                out.push((
                    rules::Event::RuleSetProposed {
                        rule_set_id: id,
                        version,
                        content_hash: crm_projections::rules::content_hash(&content),
                        content,
                        by: operator(0),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                out.push((
                    rules::Event::RuleSetApproved {
                        rule_set_id: id,
                        version,
                        by: operator(1),
                        at: t,
                    }
                    .into(),
                    t,
                ));
                out.push((
                    rules::Event::RuleSetActivated {
                        rule_set_id: id,
                        version,
                        previous: (version > 2).then(|| version - 1),
                        by: operator(1),
                        at: t,
                    }
                    .into(),
                    t,
                ));
            }
            _ => {}
        }
        out
    }
}

/// Appends one domain event as the app would.
pub async fn append(
    store: &EventStore,
    n: &mut u64,
    event: &AnyEvent,
    occurred_at: OffsetDateTime,
) {
    *n += 1;
    let metadata = EventMetadata {
        actor: "staff-test".into(),
        occurred_at,
        correlation_id: Some(Uuid::from_u128(u128::from(*n) / 3)),
        causation_id: None,
        command_id: None,
    };
    let id = Uuid::from_u128(0xE_0000_0000 + u128::from(*n));
    macro_rules! enc {
        ($($v:ident),+) => {
            match event {
                $(AnyEvent::$v(e) => (
                    crm_codec::encode(e, id, metadata).unwrap(),
                    crm_codec::stream_of(e).unwrap(),
                ),)+
            }
        };
    }
    let (new, stream) = enc!(
        Customer,
        Account,
        Market,
        Ticket,
        Region,
        Branch,
        Staff,
        Interaction,
        Opportunity,
        Campaign,
        Product,
        Article,
        Rules,
        Access,
        Appraisal,
        Deposit,
        Loan,
        BankServices,
        FeeIncome,
        Segment
    );
    store
        .append(&stream, ExpectedRevision::Any, vec![new])
        .await
        .unwrap();
}

pub fn config() -> StoreConfig {
    StoreConfig {
        durability: Durability::Batched {
            interval: std::time::Duration::from_millis(50),
        },
        ..StoreConfig::default()
    }
}

/// The same log in a fresh store (positions, recorded times and hashes reproduced), holding
/// only the first `limit` events when given.
pub async fn copy_log(
    store: &EventStore,
    dir: &std::path::Path,
    limit: Option<usize>,
) -> EventStore {
    let copy = EventStore::open(dir, config()).unwrap();
    let mut export = Vec::new();
    store.export_jsonl(&mut export).unwrap();
    let text = String::from_utf8(export).unwrap();
    let lines: Vec<&str> = text.lines().take(limit.unwrap_or(usize::MAX)).collect();
    let mut joined = lines.join("\n");
    joined.push('\n');
    if !lines.is_empty() {
        copy.import_jsonl(joined.as_bytes()).await.unwrap();
    }
    copy
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
