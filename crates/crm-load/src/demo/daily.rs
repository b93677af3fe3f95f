//! The demo's daily data: per trading day (weekends skipped), market totals, then each
//! customer's activities (`activities`), and now and then a campaign.

use super::activities;
use super::*;

/// Texts used every day, parsed once.
pub(super) struct Texts {
    pub(super) topics: Vec<ShortText>,
    pub(super) note: LongText,
    pub(super) care_notes: LongText,
    pub(super) ticket_texts: Vec<(ShortText, LongText)>,
    pub(super) resolution: LongText,
    pub(super) escalation: ShortText,
    pub(super) lead_title: ShortText,
    pub(super) winback_note: ShortText,
    pub(super) churn_note: ShortText,
    pub(super) visit_purpose: ShortText,
    pub(super) segment: LongText,
}

impl Texts {
    pub(super) fn new() -> Result<Texts, LoadError> {
        // Texts used every day, parsed once.
        let topics: Vec<ShortText> = [
            "定期回访",
            "新股申购提醒",
            "基金定投推荐",
            "账户资产变动告知",
            "两融业务介绍",
            "投资者教育",
            "市场行情解读",
        ]
        .iter()
        .map(|t| value("topic", ShortText::parse(t)))
        .collect::<Result<_, _>>()?;
        let note = value(
            "notes",
            LongText::parse("客户关注近期市场走势，已介绍相关产品与风险。"),
        )?;
        let care_notes = value(
            "notes",
            LongText::parse("向客户致以问候，并提示近期市场风险。"),
        )?;
        let ticket_texts: Vec<(ShortText, LongText)> = [
            ("交易软件登录缓慢", "客户反映早盘登录移动端较慢。"),
            ("佣金费率咨询", "客户咨询当前佣金费率及调整方式。"),
            ("转账失败", "银证转账提示失败，客户要求尽快处理。"),
            ("建议增加夜间服务", "客户建议延长客服热线服务时间。"),
            ("资料变更申请", "客户申请变更联系地址与电话。"),
        ]
        .iter()
        .map(|(s, d)| {
            Ok((
                value("subject", ShortText::parse(s))?,
                value("description", LongText::parse(d))?,
            ))
        })
        .collect::<Result<_, LoadError>>()?;
        let resolution = value(
            "resolution",
            LongText::parse("已核实并处理，客户确认问题解决。"),
        )?;
        let escalation = value("reason", ShortText::parse("客户情绪激动，升级处理"))?;
        let lead_title = value("title", ShortText::parse("资产配置需求"))?;
        let winback_note = value("note", ShortText::parse("电话回访，介绍新的费率优惠"))?;
        let churn_note = value("note", ShortText::parse("客户转户至其他券商"))?;
        let visit_purpose = value("purpose", ShortText::parse("重点客户季度走访"))?;
        let segment = value(
            "segment",
            LongText::parse("资产50万以上、风险等级C3及以上的活跃客户"),
        )?;

        Ok(Texts {
            topics,
            note,
            care_notes,
            ticket_texts,
            resolution,
            escalation,
            lead_title,
            winback_note,
            churn_note,
            visit_purpose,
            segment,
        })
    }
}

/// One trading day as the activities see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Today {
    pub(super) day: Date,
    /// The trading day's number, from 1.
    pub(super) d: u32,
    pub(super) close: OffsetDateTime,
    /// The market's move today in basis points.
    pub(super) market_bp: i64,
    pub(super) market_event: bool,
    pub(super) holiday: bool,
}

/// Numbers of the entities created so far, for their ids and command keys.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) contact: u64,
    pub(super) ticket: u64,
    pub(super) lead: u64,
    pub(super) campaign: u64,
}

/// What the activities draw on and send to.
pub(super) struct Cx<'c, 'a, P> {
    pub(super) out: &'c mut Sender<'a, P>,
    pub(super) rng: &'c mut Rng,
    pub(super) ids: Ids,
    pub(super) org: &'c Org,
    pub(super) texts: &'c Texts,
    pub(super) counters: &'c mut Counters,
}

/// Sends `days` trading days of data from `first_day`, flushing after each; returns the
/// trading days sent.
pub(super) async fn daily<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &Org,
    holders: &mut [Holder],
    days: u32,
    first_day: Date,
) -> Result<u32, LoadError> {
    let texts = Texts::new()?;
    let operator = org.operator;
    let mut counters = Counters::default();
    let mut day = first_day;
    let mut trading_days: u32 = 0;
    let mut holiday_year: Option<i32> = None;
    while trading_days < days {
        if !is_trading_day(day) {
            day = day
                .next_day()
                .ok_or_else(|| LoadError::Demo("date overflow".into()))?;
            continue;
        }
        trading_days += 1;
        let d = trading_days;
        let close = at(day, 15 * 60 + 30);
        // The market's move today in basis points: mostly small, now and then a bad day.
        let market_bp = if rng.chance(30_000) {
            -rng.between(300, 700)
        } else {
            rng.between(-150, 160)
        };
        let market_event = market_bp <= -300;
        for (m, (market, base)) in [
            (Market::Shanghai, 380_000_000_000i64),
            (Market::Shenzhen, 520_000_000_000),
            (Market::Beijing, 2_000_000_000),
        ]
        .into_iter()
        .enumerate()
        {
            let yuan = base + scale(base, rng.between(-2500, 2500), 10_000);
            out.push(
                &format!("market:{day}"),
                &format!("market:{day}:{m}"),
                operator,
                close,
                AppCommand::Market {
                    trade_date: day,
                    command: market::Command::RecordMarketTotals {
                        trade_date: day,
                        market,
                        totals: MarketTotals {
                            turnover: Money::from_minor(yuan.saturating_mul(Money::SCALE)),
                        },
                        correction: false,
                        now: close,
                    },
                },
            );
        }
        // Holiday care (节日关怀) on the first trading day of February, ahead of the Spring
        // Festival, once a year.
        let holiday = day.month() == Month::February && holiday_year != Some(day.year());
        if holiday {
            holiday_year = Some(day.year());
        }
        let today = Today {
            day,
            d,
            close,
            market_bp,
            market_event,
            holiday,
        };
        let mut cx = Cx {
            out: &mut *out,
            rng: &mut *rng,
            ids,
            org,
            texts: &texts,
            counters: &mut counters,
        };
        for (n, h) in holders.iter_mut().enumerate() {
            let n = n as u64;
            activities::lifecycle(&mut cx, &today, h, n)?;
            activities::daily_summary(&mut cx, &today, h, n)?;
            activities::contact_and_care(&mut cx, &today, h)?;
            activities::visit(&mut cx, &today, h)?;
            activities::ticket(&mut cx, &today, h)?;
            activities::sale(&mut cx, &today, h)?;
        }
        if d % 20 == 1 {
            campaign(&mut cx, &today, holders)?;
        }
        out.flush("daily data", d).await?;
        day = day
            .next_day()
            .ok_or_else(|| LoadError::Demo("date overflow".into()))?;
    }
    Ok(trading_days)
}

/// A campaign (one every twenty trading days), company-wide or by a branch, with responses
/// from a slice of the customers over the following two weeks.
fn campaign<P: FnMut(DemoProgress)>(
    cx: &mut Cx<'_, '_, P>,
    today: &Today,
    holders: &[Holder],
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
    let hq = org.hq;
    let products = &org.products;
    let branches = &org.branches;
    let Texts { segment, .. } = texts;
    let Today { day, .. } = *today;
    counters.campaign += 1;
    let campaign_n = counters.campaign;
    let campaign_id = CampaignId::from(id(b"campaign", campaign_n));
    let lane = format!("campaign:{campaign_id}");
    let by_branch = campaign_n % 2 == 0;
    let branch = branches.get(rng.below(branches.len() as u64) as usize);
    // Headquarters runs every campaign, a branch's too (its branch manager could).
    let actor = hq;
    let target = match (by_branch, branch) {
        (true, Some(b)) => Some(b.id),
        _ => None,
    };
    let (product_id, _) = *pick(rng, products, "product")?;
    let planned = at(day, 9 * 60);
    let c_key = |what: &str| format!("campaign:{campaign_n}:{what}");
    let send = |out: &mut Sender<'_, _>, what: &str, now, command| {
        out.push(
            &lane,
            &c_key(what),
            actor,
            now,
            AppCommand::Campaign {
                campaign: campaign_id,
                command,
            },
        );
    };
    send(
        out,
        "plan",
        planned,
        campaign::Command::Plan {
            campaign_id,
            name: value(
                "campaign name",
                OrgName::parse(&format!(
                    "{}月财富管理节第{campaign_n}期",
                    u8::from(day.month())
                )),
            )?,
            branch: target,
            target_segment: segment.clone(),
            product_id: Some(product_id),
            starts_on: day,
            ends_on: day + Duration::days(14),
            budget: Money::from_minor(rng.between(50_000, 500_000) * Money::SCALE),
            now: planned,
        },
    );
    send(
        out,
        "launch",
        planned + Duration::hours(1),
        campaign::Command::Launch {
            targets: None,
            now: planned + Duration::hours(1),
        },
    );
    for (n, h) in holders.iter().enumerate() {
        if (target.is_some() && target != Some(h.branch)) || !rng.chance(30_000) {
            continue;
        }
        let response = *pick(
            rng,
            &[
                Response::Contacted,
                Response::Contacted,
                Response::Interested,
                Response::NotInterested,
                Response::Converted,
            ],
            "response",
        )?;
        let when = planned + Duration::hours(rng.between(2, 13 * 24));
        send(
            out,
            &format!("response:{n}"),
            when,
            campaign::Command::RecordResponse {
                customer_id: h.customer,
                response,
                channel: None,
                now: when,
            },
        );
    }
    send(
        out,
        "close",
        planned + Duration::days(15),
        campaign::Command::Close {
            summary: value("summary", LongText::parse("活动结束，转化情况已统计。"))?,
            now: planned + Duration::days(15),
        },
    );
    Ok(())
}
