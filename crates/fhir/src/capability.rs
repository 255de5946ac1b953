//! The CapabilityStatement: exactly the resource types, interactions and search parameters
//! this server implements. The handlers' parameter readers accept these names and refuse any
//! other, and the black-box suite drives every interaction listed here.

use serde_json::{Value, json};

/// A search parameter: name, FHIR type, what it matches here.
pub type SearchParam = (&'static str, &'static str, &'static str);

/// What the server does with one resource type.
pub struct ResourceCapability {
    /// The resource type.
    pub resource_type: &'static str,
    /// Whether read, vread and instance history are served (otherwise read only).
    pub versioned: bool,
    /// The search parameters.
    pub search: &'static [SearchParam],
}

/// Every resource type served.
pub const RESOURCES: &[ResourceCapability] = &[
    ResourceCapability {
        resource_type: "Patient",
        versioned: true,
        search: &[
            (
                "_id",
                "token",
                "The patient's id; comma-separated ids match any.",
            ),
            (
                "name",
                "string",
                "Start of any word of the name, ignoring case and accents; :exact (the whole name, as written) and :contains.",
            ),
            (
                "gender",
                "token",
                "male, female or other (unknown matches none).",
            ),
            (
                "telecom",
                "token",
                "The phone number or e-mail address, exactly.",
            ),
            (
                "_lastUpdated",
                "date",
                "When the patient last changed, with the prefixes eq, gt, lt, ge and le.",
            ),
        ],
    },
    ResourceCapability {
        resource_type: "Practitioner",
        versioned: true,
        search: &[
            (
                "_id",
                "token",
                "The practitioner's id; comma-separated ids match any.",
            ),
            (
                "name",
                "string",
                "Start of any word of the name, ignoring case and accents; :exact and :contains.",
            ),
            (
                "telecom",
                "token",
                "The phone number or e-mail address, exactly.",
            ),
        ],
    },
    ResourceCapability {
        resource_type: "PractitionerRole",
        versioned: false,
        search: &[
            (
                "specialty",
                "token",
                "Text of the specialty: a case-insensitive part of it (the :text behaviour).",
            ),
            ("active", "token", "true: taking patients; false: not."),
            (
                "practitioner",
                "reference",
                "Practitioner/[id] (or the id).",
            ),
        ],
    },
    ResourceCapability {
        resource_type: "CareTeam",
        versioned: false,
        search: &[
            (
                "patient",
                "reference",
                "Patient/[id] (or the id): that patient's team.",
            ),
            (
                "participant",
                "reference",
                "Practitioner/[id] (or the id): the teams the doctor is actively assigned to.",
            ),
        ],
    },
    ResourceCapability {
        resource_type: "Organization",
        versioned: false,
        search: &[
            (
                "_id",
                "token",
                "The clinic's id; comma-separated ids match any.",
            ),
            (
                "name",
                "string",
                "Start of any word of the name, ignoring case and accents; :exact and :contains.",
            ),
        ],
    },
    ResourceCapability {
        resource_type: "AuditEvent",
        versioned: false,
        search: &[
            (
                "patient",
                "reference",
                "Patient/[id] (or the id): rows about that patient.",
            ),
            (
                "agent",
                "reference",
                "The account id of the user who acted.",
            ),
            (
                "date",
                "date",
                "When it was recorded, with the prefixes eq, gt, lt, ge and le.",
            ),
            (
                "action",
                "token",
                "C, R, U, D or E, or one of this server's actions (e.g. patient.read).",
            ),
        ],
    },
];

/// The parameters every search takes besides its own.
pub const RESULT_PARAMETERS: &str = "Every search also takes _count (default 20, at most 100), _sort (_id, _lastUpdated or name, - for descending; default _id; AuditEvent is always newest first), _total (none, estimate or accurate) and the _page of its links; any other parameter is refused with 400. AuditEvent is the trail of the token's clinic, for its admins and auditors.";

/// The statement, with `base` as the implementation's address.
pub fn capability_statement(base: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|resource| {
            let mut interactions = vec![json!({"code": "read"})];
            if resource.versioned {
                interactions.push(json!({"code": "vread"}));
                interactions.push(json!({"code": "history-instance"}));
            }
            interactions.push(json!({"code": "search-type"}));
            let params: Vec<Value> = resource
                .search
                .iter()
                .map(|(name, kind, documentation)| {
                    json!({"name": name, "type": kind, "documentation": documentation})
                })
                .collect();
            json!({
                "type": resource.resource_type,
                "interaction": interactions,
                "versioning": if resource.versioned { "versioned" } else { "no-version" },
                "readHistory": resource.versioned,
                "updateCreate": false,
                "searchParam": params,
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "Healthcare records service",
        "kind": "instance",
        "software": {"name": "healthcare-records", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Patients, their care teams, the doctor directory, the caller's clinics and their audit trail, read-only over FHIR R4.", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": RESULT_PARAMETERS,
            "security": {
                "description": "Send the access token of POST /api/auth/login/ as Authorization: Bearer <token>; the token's clinic and role decide what is visible, as on /api/.",
            },
            "resource": resources,
        }],
    })
}
