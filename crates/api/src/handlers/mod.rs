//! Request handlers, one module per area. Each extracts, converts, runs the use case on the
//! blocking pool and maps the result.

pub mod audit;
pub mod auth;
pub mod clinics;
pub mod doctors;
pub mod fallback;
pub mod health;
pub mod mappings;
pub mod patients;
pub mod root;

use healthcare_core::ServiceError;

use crate::errors::ApiError;

/// Runs blocking work (Diesel, bcrypt) on the blocking pool, never on an async worker.
pub async fn run_blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    Ok(healthcare_web::run_blocking(work).await?)
}

/// Runs a use case that hashes or checks a password on the password pool, so sign-ins never
/// hold the threads other requests need.
pub async fn run_password_work<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    Ok(healthcare_web::run_password_work(work).await?)
}

/// An RFC 3339 UTC timestamp with microseconds and a `Z`.
pub fn timestamp(at: healthcare_domain::Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
