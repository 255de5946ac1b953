//! Admin site sessions: expiry, rights checked on every request, sign-out.

use super::*;

#[test]
fn an_unknown_session_is_refused() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_find()
        .with(eq(session_token_hash("nope")))
        .return_const(Ok(None));
    ports.sessions.expect_touch().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.authenticate("nope", origin()),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn a_session_waiting_for_its_second_factor_is_not_signed_in() {
    let mut ports = Ports::new();
    ports.with_session(
        Some(stored_session(false, 1)),
        Some(user(STAFF, true, true)),
    );
    ports.sessions.expect_touch().never();
    ports.sessions.expect_delete().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.authenticate(TOKEN, origin()),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn a_session_idle_for_fifteen_minutes_ends() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_find()
        .return_const(Ok(Some(stored_session(true, 15))));
    ports
        .sessions
        .expect_delete()
        .with(eq(session_token_hash(TOKEN)))
        .times(1)
        .return_const(Ok(()));
    ports.sessions.expect_touch().never();
    ports.users.expect_find_by_id().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.authenticate(TOKEN, origin()),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn a_session_of_a_user_no_longer_active_staff_ends_at_once() {
    for found in [
        Some(user(STAFF, true, false)),
        Some(user(STAFF, false, true)),
        None,
    ] {
        let mut ports = Ports::new();
        ports.with_session(Some(stored_session(true, 1)), found.clone());
        ports
            .sessions
            .expect_delete()
            .with(eq(session_token_hash(TOKEN)))
            .times(1)
            .return_const(Ok(()));
        ports.sessions.expect_touch().never();
        let (service, _trail) = ports.sign_in();
        assert_eq!(
            service.authenticate(TOKEN, origin()),
            Err(ServiceError::Forbidden),
            "{found:?}"
        );
    }
}

#[test]
fn a_live_session_gives_its_staff_user_and_csrf_token_and_is_touched() {
    let mut ports = Ports::new();
    ports.with_session(
        Some(stored_session(true, 14)),
        Some(user(STAFF, true, true)),
    );
    ports
        .sessions
        .expect_touch()
        .with(eq(session_token_hash(TOKEN)), eq(at()))
        .times(1)
        .return_const(Ok(()));
    ports.sessions.expect_delete().never();
    let (service, trail) = ports.sign_in();
    let caller = service.authenticate(TOKEN, origin()).expect("signed in");
    assert_eq!(caller.user(), &user(STAFF, true, true));
    assert_eq!(caller.origin(), &origin());
    assert_eq!(caller.csrf_token(), CSRF);
    assert!(caller.accepts_csrf_token(CSRF));
    for wrong in [
        "",
        "csrf-toke",
        "csrf-tokem",
        "csrf-token ",
        "CSRF-TOKEN",
        TOKEN,
    ] {
        assert!(!caller.accepts_csrf_token(wrong), "{wrong:?}");
    }
    trail.assert_empty();
}

#[test]
fn signing_out_ends_the_session_and_is_recorded() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_find()
        .return_const(Ok(Some(stored_session(true, 1))));
    ports
        .sessions
        .expect_delete()
        .with(eq(session_token_hash(TOKEN)))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.sign_in();
    assert_eq!(service.sign_out(TOKEN, &origin()), Ok(()));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogout,
            Some(STAFF),
            Some(STAFF.0),
            None,
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    ports.sessions.expect_find().return_const(Ok(None));
    ports.sessions.expect_delete().times(1).return_const(Ok(()));
    let (service, trail) = ports.sign_in();
    assert_eq!(service.sign_out(TOKEN, &origin()), Ok(()));
    trail.assert_empty();
}

#[test]
fn resetting_a_second_factor_passes_its_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_reset()
        .with(eq(OTHER), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.reset_second_factor(Some(STAFF), &origin(), OTHER),
        Ok(true)
    );
    trail.assert_empty();
}

#[test]
fn resetting_a_missing_second_factor_is_one_failure() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_reset()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.reset_second_factor(Some(STAFF), &origin(), OTHER),
        Ok(false)
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));

    let mut ports = Ports::new();
    ports
        .factors
        .expect_reset()
        .return_const(Err(RepoError::Unavailable("down".into())));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.reset_second_factor(Some(STAFF), &origin(), OTHER),
        Err(ServiceError::Unavailable("down".into()))
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));
}
