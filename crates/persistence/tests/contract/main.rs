//! The repository contract suite: every sentence a port's documentation says an adapter MUST
//! do, checked by one set of functions run on SQLite and on PostgreSQL. One test binary; each
//! module covers a group of ports.

mod audit;
mod records;
mod staff;

use healthcare_core::ports::ClinicRepository;
use healthcare_domain::UserId;
use healthcare_domain::access::{
    Actor, ClinicMember, doctors_visible, mappings_visible, patients_visible,
};
use healthcare_domain::clinic::{ClinicId, Role};
use healthcare_domain::doctor::DoctorFilter;
use healthcare_domain::mapping::MappingFilter;
use healthcare_domain::patient::PatientFilter;
use healthcare_persistence::{DbPool, DieselClinicRepository};

/// When the lists below are asked: no break-glass grant is involved in them.
fn now() -> healthcare_domain::Timestamp {
    chrono::Utc::now()
}

/// The personal clinic of `user` (every account has one, stored with it).
fn personal_clinic(pool: &DbPool, user: UserId) -> ClinicId {
    DieselClinicRepository::new(pool.clone())
        .personal_membership(user)
        .expect("read")
        .expect("every account has a personal clinic")
        .clinic
        .id
}

/// `user` acting in their personal clinic, as every account starts.
fn in_personal_clinic(pool: &DbPool, user: UserId) -> Actor {
    Actor::Member(ClinicMember {
        user,
        clinic: personal_clinic(pool, user),
        role: Role::Admin,
    })
}

/// The patient list `owner` gets through the API: the domain's filter for them, so these
/// tests check the query against the access rule, not against a copy of it.
fn own_patients(pool: &DbPool, owner: UserId, search: Option<&str>) -> PatientFilter {
    let requested = PatientFilter {
        search: search.map(str::to_owned),
        ..PatientFilter::default()
    };
    patients_visible(&in_personal_clinic(pool, owner), requested, now())
        .expect("an admin sees patients")
}

/// Every patient of `clinic` that is live (`Some(false)`), archived (`Some(true)`) or either
/// (`None`), with no search or care team narrowing it: the list whose totals are kept.
fn whole_clinic(clinic: ClinicId, archived: Option<bool>) -> PatientFilter {
    PatientFilter {
        scope: Some(healthcare_domain::clinic::ClinicScope {
            clinic,
            care_team_of: None,
        }),
        archived,
        ..PatientFilter::default()
    }
}

/// The mapping list `owner` gets through the API for `requested`.
fn own_mappings(pool: &DbPool, owner: UserId, requested: MappingFilter) -> MappingFilter {
    mappings_visible(&in_personal_clinic(pool, owner), requested, now())
        .expect("an admin sees mappings")
}

/// The doctor directory as `user` sees it through the API.
fn directory_for(pool: &DbPool, user: UserId) -> DoctorFilter {
    doctors_visible(&in_personal_clinic(pool, user), DoctorFilter::default())
}

/// The statement by which a release before record history (migration 16) stored a patient:
/// for upgrade tests, which cannot use the current repository on the older schema.
fn previous_release_patient(id: i64, owner: i64, clinic: i64, name: &str) -> String {
    let lower = name.to_lowercase();
    format!(
        "INSERT INTO patients (id, owner_id, name, name_lower, age, gender, phone, email, \
         address, medical_history, created_at, updated_at, version, archived_at, clinic_id) \
         VALUES ({id}, {owner}, '{name}', '{lower}', 40, 'O', '', '', '', '', \
         '2026-11-26 10:00:01', '2026-11-26 10:00:01', 1, NULL, {clinic})"
    )
}
