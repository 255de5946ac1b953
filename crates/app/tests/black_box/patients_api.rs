//! Black-box tests of the contract's Patients section, on SQLite and PostgreSQL.

use crate::common::{Session, TestApp, patient_body};
use serde_json::{Value, json};

on_both_backends!(
    create_returns_the_patient_with_an_etag,
    create_reports_every_bad_field,
    create_accepts_numeric_strings_and_defaults,
    list_is_the_callers_newest_first_with_search,
    pagination_follows_the_contract,
    list_costs_a_fixed_number_of_statements,
    put_requires_every_required_field,
    patch_changes_only_what_is_given,
    if_match_prevents_lost_updates,
    delete_archives_and_hides_the_patient,
    read_only_fields_are_ignored,
);

async fn owner(app: &TestApp) -> Session {
    app.register("Owner", "owner@example.com").await
}

async fn create_returns_the_patient_with_an_etag(app: TestApp) {
    let session = owner(&app).await;
    let reply = app
        .request(
            "POST",
            "/api/patients/",
            Some(patient_body("  Jane Roe ")),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let patient = &reply.body;
    let keys: Vec<&str> = patient
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![
            "address",
            "age",
            "created_at",
            "created_by",
            "email",
            "gender",
            "id",
            "medical_history",
            "name",
            "phone",
            "updated_at"
        ]
    );
    assert_eq!(patient["name"], "Jane Roe");
    assert_eq!(patient["age"], 45);
    assert_eq!(patient["created_by"], session.user_id);
    assert!(
        patient["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(reply.header("etag"), Some("\"v1\""));

    let id = patient["id"].as_i64().expect("id");
    let fetched = app
        .get(&format!("/api/patients/{id}/"), &session.access)
        .await;
    assert_eq!(fetched.status, 200);
    assert_eq!(&fetched.body, patient);
    assert_eq!(fetched.header("etag"), Some("\"v1\""));
}

async fn create_reports_every_bad_field(app: TestApp) {
    let session = owner(&app).await;
    let post =
        |body: Value| app.request("POST", "/api/patients/", Some(body), Some(&session.access));
    let reply = post(json!({})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"name": ["This field is required."], "age": ["This field is required."], "gender": ["This field is required."]})
    );
    let reply = post(json!({"name": "", "age": 45.5, "gender": "Male", "phone": "1234567890123456", "email": null})).await;
    assert_eq!(
        reply.body,
        json!({
            "age": ["A valid integer is required."],
            "email": ["This field may not be null."],
            "name": ["This field may not be blank."],
            "gender": ["\"Male\" is not a valid choice."],
            "phone": ["Ensure this field has no more than 15 characters."],
        })
    );
    for (age, message) in [
        (151, "Ensure this value is less than or equal to 150."),
        (-1, "Ensure this value is greater than or equal to 0."),
    ] {
        let reply = post(json!({"name": "A", "age": age, "gender": "O"})).await;
        assert_eq!(reply.body, json!({"age": [message]}));
    }
    let reply =
        post(json!({"name": "x".repeat(101), "age": 1, "gender": "O", "email": "nope"})).await;
    assert_eq!(
        reply.body,
        json!({"name": ["Ensure this field has no more than 100 characters."], "email": ["Enter a valid email address."]})
    );
}

async fn create_accepts_numeric_strings_and_defaults(app: TestApp) {
    let session = owner(&app).await;
    let reply = app
        .request(
            "POST",
            "/api/patients/",
            Some(json!({"name": "Min", "age": "45", "gender": "M"})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["age"], 45);
    for field in ["phone", "email", "address", "medical_history"] {
        assert_eq!(reply.body[field], "", "{field} defaults to empty");
    }
}

async fn list_is_the_callers_newest_first_with_search(app: TestApp) {
    let session = owner(&app).await;
    let other = app.register("Other", "other@example.com").await;
    for name in ["Ann Lee", "Bob 50%", "Annabel"] {
        app.create_patient(&session, name).await;
    }
    app.create_patient(&other, "Ann Other").await;
    let reply = app.get("/api/patients/", &session.access).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["count"], 3);
    let names: Vec<&str> = reply.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["Annabel", "Bob 50%", "Ann Lee"]);
    assert_eq!(
        (reply.body["next"].clone(), reply.body["previous"].clone()),
        (Value::Null, Value::Null)
    );

    let search = app.get("/api/patients/?search=ANN", &session.access).await;
    assert_eq!(search.body["count"], 2);
    let literal = app.get("/api/patients/?search=%25", &session.access).await;
    assert_eq!(
        literal.body["count"], 1,
        "% matches literally: {}",
        literal.body
    );
    assert_eq!(literal.body["results"][0]["name"], "Bob 50%");

    let empty = app.register("Empty", "empty@example.com").await;
    let reply = app.get("/api/patients", &empty.access).await;
    assert_eq!(
        reply.body,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

async fn pagination_follows_the_contract(app: TestApp) {
    let session = owner(&app).await;
    for i in 0..5 {
        app.create_patient(&session, &format!("P{i}")).await;
    }
    let reply = app
        .get("/api/patients/?page_size=2&search=P", &session.access)
        .await;
    assert_eq!(reply.body["count"], 5);
    assert_eq!(reply.body["results"].as_array().map(Vec::len), Some(2));
    let next = reply.body["next"].as_str().expect("next");
    assert_eq!(
        next,
        format!("{}/api/patients/?page=2&page_size=2&search=P", app.address)
    );
    let second = app
        .send(app.client.get(next).bearer_auth(&session.access))
        .await;
    assert_eq!(
        second.body["previous"],
        format!("{}/api/patients/?page_size=2&search=P", app.address)
    );
    let third = app
        .get("/api/patients/?page=3&page_size=2", &session.access)
        .await;
    assert_eq!(third.body["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(third.body["next"], Value::Null);
    assert_eq!(
        third.body["previous"],
        format!("{}/api/patients/?page=2&page_size=2", app.address)
    );

    let mut seen: Vec<i64> = Vec::new();
    for page in 1..=3 {
        let reply = app
            .get(
                &format!("/api/patients/?page={page}&page_size=2"),
                &session.access,
            )
            .await;
        seen.extend(
            reply.body["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|p| p["id"].as_i64().expect("id")),
        );
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 5, "pages never overlap");

    // Beyond a signed 64-bit integer, as the document types them.
    for bad in [
        "?page=4&page_size=2",
        "?page=0",
        "?page=abc",
        "?page=9223372036854775808",
    ] {
        let reply = app
            .get(&format!("/api/patients/{bad}"), &session.access)
            .await;
        assert_eq!(
            (reply.status, reply.body),
            (404, json!({"detail": "Invalid page."})),
            "{bad}"
        );
    }
    for bad in [
        "?page_size=0",
        "?page_size=x",
        "?page_size=9223372036854775808",
    ] {
        let reply = app
            .get(&format!("/api/patients/{bad}"), &session.access)
            .await;
        assert_eq!(
            (reply.status, reply.body),
            (
                400,
                json!({"page_size": ["A valid positive integer is required."]})
            )
        );
    }
    let clamped = app
        .get("/api/patients/?page_size=1000", &session.access)
        .await;
    assert_eq!(clamped.body["results"].as_array().map(Vec::len), Some(5));
}

async fn list_costs_a_fixed_number_of_statements(app: TestApp) {
    let session = owner(&app).await;
    for i in 0..6 {
        app.create_patient(&session, &format!("P{i}")).await;
    }
    let mut costs = Vec::new();
    for size in [1, 100] {
        let before = app.statements.count();
        let reply = app
            .get(&format!("/api/patients/?page_size={size}"), &session.access)
            .await;
        assert_eq!(reply.status, 200);
        costs.push(app.statements.count() - before);
    }
    assert_eq!(
        costs[0], costs[1],
        "page size 1 and 100 cost the same: {costs:?}"
    );
    // Authentication (user lookup) + the page + the count, each checkout validated once.
    assert!(costs[0] <= 5, "{costs:?}");
}

async fn put_requires_every_required_field(app: TestApp) {
    let session = owner(&app).await;
    let id = app.create_patient(&session, "Jane").await;
    let path = format!("/api/patients/{id}/");
    let reply = app
        .request(
            "PUT",
            &path,
            Some(json!({"name": "Jane"})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"age": ["This field is required."], "gender": ["This field is required."]})
    );
    let reply = app
        .request(
            "PUT",
            &path,
            Some(json!({"name": "Janet", "age": 50, "gender": "O"})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        (reply.body["name"].clone(), reply.body["age"].clone()),
        (json!("Janet"), json!(50))
    );
    assert_eq!(
        reply.body["address"], "1 Main St",
        "absent optional fields keep their value"
    );
    assert_eq!(reply.header("etag"), Some("\"v2\""));
}

async fn patch_changes_only_what_is_given(app: TestApp) {
    let session = owner(&app).await;
    let id = app.create_patient(&session, "Jane").await;
    let path = format!("/api/patients/{id}");
    let before = app.get(&path, &session.access).await.body;
    let reply = app
        .request(
            "PATCH",
            &path,
            Some(json!({"medical_history": "Asthma, hay fever"})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["medical_history"], "Asthma, hay fever");
    assert_eq!(reply.body["name"], before["name"]);
    assert_eq!(reply.body["created_at"], before["created_at"]);
    assert_ne!(reply.body["updated_at"], before["updated_at"]);
    let reply = app
        .request(
            "PATCH",
            &path,
            Some(json!({"age": 200})),
            Some(&session.access),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (
            400,
            json!({"age": ["Ensure this value is less than or equal to 150."]})
        )
    );
}

async fn if_match_prevents_lost_updates(app: TestApp) {
    let session = owner(&app).await;
    let id = app.create_patient(&session, "Jane").await;
    let url = format!("{}/api/patients/{id}/", app.address);
    let etag = app
        .get(&format!("/api/patients/{id}/"), &session.access)
        .await
        .header("etag")
        .expect("etag")
        .to_owned();

    // Two clients read version 1; the first write wins, the second is refused unchanged.
    let first = app
        .send(
            app.client
                .patch(&url)
                .bearer_auth(&session.access)
                .header("If-Match", &etag)
                .json(&json!({"name": "First"})),
        )
        .await;
    assert_eq!(first.status, 200);
    let new_etag = first.header("etag").expect("etag").to_owned();
    assert_ne!(new_etag, etag);
    let second = app
        .send(
            app.client
                .put(&url)
                .bearer_auth(&session.access)
                .header("If-Match", &etag)
                .json(&patient_body("Second")),
        )
        .await;
    assert_eq!(second.status, 412);
    assert_eq!(
        second.body,
        json!({"detail": "The record was changed by someone else."})
    );
    assert_eq!(
        app.get(&format!("/api/patients/{id}/"), &session.access)
            .await
            .body["name"],
        "First"
    );

    let current = app
        .send(
            app.client
                .patch(&url)
                .bearer_auth(&session.access)
                .header("If-Match", &new_etag)
                .json(&json!({"age": 46})),
        )
        .await;
    assert_eq!(current.status, 200);
    let unconditional = app
        .request(
            "PATCH",
            &format!("/api/patients/{id}/"),
            Some(json!({"age": 47})),
            Some(&session.access),
        )
        .await;
    assert_eq!(unconditional.status, 200, "writes without If-Match proceed");
}

async fn delete_archives_and_hides_the_patient(app: TestApp) {
    let session = owner(&app).await;
    let id = app.create_patient(&session, "Jane").await;
    let path = format!("/api/patients/{id}/");
    let reply = app
        .request("DELETE", &path, None, Some(&session.access))
        .await;
    assert_eq!((reply.status, reply.body), (204, Value::Null));
    let missing = json!({"detail": "No Patient matches the given query."});
    for method in ["GET", "PATCH", "PUT", "DELETE"] {
        let body = (method == "PATCH" || method == "PUT").then(|| patient_body("X"));
        let reply = app
            .request(method, &path, body, Some(&session.access))
            .await;
        assert_eq!(
            (reply.status, &reply.body),
            (404, &missing),
            "{method} after delete"
        );
    }
    assert_eq!(
        app.get("/api/patients/", &session.access).await.body["count"],
        0
    );
    for bad in [
        "/api/patients/0/",
        "/api/patients/-3/",
        "/api/patients/abc/",
        "/api/patients/99999999999999999999/",
    ] {
        let reply = app.get(bad, &session.access).await;
        assert_eq!(
            (reply.status, reply.body),
            (404, json!({"detail": "Not found."})),
            "{bad}"
        );
    }
}

async fn read_only_fields_are_ignored(app: TestApp) {
    let session = owner(&app).await;
    let mut body = patient_body("Jane");
    body["id"] = json!(999);
    body["created_by"] = json!(12345);
    body["created_at"] = json!("2000-01-01T00:00:00Z");
    body["unknown_key"] = json!("ignored");
    let reply = app
        .request("POST", "/api/patients/", Some(body), Some(&session.access))
        .await;
    assert_eq!(reply.status, 201);
    assert_ne!(reply.body["id"], 999);
    assert_eq!(reply.body["created_by"], session.user_id);
    assert_ne!(reply.body["created_at"], "2000-01-01T00:00:00Z");
}
