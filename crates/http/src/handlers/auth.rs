//! `/api/auth/`: register, login, token refresh, logout, me.

use actix_web::{HttpResponse, web};
use healthcare_domain::User;
use healthcare_domain::registration::RegistrationInput;
use healthcare_ports::services::{LoginInput, SessionTokens};
use serde::Serialize;

use crate::auth::AuthenticatedUser;
use crate::body::{FieldReader, JsonObject};
use crate::errors::ApiError;
use crate::handlers::{run_blocking, timestamp};
use crate::state::AppState;

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub struct UserJson {
    id: i64,
    name: String,
    email: String,
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

#[derive(Serialize)]
struct TokensJson {
    refresh: String,
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

#[derive(Serialize)]
struct SessionJson {
    message: &'static str,
    user: UserJson,
    tokens: TokensJson,
}

fn session(message: &'static str, (user, tokens): (User, SessionTokens)) -> SessionJson {
    SessionJson {
        message,
        user: user.into(),
        tokens: tokens.into(),
    }
}

/// `POST /api/auth/register/`.
pub async fn register(
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = FieldReader::new(body);
    let input = RegistrationInput {
        name: fields.required_string("name"),
        email: fields.required_string("email"),
        password: fields.required_string("password"),
        password_confirm: fields.optional_string("password_confirm"),
        shape_errors: fields.into_errors(),
    };
    let registered = run_blocking(move || state.auth.register_user(input)).await?;
    Ok(HttpResponse::Created().json(session("User registered successfully", registered)))
}

/// `POST /api/auth/login/`.
pub async fn login(state: web::Data<AppState>, body: JsonObject) -> Result<HttpResponse, ApiError> {
    let mut fields = FieldReader::new(body);
    let input = LoginInput {
        email: fields.required_string("email"),
        password: fields.required_string("password"),
        shape_errors: fields.into_errors(),
    };
    let signed_in = run_blocking(move || state.auth.login(input)).await?;
    Ok(HttpResponse::Ok().json(session("Login successful", signed_in)))
}

fn refresh_field(body: JsonObject) -> Result<String, ApiError> {
    let mut fields = FieldReader::new(body);
    let token = fields.required_string("refresh");
    match token {
        Some(token) if !token.is_empty() => Ok(token),
        Some(_) => Err(healthcare_ports::ServiceError::Validation(
            healthcare_domain::FieldErrors::single("refresh", healthcare_domain::user::BLANK),
        )
        .into()),
        None => Err(healthcare_ports::ServiceError::Validation(fields.into_errors()).into()),
    }
}

/// `POST /api/auth/token/refresh/`.
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_field(body)?;
    let tokens = run_blocking(move || state.auth.refresh_session(&token)).await?;
    Ok(HttpResponse::Ok().json(TokensJson::from(tokens)))
}

/// `POST /api/auth/logout/`.
pub async fn logout(
    _caller: AuthenticatedUser,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_field(body)?;
    run_blocking(move || state.auth.logout(&token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/auth/me/`.
pub async fn me(AuthenticatedUser(user): AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(UserJson::from(user))
}
