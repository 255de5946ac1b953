//! Each write stores exactly one audit row, in its transaction, only when it succeeds; restore.

use super::*;
use healthcare_core::ports::PatientAssignments;

contract!(
    patient_writes_store_one_row_only_when_they_succeed,
    mapping_writes_store_one_row_only_when_they_succeed,
    archiving_a_doctor_stores_one_removal_row_per_ended_mapping,
    user_writes_store_one_row_only_when_they_succeed,
    a_failed_audit_insert_rolls_the_change_back,
    restore_unarchives_once_and_leaves_mappings_inactive,
);

// a. Each write stores exactly one row, in its transaction, only when it succeeds.

fn patient_writes_store_one_row_only_when_they_succeed(db: &Database) {
    let r = repos(&db.pool);
    assert_eq!(row_count(&r.audit), 0);

    let create = event(AuditAction::PatientCreate, 1);
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &create,
        )
        .expect("inserted");
    let rows = all_rows(&r.audit);
    assert_eq!(rows.len(), 1, "one row per insert");
    assert_eq!(
        rows[0].event,
        AuditEvent {
            resource_id: Some(patient.id.0),
            patient_id: Some(patient.id),
            ..create.clone()
        },
        "the new patient's id fills resource_id and patient_id; the rest as given"
    );
    assert_eq!(rows[0].seal, None, "stored unsealed");

    // A stale version, and an unknown patient: nothing changes, nothing is stored.
    let stale = event(AuditAction::PatientUpdate, 2);
    assert_eq!(
        r.patients
            .update(patient.id, &patient_details("X"), 7, at(2), &stale),
        Ok(None)
    );
    assert_eq!(
        r.patients
            .update(PatientId(9999), &patient_details("X"), 1, at(2), &stale),
        Ok(None)
    );
    assert_eq!(row_count(&r.audit), 1, "no row for a failed update");

    let update = AuditEvent {
        resource_id: Some(patient.id.0),
        patient_id: Some(patient.id),
        ..event(AuditAction::PatientUpdate, 3)
    };
    r.patients
        .update(patient.id, &patient_details("Jane Doe"), 1, at(3), &update)
        .expect("ok")
        .expect("updated");
    assert_eq!(row_count(&r.audit), 2);
    assert_eq!(newest(&r.audit).event, update, "stored as given");

    let archive = AuditEvent {
        resource_id: Some(patient.id.0),
        patient_id: Some(patient.id),
        ..event(AuditAction::PatientDelete, 4)
    };
    assert_eq!(r.patients.archive(patient.id, at(4), &archive), Ok(true));
    assert_eq!(row_count(&r.audit), 3);
    assert_eq!(newest(&r.audit).event, archive);
    assert_eq!(
        r.patients
            .archive(patient.id, at(5), &event(AuditAction::PatientDelete, 5)),
        Ok(false),
        "already archived"
    );
    assert_eq!(
        r.patients.archive(
            PatientId(9999),
            at(5),
            &event(AuditAction::PatientDelete, 5)
        ),
        Ok(false),
        "unknown"
    );
    // An archived patient cannot be updated either.
    assert_eq!(
        r.patients.update(
            patient.id,
            &patient_details("X"),
            3,
            at(6),
            &event(AuditAction::PatientUpdate, 6)
        ),
        Ok(None)
    );
    assert_eq!(
        row_count(&r.audit),
        3,
        "no row for a refused archive or update"
    );
}

fn mapping_writes_store_one_row_only_when_they_succeed(db: &Database) {
    let r = repos(&db.pool);
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor");
    let (p, d) = (patient.id, doctor.doctor.id);
    let before = row_count(&r.audit);
    assert_eq!(before, 1, "doctor writes are not audited");

    let create = event(AuditAction::MappingCreate, 2);
    let view = r
        .mappings
        .insert(p, d, r.owner, "first", at(2), &create)
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(row_count(&r.audit), 2);
    assert_eq!(
        newest(&r.audit).event,
        AuditEvent {
            resource_id: Some(view.mapping.id.0),
            patient_id: Some(p),
            ..create
        },
        "the new mapping's id and its patient"
    );

    // The pair already has an active mapping: Conflict, and the transaction leaves no row.
    assert_eq!(
        r.mappings.insert(
            p,
            d,
            r.owner,
            "again",
            at(3),
            &event(AuditAction::MappingCreate, 3)
        ),
        Err(RepoError::Conflict)
    );
    assert_eq!(row_count(&r.audit), 2, "no row for a refused insert");

    let notes = event(AuditAction::MappingUpdate, 4);
    r.mappings
        .update_notes(view.mapping.id, "changed", at(4), &notes)
        .expect("ok")
        .expect("active");
    assert_eq!(row_count(&r.audit), 3);
    assert_eq!(newest(&r.audit).event, notes);

    let remove = event(AuditAction::MappingRemove, 5);
    assert_eq!(
        r.mappings.deactivate(view.mapping.id, at(5), &remove),
        Ok(true)
    );
    assert_eq!(row_count(&r.audit), 4);
    assert_eq!(newest(&r.audit).event, remove);
    assert_eq!(
        r.mappings.deactivate(
            view.mapping.id,
            at(6),
            &event(AuditAction::MappingRemove, 6)
        ),
        Ok(false),
        "removed at most once"
    );
    assert_eq!(
        r.mappings.update_notes(
            view.mapping.id,
            "x",
            at(6),
            &event(AuditAction::MappingUpdate, 6)
        ),
        Ok(None),
        "inactive"
    );
    assert_eq!(
        row_count(&r.audit),
        4,
        "no second removal row, no row for a refused note"
    );

    // Concurrent identical assignments: one wins, and exactly one row is stored.
    let outcomes: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let mappings = r.mappings.clone();
                let owner = r.owner;
                scope.spawn(move || {
                    mappings
                        .insert(
                            p,
                            d,
                            owner,
                            "",
                            at(7),
                            &event(AuditAction::MappingCreate, 7),
                        )
                        .is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    assert_eq!(outcomes.iter().filter(|won| **won).count(), 1);
    assert_eq!(row_count(&r.audit), 5, "one row for the one winner");
}

/// One `mapping.remove` row per mapping the archive ends (every owner's), in its transaction;
/// nothing for mappings already ended or other doctors' mappings, nor for a refused archive.
fn archiving_a_doctor_stores_one_removal_row_per_ended_mapping(db: &Database) {
    let r = repos(&db.pool);
    let second_owner = r
        .users
        .insert(&new_user("second@example.com"))
        .expect("user")
        .id;
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let other_doctor = r
        .doctors
        .insert(second_owner, &doctor_details("Dr. B"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let patient = |owner: UserId, name: &str| {
        r.patients
            .insert(
                crate::personal_clinic(&db.pool, owner),
                owner,
                &patient_details(name),
                at(2),
                &event(AuditAction::PatientCreate, 2),
            )
            .expect("patient")
            .id
    };
    let map = |patient: PatientId, doctor: DoctorId, owner: UserId| {
        r.mappings
            .insert(
                patient,
                doctor,
                owner,
                "",
                at(3),
                &event(AuditAction::MappingCreate, 3),
            )
            .expect("mapping")
            .expect("both accept assignments")
            .mapping
            .id
    };
    let (ann, bea) = (patient(r.owner, "Ann"), patient(r.owner, "Bea"));
    let (cal, dee) = (patient(second_owner, "Cal"), patient(r.owner, "Dee"));
    let ended = [
        (map(ann, doctor, r.owner), ann),
        (map(bea, doctor, r.owner), bea),
        (map(cal, doctor, second_owner), cal),
    ];
    let kept = map(ann, other_doctor, r.owner);
    let already_ended = map(dee, doctor, r.owner);
    assert_eq!(
        r.mappings
            .deactivate(already_ended, at(4), &event(AuditAction::MappingRemove, 4)),
        Ok(true)
    );
    let last_before = newest(&r.audit).id;
    let count_before = row_count(&r.audit);

    let remove = event(AuditAction::MappingRemove, 5);
    assert_eq!(r.doctors.archive(doctor, at(5), &remove), Ok(true));
    let mut stored: Vec<AuditEvent> = all_rows(&r.audit)
        .into_iter()
        .filter(|row| row.id > last_before)
        .map(|row| row.event)
        .collect();
    stored.sort_by_key(|event| event.resource_id);
    let expected: Vec<AuditEvent> = ended
        .iter()
        .map(|(mapping, patient)| AuditEvent {
            resource_id: Some(mapping.0),
            patient_id: Some(*patient),
            ..remove.clone()
        })
        .collect();
    assert_eq!(
        stored, expected,
        "one row per ended mapping of either owner: its id and patient, the rest as given"
    );
    assert_eq!(row_count(&r.audit), count_before + ended.len());
    for (mapping, _) in ended {
        assert!(
            !r.mappings
                .find(mapping)
                .expect("ok")
                .expect("kept")
                .is_active
        );
    }
    assert!(
        r.mappings.find(kept).expect("ok").expect("kept").is_active,
        "another doctor's mapping of the same patient stays"
    );

    // Already archived, unknown, or with nothing to end: no row.
    let again = event(AuditAction::MappingRemove, 6);
    assert_eq!(r.doctors.archive(doctor, at(6), &again), Ok(false));
    assert_eq!(r.doctors.archive(DoctorId(9999), at(6), &again), Ok(false));
    assert_eq!(
        r.doctors
            .find(doctor)
            .expect("ok")
            .expect("kept")
            .doctor
            .archived_at,
        Some(at(5)),
        "archived once"
    );
    let lonely = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. C"), at(6))
        .expect("doctor")
        .doctor
        .id;
    assert_eq!(r.doctors.archive(lonely, at(7), &again), Ok(true));
    assert_eq!(
        row_count(&r.audit),
        count_before + ended.len(),
        "no row without an ended mapping"
    );
}

fn user_writes_store_one_row_only_when_they_succeed(db: &Database) {
    let r = repos(&db.pool);
    let password = event(AuditAction::AuthPasswordChange, 1);
    assert_eq!(
        r.users.update_password(r.owner, "$2b$04$new", &password),
        Ok(true)
    );
    assert_eq!(row_count(&r.audit), 1);
    assert_eq!(newest(&r.audit).event, password);
    assert_eq!(
        r.users.update_password(UserId(9999), "x", &password),
        Ok(false)
    );
    assert_eq!(row_count(&r.audit), 1, "no row for an unknown user");

    let deactivate = event(AuditAction::UserUpdate, 2);
    assert_eq!(r.users.set_active(r.owner, false, &deactivate), Ok(true));
    assert_eq!(row_count(&r.audit), 2);
    assert_eq!(newest(&r.audit).event, deactivate);
    assert_eq!(
        r.users.set_active(UserId(9999), false, &deactivate),
        Ok(false)
    );
    assert_eq!(row_count(&r.audit), 2, "no row for an unknown user");
}

/// A trigger refusing audit inserts makes every audited write fail as a whole: the change
/// and its row share one transaction.
fn a_failed_audit_insert_rolls_the_change_back(db: &Database) {
    let r = repos(&db.pool);
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "n",
            at(2),
            &event(AuditAction::MappingCreate, 2),
        )
        .expect("mapping")
        .expect("both accept assignments");
    let other_doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. B"), at(2))
        .expect("doctor");

    let mut conn = connection(&db.pool);
    let (refuse, allow) = match &*conn {
        DbConnection::Pg(_) => (
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'audit refused'; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
            "DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit();",
        ),
        DbConnection::Sqlite(_) => (
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
            "DROP TRIGGER refuse_audit;",
        ),
    };
    conn.batch_execute(refuse).expect("trigger created");
    drop(conn);

    let count_before = row_count(&r.audit);
    assert!(
        r.patients
            .insert(
                crate::personal_clinic(&db.pool, r.owner),
                r.owner,
                &patient_details("Ghost"),
                at(3),
                &event(AuditAction::PatientCreate, 3)
            )
            .is_err()
    );
    assert_eq!(
        r.patients
            .list(&crate::own_patients(&db.pool, r.owner, None), page(1, 20))
            .expect("listed")
            .total,
        1,
        "the patient insert was rolled back"
    );
    assert!(
        r.patients
            .update(
                patient.id,
                &patient_details("Renamed"),
                1,
                at(3),
                &event(AuditAction::PatientUpdate, 3)
            )
            .is_err()
    );
    assert!(
        r.patients
            .archive(patient.id, at(3), &event(AuditAction::PatientDelete, 3))
            .is_err()
    );
    let unchanged = r.patients.find(patient.id).expect("ok").expect("found");
    assert_eq!(unchanged, patient, "neither update nor archive took effect");
    assert!(
        r.mappings
            .insert(
                patient.id,
                other_doctor.doctor.id,
                r.owner,
                "",
                at(3),
                &event(AuditAction::MappingCreate, 3)
            )
            .is_err()
    );
    assert_eq!(
        r.mappings.has_active(patient.id, other_doctor.doctor.id),
        Ok(false)
    );
    assert!(
        r.mappings
            .deactivate(
                view.mapping.id,
                at(3),
                &event(AuditAction::MappingRemove, 3)
            )
            .is_err()
    );
    assert!(
        r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("found")
            .is_active,
        "the deactivation was rolled back"
    );
    assert!(
        r.doctors
            .archive(
                doctor.doctor.id,
                at(3),
                &event(AuditAction::MappingRemove, 3)
            )
            .is_err()
    );
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .doctor,
        doctor.doctor,
        "the doctor archive was rolled back"
    );
    assert!(
        r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("found")
            .is_active,
        "and so was the end of its mapping"
    );
    assert!(
        r.users
            .set_active(r.owner, false, &event(AuditAction::UserUpdate, 3))
            .is_err()
    );
    assert!(
        r.users
            .find_by_id(r.owner)
            .expect("ok")
            .expect("found")
            .is_active
    );
    assert_eq!(row_count(&r.audit), count_before);

    connection(&db.pool)
        .batch_execute(allow)
        .expect("trigger dropped");
    assert_eq!(
        r.patients
            .archive(patient.id, at(4), &event(AuditAction::PatientDelete, 4)),
        Ok(true),
        "works again once the audit insert does"
    );
}

// ---------------------------------------------------------------------------------------------
// e. restore()

fn restore_unarchives_once_and_leaves_mappings_inactive(db: &Database) {
    let r = repos(&db.pool);
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "n",
            at(2),
            &event(AuditAction::MappingCreate, 2),
        )
        .expect("mapping")
        .expect("both accept assignments");

    let not_archived = event(AuditAction::PatientRestore, 3);
    assert_eq!(
        r.patients.restore(patient.id, at(3), &not_archived),
        Ok(false),
        "not archived"
    );
    assert_eq!(
        r.patients.restore(PatientId(9999), at(3), &not_archived),
        Ok(false),
        "unknown"
    );
    assert_eq!(row_count(&r.audit), 2, "no row for a refused restore");
    assert_eq!(
        r.patients.find(patient.id).expect("ok").expect("found"),
        patient,
        "unchanged"
    );

    assert_eq!(
        r.patients
            .archive(patient.id, at(4), &event(AuditAction::PatientDelete, 4)),
        Ok(true)
    );
    assert_eq!(row_count(&r.audit), 3);

    let restore = AuditEvent {
        resource_id: Some(patient.id.0),
        patient_id: Some(patient.id),
        ..event(AuditAction::PatientRestore, 5)
    };
    assert_eq!(r.patients.restore(patient.id, at(5), &restore), Ok(true));
    assert_eq!(row_count(&r.audit), 4);
    assert_eq!(newest(&r.audit).event, restore);
    let restored = r.patients.find(patient.id).expect("ok").expect("found");
    assert_eq!(restored.archived_at, None);
    assert_eq!(restored.updated_at, at(5));
    assert!(restored.version > patient.version);
    assert_eq!(
        r.patients
            .list(&crate::own_patients(&db.pool, r.owner, None), page(1, 20))
            .expect("listed")
            .items
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![patient.id],
        "listed again"
    );
    // Its mappings stay inactive.
    assert!(
        !r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("kept")
            .is_active
    );
    assert_eq!(
        r.mappings.has_active(patient.id, doctor.doctor.id),
        Ok(false)
    );
    let PatientAssignments {
        assignments: assigned,
        ..
    } = r
        .mappings
        .patient_with_active(patient.id)
        .expect("listed")
        .expect("found");
    assert!(assigned.is_empty());
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .patient_count,
        0
    );
    // It can be edited again, at its current version.
    assert!(
        r.patients
            .update(
                patient.id,
                &patient_details("Jane Doe"),
                restored.version,
                at(6),
                &event(AuditAction::PatientUpdate, 6)
            )
            .expect("ok")
            .is_some()
    );

    assert_eq!(
        r.patients
            .restore(patient.id, at(7), &event(AuditAction::PatientRestore, 7)),
        Ok(false),
        "restored once"
    );
    assert_eq!(row_count(&r.audit), 5, "only the update's row was added");
}
