//! The doctor use cases: only a doctor's creator changes it. On the in-memory store; a mock
//! only where a test makes the database lose a race.

use super::*;
use crate::services::fake_store::FakeStore;

/// A store holding `stored`, and the doctor service on it.
fn doctor_desk(stored: DoctorWithCount) -> (DoctorService, FakeStore) {
    let store = FakeStore::default();
    store.add_doctor(stored.doctor);
    let shared = Arc::new(store.clone());
    let service = DoctorService::new(
        shared.clone(),
        shared,
        Arc::new(MockUserRepository::new()),
        RecordingTrail::shared(),
        Arc::new(FixedClock),
    );
    (service, store)
}

fn doctor_service(doctors: MockDoctorRepository) -> DoctorService {
    DoctorService::new(
        Arc::new(doctors),
        Arc::new(MockMappingRepository::new()),
        Arc::new(MockUserRepository::new()),
        RecordingTrail::shared(),
        Arc::new(FixedClock),
    )
}

#[test]
fn only_the_creator_may_change_a_doctor() {
    let (service, store) = doctor_desk(doctor(STRANGER, true, false));
    assert!(
        service.get_doctor(&caller(OWNER), DoctorId(2)).is_ok(),
        "everyone reads"
    );
    let patch = DoctorInput {
        name: text("Dr. Eve"),
        ..Default::default()
    };
    assert_eq!(
        service
            .update_doctor(
                &caller(OWNER),
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
    assert_eq!(
        store.doctor(DoctorId(2)),
        Some(doctor(STRANGER, true, false).doctor),
        "unchanged"
    );
}

#[test]
fn an_archived_doctor_is_not_found() {
    let (service, _) = doctor_desk(doctor(OWNER, true, true));
    assert_eq!(
        service.get_doctor(&caller(OWNER), DoctorId(2)).map(|_| ()),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}

#[test]
fn deleting_a_doctor_ends_its_mappings_each_with_the_callers_row() {
    let (service, store) = doctor_desk(doctor(OWNER, true, false));
    store.add_patient(patient(STRANGER, false));
    store.add_mapping(mapping(true));
    assert_eq!(service.delete_doctor(&caller(OWNER), DoctorId(2)), Ok(()));
    assert!(
        store
            .doctor(DoctorId(2))
            .is_some_and(|d| d.archived_at.is_some())
    );
    assert_eq!(store.mapping(MappingId(9)), Some(mapping(false)));
    assert_eq!(
        store.take_stored_rows(),
        vec![AuditEvent {
            resource_id: Some(9),
            ..stored_change(AuditAction::MappingRemove, 1)
        }],
        "one row per ended mapping, naming its patient, with the caller as actor"
    );
}

#[test]
fn deleting_a_doctor_archived_in_between_is_not_found() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    // Archived by someone else between the read and the write (a race injected).
    doctors.expect_archive().return_const(Ok(false));
    let service = doctor_service(doctors);
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}

#[test]
fn the_operator_has_no_account_to_create_a_doctor_under() {
    let (service, _) = doctor_desk(doctor(OWNER, true, false));
    let input = DoctorInput {
        name: text("Dr. Eve"),
        ..Default::default()
    };
    assert_eq!(
        service
            .create_doctor(&Caller::operator(origin()), input, FieldErrors::new())
            .map(|_| ()),
        Err(ServiceError::Forbidden)
    );
    let listed = service
        .list_doctors(&caller(OWNER), Default::default(), page())
        .expect("listed");
    assert_eq!(listed.total, 1, "nothing created beside the stored doctor");
}

#[test]
fn a_doctor_links_only_an_existing_account_and_reports_a_missing_one_with_the_other_fields() {
    let store = FakeStore::default();
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|id| {
        Ok((id == OWNER).then(|| User {
            id,
            name: "Ann Lee".into(),
            email: "ann@example.com".into(),
            is_active: true,
            is_staff: false,
            created_at: at(),
            tokens_valid_after: None,
        }))
    });
    let shared = Arc::new(store.clone());
    let service = DoctorService::new(
        shared.clone(),
        shared,
        Arc::new(users),
        RecordingTrail::shared(),
        Arc::new(FixedClock),
    );
    let input = |user| DoctorInput {
        name: text("Dr. Linked"),
        specialization: text("Cardiology"),
        phone: text("555"),
        email: text("linked@clinic.org"),
        experience_years: Submitted::Given(3),
        qualification: text("MD"),
        consultation_fee: text("10"),
        is_available: Submitted::Absent,
        user,
    };
    let linked = service
        .create_doctor(
            &caller(OWNER),
            input(Submitted::Given(Some(OWNER.0))),
            FieldErrors::new(),
        )
        .expect("created");
    assert_eq!(linked.doctor.details.linked_user, Some(OWNER));

    let mut both_bad = input(Submitted::Given(Some(404)));
    both_bad.experience_years = Submitted::Given(81);
    let errors = match service.create_doctor(&caller(OWNER), both_bad, FieldErrors::new()) {
        Err(ServiceError::Validation(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    };
    assert!(errors.has("experience_years"));
    assert_eq!(
        errors
            .iter()
            .find(|(field, _)| *field == "user")
            .map(|(_, p)| p.to_vec()),
        Some(vec![FieldProblem::UnknownRecord { given: 404 }])
    );

    let unlinked = service
        .update_doctor(
            &caller(OWNER),
            linked.doctor.id,
            DoctorInput {
                user: Submitted::Given(None),
                ..DoctorInput::default()
            },
            FieldErrors::new(),
            WriteMode::Partial,
            None,
        )
        .expect("changed");
    assert_eq!(unlinked.doctor.details.linked_user, None);
}
