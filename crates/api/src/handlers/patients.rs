//! `/api/patients/`: the caller's patient records.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use healthcare_domain::FieldErrors;
use healthcare_domain::fields::WriteMode;
use healthcare_domain::patient::{PatientFilter, PatientId, PatientInput};

use healthcare_web::WebConfig;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::{run_blocking, timestamp};
use crate::json::PatientJson;
use crate::openapi::{
    AuthErrors, BodyErrors, Detail, IdParam, ListErrors, Paging, Precondition, PreconditionErrors,
    RecordErrors, RoleErrors, ServerErrors,
};
use crate::query::{ListQuery, PageJson, page_json};
use crate::requests::{Body, BreakGlassRequest, PatientPatch, PatientWrite};
use crate::state::AppState;
use crate::versions::{PathId, if_match, versioned};

/// A page of patients (a generic type cannot name a response body in the documentation).
type PatientPage = PageJson<PatientJson>;

/// The `search` filter.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documentation parameters")]
struct PatientSearch {
    /// Case-insensitive substring of the name (`%` and `_` match literally).
    search: Option<String>,
}

/// The caller's patients, newest first.
#[utoipa::path(
    tag = "patients",
    operation_id = "list_patients",
    params(Paging, PatientSearch),
    responses((status = 200, description = "A page of the caller's patients.", body = PatientPage), ListErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/patients")]
pub async fn list(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let filter = PatientFilter {
        search: query.text("search"),
        ..PatientFilter::default()
    };
    let (page, service) = (query.page, state.patients.clone());
    let with_history = caller.reads_medical_history();
    let found = run_blocking(move || service.list_patients(&caller, filter, page)).await?;
    page_json(&request, &config, &query, found, |patient| {
        PatientJson::shown(patient, with_history)
    })?
    .into_response()
}

/// Create a patient owned by the caller.
#[utoipa::path(
    tag = "patients",
    operation_id = "create_patient",
    request_body = PatientWrite,
    responses(
        (status = 201, description = "Created.", body = PatientJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        BodyErrors, RoleErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/patients")]
pub async fn create(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<PatientWrite>,
) -> Result<HttpResponse, ApiError> {
    let input = PatientInput::from(body);
    let with_history = caller.reads_medical_history();
    let patient =
        run_blocking(move || state.patients.create_patient(&caller, input, shape_errors)).await?;
    Ok(versioned(
        HttpResponse::Created(),
        patient.version,
        PatientJson::shown(patient, with_history),
    ))
}

/// One of the caller's patients.
#[utoipa::path(
    tag = "patients",
    operation_id = "get_patient",
    params(IdParam),
    responses(
        (status = 200, description = "The patient.", body = PatientJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[get("/patients/{id}")]
pub async fn retrieve(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let with_history = caller.reads_medical_history();
    let patient = run_blocking(move || state.patients.get_patient(&caller, PatientId(id))).await?;
    Ok(versioned(
        HttpResponse::Ok(),
        patient.version,
        PatientJson::shown(patient, with_history),
    ))
}

async fn update(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    (input, shape_errors): (PatientInput, FieldErrors),
    mode: WriteMode,
) -> Result<HttpResponse, ApiError> {
    let condition = if_match(&request);
    let with_history = caller.reads_medical_history();
    let patient = run_blocking(move || {
        state.patients.update_patient(
            &caller,
            PatientId(id.0),
            input,
            shape_errors,
            mode,
            condition,
        )
    })
    .await?;
    Ok(versioned(
        HttpResponse::Ok(),
        patient.version,
        PatientJson::shown(patient, with_history),
    ))
}

/// Replace a patient: every required field.
#[utoipa::path(
    tag = "patients",
    operation_id = "replace_patient",
    params(IdParam, Precondition),
    request_body = PatientWrite,
    responses(
        (status = 200, description = "Replaced.", body = PatientJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        BodyErrors, RecordErrors, RoleErrors, PreconditionErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[put("/patients/{id}")]
pub async fn replace(
    caller: RequestCaller,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    Body(body, shape_errors): Body<PatientWrite>,
) -> Result<HttpResponse, ApiError> {
    let body = (body.into(), shape_errors);
    update(caller, state, id, request, body, WriteMode::Replace).await
}

/// Change any subset of a patient's fields.
#[utoipa::path(
    tag = "patients",
    operation_id = "patch_patient",
    params(IdParam, Precondition),
    request_body = PatientPatch,
    responses(
        (status = 200, description = "Changed.", body = PatientJson, headers(("ETag" = String, description = "The record's version, for `If-Match`."))),
        BodyErrors, RecordErrors, RoleErrors, PreconditionErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[patch("/patients/{id}")]
pub async fn patch(
    caller: RequestCaller,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    Body(body, shape_errors): Body<PatientPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = (body.into(), shape_errors);
    update(caller, state, id, request, body, WriteMode::Partial).await
}

/// Delete a patient: it is archived (kept for retention and audit) and its mappings end.
#[utoipa::path(
    tag = "patients",
    operation_id = "delete_patient",
    params(IdParam),
    responses((status = 204, description = "Deleted."), RecordErrors, RoleErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[delete("/patients/{id}")]
pub async fn delete(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    run_blocking(move || state.patients.delete_patient(&caller, PatientId(id))).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A break-glass grant just opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakGlassJson {
    /// The patient.
    #[schema(minimum = 1)]
    patient: i64,
    /// Why, as recorded.
    reason: String,
    /// When the grant ends (UTC): the patient is invisible to the caller again afterwards.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Break the glass: a clinician who must treat a patient of the active clinic outside their
/// care team gets it for `BREAK_GLASS_MINUTES`. The grant is an audit event, and the clinic's
/// admins and auditors see it in its break-glass log.
#[utoipa::path(
    tag = "patients",
    operation_id = "break_glass",
    params(IdParam),
    request_body = BreakGlassRequest,
    responses(
        (status = 201, description = "Granted.", body = BreakGlassJson),
        (status = 409, description = "The caller already sees this patient.", body = Detail),
        BodyErrors, RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/patients/{id}/break-glass")]
pub async fn break_glass(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
    Body(body, shape_errors): Body<BreakGlassRequest>,
) -> Result<HttpResponse, ApiError> {
    let grant = run_blocking(move || {
        state
            .patients
            .break_glass(&caller, PatientId(id), body.reason, shape_errors)
    })
    .await?;
    Ok(HttpResponse::Created().json(BreakGlassJson {
        patient: grant.patient.0,
        reason: grant.reason,
        expires_at: timestamp(grant.expires_at),
    }))
}
