//! What the staff admin site needs: second factors, sessions, and the directory of every
//! owner's records.

use healthcare_domain::audit::AuditEvent;
use healthcare_domain::staff::TotpSecret;
use healthcare_domain::{Timestamp, User, UserId};

use crate::RepoError;
use crate::pagination::{Page, PageOf};

/// A staff user's TOTP second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    /// Whose.
    pub user_id: UserId,
    /// The shared secret.
    pub secret: TotpSecret,
    /// When enrolment was confirmed with a first code; `None` while enrolling.
    pub confirmed_at: Option<Timestamp>,
    /// The last accepted time step (replay protection); 0 before any.
    pub last_step: i64,
    /// While enrolling: the token hash of the sign-in that was shown the secret.
    pub enrolling_session: Option<String>,
}

/// Storage of staff users' second factors and recovery codes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecondFactorRepository: Send + Sync {
    /// The user's factor, confirmed or not. MUST return `Ok(None)` when there is none.
    fn find(&self, user: UserId) -> Result<Option<SecondFactor>, RepoError>;

    /// Stores an unconfirmed factor with `secret`, shown to the sign-in whose session token
    /// hash is `session`, replacing an unconfirmed one. MUST return `Ok(false)` and change
    /// nothing when the user has a confirmed factor.
    fn start_enrolment(
        &self,
        user: UserId,
        secret: &TotpSecret,
        session: &str,
        at: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Confirms the unconfirmed factor shown to `session` with its first accepted `step`,
    /// replaces the user's recovery codes by `recovery_code_hashes` and stores `audit`, in one
    /// transaction. MUST return `Ok(false)` and store nothing when there is no unconfirmed
    /// factor or it was shown to another sign-in.
    fn confirm_enrolment(
        &self,
        user: UserId,
        session: &str,
        step: i64,
        recovery_code_hashes: &[String],
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError>;

    /// Records `step` as the last accepted one if it is later than the stored one. MUST return
    /// `Ok(false)` and change nothing otherwise, atomically, so a code is accepted at most once
    /// even when two logins present it at the same time.
    fn accept_step(&self, user: UserId, step: i64) -> Result<bool, RepoError>;

    /// Marks the user's unused recovery code with this hash used. MUST return `Ok(false)` when
    /// none matches, atomically, so a code is used at most once.
    fn use_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        at: Timestamp,
    ) -> Result<bool, RepoError>;

    /// How many of the user's recovery codes are still unused.
    fn unused_recovery_codes(&self, user: UserId) -> Result<u32, RepoError>;

    /// Removes the factor and the recovery codes, ends every admin session of the user and
    /// stores `audit`, in one transaction. MUST return `Ok(false)` and store nothing when the
    /// user has no factor.
    fn reset(&self, user: UserId, audit: &AuditEvent) -> Result<bool, RepoError>;
}

/// A server-side admin session. The cookie carries a random token; only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// SHA-256 (hex) of the cookie's token.
    pub token_hash: String,
    /// Whose.
    pub user_id: UserId,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// Whether the second factor was checked (otherwise only the password was).
    pub second_factor_done: bool,
    /// When the session began.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_seen_at: Timestamp,
}

impl std::fmt::Debug for AdminSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSession")
            .field("user_id", &self.user_id)
            .field("second_factor_done", &self.second_factor_done)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

/// Storage of admin sessions, shared by every server instance.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AdminSessionRepository: Send + Sync {
    /// Stores a new session.
    fn insert(&self, session: &AdminSession) -> Result<(), RepoError>;

    /// The session with this token hash. MUST return `Ok(None)` for an unknown one.
    fn find(&self, token_hash: &str) -> Result<Option<AdminSession>, RepoError>;

    /// Sets the session's `last_seen_at`.
    fn touch(&self, token_hash: &str, at: Timestamp) -> Result<(), RepoError>;

    /// Ends one session. Ending an unknown one is harmless.
    fn delete(&self, token_hash: &str) -> Result<(), RepoError>;

    /// Ends every session of the user.
    fn delete_for_user(&self, user: UserId) -> Result<(), RepoError>;

    /// Ends every session last used before `before`, returning how many.
    fn delete_idle(&self, before: Timestamp) -> Result<u64, RepoError>;
}

/// Filters of the staff user list; every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Case-insensitive substring of the name or the e-mail (`%` and `_` literal).
    pub search: Option<String>,
    /// Only active, or only inactive, users.
    pub active: Option<bool>,
    /// Only staff, or only non-staff, users.
    pub staff: Option<bool>,
}

/// The user accounts, as staff administer them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait StaffDirectory: Send + Sync {
    /// One page of users matching `filter`, ordered by id; and the total. MUST cost two
    /// statements whatever the page size.
    fn users(&self, filter: &UserFilter, page: Page) -> Result<PageOf<User>, RepoError>;
}
