use super::*;
use healthcare_domain::fields::Submitted;

#[test]
fn login_with_an_unknown_email_still_verifies_a_password() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(None));
    ports
        .hasher
        .expect_verify_dummy()
        .with(eq("vivid-otter-41"))
        .times(1)
        .return_const(());
    ports.refresh_tokens.expect_insert().never();
    let (service, trail) = ports.start();
    let result = service.login(
        login_input("nobody@example.com", "vivid-otter-41"),
        &origin(),
    );
    assert_eq!(result.err(), Some(ServiceError::InvalidCredentials));
    assert_eq!(
        trail.take_one(),
        row(AuditAction::AuthLogin, None, None, AuditOutcome::Failure),
        "no account: no actor"
    );
}

#[test]
fn login_with_a_wrong_password_fails_the_same_way() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().times(1).return_const(false);
    let (service, trail) = ports.start();
    let result = service.login(login_input("ann@example.com", "wrong-password"), &origin());
    assert_eq!(result.err(), Some(ServiceError::InvalidCredentials));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogin,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Failure
        ),
        "the account's id, though the password was wrong"
    );
}

#[test]
fn login_of_an_inactive_user_fails_even_with_the_right_password() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(false))));
    ports.hasher.expect_verify().times(1).return_const(true);
    ports.refresh_tokens.expect_insert().never();
    let (service, trail) = ports.start();
    let result = service.login(login_input("ann@example.com", "vivid-otter-41"), &origin());
    assert_eq!(result.err(), Some(ServiceError::InvalidCredentials));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogin,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Failure
        )
    );
}

#[test]
fn a_throttled_email_is_refused_before_any_password_check_even_without_an_account() {
    let mut ports = Ports::new();
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .with(
            eq("Attempts on nobody@example.com from 198.51.100.4"),
            eq(now() - Duration::minutes(15)),
        )
        .returning(|_, _| Ok((5, Some(now() - Duration::minutes(5)))));
    // Refused while locked: not counted, so the lock does not extend itself.
    counters.expect_record_login_failure().never();
    ports.throttle = counters;
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(None));
    ports.hasher.expect_verify().never();
    ports.hasher.expect_verify_dummy().never();
    let (service, trail) = ports.start();
    let result = service.login(
        login_input("Nobody@example.com", "vivid-otter-41"),
        &origin(),
    );
    assert_eq!(result.err(), Some(ServiceError::Throttled(600)));
    assert_eq!(
        trail.take_one(),
        row(AuditAction::AuthLogin, None, None, AuditOutcome::Denied)
    );
}

#[test]
fn attempts_are_counted_per_address_and_per_account_and_a_success_resets_the_address() {
    let per_address = "Attempts on ann@example.com from 198.51.100.4";
    let mut ports = Ports::new();
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .returning(|_, _| Ok((2, Some(now()))));
    for key in [per_address, "ann@example.com"] {
        counters
            .expect_record_login_failure()
            .with(eq(key), eq(now()), eq(now() - Duration::minutes(15)))
            .times(1)
            .returning(|_, _, _| Ok(()));
    }
    ports.throttle = counters;
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().return_const(false);
    assert_eq!(
        ports
            .service()
            .login(login_input("ann@example.com", "wrong"), &origin())
            .err(),
        Some(ServiceError::InvalidCredentials)
    );

    let mut ports = Ports::new();
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .returning(|_, _| Ok((4, Some(now()))));
    counters
        .expect_record_login_failure()
        .times(2)
        .returning(|_, _, _| Ok(()));
    counters
        .expect_clear_login_failures()
        .with(eq(per_address))
        .times(1)
        .returning(|_| Ok(()));
    ports.throttle = counters;
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().return_const(true);
    ports.refresh_tokens.expect_insert().returning(|_| Ok(()));
    let (service, trail) = ports.start();
    assert!(
        service
            .login(login_input("ann@example.com", "right"), &origin())
            .is_ok()
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogin,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Success
        )
    );
}

#[test]
fn a_full_account_counter_refuses_every_address() {
    let mut ports = Ports::new();
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .with(
            eq("Attempts on ann@example.com from 198.51.100.4"),
            always(),
        )
        .returning(|_, _| Ok((0, None)));
    counters
        .expect_login_failures_since()
        .with(eq("ann@example.com"), always())
        .returning(|_, _| Ok((50, Some(now() - Duration::minutes(10)))));
    counters.expect_record_login_failure().never();
    ports.throttle = counters;
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().never();
    let (service, _trail) = ports.start();
    assert_eq!(
        service
            .login(login_input("ann@example.com", "right"), &origin())
            .err(),
        Some(ServiceError::Throttled(300))
    );
}

#[test]
fn login_reports_missing_and_blank_fields() {
    let mut input = LoginInput {
        email: Some(String::new()),
        ..Default::default()
    };
    input.shape_errors.add("password", FieldProblem::Required);
    let (service, trail) = Ports::new().start();
    let result = service.login(input, &origin());
    let Some(ServiceError::Validation(errors)) = result.err() else {
        panic!("expected validation errors");
    };
    assert!(errors.has("email") && errors.has("password"));
    assert_eq!(
        trail.take_one(),
        row(AuditAction::AuthLogin, None, None, AuditOutcome::Failure)
    );
}

#[test]
fn refresh_rotates_within_the_family() {
    let mut ports = Ports::new();
    decoding_refresh(&mut ports);
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(false, false))));
    ports
        .users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user(true))));
    ports
        .refresh_tokens
        .expect_rotate()
        .withf(|spent, successor, _| spent == "r1" && successor.family_id == "family")
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (service, trail) = ports.start();
    let tokens = service.refresh_session("r1", &origin()).expect("rotated");
    assert_eq!(tokens.refresh, "Refresh-1");
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthRefresh,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Success
        )
    );
}

#[test]
fn a_refreshed_session_keeps_its_second_factor_and_clinic() {
    let mut ports = Ports::new();
    ports.clinics = MockClinicRepository::new();
    ports
        .clinics
        .expect_membership()
        .with(eq(ClinicId(12)), eq(UserId(7)))
        .returning(|clinic, user| {
            let mut membership = personal_membership(user);
            membership.clinic.id = clinic;
            Ok(Some(membership))
        });
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(false, false))));
    ports
        .users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user(true))));
    ports
        .refresh_tokens
        .expect_rotate()
        .returning(|_, _, _| Ok(true));
    let mut codec = MockTokenCodec::new();
    codec
        .expect_issue()
        .withf(|_, _, factors, clinic, _| {
            (*factors, *clinic) == (SignInFactors::PasswordAndCode, ClinicId(12))
        })
        .times(2)
        .returning(|kind, user_id, factors, clinic, now| {
            Ok(IssuedToken {
                token: format!("{kind:?}"),
                claims: TokenClaims {
                    kind,
                    user_id,
                    factors,
                    clinic: Some(clinic),
                    jti: format!("{kind:?}"),
                    issued_at: now,
                    expires_at: now,
                },
            })
        });
    codec.expect_decode().returning(|_, _| {
        Ok(TokenClaims {
            kind: TokenKind::Refresh,
            user_id: UserId(7),
            factors: SignInFactors::PasswordAndCode,
            clinic: Some(ClinicId(12)),
            jti: "r1".into(),
            issued_at: now(),
            expires_at: now() + Duration::days(1),
        })
    });
    ports.tokens = codec;
    assert!(ports.service().refresh_session("r1", &origin()).is_ok());
}

#[test]
fn access_tokens_issued_before_a_sign_out_are_refused() {
    for (issued_at, accepted) in [
        (now() - Duration::seconds(1), false),
        (now(), true),
        (now() + Duration::seconds(1), true),
    ] {
        let mut ports = Ports::new();
        ports.tokens.expect_decode().returning(move |_, _| {
            Ok(TokenClaims {
                kind: TokenKind::Access,
                user_id: UserId(7),
                factors: SignInFactors::Password,
                clinic: None,
                jti: "a".into(),
                issued_at,
                expires_at: now() + Duration::minutes(15),
            })
        });
        ports.users.expect_find_by_id().returning(|_| {
            Ok(Some(User {
                tokens_valid_after: Some(now()),
                ..user(true)
            }))
        });
        let authenticated = ports.service().authenticate("a");
        assert_eq!(authenticated.is_ok(), accepted, "issued {issued_at}");
    }
}

#[test]
fn a_valid_code_starts_a_session_whose_tokens_carry_the_second_factor() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .returning(|_| Ok(Some(enrolled_factor())));
    let step = now().timestamp() / 30;
    ports
        .factors
        .expect_accept_step()
        .with(eq(UserId(7)), eq(step))
        .times(1)
        .returning(|_, _| Ok(true));
    ports.refresh_tokens.expect_insert().returning(|_| Ok(()));
    let code = enrolled_factor().secret.code_at(now());
    let (service, trail) = ports.start();
    let tokens = service
        .confirm_second_factor(&caller(UserId(7)), Some(&code), FieldErrors::new())
        .expect("confirmed");
    assert_eq!(
        (tokens.access.as_str(), tokens.refresh.as_str()),
        ("Access-0", "Refresh-1")
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthSecondFactor,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Success
        )
    );
}

#[test]
fn a_wrong_code_or_a_missing_factor_is_a_field_error() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .returning(|_| Ok(Some(enrolled_factor())));
    ports.factors.expect_accept_step().never();
    ports.tokens.expect_issue().never();
    let (service, trail) = ports.start();
    let refused =
        service.confirm_second_factor(&caller(UserId(7)), Some("000000x"), FieldErrors::new());
    assert_eq!(
        refused,
        Err(ServiceError::Validation(FieldErrors::single(
            "code",
            FieldProblem::WrongCode
        )))
    );
    assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);

    let mut ports = Ports::new();
    ports.factors.expect_find().returning(|_| Ok(None));
    let service = ports.service();
    assert_eq!(
        service.confirm_second_factor(&caller(UserId(7)), Some("123456"), FieldErrors::new()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code",
            FieldProblem::NoSecondFactor
        )))
    );
}

#[test]
fn presenting_a_spent_refresh_token_revokes_its_family() {
    let mut ports = Ports::new();
    decoding_refresh(&mut ports);
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(true, false))));
    ports
        .refresh_tokens
        .expect_revoke_family()
        .with(eq("family"), eq(now()))
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports.refresh_tokens.expect_rotate().never();
    let (service, trail) = ports.start();
    let result = service.refresh_session("r1", &origin());
    assert_eq!(
        result.err(),
        Some(ServiceError::RefreshToken(TokenProblem::Blacklisted))
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthRefresh,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Denied
        ),
        "reuse is a denial"
    );
}

#[test]
fn losing_a_concurrent_redemption_is_treated_as_reuse() {
    let mut ports = Ports::new();
    decoding_refresh(&mut ports);
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(false, false))));
    ports
        .users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user(true))));
    ports
        .refresh_tokens
        .expect_rotate()
        .returning(|_, _, _| Ok(false));
    ports
        .refresh_tokens
        .expect_revoke_family()
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    let (service, trail) = ports.start();
    let result = service.refresh_session("r1", &origin());
    assert_eq!(
        result.err(),
        Some(ServiceError::RefreshToken(TokenProblem::Blacklisted))
    );
    assert_eq!(trail.take_one().outcome, AuditOutcome::Denied);
}

#[test]
fn refresh_of_a_deactivated_user_is_refused() {
    let mut ports = Ports::new();
    decoding_refresh(&mut ports);
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(false, false))));
    ports
        .users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user(false))));
    ports.refresh_tokens.expect_rotate().never();
    let result = ports.service().refresh_session("r1", &origin());
    assert_eq!(
        result.err(),
        Some(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired))
    );
}

#[test]
fn an_access_token_is_not_a_refresh_token() {
    let mut ports = Ports::new();
    ports
        .tokens
        .expect_decode()
        .returning(|_, _| Err(TokenDecodeError::WrongType));
    let (service, trail) = ports.start();
    let result = service.refresh_session("access", &origin());
    assert_eq!(
        result.err(),
        Some(ServiceError::RefreshToken(TokenProblem::WrongType))
    );
    assert_eq!(
        trail.take_one(),
        row(AuditAction::AuthRefresh, None, None, AuditOutcome::Denied),
        "an undecodable token names no one"
    );
}

#[test]
fn logout_revokes_the_family_and_refuses_a_revoked_token() {
    let mut ports = Ports::new();
    decoding_refresh(&mut ports);
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(true, false))));
    ports
        .refresh_tokens
        .expect_revoke_family()
        .with(eq("family"), eq(now()))
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    let (service, trail) = ports.start();
    assert_eq!(
        service.logout(&caller(UserId(8)), "r1").err(),
        Some(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired)),
        "another user's refresh token"
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogout,
            Some(UserId(8)),
            Some(UserId(8)),
            AuditOutcome::Denied
        )
    );
    assert_eq!(service.logout(&caller(UserId(7)), "r1"), Ok(()));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogout,
            Some(UserId(7)),
            Some(UserId(7)),
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    decoding_refresh(&mut ports);
    ports
        .refresh_tokens
        .expect_find()
        .returning(|_| Ok(Some(refresh_record(false, true))));
    ports.refresh_tokens.expect_revoke_family().never();
    assert_eq!(
        ports.service().logout(&caller(UserId(7)), "r1").err(),
        Some(ServiceError::RefreshToken(TokenProblem::Blacklisted))
    );
}

/// Ports where user 7 is also a clinician of clinic 12, with a valid password.
fn member_of_clinic_12() -> Ports {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .returning(|_| Ok(Some(credentials(true))));
    ports.hasher.expect_verify().return_const(true);
    ports.clinics = MockClinicRepository::new();
    ports.clinics.expect_membership().returning(|clinic, user| {
        Ok((clinic == ClinicId(12)).then(|| {
            let mut membership = personal_membership(user);
            membership.clinic.id = clinic;
            membership.clinic.personal_owner = None;
            membership.role = healthcare_domain::clinic::Role::Clinician;
            membership
        }))
    });
    ports
        .clinics
        .expect_personal_membership()
        .returning(|user| Ok(Some(personal_membership(user))));
    ports
}

#[test]
fn login_acts_in_the_clinic_asked_for_and_a_non_member_gets_the_wrong_password_answer() {
    let mut ports = member_of_clinic_12();
    ports.refresh_tokens.expect_insert().returning(|_| Ok(()));
    ports.tokens = MockTokenCodec::new();
    ports
        .tokens
        .expect_issue()
        .withf(|_, _, _, clinic, _| *clinic == ClinicId(12))
        .times(2)
        .returning(|kind, user_id, factors, clinic, now| {
            Ok(IssuedToken {
                token: format!("{kind:?}"),
                claims: TokenClaims {
                    kind,
                    user_id,
                    factors,
                    clinic: Some(clinic),
                    jti: format!("{kind:?}"),
                    issued_at: now,
                    expires_at: now,
                },
            })
        });
    let (service, trail) = ports.start();
    let in_clinic = |clinic| LoginInput {
        clinic,
        ..login_input("ann@example.com", "vivid-otter-41")
    };
    assert!(service.login(in_clinic(Some(12)), &origin()).is_ok());
    trail.take_one();
    for foreign in [13, 7_000, -1] {
        assert_eq!(
            service.login(in_clinic(Some(foreign)), &origin()).err(),
            Some(ServiceError::InvalidCredentials),
            "clinic {foreign}"
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);
    }
}

#[test]
fn switching_clinics_starts_a_session_there_and_refuses_other_clinics_as_missing() {
    let mut ports = member_of_clinic_12();
    ports
        .refresh_tokens
        .expect_insert()
        .times(1)
        .returning(|_| Ok(()));
    let (service, trail) = ports.start();
    let (membership, _) = service
        .switch_clinic(&caller(UserId(7)), Submitted::Given(12), FieldErrors::new())
        .expect("a member");
    assert_eq!(membership.clinic.id, ClinicId(12));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::ClinicSwitch,
            Some(UserId(7)),
            Some(UserId(12)),
            AuditOutcome::Success
        )
    );
    assert_eq!(
        service
            .switch_clinic(&caller(UserId(7)), Submitted::Given(13), FieldErrors::new())
            .err(),
        Some(ServiceError::Validation(FieldErrors::single(
            "clinic",
            FieldProblem::UnknownRecord { given: 13 }
        )))
    );
    trail.take_one();
    assert_eq!(
        service
            .switch_clinic(&caller(UserId(7)), Submitted::Absent, FieldErrors::new())
            .err(),
        Some(ServiceError::Validation(FieldErrors::single(
            "clinic",
            FieldProblem::Required
        )))
    );
}

#[test]
fn an_access_token_stops_working_when_its_clinic_membership_ends() {
    for (clinic, accepted) in [(Some(12), true), (Some(13), false), (None, true)] {
        let mut ports = member_of_clinic_12();
        ports.tokens.expect_decode().returning(move |_, _| {
            Ok(TokenClaims {
                kind: TokenKind::Access,
                user_id: UserId(7),
                factors: SignInFactors::Password,
                clinic: clinic.map(ClinicId),
                jti: "a".into(),
                issued_at: now(),
                expires_at: now() + Duration::minutes(15),
            })
        });
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(true))));
        let found = ports.service().authenticate("a");
        let expected_clinic = clinic.unwrap_or(7);
        assert_eq!(
            found.map(|session| session.membership.clinic.id),
            if accepted {
                Ok(ClinicId(expected_clinic))
            } else {
                Err(ServiceError::InvalidAccessToken)
            },
            "token of clinic {clinic:?}"
        );
    }
}
