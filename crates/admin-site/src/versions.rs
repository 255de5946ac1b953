//! `/admin/patients/{id}/versions/` and `/admin/doctors/{id}/versions/`: every version of a
//! record kept since history began, newest first, archived records included (each change,
//! archive and restore is a version).

use actix_web::{HttpResponse, web};
use healthcare_domain::doctor::{Doctor, DoctorId};
use healthcare_domain::patient::{Patient, PatientId};
use maud::{Markup, html};

use crate::errors::{AdminError, call};
use crate::layout::{Section, badge, ok, page, when};
use crate::path_id;
use crate::session::StaffRequest;
use crate::state::SiteState;

/// Versions shown on one page, newest first.
const SHOWN: u64 = 200;

fn status(archived: bool) -> Markup {
    if archived {
        badge("Archived", false)
    } else {
        badge("Active", true)
    }
}

fn patient_versions_page(staff: &StaffRequest, id: i64, versions: &[Patient]) -> Markup {
    let name = versions.first().map_or("", |p| p.details.name.as_str());
    let body = html! {
        p { a href={ "/admin/patients/" (id) "/" } { "Back to the patient" } }
        section.card {
            h2 { "Versions" }
            p.hint { "Every change, archive and restore since record history began, newest first (at most " (SHOWN) ")." }
            table.records {
                thead { tr {
                    th { "Version" } th { "Stored" } th { "Status" } th { "Name" } th { "Age" }
                    th { "Gender" } th { "Phone" } th { "Email" } th { "Address" } th { "Medical history" }
                } }
                tbody {
                    @for patient in versions {
                        @let details = &patient.details;
                        tr.record {
                            td { (patient.version) }
                            td { (when(patient.updated_at)) }
                            td { (status(patient.archived_at.is_some())) }
                            td { (details.name.as_str()) }
                            td { (details.age.value()) }
                            td { (details.gender.code()) }
                            td { (details.phone.as_str()) }
                            td { (details.email.as_str()) }
                            td { (details.address) }
                            td { (details.medical_history) }
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("Patient versions: {name}"),
        Some((&staff.caller, Section::Patients)),
        body,
    )
}

fn doctor_versions_page(staff: &StaffRequest, id: i64, versions: &[Doctor]) -> Markup {
    let name = versions.first().map_or("", |d| d.details.name.as_str());
    let body = html! {
        p { a href={ "/admin/doctors/" (id) "/" } { "Back to the doctor" } }
        section.card {
            h2 { "Versions" }
            p.hint { "Every change, archive and restore since record history began, newest first (at most " (SHOWN) ")." }
            table.records {
                thead { tr {
                    th { "Version" } th { "Stored" } th { "Status" } th { "Name" } th { "Specialization" }
                    th { "Phone" } th { "Email" } th { "Experience" } th { "Qualification" }
                    th { "Fee" } th { "Available" }
                } }
                tbody {
                    @for doctor in versions {
                        @let details = &doctor.details;
                        tr.record {
                            td { (doctor.version) }
                            td { (when(doctor.updated_at)) }
                            td { (status(doctor.archived_at.is_some())) }
                            td { (details.name.as_str()) }
                            td { (details.specialization.as_str()) }
                            td { (details.phone.as_str()) }
                            td { (details.email.as_str()) }
                            td { (details.experience_years.value()) }
                            td { (details.qualification.as_str()) }
                            td { (details.consultation_fee.to_string()) }
                            td { @if details.is_available { "yes" } @else { "no" } }
                        }
                    }
                }
            }
        }
    };
    page(
        &format!("Doctor versions: {name}"),
        Some((&staff.caller, Section::Doctors)),
        body,
    )
}

/// `GET /admin/patients/{id}/versions/`.
pub async fn patient_versions(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    let (service, caller) = (state.patients.clone(), staff.caller.caller().clone());
    let versions =
        call(move || service.patient_history(&caller, PatientId(id), None, SHOWN)).await?;
    Ok(ok(patient_versions_page(&staff, id, &versions)))
}

/// `GET /admin/doctors/{id}/versions/`.
pub async fn doctor_versions(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    raw_id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    let id = path_id(&raw_id)?;
    let (service, caller) = (state.doctors.clone(), staff.caller.caller().clone());
    let versions = call(move || service.doctor_history(&caller, DoctorId(id), None, SHOWN)).await?;
    Ok(ok(doctor_versions_page(&staff, id, &versions)))
}
