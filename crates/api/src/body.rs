//! Reading JSON request bodies: content type, size limit, parse errors, and typed field reads
//! that collect every problem instead of stopping at the first.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use healthcare_domain::fields::Submitted;
use healthcare_domain::{FieldErrors, FieldProblem};
use serde_json::{Map, Value};

use healthcare_web::WebConfig;

use crate::errors::ApiError;
pub use healthcare_web::forms::{BodyTooSlow, parse_boolean, parse_integer_text, read_body};
/// An integer from a JSON value, as DRF's `IntegerField` reads it: `45`, `45.0`, `"45"`,
/// `" 45 "`, `"45.0"`; never `45.5`, a boolean, or anything out of range.
pub fn parse_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(text) => parse_integer_text(text),
        _ => None,
    }
}

/// The strings DRF's `BooleanField` reads as a boolean, exactly (no trimming, no other case).
pub const BOOLEAN_SPELLINGS: [(&str, bool); 28] = [
    ("t", true),
    ("T", true),
    ("y", true),
    ("Y", true),
    ("yes", true),
    ("Yes", true),
    ("YES", true),
    ("true", true),
    ("True", true),
    ("TRUE", true),
    ("on", true),
    ("On", true),
    ("ON", true),
    ("1", true),
    ("f", false),
    ("F", false),
    ("n", false),
    ("N", false),
    ("no", false),
    ("No", false),
    ("NO", false),
    ("false", false),
    ("False", false),
    ("FALSE", false),
    ("off", false),
    ("Off", false),
    ("OFF", false),
    ("0", false),
];

/// A boolean from a JSON value, as DRF's `BooleanField` reads it: a JSON boolean, one of
/// [`BOOLEAN_SPELLINGS`], or the number 1 or 0.
pub fn parse_json_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => match number.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(text) => BOOLEAN_SPELLINGS
            .iter()
            .find(|(spelling, _)| spelling == text)
            .map(|(_, flag)| *flag),
        _ => None,
    }
}

/// A request body that is a JSON object. An empty body counts as `{}` (DRF's behaviour), so a
/// missing body reports missing fields.
#[derive(Debug, Default)]
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest for JsonObject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = request
            .app_data::<web::Data<WebConfig>>()
            .map_or(64 * 1024, |config| config.max_body_bytes);
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| value.to_str().unwrap_or("").to_owned());
        let bytes = read_body(request, payload);
        Box::pin(async move {
            let bytes = bytes
                .await
                .map_err(|BodyTooSlow(timeout)| ApiError::BodyTooSlow(timeout.as_secs()))?
                .map_err(|error| {
                    if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge(limit)
                    } else {
                        ApiError::JsonParse(error.to_string())
                    }
                })?;
            if bytes.is_empty() {
                return Ok(Self::default());
            }
            let content_type = content_type.unwrap_or_default();
            if !is_json(&content_type) {
                return Err(ApiError::UnsupportedMediaType(content_type));
            }
            parse_object(&bytes).map(Self)
        })
    }
}

/// `application/json`, with or without parameters such as a charset.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::NotAnObject(json_type_name(&other))),
        Err(error) => Err(ApiError::JsonParse(error.to_string())),
    }
}

/// The Python type name DRF reports for a non-object body.
fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Reads typed fields from a JSON object, recording DRF's message for each one that is
/// missing, null or of the wrong type. A `None` result means the problem was recorded.
#[derive(Debug)]
pub struct FieldReader {
    object: Map<String, Value>,
    errors: FieldErrors,
}

impl FieldReader {
    /// Starts reading `body`.
    pub fn new(body: JsonObject) -> Self {
        Self {
            object: body.0,
            errors: FieldErrors::new(),
        }
    }

    /// A required string. Unlike DRF's `CharField`, a number is refused: the document says
    /// "string", and a generated client sends one.
    pub fn required_string(&mut self, field: &str) -> Option<String> {
        match self.object.get(field) {
            None => self.fail(field, FieldProblem::Required),
            Some(value) => self.string_value(field, value.clone()),
        }
    }

    /// An optional string: `None` when absent (null is refused).
    pub fn optional_string(&mut self, field: &str) -> Option<String> {
        let value = self.object.get(field)?.clone();
        self.string_value(field, value)
    }

    fn string_value(&mut self, field: &str, value: Value) -> Option<String> {
        match value {
            Value::String(text) if text.contains('\0') => {
                self.fail(field, FieldProblem::NullCharacter)
            }
            Value::String(text) => Some(text),
            Value::Null => self.fail(field, FieldProblem::NotNull),
            Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                self.fail(field, FieldProblem::NotAString)
            }
        }
    }

    /// A string field for a create or update (a number is refused, as in `required_string`).
    pub fn string(&mut self, field: &str) -> Submitted<String> {
        self.submitted(field, |value| match value {
            Value::String(text) if text.contains('\0') => Err(FieldProblem::NullCharacter),
            Value::String(text) => Ok(text.clone()),
            _ => Err(FieldProblem::NotAString),
        })
    }

    /// An integer field: a JSON integer, a float with no fraction, or a string holding one
    /// (`"45"`), as DRF's `IntegerField` accepts; `45.5` is refused.
    pub fn integer(&mut self, field: &str) -> Submitted<i64> {
        self.submitted(field, |value| {
            parse_integer(value).ok_or(FieldProblem::NotAnInteger)
        })
    }

    /// A boolean field, with the spellings DRF's `BooleanField` accepts.
    pub fn boolean(&mut self, field: &str) -> Submitted<bool> {
        self.submitted(field, |value| {
            parse_json_boolean(value).ok_or(FieldProblem::NotABoolean)
        })
    }

    /// A decimal field as text (a JSON number is taken as its text), for `Money::parse`.
    pub fn decimal(&mut self, field: &str) -> Submitted<String> {
        self.submitted(field, |value| match value {
            Value::Number(number) => Ok(number.to_string()),
            Value::String(text) => Ok(text.clone()),
            _ => Err(FieldProblem::NotANumber),
        })
    }

    /// A related object's id, as DRF's `PrimaryKeyRelatedField` reads it.
    pub fn primary_key(&mut self, field: &str) -> Submitted<i64> {
        self.submitted(field, |value| match value {
            Value::Number(_) | Value::String(_) => {
                parse_integer(value).ok_or(FieldProblem::NotARecordId {
                    received: json_type_name(value),
                })
            }
            other => Err(FieldProblem::NotARecordId {
                received: json_type_name(other),
            }),
        })
    }

    /// A related object's id that may be `null` (no related object), as DRF's
    /// `PrimaryKeyRelatedField(allow_null=True)` reads it.
    pub fn nullable_primary_key(&mut self, field: &str) -> Submitted<Option<i64>> {
        if self.object.get(field) == Some(&Value::Null) {
            return Submitted::Given(None);
        }
        match self.primary_key(field) {
            Submitted::Given(id) => Submitted::Given(Some(id)),
            Submitted::Absent => Submitted::Absent,
            Submitted::Rejected => Submitted::Rejected,
        }
    }

    /// An optional related object's id: `None` when absent or refused (then recorded).
    pub fn optional_primary_key(&mut self, field: &str) -> Option<i64> {
        match self.primary_key(field) {
            Submitted::Given(id) => Some(id),
            Submitted::Absent | Submitted::Rejected => None,
        }
    }

    fn submitted<T>(
        &mut self,
        field: &str,
        read: impl FnOnce(&Value) -> Result<T, FieldProblem>,
    ) -> Submitted<T> {
        match self.object.get(field) {
            None => Submitted::Absent,
            Some(Value::Null) => {
                self.errors.add(field, FieldProblem::NotNull);
                Submitted::Rejected
            }
            Some(value) => match read(value) {
                Ok(read) => Submitted::Given(read),
                Err(problem) => {
                    self.errors.add(field, problem);
                    Submitted::Rejected
                }
            },
        }
    }

    fn fail<T>(&mut self, field: &str, problem: FieldProblem) -> Option<T> {
        self.errors.add(field, problem);
        None
    }

    /// The problems recorded so far.
    pub fn into_errors(self) -> FieldErrors {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reader(value: Value) -> FieldReader {
        match value {
            Value::Object(map) => FieldReader::new(JsonObject(map)),
            _ => panic!("test bodies are objects"),
        }
    }

    #[test]
    fn strings_are_strings_only() {
        let mut fields = reader(json!({"a": "x", "b": 12, "c": null, "d": true, "e": [1]}));
        assert_eq!(fields.required_string("a").as_deref(), Some("x"));
        assert_eq!(
            fields.required_string("b"),
            None,
            "a number is not a string"
        );
        assert_eq!(fields.required_string("c"), None);
        assert_eq!(fields.required_string("d"), None);
        assert_eq!(fields.optional_string("e"), None);
        assert_eq!(fields.required_string("missing"), None);
        assert_eq!(fields.optional_string("absent"), None);
        let errors = fields.into_errors();
        let expected: Vec<(&str, Vec<FieldProblem>)> = vec![
            ("b", vec![FieldProblem::NotAString]),
            ("c", vec![FieldProblem::NotNull]),
            ("d", vec![FieldProblem::NotAString]),
            ("e", vec![FieldProblem::NotAString]),
            ("missing", vec![FieldProblem::Required]),
        ];
        let actual: Vec<(&str, Vec<FieldProblem>)> =
            errors.iter().map(|(f, p)| (f, p.to_vec())).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn integers_follow_drf_rules() {
        let mut fields = reader(
            json!({"a": 45, "b": "45", "c": 45.0, "d": 45.5, "e": "4x", "f": true, "g": " 7 ", "h": "8.00"}),
        );
        assert_eq!(fields.integer("a"), Submitted::Given(45));
        assert_eq!(fields.integer("b"), Submitted::Given(45));
        assert_eq!(fields.integer("c"), Submitted::Given(45));
        assert_eq!(fields.integer("d"), Submitted::Rejected);
        assert_eq!(fields.integer("e"), Submitted::Rejected);
        assert_eq!(fields.integer("f"), Submitted::Rejected);
        assert_eq!(fields.integer("g"), Submitted::Given(7));
        assert_eq!(fields.integer("h"), Submitted::Given(8));
        assert_eq!(fields.integer("absent"), Submitted::Absent);
        let errors = fields.into_errors();
        assert_eq!(
            errors
                .iter()
                .filter(|(_, p)| p == &[FieldProblem::NotAnInteger])
                .count(),
            3
        );
    }

    #[test]
    fn booleans_decimals_and_keys() {
        let mut fields = reader(
            json!({"a": "yes", "b": 0, "c": "maybe", "d": 12.5, "e": "7", "f": [1], "g": "x", "h": null, "nul": "a\u{0}b"}),
        );
        assert_eq!(fields.boolean("a"), Submitted::Given(true));
        assert_eq!(fields.boolean("b"), Submitted::Given(false));
        assert_eq!(fields.boolean("c"), Submitted::Rejected);
        for (value, read) in [
            (json!(true), Some(true)),
            (json!("On"), Some(true)),
            (json!(1), Some(true)),
            (json!(1.0), Some(true)),
            (json!("OFF"), Some(false)),
            (json!(0.0), Some(false)),
            (json!("oN"), None),
            (json!(" yes"), None),
            (json!(2), None),
            (json!([]), None),
        ] {
            assert_eq!(parse_json_boolean(&value), read, "{value}");
        }
        assert_eq!(fields.decimal("d"), Submitted::Given("12.5".to_owned()));
        assert_eq!(fields.primary_key("e"), Submitted::Given(7));
        assert_eq!(fields.primary_key("f"), Submitted::Rejected);
        assert_eq!(fields.primary_key("g"), Submitted::Rejected);
        assert_eq!(fields.string("h"), Submitted::Rejected);
        assert_eq!(fields.string("nul"), Submitted::Rejected);
        let errors = fields.into_errors();
        // Rendered as the response renders them: DRF's words.
        let messages = healthcare_web::wording::messages(&errors);
        let expected = |text: &str| vec![text.to_owned()];
        assert_eq!(
            messages,
            vec![
                ("c", expected("Must be a valid boolean.")),
                (
                    "f",
                    expected("Incorrect type. Expected pk value, received list.")
                ),
                (
                    "g",
                    expected("Incorrect type. Expected pk value, received str.")
                ),
                ("h", expected("This field may not be null.")),
                ("nul", expected("Null characters are not allowed.")),
            ]
        );
    }

    #[test]
    fn non_objects_are_named_as_drf_names_them() {
        for (body, kind) in [
            ("[1]", "list"),
            ("\"x\"", "str"),
            ("3", "int"),
            ("2.5", "float"),
            ("null", "NoneType"),
            ("true", "bool"),
        ] {
            match parse_object(body.as_bytes()) {
                Err(ApiError::NotAnObject(name)) => assert_eq!(name, kind, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_object(b"{\"a\": "),
            Err(ApiError::JsonParse(_))
        ));
    }

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
        assert!(!is_json("application/jsonx"));
    }
}
