//! Totals the triggers keep for a list (`doctor_totals`, `clinic_patient_totals`), read instead
//! of counting the list's rows on every page, in the same statement as the page.

use std::ops::Add;

use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::sql_types::{BigInt, Nullable};

use crate::connection::{DbBackend, DbConnection};

/// How many rows of a list are live and how many archived.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptTotals {
    pub(crate) live: i64,
    pub(crate) archived: i64,
}

impl KeptTotals {
    /// The total for a list's `archived` filter: live (`Some(false)`), archived (`Some(true)`)
    /// or both (`None`).
    pub(crate) fn for_filter(self, archived: Option<bool>) -> i64 {
        match archived {
            Some(false) => self.live,
            Some(true) => self.archived,
            None => self.live + self.archived,
        }
    }
}

impl From<(i64, i64)> for KeptTotals {
    fn from((live, archived): (i64, i64)) -> Self {
        Self { live, archived }
    }
}

/// Totals spread over several rows add up.
impl Add for KeptTotals {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            live: self.live + other.live,
            archived: self.archived + other.archived,
        }
    }
}

/// Which kept totals a list is counted by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeptTotalsOf {
    /// The doctor directory's (one row).
    Directory,
    /// A clinic's patients (several rows, summed).
    ClinicPatients(i64),
}

/// `SELECT <live>, <archived> FROM <the kept totals>`, summed over their rows: always one row.
/// A statement of its own on SQLite, a subquery of [`PageWithTotals`] on PostgreSQL. The rows
/// exist from the start (migration 14 creates the directory's, a trigger each new clinic's 8
/// slots); were they deleted by hand, the sum of no rows would read as 0, not fail.
#[derive(Debug, Clone, Copy)]
struct TotalsQuery(KeptTotalsOf);

impl QueryId for TotalsQuery {
    type QueryId = ();
    // Which table is read is in the SQL, not in the type: the statement cache keys it by SQL.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<DbBackend> for TotalsQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        out.push_sql(
            "SELECT CAST(COALESCE(SUM(live), 0) AS BIGINT) AS live, \
             CAST(COALESCE(SUM(archived), 0) AS BIGINT) AS archived FROM ",
        );
        match &self.0 {
            KeptTotalsOf::Directory => out.push_sql("doctor_totals"),
            KeptTotalsOf::ClinicPatients(clinic) => {
                out.push_sql("clinic_patient_totals WHERE clinic_id = ");
                out.push_bind_param::<BigInt, _>(clinic)?;
            }
        }
        Ok(())
    }
}

impl Query for TotalsQuery {
    type SqlType = (BigInt, BigInt);
}

impl RunQueryDsl<DbConnection> for TotalsQuery {}

/// The kept totals of `of`, summed over their rows.
pub(crate) fn kept_totals(
    connection: &mut DbConnection,
    of: KeptTotalsOf,
) -> QueryResult<KeptTotals> {
    TotalsQuery(of)
        .get_result::<(i64, i64)>(connection)
        .map(KeptTotals::from)
}

/// One page of a list and the list's kept totals. On PostgreSQL one statement, so that a page
/// costs one round trip:
///
/// `SELECT page.*, totals.live, totals.archived FROM (<the totals>) AS totals
/// LEFT JOIN (<the page>) AS page ON TRUE ORDER BY <the page's order>`
///
/// The totals side is always one row, so an empty page is one row of NULLs and the totals. The
/// page keeps its own `ORDER BY`, `LIMIT` and `OFFSET`; `order` repeats its order on the outer
/// select (a join need not keep a subquery's order) with the columns named `page.*`. SQLite has
/// no round trips to save, and materialises such a subquery in a temporary table (twice the
/// cost of the page in the benchmark), so there the page and the totals are two statements.
pub(crate) struct PageWithTotals<Page> {
    page: Page,
    totals: TotalsQuery,
    order: &'static str,
}

impl<Page> PageWithTotals<Page> {
    /// `page` in `order` (e.g. `"page.name ASC, page.id ASC"`), counted by `totals`.
    pub(crate) fn new(page: Page, totals: KeptTotalsOf, order: &'static str) -> Self {
        Self {
            page,
            totals: TotalsQuery(totals),
            order,
        }
    }

    /// The page's rows and the totals.
    pub(crate) fn load<Row>(
        self,
        connection: &mut DbConnection,
    ) -> QueryResult<(Vec<Row>, KeptTotals)>
    where
        Page: LoadQuery<'static, DbConnection, Row>,
        Self: LoadQuery<'static, DbConnection, (Option<Row>, i64, i64)>,
    {
        if let DbConnection::Sqlite(_) = connection {
            let totals = self.totals.0;
            let rows = self.page.load(connection)?;
            return Ok((rows, kept_totals(connection, totals)?));
        }
        let rows: Vec<(Option<Row>, i64, i64)> = RunQueryDsl::load(self, connection)?;
        let totals = rows
            .first()
            .map(|(_, live, archived)| KeptTotals::from((*live, *archived)))
            .unwrap_or_default();
        Ok((
            rows.into_iter().filter_map(|(row, _, _)| row).collect(),
            totals,
        ))
    }
}

impl<Page: QueryId> QueryId for PageWithTotals<Page> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Page: QueryFragment<DbBackend>> QueryFragment<DbBackend> for PageWithTotals<Page> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> QueryResult<()> {
        out.push_sql("SELECT page.*, totals.live, totals.archived FROM (");
        self.totals.walk_ast(out.reborrow())?;
        out.push_sql(") AS totals LEFT JOIN (");
        self.page.walk_ast(out.reborrow())?;
        out.push_sql(") AS page ON TRUE ORDER BY ");
        out.push_sql(self.order);
        Ok(())
    }
}

impl<Page: Query> Query for PageWithTotals<Page> {
    type SqlType = (Nullable<Page::SqlType>, BigInt, BigInt);
}

impl<Page> RunQueryDsl<DbConnection> for PageWithTotals<Page> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_reads_its_part_and_rows_add_up() {
        let totals = KeptTotals::from((3, 1)) + KeptTotals::from((2, 0));
        assert_eq!(
            totals,
            KeptTotals {
                live: 5,
                archived: 1
            }
        );
        assert_eq!(
            (
                totals.for_filter(Some(false)),
                totals.for_filter(Some(true)),
                totals.for_filter(None)
            ),
            (5, 1, 6)
        );
    }
}
