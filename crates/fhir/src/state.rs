//! What the FHIR handlers can reach.

use std::sync::Arc;

use healthcare_core::services::{
    AuthService, ClinicService, DoctorService, MappingService, PatientService,
};

/// The use cases the FHIR adapter serves; cheap to clone.
#[derive(Clone)]
pub struct FhirState {
    /// Access tokens.
    pub auth: AuthService,
    /// Patients.
    pub patients: PatientService,
    /// The doctor directory (Practitioner, PractitionerRole).
    pub doctors: DoctorService,
    /// Assignments (CareTeam).
    pub mappings: MappingService,
    /// Clinics (Organization) and their audit trails (AuditEvent).
    pub clinics: Arc<ClinicService>,
}
