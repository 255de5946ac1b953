//! Black-box test harness: spawns the real application on a random port, on SQLite or on a
//! fresh PostgreSQL database, and drives it over HTTP.

use healthcare_app::{Application, Settings};
use healthcare_test_support::DatabaseGuard;
use serde_json::{Value, json};

/// The secret every test server signs with.
pub const TEST_SECRET: &str = "black-box-test-secret-key-32-bytes-long!";

/// The audit chain key of every test server.
pub const TEST_AUDIT_KEY: &str = "black-box-test-audit-chain-key-32-bytes!";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the throwaway PostgreSQL server.
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A client without default headers.
    pub client: reqwest::Client,
    /// The settings the server runs with (for the console commands).
    pub settings: Settings,
    /// `http://127.0.0.1:PORT` of the separate metrics listener, when configured.
    pub metrics_address: Option<String>,
    /// Counts the SQL statements the server runs.
    pub statements: healthcare_persistence::StatementCounter,
    /// The database it runs on.
    pub database_url: String,
}

/// The database URL for `backend`, or `None` when PostgreSQL is unavailable (skipped loudly).
pub fn database_url(backend: Backend) -> Option<(String, DatabaseGuard)> {
    match backend {
        Backend::Sqlite => {
            let (url, folder) = healthcare_test_support::fresh_sqlite_database();
            Some((url, DatabaseGuard::SqliteFolder(folder)))
        }
        Backend::Postgres => healthcare_test_support::fresh_postgres_database()
            .map(|database| (database.to_string(), DatabaseGuard::Postgres(database))),
    }
}

/// Settings for a test server on `database_url`; `overrides` win over the test defaults.
pub fn test_settings(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let variables: Vec<(String, String)> = [
        ("DATABASE_URL", database_url),
        ("PORT", "0"),
        ("BCRYPT_COST", "4"),
        ("SECRET_KEY", TEST_SECRET),
        ("AUDIT_HMAC_KEY", TEST_AUDIT_KEY),
        ("DATABASE_POOL_SIZE", "4"),
    ]
    .iter()
    .chain(overrides)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    Settings::load_from(&variables).expect("test settings are valid")
}

/// A small pool of the test's own on `database`, for looking at (or tampering with) what the
/// server stored; audit rows written through it are signed with `audit_key`.
pub fn direct_pool(
    database: &healthcare_persistence::DatabaseTarget,
    audit_key: &healthcare_domain::audit::ChainKey,
) -> healthcare_persistence::DbPool {
    healthcare_persistence::build_pool(
        database,
        &healthcare_persistence::PoolSettings {
            max_size: 2,
            checkout_timeout: std::time::Duration::from_secs(5),
            statements: Default::default(),
            audit_key: audit_key.clone(),
            revalidate_after_idle: healthcare_persistence::connection::REVALIDATE_AFTER_IDLE,
            sqlite_cache: healthcare_persistence::connection::SqliteCache::Standard,
        },
    )
    .expect("pool")
}

/// Starts the application on `backend`.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// Starts the application on `backend` with extra settings.
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
    let (url, database) = database_url(backend)?;
    let settings = test_settings(&url, overrides);
    let application = Application::build(settings.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let statements = application.statements();
    let metrics_address = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    actix_web::rt::spawn(ServerThenDatabase {
        server: Box::pin(application.run_until_stopped()),
        _database: database,
    });
    Some(TestApp {
        address,
        metrics_address,
        statements,
        client: reqwest::Client::builder().build().expect("client"),
        settings,
        database_url: url,
    })
}

impl TestApp {
    /// Another instance of the server on the same database, as behind a load balancer: it has
    /// caches of its own.
    pub async fn second_instance(&self) -> TestApp {
        let application = Application::build(self.settings.clone())
            .await
            .expect("the second instance starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        let statements = application.statements();
        actix_web::rt::spawn(application.run_until_stopped());
        TestApp {
            address,
            metrics_address: None,
            statements,
            client: reqwest::Client::builder().build().expect("client"),
            settings: self.settings.clone(),
            database_url: self.database_url.clone(),
        }
    }

    /// Runs `healthcare-admin` with `args` on this server's database and audit key; its exit
    /// code and output.
    pub fn console(&self, args: &[&str]) -> (i32, String) {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_healthcare-admin"))
            .args(args)
            .env_remove("APP_ENV")
            .env("DATABASE_URL", &self.database_url)
            .env("AUDIT_HMAC_KEY", TEST_AUDIT_KEY)
            .output()
            .expect("the console runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }

    /// `METHOD path` with an optional JSON body and token: the status and the body exactly as
    /// sent, byte for byte.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: &str,
    ) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// `session` acting in `clinic` (it must be a member).
    pub async fn switched(&self, session: &Session, clinic: i64) -> Session {
        let reply = self
            .request(
                "POST",
                "/api/auth/switch-clinic/",
                Some(json!({"clinic": clinic})),
                Some(&session.access),
            )
            .await;
        assert_eq!(reply.status, 200, "switch: {}", reply.body);
        assert_eq!(reply.body["clinic"]["id"], clinic);
        Session {
            access: reply.body["tokens"]["access"]
                .as_str()
                .expect("access")
                .to_owned(),
            refresh: reply.body["tokens"]["refresh"]
                .as_str()
                .expect("refresh")
                .to_owned(),
            user_id: session.user_id,
        }
    }
}

/// The running server, then its database: fields drop in order, so when the test's runtime
/// ends, the server (and the audit writer it flushes) stops before the SQLite folder is removed
/// or the PostgreSQL database dropped. Removing the folder first left the final flush retrying
/// against a missing file until the pool's checkout timeout, two seconds per test.
struct ServerThenDatabase {
    server: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>>>>,
    _database: DatabaseGuard,
}

impl std::future::Future for ServerThenDatabase {
    type Output = std::io::Result<()>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.server.as_mut().poll(context)
    }
}

/// A response's status and parsed JSON body (`Value::Null` for an empty body).
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "status {status}: body is not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Self {
            status,
            body,
            headers,
        }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A registered user's tokens.
pub struct Session {
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
    /// The user's id.
    pub user_id: i64,
}

impl TestApp {
    /// `METHOD path` with an optional JSON body and bearer token.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// A raw request, for bodies and headers the JSON helper cannot send.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// `GET path` with a token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, None, Some(token)).await
    }

    /// `POST path` with a JSON body and no token.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request("POST", path, Some(body), None).await
    }

    /// Registers a user with a strong password and returns its session.
    pub async fn register(&self, name: &str, email: &str) -> Session {
        let reply = self
            .post(
                "/api/auth/register/",
                json!({"name": name, "email": email, "password": STRONG_PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, 201, "register: {}", reply.body);
        Session {
            access: reply.body["tokens"]["access"]
                .as_str()
                .expect("access")
                .to_owned(),
            refresh: reply.body["tokens"]["refresh"]
                .as_str()
                .expect("refresh")
                .to_owned(),
            user_id: reply.body["user"]["id"].as_i64().expect("id"),
        }
    }
}

/// The TOTP secret [`enrol_second_factor`] gives every user.
pub fn test_totp_secret() -> healthcare_domain::staff::TotpSecret {
    healthcare_domain::staff::TotpSecret::from_bytes(vec![7; 20]).expect("long enough")
}

impl TestApp {
    /// Enrols [`test_totp_secret`] as `user`'s second factor straight in the database, as the
    /// admin site's first sign-in leaves it (the step before the current one already used).
    pub async fn enrol_second_factor(&self, user: i64) {
        use healthcare_core::ports::SecondFactorRepository;
        let pool = direct_pool(&self.settings.database, &self.settings.audit_key.key);
        actix_web::rt::task::spawn_blocking(move || {
            let factors = healthcare_persistence::DieselSecondFactorRepository::new(pool);
            let (user, now) = (healthcare_domain::UserId(user), chrono::Utc::now());
            let secret = test_totp_secret();
            assert!(
                factors
                    .start_enrolment(user, &secret, "test", now)
                    .expect("started")
            );
            let audit = healthcare_domain::audit::AuditEvent {
                at: now,
                actor: Some(user),
                action: healthcare_domain::audit::AuditAction::UserUpdate,
                resource_id: Some(user.0),
                patient_id: None,
                outcome: healthcare_domain::audit::AuditOutcome::Success,
                origin: healthcare_domain::audit::RequestOrigin::default(),
                break_glass: false,
            };
            let step = now.timestamp() / 30 - 1;
            assert!(
                factors
                    .confirm_enrolment(user, "test", step, &[], now, &audit)
                    .expect("confirmed")
            );
        })
        .await
        .expect("joined");
    }

    /// `POST /api/auth/second-factor/` with the current code of [`test_totp_secret`] (as
    /// request `request_id`): the session's new, two-factor tokens.
    pub async fn confirm_second_factor(&self, session: &Session, request_id: &str) -> Session {
        let code = test_totp_secret().code_at(chrono::Utc::now());
        let reply = self
            .send(
                self.client
                    .post(format!("{}/api/auth/second-factor/", self.address))
                    .header("X-Request-Id", request_id)
                    .bearer_auth(&session.access)
                    .json(&json!({"code": code})),
            )
            .await;
        assert_eq!(reply.status, 200, "second factor: {}", reply.body);
        Session {
            access: reply.body["access"].as_str().expect("access").to_owned(),
            refresh: reply.body["refresh"].as_str().expect("refresh").to_owned(),
            user_id: session.user_id,
        }
    }
}

/// A password that passes every rule.
pub const STRONG_PASSWORD: &str = "vivid-otter-41-harbour";

/// Declares each listed `async fn name(app: TestApp)` as two tests, one per backend; with
/// `settings: [(NAME, value), …];` first, the servers run with those settings.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        on_both_backends!(settings: &[]; $($name),*);
    };
    (settings: $settings:expr; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    let app = $crate::common::spawn_app_with($crate::common::Backend::Sqlite, $settings)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn_app_with($crate::common::Backend::Postgres, $settings).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// A valid patient body.
pub fn patient_body(name: &str) -> Value {
    json!({"name": name, "age": 45, "gender": "F", "phone": "555-0100", "email": "jane@example.com",
           "address": "1 Main St", "medical_history": "Asthma"})
}

/// A valid doctor body.
pub fn doctor_body(name: &str, specialization: &str) -> Value {
    json!({"name": name, "specialization": specialization, "phone": "555-0199", "email": "doc@clinic.org",
           "experience_years": 12, "qualification": "MD", "consultation_fee": "150.00"})
}

impl TestApp {
    /// Creates a patient as `session` and returns its id.
    pub async fn create_patient(&self, session: &Session, name: &str) -> i64 {
        let reply = self
            .request(
                "POST",
                "/api/patients/",
                Some(patient_body(name)),
                Some(&session.access),
            )
            .await;
        assert_eq!(reply.status, 201, "create patient: {}", reply.body);
        reply.body["id"].as_i64().expect("id")
    }

    /// Creates a doctor as `session` and returns its id.
    pub async fn create_doctor(&self, session: &Session, name: &str, specialization: &str) -> i64 {
        let reply = self
            .request(
                "POST",
                "/api/doctors/",
                Some(doctor_body(name, specialization)),
                Some(&session.access),
            )
            .await;
        assert_eq!(reply.status, 201, "create doctor: {}", reply.body);
        reply.body["id"].as_i64().expect("id")
    }

    /// Creates a shared clinic as `session` (its admin) and returns its id.
    pub async fn create_clinic(&self, session: &Session, name: &str) -> i64 {
        let reply = self
            .request(
                "POST",
                "/api/clinics/",
                Some(json!({"name": name})),
                Some(&session.access),
            )
            .await;
        assert_eq!(reply.status, 201, "create clinic: {}", reply.body);
        reply.body["id"].as_i64().expect("id")
    }

    /// `admin` invites `member` (registered as `email`) to `clinic` with `role`, and `member`
    /// accepts.
    pub async fn join_clinic(
        &self,
        admin: &Session,
        clinic: i64,
        member: &Session,
        email: &str,
        role: &str,
    ) {
        let invited = self
            .request(
                "POST",
                &format!("/api/clinics/{clinic}/invitations/"),
                Some(json!({"email": email, "role": role})),
                Some(&admin.access),
            )
            .await;
        assert_eq!(invited.status, 201, "invite: {}", invited.body);
        let joined = self
            .request(
                "POST",
                "/api/invitations/accept/",
                Some(json!({"token": invited.body["token"]})),
                Some(&member.access),
            )
            .await;
        assert_eq!(joined.status, 200, "accept: {}", joined.body);
    }

    /// Assigns a doctor to a patient as `session` and returns the mapping id.
    pub async fn assign(&self, session: &Session, patient: i64, doctor: i64) -> i64 {
        let body = json!({"patient": patient, "doctor": doctor});
        let reply = self
            .request("POST", "/api/mappings/", Some(body), Some(&session.access))
            .await;
        assert_eq!(reply.status, 201, "assign: {}", reply.body);
        reply.body["id"].as_i64().expect("id")
    }
}

pub mod process;

/// Documents written to `FHIR_CAPTURE_DIR` so far by this process (for unique names).
static FHIR_CAPTURED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl TestApp {
    /// `GET /fhir/R4/{path}` (or `POST` with `form` as an `application/x-www-form-urlencoded`
    /// body): every response must be `application/fhir+json`, and each is written to
    /// `FHIR_CAPTURE_DIR` when set, for CI to validate against the FHIR R4 schema and profiles.
    pub async fn fhir(&self, path: &str, form: Option<&str>, token: Option<&str>) -> Reply {
        let url = format!("{}/fhir/R4/{path}", self.address);
        let mut request = match form {
            None => self.client.get(url),
            Some(form) => self
                .client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.to_owned()),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = self.send(request).await;
        assert_eq!(
            reply.header("content-type"),
            Some("application/fhir+json"),
            "{path}: {}",
            reply.body
        );
        if let Some(folder) = std::env::var_os("FHIR_CAPTURE_DIR") {
            let n = FHIR_CAPTURED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("{}-{n}.json", std::process::id());
            std::fs::create_dir_all(&folder).expect("capture folder");
            std::fs::write(
                std::path::Path::new(&folder).join(name),
                reply.body.to_string(),
            )
            .expect("captured");
        }
        reply
    }
}
