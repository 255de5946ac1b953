//! Patients, doctors and mappings.

use healthcare_domain::access::CareTie;
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::clinic::ClinicId;
pub use healthcare_domain::doctor::DoctorFilter;
use healthcare_domain::doctor::{Doctor, DoctorDetails, DoctorId, DoctorSearch};
pub use healthcare_domain::mapping::MappingFilter;
use healthcare_domain::mapping::{Mapping, MappingId};
pub use healthcare_domain::patient::PatientFilter;
use healthcare_domain::patient::{Patient, PatientDetails, PatientId, PatientSearch};
use healthcare_domain::record_search::{SearchPage, SearchPaging};
use healthcare_domain::{Timestamp, UserId};

use crate::RepoError;
use crate::pagination::{Page, PageOf};

/// Storage of patients.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PatientRepository: Send + Sync {
    /// The patient with this id, archived or not (the service applies the visibility rule).
    /// MUST return `Ok(None)` for an unknown id.
    fn find(&self, id: PatientId) -> Result<Option<Patient>, RepoError>;

    /// One page of the patients matching every filter given, newest first (ties broken by id,
    /// newest first), and the total count. A `search` matches names containing it ignoring
    /// case, with `%` and `_` matching literally. MUST cost at most two statements whatever
    /// the page size (one where the total is kept).
    fn list(&self, filter: &PatientFilter, page: Page) -> Result<PageOf<Patient>, RepoError>;

    /// Version `version` of the patient: the current row or one kept when it changed.
    /// MUST return `Ok(None)` for an unknown patient or version.
    fn version(&self, id: PatientId, version: i64) -> Result<Option<Patient>, RepoError>;

    /// The patient's versions below version `below` (every one when `None`), newest first, at
    /// most `limit`: the current one and every one kept since history began. Empty for an
    /// unknown patient.
    fn versions(
        &self,
        id: PatientId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Patient>, RepoError>;

    /// One page of the patients matching `search` (archived ones never do), in `paging`'s
    /// order with ties broken by id, and the count of every match when `paging` asks. Names
    /// compare as [`healthcare_domain::record_search::TextMatch`] says.
    fn search(
        &self,
        search: &PatientSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Patient>, RepoError>;

    /// How `user` is tied to the patient besides having registered it, at `at`: an active
    /// break-glass grant of theirs on it (reported first: accesses under it are marked), or an
    /// active mapping to a doctor linked to their account. One statement.
    fn care_tie(
        &self,
        patient: PatientId,
        user: UserId,
        at: Timestamp,
    ) -> Result<CareTie, RepoError>;

    /// Whether `user` holds a break-glass grant running at `at` on any of `patients`. One
    /// statement.
    fn under_grant(
        &self,
        user: UserId,
        patients: &[PatientId],
        at: Timestamp,
    ) -> Result<bool, RepoError>;

    /// Stores a new patient (version 1) registered by `owner` in `clinic` and returns it.
    /// Stores `audit` in the same transaction, with the new patient's id as its `resource_id`
    /// and `patient_id`.
    fn insert(
        &self,
        clinic: ClinicId,
        owner: UserId,
        details: &PatientDetails,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Patient, RepoError>;

    /// Replaces the details and increments the version, only if the version is still
    /// `expected_version` and the patient is not archived, storing `audit` in the same
    /// transaction. MUST return `Ok(None)` and store nothing otherwise.
    fn update(
        &self,
        id: PatientId,
        details: &PatientDetails,
        expected_version: i64,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Patient>, RepoError>;

    /// Archives the patient, deactivates its active mappings and stores `audit`, in one
    /// transaction. MUST return `Ok(false)` and store nothing when it was already archived.
    fn archive(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError>;

    /// Un-archives the patient and stores `audit`, in one transaction; its mappings stay
    /// inactive. MUST return `Ok(false)` and store nothing when it was not archived.
    fn restore(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError>;
}

/// A patient and its active assignments, for the by-patient view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientAssignments {
    /// The patient.
    pub patient: Patient,
    /// Active mappings with their doctors, oldest first.
    pub assignments: Vec<(Mapping, DoctorWithCount)>,
}

/// A doctor and how many active mappings to non-archived patients it has (all users').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorWithCount {
    /// The doctor.
    pub doctor: Doctor,
    /// Active mappings to non-archived patients.
    pub patient_count: i64,
}

/// Storage of doctors.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait DoctorRepository: Send + Sync {
    /// The doctor with this id and its patient count, archived or not. MUST return `Ok(None)`
    /// for an unknown id.
    fn find(&self, id: DoctorId) -> Result<Option<DoctorWithCount>, RepoError>;

    /// One page of the doctors matching every filter given, ordered by name then id, each
    /// with its patient count (kept in its row); and the total count. A `search` matches the
    /// name or the specialization, a `specialization` only the latter, both ignoring case with
    /// `%` and `_` literal. MUST cost at most two statements whatever the page size (one where
    /// the total is kept).
    fn list(&self, filter: &DoctorFilter, page: Page)
    -> Result<PageOf<DoctorWithCount>, RepoError>;

    /// Version `version` of the doctor, as [`PatientRepository::version`].
    fn version(&self, id: DoctorId, version: i64) -> Result<Option<Doctor>, RepoError>;

    /// The doctor's versions, as [`PatientRepository::versions`].
    fn versions(
        &self,
        id: DoctorId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Doctor>, RepoError>;

    /// One page of the doctors matching `search`, as [`PatientRepository::search`].
    fn search(
        &self,
        search: &DoctorSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Doctor>, RepoError>;

    /// Stores a new doctor (version 1).
    fn insert(
        &self,
        created_by: UserId,
        details: &DoctorDetails,
        at: Timestamp,
    ) -> Result<DoctorWithCount, RepoError>;

    /// Replaces the details and increments the version, only if the version is still
    /// `expected_version` and the doctor is not archived. MUST return `Ok(None)` and change
    /// nothing otherwise.
    fn update(
        &self,
        id: DoctorId,
        details: &DoctorDetails,
        expected_version: i64,
        at: Timestamp,
    ) -> Result<Option<DoctorWithCount>, RepoError>;

    /// Archives the doctor, deactivates its active mappings and stores, in the same
    /// transaction, one copy of `audit` per ended mapping with that mapping's id as
    /// `resource_id` and its patient as `patient_id` (the action and outcome as given:
    /// `mapping.remove`). MUST return `Ok(false)` and change and store nothing when the doctor
    /// is unknown or already archived.
    fn archive(&self, id: DoctorId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError>;

    /// Un-archives the doctor; its mappings stay inactive. MUST return `Ok(false)` and change
    /// nothing when it was not archived.
    fn restore(&self, id: DoctorId, at: Timestamp) -> Result<bool, RepoError>;
}

/// A mapping with the names the API shows beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingView {
    /// The mapping.
    pub mapping: Mapping,
    /// The patient's name.
    pub patient_name: String,
    /// The doctor's name.
    pub doctor_name: String,
    /// The doctor's specialization.
    pub doctor_specialization: String,
}

/// Storage of patient–doctor mappings.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait MappingRepository: Send + Sync {
    /// The mapping with this id, active or not. MUST return `Ok(None)` for an unknown id.
    fn find(&self, id: MappingId) -> Result<Option<Mapping>, RepoError>;

    /// One page of the mappings matching every filter given, active or ended, newest first
    /// (ties by id), with their patient's and doctor's names; and the total. MUST cost two
    /// statements whatever the page size.
    fn list(&self, filter: &MappingFilter, page: Page) -> Result<PageOf<MappingView>, RepoError>;

    /// The patient with this id, archived or not, and its active mappings, oldest first, each
    /// with its doctor and the doctor's patient count: one statement, so that the mapping view
    /// costs one round trip. MUST return `Ok(None)` for an unknown id.
    fn patient_with_active(
        &self,
        patient: PatientId,
    ) -> Result<Option<PatientAssignments>, RepoError>;

    /// The active mappings of each of `patients`, by patient then oldest first, each with its
    /// doctor and the doctor's patient count, in one statement.
    fn active_for_patients(
        &self,
        patients: &[PatientId],
    ) -> Result<Vec<(Mapping, DoctorWithCount)>, RepoError>;

    /// Whether the pair has an active mapping.
    fn has_active(&self, patient: PatientId, doctor: DoctorId) -> Result<bool, RepoError>;

    /// Stores a new active mapping, and `audit` in the same transaction with the new
    /// mapping's id as its `resource_id`. MUST return `Err(RepoError::Conflict)` and store
    /// nothing when the pair already has an active one (the partial unique index decides
    /// races). MUST return `Ok(None)` and store nothing when, in that same transaction, the
    /// patient is archived or the doctor archived or unavailable, with both rows locked
    /// against a concurrent archive until it commits: a mapping never outlives the archiving
    /// of its patient or doctor, whichever commits first.
    fn insert(
        &self,
        patient: PatientId,
        doctor: DoctorId,
        assigned_by: UserId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError>;

    /// Replaces the notes of an active mapping, storing `audit` in the same transaction. MUST
    /// return `Ok(None)` and store nothing for an unknown or inactive one.
    fn update_notes(
        &self,
        id: MappingId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError>;

    /// Deactivates an active mapping, storing `audit` in the same transaction. MUST return
    /// `Ok(false)` and store nothing when it was not active, so a mapping is removed at most
    /// once even under concurrent requests.
    fn deactivate(
        &self,
        id: MappingId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError>;
}
