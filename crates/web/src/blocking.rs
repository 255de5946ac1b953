//! Blocking work (Diesel, bcrypt) runs on actix's blocking pool, never on an async worker.

use healthcare_core::ServiceError;

/// Runs `work` on the blocking pool; a task that could not run is an internal error.
pub async fn run_blocking<T, F>(work: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    match actix_web::web::block(work).await {
        Ok(result) => result,
        Err(error) => Err(ServiceError::Internal(format!(
            "blocking task failed: {error}"
        ))),
    }
}
