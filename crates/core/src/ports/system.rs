//! Time, randomness and password hashing.

use healthcare_domain::Timestamp;
use healthcare_domain::password::AcceptedPassword;

use crate::ServiceError;

/// The current time. Services never read the system clock themselves.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, truncated to whole microseconds (what both databases can store).
    fn now(&self) -> Timestamp;
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

/// Secure random bytes (the operating system's generator in production).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RandomSource: Send + Sync {
    /// Fills `buffer` with unpredictable bytes.
    fn fill(&self, buffer: &mut [u8]) -> Result<(), ServiceError>;
}
