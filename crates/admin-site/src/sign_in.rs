//! Signing in: e-mail and password, then the second factor (enrolled with a QR code on the
//! first sign-in), then the recovery codes shown once. Signing out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::ServiceError;
use healthcare_core::services::staff_sign_in::{PendingSignIn, SecondFactorStep, SignedIn};
use healthcare_domain::FieldProblem;
use healthcare_domain::staff::tokens_match;
use maud::{Markup, PreEscaped, html};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::cookie::{CSRF_FIELD, session_cookie, session_token};
use crate::errors::{AdminError, FORM_EXPIRED, call, call_with_password, error_page, to_sign_in};
use crate::layout::{
    FormState, Input, csrf_field, error_summary, field, html_response, page, problem_text,
    see_other,
};
use crate::params::FormData;
use crate::session::{StaffRequest, posted_from_own_page, secure_cookies};
use crate::state::SiteState;
use healthcare_web::WebConfig;
use healthcare_web::client::{client_address, origin_of};

fn login_page(form: &FormState) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            (error_summary(form, &[("email", "Email"), ("password", "Password")]))
            form.card.narrow method="post" action="/admin/login" {
                (field(form, "email", "Email", Input::Text("email"), true))
                (field(form, "password", "Password", Input::Text("password"), true))
                div.actions { button.button.button-primary type="submit" { "Sign in" } }
            }
            p.hint { "Staff accounts only. You will be asked for a code from your authenticator app next." }
        },
    )
}

/// `GET /admin/login`.
pub async fn login_form() -> HttpResponse {
    html_response(StatusCode::OK, login_page(&FormState::default()))
}

/// `POST /admin/login`: checks the password and begins a session waiting for the second
/// factor.
pub async fn login(
    state: web::Data<SiteState>,
    config: web::Data<WebConfig>,
    request: HttpRequest,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    if !posted_from_own_page(&request, &config) {
        return Err(AdminError::FormExpired);
    }
    let origin = origin_of(&request);
    let address = client_address(&request, &config);
    let (email, password) = (form.value("email"), form.value("password"));
    let service = state.clone();
    let typed_email = email.clone();
    let result = call_with_password(move || {
        // The API's per-address limit first, so the admin login is no softer target.
        service.auth.check_client_address(&address)?;
        service.staff_sign_in.sign_in(&email, &password, &origin)
    })
    .await;
    match result {
        Ok(issued) => Ok(HttpResponse::SeeOther()
            .insert_header((
                actix_web::http::header::LOCATION,
                "/admin/login/second-factor",
            ))
            .cookie(session_cookie(issued.token, state.secure_cookies))
            .finish()),
        Err(ServiceError::InvalidCredentials) => {
            let mut form = FormState::filled(vec![("email".into(), typed_email)]);
            form.errors
                .add("non_field_errors", FieldProblem::InvalidCredentials);
            Ok(html_response(StatusCode::BAD_REQUEST, login_page(&form)))
        }
        Err(error) => Err(error.into()),
    }
}

/// The pending sign-in behind the cookie, or the response that ends the attempt.
async fn pending_of(
    state: &web::Data<SiteState>,
    request: &HttpRequest,
) -> Result<(String, PendingSignIn), AdminError> {
    let secure = secure_cookies(request);
    let token = session_token(request).ok_or(AdminError::SignedOut { secure })?;
    let service = state.staff_sign_in.clone();
    let presented = token.clone();
    match call(move || service.pending(&presented)).await {
        Ok(pending) => Ok((token, pending)),
        Err(ServiceError::InvalidAccessToken) => Err(AdminError::SignedOut { secure }),
        Err(ServiceError::Forbidden) => Err(AdminError::NotStaff { secure }),
        Err(other) => Err(other.into()),
    }
}

/// The QR code of an `otpauth://` URI as an inline `<svg>` (no XML declaration).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = QrCode::new(uri.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .build();
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

fn second_factor_page(
    pending: &PendingSignIn,
    step: &SecondFactorStep,
    form: &FormState,
) -> Markup {
    let title = match step {
        SecondFactorStep::Verify => "Enter your code",
        SecondFactorStep::Enrol { .. } => "Set up your authenticator",
    };
    let body = html! {
        (error_summary(form, &[("code", "Code")]))
        @if let SecondFactorStep::Enrol { secret_base32, provisioning_uri } = step {
            div.card.enrol {
                p { "Staff accounts need a second factor. Scan this QR code with an authenticator app (such as FreeOTP, Aegis or Google Authenticator), then enter the 6-digit code it shows." }
                @if let Some(svg) = qr_svg(provisioning_uri) {
                    div.qr { (PreEscaped(svg)) }
                }
                p { "Cannot scan? Enter this key by hand:" }
                p { code.secret { (secret_base32) } }
            }
        } @else {
            p { "Signing in as " strong { (pending.user.email) } ". Enter the 6-digit code from your authenticator app, or one of your unused recovery codes." }
        }
        form.card.narrow method="post" action="/admin/login/second-factor" {
            (csrf_field(&pending.session.csrf_token))
            div.field.field-invalid[form.errors.has("code")] {
                label for="field-code" { "Code" }
                input #field-code type="text" name="code" inputmode="numeric"
                    autocomplete="one-time-code" required autofocus;
                @for (name, messages) in form.errors.iter() {
                    @if name == "code" { @for message in messages.iter().map(problem_text) { p.field-error { (message) } } }
                }
            }
            div.actions { button.button.button-primary type="submit" { "Verify" } }
        }
        p { a href="/admin/login" { "Start again" } }
    };
    page(title, None, body)
}

/// `GET /admin/login/second-factor`.
pub async fn second_factor_form(
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (_, pending) = pending_of(&state, &request).await?;
    let service = state.staff_sign_in.clone();
    let asked = pending.clone();
    let step = call(move || service.second_factor_step(&asked)).await?;
    Ok(html_response(
        StatusCode::OK,
        second_factor_page(&pending, &step, &FormState::default()),
    ))
}

/// `POST /admin/login/second-factor`: checks the code; success replaces the cookie with the
/// full session's token.
pub async fn second_factor(
    state: web::Data<SiteState>,
    request: HttpRequest,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let (_, pending) = pending_of(&state, &request).await?;
    let presented = form.get(CSRF_FIELD).unwrap_or_default();
    if !tokens_match(&pending.session.csrf_token, presented) {
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            FORM_EXPIRED,
        ));
    }
    let code = form.value("code").trim().to_owned();
    let origin = origin_of(&request);
    let service = state.staff_sign_in.clone();
    let checked = pending.clone();
    let outcome = call(
        move || match service.complete_sign_in(&checked, &code, &origin) {
            Ok(done) => Ok(Ok(done)),
            // The page is shown again: it needs the step (the same secret while enrolling).
            Err(ServiceError::Validation(errors)) => {
                Ok(Err((errors, service.second_factor_step(&checked)?)))
            }
            Err(other) => Err(other),
        },
    )
    .await?;
    match outcome {
        Ok(signed_in) => Ok(signed_in_response(signed_in, state.secure_cookies)),
        Err((errors, step)) => {
            let form = FormState {
                errors,
                ..FormState::default()
            };
            Ok(html_response(
                StatusCode::BAD_REQUEST,
                second_factor_page(&pending, &step, &form),
            ))
        }
    }
}

fn signed_in_response(signed_in: SignedIn, secure: bool) -> HttpResponse {
    let cookie = session_cookie(signed_in.session.token, secure);
    if signed_in.recovery_codes.is_empty() {
        let mut response = see_other("/admin/");
        let _ = response.add_cookie(&cookie);
        return response;
    }
    let body = html! {
        div.notice.notice-warning role="status" {
            p { strong { "Save these recovery codes; each works once." } " They are shown only now. Use one instead of an authenticator code if you lose your phone." }
        }
        ol.recovery-codes {
            @for code in &signed_in.recovery_codes { li { code { (code.as_str()) } } }
        }
        p { a.button.button-primary href="/admin/" { "Continue" } }
    };
    let mut response = html_response(StatusCode::OK, page("Recovery codes", None, body));
    let _ = response.add_cookie(&cookie);
    response
}

/// `POST /admin/logout`: ends the session and forgets the cookie.
pub async fn logout(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    staff.check_csrf(&form)?;
    let token = staff.token().to_owned();
    let origin = origin_of(&request);
    let service = state.staff_sign_in.clone();
    call(move || service.sign_out(&token, &origin)).await?;
    Ok(to_sign_in(state.secure_cookies))
}
