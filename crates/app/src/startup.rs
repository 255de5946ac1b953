//! Builds the running server from the settings: pool, migrations, services, listener.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, HttpServer, web};
use healthcare_http::handlers::fallback::route_not_found;
use healthcare_http::middleware::telemetry;
use healthcare_http::{ApiConfig, AppState};
use healthcare_persistence::{StatementCounter, migrations};

use crate::settings::Settings;
use crate::wiring::{PoolProbe, auth_service, database_pool, record_services};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be prepared (unreachable, migrations failed).
    #[error("database: {0}")]
    Database(#[from] healthcare_ports::RepoError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A bound, running server.
pub struct Application {
    port: u16,
    server: Server,
    statements: StatementCounter,
}

impl Application {
    /// Prepares the database, binds the listener (port 0 picks a free port, as tests do) and
    /// starts the workers.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let statements = StatementCounter::default();
        let pool = database_pool(&settings, statements.clone())?;
        tracing::info!(database = %settings.database.describe(), "database selected");
        if settings.run_migrations {
            let migrating = pool.clone();
            let applied = web::block(move || migrations::run_pending(&migrating))
                .await
                .map_err(|e| healthcare_ports::RepoError::Internal(e.to_string()))??;
            for version in applied {
                tracing::info!(%version, "migration applied");
            }
        }
        if settings.secret_key.generated {
            tracing::warn!(
                "SECRET_KEY is not set: using a random key, so tokens will not survive a restart"
            );
        }
        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .port();
        let (patients, doctors, mappings) = record_services(&pool);
        let state = web::Data::new(AppState {
            auth: auth_service(&settings, &pool),
            patients,
            doctors,
            mappings,
            database: std::sync::Arc::new(PoolProbe(pool)),
            config: ApiConfig {
                max_body_bytes: settings.max_body_bytes,
                trusted_proxies: settings.trusted_proxies.clone(),
            },
        });
        let max_body_bytes = settings.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body_bytes))
                .configure(healthcare_http::configure)
                .default_service(web::to(route_not_found))
                .wrap(from_fn(telemetry))
                // Outermost: routes match with and without the trailing slash, no redirect.
                .wrap(NormalizePath::new(TrailingSlash::Trim))
        })
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?
        .run();
        tracing::info!(%address, port, "listening");
        Ok(Self {
            port,
            server,
            statements,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Counts the SQL statements the server's connections run (for tests and diagnostics).
    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
