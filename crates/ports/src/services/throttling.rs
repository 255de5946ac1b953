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
            .hit_rate_bucket(&AddressRateLimit::bucket_key(address), window)?;
        self.per_address.check(hits, now).map_err(throttled)
    }

    /// Records a login attempt for `email_key` as unsuccessful until it succeeds, then refuses
    /// it when too many are counted. Recording first means parallel attempts cannot all pass
    /// the check before any of them is counted.
    pub(crate) fn admit_login(&self, email_key: &str) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let window_start = self.login.window_start(now);
        self.counters
            .record_login_failure(email_key, now, window_start)?;
        let (attempts, oldest) = self
            .counters
            .login_failures_since(email_key, window_start)?;
        self.login
            .check_attempt(attempts, oldest, now)
            .map_err(throttled)
    }

    /// A successful login resets the count, its own attempt included.
    pub(crate) fn record_success(&self, email_key: &str) -> Result<(), ServiceError> {
        Ok(self.counters.clear_login_failures(email_key)?)
    }
}
