//! `/api/patients/`: the caller's patient records.

use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_domain::fields::WriteMode;
use healthcare_domain::patient::{PatientId, PatientInput};

use crate::auth::AuthenticatedUser;
use crate::body::{FieldReader, JsonObject};
use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::json::PatientJson;
use crate::query::{ListQuery, page_json};
use crate::state::AppState;
use crate::versions::{PathId, if_match, versioned};

fn patient_input(body: JsonObject) -> (PatientInput, healthcare_domain::FieldErrors) {
    let mut fields = FieldReader::new(body);
    let input = PatientInput {
        name: fields.string("name"),
        age: fields.integer("age"),
        gender: fields.string("gender"),
        phone: fields.string("phone"),
        email: fields.string("email"),
        address: fields.string("address"),
        medical_history: fields.string("medical_history"),
    };
    (input, fields.into_errors())
}

/// `GET /api/patients/`: the caller's patients, newest first; `?search=` on the name.
pub async fn list(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let (search, page, service) = (query.text("search"), query.page, state.patients.clone());
    let found =
        run_blocking(move || service.list_patients(user.id, search.as_deref(), page)).await?;
    Ok(HttpResponse::Ok().json(page_json(
        &request,
        &state.config,
        &query,
        found,
        PatientJson::from,
    )?))
}

/// `POST /api/patients/`.
pub async fn create(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let (input, shape_errors) = patient_input(body);
    let patient =
        run_blocking(move || state.patients.create_patient(user.id, input, shape_errors)).await?;
    Ok(versioned(
        HttpResponse::Created(),
        patient.version,
        PatientJson::from(patient),
    ))
}

/// `GET /api/patients/{id}/`.
pub async fn retrieve(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let patient = run_blocking(move || state.patients.get_patient(user.id, PatientId(id))).await?;
    Ok(versioned(
        HttpResponse::Ok(),
        patient.version,
        PatientJson::from(patient),
    ))
}

async fn update(
    user: AuthenticatedUser,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    body: JsonObject,
    mode: WriteMode,
) -> Result<HttpResponse, ApiError> {
    let (input, shape_errors) = patient_input(body);
    let condition = if_match(&request);
    let patient = run_blocking(move || {
        state.patients.update_patient(
            user.0.id,
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
        PatientJson::from(patient),
    ))
}

/// `PUT /api/patients/{id}/`: every required field.
pub async fn replace(
    user: AuthenticatedUser,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    update(user, state, id, request, body, WriteMode::Replace).await
}

/// `PATCH /api/patients/{id}/`: any subset of fields.
pub async fn patch(
    user: AuthenticatedUser,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    update(user, state, id, request, body, WriteMode::Partial).await
}

/// `DELETE /api/patients/{id}/`: archives the patient and deactivates its mappings.
pub async fn delete(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    run_blocking(move || state.patients.delete_patient(user.id, PatientId(id))).await?;
    Ok(HttpResponse::NoContent().finish())
}
