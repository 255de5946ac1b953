//! `/api/doctors/`: the doctor directory.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use healthcare_core::ports::DoctorFilter;
use healthcare_domain::FieldErrors;
use healthcare_domain::doctor::{DoctorId, DoctorInput};
use healthcare_domain::fields::WriteMode;

use healthcare_web::WebConfig;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::json::DoctorJson;
use crate::openapi::{
    AuthErrors, BodyErrors, Detail, IdParam, ListErrors, Paging, Precondition, PreconditionErrors,
    RecordErrors, ServerErrors,
};
use crate::query::{ListQuery, PageJson, page_json};
use crate::requests::{Body, DoctorPatch, DoctorWrite};
use crate::state::AppState;
use crate::versions::{PathId, if_match, versioned};

/// A page of doctors (a generic type cannot name a response body in the documentation).
type DoctorPage = PageJson<DoctorJson>;

/// The doctor list's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documentation parameters")]
struct DoctorFilters {
    /// Case-insensitive substring of the specialization.
    specialization: Option<String>,
    /// `true`: only available doctors; `false`: only unavailable ones. `1` and `0`, and
    /// `true`/`false` in any case, are accepted too.
    #[param(inline, value_type = Option<AvailableFilter>)]
    available: Option<bool>,
}

/// `?available=`: a boolean, or its text in any case, or `1`/`0` (a pattern without flags, so
/// every engine reads it alike).
struct AvailableFilter;

impl utoipa::PartialSchema for AvailableFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$")),
            )
            .into()
    }
}

impl utoipa::ToSchema for AvailableFilter {}

/// Every doctor, by name.
#[utoipa::path(
    tag = "doctors",
    operation_id = "list_doctors",
    params(Paging, DoctorFilters),
    responses((status = 200, description = "A page of doctors.", body = DoctorPage), ListErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/doctors")]
pub async fn list(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let filter = DoctorFilter {
        specialization: query.text("specialization"),
        available: query.boolean("available")?,
        ..DoctorFilter::default()
    };
    let (page, service) = (query.page, state.doctors.clone());
    let found = run_blocking(move || service.list_doctors(&caller, filter, page)).await?;
    page_json(&request, &config, &query, found, DoctorJson::from)?.into_response()
}

/// Add a doctor; the caller becomes the only one who may change it.
#[utoipa::path(
    tag = "doctors",
    operation_id = "create_doctor",
    request_body = DoctorWrite,
    responses(
        (status = 201, description = "Created.", body = DoctorJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        BodyErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/doctors")]
pub async fn create(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<DoctorWrite>,
) -> Result<HttpResponse, ApiError> {
    let input = DoctorInput::from(body);
    let doctor =
        run_blocking(move || state.doctors.create_doctor(&caller, input, shape_errors)).await?;
    Ok(versioned(
        HttpResponse::Created(),
        doctor.doctor.version,
        DoctorJson::from(doctor),
    ))
}

/// One doctor.
#[utoipa::path(
    tag = "doctors",
    operation_id = "get_doctor",
    params(IdParam),
    responses(
        (status = 200, description = "The doctor.", body = DoctorJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[get("/doctors/{id}")]
pub async fn retrieve(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let doctor = run_blocking(move || state.doctors.get_doctor(&caller, DoctorId(id))).await?;
    Ok(versioned(
        HttpResponse::Ok(),
        doctor.doctor.version,
        DoctorJson::from(doctor),
    ))
}

async fn update(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    (input, shape_errors): (DoctorInput, FieldErrors),
    mode: WriteMode,
) -> Result<HttpResponse, ApiError> {
    let condition = if_match(&request);
    let doctor = run_blocking(move || {
        state.doctors.update_doctor(
            &caller,
            DoctorId(id.0),
            input,
            shape_errors,
            mode,
            condition,
        )
    })
    .await?;
    Ok(versioned(
        HttpResponse::Ok(),
        doctor.doctor.version,
        DoctorJson::from(doctor),
    ))
}

/// Replace a doctor (its creator only): every required field.
#[utoipa::path(
    tag = "doctors",
    operation_id = "replace_doctor",
    params(IdParam, Precondition),
    request_body = DoctorWrite,
    responses(
        (status = 200, description = "Replaced.", body = DoctorJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        (status = 403, description = "Not the doctor's creator.", body = Detail),
        BodyErrors, RecordErrors, PreconditionErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[put("/doctors/{id}")]
pub async fn replace(
    caller: RequestCaller,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    Body(body, shape_errors): Body<DoctorWrite>,
) -> Result<HttpResponse, ApiError> {
    let body = (body.into(), shape_errors);
    update(caller, state, id, request, body, WriteMode::Replace).await
}

/// Change any subset of a doctor's fields (its creator only).
#[utoipa::path(
    tag = "doctors",
    operation_id = "patch_doctor",
    params(IdParam, Precondition),
    request_body = DoctorPatch,
    responses(
        (status = 200, description = "Changed.", body = DoctorJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        (status = 403, description = "Not the doctor's creator.", body = Detail),
        BodyErrors, RecordErrors, PreconditionErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[patch("/doctors/{id}")]
pub async fn patch(
    caller: RequestCaller,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    Body(body, shape_errors): Body<DoctorPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = (body.into(), shape_errors);
    update(caller, state, id, request, body, WriteMode::Partial).await
}

/// Delete a doctor (its creator only): archived, and its mappings end.
#[utoipa::path(
    tag = "doctors",
    operation_id = "delete_doctor",
    params(IdParam),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Not the doctor's creator.", body = Detail),
        RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[delete("/doctors/{id}")]
pub async fn delete(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    run_blocking(move || state.doctors.delete_doctor(&caller, DoctorId(id))).await?;
    Ok(HttpResponse::NoContent().finish())
}
