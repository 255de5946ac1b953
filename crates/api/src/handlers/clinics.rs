//! `/api/clinics/`: the clinics the caller belongs to.

use actix_web::{HttpRequest, HttpResponse, get, web};
use healthcare_domain::clinic::{Membership, Role};
use serde::Serialize;
use utoipa::ToSchema;

use healthcare_web::WebConfig;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::{run_blocking, timestamp};
use crate::openapi::{AuthErrors, ListErrors, Paging, ServerErrors};
use crate::query::{ListQuery, PageJson, page_json};
use crate::state::AppState;

/// A page of clinics (a generic type cannot name a response body in the documentation).
type ClinicPage = PageJson<ClinicJson>;

/// A member's role in a clinic.
#[derive(ToSchema)]
#[schema(as = Role, rename_all = "snake_case")]
pub enum RoleName {
    /// Manages the clinic; reads and changes every patient.
    Admin,
    /// Treats the patients of their care team.
    Clinician,
    /// Registers patients and keeps their demographics; never sees medical histories.
    FrontDesk,
    /// Reviews access: the clinic's audit trail, no patient.
    Auditor,
}

/// A clinic the caller belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicJson {
    /// Id.
    #[schema(minimum = 1)]
    id: i64,
    /// Name.
    name: String,
    /// Whether it is the caller's personal clinic (every account has one, where it starts).
    personal: bool,
    /// The caller's role in it.
    #[schema(value_type = RoleName)]
    role: &'static str,
    /// Creation time (UTC).
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<Membership> for ClinicJson {
    fn from(membership: Membership) -> Self {
        let clinic = membership.clinic;
        Self {
            id: clinic.id.0,
            name: clinic.name,
            personal: clinic.personal_owner.is_some(),
            role: Role::as_str(membership.role),
            created_at: timestamp(clinic.created_at),
        }
    }
}

/// The caller's clinics: the personal clinic first, then by name.
#[utoipa::path(
    tag = "clinics",
    operation_id = "list_clinics",
    params(Paging),
    responses((status = 200, description = "A page of the caller's clinics.", body = ClinicPage), ListErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/clinics")]
pub async fn list(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let (page, service) = (query.page, state.clinics.clone());
    let found = run_blocking(move || service.list_clinics(&caller, page)).await?;
    Ok(HttpResponse::Ok().json(page_json(
        &request,
        &config,
        &query,
        found,
        ClinicJson::from,
    )?))
}
