//! Typed settings: `config/default.toml` (embedded) → `config/<APP_ENV>.toml` → environment
//! variables. Bad configuration fails at start with one clear sentence, never a panic.

use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use healthcare_domain::audit::{ChainKey, MIN_KEY_BYTES};
use healthcare_domain::staff::SessionPolicy;
use healthcare_domain::throttle::{AddressRateLimit, LoginThrottle};
use healthcare_persistence::DatabaseTarget;
use serde::Deserialize;

use checks::{
    check_audit_key, check_production_secret, parse_networks, parse_origins, random_secret,
    split_list,
};

mod checks;

const DEFAULTS: &str = include_str!("../../../../config/default.toml");

/// Secrets that appear in documentation or examples and must never protect production.
const KNOWN_DEFAULT_SECRETS: [&str; 6] = [
    "change-me",
    "changeme",
    "secret",
    "your-secret-key",
    "django-insecure",
    "dev-secret-key",
];

/// Shortest accepted `SECRET_KEY`, in bytes, when `DEBUG` is off.
pub const MIN_SECRET_BYTES: usize = 32;

/// Where the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// A developer's machine: debug on, pretty logs.
    Development,
    /// Real deployments: debug forced off, JSON logs.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The settings as read, before validation.
#[derive(Deserialize)]
struct RawSettings {
    app_env: AppEnv,
    debug: Option<bool>,
    secret_key: Option<String>,
    database_url: String,
    host: String,
    port: u16,
    allowed_hosts: String,
    cors_allowed_origins: String,
    trusted_proxies: String,
    access_token_lifetime_seconds: u64,
    refresh_token_lifetime_seconds: u64,
    bcrypt_cost: u32,
    max_body_bytes: usize,
    body_read_timeout_seconds: u64,
    database_pool_size: u32,
    database_pool_timeout_seconds: f64,
    run_migrations: bool,
    shutdown_timeout_seconds: u64,
    log_format: Option<LogFormat>,
    metrics_address: String,
    behind_tls: bool,
    tls_cert_file: String,
    tls_key_file: String,
    throttle_login_failures: u32,
    throttle_login_failures_per_email: u32,
    throttle_login_window_seconds: u64,
    throttle_auth_per_address_per_minute: u32,
    audit_hmac_key: Option<String>,
    audit_reads: bool,
    admin_session_idle_minutes: u32,
    break_glass_minutes: u32,
}

/// The JWT signing key, and whether it was generated for this run only.
#[derive(Clone)]
pub struct SecretKey {
    /// The key bytes.
    pub value: String,
    /// True when no key was configured and a random one was made (development only).
    pub generated: bool,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// The key of the audit chain used in development when `AUDIT_HMAC_KEY` is not set: fixed, so
/// a development database stays verifiable across restarts; refused when `DEBUG` is off.
const DEVELOPMENT_AUDIT_KEY: &str = "development-only audit chain key; never in production";

/// The audit chain key, and whether it is the development default.
#[derive(Debug, Clone)]
pub struct AuditKey {
    /// The key.
    pub key: ChainKey,
    /// True when no key was configured (development only).
    pub development_default: bool,
}

/// The PEM files the server terminates TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert_file: std::path::PathBuf,
    /// Private key.
    pub key_file: std::path::PathBuf,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Development or production.
    pub app_env: AppEnv,
    /// Debug mode (never in production).
    pub debug: bool,
    /// JWT signing key.
    pub secret_key: SecretKey,
    /// Which database, from `DATABASE_URL`.
    pub database: DatabaseTarget,
    /// Listen address.
    pub host: String,
    /// Listen port (0 picks a free one).
    pub port: u16,
    /// Host header allow-list.
    pub allowed_hosts: Vec<String>,
    /// Origins allowed by CORS (empty: CORS off).
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Access token lifetime.
    pub access_token_lifetime: Duration,
    /// Refresh token lifetime.
    pub refresh_token_lifetime: Duration,
    /// bcrypt cost factor.
    pub bcrypt_cost: u32,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Longest a request body may take to arrive.
    pub body_read_timeout: Duration,
    /// Most pooled database connections.
    pub database_pool_size: u32,
    /// How long a request waits for a connection before answering 503.
    pub database_pool_timeout: Duration,
    /// Apply pending migrations at start.
    pub run_migrations: bool,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Log line format.
    pub log_format: LogFormat,
    /// A separate `host:port` for `/metrics`; `None` serves it on the API listener.
    pub metrics_address: Option<String>,
    /// Clients reach the service over TLS terminated by a proxy: send HSTS.
    pub behind_tls: bool,
    /// Terminate TLS in the server with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// Failed logins per e-mail before further logins are refused for a while.
    pub login_throttle: LoginThrottle,
    /// Auth requests per client address and minute (0: no limit).
    pub auth_rate_limit: AddressRateLimit,
    /// Key of the audit trail's hash chain.
    pub audit_key: AuditKey,
    /// Record reads in the audit trail (always in production).
    pub audit_reads: bool,
    /// How long admin site sessions live.
    pub admin_sessions: SessionPolicy,
    /// Mark the admin session cookie `Secure` (TLS in the server or at a proxy).
    pub secure_cookies: bool,
    /// How long a break-glass grant lasts, in minutes.
    pub break_glass_minutes: u32,
}

/// Why the settings were refused: one sentence for the operator.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SettingsError(pub String);

fn error(message: impl Into<String>) -> SettingsError {
    SettingsError(message.into())
}

impl Settings {
    /// Reads the settings from the embedded defaults, `config/<APP_ENV>.toml` and the process
    /// environment.
    pub fn load() -> Result<Self, SettingsError> {
        let variables: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(&variables)
    }

    /// Reads the settings with `variables` standing in for the environment.
    pub fn load_from(variables: &[(String, String)]) -> Result<Self, SettingsError> {
        let app_env = variables
            .iter()
            .find(|(name, _)| name == "APP_ENV")
            .map_or("development", |(_, value)| value.as_str());
        let environment: config::Map<String, String> = variables.iter().cloned().collect();
        let raw: RawSettings = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::with_name(&format!("config/{app_env}")).required(false))
            .add_source(
                Environment::default()
                    .source(Some(environment))
                    .try_parsing(true),
            )
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| error(format!("invalid configuration: {e}")))?;
        Self::validate(raw)
    }

    fn validate(raw: RawSettings) -> Result<Self, SettingsError> {
        let production = raw.app_env == AppEnv::Production;
        let debug = !production && raw.debug.unwrap_or(true);
        let secret_key = match raw.secret_key.filter(|key| !key.is_empty()) {
            Some(key) if !debug => {
                check_production_secret(&key)?;
                SecretKey {
                    value: key,
                    generated: false,
                }
            }
            Some(key) => SecretKey {
                value: key,
                generated: false,
            },
            None if debug => SecretKey {
                value: random_secret()?,
                generated: true,
            },
            None => {
                return Err(error(format!(
                    "SECRET_KEY must be set (at least {MIN_SECRET_BYTES} random bytes) when DEBUG is off"
                )));
            }
        };
        let audit_key = match raw.audit_hmac_key.filter(|key| !key.is_empty()) {
            Some(key) if !debug => {
                check_audit_key(&key, &secret_key.value)?;
                AuditKey {
                    key: ChainKey::new(key),
                    development_default: false,
                }
            }
            Some(key) => AuditKey {
                key: ChainKey::new(key),
                development_default: false,
            },
            None if debug => AuditKey {
                key: ChainKey::new(DEVELOPMENT_AUDIT_KEY),
                development_default: true,
            },
            None => {
                return Err(error(format!(
                    "AUDIT_HMAC_KEY must be set (at least {MIN_KEY_BYTES} random bytes, kept outside the database) when DEBUG is off"
                )));
            }
        };
        if production && !raw.audit_reads {
            return Err(error(
                "AUDIT_READS=false is for measurements only: production records every read",
            ));
        }
        let tls = match (raw.tls_cert_file.trim(), raw.tls_key_file.trim()) {
            ("", "") => None,
            ("", _) | (_, "") => {
                return Err(error("TLS_CERT_FILE and TLS_KEY_FILE must be set together"));
            }
            (cert, key) => Some(TlsFiles {
                cert_file: cert.into(),
                key_file: key.into(),
            }),
        };
        if production && !raw.behind_tls && tls.is_none() {
            return Err(error(
                "APP_ENV=production needs TLS: set TLS_CERT_FILE and TLS_KEY_FILE, or BEHIND_TLS=true when a proxy terminates it",
            ));
        }
        let database =
            DatabaseTarget::parse(&raw.database_url).map_err(|e| error(e.to_string()))?;
        if !(4..=31).contains(&raw.bcrypt_cost) {
            return Err(error("BCRYPT_COST must be between 4 and 31"));
        }
        if raw.database_pool_size == 0 {
            return Err(error("DATABASE_POOL_SIZE must be at least 1"));
        }
        if !(raw.database_pool_timeout_seconds.is_finite()
            && raw.database_pool_timeout_seconds > 0.0)
        {
            return Err(error(
                "DATABASE_POOL_TIMEOUT_SECONDS must be a positive number",
            ));
        }
        if raw.access_token_lifetime_seconds == 0 || raw.refresh_token_lifetime_seconds == 0 {
            return Err(error("token lifetimes must be at least one second"));
        }
        if raw.throttle_login_failures == 0 || raw.throttle_login_window_seconds == 0 {
            return Err(error(
                "THROTTLE_LOGIN_FAILURES and THROTTLE_LOGIN_WINDOW_SECONDS must be at least 1",
            ));
        }
        if !(1..=24 * 60).contains(&raw.admin_session_idle_minutes) {
            return Err(error(
                "ADMIN_SESSION_IDLE_MINUTES must be between 1 and 1440",
            ));
        }
        if !(1..=24 * 60).contains(&raw.break_glass_minutes) {
            return Err(error("BREAK_GLASS_MINUTES must be between 1 and 1440"));
        }
        if raw.max_body_bytes == 0 {
            return Err(error("MAX_BODY_BYTES must be at least 1"));
        }
        if raw.body_read_timeout_seconds == 0 {
            return Err(error("BODY_READ_TIMEOUT_SECONDS must be at least 1"));
        }
        let secure_cookies = raw.behind_tls || tls.is_some();
        Ok(Self {
            app_env: raw.app_env,
            debug,
            secret_key,
            database,
            host: raw.host,
            port: raw.port,
            allowed_hosts: split_list(&raw.allowed_hosts),
            cors_allowed_origins: parse_origins(&raw.cors_allowed_origins)?,
            trusted_proxies: parse_networks(&raw.trusted_proxies)?,
            access_token_lifetime: Duration::from_secs(raw.access_token_lifetime_seconds),
            refresh_token_lifetime: Duration::from_secs(raw.refresh_token_lifetime_seconds),
            bcrypt_cost: raw.bcrypt_cost,
            max_body_bytes: raw.max_body_bytes,
            body_read_timeout: Duration::from_secs(raw.body_read_timeout_seconds),
            database_pool_size: raw.database_pool_size,
            database_pool_timeout: Duration::from_secs_f64(raw.database_pool_timeout_seconds),
            run_migrations: raw.run_migrations,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_seconds),
            behind_tls: raw.behind_tls,
            tls,
            login_throttle: LoginThrottle {
                max_failures: raw.throttle_login_failures,
                // Raising the per-address limit raises the per-account ceiling with it.
                max_failures_per_email: raw
                    .throttle_login_failures_per_email
                    .max(raw.throttle_login_failures),
                window: chrono::Duration::seconds(
                    i64::try_from(raw.throttle_login_window_seconds).unwrap_or(i64::MAX / 1000),
                ),
            },
            auth_rate_limit: AddressRateLimit {
                per_minute: raw.throttle_auth_per_address_per_minute,
            },
            audit_key,
            audit_reads: raw.audit_reads,
            admin_sessions: SessionPolicy {
                idle_timeout: chrono::Duration::minutes(i64::from(raw.admin_session_idle_minutes)),
                ..SessionPolicy::default()
            },
            secure_cookies,
            break_glass_minutes: raw.break_glass_minutes,
            metrics_address: Some(raw.metrics_address.trim().to_owned()).filter(|a| !a.is_empty()),
            log_format: raw.log_format.unwrap_or(if production {
                LogFormat::Json
            } else {
                LogFormat::Pretty
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let variables: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(&variables)
    }

    const STRONG: &str = "k3J9vQ2mX7pL4rT8wY1zB6nC5dF0gH2j";
    const AUDIT_KEY: &str = "Zq8wE3rT6yU1iO4pA7sD0fG2hJ5kL9xC";

    #[test]
    fn development_runs_with_nothing_configured() {
        let settings = load(&[]).expect("defaults are valid");
        assert!(settings.debug && settings.secret_key.generated);
        assert_eq!(settings.secret_key.value.len(), 64);
        assert_eq!(
            settings.database,
            DatabaseTarget::Sqlite("data/healthcare.db".into())
        );
        assert_eq!((settings.host.as_str(), settings.port), ("127.0.0.1", 8000));
        assert_eq!(settings.allowed_hosts, vec!["localhost", "127.0.0.1"]);
        assert_eq!(settings.bcrypt_cost, 12);
        assert_eq!(settings.database_pool_timeout, Duration::from_secs(2));
        assert_eq!(settings.log_format, LogFormat::Pretty);
    }

    #[test]
    fn admin_sessions_idle_timeout_and_secure_cookies_follow_the_settings() {
        let defaults = load(&[]).expect("defaults are valid");
        assert_eq!(
            defaults.admin_sessions.idle_timeout,
            chrono::Duration::minutes(15)
        );
        assert!(!defaults.secure_cookies, "plain HTTP in development");
        let set =
            load(&[("ADMIN_SESSION_IDLE_MINUTES", "5"), ("BEHIND_TLS", "true")]).expect("valid");
        assert_eq!(
            set.admin_sessions.idle_timeout,
            chrono::Duration::minutes(5)
        );
        assert!(set.secure_cookies, "TLS at a proxy: Secure cookies");
        for bad in ["0", "1441", "-3", "soon"] {
            assert!(
                load(&[("ADMIN_SESSION_IDLE_MINUTES", bad)]).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn break_glass_grants_last_the_configured_minutes() {
        assert_eq!(load(&[]).expect("defaults").break_glass_minutes, 60);
        let set = load(&[("BREAK_GLASS_MINUTES", "15")]).expect("valid");
        assert_eq!(set.break_glass_minutes, 15);
        for bad in ["0", "1441", "-1", "an hour"] {
            assert!(
                load(&[("BREAK_GLASS_MINUTES", bad)]).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn environment_variables_override_the_defaults() {
        let settings = load(&[
            ("DATABASE_URL", "postgres://u@h/db"),
            ("PORT", "9001"),
            ("BCRYPT_COST", "4"),
            ("ALLOWED_HOSTS", "api.example.com, localhost"),
            ("DATABASE_POOL_TIMEOUT_SECONDS", "0.5"),
            ("RUN_MIGRATIONS", "false"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ])
        .expect("valid");
        assert_eq!(settings.port, 9001);
        assert_eq!(settings.bcrypt_cost, 4);
        assert!(matches!(settings.database, DatabaseTarget::Postgres(_)));
        assert_eq!(settings.allowed_hosts, vec!["api.example.com", "localhost"]);
        assert_eq!(settings.database_pool_timeout, Duration::from_millis(500));
        assert!(!settings.run_migrations);
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert!(load(&[("TRUSTED_PROXIES", "not-a-network")]).is_err());
        for bad in [
            "*",
            "https://*.clinic.org",
            "app.clinic.org",
            "https://app.clinic.org/path",
        ] {
            assert!(load(&[("CORS_ALLOWED_ORIGINS", bad)]).is_err(), "{bad}");
        }
        let settings = load(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.clinic.org, http://localhost:3000",
        )])
        .expect("valid");
        assert_eq!(
            settings.cors_allowed_origins,
            vec!["https://app.clinic.org", "http://localhost:3000"]
        );
    }

    #[test]
    fn production_forces_debug_off_and_demands_a_strong_key() {
        assert_eq!(
            load(&[("APP_ENV", "production"), ("DEBUG", "true")]).err(),
            Some(error(
                "SECRET_KEY must be set (at least 32 random bytes) when DEBUG is off"
            ))
        );
        assert_eq!(
            load(&[("APP_ENV", "production"), ("SECRET_KEY", "short")]).err(),
            Some(error(
                "SECRET_KEY is too short: it must be at least 32 bytes when DEBUG is off"
            ))
        );
        assert_eq!(
            load(&[
                ("DEBUG", "false"),
                ("SECRET_KEY", "django-insecure-0123456789abcdefghijklmnop")
            ])
            .err(),
            Some(error(
                "SECRET_KEY is a known example value: generate a random one"
            ))
        );
        let settings = load(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", STRONG),
            ("AUDIT_HMAC_KEY", AUDIT_KEY),
            ("BEHIND_TLS", "true"),
        ])
        .expect("valid");
        assert!(!settings.debug && !settings.secret_key.generated);
        assert_eq!(settings.log_format, LogFormat::Json);
    }

    #[test]
    fn tls_files_come_in_pairs_and_satisfy_production() {
        assert_eq!(
            load(&[("TLS_CERT_FILE", "/etc/tls/cert.pem")]).err(),
            Some(error("TLS_CERT_FILE and TLS_KEY_FILE must be set together"))
        );
        let settings = load(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", STRONG),
            ("AUDIT_HMAC_KEY", AUDIT_KEY),
            ("TLS_CERT_FILE", "/etc/tls/cert.pem"),
            ("TLS_KEY_FILE", "/etc/tls/key.pem"),
        ])
        .expect("valid");
        assert_eq!(
            settings.tls,
            Some(TlsFiles {
                cert_file: "/etc/tls/cert.pem".into(),
                key_file: "/etc/tls/key.pem".into()
            })
        );
    }

    #[test]
    fn production_refuses_to_start_without_tls() {
        assert_eq!(
            load(&[
                ("APP_ENV", "production"),
                ("SECRET_KEY", STRONG),
                ("AUDIT_HMAC_KEY", AUDIT_KEY)
            ])
            .err(),
            Some(error(
                "APP_ENV=production needs TLS: set TLS_CERT_FILE and TLS_KEY_FILE, or BEHIND_TLS=true when a proxy terminates it"
            ))
        );
    }

    #[test]
    fn bad_values_fail_with_a_sentence_not_a_panic() {
        let bad_url = load(&[("DATABASE_URL", "mysql://x")]).expect_err("refused");
        assert!(
            bad_url.0.starts_with("DATABASE_URL must start with"),
            "{bad_url}"
        );
        let bad_port = load(&[("PORT", "eighty")]).expect_err("refused");
        assert!(bad_port.0.contains("port"), "{bad_port}");
        assert!(load(&[("APP_ENV", "staging")]).is_err());
        assert!(load(&[("BCRYPT_COST", "3")]).is_err());
        assert!(load(&[("DATABASE_POOL_SIZE", "0")]).is_err());
    }

    #[test]
    fn production_demands_a_separate_strong_audit_key_and_every_read_recorded() {
        let production = [
            ("APP_ENV", "production"),
            ("SECRET_KEY", STRONG),
            ("BEHIND_TLS", "true"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = production.to_vec();
            pairs.extend_from_slice(extra);
            load(&pairs).err()
        };
        assert_eq!(
            with(&[]),
            Some(error(
                "AUDIT_HMAC_KEY must be set (at least 32 random bytes, kept outside the database) when DEBUG is off"
            ))
        );
        assert_eq!(
            with(&[("AUDIT_HMAC_KEY", "short")]),
            Some(error(
                "AUDIT_HMAC_KEY is too short: it must be at least 32 bytes when DEBUG is off"
            ))
        );
        assert_eq!(
            with(&[("AUDIT_HMAC_KEY", STRONG)]),
            Some(error(
                "AUDIT_HMAC_KEY must differ from SECRET_KEY: the audit key must not sign tokens"
            ))
        );
        assert_eq!(
            with(&[("AUDIT_HMAC_KEY", DEVELOPMENT_AUDIT_KEY)]),
            Some(error(
                "AUDIT_HMAC_KEY is a known example value: generate a random one"
            ))
        );
        assert_eq!(
            with(&[("AUDIT_HMAC_KEY", AUDIT_KEY), ("AUDIT_READS", "false")]),
            Some(error(
                "AUDIT_READS=false is for measurements only: production records every read"
            ))
        );
        assert_eq!(with(&[("AUDIT_HMAC_KEY", AUDIT_KEY)]), None);
        let development = load(&[]).expect("defaults are valid");
        assert!(development.audit_key.development_default && development.audit_reads);
        let unaudited_reads = load(&[("AUDIT_READS", "false")]).expect("valid in development");
        assert!(!unaudited_reads.audit_reads);
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let settings =
            load(&[("SECRET_KEY", STRONG), ("AUDIT_HMAC_KEY", AUDIT_KEY)]).expect("valid");
        let printed = format!("{settings:?}");
        assert!(!printed.contains(STRONG) && !printed.contains(AUDIT_KEY));
    }
}
