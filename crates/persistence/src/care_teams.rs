//! Care teams in SQL: which of a clinic's patients a member sees (for lists), and how one
//! clinician is tied to one patient (for a single record). Both read the same two relations,
//! written once below as SQL: a boxed Diesel subquery is no SQL fragment of the multi-backend
//! connection, and a subquery over a table the outer query joins is refused as correlated.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp as SqlTimestamp};
use healthcare_core::RepoError;
use healthcare_domain::access::CareTie;
use healthcare_domain::patient::PatientId;
use healthcare_domain::{Timestamp, UserId};

use crate::connection::{DbBackend, DbConnection};
use crate::errors::from_diesel;
use crate::time::to_db;

/// Ids of the patients with an active mapping to a doctor record linked to the account bound
/// after it.
const TREATED_BY: &str = "SELECT m.patient_id FROM patient_doctor_mappings m \
     JOIN doctors d ON d.id = m.doctor_id WHERE m.is_active AND d.linked_user_id = ";

/// Ids of the patients of the break-glass grants running at the time bound after it, of the
/// account bound after that.
const GRANTED_AT: &str = "SELECT g.patient_id FROM break_glass_grants g WHERE g.expires_at > ";
const GRANTED_TO: &str = " AND g.user_id = ";

/// The care team of `user` at `at`, as a condition on the `patients` row of any query over
/// it (alone or joined): registered by them, treated by them, or under one of their grants.
pub(crate) fn in_care_team<QuerySource>(
    user: UserId,
    at: Timestamp,
) -> Box<dyn BoxableExpression<QuerySource, DbBackend, SqlType = Bool>> {
    Box::new(
        sql::<Bool>("(patients.owner_id = ")
            .bind::<BigInt, _>(user.0)
            .sql(" OR patients.id IN (")
            .sql(TREATED_BY)
            .bind::<BigInt, _>(user.0)
            .sql(") OR patients.id IN (")
            .sql(GRANTED_AT)
            .bind::<SqlTimestamp, NaiveDateTime>(to_db(at))
            .sql(GRANTED_TO)
            .bind::<BigInt, _>(user.0)
            .sql("))"),
    )
}

/// Narrows a query over `patients` (alone or joined) to a member's [`ClinicScope`]: the
/// clinic's patients, or a clinician's care team there.
///
/// [`ClinicScope`]: healthcare_domain::access::ClinicScope
macro_rules! within_scope {
    ($query:expr, $scope:expr) => {{
        let mut query = $query;
        if let Some(scope) = $scope {
            query = query.filter(crate::schema::patients::clinic_id.eq(scope.clinic.0));
            if let Some((user, at)) = scope.care_team_of {
                query = query.filter(crate::care_teams::in_care_team(user, at));
            }
        }
        query
    }};
}
pub(crate) use within_scope;

/// Whether `user` holds a grant running at `at` on any of `patients`.
pub(crate) fn under_grant(
    connection: &mut DbConnection,
    user: UserId,
    patients: &[PatientId],
    at: Timestamp,
) -> Result<bool, RepoError> {
    use crate::schema::break_glass_grants as grants;
    if patients.is_empty() {
        return Ok(false);
    }
    let ids: Vec<i64> = patients.iter().map(|patient| patient.0).collect();
    diesel::select(diesel::dsl::exists(
        grants::table
            .filter(grants::user_id.eq(user.0))
            .filter(grants::expires_at.gt(to_db(at)))
            .filter(grants::patient_id.eq_any(ids)),
    ))
    .get_result(connection)
    .map_err(from_diesel)
}

/// How `user` is tied to `patient` at `at`, in one statement: a running grant first (accesses
/// under it are marked), then a linked doctor's active mapping.
pub(crate) fn care_tie(
    connection: &mut DbConnection,
    patient: PatientId,
    user: UserId,
    at: Timestamp,
) -> Result<CareTie, RepoError> {
    let (granted, treating) = diesel::select((
        sql::<Bool>("")
            .bind::<BigInt, _>(patient.0)
            .sql(" IN (")
            .sql(GRANTED_AT)
            .bind::<SqlTimestamp, NaiveDateTime>(to_db(at))
            .sql(GRANTED_TO)
            .bind::<BigInt, _>(user.0)
            .sql(")"),
        sql::<Bool>("")
            .bind::<BigInt, _>(patient.0)
            .sql(" IN (")
            .sql(TREATED_BY)
            .bind::<BigInt, _>(user.0)
            .sql(")"),
    ))
    .get_result::<(bool, bool)>(connection)
    .map_err(from_diesel)?;
    Ok(match (granted, treating) {
        (true, _) => CareTie::BreakGlass,
        (false, true) => CareTie::Treating,
        (false, false) => CareTie::None,
    })
}
