//! The OpenAPI document and the pages that show it.

use crate::common::Backend;
use serde_json::Value;

fn committed_copy_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

async fn served_document(app: &crate::common::TestApp) -> String {
    let reply = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status().as_u16(), 200);
    reply.text().await.expect("text")
}

/// Every API change shows up in review as a change of `docs/openapi.json`. After an intended
/// change, refresh the copy with `UPDATE_OPENAPI=1 cargo test --test black_box api_docs`.
#[actix_web::test]
async fn the_served_document_matches_the_committed_copy() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let served = served_document(&app).await;
    let path = committed_copy_path();
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, format!("{served}\n")).expect("written");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed.trim_end() == served.trim_end(),
        "docs/openapi.json differs from the served document; run `UPDATE_OPENAPI=1 cargo test --test black_box api_docs` and review the diff"
    );
}

#[actix_web::test]
async fn the_document_is_complete() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let document: Value = serde_json::from_str(&served_document(&app).await).expect("json");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    let public = [
        "register",
        "login",
        "refresh_token",
        "health_live",
        "health_ready",
    ];
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            operations += 1;
            let id = operation["operationId"].as_str().expect("operation id");
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            assert_eq!(secured, !public.contains(&id), "{method} {path}: security");
            let responses = operation["responses"].as_object().expect("responses");
            for (status, response) in responses {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status}"
                );
            }
            assert!(
                responses.contains_key("500"),
                "{method} {path} documents 500"
            );
            // Liveness never touches the database; everything else can find it unreachable.
            assert_eq!(
                responses.contains_key("503"),
                id != "health_live",
                "{method} {path}: 503"
            );
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
            }
        }
    }
    assert_eq!(operations, 41, "every route and method is documented");
    let list_params: Vec<&str> = document["paths"]["/api/doctors"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        list_params,
        vec!["page", "page_size", "specialization", "available"]
    );
}

/// Every value of `key` anywhere in `value`.
fn every<'a>(value: &'a Value, key: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(object) => {
            for (name, inner) in object {
                if name == key {
                    found.push(inner);
                }
                every(inner, key, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|inner| every(inner, key, found)),
        _ => {}
    }
}

/// What a generated client needs to be typed without hand fixes (issue: "An OpenAPI document
/// precise enough that generated clients need no hand fixes").
#[actix_web::test]
async fn the_document_is_precise_enough_for_typed_clients() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let document: Value = serde_json::from_str(&served_document(&app).await).expect("json");
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        document["servers"][0]["url"], "/",
        "a server relative to the document"
    );

    // Pages refer to their items' schemas and always carry both links.
    for item in ["PatientJson", "DoctorJson", "MappingJson", "AuditEventJson"] {
        let page = &schemas[format!("PageJson_{item}")];
        assert_eq!(
            page["properties"]["results"]["items"]["$ref"],
            format!("#/components/schemas/{item}")
        );
        for field in ["count", "next", "previous", "results"] {
            assert!(
                page["required"]
                    .as_array()
                    .expect("required")
                    .contains(&Value::from(field)),
                "{item} page: {field} is required"
            );
        }
    }

    // Closed sets are enums with names of their own.
    assert_eq!(
        schemas["Gender"]["enum"],
        serde_json::json!(["M", "F", "O"])
    );
    assert_eq!(
        schemas["PatientJson"]["properties"]["gender"]["$ref"],
        "#/components/schemas/Gender"
    );
    assert_eq!(
        schemas["AuthFailure"]["properties"]["code"]["$ref"],
        "#/components/schemas/AuthFailureCode"
    );
    for (field, schema) in [
        ("action", "AuditAction"),
        ("outcome", "AuditOutcome"),
        ("resource_type", "AuditResourceType"),
    ] {
        assert_eq!(
            schemas["AuditEventJson"]["properties"][field]["$ref"],
            format!("#/components/schemas/{schema}")
        );
        let values = schemas[schema]["enum"].as_array().expect("an enum");
        let mut unique: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        assert!(
            !values.is_empty() && unique.len() == values.len(),
            "{schema}"
        );
    }

    // A 400 is either a detail or field errors, never a mixed map.
    let one_of: Vec<&Value> = schemas["BadRequest"]["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .map(|choice| &choice["$ref"])
        .collect();
    assert_eq!(
        one_of,
        vec![
            "#/components/schemas/Detail",
            "#/components/schemas/FieldErrors"
        ]
    );

    // Every operation says what a bad Host and a wrong method answer; conditional writes say 412.
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let responses = &operation["responses"];
            assert!(responses["400"].is_object(), "{method} {path}: 400");
            assert!(
                responses["405"]["headers"]["Allow"].is_object(),
                "{method} {path}: 405 with Allow"
            );
            let conditional = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == "If-Match"));
            assert_eq!(
                responses["412"].is_object(),
                conditional,
                "{method} {path}: 412 exactly where If-Match is taken"
            );
        }
    }

    // Patterns every engine reads alike (ECMA-262, Python, Rust): no inline flags such as
    // `(?i:`, which JavaScript refuses, and no class shorthands whose meaning differs.
    let mut patterns = Vec::new();
    every(&document, "pattern", &mut patterns);
    assert!(!patterns.is_empty());
    for pattern in patterns {
        let pattern = pattern.as_str().expect("a string");
        let flags = pattern.replace("(?:", "");
        assert!(!flags.contains("(?"), "{pattern}");
        for shorthand in [r"\s", r"\S", r"\w", r"\W", r"\d", r"\D", r"\p"] {
            assert!(!pattern.contains(shorthand), "{pattern} uses {shorthand}");
        }
    }

    // Numbers that may come as strings say so; integer formats agree between reads and writes.
    let patient_write = &schemas["PatientWrite"]["properties"];
    let kinds: Vec<&Value> = patient_write["age"]["oneOf"]
        .as_array()
        .expect("age is a number or a string")
        .iter()
        .map(|choice| &choice["type"])
        .collect();
    assert_eq!(kinds, vec!["integer", "string"]);
    assert_eq!(
        patient_write["age"]["oneOf"][0]["format"],
        schemas["PatientJson"]["properties"]["age"]["format"]
    );
    assert!(schemas["DoctorWrite"]["properties"]["consultation_fee"]["oneOf"].is_array());

    // The by-patient view's id is a patient id: the links from a new mapping say so.
    let links = &document["paths"]["/api/mappings"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["patient_assignments"]["parameters"]["id"],
        "$response.body#/patient"
    );
    assert_eq!(
        links["remove_mapping"]["parameters"]["id"],
        "$response.body#/id"
    );

    // Every reference resolves, and every named schema is used.
    let mut references = Vec::new();
    every(&document, "$ref", &mut references);
    let referenced: Vec<&str> = references
        .iter()
        .map(|r| r.as_str().expect("a string"))
        .collect();
    for name in schemas.as_object().expect("schemas").keys() {
        let reference = format!("#/components/schemas/{name}");
        assert!(
            referenced.contains(&reference.as_str()),
            "{name} is never used"
        );
    }
    for reference in referenced {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .expect("a schema reference");
        assert!(schemas[name].is_object(), "{reference} resolves");
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_offline_without_the_validator() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = no_redirects
        .get(format!("{}/swagger", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(redirect.headers()["location"], "/swagger/");
    let page = app
        .client
        .get(format!("{}/swagger/", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("html").contains("swagger-ui"));
    let initializer = app
        .client
        .get(format!("{}/swagger/swagger-initializer.js", app.address))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("js");
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
}

#[actix_web::test]
async fn redoc_is_served_offline() {
    let app = crate::common::spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = no_redirects
        .get(format!("{}/redoc", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        (
            redirect.status().as_u16(),
            redirect.headers()["location"].to_str().ok()
        ),
        (308, Some("/redoc/"))
    );
    let page = app
        .client
        .get(format!("{}/redoc/", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/redoc/redoc.standalone.js") && html.contains("/api/openapi.json"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external URL in the page"
    );
    let bundle = app
        .client
        .get(format!("{}/redoc/redoc.standalone.js", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(bundle.status().as_u16(), 200);
    assert!(
        bundle.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.contains("javascript"))
    );
    assert!(bundle.bytes().await.expect("js").len() > 100_000);
}
