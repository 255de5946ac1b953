//! Second factors and recovery codes of staff users.

use super::*;

contract!(
    unknown_users_have_no_factor_and_nothing_succeeds,
    enrolment_replaces_an_unconfirmed_factor_and_refuses_once_confirmed,
    concurrent_enrolments_all_succeed_and_leave_one_factor,
    confirmation_stores_codes_and_audit_once,
    confirmation_is_one_transaction,
    accept_step_takes_only_later_steps_of_a_confirmed_factor,
    concurrent_acceptances_of_one_step_have_one_winner,
    recovery_codes_are_single_use_even_concurrently,
    reset_removes_factor_codes_and_only_the_users_sessions,
    reset_is_one_transaction,
);

// Second factors

fn unknown_users_have_no_factor_and_nothing_succeeds(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    for who in [user, UserId(999)] {
        assert_eq!(r.factors.find(who), Ok(None));
        assert_eq!(r.factors.accept_step(who, 5), Ok(false));
        assert_eq!(
            r.factors.use_recovery_code(who, "code-00", at(3)),
            Ok(false)
        );
        assert_eq!(r.factors.unused_recovery_codes(who), Ok(0));
        assert_eq!(
            r.factors.confirm_enrolment(
                who,
                SIGN_IN,
                5,
                &hashes("code", 2),
                at(3),
                &event(AuditAction::UserUpdate, 3)
            ),
            Ok(false),
            "no unconfirmed factor"
        );
        assert_eq!(
            r.factors.reset(who, &event(AuditAction::UserUpdate, 4)),
            Ok(false)
        );
    }
    assert_eq!(r.audit_rows(), vec![], "nothing stored");
    assert_eq!(
        count(&db.pool, "SELECT COUNT(*) FROM staff_recovery_codes"),
        0
    );
}

fn enrolment_replaces_an_unconfirmed_factor_and_refuses_once_confirmed(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(user, &secret(1), SIGN_IN, at(1)),
        Ok(true)
    );
    assert_eq!(
        r.factors.find(user),
        Ok(Some(SecondFactor {
            user_id: user,
            secret: secret(1),
            confirmed_at: None,
            last_step: 0,
            enrolling_session: Some(SIGN_IN.into()),
        }))
    );
    // An unconfirmed factor gives no login.
    assert_eq!(r.factors.accept_step(user, 10), Ok(false));

    // Another sign-in starting again replaces the unconfirmed secret, and only the sign-in
    // that was shown the current secret may confirm it.
    assert_eq!(
        r.factors
            .start_enrolment(user, &secret(2), "another sign-in", at(2)),
        Ok(true)
    );
    let replaced = r.factors.find(user).expect("ok").expect("found");
    assert_eq!(replaced.secret, secret(2));
    assert_eq!(replaced.confirmed_at, None);
    assert_eq!(
        replaced.enrolling_session.as_deref(),
        Some("another sign-in")
    );
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            50,
            &hashes("code", 2),
            at(3),
            &event(AuditAction::UserUpdate, 3)
        ),
        Ok(false),
        "shown to another sign-in"
    );
    assert_eq!(r.audit_rows().len(), 0, "nothing stored");
    assert_eq!(
        r.factors.start_enrolment(user, &secret(2), SIGN_IN, at(2)),
        Ok(true)
    );

    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            50,
            &hashes("code", 2),
            at(3),
            &event(AuditAction::UserUpdate, 3)
        ),
        Ok(true)
    );
    // Once confirmed, enrolment is refused and nothing changes.
    assert_eq!(
        r.factors.start_enrolment(user, &secret(3), SIGN_IN, at(4)),
        Ok(false)
    );
    assert_eq!(
        r.factors.find(user),
        Ok(Some(SecondFactor {
            user_id: user,
            secret: secret(2),
            confirmed_at: Some(at(3)),
            last_step: 50,
            enrolling_session: None,
        }))
    );
    // Other users are unaffected by one user's factor.
    let other = r.user("Bob", "bob@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(other, &secret(4), SIGN_IN, at(5)),
        Ok(true)
    );
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").secret,
        secret(2)
    );
}

fn concurrent_enrolments_all_succeed_and_leave_one_factor(db: &Database) {
    let r = repos(&db.pool);
    for round in 0..4_u8 {
        let user = r.user("Ann", &format!("ann{round}@example.com"), true);
        // Two browsers starting enrolment at once: neither fails, one secret is kept.
        let winners = race(6, || {
            r.factors
                .start_enrolment(user, &secret(round), SIGN_IN, at(1))
        });
        assert_eq!(winners, 6, "round {round}");
        let factor = r.factors.find(user).expect("ok").expect("found");
        assert_eq!((factor.confirmed_at, factor.last_step), (None, 0));
    }
    assert_eq!(
        count(&db.pool, "SELECT COUNT(*) FROM staff_second_factors"),
        4
    );
}

fn confirmation_stores_codes_and_audit_once(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(user, &secret(1), SIGN_IN, at(1)),
        Ok(true)
    );
    // A stale code left from before must not survive the confirmation: the codes are replaced.
    run(
        &db.pool,
        &format!(
            "INSERT INTO staff_recovery_codes (user_id, code_hash) VALUES ({}, 'stale')",
            user.0
        ),
    );
    let audit = event(AuditAction::UserUpdate, 2);
    assert_eq!(
        r.factors
            .confirm_enrolment(user, SIGN_IN, 77, &hashes("code", 10), at(2), &audit),
        Ok(true)
    );
    let factor = r.factors.find(user).expect("ok").expect("found");
    assert_eq!((factor.confirmed_at, factor.last_step), (Some(at(2)), 77));
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(10));
    assert_eq!(r.factors.use_recovery_code(user, "stale", at(3)), Ok(false));
    assert_eq!(r.audit_rows(), vec![audit], "the event as given");
    // The confirming step is accepted: its code cannot log in again.
    assert_eq!(r.factors.accept_step(user, 77), Ok(false));

    // A second confirmation is refused and stores nothing.
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            90,
            &hashes("again", 3),
            at(4),
            &event(AuditAction::UserUpdate, 4)
        ),
        Ok(false)
    );
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(10));
    assert_eq!(
        r.factors.use_recovery_code(user, "again-00", at(5)),
        Ok(false)
    );
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").last_step,
        77
    );
    assert_eq!(r.audit_rows().len(), 1);
}

fn confirmation_is_one_transaction(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(user, &secret(1), SIGN_IN, at(1)),
        Ok(true)
    );

    // A failing code insert (a duplicate hash) undoes the confirmation.
    let duplicate = vec!["same".to_owned(), "same".to_owned()];
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            10,
            &duplicate,
            at(2),
            &event(AuditAction::UserUpdate, 2)
        ),
        Err(RepoError::Conflict)
    );
    // A failing audit insert undoes the confirmation and the codes.
    let allow = refuse_audit_inserts(&db.pool);
    assert!(
        r.factors
            .confirm_enrolment(
                user,
                SIGN_IN,
                10,
                &hashes("code", 3),
                at(2),
                &event(AuditAction::UserUpdate, 2)
            )
            .is_err()
    );
    run(&db.pool, allow);

    let factor = r.factors.find(user).expect("ok").expect("found");
    assert_eq!((factor.confirmed_at, factor.last_step), (None, 0));
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(0));
    assert_eq!(r.audit_rows(), vec![]);
    // And it can still be confirmed.
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            10,
            &hashes("code", 3),
            at(3),
            &event(AuditAction::UserUpdate, 3)
        ),
        Ok(true)
    );
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(3));
}

fn accept_step_takes_only_later_steps_of_a_confirmed_factor(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 1);
    assert_eq!(r.factors.accept_step(user, 99), Ok(false), "earlier");
    assert_eq!(r.factors.accept_step(user, 100), Ok(false), "equal");
    assert_eq!(r.factors.accept_step(user, 101), Ok(true));
    assert_eq!(r.factors.accept_step(user, 101), Ok(false), "replayed");
    assert_eq!(r.factors.accept_step(user, 100), Ok(false), "earlier again");
    assert_eq!(
        r.factors.accept_step(user, 103),
        Ok(true),
        "steps may be skipped"
    );
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").last_step,
        103
    );
    // Another user's steps are their own.
    let other = r.enrolled("bob@example.com", 1);
    assert_eq!(r.factors.accept_step(other, 101), Ok(true));
}

/// Runs `attempt` on `threads` threads released together, returning how many succeeded.
fn race(threads: usize, attempt: impl Fn() -> Result<bool, RepoError> + Sync) -> usize {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    attempt().expect("no error")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("thread"))
            .filter(|won| *won)
            .count()
    })
}

fn concurrent_acceptances_of_one_step_have_one_winner(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 1);
    for step in 101..106 {
        let winners = race(6, || r.factors.accept_step(user, step));
        assert_eq!(winners, 1, "step {step}");
    }
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").last_step,
        105
    );
}

fn recovery_codes_are_single_use_even_concurrently(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 5);
    let other = r.enrolled("bob@example.com", 5);
    assert_eq!(
        r.factors.use_recovery_code(user, "code-00", at(5)),
        Ok(true)
    );
    assert_eq!(
        r.factors.use_recovery_code(user, "code-00", at(6)),
        Ok(false),
        "used"
    );
    assert_eq!(
        r.factors.use_recovery_code(user, "nope", at(6)),
        Ok(false),
        "unknown"
    );
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(4));
    // The same hash of another user is theirs alone.
    assert_eq!(r.factors.unused_recovery_codes(other), Ok(5));
    assert_eq!(
        r.factors.use_recovery_code(other, "code-00", at(6)),
        Ok(true)
    );

    for code in ["code-01", "code-02"] {
        let winners = race(6, || r.factors.use_recovery_code(user, code, at(7)));
        assert_eq!(winners, 1, "{code}");
    }
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(2));
}

fn reset_removes_factor_codes_and_only_the_users_sessions(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 3);
    let other = r.enrolled("bob@example.com", 3);
    assert_eq!(
        r.factors.use_recovery_code(user, "code-00", at(3)),
        Ok(true)
    );
    for (token, who) in [("a1", user), ("a2", user), ("b1", other)] {
        r.sessions
            .insert(&session(token, who, at(3), at(3)))
            .expect("inserted");
    }
    let audit = event(AuditAction::UserUpdate, 9);
    assert_eq!(r.factors.reset(user, &audit), Ok(true));

    assert_eq!(r.factors.find(user), Ok(None));
    assert_eq!(
        count(
            &db.pool,
            &format!(
                "SELECT COUNT(*) FROM staff_recovery_codes WHERE user_id = {}",
                user.0
            )
        ),
        0,
        "used codes too"
    );
    assert_eq!(r.sessions.find("a1"), Ok(None));
    assert_eq!(r.sessions.find("a2"), Ok(None));
    assert!(
        r.sessions.find("b1").expect("ok").is_some(),
        "other users keep theirs"
    );
    assert!(r.factors.find(other).expect("ok").is_some());
    assert_eq!(r.factors.unused_recovery_codes(other), Ok(3));
    let rows = r.audit_rows();
    assert_eq!(rows.len(), 3, "two confirmations and the reset");
    assert!(rows.contains(&audit));

    // Nothing left to reset: false, and no row.
    assert_eq!(
        r.factors.reset(user, &event(AuditAction::UserUpdate, 10)),
        Ok(false)
    );
    assert_eq!(r.audit_rows().len(), 3);
    // The user may enrol afresh.
    assert_eq!(
        r.factors.start_enrolment(user, &secret(5), SIGN_IN, at(11)),
        Ok(true)
    );
}

fn reset_is_one_transaction(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 3);
    r.sessions
        .insert(&session("a1", user, at(3), at(3)))
        .expect("inserted");
    let allow = refuse_audit_inserts(&db.pool);
    assert!(
        r.factors
            .reset(user, &event(AuditAction::UserUpdate, 9))
            .is_err()
    );
    run(&db.pool, allow);
    assert!(r.factors.find(user).expect("ok").is_some());
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(3));
    assert!(r.sessions.find("a1").expect("ok").is_some());
    assert_eq!(r.audit_rows().len(), 1, "only the confirmation");
}
