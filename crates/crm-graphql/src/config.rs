//! The server's configuration. The binary fills it from a file and the environment; tests build
//! it in code. Every limit the edge enforces is named here, with its unit last.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::error::ApiError;

/// Shortest JWT secret accepted: HS256 with a short secret can be brute-forced offline from
/// any token.
pub const JWT_SECRET_LEN_MIN: usize = 32;

/// The HS256 secret. `Debug` never prints it, so a logged config leaks nothing.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A previous JWT secret after a rotation: tokens signed with it still verify until `until`,
/// so that tokens minted before the rotation keep working for a grace period; after it they are
/// refused (401). New tokens are always signed with the current secret.
#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub secret: Secret,
    /// The end of the grace period: from this instant on, the previous secret verifies nothing.
    pub until: time::OffsetDateTime,
}

/// What a single request may ask of the server. Each refusal is decided before any resolver runs.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body read, in bytes (POST `/graphql`).
    pub body_bytes_max: usize,
    /// Deepest selection nesting (async-graphql `limit_depth`).
    pub depth_max: usize,
    /// Highest complexity score (async-graphql `limit_complexity`; connections count `first`/`last`).
    pub complexity_max: usize,
    /// Deepest nesting of any kind (selections, lists, objects) in the document, checked on the
    /// raw text before the parser runs so that no input can exhaust the parser's stack.
    pub recursive_depth_max: usize,
    /// Most directives on one field (CVE-2024-47614).
    pub directives_per_field_max: usize,
    /// Most aliased fields in one document.
    pub aliases_max: usize,
    /// Most operations in one batched POST; 0 refuses batches altogether.
    pub batch_size_max: usize,
    /// Longest time one query or mutation may execute.
    pub execution_timeout: Duration,
    /// Largest page a connection returns (`first`/`last`).
    pub page_size_max: u32,
    /// How long a WebSocket may stay open without `connection_init`.
    pub ws_init_timeout: Duration,
    /// Most concurrent subscriptions on one WebSocket.
    pub ws_operations_max: usize,
    /// Most WebSockets open at once for one token subject (staff id), across the server; one
    /// more is closed at `connection_init` (4429).
    pub ws_sockets_per_subject_max: usize,
    /// Largest WebSocket message, in bytes.
    pub ws_message_bytes_max: usize,
    /// Replays of the whole log (`staffPerformance` and `branchDashboard` with `asOf`) running
    /// at once; one more is refused (LIMIT_EXCEEDED, limit `replays`), not queued.
    pub replays_concurrent_max: usize,
    /// Highest cost of the selection as executed, counted before any resolver runs: fragments
    /// expanded, each field occurrence its weight from [`crate::prepare::weights`] (1 for a
    /// resident read, more for disk, log, book and whole-log work) plus its sub-selection, the
    /// sub-selection of a paged field multiplied by its `first`/`last` (by `page_size_max` when
    /// not given or not a number), that of an unpaged list by its declared bound
    /// (LIMIT_EXCEEDED, limit `selectionCost`).
    pub selection_cost_max: u64,
    /// Most customers a campaign's launch freezes as its target list (`launchCampaign` of a
    /// campaign aimed at a saved segment); a segment selecting more is refused
    /// (`TooManyTargets`). At most `crm_domain::campaign::TARGETS_MAX` (100,000).
    pub campaign_targets_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes_max: 64 * 1024,
            depth_max: 12,
            complexity_max: 2_000,
            recursive_depth_max: 32,
            directives_per_field_max: 4,
            aliases_max: 30,
            batch_size_max: 0,
            execution_timeout: Duration::from_secs(30),
            page_size_max: 500,
            ws_init_timeout: Duration::from_secs(10),
            ws_operations_max: 32,
            ws_sockets_per_subject_max: 16,
            ws_message_bytes_max: 64 * 1024,
            replays_concurrent_max: 2,
            selection_cost_max: 50_000,
            campaign_targets_max: 20_000,
        }
    }
}

/// How `/readyz` decides.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// A projection further behind the log's head than this is not ready.
    pub projection_lag_events_max: u64,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            projection_lag_events_max: 1_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    pub jwt_secret: Secret,
    /// The secret before the last rotation, accepted for verifying tokens until its instant.
    pub jwt_secret_previous: Option<PreviousSecret>,
    pub limits: Limits,
    pub readiness: Readiness,
    /// Whether `__schema`/`__type` answer. Off in production: the schema is published as SDL.
    pub introspection: bool,
    /// Whether validation errors suggest field names ("Did you mean …?"), which leaks the schema.
    pub suggestions: bool,
    /// Whether `/graphiql` is served.
    pub graphiql: bool,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub shutdown_grace: Duration,
    /// Read-model jobs (rules previews, rebuilds): how many at once, how long results stay.
    pub jobs: crm_projections::JobLimits,
    /// The longest token lifetime (`exp − iat`) accepted.
    pub token_lifetime_max: Duration,
    /// Check every request's token against the staff directory (joined, not left, same role
    /// and scope, not revoked). On unless configured off; the API tests that mint ad-hoc staff
    /// turn it off.
    pub directory_check: bool,
    /// The demo's sign-ins (role, who, token) the console offers at `/console/demo-sign-in`;
    /// empty (no such path) unless the server runs with `--demo`.
    pub demo_sign_in: Vec<crate::console::DemoSignIn>,
}

impl Config {
    /// A configuration for development and tests: loopback, port 0, introspection and GraphiQL
    /// on, default limits.
    pub fn development(jwt_secret: Secret) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret,
            jwt_secret_previous: None,
            limits: Limits::default(),
            readiness: Readiness::default(),
            introspection: true,
            suggestions: true,
            graphiql: true,
            shutdown_grace: Duration::from_secs(30),
            jobs: crm_projections::JobLimits::default(),
            token_lifetime_max: crate::auth::TOKEN_LIFETIME_DEFAULT,
            directory_check: true,
            demo_sign_in: Vec::new(),
        }
    }

    /// Refuses settings that would make the server insecure or unable to serve.
    pub fn validate(&self) -> Result<(), ApiError> {
        let invalid = |reason: &str| Err(ApiError::Config(reason.to_string()));
        if self.jwt_secret.expose().len() < JWT_SECRET_LEN_MIN {
            return invalid("jwt_secret must be at least 32 bytes");
        }
        if self
            .jwt_secret_previous
            .as_ref()
            .is_some_and(|p| p.secret.expose().len() < JWT_SECRET_LEN_MIN)
        {
            return invalid("jwt_secret_previous must be at least 32 bytes");
        }
        if self.jobs.running_max == 0 {
            return invalid("jobs.running_max must be at least 1");
        }
        if self.token_lifetime_max < Duration::from_secs(60)
            || self.token_lifetime_max > crate::auth::TOKEN_TTL_MAX
        {
            return invalid("token_lifetime_max must be between one minute and 30 days");
        }
        let l = &self.limits;
        if l.body_bytes_max == 0 || l.depth_max == 0 || l.complexity_max == 0 {
            return invalid("body, depth and complexity limits must be positive");
        }
        if l.selection_cost_max == 0 {
            return invalid("limits.selection_cost_max must be positive");
        }
        if l.replays_concurrent_max == 0 {
            return invalid("limits.replays_concurrent_max must be at least 1");
        }
        if l.recursive_depth_max == 0 || l.ws_message_bytes_max == 0 {
            return invalid("recursive depth and WebSocket message limits must be positive");
        }
        if l.ws_sockets_per_subject_max == 0 {
            return invalid("limits.ws_sockets_per_subject_max must be at least 1");
        }
        if l.page_size_max == 0 {
            return invalid("page_size_max must be positive");
        }
        if l.campaign_targets_max == 0 || l.campaign_targets_max > crm_domain::campaign::TARGETS_MAX
        {
            return invalid(&format!(
                "limits.campaign_targets_max must be between 1 and {}",
                crm_domain::campaign::TARGETS_MAX
            ));
        }
        if l.execution_timeout.is_zero() || l.ws_init_timeout.is_zero() {
            return invalid("timeouts must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_previous_secret_shorter_than_the_minimum_is_a_configuration_error() {
        let mut config = Config::development(Secret::new("c".repeat(JWT_SECRET_LEN_MIN)));
        assert!(config.validate().is_ok());
        config.jwt_secret_previous = Some(PreviousSecret {
            secret: Secret::new("p".repeat(JWT_SECRET_LEN_MIN - 1)),
            until: time::OffsetDateTime::now_utc(),
        });
        assert!(matches!(config.validate(), Err(ApiError::Config(m)) if m.contains("previous")));
        config.jwt_secret_previous = Some(PreviousSecret {
            secret: Secret::new("p".repeat(JWT_SECRET_LEN_MIN)),
            until: time::OffsetDateTime::now_utc(),
        });
        assert!(config.validate().is_ok());
    }
}
