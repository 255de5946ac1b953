//! Users: identity, the value types of their fields, and the text rules shared by other
//! entities (bounded names, e-mail addresses).

use crate::Timestamp;
use crate::errors::FieldProblem;

/// A user's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A required text of 1 to `max` characters after trimming; the trimmed text is kept.
pub fn parse_bounded_text(raw: impl Into<String>, max: usize) -> Result<String, FieldProblem> {
    let text = trimmed(raw.into());
    if text.is_empty() {
        return Err(FieldProblem::Blank);
    }
    check_max_chars(&text, max)?;
    Ok(text)
}

/// `text` without leading and trailing whitespace. Keeps its buffer when there is none to
/// take off, as in every value read back from the database.
pub(crate) fn trimmed(text: String) -> String {
    if text.trim().len() == text.len() {
        text
    } else {
        text.trim().to_owned()
    }
}

/// Refuses a text longer than `max` characters.
pub fn check_max_chars(text: &str, max: usize) -> Result<(), FieldProblem> {
    if text.chars().count() > max {
        Err(FieldProblem::TooLong { max })
    } else {
        Ok(())
    }
}

/// A user's display name: 1–150 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    /// Most characters a name may have.
    pub const MAX_CHARS: usize = 150;

    /// Trims and checks the name.
    pub fn parse(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        parse_bounded_text(raw, Self::MAX_CHARS).map(Self)
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A syntactically valid e-mail address, trimmed, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Most characters an address may have (RFC 5321's path limit).
    pub const MAX_CHARS: usize = 254;
    /// Trims and checks the address.
    pub fn parse(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        let address = parse_bounded_text(raw, Self::MAX_CHARS)?;
        if is_valid_email(&address) {
            Ok(Self(address))
        } else {
            Err(FieldProblem::InvalidEmail)
        }
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The address lower-cased (Unicode-aware): the key for case-insensitive uniqueness.
    pub fn normalized(&self) -> String {
        normalize_email(&self.0)
    }
}

/// The lower-cased form under which addresses are compared and looked up.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Django's `EmailValidator` without its IP-literal domains, and with the characters from U+00A1
/// to U+FFFF that Django allows in domains allowed in the local part too (addresses such as
/// `jürgen@müller.de` were accepted before): a local part of dot-separated atoms; a domain of
/// at least two labels (letters, digits, those characters, hyphens inside), the last one letters
/// only or an IDNA `xn--` label. The API's OpenAPI document states the same rule as a pattern.
fn is_valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    is_valid_local_part(local) && is_valid_domain(domain)
}

fn is_valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || is_wide_character(c) || SPECIALS.contains(c))
    })
}

/// A character Django's domain pattern takes besides ASCII letters and digits.
fn is_wide_character(c: char) -> bool {
    ('\u{a1}'..='\u{ffff}').contains(&c)
}

fn is_valid_domain(domain: &str) -> bool {
    let Some((labels, top_level)) = domain.rsplit_once('.') else {
        return false;
    };
    labels.split('.').all(is_valid_label) && is_valid_top_level(top_level)
}

fn is_valid_label(label: &str) -> bool {
    let edge = |c: char| c.is_ascii_alphanumeric() || is_wide_character(c);
    (1..=63).contains(&label.chars().count())
        && label.starts_with(edge)
        && label.ends_with(edge)
        && label.chars().all(|c| edge(c) || c == '-')
}

fn is_valid_top_level(label: &str) -> bool {
    let letters = (2..=63).contains(&label.chars().count())
        && label
            .chars()
            .all(|c| c.is_ascii_alphabetic() || is_wide_character(c));
    let idna = label.strip_prefix("xn--").is_some_and(|rest| {
        (1..=59).contains(&rest.len())
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    letters || idna
}

/// A registered user, as the rest of the system sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// E-mail address as registered.
    pub email: String,
    /// Whether the user may sign in and use tokens.
    pub is_active: bool,
    /// Whether the user may use the staff tools.
    pub is_staff: bool,
    /// When the user registered.
    pub created_at: Timestamp,
    /// Access tokens issued before this are refused: set when the user signs out, changes
    /// their password, or a replayed refresh token reveals a theft.
    pub tokens_valid_after: Option<Timestamp>,
}

impl User {
    /// Whether an access token issued at `issued_at` (to the microsecond, as our tokens carry
    /// it and the clock reads it) still works: the account is active and the token was not
    /// issued before the last sign-out, password change or theft.
    pub fn accepts_token_issued_at(&self, issued_at: Timestamp) -> bool {
        self.is_active
            && self
                .tokens_valid_after
                .is_none_or(|after| issued_at >= after)
    }
}

/// A user about to be stored: validated fields and the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Display name.
    pub name: UserName,
    /// E-mail address.
    pub email: Email,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// Whether the user gets staff rights.
    pub is_staff: bool,
    /// Registration time.
    pub created_at: Timestamp,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("is_staff", &self.is_staff)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_a_clean_text_in_place() {
        let clean = String::from("Ann Lee");
        let buffer = clean.as_ptr();
        let kept = trimmed(clean);
        assert_eq!((kept.as_str(), kept.as_ptr()), ("Ann Lee", buffer));
        assert_eq!(trimmed(" \tAnn Lee\n".to_owned()), "Ann Lee");
        assert_eq!(trimmed("   ".to_owned()), "");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            UserName::parse("  Ann  ").map(|n| n.as_str().to_owned()),
            Ok("Ann".into())
        );
        assert_eq!(UserName::parse("   "), Err(FieldProblem::Blank));
        assert!(UserName::parse("a".repeat(150)).is_ok());
        assert_eq!(
            UserName::parse("a".repeat(151)),
            Err(FieldProblem::TooLong { max: 150 })
        );
    }

    #[test]
    fn email_validation_table() {
        let valid = [
            "ann@example.com",
            "first.last+tag@sub.example.org",
            "o'brien@clinic.ie",
            "jürgen@müller.de",
            "x@xn--80ak6aa92e.com",
            "a-very-long-local-part-of-more-than-sixty-four-characters-is-fine-too@example.com",
            "a@b.xn--p1ai",
        ];
        let invalid = [
            "plainaddress",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "ann..lee@example.com",
            ".ann@example.com",
            "ann@-example.com",
            "ann@example.c0m",
            "ann lee@example.com",
            "ann@exa mple.com",
            "ann@example-.com",
            "ann@example.xn--",
            "ann@example.co-",
            "ann@[127.0.0.1]",
            "\"ann\"@example.com",
        ];
        for address in valid {
            assert!(Email::parse(address).is_ok(), "{address} should be valid");
        }
        for address in invalid {
            assert_eq!(
                Email::parse(address),
                Err(FieldProblem::InvalidEmail),
                "{address} should be invalid"
            );
        }
        assert_eq!(Email::parse(" "), Err(FieldProblem::Blank));
    }

    #[test]
    fn emails_normalize_unicode_aware() {
        let email = Email::parse(" Ann.LEE@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "Ann.LEE@Example.COM");
        assert_eq!(email.normalized(), "ann.lee@example.com");
        assert_eq!(normalize_email("ÉLODIE@exemple.fr"), "élodie@exemple.fr");
    }

    #[test]
    fn tokens_issued_before_a_sign_out_are_refused() {
        use chrono::TimeZone;
        let at = |seconds: i64, millis: u32| {
            chrono::Utc
                .timestamp_opt(seconds, millis * 1_000_000)
                .single()
                .expect("valid")
        };
        let mut user = User {
            id: crate::UserId(1),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            is_active: true,
            is_staff: false,
            created_at: at(0, 0),
            tokens_valid_after: None,
        };
        assert!(user.accepts_token_issued_at(at(5, 0)));
        user.tokens_valid_after = Some(at(100, 400));
        assert!(!user.accepts_token_issued_at(at(99, 0)));
        assert!(
            !user.accepts_token_issued_at(at(100, 399)),
            "issued earlier in the same second"
        );
        assert!(
            user.accepts_token_issued_at(at(100, 401)),
            "a sign-in right after a sign-out works"
        );
        assert!(user.accepts_token_issued_at(at(101, 0)));
        let micros = |micros: i64| at(200, 0) + chrono::Duration::microseconds(micros);
        user.tokens_valid_after = Some(micros(700));
        assert!(
            !user.accepts_token_issued_at(micros(200)),
            "issued earlier in the same millisecond"
        );
        assert!(user.accepts_token_issued_at(micros(700)));
        assert!(user.accepts_token_issued_at(micros(900)));
        user.is_active = false;
        assert!(!user.accepts_token_issued_at(at(101, 0)));
    }
}
