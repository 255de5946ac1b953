//! Black-box tests of the contract's clinics (the part built so far: every account's personal
//! clinic, and the list of the caller's clinics), on SQLite and PostgreSQL.

use crate::common::TestApp;
use serde_json::json;

on_both_backends!(every_account_lists_its_personal_clinic_only);

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
