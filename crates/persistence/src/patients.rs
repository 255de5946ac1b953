//! Patients in the database.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use healthcare_core::ports::{PatientFilter, PatientRepository};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::access::CareTie;
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::clinic::{ClinicId, ClinicScope};
use healthcare_domain::patient::{Patient, PatientDetails, PatientId, PatientSearch};
use healthcare_domain::record_search::{SearchPage, SearchPaging, TimeBound, fold};
use healthcare_domain::{Timestamp, UserId};

use crate::audit::{append_in, new_row};
use crate::care_teams::{care_tie, under_grant, within_scope};
use crate::connection::{
    DbConnection, DbPool, checkout, convert_rows, load_static_as, write_transaction,
};
use crate::errors::from_diesel;
use crate::kept_totals::{ClinicPatients, KeptTotal};
use crate::one_round_trip::{InsertWithAudit, ReservedPatientIds};
use crate::patient_rows::{PATIENT_COLUMNS, PatientRow, VERSION_COLUMNS};
use crate::record_search::{into_page, name_criterion, resolve_anchor, seek_in_order};
use crate::schema::{audit_events, patient_versions, patients};
use crate::search::{LIKE_ESCAPE, contains_pattern};
use crate::time::to_db;

/// [`PatientRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselPatientRepository {
    pool: DbPool,
    reserved_ids: Arc<ReservedPatientIds>,
}

impl DieselPatientRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            reserved_ids: Arc::new(ReservedPatientIds::default()),
        }
    }
}

type Patients = patients::BoxedQuery<'static, crate::connection::DbBackend>;

fn matching_patients(filter: &PatientFilter) -> Patients {
    let mut query = patients::table.into_boxed();
    if let Some(term) = &filter.search {
        query = query.filter(
            patients::name_lower
                .like(contains_pattern(term))
                .escape(LIKE_ESCAPE),
        );
    }
    if let Some(owner) = filter.owner {
        query = query.filter(patients::owner_id.eq(owner.0));
    }
    query = within_scope!(query, filter.scope);
    match filter.archived {
        Some(true) => query = query.filter(patients::archived_at.is_not_null()),
        Some(false) => query = query.filter(patients::archived_at.is_null()),
        None => {}
    }
    query
}

/// The patients `search` holds: what its `visible` filter holds, narrowed by each criterion.
fn searched_patients(search: &PatientSearch) -> Patients {
    let mut query = matching_patients(&search.visible).filter(patients::archived_at.is_null());
    if let Some(ids) = &search.ids {
        query = query.filter(patients::id.eq_any(ids.iter().map(|id| id.0).collect::<Vec<_>>()));
    }
    for alternatives in &search.names {
        query = query.filter(name_criterion!(patients, alternatives));
    }
    if let Some(genders) = &search.genders {
        let codes: Vec<&'static str> = genders.iter().map(|gender| gender.code()).collect();
        query = query.filter(patients::gender.eq_any(codes));
    }
    if let Some(values) = &search.telecoms {
        let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
        query = query.filter(
            patients::phone
                .eq_any(values.clone())
                .or(patients::email.eq_any(values)),
        );
    }
    if let Some(doctors) = &search.assigned_to {
        use crate::schema::patient_doctor_mappings as mappings;
        let doctors: Vec<i64> = doctors.iter().map(|doctor| doctor.0).collect();
        query = query.filter(diesel::dsl::exists(
            mappings::table
                .filter(mappings::patient_id.eq(patients::id))
                .filter(mappings::is_active.eq(true))
                .filter(mappings::doctor_id.eq_any(doctors)),
        ));
    }
    for bound in &search.updated {
        query = match *bound {
            TimeBound::After(at) => query.filter(patients::updated_at.gt(to_db(at))),
            TimeBound::NotBefore(at) => query.filter(patients::updated_at.ge(to_db(at))),
            TimeBound::Before(at) => query.filter(patients::updated_at.lt(to_db(at))),
            TimeBound::NotAfter(at) => query.filter(patients::updated_at.le(to_db(at))),
        };
    }
    query
}

/// The kept versions of a patient below `below`, newest first, at most `limit`.
fn kept_versions(
    connection: &mut DbConnection,
    id: PatientId,
    below: i64,
    limit: u64,
) -> Result<Vec<Patient>, RepoError> {
    patient_versions::table
        .filter(patient_versions::patient_id.eq(id.0))
        .filter(patient_versions::version.lt(below))
        .order(patient_versions::version.desc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select(VERSION_COLUMNS)
        .load::<PatientRow>(connection)
        .map_err(from_diesel)?
        .into_iter()
        .map(Patient::try_from)
        .collect()
}

/// The clinic whose every patient (live, archived or both) `filter` asks for, with no search,
/// owner or care team narrowing it: the list whose total the triggers keep.
fn whole_clinic(filter: &PatientFilter) -> Option<ClinicId> {
    match filter {
        PatientFilter {
            search: None,
            owner: None,
            scope:
                Some(ClinicScope {
                    clinic,
                    care_team_of: None,
                }),
            archived: _,
        } => Some(*clinic),
        _ => None,
    }
}

fn find_row(connection: &mut DbConnection, id: PatientId) -> Result<Option<Patient>, RepoError> {
    let query = patients::table.find(id.0).select(PATIENT_COLUMNS).limit(1);
    Ok(load_static_as::<_, PatientRow, _>(connection, query, 1, Patient::try_from)?.pop())
}

impl PatientRepository for DieselPatientRepository {
    fn find(&self, id: PatientId) -> Result<Option<Patient>, RepoError> {
        find_row(&mut *checkout(&self.pool)?, id)
    }

    fn list(&self, filter: &PatientFilter, page: Page) -> Result<PageOf<Patient>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let (items, total) = match whole_clinic(filter) {
            Some(clinic) => {
                let total = KeptTotal::new(ClinicPatients(clinic.0), filter.archived);
                let mut carried = None;
                let mut convert = |(row, total): (PatientRow, i64)| {
                    carried = Some(total);
                    Patient::try_from(row)
                };
                // Statically typed (one per `archived` filter), unlike the filtered lists'
                // boxed query, so that Diesel finds the cached statement by its type instead
                // of building its SQL on every request: the list every front end pages.
                macro_rules! page_of {
                    ($clinic_patients:expr) => {
                        load_static_as(
                            &mut connection,
                            $clinic_patients
                                .order((patients::created_at.desc(), patients::id.desc()))
                                .limit(page.limit())
                                .offset(page.offset())
                                .select((PATIENT_COLUMNS, total)),
                            page.capacity(),
                            &mut convert,
                        )
                    };
                }
                let in_clinic = patients::table.filter(patients::clinic_id.eq(clinic.0));
                let items = match filter.archived {
                    Some(false) => page_of!(in_clinic.filter(patients::archived_at.is_null())),
                    Some(true) => page_of!(in_clinic.filter(patients::archived_at.is_not_null())),
                    None => page_of!(in_clinic),
                }?;
                let total = total
                    .or_read(carried, &mut connection)
                    .map_err(from_diesel)?;
                (items, total)
            }
            None => {
                let rows = matching_patients(filter)
                    .order((patients::created_at.desc(), patients::id.desc()))
                    .limit(page.limit())
                    .offset(page.offset())
                    .select(PATIENT_COLUMNS)
                    .load_iter::<PatientRow, DefaultLoadingMode>(&mut *connection)
                    .map_err(from_diesel)?;
                let items = convert_rows(rows, page.capacity(), Patient::try_from)?;
                let total = matching_patients(filter)
                    .count()
                    .get_result(&mut *connection)
                    .map_err(from_diesel)?;
                (items, total)
            }
        };
        Ok(PageOf {
            items,
            total: total.unsigned_abs(),
        })
    }

    fn version(&self, id: PatientId, version: i64) -> Result<Option<Patient>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let current = find_row(&mut connection, id)?;
        if current
            .as_ref()
            .is_none_or(|current| current.version == version)
        {
            return Ok(current);
        }
        patient_versions::table
            .find((id.0, version))
            .select(VERSION_COLUMNS)
            .first::<PatientRow>(&mut *connection)
            .optional()
            .map_err(from_diesel)?
            .map(Patient::try_from)
            .transpose()
    }

    fn versions(
        &self,
        id: PatientId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Patient>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let Some(current) = find_row(&mut connection, id)? else {
            return Ok(Vec::new());
        };
        // Kept rows are below the current version as read, so a change committing in between
        // never lists a version twice.
        let below = below.unwrap_or(i64::MAX).min(current.version + 1);
        let mut versions = Vec::new();
        if current.version < below && limit > 0 {
            versions.push(current);
        }
        let rest = limit.saturating_sub(versions.len() as u64);
        let kept_below = below.min(versions.first().map_or(below, |current| current.version));
        versions.extend(kept_versions(&mut connection, id, kept_below, rest)?);
        Ok(versions)
    }

    fn search(
        &self,
        search: &PatientSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Patient>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let paging = &resolve_anchor(paging, |anchor| {
            patients::table
                .find(anchor)
                .select(patients::name_folded)
                .first::<Option<String>>(&mut *connection)
                .optional()
        })?;
        let page = seek_in_order!(
            searched_patients(search),
            patients,
            patients::name_folded,
            paging
        );
        // An unnarrowed search counts from the clinic's kept totals, in the page's statement.
        let kept_total = whole_clinic(&search.visible)
            .filter(|_| paging.with_total && search.is_unnarrowed())
            .map(|clinic| KeptTotal::new(ClinicPatients(clinic.0), Some(false)));
        let capacity = usize::try_from(paging.rows_read()).unwrap_or_default();
        let (rows, total) = match kept_total {
            Some(total) => {
                let mut carried = None;
                let rows = if paging.count == 0 {
                    Vec::new()
                } else {
                    convert_rows(
                        page.select((PATIENT_COLUMNS, total))
                            .load_iter::<(PatientRow, i64), DefaultLoadingMode>(&mut *connection)
                            .map_err(from_diesel)?,
                        capacity,
                        |(row, total)| {
                            carried = Some(total);
                            Patient::try_from(row)
                        },
                    )?
                };
                let total = total
                    .or_read(carried, &mut connection)
                    .map_err(from_diesel)?;
                (rows, Some(total))
            }
            None => {
                let rows = if paging.count == 0 {
                    Vec::new()
                } else {
                    convert_rows(
                        page.select(PATIENT_COLUMNS)
                            .load_iter::<PatientRow, DefaultLoadingMode>(&mut *connection)
                            .map_err(from_diesel)?,
                        capacity,
                        Patient::try_from,
                    )?
                };
                let total = if paging.with_total {
                    Some(
                        searched_patients(search)
                            .count()
                            .get_result::<i64>(&mut *connection)
                            .map_err(from_diesel)?,
                    )
                } else {
                    None
                };
                (rows, total)
            }
        };
        let total = total.map(i64::unsigned_abs);
        Ok(into_page(rows, paging, total))
    }

    fn care_tie(
        &self,
        patient: PatientId,
        user: UserId,
        at: Timestamp,
    ) -> Result<CareTie, RepoError> {
        care_tie(&mut *checkout(&self.pool)?, patient, user, at)
    }

    fn under_grant(
        &self,
        user: UserId,
        patients: &[PatientId],
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        under_grant(&mut *checkout(&self.pool)?, user, patients, at)
    }

    fn insert(
        &self,
        clinic: ClinicId,
        owner: UserId,
        details: &PatientDetails,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Patient, RepoError> {
        insert_audited(
            &mut *checkout(&self.pool)?,
            &self.pool,
            &self.reserved_ids,
            (clinic, owner, details, at),
            audit,
        )
    }

    fn update(
        &self,
        id: PatientId,
        details: &PatientDetails,
        expected_version: i64,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Patient>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let updated = update_row(connection, id, details, expected_version, at)?;
            if updated.is_some() {
                append_in(connection, self.pool.audit_key(), audit)?;
            }
            Ok(updated)
        })
    }

    fn archive(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let archived = diesel::update(
                patients::table
                    .find(id.0)
                    .filter(patients::archived_at.is_null()),
            )
            .set((
                patients::archived_at.eq(Some(to_db(at))),
                patients::updated_at.eq(to_db(at)),
                patients::version.eq(patients::version + 1),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
            if archived == 0 {
                return Ok(false);
            }
            crate::mappings::deactivate_for_patient(connection, id, at)?;
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(true)
        })
    }

    fn restore(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let restored = diesel::update(
                patients::table
                    .find(id.0)
                    .filter(patients::archived_at.is_not_null()),
            )
            .set((
                patients::archived_at.eq(None::<NaiveDateTime>),
                patients::updated_at.eq(to_db(at)),
                patients::version.eq(patients::version + 1),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
            if restored == 0 {
                return Ok(false);
            }
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(true)
        })
    }
}

/// The columns of a new patient (a macro: the tuple's type is Diesel's to spell).
macro_rules! new_patient {
    ($clinic:expr, $owner:expr, $details:expr, $at:expr) => {{
        let (clinic, owner, details, at): (ClinicId, UserId, &PatientDetails, Timestamp) =
            ($clinic, $owner, $details, $at);
        (
            patients::owner_id.eq(owner.0),
            patients::name.eq(details.name.as_str()),
            patients::name_lower.eq(details.name.as_str().to_lowercase()),
            patients::name_folded.eq(fold(details.name.as_str())),
            patients::age.eq(i32::from(details.age.value())),
            patients::gender.eq(details.gender.code()),
            patients::phone.eq(details.phone.as_str()),
            patients::email.eq(details.email.as_str()),
            patients::address.eq(&details.address),
            patients::medical_history.eq(&details.medical_history),
            patients::created_at.eq(to_db(at)),
            patients::updated_at.eq(to_db(at)),
            patients::version.eq(1_i64),
            patients::clinic_id.eq(clinic.0),
        )
    }};
}

/// Inserts the patient and its audit row (the event, naming the new patient) together.
/// PostgreSQL: one statement with an id reserved beforehand ([`InsertWithAudit`]). SQLite:
/// one write transaction (in-process, so its statements cost no round trips).
fn insert_audited(
    connection: &mut DbConnection,
    pool: &DbPool,
    reserved_ids: &ReservedPatientIds,
    new: (ClinicId, UserId, &PatientDetails, Timestamp),
    audit: &AuditEvent,
) -> Result<Patient, RepoError> {
    let (clinic, owner, details, at) = new;
    let naming = |id: i64| AuditEvent {
        resource_id: Some(id),
        patient_id: Some(PatientId(id)),
        ..audit.clone()
    };
    let row = match connection {
        DbConnection::Pg(inner) => {
            let id = reserved_ids.next(inner)?;
            let event = naming(id);
            InsertWithAudit::new(
                diesel::insert_into(patients::table)
                    .values((
                        patients::id.eq(id),
                        new_patient!(clinic, owner, details, at),
                    ))
                    .returning(PATIENT_COLUMNS),
                diesel::insert_into(audit_events::table).values(new_row(pool.audit_key(), &event)),
            )
            .get_result::<PatientRow>(inner)
            .map_err(from_diesel)?
        }
        DbConnection::Sqlite(_) => write_transaction(connection, |connection| {
            let row = diesel::insert_into(patients::table)
                .values(new_patient!(clinic, owner, details, at))
                .returning(PATIENT_COLUMNS)
                .get_result::<PatientRow>(connection)
                .map_err(from_diesel)?;
            append_in(connection, pool.audit_key(), &naming(row.id))?;
            Ok(row)
        })?,
    };
    Patient::try_from(row)
}

fn update_row(
    connection: &mut DbConnection,
    id: PatientId,
    details: &PatientDetails,
    expected_version: i64,
    at: Timestamp,
) -> Result<Option<Patient>, RepoError> {
    diesel::update(
        patients::table
            .find(id.0)
            .filter(patients::version.eq(expected_version))
            .filter(patients::archived_at.is_null()),
    )
    .set((
        patients::name.eq(details.name.as_str()),
        patients::name_lower.eq(details.name.as_str().to_lowercase()),
        patients::name_folded.eq(fold(details.name.as_str())),
        patients::age.eq(i32::from(details.age.value())),
        patients::gender.eq(details.gender.code()),
        patients::phone.eq(details.phone.as_str()),
        patients::email.eq(details.email.as_str()),
        patients::address.eq(&details.address),
        patients::medical_history.eq(&details.medical_history),
        patients::updated_at.eq(to_db(at)),
        patients::version.eq(expected_version + 1),
    ))
    .returning(PATIENT_COLUMNS)
    .get_result::<PatientRow>(connection)
    .optional()
    .map_err(from_diesel)?
    .map(Patient::try_from)
    .transpose()
}
