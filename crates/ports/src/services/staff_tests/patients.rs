//! What staff do to patients and mappings through the shared use cases, as platform staff:
//! every owner's records, archived ones included, each access audited with the staff user as
//! actor.

use super::*;

#[test]
fn listing_patients_is_recorded_with_the_staff_user_as_actor() {
    let filter = PatientFilter {
        archived: Some(true),
        ..PatientFilter::default()
    };
    let listed = PageOf {
        items: vec![patient(OWNER, true)],
        total: 1,
    };
    let mut ports = Ports::new();
    ports
        .patients
        .expect_list()
        .with(eq(filter.clone()), eq(page()))
        .times(1)
        .return_const(Ok(listed.clone()));
    let (service, trail) = ports.patients();
    assert_eq!(
        service.list_patients(&staff_caller(), filter, page()),
        Ok(listed)
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::PatientList,
            Some(STAFF),
            None,
            None,
            AuditOutcome::Success
        )
    );
}

#[test]
fn reading_a_patient_even_archived_is_recorded_with_its_id() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .with(eq(PatientId(1)))
        .return_const(Ok(Some(patient(OWNER, true))));
    ports
        .users
        .expect_find_by_id()
        .with(eq(OWNER))
        .return_const(Ok(Some(user(OWNER, true, false))));
    ports
        .mappings
        .expect_list()
        .withf(|filter, page| {
            *filter
                == MappingFilter {
                    patient: Some(PatientId(1)),
                    ..MappingFilter::default()
                }
                && page.number == 1
        })
        .times(1)
        .returning(|_, _| {
            Ok(PageOf {
                items: vec![view()],
                total: 1,
            })
        });
    let (service, trail) = ports.patients();
    let detail = service
        .patient_detail(&staff_caller(), PatientId(1))
        .expect("found");
    assert_eq!(detail.patient, patient(OWNER, true));
    assert_eq!(detail.owner, Some(user(OWNER, true, false)));
    assert_eq!(detail.mappings, vec![view()]);
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::PatientRead,
            Some(STAFF),
            Some(1),
            Some(PatientId(1)),
            AuditOutcome::Success
        )
    );
}

#[test]
fn reading_an_unknown_patient_is_not_found_and_a_failure() {
    let mut ports = Ports::new();
    ports.patients.expect_find().return_const(Ok(None));
    ports.mappings.expect_list().never();
    let (service, trail) = ports.patients();
    assert_eq!(
        service.patient_detail(&staff_caller(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::PatientRead,
            Some(STAFF),
            Some(1),
            Some(PatientId(1)),
            AuditOutcome::Failure
        )
    );
}

/// A complete replacement of the test patient's details.
fn replacement() -> PatientInput {
    PatientInput {
        name: text("Jane Doe"),
        age: Submitted::Given(41),
        gender: text("F"),
        ..PatientInput::default()
    }
}

fn patient_update(outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::PatientUpdate,
        Some(STAFF),
        Some(1),
        Some(PatientId(1)),
        outcome,
    )
}

/// The admin site's edit form: a replacement based on the version the form was filled from.
fn replace(
    service: &PatientService,
    input: PatientInput,
    shape_errors: FieldErrors,
    version: i64,
) -> Result<healthcare_domain::patient::Patient, ServiceError> {
    service.update_patient(
        &staff_caller(),
        PatientId(1),
        input,
        shape_errors,
        WriteMode::Replace,
        Some(IfMatch(vec![version])),
    )
}

/// Ports holding the test patient, which must not be updated.
fn ports_refusing_updates(archived: bool) -> Ports {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, archived))));
    ports.patients.expect_update().never();
    ports
}

#[test]
fn an_invalid_update_is_refused_before_anything_is_stored() {
    let (service, trail) = ports_refusing_updates(false).patients();
    let input = PatientInput {
        name: text(""),
        ..replacement()
    };
    let result = replace(&service, input, FieldErrors::new(), 3);
    let Err(ServiceError::Validation(errors)) = result else {
        panic!("expected validation errors, got {result:?}");
    };
    assert!(errors.has("name"));
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));

    // The transport's own findings are reported too.
    let (service, trail) = ports_refusing_updates(false).patients();
    let result = replace(
        &service,
        replacement(),
        FieldErrors::single("age", "A valid integer is required."),
        3,
    );
    assert!(
        matches!(&result, Err(ServiceError::Validation(errors)) if errors.has("age")),
        "{result:?}"
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

#[test]
fn an_update_based_on_an_old_version_is_refused() {
    let (service, trail) = ports_refusing_updates(false).patients();
    assert_eq!(
        replace(&service, replacement(), FieldErrors::new(), 2),
        Err(ServiceError::PreconditionFailed)
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

#[test]
fn an_archived_patient_cannot_be_updated() {
    let (service, trail) = ports_refusing_updates(true).patients();
    assert_eq!(
        replace(&service, replacement(), FieldErrors::new(), 3),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

#[test]
fn an_update_passes_the_staff_users_row_to_the_repository() {
    let updated = healthcare_domain::patient::Patient {
        version: 4,
        ..patient(OWNER, false)
    };
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_update()
        .withf(|id, details, expected_version, at_, audit| {
            *id == PatientId(1)
                && details.name.as_str() == "Jane Doe"
                && details.age.value() == 41
                && *expected_version == 3
                && *at_ == at()
                && *audit == patient_update(AuditOutcome::Success)
        })
        .times(1)
        .return_const(Ok(Some(updated.clone())));
    let (service, trail) = ports.patients();
    assert_eq!(
        replace(&service, replacement(), FieldErrors::new(), 3),
        Ok(updated)
    );
    trail.assert_empty();
}

#[test]
fn an_update_losing_a_race_is_refused() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_update()
        .times(1)
        .return_const(Ok(None));
    let (service, trail) = ports.patients();
    assert_eq!(
        replace(&service, replacement(), FieldErrors::new(), 3),
        Err(ServiceError::PreconditionFailed)
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

fn patient_delete(outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::PatientDelete,
        Some(STAFF),
        Some(1),
        Some(PatientId(1)),
        outcome,
    )
}

#[test]
fn archiving_passes_the_staff_users_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_archive()
        .with(
            eq(PatientId(1)),
            eq(at()),
            eq(patient_delete(AuditOutcome::Success)),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.patients();
    assert_eq!(
        service.delete_patient(&staff_caller(), PatientId(1)),
        Ok(())
    );
    trail.assert_empty();
}

#[test]
fn archiving_an_archived_or_unknown_patient_is_not_found() {
    for found in [Some(patient(OWNER, true)), None] {
        let mut ports = Ports::new();
        ports.patients.expect_find().return_const(Ok(found));
        ports.patients.expect_archive().never();
        let (service, trail) = ports.patients();
        assert_eq!(
            service.delete_patient(&staff_caller(), PatientId(1)),
            Err(ServiceError::NotFound(Resource::Patient))
        );
        assert_eq!(trail.take_one(), patient_delete(AuditOutcome::Failure));
    }

    // Archived by someone else between the read and the write.
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_archive()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.patients();
    assert_eq!(
        service.delete_patient(&staff_caller(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(trail.take_one(), patient_delete(AuditOutcome::Failure));
}

#[test]
fn removing_a_mapping_passes_the_staff_users_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
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
            eq(row(
                AuditAction::MappingRemove,
                Some(STAFF),
                Some(9),
                Some(PatientId(1)),
                AuditOutcome::Success,
            )),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.mappings();
    assert_eq!(
        service.remove_mapping(&staff_caller(), MappingId(9)),
        Ok(())
    );
    trail.assert_empty();
}

#[test]
fn removing_an_ended_or_unknown_mapping_is_not_found() {
    for found in [Some(mapping(false)), None] {
        let mut ports = Ports::new();
        ports
            .patients
            .expect_find()
            .return_const(Ok(Some(patient(OWNER, false))));
        ports
            .patients
            .expect_find()
            .return_const(Ok(Some(patient(OWNER, false))));
        ports.mappings.expect_find().return_const(Ok(found.clone()));
        ports.mappings.expect_deactivate().never();
        let (service, trail) = ports.mappings();
        assert_eq!(
            service.remove_mapping(&staff_caller(), MappingId(9)),
            Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::MappingRemove,
                Some(STAFF),
                Some(9),
                found.map(|found| found.patient_id),
                AuditOutcome::Failure
            )
        );
    }
}

fn mapping_update(patient: Option<PatientId>, outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::MappingUpdate,
        Some(STAFF),
        Some(9),
        patient,
        outcome,
    )
}

#[test]
fn invalid_notes_are_refused_on_their_field_before_anything_is_stored() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .mappings
        .expect_find()
        .with(eq(MappingId(9)))
        .return_const(Ok(Some(mapping(true))));
    ports.mappings.expect_update_notes().never();
    let (service, trail) = ports.mappings();
    assert_eq!(
        service.update_mapping_notes(
            &staff_caller(),
            MappingId(9),
            text("before\0after"),
            FieldErrors::new()
        ),
        Err(ServiceError::Validation(FieldErrors::single(
            "notes",
            NULL_CHARACTER
        )))
    );
    assert_eq!(
        trail.take_one(),
        mapping_update(Some(PatientId(1)), AuditOutcome::Failure)
    );
}

#[test]
fn new_notes_are_stored_trimmed_with_the_staff_users_row() {
    let updated = MappingView {
        mapping: Mapping {
            notes: "Checked weekly.".into(),
            ..mapping(true)
        },
        ..view()
    };
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_update_notes()
        .with(
            eq(MappingId(9)),
            eq("Checked weekly."),
            eq(at()),
            eq(mapping_update(Some(PatientId(1)), AuditOutcome::Success)),
        )
        .times(1)
        .return_const(Ok(Some(updated.clone())));
    let (service, trail) = ports.mappings();
    assert_eq!(
        service.update_mapping_notes(
            &staff_caller(),
            MappingId(9),
            text("  Checked weekly.\n"),
            FieldErrors::new()
        ),
        Ok(updated)
    );
    trail.assert_empty();
}

#[test]
fn notes_of_an_ended_or_unknown_mapping_are_not_found() {
    for found in [Some(mapping(false)), None] {
        let mut ports = Ports::new();
        ports
            .patients
            .expect_find()
            .return_const(Ok(Some(patient(OWNER, false))));
        ports
            .patients
            .expect_find()
            .return_const(Ok(Some(patient(OWNER, false))));
        ports.mappings.expect_find().return_const(Ok(found.clone()));
        ports.mappings.expect_update_notes().never();
        let (service, trail) = ports.mappings();
        assert_eq!(
            service.update_mapping_notes(
                &staff_caller(),
                MappingId(9),
                text("Too late."),
                FieldErrors::new()
            ),
            Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
        );
        assert_eq!(
            trail.take_one(),
            mapping_update(found.map(|found| found.patient_id), AuditOutcome::Failure)
        );
    }

    // Ended between the read and the write: the repository stores nothing.
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_update_notes()
        .times(1)
        .return_const(Ok(None));
    let (service, trail) = ports.mappings();
    assert_eq!(
        service.update_mapping_notes(
            &staff_caller(),
            MappingId(9),
            text("Raced."),
            FieldErrors::new()
        ),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(
        trail.take_one(),
        mapping_update(Some(PatientId(1)), AuditOutcome::Failure)
    );
}

#[test]
fn reading_a_mapping_names_its_patient_and_doctor_and_is_recorded() {
    let mut ports = Ports::new();
    ports
        .mappings
        .expect_find()
        .with(eq(MappingId(9)))
        .return_const(Ok(Some(mapping(false))));
    ports
        .patients
        .expect_find()
        .with(eq(PatientId(1)))
        .return_const(Ok(Some(patient(OWNER, true))));
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, false, true))));
    let (service, trail) = ports.mappings();
    let expected = MappingView {
        mapping: mapping(false),
        ..view()
    };
    assert_eq!(
        service.get_mapping(&staff_caller(), MappingId(9)),
        Ok(expected)
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(9),
            Some(PatientId(1)),
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports.mappings.expect_find().return_const(Ok(None));
    let (service, trail) = ports.mappings();
    assert_eq!(
        service.get_mapping(&staff_caller(), MappingId(9)),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(9),
            None,
            AuditOutcome::Failure
        )
    );
}
