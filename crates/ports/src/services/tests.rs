//! Service tests with mock repositories: each resource rule, checked without a database.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use healthcare_domain::doctor::{Doctor, DoctorChanges, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::mapping::{Mapping, MappingId};
use healthcare_domain::patient::{Patient, PatientChanges, PatientId, PatientInput};
use healthcare_domain::{FieldErrors, Timestamp, UserId};
use mockall::predicate::{always, eq};

use super::*;
use crate::ports::{
    Clock, DoctorWithCount, MappingView, MockDoctorRepository, MockMappingRepository,
    MockPatientRepository,
};
use crate::{RepoError, Resource, ServiceError};

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        at()
    }
}

fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0)
        .single()
        .expect("valid")
}

const OWNER: UserId = UserId(7);
const STRANGER: UserId = UserId(8);

fn text(value: &str) -> Submitted<String> {
    Submitted::Given(value.to_owned())
}

fn patient(owner: UserId, archived: bool) -> Patient {
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

fn doctor(created_by: UserId, available: bool, archived: bool) -> DoctorWithCount {
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

fn patient_service(patients: MockPatientRepository) -> PatientService {
    PatientService::new(Arc::new(patients), Arc::new(FixedClock))
}

#[test]
fn another_users_patient_is_not_found_for_every_operation() {
    let not_found = Err(ServiceError::NotFound(Resource::Patient));
    let mut patients = patients_with(Some(patient(STRANGER, false)));
    patients.expect_update().never();
    patients.expect_archive().never();
    let service = patient_service(patients);
    assert_eq!(service.get_patient(OWNER, PatientId(1)), not_found);
    let patch = PatientInput {
        age: Submitted::Given(41),
        ..Default::default()
    };
    assert_eq!(
        service.update_patient(
            OWNER,
            PatientId(1),
            patch,
            FieldErrors::new(),
            WriteMode::Partial,
            None
        ),
        not_found
    );
    assert_eq!(
        service
            .delete_patient(OWNER, PatientId(1))
            .map(|_| patient(OWNER, false)),
        not_found
    );
}

#[test]
fn an_archived_patient_is_not_found_even_for_its_owner() {
    let service = patient_service(patients_with(Some(patient(OWNER, true))));
    assert_eq!(
        service.get_patient(OWNER, PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
}

#[test]
fn a_stale_if_match_is_refused_before_anything_changes() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients.expect_update().never();
    let patch = PatientInput {
        age: Submitted::Given(41),
        ..Default::default()
    };
    let result = patient_service(patients).update_patient(
        OWNER,
        PatientId(1),
        patch,
        FieldErrors::new(),
        WriteMode::Partial,
        Some(IfMatch(vec![2])),
    );
    assert_eq!(result, Err(ServiceError::PreconditionFailed));
}

#[test]
fn a_patch_applies_only_given_fields_on_the_current_version() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_update()
        .withf(|_, details, expected_version, _| {
            details.age.value() == 41
                && details.name.as_str() == "Jane Roe"
                && *expected_version == 3
        })
        .times(1)
        .returning(|_, _, _, _| {
            Ok(Some(Patient {
                version: 4,
                ..patient(OWNER, false)
            }))
        });
    let patch = PatientInput {
        age: Submitted::Given(41),
        ..Default::default()
    };
    let updated = patient_service(patients)
        .update_patient(
            OWNER,
            PatientId(1),
            patch,
            FieldErrors::new(),
            WriteMode::Partial,
            Some(IfMatch(vec![3])),
        )
        .expect("updated");
    assert_eq!(updated.version, 4);
}

#[test]
fn a_conditional_write_that_loses_a_race_is_412() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_update()
        .times(1)
        .returning(|_, _, _, _| Ok(None));
    let patch = PatientInput {
        age: Submitted::Given(41),
        ..Default::default()
    };
    let result = patient_service(patients).update_patient(
        OWNER,
        PatientId(1),
        patch,
        FieldErrors::new(),
        WriteMode::Partial,
        Some(IfMatch(vec![3])),
    );
    assert_eq!(result, Err(ServiceError::PreconditionFailed));
}

#[test]
fn deleting_a_patient_archives_it() {
    let mut patients = patients_with(Some(patient(OWNER, false)));
    patients
        .expect_archive()
        .with(eq(PatientId(1)), eq(at()))
        .times(1)
        .returning(|_, _| Ok(()));
    assert_eq!(
        patient_service(patients).delete_patient(OWNER, PatientId(1)),
        Ok(())
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
        service.delete_doctor(OWNER, DoctorId(2)),
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
        service.delete_doctor(OWNER, DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}

struct MappingPorts {
    mappings: MockMappingRepository,
    patients: MockPatientRepository,
    doctors: MockDoctorRepository,
}

impl MappingPorts {
    fn new(patient: Option<Patient>, doctor: Option<DoctorWithCount>) -> Self {
        let mut doctors = MockDoctorRepository::new();
        doctors.expect_find().return_const(Ok(doctor));
        Self {
            mappings: MockMappingRepository::new(),
            patients: patients_with(patient),
            doctors,
        }
    }

    fn service(self) -> MappingService {
        MappingService::new(
            Arc::new(self.mappings),
            Arc::new(self.patients),
            Arc::new(self.doctors),
            Arc::new(FixedClock),
        )
    }
}

fn assignment() -> AssignmentInput {
    AssignmentInput {
        patient: Submitted::Given(1),
        doctor: Submitted::Given(2),
        notes: Submitted::Absent,
    }
}

fn view() -> MappingView {
    MappingView {
        mapping: mapping(true),
        patient_name: "Jane Roe".into(),
        doctor_name: "Dr. Ada".into(),
        doctor_specialization: "Cardiology".into(),
    }
}

fn mapping(active: bool) -> Mapping {
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
    let result = ports
        .service()
        .assign_doctor(OWNER, assignment(), FieldErrors::new());
    assert_eq!(
        result,
        Err(ServiceError::Validation(FieldErrors::single(
            "patient",
            "Invalid pk \"1\" - object does not exist."
        )))
    );
}

#[test]
fn assigning_an_unavailable_doctor_is_refused() {
    let mut ports = MappingPorts::new(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, false, false)),
    );
    ports.mappings.expect_insert().never();
    let result = ports
        .service()
        .assign_doctor(OWNER, assignment(), FieldErrors::new());
    assert_eq!(
        result,
        Err(ServiceError::Validation(FieldErrors::single(
            "doctor",
            "Doctor is not available."
        )))
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
    assert_eq!(
        ports
            .service()
            .assign_doctor(OWNER, assignment(), FieldErrors::new()),
        expected
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
        .returning(|_, _, _, _, _| Err(RepoError::Conflict));
    assert_eq!(
        ports
            .service()
            .assign_doctor(OWNER, assignment(), FieldErrors::new()),
        expected
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
        )
        .times(1)
        .returning(|_, _, _, _, _| Ok(view()));
    assert_eq!(
        ports
            .service()
            .assign_doctor(OWNER, assignment(), FieldErrors::new()),
        Ok(view())
    );
}

#[test]
fn missing_ids_are_required() {
    let ports = MappingPorts::new(None, None);
    let result =
        ports
            .service()
            .assign_doctor(OWNER, AssignmentInput::default(), FieldErrors::new());
    let Err(ServiceError::Validation(errors)) = result else {
        panic!("expected validation errors");
    };
    assert!(errors.has("patient") && errors.has("doctor"));
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
    assert_eq!(
        ports.service().remove_mapping(OWNER, MappingId(9)),
        not_found
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
    assert_eq!(
        ports.service().remove_mapping(OWNER, MappingId(9)),
        not_found,
        "lost a race"
    );
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
    let service = ports.service();
    let not_found = Err(ServiceError::NotFound(Resource::PatientDoctorMapping));
    assert_eq!(service.remove_mapping(OWNER, MappingId(9)), not_found);
    assert_eq!(
        service
            .update_mapping_notes(OWNER, MappingId(9), text("x"), FieldErrors::new())
            .map(|_| ()),
        not_found
    );
    assert_eq!(
        service.patient_assignments(OWNER, PatientId(1)).map(|_| ()),
        Err(ServiceError::NotFound(Resource::Patient))
    );
}
