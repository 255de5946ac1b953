//! Prometheus metrics: requests by route template, method and status; latency; database pool
//! use and errors; the audit queue. One registry per application, rendered in the text format
//! at `/metrics`.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::state::{AuditQueueProbe, DatabaseProbe};

/// The metrics of one running application.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    database_errors: IntCounter,
    database: Arc<dyn DatabaseProbe>,
    audit_queued: IntGauge,
    audit_written: IntCounter,
    audit_refused: IntCounter,
    audit: Arc<dyn AuditQueueProbe>,
}

/// Latency buckets in seconds, from 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

impl Metrics {
    /// Registers every metric; `database` reports the pool and the error count, and `audit`
    /// the audit queue, at scrape time.
    pub fn new(
        database: Arc<dyn DatabaseProbe>,
        audit: Arc<dyn AuditQueueProbe>,
    ) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route template, method and status.",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request to response, by route template and method.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let pool_in_use = IntGauge::new(
            "db_pool_connections_in_use",
            "Database connections checked out of the pool.",
        )?;
        let pool_idle = IntGauge::new(
            "db_pool_connections_idle",
            "Open database connections waiting in the pool.",
        )?;
        let database_errors = IntCounter::new(
            "db_errors_total",
            "Database failures: unreachable server, pool timeouts and unexpected query errors.",
        )?;
        let audit_queued =
            IntGauge::new("audit_queue_events", "Audit events waiting to be written.")?;
        let audit_written = IntCounter::new(
            "audit_events_written_total",
            "Audit events the background writers stored.",
        )?;
        let audit_refused = IntCounter::new(
            "audit_events_refused_total",
            "Requests answered 503 because their audit event could not be queued in time.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(database_errors.clone()))?;
        registry.register(Box::new(audit_queued.clone()))?;
        registry.register(Box::new(audit_written.clone()))?;
        registry.register(Box::new(audit_refused.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool_in_use,
            pool_idle,
            database_errors,
            database,
            audit_queued,
            audit_written,
            audit_refused,
            audit,
        })
    }

    /// Records one finished request. `route` is the template (bounded cardinality), never
    /// the raw path.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
            _ => "OTHER",
        };
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// The text exposition of every metric, with the database figures read now.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let (in_use, idle) = self.database.pool_state();
        self.pool_in_use.set(in_use.into());
        self.pool_idle.set(idle.into());
        // Mirror the adapters' monotonic counts into the counters.
        for (counter, total) in [
            (&self.database_errors, self.database.error_count()),
            (&self.audit_written, self.audit.written()),
            (&self.audit_refused, self.audit.refused()),
        ] {
            if total > counter.get() {
                counter.inc_by(total - counter.get());
            }
        }
        self.audit_queued
            .set(i64::try_from(self.audit.queued()).unwrap_or(i64::MAX));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// `GET /metrics`: Prometheus text format, no authentication.
pub async fn metrics_endpoint(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(error) => {
            tracing::error!(%error, "cannot render metrics");
            HttpResponse::InternalServerError()
                .json(serde_json::json!({"detail": "Internal server error."}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthcare_core::RepoError;

    struct FakeDatabase;

    impl DatabaseProbe for FakeDatabase {
        fn ping(&self) -> Result<(), RepoError> {
            Ok(())
        }

        fn pool_state(&self) -> (u32, u32) {
            (3, 2)
        }

        fn error_count(&self) -> u64 {
            7
        }
    }

    struct FakeAuditQueue;

    impl AuditQueueProbe for FakeAuditQueue {
        fn queued(&self) -> u64 {
            12
        }

        fn written(&self) -> u64 {
            3_400
        }

        fn refused(&self) -> u64 {
            5
        }
    }

    #[test]
    fn renders_requests_latency_database_and_audit_queue_figures() {
        let metrics =
            Metrics::new(Arc::new(FakeDatabase), Arc::new(FakeAuditQueue)).expect("registered");
        metrics.observe("/api/patients/{id}", "GET", 200, 0.003);
        metrics.observe("/api/patients/{id}", "GET", 200, 0.004);
        metrics.observe("<unmatched>", "BREW", 404, 0.001);
        let text = metrics.render().expect("rendered");
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/api/patients/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"http_requests_total{method="OTHER",route="<unmatched>",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"http_request_duration_seconds_count{method="GET",route="/api/patients/{id}"} 2"#
        ));
        assert!(text.contains("db_pool_connections_in_use 3"));
        assert!(text.contains("db_pool_connections_idle 2"));
        assert!(text.contains("db_errors_total 7"));
        assert!(text.contains("audit_queue_events 12"), "{text}");
        assert!(text.contains("audit_events_written_total 3400"), "{text}");
        assert!(text.contains("audit_events_refused_total 5"), "{text}");
        let again = metrics.render().expect("rendered");
        assert!(
            again.contains("db_errors_total 7") && again.contains("audit_events_refused_total 5"),
            "mirrored, not added twice"
        );
    }
}
