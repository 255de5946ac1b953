//! Answers for requests no route takes: unknown paths and wrong methods, in JSON.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::errors::ApiError;
use crate::openapi::ApiDocument;

/// Any path no route matches.
pub async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}

/// No route took the request: 405 when a documented route has this path (so only the method
/// is wrong), 404 otherwise.
pub async fn method_or_not_found(
    request: HttpRequest,
    document: web::Data<ApiDocument>,
) -> Result<HttpResponse, ApiError> {
    match document.allowed_methods(request.path()) {
        Some(allowed) => Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allowed: allowed.to_owned(),
        }),
        None => Err(ApiError::RouteNotFound),
    }
}
