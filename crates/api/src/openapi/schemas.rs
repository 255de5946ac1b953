//! Schemas, parameters and responses of the documentation only: requests are parsed field by
//! field (to report every bad field at once), so these types describe them without being used
//! to parse.

use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::{ObjectBuilder, OneOfBuilder, RefOr, Schema, Type};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToSchema};

/// `{"detail": "..."}`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct Detail {
    /// What went wrong.
    detail: String,
}

/// A 401 or 403: `detail`, and `code` when a token or the credentials were refused, or a
/// second factor is needed.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct AuthFailure {
    /// What went wrong.
    detail: String,
    /// `token_not_valid`, `authentication_failed` or `second_factor_required`.
    #[schema(nullable = false)]
    code: Option<String>,
}

/// A 400: each bad field (or `non_field_errors`) with its messages, or `{"detail": ...}` for a
/// body that is not valid JSON.
pub struct BadRequest;

impl PartialSchema for BadRequest {
    fn schema() -> RefOr<Schema> {
        let value = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String)),
            );
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Field name (or `non_field_errors`) → messages; or `detail` → message.",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(
                value.build(),
            )))))
            .into()
    }
}

impl ToSchema for BadRequest {}

/// `{"message": "..."}`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct Message {
    /// What happened.
    message: String,
}

/// A health probe's answer.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct Health {
    /// `ok` or `ready`.
    status: String,
}

/// Links to the collections.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct ApiRoot {
    /// The patient list.
    #[schema(format = "uri")]
    patients: String,
    /// The doctor list.
    #[schema(format = "uri")]
    doctors: String,
    /// The mapping list.
    #[schema(format = "uri")]
    mappings: String,
}

/// `page` and `page_size`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documentation parameters")]
pub struct Paging {
    /// 1-based page number (default 1); past the end: 404.
    #[param(nullable = false, minimum = 1)]
    page: Option<i64>,
    /// Items per page (default 20; above 100 counts as 100).
    #[param(nullable = false, minimum = 1)]
    page_size: Option<i64>,
}

/// A path id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "documentation parameters")]
pub struct IdParam {
    /// The record's id.
    #[param(minimum = 1)]
    id: i64,
}

/// Errors every operation can answer.
#[derive(IntoResponses)]
pub enum ServerErrors {
    /// The database is unreachable.
    #[response(
        status = 503,
        description = "Service temporarily unavailable (database unreachable)."
    )]
    Unavailable(Detail),
    /// A bug; details go to the log only.
    #[response(status = 500, description = "Internal server error.")]
    Internal(Detail),
}

/// The answer to a missing or invalid access token.
#[derive(IntoResponses)]
pub enum AuthErrors {
    /// No or invalid credentials.
    #[response(
        status = 401,
        description = "No credentials, or an invalid, expired or wrong-type token.",
        headers(("WWW-Authenticate" = String, description = "Always `Bearer realm=\"api\"`."))
    )]
    Unauthorized(AuthFailure),
}

/// The per-address limit of the auth routes (and, for login, the per-e-mail one).
#[derive(IntoResponses)]
pub enum ThrottledErrors {
    /// Too many requests.
    #[response(
        status = 429,
        description = "Throttled: too many auth requests from this address, or (login) too many failures for this e-mail.",
        headers(("Retry-After" = String, description = "Seconds to wait."))
    )]
    Throttled(Detail),
}

/// Errors of requests that carry a JSON body.
#[derive(IntoResponses)]
pub enum BodyErrors {
    /// Invalid fields or malformed JSON.
    #[response(
        status = 400,
        description = "Invalid fields (every bad field at once), or malformed JSON."
    )]
    Invalid(BadRequest),
    /// Body too slow.
    #[response(
        status = 408,
        description = "The body did not arrive within the configured time (`BODY_READ_TIMEOUT_SECONDS`)."
    )]
    TooSlow(Detail),
    /// Body over the limit.
    #[response(
        status = 413,
        description = "The body is larger than the configured limit."
    )]
    TooLarge(Detail),
    /// Not JSON.
    #[response(status = 415, description = "The body is not `application/json`.")]
    UnsupportedMediaType(Detail),
}

/// Errors of list operations.
#[derive(IntoResponses)]
pub enum ListErrors {
    /// Bad `page_size` or filter.
    #[response(status = 400, description = "A bad `page_size` or filter value.")]
    Invalid(BadRequest),
    /// Bad page.
    #[response(
        status = 404,
        description = "Invalid page: not a positive integer, or past the end."
    )]
    InvalidPage(Detail),
}

/// Errors of operations on one record.
#[derive(IntoResponses)]
pub enum RecordErrors {
    /// Not found (or not the caller's).
    #[response(
        status = 404,
        description = "No such record, or not the caller's (the same answer)."
    )]
    NotFound(Detail),
}

/// Errors of conditional writes.
#[derive(IntoResponses)]
pub enum PreconditionErrors {
    /// `If-Match` no longer matches.
    #[response(
        status = 412,
        description = "The record changed since the `If-Match` version; nothing was changed."
    )]
    PreconditionFailed(Detail),
}

/// The `If-Match` request header.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "documentation parameters")]
pub struct Precondition {
    /// An `ETag` from an earlier response: the write happens only if the record is still at
    /// that version (412 otherwise). Without it the write proceeds.
    #[param(nullable = false, rename = "If-Match")]
    if_match: Option<String>,
}

/// `POST /api/auth/register/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct RegisterRequest {
    /// Display name, 1–150 characters after trimming.
    #[schema(min_length = 1, max_length = 150)]
    name: String,
    /// Unique e-mail address (compared ignoring case).
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 8 characters and at most 72 bytes; not common, not entirely numeric, not too
    /// similar to the name or e-mail.
    #[schema(min_length = 8, max_length = 72)]
    password: String,
    /// When given, must equal `password`.
    #[schema(nullable = false)]
    password_confirm: Option<String>,
}

/// `POST /api/auth/login/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct LoginRequest {
    /// E-mail address, any case.
    #[schema(format = Email)]
    email: String,
    /// Password.
    #[schema(min_length = 1)]
    password: String,
}

/// `POST /api/auth/token/refresh/` and `POST /api/auth/logout/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct RefreshRequest {
    /// A refresh token.
    #[schema(min_length = 1)]
    refresh: String,
}

/// `POST /api/auth/second-factor/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct SecondFactorRequest {
    /// The current code of the authenticator app enrolled on the admin site (6 digits), or an
    /// unused recovery code.
    #[schema(min_length = 1)]
    code: String,
}

/// `POST /api/auth/password/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct PasswordChangeRequest {
    /// The current password.
    #[schema(min_length = 1)]
    old_password: String,
    /// The new password, under the same rules as at registration.
    #[schema(min_length = 8, max_length = 72)]
    new_password: String,
}

/// A patient to create or replace (`POST`, `PUT`).
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct PatientWrite {
    /// Full name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Age in years (an integer, or a string holding one).
    #[schema(minimum = 0, maximum = 150)]
    age: i64,
    /// `M`, `F` or `O`.
    #[schema(pattern = "^[MFO]$")]
    gender: String,
    /// At most 15 characters.
    #[schema(nullable = false, max_length = 15)]
    phone: Option<String>,
    /// An e-mail address or the empty string.
    #[schema(nullable = false)]
    email: Option<String>,
    /// Postal address.
    #[schema(nullable = false)]
    address: Option<String>,
    /// Free-text medical history.
    #[schema(nullable = false)]
    medical_history: Option<String>,
}

/// Any subset of a patient's fields (`PATCH`).
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct PatientPatch {
    /// Full name, 1–100 characters.
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    name: Option<String>,
    /// Age in years.
    #[schema(nullable = false, minimum = 0, maximum = 150)]
    age: Option<i64>,
    /// `M`, `F` or `O`.
    #[schema(nullable = false, pattern = "^[MFO]$")]
    gender: Option<String>,
    /// At most 15 characters.
    #[schema(nullable = false, max_length = 15)]
    phone: Option<String>,
    /// An e-mail address or the empty string.
    #[schema(nullable = false)]
    email: Option<String>,
    /// Postal address.
    #[schema(nullable = false)]
    address: Option<String>,
    /// Free-text medical history.
    #[schema(nullable = false)]
    medical_history: Option<String>,
}

/// A doctor to create or replace (`POST`, `PUT`).
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct DoctorWrite {
    /// Full name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Specialization, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    specialization: String,
    /// Phone, 1–15 characters.
    #[schema(min_length = 1, max_length = 15)]
    phone: String,
    /// E-mail address.
    #[schema(format = Email)]
    email: String,
    /// Years of experience.
    #[schema(minimum = 0, maximum = 80)]
    experience_years: i64,
    /// Qualification, 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    qualification: String,
    /// Fee: a decimal with at most 2 decimals and 10 digits (a JSON number is accepted too).
    #[schema(pattern = r"^\d{1,8}(\.\d{1,2})?$")]
    consultation_fee: String,
    /// Whether new patients can be assigned (default true).
    #[schema(nullable = false)]
    is_available: Option<bool>,
}

/// Any subset of a doctor's fields (`PATCH`).
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct DoctorPatch {
    /// Full name, 1–100 characters.
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    name: Option<String>,
    /// Specialization, 1–100 characters.
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    specialization: Option<String>,
    /// Phone, 1–15 characters.
    #[schema(nullable = false, min_length = 1, max_length = 15)]
    phone: Option<String>,
    /// E-mail address.
    #[schema(nullable = false, format = Email)]
    email: Option<String>,
    /// Years of experience.
    #[schema(nullable = false, minimum = 0, maximum = 80)]
    experience_years: Option<i64>,
    /// Qualification, 1–200 characters.
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    qualification: Option<String>,
    /// Fee: a decimal with at most 2 decimals and 10 digits.
    #[schema(nullable = false, pattern = r"^\d{1,8}(\.\d{1,2})?$")]
    consultation_fee: Option<String>,
    /// Whether new patients can be assigned.
    #[schema(nullable = false)]
    is_available: Option<bool>,
}

/// `POST /api/mappings/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct MappingCreate {
    /// One of the caller's patients.
    #[schema(minimum = 1)]
    patient: i64,
    /// An available doctor.
    #[schema(minimum = 1)]
    doctor: i64,
    /// Free-text notes.
    #[schema(nullable = false)]
    notes: Option<String>,
}

/// `PATCH /api/mappings/{id}/`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documentation schema")]
pub struct MappingNotes {
    /// Free-text notes.
    #[schema(nullable = false)]
    notes: Option<String>,
}
