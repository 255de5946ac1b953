//! The proof that no clinic sees another's data (issue #15), on SQLite and PostgreSQL.
//!
//! Two clinics, Alpha and Bravo, get the same shape: members of every role, patients with
//! medical histories, mappings to a doctor linked to the clinician, a break-glass grant. Then,
//! driven by the served OpenAPI document (so a route added later is covered without editing
//! this file), every member of Bravo tries every route and method that takes a path id with
//! Alpha's ids, and the answers must be byte-identical to those for ids that never existed;
//! ids in bodies must behave the same; every list, count, page, audit view and break-glass log
//! under Bravo must hold nothing of Alpha's; a page link minted under Alpha and replayed with a
//! Bravo token shows Bravo's view; the FHIR routes, driven by the CapabilityStatement, answer
//! the same way; a member removed (or whose role changes) through one
//! instance loses the access on another within 30 seconds; and the audit chain verifies.

use std::time::{Duration, Instant};

use crate::common::{Session, TestApp, doctor_body};
use serde_json::{Value, json};

on_both_backends!(no_clinic_sees_anothers_data);

/// An id no record has.
const MISSING: i64 = 987_654_321;

/// One clinic's members and records.
struct Clinic {
    tag: &'static str,
    id: i64,
    /// (role, session acting in the clinic), admin first.
    members: Vec<(&'static str, Session)>,
    patients: Vec<i64>,
    mappings: Vec<i64>,
    grant: i64,
}

impl Clinic {
    fn member(&self, role: &str) -> &Session {
        &self
            .members
            .iter()
            .find(|(name, _)| *name == role)
            .expect("every role is seeded")
            .1
    }
}

/// A clinic named after `tag`, whose patients, members and reasons all carry the tag, so a
/// response that mentions it leaks. Doctors are one shared directory: they carry no tag.
async fn seed(app: &TestApp, tag: &'static str) -> Clinic {
    let admin = app
        .register(&format!("{tag} Admin"), &format!("admin@{tag}.example"))
        .await;
    let id = app.create_clinic(&admin, &format!("{tag} Clinic")).await;
    let mut members = vec![("admin", app.switched(&admin, id).await)];
    for role in ["clinician", "front_desk", "auditor"] {
        let email = format!("{role}@{tag}.example");
        let member = app.register(&format!("{tag} {role}"), &email).await;
        app.join_clinic(&admin, id, &member, &email, role).await;
        members.push((role, app.switched(&member, id).await));
    }
    let session = |role: &str| {
        &members
            .iter()
            .find(|(name, _)| *name == role)
            .expect("every role is seeded")
            .1
    };
    let admin = session("admin");
    let mut patients = Vec::new();
    for n in 1..=3 {
        let body = json!({"name": format!("{tag} patient {n}"), "age": 40, "gender": "F",
                          "email": format!("patient{n}@{tag}.example"),
                          "medical_history": format!("{tag} history {n}")});
        let reply = app
            .request("POST", "/api/patients/", Some(body), Some(&admin.access))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        patients.push(reply.body["id"].as_i64().expect("id"));
    }
    let mut linked = doctor_body("Dr. Shared", "Cardiology");
    linked["user"] = json!(session("clinician").user_id);
    let doctor = app
        .request("POST", "/api/doctors/", Some(linked), Some(&admin.access))
        .await;
    assert_eq!(doctor.status, 201, "{}", doctor.body);
    let doctor = doctor.body["id"].as_i64().expect("id");
    let other_doctor = app.create_doctor(admin, "Dr. Other", "Dermatology").await;
    let mappings = vec![
        app.assign(admin, patients[0], doctor).await,
        app.assign(admin, patients[1], other_doctor).await,
    ];
    let granted = app
        .request(
            "POST",
            &format!("/api/patients/{}/break-glass/", patients[2]),
            Some(json!({"reason": format!("{tag} emergency, unconscious")})),
            Some(&session("clinician").access),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    let log = app
        .get(&format!("/api/clinics/{id}/break-glass/"), &admin.access)
        .await;
    let grant = log.body["results"][0]["id"].as_i64().expect("grant id");
    Clinic {
        tag,
        id,
        members,
        patients,
        mappings,
        grant,
    }
}

/// Which of Alpha's ids a path parameter takes, from the route and the parameter's own
/// description; `None` for the doctor directory, which every clinic shares by design.
fn alpha_id(alpha: &Clinic, path: &str, parameter: &str, description: &str) -> Option<i64> {
    let segment = path.trim_start_matches("/api/").split('/').next();
    match (parameter, segment) {
        ("user_id", _) => Some(alpha.member("front_desk").user_id),
        (_, Some("patients")) => Some(alpha.patients[0]),
        (_, Some("mappings")) if description.to_lowercase().contains("patient") => {
            Some(alpha.patients[0])
        }
        (_, Some("mappings")) => Some(alpha.mappings[0]),
        (_, Some("clinics")) => Some(alpha.id),
        (_, Some("doctors")) => None,
        _ => panic!("classify the path id {parameter} of {path}: whose record does it name?"),
    }
}

/// A body every write accepts the shape of, so that what answers is the record's visibility.
fn plausible_body() -> Value {
    json!({"name": "Probe", "age": 30, "gender": "O", "notes": "probe", "role": "clinician",
           "email": "probe@example.com", "token": "probe-token",
           "reason": "Probing the isolation of clinics"})
}

/// What was tried (route × method × role × id combinations, and responses scanned for the
/// other clinic's data), and the leaks found.
#[derive(Default)]
struct Tally {
    tried: usize,
    path_id_combinations: usize,
    leaks: Vec<String>,
}

impl Tally {
    fn check(&mut self, what: String, alpha: (u16, String), missing: (u16, String)) {
        self.tried += 1;
        if alpha != missing {
            self.leaks.push(format!(
                "{what}: Alpha's id answered {alpha:?}, a missing one {missing:?}"
            ));
        }
    }

    fn scan(&mut self, what: String, tag: &str, (status, body): (u16, String)) {
        self.tried += 1;
        if body.to_lowercase().contains(&tag.to_lowercase()) {
            self.leaks
                .push(format!("{what} ({status}) mentions {tag}: {body}"));
        }
    }
}

async fn path_ids_answer_like_missing_ones(
    app: &TestApp,
    document: &Value,
    alpha: &Clinic,
    bravo: &Clinic,
    tally: &mut Tally,
) {
    let paths = document["paths"].as_object().expect("paths");
    for (path, operations) in paths.iter().filter(|(path, _)| path.contains('{')) {
        for (method, operation) in operations.as_object().expect("operations") {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut with_alpha = path.clone();
            let mut with_missing = path.clone();
            let mut shared = false;
            for parameter in parameters.iter().filter(|p| p["in"] == "path") {
                let name = parameter["name"].as_str().expect("name");
                let description = parameter["description"].as_str().unwrap_or_default();
                let Some(id) = alpha_id(alpha, path, name, description) else {
                    shared = true;
                    continue;
                };
                let placeholder = format!("{{{name}}}");
                with_alpha = with_alpha.replace(&placeholder, &id.to_string());
                with_missing = with_missing.replace(&placeholder, &MISSING.to_string());
            }
            if shared {
                continue;
            }
            let body = operation.get("requestBody").map(|_| plausible_body());
            let method = method.to_uppercase();
            for (role, member) in &bravo.members {
                let token = &member.access;
                let answered = app.raw(&method, &with_alpha, body.as_ref(), token).await;
                let reference = app.raw(&method, &with_missing, body.as_ref(), token).await;
                assert!(
                    !(200..300).contains(&answered.0),
                    "{method} {with_alpha} as Bravo's {role} succeeded: {answered:?}"
                );
                tally.path_id_combinations += 1;
                tally.check(format!("{method} {path} as {role}"), answered, reference);
            }
        }
    }
}

/// The same answer with either id, once each id is written the same way.
fn without(id: i64, (status, body): (u16, String)) -> (u16, String) {
    (status, body.replace(&id.to_string(), "<id>"))
}

async fn body_ids_answer_like_missing_ones(
    app: &TestApp,
    alpha: &Clinic,
    bravo: &Clinic,
    tally: &mut Tally,
) {
    let doctor = app
        .create_doctor(bravo.member("admin"), "Dr. Bravo Side", "Surgery")
        .await;
    for (role, member) in &bravo.members {
        for id in [alpha.patients[0], alpha.patients[2]] {
            let assign = |patient: i64| json!({"patient": patient, "doctor": doctor});
            let answered = app
                .raw("POST", "/api/mappings/", Some(&assign(id)), &member.access)
                .await;
            let reference = app
                .raw(
                    "POST",
                    "/api/mappings/",
                    Some(&assign(MISSING)),
                    &member.access,
                )
                .await;
            tally.check(
                format!("POST /api/mappings/ with Alpha's patient as {role}"),
                without(id, answered),
                without(MISSING, reference),
            );
        }
        let switch = |clinic: i64| json!({"clinic": clinic});
        let answered = app
            .raw(
                "POST",
                "/api/auth/switch-clinic/",
                Some(&switch(alpha.id)),
                &member.access,
            )
            .await;
        let reference = app
            .raw(
                "POST",
                "/api/auth/switch-clinic/",
                Some(&switch(MISSING)),
                &member.access,
            )
            .await;
        tally.check(
            format!("POST /api/auth/switch-clinic/ to Alpha as {role}"),
            without(alpha.id, answered),
            without(MISSING, reference),
        );
        for filter in ["patient", "doctor"] {
            let id = if filter == "patient" {
                alpha.patients[0]
            } else {
                MISSING
            };
            let answered = app
                .raw(
                    "GET",
                    &format!("/api/mappings/?{filter}={id}"),
                    None,
                    &member.access,
                )
                .await;
            tally.scan(
                format!("GET /api/mappings/?{filter}= as {role}"),
                alpha.tag,
                answered,
            );
        }
    }
    // Signing in to Alpha with Bravo's credentials answers exactly like a wrong password.
    let login = |clinic: i64, password: &str| json!({"email": "clinician@bravo.example", "password": password, "clinic": clinic});
    let refused = app
        .post(
            "/api/auth/login/",
            login(alpha.id, crate::common::STRONG_PASSWORD),
        )
        .await;
    let wrong = app
        .post("/api/auth/login/", login(bravo.id, "not-the-password-9"))
        .await;
    tally.tried += 1;
    if (refused.status, &refused.body) != (wrong.status, &wrong.body) {
        tally.leaks.push(format!(
            "login to Alpha answered {} {}, a wrong password {} {}",
            refused.status, refused.body, wrong.status, wrong.body
        ));
    }
}

async fn lists_hold_nothing_of_the_other_clinic(
    app: &TestApp,
    document: &Value,
    alpha: &Clinic,
    bravo: &Clinic,
    tally: &mut Tally,
) {
    // Every list of the document (a GET answering a page), at Bravo's clinic where it names one.
    let mut lists: Vec<String> = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        let Some(get) = operations.get("get") else {
            continue;
        };
        let page = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|schema| schema.contains("PageJson"));
        if !page || path.starts_with("/api/doctors") {
            continue;
        }
        if path.contains('{') && !path.starts_with("/api/clinics/{id}") {
            panic!("which of Bravo's records does the list {path} take?");
        }
        lists.push(path.replace("{id}", &bravo.id.to_string()));
    }
    assert!(lists.len() >= 6, "the document's lists: {lists:?}");
    for (role, member) in &bravo.members {
        for path in &lists {
            for query in ["", "?page_size=100", "?search=a"] {
                let answered = app
                    .raw("GET", &format!("{path}{query}"), None, &member.access)
                    .await;
                tally.scan(format!("GET {path}{query} as {role}"), alpha.tag, answered);
            }
        }
        // Counts hold Bravo's rows only: the same numbers Alpha's same member gets.
        for path in ["/api/patients/", "/api/mappings/", "/api/clinics/"] {
            let count = |session: &Session| {
                let path = path.to_owned();
                let token = session.access.clone();
                async move { app.get(&path, &token).await.body["count"].clone() }
            };
            let alpha_member = alpha.member(role);
            tally.tried += 1;
            let (bravo_count, alpha_count) = (count(member).await, count(alpha_member).await);
            if bravo_count != alpha_count {
                tally.leaks.push(format!(
                    "{path} as {role}: Bravo counts {bravo_count}, Alpha {alpha_count}"
                ));
            }
        }
    }
    // Bravo's audit trail and break-glass log: no row about Alpha's patients, clinic or grant.
    for role in ["admin", "auditor"] {
        let token = &bravo.member(role).access;
        let trail = app
            .get(
                &format!("/api/clinics/{}/audit/?page_size=100", bravo.id),
                token,
            )
            .await;
        let rows = trail.body["results"].as_array().expect("rows");
        assert!(!rows.is_empty(), "Bravo's trail has rows");
        for row in rows {
            tally.tried += 1;
            let about_alpha = row["patient_id"]
                .as_i64()
                .is_some_and(|patient| alpha.patients.contains(&patient))
                || (row["resource_type"] == "clinic" && row["resource_id"] == alpha.id)
                || (row["resource_type"] == "break_glass_grant"
                    && row["resource_id"] == alpha.grant);
            if about_alpha {
                tally
                    .leaks
                    .push(format!("Bravo's trail as {role} holds {row}"));
            }
        }
        let log = app
            .get(&format!("/api/clinics/{}/break-glass/", bravo.id), token)
            .await;
        tally.tried += 1;
        if log.body["count"] != 1 || log.body["results"][0]["id"] != bravo.grant {
            tally
                .leaks
                .push(format!("Bravo's break-glass log as {role}: {}", log.body));
        }
    }
}

async fn page_links_minted_under_one_clinic_show_the_others_view(
    app: &TestApp,
    alpha: &Clinic,
    bravo: &Clinic,
    tally: &mut Tally,
) {
    for path in ["/api/patients/?page_size=1", "/api/mappings/?page_size=1"] {
        let minted = app.get(path, &alpha.member("admin").access).await;
        let next = minted.body["next"]
            .as_str()
            .expect("Alpha has a second page");
        let relative = next.trim_start_matches(&app.address);
        for (role, member) in &bravo.members {
            let replayed = app.raw("GET", relative, None, &member.access).await;
            tally.scan(
                format!("Alpha's link {relative} as Bravo's {role}"),
                alpha.tag,
                replayed,
            );
        }
    }
}

/// Which of Alpha's ids a FHIR resource's id takes (`audit_row`: a row of Alpha's trail);
/// `None` for the shared doctor directory.
fn alpha_fhir_id(alpha: &Clinic, resource_type: &str, audit_row: i64) -> Option<i64> {
    match resource_type {
        "Patient" | "CareTeam" => Some(alpha.patients[0]),
        "Organization" => Some(alpha.id),
        "AuditEvent" => Some(audit_row),
        "Practitioner" | "PractitionerRole" => None,
        other => panic!("classify the FHIR resource {other}: whose record does its id name?"),
    }
}

/// Driven by the CapabilityStatement (the FHIR route list): every instance interaction with
/// Alpha's ids answers Bravo's members exactly like a missing id, and every search parameter
/// given Alpha's ids and names finds nothing of Alpha's.
async fn fhir_answers_like_missing_ids(
    app: &TestApp,
    alpha: &Clinic,
    bravo: &Clinic,
    tally: &mut Tally,
) {
    let statement = app.fhir("metadata", None, None).await.body;
    let alpha_trail = app
        .fhir(
            "AuditEvent?_count=1",
            None,
            Some(&alpha.member("admin").access),
        )
        .await;
    let audit_row = alpha_trail.body["entry"][0]["resource"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("Alpha's trail has a row");
    let resources = statement["rest"][0]["resource"]
        .as_array()
        .expect("resources")
        .clone();
    for resource in &resources {
        let kind = resource["type"].as_str().expect("a type");
        let interactions: Vec<&str> = resource["interaction"]
            .as_array()
            .expect("interactions")
            .iter()
            .filter_map(|i| i["code"].as_str())
            .collect();
        if let Some(id) = alpha_fhir_id(alpha, kind, audit_row) {
            let mut templates = vec!["{kind}/{id}"];
            if interactions.contains(&"vread") {
                templates.push("{kind}/{id}/_history/1");
            }
            if interactions.contains(&"history-instance") {
                templates.push("{kind}/{id}/_history");
            }
            for template in templates {
                let path = |id: i64| {
                    template
                        .replace("{kind}", kind)
                        .replace("{id}", &id.to_string())
                };
                for (role, member) in &bravo.members {
                    let token = Some(member.access.as_str());
                    let answered = app.fhir(&path(id), None, token).await;
                    let reference = app.fhir(&path(MISSING), None, token).await;
                    tally.path_id_combinations += 1;
                    tally.check(
                        format!("GET /fhir/R4/{template} ({kind}) as {role}"),
                        without(id, (answered.status, answered.body.to_string())),
                        without(MISSING, (reference.status, reference.body.to_string())),
                    );
                }
            }
        }
        // Unnarrowed, the search is the member's whole view: nothing of Alpha's in it, and
        // a patient total that is Bravo's own (kept totals answer it).
        for (role, member) in &bravo.members {
            let mut reply = app.fhir(kind, None, Some(&member.access)).await;
            if kind == "Patient" && *role == "admin" {
                assert_eq!(reply.body["total"], bravo.patients.len(), "{}", reply.body);
            }
            if reply.status == 200
                && let Some(bundle) = reply.body.as_object_mut()
            {
                bundle.remove("link");
            }
            tally.scan(
                format!("GET /fhir/R4/{kind} as {role}"),
                alpha.tag,
                (reply.status, reply.body.to_string()),
            );
        }
        let alpha_values = [
            alpha.patients[0].to_string(),
            format!("Patient/{}", alpha.patients[0]),
            alpha.tag.to_owned(),
            format!("patient1@{}.example", alpha.tag.to_lowercase()),
            "ge2000-01-01".to_owned(),
        ];
        for param in resource["searchParam"].as_array().expect("parameters") {
            let name = param["name"].as_str().expect("a name");
            for value in &alpha_values {
                let query = serde_urlencoded::to_string([(name, value.as_str())]).expect("a query");
                for (role, member) in &bravo.members {
                    let mut reply = app
                        .fhir(&format!("{kind}?{query}"), None, Some(&member.access))
                        .await;
                    // A refused value is echoed in the diagnostics, and the links repeat the
                    // query itself: what was found is the rest of a Bundle.
                    if reply.status != 200 {
                        continue;
                    }
                    if let Some(bundle) = reply.body.as_object_mut() {
                        bundle.remove("link");
                    }
                    tally.scan(
                        format!("GET /fhir/R4/{kind}?{query} as {role}"),
                        alpha.tag,
                        (reply.status, reply.body.to_string()),
                    );
                }
            }
        }
    }
}

/// Polls `request` on the second instance until it answers `refused`, for at most 30 seconds;
/// how long it took.
async fn seconds_until(other: &TestApp, path: &str, token: &str, refused: u16) -> Duration {
    let started = Instant::now();
    loop {
        if other.get(path, token).await.status == refused {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{path} still answers after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn removed_and_demoted_members_lose_access_within_30_seconds(app: &TestApp, bravo: &Clinic) {
    let other = app.second_instance().await;
    let desk = bravo.member("front_desk");
    let clinician = bravo.member("clinician");
    let treated = format!("/api/patients/{}/", bravo.patients[0]);
    // The other instance reads (and keeps) both memberships first.
    assert_eq!(other.get("/api/patients/", &desk.access).await.status, 200);
    assert_eq!(other.get(&treated, &clinician.access).await.status, 200);
    let admin = &bravo.member("admin").access;
    let removed = app
        .request(
            "DELETE",
            &format!("/api/clinics/{}/members/{}/", bravo.id, desk.user_id),
            None,
            Some(admin),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let demoted = app
        .request(
            "PATCH",
            &format!("/api/clinics/{}/members/{}/", bravo.id, clinician.user_id),
            Some(json!({"role": "auditor"})),
            Some(admin),
        )
        .await;
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    // At once on the instance that made the change; within 30 s on the other.
    assert_eq!(app.get("/api/patients/", &desk.access).await.status, 401);
    assert_eq!(app.get(&treated, &clinician.access).await.status, 404);
    let (removal, demotion) = tokio::join!(
        seconds_until(&other, "/api/patients/", &desk.access, 401),
        seconds_until(&other, &treated, &clinician.access, 404),
    );
    println!("isolation: a removal took {removal:?}, a demotion {demotion:?} on another instance");
}

async fn no_clinic_sees_anothers_data(app: TestApp) {
    let alpha = seed(&app, "Alpha").await;
    let bravo = seed(&app, "Bravo").await;
    let document = app
        .request("GET", "/api/openapi.json", None, None)
        .await
        .body;
    let mut tally = Tally::default();
    path_ids_answer_like_missing_ones(&app, &document, &alpha, &bravo, &mut tally).await;
    body_ids_answer_like_missing_ones(&app, &alpha, &bravo, &mut tally).await;
    lists_hold_nothing_of_the_other_clinic(&app, &document, &alpha, &bravo, &mut tally).await;
    page_links_minted_under_one_clinic_show_the_others_view(&app, &alpha, &bravo, &mut tally).await;
    fhir_answers_like_missing_ids(&app, &alpha, &bravo, &mut tally).await;
    println!(
        "isolation: {} route × method × role × id combinations with path ids, {} checks in all \
         (ids in bodies, lists, counts, trails, replayed links), {} leaks",
        tally.path_id_combinations,
        tally.tried,
        tally.leaks.len()
    );
    assert!(tally.leaks.is_empty(), "leaks:\n{}", tally.leaks.join("\n"));
    // Every operation with a clinic's path id, for each of Bravo's four members.
    assert!(
        tally.path_id_combinations >= 4 * 15,
        "only {} path-id combinations",
        tally.path_id_combinations
    );

    removed_and_demoted_members_lose_access_within_30_seconds(&app, &bravo).await;

    let (code, report) = app.console(&["audit", "seal"]);
    assert_eq!(code, 0, "{report}");
    let (code, report) = app.console(&["audit", "verify"]);
    assert_eq!(code, 0, "audit verify after the whole suite: {report}");
}
