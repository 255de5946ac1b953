//! Black-box tests of the contract's General rules: JSON everywhere, trailing slashes, content
//! types, body limits, unknown routes, wrong methods, health probes, request ids.

use crate::common::{Reply, TestApp};
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

on_both_backends!(
    unknown_routes_answer_json_404,
    wrong_methods_answer_json_405,
    routes_answer_with_and_without_trailing_slash,
    bodies_must_be_json,
    malformed_and_non_object_json_are_400,
    oversized_bodies_are_413,
    health_probes_answer,
    request_ids_are_echoed,
);

async fn unknown_routes_answer_json_404(app: TestApp) {
    for path in [
        "/nope",
        "/api/nope/",
        "/api/auth/",
        "/",
        "/api/auth/me/extra",
    ] {
        let reply = app.request("GET", path, None, None).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body, json!({"detail": "Not found."}), "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{path}"
        );
    }
}

async fn wrong_methods_answer_json_405(app: TestApp) {
    let reply = app.request("GET", "/api/auth/login/", None, None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.body, json!({"detail": "Method \"GET\" not allowed."}));
    assert_eq!(reply.header("allow"), Some("POST"));
    let reply = app.request("DELETE", "/api/auth/me", None, None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(
        reply.body,
        json!({"detail": "Method \"DELETE\" not allowed."})
    );
    assert_eq!(reply.header("allow"), Some("GET"));
    let reply = app.request("DELETE", "/api/patients/", None, None).await;
    assert_eq!(
        (reply.status, reply.header("allow")),
        (405, Some("GET, POST"))
    );
}

async fn routes_answer_with_and_without_trailing_slash(app: TestApp) {
    let session = app.register("Ann", "ann@example.com").await;
    for path in ["/api/auth/me", "/api/auth/me/"] {
        let reply = app.get(path, &session.access).await;
        assert_eq!(reply.status, 200, "{path}: no redirect");
    }
    for path in ["/health/live", "/health/live/"] {
        assert_eq!(
            app.request("GET", path, None, None).await.status,
            200,
            "{path}"
        );
    }
}

async fn bodies_must_be_json(app: TestApp) {
    let reply = app
        .send(
            app.client
                .post(format!("{}/api/auth/login/", app.address))
                .header(CONTENT_TYPE, "text/plain")
                .body("email=a"),
        )
        .await;
    assert_eq!(reply.status, 415);
    assert_eq!(
        reply.body,
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );

    let reply = app
        .send(
            app.client
                .post(format!("{}/api/auth/login/", app.address))
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(r#"{"email": "a@example.com", "password": "whatever-123"}"#),
        )
        .await;
    assert_eq!(reply.status, 401, "a charset is fine: {}", reply.body);

    // An empty body is an empty object: the missing fields are reported.
    let reply = app
        .send(app.client.post(format!("{}/api/auth/login/", app.address)))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["email"], json!(["This field is required."]));
}

async fn malformed_and_non_object_json_are_400(app: TestApp) {
    let post = |body: &'static str| {
        app.client
            .post(format!("{}/api/auth/register/", app.address))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    };
    let reply = app.send(post(r#"{"name": "#)).await;
    assert_eq!(reply.status, 400);
    let detail = reply.body["detail"].as_str().expect("detail");
    assert!(detail.starts_with("JSON parse error - "), "{detail}");

    let reply = app.send(post("[1, 2]")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
}

async fn oversized_bodies_are_413(app: TestApp) {
    let huge = json!({"name": "x".repeat(70 * 1024), "email": "a@example.com", "password": "p"});
    let reply = app.post("/api/auth/register/", huge).await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("65536")),
        "{}",
        reply.body
    );
}

/// A body trickling in a byte at a time is cut off at the deadline with 408, and the
/// connection is closed, so a slow client cannot hold it open indefinitely.
#[actix_web::test]
async fn bodies_must_arrive_within_the_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::common::spawn_app_with(
        crate::common::Backend::Sqlite,
        &[("BODY_READ_TIMEOUT_SECONDS", "1")],
    )
    .await
    .expect("sqlite");
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connected");
    stream
        .write_all(
            b"POST /api/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .expect("head sent");
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    // One byte every 200 ms: the connection is never idle, but the body never completes.
    while started.elapsed() < std::time::Duration::from_secs(5) {
        match tokio::time::timeout(
            std::time::Duration::from_millis(200),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => {
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
            }
        }
    }
    let response = String::from_utf8_lossy(&received);
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "after {:?}: {response}",
        started.elapsed()
    );
    assert!(
        response.contains(r#"{"detail":"The request body was not received within 1 s."}"#),
        "{response}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "answered and closed soon after the deadline: {:?}",
        started.elapsed()
    );
}

async fn health_probes_answer(app: TestApp) {
    let live = app.request("GET", "/health/live", None, None).await;
    assert_eq!((live.status, live.body), (200, json!({"status": "ok"})));
    let ready = app.request("GET", "/health/ready", None, None).await;
    assert_eq!(
        (ready.status, ready.body),
        (200, json!({"status": "ready"}))
    );
}

async fn request_ids_are_echoed(app: TestApp) {
    let reply = app.request("GET", "/health/live", None, None).await;
    let generated = reply.header("x-request-id").expect("an id is generated");
    assert_eq!(generated.len(), 36);
    let reply = id_for(&app, "/health/live", "trace-42").await;
    let id = reply.header("x-request-id").expect("an id");
    assert_ne!(
        id, "trace-42",
        "a client cannot choose the id the audit trail records"
    );
    assert_eq!(id.len(), 36);

    let behind_proxy = crate::common::spawn_app_with(
        crate::common::Backend::Sqlite,
        &[("TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await
    .expect("sqlite");
    let reply = id_for(&behind_proxy, "/nope", "trace-42").await;
    assert_eq!(
        reply.header("x-request-id"),
        Some("trace-42"),
        "a trusted proxy's id is kept, on errors too"
    );
    let reply = id_for(&behind_proxy, "/health/live", "bad id!").await;
    assert_ne!(reply.header("x-request-id"), Some("bad id!"));
}

/// `GET path` with `X-Request-Id: id`.
async fn id_for(app: &TestApp, path: &str, id: &str) -> Reply {
    app.send(
        app.client
            .get(format!("{}{path}", app.address))
            .header("X-Request-Id", id),
    )
    .await
}

/// The database going away: readiness answers 503 in the contract's shape; liveness stays 200.
#[actix_web::test]
async fn readiness_reports_an_unreachable_database() {
    let settings = crate::common::test_settings(
        "postgres://nobody@127.0.0.1:1/none",
        &[
            ("RUN_MIGRATIONS", "false"),
            ("DATABASE_POOL_TIMEOUT_SECONDS", "0.5"),
        ],
    );
    let application = healthcare_app::Application::build(settings)
        .await
        .expect("starts without the database");
    let address = format!("http://127.0.0.1:{}", application.port());
    actix_web::rt::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{address}/health/ready"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ready.status().as_u16(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().await.expect("json"),
        json!({"detail": "Service temporarily unavailable."})
    );
    let live = client
        .get(format!("{address}/health/live"))
        .send()
        .await
        .expect("sent");
    assert_eq!(live.status().as_u16(), 200);
    let login = client
        .post(format!("{address}/api/auth/login/"))
        .json(&json!({"email": "a@example.com", "password": "whatever-123"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(login.status().as_u16(), 503);
}
