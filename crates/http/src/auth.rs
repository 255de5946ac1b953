//! The `AuthenticatedUser` extractor: the only place that reads the `Authorization` header.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use healthcare_domain::User;

use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::state::AppState;

/// The user whose valid access token came with the request.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub User);

/// The token of an `Authorization: Bearer <token>` header; `None` for no header or another
/// scheme.
fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

impl FromRequest for AuthenticatedUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request);
        let state = request.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(ApiError::NotAuthenticated)?;
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let user = run_blocking(move || state.auth.authenticate(&token)).await?;
            Ok(Self(user))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
