//! Hardening seen from outside: security headers on every response, the Host allow-list, CORS.

use crate::common::Backend;
use reqwest::header::{HOST, ORIGIN};
use serde_json::json;

fn header(reply: &reqwest::Response, name: &str) -> Option<String> {
    reply
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = crate::common::spawn_app_with(Backend::Sqlite, &[("BEHIND_TLS", "true")])
        .await
        .expect("sqlite");
    for (path, csp) in [
        ("/health/live", "default-src 'none'; frame-ancestors 'none'"),
        (
            "/api/patients/",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            "/no/such/route",
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        let reply = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            header(&reply, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header(&reply, "cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
        assert_eq!(
            header(&reply, "x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            header(&reply, "referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(
            header(&reply, "content-security-policy").as_deref(),
            Some(csp),
            "{path}"
        );
        assert!(
            header(&reply, "strict-transport-security").is_some_and(|v| v.starts_with("max-age=")),
            "{path}"
        );
    }
    let docs = app
        .client
        .get(format!("{}/redoc/", app.address))
        .send()
        .await
        .expect("sent");
    let csp = header(&docs, "content-security-policy").expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("http"),
        "{csp}"
    );
}

#[actix_web::test]
async fn hsts_only_behind_tls() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let reply = app
        .client
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(header(&reply, "strict-transport-security"), None);
}

#[actix_web::test]
async fn hosts_outside_allowed_hosts_are_refused() {
    let app = crate::common::spawn_app_with(
        Backend::Sqlite,
        &[("ALLOWED_HOSTS", "api.clinic.org,127.0.0.1,[::1]")],
    )
    .await
    .expect("sqlite");
    // The last ones would have been copied into pagination links that carry the bearer token
    // to evil.com.
    for host in ["evil.example", "[::1]@evil.com", "api.clinic.org@evil.com"] {
        let reply = app
            .client
            .get(format!("{}/health/live", app.address))
            .header(HOST, host)
            .send()
            .await
            .expect("sent");
        assert_eq!(reply.status().as_u16(), 400, "{host}");
        assert_eq!(header(&reply, "x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            reply.json::<serde_json::Value>().await.expect("json"),
            json!({"detail": "Invalid Host header."})
        );
    }
    let allowed = app
        .client
        .get(format!("{}/health/live", app.address))
        .header(HOST, "api.clinic.org")
        .send()
        .await
        .expect("sent");
    assert_eq!(allowed.status().as_u16(), 200);
}

#[actix_web::test]
async fn cors_is_off_unless_origins_are_listed() {
    let off = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let reply = off
        .client
        .get(format!("{}/health/live", off.address))
        .header(ORIGIN, "https://app.clinic.org")
        .send()
        .await
        .expect("sent");
    assert_eq!(header(&reply, "access-control-allow-origin"), None);

    let on = crate::common::spawn_app_with(
        Backend::Sqlite,
        &[("CORS_ALLOWED_ORIGINS", "https://app.clinic.org")],
    )
    .await
    .expect("sqlite");
    let preflight = on
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/patients/", on.address),
        )
        .header(ORIGIN, "https://app.clinic.org")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("sent");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("https://app.clinic.org")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-credentials"),
        None,
        "never credentials"
    );

    let foreign = on
        .client
        .get(format!("{}/health/live", on.address))
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .expect("sent");
    assert_ne!(
        header(&foreign, "access-control-allow-origin").as_deref(),
        Some("https://evil.example")
    );
    assert_ne!(
        header(&foreign, "access-control-allow-origin").as_deref(),
        Some("*")
    );
}
