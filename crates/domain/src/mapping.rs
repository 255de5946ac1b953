//! Patient–doctor assignments: who may assign whom, and removal (a soft delete, done once).
//!
//! The soft-delete policy, stated once: deleting a patient or a doctor archives it (the row is
//! kept for retention and audit and becomes invisible to the API) and deactivates its active
//! mappings in the same transaction. A mapping is removed at most once; a removed pair can be
//! assigned again as a new mapping. `is_active` is never written by clients.

use crate::doctor::{Doctor, DoctorId};
use crate::errors::{FieldErrors, NON_FIELD_ERRORS};
use crate::fields::{NULL_CHARACTER, Submitted, WriteMode, check_field, parse_free_text};
use crate::patient::{Patient, PatientId};
use crate::{Timestamp, UserId};

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
pub fn parse_notes(raw: String) -> Result<String, String> {
    if raw.contains('\0') {
        return Err(NULL_CHARACTER.to_owned());
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

/// DRF's message for a related id that matches nothing the caller may use.
pub fn invalid_pk(raw: i64) -> String {
    format!("Invalid pk \"{raw}\" - object does not exist.")
}

/// The message for a doctor who takes no new patients.
pub const DOCTOR_NOT_AVAILABLE: &str = "Doctor is not available.";
/// The message for a pair that is already actively assigned.
pub const ALREADY_ASSIGNED: &str = "This doctor is already assigned to this patient.";

/// What an assignment request refers to, as loaded for the caller.
#[derive(Debug)]
pub struct AssignmentRequest<'a> {
    /// Who assigns.
    pub caller: UserId,
    /// The patient id as submitted, and the patient if one exists with it.
    pub patient: (i64, Option<&'a Patient>),
    /// The doctor id as submitted, and the doctor if one exists with it.
    pub doctor: (i64, Option<&'a Doctor>),
}

impl AssignmentRequest<'_> {
    /// The field rules: the patient must be the caller's and not archived (a foreign patient
    /// looks exactly like a missing one); the doctor must exist, not be archived and be
    /// available. Every failing field is reported.
    pub fn check_fields(&self) -> Result<(PatientId, DoctorId), FieldErrors> {
        let mut errors = FieldErrors::new();
        let (patient_ref, patient) = self.patient;
        let patient_id = match patient {
            Some(patient) if patient.is_visible_to(self.caller) => Some(patient.id),
            _ => {
                errors.add("patient", invalid_pk(patient_ref));
                None
            }
        };
        let (doctor_ref, doctor) = self.doctor;
        let doctor_id = match doctor {
            Some(doctor) if doctor.accepts_assignments() => Some(doctor.id),
            Some(doctor) if doctor.is_visible() => {
                errors.add("doctor", DOCTOR_NOT_AVAILABLE);
                None
            }
            _ => {
                errors.add("doctor", invalid_pk(doctor_ref));
                None
            }
        };
        match (patient_id, doctor_id) {
            (Some(patient_id), Some(doctor_id)) => Ok((patient_id, doctor_id)),
            _ => Err(errors),
        }
    }
}

/// The error for a pair that already has an active mapping (checked after the fields, and
/// again by the database's partial unique index when two requests race).
pub fn already_assigned() -> FieldErrors {
    FieldErrors::single(NON_FIELD_ERRORS, ALREADY_ASSIGNED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{DoctorChanges, DoctorInput};
    use crate::fields::{Submitted, WriteMode};
    use crate::patient::{PatientChanges, PatientInput};
    use chrono::{TimeZone, Utc};

    fn at() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid")
    }

    fn patient(owner: i64, archived: bool) -> Patient {
        let details = PatientInput {
            name: Submitted::Given("Jane".into()),
            age: Submitted::Given(30),
            gender: Submitted::Given("F".into()),
            ..Default::default()
        }
        .validate(WriteMode::Create, FieldErrors::new())
        .ok()
        .and_then(PatientChanges::into_new_details)
        .expect("complete");
        Patient {
            id: PatientId(3),
            owner: UserId(owner),
            details,
            created_at: at(),
            updated_at: at(),
            version: 1,
            archived_at: archived.then(at),
        }
    }

    fn doctor(available: bool, archived: bool) -> Doctor {
        let text = |s: &str| Submitted::Given(s.to_owned());
        let mut details = DoctorInput {
            name: text("Dr. Who"),
            specialization: text("Time"),
            phone: text("1"),
            email: text("who@tardis.org"),
            experience_years: Submitted::Given(900 % 80),
            qualification: text("PhD"),
            consultation_fee: text("0"),
            is_available: Submitted::Absent,
        }
        .validate(WriteMode::Create, FieldErrors::new())
        .ok()
        .and_then(DoctorChanges::into_new_details)
        .expect("complete");
        details.is_available = available;
        Doctor {
            id: DoctorId(4),
            created_by: UserId(99),
            details,
            created_at: at(),
            updated_at: at(),
            version: 1,
            archived_at: archived.then(at),
        }
    }

    fn check(
        patient: Option<&Patient>,
        doctor: Option<&Doctor>,
    ) -> Result<(PatientId, DoctorId), FieldErrors> {
        AssignmentRequest {
            caller: UserId(7),
            patient: (3, patient),
            doctor: (4, doctor),
        }
        .check_fields()
    }

    #[test]
    fn the_callers_patient_and_an_available_doctor_can_be_assigned() {
        assert_eq!(
            check(Some(&patient(7, false)), Some(&doctor(true, false))),
            Ok((PatientId(3), DoctorId(4)))
        );
    }

    #[test]
    fn foreign_missing_and_archived_patients_look_alike() {
        let expected = FieldErrors::single("patient", "Invalid pk \"3\" - object does not exist.");
        let available = doctor(true, false);
        for candidate in [Some(patient(8, false)), None, Some(patient(7, true))] {
            assert_eq!(
                check(candidate.as_ref(), Some(&available)),
                Err(expected.clone())
            );
        }
    }

    #[test]
    fn doctors_must_exist_and_be_available() {
        let own = patient(7, false);
        assert_eq!(
            check(Some(&own), Some(&doctor(false, false))),
            Err(FieldErrors::single("doctor", DOCTOR_NOT_AVAILABLE))
        );
        let missing = FieldErrors::single("doctor", "Invalid pk \"4\" - object does not exist.");
        assert_eq!(
            check(Some(&own), Some(&doctor(true, true))),
            Err(missing.clone())
        );
        assert_eq!(check(Some(&own), None), Err(missing));
    }

    #[test]
    fn both_bad_fields_are_reported() {
        let errors = check(None, None).expect_err("invalid");
        assert!(errors.has("patient") && errors.has("doctor"));
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
        assert_eq!(errors, FieldErrors::single(NOTES, NULL_CHARACTER));
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
