//! The customer archive (客户档案, the 360° view): each customer's profile, lifecycle,
//! accounts, assignment history, suitability, timeline, products and derived values, the
//! customer events' fold, and the 360 query with its rolling windows.

use crate::read_models::churn_kpi::{ChurnTrack, LossCause};
use crm_domain::campaign::Response;
use crm_domain::customer::{self, Assignment, ChurnReason, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::{
    AccountId, BranchId, CampaignId, CustomerId, InteractionId, ProductId, StaffId,
};
use crm_domain::interaction::Outcome;
use crm_domain::risk::{ProductRisk, SuitabilityAssessment};
use crm_domain::values::Channel;
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::derive::{self, ChurnExplain, RiskPreference, Tier};
use crate::error::ProjectionError;
use crate::model::today;
use crate::model::{business_date, madd, mscale, Facets, Model, ASSET_CLASSES};
use crate::read_models::accounts::AccountRecord;
use crate::read_models::care::CareTrack;
use crate::read_models::follow_ups::FollowUpTrack;
use crate::read_models::history::{FlowSums, HistoryEntry, Order};
use crate::read_models::sales::OpportunityRecord;
use crate::read_models::service::TicketRecord;
use crate::read_models::service_plan::ServiceTrack;
use crate::rules::RuleBook;

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
    /// Which days of the month have figures (bit 0 is the 1st): `asset_days` counts them.
    pub day_mask: u32,
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

/// A standing warning that the customer may leave (流失预警, `CustomerFlaggedAtRisk`): who
/// raised it, why, when, and the log position. Never churn: no KPI counts it; it lifts the
/// churn risk to at least medium ([`derive::churn`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRiskFlagRecord {
    pub by: StaffId,
    pub reason: ChurnReason,
    pub note: Option<String>,
    pub at: OffsetDateTime,
    pub position: u64,
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
    /// Whether the customer was counted as a new customer (新增客户) of the manager who served
    /// them when they became active: once per customer, however often they are reassigned.
    pub acquired: bool,
    pub key_customer: bool,
    pub group_customer: bool,
    pub group_members: Vec<CustomerId>,
    pub churn_reason: Option<(ChurnReason, Option<String>)>,
    pub at_risk_flag: Option<AtRiskFlagRecord>,
    pub accounts: Vec<AccountInfo>,
    pub assignment: Option<Assignment>,
    pub pending_transfer: Option<PendingTransfer>,
    pub suitability: Option<SuitabilityAssessment>,
    pub suitability_position: u64,
    pub campaigns: Vec<(CampaignId, Response)>,
    pub products: Vec<ProductHolding>,
    /// Latest end-of-day assets, summed over accounts each at its latest trade date.
    pub assets: Money,
    pub assets_date: Option<Date>,
    pub holdings: [Money; ASSET_CLASSES],
    pub unrealised_pnl: Money,
    /// The days with figures in the churn rule's outflow window back from the newest one, and
    /// the last day before it, oldest first (at most [`crate::rules::DAILY_WINDOW_DAYS`] + 1).
    /// Every day's flows are in the customer's history on disk.
    pub days: Vec<DayFigures>,
    /// The last [`MONTHS_KEPT`] months with figures, oldest first.
    pub months: Vec<MonthFigures>,
    pub last_summary_date: Option<Date>,
    pub last_trade: Option<Date>,
    pub last_contact: Option<Date>,
    pub follow_up: Option<FollowUp>,
    pub planned_visits: Vec<PlannedVisit>,
    /// 分层服务: the last two days each channel reached the customer and the last two
    /// visits, what the service plan is read from (`read_models::service_plan`).
    pub service: ServiceTrack,
    pub conversions: Vec<CampaignConversion>,
    pub derived: Derived,
    pub merged_into: Option<CustomerId>,
    /// A rural bank's segment of the customer (农户 / 个体工商户 / 小微企业), if recorded: what
    /// `[bank_contribution] cost_to_serve` is looked up by.
    #[serde(default)]
    pub bank_segment: Option<crate::rules::SegmentKind>,
    /// What the KPI's churn is read from (`read_models::churn_kpi`): bounded by the rules.
    #[serde(default)]
    pub churn_track: ChurnTrack,
    /// 客户关怀: per occasion, the days a care greeting reached the customer (the last 64
    /// weeks before the latest), what the care compliance is read from (`read_models::care`).
    #[serde(default)]
    pub care: CareTrack,
    /// The follow-up open now and the last one met, what follow-up timeliness is read from
    /// (`read_models::follow_ups`); `follow_up` is the to-do's.
    #[serde(default)]
    pub follow_ups: FollowUpTrack,
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
            acquired: false,
            key_customer: false,
            group_customer: false,
            group_members: Vec::new(),
            churn_reason: None,
            at_risk_flag: None,
            accounts: Vec::new(),
            assignment: None,
            pending_transfer: None,
            suitability: None,
            suitability_position: 0,
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
            service: ServiceTrack::default(),
            conversions: Vec::new(),
            derived: Derived::default(),
            merged_into: None,
            bank_segment: None,
            churn_track: ChurnTrack::default(),
            care: CareTrack::default(),
            follow_ups: FollowUpTrack::default(),
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

    pub(crate) fn facets(&self) -> Facets {
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

/// Moves the customer to `to`; the entry it returns goes to their history.
fn assign(
    c: &mut CustomerRecord,
    to: Assignment,
    reason: Option<String>,
    by: StaffId,
    approved_by: Option<StaffId>,
    at: OffsetDateTime,
    p: u64,
) -> AssignmentEntry {
    c.assignment = Some(to);
    AssignmentEntry {
        assignment: to,
        reason,
        by,
        approved_by,
        at,
        position: p,
    }
}

pub(crate) fn apply_customer(
    m: &mut Model,
    p: u64,
    day: Date,
    e: &customer::Event,
    rules: &RuleBook,
) {
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
            m.lookup_changed.insert(*customer_id);
            m.shift(&Facets::none(), &after, day);
            m.evaluate(*customer_id, p, rules);
        }
        E::ProfileUpdated {
            customer_id,
            profile,
            ..
        } => {
            if m.with_customer(*customer_id, p, day, |c| c.profile = profile.clone()) {
                m.lookup_changed.insert(*customer_id);
            }
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
        E::CustomerActivated { customer_id, .. } => {
            if m.with_customer(*customer_id, p, day, |c| {
                c.lifecycle = Lifecycle::Active;
                c.churn_reason = None;
                c.churn_track.regain(day);
                c.churn_track.started(day);
            }) {
                m.acquire(*customer_id, day);
            }
        }
        E::CustomerReactivated { customer_id, .. } => {
            if m.with_customer(*customer_id, p, day, |c| {
                c.lifecycle = Lifecycle::Active;
                c.churn_reason = None;
                c.churn_track.regain(day);
            }) {
                m.churn_activity(*customer_id, day);
            }
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
                c.at_risk_flag = None;
                c.churn_track.lose(LossCause::Recorded, day, assignment);
            }) {
                m.flow(assignment, day, |f| f.churned += 1);
            }
        }
        E::CustomerFlaggedAtRisk {
            customer_id,
            reason,
            note,
            by,
            at,
        } => {
            // A warning only: no flow, no churn count.
            m.with_customer(*customer_id, p, day, |c| {
                c.at_risk_flag = Some(AtRiskFlagRecord {
                    by: *by,
                    reason: *reason,
                    note: note.as_ref().map(|n| n.as_str().to_string()),
                    at: *at,
                    position: p,
                });
            });
        }
        E::CustomerAtRiskFlagCleared { customer_id, .. } => {
            m.with_customer(*customer_id, p, day, |c| c.at_risk_flag = None);
        }
        E::WinBackAttempted {
            customer_id,
            by,
            channel,
            note,
            at,
        } => {
            // An attempt is the staff's, not the customer's engagement: it does not count as
            // a contact for dormancy (a reactivation or a reached contact does).
            if m.with_customer(*customer_id, p, day, |_| {}) {
                let entry = TimelineEntry {
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
                };
                m.history
                    .push(*customer_id, p, HistoryEntry::Timeline(entry));
            }
        }
        E::CustomerClosed { customer_id, .. } => {
            // Closing the account of a customer still served (销户 from active or dormant) is
            // churn; closing one who had churned already is not churn again.
            let served = m.customers.get(customer_id).and_then(|c| {
                matches!(c.lifecycle, Lifecycle::Active | Lifecycle::Dormant)
                    .then_some(c.assignment)
            });
            if m.with_customer(*customer_id, p, day, |c| {
                if served.is_some() {
                    c.churn_track.lose(LossCause::Closed, day, c.assignment);
                }
                c.lifecycle = Lifecycle::Closed;
            }) {
                if let Some(assignment) = served {
                    m.flow(assignment, day, |f| f.churned += 1);
                }
            }
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
            }) && {
                m.lookup_changed.insert(*customer_id);
                !m.accounts.contains(account_id)
            } {
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
            let mut entry = None;
            let cd = m.churned_days;
            if m.with_customer(*customer_id, p, day, |c| {
                c.churn_track
                    .reassigned(business_date(c.registered_at), day, cd, c.assignment);
                entry = Some(assign(c, *to, None, *by, None, *at, p))
            }) {
                if let Some(e) = entry {
                    m.history.push(*customer_id, p, HistoryEntry::Assignment(e));
                }
                m.acquire(*customer_id, day);
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
            let mut entry = None;
            let cd = m.churned_days;
            if m.with_customer(*customer_id, p, day, |c| {
                c.pending_transfer = None;
                c.churn_track
                    .reassigned(business_date(c.registered_at), day, cd, c.assignment);
                entry = Some(assign(
                    c,
                    *to,
                    Some(reason.as_str().to_string()),
                    *by,
                    *approved_by,
                    *at,
                    p,
                ))
            }) {
                if let Some(e) = entry {
                    m.history.push(*customer_id, p, HistoryEntry::Assignment(e));
                }
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
            // The survivor now holds the duplicate's account numbers.
            m.lookup_changed.insert(*customer_id);
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
        E::BankSegmentRecorded {
            customer_id,
            segment,
            ..
        } => {
            if let Some(c) = m.customers.get_mut(customer_id) {
                c.bank_segment = Some(crate::rules::SegmentKind::of(segment));
                c.position = p;
            }
        }
        // A rural bank's other customer attributes (issue 17): no read model shows them yet.
        E::MultiBankCustomerMarked { .. } | E::ExternalFactRecorded { .. } => {}
    }
}

/// Turnover and commission over the 30, 90 and 365 days ending on `on`, from the customer's
/// daily flows on disk: one range scan of a year.
pub fn customer_windows(
    m: &Model,
    id: CustomerId,
    on: Date,
) -> Result<WindowFigures, ProjectionError> {
    let since = |days: i64| on - Duration::days(days - 1);
    let (mut d30, mut d90, mut d365) = (
        FlowSums::default(),
        FlowSums::default(),
        FlowSums::default(),
    );
    for d in m.history.day_flows(id, since(365), on)? {
        d365.add(&d);
        if d.date >= since(90) {
            d90.add(&d);
        }
        if d.date >= since(30) {
            d30.add(&d);
        }
    }
    Ok(WindowFigures {
        turnover_30d: d30.turnover,
        turnover_90d: d90.turnover,
        turnover_365d: d365.turnover,
        commission_30d: d30.commission,
        commission_90d: d90.commission,
        commission_365d: d365.commission,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFigures {
    pub turnover_30d: Money,
    pub turnover_90d: Money,
    /// The 365 days ending on the archive's date, that day included.
    pub turnover_365d: Money,
    pub commission_30d: Money,
    pub commission_90d: Money,
    pub commission_365d: Money,
}

/// The customer archive (客户档案 / 360度视图).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer360 {
    pub as_of: Date,
    pub rules_version: u32,
    pub record: CustomerRecord,
    pub branch_name: Option<String>,
    pub manager_name: Option<String>,
    /// What is read from the customer's history on disk; `None` when not asked for
    /// ([`customer_360_resident`]).
    pub detail: Option<ArchiveDetail>,
    pub contribution_score_centi: i64,
    pub tier: Tier,
    pub risk_preference: RiskPreference,
    pub churn: ChurnExplain,
    pub suitability_valid: bool,
    pub campaigns: Vec<(CampaignId, String, Response)>,
}

/// The archive's parts read from the customer's history on disk, all of it. An error reading
/// one is that part's, not the whole archive's. The API reads each part on its own, bounded
/// (`customer_tickets`, `customer_opportunities`, `customer_windows`), and only when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveDetail {
    pub windows: Result<WindowFigures, String>,
    /// Oldest first.
    pub tickets: Result<Vec<TicketRecord>, String>,
    pub opportunities: Result<Vec<OpportunityRecord>, String>,
}

/// The archive with every part read from disk (replays, tests).
pub fn customer_360(
    m: &Model,
    rules: &RuleBook,
    id: CustomerId,
    as_of: Option<Date>,
) -> Option<Customer360> {
    let mut archive = customer_360_resident(m, rules, id, as_of)?;
    archive.detail = Some(ArchiveDetail {
        windows: customer_windows(m, id, archive.as_of).map_err(|e| e.to_string()),
        tickets: m
            .history
            .tickets(id)
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| m.tickets.get(t).cloned())
                    .collect()
            })
            .map_err(|e| e.to_string()),
        opportunities: m
            .history
            .opportunities(id)
            .map(|os| {
                os.iter()
                    .filter_map(|o| m.opportunities.get(o).cloned())
                    .collect()
            })
            .map_err(|e| e.to_string()),
    });
    Some(archive)
}

/// A customer's tickets, newest first, at most `limit`: one range scan of their history.
pub fn customer_tickets(
    m: &Model,
    id: CustomerId,
    limit: usize,
) -> Result<Vec<TicketRecord>, ProjectionError> {
    Ok(m.history
        .tickets_in(id, Order::NewestFirst, limit)?
        .iter()
        .filter_map(|t| m.tickets.get(t).cloned())
        .collect())
}

/// A customer's leads, newest first, at most `limit`: one range scan of their history.
pub fn customer_opportunities(
    m: &Model,
    id: CustomerId,
    limit: usize,
) -> Result<Vec<OpportunityRecord>, ProjectionError> {
    Ok(m.history
        .opportunities_in(id, Order::NewestFirst, limit)?
        .iter()
        .filter_map(|o| m.opportunities.get(o).cloned())
        .collect())
}

/// The archive from the resident record alone: nothing read from disk (`detail` is `None`).
pub fn customer_360_resident(
    m: &Model,
    rules: &RuleBook,
    id: CustomerId,
    as_of: Option<Date>,
) -> Option<Customer360> {
    let c = m.customers.get(&id)?;
    let on = today(m, as_of);
    Some(Customer360 {
        as_of: on,
        rules_version: rules.version,
        branch_name: c
            .branch()
            .and_then(|b| m.meta.branches.get(&b))
            .map(|b| b.name.clone()),
        manager_name: c
            .manager()
            .and_then(|s| m.staff.get(&s))
            .map(|s| s.name.clone()),
        detail: None,
        contribution_score_centi: c.derived.score_centi,
        tier: c.derived.tier,
        risk_preference: c.derived.risk_preference,
        churn: derive::churn_in(m, c, rules, on),
        suitability_valid: c.suitability.is_some_and(|s| s.is_valid_on(on)),
        campaigns: c
            .campaigns
            .iter()
            .map(|(id, r)| {
                let name = m
                    .meta
                    .campaigns
                    .get(id)
                    .map(|x| x.name.clone())
                    .unwrap_or_default();
                (*id, name, *r)
            })
            .collect(),
        record: c.clone(),
    })
}

/// One customer's resident record, by id.
pub fn customer(m: &Model, id: CustomerId) -> Option<&CustomerRecord> {
    m.customers.get(&id)
}

/// Every customer's resident record, in no particular order.
pub fn customer_records(m: &Model) -> impl Iterator<Item = &CustomerRecord> {
    m.customers.values()
}

/// How many customers the read model holds (merged ones included).
pub fn customer_count(m: &Model) -> usize {
    m.customers.len()
}

/// Customers currently assigned to `branch`.
pub fn customers_in_branch(m: &Model, branch: BranchId) -> usize {
    m.customers
        .values()
        .filter(|c| c.branch() == Some(branch))
        .count()
}

/// A group customer's (集团客户) members as the read model holds them, in the order they were
/// linked; `None` when `id` is not a group customer. A member merged away or unknown is left
/// out.
pub fn group_members(m: &Model, id: CustomerId) -> Option<Vec<&CustomerRecord>> {
    let c = m.customers.get(&id)?;
    if !c.group_customer {
        return None;
    }
    Some(
        c.group_members
            .iter()
            .filter_map(|member| m.customers.get(member))
            .filter(|member| member.lifecycle != Lifecycle::Merged)
            .collect(),
    )
}
