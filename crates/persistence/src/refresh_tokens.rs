//! Issued refresh tokens in the database, so rotation and reuse detection work across every
//! server instance sharing it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_core::ports::RefreshTokenRepository;
use healthcare_domain::tokens::RefreshTokenRecord;
use healthcare_domain::{Timestamp, UserId};

use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::from_diesel;
use crate::schema::refresh_tokens;
use crate::time::{from_db, opt_from_db, to_db};

/// A row of `refresh_tokens`, in the table's column order.
#[derive(Queryable)]
struct RefreshTokenRow {
    jti: String,
    user_id: i64,
    family_id: String,
    expires_at: NaiveDateTime,
    spent_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl From<RefreshTokenRow> for RefreshTokenRecord {
    fn from(row: RefreshTokenRow) -> Self {
        Self {
            jti: row.jti,
            user_id: UserId(row.user_id),
            family_id: row.family_id,
            expires_at: from_db(row.expires_at),
            spent_at: opt_from_db(row.spent_at),
            revoked_at: opt_from_db(row.revoked_at),
        }
    }
}

/// [`RefreshTokenRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselRefreshTokenRepository {
    pool: DbPool,
}

impl DieselRefreshTokenRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

fn insert_record(
    connection: &mut DbConnection,
    record: &RefreshTokenRecord,
) -> Result<(), RepoError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::jti.eq(&record.jti),
            refresh_tokens::user_id.eq(record.user_id.0),
            refresh_tokens::family_id.eq(&record.family_id),
            refresh_tokens::expires_at.eq(to_db(record.expires_at)),
            refresh_tokens::spent_at.eq(record.spent_at.map(to_db)),
            refresh_tokens::revoked_at.eq(record.revoked_at.map(to_db)),
        ))
        .execute(connection)
        .map(drop)
        .map_err(from_diesel)
}

impl RefreshTokenRepository for DieselRefreshTokenRepository {
    fn insert(&self, record: &RefreshTokenRecord) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        insert_record(&mut connection, record)
    }

    fn find(&self, jti: &str) -> Result<Option<RefreshTokenRecord>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        refresh_tokens::table
            .find(jti)
            .first::<RefreshTokenRow>(&mut *connection)
            .optional()
            .map(|row| row.map(RefreshTokenRecord::from))
            .map_err(from_diesel)
    }

    fn rotate(
        &self,
        spent_jti: &str,
        successor: &RefreshTokenRecord,
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            lock_user_tokens(connection, successor.user_id)?;
            // The conditional update is the arbiter: of two concurrent redemptions only one
            // sees a row to change.
            let spent = diesel::update(
                refresh_tokens::table
                    .find(spent_jti)
                    .filter(refresh_tokens::spent_at.is_null())
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::spent_at.eq(Some(to_db(at))))
            .execute(connection)
            .map_err(from_diesel)?;
            if spent == 1 {
                insert_record(connection, successor)?;
            }
            Ok(spent == 1)
        })
    }

    fn revoke_family(&self, family_id: &str, at: Timestamp) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let owner: Option<i64> = refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id))
                .select(refresh_tokens::user_id)
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            if let Some(owner) = owner {
                lock_user_tokens(connection, UserId(owner))?;
            }
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::family_id.eq(family_id))
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::revoked_at.eq(Some(to_db(at))))
            .execute(connection)
            .map(drop)
            .map_err(from_diesel)
        })
    }

    fn revoke_all_for_user(&self, user_id: UserId, at: Timestamp) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            lock_user_tokens(connection, user_id)?;
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::user_id.eq(user_id.0))
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::revoked_at.eq(Some(to_db(at))))
            .execute(connection)
            .map(drop)
            .map_err(from_diesel)
        })
    }
}

/// Serialises rotations and revocations of one user's tokens until the transaction ends, so a
/// revocation never misses a successor that a concurrent rotation is about to commit. SQLite's
/// `BEGIN IMMEDIATE` already serialises every writer; PostgreSQL takes an advisory lock.
fn lock_user_tokens(connection: &mut DbConnection, user_id: UserId) -> Result<(), RepoError> {
    /// Namespace of these locks, apart from the migration lock.
    const TOKEN_LOCK_CLASS: i32 = 0x7274;
    match connection {
        DbConnection::Pg(inner) => {
            let key = i32::try_from(user_id.0.rem_euclid(i64::from(i32::MAX))).unwrap_or(0);
            diesel::connection::SimpleConnection::batch_execute(
                inner,
                &format!("SELECT pg_advisory_xact_lock({TOKEN_LOCK_CLASS}, {key})"),
            )
            .map_err(from_diesel)
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}
