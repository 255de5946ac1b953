//! The mapping use cases: assigning, listing, notes and removal. On the in-memory store,
//! checked by what is stored afterwards; mocks only where a test makes the database lose a
//! race.

use super::*;
use crate::services::fake_store::FakeStore;

/// A store holding what is given, the mapping service on it, and its trail.
fn mapping_desk(
    patient: Option<Patient>,
    doctor: Option<DoctorWithCount>,
    mapping: Option<Mapping>,
) -> (MappingService, FakeStore, Arc<RecordingTrail>) {
    let store = FakeStore::default();
    patient.into_iter().for_each(|p| store.add_patient(p));
    doctor.into_iter().for_each(|d| store.add_doctor(d.doctor));
    mapping.into_iter().for_each(|m| store.add_mapping(m));
    let trail = RecordingTrail::shared();
    let shared = Arc::new(store.clone());
    let service = MappingService::new(
        shared.clone(),
        shared.clone(),
        shared,
        trail.clone(),
        Arc::new(FixedClock),
    );
    (service, store, trail)
}

/// The row `OWNER`'s change of mapping `id` stored with it.
fn stored_mapping_change(action: AuditAction, id: i64) -> AuditEvent {
    AuditEvent {
        resource_id: Some(id),
        ..stored_change(action, 1)
    }
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

#[test]
fn assigning_to_a_foreign_patient_looks_like_a_missing_one() {
    let (service, store, trail) = mapping_desk(
        Some(patient(STRANGER, false)),
        Some(doctor(STRANGER, true, false)),
        None,
    );
    let result = service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new());
    assert_eq!(
        result,
        Err(ServiceError::Validation(FieldErrors::single(
            "patient",
            FieldProblem::UnknownRecord { given: 1 }
        )))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Denied,
        None,
        Some(PatientId(1)),
    );
    assert_eq!(store.take_stored_rows(), vec![], "nothing assigned");
}

#[test]
fn assigning_an_unavailable_doctor_is_refused() {
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, false, false)),
        None,
    );
    let result = service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new());
    assert_eq!(
        result,
        Err(ServiceError::Validation(FieldErrors::single(
            "doctor",
            FieldProblem::DoctorNotAvailable
        )))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingCreate,
        AuditOutcome::Failure,
        None,
        Some(PatientId(1)),
    );
    assert_eq!(store.take_stored_rows(), vec![], "nothing assigned");
}

#[test]
fn an_already_active_pair_is_refused_before_and_at_the_index() {
    let expected = Err(ServiceError::Validation(FieldErrors::single(
        "non_field_errors",
        FieldProblem::AlreadyAssigned,
    )));
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(true)),
    );
    assert_eq!(
        service.assign_doctor(&caller(OWNER), assignment(), FieldErrors::new()),
        expected
    );
    assert_eq!(store.take_stored_rows(), vec![]);
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
    // Two requests raced past the check: the database's unique index refuses the second.
    ports.mappings.expect_has_active().return_const(Ok(false));
    ports
        .mappings
        .expect_insert()
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
fn a_valid_assignment_is_stored_with_its_row() {
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        None,
    );
    let assigned = service
        .assign_doctor(&caller(OWNER), assignment(), FieldErrors::new())
        .expect("assigned");
    let id = assigned.mapping.id;
    assert_eq!(
        assigned,
        MappingView {
            mapping: Mapping {
                id,
                ..mapping(true)
            },
            ..view()
        }
    );
    assert_eq!(store.mapping(id), Some(assigned.mapping));
    assert_eq!(
        store.take_stored_rows(),
        vec![stored_mapping_change(AuditAction::MappingCreate, id.0)]
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
            FieldProblem::UnknownRecord { given: 1 }
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
    let (service, _, trail) = mapping_desk(None, None, None);
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
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(true)),
    );
    store.add_mapping(Mapping {
        id: MappingId(10),
        ..mapping(false)
    });
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
    let (service, _, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(true)),
    );
    let found = service
        .patient_assignments(&caller(OWNER), PatientId(1))
        .expect("visible");
    let counted = DoctorWithCount {
        patient_count: 1,
        ..doctor(STRANGER, true, false)
    };
    assert_eq!(found.assignments, vec![(mapping(true), counted)]);
    assert_row(
        &trail.take_one(),
        AuditAction::MappingList,
        AuditOutcome::Success,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn a_mapping_view_that_fails_to_load_is_missing_to_who_may_not_see_the_patient() {
    let failing_for = |owner| {
        let mut ports = MappingPorts::new(Some(patient(owner, false)), None);
        ports
            .mappings
            .expect_patient_with_active()
            .return_const(Err(RepoError::Internal(
                "a doctor row fails to decode".to_owned(),
            )));
        ports.start()
    };

    // Someone else's patient: the 404 and the denial its view gets when it loads.
    let (service, trail) = failing_for(STRANGER);
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

    // The caller's own patient: the failure.
    let (service, trail) = failing_for(OWNER);
    assert_eq!(
        service
            .patient_assignments(&caller(OWNER), PatientId(1))
            .map(|_| ()),
        Err(ServiceError::Internal(
            "a doctor row fails to decode".to_owned()
        ))
    );
    assert_row(
        &trail.take_one(),
        AuditAction::MappingList,
        AuditOutcome::Failure,
        None,
        Some(PatientId(1)),
    );
}

#[test]
fn a_removed_mapping_is_not_found_and_removed_only_once() {
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(false)),
    );
    let not_found = Err(ServiceError::NotFound(Resource::PatientDoctorMapping));
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
    assert_eq!(store.take_stored_rows(), vec![]);

    // Ended by another request between the read and the write (a race injected).
    let mut ports = MappingPorts::new(Some(patient(OWNER, false)), None);
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports.mappings.expect_deactivate().return_const(Ok(false));
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
fn removing_a_mapping_ends_it_and_stores_its_row_with_it() {
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(true)),
    );
    assert_eq!(service.remove_mapping(&caller(OWNER), MappingId(9)), Ok(()));
    assert_eq!(store.mapping(MappingId(9)), Some(mapping(false)));
    assert_eq!(
        store.take_stored_rows(),
        vec![stored_mapping_change(AuditAction::MappingRemove, 9)]
    );
    trail.assert_empty();
}

#[test]
fn changing_notes_stores_them_with_their_row() {
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(true)),
    );
    let changed = service
        .update_mapping_notes(
            &caller(OWNER),
            MappingId(9),
            text(" x "),
            FieldErrors::new(),
        )
        .expect("changed");
    assert_eq!(changed.mapping.notes, "x");
    assert_eq!(store.mapping(MappingId(9)), Some(changed.mapping));
    assert_eq!(
        store.take_stored_rows(),
        vec![stored_mapping_change(AuditAction::MappingUpdate, 9)]
    );
    trail.assert_empty();
}

#[test]
fn another_users_mapping_is_not_found() {
    let (service, store, trail) = mapping_desk(
        Some(patient(STRANGER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(true)),
    );
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
    assert_eq!(store.mapping(MappingId(9)), Some(mapping(true)));
    assert_eq!(store.take_stored_rows(), vec![], "nothing changed");

    // Ended, it is still someone else's: the same answer, recorded as a denial too.
    let (service, _, trail) = mapping_desk(
        Some(patient(STRANGER, false)),
        Some(doctor(STRANGER, true, false)),
        Some(mapping(false)),
    );
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
}

#[test]
fn a_list_filtered_by_another_clinics_patient_is_empty_and_recorded_as_a_denial() {
    let owner = patient(OWNER, false);
    let (service, _, trail) = mapping_desk(
        Some(owner.clone()),
        Some(doctor(OWNER, true, false)),
        Some(mapping(true)),
    );
    let by_patient = MappingFilter {
        patient: Some(owner.id),
        ..MappingFilter::default()
    };
    let listed = service
        .list_mappings(&caller(STRANGER), by_patient, page())
        .expect("listed");
    assert_eq!(listed.total, 0);
    let row = trail.take_one();
    assert_eq!(
        (row.outcome, row.patient_id),
        (AuditOutcome::Denied, Some(owner.id))
    );
    let own = service
        .list_mappings(&caller(OWNER), by_patient, page())
        .expect("listed");
    assert_eq!(own.total, 1);
    assert_eq!(trail.take_one().outcome, AuditOutcome::Success);
}

#[test]
fn care_teams_hold_the_callers_patients_with_their_active_assignments() {
    let (service, store, trail) = mapping_desk(
        Some(patient(OWNER, false)),
        Some(doctor(OWNER, true, false)),
        Some(mapping(true)),
    );
    store.add_patient(Patient {
        id: PatientId(3),
        ..patient(OWNER, false)
    });
    store.add_patient(Patient {
        id: PatientId(4),
        ..patient(STRANGER, false)
    });
    let search = |assigned_to: Option<Vec<DoctorId>>| healthcare_domain::patient::PatientSearch {
        assigned_to,
        ..Default::default()
    };
    let paging = healthcare_domain::record_search::SearchPaging::default();
    let teams = service
        .care_teams(&caller(OWNER), search(None), &paging)
        .expect("teams");
    let summary: Vec<(i64, usize)> = teams
        .items
        .iter()
        .map(|team| (team.patient.id.0, team.assignments.len()))
        .collect();
    assert_eq!(
        summary,
        [(1, 1), (3, 0)],
        "one team per own patient, empty ones too"
    );
    assert_eq!(trail.take_one().action, AuditAction::MappingList);
    let treated = service
        .care_teams(&caller(OWNER), search(Some(vec![DoctorId(2)])), &paging)
        .expect("teams");
    assert_eq!(treated.items.len(), 1);
    assert_eq!(treated.items[0].assignments[0].0.id, MappingId(9));
    let strangers = service
        .care_teams(&caller(STRANGER), search(Some(vec![DoctorId(2)])), &paging)
        .expect("teams");
    assert!(strangers.items.is_empty(), "never another clinic's team");
}

#[test]
fn a_deleted_patients_care_team_is_gone_to_who_saw_it() {
    let (service, _, _) = mapping_desk(Some(patient(OWNER, true)), None, None);
    assert_eq!(
        service.patient_assignments(&caller(OWNER), PatientId(1)),
        Err(ServiceError::Gone(Resource::Patient))
    );
    assert_eq!(
        service.patient_assignments(&caller(STRANGER), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
}
