//! Users, refresh tokens and migrations.

use super::*;

contract!(
    insert_returns_the_user_with_an_id,
    insert_reports_a_duplicate_email_ignoring_case_as_conflict,
    find_returns_none_for_unknown_ids_and_emails,
    timestamps_round_trip_with_microseconds,
    set_active_reports_unknown_ids,
    the_token_cut_off_only_moves_forward,
    rotate_spends_a_token_once,
    revoke_family_and_user_touch_only_their_tokens,
    migrations_are_idempotent,
);

fn insert_returns_the_user_with_an_id(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let first = users
        .insert(&new_user("Ann@Example.com"))
        .expect("inserted");
    let second = users
        .insert(&new_user("bob@example.com"))
        .expect("inserted");
    assert!(first.id.0 > 0 && second.id.0 > first.id.0);
    assert_eq!(first.email, "Ann@Example.com");
    assert!(first.is_active && !first.is_staff);
    assert_eq!(
        users.find_by_id(first.id).expect("found"),
        Some(first.clone())
    );
    let credentials = users
        .find_credentials_by_email("ann@example.com")
        .expect("ok")
        .expect("found");
    assert_eq!(credentials.user, first);
    assert_eq!(credentials.password_hash, "$2b$04$hash");
    assert_eq!(users.list().expect("listed"), vec![first, second]);
}

fn insert_reports_a_duplicate_email_ignoring_case_as_conflict(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    assert_eq!(
        users.insert(&new_user("ANN@example.COM")),
        Err(RepoError::Conflict)
    );
    // Unicode-aware lower-casing, done by the application, so both databases agree.
    users
        .insert(&new_user("élodie@exemple.fr"))
        .expect("inserted");
    assert_eq!(
        users.insert(&new_user("ÉLODIE@exemple.fr")),
        Err(RepoError::Conflict)
    );
}

fn find_returns_none_for_unknown_ids_and_emails(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    assert_eq!(users.find_by_id(UserId(999)), Ok(None));
    assert_eq!(
        users
            .find_credentials_by_email("nobody@example.com")
            .map(|c| c.is_some()),
        Ok(false)
    );
    let tokens = DieselRefreshTokenRepository::new(pool.clone());
    assert_eq!(tokens.find("unknown"), Ok(None));
}

fn timestamps_round_trip_with_microseconds(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let precise = Utc::now().trunc_subsecs(6);
    let user = users
        .insert(&NewUser {
            created_at: precise,
            ..new_user("t@example.com")
        })
        .expect("inserted");
    assert_eq!(
        users
            .find_by_id(user.id)
            .expect("ok")
            .expect("found")
            .created_at,
        precise
    );
}

fn the_token_cut_off_only_moves_forward(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let user = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    let cut_off = |users: &DieselUserRepository| {
        users
            .find_by_id(user.id)
            .expect("ok")
            .expect("found")
            .tokens_valid_after
    };
    assert_eq!(cut_off(&users), None, "no sign-out yet");
    users
        .refuse_tokens_issued_before(user.id, at(20))
        .expect("set");
    assert_eq!(cut_off(&users), Some(at(20)));
    users
        .refuse_tokens_issued_before(user.id, at(10))
        .expect("ignored");
    assert_eq!(cut_off(&users), Some(at(20)), "never moved back");
    users
        .refuse_tokens_issued_before(user.id, at(30))
        .expect("set");
    assert_eq!(cut_off(&users), Some(at(30)));
    assert_eq!(
        users.refuse_tokens_issued_before(UserId(999), at(40)),
        Ok(())
    );
}

fn set_active_reports_unknown_ids(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let user = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    assert_eq!(
        users.update_password(
            user.id,
            "$2b$04$other",
            &audit(AuditAction::AuthPasswordChange)
        ),
        Ok(true)
    );
    let credentials = users
        .find_credentials_by_email("ann@example.com")
        .expect("ok")
        .expect("found");
    assert_eq!(credentials.password_hash, "$2b$04$other");
    assert_eq!(
        users.update_password(UserId(999), "x", &audit(AuditAction::AuthPasswordChange)),
        Ok(false)
    );
    assert_eq!(
        users.set_active(user.id, false, &audit(AuditAction::UserUpdate)),
        Ok(true)
    );
    assert!(
        !users
            .find_by_id(user.id)
            .expect("ok")
            .expect("found")
            .is_active
    );
    assert_eq!(
        users.set_active(UserId(999), false, &audit(AuditAction::UserUpdate)),
        Ok(false)
    );
}

fn token(jti: &str, user_id: UserId, family: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        jti: jti.into(),
        user_id,
        family_id: family.into(),
        expires_at: at(59),
        spent_at: None,
        revoked_at: None,
    }
}

fn rotate_spends_a_token_once(pool: &DbPool) {
    let user = DieselUserRepository::new(pool.clone())
        .insert(&new_user("ann@example.com"))
        .expect("user");
    let tokens = DieselRefreshTokenRepository::new(pool.clone());
    tokens.insert(&token("t1", user.id, "f")).expect("inserted");
    assert_eq!(tokens.find("t1"), Ok(Some(token("t1", user.id, "f"))));
    assert_eq!(
        tokens.rotate("t1", &token("t2", user.id, "f"), at(1)),
        Ok(true)
    );
    let spent = tokens.find("t1").expect("ok").expect("found");
    assert_eq!(spent.spent_at, Some(at(1)));
    assert!(tokens.find("t2").expect("ok").is_some());
    // A second redemption changes nothing and records no successor.
    assert_eq!(
        tokens.rotate("t1", &token("t3", user.id, "f"), at(2)),
        Ok(false)
    );
    assert_eq!(tokens.find("t3"), Ok(None));
    // Concurrent redemptions of one token: exactly one wins.
    let winners: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let tokens = tokens.clone();
                let successor = token(&format!("c{i}"), user.id, "f");
                scope.spawn(move || tokens.rotate("t2", &successor, at(3)).expect("no error"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().expect("joined")))
            .sum()
    });
    assert_eq!(winners, 1);
}

fn revoke_family_and_user_touch_only_their_tokens(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let ann = users.insert(&new_user("ann@example.com")).expect("user");
    let bob = users.insert(&new_user("bob@example.com")).expect("user");
    let tokens = DieselRefreshTokenRepository::new(pool.clone());
    for record in [
        token("a1", ann.id, "fa"),
        token("a2", ann.id, "fa"),
        token("a3", ann.id, "fb"),
        token("b1", bob.id, "fc"),
    ] {
        tokens.insert(&record).expect("inserted");
    }
    tokens.revoke_family("fa", at(5)).expect("revoked");
    let revoked = |jti: &str| tokens.find(jti).expect("ok").expect("found").revoked_at;
    assert_eq!(
        (revoked("a1"), revoked("a2"), revoked("a3")),
        (Some(at(5)), Some(at(5)), None)
    );
    tokens.revoke_family("fa", at(9)).expect("harmless again");
    assert_eq!(
        revoked("a1"),
        Some(at(5)),
        "the first revocation time is kept"
    );
    tokens.revoke_all_for_user(ann.id, at(7)).expect("revoked");
    assert_eq!((revoked("a3"), revoked("b1")), (Some(at(7)), None));
}

fn migrations_are_idempotent(pool: &DbPool) {
    assert_eq!(migrations::run_pending(pool), Ok(vec![]));
    assert_eq!(migrations::has_pending(pool), Ok(false));
}

/// Servers starting at the same moment against a never-migrated database: the advisory lock
/// lets exactly one apply the migrations, and none fails.
#[test]
fn concurrent_migrations_on_postgres_do_not_race() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    let outcomes: Vec<Result<Vec<String>, RepoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| migrations::run_pending(&pool_for(&url))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    let appliers = outcomes
        .iter()
        .filter(|outcome| !outcome.as_ref().expect("no start-up failed").is_empty())
        .count();
    assert_eq!(appliers, 1, "exactly one start-up applies the migrations");
    assert_eq!(migrations::has_pending(&pool_for(&url)), Ok(false));
}

#[test]
fn a_postgres_url_with_the_server_down_keeps_the_real_error() {
    let pool = pool_for("postgres://nobody@127.0.0.1:1/none");
    let error = migrations::run_pending(&pool).expect_err("refused");
    assert!(matches!(error, RepoError::Unavailable(_)), "{error:?}");
    assert!(
        !std::path::Path::new("postgres:").exists(),
        "no SQLite file was created instead"
    );
}
