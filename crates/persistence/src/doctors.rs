//! Doctors in the database, each with the patient count its row keeps.

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use healthcare_core::ports::{DoctorFilter, DoctorRepository, DoctorWithCount};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::doctor::{Doctor, DoctorDetails, DoctorId, DoctorSearch};
use healthcare_domain::record_search::{SearchPage, SearchPaging, fold};
use healthcare_domain::{Timestamp, UserId};

use crate::audit::append_all_in;
use crate::connection::{
    DbConnection, DbPool, checkout, convert_rows, load_static_as, write_transaction,
};
use crate::doctor_rows::{DOCTOR_COLUMNS, DOCTOR_VERSION_COLUMNS, DoctorRow, with_count};
use crate::errors::from_diesel;
use crate::kept_totals::{Directory, KeptTotal};
use crate::record_search::{into_page, name_criterion, resolve_anchor, seek_in_order};
use crate::schema::{doctor_versions, doctors};
use crate::search::{LIKE_ESCAPE, contains_pattern, lower};
use crate::time::to_db;

/// [`DoctorRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselDoctorRepository {
    pool: DbPool,
}

impl DieselDoctorRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

type Doctors = doctors::BoxedQuery<'static, crate::connection::DbBackend>;

fn matching_doctors(filter: &DoctorFilter) -> Doctors {
    let mut query = doctors::table.into_boxed();
    if let Some(term) = &filter.search {
        let pattern = contains_pattern(term);
        query = query.filter(
            lower(doctors::name)
                .like(pattern.clone())
                .escape(LIKE_ESCAPE)
                .or(doctors::specialization_lower
                    .like(pattern)
                    .escape(LIKE_ESCAPE)),
        );
    }
    if let Some(term) = &filter.specialization {
        query = query.filter(
            doctors::specialization_lower
                .like(contains_pattern(term))
                .escape(LIKE_ESCAPE),
        );
    }
    if let Some(available) = filter.available {
        query = query.filter(doctors::is_available.eq(available));
    }
    match filter.archived {
        Some(true) => query = query.filter(doctors::archived_at.is_not_null()),
        Some(false) => query = query.filter(doctors::archived_at.is_null()),
        None => {}
    }
    query
}

/// The doctors `search` holds: what its `visible` filter holds, narrowed by each criterion.
fn searched_doctors(search: &DoctorSearch) -> Doctors {
    let mut query = matching_doctors(&search.visible).filter(doctors::archived_at.is_null());
    if let Some(ids) = &search.ids {
        query = query.filter(doctors::id.eq_any(ids.iter().map(|id| id.0).collect::<Vec<_>>()));
    }
    for alternatives in &search.names {
        query = query.filter(name_criterion!(doctors, alternatives));
    }
    if let Some(values) = &search.telecoms {
        let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
        query = query.filter(
            doctors::phone
                .eq_any(values.clone())
                .or(doctors::email.eq_any(values)),
        );
    }
    query
}

fn find_doctor(connection: &mut DbConnection, id: DoctorId) -> Result<Option<Doctor>, RepoError> {
    doctors::table
        .find(id.0)
        .select(DOCTOR_COLUMNS)
        .first::<DoctorRow>(connection)
        .optional()
        .map_err(from_diesel)?
        .map(Doctor::try_from)
        .transpose()
}

impl DoctorRepository for DieselDoctorRepository {
    fn find(&self, id: DoctorId) -> Result<Option<DoctorWithCount>, RepoError> {
        doctors::table
            .find(id.0)
            .select(DOCTOR_COLUMNS)
            .first::<DoctorRow>(&mut *checkout(&self.pool)?)
            .optional()
            .map_err(from_diesel)?
            .map(with_count)
            .transpose()
    }

    fn list(
        &self,
        filter: &DoctorFilter,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let whole_directory = filter.search.is_none()
            && filter.specialization.is_none()
            && filter.available.is_none();
        let (items, total) = if whole_directory {
            let total = KeptTotal::new(Directory, filter.archived);
            let mut carried = None;
            let mut convert = |(row, total): (DoctorRow, i64)| {
                carried = Some(total);
                with_count(row)
            };
            // Statically typed, as the patients' clinic list (see there).
            macro_rules! page_of {
                ($doctors:expr) => {
                    load_static_as(
                        &mut connection,
                        $doctors
                            .order((doctors::name.asc(), doctors::id.asc()))
                            .limit(page.limit())
                            .offset(page.offset())
                            .select((DOCTOR_COLUMNS, total)),
                        page.capacity(),
                        &mut convert,
                    )
                };
            }
            let items = match filter.archived {
                Some(false) => page_of!(doctors::table.filter(doctors::archived_at.is_null())),
                Some(true) => page_of!(doctors::table.filter(doctors::archived_at.is_not_null())),
                None => page_of!(doctors::table),
            }?;
            let total = total
                .or_read(carried, &mut connection)
                .map_err(from_diesel)?;
            (items, total)
        } else {
            let rows = matching_doctors(filter)
                .order((doctors::name.asc(), doctors::id.asc()))
                .limit(page.limit())
                .offset(page.offset())
                .select(DOCTOR_COLUMNS)
                .load_iter::<DoctorRow, DefaultLoadingMode>(&mut *connection)
                .map_err(from_diesel)?;
            let items = convert_rows(rows, page.capacity(), with_count)?;
            let total = matching_doctors(filter)
                .count()
                .get_result(&mut *connection)
                .map_err(from_diesel)?;
            (items, total)
        };
        Ok(PageOf {
            items,
            total: total.unsigned_abs(),
        })
    }

    fn version(&self, id: DoctorId, version: i64) -> Result<Option<Doctor>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let current = find_doctor(&mut connection, id)?;
        if current
            .as_ref()
            .is_none_or(|current| current.version == version)
        {
            return Ok(current);
        }
        doctor_versions::table
            .find((id.0, version))
            .select(DOCTOR_VERSION_COLUMNS)
            .first::<DoctorRow>(&mut *connection)
            .optional()
            .map_err(from_diesel)?
            .map(Doctor::try_from)
            .transpose()
    }

    fn versions(
        &self,
        id: DoctorId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Doctor>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let Some(current) = find_doctor(&mut connection, id)? else {
            return Ok(Vec::new());
        };
        // As for patients: kept rows below the current version as read.
        let below = below.unwrap_or(i64::MAX).min(current.version + 1);
        let mut versions = Vec::new();
        if current.version < below && limit > 0 {
            versions.push(current);
        }
        let kept_below = below.min(versions.first().map_or(below, |current| current.version));
        let rest = limit.saturating_sub(versions.len() as u64);
        let kept = doctor_versions::table
            .filter(doctor_versions::doctor_id.eq(id.0))
            .filter(doctor_versions::version.lt(kept_below))
            .order(doctor_versions::version.desc())
            .limit(i64::try_from(rest).unwrap_or(i64::MAX))
            .select(DOCTOR_VERSION_COLUMNS)
            .load::<DoctorRow>(&mut *connection)
            .map_err(from_diesel)?;
        for row in kept {
            versions.push(Doctor::try_from(row)?);
        }
        Ok(versions)
    }

    fn search(
        &self,
        search: &DoctorSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Doctor>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let paging = &resolve_anchor(paging, |anchor| {
            doctors::table
                .find(anchor)
                .select(doctors::name_folded)
                .first::<Option<String>>(&mut *connection)
                .optional()
        })?;
        let rows = if paging.count == 0 {
            Vec::new()
        } else {
            let rows = seek_in_order!(
                searched_doctors(search),
                doctors,
                doctors::name_folded,
                paging
            )
            .select(DOCTOR_COLUMNS)
            .load_iter::<DoctorRow, DefaultLoadingMode>(&mut *connection)
            .map_err(from_diesel)?;
            let capacity = usize::try_from(paging.rows_read()).unwrap_or_default();
            convert_rows(rows, capacity, Doctor::try_from)?
        };
        let total = if paging.with_total {
            let total: i64 = searched_doctors(search)
                .count()
                .get_result(&mut *connection)
                .map_err(from_diesel)?;
            Some(total.unsigned_abs())
        } else {
            None
        };
        Ok(into_page(rows, paging, total))
    }

    fn insert(
        &self,
        created_by: UserId,
        details: &DoctorDetails,
        at: Timestamp,
    ) -> Result<DoctorWithCount, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let row = diesel::insert_into(doctors::table)
            .values((
                doctors::created_by.eq(created_by.0),
                doctors::name.eq(details.name.as_str()),
                doctors::name_folded.eq(fold(details.name.as_str())),
                doctors::specialization.eq(details.specialization.as_str()),
                doctors::specialization_lower.eq(details.specialization.as_str().to_lowercase()),
                doctors::phone.eq(details.phone.as_str()),
                doctors::email.eq(details.email.as_str()),
                doctors::experience_years.eq(i32::from(details.experience_years.value())),
                doctors::qualification.eq(details.qualification.as_str()),
                doctors::consultation_fee_cents.eq(details.consultation_fee.cents()),
                doctors::is_available.eq(details.is_available),
                doctors::linked_user_id.eq(details.linked_user.map(|user| user.0)),
                doctors::created_at.eq(to_db(at)),
                doctors::updated_at.eq(to_db(at)),
                doctors::version.eq(1_i64),
            ))
            .returning(DOCTOR_COLUMNS)
            .get_result::<DoctorRow>(&mut *connection)
            .map_err(from_diesel)?;
        with_count(row)
    }

    fn update(
        &self,
        id: DoctorId,
        details: &DoctorDetails,
        expected_version: i64,
        at: Timestamp,
    ) -> Result<Option<DoctorWithCount>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::update(
            doctors::table
                .find(id.0)
                .filter(doctors::version.eq(expected_version))
                .filter(doctors::archived_at.is_null()),
        )
        .set((
            doctors::name.eq(details.name.as_str()),
            doctors::name_folded.eq(fold(details.name.as_str())),
            doctors::specialization.eq(details.specialization.as_str()),
            doctors::specialization_lower.eq(details.specialization.as_str().to_lowercase()),
            doctors::phone.eq(details.phone.as_str()),
            doctors::email.eq(details.email.as_str()),
            doctors::experience_years.eq(i32::from(details.experience_years.value())),
            doctors::qualification.eq(details.qualification.as_str()),
            doctors::consultation_fee_cents.eq(details.consultation_fee.cents()),
            doctors::is_available.eq(details.is_available),
            doctors::linked_user_id.eq(details.linked_user.map(|user| user.0)),
            doctors::updated_at.eq(to_db(at)),
            doctors::version.eq(expected_version + 1),
        ))
        .returning(DOCTOR_COLUMNS)
        .get_result::<DoctorRow>(&mut *connection)
        .optional()
        .map_err(from_diesel)?
        .map(with_count)
        .transpose()
    }

    fn archive(&self, id: DoctorId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let archived = diesel::update(
                doctors::table
                    .find(id.0)
                    .filter(doctors::archived_at.is_null()),
            )
            .set((
                doctors::archived_at.eq(Some(to_db(at))),
                doctors::updated_at.eq(to_db(at)),
                doctors::version.eq(doctors::version + 1),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
            if archived != 1 {
                return Ok(false);
            }
            let events: Vec<AuditEvent> =
                crate::mappings::deactivate_for_doctor(connection, id, at)?
                    .into_iter()
                    .map(|(mapping, patient)| AuditEvent {
                        resource_id: Some(mapping.0),
                        patient_id: Some(patient),
                        ..audit.clone()
                    })
                    .collect();
            append_all_in(connection, self.pool.audit_key(), &events)?;
            Ok(true)
        })
    }

    fn restore(&self, id: DoctorId, at: Timestamp) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        // Mappings ended by the archiving stay ended: staff re-assign deliberately.
        diesel::update(
            doctors::table
                .find(id.0)
                .filter(doctors::archived_at.is_not_null()),
        )
        .set((
            doctors::archived_at.eq(None::<NaiveDateTime>),
            doctors::updated_at.eq(to_db(at)),
            doctors::version.eq(doctors::version + 1),
        ))
        .execute(&mut *connection)
        .map(|restored| restored == 1)
        .map_err(from_diesel)
    }
}
