//! The one routing table. Every route answers with and without a trailing slash (the app
//! trims it before routing); every known path answers a wrong method with a JSON 405.

use actix_web::web;

use crate::handlers::{auth, doctors, fallback, health, mappings, patients, root};

/// A resource whose unserved methods get the contract's 405.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(fallback::method_not_allowed))
}

/// Registers `GET /metrics` (on the API listener, or on its own with `METRICS_ADDRESS`).
pub fn configure_metrics(config: &mut web::ServiceConfig) {
    config.service(resource("/metrics").route(web::get().to(crate::metrics::metrics_endpoint)));
}

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::scope("/health")
                .service(resource("/live").route(web::get().to(health::live)))
                .service(resource("/ready").route(web::get().to(health::ready))),
        )
        .service(
            web::scope("/api")
                .service(resource("").route(web::get().to(root::api_root)))
                .service(
                    web::scope("/auth")
                        .service(resource("/register").route(web::post().to(auth::register)))
                        .service(resource("/login").route(web::post().to(auth::login)))
                        .service(resource("/token/refresh").route(web::post().to(auth::refresh)))
                        .service(resource("/logout").route(web::post().to(auth::logout)))
                        .service(resource("/me").route(web::get().to(auth::me))),
                )
                .service(
                    resource("/patients")
                        .route(web::get().to(patients::list))
                        .route(web::post().to(patients::create)),
                )
                .service(
                    resource("/patients/{id}")
                        .route(web::get().to(patients::retrieve))
                        .route(web::put().to(patients::replace))
                        .route(web::patch().to(patients::patch))
                        .route(web::delete().to(patients::delete)),
                )
                .service(
                    resource("/doctors")
                        .route(web::get().to(doctors::list))
                        .route(web::post().to(doctors::create)),
                )
                .service(
                    resource("/doctors/{id}")
                        .route(web::get().to(doctors::retrieve))
                        .route(web::put().to(doctors::replace))
                        .route(web::patch().to(doctors::patch))
                        .route(web::delete().to(doctors::delete)),
                )
                .service(
                    resource("/mappings")
                        .route(web::get().to(mappings::list))
                        .route(web::post().to(mappings::create)),
                )
                .service(
                    // GET takes a patient id (the original's by-patient view); PATCH and
                    // DELETE take a mapping id.
                    resource("/mappings/{id}")
                        .route(web::get().to(mappings::for_patient))
                        .route(web::patch().to(mappings::update_notes))
                        .route(web::delete().to(mappings::remove)),
                ),
        );
}
