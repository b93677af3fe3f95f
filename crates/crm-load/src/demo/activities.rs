//! The demo's daily activities of one customer (see the parent module), each a function of
//! the generator's state: the draws happen in the order they always did, so the same seed
//! gives the same log.

use super::*;

/// Lifecycle: dormancy, churn (with a reason), win-back and reactivation.
pub(super) fn lifecycle<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    h: &mut Holder,
    n: u64,
) -> Result<(), LoadError> {
    let Cx {
        out,
        rng,
        org,
        texts,
        ..
    } = cx;
    let hq = org.hq;
    let Texts {
        winback_note,
        churn_note,
        ..
    } = texts;
    let Today { day, d, close, .. } = *today;
    let customer_lane = format!("customer:{}", h.customer);
    let cm = h.manager;
    // Lifecycle: small, inactive accounts drift into dormancy, dormant ones churn,
    // managers try to win churned customers back, some come back.
    match h.life {
        // A prospect funds the account and becomes a customer, on average within a
        // couple of months.
        Life::Prospect if rng.chance(15_000) => {
            h.life = Life::Active;
            out.push(
                &customer_lane,
                &format!("activate:{n}:{d}"),
                cm,
                at(day, 9 * 60 + 30),
                AppCommand::Customer {
                    customer: h.customer,
                    command: customer::Command::Activate {
                        now: at(day, 9 * 60 + 30),
                    },
                },
            );
        }
        Life::Active if h.assets < 50_000 * Money::SCALE && rng.chance(1_500) => {
            h.life = Life::Dormant;
            out.push(
                &customer_lane,
                &format!("dormant:{n}:{d}"),
                hq,
                close,
                AppCommand::Customer {
                    customer: h.customer,
                    command: customer::Command::MarkDormant { now: close },
                },
            );
        }
        Life::Active if rng.chance(120) => {
            h.life = Life::Churned;
            let reason = *pick(
                rng,
                &[
                    ChurnReason::Competitor,
                    ChurnReason::Fees,
                    ChurnReason::ServiceQuality,
                    ChurnReason::InvestmentLosses,
                    ChurnReason::Relocation,
                    ChurnReason::LeftTheMarket,
                ],
                "churn reason",
            )?;
            out.push(
                &customer_lane,
                &format!("churn:{n}:{d}"),
                hq,
                close,
                AppCommand::Customer {
                    customer: h.customer,
                    command: customer::Command::MarkChurned {
                        reason,
                        note: (reason == ChurnReason::Competitor).then(|| churn_note.clone()),
                        now: close,
                    },
                },
            );
        }
        Life::Dormant if rng.chance(8_000) => {
            h.life = Life::Churned;
            out.push(
                &customer_lane,
                &format!("churn:{n}:{d}"),
                hq,
                close,
                AppCommand::Customer {
                    customer: h.customer,
                    command: customer::Command::MarkChurned {
                        reason: ChurnReason::LeftTheMarket,
                        note: None,
                        now: close,
                    },
                },
            );
        }
        Life::Dormant | Life::Churned if rng.chance(20_000) => {
            out.push(
                &customer_lane,
                &format!("winback:{n}:{d}"),
                cm,
                close,
                AppCommand::Customer {
                    customer: h.customer,
                    command: customer::Command::RecordWinBackAttempt {
                        by: cm.staff_id,
                        channel: Channel::Phone,
                        note: Some(winback_note.clone()),
                        now: close,
                    },
                },
            );
            if rng.below(2) == 0 {
                h.life = Life::Active;
                h.assets = h
                    .assets
                    .saturating_add(rng.between(20_000, 200_000) * Money::SCALE);
                out.push(
                    &customer_lane,
                    &format!("reactivate:{n}:{d}"),
                    hq,
                    close + Duration::minutes(30),
                    AppCommand::Customer {
                        customer: h.customer,
                        command: customer::Command::Reactivate {
                            now: close + Duration::minutes(30),
                        },
                    },
                );
            }
        }
        _ => {}
    }
    Ok(())
}

/// The account's daily trade summary: the market's move, flows, trades and holdings.
pub(super) fn daily_summary<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    h: &mut Holder,
    n: u64,
) -> Result<(), LoadError> {
    let Cx { out, rng, org, .. } = cx;
    let operator = org.operator;
    let Today {
        day,
        d,
        close,
        market_bp,
        ..
    } = *today;
    // A prospect has no funded account yet: no daily figures until activated.
    if h.life != Life::Prospect {
        // Today's figures, all in minor units.
        let before = h.assets;
        let risky = scale(before, h.weights[1] + h.weights[2], 100);
        let move_bp = market_bp + rng.between(-120, 120);
        let unrealised = scale(risky, move_bp, 10_000);
        let mut deposits = 0;
        let mut withdrawals = 0;
        match h.life {
            Life::Churned => withdrawals = scale(before, rng.between(10, 40), 100),
            _ if rng.chance(40_000) => {
                if rng.below(5) < 3 {
                    deposits = scale(before.max(10_000 * Money::SCALE), rng.between(1, 25), 100);
                } else {
                    withdrawals = scale(before, rng.between(1, 20), 100);
                }
            }
            _ => {}
        }
        let trades = h.life == Life::Active && rng.chance(h.activity);
        let mut turnover = Vec::new();
        let mut commission = Money::ZERO;
        let mut realised = 0;
        if trades {
            let total = scale(before, rng.between(300, 4000), 10_000);
            let market = if rng.below(2) == 0 {
                Market::Shanghai
            } else {
                Market::Shenzhen
            };
            let channel = if h.institutional {
                TradeChannel::Api
            } else {
                *pick(
                    rng,
                    &[
                        TradeChannel::Mobile,
                        TradeChannel::Mobile,
                        TradeChannel::Mobile,
                        TradeChannel::Internet,
                        TradeChannel::Counter,
                        TradeChannel::Phone,
                    ],
                    "trade channel",
                )?
            };
            let fund_part = if h.weights[2] > 0 {
                scale(total, rng.between(0, 40), 100)
            } else {
                0
            };
            let stock_part = total - fund_part;
            for (security_type, amount) in [
                (SecurityType::Stock, stock_part),
                (SecurityType::Fund, fund_part),
            ] {
                if amount > 0 {
                    turnover.push(TurnoverLine {
                        market,
                        security_type,
                        channel,
                        amount: Money::from_minor(amount),
                    });
                }
            }
            commission = Money::from_minor(total)
                .apply_rate(Rate::from_units(h.rate))
                .unwrap_or(Money::ZERO);
            realised = scale(total, rng.between(-300, 320), 10_000);
        }
        // Saturating: a decades-long demo of a whale must not overflow.
        let after = before
            .saturating_add(unrealised)
            .saturating_add(realised)
            .saturating_add(deposits)
            .saturating_sub(withdrawals)
            .saturating_sub(commission.minor())
            .max(0);
        h.assets = after;
        let mut holdings = Vec::with_capacity(5);
        let mut rest = after;
        for (i, asset_class) in [
            AssetClass::Cash,
            AssetClass::Stocks,
            AssetClass::Funds,
            AssetClass::Bonds,
            AssetClass::WealthProducts,
        ]
        .into_iter()
        .enumerate()
        {
            let weight = h.weights.get(i).copied().unwrap_or(0);
            // The last class takes the remainder, so the lines add up to the assets.
            let part = if i == 4 {
                rest
            } else {
                scale(after, weight, 100)
            };
            rest -= part;
            if weight > 0 || (i == 4 && part > 0) {
                holdings.push(HoldingLine {
                    asset_class,
                    market_value: Money::from_minor(part),
                });
            }
        }
        out.push(
            &format!("account:{}", h.account),
            &format!("summary:{n}:{d}"),
            operator,
            close,
            AppCommand::Account {
                account: h.account,
                command: account::Command::RecordDailySummary {
                    account_id: h.account,
                    summary: DailyTradeSummary {
                        trade_date: day,
                        customer_id: h.customer,
                        turnover,
                        commission,
                        deposits: Money::from_minor(deposits),
                        withdrawals: Money::from_minor(withdrawals),
                        end_of_day_assets: Money::from_minor(after),
                        holdings,
                        realised_pnl: Money::from_minor(realised),
                        unrealised_pnl: Money::from_minor(unrealised),
                    },
                    correction: false,
                    now: close,
                },
            },
        );
    }
    Ok(())
}

/// Contacts by the customer's manager, and care on birthdays, holidays and bad market days.
pub(super) fn contact_and_care<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    h: &mut Holder,
) -> Result<(), LoadError> {
    let Cx {
        out,
        rng,
        counters,
        ids,
        texts,
        ..
    } = cx;
    let id = |kind: &[u8], n: u64| ids.get(kind, n);
    let Texts {
        topics,
        note,
        care_notes,
        ..
    } = texts;
    let Today {
        day,
        market_event,
        holiday,
        ..
    } = *today;
    let cm = h.manager;
    // Contacts: the customer's manager, through the channels people use.
    if h.life != Life::Churned && rng.chance(if h.key { 40_000 } else { 6_000 }) {
        counters.contact += 1;
        let contact_n = counters.contact;
        let interaction_id = InteractionId::from(id(b"contact", contact_n));
        let when = at(day, 9 * 60 + rng.between(0, 480));
        out.push(
            &format!("interaction:{interaction_id}"),
            &format!("contact:{contact_n}"),
            cm,
            when,
            AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::RecordContact {
                    interaction_id,
                    customer_id: h.customer,
                    staff_id: cm.staff_id,
                    channel: *pick(
                        rng,
                        &[
                            Channel::Phone,
                            Channel::Phone,
                            Channel::WeChat,
                            Channel::WeChat,
                            Channel::App,
                            Channel::Email,
                            Channel::Counter,
                        ],
                        "channel",
                    )?,
                    direction: if rng.below(4) == 0 {
                        Direction::Inbound
                    } else {
                        Direction::Outbound
                    },
                    topic: pick(rng, topics, "topic")?.clone(),
                    outcome: *pick(
                        rng,
                        &[
                            Outcome::Reached,
                            Outcome::Reached,
                            Outcome::Interested,
                            Outcome::NotInterested,
                            Outcome::NotReached,
                            Outcome::FollowUpNeeded,
                        ],
                        "outcome",
                    )?,
                    notes: note.clone(),
                    follow_up_on: None,
                    now: when,
                },
            },
        );
    }
    // Care: birthdays, the Spring Festival, and bad market days for stock holders.
    let occasion = if h.birthday == Some((day.month(), day.day())) {
        Some(CareOccasion::Birthday)
    } else if holiday && h.key {
        Some(CareOccasion::Holiday)
    } else if market_event && h.key && h.weights[1] >= 40 {
        Some(CareOccasion::MarketEvent)
    } else {
        None
    };
    if let (Some(occasion), true) = (occasion, h.life != Life::Churned) {
        counters.contact += 1;
        let contact_n = counters.contact;
        let interaction_id = InteractionId::from(id(b"contact", contact_n));
        let when = at(day, 10 * 60);
        out.push(
            &format!("interaction:{interaction_id}"),
            &format!("care:{contact_n}"),
            cm,
            when,
            AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::RecordCareContact {
                    interaction_id,
                    customer_id: h.customer,
                    staff_id: cm.staff_id,
                    occasion,
                    channel: Channel::WeChat,
                    notes: care_notes.clone(),
                    now: when,
                },
            },
        );
    }
    Ok(())
}

/// Visits to key customers.
pub(super) fn visit<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    h: &mut Holder,
) -> Result<(), LoadError> {
    let Cx {
        out,
        rng,
        counters,
        ids,
        texts,
        ..
    } = cx;
    let id = |kind: &[u8], n: u64| ids.get(kind, n);
    let Texts {
        note,
        visit_purpose,
        ..
    } = texts;
    let Today { day, .. } = *today;
    let cm = h.manager;
    // Visits to key customers: planned today, done two days later.
    if h.key && h.life == Life::Active && rng.chance(8_000) {
        counters.contact += 1;
        let contact_n = counters.contact;
        let interaction_id = InteractionId::from(id(b"contact", contact_n));
        let lane = format!("interaction:{interaction_id}");
        let planned = at(day, 16 * 60);
        let visit = planned + Duration::days(2) - Duration::hours(2);
        out.push(
            &lane,
            &format!("visit:{contact_n}"),
            cm,
            planned,
            AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::PlanVisit {
                    interaction_id,
                    customer_id: h.customer,
                    staff_id: cm.staff_id,
                    planned_for: visit,
                    purpose: visit_purpose.clone(),
                    now: planned,
                },
            },
        );
        out.push(
            &lane,
            &format!("visit-done:{contact_n}"),
            cm,
            visit + Duration::hours(1),
            AppCommand::Interaction {
                interaction: interaction_id,
                command: interaction::Command::CompleteVisit {
                    outcome: Outcome::Interested,
                    notes: note.clone(),
                    follow_up_on: (visit + Duration::days(14)).date().into(),
                    now: visit + Duration::hours(1),
                },
            },
        );
    }
    Ok(())
}

/// Service tickets.
pub(super) fn ticket<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    h: &mut Holder,
) -> Result<(), LoadError> {
    let Cx {
        out,
        rng,
        counters,
        ids,
        org,
        texts,
    } = cx;
    let id = |kind: &[u8], n: u64| ids.get(kind, n);
    let agents = &org.agents;
    let Texts {
        ticket_texts,
        resolution,
        escalation,
        ..
    } = texts;
    let Today { day, .. } = *today;
    // Service tickets: opened by the call centre, most resolved within the SLA.
    if rng.chance(500) {
        counters.ticket += 1;
        let ticket_n = counters.ticket;
        let ticket_id = TicketId::from(id(b"ticket", ticket_n));
        let lane = format!("ticket:{ticket_id}");
        let agent = *pick(rng, agents, "service agent")?;
        let kind = *pick(
            rng,
            &[
                TicketKind::Complaint,
                TicketKind::Inquiry,
                TicketKind::Inquiry,
                TicketKind::Suggestion,
                TicketKind::Request,
            ],
            "ticket kind",
        )?;
        let priority = *pick(
            rng,
            &[
                Priority::Low,
                Priority::Normal,
                Priority::Normal,
                Priority::High,
            ],
            "priority",
        )?;
        let (subject, description) = pick(rng, ticket_texts, "ticket text")?.clone();
        let opened = at(day, 9 * 60 + rng.between(0, 420));
        let sla = ticket::sla_hours(kind, priority);
        let t_key = |what: &str| format!("ticket:{ticket_n}:{what}");
        let send = |out: &mut Sender<'_, _>, what: &str, now, command| {
            out.push(
                &lane,
                &t_key(what),
                agent,
                now,
                AppCommand::Ticket {
                    ticket: ticket_id,
                    command,
                },
            );
        };
        send(
            out,
            "open",
            opened,
            ticket::Command::Open {
                ticket_id,
                customer_id: Some(h.customer),
                branch: Some(h.branch),
                kind,
                priority,
                channel: *pick(
                    rng,
                    &[
                        Channel::CallCentre,
                        Channel::CallCentre,
                        Channel::App,
                        Channel::Counter,
                    ],
                    "channel",
                )?,
                subject,
                description,
                now: opened,
            },
        );
        send(
            out,
            "assign",
            opened + Duration::minutes(10),
            ticket::Command::Assign {
                assignee: agent.staff_id,
                by: agent.staff_id,
                now: opened + Duration::minutes(10),
            },
        );
        if kind == TicketKind::Complaint && rng.below(4) == 0 {
            send(
                out,
                "escalate",
                opened + Duration::hours(1),
                ticket::Command::Escalate {
                    to: None,
                    reason: escalation.clone(),
                    by: agent.staff_id,
                    now: opened + Duration::hours(1),
                },
            );
        }
        // One in eight misses the SLA; the rest are resolved within it.
        let hours = if rng.below(8) == 0 {
            sla + rng.between(1, 48)
        } else {
            rng.between(1, sla.max(2) - 1)
        };
        let resolved = opened + Duration::hours(hours);
        send(
            out,
            "resolve",
            resolved,
            ticket::Command::Resolve {
                resolution: resolution.clone(),
                by: agent.staff_id,
                now: resolved,
            },
        );
        let score = if hours > sla {
            rng.between(1, 3)
        } else {
            rng.between(3, 5)
        };
        send(
            out,
            "close",
            resolved + Duration::hours(24),
            ticket::Command::Close {
                satisfaction: value(
                    "satisfaction",
                    Satisfaction::parse(u8::try_from(score).unwrap_or(3)),
                )?,
                now: resolved + Duration::hours(24),
            },
        );
    }
    Ok(())
}

/// Sales leads and product sales within suitability.
///
/// About 170 lines: one lead's whole life (created, qualified, proposed, won with its
/// recommendation and sale, or lost) as the one sequence of sends and draws it is; cutting it
/// would only pass the lead's eight values between the pieces.
pub(super) fn sale<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    h: &mut Holder,
) -> Result<(), LoadError> {
    let Cx {
        out,
        rng,
        counters,
        ids,
        org,
        texts,
    } = cx;
    let id = |kind: &[u8], n: u64| ids.get(kind, n);
    let products = &org.products;
    let Texts { lead_title, .. } = texts;
    let Today { day, .. } = *today;
    let customer_lane = format!("customer:{}", h.customer);
    let cm = h.manager;
    // Sales: a lead, qualified and proposed, won or lost; a won lead is a product sale
    // within the customer's suitability.
    if h.life == Life::Active && rng.chance(if h.key { 6_000 } else { 800 }) {
        counters.lead += 1;
        let lead_n = counters.lead;
        let fitting: Vec<(ProductId, ProductRisk)> = products
            .iter()
            .copied()
            .filter(|(_, r)| r.level() <= h.level.level())
            .collect();
        let (product_id, product_risk) = *pick(rng, &fitting, "suitable product")?;
        let opportunity_id = OpportunityId::from(id(b"lead", lead_n));
        let lane = format!("opportunity:{opportunity_id}");
        let expected = Money::from_minor(scale(
            h.assets.max(10_000 * Money::SCALE),
            rng.between(5, 30),
            100,
        ));
        let created = at(day, 11 * 60);
        let o_key = |what: &str| format!("lead:{lead_n}:{what}");
        let send = |out: &mut Sender<'_, _>, what: &str, now, command| {
            out.push(
                &lane,
                &o_key(what),
                cm,
                now,
                AppCommand::Opportunity {
                    opportunity: opportunity_id,
                    command,
                },
            );
        };
        send(
            out,
            "create",
            created,
            opportunity::Command::CreateLead {
                opportunity_id,
                customer_id: h.customer,
                product_id: Some(product_id),
                expected_amount: expected,
                owner: cm.staff_id,
                source: *pick(
                    rng,
                    &[
                        Channel::Phone,
                        Channel::Visit,
                        Channel::WeChat,
                        Channel::App,
                    ],
                    "channel",
                )?,
                title: lead_title.clone(),
                now: created,
            },
        );
        let outcome = rng.below(10);
        if outcome < 2 {
            send(
                out,
                "lose",
                created + Duration::days(3),
                opportunity::Command::Lose {
                    reason: LossReason::NoResponse,
                    note: None,
                    now: created + Duration::days(3),
                },
            );
        } else {
            send(
                out,
                "qualify",
                created + Duration::days(1),
                opportunity::Command::Qualify {
                    now: created + Duration::days(1),
                },
            );
            send(
                out,
                "propose",
                created + Duration::days(2),
                opportunity::Command::Propose {
                    product_id,
                    expected_amount: expected,
                    now: created + Duration::days(2),
                },
            );
            if outcome < 6 {
                let won = created + Duration::days(5);
                send(
                    out,
                    "win",
                    won,
                    opportunity::Command::Win {
                        amount: expected,
                        now: won,
                    },
                );
                out.push(
                    &customer_lane,
                    &format!("recommend:{lead_n}"),
                    cm,
                    created,
                    AppCommand::Customer {
                        customer: h.customer,
                        command: customer::Command::RecommendProduct {
                            product_id,
                            product_risk,
                            by: cm.staff_id,
                            now: created,
                        },
                    },
                );
                out.push(
                    &customer_lane,
                    &format!("sale:{lead_n}"),
                    cm,
                    won,
                    AppCommand::Customer {
                        customer: h.customer,
                        command: customer::Command::RecordProductSale {
                            product_id,
                            product_risk,
                            amount: expected,
                            by: cm.staff_id,
                            now: won,
                        },
                    },
                );
            } else {
                let reason = *pick(
                    rng,
                    &[
                        LossReason::Price,
                        LossReason::Competitor,
                        LossReason::NoBudget,
                        LossReason::Other,
                    ],
                    "loss reason",
                )?;
                send(
                    out,
                    "lose",
                    created + Duration::days(7),
                    opportunity::Command::Lose {
                        reason,
                        note: None,
                        now: created + Duration::days(7),
                    },
                );
            }
        }
    }
    Ok(())
}
