//! Black-box tests of the contract's Doctors section, on SQLite and PostgreSQL.

use crate::common::{TestApp, doctor_body};
use serde_json::{Value, json};

on_both_backends!(
    create_and_read_a_doctor,
    create_reports_every_bad_field,
    consultation_fee_rules,
    list_orders_by_name_and_filters,
    available_filter_rejects_other_values,
    only_the_creator_changes_a_doctor,
    patient_count_counts_active_mappings_of_live_patients,
    list_costs_a_fixed_number_of_statements,
    delete_archives_and_deactivates_mappings,
    if_match_on_doctors,
    text_fields_take_strings_and_booleans_take_drf_spellings,
);

async fn create_and_read_a_doctor(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let reply = app
        .request(
            "POST",
            "/api/doctors/",
            Some(doctor_body("Dr. House", "Diagnostics")),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let doctor = &reply.body;
    let mut keys: Vec<&str> = doctor
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "consultation_fee",
            "created_at",
            "created_by",
            "email",
            "experience_years",
            "id",
            "is_available",
            "name",
            "patient_count",
            "phone",
            "qualification",
            "specialization",
            "updated_at",
            "user"
        ]
    );
    assert_eq!(doctor["consultation_fee"], "150.00");
    assert_eq!(
        doctor["user"],
        Value::Null,
        "no linked account unless given"
    );
    assert_eq!(doctor["is_available"], true);
    assert_eq!(doctor["patient_count"], 0);
    assert_eq!(doctor["created_by"], session.user_id);
    assert_eq!(reply.header("etag"), Some("\"v1\""));

    let reader = app.register("Bob", "bob@example.com").await;
    let id = doctor["id"].as_i64().expect("id");
    let fetched = app
        .get(&format!("/api/doctors/{id}/"), &reader.access)
        .await;
    assert_eq!(fetched.status, 200, "every user reads every doctor");
    assert_eq!(&fetched.body, doctor);
    let missing = app.get("/api/doctors/99999/", &reader.access).await;
    assert_eq!(
        (missing.status, missing.body),
        (404, json!({"detail": "No Doctor matches the given query."}))
    );
}

async fn create_reports_every_bad_field(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let reply = app
        .request(
            "POST",
            "/api/doctors/",
            Some(json!({"is_available": "maybe"})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 400);
    let required = json!(["This field is required."]);
    assert_eq!(
        reply.body,
        json!({
            "is_available": ["Must be a valid boolean."],
            "name": required, "specialization": required, "phone": required, "email": required,
            "experience_years": required, "qualification": required, "consultation_fee": required,
        })
    );
    let mut body = doctor_body("Dr. A", "B");
    body["experience_years"] = json!(81);
    body["email"] = json!("not-an-email");
    body["qualification"] = json!("q".repeat(201));
    body["phone"] = json!("");
    let reply = app
        .request("POST", "/api/doctors/", Some(body), Some(&session.access))
        .await;
    assert_eq!(
        reply.body,
        json!({
            "experience_years": ["Ensure this value is less than or equal to 80."],
            "email": ["Enter a valid email address."],
            "qualification": ["Ensure this field has no more than 200 characters."],
            "phone": ["This field may not be blank."],
        })
    );
}

async fn consultation_fee_rules(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let cases = [
        (json!(150), Ok("150.00")),
        (json!(99.5), Ok("99.50")),
        (json!("0.07"), Ok("0.07")),
        (
            json!("12.345"),
            Err("Ensure that there are no more than 2 decimal places."),
        ),
        (
            json!("-1"),
            Err("Ensure this value is greater than or equal to 0."),
        ),
        (
            json!("123456789"),
            Err("Ensure that there are no more than 8 digits before the decimal point."),
        ),
        (json!("abc"), Err("A valid number is required.")),
        (json!(true), Err("A valid number is required.")),
    ];
    for (fee, expected) in cases {
        let mut body = doctor_body("Dr. Fee", "Billing");
        body["consultation_fee"] = fee.clone();
        let reply = app
            .request("POST", "/api/doctors/", Some(body), Some(&session.access))
            .await;
        match expected {
            Ok(shown) => assert_eq!(
                (reply.status, reply.body["consultation_fee"].clone()),
                (201, json!(shown)),
                "{fee}"
            ),
            Err(message) => assert_eq!(
                (reply.status, reply.body),
                (400, json!({"consultation_fee": [message]})),
                "{fee}"
            ),
        }
    }
}

async fn list_orders_by_name_and_filters(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    app.create_doctor(&session, "Zed", "Pediatric Surgery")
        .await;
    app.create_doctor(&session, "Amy", "Cardiology").await;
    let bob = app.create_doctor(&session, "Bob", "General surgery").await;
    app.request(
        "PATCH",
        &format!("/api/doctors/{bob}/"),
        Some(json!({"is_available": false})),
        Some(&session.access),
    )
    .await;

    let names = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|d| d["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let all = app.get("/api/doctors/", &session.access).await;
    assert_eq!(names(&all.body), vec!["Amy", "Bob", "Zed"]);
    let surgery = app
        .get("/api/doctors/?specialization=SURGERY", &session.access)
        .await;
    assert_eq!(names(&surgery.body), vec!["Bob", "Zed"]);
    for (query, expected) in [
        ("true", vec!["Amy", "Zed"]),
        ("1", vec!["Amy", "Zed"]),
        ("false", vec!["Bob"]),
        ("0", vec!["Bob"]),
    ] {
        let reply = app
            .get(&format!("/api/doctors/?available={query}"), &session.access)
            .await;
        assert_eq!(names(&reply.body), expected, "available={query}");
    }
    let both = app
        .get(
            "/api/doctors/?available=true&specialization=surg&page_size=1",
            &session.access,
        )
        .await;
    assert_eq!(both.body["count"], 1);
    assert_eq!(names(&both.body), vec!["Zed"]);
}

async fn available_filter_rejects_other_values(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    for bad in ["yes", "2", "maybe"] {
        let reply = app
            .get(&format!("/api/doctors/?available={bad}"), &session.access)
            .await;
        assert_eq!(
            (reply.status, reply.body),
            (400, json!({"available": ["Must be a valid boolean."]})),
            "{bad}"
        );
    }
}

async fn only_the_creator_changes_a_doctor(app: TestApp) {
    let creator = app.register("Ann", "ann@example.com").await;
    let other = app.register("Bob", "bob@example.com").await;
    let id = app.create_doctor(&creator, "Dr. A", "Cardiology").await;
    let path = format!("/api/doctors/{id}/");
    let before = app.get(&path, &creator.access).await.body;
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    for (method, body) in [
        ("PUT", Some(doctor_body("Hijacked", "X"))),
        ("PATCH", Some(json!({"name": "Hijacked"}))),
        ("DELETE", None),
    ] {
        let reply = app.request(method, &path, body, Some(&other.access)).await;
        assert_eq!((reply.status, &reply.body), (403, &forbidden), "{method}");
    }
    assert_eq!(
        app.get(&path, &creator.access).await.body,
        before,
        "unchanged"
    );
    let reply = app
        .request(
            "PUT",
            &path,
            Some(doctor_body("Dr. A2", "Cardiology")),
            Some(&creator.access),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["name"].clone()),
        (200, json!("Dr. A2"))
    );
    let reply = app
        .request(
            "PUT",
            &path,
            Some(json!({"name": "Only name"})),
            Some(&creator.access),
        )
        .await;
    assert_eq!(reply.status, 400, "PUT needs every required field");
}

async fn patient_count_counts_active_mappings_of_live_patients(app: TestApp) {
    let ann = app.register("Ann", "ann@example.com").await;
    let bob = app.register("Bob", "bob@example.com").await;
    let doctor = app.create_doctor(&ann, "Dr. A", "Cardiology").await;
    let p1 = app.create_patient(&ann, "P1").await;
    let p2 = app.create_patient(&bob, "P2").await;
    let p3 = app.create_patient(&bob, "P3").await;
    app.assign(&ann, p1, doctor).await;
    app.assign(&bob, p2, doctor).await;
    let removed = app.assign(&bob, p3, doctor).await;
    let count = || async {
        app.get(&format!("/api/doctors/{doctor}/"), &ann.access)
            .await
            .body["patient_count"]
            .clone()
    };
    assert_eq!(count().await, 3, "across all users");
    app.request(
        "DELETE",
        &format!("/api/mappings/{removed}/"),
        None,
        Some(&bob.access),
    )
    .await;
    assert_eq!(count().await, 2, "removed mappings do not count");
    app.request(
        "DELETE",
        &format!("/api/patients/{p2}/"),
        None,
        Some(&bob.access),
    )
    .await;
    assert_eq!(count().await, 1, "archived patients do not count");
    let listed = app.get("/api/doctors/", &ann.access).await;
    assert_eq!(listed.body["results"][0]["patient_count"], 1);
}

async fn list_costs_a_fixed_number_of_statements(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    for i in 0..4 {
        let doctor = app
            .create_doctor(&session, &format!("Dr. {i}"), "Cardiology")
            .await;
        let patient = app.create_patient(&session, &format!("P{i}")).await;
        app.assign(&session, patient, doctor).await;
    }
    let mut costs = Vec::new();
    for size in [1, 100] {
        let before = app.statements.count();
        let reply = app
            .get(&format!("/api/doctors/?page_size={size}"), &session.access)
            .await;
        assert_eq!(reply.status, 200);
        assert!(
            reply.body["results"]
                .as_array()
                .is_some_and(|r| r.iter().all(|d| d["patient_count"] == 1))
        );
        costs.push(app.statements.count() - before);
    }
    assert_eq!(
        costs[0], costs[1],
        "patient_count is computed in the page query: {costs:?}"
    );
    assert!(costs[0] <= 5, "{costs:?}");
}

async fn delete_archives_and_deactivates_mappings(app: TestApp) {
    let ann = app.register("Ann", "ann@example.com").await;
    let doctor = app.create_doctor(&ann, "Dr. A", "Cardiology").await;
    let patient = app.create_patient(&ann, "P1").await;
    app.assign(&ann, patient, doctor).await;
    let reply = app
        .request(
            "DELETE",
            &format!("/api/doctors/{doctor}/"),
            None,
            Some(&ann.access),
        )
        .await;
    assert_eq!((reply.status, reply.body), (204, Value::Null));
    assert_eq!(
        app.get(&format!("/api/doctors/{doctor}/"), &ann.access)
            .await
            .status,
        404
    );
    assert_eq!(app.get("/api/doctors/", &ann.access).await.body["count"], 0);
    assert_eq!(
        app.get("/api/mappings/", &ann.access).await.body["count"],
        0,
        "its mappings were deactivated"
    );
    let view = app
        .get(&format!("/api/mappings/{patient}/"), &ann.access)
        .await;
    assert_eq!(view.body["assigned_doctors"], json!([]));
}

async fn if_match_on_doctors(app: TestApp) {
    let ann = app.register("Ann", "ann@example.com").await;
    let doctor = app.create_doctor(&ann, "Dr. A", "Cardiology").await;
    let url = format!("{}/api/doctors/{doctor}/", app.address);
    let stale = app
        .send(
            app.client
                .patch(&url)
                .bearer_auth(&ann.access)
                .header("If-Match", "\"v7\"")
                .json(&json!({"name": "X"})),
        )
        .await;
    assert_eq!(
        (stale.status, stale.body),
        (
            412,
            json!({"detail": "The record was changed by someone else."})
        )
    );
    let fresh = app
        .send(
            app.client
                .patch(&url)
                .bearer_auth(&ann.access)
                .header("If-Match", "\"v1\"")
                .json(&json!({"name": "X"})),
        )
        .await;
    assert_eq!((fresh.status, fresh.header("etag")), (200, Some("\"v2\"")));
}

/// The document says "string" for text fields, so a number there is refused (DRF turned it into
/// text); a boolean takes exactly DRF's spellings, which the document lists.
async fn text_fields_take_strings_and_booleans_take_drf_spellings(app: TestApp) {
    let ann = app.register("Ann", "ann@example.com").await;
    let mut body = doctor_body("Dr. A", "B");
    body["specialization"] = json!(0);
    body["phone"] = json!(5550100);
    let reply = app
        .request("POST", "/api/doctors/", Some(body), Some(&ann.access))
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (
            400,
            json!({"specialization": ["Not a valid string."], "phone": ["Not a valid string."]})
        )
    );
    let doctor = app.create_doctor(&ann, "Dr. A", "Cardiology").await;
    let path = format!("/api/doctors/{doctor}/");
    for (given, read) in [
        (json!("Off"), false),
        (json!("On"), true),
        (json!(0), false),
        (json!("yes"), true),
        (json!(false), false),
    ] {
        let reply = app
            .request(
                "PATCH",
                &path,
                Some(json!({"is_available": given})),
                Some(&ann.access),
            )
            .await;
        assert_eq!(
            (reply.status, &reply.body["is_available"]),
            (200, &json!(read)),
            "{given}"
        );
    }
    for given in [json!("oN"), json!(" yes"), json!(2), json!("")] {
        let reply = app
            .request(
                "PATCH",
                &path,
                Some(json!({"is_available": given})),
                Some(&ann.access),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body),
            (400, json!({"is_available": ["Must be a valid boolean."]})),
            "{given}"
        );
    }
}
