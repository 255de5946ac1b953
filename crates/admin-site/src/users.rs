//! `/admin/users/`: accounts; activation, staff rights, forced password and second-factor
//! resets.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::ServiceError;
use healthcare_core::ports::UserFilter;
use healthcare_core::services::StaffCaller;
use healthcare_core::services::staff_records::{SecondFactorStatus, UserDetail};
use healthcare_domain::{FieldErrors, UserId};
use maud::{Markup, html};

use crate::errors::{AdminError, call, call_with_password};
use crate::layout::{
    FormState, Input, Section, badge, csrf_field, empty_row, error_summary, field, flash,
    html_response, ok, page, pagination, see_other, when, yes_no,
};
use crate::params::FormData;
use crate::path_id;
use crate::session::StaffRequest;
use crate::state::SiteState;
use healthcare_web::forms::parse_boolean;

/// `GET /admin/users/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let filter = UserFilter {
        search: query.text("q"),
        active: query.flag("active", "Active")?,
        staff: query.flag("staff", "Staff")?,
    };
    let page_wanted = query.page()?;
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let found = call(move || service.users(&caller, &filter, page_wanted)).await?;
    let filters = [
        ("q", query.value("q")),
        ("active", query.value("active")),
        ("staff", query.value("staff")),
    ];
    let choice = |name: &str, yes: &str, no: &str| {
        let current = query.value(name);
        html! {
            select name=(name) {
                option value="" selected[current.is_empty()] { "Any" }
                option value="yes" selected[current == "yes"] { (yes) }
                option value="no" selected[current == "no"] { (no) }
            }
        }
    };
    let body = html! {
        form.filters method="get" action="/admin/users/" {
            label { "Name or email contains " input type="search" name="q" value=(query.value("q")); }
            label { "Active " (choice("active", "Active only", "Inactive only")) }
            label { "Staff " (choice("staff", "Staff only", "Non-staff only")) }
            button.button type="submit" { "Filter" }
        }
        table.records {
            thead { tr { th.num { "Id" } th { "Name" } th { "Email" } th { "Active" } th { "Staff" } th { "Joined" } } }
            tbody {
                @for user in &found.items {
                    tr.record {
                        td.num { (user.id.0) }
                        td { a href={ "/admin/users/" (user.id.0) "/" } { (user.name) } }
                        td { (user.email) }
                        td { (badge(yes_no(user.is_active), user.is_active)) }
                        td { (yes_no(user.is_staff)) }
                        td { (when(user.created_at)) }
                    }
                }
                @if found.items.is_empty() { (empty_row(6, "No users match.")) }
            }
        }
        (pagination("/admin/users/", &filters, page_wanted.number, page_wanted.size, found.total))
    };
    Ok(ok(page(
        "Users",
        Some((&staff.caller, Section::Users)),
        body,
    )))
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "activated" => Some("The account was activated."),
        "deactivated" => Some("The account was deactivated; its sessions ended."),
        "staff-granted" => Some("Staff rights were granted."),
        "staff-removed" => Some("Staff rights were removed; the user's admin sessions ended."),
        "password" => Some("The password was set; the user was signed out everywhere."),
        "second-factor" => {
            Some("The second factor was removed; the next admin sign-in enrols again.")
        }
        "no-second-factor" => Some("This user had no second factor to reset."),
        _ => None,
    }
}

fn second_factor_text(status: SecondFactorStatus) -> String {
    match status {
        SecondFactorStatus::None => "Not set up (enrols at the next admin sign-in)".into(),
        SecondFactorStatus::Enrolling => "Enrolment started, not confirmed".into(),
        SecondFactorStatus::Enrolled {
            recovery_codes_left,
        } => {
            format!("Enrolled; {recovery_codes_left} unused recovery codes")
        }
    }
}

fn one_button(
    staff: &StaffCaller,
    action: &str,
    field: (&str, &str),
    label: &str,
    danger: bool,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(staff.csrf_token()))
            input type="hidden" name=(field.0) value=(field.1);
            @if danger {
                button.button.button-danger type="submit" { (label) }
            } @else {
                button.button.button-primary type="submit" { (label) }
            }
        }
    }
}

fn detail_page(
    staff: &StaffCaller,
    detail: &UserDetail,
    form: &FormState,
    done: Option<&str>,
) -> Markup {
    let user = &detail.user;
    let id = user.id.0;
    let base = format!("/admin/users/{id}");
    let body = html! {
        (flash(done_message(done)))
        (error_summary(form, &[("password", "New password")]))
        section.card {
            h2 { "Account" }
            dl.facts {
                dt { "Id" } dd { (id) }
                dt { "Name" } dd { (user.name) }
                dt { "Email" } dd { (user.email) }
                dt { "Active" } dd { (badge(yes_no(user.is_active), user.is_active)) }
                dt { "Staff" } dd { (yes_no(user.is_staff)) }
                dt { "Joined" } dd { (when(user.created_at)) }
                dt { "Second factor" } dd { (second_factor_text(detail.second_factor)) }
            }
            p { a href={ "/admin/patients/?owner=" (id) } { "Patients owned by this user" } " · "
                a href={ "/admin/audit/?user=" (id) } { "Audit rows of this user" } }
        }
        section.card {
            h2 { "Access" }
            div.action-row {
                @if user.is_active {
                    p { "Deactivating signs the user out everywhere and refuses new sign-ins." }
                    (one_button(staff, &format!("{base}/active"), ("active", "false"), "Deactivate", true))
                } @else {
                    p { "Activating lets the user sign in again." }
                    (one_button(staff, &format!("{base}/active"), ("active", "true"), "Activate", false))
                }
            }
            div.action-row {
                @if user.is_staff {
                    p { "Removing staff rights ends the user's admin sessions at once." }
                    (one_button(staff, &format!("{base}/staff"), ("staff", "false"), "Remove staff rights", true))
                } @else {
                    p { "Staff can use this admin site and see every owner's records." }
                    (one_button(staff, &format!("{base}/staff"), ("staff", "true"), "Grant staff rights", false))
                }
            }
        }
        section.card {
            h2 { "Set a new password" }
            p { "The password policy applies. Setting it signs the user out everywhere (API tokens and admin sessions)." }
            form method="post" action={ (base) "/password" } {
                (csrf_field(staff.csrf_token()))
                (field(form, "password", "New password", Input::NewPassword, true))
                div.actions { button.button.button-danger type="submit" { "Set password" } }
            }
        }
        section.card.danger-zone {
            h2 { "Reset second factor" }
            p { "Removes the user's authenticator and recovery codes and ends their admin sessions; their next admin sign-in sets up a new one." }
            form.inline method="post" action={ (base) "/second-factor" } {
                (csrf_field(staff.csrf_token()))
                button.button.button-danger type="submit" { "Reset second factor" }
            }
        }
    };
    page(
        &format!("User: {}", user.name),
        Some((staff, Section::Users)),
        body,
    )
}

async fn load(
    state: &web::Data<SiteState>,
    staff: &StaffRequest,
    id: i64,
) -> Result<UserDetail, AdminError> {
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    Ok(call(move || service.user(&caller, UserId(id))).await?)
}

/// `GET /admin/users/{id}/`.
pub async fn detail(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    let query = FormData::query(&request)?;
    let detail = load(&state, &staff, id).await?;
    Ok(ok(detail_page(
        &staff.caller,
        &detail,
        &FormState::default(),
        query.get("done"),
    )))
}

/// After an action: back to the user page with its confirmation, or the page again with the
/// refusal (acting on oneself, a weak password).
async fn finish(
    state: &web::Data<SiteState>,
    staff: &StaffRequest,
    id: i64,
    result: Result<&str, ServiceError>,
) -> Result<HttpResponse, AdminError> {
    let errors: FieldErrors = match result {
        Ok(done) => return Ok(see_other(&format!("/admin/users/{id}/?done={done}"))),
        Err(ServiceError::Validation(errors)) => errors,
        Err(other) => return Err(other.into()),
    };
    let detail = load(state, staff, id).await?;
    let form = FormState {
        errors,
        ..FormState::default()
    };
    Ok(html_response(
        StatusCode::BAD_REQUEST,
        detail_page(&staff.caller, &detail, &form, None),
    ))
}

fn flag_of(form: &FormData, name: &str) -> Result<bool, AdminError> {
    form.get(name).and_then(parse_boolean).ok_or_else(|| {
        AdminError::BadRequest(format!("The form must say “{name}”: true or false."))
    })
}

/// `POST /admin/users/{id}/active` with `active=true|false`.
pub async fn set_active(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let active = flag_of(&form, "active")?;
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let result = call(move || service.set_user_active(&caller, UserId(id), active)).await;
    let done = if active { "activated" } else { "deactivated" };
    finish(&state, &staff, id, result.map(|()| done)).await
}

/// `POST /admin/users/{id}/staff` with `staff=true|false`.
pub async fn set_staff(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let is_staff = flag_of(&form, "staff")?;
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let result = call(move || service.set_user_staff(&caller, UserId(id), is_staff)).await;
    let done = if is_staff {
        "staff-granted"
    } else {
        "staff-removed"
    };
    finish(&state, &staff, id, result.map(|()| done)).await
}

/// `POST /admin/users/{id}/password` with `password`.
pub async fn reset_password(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let password = form.value("password");
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let result =
        call_with_password(move || service.reset_password(&caller, UserId(id), &password)).await;
    finish(&state, &staff, id, result.map(|()| "password")).await
}

/// `POST /admin/users/{id}/second-factor`.
pub async fn reset_second_factor(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let result = call(move || service.reset_second_factor(&caller, UserId(id))).await;
    let done = result.map(|had| {
        if had {
            "second-factor"
        } else {
            "no-second-factor"
        }
    });
    finish(&state, &staff, id, done).await
}
