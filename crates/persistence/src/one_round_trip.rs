//! A change and its audit row in one statement on PostgreSQL: a data-modifying `WITH`, atomic
//! on its own, so a write costs one round trip instead of `BEGIN`, two inserts and `COMMIT`.
//!
//! The audit row's MAC covers the id of the record it names, so the id must be known before
//! the statement is sent: [`ReservedPatientIds`] takes ids from the table's sequence in blocks.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use healthcare_core::RepoError;

use crate::errors::from_diesel;

/// `WITH created AS (<insert … RETURNING …>), audited AS (<insert into audit_events>)
/// SELECT * FROM created`: the first statement's returned row, both inserts committed
/// together. Built from Diesel's own insert statements, so its SQL is fixed and it is a cached
/// prepared statement like them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InsertWithAudit<Insert, Audit> {
    insert: Insert,
    audit: Audit,
}

impl<Insert, Audit> InsertWithAudit<Insert, Audit> {
    /// `insert` must return the created row; `audit` is its audit row.
    pub(crate) fn new(insert: Insert, audit: Audit) -> Self {
        Self { insert, audit }
    }
}

impl<Insert: QueryId, Audit: QueryId> QueryId for InsertWithAudit<Insert, Audit> {
    type QueryId = InsertWithAudit<Insert::QueryId, Audit::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = Insert::HAS_STATIC_QUERY_ID && Audit::HAS_STATIC_QUERY_ID;
}

impl<Insert: QueryFragment<Pg>, Audit: QueryFragment<Pg>> QueryFragment<Pg>
    for InsertWithAudit<Insert, Audit>
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH created AS (");
        self.insert.walk_ast(out.reborrow())?;
        out.push_sql("), audited AS (");
        self.audit.walk_ast(out.reborrow())?;
        out.push_sql(") SELECT * FROM created");
        Ok(())
    }
}

impl<Insert: Query, Audit> Query for InsertWithAudit<Insert, Audit> {
    type SqlType = Insert::SqlType;
}

impl<Insert, Audit> RunQueryDsl<PgConnection> for InsertWithAudit<Insert, Audit> {}

/// Patient ids taken from the table's identity sequence ahead of use, [`RESERVED_PER_ROUND_TRIP`]
/// at a time. Ids stay unique (the sequence hands each out once, to whichever process asks) and
/// increase within a process; a process that stops leaves the rest of its block unused, a gap
/// like a rolled-back insert leaves.
#[derive(Debug, Default)]
pub(crate) struct ReservedPatientIds {
    ready: Mutex<VecDeque<i64>>,
}

/// Ids reserved per round trip to the sequence.
const RESERVED_PER_ROUND_TRIP: i64 = 32;

/// `SELECT nextval(…) FROM generate_series(1, n)`, as a statement Diesel caches (its SQL is
/// fixed; `sql_query` would be planned again each time).
#[derive(Debug, Clone, Copy, QueryId)]
struct ReservePatientIds;

impl QueryFragment<Pg> for ReservePatientIds {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT nextval(pg_get_serial_sequence('patients', 'id')) FROM generate_series(1, ",
        );
        out.push_bind_param::<BigInt, _>(&RESERVED_PER_ROUND_TRIP)?;
        out.push_sql(") ORDER BY 1");
        Ok(())
    }
}

impl Query for ReservePatientIds {
    type SqlType = BigInt;
}

impl RunQueryDsl<PgConnection> for ReservePatientIds {}

impl ReservedPatientIds {
    /// The next id, reserving a new block on `connection` when the last one is used up.
    pub(crate) fn next(&self, connection: &mut PgConnection) -> Result<i64, RepoError> {
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        if ready.is_empty() {
            ready.extend(
                ReservePatientIds
                    .load::<i64>(connection)
                    .map_err(from_diesel)?,
            );
        }
        ready
            .pop_front()
            .ok_or_else(|| RepoError::Internal("no patient id reserved".to_owned()))
    }
}
