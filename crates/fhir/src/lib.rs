//! `/fhir/R4/`: the records for systems that speak HL7 FHIR R4 (4.0.1). One more inbound
//! adapter over the same use cases as the JSON API: the same access tokens and active clinic,
//! the same role rules, the same audit rows. Read-only in this release.
//!
//! The field-by-field mapping is written down in `docs/FHIR.md`.

mod bundle;
mod caller;
mod capability;
mod errors;
mod handlers;
mod params;
mod resources;
mod state;

pub use handlers::configure_fhir;
pub use state::FhirState;

/// The FHIR media type of every response.
pub const FHIR_JSON: &str = "application/fhir+json";
