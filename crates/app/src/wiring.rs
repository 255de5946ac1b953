//! Builds the pool, the adapters and the services from the settings.

use std::sync::Arc;

use chrono::SubsecRound;
use healthcare_domain::Timestamp;
use healthcare_domain::audit::AuditEvent;
use healthcare_http::state::DatabaseProbe;
use healthcare_persistence::connection::ping;
use healthcare_persistence::{
    DbPool, DieselAuditRepository, DieselDoctorRepository, DieselMappingRepository,
    DieselPatientRepository, DieselRefreshTokenRepository, DieselThrottleRepository,
    DieselUserRepository, PoolSettings, StatementCounter, build_pool,
};
use healthcare_ports::RepoError;
use healthcare_ports::ports::{AuditRepository, AuditTrail, Clock};
use healthcare_ports::services::{
    AuditService, AuthService, DoctorService, MappingService, PatientService, Throttling,
};

use crate::audit::{AuditWorkers, ReadAuditing};

use crate::security::{BcryptHasher, JwtCodec};
use crate::settings::Settings;

/// The system clock, truncated to the microseconds both databases store.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now().trunc_subsecs(6)
    }
}

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
        },
    )?;
    let reads = if settings.audit_reads {
        ReadAuditing::On
    } else {
        ReadAuditing::Off
    };
    AuditWorkers::start(
        Arc::new(DieselAuditRepository::new(pool)),
        settings.audit_key.key.clone(),
        reads,
    )
    .map_err(|e| RepoError::Internal(format!("cannot start the audit threads: {e}")))
}

/// [`AuditTrail`] that stores each event at once, for the admin CLI (which has no writer
/// thread and exits right after its command).
pub struct ImmediateAuditTrail(pub Arc<dyn AuditRepository>);

impl AuditTrail for ImmediateAuditTrail {
    fn record(&self, event: AuditEvent) {
        if let Err(error) = self.0.append(std::slice::from_ref(&event)) {
            tracing::error!(%error, action = %event.action, "audit row not stored");
        }
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
        PatientService::new(patients.clone(), trail.clone(), clock.clone()),
        DoctorService::new(doctors.clone(), clock.clone()),
        MappingService::new(mappings, patients, doctors, trail.clone(), clock),
    )
}

/// The account and session service over `pool`, recording into `trail`.
pub fn auth_service(settings: &Settings, pool: &DbPool, trail: Arc<dyn AuditTrail>) -> AuthService {
    let hasher = Arc::new(BcryptHasher::new(settings.bcrypt_cost));
    let warming = hasher.clone();
    // Off the start-up path: the dummy hash takes one full bcrypt computation.
    std::thread::spawn(move || {
        warming.warm_up();
        healthcare_domain::preload_common_passwords();
    });
    AuthService::new(
        Arc::new(DieselUserRepository::new(pool.clone())),
        Arc::new(DieselRefreshTokenRepository::new(pool.clone())),
        hasher,
        Arc::new(JwtCodec::new(
            &settings.secret_key.value,
            settings.access_token_lifetime,
            settings.refresh_token_lifetime,
        )),
        trail,
        Arc::new(SystemClock),
        Throttling::new(
            Arc::new(DieselThrottleRepository::new(pool.clone())),
            Arc::new(SystemClock),
            settings.login_throttle,
            settings.auth_rate_limit,
        ),
    )
}
