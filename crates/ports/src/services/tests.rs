//! Service tests with mock repositories: each resource rule, checked without a database, and
//! the audit row each use case leaves.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{TimeZone, Utc};
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::doctor::{Doctor, DoctorChanges, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::mapping::{Mapping, MappingId};
use healthcare_domain::patient::{Patient, PatientChanges, PatientId, PatientInput};
use healthcare_domain::staff::AuditTrailAccess;
use healthcare_domain::{FieldErrors, Timestamp, User, UserId};
use mockall::Sequence;
use mockall::predicate::{always, eq, function};

use super::*;
use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditTrail, Clock, DoctorWithCount, MappingFilter, MappingView, MockDoctorRepository,
    MockMappingRepository, MockPatientRepository, SignInFactors,
};
use crate::{RepoError, Resource, ServiceError};

/// An audit trail that keeps every recorded event, for tests to inspect.
#[derive(Debug, Default)]
pub(crate) struct RecordingTrail(Mutex<Vec<AuditEvent>>);

impl RecordingTrail {
    /// A new, empty trail, shared with the service under test.
    pub(crate) fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Removes and returns everything recorded so far.
    pub(crate) fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Removes and returns the one event recorded since the last `take`; panics unless there
    /// is exactly one.
    pub(crate) fn take_one(&self) -> AuditEvent {
        let mut events = self.take();
        assert_eq!(
            events.len(),
            1,
            "expected exactly one audit row: {events:#?}"
        );
        events.remove(0)
    }

    /// Panics if anything was recorded since the last `take`.
    pub(crate) fn assert_empty(&self) {
        let events = self.take();
        assert!(events.is_empty(), "expected no audit row: {events:#?}");
    }
}

impl AuditTrail for RecordingTrail {
    fn record(&self, event: AuditEvent) -> Result<(), ServiceError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
        Ok(())
    }
}

pub(crate) struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        at()
    }
}

pub(crate) fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0)
        .single()
        .expect("valid")
}

const OWNER: UserId = UserId(7);
const STRANGER: UserId = UserId(8);

/// Where the test requests come from.
pub(crate) fn origin() -> RequestOrigin {
    RequestOrigin {
        client_address: Some("203.0.113.9".into()),
        request_id: Some("req-42".into()),
    }
}

fn caller(user: UserId) -> Caller {
    Caller {
        user,
        audit_trail: AuditTrailAccess::Forbidden,
        origin: origin(),
    }
}

/// Checks a row recorded for `OWNER` at `at()` from `origin()`.
#[track_caller]
fn assert_row(
    event: &AuditEvent,
    action: AuditAction,
    outcome: AuditOutcome,
    resource_id: Option<i64>,
    patient_id: Option<PatientId>,
) {
    assert_eq!(
        event,
        &AuditEvent {
            at: at(),
            actor: Some(OWNER),
            action,
            resource_id,
            patient_id,
            outcome,
            origin: origin(),
        }
    );
}

/// Whether `event` is a successful change by `OWNER` of this kind, to be stored by the
/// repository.
fn change_event(event: &AuditEvent, action: AuditAction, target: Option<PatientId>) -> bool {
    event.action == action
        && event.actor == Some(OWNER)
        && event.outcome == AuditOutcome::Success
        && event.patient_id == target
        && event.at == at()
        && event.origin == origin()
}

pub(super) fn text(value: &str) -> Submitted<String> {
    Submitted::Given(value.to_owned())
}

pub(super) fn page() -> Page {
    Page {
        number: 1,
        size: 20,
    }
}

pub(super) fn patient(owner: UserId, archived: bool) -> Patient {
    let details = PatientInput {
        name: text("Jane Roe"),
        age: Submitted::Given(40),
        gender: text("F"),
        ..Default::default()
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(PatientChanges::into_new_details)
    .expect("complete");
    Patient {
        id: PatientId(1),
        owner,
        details,
        created_at: at(),
        updated_at: at(),
        version: 3,
        archived_at: archived.then(at),
    }
}

pub(super) fn doctor(created_by: UserId, available: bool, archived: bool) -> DoctorWithCount {
    let mut details = DoctorInput {
        name: text("Dr. Ada"),
        specialization: text("Cardiology"),
        phone: text("555"),
        email: text("ada@clinic.org"),
        experience_years: Submitted::Given(10),
        qualification: text("MD"),
        consultation_fee: text("100"),
        is_available: Submitted::Absent,
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(DoctorChanges::into_new_details)
    .expect("complete");
    details.is_available = available;
    let doctor = Doctor {
        id: DoctorId(2),
        created_by,
        details,
        created_at: at(),
        updated_at: at(),
        version: 5,
        archived_at: archived.then(at),
    };
    DoctorWithCount {
        doctor,
        patient_count: 0,
    }
}

fn patients_with(found: Option<Patient>) -> MockPatientRepository {
    let mut patients = MockPatientRepository::new();
    patients.expect_find().return_const(Ok(found));
    patients
}

fn patient_service(patients: MockPatientRepository) -> (PatientService, Arc<RecordingTrail>) {
    let trail = RecordingTrail::shared();
    let service = PatientService::new(Arc::new(patients), trail.clone(), Arc::new(FixedClock));
    (service, trail)
}

fn age_patch() -> PatientInput {
    PatientInput {
        age: Submitted::Given(41),
        ..Default::default()
    }
}

#[test]
fn the_whole_audit_trail_is_for_active_staff_who_proved_a_second_factor() {
    let user = |is_staff, is_active| User {
        id: OWNER,
        name: "Ann Lee".into(),
        email: "ann@example.com".into(),
        is_active,
        is_staff,
        created_at: at(),
        tokens_valid_after: None,
    };
    let with_code = SignInFactors::PasswordAndCode;
    assert_eq!(
        Caller::new(&user(true, true), with_code, origin()),
        Caller {
            user: OWNER,
            audit_trail: AuditTrailAccess::Allowed,
            origin: origin()
        }
    );
    let access = |user: &User, factors| Caller::new(user, factors, origin()).audit_trail;
    assert_eq!(
        access(&user(true, true), SignInFactors::Password),
        AuditTrailAccess::NeedsSecondFactor
    );
    assert_eq!(
        access(&user(true, false), with_code),
        AuditTrailAccess::Forbidden
    );
    assert_eq!(
        access(&user(false, true), with_code),
        AuditTrailAccess::Forbidden
    );
}

#[test]
fn another_users_patient_is_not_found_for_every_operation() {
    let not_found = Err(ServiceError::NotFound(Resource::Patient));
    let mut patients = patients_with(Some(patient(STRANGER, false)));
    patients.expect_update().never();
    patients.expect_archive().never();
    let (service, trail) = patient_service(patients);
    let denied = |action| {
        let row = trail.take_one();
        assert_row(
            &row,
            action,
            AuditOutcome::Denied,
            Some(1),
            Some(PatientId(1)),
        );
    };

    assert_eq!(service.get_patient(&caller(OWNER), PatientId(1)), not_found);
    denied(AuditAction::PatientRead);

    assert_eq!(
        service.update_patient(
            &caller(OWNER),
            PatientId(1),
            age_patch(),
            FieldErrors::new(),
            WriteMode::Partial,
            None
        ),
        not_found
    );
    denied(AuditAction::PatientUpdate);

    assert_eq!(
        service
            .delete_patient(&caller(OWNER), PatientId(1))
            .map(|_| patient(OWNER, false)),
        not_found
    );
    denied(AuditAction::PatientDelete);
}

#[test]
fn an_archived_patient_is_not_found_even_for_its_owner() {
    let (service, trail) = patient_service(patients_with(Some(patient(OWNER, true))));
    assert_eq!(
        service.get_patient(&caller(OWNER), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientRead,
        AuditOutcome::Failure,
        Some(1),
        Some(PatientId(1)),
    );
}

#[test]
fn a_missing_patient_is_a_failure_for_every_operation() {
    let not_found = Some(ServiceError::NotFound(Resource::Patient));
    let mut patients = patients_with(None);
    patients.expect_update().never();
    patients.expect_archive().never();
    let (service, trail) = patient_service(patients);
    let failed = |action| {
        assert_row(
            &trail.take_one(),
            action,
            AuditOutcome::Failure,
            Some(1),
            Some(PatientId(1)),
        );
    };

    assert_eq!(
        service.get_patient(&caller(OWNER), PatientId(1)).err(),
        not_found
    );
    failed(AuditAction::PatientRead);
    assert_eq!(
        service
            .update_patient(
                &caller(OWNER),
                PatientId(1),
                age_patch(),
                FieldErrors::new(),
                WriteMode::Partial,
                None
            )
            .err(),
        not_found
    );
    failed(AuditAction::PatientUpdate);
    assert_eq!(
        service.delete_patient(&caller(OWNER), PatientId(1)).err(),
        not_found
    );
    failed(AuditAction::PatientDelete);
}

#[test]
fn reading_a_patient_records_who_read_which_record_from_where() {
    let (service, trail) = patient_service(patients_with(Some(patient(OWNER, false))));
    assert_eq!(
        service.get_patient(&caller(OWNER), PatientId(1)),
        Ok(patient(OWNER, false))
    );
    let row = trail.take_one();
    assert_eq!(row.actor, Some(OWNER));
    assert_eq!(row.action, AuditAction::PatientRead);
    assert_eq!(row.resource_id, Some(1));
    assert_eq!(row.patient_id, Some(PatientId(1)));
    assert_eq!(row.outcome, AuditOutcome::Success);
    assert_eq!(row.at, at());
    assert_eq!(row.origin.client_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(row.origin.request_id.as_deref(), Some("req-42"));
}

/// A trail whose queue stayed full: it takes nothing.
struct FullTrail;

impl AuditTrail for FullTrail {
    fn record(&self, _: AuditEvent) -> Result<(), ServiceError> {
        Err(ServiceError::Unavailable("audit queue full".into()))
    }
}

#[test]
fn a_read_whose_row_cannot_be_taken_is_refused_without_its_data() {
    let service = PatientService::new(
        Arc::new(patients_with(Some(patient(OWNER, false)))),
        Arc::new(FullTrail),
        Arc::new(FixedClock),
    );
    assert_eq!(
        service.get_patient(&caller(OWNER), PatientId(1)),
        Err(ServiceError::Unavailable("audit queue full".into()))
    );
    assert_eq!(
        service.update_patient(
            &caller(STRANGER),
            PatientId(1),
            age_patch(),
            FieldErrors::default(),
            WriteMode::Partial,
            None,
        ),
        Err(ServiceError::Unavailable("audit queue full".into())),
        "a refusal whose row cannot be taken is not answered either"
    );
}

#[test]
fn listing_patients_records_one_list_row() {
    let mut patients = MockPatientRepository::new();
    patients
        .expect_list()
        .withf(|owner, search, page| *owner == OWNER && search.is_none() && page.number == 1)
        .times(1)
        .returning(|_, _, _| {
            Ok(PageOf {
                items: vec![patient(OWNER, false)],
                total: 1,
            })
        });
    let (service, trail) = patient_service(patients);
    let listed = service
        .list_patients(&caller(OWNER), Some(""), page())
        .expect("listed");
    assert_eq!(listed.total, 1);
    assert_row(
        &trail.take_one(),
        AuditAction::PatientList,
        AuditOutcome::Success,
        None,
        None,
    );
}

#[test]
fn a_failing_list_is_recorded_as_a_failure() {
    let mut patients = MockPatientRepository::new();
    patients
        .expect_list()
        .returning(|_, _, _| Err(RepoError::Unavailable("down".into())));
    let (service, trail) = patient_service(patients);
    assert_eq!(
        service.list_patients(&caller(OWNER), None, page()),
        Err(ServiceError::Unavailable("down".into()))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientList,
        AuditOutcome::Failure,
        None,
        None,
    );
}

#[test]
fn creating_a_patient_passes_its_row_to_the_repository_only() {
    let mut patients = MockPatientRepository::new();
    patients
        .expect_insert()
        .with(
            eq(OWNER),
            function(|details: &healthcare_domain::patient::PatientDetails| {
                details.name.as_str() == "Jane Roe"
            }),
            eq(at()),
            function(|audit: &AuditEvent| {
                change_event(audit, AuditAction::PatientCreate, None) && audit.resource_id.is_none()
            }),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(patient(OWNER, false)));
    let (service, trail) = patient_service(patients);
    let input = PatientInput {
        name: text("Jane Roe"),
        age: Submitted::Given(40),
        gender: text("F"),
        ..Default::default()
    };
    assert_eq!(
        service.create_patient(&caller(OWNER), input, FieldErrors::new()),
        Ok(patient(OWNER, false))
    );
    trail.assert_empty();
}

#[test]
fn an_invalid_new_patient_is_recorded_as_a_failure() {
    let mut patients = MockPatientRepository::new();
    patients.expect_insert().never();
    let (service, trail) = patient_service(patients);
    let result =
        service.create_patient(&caller(OWNER), PatientInput::default(), FieldErrors::new());
    let Err(ServiceError::Validation(errors)) = result else {
        panic!("expected validation errors, got {result:?}");
    };
    assert!(errors.has("name"));
    assert_row(
        &trail.take_one(),
        AuditAction::PatientCreate,
        AuditOutcome::Failure,
        None,
        None,
    );
}

#[test]
fn a_stale_if_match_is_refused_before_anything_changes() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients.expect_update().never();
    let (service, trail) = patient_service(patients);
    let result = service.update_patient(
        &caller(OWNER),
        PatientId(1),
        age_patch(),
        FieldErrors::new(),
        WriteMode::Partial,
        Some(IfMatch(vec![2])),
    );
    assert_eq!(result, Err(ServiceError::PreconditionFailed));
    assert_row(
        &trail.take_one(),
        AuditAction::PatientUpdate,
        AuditOutcome::Failure,
        Some(1),
        Some(PatientId(1)),
    );
}

#[test]
fn a_patch_applies_only_given_fields_on_the_current_version() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_update()
        .withf(|id, details, expected_version, at_, audit| {
            *id == PatientId(1)
                && details.age.value() == 41
                && details.name.as_str() == "Jane Roe"
                && *expected_version == 3
                && *at_ == at()
                && change_event(audit, AuditAction::PatientUpdate, Some(PatientId(1)))
                && audit.resource_id == Some(1)
        })
        .times(1)
        .returning(|_, _, _, _, _| {
            Ok(Some(Patient {
                version: 4,
                ..patient(OWNER, false)
            }))
        });
    let (service, trail) = patient_service(patients);
    let updated = service
        .update_patient(
            &caller(OWNER),
            PatientId(1),
            age_patch(),
            FieldErrors::new(),
            WriteMode::Partial,
            Some(IfMatch(vec![3])),
        )
        .expect("updated");
    assert_eq!(updated.version, 4);
    trail.assert_empty();
}

#[test]
fn a_conditional_write_that_loses_a_race_is_412() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_update()
        .times(1)
        .returning(|_, _, _, _, _| Ok(None));
    let (service, trail) = patient_service(patients);
    let result = service.update_patient(
        &caller(OWNER),
        PatientId(1),
        age_patch(),
        FieldErrors::new(),
        WriteMode::Partial,
        Some(IfMatch(vec![3])),
    );
    assert_eq!(result, Err(ServiceError::PreconditionFailed));
    assert_row(
        &trail.take_one(),
        AuditAction::PatientUpdate,
        AuditOutcome::Failure,
        Some(1),
        Some(PatientId(1)),
    );
}

#[test]
fn deleting_a_patient_archives_it() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_archive()
        .with(
            eq(PatientId(1)),
            eq(at()),
            function(|audit: &AuditEvent| {
                change_event(audit, AuditAction::PatientDelete, Some(PatientId(1)))
                    && audit.resource_id == Some(1)
            }),
        )
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (service, trail) = patient_service(patients);
    assert_eq!(service.delete_patient(&caller(OWNER), PatientId(1)), Ok(()));
    trail.assert_empty();
}

#[test]
fn deleting_a_patient_archived_in_between_is_a_failure() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_archive()
        .times(1)
        .returning(|_, _, _| Ok(false));
    let (service, trail) = patient_service(patients);
    assert_eq!(
        service.delete_patient(&caller(OWNER), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientDelete,
        AuditOutcome::Failure,
        Some(1),
        Some(PatientId(1)),
    );
}

#[test]
fn restoring_passes_the_operators_row_to_the_repository() {
    let mut patients = MockPatientRepository::new();
    patients
        .expect_restore()
        .with(
            eq(PatientId(1)),
            eq(at()),
            function(|audit: &AuditEvent| {
                audit.action == AuditAction::PatientRestore
                    && audit.actor.is_none()
                    && audit.outcome == AuditOutcome::Success
                    && audit.patient_id == Some(PatientId(1))
            }),
        )
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (service, trail) = patient_service(patients);
    assert_eq!(
        service.restore_patient(None, &RequestOrigin::default(), PatientId(1)),
        Ok(())
    );
    trail.assert_empty();

    let mut patients = MockPatientRepository::new();
    patients.expect_restore().returning(|_, _, _| Ok(false));
    let (service, trail) = patient_service(patients);
    assert_eq!(
        service.restore_patient(Some(OWNER), &origin(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientRestore,
        AuditOutcome::Failure,
        Some(1),
        Some(PatientId(1)),
    );
}

fn doctor_service(doctors: MockDoctorRepository) -> DoctorService {
    DoctorService::new(Arc::new(doctors), Arc::new(FixedClock))
}

#[test]
fn only_the_creator_may_change_a_doctor() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(STRANGER, true, false))));
    doctors.expect_update().never();
    doctors.expect_archive().never();
    let service = doctor_service(doctors);
    assert!(service.get_doctor(DoctorId(2)).is_ok(), "everyone reads");
    let patch = DoctorInput {
        name: text("Dr. Eve"),
        ..Default::default()
    };
    assert_eq!(
        service
            .update_doctor(
                OWNER,
                DoctorId(2),
                patch,
                FieldErrors::new(),
                WriteMode::Partial,
                None
            )
            .map(|_| ()),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::Forbidden)
    );
}

#[test]
fn an_archived_doctor_is_not_found() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, true))));
    let service = doctor_service(doctors);
    assert_eq!(
        service.get_doctor(DoctorId(2)).map(|_| ()),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}

#[test]
fn deleting_a_doctor_passes_the_callers_mapping_removal_row_to_the_repository() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    doctors
        .expect_archive()
        .with(
            eq(DoctorId(2)),
            eq(at()),
            eq(AuditEvent {
                at: at(),
                actor: Some(OWNER),
                action: AuditAction::MappingRemove,
                resource_id: None,
                patient_id: None,
                outcome: AuditOutcome::Success,
                origin: origin(),
            }),
        )
        .times(1)
        .return_const(Ok(true));
    let service = doctor_service(doctors);
    assert_eq!(service.delete_doctor(&caller(OWNER), DoctorId(2)), Ok(()));
}

#[test]
fn deleting_a_doctor_archived_in_between_is_not_found() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    doctors.expect_archive().times(1).return_const(Ok(false));
    let service = doctor_service(doctors);
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}

struct MappingPorts {
    mappings: MockMappingRepository,
    patients: MockPatientRepository,
    doctors: MockDoctorRepository,
    trail: Arc<RecordingTrail>,
}

impl MappingPorts {
    fn new(patient: Option<Patient>, doctor: Option<DoctorWithCount>) -> Self {
        let mut doctors = MockDoctorRepository::new();
        doctors.expect_find().return_const(Ok(doctor));
        Self {
            mappings: MockMappingRepository::new(),
            patients: patients_with(patient),
            doctors,
            trail: RecordingTrail::shared(),
        }
    }

    fn service(self) -> MappingService {
        MappingService::new(
            Arc::new(self.mappings),
            Arc::new(self.patients),
            Arc::new(self.doctors),
            self.trail,
            Arc::new(FixedClock),
        )
    }

    /// The service and the trail it records to.
    fn start(self) -> (MappingService, Arc<RecordingTrail>) {
        let trail = self.trail.clone();
        (self.service(), trail)
    }
}

fn assignment() -> AssignmentInput {
    AssignmentInput {
        patient: Submitted::Given(1),
        doctor: Submitted::Given(2),
        notes: Submitted::Absent,
    }
}

pub(super) fn view() -> MappingView {
    MappingView {
        mapping: mapping(true),
        patient_name: "Jane Roe".into(),
        doctor_name: "Dr. Ada".into(),
        doctor_specialization: "Cardiology".into(),
    }
}

pub(super) fn mapping(active: bool) -> Mapping {
    Mapping {
        id: MappingId(9),
        patient_id: PatientId(1),
        doctor_id: DoctorId(2),
        assigned_date: at(),
        notes: String::new(),
        is_active: active,
    }
}

#[test]
fn assigning_to_a_foreign_patient_looks_like_a_missing_one() {
    let mut ports = MappingPorts::new(
        Some(patient(STRANGER, false)),
        Some(doctor(STRANGER, true, false)),
    );
    ports.mappings.expect_insert().never();
    let (service, trail) = ports.start();
    let result = service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new());
    assert_eq!(
        result,
        Err(ServiceError::Validation(FieldErrors::single(
            "patient",
            "Invalid pk \"1\" - object does not exist."
        )))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Denied,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn assigning_an_unavailable_doctor_is_refused() {
    let mut ports = MappingPorts::new(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, false, false)),
    );
    ports.mappings.expect_insert().never();
    let (service, trail) = ports.start();
    let result = service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new());
    assert_eq!(
        result,
        Err(ServiceError::Validation(FieldErrors::single(
            "doctor",
            "Doctor is not available."
        )))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Failure,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn an_already_active_pair_is_refused_before_and_at_the_index() {
    let expected = Err(ServiceError::Validation(FieldErrors::single(
        "non_field_errors",
        "This doctor is already assigned to this patient.",
    )));
    let mut ports = MappingPorts::new(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
    );
    ports.mappings.expect_has_active().return_const(Ok(true));
    ports.mappings.expect_insert().never();
    let (service, trail) = ports.start();
    assert_eq!(
        service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new()),
        expected
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Failure,
        None,
        Some(PatientId(1)),
    );

    let mut ports = MappingPorts::new(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
    );
    ports.mappings.expect_has_active().return_const(Ok(false));
    ports
        .mappings
        .expect_insert()
        .times(1)
        .returning(|_, _, _, _, _, _| Err(RepoError::Conflict));
    let (service, trail) = ports.start();
    assert_eq!(
        service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new()),
        expected
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Failure,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn a_valid_assignment_is_stored_with_the_caller() {
    let mut ports = MappingPorts::new(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
    );
    ports.mappings.expect_has_active().return_const(Ok(false));
    ports
        .mappings
        .expect_insert()
        .with(
            eq(PatientId(1)),
            eq(DoctorId(2)),
            eq(OWNER),
            eq(""),
            always(),
            function(|audit: &AuditEvent| {
                change_event(audit, AuditAction::MappingCreate, Some(PatientId(1)))
                    && audit.resource_id.is_none()
            }),
        )
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(Some(view())));
    let (service, trail) = ports.start();
    assert_eq!(
        service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new()),
        Ok(view())
    );
    trail.assert_empty();
}

#[test]
fn a_patient_archived_while_being_assigned_is_judged_again_and_refused() {
    let mut ports = MappingPorts::new(None, Some(doctor(STRANGER, true, false)));
    ports.patients = MockPatientRepository::new();
    let mut reads = Sequence::new();
    ports
        .patients
        .expect_find()
        .times(1)
        .in_sequence(&mut reads)
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_find()
        .times(1)
        .in_sequence(&mut reads)
        .return_const(Ok(Some(patient(OWNER, true))));
    ports.mappings.expect_has_active().return_const(Ok(false));
    // The repository found the patient archived under its lock and stored nothing.
    ports
        .mappings
        .expect_insert()
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(None));
    let (service, trail) = ports.start();
    assert_eq!(
        service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new()),
        Err(ServiceError::Validation(FieldErrors::single(
            "patient",
            "Invalid pk \"1\" - object does not exist."
        )))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Failure,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn missing_ids_are_required() {
    let (service, trail) = MappingPorts::new(None, None).start();
    let result = service.assign_doctor(
        &caller(OWNER),
        AssignmentInput::default(),
        FieldErrors::new(),
    );
    let Err(ServiceError::Validation(errors)) = result else {
        panic!("expected validation errors");
    };
    assert!(errors.has("patient") && errors.has("doctor"));
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Failure,
        None,
        None,
    );
}

#[test]
fn listing_mappings_of_one_patient_records_that_patient() {
    let filter = MappingFilter {
        patient: Some(PatientId(1)),
        doctor: None,
    };
    let mut ports = MappingPorts::new(None, None);
    ports
        .mappings
        .expect_list()
        .with(eq(OWNER), eq(filter), eq(page()))
        .times(1)
        .returning(|_, _, _| {
            Ok(PageOf {
                items: vec![view()],
                total: 1,
            })
        });
    let (service, trail) = ports.start();
    assert_eq!(
        service.list_mappings(&caller(OWNER), filter, page()),
        Ok(PageOf {
            items: vec![view()],
            total: 1
        })
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingList,
        AuditOutcome::Success,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn the_by_patient_view_records_one_list_row() {
    let mut ports = MappingPorts::new(Some(patient(OWNER, false)), None);
    ports
        .mappings
        .expect_active_for_patient()
        .with(eq(PatientId(1)))
        .times(1)
        .returning(|_| Ok(vec![(mapping(true), doctor(STRANGER, true, false))]));
    let (service, trail) = ports.start();
    let found = service
        .patient_assignments(&caller(OWNER), PatientId(1))
        .expect("visible");
    assert_eq!(found.assignments.len(), 1);
    assert_row(
        &trail.take_one(),
        AuditAction::MappingList,
        AuditOutcome::Success,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn a_removed_mapping_is_not_found_and_removed_only_once() {
    let mut ports = MappingPorts::new(Some(patient(OWNER, false)), None);
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(false))));
    ports.mappings.expect_deactivate().never();
    let not_found = Err(ServiceError::NotFound(Resource::PatientDoctorMapping));
    let (service, trail) = ports.start();
    assert_eq!(
        service.remove_mapping(&caller(OWNER), MappingId(9)),
        not_found
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingRemove,
        AuditOutcome::Failure,
        Some(9),
        None,
    );

    let mut ports = MappingPorts::new(Some(patient(OWNER, false)), None);
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_deactivate()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.start();
    assert_eq!(
        service.remove_mapping(&caller(OWNER), MappingId(9)),
        not_found,
        "lost a race"
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingRemove,
        AuditOutcome::Failure,
        Some(9),
        Some(PatientId(1)),
    );
}

#[test]
fn removing_a_mapping_passes_its_row_to_the_repository_only() {
    let mut ports = MappingPorts::new(Some(patient(OWNER, false)), None);
    ports
        .mappings
        .expect_find()
        .with(eq(MappingId(9)))
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_deactivate()
        .with(
            eq(MappingId(9)),
            eq(at()),
            function(|audit: &AuditEvent| {
                change_event(audit, AuditAction::MappingRemove, Some(PatientId(1)))
                    && audit.resource_id == Some(9)
            }),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.start();
    assert_eq!(service.remove_mapping(&caller(OWNER), MappingId(9)), Ok(()));
    trail.assert_empty();
}

#[test]
fn changing_notes_passes_its_row_to_the_repository_only() {
    let mut ports = MappingPorts::new(Some(patient(OWNER, false)), None);
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_update_notes()
        .with(
            eq(MappingId(9)),
            eq("x"),
            eq(at()),
            function(|audit: &AuditEvent| {
                change_event(audit, AuditAction::MappingUpdate, Some(PatientId(1)))
                    && audit.resource_id == Some(9)
            }),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(Some(view())));
    let (service, trail) = ports.start();
    assert_eq!(
        service.update_mapping_notes(&caller(OWNER), MappingId(9), text("x"), FieldErrors::new()),
        Ok(view())
    );
    trail.assert_empty();
}

#[test]
fn another_users_mapping_is_not_found() {
    let mut ports = MappingPorts::new(Some(patient(STRANGER, false)), None);
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports.mappings.expect_deactivate().never();
    ports.mappings.expect_update_notes().never();
    ports.mappings.expect_active_for_patient().never();
    let (service, trail) = ports.start();
    let not_found = Err(ServiceError::NotFound(Resource::PatientDoctorMapping));
    assert_eq!(
        service.remove_mapping(&caller(OWNER), MappingId(9)),
        not_found
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingRemove,
        AuditOutcome::Denied,
        Some(9),
        Some(PatientId(1)),
    );
    assert_eq!(
        service
            .update_mapping_notes(&caller(OWNER), MappingId(9), text("x"), FieldErrors::new())
            .map(|_| ()),
        not_found
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingUpdate,
        AuditOutcome::Denied,
        Some(9),
        Some(PatientId(1)),
    );
    assert_eq!(
        service
            .patient_assignments(&caller(OWNER), PatientId(1))
            .map(|_| ()),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingList,
        AuditOutcome::Denied,
        None,
        Some(PatientId(1)),
    );
}
