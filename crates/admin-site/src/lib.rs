//! The staff admin site under `/admin/`: server-rendered HTML (maud), a cookie session with a
//! second factor, CSRF tokens on every form, no JavaScript. Not part of the JSON API or its
//! OpenAPI document.

pub mod audit;
pub mod clinics;
pub mod cookie;
pub mod doctors;
pub mod errors;
pub mod layout;
pub mod mappings;
pub mod params;
pub mod patients;
pub mod session;
pub mod sign_in;
pub mod state;
pub mod users;
pub mod versions;

pub use state::SiteState;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use healthcare_core::ServiceError;
use healthcare_core::services::Caller;
use healthcare_web::headers::content_security_policy;
use maud::html;

use crate::errors::{AdminError, call};
use crate::layout::{Section, ok, page, see_other};
use crate::params::FormData;
use crate::session::StaffRequest;

/// A press of a button on a record's page: who pressed it, the record's id as the path
/// gives it, and the posted form (its CSRF token).
pub type ButtonPress = (
    StaffRequest,
    web::Data<SiteState>,
    web::Path<String>,
    FormData,
);

/// Runs one use case, as the staff user, on the record the button names (after the CSRF
/// check), then goes to `next(id)`, the page that shows the notice.
async fn record_action<T: Send + 'static>(
    (staff, state, raw_id, form): ButtonPress,
    action: impl FnOnce(&SiteState, &Caller, i64) -> Result<T, ServiceError> + Send + 'static,
    next: impl FnOnce(i64) -> String,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let caller = staff.caller.caller().clone();
    call(move || action(&state, &caller, id)).await?;
    Ok(see_other(&next(id)))
}

/// The admin pages' content security policy: their own stylesheet and images (data: too),
/// forms posting only to themselves; no scripts at all.
const ADMIN_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet, built into the binary.
const STYLESHEET: &str = include_str!("admin.css");

/// Registers every admin route under `/admin`.
pub fn configure_admin(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/admin")
            .wrap(from_fn(|request, next| {
                content_security_policy(ADMIN_CSP, request, next)
            }))
            .route("", web::get().to(|| async { see_other("/admin/") }))
            .route("/", web::get().to(home))
            .route("/static/admin.css", web::get().to(stylesheet))
            .route("/login", web::get().to(sign_in::login_form))
            .route("/login", web::post().to(sign_in::login))
            .route(
                "/login/second-factor",
                web::get().to(sign_in::second_factor_form),
            )
            .route(
                "/login/second-factor",
                web::post().to(sign_in::second_factor),
            )
            .route("/logout", web::post().to(sign_in::logout))
            .route(
                "/patients",
                web::get().to(|| async { see_other("/admin/patients/") }),
            )
            .route("/patients/", web::get().to(patients::list))
            .route("/patients/{id}/", web::get().to(patients::detail))
            .route("/patients/{id}/", web::post().to(patients::update))
            .route("/patients/{id}/archive", web::post().to(patients::archive))
            .route("/patients/{id}/restore", web::post().to(patients::restore))
            .route(
                "/patients/{id}/versions/",
                web::get().to(versions::patient_versions),
            )
            .route(
                "/doctors",
                web::get().to(|| async { see_other("/admin/doctors/") }),
            )
            .route("/doctors/", web::get().to(doctors::list))
            .route("/doctors/{id}/", web::get().to(doctors::detail))
            .route("/doctors/{id}/", web::post().to(doctors::update))
            .route("/doctors/{id}/archive", web::post().to(doctors::archive))
            .route("/doctors/{id}/restore", web::post().to(doctors::restore))
            .route(
                "/doctors/{id}/versions/",
                web::get().to(versions::doctor_versions),
            )
            .route(
                "/mappings",
                web::get().to(|| async { see_other("/admin/mappings/") }),
            )
            .route("/mappings/", web::get().to(mappings::list))
            .route("/mappings/{id}/", web::get().to(mappings::detail))
            .route("/mappings/{id}/", web::post().to(mappings::update))
            .route("/mappings/{id}/remove", web::post().to(mappings::remove))
            .route(
                "/users",
                web::get().to(|| async { see_other("/admin/users/") }),
            )
            .route(
                "/clinics",
                web::get().to(|| async { see_other("/admin/clinics/") }),
            )
            .route("/clinics/", web::get().to(clinics::list))
            .route("/clinics/{id}/", web::get().to(clinics::detail))
            .route(
                "/clinics/{id}/members/{user_id}/end",
                web::post().to(clinics::end_access),
            )
            .route("/users/", web::get().to(users::list))
            .route("/users/{id}/", web::get().to(users::detail))
            .route("/users/{id}/active", web::post().to(users::set_active))
            .route("/users/{id}/staff", web::post().to(users::set_staff))
            .route(
                "/users/{id}/password",
                web::post().to(users::reset_password),
            )
            .route(
                "/users/{id}/second-factor",
                web::post().to(users::reset_second_factor),
            )
            .route(
                "/audit",
                web::get().to(|| async { see_other("/admin/audit/") }),
            )
            .route("/audit/", web::get().to(audit::list))
            .route("/audit/verify", web::get().to(audit::verify))
            .default_service(web::to(not_found)),
    );
}

/// A record id from the path; anything but a positive integer is no such page.
pub fn path_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AdminError::NotFound)
}

async fn not_found() -> Result<HttpResponse, AdminError> {
    Err(AdminError::NotFound)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

const SECTIONS: [(&str, &str, &str); 5] = [
    (
        "/admin/patients/",
        "Patients",
        "Every owner's patient records, archived ones included: search, edit, archive, restore.",
    ),
    (
        "/admin/doctors/",
        "Doctors",
        "The doctor directory: edit details and availability, archive or restore.",
    ),
    (
        "/admin/mappings/",
        "Mappings",
        "Which doctor treats which patient; edit an assignment's notes, end it.",
    ),
    (
        "/admin/users/",
        "Users",
        "Accounts: activate, grant staff rights, reset passwords and second factors.",
    ),
    (
        "/admin/audit/",
        "Audit trail",
        "Who did what, when and from where; verify the sealed chain.",
    ),
];

/// `GET /admin/`: the sections.
async fn home(staff: StaffRequest) -> HttpResponse {
    let body = html! {
        p.lead { "Signed in as " strong { (staff.caller.user().name) } " (" (staff.caller.user().email) "). Reading patient records and the audit trail here is itself recorded in the audit trail." }
        ul.sections {
            @for (href, title, text) in SECTIONS {
                li.section-card {
                    a href=(href) { (title) }
                    p { (text) }
                }
            }
        }
    };
    ok(page(
        "Admin home",
        Some((&staff.caller, Section::Home)),
        body,
    ))
}
