//! `/fhir/R4/` against the real server on both databases: reads with versions and `ETag`s,
//! history, search semantics (the anchors' bug reports: accents, `:exact`, `:contains`,
//! `_count`, stable paging while records are added, `_total`), OperationOutcome errors, and a
//! CapabilityStatement that lists exactly what is served. Every response is captured for the
//! schema and profile validation CI runs (`FHIR_CAPTURE_DIR`).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::{Session, TestApp};

on_both_backends!(
    patients_read_with_versions_etags_and_history,
    a_deleted_patient_is_gone_and_anothers_answers_like_a_missing_one,
    name_searches_fold_accents_and_honour_exact_and_contains,
    count_is_clamped_and_paging_visits_every_match_once_while_records_are_added,
    search_parameters_are_exactly_those_of_the_capability_statement,
    practitioners_and_their_roles,
    a_front_desk_gets_no_medical_history_over_fhir,
    care_teams_hold_each_patients_active_assignments,
    organizations_are_the_callers_clinics,
    the_clinics_trail_is_for_its_admins_and_auditors,
);

async fn patch(app: &TestApp, session: &Session, path: &str, body: Value) {
    let reply = app
        .request("PATCH", path, Some(body), Some(&session.access))
        .await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
}

fn age_of(patient: &Value) -> i64 {
    patient["extension"]
        .as_array()
        .expect("extensions")
        .iter()
        .find(|e| {
            e["url"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/patient-age")
        })
        .and_then(|e| e["valueAge"]["value"].as_i64())
        .expect("the age extension")
}

fn issue_code(reply: &crate::common::Reply) -> &str {
    assert_eq!(
        reply.body["resourceType"], "OperationOutcome",
        "{}",
        reply.body
    );
    reply.body["issue"][0]["code"].as_str().expect("a code")
}

fn ids_in(bundle: &Value) -> Vec<i64> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    e["resource"]["id"]
                        .as_str()
                        .and_then(|id| id.parse().ok())
                        .expect("an id")
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn patients_read_with_versions_etags_and_history(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let id = app.create_patient(&ann, "José García").await;
    for age in [46, 47] {
        patch(
            &app,
            &ann,
            &format!("/api/patients/{id}/"),
            json!({"age": age}),
        )
        .await;
    }
    let token = Some(ann.access.as_str());

    let read = app.fhir(&format!("Patient/{id}"), None, token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.header("etag"), Some("W/\"3\""));
    let patient = &read.body;
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], id.to_string());
    assert_eq!(patient["meta"]["versionId"], "3");
    assert_eq!(patient["name"][0]["text"], "José García");
    assert_eq!(patient["gender"], "female");
    assert_eq!(
        patient["telecom"][0],
        json!({"system": "phone", "value": "555-0100"})
    );
    assert_eq!(age_of(patient), 47);

    let history = app
        .fhir(&format!("Patient/{id}/_history"), None, token)
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert_eq!(history.body["type"], "history");
    let entries = history.body["entry"].as_array().expect("entries");
    let versions: Vec<(&str, i64, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["resource"]["meta"]["versionId"]
                    .as_str()
                    .expect("version"),
                age_of(&e["resource"]),
                e["request"]["method"].as_str().expect("method"),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [("3", 47, "PUT"), ("2", 46, "PUT"), ("1", 45, "POST")],
        "two updates: three versions, newest first"
    );
    for (version, age) in [(1, 45), (2, 46), (3, 47)] {
        let vread = app
            .fhir(&format!("Patient/{id}/_history/{version}"), None, token)
            .await;
        assert_eq!(vread.status, 200, "{}", vread.body);
        assert_eq!(
            vread.header("etag"),
            Some(format!("W/\"{version}\"").as_str())
        );
        assert_eq!(age_of(&vread.body), age);
    }
    let paged = app
        .fhir(&format!("Patient/{id}/_history?_count=2"), None, token)
        .await;
    assert_eq!(paged.body["entry"].as_array().map(Vec::len), Some(2));
    let next = paged.body["link"]
        .as_array()
        .and_then(|links| links.iter().find(|l| l["relation"] == "next"))
        .and_then(|l| l["url"].as_str())
        .expect("a next page of history");
    let rest = app
        .fhir(
            next.split_once("/fhir/R4/").expect("a FHIR link").1,
            None,
            token,
        )
        .await;
    assert_eq!(rest.body["entry"][0]["resource"]["meta"]["versionId"], "1");

    let missing_version = app
        .fhir(&format!("Patient/{id}/_history/9"), None, token)
        .await;
    assert_eq!(missing_version.status, 404);
    assert_eq!(issue_code(&missing_version), "not-found");
    let anonymous = app.fhir(&format!("Patient/{id}"), None, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(issue_code(&anonymous), "login");
    let written = app
        .send(
            app.client
                .put(format!("{}/fhir/R4/Patient/{id}", app.address))
                .bearer_auth(&ann.access),
        )
        .await;
    assert_eq!(written.status, 405, "writes stay on /api/");

    // Each read, vread and history above (the refused vread too) is one patient.read row in
    // the clinic's trail, written in batches within a second.
    let trail = format!(
        "/api/clinics/{}/audit/?action=patient.read&patient={id}",
        personal_clinic(&app, &ann).await
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rows = app.get(&trail, &ann.access).await;
        if rows.body["count"] == 8 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", rows.body);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (code, report) = app.console(&["audit", "seal"]);
    assert_eq!(code, 0, "{report}");
    let (code, report) = app.console(&["audit", "verify"]);
    assert_eq!(code, 0, "audit verify after FHIR reads: {report}");
}

async fn personal_clinic(app: &TestApp, session: &Session) -> i64 {
    let me = app.get("/api/auth/me/", &session.access).await;
    me.body["clinic"]["id"].as_i64().expect("the active clinic")
}

async fn a_deleted_patient_is_gone_and_anothers_answers_like_a_missing_one(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let deleted = app.create_patient(&ann, "Gone Patient").await;
    patch(
        &app,
        &ann,
        &format!("/api/patients/{deleted}/"),
        json!({"age": 50}),
    )
    .await;
    let removed = app
        .request(
            "DELETE",
            &format!("/api/patients/{deleted}/"),
            None,
            Some(&ann.access),
        )
        .await;
    assert!(removed.status < 300, "{}", removed.body);
    let token = Some(ann.access.as_str());
    for path in [
        format!("Patient/{deleted}"),
        format!("Patient/{deleted}/_history"),
        format!("Patient/{deleted}/_history/3"),
    ] {
        let gone = app.fhir(&path, None, token).await;
        assert_eq!(gone.status, 410, "{path}: {}", gone.body);
        assert_eq!(issue_code(&gone), "deleted");
    }
    let search = app
        .fhir(&format!("Patient?_id={deleted}"), None, token)
        .await;
    assert_eq!(
        search.body["total"], 0,
        "a deleted patient matches no search"
    );

    // Bob's patient, live or deleted, answers Ann exactly like an id nobody has.
    let bobs = app.create_patient(&bob, "Bob's Patient").await;
    let bobs_deleted = app.create_patient(&bob, "Bob's Deleted").await;
    app.request(
        "DELETE",
        &format!("/api/patients/{bobs_deleted}/"),
        None,
        Some(&bob.access),
    )
    .await;
    for template in ["Patient/{}", "Patient/{}/_history", "Patient/{}/_history/1"] {
        let missing = app
            .fhir(&template.replace("{}", "987654321"), None, token)
            .await;
        for other in [bobs, bobs_deleted] {
            let answered = app
                .fhir(&template.replace("{}", &other.to_string()), None, token)
                .await;
            assert_eq!(
                (answered.status, &answered.body),
                (missing.status, &missing.body),
                "{template} with another user's patient"
            );
        }
        let malformed = app
            .fhir(&template.replace("{}", "not-an-id"), None, token)
            .await;
        assert_eq!(
            (malformed.status, &malformed.body),
            (missing.status, &missing.body)
        );
    }
    let searched = app.fhir(&format!("Patient?_id={bobs}"), None, token).await;
    assert_eq!(searched.body["total"], 0);
}

async fn name_searches_fold_accents_and_honour_exact_and_contains(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let jose = app.create_patient(&ann, "José García").await;
    let josefa = app.create_patient(&ann, "JOSEFA Núñez").await;
    app.create_patient(&ann, "Zoë Brontë").await;
    let token = Some(ann.access.as_str());
    let found = |reply: crate::common::Reply| {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["type"], "searchset");
        let mut ids = ids_in(&reply.body);
        ids.sort_unstable();
        ids
    };
    assert_eq!(
        found(app.fhir("Patient?name=jose", None, token).await),
        [jose, josefa]
    );
    assert_eq!(
        found(app.fhir("Patient?name=JOSE", None, token).await),
        [jose, josefa]
    );
    assert_eq!(
        found(app.fhir("Patient?name=garc", None, token).await),
        [jose]
    );
    assert_eq!(
        found(app.fhir("Patient?name=n%C3%BA%C3%B1ez", None, token).await),
        [josefa]
    );
    assert_eq!(
        found(
            app.fhir("Patient?name:exact=Jos%C3%A9%20Garc%C3%ADa", None, token)
                .await
        ),
        [jose]
    );
    assert_eq!(
        found(
            app.fhir("Patient?name:exact=jose%20garcia", None, token)
                .await
        ),
        Vec::<i64>::new()
    );
    assert_eq!(
        found(app.fhir("Patient?name:contains=ARCI", None, token).await),
        [jose]
    );
    assert_eq!(
        found(app.fhir("Patient?name=garcia,nunez", None, token).await),
        [jose, josefa],
        "comma: any"
    );
    assert_eq!(
        found(app.fhir("Patient?name=jose&name=nunez", None, token).await),
        [josefa],
        "repeated: all"
    );
    assert_eq!(
        found(
            app.fhir("Patient/_search", Some("name=jose&gender=female"), token)
                .await
        ),
        [jose, josefa],
        "POST _search with a form body"
    );
    let by_phone_and_id = format!("Patient?telecom=phone%7C555-0100&_id={jose}");
    assert_eq!(found(app.fhir(&by_phone_and_id, None, token).await), [jose]);
    assert_eq!(
        found(app.fhir("Patient?gender=male", None, token).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        found(
            app.fhir("Patient?_lastUpdated=gt2000-01-01", None, token)
                .await
        )
        .len(),
        3
    );
    assert_eq!(
        found(app.fhir("Patient?_lastUpdated=lt2000", None, token).await),
        Vec::<i64>::new()
    );
    let as_json = app
        .send(
            app.client
                .post(format!("{}/fhir/R4/Patient/_search", app.address))
                .bearer_auth(&ann.access)
                .header("content-type", "application/json")
                .body(r#"{"name": "jose"}"#),
        )
        .await;
    assert_eq!(
        as_json.status, 400,
        "a _search body is a form: {}",
        as_json.body
    );
    assert_eq!(issue_code(&as_json), "invalid");
    let huge = app
        .send(
            app.client
                .post(format!("{}/fhir/R4/Patient/_search", app.address))
                .bearer_auth(&ann.access)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("name={}", "j".repeat(200 * 1024))),
        )
        .await;
    assert_eq!(huge.status, 413, "{}", huge.body);
    assert_eq!(issue_code(&huge), "too-costly");
    for bad in [
        "Patient?nickname=x",
        "Patient?name:missing=true",
        "Patient?gender:not=male",
        "Patient?_lastUpdated=yesterday",
        "Patient?_sort=age",
        "Patient?_count=-1",
        "Patient?_page=made-up",
        "Patient?_total=maybe",
    ] {
        let refused = app.fhir(bad, None, token).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(issue_code(&refused), "invalid");
    }
}

/// A FHIR link, as a path under `/fhir/R4/`.
fn relative(link: &str) -> &str {
    link.split_once("/fhir/R4/").expect("a FHIR link").1
}

fn link<'a>(bundle: &'a Value, relation: &str) -> Option<&'a str> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)?["url"]
        .as_str()
}

async fn count_is_clamped_and_paging_visits_every_match_once_while_records_are_added(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let mut created = BTreeSet::new();
    for n in 0..105 {
        created.insert(
            app.create_patient(&ann, &format!("Paged Patient {n:03}"))
                .await,
        );
    }
    let token = Some(ann.access.as_str());
    for (count, expected) in [(1, 1), (7, 7), (100, 100), (101, 100), (1000, 100)] {
        let page = app
            .fhir(&format!("Patient?name=paged&_count={count}"), None, token)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(ids_in(&page.body).len(), expected, "_count={count}");
        assert_eq!(page.body["total"], 105);
    }
    let only_total = app.fhir("Patient?name=paged&_count=0", None, token).await;
    assert_eq!(
        (
            only_total.body["total"].as_i64(),
            ids_in(&only_total.body).len()
        ),
        (Some(105), 0)
    );
    let no_total = app
        .fhir("Patient?name=paged&_total=none", None, token)
        .await;
    assert!(no_total.body.get("total").is_none());

    for sort in ["_id", "-_lastUpdated", "name", "-name"] {
        let mut visited = Vec::new();
        let mut path = format!("Patient?name=paged&_count=10&_sort={sort}&_total=accurate");
        let mut total = None;
        let mut added = 0;
        loop {
            let page = app.fhir(&path, None, token).await;
            assert_eq!(page.status, 200, "{}", page.body);
            total.get_or_insert(page.body["total"].as_u64().expect("a total"));
            visited.extend(ids_in(&page.body));
            let Some(next) = link(&page.body, "next") else {
                break;
            };
            path = relative(next).to_owned();
            app.create_patient(&ann, &format!("Paged Added {sort} {added}"))
                .await;
            added += 1;
        }
        let unique: BTreeSet<i64> = visited.iter().copied().collect();
        assert_eq!(
            unique.len(),
            visited.len(),
            "{sort}: a match twice: {visited:?}"
        );
        assert!(
            unique.is_superset(&created),
            "{sort}: a match of the start dropped"
        );
        assert!(added >= 10, "{sort}: records were added while paging");
        if sort == "_id" {
            assert_eq!(
                visited.len() as u64,
                total.expect("a total") + added,
                "by id, added records come last and are visited too"
            );
        }
        created.extend(unique);
    }

    // With nothing added meanwhile, _total=accurate is the number of entries a walk visits.
    let mut path = "Patient?name=paged&_count=30&_total=accurate".to_owned();
    let (mut visited, mut totals) = (0, BTreeSet::new());
    loop {
        let page = app.fhir(&path, None, token).await;
        totals.insert(page.body["total"].as_u64().expect("a total"));
        visited += ids_in(&page.body).len() as u64;
        let Some(next) = link(&page.body, "next") else {
            break;
        };
        path = relative(next).to_owned();
    }
    assert_eq!(totals.len(), 1, "one total on every page: {totals:?}");
    assert_eq!(totals.first(), Some(&visited));

    // previous walks back over the same pages.
    let first = app
        .fhir("Patient?name=paged&_count=4&_sort=name", None, token)
        .await;
    let second = app
        .fhir(
            relative(link(&first.body, "next").expect("next")),
            None,
            token,
        )
        .await;
    let back = app
        .fhir(
            relative(link(&second.body, "previous").expect("previous")),
            None,
            token,
        )
        .await;
    assert_eq!(ids_in(&back.body), ids_in(&first.body));
    assert!(link(&first.body, "previous").is_none());
    assert_eq!(
        link(&first.body, "self").map(relative),
        Some("Patient?name=paged&_count=4&_sort=name")
    );
}

/// A value each search parameter type accepts.
fn sample(name: &str, kind: &str) -> &'static str {
    match (name, kind) {
        ("active", _) => "true",
        (_, "date") => "ge2020-01-01",
        (_, "reference") => "Practitioner/1",
        _ => "x",
    }
}

async fn search_parameters_are_exactly_those_of_the_capability_statement(app: TestApp) {
    let metadata = app.fhir("metadata", None, None).await;
    assert_eq!(metadata.status, 200, "no token needed: {}", metadata.body);
    let statement = &metadata.body;
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let token = Some(ann.access.as_str());
    let resources = statement["rest"][0]["resource"]
        .as_array()
        .expect("resources");
    let types: Vec<&str> = resources
        .iter()
        .map(|r| r["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(
        types,
        [
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "CareTeam",
            "Organization",
            "AuditEvent"
        ]
    );
    let mut accepted = 0;
    for resource in resources {
        let kind = resource["type"].as_str().expect("a type");
        let interactions: Vec<&str> = resource["interaction"]
            .as_array()
            .expect("interactions")
            .iter()
            .map(|i| i["code"].as_str().expect("a code"))
            .collect();
        assert!(interactions.contains(&"read") && interactions.contains(&"search-type"));
        for param in resource["searchParam"].as_array().expect("parameters") {
            let name = param["name"].as_str().expect("a name");
            let value = sample(name, param["type"].as_str().expect("a type"));
            let reply = app
                .fhir(&format!("{kind}?{name}={value}"), None, token)
                .await;
            assert_eq!(reply.status, 200, "{kind}?{name}: {}", reply.body);
            let posted = app
                .fhir(
                    &format!("{kind}/_search"),
                    Some(&format!("{name}={value}")),
                    token,
                )
                .await;
            assert_eq!(
                posted.status, 200,
                "POST {kind}/_search {name}: {}",
                posted.body
            );
            accepted += 1;
        }
        let unlisted = app.fhir(&format!("{kind}?unlisted=x"), None, token).await;
        assert_eq!(unlisted.status, 400, "{kind}: only what is listed");
        if !interactions.contains(&"vread") {
            let vread = app.fhir(&format!("{kind}/1/_history/1"), None, token).await;
            assert_eq!(vread.status, 404, "{kind} lists no vread, so serves none");
        }
    }
    assert_eq!(accepted, 19);
    let unknown_type = app.fhir("Observation", None, token).await;
    assert_eq!(unknown_type.status, 404);
    assert_eq!(issue_code(&unknown_type), "not-supported");
}

async fn practitioners_and_their_roles(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let doctor = app
        .create_doctor(&ann, "Dr. Élise Ôtis", "Cardiology")
        .await;
    let other = app.create_doctor(&ann, "Dr. Other", "Dermatology").await;
    patch(
        &app,
        &ann,
        &format!("/api/doctors/{doctor}/"),
        json!({"experience_years": 13}),
    )
    .await;
    // The directory is shared: Bob reads Ann's doctors.
    let token = Some(bob.access.as_str());
    let read = app
        .fhir(&format!("Practitioner/{doctor}"), None, token)
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.header("etag"), Some("W/\"2\""));
    assert_eq!(read.body["name"][0]["text"], "Dr. Élise Ôtis");
    assert_eq!(read.body["qualification"][0]["code"]["text"], "MD");
    let history = app
        .fhir(&format!("Practitioner/{doctor}/_history"), None, token)
        .await;
    assert_eq!(history.body["entry"].as_array().map(Vec::len), Some(2));
    let first = app
        .fhir(&format!("Practitioner/{doctor}/_history/1"), None, token)
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["meta"]["versionId"], "1");

    let role = app
        .fhir(&format!("PractitionerRole/{doctor}"), None, token)
        .await;
    assert_eq!(role.status, 200, "{}", role.body);
    assert_eq!(role.body["specialty"][0]["text"], "Cardiology");
    assert_eq!(role.body["active"], true);
    assert_eq!(
        role.body["practitioner"]["reference"],
        format!("Practitioner/{doctor}")
    );

    let search = |path: &'static str| app.fhir(path, None, token);
    assert_eq!(
        ids_in(&search("Practitioner?name=elise").await.body),
        [doctor]
    );
    assert_eq!(
        ids_in(&search("Practitioner?name=otis").await.body),
        [doctor]
    );
    assert_eq!(
        ids_in(&search("PractitionerRole?specialty=cardio").await.body),
        [doctor]
    );
    assert_eq!(
        ids_in(
            &app.fhir(
                &format!("PractitionerRole?practitioner=Practitioner/{other}"),
                None,
                token
            )
            .await
            .body
        ),
        [other]
    );
    assert_eq!(
        ids_in(&search("PractitionerRole?active=false").await.body),
        Vec::<i64>::new()
    );

    // Paging by name visits every doctor once, non-ASCII capitals included.
    for name in ["Dr. İpek", "Dr. Ipek", "Dr. Émile", "Dr. Éva", "DR. ÉMILE"] {
        app.create_doctor(&ann, name, "Surgery").await;
    }
    for sort in ["name", "-name"] {
        let mut path = format!("Practitioner?_count=1&_sort={sort}");
        let mut visited = Vec::new();
        loop {
            let page = app.fhir(&path, None, token).await;
            assert_eq!(page.status, 200, "{}", page.body);
            visited.extend(ids_in(&page.body));
            let Some(next) = link(&page.body, "next") else {
                break;
            };
            assert!(
                !next.contains("mile") && !next.contains("pek"),
                "no name in a link: {next}"
            );
            path = relative(next).to_owned();
            assert!(visited.len() <= 7, "{sort}: {visited:?}");
        }
        let unique: BTreeSet<i64> = visited.iter().copied().collect();
        assert_eq!((visited.len(), unique.len()), (7, 7), "{sort}: {visited:?}");
    }

    let removed = app
        .request(
            "DELETE",
            &format!("/api/doctors/{other}/"),
            None,
            Some(&ann.access),
        )
        .await;
    assert!(removed.status < 300, "{}", removed.body);
    for path in [
        format!("Practitioner/{other}"),
        format!("PractitionerRole/{other}"),
    ] {
        let gone = app.fhir(&path, None, token).await;
        assert_eq!(gone.status, 410, "{path}: {}", gone.body);
    }
}

async fn a_front_desk_gets_no_medical_history_over_fhir(app: TestApp) {
    let admin = app.register("Ann Admin", "ann@example.com").await;
    let clinic = app.create_clinic(&admin, "North Clinic").await;
    let admin = app.switched(&admin, clinic).await;
    let desk = app.register("Dee Desk", "dee@example.com").await;
    app.join_clinic(&admin, clinic, &desk, "dee@example.com", "front_desk")
        .await;
    let desk = app.switched(&desk, clinic).await;
    let id = app.create_patient(&admin, "Pat Private").await;
    let has_history = |patient: &Value| {
        patient["extension"]
            .as_array()
            .is_some_and(|all| all.iter().any(|e| e["valueString"] == "Asthma"))
    };
    let as_admin = app
        .fhir(&format!("Patient/{id}"), None, Some(&admin.access))
        .await;
    assert!(has_history(&as_admin.body), "{}", as_admin.body);
    for path in [
        format!("Patient/{id}"),
        format!("Patient/{id}/_history/1"),
        format!("Patient?_id={id}"),
    ] {
        let as_desk = app.fhir(&path, None, Some(&desk.access)).await;
        assert_eq!(as_desk.status, 200, "{}", as_desk.body);
        assert!(
            !as_desk.body.to_string().contains("Asthma"),
            "{path}: {}",
            as_desk.body
        );
    }
}

async fn care_teams_hold_each_patients_active_assignments(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let treated = app.create_patient(&ann, "Treated Patient").await;
    let alone = app.create_patient(&ann, "Alone Patient").await;
    let cardiologist = app.create_doctor(&ann, "Dr. Heart", "Cardiology").await;
    let surgeon = app.create_doctor(&ann, "Dr. Knife", "Surgery").await;
    let kept = app.assign(&ann, treated, cardiologist).await;
    let removed = app.assign(&ann, treated, surgeon).await;
    let ended = app
        .request(
            "DELETE",
            &format!("/api/mappings/{removed}/"),
            None,
            Some(&ann.access),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let token = Some(ann.access.as_str());

    let team = app.fhir(&format!("CareTeam/{treated}"), None, token).await;
    assert_eq!(team.status, 200, "{}", team.body);
    assert_eq!(
        team.body["subject"]["reference"],
        format!("Patient/{treated}")
    );
    let participants = team.body["participant"].as_array().expect("participants");
    assert_eq!(
        participants.len(),
        1,
        "the removed assignment is not in the team"
    );
    assert_eq!(participants[0]["id"], format!("assignment-{kept}"));
    assert_eq!(
        participants[0]["member"]["reference"],
        format!("Practitioner/{cardiologist}")
    );
    assert_eq!(participants[0]["role"][0]["text"], "Cardiology");
    let empty = app.fhir(&format!("CareTeam/{alone}"), None, token).await;
    assert_eq!(empty.status, 200);
    assert!(
        empty.body.get("participant").is_none(),
        "no empty list: {}",
        empty.body
    );

    let by_doctor = app
        .fhir(
            &format!("CareTeam?participant=Practitioner/{cardiologist}"),
            None,
            token,
        )
        .await;
    assert_eq!(ids_in(&by_doctor.body), [treated]);
    let by_surgeon = app
        .fhir(&format!("CareTeam?participant={surgeon}"), None, token)
        .await;
    assert_eq!(
        ids_in(&by_surgeon.body),
        Vec::<i64>::new(),
        "an ended assignment"
    );
    let by_patient = app
        .fhir(
            "CareTeam/_search",
            Some(&format!("patient=Patient/{alone}")),
            token,
        )
        .await;
    assert_eq!(ids_in(&by_patient.body), [alone]);
    let all = app.fhir("CareTeam", None, token).await;
    assert_eq!(all.body["total"], 2, "one team per patient");
    let sorted_by_name = app.fhir("CareTeam?_sort=name", None, token).await;
    assert_eq!(sorted_by_name.status, 400);

    let deleted = app
        .request(
            "DELETE",
            &format!("/api/patients/{treated}/"),
            None,
            Some(&ann.access),
        )
        .await;
    assert!(deleted.status < 300, "{}", deleted.body);
    let gone = app.fhir(&format!("CareTeam/{treated}"), None, token).await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    let stranger = app.register("Bob Roe", "bob@example.com").await;
    let hidden = app
        .fhir(&format!("CareTeam/{alone}"), None, Some(&stranger.access))
        .await;
    let missing = app
        .fhir("CareTeam/987654321", None, Some(&stranger.access))
        .await;
    assert_eq!(
        (hidden.status, &hidden.body),
        (missing.status, &missing.body)
    );
}

async fn organizations_are_the_callers_clinics(app: TestApp) {
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let north = app.create_clinic(&ann, "North Clinic").await;
    let south = app.create_clinic(&bob, "South Clinic").await;
    let token = Some(ann.access.as_str());
    let read = app
        .fhir(&format!("Organization/{north}"), None, token)
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["name"], "North Clinic");
    let all = app.fhir("Organization", None, token).await;
    assert_eq!(
        all.body["total"], 2,
        "the personal clinic and North: {}",
        all.body
    );
    let named = app.fhir("Organization?name=north", None, token).await;
    assert_eq!(ids_in(&named.body), [north]);
    let theirs = app
        .fhir(&format!("Organization/{south}"), None, token)
        .await;
    let missing = app.fhir("Organization/987654321", None, token).await;
    assert_eq!(
        (theirs.status, &theirs.body),
        (missing.status, &missing.body)
    );
    assert_eq!(theirs.status, 404);
    let patient = app.create_patient(&ann, "Pat Managed").await;
    let managed = app.fhir(&format!("Patient/{patient}"), None, token).await;
    let personal = managed.body["managingOrganization"]["reference"]
        .as_str()
        .expect("a managing organization");
    assert_eq!(
        app.fhir(personal, None, token).await.status,
        200,
        "the patient's clinic is readable"
    );
}

async fn the_clinics_trail_is_for_its_admins_and_auditors(app: TestApp) {
    let admin = app.register("Ann Admin", "ann@example.com").await;
    let clinic = app.create_clinic(&admin, "North Clinic").await;
    let admin = app.switched(&admin, clinic).await;
    let clinician = app.register("Cal Clinician", "cal@example.com").await;
    app.join_clinic(&admin, clinic, &clinician, "cal@example.com", "clinician")
        .await;
    let clinician = app.switched(&clinician, clinic).await;
    let patient = app.create_patient(&admin, "Pat Audited").await;
    let other = app.create_patient(&admin, "Pat Other").await;
    app.fhir(&format!("Patient/{patient}"), None, Some(&admin.access))
        .await;
    let token = Some(admin.access.as_str());
    // Reads are written in batches within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let reads = loop {
        let reads = app
            .fhir(
                &format!("AuditEvent?patient={patient}&action=R"),
                None,
                token,
            )
            .await;
        if reads.body["total"] == 1 {
            break reads;
        }
        assert!(std::time::Instant::now() < deadline, "{}", reads.body);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let event = &reads.body["entry"][0]["resource"];
    assert_eq!(event["action"], "R");
    assert_eq!(event["subtype"][0]["code"], "patient.read");
    assert_eq!(event["outcome"], "0");
    assert_eq!(
        event["entity"][0]["what"]["reference"],
        format!("Patient/{patient}")
    );
    assert_eq!(
        event["agent"][0]["who"]["identifier"]["value"],
        admin.user_id.to_string()
    );
    let id = event["id"].as_str().expect("an id");
    let read = app.fhir(&format!("AuditEvent/{id}"), None, token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(&read.body, event);

    let created = app
        .fhir(
            &format!("AuditEvent?action=patient.create&agent={}", admin.user_id),
            None,
            token,
        )
        .await;
    assert_eq!(created.body["total"], 2);
    let about_other = app
        .fhir(&format!("AuditEvent?patient=Patient/{other}"), None, token)
        .await;
    assert!(ids_in(&about_other.body).len() == 1, "{}", about_other.body);
    let future = app.fhir("AuditEvent?date=gt2999", None, token).await;
    assert_eq!(future.body["total"], 0);

    // Pages follow forwards, newest first, each row once.
    let mut path = "AuditEvent?_count=2".to_owned();
    let mut seen: Vec<(String, i64)> = Vec::new();
    let mut total = None;
    loop {
        let page = app.fhir(&path, None, token).await;
        assert_eq!(page.status, 200, "{}", page.body);
        total.get_or_insert(page.body["total"].as_u64().expect("a total"));
        for entry in page.body["entry"].as_array().into_iter().flatten() {
            let recorded = entry["resource"]["recorded"].as_str().expect("recorded");
            let id = entry["resource"]["id"]
                .as_str()
                .and_then(|id| id.parse().ok());
            seen.push((recorded.to_owned(), id.expect("an id")));
        }
        let Some(next) = link(&page.body, "next") else {
            break;
        };
        path = relative(next).to_owned();
    }
    let unique: BTreeSet<i64> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(unique.len(), seen.len(), "each row once: {seen:?}");
    assert!(
        seen.len() as u64 >= total.expect("a total"),
        "every row of the start"
    );
    assert!(
        seen.windows(2).all(|pair| pair[0].0 >= pair[1].0),
        "newest first: {seen:?}"
    );

    let refused = app.fhir("AuditEvent", None, Some(&clinician.access)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(issue_code(&refused), "forbidden");
    let sorted = app.fhir("AuditEvent?_sort=date", None, token).await;
    assert_eq!(sorted.status, 400);
}
