//! Path ids, `ETag` and `If-Match`: how a record's version travels over HTTP.

use std::future::{Ready, ready};

use actix_web::http::header::{ETAG, IF_MATCH};
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, dev::Payload};
use healthcare_core::services::IfMatch;
use serde::Serialize;

use crate::errors::ApiError;

/// The `{id}` of a route: a positive 64-bit integer, anything else is 404 "Not found.".
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(path_id(request, "id").map(Self))
    }
}

/// The `{user_id}` of a route, read as [`PathId`] reads `{id}`.
#[derive(Debug, Clone, Copy)]
pub struct PathUserId(pub i64);

impl FromRequest for PathUserId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(path_id(request, "user_id").map(Self))
    }
}

/// A positive 64-bit path segment; anything else is 404 "Not found.".
fn path_id(request: &HttpRequest, name: &str) -> Result<i64, ApiError> {
    request
        .match_info()
        .get(name)
        .and_then(|raw| raw.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or(ApiError::RouteNotFound)
}

/// The strong entity tag of a record version.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The versions an `If-Match` header accepts: `None` without the header or with `*` (any
/// current version). Weak or unknown tags accept nothing, so the write is refused (412).
pub fn if_match(request: &HttpRequest) -> Option<IfMatch> {
    let mut versions = Vec::new();
    let mut present = false;
    for value in request.headers().get_all(IF_MATCH) {
        present = true;
        let Ok(text) = value.to_str() else { continue };
        for tag in text.split(',').map(str::trim) {
            if tag == "*" {
                return None;
            }
            if let Some(version) = tag
                .strip_prefix("\"v")
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|v| v.parse().ok())
            {
                versions.push(version);
            }
        }
    }
    present.then_some(IfMatch(versions))
}

/// A JSON response carrying the record's `ETag`.
pub fn versioned(
    mut response: HttpResponseBuilder,
    version: i64,
    body: impl Serialize,
) -> HttpResponse {
    response.insert_header((ETAG, etag(version))).json(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn parse(values: &[&str]) -> Option<IfMatch> {
        let mut request = TestRequest::default();
        for value in values {
            request = request.append_header((IF_MATCH, *value));
        }
        if_match(&request.to_http_request())
    }

    #[test]
    fn if_match_forms() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&["*"]), None);
        assert_eq!(parse(&["\"v3\""]), Some(IfMatch(vec![3])));
        assert_eq!(
            parse(&["\"v3\", \"v4\"", "\"v5\""]),
            Some(IfMatch(vec![3, 4, 5]))
        );
        assert_eq!(
            parse(&["W/\"v3\""]),
            Some(IfMatch(vec![])),
            "weak tags never match"
        );
        assert_eq!(parse(&["garbage"]), Some(IfMatch(vec![])));
        assert_eq!(etag(3), "\"v3\"");
    }
}
