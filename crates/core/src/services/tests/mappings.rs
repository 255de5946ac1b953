//! The mapping use cases: assigning, listing, notes and removal.

use super::*;

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
        ..MappingFilter::default()
    };
    let mut ports = MappingPorts::new(None, None);
    ports
        .mappings
        .expect_list()
        .with(
            eq(MappingFilter {
                owner: Some(OWNER),
                active: Some(true),
                ..filter
            }),
            eq(page()),
        )
        .times(1)
        .returning(|_, _| {
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
    // The row names the mapping's patient, as for staff: an auditor sees whose history was
    // asked about, whatever the answer.
    assert_row(
        &trail.take_one(),
        AuditAction::MappingRemove,
        AuditOutcome::Failure,
        Some(9),
        Some(PatientId(1)),
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
