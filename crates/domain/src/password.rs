//! The password policy: Django's four default validators with Django's messages, plus bcrypt's
//! 72-byte limit (a longer password is refused, never silently truncated).

use crate::common_passwords;
use crate::errors::FieldProblem;

/// Fewest characters a password may have.
pub const MIN_LENGTH: usize = 8;
/// Most bytes bcrypt can use; a longer password is refused.
pub const MAX_BYTES: usize = 72;
/// Django's `UserAttributeSimilarityValidator` threshold.
const MAX_SIMILARITY: f64 = 0.7;

/// A password that passed the policy. It never implements `Debug` output of its value.
pub struct AcceptedPassword(String);

impl AcceptedPassword {
    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AcceptedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcceptedPassword(***)")
    }
}

/// The personal values a password must not resemble: `(attribute name, value)`.
pub type PersonalAttributes<'a> = [(&'a str, &'a str)];

/// Checks `password` against every rule and returns every failed rule, in Django's validator
/// order (similarity, length, common, numeric).
pub fn check_password(
    password: &str,
    personal: &PersonalAttributes<'_>,
) -> Result<AcceptedPassword, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    if let Some(attribute) = too_similar_to(password, personal) {
        problems.push(FieldProblem::PasswordTooSimilar {
            attribute: attribute.to_owned(),
        });
    }
    if password.chars().count() < MIN_LENGTH {
        problems.push(FieldProblem::PasswordTooShort { min: MIN_LENGTH });
    }
    if password.len() > MAX_BYTES {
        problems.push(FieldProblem::PasswordTooLong {
            max_bytes: MAX_BYTES,
        });
    }
    if common_passwords::is_common(password) {
        problems.push(FieldProblem::PasswordTooCommon);
    }
    if !password.is_empty() && password.chars().all(char::is_numeric) {
        problems.push(FieldProblem::PasswordEntirelyNumeric);
    }
    if problems.is_empty() {
        Ok(AcceptedPassword(password.to_owned()))
    } else {
        Err(problems)
    }
}

/// The first attribute the password is too similar to, judged as Django judges it: the
/// lower-cased password against the whole value and each of its parts split on non-word
/// characters, with difflib's `quick_ratio`.
fn too_similar_to<'a>(password: &str, personal: &PersonalAttributes<'a>) -> Option<&'a str> {
    let password = password.to_lowercase();
    personal.iter().find_map(|&(attribute, value)| {
        if value.is_empty() {
            return None;
        }
        let value = value.to_lowercase();
        let mut parts: Vec<&str> = value
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        parts.push(&value);
        parts
            .into_iter()
            .filter(|part| !exceeds_maximum_length_ratio(&password, part))
            .any(|part| quick_ratio(&password, part) >= MAX_SIMILARITY)
            .then_some(attribute)
    })
}

/// Django's shortcut: a value ten times shorter than the password can never reach the
/// threshold, so it is not compared.
fn exceeds_maximum_length_ratio(password: &str, value: &str) -> bool {
    let password_len = password.chars().count();
    let value_len = value.chars().count();
    let length_bound_similarity = MAX_SIMILARITY / 2.0 * password_len as f64;
    password_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// difflib's `SequenceMatcher.quick_ratio`: twice the size of the multiset intersection of the
/// characters over the total length.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut available = std::collections::HashMap::<char, usize>::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let matches = a
        .chars()
        .filter(|c| match available.get_mut(c) {
            Some(count) if *count > 0 => {
                *count -= 1;
                true
            }
            _ => false,
        })
        .count();
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOBODY: &PersonalAttributes<'static> = &[];

    fn messages(password: &str, personal: &PersonalAttributes<'_>) -> Vec<FieldProblem> {
        check_password(password, personal).err().unwrap_or_default()
    }

    #[test]
    fn accepts_a_strong_password() {
        let accepted = check_password("vivid-otter-41-harbour", &[("name", "Ann Lee")]);
        assert_eq!(
            accepted.map(|p| p.expose().to_owned()).ok().as_deref(),
            Some("vivid-otter-41-harbour")
        );
    }

    #[test]
    fn each_failed_rule_gives_its_own_message() {
        assert_eq!(
            messages("1234567", NOBODY),
            vec![
                FieldProblem::PasswordTooShort { min: 8 },
                FieldProblem::PasswordTooCommon,
                FieldProblem::PasswordEntirelyNumeric,
            ]
        );
        assert_eq!(
            messages("password", NOBODY),
            vec![FieldProblem::PasswordTooCommon]
        );
        assert_eq!(
            messages("83920174639", NOBODY),
            vec![FieldProblem::PasswordEntirelyNumeric]
        );
    }

    #[test]
    fn refuses_more_than_72_bytes_instead_of_truncating() {
        let long = "é".repeat(37); // 37 characters, 74 bytes
        assert_eq!(
            messages(&long, NOBODY),
            vec![FieldProblem::PasswordTooLong { max_bytes: 72 }]
        );
        assert!(check_password(&"x9".repeat(36), NOBODY).is_ok());
    }

    #[test]
    fn refuses_passwords_similar_to_the_email_or_its_parts() {
        let personal = [
            ("name", "Zed Quill"),
            ("email", "margarethe.vandenberg@clinic.org"),
        ];
        let similar = |attribute: &str| {
            vec![FieldProblem::PasswordTooSimilar {
                attribute: attribute.to_owned(),
            }]
        };
        assert_eq!(messages("vandenberg", &personal), similar("email"));
        assert_eq!(
            messages("margarethe.vandenberg", &personal),
            similar("email")
        );
        assert_eq!(messages("zedquill99", &personal), similar("name"));
        assert!(check_password("tangerine-lorry-57", &personal).is_ok());
    }

    #[test]
    fn quick_ratio_matches_difflib() {
        // Values computed with Python's difflib.SequenceMatcher(a=..., b=...).quick_ratio().
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((quick_ratio("a", "aaaaaaaaaa") - 2.0 / 11.0).abs() < 1e-9);
        assert_eq!(quick_ratio("", ""), 1.0);
        assert_eq!(quick_ratio("abc", "xyz"), 0.0);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let accepted = check_password("vivid-otter-41-harbour", NOBODY).ok();
        assert!(!format!("{accepted:?}").contains("otter"));
    }
}
