//! The `AuthenticatedUser` extractor: the only place that reads the `Authorization` header.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use healthcare_core::services::{Authenticated, Caller};

use healthcare_web::client::{bearer_token, origin_of};
use healthcare_web::session;

use crate::errors::ApiError;
use crate::state::AppState;

/// The session whose valid access token came with the request: the user and the clinic it
/// acts in.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub Authenticated);

/// The session behind the request's access token, checked now.
fn authenticate(
    request: &HttpRequest,
) -> impl Future<Output = Result<Authenticated, ApiError>> + use<> {
    let token = bearer_token(request);
    let state = request.app_data::<web::Data<AppState>>().cloned();
    async move {
        let token = token.ok_or(ApiError::NotAuthenticated)?;
        let state = state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
        Ok(session::authenticate(state, |state| &state.auth, token).await?)
    }
}

impl FromRequest for AuthenticatedUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticated = authenticate(request);
        Box::pin(async move { Ok(Self(authenticated.await?)) })
    }
}

/// The authenticated user acting through this request, with the request's origin.
#[derive(Debug, Clone)]
pub struct RequestCaller(pub Caller);

impl FromRequest for RequestCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let origin = origin_of(request);
        let authenticated = authenticate(request);
        Box::pin(async move { Ok(Self(Caller::new(&authenticated.await?, origin))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::AUTHORIZATION;
    use actix_web::test::TestRequest;

    fn token_of(header: Option<&str>) -> Option<String> {
        let mut request = TestRequest::default();
        if let Some(value) = header {
            request = request.insert_header((AUTHORIZATION, value));
        }
        bearer_token(&request.to_http_request())
    }

    #[test]
    fn only_the_bearer_scheme_carries_a_token() {
        assert_eq!(token_of(Some("Bearer abc.def")).as_deref(), Some("abc.def"));
        assert_eq!(token_of(Some("bearer abc")).as_deref(), Some("abc"));
        assert_eq!(token_of(Some("Basic dXNlcjpwdw==")), None);
        assert_eq!(token_of(Some("Bearer ")), None);
        assert_eq!(token_of(Some("Bearer")), None);
        assert_eq!(token_of(None), None);
    }
}
