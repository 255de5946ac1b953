//! How long the request whose use case runs on this thread has queued for threads.
//!
//! The inbound adapters run use cases on a bounded pool of blocking threads (about one per
//! pooled database connection), so under load a request may wait there before it runs. That
//! wait is part of its wait for a database connection (`DATABASE_POOL_TIMEOUT_SECONDS`): the
//! persistence adapter takes it off the checkout's timeout, so in an outage the queued
//! requests answer 503 about one timeout after they arrived, not one timeout after another.

use std::cell::Cell;
use std::time::Duration;

thread_local! {
    static QUEUED: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Runs `work` on this thread, recording that it waited `queued` to start; the record ends
/// with `work`, even when it panics (the one before it, if any, applies again).
pub fn run_after_queueing<T>(queued: Duration, work: impl FnOnce() -> T) -> T {
    struct Restore(Duration);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUEUED.set(self.0);
        }
    }
    let _restore = Restore(QUEUED.replace(queued));
    work()
}

/// How long the work running on this thread waited to start: zero outside
/// [`run_after_queueing`] (background work, tests).
pub fn queued() -> Duration {
    QUEUED.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_known_while_the_work_runs_and_only_then() {
        assert_eq!(queued(), Duration::ZERO);
        let seen = run_after_queueing(Duration::from_millis(1500), queued);
        assert_eq!(seen, Duration::from_millis(1500));
        assert_eq!(queued(), Duration::ZERO);
    }

    #[test]
    fn a_panicking_work_does_not_leave_its_wait_to_the_next_one() {
        let panicked = std::panic::catch_unwind(|| {
            run_after_queueing(Duration::from_secs(3), || panic!("the use case failed"))
        });
        assert!(panicked.is_err());
        assert_eq!(queued(), Duration::ZERO);
    }

    #[test]
    fn a_nested_record_gives_way_to_the_outer_one_when_it_ends() {
        run_after_queueing(Duration::from_secs(1), || {
            run_after_queueing(Duration::from_secs(2), || {
                assert_eq!(queued(), Duration::from_secs(2));
            });
            assert_eq!(queued(), Duration::from_secs(1));
        });
        assert_eq!(queued(), Duration::ZERO);
    }

    #[test]
    fn each_thread_has_its_own_wait() {
        run_after_queueing(Duration::from_secs(2), || {
            let other = std::thread::spawn(queued).join().expect("joins");
            assert_eq!(other, Duration::ZERO);
            assert_eq!(queued(), Duration::from_secs(2));
        });
    }
}
