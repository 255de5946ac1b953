//! Search parameters, from the query string or a `_search` form body: FHIR's syntax (comma
//! alternatives, `:modifier`s, date prefixes) read into the domain's search criteria. Anything
//! this server does not implement is a 400 naming it, never silently ignored: an ignored
//! filter would hand a client more records than it asked for.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use healthcare_domain::Timestamp;
use healthcare_domain::record_search::{
    MAX_PAGE, SearchOrder, SearchPaging, Seek, SeekKey, SortField, SortValue, TextMatch, TimeBound,
};

use crate::errors::FhirError;

/// The parameters of one search, as `(name, value)` pairs in the order given.
pub type Pairs = Vec<(String, String)>;

/// Most parameters one search takes.
const MAX_PARAMETERS: usize = 50;
/// Most comma-separated alternatives one parameter takes.
const MAX_ALTERNATIVES: usize = 100;

/// Reads `application/x-www-form-urlencoded` text (a query string or a form body), at most
/// [`MAX_PARAMETERS`] parameters of at most [`MAX_ALTERNATIVES`] alternatives each: beyond
/// that a search is refused rather than turned into a statement no database takes.
pub fn decode(encoded: &str) -> Result<Pairs, FhirError> {
    let pairs: Pairs = serde_urlencoded::from_str(encoded)
        .map_err(|_| FhirError::BadRequest("The search parameters cannot be decoded.".into()))?;
    if pairs.len() > MAX_PARAMETERS {
        return Err(FhirError::BadRequest(format!(
            "A search takes at most {MAX_PARAMETERS} parameters."
        )));
    }
    if let Some((name, _)) =
        (pairs.iter()).find(|(_, value)| value.matches(',').count() >= MAX_ALTERNATIVES)
    {
        return Err(FhirError::BadRequest(format!(
            "{name} takes at most {MAX_ALTERNATIVES} comma-separated values."
        )));
    }
    Ok(pairs)
}

/// A search's parameters: the query string's, and on `POST [type]/_search` those of its
/// `application/x-www-form-urlencoded` body too.
pub struct SearchParameters(pub Pairs);

impl FromRequest for SearchParameters {
    type Error = FhirError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, FhirError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let body = body.await.map_err(|error| {
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    FhirError::BodyTooLarge
                } else {
                    FhirError::BadRequest("The form body could not be read.".into())
                }
            })?;
            let form = (request.headers().get(CONTENT_TYPE))
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
            if !form && !body.is_empty() {
                return Err(FhirError::BadRequest(
                    "POST _search takes an application/x-www-form-urlencoded body.".into(),
                ));
            }
            let body = std::str::from_utf8(&body)
                .map_err(|_| FhirError::BadRequest("The form body is not UTF-8.".into()))?;
            let mut pairs = decode(request.query_string())?;
            pairs.extend(decode(body)?);
            Ok(Self(pairs))
        })
    }
}

/// A parameter's name and its modifier (`name:exact` → `("name", Some("exact"))`).
pub fn split_modifier(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((base, modifier)) => (base, Some(modifier)),
        None => (name, None),
    }
}

/// The comma-separated alternatives of a value (`\,` is a literal comma).
pub fn alternatives(value: &str) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ (',' | '\\' | '$' | '|')) => push(&mut all, next),
                Some(other) => {
                    push(&mut all, '\\');
                    push(&mut all, other);
                }
                None => push(&mut all, '\\'),
            },
            ',' => all.push(String::new()),
            other => push(&mut all, other),
        }
    }
    all
}

fn push(all: &mut [String], c: char) {
    if let Some(last) = all.last_mut() {
        last.push(c);
    }
}

/// A modifier the parameter does not take.
pub fn bad_modifier(name: &str, modifier: &str) -> FhirError {
    FhirError::BadRequest(format!(
        "The modifier :{modifier} is not supported on the parameter {name}."
    ))
}

/// A string parameter's alternatives, compared as its modifier says.
pub fn text_matches(
    name: &str,
    modifier: Option<&str>,
    value: &str,
) -> Result<Vec<TextMatch>, FhirError> {
    let make: fn(String) -> TextMatch = match modifier {
        None => TextMatch::StartsWith,
        Some("exact") => TextMatch::Exact,
        Some("contains") => TextMatch::Contains,
        Some(other) => return Err(bad_modifier(name, other)),
    };
    Ok(alternatives(value).into_iter().map(make).collect())
}

/// The ids of an `_id` (or reference) parameter; ids that cannot be ours match nothing.
pub fn ids(value: &str, resource_type: &str) -> Vec<i64> {
    alternatives(value)
        .iter()
        .filter_map(|id| {
            let id = id.strip_prefix(&format!("{resource_type}/")).unwrap_or(id);
            id.parse::<i64>().ok().filter(|id| *id > 0)
        })
        .collect()
}

/// The values of a token parameter (`system|value` or `value`): the values.
pub fn token_values(value: &str) -> Vec<String> {
    alternatives(value)
        .into_iter()
        .map(|token| match token.split_once('|') {
            Some((_, value)) => value.to_owned(),
            None => token,
        })
        .collect()
}

/// The bounds a date parameter (`[prefix]date`) sets on an instant: a date stands for its
/// whole day (month, year, minute, second), so `eq` means "within it", `gt` "after all of it".
pub fn date_bounds(name: &str, value: &str) -> Result<Vec<TimeBound>, FhirError> {
    let bad = || {
        FhirError::BadRequest(format!(
            "The value {value:?} of {name} is not a FHIR date with an eq, gt, lt, ge or le prefix."
        ))
    };
    let (prefix, date) = match value.get(..2) {
        Some(prefix) if prefix.chars().all(|c| c.is_ascii_lowercase()) => (prefix, &value[2..]),
        _ => ("eq", value),
    };
    let (start, end) = date_range(date).ok_or_else(bad)?;
    Ok(match prefix {
        "eq" => vec![TimeBound::NotBefore(start), TimeBound::Before(end)],
        "gt" => vec![TimeBound::NotBefore(end)],
        "lt" => vec![TimeBound::Before(start)],
        "ge" => vec![TimeBound::NotBefore(start)],
        "le" => vec![TimeBound::Before(end)],
        _ => return Err(bad()),
    })
}

/// The instants `[start, end)` a FHIR date, dateTime or instant stands for: years 1 to 9999
/// (what both databases store), an end past 9999 being the last instant stored.
fn date_range(date: &str) -> Option<(Timestamp, Timestamp)> {
    if !date.is_ascii() {
        return None;
    }
    let day = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|start| Utc.from_utc_datetime(&start))
    };
    let number = |text: &str| text.parse::<u32>().ok();
    let digits =
        |text: &str, len: usize| text.len() == len && text.chars().all(|c| c.is_ascii_digit());
    let (start, end) = match date.len() {
        4 if digits(date, 4) => {
            let year = date.parse().ok()?;
            (day(year, 1, 1)?, day(year + 1, 1, 1)?)
        }
        7 if digits(&date[..4], 4) && &date[4..5] == "-" && digits(&date[5..], 2) => {
            let (year, month) = (date[..4].parse().ok()?, number(&date[5..])?);
            let start = day(year, month, 1)?;
            let end = if month == 12 {
                day(year + 1, 1, 1)?
            } else {
                day(year, month + 1, 1)?
            };
            (start, end)
        }
        10 => {
            let start = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
            let start = Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0)?);
            (start, start + Duration::days(1))
        }
        _ => {
            let (time, precision) = if let Ok(at) = DateTime::parse_from_rfc3339(date) {
                (at.with_timezone(&Utc), fraction_precision(date))
            } else {
                // hh:mm with a zone: a minute.
                let with_seconds = insert_seconds(date)?;
                let at = DateTime::parse_from_rfc3339(&with_seconds).ok()?;
                (at.with_timezone(&Utc), Duration::minutes(1))
            };
            (time, time + precision)
        }
    };
    let last_stored = day(9999, 12, 31)? + Duration::days(1) - Duration::microseconds(1);
    (start.year() >= 1 && start <= last_stored).then(|| (start, end.min(last_stored)))
}

/// The precision of an instant's seconds: a second, or as many decimals as it has (a
/// `meta.lastUpdated`, in milliseconds, then stands for its whole millisecond).
fn fraction_precision(instant: &str) -> Duration {
    let Some((_, fraction)) = instant.split_once('.') else {
        return Duration::seconds(1);
    };
    let decimals = fraction.chars().take_while(char::is_ascii_digit).count();
    match decimals {
        0 => Duration::seconds(1),
        1 => Duration::milliseconds(100),
        2 => Duration::milliseconds(10),
        3 => Duration::milliseconds(1),
        4 => Duration::microseconds(100),
        5 => Duration::microseconds(10),
        _ => Duration::microseconds(1),
    }
}

/// `YYYY-MM-DDThh:mmZ` → `YYYY-MM-DDThh:mm:00Z` (for the parser).
fn insert_seconds(date: &str) -> Option<String> {
    let minutes_end = 16;
    (date.len() > minutes_end && date.as_bytes().get(10) == Some(&b'T'))
        .then(|| format!("{}:00{}", &date[..minutes_end], &date[minutes_end..]))
}

/// A page position as the `_page` parameter of a link carries it.
pub fn encode_seek(seek: &Seek) -> Option<String> {
    let (direction, key) = match seek {
        Seek::First => return None,
        Seek::After(key) => ('a', key),
        Seek::Before(key) => ('b', key),
    };
    Some(match &key.value {
        SortValue::Id => format!("{direction}.i.{}", key.id),
        SortValue::LastUpdated(at) => {
            format!("{direction}.t.{}.{}", key.id, at.timestamp_micros())
        }
        // A name never travels in a URL: the server looks the record's name up.
        SortValue::Name(_) | SortValue::NameOf => format!("{direction}.n.{}", key.id),
    })
}

/// The position a `_page` value names, for the order it was minted for.
fn decode_seek(value: &str, field: SortField) -> Option<Seek> {
    let mut parts = value.splitn(4, '.');
    let (direction, kind, id) = (parts.next()?, parts.next()?, parts.next()?);
    let id = id.parse::<i64>().ok()?;
    let rest = parts.next();
    let value = match (kind, field, rest) {
        ("i", SortField::Id, None) => SortValue::Id,
        ("t", SortField::LastUpdated, Some(micros)) => {
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            // What both databases store.
            if !(1..=9999).contains(&at.year()) {
                return None;
            }
            SortValue::LastUpdated(at)
        }
        ("n", SortField::Name, None) => SortValue::NameOf,
        _ => return None,
    };
    let key = SeekKey { value, id };
    match direction {
        "a" => Some(Seek::After(key)),
        "b" => Some(Seek::Before(key)),
        _ => None,
    }
}

/// The paging parameters (`_count`, `_sort`, `_total`, `_page`) of `pairs`, and the other
/// parameters; `_format=json` is accepted and dropped. Without `_sort`, `default` orders.
pub fn read_paging(pairs: Pairs, default: SearchOrder) -> Result<(SearchPaging, Pairs), FhirError> {
    let mut paging = SearchPaging {
        order: default,
        ..SearchPaging::default()
    };
    let mut page = None;
    let mut rest = Pairs::new();
    for (name, value) in pairs {
        match name.as_str() {
            "_count" => {
                let count: u64 = value.parse().map_err(|_| {
                    FhirError::BadRequest(format!("_count must be a whole number, not {value:?}."))
                })?;
                paging.count = count.min(MAX_PAGE);
            }
            "_sort" => paging.order = sort_order(&value)?,
            "_total" => {
                paging.with_total = match value.as_str() {
                    "none" => false,
                    "accurate" | "estimate" => true,
                    _ => {
                        return Err(FhirError::BadRequest(
                            "_total must be none, estimate or accurate.".into(),
                        ));
                    }
                }
            }
            "_page" => page = Some(value),
            "_format"
                if matches!(
                    value.as_str(),
                    "json" | "application/fhir+json" | "application/json"
                ) => {}
            _ => rest.push((name, value)),
        }
    }
    if let Some(page) = page {
        paging.seek = decode_seek(&page, paging.order.field).ok_or_else(|| {
            FhirError::BadRequest("_page is not a page of this search; follow the links.".into())
        })?;
    }
    Ok((paging, rest))
}

fn sort_order(value: &str) -> Result<SearchOrder, FhirError> {
    let (descending, field) = match value.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, value),
    };
    let field = match field {
        "_id" => SortField::Id,
        "_lastUpdated" => SortField::LastUpdated,
        "name" => SortField::Name,
        _ => {
            return Err(FhirError::BadRequest(format!(
                "_sort takes one of _lastUpdated, name or _id (- for descending), not {value:?}."
            )));
        }
    };
    Ok(SearchOrder { field, descending })
}

/// A parameter the resource's search does not implement.
pub fn unknown_parameter(resource_type: &str, name: &str) -> FhirError {
    FhirError::BadRequest(format!(
        "The search parameter {name} is not supported on {resource_type} (see /fhir/R4/metadata)."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_paging_default(pairs: Pairs) -> Result<(SearchPaging, Pairs), FhirError> {
        read_paging(pairs, SearchOrder::default())
    }

    fn utc(text: &str) -> Timestamp {
        let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("a time");
        Utc.from_utc_datetime(&at)
    }

    #[test]
    fn searches_are_bounded() {
        let many = vec!["name=x"; MAX_PARAMETERS + 1].join("&");
        assert!(decode(&many).is_err());
        assert!(decode(&format!("telecom={}", ",".repeat(MAX_ALTERNATIVES))).is_err());
        assert!(decode(&format!("telecom={}", ",".repeat(MAX_ALTERNATIVES - 1))).is_ok());
    }

    #[test]
    fn alternatives_split_on_unescaped_commas() {
        assert_eq!(alternatives("a,b\\,c"), ["a", "b,c"]);
        assert_eq!(alternatives("x"), ["x"]);
    }

    #[test]
    fn dates_stand_for_their_whole_precision() {
        let day = date_bounds("_lastUpdated", "2026-12-06").expect("a day");
        assert_eq!(
            day,
            [
                TimeBound::NotBefore(utc("2026-12-06 00:00:00")),
                TimeBound::Before(utc("2026-12-07 00:00:00"))
            ]
        );
        assert_eq!(
            date_bounds("_lastUpdated", "gt2026-12").expect("a month"),
            [TimeBound::NotBefore(utc("2027-01-01 00:00:00"))]
        );
        assert_eq!(
            date_bounds("_lastUpdated", "lt2026").expect("a year"),
            [TimeBound::Before(utc("2026-01-01 00:00:00"))]
        );
        assert_eq!(
            date_bounds("_lastUpdated", "ge2026-12-06T10:00:00+01:00").expect("an instant"),
            [TimeBound::NotBefore(utc("2026-12-06 09:00:00"))]
        );
        assert_eq!(
            date_bounds("_lastUpdated", "le2026-12-06T10:00Z").expect("a minute"),
            [TimeBound::Before(utc("2026-12-06 10:01:00"))]
        );
        assert_eq!(
            date_bounds("_lastUpdated", "eq2026-12-06T10:00:00.123Z").expect("milliseconds"),
            [
                TimeBound::NotBefore(utc("2026-12-06 10:00:00") + Duration::milliseconds(123)),
                TimeBound::Before(utc("2026-12-06 10:00:00") + Duration::milliseconds(124))
            ],
            "a meta.lastUpdated stands for its whole millisecond"
        );
        assert_eq!(
            date_bounds("_lastUpdated", "le9999").expect("the last year"),
            [TimeBound::Before(
                utc("9999-12-31 23:59:59") + Duration::microseconds(999_999)
            )],
            "clamped to the last instant stored"
        );
        for bad in [
            "2026-13-01",
            "ne2026",
            "yesterday",
            "2026-12-06T10",
            "sa2026",
            "123\u{e9}-1",
            "2026-12-06T10:0\u{e9}Z",
            "0000",
            "-2026",
        ] {
            assert!(date_bounds("_lastUpdated", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paging_reads_count_sort_total_and_its_own_page_links() {
        let pairs = |list: &[(&str, &str)]| -> Pairs {
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect()
        };
        let (paging, rest) = read_paging_default(pairs(&[
            ("_count", "500"),
            ("_sort", "-name"),
            ("name", "x"),
            ("_total", "none"),
        ]))
        .expect("valid");
        assert_eq!(paging.count, MAX_PAGE, "clamped");
        assert!(paging.order.descending && paging.order.field == SortField::Name);
        assert!(!paging.with_total);
        assert_eq!(rest, pairs(&[("name", "x")]));
        let seek = Seek::After(SeekKey {
            value: SortValue::Name("josé. garcía".into()),
            id: 7,
        });
        let link = encode_seek(&seek).expect("a page");
        assert_eq!(link, "a.n.7", "no name in a URL");
        let (read, _) =
            read_paging_default(pairs(&[("_sort", "name"), ("_page", &link)])).expect("valid");
        assert_eq!(
            read.seek,
            Seek::After(SeekKey {
                value: SortValue::NameOf,
                id: 7
            }),
            "the server looks the name up"
        );
        let far = format!("a.t.1.{}", i64::MIN);
        assert!(
            read_paging_default(pairs(&[("_sort", "_lastUpdated"), ("_page", &far)])).is_err(),
            "a time no database stores"
        );
        assert!(
            read_paging_default(pairs(&[("_page", &link)])).is_err(),
            "minted for another order"
        );
        for bad in [
            ("_count", "-1"),
            ("_count", "x"),
            ("_sort", "age"),
            ("_total", "maybe"),
        ] {
            assert!(read_paging_default(pairs(&[bad])).is_err(), "{bad:?}");
        }
    }
}
