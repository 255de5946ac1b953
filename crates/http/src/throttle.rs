//! The per-address limit on the auth routes, as an extractor: a handler that takes a
//! [`AuthRouteQuota`] counts its request against the caller's address first.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::state::{ApiConfig, AppState};

/// Proof that the request is within its address's per-minute allowance.
#[derive(Debug)]
pub struct AuthRouteQuota;

/// The client's address: the peer's, or the first `X-Forwarded-For` entry when the peer is a
/// trusted proxy.
pub fn client_address(request: &HttpRequest, config: &ApiConfig) -> String {
    let peer = request.peer_addr().map(|address| address.ip());
    let trusted = peer.is_some_and(|ip| config.trusted_proxies.iter().any(|net| net.contains(&ip)));
    let forwarded = trusted
        .then(|| {
            request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        })
        .flatten()
        .and_then(|list| list.split(',').next())
        .map(str::trim)
        .filter(|address| address.parse::<std::net::IpAddr>().is_ok());
    match (forwarded, peer) {
        (Some(address), _) => address.to_owned(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => "unknown".to_owned(),
    }
}

impl FromRequest for AuthRouteQuota {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let address = state
            .as_ref()
            .map(|state| client_address(request, &state.config));
        Box::pin(async move {
            let (Some(state), Some(address)) = (state, address) else {
                return Err(ApiError::Internal("application state missing".into()));
            };
            run_blocking(move || state.auth.check_client_address(&address)).await?;
            Ok(Self)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn config(trusted: &[&str]) -> ApiConfig {
        ApiConfig {
            max_body_bytes: 1,
            trusted_proxies: trusted.iter().map(|n| n.parse().expect("cidr")).collect(),
        }
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let request = || {
            TestRequest::default()
                .peer_addr("10.1.2.3:5000".parse().expect("addr"))
                .insert_header(("X-Forwarded-For", "203.0.113.9, 10.1.2.3"))
                .to_http_request()
        };
        assert_eq!(client_address(&request(), &config(&[])), "10.1.2.3");
        assert_eq!(
            client_address(&request(), &config(&["10.0.0.0/8"])),
            "203.0.113.9"
        );
        let spoofed = TestRequest::default()
            .peer_addr("10.1.2.3:5000".parse().expect("addr"))
            .insert_header(("X-Forwarded-For", "not-an-ip"))
            .to_http_request();
        assert_eq!(
            client_address(&spoofed, &config(&["10.0.0.0/8"])),
            "10.1.2.3"
        );
    }
}
