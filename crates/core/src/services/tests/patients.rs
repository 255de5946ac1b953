//! The patient use cases: who may see and change what, and the row each leaves. On the
//! in-memory store, checked by what is stored afterwards; mocks only where a test makes the
//! database fail or lose a race.

use super::*;

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
    let session = |user: User, factors| Authenticated {
        user,
        factors,
        membership: membership(OWNER, personal_clinic(OWNER), Role::Admin),
    };
    assert_eq!(
        Caller::new(&session(user(true, true), with_code), origin()),
        Caller {
            audit_trail: AuditTrailAccess::Allowed,
            factors: with_code,
            ..caller(OWNER)
        }
    );
    let access =
        |user: &User, factors| Caller::new(&session(user.clone(), factors), origin()).audit_trail;
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
    let (service, store, trail) = patient_desk(&[patient(STRANGER, false)]);
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
    assert_eq!(store.patient(PatientId(1)), Some(patient(STRANGER, false)));
    assert_eq!(store.take_stored_rows(), vec![], "nothing changed");
}

#[test]
fn an_archived_patient_is_not_found_even_for_its_owner() {
    let (service, _, trail) = patient_desk(&[patient(OWNER, true)]);
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
    let (service, store, trail) = patient_desk(&[]);
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
    assert_eq!(store.take_stored_rows(), vec![]);
}

#[test]
fn reading_a_patient_records_who_read_which_record_from_where() {
    let (service, _, trail) = patient_desk(&[patient(OWNER, false)]);
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
    let service = PatientService::new(PatientPorts {
        patients: Arc::new(patients_with(Some(patient(OWNER, false)))),
        mappings: Arc::new(MockMappingRepository::new()),
        users: Arc::new(MockUserRepository::new()),
        trail: Arc::new(FullTrail),
        clock: Arc::new(FixedClock),
        grants: Arc::new(crate::ports::MockBreakGlassRepository::new()),
    });
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

fn searching(term: &str) -> PatientFilter {
    PatientFilter {
        search: Some(term.into()),
        ..PatientFilter::default()
    }
}

#[test]
fn an_owner_lists_only_their_live_patients_in_one_list_row() {
    let archived = Patient {
        id: PatientId(2),
        ..patient(OWNER, true)
    };
    let theirs = Patient {
        id: PatientId(3),
        ..patient(STRANGER, false)
    };
    let (service, _, trail) = patient_desk(&[patient(OWNER, false), archived, theirs]);
    let listed = service
        .list_patients(&caller(OWNER), searching(""), page())
        .expect("listed");
    assert_eq!(
        listed.items,
        vec![patient(OWNER, false)],
        "an empty search matches all"
    );
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
        .returning(|_, _| Err(RepoError::Unavailable("down".into())));
    let (service, trail) = patient_service(patients);
    assert_eq!(
        service.list_patients(&caller(OWNER), PatientFilter::default(), page()),
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
fn a_new_patient_is_the_callers_and_its_row_is_stored_with_it() {
    let (service, store, trail) = patient_desk(&[]);
    let input = PatientInput {
        name: text("Jane Roe"),
        age: Submitted::Given(40),
        gender: text("F"),
        ..Default::default()
    };
    let created = service
        .create_patient(&caller(OWNER), input, FieldErrors::new())
        .expect("created");
    assert_eq!((created.owner, created.version), (OWNER, 1));
    assert_eq!(store.patient(created.id), Some(created.clone()));
    assert_eq!(
        store.take_stored_rows(),
        vec![stored_change(AuditAction::PatientCreate, created.id.0)]
    );
    trail.assert_empty();
}

#[test]
fn an_invalid_new_patient_is_recorded_as_a_failure() {
    let (service, store, trail) = patient_desk(&[]);
    let result =
        service.create_patient(&caller(OWNER), PatientInput::default(), FieldErrors::new());
    assert_eq!(store.take_stored_rows(), vec![], "nothing stored");
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
    let (service, store, trail) = patient_desk(&[patient(OWNER, false)]);
    let result = service.update_patient(
        &caller(OWNER),
        PatientId(1),
        age_patch(),
        FieldErrors::new(),
        WriteMode::Partial,
        Some(IfMatch(vec![2])),
    );
    assert_eq!(result, Err(ServiceError::PreconditionFailed));
    assert_eq!(store.patient(PatientId(1)), Some(patient(OWNER, false)));
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
    let (service, store, trail) = patient_desk(&[patient(OWNER, false)]);
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
    assert_eq!(
        (updated.details.age.value(), updated.details.name.as_str()),
        (41, "Jane Roe"),
        "only the age changed"
    );
    assert_eq!(store.patient(PatientId(1)), Some(updated));
    assert_eq!(
        store.take_stored_rows(),
        vec![stored_change(AuditAction::PatientUpdate, 1)]
    );
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
fn deleting_a_patient_archives_it_and_ends_its_mappings() {
    let (service, store, trail) = patient_desk(&[patient(OWNER, false)]);
    store.add_mapping(mapping(true));
    assert_eq!(service.delete_patient(&caller(OWNER), PatientId(1)), Ok(()));
    assert!(
        store
            .patient(PatientId(1))
            .is_some_and(|p| p.archived_at.is_some())
    );
    assert_eq!(store.mapping(MappingId(9)), Some(mapping(false)));
    assert_eq!(
        store.take_stored_rows(),
        vec![stored_change(AuditAction::PatientDelete, 1)]
    );
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
fn the_operator_restores_an_archived_patient_and_only_an_archived_one() {
    let (service, store, trail) = patient_desk(&[patient(OWNER, true)]);
    let operator = Caller::operator(RequestOrigin::default());
    assert_eq!(service.restore_patient(&operator, PatientId(1)), Ok(()));
    let restored = Patient {
        version: 4,
        ..patient(OWNER, false)
    };
    assert_eq!(
        store.patient(PatientId(1)),
        Some(restored),
        "live again, one version on"
    );
    assert_eq!(
        store.take_stored_rows(),
        vec![AuditEvent {
            actor: None,
            origin: RequestOrigin::default(),
            ..stored_change(AuditAction::PatientRestore, 1)
        }]
    );
    trail.assert_empty();

    // Not archived, or restored by someone else in between (a failure injected): nothing to
    // restore.
    for stored in [patient(OWNER, false), patient(OWNER, true)] {
        let mut patients = patients_with(Some(stored.clone()));
        patients.expect_restore().returning(|_, _, _| Ok(false));
        let (service, trail) = patient_service(patients);
        assert_eq!(
            service.restore_patient(&staff(), PatientId(1)),
            Err(ServiceError::NotFound(Resource::Patient))
        );
        assert_eq!(
            trail.take_one(),
            AuditEvent {
                at: at(),
                actor: Some(STAFF),
                action: AuditAction::PatientRestore,
                resource_id: Some(1),
                patient_id: Some(PatientId(1)),
                outcome: AuditOutcome::Failure,
                origin: origin(),
                break_glass: false,
            }
        );
    }

    // An owner restores nothing: it is an operator's or staff's action.
    let (service, store, trail) = patient_desk(&[patient(OWNER, true)]);
    assert_eq!(
        service.restore_patient(&caller(OWNER), PatientId(1)),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(store.patient(PatientId(1)), Some(patient(OWNER, true)));
    assert_row(
        &trail.take_one(),
        AuditAction::PatientRestore,
        AuditOutcome::Denied,
        Some(1),
        Some(PatientId(1)),
    );
}

#[test]
fn the_operator_has_no_account_to_register_a_patient_under() {
    let (service, store, trail) = patient_desk(&[]);
    let operator = Caller::operator(origin());
    let input = PatientInput {
        name: text("Jane Roe"),
        age: Submitted::Given(40),
        gender: text("F"),
        ..Default::default()
    };
    assert_eq!(
        service.create_patient(&operator, input, FieldErrors::new()),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(store.take_stored_rows(), vec![], "nothing stored");
    assert_eq!(
        trail.take_one(),
        AuditEvent {
            at: at(),
            actor: None,
            action: AuditAction::PatientCreate,
            resource_id: None,
            patient_id: None,
            outcome: AuditOutcome::Denied,
            origin: origin(),
            break_glass: false,
        }
    );
}
