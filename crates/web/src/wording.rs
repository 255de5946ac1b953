//! The words for each field problem: DRF's English, as the original service wrote them (clients
//! compare these strings), rendered here once for the JSON API and the admin site.

use healthcare_domain::FieldProblem;

/// DRF's message for `problem`.
pub fn message(problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::Required => "This field is required.".into(),
        FieldProblem::NotNull => "This field may not be null.".into(),
        FieldProblem::Blank => "This field may not be blank.".into(),
        FieldProblem::TooLong { max } => {
            format!("Ensure this field has no more than {max} characters.")
        }
        FieldProblem::TooShort { min } => {
            format!("Ensure this field has at least {min} characters.")
        }
        FieldProblem::NullCharacter => "Null characters are not allowed.".into(),
        FieldProblem::InvalidEmail => "Enter a valid email address.".into(),
        FieldProblem::NotAString => "Not a valid string.".into(),
        FieldProblem::NotAnInteger => "A valid integer is required.".into(),
        FieldProblem::NotAPositiveInteger => "A valid positive integer is required.".into(),
        FieldProblem::NotANumber => "A valid number is required.".into(),
        FieldProblem::NotABoolean => "Must be a valid boolean.".into(),
        FieldProblem::NotADateTime => {
            "Datetime has wrong format. Use RFC 3339, e.g. 2026-11-26T08:00:00Z.".into()
        }
        FieldProblem::TooLarge { max } => {
            format!("Ensure this value is less than or equal to {max}.")
        }
        FieldProblem::TooSmall { min } => {
            format!("Ensure this value is greater than or equal to {min}.")
        }
        FieldProblem::TooManyDigits { max } => {
            format!("Ensure that there are no more than {max} digits in total.")
        }
        FieldProblem::TooManyDecimalPlaces { max } => {
            format!("Ensure that there are no more than {max} decimal places.")
        }
        FieldProblem::TooManyWholeDigits { max } => {
            format!("Ensure that there are no more than {max} digits before the decimal point.")
        }
        FieldProblem::InvalidChoice { given } => format!("\"{given}\" is not a valid choice."),
        FieldProblem::UnknownRecord { given } => {
            format!("Invalid pk \"{given}\" - object does not exist.")
        }
        FieldProblem::NotARecordId { received } => {
            format!("Incorrect type. Expected pk value, received {received}.")
        }
        FieldProblem::DoctorNotAvailable => "Doctor is not available.".into(),
        FieldProblem::AlreadyAssigned => {
            "This doctor is already assigned to this patient.".into()
        }
        FieldProblem::EmailTaken => "A user with this email already exists.".into(),
        FieldProblem::PasswordsDiffer => "Passwords don't match.".into(),
        FieldProblem::WrongOldPassword => {
            "Your old password was entered incorrectly. Please enter it again.".into()
        }
        FieldProblem::PasswordTooShort { min } => {
            format!("This password is too short. It must contain at least {min} characters.")
        }
        FieldProblem::PasswordTooLong { max_bytes } => {
            format!("This password is too long. It must contain at most {max_bytes} bytes.")
        }
        FieldProblem::PasswordTooCommon => "This password is too common.".into(),
        FieldProblem::PasswordEntirelyNumeric => "This password is entirely numeric.".into(),
        FieldProblem::PasswordTooSimilar { attribute } => {
            format!("The password is too similar to the {attribute}.")
        }
        FieldProblem::NoSecondFactor => {
            "This account has no second factor. Set one up on the admin site first.".into()
        }
        FieldProblem::WrongCode => "This code is not valid. Enter the current code from your authenticator app, or an unused recovery code.".into(),
        FieldProblem::NotOnYourself => {
            "You cannot do this to your own account; ask another staff member.".into()
        }
        FieldProblem::InvalidCredentials => "Please enter a correct email and password.".into(),
        FieldProblem::InvalidInvitation => "Invalid or expired invitation.".into(),
        FieldProblem::LastAdmin => "A clinic must keep at least one admin.".into(),
        FieldProblem::PersonalClinicIsPrivate => {
            "A personal clinic has no members but its owner; create a clinic to share.".into()
        }
        FieldProblem::PersonalClinicOwner => {
            "Nobody leaves their personal clinic or stops being its admin.".into()
        }
    }
}

/// Every message of `errors`, field by field, in the order the fields were checked.
pub fn messages(errors: &healthcare_domain::FieldErrors) -> Vec<(&str, Vec<String>)> {
    errors
        .iter()
        .map(|(field, problems)| (field, problems.iter().map(message).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_drf_wrote_them() {
        let cases = [
            (FieldProblem::Required, "This field is required."),
            (
                FieldProblem::TooLong { max: 100 },
                "Ensure this field has no more than 100 characters.",
            ),
            (
                FieldProblem::TooSmall { min: 0 },
                "Ensure this value is greater than or equal to 0.",
            ),
            (
                FieldProblem::InvalidChoice {
                    given: "Male".into(),
                },
                "\"Male\" is not a valid choice.",
            ),
            (
                FieldProblem::UnknownRecord { given: 3 },
                "Invalid pk \"3\" - object does not exist.",
            ),
            (
                FieldProblem::PasswordTooSimilar {
                    attribute: "email".into(),
                },
                "The password is too similar to the email.",
            ),
        ];
        for (problem, expected) in cases {
            assert_eq!(message(&problem), expected, "{problem:?}");
        }
    }
}
