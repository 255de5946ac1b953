//! The staff directory: every owner's records, archived included.

use super::*;

contract!(
    user_directory_filters_orders_and_pages,
    patient_directory_shows_every_owner_and_archived_ones,
    doctor_directory_filters_orders_and_counts,
    mapping_directory_shows_every_owner_active_or_not,
    directory_lists_cost_two_statements_whatever_the_page_size,
    restore_doctor_unarchives_once_and_leaves_mappings_inactive,
);

// The directory

fn user_directory_filters_orders_and_pages(db: &Database) {
    let r = repos(&db.pool);
    let ann = r.user("Ann Lee", "ann@example.com", true);
    let pct = r.user("Bob 100% Real", "bob@example.com", false);
    let trap = r.user("Bob 1000 Real", "bob2@example.com", false);
    let under = r.user("Carl", "carl_x@example.com", true);
    let anna = r.user("ANNA Smith", "smith@example.com", false);
    let annex = r.user("Dan", "Dan@Annex.org", false);
    r.users
        .set_active(under, false, &event(AuditAction::UserUpdate, 1))
        .expect("deactivated");

    let ids = |filter: UserFilter| {
        let found = r.directory.users(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found.items.iter().map(|u| u.id).collect::<Vec<_>>()
    };
    let search = |term: &str| {
        ids(UserFilter {
            search: Some(term.into()),
            ..UserFilter::default()
        })
    };
    assert_eq!(
        ids(UserFilter::default()),
        vec![ann, pct, trap, under, anna, annex]
    );
    assert_eq!(
        search("aNn"),
        vec![ann, anna, annex],
        "name or e-mail, any case"
    );
    assert_eq!(search("100%"), vec![pct], "% is literal");
    assert_eq!(search("%"), vec![pct]);
    assert_eq!(search("_"), vec![under], "_ is literal");
    assert_eq!(search("L_X"), vec![under]);
    assert_eq!(search("nobody"), Vec::<UserId>::new());
    assert_eq!(
        ids(UserFilter {
            active: Some(false),
            ..UserFilter::default()
        }),
        vec![under]
    );
    assert_eq!(
        ids(UserFilter {
            staff: Some(true),
            ..UserFilter::default()
        }),
        vec![ann, under]
    );
    assert_eq!(
        ids(UserFilter {
            search: Some("a".into()),
            active: Some(true),
            staff: Some(false),
        }),
        vec![pct, trap, anna, annex],
        "every filter given must match"
    );

    let second = r
        .directory
        .users(&UserFilter::default(), page(2, 4))
        .expect("listed");
    assert_eq!(second.total, 6);
    assert_eq!(
        second.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![anna, annex]
    );
    let found = &second.items[1];
    assert_eq!(
        (found.name.as_str(), found.email.as_str()),
        ("Dan", "Dan@Annex.org")
    );
    assert!(
        r.directory
            .users(&UserFilter::default(), page(3, 4))
            .expect("listed")
            .items
            .is_empty()
    );
}

fn patient_directory_shows_every_owner_and_archived_ones(db: &Database) {
    let r = repos(&db.pool);
    let a = r.user("A", "a@example.com", false);
    let b = r.user("B", "b@example.com", false);
    let insert = |owner, name: &str, second| {
        r.patients
            .insert(
                crate::personal_clinic(&db.pool, owner),
                owner,
                &patient_details(name),
                at(second),
                &event(AuditAction::PatientCreate, second),
            )
            .expect("patient")
            .id
    };
    let ann = insert(a, "Ann Lee", 1);
    let pct = insert(a, "Bob 100% Real", 2);
    let marie = insert(b, "ann_marie", 3);
    let tie = insert(b, "Bob 1000 Real", 3);
    let zed = insert(a, "Zed", 5);
    assert_eq!(
        r.patients
            .archive(zed, at(6), &event(AuditAction::PatientDelete, 6)),
        Ok(true)
    );

    let ids = |filter: PatientFilter| {
        let found = r.patients.list(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found.items.iter().map(|p| p.id).collect::<Vec<_>>()
    };
    let search = |term: &str| {
        ids(PatientFilter {
            search: Some(term.into()),
            ..PatientFilter::default()
        })
    };
    assert_eq!(
        ids(PatientFilter::default()),
        vec![zed, tie, marie, pct, ann],
        "newest first, ties by id newest first, archived included"
    );
    assert_eq!(search("ANN"), vec![marie, ann]);
    assert_eq!(search("%"), vec![pct], "% is literal");
    assert_eq!(search("_"), vec![marie], "_ is literal");
    assert_eq!(
        ids(PatientFilter {
            owner: Some(a),
            ..PatientFilter::default()
        }),
        vec![zed, pct, ann]
    );
    assert_eq!(
        ids(PatientFilter {
            archived: Some(true),
            ..PatientFilter::default()
        }),
        vec![zed]
    );
    assert_eq!(
        ids(PatientFilter {
            archived: Some(false),
            ..PatientFilter::default()
        }),
        vec![tie, marie, pct, ann]
    );
    assert_eq!(
        ids(PatientFilter {
            search: Some("bob".into()),
            owner: Some(b),
            archived: Some(false),
            scope: None,
        }),
        vec![tie]
    );
    let second = r
        .patients
        .list(&PatientFilter::default(), page(2, 2))
        .expect("listed");
    assert_eq!(second.total, 5);
    assert_eq!(
        second.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![marie, pct]
    );
    let archived = r
        .patients
        .list(
            &PatientFilter {
                archived: Some(true),
                ..PatientFilter::default()
            },
            page(1, 1),
        )
        .expect("listed");
    assert_eq!(archived.items[0].archived_at, Some(at(6)));
    assert_eq!(archived.items[0].owner, a);
}

fn doctor_directory_filters_orders_and_counts(db: &Database) {
    let r = repos(&db.pool);
    let owner = r.user("A", "a@example.com", false);
    let doctor = |name: &str, specialization: &str| {
        r.doctors
            .insert(owner, &doctor_details(name, specialization), at(1))
            .expect("doctor")
            .doctor
            .id
    };
    let zed = doctor("Zed", "Pediatric Surgery");
    let amy = doctor("Amy", "surgery_general");
    let bob_old = doctor("Bob", "Dermatology");
    let bob = doctor("Bob", "Cardiology");
    let pct = doctor("Carl 100%", "Oncology");
    let trap = doctor("Carl 1000", "Oncology");
    // Zed: two active patients and one archived one (not counted).
    for (name, archive) in [("P1", false), ("P2", false), ("P3", true)] {
        let patient = r
            .patients
            .insert(
                crate::personal_clinic(&db.pool, owner),
                owner,
                &patient_details(name),
                at(2),
                &event(AuditAction::PatientCreate, 2),
            )
            .expect("patient");
        r.mappings
            .insert(
                patient.id,
                zed,
                owner,
                "",
                at(3),
                &event(AuditAction::MappingCreate, 3),
            )
            .expect("mapping")
            .expect("both accept assignments");
        if archive {
            r.patients
                .archive(patient.id, at(4), &event(AuditAction::PatientDelete, 4))
                .expect("archived");
        }
    }
    assert_eq!(
        r.doctors
            .archive(bob_old, at(5), &event(AuditAction::MappingRemove, 5)),
        Ok(true)
    );

    let listed = |filter: DoctorFilter| {
        let found = r.doctors.list(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found
            .items
            .iter()
            .map(|d| (d.doctor.id, d.patient_count))
            .collect::<Vec<_>>()
    };
    let ids = |filter: DoctorFilter| {
        listed(filter)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
    };
    let search = |term: &str| {
        ids(DoctorFilter {
            search: Some(term.into()),
            ..DoctorFilter::default()
        })
    };
    // By name, then id; archived included. (Names here all start upper-case: the databases'
    // collations order upper and lower case differently.)
    assert_eq!(
        listed(DoctorFilter::default()),
        vec![
            (amy, 0),
            (bob_old, 0),
            (bob, 0),
            (pct, 0),
            (trap, 0),
            (zed, 2)
        ]
    );
    assert_eq!(search("SURG"), vec![amy, zed], "specialization, any case");
    assert_eq!(search("bO"), vec![bob_old, bob], "name, any case");
    assert_eq!(search("AMY"), vec![amy]);
    assert_eq!(search("_"), vec![amy], "_ is literal");
    assert_eq!(search("100%"), vec![pct], "% is literal");
    assert_eq!(
        ids(DoctorFilter {
            archived: Some(true),
            ..DoctorFilter::default()
        }),
        vec![bob_old]
    );
    assert_eq!(
        ids(DoctorFilter {
            search: Some("b".into()),
            archived: Some(false),
            ..DoctorFilter::default()
        }),
        vec![bob]
    );
    let second = r
        .doctors
        .list(&DoctorFilter::default(), page(2, 4))
        .expect("listed");
    assert_eq!(second.total, 6);
    assert_eq!(
        second.items.iter().map(|d| d.doctor.id).collect::<Vec<_>>(),
        vec![trap, zed]
    );
    assert_eq!(
        second.items[1].doctor.details.specialization.as_str(),
        "Pediatric Surgery"
    );
    assert_eq!(second.items[1].patient_count, 2);
}

fn mapping_directory_shows_every_owner_active_or_not(db: &Database) {
    let r = repos(&db.pool);
    let a = r.user("A", "a@example.com", false);
    let b = r.user("B", "b@example.com", false);
    let p1 = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, a),
            a,
            &patient_details("Pat One"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient")
        .id;
    let p2 = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, b),
            b,
            &patient_details("Pat Two"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient")
        .id;
    let d1 = r
        .doctors
        .insert(a, &doctor_details("Dr One", "Cardiology"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let d2 = r
        .doctors
        .insert(b, &doctor_details("Dr Two", "Oncology"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let map = |patient: PatientId, doctor: DoctorId, owner, second| {
        r.mappings
            .insert(
                patient,
                doctor,
                owner,
                "n",
                at(second),
                &event(AuditAction::MappingCreate, second),
            )
            .expect("mapping")
            .expect("both accept assignments")
            .mapping
            .id
    };
    let m1 = map(p1, d1, a, 1);
    let m2 = map(p2, d1, b, 2);
    let m3 = map(p1, d2, a, 3);
    let m4 = map(p2, d2, b, 3);
    assert_eq!(
        r.mappings
            .deactivate(m3, at(4), &event(AuditAction::MappingRemove, 4)),
        Ok(true)
    );

    let ids = |filter: MappingFilter| {
        let found = r.mappings.list(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found
            .items
            .iter()
            .map(|m| m.mapping.id)
            .collect::<Vec<MappingId>>()
    };
    assert_eq!(
        ids(MappingFilter::default()),
        vec![m4, m3, m2, m1],
        "newest first, ties by id; every owner, ended ones included"
    );
    assert_eq!(
        ids(MappingFilter {
            active: Some(true),
            ..MappingFilter::default()
        }),
        vec![m4, m2, m1]
    );
    assert_eq!(
        ids(MappingFilter {
            active: Some(false),
            ..MappingFilter::default()
        }),
        vec![m3]
    );
    assert_eq!(
        ids(MappingFilter {
            patient: Some(p1),
            ..MappingFilter::default()
        }),
        vec![m3, m1]
    );
    assert_eq!(
        ids(MappingFilter {
            doctor: Some(d2),
            ..MappingFilter::default()
        }),
        vec![m4, m3]
    );
    assert_eq!(
        ids(MappingFilter {
            patient: Some(p2),
            doctor: Some(d1),
            active: Some(true),
            ..MappingFilter::default()
        }),
        vec![m2]
    );
    assert_eq!(
        ids(MappingFilter {
            patient: Some(p1),
            active: Some(true),
            doctor: Some(d2),
            ..MappingFilter::default()
        }),
        Vec::<MappingId>::new()
    );

    let second = r
        .mappings
        .list(&MappingFilter::default(), page(2, 3))
        .expect("listed");
    assert_eq!(second.total, 4);
    assert_eq!(second.items.len(), 1);
    let view = &second.items[0];
    assert_eq!(view.mapping.id, m1);
    assert_eq!(
        (
            view.patient_name.as_str(),
            view.doctor_name.as_str(),
            view.doctor_specialization.as_str()
        ),
        ("Pat One", "Dr One", "Cardiology")
    );
    let ended = r
        .mappings
        .list(
            &MappingFilter {
                active: Some(false),
                ..MappingFilter::default()
            },
            page(1, 10),
        )
        .expect("listed");
    assert!(!ended.items[0].mapping.is_active);
    assert_eq!(ended.items[0].doctor_name, "Dr Two");
}

fn directory_lists_cost_two_statements_whatever_the_page_size(db: &Database) {
    let r = repos(&db.pool);
    let owner = r.user("A", "a@example.com", false);
    for i in 0..5 {
        let patient = r
            .patients
            .insert(
                crate::personal_clinic(&db.pool, owner),
                owner,
                &patient_details(&format!("P{i}")),
                at(i),
                &event(AuditAction::PatientCreate, i),
            )
            .expect("patient")
            .id;
        let doctor = r
            .doctors
            .insert(owner, &doctor_details(&format!("D{i}"), "Oncology"), at(i))
            .expect("doctor")
            .doctor
            .id;
        r.mappings
            .insert(
                patient,
                doctor,
                owner,
                "",
                at(i),
                &event(AuditAction::MappingCreate, i),
            )
            .expect("mapping")
            .expect("both accept assignments");
        r.user(&format!("U{i}"), &format!("u{i}@example.com"), false);
    }
    let cost = |list: &dyn Fn(Page) -> usize, size: u64| {
        let before = db.statements.count();
        let items = list(page(1, size));
        let spent = db.statements.count() - before;
        assert_eq!(items as u64, size.min(5));
        spent
    };
    let users = |p: Page| {
        r.directory
            .users(
                &UserFilter {
                    search: Some("u".into()),
                    ..UserFilter::default()
                },
                p,
            )
            .expect("listed")
            .items
            .len()
    };
    let patients = |p: Page| {
        r.patients
            .list(&PatientFilter::default(), p)
            .expect("listed")
            .items
            .len()
    };
    let doctors = |p: Page| {
        r.doctors
            .list(&DoctorFilter::default(), p)
            .expect("listed")
            .items
            .len()
    };
    let mappings = |p: Page| {
        r.mappings
            .list(&MappingFilter::default(), p)
            .expect("listed")
            .items
            .len()
    };
    let lists: [(&str, &dyn Fn(Page) -> usize); 4] = [
        ("users", &users),
        ("patients", &patients),
        ("doctors", &doctors),
        ("mappings", &mappings),
    ];
    for (name, list) in lists {
        cost(list, 1); // warms the pool: opening a connection costs set-up statements
        let small = cost(list, 1);
        let large = cost(list, 100);
        assert_eq!(small, large, "{name}: page size 1 and 100 cost the same");
        // Two queries, plus the pool's check of the connection when it is checked out.
        assert!(small <= 3, "{name} ran {small} statements");
    }
}

fn restore_doctor_unarchives_once_and_leaves_mappings_inactive(db: &Database) {
    let r = repos(&db.pool);
    let owner = r.user("A", "a@example.com", false);
    let doctor = r
        .doctors
        .insert(owner, &doctor_details("Dr One", "Oncology"), at(1))
        .expect("doctor")
        .doctor;
    let patient = r
        .patients
        .insert(
            crate::personal_clinic(&db.pool, owner),
            owner,
            &patient_details("Pat"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient")
        .id;
    let mapping = r
        .mappings
        .insert(
            patient,
            doctor.id,
            owner,
            "",
            at(2),
            &event(AuditAction::MappingCreate, 2),
        )
        .expect("mapping")
        .expect("both accept assignments")
        .mapping
        .id;

    assert_eq!(
        r.doctors.restore(DoctorId(999), at(3)),
        Ok(false),
        "unknown"
    );
    assert_eq!(
        r.doctors.restore(doctor.id, at(3)),
        Ok(false),
        "not archived"
    );
    assert_eq!(
        r.doctors
            .find(doctor.id)
            .expect("ok")
            .expect("found")
            .doctor
            .version,
        1
    );

    assert_eq!(
        r.doctors
            .archive(doctor.id, at(4), &event(AuditAction::MappingRemove, 4)),
        Ok(true)
    );
    assert_eq!(
        r.doctors
            .find(doctor.id)
            .expect("ok")
            .expect("found")
            .doctor
            .version,
        2
    );
    assert_eq!(r.doctors.restore(doctor.id, at(5)), Ok(true));
    let restored = r.doctors.find(doctor.id).expect("ok").expect("found");
    assert_eq!(restored.doctor.archived_at, None);
    assert_eq!(restored.doctor.updated_at, at(5));
    assert_eq!(restored.doctor.version, 3);
    assert_eq!(restored.patient_count, 0, "its mappings stay inactive");
    assert!(
        !r.mappings
            .find(mapping)
            .expect("ok")
            .expect("found")
            .is_active
    );
    assert_eq!(
        r.doctors
            .list(&DoctorFilter::default(), page(1, 10))
            .expect("listed")
            .items
            .iter()
            .map(|d| d.doctor.id)
            .collect::<Vec<_>>(),
        vec![doctor.id],
        "listed again"
    );
    assert_eq!(r.doctors.restore(doctor.id, at(6)), Ok(false), "once");
}
