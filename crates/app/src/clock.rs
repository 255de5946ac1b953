//! The system clock.

use chrono::SubsecRound;
use healthcare_core::ports::Clock;
use healthcare_domain::Timestamp;

/// The system clock, truncated to the microseconds both databases store.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now().trunc_subsecs(6)
    }
}
