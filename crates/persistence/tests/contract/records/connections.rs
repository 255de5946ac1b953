//! The pool without a `SELECT 1` before every checkout: a connection that lost its server
//! costs one failed call and is then replaced; one that sat idle is checked first.

use diesel::RunQueryDsl;
use diesel::sql_types::Integer;
use healthcare_core::queueing::run_after_queueing;
use healthcare_persistence::connection::{SqliteCache, checkout, ping};

use super::*;

fn single_connection_pool(url: &str, revalidate_after_idle: Duration) -> DbPool {
    pool_of(url, 1, revalidate_after_idle)
}

fn pool_of(url: &str, max_size: u32, revalidate_after_idle: Duration) -> DbPool {
    pool_with_cache(url, max_size, revalidate_after_idle, SqliteCache::Standard)
}

fn pool_with_cache(
    url: &str,
    max_size: u32,
    revalidate_after_idle: Duration,
    sqlite_cache: SqliteCache,
) -> DbPool {
    let target = DatabaseTarget::parse(url).expect("valid url");
    build_pool(
        &target,
        &PoolSettings {
            max_size,
            checkout_timeout: Duration::from_secs(5),
            statements: StatementCounter::default(),
            audit_key: healthcare_domain::audit::ChainKey::new("contract suite audit key"),
            revalidate_after_idle,
            sqlite_cache,
        },
    )
    .expect("pool")
}

/// The server process behind `connection`.
fn backend_pid(connection: &mut healthcare_persistence::DbConnection) -> Result<i32, RepoError> {
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Backend>(connection)
        .map(|backend| backend.pid)
        .map_err(healthcare_persistence::errors::from_diesel)
}

/// The server process behind the connection the pool hands out next.
fn backend_of(pool: &DbPool) -> Result<i32, RepoError> {
    backend_pid(&mut *checkout(pool)?)
}

/// Ends the server process `pid`, as a restart or a network cut would, from another session.
fn terminate(url: &str, pid: i32) {
    let other = pool_for(url);
    let mut connection = checkout(&other).expect("another connection");
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
        .execute(&mut *connection)
        .expect("terminated");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let alive = diesel::sql_query(format!(
            "SELECT 1 AS pid FROM pg_stat_activity WHERE pid = {pid}"
        ))
        .execute(&mut *connection)
        .expect("asked");
        if alive == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{pid} still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// In steady use, nothing checks a connection before a call: the first call after the server
/// dropped it fails as "unavailable" (a 503, never a 500), and the connection is discarded, so
/// the next call gets a new one.
#[test]
fn on_postgres_a_connection_that_lost_its_server_fails_once_then_is_replaced() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    let pool = single_connection_pool(&url, Duration::from_secs(3600));
    let first = backend_of(&pool).expect("connected");
    terminate(&url, first);
    let failed = backend_of(&pool).expect_err("the connection is gone");
    assert!(matches!(failed, RepoError::Unavailable(_)), "{failed:?}");
    let second = backend_of(&pool).expect("a new connection");
    assert_ne!(first, second);
    assert_eq!(pool.state().connections, 1);
}

/// A database restart loses every pooled connection at once: the first one found lost fails
/// its call, and the pool then checks the others before handing them out, so the next call
/// succeeds.
#[test]
fn on_postgres_after_one_lost_connection_the_others_are_checked_before_use() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    let pool = pool_of(&url, 2, Duration::from_secs(3600));
    // Two connections at once, so the pool keeps both.
    let (mut first, mut second) = (checkout(&pool).expect("one"), checkout(&pool).expect("two"));
    let pids = [
        backend_pid(&mut first).expect("connected"),
        backend_pid(&mut second).expect("connected"),
    ];
    drop((first, second));
    for pid in pids {
        terminate(&url, pid);
    }
    let failed = backend_of(&pool).expect_err("the first connection taken is gone");
    assert!(matches!(failed, RepoError::Unavailable(_)), "{failed:?}");
    let replaced = backend_of(&pool).expect("the other one was checked and replaced");
    assert!(!pids.contains(&replaced), "{replaced} is new");
}

/// A connection that sat idle longer than the pool's limit is asked `SELECT 1` at checkout; a
/// lost one is replaced there, and the call succeeds.
#[test]
fn on_postgres_an_idle_connection_is_checked_before_it_is_handed_out() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    let pool = single_connection_pool(&url, Duration::ZERO);
    let first = backend_of(&pool).expect("connected");
    terminate(&url, first);
    let second = backend_of(&pool).expect("replaced at checkout");
    assert_ne!(first, second);
    ping(&pool).expect("answers");
}

/// In steady use a call costs its own statements only: no validation round trip.
#[test]
fn on_sqlite_a_call_runs_no_validation_statement() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    let statements = StatementCounter::default();
    let pool = counted_pool_for(&url, statements.clone());
    migrations::run_pending(&pool).expect("migrations");
    let patients = DieselPatientRepository::new(pool.clone());
    for _ in 0..3 {
        let before = statements.count();
        assert_eq!(patients.find(PatientId(1)), Ok(None));
        assert_eq!(
            statements.count() - before,
            1,
            "only the SELECT of the patient"
        );
    }
}

/// Each connection of a pool keeps the page cache the pool was built with: the audit trail's
/// small one, the requests' standard one (SQLite's default, set explicitly all the same).
#[test]
fn on_sqlite_each_pool_keeps_its_page_cache_size() {
    #[derive(diesel::QueryableByName)]
    struct CacheSize {
        #[diesel(sql_type = Integer)]
        cache_size: i32,
    }
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    for (cache, expected) in [(SqliteCache::Standard, -2_000), (SqliteCache::Small, -256)] {
        let pool = pool_with_cache(&url, 2, Duration::from_secs(60), cache);
        let mut connection = checkout(&pool).expect("a connection");
        let size = diesel::sql_query("PRAGMA cache_size")
            .get_result::<CacheSize>(&mut *connection)
            .expect("the cache size")
            .cache_size;
        assert_eq!(size, expected, "{cache:?}");
    }
}

/// A use case that already queued the whole checkout timeout for its thread takes a free
/// connection, or opens one, but waits for a busy one only a twentieth of the timeout: it is
/// "unavailable" (503) then, so in an outage the requests queued behind each other do not each
/// wait a full timeout.
fn a_checkout_after_a_long_queue_takes_a_free_connection_but_waits_for_none(url: &str) {
    let pool = single_connection_pool(url, Duration::from_secs(3600));
    let queued_too_long = Duration::from_secs(6); // the pool's timeout is 5 s
    let free = run_after_queueing(queued_too_long, || checkout(&pool).map(drop));
    assert!(free.is_ok(), "{free:?}");

    let held = checkout(&pool).expect("the only connection");
    let started = std::time::Instant::now();
    let busy = run_after_queueing(queued_too_long, || checkout(&pool).map(drop));
    assert!(matches!(busy, Err(RepoError::Unavailable(_))), "{busy:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Part of the timeout left: it waits that part, and gets the connection when it is freed.
    let waiter = std::thread::spawn({
        let pool = pool.clone();
        move || run_after_queueing(Duration::from_secs(1), || checkout(&pool).map(drop))
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let waited = waiter.join().expect("joins");
    assert!(waited.is_ok(), "{waited:?}");
}

#[test]
fn on_sqlite_a_checkout_after_a_long_queue_takes_a_free_connection_but_waits_for_none() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    a_checkout_after_a_long_queue_takes_a_free_connection_but_waits_for_none(&url);
}

#[test]
fn on_postgres_a_checkout_after_a_long_queue_takes_a_free_connection_but_waits_for_none() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    a_checkout_after_a_long_queue_takes_a_free_connection_but_waits_for_none(&url);
}
