//! `/admin/clinics/`: every clinic and its members; staff end a member's access.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::services::StaffCaller;
use healthcare_core::{Page, ServiceError};
use healthcare_domain::clinic::{Clinic, ClinicId};
use healthcare_domain::{FieldErrors, UserId};
use maud::{Markup, html};

use crate::errors::{AdminError, call};
use crate::layout::{
    FormState, Section, action_button, empty_row, error_summary, flash, html_response, ok, page,
    pagination, see_other, when,
};
use crate::params::FormData;
use crate::path_id;
use crate::session::StaffRequest;
use crate::state::SiteState;

/// `GET /admin/clinics/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let page_wanted = query.page()?;
    let (service, caller) = (state.clinics.clone(), staff.caller.caller().clone());
    let found = call(move || service.all_clinics(&caller, page_wanted)).await?;
    let body = html! {
        table.records {
            thead { tr { th { "Name" } th { "Personal clinic of" } th.num { "Members" } th { "Created" } } }
            tbody {
                @for (clinic, members) in &found.items {
                    tr.record {
                        td { a href={ "/admin/clinics/" (clinic.id.0) "/" } { (clinic.name) } }
                        td {
                            @match clinic.personal_owner {
                                Some(owner) => a href={ "/admin/users/" (owner.0) "/" } { "#" (owner.0) },
                                None => "—",
                            }
                        }
                        td.num { (members) }
                        td { (when(clinic.created_at)) }
                    }
                }
                @if found.items.is_empty() { (empty_row(4, "No clinics.")) }
            }
        }
        (pagination("/admin/clinics/", &[], page_wanted.number, page_wanted.size, found.total))
    };
    Ok(ok(page(
        "Clinics",
        Some((&staff.caller, Section::Clinics)),
        body,
    )))
}

/// A clinic and one page of its members.
struct ClinicDetail {
    clinic: Clinic,
    members: healthcare_core::PageOf<healthcare_domain::clinic::Member>,
    page: Page,
}

async fn load(
    state: &SiteState,
    staff: &StaffRequest,
    id: ClinicId,
    page: Page,
) -> Result<ClinicDetail, AdminError> {
    let (service, caller) = (state.clinics.clone(), staff.caller.caller().clone());
    Ok(call(move || {
        let clinic = service.clinic_for_staff(&caller, id)?;
        let members = service.members_of_any(&caller, id, page)?;
        Ok(ClinicDetail {
            clinic,
            members,
            page,
        })
    })
    .await?)
}

fn detail_page(
    staff: &StaffCaller,
    detail: &ClinicDetail,
    form: &FormState,
    done: Option<&str>,
) -> Markup {
    let clinic = &detail.clinic;
    let base = format!("/admin/clinics/{}/", clinic.id.0);
    let body = html! {
        (flash(done.filter(|d| *d == "ended").map(|_| "The member's access has ended.")))
        (error_summary(form, &[]))
        p {
            @match clinic.personal_owner {
                Some(owner) => { "The personal clinic of " a href={ "/admin/users/" (owner.0) "/" } { "user #" (owner.0) } "." },
                None => { "A shared clinic, created " (when(clinic.created_at)) "." },
            }
        }
        table.records {
            thead { tr { th { "Member" } th { "E-mail" } th { "Role" } th { "Joined" } th { "" } } }
            tbody {
                @for member in &detail.members.items {
                    tr.record {
                        td { a href={ "/admin/users/" (member.user.0) "/" } { (member.name) } }
                        td { (member.email) }
                        td { (member.role.as_str()) }
                        td { (when(member.joined_at)) }
                        td {
                            @if clinic.personal_owner != Some(member.user) {
                                (action_button(staff, &format!("{base}members/{}/end", member.user.0), "End access", true))
                            }
                        }
                    }
                }
                @if detail.members.items.is_empty() { (empty_row(5, "No members.")) }
            }
        }
        (pagination(&base, &[], detail.page.number, detail.page.size, detail.members.total))
    };
    page(&clinic.name, Some((staff, Section::Clinics)), body)
}

/// `GET /admin/clinics/{id}/`.
pub async fn detail(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = ClinicId(path_id(&raw_id)?);
    let query = FormData::query(&request)?;
    let detail = load(&state, &staff, id, query.page()?).await?;
    Ok(ok(detail_page(
        &staff.caller,
        &detail,
        &FormState::default(),
        query.get("done"),
    )))
}

/// `POST /admin/clinics/{id}/members/{user_id}/end`: the member leaves the clinic (audited);
/// the personal clinic's owner and a clinic's last admin stay, with the reason shown.
pub async fn end_access(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    path: web::Path<(String, String)>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let (raw_clinic, raw_user) = path.into_inner();
    let (clinic, member) = (ClinicId(path_id(&raw_clinic)?), UserId(path_id(&raw_user)?));
    staff.check_csrf(&form)?;
    let (service, caller) = (state.clinics.clone(), staff.caller.caller().clone());
    let errors: FieldErrors = match call(move || service.end_access(&caller, clinic, member)).await
    {
        Ok(()) => {
            return Ok(see_other(&format!(
                "/admin/clinics/{}/?done=ended",
                clinic.0
            )));
        }
        Err(ServiceError::Validation(errors)) => errors,
        Err(other) => return Err(other.into()),
    };
    let first = Page {
        number: 1,
        size: Page::DEFAULT_SIZE,
    };
    let detail = load(&state, &staff, clinic, first).await?;
    let form = FormState {
        errors,
        ..FormState::default()
    };
    Ok(html_response(
        StatusCode::BAD_REQUEST,
        detail_page(&staff.caller, &detail, &form, None),
    ))
}
