//! Field validation problems, collected so that a request with several bad fields reports all
//! of them at once. The domain says which rule failed; the adapters word it (DRF's English,
//! rendered once in the web adapters' shared module).

/// The key under which errors that concern no single field are reported.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// What is wrong with one submitted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// Missing where required.
    Required,
    /// An explicit `null`.
    NotNull,
    /// Empty, or only spaces, where text is required.
    Blank,
    /// Longer than `max` characters.
    TooLong {
        /// Most characters allowed.
        max: usize,
    },
    /// Shorter than `min` characters.
    TooShort {
        /// Fewest characters allowed.
        min: usize,
    },
    /// Holds a NUL character (PostgreSQL cannot store one).
    NullCharacter,
    /// Not an e-mail address.
    InvalidEmail,
    /// Not text.
    NotAString,
    /// Not a whole number.
    NotAnInteger,
    /// Not a whole number above zero.
    NotAPositiveInteger,
    /// Not a number.
    NotANumber,
    /// Not true or false.
    NotABoolean,
    /// Not a date and time.
    NotADateTime,
    /// Above `max`.
    TooLarge {
        /// The largest value allowed.
        max: i64,
    },
    /// Below `min`.
    TooSmall {
        /// The smallest value allowed.
        min: i64,
    },
    /// More than `max` digits in all.
    TooManyDigits {
        /// Most digits allowed.
        max: usize,
    },
    /// More than `max` digits after the decimal point.
    TooManyDecimalPlaces {
        /// Most decimal places allowed.
        max: usize,
    },
    /// More than `max` digits before the decimal point.
    TooManyWholeDigits {
        /// Most whole digits allowed.
        max: usize,
    },
    /// Not one of the choices.
    InvalidChoice {
        /// What was submitted.
        given: String,
    },
    /// A record id that names nothing the caller may use.
    UnknownRecord {
        /// The id submitted.
        given: i64,
    },
    /// A record reference of the wrong JSON type.
    NotARecordId {
        /// The JSON type received, as Python names it (`str`, `list`, ...).
        received: &'static str,
    },
    /// The doctor takes no new patients.
    DoctorNotAvailable,
    /// The pair already has an active mapping.
    AlreadyAssigned,
    /// Another account has this e-mail address.
    EmailTaken,
    /// The password and its confirmation differ.
    PasswordsDiffer,
    /// The current password given is wrong.
    WrongOldPassword,
    /// Shorter than `min` characters.
    PasswordTooShort {
        /// Fewest characters allowed.
        min: usize,
    },
    /// Longer than bcrypt's `max_bytes`.
    PasswordTooLong {
        /// Most bytes allowed.
        max_bytes: usize,
    },
    /// On the list of common passwords.
    PasswordTooCommon,
    /// Digits only.
    PasswordEntirelyNumeric,
    /// Too much like one of the user's own values.
    PasswordTooSimilar {
        /// Which value (`name`, `email`).
        attribute: String,
    },
    /// No second factor is enrolled.
    NoSecondFactor,
    /// The second-factor code is not valid.
    WrongCode,
    /// Staff may not do this to their own account.
    NotOnYourself,
    /// The e-mail address or the password is wrong.
    InvalidCredentials,
    /// An invitation token that is unknown, spent, expired or for another e-mail address.
    InvalidInvitation,
    /// The change would leave a clinic without an admin.
    LastAdmin,
    /// The owner of a personal clinic stays its admin and member.
    PersonalClinicOwner,
    /// A personal clinic has no member but its owner.
    PersonalClinicIsPrivate,
}

/// Validation problems by field name, in the order the fields were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    entries: Vec<(String, Vec<FieldProblem>)>,
}

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single problem with one field.
    pub fn single(field: &str, problem: FieldProblem) -> Self {
        let mut errors = Self::new();
        errors.add(field, problem);
        errors
    }

    /// Records one more problem with `field`.
    pub fn add(&mut self, field: &str, problem: FieldProblem) {
        match self.entries.iter_mut().find(|(name, _)| name == field) {
            Some((_, problems)) => problems.push(problem),
            None => self.entries.push((field.to_owned(), vec![problem])),
        }
    }

    /// Keeps the value of a successful parse, or records its problem under `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, FieldProblem>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(field, problem);
                None
            }
        }
    }

    /// Appends every problem of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, problems) in other.entries {
            for problem in problems {
                self.add(&field, problem);
            }
        }
    }

    /// Whether `field` already has an error.
    pub fn has(&self, field: &str) -> bool {
        self.entries.iter().any(|(name, _)| name == field)
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The problems, field by field.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[FieldProblem])> {
        self.entries
            .iter()
            .map(|(field, problems)| (field.as_str(), problems.as_slice()))
    }

    /// `Ok(value)` when nothing was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.entries.iter().map(|(name, _)| name.as_str()).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl std::error::Error for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_problems_by_field_in_first_seen_order() {
        let mut errors = FieldErrors::new();
        errors.add("password", FieldProblem::PasswordTooShort { min: 8 });
        errors.add("email", FieldProblem::InvalidEmail);
        errors.add("password", FieldProblem::PasswordTooCommon);
        let collected: Vec<_> = errors.iter().collect();
        assert_eq!(
            collected,
            vec![
                (
                    "password",
                    &[
                        FieldProblem::PasswordTooShort { min: 8 },
                        FieldProblem::PasswordTooCommon
                    ][..]
                ),
                ("email", &[FieldProblem::InvalidEmail][..]),
            ]
        );
    }

    #[test]
    fn check_keeps_values_and_records_failures() {
        let mut errors = FieldErrors::new();
        assert_eq!(errors.check("a", Ok::<_, FieldProblem>(1)), Some(1));
        assert_eq!(errors.check::<i32>("b", Err(FieldProblem::Blank)), None);
        assert!(errors.has("b") && !errors.has("a"));
        assert_eq!(
            errors.into_result(|| ()),
            Err(FieldErrors::single("b", FieldProblem::Blank))
        );
    }
}
