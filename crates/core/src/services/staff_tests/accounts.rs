//! What staff do to accounts.

use super::*;

#[test]
fn deactivating_a_user_revokes_their_tokens_and_ends_their_sessions() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .with(eq(OTHER), eq(false), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    ports
        .refresh_tokens
        .expect_revoke_all_for_user()
        .with(eq(OTHER), eq(at()))
        .times(1)
        .return_const(Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .sessions
        .expect_delete_for_user()
        .with(eq(OTHER))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.records();
    assert_eq!(service.set_user_active(&staff(), OTHER, false), Ok(()));
    trail.assert_empty();
}

#[test]
fn activating_a_user_leaves_their_sessions() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .with(eq(OTHER), eq(true), always())
        .times(1)
        .return_const(Ok(true));
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, _trail) = ports.records();
    assert_eq!(service.set_user_active(&staff(), OTHER, true), Ok(()));
}

#[test]
fn changing_an_unknown_user_is_not_found_and_one_failure() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .times(1)
        .return_const(Ok(false));
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.set_user_active(&staff(), OTHER, false),
        Err(ServiceError::NotFound(Resource::User))
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));
}

#[test]
fn staff_cannot_deactivate_themselves_or_drop_their_own_rights() {
    let mut ports = Ports::new();
    ports.users.expect_set_active().never();
    ports.users.expect_set_staff().never();
    ports.users.expect_update_password().never();
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, trail) = ports.records();
    let refused = Err(ServiceError::Validation(FieldErrors::single(
        "user",
        FieldProblem::NotOnYourself,
    )));
    assert_eq!(service.set_user_active(&staff(), STAFF, false), refused);
    assert_eq!(service.set_user_staff(&staff(), STAFF, false), refused);
    // Their own password is changed with the old one, through the API.
    assert_eq!(
        service.reset_password(&staff(), STAFF, "brand-new-kettle-93"),
        refused
    );
    trail.assert_empty();
}

#[test]
fn removing_staff_rights_ends_the_users_sessions() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_staff()
        .with(eq(OTHER), eq(false), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    ports
        .sessions
        .expect_delete_for_user()
        .with(eq(OTHER))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.records();
    assert_eq!(service.set_user_staff(&staff(), OTHER, false), Ok(()));
    trail.assert_empty();

    let mut ports = Ports::new();
    ports
        .users
        .expect_set_staff()
        .with(eq(OTHER), eq(true), always())
        .times(1)
        .return_const(Ok(true));
    ports.sessions.expect_delete_for_user().never();
    let (service, _trail) = ports.records();
    assert_eq!(service.set_user_staff(&staff(), OTHER, true), Ok(()));
}

/// Ports where `OTHER` exists and no password may be stored.
fn ports_refusing_passwords() -> Ports {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .with(eq(OTHER))
        .return_const(Ok(Some(user(OTHER, true, false))));
    ports.hasher.expect_hash().never();
    ports.users.expect_update_password().never();
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    ports
}

#[test]
fn a_weak_reset_password_is_refused_on_the_password_field() {
    for weak in ["short", "12345678901", "password123", "ann@example.com"] {
        let (service, trail) = ports_refusing_passwords().records();
        let result = service.reset_password(&staff(), OTHER, weak);
        let Err(ServiceError::Validation(errors)) = result else {
            panic!("expected validation errors for {weak:?}, got {result:?}");
        };
        assert!(errors.has("password"), "{weak:?}: {errors:?}");
        assert_eq!(
            trail.take_one(),
            user_update(AuditOutcome::Failure),
            "{weak:?}"
        );
    }
}

#[test]
fn a_reset_password_is_stored_and_ends_every_session_of_the_user() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .with(eq(OTHER))
        .return_const(Ok(Some(user(OTHER, true, false))));
    ports
        .hasher
        .expect_hash()
        .withf(|accepted| accepted.expose() == GOOD_PASSWORD)
        .times(1)
        .returning(|_| Ok("$2b$04$new".into()));
    ports
        .users
        .expect_update_password()
        .with(
            eq(OTHER),
            eq("$2b$04$new"),
            eq(user_update(AuditOutcome::Success)),
        )
        .times(1)
        .return_const(Ok(true));
    ports
        .refresh_tokens
        .expect_revoke_all_for_user()
        .with(eq(OTHER), eq(at()))
        .times(1)
        .return_const(Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .sessions
        .expect_delete_for_user()
        .with(eq(OTHER))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.records();
    assert_eq!(
        service.reset_password(&staff(), OTHER, GOOD_PASSWORD),
        Ok(())
    );
    trail.assert_empty();
}

#[test]
fn resetting_the_password_of_an_unknown_user_is_not_found_and_one_failure() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_id().return_const(Ok(None));
    ports.hasher.expect_hash().never();
    ports.users.expect_update_password().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.reset_password(&staff(), OTHER, GOOD_PASSWORD),
        Err(ServiceError::NotFound(Resource::User))
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));
}

#[test]
fn an_operator_resets_a_password_at_the_console_without_an_actor() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .return_const(Ok(Some(user(OTHER, true, false))));
    ports
        .hasher
        .expect_hash()
        .returning(|_| Ok("$2b$04$new".into()));
    ports
        .users
        .expect_update_password()
        .with(
            eq(OTHER),
            always(),
            eq(AuditEvent {
                actor: None,
                origin: healthcare_domain::audit::RequestOrigin::default(),
                ..user_update(AuditOutcome::Success)
            }),
        )
        .times(1)
        .return_const(Ok(false));
    // Deleted in between: nothing to revoke.
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    let services = Ports::build(ports);
    assert_eq!(
        services.auth.reset_password(
            None,
            &healthcare_domain::audit::RequestOrigin::default(),
            OTHER,
            GOOD_PASSWORD
        ),
        Ok(false)
    );
    let failure = services.trail.take_one();
    assert_eq!(
        (failure.actor, failure.outcome),
        (None, AuditOutcome::Failure)
    );
}

#[test]
fn resetting_a_users_second_factor_checks_the_user_exists() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_id().return_const(Ok(None));
    ports.factors.expect_reset().never();
    let (service, _trail) = ports.records();
    assert_eq!(
        service.reset_second_factor(&staff(), OTHER),
        Err(ServiceError::NotFound(Resource::User))
    );

    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .return_const(Ok(Some(user(OTHER, true, true))));
    ports
        .factors
        .expect_reset()
        .with(eq(OTHER), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.records();
    assert_eq!(service.reset_second_factor(&staff(), OTHER), Ok(true));
    trail.assert_empty();
}
