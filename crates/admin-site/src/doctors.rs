//! `/admin/doctors/`: the directory, archived doctors included; edit, archive, restore.

use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::services::{DoctorDetail, IfMatch, StaffCaller};
use healthcare_domain::FieldErrors;
use healthcare_domain::doctor::{Doctor, DoctorFilter, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use maud::{Markup, html};

use crate::errors::{AdminError, call, refused_form};
use crate::layout::{
    FormState, Input, Section, action_button, badge, csrf_field, empty_row, error_summary, field,
    flash, html_response, ok, page, pagination, see_other, when, yes_no,
};
use crate::params::{FormData, integer_field, text_field, version_field};
use crate::patients::mappings_table;
use crate::session::StaffRequest;
use crate::state::SiteState;
use crate::{ButtonPress, path_id, record_action};

/// The edit form's fields: (name, label).
const FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("specialization", "Specialization"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("experience_years", "Years of experience"),
    ("qualification", "Qualification"),
    ("consultation_fee", "Consultation fee"),
    ("is_available", "Available for new patients"),
];

/// A submitted edit form as the domain's input. `is_available` is a checkbox: browsers send
/// nothing when it is cleared, so absence means "no".
pub fn doctor_input(form: &FormData) -> (DoctorInput, FieldErrors) {
    let mut errors = FieldErrors::new();
    let input = DoctorInput {
        name: text_field(form, "name"),
        specialization: text_field(form, "specialization"),
        phone: text_field(form, "phone"),
        email: text_field(form, "email"),
        experience_years: integer_field(form, "experience_years", &mut errors),
        qualification: text_field(form, "qualification"),
        consultation_fee: text_field(form, "consultation_fee"),
        is_available: Submitted::Given(
            form.get("is_available")
                .is_some_and(|value| matches!(value, "true" | "on" | "yes" | "1")),
        ),
        // The linked account is its creator's to set, through the API.
        user: Submitted::Absent,
    };
    (input, errors)
}

fn status(archived: bool) -> Markup {
    if archived {
        badge("Archived", false)
    } else {
        badge("Active", true)
    }
}

/// `GET /admin/doctors/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let filter = DoctorFilter {
        search: query.text("q"),
        archived: query.flag("archived", "Archived")?,
        ..DoctorFilter::default()
    };
    let page_wanted = query.page()?;
    let (service, caller) = (state.doctors.clone(), staff.caller.caller().clone());
    let found = call(move || service.list_doctors(&caller, filter, page_wanted)).await?;
    let filters = [
        ("q", query.value("q")),
        ("archived", query.value("archived")),
    ];
    let archived = query.value("archived");
    let body = html! {
        form.filters method="get" action="/admin/doctors/" {
            label { "Name or specialization contains " input type="search" name="q" value=(query.value("q")); }
            label { "Status "
                select name="archived" {
                    option value="" selected[archived.is_empty()] { "Any" }
                    option value="no" selected[archived == "no"] { "Active only" }
                    option value="yes" selected[archived == "yes"] { "Archived only" }
                }
            }
            button.button type="submit" { "Filter" }
        }
        table.records {
            thead { tr { th { "Name" } th { "Specialization" } th { "Available" } th.num { "Patients" } th { "Status" } } }
            tbody {
                @for row in &found.items {
                    tr.record {
                        td { a href={ "/admin/doctors/" (row.doctor.id.0) "/" } { (row.doctor.details.name.as_str()) } }
                        td { (row.doctor.details.specialization.as_str()) }
                        td { (yes_no(row.doctor.details.is_available)) }
                        td.num { (row.patient_count) }
                        td { (status(row.doctor.archived_at.is_some())) }
                    }
                }
                @if found.items.is_empty() { (empty_row(5, "No doctors match.")) }
            }
        }
        (pagination("/admin/doctors/", &filters, page_wanted.number, page_wanted.size, found.total))
    };
    Ok(ok(page(
        "Doctors",
        Some((&staff.caller, Section::Doctors)),
        body,
    )))
}

fn form_of(doctor: &Doctor) -> FormState {
    let details = &doctor.details;
    FormState::filled(vec![
        ("name".into(), details.name.as_str().to_owned()),
        (
            "specialization".into(),
            details.specialization.as_str().to_owned(),
        ),
        ("phone".into(), details.phone.as_str().to_owned()),
        ("email".into(), details.email.as_str().to_owned()),
        (
            "experience_years".into(),
            details.experience_years.value().to_string(),
        ),
        (
            "qualification".into(),
            details.qualification.as_str().to_owned(),
        ),
        (
            "consultation_fee".into(),
            details.consultation_fee.to_string(),
        ),
        ("is_available".into(), details.is_available.to_string()),
        ("version".into(), doctor.version.to_string()),
    ])
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("The doctor was saved."),
        "archived" => Some("The doctor was archived; its active mappings ended."),
        "restored" => Some("The doctor was restored; its mappings stay ended."),
        _ => None,
    }
}

fn detail_page(
    staff: &StaffCaller,
    detail: &DoctorDetail,
    form: &FormState,
    done: Option<&str>,
) -> Markup {
    let doctor = &detail.doctor.doctor;
    let id = doctor.id.0;
    let archived = doctor.archived_at.is_some();
    let body = html! {
        (flash(done_message(done)))
        section.card {
            h2 { "Record" }
            dl.facts {
                dt { "Id" } dd { (id) }
                dt { "Status" } dd { (status(archived)) @if let Some(at) = doctor.archived_at { " since " (when(at)) } }
                dt { "Created by" } dd { a href={ "/admin/users/" (doctor.created_by.0) "/" } { "User #" (doctor.created_by.0) } }
                dt { "Active patients" } dd { (detail.doctor.patient_count) }
                dt { "Created" } dd { (when(doctor.created_at)) }
                dt { "Last changed" } dd { (when(doctor.updated_at)) }
                dt { "Version" } dd { (doctor.version) " · " a href={ "/admin/doctors/" (id) "/versions/" } { "all versions" } }
            }
        }
        section.card {
            h2 { "Patients" }
            (mappings_table(&detail.mappings, true))
        }
        section.card {
            h2 { "Edit" }
            @if archived {
                p.hint { "Archived doctors cannot be edited. Restore it first." }
            } @else {
                (error_summary(form, &FIELDS))
                form method="post" action={ "/admin/doctors/" (id) "/" } {
                    (csrf_field(staff.csrf_token()))
                    input type="hidden" name="version" value=(form.value("version"));
                    (field(form, "name", "Name", Input::Text("text"), true))
                    (field(form, "specialization", "Specialization", Input::Text("text"), true))
                    (field(form, "phone", "Phone", Input::Text("tel"), true))
                    (field(form, "email", "Email", Input::Text("email"), true))
                    (field(form, "experience_years", "Years of experience", Input::Number, true))
                    (field(form, "qualification", "Qualification", Input::Text("text"), true))
                    (field(form, "consultation_fee", "Consultation fee", Input::Text("text"), true))
                    (field(form, "is_available", "Available for new patients", Input::Checkbox, false))
                    div.actions { button.button.button-primary type="submit" { "Save changes" } }
                }
            }
        }
        section.card.danger-zone {
            @if archived {
                h2 { "Restore" }
                p { "Restoring lists the doctor again. Its mappings stay ended." }
                (action_button(staff, &format!("/admin/doctors/{id}/restore"), "Restore doctor", false))
            } @else {
                h2 { "Archive" }
                p { "Archiving removes the doctor from the directory and ends all of its active mappings. It can be restored." }
                (action_button(staff, &format!("/admin/doctors/{id}/archive"), "Archive doctor", true))
            }
        }
    };
    page(
        &format!("Doctor: {}", doctor.details.name.as_str()),
        Some((staff, Section::Doctors)),
        body,
    )
}

async fn load(
    state: &web::Data<SiteState>,
    staff: &StaffRequest,
    id: i64,
) -> Result<DoctorDetail, AdminError> {
    let (service, caller) = (state.doctors.clone(), staff.caller.caller().clone());
    Ok(call(move || service.doctor_detail(&caller, DoctorId(id))).await?)
}

/// `GET /admin/doctors/{id}/`.
pub async fn detail(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    let query = FormData::query(&request)?;
    let detail = load(&state, &staff, id).await?;
    let form = form_of(&detail.doctor.doctor);
    Ok(ok(detail_page(
        &staff.caller,
        &detail,
        &form,
        query.get("done"),
    )))
}

/// `POST /admin/doctors/{id}/`: saves the edit form; errors show the form again as typed.
pub async fn update(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let version = version_field(&form)?;
    let (input, shape_errors) = doctor_input(&form);
    let (service, caller) = (state.doctors.clone(), staff.caller.caller().clone());
    let condition = Some(IfMatch(vec![version]));
    let result = call(move || {
        service.update_doctor(
            &caller,
            DoctorId(id),
            input,
            shape_errors,
            WriteMode::Replace,
            condition,
        )
    })
    .await;
    // A cleared checkbox sends nothing; show it cleared again.
    let mut values = form.0;
    if !values.iter().any(|(name, _)| name == "is_available") {
        values.push(("is_available".into(), "false".into()));
    }
    let (status, shown) = match result {
        Ok(_) => return Ok(see_other(&format!("/admin/doctors/{id}/?done=saved"))),
        Err(error) => refused_form(error, values)?,
    };
    let detail = load(&state, &staff, id).await?;
    Ok(html_response(
        status,
        detail_page(&staff.caller, &detail, &shown, None),
    ))
}

/// `POST /admin/doctors/{id}/archive`.
pub async fn archive(press: ButtonPress) -> Result<HttpResponse, AdminError> {
    record_action(
        press,
        |state, caller, id| state.doctors.delete_doctor(caller, DoctorId(id)),
        |id| format!("/admin/doctors/{id}/?done=archived"),
    )
    .await
}

/// `POST /admin/doctors/{id}/restore`.
pub async fn restore(press: ButtonPress) -> Result<HttpResponse, AdminError> {
    record_action(
        press,
        |state, caller, id| state.doctors.restore_doctor(caller, DoctorId(id)),
        |id| format!("/admin/doctors/{id}/?done=restored"),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthcare_domain::fields::WriteMode;

    fn form(encoded: &str) -> FormData {
        FormData::parse(encoded.as_bytes()).expect("form")
    }

    #[test]
    fn the_checkbox_and_numbers_are_read_from_text() {
        let (input, errors) = doctor_input(&form(
            "name=Dr+A&specialization=GP&phone=555&email=a%40b.org&experience_years=12\
             &qualification=MD&consultation_fee=99.50",
        ));
        assert!(errors.is_empty());
        assert_eq!(input.is_available, Submitted::Given(false));
        assert_eq!(input.experience_years, Submitted::Given(12));
        assert!(input.validate(WriteMode::Replace, errors).is_ok());
        let (input, errors) = doctor_input(&form("experience_years=ten&is_available=true"));
        assert_eq!(input.is_available, Submitted::Given(true));
        assert!(errors.has("experience_years"));
    }
}
