//! Schemas of request-body fields that say exactly what the body readers and the domain accept:
//! a request the document allows is never refused for its shape, and one it does not allow is.
//! The patterns are written for ECMA-262 and Python alike (no `\s`, `\w` or flags: each engine
//! gives those a different meaning); the tests below hold them to the Rust readers.

use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};

/// What `str::trim` removes (Unicode White_Space), as the body of a character class.
pub const WHITESPACE: &str =
    r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Text with no NUL character (PostgreSQL cannot store one).
pub const NO_NUL: &str = r"^[^\u0000]*$";

/// Text with no NUL character and something other than white space.
pub fn not_blank() -> String {
    format!(r"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$")
}

/// One dot-separated part of an e-mail's local part.
const ATOM: &str = r"[A-Za-z0-9\u00a1-\uffff!#$%&'*+/=?^_`{|}~-]+";
/// One label of an e-mail's domain.
const LABEL: &str =
    r"[A-Za-z0-9\u00a1-\uffff](?:[A-Za-z0-9\u00a1-\uffff-]{0,61}[A-Za-z0-9\u00a1-\uffff])?";
/// The top-level label: letters, or an IDNA `xn--` label.
const TOP_LEVEL: &str = r"(?:[A-Za-z\u00a1-\uffff]{2,63}|xn--[A-Za-z0-9-]{1,59})";

fn email_address() -> String {
    format!(r"{ATOM}(?:\.{ATOM})*@(?:{LABEL}\.)+{TOP_LEVEL}")
}

/// An e-mail address, with the white space around it that is trimmed.
pub fn email_pattern() -> String {
    format!("^[{WHITESPACE}]*{}[{WHITESPACE}]*$", email_address())
}

/// An e-mail address or nothing but white space (stored as "").
pub fn optional_email_pattern() -> String {
    format!("^[{WHITESPACE}]*(?:{})?[{WHITESPACE}]*$", email_address())
}

/// An integer from 0 to 150 written as text, as `parse_integer_text` reads it (sign, leading
/// zeros, a zero fraction and surrounding white space allowed).
pub fn age_text_pattern() -> String {
    integer_text(r"150|1[0-4][0-9]|[1-9]?[0-9]")
}

/// An integer from 0 to 80 written as text.
pub fn experience_text_pattern() -> String {
    integer_text(r"80|[1-7]?[0-9]")
}

/// `0` to a maximum, given as alternatives without leading zeros.
fn integer_text(range: &str) -> String {
    format!(r"^[{WHITESPACE}]*(?:\+?0*(?:{range})|-0+)(?:\.0*)?[{WHITESPACE}]*$")
}

/// A positive record id written as text (at most 18 digits, so always a 64-bit integer).
pub fn id_text_pattern() -> String {
    format!(r"^[{WHITESPACE}]*\+?0*[1-9][0-9]{{0,17}}(?:\.0*)?[{WHITESPACE}]*$")
}

/// An amount of money written as text: at most 8 digits before the point and 2 after, not
/// negative (`-0` is zero).
pub fn money_text_pattern() -> String {
    let positive = r"\+?(?:(?:0*[1-9][0-9]{0,7}|0+)(?:\.[0-9]{0,2})?|\.[0-9]{1,2})";
    let zero = r"-(?:0+(?:\.0{0,2})?|\.0{1,2})";
    format!("^[{WHITESPACE}]*(?:{positive}|{zero})[{WHITESPACE}]*$")
}

fn string(pattern: String) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

/// `schema` with `description` (a request body's field documentation).
pub fn described(schema: RefOr<Schema>, description: String) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.description = Some(description);
            RefOr::T(Schema::Object(object))
        }
        RefOr::T(Schema::OneOf(mut one_of)) => {
            one_of.description = Some(description);
            RefOr::T(Schema::OneOf(one_of))
        }
        RefOr::Ref(mut reference) => {
            reference.description = description;
            RefOr::Ref(reference)
        }
        other => other,
    }
}

/// A string the domain checks in ways no pattern says (a password, a token, a code); a
/// password's `max_length` counts characters where the rule counts bytes.
pub fn secret(min_length: usize, max_length: Option<usize>) -> Schema {
    string(NO_NUL.to_owned())
        .min_length(Some(min_length).filter(|min| *min > 0))
        .max_length(max_length)
        .into()
}

/// Text of at least `min` (≥ 2) characters once trimmed, with no NUL character.
pub fn trimmed_at_least(min: usize) -> String {
    let inner = min.saturating_sub(2);
    format!(
        r"^[{WHITESPACE}]*[^\u0000{WHITESPACE}][^\u0000]{{{inner},}}[^\u0000{WHITESPACE}][{WHITESPACE}]*$"
    )
}

/// Text of `min` (≥ 2) to `max` characters once trimmed (a break-glass reason).
pub fn bounded_text(min: usize, max: usize) -> Schema {
    string(trimmed_at_least(min))
        .min_length(Some(min))
        .max_length(Some(max))
        .into()
}

/// `name`-like text: required, 1 to `MAX` characters, not blank.
pub fn required_text<const MAX: usize>() -> Schema {
    string(not_blank())
        .min_length(Some(1))
        .max_length(Some(MAX))
        .into()
}

/// Text of at most `MAX` characters that may be empty.
pub fn optional_text<const MAX: usize>() -> Schema {
    string(NO_NUL.to_owned()).max_length(Some(MAX)).into()
}

/// Free text of any length.
pub fn free_text() -> Schema {
    string(NO_NUL.to_owned()).into()
}

/// A required e-mail address.
pub fn email() -> Schema {
    // No `format: email`: that format is ASCII-only and has no surrounding white space, while
    // the rule (and the pattern) allow both.
    string(email_pattern()).max_length(Some(254)).into()
}

/// An e-mail address or the empty string.
pub fn optional_email() -> Schema {
    string(optional_email_pattern())
        .max_length(Some(254))
        .into()
}

fn integer_or_text(
    format: KnownFormat,
    (minimum, maximum): (i64, Option<i64>),
    text_pattern: String,
) -> Schema {
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .minimum(Some(minimum))
        .maximum(maximum);
    let text = string(text_pattern).description(Some("The same integer written as a string."));
    OneOfBuilder::new().item(number).item(text).into()
}

/// `age`.
pub fn age() -> Schema {
    integer_or_text(KnownFormat::Int32, (0, Some(150)), age_text_pattern())
}

/// `experience_years`.
pub fn experience_years() -> Schema {
    integer_or_text(KnownFormat::Int32, (0, Some(80)), experience_text_pattern())
}

/// A related record's id in a body (`patient`, `doctor`).
pub fn record_id() -> Schema {
    integer_or_text(KnownFormat::Int64, (1, None), id_text_pattern())
}

/// A related record's id, or `null` for none (a doctor's `user`).
pub fn nullable_record_id() -> Schema {
    match record_id() {
        Schema::OneOf(mut one_of) => {
            one_of
                .items
                .push(ObjectBuilder::new().schema_type(Type::Null).into());
            Schema::OneOf(one_of)
        }
        other => other,
    }
}

/// `consultation_fee`.
pub fn money() -> Schema {
    let number = ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(0))
        .maximum(Some(99_999_999.99))
        .multiple_of(Some(0.01));
    let text = string(money_text_pattern()).description(Some(
        "The amount as a string: at most 8 digits before the point and 2 after.",
    ));
    OneOfBuilder::new().item(number).item(text).into()
}

/// A boolean field (`is_available`).
pub fn boolean() -> Schema {
    // A pattern rather than an enum: generators name enum members by upper-casing the values,
    // and `t` and `T` would collide.
    let spellings = crate::body::BOOLEAN_SPELLINGS
        .map(|(text, _)| text)
        .join("|");
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(string(format!("^(?:{spellings})$")))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(1)),
        )
        .into()
}

/// A reference to a named schema.
pub fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthcare_domain::fields::{BoundedText, OptionalEmail};
    use healthcare_domain::money::Money;
    use healthcare_domain::user::Email;
    use healthcare_web::forms::parse_integer_text;
    use regex::Regex;

    fn regex(pattern: &str) -> Regex {
        Regex::new(pattern).expect("the pattern compiles")
    }

    /// Padding the readers trim, and characters they do not.
    const PADS: [&str; 6] = ["", " ", "\t", "\u{a0}", "\u{3000}", "\u{1c}"];

    fn padded(core: &str) -> Vec<String> {
        PADS.iter()
            .flat_map(|pad| [format!("{pad}{core}"), format!("{core}{pad}")])
            .collect()
    }

    #[test]
    fn the_whitespace_class_is_what_trim_removes() {
        let class = regex(&format!("^[{WHITESPACE}]$"));
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                class.is_match(c.encode_utf8(&mut [0; 4])),
                c.is_whitespace(),
                "{:?}",
                c
            );
        }
    }

    fn integer_texts() -> Vec<String> {
        let mut texts: Vec<String> = (-200..=300)
            .flat_map(|n: i64| {
                [
                    n.to_string(),
                    format!("{n}.0"),
                    format!("{n}."),
                    format!("{n}.5"),
                    format!("0{n}"),
                    format!("+{n}"),
                    format!("{n}e0"),
                ]
            })
            .collect();
        texts.extend(
            [
                "-0", "-00.00", "+0", "", "+", "-", ".", ".0", "1_0", "١٢", "0x1", "1 2",
            ]
            .map(String::from),
        );
        texts.extend(padded("45"));
        texts.extend(padded("0"));
        texts
    }

    fn assert_pattern_agrees(pattern: &str, texts: &[String], accepted: impl Fn(&str) -> bool) {
        let pattern = regex(pattern);
        for text in texts {
            assert_eq!(pattern.is_match(text), accepted(text), "{text:?}");
        }
    }

    #[test]
    fn integer_text_patterns_agree_with_the_reader_and_the_range() {
        let texts = integer_texts();
        let within = |max: i64| {
            move |text: &str| parse_integer_text(text).is_some_and(|n| (0..=max).contains(&n))
        };
        assert_pattern_agrees(&age_text_pattern(), &texts, within(150));
        assert_pattern_agrees(&experience_text_pattern(), &texts, within(80));
        let ids: Vec<String> = texts
            .iter()
            .cloned()
            .chain(["123456789012345678", "9223372036854775807"].map(String::from))
            .collect();
        // Ids of 19 digits are valid but outside the pattern: the pattern is narrower, never wider.
        assert_pattern_agrees(&id_text_pattern(), &ids, |text| {
            parse_integer_text(text).is_some_and(|n| n > 0 && n.to_string().len() <= 18)
        });
    }

    #[test]
    fn the_money_pattern_agrees_with_the_domain() {
        let mut texts: Vec<String> = [
            "0",
            "0.0",
            "0.00",
            "0.000",
            "-0",
            "-0.00",
            "-0.01",
            "-.0",
            "-",
            "+",
            ".",
            ".5",
            "5.",
            "+5",
            "1.234",
            "12345678",
            "123456789",
            "12345678.99",
            "00012345678.99",
            "1e3",
            "",
            "99999999.99",
            "100000000",
            "0.5",
            "1,5",
            "１",
        ]
        .map(String::from)
        .to_vec();
        texts.extend(padded("150.50"));
        assert_pattern_agrees(&money_text_pattern(), &texts, |text| {
            Money::parse(text).is_ok()
        });
    }

    fn addresses() -> Vec<String> {
        let mut addresses: Vec<String> = [
            "ann@example.com",
            "first.last+tag@sub.example.org",
            "o'brien@clinic.ie",
            "jürgen@müller.de",
            "x@xn--80ak6aa92e.com",
            "a@b.xn--p1ai",
            "a@b.c",
            "a@b.co1",
            "a@b-.co",
            "a@-b.co",
            "a@b..co",
            "a..b@c.co",
            ".a@b.co",
            "a.@b.co",
            "a@b",
            "@b.co",
            "a@",
            "a@@b.co",
            "a b@c.co",
            "\"a\"@b.co",
            "a@[127.0.0.1]",
            "a@b.co.",
            "a@b.xn--",
            "a@1.2.com",
            "😀@b.co",
            "a@b.😀😀",
            "",
        ]
        .map(String::from)
        .to_vec();
        addresses.extend(padded("ann@example.com"));
        addresses.push(format!("{}@example.com", "a".repeat(70)));
        addresses.push(format!("a@{}.com", "b".repeat(63)));
        addresses.push(format!("a@{}.com", "b".repeat(64)));
        addresses
    }

    #[test]
    fn the_email_patterns_agree_with_the_domain() {
        let addresses = addresses();
        assert_pattern_agrees(&email_pattern(), &addresses, |text| {
            Email::parse(text).is_ok()
        });
        assert_pattern_agrees(&optional_email_pattern(), &addresses, |text| {
            OptionalEmail::parse(text).is_ok()
        });
    }

    #[test]
    fn the_boolean_pattern_holds_exactly_the_spellings() {
        let schema = serde_json::to_value(boolean()).expect("JSON");
        let pattern = regex(schema["oneOf"][1]["pattern"].as_str().expect("a pattern"));
        for text in [
            "t", "TRUE", "Off", "0", "1", "tRUE", " t", "t ", "2", "", "yes!",
        ] {
            let read = crate::body::parse_json_boolean(&serde_json::json!(text));
            assert_eq!(pattern.is_match(text), read.is_some(), "{text:?}");
        }
    }

    #[test]
    fn the_text_patterns_agree_with_the_domain() {
        let mut texts: Vec<String> = ["", "a", " ", "\u{3000}", "\u{1c}", "a\0b", "\0"]
            .map(String::from)
            .to_vec();
        texts.extend(padded("Ann"));
        assert_pattern_agrees(&not_blank(), &texts, |text| {
            BoundedText::<100>::parse(text).is_ok() && !text.contains('\0')
        });
        assert_pattern_agrees(NO_NUL, &texts, |text| !text.contains('\0'));
    }

    #[test]
    fn the_reason_pattern_agrees_with_the_domain() {
        let mut texts: Vec<String> = [
            "",
            "a",
            "123456789",
            "1234567890",
            "12345 7890",
            "a\0bcdefghijk",
        ]
        .map(String::from)
        .to_vec();
        for core in ["123456789", "1234567890", "x        y", "\u{1c}23456789"] {
            texts.extend(padded(core));
        }
        assert_pattern_agrees(&trimmed_at_least(10), &texts, |text| {
            healthcare_domain::break_glass::BreakGlassReason::parse(text).is_ok()
        });
    }
}
