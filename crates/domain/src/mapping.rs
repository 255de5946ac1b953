//! Patient–doctor mappings: their notes, and removal (a soft delete, done once). Who may
//! assign whom is in the `assignment` module.
//!
//! The soft-delete policy, stated once: deleting a patient or a doctor archives it (the row is
//! kept for retention and audit and becomes invisible to the API) and deactivates its active
//! mappings in the same transaction. A mapping is removed at most once; a removed pair can be
//! assigned again as a new mapping. `is_active` is never written by clients.

use crate::Timestamp;
use crate::clinic::ClinicScope;
use crate::doctor::DoctorId;
use crate::errors::{FieldErrors, FieldProblem};
use crate::fields::{Submitted, WriteMode, check_field, parse_free_text};
use crate::patient::PatientId;

/// A mapping's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MappingId(pub i64);

/// A stored assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Database id.
    pub id: MappingId,
    /// The patient.
    pub patient_id: PatientId,
    /// The doctor.
    pub doctor_id: DoctorId,
    /// When the assignment was made.
    pub assigned_date: Timestamp,
    /// Free-text notes.
    pub notes: String,
    /// False once removed (directly, or by archiving the patient or doctor).
    pub is_active: bool,
}

impl Mapping {
    /// A removed mapping no longer exists for the API: a second removal is "not found".
    pub fn is_removable(&self) -> bool {
        self.is_active
    }
}

/// The field holding a mapping's notes.
pub const NOTES: &str = "notes";

/// A mapping's notes: free text, trimmed like DRF's `CharField`, with no length limit (a
/// `TextField` in the reference API). Only a NUL character is refused: PostgreSQL cannot store
/// one (the JSON API's transport already refuses it, with the same message).
pub fn parse_notes(raw: String) -> Result<String, FieldProblem> {
    if raw.contains('\0') {
        return Err(FieldProblem::NullCharacter);
    }
    parse_free_text(raw)
}

/// Checks submitted notes (optional in every write mode), recording a refusal on `notes`:
/// `Some(notes)` when given and valid.
pub fn check_notes(
    errors: &mut FieldErrors,
    submitted: Submitted<String>,
    mode: WriteMode,
) -> Option<String> {
    check_field(errors, NOTES, submitted, false, mode, parse_notes)
}

/// Which mappings a list holds, newest first; every filter given must match. What an actor may
/// see narrows it further (`access::mappings_visible`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingFilter {
    /// Only mappings of the patients a member sees of their clinic.
    pub scope: Option<ClinicScope>,
    /// Only this patient's mappings.
    pub patient: Option<PatientId>,
    /// Only this doctor's mappings.
    pub doctor: Option<DoctorId>,
    /// Only active, or only ended, mappings.
    pub active: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn notes_are_trimmed_free_text_without_nul_characters() {
        let mut errors = FieldErrors::new();
        let long = "x".repeat(100_000);
        assert_eq!(parse_notes(format!("  {long}\n")), Ok(long));
        assert_eq!(
            check_notes(
                &mut errors,
                Submitted::Given(" ok ".into()),
                WriteMode::Create
            ),
            Some("ok".to_owned())
        );
        assert_eq!(
            check_notes(&mut errors, Submitted::Absent, WriteMode::Replace),
            None
        );
        assert!(errors.is_empty(), "notes are never required");
        assert_eq!(
            check_notes(
                &mut errors,
                Submitted::Given("a\0b".into()),
                WriteMode::Partial
            ),
            None
        );
        assert_eq!(
            errors,
            FieldErrors::single(NOTES, FieldProblem::NullCharacter)
        );
    }

    #[test]
    fn a_mapping_is_removed_once() {
        let mut mapping = Mapping {
            id: MappingId(1),
            patient_id: PatientId(3),
            doctor_id: DoctorId(4),
            assigned_date: at(),
            notes: String::new(),
            is_active: true,
        };
        assert!(mapping.is_removable());
        mapping.is_active = false;
        assert!(!mapping.is_removable());
    }
}
