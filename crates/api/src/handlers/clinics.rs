//! `/api/clinics/`: the clinics the caller belongs to.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use healthcare_domain::clinic::{ClinicId, Member, Membership};
use serde::Serialize;
use utoipa::ToSchema;

use healthcare_web::WebConfig;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::{run_blocking, timestamp};
use crate::openapi::{
    AuthErrors, BodyErrors, Detail, IdParam, ListErrors, Paging, RecordErrors, ServerErrors,
};
use crate::query::{ListQuery, PageJson, page_json};
use crate::requests::{Body, ClinicWrite};
use crate::state::AppState;
use crate::versions::PathId;

/// A page of clinics (a generic type cannot name a response body in the documentation).
type ClinicPage = PageJson<ClinicJson>;
/// A page of members.
type MemberPage = PageJson<MemberJson>;

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
            role: membership.role.as_str(),
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

/// Create a shared clinic; the caller becomes its admin.
#[utoipa::path(
    tag = "clinics",
    operation_id = "create_clinic",
    request_body = ClinicWrite,
    responses((status = 201, description = "Created; the caller is its admin.", body = ClinicJson), BodyErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[post("/clinics")]
pub async fn create(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<ClinicWrite>,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    let created =
        run_blocking(move || service.create_clinic(&caller, body.name, shape_errors)).await?;
    Ok(HttpResponse::Created().json(ClinicJson::from(created)))
}

/// One of the caller's clinics; any other is "not found".
#[utoipa::path(
    tag = "clinics",
    operation_id = "get_clinic",
    params(IdParam),
    responses((status = 200, description = "The clinic, with the caller's role.", body = ClinicJson), RecordErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/clinics/{id}")]
pub async fn retrieve(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    let found = run_blocking(move || service.get_clinic(&caller, ClinicId(id))).await?;
    Ok(HttpResponse::Ok().json(ClinicJson::from(found)))
}

/// Rename a clinic (its admins only).
#[utoipa::path(
    tag = "clinics",
    operation_id = "rename_clinic",
    params(IdParam),
    request_body = ClinicWrite,
    responses(
        (status = 200, description = "Renamed.", body = ClinicJson),
        (status = 403, description = "A member who is not an admin of the clinic.", body = Detail),
        BodyErrors, RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[patch("/clinics/{id}")]
pub async fn rename(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
    Body(body, shape_errors): Body<ClinicWrite>,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    let renamed =
        run_blocking(move || service.rename_clinic(&caller, ClinicId(id), body.name, shape_errors))
            .await?;
    Ok(HttpResponse::Ok().json(ClinicJson::from(renamed)))
}

/// A member's account, as the member list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberUserJson {
    /// Id.
    #[schema(minimum = 1)]
    id: i64,
    /// Display name.
    name: String,
    /// E-mail address.
    email: String,
}

/// A member of a clinic.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    /// The account.
    user: MemberUserJson,
    /// Their role in the clinic.
    #[schema(value_type = RoleName)]
    role: &'static str,
    /// When they joined (UTC).
    #[schema(format = DateTime)]
    joined_at: String,
}

impl From<Member> for MemberJson {
    fn from(member: Member) -> Self {
        Self {
            user: MemberUserJson {
                id: member.user.0,
                name: member.name,
                email: member.email,
            },
            role: member.role.as_str(),
            joined_at: timestamp(member.joined_at),
        }
    }
}

/// The members of one of the caller's clinics, by name.
#[utoipa::path(
    tag = "clinics",
    operation_id = "list_clinic_members",
    params(IdParam, Paging),
    responses((status = 200, description = "A page of the clinic's members.", body = MemberPage), ListErrors, AuthErrors, ServerErrors),
    security(("bearer" = [])),
)]
#[get("/clinics/{id}/members")]
pub async fn members(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    PathId(id): PathId,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let (page, service) = (query.page, state.clinics.clone());
    let found = run_blocking(move || service.list_members(&caller, ClinicId(id), page)).await?;
    Ok(HttpResponse::Ok().json(page_json(
        &request,
        &config,
        &query,
        found,
        MemberJson::from,
    )?))
}
