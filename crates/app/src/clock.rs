//! The system clock.

use chrono::SubsecRound;
use healthcare_domain::Timestamp;
use healthcare_ports::ports::Clock;

/// The system clock, truncated to the microseconds both databases store.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now().trunc_subsecs(6)
    }
}
