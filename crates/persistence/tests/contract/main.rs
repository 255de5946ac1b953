//! The repository contract suite: every sentence a port's documentation says an adapter MUST
//! do, checked by one set of functions run on SQLite and on PostgreSQL. One test binary; each
//! module covers a group of ports.

mod audit;
mod records;
mod staff;

use healthcare_domain::UserId;
use healthcare_domain::access::{Actor, doctors_visible, mappings_visible, patients_visible};
use healthcare_domain::doctor::DoctorFilter;
use healthcare_domain::mapping::MappingFilter;
use healthcare_domain::patient::PatientFilter;

/// The patient list `owner` gets through the API: the domain's filter for them, so these
/// tests check the query against the access rule, not against a copy of it.
fn own_patients(owner: UserId, search: Option<&str>) -> PatientFilter {
    let requested = PatientFilter {
        search: search.map(str::to_owned),
        ..PatientFilter::default()
    };
    patients_visible(&Actor::RecordOwner(owner), requested)
}

/// The mapping list `owner` gets through the API for `requested`.
fn own_mappings(owner: UserId, requested: MappingFilter) -> MappingFilter {
    mappings_visible(&Actor::RecordOwner(owner), requested)
}

/// The doctor directory as `user` sees it through the API.
fn directory_for(user: UserId) -> DoctorFilter {
    doctors_visible(&Actor::RecordOwner(user), DoctorFilter::default())
}
