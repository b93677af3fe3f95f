//! The crate's one error type and the stable codes clients see in `extensions.code`.
//!
//! Domain and store errors map to a code here and nowhere else. What a client is told is the
//! error's `Display` for expected refusals; for internal failures it is a fixed sentence, and the
//! real cause goes to the log only.

use async_graphql::{ErrorExtensions, ServerError};
use crm_domain::DomainError;
use crm_eventstore::StoreError;

/// The stable codes of `extensions.code`. Clients switch on these, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// An argument or input value is not acceptable.
    Validation,
    /// The caller is authenticated but may not do or see this.
    Forbidden,
    NotFound,
    /// The request contradicts what is already recorded.
    Conflict,
    /// 适当性: the product's risk exceeds the customer's tolerance.
    SuitabilityViolation,
    /// No valid bearer token.
    Unauthenticated,
    /// Execution took longer than the configured bound.
    Timeout,
    /// The event store stopped accepting writes (a failed write or sync) or is shutting down.
    /// A mutation may or may not have been recorded: sending it again with the same
    /// `commandId` is safe, and answers with the first result if it was.
    Unavailable,
    /// The event store's disk (or quota) is full. The mutation was not recorded; the store
    /// keeps running and takes it once space is freed: retry later (with the same
    /// `commandId`, as always safe).
    StorageFull,
    /// A request limit (body size, depth, complexity, aliases, directives, batch) was exceeded.
    LimitExceeded,
    /// The HTTP request is not a well-formed GraphQL request.
    BadRequest,
    /// The document is not valid GraphQL syntax.
    GraphqlParseFailed,
    /// The document does not validate against the schema.
    GraphqlValidationFailed,
    /// Something broke on our side; the log has the details.
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Validation => "VALIDATION",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::SuitabilityViolation => "SUITABILITY_VIOLATION",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Timeout => "TIMEOUT",
            Code::Unavailable => "UNAVAILABLE",
            Code::StorageFull => "STORAGE_FULL",
            Code::LimitExceeded => "LIMIT_EXCEEDED",
            Code::BadRequest => "BAD_REQUEST",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::Internal => "INTERNAL",
        }
    }
}

/// Which limit a `LIMIT_EXCEEDED` refers to (`extensions.limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    BodySize,
    Depth,
    Complexity,
    RecursiveDepth,
    Directives,
    Aliases,
    Batch,
    PageSize,
    Operations,
    /// Read-model jobs running at once.
    Jobs,
    /// Whole-log replays running at once.
    Replays,
    /// The selection as executed (fragments expanded, pages multiplied, replays weighted).
    SelectionCost,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::BodySize => "bodySize",
            Limit::Depth => "depth",
            Limit::Complexity => "complexity",
            Limit::RecursiveDepth => "recursiveDepth",
            Limit::Directives => "directives",
            Limit::Aliases => "aliases",
            Limit::Batch => "batch",
            Limit::PageSize => "pageSize",
            Limit::Operations => "operations",
            Limit::Jobs => "jobs",
            Limit::Replays => "replays",
            Limit::SelectionCost => "selectionCost",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid {field}: {reason}")]
    Validation { field: String, reason: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    SuitabilityViolation(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// The token is valid but the staff directory no longer backs it (401, with
    /// `extensions.reason`).
    #[error("the token's staff member {0}")]
    Standing(crm_domain::auth::StandingProblem),
    #[error(
        "execution timed out after {ms} ms; a mutation may or may not have been recorded: \
         send it again with the same commandId, which records it at most once"
    )]
    Timeout { ms: u128 },
    #[error("{message}")]
    LimitExceeded { limit: Limit, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    GraphqlValidation(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("event store: {0}")]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn limit(limit: Limit, message: impl Into<String>) -> Self {
        ApiError::LimitExceeded {
            limit,
            message: message.into(),
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::Validation { .. } => Code::Validation,
            ApiError::Forbidden(_) => Code::Forbidden,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::Conflict(_) => Code::Conflict,
            ApiError::SuitabilityViolation(_) => Code::SuitabilityViolation,
            ApiError::Unauthenticated(_) | ApiError::Standing(_) => Code::Unauthenticated,
            ApiError::Timeout { .. } => Code::Timeout,
            ApiError::LimitExceeded { .. } => Code::LimitExceeded,
            ApiError::BadRequest(_) => Code::BadRequest,
            ApiError::Parse(_) => Code::GraphqlParseFailed,
            ApiError::GraphqlValidation(_) => Code::GraphqlValidationFailed,
            ApiError::Store(e) => store_code(e),
            ApiError::Config(_) | ApiError::Io(_) | ApiError::Internal(_) => Code::Internal,
        }
    }

    /// What the client is told. Internal causes are logged here, once, and replaced.
    pub fn public_message(&self) -> String {
        match self.code() {
            Code::Internal => {
                tracing::error!(error = %self, "internal error");
                "internal error".to_string()
            }
            Code::Unavailable => {
                tracing::error!(error = %self, "event store unavailable");
                UNAVAILABLE.to_string()
            }
            Code::StorageFull => {
                tracing::error!(error = %self, "event store refused a write: disk full");
                STORAGE_FULL.to_string()
            }
            _ => self.to_string(),
        }
    }

    /// As a GraphQL error with `extensions.code` (and `extensions.limit` for limits).
    pub fn to_server_error(&self) -> ServerError {
        let extended = self.extend();
        let mut error = ServerError::new(extended.message, None);
        error.extensions = extended.extensions;
        error
    }
}

/// What a client is told when the store stopped: the cause (a path, an OS error) is logged.
const UNAVAILABLE: &str = "the event store is unavailable (it stopped after a failed write, or \
     is shutting down); the command may or may not have been recorded: send it again with the \
     same commandId, which records it at most once";

/// What a client is told when the disk is full: the path and OS error are logged.
const STORAGE_FULL: &str = "the event store's disk is full; the command was not recorded: \
     retry later (sending it again with the same commandId is safe)";

/// Store errors a client can cause map to client codes; a full disk is STORAGE_FULL (nothing
/// was written); a store that stopped (after a failed
/// write or sync, or at shutdown, possibly after taking the command) is UNAVAILABLE, since
/// the write may have happened; everything else is internal.
fn store_code(e: &StoreError) -> Code {
    match e {
        StoreError::Poisoned(_) | StoreError::Closed => Code::Unavailable,
        StoreError::StorageFull { .. } => Code::StorageFull,
        StoreError::WrongExpectedRevision { .. }
        | StoreError::EventIdConflict { .. }
        | StoreError::PartiallyStored { .. } => Code::Conflict,
        StoreError::InvalidStreamName { .. }
        | StoreError::InvalidEvent { .. }
        | StoreError::InvalidAppend { .. }
        | StoreError::InvalidRead(_) => Code::Validation,
        _ => Code::Internal,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation { field, reason } => ApiError::validation(field, reason),
            DomainError::NotFound { entity } => ApiError::NotFound(entity.to_string()),
            DomainError::Forbidden { .. }
            | DomainError::FourEyesViolation { .. }
            | DomainError::Standing { .. }
            | DomainError::BeyondOwnAuthority { .. } => ApiError::Forbidden(e.to_string()),
            DomainError::SuitabilityViolation { .. }
            | DomainError::SuitabilityExpired { .. }
            | DomainError::SuitabilityMissing { .. } => {
                ApiError::SuitabilityViolation(e.to_string())
            }
            DomainError::NotATarget { .. } => ApiError::validation("customerId", e.to_string()),
            DomainError::TooManyTargets { .. } => ApiError::validation("segmentId", e.to_string()),
            DomainError::AlreadyExists { .. }
            | DomainError::Conflict { .. }
            | DomainError::AlreadyMerged { .. }
            | DomainError::DuplicateIdentity { .. }
            | DomainError::DuplicateIdentityOutOfScope
            | DomainError::MergedOutOfScope
            | DomainError::InvalidTransition { .. } => ApiError::Conflict(e.to_string()),
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            if let ApiError::LimitExceeded { limit, .. } = self {
                ext.set("limit", limit.as_str());
            }
            if let ApiError::Standing(problem) = self {
                ext.set("reason", problem.code());
            }
        })
    }
}

/// For resolvers: `result.map_err(gql)`. Returning `ApiError` itself from a resolver would
/// compile too (async-graphql converts anything `Display`) but would lose `extensions.code`.
pub fn gql(e: ApiError) -> async_graphql::Error {
    e.extend()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_never_returns_internal_text_to_clients() {
        let e = ApiError::Internal("disk /var/lib/crm is full".into());
        assert_eq!(e.public_message(), "internal error");
        let server = e.to_server_error();
        assert_eq!(server.message, "internal error");
        let json = serde_json::to_value(&server).unwrap_or_default();
        assert_eq!(json["extensions"]["code"], "INTERNAL");
    }

    #[test]
    fn it_maps_domain_refusals_to_stable_codes() {
        use crm_domain::auth::Right;
        let cases = [
            (
                DomainError::Forbidden {
                    missing_right: Right::ReadHistory,
                },
                "FORBIDDEN",
            ),
            (DomainError::NotFound { entity: "customer" }, "NOT_FOUND"),
            (DomainError::Conflict { reason: "x".into() }, "CONFLICT"),
            (
                DomainError::Validation {
                    field: "name",
                    reason: "empty".into(),
                },
                "VALIDATION",
            ),
        ];
        for (domain, code) in cases {
            assert_eq!(ApiError::from(domain).code().as_str(), code);
        }
    }

    #[test]
    fn it_maps_store_errors_by_who_caused_them() {
        assert_eq!(
            ApiError::from(StoreError::InvalidRead("limit".into())).code(),
            Code::Validation
        );
        assert_eq!(
            ApiError::from(StoreError::Corrupt {
                position: crm_eventstore::Position(3),
                reason: "x".into()
            })
            .code(),
            Code::Internal
        );
    }

    #[test]
    fn a_store_that_stopped_is_unavailable_and_says_a_resend_is_safe() {
        for e in [
            StoreError::Poisoned("fsync of /var/lib/crm/log/00000001.seg failed".into()),
            StoreError::Closed,
        ] {
            let e = ApiError::from(e);
            assert_eq!(e.code().as_str(), "UNAVAILABLE");
            let message = e.to_server_error().message;
            assert!(
                message.contains("may or may not have been recorded"),
                "{message}"
            );
            assert!(message.contains("same commandId"), "{message}");
            assert!(
                !message.contains("/var/lib"),
                "the cause stays in the log: {message}"
            );
        }
        // A refusal before anything was written keeps its code.
        assert_eq!(
            ApiError::from(StoreError::InvalidStreamName {
                name: "x".into(),
                reason: "y".into()
            })
            .code(),
            Code::Validation
        );
    }

    #[test]
    fn a_full_disk_is_storage_full_and_says_nothing_was_recorded() {
        let full = || StoreError::StorageFull {
            context: "segment 7 of /var/lib/crm/log".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        for e in [
            ApiError::from(full()),
            // As a command's failure reaches the API.
            ApiError::from(crm_app::AppError::Store(full())),
        ] {
            assert_eq!(e.code().as_str(), "STORAGE_FULL");
            let server = e.to_server_error();
            let json = serde_json::to_value(&server).unwrap_or_default();
            assert_eq!(json["extensions"]["code"], "STORAGE_FULL");
            let message = server.message;
            assert!(message.contains("not recorded"), "{message}");
            assert!(message.contains("retry later"), "{message}");
            assert!(
                !message.contains("/var/lib"),
                "the cause stays in the log: {message}"
            );
        }
    }
}
