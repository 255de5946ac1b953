//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::openapi::{Detail, Health};
use crate::state::AppState;

/// The process is running.
#[utoipa::path(
    tag = "meta",
    operation_id = "health_live",
    responses(
        (status = 200, description = "Running.", body = Health),
        (status = 500, description = "Internal server error.", body = Detail),
    ),
)]
#[get("/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(
    tag = "meta",
    operation_id = "health_ready",
    responses(
        (status = 200, description = "Ready: the database answers.", body = Health),
        (status = 503, description = "Not ready: the database is unreachable.", body = Detail),
        (status = 500, description = "Internal server error.", body = Detail),
    ),
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let database = state.database.clone();
    run_blocking(move || database.ping().map_err(Into::into)).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
