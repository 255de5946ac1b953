//! `/admin/mappings/`: every owner's patient–doctor assignments; edit an active one's notes,
//! end it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::ServiceError;
use healthcare_core::ports::MappingView;
use healthcare_core::services::StaffCaller;
use healthcare_domain::FieldErrors;
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::fields::Submitted;
use healthcare_domain::mapping::{MappingFilter, MappingId, NOTES};
use healthcare_domain::patient::PatientId;
use maud::{Markup, html};

use crate::errors::{AdminError, call};
use crate::layout::{
    FormState, Input, Section, action_button, badge, csrf_field, empty_row, error_summary, field,
    flash, html_response, ok, page, pagination, see_other, when,
};
use crate::params::FormData;
use crate::path_id;
use crate::session::StaffRequest;
use crate::state::SiteState;

/// `GET /admin/mappings/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let filter = MappingFilter {
        patient: query.id("patient", "Patient id")?.map(PatientId),
        doctor: query.id("doctor", "Doctor id")?.map(DoctorId),
        active: query.flag("active", "Active")?,
        ..MappingFilter::default()
    };
    let page_wanted = query.page()?;
    let (service, caller) = (state.mappings.clone(), staff.caller.caller().clone());
    let found = call(move || service.list_mappings(&caller, filter, page_wanted)).await?;
    let filters = [
        ("patient", query.value("patient")),
        ("doctor", query.value("doctor")),
        ("active", query.value("active")),
    ];
    let active = query.value("active");
    let done = (query.get("done") == Some("removed")).then_some("The mapping was ended.");
    let body = html! {
        (flash(done))
        form.filters method="get" action="/admin/mappings/" {
            label { "Patient id " input type="number" min="1" name="patient" value=(query.value("patient")); }
            label { "Doctor id " input type="number" min="1" name="doctor" value=(query.value("doctor")); }
            label { "Status "
                select name="active" {
                    option value="" selected[active.is_empty()] { "Any" }
                    option value="yes" selected[active == "yes"] { "Active only" }
                    option value="no" selected[active == "no"] { "Ended only" }
                }
            }
            button.button type="submit" { "Filter" }
        }
        table.records {
            thead { tr { th { "Patient" } th { "Doctor" } th { "Assigned" } th { "Status" } th { "Notes" } th { "" } } }
            tbody {
                @for view in &found.items {
                    @let mapping = &view.mapping;
                    tr.record {
                        td { a href={ "/admin/patients/" (mapping.patient_id.0) "/" } { (view.patient_name) } }
                        td { a href={ "/admin/doctors/" (mapping.doctor_id.0) "/" } { (view.doctor_name) } " " span.muted { (view.doctor_specialization) } }
                        td { (when(mapping.assigned_date)) }
                        td { @if mapping.is_active { (badge("Active", true)) } @else { (badge("Ended", false)) } }
                        td { (mapping.notes) }
                        td.actions-cell {
                            a.button href={ "/admin/mappings/" (mapping.id.0) "/" } { "Details" }
                            " "
                            @if mapping.is_active {
                                (action_button(&staff.caller, &format!("/admin/mappings/{}/remove", mapping.id.0), "Remove", true))
                            }
                        }
                    }
                }
                @if found.items.is_empty() { (empty_row(6, "No mappings match.")) }
            }
        }
        (pagination("/admin/mappings/", &filters, page_wanted.number, page_wanted.size, found.total))
        p.hint { "Removing a mapping ends it; the row stays, marked ended, for the record." }
    };
    Ok(ok(page(
        "Mappings",
        Some((&staff.caller, Section::Mappings)),
        body,
    )))
}

/// `POST /admin/mappings/{id}/remove`.
pub async fn remove(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let (service, caller) = (state.mappings.clone(), staff.caller.caller().clone());
    call(move || service.remove_mapping(&caller, MappingId(id))).await?;
    Ok(see_other("/admin/mappings/?done=removed"))
}

/// The notes form's one field: (name, label).
const FIELDS: [(&str, &str); 1] = [(NOTES, "Notes")];

fn status(active: bool) -> Markup {
    if active {
        badge("Active", true)
    } else {
        badge("Ended", false)
    }
}

fn detail_page(
    staff: &StaffCaller,
    view: &MappingView,
    form: &FormState,
    done: Option<&str>,
) -> Markup {
    let mapping = &view.mapping;
    let id = mapping.id.0;
    let saved = (done == Some("saved")).then_some("The notes were saved.");
    let body = html! {
        (flash(saved))
        section.card {
            h2 { "Assignment" }
            dl.facts {
                dt { "Id" } dd { (id) }
                dt { "Patient" } dd { a href={ "/admin/patients/" (mapping.patient_id.0) "/" } { (view.patient_name) } }
                dt { "Doctor" } dd {
                    a href={ "/admin/doctors/" (mapping.doctor_id.0) "/" } { (view.doctor_name) }
                    " " span.muted { (view.doctor_specialization) }
                }
                dt { "Assigned" } dd { (when(mapping.assigned_date)) }
                dt { "Status" } dd { (status(mapping.is_active)) }
            }
        }
        section.card {
            h2 { "Notes" }
            @if mapping.is_active {
                (error_summary(form, &FIELDS))
                form method="post" action={ "/admin/mappings/" (id) "/" } {
                    (csrf_field(staff.csrf_token()))
                    (field(form, NOTES, "Notes", Input::TextArea, false))
                    div.actions { button.button.button-primary type="submit" { "Save notes" } }
                }
            } @else {
                @if mapping.notes.is_empty() { p.muted { "No notes." } } @else { p { (mapping.notes) } }
                p.hint { "Ended mappings cannot be edited." }
            }
        }
        @if mapping.is_active {
            section.card.danger-zone {
                h2 { "Remove" }
                p { "Removing a mapping ends it; the row stays, marked ended, for the record." }
                (action_button(staff, &format!("/admin/mappings/{id}/remove"), "Remove mapping", true))
            }
        }
    };
    page(
        &format!("Mapping: {} – {}", view.patient_name, view.doctor_name),
        Some((staff, Section::Mappings)),
        body,
    )
}

async fn load(
    state: &web::Data<SiteState>,
    staff: &StaffRequest,
    id: i64,
) -> Result<MappingView, AdminError> {
    let (service, caller) = (state.mappings.clone(), staff.caller.caller().clone());
    Ok(call(move || service.get_mapping(&caller, MappingId(id))).await?)
}

/// `GET /admin/mappings/{id}/`.
pub async fn detail(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    let query = FormData::query(&request)?;
    let view = load(&state, &staff, id).await?;
    let form = FormState::filled(vec![(NOTES.into(), view.mapping.notes.clone())]);
    Ok(ok(detail_page(
        &staff.caller,
        &view,
        &form,
        query.get("done"),
    )))
}

/// `POST /admin/mappings/{id}/`: saves the notes; errors show the form again as typed.
pub async fn update(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let notes = form
        .get(NOTES)
        .ok_or_else(|| AdminError::BadRequest("The form is missing its notes.".into()))?
        .to_owned();
    let (service, caller) = (state.mappings.clone(), staff.caller.caller().clone());
    let result = call(move || {
        service.update_mapping_notes(
            &caller,
            MappingId(id),
            Submitted::Given(notes),
            FieldErrors::new(),
        )
    })
    .await;
    let errors = match result {
        Ok(_) => return Ok(see_other(&format!("/admin/mappings/{id}/?done=saved"))),
        Err(ServiceError::Validation(errors)) => errors,
        Err(other) => return Err(other.into()),
    };
    let shown = FormState {
        values: form.0,
        errors,
        banner: None,
    };
    let view = load(&state, &staff, id).await?;
    Ok(html_response(
        StatusCode::BAD_REQUEST,
        detail_page(&staff.caller, &view, &shown, None),
    ))
}
