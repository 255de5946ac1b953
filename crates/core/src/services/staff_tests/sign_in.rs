//! Signing in to the admin site: the password, then the second factor.

use super::*;

#[test]
fn a_wrong_password_an_unknown_email_and_an_inactive_user_fail_alike() {
    for (found, right_password) in [
        (Some(credentials(true, true)), false),
        (None, true),
        (Some(credentials(false, true)), true),
    ] {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .with(eq(EMAIL))
            .times(1)
            .return_const(Ok(found.clone()));
        ports.hasher.expect_verify().return_const(right_password);
        ports
            .hasher
            .expect_verify_dummy()
            .times(usize::from(found.is_none()))
            .return_const(());
        ports.sessions.expect_insert().never();
        let (service, trail) = ports.sign_in();
        assert_eq!(
            service.sign_in(" Ann@Example.com ", PASSWORD, &origin()),
            Err(ServiceError::InvalidCredentials),
            "{found:?}"
        );
        assert_eq!(trail.take_one(), admin_login(None, AuditOutcome::Failure));
    }
}

#[test]
fn a_failed_password_is_counted_and_not_forgiven() {
    let mut ports = Ports::new();
    ports.throttle = MockThrottleRepository::new();
    for key in [EMAIL, &format!("Attempts on {EMAIL} from 203.0.113.9")] {
        ports
            .throttle
            .expect_record_login_failure()
            .with(eq(key.to_owned()), eq(at()), always())
            .times(1)
            .returning(|_, _, _| Ok(()));
    }
    ports
        .throttle
        .expect_login_failures_since()
        .returning(|_, _| Ok((1, Some(at()))));
    ports.throttle.expect_clear_login_failures().never();
    ports
        .users
        .expect_find_credentials_by_email()
        .return_const(Ok(Some(credentials(true, true))));
    ports.hasher.expect_verify().return_const(false);
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.sign_in(EMAIL, "wrong", &origin()),
        Err(ServiceError::InvalidCredentials)
    );
}

#[test]
fn an_active_non_staff_user_with_the_right_password_is_forbidden() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .return_const(Ok(Some(credentials(true, false))));
    ports.hasher.expect_verify().return_const(true);
    ports.sessions.expect_insert().never();
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.sign_in(EMAIL, PASSWORD, &origin()),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Denied)
    );
}

#[test]
fn a_throttled_email_is_refused_before_any_password_check() {
    let mut ports = Ports::new();
    ports.throttle = MockThrottleRepository::new();
    // Refused while locked: not counted, so the lock does not extend itself.
    ports.throttle.expect_record_login_failure().never();
    ports
        .throttle
        .expect_login_failures_since()
        .returning(|_, _| Ok((5, Some(at()))));
    ports.throttle.expect_clear_login_failures().never();
    ports
        .users
        .expect_find_credentials_by_email()
        .return_const(Ok(Some(credentials(true, true))));
    ports.hasher.expect_verify().never();
    ports.hasher.expect_verify_dummy().never();
    ports.sessions.expect_insert().never();
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.sign_in(EMAIL, PASSWORD, &origin()),
        Err(ServiceError::Throttled(15 * 60))
    );
    assert_eq!(trail.take_one(), admin_login(None, AuditOutcome::Denied));
}

#[test]
fn the_right_password_begins_a_session_waiting_for_the_second_factor() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .with(eq(EMAIL))
        .return_const(Ok(Some(credentials(true, true))));
    ports
        .hasher
        .expect_verify()
        .with(eq(PASSWORD), eq("$2b$04$hash"))
        .return_const(true);
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let issued = service
        .sign_in(EMAIL, PASSWORD, &origin())
        .expect("signed in");
    let session = stored.one();
    assert_eq!(issued.session, session);
    assert_eq!(session_token_hash(&issued.token), session.token_hash);
    assert_ne!(issued.token, session.csrf_token);
    assert!(!issued.token.is_empty() && !session.csrf_token.is_empty());
    assert!(!session.second_factor_done);
    assert_eq!(session.user_id, STAFF);
    assert_eq!((session.created_at, session.last_seen_at), (at(), at()));
    assert!(
        !format!("{issued:?}").contains(&issued.token),
        "the token stays out of Debug output"
    );
    // Success is recorded only once the second factor passes.
    trail.assert_empty();
}

// ---- sign-in, step two: the second factor

#[test]
fn pending_finds_only_sessions_waiting_for_their_second_factor() {
    let mut ports = Ports::new();
    ports.with_session(
        Some(stored_session(false, 1)),
        Some(user(STAFF, true, true)),
    );
    let (service, _trail) = ports.sign_in();
    assert_eq!(service.pending(TOKEN), Ok(pending()));

    let mut ports = Ports::new();
    ports.with_session(Some(stored_session(true, 1)), Some(user(STAFF, true, true)));
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.pending(TOKEN),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn without_a_factor_the_second_step_starts_an_enrolment() {
    // The first random bytes drawn (all 1) make the secret.
    let generated = TotpSecret::from_bytes(vec![1; 20]).expect("long enough");
    let generated_secret = generated.clone();
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .with(eq(STAFF))
        .return_const(Ok(None));
    ports
        .factors
        .expect_start_enrolment()
        .withf(move |user, secret, session, at_| {
            *user == STAFF
                && *secret == generated_secret
                && session == session_token_hash(TOKEN)
                && *at_ == at()
        })
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Enrol {
            secret_base32: generated.to_base32(),
            provisioning_uri: generated.provisioning_uri(EMAIL),
        })
    );
    trail.assert_empty();
}

#[test]
fn an_enrolment_confirmed_in_between_asks_for_a_code() {
    let mut ports = Ports::new();
    ports.factors.expect_find().return_const(Ok(None));
    ports
        .factors
        .expect_start_enrolment()
        .times(1)
        .return_const(Ok(false));
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Verify)
    );
}

#[test]
fn an_unconfirmed_factor_shows_the_same_secret_again() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(false))));
    ports.factors.expect_start_enrolment().never();
    ports.random = MockRandomSource::new();
    ports.random.expect_fill().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Enrol {
            secret_base32: secret().to_base32(),
            provisioning_uri: secret().provisioning_uri(EMAIL),
        })
    );
}

#[test]
fn a_secret_shown_to_another_sign_in_is_never_shown_again() {
    let generated = TotpSecret::from_bytes(vec![1; 20]).expect("long enough");
    let mut ports = Ports::new();
    let mut elsewhere = factor(false);
    elsewhere.enrolling_session = Some(session_token_hash("another sign-in"));
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(elsewhere)));
    ports
        .factors
        .expect_start_enrolment()
        .withf(|_, _, session, _| session == session_token_hash(TOKEN))
        .times(1)
        .return_const(Ok(true));
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Enrol {
            secret_base32: generated.to_base32(),
            provisioning_uri: generated.provisioning_uri(EMAIL),
        })
    );
    assert_ne!(generated, secret(), "not the secret the other sign-in saw");
}

#[test]
fn a_confirmed_factor_asks_for_a_code() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports.factors.expect_start_enrolment().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Verify)
    );
}

/// Checks a completed sign-in: the pending session ended and a full one began.
#[track_caller]
fn assert_full_session(issued: &IssuedSession, stored: &Captured<AdminSession>) {
    let session = stored.one();
    assert_eq!(issued.session, session);
    assert!(session.second_factor_done);
    assert_eq!(session.user_id, STAFF);
    assert_eq!(session_token_hash(&issued.token), session.token_hash);
    assert_ne!(
        session.token_hash,
        pending().session.token_hash,
        "a new token"
    );
    assert_ne!(issued.token, session.csrf_token);
}

/// Ports where the pending session is deleted exactly once.
fn ports_ending_the_pending_session() -> Ports {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_delete()
        .with(eq(pending().session.token_hash))
        .times(1)
        .return_const(Ok(()));
    ports
}

/// Ports where nothing about sessions may change.
fn ports_keeping_sessions() -> Ports {
    let mut ports = Ports::new();
    ports.sessions.expect_delete().never();
    ports.sessions.expect_insert().never();
    ports
}

#[test]
fn the_first_code_confirms_the_enrolment_and_hands_out_recovery_codes() {
    let mut ports = ports_ending_the_pending_session();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(false))));
    let hashes = Captured::new();
    let keep = hashes.sink();
    ports
        .factors
        .expect_confirm_enrolment()
        .withf(|user, session, step_, _, at_, audit| {
            *user == STAFF
                && session == session_token_hash(TOKEN)
                && *step_ == step()
                && *at_ == at()
                && *audit == admin_login(Some(STAFF), AuditOutcome::Success)
        })
        .times(1)
        .returning(move |_, _, _, given, _, _| {
            keep(given.to_vec());
            Ok(true)
        });
    ports.factors.expect_accept_step().never();
    ports
        .factors
        .expect_unused_recovery_codes()
        .return_const(Ok(10_u32));
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let done = service
        .complete_sign_in(&pending(), &secret().code_at(at()), &origin())
        .expect("enrolled");
    let stored_hashes = hashes.one();
    assert_eq!(stored_hashes.len(), 10);
    assert_eq!(
        stored_hashes.iter().collect::<HashSet<_>>().len(),
        10,
        "distinct codes"
    );
    assert_eq!(
        done.recovery_codes
            .iter()
            .map(|code| code.hash())
            .collect::<Vec<_>>(),
        stored_hashes
    );
    assert_eq!(
        done.recovery_codes
            .iter()
            .map(|code| hash_recovery_code(&code.as_str().to_lowercase()))
            .collect::<Vec<_>>(),
        stored_hashes,
        "each shown code is accepted as typed"
    );
    assert_eq!(done.recovery_codes_left, 10);
    assert_full_session(&done.session, &stored);
    // The success row was stored with the enrolment.
    trail.assert_empty();
}

#[test]
fn a_wrong_first_code_is_refused_and_counted() {
    let mut ports = ports_keeping_sessions();
    ports.throttle = MockThrottleRepository::new();
    let subject = healthcare_domain::throttle::second_factor_key(STAFF);
    for key in [format!("Attempts on {subject} from 203.0.113.9"), subject] {
        ports
            .throttle
            .expect_record_login_failure()
            .with(eq(key), eq(at()), always())
            .times(1)
            .returning(|_, _, _| Ok(()));
    }
    ports
        .throttle
        .expect_login_failures_since()
        .returning(|_, _| Ok((1, Some(at()))));
    ports.throttle.expect_clear_login_failures().never();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(false))));
    ports.factors.expect_confirm_enrolment().never();
    let wrong = if secret().code_at(at()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.complete_sign_in(&pending(), wrong, &origin()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code",
            FieldProblem::WrongCode
        )))
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Failure)
    );
}

#[test]
fn a_code_of_the_enrolled_factor_is_accepted_once_for_its_step() {
    let mut ports = ports_ending_the_pending_session();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_accept_step()
        .with(eq(STAFF), eq(step()))
        .times(1)
        .return_const(Ok(true));
    ports.factors.expect_confirm_enrolment().never();
    ports.factors.expect_use_recovery_code().never();
    ports
        .factors
        .expect_unused_recovery_codes()
        .with(eq(STAFF))
        .return_const(Ok(4_u32));
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let done = service
        .complete_sign_in(&pending(), &secret().code_at(at()), &origin())
        .expect("signed in");
    assert!(done.recovery_codes.is_empty());
    assert_eq!(done.recovery_codes_left, 4);
    assert_full_session(&done.session, &stored);
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Success)
    );
}

#[test]
fn a_replayed_code_is_refused() {
    let mut ports = ports_keeping_sessions();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_accept_step()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service
            .complete_sign_in(&pending(), &secret().code_at(at()), &origin())
            .map(|_| ()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code",
            FieldProblem::WrongCode
        )))
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Failure)
    );
}

#[test]
fn a_recovery_code_is_used_by_its_hash_as_typed() {
    let typed = "abcd-efgh-jkmn-pqrs";
    let mut ports = ports_ending_the_pending_session();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_use_recovery_code()
        .with(eq(STAFF), eq(hash_recovery_code(typed)), eq(at()))
        .times(1)
        .return_const(Ok(true));
    ports.factors.expect_accept_step().never();
    ports
        .factors
        .expect_unused_recovery_codes()
        .return_const(Ok(2_u32));
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let done = service
        .complete_sign_in(&pending(), typed, &origin())
        .expect("signed in");
    assert_eq!(done.recovery_codes_left, 2);
    assert_full_session(&done.session, &stored);
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Success)
    );
}

#[test]
fn an_unknown_or_used_recovery_code_is_refused() {
    let mut ports = ports_keeping_sessions();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_use_recovery_code()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service
            .complete_sign_in(&pending(), "ABCD EFGH JKMN PQRS", &origin())
            .map(|_| ()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code",
            FieldProblem::WrongCode
        )))
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Failure)
    );
}
