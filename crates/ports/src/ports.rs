//! The traits the core needs. Each method's documentation states what an adapter MUST do;
//! the persistence contract tests check exactly those sentences on both databases.

use std::collections::BTreeSet;

use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainKey, RowSealsFrom, Seal,
};
use healthcare_domain::doctor::{Doctor, DoctorDetails, DoctorId};
use healthcare_domain::mapping::{Mapping, MappingId};
use healthcare_domain::password::AcceptedPassword;
use healthcare_domain::patient::{Patient, PatientDetails, PatientId};
use healthcare_domain::staff::TotpSecret;
use healthcare_domain::tokens::RefreshTokenRecord;
use healthcare_domain::{NewUser, Timestamp, User, UserId};

use crate::pagination::{Page, PageOf};
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
    /// How the session was signed in: the password, or the password and a second-factor code
    /// (JWT `amr`, RFC 8176: `["pwd"]` or `["pwd", "otp"]`; tokens without it: the password).
    pub factors: SignInFactors,
    /// Unique token id.
    pub jti: String,
    /// When it was issued (to the millisecond).
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
    /// Issues a token of `kind` for the user, for a session signed in with `factors`, valid
    /// from `now` for the configured lifetime.
    fn issue(
        &self,
        kind: TokenKind,
        user_id: UserId,
        factors: SignInFactors,
        now: Timestamp,
    ) -> Result<IssuedToken, ServiceError>;

    /// Checks signature, algorithm, expiry and kind. MUST refuse every algorithm but the
    /// configured one, and report a valid token of the other kind as `WrongType`.
    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError>;
}

/// Storage of patients.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PatientRepository: Send + Sync {
    /// The patient with this id, archived or not (the service applies the visibility rule).
    /// MUST return `Ok(None)` for an unknown id.
    fn find(&self, id: PatientId) -> Result<Option<Patient>, RepoError>;

    /// One page of the owner's non-archived patients, newest first (ties broken by id, newest
    /// first), optionally only those whose name contains `search` ignoring case, where `%`
    /// and `_` match literally; and the total count. MUST cost two statements whatever the
    /// page size.
    #[expect(
        clippy::needless_lifetimes,
        reason = "mockall cannot mock an elided lifetime in Option<&str>"
    )]
    fn list<'a>(
        &self,
        owner: UserId,
        search: Option<&'a str>,
        page: Page,
    ) -> Result<PageOf<Patient>, RepoError>;

    /// Stores a new patient (version 1) and returns it. Stores `audit` in the same
    /// transaction, with the new patient's id as its `resource_id` and `patient_id`.
    fn insert(
        &self,
        owner: UserId,
        details: &PatientDetails,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Patient, RepoError>;

    /// Replaces the details and increments the version, only if the version is still
    /// `expected_version` and the patient is not archived, storing `audit` in the same
    /// transaction. MUST return `Ok(None)` and store nothing otherwise.
    fn update(
        &self,
        id: PatientId,
        details: &PatientDetails,
        expected_version: i64,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Patient>, RepoError>;

    /// Archives the patient, deactivates its active mappings and stores `audit`, in one
    /// transaction. MUST return `Ok(false)` and store nothing when it was already archived.
    fn archive(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError>;

    /// Un-archives the patient and stores `audit`, in one transaction; its mappings stay
    /// inactive. MUST return `Ok(false)` and store nothing when it was not archived.
    fn restore(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError>;
}

/// A doctor and how many active mappings to non-archived patients it has (all users').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorWithCount {
    /// The doctor.
    pub doctor: Doctor,
    /// Active mappings to non-archived patients.
    pub patient_count: i64,
}

/// Filters of the doctor list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorFilter {
    /// Case-insensitive substring of the specialization (`%` and `_` literal).
    pub specialization: Option<String>,
    /// Only available, or only unavailable, doctors.
    pub available: Option<bool>,
}

/// Storage of doctors.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait DoctorRepository: Send + Sync {
    /// The doctor with this id and its patient count, archived or not. MUST return `Ok(None)`
    /// for an unknown id.
    fn find(&self, id: DoctorId) -> Result<Option<DoctorWithCount>, RepoError>;

    /// One page of non-archived doctors matching `filter`, ordered by name then id, each with
    /// its patient count computed in the same statement; and the total count. MUST cost two
    /// statements whatever the page size.
    fn list(&self, filter: &DoctorFilter, page: Page)
    -> Result<PageOf<DoctorWithCount>, RepoError>;

    /// Stores a new doctor (version 1).
    fn insert(
        &self,
        created_by: UserId,
        details: &DoctorDetails,
        at: Timestamp,
    ) -> Result<DoctorWithCount, RepoError>;

    /// Replaces the details and increments the version, only if the version is still
    /// `expected_version` and the doctor is not archived. MUST return `Ok(None)` and change
    /// nothing otherwise.
    fn update(
        &self,
        id: DoctorId,
        details: &DoctorDetails,
        expected_version: i64,
        at: Timestamp,
    ) -> Result<Option<DoctorWithCount>, RepoError>;

    /// Archives the doctor, deactivates its active mappings and stores, in the same
    /// transaction, one copy of `audit` per ended mapping with that mapping's id as
    /// `resource_id` and its patient as `patient_id` (the action and outcome as given:
    /// `mapping.remove`). MUST return `Ok(false)` and change and store nothing when the doctor
    /// is unknown or already archived.
    fn archive(&self, id: DoctorId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError>;
}

/// A mapping with the names the API shows beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingView {
    /// The mapping.
    pub mapping: Mapping,
    /// The patient's name.
    pub patient_name: String,
    /// The doctor's name.
    pub doctor_name: String,
    /// The doctor's specialization.
    pub doctor_specialization: String,
}

/// Filters of the mapping list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingFilter {
    /// Only this patient's mappings.
    pub patient: Option<PatientId>,
    /// Only this doctor's mappings.
    pub doctor: Option<DoctorId>,
}

/// Storage of patient–doctor mappings.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait MappingRepository: Send + Sync {
    /// The mapping with this id, active or not. MUST return `Ok(None)` for an unknown id.
    fn find(&self, id: MappingId) -> Result<Option<Mapping>, RepoError>;

    /// One page of the active mappings of the owner's non-archived patients, newest first
    /// (ties by id), matching `filter`; and the total. MUST cost two statements whatever the
    /// page size.
    fn list(
        &self,
        owner: UserId,
        filter: MappingFilter,
        page: Page,
    ) -> Result<PageOf<MappingView>, RepoError>;

    /// The patient's active mappings, oldest first, each with its doctor and the doctor's
    /// patient count, in one statement.
    fn active_for_patient(
        &self,
        patient: PatientId,
    ) -> Result<Vec<(Mapping, DoctorWithCount)>, RepoError>;

    /// Whether the pair has an active mapping.
    fn has_active(&self, patient: PatientId, doctor: DoctorId) -> Result<bool, RepoError>;

    /// Stores a new active mapping, and `audit` in the same transaction with the new
    /// mapping's id as its `resource_id`. MUST return `Err(RepoError::Conflict)` and store
    /// nothing when the pair already has an active one (the partial unique index decides
    /// races). MUST return `Ok(None)` and store nothing when, in that same transaction, the
    /// patient is archived or the doctor archived or unavailable, with both rows locked
    /// against a concurrent archive until it commits: a mapping never outlives the archiving
    /// of its patient or doctor, whichever commits first.
    fn insert(
        &self,
        patient: PatientId,
        doctor: DoctorId,
        assigned_by: UserId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError>;

    /// Replaces the notes of an active mapping, storing `audit` in the same transaction. MUST
    /// return `Ok(None)` and store nothing for an unknown or inactive one.
    fn update_notes(
        &self,
        id: MappingId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError>;

    /// Deactivates an active mapping, storing `audit` in the same transaction. MUST return
    /// `Ok(false)` and store nothing when it was not active, so a mapping is removed at most
    /// once even under concurrent requests.
    fn deactivate(
        &self,
        id: MappingId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError>;
}

/// Filters of the audit trail; every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Rows about this patient.
    pub patient: Option<PatientId>,
    /// Rows whose actor is this user.
    pub actor: Option<UserId>,
    /// Rows of this action.
    pub action: Option<AuditAction>,
    /// Rows with this outcome.
    pub outcome: Option<AuditOutcome>,
    /// Rows at or after this time.
    pub since: Option<Timestamp>,
    /// Rows at or before this time.
    pub until: Option<Timestamp>,
}

/// What one sealing round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRound {
    /// Rows sealed in this round.
    pub sealed: usize,
    /// The last sealed row of the chain after the round (none while the chain is empty).
    pub head: Option<Seal>,
    /// Rows found this round without the server's row MAC (written by someone without the
    /// key): left unsealed, by id.
    pub refused: Vec<i64>,
}

/// Unsealed rows waiting for the sealer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingSeal {
    /// How many.
    pub rows: u64,
    /// When the oldest of them happened.
    pub oldest: Option<Timestamp>,
}

/// Storage of the audit trail: append-only; nothing here deletes or changes a recorded event.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AuditRepository: Send + Sync {
    /// Stores the events, unsealed, in one transaction. Every row MUST carry its row MAC
    /// (`ChainKey::seal_row` with `AUDIT_HMAC_KEY` and a fresh random nonce), as MUST every
    /// row the other repositories store with a change.
    fn append(&self, events: &[AuditEvent]) -> Result<(), RepoError>;

    /// Seals up to `limit` unsealed rows, oldest id first, continuing the chain with the next
    /// sequence numbers. MUST hold a lock that serialises sealers of every instance, so the
    /// sequence has neither gaps nor duplicates.
    /// Only rows that [`RowSealsFrom::is_authentic`] admits are sealed; the others MUST be
    /// left unsealed and reported in [`SealRound::refused`]. Rows in `refused_before` (ids
    /// refused by earlier rounds) MUST be passed over without stalling the rounds.
    fn seal_pending(
        &self,
        key: &ChainKey,
        limit: u32,
        refused_before: &BTreeSet<i64>,
    ) -> Result<SealRound, RepoError>;

    /// Which rows must carry a row MAC, as the migration that introduced them recorded.
    fn row_seals_from(&self) -> Result<RowSealsFrom, RepoError>;

    /// Up to `limit` unsealed rows with an id above `after_id`, ascending.
    fn unsealed_after(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRecord>, RepoError>;

    /// Up to `limit` sealed rows with a sequence number above `after_seq`, ascending.
    fn sealed_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, RepoError>;

    /// The rows the sealer has not reached yet.
    fn pending_seal(&self) -> Result<PendingSeal, RepoError>;

    /// One page of rows matching `filter`, newest first (ties by id, newest first), and the
    /// total. MUST cost two statements whatever the page size.
    fn list(&self, filter: &AuditFilter, page: Page) -> Result<PageOf<AuditRecord>, RepoError>;
}

/// Where services record events that change nothing (reads, refusals, sign-ins). Rows for
/// changes are stored by the repositories, inside the change's own transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AuditTrail: Send + Sync {
    /// Records the event. MAY return before it is stored, to batch writes off the request
    /// path; an implementation that does MUST store it within a second. MUST NOT drop it:
    /// when the event cannot be taken (a full queue that does not drain in time, a stopped
    /// writer), it returns `Unavailable`, and the use case answers with that error instead of
    /// its result, so no request is answered without its row.
    fn record(&self, event: AuditEvent) -> Result<(), ServiceError>;
}

/// Secure random bytes (the operating system's generator in production).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RandomSource: Send + Sync {
    /// Fills `buffer` with unpredictable bytes.
    fn fill(&self, buffer: &mut [u8]) -> Result<(), ServiceError>;
}

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

/// Filters of the staff patient list (every owner's); every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientFilter {
    /// Case-insensitive substring of the name (`%` and `_` literal).
    pub search: Option<String>,
    /// Only this owner's patients.
    pub owner: Option<UserId>,
    /// Only archived, or only non-archived, patients.
    pub archived: Option<bool>,
}

/// Filters of the staff doctor list; every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorSearch {
    /// Case-insensitive substring of the name or specialization (`%` and `_` literal).
    pub search: Option<String>,
    /// Only archived, or only non-archived, doctors.
    pub archived: Option<bool>,
}

/// Filters of the staff mapping list (every owner's); every one given must match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingSearch {
    /// Only this patient's mappings.
    pub patient: Option<PatientId>,
    /// Only this doctor's mappings.
    pub doctor: Option<DoctorId>,
    /// Only active, or only ended, mappings.
    pub active: Option<bool>,
}

/// The records as staff see them: every owner's, archived ones included.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait StaffDirectory: Send + Sync {
    /// One page of users matching `filter`, ordered by id; and the total. MUST cost two
    /// statements whatever the page size.
    fn users(&self, filter: &UserFilter, page: Page) -> Result<PageOf<User>, RepoError>;

    /// One page of patients matching `filter`, newest first (ties by id, newest first); and
    /// the total. MUST cost two statements whatever the page size.
    fn patients(&self, filter: &PatientFilter, page: Page) -> Result<PageOf<Patient>, RepoError>;

    /// One page of doctors matching `filter`, ordered by name then id, each with its patient
    /// count; and the total. MUST cost two statements whatever the page size.
    fn doctors(
        &self,
        filter: &DoctorSearch,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, RepoError>;

    /// One page of mappings matching `filter`, active or not, of every owner, newest first
    /// (ties by id); and the total. MUST cost two statements whatever the page size.
    fn mappings(
        &self,
        filter: &MappingSearch,
        page: Page,
    ) -> Result<PageOf<MappingView>, RepoError>;

    /// Un-archives the doctor; its mappings stay inactive. MUST return `Ok(false)` when it
    /// was not archived.
    fn restore_doctor(&self, id: DoctorId, at: Timestamp) -> Result<bool, RepoError>;
}
