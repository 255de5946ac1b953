//! Blocking work (Diesel, bcrypt) runs on pools of blocking threads, never on an async worker.
//!
//! Use cases run on the worker's blocking pool, which the server bounds to about one thread per
//! pooled database connection: more threads would only queue on the connection pool's lock,
//! each one more thread to wake and put to sleep (docs/BENCHMARKS.md). Use cases that hash or
//! check a password (bcrypt: a quarter of a second of CPU at cost 12) run on a small pool of
//! their own instead, so a burst of sign-ins queues behind itself and never holds the threads
//! every other request needs.
//!
//! The time a request's use cases queue on the first pool is added up (they run one after
//! another) and taken off each of its waits for a database connection
//! ([`healthcare_core::queueing`]). A wait for a password thread is a wait for CPU, not for the
//! database, and is not counted.

use std::cell::Cell;
use std::future::Future;
use std::num::NonZero;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use healthcare_core::ServiceError;
use healthcare_core::queueing::run_after_queueing;

tokio::task_local! {
    /// How long the request being handled has queued for request threads so far.
    static REQUEST_QUEUED: Cell<Duration>;
}

/// Handles one request (`handling`), adding up the time its use cases queue for threads: in a
/// request that runs two (the token check, when the caller is not in the caches, then its own),
/// the second one's wait for a connection is shortened by what the first queued too.
pub async fn tallying_queue_waits<F: Future>(handling: F) -> F::Output {
    REQUEST_QUEUED
        .scope(Cell::new(Duration::ZERO), handling)
        .await
}

/// `work` wrapped to run knowing how long its request has queued so far, returning how long it
/// queued itself.
fn queued_work<T>(work: impl FnOnce() -> T) -> impl FnOnce() -> (Duration, T) {
    let earlier = REQUEST_QUEUED.try_with(Cell::get).unwrap_or_default();
    let submitted = Instant::now();
    move || {
        let queued = submitted.elapsed();
        (queued, run_after_queueing(earlier + queued, work))
    }
}

/// Adds `queued` to the request's tally (outside a request, nothing to add to).
fn tally(queued: Duration) {
    let _ = REQUEST_QUEUED.try_with(|so_far| so_far.set(so_far.get() + queued));
}

/// Runs `work` on the blocking pool; a task that could not run is an internal error.
pub async fn run_blocking<T, F>(work: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    match actix_web::web::block(queued_work(work)).await {
        Ok((queued, result)) => {
            tally(queued);
            result
        }
        Err(error) => Err(ServiceError::Internal(format!(
            "blocking task failed: {error}"
        ))),
    }
}

/// Runs `work`, a use case that hashes or checks a password, on the password pool: one thread
/// per CPU (the hasher itself lets half of them hash at once; the others meanwhile do their use
/// case's database work).
pub async fn run_password_work<T, F>(work: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let pool = PASSWORD_POOL.as_ref().map_err(|error| {
        ServiceError::Internal(format!("the password pool could not be built: {error}"))
    })?;
    let earlier = REQUEST_QUEUED.try_with(Cell::get).unwrap_or_default();
    match pool
        .spawn_blocking(move || run_after_queueing(earlier, work))
        .await
    {
        Ok(result) => result,
        Err(error) => Err(ServiceError::Internal(format!(
            "password task failed: {error}"
        ))),
    }
}

/// The password pool's threads, started on first use and ended after 10 s idle (tokio's
/// blocking pool). The runtime itself never runs a task: nothing drives it, and nothing needs
/// to, since blocking tasks run on their own threads and wake whoever awaits them.
static PASSWORD_POOL: LazyLock<Result<tokio::runtime::Runtime, String>> = LazyLock::new(|| {
    let threads = std::thread::available_parallelism().map_or(2, NonZero::get);
    tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(threads)
        .thread_name("password-work")
        .build()
        .map_err(|error| error.to_string())
});

#[cfg(test)]
mod tests {
    use healthcare_core::queueing::queued;

    use super::*;

    #[actix_web::test]
    async fn password_work_runs_off_the_async_worker_and_returns_its_result() {
        let worker = std::thread::current().id();
        let ran_on = run_password_work(|| Ok(std::thread::current().id()))
            .await
            .expect("ran");
        assert_ne!(ran_on, worker);
        let refused: Result<(), _> =
            run_password_work(|| Err(ServiceError::Internal("no".to_owned()))).await;
        assert!(matches!(refused, Err(ServiceError::Internal(_))));
    }

    #[actix_web::test]
    async fn a_panicking_use_case_is_an_internal_error_on_either_pool() {
        let on_blocking: Result<(), _> = run_blocking(|| panic!("the use case failed")).await;
        assert!(matches!(on_blocking, Err(ServiceError::Internal(_))));
        let on_password: Result<(), _> = run_password_work(|| panic!("the use case failed")).await;
        assert!(matches!(on_password, Err(ServiceError::Internal(_))));
    }

    #[actix_web::test]
    async fn a_request_adds_up_the_waits_of_its_use_cases() {
        let request = tallying_queue_waits(async {
            // As if its first use case had queued 300 ms for a thread.
            tally(Duration::from_millis(300));
            let second = run_blocking(|| Ok(queued())).await.expect("ran");
            let on_password_pool = run_password_work(|| Ok(queued())).await.expect("ran");
            (second, on_password_pool)
        });
        let (second, on_password_pool) = request.await;
        assert!(second >= Duration::from_millis(300), "{second:?}");
        // The password pool passes the request's wait on, without its own.
        assert!(
            on_password_pool >= second,
            "{on_password_pool:?} < {second:?}"
        );
        // Another request starts from nothing; work outside a request knows only its own wait.
        let fresh = tallying_queue_waits(run_blocking(|| Ok(queued())))
            .await
            .expect("ran");
        assert!(fresh < Duration::from_millis(300), "{fresh:?}");
        let outside = run_password_work(|| Ok(queued())).await.expect("ran");
        assert_eq!(outside, Duration::ZERO);
    }
}
