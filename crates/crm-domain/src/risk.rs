//! 适当性管理 (suitability): customers are assessed C1–C5 by questionnaire, products carry
//! R1–R5, and a product may only be recommended or sold when its R level does not exceed the
//! customer's C level and the assessment is still valid.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::DomainError;
use crate::ids::CustomerId;

/// 风险承受能力: C1 (most conservative) … C5 (most aggressive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskTolerance {
    C1,
    C2,
    C3,
    C4,
    C5,
}

/// 产品风险等级: R1 (lowest risk) … R5 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProductRisk {
    R1,
    R2,
    R3,
    R4,
    R5,
}

impl RiskTolerance {
    pub const fn level(self) -> u8 {
        self as u8 + 1
    }
}

impl ProductRisk {
    pub const fn level(self) -> u8 {
        self as u8 + 1
    }
}

/// The result of a suitability questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuitabilityAssessment {
    pub level: RiskTolerance,
    pub assessed_on: Date,
    /// The first day on which the assessment is no longer valid.
    pub expires_on: Date,
}

impl SuitabilityAssessment {
    pub fn is_valid_on(&self, day: Date) -> bool {
        day >= self.assessed_on && day < self.expires_on
    }
}

/// Whether `product` may be recommended or sold to `customer` on `today`; returns the
/// customer's level so the caller can record what the decision was based on.
///
/// Order of checks: a missing assessment, then an expired one, then the level comparison, so
/// the error tells the manager the first thing to fix.
pub fn check_suitability(
    customer: CustomerId,
    assessment: Option<&SuitabilityAssessment>,
    product: ProductRisk,
    today: Date,
) -> Result<RiskTolerance, DomainError> {
    let a = assessment.ok_or(DomainError::SuitabilityMissing { customer })?;
    if today >= a.expires_on {
        return Err(DomainError::SuitabilityExpired {
            customer,
            expired_on: a.expires_on,
        });
    }
    if product.level() > a.level.level() {
        return Err(DomainError::SuitabilityViolation {
            customer_level: a.level,
            product_level: product,
        });
    }
    Ok(a.level)
}
