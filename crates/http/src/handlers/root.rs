//! `GET /api/`: links to the resource collections.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::auth::AuthenticatedUser;
use crate::query::absolute_base;
use crate::state::AppState;

/// The API root, for an authenticated caller.
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
