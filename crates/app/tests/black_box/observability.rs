//! Metrics and logs, as an operator sees them.

use std::time::Duration;

use crate::common::process::ServerProcess;
use crate::common::{Backend, STRONG_PASSWORD, TEST_SECRET};
use serde_json::{Value, json};

#[actix_web::test]
async fn metrics_count_requests_by_route_template() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let session = app.register("Ann", "ann@example.com").await;
    let patient = app.create_patient(&session, "Jane").await;
    app.get(&format!("/api/patients/{patient}/"), &session.access)
        .await;
    app.get(&format!("/api/patients/{patient}/"), &session.access)
        .await;
    app.request("GET", "/no/such/route", None, None).await;

    let reply = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status().as_u16(), 200);
    assert!(
        reply.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/plain"))
    );
    let text = reply.text().await.expect("text");
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/patients/{id}",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"http_requests_total{method="POST",route="/api/auth/register",status="201"} 1"#
    ));
    assert!(text.contains(r#"route="<unmatched>",status="404""#));
    assert!(
        !text.contains(&format!("/api/patients/{patient}")),
        "never a raw path"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    for gauge in [
        "db_pool_connections_in_use",
        "db_pool_connections_idle",
        "db_errors_total",
    ] {
        assert!(text.contains(gauge), "{gauge}");
    }
}

#[actix_web::test]
async fn metrics_can_move_to_their_own_address() {
    let app = crate::common::spawn_app_with(Backend::Sqlite, &[("METRICS_ADDRESS", "127.0.0.1:0")])
        .await
        .expect("sqlite");
    let on_api = app.request("GET", "/metrics", None, None).await;
    assert_eq!(
        (on_api.status, on_api.body),
        (404, json!({"detail": "Not found."}))
    );
    let metrics_address = app.metrics_address.clone().expect("a metrics listener");
    let reply = app
        .client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status().as_u16(), 200);
    assert!(
        reply
            .text()
            .await
            .expect("text")
            .contains("db_pool_connections_idle")
    );
}

/// Production logs are JSON lines carrying the request id and the route template, never the
/// raw path, query string, body, password or token.
#[actix_web::test]
async fn production_logs_are_json_with_request_ids_and_no_secrets() {
    let (url, _folder) = crate::common::database_url(Backend::Sqlite).expect("sqlite");
    // The request id below is kept only from a trusted proxy, which the test client plays.
    let server = ServerProcess::start(
        &url,
        &[("APP_ENV", "production"), ("TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await;
    let client = reqwest::Client::new();
    let session: Value = client
        .post(format!("{}/api/auth/register/", server.address))
        .header("X-Request-Id", "trace-abc-123")
        .json(&json!({"name": "Zebulon Quist", "email": "zebulon@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let token = session["tokens"]["access"].as_str().expect("token");
    client
        .get(format!(
            "{}/api/patients/?search=Xylophonist",
            server.address
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let login = client
        .post(format!("{}/api/auth/login/", server.address))
        .json(&json!({"email": "zebulon@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(login.status().as_u16(), 200);
    let login: Value = login.json().await.expect("json");
    let issued_tokens = [
        session["tokens"]["refresh"]
            .as_str()
            .expect("refresh")
            .to_owned(),
        login["tokens"]["access"]
            .as_str()
            .expect("access")
            .to_owned(),
        login["tokens"]["refresh"]
            .as_str()
            .expect("refresh")
            .to_owned(),
    ];
    let patient: Value = client
        .post(format!("{}/api/patients/", server.address))
        .bearer_auth(token)
        .json(
            &json!({"name": "Quintessa Marlowe", "age": 61, "gender": "F", "phone": "555-867-5309",
                      "email": "quintessa@example.org", "address": "42 Wallaby Way",
                      "medical_history": "Hyperkalaemia-Rarissima"}),
        )
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let patient_id = patient["id"].as_i64().expect("id");
    let updated = client
        .patch(format!("{}/api/patients/{patient_id}/", server.address))
        .bearer_auth(token)
        .json(&json!({"medical_history": "Chromatophobia-Singularis", "address": "7 Quokka Lane"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(updated.status().as_u16(), 200);
    crate::common::process::tokio_sleep(Duration::from_millis(100)).await;

    let logs = server.logs();
    let completed: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "request completed")
        .collect();
    assert!(completed.len() >= 2, "{logs}");
    let register = completed
        .iter()
        .find(|line| line["route"] == "/api/auth/register")
        .expect("logged");
    assert_eq!(
        register["span"]["request_id"], "trace-abc-123",
        "{register}"
    );
    assert!(
        completed
            .iter()
            .all(|line| line["span"]["request_id"].is_string())
    );
    for issued in &issued_tokens {
        assert!(!logs.contains(issued.as_str()), "the logs contain a token");
    }
    for secret in [
        STRONG_PASSWORD,
        token,
        "Xylophonist",
        "zebulon@example.com",
        "Zebulon",
        "Quintessa",
        "Marlowe",
        "555-867-5309",
        "quintessa@example.org",
        "Wallaby",
        "Hyperkalaemia",
        "Chromatophobia",
        "Quokka",
        TEST_SECRET,
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}
