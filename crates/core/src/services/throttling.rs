//! Throttling: failed logins per e-mail address and auth requests per client address, counted
//! in the database so that every instance enforces the same limits.

use std::sync::Arc;

use healthcare_domain::User;
use healthcare_domain::audit::RequestOrigin;
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

/// The client address sign-in attempts are counted under (the console has none).
pub(crate) fn attempt_address(origin: &RequestOrigin) -> &str {
    origin.client_address.as_deref().unwrap_or("console")
}

/// Logs a refused sign-in to a staff account as a security event: staff accounts are the
/// ones worth locking out, so operators must see it happen.
pub(crate) fn report_staff_lockout(user: &User, address: &str, error: &ServiceError) {
    if user.is_staff && matches!(error, ServiceError::Throttled(_)) {
        tracing::warn!(
            user_id = user.id.0,
            client_address = address,
            "security: sign-in to a staff account refused, too many failed attempts"
        );
    }
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

    /// Admits a sign-in attempt on `subject` (a normalized e-mail, or a second-factor key)
    /// from `address`, counting it as a failure until it succeeds, per account and address and
    /// per account (see [`LoginThrottle`]). An attempt meeting a full counter is refused
    /// without being counted, so a lock never extends itself; otherwise it is recorded first
    /// and judged after, so parallel attempts cannot all pass before any is counted.
    pub(crate) fn admit_login(&self, subject: &str, address: &str) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let window_start = self.login.window_start(now);
        let counters = self.login.counters(subject, address);
        for counter in &counters {
            let (attempts, oldest) = self
                .counters
                .login_failures_since(&counter.key, window_start)?;
            self.login
                .check_not_full(counter, attempts, oldest, now)
                .map_err(throttled)?;
        }
        for counter in &counters {
            self.counters
                .record_login_failure(&counter.key, now, window_start)?;
        }
        for counter in &counters {
            let (attempts, oldest) = self
                .counters
                .login_failures_since(&counter.key, window_start)?;
            self.login
                .check_attempt(counter, attempts, oldest, now)
                .map_err(throttled)?;
        }
        Ok(())
    }

    /// A successful attempt resets the account's count from this address, its own attempt
    /// included. The count from everywhere runs out with the window instead, so a guess spread
    /// over many addresses is not reset by the user signing in.
    pub(crate) fn record_success(&self, subject: &str, address: &str) -> Result<(), ServiceError> {
        let [from_address, _] = self.login.counters(subject, address);
        Ok(self.counters.clear_login_failures(&from_address.key)?)
    }
}
