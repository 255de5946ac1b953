//! The per-address limit on the auth routes, as an extractor: a handler that takes a
//! [`AuthRouteQuota`] counts its request against the caller's address first.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::errors::ApiError;
use crate::handlers::run_blocking;
use healthcare_web::WebConfig;
use healthcare_web::client::client_address;

use crate::state::AppState;

/// Proof that the request is within its address's per-minute allowance.
#[derive(Debug)]
pub struct AuthRouteQuota;

impl FromRequest for AuthRouteQuota {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let address = request
            .app_data::<web::Data<WebConfig>>()
            .map(|config| client_address(request, config));
        Box::pin(async move {
            let (Some(state), Some(address)) = (state, address) else {
                return Err(ApiError::Internal("application state missing".into()));
            };
            run_blocking(move || state.auth.check_client_address(&address)).await?;
            Ok(Self)
        })
    }
}
