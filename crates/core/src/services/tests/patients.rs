//! The patient use cases: who may see and change what, and the row each leaves.

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
    assert_eq!(
        Caller::new(&user(true, true), with_code, origin()),
        Caller {
            actor: Actor::RecordOwner(OWNER),
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
    let service = PatientService::new(PatientPorts {
        patients: Arc::new(patients_with(Some(patient(OWNER, false)))),
        mappings: Arc::new(MockMappingRepository::new()),
        users: Arc::new(MockUserRepository::new()),
        trail: Arc::new(FullTrail),
        clock: Arc::new(FixedClock),
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
fn listing_patients_records_one_list_row() {
    let mut patients = MockPatientRepository::new();
    patients
        .expect_list()
        .withf(|filter, page| {
            *filter
                == PatientFilter {
                    search: None,
                    owner: Some(OWNER),
                    archived: Some(false),
                }
                && page.number == 1
        })
        .times(1)
        .returning(|_, _| {
            Ok(PageOf {
                items: vec![patient(OWNER, false)],
                total: 1,
            })
        });
    let (service, trail) = patient_service(patients);
    let listed = service
        .list_patients(&caller(OWNER), searching(""), page())
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
    let mut patients = patients_with(Some(patient(OWNER, true)));
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
        service.restore_patient(&Caller::operator(RequestOrigin::default()), PatientId(1)),
        Ok(())
    );
    trail.assert_empty();

    // Not archived, or restored by someone else in between: nothing to restore.
    for stored in [patient(OWNER, false), patient(OWNER, true)] {
        let mut patients = patients_with(Some(stored.clone()));
        patients
            .expect_restore()
            .times(usize::from(stored.archived_at.is_some()))
            .returning(|_, _, _| Ok(false));
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
            }
        );
    }

    // An owner restores nothing: it is an operator's or staff's action.
    let mut patients = patients_with(Some(patient(OWNER, true)));
    patients.expect_restore().never();
    let (service, trail) = patient_service(patients);
    assert_eq!(
        service.restore_patient(&caller(OWNER), PatientId(1)),
        Err(ServiceError::Forbidden)
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientRestore,
        AuditOutcome::Denied,
        Some(1),
        Some(PatientId(1)),
    );
}
