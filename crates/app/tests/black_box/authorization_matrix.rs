//! The authorization matrix: for every route and method, what a second user and an anonymous
//! caller get when they touch the first user's records, and proof that nothing changed.

use crate::common::{TestApp, doctor_body, patient_body};
use serde_json::{Value, json};

on_both_backends!(
    another_user_cannot_see_or_change_anything,
    anonymous_callers_get_401_everywhere,
);

/// Everything the owner can read, for a before/after comparison.
async fn snapshot(app: &TestApp, token: &str, patient: i64, doctor: i64) -> Vec<Value> {
    let mut state = Vec::new();
    for path in [
        "/api/patients/".to_owned(),
        format!("/api/patients/{patient}/"),
        "/api/doctors/".to_owned(),
        format!("/api/doctors/{doctor}/"),
        "/api/mappings/".to_owned(),
        format!("/api/mappings/{patient}/"),
    ] {
        let reply = app.get(&path, token).await;
        assert_eq!(reply.status, 200, "{path}");
        state.push(reply.body);
    }
    state
}

async fn another_user_cannot_see_or_change_anything(app: TestApp) {
    let owner = app.register("Owner", "owner@example.com").await;
    let patient = app.create_patient(&owner, "Private Patient").await;
    let doctor = app.create_doctor(&owner, "Dr. Owner", "Cardiology").await;
    let mapping = app.assign(&owner, patient, doctor).await;
    let before = snapshot(&app, &owner.access, patient, doctor).await;

    let intruder = app.register("Intruder", "intruder@example.com").await;
    let missing_patient = json!({"detail": "No Patient matches the given query."});
    let missing_mapping = json!({"detail": "No PatientDoctorMapping matches the given query."});
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let patient_path = format!("/api/patients/{patient}/");
    let mapping_path = format!("/api/mappings/{mapping}/");
    let doctor_path = format!("/api/doctors/{doctor}/");

    // Each foreign record answers exactly like a missing one.
    let cases: Vec<(&str, String, Option<Value>, u16, Value)> = vec![
        (
            "GET",
            patient_path.clone(),
            None,
            404,
            missing_patient.clone(),
        ),
        (
            "PUT",
            patient_path.clone(),
            Some(patient_body("Stolen")),
            404,
            missing_patient.clone(),
        ),
        (
            "PATCH",
            patient_path.clone(),
            Some(json!({"name": "Stolen"})),
            404,
            missing_patient.clone(),
        ),
        (
            "DELETE",
            patient_path.clone(),
            None,
            404,
            missing_patient.clone(),
        ),
        (
            "GET",
            "/api/patients/999999/".to_owned(),
            None,
            404,
            missing_patient.clone(),
        ),
        (
            "GET",
            format!("/api/mappings/{patient}/"),
            None,
            404,
            missing_patient.clone(),
        ),
        (
            "PATCH",
            mapping_path.clone(),
            Some(json!({"notes": "x"})),
            404,
            missing_mapping.clone(),
        ),
        (
            "DELETE",
            mapping_path.clone(),
            None,
            404,
            missing_mapping.clone(),
        ),
        (
            "PATCH",
            "/api/mappings/999999/".to_owned(),
            Some(json!({"notes": "x"})),
            404,
            missing_mapping.clone(),
        ),
        (
            "POST",
            "/api/mappings/".to_owned(),
            Some(json!({"patient": patient, "doctor": doctor})),
            400,
            json!({"patient": [format!("Invalid pk \"{patient}\" - object does not exist.")]}),
        ),
        (
            "PUT",
            doctor_path.clone(),
            Some(doctor_body("Hijacked", "X")),
            403,
            forbidden.clone(),
        ),
        (
            "PATCH",
            doctor_path.clone(),
            Some(json!({"is_available": false})),
            403,
            forbidden.clone(),
        ),
        ("DELETE", doctor_path.clone(), None, 403, forbidden.clone()),
    ];
    for (method, path, body, status, expected) in cases {
        let reply = app
            .request(method, &path, body, Some(&intruder.access))
            .await;
        assert_eq!(
            (reply.status, &reply.body),
            (status, &expected),
            "{method} {path}"
        );
    }

    // Lists show the intruder nothing of the owner's, while doctors stay readable.
    let lists = [
        ("/api/patients/", 0),
        ("/api/mappings/", 0),
        (&format!("/api/mappings/?patient={patient}") as &str, 0),
    ];
    for (path, count) in lists {
        assert_eq!(
            app.get(path, &intruder.access).await.body["count"],
            count,
            "{path}"
        );
    }
    let doctor_view = app.get(&doctor_path, &intruder.access).await;
    assert_eq!(doctor_view.status, 200);

    assert_eq!(
        snapshot(&app, &owner.access, patient, doctor).await,
        before,
        "the owner's data is unchanged"
    );
}

/// Every operation the document marks as needing a token, read from the served document so
/// that a route added later is covered without editing this test.
async fn secured_routes(app: &TestApp) -> Vec<(String, String)> {
    let document: Value = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("the document");
    let mut routes = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let secured = operation["security"]
                .as_array()
                .is_some_and(|requirements| !requirements.is_empty());
            if secured {
                // Every path parameter is an id.
                let concrete: Vec<&str> = path
                    .split('/')
                    .map(|segment| {
                        if segment.starts_with('{') {
                            "1"
                        } else {
                            segment
                        }
                    })
                    .collect();
                routes.push((method.to_uppercase(), format!("{}/", concrete.join("/"))));
            }
        }
    }
    routes
}

async fn anonymous_callers_get_401_everywhere(app: TestApp) {
    let routes = secured_routes(&app).await;
    assert!(routes.len() >= 24, "{routes:?}");
    for (method, path) in &routes {
        let (method, path) = (method.as_str(), path.as_str());
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let reply = app.request(method, path, body, None).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        assert_eq!(
            reply.body,
            json!({"detail": "Authentication credentials were not provided."}),
            "{method} {path}"
        );
    }
    let session = app.register("Ann", "ann@example.com").await;
    let root = app.get("/api/", &session.access).await;
    assert_eq!(
        root.body,
        json!({
            "patients": format!("{}/api/patients/", app.address),
            "doctors": format!("{}/api/doctors/", app.address),
            "mappings": format!("{}/api/mappings/", app.address),
        })
    );
}
