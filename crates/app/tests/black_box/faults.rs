//! Reliability under faults: database outages, `kill -9` in the middle of writes, graceful
//! shutdown, concurrency limits, and two instances sharing one PostgreSQL. The time limits are
//! deadlines against hangs (waits poll, never sleep as synchronisation), not benchmarks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::process::{ServerProcess, tokio_sleep};
use crate::common::{Backend, STRONG_PASSWORD, patient_body};
use serde_json::{Value, json};

const UNAVAILABLE: &str = "Service temporarily unavailable.";

/// Stop PostgreSQL under load: every request answers 503 within the pool timeout plus 0.5 s,
/// liveness stays 200, and requests succeed again within 5 s of the database's return.
#[actix_web::test]
async fn database_outage_answers_503_then_recovers() {
    let Some(server) = healthcare_test_support::dedicated_postgres_server() else {
        return;
    };
    let url = server.create_database();
    // Two connections, so one request thread per worker (on 2 CPUs): the outage's requests
    // queue for threads, and that wait counts against their wait for a connection.
    let settings = crate::common::test_settings(
        &url,
        &[
            ("DATABASE_POOL_TIMEOUT_SECONDS", "1"),
            ("DATABASE_POOL_SIZE", "2"),
        ],
    );
    let application = healthcare_app::Application::build(settings)
        .await
        .expect("starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    actix_web::rt::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();
    let register = client
        .post(format!("{address}/api/auth/register/"))
        .json(&json!({"name": "Ann", "email": "ann@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent");
    let body: Value = register.json().await.expect("json");
    let token = body["tokens"]["access"].as_str().expect("token").to_owned();
    let list = || {
        client
            .get(format!("{address}/api/patients/"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(list().await.expect("sent").status().as_u16(), 200);

    server.halt().expect("PostgreSQL stops");
    let deadline = Duration::from_millis(1500);
    let outage_requests = (0..12).map(|_| async {
        let started = Instant::now();
        let reply = list().await.expect("answered, not dropped");
        (
            reply.status().as_u16(),
            started.elapsed(),
            reply.json::<Value>().await.expect("json"),
        )
    });
    for (status, elapsed, body) in futures_util::future::join_all(outage_requests).await {
        assert_eq!((status, body), (503, json!({"detail": UNAVAILABLE})));
        assert!(elapsed < deadline, "answered in {elapsed:?}");
    }
    let ready = client
        .get(format!("{address}/health/ready"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ready.status().as_u16(), 503);
    let live = client
        .get(format!("{address}/health/live"))
        .send()
        .await
        .expect("sent");
    assert_eq!(live.status().as_u16(), 200);

    server.resume().expect("PostgreSQL restarts");
    let back = Instant::now();
    loop {
        let reply = list().await.expect("answered");
        let status = reply.status().as_u16();
        if status == 200 {
            break;
        }
        let body = reply.text().await.unwrap_or_default();
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not recovered within 5 s: {status} {body}"
        );
        tokio_sleep(Duration::from_millis(50)).await;
    }
    eprintln!("recovered {:?} after PostgreSQL returned", back.elapsed());
}

/// What one client saw acknowledged, and what it sent without an answer.
#[derive(Default)]
struct Ledger {
    /// Patient id → ages the stored record may hold: the last acknowledged one, and any sent
    /// after it whose answer never came.
    patients: HashMap<i64, Vec<i64>>,
    /// Acknowledged mappings.
    mappings: Vec<i64>,
}

async fn client_stream(
    address: String,
    token: String,
    doctors: Vec<i64>,
    client_number: i64,
) -> Ledger {
    let client = reqwest::Client::new();
    let mut ledger = Ledger::default();
    for round in 0..1000_i64 {
        let age = (client_number * 7 + round) % 150;
        let created = client
            .post(format!("{address}/api/patients/"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("C{client_number} R{round}"), "age": age, "gender": "O"}))
            .send()
            .await;
        let Ok(created) = created else { return ledger };
        let Ok(body) = created.json::<Value>().await else {
            return ledger;
        };
        let Some(id) = body["id"].as_i64() else {
            return ledger;
        };
        ledger.patients.insert(id, vec![age]);

        let new_age = (age + 1) % 150;
        ledger.patients.entry(id).or_default().push(new_age);
        let updated = client
            .patch(format!("{address}/api/patients/{id}/"))
            .bearer_auth(&token)
            .json(&json!({"age": new_age}))
            .send()
            .await;
        match updated {
            Ok(reply) if reply.status().as_u16() == 200 => {
                ledger.patients.insert(id, vec![new_age]);
            }
            _ => return ledger,
        }

        let doctor = doctors[(round as usize) % doctors.len()];
        let assigned = client
            .post(format!("{address}/api/mappings/"))
            .bearer_auth(&token)
            .json(&json!({"patient": id, "doctor": doctor}))
            .send()
            .await;
        match assigned {
            Ok(reply) if reply.status().as_u16() == 201 => {
                let Ok(body) = reply.json::<Value>().await else {
                    return ledger;
                };
                ledger
                    .mappings
                    .push(body["id"].as_i64().expect("mapping id"));
            }
            _ => return ledger,
        }
    }
    ledger
}

async fn crash_consistency(backend: Backend) {
    let Some((url, _folder)) = crate::common::database_url(backend) else {
        return;
    };
    let server = ServerProcess::start(&url, &[]).await;
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let session: Value = client
        .post(format!("{address}/api/auth/register/"))
        .json(&json!({"name": "Ann", "email": "ann@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let token = session["tokens"]["access"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut doctors = Vec::new();
    for i in 0..3 {
        let doctor: Value = client
            .post(format!("{address}/api/doctors/"))
            .bearer_auth(&token)
            .json(&crate::common::doctor_body(&format!("Dr. {i}"), "General"))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        doctors.push(doctor["id"].as_i64().expect("id"));
    }

    let streams: Vec<_> = (0..4)
        .map(|n| {
            actix_web::rt::spawn(client_stream(
                address.clone(),
                token.clone(),
                doctors.clone(),
                n,
            ))
        })
        .collect();
    // Let the stream run until a good number of writes are acknowledged, then crash.
    let started = Instant::now();
    loop {
        let listed: Value = client
            .get(format!("{address}/api/patients/?page_size=1"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        if listed["count"].as_i64().unwrap_or(0) >= 40 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the write stream stalled"
        );
        tokio_sleep(Duration::from_millis(20)).await;
    }
    let mut server = server;
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10)).await;
    let mut ledgers = Vec::new();
    for stream in streams {
        ledgers.push(stream.await.expect("joined"));
    }
    drop(server);

    let restarted = ServerProcess::start(&url, &[]).await;
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        let address = restarted.address.clone();
        async move {
            let reply = client
                .get(format!("{address}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("sent");
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.expect("json"),
            )
        }
    };
    let mut acknowledged = 0;
    for ledger in &ledgers {
        for (id, possible_ages) in &ledger.patients {
            let (status, patient) = get(format!("/api/patients/{id}/")).await;
            assert_eq!(status, 200, "acknowledged patient {id} survived the crash");
            let age = patient["age"].as_i64().expect("age");
            assert!(
                possible_ages.contains(&age),
                "patient {id}: age {age} not in {possible_ages:?}"
            );
            acknowledged += 1;
        }
    }
    assert!(
        acknowledged >= 40,
        "the test exercised enough writes ({acknowledged})"
    );

    // Every acknowledged mapping exists, and no mapping points at a missing record.
    let mut page = 1;
    let mut seen = std::collections::HashSet::new();
    loop {
        let (status, listed) = get(format!("/api/mappings/?page_size=100&page={page}")).await;
        assert_eq!(status, 200);
        for mapping in listed["results"].as_array().expect("results") {
            seen.insert(mapping["id"].as_i64().expect("id"));
            let (patient_status, _) = get(format!("/api/patients/{}/", mapping["patient"])).await;
            let (doctor_status, _) = get(format!("/api/doctors/{}/", mapping["doctor"])).await;
            assert_eq!(
                (patient_status, doctor_status),
                (200, 200),
                "mapping {} points at live records",
                mapping["id"]
            );
        }
        if listed["next"].is_null() {
            break;
        }
        page += 1;
    }
    for ledger in &ledgers {
        for mapping in &ledger.mappings {
            assert!(
                seen.contains(mapping),
                "acknowledged mapping {mapping} survived the crash"
            );
        }
    }
    if backend == Backend::Sqlite {
        let path = url.trim_start_matches("sqlite://");
        let output = std::process::Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; db = sqlite3.connect(sys.argv[1]); \
                 print(db.execute('PRAGMA integrity_check').fetchone()[0]); \
                 print(len(db.execute('PRAGMA foreign_key_check').fetchall()), 'dangling'); \
                 print(db.execute('SELECT COUNT(*) FROM patient_doctor_mappings m \
                     LEFT JOIN patients p ON p.id = m.patient_id LEFT JOIN doctors d ON d.id = m.doctor_id \
                     WHERE p.id IS NULL OR d.id IS NULL').fetchone()[0], 'orphans')",
                path,
            ])
            .output()
            .expect("python3 runs");
        // PostgreSQL enforces the foreign keys itself; SQLite only with the pragma on, so the
        // file is checked directly: intact, no dangling reference, no orphan mapping.
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "ok\n0 dangling\n0 orphans"
        );
    }
}

#[actix_web::test]
async fn crash_consistency_on_sqlite() {
    crash_consistency(Backend::Sqlite).await;
}

#[actix_web::test]
async fn crash_consistency_on_postgres() {
    crash_consistency(Backend::Postgres).await;
}

/// SIGTERM under load: requests already received complete, new connections are refused, and
/// the process exits 0 within the shutdown timeout.
#[actix_web::test]
async fn sigterm_drains_in_flight_requests_and_exits_0() {
    let Some((url, _folder)) = crate::common::database_url(Backend::Sqlite) else {
        return;
    };
    // bcrypt at cost 10 makes each login take long enough to be in flight at the signal.
    let mut server = ServerProcess::start(
        &url,
        &[
            ("BCRYPT_COST", "10"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "10"),
            // Six simultaneous logins of one account: a burst the login throttle would count.
            ("THROTTLE_LOGIN_FAILURES", "100"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let address = server.address.clone();
    let registered = client
        .post(format!("{address}/api/auth/register/"))
        .json(&json!({"name": "Ann", "email": "ann@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(registered.status().as_u16(), 201);

    let logins: Vec<_> = (0..6)
        .map(|_| {
            let request = client
                .post(format!("{address}/api/auth/login/"))
                .json(&json!({"email": "ann@example.com", "password": STRONG_PASSWORD}))
                .send();
            actix_web::rt::spawn(request)
        })
        .collect();
    tokio_sleep(Duration::from_millis(30)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    for login in logins {
        let reply = login
            .await
            .expect("joined")
            .expect("an answer, not a dropped connection");
        assert_eq!(reply.status().as_u16(), 200, "in-flight requests complete");
    }
    let status = server.wait_exit(Duration::from_secs(12)).await;
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        server.logs()
    );
    assert!(signalled.elapsed() < Duration::from_secs(12));
    let fresh = reqwest::Client::new()
        .get(format!("{address}/health/live"))
        .send()
        .await;
    assert!(fresh.is_err(), "new connections are refused after shutdown");
}

/// More simultaneous requests than pooled connections: each is served or answers 503 within
/// the pool timeout; none hangs.
#[actix_web::test]
async fn more_requests_than_connections_never_hang() {
    let Some(app) = crate::common::spawn_app_with(
        Backend::Sqlite,
        &[
            ("DATABASE_POOL_SIZE", "2"),
            ("DATABASE_POOL_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await
    else {
        return;
    };
    let session = app.register("Ann", "ann@example.com").await;
    let requests = (0..60).map(|i| {
        let app = &app;
        let token = session.access.clone();
        async move {
            let started = Instant::now();
            let reply = if i % 2 == 0 {
                app.request(
                    "POST",
                    "/api/patients/",
                    Some(patient_body("Load")),
                    Some(&token),
                )
                .await
            } else {
                app.get("/api/patients/", &token).await
            };
            (reply.status, started.elapsed())
        }
    });
    for (status, elapsed) in futures_util::future::join_all(requests).await {
        assert!([200, 201, 503].contains(&status), "status {status}");
        assert!(
            elapsed < Duration::from_secs(10),
            "a request took {elapsed:?}"
        );
    }
}

/// A burst of sign-ins (bcrypt at a realistic cost) queues on the password pool and never holds
/// the threads reads run on: with one request thread per worker, a read sent while twelve
/// sign-ins are hashing is answered before half of them are.
#[actix_web::test]
async fn a_burst_of_sign_ins_does_not_hold_up_reads() {
    let Some(app) = crate::common::spawn_app_with(
        Backend::Sqlite,
        &[
            ("DATABASE_POOL_SIZE", "2"),
            ("BCRYPT_COST", "10"),
            ("THROTTLE_AUTH_PER_ADDRESS_PER_MINUTE", "0"),
            // Twelve simultaneous logins of one account: a burst the login throttle would count.
            ("THROTTLE_LOGIN_FAILURES", "100"),
        ],
    )
    .await
    else {
        return;
    };
    let session = app.register("Ann", "ann@example.com").await;
    let signed_in = std::sync::atomic::AtomicUsize::new(0);
    let sign_ins = (0..12).map(|_| async {
        let reply = app
            .post(
                "/api/auth/login/",
                json!({"email": "ann@example.com", "password": STRONG_PASSWORD}),
            )
            .await;
        signed_in.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        reply.status
    });
    let read = async {
        // Sent once the sign-ins are on their way.
        tokio_sleep(Duration::from_millis(50)).await;
        let reply = app.get("/api/patients/", &session.access).await;
        (
            reply.status,
            signed_in.load(std::sync::atomic::Ordering::SeqCst),
        )
    };
    let (statuses, (read_status, signed_in_before_the_read)) =
        tokio::join!(futures_util::future::join_all(sign_ins), read);
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(read_status, 200);
    assert!(
        signed_in_before_the_read < 6,
        "the read waited for {signed_in_before_the_read} of 12 sign-ins"
    );
}

/// Eight concurrent writers on SQLite never see "database is locked" (or any error).
#[actix_web::test]
async fn eight_concurrent_writers_on_sqlite_never_fail() {
    let Some(app) = crate::common::spawn_app(Backend::Sqlite).await else {
        return;
    };
    let session = app.register("Ann", "ann@example.com").await;
    let writers = (0..8).map(|writer| {
        let app = &app;
        let token = session.access.clone();
        async move {
            let mut failures = Vec::new();
            for i in 0..200 {
                let reply = app
                    .request(
                        "POST",
                        "/api/patients/",
                        Some(patient_body(&format!("W{writer} #{i}"))),
                        Some(&token),
                    )
                    .await;
                if reply.status != 201 {
                    failures.push((reply.status, reply.body));
                }
            }
            failures
        }
    });
    let failures: Vec<_> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(
        app.get("/api/patients/?page_size=1", &session.access)
            .await
            .body["count"],
        1600
    );
}

/// Two instances on one PostgreSQL behave as one: they start together (migrations run once),
/// a refresh token issued by one rotates at the other, and reuse is caught by either.
#[actix_web::test]
async fn two_instances_share_one_postgres() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    let first = ServerProcess::spawn(&url, &[]);
    let second = ServerProcess::spawn(&url, &[]);
    first.wait_ready(Duration::from_secs(20)).await;
    second.wait_ready(Duration::from_secs(20)).await;
    let applied: usize = [&first, &second]
        .iter()
        .map(|s| s.logs().matches("migration applied").count())
        .sum();
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/postgres"
    ))
    .expect("migrations folder")
    .count();
    assert_eq!(
        applied,
        migrations,
        "each migration ran once in all:\n{}\n{}",
        first.logs(),
        second.logs()
    );

    let client = reqwest::Client::new();
    let session: Value = client
        .post(format!("{}/api/auth/register/", first.address))
        .json(&json!({"name": "Ann", "email": "ann@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let issued = session["tokens"]["refresh"].clone();
    let rotated = client
        .post(format!("{}/api/auth/token/refresh/", second.address))
        .json(&json!({"refresh": issued}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        rotated.status().as_u16(),
        200,
        "issued by one, rotated at the other"
    );
    let rotated: Value = rotated.json().await.expect("json");
    let access = rotated["access"].as_str().expect("access").to_owned();
    let me_at = |server: &ServerProcess| {
        client
            .get(format!("{}/api/auth/me/", server.address))
            .bearer_auth(&access)
            .send()
    };
    for server in [&first, &second] {
        let me = me_at(server).await.expect("sent");
        assert_eq!(
            me.status().as_u16(),
            200,
            "tokens are valid on every instance"
        );
    }

    let replay = client
        .post(format!("{}/api/auth/token/refresh/", first.address))
        .json(&json!({"refresh": issued}))
        .send()
        .await
        .expect("sent");
    assert_eq!(replay.status().as_u16(), 401);
    assert_eq!(
        replay.json::<Value>().await.expect("json")["detail"],
        "Token is blacklisted"
    );
    // The replay reveals a theft: the user's access tokens are refused at once where it was
    // seen, and within the account cache period on the other instance.
    let me = me_at(&first).await.expect("sent");
    assert_eq!(
        me.status().as_u16(),
        401,
        "refused at once where the theft was seen"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while me_at(&second).await.expect("sent").status().as_u16() != 401 {
        assert!(
            Instant::now() < deadline,
            "still accepted by the other instance after 15 s"
        );
        tokio_sleep(Duration::from_millis(250)).await;
    }
    let descendant = client
        .post(format!("{}/api/auth/token/refresh/", second.address))
        .json(&json!({"refresh": rotated["refresh"]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        descendant.status().as_u16(),
        401,
        "the family was revoked for both instances"
    );

    // Login throttling counts failures at both instances together.
    for (attempt, server) in [&first, &second, &first, &second, &first]
        .iter()
        .enumerate()
    {
        let reply = client
            .post(format!("{}/api/auth/login/", server.address))
            .json(&json!({"email": "ann@example.com", "password": "wrong-password-1"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(reply.status().as_u16(), 401, "failure {attempt}");
    }
    let throttled = client
        .post(format!("{}/api/auth/login/", second.address))
        .json(&json!({"email": "ann@example.com", "password": STRONG_PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        throttled.status().as_u16(),
        429,
        "five failures across two instances throttle the sixth"
    );
}
