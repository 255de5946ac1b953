//! What every handler can reach: the use-case services and the HTTP settings.

use std::sync::Arc;

use healthcare_ports::services::{
    AuditService, AuthService, DoctorService, MappingService, PatientService, StaffRecords,
    StaffSignIn,
};

/// What the HTTP layer may ask of the database: readiness and figures for metrics.
pub trait DatabaseProbe: Send + Sync {
    /// `Ok` when a trivial query succeeds.
    fn ping(&self) -> Result<(), healthcare_ports::RepoError>;

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

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request body may take to arrive, from its first byte to its last.
    pub body_read_timeout: std::time::Duration,
    /// Proxies whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether the admin site's session cookie is marked `Secure` (served over TLS, directly
    /// or behind a proxy).
    pub secure_cookies: bool,
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
    /// The audit trail, for staff.
    pub audit: AuditService,
    /// Admin site sign-in and sessions.
    pub staff_sign_in: StaffSignIn,
    /// Admin site use cases.
    pub staff: StaffRecords,
    /// Readiness check.
    pub database: Arc<dyn DatabaseProbe>,
    /// HTTP settings.
    pub config: ApiConfig,
}
