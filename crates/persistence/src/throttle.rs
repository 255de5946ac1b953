//! Throttling counters in the database, so every instance enforces the same limits.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_core::ports::ThrottleRepository;
use healthcare_domain::Timestamp;

use crate::connection::{DbConnection, DbPool, checkout};
use crate::errors::from_diesel;
use crate::schema::{login_failures, rate_buckets};
use crate::time::{opt_from_db, to_db};

/// How long finished rate buckets are kept before a new bucket sweeps them away.
const BUCKET_RETENTION: Duration = Duration::hours(1);

/// [`ThrottleRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselThrottleRepository {
    pool: DbPool,
}

impl DieselThrottleRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

fn increment(
    connection: &mut DbConnection,
    key: &str,
    window: NaiveDateTime,
) -> Result<Option<i32>, RepoError> {
    diesel::update(rate_buckets::table.find((key, window)))
        .set(rate_buckets::hits.eq(rate_buckets::hits + 1))
        .returning(rate_buckets::hits)
        .get_result(connection)
        .optional()
        .map_err(from_diesel)
}

impl ThrottleRepository for DieselThrottleRepository {
    fn record_login_failure(
        &self,
        email_key: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::delete(
            login_failures::table.filter(login_failures::failed_at.lt(to_db(forget_before))),
        )
        .execute(&mut *connection)
        .map_err(from_diesel)?;
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::email_key.eq(email_key),
                login_failures::failed_at.eq(to_db(at)),
            ))
            .execute(&mut *connection)
            .map(drop)
            .map_err(from_diesel)
    }

    fn login_failures_since(
        &self,
        email_key: &str,
        since: Timestamp,
    ) -> Result<(u32, Option<Timestamp>), RepoError> {
        let mut connection = checkout(&self.pool)?;
        let (count, oldest): (i64, Option<NaiveDateTime>) = login_failures::table
            .filter(login_failures::email_key.eq(email_key))
            .filter(login_failures::failed_at.gt(to_db(since)))
            .select((count_star(), min(login_failures::failed_at)))
            .first(&mut *connection)
            .map_err(from_diesel)?;
        Ok((
            u32::try_from(count).unwrap_or(u32::MAX),
            opt_from_db(oldest),
        ))
    }

    fn clear_login_failures(&self, email_key: &str) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::delete(login_failures::table.filter(login_failures::email_key.eq(email_key)))
            .execute(&mut *connection)
            .map(drop)
            .map_err(from_diesel)
    }

    fn hit_rate_bucket(&self, bucket_key: &str, window_start: Timestamp) -> Result<u32, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let window = to_db(window_start);
        // Update first (the common case); a new bucket is inserted, and an insert that loses a
        // race to another instance's insert falls back to the update. No upsert: the
        // multi-backend connection has none.
        let hits = match increment(&mut connection, bucket_key, window)? {
            Some(hits) => hits,
            None => {
                let inserted = diesel::insert_into(rate_buckets::table)
                    .values((
                        rate_buckets::bucket_key.eq(bucket_key),
                        rate_buckets::window_start.eq(window),
                        rate_buckets::hits.eq(1),
                    ))
                    .execute(&mut *connection)
                    .map_err(from_diesel);
                match inserted {
                    Ok(_) => {
                        diesel::delete(
                            rate_buckets::table
                                .filter(rate_buckets::window_start.lt(window - BUCKET_RETENTION)),
                        )
                        .execute(&mut *connection)
                        .map_err(from_diesel)?;
                        1
                    }
                    Err(RepoError::Conflict) => increment(&mut connection, bucket_key, window)?
                        .ok_or_else(|| RepoError::Internal("rate bucket vanished".into()))?,
                    Err(other) => return Err(other),
                }
            }
        };
        Ok(u32::try_from(hits).unwrap_or(0))
    }
}
