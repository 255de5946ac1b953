//! The audit storage contract: what the repositories store in the audit trail with each write,
//! the trail's queries, the sealer's chain and the append-only triggers, checked by one set of
//! functions run on SQLite and on PostgreSQL (the same way as `records.rs`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use healthcare_core::ports::{
    AuditFilter, AuditRepository, DoctorRepository, MappingRepository, PatientRepository,
    PendingSeal, SealRound, UserRepository,
};
use healthcare_core::{Page, RepoError};
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainBreak, ChainKey, ChainVerifier,
    DEFAULT_MAX_SKEW_SECONDS, Mac, RequestOrigin, Seal, VerifyPolicy,
};
use healthcare_domain::doctor::{DoctorChanges, DoctorDetails, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::patient::{PatientChanges, PatientDetails, PatientId, PatientInput};
use healthcare_domain::{Email, FieldErrors, NewUser, Timestamp, UserId, UserName};
use healthcare_persistence::connection::{PooledConnection, checkout};
use healthcare_persistence::{
    DatabaseTarget, DbConnection, DbPool, DieselAuditRepository, DieselDoctorRepository,
    DieselMappingRepository, DieselPatientRepository, DieselUserRepository, PoolSettings,
    StatementCounter, build_pool, migrations,
};
use healthcare_test_support::DatabaseGuard;

struct Database {
    pool: DbPool,
    statements: StatementCounter,
    _database: DatabaseGuard,
}

fn open(url: &str, database: DatabaseGuard) -> Database {
    let statements = StatementCounter::default();
    let pool = build_pool(
        &DatabaseTarget::parse(url).expect("valid url"),
        &PoolSettings {
            // More than the threads of the concurrency test, so the database's locks (not the
            // pool) are what serialise the sealers.
            max_size: 10,
            checkout_timeout: Duration::from_secs(10),
            statements: statements.clone(),
            audit_key: key(),
            revalidate_after_idle: healthcare_persistence::connection::REVALIDATE_AFTER_IDLE,
            sqlite_cache: healthcare_persistence::connection::SqliteCache::Standard,
        },
    )
    .expect("pool");
    migrations::run_pending(&pool).expect("migrations");
    Database {
        pool,
        statements,
        _database: database,
    }
}

fn sqlite() -> Option<Database> {
    let (url, folder) = healthcare_test_support::fresh_sqlite_database();
    Some(open(&url, DatabaseGuard::SqliteFolder(folder)))
}

fn postgres() -> Option<Database> {
    let database = healthcare_test_support::fresh_postgres_database()?;
    let url = database.to_string();
    Some(open(&url, DatabaseGuard::Postgres(database)))
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $name() { if let Some(db) = super::sqlite() { super::$name(&db) } } )* }
        mod on_postgres { $( #[test] fn $name() { if let Some(db) = super::postgres() { super::$name(&db) } } )* }
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn at(second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, second)
        .single()
        .expect("valid")
}

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

fn key() -> ChainKey {
    ChainKey::new(*b"0123456789abcdef0123456789abcdef")
}

/// An event with every optional field filled, so round trips check them all.
fn event(action: AuditAction, second: u32) -> AuditEvent {
    AuditEvent {
        at: at(second),
        actor: Some(UserId(41)),
        action,
        resource_id: None,
        patient_id: None,
        outcome: AuditOutcome::Success,
        origin: RequestOrigin {
            client_address: Some("10.0.0.7".into()),
            request_id: Some(format!("req-{}-{second}", action.as_str())),
        },
        break_glass: false,
    }
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        name: UserName::parse("Ann Lee").expect("valid"),
        email: Email::parse(email).expect("valid"),
        password_hash: "$2b$04$hash".into(),
        is_staff: false,
        created_at: at(0),
    }
}

fn text(value: &str) -> Submitted<String> {
    Submitted::Given(value.to_owned())
}

fn patient_details(name: &str) -> PatientDetails {
    PatientInput {
        name: text(name),
        age: Submitted::Given(40),
        gender: text("O"),
        ..Default::default()
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(PatientChanges::into_new_details)
    .expect("complete")
}

fn doctor_details(name: &str) -> DoctorDetails {
    DoctorInput {
        name: text(name),
        specialization: text("Cardiology"),
        phone: text("555"),
        email: text("doc@clinic.org"),
        experience_years: Submitted::Given(5),
        qualification: text("MD"),
        consultation_fee: text("99.5"),
        is_available: Submitted::Given(true),
        user: Submitted::Absent,
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(DoctorChanges::into_new_details)
    .expect("complete")
}

struct Repos {
    users: DieselUserRepository,
    patients: DieselPatientRepository,
    doctors: DieselDoctorRepository,
    mappings: DieselMappingRepository,
    audit: DieselAuditRepository,
    owner: UserId,
}

fn repos(pool: &DbPool) -> Repos {
    let users = DieselUserRepository::new(pool.clone());
    let owner = users
        .insert(&new_user("owner@example.com"))
        .expect("user")
        .id;
    Repos {
        users,
        patients: DieselPatientRepository::new(pool.clone()),
        doctors: DieselDoctorRepository::new(pool.clone()),
        mappings: DieselMappingRepository::new(pool.clone()),
        audit: DieselAuditRepository::new(pool.clone()),
        owner,
    }
}

/// Every stored row, newest first.
fn all_rows(audit: &DieselAuditRepository) -> Vec<AuditRecord> {
    let listed = audit
        .list(&AuditFilter::default(), page(1, 10_000))
        .expect("listed");
    assert_eq!(listed.total as usize, listed.items.len());
    listed.items
}

fn row_count(audit: &DieselAuditRepository) -> usize {
    all_rows(audit).len()
}

/// The newest row (highest id: the writes of one test all happen at distinct times).
fn newest(audit: &DieselAuditRepository) -> AuditRecord {
    all_rows(audit)
        .into_iter()
        .max_by_key(|row| row.id)
        .expect("a row")
}

/// Checks every sealed row from the first, returning how many there are and the head.
fn verify_chain(audit: &DieselAuditRepository, key: &ChainKey) -> Result<(i64, Seal), ChainBreak> {
    let rows = audit.sealed_after(0, 100_000).expect("sealed rows");
    let mut verifier = ChainVerifier::new(key.clone(), policy(audit));
    for row in &rows {
        verifier.check(row, &row.seal.expect("sealed"))?;
    }
    Ok((
        verifier.last_seq(),
        Seal {
            seq: verifier.last_seq(),
            mac: verifier.head(),
        },
    ))
}

fn policy(audit: &DieselAuditRepository) -> VerifyPolicy {
    VerifyPolicy {
        row_seals: audit.row_seals_from().expect("boundary"),
        max_skew_seconds: DEFAULT_MAX_SKEW_SECONDS,
    }
}

/// One sealing round of up to `limit` rows, with nothing refused before.
fn seal(audit: &DieselAuditRepository, key: &ChainKey, limit: u32) -> SealRound {
    audit
        .seal_pending(key, limit, &BTreeSet::new())
        .expect("sealed")
}

fn connection(pool: &DbPool) -> PooledConnection {
    checkout(pool).expect("a connection")
}

mod row_macs;
mod trail;
mod writes;
