//! Builds the pool, the adapters and the services from the settings.

use std::sync::Arc;

use healthcare_core::ports::{AuditRepository, AuditTrail, ClinicRepository, Clock, RandomSource};
use healthcare_core::services::{
    AuditService, AuthPorts, AuthService, ClinicPorts, ClinicService, DoctorService,
    MappingService, PatientPorts, PatientService, StaffRecords, StaffRecordsPorts, StaffSignIn,
    StaffSignInPorts, Throttling,
};
use healthcare_core::{RepoError, ServiceError};
use healthcare_domain::audit::AuditEvent;
use healthcare_json_api::state::DatabaseProbe;
use healthcare_persistence::connection::{SqliteCache, ping};
use healthcare_persistence::{
    CachedClinicRepository, CachedUserRepository, DbPool, DieselAdminSessionRepository,
    DieselAuditRepository, DieselBreakGlassRepository, DieselClinicRepository,
    DieselDoctorRepository, DieselMappingRepository, DieselPatientRepository,
    DieselRefreshTokenRepository, DieselSecondFactorRepository, DieselStaffDirectory,
    DieselThrottleRepository, DieselUserRepository, PoolSettings, StatementCounter, build_pool,
};

use crate::audit::{AuditWorkers, ReadAuditing};
use crate::clock::SystemClock;

use crate::security::{BcryptHasher, JwtCodec};
use crate::settings::Settings;

/// Readiness through the shared pool.
pub struct PoolProbe(pub DbPool);

impl DatabaseProbe for PoolProbe {
    fn ping(&self) -> Result<(), RepoError> {
        ping(&self.0)
    }

    fn pool_state(&self) -> (u32, u32) {
        let state = self.0.state();
        (
            state.connections.saturating_sub(state.idle_connections),
            state.idle_connections,
        )
    }

    fn error_count(&self) -> u64 {
        healthcare_persistence::errors::database_error_count()
    }
}

/// The database pool the settings describe (no connection is made yet); `statements`
/// counts every statement its connections run.
pub fn database_pool(
    settings: &Settings,
    statements: StatementCounter,
) -> Result<DbPool, RepoError> {
    build_pool(
        &settings.database,
        &PoolSettings {
            max_size: settings.database_pool_size,
            checkout_timeout: settings.database_pool_timeout,
            statements,
            audit_key: settings.audit_key.key.clone(),
            revalidate_after_idle: healthcare_persistence::connection::REVALIDATE_AFTER_IDLE,
            sqlite_cache: SqliteCache::Standard,
        },
    )
}

/// Connections of the audit writer and sealer's own pool.
const AUDIT_POOL_SIZE: u32 = 2;

/// Starts the audit trail's writer and sealer on their own small pool.
pub fn audit_workers(settings: &Settings) -> Result<AuditWorkers, RepoError> {
    let pool = build_pool(
        &settings.database,
        &PoolSettings {
            max_size: AUDIT_POOL_SIZE,
            checkout_timeout: settings.database_pool_timeout,
            statements: StatementCounter::default(),
            audit_key: settings.audit_key.key.clone(),
            revalidate_after_idle: healthcare_persistence::connection::REVALIDATE_AFTER_IDLE,
            sqlite_cache: SqliteCache::Small,
        },
    )?;
    let reads = if settings.audit_reads {
        ReadAuditing::On
    } else {
        ReadAuditing::Off
    };
    // A request waits for room in a full audit queue as long as it would for a connection.
    AuditWorkers::start(
        Arc::new(DieselAuditRepository::new(pool)),
        settings.audit_key.key.clone(),
        reads,
        settings.database_pool_timeout,
    )
    .map_err(|e| RepoError::Internal(format!("cannot start the audit threads: {e}")))
}

/// [`AuditTrail`] that stores each event at once, for the console (which has no writer
/// thread and exits right after its command).
pub struct ImmediateAuditTrail(pub Arc<dyn AuditRepository>);

impl AuditTrail for ImmediateAuditTrail {
    fn record(&self, event: AuditEvent) -> Result<(), ServiceError> {
        Ok(self.0.append(std::slice::from_ref(&event))?)
    }
}

/// Reading and verifying the audit trail over `pool`.
pub fn audit_service(pool: &DbPool, trail: Arc<dyn AuditTrail>) -> AuditService {
    AuditService::new(
        Arc::new(DieselAuditRepository::new(pool.clone())),
        trail,
        Arc::new(SystemClock),
    )
}

/// The patient, doctor and mapping services over `pool`, recording into `trail`.
pub fn record_services(
    pool: &DbPool,
    trail: &Arc<dyn AuditTrail>,
) -> (PatientService, DoctorService, MappingService) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let patients = Arc::new(DieselPatientRepository::new(pool.clone()));
    let doctors = Arc::new(DieselDoctorRepository::new(pool.clone()));
    let mappings = Arc::new(DieselMappingRepository::new(pool.clone()));
    (
        PatientService::new(PatientPorts {
            patients: patients.clone(),
            mappings: mappings.clone(),
            users: Arc::new(DieselUserRepository::new(pool.clone())),
            trail: trail.clone(),
            clock: clock.clone(),
            grants: Arc::new(DieselBreakGlassRepository::new(pool.clone())),
        }),
        DoctorService::new(
            doctors.clone(),
            mappings.clone(),
            Arc::new(DieselUserRepository::new(pool.clone())),
            trail.clone(),
            clock.clone(),
        ),
        MappingService::new(mappings, patients, doctors, trail.clone(), clock),
    )
}

/// The bcrypt hasher, warmed up off the start-up path. Build one per process: it bounds how
/// many hashes run at once.
pub fn password_hasher(settings: &Settings) -> Arc<BcryptHasher> {
    let hasher = Arc::new(BcryptHasher::new(settings.bcrypt_cost));
    let warming = hasher.clone();
    // Off the start-up path: the dummy hash takes one full bcrypt computation, by whose end
    // (at the production cost) the workers have built their routes: start-up's freed memory is
    // given back then, and whatever comes later by the periodic release.
    std::thread::spawn(move || {
        warming.warm_up();
        crate::memory::release_freed_memory();
    });
    hasher
}

/// Login and per-address throttling, counted in the database.
fn throttling(settings: &Settings, pool: &DbPool) -> Throttling {
    Throttling::new(
        Arc::new(DieselThrottleRepository::new(pool.clone())),
        Arc::new(SystemClock),
        settings.login_throttle,
        settings.auth_rate_limit,
    )
}

/// The account and session service over `pool`, recording into `trail`.
pub fn auth_service(settings: &Settings, pool: &DbPool, trail: Arc<dyn AuditTrail>) -> AuthService {
    let clinics = clinic_repository(pool);
    auth_service_with(settings, pool, clinics, trail, password_hasher(settings))
}

fn auth_service_with(
    settings: &Settings,
    pool: &DbPool,
    clinics: Arc<dyn ClinicRepository>,
    trail: Arc<dyn AuditTrail>,
    hasher: Arc<BcryptHasher>,
) -> AuthService {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    AuthService::new(
        AuthPorts {
            users: Arc::new(CachedUserRepository::new(
                Arc::new(DieselUserRepository::new(pool.clone())),
                clock.clone(),
            )),
            clinics,
            refresh_tokens: Arc::new(DieselRefreshTokenRepository::new(pool.clone())),
            admin_sessions: Arc::new(DieselAdminSessionRepository::new(pool.clone())),
            factors: Arc::new(DieselSecondFactorRepository::new(pool.clone())),
            hasher,
            tokens: Arc::new(JwtCodec::new(
                &settings.secret_key.value,
                settings.access_token_lifetime,
                settings.refresh_token_lifetime,
            )),
            trail,
            clock,
        },
        throttling(settings, pool),
    )
}

/// The operating system's random generator.
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buffer: &mut [u8]) -> Result<(), ServiceError> {
        getrandom::fill(buffer)
            .map_err(|error| ServiceError::Internal(format!("no random bytes: {error}")))
    }
}

/// The admin site's sign-in service over `pool`.
pub fn staff_sign_in(
    settings: &Settings,
    pool: &DbPool,
    trail: Arc<dyn AuditTrail>,
    hasher: Arc<BcryptHasher>,
) -> StaffSignIn {
    StaffSignIn::new(
        StaffSignInPorts {
            users: Arc::new(DieselUserRepository::new(pool.clone())),
            hasher,
            throttling: throttling(settings, pool),
            factors: Arc::new(DieselSecondFactorRepository::new(pool.clone())),
            sessions: Arc::new(DieselAdminSessionRepository::new(pool.clone())),
            random: Arc::new(OsRandom),
            trail,
            clock: Arc::new(SystemClock),
        },
        settings.admin_sessions,
    )
}

/// Every service the server uses, sharing one hasher.
pub struct Services {
    /// Accounts and API sessions.
    pub auth: AuthService,
    /// Patients.
    pub patients: PatientService,
    /// Doctors.
    pub doctors: DoctorService,
    /// Mappings.
    pub mappings: MappingService,
    /// The caller's clinics.
    pub clinics: Arc<ClinicService>,
    /// The audit trail.
    pub audit: AuditService,
    /// Admin site sign-in.
    pub staff_sign_in: StaffSignIn,
    /// Admin site use cases.
    pub staff: StaffRecords,
}

/// Clinics over `pool`, with memberships cached: every request reads its caller's. Build one
/// per process and share it between the services that read and change memberships, so a
/// change is seen at once by this process (by others within the cache's period).
pub fn clinic_repository(pool: &DbPool) -> Arc<dyn ClinicRepository> {
    Arc::new(CachedClinicRepository::new(
        Arc::new(DieselClinicRepository::new(pool.clone())),
        Arc::new(SystemClock),
    ))
}

/// The clinic use cases over `clinics` (see [`clinic_repository`]), recording into `trail`.
pub fn clinic_service(
    pool: &DbPool,
    clinics: Arc<dyn ClinicRepository>,
    trail: Arc<dyn AuditTrail>,
) -> ClinicService {
    ClinicService::new(ClinicPorts {
        clinics,
        users: Arc::new(DieselUserRepository::new(pool.clone())),
        audit: Arc::new(DieselAuditRepository::new(pool.clone())),
        grants: Arc::new(DieselBreakGlassRepository::new(pool.clone())),
        random: Arc::new(OsRandom),
        trail,
        clock: Arc::new(SystemClock),
    })
}

/// Builds every service over `pool`, recording into `trail`.
pub fn services(settings: &Settings, pool: &DbPool, trail: Arc<dyn AuditTrail>) -> Services {
    let hasher = password_hasher(settings);
    let clinics = clinic_repository(pool);
    let auth = auth_service_with(
        settings,
        pool,
        clinics.clone(),
        trail.clone(),
        hasher.clone(),
    );
    let (patients, doctors, mappings) = record_services(pool, &trail);
    let patients = patients.with_break_glass_minutes(settings.break_glass_minutes.into());
    let audit = audit_service(pool, trail.clone());
    let staff_sign_in = staff_sign_in(settings, pool, trail.clone(), hasher);
    let staff = StaffRecords::new(
        StaffRecordsPorts {
            directory: Arc::new(DieselStaffDirectory::new(pool.clone())),
            users: Arc::new(DieselUserRepository::new(pool.clone())),
            factors: Arc::new(DieselSecondFactorRepository::new(pool.clone())),
        },
        auth.clone(),
        staff_sign_in.clone(),
        audit.clone(),
        settings.audit_key.key.clone(),
    );
    Services {
        auth,
        patients,
        doctors,
        mappings,
        clinics: Arc::new(clinic_service(pool, clinics, trail)),
        audit,
        staff_sign_in,
        staff,
    }
}
