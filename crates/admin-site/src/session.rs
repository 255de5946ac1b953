//! The admin session: its cookie, the extractor that turns it into a checked staff caller,
//! and the CSRF check every POST form goes through.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use healthcare_core::ServiceError;
use healthcare_core::services::StaffCaller;

use crate::cookie::{CSRF_FIELD, session_token};
use crate::errors::{AdminError, call};
use crate::params::FormData;
use crate::state::SiteState;
use healthcare_web::WebConfig;
use healthcare_web::client::{origin_of, own_origin};

/// Whether a form post comes from one of our own pages, judged from what browsers send:
/// `Sec-Fetch-Site` (`same-origin`, or `none` for a user's own navigation) when present,
/// otherwise `Origin` (which must be our own origin). Requests with neither are not from a
/// browser that another site could drive, and pass. Guards the sign-in form, which has no
/// session yet to bind a CSRF token to: without it another site could sign a visitor in to
/// an account of its own (login CSRF).
pub fn posted_from_own_page(request: &HttpRequest, config: &WebConfig) -> bool {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    header("origin").is_none_or(|origin| origin == own_origin(request, config))
}

/// Whether cookies are marked `Secure` in this deployment.
pub fn secure_cookies(request: &HttpRequest) -> bool {
    request
        .app_data::<web::Data<SiteState>>()
        .is_some_and(|state| state.secure_cookies)
}

/// A request from signed-in, active staff (checked against the session store now).
#[derive(Clone)]
pub struct StaffRequest {
    /// The staff user, their origin and their session's CSRF token.
    pub caller: StaffCaller,
    token: String,
}

impl std::fmt::Debug for StaffRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRequest")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl StaffRequest {
    /// The session token (for signing out).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Refuses a form that does not carry this session's CSRF token.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), AdminError> {
        match form.get(CSRF_FIELD) {
            Some(presented) if self.caller.accepts_csrf_token(presented) => Ok(()),
            _ => Err(AdminError::FormExpired),
        }
    }
}

impl FromRequest for StaffRequest {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AdminError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = session_token(request);
        let state = request.app_data::<web::Data<SiteState>>().cloned();
        let origin = origin_of(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                AdminError::Service(ServiceError::Internal("application state missing".into()))
            })?;
            let secure = state.secure_cookies;
            let token = token.ok_or(AdminError::SignedOut { secure })?;
            let service = state.staff_sign_in.clone();
            let presented = token.clone();
            match call(move || service.authenticate(&presented, origin)).await {
                Ok(caller) => Ok(Self { caller, token }),
                Err(ServiceError::InvalidAccessToken) => Err(AdminError::SignedOut { secure }),
                Err(ServiceError::Forbidden) => Err(AdminError::NotStaff { secure }),
                Err(other) => Err(other.into()),
            }
        })
    }
}
