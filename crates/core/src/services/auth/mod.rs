//! Accounts (`accounts`: registration, passwords, rights) and sessions (`sessions`: sign-in,
//! token rotation, sign-out; `second_factor`: the API's second-factor step).

use std::sync::Arc;

use healthcare_domain::clinic::{ClinicId, Membership};
use healthcare_domain::{FieldErrors, Timestamp, User, UserId};

use crate::ServiceError;
use crate::ports::{
    AdminSessionRepository, AuditTrail, ClinicRepository, Clock, PasswordHasher,
    RefreshTokenRepository, SecondFactorRepository, SignInFactors, TokenClaims, TokenCodec,
    TokenKind, UserRepository,
};
use crate::services::throttling::Throttling;

mod accounts;
mod second_factor;
mod sessions;
#[cfg(test)]
mod tests;

/// A login request. A `None` field was already reported by the transport in `shape_errors`.
#[derive(Default)]
pub struct LoginInput {
    /// E-mail address, any case.
    pub email: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// The clinic to act in; `None`: the personal clinic.
    pub clinic: Option<i64>,
    /// Errors found while reading the request.
    pub shape_errors: FieldErrors,
}

/// A password change. A `None` field was already reported by the transport in `shape_errors`.
#[derive(Default)]
pub struct PasswordChangeInput {
    /// The current password.
    pub old_password: Option<String>,
    /// The new password.
    pub new_password: Option<String>,
    /// Errors found while reading the request.
    pub shape_errors: FieldErrors,
}

/// An access token and a refresh token issued together.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// Short-lived token for API calls.
    pub access: String,
    /// Token to obtain the next pair.
    pub refresh: String,
}

impl std::fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionTokens(***)")
    }
}

/// Who an access token speaks for, checked now, how that session signed in, and the clinic
/// it acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The account, active.
    pub user: User,
    /// The password alone, or the password and a second-factor code.
    pub factors: SignInFactors,
    /// The user's membership of the token's clinic, as it stands now.
    pub membership: Membership,
}

/// Accounts and sessions.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    clinics: Arc<dyn ClinicRepository>,
    refresh_tokens: Arc<dyn RefreshTokenRepository>,
    admin_sessions: Arc<dyn AdminSessionRepository>,
    factors: Arc<dyn SecondFactorRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenCodec>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
    throttling: Throttling,
}

/// The ports [`AuthService`] needs.
#[derive(Clone)]
pub struct AuthPorts {
    /// Accounts. Every request reads its caller's account here: the server passes a cache
    /// that trusts a read for a few seconds (the persistence adapter's `CachedUserRepository`).
    pub users: Arc<dyn UserRepository>,
    /// Memberships, read on every request like accounts: the server passes a cache too
    /// (the persistence adapter's `CachedClinicRepository`).
    pub clinics: Arc<dyn ClinicRepository>,
    /// API sessions.
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    /// Admin site sessions, ended with the API's when credentials or rights change.
    pub admin_sessions: Arc<dyn AdminSessionRepository>,
    /// Second factors, for the API's second-factor step.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Token signing.
    pub tokens: Arc<dyn TokenCodec>,
    /// Sign-ins and account changes.
    pub trail: Arc<dyn AuditTrail>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl AuthService {
    /// Wires the service to its ports.
    pub fn new(ports: AuthPorts, throttling: Throttling) -> Self {
        Self {
            users: ports.users,
            clinics: ports.clinics,
            refresh_tokens: ports.refresh_tokens,
            admin_sessions: ports.admin_sessions,
            factors: ports.factors,
            hasher: ports.hasher,
            tokens: ports.tokens,
            trail: ports.trail,
            clock: ports.clock,
            throttling,
        }
    }

    /// Ends every session of the user, API and admin site alike: refresh tokens revoked,
    /// access tokens refused, admin sessions deleted. Runs after the change that calls for it
    /// is committed with its audit row: a failure here is not a second row.
    fn sign_out_everywhere(&self, user: UserId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        self.refresh_tokens.revoke_all_for_user(user, now)?;
        self.refuse_access_tokens(user, now)?;
        Ok(self.admin_sessions.delete_for_user(user)?)
    }

    /// Refuses the user's access tokens issued before `now` (at once on this instance, within
    /// the account cache's period on the others: see the user repository's cache).
    fn refuse_access_tokens(&self, user: UserId, now: Timestamp) -> Result<(), ServiceError> {
        Ok(self.users.refuse_tokens_issued_before(user, now)?)
    }

    /// The user an access token belongs to, if the token is valid, the user still exists and
    /// is active, the token was not issued before their last sign-out, password change or
    /// theft, and the user is still a member of the token's clinic (their personal clinic for
    /// a token without one). (The server reads accounts and memberships through short-lived
    /// caches: see `AuthPorts`.)
    pub fn authenticate(&self, access_token: &str) -> Result<Authenticated, ServiceError> {
        let claims = self.access_claims(access_token)?;
        let user = accepted_account(self.users.find_by_id(claims.user_id)?, &claims)?;
        let membership = self
            .membership_in(user.id, claims.clinic)?
            .ok_or(ServiceError::InvalidAccessToken)?;
        Ok(Authenticated {
            user,
            factors: claims.factors,
            membership,
        })
    }

    /// [`Self::authenticate`]'s answer when it needs no read of the store: the token is
    /// invalid, the account held in memory refuses it, or the caller's account and membership
    /// are both held in memory ([`UserRepository::find_by_id_in_memory`],
    /// [`ClinicRepository::membership_in_memory`]). `None`: only `authenticate` can tell. Never blocks, so a server may call it where it
    /// must not wait (an async worker) and save most requests a trip to a blocking thread.
    pub fn authenticate_in_memory(
        &self,
        access_token: &str,
    ) -> Option<Result<Authenticated, ServiceError>> {
        let claims = match self.access_claims(access_token) {
            Ok(claims) => claims,
            Err(refused) => return Some(Err(refused)),
        };
        let found = self.users.find_by_id_in_memory(claims.user_id)?;
        let user = match accepted_account(Some(found), &claims) {
            Ok(user) => user,
            Err(refused) => return Some(Err(refused)),
        };
        let membership = self.clinics.membership_in_memory(user.id, claims.clinic)?;
        Some(Ok(Authenticated {
            user,
            factors: claims.factors,
            membership,
        }))
    }

    /// The claims of a valid access token.
    fn access_claims(&self, access_token: &str) -> Result<TokenClaims, ServiceError> {
        self.tokens
            .decode(access_token, TokenKind::Access)
            .map_err(|_| ServiceError::InvalidAccessToken)
    }

    /// `user`'s membership of `clinic`, or of their personal clinic for `None`.
    fn membership_in(
        &self,
        user: UserId,
        clinic: Option<ClinicId>,
    ) -> Result<Option<Membership>, ServiceError> {
        Ok(match clinic {
            Some(clinic) => self.clinics.membership(clinic, user)?,
            None => self.clinics.personal_membership(user)?,
        })
    }
}

/// The account a token's `claims` speak for, if it was `found`, is active and accepts tokens
/// issued when this one was.
fn accepted_account(found: Option<User>, claims: &TokenClaims) -> Result<User, ServiceError> {
    found
        .filter(|user| user.is_active && user.accepts_token_issued_at(claims.issued_at))
        .ok_or(ServiceError::InvalidAccessToken)
}
