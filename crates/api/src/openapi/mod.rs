//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa-actix-web
//! collects the routes, so no list is kept by hand), and the pages that show it: Swagger UI at
//! `/swagger/` and ReDoc at `/redoc/`, every asset served from the binary.

use actix_web::dev::ResourceDef;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

mod conventions;
pub mod fields;
mod schemas;

pub use schemas::*;

/// The name of the bearer security scheme in the document.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Healthcare records API",
        description = "Patient records, a directory of doctors, and which doctor is assigned to \
                       which patient. Authenticate with `POST /api/auth/login/` and send the access \
                       token as `Authorization: Bearer <token>`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "auth", description = "Registration, sign-in and tokens"),
        (name = "patients", description = "The caller's patient records"),
        (name = "doctors", description = "The doctor directory"),
        (name = "mappings", description = "Which doctor is assigned to which patient"),
        (name = "clinics", description = "The clinics the caller belongs to"),
        (name = "audit", description = "The audit trail of every access to patient data (staff only)"),
        (name = "meta", description = "API root and health probes"),
    ),
    // Schemas used only inside response groups: listed so that their references resolve.
    components(schemas(Detail, AuthFailure, BadRequest)),
    modifiers(&BearerScheme),
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_owned());
        http.description =
            Some("An access token from login, register or token refresh.".to_owned());
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(http));
    }
}

/// The document, rendered once at start, and the path templates it lists (to tell a wrong
/// method, 405, from an unknown path, 404).
pub struct ApiDocument {
    json: String,
    /// Each documented path template and its methods, as an `Allow` header value.
    templates: Vec<(ResourceDef, String)>,
}

impl ApiDocument {
    /// Collects every annotated route registered by `routes`.
    pub fn build(
        routes: impl FnOnce(&mut utoipa_actix_web::service_config::ServiceConfig),
    ) -> Self {
        let (_, document) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(routes)
            .split_for_parts();
        let templates = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| (ResourceDef::new(path.as_str()), allowed_methods(item)))
            .collect();
        let json = serde_json::to_value(&document)
            .map(|mut value| {
                conventions::apply(&mut value);
                value
            })
            .and_then(|value| serde_json::to_string_pretty(&value))
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot render the OpenAPI document");
                "{}".to_owned()
            });
        Self { json, templates }
    }

    /// The document as JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The methods a documented route with this path serves (an `Allow` header value), or
    /// `None` for an unknown path.
    pub fn allowed_methods(&self, path: &str) -> Option<&str> {
        self.templates
            .iter()
            .find(|(template, _)| template.is_match(path))
            .map(|(_, methods)| methods.as_str())
    }
}

fn allowed_methods(item: &utoipa::openapi::PathItem) -> String {
    let operations = [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ];
    operations
        .iter()
        .filter(|(_, operation)| operation.is_some())
        .map(|(method, _)| *method)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /api/openapi.json`.
pub async fn openapi_json(document: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.json().to_owned())
}

/// Swagger UI from the vendored bundle, with the online validator off.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/{_:.*}").config(
        utoipa_swagger_ui::Config::new(["/api/openapi.json"])
            .validator_url("none")
            .persist_authorization(true)
            .try_it_out_enabled(true),
    )
}

/// `GET /swagger`: 308 to `/swagger/`.
pub async fn swagger_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/swagger/"))
        .finish()
}

/// `GET /redoc`: 308 to `/redoc/`.
pub async fn redoc_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/redoc/"))
        .finish()
}

const REDOC_PAGE: &str = include_str!("../../assets/redoc/index.html");
const REDOC_BUNDLE: &str = include_str!("../../assets/redoc/redoc.standalone.js");
const REDOC_OFFLINE: &str = include_str!("../../assets/redoc/redoc-offline.js");

/// `GET /redoc/`: the ReDoc page.
pub async fn redoc_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(REDOC_PAGE)
}

/// `GET /redoc/redoc-offline.js`: keeps ReDoc from fetching its logo from a CDN (a separate
/// file, because the page's CSP allows no inline script).
pub async fn redoc_offline() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .body(REDOC_OFFLINE)
}

/// `GET /redoc/redoc.standalone.js`: the ReDoc bundle, shipped inside the binary.
pub async fn redoc_bundle() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .body(REDOC_BUNDLE)
}
