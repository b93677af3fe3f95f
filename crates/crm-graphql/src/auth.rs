//! JWT bearer tokens (HS256). The claims carry the domain [`Actor`]: the staff id as `sub`, the
//! role and the scope, plus `iat` and `exp`. A token whose scope does not fit its role is refused,
//! so a resolver can trust the actor it is handed.

use std::time::Duration;

use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::StaffId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{PreviousSecret, Secret};
use crate::error::ApiError;

/// Longest lifetime a minted token may have at all (`crm token --hours`); a server accepts
/// only tokens whose lifetime is within its own, shorter bound.
pub const TOKEN_TTL_MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// The lifetime a server accepts by default (`exp − iat`): a stolen token is good for a
/// working day at most.
pub const TOKEN_LIFETIME_DEFAULT: Duration = Duration::from_secs(12 * 3600);

/// Clock skew tolerated between the minting and the verifying machine, in seconds.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The staff id (simple UUID form).
    pub sub: StaffId,
    pub role: Role,
    pub scope: Scope,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch (optional; checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

impl Claims {
    pub fn actor(&self) -> Actor {
        Actor {
            staff_id: self.sub,
            role: self.role,
            scope: self.scope,
        }
    }
}

/// Signs tokens with the current secret; checks them with it, or during a rotation's grace
/// period with the previous secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The previous secret's key and the end of its grace period (seconds since the epoch).
    previous: Option<(DecodingKey, i64)>,
    /// The longest `exp − iat` accepted.
    lifetime_max: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &Secret) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            previous: None,
            lifetime_max: TOKEN_LIFETIME_DEFAULT,
        }
    }

    /// Also accepts tokens signed with `previous` (the secret before a rotation) until its
    /// instant; `None` accepts the current secret only.
    pub fn with_previous(mut self, previous: Option<&PreviousSecret>) -> Self {
        self.previous = previous.map(|p| {
            (
                DecodingKey::from_secret(p.secret.expose()),
                p.until.unix_timestamp(),
            )
        });
        self
    }

    /// Accepts only tokens whose lifetime (`exp − iat`) is at most `max`.
    pub fn with_lifetime_max(mut self, max: Duration) -> Self {
        self.lifetime_max = max;
        self
    }

    /// Mints a token for `actor`, valid from `issued_at` for `ttl` (at most [`TOKEN_TTL_MAX`]).
    /// The CLI's `crm token --role … --scope …` calls this for development tokens.
    pub fn mint(
        &self,
        actor: &Actor,
        issued_at: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, ApiError> {
        if !actor.scope.fits(actor.role) {
            return Err(ApiError::validation(
                "scope",
                format!("{:?} does not fit role {:?}", actor.scope, actor.role),
            ));
        }
        if ttl.is_zero() || ttl > TOKEN_TTL_MAX {
            return Err(ApiError::validation(
                "ttl",
                "must be positive and at most 30 days",
            ));
        }
        let iat = issued_at.unix_timestamp();
        // TOKEN_TTL_MAX bounds ttl, so the cast and the sum cannot overflow.
        let exp = iat.saturating_add(ttl.as_secs() as i64);
        let claims = Claims {
            sub: actor.staff_id,
            role: actor.role,
            scope: actor.scope,
            iat,
            exp,
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing a token: {e}")))
    }

    /// Checks signature, algorithm, expiry, that the token was not issued (or made valid) in
    /// the future, that its lifetime is within the bound, and that the scope fits the role.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        self.verify_claims(token).map(|claims| claims.actor())
    }

    /// [`TokenKeys::verify`], returning the token's claims: a WebSocket keeps them to check the
    /// token again at every operation ([`TokenKeys::still_valid`]).
    pub fn verify_claims(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let refused = |e: jsonwebtoken::errors::Error| {
            tracing::debug!(error = %e, "token refused");
            ApiError::Unauthenticated("invalid or expired token".into())
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => data.claims,
            // Not the current secret's signature: the previous secret's, during its grace
            // period. Its tokens lapse at the end of the grace period (a WebSocket too: `exp`
            // is brought forward to it).
            Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                let Some((previous, until)) = &self.previous else {
                    return Err(refused(e));
                };
                let mut claims = jsonwebtoken::decode::<Claims>(token, previous, &validation)
                    .map_err(refused)?
                    .claims;
                if now >= *until {
                    tracing::debug!("token signed with the previous secret after its grace period");
                    return Err(ApiError::Unauthenticated(
                        "the token is signed with the previous JWT secret, whose grace period \
                         has ended"
                            .into(),
                    ));
                }
                claims.exp = claims.exp.min(*until);
                claims
            }
            Err(e) => return Err(refused(e)),
        };
        let leeway = LEEWAY_SECS as i64;
        if claims.iat > now.saturating_add(leeway) {
            return Err(ApiError::Unauthenticated(
                "the token is issued in the future (iat)".into(),
            ));
        }
        let lifetime_max = i64::try_from(self.lifetime_max.as_secs()).unwrap_or(i64::MAX);
        if claims.exp.saturating_sub(claims.iat) > lifetime_max {
            return Err(ApiError::Unauthenticated(format!(
                "the token's lifetime (exp − iat) is longer than this server accepts ({} s)",
                lifetime_max
            )));
        }
        let actor = claims.actor();
        if !actor.scope.fits(actor.role) {
            return Err(ApiError::Unauthenticated(
                "the token's scope does not fit its role".into(),
            ));
        }
        Ok(claims)
    }

    /// Whether a token verified earlier is still good at `now` (seconds since the epoch): the
    /// check a long-lived connection repeats (every WebSocket operation, and when its expiry
    /// timer fires). Expiry allows the same clock skew as [`TokenKeys::verify`]. This is the
    /// one place where a revocation list is to be consulted (it answers [`Lapse::Revoked`]).
    pub fn still_valid(&self, claims: &Claims, now: i64) -> Result<(), Lapse> {
        if now > expires_at(claims) {
            return Err(Lapse::Expired);
        }
        Ok(())
    }

    /// [`TokenKeys::verify_claims`] of an `Authorization` header value (`Bearer <token>`).
    pub fn verify_header_claims(&self, value: &str) -> Result<Claims, ApiError> {
        let token = bearer(value).ok_or_else(|| {
            ApiError::Unauthenticated("the Authorization header must be 'Bearer <token>'".into())
        })?;
        self.verify_claims(token)
    }

    /// The actor of an `Authorization` header value (`Bearer <token>`).
    pub fn verify_header(&self, value: &str) -> Result<Actor, ApiError> {
        self.verify_header_claims(value)
            .map(|claims| claims.actor())
    }
}

/// The staff directory a token is checked against at every request (the read models' staff).
pub trait StaffDirectory: Send + Sync {
    /// Whether a token issued at `issued_at` (seconds) for `actor` still stands.
    fn check(&self, actor: &Actor, issued_at: i64)
        -> Result<(), crm_domain::auth::StandingProblem>;
}

/// Why a token verified earlier no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    /// `exp` (plus the clock skew allowance) has passed.
    Expired,
    /// The token was revoked. Nothing revokes tokens yet; the variant is where it will report.
    Revoked,
}

/// The last second (since the epoch) at which `claims` still verify: `exp` plus the clock skew
/// allowance.
pub fn expires_at(claims: &Claims) -> i64 {
    claims.exp.saturating_add(LEEWAY_SECS as i64)
}

/// The token of `Bearer <token>` (scheme case-insensitive, as RFC 7235 says).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Mints a development token: the one-call form for the CLI.
pub fn mint_dev_token(secret: &Secret, actor: &Actor, ttl: Duration) -> Result<String, ApiError> {
    TokenKeys::new(secret).mint(actor, OffsetDateTime::now_utc(), ttl)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use uuid::Uuid;

    fn keys() -> TokenKeys {
        TokenKeys::new(&Secret::new("0123456789abcdef0123456789abcdef"))
    }

    fn auditor() -> Actor {
        Actor {
            staff_id: StaffId::from_uuid(Uuid::from_u128(7)),
            role: Role::Auditor,
            scope: Scope::Company,
        }
    }

    #[test]
    fn it_round_trips_the_actor() {
        let token = keys()
            .mint(
                &auditor(),
                OffsetDateTime::now_utc(),
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(keys().verify(&token).unwrap(), auditor());
        assert_eq!(
            keys().verify_header(&format!("bearer {token}")).unwrap(),
            auditor()
        );
    }

    #[test]
    fn it_refuses_expired_foreign_and_malformed_tokens() {
        let old = OffsetDateTime::now_utc() - time::Duration::hours(2);
        let expired = keys()
            .mint(&auditor(), old, Duration::from_secs(60))
            .unwrap();
        assert!(keys().verify(&expired).is_err());
        let other = TokenKeys::new(&Secret::new("another secret of thirty-two bytes!!"))
            .mint(
                &auditor(),
                OffsetDateTime::now_utc(),
                Duration::from_secs(60),
            )
            .unwrap();
        assert!(keys().verify(&other).is_err());
        for bad in ["", "Bearer", "Basic abc", "Bearer not.a.jwt", "Bearer ..."] {
            assert!(keys().verify_header(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_verified_token_lapses_after_exp_and_the_skew_allowance() {
        let now = OffsetDateTime::now_utc();
        let token = keys()
            .mint(&auditor(), now, Duration::from_secs(60))
            .unwrap();
        let claims = keys().verify_claims(&token).unwrap();
        let exp = now.unix_timestamp() + 60;
        assert_eq!(claims.exp, exp);
        let leeway = LEEWAY_SECS as i64;
        assert_eq!(keys().still_valid(&claims, now.unix_timestamp()), Ok(()));
        assert_eq!(keys().still_valid(&claims, exp + leeway), Ok(()));
        assert_eq!(
            keys().still_valid(&claims, exp + leeway + 1),
            Err(Lapse::Expired)
        );
    }

    #[test]
    fn a_previous_secret_verifies_until_its_grace_period_ends_and_signs_nothing() {
        let old = Secret::new("the secret before the rotation, 32+ bytes");
        let now = OffsetDateTime::now_utc();
        let minted_before = TokenKeys::new(&old)
            .mint(&auditor(), now, Duration::from_secs(3600))
            .unwrap();
        let within = keys().with_previous(Some(&PreviousSecret {
            secret: old.clone(),
            until: now + time::Duration::minutes(10),
        }));
        let claims = within.verify_claims(&minted_before).unwrap();
        assert_eq!(claims.actor(), auditor());
        // A socket opened with it lapses at the end of the grace period, not at `exp`.
        assert_eq!(
            claims.exp,
            (now + time::Duration::minutes(10)).unix_timestamp()
        );
        // New tokens are signed with the current secret only.
        let fresh = within
            .mint(&auditor(), now, Duration::from_secs(60))
            .unwrap();
        assert!(TokenKeys::new(&old).verify(&fresh).is_err());
        assert!(keys().verify(&fresh).is_ok());
        let after = keys().with_previous(Some(&PreviousSecret {
            secret: old,
            until: now - time::Duration::seconds(1),
        }));
        assert!(matches!(
            after.verify(&minted_before),
            Err(ApiError::Unauthenticated(_))
        ));
        assert!(keys().with_previous(None).verify(&minted_before).is_err());
    }

    #[test]
    fn it_refuses_to_mint_a_scope_that_does_not_fit_the_role() {
        let mut actor = auditor();
        actor.role = Role::Headquarters;
        actor.scope = Scope::Branch {
            branch: crm_domain::ids::BranchId::from_uuid(Uuid::from_u128(1)),
        };
        assert!(keys()
            .mint(&actor, OffsetDateTime::now_utc(), Duration::from_secs(60))
            .is_err());
    }
}
