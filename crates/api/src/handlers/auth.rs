//! `/api/auth/`: register, login, token refresh, logout, me, password change and the
//! second-factor step.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use healthcare_core::services::{LoginInput, PasswordChangeInput, SessionTokens};
use healthcare_domain::User;
use healthcare_domain::registration::RegistrationInput;
use serde::Serialize;
use utoipa::ToSchema;

use healthcare_web::client::origin_of;

use crate::auth::{AuthenticatedUser, RequestCaller};
use crate::errors::ApiError;
use crate::handlers::clinics::ClinicJson;
use crate::handlers::{run_blocking, run_password_work, timestamp};
use crate::openapi::{AuthErrors, AuthFailure, BodyErrors, ServerErrors, ThrottledErrors};
use crate::requests::{
    Body, LoginRequest, PasswordChangeRequest, RefreshRequest, RegisterRequest,
    SecondFactorRequest, SwitchClinicRequest,
};
use crate::state::AppState;
use crate::throttle::AuthRouteQuota;

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    /// Id.
    #[schema(minimum = 1)]
    id: i64,
    /// Display name.
    name: String,
    /// E-mail address as registered.
    email: String,
    /// Registration time (UTC).
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<User> for UserJson {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            name: user.name,
            email: user.email,
            created_at: timestamp(user.created_at),
        }
    }
}

/// An access token and a refresh token.
#[derive(Serialize, ToSchema)]
pub struct TokensJson {
    /// Refresh token: exchange it at `/api/auth/token/refresh/` (it is then spent).
    refresh: String,
    /// Access token: send it as `Authorization: Bearer <token>`.
    access: String,
}

impl From<SessionTokens> for TokensJson {
    fn from(tokens: SessionTokens) -> Self {
        Self {
            refresh: tokens.refresh,
            access: tokens.access,
        }
    }
}

/// A new session: the user and its tokens.
#[derive(Serialize, ToSchema)]
pub struct SessionJson {
    /// `User registered successfully` or `Login successful`.
    message: &'static str,
    /// The user.
    user: UserJson,
    /// The tokens.
    tokens: TokensJson,
}

fn session(message: &'static str, (user, tokens): (User, SessionTokens)) -> SessionJson {
    SessionJson {
        message,
        user: user.into(),
        tokens: tokens.into(),
    }
}

/// Register a user and sign in.
#[utoipa::path(
    tag = "auth",
    operation_id = "register",
    request_body = RegisterRequest,
    responses((status = 201, description = "Registered and signed in.", body = SessionJson), BodyErrors, ThrottledErrors, ServerErrors),
)]
#[post("/auth/register")]
pub async fn register(
    _quota: AuthRouteQuota,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = RegistrationInput {
        name: body.name,
        email: body.email,
        password: body.password,
        password_confirm: body.password_confirm,
        shape_errors,
    };
    let registered = run_password_work(move || state.auth.register_user(input)).await?;
    Ok(HttpResponse::Created().json(session("User registered successfully", registered)))
}

/// Sign in with e-mail and password.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = SessionJson),
        (
            status = 401,
            description = "Wrong password, unknown e-mail or inactive user: the same answer for all three.",
            body = AuthFailure,
            headers(("WWW-Authenticate" = String, description = "Always `Bearer realm=\"api\"`."))
        ),
        BodyErrors,
        ThrottledErrors, ServerErrors,
    ),
)]
#[post("/auth/login")]
pub async fn login(
    _quota: AuthRouteQuota,
    state: web::Data<AppState>,
    request: HttpRequest,
    Body(body, shape_errors): Body<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let origin = origin_of(&request);
    let input = LoginInput {
        email: body.email,
        password: body.password,
        clinic: body.clinic,
        shape_errors,
    };
    let signed_in = run_password_work(move || state.auth.login(input, &origin)).await?;
    Ok(HttpResponse::Ok().json(session("Login successful", signed_in)))
}

fn refresh_field(Body(body, shape_errors): Body<RefreshRequest>) -> Result<String, ApiError> {
    match body.refresh {
        Some(token) if !token.is_empty() => Ok(token),
        Some(_) => {
            let blank = healthcare_domain::FieldErrors::single(
                "refresh",
                healthcare_domain::FieldProblem::Blank,
            );
            Err(healthcare_core::ServiceError::Validation(blank).into())
        }
        None => Err(healthcare_core::ServiceError::Validation(shape_errors).into()),
    }
}

/// Exchange a refresh token for a new pair; the presented one is spent.
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh_token",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair.", body = TokensJson),
        (
            status = 401,
            description = "Wrong type, invalid, expired, or blacklisted (a spent token presented again revokes its whole family).",
            body = AuthFailure,
            headers(("WWW-Authenticate" = String, description = "Always `Bearer realm=\"api\"`."))
        ),
        BodyErrors,
        ThrottledErrors, ServerErrors,
    ),
)]
#[post("/auth/token/refresh")]
pub async fn refresh(
    _quota: AuthRouteQuota,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Body<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let origin = origin_of(&request);
    let token = refresh_field(body)?;
    let tokens = run_blocking(move || state.auth.refresh_session(&token, &origin)).await?;
    Ok(HttpResponse::Ok().json(TokensJson::from(tokens)))
}

/// Sign out: the refresh token's whole chain is revoked.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out."), AuthErrors, BodyErrors, ThrottledErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[post("/auth/logout")]
pub async fn logout(
    _quota: AuthRouteQuota,
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    body: Body<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_field(body)?;
    run_blocking(move || state.auth.logout(&caller, &token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change the caller's password; every refresh token of the user is revoked.
#[utoipa::path(
    tag = "auth",
    operation_id = "change_password",
    request_body = PasswordChangeRequest,
    responses((status = 204, description = "Changed."), AuthErrors, BodyErrors, ThrottledErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[post("/auth/password")]
pub async fn change_password(
    _quota: AuthRouteQuota,
    AuthenticatedUser(session): AuthenticatedUser,
    state: web::Data<AppState>,
    request: HttpRequest,
    Body(body, shape_errors): Body<PasswordChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let origin = origin_of(&request);
    let input = PasswordChangeInput {
        old_password: body.old_password,
        new_password: body.new_password,
        shape_errors,
    };
    run_password_work(move || state.auth.change_password(&session.user, &origin, input)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Prove a second factor: a code of the authenticator app enrolled on the admin site (or a
/// recovery code) for the signed-in user. Answers a new pair whose tokens (and their refreshed
/// successors) carry both factors (`amr: ["pwd", "otp"]`), which the whole audit trail
/// (`GET /api/audit/`) requires. Wrong codes count against the sign-in throttle.
#[utoipa::path(
    tag = "auth",
    operation_id = "confirm_second_factor",
    request_body = SecondFactorRequest,
    responses(
        (status = 200, description = "A new pair, signed in with both factors.", body = TokensJson),
        AuthErrors, BodyErrors, ThrottledErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/auth/second-factor")]
pub async fn second_factor(
    _quota: AuthRouteQuota,
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<SecondFactorRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = body.code;
    let tokens = run_blocking(move || {
        state
            .auth
            .confirm_second_factor(&caller, code.as_deref(), shape_errors)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TokensJson::from(tokens)))
}

/// The signed-in user and the clinic their token acts in.
#[derive(Serialize, ToSchema)]
pub struct MeJson {
    /// The user.
    #[serde(flatten)]
    user: UserJson,
    /// The clinic the token acts in, with the user's role there (added with clinics).
    clinic: ClinicJson,
}

/// The caller.
#[utoipa::path(
    tag = "auth",
    operation_id = "me",
    responses((status = 200, description = "The signed-in user, and the clinic the token acts in.", body = MeJson), AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/auth/me")]
pub async fn me(AuthenticatedUser(session): AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(MeJson {
        user: session.user.into(),
        clinic: session.membership.into(),
    })
}

/// The clinic a switch acts in, and the new session's tokens.
#[derive(Serialize, ToSchema)]
pub struct SwitchedJson {
    /// The clinic the new tokens act in, with the caller's role there.
    clinic: ClinicJson,
    /// The new session's tokens (the caller's other tokens stay valid in their own clinic).
    tokens: TokensJson,
}

/// Act in another of the caller's clinics: a new pair of tokens for it.
#[utoipa::path(
    tag = "auth",
    operation_id = "switch_clinic",
    request_body = SwitchClinicRequest,
    responses(
        (status = 200, description = "Tokens acting in the clinic.", body = SwitchedJson),
        AuthErrors, BodyErrors, ThrottledErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/auth/switch-clinic")]
pub async fn switch_clinic(
    _quota: AuthRouteQuota,
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<SwitchClinicRequest>,
) -> Result<HttpResponse, ApiError> {
    let clinic = body.clinic;
    let (membership, tokens) =
        run_blocking(move || state.auth.switch_clinic(&caller, clinic, shape_errors)).await?;
    Ok(HttpResponse::Ok().json(SwitchedJson {
        clinic: membership.into(),
        tokens: tokens.into(),
    }))
}
