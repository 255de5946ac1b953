//! The record use cases with platform staff as the actor (the admin site), on the in-memory
//! store: every owner's records, archived ones included, and each access to patient data
//! audited once with the staff user as actor. Checked by what is stored afterwards, not by
//! which calls were made.

use healthcare_domain::FieldErrors;
use healthcare_domain::mapping::MappingFilter;

use super::*;
use crate::ports::MockUserRepository;
use crate::services::IfMatch;
use crate::services::fake_store::FakeStore;

/// The store, the three record services on it, and the trail they record refusals and reads in.
struct Desk {
    store: FakeStore,
    patients: PatientService,
    doctors: DoctorService,
    mappings: MappingService,
    trail: Arc<RecordingTrail>,
}

/// The test records: `OWNER`'s patient 1 (archived or not), doctor 2 created by `STRANGER`,
/// and mapping 9 between them (active or ended).
fn desk_with(archived_patient: bool, active_mapping: bool) -> Desk {
    let store = FakeStore::default();
    store.add_patient(patient(OWNER, archived_patient));
    store.add_doctor(doctor(STRANGER, true, false).doctor);
    store.add_mapping(mapping(active_mapping));
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|id| Ok(Some(owner_account(id))));
    let trail = RecordingTrail::shared();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock);
    let shared = Arc::new(store.clone());
    Desk {
        patients: PatientService::new(PatientPorts {
            patients: shared.clone(),
            mappings: shared.clone(),
            users: Arc::new(users),
            trail: trail.clone(),
            clock: clock.clone(),
            grants: shared.clone(),
        }),
        doctors: DoctorService::new(
            shared.clone(),
            shared.clone(),
            Arc::new(MockUserRepository::new()),
            trail.clone(),
            clock.clone(),
        ),
        mappings: MappingService::new(shared.clone(), shared.clone(), shared, trail.clone(), clock),
        store,
        trail,
    }
}

fn owner_account(id: UserId) -> User {
    User {
        id,
        name: "Ann Lee".into(),
        email: "ann@example.com".into(),
        is_active: true,
        is_staff: false,
        created_at: at(),
        tokens_valid_after: None,
    }
}

/// The row of `action` by the staff user about `resource`.
fn staff_row(
    action: AuditAction,
    resource: Option<i64>,
    patient: Option<PatientId>,
    outcome: AuditOutcome,
) -> AuditEvent {
    AuditEvent {
        at: at(),
        actor: Some(STAFF),
        action,
        resource_id: resource,
        patient_id: patient,
        outcome,
        origin: origin(),
        break_glass: false,
    }
}

/// The admin site's edit form: a complete replacement based on `version`.
fn edit(desk: &Desk, name: &str, version: i64) -> Result<Patient, ServiceError> {
    let input = PatientInput {
        name: text(name),
        age: Submitted::Given(41),
        gender: text("F"),
        ..PatientInput::default()
    };
    desk.patients.update_patient(
        &staff(),
        PatientId(1),
        input,
        FieldErrors::new(),
        WriteMode::Replace,
        Some(IfMatch(vec![version])),
    )
}

#[test]
fn staff_list_every_owners_patients_archived_ones_included() {
    let desk = desk_with(true, false);
    desk.store.add_patient(Patient {
        id: PatientId(3),
        ..patient(STRANGER, false)
    });
    let listed = desk
        .patients
        .list_patients(&staff(), PatientFilter::default(), page())
        .expect("listed");
    assert_eq!(listed.total, 2);
    let archived_only = PatientFilter {
        archived: Some(true),
        ..PatientFilter::default()
    };
    let listed = desk
        .patients
        .list_patients(&staff(), archived_only, page())
        .expect("listed");
    assert_eq!(listed.items, vec![patient(OWNER, true)]);
    let rows = desk.trail.take();
    assert_eq!(
        rows,
        vec![staff_row(AuditAction::PatientList, None, None, AuditOutcome::Success); 2]
    );
}

#[test]
fn staff_read_an_archived_patient_with_its_owner_and_ended_mappings() {
    let desk = desk_with(true, false);
    let detail = desk
        .patients
        .patient_detail(&staff(), PatientId(1))
        .expect("found");
    assert_eq!(detail.patient, patient(OWNER, true));
    assert_eq!(detail.owner.map(|owner| owner.id), Some(OWNER));
    assert_eq!(
        detail
            .mappings
            .iter()
            .map(|v| v.mapping.clone())
            .collect::<Vec<_>>(),
        vec![mapping(false)]
    );
    let read = staff_row(
        AuditAction::PatientRead,
        Some(1),
        Some(PatientId(1)),
        AuditOutcome::Success,
    );
    assert_eq!(desk.trail.take_one(), read);

    assert_eq!(
        desk.patients.patient_detail(&staff(), PatientId(404)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(
        desk.trail.take_one(),
        staff_row(
            AuditAction::PatientRead,
            Some(404),
            Some(PatientId(404)),
            AuditOutcome::Failure
        )
    );
}

#[test]
fn the_edit_form_saves_once_and_refuses_stale_invalid_or_archived_edits() {
    let desk = desk_with(false, true);
    let failed = staff_row(
        AuditAction::PatientUpdate,
        Some(1),
        Some(PatientId(1)),
        AuditOutcome::Failure,
    );
    let result = edit(&desk, "", 3);
    assert!(
        matches!(&result, Err(ServiceError::Validation(errors)) if errors.has("name")),
        "{result:?}"
    );
    assert_eq!(desk.trail.take_one(), failed);
    assert_eq!(
        edit(&desk, "Jane Doe", 2),
        Err(ServiceError::PreconditionFailed),
        "someone else saved first"
    );
    assert_eq!(desk.trail.take_one(), failed);
    assert_eq!(
        desk.store.patient(PatientId(1)),
        Some(patient(OWNER, false))
    );

    let saved = edit(&desk, "Jane Doe", 3).expect("saved");
    assert_eq!(
        (saved.version, saved.details.name.as_str()),
        (4, "Jane Doe")
    );
    desk.trail.assert_empty();
    assert_eq!(
        desk.store.take_stored_rows(),
        vec![staff_row(
            AuditAction::PatientUpdate,
            Some(1),
            Some(PatientId(1)),
            AuditOutcome::Success
        )]
    );

    let archived = desk_with(true, false);
    assert_eq!(
        edit(&archived, "Jane Doe", 3),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(archived.trail.take_one(), failed);
}

#[test]
fn staff_archive_and_restore_a_patient_once_each() {
    let desk = desk_with(false, true);
    let row = |action, outcome| staff_row(action, Some(1), Some(PatientId(1)), outcome);
    assert_eq!(desk.patients.delete_patient(&staff(), PatientId(1)), Ok(()));
    assert!(
        desk.store
            .patient(PatientId(1))
            .is_some_and(|p| p.archived_at.is_some())
    );
    assert_eq!(
        desk.store.mapping(MappingId(9)).map(|m| m.is_active),
        Some(false),
        "archiving ends the patient's mappings"
    );
    assert_eq!(
        desk.store.take_stored_rows(),
        vec![row(AuditAction::PatientDelete, AuditOutcome::Success)]
    );
    assert_eq!(
        desk.patients.delete_patient(&staff(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(
        desk.trail.take_one(),
        row(AuditAction::PatientDelete, AuditOutcome::Failure)
    );

    assert_eq!(
        desk.patients.restore_patient(&staff(), PatientId(1)),
        Ok(())
    );
    assert!(
        desk.store
            .patient(PatientId(1))
            .is_some_and(|p| p.archived_at.is_none())
    );
    assert_eq!(
        desk.store.mapping(MappingId(9)).map(|m| m.is_active),
        Some(false),
        "its mappings stay ended"
    );
    assert_eq!(
        desk.store.take_stored_rows(),
        vec![row(AuditAction::PatientRestore, AuditOutcome::Success)]
    );
    assert_eq!(
        desk.patients.restore_patient(&staff(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient)),
        "only an archived patient is restored"
    );
    assert_eq!(
        desk.trail.take_one(),
        row(AuditAction::PatientRestore, AuditOutcome::Failure)
    );
}

#[test]
fn staff_end_an_active_mapping_once_and_each_attempt_names_its_patient() {
    let desk = desk_with(false, true);
    let row = |outcome| {
        staff_row(
            AuditAction::MappingRemove,
            Some(9),
            Some(PatientId(1)),
            outcome,
        )
    };
    assert_eq!(desk.mappings.remove_mapping(&staff(), MappingId(9)), Ok(()));
    assert_eq!(
        desk.store.mapping(MappingId(9)).map(|m| m.is_active),
        Some(false)
    );
    assert_eq!(
        desk.store.take_stored_rows(),
        vec![row(AuditOutcome::Success)]
    );
    assert_eq!(
        desk.mappings.remove_mapping(&staff(), MappingId(9)),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(desk.trail.take_one(), row(AuditOutcome::Failure));
    assert_eq!(
        desk.mappings.remove_mapping(&staff(), MappingId(404)),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(
        desk.trail.take_one(),
        staff_row(
            AuditAction::MappingRemove,
            Some(404),
            None,
            AuditOutcome::Failure
        )
    );
}

#[test]
fn staff_change_notes_of_an_active_mapping_only_with_the_apis_rules() {
    let desk = desk_with(false, true);
    let row = |outcome| {
        staff_row(
            AuditAction::MappingUpdate,
            Some(9),
            Some(PatientId(1)),
            outcome,
        )
    };
    let notes = |typed: &str| {
        desk.mappings
            .update_mapping_notes(&staff(), MappingId(9), text(typed), FieldErrors::new())
    };
    assert_eq!(
        notes("before\0after"),
        Err(ServiceError::Validation(FieldErrors::single(
            "notes",
            FieldProblem::NullCharacter
        )))
    );
    assert_eq!(desk.trail.take_one(), row(AuditOutcome::Failure));
    let saved = notes("  Checked weekly.\n").expect("saved");
    assert_eq!(saved.mapping.notes, "Checked weekly.");
    assert_eq!(
        desk.store.take_stored_rows(),
        vec![row(AuditOutcome::Success)]
    );

    let ended = desk_with(false, false);
    assert_eq!(
        ended.mappings.update_mapping_notes(
            &staff(),
            MappingId(9),
            text("Too late."),
            FieldErrors::new()
        ),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(ended.trail.take_one(), row(AuditOutcome::Failure));
    assert_eq!(ended.store.mapping(MappingId(9)), Some(mapping(false)));
}

#[test]
fn staff_read_an_ended_mapping_of_an_archived_patient_with_its_names() {
    let desk = desk_with(true, false);
    let view = desk
        .mappings
        .get_mapping(&staff(), MappingId(9))
        .expect("found");
    assert_eq!(
        view,
        MappingView {
            mapping: mapping(false),
            ..super::view()
        }
    );
    assert_eq!(
        desk.trail.take_one(),
        staff_row(
            AuditAction::MappingList,
            Some(9),
            Some(PatientId(1)),
            AuditOutcome::Success
        )
    );
}

#[test]
fn staff_list_ended_mappings_which_owners_never_see() {
    let desk = desk_with(false, false);
    let ended = MappingFilter {
        active: Some(false),
        ..MappingFilter::default()
    };
    let seen = desk
        .mappings
        .list_mappings(&staff(), ended, page())
        .expect("listed");
    assert_eq!(seen.total, 1);
    let owners = desk
        .mappings
        .list_mappings(&caller(OWNER), ended, page())
        .expect("listed");
    assert_eq!(
        owners.total, 0,
        "an owner's list holds active mappings only"
    );
}

#[test]
fn staff_archive_any_doctor_and_each_ended_mapping_is_recorded_as_theirs() {
    let desk = desk_with(false, true);
    let detail = desk
        .doctors
        .doctor_detail(&staff(), DoctorId(2))
        .expect("found");
    assert_eq!(detail.doctor.patient_count, 1);
    assert_eq!(
        desk.trail.take_one(),
        staff_row(
            AuditAction::MappingList,
            Some(2),
            None,
            AuditOutcome::Success
        )
    );

    assert_eq!(
        desk.doctors.delete_doctor(&staff(), DoctorId(2)),
        Ok(()),
        "not their own"
    );
    assert_eq!(
        desk.store.take_stored_rows(),
        vec![staff_row(
            AuditAction::MappingRemove,
            Some(9),
            Some(PatientId(1)),
            AuditOutcome::Success
        )]
    );
    assert_eq!(
        desk.doctors.delete_doctor(&staff(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    desk.trail.assert_empty();

    assert_eq!(desk.doctors.restore_doctor(&staff(), DoctorId(2)), Ok(()));
    assert!(
        desk.store
            .doctor(DoctorId(2))
            .is_some_and(|d| d.archived_at.is_none())
    );
    assert_eq!(
        desk.store.mapping(MappingId(9)).map(|m| m.is_active),
        Some(false)
    );
    assert_eq!(
        desk.doctors.restore_doctor(&staff(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor)),
        "only an archived doctor is restored"
    );
}
