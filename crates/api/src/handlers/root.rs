//! `GET /api/`: links to the resource collections.

use actix_web::{HttpRequest, HttpResponse, get, web};
use healthcare_web::WebConfig;
use serde_json::json;

use crate::auth::AuthenticatedUser;
use crate::openapi::{ApiRoot, AuthErrors, ServerErrors};
use crate::query::absolute_base;

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
    config: web::Data<WebConfig>,
    request: HttpRequest,
) -> HttpResponse {
    let base = absolute_base(&request, &config);
    HttpResponse::Ok().json(json!({
        "patients": format!("{base}patients/"),
        "doctors": format!("{base}doctors/"),
        "mappings": format!("{base}mappings/"),
    }))
}
