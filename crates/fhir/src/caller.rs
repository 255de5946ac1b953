//! The caller of a FHIR request: the same access token, and so the same user and active
//! clinic, as on `/api/`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use healthcare_core::services::Caller;
use healthcare_web::client::{bearer_token, origin_of};
use healthcare_web::session;

use crate::errors::FhirError;
use crate::state::FhirState;

/// The authenticated user acting through this request, with the request's origin.
#[derive(Debug, Clone)]
pub struct FhirCaller(pub Caller);

impl FromRequest for FhirCaller {
    type Error = FhirError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, FhirError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request);
        let state = request.app_data::<web::Data<FhirState>>().cloned();
        let origin = origin_of(request);
        Box::pin(async move {
            let token = token.ok_or(FhirError::NotAuthenticated)?;
            let state = state.ok_or_else(|| {
                FhirError::Service(healthcare_core::ServiceError::Internal(
                    "FHIR state missing".into(),
                ))
            })?;
            let session = session::authenticate(state, |state| &state.auth, token).await?;
            Ok(Self(Caller::new(&session, origin)))
        })
    }
}
