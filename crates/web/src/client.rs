//! Who the client is and where a request came from: the client address behind trusted
//! proxies, the origin the client reached, and the request id, for the audit trail.

use std::net::IpAddr;

use actix_web::http::header::{HOST, HeaderName};
use actix_web::{HttpMessage, HttpRequest, web};
use healthcare_domain::audit::RequestOrigin;

/// HTTP settings both adapters read.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request body may take to arrive, from its first byte to its last.
    pub body_read_timeout: std::time::Duration,
    /// Proxies whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The header carrying the request id both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, in the request extensions for handlers (the audit trail records it).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address: the peer's; behind trusted proxies, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left are
/// written by the client and prove nothing).
pub fn client_address(request: &HttpRequest, config: &WebConfig) -> String {
    let trusted = |ip: &IpAddr| config.trusted_proxies.iter().any(|net| net.contains(ip));
    let Some(peer) = request.peer_addr().map(|address| address.ip()) else {
        return "unknown".to_owned();
    };
    if !trusted(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
        .to_string()
}

/// Whether the request comes straight from a proxy listed in `TRUSTED_PROXIES` (whose
/// forwarding headers are believed).
pub fn from_trusted_proxy(request: &HttpRequest, config: &WebConfig) -> bool {
    request.peer_addr().is_some_and(|peer| {
        config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer.ip()))
    })
}

/// `scheme://host` the client reached (the origin of the pages it was served), believing
/// `X-Forwarded-Proto`/`-Host` only from a trusted proxy.
pub fn own_origin(request: &HttpRequest, config: &WebConfig) -> String {
    let trusted = from_trusted_proxy(request, config);
    let forwarded = |name: &str| {
        trusted
            .then(|| request.headers().get(name).and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    // Not `connection_info()`: it believes forwarding headers from anyone.
    let own_scheme = if request.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let scheme = forwarded("x-forwarded-proto").unwrap_or_else(|| own_scheme.to_owned());
    let host = forwarded("x-forwarded-host")
        .or_else(|| {
            request
                .headers()
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| request.app_config().host().to_owned());
    format!("{scheme}://{host}")
}

/// Where the request came from, for the audit trail: the client address (as the per-address
/// limit counts it) and the request id.
pub fn origin_of(request: &HttpRequest) -> RequestOrigin {
    RequestOrigin {
        client_address: request
            .app_data::<web::Data<WebConfig>>()
            .map(|config| client_address(request, config)),
        request_id: request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone()),
    }
}

/// The token of an `Authorization: Bearer <token>` header; `None` for no header or another
/// scheme.
pub fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn config(trusted: &[&str]) -> WebConfig {
        WebConfig {
            max_body_bytes: 1,
            body_read_timeout: std::time::Duration::from_secs(10),
            trusted_proxies: trusted.iter().map(|n| n.parse().expect("cidr")).collect(),
        }
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let request = |forwarded: &str| {
            TestRequest::default()
                .peer_addr("10.1.2.3:5000".parse().expect("addr"))
                .insert_header(("X-Forwarded-For", forwarded.to_owned()))
                .to_http_request()
        };
        let behind = config(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(&request("203.0.113.9"), &config(&[])),
            "10.1.2.3",
            "untrusted peer"
        );
        assert_eq!(
            client_address(&request("203.0.113.9"), &behind),
            "203.0.113.9"
        );
        // A client-written entry on the left is ignored: the proxy appended the real address.
        assert_eq!(
            client_address(&request("1.2.3.4, 203.0.113.9"), &behind),
            "203.0.113.9"
        );
        assert_eq!(
            client_address(&request("203.0.113.9, 10.0.0.7"), &behind),
            "203.0.113.9",
            "proxies skipped"
        );
        assert_eq!(client_address(&request("not-an-ip"), &behind), "10.1.2.3");
    }
}
