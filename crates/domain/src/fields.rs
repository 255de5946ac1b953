//! Field-level value types shared by patients and doctors, and how a submitted field is
//! checked for each kind of write (create, full replace, partial update).

use crate::errors::{FieldErrors, FieldProblem};
use crate::user::{Email, check_max_chars, parse_bounded_text, trimmed};

/// One field of a submitted record, as the transport read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Submitted<T> {
    /// Not in the request.
    #[default]
    Absent,
    /// Present but unreadable (wrong type, null); the transport already reported it.
    Rejected,
    /// Present and of the right type; still to be validated.
    Given(T),
}

/// What kind of write a submission is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST`: required fields must be present; optional ones take their defaults.
    Create,
    /// `PUT`: required fields must be present; absent optional ones keep their value.
    Replace,
    /// `PATCH`: any subset.
    Partial,
}

impl WriteMode {
    fn requires_required_fields(self) -> bool {
        !matches!(self, Self::Partial)
    }
}

/// Validates one submitted field: `Some(value)` when given and valid, `None` when absent
/// (recording "required" if the mode demands it) or invalid (recording the message).
pub fn check_field<T, V>(
    errors: &mut FieldErrors,
    field: &str,
    submitted: Submitted<T>,
    required: bool,
    mode: WriteMode,
    parse: impl FnOnce(T) -> Result<V, FieldProblem>,
) -> Option<V> {
    match submitted {
        Submitted::Given(raw) => errors.check(field, parse(raw)),
        Submitted::Absent if required && mode.requires_required_fields() => {
            errors.add(field, FieldProblem::Required);
            None
        }
        Submitted::Absent | Submitted::Rejected => None,
    }
}

/// Required text of 1 to `N` characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText<const N: usize>(String);

impl<const N: usize> BoundedText<N> {
    /// Trims and checks the text.
    pub fn parse(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        parse_bounded_text(raw, N).map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A phone number: at most 15 characters, trimmed. The default is the empty number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phone(String);

impl Phone {
    /// Most characters a phone number may have.
    pub const MAX_CHARS: usize = 15;

    /// A phone that may be empty (patients).
    pub fn parse_optional(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        let number = trimmed(raw.into());
        check_max_chars(&number, Self::MAX_CHARS)?;
        Ok(Self(number))
    }

    /// A phone that must not be empty (doctors).
    pub fn parse_required(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        parse_bounded_text(raw, Self::MAX_CHARS).map(Self)
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An e-mail address or the empty string (the default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionalEmail(String);

impl OptionalEmail {
    /// Trims; empty is allowed, anything else must be a valid address.
    pub fn parse(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        let raw = raw.into();
        if raw.trim().is_empty() {
            Ok(Self(String::new()))
        } else {
            Email::parse(raw).map(|email| Self(email.into_string()))
        }
    }

    /// The address, or "".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address or "", owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Free text; trimmed like DRF's `CharField`. No length limit.
pub fn parse_free_text(raw: String) -> Result<String, FieldProblem> {
    Ok(trimmed(raw))
}

/// An integer within `[min, max]`.
pub fn check_range(value: i64, min: i64, max: i64) -> Result<i64, FieldProblem> {
    if value > max {
        Err(FieldProblem::TooLarge { max })
    } else if value < min {
        Err(FieldProblem::TooSmall { min })
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_field_follows_the_write_mode() {
        let mut errors = FieldErrors::new();
        let parse = |raw: &str| BoundedText::<5>::parse(raw);
        assert_eq!(
            check_field(
                &mut errors,
                "a",
                Submitted::Absent,
                true,
                WriteMode::Partial,
                parse
            ),
            None
        );
        assert!(errors.is_empty());
        assert_eq!(
            check_field(
                &mut errors,
                "b",
                Submitted::Absent,
                false,
                WriteMode::Create,
                parse
            ),
            None
        );
        assert!(errors.is_empty());
        assert_eq!(
            check_field(
                &mut errors,
                "c",
                Submitted::Absent,
                true,
                WriteMode::Replace,
                parse
            ),
            None
        );
        assert_eq!(
            check_field(
                &mut errors,
                "d",
                Submitted::Rejected,
                true,
                WriteMode::Create,
                parse
            ),
            None
        );
        assert_eq!(
            check_field(
                &mut errors,
                "e",
                Submitted::Given("toolong"),
                true,
                WriteMode::Partial,
                parse
            ),
            None
        );
        let ok = check_field(
            &mut errors,
            "f",
            Submitted::Given(" ok "),
            true,
            WriteMode::Create,
            parse,
        );
        assert_eq!(ok.map(BoundedText::into_string).as_deref(), Some("ok"));
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["c", "e"]);
    }

    #[test]
    fn phones_and_optional_emails() {
        assert_eq!(
            Phone::parse_optional("").map(|p| p.as_str().to_owned()),
            Ok(String::new())
        );
        assert_eq!(Phone::parse_required(" "), Err(FieldProblem::Blank));
        assert_eq!(
            Phone::parse_optional("1234567890123456"),
            Err(FieldProblem::TooLong { max: 15 })
        );
        assert_eq!(
            OptionalEmail::parse("").map(|e| e.as_str().to_owned()),
            Ok(String::new())
        );
        assert_eq!(
            OptionalEmail::parse("nope"),
            Err(FieldProblem::InvalidEmail)
        );
    }

    #[test]
    fn ranges_name_the_bound_crossed() {
        assert_eq!(
            check_range(151, 0, 150),
            Err(FieldProblem::TooLarge { max: 150 })
        );
        assert_eq!(
            check_range(-1, 0, 150),
            Err(FieldProblem::TooSmall { min: 0 })
        );
        assert_eq!(check_range(150, 0, 150), Ok(150));
    }
}
