//! Break-glass grants in the database: appended with their audit row, never changed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::ports::BreakGlassRepository;
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::UserId;
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::break_glass::{Grant, NewGrant};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::patient::PatientId;

use crate::audit::append_in;
use crate::connection::{DbPool, checkout, write_transaction};
use crate::errors::from_diesel;
use crate::schema::break_glass_grants as grants;
use crate::time::{from_db, to_db};

/// A row of `break_glass_grants`, in the table's column order.
#[derive(Queryable)]
struct GrantRow {
    id: i64,
    clinic_id: i64,
    patient_id: i64,
    user_id: i64,
    reason: String,
    granted_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

impl From<GrantRow> for Grant {
    fn from(row: GrantRow) -> Self {
        Grant {
            id: row.id,
            clinic: ClinicId(row.clinic_id),
            patient: PatientId(row.patient_id),
            user: UserId(row.user_id),
            reason: row.reason,
            granted_at: from_db(row.granted_at),
            expires_at: from_db(row.expires_at),
        }
    }
}

/// [`BreakGlassRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselBreakGlassRepository {
    pool: DbPool,
}

impl DieselBreakGlassRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

impl BreakGlassRepository for DieselBreakGlassRepository {
    fn grant(&self, grant: &NewGrant, audit: &AuditEvent) -> Result<Grant, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let stored: Grant = diesel::insert_into(grants::table)
                .values((
                    grants::clinic_id.eq(grant.clinic.0),
                    grants::patient_id.eq(grant.patient.0),
                    grants::user_id.eq(grant.user.0),
                    grants::reason.eq(grant.reason.as_str()),
                    grants::granted_at.eq(to_db(grant.granted_at)),
                    grants::expires_at.eq(to_db(grant.expires_at)),
                ))
                .returning(grants::all_columns)
                .get_result::<GrantRow>(connection)
                .map_err(from_diesel)?
                .into();
            append_in(
                connection,
                self.pool.audit_key(),
                &AuditEvent {
                    resource_id: Some(stored.id),
                    patient_id: Some(stored.patient),
                    ..audit.clone()
                },
            )?;
            Ok(stored)
        })
    }

    fn log(&self, clinic: ClinicId, page: Page) -> Result<PageOf<Grant>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let of_clinic = || grants::table.filter(grants::clinic_id.eq(clinic.0));
        let rows = of_clinic()
            .order((grants::granted_at.desc(), grants::id.desc()))
            .limit(page.limit())
            .offset(page.offset())
            .load::<GrantRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = of_clinic()
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(PageOf {
            items: rows.into_iter().map(Grant::from).collect(),
            total: total.unsigned_abs(),
        })
    }
}
