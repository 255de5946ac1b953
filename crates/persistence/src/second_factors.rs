//! Staff users' TOTP second factors and recovery codes in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use healthcare_core::RepoError;
use healthcare_core::ports::{SecondFactor, SecondFactorRepository};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::staff::TotpSecret;
use healthcare_domain::{Timestamp, UserId};

use crate::audit::append_in;
use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::{corrupt_row, from_diesel};
use crate::schema::{
    admin_sessions, staff_recovery_codes as codes, staff_second_factors as factors,
};
use crate::time::{opt_from_db, to_db};

/// A row of `staff_second_factors`, in the table's column order.
#[derive(Queryable)]
struct FactorRow {
    user_id: i64,
    secret: Vec<u8>,
    confirmed_at: Option<NaiveDateTime>,
    last_step: i64,
    enrolling_session: Option<String>,
    _created_at: NaiveDateTime,
}

impl TryFrom<FactorRow> for SecondFactor {
    type Error = RepoError;

    fn try_from(row: FactorRow) -> Result<Self, RepoError> {
        let secret = TotpSecret::from_bytes(row.secret)
            .ok_or_else(|| corrupt_row("staff_second_factors", row.user_id, "secret"))?;
        Ok(SecondFactor {
            user_id: UserId(row.user_id),
            secret,
            confirmed_at: opt_from_db(row.confirmed_at),
            last_step: row.last_step,
            enrolling_session: row.enrolling_session,
        })
    }
}

/// Tries of an enrolment racing others of the same user before it reports a conflict.
const ENROLMENT_ATTEMPTS: usize = 3;

/// [`SecondFactorRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselSecondFactorRepository {
    pool: DbPool,
}

impl DieselSecondFactorRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// Replaces the user's unconfirmed factor by a new one with `secret`; whether there was one.
fn replace_unconfirmed(
    connection: &mut DbConnection,
    user: UserId,
    secret: &TotpSecret,
    session: &str,
    at: Timestamp,
) -> Result<bool, RepoError> {
    diesel::update(
        factors::table
            .find(user.0)
            .filter(factors::confirmed_at.is_null()),
    )
    .set((
        factors::secret.eq(secret.as_bytes()),
        factors::last_step.eq(0_i64),
        factors::enrolling_session.eq(Some(session)),
        factors::created_at.eq(to_db(at)),
    ))
    .execute(connection)
    .map(|updated| updated == 1)
    .map_err(from_diesel)
}

/// Stores the codes' hashes, unused (the multi-backend connection has no multi-row insert of
/// its own, so each dialect's connection runs it).
fn insert_codes(
    connection: &mut DbConnection,
    user: UserId,
    hashes: &[String],
) -> Result<(), RepoError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = hashes
        .iter()
        .map(|hash| {
            (
                codes::user_id.eq(user.0),
                codes::code_hash.eq(hash.as_str()),
            )
        })
        .collect();
    let insert = diesel::insert_into(codes::table).values(rows);
    match connection {
        DbConnection::Pg(inner) => insert.execute(inner),
        DbConnection::Sqlite(inner) => insert.execute(inner),
    }
    .map(drop)
    .map_err(from_diesel)
}

impl SecondFactorRepository for DieselSecondFactorRepository {
    fn find(&self, user: UserId) -> Result<Option<SecondFactor>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        factors::table
            .find(user.0)
            .first::<FactorRow>(&mut *connection)
            .optional()
            .map_err(from_diesel)?
            .map(SecondFactor::try_from)
            .transpose()
    }

    fn start_enrolment(
        &self,
        user: UserId,
        secret: &TotpSecret,
        session: &str,
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            // Each statement sees what concurrent enrolments committed before it started
            // (PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers), so a lost race is
            // retried a few times before it counts as a conflict.
            for _ in 0..ENROLMENT_ATTEMPTS {
                if replace_unconfirmed(connection, user, secret, session, at)? {
                    return Ok(true);
                }
                let confirmed_at: Option<Option<NaiveDateTime>> = factors::table
                    .find(user.0)
                    .select(factors::confirmed_at)
                    .first(connection)
                    .optional()
                    .map_err(from_diesel)?;
                match confirmed_at {
                    // Confirmed: only a reset removes it.
                    Some(Some(_)) => return Ok(false),
                    // Stored unconfirmed since the update began: replace it.
                    Some(None) => continue,
                    None => {}
                }
                // In a savepoint, so that a unique violation (a concurrent enrolment inserted
                // first) leaves this transaction usable.
                let inserted = connection.transaction(|connection| {
                    diesel::insert_into(factors::table)
                        .values((
                            factors::user_id.eq(user.0),
                            factors::secret.eq(secret.as_bytes()),
                            factors::last_step.eq(0_i64),
                            factors::enrolling_session.eq(Some(session)),
                            factors::created_at.eq(to_db(at)),
                        ))
                        .execute(connection)
                });
                match inserted {
                    Ok(_) => return Ok(true),
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
                    Err(error) => return Err(from_diesel(error)),
                }
            }
            Err(RepoError::Conflict)
        })
    }

    fn confirm_enrolment(
        &self,
        user: UserId,
        session: &str,
        step: i64,
        recovery_code_hashes: &[String],
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let confirmed = diesel::update(
                factors::table
                    .find(user.0)
                    .filter(factors::confirmed_at.is_null())
                    .filter(factors::enrolling_session.eq(session)),
            )
            .set((
                factors::confirmed_at.eq(Some(to_db(at))),
                factors::last_step.eq(step),
                factors::enrolling_session.eq(None::<String>),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
            if confirmed != 1 {
                return Ok(false);
            }
            diesel::delete(codes::table.filter(codes::user_id.eq(user.0)))
                .execute(connection)
                .map_err(from_diesel)?;
            insert_codes(connection, user, recovery_code_hashes)?;
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(true)
        })
    }

    fn accept_step(&self, user: UserId, step: i64) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        // One statement: of two logins presenting the same code, the database lets one win.
        diesel::update(
            factors::table
                .find(user.0)
                .filter(factors::last_step.lt(step))
                .filter(factors::confirmed_at.is_not_null()),
        )
        .set(factors::last_step.eq(step))
        .execute(&mut *connection)
        .map(|updated| updated == 1)
        .map_err(from_diesel)
    }

    fn use_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        // One statement, so a code is used at most once.
        diesel::update(
            codes::table
                .filter(codes::user_id.eq(user.0))
                .filter(codes::code_hash.eq(code_hash))
                .filter(codes::used_at.is_null()),
        )
        .set(codes::used_at.eq(Some(to_db(at))))
        .execute(&mut *connection)
        .map(|updated| updated == 1)
        .map_err(from_diesel)
    }

    fn unused_recovery_codes(&self, user: UserId) -> Result<u32, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let unused: i64 = codes::table
            .filter(codes::user_id.eq(user.0))
            .filter(codes::used_at.is_null())
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        u32::try_from(unused).map_err(|_| RepoError::Internal("too many recovery codes".into()))
    }

    fn reset(&self, user: UserId, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let removed = diesel::delete(factors::table.find(user.0))
                .execute(connection)
                .map_err(from_diesel)?;
            if removed != 1 {
                return Ok(false);
            }
            diesel::delete(codes::table.filter(codes::user_id.eq(user.0)))
                .execute(connection)
                .map_err(from_diesel)?;
            diesel::delete(admin_sessions::table.filter(admin_sessions::user_id.eq(user.0)))
                .execute(connection)
                .map_err(from_diesel)?;
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(true)
        })
    }
}
