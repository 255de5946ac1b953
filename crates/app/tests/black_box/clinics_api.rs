//! Black-box tests of the contract's clinics (the part built so far: every account's personal
//! clinic; creating, reading and renaming clinics; their members), on SQLite and PostgreSQL.

use crate::common::TestApp;
use serde_json::json;

on_both_backends!(
    every_account_lists_its_personal_clinic_only,
    a_created_clinic_is_its_creators_and_hidden_from_everyone_else,
    clinic_names_are_validated,
);

async fn every_account_lists_its_personal_clinic_only(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    for (session, name) in [(&ann, "Ann Lee"), (&bob, "Bob Roe")] {
        let reply = app.get("/api/clinics/", &session.access).await;
        assert_eq!(reply.status, 200);
        let clinic = &reply.body["results"][0];
        assert!(clinic["id"].as_i64().is_some_and(|id| id > 0), "{clinic}");
        assert!(
            clinic["created_at"]
                .as_str()
                .is_some_and(|at| at.ends_with('Z')),
            "{clinic}"
        );
        assert_eq!(
            reply.body,
            json!({
                "count": 1,
                "next": null,
                "previous": null,
                "results": [{
                    "id": clinic["id"],
                    "name": name,
                    "personal": true,
                    "role": "admin",
                    "created_at": clinic["created_at"],
                }],
            })
        );
    }
    let ann_clinic = app.get("/api/clinics/", &ann.access).await.body["results"][0]["id"].clone();
    let bob_clinic = app.get("/api/clinics/", &bob.access).await.body["results"][0]["id"].clone();
    assert_ne!(ann_clinic, bob_clinic, "each account has its own");
    let past_the_end = app.get("/api/clinics/?page=2", &ann.access).await;
    assert_eq!(
        (past_the_end.status, past_the_end.body),
        (404, json!({"detail": "Invalid page."}))
    );
}

async fn a_created_clinic_is_its_creators_and_hidden_from_everyone_else(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let created = app
        .request(
            "POST",
            "/api/clinics/",
            Some(json!({"name": " North Clinic "})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        (
            &created.body["name"],
            &created.body["personal"],
            &created.body["role"]
        ),
        (&json!("North Clinic"), &json!(false), &json!("admin"))
    );
    let id = created.body["id"].as_i64().expect("an id");
    let path = format!("/api/clinics/{id}/");

    let listed = app.get("/api/clinics/", &ann.access).await.body;
    let names: Vec<&str> = listed["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|clinic| clinic["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Ann Lee", "North Clinic"], "personal first");
    assert_eq!(app.get(&path, &ann.access).await.body, created.body);

    let renamed = app
        .request(
            "PATCH",
            &path,
            Some(json!({"name": "South Clinic"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(
        (renamed.status, &renamed.body["name"]),
        (200, &json!("South Clinic"))
    );
    let members = app.get(&format!("{path}members/"), &ann.access).await;
    assert_eq!(members.status, 200);
    assert_eq!(members.body["count"], 1);
    let member = &members.body["results"][0];
    assert_eq!(
        (&member["user"], &member["role"]),
        (
            &json!({"id": ann.user_id, "name": "Ann Lee", "email": "ann@example.com"}),
            &json!("admin")
        )
    );

    // Someone else's clinic answers exactly like one that does not exist.
    let missing = json!({"detail": "No Clinic matches the given query."});
    for clinic in [id, 999_999] {
        let path = format!("/api/clinics/{clinic}/");
        let members = format!("/api/clinics/{clinic}/members/");
        for reply in [
            app.get(&path, &bob.access).await,
            app.get(&members, &bob.access).await,
            app.request(
                "PATCH",
                &path,
                Some(json!({"name": "Mine"})),
                Some(&bob.access),
            )
            .await,
        ] {
            assert_eq!((reply.status, &reply.body), (404, &missing), "{clinic}");
        }
    }
    assert_eq!(app.get("/api/clinics/", &bob.access).await.body["count"], 1);
    assert_eq!(
        app.get(&path, &ann.access).await.body["name"],
        "South Clinic",
        "unchanged by the refused rename"
    );
}

async fn clinic_names_are_validated(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    for (body, expected) in [
        (json!({}), json!({"name": ["This field is required."]})),
        (
            json!({"name": "  "}),
            json!({"name": ["This field may not be blank."]}),
        ),
        (
            json!({"name": null}),
            json!({"name": ["This field may not be null."]}),
        ),
        (json!({"name": 7}), json!({"name": ["Not a valid string."]})),
        (
            json!({"name": "x".repeat(101)}),
            json!({"name": ["Ensure this field has no more than 100 characters."]}),
        ),
    ] {
        let reply = app
            .request(
                "POST",
                "/api/clinics/",
                Some(body.clone()),
                Some(&ann.access),
            )
            .await;
        assert_eq!((reply.status, reply.body), (400, expected), "{body}");
    }
    assert_eq!(
        app.get("/api/clinics/", &ann.access).await.body["count"],
        1,
        "nothing created"
    );
}
