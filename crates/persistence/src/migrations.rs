//! Embedded migrations, one folder per dialect, applied under a lock so that servers
//! starting at the same moment never race.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use healthcare_core::RepoError;

use crate::connection::{DbConnection, DbPool, checkout};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Arbitrary key of the PostgreSQL advisory lock held while migrating.
const MIGRATION_LOCK_KEY: i64 = 0x6865_616c_7468;

fn migration_error(error: impl std::fmt::Display) -> RepoError {
    RepoError::Internal(format!("migration failed: {error}"))
}

/// Applies every pending migration, then fills in what the application computes for rows
/// written before (the folded names), and returns the versions it applied, oldest first.
pub fn run_pending(pool: &DbPool) -> Result<Vec<String>, RepoError> {
    let applied = apply_pending(pool)?;
    crate::folded_names::fill_in(pool)?;
    Ok(applied)
}

/// Folds again every name whose folded form is missing or stale (renamed by a previous
/// release during a rolling upgrade); returns how many rows changed. Reads every name.
pub fn refold_names(pool: &DbPool) -> Result<u64, RepoError> {
    crate::folded_names::refold_stale(pool)
}

fn apply_pending(pool: &DbPool) -> Result<Vec<String>, RepoError> {
    let mut connection = checkout(pool)?;
    match &mut *connection {
        DbConnection::Pg(inner) => {
            inner
                .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .map_err(migration_error)?;
            let applied = inner
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(versions);
            inner
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .map_err(migration_error)?;
            applied.map_err(migration_error)
        }
        // SQLite serialises writers itself; each migration runs in its own transaction.
        DbConnection::Sqlite(inner) => inner
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(versions)
            .map_err(migration_error),
    }
}

/// Applies the pending migrations up to and including `last_version` (a migration folder's
/// date part, e.g. `2026-11-26-000007`), leaving the database as an older release left it:
/// for upgrade tests, which then write that release's data and apply the rest.
pub fn run_up_to(pool: &DbPool, last_version: &str) -> Result<(), RepoError> {
    let last: String = last_version.chars().filter(|c| *c != '-').collect();
    let mut connection = checkout(pool)?;
    match &mut *connection {
        DbConnection::Pg(inner) => apply_up_to(inner, POSTGRES_MIGRATIONS, &last),
        DbConnection::Sqlite(inner) => apply_up_to(inner, SQLITE_MIGRATIONS, &last),
    }
}

fn apply_up_to<DB: diesel::backend::Backend>(
    connection: &mut impl MigrationHarness<DB>,
    source: EmbeddedMigrations,
    last: &str,
) -> Result<(), RepoError> {
    for migration in connection
        .pending_migrations(source)
        .map_err(migration_error)?
    {
        if migration.name().version().to_string().as_str() > last {
            break;
        }
        connection
            .run_migration(&*migration)
            .map_err(migration_error)?;
    }
    Ok(())
}

/// Whether any migration is still to be applied.
pub fn has_pending(pool: &DbPool) -> Result<bool, RepoError> {
    let mut connection = checkout(pool)?;
    match &mut *connection {
        DbConnection::Pg(inner) => inner.has_pending_migration(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(inner) => inner.has_pending_migration(SQLITE_MIGRATIONS),
    }
    .map_err(migration_error)
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied
        .into_iter()
        .map(|version| version.to_string())
        .collect()
}
