//! Explanations: any derived value or KPI, term by term, with the positions behind it.

use crm_domain::ids::{CustomerId, StaffId};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::derive::{
    self, BankContributionExplain, ChurnExplain, ContributionExplain, RiskExplain,
};
use crate::model::today;
use crate::model::Model;
use crate::read_models::performance::{staff_performance, Period, StaffPerformance};
use crate::rules::RuleBook;

/// What to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExplainSubject {
    /// Contribution score and tier of a customer, at a date (`None`: the date the fold
    /// evaluated them, the customer's latest trade date).
    Contribution {
        customer: CustomerId,
        on: Option<Date>,
    },
    RiskPreference {
        customer: CustomerId,
        on: Option<Date>,
    },
    ChurnRisk {
        customer: CustomerId,
        as_of: Option<Date>,
    },
    Kpi {
        staff: StaffId,
        period: Period,
    },
    /// A bank customer's contribution for `from..=to` (within one month; `[bank_contribution]`).
    BankContribution {
        customer: CustomerId,
        from: Date,
        to: Date,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Explanation {
    Contribution(ContributionExplain),
    RiskPreference(RiskExplain),
    ChurnRisk(ChurnExplain),
    Kpi(Box<StaffPerformance>),
    BankContribution(Box<BankContributionExplain>),
}

pub fn explain(m: &Model, rules: &RuleBook, subject: ExplainSubject) -> Option<Explanation> {
    Some(match subject {
        ExplainSubject::Contribution { customer, on } => {
            let c = m.customers.get(&customer)?;
            Explanation::Contribution(derive::contribution(
                c,
                rules,
                on.unwrap_or_else(|| c.evaluation_date()),
            ))
        }
        ExplainSubject::RiskPreference { customer, on } => {
            let c = m.customers.get(&customer)?;
            Explanation::RiskPreference(derive::risk(
                c,
                rules,
                on.unwrap_or_else(|| c.evaluation_date()),
            ))
        }
        ExplainSubject::ChurnRisk { customer, as_of } => {
            let c = m.customers.get(&customer)?;
            Explanation::ChurnRisk(derive::churn_in(m, c, rules, today(m, as_of)))
        }
        ExplainSubject::Kpi { staff, period } => {
            Explanation::Kpi(Box::new(staff_performance(m, rules, staff, period)?))
        }
        ExplainSubject::BankContribution { customer, from, to } => Explanation::BankContribution(
            Box::new(derive::bank_contribution(m, rules, customer, from, to)?),
        ),
    })
}
