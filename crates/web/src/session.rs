//! The session behind a request's access token, for the adapters that take one (the JSON API
//! and FHIR).

use healthcare_core::ServiceError;
use healthcare_core::services::{AuthService, Authenticated};

use crate::blocking::run_blocking;

/// The session behind `token`, checked by the `AuthService` that `auth_of` finds in `state`.
///
/// Nearly every caller's account and membership are in the server's short-lived caches: they
/// are checked here, on the async worker, which spares the request a hand-off to a blocking
/// thread and back (two thread switches, a large share of a short request's CPU:
/// docs/BENCHMARKS.md). The others are read from the database on a blocking thread.
pub async fn authenticate<S: Send + 'static>(
    state: S,
    auth_of: fn(&S) -> &AuthService,
    token: String,
) -> Result<Authenticated, ServiceError> {
    if let Some(answer) = auth_of(&state).authenticate_in_memory(&token) {
        return answer;
    }
    run_blocking(move || auth_of(&state).authenticate(&token)).await
}
