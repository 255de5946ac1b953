//! Totals the triggers keep for a list (`doctor_totals`, `clinic_patient_totals`), read instead
//! of counting the list's rows on every page, in the same statement as the page.

use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::BigInt;

use crate::connection::{DbBackend, DbConnection};

/// Which kept totals a list is counted by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeptTotalsOf {
    /// The doctor directory's (one row).
    Directory,
    /// A clinic's patients (8 rows, summed).
    ClinicPatients(i64),
}

/// A list's kept total for its `archived` filter, as a column of its page:
/// `(SELECT CAST(COALESCE(SUM(<live, archived or both>), 0) AS BIGINT) FROM <the totals>)`.
///
/// An uncorrelated scalar subquery, which both databases evaluate once per statement, so that
/// a page and its total are one statement (one round trip on PostgreSQL) whatever the page's
/// order. A page with no rows carries no total: [`KeptTotal::split`] then reads it alone.
///
/// The totals' rows exist from the start (migration 14 creates the directory's, a trigger each
/// new clinic's 8 slots); were they deleted by hand, the sum of no rows would read as 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeptTotal {
    of: KeptTotalsOf,
    archived: Option<bool>,
}

impl KeptTotal {
    /// The total of `of`'s live (`Some(false)`), archived (`Some(true)`) or all (`None`) rows.
    pub(crate) fn new(of: KeptTotalsOf, archived: Option<bool>) -> Self {
        Self { of, archived }
    }

    /// A page's rows, each loaded with this total beside it, and the total.
    pub(crate) fn split<Row>(
        self,
        rows: Vec<(Row, i64)>,
        connection: &mut DbConnection,
    ) -> QueryResult<(Vec<Row>, i64)> {
        let total = match rows.first() {
            Some((_, total)) => *total,
            None => diesel::select(self).get_result(connection)?,
        };
        Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
    }
}

impl Expression for KeptTotal {
    type SqlType = BigInt;
}

impl<QS> AppearsOnTable<QS> for KeptTotal {}

impl<QS> SelectableExpression<QS> for KeptTotal {}

impl<GB> ValidGrouping<GB> for KeptTotal {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for KeptTotal {
    type QueryId = ();
    // Which totals are read is in the SQL, not in the type: the statement cache keys the
    // statement by its SQL.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<DbBackend> for KeptTotal {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        out.push_sql("(SELECT CAST(COALESCE(SUM(");
        out.push_sql(match self.archived {
            Some(false) => "live",
            Some(true) => "archived",
            None => "live + archived",
        });
        out.push_sql("), 0) AS BIGINT) FROM ");
        match &self.of {
            KeptTotalsOf::Directory => out.push_sql("doctor_totals"),
            KeptTotalsOf::ClinicPatients(clinic) => {
                out.push_sql("clinic_patient_totals WHERE clinic_id = ");
                out.push_bind_param::<BigInt, _>(clinic)?;
            }
        }
        out.push_sql(")");
        Ok(())
    }
}
