//! Random valid bank histories (issue 17): deposit accounts and loans of registered customers
//! at outlet `c % 2`, their daily positions (a different figure for a recorded day is sent as a
//! correction, the same one not at all), reclassifications naming the current class, fee
//! income per day and type, cards and e-banking sign-ups.

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::bank_services::{self, Card, CardKind, EChannel};
use crm_domain::deposit::{self, Currency, DepositAccount, DepositDay, DepositTerm};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::{CardId, DepositAccountId, LoanId};
use crm_domain::loan::{self, GuaranteeType, Instalment, LoanClass, LoanContract, LoanDay};
use crm_domain::{AnyEvent, Money, Rate};
use proptest::prelude::*;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{at, bid, cid, text, Sim, Step, BASE, CUSTOMERS};

#[derive(Debug, Clone)]
pub enum BankStep {
    OpenDeposit {
        c: u8,
        n: u8,
        time: bool,
        day: u16,
    },
    Balance {
        c: u8,
        n: u8,
        offset: u16,
        yuan: u32,
    },
    OpenLoan {
        c: u8,
        n: u8,
        day: u16,
        yuan: u32,
    },
    Position {
        c: u8,
        n: u8,
        offset: u16,
        yuan: u32,
        overdue: u8,
    },
    Reclassify {
        c: u8,
        n: u8,
        to: u8,
        offset: u16,
    },
    Fee {
        c: u8,
        day: u16,
        kind: u8,
        yuan: u16,
    },
    Card {
        c: u8,
        n: u8,
        cancel: bool,
    },
    EChannel {
        c: u8,
        channel: u8,
    },
}

/// A history step that is a bank fact two times in three.
pub fn bank_step() -> impl Strategy<Value = Step> {
    let c = || 0..CUSTOMERS;
    let bank = prop_oneof![
        2 => (c(), 0u8..2, any::<bool>(), 0u16..300).prop_map(|(c, n, time, day)| BankStep::OpenDeposit { c, n, time, day }),
        6 => (c(), 0u8..2, 0u16..120, 0u32..1_000_000).prop_map(|(c, n, offset, yuan)| BankStep::Balance { c, n, offset, yuan }),
        2 => (c(), 0u8..2, 0u16..300, 1u32..1_000_000).prop_map(|(c, n, day, yuan)| BankStep::OpenLoan { c, n, day, yuan }),
        6 => (c(), 0u8..2, 0u16..120, 0u32..1_000_000, 0u8..40).prop_map(|(c, n, offset, yuan, overdue)| BankStep::Position { c, n, offset, yuan, overdue }),
        2 => (c(), 0u8..2, 0u8..5, 0u16..120).prop_map(|(c, n, to, offset)| BankStep::Reclassify { c, n, to, offset }),
        3 => (c(), 0u16..420, 0u8..6, 0u16..500).prop_map(|(c, day, kind, yuan)| BankStep::Fee { c, day, kind, yuan }),
        1 => (c(), 0u8..2, any::<bool>()).prop_map(|(c, n, cancel)| BankStep::Card { c, n, cancel }),
        1 => (c(), 0u8..5).prop_map(|(c, channel)| BankStep::EChannel { c, channel }),
    ];
    prop_oneof![
        1 => super::step(),
        2 => bank.prop_map(Step::Bank),
    ]
}

#[derive(Default)]
pub(super) struct BankSim {
    /// Opening day of each deposit account and loan, by (customer, n).
    deposits: BTreeMap<(u8, u8), u16>,
    loans: BTreeMap<(u8, u8), u16>,
    balances: BTreeMap<(u8, u8, u16), Money>,
    positions: BTreeMap<(u8, u8, u16), LoanDay>,
    classes: BTreeMap<(u8, u8), LoanClass>,
    fees: BTreeMap<(u8, u16, u8), Money>,
    cards: BTreeSet<(u8, u8)>,
    channels: BTreeSet<(u8, u8)>,
}

pub fn deposit_id(c: u8, n: u8) -> DepositAccountId {
    DepositAccountId::from(Uuid::from_u128(0xDE00 + u128::from(c) * 4 + u128::from(n)))
}
pub fn loan_id(c: u8, n: u8) -> LoanId {
    LoanId::from(Uuid::from_u128(0x10A0 + u128::from(c) * 4 + u128::from(n)))
}
fn date(day: u16) -> Date {
    BASE + Duration::days(i64::from(day))
}
fn yuan(y: u32) -> Money {
    Money::from_yuan(i64::from(y)).unwrap()
}
const CLASSES: [LoanClass; 5] = [
    LoanClass::Pass,
    LoanClass::SpecialMention,
    LoanClass::Substandard,
    LoanClass::Doubtful,
    LoanClass::Loss,
];
const FEES: [FeeType; 6] = [
    FeeType::Settlement,
    FeeType::BankCard,
    FeeType::Agency,
    FeeType::ElectronicBanking,
    FeeType::WealthManagement,
    FeeType::Guarantee,
];
const CHANNELS: [EChannel; 5] = [
    EChannel::InternetBanking,
    EChannel::MobileBanking,
    EChannel::WeChatBanking,
    EChannel::PhoneBanking,
    EChannel::SmsAlerts,
];

type Timed = (AnyEvent, OffsetDateTime);

fn timed(e: impl Into<AnyEvent>, t: OffsetDateTime) -> Vec<Timed> {
    vec![(e.into(), t)]
}

impl Sim {
    pub(super) fn bank_events(&mut self, s: &BankStep) -> Vec<Timed> {
        let c = match *s {
            BankStep::OpenDeposit { c, .. }
            | BankStep::Balance { c, .. }
            | BankStep::OpenLoan { c, .. }
            | BankStep::Position { c, .. }
            | BankStep::Reclassify { c, .. }
            | BankStep::Fee { c, .. }
            | BankStep::Card { c, .. }
            | BankStep::EChannel { c, .. } => c,
        };
        if !self.registered.contains(&c) {
            return Vec::new();
        }
        match s {
            BankStep::OpenDeposit { .. } | BankStep::Balance { .. } => self.bank.deposit_events(s),
            BankStep::OpenLoan { .. } | BankStep::Position { .. } | BankStep::Reclassify { .. } => {
                self.bank.loan_events(s)
            }
            _ => self.bank.service_events(s),
        }
    }
}

impl BankSim {
    /// Openings and daily balances.
    fn deposit_events(&mut self, s: &BankStep) -> Vec<Timed> {
        let b = self;
        match *s {
            BankStep::OpenDeposit { c, n, time, day } => {
                if b.deposits.contains_key(&(c, n)) {
                    return Vec::new();
                }
                b.deposits.insert((c, n), day);
                let term = if time {
                    DepositTerm::Time {
                        term_months: 3,
                        maturity: date(day + 91),
                    }
                } else {
                    DepositTerm::Demand
                };
                let account = DepositAccount {
                    customer_id: cid(c),
                    branch: bid(c % 2),
                    product: text(if time {
                        "整存整取三个月"
                    } else {
                        "活期储蓄"
                    }),
                    term,
                    currency: Currency::Cny,
                    rate: Rate::from_units(1_100_000),
                    opened_on: date(day),
                };
                timed(
                    deposit::Event::DepositAccountOpened {
                        account_id: deposit_id(c, n),
                        account,
                        at: at(day),
                    },
                    at(day),
                )
            }
            BankStep::Balance {
                c,
                n,
                offset,
                yuan: y,
            } => {
                let Some(open) = b.deposits.get(&(c, n)).copied() else {
                    return Vec::new();
                };
                let d = open + offset;
                let t = at(d) + Duration::hours(12);
                let day = DepositDay {
                    date: date(d),
                    balance: yuan(y),
                };
                let (account_id, customer_id) = (deposit_id(c, n), cid(c));
                let e = match b.balances.insert((c, n, d), day.balance) {
                    Some(prev) if prev == day.balance => return Vec::new(),
                    Some(prev) => deposit::Event::DepositBalanceCorrected {
                        account_id,
                        customer_id,
                        previous: DepositDay {
                            balance: prev,
                            ..day
                        },
                        day,
                        at: t,
                    },
                    None => deposit::Event::DepositBalanceRecorded {
                        account_id,
                        customer_id,
                        day,
                        at: t,
                    },
                };
                timed(e, t)
            }
            _ => Vec::new(),
        }
    }

    /// Contracts (with disbursement and schedule), daily positions, reclassifications.
    fn loan_events(&mut self, s: &BankStep) -> Vec<Timed> {
        let b = self;
        match *s {
            BankStep::OpenLoan { c, n, day, yuan: y } => {
                if b.loans.contains_key(&(c, n)) {
                    return Vec::new();
                }
                b.loans.insert((c, n), day);
                b.classes.insert((c, n), LoanClass::Pass);
                let (loan_id, customer_id, t) = (loan_id(c, n), cid(c), at(day));
                let contract = LoanContract {
                    customer_id,
                    branch: bid(c % 2),
                    product: text("农户小额信用贷款"),
                    amount: yuan(y),
                    rate: Rate::from_units(4_350_000),
                    start: date(day),
                    maturity: date(day + 365),
                    guarantee: GuaranteeType::Credit,
                    purpose: text("生产经营"),
                };
                let instalments = [30, 60, 90]
                    .map(|k| Instalment {
                        due: date(day + k),
                        principal: yuan(y / 3),
                        interest: yuan(y / 100),
                    })
                    .to_vec();
                let mut out = timed(
                    loan::Event::LoanContracted {
                        loan_id,
                        contract,
                        at: t,
                    },
                    t,
                );
                out.extend(timed(
                    loan::Event::LoanDisbursed {
                        loan_id,
                        customer_id,
                        amount: yuan(y),
                        on: date(day),
                        at: t,
                    },
                    t,
                ));
                out.extend(timed(
                    loan::Event::RepaymentScheduleSet {
                        loan_id,
                        customer_id,
                        instalments,
                        at: t,
                    },
                    t,
                ));
                out
            }
            BankStep::Position {
                c,
                n,
                offset,
                yuan: y,
                overdue,
            } => {
                let Some(open) = b.loans.get(&(c, n)).copied() else {
                    return Vec::new();
                };
                let d = open + offset;
                let t = at(d) + Duration::hours(12);
                let day = LoanDay {
                    date: date(d),
                    balance: yuan(y),
                    days_overdue: u32::from(overdue),
                };
                let (loan_id, customer_id) = (loan_id(c, n), cid(c));
                let e = match b.positions.insert((c, n, d), day) {
                    Some(prev) if prev == day => return Vec::new(),
                    Some(previous) => loan::Event::LoanPositionCorrected {
                        loan_id,
                        customer_id,
                        previous,
                        day,
                        at: t,
                    },
                    None => loan::Event::LoanPositionRecorded {
                        loan_id,
                        customer_id,
                        day,
                        at: t,
                    },
                };
                timed(e, t)
            }
            BankStep::Reclassify { c, n, to, offset } => {
                let Some(open) = b.loans.get(&(c, n)).copied() else {
                    return Vec::new();
                };
                let to = CLASSES[usize::from(to % 5)];
                let from = b.classes.insert((c, n), to).unwrap_or(LoanClass::Pass);
                if from == to {
                    return Vec::new();
                }
                let t = at(open + offset) + Duration::hours(15);
                timed(
                    loan::Event::LoanReclassified {
                        loan_id: loan_id(c, n),
                        customer_id: cid(c),
                        from,
                        to,
                        reason: text("五级分类调整"),
                        by: super::branch_manager(),
                        at: t,
                    },
                    t,
                )
            }
            _ => Vec::new(),
        }
    }

    /// Fee income, cards, e-banking.
    fn service_events(&mut self, s: &BankStep) -> Vec<Timed> {
        let b = self;
        match *s {
            BankStep::Fee {
                c,
                day,
                kind,
                yuan: y,
            } => {
                let t = at(day) + Duration::hours(13);
                let fee = FeeDay {
                    date: date(day),
                    fee_type: FEES[usize::from(kind % 6)],
                    amount: yuan(u32::from(y)),
                };
                let e = match b.fees.insert((c, day, kind % 6), fee.amount) {
                    Some(prev) if prev == fee.amount => return Vec::new(),
                    Some(prev) => fee_income::Event::FeeIncomeCorrected {
                        customer_id: cid(c),
                        previous: FeeDay {
                            amount: prev,
                            ..fee
                        },
                        day: fee,
                        at: t,
                    },
                    None => fee_income::Event::FeeIncomeRecorded {
                        customer_id: cid(c),
                        day: fee,
                        at: t,
                    },
                };
                timed(e, t)
            }
            BankStep::Card { c, n, cancel } => {
                let card_id = CardId::from(Uuid::from_u128(
                    0xCA00_0000 + u128::from(c) * 4 + u128::from(n),
                ));
                let t = at(5);
                let e = match (b.cards.contains(&(c, n)), cancel) {
                    (false, _) => {
                        b.cards.insert((c, n));
                        bank_services::Event::CardIssued {
                            customer_id: cid(c),
                            card_id,
                            card: Card {
                                kind: if n == 0 {
                                    CardKind::Debit
                                } else {
                                    CardKind::SocialSecurity
                                },
                                number: text(&format!("62284800{c:04}{n:04}")),
                                issued_on: date(5),
                            },
                            at: t,
                        }
                    }
                    (true, true) => {
                        b.cards.remove(&(c, n));
                        bank_services::Event::CardCancelled {
                            customer_id: cid(c),
                            card_id,
                            on: date(6),
                            at: t,
                        }
                    }
                    (true, false) => return Vec::new(),
                };
                timed(e, t)
            }
            BankStep::EChannel { c, channel } if b.channels.insert((c, channel % 5)) => timed(
                bank_services::Event::EChannelSignedUp {
                    customer_id: cid(c),
                    channel: CHANNELS[usize::from(channel % 5)],
                    on: date(5),
                    at: at(5),
                },
                at(5),
            ),
            BankStep::EChannel { .. } => Vec::new(),
            _ => Vec::new(),
        }
    }
}
