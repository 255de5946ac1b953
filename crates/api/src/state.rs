//! What every handler can reach: the use-case services and the HTTP settings.

use std::sync::Arc;

use healthcare_core::services::{
    AuditService, AuthService, ClinicService, DoctorService, MappingService, PatientService,
};

/// What the HTTP layer may ask of the database: readiness and figures for metrics.
pub trait DatabaseProbe: Send + Sync {
    /// `Ok` when a trivial query succeeds.
    fn ping(&self) -> Result<(), healthcare_core::RepoError>;

    /// Pooled connections `(in use, idle)`.
    fn pool_state(&self) -> (u32, u32);

    /// Database failures since start (monotonic).
    fn error_count(&self) -> u64;
}

/// The audit trail's queue, as the metrics report it.
pub trait AuditQueueProbe: Send + Sync {
    /// Events waiting to be written now.
    fn queued(&self) -> u64;

    /// Events written since start (monotonic).
    fn written(&self) -> u64;

    /// Requests refused since start because their event could not be queued (monotonic).
    fn refused(&self) -> u64;
}

/// Shared by every worker; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Accounts and sessions.
    pub auth: AuthService,
    /// Patient records.
    pub patients: PatientService,
    /// The doctor directory.
    pub doctors: DoctorService,
    /// Patient–doctor assignments.
    pub mappings: MappingService,
    /// The caller's clinics.
    pub clinics: Arc<ClinicService>,
    /// The audit trail, for staff.
    pub audit: AuditService,
    /// Readiness check.
    pub database: Arc<dyn DatabaseProbe>,
}
