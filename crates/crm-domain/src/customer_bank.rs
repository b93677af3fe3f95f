//! What a rural bank (农信社) knows about a customer beyond the profile: the bank segment
//! (农户 farm household, 个体工商户 sole proprietor, 小微企业 small business) with its
//! attributes, the 跨行客户 flag (known to bank elsewhere too), and external facts imported
//! from the credit reference centre (征信), the business registry (工商) and the tax bureau
//! (税务), each with its source and as-of date.
//!
//! These extend the customer compatibly: [`CustomerKind`] stays the legal nature the seeds call
//! the first layer of segmentation (个人 / 对公), and the bank segment is a further attribute
//! recorded by an event of its own (`BankSegmentRecorded`), so every event recorded before it
//! keeps its shape and meaning. A farm household and a sole proprietor are natural persons
//! (individual kind, registered by the operator's resident ID); a small business is an
//! institution.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::{CustomerKind, Event, State};
use crate::error::DomainError;
use crate::ids::CustomerId;
use crate::money::Money;
use crate::values::ShortText;

/// Land area in hundredths of a mu (亩), so 12.5 亩 is 1250; never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LandArea(u32);

impl LandArea {
    pub const fn from_hundredths_mu(hundredths: u32) -> Self {
        Self(hundredths)
    }

    pub const fn hundredths_mu(self) -> u32 {
        self.0
    }
}

/// 农户: a rural household customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FarmHousehold {
    /// 家庭人口, at least 1.
    pub members: u16,
    /// 承包土地面积
    pub land_area: LandArea,
    /// 所在村 (village, with its township where useful).
    pub village: ShortText,
    /// 主营项目, e.g. 水稻种植, 生猪养殖.
    pub main_business: ShortText,
}

/// 企业规模 under the national SME size classification (中小企业划型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SizeClass {
    /// 微型
    Micro,
    /// 小型
    Small,
    /// 中型
    Medium,
}

/// A registered business: a sole proprietor's (个体工商户) or a small business's (小微企业).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Business {
    /// 统一社会信用代码 or an older 注册号, as registered.
    pub registration_number: ShortText,
    /// 所属行业
    pub industry: ShortText,
    pub size: SizeClass,
}

/// 客户类别 of a rural bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankSegment {
    /// 农户
    FarmHousehold(FarmHousehold),
    /// 个体工商户
    SoleProprietor(Business),
    /// 小微企业
    SmallBusiness(Business),
}

/// 征信: a credit report's summary as of its date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditReportSummary {
    /// Loans outstanding at any institution.
    pub loans_outstanding: u16,
    pub balance_outstanding: Money,
    /// Accounts now overdue.
    pub accounts_overdue: u16,
    /// The longest delinquency in the report's window, in days.
    pub max_days_overdue: u32,
    /// 对外担保 balance.
    pub guarantees_given: Money,
    /// 近6个月查询次数
    pub queries_last_six_months: u16,
}

/// 登记状态
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationStatus {
    /// 存续 / 在业
    InOperation,
    /// 吊销
    Revoked,
    /// 注销
    Deregistered,
}

/// 工商: the business registry's record as of its date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRecord {
    pub registration_number: ShortText,
    pub status: RegistrationStatus,
    pub registered_capital: Money,
    pub established_on: Date,
}

/// 纳税信用等级
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaxCreditRating {
    A,
    B,
    M,
    C,
    D,
}

/// 税务: a tax year's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRecord {
    pub year: u16,
    pub tax_paid: Money,
    pub rating: TaxCreditRating,
}

/// An external fact about a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternalFact {
    CreditReport(CreditReportSummary),
    BusinessRegistry(RegistryRecord),
    Tax(TaxRecord),
}

impl ExternalFact {
    pub fn kind_name(&self) -> &'static str {
        match self {
            ExternalFact::CreditReport(_) => "credit report",
            ExternalFact::BusinessRegistry(_) => "business registry record",
            ExternalFact::Tax(_) => "tax record",
        }
    }

    fn money(&self) -> Vec<(&'static str, Money)> {
        match self {
            ExternalFact::CreditReport(r) => vec![
                ("balance_outstanding", r.balance_outstanding),
                ("guarantees_given", r.guarantees_given),
            ],
            ExternalFact::BusinessRegistry(r) => {
                vec![("registered_capital", r.registered_capital)]
            }
            ExternalFact::Tax(t) => vec![("tax_paid", t.tax_paid)],
        }
    }
}

/// One imported external fact as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalFactRecord {
    pub fact: ExternalFact,
    /// Where it came from, e.g. 人民银行征信中心.
    pub source: ShortText,
    pub as_of: Date,
}

pub(super) fn record_segment(
    state: &State,
    customer_id: CustomerId,
    kind: CustomerKind,
    segment: BankSegment,
    now: OffsetDateTime,
) -> Result<Vec<Event>, DomainError> {
    let fits = match &segment {
        BankSegment::FarmHousehold(h) => {
            if h.members == 0 {
                return Err(DomainError::validation(
                    "members",
                    "a household has at least one member",
                ));
            }
            kind == CustomerKind::Individual
        }
        BankSegment::SoleProprietor(_) => kind == CustomerKind::Individual,
        BankSegment::SmallBusiness(_) => kind == CustomerKind::Institutional,
    };
    if !fits {
        return Err(DomainError::validation(
            "segment",
            "farm households and sole proprietors are individuals, small businesses \
             institutions",
        ));
    }
    if state.bank_segment.as_ref() == Some(&segment) {
        return Ok(vec![]);
    }
    Ok(vec![Event::BankSegmentRecorded {
        customer_id,
        segment,
        at: now,
    }])
}

pub(super) fn record_external_fact(
    state: &State,
    customer_id: CustomerId,
    record: ExternalFactRecord,
    now: OffsetDateTime,
) -> Result<Vec<Event>, DomainError> {
    if record.as_of > now.date() {
        return Err(DomainError::validation(
            "as_of",
            "must not be in the future",
        ));
    }
    if let Some((field, _)) = record
        .fact
        .money()
        .into_iter()
        .find(|(_, m)| m.is_negative())
    {
        return Err(DomainError::validation(field, "must not be negative"));
    }
    let same_key = |r: &&ExternalFactRecord| {
        std::mem::discriminant(&r.fact) == std::mem::discriminant(&record.fact)
            && r.as_of == record.as_of
    };
    match state.external_facts.iter().find(same_key) {
        Some(existing) if *existing == record => Ok(vec![]),
        Some(_) => Err(DomainError::conflict(format!(
            "a different {} as of {} is already recorded",
            record.fact.kind_name(),
            record.as_of
        ))),
        None => Ok(vec![Event::ExternalFactRecorded {
            customer_id,
            record,
            at: now,
        }]),
    }
}
