//! Schemas, parameters and responses of the documentation only: error bodies, and parameters
//! read by the query and header parsers. Request bodies document themselves (`requests`).

use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder};
use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Ref, RefOr, Schema, Type};
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
    /// Why, when the reason has a code.
    #[schema(nullable = false)]
    code: Option<AuthFailureCode>,
}

/// The `code` of a refused request.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum AuthFailureCode {
    /// The token is invalid, expired, of the wrong type or revoked.
    TokenNotValid,
    /// The e-mail and password match no active account.
    AuthenticationFailed,
    /// A staff route needs a token confirmed with a second factor.
    SecondFactorRequired,
}

/// `M`, `F` or `O`.
#[derive(ToSchema)]
pub enum Gender {
    /// Male.
    M,
    /// Female.
    F,
    /// Other.
    O,
}

/// A 400 for invalid fields: each bad field (or `non_field_errors`) with its messages.
pub struct FieldErrors;

impl PartialSchema for FieldErrors {
    fn schema() -> RefOr<Schema> {
        let messages = || ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Each bad field with its messages; problems of the body as a whole under \
                 `non_field_errors`. Every bad field is reported at once.",
            ))
            .property(
                "non_field_errors",
                messages().description(Some("Problems that are not one field's.")),
            )
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Array(
                messages().build(),
            )))))
            .min_properties(Some(1))
            .into()
    }
}

impl ToSchema for FieldErrors {}

/// A 400: invalid fields, or `{"detail": ...}` for a body that is not valid JSON or a bad
/// `Host` header.
pub struct BadRequest;

impl PartialSchema for BadRequest {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some(
                "Invalid fields (`FieldErrors`), or a request that could not be read at all \
                 (`Detail`: malformed JSON, a bad `Host` header).",
            ))
            .item(Ref::from_schema_name(Detail::name()))
            .item(Ref::from_schema_name(FieldErrors::name()))
            .into()
    }
}

impl ToSchema for BadRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Detail::name().into(), Detail::schema()));
        schemas.push((FieldErrors::name().into(), FieldErrors::schema()));
    }
}

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

/// The refusal of a role-limited change to a visible patient.
#[derive(IntoResponses)]
pub enum RoleErrors {
    /// The caller's role in the clinic may not do this.
    #[response(
        status = 403,
        description = "The caller's role in the active clinic may not do this to a patient it sees: a front desk deleting a patient or writing a medical history, an auditor registering one."
    )]
    Forbidden(Detail),
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
