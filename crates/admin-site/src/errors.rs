//! The one mapping from a failed admin request to an HTML page. Handlers that can show the
//! problem on a form (validation, stale versions) catch those first; everything else lands
//! here.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use healthcare_core::{Resource, ServiceError};
use maud::html;

use crate::cookie::removal_cookie;
use crate::layout::{FormState, html_response, page, problem_text};

/// Shown when a signed-in account is not (or no longer) active staff.
pub const NOT_STAFF: &str = "This account may not use the admin site.";
/// Shown when a form's CSRF token does not match the session's.
pub const FORM_EXPIRED: &str = "The form expired; reload the page and try again.";
/// Shown above a form whose record changed since it was loaded.
pub const STALE_VERSION: &str = "Someone else changed this record; reload to see their version.";

/// A refused save shown on its form again, as typed: 400 with the field errors, or 409 with
/// the stale-version banner. Any other error is returned for the error page.
pub fn refused_form(
    error: ServiceError,
    values: Vec<(String, String)>,
) -> Result<(StatusCode, FormState), AdminError> {
    match error {
        ServiceError::Validation(errors) => Ok((
            StatusCode::BAD_REQUEST,
            FormState {
                values,
                errors,
                banner: None,
            },
        )),
        ServiceError::PreconditionFailed => Ok((
            StatusCode::CONFLICT,
            FormState {
                values,
                errors: healthcare_domain::FieldErrors::new(),
                banner: Some(STALE_VERSION.into()),
            },
        )),
        other => Err(other.into()),
    }
}

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A use case failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The request itself is malformed (query string, form body); the message is shown.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The form's CSRF token is missing or wrong.
    #[error("CSRF token refused")]
    FormExpired,
    /// The form did not arrive within the body deadline.
    #[error("form body too slow")]
    FormTooSlow,
    /// No such page or record.
    #[error("not found")]
    NotFound,
    /// No valid session: back to the sign-in page, forgetting the cookie.
    #[error("not signed in")]
    SignedOut {
        /// Whether the cookie being cleared was `Secure`.
        secure: bool,
    },
    /// Signed in, but not (or no longer) active staff.
    #[error("not staff")]
    NotStaff {
        /// Whether the cookie being cleared was `Secure`.
        secure: bool,
    },
}

/// Runs a use case on the blocking pool.
pub use healthcare_web::run_blocking as call;
/// Runs a use case that hashes or checks a password on the password pool.
pub use healthcare_web::run_password_work as call_with_password;

fn resource_name(resource: Resource) -> &'static str {
    match resource {
        Resource::Patient => "patient",
        Resource::Doctor => "doctor",
        Resource::PatientDoctorMapping => "mapping",
        Resource::User => "user",
        Resource::Clinic => "clinic",
        Resource::ClinicMember => "clinic member",
        Resource::AuditEvent => "audit event",
    }
}

/// A full error page: a heading and one explaining sentence.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    html_response(
        status,
        page(
            title,
            None,
            html! {
                div.notice.notice-error role="alert" { p { (message) } }
                p { a href="/admin/" { "Back to the admin home page" } }
            },
        ),
    )
}

impl AdminError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Service(error) => match error {
                ServiceError::Validation(_) | ServiceError::InvalidCredentials => {
                    StatusCode::BAD_REQUEST
                }
                ServiceError::NotFound(_) | ServiceError::Gone(_) => StatusCode::NOT_FOUND,
                ServiceError::Forbidden | ServiceError::SecondFactorRequired => {
                    StatusCode::FORBIDDEN
                }
                ServiceError::InvalidAccessToken | ServiceError::RefreshToken(_) => {
                    StatusCode::SEE_OTHER
                }
                ServiceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                ServiceError::PreconditionFailed | ServiceError::AlreadyVisible => {
                    StatusCode::CONFLICT
                }
                ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::FormExpired | Self::NotStaff { .. } => StatusCode::FORBIDDEN,
            Self::FormTooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::SignedOut { .. } => StatusCode::SEE_OTHER,
        }
    }
}

/// A redirect to the sign-in page that forgets the session cookie.
pub fn to_sign_in(secure: bool) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/login"))
        .cookie(removal_cookie(secure))
        .finish()
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        match self {
            Self::SignedOut { secure } => to_sign_in(*secure),
            Self::NotStaff { secure } => {
                let mut response = error_page(status, "Access denied", NOT_STAFF);
                // Dropping the cookie cannot fail for a cookie we build ourselves.
                let _ = response.add_cookie(&removal_cookie(*secure));
                response
            }
            Self::BadRequest(message) => error_page(status, "Bad request", message),
            Self::FormExpired => error_page(status, "Form expired", FORM_EXPIRED),
            Self::FormTooSlow => error_page(
                status,
                "Form not received",
                "The form took too long to arrive. Please submit it again.",
            ),
            Self::NotFound => error_page(
                status,
                "Page not found",
                "There is no page at this address.",
            ),
            Self::Service(error) => match error {
                ServiceError::Validation(errors) => {
                    let messages: Vec<String> = errors
                        .iter()
                        .flat_map(|(_, problems)| problems.iter().map(problem_text))
                        .collect();
                    error_page(status, "Request refused", &messages.join(" "))
                }
                ServiceError::InvalidCredentials => error_page(
                    status,
                    "Sign-in failed",
                    "Please enter a correct email and password.",
                ),
                ServiceError::NotFound(resource) | ServiceError::Gone(resource) => error_page(
                    status,
                    "Not found",
                    &format!(
                        "There is no {} with this id (or it was deleted).",
                        resource_name(*resource)
                    ),
                ),
                ServiceError::Forbidden | ServiceError::SecondFactorRequired => {
                    let mut response = error_page(status, "Access denied", NOT_STAFF);
                    let _ = response.add_cookie(&removal_cookie(false));
                    response
                }
                // A session that ended mid-request; the cookie carried no `Secure` flag
                // requirement for removal from a secure origin.
                ServiceError::InvalidAccessToken | ServiceError::RefreshToken(_) => {
                    to_sign_in(false)
                }
                ServiceError::Throttled(seconds) => {
                    let mut response = error_page(
                        status,
                        "Too many attempts",
                        &format!("Too many attempts. Try again in {seconds} seconds."),
                    );
                    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    response
                }
                ServiceError::PreconditionFailed => {
                    error_page(status, "Changed by someone else", STALE_VERSION)
                }
                // Staff never break the glass: they reach every record through this site.
                ServiceError::AlreadyVisible => error_page(
                    status,
                    "Already visible",
                    "You already have access to this patient.",
                ),
                ServiceError::Unavailable(cause) => {
                    tracing::warn!(%cause, "admin page: database unavailable");
                    error_page(
                        status,
                        "Service unavailable",
                        "The service is temporarily unavailable. Try again in a moment.",
                    )
                }
                ServiceError::Internal(cause) => {
                    tracing::error!(%cause, "admin page failed");
                    error_page(
                        status,
                        "Server error",
                        "Something went wrong on our side. The problem was logged.",
                    )
                }
            },
        }
    }
}
