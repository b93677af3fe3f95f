//! The one error type every `decide` returns, plus the field-level error every parser returns.
//!
//! Both derive `Clone, PartialEq, Eq` so tests can assert the exact refusal.

use time::Date;

use crate::auth::Right;
use crate::ids::{CustomerId, StaffId};
use crate::risk::{ProductRisk, RiskTolerance};

/// A value could not be parsed: names the field and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// Re-labels the error when a generic parser (money, text) is used for a specific field.
    #[must_use]
    pub fn in_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

/// Why the domain refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid {field}: {reason}")]
    Validation { field: &'static str, reason: String },
    /// The command targets an aggregate that was never created.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// The creating command was sent to an aggregate that already exists.
    #[error("{entity} already exists")]
    AlreadyExists { entity: &'static str },
    #[error("forbidden: missing right {missing_right:?}")]
    Forbidden { missing_right: Right },
    /// The command contradicts what was already recorded (e.g. a different trade summary for a
    /// recorded day without the correction flag).
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// 适当性: the product's risk level exceeds the customer's risk tolerance.
    #[error("suitability violation: customer is {customer_level:?}, product is {product_level:?}")]
    SuitabilityViolation {
        customer_level: RiskTolerance,
        product_level: ProductRisk,
    },
    #[error("suitability assessment of customer {customer} expired on {expired_on}")]
    SuitabilityExpired {
        customer: CustomerId,
        expired_on: Date,
    },
    #[error("customer {customer} has no suitability assessment")]
    SuitabilityMissing { customer: CustomerId },
    /// The customer was merged into another; every further command goes to the survivor.
    #[error("customer was merged into {into}")]
    AlreadyMerged { into: CustomerId },
    /// 客户唯一性识别: another customer already holds the same identity document.
    #[error("a customer with the same identity document already exists: {existing}")]
    DuplicateIdentity { existing: CustomerId },
    /// [`DomainError::DuplicateIdentity`] as told to a caller who may not read the holder
    /// (`auth::disclose`): that the document is registered, not to whom or where.
    #[error(
        "this identity document is already registered to a customer outside your scope; a \
         back-office or branch manager of the holding branch can resolve it"
    )]
    DuplicateIdentityOutOfScope,
    /// [`DomainError::AlreadyMerged`] as told to a caller who may not read the survivor.
    #[error("customer was merged into another customer, outside your scope")]
    MergedOutOfScope,
    /// Four eyes (双人复核): the approver of a rule set must not be its proposer.
    #[error("four eyes: {staff} proposed this and cannot also approve it")]
    FourEyesViolation { staff: StaffId },
    /// A grant (a role, a scope, an organisational move) beyond what the actor holds.
    #[error("forbidden: {what}")]
    BeyondOwnAuthority { what: String },
    /// The staff directory no longer backs the actor's credentials: a token says what was
    /// true when it was minted, the directory what is true now.
    #[error("staff {staff} {problem}")]
    Standing {
        staff: StaffId,
        problem: crate::auth::StandingProblem,
    },
    /// A campaign's saved segment selects more customers than a launch may freeze.
    #[error(
        "the segment selects {count} customers; a launch freezes at most {max}: narrow the \
         segment or split the campaign"
    )]
    TooManyTargets { count: usize, max: usize },
    /// A response from a customer outside the campaign's frozen target list.
    #[error("customer {customer} is not on the campaign's target list")]
    NotATarget { customer: CustomerId },
    #[error("cannot {command} when {from}")]
    InvalidTransition {
        from: &'static str,
        command: &'static str,
    },
}

impl From<ValidationError> for DomainError {
    fn from(e: ValidationError) -> Self {
        DomainError::Validation {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl DomainError {
    /// The other customer this refusal names, besides the command's own: the holder of an
    /// identity document, or the survivor of a merge. Who may be told is `auth::disclose`'s
    /// decision.
    pub fn other_customer(&self) -> Option<CustomerId> {
        match self {
            DomainError::DuplicateIdentity { existing } => Some(*existing),
            DomainError::AlreadyMerged { into } => Some(*into),
            _ => None,
        }
    }

    pub(crate) fn validation(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::Validation {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn conflict(reason: impl Into<String>) -> Self {
        DomainError::Conflict {
            reason: reason.into(),
        }
    }
}
