//! Login throttling per e-mail and the per-address limit of the auth routes.

use crate::common::{STRONG_PASSWORD, TestApp};
use serde_json::json;

on_both_backends!(
    five_failures_throttle_an_email_whether_or_not_it_exists,
    a_successful_login_resets_the_count,
    parallel_guesses_cannot_slip_under_the_limit,
);

/// A login attempt from `address`, as a trusted proxy reports it.
async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> crate::common::Reply {
    let request = app
        .client
        .post(format!("{}/api/auth/login/", app.address))
        .header("X-Forwarded-For", address)
        .json(&json!({"email": email, "password": password}));
    app.send(request).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> crate::common::Reply {
    app.post(
        "/api/auth/login/",
        json!({"email": email, "password": password}),
    )
    .await
}

async fn five_failures_throttle_an_email_whether_or_not_it_exists(app: TestApp) {
    app.register("Ann", "ann@example.com").await;
    for email in ["ann@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            assert_eq!(
                login(&app, email, "wrong-password-1").await.status,
                401,
                "{email}"
            );
        }
        let throttled = login(&app, &email.to_uppercase(), STRONG_PASSWORD).await;
        assert_eq!(
            throttled.status, 429,
            "{email}: even the right password, in any case"
        );
        let detail = throttled.body["detail"].as_str().expect("detail");
        assert!(
            detail.starts_with("Request was throttled. Expected available in "),
            "{detail}"
        );
        let retry_after: u64 = throttled
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        assert!(detail.contains(&format!("in {retry_after} seconds")));
    }
    assert_eq!(
        login(&app, "other@example.com", "wrong-password-1")
            .await
            .status,
        401,
        "other e-mails are unaffected"
    );
}

async fn a_successful_login_resets_the_count(app: TestApp) {
    app.register("Ann", "ann@example.com").await;
    for _ in 0..4 {
        assert_eq!(
            login(&app, "ann@example.com", "wrong-password-1")
                .await
                .status,
            401
        );
    }
    assert_eq!(
        login(&app, "ann@example.com", STRONG_PASSWORD).await.status,
        200
    );
    for _ in 0..4 {
        assert_eq!(
            login(&app, "ann@example.com", "wrong-password-1")
                .await
                .status,
            401
        );
    }
    assert_eq!(
        login(&app, "ann@example.com", STRONG_PASSWORD).await.status,
        200
    );
}

async fn parallel_guesses_cannot_slip_under_the_limit(app: TestApp) {
    app.register("Ann", "ann@example.com").await;
    let guesses = (0..12).map(|i| {
        login(
            &app,
            "ann@example.com",
            if i == 0 { "wrong-a-1" } else { "wrong-b-2" },
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    let judged = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        judged <= 5,
        "at most five guesses were checked: {statuses:?}"
    );
    assert_eq!(
        judged + statuses.iter().filter(|s| **s == 429).count(),
        12,
        "{statuses:?}"
    );
}

/// A fixed one-minute window can roll over in the middle of a burst; each attempt uses a new
/// client address (through a trusted proxy's `X-Forwarded-For`) and is judged only when the
/// whole burst fell in one minute.
#[actix_web::test]
async fn auth_routes_are_limited_per_client_address() {
    let app = crate::common::spawn_app_with(
        crate::common::Backend::Sqlite,
        &[
            ("THROTTLE_AUTH_PER_ADDRESS_PER_MINUTE", "3"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await
    .expect("sqlite");
    let session = app.register("Ann", "ann@example.com").await;
    for attempt in 0..3 {
        let address = format!("198.51.100.{attempt}");
        let minute = || chrono::Utc::now().timestamp() / 60;
        let started = minute();
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let request = app
                .client
                .post(format!("{}/api/auth/token/refresh/", app.address))
                .header("X-Forwarded-For", &address)
                .json(&json!({"refresh": "not-a-token"}));
            let reply = app.send(request).await;
            if reply.status == 429 {
                assert!(reply.header("retry-after").is_some());
            }
            statuses.push(reply.status);
        }
        if minute() != started {
            continue;
        }
        assert_eq!(statuses, vec![401, 401, 401, 429, 429], "{address}");
        let other = app
            .send(
                app.client
                    .get(format!("{}/api/auth/me/", app.address))
                    .header("X-Forwarded-For", &address)
                    .bearer_auth(&session.access),
            )
            .await;
        assert_eq!(
            other.status, 200,
            "only the auth routes that take credentials are limited"
        );
        return;
    }
    panic!("every attempt straddled a minute boundary");
}

#[actix_web::test]
async fn zero_disables_the_per_address_limit() {
    let app = crate::common::spawn_app_with(
        crate::common::Backend::Sqlite,
        &[("THROTTLE_AUTH_PER_ADDRESS_PER_MINUTE", "0")],
    )
    .await
    .expect("sqlite");
    for _ in 0..70 {
        let reply = app
            .post(
                "/api/auth/token/refresh/",
                json!({"refresh": "not-a-token"}),
            )
            .await;
        assert_eq!(reply.status, 401);
    }
}

/// Guesses from one address lock that address out of the account, not the account's owner
/// elsewhere; guesses from many addresses hit the higher per-account ceiling.
#[actix_web::test]
async fn a_guesser_elsewhere_cannot_lock_the_owner_out() {
    let app = crate::common::spawn_app_with(
        crate::common::Backend::Sqlite,
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("THROTTLE_LOGIN_FAILURES_PER_EMAIL", "8"),
        ],
    )
    .await
    .expect("sqlite");
    app.register("Ann", "ann@example.com").await;
    let attacker = "198.51.100.66";
    for _ in 0..5 {
        let guess = login_from(&app, attacker, "ann@example.com", "wrong-password-1").await;
        assert_eq!(guess.status, 401);
    }
    let locked = login_from(&app, attacker, "ann@example.com", STRONG_PASSWORD).await;
    assert_eq!(locked.status, 429, "the guesser's address is locked out");
    let owner = login_from(&app, "203.0.113.7", "ann@example.com", STRONG_PASSWORD).await;
    assert_eq!(
        owner.status, 200,
        "the owner, elsewhere, is not: {}",
        owner.body
    );

    // The per-account ceiling of eight counts every attempt from every address, the owner's
    // too (only the owner's address is cleared by their success): two more guesses reach it.
    for _ in 0..2 {
        let guess = login_from(&app, "192.0.2.5", "ann@example.com", "wrong-password-1").await;
        assert_eq!(guess.status, 401);
    }
    let everywhere = login_from(&app, "203.0.113.8", "ann@example.com", STRONG_PASSWORD).await;
    assert_eq!(
        everywhere.status, 429,
        "past the ceiling every address waits"
    );
}

/// Attempts refused during a lock are not counted: hammering a locked account does not keep
/// it locked past the window of the failures that locked it.
#[actix_web::test]
async fn attempts_during_a_lock_do_not_extend_it() {
    let app = crate::common::spawn_app_with(
        crate::common::Backend::Sqlite,
        &[("THROTTLE_LOGIN_WINDOW_SECONDS", "2")],
    )
    .await
    .expect("sqlite");
    app.register("Ann", "ann@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            login(&app, "ann@example.com", "wrong-password-1")
                .await
                .status,
            401
        );
    }
    let locked_at = std::time::Instant::now();
    let deadline = locked_at + std::time::Duration::from_secs(6);
    loop {
        let attempt = login(&app, "ann@example.com", STRONG_PASSWORD).await;
        if attempt.status == 200 {
            break;
        }
        assert_eq!(attempt.status, 429, "{}", attempt.body);
        assert!(
            std::time::Instant::now() < deadline,
            "still locked 6 s into a 2 s window: the refused attempts extended the lock"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
