//! The CSV formats, one per [`ImportKind`]: their columns, and how one row becomes the
//! commands it stands for. Column names, codes and units are documented for back-office teams
//! in `schema/import/<kind>.md`; this module is their executable form.
//!
//! A row is parsed completely before anything is sent, and a row that does not parse is a
//! reject naming the column and the reason. Amounts are decimal strings parsed straight into
//! `Money` (CNY yuan, at most 4 decimals), never through floating point.

use std::collections::HashMap;

use crm_app::AppCommand;
use crm_domain::account::{
    self, AssetClass, DailyTradeSummary, HoldingLine, SecurityType, TradeChannel, TurnoverLine,
};
use crm_domain::auth::{Role, Scope};
use crm_domain::customer::{self, AccountKind, Assignment, CustomerKind, Profile};
use crm_domain::interaction::{self, Direction, Outcome};
use crm_domain::market::{self, MarketTotals};
use crm_domain::values::{
    Address, Channel, IdDocument, LongText, Market, OrgName, PassportNumber, PersonName, Phone,
    ResidentIdNumber, ShortText, UnifiedSocialCreditCode,
};
use crm_domain::{branch, region, staff, Money, ValidationError};
use csv::StringRecord;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use super::ImportKind;
use crate::ids;

/// The columns of a format: `required` must all be in the header; `optional` may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

impl Spec {
    pub fn columns(&self) -> impl Iterator<Item = &'static str> {
        self.required.iter().chain(self.optional).copied()
    }
}

const DOCUMENT: [&str; 2] = ["id_type", "id_number"];

pub(crate) fn spec(kind: ImportKind) -> Spec {
    match kind {
        ImportKind::Organisation => Spec {
            required: &["record", "code", "name", "effective_on"],
            optional: &[
                "region_code",
                "branch_code",
                "branch_kind",
                "team_code",
                "team_lead",
                "role",
            ],
        },
        ImportKind::Customers => Spec {
            required: &[
                "customer_kind",
                "name",
                DOCUMENT[0],
                DOCUMENT[1],
                "source_channel",
                "registered_on",
            ],
            optional: &[
                "id_country",
                "phone",
                "address",
                "birthday",
                "occupation",
                "prospect",
                "branch_code",
                "manager_no",
                "team_code",
            ],
        },
        ImportKind::Accounts => Spec {
            required: &[
                "account_no",
                "account_kind",
                DOCUMENT[0],
                DOCUMENT[1],
                "opened_on",
            ],
            optional: &["market", "id_country"],
        },
        ImportKind::DailySummaries => Spec {
            required: &[
                "account_no",
                "trade_date",
                DOCUMENT[0],
                DOCUMENT[1],
                "turnover",
                "commission",
                "deposits",
                "withdrawals",
                "end_of_day_assets",
                "realised_pnl",
                "unrealised_pnl",
            ],
            optional: &[
                "id_country",
                "holdings_cash",
                "holdings_stocks",
                "holdings_funds",
                "holdings_bonds",
                "holdings_wealth_products",
                "holdings_other",
            ],
        },
        ImportKind::MarketTotals => Spec {
            required: &["trade_date", "market", "turnover"],
            optional: &[],
        },
        ImportKind::Interactions => Spec {
            required: &[
                "contact_no",
                DOCUMENT[0],
                DOCUMENT[1],
                "staff_no",
                "channel",
                "direction",
                "topic",
                "outcome",
                "contacted_at",
            ],
            optional: &["id_country", "notes", "follow_up_on"],
        },
        services @ (ImportKind::Cards
        | ImportKind::EBankingSignUps
        | ImportKind::WealthTransactions) => super::bank_service_formats::spec(services),
        bank => super::bank_formats::spec(bank),
    }
}

/// Why a row was refused before any command: the column (when one is to blame) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bad {
    pub column: Option<&'static str>,
    pub reason: String,
}

pub(crate) fn bad(column: &'static str, reason: impl Into<String>) -> Bad {
    Bad {
        column: Some(column),
        reason: reason.into(),
    }
}

/// One command of a row, before it gets its envelope.
#[derive(Debug)]
pub(crate) struct PlannedStep {
    /// Distinguishes a row's commands in their derived command ids.
    pub label: &'static str,
    pub command: AppCommand,
    pub at: OffsetDateTime,
    /// Sent instead when `command` is refused because its target already exists.
    pub if_exists: Option<AppCommand>,
    /// The columns the command is built from, when not the whole row: its command id hashes
    /// only these, so a row whose other cells changed re-sends this command unchanged.
    pub columns: Option<&'static [&'static str]>,
}

/// What one row stands for.
#[derive(Debug)]
pub(crate) struct Planned {
    /// Rows run in phases (the organisation's regions before branches before teams before
    /// staff); phases run one after another.
    pub phase: u8,
    /// The aggregate the row's commands address: rows of one lane keep their file order.
    pub lane: String,
    /// The row's business key (account and trade date, document, contact number…).
    pub key: String,
    pub steps: Vec<PlannedStep>,
}

/// A data row with its columns looked up by name.
pub(crate) struct Row<'a> {
    pub record: &'a StringRecord,
    pub columns: &'a HashMap<&'static str, usize>,
}

impl Row<'_> {
    /// The trimmed cell, or "" when the column is absent.
    pub fn get(&self, column: &'static str) -> &str {
        self.columns
            .get(column)
            .and_then(|i| self.record.get(*i))
            .map_or("", str::trim)
    }

    pub(crate) fn required(&self, column: &'static str) -> Result<&str, Bad> {
        match self.get(column) {
            "" => Err(bad(column, "is empty")),
            s => Ok(s),
        }
    }

    pub(crate) fn optional(&self, column: &'static str) -> Option<&str> {
        Some(self.get(column)).filter(|s| !s.is_empty())
    }

    pub(crate) fn value<T>(
        &self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<T, Bad> {
        let s = self.required(column)?;
        parse(s).map_err(|e| bad(column, format!("'{s}' {}", e.reason)))
    }

    pub(crate) fn optional_value<T>(
        &self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<Option<T>, Bad> {
        match self.optional(column) {
            None => Ok(None),
            Some(s) => parse(s)
                .map(Some)
                .map_err(|e| bad(column, format!("'{s}' {}", e.reason))),
        }
    }

    pub(crate) fn code<T: Copy>(
        &self,
        column: &'static str,
        table: &[(&[&str], T)],
    ) -> Result<T, Bad> {
        let s = self.required(column)?;
        lookup(s, table).ok_or_else(|| bad(column, unknown_code(s, table)))
    }

    pub(crate) fn money(&self, column: &'static str) -> Result<Money, Bad> {
        self.value(column, Money::parse)
    }

    pub(crate) fn date(&self, column: &'static str) -> Result<Date, Bad> {
        let s = self.required(column)?;
        parse_date(s).ok_or_else(|| bad(column, format!("'{s}' is not a date like 2024-03-01")))
    }

    pub(crate) fn optional_date(&self, column: &'static str) -> Result<Option<Date>, Bad> {
        match self.optional(column) {
            None => Ok(None),
            Some(_) => self.date(column).map(Some),
        }
    }
}

fn lookup<T: Copy>(s: &str, table: &[(&[&str], T)]) -> Option<T> {
    let lower = s.to_lowercase();
    table
        .iter()
        .find(|(names, _)| names.iter().any(|n| *n == lower))
        .map(|(_, v)| *v)
}

fn unknown_code<T>(s: &str, table: &[(&[&str], T)]) -> String {
    let known: Vec<&str> = table.iter().map(|(names, _)| names[0]).collect();
    format!("'{s}' is not one of {}", known.join(", "))
}

/// China Standard Time: the back office's dates and times are Beijing time.
const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// `2024-03-01`, `2024/3/1` or `20240301`.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let (y, m, d) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (s.get(0..4)?, s.get(4..6)?, s.get(6..8)?)
    } else {
        let sep = if s.contains('/') { '/' } else { '-' };
        let mut parts = s.split(sep);
        let parts = (parts.next()?, parts.next()?, parts.next()?, parts.next());
        if parts.3.is_some() {
            return None;
        }
        (parts.0, parts.1, parts.2)
    };
    let num = |p: &str| -> Option<u32> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let month = Month::try_from(u8::try_from(num(m)?).ok()?).ok()?;
    Date::from_calendar_date(
        i32::try_from(num(y)?).ok()?,
        month,
        u8::try_from(num(d)?).ok()?,
    )
    .ok()
}

/// `2024-03-01 14:30`, `2024-03-01 14:30:05` or with a `T`; Beijing time.
pub(crate) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let (date, time) = s.split_once([' ', 'T'])?;
    let date = parse_date(date.trim())?;
    let mut parts = time.trim().split(':');
    let mut num = || -> Option<u8> {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let hour = num()?;
    let minute = num()?;
    let second = num().unwrap_or(0);
    if parts.next().is_some() {
        return None;
    }
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(date.with_time(time).assume_offset(CST))
}

/// Business time of a date-only row: 09:00 Beijing time on that day.
pub(crate) fn morning(day: Date) -> OffsetDateTime {
    day.with_time(Time::from_hms(9, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_offset(CST)
}

/// Business time of a trade date's figures: the close, 15:00 Beijing time.
pub(crate) fn close_of(day: Date) -> OffsetDateTime {
    day.with_time(Time::from_hms(15, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_offset(CST)
}

const MARKETS: &[(&[&str], Market)] = &[
    (
        &["sh", "shanghai", "上海", "沪市", "上交所"],
        Market::Shanghai,
    ),
    (
        &["sz", "shenzhen", "深圳", "深市", "深交所"],
        Market::Shenzhen,
    ),
    (&["bj", "beijing", "北京", "北交所"], Market::Beijing),
    (
        &["hk", "hong_kong_connect", "港股通"],
        Market::HongKongConnect,
    ),
    (&["otc", "over_the_counter", "场外"], Market::OverTheCounter),
];

const CHANNELS: &[(&[&str], Channel)] = &[
    (&["counter", "柜台"], Channel::Counter),
    (&["phone", "电话"], Channel::Phone),
    (&["call_centre", "呼叫中心"], Channel::CallCentre),
    (&["app"], Channel::App),
    (&["internet", "网上"], Channel::Internet),
    (&["email", "邮件"], Channel::Email),
    (&["wechat", "微信"], Channel::WeChat),
    (&["bank_counter", "银行柜台"], Channel::BankCounter),
    (&["self_service", "自助"], Channel::SelfService),
    (&["visit", "走访"], Channel::Visit),
];

const SECURITY_TYPES: &[(&[&str], SecurityType)] = &[
    (&["stock", "股票"], SecurityType::Stock),
    (&["fund", "基金"], SecurityType::Fund),
    (&["bond", "债券"], SecurityType::Bond),
    (&["repo", "回购"], SecurityType::Repo),
    (&["margin", "融资融券"], SecurityType::Margin),
    (&["option", "期权"], SecurityType::Option),
    (&["wealth_product", "理财"], SecurityType::WealthProduct),
    (&["other", "其他"], SecurityType::Other),
];

const TRADE_CHANNELS: &[(&[&str], TradeChannel)] = &[
    (&["counter", "柜台"], TradeChannel::Counter),
    (&["phone", "电话"], TradeChannel::Phone),
    (&["internet", "网上"], TradeChannel::Internet),
    (&["mobile", "手机"], TradeChannel::Mobile),
    (&["self_service", "自助"], TradeChannel::SelfService),
    (&["api", "程序化"], TradeChannel::Api),
];

const HOLDINGS: [(&str, AssetClass); 6] = [
    ("holdings_cash", AssetClass::Cash),
    ("holdings_stocks", AssetClass::Stocks),
    ("holdings_funds", AssetClass::Funds),
    ("holdings_bonds", AssetClass::Bonds),
    ("holdings_wealth_products", AssetClass::WealthProducts),
    ("holdings_other", AssetClass::Other),
];

#[derive(Debug, Clone, Copy)]
enum DocType {
    ResidentId,
    Passport,
    BusinessLicence,
}

const DOC_TYPES: &[(&[&str], DocType)] = &[
    (
        &["resident_id", "身份证", "居民身份证"],
        DocType::ResidentId,
    ),
    (&["passport", "护照"], DocType::Passport),
    (
        &["business_licence", "营业执照", "统一社会信用代码"],
        DocType::BusinessLicence,
    ),
];

pub(crate) fn document(row: &Row<'_>) -> Result<IdDocument, Bad> {
    Ok(match row.code("id_type", DOC_TYPES)? {
        DocType::ResidentId => IdDocument::ResidentId {
            number: row.value("id_number", ResidentIdNumber::parse)?,
        },
        DocType::Passport => IdDocument::Passport {
            country: row.value("id_country", ShortText::parse)?,
            number: row.value("id_number", PassportNumber::parse)?,
        },
        DocType::BusinessLicence => IdDocument::BusinessLicence {
            code: row.value("id_number", UnifiedSocialCreditCode::parse)?,
        },
    })
}

fn boolean(row: &Row<'_>, column: &'static str) -> Result<bool, Bad> {
    match row.optional(column) {
        None => Ok(false),
        Some(s) => lookup(
            s,
            &[
                (&["true", "yes", "y", "1", "是"][..], true),
                (&["false", "no", "n", "0", "否"][..], false),
            ],
        )
        .ok_or_else(|| bad(column, format!("'{s}' is not true or false"))),
    }
}

/// Parses one data row of `kind` into its commands. `actor_staff` is the importing actor,
/// named where a command records who acted (`Assign { by }`).
pub(crate) fn plan(
    kind: ImportKind,
    row: &Row<'_>,
    correction: bool,
    actor_staff: crm_domain::ids::StaffId,
) -> Result<Planned, Bad> {
    match kind {
        ImportKind::Organisation => organisation(row),
        ImportKind::Customers => customer_row(row, actor_staff),
        ImportKind::Accounts => account_row(row),
        ImportKind::DailySummaries => summary_row(row, correction),
        ImportKind::MarketTotals => market_row(row, correction),
        ImportKind::Interactions => interaction_row(row),
        services @ (ImportKind::Cards
        | ImportKind::EBankingSignUps
        | ImportKind::WealthTransactions) => super::bank_service_formats::plan(services, row),
        bank => super::bank_formats::plan(bank, row, correction, actor_staff),
    }
}

#[derive(Debug, Clone, Copy)]
enum Record {
    Region,
    Branch,
    Team,
    Staff,
}

const ROLES: &[(&[&str], Role)] = &[
    (&["headquarters", "总部"], Role::Headquarters),
    (&["region_manager", "分公司负责人"], Role::RegionManager),
    (&["branch_manager", "营业部负责人"], Role::BranchManager),
    (&["customer_manager", "客户经理"], Role::CustomerManager),
    (&["broker", "经纪人"], Role::Broker),
    (&["service_agent", "客服", "坐席"], Role::ServiceAgent),
    (&["auditor", "审计"], Role::Auditor),
    (&["operator", "运维", "管理员"], Role::Operator),
];

fn organisation(row: &Row<'_>) -> Result<Planned, Bad> {
    let record = row.code(
        "record",
        &[
            (&["region", "分公司"], Record::Region),
            (&["branch", "营业部"], Record::Branch),
            (&["team", "团队"], Record::Team),
            (&["staff", "员工"], Record::Staff),
        ],
    )?;
    let code = row.required("code")?;
    let now = morning(row.date("effective_on")?);
    let one = |phase, lane: String, command| Planned {
        phase,
        key: lane.clone(),
        lane,
        steps: vec![PlannedStep {
            label: "organisation",
            command,
            at: now,
            if_exists: None,
            columns: None,
        }],
    };
    Ok(match record {
        Record::Region => {
            let region_id = ids::region_id(code);
            one(
                0,
                format!("region:{code}"),
                AppCommand::Region {
                    region: region_id,
                    command: region::Command::Establish {
                        region_id,
                        name: row.value("name", OrgName::parse)?,
                        now,
                    },
                },
            )
        }
        Record::Branch => {
            let branch_id = ids::branch_id(code);
            let kind = match row.optional("branch_kind") {
                None => branch::BranchKind::BrokerageBranch,
                Some(_) => row.code(
                    "branch_kind",
                    &[
                        (
                            &["brokerage_branch", "营业部"],
                            branch::BranchKind::BrokerageBranch,
                        ),
                        (&["bank_outlet", "网点"], branch::BranchKind::BankOutlet),
                        (
                            &["credit_cooperative", "信用社"],
                            branch::BranchKind::CreditCooperative,
                        ),
                    ],
                )?,
            };
            one(
                1,
                format!("branch:{code}"),
                AppCommand::Branch {
                    branch: branch_id,
                    command: branch::Command::Open {
                        branch_id,
                        region_id: ids::region_id(row.required("region_code")?),
                        name: row.value("name", OrgName::parse)?,
                        kind,
                        now,
                    },
                },
            )
        }
        Record::Team => {
            let branch_code = row.required("branch_code")?;
            // Teams live on their branch's stream: the branch's lane keeps them in order.
            let mut planned = one(
                2,
                format!("branch:{branch_code}"),
                AppCommand::Branch {
                    branch: ids::branch_id(branch_code),
                    command: branch::Command::FormTeam {
                        team_id: ids::team_id(branch_code, code),
                        name: row.value("name", OrgName::parse)?,
                        lead: row.optional("team_lead").map(ids::staff_id),
                        now,
                    },
                },
            );
            planned.key = format!("team:{branch_code}:{code}");
            planned
        }
        Record::Staff => {
            let role = row.code("role", ROLES)?;
            let branch_code = row.optional("branch_code");
            let need_branch = || branch_code.ok_or_else(|| bad("branch_code", "is empty"));
            let scope = match role {
                Role::Headquarters => Scope::Company,
                Role::RegionManager => Scope::Region {
                    region: ids::region_id(row.required("region_code")?),
                },
                Role::BranchManager => Scope::Branch {
                    branch: ids::branch_id(need_branch()?),
                },
                Role::CustomerManager | Role::Broker => {
                    let branch_code = need_branch()?;
                    Scope::Book {
                        branch: ids::branch_id(branch_code),
                        team: row
                            .optional("team_code")
                            .map(|t| ids::team_id(branch_code, t)),
                    }
                }
                Role::ServiceAgent | Role::Auditor | Role::Operator => match branch_code {
                    Some(b) => Scope::Branch {
                        branch: ids::branch_id(b),
                    },
                    None => Scope::Company,
                },
            };
            let staff_id = ids::staff_id(code);
            one(
                3,
                format!("staff:{code}"),
                AppCommand::Staff {
                    staff: staff_id,
                    command: staff::Command::Join {
                        staff_id,
                        name: row.value("name", PersonName::parse)?,
                        role,
                        scope,
                        now,
                    },
                },
            )
        }
    })
}

fn customer_row(row: &Row<'_>, actor_staff: crm_domain::ids::StaffId) -> Result<Planned, Bad> {
    let kind = row.code(
        "customer_kind",
        &[
            (&["individual", "个人"], CustomerKind::Individual),
            (
                &["institutional", "institution", "机构", "对公"],
                CustomerKind::Institutional,
            ),
        ],
    )?;
    let document = document(row)?;
    let profile = Profile {
        name: row.value("name", OrgName::parse)?,
        document: document.clone(),
        phone: row.optional_value("phone", Phone::parse)?,
        address: row.optional_value("address", Address::parse)?,
        region: None,
        birthday: row.optional_date("birthday")?,
        occupation: row.optional_value("occupation", ShortText::parse)?,
        source_channel: row.code("source_channel", CHANNELS)?,
    };
    let now = morning(row.date("registered_on")?);
    let as_prospect = boolean(row, "prospect")?;
    let customer_id = ids::customer_id(&document);
    let mut steps = vec![PlannedStep {
        label: "register",
        command: AppCommand::Customer {
            customer: customer_id,
            command: customer::Command::Register {
                customer_id,
                kind,
                profile: profile.clone(),
                as_prospect,
                existing_customer_with_same_document: None,
                now,
            },
        },
        at: now,
        // Already registered: the file carries the back office's current profile.
        if_exists: Some(AppCommand::Customer {
            customer: customer_id,
            command: customer::Command::UpdateProfile {
                profile,
                existing_customer_with_same_document: None,
                now,
            },
        }),
        columns: None,
    }];
    match row.optional("branch_code") {
        Some(branch_code) => steps.push(PlannedStep {
            label: "assign",
            command: AppCommand::Customer {
                customer: customer_id,
                command: customer::Command::Assign {
                    to: Assignment {
                        branch: ids::branch_id(branch_code),
                        manager: row.optional("manager_no").map(ids::staff_id),
                        team: row
                            .optional("team_code")
                            .map(|t| ids::team_id(branch_code, t)),
                    },
                    by: actor_staff,
                    now,
                },
            },
            at: now,
            if_exists: None,
            // A changed phone number must not re-send an unchanged assignment (which the
            // domain would refuse as "already assigned").
            columns: Some(&[
                "id_type",
                "id_number",
                "id_country",
                "registered_on",
                "branch_code",
                "manager_no",
                "team_code",
            ]),
        }),
        None => {
            for column in ["manager_no", "team_code"] {
                if row.optional(column).is_some() {
                    return Err(bad(
                        "branch_code",
                        format!("is needed when {column} is given"),
                    ));
                }
            }
        }
    }
    Ok(Planned {
        phase: 0,
        lane: format!("customer:{customer_id}"),
        key: document.identity_key(),
        steps,
    })
}

fn account_row(row: &Row<'_>) -> Result<Planned, Bad> {
    #[derive(Clone, Copy)]
    enum Kind {
        Fund,
        Securities,
        Credit,
    }
    let number = row.value("account_no", ShortText::parse)?;
    let kind = match row.code(
        "account_kind",
        &[
            (&["fund", "资金", "资金账户"], Kind::Fund),
            (&["securities", "证券", "证券账户"], Kind::Securities),
            (&["credit", "信用", "信用账户"], Kind::Credit),
        ],
    )? {
        Kind::Fund => AccountKind::Fund,
        Kind::Securities => AccountKind::Securities {
            market: row.code("market", MARKETS)?,
        },
        Kind::Credit => AccountKind::Credit,
    };
    let customer_id = ids::customer_id(&document(row)?);
    let now = morning(row.date("opened_on")?);
    Ok(Planned {
        phase: 0,
        // Accounts are opened on the customer's stream.
        lane: format!("customer:{customer_id}"),
        key: format!("account:{}", number.as_str()),
        steps: vec![PlannedStep {
            label: "open-account",
            command: AppCommand::Customer {
                customer: customer_id,
                command: customer::Command::OpenAccount {
                    account_id: ids::account_id(number.as_str()),
                    kind,
                    number,
                    now,
                },
            },
            at: now,
            if_exists: None,
            columns: None,
        }],
    })
}

/// `SH:stock:mobile=5000.00; SZ:fund:internet=1000`: market, security type and channel of
/// each cell of the turnover, with its amount.
fn turnover(row: &Row<'_>) -> Result<Vec<TurnoverLine>, Bad> {
    let column = "turnover";
    let mut lines = Vec::new();
    for item in row.get(column).split(';').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let shape = || {
            bad(
                column,
                format!("'{item}' is not market:security_type:channel=amount"),
            )
        };
        let (cell, amount) = item.split_once('=').ok_or_else(shape)?;
        let mut parts = cell.split(':').map(str::trim);
        let (Some(m), Some(t), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let unknown =
            |what: &str, s: &str| bad(column, format!("in '{item}': unknown {what} '{s}'"));
        let market = lookup(m, MARKETS).ok_or_else(|| unknown("market", m))?;
        let security_type = lookup(t, SECURITY_TYPES).ok_or_else(|| unknown("security type", t))?;
        let channel = lookup(c, TRADE_CHANNELS).ok_or_else(|| unknown("channel", c))?;
        let amount = amount.trim();
        let amount = Money::parse(amount)
            .map_err(|e| bad(column, format!("in '{item}': '{amount}' {}", e.reason)))?;
        lines.push(TurnoverLine {
            market,
            security_type,
            channel,
            amount,
        });
    }
    Ok(lines)
}

fn summary_row(row: &Row<'_>, correction: bool) -> Result<Planned, Bad> {
    let number = row.value("account_no", ShortText::parse)?;
    let trade_date = row.date("trade_date")?;
    let customer_id = ids::customer_id(&document(row)?);
    let mut holdings = Vec::new();
    for (column, asset_class) in HOLDINGS {
        if let Some(market_value) = row.optional_value(column, Money::parse)? {
            holdings.push(HoldingLine {
                asset_class,
                market_value,
            });
        }
    }
    let summary = DailyTradeSummary {
        trade_date,
        customer_id,
        turnover: turnover(row)?,
        commission: row.money("commission")?,
        deposits: row.money("deposits")?,
        withdrawals: row.money("withdrawals")?,
        end_of_day_assets: row.money("end_of_day_assets")?,
        holdings,
        realised_pnl: row.money("realised_pnl")?,
        unrealised_pnl: row.money("unrealised_pnl")?,
    };
    let account_id = ids::account_id(number.as_str());
    let now = close_of(trade_date);
    Ok(Planned {
        phase: 0,
        lane: format!("account:{}", number.as_str()),
        key: format!("{}:{trade_date}", number.as_str()),
        steps: vec![PlannedStep {
            label: "daily-summary",
            command: AppCommand::Account {
                account: account_id,
                command: account::Command::RecordDailySummary {
                    account_id,
                    summary,
                    correction,
                    now,
                },
            },
            at: now,
            if_exists: None,
            columns: None,
        }],
    })
}

fn market_row(row: &Row<'_>, correction: bool) -> Result<Planned, Bad> {
    let trade_date = row.date("trade_date")?;
    let market = row.code("market", MARKETS)?;
    let now = close_of(trade_date);
    Ok(Planned {
        phase: 0,
        lane: format!("market:{trade_date}"),
        key: format!("{trade_date}:{market:?}"),
        steps: vec![PlannedStep {
            label: "market-totals",
            command: AppCommand::Market {
                trade_date,
                command: market::Command::RecordMarketTotals {
                    trade_date,
                    market,
                    totals: MarketTotals {
                        turnover: row.money("turnover")?,
                    },
                    correction,
                    now,
                },
            },
            at: now,
            if_exists: None,
            columns: None,
        }],
    })
}

fn interaction_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let number = row.required("contact_no")?;
    let interaction_id = ids::interaction_id(number);
    let contacted_at = row.required("contacted_at")?;
    let now = parse_datetime(contacted_at).ok_or_else(|| {
        bad(
            "contacted_at",
            format!("'{contacted_at}' is not a time like 2024-03-01 14:30"),
        )
    })?;
    let command = interaction::Command::RecordContact {
        interaction_id,
        customer_id: ids::customer_id(&document(row)?),
        staff_id: ids::staff_id(row.required("staff_no")?),
        channel: row.code("channel", CHANNELS)?,
        direction: row.code(
            "direction",
            &[
                (&["inbound", "呼入", "来访"], Direction::Inbound),
                (&["outbound", "呼出", "回访"], Direction::Outbound),
            ],
        )?,
        topic: row.value("topic", ShortText::parse)?,
        outcome: row.code(
            "outcome",
            &[
                (&["reached", "已联系"], Outcome::Reached),
                (&["not_reached", "未接通"], Outcome::NotReached),
                (&["interested", "有意向"], Outcome::Interested),
                (&["not_interested", "无意向"], Outcome::NotInterested),
                (&["complained", "投诉"], Outcome::Complained),
                (&["resolved", "已解决"], Outcome::Resolved),
                (&["follow_up_needed", "需跟进"], Outcome::FollowUpNeeded),
            ],
        )?,
        notes: match row.optional("notes") {
            None => LongText::parse("").map_err(|e| bad("notes", e.reason))?,
            Some(_) => row.value("notes", LongText::parse)?,
        },
        follow_up_on: row.optional_date("follow_up_on")?,
        now,
    };
    Ok(Planned {
        phase: 0,
        lane: format!("interaction:{number}"),
        key: format!("contact:{number}"),
        steps: vec![PlannedStep {
            label: "contact",
            command: AppCommand::Interaction {
                interaction: interaction_id,
                command,
            },
            at: now,
            if_exists: None,
            columns: None,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_read_in_the_formats_back_offices_use() {
        let d = Date::from_calendar_date(2024, Month::March, 1).ok();
        assert_eq!(parse_date("2024-03-01"), d);
        assert_eq!(parse_date("2024/3/1"), d);
        assert_eq!(parse_date("20240301"), d);
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-03-01-02"), None);
        assert_eq!(parse_date("1.5"), None);
        let t = parse_datetime("2024-03-01 14:30").map(|t| (t.hour(), t.minute(), t.offset()));
        assert_eq!(t, Some((14, 30, CST)));
        assert_eq!(
            parse_datetime("2024-03-01T09:05:07").map(|t| t.second()),
            Some(7)
        );
        assert_eq!(parse_datetime("2024-03-01 25:00"), None);
        assert_eq!(parse_datetime("2024-03-01"), None);
    }
}
