//! Mapping Diesel and pool errors to the core's repository errors.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use healthcare_core::RepoError;

/// Database failures (everything but conflicts) since the process started, for metrics.
static DATABASE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// How many database failures this process has seen.
pub fn database_error_count() -> u64 {
    DATABASE_ERRORS.load(Ordering::Relaxed)
}

fn count_failure() {
    DATABASE_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// Converts a query error. A unique violation is a conflict whose meaning the call site
/// knows; a lost connection or a locked SQLite file is an outage, not a bug.
pub fn from_diesel(error: DieselError) -> RepoError {
    if !matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    ) {
        count_failure();
    }
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => RepoError::Conflict,
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
            RepoError::Unavailable(info.message().to_owned())
        }
        DieselError::DatabaseError(_, info) if is_outage(info.message()) => {
            RepoError::Unavailable(info.message().to_owned())
        }
        other => RepoError::Internal(other.to_string()),
    }
}

/// Converts a pool checkout failure (timeout, or the database refusing connections).
pub fn from_pool(error: r2d2::Error) -> RepoError {
    count_failure();
    RepoError::Unavailable(error.to_string())
}

fn is_outage(message: &str) -> bool {
    message.contains("database is locked") || is_connection_loss(message)
}

/// Whether a database error's message says the connection itself is gone.
pub(crate) fn is_connection_loss(message: &str) -> bool {
    const CONNECTION_LOST: [&str; 3] = [
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
    ];
    CONNECTION_LOST.iter().any(|known| message.contains(known))
}

/// A stored row that the domain refuses (edited by hand, or a bug): an internal error naming
/// the row and field, never the value (it may be patient data).
pub fn corrupt_row(table: &str, id: i64, field: &str) -> RepoError {
    RepoError::Internal(format!("{table} row {id} has an invalid {field}"))
}
