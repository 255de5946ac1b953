//! The one routing table. Every route answers with and without a trailing slash (the app
//! trims it before routing); every known path answers a wrong method with a JSON 405.

use actix_web::web;

use crate::handlers::{auth, fallback, health};

/// A resource whose unserved methods get the contract's 405.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(fallback::method_not_allowed))
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
            web::scope("/api").service(
                web::scope("/auth")
                    .service(resource("/register").route(web::post().to(auth::register)))
                    .service(resource("/login").route(web::post().to(auth::login)))
                    .service(resource("/token/refresh").route(web::post().to(auth::refresh)))
                    .service(resource("/logout").route(web::post().to(auth::logout)))
                    .service(resource("/me").route(web::get().to(auth::me))),
            ),
        );
}
