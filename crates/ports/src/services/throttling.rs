//! Throttling: failed logins per e-mail address and auth requests per client address, counted
//! in the database so that every instance enforces the same limits.

use std::sync::Arc;

use healthcare_domain::throttle::{AddressRateLimit, LoginThrottle, RetryAfter};

use crate::ServiceError;
use crate::ports::{Clock, ThrottleRepository};

/// The limits and where their counts live.
#[derive(Clone)]
pub struct Throttling {
    counters: Arc<dyn ThrottleRepository>,
    clock: Arc<dyn Clock>,
    login: LoginThrottle,
    per_address: AddressRateLimit,
}

fn throttled(RetryAfter(seconds): RetryAfter) -> ServiceError {
    ServiceError::Throttled(seconds)
}

impl Throttling {
    /// Limits over the given counters.
    pub fn new(
        counters: Arc<dyn ThrottleRepository>,
        clock: Arc<dyn Clock>,
        login: LoginThrottle,
        per_address: AddressRateLimit,
    ) -> Self {
        Self {
            counters,
            clock,
            login,
            per_address,
        }
    }

    /// Counts an auth request from `address`; refuses it past the per-minute limit.
    pub fn check_address(&self, address: &str) -> Result<(), ServiceError> {
        if !self.per_address.is_enabled() {
            return Ok(());
        }
        let now = self.clock.now();
        let window = AddressRateLimit::window_start(now);
        let hits = self
            .counters
            .hit_rate_bucket(&format!("auth:{address}"), window)?;
        self.per_address.check(hits, now).map_err(throttled)
    }

    /// Refuses a login for `email_key` while it has too many recent failures.
    pub(crate) fn check_login(&self, email_key: &str) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let (failures, oldest) = self
            .counters
            .login_failures_since(email_key, self.login.window_start(now))?;
        self.login.check(failures, oldest, now).map_err(throttled)
    }

    /// Counts a failed login.
    pub(crate) fn record_failure(&self, email_key: &str) -> Result<(), ServiceError> {
        Ok(self
            .counters
            .record_login_failure(email_key, self.clock.now())?)
    }

    /// A successful login resets the count.
    pub(crate) fn record_success(&self, email_key: &str) -> Result<(), ServiceError> {
        Ok(self.counters.clear_login_failures(email_key)?)
    }
}
