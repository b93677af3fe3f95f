//! The fold's core: [`Model`] holds every read model's state, and [`apply`] takes one recorded
//! event, decodes nothing twice and hands it to the read model modules in
//! [`crate::read_models`] (each of which holds its own state types, its part of the fold and its
//! queries), under a [`RuleBook`]. Pure: no IO and no clock; every date comes from the events (business time in
//! China Standard Time, or a summary's trade date), so a live fold and a rebuild agree.
//!
//! Counters by branch and by customer manager (customers by tier, status, …, assets by asset
//! class) are kept by *facets*: before an event touches a customer its facets are taken, after
//! it they are taken again, and only the difference moves the counters. That keeps every event
//! O(1) however many customers a branch holds.

use std::collections::BTreeMap;

use crm_domain::account;
use crm_domain::customer::{Assignment, Lifecycle};
use crm_domain::ids::{
    AccountId, ArticleId, BranchId, CampaignId, CustomerId, DepositAccountId, LoanId,
    OpportunityId, ProductId, RegionId, SegmentId, StaffId, TeamId, TicketId,
};
use crm_domain::{AnyEvent, Money};
use crm_eventstore::RecordedEvent;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::derive;
use crate::keyed::Keyed;
use crate::rules::RuleBook;

mod counters;

pub use crate::read_models::all::*;
pub(crate) use counters::Facets;
pub use counters::{Flows, Totals};

use crate::read_models::{
    accounts::apply_account,
    archive::apply_customer,
    banking::{apply_bank_services, apply_deposit, apply_fee_income, apply_loan},
    channels::apply_interaction,
    content::apply_article,
    dashboards::apply_market,
    org::{apply_branch, apply_product, apply_region, apply_staff},
    performance::note_acquired,
    rule_versions::apply_rules,
    sales::{apply_campaign, apply_opportunity},
    saved_segments::apply_segment,
    service::apply_ticket,
};

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

/// The small, slowly changing part of the model, stored as one value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    pub regions: BTreeMap<RegionId, RegionInfo>,
    pub branches: BTreeMap<BranchId, BranchInfo>,
    pub teams: BTreeMap<TeamId, TeamInfo>,
    pub products: BTreeMap<ProductId, ProductInfo>,
    pub campaigns: BTreeMap<CampaignId, CampaignRecord>,
    /// Saved segments (客户分群), by id.
    pub segments: BTreeMap<SegmentId, SegmentRecord>,
    pub channels: [ChannelStats; CHANNELS],
    /// Market-wide turnover per trade date and market (市场成交额).
    pub market_totals: BTreeMap<Date, [Money; MARKETS]>,
    pub rule_versions: BTreeMap<u32, RuleVersionRecord>,
    pub active_rules: Option<u32>,
    /// The latest business date seen in the log: "today" for the read models.
    pub log_date: Option<Date>,
    pub events: u64,
}

/// Every read model, folded together so each event is decoded once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub(crate) meta: Meta,
    pub(crate) meta_dirty: bool,
    /// Customers, tickets and loans are watched: the to-do index (`read_models::todo_index`)
    /// files the changed ones again in [`Model::settle`].
    pub(crate) customers: Keyed<CustomerId, CustomerRecord, true>,
    pub(crate) accounts: Keyed<AccountId, AccountRecord>,
    pub(crate) tickets: Keyed<TicketId, TicketRecord, true>,
    pub(crate) opportunities: Keyed<OpportunityId, OpportunityRecord>,
    pub(crate) staff: Keyed<StaffId, StaffRecord>,
    pub(crate) branches: Keyed<BranchId, BranchRecord>,
    pub(crate) branch_days: Keyed<(BranchId, Date), BranchDay>,
    pub(crate) staff_months: Keyed<(StaffId, u32), StaffMonth>,
    pub(crate) articles: Keyed<ArticleId, ArticleRecord>,
    /// Bank business (`read_models::banking`): accounts and loans with their latest position,
    /// customers' bank products and fee income, outlets' days.
    pub(crate) deposits: Keyed<DepositAccountId, DepositRecord>,
    pub(crate) loans: Keyed<LoanId, LoanRecord, true>,
    pub(crate) bank_customers: Keyed<CustomerId, BankCustomer>,
    pub(crate) outlets: Keyed<BranchId, OutletRecord>,
    pub(crate) outlet_days: Keyed<(BranchId, Date), OutletDay>,
    /// Each campaign's target list frozen at launch, sorted (up to `campaign::TARGETS_MAX`
    /// ids: kept apart from the meta value, which every flush writes whole).
    pub(crate) campaign_targets: Keyed<CampaignId, Vec<CustomerId>>,
    /// Customers' timelines and assignment histories not yet written to the generation's tree
    /// (they live there, one key per entry, not in the resident records).
    pub(crate) history: History,
    /// Customers whose identity document, phone or account numbers changed since the last
    /// flush: the next flush writes their lookup entries (`read_models::lookup`), and lookups
    /// check them until then. Other changes (a daily summary) write no lookup entry.
    pub(crate) lookup_changed: std::collections::BTreeSet<CustomerId>,
    /// The position of the event being applied (bookkeeping, not state).
    pub(crate) applying: u64,
    /// Branches and staff whose stock from this day (month) on waits for [`Model::settle`]
    /// (bookkeeping within a batch; empty whenever the model is read or stored).
    pub(crate) stale_branch_days: BTreeMap<BranchId, Date>,
    pub(crate) stale_staff_months: BTreeMap<StaffId, u32>,
    /// Who can have a to-do from which record (`read_models::todo_index`): derived from the
    /// records, kept in memory, never stored.
    pub(crate) todo_index: TodoIndex,
    /// Ticket figures by branch, kind, assignee and deadline date
    /// (`read_models::ticket_figures`): derived, kept by the ticket fold, never stored.
    pub(crate) ticket_figures: crate::read_models::ticket_figures::TicketFigures,
    /// The KPI's lost customers by branch and day, branch and month, staff member and month
    /// (`read_models::churn_figures`): derived, filed again in [`Model::settle`], never stored.
    pub(crate) churn_figures: crate::read_models::churn_figures::ChurnFigures,
    /// `[churn] churned_days` of the rules being folded (bookkeeping: a generation folds under
    /// one rule set), what a customer's dormancy spells are measured against.
    pub(crate) churned_days: u32,
}

/// Two models are compared by content; the unflushed flag is bookkeeping. Customers' history
/// is not compared here: it lives mostly in the generation's tree (compare it with
/// [`crate::Projections::history_entries`]).
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
        && a.deposits == b.deposits
        && a.loans == b.loans
        && a.bank_customers == b.bank_customers
        && a.outlets == b.outlets
        && a.outlet_days == b.outlet_days
        && a.campaign_targets == b.campaign_targets
}

impl Model {
    /// Marks every entry changed, so the next flush writes the whole model (after a flush
    /// that failed: what it took off the changed sets was never written).
    pub(crate) fn mark_all_dirty(&mut self) {
        self.meta_dirty = true;
        self.customers.mark_all_dirty();
        self.accounts.mark_all_dirty();
        self.tickets.mark_all_dirty();
        self.opportunities.mark_all_dirty();
        self.staff.mark_all_dirty();
        self.branches.mark_all_dirty();
        self.branch_days.mark_all_dirty();
        self.staff_months.mark_all_dirty();
        self.articles.mark_all_dirty();
        self.deposits.mark_all_dirty();
        self.loans.mark_all_dirty();
        self.bank_customers.mark_all_dirty();
        self.outlets.mark_all_dirty();
        self.outlet_days.mark_all_dirty();
        self.campaign_targets.mark_all_dirty();
        let all: Vec<CustomerId> = self.customers.iter().map(|(k, _)| *k).collect();
        self.lookup_changed.extend(all);
    }
}

/// How many events the model has applied (articles and the access log aside): it changes
/// whenever anything a query reads may have changed, so it versions caches of query results.
pub fn events_applied(m: &Model) -> u64 {
    m.meta.events
}

/// A customer's latest bank account activity (`read_models::banking`).
fn bank_activity(m: &Model, customer: Option<CustomerId>) -> Option<Date> {
    customer
        .and_then(|c| m.bank_customers.get(&c))
        .and_then(|bc| bc.last_activity)
}

/// A newer bank account activity counts for churn by dormancy (an older one arriving late
/// does not: the bank read model keeps only the latest day).
fn bank_active(m: &mut Model, customer: Option<CustomerId>, before: Option<Date>) {
    let after = bank_activity(m, customer);
    if let (Some(c), Some(day)) = (customer, after.filter(|a| Some(*a) > before)) {
        m.churn_activity(c, day);
    }
}

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
    if matches!(event, AnyEvent::Access(_) | AnyEvent::Appraisal(_)) {
        // Inputs of no read model (see `generation::IGNORED_CATEGORIES`): they change
        // nothing, not even the log date, so folding them or skipping them agrees. (Sealed
        // appraisal periods are read from their streams: a handful of events per period.)
        return;
    }
    let p = recorded.position.0;
    m.applying = p;
    m.churned_days = rules.churn.churned_days;
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
        AnyEvent::Article(_) | AnyEvent::Access(_) | AnyEvent::Appraisal(_) => {}
        AnyEvent::Deposit(e) => {
            let customer = crate::read_models::banking::deposit_customer(m, e);
            let before = bank_activity(m, customer);
            apply_deposit(m, p, e, rules);
            bank_active(m, customer, before);
            m.evaluate_bank(customer, p, rules);
        }
        AnyEvent::Loan(e) => {
            let customer = crate::read_models::banking::loan_customer(e);
            let before = bank_activity(m, customer);
            apply_loan(m, p, e);
            bank_active(m, customer, before);
            m.evaluate_bank(customer, p, rules);
        }
        AnyEvent::BankServices(e) => apply_bank_services(m, e),
        AnyEvent::FeeIncome(e) => {
            let customer = Some(crate::read_models::banking::fee_customer(e));
            let before = bank_activity(m, customer);
            apply_fee_income(m, e);
            bank_active(m, customer, before);
            m.evaluate_bank(customer, p, rules);
        }
        AnyEvent::Segment(e) => apply_segment(m, e),
    }
}

impl Model {
    /// A branch's figures of `day`, created if new. A new day starts from the stock at the end
    /// of the branch's previous day with figures, never from the running totals: those may
    /// already hold facts about later days (a back-dated fact recorded after them), and a day's
    /// stock must depend only on the facts about it and the days before.
    pub(crate) fn branch_day(&mut self, branch: BranchId, day: Date) -> &mut BranchDay {
        if !self.branch_days.contains(&(branch, day)) {
            let rec = self
                .branches
                .entry_or_insert_with(branch, BranchRecord::default);
            let i = match rec.days.binary_search(&day) {
                Ok(i) | Err(i) => i,
            };
            if rec.days.get(i) != Some(&day) {
                rec.days.insert(i, day);
            }
            let before = i.checked_sub(1).and_then(|j| rec.days.get(j)).copied();
            let totals = before
                .and_then(|d| self.branch_days.get(&(branch, d)))
                .map(|bd| bd.totals.clone())
                .unwrap_or_default();
            self.branch_days.insert(
                (branch, day),
                BranchDay {
                    flows: Flows::default(),
                    totals,
                    change: Totals::default(),
                    tier_moves: Vec::new(),
                    acquired: Vec::new(),
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

    /// A staff member's figures of `month`, created if new; like [`Model::branch_day`], a new
    /// month's book starts from the end of the previous month with figures.
    pub(crate) fn staff_month(&mut self, staff: StaffId, month: u32) -> &mut StaffMonth {
        if !self.staff_months.contains(&(staff, month)) {
            let rec = self
                .staff
                .entry_or_insert_with(staff, || StaffRecord::new(staff));
            let i = match rec.months.binary_search(&month) {
                Ok(i) | Err(i) => i,
            };
            if rec.months.get(i) != Some(&month) {
                rec.months.insert(i, month);
            }
            let before = i.checked_sub(1).and_then(|j| rec.months.get(j)).copied();
            let book = before
                .and_then(|mo| self.staff_months.get(&(staff, mo)))
                .map(|sm| sm.book.clone())
                .unwrap_or_default();
            self.staff_months.insert(
                (staff, month),
                StaffMonth {
                    flows: Flows::default(),
                    book,
                    change: Totals::default(),
                    tier_moves: Vec::new(),
                    acquired: Vec::new(),
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
    pub(crate) fn shift(&mut self, before: &Facets, after: &Facets, day: Date) {
        if before == after {
            return;
        }
        for (f, sign) in [(before, -1i64), (after, 1)] {
            if !f.counted {
                continue;
            }
            // A fact about `day` is that day's change. The stock at the end of the day and of
            // every later day kept moves with it: at once when the day is the latest (facts in
            // date order, the common case), otherwise by `settle` at the end of the batch, which
            // sums the changes again from the earliest day touched (a back-dated fact).
            if let Some(b) = f.branch {
                self.branch_day(b, day).change.add(f, sign);
                if let Some(rec) = self.branches.get_mut(&b) {
                    rec.totals.add(f, sign);
                    let latest = rec.days.last() == Some(&day);
                    let stale = self.stale_branch_days.get(&b).copied();
                    if latest && stale.is_none() {
                        if let Some(bd) = self.branch_days.get_mut(&(b, day)) {
                            bd.totals.add(f, sign);
                        }
                    } else {
                        let from = stale.map_or(day, |s| s.min(day));
                        self.stale_branch_days.insert(b, from);
                    }
                }
            }
            if let Some(s) = f.manager {
                let month = month_index(day);
                self.staff_month(s, month).change.add(f, sign);
                if let Some(rec) = self.staff.get_mut(&s) {
                    rec.book.add(f, sign);
                    let latest = rec.months.last() == Some(&month);
                    let stale = self.stale_staff_months.get(&s).copied();
                    if latest && stale.is_none() {
                        if let Some(sm) = self.staff_months.get_mut(&(s, month)) {
                            sm.book.add(f, sign);
                        }
                    } else {
                        let from = stale.map_or(month, |m| m.min(month));
                        self.stale_staff_months.insert(s, from);
                    }
                }
            }
        }
    }

    /// Brings the stock of branch days and staff months that back-dated facts left behind up
    /// to date: from the earliest day (month) touched, each one's stock is the previous one's
    /// plus its change. Called at the end of every batch of the fold, before anyone reads or
    /// stores the model; the cost is that of the days after the earliest back-dated fact, once
    /// per batch, not per event. The to-do index files again the records the batch changed.
    pub fn settle(&mut self) {
        self.refresh_todo_index();
        for (b, from) in std::mem::take(&mut self.stale_branch_days) {
            let days = self
                .branches
                .get(&b)
                .map(|r| r.days.clone())
                .unwrap_or_default();
            let start = days.partition_point(|d| *d < from);
            let mut stock = start
                .checked_sub(1)
                .and_then(|i| days.get(i))
                .and_then(|d| self.branch_days.get(&(b, *d)))
                .map(|bd| bd.totals.clone())
                .unwrap_or_default();
            for d in days.get(start..).unwrap_or_default() {
                if let Some(bd) = self.branch_days.get_mut(&(b, *d)) {
                    stock.add_totals(&bd.change);
                    if bd.totals != stock {
                        bd.totals = stock.clone();
                    }
                }
            }
        }
        for (s, from) in std::mem::take(&mut self.stale_staff_months) {
            let months = self
                .staff
                .get(&s)
                .map(|r| r.months.clone())
                .unwrap_or_default();
            let start = months.partition_point(|m| *m < from);
            let mut book = start
                .checked_sub(1)
                .and_then(|i| months.get(i))
                .and_then(|m| self.staff_months.get(&(s, *m)))
                .map(|sm| sm.book.clone())
                .unwrap_or_default();
            for m in months.get(start..).unwrap_or_default() {
                if let Some(sm) = self.staff_months.get_mut(&(s, *m)) {
                    book.add_totals(&sm.change);
                    if sm.book != book {
                        sm.book = book.clone();
                    }
                }
            }
        }
    }

    /// Adds flows to the customer's branch on `day` and manager in its month.
    pub(crate) fn flow(
        &mut self,
        assignment: Option<Assignment>,
        day: Date,
        f: impl Fn(&mut Flows),
    ) {
        if let Some(a) = assignment {
            f(&mut self.branch_day(a.branch, day).flows);
            if let Some(s) = a.manager {
                f(&mut self.staff_month(s, month_index(day)).flows);
            }
        }
    }

    /// An activity of a customer on `day` (a trade, a reaching contact, an activation, bank
    /// account activity): what their churn by dormancy is measured from
    /// (`read_models::churn_kpi`).
    pub(crate) fn churn_activity(&mut self, id: CustomerId, day: Date) {
        let cd = self.churned_days;
        if let Some(c) = self.customers.get_mut(&id) {
            let registered = business_date(c.registered_at);
            let now = c.assignment;
            c.churn_track.activity(registered, day, cd, now);
        }
    }

    /// Changes a customer through `f`, keeping the counters of branch and manager right.
    pub(crate) fn with_customer(
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

    /// Counts a customer as new (新增) for the manager serving them, the first time they are
    /// both active and assigned: at activation when assigned already, at the first assignment
    /// when active already. Prospects are not new customers, and a reassignment is not an
    /// acquisition.
    pub(crate) fn acquire(&mut self, id: CustomerId, day: Date) {
        let Some(c) = self.customers.get(&id) else {
            return;
        };
        if c.acquired || c.lifecycle != Lifecycle::Active {
            return;
        }
        let Some(assignment) = c.assignment else {
            return;
        };
        if let Some(c) = self.customers.get_mut(&id) {
            c.acquired = true;
        }
        self.flow(Some(assignment), day, |f| f.new_customers += 1);
        self.branch_day(assignment.branch, day).acquired(id);
        if let Some(s) = assignment.manager {
            note_acquired(&mut self.staff_month(s, month_index(day)).acquired, id);
        }
    }

    /// Re-evaluates a customer's derived values; a tier move counts as an upgrade or a
    /// downgrade for their branch and manager in the month of the evaluation date.
    /// Evaluates a customer after a fact of their bank business, when the rules give bank
    /// tiers (otherwise bank facts change nothing derived).
    pub(crate) fn evaluate_bank(&mut self, id: Option<CustomerId>, p: u64, rules: &RuleBook) {
        let tiers = rules
            .bank_contribution
            .as_ref()
            .is_some_and(|b| b.tiers.is_some());
        if let (true, Some(id)) = (tiers, id) {
            self.evaluate(id, p, rules);
        }
    }

    pub(crate) fn evaluate(&mut self, id: CustomerId, p: u64, rules: &RuleBook) {
        let Some(c) = self.customers.get(&id) else {
            return;
        };
        let mut on = c.evaluation_date();
        let mut next = derive::evaluate(c, rules, on, p);
        // A customer who banks only: the tier follows the bank contribution when the rules
        // give bank tiers (`[bank_contribution] tiers`); securities customers keep theirs.
        if let Some((tier, day)) = derive::bank::bank_tier_of(self, rules, c) {
            next.tier = tier;
            next.evaluated_on = Some(day);
            on = day;
        }
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
            if let Some(a) = assignment {
                self.branch_day(a.branch, on)
                    .tier_move(id, old.tier, next.tier);
            }
            if let Some(s) = assignment.and_then(|a| a.manager) {
                self.staff_month(s, month_index(on))
                    .tier_move(id, old.tier, next.tier);
            }
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

/// "Today" for the read models: the given date, else the log's latest business date.
pub fn today(m: &Model, as_of: Option<Date>) -> Date {
    as_of.or(m.meta.log_date).unwrap_or(Date::MIN)
}
