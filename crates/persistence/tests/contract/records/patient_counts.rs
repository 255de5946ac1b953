//! Figures kept at write time, a doctor's `patient_count`, the directory's and each clinic's
//! totals: right
//! after any mix of concurrent writes, and right after the upgrades that introduced them.

use std::collections::BTreeMap;

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use healthcare_persistence::connection::checkout;

use super::*;
use healthcare_core::ports::PatientAssignments;

contract!(counts_stay_right_under_a_random_concurrent_mix_of_writes);

/// What the count must be: the active mappings of each doctor whose patient is live, counted
/// from the rows themselves.
fn counted_from_the_rows(pool: &DbPool) -> BTreeMap<i64, i64> {
    #[derive(diesel::QueryableByName)]
    struct Counted {
        #[diesel(sql_type = BigInt)]
        doctor_id: i64,
        #[diesel(sql_type = BigInt)]
        active: i64,
    }
    diesel::sql_query(
        "SELECT d.id AS doctor_id, (SELECT COUNT(*) FROM patient_doctor_mappings m \
         JOIN patients p ON p.id = m.patient_id \
         WHERE m.doctor_id = d.id AND m.is_active AND p.archived_at IS NULL) AS active \
         FROM doctors d",
    )
    .load::<Counted>(&mut *checkout(pool).expect("a connection"))
    .expect("counted")
    .into_iter()
    .map(|row| (row.doctor_id, row.active))
    .collect()
}

/// A list's totals as it reports them (live, archived, both: `list_total` for each `archived`
/// filter) against the rows of `table` that `scope` (an SQL condition) selects.
fn assert_totals(
    pool: &DbPool,
    table: &str,
    scope: &str,
    list_total: impl Fn(Option<bool>) -> u64,
    context: &str,
) {
    #[derive(diesel::QueryableByName)]
    struct Totals {
        #[diesel(sql_type = BigInt)]
        live: i64,
        #[diesel(sql_type = BigInt)]
        archived: i64,
    }
    let rows = diesel::sql_query(format!(
        "SELECT (SELECT COUNT(*) FROM {table} WHERE {scope} AND archived_at IS NULL) AS live, \
         (SELECT COUNT(*) FROM {table} WHERE {scope} AND archived_at IS NOT NULL) AS archived"
    ))
    .get_result::<Totals>(&mut *checkout(pool).expect("a connection"))
    .expect("counted");
    assert_eq!(
        (
            list_total(Some(false)),
            list_total(Some(true)),
            list_total(None)
        ),
        (
            rows.live.unsigned_abs(),
            rows.archived.unsigned_abs(),
            (rows.live + rows.archived).unsigned_abs()
        ),
        "{context}: the totals of {table} where {scope}"
    );
}

/// The directory's totals as its list reports them, against the rows.
fn assert_directory_totals(doctors: &DieselDoctorRepository, pool: &DbPool, context: &str) {
    let list_total = |archived: Option<bool>| {
        doctors
            .list(
                &DoctorFilter {
                    archived,
                    ..DoctorFilter::default()
                },
                page(1, 1),
            )
            .expect("listed")
            .total
    };
    assert_totals(pool, "doctors", "TRUE", list_total, context);
}

/// A clinic's patient totals as its whole list reports them, against the rows.
fn assert_clinic_totals(
    patients: &DieselPatientRepository,
    pool: &DbPool,
    clinic: healthcare_domain::clinic::ClinicId,
    context: &str,
) {
    let list_total = |archived: Option<bool>| {
        patients
            .list(&crate::whole_clinic(clinic, archived), page(1, 1))
            .expect("listed")
            .total
    };
    let scope = format!("clinic_id = {}", clinic.0);
    assert_totals(pool, "patients", &scope, list_total, context);
}

/// What the repository reports, one doctor at a time.
fn reported(doctors: &DieselDoctorRepository, ids: &[DoctorId]) -> BTreeMap<i64, i64> {
    ids.iter()
        .map(|id| {
            let found = doctors.find(*id).expect("read").expect("kept");
            (id.0, found.patient_count)
        })
        .collect()
}

/// A small deterministic generator (xorshift64*): each thread replays the same choices for a
/// given seed, so a failure names the seed that reproduces it.
struct Choices(u64);

impl Choices {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
        usize::try_from(value).expect("fits") % bound
    }
}

/// Four threads assign, remove, archive and restore patients and doctors at random over a
/// small set (so they collide), for three seeds. Every write answers (an assignment may lose a
/// race to its twin: a conflict; a deadlock would be an internal error), and afterwards every
/// doctor's `patient_count` equals the rows' count, through `find` and through the list.
fn counts_stay_right_under_a_random_concurrent_mix_of_writes(pool: &DbPool) {
    let r = repos(pool);
    let clinic = crate::personal_clinic(pool, r.owner);
    let patients: Vec<PatientId> = (0..6)
        .map(|n| {
            r.patients
                .insert(
                    clinic,
                    r.owner,
                    &patient_details(&format!("Patient {n}")),
                    at(1),
                    &audit(AuditAction::PatientCreate),
                )
                .expect("patient")
                .id
        })
        .collect();
    let doctors: Vec<DoctorId> = (0..4)
        .map(|n| {
            r.doctors
                .insert(
                    r.other,
                    &doctor_details(&format!("Dr. {n}"), "Cardiology", true),
                    at(1),
                )
                .expect("doctor")
                .doctor
                .id
        })
        .collect();
    for seed in [
        0x9e37_79b9_7f4a_7c15_u64,
        0xdead_beef_cafe_f00d,
        0x1234_5678_9abc_def1,
    ] {
        std::thread::scope(|scope| {
            for thread in 0..4_u64 {
                let (r, patients, doctors) = (&r, &patients, &doctors);
                scope.spawn(move || {
                    let mut choices = Choices(seed ^ (thread + 1).wrapping_mul(0x1000_0001));
                    let mut assigned: Vec<MappingId> = Vec::new();
                    for step in 0..60 {
                        let patient = patients[choices.below(patients.len())];
                        let doctor = doctors[choices.below(doctors.len())];
                        let context = format!("seed {seed:#x}, thread {thread}, step {step}");
                        match choices.below(16) {
                            0..=7 => match r.mappings.insert(
                                patient,
                                doctor,
                                r.owner,
                                "",
                                at(2),
                                &audit(AuditAction::MappingCreate),
                            ) {
                                Ok(Some(view)) => assigned.push(view.mapping.id),
                                Ok(None) | Err(RepoError::Conflict) => {}
                                Err(error) => panic!("{context}: assign: {error:?}"),
                            },
                            8..=10 if !assigned.is_empty() => {
                                let mapping = assigned.swap_remove(choices.below(assigned.len()));
                                r.mappings
                                    .deactivate(mapping, at(3), &audit(AuditAction::MappingRemove))
                                    .unwrap_or_else(|error| panic!("{context}: remove: {error:?}"));
                            }
                            11 => {
                                r.patients
                                    .archive(patient, at(3), &audit(AuditAction::PatientDelete))
                                    .unwrap_or_else(|error| {
                                        panic!("{context}: archive patient: {error:?}")
                                    });
                            }
                            12 | 13 => {
                                r.patients
                                    .restore(patient, at(4), &audit(AuditAction::PatientRestore))
                                    .unwrap_or_else(|error| {
                                        panic!("{context}: restore patient: {error:?}")
                                    });
                            }
                            14 => {
                                r.doctors
                                    .archive(doctor, at(3), &audit(AuditAction::MappingRemove))
                                    .unwrap_or_else(|error| {
                                        panic!("{context}: archive doctor: {error:?}")
                                    });
                            }
                            _ => {
                                r.doctors.restore(doctor, at(4)).unwrap_or_else(|error| {
                                    panic!("{context}: restore doctor: {error:?}")
                                });
                            }
                        }
                    }
                });
            }
        });
        let expected = counted_from_the_rows(pool);
        assert_eq!(reported(&r.doctors, &doctors), expected, "seed {seed:#x}");
        let listed: BTreeMap<i64, i64> = r
            .doctors
            .list(
                &DoctorFilter {
                    archived: None,
                    ..DoctorFilter::default()
                },
                page(1, 100),
            )
            .expect("listed")
            .items
            .into_iter()
            .map(|found| (found.doctor.id.0, found.patient_count))
            .collect();
        assert_eq!(listed, expected, "seed {seed:#x}: the list");
        assert_directory_totals(&r.doctors, pool, &format!("seed {seed:#x}"));
        assert_clinic_totals(&r.patients, pool, clinic, &format!("seed {seed:#x}"));
    }
    // The mix may end with every mapping removed; a count that drifted stays off by as much
    // when mappings are added afterwards, so give the first doctor every patient and look again.
    r.doctors.restore(doctors[0], at(5)).expect("restored");
    for patient in &patients {
        r.patients
            .restore(*patient, at(5), &audit(AuditAction::PatientRestore))
            .expect("restored");
        match r.mappings.insert(
            *patient,
            doctors[0],
            r.owner,
            "",
            at(6),
            &audit(AuditAction::MappingCreate),
        ) {
            Ok(Some(_)) | Err(RepoError::Conflict) => {}
            other => panic!("assigning {patient:?}: {other:?}"),
        }
    }
    let expected = counted_from_the_rows(pool);
    assert_eq!(expected[&doctors[0].0], 6, "{expected:?}");
    assert_eq!(reported(&r.doctors, &doctors), expected);
}

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

/// What the previous release left: doctors with active and removed mappings (one of them to a
/// patient archived since). The upgrade counts them, and later writes keep the count.
fn the_previous_releases_mappings_are_counted_by_the_upgrade(url: &str) {
    use diesel::connection::SimpleConnection;

    let pool = pool_for(url);
    migrations::run_up_to(&pool, "2026-12-06-000012").expect("the previous release's schema");
    let r = repos(&pool);
    let clinic = crate::personal_clinic(&pool, r.owner);
    // The previous release's patients, written as it wrote them (ids clear of the sequence).
    let (p0, p1, p2) = (1001_i64, 1002_i64, 1003_i64);
    let owner = r.owner.0;
    let mut connection = checkout(&pool).expect("a connection");
    for id in [p0, p1, p2] {
        connection
            .batch_execute(&crate::previous_release_patient(
                id, owner, clinic.0, "Patient",
            ))
            .expect("a patient of the previous release");
    }
    connection
        .batch_execute(&format!(
            "INSERT INTO doctors (id, created_by, name, specialization, specialization_lower, \
             phone, email, experience_years, qualification, consultation_fee_cents, \
             is_available, created_at, updated_at, version, archived_at) VALUES \
             (51, {owner}, 'Dr. A', 'Cardiology', 'cardiology', '555', 'a@example.com', 9, 'MD', \
              15000, TRUE, '2026-11-27 10:00:00', '2026-11-27 10:00:00', 1, NULL), \
             (52, {owner}, 'Dr. B', 'Oncology', 'oncology', '555', 'b@example.com', 9, 'MD', \
              15000, TRUE, '2026-11-27 10:00:00', '2026-11-27 10:00:00', 1, NULL), \
             (53, {owner}, 'Dr. C', 'Surgery', 'surgery', '555', 'c@example.com', 9, 'MD', \
              15000, TRUE, '2026-11-27 10:00:00', '2026-11-27 10:00:00', 1, NULL); \
             INSERT INTO patient_doctor_mappings (patient_id, doctor_id, assigned_by, \
             assigned_date, notes, is_active, updated_at, removed_at) VALUES \
             ({p0}, 51, {owner}, '2026-11-28 10:00:00', '', TRUE, '2026-11-28 10:00:00', NULL), \
             ({p1}, 51, {owner}, '2026-11-28 10:00:00', '', TRUE, '2026-11-28 10:00:00', NULL), \
             ({p2}, 51, {owner}, '2026-11-28 10:00:00', '', FALSE, '2026-11-29 10:00:00', \
              '2026-11-29 10:00:00'), \
             ({p0}, 52, {owner}, '2026-11-28 10:00:00', '', TRUE, '2026-11-28 10:00:00', NULL), \
             ({p0}, 52, {owner}, '2026-11-27 10:00:00', '', FALSE, '2026-11-27 12:00:00', \
              '2026-11-27 12:00:00'); \
             UPDATE patients SET archived_at = '2026-11-29 10:00:00' WHERE id = {p2};"
        ))
        .expect("the previous release's rows");
    drop(connection);

    migrations::run_pending(&pool).expect("the upgrade");

    let doctors = [DoctorId(51), DoctorId(52), DoctorId(53)];
    assert_directory_totals(&r.doctors, &pool, "after the upgrade");
    assert_clinic_totals(&r.patients, &pool, clinic, "after the upgrade");
    let expected = BTreeMap::from([(51, 2), (52, 1), (53, 0)]);
    assert_eq!(counted_from_the_rows(&pool), expected);
    assert_eq!(reported(&r.doctors, &doctors), expected);
    // The mapping view reads them through migration 17's index, oldest first, ties by id.
    let PatientAssignments {
        assignments: assigned,
        ..
    } = r
        .mappings
        .patient_with_active(PatientId(p0))
        .expect("read")
        .expect("found");
    let shown: Vec<(i64, i64)> = assigned
        .iter()
        .map(|(mapping, doctor)| (mapping.doctor_id.0, doctor.patient_count))
        .collect();
    assert_eq!(shown, vec![(51, 2), (52, 1)]);

    r.mappings
        .insert(
            PatientId(p1),
            DoctorId(53),
            r.owner,
            "",
            at(5),
            &audit(AuditAction::MappingCreate),
        )
        .expect("assigned")
        .expect("both accept it");
    r.patients
        .archive(PatientId(p0), at(6), &audit(AuditAction::PatientDelete))
        .expect("archived");
    let after = BTreeMap::from([(51, 1), (52, 0), (53, 1)]);
    assert_eq!(counted_from_the_rows(&pool), after);
    assert_eq!(reported(&r.doctors, &doctors), after);

    // The API never moves a mapping to another doctor, but the triggers follow one that is
    // moved by hand, and a deleted row.
    let mut connection = checkout(&pool).expect("a connection");
    connection
        .batch_execute(&format!(
            "UPDATE patient_doctor_mappings SET doctor_id = 52 \
             WHERE patient_id = {p1} AND doctor_id = 53 AND is_active"
        ))
        .expect("moved");
    let moved = BTreeMap::from([(51, 1), (52, 1), (53, 0)]);
    assert_eq!(counted_from_the_rows(&pool), moved);
    assert_eq!(reported(&r.doctors, &doctors), moved);
    connection
        .batch_execute(&format!(
            "DELETE FROM patient_doctor_mappings WHERE patient_id = {p1} AND doctor_id = 51"
        ))
        .expect("deleted");
    drop(connection);
    let deleted = BTreeMap::from([(51, 0), (52, 1), (53, 0)]);
    assert_eq!(counted_from_the_rows(&pool), deleted);
    assert_eq!(reported(&r.doctors, &doctors), deleted);

    r.doctors
        .archive(DoctorId(53), at(7), &audit(AuditAction::MappingRemove))
        .expect("archived");
    r.doctors
        .insert(r.other, &doctor_details("Dr. D", "Cardiology", true), at(7))
        .expect("a new doctor");
    assert_directory_totals(&r.doctors, &pool, "after an archive and an insert");
    assert_clinic_totals(&r.patients, &pool, clinic, "after an archive");
    let other_clinic = crate::personal_clinic(&pool, r.other);
    assert_clinic_totals(&r.patients, &pool, other_clinic, "an empty clinic");
}

#[test]
fn on_sqlite_the_previous_releases_mappings_are_counted_by_the_upgrade() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    the_previous_releases_mappings_are_counted_by_the_upgrade(&url);
}

#[test]
fn on_postgres_the_previous_releases_mappings_are_counted_by_the_upgrade() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        the_previous_releases_mappings_are_counted_by_the_upgrade(&url);
    }
}
