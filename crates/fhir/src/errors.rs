//! Every failure as the `OperationOutcome` FHIR prescribes, with its status: 404 for what does
//! not exist or is not the caller's (the same body for both), 410 for what was deleted here,
//! 400 for a bad search parameter, 401, 403.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use healthcare_core::{Resource, ServiceError};
use serde_json::{Value, json};

use crate::FHIR_JSON;

/// Everything a FHIR request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// A use case failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No `Authorization: Bearer` header.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// A search parameter, modifier, value or path id the server does not accept.
    #[error("{0}")]
    BadRequest(String),
    /// A `_search` form body over the configured limit.
    #[error("form body too large")]
    BodyTooLarge,
    /// No interaction of this server matches the path.
    #[error("no such route")]
    UnknownRoute,
    /// The path exists, not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
}

/// The FHIR name of a resource the use cases report on.
fn resource_type(resource: Resource) -> &'static str {
    match resource {
        Resource::Patient => "Patient",
        Resource::Doctor => "Practitioner",
        Resource::PatientDoctorMapping => "CareTeam",
        Resource::User => "Practitioner",
        Resource::Clinic | Resource::ClinicMember => "Organization",
        Resource::AuditEvent => "AuditEvent",
    }
}

impl FhirError {
    /// Status, the code and its diagnostics, in one exhaustive match.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Service(error) => match error {
                ServiceError::Validation(errors) => (
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("Invalid request: {errors}"),
                ),
                ServiceError::NotFound(resource) => (
                    StatusCode::NOT_FOUND,
                    "not-found",
                    format!("No {} with this id.", resource_type(*resource)),
                ),
                ServiceError::Gone(resource) => (
                    StatusCode::GONE,
                    "deleted",
                    format!("This {} was deleted.", resource_type(*resource)),
                ),
                ServiceError::Forbidden => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "You do not have permission to perform this action.".into(),
                ),
                ServiceError::SecondFactorRequired => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "This needs a session that proved a second factor.".into(),
                ),
                ServiceError::InvalidCredentials
                | ServiceError::InvalidAccessToken
                | ServiceError::RefreshToken(_) => (
                    StatusCode::UNAUTHORIZED,
                    "login",
                    "The access token is invalid or expired.".into(),
                ),
                ServiceError::Throttled(seconds) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    format!("Too many requests: retry in {seconds} seconds."),
                ),
                ServiceError::AlreadyVisible => (
                    StatusCode::CONFLICT,
                    "conflict",
                    "You already have access to this patient.".into(),
                ),
                ServiceError::PreconditionFailed => (
                    StatusCode::PRECONDITION_FAILED,
                    "conflict",
                    "The resource changed since that version.".into(),
                ),
                ServiceError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transient",
                    "The service is temporarily unavailable.".into(),
                ),
                ServiceError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "exception",
                    "A server error occurred.".into(),
                ),
            },
            Self::NotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                "login",
                "Authentication credentials were not provided.".into(),
            ),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "invalid", message.clone()),
            Self::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-costly",
                "The form body is larger than this server accepts.".into(),
            ),
            Self::UnknownRoute => (
                StatusCode::NOT_FOUND,
                "not-supported",
                "This server has no such FHIR interaction (see /fhir/R4/metadata).".into(),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "not-supported",
                "This interaction is read-only here: writes stay on /api/ in this release.".into(),
            ),
        }
    }
}

/// An `OperationOutcome` with one error issue.
pub fn operation_outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    })
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, diagnostics) = self.parts();
        if status.is_server_error() {
            // The cause goes to the log only, never into the body.
            tracing::error!(error = %self, status = status.as_u16(), "FHIR request failed");
        }
        let mut response = HttpResponse::build(status);
        response.content_type(FHIR_JSON);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fhir\""),
            ));
        }
        if let Self::Service(ServiceError::Throttled(seconds)) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Self::MethodNotAllowed = self {
            response.insert_header((header::ALLOW, "GET"));
        }
        response.body(operation_outcome(code, &diagnostics).to_string())
    }
}
