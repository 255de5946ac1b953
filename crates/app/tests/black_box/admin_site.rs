//! The staff admin site, black-box against the real app: sign-in with the second factor,
//! sessions and CSRF, every page and form with its validation errors and permissions, and the
//! audit rows admin access leaves. On SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Session, TestApp};
use healthcare_domain::UserId;
use healthcare_domain::audit::{AuditAction, AuditRecord, RequestOrigin};
use healthcare_domain::staff::TotpSecret;
use healthcare_persistence::{DbPool, DieselAuditRepository};
use healthcare_ports::Page as PageRequest;
use healthcare_ports::ports::{AuditFilter, AuditRepository, AuditTrail};

const STAFF_EMAIL: &str = "sam.staff@clinic.org";

fn pool(app: &TestApp) -> DbPool {
    crate::common::direct_pool(&app.settings.database, &app.settings.audit_key.key)
}

fn console_trail(pool: &DbPool) -> Arc<dyn AuditTrail> {
    Arc::new(healthcare_app::wiring::ImmediateAuditTrail(Arc::new(
        DieselAuditRepository::new(pool.clone()),
    )))
}

/// Registers a user through the API and makes them staff, as `users grant-staff` does.
async fn staff_user(app: &TestApp, name: &str, email: &str) -> Session {
    let session = app.register(name, email).await;
    let pool = pool(app);
    let auth = healthcare_app::wiring::auth_service(&app.settings, &pool, console_trail(&pool));
    let id = UserId(session.user_id);
    let granted = actix_web::rt::task::spawn_blocking(move || {
        auth.set_user_staff(None, &RequestOrigin::default(), id, true)
    })
    .await
    .expect("joined")
    .expect("granted");
    assert!(granted);
    session
}

/// One HTML response.
struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Vec<String>,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Page {
    /// The text between `start` and the next `end` after it.
    fn between(&self, start: &str, end: &str) -> Option<String> {
        let from = self.html.find(start)? + start.len();
        let to = self.html[from..].find(end)? + from;
        Some(self.html[from..to].to_owned())
    }

    /// The value of the hidden CSRF field.
    fn csrf(&self) -> String {
        self.between("name=\"csrf_token\" value=\"", "\"")
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.html))
    }

    fn assert_contains(&self, text: &str) {
        assert!(
            self.html.contains(text),
            "status {}: {text:?} not in {}",
            self.status,
            self.html
        );
    }

    fn assert_redirects_to_login(&self) {
        assert_eq!(self.status, 303, "{}", self.html);
        assert_eq!(self.location.as_deref(), Some("/admin/login"));
    }
}

/// A browser without JavaScript: follows nothing by itself, keeps the session cookie.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", format!("admin_session={cookie}")),
            None => request,
        };
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookie: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for cookie in &set_cookie {
            if let Some(value) = cookie.strip_prefix("admin_session=") {
                let value = value.split(';').next().unwrap_or_default();
                self.cookie = Some(value.to_owned()).filter(|v| !v.is_empty());
            }
        }
        let html = response.text().await.expect("body");
        Page {
            status,
            location,
            set_cookie,
            headers,
            html,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.app.address);
        self.send(self.client.get(url)).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.app.address);
        self.send(self.client.post(url).form(fields)).await
    }

    /// Posts a form of the page at `form_page`, with its CSRF token.
    async fn submit(&mut self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Signs in with the password; returns the second-factor page.
    async fn password_step(&mut self, email: &str) -> Page {
        let page = self
            .post(
                "/admin/login",
                &[
                    ("email", email),
                    ("password", crate::common::STRONG_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.html);
        assert_eq!(page.location.as_deref(), Some("/admin/login/second-factor"));
        self.get("/admin/login/second-factor").await
    }

    /// First sign-in: enrols the second factor and returns its secret and the page that
    /// shows the recovery codes.
    async fn enrol(&mut self, email: &str) -> (TotpSecret, Page) {
        let page = self.password_step(email).await;
        assert_eq!(page.status, 200, "{}", page.html);
        page.assert_contains("<svg");
        let secret_text = page.between("<code", "</code>").expect("secret shown");
        let secret_text = secret_text.rsplit('>').next().unwrap_or_default();
        let secret = TotpSecret::from_base32(secret_text).expect("a base32 secret");
        let code = secret.code_at(chrono::Utc::now());
        let done = self
            .post(
                "/admin/login/second-factor",
                &[("csrf_token", &page.csrf()), ("code", &code)],
            )
            .await;
        (secret, done)
    }

    /// A staff user signed in from scratch (enrolment on first sign-in).
    async fn signed_in(app: &'a TestApp, email: &str) -> Browser<'a> {
        let mut browser = Browser::new(app);
        let (_, page) = browser.enrol(email).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let dashboard = browser.get("/admin/").await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        browser
    }
}

/// Every stored audit row of `action`, once the writer has had time to store them.
async fn rows_of(app: &TestApp, action: AuditAction) -> Vec<AuditRecord> {
    crate::common::process::tokio_sleep(Duration::from_millis(700)).await;
    let repository = DieselAuditRepository::new(pool(app));
    let filter = AuditFilter {
        action: Some(action),
        ..AuditFilter::default()
    };
    actix_web::rt::task::spawn_blocking(move || {
        repository
            .list(
                &filter,
                PageRequest {
                    number: 1,
                    size: 100,
                },
            )
            .expect("list")
            .items
    })
    .await
    .expect("joined")
}

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

async fn staff_find_edit_archive_and_restore_patients_with_audit_rows(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    app.create_patient(&owner, "Quentin Other").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    app.assign(&owner, patient, doctor).await;
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    let list = staff.get("/admin/patients/?q=priya").await;
    assert_eq!(list.status, 200, "{}", list.html);
    list.assert_contains("Priya Patel");
    assert!(!list.html.contains("Quentin"), "{}", list.html);
    let detail_path = format!("/admin/patients/{patient}/");
    let detail = staff.get(&detail_path).await;
    assert_eq!(detail.status, 200);
    detail.assert_contains("Dr Who");
    detail.assert_contains("Olive Owner");

    // A bad value: the message beside the field, the typed values kept, nothing stored.
    let version = detail
        .between("name=\"version\" value=\"", "\"")
        .expect("version field");
    let form = |age: &'static str, address: &'static str| {
        vec![
            ("name", "Priya Patel"),
            ("age", age),
            ("gender", "F"),
            ("phone", ""),
            ("email", ""),
            ("address", address),
            ("medical_history", "Asthma"),
        ]
    };
    let mut fields = form("-5", "12 Typed Road");
    fields.push(("version", &version));
    let invalid = staff.submit(&detail_path, &detail_path, &fields).await;
    assert_eq!(invalid.status, 400, "{}", invalid.html);
    invalid.assert_contains("field-error");
    invalid.assert_contains("12 Typed Road");
    let api = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_ne!(api.body["address"], "12 Typed Road");

    let mut fields = form("41", "1 New Street");
    fields.push(("version", &version));
    let saved = staff.submit(&detail_path, &detail_path, &fields).await;
    assert!(
        [200, 303].contains(&saved.status),
        "{}: {}",
        saved.status,
        saved.html
    );
    let api = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(api.body["address"], "1 New Street");
    assert_eq!(api.body["age"], 41);

    // The same stale version again: someone else's change is not overwritten.
    let mut fields = form("42", "2 Stale Street");
    fields.push(("version", &version));
    let stale = staff.submit(&detail_path, &detail_path, &fields).await;
    assert_eq!(stale.status, 409, "{}", stale.html);
    let api = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(api.body["address"], "1 New Street");

    let archived = staff
        .submit(&detail_path, &format!("{detail_path}archive"), &[])
        .await;
    assert_eq!(archived.status, 303, "{}", archived.html);
    let gone = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(gone.status, 404);
    let mappings = staff
        .get(&format!("/admin/mappings/?patient={patient}&active=yes"))
        .await;
    assert!(
        !mappings.html.contains("class=\"record\""),
        "mappings ended"
    );
    let archived_list = staff.get("/admin/patients/?archived=yes").await;
    archived_list.assert_contains("Priya Patel");
    let restored = staff
        .submit(&detail_path, &format!("{detail_path}restore"), &[])
        .await;
    assert_eq!(restored.status, 303, "{}", restored.html);
    let back = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(back.status, 200);

    for action in [
        AuditAction::PatientList,
        AuditAction::PatientRead,
        AuditAction::PatientUpdate,
        AuditAction::PatientDelete,
        AuditAction::PatientRestore,
    ] {
        let rows = rows_of(&app, action).await;
        assert!(
            rows.iter()
                .any(|row| row.event.actor == Some(UserId(staff_session.user_id))),
            "{action:?} by the staff user: {rows:?}"
        );
    }
    assert_eq!(staff.get("/admin/patients/999999/").await.status, 404);
    assert_eq!(staff.get("/admin/patients/abc/").await.status, 404);
    assert_eq!(staff.get("/admin/patients/?page=abc").await.status, 400);
}

async fn staff_manage_doctors_and_mappings(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    let mapping = app.assign(&owner, patient, doctor).await;
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let staff_id = Some(UserId(staff_session.user_id));
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    let list = staff.get("/admin/doctors/?q=cardio").await;
    assert_eq!(list.status, 200, "{}", list.html);
    list.assert_contains("Dr Who");
    let path = format!("/admin/doctors/{doctor}/");
    let detail = staff.get(&path).await;
    detail.assert_contains("Priya Patel");
    let lists = rows_of(&app, AuditAction::MappingList).await;
    assert!(
        lists
            .iter()
            .any(|row| row.event.actor == staff_id && row.event.resource_id == Some(doctor)),
        "the doctor page's row names the doctor: {lists:?}"
    );
    let version = detail
        .between("name=\"version\" value=\"", "\"")
        .expect("version field");
    let fields = |years: &'static str| {
        vec![
            ("name", "Dr Who"),
            ("specialization", "Cardiology"),
            ("phone", "+442079460000"),
            ("email", "who@clinic.org"),
            ("experience_years", years),
            ("qualification", "MD"),
            ("consultation_fee", "120.50"),
            ("is_available", "true"),
        ]
    };
    let mut bad = fields("many");
    bad.push(("version", &version));
    let invalid = staff.submit(&path, &path, &bad).await;
    assert_eq!(invalid.status, 400, "{}", invalid.html);
    invalid.assert_contains("field-error");
    let mut good = fields("12");
    good.push(("version", &version));
    let saved = staff.submit(&path, &path, &good).await;
    assert!([200, 303].contains(&saved.status), "{}", saved.html);
    let api = app
        .get(&format!("/api/doctors/{doctor}/"), &owner.access)
        .await;
    assert_eq!(api.body["experience_years"], 12);

    let mappings = staff
        .get(&format!("/admin/mappings/?doctor={doctor}"))
        .await;
    mappings.assert_contains("Priya Patel");
    let removed = staff
        .submit(
            "/admin/mappings/",
            &format!("/admin/mappings/{mapping}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    let again = staff
        .submit(
            "/admin/mappings/",
            &format!("/admin/mappings/{mapping}/remove"),
            &[],
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.html);
    assert!(!rows_of(&app, AuditAction::MappingRemove).await.is_empty());

    // Archiving ends the doctor's active mappings, each recorded with the staff user as actor.
    let active = app.assign(&owner, patient, doctor).await;
    let archived = staff.submit(&path, &format!("{path}archive"), &[]).await;
    assert_eq!(archived.status, 303, "{}", archived.html);
    let removals = rows_of(&app, AuditAction::MappingRemove).await;
    let ended: Vec<_> = removals
        .iter()
        .filter(|row| row.event.resource_id == Some(active))
        .collect();
    assert_eq!(ended.len(), 1, "{removals:?}");
    assert_eq!(ended[0].event.actor, staff_id);
    assert_eq!(ended[0].event.patient_id.map(|id| id.0), Some(patient));
    assert_eq!(
        ended[0].event.outcome,
        healthcare_domain::audit::AuditOutcome::Success
    );
    let api = app
        .get(&format!("/api/doctors/{doctor}/"), &owner.access)
        .await;
    assert_eq!(api.status, 404);
    let restored = staff.submit(&path, &format!("{path}restore"), &[]).await;
    assert_eq!(restored.status, 303, "{}", restored.html);
    let api = app
        .get(&format!("/api/doctors/{doctor}/"), &owner.access)
        .await;
    assert_eq!(api.status, 200);
}

/// The notes of the owner's only active mapping, as the JSON API shows them.
async fn api_notes(app: &TestApp, owner: &Session) -> serde_json::Value {
    let mappings = app.get("/api/mappings/", &owner.access).await;
    assert_eq!(mappings.status, 200, "{}", mappings.body);
    mappings.body["results"][0]["notes"].clone()
}

async fn staff_edit_mapping_notes(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    let mapping = app.assign(&owner, patient, doctor).await;
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    // The list links each row to the mapping's page, which links its patient and doctor.
    let path = format!("/admin/mappings/{mapping}/");
    let list = staff.get("/admin/mappings/").await;
    list.assert_contains(&format!("href=\"{path}\""));
    let detail = staff.get(&path).await;
    assert_eq!(detail.status, 200, "{}", detail.html);
    detail.assert_contains(&format!("href=\"/admin/patients/{patient}/\""));
    detail.assert_contains(&format!("href=\"/admin/doctors/{doctor}/\""));
    detail.assert_contains("Priya Patel");
    detail.assert_contains("Dr Who");
    detail.assert_contains("<textarea");
    detail.assert_contains("name=\"notes\"");

    // Notes are free text without a length limit, as in the API; what cannot be stored (a NUL
    // character) is a 400 page, and nothing changes.
    let refused = staff
        .submit(&path, &path, &[("notes", "Typed\0text")])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    refused.assert_contains("Null characters are not allowed.");
    let missing = staff.submit(&path, &path, &[]).await;
    assert_eq!(missing.status, 400, "{}", missing.html);
    assert_eq!(api_notes(&app, &owner).await, "");

    // A valid note is stored trimmed (the API's rule) and shown on the page.
    let saved = staff
        .submit(&path, &path, &[("notes", "  Sees the patient weekly.\n")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(
        saved.location.as_deref(),
        Some(format!("{path}?done=saved").as_str())
    );
    assert_eq!(api_notes(&app, &owner).await, "Sees the patient weekly.");
    let shown = staff.get(&format!("{path}?done=saved")).await;
    shown.assert_contains("The notes were saved.");
    shown.assert_contains(">Sees the patient weekly.</textarea>");
    let long = "n".repeat(10_000);
    let saved = staff.submit(&path, &path, &[("notes", &long)]).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(api_notes(&app, &owner).await, long.as_str());

    let updates = rows_of(&app, AuditAction::MappingUpdate).await;
    assert!(
        updates.iter().any(|row| {
            row.event.actor == Some(UserId(staff_session.user_id))
                && row.event.resource_id == Some(mapping)
                && row.event.patient_id.map(|id| id.0) == Some(patient)
                && row.event.outcome == healthcare_domain::audit::AuditOutcome::Success
        }),
        "{updates:?}"
    );

    // An ended mapping keeps its page but no longer takes notes; unknown ids are no page.
    let removed = staff.submit(&path, &format!("{path}remove"), &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    let ended = staff.get(&path).await;
    assert_eq!(ended.status, 200, "{}", ended.html);
    ended.assert_contains("Ended");
    assert!(!ended.html.contains("<textarea"), "{}", ended.html);
    let late = staff
        .submit(&path, &path, &[("notes", "After the end.")])
        .await;
    assert_eq!(late.status, 404, "{}", late.html);
    assert_eq!(staff.get("/admin/mappings/999999/").await.status, 404);
    assert_eq!(staff.get("/admin/mappings/abc/").await.status, 404);
}

async fn staff_manage_users_and_changes_end_sessions_at_once(app: TestApp) {
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let other = staff_user(&app, "Tara Twin", "tara@clinic.org").await;
    let regular = app.register("Rita Regular", "rita@example.com").await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;
    let mut tara = Browser::signed_in(&app, "tara@clinic.org").await;

    let list = staff.get("/admin/users/?q=rita").await;
    list.assert_contains("rita@example.com");
    assert!(!list.html.contains("tara@clinic.org"));
    let staff_only = staff.get("/admin/users/?staff=yes").await;
    staff_only.assert_contains("tara@clinic.org");
    assert!(!staff_only.html.contains("rita@example.com"));

    // Nobody can lock themselves out.
    let own = format!("/admin/users/{}/", staff_session.user_id);
    let refused = staff
        .submit(&own, &format!("{own}active"), &[("active", "false")])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert_eq!(staff.get("/admin/").await.status, 200);

    // Deactivating Tara ends her admin session at once.
    let tara_path = format!("/admin/users/{}/", other.user_id);
    let done = staff
        .submit(
            &tara_path,
            &format!("{tara_path}active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let after = tara.get("/admin/").await;
    assert!(
        after.status == 403 || after.location.as_deref() == Some("/admin/login"),
        "{}: {}",
        after.status,
        after.html
    );
    let reactivated = staff
        .submit(
            &tara_path,
            &format!("{tara_path}active"),
            &[("active", "true")],
        )
        .await;
    assert_eq!(reactivated.status, 303);
    let revoked = staff
        .submit(
            &tara_path,
            &format!("{tara_path}staff"),
            &[("staff", "false")],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);

    // A forced password reset: the policy applies, then old tokens stop working.
    let rita_path = format!("/admin/users/{}/", regular.user_id);
    let weak = staff
        .submit(
            &rita_path,
            &format!("{rita_path}password"),
            &[("password", "123")],
        )
        .await;
    assert_eq!(weak.status, 400, "{}", weak.html);
    weak.assert_contains("field-error");
    let reset = staff
        .submit(
            &rita_path,
            &format!("{rita_path}password"),
            &[("password", "brand-new-kettle-93")],
        )
        .await;
    assert_eq!(reset.status, 303, "{}", reset.html);
    let refresh = app
        .post(
            "/api/auth/token/refresh/",
            serde_json::json!({"refresh": regular.refresh}),
        )
        .await;
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    let login = app
        .post(
            "/api/auth/login/",
            serde_json::json!({"email": "rita@example.com", "password": "brand-new-kettle-93"}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);

    // Resetting a second factor: the user enrols again at the next sign-in.
    let sam_again = staff_user(&app, "Uma Second", "uma@clinic.org").await;
    Browser::signed_in(&app, "uma@clinic.org").await;
    let uma_path = format!("/admin/users/{}/", sam_again.user_id);
    let reset = staff
        .submit(&uma_path, &format!("{uma_path}second-factor"), &[])
        .await;
    assert_eq!(reset.status, 303, "{}", reset.html);
    let mut uma = Browser::new(&app);
    let page = uma.password_step("uma@clinic.org").await;
    page.assert_contains("<svg");

    assert_eq!(staff.get("/admin/users/999999/").await.status, 404);
    assert!(rows_of(&app, AuditAction::UserUpdate).await.len() >= 5);
}

async fn the_audit_page_filters_and_verifies_the_chain(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    app.get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;
    crate::common::process::tokio_sleep(Duration::from_millis(700)).await;

    let page = staff
        .get(&format!(
            "/admin/audit/?patient={patient}&action=patient.read"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    let rows: Vec<&str> = page.html.split("class=\"record\"").skip(1).collect();
    assert!(!rows.is_empty(), "{}", page.html);
    assert!(
        rows.iter().all(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            row.contains("patient.read") && !row.contains("patient.create")
        }),
        "{}",
        page.html
    );
    let ranged = staff
        .get("/admin/audit/?since=2000-01-01T00:00&until=2000-01-02T00:00")
        .await;
    assert_eq!(ranged.status, 200, "{}", ranged.html);
    assert!(!ranged.html.contains("class=\"record\""));
    for bad in ["since=yesterday", "action=patient.eat", "patient=abc"] {
        let page = staff.get(&format!("/admin/audit/?{bad}")).await;
        assert_eq!(page.status, 400, "{bad}: {}", page.html);
    }
    // Give the sealer a round, then verify.
    crate::common::process::tokio_sleep(Duration::from_millis(1_500)).await;
    let verified = staff.get("/admin/audit/verify").await;
    assert_eq!(verified.status, 200, "{}", verified.html);
    verified.assert_contains("intact");
    assert!(!rows_of(&app, AuditAction::AuditRead).await.is_empty());
    assert_eq!(staff.get("/admin/no-such-page").await.status, 404);
}

/// Every admin route and method, with ids that exist.
fn every_route(patient: i64, doctor: i64, mapping: i64, user: i64) -> Vec<(&'static str, String)> {
    let mut routes: Vec<(&'static str, String)> = [
        "/admin/".to_owned(),
        "/admin/patients/".to_owned(),
        format!("/admin/patients/{patient}/"),
        "/admin/doctors/".to_owned(),
        format!("/admin/doctors/{doctor}/"),
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
    use healthcare_ports::ports::{AdminSession, AdminSessionRepository};
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

on_both_backends!(
    a_password_change_through_the_api_ends_admin_sessions_at_once,
    a_second_sign_in_never_sees_the_secret_another_one_was_shown,
    every_route_and_method_refuses_anonymous_and_non_staff_users,
    admin_logins_are_throttled_like_the_api,
    anonymous_visitors_get_the_login_page_and_never_data,
    wrong_credentials_and_non_staff_users_are_refused,
    the_sign_in_form_refuses_posts_from_other_sites,
    staff_enrol_a_second_factor_then_sign_in_with_codes,
    forms_without_the_session_csrf_token_change_nothing,
    staff_find_edit_archive_and_restore_patients_with_audit_rows,
    staff_manage_doctors_and_mappings,
    staff_edit_mapping_notes,
    staff_manage_users_and_changes_end_sessions_at_once,
    the_audit_page_filters_and_verifies_the_chain,
);
