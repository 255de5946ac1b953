//! Record history and search: every version change keeps the previous row, in the same
//! statement; kept rows are never changed; searches fold case and accents, and keyset pages
//! visit every match once while records are added.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use healthcare_domain::doctor::DoctorSearch;
use healthcare_domain::patient::{Gender, PatientSearch};
use healthcare_domain::record_search::{
    SearchOrder, SearchPaging, Seek, SeekKey, SortField, SortValue, TextMatch, TimeBound,
};
use healthcare_persistence::connection::checkout;

use super::*;

contract!(
    every_version_change_keeps_the_previous_row_and_kept_rows_never_change,
    concurrent_updates_never_lose_a_version,
    doctors_keep_their_versions_but_not_their_counter_updates,
    name_searches_fold_case_and_accents_and_honour_exact_and_contains,
    searches_filter_by_gender_telecom_ids_and_last_update,
    paging_forward_visits_every_match_once_while_records_are_added,
    paging_backwards_returns_the_same_pages,
    an_unnarrowed_search_reads_the_clinics_kept_total_with_every_page,
    care_teams_search_by_doctor_and_load_their_assignments_at_once,
);

fn insert(r: &fixtures::Repos, pool: &DbPool, name: &str, second: u32) -> PatientId {
    r.patients
        .insert(
            crate::personal_clinic(pool, r.owner),
            r.owner,
            &patient_details(name),
            at(second),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted")
        .id
}

fn rename(r: &fixtures::Repos, id: PatientId, name: &str, second: u32) -> bool {
    let current = r.patients.find(id).expect("read").expect("there");
    r.patients
        .update(
            id,
            &patient_details(name),
            current.version,
            at(second),
            &audit(AuditAction::PatientUpdate),
        )
        .expect("written")
        .is_some()
}

fn every_version_change_keeps_the_previous_row_and_kept_rows_never_change(pool: &DbPool) {
    let r = repos(pool);
    let id = insert(&r, pool, "Version One", 1);
    for (n, name) in ["Version Two", "Version Three"].into_iter().enumerate() {
        assert!(rename(&r, id, name, 2 + n as u32));
    }
    assert!(
        r.patients
            .archive(id, at(9), &audit(AuditAction::PatientDelete))
            .expect("archived")
    );
    let versions = r.patients.versions(id, None, 100).expect("history");
    let seen: Vec<(i64, &str, bool)> = versions
        .iter()
        .map(|p| (p.version, p.details.name.as_str(), p.archived_at.is_some()))
        .collect();
    assert_eq!(
        seen,
        [
            (4, "Version Three", true),
            (3, "Version Three", false),
            (2, "Version Two", false),
            (1, "Version One", false),
        ]
    );
    assert_eq!(versions[2].updated_at, at(2), "each as it was stored");
    for expected in &versions {
        assert_eq!(
            r.patients.version(id, expected.version).expect("read"),
            Some(expected.clone())
        );
    }
    assert_eq!(r.patients.version(id, 5).expect("read"), None);
    assert_eq!(r.patients.version(PatientId(9999), 1).expect("read"), None);
    let page: Vec<i64> = (r.patients.versions(id, Some(4), 2).expect("history"))
        .iter()
        .map(|p| p.version)
        .collect();
    assert_eq!(page, [3, 2], "a page of history below a version");

    let mut connection = checkout(pool).expect("a connection");
    for statement in [
        "UPDATE patient_versions SET name = 'Forged'",
        "DELETE FROM patient_versions",
    ] {
        assert!(
            connection.batch_execute(statement).is_err(),
            "refused: {statement}"
        );
    }
}

fn concurrent_updates_never_lose_a_version(pool: &DbPool) {
    let r = repos(pool);
    let id = insert(&r, pool, "Raced", 1);
    let successes: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let r = &r;
                scope.spawn(move || {
                    (0..10)
                        .filter(|n| rename(r, id, &format!("Writer {worker} {n}"), 2))
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("joined")).sum()
    });
    let current = r.patients.find(id).expect("read").expect("there");
    assert_eq!(current.version, 1 + successes as i64);
    let versions: Vec<i64> = (r.patients.versions(id, None, 1000).expect("history"))
        .iter()
        .map(|p| p.version)
        .collect();
    let expected: Vec<i64> = (1..=current.version).rev().collect();
    assert_eq!(versions, expected, "every version once, none lost");
}

fn doctors_keep_their_versions_but_not_their_counter_updates(pool: &DbPool) {
    let r = repos(pool);
    let doctor = r
        .doctors
        .insert(
            r.owner,
            &doctor_details("Dr. Old", "Cardiology", true),
            at(1),
        )
        .expect("doctor")
        .doctor;
    let patient = insert(&r, pool, "Mapped", 1);
    r.mappings
        .insert(
            patient,
            doctor.id,
            r.owner,
            "",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("assigned")
        .expect("active");
    r.doctors
        .update(
            doctor.id,
            &doctor_details("Dr. New", "Cardiology", true),
            1,
            at(3),
        )
        .expect("updated")
        .expect("current");
    let versions: Vec<(i64, String)> = (r.doctors.versions(doctor.id, None, 10).expect("history"))
        .into_iter()
        .map(|d| (d.version, d.details.name.as_str().to_owned()))
        .collect();
    assert_eq!(
        versions,
        [(2, "Dr. New".to_owned()), (1, "Dr. Old".to_owned())],
        "the patient count's update is not a version"
    );
    assert_eq!(
        (r.doctors.version(doctor.id, 1).expect("read")).map(|d| d
            .details
            .name
            .as_str()
            .to_owned()),
        Some("Dr. Old".to_owned())
    );
}

fn by_names(names: Vec<TextMatch>) -> PatientSearch {
    PatientSearch {
        names: vec![names],
        ..PatientSearch::default()
    }
}

fn found(r: &fixtures::Repos, search: &PatientSearch) -> Vec<i64> {
    let mut ids: Vec<i64> = (r.patients.search(search, &SearchPaging::default()))
        .expect("searched")
        .items
        .iter()
        .map(|p| p.id.0)
        .collect();
    ids.sort_unstable();
    ids
}

fn name_searches_fold_case_and_accents_and_honour_exact_and_contains(pool: &DbPool) {
    let r = repos(pool);
    let jose = insert(&r, pool, "José García", 1).0;
    let josefa = insert(&r, pool, "JOSEFA Núñez", 2).0;
    let percent = insert(&r, pool, "Ann 100%", 3).0;
    let prefix = |text: &str| by_names(vec![TextMatch::StartsWith(text.into())]);
    assert_eq!(found(&r, &prefix("jose")), [jose, josefa]);
    assert_eq!(found(&r, &prefix("garc")), [jose], "any word's start");
    assert_eq!(found(&r, &prefix("nunez")), [josefa]);
    assert_eq!(
        found(&r, &prefix("arcia")),
        Vec::<i64>::new(),
        "not inside a word"
    );
    assert_eq!(
        found(&r, &prefix("100%")),
        [percent],
        "wildcards are literal"
    );
    assert_eq!(found(&r, &prefix("10_")), Vec::<i64>::new());
    let exact = |text: &str| by_names(vec![TextMatch::Exact(text.into())]);
    assert_eq!(found(&r, &exact("José García")), [jose]);
    assert_eq!(found(&r, &exact("jose garcia")), Vec::<i64>::new());
    let contains = |text: &str| by_names(vec![TextMatch::Contains(text.into())]);
    assert_eq!(found(&r, &contains("ARCI")), [jose]);
    let either = by_names(vec![
        TextMatch::Exact("Ann 100%".into()),
        TextMatch::StartsWith("garcia".into()),
    ]);
    assert_eq!(found(&r, &either), [jose, percent], "alternatives: any");
    let both = PatientSearch {
        names: vec![
            vec![TextMatch::StartsWith("jose".into())],
            vec![TextMatch::StartsWith("nunez".into())],
        ],
        ..PatientSearch::default()
    };
    assert_eq!(found(&r, &both), [josefa], "criteria: all");

    let doctor = r
        .doctors
        .insert(
            r.owner,
            &doctor_details("Dr. Élise Ôtis", "Cardiology", true),
            at(1),
        )
        .expect("doctor")
        .doctor;
    let doctors = r
        .doctors
        .search(
            &DoctorSearch {
                names: vec![vec![TextMatch::StartsWith("otis".into())]],
                ..DoctorSearch::default()
            },
            &SearchPaging::default(),
        )
        .expect("searched");
    assert_eq!(
        doctors.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        [doctor.id]
    );
}

fn searches_filter_by_gender_telecom_ids_and_last_update(pool: &DbPool) {
    let r = repos(pool);
    let clinic = crate::personal_clinic(pool, r.owner);
    let mut details = patient_details("Phoned");
    details.phone = healthcare_domain::fields::Phone::parse_optional("555-0101").expect("phone");
    details.gender = Gender::Female;
    let phoned = r
        .patients
        .insert(
            clinic,
            r.owner,
            &details,
            at(5),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted")
        .id
        .0;
    let other = insert(&r, pool, "Other", 9).0;
    let archived = insert(&r, pool, "Archived", 9);
    r.patients
        .archive(archived, at(10), &audit(AuditAction::PatientDelete))
        .expect("archived");
    let all = PatientSearch::default();
    assert_eq!(
        found(&r, &all),
        [phoned, other],
        "never an archived patient"
    );
    let genders = |genders: Vec<Gender>| PatientSearch {
        genders: Some(genders),
        ..PatientSearch::default()
    };
    assert_eq!(found(&r, &genders(vec![Gender::Female])), [phoned]);
    assert_eq!(
        found(&r, &genders(vec![Gender::Female, Gender::Other])),
        [phoned, other]
    );
    assert_eq!(found(&r, &genders(vec![])), Vec::<i64>::new());
    let telecom = PatientSearch {
        telecoms: Some(vec!["555-0101".into()]),
        ..PatientSearch::default()
    };
    assert_eq!(found(&r, &telecom), [phoned]);
    let ids = PatientSearch {
        ids: Some(vec![PatientId(other), archived]),
        ..PatientSearch::default()
    };
    assert_eq!(found(&r, &ids), [other]);
    let updated = |bounds: Vec<TimeBound>| PatientSearch {
        updated: bounds,
        ..PatientSearch::default()
    };
    assert_eq!(
        found(&r, &updated(vec![TimeBound::Before(at(9))])),
        [phoned]
    );
    assert_eq!(
        found(&r, &updated(vec![TimeBound::NotBefore(at(9))])),
        [other]
    );
    assert_eq!(
        found(
            &r,
            &updated(vec![
                TimeBound::NotBefore(at(5)),
                TimeBound::NotAfter(at(5))
            ])
        ),
        [phoned]
    );
    assert_eq!(
        found(&r, &updated(vec![TimeBound::After(at(9))])),
        Vec::<i64>::new()
    );
}

fn paging(field: SortField, descending: bool, seek: Seek, count: u64) -> SearchPaging {
    SearchPaging {
        order: SearchOrder { field, descending },
        seek,
        count,
        with_total: true,
    }
}

/// Follows `next` from the first page, inserting a matching patient after each page.
fn paging_forward_visits_every_match_once_while_records_are_added(pool: &DbPool) {
    let r = repos(pool);
    for n in 0..7 {
        insert(
            &r,
            pool,
            &format!("Paged {}", (b'a' + (n * 3 % 7) as u8) as char),
            n,
        );
    }
    let search = by_names(vec![TextMatch::StartsWith("paged".into())]);
    for (field, descending) in [
        (SortField::Id, false),
        (SortField::Name, false),
        (SortField::Name, true),
        (SortField::LastUpdated, true),
    ] {
        let all_of = |r: &fixtures::Repos| -> BTreeSet<i64> {
            let every = r
                .patients
                .search(&search, &paging(field, descending, Seek::First, 100))
                .expect("all");
            assert_eq!(every.total, Some(every.items.len() as u64));
            every.items.iter().map(|p| p.id.0).collect()
        };
        let at_start = all_of(&r);
        let mut seek = Seek::First;
        let mut visited = Vec::new();
        loop {
            let this = paging(field, descending, seek, 3);
            let page = r.patients.search(&search, &this).expect("a page");
            visited.extend(page.items.iter().map(|patient| patient.id.0));
            let Some(last) = page.items.last() else { break };
            if !page.has_next {
                break;
            }
            seek = Seek::After(this.key_of(last.id.0, last.updated_at, last.details.name.as_str()));
            insert(&r, pool, &format!("Paged new {}", visited.len()), 30);
        }
        let unique: BTreeSet<i64> = visited.iter().copied().collect();
        assert_eq!(
            unique.len(),
            visited.len(),
            "{field:?}: no match twice: {visited:?}"
        );
        assert!(
            unique.is_superset(&at_start),
            "{field:?}: every match of the start visited: {visited:?}"
        );
        assert!(unique.is_subset(&all_of(&r)), "{field:?}: only matches");
    }
}

/// The whole clinic's search counts from its kept totals, in the page's statement, and alone
/// when the page is empty or only the total is asked for.
fn an_unnarrowed_search_reads_the_clinics_kept_total_with_every_page(pool: &DbPool) {
    let r = repos(pool);
    let ids: Vec<PatientId> = (0..3)
        .map(|n| insert(&r, pool, &format!("Whole {n}"), n))
        .collect();
    assert!(
        r.patients
            .archive(ids[0], at(9), &audit(AuditAction::PatientDelete))
            .expect("archived")
    );
    let search = PatientSearch {
        visible: crate::own_patients(pool, r.owner, None),
        ..PatientSearch::default()
    };
    assert!(search.is_unnarrowed());
    let by_id = |seek, count| {
        let found = r
            .patients
            .search(&search, &paging(SortField::Id, false, seek, count))
            .expect("searched");
        let ids: Vec<i64> = found.items.iter().map(|p| p.id.0).collect();
        (ids, found.total)
    };
    assert_eq!(by_id(Seek::First, 1), (vec![ids[1].0], Some(2)));
    let after_the_last = Seek::After(SeekKey {
        value: SortValue::Id,
        id: ids[2].0,
    });
    assert_eq!(by_id(after_the_last, 5), (vec![], Some(2)));
    assert_eq!(by_id(Seek::First, 0), (vec![], Some(2)));
}

fn paging_backwards_returns_the_same_pages(pool: &DbPool) {
    let r = repos(pool);
    for n in 0..8 {
        insert(&r, pool, &format!("Back {n}"), n);
    }
    let search = by_names(vec![TextMatch::StartsWith("back".into())]);
    let mut pages = Vec::new();
    let mut seek = Seek::First;
    loop {
        let this = paging(SortField::Name, false, seek, 3);
        let page = r.patients.search(&search, &this).expect("a page");
        let last = page.items.last().expect("a record").clone();
        pages.push(page.clone());
        if !page.has_next {
            break;
        }
        seek = Seek::After(this.key_of(last.id.0, last.updated_at, last.details.name.as_str()));
    }
    assert_eq!(pages.len(), 3);
    // A page link carries only the anchor's id (`NameOf`): the store looks its name up.
    let by_id = |seek: fn(SeekKey) -> Seek, anchor: &healthcare_domain::patient::Patient| {
        let key = SeekKey {
            value: SortValue::NameOf,
            id: anchor.id.0,
        };
        r.patients
            .search(&search, &paging(SortField::Name, false, seek(key), 3))
            .expect("a page")
    };
    let second = by_id(Seek::After, pages[0].items.last().expect("a record"));
    assert_eq!(second.items, pages[1].items);
    let first = by_id(Seek::Before, &pages[1].items[0]);
    assert_eq!(first.items, pages[0].items);
    assert!(!pages[0].has_previous && pages[1].has_previous && pages[2].has_previous);
    for window in pages.windows(2) {
        let first = &window[1].items[0];
        let order = paging(SortField::Name, false, Seek::First, 3);
        let key = order.key_of(first.id.0, first.updated_at, first.details.name.as_str());
        let back = r
            .patients
            .search(
                &search,
                &paging(SortField::Name, false, Seek::Before(key), 3),
            )
            .expect("a page back");
        assert_eq!(back.items, window[0].items);
        assert_eq!(back.has_previous, window[0].has_previous);
        assert!(back.has_next);
    }
}

/// The last migration of the release before record history.
const BEFORE_HISTORY: &str = "2026-12-06-000015";

/// A database the previous release wrote: its names are folded when the server starts, its
/// records' history starts at the version they have, and changes are kept from then on.
fn the_previous_releases_records_get_folded_names_and_a_history(url: &str) {
    let pool = crate::records::pool_for(url);
    migrations::run_up_to(&pool, BEFORE_HISTORY).expect("the previous release's schema");
    let r = repos(&pool);
    let clinic = crate::personal_clinic(&pool, r.owner);
    let owner = r.owner.0;
    let mut connection = checkout(&pool).expect("a connection");
    for (id, name) in [(1001, "José Álvarez"), (1002, "Zoë Brontë")] {
        connection
            .batch_execute(&crate::previous_release_patient(id, owner, clinic.0, name))
            .expect("a patient of the previous release");
    }
    connection
        .batch_execute(&format!(
            "INSERT INTO doctors (id, created_by, name, specialization, specialization_lower, \
             phone, email, experience_years, qualification, consultation_fee_cents, \
             is_available, created_at, updated_at, version, archived_at) VALUES \
             (51, {owner}, 'Dr. Ångström', 'Cardiology', 'cardiology', '555', 'a@example.com', \
              9, 'MD', 15000, TRUE, '2026-11-27 10:00:00', '2026-11-27 10:00:00', 3, NULL)"
        ))
        .expect("a doctor of the previous release");
    drop(connection);

    migrations::run_pending(&pool).expect("the upgrade");

    let prefix = |text: &str| by_names(vec![TextMatch::StartsWith(text.into())]);
    assert_eq!(found(&r, &prefix("jose")), [1001]);
    assert_eq!(found(&r, &prefix("bronte")), [1002]);
    let doctors = r
        .doctors
        .search(
            &DoctorSearch {
                names: vec![vec![TextMatch::StartsWith("angstrom".into())]],
                ..DoctorSearch::default()
            },
            &SearchPaging::default(),
        )
        .expect("searched");
    assert_eq!(doctors.items.len(), 1);

    let id = PatientId(1001);
    let versions = |r: &fixtures::Repos| -> Vec<i64> {
        (r.patients.versions(id, None, 10).expect("history"))
            .iter()
            .map(|p| p.version)
            .collect()
    };
    assert_eq!(versions(&r), [1], "history starts at the version it has");
    assert!(rename(&r, id, "José Álvarez Ruiz", 5));
    assert_eq!(versions(&r), [2, 1]);
    assert_eq!(
        (r.patients.version(id, 1).expect("read")).map(|p| p.details.name.as_str().to_owned()),
        Some("José Álvarez".to_owned())
    );
    // A rename by the previous release, still running during a rolling upgrade, leaves the
    // folded name stale until `healthcare-admin migrate` folds it again.
    let mut connection = checkout(&pool).expect("a connection");
    connection
        .batch_execute(
            "UPDATE patients SET name = 'Zoé Zapata', name_lower = 'zoé zapata' WHERE id = 1002",
        )
        .expect("renamed the old way");
    drop(connection);
    assert_eq!(found(&r, &prefix("zapata")), Vec::<i64>::new(), "stale");
    assert_eq!(found(&r, &prefix("bronte")), [1002], "stale");
    assert_eq!(migrations::refold_names(&pool).expect("refolded"), 1);
    assert_eq!(found(&r, &prefix("zapata")), [1002]);
    assert_eq!(found(&r, &prefix("bronte")), Vec::<i64>::new());
    assert_eq!(migrations::refold_names(&pool).expect("nothing left"), 0);

    let doctor = DoctorId(51);
    r.doctors
        .update(
            doctor,
            &doctor_details("Dr. B", "Cardiology", true),
            3,
            at(5),
        )
        .expect("updated")
        .expect("current");
    let kept: Vec<i64> = (r.doctors.versions(doctor, None, 10).expect("history"))
        .iter()
        .map(|d| d.version)
        .collect();
    assert_eq!(kept, [4, 3]);
}

#[test]
fn on_sqlite_the_previous_releases_records_get_folded_names_and_a_history() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    the_previous_releases_records_get_folded_names_and_a_history(&url);
}

#[test]
fn on_postgres_the_previous_releases_records_get_folded_names_and_a_history() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        the_previous_releases_records_get_folded_names_and_a_history(&url);
    }
}

fn care_teams_search_by_doctor_and_load_their_assignments_at_once(pool: &DbPool) {
    let r = repos(pool);
    let doctor = |name: &str| {
        r.doctors
            .insert(r.owner, &doctor_details(name, "Cardiology", true), at(1))
            .expect("doctor")
            .doctor
            .id
    };
    let (first, second) = (doctor("Dr. First"), doctor("Dr. Second"));
    let treated = insert(&r, pool, "Treated", 1);
    let also = insert(&r, pool, "Also Treated", 1);
    let untreated = insert(&r, pool, "Untreated", 1);
    let assign = |patient: PatientId, doctor: DoctorId, second: u32| {
        r.mappings
            .insert(
                patient,
                doctor,
                r.owner,
                "",
                at(second),
                &audit(AuditAction::MappingCreate),
            )
            .expect("assigned")
            .expect("active")
            .mapping
            .id
    };
    let ended = assign(treated, second, 2);
    r.mappings
        .deactivate(ended, at(3), &audit(AuditAction::MappingRemove))
        .expect("ended");
    assign(treated, first, 4);
    assign(also, second, 5);
    assign(also, first, 6);
    let search = |doctors: Vec<DoctorId>| PatientSearch {
        assigned_to: Some(doctors),
        ..PatientSearch::default()
    };
    assert_eq!(found(&r, &search(vec![first])), [treated.0, also.0]);
    assert_eq!(
        found(&r, &search(vec![second])),
        [also.0],
        "an ended mapping is no tie"
    );
    assert_eq!(found(&r, &search(vec![])), Vec::<i64>::new());
    let loaded: Vec<(i64, i64)> = r
        .mappings
        .active_for_patients(&[also, treated, untreated])
        .expect("loaded")
        .iter()
        .map(|(mapping, found)| (mapping.patient_id.0, found.doctor.id.0))
        .collect();
    let mut expected = vec![(treated.0, first.0), (also.0, second.0), (also.0, first.0)];
    expected.sort_by_key(|(patient, _)| *patient);
    assert_eq!(
        loaded, expected,
        "by patient, then oldest first; ended ones left out"
    );
    assert!(
        r.mappings
            .active_for_patients(&[])
            .expect("nothing")
            .is_empty()
    );
}
