//! Response hardening and request admission: the security headers on every response (errors
//! included), and the `Host` allow-list (`ALLOWED_HOSTS`), as the original framework checked it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};

use crate::errors::ApiError;
use healthcare_web::headers::{JSON_CSP, apply_headers};

/// HSTS when the service is reached over TLS: one year, subdomains included.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The admission and header policy.
#[derive(Debug, Clone, Default)]
pub struct SecurityPolicy {
    /// Accepted `Host` names: exact names, `.example.com` for a domain and its subdomains,
    /// `*` for any.
    pub allowed_hosts: Vec<String>,
    /// Send `Strict-Transport-Security` (the service is reached over TLS).
    pub hsts: bool,
}

impl SecurityPolicy {
    /// Whether the `Host` header is a well-formed authority (a name or a bracketed IPv6
    /// address, then at most `:port`) naming an allowed host. Anything else is refused, even
    /// with `*`: the header is copied into pagination links.
    pub fn host_allowed(&self, host_header: Option<&str>) -> bool {
        let Some(host) = host_header.and_then(host_of) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.iter().any(|allowed| {
            let allowed = allowed.to_ascii_lowercase();
            allowed == "*"
                || allowed == host
                || allowed
                    .strip_prefix('.')
                    .is_some_and(|domain| host == domain || host.ends_with(&allowed))
        })
    }
}

/// The host of a `Host` header, as Django's `split_domain_port` reads it: a name of letters,
/// digits, dots and hyphens (a trailing dot dropped), or a bracketed IPv6 address, then at
/// most `:` and digits. `None` for anything else (`[::1]@evil.com`, `a b`, `host:x`).
fn host_of(header: &str) -> Option<&str> {
    let (host, rest) = if header.starts_with('[') {
        let end = header.find(']')?;
        let address = &header[1..end];
        let valid = address.contains(':')
            && address
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid {
            return None;
        }
        (&header[..=end], &header[end + 1..])
    } else {
        let end = header.find(':').unwrap_or(header.len());
        let name = &header[..end];
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid {
            return None;
        }
        (name.strip_suffix('.').unwrap_or(name), &header[end..])
    };
    let port_ok = rest.is_empty()
        || rest
            .strip_prefix(':')
            .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    port_ok.then_some(host)
}

/// CORS for the configured origins: the API's methods, the headers clients send (`Authorization`,
/// `Content-Type`, `If-Match`, `X-Request-Id`) and read (`ETag`, `X-Request-Id`). Never a wildcard
/// and never credentials: the API authenticates with bearer tokens, not cookies.
pub fn cors(allowed_origins: &[String]) -> actix_cors::Cors {
    allowed_origins
        .iter()
        .fold(actix_cors::Cors::default(), |cors, origin| {
            cors.allowed_origin(origin)
        })
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([header::ETAG, HeaderName::from_static("x-request-id")])
        .max_age(3600)
}

/// The middleware; install with `actix_web::middleware::from_fn(security)` and put a
/// `web::Data<SecurityPolicy>` in the app data.
pub async fn security(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let policy = request
        .app_data::<web::Data<SecurityPolicy>>()
        .cloned()
        .unwrap_or_default();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let mut response = if policy.host_allowed(host) {
        next.call(request).await?.map_into_boxed_body()
    } else {
        request.into_response(ApiError::InvalidHost.error_response())
    };
    let headers = response.headers_mut();
    // JSON's policy, unless the page chose its own (the docs pages and the admin site set
    // theirs on their scopes).
    apply_headers(headers, JSON_CSP);
    if policy.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test as actix_test};

    fn policy(hosts: &[&str]) -> SecurityPolicy {
        SecurityPolicy {
            allowed_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            hsts: false,
        }
    }

    #[test]
    fn host_patterns_follow_django() {
        let allowed = policy(&["localhost", "127.0.0.1", ".clinic.org", "[::1]"]);
        for host in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:9",
            "clinic.org",
            "api.clinic.org:443",
            "LOCALHOST",
            "[::1]:8000",
        ] {
            assert!(allowed.host_allowed(Some(host)), "{host}");
        }
        for host in ["evil.com", "clinic.org.evil.com", "notclinic.org", ""] {
            assert!(!allowed.host_allowed(Some(host)), "{host}");
        }
        assert!(!allowed.host_allowed(None));
        assert!(policy(&["*"]).host_allowed(Some("anything.example")));
        assert!(allowed.host_allowed(Some("localhost.")), "a trailing dot");
    }

    #[test]
    fn anything_after_the_host_but_a_port_is_refused() {
        let allowed = policy(&["localhost", "[::1]", "*"]);
        for host in [
            "[::1]@evil.com",
            "[::1]evil.com",
            "[::1]:80@evil.com",
            "[::1]:",
            "localhost@evil.com",
            "localhost:80@evil.com",
            "localhost:",
            "localhost:8x",
            "user@localhost",
            "localhost/evil",
            "local host",
            "[evil.com]",
            "[::1",
        ] {
            assert!(!allowed.host_allowed(Some(host)), "{host}");
        }
    }

    #[actix_web::test]
    async fn json_gets_the_json_policy_and_a_page_keeps_the_one_it_chose() {
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(policy(&["*"])))
                .wrap(from_fn(security))
                .route(
                    "/json",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
                .service(
                    web::scope("/docs")
                        .wrap(from_fn(|request, next| {
                            healthcare_web::headers::content_security_policy(
                                healthcare_web::headers::DOCS_CSP,
                                request,
                                next,
                            )
                        }))
                        .route("/", web::get().to(|| async { HttpResponse::Ok().finish() })),
                ),
        )
        .await;
        for (path, expected) in [
            ("/json", JSON_CSP),
            ("/docs/", healthcare_web::headers::DOCS_CSP),
        ] {
            let reply = actix_test::call_service(
                &app,
                actix_test::TestRequest::get()
                    .uri(path)
                    .insert_header((header::HOST, "localhost"))
                    .to_request(),
            )
            .await;
            assert_eq!(
                reply
                    .headers()
                    .get(header::CONTENT_SECURITY_POLICY)
                    .and_then(|v| v.to_str().ok()),
                Some(expected),
                "{path}"
            );
        }
    }

    #[actix_web::test]
    async fn headers_on_every_response_and_host_refusals_are_json_400() {
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(SecurityPolicy {
                    hsts: true,
                    ..policy(&["api.clinic.org"])
                }))
                .wrap(from_fn(security))
                .route(
                    "/x",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                ),
        )
        .await;
        let ok = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/x")
                .insert_header((header::HOST, "api.clinic.org"))
                .to_request(),
        )
        .await;
        assert_eq!(ok.status().as_u16(), 200);
        let value = |name: HeaderName| {
            ok.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            value(header::X_CONTENT_TYPE_OPTIONS).as_deref(),
            Some("nosniff")
        );
        assert_eq!(value(header::CACHE_CONTROL).as_deref(), Some("no-store"));
        assert_eq!(value(header::X_FRAME_OPTIONS).as_deref(), Some("DENY"));
        assert_eq!(
            value(header::REFERRER_POLICY).as_deref(),
            Some("no-referrer")
        );
        assert_eq!(
            value(header::CONTENT_SECURITY_POLICY).as_deref(),
            Some(JSON_CSP)
        );
        assert_eq!(
            value(header::STRICT_TRANSPORT_SECURITY).as_deref(),
            Some(HSTS)
        );

        let refused = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/x")
                .insert_header((header::HOST, "evil.com"))
                .to_request(),
        )
        .await;
        assert_eq!(refused.status().as_u16(), 400);
        assert!(
            refused
                .headers()
                .get(header::X_FRAME_OPTIONS)
                .is_some_and(|v| v == "DENY")
        );
        let body = actix_test::read_body(refused).await;
        assert_eq!(&body[..], br#"{"detail":"Invalid Host header."}"#);
    }
}
