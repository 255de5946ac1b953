//! Break-glass: a clinician who must treat a patient of their clinic outside their care team
//! opens a time-limited grant, with a reason; the grant is an audit event, every access under
//! it is marked, and the clinic's admins and auditors read the log of grants.

use crate::access::{Access, Actor, CareTie, Operation, patient_access};
use crate::clinic::{ClinicId, Role};
use crate::errors::FieldProblem;
use crate::patient::{Patient, PatientId};
use crate::user::check_max_chars;
use crate::{Timestamp, UserId};

/// How long a grant lasts unless configured (`BREAK_GLASS_MINUTES`).
pub const DEFAULT_MINUTES: i64 = 60;

/// Why the glass is broken: 10 to 1000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassReason(String);

impl BreakGlassReason {
    /// Fewest characters a reason may have.
    pub const MIN_CHARS: usize = 10;
    /// Most characters a reason may have.
    pub const MAX_CHARS: usize = 1000;

    /// Trims and checks a reason.
    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldProblem::Blank);
        }
        if trimmed.contains('\0') {
            return Err(FieldProblem::NullCharacter);
        }
        if trimmed.chars().count() < Self::MIN_CHARS {
            return Err(FieldProblem::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        check_max_chars(trimmed, Self::MAX_CHARS)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A grant about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// The patient's clinic.
    pub clinic: ClinicId,
    /// The patient.
    pub patient: PatientId,
    /// The clinician.
    pub user: UserId,
    /// Why.
    pub reason: BreakGlassReason,
    /// When it was opened.
    pub granted_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its id.
    pub id: i64,
    /// The patient's clinic.
    pub clinic: ClinicId,
    /// The patient.
    pub patient: PatientId,
    /// The clinician.
    pub user: UserId,
    /// Why.
    pub reason: String,
    /// When it was opened.
    pub granted_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// What a request to break the glass on a patient gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakGlass {
    /// A clinician of the patient's clinic, outside its care team: grant it.
    Allowed,
    /// The caller already sees the patient (409).
    AlreadyVisible,
    /// Anything else: another clinic's patient, an archived one, a role that never treats
    /// (answered as missing, recorded as a denial).
    Hidden,
}

/// Whether `actor` may break the glass on `patient`, given their care tie to it.
pub fn break_glass_access(actor: &Actor, patient: &Patient, tie: CareTie) -> BreakGlass {
    let Actor::Member(member) = actor else {
        return BreakGlass::Hidden;
    };
    let live_here = member.clinic == patient.clinic && patient.archived_at.is_none();
    if !live_here {
        BreakGlass::Hidden
    } else if patient_access(actor, patient, tie, Operation::See) == Access::Granted {
        BreakGlass::AlreadyVisible
    } else if member.role == Role::Clinician {
        BreakGlass::Allowed
    } else {
        BreakGlass::Hidden
    }
}

/// Whether assigning `doctor` to `patient` would let `actor` keep seeing the patient after
/// their grant ends: under a grant (and nothing else), a clinician may not map the patient to
/// a doctor record linked to their own account (answered 403: the patient is visible to them).
pub fn assignment_outlasts_grant(
    actor: &Actor,
    patient: &Patient,
    tie: CareTie,
    doctor: &crate::doctor::Doctor,
) -> bool {
    match actor {
        Actor::Member(member) => {
            tie == CareTie::BreakGlass
                && patient.owner != member.user
                && doctor.details.linked_user == Some(member.user)
        }
        Actor::PlatformStaff(_) | Actor::Operator => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::ClinicMember;
    use crate::errors::FieldErrors;
    use crate::fields::{Submitted, WriteMode};
    use crate::patient::{PatientChanges, PatientInput};
    use chrono::{TimeZone, Utc};

    fn at() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0)
            .single()
            .expect("valid")
    }

    fn patient(archived: bool) -> Patient {
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
            owner: UserId(1),
            clinic: ClinicId(5),
            details,
            created_at: at(),
            updated_at: at(),
            version: 1,
            archived_at: archived.then(at),
        }
    }

    fn member(clinic: i64, role: Role) -> Actor {
        Actor::Member(ClinicMember {
            user: UserId(9),
            clinic: ClinicId(clinic),
            role,
        })
    }

    #[test]
    fn only_a_clinician_outside_the_care_team_of_a_live_patient_of_their_clinic_breaks_the_glass() {
        use BreakGlass::*;
        let live = patient(false);
        let table = [
            (member(5, Role::Clinician), CareTie::None, &live, Allowed),
            (
                member(5, Role::Clinician),
                CareTie::Treating,
                &live,
                AlreadyVisible,
            ),
            (
                member(5, Role::Clinician),
                CareTie::BreakGlass,
                &live,
                AlreadyVisible,
            ),
            (member(5, Role::Admin), CareTie::None, &live, AlreadyVisible),
            (
                member(5, Role::FrontDesk),
                CareTie::None,
                &live,
                AlreadyVisible,
            ),
            (member(5, Role::Auditor), CareTie::None, &live, Hidden),
            (member(6, Role::Clinician), CareTie::None, &live, Hidden),
            (
                member(5, Role::Clinician),
                CareTie::None,
                &patient(true),
                Hidden,
            ),
            (Actor::Operator, CareTie::None, &live, Hidden),
        ];
        for (actor, tie, patient, expected) in table {
            assert_eq!(
                break_glass_access(&actor, patient, tie),
                expected,
                "{actor:?} {tie:?}"
            );
        }
    }

    #[test]
    fn a_grant_cannot_become_a_lasting_tie_through_the_clinicians_own_doctor() {
        use crate::doctor::{DoctorChanges, DoctorId, DoctorInput};
        let text = |s: &str| Submitted::Given(s.to_owned());
        let doctor = |linked: Option<i64>| {
            let mut details = DoctorInput {
                name: text("Dr. Nine"),
                specialization: text("ER"),
                phone: text("1"),
                email: text("nine@example.com"),
                experience_years: Submitted::Given(3),
                qualification: text("MD"),
                consultation_fee: text("0"),
                ..Default::default()
            }
            .validate(WriteMode::Create, FieldErrors::new())
            .ok()
            .and_then(DoctorChanges::into_new_details)
            .expect("complete");
            details.linked_user = linked.map(UserId);
            crate::doctor::Doctor {
                id: DoctorId(4),
                created_by: UserId(9),
                details,
                created_at: at(),
                updated_at: at(),
                version: 1,
                archived_at: None,
            }
        };
        let clinician = member(5, Role::Clinician);
        let live = patient(false);
        assert!(assignment_outlasts_grant(
            &clinician,
            &live,
            CareTie::BreakGlass,
            &doctor(Some(9))
        ));
        for (tie, linked) in [
            (CareTie::Treating, Some(9)),
            (CareTie::BreakGlass, Some(8)),
            (CareTie::BreakGlass, None),
        ] {
            assert!(!assignment_outlasts_grant(
                &clinician,
                &live,
                tie,
                &doctor(linked)
            ));
        }
        assert!(!assignment_outlasts_grant(
            &Actor::Operator,
            &live,
            CareTie::BreakGlass,
            &doctor(Some(9))
        ));
    }

    #[test]
    fn a_reason_says_something() {
        assert_eq!(
            BreakGlassReason::parse("  Unconscious in the ER ").map(|r| r.0),
            Ok("Unconscious in the ER".into())
        );
        assert_eq!(
            BreakGlassReason::parse(" too short "),
            Err(FieldProblem::TooShort { min: 10 })
        );
        assert_eq!(BreakGlassReason::parse("   "), Err(FieldProblem::Blank));
        assert_eq!(
            BreakGlassReason::parse(&"x".repeat(1001)),
            Err(FieldProblem::TooLong { max: 1000 })
        );
        assert_eq!(
            BreakGlassReason::parse("ten chars \0 and a nul"),
            Err(FieldProblem::NullCharacter)
        );
    }
}
