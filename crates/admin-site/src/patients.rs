//! `/admin/patients/`: every owner's patients, archived ones included; edit, archive,
//! restore.

use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::ports::MappingView;
use healthcare_core::services::{IfMatch, PatientDetail, StaffCaller};
use healthcare_domain::FieldErrors;
use healthcare_domain::UserId;
use healthcare_domain::fields::WriteMode;
use healthcare_domain::patient::{Patient, PatientFilter, PatientId, PatientInput};
use maud::{Markup, html};

use crate::errors::{AdminError, call, refused_form};
use crate::layout::{
    FormState, Input, Section, action_button, badge, csrf_field, empty_row, error_summary, field,
    flash, html_response, ok, page, pagination, see_other, when,
};
use crate::params::{FormData, integer_field, text_field, version_field};
use crate::session::StaffRequest;
use crate::state::SiteState;
use crate::{ButtonPress, path_id, record_action};

/// The gender codes the domain accepts, with their labels.
pub const GENDERS: [(&str, &str); 3] = [("M", "Male"), ("F", "Female"), ("O", "Other")];

/// The edit form's fields: (name, label).
const FIELDS: [(&str, &str); 7] = [
    ("name", "Name"),
    ("age", "Age"),
    ("gender", "Gender"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("address", "Address"),
    ("medical_history", "Medical history"),
];

/// A submitted edit form as the domain's input, with the form's own findings (an age that
/// is not a whole number).
pub fn patient_input(form: &FormData) -> (PatientInput, FieldErrors) {
    let mut errors = FieldErrors::new();
    let input = PatientInput {
        name: text_field(form, "name"),
        age: integer_field(form, "age", &mut errors),
        gender: text_field(form, "gender"),
        phone: text_field(form, "phone"),
        email: text_field(form, "email"),
        address: text_field(form, "address"),
        medical_history: text_field(form, "medical_history"),
    };
    (input, errors)
}

fn gender_label(code: &str) -> &str {
    GENDERS
        .iter()
        .find(|(value, _)| *value == code)
        .map_or(code, |(_, label)| label)
}

fn status(archived: bool) -> Markup {
    if archived {
        badge("Archived", false)
    } else {
        badge("Active", true)
    }
}

/// `GET /admin/patients/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let filter = PatientFilter {
        search: query.text("q"),
        owner: query.id("owner", "Owner")?.map(UserId),
        archived: query.flag("archived", "Archived")?,
        // Staff see every clinic.
        scope: None,
    };
    let page_wanted = query.page()?;
    let (service, caller) = (state.patients.clone(), staff.caller.caller().clone());
    let found = call(move || service.list_patients(&caller, filter, page_wanted)).await?;
    let filters = [
        ("q", query.value("q")),
        ("archived", query.value("archived")),
        ("owner", query.value("owner")),
    ];
    let archived = query.value("archived");
    let body = html! {
        form.filters method="get" action="/admin/patients/" {
            label { "Name contains " input type="search" name="q" value=(query.value("q")); }
            label { "Status "
                select name="archived" {
                    option value="" selected[archived.is_empty()] { "Any" }
                    option value="no" selected[archived == "no"] { "Active only" }
                    option value="yes" selected[archived == "yes"] { "Archived only" }
                }
            }
            label { "Owner id " input type="number" min="1" name="owner" value=(query.value("owner")); }
            button.button type="submit" { "Filter" }
        }
        table.records {
            thead { tr { th { "Name" } th.num { "Age" } th { "Gender" } th.num { "Owner" } th { "Created" } th { "Status" } } }
            tbody {
                @for patient in &found.items {
                    tr.record {
                        td { a href={ "/admin/patients/" (patient.id.0) "/" } { (patient.details.name.as_str()) } }
                        td.num { (patient.details.age.value()) }
                        td { (gender_label(patient.details.gender.code())) }
                        td.num { a href={ "/admin/users/" (patient.owner.0) "/" } { "#" (patient.owner.0) } }
                        td { (when(patient.created_at)) }
                        td { (status(patient.archived_at.is_some())) }
                    }
                }
                @if found.items.is_empty() { (empty_row(6, "No patients match.")) }
            }
        }
        (pagination("/admin/patients/", &filters, page_wanted.number, page_wanted.size, found.total))
    };
    Ok(ok(page(
        "Patients",
        Some((&staff.caller, Section::Patients)),
        body,
    )))
}

fn form_of(patient: &Patient) -> FormState {
    let details = &patient.details;
    FormState::filled(vec![
        ("name".into(), details.name.as_str().to_owned()),
        ("age".into(), details.age.value().to_string()),
        ("gender".into(), details.gender.code().to_owned()),
        ("phone".into(), details.phone.as_str().to_owned()),
        ("email".into(), details.email.as_str().to_owned()),
        ("address".into(), details.address.clone()),
        ("medical_history".into(), details.medical_history.clone()),
        ("version".into(), patient.version.to_string()),
    ])
}

/// The mappings table shared by the patient and doctor pages.
pub fn mappings_table(mappings: &[MappingView], show_patient: bool) -> Markup {
    html! {
        table.records {
            thead { tr {
                @if show_patient { th { "Patient" } } @else { th { "Doctor" } th { "Specialization" } }
                th { "Assigned" } th { "Status" } th { "Notes" }
            } }
            tbody {
                @for view in mappings {
                    tr.record {
                        @if show_patient {
                            td { a href={ "/admin/patients/" (view.mapping.patient_id.0) "/" } { (view.patient_name) } }
                        } @else {
                            td { a href={ "/admin/doctors/" (view.mapping.doctor_id.0) "/" } { (view.doctor_name) } }
                            td { (view.doctor_specialization) }
                        }
                        td { (when(view.mapping.assigned_date)) }
                        td { @if view.mapping.is_active { (badge("Active", true)) } @else { (badge("Ended", false)) } }
                        td { (view.mapping.notes) }
                    }
                }
                @if mappings.is_empty() { (empty_row(if show_patient { 4 } else { 5 }, "No mappings.")) }
            }
        }
    }
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("The patient was saved."),
        "archived" => Some("The patient was archived; its active mappings ended."),
        "restored" => Some("The patient was restored; its mappings stay ended."),
        _ => None,
    }
}

fn detail_page(
    staff: &StaffCaller,
    detail: &PatientDetail,
    form: &FormState,
    done: Option<&str>,
) -> Markup {
    let patient = &detail.patient;
    let id = patient.id.0;
    let archived = patient.archived_at.is_some();
    let action = format!("/admin/patients/{id}/");
    let body = html! {
        (flash(done_message(done)))
        section.card {
            h2 { "Record" }
            dl.facts {
                dt { "Id" } dd { (id) }
                dt { "Status" } dd { (status(archived)) @if let Some(at) = patient.archived_at { " since " (when(at)) } }
                dt { "Owner" } dd {
                    @match &detail.owner {
                        Some(owner) => a href={ "/admin/users/" (owner.id.0) "/" } { (owner.name) " (" (owner.email) ")" },
                        None => { "User #" (patient.owner.0) " (no longer exists)" },
                    }
                }
                dt { "Created" } dd { (when(patient.created_at)) }
                dt { "Last changed" } dd { (when(patient.updated_at)) }
                dt { "Version" } dd { (patient.version) " · " a href={ "/admin/patients/" (id) "/versions/" } { "all versions" } }
            }
        }
        section.card {
            h2 { "Doctors" }
            (mappings_table(&detail.mappings, false))
        }
        section.card {
            h2 { "Edit" }
            @if archived {
                p.hint { "Archived records cannot be edited. Restore it first." }
            } @else {
                (error_summary(form, &FIELDS))
                form method="post" action=(action) {
                    (csrf_field(staff.csrf_token()))
                    input type="hidden" name="version" value=(form.value("version"));
                    (field(form, "name", "Name", Input::Text("text"), true))
                    (field(form, "age", "Age", Input::Number, true))
                    (field(form, "gender", "Gender", Input::Select(&GENDERS), true))
                    (field(form, "phone", "Phone", Input::Text("tel"), false))
                    (field(form, "email", "Email", Input::Text("email"), false))
                    (field(form, "address", "Address", Input::TextArea, false))
                    (field(form, "medical_history", "Medical history", Input::TextArea, false))
                    div.actions { button.button.button-primary type="submit" { "Save changes" } }
                }
            }
        }
        section.card.danger-zone {
            @if archived {
                h2 { "Restore" }
                p { "Restoring makes the record visible to its owner again. Its mappings stay ended; assign doctors again if needed." }
                (action_button(staff, &format!("/admin/patients/{id}/restore"), "Restore patient", false))
            } @else {
                h2 { "Archive" }
                p { "Archiving hides the record from its owner and ends all of its active mappings. The record is kept and can be restored." }
                (action_button(staff, &format!("/admin/patients/{id}/archive"), "Archive patient", true))
            }
        }
    };
    page(
        &format!("Patient: {}", patient.details.name.as_str()),
        Some((staff, Section::Patients)),
        body,
    )
}

async fn load(
    state: &web::Data<SiteState>,
    staff: &StaffRequest,
    id: i64,
) -> Result<PatientDetail, AdminError> {
    let (service, caller) = (state.patients.clone(), staff.caller.caller().clone());
    Ok(call(move || service.patient_detail(&caller, PatientId(id))).await?)
}

/// `GET /admin/patients/{id}/`.
pub async fn detail(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    let query = FormData::query(&request)?;
    let detail = load(&state, &staff, id).await?;
    let form = form_of(&detail.patient);
    Ok(ok(detail_page(
        &staff.caller,
        &detail,
        &form,
        query.get("done"),
    )))
}

/// `POST /admin/patients/{id}/`: saves the edit form; errors show the form again as typed.
pub async fn update(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
    form: FormData,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    staff.check_csrf(&form)?;
    let version = version_field(&form)?;
    let (input, shape_errors) = patient_input(&form);
    let (service, caller) = (state.patients.clone(), staff.caller.caller().clone());
    let condition = Some(IfMatch(vec![version]));
    let result = call(move || {
        service.update_patient(
            &caller,
            PatientId(id),
            input,
            shape_errors,
            WriteMode::Replace,
            condition,
        )
    })
    .await;
    let (status, shown) = match result {
        Ok(_) => return Ok(see_other(&format!("/admin/patients/{id}/?done=saved"))),
        Err(error) => refused_form(error, form.0)?,
    };
    let detail = load(&state, &staff, id).await?;
    Ok(html_response(
        status,
        detail_page(&staff.caller, &detail, &shown, None),
    ))
}

/// `POST /admin/patients/{id}/archive`.
pub async fn archive(press: ButtonPress) -> Result<HttpResponse, AdminError> {
    record_action(
        press,
        |state, caller, id| state.patients.delete_patient(caller, PatientId(id)),
        |id| format!("/admin/patients/{id}/?done=archived"),
    )
    .await
}

/// `POST /admin/patients/{id}/restore`.
pub async fn restore(press: ButtonPress) -> Result<HttpResponse, AdminError> {
    record_action(
        press,
        |state, caller, id| state.patients.restore_patient(caller, PatientId(id)),
        |id| format!("/admin/patients/{id}/?done=restored"),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthcare_domain::fields::{Submitted, WriteMode};

    fn form(encoded: &str) -> FormData {
        FormData::parse(encoded.as_bytes()).expect("form")
    }

    #[test]
    fn a_complete_form_is_a_valid_patient() {
        let (input, errors) = patient_input(&form(
            "name=Ann+Lee&age=42&gender=F&phone=555&email=&address=1+Main+St&medical_history=",
        ));
        assert!(errors.is_empty());
        assert_eq!(input.age, Submitted::Given(42));
        let changes = input.validate(WriteMode::Replace, errors).expect("valid");
        assert_eq!(
            changes.name.map(|name| name.into_string()).as_deref(),
            Some("Ann Lee")
        );
    }

    #[test]
    fn bad_fields_get_the_apis_messages() {
        let (input, errors) = patient_input(&form("name=&age=forty&gender=X"));
        assert_eq!(input.age, Submitted::Rejected);
        let Err(errors) = input.validate(WriteMode::Replace, errors) else {
            panic!("must be refused");
        };
        assert!(errors.has("name") && errors.has("age") && errors.has("gender"));
        let age: Vec<_> = errors.iter().filter(|(name, _)| *name == "age").collect();
        assert_eq!(age[0].1, [healthcare_domain::FieldProblem::NotAnInteger]);
    }

    #[test]
    fn a_blank_age_is_required() {
        let (input, errors) = patient_input(&form("name=A&age=+&gender=M"));
        let Err(errors) = input.validate(WriteMode::Replace, errors) else {
            panic!("must be refused");
        };
        assert!(errors.has("age"));
    }
}
