//! Every calendar day of the window: deposit balances, loan positions and classifications,
//! month-end fee income, and the customer managers' contacts; flushed day by day.

use super::*;

/// Texts used every day, parsed once.
struct Texts {
    topics: Vec<ShortText>,
    maturity: ShortText,
    overdue: ShortText,
    note: LongText,
}

impl Texts {
    fn new() -> Result<Texts, LoadError> {
        let topics = [
            "定期回访",
            "手机银行推广",
            "惠农政策宣传",
            "农户小额信贷走访",
            "社保卡激活提醒",
            "理财产品介绍",
        ]
        .iter()
        .map(|t| text(t))
        .collect::<Result<_, _>>()?;
        Ok(Texts {
            topics,
            maturity: text("定期存款到期提醒")?,
            overdue: text("逾期贷款催收")?,
            note: value(
                "notes",
                LongText::parse("与客户沟通近期资金安排，已介绍相关业务。"),
            )?,
        })
    }
}

/// Sends every day of `window`, flushing after each; returns the days sent.
pub(super) async fn daily<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &BankOrg,
    book: &mut Book,
    (first_day, until): (Date, Date),
) -> Result<u32, LoadError> {
    let texts = Texts::new()?;
    let mut contacts = 0u64;
    let mut d = 0u32;
    let mut day = first_day;
    while day <= until {
        d += 1;
        deposits_day(out, rng, org.operator, book, day)?;
        loans_day(out, org, book, day)?;
        if day
            .next_day()
            .is_some_and(|next| next.month() != day.month())
        {
            fees_day(out, rng, org.operator, book, day)?;
        }
        contacts_day(out, rng, ids, &texts, book, day, &mut contacts)?;
        out.flush("daily data", d).await?;
        day = match day.next_day() {
            Some(next) => next,
            None => break,
        };
    }
    Ok(d)
}

/// Each open account's end-of-day balance; time deposits closed on maturity, their funds
/// moved to the customer's demand account the next day.
fn deposits_day<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    operator: Actor,
    book: &mut Book,
    day: Date,
) -> Result<(), LoadError> {
    let now = at(day, 22 * 60);
    let month = u8::from(day.month());
    for (n, a) in book.deposits.iter_mut().enumerate() {
        if a.closed || day < a.opened_on {
            continue;
        }
        let Some(c) = book.customers.get_mut(a.customer) else {
            continue;
        };
        if a.term == Term::Demand {
            let mut delta = std::mem::take(&mut c.pending_credit);
            let noise = (a.balance / 200).max(yuan(20));
            delta += rng.between(-noise, noise);
            match c.segment {
                Segment::Salaried if day.day() == 15 => delta += yuan(rng.between(3_000, 9_000)),
                Segment::Salaried => delta -= yuan(rng.between(0, 250)),
                Segment::Farm if matches!(month, 7 | 8 | 10 | 11) && rng.chance(50_000) => {
                    delta += yuan(rng.between(5_000, 40_000))
                }
                Segment::Farm if matches!(month, 3 | 4) && rng.chance(40_000) => {
                    delta -= yuan(rng.between(2_000, 10_000))
                }
                _ => {}
            }
            a.balance = a.balance.saturating_add(delta).max(0);
        }
        let lane = format!("deposit:{}", a.id);
        out.push(
            &lane,
            &format!("bank-deposit:{n}:{day}"),
            operator,
            now,
            AppCommand::Deposit {
                account: a.id,
                command: deposit::Command::RecordDailyBalance {
                    account_id: a.id,
                    day: DepositDay {
                        date: day,
                        balance: Money::from_minor(a.balance),
                    },
                    correction: false,
                    now,
                },
            },
        );
        if let Term::Time { maturity } = a.term {
            if day >= maturity {
                a.closed = true;
                c.pending_credit = c.pending_credit.saturating_add(a.balance);
                let closed_on = day;
                out.push(
                    &lane,
                    &format!("bank-deposit:{n}:close"),
                    operator,
                    now,
                    AppCommand::Deposit {
                        account: a.id,
                        command: deposit::Command::Close { closed_on, now },
                    },
                );
            }
        }
    }
    Ok(())
}

/// Each running loan's position; reclassified by its outlet's branch manager at 30 and 90
/// days overdue; closed once repaid at maturity.
fn loans_day<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    org: &BankOrg,
    book: &mut Book,
    day: Date,
) -> Result<(), LoadError> {
    let now = at(day, 22 * 60 + 30);
    for (n, l) in book.loans.iter_mut().enumerate() {
        if l.closed || day < l.start {
            continue;
        }
        let repaid: i64 = l
            .schedule
            .iter()
            .filter(|s| s.due <= day && l.missed.is_none_or(|m| s.due < m))
            .map(|s| s.principal.minor())
            .sum();
        let balance = l.amount.saturating_sub(repaid).max(0);
        let days_overdue = match l.missed {
            Some(m) if day >= m => (day - m).whole_days(),
            _ => 0,
        };
        let lane = format!("loan:{}", l.id);
        let cmd = |command| AppCommand::Loan {
            loan: l.id,
            command,
        };
        let position = loan::Command::RecordDailyPosition {
            loan_id: l.id,
            day: LoanDay {
                date: day,
                balance: Money::from_minor(balance),
                days_overdue: u32::try_from(days_overdue).unwrap_or(u32::MAX),
            },
            correction: false,
            now,
        };
        let key = |what: &str| format!("bank-loan:{n}:{what}");
        out.push(
            &lane,
            &key(&day.to_string()),
            org.operator,
            now,
            cmd(position),
        );
        let to = match l.class {
            LoanClass::Pass if days_overdue >= 30 => Some(LoanClass::SpecialMention),
            LoanClass::SpecialMention if days_overdue >= 90 => Some(LoanClass::Substandard),
            _ => None,
        };
        if let Some(to) = to {
            let manager = book
                .customers
                .get(l.customer)
                .and_then(|c| org.outlets.get(c.outlet))
                .map(|o| o.manager)
                .ok_or_else(|| LoadError::Demo("no outlet manager".into()))?;
            let reclassify = loan::Command::Reclassify {
                from: l.class,
                to,
                reason: text(&format!("逾期{days_overdue}天"))?,
                by: manager.staff_id,
                now,
            };
            out.push(
                &lane,
                &key(&format!("class:{to:?}")),
                manager,
                now,
                cmd(reclassify),
            );
            l.class = to;
        }
        if balance == 0 && l.missed.is_none() && day >= l.maturity {
            let close = loan::Command::Close {
                on: day,
                how: LoanClosure::Repaid,
                now,
            };
            out.push(&lane, &key("close"), org.operator, now, cmd(close));
            l.closed = true;
        }
    }
    Ok(())
}

/// Each customer's fee income of the month, recorded on its last day: SMS alerts, the card's
/// yearly fee in its issue month, settlement fees of businesses, agency fees of households.
fn fees_day<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    operator: Actor,
    book: &Book,
    day: Date,
) -> Result<(), LoadError> {
    let now = at(day, 23 * 60);
    for c in &book.customers {
        let mut fees = Vec::new();
        if c.sms {
            fees.push((FeeType::ElectronicBanking, yuan(2)));
        }
        if c.card_month == Some(day.month()) {
            fees.push((FeeType::BankCard, yuan(10)));
        }
        match c.segment {
            Segment::SoleProprietor | Segment::SmallBusiness => {
                fees.push((FeeType::Settlement, yuan(rng.between(20, 300))));
            }
            Segment::Farm if rng.chance(300_000) => {
                fees.push((FeeType::Agency, yuan(rng.between(1, 5))));
            }
            _ => {}
        }
        for (fee_type, amount) in fees {
            out.push(
                &format!("fees:{}", c.id),
                &format!("bank-fee:{}:{day}:{fee_type:?}", c.n),
                operator,
                now,
                AppCommand::FeeIncome {
                    customer: c.id,
                    command: fee_income::Command::RecordFeeIncome {
                        customer_id: c.id,
                        day: FeeDay {
                            date: day,
                            fee_type,
                            amount: Money::from_minor(amount),
                        },
                        correction: false,
                        now,
                    },
                },
            );
        }
    }
    Ok(())
}

/// The customer managers' contacts: a maturity reminder five days before a time deposit
/// matures, a call each week on an overdue loan, and now and then a routine contact.
fn contacts_day<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    texts: &Texts,
    book: &Book,
    day: Date,
    contacts: &mut u64,
) -> Result<(), LoadError> {
    let mut due: Vec<(usize, &ShortText)> = Vec::new();
    for a in &book.deposits {
        if let (false, Term::Time { maturity }) = (a.closed, a.term) {
            if maturity - Duration::days(5) == day {
                due.push((a.customer, &texts.maturity));
            }
        }
    }
    for l in &book.loans {
        if let (false, Some(m)) = (l.closed, l.missed) {
            if day > m && (day - m).whole_days() % 7 == 1 {
                due.push((l.customer, &texts.overdue));
            }
        }
    }
    for (i, _) in book.customers.iter().enumerate() {
        if rng.chance(4_000) {
            due.push((i, pick(rng, &texts.topics, "topic")?));
        }
    }
    for (i, topic) in due {
        let Some(c) = book.customers.get(i) else {
            continue;
        };
        *contacts += 1;
        let interaction_id = InteractionId::from(ids.get(b"bank-contact", *contacts));
        let when = at(day, 9 * 60 + rng.between(0, 480));
        out.push(
            &format!("interaction:{interaction_id}"),
            &format!("bank-contact:{contacts}"),
            c.manager,
            when,
            AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::RecordContact {
                    interaction_id,
                    customer_id: c.id,
                    staff_id: c.manager.staff_id,
                    channel: *pick(
                        rng,
                        &[
                            Channel::Phone,
                            Channel::Phone,
                            Channel::WeChat,
                            Channel::Visit,
                        ],
                        "channel",
                    )?,
                    direction: Direction::Outbound,
                    topic: topic.clone(),
                    outcome: *pick(
                        rng,
                        &[
                            Outcome::Reached,
                            Outcome::Reached,
                            Outcome::Interested,
                            Outcome::NotReached,
                        ],
                        "outcome",
                    )?,
                    notes: texts.note.clone(),
                    follow_up_on: None,
                    now: when,
                },
            },
        );
    }
    Ok(())
}
