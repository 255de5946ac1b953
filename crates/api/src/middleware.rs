//! Per-request telemetry: a request id (echoed in `X-Request-Id`), one log line per request
//! naming the route template (never the raw path or query string, which can hold patient
//! data), and a JSON 500 when a handler panics.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::errors::ApiError;
use crate::metrics::Metrics;
use healthcare_web::client::{REQUEST_ID, RequestId, from_trusted_proxy};
use healthcare_web::{WebConfig, tallying_queue_waits};

/// The request's id: a well-formed incoming id when a trusted proxy sent it (so the proxy's id
/// carries through), otherwise a new one. A client's own value is never taken: it would go
/// into the audit trail as if the server had assigned it.
fn request_id(incoming: Option<&HeaderValue>, from_trusted_proxy: bool) -> String {
    incoming
        .filter(|_| from_trusted_proxy)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The middleware function; install with `actix_web::middleware::from_fn(telemetry)`.
///
/// A panic becomes the contract's JSON 500 (returned as an error, which actix renders with the
/// same mapping as every other error); its cause goes to the log only.
pub async fn telemetry(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let trusted = request
        .app_data::<web::Data<WebConfig>>()
        .is_some_and(|config| from_trusted_proxy(request.request(), config));
    let id = request_id(request.headers().get(&REQUEST_ID), trusted);
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let span = tracing::info_span!("request", request_id = %id, %method);
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let handling = tallying_queue_waits(next.call(request));
    let outcome = AssertUnwindSafe(handling.instrument(span.clone()))
        .catch_unwind()
        .await;
    let log = |route: &str, status: u16| {
        if let Some(metrics) = &metrics {
            metrics.observe(
                route,
                method.as_str(),
                status,
                started.elapsed().as_secs_f64(),
            );
        }
        span.in_scope(|| {
            tracing::info!(
                route,
                status,
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request completed"
            );
        });
    };
    match outcome {
        Ok(Ok(mut response)) => {
            let route = response.request().match_pattern();
            log(
                route.as_deref().unwrap_or("<unmatched>"),
                response.status().as_u16(),
            );
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(response)
        }
        Ok(Err(error)) => {
            log(
                "<unmatched>",
                error.as_response_error().status_code().as_u16(),
            );
            Err(error)
        }
        Err(_) => {
            span.in_scope(|| tracing::error!("handler panicked"));
            log("<unmatched>", 500);
            Err(ApiError::Internal("handler panicked".into()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};

    #[actix_web::test]
    async fn a_panicking_handler_gives_the_json_500() {
        let app = test::init_service(App::new().wrap(from_fn(telemetry)).route(
            "/boom",
            web::get().to(|| async {
                if true {
                    panic!("boom: secret detail");
                }
                HttpResponse::Ok().finish()
            }),
        ))
        .await;
        let outcome =
            test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request()).await;
        let Err(error) = outcome else {
            panic!("the panic must become an error");
        };
        let response = error.error_response();
        assert_eq!(response.status().as_u16(), 500);
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("body");
        assert_eq!(&body[..], br#"{"detail":"Internal server error."}"#);
    }

    #[actix_web::test]
    async fn only_a_trusted_proxys_request_id_is_kept() {
        let incoming = HeaderValue::from_static("abc-1");
        assert_eq!(request_id(Some(&incoming), true), "abc-1");
        assert_ne!(request_id(Some(&incoming), false), "abc-1");
        let spoofed = HeaderValue::from_static("bad id; DROP");
        assert_ne!(request_id(Some(&spoofed), true), "bad id; DROP");
        assert_eq!(request_id(None, true).len(), 36, "a UUID");
    }

    #[actix_web::test]
    async fn responses_carry_the_request_id() {
        let app = test::init_service(App::new().wrap(from_fn(telemetry)).route(
            "/ok",
            web::get().to(|| async { HttpResponse::Ok().finish() }),
        ))
        .await;
        let request = test::TestRequest::get()
            .uri("/ok")
            .insert_header(("X-Request-Id", "abc-1"))
            .to_request();
        let response = test::call_service(&app, request).await;
        let id = response
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .expect("an id");
        assert_ne!(id, "abc-1", "no trusted proxy: the server's own id");
        assert_eq!(id.len(), 36);
    }
}
