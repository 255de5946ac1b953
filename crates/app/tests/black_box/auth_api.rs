//! Black-box tests of the contract's Auth section, on SQLite and PostgreSQL.

use crate::common::{STRONG_PASSWORD, TestApp};
use healthcare_app::console::{Command, CommandError, PasswordSource, UsersAction, run};
use serde_json::json;

on_both_backends!(
    register_returns_the_user_and_a_token_pair,
    register_reports_every_bad_field_at_once,
    register_applies_the_password_rules,
    register_refuses_a_taken_email_in_any_case,
    register_requires_matching_confirmation,
    login_returns_a_session,
    login_failures_are_indistinguishable,
    refresh_rotates_and_detects_reuse,
    refresh_rejects_wrong_type_and_garbage,
    logout_revokes_the_chain,
    access_tokens_end_with_sign_out_password_change_and_theft,
    me_requires_a_valid_bearer_token,
    deactivated_users_lose_access_and_refresh,
    concurrent_registrations_of_one_email_create_one_user,
    password_change_revokes_sessions_and_applies_the_rules,
);

async fn register_returns_the_user_and_a_token_pair(app: TestApp) {
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": "  Ann Lee ", "email": "Ann@Example.com", "password": STRONG_PASSWORD, "is_staff": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["message"], "User registered successfully");
    let user = &reply.body["user"];
    assert_eq!(user["name"], "Ann Lee");
    assert_eq!(user["email"], "Ann@Example.com");
    assert!(user["id"].as_i64().is_some_and(|id| id > 0));
    let created_at = user["created_at"].as_str().expect("created_at");
    assert!(
        created_at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
        "{created_at}"
    );
    assert_eq!(
        user.as_object().map(|o| o.len()),
        Some(4),
        "no other user fields: {user}"
    );
    let access = reply.body["tokens"]["access"].as_str().expect("access");
    assert!(reply.body["tokens"]["refresh"].is_string());

    let me = app.get("/api/auth/me/", access).await;
    assert_eq!(me.status, 200);
    // The user's fields as registration returned them, and the clinic the token acts in
    // (added with clinics): the new account's personal clinic, of which it is the admin.
    let mut user_part = me.body.clone();
    let clinic = user_part
        .as_object_mut()
        .and_then(|me| me.remove("clinic"))
        .expect("me names the active clinic");
    assert_eq!(&user_part, user);
    assert_eq!(
        (&clinic["name"], &clinic["personal"], &clinic["role"]),
        (&json!("Ann Lee"), &json!(true), &json!("admin"))
    );
}

async fn register_reports_every_bad_field_at_once(app: TestApp) {
    let reply = app.post("/api/auth/register/", json!({})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({
            "name": ["This field is required."],
            "email": ["This field is required."],
            "password": ["This field is required."],
        })
    );
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": "", "email": "not-an-email", "password": null}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({
            "name": ["This field may not be blank."],
            "email": ["Enter a valid email address."],
            "password": ["This field may not be null."],
        })
    );
    let long_name = "x".repeat(151);
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": long_name, "email": "a@example.com", "password": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({"name": ["Ensure this field has no more than 150 characters."]})
    );
}

async fn register_applies_the_password_rules(app: TestApp) {
    let cases = [
        ("password", vec!["This password is too common."]),
        (
            "12345678",
            vec![
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        ),
        (
            "Ab1!",
            vec!["This password is too short. It must contain at least 8 characters."],
        ),
        (
            "margarethe",
            vec!["The password is too similar to the email."],
        ),
    ];
    for (password, messages) in cases {
        let reply = app
            .post(
                "/api/auth/register/",
                json!({"name": "Zed", "email": "margarethe@clinic.org", "password": password}),
            )
            .await;
        assert_eq!(reply.status, 400, "{password}");
        assert_eq!(reply.body, json!({"password": messages}), "{password}");
    }
    let too_long = "Zq9-".repeat(18) + "x"; // 73 bytes: refused, never truncated
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": "Zed", "email": "z@clinic.org", "password": too_long}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({"password": ["This password is too long. It must contain at most 72 bytes."]})
    );
}

async fn register_refuses_a_taken_email_in_any_case(app: TestApp) {
    app.register("Ann", "ann@example.com").await;
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": "Other", "email": "ANN@EXAMPLE.COM", "password": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"email": ["A user with this email already exists."]})
    );
}

async fn register_requires_matching_confirmation(app: TestApp) {
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": "Ann", "email": "ann@example.com", "password": STRONG_PASSWORD, "password_confirm": "other"}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"non_field_errors": ["Passwords don't match."]})
    );
    let reply = app
        .post(
            "/api/auth/register/",
            json!({"name": "Ann", "email": "ann@example.com", "password": STRONG_PASSWORD, "password_confirm": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 201);
}

async fn login_returns_a_session(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let reply = app
        .post(
            "/api/auth/login/",
            json!({"email": "ANN@example.com", "password": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["message"], "Login successful");
    assert_eq!(reply.body["user"]["id"], session.user_id);
    let access = reply.body["tokens"]["access"].as_str().expect("access");
    assert_eq!(app.get("/api/auth/me", access).await.status, 200);

    let reply = app.post("/api/auth/login/", json!({"email": ""})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"email": ["This field may not be blank."], "password": ["This field is required."]})
    );
}

async fn login_failures_are_indistinguishable(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    app.register("Bob", "bob@example.com").await;
    deactivate(&app, session.user_id).await;
    let expected = json!({"detail": "No active account found with the given credentials", "code": "authentication_failed"});
    for (email, password) in [
        ("bob@example.com", "wrong-password-1"),
        ("nobody@example.com", STRONG_PASSWORD),
        ("ann@example.com", STRONG_PASSWORD),
    ] {
        let reply = app
            .post(
                "/api/auth/login/",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(reply.status, 401, "{email}");
        assert_eq!(reply.body, expected, "{email}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"api\"")
        );
    }
}

async fn refresh_rotates_and_detects_reuse(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let first = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": session.refresh}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let access = first.body["access"].as_str().expect("access");
    let rotated = first.body["refresh"].as_str().expect("refresh").to_owned();
    assert_ne!(rotated, session.refresh);
    assert_eq!(app.get("/api/auth/me/", access).await.status, 200);

    // The spent token presented again is theft: refused, and the whole family revoked.
    let replay = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": session.refresh}),
        )
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(
        replay.body,
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
    );
    let descendant = app
        .post("/api/auth/token/refresh/", json!({"refresh": rotated}))
        .await;
    assert_eq!(descendant.status, 401);
    assert_eq!(descendant.body["detail"], "Token is blacklisted");

    // Another login's family is untouched.
    let login = app
        .post(
            "/api/auth/login/",
            json!({"email": "ann@example.com", "password": STRONG_PASSWORD}),
        )
        .await;
    let other = login.body["tokens"]["refresh"].as_str().expect("refresh");
    assert_eq!(
        app.post("/api/auth/token/refresh/", json!({"refresh": other}))
            .await
            .status,
        200
    );
}

async fn refresh_rejects_wrong_type_and_garbage(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let reply = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": session.access}),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body,
        json!({"detail": "Token has wrong type", "code": "token_not_valid"})
    );
    for garbage in ["garbage", "a.b.c", &format!("{}x", session.refresh)] {
        let reply = app
            .post("/api/auth/token/refresh/", json!({"refresh": garbage}))
            .await;
        assert_eq!(reply.status, 401, "{garbage}");
        assert_eq!(
            reply.body,
            json!({"detail": "Token is invalid or expired", "code": "token_not_valid"})
        );
    }
    let reply = app.post("/api/auth/token/refresh/", json!({})).await;
    assert_eq!(
        (reply.status, reply.body),
        (400, json!({"refresh": ["This field is required."]}))
    );
}

/// A sign-out, a password change and a replayed refresh token each refuse the user's access
/// tokens issued before them at once, not when they expire; a session that is still valid
/// gets new ones by refreshing.
async fn access_tokens_end_with_sign_out_password_change_and_theft(app: TestApp) {
    let me = |token: String| {
        let app = &app;
        async move { app.get("/api/auth/me/", &token).await.status }
    };
    let tokens = |reply: &crate::common::Reply, at: &str| {
        let at = if at.is_empty() {
            reply.body.clone()
        } else {
            reply.body[at].clone()
        };
        (
            at["access"].as_str().expect("access").to_owned(),
            at["refresh"].as_str().expect("refresh").to_owned(),
        )
    };
    let login = || {
        app.post(
            "/api/auth/login/",
            json!({"email": "ann@example.com", "password": STRONG_PASSWORD}),
        )
    };
    let ann = app.register("Ann", "ann@example.com").await;
    let (phone, phone_refresh) = tokens(&login().await, "tokens");

    let signed_out = app
        .request(
            "POST",
            "/api/auth/logout/",
            Some(json!({"refresh": ann.refresh})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(signed_out.status, 204);
    assert_eq!(
        me(ann.access.clone()).await,
        401,
        "the signed-out session's token"
    );
    assert_eq!(
        me(phone.clone()).await,
        401,
        "every access token issued before the sign-out"
    );
    let refreshed = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": phone_refresh}),
        )
        .await;
    assert_eq!(
        refreshed.status, 200,
        "the other session refreshes: {}",
        refreshed.body
    );
    let (phone, _) = tokens(&refreshed, "");
    assert_eq!(me(phone.clone()).await, 200);

    // The spent refresh token presented again: someone else holds a copy.
    let replay = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": phone_refresh}),
        )
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(me(phone).await, 401, "a theft ends the access tokens too");

    let (laptop, _) = tokens(&login().await, "tokens");
    assert_eq!(me(laptop.clone()).await, 200);
    let changed = app
        .request(
            "POST",
            "/api/auth/password/",
            Some(
                json!({"old_password": STRONG_PASSWORD, "new_password": "tangerine-lorry-57-quay"}),
            ),
            Some(&laptop),
        )
        .await;
    assert_eq!(changed.status, 204);
    assert_eq!(me(laptop).await, 401, "a password change ends them as well");
}

async fn logout_revokes_the_chain(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let rotated = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": session.refresh}),
        )
        .await;
    let latest = rotated.body["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let unauthenticated = app
        .request(
            "POST",
            "/api/auth/logout/",
            Some(json!({"refresh": latest})),
            None,
        )
        .await;
    assert_eq!(unauthenticated.status, 401);

    // Another user cannot end this session with a token they got hold of.
    let other = app.register("Bob", "bob@example.com").await;
    let foreign = app
        .request(
            "POST",
            "/api/auth/logout/",
            Some(json!({"refresh": latest})),
            Some(&other.access),
        )
        .await;
    assert_eq!(foreign.status, 401);
    assert_eq!(foreign.body["detail"], "Token is invalid or expired");

    let reply = app
        .request(
            "POST",
            "/api/auth/logout/",
            Some(json!({"refresh": latest})),
            Some(&session.access),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, serde_json::Value::Null);
    let after = app
        .post("/api/auth/token/refresh/", json!({"refresh": latest}))
        .await;
    assert_eq!(after.status, 401);
    assert_eq!(after.body["detail"], "Token is blacklisted");
}

async fn me_requires_a_valid_bearer_token(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    let missing = app.request("GET", "/api/auth/me/", None, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );

    let basic = app
        .send(
            app.client
                .get(format!("{}/api/auth/me/", app.address))
                .basic_auth("ann@example.com", Some(STRONG_PASSWORD)),
        )
        .await;
    assert_eq!(basic.status, 401);
    assert_eq!(
        basic.body,
        json!({"detail": "Authentication credentials were not provided."})
    );

    let invalid =
        json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"});
    for token in [
        "garbage",
        session.refresh.as_str(),
        &format!("{}x", session.access),
    ] {
        let reply = app.get("/api/auth/me/", token).await;
        assert_eq!(reply.status, 401, "{token}");
        assert_eq!(reply.body, invalid);
    }
}

async fn deactivated_users_lose_access_and_refresh(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    deactivate(&app, session.user_id).await;
    let me = app.get("/api/auth/me/", &session.access).await;
    assert_eq!(me.status, 401);
    assert_eq!(me.body["code"], "token_not_valid");
    let refresh = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": session.refresh}),
        )
        .await;
    assert_eq!(refresh.status, 401);
    assert_eq!(refresh.body["detail"], "Token is blacklisted");
}

async fn concurrent_registrations_of_one_email_create_one_user(app: TestApp) {
    let attempts = (0..20).map(|i| {
        app.post(
            "/api/auth/register/",
            json!({"name": format!("Twin {i}"), "email": "twin@example.com", "password": STRONG_PASSWORD}),
        )
    });
    let replies = futures_util::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![400; 19]].concat());
    for reply in replies.iter().filter(|r| r.status == 400) {
        assert_eq!(
            reply.body,
            json!({"email": ["A user with this email already exists."]})
        );
    }
}

struct NoPassword;

impl PasswordSource for NoPassword {
    fn password(&self) -> Result<String, CommandError> {
        panic!("no password is needed")
    }
}

async fn deactivate(app: &TestApp, user_id: i64) {
    let settings = app.settings.clone();
    let outcome = actix_web::rt::task::spawn_blocking(move || {
        run(
            Command::Users {
                action: UsersAction::Deactivate { id: user_id },
            },
            &settings,
            &NoPassword,
        )
    })
    .await
    .expect("joined");
    assert_eq!(outcome.ok(), Some(format!("User {user_id} deactivated.")));
}

async fn password_change_revokes_sessions_and_applies_the_rules(app: TestApp) {
    let session = app.register("Ann Lee", "ann@example.com").await;
    let change = |body: serde_json::Value| {
        app.request(
            "POST",
            "/api/auth/password/",
            Some(body),
            Some(&session.access),
        )
    };
    let reply =
        change(json!({"old_password": "wrong-password-1", "new_password": "password"})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({
            "old_password": ["Your old password was entered incorrectly. Please enter it again."],
            "new_password": ["This password is too common."],
        })
    );
    let reply = change(json!({})).await;
    assert_eq!(
        reply.body,
        json!({"old_password": ["This field is required."], "new_password": ["This field is required."]})
    );
    let reply =
        change(json!({"old_password": STRONG_PASSWORD, "new_password": "tangerine-lorry-57"}))
            .await;
    assert_eq!((reply.status, reply.body), (204, serde_json::Value::Null));

    let refresh = app
        .post(
            "/api/auth/token/refresh/",
            json!({"refresh": session.refresh}),
        )
        .await;
    assert_eq!(refresh.status, 401, "every refresh token was revoked");
    let old = app
        .post(
            "/api/auth/login/",
            json!({"email": "ann@example.com", "password": STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(old.status, 401);
    let new = app
        .post(
            "/api/auth/login/",
            json!({"email": "ann@example.com", "password": "tangerine-lorry-57"}),
        )
        .await;
    assert_eq!(new.status, 200);
    let anonymous = app
        .request("POST", "/api/auth/password/", Some(json!({})), None)
        .await;
    assert_eq!(anonymous.status, 401);
}
