//! Server-side admin sessions in the database, shared by every server instance.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_core::ports::{AdminSession, AdminSessionRepository};
use healthcare_domain::{Timestamp, UserId};

use crate::connection::{DbPool, checkout};
use crate::errors::from_diesel;
use crate::schema::admin_sessions as sessions;
use crate::time::{from_db, to_db};

/// A row of `admin_sessions`, in the table's column order.
#[derive(Queryable)]
struct SessionRow {
    token_hash: String,
    user_id: i64,
    csrf_token: String,
    second_factor_done: bool,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
}

impl From<SessionRow> for AdminSession {
    fn from(row: SessionRow) -> Self {
        AdminSession {
            token_hash: row.token_hash,
            user_id: UserId(row.user_id),
            csrf_token: row.csrf_token,
            second_factor_done: row.second_factor_done,
            created_at: from_db(row.created_at),
            last_seen_at: from_db(row.last_seen_at),
        }
    }
}

/// [`AdminSessionRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselAdminSessionRepository {
    pool: DbPool,
}

impl DieselAdminSessionRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

impl AdminSessionRepository for DieselAdminSessionRepository {
    fn insert(&self, session: &AdminSession) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::token_hash.eq(session.token_hash.as_str()),
                sessions::user_id.eq(session.user_id.0),
                sessions::csrf_token.eq(session.csrf_token.as_str()),
                sessions::second_factor_done.eq(session.second_factor_done),
                sessions::created_at.eq(to_db(session.created_at)),
                sessions::last_seen_at.eq(to_db(session.last_seen_at)),
            ))
            .execute(&mut *connection)
            .map(drop)
            .map_err(from_diesel)
    }

    fn find(&self, token_hash: &str) -> Result<Option<AdminSession>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        sessions::table
            .find(token_hash)
            .first::<SessionRow>(&mut *connection)
            .optional()
            .map(|row| row.map(AdminSession::from))
            .map_err(from_diesel)
    }

    fn touch(&self, token_hash: &str, at: Timestamp) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::update(sessions::table.find(token_hash))
            .set(sessions::last_seen_at.eq(to_db(at)))
            .execute(&mut *connection)
            .map(drop)
            .map_err(from_diesel)
    }

    fn delete(&self, token_hash: &str) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::delete(sessions::table.find(token_hash))
            .execute(&mut *connection)
            .map(drop)
            .map_err(from_diesel)
    }

    fn delete_for_user(&self, user: UserId) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user.0)))
            .execute(&mut *connection)
            .map(drop)
            .map_err(from_diesel)
    }

    fn delete_idle(&self, before: Timestamp) -> Result<u64, RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::delete(sessions::table.filter(sessions::last_seen_at.lt(to_db(before))))
            .execute(&mut *connection)
            .map(|deleted| deleted as u64)
            .map_err(from_diesel)
    }
}
