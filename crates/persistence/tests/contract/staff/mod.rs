//! The staff admin site's storage contract: second factors and recovery codes, admin sessions
//! and the staff directory, every MUST sentence of their ports checked by one set of functions
//! run on SQLite and on PostgreSQL (the same way as `records.rs`).

use std::sync::Barrier;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use healthcare_core::ports::{
    AdminSession, AdminSessionRepository, AuditFilter, AuditRepository, DoctorFilter,
    DoctorRepository, MappingFilter, MappingRepository, PatientFilter, PatientRepository,
    SecondFactor, SecondFactorRepository, StaffDirectory, UserFilter, UserRepository,
};
use healthcare_core::{Page, RepoError};
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::doctor::{DoctorChanges, DoctorDetails, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::{PatientChanges, PatientDetails, PatientId, PatientInput};
use healthcare_domain::staff::TotpSecret;
use healthcare_domain::{Email, FieldErrors, NewUser, Timestamp, UserId, UserName};
use healthcare_persistence::connection::checkout;
use healthcare_persistence::{
    DatabaseTarget, DbConnection, DbPool, DieselAdminSessionRepository, DieselAuditRepository,
    DieselDoctorRepository, DieselMappingRepository, DieselPatientRepository,
    DieselSecondFactorRepository, DieselStaffDirectory, DieselUserRepository, PoolSettings,
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
            // More than the threads of the concurrency tests, so the database (not the pool)
            // is what decides the races.
            max_size: 10,
            checkout_timeout: Duration::from_secs(10),
            statements: statements.clone(),
            audit_key: healthcare_domain::audit::ChainKey::new("contract suite audit key"),
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

contract!(names_are_found_ignoring_case_beyond_ascii,);

fn names_are_found_ignoring_case_beyond_ascii(db: &Database) {
    let r = repos(&db.pool);
    let emile = r.user("Émile Ørsted", "emile@example.com", false);
    r.user("Emile Plain", "plain@example.com", false);
    for term in ["émile", "ÉMILE", "Émile", "ørsted", "ØRSTED"] {
        let found = r
            .directory
            .users(
                &UserFilter {
                    search: Some(term.into()),
                    ..UserFilter::default()
                },
                page(1, 10),
            )
            .expect("listed");
        let ids: Vec<UserId> = found.items.iter().map(|user| user.id).collect();
        assert_eq!(ids, vec![emile], "{term}");
    }
    let doctor = r
        .doctors
        .insert(
            emile,
            &doctor_details("Dr Åsa Öberg", "Ærztliche Allgemeinmedizin"),
            at(1),
        )
        .expect("doctor")
        .doctor
        .id;
    for term in ["åsa", "ÖBERG", "ærztliche"] {
        let found = r
            .doctors
            .list(
                &DoctorFilter {
                    search: Some(term.into()),
                    ..DoctorFilter::default()
                },
                page(1, 10),
            )
            .expect("listed");
        let ids: Vec<_> = found.items.iter().map(|d| d.doctor.id).collect();
        assert_eq!(ids, vec![doctor], "{term}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The sign-in that is shown the enrolment secret.
const SIGN_IN: &str = "hash of the enrolling sign-in";

fn at(second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, second)
        .single()
        .expect("valid")
}

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

fn event(action: AuditAction, second: u32) -> AuditEvent {
    AuditEvent {
        at: at(second),
        actor: Some(UserId(41)),
        action,
        resource_id: Some(7),
        patient_id: None,
        outcome: AuditOutcome::Success,
        origin: RequestOrigin {
            client_address: Some("10.0.0.7".into()),
            request_id: Some(format!("req-{second}")),
        },
        break_glass: false,
    }
}

fn new_user(name: &str, email: &str, staff: bool) -> NewUser {
    NewUser {
        name: UserName::parse(name).expect("valid"),
        email: Email::parse(email).expect("valid"),
        password_hash: "$2b$04$hash".into(),
        is_staff: staff,
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

fn doctor_details(name: &str, specialization: &str) -> DoctorDetails {
    DoctorInput {
        name: text(name),
        specialization: text(specialization),
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

/// A secret whose bytes include zero and high bytes, so the binary round trip is exact.
fn secret(seed: u8) -> TotpSecret {
    TotpSecret::from_bytes(
        (0..20)
            .map(|i| seed.wrapping_mul(31).wrapping_add(i * 13))
            .collect(),
    )
    .expect("long enough")
}

fn hashes(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i:02}")).collect()
}

struct Repos {
    users: DieselUserRepository,
    patients: DieselPatientRepository,
    doctors: DieselDoctorRepository,
    mappings: DieselMappingRepository,
    audit: DieselAuditRepository,
    factors: DieselSecondFactorRepository,
    sessions: DieselAdminSessionRepository,
    directory: DieselStaffDirectory,
}

fn repos(pool: &DbPool) -> Repos {
    Repos {
        users: DieselUserRepository::new(pool.clone()),
        patients: DieselPatientRepository::new(pool.clone()),
        doctors: DieselDoctorRepository::new(pool.clone()),
        mappings: DieselMappingRepository::new(pool.clone()),
        audit: DieselAuditRepository::new(pool.clone()),
        factors: DieselSecondFactorRepository::new(pool.clone()),
        sessions: DieselAdminSessionRepository::new(pool.clone()),
        directory: DieselStaffDirectory::new(pool.clone()),
    }
}

impl Repos {
    fn user(&self, name: &str, email: &str, staff: bool) -> UserId {
        self.users
            .insert(&new_user(name, email, staff))
            .expect("user")
            .id
    }

    fn audit_rows(&self) -> Vec<AuditEvent> {
        self.audit
            .list(&AuditFilter::default(), page(1, 1000))
            .expect("listed")
            .items
            .into_iter()
            .map(|record| record.event)
            .collect()
    }

    /// A user with a confirmed factor (step 100) and recovery codes `code-00`….
    fn enrolled(&self, email: &str, codes: usize) -> UserId {
        let user = self.user("Staff", email, true);
        assert_eq!(
            self.factors
                .start_enrolment(user, &secret(1), SIGN_IN, at(1)),
            Ok(true)
        );
        assert_eq!(
            self.factors.confirm_enrolment(
                user,
                SIGN_IN,
                100,
                &hashes("code", codes),
                at(2),
                &event(AuditAction::UserUpdate, 2)
            ),
            Ok(true)
        );
        user
    }
}

/// A scalar from raw SQL (row counts the ports do not expose).
fn count(pool: &DbPool, sql: &str) -> i64 {
    let mut connection = checkout(pool).expect("a connection");
    diesel::select(diesel::dsl::sql::<BigInt>(&format!("({sql})")))
        .get_result(&mut *connection)
        .expect("counted")
}

/// Makes every insert into `audit_events` fail until the returned statement is run.
fn refuse_audit_inserts(pool: &DbPool) -> &'static str {
    let mut connection = checkout(pool).expect("a connection");
    let (refuse, allow) = match &*connection {
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
    connection.batch_execute(refuse).expect("trigger created");
    allow
}

fn run(pool: &DbPool, sql: &str) {
    checkout(pool)
        .expect("a connection")
        .batch_execute(sql)
        .expect("ran");
}

fn session(token: &str, user: UserId, created: Timestamp, seen: Timestamp) -> AdminSession {
    AdminSession {
        token_hash: token.into(),
        user_id: user,
        csrf_token: format!("csrf-{token}"),
        second_factor_done: false,
        created_at: created,
        last_seen_at: seen,
    }
}

mod directory;
mod second_factors;
mod sessions;
