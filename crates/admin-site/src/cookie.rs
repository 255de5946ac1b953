//! The admin session's cookie and the name of the CSRF field its forms carry.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "admin_session";
/// The hidden field every POST form carries.
pub const CSRF_FIELD: &str = "csrf_token";

/// The session cookie holding `token`: script-proof, same-site only, admin paths only.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE_NAME, token)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// A cookie that makes the browser forget the session.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie(String::new(), secure);
    cookie.make_removal();
    cookie
}

/// The session token the browser sent, if any.
pub fn session_token(request: &HttpRequest) -> Option<String> {
    request
        .cookie(COOKIE_NAME)
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| !token.is_empty())
}
