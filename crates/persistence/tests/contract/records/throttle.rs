//! Login failure counters and rate buckets.

use super::*;

contract!(
    login_failures_count_within_the_window_and_clear,
    rate_buckets_count_every_concurrent_hit_once,
);

use healthcare_core::ports::ThrottleRepository;

fn login_failures_count_within_the_window_and_clear(pool: &DbPool) {
    let counters = DieselThrottleRepository::new(pool.clone());
    for second in [1, 2, 3] {
        counters
            .record_login_failure("ann@example.com", at(second), at(0))
            .expect("recorded");
    }
    counters
        .record_login_failure("bob@example.com", at(4), at(0))
        .expect("recorded");
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(0)),
        Ok((3, Some(at(1))))
    );
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(1)),
        Ok((2, Some(at(2)))),
        "older ones ignored"
    );
    assert_eq!(
        counters.login_failures_since("nobody@example.com", at(0)),
        Ok((0, None))
    );
    // A later failure sweeps everything older than its window, whoever it belongs to.
    counters
        .record_login_failure("carol@example.com", at(10), at(2))
        .expect("recorded");
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(0)),
        Ok((2, Some(at(2)))),
        "the failure at 1 s was swept"
    );
    counters
        .clear_login_failures("ann@example.com")
        .expect("cleared");
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(0)),
        Ok((0, None))
    );
    assert_eq!(
        counters.login_failures_since("bob@example.com", at(0)),
        Ok((1, Some(at(4))))
    );
}

fn rate_buckets_count_every_concurrent_hit_once(pool: &DbPool) {
    let counters = DieselThrottleRepository::new(pool.clone());
    let mut seen: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let counters = counters.clone();
                scope.spawn(move || {
                    counters
                        .hit_rate_bucket("auth:10.0.0.1", at(0))
                        .expect("counted")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    seen.sort_unstable();
    assert_eq!(seen, (1..=12).collect::<Vec<u32>>());
    assert_eq!(
        counters.hit_rate_bucket("auth:10.0.0.1", at(30)),
        Ok(1),
        "a new window starts at 1"
    );
    assert_eq!(
        counters.hit_rate_bucket("auth:10.0.0.2", at(0)),
        Ok(1),
        "addresses count apart"
    );
}
