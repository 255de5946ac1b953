//! Throttling rules: failed logins per e-mail address, and requests per client address in a
//! fixed one-minute window. The counts live in the database (shared by every instance); the
//! rules that judge them live here.

use chrono::Duration;

use crate::Timestamp;

/// How long a throttled client must wait, in whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

fn retry_after(until: Timestamp, now: Timestamp) -> RetryAfter {
    let millis = (until - now).num_milliseconds().max(0);
    RetryAfter(u64::try_from((millis + 999) / 1000).unwrap_or(0).max(1))
}

/// Failed sign-ins are counted twice within `window`: per account and client address, and per
/// account from everywhere. Past `max_failures` from one address, that address is refused for
/// the account; past the higher `max_failures_per_email`, every address is. So a guesser
/// elsewhere cannot lock a user out, while a guess spread over many addresses stays bounded.
/// A refusal holds until the oldest counted failure leaves the window, even with the right
/// password, and whether or not an account exists. Attempts refused while a counter is full
/// are not counted, so hammering a locked account never extends the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures tolerated within the window for one account from one client address.
    pub max_failures: u32,
    /// Failures tolerated within the window for one account from every address together.
    pub max_failures_per_email: u32,
    /// How far back failures count.
    pub window: Duration,
}

/// One failure counter of a sign-in attempt, and its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCounter {
    /// The stored key.
    pub key: String,
    /// Failures tolerated within the window.
    pub limit: u32,
}

impl LoginThrottle {
    /// Where the window starts at `now`.
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        now - self.window
    }

    /// The counters an attempt on `subject` (a normalized e-mail, or a
    /// [`second_factor_key`]) from `address` is counted under. The per-address key starts
    /// with an upper-case letter, so no typed e-mail (stored lower-cased) can reach it.
    pub fn counters(&self, subject: &str, address: &str) -> [FailureCounter; 2] {
        [
            FailureCounter {
                key: format!("Attempts on {subject} from {address}"),
                limit: self.max_failures,
            },
            FailureCounter {
                key: subject.to_owned(),
                limit: self.max_failures_per_email,
            },
        ]
    }

    /// Before an attempt is counted: `Err` when `counter` is already full (`attempts`
    /// failures since the window's start, the first at `oldest`). Such an attempt is refused
    /// and not counted.
    pub fn check_not_full(
        &self,
        counter: &FailureCounter,
        attempts: u32,
        oldest: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), RetryAfter> {
        match oldest {
            Some(oldest) if attempts >= counter.limit => {
                Err(retry_after(oldest + self.window, now))
            }
            _ => Ok(()),
        }
    }

    /// After the attempt is counted (recorded before it is judged, so parallel attempts cannot
    /// all slip under the limit): `Err` once more than the limit are counted.
    pub fn check_attempt(
        &self,
        counter: &FailureCounter,
        attempts: u32,
        oldest: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), RetryAfter> {
        match oldest {
            Some(oldest) if attempts > counter.limit => Err(retry_after(oldest + self.window, now)),
            _ => Ok(()),
        }
    }
}

/// At most `per_minute` requests per client address in each fixed minute; 0 disables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRateLimit {
    /// Requests allowed per minute; 0 for no limit.
    pub per_minute: u32,
}

impl AddressRateLimit {
    /// Whether the limit is on.
    pub fn is_enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// The counter a client address is counted under: an IPv4 address by itself, an IPv6
    /// address by its /64 (one subscriber's network: counting single addresses would give
    /// every client billions of fresh counters).
    pub fn bucket_key(address: &str) -> String {
        match address.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => {
                let network = u128::from(v6) & !((1_u128 << 64) - 1);
                format!("auth:{}/64", std::net::Ipv6Addr::from(network))
            }
            Ok(std::net::IpAddr::V4(v4)) => format!("auth:{v4}"),
            Err(_) => format!("auth:{address}"),
        }
    }

    /// The start of the minute `now` falls in.
    pub fn window_start(now: Timestamp) -> Timestamp {
        let seconds = now.timestamp();
        chrono::DateTime::from_timestamp(seconds - seconds.rem_euclid(60), 0).unwrap_or(now)
    }

    /// `Err` when `hits` (this request included) exceed the limit for the window.
    pub fn check(&self, hits: u32, now: Timestamp) -> Result<(), RetryAfter> {
        if self.is_enabled() && hits > self.per_minute {
            Err(retry_after(
                Self::window_start(now) + Duration::seconds(60),
                now,
            ))
        } else {
            Ok(())
        }
    }
}

/// The failure counter of a user's second-factor codes. It shares the login counters, so its
/// key must never equal a typed e-mail: those are keyed lower-cased (`normalize_email`), and
/// this key has upper-case letters.
pub fn second_factor_key(user: crate::UserId) -> String {
    format!("Second factor of user {}", user.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(minute: u32, second: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, minute, second)
            .single()
            .expect("valid")
    }

    const THROTTLE: LoginThrottle = LoginThrottle {
        max_failures: 5,
        max_failures_per_email: 50,
        window: Duration::minutes(15),
    };

    #[test]
    fn login_throttle_counts_failures_in_the_window() {
        let [per_address, per_email] = THROTTLE.counters("ann@example.com", "203.0.113.9");
        assert_eq!(THROTTLE.window_start(at(20, 0)), at(5, 0));
        let judge =
            |counter, attempts| THROTTLE.check_attempt(counter, attempts, Some(at(0, 0)), at(1, 0));
        assert_eq!(judge(&per_address, 5), Ok(()), "the fifth is judged");
        assert_eq!(judge(&per_address, 6), Err(RetryAfter(14 * 60)));
        assert_eq!(judge(&per_email, 50), Ok(()));
        assert_eq!(judge(&per_email, 51), Err(RetryAfter(14 * 60)));
        assert_eq!(
            THROTTLE.check_attempt(&per_address, 1, Some(at(1, 0)), at(1, 0)),
            Ok(())
        );
    }

    #[test]
    fn a_full_counter_refuses_before_counting() {
        let [per_address, per_email] = THROTTLE.counters("ann@example.com", "203.0.113.9");
        let before = |counter, attempts| {
            THROTTLE.check_not_full(counter, attempts, Some(at(0, 0)), at(1, 0))
        };
        assert_eq!(before(&per_address, 4), Ok(()));
        assert_eq!(before(&per_address, 5), Err(RetryAfter(14 * 60)));
        assert_eq!(before(&per_email, 49), Ok(()));
        assert_eq!(before(&per_email, 50), Err(RetryAfter(14 * 60)));
        assert_eq!(
            THROTTLE.check_not_full(&per_address, 0, None, at(1, 0)),
            Ok(())
        );
    }

    #[test]
    fn each_address_has_its_own_counter_that_no_typed_email_reaches() {
        let [from_home, everywhere] = THROTTLE.counters("ann@example.com", "203.0.113.9");
        let [from_elsewhere, _] = THROTTLE.counters("ann@example.com", "198.51.100.7");
        assert_ne!(from_home.key, from_elsewhere.key);
        assert_eq!(everywhere.key, "ann@example.com");
        assert_ne!(crate::user::normalize_email(&from_home.key), from_home.key);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            AddressRateLimit::bucket_key("203.0.113.9"),
            "auth:203.0.113.9"
        );
        assert_eq!(
            AddressRateLimit::bucket_key("2001:db8:1:2:aaaa::1"),
            "auth:2001:db8:1:2::/64"
        );
        assert_eq!(
            AddressRateLimit::bucket_key("2001:db8:1:2:ffff::9"),
            AddressRateLimit::bucket_key("2001:db8:1:2::1")
        );
        assert_ne!(
            AddressRateLimit::bucket_key("2001:db8:1:3::1"),
            AddressRateLimit::bucket_key("2001:db8:1:2::1")
        );
    }

    #[test]
    fn address_limit_uses_fixed_minutes_and_can_be_off() {
        let limit = AddressRateLimit { per_minute: 60 };
        assert_eq!(AddressRateLimit::window_start(at(3, 42)), at(3, 0));
        assert_eq!(limit.check(60, at(3, 42)), Ok(()));
        assert_eq!(limit.check(61, at(3, 42)), Err(RetryAfter(18)));
        assert_eq!(
            AddressRateLimit { per_minute: 0 }.check(10_000, at(3, 42)),
            Ok(())
        );
    }

    #[test]
    fn second_factor_counters_cannot_be_reached_by_typing_an_email() {
        let key = second_factor_key(crate::UserId(1));
        assert_ne!(crate::user::normalize_email(&key), key);
        assert_ne!(second_factor_key(crate::UserId(2)), key);
    }
}
