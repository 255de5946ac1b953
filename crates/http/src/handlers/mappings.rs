//! `/api/mappings/`: assigning doctors to the caller's patients.

use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::PatientId;
use healthcare_ports::ports::MappingFilter;
use healthcare_ports::services::AssignmentInput;
use serde_json::json;

use crate::auth::AuthenticatedUser;
use crate::body::{FieldReader, JsonObject};
use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::json::{MappingJson, PatientAssignmentsJson};
use crate::query::{ListQuery, page_json};
use crate::state::AppState;
use crate::versions::PathId;

/// `POST /api/mappings/`: `{"patient", "doctor", "notes"?}`; `is_active` is never read.
pub async fn create(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = FieldReader::new(body);
    let input = AssignmentInput {
        patient: fields.primary_key("patient"),
        doctor: fields.primary_key("doctor"),
        notes: fields.string("notes"),
    };
    let shape_errors = fields.into_errors();
    let view =
        run_blocking(move || state.mappings.assign_doctor(user.id, input, shape_errors)).await?;
    Ok(HttpResponse::Created().json(MappingJson::from(view)))
}

/// `GET /api/mappings/`: active mappings of the caller's patients; `?patient=`, `?doctor=`.
pub async fn list(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let filter = MappingFilter {
        patient: query.integer("patient")?.map(PatientId),
        doctor: query.integer("doctor")?.map(DoctorId),
    };
    let (page, service) = (query.page, state.mappings.clone());
    let found = run_blocking(move || service.list_mappings(user.id, filter, page)).await?;
    Ok(HttpResponse::Ok().json(page_json(
        &request,
        &state.config,
        &query,
        found,
        MappingJson::from,
    )?))
}

/// `GET /api/mappings/{patient_id}/`: a **patient** id, as in the original API.
pub async fn for_patient(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let found =
        run_blocking(move || state.mappings.patient_assignments(user.id, PatientId(id))).await?;
    Ok(HttpResponse::Ok().json(PatientAssignmentsJson::from(found)))
}

/// `PATCH /api/mappings/{id}/`: `{"notes"}` of a **mapping**.
pub async fn update_notes(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = FieldReader::new(body);
    let notes = fields.string("notes");
    let shape_errors = fields.into_errors();
    let view = run_blocking(move || {
        state
            .mappings
            .update_mapping_notes(user.id, MappingId(id), notes, shape_errors)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MappingJson::from(view)))
}

/// `DELETE /api/mappings/{id}/`: removes a **mapping** (soft delete), once.
pub async fn remove(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    run_blocking(move || state.mappings.remove_mapping(user.id, MappingId(id))).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Doctor successfully removed from patient"})))
}
