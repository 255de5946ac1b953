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

/// A statement SQLite keeps prepared on a connection (its `sqlite_stmt` table).
#[derive(Debug, QueryableByName)]
struct KeptStatement {
    #[diesel(sql_type = Text)]
    sql: String,
    /// How many times SQLite parsed and planned it again.
    #[diesel(sql_type = BigInt)]
    reprep: i64,
    /// How many times it ran.
    #[diesel(sql_type = BigInt)]
    run: i64,
}

/// SQLite can plan a cached statement again behind Diesel's back: it re-prepares a statement
/// when a value it was planned with is bound anew (the pages' `LIMIT ?`, S5's `is_active = ?`
/// against the partial index of active pairs), unless it is built with the query planner
/// stability guarantee. Its `sqlite_stmt` table counts those re-preparations.
#[test]
fn on_sqlite_the_benchmarks_requests_run_only_cached_prepared_statements() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    let pool = the_benchmarks_requests_run_only_cached_prepared_statements(&url);
    assert!(
        !sqlite_replans_bound_statements(&pool).expect("compile options"),
        "SQLite is built without SQLITE_ENABLE_QPSG: see .cargo/config.toml"
    );
    let kept = diesel::sql_query("SELECT sql, reprep, run FROM sqlite_stmt")
        .load::<KeptStatement>(&mut *checkout(&pool).expect("the pool's one connection"))
        .expect("sqlite_stmt (SQLITE_ENABLE_STMTVTAB, see .cargo/config.toml)");
    let paged = kept
        .iter()
        .filter(|statement| statement.sql.contains("LIMIT") && statement.run >= 2)
        .count();
    assert!(
        paged >= 2,
        "both pages ran twice on the connection: {kept:#?}"
    );
    let replanned: Vec<_> = kept
        .iter()
        .filter(|statement| statement.reprep > 0)
        .collect();
    assert!(replanned.is_empty(), "prepared again: {replanned:#?}");
}

/// A statement PostgreSQL keeps prepared for a session (`pg_prepared_statements`).
#[derive(Debug, QueryableByName)]
struct PreparedOnTheServer {
    #[diesel(sql_type = Text)]
    statement: String,
    /// Executions that reused the statement's one plan.
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
    /// Executions planned anew for their bound values.
    #[diesel(sql_type = BigInt)]
    custom_plans: i64,
}

/// PostgreSQL can plan a cached statement per execution too: it compares a generic plan's
/// estimated cost with the custom plans' and keeps planning anew while the generic one looks
/// dearer, which a page's `LIMIT $n` always does.
#[test]
fn on_postgres_the_benchmarks_requests_run_only_cached_prepared_statements() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        let pool = the_benchmarks_requests_run_only_cached_prepared_statements(&url);
        assert!(!sqlite_replans_bound_statements(&pool).expect("a connection"));
        let kept = diesel::sql_query(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements",
        )
        .load::<PreparedOnTheServer>(&mut *checkout(&pool).expect("the pool's one connection"))
        .expect("pg_prepared_statements");
        let paged = kept
            .iter()
            .filter(|prepared| prepared.statement.contains("LIMIT") && prepared.generic_plans >= 2)
            .count();
        assert!(
            paged >= 2,
            "both pages ran twice on the connection: {kept:#?}"
        );
        let replanned: Vec<_> = kept
            .iter()
            .filter(|prepared| prepared.custom_plans > 0)
            .collect();
        assert!(
            replanned.is_empty(),
            "planned per execution: {replanned:#?}"
        );
    }
}
