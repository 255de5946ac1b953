use super::*;

#[test]
fn register_stores_the_user_and_starts_a_token_family() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .with(eq("ann@example.com"))
        .returning(|_| Ok(None));
    ports
        .hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok("$2b$04$hash".into()));
    ports
        .users
        .expect_insert()
        .withf(|new| new.password_hash == "$2b$04$hash" && !new.is_staff && new.created_at == now())
        .returning(|_| Ok(user(true)));
    ports
        .refresh_tokens
        .expect_insert()
        .withf(|record| record.family_id == record.jti && record.user_id == UserId(7))
        .times(1)
        .returning(|_| Ok(()));
    let (registered, tokens) = ports
        .service()
        .register_user(registration("Ann@Example.com", "vivid-otter-41"))
        .expect("registered");
    assert_eq!(registered, user(true));
    assert_eq!(tokens.access, "Access-0");
    assert_eq!(tokens.refresh, "Refresh-1");
}

#[test]
fn register_with_a_taken_email_reports_it_with_the_other_errors() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_hash().never();
    ports.users.expect_insert().never();
    let error = ports
        .service()
        .register_user(registration("ANN@example.com", "short"))
        .err();
    let Some(ServiceError::Validation(errors)) = error else {
        panic!("expected validation errors, got {error:?}");
    };
    assert!(errors.has("email") && errors.has("password"));
}

#[test]
fn register_race_lost_at_the_unique_index_is_a_field_error() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(None));
    ports.hasher.expect_hash().returning(|_| Ok("h".into()));
    ports
        .users
        .expect_insert()
        .returning(|_| Err(RepoError::Conflict));
    let error = ports
        .service()
        .register_user(registration("ann@example.com", "vivid-otter-41"));
    assert_eq!(
        error.err(),
        Some(ServiceError::Validation(FieldErrors::single(
            "email",
            FieldProblem::EmailTaken
        )))
    );
}

/// Claims of a valid access token for user 7, issued now, acting in its personal clinic.
fn access_claims() -> TokenClaims {
    TokenClaims {
        kind: TokenKind::Access,
        user_id: UserId(7),
        factors: SignInFactors::Password,
        clinic: None,
        jti: "a".into(),
        issued_at: now(),
        expires_at: now() + Duration::minutes(5),
    }
}

#[test]
fn authenticate_refuses_tokens_of_inactive_or_deleted_users() {
    for found in [Some(user(false)), None] {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _| Ok(access_claims()));
        ports.users.expect_find_by_id().return_const(Ok(found));
        assert_eq!(
            ports.service().authenticate("a").err(),
            Some(ServiceError::InvalidAccessToken)
        );
    }
}

/// Ports whose codec accepts any token as `access_claims()` acting in `clinic`, and whose
/// account and membership of that clinic are held in memory as given; the store is never read.
fn in_memory(
    account: Option<User>,
    clinic: Option<ClinicId>,
    membership: Option<Membership>,
) -> Ports {
    let mut ports = Ports::new();
    ports.tokens.expect_decode().returning(move |_, _| {
        Ok(TokenClaims {
            clinic,
            ..access_claims()
        })
    });
    ports
        .users
        .expect_find_by_id_in_memory()
        .with(eq(UserId(7)))
        .return_const(account);
    ports.users.expect_find_by_id().never();
    ports.clinics = MockClinicRepository::new();
    ports
        .clinics
        .expect_membership_in_memory()
        .with(eq(UserId(7)), eq(clinic))
        .return_const(membership);
    ports
}

#[test]
fn a_caller_held_in_memory_is_authenticated_without_the_store() {
    let answer = in_memory(Some(user(true)), None, Some(personal_membership(UserId(7))))
        .service()
        .authenticate_in_memory("a");
    assert_eq!(
        answer,
        Some(Ok(Authenticated {
            user: user(true),
            factors: SignInFactors::Password,
            membership: personal_membership(UserId(7)),
        }))
    );
}

#[test]
fn a_shared_clinics_membership_is_looked_up_by_the_tokens_clinic() {
    let answer = in_memory(Some(user(true)), Some(ClinicId(3)), None)
        .service()
        .authenticate_in_memory("a");
    assert_eq!(
        answer, None,
        "not a member of clinic 3 as far as memory tells: the store decides"
    );
}

#[test]
fn a_caller_not_held_in_memory_is_left_to_the_store() {
    let answer = in_memory(None, None, None)
        .service()
        .authenticate_in_memory("a");
    assert_eq!(answer, None, "no account in memory");
    let answer = in_memory(Some(user(true)), None, None)
        .service()
        .authenticate_in_memory("a");
    assert_eq!(answer, None, "the account but not the membership");
}

#[test]
fn refusals_are_answered_from_memory_too() {
    let mut ports = Ports::new();
    ports
        .tokens
        .expect_decode()
        .returning(|_, _| Err(TokenDecodeError::Invalid));
    ports.users.expect_find_by_id_in_memory().never();
    assert_eq!(
        ports.service().authenticate_in_memory("forged"),
        Some(Err(ServiceError::InvalidAccessToken)),
        "an invalid token"
    );

    let signed_out = User {
        tokens_valid_after: Some(now() + Duration::seconds(1)),
        ..user(true)
    };
    for account in [user(false), signed_out] {
        let answer = in_memory(Some(account), None, Some(personal_membership(UserId(7))))
            .service()
            .authenticate_in_memory("a");
        assert_eq!(
            answer,
            Some(Err(ServiceError::InvalidAccessToken)),
            "an inactive account, or a token issued before the account's last sign-out"
        );
    }
}

#[test]
fn a_password_change_checks_the_old_one_and_revokes_every_session() {
    let change = |old: &str, new: &str| PasswordChangeInput {
        old_password: Some(old.into()),
        new_password: Some(new.into()),
        ..Default::default()
    };
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().return_const(false);
    ports.users.expect_update_password().never();
    let (service, trail) = ports.start();
    let result = service.change_password(&user(true), &origin(), change("wrong", "short"));
    let Some(ServiceError::Validation(errors)) = result.err() else {
        panic!("expected validation errors");
    };
    assert!(errors.has("old_password") && errors.has("new_password"));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthPasswordChange,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Failure
        )
    );

    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().return_const(true);
    ports
        .hasher
        .expect_hash()
        .returning(|_| Ok("$2b$04$new".into()));
    ports
        .users
        .expect_update_password()
        .with(
            eq(UserId(7)),
            eq("$2b$04$new"),
            eq(row(
                AuditAction::AuthPasswordChange,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Success,
            )),
        )
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports
        .refresh_tokens
        .expect_revoke_all_for_user()
        .with(eq(UserId(7)), eq(now()))
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .admin_sessions
        .expect_delete_for_user()
        .with(eq(UserId(7)))
        .times(1)
        .returning(|_| Ok(()));
    let (service, trail) = ports.start();
    assert_eq!(
        service.change_password(
            &user(true),
            &origin(),
            change("old-password", "tangerine-lorry-57")
        ),
        Ok(())
    );
    trail.assert_empty();
}

#[test]
fn wrong_old_passwords_are_counted_like_failed_sign_ins() {
    let change = || PasswordChangeInput {
        old_password: Some("guess".into()),
        new_password: Some("tangerine-lorry-57".into()),
        ..Default::default()
    };
    let mut ports = Ports::new();
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .returning(|_, _| Ok((1, Some(now()))));
    for key in [
        "Attempts on ann@example.com from 198.51.100.4",
        "ann@example.com",
    ] {
        counters
            .expect_record_login_failure()
            .with(eq(key), eq(now()), always())
            .times(1)
            .returning(|_, _, _| Ok(()));
    }
    counters.expect_clear_login_failures().never();
    ports.throttle = counters;
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().return_const(false);
    let (service, _trail) = ports.start();
    assert!(matches!(
        service.change_password(&user(true), &origin(), change()),
        Err(ServiceError::Validation(_))
    ));

    // Once the counter is full, the guess is refused before the password is checked.
    let mut ports = Ports::new();
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .returning(|_, _| Ok((5, Some(now() - Duration::minutes(5)))));
    counters.expect_record_login_failure().never();
    ports.throttle = counters;
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().never();
    ports.users.expect_update_password().never();
    let (service, trail) = ports.start();
    assert_eq!(
        service.change_password(&user(true), &origin(), change()),
        Err(ServiceError::Throttled(600))
    );
    assert_eq!(trail.take_one().outcome, AuditOutcome::Denied);
}

#[test]
fn deactivation_revokes_every_refresh_token() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .with(
            eq(UserId(7)),
            eq(false),
            function(|audit: &AuditEvent| {
                *audit
                    == row(
                        AuditAction::UserUpdate,
                        Some(UserId(1)),
                        Some(UserId(7)),
                        AuditOutcome::Success,
                    )
            }),
        )
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports
        .refresh_tokens
        .expect_revoke_all_for_user()
        .with(eq(UserId(7)), eq(now()))
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .admin_sessions
        .expect_delete_for_user()
        .with(eq(UserId(7)))
        .times(1)
        .returning(|_| Ok(()));
    let (service, trail) = ports.start();
    assert_eq!(
        service.set_user_active(Some(UserId(1)), &origin(), UserId(7), false),
        Ok(true)
    );
    trail.assert_empty();
}

#[test]
fn changing_an_unknown_user_is_recorded_as_one_failure() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .times(1)
        .returning(|_, _, _| Ok(false));
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.admin_sessions.expect_delete_for_user().never();
    let (service, trail) = ports.start();
    assert_eq!(
        service.set_user_active(None, &origin(), UserId(99), false),
        Ok(false)
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::UserUpdate,
            None,
            Some(UserId(99)),
            AuditOutcome::Failure
        )
    );
}

#[test]
fn a_failed_deactivation_is_recorded_as_one_failure() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .returning(|_, _, _| Err(RepoError::Unavailable("down".into())));
    let (service, trail) = ports.start();
    assert_eq!(
        service.set_user_active(Some(UserId(1)), &origin(), UserId(7), false),
        Err(ServiceError::Unavailable("down".into()))
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::UserUpdate,
            Some(UserId(1)),
            Some(UserId(7)),
            AuditOutcome::Failure
        )
    );
}
