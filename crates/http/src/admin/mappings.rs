//! `/admin/mappings/`: every owner's patient–doctor assignments; end an active one.

use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::PatientId;
use healthcare_ports::ports::MappingSearch;
use maud::html;

use crate::admin::errors::{AdminError, call};
use crate::admin::layout::{
    Section, action_button, badge, empty_row, flash, ok, page, pagination, see_other, when,
};
use crate::admin::params::FormData;
use crate::admin::path_id;
use crate::admin::session::StaffRequest;
use crate::state::AppState;

/// `GET /admin/mappings/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let filter = MappingSearch {
        patient: query.id("patient", "Patient id")?.map(PatientId),
        doctor: query.id("doctor", "Doctor id")?.map(DoctorId),
        active: query.flag("active", "Active")?,
    };
    let page_wanted = query.page()?;
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let found = call(move || service.mappings(&caller, &filter, page_wanted)).await?;
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
    state: web::Data<AppState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    call(move || service.remove_mapping(&caller, MappingId(id))).await?;
    Ok(see_other("/admin/mappings/?done=removed"))
}
