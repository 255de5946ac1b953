//! Use-case services, one per aggregate, serving every inbound adapter. Each takes the
//! [`Caller`] explicitly and holds the real logic: load, ask the domain's access rule, apply
//! the transition, persist.

pub mod audit;
pub mod auth;
pub mod clinics;
pub mod doctors;
pub mod mappings;
pub mod patients;
pub mod staff_records;
pub mod staff_sign_in;
pub mod throttling;
pub mod versioning;

#[cfg(test)]
mod audit_tests;
#[cfg(test)]
mod fake_store;
#[cfg(test)]
mod staff_tests;
#[cfg(test)]
mod tests;

pub use crate::ports::PatientAssignments;
pub use audit::{AuditService, Caller, ChainReport};
pub use auth::{
    AuthPorts, AuthService, Authenticated, LoginInput, PasswordChangeInput, SessionTokens,
};
pub use clinics::{ClinicPorts, ClinicService, InvitationInput};
pub use doctors::{DoctorDetail, DoctorService};
pub use mappings::{AssignmentInput, MappingService};
pub use patients::{PatientDetail, PatientPorts, PatientService};
pub use staff_records::{StaffRecords, StaffRecordsPorts};
pub use staff_sign_in::{ConsoleEnrolment, StaffCaller, StaffSignIn, StaffSignInPorts};
pub use throttling::Throttling;
pub use versioning::IfMatch;
