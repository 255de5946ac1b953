//! Black-box tests of the contract's clinics (the part built so far: every account's personal
//! clinic; creating, reading and renaming clinics; their members), on SQLite and PostgreSQL.

use crate::common::TestApp;
use serde_json::json;

on_both_backends!(
    every_account_lists_its_personal_clinic_only,
    a_created_clinic_is_its_creators_and_hidden_from_everyone_else,
    clinic_names_are_validated,
    an_invitation_makes_its_addressee_a_member_with_its_role_once,
    admins_change_roles_and_remove_members_and_members_leave,
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

async fn an_invitation_makes_its_addressee_a_member_with_its_role_once(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let cy = app.register("Cy Poe", "cy@example.com").await;
    let clinic = app.create_clinic(&ann, "North").await;
    let invitations = format!("/api/clinics/{clinic}/invitations/");
    let invited = app
        .request(
            "POST",
            &invitations,
            Some(json!({"email": "BOB@example.com", "role": "clinician"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(invited.status, 201);
    assert_eq!(
        (&invited.body["email"], &invited.body["role"]),
        (&json!("BOB@example.com"), &json!("clinician"))
    );
    let token = invited.body["token"].as_str().expect("a token").to_owned();
    assert_eq!(token.len(), 64);
    // An address with no account is invited just the same: the answer tells nothing.
    let nobody = app
        .request(
            "POST",
            &invitations,
            Some(json!({"email": "nobody@example.com", "role": "auditor"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(nobody.status, 201);

    let invalid = json!({"token": ["Invalid or expired invitation."]});
    let accept = |session: &crate::common::Session, token: &str| {
        let token = token.to_owned();
        let access = session.access.clone();
        let app = &app;
        async move {
            app.request(
                "POST",
                "/api/invitations/accept/",
                Some(json!({"token": token})),
                Some(&access),
            )
            .await
        }
    };
    let wrong_person = accept(&cy, &token).await;
    assert_eq!((wrong_person.status, &wrong_person.body), (400, &invalid));
    let joined = accept(&bob, &token).await;
    assert_eq!(joined.status, 200);
    assert_eq!(
        (&joined.body["clinic"]["id"], &joined.body["clinic"]["role"]),
        (&json!(clinic), &json!("clinician"))
    );
    let again = accept(&bob, &token).await;
    assert_eq!((again.status, &again.body), (400, &invalid), "single use");
    let unknown = accept(&bob, &"0".repeat(64)).await;
    assert_eq!((unknown.status, &unknown.body), (400, &invalid));

    let members = app
        .get(&format!("/api/clinics/{clinic}/members/"), &ann.access)
        .await;
    let roles: Vec<(&str, &str)> = members.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|m| {
            (
                m["user"]["name"].as_str().unwrap_or(""),
                m["role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(roles, vec![("Ann Lee", "admin"), ("Bob Roe", "clinician")]);
    // A clinician sees the clinic and its members but may not manage it.
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    assert_eq!(
        app.get(&format!("/api/clinics/{clinic}/"), &bob.access)
            .await
            .status,
        200
    );
    for (method, path, body) in [
        (
            "PATCH",
            format!("/api/clinics/{clinic}/"),
            json!({"name": "Mine"}),
        ),
        (
            "POST",
            invitations.clone(),
            json!({"email": "eve@example.com", "role": "admin"}),
        ),
    ] {
        let reply = app
            .request(method, &path, Some(body), Some(&bob.access))
            .await;
        assert_eq!(
            (reply.status, &reply.body),
            (403, &forbidden),
            "{method} {path}"
        );
    }
    // Someone else's clinic: as if it did not exist.
    let outsider = app
        .request(
            "POST",
            &invitations,
            Some(json!({"email": "eve@example.com", "role": "admin"})),
            Some(&cy.access),
        )
        .await;
    assert_eq!(
        (outsider.status, outsider.body),
        (404, json!({"detail": "No Clinic matches the given query."}))
    );
    let bad = app
        .request(
            "POST",
            &invitations,
            Some(json!({"email": "not-an-email", "role": "owner"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body),
        (
            400,
            json!({"email": ["Enter a valid email address."], "role": ["\"owner\" is not a valid choice."]})
        )
    );
}

async fn admins_change_roles_and_remove_members_and_members_leave(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let clinic = app.create_clinic(&ann, "North").await;
    app.join_clinic(&ann, clinic, &bob, "bob@example.com", "front_desk")
        .await;
    let member = |user: i64| format!("/api/clinics/{clinic}/members/{user}/");
    let last_admin = json!({"non_field_errors": ["A clinic must keep at least one admin."]});
    let demoted = app
        .request(
            "PATCH",
            &member(ann.user_id),
            Some(json!({"role": "auditor"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!((demoted.status, &demoted.body), (400, &last_admin));
    let forbidden = app
        .request(
            "PATCH",
            &member(ann.user_id),
            Some(json!({"role": "auditor"})),
            Some(&bob.access),
        )
        .await;
    assert_eq!(forbidden.status, 403, "a front desk manages nothing");
    let promoted = app
        .request(
            "PATCH",
            &member(bob.user_id),
            Some(json!({"role": "admin"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(
        (
            promoted.status,
            &promoted.body["role"],
            &promoted.body["user"]["id"]
        ),
        (200, &json!("admin"), &json!(bob.user_id))
    );
    let bad_role = app
        .request(
            "PATCH",
            &member(bob.user_id),
            Some(json!({"role": "owner"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(
        (bad_role.status, bad_role.body),
        (400, json!({"role": ["\"owner\" is not a valid choice."]}))
    );
    // Ann leaves; Bob, now the last admin, cannot.
    let left = app
        .request("DELETE", &member(ann.user_id), None, Some(&ann.access))
        .await;
    assert_eq!(left.status, 204);
    assert_eq!(
        app.get(&format!("/api/clinics/{clinic}/"), &ann.access)
            .await
            .status,
        404
    );
    let stays = app
        .request("DELETE", &member(bob.user_id), None, Some(&bob.access))
        .await;
    assert_eq!((stays.status, &stays.body), (400, &last_admin));
    let gone = app
        .request("DELETE", &member(ann.user_id), None, Some(&bob.access))
        .await;
    assert_eq!(
        (gone.status, gone.body),
        (
            404,
            json!({"detail": "No ClinicMember matches the given query."})
        )
    );
    let personal = app.get("/api/clinics/", &bob.access).await.body["results"][0]["id"].clone();
    // A front desk removes nobody else; an outsider, or an unknown clinic, sees nothing.
    let carl = app.register("Carl Doe", "carl@example.com").await;
    app.join_clinic(&bob, clinic, &carl, "carl@example.com", "front_desk")
        .await;
    let removal = app
        .request("DELETE", &member(bob.user_id), None, Some(&carl.access))
        .await;
    assert_eq!(removal.status, 403);
    let missing_clinic = json!({"detail": "No Clinic matches the given query."});
    for path in [
        member(bob.user_id),
        format!("/api/clinics/999999/members/{}/", bob.user_id),
    ] {
        for (method, body) in [("PATCH", Some(json!({"role": "admin"}))), ("DELETE", None)] {
            let reply = app.request(method, &path, body, Some(&ann.access)).await;
            assert_eq!(
                (reply.status, &reply.body),
                (404, &missing_clinic),
                "{method} {path}"
            );
        }
    }
    // A personal clinic takes no other member.
    let invite_to_personal = app
        .request(
            "POST",
            &format!("/api/clinics/{personal}/invitations/"),
            Some(json!({"email": "ann@example.com", "role": "admin"})),
            Some(&bob.access),
        )
        .await;
    assert_eq!(
        (invite_to_personal.status, invite_to_personal.body),
        (
            400,
            json!({"non_field_errors": ["A personal clinic has no members but its owner; create a clinic to share."]})
        )
    );
    // Nobody leaves their personal clinic.
    let own = app
        .request(
            "DELETE",
            &format!("/api/clinics/{personal}/members/{}/", bob.user_id),
            None,
            Some(&bob.access),
        )
        .await;
    assert_eq!(
        (own.status, own.body),
        (
            400,
            json!({"non_field_errors": ["Nobody leaves their personal clinic or stops being its admin."]})
        )
    );
}
