//! Black-box tests of acting in a clinic: the active clinic in the tokens (login, switch,
//! refresh, `me`), what each role sees and changes, care teams through linked doctors and
//! break-glass, and the clinic's own audit trail and break-glass log. SQLite and PostgreSQL.

use crate::common::{Reply, Session, TestApp, doctor_body, patient_body};
use serde_json::{Value, json};

on_both_backends!(
    tokens_act_in_one_clinic_chosen_at_login_or_by_a_switch,
    each_role_sees_and_changes_what_the_role_table_allows,
    a_clinician_treats_the_patients_of_their_linked_doctor_and_breaks_the_glass_for_others,
    a_removed_members_tokens_stop_working,
    every_cell_of_the_role_table,
);

const PASSWORD: &str = crate::common::STRONG_PASSWORD;

/// A shared clinic whose admin is `admin`, with one member of each other role.
struct Clinic {
    id: i64,
    admin: Session,
    clinician: Session,
    front_desk: Session,
    auditor: Session,
}

async fn north_clinic(app: &TestApp) -> Clinic {
    let admin = app.register("Ann Admin", "ann@example.com").await;
    let id = app.create_clinic(&admin, "North").await;
    let mut members = Vec::new();
    for (name, email, role) in [
        ("Cy Clinician", "cy@example.com", "clinician"),
        ("Dee Desk", "dee@example.com", "front_desk"),
        ("Al Auditor", "al@example.com", "auditor"),
    ] {
        let member = app.register(name, email).await;
        app.join_clinic(&admin, id, &member, email, role).await;
        members.push(app.switched(&member, id).await);
    }
    let auditor = members.pop().expect("auditor");
    let front_desk = members.pop().expect("front desk");
    let clinician = members.pop().expect("clinician");
    Clinic {
        id,
        admin: app.switched(&admin, id).await,
        clinician,
        front_desk,
        auditor,
    }
}

async fn tokens_act_in_one_clinic_chosen_at_login_or_by_a_switch(app: TestApp) {
    let north = north_clinic(&app).await;
    let login = |clinic: Option<i64>, password: &str| {
        let mut body = json!({"email": "cy@example.com", "password": password});
        if let Some(clinic) = clinic {
            body["clinic"] = json!(clinic);
        }
        app.post("/api/auth/login/", body)
    };
    let personal = login(None, PASSWORD).await;
    assert_eq!(personal.status, 200, "{}", personal.body);
    let access = personal.body["tokens"]["access"].as_str().expect("access");
    let me = app.get("/api/auth/me/", access).await;
    assert_eq!(
        (&me.body["clinic"]["personal"], &me.body["clinic"]["role"]),
        (&json!(true), &json!("admin"))
    );

    let in_north = login(Some(north.id), PASSWORD).await;
    assert_eq!(in_north.status, 200, "{}", in_north.body);
    let access = in_north.body["tokens"]["access"].as_str().expect("access");
    let me = app.get("/api/auth/me/", access).await;
    assert_eq!(
        (&me.body["clinic"]["id"], &me.body["clinic"]["role"]),
        (&json!(north.id), &json!("clinician"))
    );
    // The refreshed pair acts in the same clinic.
    let refreshed = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": in_north.body["tokens"]["refresh"]}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let me = app
        .get(
            "/api/auth/me/",
            refreshed.body["access"].as_str().expect("access"),
        )
        .await;
    assert_eq!(me.body["clinic"]["id"], north.id);

    // Another clinic, or none: exactly a wrong password's answer.
    let wrong_password = login(None, "not-the-password-1").await;
    let own_personal =
        app.get("/api/clinics/", &north.admin.access).await.body["results"][0]["id"].clone();
    for clinic in [own_personal.as_i64().expect("id"), 999_999] {
        let refused = login(Some(clinic), PASSWORD).await;
        assert_eq!(
            (refused.status, &refused.body),
            (wrong_password.status, &wrong_password.body)
        );
        assert_eq!(refused.status, 401);
    }
    let refused = app
        .request(
            "POST",
            "/api/auth/switch-clinic/",
            Some(json!({"clinic": 999_999})),
            Some(&north.clinician.access),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        json!({"clinic": ["Invalid pk \"999999\" - object does not exist."]})
    );
}

/// The keys of a JSON object, sorted.
fn keys(object: &Value) -> Vec<String> {
    let mut keys: Vec<String> = object
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

async fn each_role_sees_and_changes_what_the_role_table_allows(app: TestApp) {
    let north = north_clinic(&app).await;
    let desk = &north.front_desk;
    // A front desk registers patients, but never with a medical history.
    let with_history =
        json!({"name": "Jane Roe", "age": 40, "gender": "F", "medical_history": "asthma"});
    let refused = app
        .request(
            "POST",
            "/api/patients/",
            Some(with_history),
            Some(&desk.access),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.to_string().contains("asthma"));
    let mut demographics_only = patient_body("Jane Roe");
    demographics_only
        .as_object_mut()
        .map(|body| body.remove("medical_history"));
    let created = app
        .request(
            "POST",
            "/api/patients/",
            Some(demographics_only),
            Some(&desk.access),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(!keys(&created.body).contains(&"medical_history".to_owned()));
    let patient = created.body["id"].as_i64().expect("id");
    let path = format!("/api/patients/{patient}/");
    // The admin writes the history; the front desk never sees the field.
    let written = app
        .request(
            "PATCH",
            &path,
            Some(json!({"medical_history": "asthma"})),
            Some(&north.admin.access),
        )
        .await;
    assert_eq!(written.status, 200, "{}", written.body);
    assert_eq!(written.body["medical_history"], "asthma");
    for view in [
        app.get(&path, &desk.access).await.body,
        app.get("/api/patients/", &desk.access).await.body["results"][0].clone(),
        app.get(&format!("/api/mappings/{patient}/"), &desk.access)
            .await
            .body["patient"]
            .clone(),
    ] {
        assert_eq!(view["id"], patient, "{view}");
        assert!(
            !keys(&view).contains(&"medical_history".to_owned()),
            "{view}"
        );
        assert!(!view.to_string().contains("asthma"), "{view}");
    }
    let demographics = app
        .request("PATCH", &path, Some(json!({"age": 41})), Some(&desk.access))
        .await;
    assert_eq!(demographics.status, 200, "{}", demographics.body);
    assert!(!keys(&demographics.body).contains(&"medical_history".to_owned()));
    for (method, body) in [
        ("PATCH", Some(json!({"medical_history": ""}))),
        ("DELETE", None),
    ] {
        let refused = app.request(method, &path, body, Some(&desk.access)).await;
        assert_eq!(refused.status, 403, "{method}: {}", refused.body);
    }
    let kept = app.get(&path, &north.admin.access).await;
    assert_eq!(
        (&kept.body["medical_history"], &kept.body["age"]),
        (&json!("asthma"), &json!(41))
    );

    // The front desk assigns doctors to any patient of the clinic.
    let doctor = app.create_doctor(desk, "Dr. Ada", "Cardiology").await;
    app.assign(desk, patient, doctor).await;

    // An auditor sees no patient and registers none; a clinician sees none outside their care
    // team: like a missing one.
    for session in [&north.auditor, &north.clinician] {
        assert_eq!(app.get(&path, &session.access).await.status, 404);
        let listed = app.get("/api/patients/", &session.access).await;
        assert_eq!(listed.body["count"], 0, "{}", listed.body);
        assert_eq!(
            app.get("/api/mappings/", &session.access).await.body["count"],
            0
        );
    }
    let refused = app
        .request(
            "POST",
            "/api/patients/",
            Some(patient_body("Nope")),
            Some(&north.auditor.access),
        )
        .await;
    assert_eq!(refused.status, 403);

    // The clinic's audit trail and break-glass log: its admins and auditors.
    for (session, status) in [
        (&north.admin, 200),
        (&north.auditor, 200),
        (&north.clinician, 403),
        (&north.front_desk, 403),
    ] {
        for route in ["audit", "break-glass"] {
            let reply = app
                .get(
                    &format!("/api/clinics/{}/{route}/", north.id),
                    &session.access,
                )
                .await;
            assert_eq!(reply.status, status, "{route}: {}", reply.body);
        }
    }
    let trail = app
        .get(
            &format!("/api/clinics/{}/audit/?patient={patient}", north.id),
            &north.auditor.access,
        )
        .await;
    let rows = trail.body["results"].as_array().expect("rows");
    assert!(
        rows.iter().all(|row| row["patient_id"] == patient),
        "{rows:?}"
    );
    // The changes' rows are stored with them (reads reach the trail a moment later).
    let actions: Vec<&str> = rows
        .iter()
        .filter_map(|row| row["action"].as_str())
        .collect();
    for action in ["patient.create", "patient.update", "mapping.create"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    // Not a member: the clinic does not exist.
    let stranger = app.register("Stan Ger", "stan@example.com").await;
    for route in ["audit", "break-glass"] {
        let reply = app
            .get(
                &format!("/api/clinics/{}/{route}/", north.id),
                &stranger.access,
            )
            .await;
        assert_eq!(reply.status, 404, "{route}");
    }
}

/// `session` breaks the glass on `patient` for `reason`.
async fn break_glass(app: &TestApp, session: &Session, patient: i64, reason: &str) -> Reply {
    app.request(
        "POST",
        &format!("/api/patients/{patient}/break-glass/"),
        Some(json!({"reason": reason})),
        Some(&session.access),
    )
    .await
}

async fn a_clinician_treats_the_patients_of_their_linked_doctor_and_breaks_the_glass_for_others(
    app: TestApp,
) {
    let north = north_clinic(&app).await;
    let cy = &north.clinician;
    let treated = app.create_patient(&north.admin, "Tom Treated").await;
    let other = app.create_patient(&north.admin, "Olga Other").await;
    // The admin's doctor record of Cy, linked to Cy's account.
    let mut body = doctor_body("Dr. Cy", "Cardiology");
    body["user"] = json!(cy.user_id);
    let doctor = app
        .request(
            "POST",
            "/api/doctors/",
            Some(body),
            Some(&north.admin.access),
        )
        .await;
    assert_eq!(doctor.status, 201, "{}", doctor.body);
    assert_eq!(doctor.body["user"], cy.user_id);
    let unknown = app
        .request(
            "PATCH",
            &format!("/api/doctors/{}/", doctor.body["id"]),
            Some(json!({"user": 999_999})),
            Some(&north.admin.access),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.body,
        json!({"user": ["Invalid pk \"999999\" - object does not exist."]})
    );
    let doctor_id = doctor.body["id"].as_i64().expect("id");
    app.assign(&north.admin, treated, doctor_id).await;

    let listed = app.get("/api/patients/", &cy.access).await;
    let ids: Vec<i64> = listed.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|patient| patient["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![treated]);
    let path = format!("/api/patients/{other}/");
    assert_eq!(app.get(&path, &cy.access).await.status, 404);

    let short = break_glass(&app, cy, other, "urgent").await;
    assert_eq!(short.status, 400);
    assert_eq!(
        short.body,
        json!({"reason": ["Ensure this field has at least 10 characters."]})
    );
    let granted = break_glass(&app, cy, other, "Unconscious in the emergency room").await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    assert_eq!(keys(&granted.body), vec!["expires_at", "patient", "reason"]);
    assert_eq!(granted.body["patient"], other);
    // The grant cannot be made to last: no mapping to Cy's own doctor record under it.
    let kept = app
        .request(
            "POST",
            "/api/mappings/",
            Some(json!({"patient": other, "doctor": doctor_id})),
            Some(&cy.access),
        )
        .await;
    assert_eq!(kept.status, 403, "{}", kept.body);
    let seen = app.get(&path, &cy.access).await;
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.body["medical_history"], "Asthma",
        "a clinician reads it"
    );
    for patient in [other, treated] {
        let again = break_glass(&app, cy, patient, "Unconscious in the emergency room").await;
        assert_eq!(again.status, 409);
        assert_eq!(
            again.body,
            json!({"detail": "You already have access to this patient."})
        );
    }
    assert_eq!(
        break_glass(&app, cy, 999_999, "Unconscious in the emergency room")
            .await
            .status,
        404
    );

    let log = app
        .get(
            &format!("/api/clinics/{}/break-glass/", north.id),
            &north.auditor.access,
        )
        .await;
    assert_eq!(log.body["count"], 1, "{}", log.body);
    let entry = &log.body["results"][0];
    assert_eq!(
        (&entry["user"], &entry["patient"], &entry["reason"]),
        (
            &json!(cy.user_id),
            &json!(other),
            &json!("Unconscious in the emergency room")
        )
    );
    let trail = app
        .get(
            &format!(
                "/api/clinics/{}/audit/?action=patient.break_glass",
                north.id
            ),
            &north.admin.access,
        )
        .await;
    assert_eq!(trail.body["count"], 1, "{}", trail.body);
    assert_eq!(trail.body["results"][0]["resource_id"], entry["id"]);
    assert_eq!(trail.body["results"][0]["patient_id"], other);

    // Every access under the grant is marked; the treated patient's are not. (Reads reach the
    // trail through a queue, within moments.)
    app.get(&format!("/api/patients/{treated}/"), &cy.access)
        .await;
    let reads = |patient| marked_reads(&app, &north, patient);
    assert_eq!(reads(other).await, vec![json!(true)]);
    assert_eq!(reads(treated).await, vec![json!(false)]);
}

/// The `break_glass` marks of the clinician's reads of `patient`, as the clinic's admin finds
/// them in its audit trail (reads reach the trail through a queue, within moments).
async fn marked_reads(app: &TestApp, north: &Clinic, patient: i64) -> Vec<Value> {
    let path = format!(
        "/api/clinics/{}/audit/?patient={patient}&action=patient.read&outcome=success&user={}",
        north.id, north.clinician.user_id
    );
    for _ in 0..50 {
        let rows = app.get(&path, &north.admin.access).await.body["results"].clone();
        if let Some(rows) = rows.as_array().filter(|rows| !rows.is_empty()) {
            return rows.iter().map(|row| row["break_glass"].clone()).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}

async fn a_removed_members_tokens_stop_working(app: TestApp) {
    let north = north_clinic(&app).await;
    let desk = &north.front_desk;
    assert_eq!(app.get("/api/patients/", &desk.access).await.status, 200);
    let removed = app
        .request(
            "DELETE",
            &format!("/api/clinics/{}/members/{}/", north.id, desk.user_id),
            None,
            Some(&north.admin.access),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    // Seen at once by this instance (its membership cache forgets on every change).
    let refused = app.get("/api/patients/", &desk.access).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let refreshed = app
        .post("/api/auth/token/refresh/", json!({"refresh": desk.refresh}))
        .await;
    assert_eq!(refreshed.status, 401, "{}", refreshed.body);
}

/// The actors of the role table: admin, clinician (the patient in their care team),
/// clinician (outside it), front desk, auditor.
const ACTORS: [&str; 5] = [
    "admin",
    "clinician in care team",
    "clinician outside",
    "front desk",
    "auditor",
];

/// One cell per actor: the status each gets.
type Row = [u16; 5];

/// A request: method, path, body.
type Request = (&'static str, String, Option<Value>);

/// A row of the table: what is done, the status each actor gets, and the request doing it on
/// a fresh patient and its mapping.
type Cell = (&'static str, Row, Box<dyn Fn(i64, i64) -> Request>);

/// A patient of North registered by its admin, with a medical history; mapped to a doctor
/// linked to `in_team` (North's clinician), so it is in that clinician's care team and not
/// in the second clinician's.
async fn cell_patient(app: &TestApp, north: &Clinic, linked_doctor: i64) -> (i64, i64) {
    let patient = app.create_patient(&north.admin, "Cell Patient").await;
    let mapping = app.assign(&north.admin, patient, linked_doctor).await;
    (patient, mapping)
}

async fn every_cell_of_the_role_table(app: TestApp) {
    let north = north_clinic(&app).await;
    let outsider = app.register("Oz Outside", "oz@example.com").await;
    app.join_clinic(
        &north.admin,
        north.id,
        &outsider,
        "oz@example.com",
        "clinician",
    )
    .await;
    let outsider = app.switched(&outsider, north.id).await;
    let mut body = doctor_body("Dr. Cy", "Cardiology");
    body["user"] = json!(north.clinician.user_id);
    let linked = app
        .request(
            "POST",
            "/api/doctors/",
            Some(body),
            Some(&north.admin.access),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("doctor");
    let spare_doctor = app
        .create_doctor(&north.admin, "Dr. Spare", "Surgery")
        .await;
    let sessions: [&Session; 5] = [
        &north.admin,
        &north.clinician,
        &outsider,
        &north.front_desk,
        &north.auditor,
    ];
    let clinic = north.id;
    let cells: Vec<Cell> = vec![
        (
            "read a patient",
            [200, 200, 404, 200, 404],
            Box::new(|p, _| ("GET", format!("/api/patients/{p}/"), None)),
        ),
        (
            "change demographics",
            [200, 200, 404, 200, 404],
            Box::new(|p, _| {
                (
                    "PATCH",
                    format!("/api/patients/{p}/"),
                    Some(json!({"age": 50})),
                )
            }),
        ),
        (
            "write the medical history",
            [200, 200, 404, 403, 404],
            Box::new(|p, _| {
                (
                    "PATCH",
                    format!("/api/patients/{p}/"),
                    Some(json!({"medical_history": "Updated."})),
                )
            }),
        ),
        (
            "replace a patient",
            [200, 200, 404, 200, 404],
            Box::new(|p, _| {
                (
                    "PUT",
                    format!("/api/patients/{p}/"),
                    Some(json!({"name": "Cell Patient", "age": 51, "gender": "O"})),
                )
            }),
        ),
        (
            "delete a patient",
            [204, 204, 404, 403, 404],
            Box::new(|p, _| ("DELETE", format!("/api/patients/{p}/"), None)),
        ),
        (
            "read its assignments",
            [200, 200, 404, 200, 404],
            Box::new(|p, _| ("GET", format!("/api/mappings/{p}/"), None)),
        ),
        (
            "assign a doctor",
            [201, 201, 400, 201, 400],
            Box::new(move |p, _| {
                (
                    "POST",
                    "/api/mappings/".into(),
                    Some(json!({"patient": p, "doctor": spare_doctor})),
                )
            }),
        ),
        (
            "change a mapping's notes",
            [200, 200, 404, 200, 404],
            Box::new(|_, m| {
                (
                    "PATCH",
                    format!("/api/mappings/{m}/"),
                    Some(json!({"notes": "Seen."})),
                )
            }),
        ),
        (
            "remove a mapping",
            [200, 200, 404, 200, 404],
            Box::new(|_, m| ("DELETE", format!("/api/mappings/{m}/"), None)),
        ),
        (
            "register a patient",
            [201, 201, 201, 201, 403],
            Box::new(|_, _| {
                (
                    "POST",
                    "/api/patients/".into(),
                    Some(json!({"name": "New", "age": 3, "gender": "O"})),
                )
            }),
        ),
        (
            "rename the clinic",
            [200, 403, 403, 403, 403],
            Box::new(move |_, _| {
                (
                    "PATCH",
                    format!("/api/clinics/{clinic}/"),
                    Some(json!({"name": "North"})),
                )
            }),
        ),
        (
            "read the members",
            [200, 200, 200, 200, 200],
            Box::new(move |_, _| ("GET", format!("/api/clinics/{clinic}/members/"), None)),
        ),
        (
            "invite",
            [201, 403, 403, 403, 403],
            Box::new(move |_, _| {
                (
                    "POST",
                    format!("/api/clinics/{clinic}/invitations/"),
                    Some(json!({"email": "new@example.com", "role": "auditor"})),
                )
            }),
        ),
        (
            "read the clinic's audit trail",
            [200, 403, 403, 403, 200],
            Box::new(move |_, _| ("GET", format!("/api/clinics/{clinic}/audit/"), None)),
        ),
        (
            "read the break-glass log",
            [200, 403, 403, 403, 200],
            Box::new(move |_, _| ("GET", format!("/api/clinics/{clinic}/break-glass/"), None)),
        ),
    ];
    let mut checked = 0;
    for (cell, expected, request) in &cells {
        for (actor, (session, status)) in ACTORS.iter().zip(sessions.iter().zip(expected)) {
            let (patient, mapping) = cell_patient(&app, &north, linked).await;
            let (method, path, body) = request(patient, mapping);
            let reply = app
                .request(method, &path, body, Some(&session.access))
                .await;
            assert_eq!(
                reply.status, *status,
                "{cell} as {actor}: {method} {path} answered {}",
                reply.body
            );
            let text = reply.body.to_string();
            if *actor == "front desk" {
                assert!(
                    !text.contains("medical_history") && !text.contains("Asthma"),
                    "{cell} as a front desk shows a medical history: {text}"
                );
            }
            checked += 1;
        }
    }
    // Lists hold what each actor reads, and a front desk's never the field.
    let (patient, _) = cell_patient(&app, &north, linked).await;
    let listed: Row = [1, 1, 0, 1, 0].map(|n| if n == 1 { 200 } else { 404 });
    for (actor, (session, seen)) in ACTORS.iter().zip(sessions.iter().zip(listed)) {
        let page = app
            .get("/api/patients/?page_size=100", &session.access)
            .await;
        let ids: Vec<i64> = page.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|p| p["id"].as_i64())
            .collect();
        assert_eq!(ids.contains(&patient), seen == 200, "listing as {actor}");
        if *actor == "front desk" {
            assert!(!page.body.to_string().contains("medical_history"));
        }
        checked += 1;
    }
    println!("role table: {checked} cells checked");
}
