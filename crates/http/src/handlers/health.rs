//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::errors::ApiError;
use crate::handlers::run_blocking;
use crate::state::AppState;

/// `GET /health/live`: the process is running.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /health/ready`: the database answers (503 otherwise).
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let database = state.database.clone();
    run_blocking(move || database.ping().map_err(Into::into)).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
