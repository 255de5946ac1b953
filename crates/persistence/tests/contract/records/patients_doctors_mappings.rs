//! Patients, doctors and mappings.

use super::*;
use healthcare_core::ports::PatientAssignments;

contract!(
    patients_insert_find_and_update_only_at_the_expected_version,
    patient_lists_are_the_owners_newest_first_with_literal_search,
    archiving_a_patient_hides_it_and_deactivates_its_mappings,
    doctor_lists_filter_order_and_count_patients,
    archiving_a_doctor_deactivates_its_mappings,
    one_active_mapping_per_pair_and_removal_once,
    mapping_lists_show_only_the_owners_active_mappings,
    the_mapping_view_is_the_patient_with_its_active_mappings_oldest_first,
    a_mapping_needs_a_live_patient_and_a_live_available_doctor,
    an_assignment_racing_an_archive_never_outlives_it,
    whole_lists_page_live_archived_or_all_records,
);

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

fn patients_insert_find_and_update_only_at_the_expected_version(pool: &DbPool) {
    let r = repos(pool);
    let created = r
        .patients
        .insert(
            crate::personal_clinic(pool, r.owner),
            r.owner,
            &patient_details("Jane Roe"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted");
    assert_eq!(
        (created.version, created.owner, created.created_at),
        (1, r.owner, at(1))
    );
    assert_eq!(r.patients.find(created.id), Ok(Some(created.clone())));
    assert_eq!(r.patients.find(PatientId(9999)), Ok(None));

    let renamed = patient_details("Jane Doe");
    assert_eq!(
        r.patients.update(
            created.id,
            &renamed,
            7,
            at(2),
            &audit(AuditAction::PatientUpdate)
        ),
        Ok(None),
        "stale version"
    );
    assert_eq!(
        r.patients.find(created.id).expect("ok"),
        Some(created.clone()),
        "unchanged"
    );
    let updated = r
        .patients
        .update(
            created.id,
            &renamed,
            1,
            at(2),
            &audit(AuditAction::PatientUpdate),
        )
        .expect("ok")
        .expect("updated");
    assert_eq!(
        (
            updated.version,
            updated.details.name.as_str(),
            updated.updated_at
        ),
        (2, "Jane Doe", at(2))
    );
    assert_eq!(updated.created_at, at(1));
}

fn patient_lists_are_the_owners_newest_first_with_literal_search(pool: &DbPool) {
    let r = repos(pool);
    let names = [
        "Ann Lee",
        "Bob 100% Real",
        "Élodie Martin",
        "ann_marie",
        "Annabel",
    ];
    let mut ids = Vec::new();
    for (second, name) in names.iter().enumerate() {
        ids.push(
            r.patients
                .insert(
                    crate::personal_clinic(pool, r.owner),
                    r.owner,
                    &patient_details(name),
                    at(second as u32),
                    &audit(AuditAction::PatientCreate),
                )
                .expect("inserted")
                .id,
        );
    }
    r.patients
        .insert(
            crate::personal_clinic(pool, r.other),
            r.other,
            &patient_details("Ann Other"),
            at(30),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted");

    let first = r
        .patients
        .list(&crate::own_patients(pool, r.owner, None), page(1, 2))
        .expect("listed");
    assert_eq!(first.total, 5);
    assert_eq!(
        first.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let last = r
        .patients
        .list(&crate::own_patients(pool, r.owner, None), page(3, 2))
        .expect("listed");
    assert_eq!(
        last.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    let beyond = r
        .patients
        .list(&crate::own_patients(pool, r.owner, None), page(4, 2))
        .expect("listed");
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5, "a page past the end still has the total");
    let newcomer = DieselUserRepository::new(pool.clone())
        .insert(&new_user("newcomer@example.org"))
        .expect("user")
        .id;
    let empty_clinic = r
        .patients
        .list(&crate::own_patients(pool, newcomer, None), page(1, 2))
        .expect("listed");
    assert_eq!((empty_clinic.items.len(), empty_clinic.total), (0, 0));

    let names_for = |term: &str| {
        let found = r
            .patients
            .list(
                &crate::own_patients(pool, r.owner, Some(term)),
                page(1, 100),
            )
            .expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found
            .items
            .iter()
            .map(|p| p.details.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names_for("ANN"), vec!["Annabel", "ann_marie", "Ann Lee"]);
    assert_eq!(names_for("n_m"), vec!["ann_marie"], "_ is literal");
    assert_eq!(names_for("0%"), vec!["Bob 100% Real"], "% is literal");
    assert_eq!(names_for("%"), vec!["Bob 100% Real"]);
    assert_eq!(
        names_for("élo"),
        vec!["Élodie Martin"],
        "Unicode-aware case folding"
    );
    assert!(names_for("zzz").is_empty());
}

fn archiving_a_patient_hides_it_and_deactivates_its_mappings(pool: &DbPool) {
    let r = repos(pool);
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "n",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .patient_count,
        1
    );

    r.patients
        .archive(patient.id, at(3), &audit(AuditAction::PatientDelete))
        .expect("archived");
    let archived = r
        .patients
        .find(patient.id)
        .expect("ok")
        .expect("kept for retention");
    assert_eq!(archived.archived_at, Some(at(3)));
    assert_eq!(
        r.patients
            .list(&crate::own_patients(pool, r.owner, None), page(1, 20))
            .expect("listed")
            .total,
        0
    );
    assert_eq!(
        r.patients.update(
            patient.id,
            &patient_details("X"),
            archived.version,
            at(4),
            &audit(AuditAction::PatientUpdate)
        ),
        Ok(None)
    );
    let mapping = r.mappings.find(view.mapping.id).expect("ok").expect("kept");
    assert!(!mapping.is_active);
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .patient_count,
        0
    );
}

fn doctor_lists_filter_order_and_count_patients(pool: &DbPool) {
    let r = repos(pool);
    let zed = r
        .doctors
        .insert(
            r.owner,
            &doctor_details("Zed", "Pediatric Surgery", true),
            at(1),
        )
        .expect("doctor");
    let amy = r
        .doctors
        .insert(
            r.other,
            &doctor_details("Amy", "surgery_general", false),
            at(2),
        )
        .expect("doctor");
    let bob = r
        .doctors
        .insert(r.other, &doctor_details("Bob", "Dermatology", true), at(3))
        .expect("doctor");
    for (name, owner) in [("P1", r.owner), ("P2", r.other), ("P3", r.other)] {
        let patient = r
            .patients
            .insert(
                crate::personal_clinic(pool, owner),
                owner,
                &patient_details(name),
                at(4),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient");
        r.mappings
            .insert(
                patient.id,
                zed.doctor.id,
                owner,
                "",
                at(5),
                &audit(AuditAction::MappingCreate),
            )
            .expect("mapping")
            .expect("both accept assignments");
    }
    let all = r
        .doctors
        .list(&DoctorFilter::default(), page(1, 20))
        .expect("listed");
    let summary: Vec<(&str, i64)> = all
        .items
        .iter()
        .map(|d| (d.doctor.details.name.as_str(), d.patient_count))
        .collect();
    assert_eq!(
        summary,
        vec![("Amy", 0), ("Bob", 0), ("Zed", 3)],
        "by name, counts across all users"
    );
    assert_eq!(all.total, 3);
    let beyond = r
        .doctors
        .list(&DoctorFilter::default(), page(2, 20))
        .expect("listed");
    assert_eq!((beyond.items.len(), beyond.total), (0, 3));

    let surgery = DoctorFilter {
        specialization: Some("SURGERY".into()),
        ..DoctorFilter::default()
    };
    let found = r.doctors.list(&surgery, page(1, 20)).expect("listed");
    assert_eq!(
        found.items.iter().map(|d| d.doctor.id).collect::<Vec<_>>(),
        vec![amy.doctor.id, zed.doctor.id]
    );
    let literal = DoctorFilter {
        specialization: Some("y_g".into()),
        ..DoctorFilter::default()
    };
    assert_eq!(
        r.doctors.list(&literal, page(1, 20)).expect("listed").total,
        1
    );
    let unavailable = DoctorFilter {
        available: Some(false),
        ..DoctorFilter::default()
    };
    let found = r.doctors.list(&unavailable, page(1, 20)).expect("listed");
    assert_eq!(
        found.items.iter().map(|d| d.doctor.id).collect::<Vec<_>>(),
        vec![amy.doctor.id]
    );

    let fee = bob.doctor.details.consultation_fee;
    assert_eq!(fee.to_string(), "99.50");
    let stale = r.doctors.update(
        bob.doctor.id,
        &doctor_details("Bobby", "Dermatology", true),
        9,
        at(6),
    );
    assert_eq!(stale, Ok(None));
    let updated = r.doctors.update(
        bob.doctor.id,
        &doctor_details("Bobby", "Dermatology", true),
        1,
        at(6),
    );
    assert_eq!(updated.expect("ok").expect("updated").doctor.version, 2);
    assert_eq!(r.doctors.find(DoctorId(9999)), Ok(None));
}

fn archiving_a_doctor_deactivates_its_mappings(pool: &DbPool) {
    let r = repos(pool);
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(
        r.doctors
            .archive(doctor.doctor.id, at(3), &audit(AuditAction::MappingRemove)),
        Ok(true)
    );
    assert!(
        !r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("kept")
            .is_active
    );
    assert!(
        r.doctors
            .list(&crate::directory_for(pool, r.owner), page(1, 20))
            .expect("listed")
            .items
            .is_empty(),
        "an archived doctor leaves the directory users see"
    );
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("kept")
            .doctor
            .archived_at,
        Some(at(3))
    );
    assert_eq!(
        r.doctors
            .archive(doctor.doctor.id, at(4), &audit(AuditAction::MappingRemove)),
        Ok(false),
        "archived at most once"
    );
    assert_eq!(
        r.doctors
            .archive(DoctorId(9999), at(4), &audit(AuditAction::MappingRemove)),
        Ok(false),
        "unknown"
    );
}

fn one_active_mapping_per_pair_and_removal_once(pool: &DbPool) {
    let r = repos(pool);
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(pool, r.owner),
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let (p, d) = (patient.id, doctor.doctor.id);
    let first = r
        .mappings
        .insert(
            p,
            d,
            r.owner,
            "first",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(
        (
            first.patient_name.as_str(),
            first.doctor_name.as_str(),
            first.doctor_specialization.as_str()
        ),
        ("Jane", "Dr. A", "Cardiology")
    );
    assert!(first.mapping.is_active);
    assert_eq!(r.mappings.has_active(p, d), Ok(true));
    assert_eq!(
        r.mappings.insert(
            p,
            d,
            r.owner,
            "again",
            at(3),
            &audit(AuditAction::MappingCreate)
        ),
        Err(RepoError::Conflict)
    );

    let noted = r
        .mappings
        .update_notes(
            first.mapping.id,
            "changed",
            at(4),
            &audit(AuditAction::MappingUpdate),
        )
        .expect("ok")
        .expect("active");
    assert_eq!(noted.mapping.notes, "changed");
    assert_eq!(
        r.mappings
            .deactivate(first.mapping.id, at(5), &audit(AuditAction::MappingRemove)),
        Ok(true)
    );
    assert_eq!(
        r.mappings
            .deactivate(first.mapping.id, at(6), &audit(AuditAction::MappingRemove)),
        Ok(false),
        "removed at most once"
    );
    assert_eq!(
        r.mappings.update_notes(
            first.mapping.id,
            "x",
            at(6),
            &audit(AuditAction::MappingUpdate)
        ),
        Ok(None)
    );
    assert_eq!(r.mappings.has_active(p, d), Ok(false));

    let second = r
        .mappings
        .insert(p, d, r.owner, "", at(7), &audit(AuditAction::MappingCreate))
        .expect("a removed pair can be assigned again")
        .expect("both accept assignments");
    assert_ne!(second.mapping.id, first.mapping.id);
    let PatientAssignments {
        patient,
        assignments: assigned,
    } = r
        .mappings
        .patient_with_active(p)
        .expect("listed")
        .expect("found");
    assert_eq!(patient.id, p);
    assert_eq!(assigned.len(), 1);
    assert_eq!(
        (assigned[0].0.id, assigned[0].1.patient_count),
        (second.mapping.id, 1)
    );
    assert_eq!(r.mappings.find(MappingId(9999)), Ok(None));

    // Concurrent identical assignments: the partial unique index lets exactly one through.
    let other_doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. B", "Oncology", true), at(8))
        .expect("doctor");
    let outcomes: Vec<Result<_, RepoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let mappings = r.mappings.clone();
                let (owner, od) = (r.owner, other_doctor.doctor.id);
                scope.spawn(move || {
                    mappings.insert(p, od, owner, "", at(9), &audit(AuditAction::MappingCreate))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(
        outcomes
            .iter()
            .filter(|o| o.is_err())
            .all(|o| o.as_ref().err() == Some(&RepoError::Conflict))
    );
}

fn a_mapping_needs_a_live_patient_and_a_live_available_doctor(pool: &DbPool) {
    let r = repos(pool);
    let patient = |name: &str| {
        r.patients
            .insert(
                crate::personal_clinic(pool, r.owner),
                r.owner,
                &patient_details(name),
                at(1),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id
    };
    let doctor = |name: &str, available: bool| {
        r.doctors
            .insert(
                r.other,
                &doctor_details(name, "Cardiology", available),
                at(1),
            )
            .expect("doctor")
            .doctor
            .id
    };
    let (live, archived) = (patient("Live"), patient("Archived"));
    let (available, unavailable, gone) = (
        doctor("Dr. A", true),
        doctor("Dr. B", false),
        doctor("Dr. C", true),
    );
    r.patients
        .archive(archived, at(2), &audit(AuditAction::PatientDelete))
        .expect("archived");
    r.doctors
        .archive(gone, at(2), &audit(AuditAction::MappingRemove))
        .expect("archived");
    for (patient, doctor) in [(archived, available), (live, unavailable), (live, gone)] {
        assert_eq!(
            r.mappings.insert(
                patient,
                doctor,
                r.owner,
                "",
                at(3),
                &audit(AuditAction::MappingCreate)
            ),
            Ok(None),
            "{patient:?} {doctor:?}"
        );
        assert_eq!(r.mappings.has_active(patient, doctor), Ok(false));
    }
}

/// An archive and an assignment of the same patient or doctor, started together, forty times:
/// whichever commits first, no active mapping is left to an archived record.
fn an_assignment_racing_an_archive_never_outlives_it(pool: &DbPool) {
    let r = repos(pool);
    for round in 0..40_u32 {
        let patient = r
            .patients
            .insert(
                crate::personal_clinic(pool, r.owner),
                r.owner,
                &patient_details("Jane"),
                at(1),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id;
        let doctor = r
            .doctors
            .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
            .expect("doctor")
            .doctor
            .id;
        let start = std::sync::Barrier::new(2);
        let (assigned, archived) = std::thread::scope(|scope| {
            let assign = scope.spawn(|| {
                start.wait();
                r.mappings.insert(
                    patient,
                    doctor,
                    r.owner,
                    "",
                    at(2),
                    &audit(AuditAction::MappingCreate),
                )
            });
            let archive = scope.spawn(|| {
                start.wait();
                if round % 2 == 0 {
                    r.patients
                        .archive(patient, at(2), &audit(AuditAction::PatientDelete))
                } else {
                    r.doctors
                        .archive(doctor, at(2), &audit(AuditAction::MappingRemove))
                }
            });
            (
                assign.join().expect("joined"),
                archive.join().expect("joined"),
            )
        });
        assert_eq!(archived, Ok(true), "round {round}");
        assert!(assigned.is_ok(), "round {round}: {assigned:?}");
        assert_eq!(
            r.mappings.has_active(patient, doctor),
            Ok(false),
            "round {round}: the mapping outlived the archive of its {}",
            if round % 2 == 0 { "patient" } else { "doctor" }
        );
    }
}

fn mapping_lists_show_only_the_owners_active_mappings(pool: &DbPool) {
    let r = repos(pool);
    let d1 = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let d2 = r
        .doctors
        .insert(r.other, &doctor_details("Dr. B", "Oncology", true), at(1))
        .expect("doctor");
    let mine = r
        .patients
        .insert(
            crate::personal_clinic(pool, r.owner),
            r.owner,
            &patient_details("Mine"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let theirs = r
        .patients
        .insert(
            crate::personal_clinic(pool, r.other),
            r.other,
            &patient_details("Theirs"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let m1 = r
        .mappings
        .insert(
            mine.id,
            d1.doctor.id,
            r.owner,
            "",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    let m2 = r
        .mappings
        .insert(
            mine.id,
            d2.doctor.id,
            r.owner,
            "",
            at(3),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    r.mappings
        .insert(
            theirs.id,
            d1.doctor.id,
            r.other,
            "",
            at(4),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    let removed = r
        .mappings
        .insert(
            theirs.id,
            d2.doctor.id,
            r.other,
            "",
            at(5),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    r.mappings
        .deactivate(
            removed.mapping.id,
            at(6),
            &audit(AuditAction::MappingRemove),
        )
        .expect("removed");

    let all = r
        .mappings
        .list(
            &crate::own_mappings(pool, r.owner, MappingFilter::default()),
            page(1, 20),
        )
        .expect("listed");
    assert_eq!(all.total, 2);
    assert_eq!(
        all.items.iter().map(|v| v.mapping.id).collect::<Vec<_>>(),
        vec![m2.mapping.id, m1.mapping.id]
    );
    let by_doctor = MappingFilter {
        doctor: Some(d1.doctor.id),
        ..MappingFilter::default()
    };
    let found = r
        .mappings
        .list(&crate::own_mappings(pool, r.owner, by_doctor), page(1, 20))
        .expect("listed");
    assert_eq!(
        found.items.iter().map(|v| v.mapping.id).collect::<Vec<_>>(),
        vec![m1.mapping.id]
    );
    let foreign_patient = MappingFilter {
        patient: Some(theirs.id),
        ..MappingFilter::default()
    };
    assert_eq!(
        r.mappings
            .list(
                &crate::own_mappings(pool, r.owner, foreign_patient),
                page(1, 20)
            )
            .expect("listed")
            .total,
        0
    );
}

fn the_mapping_view_is_the_patient_with_its_active_mappings_oldest_first(pool: &DbPool) {
    let r = repos(pool);
    let clinic = crate::personal_clinic(pool, r.owner);
    let doctor = |name: &str| {
        r.doctors
            .insert(r.other, &doctor_details(name, "Cardiology", true), at(1))
            .expect("doctor")
            .doctor
            .id
    };
    let (d1, d2, d3) = (doctor("Dr. A"), doctor("Dr. B"), doctor("Dr. C"));
    let patient = |name: &str| {
        r.patients
            .insert(
                clinic,
                r.owner,
                &patient_details(name),
                at(1),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id
    };
    let (jane, alone) = (patient("Jane"), patient("Alone"));
    let assign = |doctor, on| {
        r.mappings
            .insert(
                jane,
                doctor,
                r.owner,
                "",
                at(on),
                &audit(AuditAction::MappingCreate),
            )
            .expect("mapping")
            .expect("both accept assignments")
            .mapping
            .id
    };
    // Assigned out of id order, so that the order is by date, not by id.
    let (later, removed, earlier) = (assign(d1, 5), assign(d2, 4), assign(d3, 3));
    assert_eq!(
        r.mappings
            .deactivate(removed, at(6), &audit(AuditAction::MappingRemove)),
        Ok(true)
    );

    let PatientAssignments {
        patient: found,
        assignments: assigned,
    } = r
        .mappings
        .patient_with_active(jane)
        .expect("read")
        .expect("found");
    assert_eq!(found.details.name.as_str(), "Jane");
    let shown: Vec<_> = assigned
        .iter()
        .map(|(mapping, doctor)| (mapping.id, doctor.doctor.id, doctor.patient_count))
        .collect();
    assert_eq!(shown, vec![(earlier, d3, 1), (later, d1, 1)]);

    let PatientAssignments {
        patient: found,
        assignments: assigned,
    } = r
        .mappings
        .patient_with_active(alone)
        .expect("read")
        .expect("a patient without mappings is found");
    assert_eq!((found.id, assigned.len()), (alone, 0));

    assert!(
        r.patients
            .archive(jane, at(7), &audit(AuditAction::PatientDelete))
            .expect("archived")
    );
    let PatientAssignments {
        patient: found,
        assignments: assigned,
    } = r
        .mappings
        .patient_with_active(jane)
        .expect("read")
        .expect("an archived patient is found");
    assert!(found.archived_at.is_some());
    assert!(assigned.is_empty(), "archiving ended its mappings");

    assert_eq!(r.mappings.patient_with_active(PatientId(999_999)), Ok(None));
}

/// The lists whose totals are kept (a whole clinic's patients, the whole directory), for each
/// `archived` filter: the right rows in order, page by page, and the right total.
fn whole_lists_page_live_archived_or_all_records(pool: &DbPool) {
    let r = repos(pool);
    let clinic = crate::personal_clinic(pool, r.owner);
    let patients: Vec<i64> = (1..=3)
        .map(|second| {
            r.patients
                .insert(
                    clinic,
                    r.owner,
                    &patient_details(&format!("Patient {second}")),
                    at(second),
                    &audit(AuditAction::PatientCreate),
                )
                .expect("patient")
                .id
                .0
        })
        .collect();
    r.patients
        .archive(
            PatientId(patients[1]),
            at(5),
            &audit(AuditAction::PatientDelete),
        )
        .expect("archived");
    let doctors: Vec<i64> = ["Ada", "Ben", "Cy"]
        .into_iter()
        .map(|name| {
            r.doctors
                .insert(r.owner, &doctor_details(name, "Cardiology", true), at(1))
                .expect("doctor")
                .doctor
                .id
                .0
        })
        .collect();
    r.doctors
        .archive(
            DoctorId(doctors[1]),
            at(5),
            &audit(AuditAction::MappingRemove),
        )
        .expect("archived");

    let patient_page = |archived: Option<bool>, page_of: Page| {
        let listed = r
            .patients
            .list(&crate::whole_clinic(clinic, archived), page_of)
            .expect("listed");
        let ids: Vec<i64> = listed.items.iter().map(|patient| patient.id.0).collect();
        (ids, listed.total)
    };
    let doctor_page = |archived: Option<bool>, page_of: Page| {
        let listed = r
            .doctors
            .list(
                &DoctorFilter {
                    archived,
                    ..DoctorFilter::default()
                },
                page_of,
            )
            .expect("listed");
        let ids: Vec<i64> = listed.items.iter().map(|found| found.doctor.id.0).collect();
        (ids, listed.total)
    };
    let [p1, p2, p3] = [patients[0], patients[1], patients[2]];
    let [ada, ben, cy] = [doctors[0], doctors[1], doctors[2]];
    assert_eq!(patient_page(Some(false), page(1, 20)), (vec![p3, p1], 2));
    assert_eq!(patient_page(Some(true), page(1, 20)), (vec![p2], 1));
    assert_eq!(patient_page(None, page(1, 20)), (vec![p3, p2, p1], 3));
    assert_eq!(patient_page(None, page(2, 1)), (vec![p2], 3));
    assert_eq!(patient_page(Some(true), page(2, 1)), (vec![], 1));
    assert_eq!(doctor_page(Some(false), page(1, 20)), (vec![ada, cy], 2));
    assert_eq!(doctor_page(Some(true), page(1, 20)), (vec![ben], 1));
    assert_eq!(doctor_page(None, page(1, 20)), (vec![ada, ben, cy], 3));
    assert_eq!(doctor_page(None, page(3, 1)), (vec![cy], 3));
    assert_eq!(doctor_page(Some(false), page(2, 2)), (vec![], 2));
}

/// A timestamp written in another of the text forms SQLite accepts (an edit by hand, another
/// tool) still reads, through diesel's own parser.
#[test]
fn on_sqlite_a_timestamp_written_by_another_tool_still_reads() {
    use diesel::connection::SimpleConnection;

    let Some(db) = sqlite() else { return };
    let r = repos(&db.pool);
    let clinic = crate::personal_clinic(&db.pool, r.owner);
    let id = r
        .patients
        .insert(
            clinic,
            r.owner,
            &patient_details("Hand Edited"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient")
        .id;
    healthcare_persistence::connection::checkout(&db.pool)
        .expect("a connection")
        .batch_execute(&format!(
            "UPDATE patients SET updated_at = '2026-11-26T10:00:07.25' WHERE id = {}",
            id.0
        ))
        .expect("edited");
    let found = r.patients.find(id).expect("read").expect("found");
    assert_eq!(found.created_at, at(1));
    assert_eq!(
        found.updated_at,
        at(7) + chrono::Duration::milliseconds(250)
    );
}
