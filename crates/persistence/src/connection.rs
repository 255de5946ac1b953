//! One connection type over both databases, the URL that chooses between them, and the pool.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::query_dsl::methods::LoadQuery;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{
    Connection, ConnectionError, PgConnection, QueryResult, RunQueryDsl, SqliteConnection,
};
use healthcare_core::RepoError;
use healthcare_core::queueing;
use healthcare_domain::audit::ChainKey;

use crate::errors::{from_diesel, from_pool};

pub use multi::DbConnection;

mod multi {
    use diesel::{PgConnection, SqliteConnection};

    /// A connection to whichever database the URL named.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// PostgreSQL.
        Pg(PgConnection),
        /// An SQLite file.
        Sqlite(SqliteConnection),
    }
}

/// The backend type of [`DbConnection`], for boxed queries.
pub type DbBackend = <DbConnection as Connection>::Backend;

/// The pool every repository shares, with the key every audit row written through it is
/// signed with (see [`healthcare_domain::audit::RowSeal`]): whatever repository writes a row,
/// the row carries the server's MAC.
#[derive(Clone)]
pub struct DbPool {
    connections: r2d2::Pool<ConnectionManager>,
    audit_key: ChainKey,
    revalidate_after_idle: Duration,
}

impl DbPool {
    /// Open connections and idle ones.
    pub fn state(&self) -> r2d2::State {
        self.connections.state()
    }

    /// The key audit rows are signed with.
    pub(crate) fn audit_key(&self) -> &ChainKey {
        &self.audit_key
    }
}

impl std::fmt::Debug for DbPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbPool")
            .field("state", &self.connections.state())
            .finish_non_exhaustive()
    }
}

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Which database a `DATABASE_URL` names.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A PostgreSQL connection URL, passed to libpq as given.
    Postgres(String),
    /// The path of an SQLite file.
    Sqlite(PathBuf),
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A PostgreSQL URL may hold a password: never print it.
        match self {
            Self::Postgres(_) => f.write_str("Postgres(***)"),
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
}

/// Why a database URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    /// The scheme is none of the supported ones.
    #[error(
        "DATABASE_URL must start with sqlite://, postgres:// or postgresql:// (got {scheme:?})"
    )]
    UnsupportedScheme {
        /// What stood before `://`, or the start of the value when there is no scheme.
        scheme: String,
    },
    /// `sqlite://` with nothing after it.
    #[error("DATABASE_URL sqlite:// needs a file path, e.g. sqlite://data/healthcare.db")]
    MissingSqlitePath,
}

impl DatabaseTarget {
    /// Reads a `DATABASE_URL`: `postgres://` and `postgresql://` name PostgreSQL;
    /// `sqlite://PATH` a file relative to the working directory and `sqlite:///PATH` an
    /// absolute one. Anything else is refused: guessing would hide a typo.
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == "/" {
                return Err(DatabaseUrlError::MissingSqlitePath);
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let scheme = match url.split_once("://") {
            Some((scheme, _)) => scheme.to_owned(),
            None => url.chars().take(12).collect(),
        };
        Err(DatabaseUrlError::UnsupportedScheme { scheme })
    }

    /// A short description for logs, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Postgres(_) => "PostgreSQL".to_owned(),
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
        }
    }
}

/// Counts the SQL statements run on every connection of a pool: how tests prove that a list
/// costs a fixed number of statements whatever its page size. One relaxed atomic increment
/// per statement.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter {
    started: Arc<AtomicU64>,
    /// Only in tests ([`StatementCounter::recording_uncached`]): the statements that ran
    /// without a cached prepared statement, i.e. were parsed and planned again.
    uncached: Option<Arc<Mutex<Vec<String>>>>,
}

impl StatementCounter {
    /// Statements started so far.
    pub fn count(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// A counter that also records every statement run without a cached prepared statement
    /// (what Diesel cannot cache: raw SQL fragments, `UPDATE`s, `IN (…)` lists, multi-row
    /// inserts). For tests: it formats every statement's text.
    pub fn recording_uncached() -> Self {
        Self {
            started: Arc::default(),
            uncached: Some(Arc::default()),
        }
    }

    /// The statements recorded so far (empty unless [`StatementCounter::recording_uncached`]),
    /// and forgets them.
    pub fn take_uncached(&self) -> Vec<String> {
        self.uncached.as_ref().map_or_else(Vec::new, |log| {
            std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner))
        })
    }
}

/// How long a pooled connection may sit unused before its next checkout asks the database
/// whether it is still there ([`PoolSettings::revalidate_after_idle`] in production). A
/// connection in steady use is not checked: a lost one shows itself by its first failing
/// statement, and is then discarded (see [`ConnectionWatch`]).
pub const REVALIDATE_AFTER_IDLE: Duration = Duration::from_secs(30);

/// What the pool needs to know about one connection, seen through Diesel's instrumentation
/// (which every statement passes): when it last finished a statement, whether a statement
/// found the server gone, and whether another connection of the pool has found it gone since
/// this one last worked. It also counts the statements for [`StatementCounter`].
struct ConnectionWatch {
    statements: StatementCounter,
    last_finished: Instant,
    lost: bool,
    /// The pool's count of lost connections, and its value when this one last worked: a
    /// database restart loses every connection, so after the first loss the others are checked
    /// before use instead of each failing a request.
    pool_losses: Arc<AtomicU64>,
    losses_seen: u64,
    /// When the counter records uncached statements: the one running and the texts this
    /// connection has cached.
    running: Option<String>,
    cached: HashSet<String>,
}

impl ConnectionWatch {
    fn new(statements: StatementCounter, pool_losses: Arc<AtomicU64>) -> Self {
        Self {
            statements,
            last_finished: Instant::now(),
            lost: false,
            losses_seen: pool_losses.load(Ordering::Relaxed),
            pool_losses,
            running: None,
            cached: HashSet::new(),
        }
    }

    /// Records the statement that just finished if it was not a cached prepared statement.
    /// Transaction control (`BEGIN`, `COMMIT`…) is sent as simple text and planned by no one.
    fn record_if_uncached(&mut self) {
        const TRANSACTION_CONTROL: [&str; 5] =
            ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"];
        let (Some(log), Some(text)) = (&self.statements.uncached, self.running.take()) else {
            return;
        };
        let control = TRANSACTION_CONTROL
            .iter()
            .any(|keyword| text.starts_with(keyword));
        if !control && !self.cached.contains(&text) {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(text);
        }
    }

    fn of(connection: &mut DbConnection) -> Option<&mut Self> {
        connection.instrumentation().downcast_mut::<Self>()
    }

    /// Whether the connection should answer `SELECT 1` before it is handed out: it sat unused
    /// for `idle_limit`, or another connection of the pool lost the server since this one
    /// last worked.
    fn needs_check(&self, idle_limit: Duration) -> bool {
        self.last_finished.elapsed() >= idle_limit
            || self.losses_seen < self.pool_losses.load(Ordering::Relaxed)
    }
}

impl Instrumentation for ConnectionWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                self.statements.started.fetch_add(1, Ordering::Relaxed);
                if self.statements.uncached.is_some() {
                    let text = query.to_string();
                    // Diesel's debug form appends the bound values: the statement is before.
                    let statement = text.split(" -- binds: ").next().unwrap_or_default();
                    self.running = Some(statement.to_owned());
                }
            }
            InstrumentationEvent::CacheQuery { sql, .. } if self.statements.uncached.is_some() => {
                self.cached.insert(sql.to_owned());
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                self.record_if_uncached();
                self.last_finished = Instant::now();
                match error {
                    Some(error) if lost_the_server(error) => {
                        if !self.lost {
                            self.pool_losses.fetch_add(1, Ordering::Relaxed);
                        }
                        self.lost = true;
                    }
                    // The server answered: whatever was lost before, this connection works.
                    _ => self.losses_seen = self.pool_losses.load(Ordering::Relaxed),
                }
            }
            _ => {}
        }
    }
}

/// Whether a statement failed because the connection itself is gone (the server restarted or
/// dropped it), as opposed to the statement being refused.
fn lost_the_server(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => crate::errors::is_connection_loss(info.message()),
        _ => false,
    }
}

/// Opens connections to the database the URL named, keeping the real error.
#[derive(Debug)]
pub struct ConnectionManager {
    target: DatabaseTarget,
    sqlite_busy_timeout: Duration,
    sqlite_cache: SqliteCache,
    statements: StatementCounter,
    /// Connections of this pool that found the server gone ([`ConnectionWatch`]).
    losses: Arc<AtomicU64>,
}

impl ConnectionManager {
    fn establish(&self) -> Result<DbConnection, ConnectionError> {
        let mut connection = self.establish_uncounted()?;
        connection.set_instrumentation(ConnectionWatch::new(
            self.statements.clone(),
            Arc::clone(&self.losses),
        ));
        Ok(connection)
    }

    fn establish_uncounted(&self) -> Result<DbConnection, ConnectionError> {
        match &self.target {
            DatabaseTarget::Postgres(url) => {
                let mut connection = PgConnection::establish(url)?;
                // Plan each cached statement once, as SQLite does (SQLITE_ENABLE_QPSG): left to
                // choose, PostgreSQL plans a statement with a `LIMIT $n` (every page) anew on
                // every execution, its generic plan's cost estimate being above the custom
                // ones'. The plans are the same index scans either way.
                connection
                    .batch_execute("SET plan_cache_mode = force_generic_plan")
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Pg(connection))
            }
            DatabaseTarget::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    ConnectionError::BadConnection("the SQLite path is not valid UTF-8".into())
                })?;
                let mut connection = SqliteConnection::establish(path)?;
                connection
                    // The busy timeout first: switching to WAL takes a lock, and connections
                    // opened together would otherwise fail at once with "database is locked".
                    .batch_execute(&format!(
                        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                         PRAGMA cache_size = -{};",
                        self.sqlite_busy_timeout.as_millis(),
                        self.sqlite_cache.kib()
                    ))
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                // SQLite's own lower() folds ASCII only; searches must fold "É" as PostgreSQL
                // does (and as the stored `name_lower` columns are folded, in Rust).
                crate::search::lower_utils::register_impl(&mut connection, |text: String| {
                    text.to_lowercase()
                })
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(connection))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.establish()
    }

    fn is_valid(&self, connection: &mut DbConnection) -> Result<(), ConnectionError> {
        connection
            .batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// Asked whenever a connection returns to the pool: a connection that lost its server, or
    /// whose transaction could not be ended, is closed instead of being handed out again.
    fn has_broken(&self, connection: &mut DbConnection) -> bool {
        if ConnectionWatch::of(connection).is_some_and(|watch| watch.lost) {
            return true;
        }
        match connection {
            DbConnection::Pg(inner) => AnsiTransactionManager::is_broken_transaction_manager(inner),
            DbConnection::Sqlite(inner) => {
                AnsiTransactionManager::is_broken_transaction_manager(inner)
            }
        }
    }
}

/// Sends pool errors (failed connection attempts) to the log.
#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<ConnectionError> for TracingErrorHandler {
    fn handle_error(&self, error: ConnectionError) {
        tracing::warn!(%error, "database connection failed");
    }
}

/// Pool sizing and timeouts, and the audit rows' key.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most open connections.
    pub max_size: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub checkout_timeout: Duration,
    /// Counts every statement the pool's connections run.
    pub statements: StatementCounter,
    /// `AUDIT_HMAC_KEY`: every audit row written through the pool is signed with it.
    pub audit_key: ChainKey,
    /// A connection unused for longer is asked `SELECT 1` before it is handed out
    /// ([`REVALIDATE_AFTER_IDLE`]).
    pub revalidate_after_idle: Duration,
    /// How much of the database each SQLite connection keeps in memory.
    pub sqlite_cache: SqliteCache,
}

/// The page cache of each SQLite connection of a pool (PostgreSQL caches pages in the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteCache {
    /// SQLite's default, 2,000 KiB: the requests' pool, whose reads it serves.
    Standard,
    /// 256 KiB: the audit trail's pool, which appends rows and seals the newest ones, so the
    /// pages it last wrote are rarely read again; a full cache would only hold memory.
    Small,
}

impl SqliteCache {
    fn kib(self) -> u32 {
        match self {
            Self::Standard => 2_000,
            Self::Small => 256,
        }
    }
}

/// Builds the pool without connecting yet, creating the SQLite file's folder if needed, so a
/// server can start (and report "not ready") while the database is down.
pub fn build_pool(target: &DatabaseTarget, settings: &PoolSettings) -> Result<DbPool, RepoError> {
    if let DatabaseTarget::Sqlite(path) = target
        && let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(|error| {
            RepoError::Internal(format!("cannot create {}: {error}", folder.display()))
        })?;
    }
    let manager = ConnectionManager {
        target: target.clone(),
        sqlite_busy_timeout: Duration::from_secs(5),
        sqlite_cache: settings.sqlite_cache,
        statements: settings.statements.clone(),
        losses: Arc::default(),
    };
    Ok(DbPool {
        revalidate_after_idle: settings.revalidate_after_idle,
        connections: r2d2::Pool::builder()
            .max_size(settings.max_size)
            // Not a `SELECT 1` round trip before every use: `checkout` asks only connections
            // that sat idle or predate another's loss of the server, and a connection that lost
            // its server is discarded on return.
            .test_on_check_out(false)
            .min_idle(Some(0))
            .connection_timeout(settings.checkout_timeout)
            .error_handler(Box::new(TracingErrorHandler))
            .build_unchecked(manager),
        audit_key: settings.audit_key.clone(),
    })
}

/// Checks a connection out, mapping a timeout to "unavailable". A connection idle for longer
/// than the pool's `revalidate_after_idle`, or older than another connection's loss of the
/// server, is asked `SELECT 1` first (the database may have restarted meanwhile); one that
/// does not answer is discarded and the next one taken, so after an outage each stale
/// connection costs one round trip, not a failed request. The wait for a connection is the
/// pool's timeout less the time the request queued for threads ([`queueing::queued`]), and
/// at least a twentieth of the timeout.
pub fn checkout(pool: &DbPool) -> Result<PooledConnection, RepoError> {
    // Time the request spent queued for threads counts against its wait. When that was the
    // whole timeout, a free connection, or one opened in a moment, still will do; in an
    // outage that moment is all the request waits.
    let pool_timeout = pool.connections.connection_timeout();
    let timeout = pool_timeout
        .saturating_sub(queueing::queued())
        .max(pool_timeout / 20);
    // Every stale connection of a full pool, then one opened afresh.
    for _ in 0..=pool.connections.max_size() {
        let mut connection = pool.connections.get_timeout(timeout).map_err(from_pool)?;
        let suspect = ConnectionWatch::of(&mut connection)
            .is_none_or(|watch| watch.needs_check(pool.revalidate_after_idle));
        if !suspect || connection.batch_execute("SELECT 1").is_ok() {
            return Ok(connection);
        }
        // The failed `SELECT 1` marked it lost: dropping it closes it.
        tracing::info!("a pooled database connection no longer answered; replacing it");
    }
    Err(RepoError::Unavailable(
        "no pooled connection reached the database".to_owned(),
    ))
}

/// Whether the database answers a trivial query.
pub fn ping(pool: &DbPool) -> Result<(), RepoError> {
    checkout(pool)?
        .batch_execute("SELECT 1")
        .map_err(from_diesel)
}

/// Whether the database is SQLite built without the query planner stability guarantee
/// (`SQLITE_ENABLE_QPSG`, which `.cargo/config.toml` sets for the bundled SQLite). Such a build
/// prepares a cached statement again each time a value it was planned with is bound anew (a
/// `LIMIT ?`, an `is_active = ?` compared with a partial index's condition): nearly every page
/// and mapping view would be parsed and planned per request.
pub fn sqlite_replans_bound_statements(pool: &DbPool) -> Result<bool, RepoError> {
    match &mut *checkout(pool)? {
        DbConnection::Pg(_) => Ok(false),
        DbConnection::Sqlite(inner) => diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "NOT sqlite_compileoption_used('ENABLE_QPSG')",
        ))
        .get_result(inner)
        .map_err(from_diesel),
    }
}

/// Loads a statically typed query through the connection of its own database instead of
/// through [`DbConnection`], which (diesel's `MultiConnection`) writes a query's whole SQL
/// again on every execution to collect its binds, cached statement or not: about 7 % of the
/// CPU of a request for a page. The hot reads (a record, a page, the mapping view) load this
/// way, most through [`load_static_as`]; a boxed query (the filtered lists) cannot, being
/// built for the multi-database backend.
pub(crate) fn load_static<Q, U>(connection: &mut DbConnection, query: Q) -> QueryResult<Vec<U>>
where
    Q: for<'a> LoadQuery<'a, SqliteConnection, U> + for<'a> LoadQuery<'a, PgConnection, U>,
{
    match connection {
        DbConnection::Sqlite(inner) => query.load(inner),
        DbConnection::Pg(inner) => query.load(inner),
    }
}

/// [`load_static`], converting each row as it is read into a vector made for `capacity`
/// rows (a page's size): the decoded rows are not collected into a vector of their own first.
pub(crate) fn load_static_as<Q, U, T>(
    connection: &mut DbConnection,
    query: Q,
    capacity: usize,
    convert: impl FnMut(U) -> Result<T, RepoError>,
) -> Result<Vec<T>, RepoError>
where
    Q: for<'a> LoadQuery<'a, SqliteConnection, U> + for<'a> LoadQuery<'a, PgConnection, U>,
{
    match connection {
        DbConnection::Sqlite(inner) => convert_rows(
            query.load_iter(inner).map_err(from_diesel)?,
            capacity,
            convert,
        ),
        DbConnection::Pg(inner) => convert_rows(
            query.load_iter(inner).map_err(from_diesel)?,
            capacity,
            convert,
        ),
    }
}

/// Converts rows as they are read into a vector made for `capacity` rows.
pub(crate) fn convert_rows<U, T>(
    rows: impl Iterator<Item = QueryResult<U>>,
    capacity: usize,
    mut convert: impl FnMut(U) -> Result<T, RepoError>,
) -> Result<Vec<T>, RepoError> {
    let mut converted = Vec::with_capacity(capacity);
    for row in rows {
        converted.push(convert(row.map_err(from_diesel)?)?);
    }
    Ok(converted)
}

/// Runs `work` in a write transaction: `BEGIN IMMEDIATE` on SQLite, so a writer takes the
/// write lock up front (waiting on the busy timeout) instead of failing with "database is
/// locked" when a read transaction cannot upgrade; a plain `BEGIN` on PostgreSQL.
pub fn write_transaction<T>(
    connection: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, RepoError>,
) -> Result<T, RepoError> {
    match connection {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
        }
        DbConnection::Pg(inner) => AnsiTransactionManager::begin_transaction(inner),
    }
    .map_err(from_diesel)?;
    match work(connection) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(connection)
                .map_err(from_diesel)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(connection)
            {
                tracing::warn!(%rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_chooses_the_backend() {
        assert_eq!(
            DatabaseTarget::parse("postgres://u:p@localhost/db"),
            Ok(DatabaseTarget::Postgres(
                "postgres://u:p@localhost/db".into()
            ))
        );
        assert!(matches!(
            DatabaseTarget::parse("postgresql://localhost/db"),
            Ok(DatabaseTarget::Postgres(_))
        ));
        assert_eq!(
            DatabaseTarget::parse("sqlite://data/healthcare.db"),
            Ok(DatabaseTarget::Sqlite("data/healthcare.db".into()))
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:///var/lib/hc.db"),
            Ok(DatabaseTarget::Sqlite("/var/lib/hc.db".into()))
        );
    }

    #[test]
    fn anything_else_is_refused_with_a_clear_message() {
        assert_eq!(
            DatabaseTarget::parse("sqlite://"),
            Err(DatabaseUrlError::MissingSqlitePath)
        );
        let error = DatabaseTarget::parse("mysql://localhost/db").expect_err("refused");
        assert_eq!(
            error.to_string(),
            "DATABASE_URL must start with sqlite://, postgres:// or postgresql:// (got \"mysql\")"
        );
        assert!(DatabaseTarget::parse("host=localhost dbname=x").is_err());
        assert!(DatabaseTarget::parse("data/healthcare.db").is_err());
    }

    #[test]
    fn debug_output_hides_postgres_credentials() {
        let target = DatabaseTarget::parse("postgres://u:secret@h/db").expect("valid");
        assert!(!format!("{target:?}").contains("secret"));
    }
}
