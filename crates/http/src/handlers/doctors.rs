//! `/api/doctors/`: the doctor directory.

use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_domain::doctor::{DoctorId, DoctorInput};
use healthcare_domain::fields::WriteMode;
use healthcare_ports::ports::DoctorFilter;

use crate::auth::AuthenticatedUser;
use crate::body::{FieldReader, JsonObject};
use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::json::DoctorJson;
use crate::query::{ListQuery, page_json};
use crate::state::AppState;
use crate::versions::{PathId, if_match, versioned};

fn doctor_input(body: JsonObject) -> (DoctorInput, healthcare_domain::FieldErrors) {
    let mut fields = FieldReader::new(body);
    let input = DoctorInput {
        name: fields.string("name"),
        specialization: fields.string("specialization"),
        phone: fields.string("phone"),
        email: fields.string("email"),
        experience_years: fields.integer("experience_years"),
        qualification: fields.string("qualification"),
        consultation_fee: fields.decimal("consultation_fee"),
        is_available: fields.boolean("is_available"),
    };
    (input, fields.into_errors())
}

/// `GET /api/doctors/`: by name; `?specialization=` (substring, any case) and `?available=`.
pub async fn list(
    _caller: AuthenticatedUser,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let filter = DoctorFilter {
        specialization: query.text("specialization"),
        available: query.boolean("available")?,
    };
    let (page, service) = (query.page, state.doctors.clone());
    let found = run_blocking(move || service.list_doctors(&filter, page)).await?;
    Ok(HttpResponse::Ok().json(page_json(
        &request,
        &state.config,
        &query,
        found,
        DoctorJson::from,
    )?))
}

/// `POST /api/doctors/`.
pub async fn create(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let (input, shape_errors) = doctor_input(body);
    let doctor =
        run_blocking(move || state.doctors.create_doctor(user.id, input, shape_errors)).await?;
    Ok(versioned(
        HttpResponse::Created(),
        doctor.doctor.version,
        DoctorJson::from(doctor),
    ))
}

/// `GET /api/doctors/{id}/`.
pub async fn retrieve(
    _caller: AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let doctor = run_blocking(move || state.doctors.get_doctor(DoctorId(id))).await?;
    Ok(versioned(
        HttpResponse::Ok(),
        doctor.doctor.version,
        DoctorJson::from(doctor),
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
    let (input, shape_errors) = doctor_input(body);
    let condition = if_match(&request);
    let doctor = run_blocking(move || {
        state.doctors.update_doctor(
            user.0.id,
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

/// `PUT /api/doctors/{id}/`: every required field; the creator only.
pub async fn replace(
    user: AuthenticatedUser,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    update(user, state, id, request, body, WriteMode::Replace).await
}

/// `PATCH /api/doctors/{id}/`: any subset of fields; the creator only.
pub async fn patch(
    user: AuthenticatedUser,
    state: web::Data<AppState>,
    id: PathId,
    request: HttpRequest,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    update(user, state, id, request, body, WriteMode::Partial).await
}

/// `DELETE /api/doctors/{id}/`: archives the doctor and deactivates its mappings.
pub async fn delete(
    AuthenticatedUser(user): AuthenticatedUser,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    run_blocking(move || state.doctors.delete_doctor(user.id, DoctorId(id))).await?;
    Ok(HttpResponse::NoContent().finish())
}
