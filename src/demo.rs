//! `crm demo` and `crm serve --demo`: a deterministic, realistic data set sent through the same
//! command path as real data (`crm_app::App`): regions and branches across provinces, branch
//! managers and customer managers, individual and institutional customers with a heavy-tailed
//! (Pareto) asset distribution, fund accounts, suitability assessments, daily trade summaries
//! for every trading day, contacts across channels and service tickets.
//!
//! Same seed, same commands: every id and every business time follows from the seed, never
//! from the clock, so two runs write the same events (only the log's recorded-at differs).

use std::time::Instant;

use anyhow::Context;
use crm_app::{item_command_id, App, AppCommand, CommandEnvelope};
use crm_domain::account::{
    self, AssetClass, DailyTradeSummary, HoldingLine, SecurityType, TradeChannel, TurnoverLine,
};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::customer::{self, AccountKind, Assignment, CustomerKind, Profile};
use crm_domain::ids::{
    AccountId, BranchId, CustomerId, InteractionId, RegionId, StaffId, TicketId,
};
use crm_domain::interaction;
use crm_domain::risk::RiskTolerance;
use crm_domain::ticket;
use crm_domain::values::{
    Channel, IdDocument, LongText, Market, OrgName, PersonName, Phone, ResidentIdNumber, ShortText,
    UnifiedSocialCreditCode,
};
use crm_domain::{branch, region, staff, Money};
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime, Weekday};
use uuid::Uuid;

/// Regions, and their branches with the resident-ID area code of their city.
const ORGANISATION: &[(&str, &[(&str, &str)])] = &[
    (
        "华东分公司",
        &[
            ("上海浦东营业部", "310115"),
            ("杭州庆春路营业部", "330104"),
            ("南京中山路营业部", "320102"),
        ],
    ),
    (
        "华南分公司",
        &[("深圳福田营业部", "440304"), ("广州天河营业部", "440106")],
    ),
    (
        "华北分公司",
        &[
            ("北京金融街营业部", "110102"),
            ("天津南京路营业部", "120101"),
        ],
    ),
    (
        "西南分公司",
        &[
            ("成都人民南路营业部", "510107"),
            ("重庆解放碑营业部", "500103"),
        ],
    ),
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "建国", "海燕", "志强",
];
const MANAGERS_PER_BRANCH: u64 = 4;
/// Commands sent at once.
const CHUNK: usize = 4096;

#[derive(Debug, Clone, Copy)]
pub struct DemoConfig {
    pub customers: u32,
    pub days: u32,
    pub seed: u64,
}

#[derive(Debug, Default)]
pub struct DemoReport {
    pub commands: u64,
    pub refused: u64,
    pub events: u64,
    pub seconds: f64,
}

/// splitmix64: small, fast and fully determined by the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn id(seed: u64, kind: u64, n: u64) -> Uuid {
    Uuid::from_u64_pair(seed ^ (kind << 56), n)
}

fn resident_id(area: &str, birth: Date, seq: u64) -> Option<ResidentIdNumber> {
    let first17 = format!(
        "{area}{:04}{:02}{:02}{:03}",
        birth.year(),
        u8::from(birth.month()),
        birth.day(),
        seq % 1000
    );
    ResidentIdNumber::with_check_character(&first17).ok()
}

/// A unified social credit code (GB 32100) with a correct check character.
fn credit_code(n: u64) -> Option<UnifiedSocialCreditCode> {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let base = format!("91310000{:09}", n % 1_000_000_000);
    let sum: u32 = base
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|c| *c == b).map_or(0, |p| p as u32) * w)
        .sum();
    let check = CHARS[((31 - sum % 31) % 31) as usize] as char;
    UnifiedSocialCreditCode::parse(&format!("{base}{check}")).ok()
}

fn money(yuan: f64) -> Money {
    // Amounts are generated in yuan; stored in 1/10000 yuan. Rounding here is the generator's,
    // never a stored figure's.
    Money::from_minor((yuan * 10_000.0).round().clamp(0.0, i64::MAX as f64) as i64)
}

struct Sender<'a> {
    app: &'a App,
    batch: Uuid,
    queue: Vec<CommandEnvelope>,
    report: DemoReport,
}

impl Sender<'_> {
    fn push(&mut self, actor: Actor, key: &str, at: OffsetDateTime, command: AppCommand) {
        self.queue.push(CommandEnvelope {
            command_id: item_command_id(self.batch, key.as_bytes()),
            actor,
            correlation_id: Some(self.batch),
            causation_id: None,
            occurred_at: at,
            command,
        });
    }

    /// Sends what is queued; commands within one flush may run in any order.
    async fn flush(&mut self) -> anyhow::Result<()> {
        for chunk in std::mem::take(&mut self.queue).chunks(CHUNK) {
            for result in self.app.execute_batch(chunk.to_vec()).await {
                self.report.commands += 1;
                match result {
                    Ok(outcome) => self.report.events += outcome.events.len() as u64,
                    Err(e) => {
                        self.report.refused += 1;
                        tracing::debug!(error = %e, "demo command refused");
                    }
                }
            }
        }
        Ok(())
    }
}

fn text(s: &str) -> anyhow::Result<ShortText> {
    ShortText::parse(s).map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn demo(
    app: &App,
    config: DemoConfig,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<DemoReport> {
    let started = Instant::now();
    let seed = config.seed;
    let mut rng = Rng(seed);
    let hq = Actor {
        staff_id: StaffId::from(id(seed, 1, 0)),
        role: Role::Headquarters,
        scope: Scope::Company,
    };
    let mut out = Sender {
        app,
        batch: id(seed, 0, 0),
        queue: Vec::new(),
        report: DemoReport::default(),
    };
    let first_day = date!(2024 - 01 - 01);
    let t0 = datetime!(2023-12-01 09:00 +8);

    // Organisation.
    let mut branches: Vec<(BranchId, &str, Vec<StaffId>)> = Vec::new();
    for (r, (region_name, branch_list)) in ORGANISATION.iter().enumerate() {
        let region_id = RegionId::from(id(seed, 2, r as u64));
        out.push(
            hq,
            &format!("region/{r}"),
            t0,
            AppCommand::Region {
                region: region_id,
                command: region::Command::Establish {
                    region_id,
                    name: OrgName::parse(region_name).map_err(|e| anyhow::anyhow!("{e}"))?,
                    now: t0,
                },
            },
        );
        out.flush().await?;
        for (name, area) in branch_list.iter() {
            let b = branches.len() as u64;
            let branch_id = BranchId::from(id(seed, 3, b));
            out.push(
                hq,
                &format!("branch/{b}"),
                t0,
                AppCommand::Branch {
                    branch: branch_id,
                    command: branch::Command::Open {
                        branch_id,
                        region_id,
                        name: OrgName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
                        kind: branch::BranchKind::BrokerageBranch,
                        now: t0,
                    },
                },
            );
            let mut managers = Vec::new();
            for m in 0..=MANAGERS_PER_BRANCH {
                let staff_id = StaffId::from(id(seed, 4, b * 100 + m));
                let (role, scope) = if m == 0 {
                    (Role::BranchManager, Scope::Branch { branch: branch_id })
                } else {
                    (
                        Role::CustomerManager,
                        Scope::Book {
                            branch: branch_id,
                            team: None,
                        },
                    )
                };
                let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
                out.push(
                    hq,
                    &format!("staff/{b}/{m}"),
                    t0,
                    AppCommand::Staff {
                        staff: staff_id,
                        command: staff::Command::Join {
                            staff_id,
                            name: PersonName::parse(&name).map_err(|e| anyhow::anyhow!("{e}"))?,
                            role,
                            scope,
                            now: t0,
                        },
                    },
                );
                if m > 0 {
                    managers.push(staff_id);
                }
            }
            branches.push((branch_id, area, managers));
        }
    }
    out.flush().await?;
    progress(&format!(
        "organisation: {} regions, {} branches",
        ORGANISATION.len(),
        branches.len()
    ));

    // Customers, each with a fund account, a suitability assessment and a manager.
    struct Holder {
        customer: CustomerId,
        account: AccountId,
        assets: f64,
        activity: f64,
        rate: f64,
    }
    let mut holders = Vec::with_capacity(config.customers as usize);
    for c in 0..u64::from(config.customers) {
        let (branch_id, area, managers) = &branches[rng.below(branches.len() as u64) as usize];
        let customer_id = CustomerId::from(id(seed, 5, c));
        let account_id = AccountId::from(id(seed, 6, c));
        let institutional = rng.below(100) < 8;
        let at = t0 + Duration::minutes(c as i64 % 10_000);
        let (kind, name, document, birthday) = if institutional {
            let name = format!("{}{}投资有限公司", rng.pick(SURNAMES), rng.pick(GIVEN));
            (
                CustomerKind::Institutional,
                name,
                IdDocument::BusinessLicence {
                    code: credit_code(seed.wrapping_add(c)).context("credit code")?,
                },
                None,
            )
        } else {
            let birth = date!(1950 - 01 - 01) + Duration::days(rng.below(50 * 365) as i64);
            let number = resident_id(area, birth, c).context("resident id")?;
            (
                CustomerKind::Individual,
                format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN)),
                IdDocument::ResidentId { number },
                Some(birth),
            )
        };
        let profile = Profile {
            name: OrgName::parse(&name).map_err(|e| anyhow::anyhow!("{e}"))?,
            document,
            phone: Phone::parse(&format!("13{:09}", rng.below(1_000_000_000))).ok(),
            address: None,
            region: None,
            birthday,
            occupation: None,
            source_channel: *rng.pick(&[
                Channel::Counter,
                Channel::App,
                Channel::Internet,
                Channel::BankCounter,
                Channel::Phone,
            ]),
        };
        let manager = *rng.pick(managers);
        let send = |out: &mut Sender<'_>, key: &str, command| {
            out.push(
                hq,
                &format!("customer/{c}/{key}"),
                at,
                AppCommand::Customer {
                    customer: customer_id,
                    command,
                },
            )
        };
        send(
            &mut out,
            "register",
            customer::Command::Register {
                customer_id,
                kind,
                profile,
                as_prospect: false,
                existing_customer_with_same_document: None,
                now: at,
            },
        );
        send(
            &mut out,
            "assign",
            customer::Command::Assign {
                to: Assignment {
                    branch: *branch_id,
                    manager: Some(manager),
                    team: None,
                },
                by: hq.staff_id,
                now: at,
            },
        );
        send(
            &mut out,
            "account",
            customer::Command::OpenAccount {
                account_id,
                kind: AccountKind::Fund,
                number: text(&format!("F{:010}", c))?,
                now: at,
            },
        );
        let level = *rng.pick(&[
            RiskTolerance::C1,
            RiskTolerance::C2,
            RiskTolerance::C3,
            RiskTolerance::C3,
            RiskTolerance::C4,
            RiskTolerance::C5,
        ]);
        send(
            &mut out,
            "suitability",
            customer::Command::RecordSuitability {
                level,
                assessed_on: date!(2023 - 11 - 01),
                expires_on: date!(2025 - 11 - 01),
                now: at,
            },
        );
        // Pareto(α = 1.16, x_min = 10,000 yuan): the 80/20 rule of brokerage assets.
        let assets = (10_000.0 * rng.unit().powf(-1.0 / 1.16)).min(2.0e9);
        holders.push(Holder {
            customer: customer_id,
            account: account_id,
            assets,
            activity: 0.01 + 0.2 * rng.unit(),
            rate: 0.0002 + 0.0028 * rng.unit(),
        });
        if out.queue.len() >= CHUNK * 4 {
            // Each customer's four commands must run in order: flush whole customers only.
            flush_in_order(&mut out).await?;
        }
    }
    flush_in_order(&mut out).await?;
    progress(&format!("customers: {}", config.customers));

    // Daily trade summaries, one per account and trading day, plus contacts and tickets.
    let mut day = first_day;
    let mut trading_days = 0;
    while trading_days < config.days {
        if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            day = day.next_day().context("date overflow")?;
            continue;
        }
        trading_days += 1;
        let close = day
            .with_hms(15, 30, 0)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .assume_offset(time::macros::offset!(+8));
        for (n, h) in holders.iter_mut().enumerate() {
            let drift = 1.0 + (rng.unit() - 0.5) * 0.04;
            let inflow = if rng.below(20) == 0 {
                h.assets * (rng.unit() - 0.4) * 0.2
            } else {
                0.0
            };
            h.assets = (h.assets * drift + inflow).max(0.0);
            let traded = rng.below(3) == 0;
            let turnover = if traded { h.assets * h.activity } else { 0.0 };
            let stocks = h.assets * 0.6;
            let summary = DailyTradeSummary {
                trade_date: day,
                customer_id: h.customer,
                turnover: if traded {
                    vec![TurnoverLine {
                        market: *rng.pick(&[Market::Shanghai, Market::Shenzhen]),
                        security_type: SecurityType::Stock,
                        channel: *rng.pick(&[
                            TradeChannel::Mobile,
                            TradeChannel::Internet,
                            TradeChannel::Counter,
                        ]),
                        amount: money(turnover),
                    }]
                } else {
                    vec![]
                },
                commission: money(turnover * h.rate),
                deposits: money(inflow.max(0.0)),
                withdrawals: money((-inflow).max(0.0)),
                end_of_day_assets: money(h.assets),
                holdings: vec![
                    HoldingLine {
                        asset_class: AssetClass::Cash,
                        market_value: money(h.assets - stocks),
                    },
                    HoldingLine {
                        asset_class: AssetClass::Stocks,
                        market_value: money(stocks),
                    },
                ],
                realised_pnl: Money::ZERO,
                unrealised_pnl: Money::ZERO,
            };
            out.push(
                hq,
                &format!("summary/{n}/{day}"),
                close,
                AppCommand::Account {
                    account: h.account,
                    command: account::Command::RecordDailySummary {
                        account_id: h.account,
                        summary,
                        correction: false,
                        now: close,
                    },
                },
            );
            if rng.below(250) == 0 {
                let interaction_id =
                    InteractionId::from(id(seed, 7, (trading_days as u64) << 32 | n as u64));
                out.push(
                    hq,
                    &format!("contact/{n}/{day}"),
                    close,
                    AppCommand::Interaction {
                        interaction: interaction_id,
                        command: interaction::Command::RecordContact {
                            interaction_id,
                            customer_id: h.customer,
                            staff_id: hq.staff_id,
                            channel: *rng.pick(&[
                                Channel::Phone,
                                Channel::WeChat,
                                Channel::App,
                                Channel::Visit,
                            ]),
                            direction: interaction::Direction::Outbound,
                            topic: text("定期回访")?,
                            outcome: *rng.pick(&[
                                interaction::Outcome::Reached,
                                interaction::Outcome::Interested,
                                interaction::Outcome::NotReached,
                            ]),
                            notes: LongText::parse("客户对近期市场走势关注，建议关注基金定投。")
                                .map_err(|e| anyhow::anyhow!("{e}"))?,
                            follow_up_on: None,
                            now: close,
                        },
                    },
                );
            }
            if rng.below(5000) == 0 {
                let ticket_id = TicketId::from(id(seed, 8, (trading_days as u64) << 32 | n as u64));
                out.push(
                    hq,
                    &format!("ticket/{n}/{day}"),
                    close,
                    AppCommand::Ticket {
                        ticket: ticket_id,
                        command: ticket::Command::Open {
                            ticket_id,
                            customer_id: Some(h.customer),
                            branch: None,
                            kind: *rng.pick(&[
                                ticket::TicketKind::Complaint,
                                ticket::TicketKind::Inquiry,
                                ticket::TicketKind::Suggestion,
                            ]),
                            priority: ticket::Priority::Normal,
                            channel: Channel::CallCentre,
                            subject: text("交易软件登录缓慢")?,
                            description: LongText::parse("客户反映早盘登录移动端较慢。")
                                .map_err(|e| anyhow::anyhow!("{e}"))?,
                            now: close,
                        },
                    },
                );
            }
        }
        out.flush().await?;
        if trading_days % 20 == 0 {
            progress(&format!("trading days: {trading_days}/{}", config.days));
        }
        day = day.next_day().context("date overflow")?;
    }
    out.report.seconds = started.elapsed().as_secs_f64();
    Ok(std::mem::take(&mut out.report))
}

/// Sends queued customer commands so that each customer's commands run in order: the n-th
/// command of every customer in one batch, then the next.
async fn flush_in_order(out: &mut Sender<'_>) -> anyhow::Result<()> {
    let queue = std::mem::take(&mut out.queue);
    // Four commands per customer, queued in order.
    for k in 0..4 {
        out.queue = queue.iter().skip(k).step_by(4).cloned().collect();
        out.flush().await?;
    }
    Ok(())
}
