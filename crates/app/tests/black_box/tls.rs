//! The server terminating TLS itself, with a self-signed certificate made for the test.

use std::sync::Arc;

use crate::common::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

#[actix_web::test]
async fn the_server_terminates_tls_with_the_configured_certificate() {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let folder = tempfile::tempdir().expect("folder");
    let cert_file = folder.path().join("cert.pem");
    let key_file = folder.path().join("key.pem");
    std::fs::write(&cert_file, generated.cert.pem()).expect("written");
    std::fs::write(&key_file, generated.signing_key.serialize_pem()).expect("written");
    let app = crate::common::spawn_app_with(
        Backend::Sqlite,
        &[
            ("TLS_CERT_FILE", cert_file.to_str().expect("utf-8")),
            ("TLS_KEY_FILE", key_file.to_str().expect("utf-8")),
        ],
    )
    .await
    .expect("sqlite");
    let port = app.address.rsplit(':').next().expect("port").to_owned();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).expect("root added");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .expect("connected");
    let server_name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector
        .connect(server_name, tcp)
        .await
        .expect("TLS handshake with the configured certificate");
    tls.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut response = String::new();
    tls.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains(r#"{"status":"ok"}"#), "{response}");
    assert!(
        response
            .to_lowercase()
            .contains("strict-transport-security: max-age="),
        "HSTS over TLS: {response}"
    );

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = app
        .client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|reply| reply.status().as_u16() != 200));
}

#[actix_web::test]
async fn unusable_tls_files_stop_the_start_with_a_sentence() {
    let folder = tempfile::tempdir().expect("folder");
    let missing = folder.path().join("missing.pem");
    let (url, _sqlite) = crate::common::database_url(Backend::Sqlite).expect("sqlite");
    let path = missing.to_str().expect("utf-8");
    let settings =
        crate::common::test_settings(&url, &[("TLS_CERT_FILE", path), ("TLS_KEY_FILE", path)]);
    let error = healthcare_app::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().starts_with("TLS_CERT_FILE"), "{error}");
}
