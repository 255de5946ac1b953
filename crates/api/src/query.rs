//! Query strings of list routes: pagination (`page`, `page_size`), filters, and the absolute
//! `next`/`previous` links that keep the other parameters.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse};
use healthcare_core::{Page, PageOf, ServiceError};
use healthcare_domain::{FieldErrors, FieldProblem};
use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::body::{parse_boolean, parse_integer_text};
use crate::errors::ApiError;
use healthcare_web::WebConfig;
use healthcare_web::client::own_origin;

/// The largest `page` or `page_size` read: the document types them as 64-bit signed integers.
const MAX_PARAMETER: u64 = i64::MAX as u64;

/// A list request's query parameters and the page it asks for.
#[derive(Debug)]
pub struct ListQuery {
    params: Vec<(String, String)>,
    /// The requested page.
    pub page: Page,
}

impl ListQuery {
    /// Reads `page` (not a positive integer: 404 "Invalid page.") and `page_size` (default
    /// 20, clamped to 100; not a positive integer: 400).
    pub fn parse(request: &HttpRequest) -> Result<Self, ApiError> {
        let params: Vec<(String, String)> = serde_urlencoded::from_str(request.query_string())
            .map_err(|_| ApiError::InvalidQuery)?;
        if let Some((name, _)) = params.iter().find(|(_, value)| value.contains('\0')) {
            return Err(invalid_filter(name, FieldProblem::NullCharacter));
        }
        let value = |name: &str| {
            params
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, v)| v.as_str())
        };
        let number = match value("page") {
            None => 1,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_PARAMETER).contains(n))
                .ok_or(ApiError::InvalidPage)?,
        };
        let size = match value("page_size") {
            None => Page::DEFAULT_SIZE,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_PARAMETER).contains(n))
                .ok_or_else(|| {
                    ApiError::from(ServiceError::Validation(FieldErrors::single(
                        "page_size",
                        FieldProblem::NotAPositiveInteger,
                    )))
                })?,
        };
        Ok(Self {
            page: Page {
                number,
                size: size.min(Page::MAX_SIZE),
            },
            params,
        })
    }

    /// The last value of a parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A non-empty text filter.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// An optional integer filter; anything else is a 400 on that parameter.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(raw) => parse_integer_text(raw)
                .map(Some)
                .ok_or_else(|| invalid_filter(name, FieldProblem::NotAnInteger)),
        }
    }

    /// An optional boolean filter: `true`/`false`/`1`/`0` (any case); anything else is a 400.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(raw) => match raw.to_lowercase().as_str() {
                "true" | "false" | "1" | "0" => Ok(parse_boolean(raw)),
                _ => Err(invalid_filter(name, FieldProblem::NotABoolean)),
            },
        }
    }

    fn link(&self, base: &str, page: Option<u64>) -> String {
        let mut params: Vec<(&str, String)> = self
            .params
            .iter()
            .filter(|(key, _)| key != "page")
            .map(|(key, value)| (key.as_str(), value.clone()))
            .collect();
        if let Some(page) = page {
            params.push(("page", page.to_string()));
        }
        params.sort_by(|a, b| a.0.cmp(b.0));
        match serde_urlencoded::to_string(&params) {
            Ok(query) if !query.is_empty() => format!("{base}?{query}"),
            _ => base.to_owned(),
        }
    }
}

fn invalid_filter(name: &str, problem: FieldProblem) -> ApiError {
    ServiceError::Validation(FieldErrors::single(name, problem)).into()
}

/// A page in the contract's shape.
#[derive(Debug, Serialize)]
pub struct PageJson<T> {
    /// Matching items in all.
    count: u64,
    /// The next page, absolute, or null on the last.
    next: Option<String>,
    /// The previous page, absolute, or null on the first.
    previous: Option<String>,
    /// This page's items.
    results: Vec<T>,
}

/// Room for a page's body beside its items: the count and the two links.
const PAGE_BYTES: usize = 512;
/// Room for one item of a page's body (a patient's record takes 300 to 500 bytes).
const ITEM_BYTES: usize = 512;

impl<T: Serialize> PageJson<T> {
    /// The page as a `200 OK` JSON body, written into a buffer made for its items:
    /// serde_json's own starts at 128 bytes and copies the body again at each doubling.
    pub fn into_response(self) -> Result<HttpResponse, ApiError> {
        let mut body = Vec::with_capacity(PAGE_BYTES + ITEM_BYTES * self.results.len());
        serde_json::to_writer(&mut body, &self).map_err(|error| {
            ApiError::Internal(format!("a page could not be written as JSON: {error}"))
        })?;
        Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(body))
    }
}

/// Written by hand because the derived schema of a generic type copies `T` into every page:
/// here the items refer to `T`'s own schema, and `next` and `previous` are required (they are
/// always sent, `null` at either end).
impl<T: ToSchema> PartialSchema for PageJson<T> {
    fn schema() -> RefOr<Schema> {
        let link = |description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .format(Some(SchemaFormat::Custom("uri".to_owned())))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!("A page of `{}`.", T::name())))
            .property(
                "count",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0))
                    .description(Some("Matching items in all.")),
            )
            .property(
                "next",
                link("The next page, absolute (the other query parameters kept), or null on the last."),
            )
            .property(
                "previous",
                link("The previous page, absolute, or null on the first."),
            )
            .property(
                "results",
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(T::name()))
                    .description(Some("This page's items.")),
            )
            .required("count")
            .required("next")
            .required("previous")
            .required("results")
            .into()
    }
}

impl<T: ToSchema> ToSchema for PageJson<T> {
    fn name() -> Cow<'static, str> {
        format!("PageJson_{}", T::name()).into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into(), T::schema()));
        T::schemas(schemas);
    }
}

/// Builds the response body for one page; a page past the end is 404 "Invalid page.".
pub fn page_json<T, J>(
    request: &HttpRequest,
    config: &WebConfig,
    query: &ListQuery,
    found: PageOf<T>,
    convert: impl FnMut(T) -> J,
) -> Result<PageJson<J>, ApiError> {
    let page = query.page;
    if found.is_past_end(page) {
        return Err(ApiError::InvalidPage);
    }
    let base = absolute_base(request, config);
    let next = found
        .has_next(page)
        .then(|| query.link(&base, Some(page.number + 1)));
    let previous = match page.number {
        1 => None,
        2 => Some(query.link(&base, None)),
        n => Some(query.link(&base, Some(n - 1))),
    };
    Ok(PageJson {
        count: found.total,
        next,
        previous,
        results: found.items.into_iter().map(convert).collect(),
    })
}

/// `scheme://host/path/` of the request, believing `X-Forwarded-Proto`/`-Host` only from a
/// trusted proxy.
pub fn absolute_base(request: &HttpRequest, config: &WebConfig) -> String {
    let path = request.path();
    let slash = if path.ends_with('/') { "" } else { "/" };
    format!("{}{path}{slash}", own_origin(request, config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HOST;
    use actix_web::test::TestRequest;

    fn config(trusted: &[&str]) -> WebConfig {
        WebConfig {
            max_body_bytes: 1024,
            body_read_timeout: std::time::Duration::from_secs(10),
            trusted_proxies: trusted
                .iter()
                .map(|net| net.parse().expect("cidr"))
                .collect(),
        }
    }

    fn query(uri: &str) -> Result<ListQuery, ApiError> {
        ListQuery::parse(&TestRequest::get().uri(uri).to_http_request())
    }

    #[test]
    fn page_and_page_size_rules() {
        let q = query("/api/patients?page=3&page_size=500").expect("valid");
        assert_eq!(
            q.page,
            Page {
                number: 3,
                size: 100
            }
        );
        assert_eq!(
            query("/x").expect("valid").page,
            Page {
                number: 1,
                size: 20
            }
        );
        for bad in ["/x?page=0", "/x?page=abc", "/x?page=-1", "/x?page=last"] {
            assert!(matches!(query(bad), Err(ApiError::InvalidPage)), "{bad}");
        }
        for bad in ["/x?page_size=0", "/x?page_size=ten"] {
            assert!(
                matches!(
                    query(bad),
                    Err(ApiError::Service(ServiceError::Validation(_)))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn filters() {
        let q = query("/x?available=TRUE&patient=4&doctor=x&search=%20a%25b%20").expect("valid");
        assert_eq!(q.boolean("available").ok(), Some(Some(true)));
        assert_eq!(q.integer("patient").ok(), Some(Some(4)));
        assert!(q.integer("doctor").is_err());
        assert_eq!(q.text("search").as_deref(), Some("a%b"));
        assert!(
            query("/x?available=yes")
                .expect("valid")
                .boolean("available")
                .is_err()
        );
        assert!(matches!(
            query("/x?search=a%00b"),
            Err(ApiError::Service(ServiceError::Validation(_)))
        ));
        assert_eq!(
            query("/x?available=0")
                .expect("valid")
                .boolean("available")
                .ok(),
            Some(Some(false))
        );
    }

    #[test]
    fn links_keep_other_parameters_and_use_the_host() {
        let request = TestRequest::get()
            .uri("/api/patients?search=ann&page=2&page_size=1")
            .insert_header((HOST, "clinic.example:8000"))
            .to_http_request();
        let q = ListQuery::parse(&request).expect("valid");
        let found = PageOf {
            items: vec![1],
            total: 3,
        };
        let page = page_json(&request, &config(&[]), &q, found, |x| x).expect("page");
        assert_eq!(
            page.next.as_deref(),
            Some("http://clinic.example:8000/api/patients/?page=3&page_size=1&search=ann")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("http://clinic.example:8000/api/patients/?page_size=1&search=ann")
        );
    }

    #[actix_web::test]
    async fn a_page_answers_200_with_its_json() {
        let page = PageJson {
            count: 3,
            next: Some("http://h/api/patients/?page=2".to_owned()),
            previous: None,
            results: vec!["a\"b", "c"],
        };
        let expected = serde_json::to_vec(&page).expect("json");
        let response = page.into_response().expect("response");
        assert_eq!(response.status(), actix_web::http::StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE),
            Some(&actix_web::http::header::HeaderValue::from_static(
                "application/json"
            ))
        );
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("body");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            serde_json::json!({
                "count": 3,
                "next": "http://h/api/patients/?page=2",
                "previous": null,
                "results": ["a\"b", "c"],
            })
        );
        assert_eq!(body.as_ref(), expected.as_slice());
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let request = || {
            TestRequest::get()
                .uri("/api/doctors")
                .peer_addr("10.0.0.5:4000".parse().expect("addr"))
                .insert_header((HOST, "internal:8000"))
                .insert_header(("X-Forwarded-Proto", "https"))
                .insert_header(("X-Forwarded-Host", "api.clinic.org"))
                .to_http_request()
        };
        assert_eq!(
            absolute_base(&request(), &config(&[])),
            "http://internal:8000/api/doctors/"
        );
        assert_eq!(
            absolute_base(&request(), &config(&["10.0.0.0/8"])),
            "https://api.clinic.org/api/doctors/"
        );
    }

    #[test]
    fn a_page_past_the_end_is_invalid() {
        let request = TestRequest::get().uri("/x?page=2").to_http_request();
        let q = ListQuery::parse(&request).expect("valid");
        let empty: PageOf<u8> = PageOf {
            items: vec![],
            total: 0,
        };
        assert!(matches!(
            page_json(&request, &config(&[]), &q, empty, |x| x),
            Err(ApiError::InvalidPage)
        ));
    }
}
