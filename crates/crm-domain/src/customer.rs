//! The customer aggregate (客户档案), stream `customer-<id>`: profile and identity document,
//! key/group flags and group links, lifecycle (prospect → active → dormant → churned / closed,
//! win-back 二次营销 and reactivation), fund and securities accounts, suitability (适当性),
//! product recommendations and sales, assignment to branch / manager / team with cross-branch
//! transfers that the receiving branch manager approves, and merges of duplicates.
//!
//! For banks, the customer also carries its bank segment (农户 / 个体工商户 / 小微企业), the 跨行
//! flag and imported external facts (征信 / 工商 / 税务): see `customer_bank.rs`.
//!
//! Accounts are opened and closed here because they change rarely and belong to the customer's
//! archive; their daily trade summaries live on `account-<id>` (see [`crate::account`]) so this
//! stream stays small however many years of trading a customer has.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::auth::{Actor, Right, Role, Scope};
use crate::error::DomainError;
use crate::ids::{AccountId, BranchId, CustomerId, ProductId, RegionId, StaffId, TeamId};
use crate::money::Money;
use crate::risk::{check_suitability, ProductRisk, RiskTolerance, SuitabilityAssessment};
use crate::values::{Address, Channel, IdDocument, Market, OrgName, PersonName, Phone, ShortText};

/// 个人 / 对公(机构)客户
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerKind {
    Individual,
    Institutional,
}

/// Where the customer is in their relationship with the firm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    /// 潜在客户
    Prospect,
    Active,
    /// 休眠: no activity for a while, but not lost.
    Dormant,
    /// 流失: left; the reason is recorded for win-back.
    Churned,
    Closed,
    /// Merged into another customer (the survivor); the stream accepts no more commands.
    Merged,
}

impl Lifecycle {
    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::Prospect => "prospect",
            Lifecycle::Active => "active",
            Lifecycle::Dormant => "dormant",
            Lifecycle::Churned => "churned",
            Lifecycle::Closed => "closed",
            Lifecycle::Merged => "merged",
        }
    }
}

/// The customer's profile. `name` holds a person's or an institution's name; individuals'
/// names are further limited to [`PersonName::MAX_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: OrgName,
    pub document: IdDocument,
    pub phone: Option<Phone>,
    pub address: Option<Address>,
    pub region: Option<RegionId>,
    /// For individuals; must match the resident ID number when one is given.
    pub birthday: Option<Date>,
    pub occupation: Option<ShortText>,
    /// 客户来源渠道
    pub source_channel: Channel,
}

/// Fund account (资金账户), exchange securities account (证券账户 / 股东账户), or credit account
/// for margin trading (信用账户).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountKind {
    Fund,
    Securities { market: Market },
    Credit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub kind: AccountKind,
    /// The account number as the back office knows it.
    pub number: ShortText,
    pub opened_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
}

impl Account {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// 流失原因
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChurnReason {
    Competitor,
    Fees,
    ServiceQuality,
    InvestmentLosses,
    Relocation,
    LeftTheMarket,
    Other,
}

/// Who serves the customer: always a branch, optionally a manager/broker and/or a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub branch: BranchId,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
}

/// One entry of the assignment history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    pub assignment: Assignment,
    pub reason: Option<ShortText>,
    pub by: StaffId,
    /// Set when a cross-branch transfer was approved.
    pub approved_by: Option<StaffId>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub to: Assignment,
    pub reason: ShortText,
    pub requested_by: StaffId,
    pub requested_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinBackAttempt {
    pub by: StaffId,
    pub channel: Channel,
    pub note: Option<ShortText>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct State {
    pub id: Option<CustomerId>,
    pub kind: Option<CustomerKind>,
    pub lifecycle: Option<Lifecycle>,
    pub profile: Option<Profile>,
    pub registered_at: Option<OffsetDateTime>,
    pub key_customer: bool,
    pub group_customer: bool,
    pub group_members: BTreeSet<CustomerId>,
    pub accounts: BTreeMap<AccountId, Account>,
    pub suitability: Option<SuitabilityAssessment>,
    pub assignment: Option<Assignment>,
    pub assignment_history: Vec<AssignmentRecord>,
    pub pending_transfer: Option<TransferRequest>,
    pub churn_reason: Option<ChurnReason>,
    /// The serving staff's or management's warning that the customer may leave (流失预警);
    /// not a churn. Cleared explicitly or by the churn itself.
    pub at_risk: Option<AtRiskFlag>,
    pub win_back_attempts: Vec<WinBackAttempt>,
    pub merged_into: Option<CustomerId>,
    pub absorbed: BTreeSet<CustomerId>,
    /// A rural bank's segment of the customer, once recorded.
    pub bank_segment: Option<BankSegment>,
    /// 跨行客户: known to bank elsewhere too.
    pub multi_bank: bool,
    /// Imported external facts, in the order recorded.
    pub external_facts: Vec<ExternalFactRecord>,
}

/// A warning that the customer may leave (流失预警), raised by whoever serves or manages them.
/// It never counts as churn: churn stays management's record (`MarkChurned`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRiskFlag {
    pub reason: ChurnReason,
    pub note: Option<ShortText>,
    pub by: StaffId,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Register {
        customer_id: CustomerId,
        kind: CustomerKind,
        profile: Profile,
        /// Register as a prospect (潜在客户) rather than an active customer.
        as_prospect: bool,
        /// Result of the identity-resolution lookup on `profile.document`, done by the app.
        existing_customer_with_same_document: Option<CustomerId>,
        now: OffsetDateTime,
    },
    UpdateProfile {
        profile: Profile,
        existing_customer_with_same_document: Option<CustomerId>,
        now: OffsetDateTime,
    },
    MarkKeyCustomer {
        is_key: bool,
        now: OffsetDateTime,
    },
    MarkGroupCustomer {
        is_group: bool,
        now: OffsetDateTime,
    },
    LinkGroupMember {
        member: CustomerId,
        now: OffsetDateTime,
    },
    UnlinkGroupMember {
        member: CustomerId,
        now: OffsetDateTime,
    },
    Activate {
        now: OffsetDateTime,
    },
    MarkDormant {
        now: OffsetDateTime,
    },
    MarkChurned {
        reason: ChurnReason,
        note: Option<ShortText>,
        now: OffsetDateTime,
    },
    RecordWinBackAttempt {
        by: StaffId,
        channel: Channel,
        note: Option<ShortText>,
        now: OffsetDateTime,
    },
    /// Warn that an active or dormant customer may leave. One flag at a time: flagging a
    /// flagged customer is a conflict (clear it first to change the reason).
    FlagAtRisk {
        reason: ChurnReason,
        note: Option<ShortText>,
        by: StaffId,
        now: OffsetDateTime,
    },
    /// Withdraw the warning; a customer without one is left as is (no event).
    ClearAtRiskFlag {
        by: StaffId,
        now: OffsetDateTime,
    },
    Reactivate {
        now: OffsetDateTime,
    },
    Close {
        reason: ShortText,
        now: OffsetDateTime,
    },
    OpenAccount {
        account_id: AccountId,
        kind: AccountKind,
        number: ShortText,
        now: OffsetDateTime,
    },
    CloseAccount {
        account_id: AccountId,
        now: OffsetDateTime,
    },
    RecordSuitability {
        level: RiskTolerance,
        assessed_on: Date,
        expires_on: Date,
        now: OffsetDateTime,
    },
    RecommendProduct {
        product_id: ProductId,
        product_risk: ProductRisk,
        by: StaffId,
        now: OffsetDateTime,
    },
    RecordProductSale {
        product_id: ProductId,
        product_risk: ProductRisk,
        amount: Money,
        by: StaffId,
        now: OffsetDateTime,
    },
    /// First assignment of an unassigned customer.
    Assign {
        to: Assignment,
        by: StaffId,
        now: OffsetDateTime,
    },
    /// Change of manager or team within the current branch.
    Reassign {
        to: Assignment,
        reason: ShortText,
        by: StaffId,
        now: OffsetDateTime,
    },
    /// Ask to move the customer to another branch; the receiving branch manager decides.
    RequestTransfer {
        to: Assignment,
        reason: ShortText,
        by: StaffId,
        now: OffsetDateTime,
    },
    ApproveTransfer {
        approver: Actor,
        now: OffsetDateTime,
    },
    RejectTransfer {
        approver: Actor,
        reason: ShortText,
        now: OffsetDateTime,
    },
    /// Sent to the duplicate's stream: it becomes merged into `survivor`.
    MergeInto {
        survivor: CustomerId,
        now: OffsetDateTime,
    },
    /// Sent to the survivor's stream with the merged customer's open accounts (read by the app
    /// from the merged customer's state), which move to the survivor.
    AbsorbMerged {
        merged: CustomerId,
        accounts: Vec<(AccountId, Account)>,
        now: OffsetDateTime,
    },
    /// Record (or replace) the bank segment with its attributes.
    RecordBankSegment {
        segment: BankSegment,
        now: OffsetDateTime,
    },
    /// Set or clear the 跨行客户 flag.
    MarkMultiBank {
        is_multi_bank: bool,
        now: OffsetDateTime,
    },
    /// Record an imported external fact (征信 / 工商 / 税务).
    RecordExternalFact {
        record: ExternalFactRecord,
        now: OffsetDateTime,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Register { .. } => "register",
            Command::UpdateProfile { .. } => "update profile",
            Command::MarkKeyCustomer { .. } => "mark key customer",
            Command::MarkGroupCustomer { .. } => "mark group customer",
            Command::LinkGroupMember { .. } => "link group member",
            Command::UnlinkGroupMember { .. } => "unlink group member",
            Command::Activate { .. } => "activate",
            Command::MarkDormant { .. } => "mark dormant",
            Command::MarkChurned { .. } => "mark churned",
            Command::RecordWinBackAttempt { .. } => "record win-back attempt",
            Command::FlagAtRisk { .. } => "flag at risk",
            Command::ClearAtRiskFlag { .. } => "clear at-risk flag",
            Command::Reactivate { .. } => "reactivate",
            Command::Close { .. } => "close",
            Command::OpenAccount { .. } => "open account",
            Command::CloseAccount { .. } => "close account",
            Command::RecordSuitability { .. } => "record suitability",
            Command::RecommendProduct { .. } => "recommend product",
            Command::RecordProductSale { .. } => "record product sale",
            Command::Assign { .. } => "assign",
            Command::Reassign { .. } => "reassign",
            Command::RequestTransfer { .. } => "request transfer",
            Command::ApproveTransfer { .. } => "approve transfer",
            Command::RejectTransfer { .. } => "reject transfer",
            Command::MergeInto { .. } => "merge into",
            Command::AbsorbMerged { .. } => "absorb merged",
            Command::RecordBankSegment { .. } => "record bank segment",
            Command::MarkMultiBank { .. } => "mark multi-bank customer",
            Command::RecordExternalFact { .. } => "record external fact",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    CustomerRegistered {
        customer_id: CustomerId,
        kind: CustomerKind,
        profile: Profile,
        /// `Prospect` or `Active`.
        lifecycle: Lifecycle,
        at: OffsetDateTime,
    },
    ProfileUpdated {
        customer_id: CustomerId,
        profile: Profile,
        at: OffsetDateTime,
    },
    KeyCustomerMarked {
        customer_id: CustomerId,
        is_key: bool,
        at: OffsetDateTime,
    },
    GroupCustomerMarked {
        customer_id: CustomerId,
        is_group: bool,
        at: OffsetDateTime,
    },
    GroupMemberLinked {
        customer_id: CustomerId,
        member: CustomerId,
        at: OffsetDateTime,
    },
    GroupMemberUnlinked {
        customer_id: CustomerId,
        member: CustomerId,
        at: OffsetDateTime,
    },
    CustomerActivated {
        customer_id: CustomerId,
        at: OffsetDateTime,
    },
    CustomerBecameDormant {
        customer_id: CustomerId,
        at: OffsetDateTime,
    },
    CustomerChurned {
        customer_id: CustomerId,
        reason: ChurnReason,
        note: Option<ShortText>,
        at: OffsetDateTime,
    },
    WinBackAttempted {
        customer_id: CustomerId,
        by: StaffId,
        channel: Channel,
        note: Option<ShortText>,
        at: OffsetDateTime,
    },
    CustomerReactivated {
        customer_id: CustomerId,
        at: OffsetDateTime,
    },
    CustomerFlaggedAtRisk {
        customer_id: CustomerId,
        reason: ChurnReason,
        note: Option<ShortText>,
        by: StaffId,
        at: OffsetDateTime,
    },
    CustomerAtRiskFlagCleared {
        customer_id: CustomerId,
        by: StaffId,
        at: OffsetDateTime,
    },
    CustomerClosed {
        customer_id: CustomerId,
        reason: ShortText,
        at: OffsetDateTime,
    },
    AccountOpened {
        customer_id: CustomerId,
        account_id: AccountId,
        kind: AccountKind,
        number: ShortText,
        at: OffsetDateTime,
    },
    AccountClosed {
        customer_id: CustomerId,
        account_id: AccountId,
        at: OffsetDateTime,
    },
    SuitabilityAssessed {
        customer_id: CustomerId,
        assessment: SuitabilityAssessment,
        at: OffsetDateTime,
    },
    ProductRecommended {
        customer_id: CustomerId,
        product_id: ProductId,
        product_risk: ProductRisk,
        customer_level: RiskTolerance,
        by: StaffId,
        at: OffsetDateTime,
    },
    ProductSold {
        customer_id: CustomerId,
        product_id: ProductId,
        product_risk: ProductRisk,
        customer_level: RiskTolerance,
        amount: Money,
        by: StaffId,
        at: OffsetDateTime,
    },
    CustomerAssigned {
        customer_id: CustomerId,
        to: Assignment,
        by: StaffId,
        at: OffsetDateTime,
    },
    CustomerReassigned {
        customer_id: CustomerId,
        from: Assignment,
        to: Assignment,
        reason: ShortText,
        by: StaffId,
        /// The receiving branch manager, for cross-branch transfers.
        approved_by: Option<StaffId>,
        at: OffsetDateTime,
    },
    TransferRequested {
        customer_id: CustomerId,
        from: Assignment,
        to: Assignment,
        reason: ShortText,
        by: StaffId,
        at: OffsetDateTime,
    },
    TransferApproved {
        customer_id: CustomerId,
        to: Assignment,
        by: StaffId,
        at: OffsetDateTime,
    },
    TransferRejected {
        customer_id: CustomerId,
        to: Assignment,
        reason: ShortText,
        by: StaffId,
        at: OffsetDateTime,
    },
    CustomerMergedInto {
        customer_id: CustomerId,
        survivor: CustomerId,
        at: OffsetDateTime,
    },
    CustomerMergeAbsorbed {
        customer_id: CustomerId,
        merged: CustomerId,
        accounts: Vec<(AccountId, Account)>,
        at: OffsetDateTime,
    },
    /// The rural bank's segment of the customer, replacing any earlier one.
    BankSegmentRecorded {
        customer_id: CustomerId,
        segment: BankSegment,
        at: OffsetDateTime,
    },
    MultiBankCustomerMarked {
        customer_id: CustomerId,
        is_multi_bank: bool,
        at: OffsetDateTime,
    },
    ExternalFactRecorded {
        customer_id: CustomerId,
        record: ExternalFactRecord,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Customer, category: "customer", id: customer_id, events: [
    CustomerRegistered, ProfileUpdated, KeyCustomerMarked, GroupCustomerMarked, GroupMemberLinked,
    GroupMemberUnlinked, CustomerActivated, CustomerBecameDormant, CustomerChurned,
    WinBackAttempted, CustomerReactivated, CustomerClosed, AccountOpened, AccountClosed,
    SuitabilityAssessed, ProductRecommended, ProductSold, CustomerAssigned, CustomerReassigned,
    TransferRequested, TransferApproved, TransferRejected, CustomerMergedInto,
    CustomerMergeAbsorbed, CustomerFlaggedAtRisk, CustomerAtRiskFlagCleared, BankSegmentRecorded,
    MultiBankCustomerMarked, ExternalFactRecorded,
]);

#[path = "customer_decide.rs"]
mod decide;
pub use decide::{decide, plan_merge};

#[path = "customer_bank.rs"]
mod bank;
pub use bank::{
    BankSegment, Business, CreditReportSummary, ExternalFact, ExternalFactRecord, FarmHousehold,
    LandArea, RegistrationStatus, RegistryRecord, SizeClass, TaxCreditRating, TaxRecord,
};

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::CustomerRegistered {
            customer_id,
            kind,
            profile,
            lifecycle,
            at,
        } => {
            state.id = Some(*customer_id);
            state.kind = Some(*kind);
            state.profile = Some(profile.clone());
            state.lifecycle = Some(*lifecycle);
            state.registered_at = Some(*at);
        }
        Event::ProfileUpdated { profile, .. } => state.profile = Some(profile.clone()),
        Event::KeyCustomerMarked { is_key, .. } => state.key_customer = *is_key,
        Event::GroupCustomerMarked { is_group, .. } => state.group_customer = *is_group,
        Event::GroupMemberLinked { member, .. } => {
            state.group_members.insert(*member);
        }
        Event::GroupMemberUnlinked { member, .. } => {
            state.group_members.remove(member);
        }
        Event::CustomerActivated { .. } | Event::CustomerReactivated { .. } => {
            state.lifecycle = Some(Lifecycle::Active);
            state.churn_reason = None;
        }
        Event::CustomerBecameDormant { .. } => state.lifecycle = Some(Lifecycle::Dormant),
        Event::CustomerChurned { reason, .. } => {
            state.lifecycle = Some(Lifecycle::Churned);
            state.churn_reason = Some(*reason);
            state.at_risk = None;
        }
        Event::CustomerFlaggedAtRisk {
            reason,
            note,
            by,
            at,
            ..
        } => {
            state.at_risk = Some(AtRiskFlag {
                reason: *reason,
                note: note.clone(),
                by: *by,
                at: *at,
            });
        }
        Event::CustomerAtRiskFlagCleared { .. } => state.at_risk = None,
        Event::WinBackAttempted {
            by,
            channel,
            note,
            at,
            ..
        } => {
            state.win_back_attempts.push(WinBackAttempt {
                by: *by,
                channel: *channel,
                note: note.clone(),
                at: *at,
            });
        }
        Event::CustomerClosed { .. } => state.lifecycle = Some(Lifecycle::Closed),
        Event::AccountOpened {
            account_id,
            kind,
            number,
            at,
            ..
        } => {
            state.accounts.insert(
                *account_id,
                Account {
                    kind: *kind,
                    number: number.clone(),
                    opened_at: *at,
                    closed_at: None,
                },
            );
        }
        Event::AccountClosed { account_id, at, .. } => {
            if let Some(a) = state.accounts.get_mut(account_id) {
                a.closed_at = Some(*at);
            }
        }
        Event::SuitabilityAssessed { assessment, .. } => state.suitability = Some(*assessment),
        Event::ProductRecommended { .. } | Event::ProductSold { .. } => {}
        Event::CustomerAssigned { to, by, at, .. } => {
            state.assignment = Some(*to);
            state.assignment_history.push(AssignmentRecord {
                assignment: *to,
                reason: None,
                by: *by,
                approved_by: None,
                at: *at,
            });
        }
        Event::CustomerReassigned {
            to,
            reason,
            by,
            approved_by,
            at,
            ..
        } => {
            state.assignment = Some(*to);
            state.pending_transfer = None;
            state.assignment_history.push(AssignmentRecord {
                assignment: *to,
                reason: Some(reason.clone()),
                by: *by,
                approved_by: *approved_by,
                at: *at,
            });
        }
        Event::TransferRequested {
            to, reason, by, at, ..
        } => {
            state.pending_transfer = Some(TransferRequest {
                to: *to,
                reason: reason.clone(),
                requested_by: *by,
                requested_at: *at,
            });
        }
        // The approval's effect is the CustomerReassigned that follows it.
        Event::TransferApproved { .. } => {}
        Event::TransferRejected { .. } => state.pending_transfer = None,
        Event::CustomerMergedInto { survivor, .. } => {
            state.merged_into = Some(*survivor);
            state.lifecycle = Some(Lifecycle::Merged);
        }
        Event::CustomerMergeAbsorbed {
            merged, accounts, ..
        } => {
            state.absorbed.insert(*merged);
            for (id, account) in accounts {
                state.accounts.entry(*id).or_insert_with(|| account.clone());
            }
        }
        Event::BankSegmentRecorded { segment, .. } => {
            state.bank_segment = Some(segment.clone());
        }
        Event::MultiBankCustomerMarked { is_multi_bank, .. } => {
            state.multi_bank = *is_multi_bank;
        }
        Event::ExternalFactRecorded { record, .. } => state.external_facts.push(record.clone()),
    }
    state
}

#[cfg(test)]
#[path = "customer_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "customer_bank_tests.rs"]
mod bank_tests;
