//! `/api/clinics/`: the clinics the caller belongs to.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use healthcare_core::services::InvitationInput;
use healthcare_domain::UserId;
use healthcare_domain::break_glass::Grant;
use healthcare_domain::clinic::{ClinicId, Invitation, InvitationToken, Member, Membership};
use serde::Serialize;
use utoipa::ToSchema;

use healthcare_web::WebConfig;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::audit::{AuditEventJson, AuditEventPage, AuditFilters, audit_filter};
use crate::handlers::{run_blocking, timestamp};
use crate::openapi::{
    AuthErrors, BadRequest, BodyErrors, Detail, IdParam, ListErrors, Paging, RecordErrors,
    ServerErrors,
};
use crate::query::{ListQuery, PageJson, page_json};
use crate::requests::{
    AcceptInvitationRequest, Body, ClinicWrite, InvitationRequest, MemberRoleRequest,
};
use crate::state::AppState;
use crate::versions::{PathId, PathUserId};

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
    page_json(&request, &config, &query, found, ClinicJson::from)?.into_response()
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
    page_json(&request, &config, &query, found, MemberJson::from)?.into_response()
}

/// The audit rows about one of the caller's clinics (its patients, members and settings),
/// newest first: its admins and auditors only. The same shape and filters as `GET /api/audit/`;
/// reading it is itself recorded.
#[utoipa::path(
    tag = "clinics",
    operation_id = "list_clinic_audit_events",
    params(IdParam, Paging, AuditFilters),
    responses(
        (status = 200, description = "A page of the clinic's audit rows.", body = AuditEventPage),
        (status = 403, description = "A member who is neither an admin nor an auditor of the clinic.", body = Detail),
        ListErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[get("/clinics/{id}/audit")]
pub async fn audit_trail(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    PathId(id): PathId,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let parsed = audit_filter(&query);
    let (page, service) = (query.page, state.clinics.clone());
    let found =
        run_blocking(move || service.clinic_audit(&caller, ClinicId(id), parsed, page)).await?;
    page_json(&request, &config, &query, found, AuditEventJson::from)?.into_response()
}

/// A break-glass grant, as the clinic's log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantJson {
    /// Id (the `resource_id` of its `patient.break_glass` audit row).
    #[schema(minimum = 1)]
    id: i64,
    /// The clinician who opened it.
    #[schema(minimum = 1)]
    user: i64,
    /// The patient.
    #[schema(minimum = 1)]
    patient: i64,
    /// Why.
    reason: String,
    /// When it was opened (UTC).
    #[schema(format = DateTime)]
    granted_at: String,
    /// When it ends or ended (UTC).
    #[schema(format = DateTime)]
    expires_at: String,
}

impl From<Grant> for GrantJson {
    fn from(grant: Grant) -> Self {
        Self {
            id: grant.id,
            user: grant.user.0,
            patient: grant.patient.0,
            reason: grant.reason,
            granted_at: timestamp(grant.granted_at),
            expires_at: timestamp(grant.expires_at),
        }
    }
}

/// A page of grants.
type GrantPage = PageJson<GrantJson>;

/// The break-glass grants of one of the caller's clinics, newest first: its admins and
/// auditors only.
#[utoipa::path(
    tag = "clinics",
    operation_id = "list_break_glass_grants",
    params(IdParam, Paging),
    responses(
        (status = 200, description = "A page of the clinic's grants, running or not.", body = GrantPage),
        (status = 403, description = "A member who is neither an admin nor an auditor of the clinic.", body = Detail),
        ListErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[get("/clinics/{id}/break-glass")]
pub async fn break_glass_log(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    PathId(id): PathId,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let (page, service) = (query.page, state.clinics.clone());
    let found = run_blocking(move || service.break_glass_log(&caller, ClinicId(id), page)).await?;
    page_json(&request, &config, &query, found, GrantJson::from)?.into_response()
}

/// A new invitation, with its token: the only time the token is shown.
// No `Debug`: the token must never reach a log.
#[derive(Serialize, ToSchema)]
pub struct InvitationJson {
    /// Id.
    #[schema(minimum = 1)]
    id: i64,
    /// The invited address.
    email: String,
    /// The role the invitee gets.
    #[schema(value_type = RoleName)]
    role: &'static str,
    /// When it can no longer be accepted (UTC; 7 days).
    #[schema(format = DateTime)]
    expires_at: String,
    /// The single-use token to hand over out of band (stored only hashed).
    token: String,
}

impl From<(Invitation, InvitationToken)> for InvitationJson {
    fn from((invitation, token): (Invitation, InvitationToken)) -> Self {
        Self {
            id: invitation.id,
            email: invitation.email,
            role: invitation.role.as_str(),
            expires_at: timestamp(invitation.expires_at),
            token: token.as_str().to_owned(),
        }
    }
}

/// Invite an e-mail address to a clinic with a role (its admins only). The answer is the same
/// whether the address has an account or not.
#[utoipa::path(
    tag = "clinics",
    operation_id = "invite_to_clinic",
    params(IdParam),
    request_body = InvitationRequest,
    responses(
        (status = 201, description = "Invited; hand the token over out of band.", body = InvitationJson),
        (status = 403, description = "A member who is not an admin of the clinic.", body = Detail),
        BodyErrors, RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/clinics/{id}/invitations")]
pub async fn invite(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
    Body(body, shape_errors): Body<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    let input = InvitationInput {
        email: body.email,
        role: body.role,
    };
    let invited =
        run_blocking(move || service.invite(&caller, ClinicId(id), input, shape_errors)).await?;
    Ok(HttpResponse::Created().json(InvitationJson::from(invited)))
}

/// The clinic just joined.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinedJson {
    /// The clinic, with the caller's role in it.
    clinic: ClinicJson,
}

/// Accept an invitation made for the caller's e-mail address: join its clinic with its role.
#[utoipa::path(
    tag = "clinics",
    operation_id = "accept_invitation",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Joined (a member already keeps their role).", body = JoinedJson),
        BodyErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[post("/invitations/accept")]
pub async fn accept_invitation(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    Body(body, shape_errors): Body<AcceptInvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    let joined =
        run_blocking(move || service.accept_invitation(&caller, body.token, shape_errors)).await?;
    Ok(HttpResponse::Ok().json(JoinedJson {
        clinic: joined.into(),
    }))
}

/// Give a member another role (the clinic's admins only). The personal clinic's owner stays its
/// admin, and a clinic keeps at least one admin.
#[utoipa::path(
    tag = "clinics",
    operation_id = "change_member_role",
    params(IdParam, ("user_id" = i64, Path, description = "The member's user id.", minimum = 1)),
    request_body = MemberRoleRequest,
    responses(
        (status = 200, description = "Changed.", body = MemberJson),
        (status = 403, description = "A member who is not an admin of the clinic.", body = Detail),
        BodyErrors, RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[patch("/clinics/{id}/members/{user_id}")]
pub async fn change_member_role(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
    PathUserId(user): PathUserId,
    Body(body, shape_errors): Body<MemberRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    let changed = run_blocking(move || {
        service.change_member_role(&caller, ClinicId(id), UserId(user), body.role, shape_errors)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MemberJson::from(changed)))
}

/// End a membership: an admin removes a member, or a member leaves. The personal clinic's
/// owner never leaves it, and a clinic keeps at least one admin.
#[utoipa::path(
    tag = "clinics",
    operation_id = "remove_member",
    params(IdParam, ("user_id" = i64, Path, description = "The member's user id.", minimum = 1)),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "The personal clinic's owner, or the clinic's last admin.", body = BadRequest),
        (status = 403, description = "Another member, by a member who is not an admin.", body = Detail),
        RecordErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[delete("/clinics/{id}/members/{user_id}")]
pub async fn remove_member(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    PathId(id): PathId,
    PathUserId(user): PathUserId,
) -> Result<HttpResponse, ApiError> {
    let service = state.clinics.clone();
    run_blocking(move || service.remove_member(&caller, ClinicId(id), UserId(user))).await?;
    Ok(HttpResponse::NoContent().finish())
}
