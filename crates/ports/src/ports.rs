//! The traits the core needs. Each method's documentation states what an adapter MUST do;
//! the persistence contract tests check exactly those sentences on both databases.

use healthcare_domain::password::AcceptedPassword;
use healthcare_domain::tokens::RefreshTokenRecord;
use healthcare_domain::{NewUser, Timestamp, User, UserId};

use crate::{RepoError, ServiceError};

/// The current time. Services never read the system clock themselves.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, truncated to whole microseconds (what both databases can store).
    fn now(&self) -> Timestamp;
}

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

    /// The user whose lower-cased e-mail equals `normalized_email`, with its password hash.
    /// MUST return `Ok(None)` when there is none.
    fn find_credentials_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<UserCredentials>, RepoError>;

    /// Every user, ordered by id.
    fn list(&self) -> Result<Vec<User>, RepoError>;

    /// Sets whether the user is active. MUST return `Ok(false)` for an unknown id.
    fn set_active(&self, id: UserId, active: bool) -> Result<bool, RepoError>;
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

/// Password hashing (bcrypt in production). Calls block for the whole hashing time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PasswordHasher: Send + Sync {
    /// Hashes an accepted password.
    fn hash(&self, password: &AcceptedPassword) -> Result<String, ServiceError>;

    /// Whether `password` matches `hash`. A password the hash function cannot take (over 72
    /// bytes) or a malformed hash MUST give `false`, never a truncated comparison.
    fn verify(&self, password: &str, hash: &str) -> bool;

    /// Costs what a `verify` against a real hash costs, and matches nothing: used when no
    /// account matches, so the response time does not reveal whether an account exists.
    fn verify_dummy(&self, password: &str);
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
    /// Unique token id.
    pub jti: String,
    /// Expiry.
    pub expires_at: Timestamp,
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
    /// Issues a token of `kind` for the user, valid from `now` for the configured lifetime.
    fn issue(
        &self,
        kind: TokenKind,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<IssuedToken, ServiceError>;

    /// Checks signature, algorithm, expiry and kind. MUST refuse every algorithm but the
    /// configured one, and report a valid token of the other kind as `WrongType`.
    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError>;
}
