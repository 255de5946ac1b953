//! Answers for requests no route takes: unknown paths and wrong methods, in JSON.

use actix_web::{HttpRequest, HttpResponse};

use crate::errors::ApiError;

/// Any path no route matches.
pub async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

/// A known path with a method it does not serve.
pub async fn method_not_allowed(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(request.method().to_string()))
}
