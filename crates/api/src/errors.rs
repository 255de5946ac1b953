//! The one mapping from every error to its status and JSON body, in the contract's shapes.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use healthcare_core::{Resource, ServiceError, TokenProblem};
use healthcare_domain::FieldErrors;
use healthcare_web::wording;
use serde_json::{Map, Value, json};

/// The `WWW-Authenticate` challenge sent with every 401.
const BEARER_CHALLENGE: &str = "Bearer realm=\"api\"";

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A use case failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No `Authorization: Bearer` header.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// The body is not valid JSON.
    #[error("JSON parse error: {0}")]
    JsonParse(String),
    /// The body is JSON but not an object; holds the JSON type's name.
    #[error("expected a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// The body is not `application/json`; holds the content type sent.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// The body is larger than the configured limit (in bytes).
    #[error("request body over {0} bytes")]
    PayloadTooLarge(usize),
    /// The body did not arrive within the configured time (in seconds).
    #[error("request body not received within {0} s")]
    BodyTooSlow(u64),
    /// No route matches the path, or a path id is not a positive integer.
    #[error("no such route")]
    RouteNotFound,
    /// A page number that is not a positive integer, or past the end.
    #[error("invalid page")]
    InvalidPage,
    /// A query string that cannot be decoded.
    #[error("malformed query string")]
    InvalidQuery,
    /// The `Host` header names no allowed host.
    #[error("host not allowed")]
    InvalidHost,
    /// The route exists but not for this method.
    #[error("method {method} not allowed")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The methods the route serves, for the `Allow` header.
        allowed: String,
    },
    /// The work could not be run (blocking pool gone, or it panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn detail(detail: impl Into<String>) -> Value {
        json!({ "detail": detail.into() })
    }

    fn token_not_valid(detail: &str) -> Value {
        json!({ "detail": detail, "code": "token_not_valid" })
    }

    /// Status and body, decided in one exhaustive match (no catch-all arm: a new error kind
    /// must not compile until someone decides its response).
    fn status_and_body(&self) -> (StatusCode, Value) {
        match self {
            Self::Service(error) => match error {
                ServiceError::Validation(errors) => {
                    (StatusCode::BAD_REQUEST, field_errors_body(errors))
                }
                // The JSON API answers a deleted record as a missing one, as the original did.
                ServiceError::NotFound(resource) | ServiceError::Gone(resource) => (
                    StatusCode::NOT_FOUND,
                    Self::detail(format!(
                        "No {} matches the given query.",
                        resource_name(*resource)
                    )),
                ),
                ServiceError::Forbidden => (
                    StatusCode::FORBIDDEN,
                    Self::detail("You do not have permission to perform this action."),
                ),
                ServiceError::SecondFactorRequired => (
                    StatusCode::FORBIDDEN,
                    json!({
                        "detail": "This needs a second factor: send a code to POST /api/auth/second-factor/ and use the tokens it returns.",
                        "code": "second_factor_required",
                    }),
                ),
                ServiceError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    json!({
                        "detail": "No active account found with the given credentials",
                        "code": "authentication_failed",
                    }),
                ),
                ServiceError::InvalidAccessToken => (
                    StatusCode::UNAUTHORIZED,
                    Self::token_not_valid("Given token not valid for any token type"),
                ),
                ServiceError::RefreshToken(problem) => (
                    StatusCode::UNAUTHORIZED,
                    Self::token_not_valid(match problem {
                        TokenProblem::WrongType => "Token has wrong type",
                        TokenProblem::InvalidOrExpired => "Token is invalid or expired",
                        TokenProblem::Blacklisted => "Token is blacklisted",
                    }),
                ),
                ServiceError::Throttled(seconds) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Self::detail(format!(
                        "Request was throttled. Expected available in {seconds} seconds."
                    )),
                ),
                ServiceError::AlreadyVisible => (
                    StatusCode::CONFLICT,
                    Self::detail("You already have access to this patient."),
                ),
                ServiceError::PreconditionFailed => (
                    StatusCode::PRECONDITION_FAILED,
                    Self::detail("The record was changed by someone else."),
                ),
                ServiceError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Self::detail("Service temporarily unavailable."),
                ),
                ServiceError::Internal(_) => internal_error(),
            },
            Self::NotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                Self::detail("Authentication credentials were not provided."),
            ),
            Self::JsonParse(what) => (
                StatusCode::BAD_REQUEST,
                Self::detail(format!("JSON parse error - {what}")),
            ),
            Self::NotAnObject(kind) => (
                StatusCode::BAD_REQUEST,
                json!({
                    "non_field_errors": [format!("Invalid data. Expected a dictionary, but got {kind}.")]
                }),
            ),
            Self::UnsupportedMediaType(content_type) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Self::detail(format!(
                    "Unsupported media type \"{content_type}\" in request."
                )),
            ),
            Self::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Self::detail(format!("Request body is too large (limit {limit} bytes).")),
            ),
            Self::BodyTooSlow(seconds) => (
                StatusCode::REQUEST_TIMEOUT,
                Self::detail(format!(
                    "The request body was not received within {seconds} s."
                )),
            ),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, Self::detail("Not found.")),
            Self::InvalidPage => (StatusCode::NOT_FOUND, Self::detail("Invalid page.")),
            Self::InvalidQuery => (
                StatusCode::BAD_REQUEST,
                Self::detail("Malformed query string."),
            ),
            Self::InvalidHost => (
                StatusCode::BAD_REQUEST,
                Self::detail("Invalid Host header."),
            ),
            Self::MethodNotAllowed { method, .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                Self::detail(format!("Method \"{method}\" not allowed.")),
            ),
            Self::Internal(_) => internal_error(),
        }
    }
}

fn internal_error() -> (StatusCode, Value) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::detail("Internal server error."),
    )
}

fn resource_name(resource: Resource) -> &'static str {
    match resource {
        Resource::Patient => "Patient",
        Resource::Doctor => "Doctor",
        Resource::PatientDoctorMapping => "PatientDoctorMapping",
        Resource::User => "User",
        Resource::Clinic => "Clinic",
        Resource::ClinicMember => "ClinicMember",
        Resource::AuditEvent => "AuditEvent",
    }
}

/// `{"field": ["message", ...], ...}`, in DRF's words.
pub fn field_errors_body(errors: &FieldErrors) -> Value {
    let body: Map<String, Value> = wording::messages(errors)
        .into_iter()
        .map(|(field, messages)| (field.to_owned(), json!(messages)))
        .collect();
    Value::Object(body)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status_and_body().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            // The cause goes to the log only, never into the body.
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BEARER_CHALLENGE),
            ));
        }
        if let Self::Service(ServiceError::Throttled(seconds)) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Self::MethodNotAllowed { allowed, .. } = self
            && let Ok(value) = HeaderValue::from_str(allowed)
        {
            response.insert_header((header::ALLOW, value));
        }
        let mut response = response.json(body);
        // Errors actix renders itself (a panic) pass no middleware: they get the headers here.
        healthcare_web::headers::apply_static_headers(response.headers_mut());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use healthcare_domain::FieldProblem;

    async fn render(error: ApiError) -> (u16, Value, Option<String>) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = to_bytes(response.into_body()).await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).expect("json"),
            challenge,
        )
    }

    #[actix_web::test]
    async fn internal_errors_never_leak_their_cause() {
        let (status, body, _) =
            render(ServiceError::Internal("SELECT secret FROM x".into()).into()).await;
        assert_eq!(status, 500);
        assert_eq!(body, json!({"detail": "Internal server error."}));
    }

    #[actix_web::test]
    async fn unauthorized_responses_carry_the_bearer_challenge() {
        let (status, body, challenge) = render(ApiError::NotAuthenticated).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"detail": "Authentication credentials were not provided."})
        );
        assert_eq!(challenge.as_deref(), Some(BEARER_CHALLENGE));
    }

    #[actix_web::test]
    async fn field_errors_keep_every_field() {
        let mut errors = FieldErrors::single("name", FieldProblem::Required);
        errors.add("age", FieldProblem::NotAnInteger);
        let (status, body, _) = render(ServiceError::Validation(errors).into()).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"name": ["This field is required."], "age": ["A valid integer is required."]})
        );
    }

    #[actix_web::test]
    async fn outages_are_503() {
        let (status, body, _) =
            render(ServiceError::Unavailable("pool timeout".into()).into()).await;
        assert_eq!(
            (status, body),
            (503, json!({"detail": "Service temporarily unavailable."}))
        );
    }
}
