//! What the core banking system holds for each customer when the CRM goes live, sent by the
//! operator (the import role): deposit accounts, loans with their schedules and a credit
//! report for each borrower, cards, e-banking sign-ups and wealth products.

use super::*;

/// Time-deposit terms (months) and their rates (`Rate` units, 1e-8).
const TIME_TERMS: &[(i32, i64)] = &[
    (3, 1_050_000),
    (6, 1_250_000),
    (12, 1_450_000),
    (24, 1_550_000),
    (36, 1_850_000),
];
const DEMAND_RATE: i64 = 200_000;

/// Queues every customer's products (the caller flushes them); returns the deposit accounts
/// and loans the daily phase moves on.
pub(super) fn products<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &BankOrg,
    book: &mut Book,
    range: std::ops::Range<usize>,
    window: (Date, Date),
) -> Result<(), LoadError> {
    for i in range {
        let Some(c) = book.customers.get_mut(i) else {
            break;
        };
        deposits_of(out, rng, ids, org, i, c, &mut book.deposits)?;
        let next_loan = book.loans.len() as u64;
        if let Some(l) = loan_of(out, rng, ids, org, i, c, window, next_loan)? {
            book.loans.push(l);
        }
        services_of(out, rng, ids, org, c)?;
    }
    Ok(())
}

/// A demand account for most customers, time deposits for some.
fn deposits_of<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &BankOrg,
    i: usize,
    c: &mut BankCustomer,
    deposits: &mut Vec<DepositAcct>,
) -> Result<(), LoadError> {
    let registered = c.registered.date();
    let now = c.registered + Duration::hours(1);
    let branch = org
        .outlets
        .get(c.outlet)
        .map(|o| o.id)
        .ok_or_else(|| LoadError::Demo("no outlet".into()))?;
    let (customer_id, segment) = (c.id, c.segment);
    let (x_min, cap, time_chance) = match c.segment {
        Segment::Farm => (2_000, 500_000, 350_000),
        Segment::SoleProprietor => (10_000, 2_000_000, 250_000),
        Segment::SmallBusiness => (50_000, 20_000_000, 100_000),
        Segment::Salaried => (5_000, 1_000_000, 400_000),
    };
    let mut open = |out: &mut Sender<'_, P>, rng: &mut Rng, term: Option<(i32, i64)>| {
        let n = deposits.len() as u64;
        let id = DepositAccountId::from(ids.get(b"bank-deposit", n));
        let (product, kind, months, maturity, rate, opened_on, balance) = match term {
            None => {
                let product = if segment == Segment::SmallBusiness {
                    "单位活期存款"
                } else {
                    "活期储蓄存款"
                };
                let opened_on = registered - Duration::days(rng.between(30, 3_000));
                let balance = yuan(rng.pareto_yuan(x_min, cap));
                let rate = DEMAND_RATE;
                (
                    product.to_owned(),
                    DepositKind::Demand,
                    None,
                    None,
                    rate,
                    opened_on,
                    balance,
                )
            }
            Some((months, rate)) => {
                let opened_on = registered - Duration::days(rng.between(1, i64::from(months) * 30));
                let maturity = add_months(opened_on, months)?;
                let balance = yuan(rng.pareto_yuan(10_000, 1_000_000) / 1_000 * 1_000);
                let product = format!("整存整取{months}个月");
                (
                    product,
                    DepositKind::Time,
                    Some(months as u16),
                    Some(maturity),
                    rate,
                    opened_on,
                    balance,
                )
            }
        };
        out.push(
            &format!("deposit:{id}"),
            &format!("bank-deposit:{n}:open"),
            org.operator,
            now,
            AppCommand::Deposit {
                account: id,
                command: deposit::Command::Open {
                    account_id: id,
                    customer_id,
                    branch,
                    product: text(&product)?,
                    kind,
                    currency: Currency::Cny,
                    term_months: months,
                    maturity,
                    rate: Rate::from_units(rate),
                    opened_on,
                    now,
                },
            },
        );
        deposits.push(DepositAcct {
            id,
            customer: i,
            term: maturity.map_or(Term::Demand, |maturity| Term::Time { maturity }),
            opened_on,
            balance,
            closed: false,
        });
        Ok::<usize, LoadError>(deposits.len() - 1)
    };
    if c.segment == Segment::SmallBusiness || rng.chance(920_000) {
        c.demand = Some(open(out, rng, None)?);
    }
    if rng.chance(time_chance) {
        for _ in 0..rng.between(1, 2) {
            let term = *pick(rng, TIME_TERMS, "deposit term")?;
            open(out, rng, Some(term))?;
        }
    }
    Ok(())
}

/// A loan for some customers: contract, disbursement, schedule, and a credit report; a few
/// mature inside the window, a few fall behind on an instalment.
#[allow(clippy::too_many_arguments)] // the generator's state
fn loan_of<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &BankOrg,
    i: usize,
    c: &BankCustomer,
    (first_day, until): (Date, Date),
    n: u64,
) -> Result<Option<LoanAcct>, LoadError> {
    let (chance, product, guarantee, lo, hi, rate, terms) = match c.segment {
        Segment::Farm => (
            280_000,
            "农户小额信用贷款",
            GuaranteeType::Credit,
            20,
            200,
            5_500_000,
            [12, 24],
        ),
        Segment::SoleProprietor => (
            400_000,
            "个体工商户经营贷款",
            GuaranteeType::Guarantee,
            50,
            500,
            6_500_000,
            [12, 24],
        ),
        Segment::SmallBusiness => (
            550_000,
            "小微企业流动资金贷款",
            GuaranteeType::Mortgage,
            200,
            3_000,
            5_200_000,
            [12, 36],
        ),
        Segment::Salaried => (
            50_000,
            "个人消费贷款",
            GuaranteeType::Credit,
            30,
            300,
            7_200_000,
            [12, 36],
        ),
    };
    if !rng.chance(chance) {
        return Ok(None);
    }
    let term = *pick(rng, &terms, "loan term")?;
    let window_days = (until - first_day).whole_days();
    let repaid_in_window = window_days >= 2 && rng.chance(120_000);
    let start = if repaid_in_window {
        add_months(
            first_day + Duration::days(rng.between(1, window_days)),
            -term,
        )?
    } else {
        first_day - Duration::days(rng.between(10, 330))
    };
    let maturity = add_months(start, term)?;
    let amount = yuan(rng.between(lo, hi) * 1_000);
    let mut schedule = Vec::new();
    let mut left = amount;
    for k in 1..=term {
        let principal = if k == term {
            left
        } else {
            amount / i64::from(term)
        };
        schedule.push(Instalment {
            due: add_months(start, k)?,
            principal: Money::from_minor(principal),
            interest: Money::from_minor(scale(left, rate, 12 * Rate::SCALE)),
        });
        left -= principal;
    }
    // About one loan in ten (none maturing in the window) misses an instalment due from
    // about three months before the window to its middle, and pays nothing from then on.
    let late = (
        first_day - Duration::days(100),
        first_day + Duration::days(window_days / 2),
    );
    let behind: Vec<Date> = schedule
        .iter()
        .map(|s| s.due)
        .filter(|d| (late.0..=late.1).contains(d))
        .collect();
    let missed = match (repaid_in_window, rng.chance(100_000)) {
        (false, true) => rng.pick(&behind).copied(),
        _ => None,
    };
    let id = LoanId::from(ids.get(b"bank-loan", n));
    let lane = format!("loan:{id}");
    let key = |what: &str| format!("bank-loan:{n}:{what}");
    let now = c.registered + Duration::hours(2);
    let branch = org
        .outlets
        .get(c.outlet)
        .map(|o| o.id)
        .ok_or_else(|| LoadError::Demo("no outlet".into()))?;
    let cmd = |command| AppCommand::Loan { loan: id, command };
    let contract = LoanContract {
        customer_id: c.id,
        branch,
        product: text(product)?,
        amount: Money::from_minor(amount),
        rate: Rate::from_units(rate),
        start,
        maturity,
        guarantee,
        purpose: text(match c.segment {
            Segment::Farm => "购买农资",
            Segment::Salaried => "家庭消费",
            _ => "生产经营周转",
        })?,
    };
    let op = org.operator;
    let sign = loan::Command::SignContract {
        loan_id: id,
        contract,
        now,
    };
    out.push(&lane, &key("contract"), op, now, cmd(sign));
    let disburse = loan::Command::Disburse {
        amount: Money::from_minor(amount),
        on: start,
        now,
    };
    out.push(&lane, &key("disburse"), op, now, cmd(disburse));
    let instalments = schedule.clone();
    let set = loan::Command::SetRepaymentSchedule { instalments, now };
    out.push(&lane, &key("schedule"), op, now, cmd(set));
    credit_report(out, rng, op, c, amount, missed.is_some())?;
    Ok(Some(LoanAcct {
        id,
        customer: i,
        amount,
        start,
        maturity,
        schedule,
        missed,
        class: LoanClass::Pass,
        closed: false,
    }))
}

/// The borrower's credit report summary (征信), as the operator imports it.
fn credit_report<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    operator: Actor,
    c: &BankCustomer,
    amount: i64,
    behind: bool,
) -> Result<(), LoadError> {
    let now = c.registered + Duration::hours(3);
    let record = ExternalFactRecord {
        fact: ExternalFact::CreditReport(CreditReportSummary {
            loans_outstanding: rng.between(1, 3) as u16,
            balance_outstanding: Money::from_minor(amount + yuan(rng.between(0, 50) * 1_000)),
            accounts_overdue: u16::from(behind),
            max_days_overdue: if behind { rng.between(1, 30) as u32 } else { 0 },
            guarantees_given: Money::from_minor(yuan(rng.between(0, 2) * 50_000)),
            queries_last_six_months: rng.between(0, 4) as u16,
        }),
        source: text("人民银行征信中心")?,
        as_of: now.date() - Duration::days(rng.between(1, 20)),
    };
    out.push(
        &format!("customer:{}", c.id),
        &format!("bank-customer:{}:credit-report", c.n),
        operator,
        now,
        AppCommand::Customer {
            customer: c.id,
            command: customer::Command::RecordExternalFact { record, now },
        },
    );
    Ok(())
}

/// Cards, e-banking sign-ups and wealth products.
fn services_of<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &BankOrg,
    c: &mut BankCustomer,
) -> Result<(), LoadError> {
    let now = c.registered + Duration::hours(1);
    let lane = format!("banking:{}", c.id);
    let registered = c.registered.date();
    let mut k = 0;
    let mut send = |out: &mut Sender<'_, P>, command: bank_services::Command| {
        k += 1;
        out.push(
            &lane,
            &format!("bank-services:{}:{k}", c.n),
            org.operator,
            now,
            AppCommand::BankServices {
                customer: c.id,
                command,
            },
        );
    };
    let mut cards = Vec::new();
    if c.demand.is_some() && c.segment != Segment::SmallBusiness {
        cards.push(CardKind::Debit);
    }
    if c.segment == Segment::Farm && rng.chance(700_000) {
        cards.push(CardKind::SocialSecurity);
    }
    if c.segment == Segment::Salaried && rng.chance(150_000) {
        cards.push(CardKind::Credit);
    }
    for (j, kind) in cards.into_iter().enumerate() {
        let n = c.n * 4 + j as u64;
        let issued_on = registered - Duration::days(rng.between(1, 2_000));
        c.card_month.get_or_insert(issued_on.month());
        let card = Card {
            kind,
            number: text(&format!("6231****{:04}", n % 10_000))?,
            issued_on,
        };
        let card_id = CardId::from(ids.get(b"bank-card", n));
        send(
            out,
            bank_services::Command::IssueCard {
                customer_id: c.id,
                card_id,
                card,
                now,
            },
        );
    }
    let business = c.segment == Segment::SmallBusiness;
    for (channel, chance) in [
        (
            EChannel::MobileBanking,
            if business { 300_000 } else { 550_000 },
        ),
        (EChannel::SmsAlerts, 600_000),
        (
            EChannel::InternetBanking,
            if business { 900_000 } else { 50_000 },
        ),
        (EChannel::WeChatBanking, 250_000),
    ] {
        if rng.chance(chance) {
            c.sms |= channel == EChannel::SmsAlerts;
            let on = registered - Duration::days(rng.between(1, 700));
            send(
                out,
                bank_services::Command::SignUp {
                    customer_id: c.id,
                    channel,
                    on,
                    now,
                },
            );
        }
    }
    if rng.chance(if c.segment == Segment::Farm {
        30_000
    } else {
        80_000
    }) {
        let on = registered - Duration::days(rng.between(1, 150));
        send(
            out,
            bank_services::Command::SubscribeWealth {
                customer_id: c.id,
                product: text(&format!("农信理财·稳盈{}号", 1 + rng.below(6)))?,
                amount: Money::from_minor(yuan(rng.between(50, 500) * 1_000)),
                on,
                matures_on: Some(on + Duration::days(180)),
                now,
            },
        );
    }
    Ok(())
}
