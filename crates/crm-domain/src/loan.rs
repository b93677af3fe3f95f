//! The loan account aggregate (贷款账户), stream `loan-<id>`: the contract (借款合同: product,
//! amount, rate, term, guarantee type, purpose), its disbursements (放款 / 借据), the repayment
//! schedule (还款计划), the daily position from the core banking system (balance and days
//! overdue, 逾期天数), the five-category classification (五级分类) and its changes, and the
//! closing (结清 or 核销).
//!
//! Each loan has a stream of its own for the same reason as a deposit account
//! ([`crate::deposit`]): the daily positions are the unbounded flow, ~365 events a year per
//! loan, which must not weigh on loading the customer. The classification lives here with the
//! positions because a reclassification is judged on them (days overdue) and is a fact about
//! the loan, not about the customer.
//!
//! Import semantics of the daily positions are the trade summaries' ([`crate::daily`]):
//! idempotent for the same content, a conflict for different content unless sent as an
//! explicit correction (`LoanPositionCorrected`).
//!
//! A reclassification names the class it moves from, so two risk officers cannot both move a
//! loan from what they each saw: a stale `from` is a conflict, and a move to the class the loan
//! already has is refused (there is nothing to record).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::daily::{record_day, DayOutcome};
use crate::error::DomainError;
use crate::ids::{BranchId, CustomerId, LoanId, StaffId};
use crate::money::{Money, Rate};
use crate::values::ShortText;

/// 担保方式
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GuaranteeType {
    /// 信用
    Credit,
    /// 保证
    Guarantee,
    /// 抵押
    Mortgage,
    /// 质押
    Pledge,
}

/// 五级分类, from best to worst; the last three are non-performing (不良).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LoanClass {
    /// 正常
    Pass,
    /// 关注
    SpecialMention,
    /// 次级
    Substandard,
    /// 可疑
    Doubtful,
    /// 损失
    Loss,
}

impl LoanClass {
    /// 不良贷款: substandard, doubtful or loss.
    pub fn is_non_performing(self) -> bool {
        self >= LoanClass::Substandard
    }

    pub fn name(self) -> &'static str {
        match self {
            LoanClass::Pass => "pass",
            LoanClass::SpecialMention => "special mention",
            LoanClass::Substandard => "substandard",
            LoanClass::Doubtful => "doubtful",
            LoanClass::Loss => "loss",
        }
    }
}

/// How a loan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoanClosure {
    /// 结清: repaid in full.
    Repaid,
    /// 核销: written off.
    WrittenOff,
}

/// 借款合同
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanContract {
    pub customer_id: CustomerId,
    /// The outlet (网点) that granted the loan.
    pub branch: BranchId,
    /// The core system's product code, e.g. 农户小额信用贷款.
    pub product: ShortText,
    /// 合同金额, positive.
    pub amount: Money,
    /// The annual interest rate (执行利率), a fraction.
    pub rate: Rate,
    pub start: Date,
    /// 到期日, after `start`.
    pub maturity: Date,
    pub guarantee: GuaranteeType,
    /// 贷款用途
    pub purpose: ShortText,
}

/// One instalment of a repayment schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    pub due: Date,
    pub principal: Money,
    pub interest: Money,
}

/// A loan's end-of-day position on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanDay {
    pub date: Date,
    /// 贷款余额, never negative.
    pub balance: Money,
    /// 逾期天数: 0 when nothing is overdue.
    pub days_overdue: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub loan_id: Option<LoanId>,
    pub contract: Option<LoanContract>,
    pub disbursed: Money,
    pub schedule: Vec<Instalment>,
    /// The current class; `Pass` from the contract on.
    pub class: Option<LoanClass>,
    pub closed: Option<(Date, LoanClosure)>,
    /// The current (corrections applied) position of each recorded day.
    pub days: BTreeMap<Date, LoanDay>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    SignContract {
        loan_id: LoanId,
        contract: LoanContract,
        now: OffsetDateTime,
    },
    Disburse {
        amount: Money,
        on: Date,
        now: OffsetDateTime,
    },
    /// Sets (or, on a restructuring, replaces) the whole schedule.
    SetRepaymentSchedule {
        instalments: Vec<Instalment>,
        now: OffsetDateTime,
    },
    RecordDailyPosition {
        loan_id: LoanId,
        day: LoanDay,
        /// Set when the core system re-sends a day on purpose with corrected figures.
        correction: bool,
        now: OffsetDateTime,
    },
    /// Move the loan from `from` (the class the sender saw) to `to`.
    Reclassify {
        from: LoanClass,
        to: LoanClass,
        reason: ShortText,
        by: StaffId,
        now: OffsetDateTime,
    },
    Close {
        on: Date,
        how: LoanClosure,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A contract was signed; the loan is classified `Pass` from here on.
    LoanContracted {
        loan_id: LoanId,
        contract: LoanContract,
        at: OffsetDateTime,
    },
    LoanDisbursed {
        loan_id: LoanId,
        customer_id: CustomerId,
        amount: Money,
        on: Date,
        at: OffsetDateTime,
    },
    RepaymentScheduleSet {
        loan_id: LoanId,
        customer_id: CustomerId,
        instalments: Vec<Instalment>,
        at: OffsetDateTime,
    },
    LoanPositionRecorded {
        loan_id: LoanId,
        customer_id: CustomerId,
        day: LoanDay,
        at: OffsetDateTime,
    },
    /// Supersedes the position recorded earlier for `day.date`.
    LoanPositionCorrected {
        loan_id: LoanId,
        customer_id: CustomerId,
        previous: LoanDay,
        day: LoanDay,
        at: OffsetDateTime,
    },
    LoanReclassified {
        loan_id: LoanId,
        customer_id: CustomerId,
        from: LoanClass,
        to: LoanClass,
        reason: ShortText,
        by: StaffId,
        at: OffsetDateTime,
    },
    LoanClosed {
        loan_id: LoanId,
        customer_id: CustomerId,
        on: Date,
        how: LoanClosure,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Loan, category: "loan", id: loan_id, events: [
    LoanContracted, LoanDisbursed, RepaymentScheduleSet, LoanPositionRecorded,
    LoanPositionCorrected, LoanReclassified, LoanClosed,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::SignContract {
            loan_id,
            contract,
            now,
        } => sign(state, loan_id, contract, now),
        Command::RecordDailyPosition {
            loan_id,
            day,
            correction,
            now,
        } => {
            let (own_id, contract) = contracted(state)?;
            if loan_id != own_id {
                return Err(DomainError::validation(
                    "loan_id",
                    "does not match this loan's stream",
                ));
            }
            record_position(state, own_id, contract, day, correction, now)
        }
        Command::Disburse { amount, on, now } => {
            let (loan_id, contract) = running(state, "disburse")?;
            check_disbursement(state, contract, amount, on)?;
            Ok(vec![Event::LoanDisbursed {
                loan_id,
                customer_id: contract.customer_id,
                amount,
                on,
                at: now,
            }])
        }
        Command::SetRepaymentSchedule { instalments, now } => {
            let (loan_id, contract) = running(state, "set repayment schedule")?;
            check_schedule(contract, &instalments)?;
            if state.schedule == instalments {
                return Ok(vec![]);
            }
            Ok(vec![Event::RepaymentScheduleSet {
                loan_id,
                customer_id: contract.customer_id,
                instalments,
                at: now,
            }])
        }
        Command::Reclassify {
            from,
            to,
            reason,
            by,
            now,
        } => {
            let (loan_id, contract) = running(state, "reclassify")?;
            let current = state.class.unwrap_or(LoanClass::Pass);
            if from != current {
                return Err(DomainError::conflict(format!(
                    "the loan is classified {}, not {}",
                    current.name(),
                    from.name()
                )));
            }
            if to == current {
                return Err(DomainError::validation(
                    "to",
                    format!("the loan is already classified {}", current.name()),
                ));
            }
            Ok(vec![Event::LoanReclassified {
                loan_id,
                customer_id: contract.customer_id,
                from,
                to,
                reason,
                by,
                at: now,
            }])
        }
        Command::Close { on, how, now } => {
            let (loan_id, contract) = running(state, "close")?;
            if on < contract.start {
                return Err(DomainError::validation(
                    "on",
                    "must not be before the loan's start",
                ));
            }
            if let Some((last, _)) = state.days.last_key_value().filter(|(d, _)| **d > on) {
                return Err(DomainError::conflict(format!(
                    "a position is recorded for {last}, after the closing day"
                )));
            }
            Ok(vec![Event::LoanClosed {
                loan_id,
                customer_id: contract.customer_id,
                on,
                how,
                at: now,
            }])
        }
    }
}

/// The loan's id and contract; `NotFound` before a contract.
fn contracted(state: &State) -> Result<(LoanId, &LoanContract), DomainError> {
    match (state.loan_id, &state.contract) {
        (Some(id), Some(c)) => Ok((id, c)),
        _ => Err(DomainError::NotFound { entity: "loan" }),
    }
}

/// [`contracted`], and not closed: a closed loan takes only late positions up to its closing.
fn running<'s>(
    state: &'s State,
    command: &'static str,
) -> Result<(LoanId, &'s LoanContract), DomainError> {
    let found = contracted(state)?;
    if state.closed.is_some() {
        return Err(DomainError::InvalidTransition {
            from: "closed",
            command,
        });
    }
    Ok(found)
}

fn sign(
    state: &State,
    loan_id: LoanId,
    contract: LoanContract,
    now: OffsetDateTime,
) -> Result<Vec<Event>, DomainError> {
    if state.contract.is_some() {
        return Err(DomainError::AlreadyExists { entity: "loan" });
    }
    if contract.amount.minor() <= 0 {
        return Err(DomainError::validation("amount", "must be positive"));
    }
    if contract.rate.units() < 0 {
        return Err(DomainError::validation("rate", "must not be negative"));
    }
    if contract.maturity <= contract.start {
        return Err(DomainError::validation(
            "maturity",
            "must be after the start",
        ));
    }
    Ok(vec![Event::LoanContracted {
        loan_id,
        contract,
        at: now,
    }])
}

fn check_disbursement(
    state: &State,
    contract: &LoanContract,
    amount: Money,
    on: Date,
) -> Result<(), DomainError> {
    if amount.minor() <= 0 {
        return Err(DomainError::validation("amount", "must be positive"));
    }
    if on < contract.start || on > contract.maturity {
        return Err(DomainError::validation(
            "on",
            "must be within the contract's term",
        ));
    }
    let total = state
        .disbursed
        .checked_add(amount)
        .ok_or(DomainError::validation("amount", "total overflows"))?;
    if total > contract.amount {
        return Err(DomainError::conflict(format!(
            "disbursing {amount} would bring the loan to {total}, over its contract amount {}",
            contract.amount
        )));
    }
    Ok(())
}

/// A schedule: at least one instalment, due dates strictly increasing within the contract's
/// term, no negative amount, something due in each, principal at most the contract amount.
fn check_schedule(contract: &LoanContract, instalments: &[Instalment]) -> Result<(), DomainError> {
    if instalments.is_empty() {
        return Err(DomainError::validation(
            "instalments",
            "a schedule needs at least one instalment",
        ));
    }
    if instalments.windows(2).any(|w| w[1].due <= w[0].due) {
        return Err(DomainError::validation(
            "instalments",
            "due dates must be in increasing order, one instalment a date",
        ));
    }
    for i in instalments {
        if i.principal.is_negative() || i.interest.is_negative() {
            return Err(DomainError::validation(
                "instalments",
                "amounts must not be negative",
            ));
        }
        if i.principal.minor() == 0 && i.interest.minor() == 0 {
            return Err(DomainError::validation(
                "instalments",
                format!("nothing is due on {}", i.due),
            ));
        }
        if i.due <= contract.start || i.due > contract.maturity {
            return Err(DomainError::validation(
                "instalments",
                format!("{} is outside the contract's term", i.due),
            ));
        }
    }
    let principal = Money::checked_sum(instalments.iter().map(|i| &i.principal))
        .ok_or(DomainError::validation("instalments", "total overflows"))?;
    if principal > contract.amount {
        return Err(DomainError::validation(
            "instalments",
            format!(
                "principal {principal} is over the contract amount {}",
                contract.amount
            ),
        ));
    }
    Ok(())
}

fn record_position(
    state: &State,
    loan_id: LoanId,
    contract: &LoanContract,
    day: LoanDay,
    correction: bool,
    now: OffsetDateTime,
) -> Result<Vec<Event>, DomainError> {
    let customer_id = contract.customer_id;
    if day.balance.is_negative() {
        return Err(DomainError::validation("balance", "must not be negative"));
    }
    if day.date < contract.start {
        return Err(DomainError::validation(
            "date",
            "is before the loan's start",
        ));
    }
    if state.closed.is_some_and(|(on, _)| day.date > on) {
        return Err(DomainError::InvalidTransition {
            from: "closed",
            command: "record a position after the closing day",
        });
    }
    Ok(
        match record_day(&state.days, &day.date, day, correction, "position")? {
            DayOutcome::Unchanged => vec![],
            DayOutcome::Recorded(day) => vec![Event::LoanPositionRecorded {
                loan_id,
                customer_id,
                day,
                at: now,
            }],
            DayOutcome::Corrected { previous, current } => vec![Event::LoanPositionCorrected {
                loan_id,
                customer_id,
                previous,
                day: current,
                at: now,
            }],
        },
    )
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::LoanContracted {
            loan_id, contract, ..
        } => {
            state.loan_id = Some(*loan_id);
            state.contract = Some(contract.clone());
            state.class = Some(LoanClass::Pass);
        }
        Event::LoanDisbursed { amount, .. } => {
            // Decided totals never overflow; saturate rather than panic on a foreign log.
            state.disbursed = state
                .disbursed
                .checked_add(*amount)
                .unwrap_or(Money::from_minor(i64::MAX));
        }
        Event::RepaymentScheduleSet { instalments, .. } => state.schedule = instalments.clone(),
        Event::LoanPositionRecorded { day, .. } | Event::LoanPositionCorrected { day, .. } => {
            state.days.insert(day.date, *day);
        }
        Event::LoanReclassified { to, .. } => state.class = Some(*to),
        Event::LoanClosed { on, how, .. } => state.closed = Some((*on, *how)),
    }
    state
}

#[cfg(test)]
#[path = "loan_tests.rs"]
mod tests;
