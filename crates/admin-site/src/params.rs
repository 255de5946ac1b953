//! Reading query strings and form bodies: text as typed, numbers and flags checked, and every
//! malformed value a 400 page rather than a server error.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use healthcare_core::pagination::Page;
use healthcare_domain::fields::Submitted;
use healthcare_domain::{FieldErrors, FieldProblem, Timestamp};

use crate::errors::AdminError;
use healthcare_web::forms::{parse_boolean, parse_integer_text, read_body};

/// Rows per list page.
pub const PAGE_SIZE: u64 = 25;

/// Name–value pairs, as submitted (query string or form body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// Decodes `application/x-www-form-urlencoded` text. NUL characters are refused: the
    /// database cannot store them.
    pub fn parse(encoded: &[u8]) -> Result<Self, AdminError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded)
            .map_err(|_| AdminError::BadRequest("The submitted data could not be read.".into()))?;
        if pairs
            .iter()
            .any(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(AdminError::BadRequest(
                "Null characters are not allowed.".into(),
            ));
        }
        Ok(Self(pairs))
    }

    /// The query string of `request`.
    pub fn query(request: &HttpRequest) -> Result<Self, AdminError> {
        Self::parse(request.query_string().as_bytes())
    }

    /// The first value of `name`, as typed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name` as typed, or "".
    pub fn value(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// Trimmed text, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }

    /// A positive id filter; blank is no filter.
    pub fn id(&self, name: &str, label: &str) -> Result<Option<i64>, AdminError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        match parse_integer_text(&text) {
            Some(id) if id > 0 => Ok(Some(id)),
            _ => Err(AdminError::BadRequest(format!(
                "{label} must be a positive whole number."
            ))),
        }
    }

    /// A yes/no filter (`yes`, `no`, `true`, `false`…); blank is no filter.
    pub fn flag(&self, name: &str, label: &str) -> Result<Option<bool>, AdminError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        parse_boolean(&text)
            .map(Some)
            .ok_or_else(|| AdminError::BadRequest(format!("{label} must be “yes”, “no” or empty.")))
    }

    /// The requested page (`page`, from 1).
    pub fn page(&self) -> Result<Page, AdminError> {
        let number = match self.text("page") {
            None => 1,
            Some(text) => match parse_integer_text(&text) {
                Some(number) if number > 0 => number.unsigned_abs(),
                _ => {
                    return Err(AdminError::BadRequest(
                        "The page number must be a positive whole number.".into(),
                    ));
                }
            },
        };
        Ok(Page {
            number,
            size: PAGE_SIZE,
        })
    }
}

impl FromRequest for FormData {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AdminError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = read_body(request, payload);
        Box::pin(async move {
            let bytes = bytes
                .await
                .map_err(|_| AdminError::FormTooSlow)?
                .map_err(|_| {
                    AdminError::BadRequest("The submitted form is too large or incomplete.".into())
                })?;
            let essence = content_type.split(';').next().unwrap_or("").trim();
            if !bytes.is_empty()
                && !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
            {
                return Err(AdminError::BadRequest(
                    "Forms must be sent as application/x-www-form-urlencoded.".into(),
                ));
            }
            Self::parse(&bytes)
        })
    }
}

/// A moment typed in a `datetime-local` field (taken as UTC) or as RFC 3339 with an offset.
pub fn parse_datetime(text: &str) -> Result<Timestamp, FieldProblem> {
    let text = text.trim();
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M:%S%.f",
            ]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .map(|naive| naive.and_utc())
        });
    // chrono reads signed and five-digit years, which the databases cannot store.
    parsed
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or(FieldProblem::NotADateTime)
}

/// A text field of a record form: absent when the form did not have it.
pub fn text_field(form: &FormData, name: &str) -> Submitted<String> {
    form.get(name).map_or(Submitted::Absent, |value| {
        Submitted::Given(value.to_owned())
    })
}

/// A whole-number field of a record form, read from its text as the API reads a string:
/// blank is absent ("required" if it must be given), anything else not an integer is the
/// API's message.
pub fn integer_field(form: &FormData, name: &str, errors: &mut FieldErrors) -> Submitted<i64> {
    match form.get(name).map(str::trim) {
        None | Some("") => Submitted::Absent,
        Some(text) => match parse_integer_text(text) {
            Some(number) => Submitted::Given(number),
            None => {
                errors.add(name, FieldProblem::NotAnInteger);
                Submitted::Rejected
            }
        },
    }
}

/// The record version a form was loaded with (hidden field `version`).
pub fn version_field(form: &FormData) -> Result<i64, AdminError> {
    form.get("version")
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| AdminError::BadRequest("The form is missing its record version.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn form(encoded: &str) -> FormData {
        FormData::parse(encoded.as_bytes()).expect("parses")
    }

    #[test]
    fn datetimes_from_the_browser_and_rfc3339() {
        let ten = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).single();
        assert_eq!(parse_datetime("2026-11-26T10:00").ok(), ten);
        assert_eq!(parse_datetime("2026-11-26T10:00:00").ok(), ten);
        assert_eq!(parse_datetime("2026-11-26T10:00:00Z").ok(), ten);
        assert_eq!(parse_datetime("2026-11-26T11:00:00+01:00").ok(), ten);
        assert_eq!(parse_datetime("yesterday"), Err(FieldProblem::NotADateTime));
        assert!(parse_datetime("2026-13-01T10:00").is_err());
        // Years the databases cannot store are refused, not passed on (a 500 on PostgreSQL).
        for out_of_range in [
            "-5000-01-01T00:00",
            "+12026-01-01T00:00",
            "0000-01-01T00:00",
        ] {
            assert!(parse_datetime(out_of_range).is_err(), "{out_of_range}");
        }
    }

    #[test]
    fn filters_and_pages() {
        let query = form("q=+ann+&owner=7&archived=yes&active=&page=3");
        assert_eq!(query.text("q").as_deref(), Some("ann"));
        assert_eq!(query.id("owner", "Owner").ok(), Some(Some(7)));
        assert_eq!(query.flag("archived", "Archived").ok(), Some(Some(true)));
        assert_eq!(query.flag("active", "Active").ok(), Some(None));
        assert_eq!(query.page().ok().map(|page| page.number), Some(3));
        assert!(form("owner=abc").id("owner", "Owner").is_err());
        assert!(form("owner=-1").id("owner", "Owner").is_err());
        assert!(form("archived=maybe").flag("archived", "Archived").is_err());
        assert!(form("page=0").page().is_err());
        assert!(form("page=x").page().is_err());
        assert_eq!(form("").page().ok().map(|page| page.number), Some(1));
    }

    #[test]
    fn null_characters_are_refused() {
        assert!(FormData::parse(b"name=a%00b").is_err());
    }
}
