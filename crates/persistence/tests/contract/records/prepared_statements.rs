//! The statements behind the benchmark's requests (S1–S5) are cached prepared statements:
//! parsed and planned once per connection, never per request.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use healthcare_core::ports::ClinicRepository;
use healthcare_persistence::DieselClinicRepository;
use healthcare_persistence::connection::{checkout, sqlite_replans_bound_statements};

use super::*;
use healthcare_core::ports::PatientAssignments;

/// Each request's repository calls, twice over (the first time on a connection prepares and
/// caches), on a pool of one connection whose counter records any statement that was not a
/// cached prepared one. An `UPDATE` (Diesel never caches one) shows that the recorder sees
/// them. Returns that pool, whose connection keeps the statements.
fn the_benchmarks_requests_run_only_cached_prepared_statements(url: &str) -> DbPool {
    let pool = &pool_for(url);
    migrations::run_pending(pool).expect("migrations");
    let r = repos(pool);
    let clinic = crate::personal_clinic(pool, r.owner);
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor")
        .doctor
        .id;
    let seeded = r
        .patients
        .insert(
            clinic,
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    r.mappings
        .insert(
            seeded.id,
            doctor,
            r.owner,
            "",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("assigned")
        .expect("both accept it");

    let statements = StatementCounter::recording_uncached();
    let recorded = sized_pool_for(url, 1, statements.clone());
    let users = DieselUserRepository::new(recorded.clone());
    let clinics = DieselClinicRepository::new(recorded.clone());
    let patients = DieselPatientRepository::new(recorded.clone());
    let doctors = DieselDoctorRepository::new(recorded.clone());
    let mappings = DieselMappingRepository::new(recorded.clone());
    for round in 0..2 {
        // Authentication, when the account and membership caches expire.
        users.find_by_id(r.owner).expect("user").expect("found");
        clinics.personal_membership(r.owner).expect("membership");
        clinics.membership(clinic, r.owner).expect("membership");
        // S1: a page of doctors and its count.
        doctors
            .list(&crate::directory_for(pool, r.owner), page(1, 20))
            .expect("S1");
        // S2: one patient.
        patients.find(seeded.id).expect("S2").expect("found");
        // S3: a page of patients and its count.
        patients
            .list(&crate::own_patients(pool, r.owner, None), page(1, 20))
            .expect("S3");
        // S4: a new patient and its audit row.
        patients
            .insert(
                clinic,
                r.owner,
                &patient_details(&format!("New {round}")),
                at(3),
                &audit(AuditAction::PatientCreate),
            )
            .expect("S4");
        // S5: a patient and its active mappings with their doctors.
        let PatientAssignments {
            assignments: assigned,
            ..
        } = mappings
            .patient_with_active(seeded.id)
            .expect("S5")
            .expect("found");
        assert_eq!(assigned.len(), 1);
    }
    assert_eq!(statements.take_uncached(), Vec::<String>::new());

    patients
        .update(
            seeded.id,
            &patient_details("Janet"),
            1,
            at(4),
            &audit(AuditAction::PatientUpdate),
        )
        .expect("updated")
        .expect("at its version");
    let uncached = statements.take_uncached();
    assert!(
        uncached.iter().any(|text| text.starts_with("UPDATE")),
        "the recorder sees an uncached UPDATE: {uncached:?}"
    );
    recorded
}

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

/// A statement the database keeps prepared for a connection, as its catalog shows it.
#[derive(Debug, QueryableByName)]
struct KeptStatement {
    #[diesel(sql_type = Text)]
    statement: String,
    /// Executions (SQLite: all of them; PostgreSQL: those that reused the one plan).
    #[diesel(sql_type = BigInt)]
    runs: i64,
    /// Executions that parsed or planned it again.
    #[diesel(sql_type = BigInt)]
    replans: i64,
}

/// After the benchmark's requests, on the pool's one connection: both pages ran at least twice
/// and no statement was planned again (`catalog` selects `statement`, `runs` and `replans`).
fn assert_planned_once(pool: &DbPool, catalog: &str) {
    let kept = diesel::sql_query(catalog)
        .load::<KeptStatement>(&mut *checkout(pool).expect("the pool's one connection"))
        .expect(catalog);
    let paged = kept
        .iter()
        .filter(|kept| kept.statement.contains("LIMIT") && kept.runs >= 2)
        .count();
    assert!(paged >= 2, "both pages ran twice: {kept:#?}");
    let replanned: Vec<_> = kept.iter().filter(|kept| kept.replans > 0).collect();
    assert!(replanned.is_empty(), "planned again: {replanned:#?}");
}

/// SQLite can plan a cached statement again behind Diesel's back: it re-prepares a statement
/// when a value it was planned with is bound anew (the pages' `LIMIT ?`, S5's `is_active = ?`
/// against the partial index of active pairs), unless it is built with the query planner
/// stability guarantee. Its `sqlite_stmt` table (`SQLITE_ENABLE_STMTVTAB`, also set in
/// `.cargo/config.toml`) counts those re-preparations.
#[test]
fn on_sqlite_the_benchmarks_requests_run_only_cached_prepared_statements() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    let pool = the_benchmarks_requests_run_only_cached_prepared_statements(&url);
    assert!(
        !sqlite_replans_bound_statements(&pool).expect("compile options"),
        "SQLite is built without SQLITE_ENABLE_QPSG: see .cargo/config.toml"
    );
    assert_planned_once(
        &pool,
        "SELECT sql AS statement, run AS runs, reprep AS replans FROM sqlite_stmt",
    );
}

/// PostgreSQL can plan a cached statement per execution too: it compares a generic plan's
/// estimated cost with the custom plans' and keeps planning anew while the generic one looks
/// dearer, which a page's `LIMIT $n` always does.
#[test]
fn on_postgres_the_benchmarks_requests_run_only_cached_prepared_statements() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        let pool = the_benchmarks_requests_run_only_cached_prepared_statements(&url);
        assert!(!sqlite_replans_bound_statements(&pool).expect("a connection"));
        assert_planned_once(
            &pool,
            "SELECT statement, generic_plans AS runs, custom_plans AS replans \
             FROM pg_prepared_statements",
        );
    }
}
