//! The one routing table. utoipa-actix-web collects each handler's documentation as it is
//! registered, so the OpenAPI document lists exactly the routes served. Routes under `/api` and
//! `/health` answer with and without a trailing slash (trimmed before routing, no redirect); a
//! known path with a method it does not serve gets the contract's JSON 405.

use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::web;
use healthcare_web::headers::{DOCS_CSP, content_security_policy};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::handlers::{audit, auth, clinics, doctors, fallback, health, mappings, patients, root};
use crate::openapi;

/// Registers every API and health route.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(
            scope("/health")
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .service(health::live)
                .service(health::ready)
                .default_service(web::to(fallback::method_or_not_found)),
        )
        .service(
            scope("/api")
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .service(root::api_root)
                .service(auth::register)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::me)
                .service(auth::switch_clinic)
                .service(auth::change_password)
                .service(auth::second_factor)
                .service(patients::list)
                .service(patients::create)
                .service(patients::retrieve)
                .service(patients::replace)
                .service(patients::patch)
                .service(patients::delete)
                .service(patients::break_glass)
                .service(doctors::list)
                .service(doctors::create)
                .service(doctors::retrieve)
                .service(doctors::replace)
                .service(doctors::patch)
                .service(doctors::delete)
                .service(mappings::list)
                .service(mappings::create)
                // GET takes a patient id (the original's by-patient view); PATCH and DELETE
                // take a mapping id.
                .service(mappings::for_patient)
                .service(mappings::update_notes)
                .service(mappings::remove)
                .service(clinics::list)
                .service(clinics::create)
                .service(clinics::retrieve)
                .service(clinics::rename)
                .service(clinics::members)
                .service(clinics::audit_trail)
                .service(clinics::break_glass_log)
                .service(clinics::change_member_role)
                .service(clinics::remove_member)
                .service(clinics::invite)
                .service(clinics::accept_invitation)
                .service(audit::list)
                // Inside the scope: a separate service at this path would be shadowed by it.
                .route("/openapi.json", web::get().to(openapi::openapi_json))
                .default_service(web::to(fallback::method_or_not_found)),
        );
}

/// Registers every route on a plain actix configuration (the running server). The docs pages
/// get their own content security policy on their scopes.
pub fn configure_app(config: &mut web::ServiceConfig) {
    configure(&mut ServiceConfig::new(config));
    config
        .service(
            web::scope("/swagger")
                .wrap(from_fn(|request, next| {
                    content_security_policy(DOCS_CSP, request, next)
                }))
                .route("", web::get().to(openapi::swagger_redirect))
                .service(openapi::swagger_ui()),
        )
        .service(
            web::scope("/redoc")
                .wrap(from_fn(|request, next| {
                    content_security_policy(DOCS_CSP, request, next)
                }))
                .route("", web::get().to(openapi::redoc_redirect))
                .route("/", web::get().to(openapi::redoc_page))
                .route("/redoc.standalone.js", web::get().to(openapi::redoc_bundle))
                .route("/redoc-offline.js", web::get().to(openapi::redoc_offline)),
        );
}

/// Registers `GET /metrics` (on the API listener, or on its own with `METRICS_ADDRESS`).
pub fn configure_metrics(config: &mut web::ServiceConfig) {
    config.route("/metrics", web::get().to(crate::metrics::metrics_endpoint));
}
