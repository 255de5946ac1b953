//! The static security headers every response carries, errors rendered by actix included;
//! each adapter may choose its own content security policy.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// CSP for JSON: nothing may load, nothing may frame it.
pub const JSON_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// CSP for the Swagger UI and ReDoc pages: only their own assets, inline styles (both render
/// with them), ReDoc's blob web worker, and data: images and fonts embedded in the bundles.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Sets the headers every response carries. Called for responses the middleware sees and, for
/// errors actix renders itself (a panic), from the error mapping.
pub fn apply_static_headers(headers: &mut HeaderMap) {
    apply_headers(headers, JSON_CSP);
}

/// Middleware body for a scope whose pages need their own policy (the docs pages, the admin
/// site): `from_fn(|request, next| content_security_policy(POLICY, request, next))`.
pub async fn content_security_policy<B: MessageBody + 'static>(
    csp: &'static str,
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let mut response = next.call(request).await?;
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    Ok(response)
}

/// The static headers, with `csp` as the content security policy unless the response chose
/// its own (the docs pages and the admin site do, on their scopes).
pub fn apply_headers(headers: &mut HeaderMap, csp: &'static str) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(headers, header::CONTENT_SECURITY_POLICY, csp);
    }
}
