//! What a registration must satisfy: a valid name and e-mail, a password that passes the
//! policy, and a matching confirmation when one is given.

use crate::errors::{FieldProblem, NON_FIELD_ERRORS};
use crate::password::{AcceptedPassword, check_password};
use crate::{Email, FieldErrors, UserName};

/// A registration as submitted. A `None` field is one the transport already reported (missing,
/// null or not a string) in `shape_errors`.
#[derive(Default)]
pub struct RegistrationInput {
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Chosen password.
    pub password: Option<String>,
    /// Optional repetition of the password.
    pub password_confirm: Option<String>,
    /// Errors found while reading the request (missing fields, wrong types).
    pub shape_errors: FieldErrors,
}

/// A registration whose every field is valid.
#[derive(Debug)]
pub struct ValidRegistration {
    /// Display name.
    pub name: UserName,
    /// E-mail address.
    pub email: Email,
    /// The accepted password, still to be hashed.
    pub password: AcceptedPassword,
}

impl RegistrationInput {
    /// Validates every field, reporting every problem at once.
    pub fn validate(self) -> Result<ValidRegistration, FieldErrors> {
        let mut errors = self.shape_errors;
        let name = self
            .name
            .as_deref()
            .and_then(|raw| errors.check("name", UserName::parse(raw)));
        let email = self
            .email
            .as_deref()
            .and_then(|raw| errors.check("email", Email::parse(raw)));
        let password = self.password.as_deref().and_then(|raw| {
            let personal = [
                ("name", self.name.as_deref().unwrap_or_default()),
                ("email", self.email.as_deref().unwrap_or_default()),
            ];
            match check_password(raw, &personal) {
                Ok(accepted) => Some(accepted),
                Err(problems) => {
                    problems.into_iter().for_each(|p| errors.add("password", p));
                    None
                }
            }
        });
        if let (Some(password), Some(confirm)) = (&self.password, &self.password_confirm)
            && password != confirm
        {
            errors.add(NON_FIELD_ERRORS, FieldProblem::PasswordsDiffer);
        }
        match (name, email, password) {
            (Some(name), Some(email), Some(password)) if errors.is_empty() => {
                Ok(ValidRegistration {
                    name,
                    email,
                    password,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str, password: &str) -> RegistrationInput {
        RegistrationInput {
            name: Some(name.into()),
            email: Some(email.into()),
            password: Some(password.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_registration_passes() {
        let valid = input("Ann Lee", "ann@example.com", "vivid-otter-41").validate();
        assert!(
            valid.is_ok_and(
                |v| v.name.as_str() == "Ann Lee" && v.email.as_str() == "ann@example.com"
            )
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut bad = input(" ", "not-an-email", "short");
        bad.password_confirm = Some("other".into());
        bad.shape_errors.add("extra", FieldProblem::NotAString);
        let errors = bad.validate().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            vec!["extra", "name", "email", "password", "non_field_errors"]
        );
    }

    #[test]
    fn missing_fields_reported_by_the_transport_stay_reported() {
        let mut missing = RegistrationInput::default();
        missing.shape_errors.add("name", FieldProblem::Required);
        let errors = missing.validate().expect_err("invalid");
        assert_eq!(errors, FieldErrors::single("name", FieldProblem::Required));
    }

    #[test]
    fn a_matching_confirmation_is_accepted() {
        let mut same = input("Ann Lee", "ann@example.com", "vivid-otter-41");
        same.password_confirm = Some("vivid-otter-41".into());
        assert!(same.validate().is_ok());
    }
}
