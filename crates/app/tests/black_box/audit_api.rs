//! The audit trail, black-box: every audited request leaves exactly one row with the right
//! fields, `GET /api/audit/` is for staff only, and the chain stays valid under concurrent
//! requests. On SQLite and PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{Reply, Session, TestApp};
use healthcare_core::Page;
use healthcare_core::ports::{AuditFilter, AuditRepository, AuditTrail};
use healthcare_core::services::{AuditService, Caller};
use healthcare_domain::audit::{AuditAction, AuditRecord, DEFAULT_MAX_SKEW_SECONDS, RequestOrigin};
use healthcare_domain::patient::PatientId;
use healthcare_domain::registration::RegistrationInput;
use healthcare_persistence::{DbPool, DieselAuditRepository};
use serde_json::{Value, json};

fn pool(app: &TestApp) -> DbPool {
    crate::common::direct_pool(&app.settings.database, &app.settings.audit_key.key)
}

fn console_trail(pool: &DbPool) -> Arc<dyn AuditTrail> {
    Arc::new(healthcare_app::wiring::ImmediateAuditTrail(Arc::new(
        DieselAuditRepository::new(pool.clone()),
    )))
}

/// Every stored row, oldest first.
fn stored(pool: &DbPool) -> Vec<AuditRecord> {
    let repository = DieselAuditRepository::new(pool.clone());
    let mut rows = Vec::new();
    for number in 1.. {
        let page = Page { number, size: 100 };
        let found = repository
            .list(&AuditFilter::default(), page)
            .expect("list");
        let done = found.items.len() < 100;
        rows.extend(found.items);
        if done {
            break;
        }
    }
    rows.reverse();
    rows
}

/// The rows of each request id, once every id in `expected` has its rows (reads are written
/// in batches within a second) and nothing more arrives.
async fn rows_by_request(pool: &DbPool, expected: &[&str]) -> HashMap<String, Vec<AuditRecord>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut by_request: HashMap<String, Vec<AuditRecord>> = HashMap::new();
        for row in stored(pool) {
            if let Some(id) = row.event.origin.request_id.clone() {
                by_request.entry(id).or_default().push(row);
            }
        }
        if expected.iter().all(|id| by_request.contains_key(*id)) {
            // One more flush interval, so a duplicate would have arrived too.
            actix_web::rt::time::sleep(Duration::from_millis(600)).await;
            let mut settled: HashMap<String, Vec<AuditRecord>> = HashMap::new();
            for row in stored(pool) {
                if let Some(id) = row.event.origin.request_id.clone() {
                    settled.entry(id).or_default().push(row);
                }
            }
            return settled;
        }
        assert!(
            Instant::now() < deadline,
            "audit rows missing for some of {expected:?}; have {:?}",
            by_request.keys().collect::<Vec<_>>()
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call(
    app: &TestApp,
    request_id: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .header("X-Request-Id", request_id);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

async fn login(app: &TestApp, request_id: &str, email: &str, password: &str) -> Reply {
    let body = json!({"email": email, "password": password});
    call(
        app,
        request_id,
        "POST",
        "/api/auth/login/",
        Some(body),
        None,
    )
    .await
}

/// A staff user (made as `healthcare-admin createsuperuser` does), with a second factor,
/// signed in with both factors (request `s-second-factor`): what the whole trail requires.
async fn staff(app: &TestApp, pool: &DbPool) -> Session {
    let auth = healthcare_app::wiring::auth_service(&app.settings, pool, console_trail(pool));
    let input = RegistrationInput {
        name: Some("Sam Staff".into()),
        email: Some("staff@clinic.org".into()),
        password: Some(crate::common::STRONG_PASSWORD.into()),
        ..Default::default()
    };
    let user = actix_web::rt::task::spawn_blocking(move || auth.create_staff_user(input))
        .await
        .expect("joined")
        .expect("staff created");
    let reply = login(
        app,
        "staff-login",
        "staff@clinic.org",
        crate::common::STRONG_PASSWORD,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let password_only = Session {
        access: reply.body["tokens"]["access"]
            .as_str()
            .expect("access")
            .into(),
        refresh: reply.body["tokens"]["refresh"]
            .as_str()
            .expect("refresh")
            .into(),
        user_id: user.id.0,
    };
    let listed = call(
        app,
        "s-password-only",
        "GET",
        "/api/audit/",
        None,
        Some(&password_only.access),
    )
    .await;
    assert_eq!(
        (listed.status, listed.body["code"].as_str()),
        (403, Some("second_factor_required")),
        "a password alone does not open the whole trail: {}",
        listed.body
    );
    app.enrol_second_factor(user.id.0).await;
    app.confirm_second_factor(&password_only, "s-second-factor")
        .await
}

/// What one row must say.
struct Expect {
    request_id: &'static str,
    actor: Option<i64>,
    action: &'static str,
    resource_id: Option<i64>,
    patient_id: Option<i64>,
    outcome: &'static str,
}

async fn every_audited_request_leaves_exactly_one_row(app: TestApp) {
    let pool = pool(&app);
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let staff = staff(&app, &pool).await;
    let doctor = app.create_doctor(&ann, "Dr. Ada", "Cardiology").await;
    let token = Some(ann.access.as_str());

    let created = call(
        &app,
        "p-create",
        "POST",
        "/api/patients/",
        Some(crate::common::patient_body("Jane Roe")),
        token,
    )
    .await;
    assert_eq!(created.status, 201);
    let patient = created.body["id"].as_i64().expect("id");
    let path = format!("/api/patients/{patient}/");
    assert_eq!(
        call(&app, "p-read", "GET", &path, None, token).await.status,
        200
    );
    assert_eq!(
        call(
            &app,
            "p-list",
            "GET",
            "/api/patients/?search=jane",
            None,
            token
        )
        .await
        .status,
        200
    );
    let patch = Some(json!({"age": 46}));
    assert_eq!(
        call(&app, "p-update", "PATCH", &path, patch, token)
            .await
            .status,
        200
    );
    let bad = Some(json!({"age": 400}));
    assert_eq!(
        call(&app, "p-update-bad", "PATCH", &path, bad, token)
            .await
            .status,
        400
    );
    let bobs = Some(bob.access.as_str());
    assert_eq!(
        call(&app, "p-read-foreign", "GET", &path, None, bobs)
            .await
            .status,
        404
    );
    assert_eq!(
        call(&app, "p-delete-foreign", "DELETE", &path, None, bobs)
            .await
            .status,
        404
    );
    assert_eq!(
        call(
            &app,
            "p-read-missing",
            "GET",
            "/api/patients/999999/",
            None,
            token
        )
        .await
        .status,
        404
    );

    let assignment = Some(json!({"patient": patient, "doctor": doctor}));
    let assigned = call(
        &app,
        "m-create",
        "POST",
        "/api/mappings/",
        assignment,
        token,
    )
    .await;
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    let mapping = assigned.body["id"].as_i64().expect("id");
    let foreign = Some(json!({"patient": patient, "doctor": doctor}));
    assert_eq!(
        call(
            &app,
            "m-create-foreign",
            "POST",
            "/api/mappings/",
            foreign,
            bobs
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(&app, "m-list", "GET", "/api/mappings/", None, token)
            .await
            .status,
        200
    );
    let by_patient = format!("/api/mappings/{patient}/");
    assert_eq!(
        call(&app, "m-by-patient", "GET", &by_patient, None, token)
            .await
            .status,
        200
    );
    let mapping_path = format!("/api/mappings/{mapping}/");
    let notes = Some(json!({"notes": "follow-up"}));
    assert_eq!(
        call(&app, "m-update", "PATCH", &mapping_path, notes, token)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&app, "m-remove", "DELETE", &mapping_path, None, token)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&app, "p-delete", "DELETE", &path, None, token)
            .await
            .status,
        204
    );

    let session = login(
        &app,
        "a-login",
        "ann@example.com",
        crate::common::STRONG_PASSWORD,
    )
    .await;
    assert_eq!(session.status, 200);
    assert_eq!(
        login(&app, "a-login-bad", "ann@example.com", "wrong-password")
            .await
            .status,
        401
    );
    assert_eq!(
        login(
            &app,
            "a-login-nobody",
            "nobody@example.com",
            "wrong-password"
        )
        .await
        .status,
        401
    );
    let refresh = Some(json!({"refresh": session.body["tokens"]["refresh"]}));
    let refreshed = call(
        &app,
        "a-refresh",
        "POST",
        "/api/auth/token/refresh/",
        refresh.clone(),
        None,
    )
    .await;
    assert_eq!(refreshed.status, 200);
    assert_eq!(
        call(
            &app,
            "a-refresh-reuse",
            "POST",
            "/api/auth/token/refresh/",
            refresh,
            None
        )
        .await
        .status,
        401
    );
    // The replay refused Ann's access tokens issued so far, and signing out refuses those of
    // its moment: each step below signs in afresh.
    let again = login(
        &app,
        "a-login-again",
        "ann@example.com",
        crate::common::STRONG_PASSWORD,
    )
    .await;
    let logout = Some(json!({"refresh": again.body["tokens"]["refresh"]}));
    let again_token = again.body["tokens"]["access"].as_str();
    assert_eq!(
        call(
            &app,
            "a-logout",
            "POST",
            "/api/auth/logout/",
            logout,
            again_token
        )
        .await
        .status,
        204
    );
    let last = login(
        &app,
        "a-login-last",
        "ann@example.com",
        crate::common::STRONG_PASSWORD,
    )
    .await;
    let token = last.body["tokens"]["access"].as_str();
    let change = Some(
        json!({"old_password": crate::common::STRONG_PASSWORD, "new_password": "tangerine-lorry-57-quay"}),
    );
    assert_eq!(
        call(
            &app,
            "a-password",
            "POST",
            "/api/auth/password/",
            change,
            token
        )
        .await
        .status,
        204
    );

    assert_eq!(
        call(&app, "audit-denied", "GET", "/api/audit/", None, bobs)
            .await
            .status,
        403
    );
    let listed = call(
        &app,
        "audit-read",
        "GET",
        "/api/audit/?action=patient.read",
        None,
        Some(&staff.access),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);

    // Restoring is an operator's action at the console.
    let (patients, _, _) = healthcare_app::wiring::record_services(&pool, &console_trail(&pool));
    let origin = RequestOrigin {
        client_address: None,
        request_id: Some("p-restore".into()),
    };
    actix_web::rt::task::spawn_blocking(move || {
        patients.restore_patient(&Caller::operator(origin), PatientId(patient))
    })
    .await
    .expect("joined")
    .expect("restored");

    let (a, b, s) = (Some(ann.user_id), Some(bob.user_id), Some(staff.user_id));
    let (p, m) = (Some(patient), Some(mapping));
    #[rustfmt::skip]
    let expected = [
        Expect { request_id: "p-create", actor: a, action: "patient.create", resource_id: p, patient_id: p, outcome: "success" },
        Expect { request_id: "p-read", actor: a, action: "patient.read", resource_id: p, patient_id: p, outcome: "success" },
        Expect { request_id: "p-list", actor: a, action: "patient.list", resource_id: None, patient_id: None, outcome: "success" },
        Expect { request_id: "p-update", actor: a, action: "patient.update", resource_id: p, patient_id: p, outcome: "success" },
        Expect { request_id: "p-update-bad", actor: a, action: "patient.update", resource_id: p, patient_id: p, outcome: "failure" },
        Expect { request_id: "p-read-foreign", actor: b, action: "patient.read", resource_id: p, patient_id: p, outcome: "denied" },
        Expect { request_id: "p-delete-foreign", actor: b, action: "patient.delete", resource_id: p, patient_id: p, outcome: "denied" },
        Expect { request_id: "p-read-missing", actor: a, action: "patient.read", resource_id: Some(999_999), patient_id: Some(999_999), outcome: "failure" },
        Expect { request_id: "m-create", actor: a, action: "mapping.create", resource_id: m, patient_id: p, outcome: "success" },
        Expect { request_id: "m-create-foreign", actor: b, action: "mapping.create", resource_id: None, patient_id: p, outcome: "denied" },
        Expect { request_id: "m-list", actor: a, action: "mapping.list", resource_id: None, patient_id: None, outcome: "success" },
        Expect { request_id: "m-by-patient", actor: a, action: "mapping.list", resource_id: None, patient_id: p, outcome: "success" },
        Expect { request_id: "m-update", actor: a, action: "mapping.update", resource_id: m, patient_id: p, outcome: "success" },
        Expect { request_id: "m-remove", actor: a, action: "mapping.remove", resource_id: m, patient_id: p, outcome: "success" },
        Expect { request_id: "p-delete", actor: a, action: "patient.delete", resource_id: p, patient_id: p, outcome: "success" },
        Expect { request_id: "a-login", actor: a, action: "auth.login", resource_id: a, patient_id: None, outcome: "success" },
        Expect { request_id: "a-login-bad", actor: a, action: "auth.login", resource_id: a, patient_id: None, outcome: "failure" },
        Expect { request_id: "a-login-nobody", actor: None, action: "auth.login", resource_id: None, patient_id: None, outcome: "failure" },
        Expect { request_id: "a-refresh", actor: a, action: "auth.refresh", resource_id: a, patient_id: None, outcome: "success" },
        Expect { request_id: "a-refresh-reuse", actor: a, action: "auth.refresh", resource_id: a, patient_id: None, outcome: "denied" },
        Expect { request_id: "a-login-again", actor: a, action: "auth.login", resource_id: a, patient_id: None, outcome: "success" },
        Expect { request_id: "a-logout", actor: a, action: "auth.logout", resource_id: a, patient_id: None, outcome: "success" },
        Expect { request_id: "a-login-last", actor: a, action: "auth.login", resource_id: a, patient_id: None, outcome: "success" },
        Expect { request_id: "a-password", actor: a, action: "auth.password_change", resource_id: a, patient_id: None, outcome: "success" },
        Expect { request_id: "s-password-only", actor: s, action: "audit.read", resource_id: None, patient_id: None, outcome: "denied" },
        Expect { request_id: "s-second-factor", actor: s, action: "auth.second_factor", resource_id: s, patient_id: None, outcome: "success" },
        Expect { request_id: "audit-denied", actor: b, action: "audit.read", resource_id: None, patient_id: None, outcome: "denied" },
        Expect { request_id: "audit-read", actor: s, action: "audit.read", resource_id: None, patient_id: None, outcome: "success" },
        Expect { request_id: "p-restore", actor: None, action: "patient.restore", resource_id: p, patient_id: p, outcome: "success" },
    ];
    let ids: Vec<&str> = expected.iter().map(|e| e.request_id).collect();
    let rows = rows_by_request(&pool, &ids).await;
    for expect in &expected {
        let found = &rows[expect.request_id];
        assert_eq!(
            found.len(),
            1,
            "{}: exactly one row, got {found:?}",
            expect.request_id
        );
        let event = &found[0].event;
        let got = (
            event.actor.map(|u| u.0),
            event.action.as_str(),
            event.resource_id,
            event.patient_id.map(|p| p.0),
            event.outcome.as_str(),
        );
        let want = (
            expect.actor,
            expect.action,
            expect.resource_id,
            expect.patient_id,
            expect.outcome,
        );
        assert_eq!(got, want, "{}", expect.request_id);
        let address = event.origin.client_address.as_deref();
        if expect.request_id != "p-restore" {
            assert_eq!(address, Some("127.0.0.1"), "{}", expect.request_id);
        }
    }
}

async fn the_audit_api_is_for_staff_filtered_paginated_and_newest_first(app: TestApp) {
    let pool = pool(&app);
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let staff = staff(&app, &pool).await;
    let first = app.create_patient(&ann, "Jane Roe").await;
    let second = app.create_patient(&ann, "John Doe").await;
    for _ in 0..3 {
        app.get(&format!("/api/patients/{first}/"), &ann.access)
            .await;
    }
    app.get(&format!("/api/patients/{second}/"), &ann.access)
        .await;

    let reply = app.get("/api/audit/", &ann.access).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.body,
        json!({"detail": "You do not have permission to perform this action."})
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let reply = app
            .get(
                &format!("/api/audit/?patient={first}&action=patient.read&page_size=2"),
                &staff.access,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        if reply.body["count"] == 3 || Instant::now() > deadline {
            break reply.body;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["count"], 3, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert!(
        body["next"]
            .as_str()
            .is_some_and(|next| next.contains("page=2"))
    );
    let row = &results[0];
    let keys: Vec<&str> = row
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            "action",
            "actor_user_id",
            "at",
            "break_glass",
            "client_address",
            "id",
            "outcome",
            "patient_id",
            "request_id",
            "resource_id",
            "resource_type"
        ]
        .into_iter()
        .collect(),
    );
    assert_eq!(row["break_glass"], false, "no grant was involved");
    assert_eq!(
        (row["actor_user_id"].as_i64(), row["patient_id"].as_i64()),
        (Some(ann.user_id), Some(first))
    );
    assert_eq!(
        (&row["resource_type"], &row["outcome"]),
        (&json!("patient"), &json!("success"))
    );
    assert!(
        results[0]["at"].as_str() >= results[1]["at"].as_str(),
        "newest first"
    );

    let filtered = app
        .get(
            &format!(
                "/api/audit/?user={}&outcome=success&action=patient.create",
                ann.user_id
            ),
            &staff.access,
        )
        .await;
    assert_eq!(filtered.body["count"], 2, "{}", filtered.body);
    let future = app
        .get("/api/audit/?since=2999-01-01T00:00:00Z", &staff.access)
        .await;
    assert_eq!(future.body["count"], 0);
    let past = app
        .get(
            "/api/audit/?until=2000-01-01T00:00:00%2B02:00",
            &staff.access,
        )
        .await;
    assert_eq!(past.body["count"], 0);

    for (query, field) in [
        ("action=patient.peek", "action"),
        ("outcome=maybe", "outcome"),
        ("since=yesterday", "since"),
        ("user=abc", "user"),
    ] {
        let reply = app
            .get(&format!("/api/audit/?{query}"), &staff.access)
            .await;
        assert_eq!(reply.status, 400, "{query}");
        assert!(reply.body[field].is_array(), "{query}: {}", reply.body);
        // Someone who may not read the trail is refused whatever the filters say.
        let refused = app.get(&format!("/api/audit/?{query}"), &ann.access).await;
        assert_eq!(refused.status, 403, "{query}: {}", refused.body);
    }
    assert_eq!(
        app.request("GET", "/api/audit/", None, None).await.status,
        401
    );
}

async fn the_chain_stays_valid_under_concurrent_requests(app: TestApp) {
    let pool = pool(&app);
    let app = Arc::new(app);
    let ann = Arc::new(app.register("Ann Lee", "ann@example.com").await);
    let patient = app.create_patient(&ann, "Jane Roe").await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (app, ann) = (app.clone(), ann.clone());
        tasks.push(actix_web::rt::spawn(async move {
            for round in 0..15 {
                if round % 3 == 0 {
                    app.create_patient(&ann, &format!("Patient {worker}-{round}"))
                        .await;
                } else {
                    app.get(&format!("/api/patients/{patient}/"), &ann.access)
                        .await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let repository: Arc<dyn AuditRepository> = Arc::new(DieselAuditRepository::new(pool.clone()));
    let deadline = Instant::now() + Duration::from_secs(15);
    let rows = loop {
        let rows = stored(&pool);
        let pending = repository.pending_seal().expect("pending");
        // 1 create + 8 × 15 requests, all sealed by the server's sealer.
        if (rows.len() >= 121 && pending.rows == 0) || Instant::now() > deadline {
            break rows;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(rows.len(), 121);
    let mut seqs: Vec<i64> = rows
        .iter()
        .filter_map(|row| row.seal.map(|s| s.seq))
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=121).collect::<Vec<_>>(),
        "contiguous, no duplicates"
    );
    let service = AuditService::new(
        repository,
        console_trail(&pool),
        Arc::new(healthcare_app::clock::SystemClock),
    );
    let key = app.settings.audit_key.key.clone();
    let report = actix_web::rt::task::spawn_blocking(move || {
        service.verify(&key, None, DEFAULT_MAX_SKEW_SECONDS)
    })
    .await
    .expect("joined")
    .expect("verified");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checked, 121);
}

/// Reads in parallel, faster than rows are written one by one: every answered read has its
/// row, none is dropped or doubled.
async fn concurrent_reads_leave_exactly_one_row_each(app: TestApp) {
    const TASKS: usize = 64;
    const READS_PER_TASK: usize = 8;
    let pool = pool(&app);
    let app = Arc::new(app);
    let ann = Arc::new(app.register("Ann Lee", "ann@example.com").await);
    let patient = app.create_patient(&ann, "Jane Roe").await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (app, ann) = (app.clone(), ann.clone());
            actix_web::rt::spawn(async move {
                for _ in 0..READS_PER_TASK {
                    let reply = app
                        .get(&format!("/api/patients/{patient}/"), &ann.access)
                        .await;
                    assert_eq!(reply.status, 200, "{}", reply.body);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let reads = || {
        stored(&pool)
            .into_iter()
            .filter(|row| {
                row.event.action == AuditAction::PatientRead
                    && row.event.patient_id == Some(PatientId(patient))
            })
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while reads() < TASKS * READS_PER_TASK && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reads(), TASKS * READS_PER_TASK);
}

/// Deleting a doctor ends every owner's mappings to it, each recorded as a `mapping.remove` row
/// of the request, with the doctor's creator as actor; a refused delete records nothing.
async fn deleting_a_doctor_records_each_mapping_it_ends(app: TestApp) {
    let pool = pool(&app);
    let ann = app.register("Ann Lee", "ann@example.com").await;
    let bob = app.register("Bob Roe", "bob@example.com").await;
    let doctor = app.create_doctor(&ann, "Dr. Ada", "Cardiology").await;
    let (jane, joe) = (
        app.create_patient(&ann, "Jane Roe").await,
        app.create_patient(&bob, "Joe Doe").await,
    );
    let ended = [
        (app.assign(&ann, jane, doctor).await, jane),
        (app.assign(&bob, joe, doctor).await, joe),
    ];
    let path = format!("/api/doctors/{doctor}/");
    let refused = call(
        &app,
        "d-delete-foreign",
        "DELETE",
        &path,
        None,
        Some(&bob.access),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let deleted = call(&app, "d-delete", "DELETE", &path, None, Some(&ann.access)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // A read after the delete, so the refused delete's row would have arrived by then.
    let read = call(
        &app,
        "p-read-after",
        "GET",
        &format!("/api/patients/{jane}/"),
        None,
        Some(&ann.access),
    )
    .await;
    assert_eq!(read.status, 200);

    let rows = rows_by_request(&pool, &["d-delete", "p-read-after"]).await;
    assert!(
        !rows.contains_key("d-delete-foreign"),
        "a refused delete records nothing: {:?}",
        rows.get("d-delete-foreign")
    );
    let mut got: Vec<_> = rows["d-delete"]
        .iter()
        .map(|row| {
            let event = &row.event;
            (
                event.actor.map(|u| u.0),
                event.action.as_str(),
                event.resource_id,
                event.patient_id.map(|p| p.0),
                event.outcome.as_str(),
                event.origin.client_address.clone(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<_> = ended
        .iter()
        .map(|(mapping, patient)| {
            (
                Some(ann.user_id),
                "mapping.remove",
                Some(*mapping),
                Some(*patient),
                "success",
                Some("127.0.0.1".to_owned()),
            )
        })
        .collect();
    assert_eq!(
        got, want,
        "one row per ended mapping, of both owners' patients"
    );
    let remaining = app.get(&format!("/api/mappings/{joe}/"), &bob.access).await;
    assert_eq!(remaining.status, 200, "{}", remaining.body);
    assert_eq!(
        remaining.body["assigned_doctors"],
        json!([]),
        "the other owner's mapping ended too"
    );
}

// The tests name each request with `X-Request-Id`, which the server keeps only from a trusted
// proxy: the test client plays one (without `X-Forwarded-For` its own address is recorded).
on_both_backends!(
    settings: &[("TRUSTED_PROXIES", "127.0.0.1")];
    every_audited_request_leaves_exactly_one_row,
    deleting_a_doctor_records_each_mapping_it_ends,
    the_audit_api_is_for_staff_filtered_paginated_and_newest_first,
    the_chain_stays_valid_under_concurrent_requests,
    concurrent_reads_leave_exactly_one_row_each,
);
