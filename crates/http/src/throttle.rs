//! The per-address limit on the auth routes, as an extractor: a handler that takes a
//! [`AuthRouteQuota`] counts its request against the caller's address first.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::state::{ApiConfig, AppState};

/// Proof that the request is within its address's per-minute allowance.
#[derive(Debug)]
pub struct AuthRouteQuota;

/// The client's address: the peer's; behind trusted proxies, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left are
/// written by the client and prove nothing).
pub fn client_address(request: &HttpRequest, config: &ApiConfig) -> String {
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
pub fn from_trusted_proxy(request: &HttpRequest, config: &ApiConfig) -> bool {
    request.peer_addr().is_some_and(|peer| {
        config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer.ip()))
    })
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
            body_read_timeout: std::time::Duration::from_secs(10),
            trusted_proxies: trusted.iter().map(|n| n.parse().expect("cidr")).collect(),
            secure_cookies: false,
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
