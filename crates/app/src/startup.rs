//! Builds the running server from the settings: pool, migrations, services, listeners.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use healthcare_admin_site::{SiteState, configure_admin};
use healthcare_fhir::{FhirState, configure_fhir};
use healthcare_json_api::AppState;
use healthcare_json_api::handlers::fallback::route_not_found;
use healthcare_json_api::metrics::Metrics;
use healthcare_json_api::middleware::telemetry;
use healthcare_json_api::openapi::ApiDocument;
use healthcare_json_api::routes::{configure_app, configure_metrics};
use healthcare_json_api::security::{SecurityPolicy, cors, security};
use healthcare_persistence::{DatabaseTarget, StatementCounter, connection, migrations};
use healthcare_web::WebConfig;

use crate::audit::AuditWorkers;
use crate::memory;
use crate::settings::Settings;
use crate::tls;
use crate::wiring::{PoolProbe, audit_workers, database_pool, services};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be prepared (unreachable, migrations failed).
    #[error("database: {0}")]
    Database(#[from] healthcare_core::RepoError),
    /// A listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be used.
    #[error("{0}")]
    Tls(String),
    /// The metrics registry could not be built (a bug).
    #[error("metrics: {0}")]
    Metrics(String),
}

/// A bound, running server.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    statements: StatementCounter,
    audit: AuditWorkers,
}

/// The API server's threads: one async worker per CPU, and per worker a share of the
/// database pool's size in blocking threads, so that about one thread runs a use case per
/// pooled connection. Unbounded (actix's default: 512 in all), 64 busy connections kept 64
/// threads waiting on 10 database connections: the queue on the pool's lock and the wake-ups
/// cost more than the work (PostgreSQL S2 12,219 -> 18,562 req/s at 5 threads per worker,
/// docs/BENCHMARKS.md). Password hashing has a pool of its own (`run_password_work`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RequestThreads {
    workers: usize,
    blocking_per_worker: usize,
}

impl RequestThreads {
    fn for_pool(database_pool_size: u32) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::split(workers, database_pool_size)
    }

    fn split(workers: usize, database_pool_size: u32) -> Self {
        let connections = usize::try_from(database_pool_size).unwrap_or(usize::MAX);
        Self {
            workers,
            blocking_per_worker: connections.div_ceil(workers).max(1),
        }
    }
}

fn bind(address: &str) -> Result<(TcpListener, u16), StartupError> {
    let failed = |source| StartupError::Bind {
        address: address.to_owned(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(failed)?;
    let port = listener.local_addr().map_err(failed)?.port();
    Ok((listener, port))
}

impl Application {
    /// Prepares the database, binds the listeners (port 0 picks a free port, as tests do) and
    /// starts the workers.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let statements = StatementCounter::default();
        let pool = database_pool(&settings, statements.clone())?;
        tracing::info!(database = %settings.database.describe(), "database selected");
        if settings.run_migrations {
            let migrating = pool.clone();
            let applied = web::block(move || migrations::run_pending(&migrating))
                .await
                .map_err(|e| healthcare_core::RepoError::Internal(e.to_string()))??;
            for version in applied {
                tracing::info!(%version, "migration applied");
            }
        }
        if matches!(settings.database, DatabaseTarget::Sqlite(_)) {
            let checking = pool.clone();
            let replans =
                web::block(move || connection::sqlite_replans_bound_statements(&checking)).await;
            if matches!(replans, Ok(Ok(true))) {
                tracing::warn!(
                    "this SQLite was built without SQLITE_ENABLE_QPSG (.cargo/config.toml sets it; a LIBSQLITE3_FLAGS variable replaces it): pages are planned again on every request"
                );
            }
        }
        if settings.secret_key.generated {
            tracing::warn!(
                "SECRET_KEY is not set: using a random key, so tokens will not survive a restart"
            );
        }
        if settings.audit_key.development_default {
            tracing::warn!(
                "AUDIT_HMAC_KEY is not set: the audit chain uses the development key, which production refuses"
            );
        }
        if !settings.audit_reads {
            tracing::warn!("AUDIT_READS=false: reads of patient data are not being recorded");
        }
        let audit = audit_workers(&settings)?;
        let trail = audit.trail();
        let probe = Arc::new(PoolProbe(pool.clone()));
        let metrics = Metrics::new(probe.clone(), audit.queue())
            .map_err(|e| StartupError::Metrics(e.to_string()))?;
        let metrics = web::Data::new(metrics);
        let services = services(&settings, &pool, trail);
        forget_idle_admin_sessions(services.staff_sign_in.clone());
        release_freed_memory_periodically();
        release_thread_memory_periodically();
        let config = WebConfig {
            max_body_bytes: settings.max_body_bytes,
            body_read_timeout: settings.body_read_timeout,
            trusted_proxies: settings.trusted_proxies.clone(),
        };
        // The admin site gets the staff services; the JSON API never sees them.
        let site = web::Data::new(SiteState {
            auth: services.auth.clone(),
            staff_sign_in: services.staff_sign_in,
            staff: services.staff,
            patients: services.patients.clone(),
            doctors: services.doctors.clone(),
            mappings: services.mappings.clone(),
            clinics: services.clinics.clone(),
            secure_cookies: settings.secure_cookies,
        });
        let fhir = web::Data::new(FhirState {
            auth: services.auth.clone(),
            patients: services.patients.clone(),
            doctors: services.doctors.clone(),
            mappings: services.mappings.clone(),
            clinics: services.clinics.clone(),
        });
        let state = web::Data::new(AppState {
            auth: services.auth,
            patients: services.patients,
            doctors: services.doctors,
            mappings: services.mappings,
            clinics: services.clinics,
            audit: services.audit,
            database: probe,
        });
        let config = web::Data::new(config);

        let address = format!("{}:{}", settings.host, settings.port);
        let (listener, port) = bind(&address)?;
        let max_body_bytes = settings.max_body_bytes;
        let metrics_on_api_listener = settings.metrics_address.is_none();
        let api_metrics = metrics.clone();
        let document = web::Data::new(ApiDocument::build(healthcare_json_api::configure));
        let policy = web::Data::new(SecurityPolicy {
            allowed_hosts: settings.allowed_hosts.clone(),
            hsts: settings.behind_tls || settings.tls.is_some(),
        });
        let cors_origins = settings.cors_allowed_origins.clone();
        let threads = RequestThreads::for_pool(settings.database_pool_size);
        let server = HttpServer::new(move || {
            release_thread_memory_periodically();
            App::new()
                .app_data(state.clone())
                .app_data(site.clone())
                .app_data(fhir.clone())
                .app_data(config.clone())
                .app_data(api_metrics.clone())
                .app_data(document.clone())
                .app_data(policy.clone())
                .app_data(web::PayloadConfig::new(max_body_bytes))
                .configure(configure_app)
                // The staff admin site: HTML pages, not part of the API's OpenAPI document.
                .configure(configure_admin)
                // FHIR R4: the same records for other healthcare systems, read-only.
                .configure(configure_fhir)
                .configure(|config| {
                    if metrics_on_api_listener {
                        configure_metrics(config);
                    }
                })
                .default_service(web::to(route_not_found))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(from_fn(security))
                // Outermost, so every request, refused ones too, is logged with its id.
                .wrap(from_fn(telemetry))
        })
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .workers(threads.workers)
        .worker_max_blocking_threads(threads.blocking_per_worker);
        let server = match &settings.tls {
            None => server.listen(listener),
            Some(files) => {
                let config = tls::server_config(&files.cert_file, &files.key_file)
                    .map_err(StartupError::Tls)?;
                server.listen_rustls_0_23(listener, config)
            }
        }
        .map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?
        .run();
        tracing::info!(%address, port, tls = settings.tls.is_some(), "listening");

        let (metrics_server, metrics_port) = match &settings.metrics_address {
            None => (None, None),
            Some(metrics_address) => {
                let (listener, metrics_port) = bind(metrics_address)?;
                let server = HttpServer::new(move || {
                    release_thread_memory_periodically();
                    App::new()
                        .app_data(metrics.clone())
                        .configure(configure_metrics)
                        .default_service(web::to(route_not_found))
                })
                .workers(1)
                .listen(listener)
                .map_err(|source| StartupError::Bind {
                    address: metrics_address.clone(),
                    source,
                })?
                .run();
                tracing::info!(address = %metrics_address, port = metrics_port, "metrics listening");
                (Some(server), Some(metrics_port))
            }
        };
        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
            statements,
            audit,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `METRICS_ADDRESS` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// Counts the SQL statements the server's connections run (for tests and diagnostics).
    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish, and stores and seals
    /// the audit rows still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = match self.metrics_server {
            Some(metrics_server) => futures_util::future::try_join(self.server, metrics_server)
                .await
                .map(drop),
            None => self.server.await,
        };
        let audit = self.audit;
        if web::block(move || audit.stop()).await.is_err() {
            tracing::error!("the audit trail could not be flushed at shutdown");
        }
        served
    }
}

/// Runs `task` on the calling actix thread `first_after` from now, then every `period`, and
/// never several times in a row after a stall.
fn every<F, Run>(first_after: std::time::Duration, period: std::time::Duration, mut task: F)
where
    F: FnMut() -> Run + 'static,
    Run: std::future::Future<Output = ()>,
{
    actix_web::rt::spawn(async move {
        let mut interval = actix_web::rt::time::interval_at(
            actix_web::rt::time::Instant::now() + first_after,
            period,
        );
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            task().await;
        }
    });
}

/// Gives the allocator's free pages back every [`memory::RELEASE_INTERVAL`], so a server that
/// served a burst does not keep its peak size while idle (on the blocking pool: the walk over
/// the arenas takes a few milliseconds). The first one a period from now: start-up's own is
/// the warm-up thread's.
fn release_freed_memory_periodically() {
    every(
        memory::RELEASE_INTERVAL,
        memory::RELEASE_INTERVAL,
        || async {
            if let Err(error) = web::block(memory::release_freed_memory).await {
                tracing::warn!(%error, "freed memory was not given back");
            }
        },
    );
}

/// Gives back the pages the calling actix thread (the system's, each worker's) freed: shortly
/// after it has built the server or its routes, then every [`memory::RELEASE_INTERVAL`].
/// mimalloc returns a thread's freed pages only when that thread allocates or collects, and an
/// idle thread does neither.
fn release_thread_memory_periodically() {
    every(
        std::time::Duration::from_millis(100),
        memory::RELEASE_INTERVAL,
        || async { memory::release_thread_memory() },
    );
}

/// How often sessions idle past the timeout are deleted (they are refused anyway; this only
/// keeps the table small).
const IDLE_SESSION_SWEEP: std::time::Duration = std::time::Duration::from_secs(300);

/// Deletes idle admin sessions at start and then every [`IDLE_SESSION_SWEEP`], on the
/// blocking pool.
fn forget_idle_admin_sessions(sign_in: healthcare_core::services::StaffSignIn) {
    every(std::time::Duration::ZERO, IDLE_SESSION_SWEEP, move || {
        let sweeping = sign_in.clone();
        async move {
            match web::block(move || sweeping.forget_idle_sessions()).await {
                Ok(Ok(0)) => {}
                Ok(Ok(count)) => tracing::debug!(count, "idle admin sessions forgotten"),
                Ok(Err(error)) => tracing::warn!(%error, "cannot forget idle admin sessions"),
                Err(error) => tracing::warn!(%error, "idle admin session sweep did not run"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::RequestThreads;

    #[test]
    fn each_worker_gets_its_share_of_the_database_connections_in_threads() {
        let threads = |workers, pool| RequestThreads::split(workers, pool).blocking_per_worker;
        assert_eq!(threads(2, 10), 5);
        assert_eq!(threads(4, 10), 3); // rounded up: no connection left without a thread
        assert_eq!(threads(1, 10), 10);
        assert_eq!(threads(8, 1), 1); // never a worker without a thread
    }
}
