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
//! With `DemoProfile::Bank` it is a county rural credit cooperative instead (`bank`): outlets,
//! farm households and small businesses, deposits, loans, cards, fee income and contacts, over
//! calendar days; the same machinery below (`Rng`, `Sender`, `Ids`, lanes) makes it as
//! deterministic.
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

mod activities;
mod bank;
mod customers;
mod daily;
mod org;

use daily::{Cx, Texts, Today};
use org::Org;

/// Which business the demo is: a securities brokerage (the default) or a county rural credit
/// cooperative (see `bank`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoProfile {
    #[default]
    Brokerage,
    Bank,
}

impl DemoProfile {
    pub fn name(self) -> &'static str {
        match self {
            DemoProfile::Brokerage => "brokerage",
            DemoProfile::Bank => "bank",
        }
    }
}

impl std::fmt::Display for DemoProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DemoProfile {
    type Err = LoadError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "brokerage" => Ok(DemoProfile::Brokerage),
            "bank" => Ok(DemoProfile::Bank),
            other => Err(LoadError::Demo(format!(
                "unknown demo profile '{other}': brokerage or bank"
            ))),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    pub customers: u32,
    /// Days of daily data: trading days for the brokerage (weekends are skipped, so 250 is
    /// about a calendar year), calendar days for the bank (its core system reports every
    /// account every day, weekends included).
    pub days: u32,
    pub seed: u64,
    /// The last business day: the daily data ends on the last weekday on or before it (the
    /// bank's on `until` itself), and starts `days` trading (bank: calendar) days earlier; customers are registered in the months before.
    /// Nothing is recorded after it (a ticket, lead, visit or campaign still running then is
    /// left open, as at a real brokerage that morning). It must not be after today in China
    /// Standard Time; `crm demo` and `crm serve --demo` default to today.
    pub until: Date,
    pub profile: DemoProfile,
}

impl DemoConfig {
    /// Streams whose aggregate state the command side should keep while loading this demo
    /// (`App::with_state_cache`): every trading day touches each customer's account and many
    /// customers, in turn, so the cache helps only if it holds them all. Each kept state is
    /// bounded (an account keeps its newest days in full), so this is memory per customer.
    pub fn state_cache_streams(&self) -> usize {
        (self.customers as usize)
            .saturating_mul(3)
            .max(crm_app::STATE_CACHE_STREAMS_DEFAULT)
    }

    /// A brokerage demo; [`DemoConfig::with_profile`] for the bank.
    pub fn new(customers: u32, days: u32, seed: u64, until: Date) -> DemoConfig {
        DemoConfig {
            customers,
            days,
            seed,
            until,
            profile: DemoProfile::Brokerage,
        }
    }

    pub fn with_profile(self, profile: DemoProfile) -> DemoConfig {
        DemoConfig { profile, ..self }
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
        if self.profile == DemoProfile::Bank {
            // Calendar days: `days` of them ending on `until`.
            let back = i64::from(self.days.saturating_sub(1));
            let day = self
                .until
                .checked_sub(Duration::days(back))
                .ok_or_else(before)?;
            if !(1990..=2100).contains(&day.year()) {
                return Err(out_of_range(&day));
            }
            return Ok(day);
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
    pub profile: DemoProfile,
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
            "{} customers ({} duplicates merged), {} {}: {} events from {} commands \
             ({} refused) in {:.1} s ({:.0} events/min)",
            self.customers,
            self.merged,
            self.trading_days,
            match self.profile {
                DemoProfile::Brokerage => "trading days",
                DemoProfile::Bank => "calendar days",
            },
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

/// Queues `who` joining the staff at `founded`, recorded by `by`, named `name` or else by a
/// drawn name; the command's key is `{key}:{staff id}`. Both organisations' staff join so.
fn join_staff<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    by: Actor,
    founded: OffsetDateTime,
    key: &str,
    who: Actor,
    name: Option<&str>,
) -> Result<(), LoadError> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => format!(
            "{}{}",
            pick(rng, SURNAMES, "surname")?,
            pick(rng, GIVEN, "given name")?
        ),
    };
    out.push(
        &format!("staff:{}", who.staff_id),
        &format!("{key}:{}", who.staff_id),
        by,
        founded,
        AppCommand::Staff {
            staff: who.staff_id,
            command: staff::Command::Join {
                staff_id: who.staff_id,
                name: value("staff name", PersonName::parse(&name))?,
                role: who.role,
                scope: who.scope,
                now: founded,
            },
        },
    );
    Ok(())
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

impl<'a, P: FnMut(DemoProgress)> Sender<'a, P> {
    /// A sender for the run of `seed`; nothing at or after `until_end` is sent.
    fn new(app: &'a App, seed: u64, ids: Ids, until_end: OffsetDateTime, progress: P) -> Self {
        Sender {
            app,
            seed: seed.to_le_bytes(),
            run: ids.get(b"run", 0),
            lanes: Vec::new(),
            index: HashMap::new(),
            report: DemoReport::default(),
            started: Instant::now(),
            until_end,
            progress,
        }
    }

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
    progress: impl FnMut(DemoProgress),
) -> Result<DemoReport, LoadError> {
    match config.profile {
        DemoProfile::Brokerage => brokerage(app, config, progress).await,
        DemoProfile::Bank => bank::demo(app, config, progress).await,
    }
}

/// Customers whose registration commands are queued before they are sent.
const CUSTOMERS_PER_FLUSH: u64 = 20_000;

async fn brokerage(
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
    let ids = Ids(seed);
    let mut rng = Rng(seed);
    let mut out = Sender::new(app, seed, ids, until_end, |p: DemoProgress| {
        progress(DemoProgress { days_total, ..p })
    });
    // The organisation exists half a year before the daily data starts.
    let founded = at(first_day - Duration::days(180), 9 * 60);
    let org = org::organisation(&mut out, &mut rng, ids, founded)?;
    out.flush("organisation", 0).await?;

    // Sent a slice at a time, so what is queued does not grow with the customers.
    let mut book = customers::Book::default();
    let total = u64::from(config.customers);
    let mut from = 0;
    while from < total {
        let to = total.min(from + CUSTOMERS_PER_FLUSH);
        customers::customers(
            &mut out,
            &mut rng,
            ids,
            &org,
            first_day,
            from..to,
            &mut book,
        )?;
        out.flush("customers", 0).await?;
        from = to;
    }
    let customers::Book {
        mut holders,
        duplicates,
        ..
    } = book;
    out.report.customers = holders.len() as u64;

    customers::merges(&mut out, org.hq, &duplicates);
    out.report.merged = duplicates.len() as u64;
    out.flush("merges", 0).await?;

    let trading_days = daily::daily(
        &mut out,
        &mut rng,
        ids,
        &org,
        &mut holders,
        config.days,
        first_day,
    )
    .await?;
    out.report.trading_days = trading_days;
    out.report.seconds = out.started.elapsed().as_secs_f64();
    Ok(std::mem::take(&mut out.report))
}

/// Ids derived from the seed: the same kind and number give the same id in every run.
#[derive(Debug, Clone, Copy)]
struct Ids(u64);

impl Ids {
    fn get(self, kind: &[u8], n: u64) -> Uuid {
        derive(&[b"demo", &self.0.to_le_bytes(), kind, &n.to_le_bytes()])
    }
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
