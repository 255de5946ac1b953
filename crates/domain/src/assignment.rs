//! Assigning a doctor to a patient: what a request must refer to.

use crate::access::{Access, Actor, CareTie, Operation, assignment_access, doctor_access};
use crate::doctor::{Doctor, DoctorId};
use crate::errors::{FieldErrors, FieldProblem, NON_FIELD_ERRORS};
use crate::patient::{Patient, PatientId};

/// What an assignment request refers to, as loaded for the caller.
#[derive(Debug)]
pub struct AssignmentRequest<'a> {
    /// Who assigns.
    pub actor: Actor,
    /// The patient id as submitted, and the patient if one exists with it.
    pub patient: (i64, Option<&'a Patient>),
    /// The actor's care tie to that patient, as the store found it.
    pub patient_tie: CareTie,
    /// The doctor id as submitted, and the doctor if one exists with it.
    pub doctor: (i64, Option<&'a Doctor>),
}

impl AssignmentRequest<'_> {
    /// The field rules: the actor must be allowed to assign doctors to the patient (a patient
    /// they may not see looks exactly like a missing one); the doctor must be one they see, live and
    /// available. Every failing field is reported.
    pub fn check_fields(&self) -> Result<(PatientId, DoctorId), FieldErrors> {
        let mut errors = FieldErrors::new();
        let (patient_ref, patient) = self.patient;
        let patient_id = match patient {
            Some(patient)
                if assignment_access(&self.actor, patient, self.patient_tie) == Access::Granted =>
            {
                Some(patient.id)
            }
            _ => {
                errors.add(
                    "patient",
                    FieldProblem::UnknownRecord { given: patient_ref },
                );
                None
            }
        };
        let (doctor_ref, doctor) = self.doctor;
        let doctor_id = match doctor {
            Some(doctor) if doctor.accepts_assignments() => Some(doctor.id),
            Some(doctor)
                if doctor_access(&self.actor, doctor, Operation::See) == Access::Granted =>
            {
                errors.add("doctor", FieldProblem::DoctorNotAvailable);
                None
            }
            _ => {
                errors.add("doctor", FieldProblem::UnknownRecord { given: doctor_ref });
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
    FieldErrors::single(NON_FIELD_ERRORS, FieldProblem::AlreadyAssigned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::ClinicMember;
    use crate::clinic::{ClinicId, Role};
    use crate::doctor::{DoctorChanges, DoctorInput};
    use crate::fields::{Submitted, WriteMode};
    use crate::patient::{PatientChanges, PatientInput};
    use crate::{Timestamp, UserId};
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
            clinic: ClinicId(owner),
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
            user: Submitted::Absent,
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
            actor: Actor::Member(ClinicMember {
                user: UserId(7),
                clinic: ClinicId(7),
                role: Role::Admin,
            }),
            patient: (3, patient),
            patient_tie: CareTie::None,
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
        let expected = FieldErrors::single("patient", FieldProblem::UnknownRecord { given: 3 });
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
            Err(FieldErrors::single(
                "doctor",
                FieldProblem::DoctorNotAvailable
            ))
        );
        let missing = FieldErrors::single("doctor", FieldProblem::UnknownRecord { given: 4 });
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
}
