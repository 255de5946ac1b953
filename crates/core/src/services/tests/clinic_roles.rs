//! Roles and care teams inside a shared clinic, on the in-memory store: what each member's
//! use cases find, change and refuse, and another clinic's patients answering as missing.

use super::*;

const NORTH: ClinicId = ClinicId(50);
const SOUTH: ClinicId = ClinicId(60);
const REGISTRAR: UserId = UserId(21);
const CLINICIAN: UserId = UserId(22);

/// A live patient of `clinic` registered by `REGISTRAR`, with a medical history.
fn clinic_patient(id: i64, clinic: ClinicId) -> Patient {
    let mut patient = patient(REGISTRAR, false);
    patient.id = PatientId(id);
    patient.clinic = clinic;
    patient.details.medical_history = "asthma".into();
    patient
}

/// North's patients 1 (treated by `CLINICIAN` through a linked doctor), 2 (under their
/// break-glass grant), 3 (under a grant that ran out) and 4 (no tie); South's patient 5.
fn shared_clinics() -> (PatientService, FakeStore, Arc<RecordingTrail>) {
    let stored: Vec<Patient> = (1..=4)
        .map(|id| clinic_patient(id, NORTH))
        .chain([clinic_patient(5, SOUTH)])
        .collect();
    let (service, store, trail) = patient_desk(&stored);
    let mut linked = doctor(REGISTRAR, true, false);
    linked.doctor.details.linked_user = Some(CLINICIAN);
    store.add_doctor(linked.doctor);
    store.add_mapping(mapping(true));
    store.add_grant(PatientId(2), CLINICIAN, at() + chrono::Duration::minutes(5));
    store.add_grant(PatientId(3), CLINICIAN, at());
    (service, store, trail)
}

fn listed(service: &PatientService, who: &Caller) -> Vec<i64> {
    let mut ids: Vec<i64> = service
        .list_patients(who, PatientFilter::default(), page())
        .expect("listed")
        .items
        .iter()
        .map(|patient| patient.id.0)
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn each_role_lists_and_reads_its_share_of_its_own_clinic_only() {
    let (service, _, trail) = shared_clinics();
    let table = [
        (member(UserId(30), NORTH, Role::Admin), vec![1, 2, 3, 4]),
        (member(CLINICIAN, NORTH, Role::Clinician), vec![1, 2]),
        (member(REGISTRAR, NORTH, Role::Clinician), vec![1, 2, 3, 4]),
        (member(UserId(31), NORTH, Role::FrontDesk), vec![1, 2, 3, 4]),
        (member(UserId(32), NORTH, Role::Auditor), vec![]),
        (member(UserId(33), SOUTH, Role::Admin), vec![5]),
    ];
    for (who, expected) in table {
        assert_eq!(listed(&service, &who), expected, "{:?}", who.actor);
        for id in 1..=5 {
            let read = service.get_patient(&who, PatientId(id));
            match read {
                Ok(_) => assert!(expected.contains(&id), "{:?} read {id}", who.actor),
                Err(error) => {
                    assert!(!expected.contains(&id), "{:?} {id}", who.actor);
                    assert_eq!(error, ServiceError::NotFound(Resource::Patient));
                }
            }
        }
    }
    // Every refused read was recorded as a denial, never as an absence.
    let rows = trail.take();
    let reads: Vec<&AuditEvent> = rows
        .iter()
        .filter(|row| row.action == AuditAction::PatientRead)
        .collect();
    assert_eq!(reads.len(), 6 * 5, "one row per read");
    assert!(reads.iter().all(|row| row.outcome != AuditOutcome::Failure));
    // Reads allowed by a grant are marked, and only those.
    let marked: Vec<Option<PatientId>> = reads
        .iter()
        .filter(|row| row.break_glass)
        .map(|row| row.patient_id)
        .collect();
    assert_eq!(marked, vec![Some(PatientId(2))]);

    // A clinician's list is marked when their grant let it show a patient; nobody else's is.
    for (who, marked) in [
        (member(CLINICIAN, NORTH, Role::Clinician), true),
        (member(REGISTRAR, NORTH, Role::Clinician), false),
        (member(UserId(30), NORTH, Role::Admin), false),
    ] {
        listed(&service, &who);
        let row = trail.take_one();
        assert_eq!(
            (row.action, row.break_glass),
            (AuditAction::PatientList, marked)
        );
    }
}

#[test]
fn a_front_desk_never_reads_or_writes_a_medical_history_and_never_deletes() {
    let (service, store, trail) = shared_clinics();
    let desk = member(UserId(31), NORTH, Role::FrontDesk);
    let read = service.get_patient(&desk, PatientId(4)).expect("visible");
    assert_eq!(read.details.medical_history, "", "withheld");
    assert!(
        service
            .list_patients(&desk, PatientFilter::default(), page())
            .expect("listed")
            .items
            .iter()
            .all(|patient| patient.details.medical_history.is_empty())
    );
    trail.take();

    let history = PatientInput {
        medical_history: text("changed"),
        ..Default::default()
    };
    let write = |input: PatientInput| {
        service.update_patient(
            &desk,
            PatientId(4),
            input,
            FieldErrors::new(),
            WriteMode::Partial,
            None,
        )
    };
    assert_eq!(write(history.clone()), Err(ServiceError::Forbidden));
    assert_eq!(
        store
            .patient(PatientId(4))
            .map(|p| p.details.medical_history),
        Some("asthma".into()),
        "nothing changed"
    );
    let changed = write(age_patch()).expect("demographics are the front desk's");
    assert_eq!(changed.details.medical_history, "");
    assert_eq!(
        store
            .patient(PatientId(4))
            .map(|p| (p.details.age.value(), p.details.medical_history)),
        Some((41, "asthma".into())),
        "the history is kept"
    );
    assert_eq!(
        service.delete_patient(&desk, PatientId(4)),
        Err(ServiceError::Forbidden)
    );
    let registered = service.create_patient(
        &desk,
        PatientInput {
            name: text("New"),
            age: Submitted::Given(3),
            gender: text("O"),
            ..history
        },
        FieldErrors::new(),
    );
    assert_eq!(registered, Err(ServiceError::Forbidden));
    trail.take();
}

#[test]
fn patients_are_registered_in_the_callers_clinic_and_auditors_register_none() {
    let (service, store, _) = shared_clinics();
    let input = || PatientInput {
        name: text("New"),
        age: Submitted::Given(3),
        gender: text("O"),
        ..Default::default()
    };
    let clinician = member(CLINICIAN, NORTH, Role::Clinician);
    let created = service
        .create_patient(&clinician, input(), FieldErrors::new())
        .expect("created");
    assert_eq!((created.clinic, created.owner), (NORTH, CLINICIAN));
    assert!(
        service.get_patient(&clinician, created.id).is_ok(),
        "the registrar joins its care team"
    );
    assert!(store.patient(created.id).is_some());
    let auditor = member(UserId(32), NORTH, Role::Auditor);
    assert_eq!(
        service.create_patient(&auditor, input(), FieldErrors::new()),
        Err(ServiceError::Forbidden)
    );
}

#[test]
fn another_clinics_patient_cannot_be_changed_or_deleted_by_any_role() {
    let (service, store, _) = shared_clinics();
    for role in Role::ALL {
        let outsider = member(UserId(33), SOUTH, role);
        let result = service.update_patient(
            &outsider,
            PatientId(4),
            age_patch(),
            FieldErrors::new(),
            WriteMode::Partial,
            None,
        );
        assert_eq!(result, Err(ServiceError::NotFound(Resource::Patient)));
        assert_eq!(
            service.delete_patient(&outsider, PatientId(4)),
            Err(ServiceError::NotFound(Resource::Patient))
        );
    }
    assert_eq!(
        store
            .patient(PatientId(4))
            .map(|p| (p.version, p.archived_at)),
        Some((3, None))
    );
}

#[test]
fn a_clinician_breaks_the_glass_once_with_a_reason_and_then_sees_the_patient() {
    let (service, store, trail) = shared_clinics();
    let clinician = member(CLINICIAN, NORTH, Role::Clinician);
    let reason = || text("Unconscious in the emergency room");
    let glass = |who: &Caller, id: i64, reason: Submitted<String>| {
        service.break_glass(who, PatientId(id), reason, FieldErrors::new())
    };
    assert_eq!(
        service.get_patient(&clinician, PatientId(4)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    trail.take();

    assert_eq!(
        glass(&clinician, 4, text("too short")),
        Err(ServiceError::Validation(FieldErrors::single(
            "reason",
            FieldProblem::TooShort { min: 10 }
        )))
    );
    trail.take_one();
    let grant = glass(&clinician, 4, reason()).expect("granted");
    assert_eq!(
        (grant.patient, grant.user, grant.clinic),
        (PatientId(4), CLINICIAN, NORTH)
    );
    assert_eq!(grant.expires_at, at() + chrono::Duration::minutes(60));
    assert_eq!(grant.reason, "Unconscious in the emergency room");
    assert_eq!(
        store.take_stored_rows(),
        vec![AuditEvent {
            at: at(),
            actor: Some(CLINICIAN),
            action: AuditAction::PatientBreakGlass,
            resource_id: Some(grant.id),
            patient_id: Some(PatientId(4)),
            outcome: AuditOutcome::Success,
            origin: origin(),
            break_glass: false,
        }]
    );
    assert!(service.get_patient(&clinician, PatientId(4)).is_ok());
    trail.take();

    // Already visible: the grant just opened, or the role sees every patient.
    for who in [
        clinician.clone(),
        member(UserId(30), NORTH, Role::Admin),
        member(UserId(31), NORTH, Role::FrontDesk),
    ] {
        assert_eq!(glass(&who, 4, reason()), Err(ServiceError::AlreadyVisible));
        assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);
    }
    // Never for an auditor, another clinic's member, a missing patient: answered as missing.
    for (who, id) in [
        (member(UserId(32), NORTH, Role::Auditor), 4),
        (member(CLINICIAN, SOUTH, Role::Clinician), 4),
        (clinician.clone(), 99),
    ] {
        assert_eq!(
            glass(&who, id, reason()),
            Err(ServiceError::NotFound(Resource::Patient))
        );
        let expected = if id == 99 {
            AuditOutcome::Failure
        } else {
            AuditOutcome::Denied
        };
        assert_eq!(trail.take_one().outcome, expected);
    }
    assert!(store.take_stored_rows().is_empty(), "no other grant");
}

#[test]
fn a_grant_lasts_the_configured_minutes() {
    let (service, _, _) = shared_clinics();
    let service = service.with_break_glass_minutes(15);
    let grant = service
        .break_glass(
            &member(CLINICIAN, NORTH, Role::Clinician),
            PatientId(4),
            text("Unconscious in the emergency room"),
            FieldErrors::new(),
        )
        .expect("granted");
    assert_eq!(grant.expires_at, at() + chrono::Duration::minutes(15));
}
