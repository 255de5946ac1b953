//! `/api/mappings/`: assigning doctors to the caller's patients.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use healthcare_core::ports::MappingFilter;
use healthcare_core::services::AssignmentInput;
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::PatientId;
use serde_json::json;

use healthcare_web::WebConfig;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::json::{MappingJson, PatientAssignmentsJson};
use crate::openapi::{
    AuthErrors, BodyErrors, Detail, IdParam, ListErrors, Message, Paging, RecordErrors,
    ServerErrors,
};
use crate::query::{ListQuery, PageJson, page_json};
use crate::requests::{Body, MappingCreate, MappingNotes};
use crate::state::AppState;
use crate::versions::PathId;

/// A page of mappings (a generic type cannot name a response body in the documentation).
type MappingPage = PageJson<MappingJson>;

/// Assign an available doctor to one of the caller's patients.
#[utoipa::path(
    tag = "mappings",
    operation_id = "assign_doctor",
    request_body = MappingCreate,
    responses(
        (status = 201, description = "Assigned.", body = MappingJson),
        (status = 403, description = "Under a break-glass grant, a clinician assigning the patient to a doctor record linked to their own account (the grant would outlast its time).", body = Detail),
        BodyErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/mappings")]
pub async fn create(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<MappingCreate>,
) -> Result<HttpResponse, ApiError> {
    let input = AssignmentInput::from(body);
    let view =
        run_blocking(move || state.mappings.assign_doctor(&caller, input, shape_errors)).await?;
    Ok(HttpResponse::Created().json(MappingJson::from(view)))
}

/// The mapping list's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documentation parameters")]
struct MappingFilters {
    /// Only this patient's mappings.
    patient: Option<i64>,
    /// Only this doctor's mappings.
    doctor: Option<i64>,
}

/// The active mappings of the caller's patients, newest first.
#[utoipa::path(
    tag = "mappings",
    operation_id = "list_mappings",
    params(Paging, MappingFilters),
    responses((status = 200, description = "A page of mappings.", body = MappingPage), ListErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/mappings")]
pub async fn list(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let filter = MappingFilter {
        patient: query.integer("patient")?.map(PatientId),
        doctor: query.integer("doctor")?.map(DoctorId),
        ..MappingFilter::default()
    };
    let (page, service) = (query.page, state.mappings.clone());
    let found = run_blocking(move || service.list_mappings(&caller, filter, page)).await?;
    page_json(&request, &config, &query, found, MappingJson::from)?.into_response()
}

/// One of the caller's patients with its active assignments. The id is a **patient** id, as
/// in the original API.
#[utoipa::path(
    tag = "mappings",
    operation_id = "patient_assignments",
    params(("id" = i64, Path, description = "A patient id.", minimum = 1)),
    responses((status = 200, description = "The patient and its doctors.", body = PatientAssignmentsJson), RecordErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/mappings/{id}")]
pub async fn for_patient(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let with_history = caller.reads_medical_history();
    let found =
        run_blocking(move || state.mappings.patient_assignments(&caller, PatientId(id))).await?;
    Ok(HttpResponse::Ok().json(PatientAssignmentsJson::shown(found, with_history)))
}

/// Change a mapping's notes (a **mapping** id).
#[utoipa::path(
    tag = "mappings",
    operation_id = "update_mapping_notes",
    params(IdParam),
    request_body = MappingNotes,
    responses((status = 200, description = "Changed.", body = MappingJson), BodyErrors, RecordErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[patch("/mappings/{id}")]
pub async fn update_notes(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
    Body(body, shape_errors): Body<MappingNotes>,
) -> Result<HttpResponse, ApiError> {
    let notes = body.notes;
    let view = run_blocking(move || {
        state
            .mappings
            .update_mapping_notes(&caller, MappingId(id), notes, shape_errors)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MappingJson::from(view)))
}

/// Remove a mapping (a **mapping** id): soft delete, once; again is 404.
#[utoipa::path(
    tag = "mappings",
    operation_id = "remove_mapping",
    params(IdParam),
    responses((status = 200, description = "Removed.", body = Message), RecordErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[delete("/mappings/{id}")]
pub async fn remove(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    run_blocking(move || state.mappings.remove_mapping(&caller, MappingId(id))).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Doctor successfully removed from patient"})))
}
