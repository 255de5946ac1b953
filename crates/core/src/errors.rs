//! Errors adapters report to the core, and the errors use cases report to their callers.

use healthcare_domain::FieldErrors;

/// What a repository can report besides success.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RepoError {
    /// The database could not be reached in time (pool timeout, connection refused).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint rejected the write; the call site knows which one.
    #[error("unique constraint violated")]
    Conflict,
    /// Anything else; the message is for the log only.
    #[error("database error: {0}")]
    Internal(String),
}

/// A kind of record the API exposes, for "not found" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A patient record.
    Patient,
    /// A doctor record.
    Doctor,
    /// A patient–doctor assignment.
    PatientDoctorMapping,
    /// A user account (staff pages only).
    User,
    /// A clinic.
    Clinic,
    /// A member of a clinic.
    ClinicMember,
    /// A row of the audit trail.
    AuditEvent,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// An access token was presented where a refresh token was expected.
    WrongType,
    /// Malformed, forged, expired or unknown.
    InvalidOrExpired,
    /// Revoked or already spent.
    Blacklisted,
}

/// Every outcome of a use case other than success. The HTTP adapter maps each variant to a
/// status and body in one exhaustive match.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ServiceError {
    /// One or more fields are invalid.
    #[error("{0}")]
    Validation(FieldErrors),
    /// The record does not exist or is not the caller's.
    #[error("{0:?} not found")]
    NotFound(Resource),
    /// The record was deleted here (archived), and the caller saw it while it was live.
    #[error("{0:?} deleted")]
    Gone(Resource),
    /// The caller may see the record but not change it.
    #[error("permission denied")]
    Forbidden,
    /// Allowed only to a session that proved a second factor; this one used the password
    /// alone.
    #[error("second factor required")]
    SecondFactorRequired,
    /// Login failed: wrong password, unknown e-mail or inactive user (never says which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The access token is invalid, expired, of the wrong type, or its user is gone.
    #[error("invalid access token")]
    InvalidAccessToken,
    /// A refresh token was refused.
    #[error("refresh token refused: {0:?}")]
    RefreshToken(TokenProblem),
    /// Too many requests: retry after this many seconds.
    #[error("throttled for {0} s")]
    Throttled(u64),
    /// A break-glass grant asked for a patient the caller already sees.
    #[error("the caller already sees the patient")]
    AlreadyVisible,
    /// The record changed since the version the client based its write on.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The database is unreachable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the message is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RepoError> for ServiceError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::Unavailable(cause) => Self::Unavailable(cause),
            RepoError::Conflict => Self::Internal("unexpected unique violation".to_owned()),
            RepoError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<FieldErrors> for ServiceError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}
