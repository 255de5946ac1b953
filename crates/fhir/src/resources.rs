//! The records as FHIR resources. What FHIR has no element for travels in an extension whose
//! URL is under this server's own base (`docs/FHIR.md` lists each); no core element is
//! invented.

use chrono::SecondsFormat;
use healthcare_domain::Timestamp;
use healthcare_domain::audit::{AuditAction, AuditOutcome, AuditRecord};
use healthcare_domain::doctor::Doctor;
use healthcare_domain::patient::{Gender, Patient};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A FHIR instant.
pub fn instant(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The URL of one of this server's extensions.
pub fn extension_url(base: &str, name: &str) -> String {
    format!("{base}/StructureDefinition/{name}")
}

fn meta(version: i64, updated_at: Timestamp) -> Value {
    json!({"versionId": version.to_string(), "lastUpdated": instant(updated_at)})
}

/// FHIR's administrative gender of ours.
pub fn gender_code(gender: Gender) -> &'static str {
    match gender {
        Gender::Male => "male",
        Gender::Female => "female",
        Gender::Other => "other",
    }
}

/// Ours of FHIR's code; `unknown` (and anything else) is none of ours.
pub fn gender_of(code: &str) -> Option<Gender> {
    match code {
        "male" => Some(Gender::Male),
        "female" => Some(Gender::Female),
        "other" => Some(Gender::Other),
        _ => None,
    }
}

/// The contact points that are set (an empty phone or e-mail is none).
fn telecom(phone: &str, email: &str) -> Vec<Value> {
    let mut points = Vec::new();
    if !phone.is_empty() {
        points.push(json!({"system": "phone", "value": phone}));
    }
    if !email.is_empty() {
        points.push(json!({"system": "email", "value": email}));
    }
    points
}

/// Sets `key` unless `value` is an empty list (FHIR forbids empty arrays).
fn set_list(resource: &mut Map<String, Value>, key: &str, value: Vec<Value>) {
    if !value.is_empty() {
        resource.insert(key.to_owned(), Value::Array(value));
    }
}

/// A patient as FHIR serializes it (typed: pages of patients are the hot path).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientResource<'a> {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    extension: Vec<Extension<'a>>,
    active: bool,
    name: [HumanName<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    telecom: Vec<ContactPoint<'a>>,
    gender: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<[Address<'a>; 1]>,
    managing_organization: Reference,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    version_id: String,
    last_updated: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension<'a> {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_age: Option<AgeQuantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_string: Option<&'a str>,
}

#[derive(Serialize)]
struct AgeQuantity {
    value: i16,
    unit: &'static str,
    system: &'static str,
    code: &'static str,
}

#[derive(Serialize)]
struct HumanName<'a> {
    #[serde(rename = "use")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct ContactPoint<'a> {
    system: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct Address<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Reference {
    reference: String,
}

/// A patient (the medical history only when the caller's role reads one: the use case has
/// already emptied it otherwise).
pub fn patient<'a>(base: &str, patient: &'a Patient) -> PatientResource<'a> {
    let details = &patient.details;
    let mut extension = vec![Extension {
        url: extension_url(base, "patient-age"),
        value_age: Some(AgeQuantity {
            value: details.age.value(),
            unit: "years",
            system: "http://unitsofmeasure.org",
            code: "a",
        }),
        value_string: None,
    }];
    if !details.medical_history.is_empty() {
        extension.push(Extension {
            url: extension_url(base, "patient-medical-history"),
            value_age: None,
            value_string: Some(&details.medical_history),
        });
    }
    let mut telecom = Vec::new();
    if !details.phone.as_str().is_empty() {
        telecom.push(ContactPoint {
            system: "phone",
            value: details.phone.as_str(),
        });
    }
    if !details.email.as_str().is_empty() {
        telecom.push(ContactPoint {
            system: "email",
            value: details.email.as_str(),
        });
    }
    PatientResource {
        resource_type: "Patient",
        id: patient.id.0.to_string(),
        meta: Meta {
            version_id: patient.version.to_string(),
            last_updated: instant(patient.updated_at),
        },
        extension,
        active: patient.archived_at.is_none(),
        name: [HumanName {
            kind: "official",
            text: details.name.as_str(),
        }],
        telecom,
        gender: gender_code(details.gender),
        address: (!details.address.is_empty()).then(|| {
            [Address {
                text: &details.address,
            }]
        }),
        managing_organization: Reference {
            reference: format!("Organization/{}", patient.clinic.0),
        },
    }
}

/// [`patient`] as a JSON value (for history Bundles, which mix in deleted versions).
pub fn patient_value(base: &str, found: &Patient) -> Value {
    serde_json::to_value(patient(base, found)).unwrap_or(Value::Null)
}

/// A doctor as a practitioner: who they are. What they do is its [`practitioner_role`].
pub fn practitioner(base: &str, doctor: &Doctor) -> Value {
    let details = &doctor.details;
    let fee = details.consultation_fee.cents() as f64 / 100.0;
    let mut resource = Map::new();
    resource.insert("resourceType".into(), json!("Practitioner"));
    resource.insert("id".into(), json!(doctor.id.0.to_string()));
    resource.insert("meta".into(), meta(doctor.version, doctor.updated_at));
    resource.insert(
        "extension".into(),
        json!([
            {"url": extension_url(base, "practitioner-experience-years"),
             "valueInteger": details.experience_years.value()},
            {"url": extension_url(base, "practitioner-consultation-fee"),
             "valueMoney": {"value": fee}},
        ]),
    );
    resource.insert("active".into(), json!(doctor.archived_at.is_none()));
    resource.insert("name".into(), json!([{"text": details.name.as_str()}]));
    set_list(
        &mut resource,
        "telecom",
        telecom(details.phone.as_str(), details.email.as_str()),
    );
    resource.insert(
        "qualification".into(),
        json!([{"code": {"text": details.qualification.as_str()}}]),
    );
    Value::Object(resource)
}

/// A doctor's role: the specialization, and whether they take patients (`active`).
pub fn practitioner_role(doctor: &Doctor) -> Value {
    let details = &doctor.details;
    json!({
        "resourceType": "PractitionerRole",
        "id": doctor.id.0.to_string(),
        "meta": meta(doctor.version, doctor.updated_at),
        "active": details.is_available,
        "practitioner": {"reference": format!("Practitioner/{}", doctor.id.0),
                         "display": details.name.as_str()},
        "specialty": [{"text": details.specialization.as_str()}],
    })
}

/// A patient's care team: its active assignments, each a participant (the doctor, their
/// specialty as the role, since when, and the assignment's notes).
pub fn care_team(
    base: &str,
    patient: &healthcare_domain::patient::Patient,
    assignments: &[(healthcare_domain::mapping::Mapping, Doctor)],
) -> Value {
    let participants: Vec<Value> = assignments
        .iter()
        .map(|(mapping, doctor)| {
            let mut participant = json!({
                "id": format!("assignment-{}", mapping.id.0),
                "role": [{"text": doctor.details.specialization.as_str()}],
                "member": {"reference": format!("Practitioner/{}", doctor.id.0),
                           "display": doctor.details.name.as_str()},
                "period": {"start": instant(mapping.assigned_date)},
            });
            if !mapping.notes.is_empty() {
                participant["extension"] = json!([{
                    "url": extension_url(base, "careteam-assignment-notes"),
                    "valueString": mapping.notes,
                }]);
            }
            participant
        })
        .collect();
    let mut resource = Map::new();
    resource.insert("resourceType".into(), json!("CareTeam"));
    resource.insert("id".into(), json!(patient.id.0.to_string()));
    resource.insert("status".into(), json!("active"));
    resource.insert(
        "name".into(),
        json!(format!("Care team of {}", patient.details.name.as_str())),
    );
    resource.insert(
        "subject".into(),
        json!({"reference": format!("Patient/{}", patient.id.0)}),
    );
    set_list(&mut resource, "participant", participants);
    Value::Object(resource)
}

/// A clinic as an organization.
pub fn organization(clinic: &healthcare_domain::clinic::Clinic) -> Value {
    let kind = if clinic.personal_owner.is_some() {
        "Personal clinic"
    } else {
        "Clinic"
    };
    json!({
        "resourceType": "Organization",
        "id": clinic.id.0.to_string(),
        "active": true,
        "type": [{
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov", "display": "Healthcare Provider"}],
            "text": kind,
        }],
        "name": clinic.name,
    })
}

/// FHIR's kind of action (create, read, update, delete, execute) of each audited action.
pub fn action_code(action: AuditAction) -> &'static str {
    use AuditAction::*;
    match action {
        PatientCreate | MappingCreate | ClinicCreate | ClinicInvite | PatientBreakGlass => "C",
        PatientRead | PatientList | MappingList | AuditRead => "R",
        PatientUpdate | PatientRestore | MappingUpdate | ClinicRename | ClinicMemberUpdate
        | UserUpdate | AuthPasswordChange => "U",
        PatientDelete | MappingRemove | ClinicMemberRemove => "D",
        AuthLogin | AuthRefresh | AuthLogout | AdminLogin | AuthSecondFactor | ClinicSwitch
        | ClinicJoin => "E",
    }
}

/// An audit row as an AuditEvent: our action as its subtype (in a code system under this
/// server's base), FHIR's kind of action, who (an account, by identifier: accounts are not
/// FHIR resources here) from where, and the patient it was about.
pub fn audit_event(base: &str, record: &AuditRecord) -> Value {
    let event = &record.event;
    let (outcome, description) = match event.outcome {
        AuditOutcome::Success => ("0", "success"),
        AuditOutcome::Failure => ("4", "failure"),
        AuditOutcome::Denied => ("8", "denied"),
    };
    let mut agent = json!({"requestor": true});
    if let Some(actor) = event.actor {
        agent["who"] =
            json!({"identifier": {"system": format!("{base}/user"), "value": actor.0.to_string()}});
    }
    if let Some(address) = &event.origin.client_address {
        agent["network"] = json!({"address": address, "type": "2"});
    }
    let mut entities = Vec::new();
    if let Some(patient) = event.patient_id {
        entities.push(json!({"what": {"reference": format!("Patient/{}", patient.0)}}));
    }
    if let Some(id) = event.resource_id {
        entities.push(json!({"what": {"identifier": {
            "system": format!("{base}/{}", event.action.resource_type()),
            "value": id.to_string(),
        }}}));
    }
    let mut resource = json!({
        "resourceType": "AuditEvent",
        "id": record.id.to_string(),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": format!("{base}/CodeSystem/audit-action"),
                     "code": event.action.as_str()}],
        "action": action_code(event.action),
        "recorded": instant(event.at),
        "outcome": outcome,
        "outcomeDesc": description,
        "agent": [agent],
        "source": {"observer": {"display": "Healthcare records service"}},
    });
    if event.break_glass {
        resource["purposeOfEvent"] = json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "BTG", "display": "break the glass",
        }]}]);
    }
    if let Some(request) = &event.origin.request_id {
        resource["extension"] = json!([{
            "url": extension_url(base, "audit-request-id"),
            "valueString": request,
        }]);
    }
    if !entities.is_empty() {
        resource["entity"] = Value::Array(entities);
    }
    resource
}
