//! The read models' state and the fold that builds it: [`apply`] takes one recorded event and
//! changes the [`Model`] — customer archive (360), accounts, organisation, tickets,
//! opportunities, campaigns, per-branch daily figures and per-staff monthly figures — under a
//! [`RuleBook`]. Pure: no IO and no clock; every date comes from the events (business time in
//! China Standard Time, or a summary's trade date), so a live fold and a rebuild agree.
//!
//! Counters by branch and by customer manager (customers by tier, status, …, assets by asset
//! class) are kept by *facets*: before an event touches a customer its facets are taken, after
//! it they are taken again, and only the difference moves the counters. That keeps every event
//! O(1) however many customers a branch holds.

use std::collections::BTreeMap;

use crm_domain::account::{self, DailyTradeSummary};
use crm_domain::auth::{Role, Scope};
use crm_domain::branch::BranchKind;
use crm_domain::campaign::Response;
use crm_domain::customer::{self, Assignment, ChurnReason, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::{
    AccountId, ArticleId, BranchId, CampaignId, CustomerId, InteractionId, OpportunityId,
    ProductId, RegionId, RuleSetId, StaffId, TeamId, TicketId,
};
use crm_domain::interaction::Outcome;
use crm_domain::product::ProductKind;
use crm_domain::risk::{ProductRisk, SuitabilityAssessment};
use crm_domain::ticket::{Priority, TicketKind};
use crm_domain::values::Channel;
use crm_domain::{
    branch, campaign, interaction, market, opportunity, product, region, rules, staff, ticket,
    AnyEvent, Money,
};
use crm_eventstore::RecordedEvent;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::derive::{self, RiskPreference, Tier};
use crate::keyed::Keyed;
use crate::rules::{RuleBook, DAILY_WINDOW_DAYS};

/// China Standard Time: business days of a Chinese brokerage begin at midnight in UTC+8.
pub const BUSINESS_OFFSET: UtcOffset = time::macros::offset!(+8);

/// Months of monthly figures a customer keeps: the trailing twelve plus the current one.
pub const MONTHS_KEPT: u32 = 13;

pub const TIERS: usize = 4;
pub const LIFECYCLES: usize = 6;
pub const KINDS: usize = 2;
pub const CHANNELS: usize = 10;
pub const ASSET_CLASSES: usize = 6;
pub const SECURITY_TYPES: usize = 8;
pub const TRADE_CHANNELS: usize = 6;
pub const MARKETS: usize = 5;

/// The business date of an instant.
pub fn business_date(at: OffsetDateTime) -> Date {
    at.to_offset(BUSINESS_OFFSET).date()
}

/// A month as one number (year × 12 + month − 1), so windows are plain ranges.
pub fn month_index(d: Date) -> u32 {
    let y = u32::try_from(d.year().max(0)).unwrap_or(0);
    y * 12 + u32::from(u8::from(d.month())) - 1
}

pub(crate) fn madd(a: Money, b: Money) -> Money {
    Money::from_minor(a.minor().saturating_add(b.minor()))
}

pub(crate) fn mscale(a: Money, sign: i64) -> Money {
    Money::from_minor(a.minor().saturating_mul(sign))
}

// ---------------------------------------------------------------- customers

/// One customer's figures for one trade date, summed over their accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    pub date: Date,
    pub turnover: Money,
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    /// Sum of the accounts' end-of-day assets reported for that date.
    pub assets: Money,
    /// Position of the last summary that changed this day.
    pub position: u64,
}

/// One customer's figures for one calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MonthFigures {
    pub month: u32,
    pub turnover: Money,
    pub high_risk_turnover: Money,
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    pub realised_pnl: Money,
    /// Sum of daily end-of-day assets and the number of days, for mean assets.
    pub assets_sum: Money,
    pub asset_days: u32,
    pub drawdown_days: i32,
    pub drawdown_adding: i32,
    pub drawdown_fleeing: i32,
    pub summaries: u32,
    pub first_position: u64,
    pub last_position: u64,
}

/// One entry of the interaction timeline (接触记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub interaction_id: Option<InteractionId>,
    /// contact, care, visit, win_back
    pub kind: String,
    pub channel: Channel,
    pub staff: StaffId,
    pub topic: String,
    pub outcome: Option<Outcome>,
    pub at: OffsetDateTime,
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub account_id: AccountId,
    pub kind: customer::AccountKind,
    pub number: String,
    pub opened_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentEntry {
    pub assignment: Assignment,
    pub reason: Option<String>,
    pub by: StaffId,
    pub approved_by: Option<StaffId>,
    pub at: OffsetDateTime,
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTransfer {
    pub from: Assignment,
    pub to: Assignment,
    pub reason: String,
    pub by: StaffId,
    pub at: OffsetDateTime,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub due: Date,
    pub staff: StaffId,
    pub interaction_id: InteractionId,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedVisit {
    pub interaction_id: InteractionId,
    pub staff: StaffId,
    pub planned_for: OffsetDateTime,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductHolding {
    pub product_id: ProductId,
    pub risk: ProductRisk,
    pub amount: Money,
    pub first_sold: OffsetDateTime,
    pub position: u64,
}

/// What the fold derived for a customer under the generation's rules, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Derived {
    /// Contribution score in hundredths of a point.
    pub score_centi: i64,
    pub tier: Tier,
    pub risk_preference: RiskPreference,
    /// The date the figures were evaluated at (the customer's latest trade date, or their
    /// registration date before any trade).
    pub evaluated_on: Option<Date>,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignConversion {
    pub campaign_id: CampaignId,
    pub from: Date,
    pub until: Date,
}

/// The customer archive (客户档案) as folded from the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub id: CustomerId,
    pub kind: CustomerKind,
    /// PII stays here; masking is the API's job.
    pub profile: Profile,
    pub lifecycle: Lifecycle,
    pub registered_at: OffsetDateTime,
    pub registered_position: u64,
    pub key_customer: bool,
    pub group_customer: bool,
    pub group_members: Vec<CustomerId>,
    pub churn_reason: Option<(ChurnReason, Option<String>)>,
    pub accounts: Vec<AccountInfo>,
    pub assignment: Option<Assignment>,
    pub assignment_history: Vec<AssignmentEntry>,
    pub pending_transfer: Option<PendingTransfer>,
    pub suitability: Option<SuitabilityAssessment>,
    pub suitability_position: u64,
    pub timeline: Vec<TimelineEntry>,
    pub tickets: Vec<TicketId>,
    pub opportunities: Vec<OpportunityId>,
    pub campaigns: Vec<(CampaignId, Response)>,
    pub products: Vec<ProductHolding>,
    /// Latest end-of-day assets, summed over accounts each at its latest trade date.
    pub assets: Money,
    pub assets_date: Option<Date>,
    pub holdings: [Money; ASSET_CLASSES],
    pub unrealised_pnl: Money,
    /// The last [`DAILY_WINDOW_DAYS`] days with figures, oldest first.
    pub days: Vec<DayFigures>,
    /// The last [`MONTHS_KEPT`] months with figures, oldest first.
    pub months: Vec<MonthFigures>,
    pub last_summary_date: Option<Date>,
    pub last_trade: Option<Date>,
    pub last_contact: Option<Date>,
    pub follow_up: Option<FollowUp>,
    pub planned_visits: Vec<PlannedVisit>,
    pub conversions: Vec<CampaignConversion>,
    pub derived: Derived,
    pub merged_into: Option<CustomerId>,
    /// The last position that changed this record.
    pub position: u64,
}

impl CustomerRecord {
    pub(crate) fn new(
        id: CustomerId,
        kind: CustomerKind,
        profile: Profile,
        lifecycle: Lifecycle,
        at: OffsetDateTime,
        position: u64,
    ) -> Self {
        CustomerRecord {
            id,
            kind,
            profile,
            lifecycle,
            registered_at: at,
            registered_position: position,
            key_customer: false,
            group_customer: false,
            group_members: Vec::new(),
            churn_reason: None,
            accounts: Vec::new(),
            assignment: None,
            assignment_history: Vec::new(),
            pending_transfer: None,
            suitability: None,
            suitability_position: 0,
            timeline: Vec::new(),
            tickets: Vec::new(),
            opportunities: Vec::new(),
            campaigns: Vec::new(),
            products: Vec::new(),
            assets: Money::ZERO,
            assets_date: None,
            holdings: [Money::ZERO; ASSET_CLASSES],
            unrealised_pnl: Money::ZERO,
            days: Vec::new(),
            months: Vec::new(),
            last_summary_date: None,
            last_trade: None,
            last_contact: None,
            follow_up: None,
            planned_visits: Vec::new(),
            conversions: Vec::new(),
            derived: Derived::default(),
            merged_into: None,
            position,
        }
    }

    pub fn branch(&self) -> Option<BranchId> {
        self.assignment.map(|a| a.branch)
    }

    pub fn manager(&self) -> Option<StaffId> {
        self.assignment.and_then(|a| a.manager)
    }

    /// The date the customer's figures are evaluated at by the fold.
    pub fn evaluation_date(&self) -> Date {
        self.last_summary_date
            .unwrap_or_else(|| business_date(self.registered_at))
    }

    /// Latest activity: a trade or a contact.
    pub fn last_activity(&self) -> Option<Date> {
        self.last_trade.max(self.last_contact)
    }

    fn facets(&self) -> Facets {
        Facets {
            counted: self.lifecycle != Lifecycle::Merged,
            branch: self.branch(),
            manager: self.manager(),
            tier: self.derived.tier as usize,
            lifecycle: self.lifecycle as usize,
            kind: self.kind as usize,
            region: self.profile.region,
            channel: self.profile.source_channel as usize,
            assets: self.assets,
            holdings: self.holdings,
            in_profit: self.unrealised_pnl > Money::ZERO,
            score_centi: self.derived.score_centi,
        }
    }
}

/// What a customer adds to the counters of their branch and manager.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facets {
    counted: bool,
    branch: Option<BranchId>,
    manager: Option<StaffId>,
    tier: usize,
    lifecycle: usize,
    kind: usize,
    region: Option<RegionId>,
    channel: usize,
    assets: Money,
    holdings: [Money; ASSET_CLASSES],
    in_profit: bool,
    score_centi: i64,
}

impl Facets {
    fn none() -> Facets {
        Facets {
            counted: false,
            branch: None,
            manager: None,
            tier: 0,
            lifecycle: 0,
            kind: 0,
            region: None,
            channel: 0,
            assets: Money::ZERO,
            holdings: [Money::ZERO; ASSET_CLASSES],
            in_profit: false,
            score_centi: 0,
        }
    }
}

/// Stock figures of a set of customers (a branch, a manager's book).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub customers: i64,
    pub by_tier: [i64; TIERS],
    pub by_lifecycle: [i64; LIFECYCLES],
    pub by_kind: [i64; KINDS],
    pub by_channel: [i64; CHANNELS],
    pub by_region: BTreeMap<RegionId, i64>,
    pub assets: Money,
    pub holdings: [Money; ASSET_CLASSES],
    pub in_profit: i64,
    pub score_sum_centi: i64,
}

impl Totals {
    fn add(&mut self, f: &Facets, sign: i64) {
        if !f.counted {
            return;
        }
        self.customers += sign;
        self.by_tier[f.tier.min(TIERS - 1)] += sign;
        self.by_lifecycle[f.lifecycle.min(LIFECYCLES - 1)] += sign;
        self.by_kind[f.kind.min(KINDS - 1)] += sign;
        self.by_channel[f.channel.min(CHANNELS - 1)] += sign;
        if let Some(r) = f.region {
            // Zero counts stay (queries skip them): a customer's figures move -1 then +1 on
            // every summary, and removing and re-inserting the entry each time costs more.
            *self.by_region.entry(r).or_insert(0) += sign;
        }
        self.assets = madd(self.assets, mscale(f.assets, sign));
        for (h, v) in self.holdings.iter_mut().zip(f.holdings) {
            *h = madd(*h, mscale(v, sign));
        }
        if f.in_profit {
            self.in_profit += sign;
        }
        self.score_sum_centi = self
            .score_sum_centi
            .saturating_add(f.score_centi.saturating_mul(sign));
    }
}

/// Flow figures of one day (a branch) or one month (a staff member).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flows {
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    pub turnover: Money,
    pub turnover_by_security_type: [Money; SECURITY_TYPES],
    pub turnover_by_trade_channel: [Money; TRADE_CHANNELS],
    pub turnover_by_market: [Money; MARKETS],
    pub new_customers: i64,
    pub churned: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    pub contacts: i64,
    pub won_amount: Money,
}

impl Flows {
    pub fn net_inflow(&self) -> Money {
        madd(self.deposits, mscale(self.withdrawals, -1))
    }

    pub fn add_flows(&mut self, o: &Flows) {
        self.commission = madd(self.commission, o.commission);
        self.deposits = madd(self.deposits, o.deposits);
        self.withdrawals = madd(self.withdrawals, o.withdrawals);
        self.turnover = madd(self.turnover, o.turnover);
        for (a, b) in self
            .turnover_by_security_type
            .iter_mut()
            .zip(o.turnover_by_security_type)
        {
            *a = madd(*a, b);
        }
        for (a, b) in self
            .turnover_by_trade_channel
            .iter_mut()
            .zip(o.turnover_by_trade_channel)
        {
            *a = madd(*a, b);
        }
        for (a, b) in self.turnover_by_market.iter_mut().zip(o.turnover_by_market) {
            *a = madd(*a, b);
        }
        self.new_customers += o.new_customers;
        self.churned += o.churned;
        self.upgraded += o.upgraded;
        self.downgraded += o.downgraded;
        self.contacts += o.contacts;
        self.won_amount = madd(self.won_amount, o.won_amount);
    }

    fn add_summary(&mut self, s: &DailyTradeSummary, sign: i64) {
        self.commission = madd(self.commission, mscale(s.commission, sign));
        self.deposits = madd(self.deposits, mscale(s.deposits, sign));
        self.withdrawals = madd(self.withdrawals, mscale(s.withdrawals, sign));
        for l in &s.turnover {
            let v = mscale(l.amount, sign);
            self.turnover = madd(self.turnover, v);
            let t = &mut self.turnover_by_security_type
                [(l.security_type as usize).min(SECURITY_TYPES - 1)];
            *t = madd(*t, v);
            let c =
                &mut self.turnover_by_trade_channel[(l.channel as usize).min(TRADE_CHANNELS - 1)];
            *c = madd(*c, v);
            let m = &mut self.turnover_by_market[(l.market as usize).min(MARKETS - 1)];
            *m = madd(*m, v);
        }
    }
}

/// A branch's figures of one business day: the flows of that day and the stock at its end.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BranchDay {
    pub flows: Flows,
    pub totals: Totals,
    /// The range of log positions that changed this day (for explanations).
    pub first_position: u64,
    pub last_position: u64,
}

/// A staff member's figures of one month: flows and their book at its end.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StaffMonth {
    pub flows: Flows,
    pub book: Totals,
    /// The range of log positions that changed this month (for explanations).
    pub first_position: u64,
    pub last_position: u64,
}

/// A branch's running totals and the days it has figures for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BranchRecord {
    pub totals: Totals,
    /// Sorted.
    pub days: Vec<Date>,
}

/// A staff member: who, where, and their book (客户经理的客户).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRecord {
    pub id: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub left: bool,
    pub book: Totals,
    /// Sorted month indexes with figures.
    pub months: Vec<u32>,
}

impl StaffRecord {
    fn new(id: StaffId) -> StaffRecord {
        StaffRecord {
            id,
            name: String::new(),
            role: None,
            scope: None,
            left: false,
            book: Totals::default(),
            months: Vec::new(),
        }
    }

    pub fn branch(&self) -> Option<BranchId> {
        match self.scope {
            Some(Scope::Branch { branch }) | Some(Scope::Book { branch, .. }) => Some(branch),
            _ => None,
        }
    }

    pub fn team(&self) -> Option<TeamId> {
        match self.scope {
            Some(Scope::Book { team, .. }) => team,
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- other records

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub owner: CustomerId,
    pub latest_date: Option<Date>,
    pub assets: Money,
    pub holdings: [Money; ASSET_CLASSES],
    pub unrealised_pnl: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    Open,
    Assigned,
    Resolved,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub id: TicketId,
    pub customer: Option<CustomerId>,
    pub branch: Option<BranchId>,
    pub kind: TicketKind,
    pub priority: Priority,
    pub channel: Channel,
    pub subject: String,
    pub opened_at: OffsetDateTime,
    pub sla_deadline: OffsetDateTime,
    pub assignee: Option<StaffId>,
    pub status: TicketStatus,
    pub escalation_level: u8,
    pub resolved_at: Option<OffsetDateTime>,
    pub within_sla: Option<bool>,
    pub satisfaction: Option<u8>,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpportunityStage {
    Lead,
    Qualified,
    Proposal,
    Won,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityRecord {
    pub id: OpportunityId,
    pub customer: CustomerId,
    pub product: Option<ProductId>,
    pub expected_amount: Money,
    pub owner: StaffId,
    pub source: Channel,
    pub title: String,
    pub stage: OpportunityStage,
    pub amount: Option<Money>,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub product: Option<ProductId>,
    pub starts_on: Date,
    pub ends_on: Date,
    pub budget: Money,
    /// planned, launched, closed, cancelled
    pub status: String,
    pub responses: BTreeMap<CustomerId, Response>,
    /// Net inflow of converted customers from their conversion to the campaign's end.
    pub assets_attracted: Money,
}

/// Contacts and conversions of one channel (渠道效果).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChannelStats {
    pub contacts: i64,
    pub reached: i64,
    pub interested: i64,
    pub leads: i64,
    pub won: i64,
    pub won_amount: Money,
    pub tickets: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInfo {
    pub name: String,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchInfo {
    pub name: String,
    pub region: RegionId,
    pub kind: BranchKind,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInfo {
    pub branch: BranchId,
    pub name: String,
    pub lead: Option<StaffId>,
    pub dissolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    pub name: String,
    pub kind: ProductKind,
    pub risk: ProductRisk,
    pub withdrawn: bool,
}

/// A rules version as the log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleVersionRecord {
    pub rule_set_id: RuleSetId,
    pub version: u32,
    pub content_hash: String,
    pub content: String,
    /// proposed, approved, rejected, active, superseded
    pub status: String,
    pub proposed_by: StaffId,
    pub approved_by: Option<StaffId>,
    pub proposed_position: u64,
    pub activated_position: Option<u64>,
}

/// The small, slowly changing part of the model, stored as one value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    pub regions: BTreeMap<RegionId, RegionInfo>,
    pub branches: BTreeMap<BranchId, BranchInfo>,
    pub teams: BTreeMap<TeamId, TeamInfo>,
    pub products: BTreeMap<ProductId, ProductInfo>,
    pub campaigns: BTreeMap<CampaignId, CampaignRecord>,
    pub channels: [ChannelStats; CHANNELS],
    /// Market-wide turnover per trade date and market (市场成交额).
    pub market_totals: BTreeMap<Date, [Money; MARKETS]>,
    pub rule_versions: BTreeMap<u32, RuleVersionRecord>,
    pub active_rules: Option<u32>,
    /// The latest business date seen in the log: "today" for the read models.
    pub log_date: Option<Date>,
    pub events: u64,
}

/// A knowledge article, announcement or news item (知识库 / 公告), as last revised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleRecord {
    pub id: ArticleId,
    pub kind: crm_domain::article::ArticleKind,
    /// The branch it is for; `None`: the whole company.
    pub audience: Option<BranchId>,
    pub title: String,
    pub body: String,
    pub revision: u32,
    pub published_by: StaffId,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub withdrawn: bool,
    pub position: u64,
}

/// Every read model, folded together so each event is decoded once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub meta: Meta,
    pub meta_dirty: bool,
    pub customers: Keyed<CustomerId, CustomerRecord>,
    pub accounts: Keyed<AccountId, AccountRecord>,
    pub tickets: Keyed<TicketId, TicketRecord>,
    pub opportunities: Keyed<OpportunityId, OpportunityRecord>,
    pub staff: Keyed<StaffId, StaffRecord>,
    pub branches: Keyed<BranchId, BranchRecord>,
    pub branch_days: Keyed<(BranchId, Date), BranchDay>,
    pub staff_months: Keyed<(StaffId, u32), StaffMonth>,
    pub articles: Keyed<ArticleId, ArticleRecord>,
    /// The position of the event being applied (bookkeeping, not state).
    pub applying: u64,
}

/// Two models are compared by content; the unflushed flag is bookkeeping.
pub fn same_content(a: &Model, b: &Model) -> bool {
    a.meta == b.meta
        && a.customers == b.customers
        && a.accounts == b.accounts
        && a.tickets == b.tickets
        && a.opportunities == b.opportunities
        && a.staff == b.staff
        && a.branches == b.branches
        && a.branch_days == b.branch_days
        && a.staff_months == b.staff_months
        && a.articles == b.articles
}

// ---------------------------------------------------------------- the fold

/// Applies one event to the model under `rules`. Total: events that do not fit the state
/// (a summary for an unknown customer, a response to an unknown campaign) change what they
/// can and nothing else.
pub fn apply(m: &mut Model, recorded: &RecordedEvent, event: &AnyEvent, rules: &RuleBook) {
    if let AnyEvent::Article(e) = event {
        // Articles feed only the article list: they do not move the log's business date or
        // the event count, so the figures of every other read model stay as they were.
        apply_article(m, recorded.position.0, e);
        return;
    }
    if matches!(event, AnyEvent::Access(_)) {
        // Inputs of no read model (see `generation::IGNORED_CATEGORIES`): they change
        // nothing, not even the log date, so folding them or skipping them agrees.
        return;
    }
    let p = recorded.position.0;
    m.applying = p;
    let day = match event {
        AnyEvent::Account(
            account::Event::DailyTradeSummaryRecorded { summary, .. }
            | account::Event::DailyTradeSummaryCorrected { summary, .. },
        ) => summary.trade_date,
        _ => business_date(recorded.metadata.occurred_at),
    };
    m.meta.events += 1;
    if m.meta.log_date.is_none_or(|d| day > d) {
        m.meta.log_date = Some(day);
    }
    m.meta_dirty = true;
    match event {
        AnyEvent::Customer(e) => apply_customer(m, p, day, e, rules),
        AnyEvent::Account(e) => apply_account(m, p, e, rules),
        AnyEvent::Market(e) => apply_market(m, e),
        AnyEvent::Ticket(e) => apply_ticket(m, p, e),
        AnyEvent::Region(e) => apply_region(m, e),
        AnyEvent::Branch(e) => apply_branch(m, e),
        AnyEvent::Staff(e) => apply_staff(m, e),
        AnyEvent::Interaction(e) => apply_interaction(m, p, day, e),
        AnyEvent::Opportunity(e) => apply_opportunity(m, p, day, e),
        AnyEvent::Campaign(e) => apply_campaign(m, e),
        AnyEvent::Product(e) => apply_product(m, e),
        AnyEvent::Rules(e) => apply_rules(m, p, e),
        AnyEvent::Article(_) | AnyEvent::Access(_) => {}
    }
}

impl Model {
    fn branch_day(&mut self, branch: BranchId, day: Date) -> &mut BranchDay {
        if !self.branch_days.contains(&(branch, day)) {
            let rec = self
                .branches
                .entry_or_insert_with(branch, BranchRecord::default);
            let totals = rec.totals.clone();
            if let Err(i) = rec.days.binary_search(&day) {
                rec.days.insert(i, day);
            }
            self.branch_days.insert(
                (branch, day),
                BranchDay {
                    flows: Flows::default(),
                    totals,
                    first_position: self.applying,
                    last_position: self.applying,
                },
            );
        }
        let d = self
            .branch_days
            .entry_or_insert_with((branch, day), BranchDay::default);
        d.last_position = d.last_position.max(self.applying);
        d
    }

    fn staff_month(&mut self, staff: StaffId, month: u32) -> &mut StaffMonth {
        if !self.staff_months.contains(&(staff, month)) {
            let rec = self
                .staff
                .entry_or_insert_with(staff, || StaffRecord::new(staff));
            let book = rec.book.clone();
            if let Err(i) = rec.months.binary_search(&month) {
                rec.months.insert(i, month);
            }
            self.staff_months.insert(
                (staff, month),
                StaffMonth {
                    flows: Flows::default(),
                    book,
                    first_position: self.applying,
                    last_position: self.applying,
                },
            );
        }
        let sm = self
            .staff_months
            .entry_or_insert_with((staff, month), StaffMonth::default);
        sm.last_position = sm.last_position.max(self.applying);
        sm
    }

    /// Moves the counters of branch and manager from `before` to `after`, on `day`.
    fn shift(&mut self, before: &Facets, after: &Facets, day: Date) {
        if before == after {
            return;
        }
        for (f, sign) in [(before, -1i64), (after, 1)] {
            if !f.counted {
                continue;
            }
            if let Some(b) = f.branch {
                self.branch_day(b, day).totals.add(f, sign);
                if let Some(rec) = self.branches.get_mut(&b) {
                    rec.totals.add(f, sign);
                }
            }
            if let Some(s) = f.manager {
                self.staff_month(s, month_index(day)).book.add(f, sign);
                if let Some(rec) = self.staff.get_mut(&s) {
                    rec.book.add(f, sign);
                }
            }
        }
    }

    /// Adds flows to the customer's branch on `day` and manager in its month.
    fn flow(&mut self, assignment: Option<Assignment>, day: Date, f: impl Fn(&mut Flows)) {
        if let Some(a) = assignment {
            f(&mut self.branch_day(a.branch, day).flows);
            if let Some(s) = a.manager {
                f(&mut self.staff_month(s, month_index(day)).flows);
            }
        }
    }

    /// Changes a customer through `f`, keeping the counters of branch and manager right.
    fn with_customer(
        &mut self,
        id: CustomerId,
        p: u64,
        day: Date,
        f: impl FnOnce(&mut CustomerRecord),
    ) -> bool {
        let Some(c) = self.customers.get_mut(&id) else {
            return false;
        };
        let before = c.facets();
        f(c);
        c.position = p;
        let after = c.facets();
        self.shift(&before, &after, day);
        true
    }

    /// Re-evaluates a customer's derived values; a tier move counts as an upgrade or a
    /// downgrade for their branch and manager in the month of the evaluation date.
    fn evaluate(&mut self, id: CustomerId, p: u64, rules: &RuleBook) {
        let Some(c) = self.customers.get(&id) else {
            return;
        };
        let on = c.evaluation_date();
        let next = derive::evaluate(c, rules, on, p);
        let old = c.derived;
        if old.score_centi == next.score_centi
            && old.tier == next.tier
            && old.risk_preference == next.risk_preference
        {
            return;
        }
        let assignment = c.assignment;
        let counted = c.lifecycle != Lifecycle::Merged;
        self.with_customer(id, p, on, |c| c.derived = next);
        if counted && next.tier != old.tier {
            let up = next.tier > old.tier;
            self.flow(assignment, on, |f| {
                if up {
                    f.upgraded += 1
                } else {
                    f.downgraded += 1
                }
            });
        }
    }
}

fn push_history(
    c: &mut CustomerRecord,
    to: Assignment,
    reason: Option<String>,
    by: StaffId,
    approved_by: Option<StaffId>,
    at: OffsetDateTime,
    p: u64,
) {
    c.assignment = Some(to);
    c.assignment_history.push(AssignmentEntry {
        assignment: to,
        reason,
        by,
        approved_by,
        at,
        position: p,
    });
}

fn apply_customer(m: &mut Model, p: u64, day: Date, e: &customer::Event, rules: &RuleBook) {
    use customer::Event as E;
    match e {
        E::CustomerRegistered {
            customer_id,
            kind,
            profile,
            lifecycle,
            at,
        } => {
            if m.customers.contains(customer_id) {
                return;
            }
            let c = CustomerRecord::new(*customer_id, *kind, profile.clone(), *lifecycle, *at, p);
            let after = c.facets();
            m.customers.insert(*customer_id, c);
            m.shift(&Facets::none(), &after, day);
            m.evaluate(*customer_id, p, rules);
        }
        E::ProfileUpdated {
            customer_id,
            profile,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| c.profile = profile.clone());
        }
        E::KeyCustomerMarked {
            customer_id,
            is_key,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| c.key_customer = *is_key);
        }
        E::GroupCustomerMarked {
            customer_id,
            is_group,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| c.group_customer = *is_group);
        }
        E::GroupMemberLinked {
            customer_id,
            member,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                if !c.group_members.contains(member) {
                    c.group_members.push(*member)
                }
            });
        }
        E::GroupMemberUnlinked {
            customer_id,
            member,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.group_members.retain(|x| x != member)
            });
        }
        E::CustomerActivated { customer_id, .. } | E::CustomerReactivated { customer_id, .. } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.lifecycle = Lifecycle::Active;
                c.churn_reason = None;
            });
        }
        E::CustomerBecameDormant { customer_id, .. } => {
            m.with_customer(*customer_id, p, day, |c| c.lifecycle = Lifecycle::Dormant);
        }
        E::CustomerChurned {
            customer_id,
            reason,
            note,
            ..
        } => {
            let assignment = m.customers.get(customer_id).and_then(|c| c.assignment);
            if m.with_customer(*customer_id, p, day, |c| {
                c.lifecycle = Lifecycle::Churned;
                c.churn_reason = Some((*reason, note.as_ref().map(|n| n.as_str().to_string())));
            }) {
                m.flow(assignment, day, |f| f.churned += 1);
            }
        }
        E::WinBackAttempted {
            customer_id,
            by,
            channel,
            note,
            at,
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.timeline.push(TimelineEntry {
                    interaction_id: None,
                    kind: "win_back".into(),
                    channel: *channel,
                    staff: *by,
                    topic: note
                        .as_ref()
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default(),
                    outcome: None,
                    at: *at,
                    position: p,
                });
                c.last_contact = c.last_contact.max(Some(day));
            });
        }
        E::CustomerClosed { customer_id, .. } => {
            m.with_customer(*customer_id, p, day, |c| c.lifecycle = Lifecycle::Closed);
        }
        E::AccountOpened {
            customer_id,
            account_id,
            kind,
            number,
            at,
        } => {
            if m.with_customer(*customer_id, p, day, |c| {
                if !c.accounts.iter().any(|a| a.account_id == *account_id) {
                    c.accounts.push(AccountInfo {
                        account_id: *account_id,
                        kind: *kind,
                        number: number.as_str().to_string(),
                        opened_at: *at,
                        closed_at: None,
                    });
                }
            }) && !m.accounts.contains(account_id)
            {
                m.accounts.insert(
                    *account_id,
                    AccountRecord {
                        owner: *customer_id,
                        latest_date: None,
                        assets: Money::ZERO,
                        holdings: [Money::ZERO; ASSET_CLASSES],
                        unrealised_pnl: Money::ZERO,
                    },
                );
            }
        }
        E::AccountClosed {
            customer_id,
            account_id,
            at,
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                for a in c
                    .accounts
                    .iter_mut()
                    .filter(|a| a.account_id == *account_id)
                {
                    a.closed_at = Some(*at);
                }
            });
        }
        E::SuitabilityAssessed {
            customer_id,
            assessment,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.suitability = Some(*assessment);
                c.suitability_position = p;
            });
        }
        E::ProductRecommended { .. } => {}
        E::ProductSold {
            customer_id,
            product_id,
            product_risk,
            amount,
            at,
            ..
        } => {
            if m.with_customer(*customer_id, p, day, |c| {
                match c.products.iter_mut().find(|h| h.product_id == *product_id) {
                    Some(h) => {
                        h.amount = madd(h.amount, *amount);
                        h.position = p;
                    }
                    None => c.products.push(ProductHolding {
                        product_id: *product_id,
                        risk: *product_risk,
                        amount: *amount,
                        first_sold: *at,
                        position: p,
                    }),
                }
            }) {
                m.evaluate(*customer_id, p, rules);
            }
        }
        E::CustomerAssigned {
            customer_id,
            to,
            by,
            at,
        } => {
            if m.with_customer(*customer_id, p, day, |c| {
                push_history(c, *to, None, *by, None, *at, p)
            }) {
                m.flow(Some(*to), day, |f| f.new_customers += 1);
                // Per-branch contribution overrides follow the assignment.
                m.evaluate(*customer_id, p, rules);
            }
        }
        E::CustomerReassigned {
            customer_id,
            to,
            reason,
            by,
            approved_by,
            at,
            ..
        } => {
            if m.with_customer(*customer_id, p, day, |c| {
                c.pending_transfer = None;
                push_history(
                    c,
                    *to,
                    Some(reason.as_str().to_string()),
                    *by,
                    *approved_by,
                    *at,
                    p,
                )
            }) {
                m.evaluate(*customer_id, p, rules);
            }
        }
        E::TransferRequested {
            customer_id,
            from,
            to,
            reason,
            by,
            at,
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.pending_transfer = Some(PendingTransfer {
                    from: *from,
                    to: *to,
                    reason: reason.as_str().to_string(),
                    by: *by,
                    at: *at,
                    position: p,
                })
            });
        }
        E::TransferApproved { customer_id, .. } | E::TransferRejected { customer_id, .. } => {
            // The approval's reassignment follows in the same append and moves the customer.
            m.with_customer(*customer_id, p, day, |c| c.pending_transfer = None);
        }
        E::CustomerMergedInto {
            customer_id,
            survivor,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.lifecycle = Lifecycle::Merged;
                c.merged_into = Some(*survivor);
                // The survivor takes the accounts over (CustomerMergeAbsorbed).
                c.accounts.clear();
            });
        }
        E::CustomerMergeAbsorbed {
            customer_id,
            accounts,
            ..
        } => {
            // The accounts' latest figures move to the survivor; their daily and monthly
            // history stays with the merged record (the survivor's windows start afresh).
            for (account_id, info) in accounts {
                let moved = m.accounts.get(account_id).copied();
                if let Some(acc) = moved {
                    if acc.owner != *customer_id {
                        // Take the account's latest figures off the duplicate.
                        m.with_customer(acc.owner, p, day, |c| {
                            c.assets = madd(c.assets, mscale(acc.assets, -1));
                            c.unrealised_pnl =
                                madd(c.unrealised_pnl, mscale(acc.unrealised_pnl, -1));
                            for (h, v) in c.holdings.iter_mut().zip(acc.holdings) {
                                *h = madd(*h, mscale(v, -1));
                            }
                        });
                        m.with_customer(*customer_id, p, day, |c| {
                            c.assets = madd(c.assets, acc.assets);
                            c.unrealised_pnl = madd(c.unrealised_pnl, acc.unrealised_pnl);
                            for (h, v) in c.holdings.iter_mut().zip(acc.holdings) {
                                *h = madd(*h, v);
                            }
                            c.assets_date = c.assets_date.max(acc.latest_date);
                        });
                    }
                }
                if let Some(acc) = m.accounts.get_mut(account_id) {
                    acc.owner = *customer_id;
                } else {
                    m.accounts.insert(
                        *account_id,
                        AccountRecord {
                            owner: *customer_id,
                            latest_date: None,
                            assets: Money::ZERO,
                            holdings: [Money::ZERO; ASSET_CLASSES],
                            unrealised_pnl: Money::ZERO,
                        },
                    );
                }
                m.with_customer(*customer_id, p, day, |c| {
                    if !c.accounts.iter().any(|a| a.account_id == *account_id) {
                        c.accounts.push(AccountInfo {
                            account_id: *account_id,
                            kind: info.kind,
                            number: info.number.as_str().to_string(),
                            opened_at: info.opened_at,
                            closed_at: info.closed_at,
                        });
                    }
                });
            }
            m.evaluate(*customer_id, p, rules);
        }
    }
}

fn high_risk_turnover(s: &DailyTradeSummary, rules: &RuleBook) -> Money {
    s.turnover
        .iter()
        .filter(|l| rules.is_high_risk(l.security_type))
        .fold(Money::ZERO, |a, l| madd(a, l.amount))
}

/// Adds (sign 1) or takes back (sign -1, a corrected summary's previous figures) one
/// summary's flows to the customer's daily and monthly figures.
fn add_figures(c: &mut CustomerRecord, s: &DailyTradeSummary, sign: i64, p: u64, rules: &RuleBook) {
    let turnover = s
        .turnover
        .iter()
        .fold(Money::ZERO, |a, l| madd(a, l.amount));
    let date = s.trade_date;
    // Daily figures, kept for the last DAILY_WINDOW_DAYS days of the customer's figures.
    let newest = c.last_summary_date.max(Some(date)).unwrap_or(date);
    let oldest_kept = newest - time::Duration::days(i64::from(DAILY_WINDOW_DAYS) - 1);
    let mut new_day = false;
    if date >= oldest_kept {
        let i = match c.days.binary_search_by_key(&date, |d| d.date) {
            Ok(i) => i,
            Err(i) => {
                new_day = sign > 0;
                c.days.insert(
                    i,
                    DayFigures {
                        date,
                        turnover: Money::ZERO,
                        commission: Money::ZERO,
                        deposits: Money::ZERO,
                        withdrawals: Money::ZERO,
                        assets: Money::ZERO,
                        position: p,
                    },
                );
                i
            }
        };
        if let Some(d) = c.days.get_mut(i) {
            d.turnover = madd(d.turnover, mscale(turnover, sign));
            d.commission = madd(d.commission, mscale(s.commission, sign));
            d.deposits = madd(d.deposits, mscale(s.deposits, sign));
            d.withdrawals = madd(d.withdrawals, mscale(s.withdrawals, sign));
            d.assets = madd(d.assets, mscale(s.end_of_day_assets, sign));
            d.position = p;
        }
    }
    let cut = c.days.partition_point(|d| d.date < oldest_kept);
    if cut > 0 {
        c.days.drain(..cut);
    }
    // Monthly figures for the trailing-twelve-month windows.
    let month = month_index(date);
    let newest_month = month_index(newest);
    if month + MONTHS_KEPT > newest_month {
        let i = match c.months.binary_search_by_key(&month, |m| m.month) {
            Ok(i) => i,
            Err(i) => {
                c.months.insert(
                    i,
                    MonthFigures {
                        month,
                        first_position: p,
                        ..MonthFigures::default()
                    },
                );
                i
            }
        };
        if let Some(mf) = c.months.get_mut(i) {
            mf.turnover = madd(mf.turnover, mscale(turnover, sign));
            mf.high_risk_turnover = madd(
                mf.high_risk_turnover,
                mscale(high_risk_turnover(s, rules), sign),
            );
            mf.commission = madd(mf.commission, mscale(s.commission, sign));
            mf.deposits = madd(mf.deposits, mscale(s.deposits, sign));
            mf.withdrawals = madd(mf.withdrawals, mscale(s.withdrawals, sign));
            mf.realised_pnl = madd(mf.realised_pnl, mscale(s.realised_pnl, sign));
            mf.assets_sum = madd(mf.assets_sum, mscale(s.end_of_day_assets, sign));
            if new_day {
                mf.asset_days += 1;
            }
            let loss_floor =
                s.end_of_day_assets.minor() / 100 * i64::from(rules.risk.drawdown_loss_pct);
            if s.end_of_day_assets > Money::ZERO && -s.unrealised_pnl.minor() >= loss_floor {
                let sg = i32::try_from(sign).unwrap_or(0);
                mf.drawdown_days += sg;
                if s.deposits > s.withdrawals {
                    mf.drawdown_adding += sg;
                } else if s.withdrawals > s.deposits {
                    mf.drawdown_fleeing += sg;
                }
            }
            if sign > 0 {
                mf.summaries += 1;
            }
            mf.last_position = p;
        }
    }
    let keep_from = newest_month.saturating_sub(MONTHS_KEPT - 1);
    let cut = c.months.partition_point(|m| m.month < keep_from);
    if cut > 0 {
        c.months.drain(..cut);
    }
    if sign > 0 {
        c.last_summary_date = Some(newest);
        if turnover > Money::ZERO {
            c.last_trade = c.last_trade.max(Some(date));
        }
    }
}

fn apply_account(m: &mut Model, p: u64, e: &account::Event, rules: &RuleBook) {
    let (account_id, previous, summary) = match e {
        account::Event::DailyTradeSummaryRecorded {
            account_id,
            summary,
            ..
        } => (account_id, None, summary),
        account::Event::DailyTradeSummaryCorrected {
            account_id,
            previous,
            summary,
            ..
        } => (account_id, Some(previous), summary),
    };
    let acc = *m
        .accounts
        .entry_or_insert_with(*account_id, || AccountRecord {
            owner: summary.customer_id,
            latest_date: None,
            assets: Money::ZERO,
            holdings: [Money::ZERO; ASSET_CLASSES],
            unrealised_pnl: Money::ZERO,
        });
    let owner = acc.owner;
    let Some(assignment) = m.customers.get(&owner).map(|c| c.assignment) else {
        return;
    };
    let date = summary.trade_date;
    let mut holdings = [Money::ZERO; ASSET_CLASSES];
    for h in &summary.holdings {
        let slot = &mut holdings[(h.asset_class as usize).min(ASSET_CLASSES - 1)];
        *slot = madd(*slot, h.market_value);
    }
    let latest = acc.latest_date.is_none_or(|d| date >= d);
    if latest {
        if let Some(a) = m.accounts.get_mut(account_id) {
            a.latest_date = Some(date);
            a.assets = summary.end_of_day_assets;
            a.holdings = holdings;
            a.unrealised_pnl = summary.unrealised_pnl;
        }
    }
    m.with_customer(owner, p, date, |c| {
        if let Some(prev) = previous {
            add_figures(c, prev, -1, p, rules);
        }
        add_figures(c, summary, 1, p, rules);
        if latest {
            c.assets = madd(
                c.assets,
                madd(summary.end_of_day_assets, mscale(acc.assets, -1)),
            );
            c.unrealised_pnl = madd(
                c.unrealised_pnl,
                madd(summary.unrealised_pnl, mscale(acc.unrealised_pnl, -1)),
            );
            for ((h, new), old) in c.holdings.iter_mut().zip(holdings).zip(acc.holdings) {
                *h = madd(*h, madd(new, mscale(old, -1)));
            }
            c.assets_date = c.assets_date.max(Some(date));
        }
    });
    if let Some(prev) = previous {
        m.flow(assignment, prev.trade_date, |f| f.add_summary(prev, -1));
    }
    m.flow(assignment, date, |f| f.add_summary(summary, 1));
    // Campaign conversions attract the converted customer's net inflow until the campaign ends.
    let conversions = m
        .customers
        .get(&owner)
        .map(|c| c.conversions.clone())
        .unwrap_or_default();
    for conv in conversions {
        if let Some(camp) = m.meta.campaigns.get_mut(&conv.campaign_id) {
            for (s, sign) in previous.map(|x| (x, -1)).into_iter().chain([(summary, 1)]) {
                if s.trade_date >= conv.from && s.trade_date <= conv.until {
                    let net = madd(s.deposits, mscale(s.withdrawals, -1));
                    camp.assets_attracted = madd(camp.assets_attracted, mscale(net, sign));
                }
            }
        }
    }
    m.evaluate(owner, p, rules);
}

fn apply_market(m: &mut Model, e: &market::Event) {
    let (trade_date, mkt, totals) = match e {
        market::Event::MarketTotalsRecorded {
            trade_date,
            market,
            totals,
            ..
        }
        | market::Event::MarketTotalsCorrected {
            trade_date,
            market,
            totals,
            ..
        } => (trade_date, market, totals),
    };
    let day = m
        .meta
        .market_totals
        .entry(*trade_date)
        .or_insert([Money::ZERO; MARKETS]);
    day[(*mkt as usize).min(MARKETS - 1)] = totals.turnover;
}

fn apply_ticket(m: &mut Model, p: u64, e: &ticket::Event) {
    use ticket::Event as E;
    match e {
        E::TicketOpened {
            ticket_id,
            customer_id,
            branch,
            kind,
            priority,
            channel,
            subject,
            sla_deadline,
            at,
            ..
        } => {
            let branch = branch.or_else(|| {
                customer_id
                    .and_then(|c| m.customers.get(&c))
                    .and_then(|c| c.branch())
            });
            m.tickets.insert(
                *ticket_id,
                TicketRecord {
                    id: *ticket_id,
                    customer: *customer_id,
                    branch,
                    kind: *kind,
                    priority: *priority,
                    channel: *channel,
                    subject: subject.as_str().to_string(),
                    opened_at: *at,
                    sla_deadline: *sla_deadline,
                    assignee: None,
                    status: TicketStatus::Open,
                    escalation_level: 0,
                    resolved_at: None,
                    within_sla: None,
                    satisfaction: None,
                    position: p,
                },
            );
            m.meta.channels[(*channel as usize).min(CHANNELS - 1)].tickets += 1;
            if let Some(c) = customer_id.and_then(|c| m.customers.get_mut(&c)) {
                c.tickets.push(*ticket_id);
            }
        }
        E::TicketAssigned {
            ticket_id,
            assignee,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.assignee = Some(*assignee);
                if t.status == TicketStatus::Open {
                    t.status = TicketStatus::Assigned;
                }
                t.position = p;
            }
        }
        E::TicketEscalated {
            ticket_id,
            level,
            priority,
            sla_deadline,
            to,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.escalation_level = *level;
                t.priority = *priority;
                t.sla_deadline = *sla_deadline;
                if let Some(s) = to {
                    t.assignee = Some(*s);
                    t.status = TicketStatus::Assigned;
                }
                t.position = p;
            }
        }
        E::TicketResolved {
            ticket_id,
            within_sla,
            at,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.status = TicketStatus::Resolved;
                t.resolved_at = Some(*at);
                t.within_sla = Some(*within_sla);
                t.position = p;
            }
        }
        E::TicketClosed {
            ticket_id,
            satisfaction,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.status = TicketStatus::Closed;
                t.satisfaction = Some(satisfaction.score());
                t.position = p;
            }
        }
        E::TicketReopened {
            ticket_id,
            sla_deadline,
            ..
        } => {
            if let Some(t) = m.tickets.get_mut(ticket_id) {
                t.status = if t.assignee.is_some() {
                    TicketStatus::Assigned
                } else {
                    TicketStatus::Open
                };
                t.sla_deadline = *sla_deadline;
                t.resolved_at = None;
                t.within_sla = None;
                t.position = p;
            }
        }
    }
}

fn apply_region(m: &mut Model, e: &region::Event) {
    use region::Event as E;
    match e {
        E::RegionEstablished {
            region_id, name, ..
        } => {
            m.meta.regions.insert(
                *region_id,
                RegionInfo {
                    name: name.as_str().to_string(),
                    closed: false,
                },
            );
        }
        E::RegionRenamed {
            region_id, name, ..
        } => {
            if let Some(r) = m.meta.regions.get_mut(region_id) {
                r.name = name.as_str().to_string();
            }
        }
        E::RegionClosed { region_id, .. } => {
            if let Some(r) = m.meta.regions.get_mut(region_id) {
                r.closed = true;
            }
        }
    }
}

fn apply_branch(m: &mut Model, e: &branch::Event) {
    use branch::Event as E;
    match e {
        E::BranchOpened {
            branch_id,
            region_id,
            name,
            kind,
            ..
        } => {
            m.meta.branches.insert(
                *branch_id,
                BranchInfo {
                    name: name.as_str().to_string(),
                    region: *region_id,
                    kind: *kind,
                    closed: false,
                },
            );
        }
        E::BranchRenamed {
            branch_id, name, ..
        } => {
            if let Some(b) = m.meta.branches.get_mut(branch_id) {
                b.name = name.as_str().to_string();
            }
        }
        E::BranchMovedToRegion { branch_id, to, .. } => {
            if let Some(b) = m.meta.branches.get_mut(branch_id) {
                b.region = *to;
            }
        }
        E::ServicePointAdded { .. } | E::ServicePointClosed { .. } => {}
        E::TeamFormed {
            branch_id,
            team_id,
            name,
            lead,
            ..
        } => {
            m.meta.teams.insert(
                *team_id,
                TeamInfo {
                    branch: *branch_id,
                    name: name.as_str().to_string(),
                    lead: *lead,
                    dissolved: false,
                },
            );
        }
        E::TeamLeadChanged { team_id, lead, .. } => {
            if let Some(t) = m.meta.teams.get_mut(team_id) {
                t.lead = *lead;
            }
        }
        E::TeamDissolved { team_id, .. } => {
            if let Some(t) = m.meta.teams.get_mut(team_id) {
                t.dissolved = true;
            }
        }
        E::BranchClosed { branch_id, .. } => {
            if let Some(b) = m.meta.branches.get_mut(branch_id) {
                b.closed = true;
            }
        }
    }
}

fn apply_staff(m: &mut Model, e: &staff::Event) {
    use staff::Event as E;
    match e {
        E::StaffJoined {
            staff_id,
            name,
            role,
            scope,
            ..
        } => {
            let s = m
                .staff
                .entry_or_insert_with(*staff_id, || StaffRecord::new(*staff_id));
            s.name = name.as_str().to_string();
            s.role = Some(*role);
            s.scope = Some(*scope);
        }
        E::StaffMoved { staff_id, to, .. } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.scope = Some(*to);
            }
        }
        E::StaffRoleChanged {
            staff_id,
            role,
            scope,
            ..
        } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.role = Some(*role);
                s.scope = Some(*scope);
            }
        }
        E::StaffLeft { staff_id, .. } => {
            if let Some(s) = m.staff.get_mut(staff_id) {
                s.left = true;
            }
        }
    }
}

fn apply_interaction(m: &mut Model, p: u64, day: Date, e: &interaction::Event) {
    use interaction::Event as E;
    match e {
        E::ContactRecorded {
            interaction_id,
            customer_id,
            staff_id,
            channel,
            topic,
            outcome,
            follow_up_on,
            at,
            ..
        } => {
            let assignment = m.customers.get(customer_id).and_then(|c| c.assignment);
            if m.with_customer(*customer_id, p, day, |c| {
                c.timeline.push(TimelineEntry {
                    interaction_id: Some(*interaction_id),
                    kind: "contact".into(),
                    channel: *channel,
                    staff: *staff_id,
                    topic: topic.as_str().to_string(),
                    outcome: Some(*outcome),
                    at: *at,
                    position: p,
                });
                c.last_contact = c.last_contact.max(Some(day));
                // The latest contact settles any earlier follow-up and may set a new one.
                c.follow_up = follow_up_on.map(|due| FollowUp {
                    due,
                    staff: *staff_id,
                    interaction_id: *interaction_id,
                    position: p,
                });
            }) {
                let ch = &mut m.meta.channels[(*channel as usize).min(CHANNELS - 1)];
                ch.contacts += 1;
                if !matches!(outcome, Outcome::NotReached) {
                    ch.reached += 1;
                }
                if matches!(outcome, Outcome::Interested) {
                    ch.interested += 1;
                }
                m.flow(assignment, day, |f| f.contacts += 1);
            }
        }
        E::CareContactRecorded {
            interaction_id,
            customer_id,
            staff_id,
            occasion,
            channel,
            at,
            ..
        } => {
            if m.with_customer(*customer_id, p, day, |c| {
                c.timeline.push(TimelineEntry {
                    interaction_id: Some(*interaction_id),
                    kind: "care".into(),
                    channel: *channel,
                    staff: *staff_id,
                    topic: format!("{occasion:?}"),
                    outcome: None,
                    at: *at,
                    position: p,
                });
                c.last_contact = c.last_contact.max(Some(day));
            }) {
                m.meta.channels[(*channel as usize).min(CHANNELS - 1)].contacts += 1;
            }
        }
        E::VisitPlanned {
            interaction_id,
            customer_id,
            staff_id,
            planned_for,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.planned_visits.push(PlannedVisit {
                    interaction_id: *interaction_id,
                    staff: *staff_id,
                    planned_for: *planned_for,
                    position: p,
                })
            });
        }
        E::VisitCompleted {
            interaction_id,
            customer_id,
            outcome,
            follow_up_on,
            at,
            ..
        } => {
            let mut staff = None;
            if m.with_customer(*customer_id, p, day, |c| {
                staff = c
                    .planned_visits
                    .iter()
                    .find(|v| v.interaction_id == *interaction_id)
                    .map(|v| v.staff);
                c.planned_visits
                    .retain(|v| v.interaction_id != *interaction_id);
                let by = staff
                    .or(c.manager())
                    .unwrap_or(StaffId::from_uuid(uuid::Uuid::nil()));
                c.timeline.push(TimelineEntry {
                    interaction_id: Some(*interaction_id),
                    kind: "visit".into(),
                    channel: Channel::Visit,
                    staff: by,
                    topic: String::new(),
                    outcome: Some(*outcome),
                    at: *at,
                    position: p,
                });
                c.last_contact = c.last_contact.max(Some(day));
                c.follow_up = follow_up_on.map(|due| FollowUp {
                    due,
                    staff: by,
                    interaction_id: *interaction_id,
                    position: p,
                });
            }) {
                m.meta.channels[Channel::Visit as usize].contacts += 1;
            }
        }
        E::VisitCancelled {
            interaction_id,
            customer_id,
            ..
        } => {
            m.with_customer(*customer_id, p, day, |c| {
                c.planned_visits
                    .retain(|v| v.interaction_id != *interaction_id)
            });
        }
    }
}

fn apply_opportunity(m: &mut Model, p: u64, day: Date, e: &opportunity::Event) {
    use opportunity::Event as E;
    match e {
        E::LeadCreated {
            opportunity_id,
            customer_id,
            product_id,
            expected_amount,
            owner,
            source,
            title,
            at,
        } => {
            m.opportunities.insert(
                *opportunity_id,
                OpportunityRecord {
                    id: *opportunity_id,
                    customer: *customer_id,
                    product: *product_id,
                    expected_amount: *expected_amount,
                    owner: *owner,
                    source: *source,
                    title: title.as_str().to_string(),
                    stage: OpportunityStage::Lead,
                    amount: None,
                    created_at: *at,
                    closed_at: None,
                    position: p,
                },
            );
            m.meta.channels[(*source as usize).min(CHANNELS - 1)].leads += 1;
            if let Some(c) = m.customers.get_mut(customer_id) {
                c.opportunities.push(*opportunity_id);
            }
        }
        E::OpportunityQualified { opportunity_id, .. } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Qualified;
                o.position = p;
            }
        }
        E::ProposalMade {
            opportunity_id,
            product_id,
            expected_amount,
            ..
        } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Proposal;
                o.product = Some(*product_id);
                o.expected_amount = *expected_amount;
                o.position = p;
            }
        }
        E::OpportunityWon {
            opportunity_id,
            amount,
            at,
            ..
        } => {
            let mut won = None;
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Won;
                o.amount = Some(*amount);
                o.closed_at = Some(*at);
                o.position = p;
                won = Some((o.source, o.owner));
            }
            if let Some((source, owner)) = won {
                let ch = &mut m.meta.channels[(source as usize).min(CHANNELS - 1)];
                ch.won += 1;
                ch.won_amount = madd(ch.won_amount, *amount);
                let sm = m.staff_month(owner, month_index(day));
                sm.flows.won_amount = madd(sm.flows.won_amount, *amount);
            }
        }
        E::OpportunityLost {
            opportunity_id, at, ..
        } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.stage = OpportunityStage::Lost;
                o.closed_at = Some(*at);
                o.position = p;
            }
        }
        E::OpportunityOwnerChanged {
            opportunity_id, to, ..
        } => {
            if let Some(o) = m.opportunities.get_mut(opportunity_id) {
                o.owner = *to;
                o.position = p;
            }
        }
    }
}

fn apply_campaign(m: &mut Model, e: &campaign::Event) {
    use campaign::Event as E;
    match e {
        E::CampaignPlanned {
            campaign_id,
            name,
            branch,
            product_id,
            starts_on,
            ends_on,
            budget,
            ..
        } => {
            m.meta.campaigns.insert(
                *campaign_id,
                CampaignRecord {
                    id: *campaign_id,
                    name: name.as_str().to_string(),
                    branch: *branch,
                    product: *product_id,
                    starts_on: *starts_on,
                    ends_on: *ends_on,
                    budget: *budget,
                    status: "planned".into(),
                    responses: BTreeMap::new(),
                    assets_attracted: Money::ZERO,
                },
            );
        }
        E::CampaignLaunched { campaign_id, .. } => set_campaign_status(m, campaign_id, "launched"),
        E::CampaignClosed { campaign_id, .. } => set_campaign_status(m, campaign_id, "closed"),
        E::CampaignCancelled { campaign_id, .. } => {
            set_campaign_status(m, campaign_id, "cancelled")
        }
        E::CampaignResponseRecorded {
            campaign_id,
            customer_id,
            response,
            at,
        } => {
            let Some(camp) = m.meta.campaigns.get_mut(campaign_id) else {
                return;
            };
            let before = camp.responses.insert(*customer_id, *response);
            let until = camp.ends_on;
            if let Some(c) = m.customers.get_mut(customer_id) {
                match c.campaigns.iter_mut().find(|(id, _)| id == campaign_id) {
                    Some(entry) => entry.1 = *response,
                    None => c.campaigns.push((*campaign_id, *response)),
                }
                if *response == Response::Converted && before != Some(Response::Converted) {
                    c.conversions.push(CampaignConversion {
                        campaign_id: *campaign_id,
                        from: business_date(*at),
                        until,
                    });
                }
            }
        }
    }
}

fn set_campaign_status(m: &mut Model, id: &CampaignId, status: &str) {
    if let Some(c) = m.meta.campaigns.get_mut(id) {
        c.status = status.to_string();
    }
}

fn apply_product(m: &mut Model, e: &product::Event) {
    use product::Event as E;
    match e {
        E::ProductLaunched {
            product_id,
            name,
            kind,
            risk,
            ..
        } => {
            m.meta.products.insert(
                *product_id,
                ProductInfo {
                    name: name.as_str().to_string(),
                    kind: *kind,
                    risk: *risk,
                    withdrawn: false,
                },
            );
        }
        E::ProductRiskLevelChanged { product_id, to, .. } => {
            if let Some(x) = m.meta.products.get_mut(product_id) {
                x.risk = *to;
            }
        }
        E::ProductWithdrawn { product_id, .. } => {
            if let Some(x) = m.meta.products.get_mut(product_id) {
                x.withdrawn = true;
            }
        }
    }
}

fn apply_rules(m: &mut Model, p: u64, e: &rules::Event) {
    use rules::Event as E;
    match e {
        E::RuleSetProposed {
            rule_set_id,
            version,
            content_hash,
            content,
            by,
            ..
        } => {
            m.meta.rule_versions.insert(
                *version,
                RuleVersionRecord {
                    rule_set_id: *rule_set_id,
                    version: *version,
                    content_hash: content_hash.clone(),
                    content: content.clone(),
                    status: "proposed".into(),
                    proposed_by: *by,
                    approved_by: None,
                    proposed_position: p,
                    activated_position: None,
                },
            );
        }
        E::RuleSetApproved { version, by, .. } => {
            if let Some(v) = m.meta.rule_versions.get_mut(version) {
                v.status = "approved".into();
                v.approved_by = Some(*by);
            }
        }
        E::RuleSetRejected { version, .. } => {
            if let Some(v) = m.meta.rule_versions.get_mut(version) {
                v.status = "rejected".into();
            }
        }
        E::RuleSetActivated { version, .. } => {
            if let Some(prev) = m.meta.active_rules {
                if let Some(v) = m.meta.rule_versions.get_mut(&prev) {
                    v.status = "superseded".into();
                }
            }
            if let Some(v) = m.meta.rule_versions.get_mut(version) {
                v.status = "active".into();
                v.activated_position = Some(p);
            }
            m.meta.active_rules = Some(*version);
        }
    }
}

fn apply_article(m: &mut Model, p: u64, e: &crm_domain::article::Event) {
    use crm_domain::article::Event;
    match e {
        Event::ArticlePublished {
            article_id,
            kind,
            audience,
            title,
            body,
            by,
            at,
        } => m.articles.insert(
            *article_id,
            ArticleRecord {
                id: *article_id,
                kind: *kind,
                audience: *audience,
                title: title.as_str().to_string(),
                body: body.as_str().to_string(),
                revision: 1,
                published_by: *by,
                published_at: *at,
                updated_at: *at,
                withdrawn: false,
                position: p,
            },
        ),
        Event::ArticleRevised {
            article_id,
            revision,
            title,
            body,
            at,
            ..
        } => {
            if let Some(a) = m.articles.get_mut(article_id) {
                a.revision = *revision;
                a.title = title.as_str().to_string();
                a.body = body.as_str().to_string();
                a.updated_at = *at;
                a.position = p;
            }
        }
        Event::ArticleWithdrawn { article_id, at, .. } => {
            if let Some(a) = m.articles.get_mut(article_id) {
                a.withdrawn = true;
                a.updated_at = *at;
                a.position = p;
            }
        }
    }
}
