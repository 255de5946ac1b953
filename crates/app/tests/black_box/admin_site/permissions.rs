//! Every route and method refuses anonymous and non-staff users; sessions end with the rights.

use super::*;

on_both_backends!(
    a_password_change_through_the_api_ends_admin_sessions_at_once,
    a_second_sign_in_never_sees_the_secret_another_one_was_shown,
    every_route_and_method_refuses_anonymous_and_non_staff_users,
    admin_logins_are_throttled_like_the_api,
);

/// Every admin route and method, with ids that exist.
fn every_route(patient: i64, doctor: i64, mapping: i64, user: i64) -> Vec<(&'static str, String)> {
    let mut routes: Vec<(&'static str, String)> = [
        "/admin/".to_owned(),
        "/admin/patients/".to_owned(),
        format!("/admin/patients/{patient}/"),
        "/admin/doctors/".to_owned(),
        format!("/admin/doctors/{doctor}/"),
        format!("/admin/patients/{patient}/versions/"),
        format!("/admin/doctors/{doctor}/versions/"),
        "/admin/mappings/".to_owned(),
        format!("/admin/mappings/{mapping}/"),
        "/admin/users/".to_owned(),
        format!("/admin/users/{user}/"),
        "/admin/audit/".to_owned(),
        "/admin/audit/verify".to_owned(),
    ]
    .into_iter()
    .map(|path| ("GET", path))
    .collect();
    routes.extend(
        [
            format!("/admin/patients/{patient}/"),
            format!("/admin/patients/{patient}/archive"),
            format!("/admin/patients/{patient}/restore"),
            format!("/admin/doctors/{doctor}/"),
            format!("/admin/doctors/{doctor}/archive"),
            format!("/admin/doctors/{doctor}/restore"),
            format!("/admin/mappings/{mapping}/"),
            format!("/admin/mappings/{mapping}/remove"),
            format!("/admin/users/{user}/active"),
            format!("/admin/users/{user}/staff"),
            format!("/admin/users/{user}/password"),
            format!("/admin/users/{user}/second-factor"),
            "/admin/logout".to_owned(),
        ]
        .into_iter()
        .map(|path| ("POST", path)),
    );
    routes
}

/// A signed-in session row for `user`, as if they had passed both factors; its cookie value.
async fn forged_session(app: &TestApp, user: i64) -> String {
    use healthcare_core::ports::{AdminSession, AdminSessionRepository};
    let sessions = healthcare_persistence::DieselAdminSessionRepository::new(pool(app));
    let token = format!("{user}-{}", uuid_like());
    let now = chrono::Utc::now();
    let session = AdminSession {
        token_hash: healthcare_domain::staff::session_token_hash(&token),
        user_id: UserId(user),
        csrf_token: "csrf".into(),
        second_factor_done: true,
        created_at: now,
        last_seen_at: now,
    };
    actix_web::rt::task::spawn_blocking(move || sessions.insert(&session))
        .await
        .expect("joined")
        .expect("session stored");
    token
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn every_route_and_method_refuses_anonymous_and_non_staff_users(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Secret").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    let mapping = app.assign(&owner, patient, doctor).await;
    let form = [
        ("csrf_token", "csrf"),
        ("name", "Changed"),
        ("age", "40"),
        ("gender", "F"),
        ("active", "false"),
        ("staff", "true"),
        ("password", "brand-new-kettle-93"),
        ("version", "1"),
        ("notes", "Changed"),
    ];
    for (method, path) in every_route(patient, doctor, mapping, owner.user_id) {
        let mut anonymous = Browser::new(&app);
        let page = match method {
            "GET" => anonymous.get(&path).await,
            _ => anonymous.post(&path, &form).await,
        };
        assert_eq!(page.status, 303, "anonymous {method} {path}: {}", page.html);
        assert_eq!(
            page.location.as_deref(),
            Some("/admin/login"),
            "{method} {path}"
        );

        // A session row of a user who is not staff (say, demoted since): 403, no data.
        let mut outsider = Browser::new(&app);
        outsider.cookie = Some(forged_session(&app, owner.user_id).await);
        let page = match method {
            "GET" => outsider.get(&path).await,
            _ => outsider.post(&path, &form).await,
        };
        assert_eq!(page.status, 403, "non-staff {method} {path}: {}", page.html);
        assert!(!page.html.contains("Priya"), "{method} {path}");
        assert!(!page.html.contains("Dr Who"), "{method} {path}");
    }
    let still = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(still.body["name"], "Priya Secret");
    let mappings = app.get("/api/mappings/", &owner.access).await;
    assert_eq!(mappings.body["count"], 1, "{}", mappings.body);
    assert_eq!(
        mappings.body["results"][0]["notes"], "",
        "{}",
        mappings.body
    );
    let login = app
        .post(
            "/api/auth/login/",
            serde_json::json!({"email": "olive@example.com", "password": crate::common::STRONG_PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 200, "still active, password unchanged");
}

async fn a_password_change_through_the_api_ends_admin_sessions_at_once(app: TestApp) {
    let session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;
    let changed = app
        .request(
            "POST",
            "/api/auth/password/",
            Some(serde_json::json!({
                "old_password": crate::common::STRONG_PASSWORD,
                "new_password": "brand-new-kettle-93",
            })),
            Some(&session.access),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    staff.get("/admin/").await.assert_redirects_to_login();
}

async fn a_second_sign_in_never_sees_the_secret_another_one_was_shown(app: TestApp) {
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut first = Browser::new(&app);
    let shown_first = first.password_step(STAFF_EMAIL).await;
    let first_secret = shown_first.between("<code", "</code>").expect("secret");
    let mut second = Browser::new(&app);
    let shown_second = second.password_step(STAFF_EMAIL).await;
    let second_secret = shown_second.between("<code", "</code>").expect("secret");
    assert_ne!(first_secret, second_secret);
    // Reloading keeps one sign-in's secret, so a scanned code still works.
    let again = second.get("/admin/login/second-factor").await;
    assert_eq!(again.between("<code", "</code>"), Some(second_secret));
    // The first sign-in's secret was replaced: its code no longer enrols anything.
    let stale = TotpSecret::from_base32(first_secret.rsplit('>').next().unwrap_or_default())
        .expect("base32");
    let refused = first
        .post(
            "/admin/login/second-factor",
            &[
                ("csrf_token", &shown_first.csrf()),
                ("code", &stale.code_at(chrono::Utc::now())),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
}

async fn admin_logins_are_throttled_like_the_api(app: TestApp) {
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut browser = Browser::new(&app);
    for attempt in 1..=5 {
        let page = browser
            .post(
                "/admin/login",
                &[("email", STAFF_EMAIL), ("password", "wrong-password-123")],
            )
            .await;
        assert_eq!(page.status, 400, "attempt {attempt}: {}", page.html);
    }
    let page = browser
        .post(
            "/admin/login",
            &[
                ("email", STAFF_EMAIL),
                ("password", crate::common::STRONG_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 429, "{}", page.html);
    assert!(page.headers.get("retry-after").is_some());
    assert!(browser.cookie.is_none());
}
