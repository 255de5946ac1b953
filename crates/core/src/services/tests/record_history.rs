//! Record history and search (the FHIR adapter's use cases): versions kept by every change,
//! read under the same rules and audit rows as the current record; a deleted record is gone
//! only to those who saw it live.

use healthcare_domain::doctor::DoctorSearch;
use healthcare_domain::patient::{PatientName, PatientSearch};
use healthcare_domain::record_search::{SearchPaging, TextMatch};

use super::*;

fn renamed(name: &str) -> PatientInput {
    PatientInput {
        name: text(name),
        ..Default::default()
    }
}

#[test]
fn every_update_and_archive_keeps_a_version_read_as_it_was_stored() {
    let (service, store, trail) = patient_desk(&[patient(OWNER, false)]);
    let owner = caller(OWNER);
    let names = ["Jane A", "Jane B", "Jane C"];
    for name in names {
        service
            .update_patient(
                &owner,
                PatientId(1),
                renamed(name),
                FieldErrors::new(),
                WriteMode::Partial,
                None,
            )
            .expect("updated");
    }
    trail.take();
    let versions = service
        .patient_history(&owner, PatientId(1), None, 100)
        .expect("history");
    let seen: Vec<(i64, &str)> = versions
        .iter()
        .map(|p| (p.version, p.details.name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [(6, "Jane C"), (5, "Jane B"), (4, "Jane A"), (3, "Jane Roe")],
        "N updates give N + 1 versions, newest first"
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientRead,
        AuditOutcome::Success,
        Some(1),
        Some(PatientId(1)),
    );
    for expected in &versions {
        let read = service
            .patient_version(&owner, PatientId(1), Some(expected.version))
            .expect("a kept version");
        assert_eq!(&read, expected);
    }
    let older = service
        .patient_history(&owner, PatientId(1), Some(5), 1)
        .expect("a page of history");
    assert_eq!(older.iter().map(|p| p.version).collect::<Vec<_>>(), [4]);
    assert_eq!(
        service.patient_version(&owner, PatientId(1), Some(99)),
        Err(ServiceError::NotFound(Resource::Patient))
    );

    service
        .delete_patient(&owner, PatientId(1))
        .expect("archived");
    assert_eq!(
        store.patient(PatientId(1)).map(|p| p.version),
        Some(7),
        "archiving is a version"
    );
    trail.take();
    assert_eq!(
        service.patient_version(&owner, PatientId(1), None),
        Err(ServiceError::Gone(Resource::Patient)),
        "deleted: gone to who saw it"
    );
    assert_row(
        &trail.take_one(),
        AuditAction::PatientRead,
        AuditOutcome::Failure,
        Some(1),
        Some(PatientId(1)),
    );
    assert_eq!(
        service.patient_history(&owner, PatientId(1), None, 100),
        Err(ServiceError::Gone(Resource::Patient))
    );
}

#[test]
fn another_clinics_patient_and_its_versions_are_not_found_even_when_deleted() {
    let (service, _, trail) = patient_desk(&[patient(STRANGER, false)]);
    let owner = caller(OWNER);
    let not_found = Err(ServiceError::NotFound(Resource::Patient));
    assert_eq!(
        service.patient_version(&owner, PatientId(1), None),
        not_found
    );
    assert_eq!(
        service.patient_version(&owner, PatientId(1), Some(3)),
        not_found
    );
    assert_eq!(
        service.patient_history(&owner, PatientId(1), None, 10),
        not_found.clone().map(|_: Patient| Vec::new())
    );
    let rows = trail.take();
    assert_eq!(rows.len(), 3, "one row per attempt: {rows:?}");
    for row in rows {
        assert_eq!(row.outcome, AuditOutcome::Denied);
    }
    let (service, _, _) = patient_desk(&[patient(STRANGER, true)]);
    assert_eq!(
        service.patient_version(&owner, PatientId(1), None),
        not_found,
        "never gone: that would say it existed"
    );
}

#[test]
fn a_front_desk_reads_no_medical_history_in_any_version() {
    let mut stored = patient(OWNER, false);
    stored.details.medical_history = "asthma".into();
    let (service, _, _) = patient_desk(&[stored]);
    service
        .update_patient(
            &caller(OWNER),
            PatientId(1),
            renamed("Jane B"),
            FieldErrors::new(),
            WriteMode::Partial,
            None,
        )
        .expect("updated");
    let desk = member(UserId(31), personal_clinic(OWNER), Role::FrontDesk);
    let versions = service
        .patient_history(&desk, PatientId(1), None, 10)
        .expect("visible to the desk");
    assert_eq!(versions.len(), 2);
    assert!(
        versions
            .iter()
            .all(|p| p.details.medical_history.is_empty())
    );
    let old = service
        .patient_version(&desk, PatientId(1), Some(3))
        .expect("visible");
    assert!(old.details.medical_history.is_empty());
}

#[test]
fn a_search_holds_the_callers_live_matches_only_and_is_audited_as_a_list() {
    let mut mine = patient(OWNER, false);
    mine.details.name = PatientName::parse("José García").expect("a name");
    let theirs = Patient {
        id: PatientId(2),
        ..patient(STRANGER, false)
    };
    let deleted = Patient {
        id: PatientId(3),
        ..patient(OWNER, true)
    };
    let (service, _, trail) = patient_desk(&[mine, theirs, deleted]);
    let search = |names: Vec<TextMatch>| PatientSearch {
        names: vec![names],
        ..PatientSearch::default()
    };
    let found = |names| {
        service
            .search_patients(&caller(OWNER), search(names), &SearchPaging::default())
            .expect("searched")
    };
    let page = found(vec![TextMatch::StartsWith("jose".into())]);
    assert_eq!(page.items.iter().map(|p| p.id.0).collect::<Vec<_>>(), [1]);
    assert_eq!(page.total, Some(1));
    assert_row(
        &trail.take_one(),
        AuditAction::PatientList,
        AuditOutcome::Success,
        None,
        None,
    );
    let everyone = found(vec![
        TextMatch::Contains("a".into()),
        TextMatch::Exact("Jane Roe".into()),
    ]);
    assert_eq!(
        everyone.items.iter().map(|p| p.id.0).collect::<Vec<_>>(),
        [1],
        "neither another clinic's nor a deleted patient"
    );
}

#[test]
fn doctor_versions_and_search() {
    let store = FakeStore::default();
    store.add_doctor(doctor(OWNER, true, false).doctor);
    let trail = RecordingTrail::shared();
    let service = DoctorService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(MockUserRepository::new()),
        trail,
        Arc::new(FixedClock),
    );
    let owner = caller(OWNER);
    let id = DoctorId(2);
    service
        .update_doctor(
            &owner,
            id,
            DoctorInput {
                name: text("Dr. Élise"),
                ..Default::default()
            },
            FieldErrors::new(),
            WriteMode::Partial,
            None,
        )
        .expect("updated");
    let versions = service
        .doctor_history(&owner, id, None, 10)
        .expect("history");
    assert_eq!(
        versions.iter().map(|d| d.version).collect::<Vec<_>>(),
        [6, 5]
    );
    assert_eq!(
        service
            .doctor_version(&owner, id, Some(5))
            .expect("kept")
            .details
            .name
            .as_str(),
        "Dr. Ada"
    );
    let by_name = |text: &str| DoctorSearch {
        names: vec![vec![TextMatch::StartsWith(text.into())]],
        ..DoctorSearch::default()
    };
    let found = service
        .search_doctors(
            &caller(STRANGER),
            by_name("elise"),
            &SearchPaging::default(),
        )
        .expect("searched");
    assert_eq!(found.items.len(), 1, "the directory is shared");
    service.delete_doctor(&owner, id).expect("archived");
    assert_eq!(
        service.doctor_version(&caller(STRANGER), id, None),
        Err(ServiceError::Gone(Resource::Doctor))
    );
    let found = service
        .search_doctors(&owner, by_name("elise"), &SearchPaging::default())
        .expect("searched");
    assert!(found.items.is_empty(), "a deleted doctor is not found");
}

#[test]
fn staff_read_a_deleted_records_history() {
    let (service, _, _) = patient_desk(&[patient(OWNER, false)]);
    service
        .update_patient(
            &caller(OWNER),
            PatientId(1),
            renamed("Jane B"),
            FieldErrors::new(),
            WriteMode::Partial,
            None,
        )
        .expect("updated");
    service
        .delete_patient(&caller(OWNER), PatientId(1))
        .expect("archived");
    let versions = service
        .patient_history(&staff(), PatientId(1), None, 10)
        .expect("staff keep the history");
    let seen: Vec<(i64, bool)> = versions
        .iter()
        .map(|p| (p.version, p.archived_at.is_some()))
        .collect();
    assert_eq!(seen, [(5, true), (4, false), (3, false)]);
}
