//! Patient–doctor mappings in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::ports::{
    DoctorWithCount, MappingFilter, MappingRepository, MappingView, PatientAssignments,
};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::mapping::{Mapping, MappingId};
use healthcare_domain::patient::{Patient, PatientId};
use healthcare_domain::{Timestamp, UserId};

use crate::audit::append_in;
use crate::connection::{DbConnection, DbPool, checkout, load_static, write_transaction};
use crate::doctor_rows::{DOCTOR_COLUMNS, DoctorRow, with_count};
use crate::errors::from_diesel;
use crate::patient_rows::{PATIENT_COLUMNS, PatientRow};
use crate::schema::{doctors, patient_doctor_mappings as mappings, patients};
use crate::time::{DbTimestamp, from_db, to_db};

/// Whether the patient is live and the doctor live and available, read with both rows locked
/// until the transaction ends. PostgreSQL: the patient `FOR SHARE`, so an archive that has not
/// committed makes this wait and then see it, and an archive that starts later waits for this
/// insert and then ends the mapping with the others; the doctor `FOR NO KEY UPDATE`, because
/// the insert's trigger updates its `patient_count` (a shared lock would deadlock two
/// assignments to one doctor upgrading it at once). The order is the one every writer of
/// mappings takes: [`lock_doctors`]. SQLite: `BEGIN IMMEDIATE` already serialises every writer.
fn both_accept_assignments(
    connection: &mut DbConnection,
    patient: PatientId,
    doctor: DoctorId,
) -> Result<bool, RepoError> {
    let live_patient = patients::table
        .find(patient.0)
        .filter(patients::archived_at.is_null())
        .select(patients::id);
    let available_doctor = doctors::table
        .find(doctor.0)
        .filter(doctors::archived_at.is_null())
        .filter(doctors::is_available.eq(true))
        .select(doctors::id);
    let (patient, doctor) = match connection {
        DbConnection::Pg(inner) => (
            live_patient.for_share().first::<i64>(inner).optional(),
            available_doctor
                .for_no_key_update()
                .first::<i64>(inner)
                .optional(),
        ),
        DbConnection::Sqlite(inner) => (
            live_patient.first::<i64>(inner).optional(),
            available_doctor.first::<i64>(inner).optional(),
        ),
    };
    Ok(patient.map_err(from_diesel)?.is_some() && doctor.map_err(from_diesel)?.is_some())
}

/// Locks, in id order, the doctors whose `patient_count` a change of these mappings' activity
/// will update (through the mappings' triggers), before any mapping row is touched.
///
/// Every writer of mappings on PostgreSQL locks rows in one order: the patient (and, through
/// its triggers, its clinic's totals row), then the doctors in id order (and the directory's
/// totals when a doctor is archived), then the mappings. Without it, an archived patient's
/// trigger (holding a mapping, wanting its doctor) and an archived doctor (holding the doctor,
/// wanting the mapping) would deadlock. SQLite serialises writers, so there is nothing to do.
fn lock_doctors(
    connection: &mut DbConnection,
    ending: mappings::BoxedQuery<'static, diesel::pg::Pg, diesel::sql_types::BigInt>,
) -> Result<(), RepoError> {
    let DbConnection::Pg(inner) = connection else {
        return Ok(());
    };
    doctors::table
        .filter(doctors::id.eq_any(ending))
        .select(doctors::id)
        .order(doctors::id)
        .for_no_key_update()
        .load::<i64>(inner)
        .map(drop)
        .map_err(from_diesel)
}

/// A row of `patient_doctor_mappings`, in the table's column order.
#[derive(Queryable)]
pub(crate) struct MappingRow {
    id: i64,
    patient_id: i64,
    doctor_id: i64,
    _assigned_by: i64,
    assigned_date: DbTimestamp,
    notes: String,
    is_active: bool,
    _updated_at: DbTimestamp,
    _removed_at: Option<DbTimestamp>,
}

impl From<MappingRow> for Mapping {
    fn from(row: MappingRow) -> Self {
        Mapping {
            id: MappingId(row.id),
            patient_id: PatientId(row.patient_id),
            doctor_id: DoctorId(row.doctor_id),
            assigned_date: from_db(row.assigned_date),
            notes: row.notes,
            is_active: row.is_active,
        }
    }
}

/// A mapping with its patient's name and its doctor's name and specialization.
pub(crate) type ViewRow = (MappingRow, String, String, String);

pub(crate) fn into_view(
    (row, patient_name, doctor_name, doctor_specialization): ViewRow,
) -> MappingView {
    MappingView {
        mapping: row.into(),
        patient_name,
        doctor_name,
        doctor_specialization,
    }
}

/// Deactivates every active mapping of a patient being archived (inside its transaction).
pub(crate) fn deactivate_for_patient(
    connection: &mut DbConnection,
    patient: PatientId,
    at: Timestamp,
) -> Result<(), RepoError> {
    lock_doctors(
        connection,
        mappings::table
            .filter(mappings::patient_id.eq(patient.0))
            .filter(mappings::is_active.eq(true))
            .select(mappings::doctor_id)
            .into_boxed(),
    )?;
    diesel::update(
        mappings::table
            .filter(mappings::patient_id.eq(patient.0))
            .filter(mappings::is_active.eq(true)),
    )
    .set(removal(at))
    .execute(connection)
    .map(drop)
    .map_err(from_diesel)
}

/// Deactivates every active mapping of a doctor being archived (inside its transaction, which
/// has already locked the doctor by archiving it: the order of [`lock_doctors`]), returning
/// the ended mappings' ids and patients, by mapping id.
pub(crate) fn deactivate_for_doctor(
    connection: &mut DbConnection,
    doctor: DoctorId,
    at: Timestamp,
) -> Result<Vec<(MappingId, PatientId)>, RepoError> {
    let mut ended: Vec<(i64, i64)> = diesel::update(
        mappings::table
            .filter(mappings::doctor_id.eq(doctor.0))
            .filter(mappings::is_active.eq(true)),
    )
    .set(removal(at))
    .returning((mappings::id, mappings::patient_id))
    .load(connection)
    .map_err(from_diesel)?;
    ended.sort_unstable();
    Ok(ended
        .into_iter()
        .map(|(id, patient)| (MappingId(id), PatientId(patient)))
        .collect())
}

#[expect(clippy::type_complexity, reason = "Diesel's assignment tuple type")]
fn removal(
    at: Timestamp,
) -> (
    diesel::dsl::Eq<mappings::is_active, bool>,
    diesel::dsl::Eq<mappings::removed_at, Option<NaiveDateTime>>,
    diesel::dsl::Eq<mappings::updated_at, NaiveDateTime>,
) {
    (
        mappings::is_active.eq(false),
        mappings::removed_at.eq(Some(to_db(at))),
        mappings::updated_at.eq(to_db(at)),
    )
}

fn view_by_id(connection: &mut DbConnection, id: i64) -> Result<Option<MappingView>, RepoError> {
    mappings::table
        .inner_join(patients::table)
        .inner_join(doctors::table)
        .filter(mappings::id.eq(id))
        .select((
            mappings::all_columns,
            patients::name,
            doctors::name,
            doctors::specialization,
        ))
        .first::<ViewRow>(connection)
        .optional()
        .map(|row| row.map(into_view))
        .map_err(from_diesel)
}

/// [`MappingRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselMappingRepository {
    pool: DbPool,
}

impl DieselMappingRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// The mappings matching every filter given, with their patient and doctor (a macro: the
/// boxed join's type cannot be named).
macro_rules! matching_mappings {
    ($filter:expr) => {{
        let filter: &MappingFilter = $filter;
        let mut query = mappings::table
            .inner_join(patients::table)
            .inner_join(doctors::table)
            .into_boxed();
        query = crate::care_teams::within_scope!(query, filter.scope);
        if let Some(patient) = filter.patient {
            query = query.filter(mappings::patient_id.eq(patient.0));
        }
        if let Some(doctor) = filter.doctor {
            query = query.filter(mappings::doctor_id.eq(doctor.0));
        }
        if let Some(active) = filter.active {
            query = query.filter(mappings::is_active.eq(active));
        }
        query
    }};
}

impl MappingRepository for DieselMappingRepository {
    fn find(&self, id: MappingId) -> Result<Option<Mapping>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        mappings::table
            .find(id.0)
            .first::<MappingRow>(&mut *connection)
            .optional()
            .map(|row| row.map(Mapping::from))
            .map_err(from_diesel)
    }

    fn list(&self, filter: &MappingFilter, page: Page) -> Result<PageOf<MappingView>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = matching_mappings!(filter)
            .select((
                mappings::all_columns,
                patients::name,
                doctors::name,
                doctors::specialization,
            ))
            .order((mappings::assigned_date.desc(), mappings::id.desc()))
            .limit(page.limit())
            .offset(page.offset())
            .load::<ViewRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = matching_mappings!(filter)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(PageOf {
            items: rows.into_iter().map(into_view).collect(),
            total: total.unsigned_abs(),
        })
    }

    fn patient_with_active(
        &self,
        patient: PatientId,
    ) -> Result<Option<PatientAssignments>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = load_static::<_, (PatientRow, Option<MappingRow>, Option<DoctorRow>)>(
            &mut connection,
            patients::table
                .left_join(
                    mappings::table.on(mappings::patient_id
                        .eq(patients::id)
                        .and(mappings::is_active.eq(true))),
                )
                .left_join(doctors::table.on(doctors::id.eq(mappings::doctor_id)))
                .filter(patients::id.eq(patient.0))
                .select((
                    PATIENT_COLUMNS,
                    mappings::all_columns.nullable(),
                    DOCTOR_COLUMNS.nullable(),
                ))
                .order((mappings::assigned_date.asc(), mappings::id.asc())),
        )
        .map_err(from_diesel)?;
        let mut rows = rows.into_iter();
        let Some((patient, first_mapping, first_doctor)) = rows.next() else {
            return Ok(None);
        };
        // Every row repeats the patient; a patient without active mappings is one row of
        // NULLs on their side, and the foreign key gives every mapping its doctor.
        let assignments = std::iter::once((first_mapping, first_doctor))
            .chain(rows.map(|(_, mapping, doctor)| (mapping, doctor)))
            .filter_map(|(mapping, doctor)| mapping.zip(doctor))
            .map(|(mapping, doctor)| Ok((mapping.into(), with_count(doctor)?)))
            .collect::<Result<_, RepoError>>()?;
        Ok(Some(PatientAssignments {
            patient: Patient::try_from(patient)?,
            assignments,
        }))
    }

    fn active_for_patients(
        &self,
        patients: &[PatientId],
    ) -> Result<Vec<(Mapping, DoctorWithCount)>, RepoError> {
        if patients.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = patients.iter().map(|patient| patient.0).collect();
        let mut connection = checkout(&self.pool)?;
        mappings::table
            .inner_join(doctors::table)
            .filter(mappings::patient_id.eq_any(ids))
            .filter(mappings::is_active.eq(true))
            .select((mappings::all_columns, DOCTOR_COLUMNS))
            .order((
                mappings::patient_id.asc(),
                mappings::assigned_date.asc(),
                mappings::id.asc(),
            ))
            .load::<(MappingRow, DoctorRow)>(&mut *connection)
            .map_err(from_diesel)?
            .into_iter()
            .map(|(mapping, doctor)| Ok((mapping.into(), with_count(doctor)?)))
            .collect()
    }

    fn has_active(&self, patient: PatientId, doctor: DoctorId) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::select(diesel::dsl::exists(
            mappings::table
                .filter(mappings::patient_id.eq(patient.0))
                .filter(mappings::doctor_id.eq(doctor.0))
                .filter(mappings::is_active.eq(true)),
        ))
        .get_result(&mut *connection)
        .map_err(from_diesel)
    }

    fn insert(
        &self,
        patient: PatientId,
        doctor: DoctorId,
        assigned_by: UserId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            if !both_accept_assignments(connection, patient, doctor)? {
                return Ok(None);
            }
            let id: i64 = diesel::insert_into(mappings::table)
                .values((
                    mappings::patient_id.eq(patient.0),
                    mappings::doctor_id.eq(doctor.0),
                    mappings::assigned_by.eq(assigned_by.0),
                    mappings::assigned_date.eq(to_db(at)),
                    mappings::notes.eq(notes),
                    mappings::is_active.eq(true),
                    mappings::updated_at.eq(to_db(at)),
                ))
                .returning(mappings::id)
                .get_result(connection)
                .map_err(from_diesel)?;
            append_in(
                connection,
                self.pool.audit_key(),
                &AuditEvent {
                    resource_id: Some(id),
                    patient_id: Some(patient),
                    ..audit.clone()
                },
            )?;
            view_by_id(connection, id)?
                .map(Some)
                .ok_or_else(|| RepoError::Internal(format!("mapping {id} vanished after insert")))
        })
    }

    fn update_notes(
        &self,
        id: MappingId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let updated = diesel::update(
                mappings::table
                    .find(id.0)
                    .filter(mappings::is_active.eq(true)),
            )
            .set((
                mappings::notes.eq(notes),
                mappings::updated_at.eq(to_db(at)),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
            if updated != 1 {
                return Ok(None);
            }
            append_in(connection, self.pool.audit_key(), audit)?;
            view_by_id(connection, id.0)
        })
    }

    fn deactivate(
        &self,
        id: MappingId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            lock_doctors(
                connection,
                mappings::table
                    .find(id.0)
                    .filter(mappings::is_active.eq(true))
                    .select(mappings::doctor_id)
                    .into_boxed(),
            )?;
            let updated = diesel::update(
                mappings::table
                    .find(id.0)
                    .filter(mappings::is_active.eq(true)),
            )
            .set(removal(at))
            .execute(connection)
            .map_err(from_diesel)?;
            if updated != 1 {
                return Ok(false);
            }
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(true)
        })
    }
}
