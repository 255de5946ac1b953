//! Field validation errors, collected so that a request with several bad fields reports all of
//! them at once.

/// The key under which errors that concern no single field are reported.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Validation messages by field name, in the order the fields were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    entries: Vec<(String, Vec<String>)>,
}

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error on one field.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records one more message for `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.entries.iter_mut().find(|(name, _)| name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.entries.push((field.to_owned(), vec![message])),
        }
    }

    /// Keeps the value of a successful parse, or records its message under `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// Appends every error of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.entries {
            for message in messages {
                self.add(&field, message);
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

    /// The errors, field by field.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries
            .iter()
            .map(|(field, messages)| (field.as_str(), messages.as_slice()))
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
    fn groups_messages_by_field_in_first_seen_order() {
        let mut errors = FieldErrors::new();
        errors.add("password", "too short");
        errors.add("email", "invalid");
        errors.add("password", "too common");
        let collected: Vec<_> = errors.iter().collect();
        assert_eq!(
            collected,
            vec![
                (
                    "password",
                    &["too short".to_owned(), "too common".to_owned()][..]
                ),
                ("email", &["invalid".to_owned()][..]),
            ]
        );
    }

    #[test]
    fn check_keeps_values_and_records_failures() {
        let mut errors = FieldErrors::new();
        assert_eq!(errors.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(errors.check::<i32>("b", Err("bad".into())), None);
        assert!(errors.has("b") && !errors.has("a"));
        assert_eq!(
            errors.into_result(|| ()),
            Err(FieldErrors::single("b", "bad"))
        );
    }
}
