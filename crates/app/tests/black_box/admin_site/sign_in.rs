//! Signing in: the login page, cross-site posts, wrong credentials, the second factor, CSRF.

use super::*;

on_both_backends!(
    anonymous_visitors_get_the_login_page_and_never_data,
    wrong_credentials_and_non_staff_users_are_refused,
    the_sign_in_form_refuses_posts_from_other_sites,
    staff_enrol_a_second_factor_then_sign_in_with_codes,
    forms_without_the_session_csrf_token_change_nothing,
);

async fn anonymous_visitors_get_the_login_page_and_never_data(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Secret").await;
    let mut browser = Browser::new(&app);
    for path in [
        "/admin/".to_owned(),
        "/admin/patients/".to_owned(),
        format!("/admin/patients/{patient}/"),
        "/admin/audit/".to_owned(),
        "/admin/users/".to_owned(),
    ] {
        let page = browser.get(&path).await;
        page.assert_redirects_to_login();
        assert!(!page.html.contains("Priya"), "{path}");
    }
    let forged = browser
        .post(
            &format!("/admin/patients/{patient}/archive"),
            &[("csrf_token", "x")],
        )
        .await;
    forged.assert_redirects_to_login();
    let login = browser.get("/admin/login").await;
    assert_eq!(login.status, 200);
    login.assert_contains("name=\"email\"");
    login.assert_contains("name=\"password\"");
    let csp = login
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("style-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(browser.get("/admin/static/admin.css").await.status, 200);
    // The patient is untouched.
    let still = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(still.status, 200);
}

/// Login CSRF: another site's page posting the sign-in form (a browser sends its origin) is
/// refused before any password is checked; our own page's post is judged as usual.
async fn the_sign_in_form_refuses_posts_from_other_sites(app: TestApp) {
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut browser = Browser::new(&app);
    let url = format!("{}/admin/login", app.address);
    let fields = [
        ("email", STAFF_EMAIL),
        ("password", crate::common::STRONG_PASSWORD),
    ];
    let own_origin = app.address.clone();
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let request = browser
            .client
            .post(&url)
            .header(header, value)
            .form(&fields);
        let page = browser.send(request).await;
        assert_eq!(page.status, 403, "{header}: {value}: {}", page.html);
        assert!(
            browser.cookie.is_none(),
            "{header}: {value}: no session begun"
        );
    }
    assert!(
        rows_of(&app, AuditAction::AdminLogin).await.is_empty(),
        "no password was checked"
    );
    for (header, value) in [
        ("origin", own_origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ] {
        let request = browser
            .client
            .post(&url)
            .header(header, value)
            .form(&fields);
        let page = browser.send(request).await;
        assert_eq!(page.status, 303, "{header}: {value}: {}", page.html);
        browser.cookie = None;
    }
}

async fn wrong_credentials_and_non_staff_users_are_refused(app: TestApp) {
    app.register("Nora Nonstaff", "nora@example.com").await;
    let mut browser = Browser::new(&app);
    for (email, password) in [
        ("nora@example.com", "wrong-password-123"),
        ("nobody@example.com", crate::common::STRONG_PASSWORD),
        ("", ""),
    ] {
        let page = browser
            .post("/admin/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(page.status, 400, "{email}: {}", page.html);
        page.assert_contains("Please enter a correct email and password.");
        assert!(browser.cookie.is_none());
    }
    let page = browser
        .post(
            "/admin/login",
            &[
                ("email", "nora@example.com"),
                ("password", crate::common::STRONG_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(browser.cookie.is_none());
    let denied = rows_of(&app, AuditAction::AdminLogin).await;
    assert_eq!(denied.len(), 4, "{denied:?}");
    // A malformed body is a 400 page, not a 500.
    let url = format!("{}/admin/login", app.address);
    let garbage = browser
        .send(
            browser
                .client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("%zz=%"),
        )
        .await;
    assert_eq!(garbage.status, 400, "{}", garbage.html);
}

async fn staff_enrol_a_second_factor_then_sign_in_with_codes(app: TestApp) {
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut first = Browser::new(&app);
    let (secret, recovery) = first.enrol(STAFF_EMAIL).await;
    assert_eq!(recovery.status, 200, "{}", recovery.html);
    recovery.assert_contains("recovery");
    let cookie = recovery
        .set_cookie
        .iter()
        .find(|c| c.starts_with("admin_session="))
        .expect("session cookie")
        .clone();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP test server: {cookie}"
    );
    assert_eq!(first.get("/admin/").await.status, 200);
    let recovery_code = recovery
        .between("class=\"recovery-codes\"><li><code>", "</code>")
        .expect("recovery codes listed");

    // Second sign-in: the code just used is refused (replay), a recovery code works once.
    let mut second = Browser::new(&app);
    let page = second.password_step(STAFF_EMAIL).await;
    assert!(!page.html.contains("<svg"), "no second enrolment");
    let reused = secret.code_at(chrono::Utc::now());
    let csrf = page.csrf();
    let replay = second
        .post(
            "/admin/login/second-factor",
            &[("csrf_token", &csrf), ("code", &reused)],
        )
        .await;
    assert_eq!(replay.status, 400, "{}", replay.html);
    replay.assert_contains("field-error");
    let wrong = second
        .post(
            "/admin/login/second-factor",
            &[("csrf_token", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.html);
    // Password alone opens no page.
    let mut peek = Browser::new(&app);
    peek.cookie = second.cookie.clone();
    peek.get("/admin/").await.assert_redirects_to_login();
    let recovered = second
        .post(
            "/admin/login/second-factor",
            &[("csrf_token", &csrf), ("code", &recovery_code)],
        )
        .await;
    assert_eq!(recovered.status, 303, "{}", recovered.html);
    assert_eq!(second.get("/admin/").await.status, 200);
    let mut third = Browser::new(&app);
    let page = third.password_step(STAFF_EMAIL).await;
    let again = third
        .post(
            "/admin/login/second-factor",
            &[("csrf_token", &page.csrf()), ("code", &recovery_code)],
        )
        .await;
    assert_eq!(
        again.status, 400,
        "a recovery code works once: {}",
        again.html
    );

    // Sign-out ends the session on the server: the old cookie no longer works.
    let old_cookie = first.cookie.clone();
    let out = first.submit("/admin/", "/admin/logout", &[]).await;
    assert_eq!(out.status, 303, "{}", out.html);
    first.cookie = old_cookie;
    first.get("/admin/").await.assert_redirects_to_login();
    let logins = rows_of(&app, AuditAction::AdminLogin).await;
    assert!(
        logins
            .iter()
            .filter(|row| row.event.outcome == healthcare_domain::audit::AuditOutcome::Success)
            .count()
            >= 2,
        "{logins:?}"
    );
}

async fn forms_without_the_session_csrf_token_change_nothing(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;
    for token in ["", "forged-token"] {
        let page = staff
            .post(
                &format!("/admin/patients/{patient}/archive"),
                &[("csrf_token", token)],
            )
            .await;
        assert_eq!(page.status, 403, "{}", page.html);
    }
    let missing = staff
        .post(&format!("/admin/patients/{patient}/archive"), &[])
        .await;
    assert!(
        [400, 403].contains(&missing.status),
        "{}: {}",
        missing.status,
        missing.html
    );
    let still = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(still.status, 200, "not archived");
}
