//! Bank business on the API (issue 17): `Customer.banking` (deposit accounts, loans with their
//! classification and days overdue, cards, e-banking, wealth products, fee income) and the
//! branch dashboard's `banking` section (an outlet's deposits by kind, loans by class, NPL
//! ratio, fee income, new accounts and loans). Both are reached only through objects already
//! scoped (a customer the caller may read, a branch dashboard the caller may see); card numbers
//! are masked as securities account numbers are.

use async_graphql::{SimpleObject, ID};
use crm_domain::deposit::DepositTerm;
use crm_domain::loan::{Instalment, LoanClass};
use crm_projections::views::{
    CustomerBanking, DepositRecord, LoanRecord, OutletBanking, LOAN_CLASSES_ALL,
};

use super::customers::{label, money, Amount};
use super::history::mask_account;
use super::readside::{centi, int, uuid_id};

/// `PASS`, `SPECIAL_MENTION`, `SUBSTANDARD`, `DOUBTFUL`, `LOSS`: the five-category
/// classification (正常/关注/次级/可疑/损失).
fn class_label(c: LoanClass) -> String {
    label(c)
}

/// A customer's bank business (null when they have none).
#[derive(SimpleObject, Debug)]
pub struct CustomerBankingView {
    /// The date the month's and year's fee income are counted to.
    pub as_of: String,
    /// Latest balances of the open deposit accounts.
    pub demand_deposits: String,
    pub time_deposits: String,
    /// Latest balances of the open loans.
    pub loan_balance: String,
    /// The worst classification among the open loans.
    pub worst_classification: Option<String>,
    pub max_days_overdue: i32,
    pub fee_income_month: String,
    pub fee_income_year: String,
    pub deposit_accounts: Vec<DepositAccountView>,
    pub loans: Vec<LoanView>,
    pub cards: Vec<CardView>,
    /// E-banking channels signed up for (`MOBILE_BANKING`, …).
    pub e_channels: Vec<String>,
    /// Principal held per wealth product.
    pub wealth_products: Vec<Amount>,
}

#[derive(SimpleObject, Debug)]
pub struct DepositAccountView {
    pub id: ID,
    pub outlet_id: ID,
    pub product: String,
    /// `DEMAND` or `TIME`.
    pub kind: String,
    pub term_months: Option<i32>,
    pub maturity: Option<String>,
    pub rate: String,
    pub opened_on: String,
    pub closed_on: Option<String>,
    /// The balance of the latest day recorded.
    pub balance: String,
    pub balance_date: Option<String>,
}

#[derive(SimpleObject, Debug)]
pub struct InstalmentView {
    pub due: String,
    pub principal: String,
    pub interest: String,
}

#[derive(SimpleObject, Debug)]
pub struct LoanView {
    pub id: ID,
    pub outlet_id: ID,
    pub product: String,
    pub contract_amount: String,
    pub rate: String,
    pub start: String,
    pub maturity: String,
    /// `CREDIT`, `GUARANTEE`, `MORTGAGE` or `PLEDGE`.
    pub guarantee: String,
    pub disbursed: String,
    pub classification: String,
    /// The balance and days overdue of the latest day recorded.
    pub balance: String,
    pub balance_date: Option<String>,
    pub days_overdue: i32,
    /// The first instalment due on or after the as-of date.
    pub next_instalment: Option<InstalmentView>,
    pub closed_on: Option<String>,
    /// `REPAID` or `WRITTEN_OFF` once closed.
    pub closure: Option<String>,
}

#[derive(SimpleObject, Debug)]
pub struct CardView {
    pub id: ID,
    /// `DEBIT`, `CREDIT` or `SOCIAL_SECURITY`.
    pub kind: String,
    /// Masked: the last four characters (at most half) shown.
    pub number: String,
    pub issued_on: String,
}

fn instalment(i: &Instalment) -> InstalmentView {
    InstalmentView {
        due: i.due.to_string(),
        principal: money(i.principal),
        interest: money(i.interest),
    }
}

fn deposit(d: &DepositRecord) -> DepositAccountView {
    let (kind, term_months, maturity) = match d.term {
        DepositTerm::Demand => ("DEMAND", None, None),
        DepositTerm::Time {
            term_months,
            maturity,
        } => (
            "TIME",
            Some(i32::from(term_months)),
            Some(maturity.to_string()),
        ),
    };
    DepositAccountView {
        id: uuid_id(d.id),
        outlet_id: uuid_id(d.branch),
        product: d.product.clone(),
        kind: kind.to_string(),
        term_months,
        maturity,
        rate: d.rate.to_string(),
        opened_on: d.opened_on.to_string(),
        closed_on: d.closed_on.map(|x| x.to_string()),
        balance: money(d.balance),
        balance_date: d.balance_date.map(|x| x.to_string()),
    }
}

fn loan(l: &LoanRecord, on: time::Date) -> LoanView {
    LoanView {
        id: uuid_id(l.id),
        outlet_id: uuid_id(l.branch),
        product: l.product.clone(),
        contract_amount: money(l.amount),
        rate: l.rate.to_string(),
        start: l.start.to_string(),
        maturity: l.maturity.to_string(),
        guarantee: label(l.guarantee),
        disbursed: money(l.disbursed),
        classification: class_label(l.class),
        balance: money(l.balance),
        balance_date: l.balance_date.map(|x| x.to_string()),
        days_overdue: int(l.days_overdue),
        next_instalment: l
            .schedule
            .iter()
            .filter(|i| i.due >= on)
            .min_by_key(|i| i.due)
            .map(instalment),
        closed_on: l.closed.map(|(d, _)| d.to_string()),
        closure: l.closed.map(|(_, how)| label(how)),
    }
}

impl CustomerBankingView {
    pub(crate) fn of(b: &CustomerBanking, on: time::Date) -> Self {
        let s = &b.summary;
        CustomerBankingView {
            as_of: on.to_string(),
            demand_deposits: money(s.demand_deposits),
            time_deposits: money(s.time_deposits),
            loan_balance: money(s.loans),
            worst_classification: s.worst_class.map(class_label),
            max_days_overdue: int(s.max_days_overdue),
            fee_income_month: money(s.fee_income_month),
            fee_income_year: money(s.fee_income_year),
            deposit_accounts: b.deposits.iter().map(deposit).collect(),
            loans: b.loans.iter().map(|l| loan(l, on)).collect(),
            cards: b
                .cards
                .iter()
                .map(|(id, c)| CardView {
                    id: uuid_id(*id),
                    kind: label(c.kind),
                    number: mask_account(&c.number),
                    issued_on: c.issued_on.to_string(),
                })
                .collect(),
            e_channels: b.channels.iter().map(|c| label(*c)).collect(),
            wealth_products: b
                .wealth
                .iter()
                .map(|(k, v)| Amount {
                    key: k.clone(),
                    amount: money(*v),
                })
                .collect(),
        }
    }
}

/// An outlet's bank business in the dashboard's period: the stock on the last day with
/// positions up to the period's end, the flows over the period.
#[derive(SimpleObject, Debug)]
pub struct OutletBankingView {
    /// The day the deposit balances are of (null: none recorded yet).
    pub deposits_on: Option<String>,
    pub demand_deposits: String,
    pub time_deposits: String,
    /// The day the loan balances are of.
    pub loans_on: Option<String>,
    pub loan_balance: String,
    /// Balance per classification, `PASS` … `LOSS`.
    pub loans_by_classification: Vec<Amount>,
    /// 不良贷款: substandard, doubtful and loss.
    pub non_performing: String,
    /// Non-performing over all loans, percent.
    pub npl_ratio_percent: f64,
    pub fee_income: String,
    pub new_deposit_accounts: i32,
    pub new_loans: i32,
    pub disbursed: String,
    /// Loans moved down a classification (五级分类) in the period.
    pub loan_downgrades: i32,
}

impl From<&OutletBanking> for OutletBankingView {
    fn from(o: &OutletBanking) -> Self {
        OutletBankingView {
            deposits_on: o.deposits_on.map(|d| d.to_string()),
            demand_deposits: money(o.demand_deposits),
            time_deposits: money(o.time_deposits),
            loans_on: o.loans_on.map(|d| d.to_string()),
            loan_balance: money(o.loans),
            loans_by_classification: LOAN_CLASSES_ALL
                .iter()
                .zip(o.loans_by_class)
                .map(|(c, v)| Amount {
                    key: class_label(*c),
                    amount: money(v),
                })
                .collect(),
            non_performing: money(o.non_performing),
            npl_ratio_percent: centi(o.npl_ratio_bp),
            fee_income: money(o.fee_income),
            new_deposit_accounts: int(o.new_deposit_accounts),
            new_loans: int(o.new_loans),
            disbursed: money(o.disbursed),
            loan_downgrades: int(o.loan_downgrades),
        }
    }
}
