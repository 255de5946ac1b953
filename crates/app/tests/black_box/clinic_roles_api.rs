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

/// `session` acting in `clinic` (it must be a member).
async fn switched(app: &TestApp, session: &Session, clinic: i64) -> Session {
    let reply = app
        .request(
            "POST",
            "/api/auth/switch-clinic/",
            Some(json!({"clinic": clinic})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 200, "switch: {}", reply.body);
    assert_eq!(reply.body["clinic"]["id"], clinic);
    Session {
        access: reply.body["tokens"]["access"]
            .as_str()
            .expect("access")
            .to_owned(),
        refresh: reply.body["tokens"]["refresh"]
            .as_str()
            .expect("refresh")
            .to_owned(),
        user_id: session.user_id,
    }
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
        members.push(switched(app, &member, id).await);
    }
    let auditor = members.pop().expect("auditor");
    let front_desk = members.pop().expect("front desk");
    let clinician = members.pop().expect("clinician");
    Clinic {
        id,
        admin: switched(app, &admin, id).await,
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
