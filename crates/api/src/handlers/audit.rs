//! `/api/audit/`: the audit trail, newest first, for staff users only.

use actix_web::{HttpRequest, HttpResponse, get, web};
use healthcare_core::ServiceError;
use healthcare_core::ports::AuditFilter;
use healthcare_core::services::AuditService;
use healthcare_domain::audit::{AuditAction, AuditOutcome, AuditRecord};
use healthcare_domain::patient::PatientId;
use healthcare_domain::{FieldErrors, FieldProblem, Timestamp, UserId};
use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use healthcare_web::WebConfig;

use crate::auth::RequestCaller;
use crate::errors::ApiError;
use crate::handlers::{run_blocking, timestamp};
use crate::openapi::{AuthErrors, AuthFailure, ListErrors, Paging, ServerErrors};
use crate::query::{ListQuery, PageJson, page_json};
use crate::state::AppState;

/// A page of audit rows (a generic type cannot name a response body in the documentation).
pub(crate) type AuditEventPage = PageJson<AuditEventJson>;

/// One recorded access or security event. Never holds a value of a patient field.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    /// Row id.
    id: i64,
    /// When (UTC).
    #[schema(format = DateTime)]
    at: String,
    /// Who acted (null: an unknown account, or an operator at the console).
    actor_user_id: Option<i64>,
    /// What was done.
    #[schema(value_type = AuditActionName)]
    action: String,
    /// The kind of record the action is about.
    #[schema(value_type = AuditResourceType)]
    resource_type: String,
    /// Which record, when there is one.
    resource_id: Option<i64>,
    /// The patient whose data was touched, when there is one.
    patient_id: Option<i64>,
    /// How it ended (another owner's record is `denied`).
    #[schema(value_type = AuditOutcomeName)]
    outcome: String,
    /// The client's address.
    client_address: Option<String>,
    /// The request's `X-Request-Id`.
    request_id: Option<String>,
    /// Whether this access was made under the actor's running break-glass grant on the
    /// patient (a list: on one of the patients it showed). Added with clinics.
    break_glass: bool,
}

impl From<AuditRecord> for AuditEventJson {
    fn from(record: AuditRecord) -> Self {
        let event = record.event;
        Self {
            id: record.id,
            at: timestamp(event.at),
            actor_user_id: event.actor.map(|user| user.0),
            action: event.action.as_str().to_owned(),
            resource_type: event.action.resource_type().to_owned(),
            resource_id: event.resource_id,
            patient_id: event.patient_id.map(|patient| patient.0),
            outcome: event.outcome.as_str().to_owned(),
            client_address: event.origin.client_address,
            request_id: event.origin.request_id,
            break_glass: event.break_glass,
        }
    }
}

/// A string that is one of `values`.
fn one_of(
    description: &str,
    values_given: impl IntoIterator<Item = &'static str>,
) -> RefOr<Schema> {
    let mut values: Vec<&str> = Vec::new();
    for value in values_given {
        if !values.contains(&value) {
            values.push(value);
        }
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// An audit row's `action`: every action the domain records.
pub struct AuditActionName;

impl PartialSchema for AuditActionName {
    fn schema() -> RefOr<Schema> {
        one_of(
            "What was done: `<resource>.<verb>`.",
            AuditAction::ALL.map(AuditAction::as_str),
        )
    }
}

impl ToSchema for AuditActionName {
    fn name() -> Cow<'static, str> {
        "AuditAction".into()
    }
}

/// An audit row's `resource_type`.
pub struct AuditResourceType;

impl PartialSchema for AuditResourceType {
    fn schema() -> RefOr<Schema> {
        one_of(
            "The kind of record an action is about.",
            AuditAction::ALL.map(AuditAction::resource_type),
        )
    }
}

impl ToSchema for AuditResourceType {}

/// An audit row's `outcome`.
pub struct AuditOutcomeName;

impl PartialSchema for AuditOutcomeName {
    fn schema() -> RefOr<Schema> {
        one_of(
            "How an attempt ended: `success`; `failure` (refused for what was asked); `denied` \
             (refused for who asked).",
            AuditOutcome::ALL.map(AuditOutcome::as_str),
        )
    }
}

impl ToSchema for AuditOutcomeName {
    fn name() -> Cow<'static, str> {
        "AuditOutcome".into()
    }
}

/// The filters of the audit trail.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documentation parameters")]
pub(crate) struct AuditFilters {
    /// Only rows about this patient id.
    patient: Option<i64>,
    /// Only rows whose actor is this user id.
    user: Option<i64>,
    /// Only this action.
    #[param(value_type = Option<AuditActionName>)]
    action: Option<String>,
    /// Only this outcome.
    #[param(value_type = Option<AuditOutcomeName>)]
    outcome: Option<String>,
    /// Only rows at or after this time (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only rows at or before this time (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
}

fn invalid(name: &str, problem: FieldProblem) -> ApiError {
    ServiceError::Validation(FieldErrors::single(name, problem)).into()
}

fn choice<T>(
    query: &ListQuery,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match query.text(name) {
        None => Ok(None),
        Some(raw) => parse(&raw)
            .map(Some)
            .ok_or_else(|| invalid(name, FieldProblem::InvalidChoice { given: raw })),
    }
}

fn instant(query: &ListQuery, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match query.text(name) {
        None => Ok(None),
        Some(raw) => chrono::DateTime::parse_from_rfc3339(&raw)
            .map(|at| Some(at.to_utc()))
            .map_err(|_| invalid(name, FieldProblem::NotADateTime)),
    }
}

/// The filters of a request to read the trail, as the use cases take them: every problem is a
/// field error on its parameter.
pub(crate) fn audit_filter(query: &ListQuery) -> Result<AuditFilter, ServiceError> {
    let filter = || -> Result<AuditFilter, ApiError> {
        Ok(AuditFilter {
            clinic: None,
            patient: query.integer("patient")?.map(PatientId),
            actor: query.integer("user")?.map(UserId),
            action: choice(query, "action", AuditAction::parse)?,
            outcome: choice(query, "outcome", AuditOutcome::parse)?,
            since: instant(query, "since")?,
            until: instant(query, "until")?,
            ..AuditFilter::default()
        })
    };
    filter().map_err(|error| match error {
        ApiError::Service(error) => error,
        other => ServiceError::Internal(format!("unexpected filter error: {other}")),
    })
}

/// The audit trail, newest first (staff only). Reading it is itself recorded.
#[utoipa::path(
    tag = "audit",
    operation_id = "list_audit_events",
    params(Paging, AuditFilters),
    responses(
        (status = 200, description = "A page of audit rows.", body = AuditEventPage),
        (status = 403, description = "Not a staff user, or (`code`: `second_factor_required`) a staff session signed in without a second factor: confirm a code at `POST /api/auth/second-factor/` first.", body = AuthFailure),
        ListErrors, AuthErrors, ServerErrors,
    ),
    security(("bearer" = [])),
)]
#[get("/audit")]
pub async fn list(
    RequestCaller(caller): RequestCaller,
    state: web::Data<AppState>,
    config: web::Data<WebConfig>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(&request)?;
    let filter = AuditService::requested_filter(&caller, audit_filter(&query))?;
    let (page, service) = (query.page, state.audit.clone());
    let found = run_blocking(move || service.list_events(&caller, &filter, page)).await?;
    page_json(&request, &config, &query, found, AuditEventJson::from)?.into_response()
}
