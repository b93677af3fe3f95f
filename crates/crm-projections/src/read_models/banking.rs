//! Bank business (issue 17): deposit accounts and loans with their latest position, each
//! customer's cards, e-banking sign-ups, wealth products and fee income, and each outlet's
//! (网点) figures per business day for its dashboard.
//!
//! Memory is bounded by accounts, not by days: an account or loan keeps its latest position
//! only; a customer keeps fee income by month for [`MONTHS_KEPT`] months; an outlet keeps one
//! [`OutletDay`] per day with figures, as a securities branch keeps its branch days.
//!
//! An outlet's day holds the balances *recorded for that day* (the core system sends every open
//! account's end-of-day position every day), so the stock at the end of a period is the last
//! day with positions in it, and a correction replaces the day's figures exactly (the previous
//! figure out, the new one in) whatever order the facts come in. Loan balances are bucketed by
//! the class the loan has when its position is folded; a reclassification moves the loan's
//! latest position to the new class (a correction of an earlier day is bucketed under the
//! loan's class at the time of the correction).

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::bank_services::{self, CardKind, EChannel};
use crm_domain::deposit::{self, DepositTerm};
use crm_domain::fee_income;
use crm_domain::ids::{BranchId, CardId, CustomerId, DepositAccountId, LoanId};
use crm_domain::loan::{self, GuaranteeType, Instalment, LoanClass, LoanClosure};
use crm_domain::{Money, Rate};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::model::{business_date, madd, month_index, mscale, Model, MONTHS_KEPT};
use crate::read_models::performance::bp;
use crate::rules::RuleBook;

/// Deposit kinds an outlet's figures are split by: demand (活期), time (定期).
pub const DEPOSIT_KINDS: usize = 2;
/// The five-category classification (五级分类), `LoanClass as usize`.
pub const LOAN_CLASSES: usize = 5;

pub const LOAN_CLASSES_ALL: [LoanClass; LOAN_CLASSES] = [
    LoanClass::Pass,
    LoanClass::SpecialMention,
    LoanClass::Substandard,
    LoanClass::Doubtful,
    LoanClass::Loss,
];

fn kind_index(term: DepositTerm) -> usize {
    match term {
        DepositTerm::Demand => 0,
        DepositTerm::Time { .. } => 1,
    }
}

fn class_index(c: LoanClass) -> usize {
    (c as usize).min(LOAN_CLASSES - 1)
}

/// One deposit account (存款账户) with its latest end-of-day balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    pub id: DepositAccountId,
    pub customer: CustomerId,
    pub branch: BranchId,
    pub product: String,
    pub term: DepositTerm,
    pub rate: Rate,
    pub opened_on: Date,
    pub closed_on: Option<Date>,
    /// The balance of the latest day recorded (`balance_date`).
    pub balance: Money,
    pub balance_date: Option<Date>,
    /// End-of-day balances recorded per month, the latest [`MONTHS_KEPT`] months: what a
    /// month's average balance (`derive::bank`) is read from.
    #[serde(default)]
    pub months: Vec<BalanceMonth>,
    pub opened_position: u64,
    pub position: u64,
}

/// The end-of-day balances of an account recorded in one month: their sum and how many days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceMonth {
    pub month: u32,
    pub sum: Money,
    pub days: u32,
    /// The latest day recorded in the month and its balance: the month-end stock.
    pub last_date: Option<Date>,
    pub last: Money,
}

/// An account's balance at the end of `day` from its months: the latest recorded on or before
/// the end of `day`'s month (zero before it opened or once closed, and when no month up to
/// then is kept).
pub fn balance_at(months: &[BalanceMonth], opened: Date, closed: Option<Date>, day: Date) -> Money {
    if opened > day || closed.is_some_and(|c| c <= day) {
        return Money::ZERO;
    }
    let month = month_index(day);
    months
        .iter()
        .rev()
        .find(|m| m.month <= month && m.days > 0)
        .map_or(Money::ZERO, |m| m.last)
}

impl BalanceMonth {
    /// The mean of the days recorded.
    pub fn average(&self) -> Money {
        Money::from_minor(self.sum.minor() / i64::from(self.days.max(1)))
    }
}

/// Adds a day's balance (less `previous`, the figure a correction replaces) to its month,
/// keeping the latest [`MONTHS_KEPT`] months.
fn add_balance_month(
    months: &mut Vec<BalanceMonth>,
    date: Date,
    balance: Money,
    previous: Option<Money>,
) {
    let month = month_index(date);
    let latest = months.last().map_or(month, |m| m.month.max(month));
    let oldest = latest.saturating_sub(MONTHS_KEPT - 1);
    if month < oldest {
        return;
    }
    let i = match months.binary_search_by_key(&month, |m| m.month) {
        Ok(i) => i,
        Err(i) => {
            months.insert(
                i,
                BalanceMonth {
                    month,
                    sum: Money::ZERO,
                    days: 0,
                    last_date: None,
                    last: Money::ZERO,
                },
            );
            i
        }
    };
    if let Some(m) = months.get_mut(i) {
        match previous {
            Some(prev) => m.sum = madd(m.sum, mscale(prev, -1)),
            None => m.days += 1,
        }
        m.sum = madd(m.sum, balance);
        if m.last_date.is_none_or(|d| d <= date) {
            m.last_date = Some(date);
            m.last = balance;
        }
    }
    let cut = months.partition_point(|m| m.month < oldest);
    months.drain(..cut);
}

impl DepositRecord {
    pub fn maturity(&self) -> Option<Date> {
        match self.term {
            DepositTerm::Demand => None,
            DepositTerm::Time { maturity, .. } => Some(maturity),
        }
    }
}

/// A downward move of a loan's classification (the latest move, if it was down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downgrade {
    pub from: LoanClass,
    pub to: LoanClass,
    pub on: Date,
    pub position: u64,
}

/// One loan (贷款) with its contract, schedule and latest position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanRecord {
    pub id: LoanId,
    pub customer: CustomerId,
    pub branch: BranchId,
    pub product: String,
    pub amount: Money,
    pub rate: Rate,
    pub start: Date,
    pub maturity: Date,
    pub guarantee: GuaranteeType,
    pub disbursed: Money,
    pub schedule: Vec<Instalment>,
    pub schedule_position: u64,
    pub class: LoanClass,
    /// Set by a move down, cleared by a move up.
    pub downgrade: Option<Downgrade>,
    pub balance: Money,
    pub balance_date: Option<Date>,
    /// Balances recorded per month, as a deposit account's.
    #[serde(default)]
    pub months: Vec<BalanceMonth>,
    pub days_overdue: u32,
    /// The event that recorded the latest position.
    pub position_position: u64,
    pub closed: Option<(Date, LoanClosure)>,
    pub position: u64,
}

/// A customer's bank products besides accounts and loans, and the ids of those.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BankCustomer {
    pub deposits: Vec<DepositAccountId>,
    pub loans: Vec<LoanId>,
    /// Cards in force.
    pub cards: BTreeMap<CardId, CardRecord>,
    pub channels: BTreeSet<EChannel>,
    /// Principal held per wealth product.
    pub wealth: BTreeMap<String, Money>,
    /// Fee income (中间业务收入) per month index, the latest [`MONTHS_KEPT`] months.
    pub fees: BTreeMap<u32, Money>,
    /// The customer's total deposits per business day, only what the churn rule reads: the
    /// days of its window (`[churn] outflow_days`) back from the newest day, and the one day
    /// before them (the total the window starts from), oldest first. Bounded by the window,
    /// never by history.
    pub deposit_days: Vec<DepositTotalDay>,
    /// The latest day with account activity (dormancy, `[churn] dormant_days`): an account
    /// opened or closed, a deposit balance that changed from the account's previous day, a
    /// loan contracted, disbursed or whose balance changed (a repayment), fee income.
    pub last_activity: Option<Date>,
}

/// A customer's deposits of one business day: the end-of-day balances recorded for that day,
/// summed over their accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositTotalDay {
    pub date: Date,
    pub total: Money,
    /// How many account balances the total holds.
    pub accounts: u32,
    /// The log position of the latest fact in it.
    pub position: u64,
}

impl BankCustomer {
    pub(crate) fn active_on(&mut self, day: Date) {
        self.last_activity = self.last_activity.max(Some(day));
    }

    /// Adds an account's balance of `date` (less `previous`, the figure a correction
    /// replaces) to the day's total. Keeps the window back from the newest day and the last
    /// day before it, as the securities side keeps its daily figures (`accounts.rs`): a day
    /// older than both is not kept, nor a figure for it.
    pub(crate) fn add_deposit_day(
        &mut self,
        date: Date,
        balance: Money,
        previous: Option<Money>,
        p: u64,
        window_days: u32,
    ) {
        let days = &mut self.deposit_days;
        let newest = days.last().map_or(date, |d| d.date.max(date));
        let oldest_kept = newest - time::Duration::days(i64::from(window_days.max(1)) - 1);
        let boundary = days
            .iter()
            .rev()
            .find(|d| d.date < oldest_kept)
            .map(|d| d.date);
        if date >= oldest_kept || boundary.is_none_or(|b| date >= b) {
            let i = match days.binary_search_by_key(&date, |d| d.date) {
                Ok(i) => i,
                Err(i) => {
                    days.insert(
                        i,
                        DepositTotalDay {
                            date,
                            total: Money::ZERO,
                            accounts: 0,
                            position: p,
                        },
                    );
                    i
                }
            };
            if let Some(d) = days.get_mut(i) {
                match previous {
                    Some(prev) => d.total = madd(d.total, mscale(prev, -1)),
                    None => d.accounts += 1,
                }
                d.total = madd(d.total, balance);
                d.position = p;
            }
        }
        let cut = days.partition_point(|d| d.date < oldest_kept);
        if cut > 1 {
            days.drain(..cut - 1);
        }
    }
}

/// A card in force, its number as the core system sent it (shown masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRecord {
    pub kind: CardKind,
    pub number: String,
    pub issued_on: Date,
}

/// An outlet's figures of one business day.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutletDay {
    /// End-of-day deposit balances recorded for the day, by kind (demand, time).
    pub deposits: [Money; DEPOSIT_KINDS],
    pub deposit_positions: i64,
    /// Loan balances recorded for the day, by class.
    pub loans: [Money; LOAN_CLASSES],
    pub loan_positions: i64,
    pub fee_income: Money,
    pub new_deposit_accounts: i64,
    pub new_loans: i64,
    pub disbursed: Money,
    /// Customers whose first open deposit account or loan at the outlet opened this day
    /// (they had none open there before), and customers whose last one there closed this day.
    #[serde(default)]
    pub new_bank_customers: i64,
    #[serde(default)]
    pub lost_bank_customers: i64,
    /// Loans moved down a classification (五级分类) this day.
    #[serde(default)]
    pub loan_downgrades: i64,
    /// The day's deposit and loan balances by product (the account's product code), as
    /// `deposits` and `loans` are by kind and class.
    #[serde(default)]
    pub deposits_by_product: BTreeMap<String, Money>,
    #[serde(default)]
    pub loans_by_product: BTreeMap<String, Money>,
}

/// Adds a day's balance (less `previous`, the figure a correction replaces) to its product's.
fn add_product(by: &mut BTreeMap<String, Money>, product: String, b: Money, prev: Option<Money>) {
    let v = by.entry(product).or_insert(Money::ZERO);
    *v = madd(madd(*v, b), prev.map_or(Money::ZERO, |p| mscale(p, -1)));
}

/// The days an outlet has figures for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutletRecord {
    /// Sorted.
    pub days: Vec<Date>,
}

impl Model {
    fn outlet_day(&mut self, branch: BranchId, day: Date) -> &mut OutletDay {
        let rec = self
            .outlets
            .entry_or_insert_with(branch, OutletRecord::default);
        if let Err(i) = rec.days.binary_search(&day) {
            rec.days.insert(i, day);
        }
        self.outlet_days
            .entry_or_insert_with((branch, day), OutletDay::default)
    }

    fn bank_customer(&mut self, id: CustomerId) -> &mut BankCustomer {
        self.bank_customers
            .entry_or_insert_with(id, BankCustomer::default)
    }

    /// How many deposit accounts and loans `customer` holds open at outlet `branch`.
    fn open_at(&self, customer: CustomerId, branch: BranchId) -> usize {
        let Some(bc) = self.bank_customers.get(&customer) else {
            return 0;
        };
        let deposits = bc
            .deposits
            .iter()
            .filter_map(|d| self.deposits.get(d))
            .filter(|d| d.branch == branch && d.closed_on.is_none())
            .count();
        let loans = bc
            .loans
            .iter()
            .filter_map(|l| self.loans.get(l))
            .filter(|l| l.branch == branch && l.closed.is_none())
            .count();
        deposits + loans
    }

    /// Counts a new bank customer of the outlet on `on` when `customer` holds nothing open there
    /// yet (called before the new account or loan is filed).
    fn opening_at(&mut self, customer: CustomerId, branch: BranchId, on: Date) {
        if self.open_at(customer, branch) == 0 {
            self.outlet_day(branch, on).new_bank_customers += 1;
        }
    }

    /// Counts a lost bank customer of the outlet on `on` when `customer` holds nothing open there
    /// any more (called after the account or loan is marked closed).
    fn closed_at(&mut self, customer: CustomerId, branch: BranchId, on: Date) {
        if self.open_at(customer, branch) == 0 {
            self.outlet_day(branch, on).lost_bank_customers += 1;
        }
    }
}

pub(crate) fn apply_deposit(m: &mut Model, p: u64, e: &deposit::Event, rules: &RuleBook) {
    match e {
        deposit::Event::DepositAccountOpened {
            account_id,
            account: a,
            ..
        } => {
            if m.deposits.contains(account_id) {
                return;
            }
            m.opening_at(a.customer_id, a.branch, a.opened_on);
            m.deposits.insert(
                *account_id,
                DepositRecord {
                    id: *account_id,
                    customer: a.customer_id,
                    branch: a.branch,
                    product: a.product.as_str().to_string(),
                    term: a.term,
                    rate: a.rate,
                    opened_on: a.opened_on,
                    closed_on: None,
                    balance: Money::ZERO,
                    balance_date: None,
                    months: Vec::new(),
                    opened_position: p,
                    position: p,
                },
            );
            let bc = m.bank_customer(a.customer_id);
            bc.active_on(a.opened_on);
            let ids = &mut bc.deposits;
            if let Err(i) = ids.binary_search(account_id) {
                ids.insert(i, *account_id);
            }
            m.outlet_day(a.branch, a.opened_on).new_deposit_accounts += 1;
        }
        deposit::Event::DepositAccountClosed {
            account_id,
            closed_on,
            ..
        } => {
            let Some(r) = m.deposits.get_mut(account_id) else {
                return;
            };
            let was_open = r.closed_on.is_none();
            r.closed_on = Some(*closed_on);
            r.position = p;
            let (customer, branch) = (r.customer, r.branch);
            m.bank_customer(customer).active_on(*closed_on);
            if was_open {
                m.closed_at(customer, branch, *closed_on);
            }
        }
        deposit::Event::DepositBalanceRecorded {
            account_id, day, ..
        } => deposit_day(m, p, *account_id, None, day, rules),
        deposit::Event::DepositBalanceCorrected {
            account_id,
            previous,
            day,
            ..
        } => deposit_day(m, p, *account_id, Some(previous), day, rules),
    }
}

fn deposit_day(
    m: &mut Model,
    p: u64,
    id: DepositAccountId,
    previous: Option<&deposit::DepositDay>,
    day: &deposit::DepositDay,
    rules: &RuleBook,
) {
    let Some(r) = m.deposits.get_mut(&id) else {
        return;
    };
    // A new day whose balance differs from the account's previous one is activity (a
    // correction fixes a figure: it is not the customer's doing).
    let moved = previous.is_none()
        && r.balance_date.is_some_and(|d| d < day.date)
        && r.balance != day.balance;
    if r.balance_date.is_none_or(|d| d <= day.date) {
        r.balance = day.balance;
        r.balance_date = Some(day.date);
    }
    add_balance_month(
        &mut r.months,
        day.date,
        day.balance,
        previous.map(|d| d.balance),
    );
    r.position = p;
    let (branch, kind, customer) = (r.branch, kind_index(r.term), r.customer);
    let product = r.product.clone();
    let bc = m.bank_customer(customer);
    if moved {
        bc.active_on(day.date);
    }
    bc.add_deposit_day(
        day.date,
        day.balance,
        previous.map(|d| d.balance),
        p,
        rules.churn.outflow_days,
    );
    let od = m.outlet_day(branch, day.date);
    match previous {
        Some(prev) => {
            od.deposits[kind] = madd(od.deposits[kind], mscale(prev.balance, -1));
        }
        None => od.deposit_positions += 1,
    }
    od.deposits[kind] = madd(od.deposits[kind], day.balance);
    let prev = previous.map(|d| d.balance);
    add_product(&mut od.deposits_by_product, product, day.balance, prev);
}

pub(crate) fn apply_loan(m: &mut Model, p: u64, e: &loan::Event) {
    match e {
        loan::Event::LoanContracted {
            loan_id, contract, ..
        } => {
            if m.loans.contains(loan_id) {
                return;
            }
            let c = contract;
            m.opening_at(c.customer_id, c.branch, c.start);
            m.loans.insert(
                *loan_id,
                LoanRecord {
                    id: *loan_id,
                    customer: c.customer_id,
                    branch: c.branch,
                    product: c.product.as_str().to_string(),
                    amount: c.amount,
                    rate: c.rate,
                    start: c.start,
                    maturity: c.maturity,
                    guarantee: c.guarantee,
                    disbursed: Money::ZERO,
                    schedule: Vec::new(),
                    schedule_position: p,
                    class: LoanClass::Pass,
                    downgrade: None,
                    balance: Money::ZERO,
                    balance_date: None,
                    months: Vec::new(),
                    days_overdue: 0,
                    position_position: p,
                    closed: None,
                    position: p,
                },
            );
            let bc = m.bank_customer(c.customer_id);
            bc.active_on(c.start);
            let ids = &mut bc.loans;
            if let Err(i) = ids.binary_search(loan_id) {
                ids.insert(i, *loan_id);
            }
            m.outlet_day(c.branch, c.start).new_loans += 1;
        }
        loan::Event::LoanDisbursed {
            loan_id,
            amount,
            on,
            ..
        } => {
            let Some(r) = m.loans.get_mut(loan_id) else {
                return;
            };
            r.disbursed = madd(r.disbursed, *amount);
            r.position = p;
            let (branch, customer) = (r.branch, r.customer);
            m.bank_customer(customer).active_on(*on);
            let od = m.outlet_day(branch, *on);
            od.disbursed = madd(od.disbursed, *amount);
        }
        loan::Event::RepaymentScheduleSet {
            loan_id,
            instalments,
            ..
        } => {
            if let Some(r) = m.loans.get_mut(loan_id) {
                r.schedule = instalments.clone();
                r.schedule_position = p;
                r.position = p;
            }
        }
        loan::Event::LoanPositionRecorded { loan_id, day, .. } => {
            loan_day(m, p, *loan_id, None, day)
        }
        loan::Event::LoanPositionCorrected {
            loan_id,
            previous,
            day,
            ..
        } => loan_day(m, p, *loan_id, Some(previous), day),
        loan::Event::LoanReclassified {
            loan_id,
            from,
            to,
            at,
            ..
        } => reclassify(m, p, *loan_id, *from, *to, business_date(*at)),
        loan::Event::LoanClosed {
            loan_id, on, how, ..
        } => {
            let Some(r) = m.loans.get_mut(loan_id) else {
                return;
            };
            let was_open = r.closed.is_none();
            r.closed = Some((*on, *how));
            r.position = p;
            let (customer, branch) = (r.customer, r.branch);
            m.bank_customer(customer).active_on(*on);
            if was_open {
                m.closed_at(customer, branch, *on);
            }
        }
    }
}

fn loan_day(
    m: &mut Model,
    p: u64,
    id: LoanId,
    previous: Option<&loan::LoanDay>,
    day: &loan::LoanDay,
) {
    let Some(r) = m.loans.get_mut(&id) else {
        return;
    };
    // A new day whose balance moved (a repayment) is activity; a correction is not.
    let moved = previous.is_none()
        && r.balance_date.is_some_and(|d| d < day.date)
        && r.balance != day.balance;
    if r.balance_date.is_none_or(|d| d <= day.date) {
        r.balance = day.balance;
        r.days_overdue = day.days_overdue;
        r.balance_date = Some(day.date);
        r.position_position = p;
    }
    add_balance_month(
        &mut r.months,
        day.date,
        day.balance,
        previous.map(|d| d.balance),
    );
    r.position = p;
    let (branch, class, customer) = (r.branch, class_index(r.class), r.customer);
    let product = r.product.clone();
    if moved {
        m.bank_customer(customer).active_on(day.date);
    }
    let od = m.outlet_day(branch, day.date);
    match previous {
        Some(prev) => od.loans[class] = madd(od.loans[class], mscale(prev.balance, -1)),
        None => od.loan_positions += 1,
    }
    od.loans[class] = madd(od.loans[class], day.balance);
    let prev = previous.map(|d| d.balance);
    add_product(&mut od.loans_by_product, product, day.balance, prev);
}

fn reclassify(m: &mut Model, p: u64, id: LoanId, from: LoanClass, to: LoanClass, on: Date) {
    let Some(r) = m.loans.get_mut(&id) else {
        return;
    };
    let was = r.class;
    r.class = to;
    r.downgrade = (to > from).then_some(Downgrade {
        from,
        to,
        on,
        position: p,
    });
    r.position = p;
    // The latest position moves with the loan to its new class.
    let (branch, balance, date) = (r.branch, r.balance, r.balance_date);
    if to > from {
        m.outlet_day(branch, on).loan_downgrades += 1;
    }
    if let Some(d) = date {
        if was != to {
            let od = m.outlet_day(branch, d);
            let (a, b) = (class_index(was), class_index(to));
            od.loans[a] = madd(od.loans[a], mscale(balance, -1));
            od.loans[b] = madd(od.loans[b], balance);
        }
    }
}

pub(crate) fn apply_bank_services(m: &mut Model, e: &bank_services::Event) {
    use bank_services::Event as E;
    match e {
        E::CardIssued {
            customer_id,
            card_id,
            card,
            ..
        } => {
            m.bank_customer(*customer_id).cards.insert(
                *card_id,
                CardRecord {
                    kind: card.kind,
                    number: card.number.as_str().to_string(),
                    issued_on: card.issued_on,
                },
            );
        }
        E::CardCancelled {
            customer_id,
            card_id,
            ..
        } => {
            m.bank_customer(*customer_id).cards.remove(card_id);
        }
        E::EChannelSignedUp {
            customer_id,
            channel,
            ..
        } => {
            m.bank_customer(*customer_id).channels.insert(*channel);
        }
        E::EChannelCancelled {
            customer_id,
            channel,
            ..
        } => {
            m.bank_customer(*customer_id).channels.remove(channel);
        }
        E::WealthProductSubscribed {
            customer_id,
            product,
            amount,
            ..
        } => {
            let held = m
                .bank_customer(*customer_id)
                .wealth
                .entry(product.as_str().to_string())
                .or_insert(Money::ZERO);
            *held = madd(*held, *amount);
        }
        E::WealthProductRedeemed {
            customer_id,
            product,
            amount,
            ..
        } => {
            let wealth = &mut m.bank_customer(*customer_id).wealth;
            if let Some(held) = wealth.get_mut(product.as_str()) {
                *held = madd(*held, mscale(*amount, -1));
                if *held <= Money::ZERO {
                    wealth.remove(product.as_str());
                }
            }
        }
    }
}

pub(crate) fn apply_fee_income(m: &mut Model, e: &fee_income::Event) {
    let (customer, date, change) = match e {
        fee_income::Event::FeeIncomeRecorded {
            customer_id, day, ..
        } => (*customer_id, day.date, day.amount),
        fee_income::Event::FeeIncomeCorrected {
            customer_id,
            previous,
            day,
            ..
        } => (
            *customer_id,
            day.date,
            madd(day.amount, mscale(previous.amount, -1)),
        ),
    };
    let month = month_index(date);
    let bc = m.bank_customer(customer);
    if matches!(e, fee_income::Event::FeeIncomeRecorded { .. }) && change != Money::ZERO {
        bc.active_on(date);
    }
    let fees = &mut bc.fees;
    let latest = fees.keys().next_back().copied().unwrap_or(month).max(month);
    let oldest = latest.saturating_sub(MONTHS_KEPT - 1);
    if month >= oldest {
        let v = fees.entry(month).or_insert(Money::ZERO);
        *v = madd(*v, change);
    }
    fees.retain(|mo, _| *mo >= oldest);
    // The outlet is the one serving the customer when the fee is recorded.
    if let Some(branch) = m.customers.get(&customer).and_then(|c| c.branch()) {
        let od = m.outlet_day(branch, date);
        od.fee_income = madd(od.fee_income, change);
    }
}

/// The customer a deposit fact is of (a closure names its account's).
pub(crate) fn deposit_customer(m: &Model, e: &deposit::Event) -> Option<CustomerId> {
    match e {
        deposit::Event::DepositAccountOpened { account, .. } => Some(account.customer_id),
        deposit::Event::DepositAccountClosed { account_id, .. } => {
            m.deposits.get(account_id).map(|d| d.customer)
        }
        deposit::Event::DepositBalanceRecorded { customer_id, .. }
        | deposit::Event::DepositBalanceCorrected { customer_id, .. } => Some(*customer_id),
    }
}

/// The customer a loan fact is of.
pub(crate) fn loan_customer(e: &loan::Event) -> Option<CustomerId> {
    use loan::Event as E;
    match e {
        E::LoanContracted { contract, .. } => Some(contract.customer_id),
        E::LoanDisbursed { customer_id, .. }
        | E::RepaymentScheduleSet { customer_id, .. }
        | E::LoanPositionRecorded { customer_id, .. }
        | E::LoanPositionCorrected { customer_id, .. }
        | E::LoanReclassified { customer_id, .. }
        | E::LoanClosed { customer_id, .. } => Some(*customer_id),
    }
}

/// The customer a fee income fact is of.
pub(crate) fn fee_customer(e: &fee_income::Event) -> CustomerId {
    match e {
        fee_income::Event::FeeIncomeRecorded { customer_id, .. }
        | fee_income::Event::FeeIncomeCorrected { customer_id, .. } => *customer_id,
    }
}

// ---- queries ----

/// Customer `id`'s bank business (deposits per day in the churn window, activity), if any.
pub fn bank_customer(m: &Model, id: CustomerId) -> Option<&BankCustomer> {
    m.bank_customers.get(&id)
}

/// A customer's bank figures at a glance (as of `on`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BankSummary {
    /// Latest balances of the open deposit accounts, demand and time.
    pub demand_deposits: Money,
    pub time_deposits: Money,
    /// Latest balances of the open loans.
    pub loans: Money,
    /// The worst class among the open loans.
    pub worst_class: Option<LoanClass>,
    pub max_days_overdue: u32,
    pub cards: usize,
    pub e_channels: usize,
    pub wealth_products: usize,
    pub wealth: Money,
    /// Fee income in the month of `on` and in its year so far.
    pub fee_income_month: Money,
    pub fee_income_year: Money,
}

/// The bank side of a customer's 360 view.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomerBanking {
    pub summary: BankSummary,
    pub deposits: Vec<DepositRecord>,
    pub loans: Vec<LoanRecord>,
    pub cards: Vec<(CardId, CardRecord)>,
    pub channels: Vec<EChannel>,
    pub wealth: Vec<(String, Money)>,
}

/// The bank side of customer `id` as of `on`; `None` when they have no bank business.
pub fn customer_banking(m: &Model, id: CustomerId, on: Date) -> Option<CustomerBanking> {
    let bc = m.bank_customers.get(&id)?;
    let deposits: Vec<DepositRecord> = bc
        .deposits
        .iter()
        .filter_map(|d| m.deposits.get(d).cloned())
        .collect();
    let loans: Vec<LoanRecord> = bc
        .loans
        .iter()
        .filter_map(|l| m.loans.get(l).cloned())
        .collect();
    let mut s = BankSummary::default();
    for d in deposits.iter().filter(|d| d.closed_on.is_none()) {
        match d.term {
            DepositTerm::Demand => s.demand_deposits = madd(s.demand_deposits, d.balance),
            DepositTerm::Time { .. } => s.time_deposits = madd(s.time_deposits, d.balance),
        }
    }
    for l in loans.iter().filter(|l| l.closed.is_none()) {
        s.loans = madd(s.loans, l.balance);
        s.worst_class = s.worst_class.max(Some(l.class));
        s.max_days_overdue = s.max_days_overdue.max(l.days_overdue);
    }
    s.cards = bc.cards.len();
    s.e_channels = bc.channels.len();
    s.wealth_products = bc.wealth.len();
    s.wealth = bc.wealth.values().fold(Money::ZERO, |a, b| madd(a, *b));
    let month = month_index(on);
    let year_start = month - u32::from(u8::from(on.month())) + 1;
    s.fee_income_month = bc.fees.get(&month).copied().unwrap_or(Money::ZERO);
    s.fee_income_year = bc
        .fees
        .range(year_start..=month)
        .fold(Money::ZERO, |a, (_, v)| madd(a, *v));
    Some(CustomerBanking {
        summary: s,
        deposits,
        loans,
        cards: bc.cards.iter().map(|(k, v)| (*k, v.clone())).collect(),
        channels: bc.channels.iter().copied().collect(),
        wealth: bc.wealth.iter().map(|(k, v)| (k.clone(), *v)).collect(),
    })
}

/// An outlet's bank figures for a period: stock at its end, flows over it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutletBanking {
    /// The last day in the period with deposit positions, and its balances by kind.
    pub deposits_on: Option<Date>,
    pub demand_deposits: Money,
    pub time_deposits: Money,
    /// The last day in the period with loan positions, and its balances by class.
    pub loans_on: Option<Date>,
    pub loans_by_class: [Money; LOAN_CLASSES],
    pub loans: Money,
    /// 不良贷款: substandard + doubtful + loss.
    pub non_performing: Money,
    /// Non-performing over all loans, basis points.
    pub npl_ratio_bp: i64,
    pub fee_income: Money,
    pub new_deposit_accounts: i64,
    pub new_loans: i64,
    pub disbursed: Money,
    /// Loans moved down a classification in the period.
    #[serde(default)]
    pub loan_downgrades: i64,
}

/// Outlet `branch`'s bank figures for the days `from..=to`.
pub fn outlet_banking(m: &Model, branch: BranchId, from: Date, to: Date) -> OutletBanking {
    let mut out = OutletBanking::default();
    let Some(rec) = m.outlets.get(&branch) else {
        return out;
    };
    let start = rec.days.partition_point(|d| *d < from);
    let end = rec.days.partition_point(|d| *d <= to);
    for d in rec.days.get(start..end).unwrap_or_default() {
        let Some(od) = m.outlet_days.get(&(branch, *d)) else {
            continue;
        };
        out.fee_income = madd(out.fee_income, od.fee_income);
        out.new_deposit_accounts += od.new_deposit_accounts;
        out.new_loans += od.new_loans;
        out.disbursed = madd(out.disbursed, od.disbursed);
        out.loan_downgrades += od.loan_downgrades;
    }
    // The stock: the latest day up to the period's end with positions (possibly before it).
    let upto = rec.days.get(..end).unwrap_or_default();
    let day = |f: fn(&OutletDay) -> bool| {
        upto.iter()
            .rev()
            .filter_map(|d| m.outlet_days.get(&(branch, *d)).map(|od| (*d, od)))
            .find(|(_, od)| f(od))
    };
    if let Some((d, od)) = day(|od| od.deposit_positions > 0) {
        out.deposits_on = Some(d);
        out.demand_deposits = od.deposits[0];
        out.time_deposits = od.deposits[1];
    }
    if let Some((d, od)) = day(|od| od.loan_positions > 0) {
        out.loans_on = Some(d);
        out.loans_by_class = od.loans;
        out.loans = od.loans.iter().fold(Money::ZERO, |a, b| madd(a, *b));
        out.non_performing = LOAN_CLASSES_ALL
            .iter()
            .filter(|c| c.is_non_performing())
            .fold(Money::ZERO, |a, c| madd(a, od.loans[class_index(*c)]));
        out.npl_ratio_bp = bp(out.non_performing.minor(), out.loans.minor());
    }
    out
}

/// Every deposit account, in no particular order.
pub fn deposit_records(m: &Model) -> impl Iterator<Item = &DepositRecord> {
    m.deposits.values()
}

/// Every loan, in no particular order.
pub fn loan_records(m: &Model) -> impl Iterator<Item = &LoanRecord> {
    m.loans.values()
}
