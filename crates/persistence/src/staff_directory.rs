//! The records as the staff admin site sees them: every owner's, archived ones included. Each
//! list is one page query and one count query, whatever the page size.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::patient::Patient;
use healthcare_domain::{Timestamp, User};
use healthcare_ports::ports::{
    DoctorSearch, DoctorWithCount, MappingSearch, MappingView, PatientFilter, StaffDirectory,
    UserFilter,
};
use healthcare_ports::{Page, PageOf, RepoError};

use crate::connection::{DbBackend, DbPool, checkout};
use crate::doctor_rows::{DoctorRow, patient_count, with_count};
use crate::errors::from_diesel;
use crate::mappings::{ViewRow, into_view};
use crate::patients::PatientRow;
use crate::schema::{doctors, patient_doctor_mappings as mappings, patients, users};
use crate::search::{LIKE_ESCAPE, contains_pattern, lower};
use crate::time::to_db;
use crate::users::UserRow;

/// [`StaffDirectory`] over the shared pool.
#[derive(Clone)]
pub struct DieselStaffDirectory {
    pool: DbPool,
}

impl DieselStaffDirectory {
    /// A directory using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

fn matching_users(filter: &UserFilter) -> users::BoxedQuery<'static, DbBackend> {
    let mut query = users::table.into_boxed();
    if let Some(term) = &filter.search {
        let pattern = contains_pattern(term);
        query = query.filter(
            lower(users::name)
                .like(pattern.clone())
                .escape(LIKE_ESCAPE)
                .or(users::email_lower.like(pattern).escape(LIKE_ESCAPE)),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(users::is_active.eq(active));
    }
    if let Some(staff) = filter.staff {
        query = query.filter(users::is_staff.eq(staff));
    }
    query
}

fn matching_patients(filter: &PatientFilter) -> patients::BoxedQuery<'static, DbBackend> {
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
    match filter.archived {
        Some(true) => query = query.filter(patients::archived_at.is_not_null()),
        Some(false) => query = query.filter(patients::archived_at.is_null()),
        None => {}
    }
    query
}

fn matching_doctors(filter: &DoctorSearch) -> doctors::BoxedQuery<'static, DbBackend> {
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
    match filter.archived {
        Some(true) => query = query.filter(doctors::archived_at.is_not_null()),
        Some(false) => query = query.filter(doctors::archived_at.is_null()),
        None => {}
    }
    query
}

/// Every owner's mappings matching the filter, with their patient and doctor (a macro: the
/// boxed join's type cannot be named).
macro_rules! matching_mappings {
    ($filter:expr) => {{
        let filter: &MappingSearch = $filter;
        let mut query = mappings::table
            .inner_join(patients::table)
            .inner_join(doctors::table)
            .into_boxed();
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

fn page_of<T>(items: Vec<T>, total: i64) -> PageOf<T> {
    PageOf {
        items,
        total: total.unsigned_abs(),
    }
}

impl StaffDirectory for DieselStaffDirectory {
    fn users(&self, filter: &UserFilter, page: Page) -> Result<PageOf<User>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = matching_users(filter)
            .order(users::id.asc())
            .limit(page.limit())
            .offset(page.offset())
            .load::<UserRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = matching_users(filter)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(page_of(
            rows.into_iter().map(UserRow::into_user).collect(),
            total,
        ))
    }

    fn patients(&self, filter: &PatientFilter, page: Page) -> Result<PageOf<Patient>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = matching_patients(filter)
            .order((patients::created_at.desc(), patients::id.desc()))
            .limit(page.limit())
            .offset(page.offset())
            .load::<PatientRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = matching_patients(filter)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        let items = rows
            .into_iter()
            .map(Patient::try_from)
            .collect::<Result<_, _>>()?;
        Ok(page_of(items, total))
    }

    fn doctors(
        &self,
        filter: &DoctorSearch,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = matching_doctors(filter)
            .select((doctors::all_columns, patient_count()))
            .order((doctors::name.asc(), doctors::id.asc()))
            .limit(page.limit())
            .offset(page.offset())
            .load::<(DoctorRow, i64)>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = matching_doctors(filter)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        let items = rows.into_iter().map(with_count).collect::<Result<_, _>>()?;
        Ok(page_of(items, total))
    }

    fn mappings(
        &self,
        filter: &MappingSearch,
        page: Page,
    ) -> Result<PageOf<MappingView>, RepoError> {
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
        Ok(page_of(rows.into_iter().map(into_view).collect(), total))
    }

    fn restore_doctor(&self, id: DoctorId, at: Timestamp) -> Result<bool, RepoError> {
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
