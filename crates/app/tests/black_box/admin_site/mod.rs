//! The staff admin site, black-box against the real app: sign-in with the second factor,
//! sessions and CSRF, every page and form with its validation errors and permissions, and the
//! audit rows admin access leaves. On SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Session, TestApp};
use healthcare_core::Page as PageRequest;
use healthcare_core::ports::{AuditFilter, AuditRepository, AuditTrail};
use healthcare_domain::UserId;
use healthcare_domain::audit::{AuditAction, AuditRecord, RequestOrigin};
use healthcare_domain::staff::TotpSecret;
use healthcare_persistence::{DbPool, DieselAuditRepository};

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

mod permissions;
mod records;
mod sign_in;
