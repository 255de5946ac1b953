//! Black-box tests of the contract's Patient–doctor mappings section, on SQLite and PostgreSQL.

use crate::common::TestApp;
use serde_json::{Value, json};

on_both_backends!(
    assign_returns_the_mapping,
    assign_reports_bad_references,
    assign_refuses_an_unavailable_doctor_and_active_pairs,
    removed_pairs_can_be_assigned_again,
    concurrent_identical_assignments_give_one_mapping,
    list_shows_the_callers_active_mappings_with_filters,
    by_patient_view_has_the_original_shape,
    patch_changes_notes_only,
    delete_removes_once,
    list_costs_a_fixed_number_of_statements,
);

struct World {
    ann: crate::common::Session,
    patient: i64,
    doctor: i64,
}

async fn world(app: &TestApp) -> World {
    let ann = app.register("Ann", "ann@example.com").await;
    let patient = app.create_patient(&ann, "Jane Roe").await;
    let doctor = app.create_doctor(&ann, "Dr. House", "Diagnostics").await;
    World {
        ann,
        patient,
        doctor,
    }
}

async fn assign_returns_the_mapping(app: TestApp) {
    let w = world(&app).await;
    let body = json!({"patient": w.patient, "doctor": w.doctor, "notes": " first visit ", "is_active": false});
    let reply = app
        .request("POST", "/api/mappings/", Some(body), Some(&w.ann.access))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let mapping = reply.body;
    assert_eq!(mapping["patient"], w.patient);
    assert_eq!(mapping["doctor"], w.doctor);
    assert_eq!(mapping["patient_name"], "Jane Roe");
    assert_eq!(mapping["doctor_name"], "Dr. House");
    assert_eq!(mapping["doctor_specialization"], "Diagnostics");
    assert_eq!(mapping["notes"], "first visit");
    assert_eq!(
        mapping["is_active"], true,
        "is_active is never client-writable"
    );
    assert!(
        mapping["assigned_date"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let mut keys: Vec<&str> = mapping
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "assigned_date",
            "doctor",
            "doctor_name",
            "doctor_specialization",
            "id",
            "is_active",
            "notes",
            "patient",
            "patient_name"
        ]
    );
}

async fn assign_reports_bad_references(app: TestApp) {
    let w = world(&app).await;
    let bob = app.register("Bob", "bob@example.com").await;
    let foreign = app.create_patient(&bob, "Bob's patient").await;
    let post = |body: Value| app.request("POST", "/api/mappings/", Some(body), Some(&w.ann.access));

    let reply = post(json!({})).await;
    assert_eq!(
        reply.body,
        json!({"patient": ["This field is required."], "doctor": ["This field is required."]})
    );
    // A foreign patient and a missing one get the identical answer.
    for patient in [foreign, 99_999] {
        let reply = post(json!({"patient": patient, "doctor": w.doctor})).await;
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.body,
            json!({"patient": [format!("Invalid pk \"{patient}\" - object does not exist.")]})
        );
    }
    let reply = post(json!({"patient": w.patient, "doctor": 99_999})).await;
    assert_eq!(
        reply.body,
        json!({"doctor": ["Invalid pk \"99999\" - object does not exist."]})
    );
    let reply = post(json!({"patient": "abc", "doctor": null})).await;
    assert_eq!(
        reply.body,
        json!({"patient": ["Incorrect type. Expected pk value, received str."], "doctor": ["This field may not be null."]})
    );
    let reply =
        post(json!({"patient": w.patient.to_string(), "doctor": w.doctor.to_string()})).await;
    assert_eq!(reply.status, 201, "numeric strings are ids: {}", reply.body);
    assert_eq!(
        app.get("/api/mappings/", &bob.access).await.body["count"],
        0
    );
}

async fn assign_refuses_an_unavailable_doctor_and_active_pairs(app: TestApp) {
    let w = world(&app).await;
    let path = format!("/api/doctors/{}/", w.doctor);
    app.request(
        "PATCH",
        &path,
        Some(json!({"is_available": false})),
        Some(&w.ann.access),
    )
    .await;
    let body = json!({"patient": w.patient, "doctor": w.doctor});
    let reply = app
        .request(
            "POST",
            "/api/mappings/",
            Some(body.clone()),
            Some(&w.ann.access),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (400, json!({"doctor": ["Doctor is not available."]}))
    );

    app.request(
        "PATCH",
        &path,
        Some(json!({"is_available": true})),
        Some(&w.ann.access),
    )
    .await;
    assert_eq!(
        app.request(
            "POST",
            "/api/mappings/",
            Some(body.clone()),
            Some(&w.ann.access)
        )
        .await
        .status,
        201
    );
    let again = app
        .request("POST", "/api/mappings/", Some(body), Some(&w.ann.access))
        .await;
    assert_eq!(
        (again.status, again.body),
        (
            400,
            json!({"non_field_errors": ["This doctor is already assigned to this patient."]})
        )
    );
}

async fn removed_pairs_can_be_assigned_again(app: TestApp) {
    let w = world(&app).await;
    let first = app.assign(&w.ann, w.patient, w.doctor).await;
    let reply = app
        .request(
            "DELETE",
            &format!("/api/mappings/{first}/"),
            None,
            Some(&w.ann.access),
        )
        .await;
    assert_eq!(reply.status, 200);
    let second = app.assign(&w.ann, w.patient, w.doctor).await;
    assert_ne!(first, second, "a new mapping");
    assert_eq!(
        app.get("/api/mappings/", &w.ann.access).await.body["count"],
        1
    );
}

async fn concurrent_identical_assignments_give_one_mapping(app: TestApp) {
    let w = world(&app).await;
    let body = json!({"patient": w.patient, "doctor": w.doctor});
    let attempts = (0..8).map(|_| {
        app.request(
            "POST",
            "/api/mappings/",
            Some(body.clone()),
            Some(&w.ann.access),
        )
    });
    let replies = futures_util::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![400; 7]].concat());
    for reply in replies.iter().filter(|r| r.status == 400) {
        assert_eq!(
            reply.body,
            json!({"non_field_errors": ["This doctor is already assigned to this patient."]})
        );
    }
    assert_eq!(
        app.get("/api/mappings/", &w.ann.access).await.body["count"],
        1
    );
}

async fn list_shows_the_callers_active_mappings_with_filters(app: TestApp) {
    let w = world(&app).await;
    let second_doctor = app.create_doctor(&w.ann, "Dr. Wilson", "Oncology").await;
    let other_patient = app.create_patient(&w.ann, "John Doe").await;
    let m1 = app.assign(&w.ann, w.patient, w.doctor).await;
    let m2 = app.assign(&w.ann, w.patient, second_doctor).await;
    let m3 = app.assign(&w.ann, other_patient, w.doctor).await;
    let removed = app.assign(&w.ann, other_patient, second_doctor).await;
    app.request(
        "DELETE",
        &format!("/api/mappings/{removed}/"),
        None,
        Some(&w.ann.access),
    )
    .await;
    let bob = app.register("Bob", "bob@example.com").await;
    let bobs = app.create_patient(&bob, "Bob's").await;
    app.assign(&bob, bobs, w.doctor).await;

    let ids = |body: &Value| -> Vec<i64> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|m| m["id"].as_i64().expect("id"))
            .collect()
    };
    let all = app.get("/api/mappings/", &w.ann.access).await;
    assert_eq!(
        ids(&all.body),
        vec![m3, m2, m1],
        "newest first, active, the caller's only"
    );
    let by_patient = app
        .get(
            &format!("/api/mappings/?patient={}", w.patient),
            &w.ann.access,
        )
        .await;
    assert_eq!(ids(&by_patient.body), vec![m2, m1]);
    let by_doctor = app
        .get(
            &format!("/api/mappings/?doctor={}", w.doctor),
            &w.ann.access,
        )
        .await;
    assert_eq!(ids(&by_doctor.body), vec![m3, m1]);
    let both = app
        .get(
            &format!("/api/mappings/?doctor={}&patient={}", w.doctor, w.patient),
            &w.ann.access,
        )
        .await;
    assert_eq!(ids(&both.body), vec![m1]);
    let bad = app.get("/api/mappings/?patient=abc", &w.ann.access).await;
    assert_eq!(
        (bad.status, bad.body),
        (400, json!({"patient": ["A valid integer is required."]}))
    );
}

async fn by_patient_view_has_the_original_shape(app: TestApp) {
    let w = world(&app).await;
    let mapping = app.assign(&w.ann, w.patient, w.doctor).await;
    let reply = app
        .get(&format!("/api/mappings/{}/", w.patient), &w.ann.access)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let patient = app
        .get(&format!("/api/patients/{}/", w.patient), &w.ann.access)
        .await
        .body;
    let doctor = app
        .get(&format!("/api/doctors/{}/", w.doctor), &w.ann.access)
        .await
        .body;
    assert_eq!(reply.body["patient"], patient);
    let assigned = reply.body["assigned_doctors"].as_array().expect("list");
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0]["id"], mapping);
    assert_eq!(assigned[0]["doctor"], doctor);
    assert_eq!(assigned[0]["is_active"], true);
    assert!(assigned[0]["assigned_date"].is_string() && assigned[0]["notes"].is_string());

    let bob = app.register("Bob", "bob@example.com").await;
    let foreign = app
        .get(&format!("/api/mappings/{}/", w.patient), &bob.access)
        .await;
    assert_eq!(
        (foreign.status, foreign.body),
        (
            404,
            json!({"detail": "No Patient matches the given query."})
        )
    );
}

async fn patch_changes_notes_only(app: TestApp) {
    let w = world(&app).await;
    let mapping = app.assign(&w.ann, w.patient, w.doctor).await;
    let path = format!("/api/mappings/{mapping}/");
    let reply = app
        .request(
            "PATCH",
            &path,
            Some(json!({"notes": "Follow up in 2 weeks", "is_active": false, "doctor": 999})),
            Some(&w.ann.access),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["notes"], "Follow up in 2 weeks");
    assert_eq!(reply.body["is_active"], true);
    assert_eq!(reply.body["doctor"], w.doctor);
    let reply = app
        .request(
            "PATCH",
            &path,
            Some(json!({"notes": null})),
            Some(&w.ann.access),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (400, json!({"notes": ["This field may not be null."]}))
    );
    let missing = app
        .request(
            "PATCH",
            "/api/mappings/99999/",
            Some(json!({"notes": "x"})),
            Some(&w.ann.access),
        )
        .await;
    assert_eq!(
        (missing.status, missing.body),
        (
            404,
            json!({"detail": "No PatientDoctorMapping matches the given query."})
        )
    );
}

async fn delete_removes_once(app: TestApp) {
    let w = world(&app).await;
    let mapping = app.assign(&w.ann, w.patient, w.doctor).await;
    let path = format!("/api/mappings/{mapping}/");
    let reply = app
        .request("DELETE", &path, None, Some(&w.ann.access))
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (
            200,
            json!({"message": "Doctor successfully removed from patient"})
        )
    );
    let again = app
        .request("DELETE", &path, None, Some(&w.ann.access))
        .await;
    assert_eq!(
        (again.status, again.body),
        (
            404,
            json!({"detail": "No PatientDoctorMapping matches the given query."})
        )
    );
    let patch = app
        .request(
            "PATCH",
            &path,
            Some(json!({"notes": "x"})),
            Some(&w.ann.access),
        )
        .await;
    assert_eq!(patch.status, 404);
    assert_eq!(
        app.get("/api/mappings/", &w.ann.access).await.body["count"],
        0
    );
    assert_eq!(
        app.get(&format!("/api/doctors/{}/", w.doctor), &w.ann.access)
            .await
            .body["patient_count"],
        0
    );
}

async fn list_costs_a_fixed_number_of_statements(app: TestApp) {
    let w = world(&app).await;
    for i in 0..3 {
        let doctor = app.create_doctor(&w.ann, &format!("Dr. {i}"), "X").await;
        app.assign(&w.ann, w.patient, doctor).await;
    }
    let mut costs = Vec::new();
    for size in [1, 100] {
        let before = app.statements.count();
        assert_eq!(
            app.get(&format!("/api/mappings/?page_size={size}"), &w.ann.access)
                .await
                .status,
            200
        );
        costs.push(app.statements.count() - before);
    }
    assert_eq!(costs[0], costs[1], "{costs:?}");
    assert!(costs[0] <= 5, "{costs:?}");
}
