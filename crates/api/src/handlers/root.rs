//! `GET /api/`: links to the resource collections.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde_json::json;

use crate::auth::AuthenticatedUser;
use crate::openapi::{ApiRoot, AuthErrors, ServerErrors};
use crate::query::absolute_base;
use crate::state::AppState;

/// Links to the collections.
#[utoipa::path(
    tag = "meta",
    operation_id = "api_root",
    responses((status = 200, description = "Absolute links to the collections.", body = ApiRoot), AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("")]
pub async fn api_root(
    _caller: AuthenticatedUser,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> HttpResponse {
    let base = absolute_base(&request, &state.config);
    HttpResponse::Ok().json(json!({
        "patients": format!("{base}patients/"),
        "doctors": format!("{base}doctors/"),
        "mappings": format!("{base}mappings/"),
    }))
}
