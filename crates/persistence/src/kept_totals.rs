//! Totals the triggers keep for a list (`doctor_totals`, `clinic_patient_totals`), read instead
//! of counting the list's rows on every page, in the same statement as the page.

use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType};

use crate::connection::{DbConnection, load_static};

/// The directory's kept totals (one row).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Directory;

/// A clinic's kept patient totals (8 rows, summed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClinicPatients(pub(crate) i64);

/// Where a list's kept totals are: the `FROM` clause of [`KeptTotal`]'s subquery.
pub(crate) trait KeptTotalsOf: Copy + 'static {
    /// The totals' table, ending with `= ` when a value is bound after it.
    const FROM: &'static str;

    /// The value bound at the end of [`KeptTotalsOf::FROM`], if any.
    fn bound(&self) -> Option<&i64>;
}

impl KeptTotalsOf for Directory {
    const FROM: &'static str = "doctor_totals";

    fn bound(&self) -> Option<&i64> {
        None
    }
}

impl KeptTotalsOf for ClinicPatients {
    const FROM: &'static str = "clinic_patient_totals WHERE clinic_id = ";

    fn bound(&self) -> Option<&i64> {
        Some(&self.0)
    }
}

/// A list's kept total for its `archived` filter, as a column of its page:
/// `(SELECT CAST(COALESCE(SUM(live * ? + archived * ?), 0) AS BIGINT) FROM <the totals>)`,
/// the weights 1 or 0 choosing live, archived or both rows.
///
/// An uncorrelated scalar subquery, which both databases evaluate once per statement, so that
/// a page and its total are one statement (one round trip on PostgreSQL) whatever the page's
/// order. A page with no rows carries no total: [`KeptTotal::or_read`] then reads it alone.
/// The filter is bound, not written into the SQL, so that the statement is the same for each
/// filter and Diesel caches it by its type alone (without building its SQL per request).
///
/// The totals' rows exist from the start (migration 14 creates the directory's, a trigger each
/// new clinic's 8 slots); were they deleted by hand, the sum of no rows would read as 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeptTotal<Of> {
    of: Of,
    live: i64,
    archived: i64,
}

impl<Of: KeptTotalsOf> KeptTotal<Of> {
    /// The total of `of`'s live (`Some(false)`), archived (`Some(true)`) or all (`None`) rows.
    pub(crate) fn new(of: Of, archived: Option<bool>) -> Self {
        Self {
            of,
            live: i64::from(archived != Some(true)),
            archived: i64::from(archived != Some(false)),
        }
    }

    /// The total: as a page's rows carried it beside them (`carried`, from any row), or read
    /// on its own when the page had none.
    pub(crate) fn or_read(
        self,
        carried: Option<i64>,
        connection: &mut DbConnection,
    ) -> QueryResult<i64> {
        match carried {
            Some(total) => Ok(total),
            None => load_static(connection, diesel::select(self))?
                .pop()
                .ok_or(diesel::result::Error::NotFound),
        }
    }
}

impl<Of> Expression for KeptTotal<Of> {
    type SqlType = BigInt;
}

impl<Of, QS> AppearsOnTable<QS> for KeptTotal<Of> {}

impl<Of, QS> SelectableExpression<QS> for KeptTotal<Of> {}

impl<Of, GB> ValidGrouping<GB> for KeptTotal<Of> {
    type IsAggregate = is_aggregate::Never;
}

impl<Of: KeptTotalsOf> QueryId for KeptTotal<Of> {
    // The SQL depends on the totals' table only, which is in the type.
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Of: KeptTotalsOf, DB> QueryFragment<DB> for KeptTotal<Of>
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(SELECT CAST(COALESCE(SUM(live * ");
        out.push_bind_param::<BigInt, _>(&self.live)?;
        out.push_sql(" + archived * ");
        out.push_bind_param::<BigInt, _>(&self.archived)?;
        out.push_sql("), 0) AS BIGINT) FROM ");
        out.push_sql(Of::FROM);
        if let Some(value) = self.of.bound() {
            out.push_bind_param::<BigInt, _>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}
