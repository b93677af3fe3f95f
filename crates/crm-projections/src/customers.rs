//! The customer list (客户列表) and the core of the customer archive: who each customer is,
//! where they stand in their lifecycle, who serves them, their accounts, their suitability,
//! their latest end-of-day assets and their last contact. Served filtered and paginated, and
//! scoped by the API to what the caller may read.

use std::collections::BTreeMap;

use crm_domain::customer::{self, Assignment, CustomerKind, Lifecycle};
use crm_domain::ids::{AccountId, BranchId, CustomerId, StaffId, TeamId};
use crm_domain::risk::SuitabilityAssessment;
use crm_domain::{account, interaction, AnyEvent, Money};
use crm_eventstore::RecordedEvent;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::engine::Projection;

/// One customer as the list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub name: String,
    pub kind: CustomerKind,
    pub lifecycle: Lifecycle,
    pub registered_at: OffsetDateTime,
    pub key_customer: bool,
    pub assignment: Option<Assignment>,
    pub open_accounts: Vec<AccountId>,
    pub suitability: Option<SuitabilityAssessment>,
    /// 日终总资产 summed over the customer's accounts, each at its latest trade date.
    pub assets: Money,
    pub assets_date: Option<Date>,
    pub last_contact: Option<OffsetDateTime>,
    pub merged_into: Option<CustomerId>,
    /// The log position of the last event that changed this summary.
    pub position: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customers {
    pub by_id: BTreeMap<CustomerId, CustomerSummary>,
    /// Latest end-of-day assets per account, for summing per customer.
    account_assets: BTreeMap<AccountId, (CustomerId, Date, Money)>,
}

/// Which customers a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    pub branch: Option<BranchId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub lifecycle: Option<Lifecycle>,
    pub key_customer: Option<bool>,
    /// Part of the name, or the start of the customer id.
    pub text: Option<String>,
}

impl CustomerFilter {
    fn matches(&self, c: &CustomerSummary) -> bool {
        let a = c.assignment.as_ref();
        self.branch.is_none_or(|b| a.is_some_and(|a| a.branch == b))
            && self
                .manager
                .is_none_or(|m| a.is_some_and(|a| a.manager == Some(m)))
            && self
                .team
                .is_none_or(|t| a.is_some_and(|a| a.team == Some(t)))
            && self.lifecycle.is_none_or(|l| c.lifecycle == l)
            && self.key_customer.is_none_or(|k| c.key_customer == k)
            && self
                .text
                .as_deref()
                .is_none_or(|t| c.name.contains(t) || c.id.to_string().starts_with(t))
    }
}

impl Customers {
    /// Customers matching `filter` and `visible`, in id order, after `after`, at most `limit`;
    /// also the total that match.
    pub fn list(
        &self,
        filter: &CustomerFilter,
        visible: impl Fn(&CustomerSummary) -> bool,
        after: Option<CustomerId>,
        limit: usize,
    ) -> (Vec<CustomerSummary>, usize) {
        let mut total = 0;
        let mut page = Vec::new();
        for c in self.by_id.values() {
            if !filter.matches(c) || !visible(c) {
                continue;
            }
            total += 1;
            if after.is_some_and(|a| c.id <= a) || page.len() >= limit {
                continue;
            }
            page.push(c.clone());
        }
        (page, total)
    }

    fn touch(&mut self, id: CustomerId, position: u64, f: impl FnOnce(&mut CustomerSummary)) {
        if let Some(c) = self.by_id.get_mut(&id) {
            f(c);
            c.position = position;
        }
    }

    fn recompute_assets(&mut self, customer: CustomerId) {
        let mut total = Money::ZERO;
        let mut date = None;
        for (owner, d, assets) in self.account_assets.values() {
            if *owner == customer {
                total = total.checked_add(*assets).unwrap_or(total);
                date = date.max(Some(*d));
            }
        }
        if let Some(c) = self.by_id.get_mut(&customer) {
            c.assets = total;
            c.assets_date = date;
        }
    }
}

/// The projection that keeps [`Customers`].
#[derive(Debug)]
pub struct CustomersProjection;

impl Projection for CustomersProjection {
    const NAME: &'static str = "customer_list";
    type State = Customers;

    fn apply(state: &mut Customers, recorded: &RecordedEvent, event: &AnyEvent) {
        use customer::Event as E;
        let p = recorded.position.0;
        match event {
            AnyEvent::Customer(e) => match e {
                E::CustomerRegistered {
                    customer_id,
                    kind,
                    profile,
                    lifecycle,
                    at,
                } => {
                    state.by_id.insert(
                        *customer_id,
                        CustomerSummary {
                            id: *customer_id,
                            name: profile.name.as_str().to_string(),
                            kind: *kind,
                            lifecycle: *lifecycle,
                            registered_at: *at,
                            key_customer: false,
                            assignment: None,
                            open_accounts: Vec::new(),
                            suitability: None,
                            assets: Money::ZERO,
                            assets_date: None,
                            last_contact: None,
                            merged_into: None,
                            position: p,
                        },
                    );
                }
                E::ProfileUpdated {
                    customer_id,
                    profile,
                    ..
                } => state.touch(*customer_id, p, |c| {
                    c.name = profile.name.as_str().to_string()
                }),
                E::KeyCustomerMarked {
                    customer_id,
                    is_key,
                    ..
                } => state.touch(*customer_id, p, |c| c.key_customer = *is_key),
                E::CustomerActivated { customer_id, .. }
                | E::CustomerReactivated { customer_id, .. } => {
                    state.touch(*customer_id, p, |c| c.lifecycle = Lifecycle::Active)
                }
                E::CustomerBecameDormant { customer_id, .. } => {
                    state.touch(*customer_id, p, |c| c.lifecycle = Lifecycle::Dormant)
                }
                E::CustomerChurned { customer_id, .. } => {
                    state.touch(*customer_id, p, |c| c.lifecycle = Lifecycle::Churned)
                }
                E::CustomerClosed { customer_id, .. } => {
                    state.touch(*customer_id, p, |c| c.lifecycle = Lifecycle::Closed)
                }
                E::AccountOpened {
                    customer_id,
                    account_id,
                    ..
                } => state.touch(*customer_id, p, |c| {
                    if !c.open_accounts.contains(account_id) {
                        c.open_accounts.push(*account_id);
                    }
                }),
                E::AccountClosed {
                    customer_id,
                    account_id,
                    ..
                } => state.touch(*customer_id, p, |c| {
                    c.open_accounts.retain(|a| a != account_id)
                }),
                E::SuitabilityAssessed {
                    customer_id,
                    assessment,
                    ..
                } => state.touch(*customer_id, p, |c| c.suitability = Some(*assessment)),
                E::CustomerAssigned {
                    customer_id, to, ..
                }
                | E::CustomerReassigned {
                    customer_id, to, ..
                }
                | E::TransferApproved {
                    customer_id, to, ..
                } => state.touch(*customer_id, p, |c| c.assignment = Some(*to)),
                E::CustomerMergedInto {
                    customer_id,
                    survivor,
                    ..
                } => state.touch(*customer_id, p, |c| {
                    c.lifecycle = Lifecycle::Merged;
                    c.merged_into = Some(*survivor);
                    c.open_accounts.clear();
                }),
                E::CustomerMergeAbsorbed {
                    customer_id,
                    merged,
                    accounts,
                    ..
                } => {
                    for (account, _) in accounts {
                        if let Some(entry) = state.account_assets.get_mut(account) {
                            entry.0 = *customer_id;
                        }
                    }
                    state.touch(*customer_id, p, |c| {
                        for (account, _) in accounts {
                            if !c.open_accounts.contains(account) {
                                c.open_accounts.push(*account);
                            }
                        }
                    });
                    state.recompute_assets(*customer_id);
                    state.recompute_assets(*merged);
                }
                _ => {}
            },
            AnyEvent::Account(
                account::Event::DailyTradeSummaryRecorded {
                    account_id,
                    summary,
                    ..
                }
                | account::Event::DailyTradeSummaryCorrected {
                    account_id,
                    summary,
                    ..
                },
            ) => {
                let previous = state.account_assets.get(account_id).copied();
                let owner = previous.map_or(summary.customer_id, |e| e.0);
                if previous.is_none_or(|e| summary.trade_date >= e.1) {
                    state.account_assets.insert(
                        *account_id,
                        (owner, summary.trade_date, summary.end_of_day_assets),
                    );
                    // Adjust the owner's total by this account's change rather than summing all
                    // accounts again: a rebuild applies millions of these.
                    let before = previous.map_or(Money::ZERO, |e| e.2);
                    state.touch(owner, p, |c| {
                        c.assets = c
                            .assets
                            .checked_sub(before)
                            .and_then(|a| a.checked_add(summary.end_of_day_assets))
                            .unwrap_or(c.assets);
                        c.assets_date = c.assets_date.max(Some(summary.trade_date));
                    });
                }
            }
            AnyEvent::Interaction(
                interaction::Event::ContactRecorded {
                    customer_id, at, ..
                }
                | interaction::Event::CareContactRecorded {
                    customer_id, at, ..
                },
            ) => state.touch(*customer_id, p, |c| {
                c.last_contact = c.last_contact.max(Some(*at))
            }),
            _ => {}
        }
    }
}
