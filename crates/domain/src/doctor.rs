//! Doctors: a directory every user can read; only a doctor's creator may change it.

use crate::errors::{FieldErrors, FieldProblem};
use crate::fields::{BoundedText, Phone, Submitted, WriteMode, check_field, check_range};
use crate::money::Money;
use crate::user::Email;
use crate::{Timestamp, UserId};

/// A doctor's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DoctorId(pub i64);

/// A doctor's name: 1–100 characters.
pub type DoctorName = BoundedText<100>;
/// A specialization: 1–100 characters.
pub type Specialization = BoundedText<100>;
/// A qualification: 1–200 characters.
pub type Qualification = BoundedText<200>;

/// Years of experience, 0–80.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExperienceYears(i16);

impl ExperienceYears {
    /// Checks the range.
    pub fn parse(value: i64) -> Result<Self, FieldProblem> {
        check_range(value, 0, 80).map(|v| Self(v as i16))
    }

    /// The number of years.
    pub fn value(self) -> i16 {
        self.0
    }
}

/// The editable fields of a doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorDetails {
    /// Full name.
    pub name: DoctorName,
    /// Medical specialization.
    pub specialization: Specialization,
    /// Phone number.
    pub phone: Phone,
    /// E-mail address.
    pub email: Email,
    /// Years of experience.
    pub experience_years: ExperienceYears,
    /// Degrees and certifications.
    pub qualification: Qualification,
    /// Fee per consultation.
    pub consultation_fee: Money,
    /// Whether new patients can be assigned.
    pub is_available: bool,
    /// The account of the clinician this record describes, if its creator linked one: that
    /// account treats every patient mapped to the doctor, in clinics where it is a clinician.
    pub linked_user: Option<UserId>,
}

/// A stored doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doctor {
    /// Database id.
    pub id: DoctorId,
    /// The user who created it: the only one who may change it.
    pub created_by: UserId,
    /// The editable fields.
    pub details: DoctorDetails,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Incremented by every change; the basis of the `ETag`.
    pub version: i64,
    /// When it was deleted (archived), if it was.
    pub archived_at: Option<Timestamp>,
}

impl Doctor {
    /// Only an available, live doctor takes new patients.
    pub fn accepts_assignments(&self) -> bool {
        self.archived_at.is_none() && self.details.is_available
    }
}

/// Which doctors a list holds, by name; every filter given must match. What an actor may see
/// narrows it further (`access::doctors_visible`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorFilter {
    /// Case-insensitive substring of the name or the specialization (`%` and `_` literal).
    pub search: Option<String>,
    /// Case-insensitive substring of the specialization (`%` and `_` literal).
    pub specialization: Option<String>,
    /// Only available, or only unavailable, doctors.
    pub available: Option<bool>,
    /// Only archived, or only live, doctors.
    pub archived: Option<bool>,
}

/// A doctor as submitted; each field as the transport read it.
#[derive(Debug, Clone, Default)]
pub struct DoctorInput {
    /// `name`.
    pub name: Submitted<String>,
    /// `specialization`.
    pub specialization: Submitted<String>,
    /// `phone`.
    pub phone: Submitted<String>,
    /// `email`.
    pub email: Submitted<String>,
    /// `experience_years` (already an integer).
    pub experience_years: Submitted<i64>,
    /// `qualification`.
    pub qualification: Submitted<String>,
    /// `consultation_fee` as decimal text (a JSON number arrives as its text).
    pub consultation_fee: Submitted<String>,
    /// `is_available` (already a boolean).
    pub is_available: Submitted<bool>,
    /// `user`: a linked account's id, or `null` (`None`) for none.
    pub user: Submitted<Option<i64>>,
}

/// The validated fields of a write; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorChanges {
    /// New name.
    pub name: Option<DoctorName>,
    /// New specialization.
    pub specialization: Option<Specialization>,
    /// New phone.
    pub phone: Option<Phone>,
    /// New e-mail.
    pub email: Option<Email>,
    /// New experience.
    pub experience_years: Option<ExperienceYears>,
    /// New qualification.
    pub qualification: Option<Qualification>,
    /// New fee.
    pub consultation_fee: Option<Money>,
    /// New availability.
    pub is_available: Option<bool>,
    /// New linked account (`Some(None)` removes the link). Whether the account exists is
    /// the store's to say: the use case checks it.
    pub linked_user: Option<Option<UserId>>,
}

/// The field linking a doctor record to an account.
pub const LINKED_USER: &str = "user";

/// A linked account's id as submitted: no account has an id below 1.
fn parse_linked_user(raw: Option<i64>) -> Result<Option<UserId>, FieldProblem> {
    match raw {
        Some(id) if id < 1 => Err(FieldProblem::UnknownRecord { given: id }),
        other => Ok(other.map(UserId)),
    }
}

impl DoctorInput {
    /// Validates every field for `mode`, reporting every problem at once.
    pub fn validate(
        self,
        mode: WriteMode,
        shape_errors: FieldErrors,
    ) -> Result<DoctorChanges, FieldErrors> {
        let mut errors = shape_errors;
        let e = &mut errors;
        let changes = DoctorChanges {
            name: check_field(e, "name", self.name, true, mode, DoctorName::parse),
            specialization: check_field(
                e,
                "specialization",
                self.specialization,
                true,
                mode,
                Specialization::parse,
            ),
            phone: check_field(e, "phone", self.phone, true, mode, Phone::parse_required),
            email: check_field(e, "email", self.email, true, mode, Email::parse),
            experience_years: check_field(
                e,
                "experience_years",
                self.experience_years,
                true,
                mode,
                ExperienceYears::parse,
            ),
            qualification: check_field(
                e,
                "qualification",
                self.qualification,
                true,
                mode,
                Qualification::parse,
            ),
            consultation_fee: check_field(
                e,
                "consultation_fee",
                self.consultation_fee,
                true,
                mode,
                |raw| Money::parse(&raw),
            ),
            is_available: check_field(e, "is_available", self.is_available, false, mode, Ok),
            linked_user: check_field(e, LINKED_USER, self.user, false, mode, parse_linked_user),
        };
        errors.into_result(|| changes)
    }
}

impl DoctorChanges {
    /// The details of a new doctor (validated in `Create` mode); available unless stated.
    pub fn into_new_details(self) -> Option<DoctorDetails> {
        Some(DoctorDetails {
            name: self.name?,
            specialization: self.specialization?,
            phone: self.phone?,
            email: self.email?,
            experience_years: self.experience_years?,
            qualification: self.qualification?,
            consultation_fee: self.consultation_fee?,
            is_available: self.is_available.unwrap_or(true),
            linked_user: self.linked_user.flatten(),
        })
    }

    /// `details` with these changes applied.
    pub fn apply_to(self, details: &DoctorDetails) -> DoctorDetails {
        DoctorDetails {
            name: self.name.unwrap_or_else(|| details.name.clone()),
            specialization: self
                .specialization
                .unwrap_or_else(|| details.specialization.clone()),
            phone: self.phone.unwrap_or_else(|| details.phone.clone()),
            email: self.email.unwrap_or_else(|| details.email.clone()),
            experience_years: self.experience_years.unwrap_or(details.experience_years),
            qualification: self
                .qualification
                .unwrap_or_else(|| details.qualification.clone()),
            consultation_fee: self.consultation_fee.unwrap_or(details.consultation_fee),
            is_available: self.is_available.unwrap_or(details.is_available),
            linked_user: self.linked_user.unwrap_or(details.linked_user),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn given(value: &str) -> Submitted<String> {
        Submitted::Given(value.to_owned())
    }

    pub(crate) fn input() -> DoctorInput {
        DoctorInput {
            name: given("Dr. Gregory House"),
            specialization: given("Diagnostics"),
            phone: given("555-0199"),
            email: given("house@ppth.org"),
            experience_years: Submitted::Given(20),
            qualification: given("MD"),
            consultation_fee: given("150.5"),
            is_available: Submitted::Absent,
            user: Submitted::Absent,
        }
    }

    fn doctor(created_by: i64, available: bool, archived: bool) -> Doctor {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid");
        let mut details = input()
            .validate(WriteMode::Create, FieldErrors::new())
            .ok()
            .and_then(DoctorChanges::into_new_details)
            .expect("complete");
        details.is_available = available;
        Doctor {
            id: DoctorId(1),
            created_by: UserId(created_by),
            details,
            created_at: at,
            updated_at: at,
            version: 1,
            archived_at: archived.then_some(at),
        }
    }

    #[test]
    fn a_linked_account_is_optional_set_kept_or_removed() {
        let validate =
            |user, mode| DoctorInput { user, ..input() }.validate(mode, FieldErrors::new());
        let linked = validate(Submitted::Given(Some(5)), WriteMode::Create)
            .ok()
            .and_then(DoctorChanges::into_new_details)
            .expect("complete");
        assert_eq!(linked.linked_user, Some(UserId(5)));
        let kept = validate(Submitted::Absent, WriteMode::Partial).expect("valid");
        assert_eq!(kept.apply_to(&linked).linked_user, Some(UserId(5)));
        let removed = validate(Submitted::Given(None), WriteMode::Partial).expect("valid");
        assert_eq!(removed.apply_to(&linked).linked_user, None);
        assert_eq!(
            validate(Submitted::Given(Some(0)), WriteMode::Create),
            Err(FieldErrors::single(
                LINKED_USER,
                FieldProblem::UnknownRecord { given: 0 }
            ))
        );
    }

    #[test]
    fn create_defaults_to_available() {
        let details = input()
            .validate(WriteMode::Create, FieldErrors::new())
            .ok()
            .and_then(DoctorChanges::into_new_details)
            .expect("complete");
        assert!(details.is_available);
        assert_eq!(details.consultation_fee.to_string(), "150.50");
    }

    #[test]
    fn every_required_field_is_reported() {
        let errors = DoctorInput::default()
            .validate(WriteMode::Create, FieldErrors::new())
            .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "specialization",
                "phone",
                "email",
                "experience_years",
                "qualification",
                "consultation_fee"
            ]
        );
        let bad = DoctorInput {
            experience_years: Submitted::Given(81),
            consultation_fee: given("-5"),
            qualification: given(&"q".repeat(201)),
            ..input()
        };
        let errors = bad
            .validate(WriteMode::Replace, FieldErrors::new())
            .expect_err("invalid");
        assert!(
            errors.has("experience_years")
                && errors.has("consultation_fee")
                && errors.has("qualification")
        );
    }

    #[test]
    fn only_available_live_doctors_take_patients() {
        assert!(doctor(7, true, false).accepts_assignments());
        assert!(!doctor(7, false, false).accepts_assignments());
        assert!(!doctor(7, true, true).accepts_assignments());
    }
}

/// Which doctors a search (FHIR's) holds: every criterion given must match; inside one
/// criterion, any of its alternatives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorSearch {
    /// What the caller sees (`access::doctors_visible`); live doctors only.
    pub visible: DoctorFilter,
    /// Only these ids.
    pub ids: Option<Vec<DoctorId>>,
    /// Each entry: the name matches one of its alternatives.
    pub names: Vec<Vec<crate::record_search::TextMatch>>,
    /// The phone or e-mail equals one of these.
    pub telecoms: Option<Vec<String>>,
}

impl DoctorSearch {
    /// Whether `doctor` matches (the rule the databases' queries implement, for in-memory
    /// stores and tests), visibility aside.
    pub fn matches(&self, doctor: &Doctor) -> bool {
        let details = &doctor.details;
        self.ids.as_ref().is_none_or(|ids| ids.contains(&doctor.id))
            && self.names.iter().all(|alternatives| {
                alternatives
                    .iter()
                    .any(|name| name.matches(details.name.as_str()))
            })
            && self.telecoms.as_ref().is_none_or(|values| {
                values
                    .iter()
                    .any(|value| details.phone.as_str() == value || details.email.as_str() == value)
            })
    }
}
