//! Accounts, sessions and their tokens, and the throttle's counters.

use healthcare_domain::audit::AuditEvent;
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::tokens::RefreshTokenRecord;
use healthcare_domain::{NewUser, Timestamp, User, UserId};

use crate::{RepoError, ServiceError};

/// A user together with the hash of their password, for sign-in only.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// bcrypt hash of the password.
    pub password_hash: String,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Storage of user accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait UserRepository: Send + Sync {
    /// Stores a new user and returns it with its id. MUST return `Err(RepoError::Conflict)`
    /// when a user whose e-mail is equal ignoring case already exists.
    fn insert(&self, user: &NewUser) -> Result<User, RepoError>;

    /// The user with this id. MUST return `Ok(None)` for an unknown id.
    fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError>;

    /// What `find_by_id` would answer, when the repository holds it in memory (a cache's
    /// fresh read); `None` when only `find_by_id` can tell. MUST NOT block: the server asks
    /// it on its async workers, to authenticate a request without a blocking thread.
    fn find_by_id_in_memory(&self, _id: UserId) -> Option<User> {
        None
    }

    /// The user whose lower-cased e-mail equals `normalized_email`, with its password hash.
    /// MUST return `Ok(None)` when there is none.
    fn find_credentials_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<UserCredentials>, RepoError>;

    /// Every user, ordered by id.
    fn list(&self) -> Result<Vec<User>, RepoError>;

    /// Replaces the password hash and stores `audit` in the same transaction. MUST return
    /// `Ok(false)` and store nothing for an unknown id.
    fn update_password(
        &self,
        id: UserId,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError>;

    /// Sets whether the user is active and stores `audit` in the same transaction. MUST return
    /// `Ok(false)` and store nothing for an unknown id.
    fn set_active(&self, id: UserId, active: bool, audit: &AuditEvent) -> Result<bool, RepoError>;

    /// Sets whether the user is staff and stores `audit` in the same transaction. MUST return
    /// `Ok(false)` and store nothing for an unknown id.
    fn set_staff(&self, id: UserId, staff: bool, audit: &AuditEvent) -> Result<bool, RepoError>;

    /// Refuses the user's access tokens issued before `at` from now on (`User::
    /// tokens_valid_after`). MUST never move that time back, and MUST do nothing for an
    /// unknown id.
    fn refuse_tokens_issued_before(&self, id: UserId, at: Timestamp) -> Result<(), RepoError>;
}

/// Storage of issued refresh tokens, shared by every server instance.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RefreshTokenRepository: Send + Sync {
    /// Records a newly issued token.
    fn insert(&self, record: &RefreshTokenRecord) -> Result<(), RepoError>;

    /// The token with this `jti`. MUST return `Ok(None)` for an unknown one.
    fn find(&self, jti: &str) -> Result<Option<RefreshTokenRecord>, RepoError>;

    /// Atomically marks `spent_jti` spent and records `successor`, in one transaction. MUST
    /// return `Ok(false)` and record nothing when the token was already spent or revoked, so
    /// two concurrent redemptions of one token can never both succeed.
    fn rotate(
        &self,
        spent_jti: &str,
        successor: &RefreshTokenRecord,
        at: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Revokes every not yet revoked token of the family. Revoking again is harmless.
    fn revoke_family(&self, family_id: &str, at: Timestamp) -> Result<(), RepoError>;

    /// Revokes every not yet revoked token of the user.
    fn revoke_all_for_user(&self, user_id: UserId, at: Timestamp) -> Result<(), RepoError>;
}

/// Counters for throttling, shared by every server instance.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ThrottleRepository: Send + Sync {
    /// Records one failed login for `email_key` at `at`, and forgets every failure (of any
    /// e-mail) older than `forget_before`, so the table cannot grow without bound.
    fn record_login_failure(
        &self,
        email_key: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), RepoError>;

    /// How many failures `email_key` has since `since` (exclusive), and the oldest of them.
    /// MUST ignore older failures.
    fn login_failures_since(
        &self,
        email_key: &str,
        since: Timestamp,
    ) -> Result<(u32, Option<Timestamp>), RepoError>;

    /// Forgets every failure of `email_key` (after a successful login).
    fn clear_login_failures(&self, email_key: &str) -> Result<(), RepoError>;

    /// Counts one more hit in the bucket and returns its hits, this one included. MUST count
    /// every hit exactly once when several instances hit the same bucket at once.
    fn hit_rate_bucket(&self, bucket_key: &str, window_start: Timestamp) -> Result<u32, RepoError>;
}

/// The two kinds of token the API issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived token sent with every request.
    Access,
    /// Long-lived token exchanged for a new pair.
    Refresh,
}

/// The claims of a token that passed signature, algorithm and expiry checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// Access or refresh.
    pub kind: TokenKind,
    /// Whose token it is.
    pub user_id: UserId,
    /// How the session was signed in: the password, or the password and a second-factor code
    /// (JWT `amr`, RFC 8176: `["pwd"]` or `["pwd", "otp"]`; tokens without it: the password).
    pub factors: SignInFactors,
    /// The clinic the session acts in (`clinic`); `None` in tokens minted before clinics
    /// existed, which act in the user's personal clinic.
    pub clinic: Option<ClinicId>,
    /// Unique token id.
    pub jti: String,
    /// When it was issued (to the microsecond).
    pub issued_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
}

/// What a session proved when it was signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFactors {
    /// The password only.
    Password,
    /// The password, then a second-factor code.
    PasswordAndCode,
}

/// A signed token and its claims.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The encoded token.
    pub token: String,
    /// What it says.
    pub claims: TokenClaims,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Why a token failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenDecodeError {
    /// Valid, but of the other kind.
    WrongType,
    /// Malformed, forged, of another algorithm, or expired.
    Invalid,
}

/// Signing and checking tokens (JWT HS256 in production).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    /// Issues a token of `kind` for the user, for a session signed in with `factors` acting in
    /// `clinic`, valid from `now` for the configured lifetime.
    fn issue(
        &self,
        kind: TokenKind,
        user_id: UserId,
        factors: SignInFactors,
        clinic: ClinicId,
        now: Timestamp,
    ) -> Result<IssuedToken, ServiceError>;

    /// Checks signature, algorithm, expiry and kind. MUST refuse every algorithm but the
    /// configured one, and report a valid token of the other kind as `WrongType`.
    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError>;
}
