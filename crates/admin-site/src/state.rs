//! What every admin page can reach: the staff services, the record use cases it shares with
//! the JSON API, and its settings.

use std::sync::Arc;

use healthcare_core::services::{
    AuthService, ClinicService, DoctorService, MappingService, PatientService, StaffRecords,
    StaffSignIn,
};

/// Shared by every worker; cheap to clone.
#[derive(Clone)]
pub struct SiteState {
    /// The per-address limit the API's sign-in also counts.
    pub auth: AuthService,
    /// Sign-in with a second factor, and sessions.
    pub staff_sign_in: StaffSignIn,
    /// User administration and the audit chain.
    pub staff: StaffRecords,
    /// Patient records, as platform staff reach them.
    pub patients: PatientService,
    /// The doctor directory.
    pub doctors: DoctorService,
    /// Patient–doctor assignments.
    pub mappings: MappingService,
    /// Clinics and their members.
    pub clinics: Arc<ClinicService>,
    /// Whether the session cookie is marked `Secure` (served over TLS, directly or behind a
    /// proxy).
    pub secure_cookies: bool,
}
