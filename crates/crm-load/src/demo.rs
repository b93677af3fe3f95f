//! The demo data set (演示数据): a deterministic, realistic brokerage sent through the same
//! command path as real data (`crm_app::App::execute`). Headquarters staff; regions and
//! branches in real provinces and cities, with teams, branch managers, customer managers and
//! brokers; a product shelf with risk levels R1–R5; individual and institutional customers
//! with valid resident ID numbers / unified social credit codes, a heavy-tailed (Pareto)
//! asset distribution, fund and securities accounts and suitability assessments (C1–C5);
//! duplicates registered under a passport and merged into their resident-ID record; then, per
//! trading day (weekends skipped): a daily trade summary for every account, market totals,
//! contacts across channels, birthday / holiday / market-event care, visits, service tickets
//! with SLAs (most met, some breached), leads won and lost, product recommendations and sales
//! within suitability, campaigns with responses, and customers going dormant, churning (with
//! a reason), being won back and reactivated.
//!
//! Dates: the daily data ends on `DemoConfig::until` (by default today, so churn risk,
//! dormancy, to-dos and the current month look as they would at a brokerage this morning) and
//! starts `days` trading days before; nothing is recorded after `until`.
//!
//! Determinism: every id, command id, amount and business time follows from the seed and
//! `until` (a splitmix64 generator); nothing reads a random source, and the clock is read only
//! to refuse an `until` in the future. Commands for different
//! aggregates are decided concurrently, each aggregate's commands in order in one lane, and
//! their appends reach the log in an order fixed by the generator (`lanes::run_in_order`),
//! recorded at their business time. So the same seed gives the same log into an empty store:
//! the same positions, recorded-at and hash chain, and so the same head hash, in any run.
//!
//! Amounts are integer `Money` arithmetic. The only floating point is the Pareto variate
//! itself (a unitless draw turned into whole yuan once per customer).
//!
//! Speed: load into a store opened with `Durability::Batched` (the caller opens the store; the
//! `crm demo` command should), since a demo can simply be re-run after a power loss.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crm_app::{App, AppCommand, CommandEnvelope};
use crm_domain::account::{
    self, AssetClass, DailyTradeSummary, HoldingLine, SecurityType, TradeChannel, TurnoverLine,
};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::campaign::{self, Response};
use crm_domain::customer::{self, AccountKind, Assignment, ChurnReason, CustomerKind, Profile};
use crm_domain::ids::{
    AccountId, BranchId, CampaignId, CustomerId, InteractionId, OpportunityId, ProductId, RegionId,
    StaffId, TeamId, TicketId,
};
use crm_domain::interaction::{self, CareOccasion, Direction, Outcome};
use crm_domain::market::{self, MarketTotals};
use crm_domain::opportunity::{self, LossReason};
use crm_domain::product::{self, ProductKind};
use crm_domain::risk::{ProductRisk, RiskTolerance};
use crm_domain::ticket::{self, Priority, Satisfaction, TicketKind};
use crm_domain::values::{
    Address, Channel, IdDocument, LongText, Market, OrgName, PassportNumber, PersonName, Phone,
    ResidentIdNumber, ShortText, UnifiedSocialCreditCode,
};
use crm_domain::{branch, region, staff, Money, Rate, ValidationError};
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset, Weekday};
use uuid::Uuid;

use crate::error::LoadError;
use crate::ids::derive;
use crate::lanes::{self, Item, Step};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    pub customers: u32,
    /// Trading days of daily data (weekends are skipped, so 250 is about a calendar year).
    pub days: u32,
    pub seed: u64,
    /// The last business day: the daily data ends on the last weekday on or before it, and
    /// starts `days` trading days earlier; customers are registered in the months before.
    /// Nothing is recorded after it (a ticket, lead, visit or campaign still running then is
    /// left open, as at a real brokerage that morning). It must not be after today in China
    /// Standard Time; `crm demo` and `crm serve --demo` default to today.
    pub until: Date,
}

impl DemoConfig {
    pub fn new(customers: u32, days: u32, seed: u64, until: Date) -> DemoConfig {
        DemoConfig {
            customers,
            days,
            seed,
            until,
        }
    }

    /// The first trading day of daily data: `days` weekdays ending on the last weekday on or
    /// before `until` (`until` itself with no days). Refused outside the years 1990–2100,
    /// since business times are computed with plain date arithmetic.
    pub fn first_day(&self) -> Result<Date, LoadError> {
        let out_of_range = |first: &dyn std::fmt::Display| {
            LoadError::Demo(format!(
                "the first day {first} must lie between the years 1990 and 2100"
            ))
        };
        let before = || {
            out_of_range(&format_args!(
                "({} trading days up to {})",
                self.days, self.until
            ))
        };
        if !(1990..=2100).contains(&self.until.year()) {
            return Err(LoadError::Demo(format!(
                "the last day {} must lie between the years 1990 and 2100",
                self.until
            )));
        }
        let mut day = self.until;
        while !is_trading_day(day) {
            day = day.previous_day().ok_or_else(before)?;
        }
        let back = self.days.saturating_sub(1);
        // Whole weeks of five trading days, then the rest one weekday at a time.
        day = day
            .checked_sub(Duration::weeks(i64::from(back / 5)))
            .ok_or_else(before)?;
        for _ in 0..back % 5 {
            day = day.previous_day().ok_or_else(before)?;
            while !is_trading_day(day) {
                day = day.previous_day().ok_or_else(before)?;
            }
        }
        if self.days == 0 {
            day = self.until;
        }
        if !(1990..=2100).contains(&day.year()) {
            return Err(out_of_range(&day));
        }
        Ok(day)
    }

    /// Checks the configuration against `today` (the business date, UTC+8) before anything
    /// is written: `until` not after today, the first day in ordinary years. Returns the
    /// first day.
    pub fn check(&self, today: Date) -> Result<Date, LoadError> {
        if self.until > today {
            return Err(LoadError::DemoUntilInFuture {
                until: self.until,
                today,
            });
        }
        self.first_day()
    }
}

/// Today's business date: the date in China Standard Time (UTC+8), the offset business days
/// are counted in. The default `until`.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(CST).date()
}

impl Default for DemoConfig {
    /// What `crm serve --demo` loads: 10,000 customers and a year of trading days up to today.
    fn default() -> Self {
        DemoConfig::new(10_000, 250, 7, today())
    }
}

/// Handed to the progress callback after each phase (the organisation, the customers, each
/// trading day).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoProgress {
    pub phase: &'static str,
    /// Trading days done (0 until the daily phase starts).
    pub days_done: u32,
    pub days_total: u32,
    pub events: u64,
    pub events_per_sec: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoReport {
    pub commands: u64,
    /// Commands the domain refused: a generator bug; should be 0.
    pub refused: u64,
    /// The first few refusals' reasons, for finding the bug.
    pub refusals: Vec<String>,
    pub events: u64,
    pub customers: u64,
    pub merged: u64,
    pub trading_days: u32,
    pub seconds: f64,
}

impl DemoReport {
    pub fn events_per_minute(&self) -> f64 {
        self.events as f64 * 60.0 / self.seconds.max(1e-9)
    }
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} customers ({} duplicates merged), {} trading days: {} events from {} commands \
             ({} refused) in {:.1} s ({:.0} events/min)",
            self.customers,
            self.merged,
            self.trading_days,
            self.events,
            self.commands,
            self.refused,
            self.seconds,
            self.events_per_minute()
        )
    }
}

/// Refusal reasons kept in the report.
const REFUSALS_LISTED_MAX: usize = 20;

/// Regions (分公司) with their branches (营业部): name and the resident-ID area code of the
/// branch's city district, so local customers' ID numbers start with it.
const ORGANISATION: &[(&str, &[(&str, &str)])] = &[
    (
        "华东分公司",
        &[
            ("上海浦东新区世纪大道营业部", "310115"),
            ("上海静安区南京西路营业部", "310106"),
            ("杭州庆春路营业部", "330104"),
            ("南京中山路营业部", "320102"),
            ("苏州工业园区营业部", "320508"),
            ("宁波中山东路营业部", "330203"),
            ("合肥长江中路营业部", "340103"),
        ],
    ),
    (
        "华南分公司",
        &[
            ("深圳福田区深南大道营业部", "440304"),
            ("广州天河路营业部", "440106"),
            ("厦门鹭江道营业部", "350203"),
            ("南宁民族大道营业部", "450103"),
        ],
    ),
    (
        "华北分公司",
        &[
            ("北京金融大街营业部", "110102"),
            ("天津南京路营业部", "120101"),
            ("济南泉城路营业部", "370102"),
            ("石家庄中山路营业部", "130102"),
            ("太原府西街营业部", "140105"),
        ],
    ),
    (
        "华中分公司",
        &[
            ("武汉中南路营业部", "420103"),
            ("长沙五一大道营业部", "430102"),
            ("郑州金水路营业部", "410105"),
            ("南昌八一大道营业部", "360102"),
        ],
    ),
    (
        "西南分公司",
        &[
            ("成都人民南路营业部", "510107"),
            ("重庆解放碑营业部", "500103"),
            ("昆明东风西路营业部", "530102"),
            ("贵阳中华北路营业部", "520102"),
        ],
    ),
    (
        "东北分公司",
        &[
            ("沈阳青年大街营业部", "210102"),
            ("大连人民路营业部", "210202"),
            ("长春人民大街营业部", "220102"),
            ("哈尔滨中央大街营业部", "230102"),
        ],
    ),
    (
        "西北分公司",
        &[
            ("西安南大街营业部", "610103"),
            ("兰州庆阳路营业部", "620102"),
            ("乌鲁木齐友好路营业部", "650102"),
        ],
    ),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "建国", "海燕", "志强", "丽华", "文博", "子涵", "浩然", "欣怡", "雨轩", "国栋", "晓东",
];
const COMPANY_WORDS: &[&str] = &[
    "浦江", "恒信", "华泰", "金石", "长江", "瑞丰", "鼎盛", "宏远", "海通", "嘉禾", "新元", "德润",
];
const COMPANY_KINDS: &[&str] = &[
    "投资有限公司",
    "资产管理有限公司",
    "实业有限公司",
    "私募基金管理有限公司",
    "科技股份有限公司",
];
const OCCUPATIONS: &[&str] = &[
    "工程师",
    "教师",
    "医生",
    "个体经营",
    "公务员",
    "退休",
    "企业管理",
    "自由职业",
    "金融从业",
];

/// The product shelf: name, kind, risk level.
const PRODUCTS: &[(&str, ProductKind, ProductRisk)] = &[
    ("A股普通交易", ProductKind::StockTrading, ProductRisk::R3),
    ("天天利货币基金", ProductKind::Fund, ProductRisk::R1),
    ("稳健增利债券基金", ProductKind::Fund, ProductRisk::R2),
    ("沪深300指数基金", ProductKind::Fund, ProductRisk::R3),
    ("科技成长混合基金", ProductKind::Fund, ProductRisk::R4),
    ("记账式国债", ProductKind::Bond, ProductRisk::R1),
    (
        "收益凭证（保本型）",
        ProductKind::WealthManagement,
        ProductRisk::R2,
    ),
    (
        "集合资产管理计划",
        ProductKind::WealthManagement,
        ProductRisk::R3,
    ),
    ("融资融券", ProductKind::MarginTrading, ProductRisk::R4),
    ("股票期权", ProductKind::Options, ProductRisk::R5),
];

const MANAGERS_PER_BRANCH: u64 = 6;
const BROKERS_PER_BRANCH: u64 = 2;
const TEAMS_PER_BRANCH: u64 = 2;
const SERVICE_AGENTS: u64 = 12;

/// splitmix64: small, fast, and fully determined by the seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n = 0 gives 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in lo..=hi.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1).max(1) as u64) as i64
    }

    /// True with probability `per_million` / 1,000,000.
    fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// A Pareto(α = 1.16, x_min) draw in whole yuan, capped: the 80/20 rule of brokerage
    /// assets. The variate is floating point; everything after it is integer money.
    fn pareto_yuan(&mut self, x_min: i64, cap: i64) -> i64 {
        let u = ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let x = x_min as f64 * u.powf(-1.0 / 1.16);
        if x.is_finite() && x < cap as f64 {
            x as i64
        } else {
            cap
        }
    }
}

fn value<T>(what: &str, r: Result<T, ValidationError>) -> Result<T, LoadError> {
    r.map_err(|e| LoadError::Demo(format!("{what}: {e}")))
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T], what: &str) -> Result<&'a T, LoadError> {
    rng.pick(items)
        .ok_or_else(|| LoadError::Demo(format!("no {what} to pick from")))
}

const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// `day` at `minutes` after midnight, Beijing time.
fn at(day: Date, minutes: i64) -> OffsetDateTime {
    day.with_time(Time::MIDNIGHT).assume_offset(CST) + Duration::minutes(minutes)
}

fn is_trading_day(day: Date) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// `amount × numerator / denominator`, rounded down, in i128 so it cannot overflow midway.
fn scale(amount: i64, numerator: i64, denominator: i64) -> i64 {
    let r = i128::from(amount) * i128::from(numerator) / i128::from(denominator.max(1));
    i64::try_from(r).unwrap_or(if r > 0 { i64::MAX } else { i64::MIN })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// Registered and assigned, not yet a customer (no funded account): activated on a day of
    /// the window, the new customers (新增客户) the appraisal counts.
    Prospect,
    Active,
    Dormant,
    Churned,
}

/// A generated customer with a fund account, as the generator tracks it.
#[derive(Debug)]
struct Holder {
    customer: CustomerId,
    account: AccountId,
    branch: BranchId,
    manager: Actor,
    institutional: bool,
    /// End-of-day assets in minor units (1/10000 yuan).
    assets: i64,
    /// Percent of assets in cash, stocks, funds, bonds, wealth products (sums to 100).
    weights: [i64; 5],
    /// Chance of trading on a given day, per million.
    activity: u64,
    /// Commission rate in `Rate` units (1e-8): 0.02%–0.3%.
    rate: i64,
    level: RiskTolerance,
    life: Life,
    birthday: Option<(Month, u8)>,
    key: bool,
}

struct BranchInfo {
    id: BranchId,
    area: &'static str,
    /// Customer managers and brokers, with their teams in their scopes.
    book_holders: Vec<Actor>,
}

/// Collects commands into lanes (see `crate::lanes`) and sends them phase by phase.
struct Sender<'a, P> {
    app: &'a App,
    seed: [u8; 8],
    run: Uuid,
    lanes: Vec<Vec<Item<()>>>,
    index: HashMap<String, usize>,
    report: DemoReport,
    started: Instant,
    /// Commands at or after this instant are not sent (see `DemoConfig::until`).
    until_end: OffsetDateTime,
    progress: P,
}

impl<P: FnMut(DemoProgress)> Sender<'_, P> {
    /// Queues `command` on the lane `lane` (the aggregate it addresses); `key` names the
    /// command uniquely within the run and, with the seed, fixes its command id.
    fn push(
        &mut self,
        lane: &str,
        key: &str,
        actor: Actor,
        now: OffsetDateTime,
        command: AppCommand,
    ) {
        if now >= self.until_end {
            // Still to happen on the last day: left open, as it would be today.
            return;
        }
        let envelope = CommandEnvelope {
            command_id: derive(&[b"demo-command", &self.seed, key.as_bytes()]),
            actor,
            correlation_id: Some(self.run),
            causation_id: None,
            occurred_at: now,
            command,
        };
        let item = Item {
            tag: (),
            steps: vec![Step::new(envelope)],
        };
        match self.index.get(lane) {
            Some(i) => {
                if let Some(l) = self.lanes.get_mut(*i) {
                    l.push(item);
                }
            }
            None => {
                self.index.insert(lane.to_owned(), self.lanes.len());
                self.lanes.push(vec![item]);
            }
        }
    }

    /// Sends everything queued and reports progress.
    async fn flush(&mut self, phase: &'static str, days_done: u32) -> Result<(), LoadError> {
        let lanes_now = std::mem::take(&mut self.lanes);
        self.index.clear();
        let report = &mut self.report;
        lanes::run_in_order(self.app, lanes_now, |(), outcome| {
            report.commands += outcome.commands;
            report.events += outcome.events;
            if let Some((_, error)) = outcome.failure {
                report.commands += 1;
                report.refused += 1;
                tracing::warn!(%error, "demo command refused (a generator bug)");
                if report.refusals.len() < REFUSALS_LISTED_MAX {
                    report.refusals.push(error.to_string());
                }
            }
        })
        .await?;
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        (self.progress)(DemoProgress {
            phase,
            days_done,
            days_total: 0,
            events: self.report.events,
            events_per_sec: self.report.events as f64 / seconds,
        });
        Ok(())
    }
}

/// Loads the demo data set into `app`; see the module documentation. `progress` is called
/// after each phase.
pub async fn demo(
    app: &App,
    config: DemoConfig,
    mut progress: impl FnMut(DemoProgress),
) -> Result<DemoReport, LoadError> {
    let days_total = config.days;
    let seed = config.seed;
    // The only read of the clock: refusing an `until` in the future. What is generated
    // depends on the configuration alone.
    let first_day = config.check(today())?;
    // Nothing is recorded after the end of `until` (business time, UTC+8).
    let until_end = at(config.until, 24 * 60);
    let id = |kind: &[u8], n: u64| derive(&[b"demo", &seed.to_le_bytes(), kind, &n.to_le_bytes()]);
    let mut rng = Rng(seed);
    let mut out = Sender {
        app,
        seed: seed.to_le_bytes(),
        run: id(b"run", 0),
        lanes: Vec::new(),
        index: HashMap::new(),
        report: DemoReport::default(),
        started: Instant::now(),
        until_end,
        progress: |p: DemoProgress| progress(DemoProgress { days_total, ..p }),
    };
    // The organisation exists half a year before the daily data starts.
    let founded = at(first_day - Duration::days(180), 9 * 60);

    // Headquarters: its head, an operator (back-office feeds), service agents, an auditor.
    let hq = Actor {
        staff_id: StaffId::from(id(b"staff-hq", 0)),
        role: Role::Headquarters,
        scope: Scope::Company,
    };
    let operator = Actor {
        staff_id: StaffId::from(id(b"staff-hq", 1)),
        role: Role::Operator,
        scope: Scope::Company,
    };
    let auditor = Actor {
        staff_id: StaffId::from(id(b"staff-hq", 2)),
        role: Role::Auditor,
        scope: Scope::Company,
    };
    let agents: Vec<Actor> = (0..SERVICE_AGENTS)
        .map(|n| Actor {
            staff_id: StaffId::from(id(b"staff-agent", n)),
            role: Role::ServiceAgent,
            scope: Scope::Company,
        })
        .collect();
    let join = |out: &mut Sender<'_, _>, rng: &mut Rng, who: Actor, name: Option<&str>| {
        let name = match name {
            Some(n) => n.to_owned(),
            None => format!(
                "{}{}",
                rng.pick(SURNAMES).copied().unwrap_or("王"),
                rng.pick(GIVEN).copied().unwrap_or("伟")
            ),
        };
        let person = value("staff name", PersonName::parse(&name))?;
        out.push(
            &format!("staff:{}", who.staff_id),
            &format!("join:{}", who.staff_id),
            hq,
            founded,
            AppCommand::Staff {
                staff: who.staff_id,
                command: staff::Command::Join {
                    staff_id: who.staff_id,
                    name: person,
                    role: who.role,
                    scope: who.scope,
                    now: founded,
                },
            },
        );
        Ok::<(), LoadError>(())
    };
    join(&mut out, &mut rng, hq, Some("总部管理员"))?;
    join(&mut out, &mut rng, operator, Some("系统运维"))?;
    join(&mut out, &mut rng, auditor, None)?;
    for agent in &agents {
        join(&mut out, &mut rng, *agent, None)?;
    }

    // Regions, branches with teams, and their staff.
    let mut branches: Vec<BranchInfo> = Vec::new();
    let mut region_ids = Vec::new();
    for (r, (region_name, branch_list)) in ORGANISATION.iter().enumerate() {
        let region_id = RegionId::from(id(b"region", r as u64));
        region_ids.push(region_id);
        out.push(
            &format!("region:{region_id}"),
            &format!("region:{r}"),
            hq,
            founded,
            AppCommand::Region {
                region: region_id,
                command: region::Command::Establish {
                    region_id,
                    name: value("region name", OrgName::parse(region_name))?,
                    now: founded,
                },
            },
        );
        let region_manager = Actor {
            staff_id: StaffId::from(id(b"staff-region", r as u64)),
            role: Role::RegionManager,
            scope: Scope::Region { region: region_id },
        };
        join(&mut out, &mut rng, region_manager, None)?;
        for (name, area) in branch_list.iter() {
            let b = branches.len() as u64;
            let branch_id = BranchId::from(id(b"branch", b));
            let lane = format!("branch:{branch_id}");
            out.push(
                &lane,
                &format!("branch:{b}"),
                hq,
                founded,
                AppCommand::Branch {
                    branch: branch_id,
                    command: branch::Command::Open {
                        branch_id,
                        region_id,
                        name: value("branch name", OrgName::parse(name))?,
                        kind: branch::BranchKind::BrokerageBranch,
                        now: founded,
                    },
                },
            );
            let manager = Actor {
                staff_id: StaffId::from(id(b"staff-branch", b)),
                role: Role::BranchManager,
                scope: Scope::Branch { branch: branch_id },
            };
            join(&mut out, &mut rng, manager, None)?;
            let teams: Vec<TeamId> = (0..TEAMS_PER_BRANCH)
                .map(|t| TeamId::from(id(b"team", b * 100 + t)))
                .collect();
            let mut book_holders = Vec::new();
            for m in 0..MANAGERS_PER_BRANCH + BROKERS_PER_BRANCH {
                let role = if m < MANAGERS_PER_BRANCH {
                    Role::CustomerManager
                } else {
                    Role::Broker
                };
                let actor = Actor {
                    staff_id: StaffId::from(id(b"staff-book", b * 100 + m)),
                    role,
                    scope: Scope::Book {
                        branch: branch_id,
                        team: teams.get((m % TEAMS_PER_BRANCH) as usize).copied(),
                    },
                };
                join(&mut out, &mut rng, actor, None)?;
                book_holders.push(actor);
            }
            for (t, team_id) in teams.iter().enumerate() {
                let lead = book_holders.get(t).map(|a| a.staff_id);
                out.push(
                    &lane,
                    &format!("team:{b}:{t}"),
                    hq,
                    founded,
                    AppCommand::Branch {
                        branch: branch_id,
                        command: branch::Command::FormTeam {
                            team_id: *team_id,
                            name: value(
                                "team name",
                                OrgName::parse(&format!("财富管理{}组", t + 1)),
                            )?,
                            lead,
                            now: founded,
                        },
                    },
                );
            }
            branches.push(BranchInfo {
                id: branch_id,
                area,
                book_holders,
            });
        }
    }
    let mut products = Vec::new();
    for (p, (name, kind, risk)) in PRODUCTS.iter().enumerate() {
        let product_id = ProductId::from(id(b"product", p as u64));
        products.push((product_id, *risk));
        out.push(
            &format!("product:{product_id}"),
            &format!("product:{p}"),
            hq,
            founded,
            AppCommand::Product {
                product: product_id,
                command: product::Command::Launch {
                    product_id,
                    name: value("product name", OrgName::parse(name))?,
                    kind: *kind,
                    risk: *risk,
                    now: founded,
                },
            },
        );
    }
    out.flush("organisation", 0).await?;

    // Customers: register, assign, open accounts, assess suitability; one lane each.
    let mut holders: Vec<Holder> = Vec::with_capacity(config.customers as usize);
    let mut used_ids: HashSet<String> = HashSet::new();
    let mut duplicates: Vec<(CustomerId, CustomerId, OffsetDateTime)> = Vec::new();
    let registration_days = 170;
    for c in 0..u64::from(config.customers) {
        let b = rng.below(branches.len() as u64) as usize;
        let branch = branches
            .get(b)
            .ok_or_else(|| LoadError::Demo("no branch".into()))?;
        let manager = *pick(&mut rng, &branch.book_holders, "customer manager")?;
        let customer_id = CustomerId::from(id(b"customer", c));
        let account_id = AccountId::from(id(b"account", c));
        let registered = at(
            first_day - Duration::days(registration_days - rng.between(0, registration_days - 10)),
            9 * 60 + rng.between(0, 420),
        );
        let institutional = rng.below(100) < 6;
        let surname = *pick(&mut rng, SURNAMES, "surname")?;
        let given = *pick(&mut rng, GIVEN, "given name")?;
        let (kind, name, document, birthday) = if institutional {
            let name = format!(
                "{}{}{}",
                &branch.area_city(),
                pick(&mut rng, COMPANY_WORDS, "company word")?,
                pick(&mut rng, COMPANY_KINDS, "company kind")?
            );
            (
                CustomerKind::Institutional,
                name,
                IdDocument::BusinessLicence {
                    code: credit_code(branch.area, c)?,
                },
                None,
            )
        } else {
            let mut birth = Date::from_calendar_date(1950, Month::January, 1).unwrap_or(Date::MIN)
                + Duration::days(rng.between(0, 50 * 365));
            let number = loop {
                let first17 = format!(
                    "{}{:04}{:02}{:02}{:03}",
                    branch.area,
                    birth.year(),
                    u8::from(birth.month()),
                    birth.day(),
                    c % 1000
                );
                // Two customers may draw the same area, birth date and sequence: move the
                // later one's birthday by a day so every ID number is unique.
                if used_ids.insert(first17.clone()) {
                    break value(
                        "resident id",
                        ResidentIdNumber::with_check_character(&first17),
                    )?;
                }
                birth = birth.next_day().unwrap_or(birth);
            };
            (
                CustomerKind::Individual,
                format!("{surname}{given}"),
                IdDocument::ResidentId { number },
                Some(birth),
            )
        };
        let phone = value(
            "phone",
            Phone::parse(&format!(
                "1{}{:09}",
                3 + rng.below(7),
                rng.below(1_000_000_000)
            )),
        )?;
        let occupation = if institutional {
            None
        } else {
            Some(value(
                "occupation",
                ShortText::parse(pick(&mut rng, OCCUPATIONS, "occupation")?),
            )?)
        };
        let source_channel = *pick(
            &mut rng,
            &[
                Channel::Counter,
                Channel::App,
                Channel::App,
                Channel::Internet,
                Channel::BankCounter,
                Channel::Phone,
            ],
            "channel",
        )?;
        let profile = Profile {
            name: value("customer name", OrgName::parse(&name))?,
            document,
            phone: Some(phone),
            address: Some(value(
                "address",
                Address::parse(&format!("{}{}号", branch.area_city(), rng.between(1, 999))),
            )?),
            region: None,
            birthday,
            occupation,
            source_channel,
        };
        let lane = format!("customer:{customer_id}");
        let key = |what: &str| format!("customer:{c}:{what}");
        // About 4% of individuals are prospects when the daily data starts.
        let prospect = !institutional && rng.below(1000) < 40;
        let cmd = |command| AppCommand::Customer {
            customer: customer_id,
            command,
        };
        out.push(
            &lane,
            &key("register"),
            hq,
            registered,
            cmd(customer::Command::Register {
                customer_id,
                kind,
                profile: profile.clone(),
                as_prospect: prospect,
                existing_customer_with_same_document: None,
                now: registered,
            }),
        );
        let team = match manager.scope {
            Scope::Book { team, .. } => team,
            _ => None,
        };
        out.push(
            &lane,
            &key("assign"),
            hq,
            registered,
            cmd(customer::Command::Assign {
                to: Assignment {
                    branch: branch.id,
                    manager: Some(manager.staff_id),
                    team,
                },
                by: hq.staff_id,
                now: registered,
            }),
        );
        let accounts = [
            (account_id, AccountKind::Fund, format!("F{:010}", c)),
            (
                AccountId::from(id(b"account-sh", c)),
                AccountKind::Securities {
                    market: Market::Shanghai,
                },
                format!("{}{:09}", if institutional { "B" } else { "A" }, c),
            ),
            (
                AccountId::from(id(b"account-sz", c)),
                AccountKind::Securities {
                    market: Market::Shenzhen,
                },
                format!("0{:09}", c),
            ),
        ];
        for (account, kind, number) in accounts {
            out.push(
                &lane,
                &key(&number),
                hq,
                registered,
                cmd(customer::Command::OpenAccount {
                    account_id: account,
                    kind,
                    number: value("account number", ShortText::parse(&number))?,
                    now: registered,
                }),
            );
        }
        let level = *pick(
            &mut rng,
            &[
                RiskTolerance::C1,
                RiskTolerance::C2,
                RiskTolerance::C2,
                RiskTolerance::C3,
                RiskTolerance::C3,
                RiskTolerance::C3,
                RiskTolerance::C4,
                RiskTolerance::C4,
                RiskTolerance::C5,
            ],
            "risk level",
        )?;
        let assessed_on = registered.date();
        out.push(
            &lane,
            &key("suitability"),
            hq,
            registered,
            cmd(customer::Command::RecordSuitability {
                level,
                assessed_on,
                // Valid for three years: past the end of any demo's daily data.
                expires_on: assessed_on + Duration::days(3 * 365),
                now: registered,
            }),
        );
        // Institutions start higher: x_min 1 million yuan rather than 10,000.
        let yuan = if institutional {
            rng.pareto_yuan(1_000_000, 5_000_000_000)
        } else {
            rng.pareto_yuan(10_000, 2_000_000_000)
        };
        let assets = yuan.saturating_mul(Money::SCALE);
        let key_customer = yuan >= 5_000_000;
        if key_customer {
            out.push(
                &lane,
                &key("key"),
                hq,
                registered,
                cmd(customer::Command::MarkKeyCustomer {
                    is_key: true,
                    now: registered,
                }),
            );
        }
        let cash = rng.between(5, 40);
        let stocks = rng.between(0, 100 - cash);
        let funds = rng.between(0, 100 - cash - stocks);
        let bonds = rng.between(0, 100 - cash - stocks - funds);
        let wealth = 100 - cash - stocks - funds - bonds;
        holders.push(Holder {
            customer: customer_id,
            account: account_id,
            branch: branch.id,
            manager,
            institutional,
            assets,
            weights: [cash, stocks, funds, bonds, wealth],
            activity: 20_000 + rng.below(400_000),
            rate: rng.between(20_000, 300_000),
            level,
            life: if prospect {
                Life::Prospect
            } else {
                Life::Active
            },
            birthday: birthday.map(|d| (d.month(), d.day())),
            key: key_customer,
        });
        // About 1.5% of individuals were also registered under a passport, by another channel
        // and later: the duplicate the identity-resolution step merges.
        if let (false, true) = (institutional, rng.below(1000) < 15) {
            let duplicate = CustomerId::from(id(b"customer-duplicate", c));
            // Registered before the daily data starts, so merged before it too.
            let later = (registered + Duration::days(rng.between(1, 60)))
                .min(at(first_day - Duration::days(4), 10 * 60));
            let passport = value(
                "passport",
                PassportNumber::parse(&format!("E{:08}", c % 100_000_000)),
            )?;
            let mut profile = profile.clone();
            profile.document = IdDocument::Passport {
                country: value("country", ShortText::parse("CHN"))?,
                number: passport,
            };
            profile.source_channel = Channel::Internet;
            profile.address = None;
            out.push(
                &format!("customer:{duplicate}"),
                &format!("customer-duplicate:{c}"),
                hq,
                later,
                AppCommand::Customer {
                    customer: duplicate,
                    command: customer::Command::Register {
                        customer_id: duplicate,
                        kind,
                        profile,
                        as_prospect: true,
                        existing_customer_with_same_document: None,
                        now: later,
                    },
                },
            );
            duplicates.push((customer_id, duplicate, later + Duration::days(3)));
        }
    }
    out.report.customers = holders.len() as u64;
    out.flush("customers", 0).await?;

    // Merges of the duplicates into their resident-ID records.
    for (n, (survivor, merged, when)) in duplicates.iter().enumerate() {
        // Two streams: the lane is the survivor's (no other command touches either here).
        out.push(
            &format!("customer:{survivor}"),
            &format!("merge:{n}"),
            hq,
            *when,
            AppCommand::MergeCustomers {
                survivor: *survivor,
                merged: *merged,
            },
        );
    }
    out.report.merged = duplicates.len() as u64;
    out.flush("merges", 0).await?;

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

    // Daily data.
    let mut day = first_day;
    let mut trading_days: u32 = 0;
    let mut ticket_n: u64 = 0;
    let mut lead_n: u64 = 0;
    let mut contact_n: u64 = 0;
    let mut campaign_n: u64 = 0;
    let mut holiday_year: Option<i32> = None;
    while trading_days < config.days {
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
        for (n, h) in holders.iter_mut().enumerate() {
            let n = n as u64;
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
                        &mut rng,
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
                                note: (reason == ChurnReason::Competitor)
                                    .then(|| churn_note.clone()),
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
                            deposits =
                                scale(before.max(10_000 * Money::SCALE), rng.between(1, 25), 100);
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
                            &mut rng,
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

            // Contacts: the customer's manager, through the channels people use.
            if h.life != Life::Churned && rng.chance(if h.key { 40_000 } else { 6_000 }) {
                contact_n += 1;
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
                                &mut rng,
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
                            topic: pick(&mut rng, &topics, "topic")?.clone(),
                            outcome: *pick(
                                &mut rng,
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
                contact_n += 1;
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
            // Visits to key customers: planned today, done two days later.
            if h.key && h.life == Life::Active && rng.chance(8_000) {
                contact_n += 1;
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
            // Service tickets: opened by the call centre, most resolved within the SLA.
            if rng.chance(500) {
                ticket_n += 1;
                let ticket_id = TicketId::from(id(b"ticket", ticket_n));
                let lane = format!("ticket:{ticket_id}");
                let agent = *pick(&mut rng, &agents, "service agent")?;
                let kind = *pick(
                    &mut rng,
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
                    &mut rng,
                    &[
                        Priority::Low,
                        Priority::Normal,
                        Priority::Normal,
                        Priority::High,
                    ],
                    "priority",
                )?;
                let (subject, description) = pick(&mut rng, &ticket_texts, "ticket text")?.clone();
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
                    &mut out,
                    "open",
                    opened,
                    ticket::Command::Open {
                        ticket_id,
                        customer_id: Some(h.customer),
                        branch: Some(h.branch),
                        kind,
                        priority,
                        channel: *pick(
                            &mut rng,
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
                    &mut out,
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
                        &mut out,
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
                    &mut out,
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
                    &mut out,
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
            // Sales: a lead, qualified and proposed, won or lost; a won lead is a product sale
            // within the customer's suitability.
            if h.life == Life::Active && rng.chance(if h.key { 6_000 } else { 800 }) {
                lead_n += 1;
                let fitting: Vec<(ProductId, ProductRisk)> = products
                    .iter()
                    .copied()
                    .filter(|(_, r)| r.level() <= h.level.level())
                    .collect();
                let (product_id, product_risk) = *pick(&mut rng, &fitting, "suitable product")?;
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
                    &mut out,
                    "create",
                    created,
                    opportunity::Command::CreateLead {
                        opportunity_id,
                        customer_id: h.customer,
                        product_id: Some(product_id),
                        expected_amount: expected,
                        owner: cm.staff_id,
                        source: *pick(
                            &mut rng,
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
                        &mut out,
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
                        &mut out,
                        "qualify",
                        created + Duration::days(1),
                        opportunity::Command::Qualify {
                            now: created + Duration::days(1),
                        },
                    );
                    send(
                        &mut out,
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
                            &mut out,
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
                            &mut rng,
                            &[
                                LossReason::Price,
                                LossReason::Competitor,
                                LossReason::NoBudget,
                                LossReason::Other,
                            ],
                            "loss reason",
                        )?;
                        send(
                            &mut out,
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
        }
        // Campaigns: one every twenty trading days, company-wide or by a branch, with
        // responses from a slice of the customers over the following two weeks.
        if d % 20 == 1 {
            campaign_n += 1;
            let campaign_id = CampaignId::from(id(b"campaign", campaign_n));
            let lane = format!("campaign:{campaign_id}");
            let by_branch = campaign_n % 2 == 0;
            let branch = branches.get(rng.below(branches.len() as u64) as usize);
            // Headquarters runs every campaign, a branch's too: crm-app authorizes commands
            // after `Plan` without the campaign's branch, so a branch manager could plan
            // but not launch one.
            let actor = hq;
            let target = match (by_branch, branch) {
                (true, Some(b)) => Some(b.id),
                _ => None,
            };
            let (product_id, _) = *pick(&mut rng, &products, "product")?;
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
                &mut out,
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
                &mut out,
                "launch",
                planned + Duration::hours(1),
                campaign::Command::Launch {
                    now: planned + Duration::hours(1),
                },
            );
            for (n, h) in holders.iter().enumerate() {
                if (target.is_some() && target != Some(h.branch)) || !rng.chance(30_000) {
                    continue;
                }
                let response = *pick(
                    &mut rng,
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
                    &mut out,
                    &format!("response:{n}"),
                    when,
                    campaign::Command::RecordResponse {
                        customer_id: h.customer,
                        response,
                        now: when,
                    },
                );
            }
            send(
                &mut out,
                "close",
                planned + Duration::days(15),
                campaign::Command::Close {
                    summary: value("summary", LongText::parse("活动结束，转化情况已统计。"))?,
                    now: planned + Duration::days(15),
                },
            );
        }
        out.flush("daily data", d).await?;
        day = day
            .next_day()
            .ok_or_else(|| LoadError::Demo("date overflow".into()))?;
    }
    out.report.trading_days = trading_days;
    out.report.seconds = out.started.elapsed().as_secs_f64();
    Ok(std::mem::take(&mut out.report))
}

impl BranchInfo {
    /// The city of the branch, for company names and addresses (the area code's city).
    fn area_city(&self) -> &'static str {
        match self.area.get(..4) {
            Some("3101") => "上海市",
            Some("3301") => "杭州市",
            Some("3201") => "南京市",
            Some("3205") => "苏州市",
            Some("3302") => "宁波市",
            Some("3401") => "合肥市",
            Some("4403") => "深圳市",
            Some("4401") => "广州市",
            Some("3502") => "厦门市",
            Some("4501") => "南宁市",
            Some("1101") => "北京市",
            Some("1201") => "天津市",
            Some("3701") => "济南市",
            Some("1301") => "石家庄市",
            Some("1401") => "太原市",
            Some("4201") => "武汉市",
            Some("4301") => "长沙市",
            Some("4101") => "郑州市",
            Some("3601") => "南昌市",
            Some("5101") => "成都市",
            Some("5001") => "重庆市",
            Some("5301") => "昆明市",
            Some("5201") => "贵阳市",
            Some("2101") => "沈阳市",
            Some("2102") => "大连市",
            Some("2201") => "长春市",
            Some("2301") => "哈尔滨市",
            Some("6101") => "西安市",
            Some("6201") => "兰州市",
            Some("6501") => "乌鲁木齐市",
            _ => "",
        }
    }
}

/// A unified social credit code (GB 32100): "91" (a company), the branch's area code, a
/// 9-character organisation code from `n`, and the check character.
fn credit_code(area: &str, n: u64) -> Result<UnifiedSocialCreditCode, LoadError> {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u64; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let base = format!("91{area}{:09}", n % 1_000_000_000);
    let sum: u64 = base
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| ALPHABET.iter().position(|c| *c == b).unwrap_or(0) as u64 * w)
        .sum();
    let check = ALPHABET
        .get(((31 - sum % 31) % 31) as usize)
        .copied()
        .unwrap_or(b'0');
    value(
        "credit code",
        UnifiedSocialCreditCode::parse(&format!("{base}{}", char::from(check))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_a_pure_function_of_its_seed() {
        let draw = |seed| {
            let mut r = Rng(seed);
            (0..5).map(|_| r.next()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        let mut r = Rng(9);
        assert!((0..1000).all(|_| (3..=7).contains(&r.between(3, 7))));
        let mut r = Rng(9);
        let draws: Vec<i64> = (0..10_000)
            .map(|_| r.pareto_yuan(10_000, 2_000_000_000))
            .collect();
        assert!(draws.iter().all(|x| (10_000..=2_000_000_000).contains(x)));
        // Heavy tail: the top 20% hold most of the assets.
        let mut sorted = draws.clone();
        sorted.sort_unstable();
        let total: i128 = sorted.iter().map(|x| i128::from(*x)).sum();
        let top: i128 = sorted[8000..].iter().map(|x| i128::from(*x)).sum();
        assert!(top * 2 > total, "top 20% hold {top} of {total}");
    }

    #[test]
    fn generated_credit_codes_and_scaled_amounts_are_valid() {
        assert!(credit_code("310115", 42).is_ok());
        assert_eq!(scale(i64::MAX, 2, 1), i64::MAX);
        assert_eq!(scale(1_000, 25, 100), 250);
        assert_eq!(scale(-1_000, 25, 100), -250);
    }
}
