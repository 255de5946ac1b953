//! The routes: `metadata`, and per resource type read, vread, instance history and search
//! (`GET [type]?…` and `POST [type]/_search` with a form body). Every use case runs on the
//! blocking pool, like the JSON API's.

use actix_web::http::header::{CONTENT_TYPE, ETAG};
use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::Page;
use healthcare_core::ports::AuditFilter;
use healthcare_core::services::{Caller, PatientAssignments};
use healthcare_core::{Resource, ServiceError};
use healthcare_domain::UserId;
use healthcare_domain::audit::{AuditAction, AuditRecord};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::doctor::{Doctor, DoctorFilter, DoctorId, DoctorSearch};
use healthcare_domain::patient::{Patient, PatientId, PatientSearch};
use healthcare_domain::record_search::{
    DEFAULT_PAGE, MAX_PAGE, SearchOrder, SearchPage, SearchPaging, Seek, SeekKey, SortField,
    SortValue, TimeBound, fold,
};
use healthcare_web::blocking::run_blocking;
use healthcare_web::client::{WebConfig, own_origin};
use serde::Serialize;
use serde_json::Value;

use crate::FHIR_JSON;
use crate::bundle::{Match, Version, history, searchset, with_query};
use crate::caller::FhirCaller;
use crate::capability::capability_statement;
use crate::errors::FhirError;
use crate::params::{
    Pairs, SearchParameters, alternatives, bad_modifier, date_bounds, decode, ids, read_paging,
    split_modifier, text_matches, token_values, unknown_parameter,
};
use crate::resources::{
    action_code, audit_event, care_team, gender_of, organization, patient, patient_value,
    practitioner, practitioner_role,
};
use crate::state::FhirState;

type Reply = Result<HttpResponse, FhirError>;

/// Registers `/fhir/R4/…`; anything else under it answers an `OperationOutcome`.
pub fn configure_fhir(config: &mut web::ServiceConfig) {
    let read_only = || web::to(method_not_allowed);
    config.service(
        web::scope("/fhir/R4")
            .service(
                web::resource("/metadata")
                    .get(metadata)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Patient")
                    .get(search_patients)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Patient/_search")
                    .post(search_patients)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Patient/{id}")
                    .get(read_patient)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Patient/{id}/_history")
                    .get(patient_history)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Patient/{id}/_history/{vid}")
                    .get(vread_patient)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Practitioner")
                    .get(search_practitioners)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Practitioner/_search")
                    .post(search_practitioners)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Practitioner/{id}")
                    .get(read_practitioner)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Practitioner/{id}/_history")
                    .get(practitioner_history)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Practitioner/{id}/_history/{vid}")
                    .get(vread_practitioner)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/PractitionerRole")
                    .get(search_roles)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/PractitionerRole/_search")
                    .post(search_roles)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/PractitionerRole/{id}")
                    .get(read_role)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/CareTeam")
                    .get(search_care_teams)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/CareTeam/_search")
                    .post(search_care_teams)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/CareTeam/{id}")
                    .get(read_care_team)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Organization")
                    .get(search_organizations)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Organization/_search")
                    .post(search_organizations)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/Organization/{id}")
                    .get(read_organization)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/AuditEvent")
                    .get(search_audit_events)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/AuditEvent/_search")
                    .post(search_audit_events)
                    .default_service(read_only()),
            )
            .service(
                web::resource("/AuditEvent/{id}")
                    .get(read_audit_event)
                    .default_service(read_only()),
            )
            .default_service(web::to(unknown_route)),
    );
}

async fn unknown_route() -> Reply {
    Err(FhirError::UnknownRoute)
}

async fn method_not_allowed() -> Reply {
    Err(FhirError::MethodNotAllowed)
}

/// `scheme://host/fhir/R4` as the client reached it.
fn base_of(request: &HttpRequest) -> String {
    let origin = match request.app_data::<web::Data<WebConfig>>() {
        Some(config) => own_origin(request, config),
        None => {
            let info = request.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    };
    format!("{origin}/fhir/R4")
}

/// The JSON of `body` (a serializer error cannot happen for these types: no map has
/// non-string keys).
fn json_text(body: &impl Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

fn fhir_json(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, FHIR_JSON))
        .body(json_text(body))
}

/// A resource with its version as `ETag`.
fn resource_reply(version: i64, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, FHIR_JSON))
        .insert_header((ETAG, format!("W/\"{version}\"")))
        .body(json_text(body))
}

fn state_of(request: &HttpRequest) -> Result<web::Data<FhirState>, FhirError> {
    request
        .app_data::<web::Data<FhirState>>()
        .cloned()
        .ok_or_else(|| FhirError::Service(ServiceError::Internal("FHIR state missing".into())))
}

/// A path id: ours are positive integers; anything else is a record that does not exist.
fn path_id(request: &HttpRequest, name: &str, resource: Resource) -> Result<i64, FhirError> {
    request
        .match_info()
        .get(name)
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or(FhirError::Service(ServiceError::NotFound(resource)))
}

async fn metadata(request: HttpRequest) -> Reply {
    Ok(fhir_json(&capability_statement(&base_of(&request))))
}

// --- Patient -----------------------------------------------------------------------------

async fn read_patient(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    patient_version_reply(request, caller, None).await
}

async fn vread_patient(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let version = path_id(&request, "vid", Resource::Patient)?;
    patient_version_reply(request, caller, Some(version)).await
}

async fn patient_version_reply(
    request: HttpRequest,
    caller: Caller,
    version: Option<i64>,
) -> Reply {
    let id = PatientId(path_id(&request, "id", Resource::Patient)?);
    let state = state_of(&request)?;
    let found = run_blocking(move || state.patients.patient_version(&caller, id, version)).await?;
    if found.archived_at.is_some() {
        // A version that deleted the record: FHIR's answer for it is 410.
        return Err(ServiceError::Gone(Resource::Patient).into());
    }
    Ok(resource_reply(
        found.version,
        &patient(&base_of(&request), &found),
    ))
}

async fn patient_history(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let id = PatientId(path_id(&request, "id", Resource::Patient)?);
    let (count, below) = history_paging(&request)?;
    let state = state_of(&request)?;
    let versions = run_blocking(move || {
        state
            .patients
            .patient_history(&caller, id, below, count.saturating_add(1))
    })
    .await?;
    let base = base_of(&request);
    let versions = versions
        .iter()
        .map(|p| {
            let resource = patient_value(&base, p);
            Version::of(p.version, p.updated_at, p.archived_at, resource)
        })
        .collect();
    Ok(history_reply(
        &base,
        &format!("Patient/{}", id.0),
        versions,
        count,
    ))
}

async fn search_patients(
    request: HttpRequest,
    FhirCaller(caller): FhirCaller,
    SearchParameters(pairs): SearchParameters,
) -> Reply {
    let link_pairs = link_parameters(&pairs);
    let (paging, rest) = read_paging(pairs, SearchOrder::default())?;
    let search = patient_criteria(rest)?;
    let state = state_of(&request)?;
    let run = paging.clone();
    let page = run_blocking(move || state.patients.search_patients(&caller, search, &run)).await?;
    let base = base_of(&request);
    let matches = SearchPage {
        items: page
            .items
            .iter()
            .map(|p: &Patient| Match {
                key: paging.key_of(p.id.0, p.updated_at, p.details.name.as_str()),
                full_url: format!("{base}/Patient/{}", p.id.0),
                resource: patient(&base, p),
            })
            .collect(),
        has_previous: page.has_previous,
        has_next: page.has_next,
        total: page.total,
    };
    Ok(search_reply(
        &base,
        "Patient",
        &link_pairs,
        &paging,
        matches,
    ))
}

fn patient_criteria(pairs: Pairs) -> Result<PatientSearch, FhirError> {
    let mut search = PatientSearch::default();
    for (name, value) in pairs {
        match split_modifier(&name) {
            ("_id", None) => {
                search.ids = Some(narrowed(
                    search.ids,
                    ids(&value, "Patient").into_iter().map(PatientId).collect(),
                ))
            }
            ("name", modifier) => search.names.push(text_matches("name", modifier, &value)?),
            ("gender", None) => {
                let genders = alternatives(&value)
                    .iter()
                    .filter_map(|code| gender_of(code))
                    .collect();
                search.genders = Some(narrowed(search.genders, genders));
            }
            ("telecom", None) => {
                search.telecoms = Some(narrowed(search.telecoms, token_values(&value)));
            }
            ("_lastUpdated", None) => search.updated.extend(date_bounds("_lastUpdated", &value)?),
            (known @ ("_id" | "gender" | "telecom" | "_lastUpdated"), Some(modifier)) => {
                return Err(bad_modifier(known, modifier));
            }
            _ => return Err(unknown_parameter("Patient", &name)),
        }
    }
    Ok(search)
}

/// A parameter given again narrows the values before it (repeated parameters must all
/// match; the alternatives inside one, any).
fn narrowed<T: PartialEq>(before: Option<Vec<T>>, values: Vec<T>) -> Vec<T> {
    match before {
        Some(before) => before
            .into_iter()
            .filter(|value| values.contains(value))
            .collect(),
        None => values,
    }
}

// --- Practitioner and PractitionerRole -----------------------------------------------------

async fn read_practitioner(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let (doctor, base) = doctor_version(&request, caller, None, Resource::Doctor).await?;
    Ok(resource_reply(
        doctor.version,
        &practitioner(&base, &doctor),
    ))
}

async fn vread_practitioner(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let version = path_id(&request, "vid", Resource::Doctor)?;
    let (doctor, base) = doctor_version(&request, caller, Some(version), Resource::Doctor).await?;
    Ok(resource_reply(
        doctor.version,
        &practitioner(&base, &doctor),
    ))
}

async fn read_role(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let (doctor, _) = doctor_version(&request, caller, None, Resource::Doctor).await?;
    Ok(resource_reply(doctor.version, &practitioner_role(&doctor)))
}

async fn doctor_version(
    request: &HttpRequest,
    caller: Caller,
    version: Option<i64>,
    resource: Resource,
) -> Result<(Doctor, String), FhirError> {
    let id = DoctorId(path_id(request, "id", resource)?);
    let state = state_of(request)?;
    let found = run_blocking(move || state.doctors.doctor_version(&caller, id, version)).await?;
    if found.archived_at.is_some() {
        return Err(ServiceError::Gone(resource).into());
    }
    Ok((found, base_of(request)))
}

async fn practitioner_history(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let id = DoctorId(path_id(&request, "id", Resource::Doctor)?);
    let (count, below) = history_paging(&request)?;
    let state = state_of(&request)?;
    let versions = run_blocking(move || {
        state
            .doctors
            .doctor_history(&caller, id, below, count.saturating_add(1))
    })
    .await?;
    let base = base_of(&request);
    let versions = versions
        .iter()
        .map(|d| {
            Version::of(
                d.version,
                d.updated_at,
                d.archived_at,
                practitioner(&base, d),
            )
        })
        .collect();
    Ok(history_reply(
        &base,
        &format!("Practitioner/{}", id.0),
        versions,
        count,
    ))
}

async fn search_practitioners(
    request: HttpRequest,
    FhirCaller(caller): FhirCaller,
    SearchParameters(pairs): SearchParameters,
) -> Reply {
    doctor_search_reply(request, caller, pairs, "Practitioner").await
}

async fn search_roles(
    request: HttpRequest,
    FhirCaller(caller): FhirCaller,
    SearchParameters(pairs): SearchParameters,
) -> Reply {
    doctor_search_reply(request, caller, pairs, "PractitionerRole").await
}

async fn doctor_search_reply(
    request: HttpRequest,
    caller: Caller,
    pairs: Pairs,
    resource_type: &'static str,
) -> Reply {
    let link_pairs = link_parameters(&pairs);
    let (paging, rest) = read_paging(pairs, SearchOrder::default())?;
    let search = if resource_type == "Practitioner" {
        practitioner_criteria(rest)?
    } else {
        role_criteria(rest)?
    };
    let state = state_of(&request)?;
    let run = paging.clone();
    let page = run_blocking(move || state.doctors.search_doctors(&caller, search, &run)).await?;
    let base = base_of(&request);
    let page = page.map(|d: Doctor| Match {
        key: paging.key_of(d.id.0, d.updated_at, d.details.name.as_str()),
        full_url: format!("{base}/{resource_type}/{}", d.id.0),
        resource: if resource_type == "Practitioner" {
            practitioner(&base, &d)
        } else {
            practitioner_role(&d)
        },
    });
    Ok(search_reply(
        &base,
        resource_type,
        &link_pairs,
        &paging,
        page,
    ))
}

fn practitioner_criteria(pairs: Pairs) -> Result<DoctorSearch, FhirError> {
    let mut search = DoctorSearch::default();
    for (name, value) in pairs {
        match split_modifier(&name) {
            ("_id", None) => {
                search.ids = Some(narrowed(
                    search.ids,
                    ids(&value, "Practitioner")
                        .into_iter()
                        .map(DoctorId)
                        .collect(),
                ))
            }
            ("name", modifier) => search.names.push(text_matches("name", modifier, &value)?),
            ("telecom", None) => {
                search.telecoms = Some(narrowed(search.telecoms, token_values(&value)));
            }
            (known @ ("_id" | "telecom"), Some(modifier)) => {
                return Err(bad_modifier(known, modifier));
            }
            _ => return Err(unknown_parameter("Practitioner", &name)),
        }
    }
    Ok(search)
}

fn role_criteria(pairs: Pairs) -> Result<DoctorSearch, FhirError> {
    let mut filter = DoctorFilter::default();
    let mut search = DoctorSearch::default();
    for (name, value) in pairs {
        match split_modifier(&name) {
            ("specialty", None | Some("text")) => {
                if filter.specialization.is_some() || alternatives(&value).len() > 1 {
                    return Err(FhirError::BadRequest(
                        "specialty takes one value per search.".into(),
                    ));
                }
                filter.specialization = Some(value);
            }
            ("active", None) => {
                filter.available = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(FhirError::BadRequest("active takes true or false.".into())),
                })
            }
            ("practitioner", None) => {
                search.ids = Some(narrowed(
                    search.ids,
                    ids(&value, "Practitioner")
                        .into_iter()
                        .map(DoctorId)
                        .collect(),
                ));
            }
            (known @ ("specialty" | "active" | "practitioner"), Some(modifier)) => {
                return Err(bad_modifier(known, modifier));
            }
            _ => return Err(unknown_parameter("PractitionerRole", &name)),
        }
    }
    search.visible = filter;
    Ok(search)
}

// --- CareTeam ---------------------------------------------------------------------------

/// A care team as a resource (the assignments' doctors without their counts).
fn care_team_of(base: &str, team: &PatientAssignments) -> Value {
    let assignments: Vec<_> = team
        .assignments
        .iter()
        .map(|(mapping, doctor)| (mapping.clone(), doctor.doctor.clone()))
        .collect();
    care_team(base, &team.patient, &assignments)
}

async fn read_care_team(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let id = PatientId(path_id(&request, "id", Resource::Patient)?);
    let state = state_of(&request)?;
    let team = run_blocking(move || state.mappings.patient_assignments(&caller, id)).await?;
    Ok(fhir_json(&care_team_of(&base_of(&request), &team)))
}

async fn search_care_teams(
    request: HttpRequest,
    FhirCaller(caller): FhirCaller,
    SearchParameters(pairs): SearchParameters,
) -> Reply {
    let link_pairs = link_parameters(&pairs);
    let (paging, rest) = read_paging(pairs, SearchOrder::default())?;
    if paging.order.field == SortField::Name {
        return Err(FhirError::BadRequest(
            "CareTeam searches sort by _id or _lastUpdated.".into(),
        ));
    }
    let mut search = PatientSearch::default();
    for (name, value) in rest {
        match split_modifier(&name) {
            ("patient", None) => {
                let ids = ids(&value, "Patient").into_iter().map(PatientId).collect();
                search.ids = Some(narrowed(search.ids, ids));
            }
            ("participant", None) => {
                let ids = ids(&value, "Practitioner")
                    .into_iter()
                    .map(DoctorId)
                    .collect();
                search.assigned_to = Some(narrowed(search.assigned_to, ids));
            }
            (known @ ("patient" | "participant"), Some(modifier)) => {
                return Err(bad_modifier(known, modifier));
            }
            _ => return Err(unknown_parameter("CareTeam", &name)),
        }
    }
    let state = state_of(&request)?;
    let run = paging.clone();
    let page = run_blocking(move || state.mappings.care_teams(&caller, search, &run)).await?;
    let base = base_of(&request);
    let page = page.map(|team| Match {
        key: paging.key_of(
            team.patient.id.0,
            team.patient.updated_at,
            team.patient.details.name.as_str(),
        ),
        full_url: format!("{base}/CareTeam/{}", team.patient.id.0),
        resource: care_team_of(&base, &team),
    });
    Ok(search_reply(&base, "CareTeam", &link_pairs, &paging, page))
}

// --- Organization -----------------------------------------------------------------------

async fn read_organization(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let id = ClinicId(path_id(&request, "id", Resource::Clinic)?);
    let state = state_of(&request)?;
    let membership = run_blocking(move || state.clinics.get_clinic(&caller, id)).await?;
    Ok(fhir_json(&organization(&membership.clinic)))
}

/// The caller's clinics (a member sees no other), matched and paged in memory: an account
/// belongs to few clinics.
async fn search_organizations(
    request: HttpRequest,
    FhirCaller(caller): FhirCaller,
    SearchParameters(pairs): SearchParameters,
) -> Reply {
    let link_pairs = link_parameters(&pairs);
    let (paging, rest) = read_paging(pairs, SearchOrder::default())?;
    if paging.order.field == SortField::LastUpdated {
        return Err(FhirError::BadRequest(
            "Organization searches sort by _id or name.".into(),
        ));
    }
    let mut ids_wanted: Option<Vec<i64>> = None;
    let mut names = Vec::new();
    for (name, value) in rest {
        match split_modifier(&name) {
            ("_id", None) => ids_wanted = Some(narrowed(ids_wanted, ids(&value, "Organization"))),
            ("name", modifier) => names.push(text_matches("name", modifier, &value)?),
            ("_id", Some(modifier)) => return Err(bad_modifier("_id", modifier)),
            _ => return Err(unknown_parameter("Organization", &name)),
        }
    }
    let state = state_of(&request)?;
    let clinics = run_blocking(move || {
        let mut all = Vec::new();
        for number in 1.. {
            let page = state
                .clinics
                .list_clinics(&caller, Page { number, size: 100 })?;
            let done = page.items.len() < 100;
            all.extend(page.items.into_iter().map(|membership| membership.clinic));
            if done {
                break;
            }
        }
        Ok(all)
    })
    .await?;
    let anchor = paging.name_anchor().and_then(|id| {
        (clinics.iter())
            .find(|clinic| clinic.id.0 == id)
            .map(|clinic| fold(&clinic.name))
    });
    let paging = paging.anchored(anchor);
    let matches: Vec<_> = clinics
        .into_iter()
        .filter(|clinic| {
            ids_wanted
                .as_ref()
                .is_none_or(|ids| ids.contains(&clinic.id.0))
        })
        .filter(|clinic| {
            names
                .iter()
                .all(|alternatives| alternatives.iter().any(|name| name.matches(&clinic.name)))
        })
        .collect();
    let key = |clinic: &healthcare_domain::clinic::Clinic| {
        paging.key_of(clinic.id.0, clinic.created_at, &clinic.name)
    };
    let base = base_of(&request);
    let page = paging.page_in_memory(matches, key).map(|clinic| Match {
        key: key(&clinic),
        full_url: format!("{base}/Organization/{}", clinic.id.0),
        resource: organization(&clinic),
    });
    Ok(search_reply(
        &base,
        "Organization",
        &link_pairs,
        &paging,
        page,
    ))
}

// --- AuditEvent -------------------------------------------------------------------------

/// The trail of the caller's active clinic, for its admins and auditors (others: 403).
async fn read_audit_event(request: HttpRequest, FhirCaller(caller): FhirCaller) -> Reply {
    let id = path_id(&request, "id", Resource::AuditEvent)?;
    let state = state_of(&request)?;
    let filter = AuditFilter {
        ids: Some(vec![id]),
        ..AuditFilter::default()
    };
    let found = run_blocking(move || clinic_trail(&state, &caller, filter, 1)).await?;
    let record =
        found
            .items
            .into_iter()
            .next()
            .ok_or(FhirError::Service(ServiceError::NotFound(
                Resource::AuditEvent,
            )))?;
    Ok(fhir_json(&audit_event(&base_of(&request), &record)))
}

fn clinic_trail(
    state: &FhirState,
    caller: &Caller,
    filter: AuditFilter,
    size: u64,
) -> Result<healthcare_core::PageOf<AuditRecord>, ServiceError> {
    let clinic = caller.clinic().ok_or(ServiceError::Forbidden)?;
    state
        .clinics
        .clinic_audit(caller, clinic, Ok(filter), Page { number: 1, size })
}

/// Newest first, always: each page continues after the last row of the one before, so rows
/// written meanwhile (newer) never shift it.
async fn search_audit_events(
    request: HttpRequest,
    FhirCaller(caller): FhirCaller,
    SearchParameters(pairs): SearchParameters,
) -> Reply {
    let newest_first = SearchOrder {
        field: SortField::LastUpdated,
        descending: true,
    };
    if pairs.iter().any(|(name, _)| name == "_sort") {
        return Err(FhirError::BadRequest(
            "AuditEvent searches are newest first; _sort is not supported.".into(),
        ));
    }
    let link_pairs = link_parameters(&pairs);
    let (paging, rest) = read_paging(pairs, newest_first)?;
    let mut filter = AuditFilter::default();
    match &paging.seek {
        Seek::First => {}
        Seek::After(key) => {
            let SortValue::LastUpdated(at) = key.value else {
                return Err(FhirError::BadRequest(
                    "_page is not a page of this search.".into(),
                ));
            };
            filter.older_than = Some((at, key.id));
        }
        Seek::Before(_) => {
            return Err(FhirError::BadRequest(
                "AuditEvent pages are followed forwards only.".into(),
            ));
        }
    }
    for (name, value) in rest {
        match split_modifier(&name) {
            ("patient", None) => match ids(&value, "Patient")[..] {
                [patient] => filter.patient = Some(PatientId(patient)),
                // No id that can be one of ours: nothing matches.
                [] => filter.ids = Some(Vec::new()),
                _ => {
                    return Err(FhirError::BadRequest(
                        "patient takes one patient per search.".into(),
                    ));
                }
            },
            ("agent", None) => {
                match value
                    .rsplit(['|', '/'])
                    .next()
                    .and_then(|id| id.parse::<i64>().ok())
                {
                    Some(agent) => filter.actor = Some(UserId(agent)),
                    None => filter.ids = Some(Vec::new()),
                }
            }
            ("date", None) => {
                for bound in date_bounds("date", &value)? {
                    narrow_time(&mut filter, bound);
                }
            }
            ("action", None) => {
                let codes = alternatives(&value);
                let actions = AuditAction::ALL
                    .into_iter()
                    .filter(|action| {
                        codes
                            .iter()
                            .any(|code| code == action_code(*action) || code == action.as_str())
                    })
                    .collect();
                filter.any_action = Some(narrowed(filter.any_action, actions));
            }
            (known @ ("patient" | "agent" | "date" | "action"), Some(modifier)) => {
                return Err(bad_modifier(known, modifier));
            }
            _ => return Err(unknown_parameter("AuditEvent", &name)),
        }
    }
    let state = state_of(&request)?;
    let size = paging.count.saturating_add(1);
    let found = run_blocking(move || clinic_trail(&state, &caller, filter, size)).await?;
    let total = paging.with_total.then_some(found.total);
    let mut records = found.items;
    let has_next = records.len() as u64 > paging.count;
    records.truncate(usize::try_from(paging.count).unwrap_or(usize::MAX));
    let base = base_of(&request);
    let items = records
        .iter()
        .map(|record| Match {
            key: SeekKey {
                value: SortValue::LastUpdated(record.event.at),
                id: record.id,
            },
            full_url: format!("{base}/AuditEvent/{}", record.id),
            resource: audit_event(&base, record),
        })
        .collect();
    let page = SearchPage {
        items,
        has_previous: false,
        has_next,
        total,
    };
    Ok(search_reply(
        &base,
        "AuditEvent",
        &link_pairs,
        &paging,
        page,
    ))
}

/// Narrows the trail's time window by one bound (timestamps are kept to the microsecond).
fn narrow_time(filter: &mut AuditFilter, bound: TimeBound) {
    let tick = chrono::Duration::microseconds(1);
    let (since, until) = match bound {
        TimeBound::NotBefore(at) => (Some(at), None),
        TimeBound::After(at) => (Some(at + tick), None),
        TimeBound::Before(at) => (None, Some(at - tick)),
        TimeBound::NotAfter(at) => (None, Some(at)),
    };
    if let Some(since) = since {
        filter.since = Some(filter.since.map_or(since, |before| before.max(since)));
    }
    if let Some(until) = until {
        filter.until = Some(filter.until.map_or(until, |before| before.min(until)));
    }
}

// --- Shared -----------------------------------------------------------------------------

/// The parameters a page's links repeat: all but `_page` (each link sets its own).
fn link_parameters(pairs: &Pairs) -> Pairs {
    pairs
        .iter()
        .filter(|(name, _)| name != "_page")
        .cloned()
        .collect()
}

fn search_reply<R: Serialize>(
    base: &str,
    resource_type: &str,
    link_pairs: &Pairs,
    paging: &SearchPaging,
    page: SearchPage<Match<R>>,
) -> HttpResponse {
    let url = format!("{base}/{resource_type}");
    fhir_json(&searchset(&url, link_pairs, &paging.seek, page))
}

/// `_count` and `_page` (the version to continue below) of a history request.
fn history_paging(request: &HttpRequest) -> Result<(u64, Option<i64>), FhirError> {
    let mut count = DEFAULT_PAGE;
    let mut below = None;
    for (name, value) in decode(request.query_string())? {
        match name.as_str() {
            "_count" => {
                count = value
                    .parse::<u64>()
                    .map_err(|_| {
                        FhirError::BadRequest(format!(
                            "_count must be a whole number, not {value:?}."
                        ))
                    })?
                    .clamp(1, MAX_PAGE);
            }
            "_page" => {
                below = Some(
                    value
                        .strip_prefix("v.")
                        .and_then(|version| version.parse::<i64>().ok())
                        .ok_or_else(|| {
                            FhirError::BadRequest(
                                "_page is not a page of this history; follow the links.".into(),
                            )
                        })?,
                );
            }
            _ => {
                return Err(FhirError::BadRequest(format!(
                    "The history parameter {name} is not supported (only _count)."
                )));
            }
        }
    }
    Ok((count, below))
}

/// The history Bundle of versions read one beyond `count` (the extra one says more follow).
fn history_reply(
    base: &str,
    reference: &str,
    mut versions: Vec<Version>,
    count: u64,
) -> HttpResponse {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let next = (versions.len() > count).then(|| {
        versions.truncate(count);
        let below = versions.last().map_or(0, |version| version.version);
        with_query(
            &format!("{base}/{reference}/_history"),
            &vec![
                ("_count".into(), count.to_string()),
                ("_page".into(), format!("v.{below}")),
            ],
        )
    });
    fhir_json(&history(base, reference, versions, next))
}
