//! Patients: their fields, who may see them, and what a submitted create or update must satisfy.

use crate::clinic::{ClinicId, ClinicScope};
use crate::errors::{FieldErrors, FieldProblem};
use crate::fields::{
    BoundedText, OptionalEmail, Phone, Submitted, WriteMode, check_field, check_range,
    parse_free_text,
};
use crate::{Timestamp, UserId};

/// A patient's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientId(pub i64);

/// A patient's name: 1–100 characters.
pub type PatientName = BoundedText<100>;

/// An age in whole years, 0–150.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(i16);

impl Age {
    /// Checks the range.
    pub fn parse(value: i64) -> Result<Self, FieldProblem> {
        check_range(value, 0, 150).map(|v| Self(v as i16))
    }

    /// The age.
    pub fn value(self) -> i16 {
        self.0
    }
}

/// Gender, as the original service coded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    /// `"M"`.
    Male,
    /// `"F"`.
    Female,
    /// `"O"`.
    Other,
}

impl Gender {
    /// `"M"`, `"F"` or `"O"`.
    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        match raw {
            "M" => Ok(Self::Male),
            "F" => Ok(Self::Female),
            "O" => Ok(Self::Other),
            other => Err(FieldProblem::InvalidChoice {
                given: other.to_owned(),
            }),
        }
    }

    /// The one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
            Self::Other => "O",
        }
    }
}

/// The editable fields of a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDetails {
    /// Full name.
    pub name: PatientName,
    /// Age in years.
    pub age: Age,
    /// Gender code.
    pub gender: Gender,
    /// Phone, possibly empty.
    pub phone: Phone,
    /// E-mail, possibly empty.
    pub email: OptionalEmail,
    /// Postal address.
    pub address: String,
    /// Free-text medical history.
    pub medical_history: String,
}

/// A stored patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Database id.
    pub id: PatientId,
    /// The user who registered it (`created_by`): in their care team wherever it is.
    pub owner: UserId,
    /// The clinic that holds it.
    pub clinic: ClinicId,
    /// The editable fields.
    pub details: PatientDetails,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Incremented by every change; the basis of the `ETag`.
    pub version: i64,
    /// When it was deleted (archived, kept for retention and audit), if it was.
    pub archived_at: Option<Timestamp>,
}

/// Which patients a list holds, newest first; every filter given must match. What an actor
/// may see narrows it further (`access::patients_visible`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientFilter {
    /// Case-insensitive substring of the name (`%` and `_` literal).
    pub search: Option<String>,
    /// Only the patients this user registered.
    pub owner: Option<UserId>,
    /// Only what a member sees of their clinic.
    pub scope: Option<ClinicScope>,
    /// Only archived, or only live, patients.
    pub archived: Option<bool>,
}

/// A patient as submitted; each field as the transport read it.
#[derive(Debug, Clone, Default)]
pub struct PatientInput {
    /// `name`.
    pub name: Submitted<String>,
    /// `age` (already an integer).
    pub age: Submitted<i64>,
    /// `gender`.
    pub gender: Submitted<String>,
    /// `phone`.
    pub phone: Submitted<String>,
    /// `email`.
    pub email: Submitted<String>,
    /// `address`.
    pub address: Submitted<String>,
    /// `medical_history`.
    pub medical_history: Submitted<String>,
}

/// The validated fields of a write; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientChanges {
    /// New name.
    pub name: Option<PatientName>,
    /// New age.
    pub age: Option<Age>,
    /// New gender.
    pub gender: Option<Gender>,
    /// New phone.
    pub phone: Option<Phone>,
    /// New e-mail.
    pub email: Option<OptionalEmail>,
    /// New address.
    pub address: Option<String>,
    /// New medical history.
    pub medical_history: Option<String>,
}

impl PatientInput {
    /// Validates every field for `mode`, reporting every problem at once; `shape_errors` are
    /// the transport's own findings.
    pub fn validate(
        self,
        mode: WriteMode,
        shape_errors: FieldErrors,
    ) -> Result<PatientChanges, FieldErrors> {
        let mut errors = shape_errors;
        let e = &mut errors;
        let changes = PatientChanges {
            name: check_field(e, "name", self.name, true, mode, PatientName::parse),
            age: check_field(e, "age", self.age, true, mode, Age::parse),
            gender: check_field(e, "gender", self.gender, true, mode, |raw| {
                Gender::parse(&raw)
            }),
            phone: check_field(e, "phone", self.phone, false, mode, Phone::parse_optional),
            email: check_field(e, "email", self.email, false, mode, OptionalEmail::parse),
            address: check_field(e, "address", self.address, false, mode, parse_free_text),
            medical_history: check_field(
                e,
                "medical_history",
                self.medical_history,
                false,
                mode,
                parse_free_text,
            ),
        };
        errors.into_result(|| changes)
    }
}

impl PatientChanges {
    /// The details of a new patient: every required field must be set (guaranteed by
    /// validating in `Create` mode); optional ones default to empty.
    pub fn into_new_details(self) -> Option<PatientDetails> {
        Some(PatientDetails {
            name: self.name?,
            age: self.age?,
            gender: self.gender?,
            phone: self.phone.unwrap_or_default(),
            email: self.email.unwrap_or_default(),
            address: self.address.unwrap_or_default(),
            medical_history: self.medical_history.unwrap_or_default(),
        })
    }

    /// `details` with these changes applied.
    pub fn apply_to(self, details: &PatientDetails) -> PatientDetails {
        PatientDetails {
            name: self.name.unwrap_or_else(|| details.name.clone()),
            age: self.age.unwrap_or(details.age),
            gender: self.gender.unwrap_or(details.gender),
            phone: self.phone.unwrap_or_else(|| details.phone.clone()),
            email: self.email.unwrap_or_else(|| details.email.clone()),
            address: self.address.unwrap_or_else(|| details.address.clone()),
            medical_history: self
                .medical_history
                .unwrap_or_else(|| details.medical_history.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(value: &str) -> Submitted<String> {
        Submitted::Given(value.to_owned())
    }

    fn full_input() -> PatientInput {
        PatientInput {
            name: given(" Jane Roe "),
            age: Submitted::Given(45),
            gender: given("F"),
            phone: given("555-0100"),
            ..Default::default()
        }
    }

    #[test]
    fn create_fills_defaults_and_trims() {
        let details = full_input()
            .validate(WriteMode::Create, FieldErrors::new())
            .expect("valid")
            .into_new_details()
            .expect("complete");
        assert_eq!(details.name.as_str(), "Jane Roe");
        assert_eq!(details.age.value(), 45);
        assert_eq!(details.gender, Gender::Female);
        assert_eq!((details.email.as_str(), details.address.as_str()), ("", ""));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let input = PatientInput {
            name: given(&"x".repeat(101)),
            age: Submitted::Given(151),
            gender: given("Male"),
            phone: given("1234567890123456"),
            email: given("not-an-email"),
            ..Default::default()
        };
        let errors = input
            .validate(WriteMode::Create, FieldErrors::new())
            .expect_err("invalid");
        let collected: Vec<(&str, Vec<FieldProblem>)> =
            errors.iter().map(|(f, p)| (f, p.to_vec())).collect();
        assert_eq!(
            collected,
            vec![
                ("name", vec![FieldProblem::TooLong { max: 100 }]),
                ("age", vec![FieldProblem::TooLarge { max: 150 }]),
                (
                    "gender",
                    vec![FieldProblem::InvalidChoice {
                        given: "Male".into()
                    }]
                ),
                ("phone", vec![FieldProblem::TooLong { max: 15 }]),
                ("email", vec![FieldProblem::InvalidEmail]),
            ]
        );
    }

    #[test]
    fn required_fields_depend_on_the_write_mode() {
        let empty = || PatientInput::default();
        let create = empty()
            .validate(WriteMode::Create, FieldErrors::new())
            .expect_err("invalid");
        let replace = empty()
            .validate(WriteMode::Replace, FieldErrors::new())
            .expect_err("invalid");
        for errors in [create, replace] {
            let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
            assert_eq!(fields, vec!["name", "age", "gender"]);
        }
        assert_eq!(
            empty().validate(WriteMode::Partial, FieldErrors::new()),
            Ok(PatientChanges::default())
        );
        let mut blank = empty();
        blank.name = given("   ");
        let errors = blank
            .validate(WriteMode::Partial, FieldErrors::new())
            .expect_err("invalid");
        assert_eq!(errors, FieldErrors::single("name", FieldProblem::Blank));
    }

    #[test]
    fn changes_apply_only_what_was_given() {
        let details = full_input()
            .validate(WriteMode::Create, FieldErrors::new())
            .ok()
            .and_then(PatientChanges::into_new_details)
            .expect("complete");
        let patch = PatientInput {
            age: Submitted::Given(46),
            ..Default::default()
        }
        .validate(WriteMode::Partial, FieldErrors::new())
        .expect("valid");
        let updated = patch.apply_to(&details);
        assert_eq!(updated.age.value(), 46);
        assert_eq!(updated.name, details.name);
        assert_eq!(updated.phone, details.phone);
    }
}

/// Which patients a search (FHIR's) holds: every criterion given must match; inside one
/// criterion, any of its alternatives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientSearch {
    /// What the caller sees (`access::patients_visible`); live patients only.
    pub visible: PatientFilter,
    /// Only these ids.
    pub ids: Option<Vec<PatientId>>,
    /// Each entry: the name matches one of its alternatives.
    pub names: Vec<Vec<crate::record_search::TextMatch>>,
    /// Only these genders (an empty list matches nothing).
    pub genders: Option<Vec<Gender>>,
    /// The phone or e-mail equals one of these.
    pub telecoms: Option<Vec<String>>,
    /// Last updated within every bound.
    pub updated: Vec<crate::record_search::TimeBound>,
    /// Only patients with an active mapping to one of these doctors (a care team they are in).
    pub assigned_to: Option<Vec<crate::doctor::DoctorId>>,
}

impl PatientSearch {
    /// Whether no criterion narrows what `visible` holds (then its count is the kept one).
    pub fn is_unnarrowed(&self) -> bool {
        self.ids.is_none()
            && self.names.is_empty()
            && self.genders.is_none()
            && self.telecoms.is_none()
            && self.updated.is_empty()
            && self.assigned_to.is_none()
    }

    /// Whether `patient` matches (the rule the databases' queries implement, for in-memory
    /// stores and tests), visibility and `assigned_to` (which needs the mappings) aside.
    pub fn matches(&self, patient: &Patient) -> bool {
        let details = &patient.details;
        self.ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&patient.id))
            && self.names.iter().all(|alternatives| {
                alternatives
                    .iter()
                    .any(|name| name.matches(details.name.as_str()))
            })
            && self
                .genders
                .as_ref()
                .is_none_or(|genders| genders.contains(&details.gender))
            && self.telecoms.as_ref().is_none_or(|values| {
                values.iter().any(|value| {
                    !value.is_empty()
                        && (details.phone.as_str() == value || details.email.as_str() == value)
                })
            })
            && self
                .updated
                .iter()
                .all(|bound| bound.admits(patient.updated_at))
    }
}
