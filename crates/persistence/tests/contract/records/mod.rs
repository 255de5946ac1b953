//! Users, refresh tokens, throttling, patients, doctors and mappings: what their ports say an
//! adapter MUST do.

use std::time::Duration;

use chrono::{SubsecRound, TimeZone, Utc};
use healthcare_core::RepoError;
use healthcare_core::ports::{RefreshTokenRepository, UserRepository};
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::tokens::RefreshTokenRecord;
use healthcare_domain::{Email, NewUser, Timestamp, UserId, UserName};
use healthcare_persistence::{
    DatabaseTarget, DbPool, DieselDoctorRepository, DieselMappingRepository,
    DieselPatientRepository, DieselRefreshTokenRepository, DieselThrottleRepository,
    DieselUserRepository, PoolSettings, StatementCounter, build_pool, migrations,
};
use healthcare_test_support::DatabaseGuard;

struct Database {
    pool: DbPool,
    _database: DatabaseGuard,
}

fn pool_for(url: &str) -> DbPool {
    counted_pool_for(url, StatementCounter::default())
}

fn counted_pool_for(url: &str, statements: StatementCounter) -> DbPool {
    sized_pool_for(url, 4, statements)
}

fn sized_pool_for(url: &str, max_size: u32, statements: StatementCounter) -> DbPool {
    let target = DatabaseTarget::parse(url).expect("valid url");
    build_pool(
        &target,
        &PoolSettings {
            max_size,
            checkout_timeout: Duration::from_secs(5),
            statements,
            audit_key: healthcare_domain::audit::ChainKey::new("contract suite audit key"),
            revalidate_after_idle: healthcare_persistence::connection::REVALIDATE_AFTER_IDLE,
            sqlite_cache: healthcare_persistence::connection::SqliteCache::Standard,
        },
    )
    .expect("pool")
}

fn sqlite() -> Option<Database> {
    let (url, folder) = healthcare_test_support::fresh_sqlite_database();
    let pool = pool_for(&url);
    migrations::run_pending(&pool).expect("migrations");
    Some(Database {
        pool,
        _database: DatabaseGuard::SqliteFolder(folder),
    })
}

fn postgres() -> Option<Database> {
    let database = healthcare_test_support::fresh_postgres_database()?;
    let pool = pool_for(&database);
    migrations::run_pending(&pool).expect("migrations");
    Some(Database {
        pool,
        _database: DatabaseGuard::Postgres(database),
    })
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $name() { if let Some(db) = super::sqlite() { super::$name(&db.pool) } } )* }
        mod on_postgres { $( #[test] fn $name() { if let Some(db) = super::postgres() { super::$name(&db.pool) } } )* }
    };
}

fn at(second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, second)
        .single()
        .expect("valid")
}

/// A sample audit event for the writes that now store one in their transaction.
fn audit(action: AuditAction) -> AuditEvent {
    AuditEvent {
        at: at(0),
        actor: None,
        action,
        resource_id: None,
        patient_id: None,
        outcome: AuditOutcome::Success,
        origin: RequestOrigin::default(),
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

mod fixtures {
    //! Fixtures for the patient, doctor and mapping contracts.

    use super::*;
    use healthcare_domain::FieldErrors;
    use healthcare_domain::doctor::{DoctorChanges, DoctorDetails, DoctorInput};
    use healthcare_domain::fields::{Submitted, WriteMode};
    use healthcare_domain::patient::{PatientChanges, PatientDetails, PatientInput};

    pub fn text(value: &str) -> Submitted<String> {
        Submitted::Given(value.to_owned())
    }

    pub fn patient_details(name: &str) -> PatientDetails {
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

    pub fn doctor_details(name: &str, specialization: &str, available: bool) -> DoctorDetails {
        DoctorInput {
            name: text(name),
            specialization: text(specialization),
            phone: text("555"),
            email: text("doc@clinic.org"),
            experience_years: Submitted::Given(5),
            qualification: text("MD"),
            consultation_fee: text("99.5"),
            is_available: Submitted::Given(available),
            user: Submitted::Absent,
        }
        .validate(WriteMode::Create, FieldErrors::new())
        .ok()
        .and_then(DoctorChanges::into_new_details)
        .expect("complete")
    }

    pub struct Repos {
        pub patients: DieselPatientRepository,
        pub doctors: DieselDoctorRepository,
        pub mappings: DieselMappingRepository,
        pub owner: UserId,
        pub other: UserId,
    }

    pub fn repos(pool: &DbPool) -> Repos {
        let users = DieselUserRepository::new(pool.clone());
        let owner = users
            .insert(&new_user("owner@example.com"))
            .expect("user")
            .id;
        let other = users
            .insert(&new_user("other@example.com"))
            .expect("user")
            .id;
        Repos {
            patients: DieselPatientRepository::new(pool.clone()),
            doctors: DieselDoctorRepository::new(pool.clone()),
            mappings: DieselMappingRepository::new(pool.clone()),
            owner,
            other,
        }
    }
}

use fixtures::{doctor_details, patient_details, repos};
use healthcare_core::Page;
use healthcare_core::ports::{
    DoctorFilter, DoctorRepository, MappingFilter, MappingRepository, PatientRepository,
};
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::PatientId;

mod accounts;
mod break_glass;
mod clinics;
mod connections;
mod patient_counts;
mod patient_ids;
mod patients_doctors_mappings;
mod prepared_statements;
mod record_history;
mod throttle;
mod visibility;
